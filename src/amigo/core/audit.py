"""The audit log of personal-data reads (invariant 6): append-only, one row per read.

Rows name the subject by golden profile id and the fields by name, never
their values, so the log itself holds no personal data to erase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from amigo.core.db import Base, BigIntId, UTCDateTime, table_of


class PersonalDataRead(Base):
    """Who read which fields of whom, for what purpose, when (UPDATE and DELETE refused)."""

    __tablename__ = "personal_data_read"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    purpose: Mapped[str] = mapped_column(String(100))
    subject_id: Mapped[int] = mapped_column(BigInteger, index=True)
    fields: Mapped[list[str]] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(120))


reads = table_of(PersonalDataRead)


@dataclass(frozen=True)
class Reader:
    """The caller on whose behalf personal data is read."""

    actor: str
    role: str
    purpose: str


def record_reads(
    *,
    session: Session,
    reader: Reader,
    subject_ids: Sequence[int],
    fields: Sequence[str],
    action: str,
    now: datetime,
) -> None:
    """Append one audit row per subject read, in the caller's transaction."""
    if not subject_ids:
        return
    rows: list[dict[str, Any]] = [
        {
            "read_at": now,
            "actor": reader.actor,
            "role": reader.role,
            "purpose": reader.purpose,
            "subject_id": subject_id,
            "fields": list(fields),
            "action": action,
        }
        for subject_id in dict.fromkeys(subject_ids)
    ]
    session.execute(insert(reads), rows)


def reads_of(*, session: Session, subject_id: int, limit: int = 100) -> list[PersonalDataRead]:
    """Return the latest reads of one subject's data, newest first."""
    return list(
        session.scalars(
            select(PersonalDataRead)
            .where(PersonalDataRead.subject_id == subject_id)
            .order_by(PersonalDataRead.id.desc())
            .limit(limit)
        )
    )


__all__ = ["PersonalDataRead", "Reader", "reads_of", "record_reads"]
