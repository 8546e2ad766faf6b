"""``python -m benchmarks.adaptive_join [--rows N] [--repeat R] [--backend threads] [--workers W]``

Adaptive joins: an inner join of a fact table with a small side made by a groupby and a filter
(its size unknown until computed), timed with the plan chosen after measuring the small side
("adaptive") and with the plan made without measuring it ("static", as before adaptive joins:
the small side is never broadcast, so the fact table is broadcast when it is under
``rd.config.broadcast_bytes``, else both sides are shuffled). Two cases:

- ``fact fits``: the fact table is under the threshold (the default 64 MB at the default size):
  the static plan broadcasts the fact table to every partition of the small side;
- ``fact too large``: the threshold lowered under the fact table: the static plan shuffles both.

Each figure is the median of ``--repeat`` runs of the whole pipeline (groupby, filter, join,
``count()``), in milliseconds; the results of both plans are checked equal. The groupby and filter
alone are timed too: the rest is the join's.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import rdarray as rd
from rdarray.array import merge as merge_module

#: rows of the fact table, and its distinct keys (the groupby's groups)
ROWS, KEYS = 1_500_000, 20_000


def fact_table(rows: int, keys: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty(rows, [("k", "i8"), ("qty", "i4"), ("price", "f8"), ("disc", "f4")])
    out["k"] = rng.integers(0, keys, rows)
    out["qty"] = rng.integers(1, 50, rows)
    out["price"] = rng.random(rows) * 100
    out["disc"] = rng.random(rows).astype(np.float32) / 10
    return out


def pipeline(x, above: int):
    """Keys whose total quantity is above ``above`` (a few dozen), joined back to the fact table."""
    totals = x.groupby("k").agg(total=("qty", "sum"))
    top = totals[totals["total"] > above]
    return rd.merge(x, top, on="k")


def time_plan(x, above: int, adaptive: bool, repeat: int) -> tuple[float, int, str]:
    """(median ms, rows, the join's plan after the last run) of the pipeline under one planner."""
    merge_module.ADAPTIVE = adaptive
    try:
        times, rows, plan = [], 0, ""
        for _ in range(repeat):
            start = time.perf_counter()
            joined = pipeline(x, above)
            rows = joined.count()
            times.append((time.perf_counter() - start) * 1000)
            plan = next(line for line in joined.explain().splitlines() if "merge(" in line)
        return statistics.median(times), rows, plan
    finally:
        merge_module.ADAPTIVE = True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adaptive_join", description=__doc__.splitlines()[2])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"rows of the fact table (default {ROWS:,})")
    parser.add_argument("--repeat", type=int, default=5, help="runs per plan; the median is reported")
    parser.add_argument("--backend", default="threads", choices=["threads", "sync", "processes"])
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)

    keys = max(100, min(KEYS, args.rows // 50))
    a = fact_table(args.rows, keys)
    # a threshold keeping a few dozen keys: mean + 3 standard deviations of a key's total
    per_key = args.rows / keys
    above = int(per_key * 25 + 3 * np.sqrt(per_key * ((49 ** 2 - 1) / 12 + 25 ** 2)))  # rows per key vary too
    default = rd.config.broadcast_bytes
    print(f"fact table: {args.rows:,} rows, {a.nbytes / 1e6:.1f} MB; {keys:,} keys; "
          f"backend {args.backend}; median of {args.repeat} runs")
    print(f"{'case':<16} {'broadcast_bytes':>15} {'static ms':>10} {'adaptive ms':>12} {'speed-up':>9}  rows")
    with rd.Context(backend=args.backend, workers=args.workers):
        x = rd.from_numpy(a)
        pipeline(x, above).count()  # warm up: pools started, kernels loaded
        alone = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            totals = x.groupby("k").agg(total=("qty", "sum"))
            totals[totals["total"] > above].count()
            alone.append((time.perf_counter() - start) * 1000)
        print(f"{'(groupby+filter alone)':<32} {statistics.median(alone):>10.1f}")
        for case, threshold in (("fact fits", max(default, a.nbytes + 1)), ("fact too large", a.nbytes // 4)):
            rd.config.broadcast_bytes = threshold
            try:
                static_ms, static_rows, static_plan = time_plan(x, above, False, args.repeat)
                adaptive_ms, adaptive_rows, adaptive_plan = time_plan(x, above, True, args.repeat)
            finally:
                rd.config.broadcast_bytes = default
            if static_rows != adaptive_rows:
                raise AssertionError(f"{case}: the plans disagree: {static_rows} and {adaptive_rows} rows")
            print(f"{case:<16} {threshold / 1e6:>12.1f} MB {static_ms:>10.1f} {adaptive_ms:>12.1f} "
                  f"{static_ms / adaptive_ms:>8.2f}x  {adaptive_rows:,}")
            print(f"    static:   {static_plan.strip()}")
            print(f"    adaptive: {adaptive_plan.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
