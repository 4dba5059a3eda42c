"""Idempotent consumers: each event applied once per consumer, however often it arrives.

Delivery is at least once (a relay killed between publishing and marking
publishes again; JetStream redelivers what was not acknowledged), so a
consumer records the event id in ``processed_event`` in the same transaction
as its effect. A second delivery finds the row and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from amigo.core.clock import utcnow
from amigo.core.db import table_of, unit_of_work
from amigo.events.models import ProcessedEvent

processed = table_of(ProcessedEvent)
CloudEvent = dict[str, Any]


def claim_event(*, session: Session, consumer: str, event_id: str, now: datetime) -> bool:
    """Record that the consumer applies this event; False when it already has.

    Call it first in the transaction that applies the event: on PostgreSQL a
    concurrent second delivery waits on the unique key until the first commits,
    then finds it taken.
    """
    values = {"consumer": consumer, "event_id": event_id, "processed_at": now}
    dialect = session.get_bind().dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(processed).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(processed).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - the two supported backends are above
        statement = insert(processed).values(values)
    # RETURNING, not rowcount: the ORM session adds a RETURNING of its own, and then
    # psycopg's rowcount says 1 whether or not the row went in.
    return session.execute(statement.returning(processed.c.id)).first() is not None


def idempotent(
    engine: Engine, consumer: str, apply: Callable[[Session, CloudEvent], None]
) -> Callable[[CloudEvent], None]:
    """Wrap a handler so it runs once per event id, in one transaction with its marker."""

    def handle(event: CloudEvent) -> None:
        with unit_of_work(engine) as session:
            if claim_event(session=session, consumer=consumer, event_id=event["id"], now=utcnow()):
                apply(session, event)

    handle.__name__ = consumer
    return handle
