"""Every error the API answers is DESIGN.md's JSON body: ``{"error": {code, message, details}}``.

Input a client can send never yields a 500: domain errors carry their HTTP
status, request validation answers 422, unknown routes 404; only a bug does,
and then without a stack trace in the body.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from amigo.core.errors import AmigoError, NotAuthenticatedError, RateLimitedError

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _amigo_error(_request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, AmigoError):  # registered for AmigoError only
        raise error
    headers: dict[str, str] = {}
    if isinstance(error, NotAuthenticatedError):
        headers["WWW-Authenticate"] = 'Bearer realm="amigo"'
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = error.retry_after
    return JSONResponse(
        jsonable_encoder(error.to_dict()), status_code=error.http_status, headers=headers
    )


def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RequestValidationError):  # registered for RequestValidationError only
        raise error
    problems = [
        {
            "location": [str(part) for part in problem.get("loc", ())],
            "message": str(problem.get("msg", "")),
            "type": str(problem.get("type", "")),
        }
        for problem in error.errors()
    ]
    first = problems[0] if problems else {"location": [], "message": "invalid request"}
    where = ".".join(first["location"])
    message = f"{where}: {first['message']}" if where else str(first["message"])
    return JSONResponse(_body("invalid_request", message, problems), status_code=422)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _allowed_methods(request: Request) -> str | None:
    """Return every method the path takes, over all its routes (Starlette names one route's)."""
    patterns = getattr(request.app.state, "path_methods", None)
    if patterns is None:
        patterns = [
            (re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$"), set(item))
            for path, item in request.app.openapi().get("paths", {}).items()
        ]
        request.app.state.path_methods = patterns
    methods = {
        method.upper()
        for pattern, item in patterns
        if pattern.match(request.url.path)
        for method in item
        if method in _HTTP_METHODS
    }
    return ", ".join(sorted(methods)) if methods else None


def _http_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, HTTPException):  # registered for HTTPException only
        raise error
    code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
    headers = dict(getattr(error, "headers", None) or {})
    if error.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = allowed
    return JSONResponse(
        _body(code, str(error.detail)), status_code=error.status_code, headers=headers
    )


def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return JSONResponse(
        _body("internal_error", "the server failed on this request; it has been logged"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with the JSON body of DESIGN.md."""
    app.add_exception_handler(AmigoError, _amigo_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def _described(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented on every /v1 route, so that clients (and schemathesis) know the error shapes.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _described("Bad input: the message says what to change"),
    401: _described("No valid access token"),
    403: _described("The caller's role may not do this"),
    404: _described("Not found"),
    422: _described("The request does not match its schema"),
    429: _described("Over the rate limit: retry after Retry-After seconds"),
}

__all__ = ["COMMON_ERRORS", "ErrorBody", "install_error_handlers"]
