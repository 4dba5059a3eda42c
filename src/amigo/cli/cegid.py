"""`amigo connectors cegid ...`: Cegid Y2's web services and drop folder."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from amigo.cli.common import console, counted_progress, get_engine, user_errors
from amigo.connectors.cegid.soap import client_from_settings
from amigo.connectors.cegid.sync import SyncReport, run_sync
from amigo.core.config import get_settings
from amigo.core.errors import AmigoError

cegid_app = typer.Typer(
    help="Cegid Y2: customers and receipts from its retail web services and its drop folder.",
    no_args_is_help=True,
)

_DATE_FORMATS = ["%Y-%m-%d"]


class _Bar:
    """The sync's progress as a Rich bar: windows of receipts, then stores reconciled."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def stage(self, description: str, total: int | None) -> None:
        """Start a bar for the stage."""
        self.task = self.progress.add_task(description, total=total)

    def advance(self, description: str) -> None:
        """Advance the stage's bar by one window or store."""
        if self.task is not None:
            self.progress.update(self.task, advance=1, description=description)


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _summary(report: SyncReport) -> None:
    days = (
        f"{report.first_day} to {report.last_day}"
        if report.first_day and report.last_day
        else "none"
    )
    console.print(
        f"windows {report.windows} ({days}), pages {report.pages}: receipts {report.receipts:,}, "
        f"lines {report.lines:,}, payments {report.payments:,}; customers fetched "
        f"{report.customers_fetched:,}"
        + (f" ({report.customers_missing} unknown to Y2)" if report.customers_missing else ""),
        highlight=False,
    )
    if report.reconciled:
        truncated = (
            f"; [yellow]truncated at AMIGO_CEGID_SEARCH_MAX in {', '.join(report.truncated_stores)}[/]"
            if report.truncated_stores
            else ""
        )
        console.print(
            f"reconciliation: {report.customers_checked:,} customers compared{truncated}",
            highlight=False,
        )
    table = Table("records", "read", "written", "unchanged", "rejected", "suppressed")
    for stats in [*report.files.values(), report.total]:
        table.add_row(
            stats.file.removeprefix("cegid/"),
            f"{stats.read:,}",
            f"{stats.inserted + stats.updated:,}",
            f"{stats.unchanged:,}",
            f"{stats.rejected:,}",
            f"{stats.suppressed:,}",
        )
    console.print(table)
    records = report.total.read
    rate = records / report.seconds if report.seconds else 0.0
    console.print(
        f"retries {report.retries}, breaker {report.breaker}; {report.seconds:.1f} s "
        f"({rate:,.0f} records/s)",
        highlight=False,
    )


@cegid_app.command()
@user_errors
def sync(
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since", formats=_DATE_FORMATS, help="First day of receipts (default: resume)."
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            "--until", formats=_DATE_FORMATS, help="Last day of receipts (default: today)."
        ),
    ] = None,
    reconcile: Annotated[
        bool, typer.Option("--reconcile", help="Also compare every customer with Y2 now.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Forget the checkpoints: start from --since.")
    ] = False,
) -> None:
    """Sync receipts (with their customers) day window by window, and reconcile customers."""
    settings = get_settings()
    first, last = _day(since), _day(until)
    if first and last and first > last:
        raise AmigoError(f"--since {first} is after --until {last}", code="invalid_input")
    engine = get_engine()
    with client_from_settings(settings.cegid) as client, counted_progress(20) as progress:
        report = run_sync(
            engine,
            client=client,
            settings=settings,
            since=first,
            until=last,
            reconcile=reconcile,
            restart=restart,
            progress=_Bar(progress),
        )
    _summary(report)


@cegid_app.command()
@user_errors
def ping() -> None:
    """Check the Y2 settings and credentials: one HelloWorld, then a 1-customer search."""
    settings = get_settings()
    with client_from_settings(settings.cegid) as client:
        hello = client.hello()
        found = client.search_customers(max_results=1)
    console.print(
        f"Y2 at {client.base_url} (database {client.database_id}) answered {hello!r}; "
        f"a search returned {len(found)} customer(s); retries {client.retries}",
        highlight=False,
    )
