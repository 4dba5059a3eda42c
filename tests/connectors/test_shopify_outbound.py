"""AMIgo's changes pushed to Shopify: consents, tier tags, erasures; echoes and refusals.

A small shop is backfilled from the stand-in Admin API (a real HTTP server on
loopback), then events from the real outbox are pushed back to it through the
same client, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from amigo.connectors.models import DeadLetterStatus
from amigo.connectors.resilience import RetryPolicy
from amigo.connectors.shopify.admin import AdminClient
from amigo.connectors.shopify.outbound import push_event, replay_dead_letter
from amigo.connectors.state import list_dead_letters
from amigo.consent.service import record_consent
from amigo.core.db import make_engine, unit_of_work
from amigo.core.migrate import upgrade
from amigo.events.bus import NatsBus
from amigo.events.models import OutboxEvent
from amigo.events.service import to_cloudevent
from amigo.profiles.models import GoldenCustomer
from amigo.profiles.service import linked_profile
from conftest import DatabaseFactory
from connectors.shopify_standin import SHOP, TOKEN, Bucket, Shop, StandIn, generate_shop, serving
from connectors.test_shopify_backfill import backfill, backfill_settings
from events import conftest as events_conftest
from events.conftest import NATS_URL

# The events tests' fixture: a NATS stream of the test's own, deleted afterwards.
nats_stream = events_conftest.nats_bus
FAST = RetryPolicy(attempts=3, base_seconds=0.002, max_seconds=0.01)
NOW = datetime(2026, 12, 6, 19, 0, tzinfo=UTC)


@dataclass
class Linked:
    """A backfilled Shopify account, its golden profile and the stand-in's node."""

    node: dict[str, Any]
    source_id: str
    customer_id: int
    external_id: str


@dataclass
class World:
    engine: Engine
    stand_in: StandIn
    client: AdminClient
    tmp: Path

    def account(
        self, *, email: bool = True, phone: bool = False, state: str = "SUBSCRIBED"
    ) -> Linked:
        """Return a backfilled account with an email in this marketing state (or none)."""
        with unit_of_work(self.engine) as session:
            for node in self.stand_in.shop.customers:
                address = node["defaultEmailAddress"]
                if (address is not None) != email:
                    continue
                if address is not None and address["marketingState"] != state:
                    continue
                if phone and node["defaultPhoneNumber"] is None:
                    continue
                source_id = node["id"].rpartition("/")[2]
                profile = linked_profile(session.connection(), "shopify", source_id)
                if profile is None:
                    continue
                external_id = session.scalar(
                    select(GoldenCustomer.external_id).where(
                        GoldenCustomer.id == profile.customer_id
                    )
                )
                return Linked(node, source_id, profile.customer_id, str(external_id))
        raise AssertionError("no such account in the stand-in shop")

    def withdraw_email(self, person: Linked, *, channel: str) -> None:
        """Record the person's withdrawal of email marketing, made to AMIgo."""
        with unit_of_work(self.engine) as session:
            record_consent(
                session=session,
                customer_id=person.customer_id,
                purpose="email_marketing",
                status="withdrawn",
                channel=channel,
                actor="person",
                now=NOW,
            )

    def latest(self, event_type: str, subject: str) -> dict[str, Any]:
        """Return the newest outbox event of a type about a profile, as the bus carries it."""
        with unit_of_work(self.engine) as session:
            row = session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.type == event_type, OutboxEvent.subject == subject)
                .order_by(OutboxEvent.id.desc())
            ).first()
            assert row is not None
            return to_cloudevent(row)

    def push(self, event: dict[str, Any]) -> Any:
        with unit_of_work(self.engine) as session:
            return push_event(session=session, event=event, client=self.client, now=NOW)


@pytest.fixture
def world(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[World]:
    engine = make_engine(database_factory.new_url())
    upgrade(engine)
    shop: Shop = generate_shop(30, seed=5)
    try:
        with serving(shop, bucket=Bucket(100_000, 100_000)) as stand_in:
            backfill(engine, stand_in, backfill_settings(tmp_path))
            client = AdminClient(
                SHOP, TOKEN, "2026-01", base_url=stand_in.url, policy=FAST, timeout_seconds=1
            )
            with client:
                yield World(engine, stand_in, client, tmp_path)
    finally:
        engine.dispose()


def test_a_consent_withdrawn_in_amigo_reaches_shopify(world: World) -> None:
    person = world.account()
    world.withdraw_email(person, channel="preference_center")
    report = world.push(world.latest("consent.changed", person.external_id))
    assert [(p.operation, p.target) for p in report.sent] == [
        ("customerEmailMarketingConsentUpdate", f"customer:{person.source_id}")
    ]
    ((name, arguments),) = world.stand_in.mutations
    assert name == "customerEmailMarketingConsentUpdate"
    assert arguments["input"]["customerId"] == person.node["id"]
    assert arguments["input"]["emailMarketingConsent"]["marketingState"] == "UNSUBSCRIBED"
    assert person.node["defaultEmailAddress"]["marketingState"] == "UNSUBSCRIBED"
    assert report.dead_letters == []


def test_a_consent_that_came_from_shopify_is_not_sent_back(world: World) -> None:
    person = world.account(state="UNSUBSCRIBED")
    node = person.node
    # The shopper subscribes in Shopify after the backfill; the next one brings the change in.
    changed_at = datetime.now(UTC).isoformat()
    node["defaultEmailAddress"] = {
        **node["defaultEmailAddress"],
        "marketingState": "SUBSCRIBED",
        "marketingOptInLevel": "CONFIRMED_OPT_IN",
        "marketingUpdatedAt": changed_at,
    }
    node["updatedAt"] = changed_at
    was = dict(node["defaultEmailAddress"])
    backfill(world.engine, world.stand_in, backfill_settings(world.tmp), restart=True)
    event = world.latest("consent.changed", person.external_id)
    assert (event["data"]["previous_status"], event["data"]["status"]) == (
        "withdrawn",
        "confirmed",
    )
    report = world.push(event)
    assert report.sent == []
    assert report.skipped == [f"customer:{person.source_id}: its own statement (echo)"]
    assert world.stand_in.mutations == []
    assert node["defaultEmailAddress"] == was


def test_an_account_without_a_phone_gets_no_sms_consent(world: World) -> None:
    person = world.account()
    with unit_of_work(world.engine) as session:
        record_consent(
            session=session,
            customer_id=person.customer_id,
            purpose="sms_marketing",
            status="granted",
            channel="store",
            actor="user:alice",
            now=NOW,
        )
    report = world.push(world.latest("consent.changed", person.external_id))
    if person.node["defaultPhoneNumber"] is None:
        assert report.skipped == [f"customer:{person.source_id}: no phone in Shopify"]
        assert world.stand_in.mutations == []
    else:
        assert [p.operation for p in report.sent] == ["customerSmsMarketingConsentUpdate"]
        assert person.node["defaultPhoneNumber"]["marketingState"] == "SUBSCRIBED"


def test_a_refused_push_is_a_dead_letter_replayed_once_shopify_accepts(world: World) -> None:
    person = world.account()
    world.stand_in.refuse.add(int(person.source_id))
    world.withdraw_email(person, channel="unsubscribe_link")
    report = world.push(world.latest("consent.changed", person.external_id))
    assert report.sent == []
    (letter_id,) = report.dead_letters
    with unit_of_work(world.engine) as session:
        (letter,) = list_dead_letters(session=session, connector="shopify")
        assert (letter.id, letter.operation) == (letter_id, "customerEmailMarketingConsentUpdate")
        assert letter.error is not None
        assert "Customer not found" in letter.error
        assert not replay_dead_letter(
            session=session, letter_id=letter_id, client=world.client, now=NOW
        )
    world.stand_in.refuse.clear()
    with unit_of_work(world.engine) as session:
        assert replay_dead_letter(
            session=session, letter_id=letter_id, client=world.client, now=NOW
        )
        (letter,) = list_dead_letters(session=session, include_resolved=True)
        assert (letter.status, letter.attempts) == (DeadLetterStatus.REPLAYED, 2)
    assert person.node["defaultEmailAddress"]["marketingState"] == "UNSUBSCRIBED"
    assert len(world.stand_in.mutations) == 3


def test_a_shopify_that_stays_down_leaves_dead_letters_not_lost_pushes(world: World) -> None:
    person = world.account()
    world.withdraw_email(person, channel="unsubscribe_link")
    event = world.latest("consent.changed", person.external_id)
    world.stand_in.stop()
    report = world.push(event)
    assert report.sent == []
    assert len(report.dead_letters) == 1
    with unit_of_work(world.engine) as session:
        (letter,) = list_dead_letters(session=session, connector="shopify")
    assert letter.error is not None
    assert "failed 3 times" in letter.error


def test_a_tier_change_becomes_the_accounts_tag(world: World) -> None:
    person = world.account()
    person.node["tags"] = ["PREMIUM", "newsletter"]
    with unit_of_work(world.engine) as session:
        session.execute(
            update(GoldenCustomer).where(GoldenCustomer.id == person.customer_id).values(tier="vip")
        )
    event: dict[str, Any] = {
        "id": "tier-test",
        "type": "customer.updated",
        "data": {"customer": person.external_id, "fields": ["tier"]},
    }
    report = world.push(event)
    assert [p.operation for p in report.sent] == ["tagsAdd", "tagsRemove"]
    assert sorted(person.node["tags"]) == ["VIP", "newsletter"]
    # An update of other fields asks for nothing.
    quiet = world.push({**event, "data": {"customer": person.external_id, "fields": ["city"]}})
    assert (quiet.sent, quiet.skipped) == ([], [])


def test_an_erasure_reaches_each_shopify_account_once(world: World) -> None:
    person = world.account()
    event = {
        "id": "erasure-test",
        "type": "customer.erased",
        "data": {
            "customer": person.external_id,
            "request": "DSR-987654",
            "sources": [
                {"system": "shopify", "id": person.source_id},
                {"system": "cegid", "id": "PAR01000123"},
                {"system": "shopify", "id": "erased:Zm9vYmFy"},
            ],
        },
    }
    report = world.push(event)
    assert [(p.operation, p.target) for p in report.sent] == [
        ("customerRequestDataErasure", f"customer:{person.source_id}")
    ]
    assert person.node not in world.stand_in.shop.customers
    # Sent again (a redelivery): Shopify no longer has the account, which is what was asked.
    again = world.push(event)
    assert (len(again.sent), again.dead_letters) == (1, [])


def test_the_relay_pushes_a_change_to_shopify_once(world: World) -> None:
    person = world.account()
    world.withdraw_email(person, channel="unsubscribe_link")
    env = {
        **os.environ,
        "AMIGO_DATABASE_URL": world.engine.url.render_as_string(hide_password=False),
        "AMIGO_SHOPIFY_PUSH": "true",
        "AMIGO_SHOPIFY_SHOP_DOMAIN": SHOP,
        "AMIGO_SHOPIFY_ADMIN_ACCESS_TOKEN": TOKEN,
        "AMIGO_SHOPIFY_ADMIN_URL": world.stand_in.url,
        "COLUMNS": "200",
    }
    env.pop("AMIGO_BUS_URL", None)
    for sent in (1, 0):  # the second run finds nothing pending: nothing is pushed twice
        relayed = subprocess.run(
            [sys.executable, "-m", "amigo.cli", "events", "relay", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert relayed.returncode == 0, relayed.stderr
        assert f"pushing consents, tiers and erasures to {SHOP}" in relayed.stdout
        assert f"Shopify pushes: {sent} sent" in relayed.stdout
    assert [name for name, _ in world.stand_in.mutations] == ["customerEmailMarketingConsentUpdate"]
    assert person.node["defaultEmailAddress"]["marketingState"] == "UNSUBSCRIBED"


def test_with_nats_the_push_command_consumes_the_stream(
    world: World, nats_stream: Callable[[], NatsBus]
) -> None:
    person = world.account()
    world.withdraw_email(person, channel="unsubscribe_link")
    bus = nats_stream()
    env = {
        **os.environ,
        "AMIGO_DATABASE_URL": world.engine.url.render_as_string(hide_password=False),
        "AMIGO_BUS_URL": NATS_URL,
        "AMIGO_EVENTS_STREAM": bus.stream,
        "AMIGO_EVENTS_SUBJECT_PREFIX": bus.subject_prefix,
        "AMIGO_SHOPIFY_SHOP_DOMAIN": SHOP,
        "AMIGO_SHOPIFY_ADMIN_ACCESS_TOKEN": TOKEN,
        "AMIGO_SHOPIFY_ADMIN_URL": world.stand_in.url,
        "COLUMNS": "200",
    }
    relayed = subprocess.run(
        [sys.executable, "-m", "amigo.cli", "events", "relay", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert relayed.returncode == 0, relayed.stderr
    pusher = subprocess.Popen(
        [sys.executable, "-m", "amigo.cli", "connectors", "shopify", "push", "--durable", "t1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not world.stand_in.mutations and time.monotonic() < deadline:
            assert pusher.poll() is None, pusher.communicate()
            time.sleep(0.05)
    finally:
        pusher.send_signal(signal.SIGTERM)
        out, err = pusher.communicate(timeout=60)
    assert pusher.returncode == 0, err
    assert f"pushing to {SHOP} from {NATS_URL}" in out
    assert "handled" in out
    assert [name for name, _ in world.stand_in.mutations] == ["customerEmailMarketingConsentUpdate"]
