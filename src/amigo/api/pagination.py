"""Cursor pagination: an opaque cursor that names the last row of the previous page."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from amigo.core.errors import InvalidInputError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of results and the cursor of the next (null on the last page)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    """Return the opaque cursor for the page after the row ``last_id``."""
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """Return the last id a cursor names (None for the first page); 400 on a forged one."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "id" and value.isdigit() and len(value) < 19:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInputError("cursor is not one this API returned", code="invalid_cursor")


def next_cursor(ids: list[int], limit: int) -> str | None:
    """Return the next page's cursor when this page is full."""
    return encode_cursor(ids[-1]) if len(ids) == limit and ids else None


CursorQuery = Annotated[
    str | None, Query(max_length=64, description="next_cursor of the previous page")
]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Results per page")]
