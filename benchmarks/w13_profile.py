"""``python -m benchmarks.w13_profile [--rows N] [--only P1,P3] [--top 15] [--callers 3] [--dump DIR]``

Where rdarray's time goes in W13's pipelines (``tables.py``): each pipeline is timed on the threads
backend (all workers), then run once more on the sync backend under cProfile, so that every task
runs on the profiled thread, and the functions that took the most time are printed, with the
callers of the first few (NumPy's ``astype`` says little without them). ``--dump DIR``
also writes each profile as ``DIR/P1.prof`` (for ``snakeviz`` or ``pstats``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

import rdarray as rd

from . import tables as T


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.w13_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the fact table")
    parser.add_argument("--only", default="", help="comma-separated pipelines, e.g. P1,P3")
    parser.add_argument("--top", type=int, default=15, help="functions listed per pipeline")
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"],
                        help="order of the listing (own time, or time including callees)")
    parser.add_argument("--callers", type=int, default=3, help="list the callers of this many top functions")
    parser.add_argument("--dump", default="", help="directory for the .prof files")
    args = parser.parse_args(argv)
    wanted = [p.strip().upper() for p in args.only.split(",") if p.strip()] or list(T.RDARRAY)
    unknown = [p for p in wanted if p not in T.RDARRAY]
    if unknown:
        parser.error(f"unknown pipeline(s) {', '.join(unknown)}; available: {', '.join(T.RDARRAY)}")

    data = T.make_tables(args.rows)
    print(f"W13 profile: {args.rows:,} rows of {len(T.SALES.names)} fields "
          f"({data['sales'].nbytes / 1e6:.0f} MB)", flush=True)
    threads = rd.get_context()
    x = T.rdarray_tables(data)
    with rd.Context(backend="sync") as sync:
        xs = T.rdarray_tables(data)
        for p in wanted:
            with threads.as_default():
                T.RDARRAY[p](x)  # warm-up
                start = time.perf_counter()
                T.RDARRAY[p](x)
                wall = time.perf_counter() - start
            with sync.as_default():
                profile = cProfile.Profile()
                start = time.perf_counter()
                profile.enable()
                T.RDARRAY[p](xs)
                profile.disable()
                one = time.perf_counter() - start
            print_profile(profile, args, args.sort,
                          f"{T.title(data, p)}: {wall:.3f} s on {threads.workers} threads, {one:.3f} s on one "
                          f"thread under cProfile; read {T.read_bytes(data, p) / 1e6:.0f} MB", f"{p}.prof")
    return 0


def print_profile(profile, args, sort: str, heading: str, dump_name: str) -> None:
    """Print ``heading``, the top ``args.top`` functions of ``profile`` by ``sort``, the callers of
    the first ``args.callers``, and dump it into ``args.dump`` as ``dump_name`` when asked."""
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(args.top)
    print(f"\n== {heading}")
    print(_listing(out.getvalue()))
    if args.callers:
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.print_callers(args.callers)
        print("callers of the first functions:")
        print(_listing(out.getvalue(), "Function"))
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
        stats.dump_stats(os.path.join(args.dump, dump_name))


def _listing(text: str, header: str = "ncalls") -> str:
    """pstats' table without its preamble (the header line onward)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith(header)), 0)
    return "\n".join(line for line in lines[start:] if line.strip())


if __name__ == "__main__":
    sys.exit(main())
