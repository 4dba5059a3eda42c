"""What every command shares: the console, the engine, and one-line errors."""

from __future__ import annotations

import errno
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from types import FrameType
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from amigo.core.config import get_settings
from amigo.core.db import make_engine
from amigo.core.errors import AmigoError, InvalidInputError
from amigo.core.migrate import current_revision, head_revision

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
error_console = Console(stderr=True)


def stop_on_signals(announce: str | None = None) -> threading.Event:
    """Return an event set by Ctrl-C or SIGTERM: a long command ends its current step, then sums up.

    ``announce``: what to print (on stderr) at the first signal, "stopping after the current file...".
    """
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        if announce is not None and not stop.is_set():
            error_console.print(announce)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def parse_since(value: str | None, option: str = "--since") -> datetime | None:
    """Return an option's date or time as an aware datetime (UTC when it names no zone)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"{option} {value!r} is not a date (2026-11-01) or a time (2026-11-01T08:00:00+01:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fail(message: str) -> typer.Exit:
    """Print a one-line reason on stderr and return the exit (code 2) to raise."""
    error_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn an AmigoError into a one-line message and exit code 2, never a traceback."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AmigoError as error:
            raise fail(error.message) from None
        except DBAPIError as error:
            if _disk_full(error):
                raise fail(_DISK_FULL.format(detail=str(error.orig).splitlines()[0])) from None
            if not _schema_missing(error):
                raise
            raise fail(
                "the database has no AMIgo schema, or an older one "
                f"({type(error.orig).__name__}): run `amigo db upgrade` first"
            ) from None
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            raise fail(
                f"the disk is full ({error}): free some space and run the command again"
            ) from None
        except KeyboardInterrupt:
            error_console.print("interrupted")
            sys.exit(130)

    return wrapper


_DISK_FULL = (
    "the disk is full ({detail}): what was being written was rolled back, nothing "
    "half-written is stored; free some space and run the command again"
)


def _disk_full(error: DBAPIError) -> bool:
    """Say whether a database error means the disk (or the database's size limit) is full."""
    # SQLite: SQLITE_FULL, "database or disk is full"; PostgreSQL: disk_full.
    return "database or disk is full" in str(error.orig) or (
        getattr(error.orig, "sqlstate", None) == "53100"
    )


def _schema_missing(error: DBAPIError) -> bool:
    """Say whether a database error means a table or column the schema should have is missing."""
    text = str(error.orig).lower()
    # SQLite: "no such table/column"; PostgreSQL: UndefinedTable, UndefinedColumn.
    return (
        "no such table" in text
        or "no such column" in text
        or (getattr(error.orig, "sqlstate", None) in ("42P01", "42703"))
    )


def require_current_schema(engine: Engine) -> None:
    """Refuse to go on unless the database is migrated to the newest schema (exit 2)."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise fail(
            f"the database is at schema revision {current or 'none'}, not {head}: "
            "run `amigo db upgrade` first"
        )


def counted_progress(label_width: int | None = None) -> Progress:
    """Return the progress display of a long job: label, bar, done of total, time taken."""
    label = "{task.description}" if label_width is None else f"{{task.description:<{label_width}}}"
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def get_engine() -> Engine:
    """Return an engine on the configured database (AMIGO_DATABASE_URL)."""
    settings = get_settings()
    return make_engine(settings.database.url, echo=settings.database.echo)
