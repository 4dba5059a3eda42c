"""`amigo load`: every record kept, idempotent, resumable, bad files refused whole."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from snapshot import snapshot
from sqlalchemy import Engine, func, select, text

from amigo.core.db import Base, make_engine
from amigo.core.errors import InvalidInputError
from amigo.identity.models import IdentityLink
from amigo.ingest.models import RawConsent, Reject, SourceRecord
from amigo.ingest.service import load_directory
from amigo.profiles.models import GoldenCustomer, Interaction, Order, OrderLine, Payment
from amigo.synth import generate

CUSTOMERS = 300


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate one small multi-source export shared by the module's tests."""
    out = tmp_path_factory.mktemp("export") / "demo"
    generate(customers=CUSTOMERS, seed=7, out_dir=out)
    return out


@pytest.fixture(scope="module")
def loaded(export_dir: Path, database_factory: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Return the repository any complete load of the export ends as, loaded once per backend."""
    engine = make_engine(database_factory.new_url())
    try:
        load_directory(engine=engine, directory=export_dir, batch_size=200)
        return snapshot(engine)
    finally:
        engine.dispose()


def _copy(export_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(export_dir, target)
    return target


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def _data_lines(path: Path) -> int:
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return lines - 1 if path.suffix == ".csv" else lines


def test_every_row_is_stored_raw_or_rejected_with_a_reason(
    export_dir: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)

    report = load_directory(engine=engine, directory=export_dir, batch_size=97)

    by_file = {s.file: s for s in report.files}
    for name in (
        "cegid/customers.csv",
        "shopify/customers.jsonl",
        "webforms/submissions.jsonl",
        "cegid/receipts.csv",
        "shopify/orders.jsonl",
        "webforms/interactions.jsonl",
    ):
        stats = by_file[name]
        assert stats.read == _data_lines(export_dir / name), name
        assert stats.read == stats.inserted + stats.updated + stats.unchanged + stats.rejected
    total = report.total
    assert total.rejected > 0, "the generator plants bad rows; the loader must reject them"
    with engine.connect() as connection:
        # A rejected row is still kept: as a source record (rejected) or as raw text.
        rejects = connection.execute(select(Reject.reason_code, Reject.raw_payload)).all()
        assert len(rejects) == total.rejected
        assert all(code and raw for code, raw in rejects)
        customers = connection.scalar(
            select(func.count()).where(
                SourceRecord.entity.in_(["customer", "submission"]),
                SourceRecord.status == "processed",
            )
        )
        # Before identity resolution each accepted customer record has its own profile.
        assert customers == _count(engine, GoldenCustomer) == _count(engine, IdentityLink)
        orphans = connection.scalar(
            select(func.count()).where(Order.customer_id.is_(None), Order.channel == "web")
        )
    assert _count(engine, Order) > CUSTOMERS
    assert _count(engine, OrderLine) >= _count(engine, Order) * 0.9
    assert _count(engine, Payment) > 0
    assert _count(engine, Interaction) > CUSTOMERS * 3
    assert _count(engine, RawConsent) > CUSTOMERS
    assert orphans is not None


def test_loading_sources_side_by_side_gives_the_same_database(
    export_dir: Path,
    loaded: dict[str, list[tuple[Any, ...]]],
    fresh_database_url: str,
    open_engine: Callable[[str], Engine],
) -> None:
    parallel = open_engine(fresh_database_url)

    load_directory(engine=parallel, directory=export_dir, batch_size=200, workers=2)

    assert snapshot(parallel) == loaded  # as loaded one file at a time


def test_an_initial_load_ends_with_every_index_of_the_schema(
    export_dir: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)

    load_directory(engine=engine, directory=export_dir)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_loading_the_same_directory_twice_changes_nothing(
    export_dir: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)
    load_directory(engine=engine, directory=export_dir, batch_size=500)
    before = snapshot(engine)

    again = load_directory(engine=engine, directory=export_dir, batch_size=500)

    assert again.total.inserted == 0
    assert again.total.updated == 0
    assert again.total.unchanged + again.total.rejected == again.total.read
    assert snapshot(engine) == before


def test_a_changed_source_record_updates_the_profile_and_keeps_the_old_version(
    export_dir: Path, tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    export = _copy(export_dir, tmp_path)
    engine = open_engine(fresh_database_url)
    load_directory(engine=engine, directory=export)
    path = export / "cegid" / "customers.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    target = next(r for r in rows if r["CustomerId"] and r["LastName"] and r["Email"])
    target["Email"] = "moved.on@example.org"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)

    report = load_directory(engine=engine, directory=export)

    stats = next(s for s in report.files if s.file == "cegid/customers.csv")
    assert stats.updated == 1
    assert stats.inserted == 0
    with engine.connect() as connection:
        customer = connection.execute(
            select(GoldenCustomer.email, GoldenCustomer.lineage)
            .join(IdentityLink, IdentityLink.customer_id == GoldenCustomer.id)
            .where(
                IdentityLink.source_system == "cegid",
                IdentityLink.source_id == target["CustomerId"],
            )
        ).one()
        versions = connection.scalar(
            select(func.count()).where(
                SourceRecord.source_system == "cegid",
                SourceRecord.source_id == target["CustomerId"],
            )
        )
    assert customer.email == "moved.on@example.org"
    assert customer.lineage["email"]["source_id"] == target["CustomerId"]
    assert versions == 2


@pytest.mark.parametrize("workers", [0, 2])
def test_a_record_twice_in_a_split_file_ends_with_its_later_version(
    export_dir: Path,
    tmp_path: Path,
    fresh_database_url: str,
    open_engine: Callable[[str], Engine],
    workers: int,
) -> None:
    # Customer files load as parts side by side: both versions of a record must
    # go to the same part and keep the file's order, or the earlier could win.
    export = _copy(export_dir, tmp_path)
    path = export / "cegid" / "customers.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    first = next(r for r in rows if r["CustomerId"] and r["LastName"] and r["Email"])
    later = {**first, "Email": "later.version@example.org"}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows([*rows, later])
    engine = open_engine(fresh_database_url)

    report = load_directory(engine=engine, directory=export, batch_size=40, workers=workers)

    stats = next(s for s in report.files if s.file == "cegid/customers.csv")
    assert stats.read == len(rows) + 1
    assert stats.updated == 1
    with engine.connect() as connection:
        email = connection.scalar(
            select(GoldenCustomer.email)
            .join(IdentityLink, IdentityLink.customer_id == GoldenCustomer.id)
            .where(
                IdentityLink.source_system == "cegid",
                IdentityLink.source_id == first["CustomerId"],
            )
        )
    assert email == "later.version@example.org"


def _amigo(*args: str, database_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AMIGO_DATABASE_URL": database_url}
    return subprocess.Popen(
        [sys.executable, "-m", "amigo.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize(
    "kill_after",
    [
        "cegid/customers.csv#2/2",  # in a file loading as two parts side by side
        "cegid/receipts.csv",  # mid-file, mid-phase 3
    ],
)
def test_a_load_killed_mid_way_resumes_to_the_same_database(
    export_dir: Path,
    loaded: dict[str, list[tuple[Any, ...]]],
    fresh_database_url: str,
    open_engine: Callable[[str], Engine],
    kill_after: str,
) -> None:
    killed_url = fresh_database_url
    killed = open_engine(killed_url)
    process = _amigo("load", str(export_dir), "--batch-size", "50", database_url=killed_url)
    deadline = time.monotonic() + 120
    # Kill it once a batch of that file is committed.
    while time.monotonic() < deadline and process.poll() is None:
        with killed.connect() as connection:
            progressed = connection.scalar(
                text("SELECT count(*) FROM load_checkpoint WHERE file_key = :key"),
                {"key": kill_after},
            )
        if progressed:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the load finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.stderr is not None
    process.stderr.close()
    with killed.connect() as connection:
        unfinished = connection.scalar(
            text("SELECT count(*) FROM load_batch WHERE status = 'running'")
        )
    assert unfinished == 1, "the killed load must have been cut short"

    resumed = _amigo("load", str(export_dir), "--batch-size", "50", database_url=killed_url)
    _, stderr = resumed.communicate(timeout=300)

    assert resumed.returncode == 0, stderr.decode()
    assert snapshot(killed) == loaded  # as an uninterrupted load


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("comma_delimiter", "looks ','-separated"),
        ("utf16", "UTF-16"),
        ("undecodable", "encoding"),
        ("missing_column", "CustomerId"),
        ("truncated_json", "truncated"),
        ("empty_file", "empty"),
    ],
)
def test_a_bad_file_is_refused_with_exit_code_2_and_nothing_written(
    export_dir: Path,
    tmp_path: Path,
    fresh_database_url: str,
    damage: str,
    expected: str,
    open_engine: Callable[[str], Engine],
) -> None:
    export = _copy(export_dir, tmp_path)
    customers = export / "cegid" / "customers.csv"
    text_ = customers.read_text(encoding="utf-8")
    if damage == "comma_delimiter":
        customers.write_text(text_.replace(";", ","), encoding="utf-8")
    elif damage == "utf16":
        customers.write_text(text_, encoding="utf-16")
    elif damage == "undecodable":
        customers.write_bytes(text_.encode("utf-8") + b"PAR01;\x81\x8d\x90;\n")
    elif damage == "missing_column":
        customers.write_text(text_.replace("CustomerId", "ClientCode", 1), encoding="utf-8")
    elif damage == "truncated_json":
        orders = export / "shopify" / "orders.jsonl"
        orders.write_bytes(orders.read_bytes()[:-40])
    elif damage == "empty_file":
        (export / "shopify" / "customers.jsonl").write_bytes(b"")

    result = subprocess.run(
        [sys.executable, "-m", "amigo.cli", "load", str(export)],
        env={**os.environ, "AMIGO_DATABASE_URL": fresh_database_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    message = result.stderr.strip()
    assert expected in message
    assert "Traceback" not in result.stderr
    assert _count(open_engine(fresh_database_url), SourceRecord) == 0


def test_a_bom_and_windows_1252_cegid_export_load_with_accents_intact(
    export_dir: Path, tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    export = _copy(export_dir, tmp_path)
    stores = export / "cegid" / "stores.csv"
    stores.write_bytes(b"\xef\xbb\xbf" + stores.read_bytes())
    customers = export / "cegid" / "customers.csv"
    rows = customers.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(";")
    new = dict.fromkeys(header, "")
    new.update(
        CustomerId="PAR01999999",
        FirstName="régis",
        LastName="HERVÉ",
        Email="regis.herve@example.fr",
        CountryId="FRA",
        UsualStoreId="",
        LastModificationDate="",
    )
    rows.append(";".join(new[h] for h in header))
    # Characters outside Windows-1252 cannot be re-encoded: keep only rows that can.
    kept = [r for r in rows if _cp1252_ok(r)]
    customers.write_bytes(("\r\n".join(kept) + "\r\n").encode("cp1252"))
    engine = open_engine(fresh_database_url)

    load_directory(engine=engine, directory=export)

    with engine.connect() as connection:
        name = connection.execute(
            select(GoldenCustomer.first_name, GoldenCustomer.last_name)
            .join(IdentityLink, IdentityLink.customer_id == GoldenCustomer.id)
            .where(IdentityLink.source_id == "PAR01999999")
        ).one()
        store_ids = connection.scalars(text("SELECT id FROM store")).all()
    assert tuple(name) == ("Régis", "Hervé")
    assert all(not s.startswith("\ufeff") for s in store_ids)


def _cp1252_ok(line: str) -> bool:
    try:
        line.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def test_an_order_for_an_unknown_customer_is_rejected_then_loads_once_the_customer_exists(
    export_dir: Path, tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    export = _copy(export_dir, tmp_path)
    (export / "shopify" / "customers.jsonl").write_text(
        json.dumps(
            {"id": 1, "email": "late@example.com", "first_name": "Late", "last_name": "Comer"}
        )
        + "\n",
        encoding="utf-8",
    )
    orders = export / "shopify" / "orders.jsonl"
    order = {
        "id": 999001,
        "name": "#999001",
        "email": "x@example.com",
        "created_at": "2025-03-01T10:00:00+01:00",
        "processed_at": "2025-03-01T10:00:00+01:00",
        "currency": "EUR",
        "total_price": "120.00",
        "financial_status": "paid",
        "customer": {"id": 2},
        "line_items": [],
        "payment_gateway_names": ["shopify_payments"],
    }
    orders.write_text(json.dumps(order) + "\n", encoding="utf-8")
    engine = open_engine(fresh_database_url)

    first = load_directory(engine=engine, directory=export)
    assert next(s for s in first.files if s.file == "shopify/orders.jsonl").rejected == 1
    with engine.connect() as connection:
        assert connection.scalar(
            select(Reject.reason_code).where(Reject.source_id == "999001")
        ) == ("unknown_customer")

    (export / "shopify" / "customers.jsonl").write_text(
        json.dumps(
            {"id": 2, "email": "second@example.com", "first_name": "Sec", "last_name": "Ond"}
        )
        + "\n",
        encoding="utf-8",
    )
    second = load_directory(engine=engine, directory=export)

    assert next(s for s in second.files if s.file == "shopify/orders.jsonl").inserted == 1
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(Reject.source_id == "999001")) == 0
        assert (
            connection.scalar(
                select(func.count()).where(
                    Order.source_order_id == "999001", Order.customer_id.isnot(None)
                )
            )
            == 1
        )


def test_a_missing_directory_is_a_clear_error(
    tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_directory(engine=open_engine(fresh_database_url), directory=tmp_path / "nope")
