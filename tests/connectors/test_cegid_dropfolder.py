"""`amigo connectors cegid watch`: Y2 exports dropped into a folder are loaded once whole, then archived."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from amigo.connectors import state
from amigo.connectors.cegid.dropfolder import KINDS, DropFolder, kind_from_header
from amigo.core.config import CegidSettings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.ingest.models import Reject, SourceRecord
from amigo.profiles.models import GoldenCustomer, Order, Store
from amigo.synth import generate

STAMP = "20261206_1800"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate one small set of Y2 exports (and the rest, unused) for the module."""
    out = tmp_path_factory.mktemp("y2") / "export"
    generate(customers=60, seed=11, out_dir=out)
    return out / "cegid"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Return an empty drop folder."""
    drop = tmp_path / "drop"
    drop.mkdir()
    return drop


@pytest.fixture
def repository(fresh_database_url: str, open_engine: Callable[[str], Engine]) -> Engine:
    """Return an engine on a new empty repository: the watcher commits."""
    return open_engine(fresh_database_url)


def _drop(folder: Path, name: str, data: bytes, *, age: float = 60.0) -> Path:
    """Write a file into the drop folder, last modified ``age`` seconds ago (settled)."""
    path = folder / name
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def _drop_set(
    folder: Path, export: Path, stamp: str = STAMP, kinds: tuple[str, ...] = KINDS
) -> None:
    for kind in kinds:
        _drop(folder, f"{kind}_{stamp}.csv", (export / f"{kind}.csv").read_bytes())


def _watcher(engine: Engine, folder: Path, **settings: Any) -> DropFolder:
    values: dict[str, Any] = {"drop_settle_seconds": 0.0}
    values.update(settings)
    return DropFolder(engine=engine, folder=folder, settings=CegidSettings(**values))


def _count(engine: Engine, model: type, *where: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _data_rows(data: bytes) -> int:
    return sum(1 for line in data.splitlines() if line.strip()) - 1


def _incoming(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def _archived(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "archive").rglob("*") if p.is_file())


def _claims(folder: Path) -> list[Path]:
    return [p for p in (folder / "processing").iterdir() if p.is_dir()]


def test_a_dropped_set_loads_in_dependency_order_and_is_archived(
    repository: Engine, folder: Path, export: Path
) -> None:
    # Dropped in the reverse order: payments first, stores last.
    for age, kind in enumerate(KINDS, 60):
        _drop(folder, f"{kind}_{STAMP}.csv", (export / f"{kind}.csv").read_bytes(), age=age)

    outcomes = _watcher(repository, folder).run_once()

    assert [o.kind for o in outcomes] == list(KINDS)
    assert all(o.status == "archived" for o in outcomes), [o.error for o in outcomes]
    by_kind = {o.kind: o for o in outcomes}
    for kind in KINDS:
        stats = by_kind[kind].stats
        assert stats is not None
        assert stats.read == _data_rows((export / f"{kind}.csv").read_bytes())
        assert stats.inserted + stats.rejected == stats.read, kind
    assert _incoming(folder) == []
    assert _claims(folder) == []
    day = outcomes[0].destination.parent
    assert day.relative_to(folder).parts[0] == "archive"
    assert len(day.relative_to(folder).parts) == 4
    assert _archived(folder) == sorted(f"{kind}_{STAMP}.csv" for kind in KINDS)
    # The repository holds them.
    assert _count(repository, Store) == by_kind["stores"].written
    assert _count(repository, Order) == by_kind["receipts"].written
    assert _count(repository, GoldenCustomer) == by_kind["customers"].written
    for kind, entity in (("customers", "customer"), ("receipt_lines", "order_line")):
        assert (
            _count(
                repository,
                SourceRecord,
                SourceRecord.entity == entity,
                SourceRecord.status == "processed",
            )
            == by_kind[kind].written
        )
    # The stream's state says what it did last, and how much in all.
    with unit_of_work(repository) as session:
        checkpoint = state.load_checkpoint(session=session, connector="cegid", stream="drop-folder")
        (stream,) = state.sync_states(session=session, connector="cegid")
    assert checkpoint is not None
    assert checkpoint["last_file"] == f"receipt_payments_{STAMP}.csv"
    assert checkpoint["archived_as"].startswith("archive/")
    assert stream.records_total == sum(o.written for o in outcomes)
    assert stream.errors_total == 0


def test_two_sets_load_one_after_the_other_and_undated_names_are_told_by_their_header(
    repository: Engine, folder: Path, export: Path
) -> None:
    _drop_set(folder, export, "20261207_1800", kinds=("stores",))
    _drop(folder, "export-A.csv", (export / "receipts.csv").read_bytes())  # header: receipts
    _drop_set(folder, export, "20261206_1800", kinds=("stores", "customers"))

    outcomes = _watcher(repository, folder).run_once()

    assert [(o.name, o.kind) for o in outcomes] == [
        ("export-A.csv", "receipts"),  # undated: first, as a set of its own
        ("stores_20261206_1800.csv", "stores"),
        ("customers_20261206_1800.csv", "customers"),
        ("stores_20261207_1800.csv", "stores"),
    ]
    assert outcomes[-1].stats is not None
    assert outcomes[-1].written == 0
    for kind in KINDS:  # every export of docs/formats.md is told by its header alone
        assert kind_from_header(export / f"{kind}.csv") == kind


def test_a_file_still_being_written_is_not_read_until_it_settles(
    repository: Engine, folder: Path, export: Path
) -> None:
    data = (export / "customers.csv").read_bytes()
    cut = len(data) // 2 + 7  # in the middle of a row
    watcher = _watcher(repository, folder, drop_settle_seconds=0.6)
    path = folder / "customers.csv"
    path.write_bytes(data[:cut])

    assert watcher.run_once() == []
    assert [d.waiting_for for d in watcher.waiting] == ["settling"]
    time.sleep(0.3)
    with path.open("ab") as handle:  # the second half, after a pause shorter than the settle time
        handle.write(data[cut:])
    assert watcher.run_once() == []
    assert _incoming(folder) == ["customers.csv"]
    assert _count(repository, SourceRecord) == 0
    time.sleep(0.8)
    (outcome,) = watcher.run_once()

    assert outcome.status == "archived"
    assert outcome.stats is not None
    assert outcome.stats.read == _data_rows(data)
    # No truncated row: every reject is a whole line of the complete file.
    lines = set(data.decode("utf-8").splitlines())
    with repository.connect() as connection:
        rejected = list(connection.scalars(select(Reject.raw_payload)))
    assert len(rejected) == outcome.stats.rejected
    assert all(raw in lines for raw in rejected)


def test_a_temporary_name_or_a_missing_marker_keeps_a_file_waiting(
    repository: Engine, folder: Path, export: Path
) -> None:
    data = (export / "stores.csv").read_bytes()
    for name in ("stores.csv.part", "stores.csv.tmp", ".stores.csv", "stores.csv~", "x.filepart"):
        _drop(folder, name, data)
    watcher = _watcher(repository, folder, drop_require_marker=True)
    _drop(folder, f"stores_{STAMP}.csv", data)

    assert watcher.run_once() == []
    assert [(d.path.name, d.waiting_for) for d in watcher.waiting] == [
        (f"stores_{STAMP}.csv", "marker")
    ]
    (folder / "stores.csv.part").rename(folder / "stores_renamed.csv")  # Y2 renames when done
    _drop(folder, f"stores_{STAMP}.ok", b"")
    outcomes = watcher.run_once()

    assert [o.name for o in outcomes] == [f"stores_{STAMP}.csv"]  # the renamed one has no marker
    assert not (folder / f"stores_{STAMP}.ok").exists()  # the marker goes with its file
    assert _count(repository, Store) == outcomes[0].written
    _drop(folder, "stores_renamed.csv.done", b"")
    (renamed,) = watcher.run_once()
    assert renamed.name == "stores_renamed.csv"
    assert renamed.written == 0
    assert sorted(_incoming(folder)) == sorted(
        ["stores.csv.tmp", ".stores.csv", "stores.csv~", "x.filepart"]
    )


def _changed_customers(data: bytes, count: int) -> tuple[bytes, list[str]]:
    """Return the customers export with a new city on ``count`` loadable rows, and their ids."""
    text_in = data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text_in), delimiter=";"))
    assert rows
    changed: list[str] = []
    for row in rows:
        if len(changed) == count:
            break
        if row["CustomerId"] and row["Email"] and "@" in row["Email"] and row["City"]:
            row["City"] = row["City"] + " Nord"
            changed.append(row["CustomerId"])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8"), changed


def test_a_changed_customers_file_dropped_again_updates_only_what_changed(
    repository: Engine, folder: Path, export: Path
) -> None:
    _drop_set(folder, export, kinds=("stores", "sales_associates", "customers"))
    first = _watcher(repository, folder).run_once()[-1]
    assert first.stats is not None
    versions = _count(repository, SourceRecord, SourceRecord.entity == "customer")

    changed, ids = _changed_customers((export / "customers.csv").read_bytes(), 3)
    _drop(folder, "customers_20261207_1800.csv", changed)
    (second,) = _watcher(repository, folder).run_once()

    assert second.stats is not None
    assert (second.stats.inserted, second.stats.updated) == (0, 3)
    assert second.stats.unchanged == first.stats.read - 3 - first.stats.rejected
    assert second.stats.rejected == first.stats.rejected  # rejected again, not duplicated
    assert _count(repository, SourceRecord, SourceRecord.entity == "customer") == versions + 3
    with repository.connect() as connection:
        newer = connection.scalars(
            select(SourceRecord.source_id)
            .where(SourceRecord.entity == "customer")
            .order_by(SourceRecord.id.desc())
            .limit(3)
        )
        assert sorted(newer) == sorted(ids)


def test_a_broken_file_goes_to_failed_with_its_reason_and_a_dead_letter(
    repository: Engine, folder: Path, export: Path
) -> None:
    customers = (export / "customers.csv").read_bytes()
    _drop(folder, "customers_20261206.csv", customers.replace(b"CustomerId", b"CustId", 1))
    _drop(folder, "products.csv", (export / "products.csv").read_text().encode("utf-16"))
    _drop(folder, "notes.csv", b"Name;Phone\r\nJeanne;0601020304\r\n")
    _drop_set(folder, export, kinds=("stores",))

    outcomes = _watcher(repository, folder).run_once()

    status = {o.name: o.status for o in outcomes}
    assert status == {
        "customers_20261206.csv": "failed",
        "products.csv": "failed",
        "notes.csv": "failed",
        f"stores_{STAMP}.csv": "archived",
    }
    assert _count(repository, Store) > 0  # the good file loaded all the same
    failed = folder / "failed"
    reasons = {
        name: (failed / f"{name}.error.txt").read_text(encoding="utf-8")
        for name in ("customers_20261206.csv", "products.csv", "notes.csv")
    }
    assert "missing required column(s) CustomerId" in reasons["customers_20261206.csv"]
    assert "UTF-16" in reasons["products.csv"]
    assert "unknown export" in reasons["notes.csv"]
    assert all((failed / name).exists() for name in reasons)
    assert "processing" not in reasons["customers_20261206.csv"]  # the name, not our staging path
    with unit_of_work(repository) as session:
        letters = state.list_dead_letters(session=session, connector="cegid")
        (stream,) = state.sync_states(session=session, connector="cegid")
    assert sorted((d.operation, d.target) for d in letters) == sorted(
        ("drop-file", name) for name in reasons
    )
    assert stream.errors_total == 3
    with repository.connect() as connection:
        payloads = list(
            connection.execute(text("SELECT payload FROM connector_dead_letter")).scalars()
        )
    assert not any("Jeanne" in str(payload) or "0601020304" in str(payload) for payload in payloads)


def test_the_same_name_dropped_twice_is_archived_under_two_names(
    repository: Engine, folder: Path, export: Path
) -> None:
    data = (export / "stores.csv").read_bytes()
    _drop(folder, "stores.csv", data)
    (first,) = _watcher(repository, folder).run_once()
    _drop(folder, "stores.csv", data)
    (second,) = _watcher(repository, folder).run_once()

    assert first.destination != second.destination
    assert _archived(folder) == ["stores-2.csv", "stores.csv"]
    assert first.destination.read_bytes() == second.destination.read_bytes() == data
    assert second.stats is not None
    assert second.stats.unchanged == second.stats.read


def test_a_missing_folder_is_a_clear_error(repository: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        _watcher(repository, tmp_path / "nowhere")


def _amigo(*args: str, database_url: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "amigo.cli", "connectors", "cegid", *args],
        env={**os.environ, "AMIGO_DATABASE_URL": database_url, "COLUMNS": "250", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def bigger_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate an export with enough customers for a load to be killed half-way."""
    out = tmp_path_factory.mktemp("y2-bigger") / "export"
    generate(customers=250, seed=5, out_dir=out)
    return out / "cegid"


def test_a_watcher_killed_mid_file_finishes_it_on_restart_with_nothing_twice(
    bigger_export: Path,
    folder: Path,
    make_database_url: Callable[[], str],
    open_engine: Callable[[str], Engine],
    tmp_path: Path,
) -> None:
    killed_url, reference_url = make_database_url(), make_database_url()
    killed = open_engine(killed_url)
    _drop_set(folder, bigger_export, kinds=("stores", "customers"))
    process = _amigo(
        "watch", str(folder), "--settle", "0", database_url=killed_url, AMIGO_LOAD_BATCH_SIZE="3"
    )
    deadline = time.monotonic() + 120
    progressed = 0
    while time.monotonic() < deadline and process.poll() is None and not progressed:
        with killed.connect() as connection:
            progressed = connection.scalar(
                text(
                    "SELECT count(*) FROM load_checkpoint "
                    "WHERE file_key LIKE 'cegid/customers.csv%' AND rows_done > 0"
                )
            )
        time.sleep(0.02)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGKILL)
    process.communicate()
    (claim,) = _claims(folder)
    assert (claim / "cegid" / "customers.csv").exists()  # taken, not finished

    (resumed,) = _watcher(killed, folder).run_once()  # the restarted watcher

    assert resumed.name == f"customers_{STAMP}.csv"
    assert resumed.resumed
    assert resumed.stats is not None
    assert resumed.stats.read == _data_rows((bigger_export / "customers.csv").read_bytes())
    assert _claims(folder) == []
    assert _archived(folder) == [f"customers_{STAMP}.csv", f"stores_{STAMP}.csv"]

    reference_folder = tmp_path / "reference"
    reference_folder.mkdir()
    _drop_set(reference_folder, bigger_export, kinds=("stores", "customers"))
    reference = open_engine(reference_url)
    _watcher(reference, reference_folder).run_once()
    for model in (SourceRecord, GoldenCustomer, Reject):
        assert _count(killed, model) == _count(reference, model), model


def test_the_cli_once_prints_a_line_per_file_and_fails_when_a_file_failed(
    folder: Path, export: Path, fresh_database_url: str
) -> None:
    _drop_set(folder, export, kinds=("stores", "products"))
    _drop(folder, "notes.csv", b"Name;Phone\r\nJeanne;0601020304\r\n")
    _drop(folder, "customers.csv.part", b"CustomerId;FirstName\r\n")

    run = _amigo("watch", str(folder), "--once", "--settle", "1", database_url=fresh_database_url)
    stdout, stderr = run.communicate(timeout=120)

    assert run.returncode == 1, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith(f"watching {folder.resolve()} once (settle 1 s, markers not")
    stores = _data_rows((export / "stores.csv").read_bytes())
    assert any(
        line.startswith(
            f"stores_{STAMP}.csv (stores): {stores} rows, {stores} written, "
            "0 unchanged, 0 rejected in "
        )
        and line.endswith(
            f"s -> archive/{time.strftime('%Y/%m/%d', time.gmtime())}/stores_{STAMP}.csv"
        )
        for line in lines
    ), stdout
    assert any(
        line.startswith("notes.csv: failed in ") and "-> failed/notes.csv: unknown export" in line
        for line in lines
    ), stdout
    assert lines[-1].startswith("2 files archived (")
    assert " 1 failed in " in lines[-1]

    missing = _amigo("watch", str(folder / "nowhere"), "--once", database_url=fresh_database_url)
    _, error = missing.communicate(timeout=60)
    assert missing.returncode == 2
    assert error.startswith(f"error: drop folder {folder / 'nowhere'} does not exist")


def test_sigterm_stops_the_watcher_after_the_current_file(
    bigger_export: Path, folder: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    _drop_set(folder, bigger_export, kinds=("customers", "receipts"))
    engine = open_engine(fresh_database_url)
    process = _amigo(
        "watch",
        str(folder),
        "--settle",
        "0",
        database_url=fresh_database_url,
        AMIGO_LOAD_BATCH_SIZE="10",
    )
    deadline = time.monotonic() + 60
    progressed = 0
    while time.monotonic() < deadline and process.poll() is None and not progressed:
        with engine.connect() as connection:
            progressed = connection.scalar(
                text("SELECT count(*) FROM load_checkpoint WHERE rows_done > 0")
            )
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert "stopping after the current file" in stderr
    lines = stdout.splitlines()
    assert lines[1].startswith(f"customers_{STAMP}.csv (customers): ")
    assert lines[-1].startswith("1 file archived (")
    assert _archived(folder) == [f"customers_{STAMP}.csv"]
    assert _incoming(folder) == [f"receipts_{STAMP}.csv"]  # not begun: left for the next run
    assert _claims(folder) == []


def test_two_watchers_on_one_folder_load_each_file_once(
    repository: Engine, folder: Path, export: Path
) -> None:
    _drop_set(folder, export, kinds=("stores", "sales_associates", "products"))
    watchers = [_watcher(repository, folder), _watcher(repository, folder)]
    outcomes: list[list[str]] = [[], []]

    def run(index: int) -> None:
        for _ in range(3):
            taken = watchers[index].run_once(wait_for_lock=False)
            outcomes[index] += [o.name for o in taken]

    threads = [threading.Thread(target=run, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes[0] + outcomes[1]) == sorted(
        f"{kind}_{STAMP}.csv" for kind in ("stores", "sales_associates", "products")
    )
    assert _archived(folder) == sorted(outcomes[0] + outcomes[1])
