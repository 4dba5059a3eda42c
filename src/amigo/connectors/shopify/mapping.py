"""Shopify Admin REST customers and orders (JSON objects) to normalized facts.

Values arrive as JSON types and are trusted for none of them: Shopify's own
payloads changed shape across API versions (``accepts_marketing`` became
``email_marketing_consent``), and bulk exports give ``tags`` as a list.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from amigo.connectors.base import (
    INT32_LIMIT,
    Issues,
    Rejected,
    RowMapper,
    bounded,
    currency_code,
    key_text,
    language_code,
    mapping,
    new_issue,
    rejecting,
    require,
    require_id,
    text,
    type_issue,
)
from amigo.ingest.facts import (
    ConsentFacts,
    ConsentStatementFacts,
    CustomerDeletionFacts,
    CustomerFacts,
    MappingContext,
    MappingResult,
    OrderFacts,
    OrderLineFacts,
    PaymentFacts,
    RefundFacts,
    RefundTransactionFacts,
)
from amigo.quality.addresses import (
    normalize_address_line,
    normalize_city,
    normalize_country,
    normalize_postal_code,
)
from amigo.quality.amounts import parse_amount, parse_int
from amigo.quality.dates import parse_timestamp
from amigo.quality.emails import email_match_key, normalize_email
from amigo.quality.names import normalize_name
from amigo.quality.phones import normalize_phone

SOURCE = "shopify"

_GID_PREFIX = "gid://shopify/"
_SOURCE_ID_MAX = 80
_ORDER_ID_MAX = 60
_SKU_MAX = 40
_LABEL_MAX = 200
_METHOD_MAX = 40
_STATUS_MAX = 30
_REGION_MAX = 100
_CONSENT_RAW_MAX = 40

# Shopify's consent states (lower case in REST, upper case in GraphQL).
_CONSENT_STATES = frozenset(
    {"subscribed", "not_subscribed", "pending", "unsubscribed", "redacted", "invalid"}
)
# Financial states in which money was taken, so processed_at is when it was paid.
_PAID_STATES = frozenset({"paid", "partially_paid", "refunded", "partially_refunded"})


def shopify_id(value: Any) -> str | None:
    """Return a Shopify id as text: 123, "123" and "gid://shopify/Customer/123" give "123"."""
    key = key_text(value)
    if key is not None and key.startswith(_GID_PREFIX):
        key = key.rpartition("/")[2].strip() or None
    return key


def resource_key(row: dict[str, Any]) -> str | None:
    """Return the resource's id."""
    return shopify_id(row.get("id"))


# --- customers ----------------------------------------------------------------


@rejecting
def map_customer(row: dict[str, Any], ctx: MappingContext) -> MappingResult[CustomerFacts]:
    """Map a customers.jsonl object; reject it only when nothing could identify the person."""
    issues = Issues()
    customer_id = require_id(resource_key(row), _SOURCE_ID_MAX)
    address = _customer_address(row, issues) or {}
    country = issues.take(
        normalize_country(text(address.get("country_code"), "country", issues))
    ) or issues.take(normalize_country(text(address.get("country"), "country", issues)))

    email = issues.take(normalize_email(text(row.get("email"), "email", issues)))
    phone = issues.take(
        normalize_phone(text(row.get("phone"), "phone", issues), region_hint=country)
    )
    last_name = issues.take(
        normalize_name(text(row.get("last_name"), "last_name", issues), field="last_name")
    )
    postal_code = issues.take(
        normalize_postal_code(text(address.get("zip"), "postal_code", issues), country=country)
    )
    # Shopify keeps no birth date: only email, phone or name and postal code identify.
    if email is None and phone is None and not (last_name and postal_code):
        return issues.reject(_UNIDENTIFIABLE)

    created_at = issues.take(
        parse_timestamp(text(row.get("created_at"), "created_at", issues), field="created_at")
    )
    observed_at = (
        issues.take(
            parse_timestamp(text(row.get("updated_at"), "observed_at", issues), field="observed_at")
        )
        or created_at
    )
    return issues.done(
        CustomerFacts(
            source_system=SOURCE,
            source_id=customer_id,
            origin="e-commerce",
            email=email,
            email_match_key=None if email is None else email_match_key(email),
            first_name=issues.take(
                normalize_name(
                    text(row.get("first_name"), "first_name", issues), field="first_name"
                )
            ),
            last_name=last_name,
            phone=phone,
            preferred_language=issues.take(
                language_code(text(row.get("locale"), "preferred_language", issues))
            ),
            tier=_tier(row.get("tags"), issues),
            references=_references(row.get("tags")),
            address_line1=issues.take(
                normalize_address_line(
                    text(address.get("address1"), "address_line1", issues), field="address_line1"
                )
            ),
            address_line2=issues.take(
                normalize_address_line(
                    text(address.get("address2"), "address_line2", issues), field="address_line2"
                )
            ),
            postal_code=postal_code,
            city=issues.take(normalize_city(text(address.get("city"), "city", issues))),
            region=bounded(
                text(address.get("province"), "region", issues), _REGION_MAX, "region", issues
            ),
            country=country,
            created_at=created_at,
            observed_at=observed_at,
            consents=_consents(row, issues),
        )
    )


_UNIDENTIFIABLE = new_issue(
    "record",
    "unidentifiable",
    "The customer has no valid email, no valid phone, and no last name with a postal code: "
    "nothing could tie it to a person.",
)


def _customer_address(row: dict[str, Any], issues: Issues) -> dict[str, Any] | None:
    """Return the default address, else the first address of the list."""
    address = mapping(row.get("default_address"), "address", issues)
    if address is not None:
        return address
    addresses = row.get("addresses")
    if isinstance(addresses, list):
        for candidate in addresses:
            if isinstance(candidate, dict):
                return candidate
    elif addresses is not None:
        issues.add(type_issue("address", "a list", addresses))
    return None


# Tags integrators write to tie a Shopify customer to another system's record.
_REFERENCE_PREFIXES = {"y2": "cegid", "cegid": "cegid", "amigo": "amigo"}


def _references(tags: Any) -> tuple[tuple[str, str], ...]:
    """Return the (system, id) pairs that tags like ``y2:PAR01000123`` name."""
    if isinstance(tags, str):
        names = tags.split(",")
    elif isinstance(tags, list):
        names = [tag for tag in tags if isinstance(tag, str)]
    else:
        return ()
    found = []
    for name in names:
        prefix, sep, value = name.strip().partition(":")
        system = _REFERENCE_PREFIXES.get(prefix.strip().lower())
        value = value.strip()
        if sep and system and value and len(value) <= 80:
            found.append((system, value.upper() if system == "amigo" else value))
    return tuple(dict.fromkeys(found))


def _tier(tags: Any, issues: Issues) -> str | None:
    """Return "vip" or "premium" when a tag says so; Shopify has no tier of its own."""
    if isinstance(tags, str):
        names = tags.upper().split(",")
    elif isinstance(tags, list):  # GraphQL and bulk exports give a list
        names = [tag.upper() for tag in tags if isinstance(tag, str)]
    else:
        if tags is not None:
            issues.add(type_issue("tier", "text", tags))
        return None
    upper = {name.strip() for name in names}
    if "VIP" in upper:
        return "vip"
    if "PREMIUM" in upper:
        return "premium"
    return None


def _consents(row: dict[str, Any], issues: Issues) -> tuple[ConsentFacts, ...]:
    """Return the email and SMS consents, falling back to the legacy accepts_marketing."""
    consents: list[ConsentFacts] = []
    email_consent = mapping(row.get("email_marketing_consent"), "consent.email_marketing", issues)
    if email_consent is not None:
        _append_consent(consents, "email_marketing", email_consent, issues)
    else:
        accepts = row.get("accepts_marketing")
        if isinstance(accepts, bool):
            field = "consent.email_marketing"
            consents.append(
                ConsentFacts(
                    purpose="email_marketing",
                    raw_value="accepts_marketing:true" if accepts else "accepts_marketing:false",
                    opt_in_level=bounded(
                        text(row.get("marketing_opt_in_level"), field, issues),
                        _CONSENT_RAW_MAX,
                        field,
                        issues,
                    ),
                    stated_at=_consent_time(row.get("accepts_marketing_updated_at"), field, issues),
                    proof={"source": SOURCE},
                )
            )
        elif accepts is not None:
            issues.add(type_issue("consent.email_marketing", "a boolean", accepts))
    sms_consent = mapping(row.get("sms_marketing_consent"), "consent.sms_marketing", issues)
    if sms_consent is not None:
        _append_consent(consents, "sms_marketing", sms_consent, issues)
    return tuple(consents)


def _append_consent(
    consents: list[ConsentFacts], purpose: str, consent: dict[str, Any], issues: Issues
) -> None:
    """Append the consent object's statement; one without a state says nothing."""
    field = "consent." + purpose
    state = bounded(text(consent.get("state"), field, issues), _CONSENT_RAW_MAX, field, issues)
    if state is None:
        return
    if state.lower() not in _CONSENT_STATES:
        issues.add(
            new_issue(
                field, "unknown_consent_value", "{value} is not a Shopify consent state.", state
            )
        )
    proof: dict[str, Any] = {"source": SOURCE}
    collected_from = text(consent.get("consent_collected_from"), field, issues)
    if collected_from is not None:
        proof["consent_collected_from"] = collected_from
    consents.append(
        ConsentFacts(
            purpose=purpose,
            raw_value=state,
            opt_in_level=bounded(
                text(consent.get("opt_in_level"), field, issues), _CONSENT_RAW_MAX, field, issues
            ),
            stated_at=_consent_time(consent.get("consent_updated_at"), field, issues),
            proof=proof,
        )
    )


def _consent_time(value: Any, field: str, issues: Issues) -> datetime | None:
    """Return when the consent was stated, None when unknown."""
    return issues.take(parse_timestamp(text(value, field, issues), field=field))


# --- orders -------------------------------------------------------------------


@rejecting
def map_order(row: dict[str, Any], ctx: MappingContext) -> MappingResult[OrderFacts]:
    """Map an orders.jsonl object with its lines and its one payment."""
    issues = Issues()
    order_id = require_id(resource_key(row), _ORDER_ID_MAX)
    processed_at = issues.take(
        parse_timestamp(text(row.get("processed_at"), "ordered_at", issues), field="ordered_at")
    )
    ordered_at = processed_at or require(
        parse_timestamp(text(row.get("created_at"), "ordered_at", issues), field="ordered_at"),
        "ordered_at",
        "The order has neither processed_at nor created_at.",
    )
    total_cents = require(
        parse_amount(text(row.get("total_price"), "total", issues), field="total"),
        "total",
        "The order has no total_price.",
    )
    raw_currency = text(row.get("currency"), "currency", issues)
    currency = currency_code(raw_currency)
    if currency is None:
        raise Rejected(
            new_issue("currency", "missing_value", "The order has no currency.")
            if raw_currency is None
            else new_issue(
                "currency", "invalid_currency", "{value} is not an ISO 4217 code.", raw_currency
            )
        )
    financial = (text(row.get("financial_status"), "status", issues) or "").lower()
    if len(financial) > _STATUS_MAX:
        issues.add(new_issue("status", "too_long", "{value} is not a financial status.", financial))
        financial = ""
    cancelled = text(row.get("cancelled_at"), "status", issues) is not None
    customer = mapping(row.get("customer"), "customer", issues)
    customer_id = None if customer is None else shopify_id(customer.get("id"))
    payment_status = financial or "pending"
    return issues.done(
        OrderFacts(
            source_system=SOURCE,
            source_order_id=order_id,
            customer_source_id=bounded(customer_id, _SOURCE_ID_MAX, "customer_id", issues),
            channel="web",
            ordered_at=ordered_at,
            currency=currency,
            total_cents=total_cents,
            status="cancelled" if cancelled else payment_status,
            lines=_lines(row.get("line_items"), issues),
            payments=(
                PaymentFacts(
                    payment_number=1,
                    method=_gateway(row.get("payment_gateway_names"), issues),
                    amount_cents=total_cents,
                    status=payment_status,
                    paid_at=processed_at if payment_status in _PAID_STATES else None,
                ),
            ),
        )
    )


def _gateway(names: Any, issues: Issues) -> str:
    """Return the first payment gateway name, "unknown" when there is none."""
    if isinstance(names, list):
        for name in names:
            gateway = bounded(text(name, "method", issues), _METHOD_MAX, "method", issues)
            if gateway is not None:
                return gateway
    elif names is not None:
        issues.add(type_issue("method", "a list", names))
    return "unknown"


def _lines(items: Any, issues: Issues) -> tuple[OrderLineFacts, ...]:
    """Return the order's lines; a line without a valid quantity or price is left out."""
    if not isinstance(items, list):
        if items is not None:
            issues.add(type_issue("lines", "a list", items))
        return ()
    lines: list[OrderLineFacts] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            issues.add(type_issue("lines", "an object", item))
            continue
        quantity = issues.take(
            parse_int(text(item.get("quantity"), "line.quantity", issues), field="line.quantity")
        )
        unit_cents = issues.take(
            parse_amount(
                text(item.get("price"), "line.unit_price", issues), field="line.unit_price"
            )
        )
        if quantity is None or unit_cents is None or not -INT32_LIMIT < quantity < INT32_LIMIT:
            issues.add(
                new_issue(
                    "lines",
                    "invalid_line",
                    f"Line {index + 1} has no valid quantity or price: it was left out.",
                )
            )
            continue
        discount = issues.take(
            parse_amount(
                text(item.get("total_discount"), "line.discount", issues), field="line.discount"
            )
        )
        lines.append(
            OrderLineFacts(
                line_number=index + 1,
                sku=bounded(
                    text(item.get("sku"), "line.sku", issues), _SKU_MAX, "line.sku", issues
                ),
                label=bounded(
                    text(item.get("title"), "line.label", issues), _LABEL_MAX, "line.label", issues
                ),
                quantity=quantity,
                unit_price_cents=unit_cents,
                discount_cents=discount or 0,
            )
        )
    return tuple(lines)


# --- webhook-only records ------------------------------------------------------
#
# Consent updates, customer deletions and refunds reach AMIgo only as webhooks.
# Each is stored as a record of its own, the body inside an envelope that keeps
# the topic and X-Shopify-Triggered-At (the time of the change when the body
# has none): {"topic": ..., "triggered_at": ..., "body": {...}}.


def webhook_envelope(
    topic: str, triggered_at: datetime | None, body: dict[str, Any]
) -> dict[str, Any]:
    """Return the record a webhook-only delivery is stored as."""
    return {
        "topic": topic,
        "triggered_at": None if triggered_at is None else triggered_at.isoformat(),
        "body": body,
    }


def _body(row: dict[str, Any]) -> dict[str, Any]:
    body = row.get("body")
    return body if isinstance(body, dict) else {}


def consent_update_key(row: dict[str, Any]) -> str | None:
    """Return the customer a consent update is about (email: customer_id; SMS: id)."""
    body = _body(row)
    return shopify_id(body.get("customer_id")) or shopify_id(body.get("id"))


@rejecting
def map_consent_update(
    row: dict[str, Any], ctx: MappingContext
) -> MappingResult[ConsentStatementFacts]:
    """Map customers_email_marketing_consent/update and customers_marketing_consent/update."""
    issues = Issues()
    customer_id = require_id(consent_update_key(row), _SOURCE_ID_MAX)
    body = _body(row)
    triggered_at = _consent_time(row.get("triggered_at"), "triggered_at", issues)
    consents: list[ConsentFacts] = []
    for purpose, key in (
        ("email_marketing", "email_marketing_consent"),
        ("sms_marketing", "sms_marketing_consent"),
    ):
        consent = mapping(body.get(key), "consent." + purpose, issues)
        if consent is not None:
            _append_consent(consents, purpose, consent, issues)
    if not consents:
        return issues.reject(
            new_issue("consent", "no_consent_state", "The update carries no consent state.")
        )
    # Without consent_updated_at, the change happened when Shopify triggered the webhook.
    dated = [
        consent
        if consent.stated_at is not None or triggered_at is None
        else replace(
            consent,
            stated_at=triggered_at,
            proof={**consent.proof, "stated_at_from": "X-Shopify-Triggered-At"},
        )
        for consent in consents
    ]
    topic = text(row.get("topic"), "topic", issues)
    return issues.done(
        ConsentStatementFacts(
            source_system=SOURCE,
            source_id=customer_id,
            consents=tuple(
                replace(consent, proof={**consent.proof, "webhook": topic}) for consent in dated
            ),
        )
    )


@rejecting
def map_customer_deletion(
    row: dict[str, Any], ctx: MappingContext
) -> MappingResult[CustomerDeletionFacts]:
    """Map customers/delete: the account is gone from Shopify, the person is not erased."""
    issues = Issues()
    customer_id = require_id(shopify_id(_body(row).get("id")), _SOURCE_ID_MAX)
    return issues.done(
        CustomerDeletionFacts(
            source_system=SOURCE,
            source_id=customer_id,
            deleted_at=_consent_time(row.get("triggered_at"), "triggered_at", issues),
        )
    )


@rejecting
def map_refund(row: dict[str, Any], ctx: MappingContext) -> MappingResult[RefundFacts]:
    """Map refunds/create: its successful refund transactions, on its order.

    Only a transaction of kind ``refund`` with status ``success`` gave money
    back; one pending, failed or in error is named in an issue and not
    written. A refund none of whose refund transactions succeeded is rejected
    (kept raw with the reason); one without transactions (a restock, nothing
    paid back) is a refund of nothing.
    """
    issues = Issues()
    body = _body(row)
    refund_id = require_id(shopify_id(body.get("id")), _ORDER_ID_MAX)
    order_id = shopify_id(body.get("order_id"))
    if order_id is None or len(order_id) > _ORDER_ID_MAX:
        raise Rejected(new_issue("order", "missing_value", "The refund names no order."))
    refunded_at = _consent_time(
        body.get("processed_at") or body.get("created_at"), "refunded_at", issues
    )
    succeeded: list[RefundTransactionFacts] = []
    not_succeeded: list[str] = []
    transactions = body.get("transactions")
    for transaction in transactions if isinstance(transactions, list) else []:
        if not isinstance(transaction, dict):
            continue
        if (text(transaction.get("kind"), "transactions", issues) or "").lower() != "refund":
            continue
        transaction_id = shopify_id(transaction.get("id"))
        status = (text(transaction.get("status"), "transactions", issues) or "").lower()
        if status != "success":
            not_succeeded.append(
                f"{transaction_id or 'without an id'} {status[:20] or 'no status'}"
            )
            continue
        money = _refund_transaction(transaction, transaction_id, refunded_at, issues)
        if money is not None:
            succeeded.append(money)
    if not_succeeded:
        told = "; ".join(not_succeeded[:10])
        if not succeeded:
            raise Rejected(
                new_issue(
                    "transactions",
                    "refund_not_successful",
                    f"No refund transaction succeeded ({told}): no money went back, "
                    "nothing written.",
                )
            )
        issues.add(
            new_issue(
                "transactions",
                "refund_not_successful",
                f"Refund transactions that did not succeed ({told}) were not written.",
            )
        )
    return issues.done(
        RefundFacts(
            source_system=SOURCE,
            refund_id=refund_id,
            order_source_id=order_id,
            amount_cents=sum(money.amount_cents for money in succeeded),
            currency=next((money.currency for money in succeeded if money.currency), None),
            refunded_at=refunded_at,
            transactions=tuple(succeeded),
        )
    )


def _refund_transaction(
    transaction: dict[str, Any],
    transaction_id: str | None,
    refunded_at: datetime | None,
    issues: Issues,
) -> RefundTransactionFacts | None:
    """Return a successful refund transaction; one without an id or amount is left out."""
    amount = issues.take(
        parse_amount(text(transaction.get("amount"), "amount", issues), field="amount")
    )
    if transaction_id is None or len(transaction_id) > _SOURCE_ID_MAX or amount is None:
        issues.add(
            new_issue(
                "transactions",
                "invalid_transaction",
                "A successful refund transaction has no valid id or amount: it was not written.",
            )
        )
        return None
    processed_at = transaction.get("processed_at") or transaction.get("created_at")
    return RefundTransactionFacts(
        transaction_id=transaction_id,
        method=bounded(
            text(transaction.get("gateway"), "method", issues), _METHOD_MAX, "method", issues
        )
        or "unknown",
        amount_cents=amount,
        currency=currency_code(text(transaction.get("currency"), "currency", issues)),
        processed_at=_consent_time(processed_at, "refunded_at", issues) or refunded_at,
    )


CONSENT_UPDATES: RowMapper[ConsentStatementFacts] = RowMapper(
    entity="consent", required=("body",), key=consent_update_key, map=map_consent_update
)
CUSTOMER_DELETIONS: RowMapper[CustomerDeletionFacts] = RowMapper(
    entity="customer_deletion",
    required=("body",),
    key=lambda row: shopify_id(_body(row).get("id")),
    map=map_customer_deletion,
)
REFUNDS: RowMapper[RefundFacts] = RowMapper(
    entity="refund",
    required=("body",),
    key=lambda row: shopify_id(_body(row).get("id")),
    map=map_refund,
)
CUSTOMERS: RowMapper[CustomerFacts] = RowMapper(
    entity="customer", required=("id",), key=resource_key, map=map_customer
)
ORDERS: RowMapper[OrderFacts] = RowMapper(
    entity="order",
    required=("id", "created_at", "currency", "total_price"),
    key=resource_key,
    map=map_order,
)
