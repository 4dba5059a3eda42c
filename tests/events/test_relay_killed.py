"""The relay killed mid-stream: every event reaches a JetStream consumer, none is applied twice.

The relay runs as a real `amigo events relay` process on real NATS JetStream,
is sent SIGKILL while it publishes a few thousand outbox events, and starts
again. The consumer acknowledges after its transaction commits and, as if it
died before acknowledging, leaves every tenth message unacknowledged the
first time: JetStream delivers those again and the consumer's processed_event
check must drop them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from amigo.core.clock import utcnow
from amigo.events.bus import NatsBus
from amigo.events.consumers import idempotent
from amigo.events.models import OutboxEvent, ProcessedEvent
from amigo.events.service import DomainEvent, emit_events, outbox
from events.conftest import NATS_URL
from keyfiles import this_process_key_files

EVENTS = 3000
BATCH = 10


def _relay_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "amigo.cli", "events", "relay", "--batch", str(BATCH), *args]


def _marked(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_not(None))
            )
            or 0
        )


def test_a_relay_killed_mid_stream_loses_nothing_and_applies_nothing_twice(
    fresh_database_url: str,
    open_engine: Callable[[str], Engine],
    nats_bus: Callable[[], NatsBus],
    tmp_path: Path,
) -> None:
    engine = open_engine(fresh_database_url)
    with engine.begin() as connection:
        emit_events(
            connection,
            [
                DomainEvent(
                    type=("consent.changed", "customer.merged", "customer.updated")[n % 3],
                    subject=f"AMI-KILL{n:05d}",
                    data={"n": n},
                )
                for n in range(EVENTS)
            ],
            now=utcnow(),
        )
    bus = nats_bus()  # creates the test's stream before the relay looks for it
    env = {
        **os.environ,
        "AMIGO_DATABASE_URL": fresh_database_url,
        "AMIGO_BUS_URL": NATS_URL,
        "AMIGO_EVENTS_STREAM": bus.stream,
        "AMIGO_EVENTS_SUBJECT_PREFIX": bus.subject_prefix,
        "COLUMNS": "200",
        **this_process_key_files(),  # the relay serves the database this test wrote
    }

    log = tmp_path / "relay.log"
    with log.open("w") as output:
        relay = subprocess.Popen(
            _relay_command(), env=env, cwd=tmp_path, stdout=output, stderr=output
        )
        deadline = time.monotonic() + 60
        while _marked(engine) < EVENTS // 5 and time.monotonic() < deadline:
            assert relay.poll() is None, log.read_text()
            time.sleep(0.002)
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
    marked_at_kill = _marked(engine)
    on_stream_at_kill = bus.stream_messages()

    assert relay.returncode == -signal.SIGKILL
    assert 0 < marked_at_kill < EVENTS, "the kill must land mid-stream"
    assert on_stream_at_kill >= marked_at_kill  # marked only once acknowledged
    # And a lost mark for sure, on top of whatever the kill caught between
    # publishing and marking: the last 25 marked events unmarked again.
    with engine.begin() as connection:
        last_marked = connection.scalars(
            select(outbox.c.id)
            .where(outbox.c.published_at.is_not(None))
            .order_by(outbox.c.id.desc())
            .limit(25)
        ).all()
        connection.execute(
            update(outbox).where(outbox.c.id.in_(last_marked)).values(published_at=None)
        )

    restarted = subprocess.run(
        _relay_command("--once"),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert restarted.returncode == 0, restarted.stderr
    republished = EVENTS - marked_at_kill + 25
    assert f"published {republished:,} events" in restarted.stdout
    already = on_stream_at_kill - marked_at_kill + 25
    assert f"{already:,} already on the stream" in restarted.stdout  # dropped by JetStream
    assert _marked(engine) == EVENTS
    assert bus.stream_messages() == EVENTS

    applied: Counter[str] = Counter()
    deliveries: Counter[str] = Counter()

    def apply(session: Session, event: dict[str, Any]) -> None:
        applied[event["id"]] += 1

    consume = idempotent(engine, "kill-test", apply)
    unacknowledged = 0

    def handler(event: dict[str, Any]) -> None:
        nonlocal unacknowledged
        deliveries[event["id"]] += 1
        consume(event)
        if deliveries[event["id"]] == 1 and event["data"]["n"] % 10 == 0:
            unacknowledged += 1
            raise ConnectionError("the consumer died after its commit, before its ack")

    consumer_bus = nats_bus()
    deadline = time.monotonic() + 90
    handled = consumer_bus.consume(
        "kill-test",
        handler,
        stop=lambda: (
            sum(deliveries.values()) >= EVENTS + unacknowledged or time.monotonic() > deadline
        ),
        ack_wait=1.0,
    )

    with Session(engine) as session:
        outbox_ids = set(session.scalars(select(OutboxEvent.event_id)))
        processed = session.scalars(
            select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == "kill-test")
        ).all()
    assert unacknowledged == EVENTS // 10
    assert sum(deliveries.values()) == EVENTS + unacknowledged  # duplicates did arrive
    assert handled == EVENTS
    assert set(applied) == outbox_ids  # every event received
    assert set(applied.values()) == {1}  # none applied twice
    assert sorted(processed) == sorted(outbox_ids)
