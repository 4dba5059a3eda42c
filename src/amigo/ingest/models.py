"""What the load framework keeps: raw source records, rejects, batches, checkpoints."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.crypto import EncryptedText
from amigo.core.db import Base, BigIntId, JSONType, UTCDateTime, str_enum
from amigo.core.sealed import SealedJSON


class SourceSystem(enum.StrEnum):
    CEGID = "cegid"
    SHOPIFY = "shopify"
    WEBFORMS = "webforms"


class RecordStatus(enum.StrEnum):
    PROCESSED = "processed"
    REJECTED = "rejected"


class BatchStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LoadBatch(Base):
    """One run of `amigo load` over an export directory."""

    __tablename__ = "load_batch"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_dir: Mapped[str] = mapped_column(Text)
    status: Mapped[BatchStatus] = mapped_column(str_enum(BatchStatus))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class SourceRecord(Base):
    """An inbound record exactly as received (invariant 1: stored before processing).

    A changed record arrives as a new row with a new payload hash; the newest
    ``received_at`` is the current version of that source id.
    """

    __tablename__ = "source_record"
    __table_args__ = (
        # Also serves lookups by (system, entity, source id): its leading columns.
        UniqueConstraint("source_system", "entity", "source_id", "payload_hash"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_system: Mapped[SourceSystem] = mapped_column(str_enum(SourceSystem))
    entity: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[str] = mapped_column(String(80))
    # Sealed (docs/encryption.md): customer records and orders name people.
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON("source_record.payload"))
    payload_hash: Mapped[str] = mapped_column(String(64))
    # Blind index of the email an order names: erasure finds guest checkouts by it.
    contact_index: Mapped[str | None] = mapped_column(String(22), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("load_batch.id"))
    status: Mapped[RecordStatus] = mapped_column(str_enum(RecordStatus))


class Reject(Base):
    """A record that failed validation, kept with its reason and raw text."""

    __tablename__ = "reject"
    __table_args__ = (UniqueConstraint("source_system", "entity", "payload_hash"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_system: Mapped[SourceSystem] = mapped_column(str_enum(SourceSystem))
    entity: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[str | None] = mapped_column(String(80))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"))
    reason_code: Mapped[str] = mapped_column(String(40), index=True)
    # Encrypted: the rejected row, and a message quoting its bad value, may name the person.
    message: Mapped[str] = mapped_column(EncryptedText("reject.message"))
    raw_payload: Mapped[str] = mapped_column(EncryptedText("reject.raw_payload"))
    payload_hash: Mapped[str] = mapped_column(String(64))
    file: Mapped[str | None] = mapped_column(Text)
    line_number: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("load_batch.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoadCheckpoint(Base):
    """How far a load got in one file; written in the same transaction as its rows.

    An interrupted load (its batch still "running") resumes from here.
    """

    __tablename__ = "load_checkpoint"

    batch_id: Mapped[int] = mapped_column(ForeignKey("load_batch.id"), primary_key=True)
    file_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    rows_done: Mapped[int] = mapped_column(BigInteger)
    completed: Mapped[bool] = mapped_column(default=False)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ValidationIssueRecord(Base):
    """A value a source record carried that could not be used (the record itself was loaded)."""

    __tablename__ = "validation_issue"
    __table_args__ = (
        UniqueConstraint("source_record_id", "field", "code"),
        Index("ix_validation_issue_field_code", "entity", "field", "code"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"))
    source_system: Mapped[SourceSystem] = mapped_column(str_enum(SourceSystem))
    entity: Mapped[str] = mapped_column(String(30))
    field: Mapped[str] = mapped_column(String(60))
    code: Mapped[str] = mapped_column(String(40))
    # Encrypted: an invalid email or phone is still someone's.
    message: Mapped[str] = mapped_column(EncryptedText("validation_issue.message"))
    value: Mapped[str | None] = mapped_column(EncryptedText("validation_issue.value"))


class RawConsent(Base):
    """A consent statement as a source gave it (the ledger is built from these)."""

    __tablename__ = "raw_consent"
    __table_args__ = (UniqueConstraint("source_record_id", "purpose"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"))
    source_system: Mapped[SourceSystem] = mapped_column(str_enum(SourceSystem))
    source_id: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(30))
    raw_value: Mapped[str | None] = mapped_column(String(40))
    opt_in_level: Mapped[str | None] = mapped_column(String(40))
    stated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proof: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
