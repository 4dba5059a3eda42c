"""What the tracking service returns: sources, and the outcome of a request."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SourceView(BaseModel):
    """A tracking source as listed (its write key is never shown again)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    write_key_hint: str
    created_at: datetime
    disabled_at: datetime | None


class CreatedSource(SourceView):
    """A new source with its write key, shown this once."""

    write_key: str


class RejectedMessage(BaseModel):
    """A message of a batch stored as rejected, and why."""

    index: int
    code: str
    message: str


class ReceiveSummary(BaseModel):
    """What one request did: messages recorded, resent ones skipped, rejected, attached."""

    recorded: int = 0
    duplicates: int = 0
    rejected: list[RejectedMessage] = []
    attached: int = 0  # earlier interactions put on a profile by this request's ids
    suppressed: int = 0  # about an erased person: kept as stubs, nothing recorded
