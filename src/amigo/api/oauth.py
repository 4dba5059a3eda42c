"""API clients and their access tokens (OAuth 2.0 client credentials, RFC 6749 section 4.4).

A client's secret is stored as an argon2 hash; the access token is a short
JWT (HS256) carrying the client's role and its permissions as scopes, so a
request is authorised without a database read beyond the revocation check.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from amigo.api.models import ApiClient
from amigo.core.errors import AmigoError, InvalidInputError, NotFoundError
from amigo.core.roles import Permission, Role, permissions_of

ISSUER = "amigo"
_ALGORITHM = "HS256"
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Return a hash verified against when the client id is unknown.

    A wrong id then costs as long as a wrong secret, and response times do not
    tell which ids exist. Made on first use: an argon2 hash at import would slow
    every ``amigo`` command by a quarter of a second.
    """
    return _hasher.hash(secrets.token_urlsafe(32))


class InvalidClientError(AmigoError):
    """Unknown client, wrong secret or revoked client (RFC 6749 ``invalid_client``)."""

    code = "invalid_client"
    http_status = 401


class InvalidTokenError(AmigoError):
    """A bearer token that is malformed, forged, expired or of a revoked client."""

    code = "invalid_token"
    http_status = 401


@dataclass(frozen=True)
class NewClient:
    """A client just created: the only moment its secret is known."""

    client: ApiClient
    secret: str


@dataclass(frozen=True)
class AccessToken:
    """A signed token and what it grants."""

    token: str
    expires_in: int
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Caller:
    """Whoever a verified token speaks for."""

    client_id: str
    name: str
    role: Role
    scopes: frozenset[str]

    def may(self, permission: Permission) -> bool:
        """Say whether the token grants the permission."""
        return permission.value in self.scopes


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInputError(
            f"{value!r} is not a role: use one of {', '.join(r.value for r in Role)}",
            code="unknown_role",
        ) from None


def create_client(*, session: Session, name: str, role: str, now: datetime) -> NewClient:
    """Register an API client and return it with its secret (shown once, stored hashed)."""
    name = name.strip()
    if not name:
        raise InvalidInputError("give the client a name (--name)")
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"amigo-{secrets.token_hex(8)}",
        name=name,
        role=_role(role),
        secret_hash=_hasher.hash(secret),
        created_at=now,
    )
    session.add(client)
    session.flush()
    return NewClient(client=client, secret=secret)


def list_clients(*, session: Session) -> list[ApiClient]:
    """Return every client, oldest first."""
    return list(session.scalars(select(ApiClient).order_by(ApiClient.id)))


def revoke_client(*, session: Session, client_id: str, now: datetime) -> ApiClient:
    """Revoke a client: its secret stops working and its tokens are refused."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None:
        raise NotFoundError(f"no API client {client_id!r}")
    if client.revoked_at is None:
        client.revoked_at = now
    return client


def authenticate_client(*, session: Session, client_id: str, secret: str) -> ApiClient:
    """Return the active client whose id and secret these are, or raise InvalidClientError."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    stored = client.secret_hash if client is not None else _dummy_hash()
    try:
        _hasher.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        client = None
    if client is None or client.revoked_at is not None:
        raise InvalidClientError("unknown client or wrong secret")
    return client


def issue_token(
    *, client: ApiClient, key: str, ttl_seconds: int, now: float | None = None
) -> AccessToken:
    """Sign an access token for the client, its scopes being its role's permissions."""
    issued = int(now if now is not None else time.time())
    scopes = tuple(sorted(p.value for p in permissions_of(client.role)))
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": client.client_id,
        "name": client.name,
        "role": client.role.value,
        "scope": " ".join(scopes),
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    return AccessToken(
        token=jwt.encode(claims, key, algorithm=_ALGORITHM),
        expires_in=ttl_seconds,
        scopes=scopes,
    )


def verify_token(*, token: str, key: str) -> Caller:
    """Return the caller of a valid token, or raise InvalidTokenError saying why not."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        role = Role(claims["role"])
    except jwt.ExpiredSignatureError:
        raise InvalidTokenError("the access token has expired: ask for a new one") from None
    except (jwt.InvalidTokenError, KeyError, ValueError):
        raise InvalidTokenError("the access token is not valid") from None
    return Caller(
        client_id=str(claims["sub"]),
        name=str(claims.get("name", "")),
        role=role,
        scopes=frozenset(str(claims.get("scope", "")).split()),
    )


def is_revoked(*, session: Session, client_id: str) -> bool:
    """Say whether the client is revoked or gone."""
    revoked_at = session.execute(
        select(ApiClient.revoked_at).where(ApiClient.client_id == client_id)
    ).first()
    return revoked_at is None or revoked_at[0] is not None


__all__ = [
    "AccessToken",
    "Caller",
    "InvalidClientError",
    "InvalidTokenError",
    "NewClient",
    "authenticate_client",
    "create_client",
    "is_revoked",
    "issue_token",
    "list_clients",
    "revoke_client",
    "verify_token",
]
