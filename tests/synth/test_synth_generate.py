"""The generated export directory: files, formats, ground truth, noise, volumes, references."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from amigo.core.errors import InvalidInputError
from amigo.synth import GenerationSummary, NoiseOptions, generate

PEOPLE = 2000

# Columns as docs/formats.md lists them (kept here, not imported, to catch drift).
CEGID_COLUMNS = {
    "stores.csv": "StoreId StoreName AddressLine1 AddressLine2 ZipCode City CountryId "
    "PhoneNumber Email OpeningHours ManagerId RegionId TimeZoneId",
    "sales_associates.csv": "SalesPersonId FirstName LastName StoreId Active",
    "products.csv": "ItemCode Label FamilyId CollectionId SeasonId TaxIncludedPrice CurrencyId",
    "customers.csv": "CustomerId TitleId FirstName LastName BirthDateDay BirthDateMonth "
    "BirthDateYear Email AlternativeEmail CellularPhoneNumber HomePhoneNumber AddressLine1 "
    "AddressLine2 AddressLine3 ZipCode City RegionId CountryId LanguageId UsualStoreId "
    "CreationStoreId SalesPersonId IsProspect OptinEmail OptinMobile OptinPostal OptinHomePhone "
    "UserDefinedText1 CreationDate LastModificationDate Closed",
    "receipts.csv": "Stump Number Type Date StoreId CustomerId SalesPersonId CurrencyId "
    "TaxIncludedTotalAmount TotalQuantity Status Active",
    "receipt_lines.csv": "Stump Number Rank ItemCode Label Quantity TaxIncludedUnitPrice "
    "TaxIncludedNetUnitPrice",
    "receipt_payments.csv": "Stump Number Rank Code Label Amount Currency DueDate "
    "IsReceivedPayment",
}
SHOPIFY_CUSTOMER_KEYS = {
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "created_at",
    "updated_at",
    "state",
    "verified_email",
    "tags",
    "currency",
    "note",
    "addresses",
    "default_address",
}
SHOPIFY_ORDER_KEYS = {
    "id",
    "name",
    "email",
    "created_at",
    "processed_at",
    "updated_at",
    "cancelled_at",
    "currency",
    "total_price",
    "total_discounts",
    "financial_status",
    "fulfillment_status",
    "customer",
    "payment_gateway_names",
    "line_items",
}
LINE_ITEM_KEYS = {"id", "sku", "title", "quantity", "price", "total_discount"}
SUBMISSION_KEYS = {
    "submission_id",
    "form",
    "submitted_at",
    "locale",
    "fields",
    "consents",
    "consent_text_version",
    "ip",
    "user_agent",
}
FIELD_KEYS = {
    "email",
    "first_name",
    "last_name",
    "phone",
    "birth_date",
    "postal_code",
    "city",
    "country",
}
INTERACTION_KEYS = {
    "interaction_id",
    "type",
    "channel",
    "occurred_at",
    "campaign",
    "text",
    "customer",
    "properties",
}
CEGID_TS = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$")
ISO_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
REJECT_EMAIL = "not-an-email"
RATE_NAMES = [f.name for f in fields(NoiseOptions)]


def read_cegid(root: Path, name: str) -> list[dict[str, str]]:
    """Read a Y2 export the way formats.md describes it."""
    with (root / "cegid" / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def read_jsonl(root: Path, name: str) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSON-lines file."""
    with (root / name).open(encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            assert isinstance(obj, dict)
            yield obj


def cegid_amount(text: str) -> Decimal:
    """Parse a Y2 decimal-comma amount."""
    return Decimal(text.replace(",", "."))


@dataclass
class Export:
    """A generated directory, read back once for all the tests of this module."""

    root: Path
    summary: GenerationSummary
    stores: list[dict[str, str]]
    associates: list[dict[str, str]]
    products: list[dict[str, str]]
    customers: list[dict[str, str]]
    receipts: list[dict[str, str]]
    lines: list[dict[str, str]]
    payments: list[dict[str, str]]
    shopify_customers: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    submissions: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    truth: list[dict[str, str]]
    person_of: dict[tuple[str, str], str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    """Generate 2,000 people with default noise and read everything back."""
    root = tmp_path_factory.mktemp("synth") / "out"
    summary = generate(customers=PEOPLE, seed=7, out_dir=root)
    with (root / "truth.csv").open(encoding="utf-8", newline="") as handle:
        truth = list(csv.DictReader(handle))
    data = Export(
        root=root,
        summary=summary,
        stores=read_cegid(root, "stores.csv"),
        associates=read_cegid(root, "sales_associates.csv"),
        products=read_cegid(root, "products.csv"),
        customers=read_cegid(root, "customers.csv"),
        receipts=read_cegid(root, "receipts.csv"),
        lines=read_cegid(root, "receipt_lines.csv"),
        payments=read_cegid(root, "receipt_payments.csv"),
        shopify_customers=list(read_jsonl(root, "shopify/customers.jsonl")),
        orders=list(read_jsonl(root, "shopify/orders.jsonl")),
        submissions=list(read_jsonl(root, "webforms/submissions.jsonl")),
        interactions=list(read_jsonl(root, "webforms/interactions.jsonl")),
        truth=truth,
    )
    data.person_of = {(r["source"], r["source_id"]): r["person_id"] for r in truth}
    return data


def digest(root: Path) -> dict[str, str]:
    """Return the SHA-256 of every file under `root`, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    generate(customers=300, seed=11, out_dir=tmp_path / "a")
    # Another process with another string-hash seed: no set or hash order may leak out.
    code = (
        "import sys; from pathlib import Path; from amigo.synth import generate; "
        "generate(customers=300, seed=11, out_dir=Path(sys.argv[1]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], check=True, env=env)
    generate(customers=300, seed=12, out_dir=tmp_path / "c")
    first, second, other = (digest(tmp_path / d) for d in "abc")
    assert len(first) == 12
    assert first == second
    assert all(other[name] != first[name] for name in first if "stores" not in name)


def test_every_file_is_present_with_the_documented_columns(export: Export) -> None:
    for name, columns in CEGID_COLUMNS.items():
        with (export.root / "cegid" / name).open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle, delimiter=";"))
        assert header == columns.split(), name
    with (export.root / "truth.csv").open(encoding="utf-8") as handle:
        assert handle.readline().strip() == "source,entity,source_id,person_id"
    assert export.summary.rows_by_file() == {
        "cegid/stores.csv": len(export.stores),
        "cegid/sales_associates.csv": len(export.associates),
        "cegid/products.csv": len(export.products),
        "cegid/customers.csv": len(export.customers),
        "cegid/receipts.csv": len(export.receipts),
        "cegid/receipt_lines.csv": len(export.lines),
        "cegid/receipt_payments.csv": len(export.payments),
        "shopify/customers.jsonl": len(export.shopify_customers),
        "shopify/orders.jsonl": len(export.orders),
        "webforms/submissions.jsonl": len(export.submissions),
        "webforms/interactions.jsonl": len(export.interactions),
        "truth.csv": len(export.truth),
    }
    assert not (export.root / ".amigo-generate.tmp").exists()


def test_json_lines_carry_the_documented_keys(export: Export) -> None:
    for customer in export.shopify_customers:
        assert customer.keys() >= SHOPIFY_CUSTOMER_KEYS
        consent_keys = {"email_marketing_consent", "sms_marketing_consent"}
        assert consent_keys <= customer.keys() or "accepts_marketing" in customer
    for order in export.orders:
        assert order.keys() >= SHOPIFY_ORDER_KEYS
        assert order["line_items"]
        for item in order["line_items"]:
            assert item.keys() >= LINE_ITEM_KEYS
    for submission in export.submissions:
        assert submission.keys() == SUBMISSION_KEYS
        assert submission["fields"].keys() == FIELD_KEYS
        assert submission["consents"].keys() == {"email_marketing", "sms_marketing"}
        assert submission["form"] in {"newsletter", "contact", "event", "account"}
    for interaction in export.interactions:
        assert interaction.keys() == INTERACTION_KEYS
        assert interaction["customer"]["source"] in {"cegid", "shopify", "webforms"}


def test_values_follow_the_documented_formats(export: Export) -> None:
    assert {s["RegionId"] for s in export.stores} == {"EUROPE", "ASIA", "AMERICAS"}
    assert len(export.stores) == 12
    for customer in export.customers:
        assert CEGID_TS.match(customer["CreationDate"]), customer
        assert customer["Closed"] in {"0", "1", ""}
        for column in ("OptinEmail", "OptinMobile", "OptinPostal", "OptinHomePhone"):
            assert customer[column] in {"AskCustomer", "BrandOnly", "ForPartners", "DoNotUse", ""}
    for receipt in export.receipts:
        assert CEGID_TS.match(receipt["Date"])
        assert receipt["Type"] in {"Receipt", "CustomerOrder", "ReturnNotice"}
        assert re.match(r"^-?\d+(,\d{2})?$", receipt["TaxIncludedTotalAmount"])
    for order in export.orders:
        assert ISO_TS.match(order["created_at"])
        assert re.match(r"^-?\d+\.\d{2}$", order["total_price"])
    for submission in export.submissions:
        assert ISO_TS.match(submission["submitted_at"])
    # Dates are relative to the fixed reference date, never to today.
    latest = max(o["created_at"] for o in export.orders)
    assert latest < "2026-11-02"
    assert max(i["occurred_at"] for i in export.interactions) < "2026-11-01T00:00:00+00:00"


def is_reject_fixture(source: str, record: dict[str, Any]) -> bool:
    """Tell the deliberately broken customer rows, which belong to nobody."""
    if source == "cegid":
        return bool(record["CustomerId"] == "")
    if source == "shopify":
        return bool(record["email"] == REJECT_EMAIL)
    return bool(record["fields"]["email"] == REJECT_EMAIL)


def test_truth_covers_every_customer_record_and_only_those(export: Export) -> None:
    records = [
        ("cegid", c["CustomerId"]) for c in export.customers if not is_reject_fixture("cegid", c)
    ]
    records += [
        ("shopify", str(c["id"]))
        for c in export.shopify_customers
        if not is_reject_fixture("shopify", c)
    ]
    records += [
        ("webforms", s["submission_id"])
        for s in export.submissions
        if not is_reject_fixture("webforms", s)
    ]
    truth_keys = [(r["source"], r["source_id"]) for r in export.truth]
    assert len(truth_keys) == len(set(truth_keys))
    assert set(truth_keys) == set(records)
    assert len(records) == len(truth_keys)
    entities = {(r["source"], r["entity"]) for r in export.truth}
    assert entities == {("cegid", "customer"), ("shopify", "customer"), ("webforms", "submission")}
    assert len({r["person_id"] for r in export.truth}) == PEOPLE
    # Each kind of broken row exists, at a handful per file.
    bad = export.summary.bad_rows
    for name in ("cegid/customers.csv", "shopify/customers.jsonl", "shopify/orders.jsonl"):
        assert bad[name] >= 1
    assert sum(bad.values()) < 0.02 * sum(export.summary.rows_by_file().values())


def test_sources_overlap_as_in_a_real_customer_base(export: Export) -> None:
    sources: dict[str, set[str]] = defaultdict(set)
    for row in export.truth:
        sources[row["person_id"]].add(row["source"])
    share = {
        s: sum(s in v for v in sources.values()) / PEOPLE for s in ("cegid", "shopify", "webforms")
    }
    assert 0.5 < share["cegid"] < 0.7
    assert 0.45 < share["shopify"] < 0.65
    assert 0.14 < share["webforms"] < 0.27
    assert sum(len(v) > 1 for v in sources.values()) > 0.2 * PEOPLE
    per_source = Counter((row["person_id"], row["source"]) for row in export.truth)
    within = sum(1 for (_, source), n in per_source.items() if n > 1 and source != "webforms")
    assert within > 0.02 * PEOPLE  # duplicates inside Cegid or Shopify


def record_identities(export: Export) -> list[tuple[str, str, str, str, str]]:
    """Return (person, first, last, email, phone digits) of every customer record."""
    rows = []
    for c in export.customers:
        if c["CustomerId"]:
            phone = re.sub(r"\D", "", c["CellularPhoneNumber"])[-9:]
            rows.append(
                (
                    export.person_of["cegid", c["CustomerId"]],
                    c["FirstName"].lower(),
                    c["LastName"].lower(),
                    c["Email"].lower(),
                    phone,
                )
            )
    for s in export.shopify_customers:
        if s["email"] != REJECT_EMAIL:
            rows.append(
                (
                    export.person_of["shopify", str(s["id"])],
                    (s["first_name"] or "").lower(),
                    (s["last_name"] or "").lower(),
                    (s["email"] or "").lower(),
                    re.sub(r"\D", "", s["phone"] or "")[-9:],
                )
            )
    return rows


def test_look_alikes_are_different_people(export: Export) -> None:
    rows = record_identities(export)
    by_name: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_email: dict[str, set[str]] = defaultdict(set)
    by_phone: dict[str, set[str]] = defaultdict(set)
    for person, first, last, email, phone in rows:
        if first and last:
            by_name[first, last].add(person)
        if email:
            by_email[email].add(person)
        if len(phone) == 9:
            by_phone[phone].add(person)
    assert sum(len(p) > 1 for p in by_name.values()) >= 5  # namesakes
    shared_contact = sum(len(p) > 1 for p in by_email.values()) + sum(
        len(p) > 1 for p in by_phone.values()
    )
    assert shared_contact >= 10  # households share an e-mail or a phone
    # ... yet a person's records do differ from each other (typos, variants, moves).
    emails_per_person: dict[str, set[str]] = defaultdict(set)
    for person, _, _, email, _ in rows:
        if email:
            emails_per_person[person].add(email)
    assert sum(len(e) > 1 for e in emails_per_person.values()) > 0.01 * PEOPLE


def test_phones_are_mostly_valid_numbers(export: Export) -> None:
    countries = {
        "FRA": "FR",
        "GBR": "GB",
        "ITA": "IT",
        "DEU": "DE",
        "USA": "US",
        "JPN": "JP",
        "KOR": "KR",
        "CHN": "CN",
        "ESP": "ES",
        "BEL": "BE",
        "CHE": "CH",
        "NLD": "NL",
    }
    phones = [
        (c["CellularPhoneNumber"], countries[c["CountryId"]])
        for c in export.customers
        if c["CellularPhoneNumber"]
    ]
    valid = 0
    for text, region in phones:
        with contextlib.suppress(phonenumbers.NumberParseException):
            valid += phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    assert len(phones) > 500
    assert valid / len(phones) > 0.95
    e164 = [s["phone"] for s in export.shopify_customers if s["phone"]]
    assert sum(p.startswith("+") for p in e164) > 0.6 * len(e164)


def test_orders_and_interactions_per_person(export: Export) -> None:
    orders = len(export.receipts) + len(export.orders)
    assert 2.4 < orders / PEOPLE < 3.4
    assert 6.0 < len(export.interactions) / PEOPLE < 8.5
    assert any(r["CustomerId"] == "" for r in export.receipts)  # anonymous sales
    assert any(o["customer"] is None for o in export.orders)  # guest checkouts
    assert any(line["Quantity"].startswith("-") for line in export.lines)  # returns
    assert {o["financial_status"] for o in export.orders} >= {"paid", "refunded"}
    assert any(o["cancelled_at"] for o in export.orders)
    assert {"subscribed", "not_subscribed"} <= {
        c["email_marketing_consent"]["state"]
        for c in export.shopify_customers
        if c.get("email_marketing_consent")
    }
    assert any("accepts_marketing" in c for c in export.shopify_customers)
    assert any(c.get("email_marketing_consent", 0) is None for c in export.shopify_customers)


def test_cross_file_references_hold(export: Export) -> None:
    stores = {s["StoreId"] for s in export.stores}
    associates = {a["SalesPersonId"] for a in export.associates}
    skus = {p["ItemCode"] for p in export.products if p["ItemCode"]}
    cegid_ids = {c["CustomerId"] for c in export.customers if c["CustomerId"]}
    assert {s["ManagerId"] for s in export.stores} <= associates
    assert sum(a["StoreId"] not in stores for a in export.associates) == 1
    receipts = {(r["Stump"], r["Number"]): r for r in export.receipts}
    assert len(receipts) == len(export.receipts)
    for r in export.receipts:
        assert r["StoreId"] in stores
        assert r["SalesPersonId"] in associates
    unknown_customers = [
        r for r in export.receipts if r["CustomerId"] and r["CustomerId"] not in cegid_ids
    ]
    assert 0 < len(unknown_customers) <= export.summary.bad_rows["cegid/receipts.csv"]
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    quantities: Counter[tuple[str, str]] = Counter()
    orphans = 0
    for line in export.lines:
        key = (line["Stump"], line["Number"])
        if key not in receipts:
            orphans += 1
            continue
        assert line["ItemCode"] in skus
        totals[key] += int(line["Quantity"]) * cegid_amount(line["TaxIncludedNetUnitPrice"])
        quantities[key] += int(line["Quantity"])
    assert orphans == export.summary.bad_rows["cegid/receipt_lines.csv"]
    paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for payment in export.payments:
        key = (payment["Stump"], payment["Number"])
        if key in receipts:
            paid[key] += cegid_amount(payment["Amount"])
    for key, r in receipts.items():
        assert cegid_amount(r["TaxIncludedTotalAmount"]) == totals[key], key
        assert int(r["TotalQuantity"]) == quantities[key]
        assert paid[key] == totals[key], key

    shopify_ids = {c["id"] for c in export.shopify_customers}
    bad_orders = 0
    for order in export.orders:
        items = order["line_items"]
        assert {i["sku"] for i in items} <= skus
        gross = sum(Decimal(i["price"]) * i["quantity"] for i in items)
        discounts = sum(Decimal(i["total_discount"]) for i in items)
        assert Decimal(order["total_discounts"]) == discounts
        assert Decimal(order["total_price"]) == gross - discounts
        if order["customer"] is not None and order["customer"]["id"] not in shopify_ids:
            bad_orders += 1
    assert bad_orders == export.summary.bad_rows["shopify/orders.jsonl"]

    unknown_refs = [
        i
        for i in export.interactions
        if (i["customer"]["source"], i["customer"]["id"]) not in export.person_of
    ]
    assert len(unknown_refs) == export.summary.bad_rows["webforms/interactions.jsonl"]


def test_counts_scale_with_the_customer_base(export: Export) -> None:
    assert len(export.products) == 200 + export.summary.bad_rows.get("cegid/products.csv", 0)
    assert 6 * 12 <= len(export.associates) <= 15 * 12 + 1
    cjk = [c for c in export.customers if c["CountryId"] in {"JPN", "KOR", "CHN"}]
    assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]", c["LastName"]) for c in cjk)
    romanized = [
        s
        for s in export.shopify_customers
        if s["default_address"] and s["default_address"]["country_code"] in {"JP", "KR", "CN"}
    ]
    assert any((s["last_name"] or "").isascii() for s in romanized)
    countries = Counter(c["CountryId"] for c in export.customers if c["CustomerId"])
    assert countries.most_common(1)[0][0] == "FRA"
    web_countries = {s["fields"]["country"] for s in export.submissions}
    assert {"France", "FR"} <= web_countries


def test_no_noise_means_no_look_alikes(tmp_path: Path) -> None:
    quiet = NoiseOptions(
        duplicate_within_source=0,
        typo=0,
        swapped_names=0,
        missing_field=0,
        second_email=0,
        format_variant=0,
        moved=0,
        namesake=0,
        household=0,
        invalid_value=0,
    )
    generate(customers=400, seed=3, out_dir=tmp_path, noise=quiet)
    with (tmp_path / "truth.csv").open(encoding="utf-8", newline="") as handle:
        person_of = {(r["source"], r["source_id"]): r["person_id"] for r in csv.DictReader(handle)}
    owners: dict[str, set[str]] = defaultdict(set)
    for c in read_cegid(tmp_path, "customers.csv"):
        if c["CustomerId"] and c["Email"]:
            owners[c["Email"]].add(person_of["cegid", c["CustomerId"]])
    for s in read_jsonl(tmp_path, "shopify/customers.jsonl"):
        if s["email"] != REJECT_EMAIL:
            owners[s["email"]].add(person_of["shopify", str(s["id"])])
    assert owners
    assert all(len(p) == 1 for p in owners.values())


@pytest.mark.parametrize(
    "options",
    [{"typo": 1.5}, {"moved": -0.1}, {"household": float("nan")}],
)
def test_rates_outside_zero_one_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError):
        NoiseOptions(**options)


def test_scaled_noise_multiplies_every_rate_capped_at_one() -> None:
    doubled = NoiseOptions().scaled(2)
    assert doubled.duplicate_within_source == pytest.approx(0.08)
    assert doubled.typo == pytest.approx(0.10)
    assert doubled.missing_field == pytest.approx(0.20)
    assert doubled.format_variant == pytest.approx(0.60)
    assert doubled.household == pytest.approx(0.04)
    assert NoiseOptions().scaled(1) == NoiseOptions()
    assert NoiseOptions(typo=0.1).scaled(0) == NoiseOptions(**dict.fromkeys(RATE_NAMES, 0.0))
    capped = NoiseOptions(format_variant=0.6, typo=0.4).scaled(2)
    assert capped.format_variant == 1.0
    assert capped.typo == pytest.approx(0.8)


@pytest.mark.parametrize("factor", [-1.0, float("nan"), float("inf")])
def test_a_negative_or_non_finite_scale_is_refused(factor: float) -> None:
    with pytest.raises(InvalidInputError, match="noise scale must be a finite number >= 0"):
        NoiseOptions().scaled(factor)


def test_bad_counts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        generate(customers=0, seed=1, out_dir=tmp_path)
    with pytest.raises(InvalidInputError):
        generate(customers=10, seed=1, out_dir=tmp_path, cegid_encoding="latin-9")
    assert not any(tmp_path.iterdir())


def test_cegid_files_can_be_written_in_windows_1252(tmp_path: Path) -> None:
    generate(customers=300, seed=2, out_dir=tmp_path, cegid_encoding="cp1252")
    raw = (tmp_path / "cegid" / "customers.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # accented names are single cp1252 bytes
    rows = list(csv.DictReader(raw.decode("cp1252").splitlines(), delimiter=";"))
    assert rows[0].keys() == set(CEGID_COLUMNS["customers.csv"].split())
    # What cp1252 cannot hold (CJK names) is replaced, as a real export would.
    assert any("?" in r["LastName"] for r in rows if r["CountryId"] in {"JPN", "KOR", "CHN"})
    assert (tmp_path / "truth.csv").read_bytes().decode("utf-8")
