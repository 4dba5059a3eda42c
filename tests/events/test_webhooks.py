"""Outbound webhooks against a real HTTP receiver on loopback that verifies every signature."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from amigo.core.clock import utcnow
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError, NotFoundError
from amigo.events.bus import InProcessBus
from amigo.events.models import WebhookDeadLetter, WebhookDelivery
from amigo.events.relay import run_relay
from amigo.events.service import DomainEvent, emit_events, outbox
from amigo.events.webhooks import (
    WebhookSender,
    create_subscription,
    dead_letters,
    delete_subscription,
    dispatch_event,
    list_subscriptions,
    replay_dead_letters,
    webhook_consumer,
)
from events.receiver import Receiver, webhook_receiver

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _event(event_type: str = "consent.changed", n: int = 1) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "source": "amigo",
        "type": event_type,
        "subject": f"AMI-HOOK{n}",
        "time": NOW.isoformat(),
        "datacontenttype": "application/json",
        "data": {"n": n},
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def sender(waits: list[float]) -> Iterator[WebhookSender]:
    made = WebhookSender(
        attempts=4,
        backoff_seconds=0.01,
        backoff_max_seconds=0.05,
        timeout_seconds=0.3,
        sleep=waits.append,
    )
    yield made
    made.close()


def _subscribe(session: Session, receiver: Receiver, path: str, *types: str) -> int:
    subscription = create_subscription(
        session=session, url=receiver.url(path), event_types=types, now=NOW
    )
    receiver.secrets[path] = subscription.secret
    return subscription.id


def test_subscriptions_are_created_with_a_secret_listed_and_deleted(session: Session) -> None:
    created = create_subscription(
        session=session,
        url="https://crm.example.com/hooks/amigo",
        event_types=["customer.*", "consent.changed", "consent.changed"],
        description="CRM",
    )

    assert created.secret.startswith("whsec_")
    assert len(created.secret) > 30
    assert created.event_types == ["consent.changed", "customer.*"]
    assert created.id in [s.id for s in list_subscriptions(session=session)]
    with pytest.raises(InvalidInputError, match="is not an http"):
        create_subscription(session=session, url="ftp://example.com/x")
    with pytest.raises(InvalidInputError, match="not event types"):
        create_subscription(session=session, url="https://example.com", event_types=["Bad Type"])
    delete_subscription(session=session, subscription_id=created.id)
    assert created.id not in [s.id for s in list_subscriptions(session=session)]
    with pytest.raises(NotFoundError):
        delete_subscription(session=session, subscription_id=created.id)


def test_failed_deliveries_are_retried_signed_until_accepted(
    session: Session, receiver: Receiver, sender: WebhookSender, waits: list[float]
) -> None:
    subscription_id = _subscribe(session, receiver, "/flaky")
    receiver.scripts["/flaky"] = ["500", "timeout", "500"]

    result = dispatch_event(session=session, event=_event(), sender=sender)

    assert result.delivered == [subscription_id]
    got = receiver.at("/flaky")
    assert [r.answered for r in got] == [500, "timeout", 500, 204]
    assert all(r.verified for r in got)  # signed on every attempt
    assert {r.headers["webhook-id"] for r in got} == {_event()["id"]}
    assert got[-1].event == _event()
    assert got[-1].headers["content-type"] == "application/cloudevents+json"
    assert got[-1].headers["webhook-signature"].startswith("v1,")
    attempts = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.attempt)
    ).all()
    assert [(a.attempt, a.status_code, a.succeeded) for a in attempts] == [
        (1, 500, False),
        (2, None, False),
        (3, 500, False),
        (4, 204, True),
    ]
    assert attempts[1].error is not None
    assert "Timeout" in attempts[1].error
    # Full jitter: each wait anywhere in [0, min(cap, base * 2^n)].
    assert len(waits) == 3
    assert all(0 <= w <= cap for w, cap in zip(waits, [0.02, 0.04, 0.05], strict=True))
    assert not dead_letters(session=session)


def test_a_wrong_secret_fails_verification_at_the_receiver(
    session: Session, receiver: Receiver, sender: WebhookSender
) -> None:
    _subscribe(session, receiver, "/strict")
    receiver.secrets["/strict"] = "whsec_" + "A" * 32  # the receiver holds another key

    result = dispatch_event(session=session, event=_event(), sender=sender)

    assert [r.verified for r in receiver.at("/strict")] == [False] * 4
    assert result.dead == [result.dead[0]]


def test_the_last_failure_goes_to_the_dead_letters_and_replay_clears_it(
    session: Session, receiver: Receiver, sender: WebhookSender
) -> None:
    down = _subscribe(session, receiver, "/down", "customer.*")
    up = _subscribe(session, receiver, "/up")
    receiver.scripts["/down"] = ["500"] * 4
    merged = _event("customer.merged", 7)

    result = dispatch_event(session=session, event=merged, sender=sender)
    dispatch_event(session=session, event=_event("consent.changed", 8), sender=sender)

    assert result.delivered == [up]
    assert result.dead == [down]
    assert len(receiver.at("/down")) == 4  # consent.changed is not its type
    [(letter, subscription)] = dead_letters(session=session)
    assert subscription.id == down
    assert (letter.event_id, letter.event_type, letter.attempts) == (
        merged["id"],
        merged["type"],
        4,
    )
    assert letter.last_error.startswith("HTTP 500")
    assert letter.event == merged

    with pytest.raises(NotFoundError, match="no dead letter 999"):
        replay_dead_letters(session=session, sender=sender, ids=[letter.id, 999])
    receiver.scripts["/down"] = ["500"] * 4
    still = replay_dead_letters(session=session, sender=sender, ids=[letter.id])
    assert still.failed == [letter.id]
    assert session.get(WebhookDeadLetter, letter.id) is not None
    assert letter.attempts == 8

    replayed = replay_dead_letters(session=session, sender=sender)

    assert replayed.delivered == [letter.id]
    assert dead_letters(session=session) == []
    last = receiver.at("/down")[-1]
    assert (last.answered, last.verified, last.event) == (204, True, merged)


def test_the_relay_delivers_each_event_once_through_the_in_process_bus(
    fresh_database_url: str,
    open_engine: Callable[[str], Engine],
    receiver: Receiver,
    sender: WebhookSender,
) -> None:
    engine = open_engine(fresh_database_url)
    with unit_of_work(engine) as session:
        _subscribe(session, receiver, "/crm", "customer.*")
    with engine.begin() as connection:
        emit_events(
            connection,
            [
                DomainEvent(type="customer.merged", subject="AMI-1", data={"n": 1}),
                DomainEvent(type="consent.changed", subject="AMI-1", data={"n": 2}),
                DomainEvent(type="customer.erased", subject="AMI-2", data={"n": 3}),
            ],
            now=utcnow(),
        )
    bus = InProcessBus()
    bus.subscribe("*", webhook_consumer(engine, sender))

    first = run_relay(engine, bus, batch_size=2, once=True)
    with engine.begin() as connection:  # as if the marks were lost: all published again
        connection.execute(update(outbox).values(published_at=None))
    again = run_relay(engine, bus, batch_size=2, once=True)

    assert (first.published, again.published) == (3, 3)
    got = receiver.at("/crm")
    assert [r.event["type"] for r in got] == ["customer.merged", "customer.erased"]
    assert all(r.verified for r in got)
