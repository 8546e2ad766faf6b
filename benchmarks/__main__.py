"""``python -m benchmarks [--quick] [--scale S] [--only W1,W10] [--repeat N] [--workers 1,2,4] [--out DIR]``

Runs the workloads side by side with the installed peers and writes ``report.md`` and
``results.json`` (and ``chart.png`` when matplotlib is installed) into ``--out``. With
``--workers``, every workload runs once per worker count on the threads backend (DuckDB with as
many threads), and each row gets its speed-up over the first count.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys

import numpy as np

import rdarray as rd

from .harness import run_case
from .workloads import WORKLOADS

QUICK_SCALE = 0.002
#: workloads whose cases are variations of one task, summarized by geometric means over the cases
SUMMARIZED = ("W13",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check everything runs and agrees")
    parser.add_argument("--scale", type=float, default=None, help="data size relative to BENCHMARKS.md")
    parser.add_argument("--only", default="", help="comma-separated workload ids, e.g. W1,W10")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per measurement (median)")
    parser.add_argument("--out", default="benchmark-results", help="directory for the report")
    parser.add_argument("--workers", default="", help="comma-separated worker counts, e.g. 1,2,4,8,16: a "
                        "threads-backend run per count, with the speed-up over the first")
    args = parser.parse_args(argv)
    try:
        counts = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        parser.error(f"--workers takes comma-separated integers, got {args.workers!r}")
    if any(c < 1 for c in counts):
        parser.error(f"--workers counts must be at least 1, got {args.workers!r}")

    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    repeat = args.repeat or (1 if args.quick else 3)
    known = {w.upper(): w for w in WORKLOADS}  # --only is case-insensitive: w3-text names W3-text
    wanted = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in known]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; available: {', '.join(WORKLOADS)}")
    selected = [known[w] for w in wanted] or list(WORKLOADS)

    rows: list[dict] = []
    for count in counts or [None]:
        with rd.Context(backend="threads", workers=count) if count else contextlib.nullcontext():
            workers = rd.get_context().workers
            for wid in selected:
                if wid == "W8":
                    from .codec_bench import run as run_codec

                    rows.extend(dict(r, workers=workers) for r in run_codec(scale, repeat))
                for case in WORKLOADS[wid](scale):
                    print(f"{case.workload} ({workers} workers): {case.title}", file=sys.stderr, flush=True)
                    rows.extend(dict(r, workers=workers) for r in run_case(case, repeat))
    add_ratios(rows)
    if counts:
        add_speedups(rows)
    os.makedirs(args.out, exist_ok=True)
    meta = machine(scale, repeat)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": meta, "results": rows, "geometric_means": geometric_means(rows)}, f, indent=2,
                  default=float)
    report = markdown(rows, meta)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(report)
    chart(rows, os.path.join(args.out, "chart.png"))
    print(report)
    disagree = [r for r in rows if not r.get("agrees", True)]
    for r in disagree:
        print(f"DISAGREE: {r['workload']} {r['impl']} differs from rdarray", file=sys.stderr)
    return 1 if disagree else 0


def add_ratios(rows: list[dict]) -> None:
    """``ratio``: rdarray's time over the peer's, within the same workload, case and worker count."""
    ours = {(r["workload"], r["case"], r.get("workers")): r["seconds"] for r in rows if r["impl"] == "rdarray"}
    for r in rows:
        mine = ours.get((r["workload"], r["case"], r.get("workers")))
        r["ratio"] = None if mine is None or r["impl"] == "rdarray" else mine / r["seconds"]


def add_speedups(rows: list[dict]) -> None:
    """``speedup``: an implementation's time at the sweep's first worker count over its time at
    this row's count, within the same workload and case."""
    first: dict[tuple, float] = {}
    for r in rows:  # rows come in sweep order: the first count's row of a case comes first
        first.setdefault((r["workload"], r["case"], r["impl"]), r["seconds"])
    for r in rows:
        r["speedup"] = first[(r["workload"], r["case"], r["impl"])] / r["seconds"]


def machine(scale: float, repeat: int) -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "rdarray": rd.__version__,
            "cpus": os.cpu_count(), "platform": platform.platform(), "scale": scale, "repeat": repeat}


def markdown(rows: list[dict], meta: dict) -> str:
    sweep = any(r.get("speedup") is not None for r in rows)
    lines = [f"# rdarray benchmarks (scale {meta['scale']}, median of {meta['repeat']})", "",
             f"{meta['cpus']} CPUs, {meta['platform']}, Python {meta['python']}, NumPy {meta['numpy']}", "",
             "| workload | case | impl | workers | median s | rdarray / impl | " + ("speed-up | " if sweep else "")
             + "GB/s | µs/task | peak RSS MB | peak / read | agrees |",
             "| --- | --- | --- | ---: | ---: | ---: | " + ("---: | " if sweep else "")
             + "---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        peak = format(r["peak_rss_bytes"] / 1e6, ".0f") if r.get("peak_rss_bytes") is not None else ""
        lines.append(f"| {r['workload']} | {r['case']} | {r['impl']} | {r.get('workers', '')} | {r['seconds']:.4f} | "
                     f"{_fmt(r, 'ratio', '.2f')} | " + (f"{_fmt(r, 'speedup', '.2f')} | " if sweep else "")
                     + f"{_fmt(r, 'gbps', '.2f')} | {_fmt(r, 'us_per_task', '.1f')} | "
                     f"{peak} | {_fmt(r, 'peak_per_read', '.2f')} | {'yes' if r.get('agrees', True) else 'NO'} |")
    means = geometric_means(rows)
    if means:
        lines += ["", "Geometric means over a workload's cases:", "",
                  "| workload | workers | peer | cases | rdarray / peer | rdarray's largest peak / read |",
                  "| --- | ---: | --- | ---: | ---: | ---: |"]
        for m in means:
            lines.append(f"| {m['workload']} | {m.get('workers', '')} | {m['impl']} | {m['cases']} | "
                         f"{m['ratio']:.2f} | {_fmt(m, 'peak_per_read', '.2f')} |")
    return "\n".join(lines) + "\n"


def geometric_means(rows: list[dict]) -> list[dict]:
    """Per (workload of ``SUMMARIZED``, worker count, peer) met in two or more cases: the geometric
    mean of rdarray's time over the peer's, with rdarray's largest peak RSS over the bytes its case
    reads where cases give them (W13)."""
    ratios: dict[tuple, list[float]] = {}
    for r in rows:
        if r.get("ratio") and r["workload"] in SUMMARIZED:
            ratios.setdefault((r["workload"], r.get("workers"), r["impl"]), []).append(r["ratio"])
    summarized = {(r["workload"], r.get("workers"), r["case"]) for r in rows
                  if r.get("ratio") and len(ratios.get((r["workload"], r.get("workers"), r["impl"]), ())) > 1}
    peaks: dict[tuple, list[float]] = {}
    for r in rows:
        if r["impl"] == "rdarray" and r.get("peak_per_read") is not None \
                and (r["workload"], r.get("workers"), r["case"]) in summarized:
            peaks.setdefault((r["workload"], r.get("workers")), []).append(r["peak_per_read"])
    out = []
    for (workload, workers, impl), values in ratios.items():
        if len(values) > 1:
            ppr = peaks.get((workload, workers))
            out.append({"workload": workload, "workers": workers, "impl": impl, "cases": len(values),
                        "ratio": _gmean(values), "peak_per_read": max(ppr) if ppr else None})
    return out


def _gmean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _fmt(row: dict, key: str, spec: str) -> str:
    return format(row[key], spec) if row.get(key) is not None else ""


def chart(rows: list[dict], path: str) -> None:
    """One bar group per workload, one bar per peer (and case): rdarray's time over the peer's, on
    a log scale. Skipped without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("ratio"):
            groups.setdefault(r["workload"], []).append(r)
    if not groups:
        return
    peers = sorted({r["impl"] for bars in groups.values() for r in bars})
    colors = dict(zip(peers, plt.get_cmap("tab20").colors))
    fig, ax = plt.subplots(figsize=(max(6, sum(len(b) for b in groups.values()) * 0.35 + len(groups) * 0.5), 4.5))
    x, ticks = 0.0, []
    for workload, bars in groups.items():
        ticks.append((x + (len(bars) - 1) / 2, workload))
        for r in bars:
            ax.bar(x, r["ratio"], color=colors[r["impl"]], width=0.9)
            x += 1
        x += 1  # a gap between workloads
    ax.set_xticks([t for t, _ in ticks], [w for _, w in ticks])
    ax.axhline(1.0, color="gray", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylabel("rdarray time / peer time (lower is better)")
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colors[p]) for p in peers], labels=peers,
              fontsize="small", ncol=2, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
