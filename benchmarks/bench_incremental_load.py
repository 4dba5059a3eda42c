"""Paired before/after runs of `amigo load`: initial, the same export again, then a changed export.

What announcing each change costs a load (the events of ``ingest/events.py``):
an initial load announces summaries only, a reload of the same export nothing,
an incremental one an event per profile or order it changed. Another checkout's
sources are the "before"; this repository's the "after". Each round, for each
side, a new SQLite database gets the three loads in turn (the sides' order
alternates from round to round); the figures are CPU seconds (user + sys)
beside wall seconds, as in ``bench_paired.py``.

    git worktree add /tmp/before a99fb5a
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_incremental_load.py \\
        --before /tmp/before/src --customers 20000 --rounds 3

The changed export: every ``--rename-every``-th Cegid customer renamed, every
``--refund-every``-th paid Shopify order refunded, ``--new-customers`` Shopify
customers added with an order each.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

from bench_paired import AFTER, _run, print_medians

STEPS = ("initial", "unchanged", "incremental")


def change_export(
    export: Path, changed: Path, *, rename_every: int, refund_every: int, new_customers: int
) -> dict[str, int]:
    """Copy the export with some customers renamed, orders refunded, customers and orders added."""
    shutil.copytree(export, changed)
    counts = {"renamed": 0, "refunded": 0, "new customers": new_customers}
    path = changed / "cegid" / "customers.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    for number, row in enumerate(rows):
        if number % rename_every == 0 and row["CustomerId"] and row["FirstName"]:
            row["FirstName"] = row["FirstName"][::-1]
            counts["renamed"] += 1
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    orders_path = changed / "shopify" / "orders.jsonl"
    orders = [json.loads(line) for line in orders_path.read_text(encoding="utf-8").splitlines()]
    paid = [o for o in orders if isinstance(o, dict) and o.get("financial_status") == "paid"]
    for order in paid[::refund_every]:
        order["financial_status"] = "refunded"
        counts["refunded"] += 1
    with (changed / "shopify" / "customers.jsonl").open("a", encoding="utf-8") as handle:
        for n in range(new_customers):
            customer_id = 7_900_000_000_000 + n
            handle.write(
                json.dumps(
                    {
                        "id": customer_id,
                        "email": f"new.customer.{n}@example.org",
                        "first_name": "New",
                        "last_name": f"Customer{n}",
                    }
                )
                + "\n"
            )
            orders.append(
                {
                    "id": 8_900_000_000_000 + n,
                    "name": f"#N{n}",
                    "created_at": "2026-12-01T10:00:00+01:00",
                    "processed_at": "2026-12-01T10:00:00+01:00",
                    "currency": "EUR",
                    "total_price": "59.00",
                    "financial_status": "paid",
                    "customer": {"id": customer_id},
                    "line_items": [],
                    "payment_gateway_names": ["shopify_payments"],
                }
            )
    orders_path.write_text("".join(json.dumps(o) + "\n" for o in orders), encoding="utf-8")
    return counts


def _event_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return dict(connection.execute("SELECT type, count(*) FROM event_outbox GROUP BY type"))


def main() -> None:
    """Generate one export and its changed copy, alternate before and after; print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout's src/")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rename-every", type=int, default=50)
    parser.add_argument("--refund-every", type=int, default=20)
    parser.add_argument("--new-customers", type=int, default=200)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amigo-incremental-"))
    try:
        export, changed = work / "export", work / "changed"
        _run(
            ["generate", "--customers", str(options.customers), "--seed", "42", "--out",
             str(export), "--force"],
            src=AFTER, cwd=work,
        )  # fmt: skip
        counts = change_export(
            export,
            changed,
            rename_every=options.rename_every,
            refund_every=options.refund_every,
            new_customers=options.new_customers,
        )
        print(f"changed export: {counts}", flush=True)
        figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
        sides = [("before", options.before.resolve()), ("after", AFTER)]
        for round_number in range(1, options.rounds + 1):
            # before, after; then after, before: whichever runs second does not always win.
            for side, src in sides if round_number % 2 else sides[::-1]:
                cwd = work / side
                shutil.rmtree(cwd, ignore_errors=True)
                cwd.mkdir()
                _run(["db", "upgrade"], src=src, cwd=cwd)
                for step, directory in zip(STEPS, (export, export, changed), strict=True):
                    wall, cpu = _run(["load", str(directory)], src=src, cwd=cwd)
                    figures.setdefault((step, side), []).append((wall, cpu))
                    print(f"round {round_number} {side:6} {step:11} wall {wall:7.1f} s  "
                          f"cpu {cpu:7.1f} s", flush=True)  # fmt: skip
                if round_number == 1:
                    print(f"  {side} events: {_event_counts(cwd / 'amigo.db')}", flush=True)
        print(f"\nmedians of {options.rounds} rounds, {options.customers:,} people:")
        print_medians(figures, STEPS)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
