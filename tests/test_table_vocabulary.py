"""pandas' table vocabulary against pandas: nlargest / nsmallest, drop_duplicates, dropna, fillna,
describe, skipna= on reductions, value_counts of several fields and the name of a field's Series;
on data holding NaN, NaT and missing text, duplicate keys, one row and empty partitions, in
several partition layouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rdarray as rd
from _helpers import BACKENDS, layouts, partitioned, stage_count, struct

LAYOUTS = [lambda n: [n], lambda n: [0, n // 3, 0, n - n // 3],
           lambda n: [1] * n if n < 12 else [n // 2, 0, n - n // 2]]


def _table(n: int = 40, seed: int = 0) -> np.ndarray:
    """A float key with NaN and ties, an int key with duplicates, times with NaT, a value."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, n).astype(np.float64)
    a[rng.random(n) < 0.2] = np.nan
    t = np.datetime64("2024-01-01", "s") + rng.integers(0, 5, n).astype("m8[s]")
    t[rng.random(n) < 0.2] = np.datetime64("NaT")
    return struct({"a": a, "k": rng.integers(0, 4, n), "t": t, "v": rng.normal(size=n)})


def _text_frame(n: int = 30, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = pd.Series(rng.choice(["x", "y", "zz"], n), dtype="str")
    s[rng.random(n) < 0.25] = None
    a = rng.integers(0, 3, n).astype(np.float64)
    a[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame({"s": s, "a": a, "k": rng.integers(0, 3, n)})


def _same(got: rd.PartitionedArray, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.to_pandas(), expected.reset_index(drop=True))


# -- nlargest / nsmallest ------------------------------------------------------------------------

@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_nlargest_series(ctx):
    a = np.array([1, np.nan, 3, 3, 2, np.nan, -0.0, 0.0, 3])
    s = pd.Series(a)
    for make in LAYOUTS:
        x = partitioned(a, make(len(a)))
        for keep in ("first", "last", "all"):
            for n in (0, 1, 2, 3, 6, 8, 9, 12):
                for method in ("nlargest", "nsmallest"):
                    got = getattr(x, method)(n, keep=keep)
                    assert got.npartitions == 1
                    expected = getattr(s, method)(n, keep=keep).to_numpy()
                    np.testing.assert_array_equal(got.compute(), expected, strict=True)


@pytest.mark.parametrize("columns", ["a", "k", "t", ["k", "a"], ["a", "t", "v"], ["k", "v"]])
def test_nlargest_table(columns):
    a = _table()
    df = pd.DataFrame({f: a[f] for f in a.dtype.names})
    multi_with_missing = isinstance(columns, list) and columns[0] in ("a", "t")
    for make in LAYOUTS:
        x = partitioned(a, make(len(a)))
        for keep in ("first", "last", "all"):
            for n in (1, 3, 10, 40, 50):
                if multi_with_missing and n > 25:
                    continue  # pandas returns more than n rows when a first key has fewer than n present
                for method in ("nlargest", "nsmallest"):
                    _same(getattr(x, method)(n, columns, keep=keep), getattr(df, method)(n, columns, keep=keep))


@given(st.data())
def test_nlargest_hypothesis(data):
    n = data.draw(st.integers(0, 30))
    values = data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, -1.5, np.nan, 7.0]), min_size=0, max_size=30))
    a = np.array(values, dtype=np.float64)
    layout = data.draw(layouts(len(a)))
    x = partitioned(a, layout)
    keep = data.draw(st.sampled_from(["first", "last", "all"]))
    method = data.draw(st.sampled_from(["nlargest", "nsmallest"]))
    expected = getattr(pd.Series(a, dtype=np.float64), method)(n, keep=keep)
    np.testing.assert_array_equal(getattr(x, method)(n, keep=keep).compute(), expected.to_numpy())
    rows = partitioned(struct({"v": a, "row": np.arange(len(a))}), layout)  # which rows, not only their values
    np.testing.assert_array_equal(getattr(rows, method)(n, "v", keep=keep).compute()["row"], expected.index)


@given(st.data())
def test_nlargest_two_keys_hypothesis(data):
    size = data.draw(st.integers(1, 30))
    k = np.array(data.draw(st.lists(st.integers(0, 3), min_size=size, max_size=size)))
    v = np.array(data.draw(st.lists(st.integers(-2, 2), min_size=size, max_size=size)))
    a = struct({"k": k, "v": v, "row": np.arange(size)})
    x = partitioned(a, data.draw(layouts(size)))
    n = data.draw(st.integers(0, 35))
    keep = data.draw(st.sampled_from(["first", "last", "all"]))
    df = pd.DataFrame({f: a[f] for f in a.dtype.names})
    _same(x.nsmallest(n, ["k", "v"], keep=keep), df.nsmallest(n, ["k", "v"], keep=keep))
    _same(x.nlargest(n, ["k", "v"], keep=keep), df.nlargest(n, ["k", "v"], keep=keep))


def test_nlargest_errors():
    x = partitioned(_table(), [20, 20])
    with pytest.raises(KeyError, match="'nope'"):
        x.nlargest(3, "nope")
    with pytest.raises(KeyError, match="'nope'"):
        x.nsmallest(3, ["a", "nope"])
    with pytest.raises(ValueError, match="keep"):
        x.nlargest(3, "a", keep="middle")
    with pytest.raises(TypeError, match="columns"):
        x.nlargest(3)
    with pytest.raises(TypeError):
        x.nlargest(2.5, "a")
    text = rd.from_pandas(_text_frame())
    with pytest.raises(TypeError, match="'s'"):
        text.nlargest(3, "s")


def test_nlargest_one_row_and_empty():
    one = partitioned(np.array([4.0]), [1])
    assert one.nlargest(5).compute().tolist() == [4.0]
    empty = partitioned(np.empty(0), [0, 0])
    assert empty.nsmallest(3).compute().shape == (0,)


# -- drop_duplicates -------------------------------------------------------------------------------

@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_drop_duplicates_table(ctx):
    a = _table()
    df = pd.DataFrame({f: a[f] for f in a.dtype.names})
    for make in LAYOUTS:
        x = partitioned(a, make(len(a)))
        for subset in (None, "a", ["a", "k"], ["t"], ["k", "t", "a"]):
            for keep in ("first", "last", False):
                _same(x.drop_duplicates(subset, keep=keep), df.drop_duplicates(subset, keep=keep))


def test_drop_duplicates_text():
    df = _text_frame()
    for npartitions in (1, 3, 7):
        x = rd.from_pandas(df, npartitions=npartitions)
        for subset in (None, "s", ["s", "a"]):
            for keep in ("first", "last", False):
                _same(x.drop_duplicates(subset, keep=keep), df.drop_duplicates(subset, keep=keep))
        s = rd.from_pandas(df["s"], npartitions=npartitions)
        got = s.drop_duplicates(keep="last").to_pandas()
        expected = df["s"].drop_duplicates(keep="last").reset_index(drop=True)
        pd.testing.assert_series_equal(got, expected, check_names=False)


@given(st.data())
def test_drop_duplicates_hypothesis(data):
    values = data.draw(st.lists(st.sampled_from([0.0, -0.0, 1.0, 2.5, np.nan, -3.0]), max_size=40))
    a = np.array(values, dtype=np.float64)
    x = partitioned(a, data.draw(layouts(len(a))))
    keep = data.draw(st.sampled_from(["first", "last", False]))
    expected = pd.Series(a, dtype=np.float64).drop_duplicates(keep=keep).to_numpy()
    got = x.drop_duplicates(keep=keep).compute()
    np.testing.assert_array_equal(got, expected)
    assert np.array_equal(np.signbit(got), np.signbit(expected))  # the kept row, not an equal one


@given(st.data())
def test_drop_duplicates_fields_hypothesis(data):
    size = data.draw(st.integers(0, 30))
    k = data.draw(st.lists(st.integers(0, 3), min_size=size, max_size=size))
    f = data.draw(st.lists(st.sampled_from([1.0, np.nan, 2.0]), min_size=size, max_size=size))
    a = struct({"k": np.array(k, np.int64), "f": np.array(f, np.float64), "row": np.arange(size)})
    x = partitioned(a, data.draw(layouts(size)))
    keep = data.draw(st.sampled_from(["first", "last", False]))
    df = pd.DataFrame({n: a[n] for n in a.dtype.names})
    _same(x.drop_duplicates(["k", "f"], keep=keep), df.drop_duplicates(["k", "f"], keep=keep))


def test_drop_duplicates_errors():
    x = partitioned(_table(), [20, 20])
    with pytest.raises(KeyError, match="'nope'"):
        x.drop_duplicates(["a", "nope"])
    with pytest.raises(ValueError, match="keep"):
        x.drop_duplicates(keep="all")
    with pytest.raises(ValueError, match="keep"):
        x.drop_duplicates(keep=True)
    with pytest.raises(ValueError, match="subset"):
        x.drop_duplicates([])
    assert partitioned(np.array([3]), [1]).drop_duplicates().compute().tolist() == [3]
    assert partitioned(np.empty(0), [0, 0]).drop_duplicates().compute().shape == (0,)


# -- dropna / fillna -------------------------------------------------------------------------------

def _mixed_frame(n: int = 30) -> pd.DataFrame:
    df = _text_frame(n)
    t = pd.Series(pd.to_datetime("2021-03-04") + pd.to_timedelta(np.arange(n), "D"))
    t[np.arange(n) % 4 == 1] = pd.NaT
    return df.assign(t=t)


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_dropna(ctx):
    df = _mixed_frame()
    for npartitions in (1, 4, 30):
        x = rd.from_pandas(df, npartitions=npartitions)
        for subset in (None, "s", ["a", "t"], ["k"]):
            for how in ("any", "all"):
                _same(x.dropna(subset=subset, how=how), df.dropna(subset=subset, how=how))
    a = np.array([1.0, np.nan, 2.0, np.nan])
    for lengths in ([4], [0, 1, 0, 3], [1, 1, 1, 1]):
        np.testing.assert_array_equal(partitioned(a, lengths).dropna().compute(), pd.Series(a).dropna().to_numpy())
    m = np.array([[1.0, np.nan], [np.nan, np.nan], [3.0, 4.0]])
    for how in ("any", "all"):
        np.testing.assert_array_equal(partitioned(m, [2, 1]).dropna(how=how).compute(),
                                      pd.DataFrame(m).dropna(how=how).to_numpy())


def test_dropna_errors():
    x = rd.from_pandas(_mixed_frame())
    with pytest.raises(KeyError, match="'nope'"):
        x.dropna(subset=["a", "nope"])
    with pytest.raises(ValueError, match="how"):
        x.dropna(how="some")


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_fillna(ctx):
    df = _mixed_frame()
    when = pd.Timestamp("1999-12-31")
    for npartitions in (1, 4, 30):
        x = rd.from_pandas(df, npartitions=npartitions)
        _same(x.fillna({"s": "?", "a": -1.0, "t": when}), df.fillna({"s": "?", "a": -1.0, "t": when}))
        _same(x.fillna({"a": 0.5}), df.fillna({"a": 0.5}))
        _same(x.fillna(2.0), df.fillna({"a": 2.0}))  # a number fills the float field only
        _same(x.fillna("none"), df.fillna({"s": "none"}))
    a = np.array([1.0, np.nan, np.nan])
    np.testing.assert_array_equal(partitioned(a, [1, 0, 2]).fillna(7).compute(), [1.0, 7.0, 7.0])
    i = partitioned(np.arange(3), [3])
    np.testing.assert_array_equal(i.fillna(5).compute(), np.arange(3))


def test_fillna_errors():
    x = rd.from_pandas(_mixed_frame())
    with pytest.raises(KeyError, match="'nope'"):
        x.fillna({"nope": 1})
    with pytest.raises(TypeError, match="'a'"):
        x.fillna({"a": "text"})
    with pytest.raises(TypeError):
        partitioned(np.array([1.0, np.nan]), [2]).fillna("text")
    with pytest.raises(ValueError, match="value"):
        x.fillna(None)


# -- value_counts of several fields, a field's name ------------------------------------------------

def _counted(df: pd.DataFrame, subset, dropna: bool) -> pd.DataFrame:
    """pandas' counts, ties put in key order (pandas leaves the order of ties to its sort)."""
    names = [subset] if isinstance(subset, str) else list(subset or df.columns)
    counts = df.value_counts(subset, dropna=dropna).reset_index()
    return counts.sort_values(["count"] + names, ascending=[False] + [True] * len(names), kind="stable",
                              na_position="last")


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_value_counts_fields(ctx):
    df = _mixed_frame().drop(columns="t")
    for npartitions in (1, 3, 30):
        x = rd.from_pandas(df, npartitions=npartitions)
        for subset in (["s", "a"], ["k"], "s", None, ["a", "k"]):
            for dropna in (True, False):
                _same(x.value_counts(subset, dropna=dropna), _counted(df, subset, dropna))


def test_value_counts_fields_errors():
    x = rd.from_pandas(_mixed_frame())
    with pytest.raises(KeyError, match="'nope'"):
        x.value_counts(["s", "nope"])
    with pytest.raises(KeyError):
        partitioned(np.arange(4), [4]).value_counts("s")
    with pytest.raises(ValueError, match="subset"):
        x.value_counts([])
    clash = rd.from_numpy(struct({"size": np.array([1, 1, 2]), "order": np.array([0, 0, 0])}))
    _same(clash.value_counts(), _counted(pd.DataFrame({"size": [1, 1, 2], "order": [0, 0, 0]}), None, True))


def test_field_series_name():
    x = rd.from_pandas(_mixed_frame(), npartitions=3)
    assert x["a"].to_pandas().name == "a"
    assert x["s"].to_pandas().name == "s"
    assert (x["a"] + 1).to_pandas().name is None


# -- describe --------------------------------------------------------------------------------------

def _assert_described(got: np.ndarray, expected: pd.DataFrame) -> None:
    assert got["statistic"].tolist() == list(expected.index)
    assert list(got.dtype.names[1:]) == list(expected.columns)
    for name in expected.columns:
        np.testing.assert_allclose(got[name], expected[name].to_numpy(np.float64), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_describe(ctx):
    df = _mixed_frame().assign(v=np.random.default_rng(3).normal(size=30), i8=np.arange(30, dtype=np.int8))
    for npartitions in (1, 4, 30):
        x = rd.from_pandas(df, npartitions=npartitions)
        _assert_described(x.describe(), df.describe(include=[np.number]))
        got = x["a"].describe()
        assert got.dtype.names == ("statistic", "a")
        _assert_described(got, df[["a"]].describe())


def test_describe_edges():
    one = partitioned(np.array([2.5]), [1])
    _assert_described(one.describe(), pd.DataFrame({"value": [2.5]}).describe())
    nan = partitioned(np.array([np.nan, np.nan, 1.0]), [0, 2, 1])
    _assert_described(nan.describe(), pd.DataFrame({"value": [np.nan, np.nan, 1.0]}).describe())
    a = _table()
    x = partitioned(a, [0, 10, 0, 30])
    _assert_described(x.describe(), pd.DataFrame({f: a[f] for f in a.dtype.names}).describe(include=[np.number]))
    with pytest.raises(TypeError, match="numeric"):
        rd.from_pandas(_text_frame()[["s"]]).describe()


# -- skipna= on reductions -------------------------------------------------------------------------

REDUCTIONS = ("sum", "prod", "min", "max", "mean", "var", "std")


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_skipna_table(ctx):
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2.0, np.nan, 5.0, 1.0, np.nan],
                       "c": [True, False, True, True, False], "s": pd.Series(["x", None, "z", "w", "v"], dtype="str")})
    numeric = df[["a", "b", "c"]]
    for npartitions in (1, 2, 5):
        x = rd.from_pandas(df, npartitions=npartitions)
        for op in REDUCTIONS:
            for skipna in (True, False):
                got = getattr(x, op)(skipna=skipna).compute()
                expected = getattr(numeric, op)(skipna=skipna)
                assert list(got) == list(expected.index)
                np.testing.assert_allclose([float(v) for v in got.values()], expected.to_numpy(np.float64),
                                           rtol=1e-12, equal_nan=True)
            assert getattr(x, op)().compute().keys() == getattr(x, op)(skipna=True).compute().keys()
    x = rd.from_pandas(df, npartitions=2)
    np.testing.assert_allclose(x.std(ddof=0).compute()["b"], numeric["b"].std(ddof=0))


def test_skipna_array():
    a = np.array([1.5, np.nan, -2.0, 4.0, np.nan])
    s = pd.Series(a)
    for lengths in ([5], [0, 2, 0, 3], [1, 1, 1, 1, 1]):
        x = partitioned(a, lengths)
        for op in REDUCTIONS:
            ddof = {"ddof": 0} if op in ("var", "std") else {}  # an array's default is NumPy's
            np.testing.assert_allclose(float(getattr(x, op)(skipna=True)), getattr(s, op)(skipna=True, **ddof),
                                       rtol=1e-12)
            assert np.isnan(float(getattr(x, op)()))  # NumPy's result by default
        assert np.isnan(float(np.sum(x)))
        np.testing.assert_allclose(float(x.std(skipna=True, ddof=1)), s.std(), rtol=1e-12)
        np.testing.assert_allclose(float(x.std(skipna=True)), np.nanstd(a), rtol=1e-12)
    with pytest.raises(ValueError, match="axis"):
        rd.from_pandas(pd.DataFrame({"a": [1.0]})).sum(axis=1)


def test_nlargest_large_partitions():
    """Partitions longer than the sample bounding the candidates: spread values, heavy ties (the
    candidates narrowed again), and mostly NaN (fewer present values in the sample than asked)."""
    rng = np.random.default_rng(5)
    n = 300_000
    spread = rng.normal(size=n)
    ties = rng.integers(0, 3, n).astype(np.float64)
    sparse = np.full(n, np.nan)
    sparse[rng.choice(n, 25, replace=False)] = rng.normal(size=25)
    for a in (spread, ties, sparse):
        s = pd.Series(a)
        x = partitioned(a, [n // 3, 0, n - n // 3])
        for keep in ("first", "last"):
            for method in ("nlargest", "nsmallest"):
                expected = getattr(s, method)(40, keep=keep)
                np.testing.assert_array_equal(getattr(x, method)(40, keep=keep).compute(), expected.to_numpy())
        rows = partitioned(struct({"v": a, "row": np.arange(n)}), [n // 2, n - n // 2])
        got = rows.nlargest(40, "v", keep="last").compute()["row"]
        np.testing.assert_array_equal(got, s.nlargest(40, keep="last").index.to_numpy())


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_nlargest_table_backends(ctx):
    df = _mixed_frame()
    x = rd.from_pandas(df, npartitions=4)
    for keep in ("first", "last", "all"):
        _same(x.nlargest(5, ["k", "a"], keep=keep), df.nlargest(5, ["k", "a"], keep=keep))
        _same(x.nsmallest(7, "t", keep=keep), df.nsmallest(7, "t", keep=keep))


def test_drop_duplicates_partitioned_by_key():
    """An array hash-partitioned by the key drops duplicates partition by partition: no shuffle."""
    a = _table(200)
    for key, subset in (("k", ["k"]), (("k", "a"), ["k", "a"])):
        x = partitioned(a, [50, 150]).partition_by(key, 3)
        got = x.drop_duplicates(subset, keep="last")
        assert stage_count(got.explain()) == stage_count(x.explain())
        expected = pd.DataFrame({f: v for f, v in x.to_dict().items()}).drop_duplicates(subset, keep="last")
        _same(got, expected)
    values = partitioned(np.array([3.0, np.nan, 3.0, 1.0, np.nan]), [2, 3]).partition_by(None, 2)
    for keep in ("first", "last", False):
        expected = pd.Series(values.compute()).drop_duplicates(keep=keep).to_numpy()
        np.testing.assert_array_equal(values.drop_duplicates(keep=keep).compute(), expected)
