"""Reductions (contract 3.3): every result is compared with NumPy run on the whole array."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rdarray as rd
from _helpers import assert_close, layouts, partitioned, rtol_for, value_of

OPS = ["sum", "prod", "min", "max", "mean", "var", "std", "any", "all", "count_nonzero"]
ARG_OPS = ["argmin", "argmax"]
NO_IDENTITY = {"min", "max", "argmin", "argmax"}


def reduce_both(x, a, op, **kwargs):
    """``op`` on the PartitionedArray and on NumPy: ``(got, expected)``, or both raising ValueError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = getattr(np, op)(a, **kwargs)
    except ValueError:
        with pytest.raises(ValueError):
            value_of(getattr(x, op)(**kwargs))
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return value_of(getattr(x, op)(**kwargs)), expected


def check(x, a, op, rtol=1e-12, **kwargs):
    pair = reduce_both(x, a, op, **kwargs)
    if pair is not None:
        assert_close(*pair, rtol=rtol)


# -- axes and keepdims -------------------------------------------------------------------------

RNG = np.random.default_rng(20240611)
A2 = RNG.random((11, 3))
LAYOUT2 = [3, 0, 4, 0, 4]
A3 = RNG.random((7, 2, 3))
LAYOUT3 = [2, 0, 5]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, -2, (0, 1), (1, 0), (-1, -2)])
@pytest.mark.parametrize("op", OPS)
def test_axes_2d(op, axis, keepdims):
    x = partitioned(A2, LAYOUT2)
    r = getattr(x, op)(axis=axis, keepdims=keepdims)
    reduces_rows = axis is None or 0 in np.atleast_1d(axis) % 2
    assert isinstance(r, rd.Lazy if reduces_rows else rd.PartitionedArray)
    check(x, A2, op, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("axis", [None, 0, 2, -1, (0, 2), (1, 2), (-1, 0), (0, 1, 2)])
@pytest.mark.parametrize("op", OPS)
def test_axes_3d(op, axis):
    check(partitioned(A3, LAYOUT3), A3, op, axis=axis)
    check(partitioned(A3, LAYOUT3), A3, op, axis=axis, keepdims=True)


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_var_std_ddof(op, ddof, axis):
    check(partitioned(A2, LAYOUT2), A2, op, axis=axis, ddof=ddof)


def test_var_ddof_at_least_count_is_nan_as_numpy():
    a = np.array([1.0, 2.0, 4.0])
    x = partitioned(a, [1, 0, 2])
    check(x, a, "var", ddof=3)
    check(x, a, "std", ddof=5)


@pytest.mark.parametrize("op", OPS + ARG_OPS)
def test_bad_axis_raises(op):
    x = partitioned(A2, LAYOUT2)
    for axis in (2, -3):
        with pytest.raises(ValueError, match=str(axis)):
            getattr(x, op)(axis=axis)


def test_repeated_axis_raises():
    with pytest.raises(ValueError, match="repeated"):
        partitioned(A2, LAYOUT2).sum(axis=(0, -2))


def test_argmin_tuple_axis_is_a_type_error_as_numpy():
    with pytest.raises(TypeError):
        np.argmin(A2, axis=(0, 1))
    with pytest.raises(TypeError, match="argmin"):
        partitioned(A2, LAYOUT2).argmin(axis=(0, 1))


def test_explicit_dtype_arguments():
    a = (np.arange(40) % 9).astype(np.int8)
    x = partitioned(a, [10, 0, 30])
    for dtype in (np.int8, np.int32, np.float32, np.uint16):
        check(x, a, "sum", dtype=dtype)
        check(x, a, "prod", dtype=dtype)
    check(x, a, "mean", dtype=np.float32, rtol=2e-6)
    check(x, a, "var", dtype=np.float32, rtol=2e-6)


# -- argmin / argmax -----------------------------------------------------------------------------

@pytest.mark.parametrize("op", ARG_OPS)
@pytest.mark.parametrize("lengths", [[6], [1, 1, 4], [0, 3, 0, 3], [2, 2, 2], [5, 1, 0]])
def test_arg_1d_nan_and_ties(op, lengths):
    for a in (np.array([3.0, np.nan, 1.0, np.nan, 1.0, 5.0]),  # first NaN wins
              np.array([1.0, 5.0, 5.0, 0.0, 0.0, 5.0]),        # ties: the first occurrence
              np.array([np.inf, -np.inf, 2.0, -np.inf, np.inf, 0.0]),
              np.array([7, 7, 7, 7, 7, 7])):
        x = partitioned(a, lengths)
        got = value_of(getattr(x, op)())
        assert_close(got, getattr(np, op)(a))
        assert_close(got, np.intp(getattr(np, op)(a)))


@pytest.mark.parametrize("op", ARG_OPS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, -2])
def test_arg_2d(op, axis):
    a = np.array([[1.0, np.nan, 4.0], [np.nan, 0.0, 4.0], [0.0, 0.0, -1.0], [2.0, 2.0, 9.0],
                  [-3.0, 0.0, 9.0]])
    for lengths in ([1, 0, 2, 2], [5], [1, 1, 1, 1, 1], [0, 4, 1]):
        x = partitioned(a, lengths)
        check(x, a, op, axis=axis)
        i = np.nan_to_num(a).astype(np.int64)
        check(partitioned(i, lengths), i, op, axis=axis)


@pytest.mark.parametrize("op", ARG_OPS)
def test_arg_none_on_2d_is_a_flat_index(op):
    a = RNG.permutation(60).reshape(20, 3)
    x = partitioned(a, [4, 0, 7, 9])
    got = value_of(getattr(x, op)())
    assert got == getattr(np, op)(a) and got >= 3  # a row index would be < 20 / flat on 60
    assert_close(got, getattr(np, op)(a))


@pytest.mark.parametrize("op", ARG_OPS)
def test_arg_complex_and_datetime(op):
    c = np.array([1 + 5j, 1 + 1j, 9j, 9j, 1 + 5j])
    check(partitioned(c, [2, 0, 3]), c, op)
    c_nan = np.array([1 + 5j, 1 + 1j, complex(np.nan, 0), 9j, 1 + 5j])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # NumPy does not warn here either
        check(partitioned(c_nan, [2, 0, 3]), c_nan, op)
    d = np.array(["2020-01-01", "2019-06-01", "2021-01-01", "2019-06-01"], dtype="M8[D]")
    check(partitioned(d, [1, 3]), d, op)
    d_nat = np.array(["2020-01-01", "NaT", "2019-06-01", "NaT"], dtype="M8[D]")
    check(partitioned(d_nat, [1, 0, 3]), d_nat, op)


# -- np.* functions and ufunc.reduce -------------------------------------------------------------

@pytest.mark.parametrize("func", [np.sum, np.prod, np.min, np.max, np.amin, np.amax, np.mean,
                                  np.var, np.std, np.any, np.all, np.argmin, np.argmax,
                                  np.count_nonzero])
def test_numpy_functions_dispatch(func):
    x = partitioned(A2, LAYOUT2)
    r = func(x)
    assert isinstance(r, rd.Lazy)
    assert_close(np.asarray(r), np.asarray(func(A2)))
    if func not in (np.argmin, np.argmax):
        r0 = func(x, axis=0)
        assert isinstance(r0, rd.Lazy)
        assert_close(r0.compute(), func(A2, axis=0))
    r1 = func(x, axis=1)
    assert isinstance(r1, rd.PartitionedArray)
    assert_close(r1.compute(), func(A2, axis=1))


def test_numpy_function_keyword_arguments():
    x = partitioned(A2, LAYOUT2)
    assert_close(np.var(x, ddof=1, axis=0).compute(), np.var(A2, ddof=1, axis=0))
    assert_close(np.std(x, ddof=1).compute(), np.std(A2, ddof=1))
    assert_close(np.sum(x, axis=0, keepdims=True).compute(), np.sum(A2, axis=0, keepdims=True))
    assert_close(np.mean(x, axis=(0, 1), keepdims=True).compute(), np.mean(A2, axis=(0, 1), keepdims=True))


def test_nansum_nanprod():
    a = A2.copy()
    a[[0, 4, 9], [1, 2, 0]] = np.nan
    x = partitioned(a, LAYOUT2)
    assert_close(np.nansum(x).compute(), np.nansum(a))
    assert_close(np.nansum(x, axis=0).compute(), np.nansum(a, axis=0))
    assert_close(np.nanprod(x, axis=0).compute(), np.nanprod(a, axis=0))


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum, np.fmax])
@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"axis": None}, {"axis": 1},
                                    {"axis": 0, "keepdims": True}])
def test_ufunc_reduce(ufunc, kwargs):
    x = partitioned(A2, LAYOUT2)
    r = ufunc.reduce(x, **kwargs)
    assert isinstance(r, rd.PartitionedArray if kwargs.get("axis") == 1 else rd.Lazy)
    assert_close(r.compute(), ufunc.reduce(A2, **kwargs))


def test_ufunc_reduce_dtypes_and_empty():
    a = (np.arange(20) % 5).astype(np.int8)
    x = partitioned(a, [0, 7, 13])
    assert_close(np.add.reduce(x).compute(), np.add.reduce(a))
    assert_close(np.add.reduce(x, dtype=np.int64).compute(), np.add.reduce(a, dtype=np.int64))
    b = a > 2
    xb = partitioned(b, [0, 7, 13])
    assert_close(np.logical_and.reduce(xb).compute(), np.logical_and.reduce(b))
    assert_close(np.logical_or.reduce(xb).compute(), np.logical_or.reduce(b))
    e = np.zeros((0, 2))
    xe = partitioned(e, [0, 0, 0])
    assert_close(np.add.reduce(xe).compute(), np.add.reduce(e))
    with pytest.raises(ValueError):
        np.maximum.reduce(e)
    with pytest.raises(ValueError):
        np.maximum.reduce(xe).compute()


# -- dtypes ------------------------------------------------------------------------------------

NUMERIC = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
           np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128]


def numeric_data(dtype, prod=False):
    """Small integers: sums are exact in every dtype, products stay in range where they can."""
    n = 30
    base = (np.arange(n) * 7 % 11) if not prod else (np.arange(n) * 5 % 3 + 1)
    if np.dtype(dtype).kind == "b":
        return base % 2 == 1
    a = base.astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + (np.arange(n) % 4).astype(dtype) * 1j
    return a


@pytest.mark.parametrize("op", OPS + ARG_OPS)
@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda d: np.dtype(d).name)
def test_numeric_dtypes(dtype, op):
    a = numeric_data(dtype, prod=op == "prod")
    x = partitioned(a, [0, 7, 0, 10, 13, 0])
    for axis in (None, 0):
        got, expected = reduce_both(x, a, op, axis=axis)
        rtol = rtol_for(np.asarray(expected).dtype)  # exact for integer and bool results
        assert_close(got, expected, rtol=rtol)


def test_small_int_sums_do_not_overflow_like_numpy():
    for dtype in (np.int8, np.uint8, np.int16, np.bool_):
        a = np.full(1000, 100).astype(dtype)
        x = partitioned(a, [300, 0, 700])
        assert_close(x.sum().compute(), a.sum())
        assert_close(x.sum(axis=0).compute(), a.sum(axis=0))


def test_int64_sum_and_prod_wrap_exactly_like_numpy():
    a = np.array([2**62, 2**62, 2**62, 3, -5, 2**40, 2**40], dtype=np.int64)
    x = partitioned(a, [2, 0, 3, 2])
    check(x, a, "sum")
    check(x, a, "prod")


def test_complex_var_and_std_are_real():
    a = (RNG.random(25) + 1j * RNG.random(25)).astype(np.complex64)
    x = partitioned(a, [5, 0, 20])
    for op in ("var", "std"):
        got, expected = reduce_both(x, a, op)
        assert np.asarray(got).dtype == np.float32 == np.asarray(expected).dtype
        assert_close(got, expected, rtol=2e-6)
    a128 = a.astype(np.complex128)
    check(partitioned(a128, [5, 0, 20]), a128, "var", ddof=1)
    check(partitioned(a128, [5, 0, 20]), a128, "mean")


@pytest.mark.parametrize("op", ["sum", "min", "max", "mean", "var", "std", "prod", "any", "all",
                                "count_nonzero", "argmin", "argmax"])
def test_nan_and_inf(op):
    for a in (np.array([1.0, np.nan, 3.0, np.inf]), np.array([1.0, np.inf, -3.0, 2.0]),
              np.array([np.inf, 2.0, -np.inf, 0.0]), np.array([-0.0, 0.0, np.nan, np.nan])):
        for lengths in ([4], [1, 1, 2], [0, 3, 1]):
            check(partitioned(a, lengths), a, op)


@pytest.mark.parametrize("op", ["min", "max", "argmin", "argmax"])
def test_datetime_min_max(op):
    d = np.array(["2020-03-01", "2019-01-01", "2021-12-31", "2019-01-01", "2020-01-01"], dtype="M8[s]")
    check(partitioned(d, [2, 0, 3]), d, op)
    check(partitioned(d, [2, 0, 3]), d, op, axis=0)
    d[3] = np.datetime64("NaT")
    check(partitioned(d, [2, 0, 3]), d, op)
    t = np.array([5, -3, 7, 0], dtype="m8[ms]")
    check(partitioned(t, [1, 3]), t, op)


def test_timedelta_sum():
    t = np.array([5, -3, 7, 0], dtype="m8[ms]")
    check(partitioned(t, [1, 0, 3]), t, "sum")


NON_NUMERIC = {
    "datetime64": np.array(["2020-01-01", "2019-01-01", "2021-01-01"], dtype="M8[D]"),
    "str": np.array(["b", "a", "c"]),
    "bytes": np.array([b"b", b"a", b"c"]),
    "structured": np.array([(1, 2.0), (0, 1.0), (3, 0.5)], dtype=[("i", "i4"), ("f", "f8")]),
}


@pytest.mark.parametrize("op", OPS + ARG_OPS)
@pytest.mark.parametrize("kind", list(NON_NUMERIC))
def test_non_numeric_dtypes_follow_numpy(kind, op):
    """Where NumPy raises TypeError, rdarray raises it when the reduction is called (not later);
    where NumPy computes, rdarray gives the same value."""
    a = NON_NUMERIC[kind]
    x = partitioned(a, [1, 0, 2])
    if kind == "structured" and op in ("sum", "prod", "min", "max", "mean", "var", "std"):
        # a table reduces field by field, as pandas (tests/test_table_vocabulary.py)
        assert set(value_of(getattr(x, op)())) == {"i", "f"}
        return
    for axis in (None, 0):
        try:
            expected = getattr(np, op)(a, axis=axis)
        except TypeError:
            with pytest.raises(TypeError, match=op):
                getattr(x, op)(axis=axis)
            continue
        assert_close(value_of(getattr(x, op)(axis=axis)), expected)


@pytest.mark.parametrize("kind", list(NON_NUMERIC))
def test_non_numeric_moments_and_histogram_raise_type_error(kind):
    x = partitioned(NON_NUMERIC[kind], [1, 0, 2])
    with pytest.raises(TypeError, match="moments"):
        x.moments()
    with pytest.raises(TypeError, match="histogram"):
        x.histogram()


def test_required_non_numeric_errors():
    with pytest.raises(TypeError, match="sum"):
        partitioned(NON_NUMERIC["datetime64"], [3]).sum()
    with pytest.raises(TypeError, match="mean"):
        partitioned(NON_NUMERIC["datetime64"], [3]).mean()
    with pytest.raises(TypeError, match="mean"):
        partitioned(NON_NUMERIC["str"], [3]).mean()
    words = np.array([("a",), ("b",), ("c",)], dtype=[("s", "U1")])  # a table without a numeric field
    for op in ("sum", "mean", "var", "min"):
        with pytest.raises(TypeError, match=op):
            getattr(partitioned(words, [3]), op)()


# -- layouts -------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", OPS + ARG_OPS)
def test_all_partitions_empty(op):
    for a, lengths in ((np.zeros(0), [0]), (np.zeros(0), [0, 0, 0]), (np.zeros((0, 3), np.int32), [0, 0])):
        x = partitioned(a, lengths)
        check(x, a, op)
        if a.ndim == 2 and op not in ARG_OPS:
            check(x, a, op, axis=0)
            check(x, a, op, axis=1)
    if op in NO_IDENTITY:
        with pytest.raises(ValueError, match=op):
            getattr(partitioned(np.zeros(0), [0, 0]), op)().compute()


@pytest.mark.parametrize("op", OPS + ARG_OPS)
@pytest.mark.parametrize("layout", ["one-row", "one-partition", "200x3", "2-D one row"])
def test_layouts(op, layout):
    if layout == "one-row":
        a, lengths = np.array([2.5]), [0, 1, 0]
    elif layout == "one-partition":
        a, lengths = RNG.random(17), [17]
    elif layout == "200x3":
        a, lengths = RNG.random(600), [3] * 200
    else:
        a, lengths = RNG.random((1, 4)), [1]
    x = partitioned(a, lengths)
    check(x, a, op)
    check(x, a, op, axis=0)
    if op not in ARG_OPS:
        check(x, a, op, axis=0, keepdims=True)


@pytest.mark.parametrize("op", OPS + ARG_OPS)
def test_large_partitions(op):
    """Partitions much larger than a cache slice: the per-slice partials must merge exactly."""
    a = RNG.random(150_001)
    a[[3, 90_000, 149_000]] = a.min() / 2  # a tie for the minimum in a later slice and partition
    a[[77_000, 120_000]] = a.max() * 2
    x = partitioned(a, [70_000, 0, 80_001])
    check(x, a, op)
    b = RNG.random((60_000, 3))
    check(partitioned(b, [10, 59_990]), b, op, axis=0)


def test_large_partitions_after_a_fused_chain(ctx):
    a = RNG.random(120_000)
    a[100_500] = np.nan
    x = partitioned(a, [50_000, 70_000])
    y = np.sqrt(x) * 2 + 1
    b = np.sqrt(a) * 2 + 1
    assert_close(y.sum().compute(), b.sum())
    assert_close(y.argmax().compute(), b.argmax())
    assert_close(y.argmin().compute(), b.argmin())
    assert_close(y.max().compute(), b.max())
    m = y[~np.isnan(y)].moments().compute()
    c = b[~np.isnan(b)]
    np.testing.assert_allclose(m["var"], c.var(), rtol=1e-12)
    assert m["count"] == len(c)


@pytest.mark.parametrize("op", OPS + ARG_OPS)
def test_backends(ctx, op):
    a = RNG.random((40, 2))
    check(partitioned(a, [10, 0, 10, 20]), a, op)
    check(partitioned(a, [10, 0, 10, 20]), a, op, axis=0)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_layouts(data):
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.uint8, np.bool_]))
    trailing = data.draw(st.sampled_from([(), (2,)]))
    n = data.draw(st.integers(0, 25))
    if np.dtype(dtype).kind == "f":
        # binary fractions: sums are exact; products stay far from overflow (0 * inf is NaN)
        elements = st.sampled_from([-2.5, 0.0, 0.5, 1.0, 3.25, np.nan, np.inf, -np.inf])
    elif np.dtype(dtype).kind == "b":
        elements = st.booleans()
    else:
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -20), min(info.max, 20))
    a = data.draw(hnp.arrays(dtype, (n,) + trailing, elements=elements))
    x = partitioned(a, data.draw(layouts(n)))
    finite = np.abs(a[np.isfinite(a)]).astype(np.float64)
    scale = finite.max() if finite.size else 1.0
    for op in OPS + ARG_OPS:
        for axis in (None, 0, -1):
            pair = reduce_both(x, a, op, axis=axis)
            if pair is not None:
                rtol = rtol_for(np.asarray(pair[1]).dtype)
                rtol = rtol * 5 if op == "prod" else rtol  # 25 rounded products
                # merged partial means are not sum / n: a mean that cancels to 0 is off by ~eps
                assert_close(*pair, rtol=rtol, atol=rtol * scale if op == "mean" else 0.0)


# -- moments -------------------------------------------------------------------------------------

def numpy_moments(a):
    """Two-pass central moments along axis 0: skew = m3/m2**1.5, kurtosis = m4/m2**2 - 3."""
    a = a.astype(np.float64)
    mean = a.mean(axis=0)
    d = a - mean
    m2, m3, m4 = (d ** 2).mean(axis=0), (d ** 3).mean(axis=0), (d ** 4).mean(axis=0)
    return {"count": len(a), "mean": mean, "var": m2, "skew": m3 / m2 ** 1.5, "kurtosis": m4 / m2 ** 2 - 3}


def check_moments(got, expected, rtol=1e-10, atol=0.0):
    assert set(got) == {"count", "mean", "var", "skew", "kurtosis"}
    assert got["count"] == expected["count"]
    for key in ("mean", "var", "skew", "kurtosis"):
        assert_close(got[key], expected[key], rtol=rtol, atol=atol)


@pytest.mark.parametrize("lengths", [[500], [1, 0, 499], [100] * 5, [250, 0, 0, 250], [3] * 166 + [2]])
def test_moments_1d(lengths):
    a = RNG.gamma(2.0, size=500)  # skewed, so skew and kurtosis are far from 0
    r = partitioned(a, lengths).moments()
    assert isinstance(r, rd.Lazy)
    check_moments(r.compute(), numpy_moments(a))


def test_moments_2d_and_ints():
    a = RNG.gamma(2.0, size=(300, 3))
    check_moments(partitioned(a, [100, 0, 7, 193]).moments().compute(), numpy_moments(a))
    i = RNG.integers(-50, 200, size=(300, 2))
    check_moments(partitioned(i, [1, 299]).moments().compute(), numpy_moments(i))
    b = RNG.random(50) < 0.3
    check_moments(partitioned(b, [25, 25]).moments().compute(), numpy_moments(b))


def test_moments_are_stable_with_a_huge_offset():
    """1e9 + unit noise: sums of powers would lose every digit of the variance (E[x^2] - E[x]^2
    cancels at ~1e18); merged partial moments keep it within the problem's own conditioning
    (inputs rounded at 1e9 * 2**-52 ~ 1e-7 relative to the noise)."""
    a = 1e9 + RNG.normal(size=20_000)
    x = partitioned(a, [7_000, 0, 3, 6_997, 6_000])
    expected = numpy_moments(a)
    check_moments(x.moments().compute(), expected, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(x.var().compute(), a.var(), rtol=1e-6)
    np.testing.assert_allclose(x.std(ddof=1).compute(), a.std(ddof=1), rtol=1e-6)
    np.testing.assert_allclose(x.mean().compute(), a.mean(), rtol=1e-15)
    naive = (a ** 2).mean() - a.mean() ** 2  # what a sum-of-squares merge would give
    assert abs(naive - a.var()) > 1e-3 * a.var()


def test_moments_small_cases():
    one = partitioned(np.array([4.0]), [0, 1])
    m = one.moments().compute()
    assert m["count"] == 1 and m["mean"] == 4.0 and m["var"] == 0.0
    empty = partitioned(np.zeros(0), [0, 0])
    m = empty.moments().compute()
    assert m["count"] == 0
    assert all(np.isnan(m[k]) for k in ("mean", "var", "skew", "kurtosis"))
    with pytest.raises(TypeError, match="moments"):
        partitioned(np.ones(3, dtype=complex), [3]).moments()


# -- histogram -------------------------------------------------------------------------------------

H = RNG.normal(size=2_000)
HIST_CASES = [{}, {"bins": 7}, {"bins": 1}, {"bins": 7, "range": (-1.0, 1.5)},
              {"bins": [-3.0, -1.0, 0.0, 0.5, 4.0]}, {"bins": np.linspace(-2, 2, 9)},
              {"bins": 13, "density": True}, {"bins": [-3.0, -1.0, 0.0, 0.5, 4.0], "density": True},
              {"bins": 5, "range": (0, 10), "density": True}]


@pytest.mark.parametrize("kwargs", HIST_CASES, ids=str)
@pytest.mark.parametrize("lengths", [[2000], [1, 0, 999, 1000], [500] * 4])
def test_histogram_float(kwargs, lengths):
    x = partitioned(H, lengths)
    r = x.histogram(**kwargs)
    assert isinstance(r, rd.Lazy)
    counts, edges = r.compute()
    expected_counts, expected_edges = np.histogram(H, **kwargs)
    assert_close(counts, expected_counts)
    assert_close(edges, expected_edges)


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8, np.float32])
@pytest.mark.parametrize("kwargs", [{}, {"bins": 6}, {"bins": 4, "range": (10, 30)},
                                    {"bins": [0, 5, 20, 49]}, {"bins": 6, "density": True}], ids=str)
def test_histogram_other_dtypes(dtype, kwargs):
    a = RNG.integers(0, 50, size=700).astype(dtype)
    counts, edges = partitioned(a, [0, 300, 400]).histogram(**kwargs).compute()
    expected_counts, expected_edges = np.histogram(a, **kwargs)
    assert_close(counts, expected_counts)
    assert_close(edges, expected_edges)


def test_histogram_through_numpy_and_edge_cases():
    r = np.histogram(partitioned(H, [1000, 1000]), bins=9)
    assert isinstance(r, rd.Lazy)  # lazy, as every reduction
    got = r.compute()
    assert_close(got[0], np.histogram(H, bins=9)[0])
    assert_close(got[1], np.histogram(H, bins=9)[1])
    const = np.full(10, 3.0)  # min == max: NumPy widens the range by 0.5 each side
    got = partitioned(const, [4, 6]).histogram(bins=4).compute()
    assert_close(got[0], np.histogram(const, bins=4)[0])
    assert_close(got[1], np.histogram(const, bins=4)[1])
    empty = np.zeros(0)
    got = partitioned(empty, [0, 0]).histogram(bins=3).compute()
    assert_close(got[0], np.histogram(empty, bins=3)[0])
    assert_close(got[1], np.histogram(empty, bins=3)[1])
    with_nan = np.array([0.1, np.nan, 0.7, 0.3])  # explicit range: NaN is outside every bin
    got = partitioned(with_nan, [2, 2]).histogram(bins=2, range=(0, 1)).compute()
    assert_close(got[0], np.histogram(with_nan, bins=2, range=(0, 1))[0])
    with pytest.raises(ValueError):
        np.histogram(with_nan, bins=2)
    with pytest.raises(ValueError, match="finite"):
        partitioned(with_nan, [2, 2]).histogram(bins=2).compute()


# -- reduce and aggregate ------------------------------------------------------------------------

R = RNG.random((40, 2))
R_LAYOUTS = [[40], [0, 13, 0, 27], [1] * 40, [10, 10, 0, 20]]


@pytest.mark.parametrize("lengths", R_LAYOUTS)
def test_reduce(ctx, lengths):
    x = partitioned(R, lengths)
    r = x.reduce(lambda b: b.sum(axis=0), lambda p, q: p + q)
    assert isinstance(r, rd.Lazy)
    assert_close(r.compute(), R.sum(axis=0), rtol=1e-12)
    # default combine: fn of the two partial results stacked
    assert_close(x.reduce(lambda b: b.max(axis=0)).compute(), R.max(axis=0))
    # empty partitions are skipped, and a non-commutative combine sees results in row order
    assert_close(x.reduce(lambda b: b[:1].copy(), lambda p, q: np.concatenate([p, q])).compute(),
                 np.stack([b[0] for b in np.split(R, np.cumsum(lengths)[:-1]) if len(b)]))
    assert_close(x.reduce(lambda b: b[0]).compute(), R[0])  # fn(stack([a, b])) = a: the first row


@pytest.mark.parametrize("lengths", R_LAYOUTS)
def test_reduce_default_combine_as_rows(ctx, lengths):
    x = partitioned(R, lengths)
    # partial results with a partition's dimensions are concatenated: a top-3 of each column
    top = lambda b: np.sort(b, axis=0)[-3:]  # noqa: E731
    assert_close(x.reduce(top).compute(), top(R))
    assert_close(x.reduce(np.max).compute(), R.max())
    assert_close(x.reduce(lambda b: np.linalg.norm(b, axis=0)).compute(), np.linalg.norm(R, axis=0))


def test_reduce_default_combine_refused_asks_for_combine(ctx):
    x = partitioned(R, [10, 10, 0, 20])
    with pytest.raises(ValueError, match="pass combine=") as info:
        x.reduce(lambda b: b.T @ b).compute()
    assert "np.add" in str(info.value)
    assert_close(x.reduce(lambda b: b.T @ b, combine=np.add).compute(), R.T @ R, rtol=1e-12)
    # a merge that fails outright (partials with an odd shape) asks for combine= too
    with pytest.raises(ValueError, match="pass combine="):
        x.reduce(lambda b: b.sum(axis=0)[:, None] * np.ones(len(b))).compute()


def test_reduce_all_empty_raises():
    with pytest.raises(ValueError, match="reduce"):
        partitioned(np.zeros((0, 2)), [0, 0]).reduce(lambda b: b.sum(axis=0), np.add).compute()


@pytest.mark.parametrize("lengths", R_LAYOUTS)
def test_aggregate(ctx, lengths):
    x = partitioned(R, lengths)

    def seq_op(acc, b):
        acc[0] += len(b)
        acc[1] += b.sum()
        return acc

    zero = [0, 0.0]
    r = x.aggregate(zero, seq_op, lambda p, q: [p[0] + q[0], p[1] + q[1]])
    assert isinstance(r, rd.Lazy)
    count, total = r.compute()
    assert count == len(R)
    np.testing.assert_allclose(total, R.sum(), rtol=1e-12)
    assert zero == [0, 0.0]  # each partition starts from a copy of zero
    rows = x.aggregate([], lambda acc, b: acc + b[:, 0].tolist(), lambda p, q: p + q).compute()
    assert rows == R[:, 0].tolist()  # comb_op sees partitions in order


def test_aggregate_all_empty_gives_zero():
    x = partitioned(np.zeros(0), [0, 0, 0])
    assert x.aggregate(0, lambda acc, b: acc + len(b), lambda p, q: p + q).compute() == 0
    assert x.aggregate((), lambda acc, b: acc + tuple(b), lambda p, q: p + q).compute() == ()


@pytest.mark.parametrize("op", OPS + ARG_OPS)
def test_unknown_lengths_after_filter(op):
    """Row indices and keepdims shapes must not depend on lengths known before computing."""
    a = RNG.random((30, 2))
    x = partitioned(a, [10, 0, 20]).filter(lambda b: b[:, 0] > 0.5)
    assert x.shape[0] is None
    kept = a[a[:, 0] > 0.5]
    check(x, kept, op)
    check(x, kept, op, axis=0)
    check(x, kept, op, axis=1)
    if op not in ARG_OPS:
        check(x, kept, op, axis=0, keepdims=True)


def test_histogram_2d_and_filtered():
    a = RNG.random((300, 2))
    x = partitioned(a, [100, 0, 200])
    for got, expected in zip(x.histogram(bins=6).compute(), np.histogram(a, bins=6)):
        assert_close(got, expected)
    f = x.filter(lambda b: b[:, 1] < 0.3)
    for got, expected in zip(f.histogram(bins=4).compute(), np.histogram(a[a[:, 1] < 0.3], bins=4)):
        assert_close(got, expected)


def test_large_partitions_user_reductions_see_whole_partitions(ctx):
    """Row-slice execution must not split what a user function receives."""
    a = RNG.random(200_000)
    lengths = [90_000, 0, 110_000]
    x = partitioned(a, lengths)
    firsts = x.reduce(lambda b: b[:1].copy(), lambda p, q: np.concatenate([p, q])).compute()
    assert_close(firsts, a[[0, 90_000]])
    sizes = x.aggregate([], lambda acc, b: acc + [len(b)], lambda p, q: p + q).compute()
    assert sizes == lengths
    sizes = (x * 2).aggregate([], lambda acc, b: acc + [len(b)], lambda p, q: p + q).compute()
    assert sizes == lengths
    check_moments(x.moments().compute(), numpy_moments(a))
    for got, expected in zip(x.histogram(bins=50).compute(), np.histogram(a, bins=50)):
        assert_close(got, expected)
