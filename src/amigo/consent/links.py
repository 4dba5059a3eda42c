"""Signed links for the public pages: unsubscribe, preference center, double opt-in confirmation.

A link carries what it is for and whom it is about, signed with HMAC
(itsdangerous, salted per action so that one kind of link cannot be used as
another) and time-stamped so that it expires. A forged, altered or misused
link is refused before anything is read or written.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer

from amigo.core.config import ConsentSettings
from amigo.core.errors import AmigoError
from amigo.core.keyfile import secret_from


class LinkAction(enum.StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    PREFERENCES = "preferences"
    CONFIRM = "confirm"


class InvalidLinkError(AmigoError):
    """A link whose signature does not verify: forged, altered, or meant for another page."""

    code = "invalid_link"


class ExpiredLinkError(AmigoError):
    """A genuine link used after its validity."""

    code = "expired_link"


@dataclass(frozen=True, slots=True)
class ConsentLink:
    """What a signed link says: the action, the profile, and for some the purpose or statement."""

    action: LinkAction
    customer: str  # the golden profile's external id (AMI-...)
    purpose: str | None = None
    statement_id: int | None = None  # the pending statement a confirmation confirms


def link_secret(settings: ConsentSettings) -> str:
    """Return the signing key: the setting, else the embedded mode's key file (made once)."""
    return secret_from(settings.link_secret, Path(settings.link_key_file))


def _serializer(secret: str, action: LinkAction) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"amigo.consent.{action.value}")


def sign_link(link: ConsentLink, *, secret: str) -> str:
    """Return the URL-safe signed token of a link (it carries its signing time)."""
    payload: dict[str, Any] = {"c": link.customer}
    if link.purpose is not None:
        payload["p"] = link.purpose
    if link.statement_id is not None:
        payload["s"] = link.statement_id
    return str(_serializer(secret, link.action).dumps(payload))


def read_link(
    token: str, *, action: LinkAction, secret: str, valid_for: timedelta, now: datetime
) -> ConsentLink:
    """Verify a token for one action and return what it says; refuse a bad or expired one."""
    try:
        payload, signed_at = _serializer(secret, action).loads(token, return_timestamp=True)
    except BadSignature:
        raise InvalidLinkError(
            "this link is not valid: it was altered or is not one of ours"
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
        raise InvalidLinkError("this link is not valid: it names nobody")
    signed_at = signed_at.astimezone(UTC)
    if now - signed_at > valid_for:
        raise ExpiredLinkError(
            f"this link expired on {(signed_at + valid_for):%Y-%m-%d %H:%M} UTC",
            details={"expired_at": (signed_at + valid_for).isoformat()},
        )
    purpose, statement = payload.get("p"), payload.get("s")
    return ConsentLink(
        action=action,
        customer=payload["c"],
        purpose=purpose if isinstance(purpose, str) else None,
        statement_id=statement if isinstance(statement, int) else None,
    )


def link_url(base_url: str, action: LinkAction, token: str, *, language: str | None = None) -> str:
    """Return the public page address of a signed link."""
    query = {"token": token, **({"lang": language} if language else {})}
    return f"{base_url.rstrip('/')}/consent/{action.value}?{urlencode(query)}"
