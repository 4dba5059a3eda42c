"""GraphQL Admin API customers and orders become the REST objects that mapping.py maps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from amigo.connectors.shopify import graphql_shape as shape
from amigo.connectors.shopify import mapping
from amigo.ingest.facts import MappingContext

CTX = MappingContext(store_timezone=lambda _store: None, store_country=lambda _store: None)

# A customer as the 2026-01 Admin API returns it for CUSTOMERS_QUERY.
CUSTOMER_2026: dict[str, Any] = {
    "id": "gid://shopify/Customer/7064055069303",
    "firstName": "Chloé",
    "lastName": "Dubois",
    "createdAt": "2025-03-02T17:04:11Z",
    "updatedAt": "2026-10-14T08:30:00Z",
    "state": "ENABLED",
    "verifiedEmail": True,
    "locale": "fr",
    "tags": ["VIP", "y2:PAR01000123"],
    "defaultEmailAddress": {
        "emailAddress": "Chloe.Dubois@Example.fr",
        "marketingState": "SUBSCRIBED",
        "marketingOptInLevel": "CONFIRMED_OPT_IN",
        "marketingUpdatedAt": "2025-03-02T17:05:00Z",
    },
    "defaultPhoneNumber": {
        "phoneNumber": "+33612345678",
        "marketingState": "UNSUBSCRIBED",
        "marketingOptInLevel": "SINGLE_OPT_IN",
        "marketingUpdatedAt": "2026-01-05T10:00:00Z",
        "marketingCollectedFrom": "SHOPIFY",
    },
    "defaultAddress": {
        "firstName": "Chloé",
        "lastName": "Dubois",
        "address1": "12 rue de Rivoli",
        "address2": None,
        "city": "Paris",
        "province": None,
        "provinceCode": None,
        "country": "France",
        "countryCodeV2": "FR",
        "zip": "75004",
        "phone": "+33612345678",
    },
}

# The same person as versions before 2025-04 gave her: email, phone and consent objects.
CUSTOMER_2024: dict[str, Any] = {
    "id": "gid://shopify/Customer/7064055069303",
    "firstName": "Chloé",
    "lastName": "Dubois",
    "email": "chloe.dubois@example.fr",
    "phone": "+33612345678",
    "createdAt": "2025-03-02T17:04:11Z",
    "updatedAt": "2026-10-14T08:30:00Z",
    "tags": [],
    "emailMarketingConsent": {
        "marketingState": "NOT_SUBSCRIBED",
        "marketingOptInLevel": "SINGLE_OPT_IN",
        "consentUpdatedAt": None,
    },
    "smsMarketingConsent": {
        "marketingState": "SUBSCRIBED",
        "marketingOptInLevel": "SINGLE_OPT_IN",
        "consentUpdatedAt": "2025-03-02T17:06:00Z",
        "consentCollectedFrom": "OTHER",
    },
    "defaultAddress": None,
}


def _money(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": "EUR"}}


ORDER: dict[str, Any] = {
    "id": "gid://shopify/Order/5520000001234",
    "name": "#1042",
    "email": "chloe.dubois@example.fr",
    "createdAt": "2026-10-20T13:00:00Z",
    "processedAt": "2026-10-20T13:00:02Z",
    "updatedAt": "2026-10-21T09:00:00Z",
    "cancelledAt": None,
    "currencyCode": "EUR",
    "displayFinancialStatus": "PARTIALLY_REFUNDED",
    "displayFulfillmentStatus": "FULFILLED",
    "paymentGatewayNames": ["shopify_payments"],
    "customer": {"id": "gid://shopify/Customer/7064055069303"},
    "totalPriceSet": _money("385.5"),
    "lineItems": {
        "pageInfo": {"hasNextPage": False, "endCursor": "MQ=="},
        "nodes": [
            {
                "id": "gid://shopify/LineItem/14100000000001",
                "sku": "AMI-SW-014",
                "title": "Ami de Coeur sweatshirt",
                "quantity": 1,
                "originalUnitPriceSet": _money("290.0"),
                "totalDiscountSet": _money("29.0"),
            },
            {
                "id": "gid://shopify/LineItem/14100000000002",
                "sku": "AMI-TS-001",
                "title": "Ami de Coeur T-shirt",
                "quantity": 1,
                "originalUnitPriceSet": _money("124.5"),
                "totalDiscountSet": _money("0.0"),
            },
        ],
    },
}


def test_a_customer_node_is_the_rest_customer() -> None:
    payload = shape.customer_payload(CUSTOMER_2026)
    assert payload["id"] == 7064055069303
    assert payload["email"] == "Chloe.Dubois@Example.fr"
    assert payload["tags"] == "VIP, y2:PAR01000123"
    assert payload["default_address"]["country_code"] == "FR"
    assert payload["addresses"] == [payload["default_address"]]
    assert payload["email_marketing_consent"] == {
        "state": "subscribed",
        "opt_in_level": "confirmed_opt_in",
        "consent_updated_at": "2025-03-02T17:05:00Z",
    }
    assert payload["sms_marketing_consent"]["state"] == "unsubscribed"
    assert payload["sms_marketing_consent"]["consent_collected_from"] == "SHOPIFY"


def test_the_mapping_reads_a_translated_customer_as_it_reads_a_webhook() -> None:
    result = mapping.map_customer(shape.customer_payload(CUSTOMER_2026), CTX)
    assert result.reject is None
    facts = result.facts
    assert facts is not None
    assert facts.source_id == "7064055069303"
    assert facts.email == "Chloe.Dubois@example.fr"  # the domain in lower case, as a webhook's
    assert facts.phone == "+33612345678"
    assert (facts.postal_code, facts.city, facts.country) == ("75004", "Paris", "FR")
    assert facts.tier == "vip"
    assert facts.references == (("cegid", "PAR01000123"),)
    assert facts.observed_at == datetime(2026, 10, 14, 8, 30, tzinfo=UTC)
    consents = {c.purpose: c for c in facts.consents}
    assert consents["email_marketing"].raw_value == "subscribed"
    assert consents["email_marketing"].opt_in_level == "confirmed_opt_in"
    assert consents["email_marketing"].stated_at == datetime(2025, 3, 2, 17, 5, tzinfo=UTC)
    assert consents["sms_marketing"].raw_value == "unsubscribed"
    assert consents["sms_marketing"].proof["consent_collected_from"] == "SHOPIFY"
    assert not result.issues


def test_an_older_versions_customer_gives_the_same_facts() -> None:
    payload = shape.customer_payload(CUSTOMER_2024)
    assert payload["email_marketing_consent"]["state"] == "not_subscribed"
    assert payload["sms_marketing_consent"]["consent_collected_from"] == "OTHER"
    assert payload["default_address"] is None
    assert payload["addresses"] == []
    facts = mapping.map_customer(payload, CTX).facts
    assert facts is not None
    assert facts.email == "chloe.dubois@example.fr"
    assert {c.purpose: c.raw_value for c in facts.consents} == {
        "email_marketing": "not_subscribed",
        "sms_marketing": "subscribed",
    }


def test_a_customer_without_contact_is_rejected_for_that_reason() -> None:
    payload = shape.customer_payload(
        {"id": "gid://shopify/Customer/1", "defaultEmailAddress": None, "tags": []}
    )
    assert payload["email_marketing_consent"] is None
    result = mapping.map_customer(payload, CTX)
    assert result.reject is not None
    assert result.reject.code == "unidentifiable"


def test_an_order_node_is_the_rest_order() -> None:
    payload = shape.order_payload(ORDER)
    assert payload["id"] == 5520000001234
    assert payload["customer"] == {"id": 7064055069303}
    assert payload["total_price"] == "385.50"
    assert payload["financial_status"] == "partially_refunded"
    assert payload["fulfillment_status"] == "fulfilled"
    assert [line["price"] for line in payload["line_items"]] == ["290.00", "124.50"]
    assert payload["line_items"][0]["total_discount"] == "29.00"


def test_the_mapping_reads_a_translated_order() -> None:
    facts = mapping.map_order(shape.order_payload(ORDER), CTX).facts
    assert facts is not None
    assert facts.source_order_id == "5520000001234"
    assert facts.customer_source_id == "7064055069303"
    assert (facts.total_cents, facts.currency, facts.status) == (38550, "EUR", "partially_refunded")
    assert [(line.sku, line.unit_price_cents, line.discount_cents) for line in facts.lines] == [
        ("AMI-SW-014", 29000, 2900),
        ("AMI-TS-001", 12450, 0),
    ]
    assert facts.payments[0].paid_at == datetime(2026, 10, 20, 13, 0, 2, tzinfo=UTC)


def test_a_cancelled_order_and_lines_read_apart() -> None:
    more = [
        {
            "id": f"gid://shopify/LineItem/{n}",
            "sku": f"SKU-{n}",
            "title": "Cap",
            "quantity": 1,
            "originalUnitPriceSet": _money("110"),
            "totalDiscountSet": _money("0"),
        }
        for n in range(7)
    ]
    node = {**ORDER, "cancelledAt": "2026-10-20T15:00:00Z", "displayFinancialStatus": "VOIDED"}
    facts = mapping.map_order(shape.order_payload(node, more), CTX).facts
    assert facts is not None
    assert facts.status == "cancelled"
    assert len(facts.lines) == 7
    assert facts.lines[0].unit_price_cents == 11000


def test_money_keeps_what_it_cannot_read_for_the_mapping_to_reject() -> None:
    assert shape.money(_money("12")) == "12.00"
    assert shape.money(_money("0.125")) == "0.125"
    assert shape.money(_money("n/a")) == "n/a"
    assert shape.money(None) is None


def test_pages_stay_under_the_query_cost_limit() -> None:
    assert shape.page_size(250, shape.CUSTOMER_NODE_COST) == 249
    assert shape.page_size(250, shape.ORDER_NODE_COST) == 32
    assert shape.page_size(10, shape.ORDER_NODE_COST) == 10
