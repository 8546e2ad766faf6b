"""``rd.Lazy`` results and ``rd.compute`` (contract 3.3): evaluation, arithmetic, one shared plan."""
from __future__ import annotations

import operator

import numpy as np
import pytest

import rdarray as rd
from _helpers import Counter, assert_close, partitioned

A = np.arange(1.0, 25.0) * 0.5  # partitions start with distinct values, as Counter needs
LENGTHS = [5, 0, 7, 12]
NPARTS = 3  # non-empty ones


def counted(a=A, lengths=LENGTHS):
    """``(y, counter)``: ``y`` holds ``a`` and counts the computations of its partitions."""
    counter = Counter()
    y = partitioned(a, lengths).map_partitions(counter, dtype=a.dtype)
    assert counter.total == 0
    return y, counter


# -- evaluating ------------------------------------------------------------------------------------

def test_compute_float_int_bool_asarray(ctx):
    x = partitioned(A, LENGTHS)
    r = x.sum()
    assert isinstance(r, rd.Lazy)
    assert_close(r.compute(), A.sum())
    assert float(r) == float(A.sum()) and isinstance(float(r), float)
    i = (A * 2).astype(np.int64)
    xi = partitioned(i, LENGTHS)
    assert int(xi.sum()) == int(i.sum()) and isinstance(int(xi.sum()), int)
    assert list(range(1000))[xi.min()] == int(i.min())  # __index__
    assert bool(x.any()) is True and bool((x > 100).any()) is False
    assert bool(x.all()) is True and bool((x > 1).all()) is False
    assert complex(x.mean()) == complex(A.mean())
    arr = np.asarray(x.mean())
    assert isinstance(arr, np.ndarray) and arr.shape == () and arr == A.mean()
    assert_close(np.asarray(x.max(), dtype=np.float32), np.asarray(A.max(), dtype=np.float32))


def test_array_valued_results():
    a = A.reshape(12, 2)
    x = partitioned(a, [3, 0, 9])
    r = x.sum(axis=0)
    assert isinstance(r, rd.Lazy)
    assert_close(np.asarray(r), a.sum(axis=0))
    assert_close(r[1].compute(), a.sum(axis=0)[1])
    with pytest.raises(ValueError):
        bool(a.sum(axis=0))
    with pytest.raises(ValueError):
        bool(r)
    counts, edges = x.histogram(bins=4).compute()
    expected = np.histogram(a, bins=4)
    assert_close(counts, expected[0])
    assert_close(edges, expected[1])


def test_compute_twice_gives_equal_values():
    y, counter = counted()
    r = y.var()
    first, second = r.compute(), r.compute()
    assert first == second
    assert_close(first, A.var(), rtol=1e-12)
    assert counter.total == 2 * NPARTS  # no hidden caching between plans


def test_context_compute(ctx):
    x = partitioned(A, LENGTHS)
    s, m, arr = ctx.compute(x.sum(), x.mean(), x)
    assert_close(s, A.sum())
    assert_close(m, A.mean(), rtol=1e-12)
    assert_close(arr, A)


# -- arithmetic ------------------------------------------------------------------------------------

ARITHMETIC = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
              operator.mod, operator.pow]
COMPARISONS = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


@pytest.mark.parametrize("op", ARITHMETIC + COMPARISONS, ids=lambda f: f.__name__)
def test_operators(op):
    x = partitioned(A, LENGTHS)
    s, m = x.max(), x.mean()
    es, em = A.max(), A.mean()
    for got, expected in ((op(s, m), op(es, em)), (op(s, 3), op(es, 3)), (op(s, 2.5), op(es, 2.5)),
                          (op(m, m), op(em, em))):
        assert isinstance(got, rd.Lazy)
        assert_close(got.compute(), expected, rtol=1e-12)
    if op in ARITHMETIC:
        got = op(3, s)
        assert isinstance(got, rd.Lazy)
        assert_close(got.compute(), op(3, es), rtol=1e-12)


def test_unary_ufuncs_and_arrays():
    a = A.reshape(12, 2)
    x = partitioned(a, [3, 0, 9])
    s = x.sum(axis=0)
    es = a.sum(axis=0)
    for got, expected in ((-s, -es), (abs(-s), abs(-es)), (np.sqrt(s), np.sqrt(es)),
                          (np.maximum(s, x.max(axis=0) * 20), np.maximum(es, a.max(axis=0) * 20)),
                          (s - np.array([1.0, 2.0]), es - np.array([1.0, 2.0])),
                          (np.array([1.0, 2.0]) - s, np.array([1.0, 2.0]) - es)):
        assert isinstance(got, rd.Lazy)
        assert_close(got.compute(), expected, rtol=1e-12)


def test_sum_over_count_style():
    x = partitioned(A, LENGTHS)
    r = x.sum() / x.count()
    assert isinstance(r, rd.Lazy)
    assert_close(r.compute(), A.sum() / len(A), rtol=1e-12)
    r = (x.sum() - x.min() * len(x)) / (x.max() - x.min())
    assert_close(r.compute(), (A.sum() - A.min() * len(A)) / (A.max() - A.min()), rtol=1e-12)


def test_array_minus_its_mean():
    x = partitioned(A, LENGTHS)
    centered = x - x.mean()
    assert isinstance(centered, rd.PartitionedArray)
    assert_close(centered.compute(), A - A.mean(), rtol=1e-12, atol=1e-12)
    z = (x - x.mean()) / x.std()
    assert_close(z.compute(), (A - A.mean()) / A.std(), rtol=1e-12, atol=1e-12)
    assert_close((x.mean() - x).compute(), A.mean() - A, rtol=1e-12, atol=1e-12)
    a2 = A.reshape(12, 2)
    x2 = partitioned(a2, [3, 0, 9])
    assert_close((x2 - x2.mean(axis=0)).compute(), a2 - a2.mean(axis=0), rtol=1e-12, atol=1e-12)


def test_array_minus_its_mean_reads_the_input_once():
    y, counter = counted()
    centered, total = rd.compute(y - y.mean(), y.sum())
    assert_close(centered, A - A.mean(), rtol=1e-12, atol=1e-12)
    assert_close(total, A.sum())
    counter.assert_each_once(NPARTS)


def test_lazy_operand_is_broadcast_lazily_through_the_plan():
    y, counter = counted()
    centered = y - y.mean()
    assert counter.total == 0
    assert "broadcast" in centered.explain()
    assert centered.lineage.dependency_kinds == ("one-to-one", "broadcast")
    assert_close(centered.compute(), A - A.mean(), rtol=1e-12, atol=1e-12)


def test_lazy_operand_without_a_known_dtype_is_computed_first():
    x = partitioned(A, LENGTHS)
    total = x.reduce(np.sum, operator.add)  # a user reduction: its dtype is known only once computed
    assert_close((x - total).compute(), A - A.sum(), rtol=1e-12, atol=1e-9)


# -- repr and explain never compute --------------------------------------------------------------

def test_repr_never_computes():
    y, counter = counted()
    results = [y.sum(), y.mean(), y.var(ddof=1), y.argmax(), y.moments(), y.histogram(bins=5),
               y.sum() / y.max(), y.reduce(np.sum, operator.add), -y.min()]
    for r in results:
        text = repr(r)
        assert "\n" not in text and len(text) < 300
    assert "sum" in repr(results[0]) and "mean" in repr(results[1])
    assert "\n" not in repr(y) and "map_partitions" in repr(y)
    assert counter.total == 0
    y.explain()
    results[0].explain()
    assert counter.total == 0
    assert_close(results[0].compute(), A.sum())
    assert counter.total == NPARTS  # the counter does count


# -- rd.compute: one plan --------------------------------------------------------------------------

def test_compute_many_items_reads_shared_input_once(ctx):
    y, counter = counted()
    a_plus, a_times, total, mean, var, lo, hist, moms = rd.compute(
        y + 1, y * 2, y.sum(), y.mean(), y.var(), y.min(), y.histogram(bins=4, range=(0, 13)),
        y.moments())
    counter.assert_each_once(NPARTS)
    assert_close(a_plus, A + 1)
    assert_close(a_times, A * 2)
    assert_close(total, A.sum())
    assert_close(mean, A.mean(), rtol=1e-12)
    assert_close(var, A.var(), rtol=1e-12)
    assert_close(lo, A.min())
    assert_close(hist[0], np.histogram(A, bins=4, range=(0, 13))[0])
    assert moms["count"] == len(A)


def test_compute_array_and_its_reduction_once():
    y, counter = counted()
    arr, total = rd.compute(y, y.sum())
    assert_close(arr, A)
    assert_close(total, A.sum())
    counter.assert_each_once(NPARTS)


def test_compute_derived_lazies_once():
    y, counter = counted()
    s = y.sum()
    got = rd.compute(s, s * 2, s / y.max(), y.max() - y.min())
    counter.assert_each_once(NPARTS)
    for g, e in zip(got, (A.sum(), A.sum() * 2, A.sum() / A.max(), A.max() - A.min())):
        assert_close(g, e, rtol=1e-12)


def test_compute_nothing_and_order():
    assert rd.compute() == ()
    x = partitioned(A, LENGTHS)
    got = rd.compute(x.max(), x, x.min())
    assert_close(got[0], A.max())
    assert_close(got[1], A)
    assert_close(got[2], A.min())
