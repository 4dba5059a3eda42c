"""The consent ledger on a real repository: append-only, projected, through loads and merges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from amigo.consent.models import ConsentEvent, ConsentState
from amigo.consent.service import (
    consent_history,
    current_consents,
    may_contact,
    rebuild_projection,
    record_consent,
)
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError, NotFoundError
from amigo.events.models import OutboxEvent
from amigo.identity.service import merge_profiles, unmerge_profiles
from amigo.ingest.service import load_directory
from amigo.profiles.models import GoldenCustomer
from amigo.profiles.service import find_customers
from consent.exports import cegid_customer, shopify_customer, submission, write_export

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _profile(session: Session, external_id: str = "AMI-TESTCONSENT1") -> GoldenCustomer:
    customer = GoldenCustomer(
        external_id=external_id,
        origin="web form",
        status="active",
        lineage={},
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(customer)
    session.flush()
    return customer


def _events(session: Session, subject: str) -> list[dict[str, Any]]:
    return [
        e.data
        for e in session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "consent.changed", OutboxEvent.subject == subject)
            .order_by(OutboxEvent.id)
        )
    ]


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------- append-only


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_event SET status = 'granted'",
        "UPDATE consent_event SET proof = proof",
        "DELETE FROM consent_event",
    ],
)
def test_the_database_refuses_to_change_or_delete_a_ledger_row(
    session: Session, statement: str
) -> None:
    customer = _profile(session)
    record_consent(
        session=session,
        customer_id=customer.id,
        purpose="email_marketing",
        status="withdrawn",
        channel="store",
        actor="associate:A12",
        now=NOW,
    )
    before = session.execute(select(ConsentEvent.__table__)).all()

    savepoint = session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    savepoint.rollback()

    assert session.execute(select(ConsentEvent.__table__)).all() == before
    assert before[0].status == "withdrawn"


def test_postgresql_refuses_to_truncate_the_ledger(session: Session, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    savepoint = session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("TRUNCATE consent_event"))
    savepoint.rollback()


# ---------------------------------------------------------------- recording


def test_recording_a_consent_changes_the_state_and_emits_an_event(session: Session) -> None:
    customer = _profile(session)

    granted = record_consent(
        session=session,
        customer_id=customer.id,
        purpose="sms_marketing",
        status="granted",
        channel="store",
        actor="associate:A12",
        now=NOW,
        proof={"wording_version": "store-2026-01", "store_id": "PAR01"},
    )
    withdrawn = record_consent(
        session=session,
        customer_id=customer.id,
        purpose="sms_marketing",
        status="withdrawn",
        channel="unsubscribe_link",
        actor="person",
        now=NOW + timedelta(hours=1),
    )

    assert (granted.status, granted.allows_contact) == ("granted", True)
    assert (withdrawn.status, withdrawn.allows_contact) == ("withdrawn", False)
    assert not may_contact(session=session, customer_id=customer.id, purpose="sms_marketing")
    assert [
        (e["previous_status"], e["status"], e["cause"])
        for e in _events(session, "AMI-TESTCONSENT1")
    ] == [
        ("never_asked", "granted", "recorded"),
        ("granted", "withdrawn", "recorded"),
    ]
    history = consent_history(session=session, customer_id=customer.id)
    assert [(h.status, h.channel, h.actor) for h in history] == [
        ("granted", "store", "associate:A12"),
        ("withdrawn", "unsubscribe_link", "person"),
    ]
    assert history[0].proof == {"wording_version": "store-2026-01", "store_id": "PAR01"}
    assert current_consents(session=session, customer_id=customer.id)["email_marketing"].status == (
        "never_asked"
    )


def test_the_same_state_again_is_recorded_without_a_change_event(session: Session) -> None:
    customer = _profile(session)
    for hours in (0, 1):
        record_consent(
            session=session,
            customer_id=customer.id,
            purpose="postal_mail",
            status="granted",
            channel="store",
            actor="associate:A12",
            now=NOW + timedelta(hours=hours),
        )

    assert len(consent_history(session=session, customer_id=customer.id)) == 2
    assert len(_events(session, "AMI-TESTCONSENT1")) == 1


def test_pending_confirmation_is_not_consent(session: Session) -> None:
    customer = _profile(session)

    state = record_consent(
        session=session,
        customer_id=customer.id,
        purpose="email_marketing",
        status="pending",
        channel="web_form",
        actor="person",
        now=NOW,
    )

    assert state.status == "pending"
    assert not may_contact(session=session, customer_id=customer.id, purpose="email_marketing")


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        ({"purpose": "telepathy"}, InvalidInputError, "unknown_purpose"),
        ({"status": "never_asked"}, InvalidInputError, "unknown_consent_state"),
        ({"status": "maybe"}, InvalidInputError, "unknown_consent_state"),
        ({"occurred_at": NOW + timedelta(days=1)}, InvalidInputError, "future_consent"),
        ({"actor": "  "}, InvalidInputError, "invalid_input"),
        ({"customer_id": 987_654_321}, NotFoundError, "not_found"),
    ],
)
def test_a_bad_statement_is_refused_and_nothing_is_written(
    session: Session, change: dict[str, Any], error: type[Exception], code: str
) -> None:
    customer = _profile(session)
    arguments: dict[str, Any] = {
        "customer_id": customer.id,
        "purpose": "email_marketing",
        "status": "granted",
        "channel": "store",
        "actor": "associate:A12",
        "now": NOW,
        **change,
    }

    with pytest.raises(error) as raised:
        record_consent(session=session, **arguments)

    assert raised.value.code == code  # type: ignore[attr-defined]
    assert _count(session, ConsentEvent) == 0
    assert _count(session, ConsentState) == 0
    assert _count(session, OutboxEvent) == 0


def test_unknown_purpose_for_may_contact_is_a_clear_error(session: Session) -> None:
    customer = _profile(session)
    with pytest.raises(InvalidInputError, match="not a consent purpose"):
        may_contact(session=session, customer_id=customer.id, purpose="spam")


# ---------------------------------------------------------------- loading and merging

SHOPIFY_ID = 6840000000001
# One person in three systems. The store holds a refusal of e-mails as of its
# last modification (1 June 2025), which cannot be ordered against Shopify's
# confirmed subscription of March 2025; the web form ticked SMS exactly on
# 2 July 2025, after everything else.
PERSON = {
    "cegid": [
        cegid_customer(
            "PAR01000001",
            "agathe.roussel@example.org",
            "01/06/2025 10:00:00",
            OptinEmail="DoNotUse",
            OptinMobile="AskCustomer",
            OptinPostal="BrandOnly",
        )
    ],
    "shopify": [
        shopify_customer(
            SHOPIFY_ID,
            "agathe.roussel@example.org",
            email_consent={
                "state": "subscribed",
                "opt_in_level": "confirmed_opt_in",
                "consent_updated_at": "2025-03-05T10:00:00+01:00",
            },
            sms_consent={
                "state": "pending",
                "opt_in_level": "confirmed_opt_in",
                "consent_updated_at": "2025-03-05T10:00:00+01:00",
                "consent_collected_from": "SHOPIFY",
            },
        )
    ],
    "webforms": [
        submission(
            "wf-agathe-1",
            "agathe.roussel@example.org",
            "2025-07-02T18:04:11+02:00",
            email_marketing=False,
            sms_marketing=True,
        )
    ],
}


def _states(session: Session, reference: str) -> dict[str, str]:
    [customer] = find_customers(session=session, reference=reference)
    return {
        p: c.status for p, c in current_consents(session=session, customer_id=customer.id).items()
    }


def _id(session: Session, reference: str) -> int:
    [customer] = find_customers(session=session, reference=reference)
    return customer.id


@pytest.fixture
def loaded(tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]) -> Engine:
    """Return an engine on a repository holding the person's three records, unresolved."""
    engine = open_engine(fresh_database_url)
    load_directory(engine=engine, directory=write_export(tmp_path / "export", **PERSON))
    return engine


def test_a_load_appends_each_source_statement_with_its_proof(loaded: Engine) -> None:
    with unit_of_work(loaded) as session:
        cegid = _states(session, "cegid:PAR01000001")
        shopify = _states(session, f"shopify:{SHOPIFY_ID}")
        form = _states(session, "webforms:wf-agathe-1")
        form_history = consent_history(
            session=session, customer_id=_id(session, "webforms:wf-agathe-1")
        )
        shopify_history = consent_history(
            session=session, customer_id=_id(session, f"shopify:{SHOPIFY_ID}")
        )

    assert cegid == {
        "email_marketing": "withdrawn",
        "sms_marketing": "never_asked",
        "phone_calls": "never_asked",
        "postal_mail": "granted",
        "data_analysis": "never_asked",
    }
    assert (shopify["email_marketing"], shopify["sms_marketing"]) == ("confirmed", "pending")
    assert (form["email_marketing"], form["sms_marketing"]) == ("never_asked", "granted")
    sms = next(e for e in form_history if e.purpose == "sms_marketing")
    assert sms.time_basis == "exact"
    assert sms.occurred_at == datetime(2025, 7, 2, 16, 4, 11, tzinfo=UTC)
    assert sms.proof["consent_text_version"] == "nl-2025-01"
    assert sms.proof["ip"] == "198.51.100.7"
    assert sms.proof["user_agent"].startswith("Mozilla/5.0")
    assert (sms.channel, sms.raw_value) == ("web_form", "true")
    collected = next(e for e in shopify_history if e.purpose == "sms_marketing")
    assert collected.proof["consent_collected_from"] == "SHOPIFY"
    assert collected.proof["opt_in_level"] == "confirmed_opt_in"


def test_reloading_the_same_export_adds_no_statement_and_no_event(
    loaded: Engine, tmp_path: Path
) -> None:
    with unit_of_work(loaded) as session:
        before = (_count(session, ConsentEvent), _count(session, OutboxEvent))

    load_directory(engine=loaded, directory=tmp_path / "export")

    with unit_of_work(loaded) as session:
        assert (_count(session, ConsentEvent), _count(session, OutboxEvent)) == before


def test_a_later_load_changes_the_state_and_the_projection_still_matches(
    loaded: Engine, tmp_path: Path
) -> None:
    unsubscribed = shopify_customer(
        SHOPIFY_ID,
        "agathe.roussel@example.org",
        email_consent={
            "state": "unsubscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": "2025-09-01T08:00:00+02:00",
        },
        updated_at="2025-09-01T08:00:00+02:00",
    )
    load_directory(
        engine=loaded, directory=write_export(tmp_path / "later", shopify=[unsubscribed])
    )

    with unit_of_work(loaded) as session:
        states = _states(session, f"shopify:{SHOPIFY_ID}")
        [customer] = find_customers(session=session, reference=f"shopify:{SHOPIFY_ID}")
        events = _events(session, customer.external_id)
        check = rebuild_projection(session=session, now=NOW, check_only=True)

    assert states["email_marketing"] == "withdrawn"
    assert events[-1]["previous_status"] == "confirmed"
    assert events[-1]["cause"] == "source_statement"
    assert check.differences == 0


def test_merging_applies_the_same_rule_and_unmerging_gives_each_its_own_ledger(
    loaded: Engine,
) -> None:
    with unit_of_work(loaded) as session:
        cegid, shopify, form = (
            _id(session, r)
            for r in ("cegid:PAR01000001", f"shopify:{SHOPIFY_ID}", "webforms:wf-agathe-1")
        )
        first = merge_profiles(session=session, survivor_id=cegid, merged_id=shopify, actor="test")
        second = merge_profiles(session=session, survivor_id=cegid, merged_id=form, actor="test")
    with unit_of_work(loaded) as session:
        merged = _states(session, "cegid:PAR01000001")
        merged_history = consent_history(session=session, customer_id=cegid)
    with unit_of_work(loaded) as session:
        unmerge_profiles(session=session, merge_event_id=second, actor="test", reason="check")
        unmerge_profiles(session=session, merge_event_id=first, actor="test", reason="check")
    with unit_of_work(loaded) as session:
        after = {
            r: _states(session, r)
            for r in ("cegid:PAR01000001", f"shopify:{SHOPIFY_ID}", "webforms:wf-agathe-1")
        }
        causes = [
            e.data["cause"]
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "consent.changed")
            )
        ]
        check = rebuild_projection(session=session, now=NOW, check_only=True)

    # E-mail: the store's refusal (as of June) cannot be ordered against
    # Shopify's March confirmation: the most restrictive wins. SMS: the form's
    # tick in July comes after Shopify's pending of March. Post: only the store.
    assert merged["email_marketing"] == "withdrawn"
    assert merged["sms_marketing"] == "granted"
    assert merged["postal_mail"] == "granted"
    assert len(merged_history) == 4 + 2 + 2
    assert after["cegid:PAR01000001"]["email_marketing"] == "withdrawn"
    assert after[f"shopify:{SHOPIFY_ID}"]["email_marketing"] == "confirmed"
    assert after[f"shopify:{SHOPIFY_ID}"]["sms_marketing"] == "pending"
    assert after["webforms:wf-agathe-1"]["sms_marketing"] == "granted"
    assert after["cegid:PAR01000001"]["sms_marketing"] == "never_asked"
    assert {"merge", "unmerge"} <= set(causes)
    assert check.differences == 0


def test_a_statement_made_on_a_merged_profile_follows_it_back_on_unmerge(
    loaded: Engine,
) -> None:
    with unit_of_work(loaded) as session:
        cegid, shopify = _id(session, "cegid:PAR01000001"), _id(session, f"shopify:{SHOPIFY_ID}")
        merge = merge_profiles(session=session, survivor_id=cegid, merged_id=shopify, actor="test")
        # The person clicks the unsubscribe link of an e-mail sent to the Shopify profile.
        record_consent(
            session=session,
            customer_id=shopify,
            purpose="postal_mail",
            status="withdrawn",
            channel="preference_center",
            actor="person",
            now=datetime.now(UTC),
        )
        merged = _states(session, "cegid:PAR01000001")
    with unit_of_work(loaded) as session:
        unmerge_profiles(session=session, merge_event_id=merge, actor="test", reason="check")
    with unit_of_work(loaded) as session:
        store_side = _states(session, "cegid:PAR01000001")
        web_side = _states(session, f"shopify:{SHOPIFY_ID}")

    assert merged["postal_mail"] == "withdrawn"
    assert store_side["postal_mail"] == "granted"
    assert web_side["postal_mail"] == "withdrawn"


def test_an_initial_load_and_a_load_into_a_filled_repository_project_alike(
    tmp_path: Path, make_database_url: Callable[[], str], open_engine: Callable[[str], Engine]
) -> None:
    # Into an empty repository the projection runs once at the end; otherwise batch by batch.
    export = write_export(tmp_path / "export", **PERSON)
    deferred, batched = open_engine(make_database_url()), open_engine(make_database_url())
    load_directory(engine=deferred, directory=export)
    with unit_of_work(batched) as session:
        _profile(session, "AMI-ALREADYHERE1")
    load_directory(engine=batched, directory=export, batch_size=1)

    for engine in (deferred, batched):
        with unit_of_work(engine) as session:
            assert _states(session, f"shopify:{SHOPIFY_ID}")["email_marketing"] == "confirmed"
            assert _states(session, "cegid:PAR01000001")["email_marketing"] == "withdrawn"
            assert rebuild_projection(session=session, now=NOW, check_only=True).differences == 0
