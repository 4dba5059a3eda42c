"""The outbox relay: publish unpublished outbox rows, in id order, then mark them published.

At least once, never lost: a batch is marked only after the bus acknowledged
every event in it. A relay that dies in between publishes the batch again on
restart; JetStream drops the copies within its duplicate window (the event id
is the ``Nats-Msg-Id``) and consumers are idempotent by event id for the rest.

On PostgreSQL the batch is read ``FOR UPDATE SKIP LOCKED`` and the lock held
until it is marked, so several relays can run side by side, each taking other
rows (order then holds within a batch, not across relays). SQLite has one
writer: run one relay. There the SELECT starts no transaction (the sqlite3
driver begins one at the first write), so in-process subscribers can commit
their own writes while the relay waits for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import Connection, Engine, func, select, update

from amigo.core.clock import utcnow
from amigo.core.sql import is_one_of
from amigo.events.bus import Bus, BusError
from amigo.events.service import OUTBOX_CHANNEL, outbox, to_cloudevent


@dataclass
class RelayStats:
    """What a relay run did."""

    published: int = 0
    duplicates: int = 0
    batches: int = 0
    errors: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        """Return the time since the run started."""
        return time.monotonic() - self.started


def pending_count(connection: Connection) -> int:
    """Return how many outbox rows are not yet published."""
    return int(
        connection.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
        or 0
    )


def relay_batch(engine: Engine, bus: Bus, *, batch_size: int) -> tuple[int, int]:
    """Publish the oldest unpublished rows and mark them; return (published, duplicates)."""
    with engine.connect() as connection, connection.begin():
        rows = connection.execute(
            select(outbox)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no row locks
        ).all()
        if not rows:
            return 0, 0
        duplicates = bus.publish([to_cloudevent(row) for row in rows])
        published_at = utcnow()
        for condition in is_one_of(connection, outbox.c.id, [row.id for row in rows]):
            connection.execute(update(outbox).where(condition).values(published_at=published_at))
    return len(rows), duplicates


class OutboxWaker:
    """Wait for new outbox rows: on PostgreSQL a NOTIFY wakes the relay as the writer commits.

    Another channel (``channel``) waits for another table's rows the same way
    (the Shopify webhook inbox's processor).

    Elsewhere (SQLite), and should the listening connection fail, it waits the
    poll interval. Either way a wake-up only means "look again": the outbox
    is the truth, so a missed notification costs at most one interval.
    """

    def __init__(
        self, engine: Engine, stop: threading.Event, *, channel: str = OUTBOX_CHANNEL
    ) -> None:
        self._stop = stop
        self._listener: psycopg.Connection[tuple[object, ...]] | None = None
        if engine.dialect.name == "postgresql":
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            try:
                self._listener = psycopg.connect(url, autocommit=True)
                # A constant of the code (never input): LISTEN takes no parameter.
                self._listener.execute(f"LISTEN {channel}")
            except psycopg.Error:
                self._listener = None

    def wait(self, seconds: float) -> None:
        """Return when a writer committed new events, the stop is set, or after ``seconds``."""
        if self._listener is None:
            self._stop.wait(seconds)
            return
        try:
            for _ in self._listener.notifies(timeout=seconds, stop_after=1):
                pass
        except psycopg.Error:
            self.close()
            self._stop.wait(seconds)

    def close(self) -> None:
        """Stop listening."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def run_relay(
    engine: Engine,
    bus: Bus,
    *,
    batch_size: int,
    once: bool = False,
    idle_seconds: float = 1.0,
    stop: threading.Event | None = None,
    on_batch: Callable[[RelayStats, int], None] | None = None,
    on_error: Callable[[BusError], None] | None = None,
) -> RelayStats:
    """Relay the outbox until it is empty (``once``) or until ``stop`` is set.

    A running relay that loses its bus says so through ``on_error`` and tries
    again after ``idle_seconds``; with ``once`` the error is raised.
    """
    stop = stop or threading.Event()
    stats = RelayStats()
    waker = OutboxWaker(engine, stop) if not once else None
    try:
        while not stop.is_set():
            try:
                published, duplicates = relay_batch(engine, bus, batch_size=batch_size)
            except BusError as error:
                if once:
                    raise
                stats.errors += 1
                if on_error:
                    on_error(error)
                stop.wait(idle_seconds)
                continue
            if published:
                stats.published += published
                stats.duplicates += duplicates
                stats.batches += 1
                if on_batch:
                    on_batch(stats, published)
                continue
            if waker is None:
                break
            waker.wait(idle_seconds)
    finally:
        if waker is not None:
            waker.close()
    return stats
