"""Scans and windows across partitions: ``np.cumsum``, ``np.cumprod``, ``np.diff``,
``x.map_overlap`` and ``x.rolling`` against NumPy and pandas, on every backend, with empty and
one-row partitions, partitions shorter than the window or depth, and NaN values."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rdarray as rd
from _helpers import BACKENDS, layouts, partitioned

pd = pytest.importorskip("pandas")

N = 60
LAYOUTS = [[N], [0, 1, 0, 20, 1, 1, 0, 37, 0], [1] * N, [2, 0, 3] * 12 + [0] * 3 + [N - 60 + 0]]


def _values(dtype, shape=(N,), seed=0, nan=True):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5, 6, shape).astype(dtype)
    a = rng.normal(size=shape).astype(dtype)
    if nan:
        a[(7,) + (0,) * (len(shape) - 1)] = np.nan
    return a


def _same(got, expected, rtol=0.0):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype, (got.shape, got.dtype, expected.dtype)
    if rtol and expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


# -- cumsum, cumprod, diff --------------------------------------------------------------------------

@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("lengths", LAYOUTS, ids=lambda ls: f"{len(ls)} partitions")
def test_scans_against_numpy(ctx, lengths):
    for dtype in (np.float64, np.int64, np.bool_):
        a = _values(dtype)
        x = partitioned(a, lengths)
        _same(np.cumsum(x).compute(), np.cumsum(a), rtol=1e-12)
        _same(np.cumprod(x).compute(), np.cumprod(a), rtol=1e-12)
        _same(np.diff(x).compute(), np.diff(a))
        _same(np.diff(x, n=3).compute(), np.diff(a, n=3))
    b = _values(np.float64, (N, 3), seed=1)
    y = partitioned(b, lengths)
    _same(np.cumsum(y, axis=0).compute(), np.cumsum(b, axis=0), rtol=1e-12)
    _same(y.cumsum(axis=0).compute(), np.cumsum(b, axis=0), rtol=1e-12)
    _same(np.cumprod(y, axis=0).compute(), np.cumprod(b, axis=0), rtol=1e-12)
    _same(np.cumsum(y, axis=1).compute(), np.cumsum(b, axis=1))
    _same(np.diff(y, axis=0).compute(), np.diff(b, axis=0))
    _same(np.diff(y).compute(), np.diff(b))  # axis=-1: within rows
    _same(np.diff(y, n=2, axis=0, prepend=0.0, append=b[:2]).compute(),
          np.diff(b, n=2, axis=0, prepend=0.0, append=b[:2]))


def test_scan_dtypes_and_edges():
    a = _values(np.int8)
    x = partitioned(a, LAYOUTS[1])
    _same(np.cumsum(x).compute(), np.cumsum(a))  # int8 sums accumulate in the platform integer
    _same(np.cumsum(x, dtype=np.float32).compute(), np.cumsum(a, dtype=np.float32))
    f = _values(np.float32)
    _same(np.cumsum(partitioned(f, LAYOUTS[1])).compute(), np.cumsum(f), rtol=1e-5)
    _same(np.diff(partitioned(a[:3], [1, 0, 2]), n=5).compute(), np.diff(a[:3], n=5))
    _same(np.diff(x, n=0).compute(), a)
    _same(np.cumsum(partitioned(a[:0], [0, 0])).compute(), np.cumsum(a[:0]))
    with pytest.raises(ValueError, match="axis=0"):
        np.cumsum(rd.from_numpy(np.ones((4, 2))))
    with pytest.raises(ValueError, match="non-negative"):
        np.diff(x, n=-1)
    with pytest.raises(TypeError, match="out="):
        np.cumsum(x, out=np.empty(N))


def test_cumsum_of_one_piece_is_numpys():
    """The first piece of the first partition is NumPy's running sum itself."""
    a = np.random.default_rng(3).normal(size=1000)
    assert np.array_equal(np.cumsum(rd.from_numpy(a, npartitions=1)).compute(), np.cumsum(a))


@given(st.data())
def test_scans_any_layout(data):
    n = data.draw(st.integers(0, 40))
    a = np.asarray(data.draw(st.lists(st.floats(-1e3, 1e3) | st.just(np.nan), min_size=n, max_size=n)), float)
    lengths = data.draw(layouts(n))
    x = partitioned(a, lengths)
    _same(np.cumsum(x).compute(), np.cumsum(a), rtol=1e-9)
    order = data.draw(st.integers(1, 4))
    _same(np.diff(x, n=order).compute(), np.diff(a, n=order))


# -- map_overlap --------------------------------------------------------------------------------------

def _moving(b):
    """A centered moving sum of 5 rows (fewer at the ends), the same on any block's interior."""
    padded = np.concatenate([np.zeros((2,) + b.shape[1:]), b, np.zeros((2,) + b.shape[1:])])
    return sum(padded[i:i + len(b)] for i in range(5))


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("lengths", LAYOUTS, ids=lambda ls: f"{len(ls)} partitions")
def test_map_overlap(ctx, lengths):
    a = np.arange(N * 2, dtype=float).reshape(N, 2) ** 1.5
    x = partitioned(a, lengths)
    out = x.map_overlap(_moving, depth=2)
    assert out.partition_lengths == tuple(lengths)
    _same(out.compute(), _moving(a))
    shifted = x.map_overlap(lambda b: np.concatenate([b[:1] * 0, b[:-1]]), depth=(1, 0))
    _same(shifted.compute()[1:], a[:-1])


def test_map_overlap_errors_and_dtype():
    x = partitioned(np.arange(10.0), [3, 0, 7])
    with pytest.raises(ValueError, match="one row out per row in"):
        x.map_overlap(lambda b: b[1:], depth=1).compute()
    with pytest.raises(ValueError, match="non-negative"):
        x.map_overlap(lambda b: b, depth=-1)
    with pytest.raises(TypeError):
        x.map_overlap(3, depth=1)
    with pytest.raises(IndexError, match="dtype="):
        x.map_overlap(lambda b: b - b[0], depth=1)  # fails on an empty block
    _same(x.map_overlap(lambda b: b - b[0], depth=1, dtype=float).compute()[:3], np.arange(3.0))
    got = x.map_overlap(lambda b: (b > 4), depth=1)
    assert got.dtype == bool
    _same(got.compute(), np.arange(10.0) > 4)


# -- rolling ------------------------------------------------------------------------------------------

FUNCS = ["sum", "mean", "min", "max", "std", "var"]


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("lengths", LAYOUTS, ids=lambda ls: f"{len(ls)} partitions")
def test_rolling_against_pandas(ctx, lengths):
    a = _values(np.float64, (N, 2), seed=2)
    a[30:33, 1] = np.nan
    x = partitioned(a, lengths)
    frame = pd.DataFrame(a)
    for window, min_periods in [(1, None), (4, None), (10, 3), (7, 0)]:
        for f in FUNCS:
            got = getattr(x.rolling(window, min_periods=min_periods), f)().compute()
            expected = getattr(frame.rolling(window, min_periods=min_periods), f)().to_numpy()
            _same(got, expected, rtol=1e-10)
    series = pd.Series(a[:, 0])
    for f in FUNCS:
        _same(getattr(x[:, 0].rolling(5), f)().compute(), getattr(series.rolling(5), f)().to_numpy(), rtol=1e-10)


def test_rolling_integers_and_errors():
    a = _values(np.int64)
    x = partitioned(a, LAYOUTS[1])
    _same(x.rolling(3).sum().compute(), pd.Series(a).rolling(3).sum().to_numpy())
    _same(x.rolling(3).std(ddof=0).compute(), pd.Series(a).rolling(3).std(ddof=0).to_numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="window"):
        x.rolling(0)
    with pytest.raises(ValueError, match="min_periods"):
        x.rolling(3, min_periods=4)
    assert "window=3" in repr(x.rolling(3))


@given(st.data())
def test_rolling_any_layout(data):
    n = data.draw(st.integers(0, 30))
    a = np.asarray(data.draw(st.lists(st.floats(-1e3, 1e3) | st.just(np.nan), min_size=n, max_size=n)), float)
    lengths = data.draw(layouts(n))
    window = data.draw(st.integers(1, 8))
    min_periods = data.draw(st.none() | st.integers(0, window))
    f = data.draw(st.sampled_from(FUNCS))
    got = getattr(partitioned(a, lengths).rolling(window, min_periods=min_periods), f)().compute()
    expected = getattr(pd.Series(a).rolling(window, min_periods=min_periods), f)().to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-6, equal_nan=True)
