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
from amigo.identity.service import ResolveSummary, resolve_initial_load, resolve_repository
from amigo.ingest.indexes import secondary_indexes
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
        self.indexes_then: dict[str, set[str]] = {}

    def __call__(self, load_started_at: datetime) -> None:
        inspector = inspect(self.engine)
        self.indexes_then = {
            table: {str(index["name"]) for index in inspector.get_indexes(table)}
            for table in ("identity_link", "customer_order")
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


def _names_of_indexes_on(table: str) -> set[str]:
    return {
        str(i.name) for i in secondary_indexes() if i.table is not None and i.table.name == table
    }


def test_an_initial_load_resolving_its_customers_first_ends_as_a_load_then_a_resolution(
    export_dir: Path,
    resolved: Resolved,
    make_database_url: Callable[[], str],
    open_engine: Callable[[str], Engine],
) -> None:
    engine = open_engine(make_database_url())
    resolve_first = _ResolveFirst(engine)

    report = load_directory(
        engine=engine, directory=export_dir, batch_size=500, before_attaching=resolve_first
    )

    (summary,) = resolve_first.summaries
    assert report.ran_before_attaching
    assert summary is not None
    # The resolution ran on the customers alone, with the indexes it reads by...
    assert resolve_first.orders_then == 0
    assert _names_of_indexes_on("identity_link") <= resolve_first.indexes_then["identity_link"]
    # ...while the orders still to come load without theirs.
    assert not _names_of_indexes_on("customer_order") & resolve_first.indexes_then["customer_order"]
    # The same people, merged the same way: profiles, links, orders, interactions,
    # raw consents, consent states and store ties alike, every index built.
    assert summary.outcome.merges == resolved.summary.outcome.merges
    assert snapshot(engine) == snapshot(resolved.engine)
    assert _names_of_indexes_on("customer_order") <= {
        str(index["name"]) for index in inspect(engine).get_indexes("customer_order")
    }
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
        )
    resumed = _ResolveFirst(engine)

    report = load_directory(
        engine=engine, directory=export_dir, batch_size=500, before_attaching=resumed
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
