"""Records per second of the Y2 web-services sync against the stand-in Y2.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cegid_sync.py \
        --receipts 10000 --customers 4000 [--database postgresql://...] [--faults 0.02] \
        [--latency 0.02] [--concurrency 4]

The stand-in (tests/connectors/cegid_standin.py) runs in its own process on
127.0.0.1 so that it does not share the sync's interpreter; the sync then
reads every day of the data set (one GetHeaderList page per 100 headers, one
GetByKey per receipt, one GetCustomerDetail per customer named) and writes
everything through the load's path, committing each page with its
checkpoint. Without --database a new SQLite file in a temporary directory is
used; a PostgreSQL URL must name an empty database (it is migrated here).
Printed: the calls made, the records written, seconds, records/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pydantic import SecretStr

from amigo.connectors.cegid.soap import Y2Client
from amigo.connectors.cegid.sync import run_sync
from amigo.core.config import CegidSettings, Settings
from amigo.core.db import make_engine
from amigo.core.migrate import upgrade
from connectors.cegid_standin import (
    DATABASE,
    PASSWORD,
    USER,
    Faults,
    StandinY2,
    add_stores,
    running,
    seed_data,
)

START = date(2025, 1, 1)


def _serve(
    pipe: Connection, *, customers: int, receipts: int, days: int, faults: float, latency: float
) -> None:
    """Run the stand-in until the pipe says stop; send its URL and call counts."""
    data = seed_data(customers=customers, receipts=receipts, start=START, days=days)
    kinds = ("http503", "server_fault", "drop")
    y2 = StandinY2(data, Faults(rate=faults, kinds=kinds, latency=latency))
    with running(y2) as url:
        pipe.send(url)
        pipe.recv()
        pipe.send((y2.calls.operations, y2.calls.faults))


def main() -> None:
    """Run one sync of the whole data set and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database", default=None)
    parser.add_argument("--faults", type=float, default=0.0, help="fraction of calls failing")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each answer takes")
    parser.add_argument("--concurrency", type=int, default=4, help="AMIGO_CEGID_CONCURRENCY")
    args = parser.parse_args()

    url_db = args.database or f"sqlite:///{tempfile.mkdtemp()}/bench-cegid.db"
    engine = make_engine(url_db)
    upgrade(engine)
    add_stores(engine)

    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=_serve,
        args=(theirs,),
        kwargs={
            "customers": args.customers,
            "receipts": args.receipts,
            "days": args.days,
            "faults": args.faults,
            "latency": args.latency,
        },
    )
    server.start()
    url = ours.recv()
    settings = Settings(
        cegid=CegidSettings(
            base_url=url,
            database_id=DATABASE,
            username=USER,
            password=SecretStr(PASSWORD),
            reconcile_hours=0,
            concurrency=args.concurrency,
        )
    )
    try:
        with Y2Client(
            base_url=url, database_id=DATABASE, username=USER, password=PASSWORD, timeout=10
        ) as client:
            started = time.perf_counter()
            report = run_sync(
                engine,
                client=client,
                settings=settings,
                since=START,
                until=START + timedelta(days=args.days - 1),
            )
            seconds = time.perf_counter() - started
    finally:
        ours.send("stop")
        operations, faults = ours.recv()
        server.join()
        engine.dispose()

    total = report.total
    records = total.inserted + total.updated + total.unchanged + total.rejected
    print(
        f"database: {engine.url.get_backend_name()}; latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency}, faults {args.faults:.0%}"
    )
    print(f"calls: {dict(sorted(operations.items()))}; faults injected: {faults}")
    print(
        f"receipts {report.receipts:,}, lines {report.lines:,}, payments {report.payments:,}, "
        f"customers {report.customers_fetched:,}; records {records:,} "
        f"(written {total.inserted + total.updated:,}, rejected {total.rejected:,}); "
        f"retries {report.retries}"
    )
    print(
        f"{seconds:.1f} s: {records / seconds:,.0f} records/s, "
        f"{report.receipts / seconds:,.0f} receipts/s, "
        f"{sum(operations.values()) / seconds:,.0f} calls/s"
    )


if __name__ == "__main__":
    main()
