"""Data-quality figures: completeness of golden profiles, validity of source values, rejects."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amigo.ingest.models import Reject, SourceRecord, ValidationIssueRecord
from amigo.profiles.models import CustomerStatus, GoldenCustomer

# Golden fields reported, and the source-value field names whose issues bear on them.
REPORTED_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "phone": ("phone",),
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "birth_date": ("birth_date",),
    "address_line1": ("address_line1",),
    "postal_code": ("postal_code",),
    "city": ("city",),
    "country": ("country",),
    "preferred_language": ("preferred_language",),
    "preferred_store_id": ("preferred_store_id",),
}
CUSTOMER_ENTITIES = ("customer", "submission")


@dataclass(frozen=True, slots=True)
class FieldQuality:
    """Completeness on golden profiles and validity of the values sources sent."""

    field: str
    filled: int
    profiles: int
    invalid_values: int
    top_issue: str | None

    @property
    def completeness(self) -> float:
        """Return the share of active profiles with a value."""
        return self.filled / self.profiles if self.profiles else 0.0


@dataclass(frozen=True, slots=True)
class RejectCount:
    source_system: str
    entity: str
    reason_code: str
    count: int


@dataclass(frozen=True, slots=True)
class QualityReport:
    """The whole report of `amigo quality report`."""

    profiles: int
    customer_records: int
    fields: list[FieldQuality]
    rejects: list[RejectCount]


def quality_report(*, session: Session) -> QualityReport:
    """Measure completeness per golden field, invalid source values and rejects."""
    active = GoldenCustomer.status == CustomerStatus.ACTIVE
    columns = [func.count(getattr(GoldenCustomer, name)) for name in REPORTED_FIELDS]
    row = session.execute(select(func.count(), *columns).where(active)).one()
    profiles = int(row[0])
    filled = dict(zip(REPORTED_FIELDS, (int(v) for v in row[1:]), strict=True))

    customer_records = int(
        session.scalar(select(func.count()).where(SourceRecord.entity.in_(CUSTOMER_ENTITIES))) or 0
    )
    issue_counts: dict[str, dict[str, int]] = {}
    for field, code, count in session.execute(
        select(ValidationIssueRecord.field, ValidationIssueRecord.code, func.count())
        .where(ValidationIssueRecord.entity.in_(CUSTOMER_ENTITIES))
        .group_by(ValidationIssueRecord.field, ValidationIssueRecord.code)
    ):
        issue_counts.setdefault(field, {})[code] = int(count)

    fields = []
    for name, issue_fields in REPORTED_FIELDS.items():
        codes: dict[str, int] = {}
        for issue_field in issue_fields:
            for code, count in issue_counts.get(issue_field, {}).items():
                codes[code] = codes.get(code, 0) + count
        top = max(codes, key=lambda c: codes[c]) if codes else None
        fields.append(
            FieldQuality(
                field=name,
                filled=filled[name],
                profiles=profiles,
                invalid_values=sum(codes.values()),
                top_issue=top,
            )
        )

    rejects = [
        RejectCount(str(system), entity, code, int(count))
        for system, entity, code, count in session.execute(
            select(Reject.source_system, Reject.entity, Reject.reason_code, func.count())
            .group_by(Reject.source_system, Reject.entity, Reject.reason_code)
            .order_by(func.count().desc())
        )
    ]
    return QualityReport(
        profiles=profiles, customer_records=customer_records, fields=fields, rejects=rejects
    )


@dataclass(frozen=True, slots=True)
class RejectView:
    source_system: str
    entity: str
    source_id: str | None
    reason_code: str
    message: str
    file: str | None
    line_number: int | None
    raw_payload: str


def list_rejects(
    *, session: Session, reason_code: str | None = None, limit: int = 50
) -> list[RejectView]:
    """Return the latest rejects, optionally of one reason."""
    query = select(Reject).order_by(Reject.id.desc()).limit(limit)
    if reason_code:
        query = query.where(Reject.reason_code == reason_code)
    return [
        RejectView(
            source_system=str(r.source_system),
            entity=r.entity,
            source_id=r.source_id,
            reason_code=r.reason_code,
            message=r.message,
            file=r.file,
            line_number=r.line_number,
            raw_payload=r.raw_payload,
        )
        for r in session.scalars(query)
    ]
