"""`amigo identity evaluate`: the identity graph measured against the generator's truth."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from amigo.core.errors import FileFormatError
from amigo.identity.evaluation import evaluate, read_truth
from amigo.identity.models import IdentityLink
from amigo.ingest.models import SourceRecord
from amigo.ingest.service import load_directory
from amigo.synth import generate


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate a small export with cross-source duplicates and look-alikes."""
    out = tmp_path_factory.mktemp("identity") / "export"
    generate(customers=200, seed=11, out_dir=out)
    return out


@pytest.fixture
def loaded(
    export_dir: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> Engine:
    """Return an engine on a repository holding the export, unresolved."""
    engine = open_engine(fresh_database_url)
    load_directory(engine=engine, directory=export_dir, batch_size=500)
    return engine


def _records_by_person(engine: Engine, truth: dict[tuple[str, str], str]) -> list[list[str]]:
    """Return the linked source ids of each person with two or more records."""
    with engine.connect() as connection:
        linked = connection.execute(select(IdentityLink.source_system, IdentityLink.source_id))
        by_person: dict[str, list[str]] = defaultdict(list)
        for system, source_id in linked:
            if (str(system), source_id) in truth:
                by_person[truth[str(system), source_id]].append(source_id)
    return [ids for ids in by_person.values() if len(ids) > 1]


def _move(engine: Engine, source_id: str, onto: str) -> None:
    """Link a source record to the profile of another, as a merge would."""
    with engine.begin() as connection:
        target = connection.scalar(
            select(IdentityLink.customer_id).where(IdentityLink.source_id == onto)
        )
        connection.execute(
            update(IdentityLink)
            .where(IdentityLink.source_id == source_id)
            .values(customer_id=target)
        )


def test_an_unresolved_repository_predicts_no_pair_and_finds_none(
    loaded: Engine, export_dir: Path
) -> None:
    truth = read_truth(export_dir / "truth.csv")

    with loaded.connect() as connection:
        result = evaluate(connection, truth)
        customer_records = connection.scalar(
            select(func.count(func.distinct(SourceRecord.source_id))).where(
                SourceRecord.entity.in_(["customer", "submission"]),
                SourceRecord.status == "processed",
            )
        )

    assert result.records == customer_records
    assert result.truth_only == len(truth) - customer_records
    assert result.predicted_pairs == 0
    assert result.true_pairs > 0, "the generator plants duplicates"
    assert result.pairwise_precision == 1.0
    assert result.pairwise_recall == 0.0
    assert result.largest_profile == 1
    assert result.profiles == result.records
    assert result.persons < result.records


def test_a_right_merge_adds_a_correct_pair_and_a_wrong_one_costs_precision(
    loaded: Engine, export_dir: Path
) -> None:
    truth = read_truth(export_dir / "truth.csv")
    # People with exactly two records: moving one makes or breaks an exact cluster.
    duplicated = [ids for ids in _records_by_person(loaded, truth) if len(ids) == 2]
    first, second = duplicated[0]
    stranger = duplicated[1][0]

    _move(loaded, second, onto=first)
    with loaded.connect() as connection:
        right = evaluate(connection, truth)
    _move(loaded, stranger, onto=first)
    with loaded.connect() as connection:
        wrong = evaluate(connection, truth)

    assert (right.predicted_pairs, right.correct_pairs) == (1, 1)
    assert right.pairwise_precision == 1.0
    assert right.largest_profile == 2
    # Three records in one profile: three predicted pairs, one of them true.
    assert (wrong.predicted_pairs, wrong.correct_pairs) == (3, 1)
    assert wrong.pairwise_precision == pytest.approx(1 / 3)
    assert wrong.exact_clusters < right.exact_clusters


def test_a_file_that_is_not_a_truth_file_is_refused_with_its_missing_columns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([["first_name", "email"], ["Ana", "ana@example.org"]])

    with pytest.raises(FileFormatError, match="source, entity, source_id, person_id"):
        read_truth(path)


def _evaluate_command(truth: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AMIGO_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", "identity", "evaluate", "--truth", str(truth)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_prints_the_figures_and_refuses_a_missing_truth_file(
    loaded: Engine, export_dir: Path, tmp_path: Path
) -> None:
    database_url = loaded.url.render_as_string(False)

    ok = _evaluate_command(export_dir / "truth.csv", database_url)
    missing = _evaluate_command(tmp_path / "nowhere.csv", database_url)

    assert ok.returncode == 0, ok.stderr
    assert "pairs" in ok.stdout
    assert "100.00%" in ok.stdout  # precision: nothing merged yet
    assert missing.returncode == 2
    assert "nowhere.csv is not a file" in missing.stderr
    assert "Traceback" not in missing.stderr
