"""The tracking API's errors, each with the HTTP status the Segment SDKs expect."""

from __future__ import annotations

from amigo.core.errors import AmigoError


class TrackingInputError(AmigoError):
    """A request the API cannot accept as sent (malformed JSON, a bad message): 400."""

    code = "invalid_input"
    http_status = 400


class MessageTooLargeError(TrackingInputError):
    """A message over Segment's 32 KB limit: 400, as Segment answers it."""

    code = "message_too_large"


class PayloadTooLargeError(TrackingInputError):
    """A batch request over 500 KB: 413."""

    code = "batch_too_large"
    http_status = 413


class InvalidWriteKeyError(AmigoError):
    """No write key, or one that names no enabled source: 401."""

    code = "invalid_write_key"
    http_status = 401


__all__ = [
    "InvalidWriteKeyError",
    "MessageTooLargeError",
    "PayloadTooLargeError",
    "TrackingInputError",
]
