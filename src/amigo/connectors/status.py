"""Where each connector stands: last sync, lag, errors, dead letters, breaker.

One read for ``amigo connectors status`` and ``GET /v1/connectors/status``.
Pulled streams (Shopify's backfill, Y2's services and drop folder) report
from ``connector_sync``; Shopify's webhooks from their inbox. A stream's lag
is how far behind its source AMIgo may be: for a pulled stream the time since
its last successful page, for webhooks the age of the oldest delivery not yet
processed (zero when the inbox is drained).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amigo.connectors.models import BreakerState
from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.connectors.state import dead_letter_counts, sync_states
from amigo.core.db import table_of

inbox = table_of(ShopifyWebhook)
# The connectors AMIgo has, listed even before their first sync.
KNOWN_CONNECTORS = ("shopify", "cegid")


class Health(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # recent errors, a backlog, or dead letters waiting
    FAILING = "failing"  # the breaker is open, or the last runs all failed
    IDLE = "idle"  # never synced


@dataclass(frozen=True)
class StreamStatus:
    """One stream of a connector: a pulled sync or the webhook inbox."""

    stream: str
    last_success_at: datetime | None
    lag_seconds: float | None
    records_total: int
    errors_total: int
    consecutive_failures: int
    last_error_at: datetime | None
    last_error: str | None
    breaker_state: BreakerState
    backlog: int  # webhook deliveries waiting; 0 for pulled streams
    dead: int  # webhook deliveries out of attempts (the inbox's dead letters); 0 when pulled
    health: Health


@dataclass(frozen=True)
class ConnectorStatus:
    """One connector: its streams, its waiting dead letters (of every kind), its worst health."""

    connector: str
    health: Health
    dead_letters: int
    streams: list[StreamStatus]


_RANK = {Health.IDLE: 0, Health.OK: 1, Health.DEGRADED: 2, Health.FAILING: 3}


def _seconds(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def _pulled_health(
    *, breaker: BreakerState, failures: int, last_success: datetime | None
) -> Health:
    if breaker is not BreakerState.CLOSED or failures >= 3:
        return Health.FAILING
    if failures:
        return Health.DEGRADED
    return Health.OK if last_success is not None else Health.IDLE


def _webhook_stream(session: Session, now: datetime) -> StreamStatus | None:
    """Return the Shopify inbox as a stream, None when no webhook ever arrived."""
    counts = dict.fromkeys(DeliveryStatus, 0)
    for status, count in session.execute(
        select(inbox.c.status, func.count()).group_by(inbox.c.status)
    ):
        counts[DeliveryStatus(status)] = int(count)
    if not any(counts.values()):
        return None
    waiting = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)
    oldest_waiting, last_processed = session.execute(
        select(
            select(func.min(inbox.c.received_at))
            .where(inbox.c.status.in_(waiting))
            .scalar_subquery(),
            select(func.max(inbox.c.processed_at)).scalar_subquery(),
        )
    ).one()
    last_failed = session.execute(
        select(inbox.c.next_attempt_at, inbox.c.last_error)
        .where(inbox.c.status.in_((DeliveryStatus.FAILED.value, DeliveryStatus.DEAD.value)))
        .order_by(inbox.c.id.desc())
        .limit(1)
    ).first()
    backlog = counts[DeliveryStatus.PENDING] + counts[DeliveryStatus.FAILED]
    errors = counts[DeliveryStatus.FAILED] + counts[DeliveryStatus.DEAD]
    lag = _seconds(now, oldest_waiting) if oldest_waiting is not None else 0.0
    if counts[DeliveryStatus.DEAD] or counts[DeliveryStatus.FAILED] or (lag or 0) > 300:
        health = Health.DEGRADED
    else:
        health = Health.OK
    return StreamStatus(
        stream="webhooks",
        last_success_at=last_processed,
        lag_seconds=lag,
        records_total=counts[DeliveryStatus.PROCESSED],
        errors_total=errors,
        consecutive_failures=counts[DeliveryStatus.FAILED],
        last_error_at=None,
        last_error=last_failed.last_error if last_failed is not None else None,
        breaker_state=BreakerState.CLOSED,
        backlog=backlog,
        dead=counts[DeliveryStatus.DEAD],
        health=health,
    )


def connectors_status(*, session: Session, now: datetime) -> list[ConnectorStatus]:
    """Return every connector's streams and health, known connectors first."""
    streams: dict[str, list[StreamStatus]] = {name: [] for name in KNOWN_CONNECTORS}
    for state in sync_states(session=session):
        streams.setdefault(state.connector, []).append(
            StreamStatus(
                stream=state.stream,
                last_success_at=state.last_success_at,
                lag_seconds=_seconds(now, state.last_success_at),
                records_total=state.records_total,
                errors_total=state.errors_total,
                consecutive_failures=state.consecutive_failures,
                last_error_at=state.last_error_at,
                last_error=state.last_error,
                breaker_state=state.breaker_state,
                backlog=0,
                dead=0,
                health=_pulled_health(
                    breaker=state.breaker_state,
                    failures=state.consecutive_failures,
                    last_success=state.last_success_at,
                ),
            )
        )
    webhooks = _webhook_stream(session, now)
    if webhooks is not None:
        streams["shopify"].insert(0, webhooks)
    letters = dead_letter_counts(session=session)
    statuses = []
    for connector, its_streams in streams.items():
        waiting = letters.get(connector, 0) + sum(s.dead for s in its_streams)
        health = max((s.health for s in its_streams), key=_RANK.__getitem__, default=Health.IDLE)
        if waiting and _RANK[health] < _RANK[Health.DEGRADED]:
            health = Health.DEGRADED
        statuses.append(
            ConnectorStatus(
                connector=connector, health=health, dead_letters=waiting, streams=its_streams
            )
        )
    return statuses


__all__ = ["ConnectorStatus", "Health", "StreamStatus", "connectors_status"]
