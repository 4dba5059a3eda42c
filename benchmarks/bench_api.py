"""Client 360 latency under 50 concurrent clients, and API write to event on NATS.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_api.py client360 \
        --database sqlite:///bench-data/bench.db --clients 50 --rate 2 --duration 60
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_api.py client360 \
        --database postgresql://postgres@127.0.0.1:5432/amigo_bench --saturate
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_api.py write-to-nats \
        --database postgresql://postgres@127.0.0.1:5432/amigo_bench --writes 500

The database must be loaded already (benchmarks/bench_load.py, or `amigo
load`). `amigo serve` runs as its own process (``--workers`` Uvicorn workers);
the load comes from another process: ``--clients`` simulated store
associates, each opening one Client 360 of a random profile every 1/``--rate``
seconds (open loop: a late answer does not delay the next request, and a
request's latency counts from when it was due, so queueing shows), or with
``--saturate`` as fast as answers come back (closed loop: the throughput).

``write-to-nats`` runs `amigo events relay` on NATS JetStream, records
consents through ``POST /v1/customers/{id}/consents`` one after another, and
times each from the request's start to its ``consent.changed`` event arriving
at a NATS subscriber.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from amigo.api.oauth import create_client
from amigo.core.clock import utcnow
from amigo.core.db import make_engine, unit_of_work
from amigo.core.migrate import upgrade
from amigo.profiles.models import CustomerStatus, GoldenCustomer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def _served(database: str, workers: int, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `amigo serve` in its own process group until the block ends; yield its URL."""
    port = _free_port()
    env = {
        **os.environ,
        "AMIGO_DATABASE_URL": database,
        "AMIGO_API_TOKEN_KEY": secrets.token_urlsafe(32),
        "AMIGO_API_RATE_PER_SECOND": "1000000",  # the benchmark measures the API, not its limits
        "AMIGO_API_RATE_BURST": "1000000",
        **(extra_env or {}),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amigo.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("amigo serve did not become ready")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def _token(url: str, database: str, role: str) -> str:
    engine = make_engine(database)
    with unit_of_work(engine) as session:
        created = create_client(session=session, name=f"bench {role}", role=role, now=utcnow())
        client_id, secret = created.client.client_id, created.secret
    engine.dispose()
    answer = httpx.post(
        f"{url}/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _profile_ids(database: str, count: int) -> list[int]:
    engine = make_engine(database)
    with unit_of_work(engine) as session:
        top = session.scalar(select(GoldenCustomer.id).order_by(GoldenCustomer.id.desc()).limit(1))
        picked: list[int] = []
        rng = random.Random(42)
        while len(picked) < count and top:
            candidates = [rng.randint(1, top) for _ in range(count * 2)]
            picked += list(
                session.scalars(
                    select(GoldenCustomer.id).where(
                        GoldenCustomer.id.in_(candidates),
                        GoldenCustomer.status == CustomerStatus.ACTIVE,
                    )
                )
            )
    engine.dispose()
    return picked[:count]


@dataclass(frozen=True)
class LoadPlan:
    """What the load process does: who calls, how often, for how long."""

    url: str
    token: str
    ids: list[int]
    clients: int
    rate: float  # Client 360s per second per client; 0: closed loop
    duration: float
    warmup: float


async def _associates(plan: LoadPlan) -> dict[str, Any]:
    url, token, ids, clients = plan.url, plan.token, plan.ids, plan.clients
    rate, duration, warmup = plan.rate, plan.duration, plan.warmup
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    measured_from = started + warmup
    ends = measured_from + duration

    async def associate(number: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(number)
        due = started + rng.random() / rate if rate else started
        while True:
            if rate:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent = due if rate else time.perf_counter()
            if sent >= ends:
                return
            answer = await client.get(f"/v1/customers/{rng.choice(ids)}", headers=headers)
            done = time.perf_counter()
            if sent >= measured_from:
                latencies.append(done - sent)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            due += 1 / rate if rate else 0

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        await asyncio.gather(*(associate(n, client) for n in range(clients)))
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / duration,
        "p50_ms": 1000 * _percentile(latencies, 0.50),
        "p95_ms": 1000 * _percentile(latencies, 0.95),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "max_ms": 1000 * max(latencies),
        "statuses": statuses,
    }


def _load_process(plan: LoadPlan, queue: Any) -> None:
    queue.put(asyncio.run(_associates(plan)))


def client360(args: argparse.Namespace) -> int:
    """Time the Client 360 under concurrent associates; print one line of figures."""
    upgrade(make_engine(args.database))
    ids = _profile_ids(args.database, 5000)
    with _served(args.database, args.workers) as url:
        token = _token(url, args.database, "sales_associate")
        rate = 0.0 if args.saturate else args.rate
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        load = context.Process(
            target=_load_process,
            args=(LoadPlan(url, token, ids, args.clients, rate, args.duration, args.warmup), queue),
        )
        load.start()
        figures = queue.get()
        load.join()
    backend = args.database.split(":", 1)[0]
    mode = "saturate" if args.saturate else f"rate={args.rate}/s each"
    print(
        f"client360 backend={backend} clients={args.clients} {mode} workers={args.workers} "
        f"requests={figures['requests']} throughput={figures['per_second']:.0f}/s "
        f"p50_ms={figures['p50_ms']:.1f} p95_ms={figures['p95_ms']:.1f} "
        f"p99_ms={figures['p99_ms']:.1f} max_ms={figures['max_ms']:.1f} "
        f"statuses={json.dumps(figures['statuses'])}"
    )
    return 0


async def _time_writes(
    url: str, *, token: str, ids: list[int], writes: int, nats_url: str, subject: str
) -> list[float]:
    import nats  # noqa: PLC0415 - only this benchmark needs it

    arrivals: list[float] = []
    connection = await nats.connect(nats_url)

    async def on_message(_message: Any) -> None:
        arrivals.append(time.perf_counter())

    await connection.subscribe(subject, cb=on_message)
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for number in range(writes):
            # One write at a time, each the opposite of the current state: one event each.
            customer_id = ids[number % len(ids)]
            current = await client.get(f"/v1/customers/{customer_id}/consents", headers=headers)
            current.raise_for_status()
            allowed = any(
                state["purpose"] == "sms_marketing" and state["allows_contact"]
                for state in current.json()
            )
            await asyncio.sleep(0.05)  # nothing else in flight when the timed write starts
            seen = len(arrivals)
            started = time.perf_counter()
            answer = await client.post(
                f"/v1/customers/{customer_id}/consents",
                headers=headers,
                json={
                    "purpose": "sms_marketing",
                    "status": "withdrawn" if allowed else "granted",
                    "channel": "api",
                    "wording_version": "bench-2026-12",
                },
            )
            answer.raise_for_status()
            deadline = started + 10
            while len(arrivals) == seen and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            if len(arrivals) > seen:
                latencies.append(arrivals[seen] - started)
    await connection.close()
    return latencies


def write_to_nats(args: argparse.Namespace) -> int:
    """Time API write to event on NATS; print one line of figures."""
    upgrade(make_engine(args.database))
    stream = f"AMIGO_BENCH_{uuid.uuid4().hex[:8].upper()}"
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    bus = {
        "AMIGO_BUS_URL": args.nats,
        "AMIGO_EVENTS_STREAM": stream,
        "AMIGO_EVENTS_SUBJECT_PREFIX": prefix,
    }
    ids = _profile_ids(args.database, args.writes)
    relay = subprocess.Popen(
        [sys.executable, "-m", "amigo.cli", "events", "relay"],
        env={**os.environ, "AMIGO_DATABASE_URL": args.database, **bus},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(3)  # the relay drains what the outbox held before the benchmark
        with _served(args.database, args.workers, bus) as url:
            token = _token(url, args.database, "sales_associate")
            latencies = asyncio.run(
                _time_writes(
                    url,
                    token=token,
                    ids=ids,
                    writes=args.writes,
                    nats_url=args.nats,
                    subject=f"{prefix}.consent.changed",
                )
            )
    finally:
        os.killpg(relay.pid, 15)
        relay.wait(timeout=30)
    backend = args.database.split(":", 1)[0]
    print(
        f"write-to-nats backend={backend} writes={args.writes} arrived={len(latencies)} "
        f"p50_ms={1000 * statistics.median(latencies):.1f} "
        f"p95_ms={1000 * _percentile(latencies, 0.95):.1f} "
        f"p99_ms={1000 * _percentile(latencies, 0.99):.1f}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one of the API benchmarks."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    c360 = commands.add_parser("client360", help="Client 360 latency under concurrent clients")
    c360.add_argument("--database", required=True)
    c360.add_argument("--clients", type=int, default=50)
    c360.add_argument("--rate", type=float, default=2.0, help="Client 360s per second per client")
    c360.add_argument("--saturate", action="store_true", help="closed loop: no pause between calls")
    c360.add_argument("--duration", type=float, default=60.0)
    c360.add_argument("--warmup", type=float, default=5.0)
    c360.add_argument("--workers", type=int, default=2)
    c360.set_defaults(run=client360)
    nats_parser = commands.add_parser("write-to-nats", help="API write to event on NATS")
    nats_parser.add_argument("--database", required=True)
    nats_parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    nats_parser.add_argument("--writes", type=int, default=500)
    nats_parser.add_argument("--workers", type=int, default=1)
    nats_parser.set_defaults(run=write_to_nats)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
