"""merge_asof against ``pandas.merge_asof``, the oracle.

pandas' result is brought to rdarray's missing-value conventions before comparing: right fields
that are integers or bool are float64 (NaN where unmatched), strings and bytes are empty where
unmatched. Every right row carries a distinct ``v``, so the comparison names the row matched.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rdarray as rd
from _helpers import layouts, partitioned
from rdarray.shuffle.exchange import KEEP_PARTITIONS

DIRECTIONS = ("backward", "forward", "nearest")


# -- data and the oracle --------------------------------------------------------------------------
def struct(cols: dict) -> np.ndarray:
    out = np.empty(len(next(iter(cols.values()))), [(name, np.asarray(c).dtype) for name, c in cols.items()])
    for name, c in cols.items():
        out[name] = c
    return out


def frame(a: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({name: a[name] for name in a.dtype.names})


def oracle(left, right, on, by=None, direction="backward", tolerance=None, allow_exact_matches=True,
           dtype=None) -> np.ndarray:
    """``pandas.merge_asof`` as a structured array of ``dtype`` (rdarray's conventions)."""
    if tolerance is not None and left.dtype[on].kind == "M":
        tolerance = pd.Timedelta(tolerance)
    got = pd.merge_asof(frame(left), frame(right), on=on, by=by, direction=direction, tolerance=tolerance,
                        allow_exact_matches=allow_exact_matches)
    assert list(got.columns) == list(dtype.names)
    out = np.empty(len(got), dtype)
    for name in dtype.names:
        column, kind = got[name], dtype[name].kind
        if kind in "SU":
            column = column.fillna(b"" if kind == "S" else "")
        out[name] = np.asarray(column.to_numpy(), dtype=object).astype(dtype[name]) if kind in "fSU" \
            else column.to_numpy(dtype=dtype[name])
    return out


def assert_like_pandas(x, left, right, on, **kw) -> np.ndarray:
    """``x`` computes to pandas' answer, in rdarray's missing-value conventions."""
    got = x.compute()
    expected = oracle(left, right, on, dtype=x.dtype, **kw)
    assert got.dtype == expected.dtype
    for name in got.dtype.names:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name, strict=True)
    return got


def run(left, right, left_lengths, right_lengths, on="t", **kw):
    """merge_asof of the two partitioned sides, checked against pandas and left's partitions."""
    x = rd.merge_asof(partitioned(left, left_lengths), partitioned(right, right_lengths), on, **kw)
    assert x.partition_lengths == tuple(left_lengths) and x.npartitions == len(left_lengths)
    got = assert_like_pandas(x, left, right, on, **kw)
    assert [len(p) for p in x.partitions()] == list(left_lengths)
    return got


KEY_DTYPES = ["int64", "float64", "M8[s]"]


def keys(values, dtype) -> np.ndarray:
    return np.asarray(values).astype(dtype)


def tables(dtype="int64"):
    """Ties on both sides (also across partition boundaries), groups found far away, gaps."""
    lt = [0, 1, 1, 3, 3, 3, 5, 8, 8, 9, 12, 12, 15, 20, 20, 20, 21]
    lk = [0, 1, 0, 1, 0, 2, 1, 0, 3, 1, 2, 0, 1, 4, 0, 3, 2]
    rt = [1, 1, 1, 2, 3, 3, 6, 8, 8, 8, 11, 12, 12, 17, 20, 25, 30]
    rk = [3, 0, 0, 1, 0, 0, 1, 0, 1, 0, 2, 0, 0, 1, 0, 4, 2]
    left = struct({"t": keys(lt, dtype), "k": np.array(lk, "i4"), "w": np.arange(len(lt), dtype=np.float64)})
    right = struct({"t": keys(rt, dtype), "k": np.array(rk, "i4"), "v": np.arange(100, 100 + len(rt))})
    return left, right


def tolerance_for(dtype, amount: int):
    return np.timedelta64(amount, "s") if np.dtype(dtype).kind == "M" else np.dtype(dtype).type(amount)


# -- every direction, tolerance, by and exactness -------------------------------------------------
@pytest.mark.parametrize("dtype", KEY_DTYPES)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("tolerance", [None, 2])
@pytest.mark.parametrize("by", [None, "k"])
@pytest.mark.parametrize("exact", [True, False])
def test_grid(dtype, direction, tolerance, by, exact):
    left, right = tables(dtype)
    tol = None if tolerance is None else tolerance_for(dtype, tolerance)
    run(left, right, [3, 0, 4, 2, 5, 3], [2, 5, 0, 6, 4], by=by, direction=direction, tolerance=tol,
        allow_exact_matches=exact)


@pytest.mark.parametrize("ctx", [{"backend": "sync"}, {"backend": "threads", "workers": 2}],
                         ids=["sync", "threads"], indirect=True)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_backends(ctx, direction):
    left, right = tables()
    run(left, right, [6, 6, 5], [1, 8, 8], by="k", direction=direction)


@st.composite
def cases(draw):
    """Small sorted sides with many ties, random layouts, and random options."""
    def side(n_max):
        n = draw(st.integers(0, n_max))
        t = np.sort(np.array(draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)), dtype=np.int64))
        k = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
        return t, k

    lt, lk = side(25)
    rt, rk = side(25)
    left = struct({"t": lt, "k": lk})
    right = struct({"t": rt, "k": rk, "v": np.arange(len(rt)), "f": rt * 0.5})
    options = {"by": draw(st.sampled_from([None, "k"])), "direction": draw(st.sampled_from(DIRECTIONS)),
               "tolerance": draw(st.sampled_from([None, 0, 1, 3])), "allow_exact_matches": draw(st.booleans())}
    return left, right, draw(layouts(len(lt))), draw(layouts(len(rt))), options


@given(cases())
def test_against_pandas(case):
    left, right, left_lengths, right_lengths, options = case
    run(left, right, left_lengths, right_lengths, **options)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_larger_random(direction):
    rng = np.random.default_rng(7)
    left = struct({"t": np.sort(rng.normal(0, 100, 3000)), "k": rng.integers(0, 40, 3000).astype(np.int16)})
    right = struct({"t": np.sort(np.round(rng.normal(0, 100, 4000), 1)),
                    "k": rng.integers(0, 40, 4000).astype(np.int16), "v": np.arange(4000)})
    run(left, right, [400] * 7 + [200], [500] * 8, by="k", direction=direction, tolerance=3.0)


# -- partition boundaries --------------------------------------------------------------------------
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_group_only_at_the_far_ends_of_right(direction):
    """Group 7 is only the first row of right, group 9 only its last: left rows of those groups in
    every partition still find them."""
    n = 60
    right = struct({"t": np.arange(n) * 10, "k": np.r_[7, np.zeros(n - 2, int), 9], "v": np.arange(n)})
    left = struct({"t": np.arange(0, n * 10, 7), "k": np.tile([7, 9, 0], 30)[: len(range(0, n * 10, 7))]})
    got = run(left, right, [20, 0, 20, 20, 26], [6] * 10, by="k", direction=direction)
    ks, vs = got["k"], got["v"]
    if direction == "backward":
        assert (vs[ks == 7] == 0).all()
    if direction == "forward":
        assert (vs[(ks == 9) & (got["t"] <= right["t"][-1])] == n - 1).all()


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("by", [None, "k"])
def test_ties_spanning_partitions(direction, exact, by):
    """One key value fills several partitions of both sides (and ends and starts others)."""
    left = struct({"t": np.r_[1, 2, 5, 5, 5, 5, 5, 5, 5, 5, 6, 9], "k": np.tile([0, 1, 2], 4)})
    right = struct({"t": np.r_[0, 5, 5, 5, 5, 5, 5, 5, 5, 7, 9, 9], "k": np.r_[1, 0, 1, 2, 0, 0, 1, 1, 2, 0, 2, 1],
                    "v": np.arange(12)})
    for left_lengths, right_lengths in [([3, 2, 2, 3, 2], [2, 2, 2, 2, 2, 2]), ([2, 1, 1, 1, 1, 1, 1, 4], [12]),
                                        ([12], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])]:
        run(left, right, left_lengths, right_lengths, by=by, direction=direction, allow_exact_matches=exact)


def test_matches_in_gaps_between_left_partitions():
    """Right rows between two left partitions' ranges (never shuffled) are matched through the
    carries from both sides."""
    left = struct({"t": np.r_[0, 1, 2, 50, 51, 52, 100, 101]})
    right = struct({"t": np.r_[10, 20, 30, 60, 70, 99], "v": np.arange(6)})
    for direction in DIRECTIONS:
        got = run(left, right, [3, 3, 2], [2, 2, 2], direction=direction)
        assert not np.isnan(got["v"][3:6]).any()


# -- empty inputs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_empty_sides_and_partitions(direction):
    left, right = tables()
    run(left[:0], right, [0, 0], [5, 0, 12], by="k", direction=direction)
    run(left, right[:0], [0, 10, 0, 7], [0], by="k", direction=direction)
    run(left, right[:0], [17], [0, 0, 0], direction=direction)
    run(left[:0], right[:0], [0], [0], direction=direction)
    run(left, right, [0, 0, 17, 0], [0, 17, 0], direction=direction)


# -- a small table in very many partitions ----------------------------------------------------------
def sparse_lengths(rows: int, parts: int, seed: int) -> list:
    """``rows`` cut at random into ``parts`` partitions, most of them empty."""
    cuts = np.sort(np.random.default_rng(seed).integers(0, rows + 1, parts - 1))
    return np.diff(np.concatenate([[0], cuts, [rows]])).tolist()


def many(rows: int, seed: int, groups: int = 5, payload: str = "v"):
    rng = np.random.default_rng(seed)
    return struct({"t": np.sort(rng.integers(0, 3 * rows, rows)), "k": rng.integers(0, groups, rows).astype("i4"),
                   payload: rng.permutation(rows) + 0.5})


def join_tasks(x) -> list:
    """The task count of each stage of ``x``'s plan but its last (the cut back into left's
    partitions, one task a partition)."""
    counts = [int(n) for n in re.findall(r"^Stage \d+: (\d+) task", x.explain(), re.M)]
    return counts[:-1]


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("by", [None, "k"])
def test_a_small_table_in_thousands_of_mostly_empty_partitions(direction, by):
    """1,000 rows in 2,000 partitions against 800 in 1,500: the join runs in as many partitions as
    the data calls for (not 2,000 x 1,500 buckets), and the result has left's 2,000 partitions."""
    left, right = many(1_000, 1, payload="w"), many(800, 2)
    left_lengths, right_lengths = sparse_lengths(1_000, 2_000, 3), sparse_lengths(800, 1_500, 4)
    x = rd.merge_asof(partitioned(left, left_lengths), partitioned(right, right_lengths), "t", by=by,
                      direction=direction, tolerance=40)
    assert x.npartitions == 2_000 and x.partition_lengths == tuple(left_lengths)
    assert max(join_tasks(x)) <= KEEP_PARTITIONS, x.explain()
    assert_like_pandas(x, left, right, "t", by=by, direction=direction, tolerance=40)
    assert [len(p) for p in x.partitions()] == left_lengths


def test_many_partitions_on_every_backend(ctx):
    left, right = many(300, 5, groups=3, payload="w"), many(200, 6, groups=3)
    left_lengths, right_lengths = sparse_lengths(300, 200, 7), sparse_lengths(200, 150, 8)
    got = run(left, right, left_lengths, right_lengths, by="k", direction="nearest")
    assert len(got) == 300


def test_lengths_unknown_in_very_many_partitions_are_learned_and_kept():
    """Left filtered (lengths unknown) in more partitions than are joined as they are: its lengths
    are computed, the join coalesced, and the result cut back into them, aligned with left."""
    left, right = many(2_000, 9, payload="w"), many(1_000, 10)
    whole = rd.from_numpy(left, npartitions=1_500)
    kept = whole[whole["w"] > 500]
    assert kept.partition_lengths is None
    x = rd.merge_asof(kept, rd.from_numpy(right, npartitions=1_200), "t", by="k")
    assert x.npartitions == 1_500 and x.partition_lengths == kept.partition_lengths
    assert max(join_tasks(x)) <= KEEP_PARTITIONS
    assert_like_pandas(x, left[left["w"] > 500], right, "t", by="k")
    np.testing.assert_array_equal((x["w"] - kept["w"]).compute(), np.zeros(len(kept)))  # aligned: one-to-one


# -- key dtypes and tolerance units -----------------------------------------------------------------
def test_datetime_keys_and_tolerances():
    t = np.datetime64("2024-01-01T00:00:00", "ms")
    left = struct({"t": t + np.array([0, 400, 1500, 3000, 3001, 9000], "m8[ms]")})
    right = struct({"t": t + np.array([0, 1000, 1000, 2999, 5000], "m8[ms]"), "v": np.arange(5)})
    for tol in [np.timedelta64(1, "s"), np.timedelta64(1500, "us"), pd.Timedelta(milliseconds=1),
                np.timedelta64(0, "ms")]:
        for direction in DIRECTIONS:
            x = rd.merge_asof(partitioned(left, [2, 2, 2]), partitioned(right, [3, 2]), "t", direction=direction,
                           tolerance=tol)
            assert_like_pandas(x, left, right, "t", direction=direction, tolerance=pd.Timedelta(tol))


def test_timedelta_and_unsigned_keys():
    left = struct({"t": np.array([1, 5, 9], "m8[s]")})
    right = struct({"t": np.array([2, 4, 8], "m8[s]"), "v": np.arange(3)})
    x = rd.merge_asof(partitioned(left, [1, 2]), partitioned(right, [2, 1]), "t", direction="nearest")
    assert x.compute()["v"].tolist() == [0.0, 1.0, 2.0]
    big = np.uint64(2**64 - 10)
    left = struct({"t": np.array([0, 5, big], np.uint64)})
    right = struct({"t": np.array([3, big - np.uint64(4)], np.uint64), "v": np.arange(2)})
    x = rd.merge_asof(partitioned(left, [2, 1]), partitioned(right, [1, 1]), "t", tolerance=2**63)
    assert np.array_equal(x.compute()["v"], [np.nan, 0.0, 1.0], equal_nan=True)
    left = struct({"t": np.array([-2**63, 2**63 - 1], np.int64)})
    right = struct({"t": np.array([-2**63], np.int64), "v": [1]})
    for tolerance, far in [(2**64 - 1, 1.0), (2**64 - 2, np.nan)]:  # the gap 2**64 - 1, exactly
        x = rd.merge_asof(partitioned(left, [1, 1]), partitioned(right, [1]), "t", tolerance=tolerance)
        assert np.array_equal(x.compute()["v"], [1.0, far], equal_nan=True)


def test_missing_value_conventions():
    """Unmatched right fields: ints and bools float64 NaN, floats NaN (float32 stays), datetimes
    NaT, strings and bytes empty; matched ones keep their values."""
    left = struct({"t": np.array([0, 5]), "s": np.array(["l0", "l1"])})
    right = struct({"t": np.array([3]), "i": np.array([7], np.int8), "u": np.array([9], np.uint64),
                    "b": np.array([True]), "f": np.array([1.5], np.float32), "d": np.array(["2024-01-02"], "M8[D]"),
                    "s": np.array(["héllo"]), "y": np.array([b"xy"])})
    x = rd.merge_asof(partitioned(left, [1, 1]), partitioned(right, [1]), "t")
    assert x.dtype == np.dtype([("t", "i8"), ("s_x", "U2"), ("i", "f8"), ("u", "f8"), ("b", "f8"), ("f", "f4"),
                                ("d", "M8[D]"), ("s_y", "U5"), ("y", "S2")])
    got = x.compute()
    assert np.isnan(got[0]["i"]) and np.isnan(got[0]["u"]) and np.isnan(got[0]["b"]) and np.isnan(got[0]["f"])
    assert np.isnat(got[0]["d"]) and got[0]["s_y"] == "" and got[0]["y"] == b""
    assert got[1].tolist() == (5, "l1", 7.0, 9.0, 1.0, 1.5, np.datetime64("2024-01-02"), "héllo", b"xy")
    assert_like_pandas(x, left, right, "t")


def test_suffixes_and_multiple_by_fields():
    left = struct({"t": np.arange(6), "a": np.array([0, 1] * 3, "i4"), "b": np.array(list("xxyyxy")), "v": np.ones(6)})
    right = struct({"t": np.arange(0, 6, 2), "a": np.array([0, 1, 0], "i4"), "b": np.array(list("xyx")),
                    "v": np.arange(3.0)})
    x = rd.merge_asof(partitioned(left, [3, 3]), partitioned(right, [1, 2]), "t", by=["a", "b"], suffixes=("_l", "_r"))
    assert x.dtype.names == ("t", "a", "b", "v_l", "v_r")
    got = x.compute()
    expected = pd.merge_asof(frame(left), frame(right), on="t", by=["a", "b"], suffixes=("_l", "_r"))
    np.testing.assert_array_equal(got["v_r"], expected["v_r"].to_numpy())
    x = rd.merge_asof(partitioned(left, [6]), partitioned(right, [3]), "t", suffixes=(None, "_r"))
    assert x.dtype.names == ("t", "a", "b", "v", "a_r", "b_r", "v_r")


# -- order, laziness, composition -----------------------------------------------------------------
def test_left_order_and_partitions_kept():
    left, right = tables()
    x = rd.merge_asof(partitioned(left, [5, 5, 7]), partitioned(right, [9, 8]), "t", by="k")
    parts = x.partitions()
    assert [len(p) for p in parts] == [5, 5, 7]
    np.testing.assert_array_equal(np.concatenate(parts)["w"], left["w"])
    y = x["v"] * 2  # composes one-to-one with other operations on the result
    assert y.partition_lengths == (5, 5, 7)
    np.testing.assert_array_equal(y.compute(), x.compute()["v"] * 2)
    head, whole = x.head(7), x.compute()
    assert head.dtype == whole.dtype
    for f in head.dtype.names:
        np.testing.assert_array_equal(head[f], whole[f][:7])


def test_numpy_side():
    """A NumPy structured array is taken as a one-partition (or default-partitioned) side."""
    left, right = tables()
    x = rd.merge_asof(partitioned(left, [8, 9]), right, "t", by="k", direction="nearest")
    assert_like_pandas(x, left, right, "t", by="k", direction="nearest")


def test_keeps_left_partitioner_unless_its_key_is_renamed():
    left, right = tables()
    placed = rd.from_numpy(left, npartitions=3).partition_by("k")
    x = rd.merge_asof(placed, rd.from_numpy(right, npartitions=2), "t", by="k")
    assert x.partitioner == placed.partitioner
    assert rd.merge_asof(placed, rd.from_numpy(right, npartitions=2), "t").partitioner is None  # k becomes k_x


def test_lazy_until_computed():
    left, right = tables()
    bad = right[::-1].copy()
    x = rd.merge_asof(partitioned(left, [17]), partitioned(bad, [17]), "t")  # planned, not computed
    with pytest.raises(ValueError, match="right is not sorted by 't'"):
        x.compute()
    assert "merge_asof" in rd.merge_asof(partitioned(left, [17]), partitioned(right, [17]), "t").explain()


# -- errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("side", ["left", "right"])
def test_unsorted_rejected(side):
    left, right = tables()
    for broken, lengths, _where in [(np.r_[3, 1, 4, 5], [4], "within"), (np.r_[3, 4, 1, 5], [2, 2], "across"),
                                   (np.r_[3, 4, 1, 5], [2, 0, 2], "across an empty partition")]:
        table = struct({"t": broken, "k": np.zeros(4, "i4"), "v": np.arange(4)})
        args = (partitioned(table, lengths), partitioned(right, [17])) if side == "left" else \
            (partitioned(left, [17]), partitioned(table, lengths))
        with pytest.raises(ValueError, match=f"{side} is not sorted by 't'"):
            rd.merge_asof(*args, "t", by="k").compute()
        with pytest.raises(ValueError):  # pandas agrees
            pd.merge_asof(frame(args[0].compute()), frame(args[1].compute()), on="t")


@pytest.mark.parametrize("missing", [np.nan, np.datetime64("NaT")])
def test_missing_keys_rejected(missing):
    t = np.array([1, 2, 3], "M8[s]" if isinstance(missing, np.datetime64) else "f8")
    t[1] = missing
    table = struct({"t": t, "v": np.arange(3)})
    good = struct({"t": np.array([1, 2, 3], t.dtype)})
    with pytest.raises(ValueError, match="missing value in 't'"):
        rd.merge_asof(partitioned(table, [3]), partitioned(table, [3]), "t").compute()
    with pytest.raises(ValueError, match="right has a missing value"):
        rd.merge_asof(partitioned(good, [3]), partitioned(table, [1, 2]), "t").compute()


def test_bad_arguments():
    left, right = tables()
    lx, rx = partitioned(left, [17]), partitioned(right, [17])
    with pytest.raises(ValueError, match="direction"):
        rd.merge_asof(lx, rx, "t", direction="sideways")
    with pytest.raises(ValueError, match="non-negative"):
        rd.merge_asof(lx, rx, "t", tolerance=-1)
    with pytest.raises(ValueError, match="must be an integer"):
        rd.merge_asof(lx, rx, "t", tolerance=1.5)
    with pytest.raises(ValueError, match="timedelta"):
        rd.merge_asof(*(partitioned(a.astype([("t", "M8[s]"), ("k", "i4"), (a.dtype.names[2], a.dtype[2])]), [17])
                     for a in (left, right)), "t", tolerance=3)
    with pytest.raises(ValueError, match="allow_exact_matches"):
        rd.merge_asof(lx, rx, "t", allow_exact_matches=1)
    with pytest.raises(KeyError, match="'nope'"):
        rd.merge_asof(lx, rx, "t", by="nope")
    with pytest.raises(KeyError, match="'v'"):
        rd.merge_asof(lx, rx, "v")
    with pytest.raises(TypeError, match="int64 in left but float64 in right"):
        rd.merge_asof(lx, partitioned(right.astype([("t", "f8"), ("k", "i4"), ("v", "i8")]), [17]), "t")
    with pytest.raises(TypeError, match="by field 'k'"):
        rd.merge_asof(lx, partitioned(right.astype([("t", "i8"), ("k", "i8"), ("v", "i8")]), [17]), "t", by="k")
    with pytest.raises(TypeError, match="structured"):
        rd.merge_asof(rd.arange(3), rx, "t")
    with pytest.raises(ValueError, match="suffixes are empty"):
        rd.merge_asof(lx, rx, "t", suffixes=(None, ""))


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("tolerance", [None, 1.0])
def test_infinite_float_keys(direction, tolerance):
    """inf - inf is NaN: pandas counts it within any tolerance, and nearest then takes forward."""
    left = struct({"t": np.array([-np.inf, -np.inf, 1.0, np.inf, np.inf])})
    right = struct({"t": np.array([-np.inf, -np.inf, 0.5, np.inf, np.inf]), "v": np.arange(5)})
    run(left, right, [2, 3], [1, 3, 1], direction=direction, tolerance=tolerance)


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 2)), max_size=25),
       st.lists(st.tuples(st.integers(0, 9), st.integers(0, 2)), max_size=25), st.booleans(), st.booleans())
def test_asof_kernel_matches_a_scan_of_every_right_row(left, right, exact, forward):
    """The kernel's match is the last (first, forward) right row of the group at or before (after)
    the left key, on sides sorted by key."""
    from rdarray._core.asof import asof_match

    left, right = sorted(left), sorted(right)
    expected = []
    for key, group in left:
        ok = [j for j, (k, g) in enumerate(right)
              if g == group and ((k >= key) if forward else (k <= key)) and (exact or k != key)]
        expected.append((ok[0] if forward else ok[-1]) if ok else -1)
    keys = [np.array([k for k, _ in side], np.int64) for side in (left, right)]
    groups = [np.array([g for _, g in side], np.int64) for side in (left, right)]
    got = asof_match(keys[0], groups[0], keys[1], groups[1], 3, exact, forward)
    assert got.tolist() == expected
