"""How connectors survive a peer that fails: retries with backoff and jitter, a circuit breaker.

A call to Shopify or Y2 that fails transiently (a dropped connection, a
timeout, a 5xx, a 429, a SOAP fault the peer marks as temporary) raises
:class:`TransientError`; :func:`call_with_retries` tries it again after an
exponential backoff with full jitter (tenacity), or after exactly the
``Retry-After`` the peer asked for. Anything else (a 4xx, a fault that names
bad input) is not retried: trying again would fail the same way.

The breaker guards a peer across calls: after ``failure_threshold`` failed
calls in a row (each already retried) it opens and refuses calls at once for
``reset_seconds``, so that a peer that is down is not hammered and the sync
stops with a clear error instead of crawling; then it lets one probe through
(half open): its success closes the breaker, its failure opens it again. The
breaker is hand-written (some 60 lines) rather than taken from pybreaker
because its state must be stored with the stream's other state in
``connector_sync`` for ``amigo connectors status``, and its clock injected
in tests; ``on_change`` is where the caller stores it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from amigo.connectors.models import BreakerState
from amigo.core.errors import AmigoError

T = TypeVar("T")


class TransientError(Exception):
    """A failure worth trying again: the peer was down, slow, overloaded or throttling."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        # Seconds the peer asked to wait (Retry-After, a GraphQL throttle's restore time).
        self.retry_after = retry_after


class PeerUnavailableError(AmigoError):
    """The peer failed every retry, or its circuit breaker is open."""

    code = "peer_unavailable"
    http_status = 503


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing call is tried again."""

    attempts: int = 6
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    # A Retry-After longer than this is refused rather than slept through.
    max_retry_after_seconds: float = 300.0


class CircuitBreaker:
    """Closed, open after repeated failures, half open for one probe after the cool-down."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState, int], None] | None = None,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._on_change = on_change
        self.state = BreakerState.CLOSED
        self.failures = 0
        self._opened_at = 0.0

    def before_call(self) -> None:
        """Let a call through, or raise PeerUnavailableError while the breaker is open."""
        if self.state is BreakerState.OPEN:
            waited = self._clock() - self._opened_at
            if waited < self.reset_seconds:
                raise PeerUnavailableError(
                    f"{self.name} is unavailable: {self.failures} calls failed in a row; "
                    f"the circuit breaker is open for {self.reset_seconds - waited:.0f} s more",
                    code="circuit_open",
                )
            self._set(BreakerState.HALF_OPEN)

    def succeeded(self) -> None:
        """Record a call that worked: the breaker closes."""
        self.failures = 0
        if self.state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def failed(self) -> None:
        """Record a call that failed every retry; open after too many, or a failed probe."""
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        self.state = state
        if self._on_change is not None:
            self._on_change(state, self.failures)


@dataclass
class _Wait:
    policy: RetryPolicy
    jitter: wait_random_exponential = field(init=False)

    def __post_init__(self) -> None:
        self.jitter = wait_random_exponential(
            multiplier=self.policy.base_seconds, max=self.policy.max_seconds
        )

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_retry_after_seconds)
        return float(self.jitter(state))


def call_with_retries(
    call: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy = RetryPolicy(),
    breaker: CircuitBreaker | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[TransientError, float], None] | None = None,
) -> T:
    """Return call(), trying again on TransientError; PeerUnavailableError once out of tries."""
    if breaker is not None:
        breaker.before_call()

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if on_retry is not None and isinstance(error, TransientError):
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            on_retry(error, delay)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=_Wait(policy),
        retry=retry_if_exception_type(TransientError),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        result = retrying(call)
    except TransientError as error:
        if breaker is not None:
            breaker.failed()
        raise PeerUnavailableError(
            f"{what} failed {policy.attempts} times: {error}", code="peer_unavailable"
        ) from error
    if breaker is not None:
        breaker.succeeded()
    return result


__all__ = [
    "CircuitBreaker",
    "PeerUnavailableError",
    "RetryPolicy",
    "TransientError",
    "call_with_retries",
]
