"""`amigo connectors shopify webhooks|replay|process`: the dead letters seen and replayed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from amigo.api.app import create_app
from amigo.connectors.shopify.models import DeliveryStatus
from amigo.core.db import make_engine
from connectors.conftest import ShopifyApp, customer_body, new_id, order_body, shopify_settings
from live import served


def _amigo(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", "connectors", "shopify", *args],
        env={**os.environ, "AMIGO_DATABASE_URL": database_url, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_dead_delivery_is_listed_replayed_and_processed(
    fresh_database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url)
    settings = shopify_settings(tmp_path, attempts=1)
    customer_id, order_id = new_id(), new_id()
    order_webhook, customer_webhook = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        with served(create_app(engine=engine, settings=settings)) as url:
            app = ShopifyApp(url, engine, settings, fresh_database_url)
            app.send("orders/create", order_body(order_id, customer_id), webhook_id=order_webhook)
            app.process()
            dead = app.delivery(order_webhook)
            assert dead.status is DeliveryStatus.DEAD
            app.send(
                "customers/create",
                customer_body(customer_id, email=f"cli.{customer_id}@example.org"),
                webhook_id=customer_webhook,
            )

            listed = _amigo("webhooks", "--failed", database_url=fresh_database_url)
            assert listed.returncode == 0, listed.stderr
            assert f"order:{order_id}" in listed.stdout
            assert "rejected (unknown_customer)" in listed.stdout
            assert "1 pending, 0 processed, 0 failed, 1 dead" in listed.stdout

            refused = _amigo("replay", "999999", database_url=fresh_database_url)
            assert refused.returncode == 2
            assert refused.stderr.strip() == "error: no Shopify webhook delivery 999999"

            replayed = _amigo("replay", str(dead.id), database_url=fresh_database_url)
            assert replayed.returncode == 0, replayed.stderr
            assert "1 deliveries due again" in replayed.stdout

            processed = _amigo("process", "--once", database_url=fresh_database_url)
            assert processed.returncode == 0, processed.stderr
            assert (
                f"{dead.id} orders/create: order {order_id}: created (pending)" in processed.stdout
            )
            assert "processed 2, failed 0 (to retry), dead 0" in processed.stdout
            assert app.delivery(order_webhook).status is DeliveryStatus.PROCESSED
    finally:
        engine.dispose()
