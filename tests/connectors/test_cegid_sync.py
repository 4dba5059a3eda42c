"""The Y2 web-services sync against the stand-in Y2, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from amigo.connectors.cegid.soap import CegidAuthError, CegidFaultError, Y2Client
from amigo.connectors.cegid.sync import CONNECTOR, run_sync
from amigo.connectors.models import BreakerState
from amigo.connectors.resilience import PeerUnavailableError, RetryPolicy
from amigo.connectors.state import load_checkpoint, sync_states
from amigo.consent.service import current_consents
from amigo.core.config import CegidSettings, Settings
from amigo.core.db import table_of, unit_of_work
from amigo.ingest.models import SourceRecord
from amigo.ingest.service import FileStats, export_file, prepare_payloads, write_batch
from amigo.profiles.models import GoldenCustomer, Order, OrderLine, Payment
from amigo.profiles.service import linked_profile
from connectors.cegid_standin import (
    DATABASE,
    PASSWORD,
    USER,
    WRONG_PASSWORD,
    Faults,
    StandinY2,
    Y2Data,
    add_stores,
    local,
    running,
    seed_data,
)

START = date(2025, 3, 1)
DAYS = 6
UNTIL = START + timedelta(days=DAYS - 1)


@pytest.fixture
def engine_with_stores(fresh_database_url: str, open_engine: Callable[[str], Engine]) -> Engine:
    """Return an engine on a new database holding the stand-in's three stores."""
    engine = open_engine(fresh_database_url)
    add_stores(engine)
    return engine


def settings_for(url: str, **changes: Any) -> Settings:
    """Return settings naming the stand-in."""
    cegid = CegidSettings(
        base_url=url,
        database_id=DATABASE,
        username=USER,
        password=SecretStr(PASSWORD),
        page_size=25,
        window_days=2,
        reconcile_hours=0,
        **changes,
    )
    return Settings(cegid=cegid)


def client_for(
    url: str, *, password: str = PASSWORD, attempts: int = 8, timeout: float = 0.5
) -> Y2Client:
    """Return a client that retries at once (no backoff sleeps in tests)."""
    return Y2Client(
        base_url=url,
        database_id=DATABASE,
        username=USER,
        password=password,
        timeout=timeout,
        policy=RetryPolicy(attempts=attempts, base_seconds=0.0, max_seconds=0.0),
        sleep=lambda _seconds: None,
    )


@pytest.fixture
def serve() -> Iterator[Callable[[StandinY2], str]]:
    """Start stand-ins on demand; stop them after the test."""
    stack: list[Any] = []

    def start(y2: StandinY2) -> str:
        manager = running(y2)
        stack.append(manager)
        return manager.__enter__()

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


def sync(engine: Engine, url: str, *, timeout: float = 0.5, **kwargs: Any) -> Any:
    """Run one sync of the test days against the stand-in at url."""
    kwargs.setdefault("since", START)
    kwargs.setdefault("until", UNTIL)
    with client_for(url, timeout=timeout) as client:
        return run_sync(engine, client=client, settings=settings_for(url), today=UNTIL, **kwargs)


def counts(engine: Engine) -> dict[str, int]:
    """Return how many orders, lines, payments, golden customers and records are stored."""
    with unit_of_work(engine) as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(table_of(model))) or 0)
            for name, model in (
                ("orders", Order),
                ("lines", OrderLine),
                ("payments", Payment),
                ("customers", GoldenCustomer),
                ("records", SourceRecord),
            )
        }


def named_customers(data: Y2Data) -> set[str]:
    """Return the customers the stand-in's receipts name."""
    return {d["Header"]["CustomerId"] for d in data.documents.values() if d["Header"]["CustomerId"]}


def test_a_sync_lands_what_y2_holds(engine_with_stores: Engine, serve: Any) -> None:
    data = seed_data(customers=240, receipts=300, start=START, days=DAYS)
    url = serve(StandinY2(data))
    report = sync(engine_with_stores, url)

    lines = sum(len(d["Lines"]) for d in data.documents.values())
    assert report.receipts == 300
    assert report.lines == lines
    assert report.payments == 300
    assert report.customers_fetched == len(named_customers(data))
    assert report.total.rejected == 0
    stored = counts(engine_with_stores)
    assert stored["orders"] == 300
    assert stored["lines"] == lines
    assert stored["payments"] == 300
    assert stored["customers"] == len(named_customers(data))

    customer_id = sorted(named_customers(data))[0]
    y2_customer = data.customers[customer_id]
    with unit_of_work(engine_with_stores) as session:
        profile = linked_profile(session.connection(), "cegid", customer_id)
        assert profile is not None
        golden = session.get(GoldenCustomer, profile.customer_id)
        assert golden is not None
        assert golden.email == y2_customer["EmailData"]["Email"]
        assert golden.preferred_store_id == y2_customer["UsualStoreId"]
        consents = current_consents(session=session, customer_id=profile.customer_id)
    expected = y2_customer["OptinEmail"] in ("BrandOnly", "ForPartners")
    assert consents["email_marketing"].allows_contact is expected

    stump, number = sorted(data.documents)[0]
    document = data.documents[stump, number]
    with unit_of_work(engine_with_stores) as session:
        order = session.scalars(
            select(Order).where(Order.source_order_id == f"{stump}-{number}")
        ).one()
        lines_stored = session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_number)
        ).all()
        payments = session.scalars(select(Payment).where(Payment.order_id == order.id)).all()
    assert order.total_cents == int(document["Header"]["TaxIncludedTotalAmount"] * 100)
    assert [line.sku for line in lines_stored] == [line["ItemCode"] for line in document["Lines"]]
    assert [p.amount_cents for p in payments] == [
        int(p["Amount"] * 100) for p in document["Payments"]
    ]
    with unit_of_work(engine_with_stores) as session:
        checkpoint = load_checkpoint(session=session, connector=CONNECTOR, stream="receipts")
    assert checkpoint == {"done_through": UNTIL.isoformat()}


def test_faults_change_nothing_in_the_end(engine_with_stores: Engine, serve: Any) -> None:
    data = seed_data(customers=60, receipts=80, start=START, days=DAYS)
    faulty_y2 = StandinY2(data, Faults(rate=0.15, slow_seconds=0.4))
    report = sync(engine_with_stores, serve(faulty_y2), timeout=0.2)
    assert sum(faulty_y2.calls.faults.values()) > 5
    assert report.retries >= sum(faulty_y2.calls.faults.values()) - 1
    assert report.breaker == "closed"
    stored = counts(engine_with_stores)
    assert stored["orders"] == 80
    assert stored["lines"] == sum(len(d["Lines"]) for d in data.documents.values())
    assert stored["customers"] == len(named_customers(data))

    # A fault-free run over the same Y2 finds every record as stored: the same end state.
    clean = sync(engine_with_stores, serve(StandinY2(data)))
    assert clean.total.inserted + clean.total.updated + clean.total.rejected == 0
    assert clean.total.unchanged == clean.total.read > 0
    assert counts(engine_with_stores) == stored


def test_a_sync_killed_mid_way_resumes_from_its_checkpoint(
    engine_with_stores: Engine, serve: Any
) -> None:
    data = seed_data(customers=50, receipts=120, start=START, days=DAYS)
    y2 = StandinY2(data)
    url = serve(y2)

    class KilledError(Exception):
        pass

    windows = 0

    class Killer:
        def stage(self, description: str, total: int | None) -> None:
            pass

        def advance(self, description: str) -> None:
            nonlocal windows
            windows += 1
            if windows == 2:
                raise KilledError

    with pytest.raises(KilledError):
        sync(engine_with_stores, url, progress=Killer())
    with unit_of_work(engine_with_stores) as session:
        checkpoint = load_checkpoint(session=session, connector=CONNECTOR, stream="receipts")
    assert checkpoint is not None
    assert checkpoint["window"] == (START + timedelta(days=4)).isoformat()
    before = len(y2.calls.documents)

    report = sync(engine_with_stores, url, since=None)
    assert report.first_day == START + timedelta(days=4)
    assert counts(engine_with_stores)["orders"] == 120
    # The resumed run read only the last window's documents.
    last_window = sum(
        1
        for d in data.documents.values()
        if d["Header"]["Date"].date() >= START + timedelta(days=4)
    )
    # Distinct documents: a call that timed out on a busy machine is asked again.
    assert len(set(y2.calls.documents[before:])) == last_window


def test_a_sync_cut_off_mid_page_resumes_at_that_page(
    engine_with_stores: Engine, serve: Any
) -> None:
    data = seed_data(customers=50, receipts=120, start=START, days=DAYS)
    y2 = StandinY2(data, Faults(down_after=60))
    url = serve(y2)
    with pytest.raises(PeerUnavailableError):
        sync(engine_with_stores, url)
    with unit_of_work(engine_with_stores) as session:
        checkpoint = load_checkpoint(session=session, connector=CONNECTOR, stream="receipts")
    assert checkpoint is not None
    assert checkpoint["page"] > 1  # pages of the first window were committed, not the cut one
    written = counts(engine_with_stores)["orders"]
    assert 0 < written < 120

    y2.faults.down_after = None
    before = len(y2.calls.documents)
    report = sync(engine_with_stores, url, since=None)
    assert counts(engine_with_stores)["orders"] == 120
    assert report.receipts == 120 - written  # nothing committed was read again
    # As many documents asked for as were left, and every order there in the end: none
    # written before the cut was asked again. Counted as distinct documents, since a call
    # that times out (0.5 s here, which a busy machine can take) is asked again.
    assert len(set(y2.calls.documents[before:])) == 120 - written


def test_changed_customers_are_picked_up_and_unchanged_ones_write_nothing(
    engine_with_stores: Engine, serve: Any
) -> None:
    data = seed_data(customers=40, receipts=60, start=START, days=DAYS)
    url = serve(StandinY2(data))
    sync(engine_with_stores, url, reconcile=True)
    stored = counts(engine_with_stores)

    again = sync(engine_with_stores, url, reconcile=True)
    assert again.total.inserted + again.total.updated == 0
    assert counts(engine_with_stores) == stored

    buyer = sorted(named_customers(data))[0]
    silent = sorted(set(data.customers) - named_customers(data))[0]
    later = local(2025, 3, 20, 12, 0)
    data.touch(buyer, later, Email="new.buyer@example.org")
    data.touch(silent, later, Email="new.silent@example.org")
    third = sync(engine_with_stores, url, reconcile=True)
    assert (
        third.files["cegid/customers.csv"].inserted + third.files["cegid/customers.csv"].updated
        == 2
    )
    with unit_of_work(engine_with_stores) as session:
        for customer_id, email in (
            (buyer, "new.buyer@example.org"),
            (silent, "new.silent@example.org"),
        ):
            profile = linked_profile(session.connection(), "cegid", customer_id)
            assert profile is not None
            golden = session.get(GoldenCustomer, profile.customer_id)
            assert golden is not None
            assert golden.email == email
    # The reconciliation compared everyone and fetched only the silent customer (the buyer
    # came with its receipts, whose customers each run fetches again).
    assert third.customers_checked == len(data.customers)
    assert third.customers_fetched == len(named_customers(data)) + 1


def test_bad_credentials_stop_with_a_clear_error_and_write_nothing(
    engine_with_stores: Engine, serve: Any
) -> None:
    data = seed_data(customers=10, receipts=10, start=START, days=DAYS)
    y2 = StandinY2(data)
    url = serve(y2)
    before = counts(engine_with_stores)
    with (
        client_for(url, password=WRONG_PASSWORD) as client,
        pytest.raises(CegidAuthError) as raised,
    ):
        run_sync(
            engine_with_stores, client=client, settings=settings_for(url), since=START, until=UNTIL
        )
    assert "refused the credentials" in str(raised.value)
    assert "AMIGO_CEGID_PASSWORD" in str(raised.value)
    assert WRONG_PASSWORD not in str(raised.value)
    assert y2.calls.unauthorized == 1  # not retried
    assert counts(engine_with_stores) == before


def test_a_dead_server_opens_the_breaker(engine_with_stores: Engine, serve: Any) -> None:
    data = seed_data(customers=5, receipts=5, start=START, days=DAYS)
    y2 = StandinY2(data, Faults(down=True))
    url = serve(y2)
    for _ in range(5):
        with client_for(url, attempts=2) as client, pytest.raises(PeerUnavailableError):
            run_sync(
                engine_with_stores,
                client=client,
                settings=settings_for(url),
                since=START,
                until=UNTIL,
            )
    with unit_of_work(engine_with_stores) as session:
        state = {s.stream: s for s in sync_states(session=session, connector=CONNECTOR)}["receipts"]
    assert state.breaker_state is BreakerState.OPEN
    calls = sum(y2.calls.faults.values())
    with client_for(url) as client, pytest.raises(PeerUnavailableError) as raised:
        run_sync(
            engine_with_stores, client=client, settings=settings_for(url), since=START, until=UNTIL
        )
    assert "circuit breaker is open" in str(raised.value)
    assert sum(y2.calls.faults.values()) == calls  # refused without calling Y2


def test_a_client_fault_is_not_retried(engine_with_stores: Engine, serve: Any) -> None:
    data = seed_data(customers=5, receipts=5, start=START, days=DAYS)
    y2 = StandinY2(data, Faults(client_fault_on="GetHeaderList"))
    url = serve(y2)
    with client_for(url) as client, pytest.raises(CegidFaultError) as raised:
        run_sync(
            engine_with_stores, client=client, settings=settings_for(url), since=START, until=UNTIL
        )
    assert "s:Client" in str(raised.value)
    assert y2.calls.operations["GetHeaderList"] == 1


def test_receipts_of_a_store_amigo_lacks_are_kept_and_applied_once_it_is_known(
    engine_with_stores: Engine, serve: Any
) -> None:
    data = seed_data(customers=10, receipts=12, start=START, days=DAYS)
    moved = sorted(data.documents)[:3]
    for key in moved:
        data.documents[key]["Header"]["StoreId"] = "NYC01"
    url = serve(StandinY2(data))
    first = sync(engine_with_stores, url)
    assert first.files["cegid/receipts.csv"].rejected == 3
    assert counts(engine_with_stores)["orders"] == 9
    with unit_of_work(engine_with_stores) as session:
        kept = session.scalars(
            select(SourceRecord.source_id).where(
                SourceRecord.entity == "order", SourceRecord.status == "rejected"
            )
        ).all()
    assert sorted(kept) == sorted(f"{stump}-{number}" for stump, number in moved)

    spec = export_file("cegid/stores.csv")
    with unit_of_work(engine_with_stores) as session:
        connection = session.connection()
        row = {"StoreId": "NYC01", "StoreName": "AMI NYC01", "RegionId": "AMERICAS",
               "TimeZoneId": "America/New_York", "CountryId": "USA"}  # fmt: skip
        raw, prepared = prepare_payloads(connection, spec=spec, payloads=[row])
        write_batch(connection, spec=spec, chunk=raw, prepared=prepared, stats=FileStats(spec.path))
    second = sync(engine_with_stores, url)
    assert second.files["cegid/receipts.csv"].inserted == 3
    stored = counts(engine_with_stores)
    assert stored["orders"] == 12
    # Their lines and payments, rejected with them (unknown_order), came in too.
    assert stored["lines"] == sum(len(d["Lines"]) for d in data.documents.values())
    assert stored["payments"] == 12
