"""`amigo connectors ...`: the command groups of every connector, and Shopify's webhook inbox."""

from __future__ import annotations

import time
from datetime import datetime

import typer
from rich.table import Table

from amigo.cli import cegid_push, connector_status, shopify_push
from amigo.cli.cegid import cegid_app
from amigo.cli.cegid_drop import watch
from amigo.cli.common import console, get_engine, stop_on_signals, user_errors
from amigo.cli.shopify_backfill import backfill_command
from amigo.connectors.shopify.models import DeliveryStatus
from amigo.connectors.shopify.processing import Attempt, run_processor
from amigo.connectors.shopify.service import inbox_counts, list_deliveries, replay_deliveries
from amigo.core.clock import utcnow
from amigo.core.config import get_settings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError

app = typer.Typer(help="Connectors to other systems.", no_args_is_help=True)
shopify_app = typer.Typer(
    help="Shopify: webhooks received, the Admin API backfill, AMIgo's changes pushed back.",
    no_args_is_help=True,
)
app.add_typer(shopify_app, name="shopify")
shopify_app.command("backfill")(backfill_command)
app.add_typer(cegid_app, name="cegid")
app.command("status")(connector_status.status)
app.command("dead-letters")(connector_status.dead_letters)
shopify_app.command("push")(shopify_push.push)
shopify_app.command("replay-dead-letter")(shopify_push.replay_dead_letter_command)
cegid_app.command("watch")(watch)
cegid_app.command("push")(cegid_push.push)
cegid_app.command("follow")(cegid_push.follow)
cegid_app.command("replay-dead-letter")(cegid_push.replay_dead_letter_command)
cegid_app.command("export-enrichment")(cegid_push.export_enrichment_command)


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _counts_line() -> str:
    with unit_of_work(get_engine()) as session:
        counts = inbox_counts(session=session)
    return ", ".join(f"{counts[status]:,} {status.value}" for status in DeliveryStatus)


@shopify_app.command()
@user_errors
def process(
    once: bool = typer.Option(False, "--once", help="Process what is due, then exit."),
) -> None:
    """Process the stored webhooks into the repository, as `amigo serve` does in the background."""
    settings = get_settings()
    engine = get_engine()
    stop = stop_on_signals()
    console.print(f"inbox: {_counts_line()}", highlight=False)

    def report(attempt: Attempt) -> None:
        if attempt.status is DeliveryStatus.PROCESSED:
            console.print(
                f"{attempt.delivery_id} {attempt.topic}: {attempt.outcome}", highlight=False
            )
        else:
            console.print(
                f"[yellow]{attempt.delivery_id} {attempt.topic}: {attempt.status.value}[/] "
                f"{attempt.error}",
                highlight=False,
            )

    started = time.monotonic()
    stats = run_processor(engine, settings=settings, once=once, stop=stop, on_attempt=report)
    console.print(
        f"processed {stats.processed:,}, failed {stats.failed:,} (to retry), dead {stats.dead:,} "
        f"in {time.monotonic() - started:.1f} s; inbox: {_counts_line()}",
        highlight=False,
    )


@shopify_app.command("webhooks")
@user_errors
def webhooks_command(
    failed: bool = typer.Option(False, "--failed", help="Only failed and dead deliveries."),
    topic: str | None = typer.Option(None, "--topic", help="Only this topic (orders/paid...)."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many, newest first."),
) -> None:
    """List the latest webhook deliveries: status, attempts, what processing did or why it failed."""
    with unit_of_work(get_engine()) as session:
        deliveries = list_deliveries(session=session, failed_only=failed, topic=topic, limit=limit)
    table = Table("id", "received", "topic", "about", "status", "attempts", "outcome or error")
    for d in deliveries:
        detail = "; ".join(part for part in (d.outcome, d.last_error) if part)
        if d.status is DeliveryStatus.FAILED:
            detail += f" (next attempt {_when(d.next_attempt_at)})"
        table.add_row(
            str(d.id),
            _when(d.received_at),
            d.topic,
            d.resource or "",
            d.status.value,
            str(d.attempts),
            detail,
        )
    console.print(table)
    console.print(f"inbox: {_counts_line()}", highlight=False)


@shopify_app.command()
@user_errors
def replay(
    ids: list[int] = typer.Argument(None, help="Delivery ids (see `... webhooks --failed`)."),
    replay_all: bool = typer.Option(False, "--all", help="Replay every dead delivery."),
) -> None:
    """Make failed or dead deliveries due again with fresh attempts (the processor takes them)."""
    if bool(ids) == replay_all:
        raise InvalidInputError("give delivery ids or --all (not both)")
    with unit_of_work(get_engine()) as session:
        replayed = replay_deliveries(session=session, ids=None if replay_all else ids, now=utcnow())
    console.print(
        f"{len(replayed):,} deliveries due again: `amigo connectors shopify process --once` "
        "(or a running `amigo serve`) takes them",
        highlight=False,
    )
