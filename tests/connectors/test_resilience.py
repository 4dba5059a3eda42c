"""Transient failures are retried with backoff or Retry-After; a failing peer opens the breaker."""

from __future__ import annotations

import pytest

from amigo.connectors.models import BreakerState
from amigo.connectors.resilience import (
    CircuitBreaker,
    PeerUnavailableError,
    RetryPolicy,
    TransientError,
    call_with_retries,
)

POLICY = RetryPolicy(attempts=4, base_seconds=0.5, max_seconds=8)


class Flaky:
    """A call that fails transiently n times, then answers."""

    def __init__(self, failures: int, retry_after: float | None = None) -> None:
        self.failures = failures
        self.retry_after = retry_after
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientError("HTTP 503", retry_after=self.retry_after)
        return "answer"


def test_transient_failures_are_retried_with_jittered_backoff() -> None:
    slept: list[float] = []
    call = Flaky(3)
    assert call_with_retries(call, what="GET customers", policy=POLICY, sleep=slept.append) == (
        "answer"
    )
    assert call.calls == 4
    # Full jitter: each wait lies between 0 and base * 2^n, capped.
    assert len(slept) == 3
    for attempt, delay in enumerate(slept):
        assert 0 <= delay <= min(0.5 * 2 ** (attempt + 1), 8)


def test_the_peers_retry_after_is_honoured_exactly() -> None:
    slept: list[float] = []
    call_with_retries(Flaky(2, retry_after=2.0), what="x", policy=POLICY, sleep=slept.append)
    assert slept == [2.0, 2.0]


def test_a_call_that_keeps_failing_gives_a_clear_error() -> None:
    call = Flaky(10)
    with pytest.raises(PeerUnavailableError, match="GET customers failed 4 times: HTTP 503"):
        call_with_retries(call, what="GET customers", policy=POLICY, sleep=lambda _s: None)
    assert call.calls == 4


def test_other_errors_are_not_retried() -> None:
    calls = 0

    def refused() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("HTTP 422: email is invalid")

    with pytest.raises(ValueError, match="422"):
        call_with_retries(refused, what="x", policy=POLICY, sleep=lambda _s: None)
    assert calls == 1


def test_the_breaker_opens_refuses_then_probes_before_closing() -> None:
    now = 0.0
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(
        "Cegid Y2",
        failure_threshold=2,
        reset_seconds=30,
        clock=lambda: now,
        on_change=lambda state, _failures: changes.append(state),
    )
    for _ in range(2):
        with pytest.raises(PeerUnavailableError):
            call_with_retries(
                Flaky(99), what="x", policy=POLICY, breaker=breaker, sleep=lambda _s: None
            )
    assert breaker.state is BreakerState.OPEN
    refused = Flaky(0)
    with pytest.raises(PeerUnavailableError, match="circuit breaker is open for 30 s more"):
        call_with_retries(refused, what="x", policy=POLICY, breaker=breaker)
    assert refused.calls == 0  # not even tried

    now = 31.0  # the cool-down is over: one probe; it fails, the breaker opens again
    with pytest.raises(PeerUnavailableError):
        call_with_retries(
            Flaky(99), what="x", policy=POLICY, breaker=breaker, sleep=lambda _s: None
        )
    assert breaker.state is BreakerState.OPEN
    now = 62.0  # the next probe works: closed
    assert call_with_retries(Flaky(0), what="x", policy=POLICY, breaker=breaker) == "answer"
    assert changes[-1] is BreakerState.CLOSED
    assert changes == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]
