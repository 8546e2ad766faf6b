"""W8: Blosc2 compression through the partition frame kernel, against the ``blosc2`` package.

rdarray compresses only through frames (``rdarray.storage.frame``: one C-Blosc2 chunk per
``MAX_CHUNK_BYTES``, one Blosc thread per frame, with header and payload CRC-32 checksums and
every chunk header checked on decode); parallelism comes from encoding partitions on many
threads, which the "W8 frames" cases in ``workloads.py`` measure. Here one whole array is one
frame, against ``blosc2.compress2``/``decompress2`` of the same bytes with the same C-Blosc2
settings (LZ4, clevel 5, byte shuffle, typesize 8, forward-compatible split mode) on one thread:
the difference is what a frame adds to the codec. Both sides allocate their output. Before
timing, the frame's chunk is checked to be byte-identical to blosc2's.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rdarray.storage import frame

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


def _blosc2_side() -> tuple[Callable, Callable] | None:
    """(compress, decompress) of one chunk through the blosc2 package on one thread, or None."""
    try:
        import blosc2
    except ImportError:
        return None
    cparams = blosc2.CParams(codec=blosc2.Codec.LZ4, clevel=CLEVEL, typesize=TYPESIZE, nthreads=1,
                             filters=[0, 0, 0, 0, 0, blosc2.Filter.SHUFFLE], filters_meta=[0] * 6,
                             splitmode=blosc2.SplitMode.FORWARD_COMPAT_SPLIT)
    dparams = blosc2.DParams(nthreads=1)

    def comp(a: np.ndarray) -> bytes:
        return blosc2.compress2(a, cparams=cparams)

    def decomp(chunk: Any, like: np.ndarray) -> np.ndarray:
        out = np.empty_like(like)
        blosc2.decompress2(chunk, dst=out, dparams=dparams)
        return out

    return comp, decomp


def run(scale: float, repeat: int) -> list[dict]:
    """Median seconds of encoding and decoding two 100e6*scale-byte arrays, each one frame."""
    n = int(100e6 * scale) // 8
    rng = np.random.default_rng(0)
    inputs = {"float64 walk": np.cumsum(rng.standard_normal(n)),
              "int64 keys": rng.integers(0, 1000, n, dtype=np.int64)}

    def ours_c(a: np.ndarray) -> np.ndarray:
        return frame.encode(a, CODEC, CLEVEL, FILTER)

    def ours_d(f: np.ndarray, like: np.ndarray) -> np.ndarray:
        return frame.decode(f)

    impls = {"rdarray": (ours_c, ours_d)}
    peer = _blosc2_side()
    if peer is not None:
        impls["blosc2"] = peer

    rows: list[dict] = []
    for label, a in inputs.items():
        if peer is not None:  # identical work: the frame's one chunk is blosc2's chunk
            f = ours_c(a)
            same = bytes(f[frame.read_header(f).header_len:]) == peer[0](a)
            assert same, "the frame's chunk differs from blosc2's"
        comp_fns, decomp_fns, ratio = {}, {}, {}
        for impl, (comp, decomp) in impls.items():
            packed = comp(a)
            ratio[impl] = a.nbytes / max(len(memoryview(packed).cast("B")), 1)
            assert np.array_equal(decomp(packed, a), a), f"{impl} round trip failed"
            comp_fns[impl] = lambda comp=comp, a=a: comp(a)
            decomp_fns[impl] = lambda decomp=decomp, packed=packed, a=a: decomp(packed, a)
        for op, fns in (("compress", comp_fns), ("decompress", decomp_fns)):
            for impl, t in _median_seconds(fns, repeat).items():
                rows.append({"workload": "W8", "case": f"{op} {label}", "impl": impl,
                             "seconds": t, "bytes": a.nbytes, "gbps": a.nbytes / t / 1e9,
                             "ratio": ratio[impl], "nthreads": 1})
    return rows
