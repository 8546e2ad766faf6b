"""``python -m benchmarks.text_profile [--scale 0.1] [--only W3-text,W5-text] [--top 15] [--callers 3] [--dump DIR]``

Where rdarray's time goes in the text-key workloads (W3-text, W5-text of ``workloads.py``): each
case is timed on the threads backend (all workers), then run once more on the sync backend under
cProfile, so that every task runs on the profiled thread, and the functions that took the most own
time are printed, with the callers of the first few. ``--dump DIR`` also writes each profile as
``DIR/<workload>-<case number>.prof``.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import time

import rdarray as rd

from .w13_profile import print_profile
from .workloads import w3_text, w5_text

WORKLOADS = {"W3-TEXT": w3_text, "W5-TEXT": w5_text}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="data size relative to BENCHMARKS.md")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W3-text")
    parser.add_argument("--top", type=int, default=15, help="functions listed per case")
    parser.add_argument("--callers", type=int, default=3, help="list the callers of this many top functions")
    parser.add_argument("--dump", default="", help="directory for the .prof files")
    args = parser.parse_args(argv)
    wanted = [w.strip().upper() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in wanted if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; available: W3-text, W5-text")

    threads = rd.get_context()
    sync = rd.Context(backend="sync")  # not entered: the inputs are made and timed on the threads backend
    try:
        for w in wanted:
            for i, case in enumerate(WORKLOADS[w](args.scale)):  # partitioned for the threads backend
                ours = case.impls["rdarray"]
                ours()  # warm-up
                start = time.perf_counter()
                ours()
                wall = time.perf_counter() - start
                with sync.as_default():
                    ours()  # warm-up
                    profile = cProfile.Profile()
                    start = time.perf_counter()
                    profile.enable()
                    ours()
                    profile.disable()
                    one = time.perf_counter() - start
                print_profile(profile, args, "tottime",
                              f"{case.workload}: {case.title}: {wall:.3f} s on {threads.workers} threads, "
                              f"{one:.3f} s on one thread under cProfile", f"{case.workload}-{i + 1}.prof")
    finally:
        sync.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
