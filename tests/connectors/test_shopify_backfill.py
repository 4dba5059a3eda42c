"""The Shopify backfill against the stand-in Admin API, on SQLite and PostgreSQL.

Each test backfills a fresh database from a real HTTP server on loopback: the
end state is compared with what the stand-in shop holds, and with the state
a fault-free run leaves (a canonical dump of the source records and orders).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select, text

from amigo.connectors import state
from amigo.connectors.models import BreakerState
from amigo.connectors.resilience import PeerUnavailableError, RetryPolicy
from amigo.connectors.shopify.admin import AdminClient
from amigo.connectors.shopify.backfill import Backfill, BackfillReport
from amigo.consent.service import current_consents
from amigo.core.config import PrivacySettings, Settings, ShopifySettings
from amigo.core.db import make_engine, unit_of_work
from amigo.core.errors import NotAuthenticatedError
from amigo.core.migrate import upgrade
from amigo.events.models import OutboxEvent
from amigo.profiles.service import linked_profile
from conftest import DatabaseFactory
from connectors.shopify_standin import (
    SHOP,
    TOKEN,
    Bucket,
    Faults,
    Shop,
    StandIn,
    generate_shop,
    serving,
)
from keyfiles import this_process_key_files

FAST = RetryPolicy(attempts=4, base_seconds=0.002, max_seconds=0.01)


@pytest.fixture(scope="module")
def shop() -> Shop:
    """Return the stand-in's shop: 240 customers and their orders."""
    return generate_shop(240, seed=21)


def backfill_settings(tmp: Path, page_size: int = 250) -> Settings:
    """Return settings with a suppression key and the page size asked for."""
    return Settings(
        shopify=ShopifySettings(page_size=page_size),
        privacy=PrivacySettings(
            export_dir=tmp / "exports",
            suppression_key=SecretStr("test-suppression-key-0123456789abcdef"),
        ),
    )


def backfill(
    engine: Engine,
    stand_in: StandIn,
    settings: Settings,
    *,
    token: str = TOKEN,
    failure_threshold: int = 5,
    reset_seconds: float = 60.0,
    timeout_seconds: float = 0.25,
    **options: Any,
) -> BackfillReport:
    """Backfill the database from the stand-in with quick retries and a short timeout."""
    client = AdminClient(
        SHOP, token, "2026-01", base_url=stand_in.url, policy=FAST, timeout_seconds=timeout_seconds
    )
    with client:
        return Backfill(
            engine=engine,
            client=client,
            settings=settings,
            failure_threshold=failure_threshold,
            reset_seconds=reset_seconds,
        ).run(**options)


def canonical(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Return the source records and the orders (with their customer's Shopify id), sorted."""
    with engine.connect() as connection:
        records = [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT source_system, entity, source_id, payload_hash, status "
                    "FROM source_record ORDER BY entity, source_id, payload_hash"
                )
            )
        ]
        orders = [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT o.source_order_id, o.total_cents, o.currency, o.status, l.source_id, "
                    "(SELECT count(*) FROM order_line x WHERE x.order_id = o.id) "
                    "FROM customer_order o LEFT JOIN identity_link l ON l.id = o.customer_link_id "
                    "ORDER BY o.source_order_id"
                )
            )
        ]
    return records, orders


def count(engine: Engine, table: str, where: str = "") -> int:
    """Return how many rows a table holds (where the condition holds)."""
    with engine.connect() as connection:
        return int(connection.scalar(text(f"SELECT count(*) FROM {table} {where}")) or 0)  # noqa: S608


@pytest.fixture
def fresh(database_factory: DatabaseFactory) -> Iterator[Engine]:
    """Return an engine on a new migrated database."""
    engine = make_engine(database_factory.new_url())
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def reference(
    shop: Shop, database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Return the canonical dump of a fault-free backfill of the shop."""
    engine = make_engine(database_factory.new_url())
    try:
        with serving(shop, bucket=Bucket(100_000, 100_000)) as stand_in:
            backfill(engine, stand_in, backfill_settings(tmp_path_factory.mktemp("ref")))
        return canonical(engine)
    finally:
        engine.dispose()


def _node(shop: Shop, state_name: str) -> dict[str, Any]:
    return next(
        c
        for c in shop.customers
        if c["defaultEmailAddress"] and c["defaultEmailAddress"]["marketingState"] == state_name
    )


def test_a_backfill_lands_what_the_shop_holds_and_a_second_changes_nothing(
    shop: Shop, fresh: Engine, tmp_path: Path
) -> None:
    settings = backfill_settings(tmp_path)
    with serving(shop, bucket=Bucket(100_000, 100_000)) as stand_in:
        report = backfill(fresh, stand_in, settings)
        customers, orders = report.streams
        assert (customers.stats.read, customers.stats.inserted, customers.stats.rejected) == (
            240,
            240 - shop.rejected_customers,
            shop.rejected_customers,
        )
        assert (orders.stats.read, orders.stats.inserted) == (len(shop.orders), len(shop.orders))
        assert customers.pages == 1  # 249 customers a page
        assert orders.pages == -(-len(shop.orders) // 32)
        assert count(fresh, "golden_customer") == 240 - shop.rejected_customers
        assert count(fresh, "customer_order") == len(shop.orders)
        assert count(fresh, "source_record", "WHERE entity = 'customer'") == 240
        assert count(fresh, "reject") == shop.rejected_customers
        # Orders of more than five lines have the rest read apart: every line lands.
        assert any(len(order["lineItems"]) > 5 for order in shop.orders)
        assert count(fresh, "order_line") == sum(len(o["lineItems"]) for o in shop.orders)
        events = count(fresh, "event_outbox")

        subscribed, unsubscribed = _node(shop, "SUBSCRIBED"), _node(shop, "UNSUBSCRIBED")
        with unit_of_work(fresh) as session:
            for node, allowed in ((subscribed, True), (unsubscribed, False)):
                source_id = node["id"].rpartition("/")[2]
                profile = linked_profile(session.connection(), "shopify", source_id)
                assert profile is not None
                assert profile.values["email"] == node["defaultEmailAddress"]["emailAddress"]
                assert profile.values["last_name"] == node["lastName"]
                consent = current_consents(session=session, customer_id=profile.customer_id)
                assert consent["email_marketing"].allows_contact is allowed
            streams = {s.stream: s for s in state.sync_states(session=session)}
        assert streams["orders"].checkpoint is not None
        assert streams["orders"].checkpoint["done"] is True
        assert streams["customers"].records_total == 240
        assert streams["orders"].last_change_at is not None
        first = canonical(fresh)

        again = backfill(fresh, stand_in, settings)
    # The rejected customers are tried again (and rejected again); everything else is unchanged.
    assert [s.stats.unchanged for s in again.streams] == [
        240 - shop.rejected_customers,
        len(shop.orders),
    ]
    assert again.streams[0].stats.rejected == shop.rejected_customers
    assert sum(s.stats.inserted + s.stats.updated for s in again.streams) == 0
    assert canonical(fresh) == first
    assert count(fresh, "event_outbox") == events


def test_faults_on_a_fifth_of_calls_end_in_the_fault_free_state(
    shop: Shop,
    fresh: Engine,
    tmp_path: Path,
    reference: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
) -> None:
    faults = Faults.spread(0.2, seed=4, slow_seconds=0.4)
    with serving(shop, faults=faults, bucket=Bucket(100_000, 100_000)) as stand_in:
        report = backfill(fresh, stand_in, backfill_settings(tmp_path))
    assert sum(stand_in.fault_counts.values()) >= 3
    # Every injected fault was tried again; on a loaded machine a sound answer can also come
    # later than the 0.25 s timeout and be tried again (seen in CI with three workers).
    assert report.calls.retries >= sum(stand_in.fault_counts.values())
    records, orders = canonical(fresh)
    assert (records, orders) == reference
    assert len(orders) == len({order[0] for order in orders}) == len(shop.orders)


def test_an_interrupted_backfill_resumes_after_its_last_page(
    shop: Shop,
    fresh: Engine,
    tmp_path: Path,
    reference: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
) -> None:
    settings = backfill_settings(tmp_path, page_size=40)
    # Six customer pages, then Shopify goes away after the second page of orders.
    # Pages are counted exactly: a generous timeout, so that a page answered
    # late on a busy machine is not asked again (it went 9 == 8 in CI).
    with serving(shop, faults=Faults(die_after=8), bucket=Bucket(100_000, 100_000)) as stand_in:
        with pytest.raises(PeerUnavailableError) as raised:
            backfill(fresh, stand_in, settings, failure_threshold=2, timeout_seconds=5.0)
        assert raised.value.code == "circuit_open"
        first_run = list(stand_in.answered)
        assert len(first_run) == 8
        with unit_of_work(fresh) as session:
            saved = state.load_checkpoint(session=session, connector="shopify", stream="orders")
            orders_state = next(
                s for s in state.sync_states(session=session) if s.stream == "orders"
            )
        assert saved is not None
        assert saved["pages"] == 2
        assert orders_state.breaker_state is BreakerState.OPEN
        assert orders_state.last_error is not None
        assert "circuit breaker" in orders_state.last_error
        assert count(fresh, "customer_order") == 2 * 32  # 32 orders a page (1,000 points)

        stand_in.set_faults(Faults())  # Shopify is back
        report = backfill(fresh, stand_in, settings, reset_seconds=0.0, timeout_seconds=5.0)
    second_run = stand_in.answered[len(first_run) :]
    customers, orders = report.streams
    assert customers.resumed_pages == 6  # finished before the interruption: not read again
    assert customers.stats.inserted == 240 - shop.rejected_customers
    assert not [a for a in second_run if a.root == "customers"]
    assert orders.resumed_pages == 2
    orders_read = [a for a in second_run if a.root == "orders"]
    assert orders_read[0].after == saved["cursor"]
    read_twice = {(a.root, a.after) for a in first_run if a.root == "orders"} & {
        (a.root, a.after) for a in orders_read
    }
    assert not read_twice
    assert canonical(fresh) == reference


def test_a_refused_token_is_a_clear_error_and_nothing_is_written(
    shop: Shop, fresh: Engine, tmp_path: Path
) -> None:
    with serving(shop) as stand_in, pytest.raises(NotAuthenticatedError) as raised:
        backfill(fresh, stand_in, backfill_settings(tmp_path), token="shpat_wrong")  # noqa: S106
    assert "HTTP 401" in raised.value.message
    assert count(fresh, "source_record") == 0
    assert count(fresh, "golden_customer") == 0
    with unit_of_work(fresh) as session:
        customers = state.sync_states(session=session)[0]
    assert customers.checkpoint is None
    assert customers.errors_total == 1


def test_a_small_cost_bucket_slows_the_backfill_down_without_failing_it(
    shop: Shop, fresh: Engine, tmp_path: Path
) -> None:
    # Pages of 60 customers cost 242 points: the bucket holds one at a time.
    with serving(shop, bucket=Bucket(maximum=300, restore_rate=400)) as stand_in:
        report = backfill(
            fresh, stand_in, backfill_settings(tmp_path, page_size=60), streams=["customers"]
        )
    assert report.streams[0].stats.read == 240
    assert stand_in.throttled == 0
    assert report.calls.paced >= 2


def test_the_breaker_opens_on_a_dead_shop_and_refuses_the_next_run_at_once(
    shop: Shop, fresh: Engine, tmp_path: Path
) -> None:
    stand_in = StandIn(shop)
    stand_in.start()
    stand_in.stop()
    settings = backfill_settings(tmp_path)
    with pytest.raises(PeerUnavailableError) as raised:
        backfill(fresh, stand_in, settings, failure_threshold=2)
    assert "circuit breaker is open" in raised.value.message
    with unit_of_work(fresh) as session:
        customers = state.sync_states(session=session)[0]
    assert customers.breaker_state is BreakerState.OPEN
    with pytest.raises(PeerUnavailableError) as refused:
        backfill(fresh, stand_in, settings)
    assert "stays open" in refused.value.message
    assert count(fresh, "source_record") == 0


def test_since_reads_only_what_changed(shop: Shop, fresh: Engine, tmp_path: Path) -> None:
    since = datetime(2025, 6, 1, tzinfo=UTC)
    changed = [c for c in shop.customers if datetime.fromisoformat(c["updatedAt"]) >= since]
    assert 0 < len(changed) < len(shop.customers)
    with serving(shop, bucket=Bucket(100_000, 100_000)) as stand_in:
        report = backfill(
            fresh, stand_in, backfill_settings(tmp_path), streams=["customers"], since=since
        )
    assert report.streams[0].stats.read == len(changed)
    with unit_of_work(fresh) as session:
        events = session.scalar(select(func.count()).select_from(OutboxEvent))
    assert events


def _amigo(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", "connectors", "shopify", *args],
        env={**os.environ, "COLUMNS": "200", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_command_backfills_and_sums_up(shop: Shop, fresh: Engine, tmp_path: Path) -> None:
    env = {
        "AMIGO_DATABASE_URL": fresh.url.render_as_string(hide_password=False),
        **this_process_key_files(),  # the database was made by this process
    }
    refused = _amigo("backfill", "--shop", SHOP, env=env, cwd=tmp_path)
    assert refused.returncode == 2
    assert "AMIGO_SHOPIFY_ADMIN_ACCESS_TOKEN" in refused.stderr
    with serving(shop, bucket=Bucket(100_000, 100_000)) as stand_in:
        env |= {
            "AMIGO_SHOPIFY_ADMIN_URL": stand_in.url,
            "AMIGO_SHOPIFY_ADMIN_ACCESS_TOKEN": TOKEN,
            "AMIGO_SHOPIFY_SHOP_DOMAIN": SHOP,
        }
        done = _amigo("backfill", "--only", "customers", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Shopify backfill of {SHOP}" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("│ customers"))
    cells = [cell.strip() for cell in row.split("│")[2:8]]
    rejected = str(shop.rejected_customers)
    assert cells == ["1", "240", str(240 - shop.rejected_customers), "0", "0", rejected]
    assert "records/s" in done.stdout
    assert "run amigo identity resolve" in done.stdout
    assert TOKEN not in done.stdout + done.stderr
    assert count(fresh, "customer_order") == 0
