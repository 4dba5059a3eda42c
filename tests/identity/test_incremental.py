"""Incremental resolution: a new record joins its person's profile without a batch run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from amigo.core.config import IdentitySettings
from amigo.core.db import make_engine, unit_of_work
from amigo.identity.models import MergeEvent, ResolutionRun, RunKind
from amigo.identity.service import (
    changed_links,
    resolve_after_load,
    resolve_new_records,
    resolve_repository,
)
from amigo.ingest.service import load_directory
from identity.conftest import SETTINGS, _submission, profile_of

NEWCOMERS = [
    # Quentin Bellamy again, from a new form: his e-mail and first name.
    _submission("wf-y-person", email="quentin.bellamy@free.fr", first_name="Quentin"),
    # Someone nobody has seen.
    _submission("wf-y-stranger", email="zoe.nouvelle@example.org", first_name="Zoé",
                last_name="Nouvelle", birth_date="1999-01-01"),
    # Hugo Vasseur's household e-mail with his mother's first name: her, not him.
    _submission("wf-y-mother", email="famille.vasseur@free.fr", first_name="Sylvie",
                last_name="Vasseur", phone="04 78 00 00 01"),
]  # fmt: skip


@pytest.fixture
def repository(export_dir: Path, database_factory: Any) -> Iterator[Engine]:
    """Return a loaded repository resolved once (so a model exists), changed by the test."""
    engine = make_engine(database_factory.new_url())
    load_directory(engine=engine, directory=export_dir, batch_size=500)
    with unit_of_work(engine) as session:
        resolve_repository(session=session, settings=SETTINGS)
    yield engine
    engine.dispose()


def _load_newcomers(engine: Engine, tmp_path: Path) -> datetime:
    """Load the newcomers as a second export; return when that load began."""
    folder = tmp_path / "next-export" / "webforms"
    folder.mkdir(parents=True)
    (folder / "submissions.jsonl").write_text("".join(f"{s}\n" for s in NEWCOMERS))
    report = load_directory(engine=engine, directory=folder.parent, batch_size=500)
    assert report.started_at is not None
    return report.started_at


def test_new_records_join_their_person_and_nobody_else(repository: Engine, tmp_path: Path) -> None:
    since = _load_newcomers(repository, tmp_path)

    with unit_of_work(repository) as session:
        after = resolve_after_load(session=session, since=since, settings=SETTINGS)

    assert after.changed == 3
    assert after.outcome is not None
    assert after.outcome.merges == 2
    assert profile_of(repository, "wf-y-person") == profile_of(repository, "wf-x-person-1")
    assert profile_of(repository, "wf-y-mother") == profile_of(repository, "wf-x-mother")
    assert profile_of(repository, "wf-y-mother") != profile_of(repository, "wf-x-son")
    stranger = profile_of(repository, "wf-y-stranger")
    with Session(repository) as session:
        assert (
            session.scalars(select(MergeEvent).where(MergeEvent.survivor_id == stranger)).all()
            == []
        )
        runs = session.scalars(select(ResolutionRun.kind)).all()
        assert runs[-1] == RunKind.INCREMENTAL


def test_a_batch_run_after_incremental_resolution_finds_nothing_more(
    repository: Engine, tmp_path: Path
) -> None:
    since = _load_newcomers(repository, tmp_path)
    with unit_of_work(repository) as session:
        resolve_after_load(session=session, since=since, settings=SETTINGS)
    with unit_of_work(repository) as session:
        batch = resolve_repository(session=session, settings=SETTINGS)

    assert batch.outcome.merges == 0


def test_one_record_is_resolved_with_a_bounded_number_of_queries(
    repository: Engine, tmp_path: Path
) -> None:
    since = _load_newcomers(repository, tmp_path)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    with unit_of_work(repository) as session:
        links = changed_links(session=session, since=since)
        event.listen(repository, "before_cursor_execute", count)
        try:
            outcome = resolve_new_records(session=session, link_ids=links[:1], settings=SETTINGS)
        finally:
            event.remove(repository, "before_cursor_execute", count)

    assert outcome is not None
    assert outcome.merges == 1
    # Reads: the record, its candidates, their profiles' records, the name's
    # frequency, decisions; writes: the merge (statements through SQLAlchemy),
    # then the survivor's consent projection (7: profiles, states, statements by
    # source and made to AMIgo, the profiles merged into it, the upsert, its event),
    # and whether anyone ever had a value corrected (rectifications outrank sources).
    assert len(statements) <= 48, statements


def test_without_a_model_nothing_is_resolved_and_the_caller_is_told(
    export_dir: Path, database_factory: Any
) -> None:
    engine = make_engine(database_factory.new_url())
    try:
        report = load_directory(engine=engine, directory=export_dir, batch_size=500)
        assert report.started_at is not None
        with unit_of_work(engine) as session:
            after = resolve_after_load(session=session, since=report.started_at)
            disabled = resolve_after_load(
                session=session,
                since=report.started_at,
                settings=IdentitySettings(incremental=False),
            )
    finally:
        engine.dispose()

    assert after.skipped == "no model"
    assert after.changed > 300
    assert disabled.skipped == "disabled"
