"""Sustained `/v1/batch` ingest: a served app, load from separate processes, nothing lost.

    # PostgreSQL: a new database on this server, 20,000 generated customers loaded first
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_tracking.py \\
        --postgres postgresql://postgres@127.0.0.1:5432/postgres --workers 2 --concurrency 8
    # SQLite: a new file under bench-data/
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_tracking.py --workers 2 --concurrency 8
    # An already loaded repository (nothing is loaded into it; a new source is created):
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_tracking.py --database URL

The app runs as its own Uvicorn process (``--workers`` processes, access log
off, rate limit lifted), as `amigo serve` runs it. ``--load-processes``
processes each run ``--concurrency`` asyncio senders (httpx) that post
batches of 100 realistic messages for ``--warmup`` then ``--duration``
seconds: identify, track and page mixed; userIds that are customers'
``cegid:``/``shopify:`` ids, AMI- ids or unknown shop ids; emails of known and
unknown people in the traits; anonymous ids per device; a third of the bodies
gzipped; 1 % of batches resent (a retrying SDK) and 1 in 200 messages invalid
(stored as rejected). Printed: events/s (new events acknowledged in the
measured window / its wall time), request latency p50/p95/p99, and the rows
in the database afterwards, checked against what was acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from amigo.core.config import get_settings
from amigo.core.db import make_engine, normalize_url, unit_of_work
from amigo.core.migrate import upgrade
from amigo.events.models import OutboxEvent
from amigo.identity.models import IdentityLink
from amigo.ingest.service import load_directory
from amigo.profiles.models import GoldenCustomer, Interaction
from amigo.synth import generate
from amigo.tracking.models import TrackingMessage
from amigo.tracking.service import create_source

BATCH = 100
EVENTS = ("Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed")
PATHS = ("/", "/femme/robes", "/homme/chemises", "/p/SKU-{n}", "/panier", "/magasins")
AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


# ---------------------------------------------------------------- the repository


def _prepare(args: argparse.Namespace) -> tuple[str, str | None]:
    """Return the database URL to use, and the admin URL to drop it with (None: keep it)."""
    if args.database:
        return normalize_url(args.database), None
    if args.postgres:
        admin = make_engine(args.postgres).execution_options(isolation_level="AUTOCOMMIT")
        name = f"amigo_bench_tracking_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(normalize_url(args.postgres)).set(database=name)
        return url.render_as_string(hide_password=False), None if args.keep else args.postgres
    database = args.data / f"tracking-{args.customers}.db"
    for leftover in args.data.glob(database.name + "*"):
        leftover.unlink()
    args.data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{database.resolve()}", None


def _load_customers(engine: Engine, customers: int, data: Path) -> None:
    with engine.connect() as connection:
        present = connection.scalar(select(func.count()).select_from(GoldenCustomer))
    if not customers or present:
        print(f"customers present={present}")
        return
    export = data / f"export-{customers}-42"
    if not (export / "truth.csv").exists():
        generate(customers=customers, seed=42, out_dir=export)
    started = time.perf_counter()
    load_directory(engine=engine, directory=export)
    print(f"load customers={customers} seconds={time.perf_counter() - started:.1f}")


def _people(engine: Engine, limit: int = 5000) -> list[dict[str, str | None]]:
    """Return known people as a sender knows them: source ids, AMI- ids and emails."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                IdentityLink.source_system,
                IdentityLink.source_id,
                GoldenCustomer.external_id,
                GoldenCustomer.email,
            )
            .join(GoldenCustomer, GoldenCustomer.id == IdentityLink.customer_id)
            .order_by(IdentityLink.id)
            .limit(limit)
        ).all()
    return [
        {"source": f"{r[0]}:{r[1]}", "external": r[2], "email": r[3]}
        for r in rows
        if r[0] in {"cegid", "shopify"}
    ]


# ---------------------------------------------------------------- what senders send


@dataclass
class _Device:
    anonymous_id: str
    user_id: str | None
    email: str | None


def _devices(people: list[dict[str, str | None]], rng: random.Random, count: int) -> list[_Device]:
    """Return devices: half anonymous, a quarter of known people, a quarter of unknown ones."""
    devices = []
    for n in range(count):
        anonymous = str(uuid.UUID(int=rng.getrandbits(128)))
        roll = rng.random()
        if roll < 0.5 or not people:
            devices.append(_Device(anonymous, None, None))
        elif roll < 0.75:
            person = rng.choice(people)
            user_id = person["source"] if rng.random() < 0.6 else person["external"]
            devices.append(_Device(anonymous, user_id, person["email"]))
        else:
            devices.append(_Device(anonymous, f"shop-{rng.getrandbits(40)}", f"new{n}@example.net"))
    return devices


def _message(device: _Device, rng: random.Random, now: datetime) -> dict[str, Any]:
    kind = rng.choices(("track", "page", "identify"), weights=(55, 35, 10))[0]
    path = rng.choice(PATHS).format(n=rng.randrange(1, 45_000))
    message: dict[str, Any] = {
        "type": kind,
        "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
        "anonymousId": device.anonymous_id,
        "timestamp": (now - timedelta(milliseconds=rng.randrange(5000))).isoformat(),
        "context": {
            "library": {"name": "analytics.js", "version": "next-1.72.0"},
            "page": {"path": path, "url": f"https://shop.example.fr{path}", "referrer": ""},
            "userAgent": AGENT,
            "ip": f"198.51.100.{rng.randrange(1, 255)}",
            "locale": "fr-FR",
        },
    }
    if rng.random() < 0.1:
        message["context"]["campaign"] = {"name": "noel-2026", "source": "newsletter"}
    if device.user_id is not None and (kind == "identify" or rng.random() < 0.7):
        message["userId"] = device.user_id
    if kind == "track":
        message["event"] = rng.choice(EVENTS)
        message["properties"] = {
            "sku": f"SKU-{rng.randrange(1, 45_000)}",
            "price": round(rng.uniform(5, 300), 2),
            "currency": "EUR",
            "quantity": rng.randrange(1, 4),
        }
        if rng.random() < 0.005:
            del message["event"]  # stored as rejected: missing_event
    elif kind == "page":
        message["name"] = path
        message["properties"] = {"path": path, "title": "AMIgo boutique"}
    else:
        message["traits"] = {"email": device.email} if device.email else {"locale": "fr-FR"}
        if device.email is None:
            message.setdefault("userId", f"guest-{rng.getrandbits(32)}")
    return message


@dataclass
class _Stats:
    """What one load process saw."""

    new_events: int = 0  # acknowledged messages of first sends, whole run
    window_events: int = 0  # the same, completed inside the measured window
    window_requests: int = 0
    resent_events: int = 0
    invalid_events: int = 0  # acknowledged messages sent invalid on purpose
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


async def _sender(
    client: httpx.AsyncClient,
    rng: random.Random,
    devices: list[_Device],
    stats: _Stats,
    *,
    window: tuple[float, float],
) -> None:
    previous: tuple[bytes, dict[str, str]] | None = None
    while time.time() < window[1]:
        resend = previous is not None and rng.random() < 0.01
        if resend and previous is not None:
            body, headers = previous
            count, invalid = BATCH, 0
        else:
            now = datetime.now(UTC)
            batch = [_message(rng.choice(devices), rng, now) for _ in range(BATCH)]
            invalid = sum(1 for m in batch if m["type"] == "track" and "event" not in m)
            body = orjson.dumps({"batch": batch, "sentAt": now.isoformat()})
            headers = {"Content-Type": "application/json"}
            if rng.random() < 1 / 3:
                body = gzip.compress(body, compresslevel=1)
                headers["Content-Encoding"] = "gzip"
            count = BATCH
        started = time.time()
        try:
            response = await client.post("/v1/batch", content=body, headers=headers)
            status = str(response.status_code)
        except httpx.HTTPError as error:
            status = type(error).__name__
        ended = time.time()
        if status != "200":
            stats.errors[status] = stats.errors.get(status, 0) + 1
            continue
        previous = (body, headers)
        if resend:
            stats.resent_events += count
            continue
        stats.new_events += count
        stats.invalid_events += invalid
        if window[0] <= started and ended <= window[1]:
            stats.window_events += count
            stats.window_requests += 1
            stats.latencies_ms.append((ended - started) * 1000)


async def _drive(args: argparse.Namespace) -> _Stats:
    rng = random.Random(args.seed)
    people = json.loads(Path(args.people).read_text())
    devices = _devices(people, rng, 20_000)
    stats = _Stats()
    key = base64.b64encode(f"{args.key}:".encode()).decode()
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=args.url, headers={"Authorization": f"Basic {key}"}, limits=limits, timeout=60
    ) as client:
        await asyncio.sleep(max(0.0, args.start - time.time()))
        window = (args.start + args.warmup, args.start + args.warmup + args.duration)
        await asyncio.gather(
            *(
                _sender(client, random.Random(rng.random()), devices, stats, window=window)
                for _ in range(args.concurrency)
            )
        )
    return stats


def drive(args: argparse.Namespace) -> int:
    """Run one load process and print its figures as JSON (the parent aggregates them)."""
    cpu = time.process_time()
    stats = asyncio.run(_drive(args))
    result = stats.__dict__ | {"cpu_s": time.process_time() - cpu}
    sys.stdout.write(json.dumps(result))
    return 0


# ---------------------------------------------------------------- the run


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _key_files() -> dict[str, str]:
    """Return the settings that point the app at this process's key files (embedded mode).

    The app runs in a directory of its own: without them it would make keys of its
    own there, and could not read what the migration sealed (nor this process what
    the app sealed).
    """
    settings = get_settings()
    files = {
        "AMIGO_ENCRYPTION_KEY_FILE": settings.encryption.key_file,
        "AMIGO_ENCRYPTION_INDEX_KEY_FILE": settings.encryption.index_key_file,
        "AMIGO_PRIVACY_SUPPRESSION_KEY_FILE": settings.privacy.suppression_key_file,
    }
    return {name: str(Path(path).absolute()) for name, path in files.items()}


def _serve(url: str, workers: int, port: int, workdir: str) -> subprocess.Popen[bytes]:
    env = {
        **_key_files(),
        **os.environ,
        "AMIGO_DATABASE_URL": url,
        "AMIGO_API_RATE_PER_SECOND": "1000000",  # the limiter is measured elsewhere
        "AMIGO_API_RATE_BURST": "1000000",
    }
    # What `amigo serve` runs, without the access log (a line per request).
    command = [sys.executable, "-m", "uvicorn", "amigo.api.app:create_default_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, cwd=workdir, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                # Every worker must be up: ask a few times more than there are workers.
                time.sleep(1.0 * workers)
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
        if server.poll() is not None:
            break
    server.kill()
    raise RuntimeError("the app did not start")


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time of a process and its children, alive ones included (Linux /proc)."""
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
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        pending += [int(c) for c in children]
    return total


class _DatabaseCpu:
    """The CPU time of the PostgreSQL backends serving this database, sampled through a run.

    Read from /proc, so only for a server on this machine. The app's pool closes
    its overflow connections as they come back, so the backends are sampled every
    half second (pid -> CPU seen last); one that ended loses at most its last half
    second. Nothing on SQLite (its work is in the app's CPU).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: dict[int, float] = {}
        self.before: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self) -> None:
        with self.engine.connect() as connection:
            pids = connection.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).all()
        for pid in pids:
            self.seen[int(pid)] = max(self.seen.get(int(pid), 0.0), _cpu_seconds(int(pid)))

    def _sample_until_stopped(self) -> None:
        while not self.stop.wait(0.5):
            self._sample()

    def __enter__(self) -> _DatabaseCpu:
        if self.engine.dialect.name == "postgresql":
            self._sample()
            self.before = dict(self.seen)
            self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.thread.is_alive():
            self.stop.set()
            self.thread.join()
            self._sample()

    @property
    def seconds(self) -> float:
        """Return the backends' CPU seconds since the block began."""
        return float(sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.seen.items()))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _count(engine: Engine, source_id: int, source_name: str) -> dict[str, int]:
    keys = select(TrackingMessage.key).where(TrackingMessage.source_id == source_id)
    with engine.connect() as connection:

        def scalar(statement: Any) -> int:
            return int(connection.scalar(statement) or 0)

        mine = TrackingMessage.source_id == source_id
        return {
            "messages": scalar(select(func.count()).where(mine)),
            "distinct_message_ids": scalar(
                select(func.count(func.distinct(TrackingMessage.message_id))).where(mine)
            ),
            "rejected": scalar(
                select(func.count()).where(mine, TrackingMessage.status == "rejected")
            ),
            "interactions": scalar(
                select(func.count()).where(
                    Interaction.source_system == "tracking",
                    Interaction.source_interaction_id.in_(keys),
                )
            ),
            "with_profile": scalar(
                select(func.count()).where(
                    Interaction.source_system == "tracking",
                    Interaction.source_interaction_id.in_(keys),
                    Interaction.customer_id.is_not(None),
                )
            ),
            "recorded_events": scalar(
                select(func.count()).where(
                    OutboxEvent.type == "interaction.recorded",
                    OutboxEvent.data["source"].as_string() == source_name,
                )
            ),
        }


def run(args: argparse.Namespace) -> int:
    """Prepare the repository, serve it, drive it, check it; print the figures."""
    url, drop_with = _prepare(args)
    engine = make_engine(url)
    print(f"database backend={engine.dialect.name}")
    try:
        upgrade(engine)
        _load_customers(engine, args.customers, args.data)
        people = _people(engine)
        name = f"bench-{uuid.uuid4().hex[:8]}"
        with unit_of_work(engine) as session:
            created = create_source(session=session, name=name, now=datetime.now(UTC))
        with tempfile.TemporaryDirectory() as workdir:
            people_file = Path(workdir) / "people.json"
            people_file.write_text(json.dumps(people))
            port = _free_port()
            server = _serve(url, args.workers, port, workdir)
            try:
                cpu = _cpu_seconds(server.pid)
                with _DatabaseCpu(engine) as database_cpu:
                    results = _load(args, port, created.write_key, people_file)
                results[0]["server_cpu_s"] = _cpu_seconds(server.pid) - cpu
                results[0]["database_cpu_s"] = database_cpu.seconds
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        _report(args, engine, results, source_id=created.id, source_name=name, people=len(people))
    finally:
        engine.dispose()
        if drop_with:
            admin = make_engine(drop_with).execution_options(isolation_level="AUTOCOMMIT")
            database = make_url(url).database
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()
    return 0


def _load(
    args: argparse.Namespace, port: int, write_key: str, people_file: Path
) -> list[dict[str, Any]]:
    start = time.time() + 2  # every load process begins at the same instant
    command = [sys.executable, __file__, "drive", "--url", f"http://127.0.0.1:{port}"]
    # --key=...: a write key may begin with "-", which argparse would take for an option.
    command += [f"--key={write_key}", "--people", str(people_file), "--start", str(start)]
    command += ["--warmup", str(args.warmup), "--duration", str(args.duration)]
    command += ["--concurrency", str(args.concurrency)]
    drivers = [
        subprocess.Popen([*command, "--seed", str(n)], stdout=subprocess.PIPE)
        for n in range(args.load_processes)
    ]
    return [json.loads(d.communicate()[0]) for d in drivers]


def _report(
    args: argparse.Namespace,
    engine: Engine,
    results: list[dict[str, Any]],
    *,
    source_id: int,
    source_name: str,
    people: int,
) -> None:
    latencies = [ms for r in results for ms in r["latencies_ms"]]
    window_events = sum(r["window_events"] for r in results)
    sent = sum(r["new_events"] for r in results)
    invalid = sum(r["invalid_events"] for r in results)
    errors: dict[str, int] = {}
    for r in results:
        for status, n in r["errors"].items():
            errors[status] = errors.get(status, 0) + n
    print(
        f"config workers={args.workers} load_processes={args.load_processes} "
        f"concurrency={args.concurrency} batch={BATCH} warmup_s={args.warmup} "
        f"duration_s={args.duration} known_people={people}"
    )
    print(
        f"throughput events_per_s={window_events / args.duration:.0f} "
        f"requests_per_s={sum(r['window_requests'] for r in results) / args.duration:.1f} "
        f"app_cpu_s={results[0]['server_cpu_s']:.1f} "
        f"load_cpu_s={sum(r['cpu_s'] for r in results):.1f} "
        f"database_cpu_s={results[0]['database_cpu_s']:.1f} errors={errors or 0}"
    )
    if latencies:
        print(
            f"latency_ms p50={statistics.median(latencies):.1f} "
            f"p95={_percentile(latencies, 0.95):.1f} p99={_percentile(latencies, 0.99):.1f} "
            f"max={max(latencies):.1f}"
        )
    counts = _count(engine, source_id, source_name)
    expected = {
        "messages": sent,
        "distinct_message_ids": sent,
        "rejected": invalid,
        "interactions": sent - invalid,
        "recorded_events": sent - invalid,
    }
    print("database " + " ".join(f"{k}={v}" for k, v in counts.items()))
    print(f"sent acknowledged={sent} resent={sum(r['resent_events'] for r in results)}")
    if sent:
        # Over the whole run (warm-up included), per new message stored.
        print(
            f"cpu_per_event_us app={results[0]['server_cpu_s'] / sent * 1e6:.0f} "
            f"database={results[0]['database_cpu_s'] / sent * 1e6:.0f} "
            f"load={sum(r['cpu_s'] for r in results) / sent * 1e6:.0f}"
        )
    wrong = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    print(
        "check "
        + (f"MISMATCH (found, expected) {wrong}" if wrong else "ok: nothing lost, none twice")
    )
    if wrong and not errors:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, or (``drive``) one of its load processes."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["drive"]:
        parser = argparse.ArgumentParser(prog="bench_tracking.py drive")
        parser.add_argument("--url", required=True)
        parser.add_argument("--key", required=True)
        parser.add_argument("--people", required=True)
        parser.add_argument("--start", type=float, required=True)
        parser.add_argument("--warmup", type=float, required=True)
        parser.add_argument("--duration", type=float, required=True)
        parser.add_argument("--concurrency", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        return drive(parser.parse_args(argv[1:]))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", help="an existing repository's URL (migrated, not loaded)")
    parser.add_argument("--postgres", help="admin URL: the run uses a new database on it")
    parser.add_argument("--keep", action="store_true", help="keep the new PostgreSQL database")
    parser.add_argument("--customers", type=int, default=20_000, help="generated and loaded first")
    parser.add_argument("--data", type=Path, default=Path("bench-data"), help="exports, SQLite")
    parser.add_argument("--workers", type=int, default=2, help="Uvicorn worker processes")
    parser.add_argument("--load-processes", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8, help="senders per load process")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not measured")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
