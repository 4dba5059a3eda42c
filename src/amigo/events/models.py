"""The transactional outbox, consumers' processed events, and outbound webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.db import Base, BigIntId, JSONType, UTCDateTime


class OutboxEvent(Base):
    """A domain event waiting to be published (invariant 5: at least once, in order of id).

    The columns are the CloudEvents 1.0 attributes; ``published_at`` is set
    by the relay once the bus has it.
    """

    __tablename__ = "event_outbox"
    __table_args__ = (
        # The relay's query (WHERE published_at IS NULL ORDER BY id): the pending rows in
        # id order, however many published ones the table holds.
        Index(
            "ix_event_outbox_pending",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(100))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedEvent(Base):
    """An event a consumer has applied: written in the consumer's own transaction.

    Delivery is at least once, so a consumer sees an event again after a relay
    restart or a redelivery; the unique (consumer, event_id) makes it apply once.
    """

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("consumer", "event_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    consumer: Mapped[str] = mapped_column(String(60))
    event_id: Mapped[str] = mapped_column(String(36))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookSubscription(Base):
    """An outside endpoint that receives the events of some types, signed with its secret."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Event types delivered ("consent.changed", "customer.*"); empty: every type.
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    # The signing key, needed in clear to sign each delivery (Standard Webhooks "whsec_...").
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One attempt to deliver one event to one subscription, successful or not."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    duration_ms: Mapped[int] = mapped_column(Integer)


class WebhookDeadLetter(Base):
    """An event a subscription did not accept after the last attempt, kept for replay."""

    __tablename__ = "webhook_dead_letter"
    __table_args__ = (UniqueConstraint("subscription_id", "event_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(60))
    # The CloudEvent as it was to be sent, so a replay needs neither the outbox nor the bus.
    event: Mapped[dict[str, Any]] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
