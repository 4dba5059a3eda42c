"""`amigo privacy request ...` from the command line: the lifecycle, its files, its refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from consent.exports import cegid_customer, write_export


def _amigo(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        env={**os.environ, "AMIGO_DATABASE_URL": database_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_an_access_request_from_receipt_to_closure(tmp_path: Path, fresh_database_url: str) -> None:
    export = write_export(
        tmp_path / "export",
        cegid=[
            cegid_customer(
                "PAR01000020",
                "paul.ferrand@example.org",
                "10/02/2025 09:30:00",
                OptinEmail="BrandOnly",
            )
        ],
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _amigo(*args, database_url=fresh_database_url, cwd=tmp_path)

    assert run("load", str(export)).returncode == 0
    dpo = ("--actor", "dpo@amigo.test")

    created = run("privacy", "request", "create", "cegid:PAR01000020", "--type", "access",
                  "--channel", "letter", "--details", "Tout ce que vous avez sur moi", *dpo)  # fmt: skip
    duplicate = run(
        "privacy", "request", "create", "paul.ferrand@example.org", "--type", "access", *dpo
    )
    wrong_role = run(
        "privacy",
        "request",
        "verify",
        "DSR-1",
        "--method",
        "ID",
        "--actor",
        "m",
        "--role",
        "marketer",
    )
    steps = [
        run("privacy", "request", "verify", "DSR-1", "--method", "ID card seen in store", *dpo),
        run("privacy", "request", "approve", "1", *dpo),
        run("privacy", "request", "execute", "DSR-1", "--out", str(tmp_path / "answers"), *dpo),
        run("privacy", "request", "close", "DSR-1", "--note", "sent by post", *dpo),
    ]
    shown = run("privacy", "request", "show", "DSR-1")
    listed = run("privacy", "request", "list")

    assert created.returncode == 0, created.stderr
    assert "DSR-1 access · received" in created.stdout
    assert duplicate.returncode == 2
    assert "already has an open access request: DSR-1" in duplicate.stderr
    assert wrong_role.returncode == 2
    assert "the marketer role may not verify" in wrong_role.stderr
    for step in steps:
        assert step.returncode == 0, step.stderr
    assert "DSR-1-access.json" in steps[2].stdout
    report = json.loads((tmp_path / "answers" / "DSR-1-access.json").read_text("utf-8"))
    assert report["profile"]["email"] == "paul.ferrand@example.org"
    assert (tmp_path / "answers" / "DSR-1-access.html").exists()
    assert "closed" in shown.stdout
    assert "ID card seen in store" in shown.stdout
    assert "Tout ce que vous avez sur moi" in shown.stdout
    assert "DSR-1" in listed.stdout


def test_retention_is_a_dry_run_unless_applied(tmp_path: Path, fresh_database_url: str) -> None:
    old = cegid_customer("PAR01000030", "old.prospect@example.org", "10/02/2019 09:30:00")
    old.update(CreationDate="10/02/2019 09:30:00")
    recent = cegid_customer("PAR01000031", "new.prospect@example.org", "10/02/2026 09:30:00")
    export = write_export(tmp_path / "export", cegid=[old, recent])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _amigo(*args, database_url=fresh_database_url, cwd=tmp_path)

    assert run("load", str(export)).returncode == 0
    dry = run("privacy", "retention")
    again = run("privacy", "retention")
    applied = run("privacy", "retention", "--apply")
    after = run("privacy", "retention")
    bad = run("privacy", "retention", "--years", "-1")
    gone = run("customer", "show", "old.prospect@example.org")
    kept = run("customer", "show", "new.prospect@example.org")

    assert dry.returncode == 0, dry.stderr
    assert "1 profiles past 3 years" in dry.stdout
    assert "1 prospects, 0 customers" in dry.stdout
    assert "Dry run: nothing changed" in dry.stdout
    assert again.stdout.splitlines()[0] == dry.stdout.splitlines()[0]
    assert applied.returncode == 0, applied.stderr
    assert "1 profiles anonymized" in applied.stdout
    assert "0 profiles past 3 years" in after.stdout
    assert bad.returncode == 2
    assert "years" in bad.stderr
    assert gone.returncode == 2
    assert kept.returncode == 0
