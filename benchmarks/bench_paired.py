"""Paired before/after runs of `amigo load` and `amigo identity resolve` on the same export.

Another checkout's sources are the "before" (say the commit before a change);
this repository's are the "after". Rounds alternate the two, each into a new
SQLite database, and the figures are CPU seconds (user + sys, the load's
worker processes included) beside wall seconds: on a shared machine wall time
moves with the neighbours, CPU time much less.

    git worktree add /tmp/before a99fb5a
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_paired.py \\
        --before /tmp/before/src --customers 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AFTER = Path(__file__).resolve().parents[1] / "src"


def _run(args: list[str], *, src: Path, cwd: Path) -> tuple[float, float]:
    """Run an amigo command on the given sources; return its wall and CPU seconds."""
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "AMIGO_DATABASE_URL": f"sqlite:///{cwd / 'amigo.db'}",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        env=env,
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def print_medians(
    figures: dict[tuple[str, str], list[tuple[float, float]]], steps: tuple[str, ...]
) -> None:
    """Print each step's median CPU and wall time, before and after, and their ratios."""
    for step in steps:
        cpu_before = statistics.median(c for _, c in figures[(step, "before")])
        cpu_after = statistics.median(c for _, c in figures[(step, "after")])
        wall_before = statistics.median(w for w, _ in figures[(step, "before")])
        wall_after = statistics.median(w for w, _ in figures[(step, "after")])
        print(
            f"{step:11} cpu {cpu_before:7.1f} -> {cpu_after:7.1f} s (x{cpu_after / cpu_before:.3f})"
            f"   wall {wall_before:7.1f} -> {wall_after:7.1f} s (x{wall_after / wall_before:.3f})"
        )


def main() -> None:
    """Generate one export, then alternate before and after; print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout's src/")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amigo-paired-"))
    try:
        export = work / "export"
        _run(
            ["generate", "--customers", str(options.customers), "--seed", "42", "--out",
             str(export), "--force"],
            src=AFTER, cwd=work,
        )  # fmt: skip
        figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for round_number in range(1, options.rounds + 1):
            for side, src in (("before", options.before.resolve()), ("after", AFTER)):
                cwd = work / side
                shutil.rmtree(cwd, ignore_errors=True)
                cwd.mkdir()
                _run(["db", "upgrade"], src=src, cwd=cwd)
                for step, args in (
                    ("load", ["load", str(export)]),
                    ("resolve", ["identity", "resolve"]),
                ):
                    wall, cpu = _run(args, src=src, cwd=cwd)
                    figures.setdefault((step, side), []).append((wall, cpu))
                    print(f"round {round_number} {side:6} {step:7} wall {wall:7.1f} s  "
                          f"cpu {cpu:7.1f} s", flush=True)  # fmt: skip
        print(f"\nmedians of {options.rounds} rounds, {options.customers:,} people:")
        print_medians(figures, ("load", "resolve"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
