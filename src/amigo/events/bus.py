"""Event buses: where the relay publishes the outbox's CloudEvents.

Two backends behind one Protocol. The in-process bus, the embedded default,
calls the subscribers registered in the relay's own process synchronously.
NATS JetStream (``AMIGO_BUS_URL=nats://...``) keeps every event on a stream
for any number of processes; each message carries its event id as
``Nats-Msg-Id``, so JetStream drops what a restarted relay publishes twice
within the stream's duplicate window, and consumers stay idempotent by event
id for the rest (``events.consumers``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client as NatsClient
from nats.js import api

from amigo.core.config import EventSettings
from amigo.core.errors import AmigoError

log = logging.getLogger(__name__)
T = TypeVar("T")
CloudEvent = dict[str, Any]
Handler = Callable[[CloudEvent], None]


class BusError(AmigoError):
    """The bus is unreachable or did not acknowledge a publication."""

    code = "bus_error"
    http_status = 503


class Bus(Protocol):
    """Where the relay hands over events, in outbox order."""

    def publish(self, events: Sequence[CloudEvent]) -> int:
        """Publish events in order; return once the bus has acknowledged every one.

        Args:
            events: CloudEvents 1.0 JSON objects, in outbox id order.

        Returns:
            How many of them the bus already had and dropped as duplicates.

        Raises:
            BusError: when any event is not acknowledged; the caller must not
                mark the batch published, and publishes it again later.
        """
        ...

    def close(self) -> None:
        """Release the connection, if any."""
        ...


def type_matches(pattern: str, event_type: str) -> bool:
    """Tell whether an event type matches ``consent.changed``, ``customer.*`` or ``*``."""
    if pattern in ("*", event_type):
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


class InProcessBus:
    """Call the subscribers of this process, synchronously, in order (the embedded default)."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Handler]] = []

    def subscribe(self, pattern: str, handler: Handler) -> None:
        """Call the handler with every published event whose type matches the pattern."""
        self._subscribers.append((pattern, handler))

    def publish(self, events: Sequence[CloudEvent]) -> int:
        """Hand each event to its subscribers; a subscriber's exception fails the batch."""
        for event in events:
            for pattern, handler in self._subscribers:
                if type_matches(pattern, event["type"]):
                    try:
                        handler(event)
                    except AmigoError:
                        raise
                    except Exception as error:
                        raise BusError(
                            f"subscriber {getattr(handler, '__name__', handler)!r} failed on "
                            f"event {event['id']}: {error}"
                        ) from error
        return 0

    def close(self) -> None:
        """Nothing to release."""


class _LoopThread:
    """An asyncio loop in a daemon thread: nats-py is async, the relay and its callers are not.

    The loop runs between calls too, so the client keeps answering the server's
    pings while the relay sleeps on an empty outbox.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="amigo-nats", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


def _reachable_or_fail(url: str, timeout: float) -> None:
    """Refuse at once a NATS URL where nothing listens.

    The client reconnects forever once connected (a relay rides out a NATS
    restart), and with that setting it also retries a first connection that
    is refused until the start-up timeout: a relay started against a wrong
    URL or a stopped server would wait 15 s to say so.
    """
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout):
            return
    except (OSError, ValueError) as error:
        raise BusError(f"cannot reach NATS at {url}: {error}") from None


class NatsBus:
    """Publish to NATS JetStream: subject ``<prefix>.<type>``, ``Nats-Msg-Id`` = event id."""

    def __init__(
        self,
        url: str,
        *,
        stream: str = "AMIGO_EVENTS",
        subject_prefix: str = "amigo.events",
        duplicate_window: float = 120.0,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.timeout = timeout
        _reachable_or_fail(url, timeout)
        self._loop = _LoopThread()
        try:
            self._nc = self._loop.run(self._connect(duplicate_window), timeout=timeout + 5)
        except Exception as error:
            self._loop.stop()
            if isinstance(error, BusError):
                raise
            raise BusError(f"cannot reach NATS at {url}: {error or type(error).__name__}") from None
        self._js = self._nc.jetstream(timeout=timeout)

    async def _connect(self, duplicate_window: float) -> NatsClient:
        nc = await nats.connect(
            self.url, connect_timeout=self.timeout, allow_reconnect=True, max_reconnect_attempts=-1
        )
        js = nc.jetstream(timeout=self.timeout)
        wanted = f"{self.subject_prefix}.>"
        try:
            info = await js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            await js.add_stream(
                name=self.stream,
                subjects=[wanted],
                duplicate_window=duplicate_window,
                storage=api.StorageType.FILE,
            )
            return nc
        if wanted not in (info.config.subjects or []):
            await nc.close()
            raise BusError(
                f"JetStream stream {self.stream} exists without the subjects {wanted} "
                f"(it has {info.config.subjects}): choose another AMIGO_EVENTS_STREAM"
            )
        return nc

    def subject(self, event_type: str) -> str:
        """Return the subject an event type is published to."""
        return f"{self.subject_prefix}.{event_type}"

    def publish(self, events: Sequence[CloudEvent]) -> int:
        """Publish a batch pipelined on one connection (so in order), then wait for every ack."""
        if not events:
            return 0
        try:
            return self._loop.run(self._publish(events), timeout=self.timeout + 5)
        except BusError:
            raise
        except Exception as error:
            raise BusError(
                f"NATS did not acknowledge the batch: {error or type(error).__name__}"
            ) from error

    async def _publish(self, events: Sequence[CloudEvent]) -> int:
        futures = [
            await self._js.publish_async(
                self.subject(event["type"]),
                orjson.dumps(event),
                stream=self.stream,
                headers={"Nats-Msg-Id": event["id"]},
            )
            for event in events
        ]
        acks = await asyncio.wait_for(asyncio.gather(*futures), timeout=self.timeout)
        return sum(1 for ack in acks if ack.duplicate)

    def consume(
        self,
        durable: str,
        handler: Handler,
        *,
        stop: Callable[[], bool],
        batch: int = 100,
        ack_wait: float = 30.0,
    ) -> int:
        """Feed a durable pull consumer's messages to the handler until ``stop()`` is true.

        A message is acknowledged after the handler returns; when it raises, the
        message is negatively acknowledged and JetStream delivers it again, so
        the handler must be idempotent by event id (``events.consumers``).
        Returns the number of messages handled successfully.
        """
        subscription = self._loop.run(
            self._js.pull_subscribe(
                f"{self.subject_prefix}.>",
                durable=durable,
                stream=self.stream,
                config=api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT, ack_wait=ack_wait),
            ),
            timeout=self.timeout + 5,
        )
        handled = 0
        while not stop():
            try:
                messages = self._loop.run(subscription.fetch(batch, timeout=1.0), timeout=10)
            except (nats.errors.TimeoutError, TimeoutError):
                # Nothing to fetch within the second; or, on a starved machine, the loop's
                # answer came later than 10 s (seen under load): either way, ask again.
                continue
            for message in messages:
                try:
                    handler(orjson.loads(message.data))
                except Exception as error:
                    log.warning(
                        "event %s not handled, to be redelivered: %s", message.subject, error
                    )
                    self._loop.run(message.nak(), timeout=self.timeout)
                    continue
                self._loop.run(message.ack_sync(), timeout=self.timeout)
                handled += 1
        self._loop.run(subscription.unsubscribe(), timeout=self.timeout)
        return handled

    def delete_stream(self) -> None:
        """Delete the stream and every event on it (tests, and starting over)."""
        self._loop.run(self._js.delete_stream(self.stream), timeout=self.timeout)

    def stream_messages(self) -> int:
        """Return how many messages the stream holds."""
        info = self._loop.run(self._js.stream_info(self.stream), timeout=self.timeout)
        return int(info.state.messages)

    def close(self) -> None:
        """Flush and close the connection, then stop its loop."""
        try:
            self._loop.run(self._nc.drain(), timeout=self.timeout)
        except Exception as error:  # closing: nothing left to do about it but say so
            log.warning("closing the NATS connection: %s", error)
        finally:
            self._loop.stop()


def open_bus(settings: EventSettings, *, subscribers: Iterable[tuple[str, Handler]] = ()) -> Bus:
    """Return the configured bus: NATS JetStream for nats:// URLs, else the in-process bus.

    The subscribers are registered on the in-process bus; with NATS they run
    as consumers of the stream instead (``NatsBus.consume``).
    """
    url = settings.bus_url.strip()
    if not url:
        bus = InProcessBus()
        for pattern, handler in subscribers:
            bus.subscribe(pattern, handler)
        return bus
    if url.startswith(("nats://", "tls://")):
        return NatsBus(
            url,
            stream=settings.events_stream,
            subject_prefix=settings.events_subject_prefix,
            duplicate_window=settings.events_duplicate_window,
        )
    raise BusError(f"AMIGO_BUS_URL {url!r}: expected nats://host:port, or empty for in-process")
