"""Cursor pagination: an opaque cursor that names the last row of the previous page.

Three kinds: an integer id (``id:``), a text key such as a SKU (``key:``),
and a time with an id (``at:``) for lists newest first. A cursor of another
kind, or one not made here, answers 400.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from amigo.core.errors import InvalidInputError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of results and the cursor of the next (null on the last page)."""

    items: list[T]
    next_cursor: str | None


_MAX_KEY = 40  # characters of a text key in a cursor (SKUs and associate ids are shorter)


def _encode(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def _forged() -> InvalidInputError:
    return InvalidInputError("cursor is not one this API returned", code="invalid_cursor")


def _decode(cursor: str, expected: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _forged() from None
    kind, _, value = text.partition(":")
    if kind != expected:
        raise _forged()
    return value


def _row_id(value: str) -> int:
    if value.isdigit() and len(value) < 19:
        return int(value)
    raise _forged()


def encode_cursor(last_id: int) -> str:
    """Return the opaque cursor for the page after the row ``last_id``."""
    return _encode("id", str(last_id))


def decode_cursor(cursor: str | None) -> int | None:
    """Return the last id a cursor names (None for the first page); 400 on a forged one."""
    return None if cursor is None else _row_id(_decode(cursor, "id"))


def encode_key_cursor(last_key: str) -> str:
    """Return the cursor for the page after the row whose text key is ``last_key``."""
    return _encode("key", last_key)


def decode_key_cursor(cursor: str | None) -> str | None:
    """Return the last text key a cursor names (None for the first page); 400 on a forged one."""
    if cursor is None:
        return None
    key = _decode(cursor, "key")
    if not key or len(key) > _MAX_KEY:
        raise _forged()
    return key


def encode_position_cursor(at: datetime, last_id: int) -> str:
    """Return the cursor for the page after the row (``at``, ``last_id``), newest first."""
    return _encode("at", f"{at.isoformat()}|{last_id}")


def decode_position_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """Return the time and id a cursor names (None for the first page); 400 on a forged one."""
    if cursor is None:
        return None
    when, _, row = _decode(cursor, "at").rpartition("|")
    try:
        at = datetime.fromisoformat(when).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _forged() from None
    if not when.endswith("+00:00"):  # the cursors made here are in UTC
        raise _forged()
    return at, _row_id(row)


def next_cursor(ids: list[int], limit: int) -> str | None:
    """Return the next page's cursor when this page is full."""
    return encode_cursor(ids[-1]) if len(ids) == limit and ids else None


def next_key_cursor(keys: list[str], limit: int) -> str | None:
    """Return the next page's cursor when this page (keyed by text) is full."""
    return encode_key_cursor(keys[-1]) if len(keys) == limit and keys else None


def next_position_cursor(positions: list[tuple[datetime, int]], limit: int) -> str | None:
    """Return the next page's cursor when this page (newest first) is full."""
    return encode_position_cursor(*positions[-1]) if len(positions) == limit and positions else None


CursorQuery = Annotated[
    str | None, Query(max_length=128, description="next_cursor of the previous page")
]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Results per page")]
