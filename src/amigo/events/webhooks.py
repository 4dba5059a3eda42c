"""Outbound webhooks: subscriptions, signed deliveries with retries, dead letters, replay.

A delivery is the event's CloudEvent JSON POSTed to the subscription's URL,
signed the Standard Webhooks way (standardwebhooks.com): ``webhook-id`` is the
event id (the same on every retry, so a receiver drops what it has already
had), ``webhook-timestamp`` the attempt's Unix time, and ``webhook-signature``
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` under the subscription's
secret. The ``standardwebhooks`` package signs, so receivers can verify with
it or with any other implementation of the spec.

Failed attempts are retried with exponential backoff and full jitter
(tenacity); every attempt is recorded. After the last one the event goes to
the dead letters, from which ``replay_dead_letters`` delivers it again.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook
from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_random_exponential

from amigo.core.clock import utcnow
from amigo.core.config import EventSettings
from amigo.core.errors import InvalidInputError, NotFoundError
from amigo.events.bus import type_matches
from amigo.events.consumers import idempotent
from amigo.events.models import WebhookDeadLetter, WebhookDelivery, WebhookSubscription

CloudEvent = dict[str, Any]
CONSUMER = "webhooks"
_TYPE_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")
_ERROR_LENGTH = 500


def new_secret() -> str:
    """Return a fresh signing secret in the Standard Webhooks form ``whsec_<base64>``."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"{url!r} is not an http(s) URL", code="invalid_url")
    return url.strip()


def _check_types(event_types: Sequence[str]) -> list[str]:
    bad = [t for t in event_types if not _TYPE_PATTERN.match(t)]
    if bad:
        raise InvalidInputError(
            f"not event types: {', '.join(map(repr, bad))} (expected consent.changed, "
            "customer.* or *)",
            code="invalid_event_type",
        )
    return sorted(set(event_types))


def create_subscription(
    *,
    session: Session,
    url: str,
    event_types: Sequence[str] = (),
    description: str | None = None,
    now: datetime | None = None,
) -> WebhookSubscription:
    """Subscribe a URL to event types (none: every type) under a new secret, shown once."""
    subscription = WebhookSubscription(
        url=_check_url(url),
        event_types=_check_types(event_types),
        secret=new_secret(),
        description=description,
        active=True,
        created_at=now or utcnow(),
    )
    session.add(subscription)
    session.flush()
    return subscription


def list_subscriptions(*, session: Session) -> list[WebhookSubscription]:
    """Return every subscription, oldest first."""
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get_subscription(*, session: Session, subscription_id: int) -> WebhookSubscription:
    """Return one subscription or raise NotFoundError."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFoundError(f"no webhook subscription {subscription_id}")
    return subscription


def set_subscription_active(
    *, session: Session, subscription_id: int, active: bool
) -> WebhookSubscription:
    """Pause or resume a subscription's deliveries."""
    subscription = get_subscription(session=session, subscription_id=subscription_id)
    subscription.active = active
    session.flush()
    return subscription


def delete_subscription(*, session: Session, subscription_id: int) -> None:
    """Delete a subscription with its attempts and dead letters."""
    subscription = get_subscription(session=session, subscription_id=subscription_id)
    for model in (WebhookDelivery, WebhookDeadLetter):
        session.execute(delete(model).where(model.subscription_id == subscription_id))
    session.delete(subscription)
    session.flush()


@dataclass(frozen=True)
class Attempt:
    """One POST of an event to a subscription."""

    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        """Tell whether the receiver answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """POST signed CloudEvents, retrying failures with exponential backoff and full jitter."""

    def __init__(
        self,
        *,
        attempts: int = 5,
        backoff_seconds: float = 1.0,
        backoff_max_seconds: float = 60.0,
        timeout_seconds: float = 10.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._client = client or httpx.Client(timeout=timeout_seconds, follow_redirects=False)
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: EventSettings) -> WebhookSender:
        """Build the sender the settings describe."""
        return cls(
            attempts=settings.webhook_attempts,
            backoff_seconds=settings.webhook_backoff_seconds,
            backoff_max_seconds=settings.webhook_backoff_max_seconds,
            timeout_seconds=settings.webhook_timeout_seconds,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def deliver(self, *, url: str, secret: str, event: CloudEvent) -> list[Attempt]:
        """POST the event until the receiver accepts it or the attempts run out."""
        body = orjson.dumps(event)
        made: list[Attempt] = []
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            # Full jitter: a uniform wait in [0, min(max, base * 2^n)] (AWS architecture blog).
            wait=wait_random_exponential(
                multiplier=self.backoff_seconds, max=self.backoff_max_seconds
            ),
            retry=retry_if_result(lambda succeeded: not succeeded),
            retry_error_callback=lambda _state: False,
            sleep=self._sleep,
        )
        retrying(self._attempt, url, Webhook(secret), event["id"], body, made)
        return made

    def _attempt(
        self, url: str, signer: Webhook, event_id: str, body: bytes, made: list[Attempt]
    ) -> bool:
        at = utcnow()
        headers = {
            "content-type": "application/cloudevents+json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signer.sign(event_id, at, body),
            "user-agent": "AMIgo-Webhooks/1",
        }
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = self._client.post(url, content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                text = response.text[:200].strip()
                error = f"HTTP {status}" + (f": {text}" if text else "")
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        elapsed = int((time.monotonic() - started) * 1000)
        attempt = Attempt(len(made) + 1, at, status, error and error[:_ERROR_LENGTH], elapsed)
        made.append(attempt)
        return attempt.succeeded


def _record(
    session: Session, subscription: WebhookSubscription, event_id: str, attempts: list[Attempt]
) -> None:
    session.add_all(
        WebhookDelivery(
            subscription_id=subscription.id,
            event_id=event_id,
            attempt=a.number,
            attempted_at=a.at,
            status_code=a.status_code,
            error=a.error,
            succeeded=a.succeeded,
            duration_ms=a.duration_ms,
        )
        for a in attempts
    )


@dataclass
class DispatchResult:
    """Which subscriptions took an event and which sent it to the dead letters."""

    delivered: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)


def dispatch_event(*, session: Session, event: CloudEvent, sender: WebhookSender) -> DispatchResult:
    """Deliver an event to every active subscription of its type; dead-letter the failures."""
    result = DispatchResult()
    subscriptions = session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.active.is_(True))
        .order_by(WebhookSubscription.id)
    )
    for subscription in subscriptions:
        if not _wants(subscription.event_types, event["type"]):
            continue
        attempts = sender.deliver(url=subscription.url, secret=subscription.secret, event=event)
        _record(session, subscription, event["id"], attempts)
        if attempts[-1].succeeded:
            result.delivered.append(subscription.id)
            continue
        result.dead.append(subscription.id)
        letter = session.scalars(
            select(WebhookDeadLetter).where(
                WebhookDeadLetter.subscription_id == subscription.id,
                WebhookDeadLetter.event_id == event["id"],
            )
        ).one_or_none() or WebhookDeadLetter(
            subscription_id=subscription.id, event_id=event["id"], attempts=0
        )
        letter.event_type = event["type"]
        letter.event = event
        letter.attempts += len(attempts)
        letter.last_error = attempts[-1].error or "failed"
        letter.failed_at = attempts[-1].at
        session.add(letter)
    session.flush()
    return result


def webhook_consumer(
    engine: Engine, sender: WebhookSender, *, refresh_seconds: float = 2.0
) -> Callable[[CloudEvent], None]:
    """Return the bus subscriber that dispatches each event once (idempotent by event id).

    Events no active subscription wants are passed over without a transaction:
    the outbox carries every consent change of every load, and most have no
    subscriber. The subscriptions' filters are read again every few seconds, so
    a new subscription gets the events published from then on.
    """
    handle = idempotent(engine, CONSUMER, lambda session, event: _dispatch(session, event, sender))
    cache: list[Any] = [float("-inf"), []]

    def consume(event: CloudEvent) -> None:
        if time.monotonic() - cache[0] > refresh_seconds:
            with engine.connect() as connection:
                cache[1] = list(
                    connection.scalars(
                        select(WebhookSubscription.event_types).where(
                            WebhookSubscription.active.is_(True)
                        )
                    )
                )
            cache[0] = time.monotonic()
        if any(_wants(types, event["type"]) for types in cache[1]):
            handle(event)

    consume.__name__ = CONSUMER
    return consume


def _wants(event_types: Sequence[str], event_type: str) -> bool:
    return not event_types or any(type_matches(p, event_type) for p in event_types)


def _dispatch(session: Session, event: CloudEvent, sender: WebhookSender) -> None:
    dispatch_event(session=session, event=event, sender=sender)


def dead_letters(
    *, session: Session, limit: int | None = None
) -> list[tuple[WebhookDeadLetter, WebhookSubscription]]:
    """Return the dead letters, oldest first, each with its subscription."""
    query = (
        select(WebhookDeadLetter, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDeadLetter.subscription_id)
        .order_by(WebhookDeadLetter.id)
        .limit(limit)
    )
    return [(letter, subscription) for letter, subscription in session.execute(query).tuples()]


@dataclass
class ReplayResult:
    """What a replay did with each dead letter it was given."""

    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # subscription paused


def replay_dead_letters(
    *, session: Session, sender: WebhookSender, ids: Sequence[int] | None = None
) -> ReplayResult:
    """Deliver dead letters again (the given ids, or all); clear each one that is accepted."""
    query = select(WebhookDeadLetter).order_by(WebhookDeadLetter.id)
    if ids is not None:
        query = query.where(WebhookDeadLetter.id.in_(ids))
    letters = list(session.scalars(query))
    if ids is not None:
        missing = sorted(set(ids) - {letter.id for letter in letters})
        if missing:
            raise NotFoundError(f"no dead letter {', '.join(map(str, missing))}")
    result = ReplayResult()
    for letter in letters:
        subscription = get_subscription(session=session, subscription_id=letter.subscription_id)
        if not subscription.active:
            result.skipped.append(letter.id)
            continue
        attempts = sender.deliver(
            url=subscription.url, secret=subscription.secret, event=letter.event
        )
        _record(session, subscription, letter.event_id, attempts)
        if attempts[-1].succeeded:
            result.delivered.append(letter.id)
            session.delete(letter)
        else:
            result.failed.append(letter.id)
            letter.attempts += len(attempts)
            letter.last_error = attempts[-1].error or "failed"
            letter.failed_at = attempts[-1].at
    session.flush()
    return result
