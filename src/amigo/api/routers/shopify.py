"""Shopify's webhooks: ``POST /v1/connectors/shopify/webhooks``.

Thin: the body is read here, bounded, and handed with the headers to
``connectors.shopify.webhooks``, which checks the signature and stores the
delivery. No access token: Shopify signs each delivery with the app's
client secret instead.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from amigo.api.deps import EngineDep, SettingsDep
from amigo.api.errors import ErrorBody
from amigo.connectors.shopify.webhooks import (
    Delivery,
    StoredDelivery,
    WebhookNotConfiguredError,
    check_delivery,
    check_size,
    delivery_stored,
    store_delivery,
)
from amigo.core.clock import utcnow
from amigo.core.config import ShopifySettings
from amigo.core.db import unit_of_work


class WebhookAnswer(BaseModel):
    """The delivery's place in the inbox; a delivery Shopify sent again is a duplicate."""

    status: Literal["accepted", "duplicate"]
    delivery: int = Field(description="The delivery's id in the inbox")


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "schema": {"type": "string"}, "description": description}


router = APIRouter(prefix="/v1/connectors/shopify", tags=["connectors"])


async def _read_body(request: Request, settings: ShopifySettings) -> bytes:
    """Read the body, stopping as soon as it is over the limit (never held whole then)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        check_size(settings, int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        check_size(settings, size)
        chunks.append(chunk)
    return b"".join(chunks)


def _store(engine: Engine, delivery: Delivery) -> StoredDelivery:
    with unit_of_work(engine) as session:
        stored = store_delivery(session=session, delivery=delivery, now=utcnow())
    if not stored.duplicate:  # committed: this process's processor may take it now
        delivery_stored()
    return stored


@router.post(
    "/webhooks",
    summary="Receive a Shopify webhook (signed with the app's client secret)",
    response_model=WebhookAnswer,
    responses={
        400: _error("A required X-Shopify-* header missing or invalid, or malformed JSON"),
        401: _error("No X-Shopify-Hmac-Sha256, or not the body's HMAC under the app secret"),
        403: _error("A shop outside AMIGO_SHOPIFY_SHOP_DOMAINS"),
        413: _error("A body over AMIGO_SHOPIFY_MAX_BODY_BYTES"),
        503: _error("AMIGO_SHOPIFY_API_SECRET is not set"),
    },
    openapi_extra={
        "parameters": [
            _header("X-Shopify-Hmac-Sha256", "base64 HMAC-SHA256 of the raw body"),
            _header("X-Shopify-Topic", "customers/update, orders/paid... (required)"),
            _header("X-Shopify-Shop-Domain", "the shop (required)"),
            _header("X-Shopify-Webhook-Id", "unique per delivery: de-duplicates (required)"),
            _header("X-Shopify-Triggered-At", "when the change happened (ISO 8601)"),
            _header("X-Shopify-Event-Id", "shared by the deliveries of one merchant action"),
            _header("X-Shopify-API-Version", "the payload's API version"),
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
)
async def receive_webhook(
    request: Request, engine: EngineDep, settings: SettingsDep
) -> WebhookAnswer:
    """Check the signature, store the delivery once by its webhook id, answer at once.

    Processing happens after the answer (the inbox processor); a delivery sent
    again answers 200 with ``duplicate`` and stores nothing new.
    """
    shopify = settings.shopify
    if shopify.api_secret is None:  # before reading anything
        raise WebhookNotConfiguredError(
            "Shopify webhooks are not configured here: set AMIGO_SHOPIFY_API_SECRET"
        )
    body = await _read_body(request, shopify)
    delivery = check_delivery(
        settings=shopify,
        headers=request.headers,
        body=body,
        peer=request.client.host if request.client else None,
    )
    stored = await run_in_threadpool(_store, engine, delivery)
    return WebhookAnswer(status="duplicate" if stored.duplicate else "accepted", delivery=stored.id)
