"""Segment messages read from a request body: limits, validation, clock-skew correction.

Pure functions, no database. The fields are those of the Segment Spec
(``type``, ``userId``, ``anonymousId``, ``messageId``, ``timestamp``,
``sentAt``, ``context``, ``properties``, ``traits``, ``event``, ``name``,
``groupId``, ``previousId``); a batch is ``{"batch": [...], "sentAt",
"context"}``, its ``sentAt`` applying to every message that has none.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from amigo.tracking.errors import MessageTooLargeError, PayloadTooLargeError, TrackingInputError

# Segment's limits: 32 KB per message (per call), 500 KB per batch request.
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_ID_LENGTH = 200  # userId, anonymousId, previousId, groupId: the columns' width
# An escaped NUL (an odd number of backslashes before u0000), not the text "\\u0000".
_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
TYPES = ("identify", "track", "page", "screen", "group", "alias")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message cannot become an interaction (it is still stored, as rejected)."""

    code: str
    message: str


@dataclass(slots=True)
class Message:
    """One message, validated or rejected, with what processing needs from it."""

    index: int
    payload: dict[str, Any]
    payload_hash: str
    message_id: str
    type: str
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    sent_at: datetime | None
    occurred_at: datetime | None
    rejection: Rejection | None
    payload_json: bytes | None = None  # the canonical JSON the hash was taken of, sealed as is
    suppressed: bool = False  # about an erased person: kept as a stub only (screening.py)


def decode_body(body: bytes, content_encoding: str | None, *, limit: int) -> bytes:
    """Return the request body uncompressed (gzip or identity), refusing more than ``limit`` bytes."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in {"", "identity"}:
        data = body
    elif encoding in {"gzip", "x-gzip", "deflate"}:
        # Bounded: a small gzip can expand to gigabytes ("zip bomb").
        wbits = zlib.MAX_WBITS | 16 if "gzip" in encoding else zlib.MAX_WBITS
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(body, limit + 1)
        except zlib.error as error:
            raise TrackingInputError(
                f"the body is not valid {encoding}: {error}", code="invalid_encoding"
            ) from None
        if len(data) <= limit and not inflater.eof:
            raise TrackingInputError(f"the {encoding} body is truncated", code="invalid_encoding")
    else:
        raise TrackingInputError(
            f"Content-Encoding {content_encoding!r} is not supported (use gzip)",
            code="unsupported_encoding",
        )
    if len(data) > limit:
        too_large = MessageTooLargeError if limit == MAX_MESSAGE_BYTES else PayloadTooLargeError
        raise too_large(
            f"the body is larger than {limit // 1024} KB uncompressed",
            details={"limit_bytes": limit},
        )
    return data


def parse_json_object(data: bytes) -> dict[str, Any]:
    """Parse the body as one JSON object."""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise TrackingInputError(
            f"the body is not valid JSON: {error}", code="invalid_json"
        ) from None
    if not isinstance(parsed, dict):
        raise TrackingInputError("the body must be a JSON object", code="invalid_json")
    return parsed


def batch_messages(body: dict[str, Any]) -> list[Any]:
    """Return the ``batch`` list of a batch request."""
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise TrackingInputError(
            'a batch request is {"batch": [message, ...]}', code="invalid_batch"
        )
    return batch


def read_messages(
    raw: list[Any],
    *,
    received_at: datetime,
    batch_sent_at: Any = None,
    forced_type: str | None = None,
) -> list[Message]:
    """Validate each message; a message over 32 KB refuses the whole request."""
    default_sent_at = _time_or_none(batch_sent_at)
    messages = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            messages.append(_rejected_non_object(index, item))
            continue
        serialized = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
        if len(serialized) > MAX_MESSAGE_BYTES:
            raise MessageTooLargeError(
                f"message {index} is {len(serialized)} bytes, over the 32 KB limit",
                details={
                    "index": index,
                    "bytes": len(serialized),
                    "limit_bytes": MAX_MESSAGE_BYTES,
                },
            )
        if b"\\u0000" in serialized and _NUL.search(serialized):
            # PostgreSQL stores no NUL in text or jsonb: the message is kept without them.
            messages.append(_rejected_nul(index, serialized))
            continue
        message = _read_one(
            index,
            item,
            hashlib.sha256(serialized).hexdigest(),
            received_at=received_at,
            default_sent_at=default_sent_at,
            forced_type=forced_type,
        )
        message.payload_json = serialized
        messages.append(message)
    return messages


def _rejected_non_object(index: int, item: Any) -> Message:
    payload = {"value": item}
    digest = hashlib.sha256(orjson.dumps(payload)).hexdigest()
    return Message(
        index=index,
        payload=payload,
        payload_hash=digest,
        message_id=f"sha256:{digest}",
        type="unknown",
        user_id=None,
        anonymous_id=None,
        previous_id=None,
        sent_at=None,
        occurred_at=None,
        rejection=Rejection("invalid_message", "a message must be a JSON object"),
    )


def _rejected_nul(index: int, serialized: bytes) -> Message:
    payload = {"value": orjson.loads(_NUL.sub(rb"\1\\ufffd", serialized))}
    digest = hashlib.sha256(serialized).hexdigest()
    return Message(
        index=index,
        payload=payload,
        payload_hash=digest,
        message_id=f"sha256:{digest}",
        type="unknown",
        user_id=None,
        anonymous_id=None,
        previous_id=None,
        sent_at=None,
        occurred_at=None,
        rejection=Rejection("invalid_text", "the message contains a NUL character (\\u0000)"),
    )


class _InvalidMessageError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejection(code, message)


def _read_one(
    index: int,
    item: dict[str, Any],
    digest: str,
    *,
    received_at: datetime,
    default_sent_at: datetime | None,
    forced_type: str | None,
) -> Message:
    message_type = forced_type or item.get("type")
    raw_id = item.get("messageId")
    # Without a messageId, the content is the identity: an identical resend is stored once.
    message_id = _text(raw_id) if _is_id(raw_id) else f"sha256:{digest}"
    message = Message(
        index=index,
        payload=item,
        payload_hash=digest,
        message_id=message_id,
        type=message_type if message_type in TYPES else "unknown",
        user_id=None,
        anonymous_id=None,
        previous_id=None,
        sent_at=None,
        occurred_at=None,
        rejection=None,
    )
    try:
        if message_type not in TYPES:
            raise _InvalidMessageError(
                "invalid_type", f"type {message_type!r} is not one of {', '.join(TYPES)}"
            )
        message.user_id = _id(item, "userId")
        message.anonymous_id = _id(item, "anonymousId")
        if message_type == "alias":
            message.previous_id = _id(item, "previousId")
            if message.previous_id is None or message.user_id is None:
                raise _InvalidMessageError(
                    "missing_id", "an alias needs both previousId and userId"
                )
        elif message.user_id is None and message.anonymous_id is None:
            raise _InvalidMessageError("missing_id", "a message needs a userId or an anonymousId")
        if message_type == "track" and not (
            isinstance(item.get("event"), str) and item["event"].strip()
        ):
            raise _InvalidMessageError("missing_event", "a track message needs an event name")
        if message_type == "group" and _id(item, "groupId") is None:
            raise _InvalidMessageError("missing_id", "a group message needs a groupId")
        for field in ("context", "properties", "traits", "integrations"):
            if item.get(field) is not None and not isinstance(item[field], dict):
                raise _InvalidMessageError("invalid_field", f"{field} must be a JSON object")
        sent_at = _time(item, "sentAt") or default_sent_at
        timestamp = _time(item, "timestamp") or _time(item, "originalTimestamp")
        message.sent_at = sent_at
        message.occurred_at = corrected_timestamp(timestamp, sent_at, received_at)
    except _InvalidMessageError as invalid:
        message.rejection = invalid.rejection
    return message


def corrected_timestamp(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """Return when the message happened by the server's clock, as Segment computes it.

    The sender's clock may be off: the time between its ``sentAt`` and our
    ``receivedAt`` is mostly that skew, so it is added to the timestamp.
    """
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    try:
        return timestamp + (received_at - sent_at)
    except OverflowError:
        raise _InvalidMessageError(
            "invalid_timestamp",
            "timestamp corrected by the sentAt clock skew falls outside years 1 to 9999",
        ) from None


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and bool(value.strip())) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


def _text(value: Any) -> str:
    # The SDKs send numeric ids as strings; a hand-made request may not.
    return value.strip() if isinstance(value, str) else str(value)


def _id(item: dict[str, Any], field: str) -> str | None:
    value = item.get(field)
    if value is None or value == "":
        return None
    if not _is_id(value):
        raise _InvalidMessageError("invalid_id", f"{field} must be a string")
    text = _text(value)
    if len(text) > MAX_ID_LENGTH:
        raise _InvalidMessageError(
            "invalid_id", f"{field} is longer than {MAX_ID_LENGTH} characters"
        )
    return text


def _time(item: dict[str, Any], field: str) -> datetime | None:
    value = item.get(field)
    if value is None or value == "":
        return None
    parsed = _time_or_none(value)
    if parsed is None:
        raise _InvalidMessageError(
            "invalid_timestamp", f"{field} {value!r} is not an ISO 8601 date and time"
        )
    return parsed


def _time_or_none(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # Segment reads a time without offset as UTC.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def message_key(source_id: int, message_id: str) -> str:
    """Return the stored key of a source's message: the same for every resend."""
    return hashlib.sha256(f"{source_id}\n{message_id}".encode()).hexdigest()[:40]


__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_MESSAGE_BYTES",
    "TYPES",
    "Message",
    "Rejection",
    "batch_messages",
    "corrected_timestamp",
    "decode_body",
    "message_key",
    "parse_json_object",
    "read_messages",
]
