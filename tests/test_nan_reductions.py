"""NumPy's NaN-skipping reductions against NumPy on the same data: NaN and NaT in every partition
layout, all-NaN columns, empty partitions, integers (no NaN), every axis."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from _helpers import BACKENDS, layouts, partitioned

NAN_FUNCTIONS = ["nansum", "nanprod", "nanmin", "nanmax", "nanmean", "nanvar", "nanstd", "nanargmin", "nanargmax"]


def _expected(name, a, **kwargs):
    if name in ("nanargmin", "nanargmax") and a.dtype.kind in "mM":
        # NumPy's nanargmin/nanargmax stop at the first NaT; rdarray skips NaT as pandas' argmin does
        pd = pytest.importorskip("pandas")
        return np.intp(getattr(pd.Series(a), name[3:])(skipna=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return getattr(np, name)(a, **kwargs)
        except ValueError as exc:
            return exc


def _check(name, a, x, **kwargs):
    expected = _expected(name, a, **kwargs)
    if isinstance(expected, ValueError):
        with pytest.raises(ValueError, match="All-NaN|empty|zero-size"):
            np.asarray(getattr(np, name)(x, **kwargs).compute())
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = getattr(np, name)(x, **kwargs)
        got = np.asarray(result.compute() if hasattr(result, "compute") else result)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (name, kwargs, got.shape, expected.shape)
    assert got.dtype == expected.dtype, (name, kwargs, got.dtype, expected.dtype)
    if expected.dtype.kind in "mM" or name in ("nanargmin", "nanargmax"):
        np.testing.assert_array_equal(got, expected)
    else:
        # rounding errors grow with the magnitude of the values summed, not with the result: a sum
        # that cancels, or the variance of equal values, is exact only to eps times that magnitude
        finite = np.abs(a[np.isfinite(a)]) if a.dtype.kind == "f" else np.abs(a)
        scale = max(1.0, float(finite.max())) if finite.size else 1.0
        if name == "nanstd":
            got, expected, name = got ** 2, expected ** 2, "nanvar"
        atol = 1e-12 * scale ** (2 if name == "nanvar" else 1)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=atol, equal_nan=True)


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("name", NAN_FUNCTIONS)
def test_against_numpy_with_nan_columns(ctx, name):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(40, 3))
    a[rng.random(a.shape) < 0.3] = np.nan
    a[:, 2] = np.nan
    a[17, 2] = -1.5
    a[:, 1][:20] = np.nan  # the first partitions hold only NaN in this column
    x = partitioned(a, [0, 12, 1, 0, 27])
    for axis in (None, 0, 1):
        _check(name, a, x, axis=axis)
    _check(name, a, x, axis=0, **({"keepdims": True} if name not in ("nanargmin", "nanargmax") else {}))


@pytest.mark.parametrize("name", NAN_FUNCTIONS)
def test_all_nan_and_empty(name):
    a = np.full(9, np.nan)
    _check(name, a, partitioned(a, [4, 0, 5]))
    empty = np.zeros(0)
    _check(name, empty, partitioned(empty, [0, 0]))


@pytest.mark.parametrize("name", ["nanmin", "nanmax", "nanargmin", "nanargmax"])
@pytest.mark.parametrize("unit", ["s", "ns"])
def test_times_skip_nat(name, unit):
    a = np.array(["NaT", "2021-03-01", "NaT", "1999-12-31", "2030-01-01", "NaT"], f"M8[{unit}]")
    _check(name, a, partitioned(a, [1, 2, 0, 3]))
    d = a - a[1]  # timedeltas with NaT
    _check(name, d, partitioned(d, [3, 3]))


@pytest.mark.parametrize("name", NAN_FUNCTIONS)
def test_integers_are_the_plain_reductions(name):
    a = np.arange(-6, 14, dtype=np.int32).reshape(10, 2)
    _check(name, a, partitioned(a, [3, 0, 7]), axis=0)


def test_infinities_beside_nan():
    a = np.array([np.nan, np.inf, np.nan, np.inf, -np.inf, np.nan])
    x = partitioned(a, [1, 2, 3])
    for name in NAN_FUNCTIONS:
        _check(name, a, x)
    b = np.array([np.nan, np.inf, np.inf])
    for name in ("nanmin", "nanmax", "nanargmax"):
        _check(name, b, partitioned(b, [1, 2]))
    # NumPy answers 0, a NaN's position (it fills NaN with inf); pandas and rdarray answer 1
    assert int(np.nanargmin(partitioned(b, [1, 2]))) == 1


@given(st.data())
def test_hypothesis_against_numpy(data):
    a = data.draw(hnp.arrays(np.float64, st.integers(0, 30),
                             elements=st.one_of(st.just(np.nan), st.floats(-1e6, 1e6, allow_nan=False))))
    x = partitioned(a, data.draw(layouts(len(a))))
    for name in NAN_FUNCTIONS:
        _check(name, a, x)
    if len(a):
        _check("nanvar", a, x, ddof=1)
