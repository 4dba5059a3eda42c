"""The `amigo` command: help everywhere, real output, one-line errors with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from amigo.cli.main import app

runner = CliRunner()


def _all_command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            paths.append(prefix)
            return
        paths.append(prefix)
        for name, sub in subcommands.items():
            walk(sub, [*prefix, name])

    walk(get_command(app), [])
    return paths


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in ("db", "generate", "load", "quality", "customer"):
        assert command in result.output


@pytest.mark.parametrize("path", _all_command_paths(), ids=lambda p: " ".join(p) or "amigo")
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def _amigo(
    *args: str, database_url: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        env={**os.environ, "AMIGO_DATABASE_URL": database_url, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def test_generate_load_report_and_show_from_the_command_line(
    tmp_path: Path, fresh_database_url: str
) -> None:
    export = tmp_path / "export"

    generated = _amigo(
        "generate",
        "--customers",
        "120",
        "--seed",
        "3",
        "--out",
        str(export),
        database_url=fresh_database_url,
    )
    loaded = _amigo("load", str(export), "--resolve", database_url=fresh_database_url)
    # Into a filled repository, --resolve runs the batch resolution after the load.
    again = _amigo("load", str(export), "--resolve", database_url=fresh_database_url)
    report = _amigo("quality", "report", database_url=fresh_database_url)
    rejects = _amigo("quality", "rejects", "--limit", "3", database_url=fresh_database_url)
    first_customer = next(
        line.split(";")[0]
        for line in (export / "cegid" / "customers.csv")
        .read_text(encoding="utf-8")
        .splitlines()[1:]
        if line.split(";")[0]
    )
    shown = _amigo("customer", "show", f"cegid:{first_customer}", database_url=fresh_database_url)

    assert generated.returncode == 0, generated.stderr
    assert loaded.returncode == 0, loaded.stderr
    assert "cegid/customers.csv" in loaded.stdout
    assert "rejected" in loaded.stdout
    assert "Identities resolved before the orders, interactions and consents" in loaded.stdout
    assert "trained now" in loaded.stdout
    merged = _count_of("profiles merged into another", loaded.stdout)
    assert merged > 0
    assert again.returncode == 0, again.stderr
    assert "Resolution run 2 with model v1 (saved)" in again.stdout
    assert _count_of("profiles merged into another", again.stdout) == 0
    assert report.returncode == 0, report.stderr
    assert "completeness" in report.stdout
    assert "Rejected records by reason" in report.stdout
    assert rejects.returncode == 0, rejects.stderr
    assert shown.returncode == 0, shown.stderr
    assert f"cegid:{first_customer}" in shown.stdout
    assert "Source records" in shown.stdout


def _count_of(label: str, output: str) -> int:
    """Return the count a summary table shows on the row of that label."""
    row = next(line for line in output.splitlines() if label in line)
    return int(row.split(label)[1].strip(" │|").replace(",", ""))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["customer", "show", "nobody@example.org"], "no customer matches"),
        (["customer", "show", "???"], "neither an id"),
        (["load", "/definitely/not/here"], "does not exist"),
        (["generate", "--customers", "-5", "--out", "x"], "customers"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_exit_code_2(
    args: list[str], message: str, fresh_database_url: str, tmp_path: Path
) -> None:
    result = _amigo(*args, database_url=fresh_database_url, cwd=tmp_path)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_db_upgrade_is_safe_to_run_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    first = _amigo("db", "upgrade", database_url=url)
    second = _amigo("db", "upgrade", database_url=url)

    assert first.returncode == 0
    assert "upgraded from empty" in first.stdout
    assert second.returncode == 0
    assert "up to date" in second.stdout


_MODULES_AFTER = """
import sys
from amigo.cli.main import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(m for m in sys.modules if m.startswith("amigo."))))
"""


def _modules_imported_by(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", _MODULES_AFTER, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(result.stdout.split())


def test_a_command_imports_its_own_module_not_every_domain() -> None:
    # Each `amigo` call starts about 1.5 s sooner than when every command
    # module (every domain service, zeep, alembic) was imported first.
    assert not any(
        m.startswith("amigo.cli.") and m != "amigo.cli.main"
        for m in _modules_imported_by("--version")
    )

    db_help = _modules_imported_by("db", "--help")
    assert "amigo.cli.db" in db_help
    assert not {"amigo.cli.identity", "amigo.identity.service", "amigo.cli.connectors"} & db_help

    listed = _modules_imported_by("--help")
    assert {"amigo.cli.identity", "amigo.cli.connectors", "amigo.cli.load"} <= listed


def test_a_mistyped_command_is_still_suggested(tmp_path: Path) -> None:
    result = _amigo("identiy", "resolve", database_url=f"sqlite:///{tmp_path / 'x.db'}")

    assert result.returncode == 2
    assert "Did you mean 'identity'?" in result.stderr
