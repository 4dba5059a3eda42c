"""The inbox processor: take the oldest due delivery, process it in one transaction, next.

One delivery per transaction, so that one that fails blocks no other: its
transaction is rolled back, and a second one marks it ``failed`` with the
reason and a next attempt after an exponential backoff with full jitter;
after the last attempt it is ``dead`` (the dead letters,
``amigo connectors shopify webhooks --failed``) until replayed. What a
delivery changed and its events are written with its ``processed`` mark, in
the same transaction (invariant 5): a processor killed mid-way leaves the
delivery due, and processing it again gives the same repository (the records
are keyed by their content).

A claim is one UPDATE of the oldest due row: on SQLite it takes the
database's write lock at once, on PostgreSQL the row is locked ``FOR UPDATE
SKIP LOCKED`` so that several processors (one per API process) take
different deliveries. An idle processor waits for ``NOTIFY
amigo_shopify_inbox`` on PostgreSQL (sent as the receiver commits); on
SQLite it is woken by the receiver of its own process, and polls for those
other processes stored.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.connectors.shopify.topics import HANDLERS, Context, Handled
from amigo.connectors.shopify.webhooks import INBOX_CHANNEL, wait_for_delivery
from amigo.core.clock import utcnow
from amigo.core.config import Settings, ShopifySettings
from amigo.core.db import table_of, unit_of_work
from amigo.events.relay import OutboxWaker
from amigo.events.service import emit_events
from amigo.privacy.suppression import SuppressionList, list_is_empty, suppression_secret

log = logging.getLogger(__name__)
inbox = table_of(ShopifyWebhook)
_DUE = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)
_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Attempt:
    """What one processing attempt of a delivery ended in."""

    delivery_id: int
    topic: str
    status: DeliveryStatus
    outcome: str | None
    error: str | None
    received_at: datetime
    finished_at: datetime


@dataclass
class ProcessorStats:
    """What a processor run did."""

    processed: int = 0
    failed: int = 0
    dead: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        """Return the time since the run started."""
        return time.monotonic() - self.started

    def count(self, attempt: Attempt) -> None:
        """Add one attempt's end."""
        if attempt.status is DeliveryStatus.PROCESSED:
            self.processed += 1
        elif attempt.status is DeliveryStatus.DEAD:
            self.dead += 1
        else:
            self.failed += 1


def backoff(settings: ShopifySettings, attempts: int) -> float:
    """Return the wait before the next attempt: full jitter up to base * 2^attempts, capped."""
    ceiling = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** min(attempts, 30))
    return random.uniform(0, ceiling)  # jitter, not a secret


class _Suppression:
    """The suppression list as the processor needs it: None while nobody was ever erased."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._list: SuppressionList | None = None

    def current(self, session: Session) -> SuppressionList | None:
        if self._list is not None:
            return self._list
        if list_is_empty(session.connection()):
            return None
        self._list = SuppressionList(suppression_secret(self._settings.privacy))
        return self._list


@dataclass(frozen=True)
class _Claimed:
    id: int
    webhook_id: str
    topic: str
    shop_domain: str
    triggered_at: datetime | None
    received_at: datetime
    attempts: int  # including this one
    body: dict[str, Any] | None


def _claim(session: Session, now: datetime) -> _Claimed | None:
    """Take the oldest due delivery, or None; the transaction holds it until it ends.

    One statement: an UPDATE of the row a sub-select picks (locked, skipping
    those other processors hold, on PostgreSQL; on SQLite the UPDATE takes
    the write lock, so no other processor can pick the same row meanwhile).
    """
    due = (
        select(inbox.c.id)
        .where(inbox.c.status.in_(_DUE), inbox.c.next_attempt_at <= now)
        .order_by(inbox.c.next_attempt_at, inbox.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = (
        session.connection()
        .execute(
            update(inbox)
            .where(inbox.c.id == due)
            .values(attempts=inbox.c.attempts + 1)
            .returning(
                inbox.c.id,
                inbox.c.webhook_id,
                inbox.c.topic,
                inbox.c.shop_domain,
                inbox.c.triggered_at,
                inbox.c.received_at,
                inbox.c.attempts,
                inbox.c.body,
            )
        )
        .first()
    )
    if row is None:
        return None
    return _Claimed(
        id=int(row.id),
        webhook_id=row.webhook_id,
        topic=row.topic,
        shop_domain=row.shop_domain,
        triggered_at=row.triggered_at,
        received_at=row.received_at,
        attempts=int(row.attempts),
        body=row.body,
    )


def _handle(
    session: Session, claimed: _Claimed, settings: Settings, suppression: _Suppression
) -> tuple[DeliveryStatus, Handled]:
    handler = HANDLERS.get(claimed.topic)
    if handler is None:
        return DeliveryStatus.DEAD, Handled(
            f"topic {claimed.topic} is not processed here: unsubscribe it in Shopify",
            keep_body=True,
        )
    if claimed.body is None:
        return DeliveryStatus.DEAD, Handled("its body was erased: nothing to process")
    now = utcnow()
    ctx = Context(
        session=session,
        webhook_id=claimed.webhook_id,
        topic=claimed.topic,
        shop_domain=claimed.shop_domain,
        triggered_at=claimed.triggered_at,
        received_at=claimed.received_at,
        payload=claimed.body,
        settings=settings,
        suppression=suppression.current(session),
        now=now,
    )
    handled = handler(ctx)
    if ctx.events:
        emit_events(session.connection(), ctx.events, now=now)
    if handled.retry is None:
        return DeliveryStatus.PROCESSED, handled
    last = claimed.attempts >= settings.shopify.attempts
    return (DeliveryStatus.DEAD if last else DeliveryStatus.FAILED), handled


def _mark(
    session: Session,
    claimed: _Claimed,
    status: DeliveryStatus,
    settings: ShopifySettings,
    *,
    outcome: str | None,
    error: str | None,
    keep_body: bool,
    attempts: int | None = None,
) -> datetime:
    now = utcnow()
    values: dict[str, Any] = {
        "status": status.value,
        "outcome": None if outcome is None else outcome[:300],
        "last_error": None if error is None else error[:_ERROR_LENGTH],
    }
    if attempts is not None:
        values["attempts"] = attempts
    if status is DeliveryStatus.PROCESSED:
        values["processed_at"] = now
        if not keep_body:
            values["body"] = None  # its record, statement or request holds it now
    elif status is DeliveryStatus.FAILED:
        values["next_attempt_at"] = now + timedelta(
            seconds=backoff(settings, attempts or claimed.attempts)
        )
    session.connection().execute(update(inbox).where(inbox.c.id == claimed.id).values(**values))
    return now


def process_next(
    engine: Engine, *, settings: Settings, suppression: _Suppression | None = None
) -> Attempt | None:
    """Process the oldest due delivery; None when none is due."""
    suppression = suppression or _Suppression(settings)
    claimed: _Claimed | None = None
    try:
        with unit_of_work(engine) as session:
            claimed = _claim(session, utcnow())
            if claimed is None:
                return None
            status, handled = _handle(session, claimed, settings, suppression)
            finished = _mark(
                session,
                claimed,
                status,
                settings.shopify,
                outcome=handled.outcome,
                error=handled.retry,
                keep_body=handled.keep_body,
            )
            return Attempt(
                claimed.id,
                claimed.topic,
                status,
                handled.outcome,
                handled.retry,
                claimed.received_at,
                finished,
            )
    except Exception as error:
        if claimed is None:
            raise
        reason = f"{type(error).__name__}: {error}"
        log.warning("shopify webhook %d (%s) failed: %s", claimed.id, claimed.topic, reason)
        status = (
            DeliveryStatus.DEAD
            if claimed.attempts >= settings.shopify.attempts
            else DeliveryStatus.FAILED
        )
        with unit_of_work(engine) as session:
            finished = _mark(
                session,
                claimed,
                status,
                settings.shopify,
                outcome=None,
                error=reason,
                keep_body=True,
                attempts=claimed.attempts,  # the claim's increment was rolled back with the rest
            )
        return Attempt(
            claimed.id, claimed.topic, status, None, reason, claimed.received_at, finished
        )


class _InboxWaker:
    """Wait for stored deliveries: NOTIFY on PostgreSQL, this process's receiver on SQLite."""

    def __init__(self, engine: Engine, stop: threading.Event) -> None:
        self._listener = (
            OutboxWaker(engine, stop, channel=INBOX_CHANNEL)
            if engine.dialect.name == "postgresql"
            else None
        )

    def wait(self, seconds: float) -> None:
        if self._listener is not None:
            self._listener.wait(seconds)
        else:
            wait_for_delivery(seconds)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()


def run_processor(
    engine: Engine,
    *,
    settings: Settings,
    once: bool = False,
    stop: threading.Event | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> ProcessorStats:
    """Drain the inbox until nothing is due (``once``) or until ``stop`` is set."""
    stop = stop or threading.Event()
    stats = ProcessorStats()
    suppression = _Suppression(settings)
    waker = _InboxWaker(engine, stop) if not once else None
    idle = settings.shopify.idle_seconds
    try:
        while not stop.is_set():
            try:
                attempt = process_next(engine, settings=settings, suppression=suppression)
            except Exception:  # the database itself failed: say so and look again later
                if once:
                    raise
                log.exception("the shopify webhook processor could not read its inbox")
                stop.wait(max(idle, 1.0))
                continue
            if attempt is not None:
                stats.count(attempt)
                if on_attempt is not None:
                    on_attempt(attempt)
                continue
            if waker is None:
                break
            waker.wait(idle)
    finally:
        if waker is not None:
            waker.close()
    return stats


__all__ = [
    "Attempt",
    "ProcessorStats",
    "backoff",
    "process_next",
    "run_processor",
]
