"""Shopify's webhooks, received: signature checked, de-duplicated, stored raw in the inbox.

The receiver does as little as it can so that Shopify gets its answer well
within its five seconds: it checks ``X-Shopify-Hmac-Sha256`` (base64 of the
HMAC-SHA256 of the raw body under the app's client secret) in constant time,
reads the headers it needs, parses the body once to refuse malformed JSON,
and stores the delivery in one short transaction (``store_delivery``). A
delivery already stored (Shopify sends again what it thinks was lost) is
recognised by ``X-Shopify-Webhook-Id`` and stored once. Processing is the
processor's (``connectors.shopify.processing``), woken by the commit on
PostgreSQL.

A refused signature stores nothing: the only trace is a line on the
``amigo.security`` logger, without the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from amigo.connectors.shopify.mapping import shopify_id
from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.core.config import ShopifySettings
from amigo.core.db import table_of
from amigo.core.errors import AmigoError
from amigo.core.sql import JsonText
from amigo.quality.dates import parse_timestamp

security_log = logging.getLogger("amigo.security")
inbox = table_of(ShopifyWebhook)
INBOX_CHANNEL = "amigo_shopify_inbox"  # PostgreSQL NOTIFY channel: a delivery was stored

HMAC_HEADER = "x-shopify-hmac-sha256"
TOPIC_HEADER = "x-shopify-topic"
SHOP_HEADER = "x-shopify-shop-domain"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"
TRIGGERED_AT_HEADER = "x-shopify-triggered-at"
EVENT_ID_HEADER = "x-shopify-event-id"
API_VERSION_HEADER = "x-shopify-api-version"
# Header -> longest value stored (the inbox's column widths).
_REQUIRED = {TOPIC_HEADER: 100, SHOP_HEADER: 255, WEBHOOK_ID_HEADER: 100}
_OPTIONAL = {EVENT_ID_HEADER: 100, API_VERSION_HEADER: 20, TRIGGERED_AT_HEADER: 40}
_LOGGED = 100  # characters of a header value a refusal's log line shows


class WebhookNotConfiguredError(AmigoError):
    """No app secret is configured: no signature can be checked, so nothing is accepted."""

    code = "not_configured"
    http_status = 503


class InvalidSignatureError(AmigoError):
    """X-Shopify-Hmac-Sha256 is missing or is not the body's HMAC under the app secret."""

    code = "invalid_signature"
    http_status = 401


class ShopNotAllowedError(AmigoError):
    """A correctly signed delivery from a shop outside AMIGO_SHOPIFY_SHOP_DOMAINS."""

    code = "shop_not_allowed"
    http_status = 403


class WebhookTooLargeError(AmigoError):
    """A body over AMIGO_SHOPIFY_MAX_BODY_BYTES."""

    code = "payload_too_large"
    http_status = 413


class WebhookInputError(AmigoError):
    """A signed delivery that cannot be used as sent: a header missing or bad, malformed JSON."""

    code = "invalid_input"
    http_status = 400


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery whose signature and headers were checked."""

    topic: str
    webhook_id: str
    shop_domain: str
    api_version: str | None
    event_id: str | None
    triggered_at: datetime | None
    body: bytes
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredDelivery:
    """Where a delivery is in the inbox, and whether this request stored it."""

    id: int
    duplicate: bool


# Set when this process stored a delivery: its own processor wakes at once (SQLite, where
# no NOTIFY reaches it; on PostgreSQL it listens to INBOX_CHANNEL).
_stored_here = threading.Event()


def delivery_stored() -> None:
    """Tell this process's processor that a delivery was committed to the inbox."""
    _stored_here.set()


def wait_for_delivery(seconds: float) -> None:
    """Return when this process stored a delivery, or after ``seconds``."""
    if _stored_here.wait(seconds):
        _stored_here.clear()


def signature_of(secret: str, body: bytes) -> str:
    """Return what Shopify sends as X-Shopify-Hmac-Sha256 for this body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(secret: str, body: bytes, given: str | None) -> bool:
    """Tell whether the header is the body's signature, comparing in constant time."""
    if not given:
        return False
    try:
        candidate = given.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(signature_of(secret, body).encode("ascii"), candidate)


def _shown(value: str | None) -> str:
    return repr((value or "")[:_LOGGED])


def _refuse(reason: str, headers: Mapping[str, str], body: bytes, peer: str | None) -> None:
    """Write the one line a refused delivery leaves: who, what it claimed, never its body."""
    security_log.warning(
        "shopify webhook refused: %s (peer %s, shop %s, topic %s, webhook id %s, %d bytes)",
        reason,
        peer or "unknown",
        _shown(headers.get(SHOP_HEADER)),
        _shown(headers.get(TOPIC_HEADER)),
        _shown(headers.get(WEBHOOK_ID_HEADER)),
        len(body),
    )


def check_size(settings: ShopifySettings, size: int) -> None:
    """Refuse a body over the limit (413) before it is read whole."""
    if size > settings.max_body_bytes:
        raise WebhookTooLargeError(
            f"the body is larger than {settings.max_body_bytes} bytes",
            details={"limit_bytes": settings.max_body_bytes},
        )


def check_delivery(
    *, settings: ShopifySettings, headers: Mapping[str, str], body: bytes, peer: str | None = None
) -> Delivery:
    """Verify a delivery's signature, then its headers and JSON; return it ready to store."""
    if settings.api_secret is None:
        raise WebhookNotConfiguredError(
            "Shopify webhooks are not configured here: set AMIGO_SHOPIFY_API_SECRET"
        )
    check_size(settings, len(body))
    given = headers.get(HMAC_HEADER)
    if not signature_matches(settings.api_secret.get_secret_value(), body, given):
        reason = "no X-Shopify-Hmac-Sha256 header" if not given else "signature mismatch"
        _refuse(reason, headers, body, peer)
        raise InvalidSignatureError(
            f"{reason}: the body must be signed with the app's client secret "
            "(base64 HMAC-SHA256 of the raw body in X-Shopify-Hmac-Sha256)"
        )
    values: dict[str, str | None] = {}
    for name, limit in {**_REQUIRED, **_OPTIONAL}.items():
        value = (headers.get(name) or "").strip() or None
        if value is None and name in _REQUIRED:
            raise WebhookInputError(f"the {_title(name)} header is missing", code="missing_header")
        if value is not None and (len(value) > limit or not value.isprintable()):
            raise WebhookInputError(
                f"the {_title(name)} header is not a valid value (at most {limit} characters)",
                code="invalid_header",
            )
        values[name] = value
    shop = str(values[SHOP_HEADER]).lower()
    allowed = settings.allowed_shops()
    if allowed and shop not in allowed:
        _refuse("shop not allowed", headers, body, peer)
        raise ShopNotAllowedError(f"webhooks from {shop} are not accepted here")
    triggered_at = None
    if values[TRIGGERED_AT_HEADER] is not None:
        triggered_at = parse_timestamp(values[TRIGGERED_AT_HEADER], field="triggered_at").value
        if triggered_at is None:
            raise WebhookInputError(
                "the X-Shopify-Triggered-At header is not an ISO 8601 timestamp",
                code="invalid_header",
            )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise WebhookInputError(
            f"the body is not valid JSON: {error}", code="malformed_json"
        ) from None
    if not isinstance(payload, dict):
        raise WebhookInputError("the body must be a JSON object", code="malformed_json")
    return Delivery(
        topic=str(values[TOPIC_HEADER]).lower(),
        webhook_id=str(values[WEBHOOK_ID_HEADER]),
        shop_domain=shop,
        api_version=values[API_VERSION_HEADER],
        event_id=values[EVENT_ID_HEADER],
        triggered_at=triggered_at,
        body=body,
        payload=payload,
    )


def _title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-"))


def _about(topic: str, payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """Return what a delivery is about ("customer:123") and the Shopify customer it names."""
    family = topic.partition("/")[0]
    customer: Any = None
    if family in {"customers", "customers_marketing_consent"}:
        customer = payload.get("id")
        resource = "customer"
        if topic in {"customers/data_request", "customers/redact"}:
            named = payload.get("customer")
            customer = named.get("id") if isinstance(named, dict) else None
        key: Any = customer
    elif family == "customers_email_marketing_consent":
        customer = key = payload.get("customer_id")
        resource = "customer"
    elif family == "orders":
        named = payload.get("customer")
        customer = named.get("id") if isinstance(named, dict) else None
        resource, key = "order", payload.get("id")
    elif family == "refunds":
        resource, key = "order", payload.get("order_id")
    elif family == "shop":
        resource, key = "shop", payload.get("shop_id")
    else:
        return None, None
    resource_id = shopify_id(key)
    customer_id = shopify_id(customer)
    return (
        f"{resource}:{resource_id}" if resource_id and len(resource_id) <= 80 else None,
        customer_id if customer_id and len(customer_id) <= 80 else None,
    )


def store_delivery(*, session: Session, delivery: Delivery, now: datetime) -> StoredDelivery:
    """Store a delivery unless its webhook id is stored already; one statement, then commit."""
    connection = session.connection()
    resource, customer = _about(delivery.topic, delivery.payload)
    values = {
        "webhook_id": delivery.webhook_id,
        "topic": delivery.topic,
        "shop_domain": delivery.shop_domain,
        "api_version": delivery.api_version,
        "event_id": delivery.event_id,
        "triggered_at": delivery.triggered_at,
        "received_at": now,
        # The raw bytes, sealed as they came (the JSON parsed above is valid UTF-8).
        "body": JsonText(delivery.body.decode("utf-8")),
        "body_hash": hashlib.sha256(delivery.body).hexdigest(),
        "body_bytes": len(delivery.body),
        "resource": resource,
        "customer_ref": customer,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
    }
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(
        inbox
    )
    stored = connection.execute(
        insert.values(values)
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(inbox.c.id)
    ).scalar()
    if stored is not None:
        if connection.dialect.name == "postgresql":
            # Delivered at commit: the processor wakes at once instead of at its next poll.
            connection.execute(text(f"NOTIFY {INBOX_CHANNEL}"))
        return StoredDelivery(int(stored), duplicate=False)
    existing = connection.scalar(
        select(inbox.c.id).where(inbox.c.webhook_id == delivery.webhook_id)
    )
    return StoredDelivery(int(existing or 0), duplicate=True)


__all__ = [
    "INBOX_CHANNEL",
    "Delivery",
    "InvalidSignatureError",
    "ShopNotAllowedError",
    "StoredDelivery",
    "WebhookInputError",
    "WebhookNotConfiguredError",
    "WebhookTooLargeError",
    "check_delivery",
    "check_size",
    "delivery_stored",
    "signature_matches",
    "signature_of",
    "store_delivery",
    "wait_for_delivery",
]
