"""`amigo connectors cegid watch [FOLDER]`: load Y2's exports as they are dropped into a folder."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from amigo.cli.common import console, error_console, get_engine, stop_on_signals, user_errors
from amigo.cli.load import FileBars
from amigo.connectors.cegid.dropfolder import DropFolder, Dropped, FileOutcome
from amigo.connectors.cegid.dropfolder import watch as watch_folder
from amigo.core.config import get_settings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.core.migrate import upgrade
from amigo.identity.service import resolve_after_load
from amigo.ingest.service import FileStats


class _CurrentFile(FileBars):
    """Draw a bar for the file being loaded; it goes once the file's line is printed."""

    def file_finished(self, stats: FileStats) -> None:
        task = self.tasks.pop(stats.file, None)
        if task is not None:
            self.progress.remove_task(task)


def _line(outcome: FileOutcome, folder: Path) -> str:
    """Return the file's one line: name, rows and what became of them, time, where it went."""
    where = outcome.destination.relative_to(folder)
    if outcome.status == "failed":
        return (
            f"[red]{outcome.name}[/]: failed in {outcome.seconds:.1f} s -> {where}: {outcome.error}"
        )
    stats = outcome.stats or FileStats(file=outcome.name)  # an archived file has its counts
    rejected = f"[yellow]{stats.rejected:,} rejected[/]" if stats.rejected else "0 rejected"
    resumed = " (resumed)" if outcome.resumed else ""
    return (
        f"{outcome.name} ({outcome.kind}): {stats.read:,} rows, {outcome.written:,} written, "
        f"{stats.unchanged:,} unchanged, {rejected} in {outcome.seconds:.1f} s -> {where}{resumed}"
    )


@user_errors
def watch(
    folder: Path | None = typer.Argument(
        None, help="The drop folder (default AMIGO_CEGID_DROP_FOLDER)."
    ),
    once: bool = typer.Option(
        False, "--once", help="Load what is settled now, then exit (1 if a file failed)."
    ),
    settle: float | None = typer.Option(
        None,
        "--settle",
        min=0,
        help="Seconds a file must stay unchanged before it is taken "
        "(default AMIGO_CEGID_DROP_SETTLE_SECONDS).",
    ),
    poll: float | None = typer.Option(
        None,
        "--poll",
        min=0.1,
        help="Seconds between looks at the folder (default AMIGO_CEGID_DROP_POLL_SECONDS).",
    ),
) -> None:
    """Watch Y2's drop folder: load each complete export, then move it to archive/ or failed/.

    A file is taken once unchanged for the settle time (and with its done-marker
    if AMIGO_CEGID_DROP_REQUIRE_MARKER); it is renamed into processing/ before it
    is read. Ctrl-C or SIGTERM stops after the current file.
    """
    settings = get_settings()
    cegid = settings.cegid
    folder = folder or cegid.drop_folder
    if folder is None:
        raise InvalidInputError(
            "no drop folder: give FOLDER or set AMIGO_CEGID_DROP_FOLDER", code="missing_directory"
        )
    changes = {
        name: value
        for name, value in (("drop_settle_seconds", settle), ("drop_poll_seconds", poll))
        if value is not None
    }
    cegid = cegid.model_copy(update=changes)
    engine = get_engine()
    bars = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    drop = DropFolder(
        engine=engine,
        folder=folder,
        settings=cegid,
        privacy=settings.privacy,
        batch_size=settings.load.batch_size,
        workers=settings.load.workers,
        progress=_CurrentFile(bars),
    )
    upgrade(engine)
    stop = stop_on_signals("stopping after the current file...")
    marker = "required" if cegid.drop_require_marker else "not required"
    console.print(
        f"watching {drop.folder}{' once' if once else ''} (settle {cegid.drop_settle_seconds:g} s"
        f"{'' if once else f', poll {cegid.drop_poll_seconds:g} s'}, markers {marker})",
        highlight=False,
    )
    started = time.monotonic()

    def report(outcome: FileOutcome) -> None:
        console.print(_line(outcome, drop.folder), highlight=False, soft_wrap=True)
        if outcome.kind == "customers" and outcome.written and outcome.load_started_at:
            with unit_of_work(engine) as session:
                after = resolve_after_load(session=session, since=outcome.load_started_at)
            if after.outcome is not None:
                console.print(
                    f"  identity: {after.outcome.records:,} records resolved, "
                    f"{after.outcome.merges:,} merged, {after.outcome.queued:,} queued for review",
                    highlight=False,
                    soft_wrap=True,
                )
            elif after.changed:
                console.print(
                    f"  identity: {after.changed:,} new or changed customer records "
                    f"({after.skipped}): run `amigo identity resolve`",
                    highlight=False,
                    soft_wrap=True,
                )

    def retry_later(error: Exception) -> None:
        error_console.print(
            f"[yellow]pass failed[/] ({type(error).__name__}: {str(error).splitlines()[0]}); "
            f"trying again in {cegid.drop_poll_seconds:g} s",
            highlight=False,
        )

    told: set[tuple[str, str | None]] = set()

    def tell_waiting(waiting: list[Dropped]) -> None:
        for dropped in waiting:  # once per file and reason, not at every poll
            if (dropped.path.name, dropped.waiting_for) not in told and not once:
                told.add((dropped.path.name, dropped.waiting_for))
                what = "its done-marker" if dropped.waiting_for == "marker" else "it to settle"
                console.print(f"{dropped.path.name}: waiting for {what}", highlight=False)

    with bars:
        summary = watch_folder(
            drop,
            stop=stop,
            once=once,
            on_file=report,
            on_error=retry_later,
            on_waiting=tell_waiting,
        )
    waiting = ", ".join(f"{d.path.name} ({d.waiting_for})" for d in drop.waiting)
    console.print(
        f"{summary.archived:,} file{'' if summary.archived == 1 else 's'} archived "
        f"({summary.rows:,} rows), {summary.failed:,} failed "
        f"in {time.monotonic() - started:.1f} s"
        + (f"; still waiting: {waiting}" if waiting else ""),
        highlight=False,
    )
    if summary.failed:
        raise typer.Exit(code=1)
