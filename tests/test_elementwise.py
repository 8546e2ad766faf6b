"""Narrow transformations: operators, every NumPy ufunc, ``__array_function__``, map_partitions,
filter, astype, concatenate, where, coalesce, and the lineage they build.

NumPy on the whole array is the oracle; partitioned operands use layouts that differ from each other.
"""
from __future__ import annotations

import operator
from functools import partial

import numpy as np
import pytest
from conftest import (
    FLOATS,
    SMALL_FLOATS,
    STRUCT,
    THREADS_ONLY,
    arrays_and_layouts,
    assert_equal_arrays,
    assert_same,
    layouts,
    partitioned,
    sample_values,
    split,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rdarray as rd

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

N = 23
LAYOUT_A = [5, 0, 11, 7]         # three layouts of 23 rows, with no boundary in common
LAYOUT_B = [0, 3, 3, 9, 0, 8]
LAYOUT_C = [23]


def outcome(fn):
    """``(value, None)`` or ``(None, exception)``."""
    try:
        with np.errstate(all="ignore"):
            return fn(), None
    except Exception as exc:  # noqa: BLE001 - the oracle's exception is what we compare against
        return None, exc


def check_call(fn, rd_args: tuple, np_args: tuple, signed_zeros: bool = True) -> None:
    """``fn(*rd_args)`` gives what ``fn(*np_args)`` gives (see :func:`check_like_numpy`)."""
    check_like_numpy(lambda: fn(*rd_args), lambda: fn(*np_args), signed_zeros)


def check_like_numpy(rd_fn, np_fn, signed_zeros: bool = True) -> None:
    """``rd_fn()`` gives what ``np_fn()`` gives, or raises the same kind of error (TypeError for
    dtypes NumPy rejects), whether when building the lazy array or when computing it."""
    expected, error = outcome(np_fn)
    if error is not None:
        kind = TypeError if isinstance(error, TypeError) else type(error)
        with pytest.raises(kind):
            got = rd_fn()
            for item in got if isinstance(got, tuple) else (got,):
                item.compute()
        return
    got = rd_fn()
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e, signed_zeros)
    else:
        assert_same(got, expected, signed_zeros)


# -- operators ------------------------------------------------------------------------------------

BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "&": operator.and_,
    "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge,
}
UNARY = {"-": operator.neg, "+": operator.pos, "abs": abs, "~": operator.invert}
OP_DTYPES = ["?", "i1", "i4", "i8", "u1", "u8", "f2", "f4", "f8", "c16", "M8[s]", "m8[ms]", "U3", "S2", STRUCT]
SCALARS = [2, -1, 0.5, -3, 0, 300, 2.5, -0.0, float("nan"), float("inf"), True, 1 + 2j, np.float32(1.5), np.int8(3),
           np.uint64(7), np.timedelta64(5, "s"), np.datetime64("2000-01-01"), "ab", b"x"]


@THREADS_ONLY
@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("dtype", OP_DTYPES, ids=str)
def test_operator_with_scalars(ctx, op, dtype):
    f = BINARY[op]
    a = sample_values(dtype, N)
    x = partitioned(a, LAYOUT_A)
    for s in SCALARS:
        check_call(f, (x, s), (a, s))
        if op == "%" and isinstance(s, (str, bytes)):
            continue  # "ab" % x is Python's string formatting
        if (op in ("==", "!=") and isinstance(s, np.generic) and outcome(partial(np.equal, s, a))[1]
                and outcome(partial(f, s, a))[1] is None):
            # s.__eq__ tries np.equal, finds no loop, and compares np.asarray(x) itself: eager
            assert_equal_arrays(f(s, x), f(s, a))
            continue
        check_call(f, (s, x), (s, a))


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("dtypes", [("i8", "i8"), ("f8", "f8"), ("i1", "u1"), ("f4", "i8"), ("?", "?"),
                                    ("u8", "i8"), ("c16", "f2"), ("M8[s]", "m8[ms]"), ("m8[s]", "m8[s]"),
                                    ("M8[D]", "M8[s]"), ("U3", "U3"), ("i4", "f8")], ids=str)
def test_operator_with_partitioned(ctx, op, dtypes):
    """Both operands partitioned, with different boundaries: the right one is realigned."""
    f = BINARY[op]
    a, b = sample_values(dtypes[0], N, seed=1), sample_values(dtypes[1], N, seed=2)
    x, y = partitioned(a, LAYOUT_A), partitioned(b, LAYOUT_B)
    check_like_numpy(lambda: f(x, y), lambda: f(a, b))
    check_like_numpy(lambda: f(y, x), lambda: f(b, a))
    check_like_numpy(lambda: f(x, partitioned(b, LAYOUT_A)), lambda: f(a, b))  # aligned


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("dtype", ["i4", "f8", "?", "u1"])
def test_operator_with_numpy_arrays(ctx, op, dtype):
    """NumPy operands: broadcast over the trailing axes, one row, or as long as the array; both sides."""
    f = BINARY[op]
    a = sample_values(dtype, N, (3,), seed=3)
    x = partitioned(a, LAYOUT_B)
    others = [sample_values(dtype, 3, seed=4).reshape(3), sample_values(dtype, 1, (3,), seed=5),
              sample_values(dtype, N, (3,), seed=6), sample_values(dtype, N, (1,), seed=7),
              np.array(sample_values(dtype, 1, seed=8)[0]), sample_values("f8", 3, seed=9),
              sample_values(dtype, 1, (1,), seed=10)]
    for o in others:
        check_call(f, (x, o), (a, o))
        check_call(f, (o, x), (o, a))
    if outcome(lambda: f(others[2], a))[1] is None:
        assert isinstance(f(others[2], x), rd.PartitionedArray)  # ndarray defers to __array_ufunc__


def test_operator_with_lists(ctx):
    a = np.arange(12.0).reshape(4, 3)
    x = rd.from_numpy(a, npartitions=3)
    assert_same(x + [1, 2, 3], a + [1, 2, 3])
    assert_same([1, 2, 3] * x, [1, 2, 3] * a)
    assert_same(x - [[1], [2], [3], [4]], a - [[1], [2], [3], [4]])


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize("dtype", OP_DTYPES, ids=str)
def test_unary_operators(ctx, op, dtype):
    f = UNARY[op]
    a = sample_values(dtype, N, (2,))
    x = partitioned(a, LAYOUT_A)
    check_like_numpy(lambda: f(x), lambda: f(a))


def test_shape_errors(ctx):
    x = rd.from_numpy(np.arange(10.0), npartitions=3)
    with pytest.raises(ValueError, match="10"):
        x + rd.from_numpy(np.arange(11.0), npartitions=3)  # lengths differ
    with pytest.raises(ValueError):
        x + np.arange(4.0)
    with pytest.raises(ValueError):
        x + np.ones((10, 2))  # 1-D rows and 2-D rows: NumPy cannot broadcast (10,) with (10, 2) either
    y = rd.from_numpy(np.zeros((10, 3)), npartitions=2)
    with pytest.raises(ValueError):
        y + np.ones(4)
    with pytest.raises(ValueError):
        y + np.ones((2, 3))
    with pytest.raises(ValueError):
        y + x  # (10, 3) + (10,)
    f = x.filter(lambda b: b > 4)
    with pytest.raises(ValueError, match="5"):
        (f + x[:4]).compute()


def test_object_results_raise(ctx):
    from fractions import Fraction

    x = rd.from_numpy(np.arange(6), npartitions=2)
    assert (np.arange(6) + Fraction(1, 3)).dtype == object  # NumPy would make an object array
    with pytest.raises(TypeError, match="object"):
        x + Fraction(1, 3)
    with pytest.raises(TypeError, match="object"):
        x.map_partitions(lambda b: b.astype(object), dtype=object)


def test_partitioned_broadcast_over_trailing_axes(ctx):
    a = sample_values("f8", N, (3,), seed=1)
    b = sample_values("f8", N, (1,), seed=2)
    x, y = partitioned(a, LAYOUT_A), partitioned(b, LAYOUT_B)
    assert_same(x * y, a * b)
    assert_same(y - x, b - a)
    c = sample_values("i2", N, (2, 3), seed=3)
    z = partitioned(c, LAYOUT_C)
    assert_same(z + x[:, None, :], c + a[:, None, :])


def test_one_row_and_empty(ctx):
    for n in (0, 1):
        a = sample_values("f8", n, seed=1)
        b = sample_values("f8", n, seed=2)
        x = rd.from_partitions([a[:0], a, a[:0]])
        y = rd.from_numpy(b)
        assert_same(x + y, a + b)
        assert_same(np.sin(x) * 2 - y, np.sin(a) * 2 - b)


def test_three_operands_three_layouts(ctx):
    a, b, c = (sample_values("f8", N, seed=k) for k in range(3))
    x, y, z = partitioned(a, LAYOUT_A), partitioned(b, LAYOUT_B), partitioned(c, LAYOUT_C)
    assert_same(x + y * z, a + b * c)
    assert_same(z - x / y, c - a / b)
    cond = partitioned(a > b, [1, 2, 3, 17])
    assert_same(np.where(cond, y, z), np.where(a > b, b, c))
    assert_same(rd.where(cond, 0.5, z), np.where(a > b, 0.5, c))
    assert_same(np.clip(x, y, z), np.clip(a, b, c))


def test_filtered_operands_with_unknown_lengths(ctx):
    a = np.arange(40) * 3
    b = np.arange(40) * 7 + 1
    x = partitioned(a, [10, 0, 25, 5]).filter(lambda v: v % 2 == 0)
    y = partitioned(b, [1, 39]).filter(lambda v: v % 2 == 1)
    assert x.shape == (None,) and x.partition_lengths is None
    ea, eb = a[a % 2 == 0], b[b % 2 == 1]
    assert len(ea) == len(eb)
    assert_same(x + y, ea + eb)
    assert_same(y * x - 1, eb * ea - 1)
    # the same filter applied twice: aligned by construction, one-to-one while lengths are unknown
    f = partitioned(a, [10, 0, 25, 5]).filter(lambda v: v % 3 == 0)
    g = f * 2 + f
    assert g.lineage.dependency_kinds == ("one-to-one", "one-to-one") and g.partition_lengths is None
    assert_same(g, a[a % 3 == 0] * 3)
    z = partitioned(np.arange(40.0), [7, 33])
    h = f.map_partitions(lambda v: v[:0]).astype(float)
    with pytest.raises(ValueError):
        (h + z).compute()


def test_lineage_kinds(ctx):
    a = np.arange(N, dtype=float)
    x, y = partitioned(a, LAYOUT_A), partitioned(a, LAYOUT_B)
    s = x + x
    assert s.lineage.op == "add" and s.lineage.dependency_kinds == ("one-to-one", "one-to-one")
    assert (x + 1).lineage.dependency_kinds == ("one-to-one",)
    assert (x + a).lineage.dependency_kinds == ("one-to-one", "one-to-one")  # split as x is
    assert (x + partitioned(a, LAYOUT_A)).lineage.dependency_kinds == ("one-to-one", "one-to-one")
    m = x + y
    assert m.lineage.dependency_kinds == ("one-to-one", "range")
    assert m.partition_lengths == tuple(LAYOUT_A)
    assert m.lineage.parents == (x.lineage, y.lineage)
    assert (y - x).lineage.dependency_kinds == ("one-to-one", "range")
    assert (y - x).partition_lengths == tuple(LAYOUT_B)
    assert np.sqrt(x).lineage.op == "sqrt"
    assert x.filter(lambda v: v > 3).lineage.dependency_kinds == ("one-to-one",)
    c = x.coalesce(2)
    assert c.lineage.dependency_kinds == ("range",)


# -- every NumPy ufunc ----------------------------------------------------------------------------

ZERO_SIGN_UNSPECIFIED = {np.maximum, np.minimum, np.fmax, np.fmin}  # NumPy's SIMD loops pick either
ALL_UFUNCS = sorted({u for u in vars(np).values() if isinstance(u, np.ufunc) and u.nin in (1, 2)
                     and u.signature is None}, key=lambda u: u.__name__)
UFUNC_DTYPES = ["?", "i1", "i8", "u1", "u8", "f2", "f4", "f8", "c8", "c16", "M8[s]", "m8[s]", "U4", "S3", STRUCT]
MIXED = [("f8", "i4"), ("i1", "u8"), ("M8[s]", "m8[s]"), ("m8[s]", "i8"), ("m8[s]", "f8"), ("f4", "c8"),
         ("?", "i1"), ("f2", "f8"), ("c16", "f4"), ("f8", "i8"), ("u1", "?"), ("U4", "U2")]


@THREADS_ONLY
@pytest.mark.parametrize("ufunc", ALL_UFUNCS, ids=lambda u: u.__name__)
def test_every_ufunc(ctx, ufunc):
    if ufunc.nin == 1:
        for dtype in UFUNC_DTYPES:
            a = sample_values(dtype, N, seed=1)
            x = partitioned(a, LAYOUT_A)
            check_call(ufunc, (x,), (a,))
        return
    pairs = [(d, d) for d in UFUNC_DTYPES] + MIXED + [(b, a) for a, b in MIXED]
    for da, db in pairs:
        a, b = sample_values(da, N, seed=1), sample_values(db, N, seed=2)
        if ufunc in (np.ldexp, np.left_shift, np.right_shift) and b.dtype.kind in "iu":
            b = (b % 70).astype(b.dtype)  # in-range exponents and shifts as well as wild ones
        x, y = partitioned(a, LAYOUT_A), partitioned(b, LAYOUT_B)
        signed = ufunc not in ZERO_SIGN_UNSPECIFIED
        check_call(ufunc, (x, y), (a, b), signed)
        check_call(ufunc, (x, b), (a, b), signed)
        check_call(ufunc, (a, y), (a, b), signed)
        check_call(ufunc, (x, b[3]), (a, b[3]), signed)


def test_ufunc_count():
    assert len(ALL_UFUNCS) > 80  # the enumeration found NumPy's ufuncs


@pytest.mark.parametrize("dtype", ["f2", "f4", "f8", "i4", "u8", "?", "c16"])
def test_multi_output_ufuncs(ctx, dtype):
    a = sample_values(dtype, N, (2,), seed=1)
    b = sample_values(dtype, N, (2,), seed=2)
    x, y = partitioned(a, LAYOUT_A), partitioned(b, LAYOUT_B)
    check_like_numpy(lambda: np.divmod(x, y), lambda: np.divmod(a, b))
    check_like_numpy(lambda: divmod(x, 3), lambda: divmod(a, 3))
    check_like_numpy(lambda: np.modf(x), lambda: np.modf(a))
    check_like_numpy(lambda: np.frexp(x), lambda: np.frexp(a))
    if dtype == "f8":
        q, r = np.divmod(x, y)
        assert q.lineage.op == "divmod[0]" and r.lineage.op == "divmod[1]"


def test_ufunc_kwargs(ctx):
    a = sample_values("f8", N, seed=1)
    b = sample_values("i4", N, seed=2)
    x, y = partitioned(a, LAYOUT_A), partitioned(b, LAYOUT_B)
    assert_same(np.add(x, y, dtype=np.float32), np.add(a, b, dtype=np.float32))
    assert_same(np.sqrt(x, dtype=np.float32), np.sqrt(a, dtype=np.float32))
    assert_same(np.multiply(y, 3, dtype=np.int8, casting="unsafe"), np.multiply(b, 3, dtype=np.int8, casting="unsafe"))
    assert_same(np.add(x, y, out=None), a + b)
    check_like_numpy(lambda: np.add(x, y, dtype=np.int8), lambda: np.add(a, b, dtype=np.int8))  # casting
    assert_same(np.greater(x, 0, signature=(None, None, "?")), np.greater(a, 0, signature=(None, None, "?")))


def test_ufunc_out_raises(ctx):
    x = rd.from_numpy(np.arange(5.0), npartitions=2)
    with pytest.raises(TypeError, match="out"):
        np.add(x, 1, out=np.empty(5))
    with pytest.raises(TypeError, match="out"):
        np.sqrt(x, out=(np.empty(5),))
    with pytest.raises(TypeError, match="out"):
        np.divmod(x, 2, out=(np.empty(5), np.empty(5)))
    with pytest.raises(TypeError):
        np.add.accumulate(x)
    with pytest.raises(TypeError):
        np.add.outer(x, x)


def test_gufuncs_row_wise(ctx):
    a = sample_values("f8", N, (3,), seed=1)
    w = np.arange(6.0).reshape(3, 2)
    x = partitioned(a, LAYOUT_A)
    assert_same(np.matmul(x, w), np.matmul(a, w))
    assert_same(x @ w, a @ w)
    assert_same(x @ w[:, 0], a @ w[:, 0])
    assert_same(np.vecdot(x, partitioned(a, LAYOUT_B)), np.vecdot(a, a))
    assert_same(np.vecdot(x, a), np.vecdot(a, a))
    stacked = np.ones((1, 2, 1))
    assert_same(np.matvec(x[:, None, :] * stacked, w[:, 0]), np.matvec(a[:, None, :] * stacked, w[:, 0]))


# -- __array_function__ ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtypes", [("i4", "f4"), ("u1", "i1"), ("?", "i8"), ("S3", "S5"), ("U2", "U7"),
                                    ("M8[s]", "M8[ms]"), ("f2", "c8"), ("i8", "U3"), ("m8[s]", "f8"),
                                    ("f8", "f8"), ("u8", "i8")], ids=str)
def test_concatenate_promotes(ctx, dtypes):
    a = sample_values(dtypes[0], 9, (2,), seed=1)
    b = sample_values(dtypes[1], 14, (2,), seed=2)
    x, y = partitioned(a, [4, 0, 5]), partitioned(b, [14])
    check_like_numpy(lambda: np.concatenate([x, y]), lambda: np.concatenate([a, b]))
    check_like_numpy(lambda: rd.concatenate([y, x, y]), lambda: np.concatenate([b, a, b]))
    check_like_numpy(lambda: np.concatenate([x, b]), lambda: np.concatenate([a, b]))
    check_like_numpy(lambda: rd.concatenate([a, y]), lambda: np.concatenate([a, b]))


def test_concatenate_structure(ctx):
    a = sample_values("f8", 10, seed=1)
    b = sample_values("f8", 7, seed=2)
    x, y = partitioned(a, [3, 0, 7]), partitioned(b, [2, 5])
    c = rd.concatenate([x, y])
    assert c.npartitions == 5 and c.partition_lengths == (3, 0, 7, 2, 5)
    assert c.lineage.dependency_kinds == ("range", "range")
    assert_same(c, np.concatenate([a, b]))
    assert_same(rd.concatenate([x]), a)
    f = x.filter(lambda v: v > 0)
    cf = rd.concatenate([f, y, f])
    assert cf.partition_lengths is None
    assert_same(cf, np.concatenate([a[a > 0], b, a[a > 0]]))
    assert_same(np.concatenate([x, y], dtype=np.float32), np.concatenate([a, b], dtype=np.float32))
    s = sample_values(STRUCT, 6, seed=3)
    assert_same(rd.concatenate([partitioned(s, [2, 4]), partitioned(s[::-1], [6])]),
                np.concatenate([s, s[::-1]]))


def test_concatenate_errors(ctx):
    x = rd.from_numpy(np.zeros((4, 2)), npartitions=2)
    with pytest.raises(ValueError):
        rd.concatenate([])
    with pytest.raises(ValueError):
        rd.concatenate([x, rd.from_numpy(np.zeros((4, 3)))])
    with pytest.raises(ValueError, match="axis"):
        np.concatenate([x, x], axis=1)
    with pytest.raises(TypeError):
        np.concatenate([x, x], out=np.empty((8, 2)))


@pytest.mark.parametrize("dtypes", [("f8", "i4"), ("?", "?"), ("U3", "U5"), ("M8[s]", "M8[s]"), ("i1", "u1")], ids=str)
def test_where(ctx, dtypes):
    a = sample_values(dtypes[0], N, (2,), seed=1)
    b = sample_values(dtypes[1], N, (2,), seed=2)
    c = sample_values("?", N, (2,), seed=3)
    x, y, cond = partitioned(a, LAYOUT_A), partitioned(b, LAYOUT_B), partitioned(c, LAYOUT_C)
    check_like_numpy(lambda: np.where(cond, x, y), lambda: np.where(c, a, b))
    check_like_numpy(lambda: rd.where(c, x, y), lambda: np.where(c, a, b))
    check_like_numpy(lambda: rd.where(cond, a, b), lambda: np.where(c, a, b))
    check_like_numpy(lambda: rd.where(cond, a[0], y), lambda: np.where(c, a[0], b))
    check_like_numpy(lambda: np.where(cond[:, 0], x[:, 1], 7), lambda: np.where(c[:, 0], a[:, 1], 7))
    with pytest.raises(ValueError):
        np.where(cond)
    with pytest.raises(TypeError):
        rd.where(c, a, b)


@pytest.mark.parametrize("dtype", ["f8", "f4", "i4", "u1", "f2"])
def test_clip(ctx, dtype):
    a = sample_values(dtype, N, (2,), seed=1)
    x = partitioned(a, LAYOUT_A)
    lo, hi = sample_values(dtype, N, (2,), seed=2), sample_values(dtype, 1, (2,), seed=3)[0]
    check_like_numpy(lambda: np.clip(x, 0, 10), lambda: np.clip(a, 0, 10))
    check_like_numpy(lambda: np.clip(x, None, 5), lambda: np.clip(a, None, 5))
    check_like_numpy(lambda: np.clip(x, -3, None), lambda: np.clip(a, -3, None))
    check_like_numpy(lambda: np.clip(x, lo, hi), lambda: np.clip(a, lo, hi))
    check_like_numpy(lambda: np.clip(x, partitioned(lo, LAYOUT_B), 100), lambda: np.clip(a, lo, 100))
    check_like_numpy(lambda: np.clip(x, a_min=1, a_max=2), lambda: np.clip(a, a_min=1, a_max=2))
    check_like_numpy(lambda: np.clip(x, min=1), lambda: np.clip(a, min=1))
    check_like_numpy(lambda: np.clip(x, max=2), lambda: np.clip(a, max=2))
    check_like_numpy(lambda: np.clip(x, None, None), lambda: np.clip(a, None, None))
    check_like_numpy(lambda: np.clip(x, 1, 2, dtype=np.float64), lambda: np.clip(a, 1, 2, dtype=np.float64))


@pytest.mark.parametrize("dtype", ["f8", "f4", "f2", "i8", "u1", "c16"])
@pytest.mark.parametrize("decimals", [0, 1, 3, -1, -2])
def test_round(ctx, dtype, decimals):
    a = sample_values(dtype, N, seed=1)
    if dtype[0] == "f":
        a = a / np.asarray(7, dtype)
    x = partitioned(a, LAYOUT_A)
    check_like_numpy(lambda: np.round(x, decimals), lambda: np.round(a, decimals))
    check_like_numpy(lambda: np.around(x, decimals=decimals), lambda: np.around(a, decimals=decimals))
    if decimals == 0:
        check_like_numpy(lambda: np.round(x), lambda: np.round(a))


@pytest.mark.parametrize("dtype", ["f8", "f4", "i4", "c16", "?"])
def test_nansum(ctx, dtype):
    a = sample_values(dtype, N, (3,), seed=1)
    if dtype[0] in "fc":
        a[np.isinf(a)] = 1.5  # finite, so sums do not depend on the order of the terms
        a[5:8] = np.nan
        a = (a * 0.25).astype(dtype)
    x = partitioned(a, LAYOUT_A)
    expected = np.nansum(a)
    got = np.nansum(x)
    assert np.asarray(got).dtype == expected.dtype
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5 if dtype in ("f4", "c16") else 1e-12)
    np.testing.assert_allclose(np.asarray(np.nansum(x, axis=0)), np.nansum(a, axis=0), rtol=1e-5)
    assert_same(np.nansum(x, axis=1), np.nansum(a, axis=1))
    nan_only = partitioned(np.full((4,), np.nan), [0, 4])
    assert float(np.nansum(nan_only)) == np.nansum(np.full((4,), np.nan)) == 0.0


# -- map_partitions, filter, astype, coalesce -----------------------------------------------------

def test_map_partitions(ctx):
    a = sample_values("f8", N, (2,), seed=1)
    x = partitioned(a, LAYOUT_A)
    blocks = split(a, LAYOUT_A)

    def per_block(fn):
        return np.concatenate([fn(b) for b in blocks])

    for fn in (lambda b: b * 2, np.cumsum, lambda b: b[::2], lambda b: np.repeat(b, 3, axis=0),
               lambda b: b[:, :1].astype(np.float32), lambda b: b.sum(axis=1), lambda b: b[:0],
               lambda b: np.concatenate([b, b[:1]])):
        expected = per_block(fn)
        y = x.map_partitions(fn)
        assert y.dtype == expected.dtype and y.npartitions == x.npartitions
        assert_same(y, expected)
    y = x.map_partitions(lambda b: b * 2, dtype=np.float32)
    assert_same(y, (a * 2).astype(np.float32))


def test_map_partitions_needs_dtype_when_inference_fails(ctx):
    a = np.arange(10)
    x = partitioned(a, [3, 7])

    def first_row_shift(b):
        return b - b[0]  # fails on an empty partition

    with pytest.raises(IndexError, match="dtype"):
        x.map_partitions(first_row_shift)
    y = x.map_partitions(first_row_shift, dtype=np.int64)
    assert_same(y, np.concatenate([b - b[0] for b in split(a, [3, 7])]))
    with pytest.raises(ValueError, match="scalar"):
        x.map_partitions(np.sum)
    with pytest.raises(ValueError, match="shape"):
        x.map_partitions(lambda b: b.reshape(-1, 1) if len(b) else b, dtype=int).compute()
    with pytest.raises(TypeError, match="object"):
        x.map_partitions(lambda b: b.astype(object))


def test_map_partitions_error_keeps_type(ctx):
    x = partitioned(np.arange(10), [3, 7])

    def boom(b):
        if len(b) == 7:
            raise KeyError("seven")
        return b

    with pytest.raises(KeyError, match="seven"):
        x.map_partitions(boom).compute()
    assert_same(x + 1, np.arange(10) + 1)  # the context stays usable


@given(data=st.data())
def test_filter(ctx, data):
    a, lengths = data.draw(arrays_and_layouts(np.float64, elements=FLOATS, trailing=(2,)))
    x = partitioned(a, lengths)
    f = x.filter(lambda b: b[:, 0] > b[:, 1])
    assert f.shape == (None, 2) and f.npartitions == x.npartitions and f.nbytes is None
    expected = a[a[:, 0] > a[:, 1]]
    assert len(f) == len(expected)
    assert f.shape == expected.shape  # known once computed
    assert_same(f, expected)
    assert_same(f.filter(lambda b: np.isnan(b[:, 0])), expected[np.isnan(expected[:, 0])])


def test_filter_bad_mask(ctx):
    x = partitioned(np.arange(10), [3, 7])
    with pytest.raises(ValueError, match="mask"):
        x.filter(lambda b: b).compute()
    with pytest.raises(ValueError, match="mask"):
        x.filter(lambda b: (b > 2)[:-1]).compute()


ASTYPE_DTYPES = ["?", "i1", "i8", "u2", "u8", "f2", "f4", "f8", "c8", "M8[s]", "m8[s]", "S4", "U6"]


@pytest.mark.parametrize("source", ASTYPE_DTYPES)
def test_astype(ctx, source):
    a = sample_values(source, N, (2,), seed=1)
    x = partitioned(a, LAYOUT_A)
    for target in ASTYPE_DTYPES + [STRUCT]:
        check_call(operator.methodcaller("astype", target), (x,), (a,))
    check_like_numpy(lambda: np.astype(x, "f4"), lambda: np.astype(a, "f4"))
    with pytest.raises(TypeError, match="object"):
        x.astype(object)


def test_astype_keeps_unknown_lengths_aligned(ctx):
    a = np.arange(30)
    f = partitioned(a, [10, 20]).filter(lambda b: b % 4 == 1)
    g = f.astype(np.float32)
    assert g.partition_lengths is None
    assert (g + f).lineage.dependency_kinds == ("one-to-one", "one-to-one")
    e = a[a % 4 == 1]
    assert_same(g + f, e.astype(np.float32) + e)


@given(data=st.data())
def test_coalesce(ctx, data):
    a, lengths = data.draw(arrays_and_layouts(np.int32, max_rows=40))
    n = data.draw(st.integers(1, 9))
    unknown = data.draw(st.booleans())
    x = partitioned(a, lengths)
    if unknown:
        x = x.filter(lambda b: b % 3 != 0)
        a = a[a % 3 != 0]
    c = x.coalesce(n)
    assert c.npartitions == min(n, len(lengths))
    assert_same(c, a)
    # neighbouring partitions joined: every cut of the result is a cut of the input
    parts = x.partitions()
    cuts = set(np.cumsum([len(p) for p in parts]).tolist()) | {0}
    assert set(np.cumsum(c.partition_lengths).tolist()) <= cuts
    assert c.lineage.op == "coalesce" or c is x


def test_coalesce_balances_rows(ctx):
    x = rd.from_numpy(np.arange(80), npartitions=8)
    c = x.coalesce(4)
    assert c.partition_lengths == (20, 20, 20, 20)
    assert x.coalesce(3).npartitions == 3 and min(x.coalesce(3).partition_lengths) > 0
    assert x.coalesce(8) is x and x.coalesce(100) is x
    assert_same(x.coalesce(1), np.arange(80))
    with pytest.raises(ValueError):
        x.coalesce(0)
    with pytest.raises(ValueError):
        x.coalesce(2.0)


# -- properties over random layouts and values ----------------------------------------------------

BINARY_UFUNCS = [np.add, np.subtract, np.multiply, np.true_divide, np.floor_divide, np.remainder, np.power,
                 np.maximum, np.minimum, np.fmax, np.fmin, np.arctan2, np.hypot, np.copysign, np.nextafter,
                 np.less, np.equal, np.logaddexp, np.heaviside, np.fmod, np.float_power]
UNARY_UFUNCS = [np.negative, np.absolute, np.sqrt, np.exp, np.log1p, np.sin, np.tanh, np.floor, np.rint,
                np.isnan, np.isfinite, np.signbit, np.square, np.reciprocal, np.spacing, np.sign, np.cbrt]


@given(data=st.data(), ufunc=st.sampled_from(BINARY_UFUNCS),
       dtype=st.sampled_from([np.float64, np.float32, np.float16]))
def test_binary_ufunc_property(ctx, data, ufunc, dtype):
    a, la = data.draw(arrays_and_layouts(dtype, elements=SMALL_FLOATS))
    b = data.draw(hnp.arrays(dtype, a.shape, elements=SMALL_FLOATS))
    lb = data.draw(layouts(len(a)))
    x, y = partitioned(a, la), partitioned(b, lb)
    signed = ufunc not in ZERO_SIGN_UNSPECIFIED
    with np.errstate(all="ignore"):
        assert_same(ufunc(x, y), ufunc(a, b), signed)
        assert_same(ufunc(y, x), ufunc(b, a), signed)


@given(data=st.data(), ufunc=st.sampled_from(UNARY_UFUNCS), width=st.sampled_from([32, 64]))
def test_unary_ufunc_property(ctx, data, ufunc, width):
    elements = st.one_of(SMALL_FLOATS, st.floats(allow_nan=True, width=width))
    a, lengths = data.draw(arrays_and_layouts(np.dtype(f"f{width // 8}"), trailing=(2,), elements=elements))
    x = partitioned(a, lengths)
    with np.errstate(all="ignore"):
        assert_same(ufunc(x), ufunc(a))


@given(data=st.data())
def test_expression_property(ctx, data):
    """A fused chain over three operands with three layouts, NaN and inf included."""
    a, la = data.draw(arrays_and_layouts(np.float64, elements=FLOATS))
    b = data.draw(hnp.arrays(np.float64, a.shape, elements=FLOATS))
    c = data.draw(hnp.arrays(np.int16, a.shape))
    x, y, z = partitioned(a, la), partitioned(b, data.draw(layouts(len(a)))), partitioned(c, data.draw(layouts(len(a))))
    with np.errstate(all="ignore"):
        expected = np.where(a > b, a * 2 - c, np.abs(b) / (c + 0.5)) ** 2
        got = rd.where(x > y, x * 2 - z, np.abs(y) / (z + 0.5)) ** 2
    assert_same(got, expected)
    assert_equal_arrays((x == x).compute(), a == a)  # noqa: PLR0124 - NaN != NaN
