"""`amigo sources`: the websites and apps that send events to the tracking API, and their write keys."""

from __future__ import annotations

import typer
from rich.table import Table

from amigo.cli.common import console, get_engine, user_errors
from amigo.core.clock import utcnow
from amigo.core.db import unit_of_work
from amigo.tracking.service import (
    WRITE_KEY_CACHE_SECONDS,
    create_source,
    disable_source,
    list_sources,
)

app = typer.Typer(
    help="Tracking sources (Segment-compatible /v1 API): create one, list them, disable one.",
    no_args_is_help=True,
)


@app.command("create")
@user_errors
def create_command(
    name: str = typer.Option(..., "--name", help="What sends the events: web, ios, pos..."),
) -> None:
    """Create a source and print its write key, once (only its hash is kept)."""
    with unit_of_work(get_engine()) as session:
        source = create_source(session=session, name=name, now=utcnow())
    console.print(f"Source {source.name!r} created (id {source.id}).")
    console.print("Write key (shown once, store it now):")
    # Printed bare on its own line, so that scripts can read it: `... | tail -1`.
    typer.echo(source.write_key)


@app.command("disable")
@user_errors
def disable_command(
    name: str = typer.Option(..., "--name", help="The source whose write key to refuse"),
) -> None:
    """Disable a source: its write key is refused (by running servers within seconds)."""
    with unit_of_work(get_engine()) as session:
        source = disable_source(session=session, name=name, now=utcnow())
    console.print(
        f"Source {source.name!r} disabled: its write key is refused from now on by new "
        f"processes, within {WRITE_KEY_CACHE_SECONDS:.0f} s by the running API."
    )


@app.command("list")
@user_errors
def list_command() -> None:
    """List the sources with the first characters of their write keys."""
    with unit_of_work(get_engine()) as session:
        sources = list_sources(session=session)
    if not sources:
        console.print("No tracking sources yet: amigo sources create --name web")
        return
    table = Table("id", "name", "write key", "created", "status")
    for source in sources:
        table.add_row(
            str(source.id),
            source.name,
            f"{source.write_key_hint}…",
            f"{source.created_at:%Y-%m-%d %H:%M}",
            "disabled" if source.disabled_at else "enabled",
        )
    console.print(table)
