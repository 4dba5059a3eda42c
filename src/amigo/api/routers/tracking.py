"""The Segment HTTP Tracking API: ``/v1/identify``, ``track``, ``page``, ``screen``, ``group``, ``alias``, ``batch``.

Thin: the body is read here (bounded), the write key taken from HTTP Basic
auth, and everything else is ``amigo.tracking.service``'s. Errors are the
JSON body of DESIGN.md; they also carry ``code`` and ``message`` at the top
level, where the Segment and RudderStack SDKs read them (without those, the
RudderStack SDK takes a 4xx for a network failure and resends it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from amigo.api.deps import EngineDep
from amigo.api.errors import ErrorBody
from amigo.api.ratelimit import RateLimiter, retry_after
from amigo.core.clock import utcnow
from amigo.core.db import unit_of_work
from amigo.core.errors import AmigoError, RateLimitedError
from amigo.tracking.errors import InvalidWriteKeyError, MessageTooLargeError, PayloadTooLargeError
from amigo.tracking.messages import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES
from amigo.tracking.schemas import ReceiveSummary
from amigo.tracking.service import SourceRef, authenticate, receive_batch, receive_message

# gzip adds a few bytes to a body that does not compress: a little room over the limit.
_ENCODING_SLACK = 1024


def error_response(error: AmigoError) -> JSONResponse:
    """Return the JSON error of DESIGN.md, with the status and headers the error names."""
    body = error.to_dict()
    body["code"], body["message"] = error.code, error.message  # read by the Segment SDKs
    headers: dict[str, str] = {}
    if isinstance(error, InvalidWriteKeyError):
        headers["WWW-Authenticate"] = 'Basic realm="amigo tracking"'
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = error.retry_after
    return JSONResponse(body, status_code=error.http_status, headers=headers)


class _TrackingRoute(APIRoute):
    """A route whose AmigoErrors become JSON error responses (no app-wide handler needed)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler so that a user error is answered, never raised as a 500."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except AmigoError as error:
                return error_response(error)

        return handle


class TrackingAnswer(BaseModel):
    """What the SDKs check (``success``), and the messages of a batch that were refused."""

    success: bool
    rejected: list[dict[str, Any]] | None = None


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented for clients and for the contract test: the write key, the body, the answers.
class _WriteKeyScheme(HTTPBasic):
    """Documents the write key in the OpenAPI document; ``write_key_of`` reads and checks it."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        """Read nothing here: a bad key is answered by the route with its own error code."""


_write_key = _WriteKeyScheme(
    auto_error=False,
    scheme_name="writeKey",
    description="The source's write key as the user name, an empty password",
)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed JSON or gzip, a message over 32 KB, an invalid single message"),
    401: _error("No write key, or one that names no enabled source"),
    413: _error("A batch request over 500 KB"),
    429: _error("The source is over its rate limit: retry after Retry-After seconds"),
}
_ID: dict[str, Any] = {"type": ["string", "number"], "description": "numbers taken as text"}
_OBJECT: dict[str, Any] = {"type": "object"}
_TIME: dict[str, Any] = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"const": ""}, {"type": "null"}],
    "description": "ISO 8601 with offset; empty or null means absent",
}


def _message_schema(message_type: str) -> dict[str, Any]:
    """Return the schema of one message: what the service checks, nothing it ignores."""
    properties: dict[str, Any] = {
        "userId": _ID,
        "anonymousId": _ID,
        # Anything: a value that is no id means the content's hash identifies the message.
        "messageId": {"description": "de-duplicates resends; default: the content's hash"},
        "timestamp": _TIME,
        "sentAt": _TIME,
        "traits": _OBJECT,
        "properties": _OBJECT,
        "context": _OBJECT,
        "integrations": _OBJECT,
    }
    required: list[str] = []
    if message_type == "track":
        properties["event"] = {"type": "string", "minLength": 1}
        required.append("event")
    if message_type == "group":
        properties["groupId"] = _ID
        required.append("groupId")
    if message_type == "alias":
        properties["previousId"] = _ID
        required += ["previousId", "userId"]
    schema: dict[str, Any] = {
        "type": "object",
        "description": f"A Segment {message_type} message: a userId or an anonymousId",
        "properties": properties,
    }
    if required:
        schema["required"] = required
    return schema


def _body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


router = APIRouter(
    prefix="/v1",
    tags=["tracking"],
    route_class=_TrackingRoute,
    responses=_RESPONSES,
    dependencies=[Security(_write_key)],
)


def write_key_of(request: Request) -> str:
    """Return the write key of HTTP Basic auth (the user name; the password is empty)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not credentials.strip():
        raise InvalidWriteKeyError(
            "no write key: send it as the HTTP Basic user name, with an empty password"
        )
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidWriteKeyError("the Basic credentials are not base64 of 'key:'") from None
    return decoded.partition(":")[0]


async def rate_limit(request: Request, write_key: str) -> None:
    """Answer 429 with Retry-After when the write key's source is over its rate limit.

    Before the body is read: an over-limit sender costs no parsing. The bucket is
    keyed by a hash of the key, so the limiter (Redis) never holds the key itself.
    """
    limiter: RateLimiter = request.app.state.rate_limiter
    bucket = hashlib.sha256(write_key.encode()).hexdigest()[:24]
    wait = limiter.acquire(f"writekey:{bucket}")
    if wait > 0:
        raise RateLimitedError("this source is over its rate limit", retry_after=retry_after(wait))


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the body, stopping as soon as it is over the limit (it is never held whole)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit + _ENCODING_SLACK:
            too_large = MessageTooLargeError if limit == MAX_MESSAGE_BYTES else PayloadTooLargeError
            raise too_large(
                f"the body is larger than {limit // 1024} KB", details={"limit_bytes": limit}
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _receive(
    engine: Engine, write_key: str, receive: Callable[[Session, SourceRef], ReceiveSummary]
) -> ReceiveSummary:
    with unit_of_work(engine) as session:
        source = authenticate(session=session, write_key=write_key)
        return receive(session, source)


def _answer(summary: ReceiveSummary) -> dict[str, Any]:
    # {"success": true} is what the SDKs check; rejected messages are listed for people.
    body: dict[str, Any] = {"success": True}
    if summary.rejected:
        body["rejected"] = [r.model_dump() for r in summary.rejected]
    return body


@router.post(
    "/batch",
    summary="Send many messages (what the SDKs use)",
    response_model=TrackingAnswer,
    response_model_exclude_none=True,
    openapi_extra=_body_schema(
        {
            "type": "object",
            "required": ["batch"],
            "properties": {
                # Any item: an invalid message is stored as rejected and listed, not refused.
                "batch": {"type": "array", "items": {}, "description": "Segment messages"},
            },
        }
    ),
)
async def batch(request: Request, engine: EngineDep) -> dict[str, Any]:
    """Record a batch of messages; an invalid one is stored as rejected and listed."""
    write_key = write_key_of(request)
    await rate_limit(request, write_key)
    body = await _read_body(request, MAX_BATCH_BYTES)
    encoding = request.headers.get("content-encoding")
    now = utcnow()
    summary = await run_in_threadpool(
        _receive,
        engine,
        write_key,
        lambda session, source: receive_batch(
            session=session, source=source, body=body, content_encoding=encoding, now=now
        ),
    )
    return _answer(summary)


def _single(message_type: str) -> Callable[[Request, Engine], Coroutine[Any, Any, dict[str, Any]]]:
    async def endpoint(request: Request, engine: EngineDep) -> dict[str, Any]:
        write_key = write_key_of(request)
        await rate_limit(request, write_key)
        body = await _read_body(request, MAX_MESSAGE_BYTES)
        encoding = request.headers.get("content-encoding")
        now = utcnow()
        summary = await run_in_threadpool(
            _receive,
            engine,
            write_key,
            lambda session, source: receive_message(
                session=session,
                source=source,
                message_type=message_type,
                body=body,
                content_encoding=encoding,
                now=now,
            ),
        )
        return _answer(summary)

    endpoint.__doc__ = f"Record one {message_type} message; an invalid one is refused (400)."
    endpoint.__name__ = message_type
    return endpoint


for _type in ("identify", "track", "page", "screen", "group", "alias"):
    router.add_api_route(
        f"/{_type}",
        _single(_type),
        methods=["POST"],
        summary=f"Send one {_type} message",
        response_model=TrackingAnswer,
        response_model_exclude_none=True,
        openapi_extra=_body_schema(_message_schema(_type)),
    )
