"""The transactional outbox: events written in the same transaction as the change they report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.db import Base, BigIntId, JSONType, UTCDateTime


class OutboxEvent(Base):
    """A domain event waiting to be published (invariant 5: at least once, in order of id).

    The columns are the CloudEvents 1.0 attributes; ``published_at`` is set
    by the relay once the bus has it.
    """

    __tablename__ = "event_outbox"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(100))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
