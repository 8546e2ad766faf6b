"""rdarray shared memory map: worker processes read one large .npy file without copying it.

Writes a large ``.npy`` file (2 GB; ``--small`` a few MB), opens it with ``rd.from_npy`` and
processes it on the processes backend. The driver sends each worker only a description of its
partitions; every worker maps the same file itself, so its pages live once in the operating
system's page cache and are shared by all workers instead of being copied into each. The memory
figures of the worker processes (Linux ``/proc``) show it: file-backed pages (RssFile) come and
go with the partitions a worker reads, while its private memory (RssAnon) stays small. A
pure-Python per-row function shows why processes help: on threads it runs on one core (the GIL).
"""

import argparse
import contextlib
import itertools
import os
import tempfile
import threading
import time

import numpy as np

import rdarray as rd

FIELDS = ("VmRSS", "RssAnon", "RssFile")


def timed(label, fn):
    start = time.perf_counter()
    value = fn()
    print(f"  {label:<38} {time.perf_counter() - start:8.3f} s")
    return value


def write_npy(path, rows, chunk=2_000_000):
    """Column j ~ normal(j, 1 + j/4), written chunk by chunk so the driver never holds it all."""
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(rows, 8))
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        out[start:start + n] = rng.normal(np.arange(8), 1 + np.arange(8) / 4, size=(n, 8))
    out.flush()
    del out


def longest_rise(block):
    """Per row, in plain Python: the longest run of increasing values along the 8 columns."""
    result = []
    for row in block.tolist():
        best = run = 1
        for a, b in itertools.pairwise(row):
            run = run + 1 if b > a else 1
            best = max(best, run)
        result.append(best)
    return np.array(result, dtype=np.int64)


def memory(pid):
    """VmRSS, RssAnon (private) and RssFile (file-backed) of a process in bytes, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    return {k: int(status[k].split()[0]) * 1024 for k in FIELDS}


class PeakMemory:
    """The peak figures of some processes while a ``with`` block runs, read every 20 ms."""

    def __init__(self, pids):
        self.pids, self.peak, self._stop = pids, {pid: dict.fromkeys(FIELDS, 0) for pid in pids}, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.wait(0.02):
            for pid in self.pids:
                with contextlib.suppress(FileNotFoundError):  # a worker that died (and was replaced)
                    self.peak[pid] = {k: max(v, self.peak[pid][k]) for k, v in memory(pid).items()}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main(rows: int, path: str) -> None:
    print(f"writing {rows:,} x 8 float64 rows to {path}")
    timed("write the .npy file", lambda: write_npy(path, rows))
    size = os.path.getsize(path)
    subset = slice(0, rows // 16)  # the slow pure-Python function runs on the first 1/16 of the rows
    with rd.Context(backend="processes", workers=2) as ctx:
        print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")
        x = rd.from_npy(path)
        print(f"data: {rows:,} rows in {x.npartitions} partitions ({size / 1e6:,.0f} MB, memory-mapped)\n")

        pids = {f"worker {w}": pid for w, pid in sorted(ctx.executor.worker_pids().items())}
        pids["driver"] = os.getpid()
        on_linux = os.path.exists(f"/proc/{os.getpid()}/status")
        sampler = PeakMemory(list(pids.values()) if on_linux else [])
        with sampler:  # RssAnon's peak includes one partition's rows as Python lists in longest_rise
            mean, std, (counts, edges) = timed("column mean, std, histogram", lambda: rd.compute(
                x.mean(axis=0), x.std(axis=0), x[:, 0].histogram(bins=8, range=(-4.0, 4.0))))
            runs = timed(f"longest_rise on {subset.stop:,} rows", x[subset].map_partitions(longest_rise).compute)
    with rd.Context(backend="threads", workers=2):  # the same Python function holds the GIL: one core at a time
        threaded = rd.from_npy(path)[subset].map_partitions(longest_rise)
        threaded = timed("the same on the threads backend", threaded.compute)

    print("\nthe same with NumPy on np.load(mmap_mode='r'):")
    a = np.load(path, mmap_mode="r")
    ref_mean, ref_std, ref_counts = timed("column mean, std, histogram", lambda: (
        a.mean(axis=0), a.std(axis=0), np.histogram(a[:, 0], bins=8, range=(-4.0, 4.0))[0]))
    rise = np.diff(a[subset], axis=1) > 0  # the same longest runs, vectorized over the rows
    run = best = np.ones(len(rise), dtype=np.int64)
    for j in range(rise.shape[1]):
        run = np.where(rise[:, j], run + 1, 1)
        best = np.maximum(best, run)

    print("\ncolumn means", " ".join(f"{v:6.3f}" for v in mean))
    print("column stds ", " ".join(f"{v:6.3f}" for v in std))
    for lo, hi, n in zip(edges[:-1], edges[1:], counts):
        print(f"  column 0 in [{lo:+.0f}, {hi:+.0f}) {'#' * int(40 * n / counts.max()):<40} {n:,}")
    print("longest rising run per row:", {k: int(n) for k, n in enumerate(np.bincount(runs)) if n})

    if on_linux:
        print(f"\npeak memory while computing (MB; the file is {size / 1e6:,.0f} MB):")
        print(f"  {'process':<10} {'pid':>8} {'VmRSS':>8} {'RssAnon':>8} {'RssFile':>8}")
        for name, pid in pids.items():
            print(f"  {name:<10} {pid:>8}" + "".join(f" {sampler.peak[pid][k] / 1e6:>8,.0f}" for k in FIELDS))
    else:
        print("\nper-process memory figures are unavailable here (no /proc)")

    assert np.allclose(mean, ref_mean, rtol=1e-10) and np.allclose(std, ref_std, rtol=1e-10)
    assert np.array_equal(counts, ref_counts) and np.array_equal(runs, best) and np.array_equal(threaded, best)
    full_size = on_linux and size > 1e9  # at --small size the interpreter's own memory dominates
    if full_size:
        assert all(sampler.peak[pid]["RssAnon"] < size / 4 for name, pid in pids.items() if name != "driver")
    print("\nall results agree with NumPy" + (", and no worker copied the file" if full_size else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny file (for tests)")
    parser.add_argument("--path", help="where to write the .npy file (default: a temporary directory); "
                                       "it is removed at the end")
    args = parser.parse_args()
    n = 100_000 if args.small else 32_000_000
    with tempfile.TemporaryDirectory() as tmp:
        target = args.path or os.path.join(tmp, "shared_memmap.npy")
        try:
            main(n, target)
        finally:
            if os.path.exists(target):
                os.remove(target)
