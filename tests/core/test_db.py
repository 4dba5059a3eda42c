"""The storage layer behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

import amigo.models  # noqa: F401 - registers every table
from amigo.core.db import Base
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
