"""Who is calling: bearer tokens checked, roles' permissions enforced, callers rate-limited.

A route states what it needs with ``requires(Permission.X)``; the dependency
answers 401 without a valid token, 403 when the caller's role lacks the
permission, and 429 over the caller's rate limit. The test that walks every
route finds the permission on the dependency (``permission_of``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from amigo.api.oauth import Caller, InvalidTokenError, is_revoked, verify_token
from amigo.api.ratelimit import RateLimiter, retry_after
from amigo.core.errors import NotAuthenticatedError, PermissionDeniedError, RateLimitedError
from amigo.core.roles import Permission

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /v1/oauth/token")
_REVOCATION_TTL = 10.0  # seconds a client's "not revoked" is trusted before it is read again


class RevocationCache:
    """Whether clients are revoked, read from the database at most every few seconds each."""

    def __init__(self, ttl: float = _REVOCATION_TTL) -> None:
        self.ttl = ttl
        self._checked: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def revoked(self, session: Session, client_id: str) -> bool:
        """Say whether the client is revoked, from the cache when it is fresh."""
        now = time.monotonic()
        with self._lock:
            known = self._checked.get(client_id)
        if known is not None and now - known[1] < self.ttl:
            return known[0]
        answer = is_revoked(session=session, client_id=client_id)
        with self._lock:
            self._checked[client_id] = (answer, now)
        return answer


def _authenticated(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticatedError(
            "send an access token: Authorization: Bearer <token> (from POST /v1/oauth/token)"
        )
    state = request.app.state
    try:
        caller = verify_token(token=credentials.credentials, key=state.token_key.value)
    except InvalidTokenError as error:
        raise NotAuthenticatedError(error.message, code=error.code) from None
    engine: Engine = state.engine
    with Session(engine) as session:
        if state.revocations.revoked(session, caller.client_id):
            raise NotAuthenticatedError("this client has been revoked", code="invalid_token")
    limiter: RateLimiter = state.rate_limiter
    wait = limiter.acquire(f"client:{caller.client_id}")
    if wait > 0:
        raise RateLimitedError(
            f"client {caller.client_id} is over its rate limit", retry_after=retry_after(wait)
        )
    request.state.caller = caller
    return caller


def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Caller:
    """Return the verified caller (401 without a valid token, 429 over its limit)."""
    return _authenticated(request, credentials)


def requires(permission: Permission) -> Any:
    """Return a dependency that lets through only callers whose role has the permission."""

    def dependency(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if not caller.may(permission):
            raise PermissionDeniedError(
                f"the {caller.role.value} role may not do this (it needs {permission.value})",
                details={"needs": permission.value, "role": caller.role.value},
            )
        return caller

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"requires_{permission.name.lower()}"
    return Depends(dependency)


def permission_of(call: Callable[..., Any]) -> Permission | None:
    """Return the permission a dependency made by ``requires`` checks, else None."""
    found = getattr(call, "permission", None)
    return found if isinstance(found, Permission) else None


__all__ = ["RevocationCache", "current_caller", "permission_of", "requires"]
