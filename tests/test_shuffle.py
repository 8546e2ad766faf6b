"""Shuffles: partition_by (hash) and sort (range), against NumPy on the same data."""

import gc
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib.recfunctions import repack_fields

import rdarray as rd
from _helpers import Counter, layouts, partitioned


def table(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.empty(n, dtype=[("k", "i8"), ("f", "f8"), ("s", "U3"), ("v", "f4")])
    t["k"] = rng.integers(0, 50, n)
    t["f"] = rng.choice([np.nan, -0.0, 0.0, 1.5, 2.5], n)
    t["s"] = rng.choice(["a", "bb", "ccc", ""], n)
    t["v"] = rng.normal(size=n)
    return t


def split(a, lengths):
    bounds = np.cumsum([0] + list(lengths))
    return rd.from_partitions([a[i:j] for i, j in zip(bounds[:-1], bounds[1:])])


def assert_rows_equal(got, expected):
    """The same rows in the same order, field by field (NaN equal to NaN)."""
    assert got.dtype == expected.dtype and got.shape == expected.shape
    for name in expected.dtype.names:
        np.testing.assert_array_equal(got[name], expected[name])


def assert_same_rows(got, expected):
    """The same rows in any order."""
    order = list(expected.dtype.names)
    assert_rows_equal(np.sort(got, order=order), np.sort(expected, order=order))


def pandas_sorted(a, order, descending=False, na_position="last"):
    """``a`` (1-D values, or structured rows by the fields ``order``) as pandas'
    ``sort_values(kind="stable")`` orders it; ``descending`` is one bool or one per field."""
    pd = pytest.importorskip("pandas")
    if order is None:
        return a[pd.Series(a).sort_values(ascending=not descending, na_position=na_position, kind="stable").index]
    order = [order] if isinstance(order, str) else list(order)
    down = [descending] * len(order) if isinstance(descending, bool) else list(descending)
    # floats as objects: pandas' float fast path of several keys ties NaN with -inf for "first"
    df = pd.DataFrame({name: a[name].astype(object) if a[name].dtype.kind == "f" else a[name] for name in order})
    return a[df.sort_values(order, ascending=[not d for d in down], na_position=na_position, kind="stable").index]


def key_sets(parts, key):
    """The distinct keys of each partition (NaN as one value)."""
    found = []
    for p in parts:
        col = p[key] if key else p
        found.append({("nan",) if isinstance(v, float) and np.isnan(v) else (v + 0.0 if isinstance(v, float) else v,)
                      for v in col.tolist()})
    return found


@pytest.mark.parametrize("key", ["k", "f", "s", ("k", "s")])
@pytest.mark.parametrize("n", [1, 3, 8])
def test_partition_by_places_each_key_in_one_partition(key, n):
    a = table()
    x = split(a, [500, 0, 1000, 500])
    y = x.partition_by(key, npartitions=n)
    assert y.npartitions == n and y.partitioner == rd.HashPartitioner(n, key)
    parts = y.partitions()
    assert sum(len(p) for p in parts) == len(a)
    assert_same_rows(np.concatenate(parts), a)
    if isinstance(key, str):
        seen = key_sets(parts, key)
        for i in range(n):
            for j in range(i + 1, n):
                assert not seen[i] & seen[j], f"a key of {key} is in partitions {i} and {j}"


def test_partition_by_values_of_1d_and_no_shuffle_when_already_partitioned():
    a = np.random.default_rng(1).integers(0, 20, 1000)
    x = rd.from_numpy(a, npartitions=4)
    y = x.partition_by(npartitions=5)
    text = y.explain()
    assert "shuffle" in text and text.startswith("Plan: 2 stage(s)")
    assert y.partition_by(npartitions=5) is y  # already placed so: no second shuffle
    assert text.count("shuffle:") == 1
    z = y.partition_by(npartitions=3)
    assert z is not y and z.explain().count("shuffle:") == 2
    np.testing.assert_array_equal(np.sort(z.compute()), np.sort(a))
    assert (y + 1).partitioner is None  # values changed: the placement no longer holds


def test_partition_by_bad_keys():
    x = rd.from_numpy(table(10))
    with pytest.raises(KeyError, match="nope"):
        x.partition_by("nope")
    with pytest.raises(ValueError, match="key field"):
        x.partition_by()
    with pytest.raises(ValueError, match="npartitions"):
        x.partition_by("k", npartitions=0)
    with pytest.raises(ValueError, match="2-D"):
        rd.zeros((4, 2)).partition_by()


@pytest.mark.parametrize("values", [
    np.random.default_rng(2).normal(size=3000),
    np.random.default_rng(3).integers(-5, 5, 3000),
    np.array([np.nan, 1.0, -np.inf, 0.0, -0.0, np.inf, 2.0] * 100),
    np.array(["pear", "apple", "", "fig", "apple"] * 50),
    np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]")[::-1],
])
@pytest.mark.parametrize("npartitions", [1, 4, 9])
def test_sort_matches_numpy(values, npartitions):
    x = rd.from_numpy(values, npartitions=npartitions)
    y = x.sort()
    out = y.compute()
    np.testing.assert_array_equal(out, np.sort(values, kind="stable"))
    assert isinstance(y.partitioner, rd.RangePartitioner)
    np.testing.assert_array_equal(x.sort(descending=True).compute(), pandas_sorted(values, None, True))


def test_sort_structured_by_fields_is_stable():
    a = table(3000)
    x = split(a, [1000, 0, 1500, 500])
    assert_rows_equal(x.sort("k").compute(), a[np.argsort(a["k"], kind="stable")])
    keys = repack_fields(a[["s", "k"]])
    assert_rows_equal(x.sort(["s", "k"]).compute(), a[np.argsort(keys, kind="stable")])
    assert_rows_equal(x.sort("f").compute(), a[np.argsort(a["f"], kind="stable")])


@pytest.mark.parametrize("order", [["k", "f"], ["f", "s", "k"], ["t", "k"], ["w", "k"], ["k", "w"], ["u", "t"]])
def test_sort_by_several_fields_of_every_kind_is_stable(order):
    """Dense and sparse integers (the widest beyond 64 bits of combined ranks), floats with NaN and
    signed zeros, strings, datetimes with NaT, 8-bit unsigned: all against NumPy's structured order."""
    a = table(3000)
    rng = np.random.default_rng(5)
    extra = np.empty(len(a), dtype=a.dtype.descr + [("t", "M8[s]"), ("w", "i8"), ("u", "u1")])
    for name in a.dtype.names:
        extra[name] = a[name]
    extra["t"] = rng.integers(0, 40, len(a)).astype("M8[s]")
    extra["t"][rng.random(len(a)) < 0.1] = np.datetime64("NaT")
    extra["w"] = rng.choice(np.array([np.iinfo(np.int64).min, -1, 0, 7, np.iinfo(np.int64).max]), len(a))
    extra["u"] = rng.integers(0, 256, len(a))
    expected = extra[np.lexsort([extra[name] for name in reversed(order)])]
    assert_rows_equal(split(extra, [900, 0, 1600, 500]).sort(order).compute(), expected)
    assert_rows_equal(split(extra, [3000]).sort(order, descending=True).compute(), pandas_sorted(extra, order, True))


def mixed_table(n=3000, seed=12):
    """Keys with missing values of every kind (NaN, NaT, complex NaN), signed zeros, strings,
    dense and sparse integers, and each row's input position in ``row``."""
    rng = np.random.default_rng(seed)
    t = np.empty(n, dtype=[("k", "i8"), ("f", "f8"), ("t", "M8[s]"), ("s", "U2"), ("c", "c16"), ("w", "i8"),
                           ("row", "i8")])
    t["k"] = rng.integers(0, 5, n)
    t["f"] = rng.choice([np.nan, -0.0, 0.0, 1.5, -2.5, np.inf], n)
    t["t"] = rng.integers(0, 4, n).astype("M8[s]")
    t["t"][rng.random(n) < 0.2] = np.datetime64("NaT")
    t["s"] = rng.choice(["a", "bb", "", "c"], n)
    t["c"] = rng.choice(np.array([1, 2j, complex(np.nan, 1), complex(1, np.nan), -1]), n)
    t["w"] = rng.choice(np.array([np.iinfo(np.int64).min, -1, 0, 7, np.iinfo(np.int64).max]), n)
    t["row"] = np.arange(n)
    return t


@pytest.mark.parametrize("order, descending", [
    ("f", True), ("t", True), ("c", True), ("s", True), ("w", True),
    (["k", "f"], [False, True]), (["k", "f"], [False, False]), (["f", "t"], [True, False]),
    (["t", "s", "f"], [True, True, False]), (["w", "c"], [True, False]), (["s", "k", "t", "f"], True)])
@pytest.mark.parametrize("na_position", ["last", "first"])
def test_sort_directions_and_na_position_match_pandas(ctx, order, descending, na_position):
    """One direction per key, missing keys last or first in both directions, ties in input order."""
    t = mixed_table()
    y = split(t, [900, 0, 1600, 500]).sort(order, descending=descending, na_position=na_position)
    assert_rows_equal(y.compute(), pandas_sorted(t, order, descending, na_position))
    assert max(len(p) for p in y.partitions()) < len(t)  # range partitioned, not all in one


@pytest.mark.parametrize("values", [
    np.array([np.nan, 1.0, -np.inf, 0.0, -0.0, np.inf, 2.0, -np.nan] * 300),
    np.random.default_rng(13).choice(np.array(["2024-01-01", "NaT", "2023-05-05"], "M8[D]"), 2000),
    np.random.default_rng(14).integers(-5, 5, 2000).astype(np.int32),
    np.random.default_rng(15).choice(np.array([1, complex(np.nan, 1), complex(1, np.nan), 0j, -0j]), 2000),
    np.random.default_rng(16).choice(np.array(["b", "", "ab"]), 2000),
])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("na_position", ["last", "first"])
def test_sort_values_keep_ties_in_input_order(ctx, values, descending, na_position):
    """1-D values: signed zeros and NaN payloads (equal keys that differ) come out in input order."""
    got = rd.from_numpy(values, npartitions=5).sort(descending=descending, na_position=na_position).compute()
    expected = pandas_sorted(values, None, descending, na_position)
    assert got.dtype == expected.dtype
    assert got.tobytes() == expected.tobytes()


def test_sort_descending_head_is_the_largest_values(ctx):
    a = np.where(np.arange(10_000) % 3 == 0, np.nan, np.arange(10_000.0))
    head = rd.from_numpy(a, npartitions=4).sort(descending=True).head(5)
    np.testing.assert_array_equal(head, [9998.0, 9997.0, 9995.0, 9994.0, 9992.0])
    t = mixed_table()
    np.testing.assert_array_equal(rd.from_numpy(t, npartitions=4).sort("f", descending=True).head(3)["f"],
                                  [np.inf] * 3)


def test_sort_rejects_bad_directions():
    x = rd.from_numpy(mixed_table(20))
    for bad in ("no", 1, None, [0, 1], [False, "yes"], {"k": True}):
        with pytest.raises(TypeError, match="descending"):
            x.sort(["k", "f"], descending=bad)
    with pytest.raises(TypeError, match="2 key"):
        x.sort(["k", "f"], descending=[True])
    with pytest.raises(ValueError, match="na_position"):
        x.sort("k", na_position="middle")
    with pytest.raises(TypeError, match="na_position"):
        x.sort("k", na_position=None)


MISSING_KEYS = st.sampled_from([np.nan, -0.0, 0.0, 1.0, -1.0, np.inf])
TIMES = st.sampled_from([np.datetime64("NaT", "s")] + [np.datetime64(v, "s") for v in range(3)])


@given(data=st.data())
def test_sort_property_several_keys_with_missing_values(ctx, data):
    """Any layout, keys with NaN and NaT in several fields, one direction per key, both NaN
    positions: pandas' stable sort order."""
    n = data.draw(st.integers(0, 40))
    t = np.empty(n, dtype=[("a", "f8"), ("b", "M8[s]"), ("c", "i2"), ("row", "i8")])
    t["a"] = data.draw(st.lists(MISSING_KEYS, min_size=n, max_size=n))
    t["b"] = data.draw(st.lists(TIMES, min_size=n, max_size=n))
    t["c"] = data.draw(st.lists(st.integers(-2, 2), min_size=n, max_size=n))
    t["row"] = np.arange(n)
    order = data.draw(st.permutations(["a", "b", "c"]).flatmap(lambda p: st.integers(1, 3).map(lambda k: p[:k])))
    descending = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    na_position = data.draw(st.sampled_from(["last", "first"]))
    x = partitioned(t, data.draw(layouts(n)))
    got = x.sort(order, descending=descending, na_position=na_position).compute()
    assert_rows_equal(got, pandas_sorted(t, order, descending, na_position))
    keys = pytest.importorskip("pandas").DataFrame({k: t[k] for k in order})
    for dropna in (True, False):
        counted = x.groupby(order, dropna=dropna).size().compute()
        expected = keys.groupby(order, sort=True, dropna=dropna).size().reset_index()
        for k in order:
            np.testing.assert_array_equal(counted[k], expected[k].to_numpy(dtype=t.dtype[k]))
    np.testing.assert_array_equal(x.map_partitions(lambda b: b["a"], dtype=np.float64).unique().compute(),
                                  np.unique(t["a"]))


def test_sort_by_many_fields_whose_ranks_overflow_64_bits():
    rng = np.random.default_rng(6)
    a = np.empty(4000, dtype=[(f"c{i}", "i8") for i in range(8)])
    for name in a.dtype.names:
        a[name] = rng.integers(0, 1000, len(a))
    order = list(a.dtype.names)
    assert_rows_equal(split(a, [1000, 3000]).sort(order).compute(), a[np.lexsort([a[f] for f in reversed(order)])])


def test_sort_partitions_are_balanced_for_spread_keys():
    a = np.random.default_rng(4).random(40_000)
    y = rd.from_numpy(a, npartitions=8).sort()
    lengths = [len(p) for p in y.partitions()]
    assert sum(lengths) == len(a)
    assert max(lengths) <= 2 * len(a) / 8, lengths


@given(st.lists(st.integers(-3, 3), min_size=0, max_size=60), st.lists(st.integers(0, 10), min_size=1, max_size=6))
def test_sort_property(values, lengths):
    a = np.array(values, dtype=np.int64)
    lengths = list(lengths)
    lengths[-1] += max(0, len(a) - sum(lengths))
    cut = np.minimum(np.cumsum([0] + lengths), len(a))
    x = rd.from_partitions([a[i:j] for i, j in zip(cut[:-1], cut[1:])])
    np.testing.assert_array_equal(x.sort().compute(), np.sort(a))
    np.testing.assert_array_equal(np.sort(x.partition_by(npartitions=3).compute()), np.sort(a))


VALUE_ARRAYS = {
    "ints": np.random.default_rng(5).integers(-20, 20, 3000),
    "floats-nan": np.random.default_rng(6).choice([np.nan, 1.0, 2.5, -3.0, 0.0], 3000),
    "strings": np.random.default_rng(7).choice(["x", "yy", "", "zzz"], 3000),
    "bool": np.random.default_rng(8).random(3000) > 0.3,
    "datetime": np.random.default_rng(9).choice(np.arange("2024-01-01", "2024-01-09", dtype="M8[D]"), 3000),
    "one-value": np.full(100, 7, dtype=np.int16),
    "empty": np.zeros(0, dtype=np.float32),
}


@pytest.mark.parametrize("name", sorted(VALUE_ARRAYS))
@pytest.mark.parametrize("npartitions", [1, 5])
def test_unique_matches_numpy(name, npartitions):
    a = VALUE_ARRAYS[name]
    x = rd.from_numpy(a, npartitions=min(npartitions, max(1, len(a))))
    np.testing.assert_array_equal(x.unique().compute(), np.unique(a))
    np.testing.assert_array_equal(np.unique(x).compute(), np.unique(a))
    assert x.unique().dtype == np.unique(a).dtype


@pytest.mark.parametrize("name", sorted(VALUE_ARRAYS))
@pytest.mark.parametrize("npartitions", [1, 5])
def test_value_counts_matches_pandas(name, npartitions):
    pd = pytest.importorskip("pandas")
    a = VALUE_ARRAYS[name]
    x = rd.from_numpy(a, npartitions=min(npartitions, max(1, len(a))))
    got = x.value_counts().compute()
    assert got.dtype.names == ("value", "count") and got["value"].dtype == a.dtype
    present = a[~pd.isna(a)]
    values, counts = np.unique(present, return_counts=True)
    expected = sorted(zip(values.tolist(), counts.tolist()), key=lambda vc: (-vc[1], vc[0]))
    assert list(zip(got["value"].tolist(), got["count"].tolist())) == expected
    assert sorted(got["count"].tolist()) == sorted(pd.Series(a).value_counts().tolist())
    placed = x.partition_by()
    counts = placed.value_counts()
    assert counts.explain().count("shuffle:") == placed.explain().count("shuffle:") + 1  # the order's only
    assert list(zip(counts.compute()["value"].tolist(), counts.compute()["count"].tolist())) == expected


def test_unique_of_2d_and_structured():
    a = np.random.default_rng(10).integers(0, 5, (400, 3))
    np.testing.assert_array_equal(rd.from_numpy(a, npartitions=3).unique().compute(), np.unique(a))
    t = table(500)[["k", "s"]]
    t = repack_fields(t)
    np.testing.assert_array_equal(rd.from_numpy(t, npartitions=4).unique().compute(), np.unique(t))


def test_sort_balances_a_dominant_key_and_stays_stable():
    """90% of the rows share one key: the range cuts split that key by position."""
    rng = np.random.default_rng(11)
    t = np.empty(20_000, dtype=[("k", "i8"), ("row", "i8")])
    t["k"] = np.where(rng.random(len(t)) < 0.9, 5, rng.integers(0, 10, len(t)))
    t["row"] = np.arange(len(t))
    y = split(t, [7000, 0, 3000, 5000, 5000]).sort("k")
    lengths = [len(p) for p in y.partitions()]
    assert max(lengths) <= 1.5 * len(t) / 5, lengths
    assert_rows_equal(y.compute(), t[np.argsort(t["k"], kind="stable")])
    y = split(t, [7000, 0, 3000, 5000, 5000]).sort("k", descending=True)
    assert max(len(p) for p in y.partitions()) <= 1.5 * len(t) / 5
    assert_rows_equal(y.compute(), pandas_sorted(t, "k", True))


def test_sort_is_lazy_and_its_shuffle_is_reused_by_later_plans():
    counter = Counter()
    a = np.random.default_rng(12).permutation(4000).astype(np.float64)
    y = rd.from_numpy(a, npartitions=4).map_partitions(counter).sort()
    assert counter.total == 0  # choosing the boundaries is part of the plan
    np.testing.assert_array_equal(y.compute(), np.sort(a))
    assert counter.total == 4  # the sample and the map stage read one materialized input
    assert "kept in the block store by an earlier plan" in (y + 1).explain()
    np.testing.assert_array_equal((y + 1).compute(), np.sort(a) + 1)
    assert counter.total == 4
    assert y.partitioner.boundaries == tuple(np.sort(y.partitions()[k])[-1] for k in range(3))


def test_sampled_boundaries_are_computed_on_the_context_that_built_the_sort():
    """Boundaries asked for outside a plan are computed on the context current when the sort (or
    the sorted groupby) was built, not on the one current when they are asked for; once that one
    is closed, on the current one. A pickled partitioner leaves the context behind."""
    import cloudpickle

    a = np.random.default_rng(21).permutation(np.repeat(np.arange(300.0), 3))  # duplicates
    t = np.rec.fromarrays([a.astype(np.int64) % 40, a], names="k,v")
    built = rd.Context("sync")
    with built.as_default():
        y = rd.from_numpy(a, npartitions=6).sort()
        g = rd.from_numpy(t, npartitions=6).groupby("k").sum()
    want = tuple(np.sort(a)[(k + 1) * len(a) // 6 - 1] for k in range(5))  # all rows sampled: exact
    with rd.Context("threads", workers=2) as other:
        for partitioner in (y.partitioner, g.partitioner):
            chooser = partitioner._chooser
            assert not built.store.has(chooser.id, 0)
            assert len(partitioner.boundaries) == partitioner.npartitions - 1
            assert built.store.has(chooser.id, 0) and not other.store.has(chooser.id, 0)
        assert y.partitioner.boundaries == want
        assert set(g.partitioner.boundaries) <= set(range(40))
    assert other.closed and y.partitioner.boundaries == want  # a closed other context does not matter
    built.close()
    assert y.partitioner.boundaries == want  # computed again, on the current context
    copy = cloudpickle.loads(cloudpickle.dumps(y.partitioner))
    assert copy._context is None and copy.boundaries == want
    with rd.Context("processes", workers=2):  # shipped stages carry the partitioner
        np.testing.assert_array_equal(y.compute(), np.sort(a))


def test_shuffle_larger_than_the_memory_limit_spills(tmp_path):
    a = np.random.default_rng(13).random(200_000)
    with rd.Context("threads", workers=2, memory_limit=400_000, spill_dir=str(tmp_path)) as ctx:
        y = rd.from_numpy(a, npartitions=8).map_partitions(lambda b: b * 2).sort()
        np.testing.assert_array_equal(y.compute(), np.sort(a * 2))
        assert ctx.store.memory_bytes <= 400_000
        assert os.listdir(ctx.store._spill_dir)  # buckets went to frame files
        np.testing.assert_array_equal(y.compute(), np.sort(a * 2))  # read back from them
        del y
        gc.collect()
        assert not os.listdir(ctx.store._spill_dir)  # dropped with the array that needed them


def test_persisted_shuffle_result_releases_its_buckets():
    """Once a sorted array is persisted whole, its shuffle's buckets are dropped: later plans read
    the persisted partitions, and nothing is recomputed."""
    counter = Counter()
    a = np.random.default_rng(14).permutation(3000).astype(np.float64)
    y = rd.from_numpy(a, npartitions=3).map_partitions(counter).sort().persist()
    np.testing.assert_array_equal(y.compute(), np.sort(a))
    write = y.lineage.parents[0]
    store = rd.get_context().store
    assert write.op == "sort:write" and not any(store.get(write.id, p) is not None for p in range(3))
    np.testing.assert_array_equal(y.compute(), np.sort(a))
    assert counter.total == 3
    y.unpersist()
    np.testing.assert_array_equal(y.compute(), np.sort(a))  # rebuilt from lineage
    assert counter.total == 6
