"""Shopify REST customers and orders, including Shopify's own samples, map to facts."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amigo.connectors.base import RowMapper
from amigo.connectors.shopify import mapping
from amigo.ingest.facts import MappingContext, MappingResult

SAMPLES = Path("/work/shared/reference/shopify-samples")
CTX = MappingContext(store_timezone=lambda _store: None, store_country=lambda _store: None)


def _sample(name: str) -> dict[str, Any]:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _facts(result: MappingResult[Any]) -> Any:
    assert result.reject is None, result.reject
    assert result.facts is not None
    return result.facts


def _codes(result: MappingResult[Any]) -> set[tuple[str, str]]:
    return {(issue.field, issue.code) for issue in result.issues}


def _rejected(result: MappingResult[Any]) -> tuple[str, str]:
    assert result.facts is None
    assert result.reject is not None
    return result.reject.field, result.reject.code


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


FRENCH_CUSTOMER: dict[str, Any] = {
    "id": 7080001234,
    "email": "Camille.Martin@Example.fr",
    "first_name": "camille",
    "last_name": "MARTIN",
    "phone": "+33 6 12 34 56 78",
    "created_at": "2025-03-02T18:04:11+01:00",
    "updated_at": "2025-07-15T14:00:00+02:00",
    "state": "enabled",
    "verified_email": True,
    "tags": "newsletter, VIP",
    "currency": "EUR",
    "note": None,
    "addresses": [],
    "default_address": {
        "address1": "12 rue de la Paix",
        "address2": "3e étage",
        "city": "PARIS",
        "province": "Île-de-France",
        "province_code": None,
        "country": "France",
        "country_code": "FR",
        "zip": "75002",
        "phone": None,
    },
    "email_marketing_consent": {
        "state": "subscribed",
        "opt_in_level": "confirmed_opt_in",
        "consent_updated_at": "2025-03-02T18:05:00+01:00",
    },
    "sms_marketing_consent": {
        "state": "unsubscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2025-06-01T10:00:00+02:00",
        "consent_collected_from": "SHOPIFY",
    },
}

ORDER: dict[str, Any] = {
    "id": 5550001,
    "name": "#1001",
    "email": "camille.martin@example.fr",
    "created_at": "2025-07-15T14:00:00+02:00",
    "processed_at": "2025-07-15T14:00:05+02:00",
    "updated_at": "2025-07-16T09:00:00+02:00",
    "cancelled_at": None,
    "currency": "EUR",
    "total_price": "379.80",
    "total_discounts": "20.00",
    "financial_status": "paid",
    "fulfillment_status": "fulfilled",
    "customer": {"id": 7080001234, "email": "camille.martin@example.fr"},
    "payment_gateway_names": ["shopify_payments", "gift_card"],
    "line_items": [
        {
            "id": 1,
            "sku": "UKS001.018-430",
            "title": "Pull Ami de Coeur",
            "quantity": 2,
            "price": "129.90",
            "total_discount": "20.00",
        },
        {
            "id": 2,
            "sku": None,
            "title": "Tote bag",
            "quantity": 1,
            "price": "140.00",
            "total_discount": "0.00",
        },
    ],
}


def customer(**changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(FRENCH_CUSTOMER)
    row.update(changes)
    return row


def order(**changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(ORDER)
    row.update(changes)
    return row


# --- keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (1073339468, "1073339468"),
        ("1073339468", "1073339468"),
        (" 1073339468 ", "1073339468"),
        ("gid://shopify/Customer/1073339468", "1073339468"),
        (706405506930370084, "706405506930370084"),
        (None, None),
        ("", None),
        (True, None),
        ([1], None),
        ({"id": 1}, None),
        (1.5, None),
    ],
)
def test_key(value: Any, key: str | None) -> None:
    assert mapping.CUSTOMERS.key({"id": value}) == key
    assert mapping.ORDERS.key({"id": value}) == key


def test_mapper_shape() -> None:
    assert (mapping.CUSTOMERS.entity, mapping.ORDERS.entity) == ("customer", "order")
    assert set(mapping.CUSTOMERS.required) <= set(FRENCH_CUSTOMER)
    assert set(mapping.ORDERS.required) <= set(ORDER)


# --- Shopify's own samples ------------------------------------------------------------


def test_sample_customers_create_2026_01() -> None:
    row = _sample("customers_create.2026-01.json")
    assert mapping.CUSTOMERS.key(row) == "706405506930370084"
    result = mapping.CUSTOMERS.map(row, CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert (facts.source_system, facts.source_id, facts.origin) == (
        "shopify",
        "706405506930370084",
        "e-commerce",
    )
    assert (facts.email, facts.first_name, facts.last_name) == ("bob@biller.com", "Bob", "Biller")
    # A disabled account (never activated) is still a person to know.
    assert facts.closed is False
    assert facts.phone is None
    assert (facts.address_line1, facts.city, facts.region) == (
        "151 O'Connor Street",
        "Ottawa",
        "ON",
    )
    assert (facts.postal_code, facts.country) == ("K2P 2L8", "CA")
    assert facts.created_at == _utc(2022, 1, 1)
    assert facts.observed_at == _utc(2022, 1, 1)
    assert facts.tier is None
    # Recent webhook payloads carry no consent fields at all.
    assert facts.consents == ()


def test_sample_customer_rest_create_response_2023_01() -> None:
    row = _sample("customer_rest_create_response.2023-01.json")["customer"]
    result = mapping.CUSTOMERS.map(row, CTX)
    facts = _facts(result)
    assert facts.source_id == "1073339468"
    assert (facts.email, facts.phone) == ("steve.lastnameson@example.com", "+15142546011")
    assert (facts.city, facts.region, facts.country) == ("Ottawa", "Ontario", "CA")
    assert facts.created_at == _utc(2023, 2, 2, 14, 42, second=12)
    # "123 ABC" is not a Canadian postal code: an issue, the record still loads.
    assert facts.postal_code is None
    assert _codes(result) == {("postal_code", "invalid_postal_code")}
    consents = {consent.purpose: consent for consent in facts.consents}
    assert set(consents) == {"email_marketing", "sms_marketing"}
    # The consent object wins over the legacy accepts_marketing.
    assert consents["email_marketing"].raw_value == "not_subscribed"
    assert consents["email_marketing"].opt_in_level == "single_opt_in"
    assert consents["email_marketing"].stated_at is None
    assert consents["email_marketing"].proof == {"source": "shopify"}
    assert consents["sms_marketing"].proof == {
        "source": "shopify",
        "consent_collected_from": "OTHER",
    }


# --- customers ----------------------------------------------------------------------


def test_customer_maps_every_field() -> None:
    result = mapping.CUSTOMERS.map(customer(locale="fr-FR"), CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert facts.source_id == "7080001234"
    assert facts.email == "Camille.Martin@example.fr"
    assert facts.email_match_key == "camille.martin@example.fr"
    assert (facts.first_name, facts.last_name) == ("Camille", "Martin")
    assert facts.phone == "+33612345678"
    assert (facts.address_line1, facts.address_line2) == ("12 rue de la Paix", "3e étage")
    assert (facts.postal_code, facts.city, facts.region, facts.country) == (
        "75002",
        "Paris",
        "Île-de-France",
        "FR",
    )
    assert facts.tier == "vip"
    assert facts.preferred_language == "fr"
    assert facts.created_at == _utc(2025, 3, 2, 17, 4, second=11)
    assert facts.observed_at == _utc(2025, 7, 15, 12)
    assert (facts.birth_date, facts.preferred_store_id, facts.associate_id) == (None, None, None)


def test_customer_consents() -> None:
    facts = _facts(mapping.CUSTOMERS.map(customer(), CTX))
    email, sms = facts.consents
    assert (email.purpose, email.raw_value, email.opt_in_level) == (
        "email_marketing",
        "subscribed",
        "confirmed_opt_in",
    )
    assert email.stated_at == _utc(2025, 3, 2, 17, 5)
    assert email.proof == {"source": "shopify"}
    assert (sms.purpose, sms.raw_value, sms.opt_in_level) == (
        "sms_marketing",
        "unsubscribed",
        "single_opt_in",
    )
    assert sms.stated_at == _utc(2025, 6, 1, 8)
    assert sms.proof == {"source": "shopify", "consent_collected_from": "SHOPIFY"}


@pytest.mark.parametrize("accepts", [True, False])
def test_legacy_accepts_marketing(accepts: bool) -> None:
    row = customer(
        email_marketing_consent=None,
        sms_marketing_consent=None,
        accepts_marketing=accepts,
        marketing_opt_in_level="confirmed_opt_in" if accepts else None,
        accepts_marketing_updated_at="2020-05-01T12:00:00-04:00",
    )
    (consent,) = _facts(mapping.CUSTOMERS.map(row, CTX)).consents
    assert consent.purpose == "email_marketing"
    assert consent.raw_value == f"accepts_marketing:{str(accepts).lower()}"
    assert consent.opt_in_level == ("confirmed_opt_in" if accepts else None)
    assert consent.stated_at == _utc(2020, 5, 1, 16)
    assert consent.proof == {"source": "shopify"}


def test_null_consents_give_no_statement() -> None:
    row = customer(email_marketing_consent=None, sms_marketing_consent=None)
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).consents == ()
    # A consent object whose state is null (as in the consent webhook sample) says nothing.
    empty_state = customer(
        email_marketing_consent=None,
        sms_marketing_consent={"state": None, "consent_collected_from": "other"},
    )
    assert _facts(mapping.CUSTOMERS.map(empty_state, CTX)).consents == ()


def test_unknown_consent_state_is_an_issue_and_still_recorded() -> None:
    row = customer(
        email_marketing_consent={"state": "maybe", "opt_in_level": None, "consent_updated_at": "x"}
    )
    result = mapping.CUSTOMERS.map(row, CTX)
    email = _facts(result).consents[0]
    assert (email.raw_value, email.stated_at) == ("maybe", None)
    assert _codes(result) == {
        ("consent.email_marketing", "unknown_consent_value"),
        ("consent.email_marketing", "invalid_timestamp"),
    }


@pytest.mark.parametrize(
    ("tags", "tier"),
    [
        ("VIP", "vip"),
        ("newsletter, vip", "vip"),
        ("premium,wholesale", "premium"),
        ("PREMIUM, VIP", "vip"),
        (["Premium", "b2c"], "premium"),
        ("", None),
        ("VIPER", None),
        (None, None),
    ],
)
def test_tier_from_tags(tags: Any, tier: str | None) -> None:
    assert _facts(mapping.CUSTOMERS.map(customer(tags=tags), CTX)).tier == tier


@pytest.mark.parametrize(
    ("tags", "references"),
    [
        ("VIP, y2:PAR01000123", (("cegid", "PAR01000123"),)),
        (["newsletter", "Y2: LON01000007", "amigo:ami-abc"], (("cegid", "LON01000007"), ("amigo", "AMI-ABC"))),
        ("cegid:PAR01000123, y2:PAR01000123", (("cegid", "PAR01000123"),)),
        ("y2:, vip, wholesale:12", ()),
        (None, ()),
    ],
)  # fmt: skip
def test_other_systems_ids_are_read_from_tags(tags: Any, references: tuple[Any, ...]) -> None:
    assert _facts(mapping.CUSTOMERS.map(customer(tags=tags), CTX)).references == references


@pytest.mark.parametrize(
    "phone", ["06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "0033612345678"]
)
def test_french_phone_with_the_address_country(phone: str) -> None:
    assert _facts(mapping.CUSTOMERS.map(customer(phone=phone), CTX)).phone == "+33612345678"


def test_national_phone_without_a_country_is_an_issue() -> None:
    row = customer(phone="06 12 34 56 78", default_address=None, addresses=[])
    result = mapping.CUSTOMERS.map(row, CTX)
    facts = _facts(result)
    assert (facts.phone, facts.country) == (None, None)
    assert _codes(result) == {("phone", "invalid_phone")}
    international = customer(phone="+33612345678", default_address=None, addresses=[])
    assert _facts(mapping.CUSTOMERS.map(international, CTX)).phone == "+33612345678"


def test_first_address_when_there_is_no_default() -> None:
    address = {"address1": "1 Chome", "city": "Tokyo", "country": "Japan", "zip": "100-0001"}
    row = customer(default_address=None, addresses=["junk", address], phone="03-1234-5678")
    facts = _facts(mapping.CUSTOMERS.map(row, CTX))
    # No country_code: the country name is read instead.
    assert (facts.city, facts.country, facts.postal_code) == ("Tokyo", "JP", "100-0001")
    assert facts.phone == "+81312345678"


def test_customer_without_optional_fields() -> None:
    result = mapping.CUSTOMERS.map({"id": 1, "email": "a@example.com"}, CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert (facts.first_name, facts.country, facts.created_at, facts.tier) == (
        None,
        None,
        None,
        None,
    )
    assert facts.consents == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"email": None, "phone": None, "default_address": None},
        {"email": "not-an-email", "phone": "123", "default_address": None},
        {"email": None, "phone": None, "last_name": None},
    ],
)
def test_unidentifiable_customer_is_rejected(changes: dict[str, Any]) -> None:
    result = mapping.CUSTOMERS.map(customer(**changes), CTX)
    assert _rejected(result) == ("record", "unidentifiable")


def test_last_name_and_postal_code_identify() -> None:
    row = customer(email=None, phone=None)
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).postal_code == "75002"


def test_wrong_json_types_become_issues() -> None:
    row = customer(
        first_name=["Camille"],
        phone={"number": "+33612345678"},
        default_address=["not", "an", "object"],
        email_marketing_consent="subscribed",
        tags=42,
    )
    result = mapping.CUSTOMERS.map(row, CTX)
    facts = _facts(result)
    assert (facts.first_name, facts.phone, facts.country, facts.tier) == (None, None, None, None)
    assert {
        ("first_name", "invalid_type"),
        ("phone", "invalid_type"),
        ("address", "invalid_type"),
        ("consent.email_marketing", "invalid_type"),
        ("tier", "invalid_type"),
    } <= _codes(result)


def test_json_number_where_text_is_expected_is_read_as_text() -> None:
    row = customer(default_address={"zip": 75002, "country_code": "FR"})
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).postal_code == "75002"


# --- orders ---------------------------------------------------------------------------


def test_order_with_lines_and_payment() -> None:
    result = mapping.ORDERS.map(order(), CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert (facts.source_system, facts.source_order_id, facts.channel) == (
        "shopify",
        "5550001",
        "web",
    )
    assert facts.customer_source_id == "7080001234"
    assert facts.ordered_at == _utc(2025, 7, 15, 12, 0, second=5)
    assert (facts.currency, facts.total_cents, facts.status) == ("EUR", 37980, "paid")
    assert (facts.store_id, facts.associate_id) == (None, None)
    first, second = facts.lines
    assert (first.line_number, first.sku, first.label) == (1, "UKS001.018-430", "Pull Ami de Coeur")
    assert (first.quantity, first.unit_price_cents, first.discount_cents) == (2, 12990, 2000)
    assert (second.line_number, second.sku, second.quantity, second.discount_cents) == (
        2,
        None,
        1,
        0,
    )
    (payment,) = facts.payments
    assert (payment.payment_number, payment.method, payment.amount_cents) == (
        1,
        "shopify_payments",
        37980,
    )
    assert (payment.status, payment.paid_at) == ("paid", _utc(2025, 7, 15, 12, 0, second=5))


def test_order_falls_back_to_created_at() -> None:
    facts = _facts(mapping.ORDERS.map(order(processed_at=None), CTX))
    assert facts.ordered_at == _utc(2025, 7, 15, 12)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"processed_at": None, "created_at": None}, ("ordered_at", "missing_value")),
        ({"processed_at": "soon", "created_at": "later"}, ("ordered_at", "invalid_timestamp")),
        ({"total_price": None}, ("total", "missing_value")),
        ({"total_price": "lots"}, ("total", "invalid_amount")),
        ({"currency": None}, ("currency", "missing_value")),
        ({"currency": "Euro"}, ("currency", "invalid_currency")),
        ({"id": None}, ("id", "missing_id")),
    ],
)
def test_order_rejects(changes: dict[str, Any], reason: tuple[str, str]) -> None:
    assert _rejected(mapping.ORDERS.map(order(**changes), CTX)) == reason


@pytest.mark.parametrize(
    ("changes", "status", "payment_status", "paid"),
    [
        ({}, "paid", "paid", True),
        ({"financial_status": "pending"}, "pending", "pending", False),
        ({"financial_status": "voided"}, "voided", "voided", False),
        ({"financial_status": "refunded"}, "refunded", "refunded", True),
        ({"financial_status": "partially_refunded"}, "partially_refunded", "partially_refunded", True),
        ({"financial_status": None}, "pending", "pending", False),
        ({"cancelled_at": "2025-07-16T10:00:00+02:00", "financial_status": "refunded"},
         "cancelled", "refunded", True),
    ],
)  # fmt: skip
def test_order_status(
    changes: dict[str, Any], status: str, payment_status: str, paid: bool
) -> None:
    facts = _facts(mapping.ORDERS.map(order(**changes), CTX))
    assert facts.status == status
    (payment,) = facts.payments
    assert payment.status == payment_status
    assert (payment.paid_at is not None) is paid


def test_guest_checkout_has_no_customer() -> None:
    assert _facts(mapping.ORDERS.map(order(customer=None), CTX)).customer_source_id is None


def test_order_customer_graphql_id() -> None:
    row = order(customer={"id": "gid://shopify/Customer/7080001234"})
    assert _facts(mapping.ORDERS.map(row, CTX)).customer_source_id == "7080001234"


def test_order_without_gateway_has_an_unknown_method() -> None:
    facts = _facts(mapping.ORDERS.map(order(payment_gateway_names=[]), CTX))
    assert facts.payments[0].method == "unknown"


def test_invalid_line_is_left_out_with_an_issue() -> None:
    lines = [*ORDER["line_items"], {"sku": "X", "quantity": "many", "price": "1.00"}, "junk"]
    result = mapping.ORDERS.map(order(line_items=lines), CTX)
    facts = _facts(result)
    assert [line.line_number for line in facts.lines] == [1, 2]
    assert {
        ("line.quantity", "invalid_integer"),
        ("lines", "invalid_line"),
        ("lines", "invalid_type"),
    } <= _codes(result)


def test_json_numbers_in_an_order_are_read() -> None:
    row = order(total_price=379.8, line_items=[{"quantity": "2", "price": 129.9}])
    facts = _facts(mapping.ORDERS.map(row, CTX))
    assert facts.total_cents == 37980
    assert (facts.lines[0].quantity, facts.lines[0].unit_price_cents) == (2, 12990)


# --- robustness -----------------------------------------------------------------------

_SCALAR = st.one_of(st.none(), st.integers(), st.text(), st.booleans(), st.floats())
_ANY_VALUE = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.lists(st.text()),
    st.dictionaries(st.text(), st.text()),
)
CUSTOMER_KEYS = sorted(
    set(FRENCH_CUSTOMER)
    | {"locale", "accepts_marketing", "marketing_opt_in_level", "accepts_marketing_updated_at"}
)
ADDRESS_KEYS = ["address1", "address2", "city", "province", "country", "country_code", "zip"]
CONSENT_KEYS = ["state", "opt_in_level", "consent_updated_at", "consent_collected_from"]
ORDER_KEYS = sorted(ORDER)
LINE_KEYS = ["sku", "title", "quantity", "price", "total_discount"]


def _nested(keys: list[str]) -> st.SearchStrategy[Any]:
    """Return objects with known keys, lists of them, or anything, for nested values."""
    objects = st.dictionaries(st.sampled_from(keys), _SCALAR)
    return st.one_of(_ANY_VALUE, objects, st.lists(st.one_of(objects, _SCALAR), max_size=3))


@pytest.mark.parametrize(
    ("mapper", "keys", "nested"),
    [
        (mapping.CUSTOMERS, CUSTOMER_KEYS, ADDRESS_KEYS + CONSENT_KEYS),
        (mapping.ORDERS, ORDER_KEYS, [*LINE_KEYS, "id"]),
    ],
)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_object_maps_or_rejects_without_raising(
    mapper: RowMapper[Any], keys: list[str], nested: list[str], data: st.DataObject
) -> None:
    row = data.draw(st.dictionaries(st.sampled_from(keys), st.one_of(_ANY_VALUE, _nested(nested))))
    result = mapper.map(row, CTX)
    assert (result.facts is None) != (result.reject is None)
    mapper.key(row)
