"""pandas' group-by vocabulary beyond the aggregations of test_groupby: field selection
(``g["f"]``, ``g[["f", "g"]]``), ``transform``, ``median``/``quantile``, callables in ``agg``,
and ``numeric_only``. pandas is the oracle throughout (``as_index=False`` for aggregates).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rdarray as rd
from _helpers import layouts, partitioned, struct

DAYS = np.arange("2024-01-01", "2024-01-09", dtype="M8[D]").astype("M8[ns]")
TRANSFORMS = ("sum", "mean", "count", "min", "max", "std", "var", "first", "last", "size", "nunique", "median")


def nan_where(values: np.ndarray, rng, share: float) -> np.ndarray:
    out = values.copy()
    out[rng.random(len(out)) < share] = np.datetime64("NaT") if out.dtype.kind == "M" else np.nan
    return out


def data(n: int = 400, groups: int = 12, nan_keys: bool = True, seed: int = 0) -> np.ndarray:
    """Key "k" (float64, NaN in about a tenth of the rows when ``nan_keys``, else int64), "v"
    (float64 with NaN), "w" (int64), "b" (bool), "t" (datetime64 with NaT) and "s" (text)."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, groups, n)
    k = nan_where(k.astype(np.float64), rng, 0.1) if nan_keys else k
    return struct({"k": k, "v": nan_where(np.round(rng.normal(0, 100, n), 2), rng, 0.15),
                   "w": rng.integers(-1000, 1000, n), "b": rng.random(n) < 0.4,
                   "t": nan_where(rng.choice(DAYS, n), rng, 0.1),
                   "s": rng.choice(np.array(["", "x", "yy", "é"]), n)})


def frame(a: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({f: a[f] for f in a.dtype.names})


def as_struct(df: pd.DataFrame, dtype: np.dtype) -> np.ndarray:
    out = np.empty(len(df), dtype)
    for name in dtype.names:
        out[name] = df[name].to_numpy()
    return out


def assert_table(got, expected: pd.DataFrame, exact: bool = True) -> None:
    """``got`` (a structured PartitionedArray) has ``expected``'s columns, in order, with its values
    (cast to ``got``'s dtypes; within 1e-12 unless ``exact``)."""
    assert isinstance(got, rd.PartitionedArray)
    assert list(got.dtype.names) == [str(c) for c in expected.columns], (got.dtype.names, list(expected.columns))
    out = got.compute()
    assert out.dtype == got.dtype and len(out) == len(expected), (out.dtype, len(out), len(expected))
    want = as_struct(expected.set_axis([str(c) for c in expected.columns], axis=1), got.dtype)
    for name in got.dtype.names:
        if not exact and out.dtype[name].kind == "f":
            np.testing.assert_allclose(out[name], want[name], rtol=1e-12, atol=1e-12, err_msg=name)
        else:
            np.testing.assert_array_equal(out[name], want[name], strict=True, err_msg=name)


def assert_aligned(got, x, expected, exact: bool = True) -> None:
    """``got`` has one value per row of ``x``, in ``x``'s partitions, equal to pandas' ``expected``
    (a Series or DataFrame, cast to ``got``'s dtype)."""
    assert got.npartitions == x.npartitions
    if x.partition_lengths is not None and got.partition_lengths is not None:
        assert got.partition_lengths == x.partition_lengths
    assert [len(p) for p in got.partitions()] == [len(p) for p in x.partitions()]
    out = got.compute()
    assert out.dtype == got.dtype and len(out) == len(expected)
    if isinstance(expected, pd.Series):
        pairs = [(out, expected.to_numpy().astype(got.dtype), "value")]
    else:
        assert list(got.dtype.names) == list(expected.columns)
        pairs = [(out[f], expected[f].to_numpy().astype(got.dtype[f]), f) for f in got.dtype.names]
    for have, want, name in pairs:
        if not exact and have.dtype.kind == "f":
            np.testing.assert_allclose(have, want, rtol=1e-9, atol=1e-9, err_msg=name)
        else:
            np.testing.assert_array_equal(have, want, strict=True, err_msg=name)


LAYOUTS = {
    "empty-partitions": lambda n: [0, n // 3, 0, n - n // 3, 0],
    "one-partition": lambda n: [n],
    "uneven": lambda n: [1, n // 2 - 1, n - n // 2],
}


# -- selection ----------------------------------------------------------------------------------
@pytest.mark.parametrize("func", ["sum", "mean", "count", "min", "max", "var", "std", "first", "last",
                                  "nunique", "median", "size"])
def test_selecting_one_field(func):
    a = data()
    x = partitioned(a, LAYOUTS["empty-partitions"](len(a)))
    got = getattr(x.groupby("k")["v"], func)()
    expected = getattr(frame(a).groupby("k", as_index=False)["v"], func)()
    assert_table(got, expected, exact=func not in ("mean", "var", "std", "sum"))


@pytest.mark.parametrize("func", ["sum", "mean", "min", "max", "first", "nunique", "median"])
def test_selecting_fields(ctx, func):
    a = data(nan_keys=False)
    x = partitioned(a, LAYOUTS["uneven"](len(a)))
    got = getattr(x.groupby("k", sort=True)[["w", "v", "b"]], func)()
    expected = getattr(frame(a).groupby("k", as_index=False)[["w", "v", "b"]], func)()
    assert_table(got, expected, exact=func not in ("mean", "sum"))


def test_selected_field_agg_names_as_series_groupby():
    a = data()
    x = rd.from_numpy(a, npartitions=3)
    df = frame(a).groupby("k", as_index=False)
    assert_table(x.groupby("k")["v"].agg(["sum", "median", "max"]), df["v"].agg(["sum", "median", "max"]),
                 exact=False)
    assert_table(x.groupby("k")["w"].agg(total="sum", middle="median"), df["w"].agg(total="sum", middle="median"))
    assert_table(x.groupby("k")["v"].agg("median"), df["v"].agg("median"))


def test_apply_after_selection_sees_the_keys_and_the_selected_fields(ctx):
    a = data(nan_keys=False)
    x = partitioned(a, LAYOUTS["empty-partitions"](len(a)))

    def top(g):
        assert g.dtype.names == ("k", "w")
        return g[np.argsort(-g["w"], kind="stable")][:2]

    got = x.groupby("k")[["w"]].apply(top).compute()
    expected = frame(a).sort_values(["k", "w"], ascending=[True, False], kind="stable").groupby("k").head(2)
    np.testing.assert_array_equal(got["k"], expected["k"].to_numpy())
    np.testing.assert_array_equal(got["w"], expected["w"].to_numpy())


def test_selection_errors():
    x = rd.from_numpy(data(), npartitions=2)
    with pytest.raises(KeyError, match="nope"):
        x.groupby("k")["nope"]
    with pytest.raises(KeyError, match="nope"):
        x.groupby("k")[["v", "nope"]]
    with pytest.raises(KeyError, match="'k'.*key"):
        x.groupby("k")["k"]
    with pytest.raises(TypeError):
        x.groupby("k")[3]
    with pytest.raises(ValueError):
        x.groupby("k")[["v", "v"]]


def test_selection_reads_only_the_selected_fields():
    x = rd.from_numpy(data(), npartitions=2)
    plan = x.groupby("k")["v"].sum().explain()
    assert "fields: k, _0\n" in plan + "\n"  # the shuffle moves the key and one state, not the other fields


# -- median, quantile, callables ------------------------------------------------------------------
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dropna", [True, False])
def test_median_and_quantiles_are_exact(layout, dropna):
    a = data(n=600, groups=20)
    x = partitioned(a, LAYOUTS[layout](len(a)))
    g, df = x.groupby("k", dropna=dropna), frame(a).groupby("k", dropna=dropna, as_index=False)
    fields = ["v", "w", "b"]
    assert_table(g[fields].median(), df[fields].median())
    for q in (0.0, 0.1, 0.5, 0.9, 1.0, 1 / 3):
        assert_table(g[["v", "w"]].quantile(q), df[["v", "w"]].quantile(q))


def test_median_of_infinities_and_all_missing_groups():
    nan, inf = np.nan, np.inf
    a = struct({"k": np.array([0, 0, 0, 1, 1, 2, 2, 3, 4, 4]),
                "v": np.array([inf, 1.0, 2.0, -inf, 3.0, nan, nan, 5.0, inf, -inf])})
    x = partitioned(a, [2, 0, 5, 3])
    df = frame(a).groupby("k", as_index=False)
    assert_table(x.groupby("k").median(), df.median())
    for q in (0.0, 0.25, 0.75, 1.0):
        assert_table(x.groupby("k").quantile(q), df.quantile(q))


def test_quantile_median_and_callables_in_agg(ctx):
    a = data()
    x = partitioned(a, LAYOUTS["empty-partitions"](len(a)))

    def spread(v):
        return np.nanmax(v) - np.nanmin(v) if (~np.isnan(v)).any() else np.nan

    got = x.groupby("k").agg(p90=("v", "quantile", 0.9), m=("w", "median"), n=("v", len),
                             sp=("v", spread), total=("w", "sum"), last_t=("t", lambda t: t[-1]))
    expected = frame(a).groupby("k", as_index=False).agg(
        p90=("v", lambda s: s.quantile(0.9)), m=("w", "median"), n=("v", lambda s: len(s.to_numpy())),
        sp=("v", lambda s: spread(s.to_numpy())), total=("w", "sum"), last_t=("t", lambda s: s.to_numpy()[-1]))
    assert_table(got, expected, exact=False)  # Series.quantile interpolates as NumPy: the last bit may differ


def test_callable_agg_dict_names_and_result_dtypes():
    a = data(nan_keys=False)
    x = rd.from_numpy(a, npartitions=3)

    def top(v):
        return v.max()

    got = x.groupby("k").agg({"w": [top, "median"], "b": np.any})
    assert got.dtype["w_top"] == np.int64 and got.dtype["w_median"] == np.float64 and got.dtype["b"] == np.dtype(bool)
    expected = frame(a).groupby("k", as_index=False).agg({"w": [lambda s: s.max(), "median"], "b": "any"})
    expected.columns = ["k", "w_top", "w_median", "b"]
    assert_table(got, expected)


def test_callable_sees_the_values_in_row_order():
    a = data(n=200)
    x = rd.from_numpy(a, npartitions=4)
    got = x.groupby("k", sort=False).agg(order=("w", lambda w: int(w[0] * 10**6 + len(w))))
    expected = frame(a).groupby("k", sort=False, as_index=False).agg(order=("w", lambda s: s.iloc[0] * 10**6 + len(s)))
    out = got.compute()
    out = out[np.argsort(out["k"])]
    np.testing.assert_array_equal(out["order"], expected.sort_values("k")["order"].to_numpy())


def test_quantile_errors():
    x = rd.from_numpy(data(), npartitions=2)
    with pytest.raises(ValueError, match="q"):
        x.groupby("k")["v"].quantile(1.5)
    with pytest.raises(ValueError, match="q"):
        x.groupby("k")["v"].quantile([0.1, 0.2])
    with pytest.raises(TypeError, match="'b'"):  # pandas refuses the quantile of bool
        x.groupby("k")["b"].quantile(0.5)
    with pytest.raises(TypeError, match="'s'"):
        x.groupby("k").agg(m=("s", "median"))
    with pytest.raises(ValueError, match="one value"):
        x.groupby("k").agg(m=("v", lambda v: v[:2]))
    with pytest.raises(TypeError, match="number, bool or time"):
        x.groupby("k").agg(m=("s", lambda v: "text"))


# -- numeric_only ---------------------------------------------------------------------------------
@pytest.mark.parametrize("func", ["sum", "mean", "var", "std", "median"])
def test_arithmetic_of_a_mixed_table_names_the_fields(func):
    x = rd.from_numpy(data(), npartitions=2)
    with pytest.raises(TypeError, match=r"'t'.*'s'.*numeric_only=True"):
        getattr(x.groupby("k"), func)()
    with pytest.raises(TypeError, match="'t'"):
        getattr(x.groupby("k")["t"], func)()


@pytest.mark.parametrize("func", ["sum", "mean", "var", "std", "median", "min", "max", "first", "last"])
def test_numeric_only_skips_times_and_text(ctx, func):
    a = data()
    x = partitioned(a, LAYOUTS["empty-partitions"](len(a)))
    got = getattr(x.groupby("k"), func)(numeric_only=True)
    expected = getattr(frame(a).groupby("k", as_index=False), func)(numeric_only=True)
    assert list(got.dtype.names) == ["k", "v", "w", "b"]
    assert_table(got, expected, exact=func not in ("mean", "var", "std", "sum"))


def test_numeric_only_of_no_numeric_field_gives_the_keys():
    a = data()
    x = rd.from_numpy(a[["k", "t", "s"]], npartitions=2)
    assert_table(x.groupby("k").sum(numeric_only=True), frame(a[["k", "t", "s"]]).groupby("k", as_index=False)
                 .sum(numeric_only=True))


@pytest.mark.parametrize("func", ["min", "max", "first", "last", "count", "nunique"])
def test_order_aggregates_of_times_and_text(func):
    a = data()
    x = rd.from_numpy(a, npartitions=3)
    assert_table(getattr(x.groupby("k")[["t", "s", "v"]], func)(),
                 getattr(frame(a).groupby("k", as_index=False)[["t", "s", "v"]], func)())


# -- transform ------------------------------------------------------------------------------------
def pandas_transform(a, func, fields, keys="k", dropna=True):
    g = frame(a).groupby(keys, dropna=dropna)
    return g[fields].transform(func)


@pytest.mark.parametrize("func", TRANSFORMS)
@pytest.mark.parametrize("nan_keys", [True, False])
def test_transform_of_one_field(func, nan_keys):
    a = data(nan_keys=nan_keys)
    x = partitioned(a, LAYOUTS["empty-partitions"](len(a)))
    for field in ("v", "w"):
        got = x.groupby("k")[field].transform(func)
        assert got.ndim == 1
        if not nan_keys and func not in ("mean", "std", "var", "median"):
            assert got.dtype == (np.int64 if func in ("count", "size", "nunique") else a.dtype[field])
        assert_aligned(got, x, pandas_transform(a, func, field), exact=func not in ("mean", "std", "var", "sum"))


@pytest.mark.parametrize("func", ["sum", "max", "first", "count", "median"])
def test_transform_of_several_fields(ctx, func):
    a = data()
    x = partitioned(a, LAYOUTS["uneven"](len(a)))
    got = x.groupby("k")[["v", "w"]].transform(func)
    assert list(got.dtype.names) == ["v", "w"]
    assert got.dtype["w"] == np.float64  # the float keys may be missing: a missing key's row gets NaN
    assert_aligned(got, x, pandas_transform(a, func, ["v", "w"]), exact=func != "sum")


@pytest.mark.parametrize("nbytes", [0, 100], ids=["join-planned", "join-decided"])
def test_transform_of_a_large_aggregate_joins_and_shuffles_back(ctx, monkeypatch, nbytes):
    """An aggregate over ``broadcast_bytes`` is joined by key (``rd.merge``) and the rows moved back
    to their partitions, in order: the same values, rows and partitions as a broadcast."""
    monkeypatch.setattr(rd.config, "broadcast_bytes", nbytes)
    a = data()
    x = partitioned(a, LAYOUTS["empty-partitions"](len(a)))
    y = x[x["w"] > -500]
    kept = a[a["w"] > -500]
    for t, rows in ((x, a), (y, kept)):
        got = t.groupby("k")["v"].transform("median")
        assert_aligned(got, t, frame(rows).groupby("k")["v"].transform("median"))
        assert [len(p) for p in got.partitions()] == [len(p) for p in t.partitions()]
        got = t.groupby("k", dropna=False)[["w", "t"]].transform("first")
        assert_aligned(got, t, frame(rows).groupby("k", dropna=False)[["w", "t"]].transform("first"))
    assert "join by key, rows shuffled back" in x.groupby("k")["v"].transform("sum").explain() or nbytes


def test_transform_of_times_and_text_keeps_the_dtypes():
    a = data()
    x = rd.from_numpy(a, npartitions=3)
    got = x.groupby("k")[["t", "v"]].transform("min")
    assert got.dtype["t"] == a.dtype["t"]
    assert_aligned(got, x, pandas_transform(a, "min", ["t", "v"]))
    got = x.groupby("k", dropna=False)["s"].transform("last")
    np.testing.assert_array_equal(got.compute(), frame(a).groupby("k", dropna=False)["s"].transform("last"))


def test_transform_whole_table_and_numeric_only():
    a = data()
    x = rd.from_numpy(a, npartitions=3)
    got = x.groupby("k").transform("sum", numeric_only=True)
    assert list(got.dtype.names) == ["v", "w", "b"]
    assert_aligned(got, x, frame(a).groupby("k")[["v", "w", "b"]].transform("sum"), exact=False)
    with pytest.raises(TypeError, match="numeric_only"):
        x.groupby("k").transform("mean")
    with pytest.raises(ValueError, match="unknown"):
        x.groupby("k").transform("cumsum")


@pytest.mark.parametrize("dropna", [True, False])
def test_transform_quantile_std_ddof_and_callable(dropna):
    a = data()
    x = partitioned(a, LAYOUTS["uneven"](len(a)))
    g, df = x.groupby("k", dropna=dropna)["v"], frame(a).groupby("k", dropna=dropna)["v"]
    assert_aligned(g.transform("quantile", 0.25), x, df.transform("quantile", 0.25))
    assert_aligned(g.transform("std", ddof=0), x, df.transform("std", ddof=0), exact=False)
    assert_aligned(g.transform(lambda v: np.nanmax(v) if (~np.isnan(v)).any() else np.nan), x,
                   df.transform("max"))


def test_transform_by_arrays_keeps_the_input_partitions():
    rng = np.random.default_rng(3)
    values, by = np.round(rng.normal(size=300), 3), rng.integers(0, 7, 300)
    x = partitioned(values, [100, 0, 150, 50])
    got = x.groupby(rd.from_numpy(by, npartitions=3))["value"].transform("mean")
    assert_aligned(got, x, pd.Series(values).groupby(by).transform("mean"), exact=False)
    got = x.groupby([partitioned(by, [300]), partitioned(by % 2, [7, 293])]).transform("size")
    assert_aligned(got, x, pd.DataFrame({"a": by, "b": by % 2, "v": values}).groupby(["a", "b"])["v"]
                   .transform("size"))


def test_transform_of_a_filtered_table_and_assign():
    a = data()
    x = rd.from_numpy(a, npartitions=4)
    y = x[x["w"] > 0]
    t = y.assign(share=y["w"] / y.groupby("k")["w"].transform("sum"))
    kept = frame(a)[a["w"] > 0].reset_index(drop=True)
    expected = kept["w"] / kept.groupby("k")["w"].transform("sum")
    np.testing.assert_allclose(t.compute()["share"], expected.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape", ["one-row", "no-rows", "every-row-its-own-group", "every-key-missing"])
def test_transform_and_median_on_edge_shapes(shape):
    n = {"one-row": 1, "no-rows": 0}.get(shape, 120)
    a = data(n=n)
    if shape == "every-row-its-own-group":
        a["k"] = np.random.default_rng(1).permutation(n)
    if shape == "every-key-missing":
        a["k"] = np.nan
    x = rd.from_numpy(a, npartitions=3 if n > 3 else 1)
    for func in ("sum", "median", "count", "first"):
        assert_aligned(x.groupby("k")["v"].transform(func), x, pandas_transform(a, func, "v"), exact=False)
    assert_table(x.groupby("k")[["v", "w"]].median(), frame(a).groupby("k", as_index=False)[["v", "w"]].median())


# -- properties -----------------------------------------------------------------------------------
VALUES = st.one_of(st.just(np.nan), st.integers(-40, 40).map(lambda i: i / 4))
KEYS = st.sampled_from([np.nan, -1.0, 0.0, 2.5])


@settings(max_examples=60)
@given(data=st.data())
def test_property_transform(data):
    n = data.draw(st.integers(0, 50), label="n")
    k = np.array(data.draw(st.lists(KEYS, min_size=n, max_size=n)), np.float64)
    v = np.array(data.draw(st.lists(VALUES, min_size=n, max_size=n)), np.float64)
    a = struct({"k": k, "v": v})
    x = partitioned(a, data.draw(layouts(n)))
    func = data.draw(st.sampled_from(TRANSFORMS), label="func")
    dropna = data.draw(st.booleans(), label="dropna")
    broadcast = data.draw(st.sampled_from([0, 64, 1 << 20]), label="broadcast_bytes")
    saved, rd.config.broadcast_bytes = rd.config.broadcast_bytes, broadcast
    try:
        got = x.groupby("k", dropna=dropna)["v"].transform(func)
        assert_aligned(got, x, pandas_transform(a, func, "v", dropna=dropna), exact=False)
    finally:
        rd.config.broadcast_bytes = saved


@settings(max_examples=60)
@given(data=st.data())
def test_property_median_and_quantile(data):
    n = data.draw(st.integers(0, 50), label="n")
    k = np.array(data.draw(st.lists(KEYS, min_size=n, max_size=n)), np.float64)
    v = np.array(data.draw(st.lists(VALUES, min_size=n, max_size=n)), np.float64)
    a = struct({"k": k, "v": v})
    x = partitioned(a, data.draw(layouts(n)))
    sort, dropna = data.draw(st.booleans(), label="sort"), data.draw(st.booleans(), label="dropna")
    q = data.draw(st.sampled_from([0.0, 0.2, 0.5, 0.75, 1.0]), label="q")
    g = x.groupby("k", sort=sort, dropna=dropna)
    df = frame(a).groupby("k", sort=True, dropna=dropna, as_index=False)
    for got, expected in ((g.median(), df.median()), (g.quantile(q), df.quantile(q))):
        if not sort:
            got = got.compute()
            got = rd.from_numpy(got[np.lexsort([got["k"]])])
        assert_table(got, expected)


# -- variable-width text (from pandas' str columns) ------------------------------------------------
def listed(values) -> list:
    """Values as a list, missing ones (NaN, pandas' NA) as None."""
    return [None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v
            for v in list(values)]


def text_frame(n: int = 200, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = pd.array(rng.choice(np.array(["b", "a", "é", "", "zz"], object), n), dtype="str")
    s[rng.random(n) < 0.2] = None
    k = rng.integers(0, 9, n).astype(np.float64)
    k[rng.random(n) < 0.1] = np.nan
    k[:3] = 8  # group 8: its text all missing
    s[np.flatnonzero(k == 8)] = None
    return pd.DataFrame({"k": k, "s": s, "v": np.round(rng.normal(size=n), 3)})


@pytest.mark.parametrize("npartitions", [1, 3, 7])
@pytest.mark.parametrize("func", ["count", "first", "last", "min", "max", "nunique"])
def test_text_fields_aggregate_and_transform(func, npartitions):
    df = text_frame()
    x = rd.from_pandas(df, npartitions=npartitions)
    got = getattr(x.groupby("k")[["s", "v"]], func)().to_pandas()
    expected = getattr(df.groupby("k", as_index=False)[["s", "v"]], func)()
    assert listed(got["s"]) == listed(expected["s"])
    np.testing.assert_array_equal(got["v"].to_numpy(), expected["v"].to_numpy())
    assert listed(x.groupby("k")["s"].transform(func).compute()) == listed(df.groupby("k")["s"].transform(func))


def test_text_fields_with_numeric_only(ctx):
    df = text_frame()
    x = rd.from_pandas(df, npartitions=3)
    with pytest.raises(TypeError, match=r"'s' \(text\).*numeric_only=True"):
        x.groupby("k").mean()
    assert_table(x.groupby("k").mean(numeric_only=True), df.groupby("k", as_index=False).mean(numeric_only=True),
                 exact=False)
    got = x.groupby("k").agg(n=("s", lambda s: int((s == "a").sum())))
    expected = df.groupby("k", as_index=False).agg(n=("s", lambda s: int((s == "a").sum())))
    assert_table(got, expected)


@pytest.mark.parametrize("sort", [True, False])
def test_median_and_transform_of_arrays_placed_by_the_key(sort):
    """An array already partitioned by the key (hash or sorted range) is aggregated in place."""
    a = data(n=500, nan_keys=False)
    df = frame(a)
    for y in (rd.from_numpy(a, npartitions=4).partition_by("k"), rd.from_numpy(a, npartitions=4).sort("k")):
        got = y.groupby("k", sort=sort)[["v", "w"]].median()
        if not sort:
            got = rd.from_numpy(np.sort(got.compute(), order="k"))
        assert_table(got, df.groupby("k", as_index=False)[["v", "w"]].median())
        ordered = y.compute()
        assert_aligned(y.groupby("k")["v"].transform("median"), y,
                       pd.DataFrame({f: ordered[f] for f in ("k", "v")}).groupby("k")["v"].transform("median"))


def test_time_zones_survive_transform_and_callables():
    df = pd.DataFrame({"k": [1.0, 1.0, 2.0, np.nan, 2.0],
                       "t": pd.to_datetime(["2024-01-01 10:00", "2024-01-03 00:00", "2024-01-02 00:00", None, None])
                       .tz_localize("Europe/Paris")})
    x = rd.from_pandas(df, npartitions=2)
    got = x.groupby("k")[["t"]].transform("max").to_pandas()
    pd.testing.assert_frame_equal(got, df.groupby("k")[["t"]].transform("max"), check_dtype=False)
    assert str(got["t"].dt.tz) == "Europe/Paris"
    got = x.groupby("k").agg(m=("t", lambda t: t[~np.isnat(t)].min())).to_pandas()  # NumPy's min keeps NaT
    expected = df.groupby("k", as_index=False).agg(m=("t", lambda t: t.min()))
    assert list(got["m"]) == list(expected["m"])


@pytest.mark.parametrize("dropna", [True, False])
def test_transform_of_an_array_partitioned_by_the_key_moves_no_more_data(ctx, dropna):
    a = data(n=500)
    y = rd.from_numpy(a, npartitions=4).partition_by("k", 5)
    got = y.groupby("k", dropna=dropna)[["v", "w"]].transform("median")
    assert got.explain().count("shuffle:") == y.explain().count("shuffle:") == 1  # partition_by's only
    rows = y.compute()
    assert_aligned(got, y, frame(rows).groupby("k", dropna=dropna)[["v", "w"]].transform("median"))
