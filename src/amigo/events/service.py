"""Emit domain events into the outbox, in the caller's transaction.

Every state change leaves its event here; the relay (``events.relay``)
publishes the outbox to the bus, in-process or NATS JetStream.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from amigo.core.db import table_of
from amigo.core.sql import bulk_insert, fetch_all
from amigo.events.models import OutboxEvent

outbox = table_of(OutboxEvent)
OUTBOX_CHANNEL = "amigo_outbox"  # PostgreSQL NOTIFY channel: new rows in the outbox
SPEC_VERSION = "1.0"


@dataclass(frozen=True)
class DomainEvent:
    """A state change to announce: ``customer.merged``, ``consent.changed``..."""

    type: str
    subject: str | None
    data: dict[str, Any]
    source: str = "amigo"
    time: datetime | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def emit_events(connection: Connection, events: Sequence[DomainEvent], *, now: datetime) -> None:
    """Write events to the outbox in the current transaction (invariant 5)."""
    bulk_insert(
        connection,
        outbox,
        [
            {
                "event_id": event.event_id,
                "type": event.type,
                "source": event.source,
                "subject": event.subject,
                "time": event.time or now,
                "data": event.data,
            }
            for event in events
        ],
    )
    if events and connection.dialect.name == "postgresql":
        # Delivered at commit, once per transaction however many events: the relay wakes
        # at once instead of at its next poll.
        fetch_all(connection, f"NOTIFY {OUTBOX_CHANNEL}", [])  # on the driver: one per batch


def to_cloudevent(row: Any) -> dict[str, Any]:
    """Return an outbox row as a CloudEvents 1.0 JSON object."""
    return {
        "specversion": SPEC_VERSION,
        "id": row.event_id,
        "source": row.source,
        "type": row.type,
        "subject": row.subject,
        "time": row.time.isoformat(),
        "datacontenttype": "application/json",
        "data": row.data,
    }


def recent_events(*, session: Session, limit: int = 20) -> list[OutboxEvent]:
    """Return the latest outbox events, newest first."""
    return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(limit)))


def outbox_counts(*, session: Session) -> tuple[int, int]:
    """Return how many events the outbox holds and how many of them are not yet published."""
    total, pending = session.execute(
        select(func.count(), func.count().filter(OutboxEvent.published_at.is_(None)))
    ).one()
    return int(total), int(pending)


__all__ = ["DomainEvent", "emit_events", "outbox_counts", "recent_events", "to_cloudevent"]
