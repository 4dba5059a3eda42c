"""What Shopify's webhooks told AMIgo is encrypted at rest: a raw dump holds none of their contacts."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson

from amigo.api.app import create_app
from amigo.connectors.shopify.models import DeliveryStatus
from amigo.core.db import make_engine
from connectors.conftest import (
    ShopifyApp,
    customer_body,
    order_body,
    raw_dump,
    sample,
    shopify_settings,
)
from live import served

# Where Shopify's bodies carry an email or a phone.
CONTACT_KEYS = {"email", "email_address", "contact_email", "phone"}


def _contacts(value: Any, found: set[str], key: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _contacts(v, found, str(k))
    elif isinstance(value, list):
        for item in value:
            _contacts(item, found, key)
    elif isinstance(value, str) and key in CONTACT_KEYS and len(value) >= 8:
        found.add(value)


def test_a_raw_dump_after_webhooks_holds_none_of_their_emails_or_phones(
    backend: str, fresh_database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url)
    settings = shopify_settings(tmp_path, attempts=1)
    rest_customer = sample("customer_rest_create_response.2023-01.json")["customer"]
    email_consent = sample("customers_email_marketing_consent_update.2026-01.json")
    email_consent["email_marketing_consent"]["state"] = "subscribed"
    sms_consent = sample("customers_marketing_consent_update.2026-01.json")
    sms_consent.update(id=rest_customer["id"], phone=rest_customer["phone"])
    sms_consent["sms_marketing_consent"]["state"] = "subscribed"
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("customers/create", sample("customers_create.2026-01.json")),
        ("customers/update", rest_customer),
        ("customers_email_marketing_consent/update", email_consent),
        ("customers_marketing_consent/update", sms_consent),
        ("orders/create", order_body(4501, 706405506930370084, email="bob@biller.com")),
        # A guest checkout, and an order whose customer never comes: it stays in the inbox.
        ("orders/create", order_body(4502, None, email="guest.buyer@example.net")),
        ("orders/create", order_body(4503, 42, email="waiting.buyer@example.net")),
        # Rejected: no usable email, phone, or name with postal code (kept with its reason).
        ("customers/create", customer_body(43, email="not-an-email@@example", last_name=None)),
        ("customers/data_request", sample("customers_data_request.json")),
        (
            "customers/redact",
            {
                **sample("customers_redact.json"),
                "customer": {
                    "id": 706405506930370084,
                    "email": "bob@biller.com",
                    "phone": "+15142546011",
                },
            },
        ),
    ]
    contacts: set[str] = set()
    try:
        with served(create_app(engine=engine, settings=settings)) as url:
            app = ShopifyApp(url, engine, settings, fresh_database_url)
            for topic, body in bodies:
                _contacts(body, contacts)
                answer = app.send(topic, body, webhook_id=str(uuid.uuid4()))
                assert answer.status_code == 200, answer.text
            app.process()
        with engine.connect() as connection:
            statuses = {
                str(status): int(count)
                for status, count in connection.exec_driver_sql(
                    "SELECT status, count(*) FROM shopify_webhook GROUP BY status"
                )
            }
        assert statuses == {DeliveryStatus.PROCESSED.value: 9, DeliveryStatus.DEAD.value: 1}
        assert {"bob@biller.com", "+15142546011", "john@example.com", "555-625-1199"} <= contacts

        dump = raw_dump(backend, engine, fresh_database_url)
    finally:
        engine.dispose()

    assert orjson.dumps(4501) in dump  # the dump is the repository's: its ids are there
    leaked = sorted(c for c in contacts if c.encode() in dump or c.lower().encode() in dump)
    assert leaked == []
    normalized = {"+15142546011", "bob@biller.com", "steve.lastnameson@example.com"}
    assert [c for c in normalized if c.encode() in dump] == []
