"""Helpers shared by test_reductions, test_lazy, test_planner, test_context and test_errors.

They do not depend on conftest.py, so each of those modules also runs on its own.
"""
from __future__ import annotations

import collections
import json
import os
import signal
import struct as struct_
import tempfile
import time
import zlib

import numpy as np
import pytest
from hypothesis import strategies as st

import rdarray as rd

BACKENDS = [pytest.param({"backend": "threads", "workers": 2}, id="threads"),
            pytest.param({"backend": "sync"}, id="sync"),
            pytest.param({"backend": "processes", "workers": 2}, id="processes"),
            pytest.param({"backend": "dask"}, id="dask", marks=pytest.mark.slow)]


def split(a: np.ndarray, lengths) -> list[np.ndarray]:
    """``a`` cut into consecutive blocks of the given lengths (zeros allowed)."""
    assert sum(lengths) == len(a)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    return [a[bounds[k]:bounds[k + 1]] for k in range(len(lengths))]


def struct(cols: dict) -> np.ndarray:
    """A structured array with one field per column, in order."""
    n = len(next(iter(cols.values())))
    out = np.empty(n, [(name, np.asarray(c).dtype) for name, c in cols.items()])
    for name, c in cols.items():
        out[name] = c
    return out


def partitioned(a: np.ndarray, lengths) -> rd.PartitionedArray:
    """``a`` as a PartitionedArray whose partitions have exactly the given lengths."""
    x = rd.from_partitions(split(a, lengths))
    assert x.partition_lengths == tuple(lengths)
    return x


def value_of(r):
    """The computed value of a reduction result (a Lazy, or a PartitionedArray for narrow axes)."""
    assert isinstance(r, (rd.Lazy, rd.PartitionedArray)), type(r)
    return r.compute()


def rtol_for(dtype) -> float:
    """Reassociation tolerance for sums in ``dtype`` (0 means exact)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc":
        return 0.0
    return {16: 2e-3, 32: 2e-6, 64: 1e-12}[np.finfo(dtype).bits]


def assert_close(got, expected, rtol: float = 1e-12, atol: float = 0.0) -> None:
    """Same dtype and shape as ``expected``; exact for non-float kinds, else within ``rtol``/``atol``.

    NaN matches NaN; infinities must match exactly.
    """
    got_arr, exp_arr = np.asarray(got), np.asarray(expected)
    assert got_arr.dtype == exp_arr.dtype, (got_arr.dtype, exp_arr.dtype)
    assert got_arr.shape == exp_arr.shape, (got_arr.shape, exp_arr.shape)
    if exp_arr.dtype.kind in "fc" and (rtol or atol):
        np.testing.assert_allclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got_arr, exp_arr, strict=True)


class Counter:
    """A function for ``map_partitions`` that counts its calls on non-empty partitions, in whichever
    process they run (each call appends a line to a file).

    Calls are keyed by the first value of the partition (so build inputs whose partitions start
    with distinct values). Calls on empty partitions (dtype inference) are not counted.
    """

    def __init__(self, fn=None):
        self.fn = fn or (lambda b: b + 0)
        fd, self._path = tempfile.mkstemp(prefix="counter-", dir=_counter_directory())
        os.close(fd)
        self.__name__ = "counting"

    def __call__(self, b):
        if len(b):
            first = b.reshape(-1)[0].item()
            line = json.dumps(first) if isinstance(first, (int, float)) else json.dumps(repr(first))
            with open(self._path, "a") as f:
                f.write(line + "\n")
        return self.fn(b)

    @property
    def calls(self) -> collections.Counter:
        with open(self._path) as f:
            return collections.Counter(json.loads(line) for line in f)

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        open(self._path, "w").close()

    def assert_each_once(self, npartitions: int) -> None:
        """Every non-empty partition was computed exactly once."""
        calls = self.calls
        assert len(calls) == npartitions, dict(calls)
        assert set(calls.values()) == {1}, dict(calls)


_counters: list = []


def _counter_directory() -> str:
    """One temporary directory for the counters of this session, removed at exit."""
    if not _counters:
        _counters.append(tempfile.TemporaryDirectory(prefix="rdarray-test-counters-"))
    return _counters[0].name


@st.composite
def layouts(draw, n: int, max_partitions: int = 7):
    """Partition lengths summing to ``n``: one to ``max_partitions`` partitions, any may be empty."""
    k = draw(st.integers(1, max_partitions))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    edges = [0] + cuts + [n]
    return [edges[i + 1] - edges[i] for i in range(k)]


def stage_count(plan_text: str) -> int:
    """The number of stages an ``explain()`` text lists (its ``Stage k:`` lines)."""
    return sum(1 for line in plan_text.splitlines() if line.startswith("Stage "))


# -- faults: worker processes killed mid-computation (processes and dask backends) -----------------

def keys_and_values(n: int = 4000, groups: int = 50, seed: int = 0) -> np.ndarray:
    """Rows of an int64 key ``k`` (``groups`` values) and a float64 ``v``."""
    rng = np.random.default_rng(seed)
    return struct({"k": rng.integers(0, groups, n), "v": rng.standard_normal(n)})


def group_sums(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy's sorted keys of ``a`` and the sum of ``v`` for each."""
    keys, inverse = np.unique(a["k"], return_inverse=True)
    return keys, np.bincount(inverse, weights=a["v"])


def kill_first_time(marker: str) -> None:
    """SIGKILL the calling process, the first time only (the marker file remembers)."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)


def killing_group_total(marker: str, key: int):
    """A ``groupby.apply`` function giving each group's key and total of ``v``; the first time it
    meets ``key`` it kills the worker running it."""
    def total(group):
        if group["k"][0] == key:
            kill_first_time(marker)
        return struct({"k": group["k"][:1], "total": [group["v"].sum()]})
    return total


def assert_group_totals(got: np.ndarray, a: np.ndarray) -> None:
    keys, sums = group_sums(a)
    assert np.array_equal(got["k"], keys)
    np.testing.assert_allclose(got["total"], sums, rtol=1e-12)


# -- processes: waiting on them -------------------------------------------------------------------
def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except FileNotFoundError:
        return False


def wait_until(condition, timeout: float = 10.0) -> bool:
    """Whether ``condition()`` holds within ``timeout`` seconds (polled every 50 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# -- saved arrays: their files ----------------------------------------------------------------------
def part_file(path, p: int):
    """The frame file of partition ``p`` of the array saved at ``path`` (docs/FORMAT.md)."""
    meta = json.loads(open(os.path.join(path, "_meta.json"), "rb").read())
    version = f"v-{meta['id']}" if "id" in meta else ""  # a version-1 array: beside _meta.json
    return type(path)(os.path.join(path, version, f"part-{p:05d}.rdb"))


def saved_files(path) -> dict:
    """``{relative path: bytes}`` of every file under the directory ``path``."""
    files = {}
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                files[os.path.relpath(full, path)] = f.read()
    return files


def version_1_frame(f: bytes) -> bytes:
    """The version-1 frame (no owner field) of the version-2 frame ``f`` (docs/FORMAT.md)."""
    b = bytearray(f[:48] + f[72:])
    flags, header_len = struct_.unpack_from("<HI", f, 10)
    struct_.pack_into("<HHI", b, 8, 1, flags, header_len - 24)
    struct_.pack_into("<I", b, 44, zlib.crc32(b[48:header_len - 24], zlib.crc32(b[:44])))
    return bytes(b)
