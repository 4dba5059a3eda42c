"""Shopify backfill: customers and orders from a stand-in Admin API, fault-free and with faults.

    # SQLite: new files under bench-data/, 20,000 customers and their orders
    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/bench_shopify_backfill.py
    # the issue's proof: 100,000 customers
    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/bench_shopify_backfill.py \\
        --customers 100000
    # PostgreSQL: new databases on this server (dropped afterwards unless --keep)
    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/bench_shopify_backfill.py \\
        --postgres postgresql://postgres@127.0.0.1:5432/postgres

The stand-in Shopify (``tests/connectors/shopify_standin.py``) runs in its own
process on loopback, as Shopify is another machine: it generates the shop
from a seed (``--customers`` customers, 0 to 3 orders each) and answers the
GraphQL Admin API with Shopify's cursors and query costs. Its bucket never
runs dry, so that the figure is AMIgo's; the line "at Shopify's plans" says
what a real shop's restore rate would allow for the points these pages cost.

Two runs, each into a new empty database, through the same code as
``amigo connectors shopify backfill`` (the ``Backfill`` service):

- fault-free;
- with ``--faults`` of the calls failing (a quarter each: HTTP 429 with
  ``Retry-After``, 500/502/503, an answer slower than the client's timeout,
  a connection closed without an answer), drawn from a seed.

Printed for each: records (customers + orders) read, seconds, records per
second, calls, retries, throttled waits. Then the check: the two databases
hold the same source records (by content hash) and the same orders (id,
total, status, customer, line count), none missing, none twice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from shopify_stream import canonical_state, deliver, disorder, make_stream
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from amigo.connectors.resilience import RetryPolicy
from amigo.connectors.shopify.admin import AdminClient
from amigo.connectors.shopify.backfill import Backfill, BackfillReport
from amigo.core.config import PrivacySettings, Settings
from amigo.core.db import make_engine, normalize_url
from amigo.core.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "tests" / "connectors" / "shopify_standin.py"
SHOP = "amigo-standin.myshopify.com"
TOKEN = "shpat_standin_0123456789abcdef0123456789ab"  # noqa: S105 - the stand-in's own token
PLANS = {"Standard": 100, "Advanced": 200, "Plus": 1000, "Enterprise": 2000}  # points a second


def _start_standin(
    args: argparse.Namespace, faults: float
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start a stand-in process; return it and what it announced (URL, counts)."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(STANDIN),
            "--customers",
            str(args.customers),
            "--seed",
            str(args.seed),
            "--faults",
            str(faults),
            "--slow-seconds",
            str(args.timeout * 2),
            "--retry-after",
            "0.2",
            # A bucket that never runs dry: the figure is AMIgo's (the plans' bound is printed).
            "--bucket",
            "1e9",
            "--restore-rate",
            "1e9",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'tests'}"},
    )
    if process.stdout is None:  # pragma: no cover - stdout=PIPE gives one
        raise SystemExit("the stand-in has no output")
    announced: dict[str, Any] = json.loads(process.stdout.readline())
    return process, announced


def _database(args: argparse.Namespace, label: str) -> str:
    """Return the URL of a new empty database for one run."""
    if args.postgres:
        name = f"amigo_bench_backfill_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalize_url(args.postgres), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return make_url(normalize_url(args.postgres)).set(database=name).render_as_string(False)
    args.data.mkdir(parents=True, exist_ok=True)
    path = args.data / f"backfill-{label}-{uuid.uuid4().hex[:8]}.db"
    return f"sqlite:///{path}"


def _drop(args: argparse.Namespace, url: str) -> None:
    if args.keep:
        return
    if args.postgres:
        admin = create_engine(normalize_url(args.postgres), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = make_url(url).database
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        for path in Path(str(make_url(url).database)).parent.glob(
            Path(str(make_url(url).database)).name + "*"
        ):
            path.unlink()


def canonical_digest(engine: Engine) -> tuple[str, int, int]:
    """Return a digest of the source records and orders, and how many of each."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        records = connection.execute(
            text(
                "SELECT source_system, entity, source_id, payload_hash, status FROM source_record "
                "ORDER BY entity, source_id, payload_hash"
            )
        ).all()
        orders = connection.execute(
            text(
                "SELECT o.source_order_id, o.total_cents, o.currency, o.status, l.source_id, "
                "(SELECT count(*) FROM order_line x WHERE x.order_id = o.id) "
                "FROM customer_order o LEFT JOIN identity_link l ON l.id = o.customer_link_id "
                "ORDER BY o.source_order_id"
            )
        ).all()
    for row in (*records, *orders):
        digest.update(repr(tuple(row)).encode())
    distinct = len({row[0] for row in orders})
    if distinct != len(orders):
        raise SystemExit(f"{len(orders) - distinct} orders stored twice")
    return digest.hexdigest(), len(records), len(orders)


def _run(args: argparse.Namespace, label: str, faults: float) -> dict[str, Any]:
    process, announced = _start_standin(args, faults)
    url = _database(args, label)
    engine = make_engine(url)
    try:
        upgrade(engine)
        settings = Settings(
            privacy=PrivacySettings(
                export_dir=args.data / "exports",
                suppression_key=SecretStr("bench-suppression-key-0123456789abcdef"),
            )
        )
        client = AdminClient(
            SHOP,
            TOKEN,
            "2026-01",
            base_url=announced["url"],
            timeout_seconds=args.timeout,
            policy=RetryPolicy(attempts=6, base_seconds=0.1, max_seconds=2.0),
        )
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        with client:
            report: BackfillReport = Backfill(engine=engine, client=client, settings=settings).run()
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        digest, records, orders = canonical_digest(engine)
        streamed: dict[str, Any] | None = None
        if args.webhooks:
            stream = make_stream(args.customers, args.seed, args.webhooks)
            deliveries = stream if faults == 0 else disorder(stream, args.seed)
            streamed = deliver(engine, deliveries, args.data)
            streamed["state"] = canonical_state(engine)
    finally:
        engine.dispose()
        process.terminate()
        process.wait(timeout=30)
        _drop(args, url)
    read = report.records_read
    expected = announced["customers"] + announced["orders"]
    if read != expected:
        raise SystemExit(f"read {read} records, the shop holds {expected}")
    calls = report.calls
    return {
        "label": label,
        "faults": faults,
        "read": read,
        "seconds": seconds,
        "rate": read / seconds,
        "cpu": (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime),
        "calls": calls.calls,
        "retries": calls.retries,
        "throttled": calls.throttled,
        "throttle_wait": calls.throttle_wait_seconds,
        "points": calls.points,
        "digest": digest,
        "records": records,
        "orders": orders,
        "rejected": sum(s.stats.rejected for s in report.streams),
        "streamed": streamed,
        "announced": announced,
    }


def main(argv: list[str] | None = None) -> int:
    """Run both variants and compare their end states."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--faults", type=float, default=0.2, help="fraction of calls failing")
    parser.add_argument("--timeout", type=float, default=0.5, help="client timeout (s)")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (else SQLite)")
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--webhooks",
        type=int,
        default=0,
        help="then a stream of this many webhooks: in order once after the fault-free "
        "backfill, shuffled with repeats after the faulted one (benchmarks/shopify_stream.py)",
    )
    args = parser.parse_args(argv)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    results = [_run(args, "fault-free", 0.0), _run(args, "faults", args.faults)]
    shop = results[0]["announced"]
    print(
        f"Shopify backfill on {backend}: {shop['customers']:,} customers "
        f"({shop['rejected_customers']:,} unidentifiable) and {shop['orders']:,} orders"
    )
    for r in results:
        print(
            f"  {r['label']:<10} faults {r['faults']:.0%}: {r['read']:,} records in "
            f"{r['seconds']:.1f} s = {r['rate']:,.0f} records/s (CPU {r['cpu']:.1f} s); "
            f"{r['calls']:,} calls, {r['retries']:,} retried, {r['throttled']:,} throttled "
            f"({r['throttle_wait']:.1f} s), {r['points']:,.0f} points; stored "
            f"{r['records']:,} source records, {r['orders']:,} orders, {r['rejected']:,} rejected"
        )
    per_record = results[0]["points"] / results[0]["read"]
    bounds = ", ".join(f"{name} {rate / per_record:,.0f}" for name, rate in PLANS.items())
    print(f"  at Shopify's plans ({per_record:.1f} points a record): at most {bounds} records/s")
    same = results[0]["digest"] == results[1]["digest"]
    print(
        f"  end states {'identical' if same else 'DIFFERENT'}: "
        f"{results[0]['digest'][:16]} / {results[1]['digest'][:16]}"
    )
    if args.webhooks:
        for r in results:
            w = r["streamed"]
            answers = ", ".join(f"{n:,} {status}" for status, n in sorted(w["answers"].items()))
            order = "in order, once" if r["faults"] == 0 else "shuffled, with repeats"
            print(
                f"  then {w['sent']:,} webhooks {order}: answered {answers}; "
                f"{w['processed']:,} processed, {w['dead']:,} dead, in {w['seconds']:.1f} s; "
                f"{w['renamed']:,} profiles renamed, {w['stale']:,} older versions kept as stale"
            )
        streamed_same = results[0]["streamed"]["state"] == results[1]["streamed"]["state"]
        print(
            f"  states after the webhooks {'identical' if streamed_same else 'DIFFERENT'}: "
            f"{results[0]['streamed']['state'][:16]} / {results[1]['streamed']['state'][:16]}"
        )
        same = same and streamed_same
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
