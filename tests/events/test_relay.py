"""The outbox relay: in id order, marked once acknowledged, republished when not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from amigo.core.clock import utcnow
from amigo.core.config import EventSettings
from amigo.core.db import unit_of_work
from amigo.events.bus import BusError, InProcessBus, NatsBus, open_bus, type_matches
from amigo.events.consumers import claim_event
from amigo.events.relay import relay_batch, run_relay
from amigo.events.service import DomainEvent, emit_events, outbox


def _emit(engine: Engine, count: int, event_type: str = "consent.changed") -> list[str]:
    events = [
        DomainEvent(type=event_type, subject=f"AMI-R{n}", data={"n": n}) for n in range(count)
    ]
    with engine.begin() as connection:
        emit_events(connection, events, now=utcnow())
    return [e.event_id for e in events]


def _pending(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            or 0
        )


def test_the_relay_publishes_cloudevents_in_id_order_and_marks_them(
    fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)
    ids = _emit(engine, 7)
    received: list[dict[str, Any]] = []
    bus = InProcessBus()
    bus.subscribe("consent.*", received.append)
    bus.subscribe("customer.*", lambda event: pytest.fail("not its type"))

    stats = run_relay(engine, bus, batch_size=3, once=True)
    again = run_relay(engine, bus, batch_size=3, once=True)

    assert (stats.published, stats.batches, again.published) == (7, 3, 0)
    assert [e["id"] for e in received] == ids
    assert received[0]["specversion"] == "1.0"
    assert received[0]["type"] == "consent.changed"
    assert received[0]["data"] == {"n": 0}
    assert received[0]["time"].endswith("+00:00")
    assert _pending(engine) == 0


def test_a_batch_is_not_marked_when_a_subscriber_fails_and_goes_again(
    fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)
    _emit(engine, 4)
    seen: list[str] = []
    broken = [True]

    def subscriber(event: dict[str, Any]) -> None:
        seen.append(event["id"])
        if broken[0] and len(seen) == 3:
            raise ConnectionError("downstream is down")

    bus = InProcessBus()
    bus.subscribe("*", subscriber)

    with pytest.raises(BusError, match="downstream is down"):
        run_relay(engine, bus, batch_size=2, once=True)
    assert _pending(engine) == 2  # the first batch was marked, the second not
    broken[0] = False
    run_relay(engine, bus, batch_size=2, once=True)

    assert _pending(engine) == 0
    assert len(seen) == 5
    assert seen[2] == seen[3]  # the third event twice: at least once


def test_consumers_claim_an_event_once(
    fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)
    claims = []
    for consumer in ("crm", "crm", "analytics"):
        with unit_of_work(engine) as session:
            claims.append(
                claim_event(session=session, consumer=consumer, event_id="e-1", now=utcnow())
            )
    assert claims == [True, False, True]


def test_two_relays_on_postgresql_take_different_rows(
    backend: str, fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: one relay")
    engine = open_engine(fresh_database_url)
    ids = _emit(engine, 10)
    other: list[str] = []
    bus = InProcessBus()
    bus.subscribe("*", lambda event: other.append(event["id"]))

    with engine.connect() as first, first.begin():
        held = first.execute(
            select(outbox.c.event_id)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(4)
            .with_for_update(skip_locked=True)
        ).scalars()
        taken = list(held)
        published, _ = relay_batch(engine, bus, batch_size=4)

    assert taken == ids[:4]
    assert published == 4
    assert other == ids[4:8]  # skipped the rows the first relay holds


def test_type_patterns() -> None:
    assert type_matches("*", "consent.changed")
    assert type_matches("consent.*", "consent.changed")
    assert type_matches("consent.changed", "consent.changed")
    assert not type_matches("consent.*", "consentx.changed")
    assert not type_matches("customer.merged", "customer.unmerged")


def test_the_bus_is_chosen_by_url() -> None:
    assert isinstance(open_bus(EventSettings(bus_url="")), InProcessBus)
    with pytest.raises(BusError, match=r"expected nats://"):
        open_bus(EventSettings(bus_url="kafka://x"))
    with pytest.raises(BusError, match=r"cannot reach NATS at nats://127\.0\.0\.1:1"):
        open_bus(EventSettings(bus_url="nats://127.0.0.1:1"))


def test_jetstream_drops_an_event_published_twice(
    fresh_database_url: str, open_engine: Callable[[str], Engine], nats_bus: Callable[[], NatsBus]
) -> None:
    engine = open_engine(fresh_database_url)
    _emit(engine, 5, "customer.merged")
    bus = nats_bus()

    first = run_relay(engine, bus, batch_size=10, once=True)
    with engine.begin() as connection:
        connection.execute(update(outbox).values(published_at=None))
    again = run_relay(engine, bus, batch_size=10, once=True)

    assert (first.published, first.duplicates) == (5, 0)
    assert (again.published, again.duplicates) == (5, 5)
    assert bus.stream_messages() == 5
    assert bus.subject("customer.merged") == f"{bus.subject_prefix}.customer.merged"
