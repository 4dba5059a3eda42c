"""Retention on a real repository: who is past three years of silence, and anonymizing them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from amigo.consent.service import record_consent
from amigo.core.db import unit_of_work
from amigo.ingest.service import load_directory
from amigo.privacy.models import ErasureSuppression, ProcessingRestriction
from amigo.privacy.retention import anonymize_expired, find_expired
from amigo.profiles.models import GoldenCustomer, Order
from amigo.profiles.service import find_customers
from consent.exports import cegid_customer, write_export

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
LIST_KEY = "test-suppression-key"


def _customer(customer_id: str, created: str, modified: str) -> dict[str, str]:
    row = cegid_customer(customer_id, f"{customer_id.lower()}@example.org", modified)
    row.update(CreationDate=created, FirstName=f"P{customer_id[-3:]}")
    return row


def _receipts(directory: Path, sales: list[tuple[str, str]]) -> None:
    """Add Y2 receipts (customer id, dd/mm/yyyy date) and the store they were made in."""
    cegid = directory / "cegid"
    (cegid / "stores.csv").write_text(
        "StoreId;StoreName;AddressLine1;AddressLine2;ZipCode;City;CountryId;PhoneNumber;Email;"
        "OpeningHours;ManagerId;RegionId;TimeZoneId\r\n"
        "PAR01;AMI Paris;54 rue Saint-Honoré;;75001;Paris;FRA;;;;;EUROPE;Europe/Paris\r\n",
        "utf-8",
    )
    lines = ["Stump;Number;Type;Date;StoreId;CustomerId;SalesPersonId;CurrencyId;"
             "TaxIncludedTotalAmount;TotalQuantity;Status;Active"]  # fmt: skip
    lines += [
        f"PAR01C1;{n};Receipt;{day} 15:00:00;PAR01;{customer};;EUR;100,00;1;None;1"
        for n, (customer, day) in enumerate(sales, 1)
    ]
    (cegid / "receipts.csv").write_text("\r\n".join(lines) + "\r\n", "utf-8")


@pytest.fixture
def repository(
    tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> Engine:
    engine = open_engine(fresh_database_url)
    export = write_export(
        tmp_path / "export",
        cegid=[
            _customer("PAR01000001", "02/01/2019 10:00:00", "05/05/2020 10:00:00"),  # old prospect
            _customer(
                "PAR01000002", "02/01/2019 10:00:00", "02/01/2019 10:00:00"
            ),  # bought in 2020
            _customer(
                "PAR01000003", "02/01/2019 10:00:00", "02/01/2019 10:00:00"
            ),  # bought in 2025
            _customer("PAR01000004", "02/01/2025 10:00:00", "02/01/2025 10:00:00"),  # new prospect
            _customer(
                "PAR01000005", "02/01/2019 10:00:00", "02/01/2019 10:00:00"
            ),  # consented 2025
            _customer("PAR01000006", "02/01/2019 10:00:00", "02/01/2019 10:00:00"),  # restricted
        ],
    )
    _receipts(export, [("PAR01000002", "10/03/2020"), ("PAR01000003", "10/03/2025")])
    load_directory(engine=engine, directory=export)
    with unit_of_work(engine) as session:
        consented = _id(session, "PAR01000005")
        record_consent(session=session, customer_id=consented, purpose="email_marketing",
                       status="granted", channel="preference_center", actor="person",
                       now=datetime(2025, 6, 1, tzinfo=UTC))  # fmt: skip
        session.add(ProcessingRestriction(customer_id=_id(session, "PAR01000006"), since=NOW))
    return engine


def _id(session: object, cegid_id: str) -> int:
    [customer] = find_customers(session=session, reference=f"cegid:{cegid_id}")  # type: ignore[arg-type]
    return customer.id


def test_retention_lists_silent_prospects_and_customers_with_their_last_activity(
    repository: Engine,
) -> None:
    with unit_of_work(repository) as session:
        expired = {e.external_id: e for e in find_expired(session=session, now=NOW, years=3)}
        names = {c.external_id: c.first_name for c in session.scalars(select(GoldenCustomer))}

    found = {names[k]: (e.kind, e.because, e.last_activity) for k, e in expired.items()}
    assert set(found) == {"P001", "P002"}
    assert found["P001"][:2] == ("prospect", "record update")
    assert found["P002"][0] == "customer"
    assert found["P002"][2] is not None
    assert found["P002"][2].year == 2020
    with unit_of_work(repository) as session:
        assert {e.kind for e in find_expired(session=session, now=NOW, years=10)} == set()
        assert len(list(find_expired(session=session, now=NOW, years=1))) == 5  # all but P006


def test_applying_retention_anonymizes_them_keeps_orders_and_suppresses_nobody(
    repository: Engine,
) -> None:
    with unit_of_work(repository) as session:
        expired = list(find_expired(session=session, now=NOW, years=3))
    progress: list[int] = []

    done = anonymize_expired(
        session_factory=lambda: unit_of_work(repository), expired=expired,
        actor="process:retention", now=NOW, secret=LIST_KEY, on_progress=progress.append,
    )  # fmt: skip

    with unit_of_work(repository) as session:
        statuses = {
            c.first_name or c.external_id: c.status for c in session.scalars(select(GoldenCustomer))
        }
        orders = session.scalars(select(Order)).all()
        listed = session.scalars(select(ErasureSuppression)).all()
        again = list(find_expired(session=session, now=NOW, years=3))
    assert done == 2
    assert sum(progress) == 2
    assert sorted(s for s in statuses.values()) == ["active"] * 4 + ["erased"] * 2
    assert {"P003", "P004", "P005", "P006"} <= set(statuses)
    assert len(orders) == 2
    assert sum(o.customer_id is None for o in orders) == 1
    assert listed == []
    assert again == []
