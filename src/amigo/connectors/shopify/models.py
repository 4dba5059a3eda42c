"""What the Shopify connector keeps: the inbox of webhook deliveries, received then processed."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.crypto import EncryptedText
from amigo.core.db import Base, BigIntId, UTCDateTime, str_enum
from amigo.core.sealed import SealedJSON


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # stored, not processed yet
    PROCESSED = "processed"
    FAILED = "failed"  # an attempt failed: tried again at next_attempt_at
    DEAD = "dead"  # no attempt left, or a topic nobody processes: the dead letters


class ShopifyWebhook(Base):
    """One webhook delivery as Shopify sent it, stored before anything else is done with it.

    The receiver writes it in one short transaction and answers; a processor
    drains the inbox (``connectors.shopify.processing``). ``webhook_id`` is
    unique: a delivery Shopify sends again is stored once. The body is sealed
    (it names people) and dropped once processed, when the source record,
    consent statement or subject request it became holds what it said.
    """

    __tablename__ = "shopify_webhook"
    __table_args__ = (
        # The processor's read: the oldest due delivery.
        Index("ix_shopify_webhook_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(100), unique=True)
    topic: Mapped[str] = mapped_column(String(100))
    shop_domain: Mapped[str] = mapped_column(String(255))
    api_version: Mapped[str | None] = mapped_column(String(20))
    # Shared by every delivery one merchant action caused: correlation, not de-duplication.
    event_id: Mapped[str | None] = mapped_column(String(100))
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON("shopify_webhook.body"))
    body_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the raw bytes
    body_bytes: Mapped[int] = mapped_column(Integer)
    # What the delivery is about, by Shopify ids only ("customer:7064...", "order:4502...").
    resource: Mapped[str | None] = mapped_column(String(100))
    # The Shopify customer it names: erasure finds the person's deliveries by it.
    customer_ref: Mapped[str | None] = mapped_column(String(80), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What processing did, in ids and counts ("profile AMI-... updated").
    outcome: Mapped[str | None] = mapped_column(String(300))
    # Encrypted: an exception's text may quote a value of the body.
    last_error: Mapped[str | None] = mapped_column(EncryptedText("shopify_webhook.last_error"))


__all__ = ["DeliveryStatus", "ShopifyWebhook"]
