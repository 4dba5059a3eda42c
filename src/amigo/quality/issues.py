"""The result of normalizing one field: a clean value, or an issue saying why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# An issue keeps enough of the raw value to be understood in a rejects report,
# not a whole 10 KB blob.
MAX_ISSUE_VALUE_CHARS = 200
_MESSAGE_VALUE_CHARS = 60
# Normalizers cache their results by raw value; longer values are blobs that
# would only pin memory.
CACHEABLE_LENGTH = 256

# PostgreSQL text refuses NUL, and UTF-8 codecs refuse lone surrogates: an issue
# is written to the rejects table, so it must never be the thing that fails.
_UNSTORABLE = {0: "\ufffd", **dict.fromkeys(range(0xD800, 0xE000), "\ufffd")}


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """Why a raw value could not be normalized."""

    field: str
    code: str
    message: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Normalized(Generic[T]):
    """A normalized value, or None with the issue that explains it (None, None when empty)."""

    value: T | None
    issue: ValidationIssue | None

    @property
    def ok(self) -> bool:
        """Return True when there is no issue (the value may still be empty)."""
        return self.issue is None


# Shared because "empty" is by far the most common result and it is immutable.
EMPTY: Normalized[Any] = Normalized(None, None)


def storable(raw: str) -> str:
    """Return raw truncated and with NUL and lone surrogates replaced, safe to store."""
    value = raw[:MAX_ISSUE_VALUE_CHARS]
    if not value.isprintable():
        value = value.translate(_UNSTORABLE)
    return value


def make_issue(field: str, code: str, message: str, raw: str | None) -> Normalized[Any]:
    """Return an invalid result; "{value}" in message is replaced by the raw value quoted."""
    value = None if raw is None else storable(raw)
    shown = "None" if value is None else repr(value[:_MESSAGE_VALUE_CHARS])
    if value is not None and len(value) > _MESSAGE_VALUE_CHARS:
        shown += "…"
    return Normalized(
        None,
        ValidationIssue(
            field=field, code=code, message=message.replace("{value}", shown), value=value
        ),
    )


def through_cache(
    normalize: Callable[..., Normalized[T]],
    cached: Callable[..., Normalized[T]],
    raw: str | None,
    *args: Any,
) -> Normalized[T]:
    """Return ``normalize(raw, *args)``, from its cached copy unless raw is empty or a blob."""
    if raw is None:
        return EMPTY
    if len(raw) > CACHEABLE_LENGTH:  # a blob: not worth keeping alive in the cache
        return normalize(raw, *args)
    return cached(raw, *args)
