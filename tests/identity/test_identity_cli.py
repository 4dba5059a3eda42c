"""`amigo identity` from the command line: resolve, review, merge history, unmerge, model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from amigo.core.db import make_engine
from amigo.ingest.service import load_directory


def _amigo(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AMIGO_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", "identity", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_resolve_review_history_and_unmerge_from_the_command_line(
    export_dir: Path, database_factory: Any
) -> None:
    url = database_factory.new_url()
    engine = make_engine(url)
    load_directory(engine=engine, directory=export_dir, batch_size=500)
    engine.dispose()

    resolved = _amigo(url, "resolve")
    assert resolved.returncode == 0, resolved.stderr
    assert "Resolution run 1 with model v1 (trained now)" in resolved.stdout
    merged = int(re.search(r"profiles merged into another\s*│\s*([\d,]+)", resolved.stdout)[1])  # type: ignore[index]
    assert merged > 50
    # Into a pipe (a log), each stage is a line as it starts, with the time so far.
    stages = re.findall(r"^\[\s*([\d.]+) s\] (\w+)", resolved.stdout, flags=re.MULTILINE)
    names = [name for _, name in stages]
    assert names.index("Scoring") < names.index("Clustering") < names.index("Writing")
    # The write's minutes after its audit entries have stages of their own, each drawn whole.
    assert names[names.index("Writing") :] == ["Writing", "Moving", "Re", "Review", "Done"]
    assert re.search(
        r"^Moving records, orders, interactions, consents .* 8/8 ", resolved.stdout, re.M
    )
    survivors = re.search(
        r"^Re-deriving the consents of ([\d,]+) survivors .* (\d+)/(\d+) ", resolved.stdout, re.M
    )
    assert survivors is not None
    assert survivors[1].replace(",", "") == survivors[2] == survivors[3]
    assert int(survivors[2]) > 40
    assert [float(t) for t, _ in stages] == sorted(float(t) for t, _ in stages)

    again = _amigo(url, "resolve")
    assert again.returncode == 0, again.stderr
    assert re.search(r"profiles merged into another\s*│\s*0 ", again.stdout)
    # Nothing to write is shown as nothing done, not as one step.
    assert re.search(r"^Writing 0 merges .* 0/0 ", again.stdout, flags=re.MULTILINE)

    evaluated = _amigo(url, "evaluate", "--truth", str(export_dir / "truth.csv"))
    assert evaluated.returncode == 0
    assert "pairs" in evaluated.stdout

    model = _amigo(url, "model")
    assert model.returncode == 0
    assert "same full name" in model.stdout
    assert "Match model v1 (active)" in model.stdout

    queue = _amigo(url, "review")
    assert queue.returncode == 0
    assert "Review queue" in queue.stdout
    first = re.search(r"│ (\d+)\s+│\s+[01]\.\d{3}", queue.stdout)
    assert first is not None
    shown = _amigo(url, "review", "show", first[1])
    assert shown.returncode == 0
    assert "e-mail" in shown.stdout
    assert "Not merged because" in shown.stdout

    history = _amigo(url, "history", "1")
    assert history.returncode == 0

    no_reason = _amigo(url, "review", "accept", first[1], "--reason", " ")
    unknown = _amigo(url, "unmerge", "999999", "--reason", "test")
    missing_review = _amigo(url, "review", "reject", "999999", "--reason", "test")
    for failed, message in (
        (no_reason, "give a reason"),
        (unknown, "no merge event 999999"),
        (missing_review, "no review item 999999"),
    ):
        assert failed.returncode == 2
        assert message in failed.stderr
        assert "Traceback" not in failed.stderr

    undone = _amigo(url, "unmerge", "1", "--reason", "two people after all")
    assert undone.returncode == 0, undone.stderr
    assert "Merge 1 undone" in undone.stdout
    again = _amigo(url, "unmerge", "1", "--reason", "twice")
    assert again.returncode == 2
    assert "already undone" in again.stderr
