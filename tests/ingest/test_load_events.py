"""`amigo load` announces what it changed: summaries after an initial load, each change after."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from amigo.events.models import OutboxEvent
from amigo.ingest import service
from amigo.ingest.service import load_directory
from amigo.ingest.writers import golden_external_id
from amigo.profiles.models import GoldenCustomer, Order
from amigo.synth import generate

CUSTOMERS = 120
RECORD_EVENTS = ("customer.created", "customer.updated", "order.created", "order.updated")
NEW_CUSTOMER = "9100000000001"
NEW_ORDER = "9200000000001"
NEW_FIRST_NAME = "Zéphyrine"
NEW_EMAIL = "quentin.nouveau@example.org"


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate one small multi-source export shared by the module's tests."""
    out = tmp_path_factory.mktemp("export") / "demo"
    generate(customers=CUSTOMERS, seed=11, out_dir=out)
    return out


def _copy(export_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(export_dir, target)
    return target


def _events(engine: Engine, after_id: int = 0) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(OutboxEvent).where(OutboxEvent.id > after_id).order_by(OutboxEvent.id)
            )
        )


def _last_event_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.max(OutboxEvent.id))) or 0)


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def _read_cegid_customers(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _write_cegid_customers(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


def _append_json(path: Path, *objects: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for value in objects:
            handle.write(json.dumps(value) + "\n")


def _order(order_id: str, customer_id: str, *, total: str = "89.90") -> dict[str, Any]:
    return {
        "id": int(order_id),
        "name": f"#{order_id}",
        "created_at": "2026-11-20T10:00:00+01:00",
        "processed_at": "2026-11-20T10:00:00+01:00",
        "currency": "EUR",
        "total_price": total,
        "financial_status": "paid",
        "customer": {"id": int(customer_id)},
        "line_items": [],
        "payment_gateway_names": ["shopify_payments"],
    }


def test_an_initial_load_announces_one_summary_per_entity_and_no_record(
    export_dir: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)

    report = load_directory(engine=engine, directory=export_dir, batch_size=50)

    events = _events(engine)
    assert sorted(e.type for e in events) == [
        "consent.initialized",
        "customers.loaded",
        "orders.loaded",
    ]
    by_file = {s.file: s for s in report.files}
    customers = next(e for e in events if e.type == "customers.loaded")
    customer_files = (
        "cegid/customers.csv",
        "shopify/customers.jsonl",
        "webforms/submissions.jsonl",
    )
    assert customers.subject is None
    assert customers.data == {
        "cause": "load",
        "load": report.batch_id,
        "profiles": _count(engine, GoldenCustomer),
        "records": sum(by_file[f].inserted + by_file[f].updated for f in customer_files),
        "by_source": {
            f.split("/")[0]: by_file[f].inserted + by_file[f].updated for f in customer_files
        },
        "rejected": sum(by_file[f].rejected for f in customer_files),
    }
    orders = next(e for e in events if e.type == "orders.loaded")
    order_files = ("cegid/receipts.csv", "shopify/orders.jsonl")
    assert orders.data == {
        "cause": "load",
        "load": report.batch_id,
        "orders": _count(engine, Order),
        "records": sum(by_file[f].inserted + by_file[f].updated for f in order_files),
        "by_source": {
            f.split("/")[0]: by_file[f].inserted + by_file[f].updated for f in order_files
        },
        "rejected": sum(by_file[f].rejected for f in order_files),
    }
    assert customers.data["profiles"] > CUSTOMERS / 2
    assert orders.data["orders"] > CUSTOMERS / 2

    # The same export again: nothing changed, nothing announced.
    mark = _last_event_id(engine)
    load_directory(engine=engine, directory=export_dir, batch_size=50)
    assert _events(engine, mark) == []


def test_a_changed_export_announces_each_change_once_and_no_personal_value(
    export_dir: Path, tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    export = _copy(export_dir, tmp_path)
    engine = open_engine(fresh_database_url)
    first = {
        s.file: s for s in load_directory(engine=engine, directory=export, batch_size=50).files
    }
    mark = _last_event_id(engine)

    # A Cegid customer renamed, another only re-dated (no announced value changes).
    path = export / "cegid" / "customers.csv"
    rows = _read_cegid_customers(path)
    renamed, redated = [r for r in rows if r["CustomerId"] and r["LastName"] and r["Email"]][:2]
    renamed["FirstName"] = NEW_FIRST_NAME
    redated["LastModificationDate"] = "01/11/2026 09:00:00"
    _write_cegid_customers(path, rows)
    # A new Shopify customer with an order; a rejected customer and an order of nobody known.
    _append_json(
        export / "shopify" / "customers.jsonl",
        {"id": int(NEW_CUSTOMER), "email": NEW_EMAIL, "first_name": "Quentin", "last_name": "N"},
        {"id": 9100000000002, "email": "not-an-email@@", "first_name": None, "last_name": None},
    )
    orders_path = export / "shopify" / "orders.jsonl"
    _append_json(
        orders_path, _order(NEW_ORDER, NEW_CUSTOMER), _order("9200000000002", "9100000000999")
    )
    # A known order now refunded.
    with engine.connect() as connection:
        paid = connection.scalars(
            select(Order.source_order_id).where(
                Order.source_system == "shopify",
                Order.status == "paid",
                Order.customer_id.isnot(None),
            )
        ).first()
    assert paid is not None
    lines = orders_path.read_text(encoding="utf-8").splitlines()
    changed = [json.loads(line) for line in lines]
    for order in changed:
        if str(order["id"]) == paid:
            order["financial_status"] = "refunded"
    orders_path.write_text("".join(json.dumps(o) + "\n" for o in changed), encoding="utf-8")

    report = load_directory(engine=engine, directory=export, batch_size=50)

    by_file = {s.file: s for s in report.files}
    assert by_file["cegid/customers.csv"].updated == 2
    for name in ("shopify/customers.jsonl", "shopify/orders.jsonl"):
        assert by_file[name].inserted == 1
        assert by_file[name].rejected == first[name].rejected + 1  # the earlier ones again
    assert by_file["shopify/orders.jsonl"].updated == 1
    announced = _events(engine, mark)
    # A new profile's consents are announced too (consent.changed, the ledger's own events).
    assert {e.type for e in announced} - set(RECORD_EVENTS) <= {"consent.changed"}
    events = [e for e in announced if e.type in RECORD_EVENTS]
    renamed_id = golden_external_id("cegid", renamed["CustomerId"])
    new_profile = golden_external_id("shopify", NEW_CUSTOMER)
    with engine.connect() as connection:
        refunded = connection.execute(
            select(GoldenCustomer.external_id, Order.total_cents)
            .join(Order, Order.customer_id == GoldenCustomer.id)
            .where(Order.source_system == "shopify", Order.source_order_id == paid)
        ).one()
    load = {"cause": "load", "load": report.batch_id}
    assert [(e.type, e.subject, e.data) for e in events] == [
        (
            "customer.updated",
            renamed_id,
            {
                "customer": renamed_id,
                "fields": ["first_name"],
                "sources": [{"system": "cegid", "id": renamed["CustomerId"]}],
                **load,
            },
        ),
        (
            "customer.created",
            new_profile,
            {
                "customer": new_profile,
                "sources": [{"system": "shopify", "id": NEW_CUSTOMER}],
                **load,
            },
        ),
        (
            "order.updated",
            refunded.external_id,
            {
                "order": f"shopify:{paid}",
                "customer": refunded.external_id,
                "fields": ["status"],
                "status": "refunded",
                "previous_status": "paid",
                "total_cents": refunded.total_cents,
                **load,
            },
        ),
        (
            "order.created",
            new_profile,
            {
                "order": f"shopify:{NEW_ORDER}",
                "customer": new_profile,
                "channel": "web",
                "store": None,
                "ordered_at": "2026-11-20T09:00:00+00:00",
                "currency": "EUR",
                "total_cents": 8990,
                "status": "paid",
                **load,
            },
        ),
    ]
    published = orjson.dumps([e.data for e in events]).decode()
    for value in (NEW_FIRST_NAME, NEW_EMAIL, "Quentin", renamed["Email"], renamed["LastName"]):
        assert value not in published

    # The changed export again: every version stored already, nothing announced.
    mark = _last_event_id(engine)
    load_directory(engine=engine, directory=export, batch_size=50)
    assert _events(engine, mark) == []


def test_a_batch_that_fails_leaves_no_event_and_its_retry_announces_once(
    export_dir: Path,
    tmp_path: Path,
    fresh_database_url: str,
    open_engine: Callable[[str], Engine],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    export = _copy(export_dir, tmp_path)
    engine = open_engine(fresh_database_url)
    load_directory(engine=engine, directory=export, batch_size=50)
    mark = _last_event_id(engine)
    _append_json(
        export / "shopify" / "customers.jsonl",
        {"id": int(NEW_CUSTOMER), "email": NEW_EMAIL, "first_name": "Quentin", "last_name": "N"},
    )
    settle = service._Batch.settle
    new_profile = golden_external_id("shopify", NEW_CUSTOMER)
    written: list[str | None] = []

    def fail_after_writing(batch: Any, connection: Connection, work: list[Any], *args: Any) -> None:
        if batch.system == "shopify" and batch.entity == "customer" and work:
            # The writer has run: the profile and its event are there, in the transaction.
            written.extend(
                connection.scalars(
                    select(OutboxEvent.subject).where(
                        OutboxEvent.id > mark, OutboxEvent.type == "customer.created"
                    )
                )
            )
            raise RuntimeError("the database went away mid-batch")
        settle(batch, connection, work, *args)

    monkeypatch.setattr(service._Batch, "settle", fail_after_writing)
    with pytest.raises(RuntimeError, match="went away"):
        load_directory(engine=engine, directory=export, batch_size=50)

    assert written == [new_profile]
    assert _events(engine, mark) == []
    with engine.connect() as connection:
        assert (
            connection.scalar(select(func.count()).where(GoldenCustomer.external_id == new_profile))
            == 0
        )

    monkeypatch.undo()
    load_directory(engine=engine, directory=export, batch_size=50)  # resumes the load
    created = [e for e in _events(engine, mark) if e.type in RECORD_EVENTS]
    assert [(e.type, e.subject) for e in created] == [("customer.created", new_profile)]
