"""Consent ledger: what it costs a load and a resolution, and how fast its hot paths answer.

    # Load then resolve N generated people as child processes (wall time, peak memory):
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_consent.py pipeline --customers 100000
    # On a loaded (and resolved) repository: the full projection check, and the
    # latency of record_consent (a click on a page, its own transaction) and may_contact:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_consent.py latency \\
        --database sqlite:///bench-data/consent.db --records 1000

Figures are printed as `name key=value ...` lines. To compare with the code
before the ledger, run `pipeline` with PYTHONPATH pointing at a worktree of
that commit (docs/BENCHMARKS.md gives the commands).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from amigo.consent.service import may_contact, rebuild_projection, record_consent
from amigo.core.db import make_engine, unit_of_work
from amigo.profiles.models import CustomerStatus, GoldenCustomer
from amigo.synth import generate


def _child(args: list[str], database_url: str) -> tuple[float, float]:
    """Run an amigo command as a child process; return its wall seconds and peak MiB."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        env={**os.environ, "AMIGO_DATABASE_URL": database_url},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return time.perf_counter() - started, peak


def pipeline(customers: int, seed: int, data: Path) -> None:
    """Generate, load and resolve; print each step's figures and the ledger's size."""
    export = data / f"export-{customers}-{seed}"
    if not (export / "truth.csv").exists():
        generate(customers=customers, seed=seed, out_dir=export)
    database = data / f"consent-{customers}.db"
    for leftover in data.glob(database.name + "*"):
        leftover.unlink()
    url = f"sqlite:///{database}"
    seconds, peak = _child(["load", str(export)], url)
    print(f"load customers={customers} seconds={seconds:.1f} peak_mib={peak:.0f}")
    seconds, peak = _child(["identity", "resolve"], url)
    print(f"resolve customers={customers} seconds={seconds:.1f} peak_mib={peak:.0f}")
    engine = make_engine(url)
    with engine.connect() as connection:
        for table in ("consent_event", "consent_state", "event_outbox"):
            count = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()  # noqa: S608
            print(f"rows table={table} count={count}")
    engine.dispose()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency(database: str, records: int) -> None:
    """Time the projection check, then record_consent and may_contact on random profiles."""
    engine = make_engine(database)
    with unit_of_work(engine) as session:
        started = time.perf_counter()
        summary = rebuild_projection(session=session, now=datetime.now(UTC), check_only=True)
        print(
            f"rebuild_check profiles={summary.profiles} states={summary.states} "
            f"differences={summary.differences} seconds={time.perf_counter() - started:.1f}"
        )
        active = session.scalar(
            select(func.count()).where(GoldenCustomer.status != CustomerStatus.MERGED)
        )
        ids = list(
            session.scalars(
                select(GoldenCustomer.id).where(GoldenCustomer.status != CustomerStatus.MERGED)
            )
        )
    chosen = random.Random(7).sample(ids, min(records, len(ids)))
    recorded, checked = [], []
    for customer_id in chosen:
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            record_consent(
                session=session,
                customer_id=customer_id,
                purpose="email_marketing",
                status="withdrawn",
                channel="unsubscribe_link",
                actor="person",
                now=datetime.now(UTC),
            )
        recorded.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            may_contact(session=session, customer_id=customer_id, purpose="sms_marketing")
        checked.append((time.perf_counter() - started) * 1000)
    for name, values in (("record_consent", recorded), ("may_contact", checked)):
        print(
            f"{name} profiles={active} calls={len(values)} "
            f"p50_ms={statistics.median(values):.2f} p95_ms={_percentile(values, 0.95):.2f} "
            f"p99_ms={_percentile(values, 0.99):.2f}"
        )
    engine.dispose()


def main() -> None:
    """Run the chosen benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pipeline")
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data", type=Path, default=Path("bench-data"))
    lat = commands.add_parser("latency")
    lat.add_argument("--database", required=True)
    lat.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    if args.command == "pipeline":
        args.data.mkdir(parents=True, exist_ok=True)
        pipeline(args.customers, args.seed, args.data)
    else:
        latency(args.database, args.records)


if __name__ == "__main__":
    main()
