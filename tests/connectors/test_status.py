"""`amigo connectors status`: each stream's last sync, lag, errors, backlog and breaker."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from amigo.connectors.models import BreakerState
from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.connectors.state import (
    add_dead_letter,
    save_breaker,
    save_checkpoint,
    sync_failed,
    sync_started,
)
from amigo.connectors.status import Health, connectors_status
from amigo.core.db import make_engine, unit_of_work

NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


def _delivery(number: int, status: DeliveryStatus, received: datetime) -> ShopifyWebhook:
    return ShopifyWebhook(
        webhook_id=f"status-test-{number}",
        topic="customers/update",
        shop_domain="amigo-test.myshopify.com",
        received_at=received,
        body=None,
        body_hash="0" * 64,
        body_bytes=100,
        status=status,
        attempts=0 if status is DeliveryStatus.PENDING else 8,
        next_attempt_at=received,
        processed_at=received + timedelta(seconds=1)
        if status is DeliveryStatus.PROCESSED
        else None,
        last_error="IntegrityError" if status is DeliveryStatus.DEAD else None,
    )


def test_a_repository_that_never_synced_lists_both_connectors_idle(session: Session) -> None:
    found = connectors_status(session=session, now=NOW)
    assert [(c.connector, c.health, c.dead_letters, c.streams) for c in found] == [
        ("shopify", Health.IDLE, 0, []),
        ("cegid", Health.IDLE, 0, []),
    ]


def test_streams_report_lag_errors_backlog_and_the_worst_health(session: Session) -> None:
    sync_started(session=session, connector="shopify", stream="customers", now=NOW)
    save_checkpoint(
        session=session,
        connector="shopify",
        stream="customers",
        checkpoint={"after": "cursor"},
        records=1200,
        now=NOW - timedelta(minutes=12),
    )
    for _ in range(3):
        sync_failed(
            session=session,
            connector="cegid",
            stream="receipts",
            error="GetHeaderList failed 6 times: HTTP 503",
            now=NOW - timedelta(minutes=1),
        )
    save_breaker(
        session=session, connector="cegid", stream="receipts", state=BreakerState.OPEN, now=NOW
    )
    add_dead_letter(
        session=session,
        connector="cegid",
        operation="drop-file",
        target="customers_20261206.csv",
        payload=None,
        error="not a Y2 export: no CustomerId column",
        attempts=1,
        now=NOW,
    )
    session.add_all(
        [
            _delivery(1, DeliveryStatus.PROCESSED, NOW - timedelta(hours=1)),
            _delivery(2, DeliveryStatus.DEAD, NOW - timedelta(minutes=50)),
            _delivery(3, DeliveryStatus.PENDING, NOW - timedelta(seconds=40)),
            _delivery(4, DeliveryStatus.PENDING, NOW - timedelta(seconds=5)),
        ]
    )
    session.flush()

    shopify, cegid = connectors_status(session=session, now=NOW)
    webhooks, customers = shopify.streams
    assert (webhooks.stream, webhooks.backlog, webhooks.dead) == ("webhooks", 2, 1)
    assert webhooks.lag_seconds == 40.0  # the oldest delivery still waiting
    assert webhooks.last_success_at == NOW - timedelta(hours=1) + timedelta(seconds=1)
    assert webhooks.health is Health.DEGRADED  # a dead delivery waits for an operator
    assert (customers.records_total, customers.lag_seconds) == (1200, 720.0)
    assert customers.health is Health.OK
    assert (shopify.health, shopify.dead_letters) == (Health.DEGRADED, 1)

    (receipts,) = cegid.streams
    assert (receipts.errors_total, receipts.consecutive_failures) == (3, 3)
    assert receipts.breaker_state is BreakerState.OPEN
    assert receipts.last_error == "GetHeaderList failed 6 times: HTTP 503"
    assert (cegid.health, cegid.dead_letters) == (Health.FAILING, 1)


def test_the_cli_prints_each_stream_and_the_last_error(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    try:
        with unit_of_work(engine) as session:
            save_checkpoint(
                session=session,
                connector="shopify",
                stream="orders",
                checkpoint=None,
                records=4321,
                now=datetime.now(UTC) - timedelta(minutes=3),
            )
            sync_failed(
                session=session,
                connector="cegid",
                stream="customers",
                error="cannot reach Y2: connection refused",
                now=datetime.now(UTC),
            )
    finally:
        engine.dispose()
    env = {**os.environ, "AMIGO_DATABASE_URL": fresh_database_url, "COLUMNS": "200"}
    shown = subprocess.run(
        [sys.executable, "-m", "amigo.cli", "connectors", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    orders = next(line for line in lines if "shopify/orders" in line)
    assert "ok" in orders
    assert "4,321" in orders
    assert "3 min" in orders
    customers = next(line for line in lines if "cegid/customers" in line)
    assert "degraded" in customers
    assert "1 (1 in a row)" in customers
    assert "last error cegid/customers: cannot reach Y2: connection refused" in shown.stdout
    assert "dead letters waiting: shopify 0, cegid 0" in shown.stdout
