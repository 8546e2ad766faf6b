"""``python -m benchmarks.memory_limit [--scale S] [--limit 200MB] [--backend threads] [--only groupby,sort]``

How far a groupby, a sort and a merge over ``.npy`` inputs (1.5 GB at scale 1) read with
``rd.from_npy`` raise the memory of the processes doing the work under a ``memory_limit``.

Each operation runs in a fresh interpreter. The figure is the growth of *anonymous* resident memory
(``RssAnon``: what the process allocated), sampled every 2 ms, of the driver and, on the processes
backend, of its workers together, above where they stood before the operation. The pages of the
memory-mapped inputs (``RssFile``) are the page cache's: the kernel drops them under pressure, so
they are not what a limit bounds; the growth of ``VmHWM`` (the kernel's peak of both, reset
through ``/proc/self/clear_refs``, as the benchmark harness does) is printed beside it. Each
operation's result is small (a groupby with 1,000 groups, the first rows of a sort, a merge's row
count), so what is measured is what rdarray holds while it works, not what it returns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

#: rows at scale 1: 62.5M rows of 24 bytes (1.5 GB), and the merge's right side, 20M rows of 16 bytes
ROWS, RIGHT_ROWS = 62_500_000, 20_000_000
OPERATIONS = ("groupby", "sort", "merge")


def write_inputs(directory: str, scale: float) -> tuple[str, str]:
    """The two ``.npy`` inputs, written chunk by chunk (never whole in memory)."""
    n, m = max(1000, int(ROWS * scale)), max(100, int(RIGHT_ROWS * scale))
    rng = np.random.default_rng(0)
    left = os.path.join(directory, "left.npy")
    right = os.path.join(directory, "right.npy")
    rows = np.lib.format.open_memmap(left, mode="w+", dtype=[("key", "i8"), ("v", "f8"), ("w", "f8")], shape=(n,))
    for start in range(0, n, 1 << 22):
        stop = min(n, start + (1 << 22))
        rows["key"][start:stop] = rng.integers(0, 1000, stop - start)
        rows["v"][start:stop] = rng.random(stop - start)
        rows["w"][start:stop] = rng.normal(size=stop - start)
    rows.flush()
    del rows
    keys = np.lib.format.open_memmap(right, mode="w+", dtype=[("key", "i8"), ("b", "f8")], shape=(m,))
    keys["key"] = rng.permutation(m)
    keys["b"] = rng.random(m)
    keys.flush()
    del keys
    return left, right


def _status(pid: str, *fields: str) -> dict[str, int]:
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name = line.split(":", 1)[0]
            if name in fields:
                found[name] = int(line.split()[1]) * 1024
    return found


class Sampler:
    """The peak of the summed ``RssAnon`` of some processes, and of each, sampled in a thread."""

    def __init__(self, pids: list[str], interval: float = 0.002):
        self.pids, self.interval = pids, interval
        self.start = self.each = self.now()
        self.peak = sum(self.each)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> list[int]:
        return [_status(pid, "RssAnon")["RssAnon"] for pid in self.pids]

    def sample(self) -> None:
        now = self.now()
        self.peak = max(self.peak, sum(now))
        self.each = [max(a, b) for a, b in zip(self.each, now)]

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


def run_one(op: str, left_path: str, right_path: str, limit: str, backend: str, workers: int) -> dict:
    """Run one operation in this (fresh) process and measure it."""
    import rdarray as rd

    with rd.Context(backend=backend, workers=workers, memory_limit=limit) as ctx:
        x, right = rd.from_npy(left_path), rd.from_npy(right_path)
        work = {
            "groupby": lambda: x.groupby("key").agg(s=("v", "sum"), m=("w", "mean")).compute(),
            "sort": lambda: x.sort("v").head(5),
            "merge": lambda: rd.merge(x, right, on="key").count(),
        }[op]
        pids = ["self"] + ([str(p) for p in ctx.executor.worker_pids().values()] if backend == "processes" else [])
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        rss_before = _status("self", "VmRSS")["VmRSS"]
        with Sampler(pids) as sampler:
            start = time.perf_counter()
            result = work()
            seconds = time.perf_counter() - start
        hwm = _status("self", "VmHWM")["VmHWM"]
        store = ctx.store
        return {"op": op, "backend": backend, "workers": ctx.workers, "seconds": round(seconds, 2),
                "anon_growth_mb": round((sampler.peak - sum(sampler.start)) / 1e6, 1),
                "anon_growth_each_mb": [round((b - a) / 1e6, 1) for a, b in zip(sampler.start, sampler.each)],
                "hwm_growth_mb": round((hwm - rss_before) / 1e6, 1),
                "store_peak_mb": round(getattr(store, "peak_bytes", 0) / 1e6, 1),
                "input_mb": round((x.nbytes + (right.nbytes if op == "merge" else 0)) / 1e6, 1),
                "result_rows": int(result) if np.ndim(result) == 0 else len(result)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_limit", description=__doc__.splitlines()[2])
    parser.add_argument("--scale", type=float, default=1.0, help="input size relative to 1.5 GB")
    parser.add_argument("--limit", default="200MB", help="the context's memory_limit")
    parser.add_argument("--backend", default="threads", choices=("threads", "sync", "processes"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", default=",".join(OPERATIONS), help="comma-separated: groupby, sort, merge")
    parser.add_argument("--dir", default=None, help="where to write the inputs (a temporary directory by default)")
    parser.add_argument("--child", nargs=3, metavar=("OP", "LEFT", "RIGHT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(*args.child, args.limit, args.backend, args.workers)))
        return 0
    with tempfile.TemporaryDirectory(prefix="rdarray-memory-", dir=args.dir) as directory:
        left, right = write_inputs(directory, args.scale)
        for op in args.only.split(","):
            command = [sys.executable, "-m", "benchmarks.memory_limit", "--limit", args.limit, "--backend",
                       args.backend, "--workers", str(args.workers), "--child", op, left, right]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            print(json.dumps({"limit": args.limit, **row}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
