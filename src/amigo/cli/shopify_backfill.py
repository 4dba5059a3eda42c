"""`amigo connectors shopify backfill`: read every customer and order from the Admin API."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from amigo.cli.common import console, error_console, get_engine, parse_since, user_errors
from amigo.connectors.shopify.admin import client_from_settings
from amigo.connectors.shopify.backfill import STREAMS, Backfill, BackfillReport, StreamReport
from amigo.core.config import get_settings
from amigo.core.errors import InvalidInputError
from amigo.core.migrate import upgrade


class _RichProgress:
    """One bar per stream: records and pages committed."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def stream_started(self, stream: str, resumed: StreamReport) -> None:
        self.tasks[stream] = self.progress.add_task(
            stream, total=None, completed=resumed.stats.read, pages=resumed.pages
        )

    def page_written(self, stream: str, report: StreamReport, rows: int) -> None:
        self.progress.update(self.tasks[stream], completed=report.stats.read, pages=report.pages)

    def stream_finished(self, report: StreamReport) -> None:
        task = self.tasks[report.stream]
        self.progress.update(
            task, total=report.stats.read, completed=report.stats.read, pages=report.pages
        )


def _summary(report: BackfillReport) -> Table:
    table = Table(title=f"Shopify backfill of {report.shop} ({report.seconds:.1f} s)")
    table.add_column("stream")
    for name in ("pages", "read", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(name, justify="right")
    for stream in report.streams:
        stats = stream.stats
        resumed = f" (resumed after {stream.resumed_pages})" if stream.resumed_pages else ""
        table.add_row(
            stream.stream,
            f"{stream.pages:,}{resumed}",
            f"{stats.read:,}",
            f"{stats.inserted:,}",
            f"{stats.updated:,}",
            f"{stats.unchanged:,}",
            f"[yellow]{stats.rejected:,}[/]" if stats.rejected else "0",
        )
    return table


def _resolution_line(report: BackfillReport) -> str | None:
    after = report.resolution
    if after is None or not after.changed:
        return None
    if after.skipped == "no model":
        return (
            f"{after.changed:,} new or changed customer records: run "
            "[bold]amigo identity resolve[/] to find who is who (it trains the match model)."
        )
    if after.skipped == "too many":
        return (
            f"{after.changed:,} new or changed customer records, too many to resolve one by "
            "one: run [bold]amigo identity resolve[/]."
        )
    if after.outcome is None:
        return None
    return (
        f"Identity: {after.outcome.records:,} new or changed customer records resolved: "
        f"{after.outcome.merges:,} merged, {after.outcome.queued:,} queued for review."
    )


@user_errors
def backfill_command(
    shop: str | None = typer.Option(
        None, "--shop", help="The shop (default AMIGO_SHOPIFY_SHOP_DOMAIN)."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Only what changed from this date or time (updated_at)."
    ),
    restart: bool = typer.Option(
        False, "--restart", help="Start over instead of resuming an interrupted backfill."
    ),
    only: str | None = typer.Option(None, "--only", help="Only this stream: customers or orders."),
) -> None:
    """Read every customer, then every order, from Shopify's Admin API into the repository.

    Resumable (an interrupted backfill continues after its last committed
    page) and idempotent (a second run changes nothing). Rate limits are kept;
    failing calls are retried until the circuit breaker opens.
    """
    settings = get_settings()
    if only is not None and only not in STREAMS:
        raise InvalidInputError(f"--only {only!r}: customers or orders")
    client = client_from_settings(settings.shopify, scopes="read_customers, read_orders", shop=shop)
    engine = get_engine()
    upgrade(engine)
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.completed:>9,.0f} records  {task.fields[pages]:>5,} pages"),
        TimeElapsedColumn(),
    )
    try:
        with client, Progress(*columns, console=console, transient=False) as progress:
            report = Backfill(
                engine=engine, client=client, settings=settings, progress=_RichProgress(progress)
            ).run(streams=[only] if only else STREAMS, since=parse_since(since), restart=restart)
    except KeyboardInterrupt:
        error_console.print(
            "interrupted: the pages written are kept; the same command resumes after them"
        )
        raise typer.Exit(130) from None
    console.print(_summary(report))
    calls = report.calls
    read = report.records_read
    rate = read / report.seconds if report.seconds else 0.0
    console.print(
        f"{calls.calls:,} calls, {calls.retries:,} retried ({calls.throttled:,} throttled, "
        f"{calls.throttle_wait_seconds:.1f} s waited), {calls.paced:,} paced under the cost "
        f"bucket ({calls.paced_seconds:.1f} s), {calls.points:,.0f} points; "
        f"{read:,} records in {report.seconds:.1f} s: {rate:,.0f} records/s",
        highlight=False,
    )
    line = _resolution_line(report)
    if line:
        console.print(line)
    rejected = sum(s.stats.rejected for s in report.streams)
    if rejected:
        console.print(
            f"{rejected:,} records rejected: see them with [bold]amigo quality rejects[/] "
            "(kept with reason and raw payload)."
        )
