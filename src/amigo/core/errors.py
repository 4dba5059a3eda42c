"""Errors a user can act on: each has a stable machine-readable code."""

from __future__ import annotations

from typing import Any


class AmigoError(Exception):
    """An error caused by input or state that the caller can fix.

    The CLI prints it as one line and exits with code 2; the API answers 4xx
    with ``{"error": {"code", "message", "details"}}``.
    """

    code = "amigo_error"
    http_status = 400  # what the API answers; subclasses say 404, 409...

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error body of DESIGN.md."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInputError(AmigoError):
    """Input that cannot be accepted as given (bad value, bad option)."""

    code = "invalid_input"


class FileFormatError(AmigoError):
    """An input file that cannot be read as the format it claims to be."""

    code = "bad_file"


class NotFoundError(AmigoError):
    """A looked-up object does not exist."""

    code = "not_found"
    http_status = 404


class ConflictError(AmigoError):
    """A request that contradicts the current state (a step already taken, a duplicate)."""

    code = "conflict"
    http_status = 409


class NotAuthenticatedError(AmigoError):
    """A call without valid credentials."""

    code = "not_authenticated"
    http_status = 401


class PermissionDeniedError(AmigoError):
    """A caller whose role may not do this."""

    code = "forbidden"
    http_status = 403


class RateLimitedError(AmigoError):
    """A caller over its rate limit; ``retry_after`` seconds until the next request may pass."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
