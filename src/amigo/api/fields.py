"""Bounded text for request bodies, queries and paths: no client string reaches the database unchecked.

PostgreSQL refuses NUL characters in text (and a lone surrogate cannot be
encoded), so a string with one would fail in the driver as a 500; the
pattern turns it into a 422 before any route runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints

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


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""A time with its offset (ISO 8601), converted to UTC."""

__all__ = ["PLAIN_TEXT", "Code", "Instant", "Line", "Note"]
