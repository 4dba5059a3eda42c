"""`amigo load --resolve`: identities resolved before orders, interactions and consents attach."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from snapshot import snapshot
from sqlalchemy import Engine, func, inspect, select

from amigo.consent.service import rebuild_projection
from amigo.core.clock import utcnow
from amigo.core.db import make_engine, unit_of_work
from amigo.identity.models import MergeEvent
from amigo.identity.service import (
    INITIAL_LOAD_INDEXES,
    ResolveSummary,
    resolve_initial_load,
    resolve_repository,
)
from amigo.ingest.indexes import secondary_indexes, secondary_indexes_missing
from amigo.ingest.service import load_directory
from amigo.profiles.models import Order
from amigo.synth import generate
from identity.conftest import SETTINGS


@dataclass
class Resolved:
    """A repository loaded, then resolved: what a load resolving as it goes must end as."""

    engine: Engine
    url: str
    summary: ResolveSummary


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("resolving") / "export"
    generate(customers=300, seed=23, out_dir=out)
    return out


@pytest.fixture(scope="module")
def resolved(export_dir: Path, database_factory: Any) -> Iterator[Resolved]:
    url = database_factory.new_url()
    engine = make_engine(url)
    load_directory(engine=engine, directory=export_dir, batch_size=500)
    with unit_of_work(engine) as session:
        summary = resolve_repository(session=session, settings=SETTINGS)
    yield Resolved(engine=engine, url=url, summary=summary)
    engine.dispose()


class _ResolveFirst:
    """The hook `amigo load --resolve` gives the load, noting what the resolution found."""

    def __init__(self, engine: Engine, *, then_fail: bool = False) -> None:
        self.engine = engine
        self.then_fail = then_fail
        self.summaries: list[ResolveSummary | None] = []
        self.orders_then: int | None = None
        self.indexes_then: set[str] = set()

    def __call__(self, load_started_at: datetime) -> None:
        inspector = inspect(self.engine)
        self.indexes_then = {
            str(index["name"])
            for table in inspector.get_table_names()
            for index in inspector.get_indexes(table)
        }
        with self.engine.connect() as connection:
            self.orders_then = connection.scalar(select(func.count()).select_from(Order))
        with unit_of_work(self.engine) as session:
            self.summaries.append(
                resolve_initial_load(
                    session=session, load_started_at=load_started_at, settings=SETTINGS
                )
            )
        if self.then_fail:
            raise _KilledError


class _KilledError(Exception):
    """The load's process dying right after the resolution committed."""


def test_an_initial_load_resolving_its_customers_first_ends_as_a_load_then_a_resolution(
    export_dir: Path,
    resolved: Resolved,
    make_database_url: Callable[[], str],
    open_engine: Callable[[str], Engine],
) -> None:
    engine = open_engine(make_database_url())
    resolve_first = _ResolveFirst(engine)

    report = load_directory(
        engine=engine,
        directory=export_dir,
        batch_size=500,
        before_attaching=resolve_first,
        before_attaching_indexes=INITIAL_LOAD_INDEXES,
    )

    (summary,) = resolve_first.summaries
    assert report.ran_before_attaching
    assert summary is not None
    # The resolution ran on the customers alone, with the one secondary index
    # it reads by: its moves maintained no other, and the orders still to come
    # load without theirs.
    assert resolve_first.orders_then == 0
    secondary = {str(index.name) for index in secondary_indexes()}
    assert resolve_first.indexes_then & secondary == set(INITIAL_LOAD_INDEXES)
    # The same people, merged the same way: profiles, links, orders, interactions,
    # raw consents, consent states and store ties alike...
    assert summary.outcome.merges == resolved.summary.outcome.merges
    assert snapshot(engine) == snapshot(resolved.engine)
    # ...and every index built by the load's end.
    assert not secondary_indexes_missing(engine)
    with unit_of_work(engine) as session:
        check = rebuild_projection(session=session, now=utcnow(), check_only=True)
        audited = session.scalar(select(func.count()).select_from(MergeEvent))
    assert check.differences == 0
    assert audited == summary.outcome.merges


def test_a_load_dying_after_its_resolution_resumes_without_resolving_again(
    export_dir: Path,
    resolved: Resolved,
    make_database_url: Callable[[], str],
    open_engine: Callable[[str], Engine],
) -> None:
    engine = open_engine(make_database_url())
    with pytest.raises(_KilledError):
        load_directory(
            engine=engine,
            directory=export_dir,
            batch_size=500,
            before_attaching=_ResolveFirst(engine, then_fail=True),
            before_attaching_indexes=INITIAL_LOAD_INDEXES,
        )
    resumed = _ResolveFirst(engine)

    report = load_directory(
        engine=engine,
        directory=export_dir,
        batch_size=500,
        before_attaching=resumed,
        before_attaching_indexes=INITIAL_LOAD_INDEXES,
    )

    assert report.resumed
    assert resumed.summaries == [None]  # nothing resolved twice
    assert snapshot(engine) == snapshot(resolved.engine)


def test_a_load_into_a_filled_repository_leaves_resolution_to_its_caller(
    export_dir: Path, resolved: Resolved, open_engine: Callable[[str], Engine]
) -> None:
    # The same export again: not an initial load, so the hook is not run.
    calls: list[Any] = []

    report = load_directory(
        engine=open_engine(resolved.url),
        directory=export_dir,
        batch_size=500,
        before_attaching=calls.append,
    )

    assert not report.ran_before_attaching
    assert calls == []
