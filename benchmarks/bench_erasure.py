"""Erasure: what screening against the suppression list costs a load, and how long an erasure takes.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_erasure.py --customers 20000 --erasures 20
    # only the erasures and the retention listing, on a copy of a resolved repository:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_erasure.py --resolved REPO.db --no-copy

Loads the same generated export into two new SQLite repositories, one with
nobody erased (no screening) and one whose suppression list already holds
1,000 people (every batch screened), as child processes; then resolves the
second and erases ``--erasures`` people in it, one request each, timing each
execution; then times a retention dry run and an anonymized copy of it.
Figures are printed as `name key=value ...` lines.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from amigo.core.config import PrivacySettings
from amigo.core.db import make_engine, unit_of_work
from amigo.core.migrate import upgrade
from amigo.privacy.models import SuppressionKind
from amigo.privacy.service import approve_request, create_request, execute_request, verify_identity
from amigo.privacy.suppression import add_to_list
from amigo.profiles.models import CustomerStatus, GoldenCustomer
from amigo.synth import generate

KEY = "bench-suppression-key"


def _child(args: list[str], database_url: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        check=True,
        env={
            "AMIGO_DATABASE_URL": database_url,
            "AMIGO_PRIVACY_SUPPRESSION_KEY": KEY,
            "OMP_NUM_THREADS": "1",
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "120",
        },
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _erase(database_url: str, count: int) -> list[float]:
    engine = make_engine(database_url)
    settings = PrivacySettings(suppression_key=SecretStr(KEY))
    with unit_of_work(engine) as session:
        ids = list(
            session.scalars(
                select(GoldenCustomer.id).where(GoldenCustomer.status == CustomerStatus.ACTIVE)
            )
        )
    chosen = random.Random(7).sample(ids, count)
    timings = []
    now = datetime.now(UTC)
    for customer in chosen:
        with unit_of_work(engine) as session:
            request = create_request(session=session, customer_id=customer, type="erasure",
                                     channel="email", actor="dpo", role="dpo", now=now)  # fmt: skip
            verify_identity(session=session, request_id=request.id, actor="dpo", role="dpo",
                            method="bench", now=now)  # fmt: skip
            approve_request(session=session, request_id=request.id, actor="dpo", role="dpo",
                            now=now, settings=settings)  # fmt: skip
            if request.status.value != "approved":  # a recent order: a second approver
                approve_request(session=session, request_id=request.id, actor="dpo2",
                                role="admin", now=now, settings=settings)  # fmt: skip
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            execute_request(session=session, request_id=request.id, actor="dpo", role="dpo",
                            now=now, settings=settings)  # fmt: skip
        timings.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return timings


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--erasures", type=int, default=20)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument(
        "--resolved",
        type=Path,
        default=None,
        help="A resolved SQLite repository to erase people in (a copy of it): no loads.",
    )
    parser.add_argument("--no-copy", action="store_true", help="Skip the anonymized copy.")
    args = parser.parse_args()
    if args.resolved is not None:
        work = args.work or Path(tempfile.mkdtemp(prefix="bench-erasure-"))
        work.mkdir(parents=True, exist_ok=True)
        target = work / "erased.db"
        shutil.copyfile(args.resolved, target)
        _measure(f"sqlite:///{target}", work, args.erasures, copy=not args.no_copy)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-erasure-"))
    export = work / f"export-{args.customers}"
    if not export.exists():
        generate(customers=args.customers, seed=42, out_dir=export)
    plain, screened = (f"sqlite:///{work / name}.db" for name in ("plain", "screened"))
    for url in (plain, screened):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    engine = make_engine(screened)
    upgrade(engine)
    rng = random.Random(1)
    with engine.begin() as connection:
        fake = [
            (SuppressionKind.EMAIL, f"erased-{rng.getrandbits(64):x}@example.org")
            for _ in range(1000)
        ]
        add_to_list(
            connection, secret=KEY, identifiers=fake, request_id=None, now=datetime.now(UTC)
        )
    engine.dispose()
    load_plain = _child(["load", str(export)], plain)
    load_screened = _child(["load", str(export)], screened)
    print(
        f"load customers={args.customers} nobody_erased_s={load_plain:.1f} "
        f"screened_s={load_screened:.1f} ratio={load_screened / load_plain:.3f}"
    )
    _child(["identity", "resolve"], screened)
    _measure(screened, work, args.erasures, copy=not args.no_copy)


def _measure(database_url: str, work: Path, erasures: int, *, copy: bool) -> None:
    """Erase people one request at a time, then time a retention dry run and a copy."""
    timings = _erase(database_url, erasures)
    quantiles = statistics.quantiles(timings, n=20)
    print(
        f"erasure count={len(timings)} median_ms={statistics.median(timings):.0f} "
        f"p95_ms={quantiles[18]:.0f} max_ms={max(timings):.0f}"
    )
    listing = _child(["privacy", "retention", "--show", "0"], database_url)
    print(f"retention dry_run_s={listing:.1f}")
    if copy:
        target = work / "copy.db"
        target.unlink(missing_ok=True)
        copying = _child(
            ["privacy", "anonymized-copy", "--to", f"sqlite:///{target}"], database_url
        )
        print(f"anonymized_copy seconds={copying:.1f} size_mib={target.stat().st_size / 2**20:.0f}")


if __name__ == "__main__":
    main()
