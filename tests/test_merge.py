"""``rd.merge`` against pandas: ``pd.merge`` is the oracle.

Every expected value is computed here by pandas. The row order of a merge is free, so results are
compared after sorting both by every field (NaN last). The dtypes are the contract's (section 3.5);
where they differ from pandas', the oracle casts pandas' values to them:

- a key named the same on both sides appears once, with ``np.result_type`` of both key dtypes
  (pandas keeps the left dtype in some joins);
- on the side that may be missing (right for left joins, left for right joins, both for outer), the
  integer, unsigned and bool fields are float64 with NaN, always (pandas converts only when a row is
  missing); float and datetime/timedelta fields keep their dtype with NaN/NaT; str and bytes fields
  keep their dtype with "" where pandas puts NaN in an object column;
- semi and anti joins give left's rows that have / have no match, each at most once, with left's
  dtype: pandas' ``indicator`` of a left join against right's distinct keys finds them.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.recfunctions import repack_fields

import rdarray as rd
from _helpers import layouts, partitioned, struct

HOWS = ("inner", "left", "right", "outer", "semi", "anti")
JOINS = ("inner", "left", "right", "outer")
DAYS = np.arange("2024-01-01", "2024-01-09", dtype="M8[D]").astype("M8[ns]")
NAT = np.datetime64("NaT")


# -- data ---------------------------------------------------------------------------------------
def missing(values: np.ndarray, rng, share: float) -> np.ndarray:
    """``values`` with about ``share`` of them NaN (NaT for datetimes and timedeltas)."""
    out = values.copy()
    hole = {"M": NAT, "m": np.timedelta64("NaT")}.get(out.dtype.kind, np.nan)
    out[rng.random(len(out)) < share] = hole
    return out


def _ints(values, dtype) -> np.ndarray:
    return np.array(values, dtype)


#: key kind -> (left pool, right pool): {key field: column}. Row ``i`` of both pools is the same
#: logical key (equal values, maybe of other dtypes) unless a pool deliberately changes it; rows of
#: one pool are distinct keys. The left side draws from the first rows of its pool, the right side
#: from the last ones, so each side has keys the other lacks.
_INT_POOL = [-7, 0, 3, 5, 2**40, -2**40, 11, 42]
_I32_POOL = [-2**31, -1, 0, 7, 9, 2**31 - 1, 100, 5]
KEYS = {
    "int64": ({"k": _ints(_INT_POOL, np.int64)}, {"k": _ints(_INT_POOL, np.int64)}),
    "int32-int64": ({"k": _ints(_I32_POOL, np.int32)}, {"k": _ints(_I32_POOL, np.int64)}),
    # 2 (left) is not 2.5 (right); NaN on the right matches no integer
    "int-float": ({"k": _ints([-3, 0, 1, 2, 5, 8, 13, 21], np.int64)},
                  {"k": np.array([-3.0, 0.0, 1.0, 2.5, 5.0, np.nan, 13.0, 21.0])}),
    # NaN matches NaN; 0.0 (left) matches -0.0 (right)
    "float64": ({"k": np.array([np.nan, -np.inf, -1.5, 0.0, 2.25, 1e300, 7.0, 0.125])},
                {"k": np.array([np.nan, -np.inf, -1.5, -0.0, 2.25, 1e300, 7.0, 0.125])}),
    "str": ({"k": np.array(["", "a", "ab", "Z", "é", "zzz", "b", "ba"], "U3")},
            {"k": np.array(["", "a", "ab", "Z", "é", "zzz", "b", "bazzz"], "U5")}),
    "bytes": ({"k": np.array([b"", b"a", b"ab", b"b", b"abc", b"z", b"zz", b"q"], "S3")},
              {"k": np.array([b"", b"a", b"ab", b"b", b"abc", b"z", b"zz", b"qqqq"], "S4")}),
    "datetime64": ({"k": np.concatenate([[NAT], DAYS[:6], [DAYS[0] + np.timedelta64(1, "ns")]]).astype("M8[ns]")},
                   {"k": np.concatenate([[NAT], DAYS[:6], [DAYS[0] + np.timedelta64(1, "ns")]]).astype("M8[ns]")}),
    "bool": ({"k": np.array([False, True])}, {"k": np.array([False, True])}),
    "multi": ({"k0": _ints([0, 0, 1, 1, 2, 2, 3, 3], np.int32),
               "k1": np.array(["x", "é", "x", "é", "x", "", "x", "é"], "U2")},
              {"k0": _ints([0, 0, 1, 1, 2, 2, 3, 3], np.int64),
               "k1": np.array(["x", "é", "x", "é", "x", "", "x", "é"], "U3")}),
    "multi-nan": ({"k0": np.array([np.nan, np.nan, 0.5, 0.5, 1.5, 1.5, 2.5, 2.5]),
                   "k1": np.array([False, True] * 4)},
                  {"k0": np.array([np.nan, np.nan, 0.5, 0.5, 1.5, 1.5, 2.5, 2.5]),
                   "k1": np.array([False, True] * 4)}),
}


def pool_rows(size: int):
    """The pool rows each side draws from: (left's, right's)."""
    if size == 2:  # bool: left has both keys, right only True
        return np.arange(2), np.arange(1, 2)
    return np.arange(0, size - size // 4), np.arange(size // 4, size)


#: value field -> (rng, n) -> column. Left and right share "v" and "s" (so they get suffixes).
LEFT_VALUES = {
    "v": lambda rng, n: rng.integers(-1000, 1000, n),
    "f": lambda rng, n: missing(np.round(rng.normal(0, 100, n), 3), rng, 0.15),
    "i": lambda rng, n: rng.integers(-300, 300, n).astype(np.int16),
    "b": lambda rng, n: rng.random(n) < 0.5,
    "t": lambda rng, n: missing(rng.choice(DAYS, n) + rng.integers(0, 10**9, n).astype("m8[ns]"), rng, 0.1),
    "s": lambda rng, n: rng.choice(np.array(["", "a", "é", "abc"], "U3"), n),
}
RIGHT_VALUES = {
    "w": lambda rng, n: missing(rng.integers(-2000, 2000, n) / 8, rng, 0.1).astype(np.float32),
    "s": lambda rng, n: rng.choice(np.array(["", "x", "éé"], "U2"), n),
    "v": lambda rng, n: rng.integers(-1000, 1000, n),
    "u": lambda rng, n: rng.integers(0, 256, n).astype(np.uint8),
    "d": lambda rng, n: missing(rng.choice(DAYS, n).astype("M8[s]") + rng.integers(0, 9999, n).astype("m8[s]"),
                               rng, 0.1),
    "m": lambda rng, n: missing(rng.integers(-10**6, 10**6, n).astype("m8[ms]"), rng, 0.1),
    "y": lambda rng, n: rng.choice(np.array([b"", b"p", b"pq"], "S2"), n),
}


def side(kind: str, which: str, dups: bool, seed: int = 0) -> np.ndarray:
    """One side of a join on ``kind`` keys: left is "v", the key field(s), then its other values;
    right is "w", "s", the key field(s), then its other values (keys sit mid-table on purpose).
    With ``dups`` keys repeat (one of them three times), else each key of the side appears once."""
    rng = np.random.default_rng((seed, which == "left", dups))
    pool = KEYS[kind][0 if which == "left" else 1]
    rows = pool_rows(len(next(iter(pool.values()))))[0 if which == "left" else 1]
    if dups:
        counts = rng.integers(1, 4, len(rows))
        counts[rng.integers(len(rows))] = 3
        rows = np.repeat(rows, counts)
    rows = rng.permutation(rows)
    n = len(rows)
    keys = {name: col[rows] for name, col in pool.items()}
    values = {name: make(rng, n) for name, make in (LEFT_VALUES if which == "left" else RIGHT_VALUES).items()}
    names = list(values)
    head = 1 if which == "left" else 2
    order = names[:head] + list(keys) + names[head:]
    cols = {**values, **keys}
    return struct({name: cols[name] for name in order})


def key_of(kind: str):
    """The ``on`` argument for ``kind``: the field, or the list of fields."""
    names = list(KEYS[kind][0])
    return names[0] if len(names) == 1 else names


def tables(kind: str, left_dups: bool = True, right_dups: bool = True, seed: int = 0):
    return side(kind, "left", left_dups, seed), side(kind, "right", right_dups, seed), key_of(kind)


def keyed(k, seed: int = 0, which: str = "left") -> np.ndarray:
    """Key field "k" from ``k`` and the value fields of one side."""
    rng = np.random.default_rng((seed, which == "left"))
    k = np.asarray(k)
    values = LEFT_VALUES if which == "left" else RIGHT_VALUES
    return struct({"k": k} | {name: make(rng, len(k)) for name, make in values.items()})


# -- the oracle ---------------------------------------------------------------------------------
def as_list(names) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def join_keys(left, right, on=None, left_on=None, right_on=None):
    """(left key fields, right key fields) as pandas resolves them."""
    if on is not None:
        return as_list(on), as_list(on)
    if left_on is not None:
        return as_list(left_on), as_list(right_on)
    common = [name for name in left.dtype.names if name in right.dtype.names]
    return common, common


def frame(a: np.ndarray, names=None) -> pd.DataFrame:
    return pd.DataFrame({name: a[name] for name in (names or a.dtype.names)}, index=pd.RangeIndex(len(a)))


def missing_dtype(dtype: np.dtype) -> np.dtype:
    """A field's dtype on a side that may be missing."""
    return np.dtype(np.float64) if dtype.kind in "biu" else dtype


def result_fields(left, right, how, lkeys, rkeys, suffixes):
    """``[(name, dtype)]`` of the contract's result: left's fields, then right's but shared keys."""
    if how in ("semi", "anti"):
        return [(name, left.dtype[name]) for name in left.dtype.names]
    shared = {lk for lk, rk in zip(lkeys, rkeys) if lk == rk}
    right_names = [name for name in right.dtype.names if name not in shared]
    overlap = set(left.dtype.names) & set(right_names)
    suffixes = [suffix or "" for suffix in suffixes]  # None: no suffix, as in pandas
    out = []
    for name in left.dtype.names:
        if name in shared:
            dtype = np.result_type(left.dtype[name], right.dtype[name])
        elif how in ("right", "outer"):
            dtype = missing_dtype(left.dtype[name])
        else:
            dtype = left.dtype[name]
        out.append((name + suffixes[0] if name in overlap else name, dtype))
    for name in right_names:
        dtype = missing_dtype(right.dtype[name]) if how in ("left", "outer") else right.dtype[name]
        out.append((name + suffixes[1] if name in overlap else name, dtype))
    return out


def column(series: pd.Series, dtype: np.dtype) -> np.ndarray:
    """A pandas result column as a NumPy column of the contract's ``dtype``."""
    if len(series) == 0:
        return np.empty(0, dtype)
    if dtype.kind in "SU":
        fill = b"" if dtype.kind == "S" else ""
        return np.array([fill if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v
                         for v in series.to_numpy(dtype=object)], dtype)
    if dtype.kind == "f":
        return series.astype(np.float64).to_numpy().astype(dtype)
    return series.to_numpy().astype(dtype)


def oracle(left: np.ndarray, right: np.ndarray, how: str = "inner", on=None, left_on=None, right_on=None,
           suffixes=("_x", "_y")) -> np.ndarray:
    """pandas' merge of two structured arrays, as a structured ndarray of the contract's dtype."""
    lkeys, rkeys = join_keys(left, right, on, left_on, right_on)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when int keys meet non-integral floats
        if how in ("semi", "anti"):
            lf = frame(left, lkeys).set_axis([f"__l{i}" for i in range(len(lkeys))], axis=1)
            lf["__row"] = np.arange(len(left))
            rf = frame(right, rkeys).set_axis([f"__r{i}" for i in range(len(rkeys))], axis=1).drop_duplicates()
            m = pd.merge(lf, rf, how="left", left_on=list(lf.columns[:-1]), right_on=list(rf.columns),
                         indicator="__how")
            rows = m.loc[m["__how"] == ("both" if how == "semi" else "left_only"), "__row"].to_numpy()
            assert len(np.unique(rows)) == len(rows)
            return left[np.sort(rows)]
        kw = {"on": on} if on is not None else {"left_on": left_on, "right_on": right_on}
        result = pd.merge(frame(left), frame(right), how=how, suffixes=suffixes, **kw)
    fields = result_fields(left, right, how, lkeys, rkeys, suffixes)
    assert [name for name, _ in fields] == list(result.columns), (fields, list(result.columns))
    out = np.empty(len(result), fields)
    for name, dtype in fields:
        out[name] = column(result[name], np.dtype(dtype))
    return out


# -- comparison ---------------------------------------------------------------------------------
def fields_of(dtype: np.dtype) -> list:
    return [(name, dtype[name]) for name in dtype.names]


def by_rows(a: np.ndarray) -> np.ndarray:
    """``a`` sorted by every field in order (NaN/NaT last, -0.0 tied with 0.0), for results whose
    row order is free."""
    columns = []
    for name in a.dtype.names:
        c = a[name]
        if c.dtype.kind == "f":
            nan = np.isnan(c)
            columns += [nan, np.where(nan, 0, c)]
        elif c.dtype.kind in "Mm":
            nat = np.isnat(c)
            columns += [nat, np.where(nat, 0, c.view(np.int64))]
        else:
            columns.append(c)
    return a[np.lexsort(columns[::-1])] if columns else a


def assert_merge(got, expected: np.ndarray, check_partitions: bool = False) -> None:
    """``got`` (a merge result) holds the rows of ``expected`` in any order, with its field names
    and dtypes (before and after computing); values exact, NaN equal to NaN."""
    assert isinstance(got, rd.PartitionedArray), type(got)
    assert fields_of(got.dtype) == fields_of(expected.dtype), (got.dtype, expected.dtype)
    out = got.compute()
    assert isinstance(out, np.ndarray), type(out)
    assert fields_of(out.dtype) == fields_of(expected.dtype), (out.dtype, expected.dtype)
    assert out.shape == expected.shape, (out.shape, expected.shape)
    out, expected = by_rows(out), by_rows(expected)
    for name in expected.dtype.names:
        np.testing.assert_array_equal(out[name], expected[name], strict=True, err_msg=name)
    if check_partitions:
        parts = got.partitions()
        assert len(parts) == got.npartitions
        joined = np.concatenate(parts) if parts else out[:0]
        assert fields_of(joined.dtype) == fields_of(expected.dtype)
        joined = by_rows(joined)
        assert joined.shape == expected.shape
        for name in expected.dtype.names:
            np.testing.assert_array_equal(joined[name], expected[name], strict=True, err_msg=name)
        assert len(got) == len(expected)


def check(left: np.ndarray, right: np.ndarray, x, y, how: str, check_partitions: bool = False, **kw):
    """``rd.merge(x, y, how=how, **kw)`` (``x``, ``y`` holding ``left``, ``right``) against pandas;
    returns the result."""
    got = rd.merge(x, y, how=how, **kw)
    assert_merge(got, oracle(left, right, how, **kw), check_partitions)
    return got


@pytest.fixture
def no_broadcast(monkeypatch):
    """The shuffle plan: no side is small enough to broadcast."""
    monkeypatch.setattr(rd.config, "broadcast_bytes", 0)


def test_oracle_sorts_nan_safely():
    a = struct({"f": np.array([np.nan, 1.0, -0.0, np.nan, 0.0]), "t": np.array([NAT, DAYS[1], NAT, DAYS[0], DAYS[0]])})
    b = by_rows(a)
    assert (b["f"][:3] == [0, 0, 1]).all() and np.isnan(b["f"][3:]).all()  # -0.0 ties 0.0: then by "t"
    np.testing.assert_array_equal(b["t"], np.array([DAYS[0], NAT, DAYS[1], DAYS[0], NAT]))


# -- every how x key type x duplicates ----------------------------------------------------------
DUPS = {"unique": (False, False), "left-dups": (True, False), "right-dups": (False, True),
        "both-dups": (True, True)}



@contextlib.contextmanager
def broadcasting(allowed: bool):
    """Inside, merge may broadcast a small side (the default) or must shuffle both."""
    saved = rd.config.broadcast_bytes
    rd.config.broadcast_bytes = saved if allowed else 0
    try:
        yield
    finally:
        rd.config.broadcast_bytes = saved


@pytest.fixture(params=["default-plan", "shuffle-plan"])
def any_plan(request, monkeypatch):
    """Run a test with the plan merge picks, then with every side shuffled (nothing broadcast)."""
    if request.param == "shuffle-plan":
        monkeypatch.setattr(rd.config, "broadcast_bytes", 0)
    return request.param

@pytest.mark.parametrize("dups", list(DUPS))
@pytest.mark.parametrize("kind", list(KEYS))
@pytest.mark.parametrize("how", HOWS)
def test_matches_pandas(how, kind, dups):
    left, right, on = tables(kind, *DUPS[dups])
    check(left, right, rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2), how, on=on)


@pytest.mark.parametrize("kind", list(KEYS))
@pytest.mark.parametrize("how", HOWS)
def test_matches_pandas_when_shuffled(how, kind, no_broadcast):
    left, right, on = tables(kind, seed=1)
    got = check(left, right, partitioned(left, [0, 4, len(left) - 4, 0]),
                partitioned(right, [len(right) - 3, 0, 3]), how, on=on)
    assert "shuffle:" in got.explain()


# -- shapes of the data -------------------------------------------------------------------------
EMPTY_CASES = {
    "empty-left": (0, 20),
    "empty-right": (20, 0),
    "both-empty": (0, 0),
}


@pytest.mark.parametrize("case", list(EMPTY_CASES))
@pytest.mark.parametrize("how", HOWS)
def test_empty_sides(how, case):
    nl, nr = EMPTY_CASES[case]
    rng = np.random.default_rng(10)
    left, right = keyed(rng.integers(0, 5, nl), 10, "left"), keyed(rng.integers(0, 5, nr), 11, "right")
    check(left, right, rd.from_numpy(left, npartitions=1), partitioned(right, [0, nr, 0]), how, on="k",
          check_partitions=True)
    check(left, right, partitioned(left, [nl, 0]), rd.from_numpy(right, npartitions=2), how, on="k")


@pytest.mark.parametrize("how", HOWS)
def test_every_row_has_one_key(how):
    """Every row of both sides has the same key: the product of the sides."""
    left, right = keyed(np.full(30, 7), 12, "left"), keyed(np.full(20, 7), 13, "right")
    check(left, right, rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2), how, on="k")


@pytest.mark.parametrize("how", HOWS)
def test_no_key_matches(how):
    left, right = keyed(np.arange(0, 20), 14, "left"), keyed(np.arange(100, 115), 15, "right")
    check(left, right, rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=2), how, on="k")


@pytest.mark.parametrize("how", HOWS)
def test_empty_partitions(how, any_plan):
    rng = np.random.default_rng(16)
    left, right = keyed(rng.integers(0, 12, 60), 16, "left"), keyed(rng.integers(4, 16, 40), 17, "right")
    check(left, right, partitioned(left, [0, 25, 0, 0, 35, 0]), partitioned(right, [0, 0, 40, 0]), how, on="k",
          check_partitions=True)


@pytest.mark.parametrize("how", HOWS)
def test_many_partitions(how, any_plan):
    rng = np.random.default_rng(18)
    left, right = keyed(rng.integers(0, 150, 600), 18, "left"), keyed(rng.integers(50, 200, 400), 19, "right")
    check(left, right, rd.from_numpy(left, npartitions=9), rd.from_numpy(right, npartitions=4), how, on="k",
          check_partitions=True)
    check(right, left, rd.from_numpy(right, npartitions=4), rd.from_numpy(left, npartitions=9), how, on="k")


@pytest.mark.parametrize("how", HOWS)
def test_filtered_sides_of_unknown_length(how):
    """Sides whose lengths are unknown until computed (a filter): a side that may be broadcast is
    measured once computed and, being small, broadcast (tests/test_adaptive_join.py for more)."""
    rng = np.random.default_rng(20)
    left, right = keyed(rng.integers(0, 30, 300), 20, "left"), keyed(rng.integers(10, 40, 200), 21, "right")
    x = rd.from_numpy(left, npartitions=3).filter(lambda b: b["k"] % 3 != 0)
    y = rd.from_numpy(right, npartitions=4).filter(lambda b: b["k"] % 2 == 0)
    got = check(left[left["k"] % 3 != 0], right[right["k"] % 2 == 0], x, y, how, on="k")
    text = got.explain()
    if how == "outer":
        assert "shuffle:" in text and "measured" not in text, text
    else:
        assert "broadcast" in text and "measured" in text and "shuffle:" not in text, text


def test_float_keys_with_nan_on_both_sides_match_each_other():
    left = keyed(np.array([np.nan, 1.0, np.nan, 2.0, -0.0]), 22, "left")
    right = keyed(np.array([np.nan, np.nan, 0.0, 3.0]), 23, "right")
    for how in HOWS:
        check(left, right, rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=2), how, on="k")


# -- keys: names, defaults, dtypes --------------------------------------------------------------
@pytest.mark.parametrize("how", HOWS)
def test_default_on_is_the_common_fields(how):
    rng = np.random.default_rng(24)
    left = struct({"a": rng.integers(0, 6, 40), "k": rng.integers(0, 4, 40), "v": rng.normal(size=40)})
    right = struct({"k": rng.integers(1, 5, 30), "w": rng.integers(0, 9, 30), "a": rng.integers(0, 6, 30)})
    check(left, right, rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2), how)
    only_k = struct({"k": rng.integers(1, 5, 30), "w": rng.integers(0, 9, 30)})
    check(left, only_k, rd.from_numpy(left, npartitions=3), rd.from_numpy(only_k, npartitions=2), how)


@pytest.mark.parametrize("how", HOWS)
def test_on_as_str_list_and_equal_left_on_right_on(how):
    left, right, _ = tables("int64", seed=2)
    x, y = rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2)
    expected = oracle(left, right, how, on="k")
    for kw in ({"on": "k"}, {"on": ["k"]}, {"left_on": "k", "right_on": "k"},
               {"left_on": ["k"], "right_on": ["k"]}):
        assert_merge(rd.merge(x, y, how=how, **kw), expected)


def renamed(a: np.ndarray, names: dict) -> np.ndarray:
    """A copy of ``a`` with fields renamed."""
    out = a.copy()
    out.dtype.names = [names.get(name, name) for name in a.dtype.names]
    return out


@pytest.mark.parametrize("kind", ["int64", "int32-int64", "str", "float64", "multi", "multi-nan"])
@pytest.mark.parametrize("how", HOWS)
def test_left_on_right_on_with_other_names(how, kind, any_plan):
    """Both key fields are kept; on the missing side they are converted like any field."""
    left, right, on = tables(kind, seed=3)
    keys = as_list(on)
    right = renamed(right, {k: "r_" + k for k in keys})
    right_on = ["r_" + k for k in keys]
    left_on, right_on = (on, right_on[0]) if isinstance(on, str) else (keys, right_on)
    check(left, right, rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2), how,
          left_on=left_on, right_on=right_on)


@pytest.mark.parametrize("how", HOWS)
def test_right_key_named_like_a_left_value_field(how):
    """left_on="k", right_on="v": right's key "v" and left's value "v" get suffixes, as in pandas;
    right's "k" (a value there) and left's key "k" too."""
    rng = np.random.default_rng(25)
    left = keyed(rng.integers(0, 8, 40), 25, "left")
    right = struct({"v": rng.integers(3, 11, 30), "k": rng.normal(size=30), "z": rng.random(30) < 0.5})
    check(left, right, rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=3), how,
          left_on="k", right_on="v")


@pytest.mark.parametrize("how", HOWS)
def test_key_lists_in_other_orders(how):
    """left_on=["a", "b"] joins right_on=["b", "a"]: position pairs keys, not names."""
    rng = np.random.default_rng(26)
    left = struct({"a": rng.integers(0, 3, 50), "b": rng.integers(0, 3, 50), "v": rng.integers(0, 9, 50)})
    right = struct({"b": rng.integers(0, 3, 40), "a": rng.integers(0, 3, 40), "w": rng.normal(size=40)})
    check(left, right, rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=3), how,
          left_on=["a", "b"], right_on=["b", "a"])


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("pair", [("int32", "int64"), ("int64", "int32"), ("int8", "uint16"),
                                  ("int64", "float64"), ("float32", "float64"), ("uint8", "float32"),
                                  ("U2", "U4"), ("S4", "S1"), ("bool", "bool")])
def test_key_dtypes_are_promoted(how, pair):
    rng = np.random.default_rng(27)
    lt, rt = map(np.dtype, pair)
    if lt.kind in "SU":
        pool = np.array(["", "a", "ab", "b", "abc", "abcd"])
    elif lt.kind == "b":
        pool = np.array([False, True])
    else:
        pool = np.array([0, 1, 2, 3, 5, 8, 13])
    left = keyed(rng.choice(pool, 30).astype(lt), 27, "left")
    right = keyed(rng.choice(pool, 20).astype(rt), 28, "right")
    got = check(left, right, rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=2), how, on="k")
    if how not in ("semi", "anti"):
        assert got.dtype["k"] == np.result_type(lt, rt)


@pytest.mark.parametrize("units", [("ns", "s"), ("s", "ns"), ("D", "ms")])
@pytest.mark.parametrize("how", HOWS)
def test_datetime_keys_of_other_units_are_comparable(how, units, any_plan):
    rng = np.random.default_rng(29)
    left = keyed(missing(rng.choice(DAYS, 30), rng, 0.1).astype(f"M8[{units[0]}]"), 29, "left")
    right = keyed(missing(rng.choice(DAYS[2:], 20), rng, 0.1).astype(f"M8[{units[1]}]"), 30, "right")
    check(left, right, rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=3), how, on="k")


@pytest.mark.parametrize("kind", ["int-float", "int32-int64", "str", "bytes"])
@pytest.mark.parametrize("how", ["semi", "anti"])
def test_semi_and_anti_keep_left_dtype_in_every_plan(how, kind, monkeypatch):
    """Keys of other dtypes are compared in a common dtype, but left's rows come back as they are."""
    for swap in (False, True):
        left, right, on = tables(kind, seed=9)
        if swap:
            left, right = right, left
        for budget in (64 << 20, 0):
            monkeypatch.setattr(rd.config, "broadcast_bytes", budget)
            got = check(left, right, rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2),
                        how, on=on)
            assert got.compute().dtype == left.dtype


def test_semi_join_result_placement_is_trustworthy(no_broadcast):
    """A semi join's result keeps left's rows where they are; if it says it is hash-partitioned
    on the key, a later merge that trusts it (no shuffle) must still find every match."""
    left, right, on = tables("int-float", seed=10)
    x, y = rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=3)
    rng = np.random.default_rng(10)
    third = keyed(rng.choice(KEYS["int-float"][0]["k"], 25), 11, "right")
    for how in ("semi", "anti"):
        s = rd.merge(x, y, on=on, how=how)
        kept = oracle(left, right, how, on=on)
        z = rd.from_numpy(third, npartitions=5).partition_by("k", npartitions=s.npartitions)
        for j in ("inner", "left", "outer", "semi"):
            got, expected = rd.merge(s, z, on="k", how=j), oracle(kept, third, j, on="k")
            assert len(got.compute()) == len(expected), (j, got.explain())  # every match found
            assert_merge(got, expected)
        assert_merge(rd.merge(s.partition_by("k"), z, on="k", how="inner"), oracle(kept, third, "inner", on="k"))


@pytest.mark.parametrize("how", HOWS)
def test_self_join(how, any_plan):
    left = keyed(np.random.default_rng(43).integers(0, 9, 50), 43, "left")
    x = rd.from_numpy(left, npartitions=3)
    check(left, left, x, x, how, on="k")
    xp = x.partition_by("k")
    check(left, left, xp, xp, how, on="k")
    check(left, left, x, x, how, on=["k", "b"])


# -- fields: suffixes and the missing side ------------------------------------------------------
@pytest.mark.parametrize("suffixes", [("_x", "_y"), ("_left", "_right"), ("", "_r"), ("_l", "")])
@pytest.mark.parametrize("how", HOWS)
def test_suffixes(how, suffixes):
    left, right, on = tables("str", seed=4)
    x, y = rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=2)
    check(left, right, x, y, how, on=on, suffixes=suffixes)
    if suffixes == ("_x", "_y"):
        assert_merge(rd.merge(x, y, on=on, how=how), oracle(left, right, how, on=on))


@pytest.mark.parametrize("how", JOINS)
def test_none_suffix_keeps_the_name(how):
    """pandas takes None in ``suffixes`` as "no suffix"."""
    left, right, on = tables("int64", seed=4)
    x, y = rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=2)
    check(left, right, x, y, how, on=on, suffixes=(None, "_r"))
    check(left, right, x, y, how, on=on, suffixes=("_l", None))


@pytest.mark.parametrize("how", ["left", "right", "outer"])
def test_missing_side_dtype_is_decided_even_when_every_row_matches(how):
    """pandas keeps int64/bool when nothing is missing; the contract converts the side that may
    be missing always, so the dtype is known before computing."""
    left, right = keyed(np.arange(12) % 4, 31, "left"), keyed(np.arange(4), 32, "right")
    assert set(left["k"]) == set(right["k"])  # every row of both sides has a match
    got = check(left, right, rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2), how, on="k")
    converted = {"left": ["v_y", "u"], "right": ["v_x", "i", "b"], "outer": ["v_x", "i", "b", "v_y", "u"]}[how]
    for name in converted:
        assert got.dtype[name] == np.float64, (name, got.dtype)
    assert got.dtype["k"] == np.int64


@pytest.mark.parametrize("how", HOWS)
def test_every_value_dtype_on_the_missing_side(how):
    """Fields of every kind on both sides (ints of several widths, unsigned, bool, floats,
    datetimes, timedeltas, str, bytes) with keys missing on each side."""

    def table(n, lo, hi, seed):
        r = np.random.default_rng(seed)
        return struct({"k": r.integers(lo, hi, n), "i8": r.integers(-128, 128, n).astype(np.int8),
                       "u64": r.integers(0, 2**40, n).astype(np.uint64), "i32": r.integers(-9, 9, n).astype(np.int32),
                       "b": r.random(n) < 0.5, "f32": missing(r.integers(0, 99, n) / 4, r, 0.1).astype(np.float32),
                       "f16": (r.integers(0, 99, n) / 4).astype(np.float16),
                       "t": missing(r.choice(DAYS, n), r, 0.1), "td": r.integers(0, 99, n).astype("m8[us]"),
                       "s": r.choice(np.array(["", "é", "ab"]), n), "y": r.choice(np.array([b"", b"q"]), n)})

    left = table(40, 0, 12, 34)
    right = repack_fields(table(30, 6, 18, 35)[["k", "u64", "b", "t", "td", "s", "y"]])
    check(left, right, rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2), how, on="k")


# -- plans --------------------------------------------------------------------------------------
PLAN_KINDS = ["int64", "float64", "str", "datetime64", "multi"]


def shuffle_lines(x) -> int:
    return x.explain().count("shuffle:")


@pytest.mark.parametrize("kind", PLAN_KINDS)
@pytest.mark.parametrize("how", HOWS)
def test_the_three_plans_agree(how, kind, monkeypatch):
    left, right, on = tables(kind, seed=5)
    expected = oracle(left, right, how, on=on)
    x, y = rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2)

    default = rd.merge(x, y, on=on, how=how)
    assert_merge(default, expected)
    text = default.explain()
    if how in ("inner", "left", "semi", "anti"):
        assert "broadcast" in text and "shuffle:" not in text, text
    if how == "outer":
        assert "shuffle" in text and "shuffle:" in text, text

    monkeypatch.setattr(rd.config, "broadcast_bytes", 0)
    shuffled = rd.merge(x, y, on=on, how=how)
    assert_merge(shuffled, expected)
    assert "shuffle" in shuffled.explain() and shuffle_lines(shuffled) >= 1, shuffled.explain()

    xp, yp = x.partition_by(on, npartitions=4), y.partition_by(on, npartitions=4)
    co = rd.merge(xp, yp, on=on, how=how)
    assert_merge(co, expected, check_partitions=True)
    text = co.explain()
    assert "co-partitioned" in text, text
    assert shuffle_lines(co) == shuffle_lines(xp) + shuffle_lines(yp), text

    monkeypatch.undo()  # the default threshold: still no shuffle beyond the partition_by's
    co = rd.merge(xp, yp, on=on, how=how)
    assert_merge(co, expected)
    assert shuffle_lines(co) == shuffle_lines(xp) + shuffle_lines(yp), co.explain()


@pytest.mark.parametrize("kind", ["int32-int64", "int-float", "bytes", "multi-nan"])
@pytest.mark.parametrize("how", HOWS)
def test_partitioned_sides_of_other_key_dtypes(how, kind, no_broadcast):
    """Sides hash-partitioned on keys of different dtypes (an int and a float hash apart): the
    result is right whatever the plan."""
    left, right, on = tables(kind, seed=6)
    xp = rd.from_numpy(left, npartitions=3).partition_by(on, npartitions=4)
    yp = rd.from_numpy(right, npartitions=2).partition_by(on, npartitions=4)
    check(left, right, xp, yp, how, on=on)


@pytest.mark.parametrize("how", HOWS)
def test_partitioned_sides_that_are_not_copartitioned(how, no_broadcast):
    rng = np.random.default_rng(36)
    left, right = keyed(rng.integers(0, 40, 200), 36, "left"), keyed(rng.integers(20, 60, 150), 37, "right")
    x, y = rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2)
    # other partition counts
    check(left, right, x.partition_by("k", npartitions=4), y.partition_by("k", npartitions=3), how, on="k")
    # one side only
    check(left, right, x.partition_by("k", npartitions=4), y, how, on="k")
    check(left, right, x, y.partition_by("k", npartitions=2), how, on="k")
    # range-partitioned by the key (a sort)
    check(left, right, x.sort("k"), y.partition_by("k", npartitions=3), how, on="k")
    # partitioned by another field
    check(left, right, x.partition_by("v", npartitions=4), y.partition_by("k", npartitions=4), how, on="k")
    # left_on/right_on of other names, each side partitioned on its key
    r2 = renamed(right, {"k": "rk"})
    y2 = rd.from_numpy(r2, npartitions=2).partition_by("rk", npartitions=4)
    check(left, r2, x.partition_by("k", npartitions=4), y2, how, left_on="k", right_on="rk")


@pytest.mark.parametrize("how", JOINS)
def test_right_join_with_a_small_left_side(how):
    """A small left side and a large right: whatever is broadcast, the values are pandas'."""
    rng = np.random.default_rng(38)
    left, right = keyed(rng.integers(0, 10, 8), 38, "left"), keyed(rng.integers(0, 30, 3000), 39, "right")
    check(left, right, rd.from_numpy(left, npartitions=1), rd.from_numpy(right, npartitions=5), how, on="k")


@pytest.mark.parametrize("ctx", [{"backend": "threads", "workers": 2}, {"backend": "sync"}],
                         ids=["threads", "sync"], indirect=True)
@pytest.mark.parametrize("how", HOWS)
def test_backends(ctx, how, monkeypatch):
    left, right, on = tables("multi", seed=7)
    x, y = partitioned(left, [3, 0, len(left) - 3]), rd.from_numpy(right, npartitions=2)
    check(left, right, x, y, how, on=on)
    monkeypatch.setattr(rd.config, "broadcast_bytes", 0)
    check(left, right, x, y, how, on=on)


def test_merge_result_is_an_ordinary_array():
    """A merge result feeds later operations (a filter, a groupby) and merges again."""
    left, right, on = tables("int64", seed=8)
    x, y = rd.from_numpy(left, npartitions=3), rd.from_numpy(right, npartitions=2)
    m = rd.merge(x, y, on=on, how="outer")
    expected = oracle(left, right, "outer", on=on)
    got = m[m["v_x"] > 0].compute()
    exp = expected[expected["v_x"] > 0]
    assert got.shape == exp.shape
    for name in exp.dtype.names:
        np.testing.assert_array_equal(by_rows(got)[name], by_rows(exp)[name], strict=True)
    again = rd.merge(m, y[["k", "u"]], on="k", how="semi")
    assert_merge(again, oracle(expected, right[["k", "u"]], "semi", on="k"))


# -- errors -------------------------------------------------------------------------------------
def error_sides():
    left = struct({"k": np.arange(6) % 3, "v": np.linspace(0, 1, 6), "s": np.array(list("abcdef")),
                   "t": DAYS[:6], "y": np.array(list(b"abcdef"), "S1")})
    right = struct({"k": np.arange(4), "w": np.arange(4.0), "s": np.array(list("abcd")),
                    "n": np.arange(4), "y": np.array(list("abcd")), "z": np.array(list(b"abcd"), "S1")})
    return rd.from_numpy(left, npartitions=2), rd.from_numpy(right, npartitions=2)


@pytest.mark.parametrize("kw", [{"on": "nope"}, {"on": ["k", "nope"]}, {"left_on": "nope", "right_on": "k"},
                                {"left_on": "k", "right_on": "nope"}, {"left_on": "w", "right_on": "w"},
                                {"left_on": ["k", "v"], "right_on": ["k", "v"]}],
                         ids=["on", "on-list", "left_on", "right_on", "left-lacks", "right-lacks"])
def test_unknown_field_raises_key_error(kw):
    x, y = error_sides()
    with pytest.raises(KeyError):
        rd.merge(x, y, **kw).compute()


@pytest.mark.parametrize("how", ["sideways", "full", "cross", "INNER", ""])
def test_bad_how_raises_value_error(how):
    x, y = error_sides()
    with pytest.raises(ValueError):
        rd.merge(x, y, on="k", how=how).compute()


@pytest.mark.parametrize("kw", [{"on": "k", "left_on": "k"}, {"on": "k", "right_on": "k"},
                                {"on": "k", "left_on": "k", "right_on": "k"},
                                {"left_on": ["k", "s"], "right_on": ["k"]}, {"left_on": "k", "right_on": ["k", "s"]},
                                {"left_on": "k"}, {"right_on": "k"}],
                         ids=["on+left_on", "on+right_on", "on+both", "2-vs-1", "1-vs-2", "left_on-only",
                              "right_on-only"])
def test_conflicting_key_arguments_raise_value_error(kw):
    x, y = error_sides()
    with pytest.raises(ValueError):
        rd.merge(x, y, **kw).compute()


def test_no_common_fields_raises_value_error():
    a = struct({"a": np.arange(3), "b": np.arange(3.0)})
    b = struct({"c": np.arange(3), "d": np.arange(3.0)})
    for how in HOWS:
        with pytest.raises(ValueError):
            rd.merge(rd.from_numpy(a), rd.from_numpy(b), how=how).compute()


def test_suffixes_that_repeat_a_name_raise_value_error():
    x, y = error_sides()
    with pytest.raises(ValueError):
        rd.merge(x, y, on="k", suffixes=("", "")).compute()
    a = struct({"k": np.arange(3), "v": np.arange(3.0), "v_x": np.arange(3)})
    b = struct({"k": np.arange(3), "v": np.arange(3.0)})
    with pytest.raises(ValueError):  # v -> v_x, which left already has (pandas raises MergeError)
        rd.merge(rd.from_numpy(a), rd.from_numpy(b), on="k").compute()


@pytest.mark.parametrize("which", ["left", "right", "both"])
def test_non_structured_input_raises(which):
    x, y = error_sides()
    plain = rd.from_numpy(np.arange(6), npartitions=2)
    pair = {"left": (plain, y), "right": (x, plain), "both": (plain, plain)}[which]
    with pytest.raises((TypeError, ValueError)):
        rd.merge(*pair, on="k").compute()


INCOMPARABLE = {
    "str-int": {"left_on": "s", "right_on": "n"},
    "str-float": {"left_on": "s", "right_on": "w"},
    "bytes-str": {"on": "y"},
    "str-bytes": {"left_on": "s", "right_on": "z"},
    "datetime-int": {"left_on": "t", "right_on": "n"},
    "datetime-float": {"left_on": "t", "right_on": "w"},
    "multi-bytes-str": {"on": ["k", "y"]},
    "multi-datetime-int": {"left_on": ["k", "t"], "right_on": ["k", "n"]},
}


@pytest.mark.parametrize("case", list(INCOMPARABLE))
@pytest.mark.parametrize("how", HOWS)
def test_incomparable_key_dtypes_raise_type_error(case, how):
    x, y = error_sides()
    with pytest.raises(TypeError):
        rd.merge(x, y, how=how, **INCOMPARABLE[case]).compute()


@pytest.mark.parametrize("how", HOWS)
def test_error_sides_merge_on_comparable_keys(how):
    """The control of the cases above: the same sides on str keys, and on int with float."""
    x, y = error_sides()
    left, right = x.compute(), y.compute()
    check(left, right, x, y, how, on="s")
    check(left, right, x, y, how, left_on="k", right_on="w")


# -- properties ---------------------------------------------------------------------------------
@settings(max_examples=60)
@given(data=st.data())
def test_property_random_keys_and_layouts(data):
    nl, nr = data.draw(st.integers(0, 25), label="left rows"), data.draw(st.integers(0, 25), label="right rows")
    float_keys = data.draw(st.booleans(), label="float keys")
    elements = st.sampled_from([np.nan, -1.0, 0.0, -0.0, 2.5]) if float_keys else st.integers(-2, 3)
    dtype = np.float64 if float_keys else np.int64
    lk = np.array(data.draw(st.lists(elements, min_size=nl, max_size=nl)), dtype)
    rk = np.array(data.draw(st.lists(elements, min_size=nr, max_size=nr)), dtype)
    left, right = keyed(lk, 40, "left"), keyed(rk, 41, "right")
    how = data.draw(st.sampled_from(HOWS), label="how")
    shuffled = data.draw(st.booleans(), label="shuffle plan")
    x, y = partitioned(left, data.draw(layouts(nl))), partitioned(right, data.draw(layouts(nr)))
    with broadcasting(not shuffled):
        check(left, right, x, y, how, on="k")


@settings(max_examples=40)
@given(data=st.data())
def test_property_two_field_keys_of_other_names(data):
    nl, nr = data.draw(st.integers(0, 20), label="left rows"), data.draw(st.integers(0, 20), label="right rows")
    pairs = st.tuples(st.integers(0, 2), st.booleans())
    lkeys = data.draw(st.lists(pairs, min_size=nl, max_size=nl))
    rkeys = data.draw(st.lists(pairs, min_size=nr, max_size=nr))
    rng = np.random.default_rng(42)
    left = struct({"a": np.array([p[0] for p in lkeys], np.int32), "v": rng.integers(0, 9, nl),
                   "b": np.array([p[1] for p in lkeys], bool), "s": rng.choice(np.array(["", "é"]), nl)})
    right = struct({"v": rng.normal(size=nr), "c": np.array([p[0] for p in rkeys], np.int64),
                    "d": np.array([p[1] for p in rkeys], bool), "b": rng.integers(0, 9, nr).astype(np.uint8)})
    how = data.draw(st.sampled_from(HOWS), label="how")
    shuffled = data.draw(st.booleans(), label="shuffle plan")
    x, y = partitioned(left, data.draw(layouts(nl))), partitioned(right, data.draw(layouts(nr)))
    with broadcasting(not shuffled):
        check(left, right, x, y, how, left_on=["a", "b"], right_on=["c", "d"])
