"""AMIgo's enrichment reaches the stand-in Y2 once, is recognised when it comes back, never loops.

Every storage test runs on SQLite and PostgreSQL against the stand-in Y2 on
loopback (a real HTTP server speaking SOAP 1.1). The inbound side is the
sync's own path: GetCustomerDetail, translated to a customers.csv row, through
``write_batch``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amigo.connectors.cegid import mapping, translate
from amigo.connectors.cegid.importfile import export_enrichment
from amigo.connectors.cegid.outbound import (
    CONNECTOR,
    STREAM,
    Delivery,
    Outcome,
    Sent,
    Wanted,
    decide,
    event_customers,
    outbound_consumer,
    push_profile,
    replay_dead_letter,
    run_push,
)
from amigo.connectors.cegid.soap import Y2Client
from amigo.connectors.cegid.sync import run_sync
from amigo.connectors.models import DeadLetterStatus
from amigo.connectors.resilience import CircuitBreaker, RetryPolicy
from amigo.connectors.state import list_dead_letters, load_checkpoint, sync_states
from amigo.consent.service import current_consents, record_consent
from amigo.core.clock import utcnow
from amigo.core.config import CegidSettings, Settings
from amigo.core.db import unit_of_work
from amigo.core.errors import ConflictError
from amigo.events.models import OutboxEvent
from amigo.events.service import to_cloudevent
from amigo.identity.models import IdentityLink
from amigo.identity.service import merge_profiles
from amigo.ingest.catalog import EXPORT_FILES
from amigo.ingest.prepare import mapping_context
from amigo.ingest.readers import open_csv_export
from amigo.ingest.service import FileStats, prepare_payloads, write_batch
from amigo.profiles.models import GoldenCustomer
from amigo.profiles.service import linked_profile
from connectors.cegid_standin import DATABASE, PASSWORD, USER, StandinY2, Y2Data, running

PARIS = ZoneInfo("Europe/Paris")
SPECS = {spec.path: spec for spec in EXPORT_FILES}
SETTINGS = CegidSettings()
CREATING = CegidSettings(outbound_create=True)
GOLDEN_TEXT = "UserDefinedText2"


# --------------------------------------------------------------------------- the rules


def _at(hour: int) -> datetime:
    return datetime(2026, 11, 5, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("held", "held_at", "sent", "wanted", "expected"),
    [
        # Y2 holds it already (ForPartners is consent as BrandOnly is).
        ("BrandOnly", _at(9), None, Wanted("BrandOnly", _at(8), "shopify"), Outcome.HELD),
        ("ForPartners", _at(9), None, Wanted("BrandOnly", _at(8), "shopify"), Outcome.HELD),
        # ... because AMIgo wrote it there: the echo.
        ("DoNotUse", _at(11), Sent("DoNotUse", _at(10)), Wanted("DoNotUse", _at(9), "amigo"),
         Outcome.ECHO),
        # Sent, and Y2 has not spoken since (or does not report the field back).
        ("BrandOnly", _at(9), Sent("DoNotUse", _at(10)), Wanted("DoNotUse", _at(9), "amigo"),
         Outcome.AWAITING),
        (None, _at(11), Sent("AMI-1", _at(10)), Wanted("AMI-1", _at(1), "amigo"), Outcome.AWAITING),
        # Y2 changed the field after AMIgo decided: Y2's change stays.
        ("BrandOnly", _at(12), None, Wanted("DoNotUse", _at(10), "amigo"), Outcome.Y2_NEWER),
        ("BrandOnly", _at(12), Sent("DoNotUse", _at(10)), Wanted("DoNotUse", _at(10), "amigo"),
         Outcome.Y2_NEWER),
        # AMIgo decided later: its value goes.
        ("BrandOnly", _at(9), None, Wanted("DoNotUse", _at(10), "amigo"), Outcome.SEND),
        # Y2 holds what AMIgo wrote before, and AMIgo changed its mind since.
        ("VIP", _at(12), Sent("VIP", _at(11)), Wanted("PREMIUM", _at(10), "cegid"), Outcome.SEND),
        # Equal times: source priority, Cegid above Shopify, a person's own say above Cegid.
        ("STANDARD", _at(9), None, Wanted("VIP", _at(9), "shopify"), Outcome.Y2_NEWER),
        ("STANDARD", _at(9), None, Wanted("VIP", _at(9), "manual"), Outcome.SEND),
        # Y2 empty: filled. AskCustomer states nothing: never written over a consent.
        (None, _at(12), None, Wanted("VIP", _at(9), "shopify"), Outcome.SEND),
        ("DoNotUse", _at(1), None, Wanted("AskCustomer", _at(9), "amigo"), Outcome.NO_STATEMENT),
    ],
)  # fmt: skip
def test_each_field_is_decided_by_what_y2_holds_what_was_sent_and_whose_change_is_newer(
    held: str | None, held_at: datetime, sent: Sent | None, wanted: Wanted, expected: Outcome
) -> None:
    column = "UserDefinedText1" if wanted.value in ("VIP", "PREMIUM") else "OptinEmail"
    if wanted.value.startswith("AMI-"):
        column = GOLDEN_TEXT
    assert decide(column, wanted, held=held, held_at=held_at, sent=sent) is expected


# --------------------------------------------------------------------------- the world


def y2_customer(
    customer_id: str,
    *,
    modified: datetime,
    tier: str | None = "STANDARD",
    optin_email: str = "BrandOnly",
    salesperson: str | None = "A100",
    store: str = "PAR01",
) -> dict[str, Any]:
    """Return a Y2 customer as the stand-in holds it (LastModificationDate store-local)."""
    n = int(customer_id[-4:])
    return {
        "CustomerId": customer_id,
        "CreationStoreId": store,
        "UsualStoreId": store,
        "FirstName": "Anne",
        "LastName": f"Martin{n}",
        "EmailData": {"Email": f"anne.martin{n}@example.org"},
        "SalesPersonId": salesperson,
        "UserDefinedTexts": [] if tier is None else [{"Id": 1, "Value": tier}],
        "OptinEmail": optin_email,
        "OptinMobile": "AskCustomer",
        "OptinPostal": "DoNotUse",
        "LastModificationDate": modified.astimezone(PARIS).replace(tzinfo=None),
        "Closed": False,
        "IsProspect": False,
        "LanguageId": "FR",
    }


@dataclass
class Y2:
    """The stand-in and a client on it (few, instant retries; a breaker opening after 2)."""

    standin: StandinY2
    url: str
    client: Y2Client

    def new_client(self) -> Y2Client:
        """Return a client with a fresh breaker: another run of the command."""
        return _client(self.url)

    def customer(self, customer_id: str) -> dict[str, Any]:
        """Return what the stand-in holds for one customer."""
        return self.standin.data.customers[customer_id]


def _client(url: str) -> Y2Client:
    return Y2Client(
        base_url=url,
        database_id=DATABASE,
        username=USER,
        password=PASSWORD,
        timeout=5.0,
        policy=RetryPolicy(attempts=2, base_seconds=0.0, max_seconds=0.0),
        breaker=CircuitBreaker("Cegid Y2", failure_threshold=2, reset_seconds=600),
        sleep=lambda _seconds: None,
    )


@pytest.fixture
def y2() -> Iterator[Y2]:
    """Serve a stand-in Y2 with four customers of PAR01, last changed 30 days ago."""
    month_ago = utcnow() - timedelta(days=30)
    data = Y2Data()
    for n in range(1, 5):
        customer_id = f"PAR01{n:06d}"
        data.customers[customer_id] = y2_customer(customer_id, modified=month_ago)
    standin = StandinY2(data)
    with running(standin) as url:
        client = _client(url)
        yield Y2(standin, url, client)
        client.close()


def _write(session: Session, path: str, rows: list[dict[str, Any]]) -> Any:
    spec = SPECS[path]
    raw, prepared = prepare_payloads(session.connection(), spec=spec, payloads=rows)
    stats = FileStats(file=spec.path)
    written = write_batch(
        session.connection(),
        spec=spec,
        chunk=raw,
        prepared=prepared,
        stats=stats,
        consent_actor="process:cegid-sync",
        event_cause="cegid_sync",
    )
    assert stats.rejected == 0, written.rejects
    return written


def seed_reference(session: Session) -> None:
    """Load the store and the associate the Y2 customers name."""
    _write(
        session,
        "cegid/stores.csv",
        [
            {"StoreId": "PAR01", "StoreName": "AMI Paris Saint-Honoré", "RegionId": "EUROPE",
             "TimeZoneId": "Europe/Paris", "CountryId": "FRA"},
            {"StoreId": "LON01", "StoreName": "AMI London", "RegionId": "EUROPE",
             "TimeZoneId": "Europe/London", "CountryId": "GBR"},
        ],
    )  # fmt: skip
    _write(
        session,
        "cegid/sales_associates.csv",
        [
            {"SalesPersonId": "A100", "FirstName": "Léa", "StoreId": "PAR01", "Active": "1"},
            {"SalesPersonId": "A200", "FirstName": "Tom", "StoreId": "PAR01", "Active": "1"},
        ],
    )


def inbound(session: Session, y2: Y2, *customer_ids: str) -> Any:
    """Bring Y2 customers in as the sync does: GetCustomerDetail, customers.csv row, the load."""
    rows = []
    for customer_id in customer_ids:
        detail = y2.client.customer(customer_id)
        assert detail is not None
        rows.append(translate.customer_row(detail))
    return _write(session, "cegid/customers.csv", rows)


def profile_of(session: Session, customer_id: str) -> int:
    """Return the golden profile holding a Y2 customer."""
    linked = linked_profile(session.connection(), "cegid", customer_id)
    assert linked is not None
    return linked.customer_id


def withdraw_email(session: Session, customer_id: int, at: datetime) -> None:
    """Record the person's withdrawal of e-mail marketing, made to AMIgo itself."""
    record_consent(
        session=session,
        customer_id=customer_id,
        purpose="email_marketing",
        status="withdrawn",
        channel="preference_center",
        actor="person",
        now=at,
        occurred_at=at,
    )


def texts(customer: dict[str, Any]) -> dict[int, str]:
    """Return a Y2 customer's UserDefinedTexts by Id."""
    return {t["Id"]: t["Value"] for t in customer.get("UserDefinedTexts") or []}


# --------------------------------------------------------------------------- pushing


def test_a_withdrawal_reaches_y2_as_donotuse_and_nothing_y2_holds_is_sent(
    session: Session, y2: Y2
) -> None:
    seed_reference(session)
    inbound(session, y2, "PAR01000001")
    customer_id = profile_of(session, "PAR01000001")
    golden = session.get_one(GoldenCustomer, customer_id)
    withdraw_email(session, customer_id, utcnow())

    result = push_profile(
        session=session, client=y2.client, customer_id=customer_id, settings=SETTINGS, now=utcnow()
    )

    assert result is not None
    assert result.delivery is Delivery.UPDATED
    [(sent_to, data)] = y2.standin.updates
    assert sent_to == "PAR01000001"
    # Only what Y2 lacks: the withdrawal and the golden id; tier, store, associate and the
    # other opt-ins are Y2's already.
    assert data == {
        "OptinEmail": "DoNotUse",
        "UserDefinedTexts": [{"Id": 2, "Value": golden.external_id}],
    }
    held = y2.customer("PAR01000001")
    assert held["OptinEmail"] == "DoNotUse"
    assert texts(held) == {1: "STANDARD", 2: golden.external_id}
    assert result.outcomes[Outcome.HELD] == 5


def test_the_echo_of_a_push_is_recognised_and_not_sent_back(session: Session, y2: Y2) -> None:
    seed_reference(session)
    inbound(session, y2, "PAR01000001")
    customer_id = profile_of(session, "PAR01000001")
    withdraw_email(session, customer_id, utcnow())
    push_profile(
        session=session, client=y2.client, customer_id=customer_id, settings=SETTINGS, now=utcnow()
    )
    assert len(y2.standin.updates) == 1

    # The next inbound sync reads the pushed values back from GetCustomerDetail...
    written = inbound(session, y2, "PAR01000001")
    assert written.record_ids  # a new version of the Y2 customer (its LastModificationDate moved)
    assert (
        current_consents(session=session, customer_id=customer_id)["email_marketing"].status
        == "withdrawn"
    )

    # ... and the next push sends nothing: the echo is AMIgo's own write.
    again = push_profile(
        session=session, client=y2.client, customer_id=customer_id, settings=SETTINGS, now=utcnow()
    )
    assert again is not None
    assert again.delivery is Delivery.UNCHANGED
    assert again.outcomes[Outcome.ECHO] == 1  # OptinEmail
    assert again.outcomes[Outcome.AWAITING] == 1  # the golden id: Y2's answer leaves it out
    assert len(y2.standin.updates) == 1
    assert y2.standin.calls.operations.get("UpdateCustomer") == 1


def test_a_newer_change_made_in_y2_is_not_overwritten(session: Session, y2: Y2) -> None:
    seed_reference(session)
    inbound(session, y2, "PAR01000001")
    customer_id = profile_of(session, "PAR01000001")
    push_profile(
        session=session, client=y2.client, customer_id=customer_id, settings=SETTINGS, now=utcnow()
    )
    # The person unsubscribes on the web; an hour later, before any push, a store
    # associate records their consent again at the till, and the sync brings it in.
    withdraw_email(session, customer_id, utcnow() - timedelta(hours=2))
    y2.standin.data.touch(
        "PAR01000001",
        at=(utcnow() - timedelta(hours=1)).astimezone(PARIS).replace(tzinfo=None),
        OptinEmail="BrandOnly",
    )
    inbound(session, y2, "PAR01000001")
    # AMIgo itself stays on the restrictive side (invariant 4: an "as of" POS value
    # cannot be ordered against the exact withdrawal) ...
    state = current_consents(session=session, customer_id=customer_id)["email_marketing"]
    assert state.status == "withdrawn"

    result = push_profile(
        session=session, client=y2.client, customer_id=customer_id, settings=SETTINGS, now=utcnow()
    )

    # ... but Y2's newer change is not overwritten.
    assert result is not None
    assert result.delivery is Delivery.UNCHANGED
    assert result.outcomes[Outcome.Y2_NEWER] == 1
    assert y2.customer("PAR01000001")["OptinEmail"] == "BrandOnly"
    assert len(y2.standin.updates) == 1  # the first push's golden id only


def test_a_tier_change_reaches_userdefinedtext1_of_the_persons_other_card(
    session: Session, y2: Y2
) -> None:
    seed_reference(session)
    inbound(session, y2, "PAR01000001", "PAR01000002")
    first, second = profile_of(session, "PAR01000001"), profile_of(session, "PAR01000002")
    merge_profiles(session=session, survivor_id=first, merged_id=second, actor="user:alice")
    push_profile(
        session=session, client=y2.client, customer_id=first, settings=SETTINGS, now=utcnow()
    )
    y2.standin.updates.clear()

    # The second card is upgraded at the till; the sync brings it in: the profile is VIP.
    y2.standin.data.touch(
        "PAR01000002",
        at=utcnow().astimezone(PARIS).replace(tzinfo=None),
        UserDefinedTexts=[{"Id": 1, "Value": "VIP"}],
    )
    inbound(session, y2, "PAR01000002")
    assert session.get_one(GoldenCustomer, first).tier == "vip"

    result = push_profile(
        session=session, client=y2.client, customer_id=first, settings=SETTINGS, now=utcnow()
    )

    assert result is not None
    assert result.delivery is Delivery.UPDATED
    assert y2.standin.updates == [
        ("PAR01000001", {"UserDefinedTexts": [{"Id": 1, "Value": "VIP"}]})
    ]
    assert texts(y2.customer("PAR01000001"))[1] == "VIP"


def test_a_refused_push_is_a_dead_letter_that_a_replay_delivers_once(
    session: Session, y2: Y2
) -> None:
    seed_reference(session)
    inbound(session, y2, "PAR01000001")
    customer_id = profile_of(session, "PAR01000001")
    withdraw_email(session, customer_id, utcnow())
    y2.standin.faults.client_fault_on = "UpdateCustomer"

    result = push_profile(
        session=session, client=y2.client, customer_id=customer_id, settings=SETTINGS, now=utcnow()
    )

    assert result is not None
    assert result.delivery is Delivery.REFUSED
    [letter] = list_dead_letters(session=session, connector=CONNECTOR)
    assert (letter.operation, letter.target) == ("UpdateCustomer", "cegid:PAR01000001")
    assert "paramètre invalide" in (letter.error or "")
    assert y2.customer("PAR01000001")["OptinEmail"] == "BrandOnly"

    y2.standin.faults.client_fault_on = None
    delivered, message = replay_dead_letter(
        session=session, client=y2.client, letter_id=letter.id, now=utcnow()
    )

    assert delivered, message
    assert y2.customer("PAR01000001")["OptinEmail"] == "DoNotUse"
    assert list_dead_letters(session=session, connector=CONNECTOR) == []
    with pytest.raises(ConflictError):
        replay_dead_letter(session=session, client=y2.client, letter_id=letter.id, now=utcnow())
    # Remembered as sent: the next push does not send it again.
    again = push_profile(
        session=session, client=y2.client, customer_id=customer_id, settings=SETTINGS, now=utcnow()
    )
    assert again is not None
    assert again.delivery is Delivery.UNCHANGED
    assert y2.standin.calls.operations["UpdateCustomer"] == 2


def test_a_failed_replay_keeps_the_dead_letter_with_one_more_attempt(
    session: Session, y2: Y2
) -> None:
    seed_reference(session)
    inbound(session, y2, "PAR01000001")
    customer_id = profile_of(session, "PAR01000001")
    y2.standin.faults.client_fault_on = "UpdateCustomer"
    push_profile(
        session=session, client=y2.client, customer_id=customer_id, settings=SETTINGS, now=utcnow()
    )
    [letter] = list_dead_letters(session=session, connector=CONNECTOR)

    delivered, _message = replay_dead_letter(
        session=session, client=y2.client, letter_id=letter.id, now=utcnow()
    )

    assert not delivered
    [kept] = list_dead_letters(session=session, connector=CONNECTOR)
    assert (kept.id, kept.status, kept.attempts) == (letter.id, DeadLetterStatus.DEAD, 2)


def test_a_profile_without_a_y2_customer_is_created_once_then_updated(
    session: Session, y2: Y2
) -> None:
    seed_reference(session)
    _write(
        session,
        "shopify/customers.jsonl",
        [{"id": 7_000_001, "email": "lea.moreau@example.org", "first_name": "Léa",
          "last_name": "Moreau", "created_at": "2026-10-01T10:00:00+02:00",
          "updated_at": "2026-10-01T10:00:00+02:00", "tags": "VIP"}],
    )  # fmt: skip
    linked = linked_profile(session.connection(), "shopify", "7000001")
    assert linked is not None
    golden = session.get_one(GoldenCustomer, linked.customer_id)
    assert (
        push_profile(
            session=session,
            client=y2.client,
            customer_id=golden.id,
            settings=CREATING,
            now=utcnow(),
        )
        is None
    )  # no store: nothing to create
    golden.preferred_store_id = "LON01"  # the web shop's customer chose a store
    session.flush()
    assert (
        push_profile(
            session=session,
            client=y2.client,
            customer_id=golden.id,
            settings=SETTINGS,
            now=utcnow(),
        )
        is None
    )  # creation is off by default

    created = push_profile(
        session=session, client=y2.client, customer_id=golden.id, settings=CREATING, now=utcnow()
    )

    assert created is not None
    assert created.delivery is Delivery.CREATED
    [new_id] = y2.standin.created
    assert created.created_ref == new_id
    held = y2.customer(new_id)
    assert (held["LastName"], held["EmailData"]["Email"]) == ("Moreau", "lea.moreau@example.org")
    assert (held["UsualStoreId"], texts(held)) == ("LON01", {1: "VIP", 2: golden.external_id})
    link = session.scalars(select(IdentityLink).where(IdentityLink.source_system == "cegid")).one()
    assert (link.source_id, link.customer_id) == (new_id, golden.id)

    # Rerun: the link says the customer exists; what was sent awaits its echo.
    rerun = push_profile(
        session=session, client=y2.client, customer_id=golden.id, settings=CREATING, now=utcnow()
    )
    assert rerun is not None
    assert rerun.delivery is Delivery.UNCHANGED
    # The sync brings the new Y2 customer in: its values are AMIgo's own, and an
    # update (not a creation) would follow a change.
    inbound(session, y2, new_id)
    withdraw_email(session, golden.id, utcnow())
    after = push_profile(
        session=session, client=y2.client, customer_id=golden.id, settings=CREATING, now=utcnow()
    )
    assert after is not None
    assert after.delivery is Delivery.UPDATED
    assert y2.standin.created == [new_id]
    assert y2.standin.updates == [(new_id, {"OptinEmail": "DoNotUse"})]


# --------------------------------------------------------------------------- runs and events


@pytest.fixture
def committed(fresh_database_url: str, open_engine: Callable[[str], Engine]) -> Engine:
    """Return an engine on a database of its own: runs commit per chunk."""
    return open_engine(fresh_database_url)


def test_a_dead_y2_opens_the_breaker_keeps_dead_letters_and_loses_nothing(
    committed: Engine, y2: Y2
) -> None:
    ids = ["PAR01000001", "PAR01000002", "PAR01000003", "PAR01000004"]
    with unit_of_work(committed) as session:
        seed_reference(session)
        inbound(session, y2, *ids)
    y2.standin.faults.down = True

    stopped = run_push(committed, client=y2.client, settings=SETTINGS, since=None)

    # Two profiles failed every retry, then the breaker opened and the run stopped.
    assert (stopped.considered, stopped.dead_letters, stopped.updated) == (2, 2, 0)
    assert stopped.stopped is not None
    assert "breaker" in stopped.stopped
    with unit_of_work(committed) as session:
        letters = list_dead_letters(session=session, connector=CONNECTOR)
        assert [(d.operation, d.attempts) for d in letters] == [("UpdateCustomer", 2)] * 2
        assert load_checkpoint(session=session, connector=CONNECTOR, stream=STREAM) is None
        [state] = sync_states(session=session, connector=CONNECTOR)
        assert (state.breaker_state.value, state.consecutive_failures) == ("open", 1)

    y2.standin.faults.down = False
    client = y2.new_client()
    with unit_of_work(committed) as session:
        for letter in letters:
            assert replay_dead_letter(
                session=session, client=client, letter_id=letter.id, now=utcnow()
            )[0]
    # The next run reaches the profiles the stopped one did not, and resends nothing else.
    done = run_push(committed, client=client, settings=SETTINGS, since=None)
    client.close()

    assert (done.considered, done.updated, done.unchanged, done.dead_letters) == (4, 2, 2, 0)
    assert all(texts(y2.customer(i)).get(2, "").startswith("AMI-") for i in ids)
    with unit_of_work(committed) as session:
        assert load_checkpoint(session=session, connector=CONNECTOR, stream=STREAM) is not None


def test_the_consumer_pushes_each_event_once(committed: Engine, y2: Y2) -> None:
    with unit_of_work(committed) as session:
        seed_reference(session)
        inbound(session, y2, "PAR01000001")
        customer_id = profile_of(session, "PAR01000001")
        withdraw_email(session, customer_id, utcnow())
    with unit_of_work(committed) as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        events = [to_cloudevent(row) for row in rows]
    [changed] = [e for e in events if e["type"] == "consent.changed"
                 and e["data"]["cause"] != "source_statement"]  # fmt: skip
    consume = outbound_consumer(committed, y2.client, SETTINGS)

    for event in events:  # every event of the load and the withdrawal, and one twice
        consume(event)
    consume(changed)

    assert len(y2.standin.updates) == 1
    assert y2.standin.updates[0][1]["OptinEmail"] == "DoNotUse"


# --------------------------------------------------------------------------- import file


def test_the_import_file_loads_back_through_the_y2_mapping_without_rejects(
    session: Session, y2: Y2, tmp_path: Path
) -> None:
    seed_reference(session)
    inbound(session, y2, "PAR01000001", "PAR01000002", "PAR01000003")
    customer_id = profile_of(session, "PAR01000002")
    withdraw_email(session, customer_id, utcnow())

    written = export_enrichment(
        session=session, out_dir=tmp_path, since=None, settings=SETTINGS, now=utcnow()
    )

    raw = written.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfCustomerId;UserDefinedText1;UserDefinedText2;OptinEmail;")
    assert raw.count(b"\r\n") == 4
    assert raw.count(b"\n") == 4
    assert not list(tmp_path.glob(".*"))  # the temporary name is gone
    export = open_csv_export(written.path, required_columns=mapping.CUSTOMERS.required)
    rows = {row.data["CustomerId"]: row.data for row in export.rows() if row.data}
    assert rows["PAR01000002"]["OptinEmail"] == "DoNotUse"
    assert rows["PAR01000001"]["OptinEmail"] == "BrandOnly"  # Y2's own value, kept

    # Y2 imports it: each customer now holds the file's values, as its next export says.
    ctx = mapping_context({"PAR01": ("Europe/Paris", "FR")})
    held = {i: translate.customer_row(y2.client.customer(i) or {}) for i in rows}
    merged = [{**held[i], **{k: v for k, v in row.items() if v}} for i, row in rows.items()]
    for row in merged:
        result = mapping.CUSTOMERS.map(row, ctx)
        assert result.reject is None
        assert result.facts is not None
        assert [i for i in result.issues if i.field in ("tier", "consent.email_marketing")] == []
        assert result.facts.tier == "standard"
        assert result.facts.preferred_store_id == "PAR01"
    written_back = _write(session, "cegid/customers.csv", merged)
    assert written_back.rejects == []


# --------------------------------------------------------------------------- the commands


def _amigo(*args: str, database_url: str, y2_url: str | None) -> subprocess.CompletedProcess[str]:
    y2_env = {
        "AMIGO_CEGID_BASE_URL": y2_url or "",
        "AMIGO_CEGID_DATABASE_ID": DATABASE,
        "AMIGO_CEGID_USERNAME": USER,
        "AMIGO_CEGID_PASSWORD": PASSWORD,
    }
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", "connectors", "cegid", *args],
        env={
            **os.environ,
            **(y2_env if y2_url else {}),
            "AMIGO_DATABASE_URL": database_url,
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_push_sends_what_changed_then_nothing_and_says_so(
    fresh_database_url: str, open_engine: Callable[[str], Engine], y2: Y2
) -> None:
    with unit_of_work(open_engine(fresh_database_url)) as session:
        seed_reference(session)
        inbound(session, y2, "PAR01000001", "PAR01000002")
        withdraw_email(session, profile_of(session, "PAR01000002"), utcnow())

    unconfigured = _amigo("push", database_url=fresh_database_url, y2_url=None)
    first = _amigo("push", database_url=fresh_database_url, y2_url=y2.url)
    second = _amigo("push", database_url=fresh_database_url, y2_url=y2.url)

    assert unconfigured.returncode == 2
    assert unconfigured.stderr.startswith("error: Cegid Y2's web services are not configured: set ")
    assert first.returncode == 0, first.stderr
    assert "pushing every profile with a Y2 customer" in first.stdout
    assert re.search(r"updated \(UpdateCustomer\)\s+│ 2 ", first.stdout)
    assert "fields: 11 held, 3 send" in first.stdout
    assert [data.get("OptinEmail") for _id, data in y2.standin.updates] == [None, "DoNotUse"]
    assert second.returncode == 0, second.stderr
    assert "pushing the profiles changed since " in second.stdout
    assert re.search(r"considered\s+│ 0 ", second.stdout)


def test_the_real_sync_brings_the_push_back_and_the_next_push_sends_nothing(
    committed: Engine, y2: Y2
) -> None:
    settings = Settings(
        cegid=CegidSettings(
            base_url=y2.url,
            database_id=DATABASE,
            username=USER,
            password=SecretStr(PASSWORD),
            reconcile_hours=0,
        )
    )
    today = utcnow().date()
    with unit_of_work(committed) as session:
        seed_reference(session)
    run_sync(committed, client=y2.client, settings=settings, since=today, reconcile=True)
    with unit_of_work(committed) as session:
        withdraw_email(session, profile_of(session, "PAR01000003"), utcnow())

    pushed = run_push(committed, client=y2.client, settings=SETTINGS, since=None)
    run_sync(committed, client=y2.client, settings=settings, since=today, reconcile=True)
    echoed = run_push(committed, client=y2.client, settings=SETTINGS, since=None)

    assert (pushed.considered, pushed.updated) == (4, 4)  # golden ids, and the withdrawal
    assert len(y2.standin.updates) == 4
    assert (echoed.considered, echoed.updated, echoed.unchanged, echoed.echoes) == (4, 0, 4, 1)
    assert echoed.fields[Outcome.ECHO] == 1
    assert y2.customer("PAR01000003")["OptinEmail"] == "DoNotUse"


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        ("consent.changed", {"customer": "AMI-A", "purpose": "email_marketing"}, ["AMI-A"]),
        ("consent.changed", {"customer": "AMI-A", "purpose": "data_analysis"}, []),
        ("customer.updated", {"customer": "AMI-A", "fields": ["city", "tier"]}, ["AMI-A"]),
        ("customer.updated", {"customer": "AMI-A", "fields": ["city"]}, []),
        ("customer.merged", {"survivor": "AMI-A", "merged": "AMI-B"}, ["AMI-A"]),
        ("customer.unmerged", {"survivor": "AMI-A", "restored": "AMI-B"}, ["AMI-A", "AMI-B"]),
        ("customer.created", {"customer": "AMI-A"}, []),
        ("order.created", {"customer": "AMI-A"}, []),
    ],
)
def test_the_consumer_acts_on_the_events_that_change_what_y2_holds(
    event_type: str, data: dict[str, Any], expected: list[str]
) -> None:
    event = {"id": "e1", "type": event_type, "data": data}
    assert event_customers(event) == expected


def test_the_in_process_relay_pushes_a_withdrawal_to_y2(
    fresh_database_url: str, open_engine: Callable[[str], Engine], y2: Y2
) -> None:
    with unit_of_work(open_engine(fresh_database_url)) as session:
        seed_reference(session)
        inbound(session, y2, "PAR01000001")
        withdraw_email(session, profile_of(session, "PAR01000001"), utcnow())
    env = {
        **os.environ,
        "AMIGO_DATABASE_URL": fresh_database_url,
        "AMIGO_CEGID_PUSH": "true",
        "AMIGO_CEGID_BASE_URL": y2.url,
        "AMIGO_CEGID_DATABASE_ID": DATABASE,
        "AMIGO_CEGID_USERNAME": USER,
        "AMIGO_CEGID_PASSWORD": PASSWORD,
        "COLUMNS": "200",
    }
    env.pop("AMIGO_BUS_URL", None)
    relayed = subprocess.run(
        [sys.executable, "-m", "amigo.cli", "events", "relay", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert relayed.returncode == 0, relayed.stderr
    assert "pushing profile enrichment to Cegid Y2" in relayed.stdout
    assert [data.get("OptinEmail") for _id, data in y2.standin.updates] == ["DoNotUse"]
