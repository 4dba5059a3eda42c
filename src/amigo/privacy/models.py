"""What privacy keeps: subject requests, each step of them, restrictions, and the exports made."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.crypto import EncryptedText
from amigo.core.db import Base, BigIntId, JSONType, UTCDateTime, str_enum


class RequestType(enum.StrEnum):
    ACCESS = "access"  # article 15
    RECTIFICATION = "rectification"  # article 16
    ERASURE = "erasure"  # article 17
    RESTRICTION = "restriction"  # article 18
    PORTABILITY = "portability"  # article 20
    OBJECTION = "objection"  # article 21


class RequestStatus(enum.StrEnum):
    RECEIVED = "received"
    IDENTITY_VERIFIED = "identity_verified"
    APPROVED = "approved"
    EXECUTED = "executed"
    CLOSED = "closed"
    REJECTED = "rejected"


OPEN_STATUSES = frozenset(
    {RequestStatus.RECEIVED, RequestStatus.IDENTITY_VERIFIED, RequestStatus.APPROVED}
)


class SubjectRequest(Base):
    """A person's request about their data, from receipt to closure."""

    __tablename__ = "subject_request"
    __table_args__ = (Index("ix_subject_request_customer_type", "customer_id", "type"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    type: Mapped[RequestType] = mapped_column(str_enum(RequestType))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"))
    channel: Mapped[str] = mapped_column(String(30))  # email, letter, store, web_form, shopify
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    # What the person asked, in their words: it may quote their email or address.
    details: Mapped[str | None] = mapped_column(EncryptedText("subject_request.details"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # What execution did: files written, purposes withdrawn, the confirmation sent.
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubjectRequestStep(Base):
    """One step of a request (received, verified, approved, extended...): who, as what, when."""

    __tablename__ = "subject_request_step"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_request.id"), index=True)
    step: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Encrypted: a filing step's note is the request's details, in the person's words.
    note: Mapped[str | None] = mapped_column(EncryptedText("subject_request_step.note"))


class ProcessingRestriction(Base):
    """A profile whose data is kept but not used for marketing or profiling (article 18)."""

    __tablename__ = "processing_restriction"

    customer_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("subject_request.id"))
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class PrivacyExport(Base):
    """A file of personal data AMIgo wrote for a request (erasure must find and remove it)."""

    __tablename__ = "privacy_export"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_request.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # json, html, zip
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SuppressionKind(enum.StrEnum):
    SOURCE = "source"  # a source system's customer id: "shopify:6574839201"
    EMAIL = "email"  # the email match key
    PHONE = "phone"  # E.164
    PERSON = "person"  # plain first and last names with the birth date


class ErasureSuppression(Base):
    """A keyed hash of an erased person's identifier: a later import of it is not stored.

    Only the HMAC is kept (the key stays outside the database), so the list
    cannot be read back into emails or phones. A person who signs up again
    of their own accord, after the erasure, under a new source id, lifts the
    email, phone and person entries: ``returned_at`` and ``returned_via``
    record it. Source ids erased stay suppressed for good.
    """

    __tablename__ = "erasure_suppression"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[SuppressionKind] = mapped_column(str_enum(SuppressionKind))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("subject_request.id"))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_via: Mapped[str | None] = mapped_column(String(120))  # "webforms:SUB-..." sign-up
