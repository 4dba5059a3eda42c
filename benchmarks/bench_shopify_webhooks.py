"""Shopify webhook freshness: delivery sent to golden profile updated and event in the outbox.

    # SQLite: a new file under bench-data/, 2,000 generated customers loaded and resolved first
    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/bench_shopify_webhooks.py \\
        --rate 20 --duration 60
    # PostgreSQL: a new database on this server (dropped afterwards unless --keep)
    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/bench_shopify_webhooks.py \\
        --postgres postgresql://postgres@127.0.0.1:5432/postgres --rate 20 --duration 60

The app runs as `amigo serve` runs it (Uvicorn, ``--workers`` processes, each
with its webhook processor thread; access log off). The repository holds
``--customers`` generated customers, loaded and resolved (so a match model
exists and every customer webhook is resolved incrementally, as in
production). A separate sender process posts deliveries signed as Shopify
signs them at a steady rate, open loop (each at its instant, whatever the
answers): a quarter ``customers/create`` of new customers, half
``customers/update`` of those (a new first name, a later ``updated_at``), a
quarter ``orders/create`` for them; bodies in Shopify's shapes.

Freshness of a delivery: from the instant the sender sent it to the instant
its processing committed (profile or order written and its event in the
outbox, one transaction), seen by a watcher polling the inbox every 5 ms
(in this process: neither the sender's nor the server's). Printed: its
p50/p95/p99 over the ``--duration`` window (after ``--warmup``), the
server's own view (received to processed), the answer latency, CPU of the
app, and checks: every delivery processed once, one event each.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from amigo.core.crypto import new_key
from amigo.core.db import make_engine, normalize_url, unit_of_work
from amigo.core.migrate import upgrade
from amigo.events.models import OutboxEvent
from amigo.identity.service import resolve_repository
from amigo.ingest.service import load_directory
from amigo.synth import generate

SECRET = "shpss_benchmark-app-secret-0123456789"  # noqa: S105 - the benchmark's own app
SHOP = "amigo-bench.myshopify.com"
FIRST_NAMES = ("Camille", "Louis", "Chiara", "Yuki", "Hannah", "Mateo", "Inès", "Oliver")
LAST_NAMES = ("Moreau", "Rossi", "Tanaka", "Schmidt", "García", "Dubois", "Kim", "Walker")


# ---------------------------------------------------------------- the sender process


def _signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def _customer(customer_id: int, rng: random.Random, updated_at: datetime) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "id": customer_id,
        "email": f"{first.lower()}.{last.lower()}.{customer_id}@example.org",
        "created_at": "2026-11-01T10:00:00+01:00",
        "updated_at": updated_at.isoformat(),
        "first_name": first,
        "last_name": last,
        "state": "enabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": f"+336{rng.randrange(10**7, 10**8)}",
        "currency": "EUR",
        "tags": "",
        "addresses": [],
        "tax_exemptions": [],
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "default_address": {
            "customer_id": customer_id,
            "address1": f"{rng.randrange(1, 200)} rue de la Paix",
            "city": "Paris",
            "zip": "75002",
            "country_code": "FR",
            "default": True,
        },
        "email_marketing_consent": {
            "state": rng.choice(("subscribed", "not_subscribed")),
            "opt_in_level": "single_opt_in",
            "consent_updated_at": updated_at.isoformat(),
        },
        "sms_marketing_consent": None,
    }


def _order(order_id: int, customer: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": order_id,
        "name": f"#{order_id % 100000}",
        "email": customer["email"],
        "created_at": now.isoformat(),
        "processed_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "cancelled_at": None,
        "currency": "EUR",
        "total_price": "189.00",
        "total_discounts": "0.00",
        "financial_status": "paid",
        "fulfillment_status": None,
        "customer": {"id": customer["id"], "email": customer["email"]},
        "payment_gateway_names": ["shopify_payments"],
        "line_items": [
            {"id": order_id + 1, "sku": "AMI-SCARF-01", "title": "Scarf", "quantity": 1,
             "price": "189.00", "total_discount": "0.00"},
        ],
    }  # fmt: skip


async def _send(args: argparse.Namespace) -> list[dict[str, Any]]:
    rng = random.Random(args.seed)
    created: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []
    total = int(args.rate * (args.warmup + args.duration))
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def post(topic: str, body: dict[str, Any], measured: bool) -> None:
            raw = orjson.dumps(body)
            webhook_id = str(uuid.uuid4())
            entry = {"webhook_id": webhook_id, "topic": topic, "measured": measured}
            entry["sent"] = time.time()
            try:
                answer = await client.post(
                    f"{args.url}/v1/connectors/shopify/webhooks",
                    content=raw,
                    headers={
                        "Content-Type": "application/json",
                        "X-Shopify-Topic": topic,
                        "X-Shopify-Hmac-Sha256": _signature(raw),
                        "X-Shopify-Shop-Domain": SHOP,
                        "X-Shopify-API-Version": "2026-01",
                        "X-Shopify-Webhook-Id": webhook_id,
                        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
                        "X-Shopify-Event-Id": str(uuid.uuid4()),
                    },
                )
            except httpx.HTTPError as error:  # counted as refused: the check fails
                entry["answered"] = time.time()
                entry["status"] = type(error).__name__
                sent.append(entry)
                return
            entry["answered"] = time.time()
            entry["status"] = answer.status_code
            sent.append(entry)

        tasks = []
        start = args.start
        for n in range(total):
            at = start + n / args.rate
            await asyncio.sleep(max(0.0, at - time.time()))
            now = datetime.now(UTC)
            measured = n >= args.rate * args.warmup
            kind = n % 4
            if kind == 0 or not created:
                customer = _customer(args.first_id + n, rng, now)
                created.append(customer)
                tasks.append(asyncio.create_task(post("customers/create", customer, measured)))
            elif kind in (1, 2):
                # A customer created a second ago or more: its create has been processed.
                settled = created[-200 : -int(args.rate) or None] or created[:1]
                customer = dict(rng.choice(settled))
                customer["first_name"] = f"{rng.choice(FIRST_NAMES)}-{n}"
                customer["updated_at"] = now.isoformat()
                tasks.append(asyncio.create_task(post("customers/update", customer, measured)))
            else:
                settled = created[-200 : -int(args.rate) or None] or created[:1]
                order = _order(args.first_id + 10**9 + n, rng.choice(settled), now)
                tasks.append(asyncio.create_task(post("orders/create", order, measured)))
        await asyncio.gather(*tasks)
    return sent


def send(args: argparse.Namespace) -> int:
    """Run the sender process: post at the rate, write what was sent as JSON to ``--out``."""
    sent = asyncio.run(_send(args))
    Path(args.out).write_text(json.dumps(sent))
    return 0


# ---------------------------------------------------------------- the run


def _prepare(args: argparse.Namespace) -> tuple[str, str | None]:
    """Return the database URL, and the admin URL to drop it with (None: keep it)."""
    if args.postgres:
        admin = make_engine(args.postgres).execution_options(isolation_level="AUTOCOMMIT")
        name = f"amigo_bench_shopify_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(normalize_url(args.postgres)).set(database=name)
        return url.render_as_string(hide_password=False), None if args.keep else args.postgres
    args.data.mkdir(parents=True, exist_ok=True)
    database = args.data / f"shopify-webhooks-{args.customers}.db"
    for leftover in args.data.glob(database.name + "*"):
        leftover.unlink()
    return f"sqlite:///{database.resolve()}", None


def _seed(engine: Engine, args: argparse.Namespace) -> None:
    """Load and resolve generated customers: a repository with a match model."""
    if not args.customers:
        return
    export = args.data / f"export-{args.customers}-42"
    if not (export / "truth.csv").exists():
        generate(customers=args.customers, seed=42, out_dir=export)
    started = time.perf_counter()
    load_directory(engine=engine, directory=export)
    with unit_of_work(engine) as session:
        resolve_repository(session=session)
    print(f"seed customers={args.customers} load_and_resolve_s={time.perf_counter() - started:.1f}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(url: str, workers: int, port: int, workdir: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AMIGO_DATABASE_URL": url, "AMIGO_SHOPIFY_API_SECRET": SECRET}
    # What `amigo serve` runs (its processor thread included), without the access log.
    command = [sys.executable, "-m", "uvicorn", "amigo.api.app:create_default_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, cwd=workdir, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                time.sleep(1.0 * workers)
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
        if server.poll() is not None:
            break
    server.kill()
    raise RuntimeError("the app did not start")


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time of a process and its children (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        pending += [int(c) for c in children]
    return total


def _watch(engine: Engine, sender: subprocess.Popen[bytes]) -> dict[str, tuple[float, Any, Any]]:
    """Poll the inbox every 5 ms until the sender is done and nothing is pending.

    Returns webhook id -> (wall time first seen processed, received_at, processed_at).
    """
    seen: dict[str, tuple[float, Any, Any]] = {}
    low = 0  # every id below is seen processed (or was seen dead)
    quiet_since: float | None = None
    with engine.connect() as connection:
        while True:
            # Everything below the lowest id still pending now is done now, so the read
            # that follows (from the previous low) sees it: no delivery slips past.
            pending = connection.execute(
                text("SELECT min(id) FROM shopify_webhook WHERE status IN ('pending', 'failed')")
            ).scalar()
            connection.commit()
            rows = connection.execute(
                text(
                    "SELECT id, webhook_id, status, received_at, processed_at FROM shopify_webhook "
                    "WHERE id >= :low AND status IN ('processed', 'dead')"
                ),
                {"low": low},
            ).all()
            connection.commit()  # a new snapshot at the next poll
            now = time.time()
            for row in rows:
                if row.webhook_id not in seen:
                    seen[row.webhook_id] = (now, row.received_at, row.processed_at)
            if pending is not None:
                low = int(pending)
            elif rows:
                low = max(int(row.id) for row in rows) + 1
            if sender.poll() is not None and pending is None:
                quiet_since = quiet_since or now
                if now - quiet_since > 0.5:
                    return seen
            else:
                quiet_since = None
            time.sleep(0.005)


def _ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    """Prepare, serve, send, watch; print the figures and the checks."""
    # One key set for this process and the app's (embedded key files would differ by cwd).
    os.environ.setdefault("AMIGO_ENCRYPTION_KEY", f"k1:{new_key()}")
    os.environ.setdefault("AMIGO_ENCRYPTION_INDEX_KEY", new_key())
    os.environ.setdefault("AMIGO_PRIVACY_SUPPRESSION_KEY", new_key())
    url, drop_with = _prepare(args)
    engine = make_engine(url)
    print(f"database backend={engine.dialect.name}")
    try:
        upgrade(engine)
        _seed(engine, args)
        with tempfile.TemporaryDirectory() as workdir:
            port = _free_port()
            server = _serve(url, args.workers, port, workdir)
            try:
                cpu = _cpu_seconds(server.pid)
                start = time.time() + 1
                command = [sys.executable, __file__, "send", "--url", f"http://127.0.0.1:{port}"]
                command += ["--rate", str(args.rate), "--warmup", str(args.warmup)]
                command += ["--duration", str(args.duration), "--start", str(start)]
                command += ["--first-id", str(7 * 10**15 + random.randrange(10**12))]
                out = Path(workdir) / "sent.json"
                command += ["--seed", "7", "--out", str(out)]
                sender = subprocess.Popen(command)
                seen = _watch(engine, sender)
                if sender.returncode:
                    raise SystemExit(f"the sender failed (exit {sender.returncode})")
                sent = json.loads(out.read_text())
                app_cpu = _cpu_seconds(server.pid) - cpu
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        _report(args, engine, sent, seen, app_cpu)
    finally:
        engine.dispose()
        if drop_with:
            admin = make_engine(drop_with).execution_options(isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                database = make_url(url).database
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()
    return 0


def _report(
    args: argparse.Namespace,
    engine: Engine,
    sent: list[dict[str, Any]],
    seen: dict[str, tuple[float, Any, Any]],
    app_cpu: float,
) -> None:
    measured = [s for s in sent if s["measured"]]
    fresh = [seen[s["webhook_id"]][0] - s["sent"] for s in measured if s["webhook_id"] in seen]
    server = [
        (_as_utc(seen[s["webhook_id"]][2]) - _as_utc(seen[s["webhook_id"]][1])).total_seconds()
        for s in measured
        if s["webhook_id"] in seen and seen[s["webhook_id"]][2] is not None
    ]
    answers = [s["answered"] - s["sent"] for s in measured]
    print(
        f"config rate_per_s={args.rate} warmup_s={args.warmup} duration_s={args.duration} "
        f"workers={args.workers} seeded_customers={args.customers}"
    )
    print(
        f"freshness_ms (sent -> committed, seen) n={len(fresh)} p50={_ms(fresh, 0.5):.0f} "
        f"p95={_ms(fresh, 0.95):.0f} p99={_ms(fresh, 0.99):.0f} max={1000 * max(fresh):.0f}"
    )
    print(
        f"server_ms (received -> processed) p50={_ms(server, 0.5):.0f} "
        f"p95={_ms(server, 0.95):.0f} p99={_ms(server, 0.99):.0f}"
    )
    print(
        f"answer_ms p50={_ms(answers, 0.5):.1f} p95={_ms(answers, 0.95):.1f} "
        f"p99={_ms(answers, 0.99):.1f}"
    )
    for topic in ("customers/create", "customers/update", "orders/create"):
        values = [
            seen[s["webhook_id"]][0] - s["sent"]
            for s in measured
            if s["topic"] == topic and s["webhook_id"] in seen
        ]
        if values:
            print(
                f"  {topic:<18} n={len(values)} p50={_ms(values, 0.5):.0f} p95={_ms(values, 0.95):.0f}"
            )
    print(
        f"app_cpu_s={app_cpu:.1f} for {len(sent)} deliveries ({app_cpu / len(sent) * 1000:.1f} ms each)"
    )
    with engine.connect() as connection:
        statuses = dict(
            connection.execute(
                text("SELECT status, count(*) FROM shopify_webhook GROUP BY status")
            ).all()
        )
        events = dict(
            connection.execute(
                select(OutboxEvent.type, func.count())
                .where(OutboxEvent.data["cause"].as_string() == "shopify_webhook")
                .group_by(OutboxEvent.type)
            ).all()
        )
        outcomes = [str(o) for o in connection.scalars(text("SELECT outcome FROM shopify_webhook"))]
    # Two updates of one customer sent a few ms apart may be stored in the other order:
    # the older one is then kept raw as stale and announces nothing, as it should.
    stale = sum("stale_version" in o for o in outcomes)
    expected = {
        "customer.created": sum(bool(re.search(r": profile \S+ created", o)) for o in outcomes),
        "customer.updated": sum(" updated (" in o and o.startswith("customer") for o in outcomes),
        "order.created": sum(o.startswith("order") and ": created (" in o for o in outcomes),
    }
    refused = sum(s["status"] != 200 for s in sent)
    print(f"inbox {statuses} events {events} stale={stale} refused={refused}")
    accounted = sum(expected.values()) + stale == len(sent)
    ok = statuses == {"processed": len(sent)} and events == expected and accounted and not refused
    print(
        "check "
        + (
            "ok: every delivery processed once, one event each"
            if ok
            else f"MISMATCH expected {expected}"
        )
    )
    if not ok:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, or (``send``) its sender process."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["send"]:
        parser = argparse.ArgumentParser(prog="bench_shopify_webhooks.py send")
        parser.add_argument("--url", required=True)
        parser.add_argument("--rate", type=float, required=True)
        parser.add_argument("--warmup", type=float, required=True)
        parser.add_argument("--duration", type=float, required=True)
        parser.add_argument("--start", type=float, required=True)
        parser.add_argument("--first-id", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--out", required=True)
        return send(parser.parse_args(argv[1:]))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a new database on it")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument(
        "--data", type=Path, default=Path("bench-data"), help="SQLite file, exports"
    )
    parser.add_argument("--customers", type=int, default=2000, help="generated customers first")
    parser.add_argument("--rate", type=float, default=20, help="deliveries per second")
    parser.add_argument("--warmup", type=float, default=5, help="seconds sent before measuring")
    parser.add_argument("--duration", type=float, default=60, help="seconds measured")
    parser.add_argument("--workers", type=int, default=1, help="app processes (amigo serve's)")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
