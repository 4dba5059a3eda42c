"""What every connector keeps: where each stream's sync stands, and the deliveries that failed.

``connector_sync`` has one row per (connector, stream): "shopify"/"customers",
"cegid"/"receipts", "cegid"/"drop-folder"... It holds the stream's resume
position (a cursor, a date window: never personal data), when it last ran and
last succeeded, its errors and its circuit breaker, so that a killed sync
resumes where it stopped and ``amigo connectors status`` reads one table.

``connector_dead_letter`` holds what could not be delivered after every retry
(an outbound push to Shopify or Y2, a drop-folder file that cannot be read):
inspectable, and replayable once the cause is fixed.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.crypto import EncryptedText
from amigo.core.db import Base, BigIntId, JSONType, UTCDateTime, str_enum
from amigo.core.sealed import SealedJSON


class BreakerState(enum.StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # too many failures in a row: calls refused until the cool-down ends
    HALF_OPEN = "half_open"  # cool-down over: one probe call decides


class DeadLetterStatus(enum.StrEnum):
    DEAD = "dead"  # every attempt failed: waits for an operator
    REPLAYED = "replayed"  # delivered on a replay
    DISCARDED = "discarded"  # an operator chose to drop it


class ConnectorSync(Base):
    """Where one stream of one connector stands: resume position, health, breaker."""

    __tablename__ = "connector_sync"
    __table_args__ = (UniqueConstraint("connector", "stream"),)

    # A one-column key: key rotation pages re-encryption by it (last_error is encrypted).
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    connector: Mapped[str] = mapped_column(String(40))
    stream: Mapped[str] = mapped_column(String(60))
    # The resume position: a cursor, a date window, a file name. Never personal data.
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest change the stream has brought in (its updated_at): the lag is now minus it.
    last_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    records_total: Mapped[int] = mapped_column(BigInteger, default=0)
    errors_total: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Encrypted: a peer's error text may quote a value it was sent.
    last_error: Mapped[str | None] = mapped_column(EncryptedText("connector_sync.last_error"))
    breaker_state: Mapped[BreakerState] = mapped_column(
        str_enum(BreakerState), default=BreakerState.CLOSED
    )
    breaker_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConnectorDeadLetter(Base):
    """One delivery or input that failed every attempt, kept whole until replayed."""

    __tablename__ = "connector_dead_letter"
    __table_args__ = (Index("ix_connector_dead_letter_open", "connector", "status"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    connector: Mapped[str] = mapped_column(String(40))
    # What was tried: "customerEmailMarketingConsentUpdate", "UpdateCustomer", "drop-file".
    operation: Mapped[str] = mapped_column(String(80))
    # What it was about, by ids only ("customer:7064...", "golden:AMI-...", a file name).
    target: Mapped[str | None] = mapped_column(String(300))
    # Sealed: what would be sent names a person.
    payload: Mapped[dict[str, Any] | None] = mapped_column(
        SealedJSON("connector_dead_letter.payload")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(EncryptedText("connector_dead_letter.error"))
    status: Mapped[DeadLetterStatus] = mapped_column(
        str_enum(DeadLetterStatus), default=DeadLetterStatus.DEAD
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CegidOutboundValue(Base):
    """A value AMIgo wrote into one Y2 customer field: what Y2 sends back is then its echo.

    One row per (Y2 CustomerId, field), the field named by its customers.csv
    column (``OptinEmail``, ``UserDefinedText1``...). Ids and codes only: a
    tier, a consent value, a store or associate code, a golden id.
    """

    __tablename__ = "cegid_outbound_value"

    customer_ref: Mapped[str] = mapped_column(String(80), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(80))
    # When AMIgo decided the value (its source's time), and when Y2 accepted it.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = [
    "BreakerState",
    "CegidOutboundValue",
    "ConnectorDeadLetter",
    "ConnectorSync",
    "DeadLetterStatus",
]
