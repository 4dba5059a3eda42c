"""The customer repository: golden profiles and everything attached to them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.crypto import EncryptedDate, EncryptedText, maintain_blind_indexes
from amigo.core.db import Base, BigIntId, JSONType, UTCDateTime, str_enum
from amigo.core.sealed import SealedJSON


class CustomerOrigin(enum.StrEnum):
    RETAIL = "retail"
    ECOMMERCE = "e-commerce"
    WHOLESALE = "wholesale"
    WEB_FORM = "web form"


class CustomerTier(enum.StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    VIP = "vip"


class CustomerStatus(enum.StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    ERASED = "erased"


class StoreRegion(enum.StrEnum):
    EUROPE = "Europe"
    ASIA = "Asia"
    AMERICAS = "Americas"


class OrderChannel(enum.StrEnum):
    STORE = "store"
    WEB = "web"


class StoreRelation(enum.StrEnum):
    PREFERRED = "preferred"
    VISITED = "visited"


class GoldenCustomer(Base):
    """One person: the trustworthy profile derived from their source records."""

    __tablename__ = "golden_customer"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(24), unique=True)
    # Direct identifiers are encrypted (docs/encryption.md); exact lookups go
    # through the blind indexes: email_index of the match key, phone_index of E.164.
    email: Mapped[str | None] = mapped_column(EncryptedText("golden_customer.email"))
    email_match_key: Mapped[str | None] = mapped_column(
        EncryptedText("golden_customer.email_match_key")
    )
    email_index: Mapped[str | None] = mapped_column(String(22), index=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100), index=True)
    phone: Mapped[str | None] = mapped_column(EncryptedText("golden_customer.phone"))  # E.164
    phone_index: Mapped[str | None] = mapped_column(String(22), index=True)
    birth_date: Mapped[date | None] = mapped_column(EncryptedDate("golden_customer.birth_date"))
    preferred_language: Mapped[str | None] = mapped_column(String(8))
    preferred_store_id: Mapped[str | None] = mapped_column(ForeignKey("store.id"))
    origin: Mapped[CustomerOrigin] = mapped_column(str_enum(CustomerOrigin))
    tier: Mapped[CustomerTier] = mapped_column(
        str_enum(CustomerTier), default=CustomerTier.STANDARD
    )
    address_line1: Mapped[str | None] = mapped_column(
        EncryptedText("golden_customer.address_line1")
    )
    address_line2: Mapped[str | None] = mapped_column(
        EncryptedText("golden_customer.address_line2")
    )
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    status: Mapped[CustomerStatus] = mapped_column(
        str_enum(CustomerStatus), default=CustomerStatus.ACTIVE
    )
    # Indexed: the consent projection finds the profiles merged into a survivor.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    # field -> {"source": system, "record": source_record.id, "at": iso time}:
    # which source record each value came from (invariant 2: the profile is derived).
    lineage: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


maintain_blind_indexes(
    GoldenCustomer,
    {"email_index": ("email_match_key", "email"), "phone_index": ("phone", "phone")},
)


class Store(Base):
    """A physical store, keyed by its Cegid Y2 store code."""

    __tablename__ = "store"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    opening_hours: Mapped[str | None] = mapped_column(Text)
    # No foreign key: Y2 exports the manager's id before the associates file.
    manager_associate_id: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[StoreRegion] = mapped_column(str_enum(StoreRegion))
    timezone: Mapped[str] = mapped_column(String(64))


class SalesAssociate(Base):
    """A sales associate (Y2 ``SalesPerson``) working in a store."""

    __tablename__ = "sales_associate"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    store_id: Mapped[str | None] = mapped_column(ForeignKey("store.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CustomerStore(Base):
    """A customer's tie to a store: preferred (usual store) or visited (bought there)."""

    __tablename__ = "customer_store"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("golden_customer.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"), primary_key=True)
    relation: Mapped[StoreRelation] = mapped_column(str_enum(StoreRelation), primary_key=True)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerAssociate(Base):
    """A sales associate assigned to a customer."""

    __tablename__ = "customer_associate"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("golden_customer.id", ondelete="CASCADE"), primary_key=True
    )
    associate_id: Mapped[str] = mapped_column(ForeignKey("sales_associate.id"), primary_key=True)
    assigned_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Product(Base):
    """A catalogue item, keyed by SKU (Y2 ``ItemCode``)."""

    __tablename__ = "product"

    sku: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(60))
    collection: Mapped[str | None] = mapped_column(String(100))
    season: Mapped[str | None] = mapped_column(String(10))
    price_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))


class Order(Base):
    """A sale in a store (a Y2 receipt) or on the web (a Shopify order)."""

    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("source_system", "source_order_id"),
        Index("ix_customer_order_customer_ordered", "customer_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_system: Mapped[str] = mapped_column(String(20))
    source_order_id: Mapped[str] = mapped_column(String(60))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("golden_customer.id"))
    # The source customer the order names: the profile follows its link through merges.
    customer_link_id: Mapped[int | None] = mapped_column(ForeignKey("identity_link.id"), index=True)
    channel: Mapped[OrderChannel] = mapped_column(str_enum(OrderChannel))
    store_id: Mapped[str | None] = mapped_column(ForeignKey("store.id"))
    associate_id: Mapped[str | None] = mapped_column(String(20))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(30))


class OrderLine(Base):
    """One product line of an order; amounts in cents of the order's currency."""

    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_number"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    line_number: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str | None] = mapped_column(String(40), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class Payment(Base):
    """A payment recorded against an order; money given back (a refund) is negative."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("order_id", "payment_number"),
        # A payment the source names by an id of its own (a Shopify refund transaction)
        # is written once: partial, as an order's own payments have none.
        Index(
            "ix_payment_source_payment",
            "order_id",
            "source_payment_id",
            unique=True,
            postgresql_where=text("source_payment_id IS NOT NULL"),
            sqlite_where=text("source_payment_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    payment_number: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(40))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(30))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The source's id of a payment written on its own, apart from the order's versions
    # (a Shopify refund transaction); None for the payments an order or receipt carries.
    source_payment_id: Mapped[str | None] = mapped_column(String(80))


class Interaction(Base):
    """Something a customer did or was sent: an email open, a visit, a call."""

    __tablename__ = "interaction"
    __table_args__ = (
        UniqueConstraint("source_system", "source_interaction_id"),
        Index("ix_interaction_customer_occurred", "customer_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_system: Mapped[str] = mapped_column(String(20))
    source_interaction_id: Mapped[str] = mapped_column(String(60))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("golden_customer.id"))
    customer_link_id: Mapped[int | None] = mapped_column(ForeignKey("identity_link.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    campaign: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ManualRectification(Base):
    """A value a person had corrected (GDPR article 16): it outranks every source.

    Survivorship applies the latest rectification of each field of a profile,
    and of every profile merged into it, over what the source records say
    (profiles/rectification.py); an unmerge gives each profile back its own.
    """

    __tablename__ = "manual_rectification"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    # The corrected value, normalized as the sources' values are (None: the field removed).
    value: Mapped[Any] = mapped_column(SealedJSON("manual_rectification.value"), nullable=True)
    request_id: Mapped[int | None] = mapped_column(BigInteger)  # the subject request, if any
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
