"""Shopify Admin REST resources: customers and orders, one JSON object per line."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import orjson

from amigo.synth.catalog import Product
from amigo.synth.geo import COUNTRIES, ENGLISH_NAMES
from amigo.synth.people import Address, Person
from amigo.synth.records import Identity
from amigo.synth.timefmt import DAY, HISTORY_START_TS, REF_TS, iso_local

SHOP_ZONE = "Europe/Paris"  # Shopify writes timestamps in the shop's time zone
SHOP_CURRENCY = "EUR"
VENDOR = "AMI Paris"
# Consent objects replaced accepts_marketing in 2022; older records may still carry it.
_LEGACY_BEFORE = 1_640_995_200  # 2022-01-01T00:00:00Z
_GATEWAYS: tuple[tuple[str, ...], ...] = (
    ("shopify_payments",),
    ("shopify_payments",),
    ("shopify_payments",),
    ("paypal",),
    ("shopify_payments", "gift_card"),
)
_DISCOUNTS = (("WELCOME10", 10), ("FRIENDS15", 15), ("SALE30", 30))
_NOTES = ("Prefers size M", "Gift wrapping please", "Called about a delivery", "Tailoring client")


def money(cents: int) -> str:
    """Format an amount in cents as Shopify's decimal string with a dot."""
    sign = "-" if cents < 0 else ""
    major, minor = divmod(abs(cents), 100)
    return f"{sign}{major}.{minor:02d}"


def dumps(obj: dict[str, Any]) -> bytes:
    """Serialize one JSON line (compact, UTF-8, keys in insertion order)."""
    return orjson.dumps(obj) + b"\n"


@dataclass(slots=True)
class OrderTotals:
    """What a customer resource reports about its orders."""

    count: int = 0
    spent: int = 0  # cents
    last_id: int | None = None
    last_name: str | None = None


def _address_object(
    identity: Identity, address: Address, phone: str | None, *, default: bool
) -> dict[str, Any]:
    city = address.city
    latin = identity.latin or not COUNTRIES[city.country].cjk
    province = city.region_latin if latin else city.region
    first, last = identity.first or None, identity.last or None
    return {
        "first_name": first,
        "last_name": last,
        "company": None,
        "address1": address.line1_latin if latin else address.line1,
        "address2": (address.line2_latin if latin else address.line2) or None,
        "city": city.name_latin if latin else city.name,
        "province": province or None,
        "country": ENGLISH_NAMES[city.country],
        "zip": address.zip_code,
        "phone": phone,
        "name": " ".join(n for n in (first, last) if n),
        "province_code": city.region_code or None,
        "country_code": city.country,
        "country_name": ENGLISH_NAMES[city.country],
        "default": default,
    }


class ShopifyWriter:
    """Write Shopify customers and orders with ids, names and totals that agree."""

    def __init__(
        self,
        *,
        rng: random.Random,
        pick_product: Callable[[int], Product],
        customers_out: IO[bytes],
        orders_out: IO[bytes],
    ) -> None:
        self._rng = rng
        self._pick = pick_product
        self._customers_out = customers_out
        self._orders_out = orders_out
        self._customer_id = 6_840_000_000_000
        self._address_id = 8_910_000_000_000
        self._order_id = 5_520_000_000_000
        self._line_id = 14_100_000_000_000
        self._order_number = 1000
        self.customer_count = 0
        self.order_count = 0

    def new_customer_id(self) -> int:
        """Reserve the id of the next customer (ids only grow)."""
        self._customer_id += 1 + int(self._rng.random() * 40)
        return self._customer_id

    def draw_state(self) -> str:
        """Return an account state: most accounts are activated, some never were."""
        roll = self._rng.random()
        return "enabled" if roll < 0.7 else "disabled" if roll < 0.95 else "invited"

    def customer_stub(
        self, customer_id: int, identity: Identity, created: int, updated: int, state: str
    ) -> dict[str, Any]:
        """Return the customer object embedded in that customer's orders."""
        return {
            "id": customer_id,
            "email": identity.email or None,
            "created_at": iso_local(created, SHOP_ZONE),
            "updated_at": iso_local(updated, SHOP_ZONE),
            "first_name": identity.first or None,
            "last_name": identity.last or None,
            "state": state,
            "verified_email": bool(identity.email) and state == "enabled",
            "phone": identity.phone or None,
            "currency": SHOP_CURRENCY,
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        }

    def write_customer(
        self,
        *,
        customer_id: int,
        person: Person,
        identity: Identity,
        created: int,
        updated: int,
        totals: OrderTotals,
        state: str,
        extra_tags: tuple[str, ...] = (),
    ) -> None:
        """Write one customer resource."""
        rng = self._rng
        email = identity.email
        phone = identity.phone or None
        tags = [t for t in (person.tier if person.tier != "STANDARD" else "",) if t]
        if identity.email_optin and email:
            tags.append("newsletter")
        tags += extra_tags
        obj: dict[str, Any] = {
            "id": customer_id,
            "email": email or None,
            "created_at": iso_local(created, SHOP_ZONE),
            "updated_at": iso_local(updated, SHOP_ZONE),
            "first_name": identity.first or None,
            "last_name": identity.last or None,
            "orders_count": totals.count,
            "state": state,
            "total_spent": money(totals.spent),
            "last_order_id": totals.last_id,
            "note": rng.choice(_NOTES) if rng.random() < 0.02 else None,
            "verified_email": bool(email) and state == "enabled",
            "multipass_identifier": None,
            "tax_exempt": False,
            "tags": ", ".join(tags),
            "last_order_name": totals.last_name,
            "currency": SHOP_CURRENCY,
            "phone": phone,
        }
        addresses: list[dict[str, Any]] = []
        if identity.address is not None:
            self._address_id += 1 + int(rng.random() * 30)
            default = {"id": self._address_id, "customer_id": customer_id}
            default.update(_address_object(identity, identity.address, phone, default=True))
            addresses.append(default)
            old = person.old_address
            if old is not None and old is not identity.address and rng.random() < 0.5:
                self._address_id += 1
                previous = {"id": self._address_id, "customer_id": customer_id}
                previous.update(_address_object(identity, old, None, default=False))
                addresses.append(previous)
        obj["addresses"] = addresses
        obj["tax_exemptions"] = []
        if created < _LEGACY_BEFORE and rng.random() < 0.4:
            obj["accepts_marketing"] = identity.email_optin and bool(email)
            obj["accepts_marketing_updated_at"] = iso_local(created, SHOP_ZONE)
            obj["marketing_opt_in_level"] = "single_opt_in" if identity.email_optin else None
        else:
            obj["email_marketing_consent"] = self._email_consent(person, identity, email, created)
            obj["sms_marketing_consent"] = self._sms_consent(identity, phone, created)
        obj["admin_graphql_api_id"] = f"gid://shopify/Customer/{customer_id}"
        obj["default_address"] = addresses[0] if addresses else None
        self._customers_out.write(dumps(obj))
        self.customer_count += 1

    def write_bad_customer(self, ts: int) -> None:
        """Write a customer with an unusable e-mail and no phone: the loader must reject it."""
        customer_id = self.new_customer_id()
        obj: dict[str, Any] = {
            "id": customer_id,
            "email": "not-an-email",
            "created_at": iso_local(ts, SHOP_ZONE),
            "updated_at": iso_local(ts, SHOP_ZONE),
            "first_name": None,
            "last_name": None,
            "orders_count": 0,
            "state": "disabled",
            "total_spent": "0.00",
            "last_order_id": None,
            "note": None,
            "verified_email": False,
            "multipass_identifier": None,
            "tax_exempt": False,
            "tags": "",
            "last_order_name": None,
            "currency": SHOP_CURRENCY,
            "phone": None,
            "addresses": [],
            "tax_exemptions": [],
            "email_marketing_consent": None,
            "sms_marketing_consent": None,
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "default_address": None,
        }
        self._customers_out.write(dumps(obj))
        self.customer_count += 1

    def _email_consent(
        self, person: Person, identity: Identity, email: str, created: int
    ) -> dict[str, Any] | None:
        rng = self._rng
        if not email or rng.random() < 0.04:
            return None
        when = created + int(rng.random() * 600)
        if identity.email_optin:
            state = "pending" if rng.random() < 0.03 else "subscribed"
            level = "confirmed_opt_in" if rng.random() < 0.5 else "single_opt_in"
            return {
                "state": state,
                "opt_in_level": level,
                "consent_updated_at": iso_local(when, SHOP_ZONE),
            }
        if person.optin_flip_ts and created >= person.optin_flip_ts:
            return {
                "state": "unsubscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": iso_local(max(created, person.optin_flip_ts), SHOP_ZONE),
            }
        return {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
        }

    def _sms_consent(
        self, identity: Identity, phone: str | None, created: int
    ) -> dict[str, Any] | None:
        rng = self._rng
        if phone is None:
            return None
        subscribed = identity.sms_optin
        return {
            "state": "subscribed" if subscribed else "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": iso_local(created + 60, SHOP_ZONE) if subscribed else None,
            "consent_collected_from": "SHOPIFY" if rng.random() < 0.8 else "OTHER",
        }

    def write_order(
        self,
        *,
        ts: int,
        person: Person,
        identity: Identity,
        email: str,
        customer: dict[str, Any] | None,
        totals: OrderTotals | None,
        bad_customer_id: int | None = None,
    ) -> None:
        """Write one order; `customer` None is a guest checkout."""
        rng = self._rng
        self._order_id += 1 + int(rng.random() * 5000)
        self._order_number += 1
        order_id, name = self._order_id, f"#{self._order_number}"
        day = ts // DAY
        line_items: list[dict[str, Any]] = []
        discount_code = rng.choice(_DISCOUNTS) if rng.random() < 0.12 else None
        subtotal = discounts = 0
        for _ in range(1 + int(rng.expovariate(1.4))):
            product = self._pick(day)
            quantity = 2 if rng.random() < 0.05 else 1
            price = product.price_eur * 100
            discount = price * quantity * discount_code[1] // 100 if discount_code else 0
            subtotal += price * quantity
            discounts += discount
            self._line_id += 1 + int(rng.random() * 20)
            line_items.append(
                {
                    "id": self._line_id,
                    "variant_id": product.variant_id,
                    "product_id": product.product_id,
                    "sku": product.item_code,
                    "title": product.title,
                    "variant_title": product.variant_title,
                    "name": f"{product.title} - {product.variant_title}",
                    "vendor": VENDOR,
                    "quantity": quantity,
                    "price": money(price),
                    "total_discount": money(discount),
                    "requires_shipping": True,
                    "taxable": True,
                }
            )
        total = subtotal - discounts
        vat = person.country.vat
        financial, fulfillment, cancelled_at, reason = self._status(ts)
        updated = min(REF_TS - 60, ts + int(rng.random() * 6 * DAY))
        address = identity.address or person.address
        obj: dict[str, Any] = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": name,
            "order_number": self._order_number,
            "email": email or None,
            "contact_email": email or None,
            "phone": None,
            "created_at": iso_local(ts, SHOP_ZONE),
            "processed_at": iso_local(ts, SHOP_ZONE),
            "updated_at": iso_local(max(ts, updated), SHOP_ZONE),
            "cancelled_at": iso_local(cancelled_at, SHOP_ZONE) if cancelled_at else None,
            "cancel_reason": reason,
            "closed_at": iso_local(max(ts, updated), SHOP_ZONE) if fulfillment else None,
            "currency": SHOP_CURRENCY,
            "presentment_currency": SHOP_CURRENCY,
            "subtotal_price": money(total),
            "total_line_items_price": money(subtotal),
            "total_discounts": money(discounts),
            "total_tax": money(round(total * vat / (1 + vat))),
            "total_price": money(total),
            "taxes_included": True,
            "financial_status": financial,
            "fulfillment_status": fulfillment,
            "source_name": "web",
            "test": False,
            "discount_codes": (
                [
                    {
                        "code": discount_code[0],
                        "amount": money(discounts),
                        "type": "percentage",
                    }
                ]
                if discount_code
                else []
            ),
            "payment_gateway_names": list(rng.choice(_GATEWAYS)),
            "customer": customer,
            "shipping_address": _address_object(
                identity, address, identity.phone or None, default=False
            ),
            "line_items": line_items,
        }
        del obj["shipping_address"]["default"]
        if bad_customer_id is not None:
            obj["customer"] = {"id": bad_customer_id, "email": email or None}
        self._orders_out.write(dumps(obj))
        self.order_count += 1
        if totals is not None and cancelled_at is None:
            totals.count += 1
            totals.spent += total if financial != "refunded" else 0
            totals.last_id, totals.last_name = order_id, name

    def _status(self, ts: int) -> tuple[str, str | None, int | None, str | None]:
        rng = self._rng
        if ts > REF_TS - 3 * DAY:
            return ("pending" if rng.random() < 0.5 else "paid"), None, None, None
        roll = rng.random()
        if roll < 0.84:
            return "paid", "fulfilled", None, None
        if roll < 0.90:
            return "refunded", "fulfilled", None, None
        if roll < 0.94:
            return "partially_refunded", "fulfilled", None, None
        if roll < 0.98:
            reason = rng.choice(("customer", "inventory", "declined"))
            status = "voided" if reason == "declined" else "refunded"
            return status, None, ts + int(rng.random() * DAY), reason
        return "paid", "partial", None, None


def order_times(rng: random.Random, created: int, count: int) -> list[int]:
    """Return `count` sorted order instants after `created` within the exported history."""
    start = max(created, HISTORY_START_TS)
    span = max(REF_TS - start - 3600, 3600)
    return sorted(start + int(rng.random() * span) for _ in range(count))
