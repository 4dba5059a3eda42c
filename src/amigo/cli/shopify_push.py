"""`amigo connectors shopify push|replay-dead-letter`: AMIgo's changes sent to Shopify."""

from __future__ import annotations

import typer

from amigo.cli.common import console, get_engine, stop_on_signals, user_errors
from amigo.connectors.shopify.admin import AdminClient, client_from_settings
from amigo.connectors.shopify.outbound import PushTally, outbound_consumer, replay_dead_letter
from amigo.core.clock import utcnow
from amigo.core.config import ShopifySettings, get_settings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.events.bus import NatsBus, open_bus


def admin_client(settings: ShopifySettings) -> AdminClient:
    """Return the Admin API client pushes go through."""
    return client_from_settings(settings, scopes="write_customers, write_customer_data_erasure")


@user_errors
def push(
    durable: str = typer.Option("amigo-shopify-push", "--durable", help="JetStream consumer name."),
) -> None:
    """Send consent changes, tier tags and erasures to Shopify from the NATS event stream."""
    settings = get_settings()
    if not settings.events.bus_url:
        raise InvalidInputError(
            "push reads NATS JetStream: set AMIGO_BUS_URL=nats://... (with the in-process "
            "bus, `amigo events relay` pushes to Shopify itself when AMIGO_SHOPIFY_PUSH=true)"
        )
    client = admin_client(settings.shopify)
    bus = open_bus(settings.events)
    assert isinstance(bus, NatsBus)  # noqa: S101 - open_bus returns NATS for a nats:// URL
    stop = stop_on_signals()
    pushed = PushTally()
    console.print(
        f"pushing to {client.shop_domain} from {bus.url}, stream {bus.stream}, as {durable}",
        highlight=False,
    )
    try:
        handled = bus.consume(
            durable, outbound_consumer(get_engine(), client, pushed), stop=stop.is_set
        )
    finally:
        bus.close()
        client.close()
    console.print(f"handled {handled:,} events; {pushed.line()}", highlight=False)
    if pushed.dead_letters:
        console.print("failed pushes: `amigo connectors dead-letters --connector shopify`")


@user_errors
def replay_dead_letter_command(
    letter_id: int = typer.Argument(..., help="Dead letter id (amigo connectors dead-letters)."),
) -> None:
    """Send a failed Shopify push again; it is resolved when Shopify accepts it."""
    client = admin_client(get_settings().shopify)
    with client, unit_of_work(get_engine()) as session:
        delivered = replay_dead_letter(
            session=session, letter_id=letter_id, client=client, now=utcnow()
        )
    if not delivered:
        raise InvalidInputError(
            f"dead letter {letter_id} failed again: see `amigo connectors dead-letters`",
            code="replay_failed",
        )
    console.print(f"dead letter {letter_id} delivered to Shopify", highlight=False)
