"""Cegid Y2 rows: stores, associates, products, customers and sale documents."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from amigo.synth.catalog import Product, Store, season_index_at
from amigo.synth.geo import COUNTRIES, Y2_LANGUAGE, convert_price, minor_digits
from amigo.synth.names import Weighted
from amigo.synth.people import Person
from amigo.synth.records import Identity
from amigo.synth.timefmt import DAY, REF_TS, cegid_local, iso_date, local_instant

STORE_COLUMNS = (
    "StoreId",
    "StoreName",
    "AddressLine1",
    "AddressLine2",
    "ZipCode",
    "City",
    "CountryId",
    "PhoneNumber",
    "Email",
    "OpeningHours",
    "ManagerId",
    "RegionId",
    "TimeZoneId",
)
ASSOCIATE_COLUMNS = ("SalesPersonId", "FirstName", "LastName", "StoreId", "Active")
PRODUCT_COLUMNS = (
    "ItemCode",
    "Label",
    "FamilyId",
    "CollectionId",
    "SeasonId",
    "TaxIncludedPrice",
    "CurrencyId",
)
CUSTOMER_COLUMNS = (
    "CustomerId",
    "TitleId",
    "FirstName",
    "LastName",
    "BirthDateDay",
    "BirthDateMonth",
    "BirthDateYear",
    "Email",
    "AlternativeEmail",
    "CellularPhoneNumber",
    "HomePhoneNumber",
    "AddressLine1",
    "AddressLine2",
    "AddressLine3",
    "ZipCode",
    "City",
    "RegionId",
    "CountryId",
    "LanguageId",
    "UsualStoreId",
    "CreationStoreId",
    "SalesPersonId",
    "IsProspect",
    "OptinEmail",
    "OptinMobile",
    "OptinPostal",
    "OptinHomePhone",
    "UserDefinedText1",
    "CreationDate",
    "LastModificationDate",
    "Closed",
)
RECEIPT_COLUMNS = (
    "Stump",
    "Number",
    "Type",
    "Date",
    "StoreId",
    "CustomerId",
    "SalesPersonId",
    "CurrencyId",
    "TaxIncludedTotalAmount",
    "TotalQuantity",
    "Status",
    "Active",
)
LINE_COLUMNS = (
    "Stump",
    "Number",
    "Rank",
    "ItemCode",
    "Label",
    "Quantity",
    "TaxIncludedUnitPrice",
    "TaxIncludedNetUnitPrice",
)
PAYMENT_COLUMNS = (
    "Stump",
    "Number",
    "Rank",
    "Code",
    "Label",
    "Amount",
    "Currency",
    "DueDate",
    "IsReceivedPayment",
)

_PAYMENT_LABELS = {
    "CB": "Carte bancaire",
    "AMEX": "American Express",
    "ESP": "Espèces",
    "CHQ": "Chèque",
    "AVOIR": "Avoir",
    "ALIPAY": "Alipay",
    "WECHAT": "WeChat Pay",
    "UNIONPAY": "UnionPay",
}
_PAYMENTS_BY_REGION: dict[str, Weighted[str]] = {
    "FR": Weighted(["CB", "AMEX", "ESP", "CHQ", "ALIPAY", "WECHAT"], [72, 10, 10, 2, 3, 3]),
    "CN": Weighted(["ALIPAY", "WECHAT", "UNIONPAY", "CB"], [35, 35, 20, 10]),
    "*": Weighted(["CB", "AMEX", "ESP"], [78, 13, 9]),
}


class RowWriter(Protocol):
    """The part of a csv writer the generator uses."""

    def writerow(self, row: Sequence[str], /) -> object:
        """Write one row."""
        ...


def amount(minor: int, digits: int, point: str = ",") -> str:
    """Format an amount in minor units with Y2's decimal comma (or `point`)."""
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(minor), 100)
    return f"{sign}{major}{point}{cents:02d}"


def store_row(store: Store) -> list[str]:
    """Return the stores.csv row of a store."""
    return [
        store.store_id,
        store.name,
        store.address1,
        store.address2,
        store.zip_code,
        store.city,
        COUNTRIES[store.country].alpha3,
        store.phone,
        store.email,
        store.opening_hours,
        store.associates[0].salesperson_id,
        store.region,
        store.zone,
    ]


def product_row(product: Product) -> list[str]:
    """Return the products.csv row of a SKU."""
    return [
        product.item_code,
        product.label,
        product.family,
        product.collection,
        product.season,
        amount(product.price_eur * 100, 2),
        "EUR",
    ]


def _optin(rng: random.Random, given: bool, reachable: bool) -> str:
    if not reachable:
        return "AskCustomer"
    if given:
        return "BrandOnly" if rng.random() < 0.8 else "ForPartners"
    return "DoNotUse" if rng.random() < 0.6 else "AskCustomer"


@dataclass(slots=True)
class CegidAccount:
    """What the customers.csv row of one Y2 account needs besides the identity."""

    customer_id: str
    creation_store: Store
    usual_store: Store
    salesperson_id: str
    created: int
    modified: int
    prospect: bool
    tier: str
    closed: bool


def customer_row(
    rng: random.Random, person: Person, identity: Identity, account: CegidAccount
) -> list[str]:
    """Return the customers.csv row of one Y2 account."""
    title = ""
    if rng.random() < 0.85:
        title = "MR" if person.gender == "M" else ("MRS" if rng.random() < 0.5 else "MS")
    birth = identity.birth
    address = identity.address
    if address is not None:
        city = address.city
        line1 = address.line1_latin if identity.latin else address.line1
        line2 = address.line2_latin if identity.latin else address.line2
        location = [
            line1,
            line2,
            "",
            address.zip_code,
            city.name_latin if identity.latin else city.name,
            city.region_code,
        ]
    else:
        location = ["", "", "", "", "", ""]
    zone = account.creation_store.zone
    return [
        account.customer_id,
        title,
        identity.first,
        identity.last,
        str(birth[2]) if birth else "",
        str(birth[1]) if birth else "",
        str(birth[0]) if birth else "",
        identity.email,
        identity.alt_email,
        identity.phone,
        identity.landline,
        *location,
        person.country.alpha3,
        Y2_LANGUAGE[person.language],
        account.usual_store.store_id,
        account.creation_store.store_id,
        account.salesperson_id,
        "1" if account.prospect else "0",
        _optin(rng, identity.email_optin, bool(identity.email)),
        _optin(rng, identity.sms_optin, bool(identity.phone)),
        "AskCustomer"
        if rng.random() < 0.6
        else ("BrandOnly" if rng.random() < 0.75 else "DoNotUse"),
        "AskCustomer" if rng.random() < 0.7 else "DoNotUse",
        account.tier,
        cegid_local(account.created, zone),
        cegid_local(account.modified, zone),
        "1" if account.closed else "0",
    ]


class SalesWriter:
    """Write Y2 sale documents (headers, lines, payments) with consistent totals."""

    def __init__(
        self,
        *,
        rng: random.Random,
        products: Sequence[Product],
        receipts: RowWriter,
        lines: RowWriter,
        payments: RowWriter,
    ) -> None:
        self._rng = rng
        self._by_season: dict[int, list[Product]] = {}
        for product in products:
            self._by_season.setdefault(product.season_index, []).append(product)
        self._all = list(products)
        self._receipts = receipts
        self._lines = lines
        self._payments = payments
        self._numbers: dict[str, int] = {}
        self.receipt_count = 0
        self.line_count = 0
        self.payment_count = 0

    def pick_product(self, day: int) -> Product:
        """Return a product on sale on `day`: mostly this season's, some carry-over."""
        rng = self._rng
        current = season_index_at(iso_date(day))
        roll = rng.random()
        season = current if roll < 0.65 else current - 1 if roll < 0.9 else rng.randint(0, current)
        pool = self._by_season.get(max(0, season)) or self._all
        return pool[int(rng.random() * len(pool))]

    def store_time(self, store: Store, day: int) -> int:
        """Return an instant during the store's opening hours on local `day`."""
        seconds = 10 * 3600 + 1800 + int(self._rng.random() * 9 * 3600)
        return local_instant(day, seconds, store.zone)

    def sale(
        self,
        *,
        store: Store,
        ts: int,
        customer_id: str,
        salesperson_id: str,
        bought: list[tuple[Product, int]],
        vip: bool,
    ) -> None:
        """Write one sale (or return) with its lines and payments; extend `bought`."""
        rng = self._rng
        currency = store.currency
        digits = minor_digits(currency)
        day = (ts + 12 * 3600) // DAY
        lines: list[tuple[Product, int, int, int]] = []  # product, quantity, unit, net
        doc_type, status, active = "Receipt", "None", "1"
        if bought and rng.random() < 0.07:
            # A return of something bought earlier, sometimes exchanged on the spot.
            product, net = bought.pop(int(rng.random() * len(bought)))
            lines.append((product, -1, convert_price(product.price_eur, currency), net))
            if rng.random() < 0.3:
                doc_type = "ReturnNotice"
            elif rng.random() < 0.4:
                lines.append(self._line(day, currency, vip))
        else:
            for _ in range(1 + int(rng.expovariate(1.6))):
                lines.append(self._line(day, currency, vip))
            if rng.random() < 0.03:
                doc_type = "CustomerOrder"
                status = "InProgress" if ts > REF_TS - 14 * DAY else "Delivered"
                if rng.random() < 0.08:
                    status, active = "Canceled", "0"
        total = sum(q * net for _, q, _, net in lines)
        quantity = sum(q for _, q, _, _ in lines)
        stump = f"{store.store_id}C{1 + int(rng.random() * 2)}"
        number = self._numbers.get(stump, 0) + 1
        self._numbers[stump] = number
        key = [stump, str(number)]
        when = cegid_local(ts, store.zone)
        self._receipts.writerow(
            [
                *key,
                doc_type,
                when,
                store.store_id,
                customer_id,
                salesperson_id,
                currency,
                amount(total, digits),
                str(quantity),
                status,
                active,
            ]
        )
        self.receipt_count += 1
        for rank, (product, q, unit, net) in enumerate(lines, 1):
            self._lines.writerow(
                [
                    *key,
                    str(rank),
                    product.item_code,
                    product.label,
                    str(q),
                    amount(unit, digits),
                    amount(net, digits),
                ]
            )
            if q > 0:
                bought.append((product, net))
        self.line_count += len(lines)
        self._pay(key, store, total, when, digits)

    def _line(self, day: int, currency: str, vip: bool) -> tuple[Product, int, int, int]:
        rng = self._rng
        product = self.pick_product(day)
        unit = convert_price(product.price_eur, currency)
        net = unit
        month = iso_date(day)[5:7]
        step = 100 if minor_digits(currency) else 1
        if month in ("01", "07") and product.season_index < season_index_at(iso_date(day)):
            # Sales period: last season's stock is marked down.
            net = round(unit * (1 - rng.choice((0.3, 0.4, 0.5))) / step) * step
        elif vip and rng.random() < 0.3:
            net = round(unit * 0.9 / step) * step
        return product, 2 if rng.random() < 0.06 else 1, unit, net

    def _pay(self, key: list[str], store: Store, total: int, when: str, digits: int) -> None:
        rng = self._rng
        methods = _PAYMENTS_BY_REGION.get(store.country, _PAYMENTS_BY_REGION["*"])
        if total <= 0:
            parts = [("AVOIR" if total == 0 or rng.random() < 0.6 else "CB", total)]
        elif rng.random() < 0.12 and total >= 2 * 10**digits:
            first = total // 2 if digits == 0 else (total // 200) * 100
            parts = [("AVOIR" if rng.random() < 0.5 else methods.draw(rng), first)]
            parts.append((methods.draw(rng), total - first))
        else:
            parts = [(methods.draw(rng), total)]
        for rank, (code, value) in enumerate(parts, 1):
            self._payments.writerow(
                [
                    *key,
                    str(rank),
                    code,
                    _PAYMENT_LABELS[code],
                    amount(value, digits),
                    store.currency,
                    when,
                    "1",
                ]
            )
        self.payment_count += len(parts)
