"""A served app with Shopify webhooks configured, and deliveries signed the way Shopify signs them."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from amigo.api.app import create_app
from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.connectors.shopify.processing import ProcessorStats, run_processor
from amigo.core.config import PrivacySettings, Settings, ShopifySettings
from amigo.core.db import make_engine, unit_of_work
from amigo.events.models import OutboxEvent
from conftest import DatabaseFactory
from live import served

SECRET = "shpss_0123456789abcdef0123456789abcdef"  # noqa: S105 - the suite's own app secret
SHOP = "amigo-test.myshopify.com"
SAMPLES = Path(__file__).parent / "shopify_samples"


def sample(name: str) -> dict[str, Any]:
    """Return one of Shopify's published samples (a fresh copy)."""
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return data


def shopify_signature(body: bytes, secret: str = SECRET) -> str:
    """Sign as Shopify does: base64 of the HMAC-SHA256 of the raw body under the app secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def new_id() -> int:
    """Return a Shopify-like id (a 64-bit number) no other test uses."""
    return 6_000_000_000_000_000 + secrets.randbelow(10**15)


def customer_body(
    customer_id: int,
    *,
    email: str | None,
    updated_at: str = "2026-11-02T10:00:00+01:00",
    phone: str | None = None,
    first_name: str = "Bob",
    **extra: Any,
) -> dict[str, Any]:
    """Return Shopify's customers/create sample for another customer."""
    body = sample("customers_create.2026-01.json")
    body.update(
        id=customer_id,
        email=email,
        phone=phone,
        first_name=first_name,
        updated_at=updated_at,
        admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}",
        **extra,
    )
    body["default_address"]["customer_id"] = customer_id
    return body


def order_body(
    order_id: int,
    customer_id: int | None,
    *,
    updated_at: str = "2026-11-03T09:00:00+01:00",
    financial_status: str = "pending",
    email: str | None = None,
    cancelled_at: str | None = None,
    total: str = "129.90",
) -> dict[str, Any]:
    """Return an order body in the shape of the bulk export's rows (docs/formats.md)."""
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": "#1001",
        "email": email,
        "created_at": "2026-11-03T08:59:00+01:00",
        "processed_at": "2026-11-03T08:59:00+01:00",
        "updated_at": updated_at,
        "cancelled_at": cancelled_at,
        "currency": "EUR",
        "total_price": total,
        "subtotal_price": total,
        "total_discounts": "0.00",
        "financial_status": financial_status,
        "fulfillment_status": None,
        "customer": None if customer_id is None else {"id": customer_id, "email": email},
        "payment_gateway_names": ["shopify_payments"],
        "line_items": [
            {
                "id": order_id + 1,
                "sku": "AMI-SCARF-01",
                "title": "Ami de Coeur scarf",
                "quantity": 1,
                "price": total,
                "total_discount": "0.00",
            }
        ],
    }


@dataclass
class ShopifyApp:
    """A running app receiving Shopify webhooks, its database, and what was sent to it."""

    url: str
    engine: Engine
    settings: Settings
    database_url: str
    sent: list[bytes] = field(default_factory=list)

    def send(
        self,
        topic: str,
        body: dict[str, Any] | bytes,
        *,
        webhook_id: str | None = None,
        triggered_at: datetime | None = None,
        secret: str = SECRET,
        signature: str | None = None,
        omit: Sequence[str] = (),
        shop: str = SHOP,
    ) -> httpx.Response:
        """POST a delivery as Shopify does (headers of shopify_samples/webhook_headers)."""
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature or shopify_signature(raw, secret),
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2026-01",
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": (triggered_at or datetime.now(UTC)).isoformat(),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
        }
        for name in omit:
            headers.pop(name)
        self.sent.append(raw)
        return httpx.post(
            f"{self.url}/v1/connectors/shopify/webhooks", content=raw, headers=headers
        )

    def process(self, *, settle: bool = True) -> ProcessorStats:
        """Process every due delivery, as the background processor would.

        ``settle``: go on while deliveries wait for their next attempt (milliseconds
        here), until each is processed or dead; else one pass over what is due now.
        """
        total = ProcessorStats()
        for _ in range(100):
            stats = run_processor(self.engine, settings=self.settings, once=True)
            total.processed += stats.processed
            total.failed += stats.failed
            total.dead += stats.dead
            if not settle or not self._waiting():
                break
            time.sleep(0.005)
        return total

    def _waiting(self) -> bool:
        with unit_of_work(self.engine) as session:
            return bool(
                session.scalar(
                    select(func.count())
                    .select_from(ShopifyWebhook)
                    .where(ShopifyWebhook.status == DeliveryStatus.FAILED)
                )
            )

    def delivery(self, webhook_id: str) -> ShopifyWebhook:
        """Return a delivery by its webhook id."""
        with unit_of_work(self.engine) as session:
            return session.scalars(
                select(ShopifyWebhook).where(ShopifyWebhook.webhook_id == webhook_id)
            ).one()

    def events(self, event_type: str, subject: str | None = None) -> list[OutboxEvent]:
        """Return the outbox events of a type (and subject), oldest first."""
        query = select(OutboxEvent).where(OutboxEvent.type == event_type)
        if subject is not None:
            query = query.where(OutboxEvent.subject == subject)
        with unit_of_work(self.engine) as session:
            return list(session.scalars(query.order_by(OutboxEvent.id)))


def shopify_settings(tmp: Path, **overrides: Any) -> Settings:
    """Return settings with webhooks configured and retries that wait milliseconds."""
    values: dict[str, Any] = {
        "api_secret": SecretStr(SECRET),
        "attempts": 5,
        "backoff_seconds": 0.001,
        "backoff_max_seconds": 0.002,
    }
    values.update(overrides)
    return Settings(
        shopify=ShopifySettings(**values),
        privacy=PrivacySettings(
            export_dir=tmp / "privacy-exports",
            suppression_key=SecretStr("test-suppression-key-0123456789abcdef"),
        ),
    )


@pytest.fixture(scope="module")
def shopify_app(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ShopifyApp]:
    """Serve the app on an empty repository, Shopify webhooks configured."""
    url = database_factory.new_url()
    engine = make_engine(url)
    settings = shopify_settings(tmp_path_factory.mktemp("shopify"))
    try:
        with served(create_app(engine=engine, settings=settings)) as base:
            yield ShopifyApp(base, engine, settings, url)
    finally:
        engine.dispose()


def raw_dump(backend: str, engine: Engine, url: str) -> bytes:
    """Return every byte the database holds: the SQLite files, or pg_dump's output."""
    if backend == "sqlite":
        engine.dispose()
        database = Path(str(make_url(url).database))
        files = sorted(database.parent.glob(database.name + "*"))  # the -wal and -shm too
        return b"".join(path.read_bytes() for path in files)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(
        ["pg_dump", "--no-owner", "--dbname", libpq], check=True, capture_output=True, timeout=120
    ).stdout


def variant(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Return a deep copy of a body with top-level changes."""
    changed = copy.deepcopy(body)
    changed.update(changes)
    return changed
