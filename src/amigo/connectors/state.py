"""Each connector stream's resume position and health, and the dead letters: one service.

Syncs call :func:`sync_started`, then :func:`save_checkpoint` after each page
they have written (in the page's own transaction, so that the position never
runs ahead of what is stored: invariant 5), and :func:`sync_failed` when they
give up. ``amigo connectors status`` reads :func:`sync_states` and
:func:`dead_letter_counts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from amigo.connectors.models import (
    BreakerState,
    ConnectorDeadLetter,
    ConnectorSync,
    DeadLetterStatus,
)
from amigo.core.db import table_of
from amigo.core.errors import ConflictError, NotFoundError

sync_table = table_of(ConnectorSync)
dead_letters = table_of(ConnectorDeadLetter)
_ERROR_LENGTH = 500


@dataclass(frozen=True)
class SyncState:
    """Where one stream stands, as ``amigo connectors status`` shows it."""

    connector: str
    stream: str
    checkpoint: dict[str, Any] | None
    last_started_at: datetime | None
    last_success_at: datetime | None
    last_change_at: datetime | None
    records_total: int
    errors_total: int
    consecutive_failures: int
    last_error_at: datetime | None
    last_error: str | None
    breaker_state: BreakerState
    breaker_opened_at: datetime | None


def _ensure(session: Session, connector: str, stream: str, now: datetime) -> None:
    """Create the stream's row the first time it is named."""
    found = session.execute(
        select(sync_table.c.connector).where(
            sync_table.c.connector == connector, sync_table.c.stream == stream
        )
    ).first()
    if found is None:
        session.execute(
            insert(sync_table).values(
                connector=connector,
                stream=stream,
                records_total=0,
                errors_total=0,
                consecutive_failures=0,
                breaker_state=BreakerState.CLOSED.value,
                updated_at=now,
            )
        )


def _where(connector: str, stream: str) -> Any:
    return (sync_table.c.connector == connector) & (sync_table.c.stream == stream)


def load_checkpoint(*, session: Session, connector: str, stream: str) -> dict[str, Any] | None:
    """Return the stream's resume position, None when it never saved one."""
    value = session.scalar(select(sync_table.c.checkpoint).where(_where(connector, stream)))
    return dict(value) if value else None


def sync_started(*, session: Session, connector: str, stream: str, now: datetime) -> None:
    """Record that a run of the stream started."""
    _ensure(session, connector, stream, now)
    session.execute(
        update(sync_table)
        .where(_where(connector, stream))
        .values(last_started_at=now, updated_at=now)
    )


def save_checkpoint(
    *,
    session: Session,
    connector: str,
    stream: str,
    checkpoint: Mapping[str, Any] | None,
    now: datetime,
    records: int = 0,
    last_change_at: datetime | None = None,
) -> None:
    """Store the resume position after a page was written, in that page's transaction."""
    _ensure(session, connector, stream, now)
    values: dict[str, Any] = {
        "checkpoint": dict(checkpoint) if checkpoint is not None else None,
        "last_success_at": now,
        "records_total": sync_table.c.records_total + records,
        "consecutive_failures": 0,
        "updated_at": now,
    }
    if last_change_at is not None:
        values["last_change_at"] = func.coalesce(
            func.greatest(sync_table.c.last_change_at, last_change_at)
            if session.get_bind().dialect.name == "postgresql"
            else func.max(sync_table.c.last_change_at, last_change_at),
            last_change_at,
        )
    session.execute(update(sync_table).where(_where(connector, stream)).values(**values))


def sync_failed(
    *, session: Session, connector: str, stream: str, error: str, now: datetime
) -> None:
    """Record a run that gave up: the error, and one more failure in a row."""
    _ensure(session, connector, stream, now)
    session.execute(
        update(sync_table)
        .where(_where(connector, stream))
        .values(
            errors_total=sync_table.c.errors_total + 1,
            consecutive_failures=sync_table.c.consecutive_failures + 1,
            last_error_at=now,
            last_error=error[:_ERROR_LENGTH],
            updated_at=now,
        )
    )


def save_breaker(
    *,
    session: Session,
    connector: str,
    stream: str,
    state: BreakerState,
    now: datetime,
) -> None:
    """Store the stream's circuit breaker state (and when it opened)."""
    _ensure(session, connector, stream, now)
    values: dict[str, Any] = {"breaker_state": state.value, "updated_at": now}
    if state is BreakerState.OPEN:
        values["breaker_opened_at"] = now
    elif state is BreakerState.CLOSED:
        values["breaker_opened_at"] = None
    session.execute(update(sync_table).where(_where(connector, stream)).values(**values))


def reset_checkpoint(*, session: Session, connector: str, stream: str, now: datetime) -> None:
    """Forget the stream's resume position: its next run starts from the beginning."""
    session.execute(
        update(sync_table).where(_where(connector, stream)).values(checkpoint=None, updated_at=now)
    )


def sync_states(*, session: Session, connector: str | None = None) -> list[SyncState]:
    """Return every stream's state, by connector then stream."""
    query = select(sync_table).order_by(sync_table.c.connector, sync_table.c.stream)
    if connector is not None:
        query = query.where(sync_table.c.connector == connector)
    states = []
    for row in session.execute(query).mappings():
        data = {key: row[key] for key in SyncState.__dataclass_fields__}
        data["breaker_state"] = BreakerState(row["breaker_state"])
        states.append(SyncState(**data))
    return states


@dataclass(frozen=True)
class DeadLetter:
    """A failed delivery as an operator sees it (the payload stays sealed in the table)."""

    id: int
    connector: str
    operation: str
    target: str | None
    attempts: int
    error: str | None
    status: DeadLetterStatus
    created_at: datetime
    last_attempt_at: datetime | None
    resolved_at: datetime | None


def add_dead_letter(
    *,
    session: Session,
    connector: str,
    operation: str,
    target: str | None,
    payload: Mapping[str, Any] | None,
    error: str,
    attempts: int,
    now: datetime,
) -> int:
    """Keep a delivery that failed every attempt; return its id."""
    return int(
        session.execute(
            insert(dead_letters)
            .values(
                connector=connector,
                operation=operation,
                target=target,
                payload=dict(payload) if payload is not None else None,
                attempts=attempts,
                error=error[:_ERROR_LENGTH],
                status=DeadLetterStatus.DEAD.value,
                created_at=now,
                last_attempt_at=now,
            )
            .returning(dead_letters.c.id)
        ).scalar_one()
    )


def list_dead_letters(
    *,
    session: Session,
    connector: str | None = None,
    include_resolved: bool = False,
    limit: int = 50,
) -> list[DeadLetter]:
    """Return the dead letters, newest first; by default only those still waiting."""
    query = select(*(dead_letters.c[name] for name in DeadLetter.__dataclass_fields__))
    if connector is not None:
        query = query.where(dead_letters.c.connector == connector)
    if not include_resolved:
        query = query.where(dead_letters.c.status == DeadLetterStatus.DEAD.value)
    rows = session.execute(query.order_by(dead_letters.c.id.desc()).limit(limit)).mappings()
    return [DeadLetter(**{**row, "status": DeadLetterStatus(row["status"])}) for row in rows]


def dead_letter_payload(*, session: Session, letter_id: int) -> tuple[DeadLetter, dict[str, Any]]:
    """Return a waiting dead letter and its payload, for a replay."""
    row = (
        session.execute(select(dead_letters).where(dead_letters.c.id == letter_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no dead letter {letter_id}")
    if row["status"] != DeadLetterStatus.DEAD.value:
        raise ConflictError(
            f"dead letter {letter_id} is {row['status']}: only waiting ones are replayed",
            code="already_resolved",
        )
    letter = DeadLetter(
        **{
            **{key: row[key] for key in DeadLetter.__dataclass_fields__},
            "status": DeadLetterStatus(row["status"]),
        }
    )
    return letter, dict(row["payload"] or {})


def resolve_dead_letter(
    *,
    session: Session,
    letter_id: int,
    status: DeadLetterStatus,
    now: datetime,
    error: str | None = None,
) -> None:
    """Mark a dead letter replayed or discarded; a failed replay keeps it waiting, counted."""
    if status is DeadLetterStatus.DEAD:
        session.execute(
            update(dead_letters)
            .where(dead_letters.c.id == letter_id)
            .values(
                attempts=dead_letters.c.attempts + 1,
                last_attempt_at=now,
                error=(error or "")[:_ERROR_LENGTH],
            )
        )
        return
    session.execute(
        update(dead_letters)
        .where(dead_letters.c.id == letter_id)
        .values(status=status.value, resolved_at=now, last_attempt_at=now)
    )


def dead_letter_counts(*, session: Session) -> dict[str, int]:
    """Return how many dead letters wait, per connector."""
    return {
        str(connector): int(count)
        for connector, count in session.execute(
            select(dead_letters.c.connector, func.count())
            .where(dead_letters.c.status == DeadLetterStatus.DEAD.value)
            .group_by(dead_letters.c.connector)
        )
    }


__all__ = [
    "DeadLetter",
    "SyncState",
    "add_dead_letter",
    "dead_letter_counts",
    "dead_letter_payload",
    "list_dead_letters",
    "load_checkpoint",
    "reset_checkpoint",
    "resolve_dead_letter",
    "save_breaker",
    "save_checkpoint",
    "sync_failed",
    "sync_started",
    "sync_states",
]
