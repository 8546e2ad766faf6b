"""W8: Blosc2 codec throughput, rdarray's kernel against the ``blosc2`` Python package.

Both sides compress the same bytes with the same C-Blosc2 settings (LZ4, clevel 5, byte
shuffle, typesize 8, forward-compatible split mode, ``os.cpu_count()`` Blosc threads), one
call per chunk of at most ``MAX_CHUNK_BYTES``; compression allocates its output on both
sides, decompression writes into a preallocated array on both sides. Before timing, the
two are checked to produce byte-identical chunks with one thread (with several, Blosc
writes blocks in completion order, so only the sizes match).
"""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rdarray._core import codec as kernel
from rdarray.storage import codec

CODEC, CLEVEL, FILTER, TYPESIZE = "lz4", 5, "shuffle", 8


def _median_seconds(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median wall time of each fn after one warm-up; the fns take turns in every round,
    so a change in machine load hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for rnd in range(max(repeat, 1) + 1):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            if rnd:  # round 0 is the warm-up
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _chunks(a: np.ndarray) -> list[np.ndarray]:
    """Split a 1-D array into pieces of at most MAX_CHUNK_BYTES (whole items)."""
    step = kernel.MAX_CHUNK_BYTES // a.itemsize
    return [a[i:i + step] for i in range(0, max(a.size, 1), step)]


def _blosc2_side(nthreads: int) -> tuple[Callable, Callable, Callable] | None:
    """(compress, decompress_into, one-thread compress) through the blosc2 package, or None."""
    try:
        import blosc2
    except ImportError:
        return None
    blosc2.set_nthreads(nthreads)

    def cparams(nth: int) -> Any:
        return blosc2.CParams(codec=blosc2.Codec.LZ4, clevel=CLEVEL, typesize=TYPESIZE,
                              nthreads=nth, filters=[0, 0, 0, 0, 0, blosc2.Filter.SHUFFLE],
                              filters_meta=[0] * 6,
                              splitmode=blosc2.SplitMode.FORWARD_COMPAT_SPLIT)
    many, one = cparams(nthreads), cparams(1)
    dparams = blosc2.DParams(nthreads=nthreads)

    def comp(piece: np.ndarray) -> bytes:
        return blosc2.compress2(piece, cparams=many)

    def comp1(piece: np.ndarray) -> bytes:
        return blosc2.compress2(piece, cparams=one)

    def decomp(chunk: Any, out: np.ndarray) -> None:
        blosc2.decompress2(chunk, dst=out, dparams=dparams)

    return comp, decomp, comp1


def run(scale: float, repeat: int) -> list[dict]:
    """Median seconds of compress and decompress of two 100e6*scale-byte arrays per impl."""
    nbytes = int(100e6 * scale)
    n = nbytes // 8
    rng = np.random.default_rng(0)
    inputs = {"float64 walk": np.cumsum(rng.standard_normal(n)),
              "int64 keys": rng.integers(0, 1000, n, dtype=np.int64)}
    nth = os.cpu_count() or 1

    def ours_c(piece: np.ndarray) -> np.ndarray:
        return codec.compress(piece, CODEC, CLEVEL, FILTER, TYPESIZE, nthreads=nth)

    def ours_d(chunk: Any, out: np.ndarray) -> None:
        codec.decompress_into(chunk, out, nthreads=nth)

    impls = {"rdarray": (ours_c, ours_d)}
    peer = _blosc2_side(nth)
    if peer is not None:
        impls["blosc2"] = peer[:2]

    rows: list[dict] = []
    for label, a in inputs.items():
        pieces = _chunks(a)
        if peer is not None:  # identical work: same bytes out with one thread
            sample = pieces[0][: 1 << 20]
            same = peer[2](sample) == codec.compress(sample, CODEC, CLEVEL, FILTER, TYPESIZE).tobytes()
            assert same, "rdarray and blosc2 do not produce the same chunk"
        comp_fns, decomp_fns, ratio = {}, {}, {}
        for impl, (comp, decomp) in impls.items():
            chunks = [comp(p) for p in pieces]
            outs = [np.empty_like(p) for p in pieces]
            ratio[impl] = a.nbytes / max(sum(len(memoryview(c).cast("B")) for c in chunks), 1)
            for p, c, o in zip(pieces, chunks, outs):
                decomp(c, o)
                assert np.array_equal(o, p), f"{impl} round trip failed"
            comp_fns[impl] = lambda comp=comp, ps=pieces: [comp(p) for p in ps]
            decomp_fns[impl] = lambda d=decomp, cs=chunks, os_=outs: [d(c, o) for c, o in zip(cs, os_)]
        for op, fns in (("compress", comp_fns), ("decompress", decomp_fns)):
            for impl, t in _median_seconds(fns, repeat).items():
                rows.append({"workload": "W8", "case": f"{op} {label}", "impl": impl,
                             "seconds": t, "bytes": a.nbytes, "gbps": a.nbytes / t / 1e9,
                             "ratio": ratio[impl], "nthreads": nth})
    return rows
