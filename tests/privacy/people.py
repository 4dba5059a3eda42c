"""One person present in every source, with strings unique to her, and a scan for them.

Zéphyrine Quillebœuf is a Y2 customer with a receipt, a Shopify customer
with an order and a guest checkout, a web-form sign-up with an interaction
and a rejected row, among a small synthetic population.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select, text

import amigo.models  # noqa: F401 - registers every table
from amigo.core.db import Base
from amigo.synth.cegid import CUSTOMER_COLUMNS
from amigo.synth.service import generate
from consent.exports import cegid_customer, shopify_customer, submission

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
EMAIL = "zephyrine.quilleboeuf@example.net"
CEGID_ID, SHOPIFY_ID, FORM_ID = "PAR01099901", 6840099999001, "wf-zq-0001"
ADDRESS = "17 rue des Hirondelles Bleues"
CITY = "Mouthier-Haute-Pierre"
IP = "203.0.113.77"
# Her names, phones (as each source wrote them), street and IP: what identifies her.
IDENTIFYING = (
    "zephyrine",
    "zéphyrine",
    "quillebœuf",
    "quilleboeuf",
    "+33698765432",
    "06 98 76 54 32",
    "0698765432",
    "hirondelles",
    IP,
)
# What must not be found anywhere after an erasure: her town too.
NEEDLES = (*IDENTIFYING, "mouthier")


def person_cegid(modified: str = "03/02/2025 11:00:00") -> dict[str, str]:
    row = cegid_customer(CEGID_ID, EMAIL, modified, OptinEmail="BrandOnly", OptinMobile="BrandOnly")
    row.update(
        FirstName="Zéphyrine",
        LastName="Quillebœuf",
        BirthDateDay="14",
        BirthDateMonth="7",
        BirthDateYear="1979",
        CellularPhoneNumber="06 98 76 54 32",
        HomePhoneNumber="Quillebœuf 0381",  # not a phone: a validation issue holding her name
        AddressLine1=ADDRESS,
        ZipCode="25920",
        City=CITY,
        UsualStoreId="PAR01",
        CreationStoreId="PAR01",
    )
    return row


def _address() -> dict[str, Any]:
    return {
        "first_name": "Zéphyrine",
        "last_name": "Quillebœuf",
        "address1": ADDRESS,
        "address2": None,
        "city": CITY,
        "zip": "25920",
        "country_code": "FR",
        "phone": "+33698765432",
        "name": "Zéphyrine Quillebœuf",
    }


def person_shopify(updated_at: str = "2025-02-10T09:00:00+01:00") -> dict[str, Any]:
    customer = shopify_customer(
        SHOPIFY_ID,
        EMAIL,
        email_consent={
            "state": "subscribed",
            "opt_in_level": "confirmed_opt_in",
            "consent_updated_at": "2025-02-10T09:00:00+01:00",
        },
        updated_at=updated_at,
    )
    address = {**_address(), "id": 99001, "customer_id": SHOPIFY_ID, "default": True}
    customer.update(
        first_name="Zéphyrine",
        last_name="Quillebœuf",
        phone="+33698765432",
        addresses=[address],
        default_address=address,
        note=f"Zéphyrine prefers deliveries to {ADDRESS}",
    )
    return customer


def _shopify_order(order_id: int, *, guest: bool) -> dict[str, Any]:
    return {
        "id": order_id,
        "name": f"#{order_id % 10_000}",
        "order_number": order_id % 10_000,
        "email": EMAIL,
        "contact_email": EMAIL,
        "phone": "+33698765432",
        "created_at": "2025-03-01T15:00:00+01:00",
        "processed_at": "2025-03-01T15:00:00+01:00",
        "updated_at": "2025-03-02T10:00:00+01:00",
        "cancelled_at": None,
        "currency": "EUR",
        "total_price": "240.00",
        "subtotal_price": "240.00",
        "total_discounts": "0.00",
        "financial_status": "paid",
        "fulfillment_status": "fulfilled",
        "source_name": "web",
        "customer": None
        if guest
        else {
            "id": SHOPIFY_ID,
            "email": EMAIL,
            "first_name": "Zéphyrine",
            "last_name": "Quillebœuf",
        },
        "shipping_address": _address(),
        "billing_address": _address(),
        "line_items": [
            {
                "id": order_id + 1,
                "sku": "SS26TS00011-600-S",
                "title": "T-shirt",
                "quantity": 2,
                "price": "120.00",
                "total_discount": "0.00",
                "name": "T-shirt - Red / S",
            }
        ],
    }


def person_form(
    submission_id: str = FORM_ID, at: str = "2025-01-20T18:30:00+01:00"
) -> dict[str, Any]:
    form = submission(submission_id, EMAIL, at, email_marketing=True, sms_marketing=True)
    form["fields"].update(
        first_name="Zéphyrine",
        last_name="Quillebœuf",
        phone="06 98 76 54 32",
        birth_date="1979-07-14",
        postal_code="25920",
        city=CITY,
        country="FR",
    )
    form["ip"] = IP
    return form


def append_csv(
    path: Path, columns: tuple[str, ...] | list[str], rows: list[dict[str, str]]
) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=";", lineterminator="\r\n")
        writer.writerows(rows)


def append_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _columns(path: Path) -> list[str]:
    return next(csv.reader(io.StringIO(path.read_text("utf-8").splitlines()[0]), delimiter=";"))


def write_person_export(directory: Path) -> Path:
    """Write a small synthetic export with the person added to every file."""
    generate(customers=25, seed=11, out_dir=directory)
    cegid, shopify, forms = directory / "cegid", directory / "shopify", directory / "webforms"
    append_csv(cegid / "customers.csv", CUSTOMER_COLUMNS, [person_cegid()])
    receipt = {"Stump": "PAR01C9", "Number": "99901"}
    append_csv(cegid / "receipts.csv", _columns(cegid / "receipts.csv"), [{
        **receipt, "Type": "Receipt", "Date": "12/03/2025 16:00:00", "StoreId": "PAR01",
        "CustomerId": CEGID_ID, "SalesPersonId": "VPAR0101", "CurrencyId": "EUR",
        "TaxIncludedTotalAmount": "129,00", "TotalQuantity": "1", "Status": "None", "Active": "1",
    }])  # fmt: skip
    append_csv(cegid / "receipt_lines.csv", _columns(cegid / "receipt_lines.csv"), [{
        **receipt, "Rank": "1", "ItemCode": "SS24DR00007-280-M", "Label": "Shirt dress",
        "Quantity": "1", "TaxIncludedUnitPrice": "129,00", "TaxIncludedNetUnitPrice": "129,00",
    }])  # fmt: skip
    append_csv(cegid / "receipt_payments.csv", _columns(cegid / "receipt_payments.csv"), [{
        **receipt, "Rank": "1", "Code": "CB", "Label": "Carte bancaire", "Amount": "129,00",
        "Currency": "EUR", "DueDate": "12/03/2025 16:00:00", "IsReceivedPayment": "1",
    }])  # fmt: skip
    append_jsonl(shopify / "customers.jsonl", [person_shopify()])
    append_jsonl(
        shopify / "orders.jsonl",
        [_shopify_order(5520099990001, guest=False), _shopify_order(5520099990002, guest=True)],
    )
    rejected = person_form()
    del rejected["submission_id"]  # a row that cannot be stored: kept as a reject, raw
    append_jsonl(forms / "submissions.jsonl", [person_form(), rejected])
    append_jsonl(forms / "interactions.jsonl", [{
        "interaction_id": "ix-zq-1", "type": "chat", "channel": "web",
        "occurred_at": "2025-03-05T10:00:00+00:00", "campaign": None,
        "text": "Zéphyrine Quillebœuf asked whether the coat ships to Mouthier-Haute-Pierre",
        "customer": {"source": "webforms", "id": FORM_ID}, "properties": {"ip": IP},
    }])  # fmt: skip
    return directory


def _as_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def scan(engine: Engine, needles: tuple[str, ...] = NEEDLES) -> list[tuple[str, str, str]]:
    """Return (table, needle, row) for every row of every table holding one of the needles.

    Each row is read twice: as stored, and through the schema's column types,
    which decrypt the encrypted fields (what the repository knows, not only
    what its bytes show).
    """
    found = []
    forms = {n: {n.lower(), json.dumps(n)[1:-1].lower()} for n in needles}
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            if connection.dialect.name == "postgresql":
                query = f'SELECT t::text FROM "{table}" t'  # noqa: S608 - names from the schema
                rows = [str(r) for r in connection.scalars(text(query))]
            else:
                query = f'SELECT * FROM "{table}"'  # noqa: S608 - names from the schema
                rows = [" | ".join(map(str, r)) for r in connection.execute(text(query))]
            model = Base.metadata.tables.get(table)
            if model is not None:
                rows += [" | ".join(map(_as_text, r)) for r in connection.execute(select(model))]
            for row in rows:
                low = row.lower()
                found += [
                    (table, n, row[:300])
                    for n, variants in forms.items()
                    if any(v in low for v in variants)
                ]
    return found
