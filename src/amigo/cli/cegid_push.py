"""`amigo connectors cegid push|replay-dead-letter|export-enrichment|follow`: AMIgo into Y2."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from amigo.cli.common import (
    console,
    counted_progress,
    get_engine,
    parse_since,
    stop_on_signals,
    user_errors,
)
from amigo.connectors.cegid.importfile import export_enrichment
from amigo.connectors.cegid.outbound import (
    PushSummary,
    outbound_consumer,
    push_since,
    replay_dead_letter,
    run_push,
)
from amigo.connectors.cegid.soap import client_from_settings
from amigo.core.clock import utcnow
from amigo.core.config import get_settings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError


def _summary_table(summary: PushSummary, *, dry_run: bool) -> Table:
    would = "would be " if dry_run else ""
    table = Table(
        "profiles", "count", title="Y2 push" + (" (dry run: nothing sent)" if dry_run else "")
    )
    table.add_row("considered", f"{summary.considered:,}")
    table.add_row(f"{would}updated (UpdateCustomer)", f"{summary.updated:,}")
    table.add_row(f"{would}created (AddNewCustomer)", f"{summary.created:,}")
    table.add_row("unchanged", f"{summary.unchanged:,}")
    table.add_row("  of which Y2 echoes AMIgo's writes", f"{summary.echoes:,}")
    table.add_row("refused by Y2 (dead letters)", f"{summary.refused:,}")
    table.add_row("dead letters written", f"{summary.dead_letters:,}")
    return table


@user_errors
def push(
    all_profiles: bool = typer.Option(False, "--all", help="Every profile with a Y2 customer."),
    since: str | None = typer.Option(
        None,
        "--since",
        help="Profiles changed from this date or time (ISO 8601; UTC if no offset).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute and show; send nothing."),
) -> None:
    """Send the profile enrichment (golden id, tier, opt-ins, store, associate) to Y2.

    Without --all or --since: the profiles changed since the last run started.
    """
    if all_profiles and since is not None:
        raise InvalidInputError("give --all or --since, not both")
    settings = get_settings().cegid
    engine = get_engine()
    client = None if dry_run else client_from_settings(settings)
    with unit_of_work(engine) as session:
        start = push_since(session=session, since=parse_since(since), all_profiles=all_profiles)
    console.print(
        f"pushing the profiles changed since {start.isoformat(timespec='seconds')}"
        if start
        else "pushing every profile with a Y2 customer"
        + (" or a preferred store" if settings.outbound_create else ""),
        highlight=False,
    )
    try:
        with counted_progress() as progress:
            task = progress.add_task("profiles", total=None)
            summary = run_push(
                engine,
                client=client,
                settings=settings,
                since=start,
                dry_run=dry_run,
                on_total=lambda total: progress.update(task, total=total),
                on_profile=lambda _result: progress.advance(task),
            )
    finally:
        if client is not None:
            client.close()
    console.print(_summary_table(summary, dry_run=dry_run))
    fields = ", ".join(f"{count:,} {name}" for name, count in sorted(summary.fields.items()))
    console.print(f"fields: {fields or 'none'}", highlight=False)
    if summary.dead_letters:
        console.print(
            "dead letters: `amigo connectors dead-letters`, then "
            "`amigo connectors cegid replay-dead-letter ID`",
            highlight=False,
        )
    if summary.stopped:
        console.print(
            f"[yellow]stopped:[/] {summary.stopped}; the next run takes up the profiles not reached",
            highlight=False,
        )
        raise typer.Exit(code=1)


@user_errors
def replay_dead_letter_command(
    letter_id: int = typer.Argument(
        ..., help="Dead letter id (see `amigo connectors dead-letters`)."
    ),
) -> None:
    """Send one Y2 dead letter again: replayed on success, kept (one more attempt) otherwise."""
    settings = get_settings().cegid
    with client_from_settings(settings) as client, unit_of_work(get_engine()) as session:
        delivered, message = replay_dead_letter(
            session=session, client=client, letter_id=letter_id, now=utcnow()
        )
    if delivered:
        console.print(f"dead letter {letter_id}: {message}", highlight=False)
        return
    console.print(f"[yellow]dead letter {letter_id} kept:[/] {message}", highlight=False)
    raise typer.Exit(code=1)


@user_errors
def export_enrichment_command(
    out_dir: Path = typer.Argument(..., help="Folder to write the Y2 import file into."),
    since: str | None = typer.Option(
        None, "--since", help="Profiles changed from this date or time; default: all."
    ),
) -> None:
    """Write the enrichment as a Y2 customer import file (customers.csv columns, ;, BOM, CRLF)."""
    settings = get_settings().cegid
    with unit_of_work(get_engine()) as session:
        written = export_enrichment(
            session=session,
            out_dir=out_dir,
            since=parse_since(since),
            settings=settings,
            now=utcnow(),
        )
    console.print(
        f"wrote {written.path}: {written.rows:,} Y2 customers of {written.profiles:,} profiles",
        highlight=False,
    )


@user_errors
def follow(
    durable: str = typer.Option("amigo-cegid-outbound", "--durable", help="JetStream consumer."),
) -> None:
    """Push each profile as its consent, tier, store or merge events arrive (NATS JetStream)."""
    from amigo.events.bus import NatsBus, open_bus  # noqa: PLC0415 - only this command needs NATS

    events = get_settings().events
    if not events.bus_url:
        raise InvalidInputError(
            "follow reads NATS JetStream: set AMIGO_BUS_URL=nats://... "
            "(without it, run `amigo connectors cegid push` on a schedule)"
        )
    settings = get_settings().cegid
    bus = open_bus(events)
    assert isinstance(bus, NatsBus)  # noqa: S101 - open_bus returns NATS for a nats:// URL
    stop = stop_on_signals()
    with client_from_settings(settings) as client:
        console.print(f"pushing to Y2 as events arrive ({durable})", highlight=False)
        try:
            consumer = outbound_consumer(get_engine(), client, settings)
            handled = bus.consume(durable, consumer, stop=stop.is_set)
        finally:
            bus.close()
    console.print(f"handled {handled:,} events", highlight=False)
