"""Cegid Y2 export rows (semicolon CSV, all values text) to normalized facts.

Y2 writes local times of the store that typed them, decimal commas and
alpha-3 countries; see ``docs/formats.md`` for the columns of each file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from amigo.connectors.base import (
    INT64_LIMIT,
    Issues,
    Rejected,
    RowMapper,
    bounded,
    currency_code,
    is_timezone,
    join_key,
    key_text,
    language_code,
    new_issue,
    rejecting,
    require,
    require_id,
    require_int32,
    require_text,
    text,
)
from amigo.ingest.facts import (
    AssociateFacts,
    ConsentFacts,
    CustomerFacts,
    MappingContext,
    MappingResult,
    OrderFacts,
    OrderLineFacts,
    PaymentFacts,
    ProductFacts,
    ReceiptLineFacts,
    ReceiptPaymentFacts,
    StoreFacts,
)
from amigo.quality.addresses import (
    normalize_address_line,
    normalize_city,
    normalize_country,
    normalize_postal_code,
)
from amigo.quality.amounts import parse_amount, parse_bool, parse_int
from amigo.quality.dates import birth_date_from_parts, parse_timestamp
from amigo.quality.emails import email_match_key, normalize_email
from amigo.quality.names import normalize_name
from amigo.quality.phones import normalize_phone

SOURCE = "cegid"

# Column sizes of the tables these facts land in (profiles.models).
_STORE_ID_MAX = 20
_ASSOCIATE_ID_MAX = 20
_SKU_MAX = 40
_ORDER_ID_MAX = 60
_CUSTOMER_ID_MAX = 80
# source_record.source_id: the longest key of any row.
_SOURCE_ID_MAX = 80
_LABEL_MAX = 200

_REGIONS = {"EUROPE": "Europe", "ASIA": "Asia", "AMERICAS": "Americas"}
_TIERS = {"STANDARD": "standard", "PREMIUM": "premium", "VIP": "vip"}
_OPTINS = (
    ("OptinEmail", "email_marketing"),
    ("OptinMobile", "sms_marketing"),
    ("OptinPostal", "postal_mail"),
    ("OptinHomePhone", "phone_calls"),
)
# Y2's CustomerInformationType, compared case-insensitively: the ledger reads the raw value.
_OPTIN_VALUES = frozenset({"askcustomer", "brandonly", "forpartners", "donotuse"})
# Consent raw values land in a String(40) column.
_OPTIN_RAW_MAX = 40
# Y2 DocumentStatus (lower-cased) to AMIgo order status; others pass lower-cased.
_RECEIPT_STATUSES = {
    "": "completed",
    "none": "completed",
    "delivered": "completed",
    "inprogress": "pending",
    "canceled": "cancelled",
    "cancelled": "cancelled",
}
_STATUS_MAX = 30


# --- keys -------------------------------------------------------------------


def store_key(row: dict[str, Any]) -> str | None:
    """Return the store's code."""
    return key_text(row.get("StoreId"))


def associate_key(row: dict[str, Any]) -> str | None:
    """Return the associate's SalesPersonId."""
    return key_text(row.get("SalesPersonId"))


def product_key(row: dict[str, Any]) -> str | None:
    """Return the product's SKU."""
    return key_text(row.get("ItemCode"))


def customer_key(row: dict[str, Any]) -> str | None:
    """Return the Y2 customer code."""
    return key_text(row.get("CustomerId"))


def receipt_key(row: dict[str, Any]) -> str | None:
    """Return the receipt key "<Stump>-<Number>"."""
    return join_key(row.get("Stump"), row.get("Number"))


def receipt_line_key(row: dict[str, Any]) -> str | None:
    """Return the line key "<Stump>-<Number>-<Rank>"."""
    return join_key(row.get("Stump"), row.get("Number"), row.get("Rank"))


def receipt_payment_key(row: dict[str, Any]) -> str | None:
    """Return the payment key "<Stump>-<Number>-P<Rank>"."""
    rank = key_text(row.get("Rank"))
    return join_key(row.get("Stump"), row.get("Number"), None if rank is None else "P" + rank)


# --- stores, associates, products --------------------------------------------


@rejecting
def map_store(row: dict[str, Any], ctx: MappingContext) -> MappingResult[StoreFacts]:
    """Map a stores.csv row; a store without name, known region or valid zone is rejected."""
    issues = Issues()
    store_id = require_id(store_key(row), _STORE_ID_MAX)
    name = require_text(
        text(row.get("StoreName"), "name", issues), "name", "The store has no name.", _LABEL_MAX
    )
    raw_region = text(row.get("RegionId"), "region", issues)
    region = _REGIONS.get((raw_region or "").upper())
    if region is None:
        raise Rejected(
            new_issue(
                "region", "unknown_region", "{value} is not EUROPE, ASIA or AMERICAS.", raw_region
            )
        )
    timezone = text(row.get("TimeZoneId"), "timezone", issues)
    if timezone is None or not is_timezone(timezone):
        raise Rejected(
            new_issue("timezone", "unknown_timezone", "{value} is not an IANA time zone.", timezone)
        )
    country = issues.take(normalize_country(text(row.get("CountryId"), "country", issues)))
    return issues.done(
        StoreFacts(
            id=store_id,
            name=name,
            region=region,
            timezone=timezone,
            address_line1=_address_line(row, "AddressLine1", "address_line1", issues),
            address_line2=_address_line(row, "AddressLine2", "address_line2", issues),
            postal_code=issues.take(
                normalize_postal_code(
                    text(row.get("ZipCode"), "postal_code", issues), country=country
                )
            ),
            city=issues.take(normalize_city(text(row.get("City"), "city", issues))),
            country=country,
            phone=issues.take(
                normalize_phone(text(row.get("PhoneNumber"), "phone", issues), region_hint=country)
            ),
            email=issues.take(normalize_email(text(row.get("Email"), "email", issues))),
            opening_hours=text(row.get("OpeningHours"), "opening_hours", issues),
            manager_associate_id=bounded(
                text(row.get("ManagerId"), "manager_associate_id", issues),
                _ASSOCIATE_ID_MAX,
                "manager_associate_id",
                issues,
            ),
        )
    )


@rejecting
def map_associate(row: dict[str, Any], ctx: MappingContext) -> MappingResult[AssociateFacts]:
    """Map a sales_associates.csv row; Active defaults to true when empty."""
    issues = Issues()
    associate_id = require_id(associate_key(row), _ASSOCIATE_ID_MAX)
    active = issues.take(parse_bool(text(row.get("Active"), "active", issues), field="active"))
    return issues.done(
        AssociateFacts(
            id=associate_id,
            first_name=issues.take(
                normalize_name(text(row.get("FirstName"), "first_name", issues), field="first_name")
            ),
            last_name=issues.take(
                normalize_name(text(row.get("LastName"), "last_name", issues), field="last_name")
            ),
            store_id=bounded(
                text(row.get("StoreId"), "store_id", issues), _STORE_ID_MAX, "store_id", issues
            ),
            active=active is not False,
        )
    )


@rejecting
def map_product(row: dict[str, Any], ctx: MappingContext) -> MappingResult[ProductFacts]:
    """Map a products.csv row; a product without a label is rejected."""
    issues = Issues()
    sku = require_id(product_key(row), _SKU_MAX)
    name = require_text(
        text(row.get("Label"), "name", issues), "name", "The product has no label.", _LABEL_MAX
    )
    raw_currency = text(row.get("CurrencyId"), "currency", issues)
    currency = currency_code(raw_currency)
    if currency is None and raw_currency is not None:
        issues.add(new_issue("currency", "invalid_currency", _NOT_A_CURRENCY, raw_currency))
    return issues.done(
        ProductFacts(
            sku=sku,
            name=name,
            category=_short(row, "FamilyId", "category", 60, issues),
            collection=_short(row, "CollectionId", "collection", 100, issues),
            season=_short(row, "SeasonId", "season", 10, issues),
            price_cents=issues.take(
                parse_amount(text(row.get("TaxIncludedPrice"), "price", issues), field="price")
            ),
            currency=currency,
        )
    )


# --- customers ----------------------------------------------------------------


@rejecting
def map_customer(row: dict[str, Any], ctx: MappingContext) -> MappingResult[CustomerFacts]:
    """Map a customers.csv row; reject it only when nothing could identify the person."""
    issues = Issues()
    customer_id = require_id(customer_key(row), _CUSTOMER_ID_MAX)
    usual_store = text(row.get("UsualStoreId"), "preferred_store_id", issues)
    creation_store = text(row.get("CreationStoreId"), "creation_store_id", issues)
    home_store = usual_store or creation_store

    country = issues.take(normalize_country(text(row.get("CountryId"), "country", issues)))
    region_hint = country
    if region_hint is None:
        region_hint = _store_country(ctx, usual_store) or _store_country(ctx, creation_store)

    email = _first_valid_email(row, issues)
    phone = _first_valid_phone(row, region_hint, issues)
    last_name = issues.take(
        normalize_name(text(row.get("LastName"), "last_name", issues), field="last_name")
    )
    birth_date = issues.take(
        birth_date_from_parts(
            text(row.get("BirthDateDay"), "birth_date", issues),
            text(row.get("BirthDateMonth"), "birth_date", issues),
            text(row.get("BirthDateYear"), "birth_date", issues),
            field="birth_date",
        )
    )
    postal_code = issues.take(
        normalize_postal_code(text(row.get("ZipCode"), "postal_code", issues), country=country)
    )
    if email is None and phone is None and not (last_name and (birth_date or postal_code)):
        return issues.reject(_UNIDENTIFIABLE)

    timezone = (
        _store_timezone(ctx, creation_store)
        or _store_timezone(ctx, usual_store)
        or ctx.default_timezone
    )
    created_at = issues.take(
        parse_timestamp(
            text(row.get("CreationDate"), "created_at", issues),
            default_tz=timezone,
            field="created_at",
        )
    )
    observed_at = (
        issues.take(
            parse_timestamp(
                text(row.get("LastModificationDate"), "observed_at", issues),
                default_tz=timezone,
                field="observed_at",
            )
        )
        or created_at
    )
    associate_id = bounded(
        text(row.get("SalesPersonId"), "associate_id", issues),
        _ASSOCIATE_ID_MAX,
        "associate_id",
        issues,
    )
    consents = _consents(row, observed_at, home_store, associate_id, issues)
    closed = issues.take(parse_bool(text(row.get("Closed"), "closed", issues), field="closed"))
    return issues.done(
        CustomerFacts(
            source_system=SOURCE,
            source_id=customer_id,
            origin="retail",
            email=email,
            email_match_key=None if email is None else email_match_key(email),
            first_name=issues.take(
                normalize_name(text(row.get("FirstName"), "first_name", issues), field="first_name")
            ),
            last_name=last_name,
            phone=phone,
            birth_date=birth_date,
            preferred_language=issues.take(
                language_code(text(row.get("LanguageId"), "preferred_language", issues))
            ),
            preferred_store_id=bounded(usual_store, _STORE_ID_MAX, "preferred_store_id", issues),
            tier=_tier(text(row.get("UserDefinedText1"), "tier", issues), issues),
            address_line1=_address_line(row, "AddressLine1", "address_line1", issues),
            address_line2=_address_line2(row, issues),
            postal_code=postal_code,
            city=issues.take(normalize_city(text(row.get("City"), "city", issues))),
            region=_short(row, "RegionId", "region", 100, issues),
            country=country,
            associate_id=associate_id,
            created_at=created_at,
            observed_at=observed_at,
            closed=closed is True,
            consents=consents,
        )
    )


_UNIDENTIFIABLE = new_issue(
    "record",
    "unidentifiable",
    "The customer has no valid email, no valid phone, and no last name with a birth date "
    "or postal code: nothing could tie it to a person.",
)
_NOT_A_CURRENCY = "{value} is not an ISO 4217 currency code."


def _first_valid_email(row: dict[str, Any], issues: Issues) -> str | None:
    """Return Email when valid, else AlternativeEmail when valid."""
    for column in ("Email", "AlternativeEmail"):
        email = issues.take(normalize_email(text(row.get(column), "email", issues), field="email"))
        if email is not None:
            return email
    return None


def _first_valid_phone(row: dict[str, Any], region_hint: str | None, issues: Issues) -> str | None:
    """Return the mobile number when valid, else the home number when valid, in E.164."""
    for column in ("CellularPhoneNumber", "HomePhoneNumber"):
        phone = issues.take(
            normalize_phone(
                text(row.get(column), "phone", issues), region_hint=region_hint, field="phone"
            )
        )
        if phone is not None:
            return phone
    return None


def _tier(raw: str | None, issues: Issues) -> str | None:
    """Return the loyalty tier of UserDefinedText1, None (with an issue when unknown)."""
    if raw is None:
        return None
    tier = _TIERS.get(raw.upper())
    if tier is None:
        issues.add(
            new_issue("tier", "unknown_tier", "{value} is not STANDARD, PREMIUM or VIP.", raw)
        )
    return tier


def _consents(
    row: dict[str, Any],
    stated_at: datetime | None,
    store_id: str | None,
    associate_id: str | None,
    issues: Issues,
) -> tuple[ConsentFacts, ...]:
    """Return one raw consent per non-empty Optin column, its value exactly as given."""
    consents: list[ConsentFacts] = []
    for column, purpose in _OPTINS:
        raw = row.get(column)
        field = "consent." + purpose
        value = text(raw, field, issues)
        if value is None:
            continue
        if not isinstance(raw, str):
            raw = value
        if value.lower() not in _OPTIN_VALUES:
            issues.add(
                new_issue(
                    field,
                    "unknown_consent_value",
                    "{value} is not AskCustomer, BrandOnly, ForPartners or DoNotUse.",
                    raw,
                )
            )
        consents.append(
            ConsentFacts(
                purpose=purpose,
                raw_value=raw if len(raw) <= _OPTIN_RAW_MAX else raw[:_OPTIN_RAW_MAX],
                stated_at=stated_at,
                proof={
                    "source": SOURCE,
                    "field": column,
                    "store_id": store_id,
                    "associate_id": associate_id,
                },
            )
        )
    return tuple(consents)


def _address_line(row: dict[str, Any], column: str, field: str, issues: Issues) -> str | None:
    """Return an address line column normalized."""
    return issues.take(normalize_address_line(text(row.get(column), field, issues), field=field))


def _address_line2(row: dict[str, Any], issues: Issues) -> str | None:
    """Return AddressLine2 and AddressLine3 joined: the profile keeps two lines."""
    line2 = _address_line(row, "AddressLine2", "address_line2", issues)
    line3 = _address_line(row, "AddressLine3", "address_line2", issues)
    if line2 and line3:
        return f"{line2}, {line3}"
    return line2 or line3


def _short(row: dict[str, Any], column: str, field: str, limit: int, issues: Issues) -> str | None:
    """Return a free-text column, None with an issue when longer than its column."""
    return bounded(text(row.get(column), field, issues), limit, field, issues)


def _store_country(ctx: MappingContext, store_id: str | None) -> str | None:
    """Return the store's country, None when there is no store or it is unknown."""
    return None if store_id is None else ctx.store_country(store_id)


def _store_timezone(ctx: MappingContext, store_id: str | None) -> str | None:
    """Return the store's time zone, None when there is no store or it is unknown."""
    return None if store_id is None else ctx.store_timezone(store_id)


# --- receipts, lines, payments ------------------------------------------------


@rejecting
def map_receipt(row: dict[str, Any], ctx: MappingContext) -> MappingResult[OrderFacts]:
    """Map a receipts.csv header; its store, date, total and currency are required."""
    issues = Issues()
    order_id = require_id(receipt_key(row), _ORDER_ID_MAX)
    store_id = require_text(
        text(row.get("StoreId"), "store_id", issues), "store_id", "The receipt names no store."
    )
    timezone = ctx.store_timezone(store_id)
    if timezone is None:
        raise Rejected(
            new_issue("store_id", "unknown_store", "{value} is not a known store.", store_id)
        )
    ordered_at = require(
        parse_timestamp(
            text(row.get("Date"), "ordered_at", issues), default_tz=timezone, field="ordered_at"
        ),
        "ordered_at",
        "The receipt has no date.",
    )
    total_cents = require(
        parse_amount(text(row.get("TaxIncludedTotalAmount"), "total", issues), field="total"),
        "total",
        "The receipt has no total amount.",
    )
    currency = _required_currency(text(row.get("CurrencyId"), "currency", issues))
    customer_id = bounded(
        text(row.get("CustomerId"), "customer_id", issues),
        _CUSTOMER_ID_MAX,
        "customer_id",
        issues,
    )
    return issues.done(
        OrderFacts(
            source_system=SOURCE,
            source_order_id=order_id,
            customer_source_id=customer_id,
            channel="store",
            ordered_at=ordered_at,
            currency=currency,
            total_cents=total_cents,
            status=_receipt_status(row, issues),
            store_id=bounded(store_id, _STORE_ID_MAX, "store_id", issues),
            associate_id=bounded(
                text(row.get("SalesPersonId"), "associate_id", issues),
                _ASSOCIATE_ID_MAX,
                "associate_id",
                issues,
            ),
        )
    )


def _required_currency(raw: str | None) -> str:
    """Return the ISO 4217 code, or reject the row."""
    currency = currency_code(raw)
    if currency is None:
        if raw is None:
            raise Rejected(new_issue("currency", "missing_value", "The sale has no currency."))
        raise Rejected(new_issue("currency", "invalid_currency", _NOT_A_CURRENCY, raw))
    return currency


def _receipt_status(row: dict[str, Any], issues: Issues) -> str:
    """Return the order status: inactive or cancelled, returned, else the Y2 status."""
    active = issues.take(parse_bool(text(row.get("Active"), "active", issues), field="active"))
    raw_status = text(row.get("Status"), "status", issues) or ""
    status = _RECEIPT_STATUSES.get(raw_status.lower()) or raw_status.lower()
    if active is False or status == "cancelled":
        return "cancelled"
    if (text(row.get("Type"), "type", issues) or "").lower() == "returnnotice":
        return "returned"
    if len(status) > _STATUS_MAX:
        issues.add(
            new_issue("status", "too_long", f"{{value}} is longer than {_STATUS_MAX}.", raw_status)
        )
        return "completed"
    return status


@rejecting
def map_receipt_line(row: dict[str, Any], ctx: MappingContext) -> MappingResult[ReceiptLineFacts]:
    """Map a receipt_lines.csv row; discount = (unit - net unit price) * quantity."""
    issues = Issues()
    require_id(receipt_line_key(row), _SOURCE_ID_MAX)
    order_id = require_id(receipt_key(row), _ORDER_ID_MAX)
    line_number = require_int32(
        parse_int(text(row.get("Rank"), "line_number", issues), field="line_number"),
        "line_number",
        "The line has no rank.",
    )
    quantity = require_int32(
        parse_int(text(row.get("Quantity"), "quantity", issues), field="quantity"),
        "quantity",
        "The line has no quantity.",
    )
    unit_cents = require(
        parse_amount(
            text(row.get("TaxIncludedUnitPrice"), "unit_price", issues), field="unit_price"
        ),
        "unit_price",
        "The line has no unit price.",
    )
    net_cents = issues.take(
        parse_amount(
            text(row.get("TaxIncludedNetUnitPrice"), "net_unit_price", issues),
            field="net_unit_price",
        )
    )
    # The sign follows the quantity: a returned discounted item gives the discount back.
    discount_cents = 0 if net_cents is None else (unit_cents - net_cents) * quantity
    if not -INT64_LIMIT < discount_cents < INT64_LIMIT:
        issues.add(
            new_issue(
                "net_unit_price",
                "out_of_range",
                "{value} gives an impossible discount.",
                str(net_cents),
            )
        )
        discount_cents = 0
    return issues.done(
        ReceiptLineFacts(
            order_source_id=order_id,
            line=OrderLineFacts(
                line_number=line_number,
                sku=_short(row, "ItemCode", "sku", _SKU_MAX, issues),
                label=_short(row, "Label", "label", _LABEL_MAX, issues),
                quantity=quantity,
                unit_price_cents=unit_cents,
                discount_cents=discount_cents,
            ),
        )
    )


@rejecting
def map_receipt_payment(
    row: dict[str, Any], ctx: MappingContext
) -> MappingResult[ReceiptPaymentFacts]:
    """Map a receipt_payments.csv row; DueDate is read in the back office's zone."""
    issues = Issues()
    require_id(receipt_payment_key(row), _SOURCE_ID_MAX)
    order_id = require_id(receipt_key(row), _ORDER_ID_MAX)
    payment_number = require_int32(
        parse_int(text(row.get("Rank"), "payment_number", issues), field="payment_number"),
        "payment_number",
        "The payment has no rank.",
    )
    amount_cents = require(
        parse_amount(text(row.get("Amount"), "amount", issues), field="amount"),
        "amount",
        "The payment has no amount.",
    )
    method = (
        _short(row, "Code", "method", 40, issues)
        or _short(row, "Label", "method", 40, issues)
        or "unknown"
    )
    received = issues.take(
        parse_bool(text(row.get("IsReceivedPayment"), "status", issues), field="status")
    )
    # A payment row names no store: Y2's back office zone is the best guess.
    paid_at = issues.take(
        parse_timestamp(
            text(row.get("DueDate"), "paid_at", issues),
            default_tz=ctx.default_timezone,
            field="paid_at",
        )
    )
    return issues.done(
        ReceiptPaymentFacts(
            order_source_id=order_id,
            payment=PaymentFacts(
                payment_number=payment_number,
                method=method,
                amount_cents=amount_cents,
                status="received" if received else "pending",
                paid_at=paid_at,
            ),
        )
    )


STORES: RowMapper[StoreFacts] = RowMapper(
    entity="store",
    required=("StoreId", "StoreName", "RegionId", "TimeZoneId"),
    key=store_key,
    map=map_store,
)
ASSOCIATES: RowMapper[AssociateFacts] = RowMapper(
    entity="associate", required=("SalesPersonId",), key=associate_key, map=map_associate
)
PRODUCTS: RowMapper[ProductFacts] = RowMapper(
    entity="product", required=("ItemCode", "Label"), key=product_key, map=map_product
)
CUSTOMERS: RowMapper[CustomerFacts] = RowMapper(
    entity="customer", required=("CustomerId",), key=customer_key, map=map_customer
)
RECEIPTS: RowMapper[OrderFacts] = RowMapper(
    entity="order",
    required=("Stump", "Number", "Date", "StoreId", "CurrencyId", "TaxIncludedTotalAmount"),
    key=receipt_key,
    map=map_receipt,
)
RECEIPT_LINES: RowMapper[ReceiptLineFacts] = RowMapper(
    entity="order_line",
    required=("Stump", "Number", "Rank", "Quantity", "TaxIncludedUnitPrice"),
    key=receipt_line_key,
    map=map_receipt_line,
)
RECEIPT_PAYMENTS: RowMapper[ReceiptPaymentFacts] = RowMapper(
    entity="payment",
    required=("Stump", "Number", "Rank", "Amount"),
    key=receipt_payment_key,
    map=map_receipt_payment,
)
