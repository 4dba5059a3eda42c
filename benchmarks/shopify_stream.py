"""A stream of Shopify webhooks after a backfill: in order once, or shuffled with repeats.

The proof of issue 6 asks that a backfill with faults and "a stream of
webhooks delivered out of order and some twice" end in exactly the state of
a fault-free run. ``bench_shopify_backfill.py --webhooks N`` calls this
after each backfill: N deliveries made from the same generated shop (the
stand-in's seed), each signed with the app secret and POSTed to the real
receiver (``create_app`` served by Uvicorn on loopback), then processed by
the inbox processor until it is drained.

- ``customers/update``: a customer renamed, twice for some (two versions an
  hour apart, so that out of order the older arrives last and must lose);
- ``orders/updated``: an order paid or refunded later.

Disorder: the deliveries shuffled (seeded), a tenth sent again with the same
``X-Shopify-Webhook-Id`` (Shopify's retry) and a twentieth again under a new
id (a second delivery of the same change). The state compared is the
repository's, not its history: each Shopify customer's golden profile
values and consent states, the set of stored source records (by content),
and every order (``canonical_state``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import sys
import time
import uuid
from copy import deepcopy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr
from sqlalchemy import Engine, func, select, text

from amigo.api.app import create_app
from amigo.connectors.shopify.graphql_shape import customer_payload, order_payload
from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.connectors.shopify.processing import run_processor
from amigo.core.config import PrivacySettings, Settings, ShopifySettings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from connectors.shopify_standin import generate_shop  # noqa: E402 - the tests' stand-in shop
from live import served  # noqa: E402 - the tests' Uvicorn-on-loopback helper

SECRET = "shpss_bench_stream_0123456789abcdef"  # noqa: S105 - the benchmark's own app secret
SHOP_DOMAIN = "amigo-standin.myshopify.com"
Delivery = tuple[str, bytes, str]  # topic, body, webhook id


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_stream(customers: int, seed: int, count: int) -> list[Delivery]:
    """Return ``count`` deliveries changing the generated shop, in the order they happened."""
    shop = generate_shop(customers, seed=seed)
    rng = random.Random(seed * 7919)
    # Every change comes after the shop's own newest update, so it is newer than the backfill.
    newest = max(datetime.fromisoformat(n["updatedAt"]) for n in (*shop.customers, *shop.orders))
    start = newest + timedelta(days=1)
    identified = [c for c in shop.customers if c.get("firstName")]
    stream: list[tuple[datetime, str, dict[str, Any]]] = []
    for n in range(count // 2):
        node = deepcopy(rng.choice(identified))
        for version in range(1 + (n % 3 == 0)):  # a third of them changed twice
            at = start + timedelta(minutes=n, hours=version)
            node["firstName"] = f"{node['firstName'].split('-')[0]}-v{n}.{version}"
            node["updatedAt"] = _when(at)
            stream.append((at, "customers/update", customer_payload(deepcopy(node))))
    for n in range(count - len(stream)):
        order = deepcopy(rng.choice(shop.orders))
        at = start + timedelta(minutes=n, seconds=30)
        order["displayFinancialStatus"] = rng.choice(("PAID", "REFUNDED", "PARTIALLY_REFUNDED"))
        order["updatedAt"] = _when(at)
        stream.append((at, "orders/updated", order_payload(order, order["lineItems"])))
    stream.sort(key=lambda item: item[0])
    return [(topic, orjson.dumps(body), str(uuid.uuid4())) for _at, topic, body in stream]


def disorder(stream: list[Delivery], seed: int) -> list[Delivery]:
    """Return the stream shuffled, a tenth repeated as is and a twentieth under a new id."""
    rng = random.Random(seed)
    out = list(stream)
    out += rng.sample(stream, len(stream) // 10)
    out += [
        (topic, body, str(uuid.uuid4()))
        for topic, body, _id in rng.sample(stream, len(stream) // 20)
    ]
    rng.shuffle(out)
    return out


def deliver(engine: Engine, deliveries: list[Delivery], tmp: Path) -> dict[str, Any]:
    """POST each delivery signed to the receiver, then drain the inbox; return what it took."""
    settings = Settings(
        shopify=ShopifySettings(
            api_secret=SecretStr(SECRET),
            process_in_serve=False,
            backoff_seconds=0.001,
            backoff_max_seconds=0.01,
        ),
        privacy=PrivacySettings(
            export_dir=tmp / "privacy-exports",
            suppression_key=SecretStr("bench-suppression-key-0123456789abcdef"),
        ),
    )
    answers: dict[str, int] = {}
    started = time.perf_counter()
    with served(create_app(engine=engine, settings=settings)) as url, httpx.Client() as http:
        for topic, body, webhook_id in deliveries:
            signature = base64.b64encode(
                hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
            ).decode()
            answer = http.post(
                f"{url}/v1/connectors/shopify/webhooks",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Shopify-Topic": topic,
                    "X-Shopify-Hmac-Sha256": signature,
                    "X-Shopify-Shop-Domain": SHOP_DOMAIN,
                    "X-Shopify-API-Version": "2026-01",
                    "X-Shopify-Webhook-Id": webhook_id,
                },
            )
            answer.raise_for_status()
            status = str(answer.json()["status"])
            answers[status] = answers.get(status, 0) + 1
    received = time.perf_counter() - started
    processed = 0
    for _ in range(1000):
        stats = run_processor(engine, settings=settings, once=True)
        processed += stats.processed
        with engine.connect() as connection:
            waiting = connection.scalar(
                select(func.count())
                .select_from(ShopifyWebhook)
                .where(ShopifyWebhook.status.in_((DeliveryStatus.PENDING, DeliveryStatus.FAILED)))
            )
        if not waiting:
            break
        time.sleep(0.01)
    with engine.connect() as connection:
        dead = connection.scalar(
            select(func.count())
            .select_from(ShopifyWebhook)
            .where(ShopifyWebhook.status == DeliveryStatus.DEAD)
        )
    with engine.connect() as connection:
        renamed = connection.scalar(
            text("SELECT count(*) FROM golden_customer WHERE first_name LIKE '%-v%'")
        )
        stale = connection.scalar(
            text("SELECT count(*) FROM reject WHERE reason_code = 'stale_version'")
        )
    return {
        "renamed": int(renamed or 0),
        "stale": int(stale or 0),
        "sent": len(deliveries),
        "answers": answers,
        "processed": processed,
        "dead": int(dead or 0),
        "seconds": time.perf_counter() - started,
        "receive_seconds": received,
    }


def canonical_state(engine: Engine) -> str:
    """Return a digest of the repository's state: profiles, consents, records, orders."""
    digest = hashlib.sha256()
    queries = (
        # Each Shopify customer's profile, as its announced values.
        "SELECT l.source_id, g.first_name, g.last_name, g.email_index, g.status, g.tier "
        "FROM identity_link l JOIN golden_customer g ON g.id = l.customer_id "
        "WHERE l.source_system = 'shopify' ORDER BY l.source_id",
        "SELECT l.source_id, s.purpose, s.status FROM consent_state s "
        "JOIN identity_link l ON l.customer_id = s.customer_id "
        "WHERE l.source_system = 'shopify' ORDER BY l.source_id, s.purpose",
        # Every version received, once, whatever the order it came in.
        "SELECT DISTINCT entity, source_id, payload_hash FROM source_record "
        "ORDER BY entity, source_id, payload_hash",
        "SELECT o.source_order_id, o.total_cents, o.currency, o.status, l.source_id, "
        "(SELECT count(*) FROM order_line x WHERE x.order_id = o.id) "
        "FROM customer_order o LEFT JOIN identity_link l ON l.id = o.customer_link_id "
        "ORDER BY o.source_order_id",
    )
    with engine.connect() as connection:
        for query in queries:
            for row in connection.execute(text(query)):
                digest.update(repr(tuple(row)).encode())
            digest.update(b"|")
    return digest.hexdigest()
