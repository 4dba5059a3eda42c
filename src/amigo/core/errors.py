"""Errors a user can act on: each has a stable machine-readable code."""

from __future__ import annotations

from typing import Any


class AmigoError(Exception):
    """An error caused by input or state that the caller can fix.

    The CLI prints it as one line and exits with code 2; the API answers 4xx
    with ``{"error": {"code", "message", "details"}}``.
    """

    code = "amigo_error"

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
