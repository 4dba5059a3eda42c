"""Bounded text for request bodies, queries and paths: no client string reaches the database unchecked.

PostgreSQL refuses NUL characters in text (and a lone surrogate cannot be
encoded), so a string with one would fail in the driver as a 500; the
pattern turns it into a 422 before any route runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

PLAIN_TEXT = r"^[^\x00]*$"  # also for Query(pattern=...) and Path(pattern=...)

Code = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=PLAIN_TEXT)]
"""A short code: a channel, a store or associate id, a wording version."""
Line = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PLAIN_TEXT)]
"""One line of text: a reason, how an identity was verified, a user agent."""
Note = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=PLAIN_TEXT)]
"""Free text: what a person asked, in their words."""


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 has no UTC instant
        raise ValueError("the time is out of range once in UTC") from None


def _time_text(value: object) -> object:
    # Pydantic would read a number as seconds since 1970: the schema promises ISO 8601 text.
    if not isinstance(value, str | datetime):
        raise ValueError("a time is written as ISO 8601 text with its offset")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_time_text), AfterValidator(_in_utc)]
"""A time with its offset (ISO 8601), converted to UTC."""


def _address_text(value: object) -> object:
    # Pydantic would read false or 0 as the address 0.0.0.0: only text is an address here.
    if not isinstance(value, str | IPv4Address | IPv6Address):
        raise ValueError("an IP address is written as text, e.g. 192.0.2.10 or 2001:db8::1")
    return value


IpAddress = Annotated[IPv4Address | IPv6Address, BeforeValidator(_address_text)]
"""An IPv4 or IPv6 address, as text."""

__all__ = ["PLAIN_TEXT", "Code", "Instant", "IpAddress", "Line", "Note"]
