"""A full disk is a one-line error with exit code 2, not a traceback, and nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from amigo.cli.common import user_errors


def _capped_sqlite(path: Path, pages: int) -> Engine:
    """A real SQLite database that may not grow past a number of pages: it reports SQLITE_FULL."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def cap(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]

    return engine


def test_a_database_that_fills_up_is_one_line_and_keeps_nothing_of_the_transaction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = _capped_sqlite(tmp_path / "full.db", pages=16)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE merge_audit (id INTEGER PRIMARY KEY, entry TEXT)"))

    @user_errors
    def write_merges() -> None:
        with engine.begin() as connection:
            for i in range(10_000):
                connection.execute(
                    text("INSERT INTO merge_audit (entry) VALUES (:e)"), {"e": "x" * 500 + str(i)}
                )

    with pytest.raises(typer.Exit) as stopped:
        write_merges()

    assert stopped.value.exit_code == 2
    message = capsys.readouterr().err
    assert "the disk is full (database or disk is full)" in message
    assert "rolled back" in message
    assert "run the command again" in message
    assert "Traceback" not in message
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM merge_audit")).scalar_one() == 0


def test_a_file_written_to_a_full_device_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")

    @user_errors
    def export() -> None:
        with open("/dev/full", "w", encoding="utf-8") as handle:
            handle.write("id,cluster,probability\n" * 10_000)

    with pytest.raises(typer.Exit) as stopped:
        export()

    assert stopped.value.exit_code == 2
    message = capsys.readouterr().err
    assert "the disk is full" in message
    assert "No space left on device" in message


def test_other_database_errors_still_surface(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'other.db'}")

    @user_errors
    def broken() -> None:
        with engine.begin() as connection:
            connection.execute(text("SELEC 1"))

    with pytest.raises(Exception, match="syntax error"):
        broken()
