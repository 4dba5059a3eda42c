"""A running relay publishes a committed event at once on PostgreSQL (NOTIFY), not at its next poll."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from amigo.core.clock import utcnow
from amigo.core.db import make_engine
from amigo.events.bus import InProcessBus
from amigo.events.relay import run_relay
from amigo.events.service import DomainEvent, emit_events
from conftest import DatabaseFactory


def test_a_committed_event_wakes_the_relay(database_factory: DatabaseFactory, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no NOTIFY: the relay polls every AMIGO_RELAY_IDLE_SECONDS")
    engine = make_engine(database_factory.new_url())
    received: list[tuple[float, dict[str, Any]]] = []
    bus = InProcessBus()
    bus.subscribe("wakeup.test", lambda event: received.append((time.monotonic(), event)))
    stop = threading.Event()
    # An hour between polls: only the notification can explain a prompt delivery.
    relay = threading.Thread(
        target=run_relay,
        args=(engine, bus),
        kwargs={"batch_size": 100, "idle_seconds": 3600, "stop": stop},
        daemon=True,
    )
    relay.start()
    time.sleep(0.5)  # the relay has drained the outbox and is listening

    with engine.begin() as connection:
        emit_events(connection, [DomainEvent("wakeup.test", "1", {"n": 1})], now=utcnow())
    committed = time.monotonic()
    deadline = committed + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    relay.join(timeout=5)
    engine.dispose()

    assert received, "the relay did not wake on the NOTIFY"
    assert received[0][0] - committed < 1.0
    assert received[0][1]["data"] == {"n": 1}
