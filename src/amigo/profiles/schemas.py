"""Read models of the customer repository, shared by the CLI and (later) the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from amigo.consent.schemas import CurrentConsent


class _ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class GoldenProfile(_ReadModel):
    id: int
    external_id: str
    status: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: date | None
    preferred_language: str | None
    preferred_store_id: str | None
    origin: str
    tier: str
    address_line1: str | None
    address_line2: str | None
    postal_code: str | None
    city: str | None
    region: str | None
    country: str | None
    lineage: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SourceRecordView(_ReadModel):
    id: int
    source_system: str
    entity: str
    source_id: str
    received_at: datetime
    status: str
    payload: dict[str, Any]


class OrderLineView(_ReadModel):
    line_number: int
    sku: str | None
    label: str | None
    quantity: int
    unit_price_cents: int
    discount_cents: int


class OrderView(_ReadModel):
    id: int
    customer_id: int | None
    source_system: str
    source_order_id: str
    channel: str
    store_id: str | None
    ordered_at: datetime
    currency: str
    total_cents: int
    status: str
    lines: list[OrderLineView] = []


class ConsentView(_ReadModel):
    source_system: str
    source_id: str
    purpose: str
    raw_value: str | None
    opt_in_level: str | None
    stated_at: datetime | None
    proof: dict[str, Any]


class InteractionView(_ReadModel):
    id: int
    type: str
    channel: str
    occurred_at: datetime
    campaign: str | None
    text: str | None


class StoreLinkView(_ReadModel):
    store_id: str
    store_name: str
    relation: str
    since: datetime | None


class AssociateLinkView(_ReadModel):
    associate_id: str
    name: str
    store_id: str | None
    assigned_since: datetime | None


class Client360(_ReadModel):
    """Everything a store associate needs to know about one customer."""

    profile: GoldenProfile
    sources: list[SourceRecordView]
    orders: list[OrderView]
    order_count: int
    lifetime_value_cents: dict[str, int]
    consents: list[ConsentView]  # as each source stated them
    consent_states: list[CurrentConsent]  # the effective state per purpose (the ledger's)
    interactions: list[InteractionView]
    interaction_count: int
    stores: list[StoreLinkView]
    associates: list[AssociateLinkView]


class CustomerSummary(_ReadModel):
    """A search hit: enough to tell people apart, not the whole profile."""

    id: int
    external_id: str
    status: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    city: str | None
    tier: str


class StoreView(_ReadModel):
    """A store, with its contact details and manager."""

    id: str
    name: str
    address_line1: str | None
    address_line2: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    phone: str | None
    email: str | None
    opening_hours: str | None
    manager_associate_id: str | None
    region: str
    timezone: str


class AssociateView(_ReadModel):
    """A sales associate (staff, not a customer)."""

    id: str
    first_name: str | None
    last_name: str | None
    store_id: str | None
    active: bool


class ProductView(_ReadModel):
    """A catalogue item."""

    sku: str
    name: str
    category: str | None
    collection: str | None
    season: str | None
    price_cents: int | None
    currency: str | None


# The personal fields each read model shows, named in the audit log of reads.
SUMMARY_FIELDS = ("first_name", "last_name", "email", "phone", "city")
ORDER_FIELDS = ("orders", "order_lines")
INTERACTION_FIELDS = ("interactions",)
CLIENT_360_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "address",
    "sources",
    "orders",
    "consents",
    "interactions",
    "stores",
    "associates",
)
