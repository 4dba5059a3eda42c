"""Identity resolution: quality against the truth (beside plain Splink), batch time, incremental latency.

    # Quality at the default noise and at twice of it, AMIgo beside plain Splink,
    # and the auto-merge threshold sweep that chose the default:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_identity.py quality --customers 100000
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_identity.py quality --customers 100000 \\
        --noise-scale 2
    # Batch resolution of a loaded repository (`amigo identity resolve` as a child
    # process: wall time and peak memory), then its quality:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_identity.py resolve \\
        --database sqlite:///bench-data/bench.db --truth bench-data/export-1200000-42/truth.csv
    # Incremental resolution of new records against a resolved repository:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_identity.py incremental \\
        --database sqlite:///bench-data/bench.db --records 1000

Figures are printed as `name key=value ...` lines.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from plain_splink import plain_splink_clusters, read_plain_records
from sqlalchemy import select

from amigo.core.config import IdentitySettings
from amigo.core.db import make_engine, unit_of_work
from amigo.identity.evaluation import Evaluation, evaluate, evaluate_clusters, read_truth
from amigo.identity.matching import NAME_BLOCK_CAP, train_model
from amigo.identity.models import IdentityLink
from amigo.identity.resolution import Thresholds, plan_clusters, read_records, score_pairs
from amigo.identity.service import changed_links, resolve_new_records
from amigo.ingest.service import load_directory
from amigo.synth import generate
from amigo.synth.options import NoiseOptions

SWEEP = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)

# What a true pair's two records share, strongest first: the first that holds names it.
_EVIDENCE = (
    ("email", lambda a, b: a["email"] is not None and a["email"] == b["email"]),
    ("phone", lambda a, b: a["phone"] is not None and a["phone"] == b["phone"]),
    ("birth_date", lambda a, b: a["birth"] is not None and a["birth"] == b["birth"]),
    (
        "address",
        lambda a, b: (
            a["address"] is not None and (a["address"], a["postal"]) == (b["address"], b["postal"])
        ),
    ),
    ("full_name", lambda a, b: a["full_name"] is not None and a["full_name"] == b["full_name"]),
)


def recall_by_evidence(
    records: Any, roots: list[int], keys: list[tuple[str, str]], truth: dict[Any, str]
) -> dict[str, tuple[int, int]]:
    """Return, per strongest evidence a true pair's two records share, (joined, all) pairs.

    It says which misses any resolver could have avoided: a pair that shares only
    a full name (or nothing) cannot be told from two namesakes.
    """
    by_person: dict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        if key in truth:
            by_person[truth[key]].append(position)
    joined: Counter[str] = Counter()
    every: Counter[str] = Counter()
    for positions in by_person.values():
        for i, left in enumerate(positions):
            for right in positions[i + 1 :]:
                a, b = records.features[left], records.features[right]
                shared = next((name for name, holds in _EVIDENCE if holds(a, b)), "nothing")
                every[shared] += 1
                joined[shared] += roots[left] == roots[right]
    return {name: (joined[name], every[name]) for name, _ in (*_EVIDENCE, ("nothing", None))}


def name_only_pairs(
    records: Any, keys: list[tuple[str, str]], truth: dict[Any, str]
) -> dict[str, tuple[int, int]]:
    """Return, among pairs sharing a full name and no identifier, (same person, different) pairs.

    The ceiling of recall at a given precision: whatever the resolver, these
    pairs carry no more evidence than this split. Split by whether the two
    records contradict each other (both have an e-mail, a phone or a birth
    date, and they differ) and by how many records carry the name.
    """
    person = [truth.get(key) for key in keys]
    by_name: dict[str, list[int]] = defaultdict(list)
    for position, features in enumerate(records.features):
        if features["full_name"] is not None:
            by_name[features["full_name"]].append(position)
    split: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    strong = [holds for name, holds in _EVIDENCE if name != "full_name"]
    for positions in by_name.values():
        if len(positions) > NAME_BLOCK_CAP:  # a name this common is not a candidate key
            continue
        for i, left in enumerate(positions):
            for right in positions[i + 1 :]:
                a, b = records.features[left], records.features[right]
                if any(holds(a, b) for holds in strong):
                    continue
                contradicts = any(
                    a[c] is not None and b[c] is not None and a[c] != b[c]
                    for c in ("email", "phone", "birth")
                )
                kind = "contradicting" if contradicts else "not_contradicting"
                if len(positions) == 2 and not contradicts:
                    kind = "not_contradicting_name_of_two"
                same = person[left] is not None and person[left] == person[right]
                split[kind][0 if same else 1] += 1
    return {kind: (same, other) for kind, (same, other) in sorted(split.items())}


def _figures(name: str, result: Evaluation, **extra: object) -> None:
    details = " ".join(f"{k}={v}" for k, v in extra.items())
    print(
        f"{name} precision={result.pairwise_precision:.4%} recall={result.pairwise_recall:.4%} "
        f"f1={result.pairwise_f1:.4%} cluster_precision={result.cluster_precision:.4%} "
        f"cluster_recall={result.cluster_recall:.4%} largest={result.largest_profile} "
        f"predicted_pairs={result.predicted_pairs} true_pairs={result.true_pairs} {details}",
        flush=True,
    )


class _MemorySampler:
    """Peak memory of a child process by kind, and the stage it was in, from /proc.

    `ru_maxrss` counts the SQLite pages read through mmap (file cache the
    kernel can drop) with the heap; RssAnon is the heap alone.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stage = "start-up"
        self.peaks: dict[str, int] = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
        self.anon_by_stage: dict[str, int] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            try:
                text = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return
            kib = {
                name: int(value.split()[0])
                for name, _, value in (line.partition(":") for line in text.splitlines())
                if name in self.peaks
            }
            for name, value in kib.items():
                self.peaks[name] = max(self.peaks[name], value)
            anon = kib.get("RssAnon", 0)
            self.anon_by_stage[self.stage] = max(self.anon_by_stage.get(self.stage, 0), anon)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _child(command: list[str], database: str) -> tuple[float, float]:
    """Run an `amigo` command as a child process; return (seconds, peak RSS MiB).

    Its output is echoed; each stage line the CLI prints into a pipe
    ("[  12.3 s] Scoring ...") tells the memory sampler where the run is.
    """
    env = {**os.environ, "AMIGO_DATABASE_URL": database, "COLUMNS": "120"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "amigo.cli", *command],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    sampler = _MemorySampler(process.pid)
    for line in process.stdout or ():
        print(line, end="", flush=True)
        if line.startswith("[") and " s] " in line:  # a stage starts (see _RichStages)
            sampler.stage = line.partition(" s] ")[2].strip()[:60]
    process.wait()
    sampler.stop()
    elapsed = time.perf_counter() - started
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(
        "memory "
        + " ".join(f"peak_{name}_mib={kib / 1024:.0f}" for name, kib in sampler.peaks.items()),
        flush=True,
    )
    for stage, kib in sampler.anon_by_stage.items():
        print(f"memory_stage anon_mib={kib / 1024:.0f} stage={stage!r}", flush=True)
    return elapsed, peak / 1024


def quality(args: argparse.Namespace) -> None:
    """Generate, load, and measure AMIgo's resolution (threshold sweep) beside plain Splink.

    With --database and --truth, measure an already loaded (unresolved) repository.
    """
    made: Path | None = None  # the repository this run loaded, removed at the end
    if args.database:
        url, truth_path = args.database, args.truth
    else:
        suffix = f"-noise{args.noise_scale:g}" if args.noise_scale != 1 else ""
        export = args.data / f"export-{args.customers}-{args.seed}{suffix}"
        if not (export / "truth.csv").exists():
            noise = NoiseOptions().scaled(args.noise_scale)
            generate(customers=args.customers, seed=args.seed, out_dir=export, noise=noise)
        database = args.data / f"identity-{args.customers}{suffix}.db"
        for extra in ("", "-wal", "-shm"):
            Path(f"{database}{extra}").unlink(missing_ok=True)
        url = f"sqlite:///{database.resolve()}"
        made = database
        seconds, _ = _child(["load", str(export)], url)
        print(
            f"load customers={args.customers} noise_scale={args.noise_scale:g} seconds={seconds:.1f}"
        )
        truth_path = export / "truth.csv"
    truth = read_truth(truth_path)
    engine = make_engine(url)
    with engine.connect() as connection:
        records = read_records(connection)
        plain_table, plain_keys = read_plain_records(connection)
        link_keys = {
            row.id: (str(row.source_system), row.source_id)
            for row in connection.execute(
                select(IdentityLink.id, IdentityLink.source_system, IdentityLink.source_id)
            )
        }
    started = time.perf_counter()
    model = train_model([records.table()], seed=args.seed).settings
    trained = time.perf_counter() - started
    pairs = score_pairs(records, model, Thresholds(auto=0.99, review=0.5))
    scored = time.perf_counter() - started
    print(
        f"amigo train_seconds={trained:.1f} train_and_score_seconds={scored:.1f} pairs={len(pairs)}"
    )
    default = IdentitySettings().auto_merge_threshold
    keys = [link_keys[link_id] for link_id in records.link_ids]
    for auto in sorted({*SWEEP, default}):
        thresholds = Thresholds(auto=auto, review=0.5)
        outcome, _ = plan_clusters(records, pairs, thresholds, [])
        clusters = {keys[position]: root for position, root in enumerate(outcome.roots)}
        _figures("amigo", evaluate_clusters(clusters, truth), auto_merge_threshold=auto)
        if auto == default:
            by_evidence = recall_by_evidence(records, outcome.roots, keys, truth)
            shares = " ".join(
                f"{name}={found}/{total}({found / total if total else 1:.2%})"
                for name, (found, total) in by_evidence.items()
            )
            strong = [by_evidence[name] for name in ("email", "phone", "birth_date", "address")]
            found, total = (sum(column) for column in zip(*strong, strict=True))
            print(
                f"recall_by_shared_evidence auto_merge_threshold={auto} "
                f"with_an_identifier={found / total:.4%} {shares}"
            )
            ceiling = " ".join(
                f"{kind}={same}/{same + other}({same / (same + other):.1%})"
                for kind, (same, other) in name_only_pairs(records, keys, truth).items()
            )
            print(f"name_only_pairs same_person/all {ceiling}")
    started = time.perf_counter()
    plain = plain_splink_clusters(plain_table, seed=args.seed)
    plain_seconds = time.perf_counter() - started
    _figures(
        "plain_splink",
        evaluate_clusters(dict(zip(plain_keys, plain, strict=True)), truth),
        seconds=f"{plain_seconds:.1f}",
    )
    engine.dispose()
    if made is not None and not args.keep_database:
        _remove_repository(made)


def _remove_repository(database: Path) -> None:
    """Delete a repository a quality run loaded: about 1.6 GB at 100K, loaded anew by every run."""
    files = [Path(f"{database}{extra}") for extra in ("", "-wal", "-shm")]
    size = sum(f.stat().st_size for f in files if f.exists())
    for f in files:
        f.unlink(missing_ok=True)
    print(f"removed {database} ({size / 2**30:.1f} GiB; --keep-database keeps it)")


def resolve(args: argparse.Namespace) -> None:
    """Time `amigo identity resolve` on a loaded repository, then measure its quality."""
    seconds, peak = _child(
        ["identity", "resolve", *(["--retrain"] if args.retrain else [])], args.database
    )
    print(f"resolve seconds={seconds:.1f} peak_rss_mib={peak:.0f}", flush=True)
    engine = make_engine(args.database)
    with engine.connect() as connection:
        _figures("resolved", evaluate(connection, read_truth(args.truth)))
    engine.dispose()


def incremental(args: argparse.Namespace) -> None:
    """Add new records of existing people as a web-form export; resolve each in its own transaction."""
    engine = make_engine(args.database)
    rng = random.Random(args.seed)
    with engine.connect() as connection:
        highest = int(
            connection.scalar(select(IdentityLink.id).order_by(IdentityLink.id.desc())) or 0
        )
        chosen: list[Any] = []
        while len(chosen) < args.records:
            row = connection.execute(
                select(IdentityLink).where(IdentityLink.id == rng.randint(1, highest))
            ).first()
            if row is not None and row.email and row.first_name:
                chosen.append(row)
    export = args.data / f"incremental-{int(time.time())}" / "webforms"
    export.mkdir(parents=True)
    with (export / "submissions.jsonl").open("w", encoding="utf-8") as handle:
        for n, row in enumerate(chosen):
            fields = {
                "email": row.email,
                "first_name": row.first_name,
                "last_name": row.last_name if rng.random() < 0.5 else None,
                "phone": None,
                "birth_date": None,
                "postal_code": None,
                "city": None,
                "country": row.country,
            }
            handle.write(
                json.dumps(
                    {
                        "submission_id": f"wf-bench-{time.time_ns()}-{n}",
                        "form": "newsletter",
                        "submitted_at": "2026-11-30T10:00:00+01:00",
                        "locale": "fr-FR",
                        "fields": fields,
                        "consents": {"email_marketing": True, "sms_marketing": False},
                        "consent_text_version": "nl-2026-11",
                        "ip": "192.0.2.7",
                        "user_agent": "bench",
                    }
                )
                + "\n"
            )
    report = load_directory(engine=engine, directory=export.parent, batch_size=5000)
    if report.started_at is None:  # pragma: no cover - load_directory always sets it
        raise SystemExit("the load did not record its start")
    with unit_of_work(engine) as session:
        new_links = changed_links(session=session, since=report.started_at)
    settings = IdentitySettings()
    latencies = []
    merged = 0
    for link_id in new_links:
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            outcome = resolve_new_records(session=session, link_ids=[link_id], settings=settings)
        latencies.append((time.perf_counter() - started) * 1000)
        merged += outcome.merges if outcome else 0
    latencies.sort()
    print(
        f"incremental records={len(latencies)} merged={merged} "
        f"p50_ms={statistics.median(latencies):.1f} "
        f"p95_ms={latencies[int(0.95 * len(latencies)) - 1]:.1f} "
        f"p99_ms={latencies[int(0.99 * len(latencies)) - 1]:.1f} max_ms={latencies[-1]:.1f}"
    )
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run one of the benchmarks."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--customers", type=int, default=100_000)
    q.add_argument("--noise-scale", type=float, default=1.0)
    q.add_argument("--database", help="an already loaded repository to measure instead")
    q.add_argument("--truth", type=Path, help="its truth.csv (with --database)")
    q.add_argument(
        "--keep-database", action="store_true", help="keep the repository loaded for the run"
    )
    r = sub.add_parser("resolve")
    r.add_argument("--database", required=True)
    r.add_argument("--truth", type=Path, required=True)
    r.add_argument("--retrain", action="store_true")
    i = sub.add_parser("incremental")
    i.add_argument("--database", required=True)
    i.add_argument("--records", type=int, default=1000)
    for p in (q, r, i):
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args(argv)
    {"quality": quality, "resolve": resolve, "incremental": incremental}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
