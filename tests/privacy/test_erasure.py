"""Erasure on a real repository: every table scanned for the person afterwards, re-imports screened.

One person, Zéphyrine Quillebœuf, is in every source (a Y2 customer with a
receipt, a Shopify customer with an order and a guest checkout, a web-form
sign-up with an interaction and a rejected row), merged into one profile,
with a consent given on the preference center and an access report written.
The website tracked her through the Segment API (an identify sent before she
was known, then identify, alias from her email, track, and a rejected
message), and a webhook receiver refused an event naming her: it sits in the
dead letters. Around her, a small synthetic population that must come out
untouched.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from amigo.consent.models import ConsentEvent
from amigo.consent.service import consent_history, current_consents, record_consent
from amigo.core.config import PrivacySettings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.events.models import OutboxEvent, WebhookDeadLetter, WebhookDelivery
from amigo.events.service import to_cloudevent
from amigo.events.webhooks import WebhookSender, create_subscription, dispatch_event
from amigo.identity.service import merge_profiles, unmerge_profiles
from amigo.ingest.service import LoadReport, load_directory
from amigo.privacy.erasure import erase_people
from amigo.privacy.models import ErasureSuppression
from amigo.privacy.service import approve_request, create_request, execute_request, verify_identity
from amigo.profiles.models import GoldenCustomer, Interaction, Order, OrderLine
from amigo.profiles.rectification import rectify_profile
from amigo.profiles.service import find_customers
from amigo.synth.cegid import CUSTOMER_COLUMNS
from amigo.tracking.models import TrackingIdentity, TrackingMessage, TrackingSource
from amigo.tracking.service import SourceRef, create_source, receive_batch, receive_message
from events.receiver import webhook_receiver
from privacy.people import (
    ADDRESS,
    CEGID_ID,
    CITY,
    EMAIL,
    FORM_ID,
    IP,
    NOW,
    SHOPIFY_ID,
    append_csv,
    append_jsonl,
    person_cegid,
    person_form,
    person_shopify,
    scan,
    write_person_export,
)

LIST_KEY = "test-suppression-key"
USER_ID, DEVICE = "shop-zq-77", "anon-zq-1"  # her ids on the website
# What the website sent about her, in order, once she was known.
TRACKED: list[tuple[str, dict[str, Any]]] = [
    ("track", {"anonymousId": DEVICE, "event": "Product Viewed", "properties": {"sku": "SS26"}}),
    (
        "identify",
        {
            "userId": USER_ID,
            "anonymousId": DEVICE,
            "context": {"ip": IP},
            "traits": {
                "email": EMAIL,
                "firstName": "Zéphyrine",
                "lastName": "Quillebœuf",
                "phone": "+33698765432",
                "address": {"street": ADDRESS, "city": CITY},
            },
        },
    ),
    ("alias", {"userId": USER_ID, "previousId": EMAIL}),  # the shop's old ids were emails
    (
        "track",
        {
            "userId": USER_ID,
            "event": "Order Completed",
            "properties": {"total": 240},
            "context": {"ip": IP, "traits": {"email": EMAIL, "phone": "06 98 76 54 32"}},
        },
    ),
]


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


def _source(engine: Engine) -> SourceRef:
    with unit_of_work(engine) as session:
        found = session.scalars(select(TrackingSource).where(TrackingSource.name == "web")).first()
        if found is not None:
            return SourceRef(found.id, found.name)
        created = create_source(session=session, name="web", now=NOW)
        return SourceRef(created.id, created.name)


def _track(engine: Engine, calls: list[tuple[str, dict[str, Any]]]) -> None:
    """Send the calls to the tracking API's service, one request each, as the website would."""
    source = _source(engine)
    for n, (kind, message) in enumerate(calls):
        body = {"messageId": f"{kind}-{n}-{len(json.dumps(message))}",
                "timestamp": "2026-11-20T10:00:00Z", **message}  # fmt: skip
        with unit_of_work(engine) as session:
            receive_message(session=session, source=source, message_type=kind,
                            body=json.dumps(body).encode(), content_encoding=None, now=NOW)  # fmt: skip


def _track_her(engine: Engine) -> None:
    """Track her on the website, with a rejected message naming her and a stranger's visit."""
    _track(engine, TRACKED)
    rejected = {"type": "track", "anonymousId": "anon-zq-2", "messageId": "no-event",
                "context": {"traits": {"email": EMAIL.title(), "name": "Zéphyrine Quillebœuf"}}}  # fmt: skip
    with unit_of_work(engine) as session:
        summary = receive_batch(session=session, source=_source(engine), content_encoding=None,
                                body=json.dumps({"batch": [rejected]}).encode(), now=NOW)  # fmt: skip
    assert [r.code for r in summary.rejected] == ["missing_event"]
    _track(engine, [("page", {"anonymousId": "anon-stranger", "name": "Home"})])


def _dead_letter_about_her(engine: Engine) -> None:
    """Dispatch the event of her alias (it names her old id, her email) to a refusing receiver."""
    with webhook_receiver() as receiver, unit_of_work(engine) as session:
        subscription = create_subscription(
            session=session, url=receiver.url("/crm"), event_types=["interaction.*"], now=NOW
        )
        receiver.secrets["/crm"] = subscription.secret
        receiver.scripts["/crm"] = ["echo", "echo"]
        [alias] = [
            e
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "interaction.recorded")
            )
            if e.data.get("name") == EMAIL
        ]
        sender = WebhookSender(attempts=2, backoff_seconds=0.01, sleep=lambda _s: None)
        try:
            result = dispatch_event(session=session, event=to_cloudevent(alias), sender=sender)
        finally:
            sender.close()
    assert result.dead == [subscription.id]


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
    # Before any source named her: the identify finds no one, its interaction stays anonymous.
    _track(engine, [("identify", {"anonymousId": "anon-zq-0", "traits": {
        "email": EMAIL, "name": "Zéphyrine Quillebœuf", "phone": "06 98 76 54 32"}})])  # fmt: skip
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
    _track_her(engine)
    _dead_letter_about_her(engine)
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
    assert erased.result["interactions_deleted"] == 1  # counts source records: the web form's
    assert erased.result["rejects_erased"] >= 1
    # The identify before she was known, the calls after, and the rejected message.
    assert erased.result["tracking_messages_erased"] == 1 + len(TRACKED) + 1
    assert erased.result["dead_letters_erased"] == 1


def test_her_tracking_messages_stay_as_shells_and_a_resend_is_not_stored_again(
    erased: Erased,
) -> None:
    with unit_of_work(erased.engine) as session:
        messages = session.scalars(select(TrackingMessage).order_by(TrackingMessage.id)).all()
        identities = session.scalars(select(TrackingIdentity)).all()
        tracked = session.scalars(
            select(Interaction).where(Interaction.source_system == "tracking")
        ).all()
    hers = [m for m in messages if m.status == "erased"]
    [stranger] = [m for m in messages if m not in hers]
    assert len(hers) == 1 + len(TRACKED) + 1
    assert {(m.user_id, m.anonymous_id) for m in hers} == {(None, None)}
    # Stubs: what a message was and when, not who sent it or what it said of her.
    kept = {"type", "messageId", "timestamp", "originalTimestamp", "sentAt", "event", "name"}
    assert all(set(m.payload) <= kept for m in hers)
    assert {(m.email_index, m.phone_index) for m in hers} == {(None, None)}
    assert (stranger.anonymous_id, stranger.payload["name"]) == ("anon-stranger", "Home")
    assert [(i.kind, i.value) for i in identities] == []
    assert [i.source_interaction_id for i in tracked] == [stranger.key]

    _track(erased.engine, TRACKED)  # the website's SDK sends them all again

    with unit_of_work(erased.engine) as session:
        assert session.scalar(select(func.count()).select_from(TrackingMessage)) == len(messages)
    assert scan(erased.engine) == []


def test_her_dead_letter_keeps_its_envelope_and_loses_its_data(erased: Erased) -> None:
    with unit_of_work(erased.engine) as session:
        [letter] = session.scalars(select(WebhookDeadLetter)).all()
        attempts = session.scalars(select(WebhookDelivery)).all()

    assert letter.event["data"] == {"erased": "DSR-2"}
    assert (letter.event["type"], letter.event["subject"]) == (
        "interaction.recorded",
        erased.profile,
    )
    assert letter.last_error == "HTTP 422 [erased: DSR-2]"
    assert [a.error for a in attempts] == ["HTTP 422 [erased: DSR-2]"] * 2


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
    append_csv(
        changed / "cegid" / "customers.csv",
        CUSTOMER_COLUMNS,
        [person_cegid("05/03/2026 09:00:00")],
    )
    append_jsonl(
        changed / "shopify" / "customers.jsonl", [person_shopify("2026-03-05T09:00:00+01:00")]
    )
    append_jsonl(
        changed / "webforms" / "submissions.jsonl",
        [person_form("wf-zq-0002", "2025-06-01T10:00:00+02:00")],
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
    append_jsonl(
        export / "webforms" / "submissions.jsonl",
        [person_form("wf-zq-0100", "2026-12-03T09:00:00+01:00")],
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


def test_erasing_many_at_once_as_retention_does_leaves_nothing_either(
    loaded: tuple[Engine, Path],
) -> None:
    engine, _export = loaded
    others = [_profile_id(engine, "cegid:PAR01000001")]  # one of the synthetic population too
    person = _profile_id(engine, f"cegid:{CEGID_ID}")

    with unit_of_work(engine) as session:
        erase_people(session, customer_ids=[*others, person], reference="retention-2026-12-02",
                     actor="process:retention", now=NOW, secret=LIST_KEY)  # fmt: skip

    assert scan(engine) == []
    with unit_of_work(engine) as session:
        guest = session.scalars(select(Order).where(Order.source_order_id == "5520099990002")).one()
        erased = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "customer.erased")
        ).all()
        listed = session.scalar(select(func.count()).select_from(ErasureSuppression))
    assert guest.total_cents == 24_000
    assert len(erased) == 2
    assert {e.data["cause"] for e in erased} == {"retention"}
    assert listed == 0
