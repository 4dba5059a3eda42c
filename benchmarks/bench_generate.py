"""Time `amigo generate` at scale: elapsed seconds, peak memory and bytes written.

python benchmarks/bench_generate.py --customers 1200000 --out /tmp/amigo-bench
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

from amigo.synth import generate


def main(argv: list[str] | None = None) -> int:
    """Generate the requested volume into a fresh directory and print the measures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_200_000, help="people to generate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("bench-data"), help="directory (replaced)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    started = time.perf_counter()
    summary = generate(customers=args.customers, seed=args.seed, out_dir=args.out)
    elapsed = time.perf_counter() - started
    # ru_maxrss is in kilobytes on Linux.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = 0
    for relative, rows in summary.rows_by_file().items():
        size = (args.out / relative).stat().st_size
        total += size
        print(f"{relative:32} {rows:>12,} rows {size / 2**20:>10.1f} MiB")
    print(f"{'total':32} {'':>17} {total / 2**20:>10.1f} MiB")
    print(f"customers={args.customers} elapsed_s={elapsed:.1f} peak_rss_mib={peak_mib:.0f}")
    if not args.keep:
        shutil.rmtree(args.out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
