"""refunds/create webhooks: money given back becomes negative payments of the order, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from amigo.connectors.shopify import processing
from amigo.connectors.shopify.mapping import map_refund, webhook_envelope
from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.core.db import unit_of_work
from amigo.ingest.models import Reject, SourceRecord, ValidationIssueRecord
from amigo.ingest.prepare import mapping_context
from amigo.profiles.models import Order, Payment
from amigo.profiles.service import find_customers
from connectors.conftest import ShopifyApp, customer_body, new_id, order_body, variant

REFUNDED_AT = "2026-11-05T10:00:00+01:00"


def refund_transaction(
    order_id: int,
    *,
    amount: str = "49.90",
    status: str = "success",
    currency: str = "EUR",
    gateway: str = "shopify_payments",
) -> dict[str, Any]:
    """Return a transaction of a refund as Shopify's refund resource gives it."""
    transaction_id = new_id()
    return {
        "id": transaction_id,
        "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{transaction_id}",
        "order_id": order_id,
        "kind": "refund",
        "gateway": gateway,
        "status": status,
        "message": "Transaction approved" if status == "success" else "Card declined",
        "created_at": REFUNDED_AT,
        "test": False,
        "authorization": None,
        "location_id": None,
        "user_id": None,
        "parent_id": new_id(),
        "processed_at": REFUNDED_AT,
        "device_id": None,
        "error_code": None if status == "success" else "card_declined",
        "source_name": "1830279",
        "receipt": {},
        "amount": amount,
        "currency": currency,
        "payment_id": f"c{order_id}.2",
        "manual_payment_gateway": False,
    }


def refund_body(
    order_id: int, transactions: list[dict[str, Any]], *, refund_id: int | None = None
) -> dict[str, Any]:
    """Return a refunds/create body: Shopify's refund resource for one line of the order."""
    refund_id = refund_id or new_id()
    return {
        "id": refund_id,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "order_id": order_id,
        "created_at": REFUNDED_AT,
        "processed_at": REFUNDED_AT,
        "note": "wrong size",
        "user_id": None,
        "restock": True,
        "duties": [],
        "total_duties_set": {
            "shop_money": {"amount": "0.00", "currency_code": "EUR"},
            "presentment_money": {"amount": "0.00", "currency_code": "EUR"},
        },
        "return": None,
        "order_adjustments": [],
        "refund_line_items": [
            {
                "id": new_id(),
                "line_item_id": order_id + 1,
                "location_id": None,
                "quantity": 1,
                "restock_type": "return",
                "subtotal": 49.9,
                "total_tax": 0.0,
                "line_item": {"id": order_id + 1, "sku": "AMI-SCARF-01", "quantity": 1},
            }
        ],
        "transactions": transactions,
    }


def _accepted(answer: Any) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "accepted"


def _customer_and_order(app: ShopifyApp, **order: Any) -> tuple[int, int, str]:
    """Send and process a customer and their order; return the ids and the profile's AMI- id."""
    customer_id, order_id = new_id(), new_id()
    email = f"r.{customer_id}@example.org"
    _accepted(app.send("customers/create", customer_body(customer_id, email=email)))
    _accepted(app.send("orders/paid", order_body(order_id, customer_id, **order)))
    app.process()
    with unit_of_work(app.engine) as session:
        [profile] = find_customers(session=session, reference=f"shopify:{customer_id}")
        return customer_id, order_id, profile.external_id


def _order(app: ShopifyApp, order_id: int) -> Order:
    with unit_of_work(app.engine) as session:
        return session.scalars(
            select(Order).where(
                Order.source_system == "shopify", Order.source_order_id == str(order_id)
            )
        ).one()


def _payments(app: ShopifyApp, order_id: int) -> list[tuple[int, str, int, str, str | None]]:
    """Return the order's payments: number, method, amount, status, source payment id."""
    with unit_of_work(app.engine) as session:
        rows = session.execute(
            select(
                Payment.payment_number,
                Payment.method,
                Payment.amount_cents,
                Payment.status,
                Payment.source_payment_id,
            )
            .join(Order, Order.id == Payment.order_id)
            .where(Order.source_system == "shopify", Order.source_order_id == str(order_id))
            .order_by(Payment.payment_number)
        ).all()
        return [tuple(row) for row in rows]


def _refunds_of(app: ShopifyApp, order_id: int) -> list[Any]:
    return [e for e in app.events("order.refunded") if e.data["order"] == f"shopify:{order_id}"]


def test_a_refund_after_its_order_is_a_negative_payment_and_is_announced(
    shopify_app: ShopifyApp,
) -> None:
    _customer_id, order_id, external_id = _customer_and_order(
        shopify_app, financial_status="paid", total="129.90"
    )
    money_back = refund_transaction(order_id, amount="49.90", gateway="shopify_payments")
    refund = refund_body(order_id, [money_back])
    webhook_id = str(uuid.uuid4())
    _accepted(shopify_app.send("refunds/create", refund, webhook_id=webhook_id))
    shopify_app.process()

    assert _payments(shopify_app, order_id) == [
        (1, "shopify_payments", 12990, "paid", None),  # the order's own payment
        (2, "shopify_payments", -4990, "refunded", str(money_back["id"])),
    ]
    with unit_of_work(shopify_app.engine) as session:
        paid_at = session.scalars(
            select(Payment.paid_at).where(Payment.source_payment_id == str(money_back["id"]))
        ).one()
    assert paid_at == datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    delivery = shopify_app.delivery(webhook_id)
    assert delivery.status is DeliveryStatus.PROCESSED
    assert delivery.outcome == (
        f"refund {refund['id']} of order {order_id}: recorded (1 refund payment(s) on the order)"
    )
    [announced] = _refunds_of(shopify_app, order_id)
    assert announced.subject == external_id
    assert {key: announced.data[key] for key in announced.data if key != "webhook"} == {
        "order": f"shopify:{order_id}",
        "customer": external_id,
        "refund": str(refund["id"]),
        "amount_cents": 4990,
        "currency": "EUR",
        "cause": "shopify_webhook",
        "topic": "refunds/create",
    }
    assert announced.data["webhook"] == webhook_id

    # Shopify's orders/updated follows with the financial status: the order's own payment
    # is replaced by its new version, the refund stays, once; the status is the order's.
    updated = variant(
        order_body(order_id, _customer_id, total="129.90"),
        financial_status="partially_refunded",
        updated_at="2026-11-05T10:00:05+01:00",
    )
    _accepted(shopify_app.send("orders/updated", updated))
    shopify_app.process()
    assert _order(shopify_app, order_id).status == "partially_refunded"
    assert _payments(shopify_app, order_id) == [
        (1, "shopify_payments", 12990, "partially_refunded", None),
        (2, "shopify_payments", -4990, "refunded", str(money_back["id"])),
    ]
    assert len(_refunds_of(shopify_app, order_id)) == 1


def test_the_same_refund_twice_and_around_the_order_update_is_written_once(
    shopify_app: ShopifyApp,
) -> None:
    customer_id, order_id, _external_id = _customer_and_order(shopify_app, financial_status="paid")
    first = refund_body(order_id, [refund_transaction(order_id, amount="20.00")])
    second = refund_body(
        order_id,
        [
            refund_transaction(order_id, amount="10.00", gateway="gift_card"),
            refund_transaction(order_id, amount="5.50", gateway="shopify_payments"),
        ],
    )
    now = datetime.now(UTC)
    again_id = str(uuid.uuid4())
    _accepted(shopify_app.send("refunds/create", first, triggered_at=now))
    shopify_app.process()
    # Shopify sends it again (a new webhook id, a later X-Shopify-Triggered-At): another
    # version of the same record; and the same body at the same time once more.
    _accepted(
        shopify_app.send(
            "refunds/create", first, webhook_id=again_id, triggered_at=now + timedelta(minutes=1)
        )
    )
    _accepted(shopify_app.send("refunds/create", first, triggered_at=now))
    updated = variant(
        order_body(order_id, customer_id),
        financial_status="partially_refunded",
        updated_at="2026-11-05T10:00:05+01:00",
    )
    _accepted(shopify_app.send("orders/updated", updated))
    _accepted(shopify_app.send("refunds/create", second))
    _accepted(
        shopify_app.send("orders/updated", variant(updated, updated_at="2026-11-05T11:00:00+01:00"))
    )
    shopify_app.process()

    payments = _payments(shopify_app, order_id)
    assert [(number, method, amount, status) for number, method, amount, status, _ in payments] == [
        (1, "shopify_payments", 12990, "partially_refunded"),
        (2, "shopify_payments", -2000, "refunded"),
        (3, "gift_card", -1000, "refunded"),
        (4, "shopify_payments", -550, "refunded"),
    ]
    assert [p[4] for p in payments[1:]] == [
        str(t["id"]) for t in (*first["transactions"], *second["transactions"])
    ]
    assert sorted(e.data["amount_cents"] for e in _refunds_of(shopify_app, order_id)) == [
        1550,
        2000,
    ]
    assert shopify_app.delivery(again_id).outcome == (
        f"refund {first['id']} of order {order_id}: written once already (1 refund payment(s))"
    )


def test_a_refund_before_its_order_waits_then_is_applied_once(
    shopify_app: ShopifyApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id, order_id = new_id(), new_id()
    monkeypatch.setattr(processing, "backoff", lambda _settings, _attempts: 600.0)
    money_back = refund_transaction(order_id, amount="129.90")
    refund = refund_body(order_id, [money_back])
    webhook_id = str(uuid.uuid4())
    _accepted(shopify_app.send("refunds/create", refund, webhook_id=webhook_id))
    shopify_app.process(settle=False)

    waiting = shopify_app.delivery(webhook_id)
    assert waiting.status is DeliveryStatus.FAILED
    assert waiting.last_error == "its order is not in the repository yet"
    assert waiting.outcome == (
        f"refund {refund['id']} rejected (unknown_order): kept raw with the reason"
    )
    assert waiting.body is not None  # kept to try again
    with unit_of_work(shopify_app.engine) as session:
        [reject] = session.scalars(select(Reject).where(Reject.source_id == str(refund["id"])))
        assert reject.reason_code == "unknown_order"

    # The customer and the order arrive, the order already refunded in full.
    _accepted(
        shopify_app.send(
            "customers/create", customer_body(customer_id, email=f"b.{customer_id}@example.org")
        )
    )
    _accepted(
        shopify_app.send(
            "orders/updated", order_body(order_id, customer_id, financial_status="refunded")
        )
    )
    shopify_app.process()
    assert shopify_app.delivery(webhook_id).status is DeliveryStatus.FAILED  # not due yet
    with unit_of_work(shopify_app.engine) as session:  # ten minutes later
        session.execute(
            update(ShopifyWebhook)
            .where(ShopifyWebhook.webhook_id == webhook_id)
            .values(next_attempt_at=datetime.now(UTC))
        )
    shopify_app.process()

    assert shopify_app.delivery(webhook_id).status is DeliveryStatus.PROCESSED
    assert _order(shopify_app, order_id).status == "refunded"
    assert _payments(shopify_app, order_id) == [
        (1, "shopify_payments", 12990, "refunded", None),
        (2, "shopify_payments", -12990, "refunded", str(money_back["id"])),
    ]
    [announced] = _refunds_of(shopify_app, order_id)
    assert (announced.data["amount_cents"], announced.data["currency"]) == (12990, "EUR")
    with unit_of_work(shopify_app.engine) as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Reject)
                .where(Reject.source_id == str(refund["id"]))
            )
            == 0
        )  # the reject it left while waiting is cleared


def test_a_failed_refund_writes_nothing_and_is_kept_raw_with_the_reason(
    shopify_app: ShopifyApp,
) -> None:
    _customer_id, order_id, _external_id = _customer_and_order(shopify_app, financial_status="paid")
    declined = refund_transaction(order_id, amount="49.90", status="failure")
    refund = refund_body(order_id, [declined])
    webhook_id = str(uuid.uuid4())
    _accepted(shopify_app.send("refunds/create", refund, webhook_id=webhook_id))
    shopify_app.process()

    delivery = shopify_app.delivery(webhook_id)
    assert delivery.status is DeliveryStatus.PROCESSED  # nothing to wait for
    assert delivery.outcome == (
        f"refund {refund['id']} rejected (refund_not_successful): kept raw with the reason"
    )
    assert _payments(shopify_app, order_id) == [(1, "shopify_payments", 12990, "paid", None)]
    assert _refunds_of(shopify_app, order_id) == []
    with unit_of_work(shopify_app.engine) as session:
        record = session.scalars(
            select(SourceRecord).where(
                SourceRecord.entity == "refund", SourceRecord.source_id == str(refund["id"])
            )
        ).one()
        assert record.status == "rejected"
        assert record.payload["body"] == refund  # kept raw
        [reject] = session.scalars(select(Reject).where(Reject.source_record_id == record.id))
        assert reject.reason_code == "refund_not_successful"
        assert reject.message == (
            f"No refund transaction succeeded ({declined['id']} failure): no money went back, "
            "nothing written."
        )

    # Of a refund partly done, what succeeded is written and the rest named in an issue.
    pending = refund_transaction(order_id, amount="10.00", status="pending")
    done = refund_transaction(order_id, amount="20.00")
    in_dollars = refund_transaction(order_id, amount="7.00", currency="USD")
    partly = refund_body(order_id, [pending, done, in_dollars])
    _accepted(shopify_app.send("refunds/create", partly))
    shopify_app.process()

    assert _payments(shopify_app, order_id)[1:] == [
        (2, "shopify_payments", -2000, "refunded", str(done["id"]))
    ]
    with unit_of_work(shopify_app.engine) as session:
        issues = session.execute(
            select(ValidationIssueRecord.code, ValidationIssueRecord.message)
            .join(SourceRecord, SourceRecord.id == ValidationIssueRecord.source_record_id)
            .where(SourceRecord.entity == "refund", SourceRecord.source_id == str(partly["id"]))
            .order_by(ValidationIssueRecord.code)
        ).all()
    assert [tuple(issue) for issue in issues] == [
        (
            "currency_mismatch",
            f"refund transaction {in_dollars['id']} is in USD, its order in EUR: not written",
        ),
        (
            "refund_not_successful",
            f"Refund transactions that did not succeed ({pending['id']} pending) were not written.",
        ),
    ]


def test_only_a_transaction_that_says_success_gave_money_back() -> None:
    order_id = new_id()
    without_status = refund_transaction(order_id)
    del without_status["status"]
    voided = refund_transaction(order_id) | {"kind": "void"}
    done = refund_transaction(order_id, amount="12.50")
    body = refund_body(order_id, [without_status, voided, done])
    result = map_refund(webhook_envelope("refunds/create", None, body), mapping_context({}))

    assert result.facts is not None
    assert [(t.transaction_id, t.amount_cents) for t in result.facts.transactions] == [
        (str(done["id"]), 1250)
    ]
    assert result.facts.amount_cents == 1250
    assert [issue.code for issue in result.issues] == ["refund_not_successful"]
