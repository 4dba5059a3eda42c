"""The storage layer behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

import amigo.models  # noqa: F401 - registers every table
from amigo.core.db import Base, make_engine
from amigo.ingest.models import BatchStatus, LoadBatch


def test_migrations_create_exactly_the_models_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_timestamps_round_trip_as_aware_utc(session: Session) -> None:
    paris_summer = timezone(timedelta(hours=2))
    started = datetime(2026, 7, 14, 10, 30, tzinfo=paris_summer)
    session.add(LoadBatch(source_dir="x", status=BatchStatus.RUNNING, started_at=started))
    session.flush()
    session.expire_all()

    stored = session.scalars(select(LoadBatch.started_at)).one()

    assert stored == started
    assert stored.tzinfo == UTC
    assert stored.hour == 8


def test_naive_timestamps_are_refused(session: Session) -> None:
    session.add(
        LoadBatch(source_dir="x", status=BatchStatus.RUNNING, started_at=datetime(2026, 1, 1))  # noqa: DTZ001
    )
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    backend: str, fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite connections are files: nothing to ping")
    engine = make_engine(fresh_database_url)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)
    try:
        with engine.connect() as connection:
            first = connection.scalar(text("SELECT pg_backend_pid()"))
        with engine.connect() as connection:  # used a moment ago: no ping
            assert connection.scalar(text("SELECT pg_backend_pid()")) == first
        assert pings == []
        other = make_engine(fresh_database_url)
        with other.begin() as killer:  # the server ends the pooled connection
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        other.dispose()
        monkeypatch.setattr("amigo.core.db.PING_AFTER_IDLE_SECONDS", 0.0)
        with engine.connect() as connection:  # idle "long enough": pinged, found dead, replaced
            assert connection.scalar(text("SELECT pg_backend_pid()")) != first
        assert len(pings) >= 1
    finally:
        engine.dispose()
