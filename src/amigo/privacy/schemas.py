"""Read models of data-subject requests, for the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class SubjectRequestStepView(BaseModel):
    """One step of a request: who took it, in which role, when."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    step: str
    actor: str
    role: str
    at: datetime
    note: str | None


class SubjectRequestView(BaseModel):
    """A request from receipt to closure; ``steps`` only on a single request."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    reference: str
    type: str
    status: str
    customer_id: int
    channel: str
    received_at: datetime
    due_at: datetime
    overdue: bool
    extension_reason: str | None
    details: str | None
    rejection_reason: str | None
    result: dict[str, Any]
    created_by: str
    updated_at: datetime
    steps: list[SubjectRequestStepView] | None = None


# What a request shows of the person (the audit log of reads names it).
SUBJECT_REQUEST_FIELDS = ("subject_request",)
# What a file written for a request shows: everything held on the person.
EXPORT_FIELDS = ("privacy_export",)
