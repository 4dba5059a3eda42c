"""`amigo connectors status` and `amigo connectors dead-letters`: every connector's health."""

from __future__ import annotations

from datetime import datetime

import orjson
import typer
from rich.table import Table

from amigo.cli.common import console, get_engine, user_errors
from amigo.connectors.schemas import ConnectorsStatusView, ConnectorStatusView
from amigo.connectors.state import list_dead_letters
from amigo.connectors.status import Health, connectors_status
from amigo.core.clock import utcnow
from amigo.core.db import unit_of_work

_HEALTH_STYLE = {
    Health.OK: "green",
    Health.DEGRADED: "yellow",
    Health.FAILING: "bold red",
    Health.IDLE: "dim",
}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "never"


def duration(seconds: float | None) -> str:
    """Return a lag as people read it: 4 s, 12 min, 3.5 h, 2.0 d."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


@user_errors
def status(
    as_json: bool = typer.Option(False, "--json", help="Print JSON, as GET /v1/connectors/status."),
) -> None:
    """Show each connector's streams: last sync, lag, records, errors, backlog, breaker."""
    now = utcnow()
    with unit_of_work(get_engine()) as session:
        found = connectors_status(session=session, now=now)
    view = ConnectorsStatusView(
        checked_at=now, connectors=[ConnectorStatusView.model_validate(c) for c in found]
    )
    if as_json:
        console.print_json(orjson.dumps(view.model_dump(mode="json")).decode())
        return
    table = Table(
        "stream", "health", "last success", "lag", "records", "errors", "backlog", "breaker"
    )
    for connector in view.connectors:
        if not connector.streams:
            table.add_row(
                connector.connector, f"[{_HEALTH_STYLE[connector.health]}]never synced[/]"
            )
        for stream in connector.streams:
            failing = (
                f" ({stream.consecutive_failures} in a row)" if stream.consecutive_failures else ""
            )
            table.add_row(
                f"{connector.connector}/{stream.stream}",
                f"[{_HEALTH_STYLE[stream.health]}]{stream.health.value}[/]",
                _when(stream.last_success_at),
                duration(stream.lag_seconds),
                f"{stream.records_total:,}",
                f"{stream.errors_total:,}{failing}",
                f"{stream.backlog:,}",
                stream.breaker_state.value,
            )
    errors = [
        f"{item.connector}/{stream.stream}: {stream.last_error}"
        for item in found
        for stream in item.streams
        if stream.last_error and stream.health is not Health.OK
    ]
    console.print(table)
    letters = ", ".join(f"{c.connector} {c.dead_letters:,}" for c in view.connectors)
    console.print(f"dead letters waiting: {letters}", highlight=False)
    for line in errors:
        console.print(f"last error {line}", highlight=False, markup=False)


@user_errors
def dead_letters(
    connector: str | None = typer.Option(None, "--connector", help="Only this connector."),
    include_resolved: bool = typer.Option(
        False, "--all", help="Also those already replayed or discarded."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many, newest first."),
) -> None:
    """List what failed every attempt (outbound pushes, unreadable drop files), newest first."""
    with unit_of_work(get_engine()) as session:
        letters = list_dead_letters(
            session=session, connector=connector, include_resolved=include_resolved, limit=limit
        )
    table = Table("id", "connector", "operation", "about", "attempts", "status", "last attempt")
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.connector,
            letter.operation,
            letter.target or "",
            str(letter.attempts),
            letter.status.value,
            _when(letter.last_attempt_at),
        )
    console.print(table)
    for letter in letters:
        if letter.error:
            console.print(f"#{letter.id}: {letter.error}", highlight=False, markup=False)
    console.print(
        "Shopify webhooks out of attempts are listed by `amigo connectors shopify webhooks "
        "--failed` and replayed by `amigo connectors shopify replay`.",
        highlight=False,
    )
