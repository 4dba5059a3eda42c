"""`amigo load DIR`: load an export directory into the customer repository."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from amigo.cli.common import console, counted_progress, get_engine, user_errors
from amigo.cli.identity import RichStages, print_resolve_summary
from amigo.core.config import get_settings
from amigo.core.db import unit_of_work
from amigo.core.migrate import upgrade
from amigo.identity.service import (
    INITIAL_LOAD_INDEXES,
    ResolveSummary,
    resolve_after_load,
    resolve_initial_load,
    resolve_repository,
)
from amigo.ingest.service import FileStats, LoadReport, load_directory


class FileBars:
    """Draw one progress bar per file of a load (the drop folder's watcher reuses it)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def file_started(self, file: str, total_rows: int | None) -> None:
        self.tasks[file] = self.progress.add_task(file, total=total_rows)

    def rows_done(self, file: str, count: int) -> None:
        self.progress.advance(self.tasks[file], count)

    def file_finished(self, stats: FileStats) -> None:
        task = self.tasks.get(stats.file)
        if task is None:
            task = self.progress.add_task(stats.file, total=stats.read)
        self.progress.update(task, total=stats.read, completed=stats.read)


def _summary(report: LoadReport, elapsed: float) -> Table:
    table = Table(title=f"Load batch {report.batch_id}: {report.directory} ({elapsed:.1f} s)")
    table.add_column("file")
    columns = ["read", "inserted", "updated", "unchanged", "rejected"]
    # Only once someone was erased and their records came again: then say so.
    screened = report.total.suppressed > 0
    if screened:
        columns.append("suppressed")
    for name in columns:
        table.add_column(name, justify="right")
    for stats in [*report.files, report.total]:
        if stats.missing:
            table.add_row(stats.file, "[dim]absent[/]", *[""] * (len(columns) - 1))
            continue
        extra = [f"{stats.suppressed:,}"] if screened else []
        style = "bold" if stats.file == "total" else None
        table.add_row(
            stats.file,
            f"{stats.read:,}",
            f"{stats.inserted:,}",
            f"{stats.updated:,}",
            f"{stats.unchanged:,}",
            f"{stats.rejected:,}" if not stats.rejected else f"[yellow]{stats.rejected:,}[/]",
            *extra,
            style=style,
        )
    return table


def _resolve_what_changed(engine: Engine, report: LoadReport) -> None:
    """Resolve the load's new and changed customers against existing profiles (a model needed)."""
    if report.started_at is None:
        return
    with unit_of_work(engine) as session:
        after = resolve_after_load(session=session, since=report.started_at)
    if not after.changed:
        return
    if after.skipped == "no model":
        console.print(
            f"{after.changed:,} new or changed customer records: run "
            "[bold]amigo identity resolve[/] to find who is who (it trains the match model)."
        )
    elif after.skipped == "too many":
        console.print(
            f"{after.changed:,} new or changed customer records, too many to resolve one by "
            "one: run [bold]amigo identity resolve[/]."
        )
    elif after.outcome is not None:
        outcome = after.outcome
        console.print(
            f"Identity: {outcome.records:,} new or changed customer records resolved against "
            f"existing profiles: {outcome.merges:,} merged, {outcome.queued:,} queued for review."
        )


class _ResolveFirst:
    """Resolve an initial load's customers between its phases, with the load's own bars."""

    def __init__(self, engine: Engine, progress: Progress) -> None:
        self.engine = engine
        self.progress = progress
        self.summary: ResolveSummary | None = None
        self.seconds = 0.0

    def __call__(self, load_started_at: datetime) -> None:
        started = time.perf_counter()
        stages = RichStages(self.progress)
        with unit_of_work(self.engine) as session:
            self.summary = resolve_initial_load(
                session=session, load_started_at=load_started_at, progress=stages
            )
        stages.close()
        self.seconds = time.perf_counter() - started


def _resolve_whole_repository(engine: Engine) -> None:
    """Resolve the whole repository after a load that was not an initial one."""
    started = time.perf_counter()
    with counted_progress(58) as progress, unit_of_work(engine) as session:
        stages = RichStages(progress)
        summary = resolve_repository(session=session, actor="amigo load --resolve", progress=stages)
        stages.close()
    print_resolve_summary(summary, time.perf_counter() - started)


def register(app: typer.Typer) -> None:
    """Add the `load` command to the application."""

    @app.command("load")
    @user_errors
    def load_command(
        directory: Path = typer.Argument(..., help="Export directory (layout: docs/formats.md)."),
        encoding: str | None = typer.Option(
            None,
            help="Encoding of the Cegid CSV files (default: detect UTF-8 or Windows-1252).",
        ),
        batch_size: int | None = typer.Option(
            None, min=1, max=100_000, help="Rows per transaction (default AMIGO_LOAD_BATCH_SIZE)."
        ),
        workers: int | None = typer.Option(
            None,
            min=0,
            max=32,
            help="Processes loading different sources side by side (default AMIGO_LOAD_WORKERS).",
        ),
        resolve: bool = typer.Option(
            False,
            "--resolve",
            help="Resolve identities too: into an empty repository once the customers are in, "
            "before their orders, interactions and consents attach (the merges then move "
            "none of them); otherwise after the load.",
        ),
    ) -> None:
        """Load Cegid Y2, Shopify and web-form exports, phase by phase.

        Idempotent (a second run changes nothing) and resumable (an interrupted
        run continues where it stopped). Rejected rows are kept with their
        reason in the rejects table.
        """
        engine = get_engine()
        upgrade(engine)
        started = time.perf_counter()
        columns = (
            TextColumn("{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            resolve_first = _ResolveFirst(engine, progress) if resolve else None
            report = load_directory(
                engine=engine,
                directory=directory,
                batch_size=batch_size or get_settings().load.batch_size,
                workers=get_settings().load.workers if workers is None else workers,
                encoding=encoding,
                progress=FileBars(progress),
                before_attaching=resolve_first,
                before_attaching_indexes=INITIAL_LOAD_INDEXES,
            )
        if report.resumed:
            console.print("[yellow]Resumed an interrupted load of this directory.[/]")
        console.print(_summary(report, time.perf_counter() - started))
        console.print(
            f"Raw consent statements recorded (phase 4): {report.raw_consents:,}; "
            f"consent states changed: {report.consent_changes:,} "
            "(see one with amigo consent show <customer>)"
        )
        if resolve_first is None:
            _resolve_what_changed(engine, report)
        elif resolve_first.summary is not None:
            console.print("Identities resolved before the orders, interactions and consents:")
            print_resolve_summary(resolve_first.summary, resolve_first.seconds)
        elif report.ran_before_attaching:
            console.print(
                "Identities: nothing left to resolve (resolved by this load's interrupted "
                "run, or fewer than two customer records)."
            )
        else:
            _resolve_whole_repository(engine)
        if report.total.suppressed:
            console.print(
                f"{report.total.suppressed:,} rows were about erased people: not stored "
                "(their orders kept without them), as the suppression list requires."
            )
        rejected = report.total.rejected
        if rejected:
            console.print(
                f"{rejected:,} rows rejected: see them with "
                "[bold]amigo quality rejects[/] (kept with reason and raw payload)."
            )
