"""Generate the seed volume and time `amigo load` on SQLite (and PostgreSQL with --postgres).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_load.py --customers 1200000
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_load.py --customers 1200000 \
        --postgres postgresql://postgres@127.0.0.1:5432/postgres

Each load runs as its own `amigo load` process into a new, empty database;
the figures are its wall time and peak resident memory (getrusage of the child).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from amigo.core.db import normalize_url
from amigo.synth import generate

TABLES = (
    "golden_customer",
    "source_record",
    "customer_order",
    "order_line",
    "payment",
    "interaction",
    "raw_consent",
    "product",
    "reject",
)


def _load(directory: Path, database_url: str) -> tuple[float, float]:
    """Run `amigo load` in a child process; return (elapsed seconds, peak RSS MiB)."""
    env = {**os.environ, "AMIGO_DATABASE_URL": database_url, "COLUMNS": "120"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "amigo.cli", "load", str(directory)], env=env, check=True)
    elapsed = time.perf_counter() - started
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return elapsed, peak / 1024  # kilobytes on Linux


def _counts(database_url: str) -> dict[str, int]:
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as connection:
        counts = {t: int(connection.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in TABLES}  # noqa: S608
    engine.dispose()
    return counts


def _sqlite(target: Path, database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database.resolve()}"
    elapsed, peak = _load(target, url)
    size = database.stat().st_size / 2**30
    print(f"sqlite load elapsed_s={elapsed:.1f} peak_rss_mib={peak:.0f} db_gib={size:.2f}")
    print("sqlite rows", _counts(url))
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def main(argv: list[str] | None = None) -> int:
    """Generate (unless the directory exists) and load; print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=Path("bench-data"), help="export directory")
    parser.add_argument("--sqlite", type=Path, default=Path("bench-data/bench.db"))
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to also load into")
    parser.add_argument("--skip-sqlite", action="store_true", help="only the PostgreSQL load")
    args = parser.parse_args(argv)

    target = args.data / f"export-{args.customers}-{args.seed}"
    if not (target / "truth.csv").exists():
        started = time.perf_counter()
        generate(customers=args.customers, seed=args.seed, out_dir=target)
        print(f"generate customers={args.customers} elapsed_s={time.perf_counter() - started:.1f}")

    if not args.skip_sqlite:
        _sqlite(target, args.sqlite)

    if args.postgres:
        admin = create_engine(normalize_url(args.postgres), isolation_level="AUTOCOMMIT")
        name = f"amigo_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        pg_url = make_url(normalize_url(args.postgres)).set(database=name).render_as_string(False)
        try:
            elapsed, peak = _load(target, pg_url)
            print(f"postgresql load elapsed_s={elapsed:.1f} peak_rss_mib={peak:.0f}")
            print("postgresql rows", _counts(pg_url))
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
