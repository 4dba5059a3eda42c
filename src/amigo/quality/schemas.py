"""Read models of data quality for the API (figures only: no personal data)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class FieldQualityView(_ReadModel):
    """Completeness of a golden field and the invalid values sources sent for it."""

    field: str
    filled: int
    profiles: int
    completeness: float  # share of active profiles with a value, 0 to 1
    invalid_values: int
    top_issue: str | None


class RejectCountView(_ReadModel):
    source_system: str
    entity: str
    reason_code: str
    count: int


class QualityReportView(_ReadModel):
    """What `amigo quality report` prints."""

    profiles: int
    customer_records: int
    fields: list[FieldQualityView]
    rejects: list[RejectCountView]
