"""What a source row says, once normalized: the contract between source mappers and the loader.

Each connector maps its raw rows (``amigo.connectors.<source>.mapping``) to
these plain, validated facts; the loader writes them. Mappers are pure
functions: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from amigo.quality.issues import ValidationIssue

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MappingContext:
    """What a mapper may need to know beyond the row itself."""

    # IANA zone of a store code, or None when the store is unknown.
    store_timezone: Callable[[str], str | None]
    # ISO alpha-2 country of a store code: the phone region hint of in-store records.
    store_country: Callable[[str], str | None]
    # Zone for local timestamps that name no store (Y2 back office runs in Paris).
    default_timezone: str = "Europe/Paris"


@dataclass(slots=True)  # not frozen: one per row, see readers.RawRow
class MappingResult(Generic[T]):
    """A mapped row: facts, the issues found on optional fields, or why it is rejected."""

    facts: T | None
    issues: tuple[ValidationIssue, ...] = ()
    reject: ValidationIssue | None = None


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """A consent statement exactly as the source made it."""

    purpose: str  # email_marketing, sms_marketing, phone_calls, postal_mail, data_analysis
    raw_value: str | None  # the source's own value: "BrandOnly", "subscribed", "true"
    opt_in_level: str | None = None
    stated_at: datetime | None = None
    proof: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """A person as one source record describes them; values normalized, None when unknown."""

    source_system: str
    source_id: str
    origin: str  # a CustomerOrigin value
    email: str | None = None
    email_match_key: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None  # E.164
    birth_date: date | None = None
    preferred_language: str | None = None  # ISO 639-1, lower case
    preferred_store_id: str | None = None
    tier: str | None = None  # a CustomerTier value, None when the source has no tier
    address_line1: str | None = None
    address_line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    associate_id: str | None = None
    created_at: datetime | None = None  # when the source created the record
    observed_at: datetime | None = None  # the source's last modification: survivorship recency
    closed: bool = False
    consents: tuple[ConsentFacts, ...] = ()
    # Other systems' ids of the same person that this record names, as (system, id):
    # a Y2 card number in a Shopify tag, AMIgo's own id written back.
    references: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ConsentStatementFacts:
    """Consent statements a source sent on their own about one of its customers (a webhook)."""

    source_system: str
    source_id: str  # the customer's id in that source
    consents: tuple[ConsentFacts, ...]


@dataclass(frozen=True, slots=True)
class CustomerDeletionFacts:
    """A source saying it deleted one of its customer records (not an erasure request)."""

    source_system: str
    source_id: str
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class RefundTransactionFacts:
    """One successful transaction of a refund: money that went back, by the source's id."""

    transaction_id: str
    method: str
    amount_cents: int  # positive: the amount given back
    currency: str | None
    processed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RefundFacts:
    """Money given back on an order of a source."""

    source_system: str
    refund_id: str
    order_source_id: str
    amount_cents: int
    currency: str | None
    refunded_at: datetime | None
    transactions: tuple[RefundTransactionFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreFacts:
    id: str
    name: str
    region: str  # a StoreRegion value
    timezone: str
    address_line1: str | None = None
    address_line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    phone: str | None = None
    email: str | None = None
    opening_hours: str | None = None
    manager_associate_id: str | None = None


@dataclass(frozen=True, slots=True)
class AssociateFacts:
    id: str
    first_name: str | None
    last_name: str | None
    store_id: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class ProductFacts:
    sku: str
    name: str
    category: str | None
    collection: str | None
    season: str | None
    price_cents: int | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class OrderLineFacts:
    line_number: int
    sku: str | None
    label: str | None
    quantity: int
    unit_price_cents: int
    discount_cents: int = 0


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    payment_number: int
    method: str
    amount_cents: int
    status: str
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """A sale; Shopify orders carry their lines and payments, Y2 receipts get them from other files."""

    source_system: str
    source_order_id: str
    customer_source_id: str | None  # the same source's customer id; None for anonymous sales
    channel: str  # an OrderChannel value
    ordered_at: datetime
    currency: str
    total_cents: int
    status: str
    store_id: str | None = None
    associate_id: str | None = None
    lines: tuple[OrderLineFacts, ...] = ()
    payments: tuple[PaymentFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiptLineFacts:
    """A Y2 receipt line, attached to its receipt by key."""

    order_source_id: str  # "<Stump>-<Number>"
    line: OrderLineFacts


@dataclass(frozen=True, slots=True)
class ReceiptPaymentFacts:
    """A Y2 receipt payment, attached to its receipt by key."""

    order_source_id: str
    payment: PaymentFacts


@dataclass(frozen=True, slots=True)
class InteractionFacts:
    source_system: str
    source_interaction_id: str
    customer_source_system: str
    customer_source_id: str
    type: str
    channel: str
    occurred_at: datetime
    campaign: str | None = None
    text: str | None = None
    payload: dict[str, Any] | None = None
