"""``POST /v1/oauth/token``: the client credentials grant (RFC 6749, section 4.4)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from amigo.api.deps import SessionDep, SettingsDep
from amigo.api.errors import COMMON_ERRORS
from amigo.api.oauth import InvalidClientError, authenticate_client, issue_token
from amigo.api.ratelimit import RateLimiter, retry_after
from amigo.core.errors import InvalidInputError, RateLimitedError

router = APIRouter(prefix="/v1/oauth", tags=["oauth"], responses=COMMON_ERRORS)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6749 token type, not a secret
    expires_in: int
    scope: str


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClientError("the Basic credentials are not base64 of id:secret") from None
    return client_id, secret


@router.post("/token", response_model=TokenResponse)
def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    grant_type: Annotated[str, Form(max_length=40)],
    client_id: Annotated[str | None, Form(max_length=100)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
) -> TokenResponse:
    """Exchange a client id and secret (form fields or HTTP Basic) for an access token."""
    if grant_type != "client_credentials":
        raise InvalidInputError(
            "only grant_type=client_credentials is supported", code="unsupported_grant_type"
        )
    # Guessing secrets is slowed by argon2 and bounded per address here.
    limiter: RateLimiter = request.app.state.rate_limiter
    address = request.client.host if request.client else "unknown"
    wait = limiter.acquire(f"token:{address}")
    if wait > 0:
        raise RateLimitedError("too many token requests", retry_after=retry_after(wait))
    basic = _basic_credentials(request)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise InvalidClientError("give client_id and client_secret (form fields or HTTP Basic)")
    client = authenticate_client(session=session, client_id=client_id, secret=client_secret)
    granted = issue_token(
        client=client,
        key=request.app.state.token_key.value,
        ttl_seconds=settings.api.token_ttl_seconds,
    )
    return TokenResponse(
        access_token=granted.token, expires_in=granted.expires_in, scope=" ".join(granted.scopes)
    )
