"""``python -m benchmarks.gil_share [--seconds 10] [--workers 1] [--rows 50000000]``

The share of W1's task time that holds the GIL, which bounds how far threads can scale it: W1
(``(sqrt(x) * 2 + 1).sum()``) runs in a loop in a child process, sampled twice by py-spy (``pip
install py-spy``; it needs to be allowed to trace the child): once every running thread, once only
the threads holding the GIL. The share is the second count of samples inside rdarray's task
runner over the first, with the frames where the GIL-holding samples fall.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile

CHILD = """
import time, numpy as np, rdarray as rd
with rd.Context(backend="threads", workers={workers}):
    x = rd.from_numpy(np.random.default_rng(0).random({rows}))
    float((np.sqrt(x) * 2 + 1).sum())
    start = time.perf_counter()
    while time.perf_counter() - start < {seconds}:
        float((np.sqrt(x) * 2 + 1).sum())
"""


def samples(raw: str) -> collections.Counter:
    """Samples in rdarray's task runner (key "task") and per innermost frame of those, from a
    py-spy raw file (one ``frame;frame;... count`` line per distinct stack)."""
    out: collections.Counter = collections.Counter()
    with open(raw) as f:
        for line in f:
            stack, _, n = line.rstrip().rpartition(" ")
            if "engine/runner.py" in stack:
                out["task"] += int(n)
                out[stack.split(";")[-1]] += int(n)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gil_share", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rows", type=int, default=50_000_000)
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        parser.error("needs py-spy: pip install py-spy")
    code = CHILD.format(workers=args.workers, rows=args.rows, seconds=args.seconds)
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, flags in (("running", []), ("holding the GIL", ["--gil"])):
            raw = os.path.join(tmp, f"{len(counts)}.txt")
            subprocess.run(["py-spy", "record", "--threads", "--rate", "200", "--format", "raw", "-o", raw, *flags,
                            "--", sys.executable, "-c", code], check=True, capture_output=True)
            counts[kind] = samples(raw)
    running, held = counts["running"]["task"], counts["holding the GIL"]["task"]
    print(f"W1, {args.rows:,} float64, {args.workers} worker(s): {held} of {running} task samples hold the GIL "
          f"({held / max(running, 1):.1%})")
    print("where the GIL is held (innermost frames):")
    for frame, n in counts["holding the GIL"].most_common(9)[1:]:
        print(f"  {n:6d}  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
