"""``python -m benchmarks [--quick] [--scale S] [--only W1,W10] [--repeat N] [--out DIR]``

Runs the workloads side by side with the installed peers and writes ``report.md`` and
``results.json`` (and ``chart.png`` when matplotlib is installed) into ``--out``.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)

    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    repeat = args.repeat or (1 if args.quick else 3)
    known = {w.upper(): w for w in WORKLOADS}  # --only is case-insensitive: w3-text names W3-text
    wanted = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in known]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; available: {', '.join(WORKLOADS)}")
    selected = [known[w] for w in wanted] or list(WORKLOADS)

    rows: list[dict] = []
    for wid in selected:
        if wid == "W8":
            from .codec_bench import run as run_codec

            rows.extend(run_codec(scale, repeat))
        for case in WORKLOADS[wid](scale):
            print(f"{case.workload}: {case.title}", file=sys.stderr, flush=True)
            rows.extend(run_case(case, repeat))
    add_ratios(rows)
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
    """``ratio``: rdarray's time over the peer's, within the same workload and case."""
    ours = {(r["workload"], r["case"]): r["seconds"] for r in rows if r["impl"] == "rdarray"}
    for r in rows:
        mine = ours.get((r["workload"], r["case"]))
        r["ratio"] = None if mine is None or r["impl"] == "rdarray" else mine / r["seconds"]


def machine(scale: float, repeat: int) -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "rdarray": rd.__version__,
            "cpus": os.cpu_count(), "platform": platform.platform(), "scale": scale, "repeat": repeat}


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [f"# rdarray benchmarks (scale {meta['scale']}, median of {meta['repeat']})", "",
             f"{meta['cpus']} CPUs, {meta['platform']}, Python {meta['python']}, NumPy {meta['numpy']}", "",
             "| workload | case | impl | median s | rdarray / impl | GB/s | µs/task | peak RSS MB | peak / read "
             "| agrees |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        peak = format(r["peak_rss_bytes"] / 1e6, ".0f") if r.get("peak_rss_bytes") is not None else ""
        lines.append(f"| {r['workload']} | {r['case']} | {r['impl']} | {r['seconds']:.4f} | "
                     f"{_fmt(r, 'ratio', '.2f')} | {_fmt(r, 'gbps', '.2f')} | {_fmt(r, 'us_per_task', '.1f')} | "
                     f"{peak} | {_fmt(r, 'peak_per_read', '.2f')} | {'yes' if r.get('agrees', True) else 'NO'} |")
    means = geometric_means(rows)
    if means:
        lines += ["", "Geometric means over a workload's cases:", "",
                  "| workload | peer | cases | rdarray / peer | rdarray's largest peak / read |",
                  "| --- | --- | ---: | ---: | ---: |"]
        for m in means:
            lines.append(f"| {m['workload']} | {m['impl']} | {m['cases']} | {m['ratio']:.2f} | "
                         f"{_fmt(m, 'peak_per_read', '.2f')} |")
    return "\n".join(lines) + "\n"


def geometric_means(rows: list[dict]) -> list[dict]:
    """Per (workload of ``SUMMARIZED``, peer) met in two or more cases: the geometric mean of rdarray's time over the
    peer's, with rdarray's largest peak RSS over the bytes its case reads where cases give them (W13)."""
    ratios: dict[tuple, list[float]] = {}
    for r in rows:
        if r.get("ratio") and r["workload"] in SUMMARIZED:
            ratios.setdefault((r["workload"], r["impl"]), []).append(r["ratio"])
    summarized = {(r["workload"], r["case"]) for r in rows
                  if r.get("ratio") and len(ratios.get((r["workload"], r["impl"]), ())) > 1}
    peaks: dict[str, list[float]] = {}
    for r in rows:
        if r["impl"] == "rdarray" and r.get("peak_per_read") is not None and (r["workload"], r["case"]) in summarized:
            peaks.setdefault(r["workload"], []).append(r["peak_per_read"])
    out = []
    for (workload, impl), values in ratios.items():
        if len(values) > 1:
            ppr = peaks.get(workload)
            out.append({"workload": workload, "impl": impl, "cases": len(values), "ratio": _gmean(values),
                        "peak_per_read": max(ppr) if ppr else None})
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
