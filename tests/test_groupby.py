"""GroupBy against pandas: ``df.groupby(keys, sort=, dropna=, as_index=False).<method>()`` is the oracle.

Every expected value is computed here by pandas or NumPy. The result dtypes are the contract's:
where they differ from pandas' (pandas keeps an int32 sum and a float32 mean), the oracle casts the
value column to the contract's dtype before pandas aggregates it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rdarray as rd
from _helpers import layouts, partitioned, struct

METHODS = ("sum", "mean", "count", "size", "min", "max", "var", "std", "first", "last", "nunique")
#: the methods of numbers (and bool) only: a str or bytes field raises TypeError
NUMERIC = frozenset({"sum", "mean", "var", "std"})
DAYS = np.arange("2024-01-01", "2024-01-07", dtype="M8[D]").astype("M8[ns]")


# -- data ---------------------------------------------------------------------------------------
def missing(values: np.ndarray, rng, share: float) -> np.ndarray:
    """``values`` with about ``share`` of them NaN (NaT for datetimes)."""
    out = values.copy()
    out[rng.random(len(out)) < share] = np.datetime64("NaT") if out.dtype.kind == "M" else np.nan
    return out


#: key kind -> (rng, n) -> {key field: column}
KEYS = {
    "int64": lambda rng, n: {"k": rng.integers(-3, 9, n)},
    "int32": lambda rng, n: {"k": rng.choice(np.array([-2**31, -1, 0, 7, 2**31 - 1], np.int32), n)},
    "float64": lambda rng, n: {"k": missing(rng.choice([-np.inf, -1.5, -0.0, 0.0, 2.25, 1e300], n), rng, 0.1)},
    "bytes": lambda rng, n: {"k": rng.choice(np.array([b"", b"a", b"ab", b"b", b"abc"], "S3"), n)},
    "str": lambda rng, n: {"k": rng.choice(np.array(["", "a", "ab", "Z", "é", "zzz"], "U3"), n)},
    "datetime64": lambda rng, n: {"k": missing(rng.choice(DAYS, n), rng, 0.1)},
    "bool": lambda rng, n: {"k": rng.random(n) < 0.3},
    "multi": lambda rng, n: {"k0": rng.integers(0, 4, n).astype(np.int32),
                             "k1": rng.choice(np.array(["x", "yy", "é"]), n)},
    "multi-nan": lambda rng, n: {"k0": missing(rng.choice([0.5, 1.5, 2.5], n), rng, 0.15),
                                 "k1": rng.random(n) < 0.5},
}
NAN_KEYS = ("float64", "datetime64", "multi-nan")

#: value kind -> (rng, n) -> column
VALUES = {
    "int64": lambda rng, n: rng.integers(-1000, 1000, n),
    "float64": lambda rng, n: missing(np.round(rng.normal(0, 100, n), 3), rng, 0.15),
    "float32": lambda rng, n: missing(rng.integers(-2000, 2000, n) / 8, rng, 0.1).astype(np.float32),
    "bool": lambda rng, n: rng.random(n) < 0.5,
    "datetime64": lambda rng, n: missing(rng.choice(DAYS, n) + rng.integers(0, 10**9, n).astype("m8[ns]"),
                                         rng, 0.1),
    "str": lambda rng, n: rng.choice(np.array(["", "b", "ba", "é", "ab"]), n),
    "bytes": lambda rng, n: rng.choice(np.array([b"", b"b", b"ba", b"ab"]), n),
}
#: value kinds with min/max/first/last, count and nunique but no arithmetic
ORDER_ONLY = ("datetime64", "str", "bytes")


def table(key_kind: str, value_kind: str = "float64", n: int = 300, seed: int = 0):
    """``(a, keys)``: the key field(s) of ``key_kind`` then a value field "v"; ``keys`` as groupby takes them."""
    rng = np.random.default_rng(seed)
    cols = KEYS[key_kind](rng, n)
    keys = list(cols)
    cols["v"] = VALUES[value_kind](rng, n)
    return struct(cols), keys[0] if len(keys) == 1 else keys


def keyed(k, seed: int = 0) -> np.ndarray:
    """Key field "k" (int64) and two value fields: "v" (float64 with NaN) and "w" (int64)."""
    rng = np.random.default_rng(seed)
    k = np.asarray(k, np.int64)
    return struct({"k": k, "v": VALUES["float64"](rng, len(k)), "w": VALUES["int64"](rng, len(k))})


# -- the oracle ---------------------------------------------------------------------------------
def result_dtype(func: str, dtype: np.dtype) -> np.dtype:
    """The dtype the contract gives ``func`` of a field of ``dtype``."""
    if func in ("count", "size", "nunique"):
        return np.dtype(np.int64)
    if func in ("mean", "var", "std"):
        return np.dtype(np.float64)
    if func == "sum" and dtype.kind in "biu":
        return np.dtype(np.uint64 if dtype.kind == "u" else np.int64)
    return dtype


def key_list(keys) -> list[str]:
    return [keys] if isinstance(keys, str) else list(keys)


def columns(a: np.ndarray, by=None) -> dict:
    """The columns groupby sees: the by-array(s) as "key" (or "key_0", "key_1", ...), then the
    fields of ``a`` (a plain ``a`` as "value")."""
    cols = {name: a[name] for name in a.dtype.names} if a.dtype.names else {"value": a}
    if by is None:
        return cols
    if isinstance(by, np.ndarray):
        return {"key": by} | cols
    return {f"key_{i}": b for i, b in enumerate(by)} | cols


def method_specs(cols: dict, keys, func: str) -> list[tuple]:
    """``(out name, field, func)`` of ``groupby(keys).<func>()``: every non-key field, or "size"."""
    keys = key_list(keys)
    if func == "size":
        return [("size", keys[0], "size")]
    return [(name, name, func) for name in cols if name not in keys]


def spec_dtype(cols: dict, keys, specs) -> np.dtype:
    return np.dtype([(k, cols[k].dtype) for k in key_list(keys)]
                    + [(name, result_dtype(func, cols[field].dtype)) for name, field, func in specs])


def to_struct(df: pd.DataFrame, dtype: np.dtype) -> np.ndarray:
    """The columns of a pandas result as a structured ndarray of ``dtype`` (fields matched by name)."""
    out = np.empty(len(df), dtype)
    for name in dtype.names:
        out[name] = df[name].to_numpy()
    return out


def oracle(cols: dict, keys, specs, sort: bool = True, dropna: bool = True) -> np.ndarray:
    """pandas' named aggregation of ``specs`` (``(out name, field, func)``), as a structured ndarray."""
    df = pd.DataFrame(cols)
    named = {}
    for i, (name, field, func) in enumerate(specs):
        if func in NUMERIC:  # aggregate in the contract's dtype
            df[f"__{i}"] = cols[field].astype(result_dtype(func, cols[field].dtype))
            field = f"__{i}"
        named[name] = (field, func)
    result = df.groupby(key_list(keys), sort=sort, dropna=dropna, as_index=False).agg(**named)
    return to_struct(result, spec_dtype(cols, keys, specs))


def fields(dtype: np.dtype) -> list:
    return [(name, dtype[name]) for name in dtype.names]


def by_key(a: np.ndarray, keys) -> np.ndarray:
    """``a`` sorted by its key fields (NaN last), for results whose row order is free."""
    return a[np.lexsort([a[k] for k in reversed(key_list(keys))])]


def assert_result(got, expected: np.ndarray, keys, approx=(), sort: bool = True) -> None:
    """``got`` (a groupby result) holds ``expected``: field names and dtypes, rows (in this order
    when ``sort``), values; floating fields named in ``approx`` within a tolerance, the rest exactly."""
    assert isinstance(got, rd.PartitionedArray), type(got)
    assert fields(got.dtype) == fields(expected.dtype)
    out = got.compute()
    assert fields(out.dtype) == fields(expected.dtype) and out.shape == expected.shape, (out.dtype, out.shape)
    if not sort:
        out, expected = by_key(out, keys), by_key(expected, keys)
    for name in expected.dtype.names:
        if name in approx and expected.dtype[name].kind == "f":
            np.testing.assert_allclose(out[name], expected[name], rtol=1e-9, atol=1e-9, err_msg=name)
        else:
            np.testing.assert_array_equal(out[name], expected[name], strict=True, err_msg=name)


def assert_placed(got) -> None:
    """An aggregation's result records the partitioner that placed its rows."""
    assert isinstance(got.partitioner, (rd.HashPartitioner, rd.RangePartitioner)), got.partitioner


def assert_groupby(got, cols: dict, keys, specs, sort: bool = True, dropna: bool = True) -> None:
    """``got`` equals pandas' aggregation of ``specs`` over ``cols`` grouped by ``keys``."""
    assert_placed(got)
    approx = {name for name, _, func in specs if func in NUMERIC}
    assert_result(got, oracle(cols, keys, specs, sort, dropna), keys, approx, sort)


def check_method(x, a: np.ndarray, keys, func: str, sort: bool = True, dropna: bool = True) -> None:
    """``x.groupby(keys).<func>()`` (``x`` holding ``a``) against pandas."""
    got = getattr(x.groupby(keys, sort=sort, dropna=dropna), func)()
    assert_groupby(got, columns(a), keys, method_specs(columns(a), keys, func), sort, dropna)


# -- every method x key type x value type -------------------------------------------------------
MATRIX = [(k, v, f) for k in KEYS for v in VALUES for f in METHODS
          if f != "size" and not (v in ORDER_ONLY and f in NUMERIC)]


@pytest.mark.parametrize("key_kind, value_kind, func", MATRIX)
def test_method_matches_pandas(key_kind, value_kind, func):
    a, keys = table(key_kind, value_kind)
    check_method(rd.from_numpy(a, npartitions=4), a, keys, func)


@pytest.mark.parametrize("dropna", [True, False])
@pytest.mark.parametrize("key_kind", list(KEYS))
def test_size_matches_pandas(key_kind, dropna):
    a, keys = table(key_kind)
    check_method(rd.from_numpy(a, npartitions=3), a, keys, "size", dropna=dropna)


@pytest.mark.parametrize("func", METHODS)
@pytest.mark.parametrize("key_kind", NAN_KEYS)
def test_nan_keys_kept_as_one_group_sorted_last(key_kind, func):
    a, keys = table(key_kind)
    check_method(rd.from_numpy(a, npartitions=5), a, keys, func, dropna=False)


@pytest.mark.parametrize("dropna", [True, False])
@pytest.mark.parametrize("func", ["sum", "mean", "min", "first", "last", "nunique", "size"])
@pytest.mark.parametrize("key_kind", list(KEYS))
def test_unsorted_result_has_the_same_groups(key_kind, func, dropna):
    a, keys = table(key_kind)
    check_method(rd.from_numpy(a, npartitions=4), a, keys, func, sort=False, dropna=dropna)


# -- many fields --------------------------------------------------------------------------------
def numeric_table(n: int = 500, seed: int = 1) -> np.ndarray:
    """Keys "s" (str) and "k" (int32); every numeric value dtype, large integers included, and "o":
    a spread of 1 around 1e6, whose variance a sum of squares would lose."""
    rng = np.random.default_rng(seed)
    return struct({
        "s": rng.choice(np.array(["p", "q", ""]), n),
        "f": VALUES["float64"](rng, n),
        "k": rng.integers(-2, 3, n).astype(np.int32),
        "g": VALUES["float32"](rng, n),
        "i": rng.integers(-128, 128, n).astype(np.int8),
        "w": rng.integers(-2**52, 2**52, n),
        "u": rng.integers(0, 2**40, n).astype(np.uint64),
        "b": VALUES["bool"](rng, n),
        "o": 1e6 + rng.normal(0, 1, n),
    })


def ordered_table(n: int = 500, seed: int = 2) -> np.ndarray:
    """Key "k"; fields of every orderable dtype: datetime64[s], bytes, str, float64 with NaN, and
    64-bit integers with their extremes."""
    rng = np.random.default_rng(seed)
    extremes = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0, 2**53 + 1])
    return struct({
        "k": rng.integers(0, 7, n),
        "t": VALUES["datetime64"](rng, n).astype("M8[s]"),
        "b": VALUES["bytes"](rng, n),
        "u": VALUES["str"](rng, n),
        "f": VALUES["float64"](rng, n),
        "i": rng.choice(extremes, n),
        "q": rng.choice(np.array([0, 2**64 - 1, 2**63, 2**53 + 1], np.uint64), n),
    })


@pytest.mark.parametrize("func", METHODS)
def test_every_non_key_field_is_aggregated(func):
    a = numeric_table()
    check_method(partitioned(a, [120, 0, 200, 180]), a, ["s", "k"], func)


@pytest.mark.parametrize("func", ["min", "max", "first", "last", "count", "nunique", "size"])
def test_orderable_fields_keep_their_dtype(func):
    a = ordered_table()
    check_method(rd.from_numpy(a, npartitions=3), a, "k", func)


@pytest.mark.parametrize("func", ["sum", "min", "max", "first", "last", "nunique"])
def test_large_integers_are_exact(func):
    rng = np.random.default_rng(3)
    a = struct({"k": np.arange(40) % 8,  # five rows a group: sums stay within 64 bits
                "w": rng.integers(-2**60, 2**60, 40),
                "u": (2**60 + rng.integers(0, 1000, 40)).astype(np.uint64)})
    check_method(rd.from_numpy(a, npartitions=3), a, "k", func)


# -- shapes of the data -------------------------------------------------------------------------
def _filtered():
    a = keyed(np.random.default_rng(4).integers(0, 40, 600))
    a = a[np.argsort(a["k"], kind="stable")]
    x = rd.from_numpy(a, npartitions=6).filter(lambda b: b["k"] >= 25)  # the first partitions empty out
    assert 0 in [len(p) for p in x.partitions()]
    return a[a["k"] >= 25], x


def _edge_groups():
    """Groups with NaN first (0), only NaN (1), NaN last (2), one number among NaN (3), one row (4)."""
    nan = np.nan
    a = struct({"k": np.array([0, 1, 2, 0, 3, 1, 2, 4, 0, 1, 3, 2]),
                "v": np.array([nan, nan, 1.5, 2.0, nan, nan, 3.0, 5.0, 4.5, nan, 7.0, nan]),
                "w": np.arange(12)})
    return a, partitioned(a, [2, 0, 5, 1, 4])


def _spread(k, npartitions):
    a = keyed(k)
    return a, rd.from_numpy(a, npartitions=npartitions)


def _skewed():
    rng = np.random.default_rng(5)
    return _spread(np.where(rng.random(2000) < 0.9, 0, rng.integers(1, 50, 2000)), 8)


def _empty_partitions():
    a = keyed(np.random.default_rng(5).integers(0, 20, 300))
    return a, partitioned(a, [0, 120, 0, 0, 150, 30, 0])


SHAPES = {
    "one-group": lambda: _spread(np.full(300, 7), 4),
    "every-row-its-own-group": lambda: _spread(np.random.default_rng(5).permutation(300), 4),
    "one-row": lambda: _spread([3], 1),
    "no-rows": lambda: _spread(np.zeros(0), 1),
    "17-partitions": lambda: _spread(np.random.default_rng(5).integers(0, 30, 1000), 17),
    "skewed": _skewed,
    "empty-partitions": _empty_partitions,
    "filtered": _filtered,
    "edge-groups": _edge_groups,
    # partition 0 has distinct keys, so its map task sends each row as its own group; partition 1
    # combines its rows: the reduce side merges both kinds of partial rows
    "distinct-then-repeated": lambda: _spread(np.concatenate([np.arange(6000) % 5000, np.arange(6000) % 7]), 2),
}


@pytest.mark.parametrize("func", METHODS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_data_shapes(shape, func):
    a, x = SHAPES[shape]()
    check_method(x, a, "k", func)


@pytest.mark.parametrize("func", METHODS)
@pytest.mark.parametrize("dropna", [True, False])
def test_every_key_missing(dropna, func):
    rng = np.random.default_rng(6)
    a = struct({"k": np.full(50, np.nan), "t": np.full(50, np.datetime64("NaT"), "M8[ns]"),
                "v": VALUES["float64"](rng, 50)})
    check_method(rd.from_numpy(a, npartitions=3), a, ["k", "t"], func, dropna=dropna)


# -- by-arrays ----------------------------------------------------------------------------------
@pytest.mark.parametrize("func", METHODS)
def test_plain_array_grouped_by_arrays(func):
    rng = np.random.default_rng(6)
    values, by0, by1 = VALUES["float64"](rng, 500), rng.integers(0, 9, 500), VALUES["str"](rng, 500)
    x = rd.from_numpy(values, npartitions=3)
    got = getattr(x.groupby(rd.from_numpy(by0, npartitions=5)), func)()
    cols = columns(values, by0)
    assert_groupby(got, cols, "key", method_specs(cols, "key", func))
    got = getattr(x.groupby([rd.from_numpy(by0, npartitions=2), partitioned(by1, [0, 400, 100])]), func)()
    cols = columns(values, [by0, by1])
    assert_groupby(got, cols, ["key_0", "key_1"], method_specs(cols, ["key_0", "key_1"], func))


@pytest.mark.parametrize("func", METHODS)
def test_structured_array_grouped_by_arrays_with_other_boundaries(func):
    a, _ = table("int64", n=400)
    x = partitioned(a, [100, 0, 250, 50])
    by = a["k"] % 3
    cols = columns(a, by)  # the field "k" is not a key here: it is aggregated
    for got in (getattr(x.groupby(rd.from_numpy(by, npartitions=3)), func)(),
                getattr(x.groupby(x["k"] % 3), func)()):
        assert_groupby(got, cols, "key", method_specs(cols, "key", func))
    by1 = a["v"] > 0
    got = getattr(x.groupby([partitioned(by, [400]), partitioned(by1, [10, 390])]), func)()
    cols = columns(a, [by, by1])
    assert_groupby(got, cols, ["key_0", "key_1"], method_specs(cols, ["key_0", "key_1"], func))


@pytest.mark.parametrize("func", ["sum", "first", "nunique", "size"])
def test_by_array_of_a_filtered_array(func):
    """Partition lengths unknown until computed: the by-array is aligned by construction."""
    a, x = _filtered()
    got = getattr(x.groupby(x["k"] % 4), func)()
    cols = columns(a, a["k"] % 4)
    assert_groupby(got, cols, "key", method_specs(cols, "key", func))


# -- agg ----------------------------------------------------------------------------------------
def mixed_table(n: int = 600, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return struct({"k": rng.integers(0, 9, n).astype(np.int32), "s": VALUES["str"](rng, n),
                   "v": VALUES["float64"](rng, n), "w": VALUES["int64"](rng, n),
                   "t": VALUES["datetime64"](rng, n), "b": VALUES["bool"](rng, n)})


def test_named_aggregation(ctx):
    a = mixed_table()
    specs = [("total", "v", "sum"), ("avg", "w", "mean"), ("n", "v", "count"), ("rows", "v", "size"),
             ("lo", "t", "min"), ("hi", "s", "max"), ("spread", "v", "std"), ("var_w", "w", "var"),
             ("first_s", "s", "first"), ("last_t", "t", "last"), ("distinct", "b", "nunique"),
             ("trues", "b", "sum"), ("v", "w", "max")]
    got = partitioned(a, [200, 0, 300, 100]).groupby("k").agg(**{name: (f, func) for name, f, func in specs})
    assert_groupby(got, columns(a), "k", specs)


def test_dict_aggregation_names_fields_as_pandas():
    a = mixed_table()
    x = rd.from_numpy(a, npartitions=4)
    got = x.groupby(["k", "b"]).agg({"v": "sum", "t": "max", "s": "nunique"})
    assert_groupby(got, columns(a), ["k", "b"], [("v", "v", "sum"), ("t", "t", "max"), ("s", "s", "nunique")])

    funcs = {"v": ["sum", "mean", "var"], "w": ["min", "first", "nunique", "size"]}
    got = x.groupby("k").agg(funcs)
    frame = pd.DataFrame(a).groupby("k", as_index=False).agg(funcs)
    frame.columns = ["_".join(filter(None, column)) for column in frame.columns]  # ("v", "sum") -> "v_sum"
    specs = [(f"{field}_{func}", field, func) for field, names in funcs.items() for func in names]
    approx = {name for name, _, func in specs if func in NUMERIC}
    assert_placed(got)
    assert_result(got, to_struct(frame, spec_dtype(columns(a), "k", specs)), "k", approx)


# -- apply --------------------------------------------------------------------------------------
def apply_oracle(rows: np.ndarray, cols: dict, keys, fn, dropna: bool = True) -> np.ndarray:
    """``fn`` of the rows of each group (in row order), concatenated in pandas' sorted group order."""
    groups = pd.DataFrame(cols).groupby(key_list(keys), sort=True, dropna=dropna)
    return np.concatenate([fn(rows[frame.index.to_numpy()]) for _, frame in groups])


def top_row(g):
    return g[g["w"] == g["w"].max()][:1]


def summary(g):
    """One computed row: the group's key fields (all but "v" and "w"), the sum of "v", the row count."""
    keys = [name for name in g.dtype.names if name not in ("v", "w")]
    out = np.empty(1, [(k, g.dtype[k]) for k in keys] + [("total", "f8"), ("rows", "i8")])
    for k in keys:
        out[k] = g[k][0]
    out["total"], out["rows"] = np.nansum(g["v"]), len(g)
    return out


def whole_group(g):
    return g


@pytest.mark.parametrize("fn", [top_row, summary, whole_group])
def test_apply_matches_numpy_group_by_group(ctx, fn):
    a = keyed(np.random.default_rng(8).integers(0, 12, 400))
    got = partitioned(a, [100, 0, 150, 150]).groupby("k").apply(fn)
    assert_result(got, apply_oracle(a, columns(a), "k", fn), "k")


@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("dropna", [True, False])
@pytest.mark.parametrize("key_kind", ["float64", "multi-nan"])
def test_apply_with_nan_keys(key_kind, dropna, sort):
    a, keys = table(key_kind, n=400)
    got = rd.from_numpy(a, npartitions=5).groupby(keys, sort=sort, dropna=dropna).apply(summary)
    assert_result(got, apply_oracle(a, columns(a), keys, summary, dropna), keys, sort=sort)


def test_apply_to_plain_array_sees_key_and_value():
    rng = np.random.default_rng(9)
    values, by = rng.integers(0, 100, 300), rng.integers(0, 6, 300)

    def two_smallest(g):
        return g[np.argsort(g["value"], kind="stable")][:2]

    got = rd.from_numpy(values, npartitions=4).groupby(rd.from_numpy(by, npartitions=3)).apply(two_smallest)
    cols = columns(values, by)
    assert_result(got, apply_oracle(struct(cols), cols, "key", two_smallest), "key")


# -- the plan -----------------------------------------------------------------------------------
@pytest.mark.parametrize("key_kind", ["int64", "multi"])
def test_groupby_of_copartitioned_array_plans_no_shuffle(key_kind):
    a, keys = table(key_kind, n=1000)
    x = rd.from_numpy(a, npartitions=4)
    assert "shuffle:" in x.groupby(keys, sort=False).sum().explain()
    y = x.partition_by(keys)
    got = y.groupby(keys, sort=False).sum()
    assert got.explain().count("shuffle:") == y.explain().count("shuffle:") == 1  # partition_by's only
    check_method(y, a, keys, "sum", sort=False)
    check_method(y, a, keys, "nunique", sort=False)
    check_method(y, a, keys, "mean")
    assert_result(y.groupby(keys, sort=False).apply(summary), apply_oracle(a, columns(a), keys, summary),
                  keys, sort=False)


@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("func", ["sum", "size", "first", "nunique"])
def test_groupby_of_array_sorted_by_the_key(func, sort):
    """A sort splits a dominant key's rows between range partitions: still one row per key."""
    a, x = _skewed()
    check_method(x.sort("k"), a, "k", func, sort=sort)


def test_apply_to_array_sorted_by_the_key():
    a, x = _skewed()
    assert_result(x.sort("k").groupby("k").apply(summary), apply_oracle(a, columns(a), "k", summary), "k")


# -- errors -------------------------------------------------------------------------------------
def error_table() -> np.ndarray:
    return struct({"k": np.arange(10) % 3, "v": np.linspace(0, 1, 10),
                   "s": np.array(list("abcdefghij")), "b": np.array(list(b"abcdefghij"), "S1")})


@pytest.mark.parametrize("make", [
    lambda x: x.groupby("nope").sum(),
    lambda x: x.groupby(["k", "nope"]).size(),
    lambda x: x.groupby("k").agg(total=("nope", "sum")),
    lambda x: x.groupby("k").agg({"nope": "max"}),
], ids=["by", "by-list", "named-agg", "dict-agg"])
def test_bad_field_names_raise_key_error(make):
    with pytest.raises(KeyError, match="nope"):
        make(rd.from_numpy(error_table(), npartitions=2)).compute()


def test_by_array_of_another_length_raises_value_error():
    a = error_table()
    x = rd.from_numpy(a, npartitions=2)
    with pytest.raises(ValueError):
        x.groupby(rd.from_numpy(a["k"][:-1])).sum().compute()
    with pytest.raises(ValueError):
        x.groupby([rd.from_numpy(a["k"]), rd.from_numpy(np.arange(11))]).sum().compute()


@pytest.mark.parametrize("func", sorted(NUMERIC))
def test_arithmetic_of_str_or_bytes_raises_type_error(func):
    x = rd.from_numpy(error_table(), npartitions=2)
    with pytest.raises(TypeError):
        getattr(x.groupby("k"), func)().compute()
    for field in ("s", "b"):
        with pytest.raises(TypeError):
            x.groupby("k").agg(out=(field, func)).compute()


# -- properties ---------------------------------------------------------------------------------
VALUE_ELEMENTS = st.one_of(st.just(np.nan), st.integers(-40, 40).map(lambda i: i / 4))


@settings(max_examples=100)
@given(data=st.data())
def test_property_random_layouts(data):
    n = data.draw(st.integers(0, 60), label="n")
    float_keys = data.draw(st.booleans(), label="float keys")
    key_elements = st.sampled_from([np.nan, -1.0, 0.0, 2.5]) if float_keys else st.integers(-3, 3)
    k = np.array(data.draw(st.lists(key_elements, min_size=n, max_size=n)), np.float64 if float_keys else np.int64)
    v = np.array(data.draw(st.lists(VALUE_ELEMENTS, min_size=n, max_size=n)), np.float64)
    a = struct({"k": k, "v": v})
    func = data.draw(st.sampled_from(METHODS), label="func")
    sort, dropna = data.draw(st.booleans(), label="sort"), data.draw(st.booleans(), label="dropna")
    check_method(partitioned(a, data.draw(layouts(n))), a, "k", func, sort, dropna)


@settings(max_examples=100)
@given(data=st.data())
def test_property_by_arrays_with_their_own_layouts(data):
    n = data.draw(st.integers(0, 60), label="n")
    v = np.array(data.draw(st.lists(VALUE_ELEMENTS, min_size=n, max_size=n)), np.float64)
    by = [np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int64)
          for _ in range(data.draw(st.integers(1, 2), label="number of by-arrays"))]
    keys = "key" if len(by) == 1 else ["key_0", "key_1"]
    by_arrays = [partitioned(b, data.draw(layouts(n))) for b in by]
    x = partitioned(v, data.draw(layouts(n)))
    func = data.draw(st.sampled_from(METHODS), label="func")
    got = getattr(x.groupby(by_arrays[0] if len(by) == 1 else by_arrays), func)()
    cols = columns(v, by[0] if len(by) == 1 else by)
    assert_groupby(got, cols, keys, method_specs(cols, keys, func))
