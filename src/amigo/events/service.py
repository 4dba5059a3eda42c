"""Emit domain events into the outbox, in the caller's transaction.

The relay that publishes the outbox to a bus (in-process or NATS JetStream)
is the API/events issue's; here every state change already leaves its event,
so nothing is lost when the relay arrives.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from amigo.core.db import table_of
from amigo.core.sql import bulk_insert
from amigo.events.models import OutboxEvent

outbox = table_of(OutboxEvent)
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


__all__ = ["DomainEvent", "emit_events", "to_cloudevent"]
