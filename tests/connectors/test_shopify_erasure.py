"""A person who came through Shopify's webhooks is erased from what the webhooks left too."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from amigo.api.app import create_app
from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.core.clock import utcnow
from amigo.core.db import make_engine, unit_of_work
from amigo.ingest.models import RawConsent, SourceRecord
from amigo.privacy.models import SubjectRequest
from amigo.privacy.service import approve_request, execute_request, verify_identity
from amigo.profiles.service import find_customers
from connectors.conftest import (
    ShopifyApp,
    customer_body,
    new_id,
    order_body,
    raw_dump,
    sample,
    shopify_settings,
)
from live import served


def test_erasure_asked_by_customers_redact_blanks_the_webhooks_records_and_inbox(
    backend: str, fresh_database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url)
    settings = shopify_settings(tmp_path)
    customer_id = new_id()
    email, phone = f"erase.{customer_id}@example.org", "+33611223344"
    consent = sample("customers_email_marketing_consent_update.2026-01.json")
    consent.update(customer_id=customer_id, email_address=email)
    consent["email_marketing_consent"]["state"] = "subscribed"
    redact = {**sample("customers_redact.json"), "customer": {"email": email}}
    waiting = str(uuid.uuid4())
    try:
        with served(create_app(engine=engine, settings=settings)) as url:
            app = ShopifyApp(url, engine, settings, fresh_database_url)
            app.send("customers/create", customer_body(customer_id, email=email, phone=phone))
            app.send("customers_email_marketing_consent/update", consent)
            app.send("orders/create", order_body(new_id(), None, email=email))  # a guest order
            app.send("customers/redact", redact)
            app.process()
            # Not processed yet when the DPO executes: its body still holds the person.
            app.send(
                "customers/update",
                customer_body(customer_id, email=email, updated_at="2026-11-09T10:00:00Z"),
                webhook_id=waiting,
            )
        with unit_of_work(engine) as session:
            [profile] = find_customers(session=session, reference=email)
            request_id = _request_of(session, profile.id)
            verify_identity(
                session=session,
                request_id=request_id,
                actor="dpo",
                role="dpo",
                method="Shopify account",
                now=utcnow(),
            )
            approve_request(
                session=session,
                request_id=request_id,
                actor="dpo",
                role="dpo",
                now=utcnow(),
                settings=settings.privacy,
            )
            executed = execute_request(
                session=session,
                request_id=request_id,
                actor="dpo",
                role="dpo",
                now=utcnow(),
                settings=settings.privacy,
            )
            # The customer's deliveries, the consent's, the redaction's (by email), the waiting one.
            assert executed.result["shopify_webhooks_erased"] == 4
        with unit_of_work(engine) as session:
            deliveries = {
                d.topic: d
                for d in session.scalars(select(ShopifyWebhook).order_by(ShopifyWebhook.id))
            }
            erased = f"[erased: DSR-{request_id}]"
            for topic in ("customers/create", "customers_email_marketing_consent/update",
                          "customers/redact", "customers/update"):  # fmt: skip
                assert (deliveries[topic].body, deliveries[topic].outcome) == (None, erased)
                assert (deliveries[topic].customer_ref, deliveries[topic].resource) == (None, None)
            assert deliveries["customers/update"].status is DeliveryStatus.PENDING
            # The guest order's delivery named nobody once processed (its record is scrubbed).
            guest = deliveries["orders/create"]
            assert (guest.body, guest.customer_ref) == (None, None)
            assert str(guest.outcome).endswith("created (pending)")
            consent_records = session.scalars(
                select(SourceRecord).where(SourceRecord.entity == "consent")
            ).all()
            assert [r.payload for r in consent_records] == [{"erased": f"DSR-{request_id}"}]
            assert [r.source_id.startswith("erased:") for r in consent_records] == [True]
            [raw] = session.scalars(select(RawConsent)).all()
            assert raw.proof == {"erased": f"DSR-{request_id}"}
        # The waiting delivery has nothing left to process.
        app.process()
        assert app.delivery(waiting).status is DeliveryStatus.DEAD
        dump = raw_dump(backend, engine, fresh_database_url)
    finally:
        engine.dispose()
    assert email.encode() not in dump
    assert phone.encode() not in dump
    # Its Shopify id stays in one place by design: the customer.erased event, which tells
    # connected systems whom to erase on their side (article 19).
    assert dump.count(str(customer_id).encode()) == 1


def _request_of(session: Session, customer_id: int) -> int:
    return int(
        session.scalars(
            select(SubjectRequest.id).where(SubjectRequest.customer_id == customer_id)
        ).one()
    )
