"""`amigo consent` from the command line: history with proofs, recording, the projection check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from consent.exports import cegid_customer, submission, write_export


def _amigo(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        env={**os.environ, "AMIGO_DATABASE_URL": database_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_show_record_and_check_from_the_command_line(
    tmp_path: Path, fresh_database_url: str
) -> None:
    export = write_export(
        tmp_path / "export",
        cegid=[
            cegid_customer(
                "PAR01000009",
                "louis.marchal@example.org",
                "10/02/2025 09:30:00",
                OptinEmail="BrandOnly",
            )
        ],
        webforms=[
            submission(
                "wf-louis",
                "louis.marchal@example.org",
                "2025-04-01T10:00:00+02:00",
                sms_marketing=True,
            )
        ],
    )
    loaded = _amigo("load", str(export), database_url=fresh_database_url)
    recorded = _amigo(
        "consent", "record", "cegid:PAR01000009",
        "--purpose", "email_marketing", "--state", "withdrawn",
        "--actor", "associate:A12", "--store", "PAR01", "--wording", "store-2026-01",
        database_url=fresh_database_url,
    )  # fmt: skip
    shown = _amigo("consent", "show", "cegid:PAR01000009", database_url=fresh_database_url)
    checked = _amigo("consent", "rebuild", "--check", database_url=fresh_database_url)

    assert loaded.returncode == 0, loaded.stderr
    assert "consent states changed: 2" in loaded.stdout
    assert recorded.returncode == 0, recorded.stderr
    assert "effective state now withdrawn (may not contact)" in recorded.stdout
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    email_state = next(line for line in lines if line.startswith("│ email_marketing"))
    assert "withdrawn" in email_state
    assert " no " in email_state
    assert "Ledger (5 statements" in shown.stdout  # four Optin columns, then the associate's
    assert "cegid:PAR01000009" in shown.stdout
    assert "value: BrandOnly" in shown.stdout
    assert "(as of)" in shown.stdout
    assert "wording_version: store-2026-01" in shown.stdout
    assert "associate:A12" in shown.stdout
    assert checked.returncode == 0, checked.stderr
    assert "0 differ from the ledger" in checked.stdout


def test_bad_input_exits_2_with_one_line(tmp_path: Path, fresh_database_url: str) -> None:
    export = write_export(
        tmp_path / "export",
        cegid=[cegid_customer("PAR01000010", "nina.perrot@example.org", "10/02/2025 09:30:00")],
    )
    _amigo("load", str(export), database_url=fresh_database_url)

    for args, message in (
        (["consent", "show", "nobody@example.org"], "no customer matches"),
        (
            ["consent", "record", "cegid:PAR01000010", "--purpose", "spam", "--state", "granted",
             "--actor", "associate:A12"],
            "'spam' is not a consent purpose",
        ),
        (
            ["consent", "record", "cegid:PAR01000010", "--purpose", "sms_marketing", "--state",
             "never_asked", "--actor", "associate:A12"],
            "not a consent state a person can give",
        ),
    ):  # fmt: skip
        result = _amigo(*args, database_url=fresh_database_url)
        assert result.returncode == 2, result.stdout
        assert message in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
