"""The identity graph: source customer records, the profile each belongs to, and every decision.

``identity_link`` is a node of the graph: one source system's customer id,
the golden profile it belongs to, and a normalized snapshot of what its
current version says (the values survivorship chooses from and the match
keys resolution compares and looks up). The snapshot is derived from the
stored source record and rewritten whenever a new version arrives.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.crypto import EncryptedDate, EncryptedText, maintain_blind_indexes
from amigo.core.db import Base, BigIntId, JSONType, UTCDateTime, str_enum
from amigo.core.sealed import SealedJSON
from amigo.ingest.models import SourceSystem


class IdentityLink(Base):
    """A source system's customer id attached to a golden profile, with what it says.

    Linked by (system, id), not by record version: every version of a source
    customer belongs to the same person.
    """

    __tablename__ = "identity_link"
    __table_args__ = (
        UniqueConstraint("source_system", "source_id"),
        # Blocking keys of incremental resolution: a new record finds its
        # candidates through these, never by scanning.
        Index("ix_identity_link_email_index", "email_index"),
        Index("ix_identity_link_phone_index", "phone_index"),
        Index("ix_identity_link_name_key", "name_key"),
        Index("ix_identity_link_birth_date_index", "birth_date_index"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_system: Mapped[SourceSystem] = mapped_column(str_enum(SourceSystem))
    source_id: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # The current version of the record (None on links made before match features existed).
    record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"))
    # Direct identifiers encrypted; the blind indexes are the blocking keys (docs/encryption.md).
    email: Mapped[str | None] = mapped_column(EncryptedText("identity_link.email"))
    email_match_key: Mapped[str | None] = mapped_column(
        EncryptedText("identity_link.email_match_key")
    )
    email_index: Mapped[str | None] = mapped_column(String(22))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(EncryptedText("identity_link.phone"))
    phone_index: Mapped[str | None] = mapped_column(String(22))
    birth_date: Mapped[date | None] = mapped_column(EncryptedDate("identity_link.birth_date"))
    birth_date_index: Mapped[str | None] = mapped_column(String(22))
    preferred_language: Mapped[str | None] = mapped_column(String(8))
    preferred_store_id: Mapped[str | None] = mapped_column(String(20))
    tier: Mapped[str | None] = mapped_column(String(20))
    associate_id: Mapped[str | None] = mapped_column(String(20))
    address_line1: Mapped[str | None] = mapped_column(EncryptedText("identity_link.address_line1"))
    address_line2: Mapped[str | None] = mapped_column(EncryptedText("identity_link.address_line2"))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    origin: Mapped[str | None] = mapped_column(String(20))
    source_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Match keys (amigo.identity.keys): Latin, folded, comparable across sources.
    first_name_key: Mapped[str | None] = mapped_column(String(100))
    last_name_key: Mapped[str | None] = mapped_column(String(100))
    name_key: Mapped[str | None] = mapped_column(String(201))  # "first last", gaps from the e-mail
    # The e-mail's local part unless it only spells the name (namesakes' addresses look alike).
    distinct_local_part: Mapped[str | None] = mapped_column(
        EncryptedText("identity_link.distinct_local_part")
    )
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


maintain_blind_indexes(
    IdentityLink,
    {
        "email_index": ("email_match_key", "email"),
        "phone_index": ("phone", "phone"),
        "birth_date_index": ("birth_date", "birth_date"),
    },
)


class IdentityReference(Base):
    """Another system's id that a source record names as the same person's (a Y2 card in a tag)."""

    __tablename__ = "identity_reference"
    __table_args__ = (Index("ix_identity_reference_target", "system", "source_id"),)

    link_id: Mapped[int] = mapped_column(
        ForeignKey("identity_link.id", ondelete="CASCADE"), primary_key=True
    )
    system: Mapped[str] = mapped_column(String(20), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), primary_key=True)


class MatchModel(Base):
    """A trained probabilistic match model (Splink settings with m and u), versioned."""

    __tablename__ = "match_model"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    records: Mapped[int] = mapped_column(Integer)  # source records it was trained on
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RunKind(enum.StrEnum):
    BATCH = "batch"
    INCREMENTAL = "incremental"
    REVIEW = "review"
    MANUAL = "manual"


class ResolutionRun(Base):
    """One resolution: a batch over the repository, new records, or a person's decision."""

    __tablename__ = "resolution_run"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[RunKind] = mapped_column(str_enum(RunKind))
    actor: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class MergeEvent(Base):
    """One golden profile merged into another: the audit entry, and what unmerge restores.

    ``field_changes`` holds each survivor field that changed, before and
    after; ``moved_link_ids`` the source records that moved. The merged
    profile's own row is left as it was (only its status changes), so it
    needs no copy here.
    """

    __tablename__ = "merge_event"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("resolution_run.id"), index=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(60))
    model_version: Mapped[int | None] = mapped_column(Integer)
    probability: Mapped[float | None] = mapped_column(Float)
    match_weight: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    field_changes: Mapped[dict[str, Any]] = mapped_column(
        SealedJSON("merge_event.field_changes"), default=dict
    )
    moved_link_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unmerged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unmerged_by: Mapped[str | None] = mapped_column(String(100))
    unmerge_reason: Mapped[str | None] = mapped_column(Text)


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # the two records ended in one profile, or one was erased


class MatchReview(Base):
    """A pair of source records that may be the same person, waiting for a person to decide."""

    __tablename__ = "match_review"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    left_link_id: Mapped[int] = mapped_column(ForeignKey("identity_link.id"), index=True)
    right_link_id: Mapped[int] = mapped_column(ForeignKey("identity_link.id"), index=True)
    probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(60))
    # Why it was not merged automatically: below the threshold, or the guards it tripped.
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    comparison: Mapped[dict[str, Any]] = mapped_column(
        SealedJSON("match_review.comparison"), default=dict
    )
    model_version: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("resolution_run.id"))
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class DistinctDecision(Base):
    """ "Not the same person": records on one side never share a profile with the other side.

    Made by an unmerge or a rejected review; every later resolution respects it.
    """

    __tablename__ = "distinct_decision"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20))  # "unmerge" or "review"
    merge_event_id: Mapped[int | None] = mapped_column(ForeignKey("merge_event.id"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("match_review.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DistinctDecisionMember(Base):
    """A source record on one side (0 or 1) of a "not the same person" decision."""

    __tablename__ = "distinct_decision_member"

    decision_id: Mapped[int] = mapped_column(
        ForeignKey("distinct_decision.id", ondelete="CASCADE"), primary_key=True
    )
    link_id: Mapped[int] = mapped_column(
        ForeignKey("identity_link.id"), primary_key=True, index=True
    )
    side: Mapped[int] = mapped_column(SmallInteger)
