"""What the consent ledger keeps: every statement ever made, and the state they add up to."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.db import Base, BigIntId, JSONType, UTCDateTime, str_enum


class ConsentPurpose(enum.StrEnum):
    EMAIL_MARKETING = "email_marketing"
    SMS_MARKETING = "sms_marketing"
    PHONE_CALLS = "phone_calls"
    POSTAL_MAIL = "postal_mail"
    DATA_ANALYSIS = "data_analysis"


class ConsentStatus(enum.StrEnum):
    GRANTED = "granted"  # single opt-in
    CONFIRMED = "confirmed"  # double opt-in
    PENDING = "pending"  # waiting for the confirmation: never counts as consent
    WITHDRAWN = "withdrawn"
    NEVER_ASKED = "never_asked"


class TimeBasis(enum.StrEnum):
    """What a statement's time says about when the person acted."""

    EXACT = "exact"  # the person acted at that instant (a form, a click, a webhook)
    AS_OF = "as_of"  # the statement held then: the person acted then or earlier (a POS export)
    UNKNOWN = "unknown"  # no time given: the statement held when AMIgo received it


class ConsentEvent(Base):
    """One consent statement, appended and never changed (invariant 4).

    A statement from a source names the source customer it is about
    (``source_system``, ``source_id``) and belongs to whichever golden profile
    that source record is linked to, through merges and unmerges. A statement
    made to AMIgo itself (preference center, unsubscribe link, a store
    associate at the CLI) names the golden profile the person acted on in
    ``customer_id`` and follows that profile into the one it is merged into.
    Database triggers refuse every UPDATE and DELETE.
    """

    __tablename__ = "consent_event"
    __table_args__ = (
        # One statement per purpose per stored source record version: reloading is idempotent.
        UniqueConstraint("source_record_id", "purpose"),
        Index("ix_consent_event_source", "source_system", "source_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    source_system: Mapped[str] = mapped_column(String(20))  # cegid, shopify, webforms, amigo
    source_id: Mapped[str | None] = mapped_column(String(80))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"))
    purpose: Mapped[ConsentPurpose] = mapped_column(str_enum(ConsentPurpose))
    status: Mapped[ConsentStatus] = mapped_column(str_enum(ConsentStatus))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_basis: Mapped[TimeBasis] = mapped_column(str_enum(TimeBasis))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(
        String(30)
    )  # store, web_form, shopify, preference_center...
    actor: Mapped[str] = mapped_column(String(100))  # person, process:load, user:alice...
    raw_value: Mapped[str | None] = mapped_column(String(40))  # the source's own value
    # Wording or form version, IP and user agent, store and associate, where known.
    proof: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ConsentState(Base):
    """The effective state per active profile and purpose: a projection of the ledger.

    Rebuilt from the ledger whenever a statement is appended or profiles merge
    or unmerge; ``amigo consent rebuild --check`` proves it still matches.
    No row means never asked.
    """

    __tablename__ = "consent_state"

    customer_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), primary_key=True)
    purpose: Mapped[ConsentPurpose] = mapped_column(str_enum(ConsentPurpose), primary_key=True)
    status: Mapped[ConsentStatus] = mapped_column(str_enum(ConsentStatus))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The ledger rows that decided it (several when a conflict was settled restrictively).
    decided_by: Mapped[list[int]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
