"""NATS JetStream for the events tests: the real server on loopback, one stream per test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from amigo.events.bus import NatsBus

NATS_URL = os.environ.get("AMIGO_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _nats_reachable() -> bool:
    host, _, port = NATS_URL.removeprefix("nats://").partition(":")
    try:
        with socket.create_connection((host, int(port or 4222)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def nats_bus() -> Iterator[Callable[[], NatsBus]]:
    """Return a function opening a NatsBus on a stream and subjects unique to this test.

    Every call opens another connection to the same stream; the stream is
    deleted after the test. Without a server the test is skipped, except
    under CI=true, where that is an error.
    """
    if not _nats_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"NATS at {NATS_URL} is unreachable and CI=true requires it")
        pytest.skip(f"NATS unreachable at {NATS_URL}")
    token = uuid.uuid4().hex[:10]
    opened: list[NatsBus] = []

    def _open() -> NatsBus:
        opened.append(
            NatsBus(NATS_URL, stream=f"TEST_{token}", subject_prefix=f"test_{token}.events")
        )
        return opened[-1]

    yield _open
    if opened:
        opened[0].delete_stream()
    for bus in opened:
        bus.close()
