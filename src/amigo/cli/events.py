"""`amigo events relay|dispatch|show|webhooks|dead-letters|replay`: the outbox and its deliveries."""

from __future__ import annotations

import time
from datetime import datetime

import orjson
import typer
from rich.table import Table

from amigo.cli.common import (
    console,
    counted_progress,
    error_console,
    get_engine,
    stop_on_signals,
    user_errors,
)
from amigo.cli.shopify_push import admin_client
from amigo.connectors.cegid.outbound import outbound_consumer as cegid_outbound_consumer
from amigo.connectors.cegid.soap import Y2Client, client_from_settings
from amigo.connectors.shopify.admin import AdminClient
from amigo.connectors.shopify.outbound import PushTally, outbound_consumer
from amigo.core.config import get_settings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.events.bus import Bus, BusError, NatsBus, open_bus
from amigo.events.relay import RelayStats, run_relay
from amigo.events.service import outbox_counts, recent_events, to_cloudevent
from amigo.events.webhooks import (
    WebhookSender,
    create_subscription,
    dead_letters,
    delete_subscription,
    list_subscriptions,
    replay_dead_letters,
    webhook_consumer,
)

app = typer.Typer(
    help="Domain events: the outbox relay, recent events, outbound webhooks.", no_args_is_help=True
)
webhooks_app = typer.Typer(help="Outbound webhook subscriptions.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "pending"


def _describe(bus: Bus) -> str:
    if isinstance(bus, NatsBus):
        return (
            f"NATS JetStream {bus.url}, stream {bus.stream}, subjects {bus.subject_prefix}.<type>"
        )
    return "the in-process bus (webhook subscriptions delivered from this process)"


def _shopify_pusher() -> AdminClient | None:
    """Return the Shopify client the in-process relay pushes through (AMIGO_SHOPIFY_PUSH)."""
    shopify = get_settings().shopify
    if not shopify.push:
        return None
    client = admin_client(shopify)
    console.print(f"pushing consents, tiers and erasures to {client.shop_domain}", highlight=False)
    return client


def _cegid_pusher() -> Y2Client | None:
    """Return the Y2 client the in-process relay pushes through (AMIGO_CEGID_PUSH)."""
    cegid = get_settings().cegid
    if not cegid.push:
        return None
    client = client_from_settings(cegid)
    console.print("pushing profile enrichment to Cegid Y2", highlight=False)
    return client


@app.command()
@user_errors
def relay(
    once: bool = typer.Option(False, "--once", help="Publish what is pending, then exit."),
    batch: int | None = typer.Option(
        None, "--batch", min=1, max=10_000, help="Events per transaction [AMIGO_RELAY_BATCH_SIZE]."
    ),
) -> None:
    """Publish the outbox to the bus in id order, marking each batch once acknowledged."""
    settings = get_settings().events
    engine = get_engine()
    sender = WebhookSender.from_settings(settings)
    subscribers = [] if settings.bus_url else [("*", webhook_consumer(engine, sender))]
    shopify = _shopify_pusher() if not settings.bus_url else None
    pushed = PushTally()
    if shopify is not None:
        subscribers.append(("*", outbound_consumer(engine, shopify, pushed)))
    cegid = _cegid_pusher() if not settings.bus_url else None
    if cegid is not None:
        subscribers.append(("*", cegid_outbound_consumer(engine, cegid, get_settings().cegid)))
    bus = open_bus(settings, subscribers=subscribers)
    batch_size = batch or settings.relay_batch_size
    with unit_of_work(engine) as session:
        total, pending = outbox_counts(session=session)
    console.print(
        f"relaying {pending:,} pending events of {total:,} to {_describe(bus)}", highlight=False
    )
    stop = stop_on_signals()

    def report_error(error: BusError) -> None:
        error_console.print(f"[yellow]bus unavailable, retrying:[/] {error.message}")

    try:
        if once:
            with counted_progress() as progress:
                task = progress.add_task("published", total=pending)
                stats = run_relay(
                    engine,
                    bus,
                    batch_size=batch_size,
                    once=True,
                    stop=stop,
                    on_batch=lambda _stats, count: progress.advance(task, count),
                )
        else:
            last_line = [0.0]

            def report(progress_stats: RelayStats, _count: int) -> None:
                if time.monotonic() - last_line[0] >= 1:
                    last_line[0] = time.monotonic()
                    console.print(f"published {progress_stats.published:,}", highlight=False)

            stats = run_relay(
                engine,
                bus,
                batch_size=batch_size,
                idle_seconds=settings.relay_idle_seconds,
                stop=stop,
                on_batch=report,
                on_error=report_error,
            )
    finally:
        bus.close()
        sender.close()
        if shopify is not None:
            shopify.close()
        if cegid is not None:
            cegid.close()
    with unit_of_work(engine) as session:
        _, pending = outbox_counts(session=session)
    duplicates = f", {stats.duplicates:,} already on the stream" if stats.duplicates else ""
    console.print(
        f"published {stats.published:,} events in {stats.batches:,} batches in "
        f"{stats.seconds:.1f} s{duplicates}; {pending:,} pending",
        highlight=False,
    )
    if shopify is not None:
        console.print(pushed.line(), highlight=False)


@app.command()
@user_errors
def dispatch(
    durable: str = typer.Option("amigo-webhooks", "--durable", help="JetStream consumer name."),
) -> None:
    """Deliver webhooks from the NATS JetStream stream (with AMIGO_BUS_URL=nats://...)."""
    settings = get_settings().events
    if not settings.bus_url:
        raise InvalidInputError(
            "dispatch reads NATS JetStream: set AMIGO_BUS_URL=nats://... (with the in-process "
            "bus, `amigo events relay` delivers the webhooks itself)"
        )
    bus = open_bus(settings)
    assert isinstance(bus, NatsBus)  # noqa: S101 - open_bus returns NATS for a nats:// URL
    engine = get_engine()
    sender = WebhookSender.from_settings(settings)
    stop = stop_on_signals()
    console.print(f"delivering webhooks from {_describe(bus)} as {durable}", highlight=False)
    try:
        handled = bus.consume(durable, webhook_consumer(engine, sender), stop=stop.is_set)
    finally:
        bus.close()
        sender.close()
    console.print(f"handled {handled:,} events", highlight=False)


@app.command()
@user_errors
def show(
    limit: int = typer.Option(20, "--limit", min=1, max=10_000, help="How many, newest first."),
    json_output: bool = typer.Option(False, "--json", help="Print each as its CloudEvent JSON."),
) -> None:
    """List the latest outbox events and whether they are published."""
    with unit_of_work(get_engine()) as session:
        events = recent_events(session=session, limit=limit)
        total, pending = outbox_counts(session=session)
    if json_output:
        for event in events:
            typer.echo(orjson.dumps(to_cloudevent(event), option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("id", "time", "type", "subject", "published", "event id")
    for event in events:
        table.add_row(
            str(event.id),
            event.time.isoformat(timespec="seconds"),
            event.type,
            event.subject or "",
            _when(event.published_at),
            event.event_id,
        )
    console.print(table)
    console.print(f"{total:,} events in the outbox, {pending:,} pending", highlight=False)


@webhooks_app.command("create")
@user_errors
def webhooks_create(
    url: str = typer.Argument(..., help="Where to POST the events (http or https)."),
    event_type: list[str] = typer.Option(
        [], "--type", help="Event type to deliver (repeatable; customer.* works; none: all)."
    ),
    description: str | None = typer.Option(None, "--description", help="What it is for."),
) -> None:
    """Subscribe a URL to events; its signing secret is printed this once."""
    with unit_of_work(get_engine()) as session:
        subscription = create_subscription(
            session=session, url=url, event_types=event_type, description=description
        )
    console.print(
        f"subscription {subscription.id}: {subscription.url} "
        f"({', '.join(subscription.event_types) or 'every event type'})",
        highlight=False,
    )
    console.print(f"secret (shown once): {subscription.secret}", highlight=False)


@webhooks_app.command("list")
@user_errors
def webhooks_list() -> None:
    """List the subscriptions (without their secrets)."""
    with unit_of_work(get_engine()) as session:
        subscriptions = list_subscriptions(session=session)
    table = Table("id", "url", "event types", "active", "created", "description")
    for s in subscriptions:
        table.add_row(
            str(s.id),
            s.url,
            ", ".join(s.event_types) or "*",
            "yes" if s.active else "no",
            s.created_at.isoformat(timespec="seconds"),
            s.description or "",
        )
    console.print(table)


@webhooks_app.command("delete")
@user_errors
def webhooks_delete(subscription_id: int = typer.Argument(..., help="Subscription id.")) -> None:
    """Delete a subscription, its delivery attempts and its dead letters."""
    with unit_of_work(get_engine()) as session:
        delete_subscription(session=session, subscription_id=subscription_id)
    console.print(f"subscription {subscription_id} deleted", highlight=False)


@app.command("dead-letters")
@user_errors
def dead_letters_command(
    limit: int = typer.Option(100, "--limit", min=1, help="How many, oldest first."),
) -> None:
    """List the webhook deliveries that failed their last attempt."""
    with unit_of_work(get_engine()) as session:
        letters = dead_letters(session=session, limit=limit)
    table = Table("id", "subscription", "event", "type", "attempts", "failed", "last error")
    for letter, subscription in letters:
        table.add_row(
            str(letter.id),
            f"{subscription.id} {subscription.url}",
            letter.event_id,
            letter.event_type,
            str(letter.attempts),
            letter.failed_at.isoformat(timespec="seconds"),
            letter.last_error,
        )
    console.print(table)
    console.print(f"{len(letters):,} dead letters", highlight=False)


@app.command()
@user_errors
def replay(
    ids: list[int] = typer.Argument(
        None, help="Dead letter ids (see `amigo events dead-letters`)."
    ),
    replay_all: bool = typer.Option(False, "--all", help="Replay every dead letter."),
) -> None:
    """Deliver dead letters again; each one accepted is cleared."""
    if bool(ids) == replay_all:
        raise InvalidInputError("give dead letter ids or --all (not both)")
    sender = WebhookSender.from_settings(get_settings().events)
    try:
        with unit_of_work(get_engine()) as session:
            result = replay_dead_letters(session=session, sender=sender, ids=ids or None)
    finally:
        sender.close()
    console.print(
        f"delivered {len(result.delivered)} (cleared), failed {len(result.failed)}, "
        f"skipped {len(result.skipped)} (subscription paused)",
        highlight=False,
    )
    if result.failed:
        console.print(f"still dead: {', '.join(map(str, result.failed))}", highlight=False)
