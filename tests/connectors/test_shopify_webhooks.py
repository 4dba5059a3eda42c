"""POST /v1/connectors/shopify/webhooks over real HTTP: what is stored, what is refused, and why."""

from __future__ import annotations

import logging
import uuid

import httpx
import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from amigo.api.app import create_app
from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.connectors.shopify.webhooks import signature_matches
from amigo.core.config import Settings, ShopifySettings
from amigo.core.db import unit_of_work
from connectors.conftest import (
    SECRET,
    ShopifyApp,
    customer_body,
    new_id,
    sample,
    shopify_signature,
)
from live import served


def _stored(app: ShopifyApp, webhook_id: str) -> int:
    with unit_of_work(app.engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ShopifyWebhook)
                .where(ShopifyWebhook.webhook_id == webhook_id)
            )
            or 0
        )


def _inbox_size(app: ShopifyApp) -> int:
    with unit_of_work(app.engine) as session:
        return int(session.scalar(select(func.count()).select_from(ShopifyWebhook)) or 0)


def test_the_signature_is_shopifys_hmac_of_the_raw_bytes() -> None:
    body = orjson.dumps(sample("customers_create.2026-01.json"))
    good = shopify_signature(body)
    assert signature_matches(SECRET, body, good)
    assert signature_matches(SECRET, body, f"  {good} ")
    assert not signature_matches(SECRET, body + b" ", good)  # re-serialised: not the same bytes
    assert not signature_matches("another secret", body, good)
    assert not signature_matches(SECRET, body, None)
    assert not signature_matches(SECRET, body, "é" + good)


def test_a_signed_delivery_is_stored_sealed_and_answered_at_once(shopify_app: ShopifyApp) -> None:
    webhook_id = str(uuid.uuid4())
    body = sample("customers_create.2026-01.json")
    answer = shopify_app.send("customers/create", body, webhook_id=webhook_id)

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "accepted"
    assert answer.elapsed.total_seconds() < 1
    delivery = shopify_app.delivery(webhook_id)
    assert delivery.id == answer.json()["delivery"]
    assert delivery.topic == "customers/create"
    assert delivery.shop_domain == "amigo-test.myshopify.com"
    assert delivery.api_version == "2026-01"
    assert delivery.event_id is not None
    assert delivery.triggered_at is not None
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.resource == "customer:706405506930370084"
    assert delivery.customer_ref == "706405506930370084"
    assert delivery.body == body  # read back through the sealed column


def test_the_same_webhook_id_twice_is_stored_once(shopify_app: ShopifyApp) -> None:
    webhook_id = str(uuid.uuid4())
    body = customer_body(new_id(), email="twice@example.org")
    first = shopify_app.send("customers/update", body, webhook_id=webhook_id)
    again = shopify_app.send("customers/update", body, webhook_id=webhook_id)

    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "accepted"
    assert again.json() == {"status": "duplicate", "delivery": first.json()["delivery"]}
    assert _stored(shopify_app, webhook_id) == 1


def test_a_forged_or_missing_signature_answers_401_stores_nothing_and_logs_one_line(
    shopify_app: ShopifyApp, caplog: pytest.LogCaptureFixture
) -> None:
    before = _inbox_size(shopify_app)
    body = customer_body(new_id(), email="forged@example.org")
    caplog.set_level(logging.WARNING, logger="amigo.security")

    forged = shopify_app.send(
        "customers/create",
        body,
        secret="not the app secret",  # noqa: S106 - the forgery
    )
    tampered = shopify_app.send(
        "customers/create",
        body,
        signature=shopify_signature(orjson.dumps({**body, "email": "x@example.org"})),
    )
    missing = shopify_app.send("customers/create", body, omit=["X-Shopify-Hmac-Sha256"])
    garbage = shopify_app.send("customers/create", body, signature="not base64 at all")

    for answer in (forged, tampered, missing, garbage):
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "invalid_signature"
    assert "X-Shopify-Hmac-Sha256" in missing.json()["error"]["message"]
    assert _inbox_size(shopify_app) == before
    lines = [r.getMessage() for r in caplog.records if r.name == "amigo.security"]
    assert len(lines) == 4
    assert all(line.startswith("shopify webhook refused") for line in lines)
    assert "no X-Shopify-Hmac-Sha256 header" in lines[2]
    assert all("forged@example.org" not in line for line in lines)  # never the body


def test_bad_input_answers_4xx_with_the_reason_and_stores_nothing(shopify_app: ShopifyApp) -> None:
    before = _inbox_size(shopify_app)
    body = customer_body(new_id(), email="bad@example.org")

    malformed = shopify_app.send("customers/create", b'{"id": 1, "email": ')
    not_object = shopify_app.send("customers/create", b"[1, 2]")
    no_topic = shopify_app.send("customers/create", body, omit=["X-Shopify-Topic"])
    no_id = shopify_app.send("customers/create", body, omit=["X-Shopify-Webhook-Id"])
    bad_time = httpx.post(
        f"{shopify_app.url}/v1/connectors/shopify/webhooks",
        content=orjson.dumps(body),
        headers={
            "X-Shopify-Hmac-Sha256": shopify_signature(orjson.dumps(body)),
            "X-Shopify-Topic": "customers/create",
            "X-Shopify-Shop-Domain": "amigo-test.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": "yesterday",
        },
    )
    oversized = shopify_app.send("customers/create", b'{"note": "' + b"x" * 2_100_000 + b'"}')

    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "malformed_json")
    assert (not_object.status_code, not_object.json()["error"]["code"]) == (400, "malformed_json")
    assert (no_topic.status_code, no_topic.json()["error"]["code"]) == (400, "missing_header")
    assert "X-Shopify-Topic" in no_topic.json()["error"]["message"]
    assert (no_id.status_code, no_id.json()["error"]["code"]) == (400, "missing_header")
    assert (bad_time.status_code, bad_time.json()["error"]["code"]) == (400, "invalid_header")
    assert oversized.status_code == 413
    assert oversized.json()["error"] == {
        "code": "payload_too_large",
        "message": f"the body is larger than {2 * 1024 * 1024} bytes",
        "details": {"limit_bytes": 2 * 1024 * 1024},
    }
    assert _inbox_size(shopify_app) == before


def test_without_a_secret_the_route_answers_503_and_another_shop_403(
    shopify_app: ShopifyApp,
) -> None:
    body = orjson.dumps(customer_body(new_id(), email="shop@example.org"))
    headers = {
        "X-Shopify-Hmac-Sha256": shopify_signature(body),
        "X-Shopify-Topic": "customers/create",
        "X-Shopify-Shop-Domain": "elsewhere.myshopify.com",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }
    unconfigured = create_app(engine=shopify_app.engine, settings=Settings())
    allow_list = create_app(
        engine=shopify_app.engine,
        settings=Settings(
            shopify=ShopifySettings(
                api_secret=SecretStr(SECRET),
                shop_domains="amigo-test.myshopify.com, b.myshopify.com",
            )
        ),
    )
    with served(unconfigured) as first, served(allow_list) as second:
        not_configured = httpx.post(
            f"{first}/v1/connectors/shopify/webhooks", content=body, headers=headers
        )
        other_shop = httpx.post(
            f"{second}/v1/connectors/shopify/webhooks", content=body, headers=headers
        )

    assert not_configured.status_code == 503
    assert not_configured.json()["error"]["code"] == "not_configured"
    assert "AMIGO_SHOPIFY_API_SECRET" in not_configured.json()["error"]["message"]
    assert other_shop.status_code == 403
    assert other_shop.json()["error"]["code"] == "shop_not_allowed"
    assert _stored(shopify_app, headers["X-Shopify-Webhook-Id"]) == 0
