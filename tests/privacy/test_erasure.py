"""Erasure on a real repository: every table scanned for the person afterwards, re-imports screened.

One person, Zéphyrine Quillebœuf, is in every source (a Y2 customer with a
receipt, a Shopify customer with an order and a guest checkout, a web-form
sign-up with an interaction and a rejected row), merged into one profile,
with a consent given on the preference center and an access report written.
Around her, a small synthetic population that must come out untouched.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from amigo.consent.models import ConsentEvent
from amigo.consent.service import consent_history, current_consents, record_consent
from amigo.core.config import PrivacySettings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.events.models import OutboxEvent
from amigo.identity.service import merge_profiles, unmerge_profiles
from amigo.ingest.service import LoadReport, load_directory
from amigo.privacy.models import ErasureSuppression
from amigo.privacy.service import approve_request, create_request, execute_request, verify_identity
from amigo.profiles.models import GoldenCustomer, Order, OrderLine
from amigo.profiles.rectification import rectify_profile
from amigo.profiles.service import find_customers
from amigo.synth.cegid import CUSTOMER_COLUMNS
from amigo.synth.service import generate
from consent.exports import cegid_customer, shopify_customer, submission

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
EMAIL = "zephyrine.quilleboeuf@example.net"
CEGID_ID, SHOPIFY_ID, FORM_ID = "PAR01099901", 6840099999001, "wf-zq-0001"
ADDRESS = "17 rue des Hirondelles Bleues"
CITY = "Mouthier-Haute-Pierre"
IP = "203.0.113.77"
# What must not be found anywhere afterwards, in any of the forms the sources wrote it.
NEEDLES = (
    "zephyrine",
    "zéphyrine",
    "quillebœuf",
    "quilleboeuf",
    "+33698765432",
    "06 98 76 54 32",
    "0698765432",
    "hirondelles",
    "mouthier",
    IP,
)


def _person_cegid(modified: str = "03/02/2025 11:00:00") -> dict[str, str]:
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


def _person_shopify(updated_at: str = "2025-02-10T09:00:00+01:00") -> dict[str, Any]:
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


def _person_form(
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


def _append_csv(
    path: Path, columns: tuple[str, ...] | list[str], rows: list[dict[str, str]]
) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=";", lineterminator="\r\n")
        writer.writerows(rows)


def _append_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _columns(path: Path) -> list[str]:
    return next(csv.reader(io.StringIO(path.read_text("utf-8").splitlines()[0]), delimiter=";"))


def write_person_export(directory: Path) -> Path:
    """Write a small synthetic export with the person added to every file."""
    generate(customers=25, seed=11, out_dir=directory)
    cegid, shopify, forms = directory / "cegid", directory / "shopify", directory / "webforms"
    _append_csv(cegid / "customers.csv", CUSTOMER_COLUMNS, [_person_cegid()])
    receipt = {"Stump": "PAR01C9", "Number": "99901"}
    _append_csv(cegid / "receipts.csv", _columns(cegid / "receipts.csv"), [{
        **receipt, "Type": "Receipt", "Date": "12/03/2025 16:00:00", "StoreId": "PAR01",
        "CustomerId": CEGID_ID, "SalesPersonId": "VPAR0101", "CurrencyId": "EUR",
        "TaxIncludedTotalAmount": "129,00", "TotalQuantity": "1", "Status": "None", "Active": "1",
    }])  # fmt: skip
    _append_csv(cegid / "receipt_lines.csv", _columns(cegid / "receipt_lines.csv"), [{
        **receipt, "Rank": "1", "ItemCode": "SS24DR00007-280-M", "Label": "Shirt dress",
        "Quantity": "1", "TaxIncludedUnitPrice": "129,00", "TaxIncludedNetUnitPrice": "129,00",
    }])  # fmt: skip
    _append_csv(cegid / "receipt_payments.csv", _columns(cegid / "receipt_payments.csv"), [{
        **receipt, "Rank": "1", "Code": "CB", "Label": "Carte bancaire", "Amount": "129,00",
        "Currency": "EUR", "DueDate": "12/03/2025 16:00:00", "IsReceivedPayment": "1",
    }])  # fmt: skip
    _append_jsonl(shopify / "customers.jsonl", [_person_shopify()])
    _append_jsonl(
        shopify / "orders.jsonl",
        [_shopify_order(5520099990001, guest=False), _shopify_order(5520099990002, guest=True)],
    )
    rejected = _person_form()
    del rejected["submission_id"]  # a row that cannot be stored: kept as a reject, raw
    _append_jsonl(forms / "submissions.jsonl", [_person_form(), rejected])
    _append_jsonl(forms / "interactions.jsonl", [{
        "interaction_id": "ix-zq-1", "type": "chat", "channel": "web",
        "occurred_at": "2025-03-05T10:00:00+00:00", "campaign": None,
        "text": "Zéphyrine Quillebœuf asked whether the coat ships to Mouthier-Haute-Pierre",
        "customer": {"source": "webforms", "id": FORM_ID}, "properties": {"ip": IP},
    }])  # fmt: skip
    return directory


def scan(engine: Engine, needles: tuple[str, ...] = NEEDLES) -> list[tuple[str, str, str]]:
    """Return (table, needle, row) for every row of every table holding one of the needles."""
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
            for row in rows:
                low = row.lower()
                found += [
                    (table, n, row[:300])
                    for n, variants in forms.items()
                    if any(v in low for v in variants)
                ]
    return found


@dataclass
class Erased:
    engine: Engine
    export: Path
    profile: str  # the surviving profile's external id
    result: dict[str, Any]
    files: list[str]
    orders_before: int
    lines_before: int


def _profile_id(engine: Engine, reference: str) -> int:
    with unit_of_work(engine) as session:
        [customer] = find_customers(session=session, reference=reference)
        return customer.id


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            int(connection.scalar(select(func.count()).select_from(Order)) or 0),
            int(connection.scalar(select(func.count()).select_from(OrderLine)) or 0),
        )


def _request(
    engine: Engine, customer: int, kind: str, settings: PrivacySettings, out: Path
) -> dict[str, Any]:
    with unit_of_work(engine) as session:
        request = create_request(session=session, customer_id=customer, type=kind, channel="letter",
                                 actor="dpo@amigo.test", role="dpo", now=NOW,
                                 details="Mme Zéphyrine Quillebœuf, 17 rue des Hirondelles Bleues, "
                                 "asks by letter")  # fmt: skip
        verify_identity(session=session, request_id=request.id, actor="dpo@amigo.test", role="dpo",
                        method="ID card copy, Zéphyrine Quillebœuf", now=NOW)  # fmt: skip
        approve_request(session=session, request_id=request.id, actor="dpo@amigo.test", role="dpo",
                        now=NOW, settings=settings)  # fmt: skip
        done = execute_request(session=session, request_id=request.id, actor="dpo@amigo.test",
                               role="dpo", now=NOW, settings=settings, out_dir=out)  # fmt: skip
        return dict(done.result)


@pytest.fixture
def settings(tmp_path: Path) -> PrivacySettings:
    return PrivacySettings(
        export_dir=tmp_path / "exports", suppression_key_file=tmp_path / "suppression.key"
    )


@pytest.fixture
def loaded(
    tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> tuple[Engine, Path]:
    """Return a repository holding the person (three profiles merged into one) and her export."""
    engine = open_engine(fresh_database_url)
    export = write_person_export(tmp_path / "export")
    load_directory(engine=engine, directory=export)
    cegid, shopify, form = (
        _profile_id(engine, r)
        for r in (f"cegid:{CEGID_ID}", f"shopify:{SHOPIFY_ID}", f"webforms:{FORM_ID}")
    )
    with unit_of_work(engine) as session:
        merge_profiles(session=session, survivor_id=cegid, merged_id=shopify, actor="test")
        merge_profiles(session=session, survivor_id=cegid, merged_id=form, actor="test",
                       reason="same person: Zéphyrine Quillebœuf")  # fmt: skip
        record_consent(session=session, customer_id=cegid, purpose="postal_mail", status="granted",
                       channel="preference_center", actor="person", now=NOW,
                       proof={"ip": IP, "user_agent": "Firefox/133.0", "wording": "prefs-v2"})  # fmt: skip
        rectify_profile(session=session, customer_id=cegid, changes={"address_line2": "Hameau de Mouthier"},
                        actor="dpo@amigo.test", now=NOW)  # fmt: skip
    return engine, export


@pytest.fixture
def erased(loaded: tuple[Engine, Path], settings: PrivacySettings, tmp_path: Path) -> Erased:
    engine, export = loaded
    customer = _profile_id(engine, f"cegid:{CEGID_ID}")
    with unit_of_work(engine) as session:
        profile = session.get_one(GoldenCustomer, customer).external_id
    access = _request(engine, customer, "access", settings, tmp_path / "exports")
    assert scan(engine), "the person is in the repository before the erasure"
    orders, lines = _counts(engine)
    result = _request(engine, customer, "erasure", settings, tmp_path / "exports")
    return Erased(engine, export, profile, result, access["files"], orders, lines)


def test_after_an_erasure_no_table_holds_the_persons_strings(erased: Erased) -> None:
    hits = scan(erased.engine)

    assert hits == []
    assert all(not Path(f).exists() for f in erased.files)
    assert erased.result["files_deleted"] == len(erased.files) == 2
    assert erased.result["interactions_deleted"] == 1
    assert erased.result["rejects_erased"] >= 1


def test_orders_stay_for_the_accounts_with_no_link_to_the_person(erased: Erased) -> None:
    with unit_of_work(erased.engine) as session:
        profile = session.scalars(
            select(GoldenCustomer).where(GoldenCustomer.external_id == erased.profile)
        ).one()
        kept = session.scalars(
            select(Order).where(
                Order.source_order_id.in_(["PAR01C9-99901", "5520099990001", "5520099990002"])
            )
        ).all()
        linked = session.scalar(
            select(func.count()).select_from(Order).where(Order.customer_id == profile.id)
        )

    assert _counts(erased.engine) == (erased.orders_before, erased.lines_before)
    assert len(kept) == 3
    assert {o.customer_id for o in kept} == {None}
    assert sum(o.total_cents for o in kept) == 12_900 + 24_000 + 24_000
    assert linked == 0
    assert profile.status == "erased"
    assert (profile.email, profile.first_name, profile.phone, profile.city) == (None,) * 4
    assert erased.result["orders_kept_unlinked"] == 2


def test_the_ledger_keeps_what_was_consented_and_loses_only_the_proofs(erased: Erased) -> None:
    with unit_of_work(erased.engine) as session:
        profile = session.scalars(
            select(GoldenCustomer).where(GoldenCustomer.external_id == erased.profile)
        ).one()
        history = consent_history(session=session, customer_id=profile.id)
        states = current_consents(session=session, customer_id=profile.id)
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "customer.erased")
        ).all()

    assert {e.proof.get("erased") for e in history} == {"DSR-2"}
    assert {e.channel for e in history} >= {
        "store",
        "shopify",
        "web_form",
        "preference_center",
        "erasure",
    }
    assert {p for p, s in states.items() if s.allows_contact} == set()
    assert sorted(erased.result["consents_withdrawn"]) == sorted(
        e.purpose for e in history if e.channel == "erasure"
    )
    [event] = events
    assert event.subject == erased.profile
    assert {(s["system"], s["id"]) for s in event.data["sources"]} == {
        ("cegid", CEGID_ID),
        ("shopify", str(SHOPIFY_ID)),
        ("webforms", FORM_ID),
    }


def test_the_ledger_accepts_no_other_update_after_an_erasure(erased: Erased) -> None:
    with erased.engine.connect() as connection:
        row_id = connection.scalar(
            select(func.min(ConsentEvent.id)).where(ConsentEvent.channel == "erasure")
        )
    changes = (
        "status = CASE WHEN status = 'granted' THEN 'withdrawn' ELSE 'granted' END",
        "channel = 'store'",
        "actor = 'user:mallory'",
        'proof = \'{"ip": "1.2.3.4"}\'',
    )
    for change in changes:
        statement = text(f"UPDATE consent_event SET {change} WHERE id = :id")  # noqa: S608
        with (
            pytest.raises(DBAPIError, match="only an erasure may blank a proof"),
            erased.engine.begin() as c,
        ):
            c.execute(statement, {"id": row_id})
    with pytest.raises(DBAPIError, match="append-only"), erased.engine.begin() as c:
        c.execute(text("DELETE FROM consent_event WHERE id = :id"), {"id": row_id})


def test_an_erased_profile_cannot_be_unmerged_or_erased_twice(
    erased: Erased, settings: PrivacySettings, tmp_path: Path
) -> None:
    with unit_of_work(erased.engine) as session:
        profile = session.scalars(
            select(GoldenCustomer).where(GoldenCustomer.external_id == erased.profile)
        ).one()
        with pytest.raises(InvalidInputError, match="erased"):
            unmerge_profiles(session=session, merge_event_id=1, actor="test", reason="undo")
        with pytest.raises(InvalidInputError, match="erased"):
            create_request(session=session, customer_id=profile.id, type="access", channel="email",
                           actor="dpo@amigo.test", role="dpo", now=NOW)  # fmt: skip


def _reload(engine: Engine, export: Path, settings: PrivacySettings) -> LoadReport:
    return load_directory(engine=engine, directory=export, privacy=settings)


def test_reimporting_the_person_from_every_source_keeps_her_erased(
    erased: Erased, settings: PrivacySettings, tmp_path: Path
) -> None:
    again = _reload(erased.engine, erased.export, settings)
    # Later exports: the same records changed since, as the next nightly files would hold them.
    changed = tmp_path / "changed"
    shutil.copytree(erased.export, changed)
    _append_csv(
        changed / "cegid" / "customers.csv",
        CUSTOMER_COLUMNS,
        [_person_cegid("05/03/2026 09:00:00")],
    )
    _append_jsonl(
        changed / "shopify" / "customers.jsonl", [_person_shopify("2026-03-05T09:00:00+01:00")]
    )
    _append_jsonl(
        changed / "webforms" / "submissions.jsonl",
        [_person_form("wf-zq-0002", "2025-06-01T10:00:00+02:00")],
    )
    later = _reload(erased.engine, changed, settings)

    assert scan(erased.engine) == []
    suppressed = {f.file: f.suppressed for f in later.files}
    assert suppressed["cegid/customers.csv"] >= 2
    assert suppressed["shopify/customers.jsonl"] >= 2
    assert suppressed["webforms/submissions.jsonl"] >= 2  # the old sign-up, and another old one
    assert suppressed["webforms/interactions.jsonl"] == 1
    assert suppressed["cegid/receipts.csv"] == 1
    assert suppressed["shopify/orders.jsonl"] == 2
    # The orders kept come back byte for byte as erasure left them: nothing new stored.
    assert {f.file: f.inserted + f.updated for f in again.files}["shopify/orders.jsonl"] == 0
    assert _counts(erased.engine) == (erased.orders_before, erased.lines_before)


def test_a_new_sign_up_of_her_own_accord_after_the_erasure_is_admitted_and_recorded(
    erased: Erased, settings: PrivacySettings, tmp_path: Path
) -> None:
    export = tmp_path / "signup"
    (export / "webforms").mkdir(parents=True)
    _append_jsonl(
        export / "webforms" / "submissions.jsonl",
        [_person_form("wf-zq-0100", "2026-12-03T09:00:00+01:00")],
    )

    report = _reload(erased.engine, export, settings)

    with unit_of_work(erased.engine) as session:
        [back] = find_customers(session=session, reference="webforms:wf-zq-0100")
        returned = session.scalars(
            select(ErasureSuppression).where(ErasureSuppression.returned_at.is_not(None))
        ).all()
        old = session.scalars(
            select(ErasureSuppression).where(ErasureSuppression.kind == "source")
        ).all()
    [signup] = [f for f in report.files if f.file == "webforms/submissions.jsonl"]
    assert (signup.inserted, signup.suppressed) == (1, 0)
    assert back.email == EMAIL
    assert back.external_id != erased.profile
    assert {r.kind for r in returned} >= {"email"}
    assert {r.returned_via for r in returned} == {"webforms:wf-zq-0100"}
    assert all(entry.returned_at is None for entry in old)
