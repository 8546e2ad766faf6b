"""Adaptive joins: a merge side whose size is unknown when the merge is planned (after a filter or a
groupby) is measured once its stage has run, and broadcast when it is at most
``rd.config.broadcast_bytes`` (both sides shuffled otherwise). ``explain()`` shows the decision
point before a run and the strategy chosen, with the measured size, after it.

Every result is compared with pandas: the groupby that makes the small side is pandas' too, on an
integer field, so its sums are exact and the filter keeps the same groups. The oracle and the
comparison of merge results (row order free, the contract's dtypes) are test_merge's.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_merge import assert_merge, oracle

import rdarray as rd
from _helpers import partitioned, struct

JOINS = ("inner", "left", "right", "outer")


# -- data ---------------------------------------------------------------------------------------
def big_table(n: int = 6000, keys: int = 400, seed: int = 0) -> np.ndarray:
    """The fact table: key "k" (some keys missing), an int "w", a float "v" with NaN, a date."""
    rng = np.random.default_rng(seed)
    v = rng.normal(0, 10, n)
    v[rng.random(n) < 0.05] = np.nan
    return struct({"k": rng.integers(0, keys, n), "w": rng.integers(-50, 100, n).astype(np.int32), "v": v,
                   "t": np.datetime64("2024-01-01", "s") + rng.integers(0, 10**7, n).astype("m8[s]")})


def grouped(a: np.ndarray, above: int) -> np.ndarray:
    """pandas: per key of ``a``, the sum and count of "w", for the keys whose sum is above ``above``."""
    df = pd.DataFrame({"k": a["k"], "w": a["w"]})
    g = df.groupby("k", as_index=False).agg(total=("w", "sum"), n=("w", "count"))
    g = g[g["total"] > above]
    return struct({"k": g["k"].to_numpy(np.int64), "total": g["total"].to_numpy(np.int64),
                   "n": g["n"].to_numpy(np.int64)})


def small_side(x, above: int):
    """The same in rdarray: a side whose size is unknown until computed."""
    g = x.groupby("k").agg(total=("w", "sum"), n=("w", "count"))
    return g[g["total"] > above]


def measured(text: str) -> dict[str, int]:
    """The rows each measured side had, from ``explain()`` after a run."""
    found = re.search(r"\(measured ([^)]*)\)", text)
    assert found, text
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(left|right) (\d+) rows", found.group(1))}


@pytest.fixture
def threshold(monkeypatch):
    """``rd.config.broadcast_bytes`` set to ``bytes`` for the test."""
    def set_to(nbytes: int) -> None:
        monkeypatch.setattr(rd.config, "broadcast_bytes", nbytes)
    return set_to


# -- a small side made by groupby + filter is broadcast -----------------------------------------
@pytest.mark.parametrize("how", JOINS)
def test_small_groupby_side_is_broadcast(ctx, how, threshold):
    a = big_table()
    threshold(a.nbytes // 2)  # the fact table is too large to broadcast, the small side is not
    x = rd.from_numpy(a, npartitions=4)
    small, expected_small = small_side(x, 650), grouped(a, 650)
    assert 0 < len(expected_small) < 100
    # the small side goes where it may be broadcast: right of inner and left joins, left of right joins
    left, right, lrows, rrows = (small, x, expected_small, a) if how == "right" else (x, small, a, expected_small)
    got = rd.merge(left, right, on="k", how=how)
    before = got.explain()
    if how == "outer":  # no side of an outer join is broadcast: nothing to decide
        assert "Decision" not in before and "shuffle" in before, before
    else:
        side = "left" if how == "right" else "right"
        assert f"Decision: merge({how}, adaptive)" in before and f"measures {side} (" in before, before
        assert "planned once it is made" in before, before
    assert_merge(got, oracle(lrows, rrows, how, on="k"))
    after = got.explain()
    assert "Decision" not in after, after
    if how == "outer":
        assert "measured" not in after and "shuffle:" in after, after
    else:
        assert f"broadcast {side} (measured {side} {len(expected_small)} rows, " in after, after
        assert "partition_by" not in after, after  # the fact table does not move
        assert measured(after) == {side: len(expected_small)}
    assert len(got) == len(oracle(lrows, rrows, how, on="k"))


@pytest.mark.parametrize("how", ["inner", "left", "semi", "anti"])
def test_small_side_broadcast_for_every_kind_of_join(how, threshold):
    """Semi and anti joins too: they keep left's dtype and rows."""
    a = big_table(seed=1)
    threshold(a.nbytes // 2)
    x = rd.from_numpy(a, npartitions=3)
    got = rd.merge(x, small_side(x, 650), on="k", how=how)
    assert_merge(got, oracle(a, grouped(a, 650), how, on="k"))
    assert "broadcast right (measured right" in got.explain()


# -- a large side of unknown size is shuffled ---------------------------------------------------
@pytest.mark.parametrize("how", JOINS)
def test_large_unknown_side_is_shuffled(ctx, how, threshold):
    a, b = big_table(seed=2), big_table(3000, seed=3)
    threshold(1000)  # every side is larger
    x = rd.from_numpy(a, npartitions=3)
    y = rd.from_numpy(b, npartitions=4).filter(lambda blk: blk["w"] > -40)  # most rows: size unknown
    kept = b[b["w"] > -40]
    left, right, lrows, rrows = (y, x, kept, a) if how == "right" else (x, y, a, kept)
    got = rd.merge(left, right, on="k", how=how)
    assert ("Decision" in got.explain()) == (how != "outer")
    assert_merge(got, oracle(lrows, rrows, how, on="k"))
    after = got.explain()
    assert "shuffle:" in after and "broadcast" not in after, after
    if how != "outer":
        side = "left" if how == "right" else "right"
        assert f"shuffle left and right (measured {side} {len(kept)} rows, " in after, after


# -- both sides unknown -------------------------------------------------------------------------
@pytest.mark.parametrize("fits", ["both", "left", "right", "neither"])
def test_both_sides_unknown(ctx, fits, threshold):
    """An inner join may broadcast either side: both are measured, and the smaller that fits is
    broadcast."""
    a = big_table(seed=4)
    x = rd.from_numpy(a, npartitions=4)
    few = x[x["w"] > 95]  # about 3% of the rows
    many = x[x["w"] > 0]  # about two thirds
    few_rows, many_rows = a[a["w"] > 95], a[a["w"] > 0]
    sizes = {"few": few_rows.nbytes, "many": many_rows.nbytes}
    left, right, lrows, rrows = (few, many, few_rows, many_rows) if fits == "left" else (many, few, many_rows, few_rows)
    threshold({"both": sizes["many"] + 1, "left": sizes["few"] + 1, "right": sizes["few"] + 1,
               "neither": sizes["few"] - 1}[fits])
    got = rd.merge(left, right, on="k", how="inner")
    before = got.explain()
    assert "measures right (" in before and ", left (" in before and "the smaller of left and right" in before
    assert_merge(got, oracle(lrows, rrows, "inner", on="k"))
    after = got.explain()
    chosen = {"both": "right", "left": "left", "right": "right", "neither": None}[fits]
    if chosen is None:
        assert "shuffle left and right (measured" in after, after
    else:
        assert f"broadcast {chosen} (measured" in after, after
    assert measured(after) == {"left": len(lrows), "right": len(rrows)}


# -- empty sides, empty partitions ----------------------------------------------------------------
@pytest.mark.parametrize("how", JOINS)
def test_empty_unknown_side(ctx, how, threshold):
    """A filter that keeps nothing: the side measures 0 rows and 0 bytes, and is broadcast."""
    a = big_table(seed=5)
    threshold(1000)
    x = rd.from_numpy(a, npartitions=3)
    none = small_side(x, 10**9)  # no group sums that much
    assert len(grouped(a, 10**9)) == 0
    left, right, lrows, rrows = (none, x, grouped(a, 10**9), a) if how == "right" else (x, none, a, grouped(a, 10**9))
    got = rd.merge(left, right, on="k", how=how)
    assert_merge(got, oracle(lrows, rrows, how, on="k"))
    if how != "outer":
        side = "left" if how == "right" else "right"
        assert f"broadcast {side} (measured {side} 0 rows, 0 B)" in got.explain(), got.explain()


@pytest.mark.parametrize("how", JOINS)
def test_unknown_sides_with_empty_and_one_row_partitions(ctx, how, threshold):
    """Sides cut into empty, one-row and uneven partitions, filtered (so of unknown size), with
    NaN keys on both sides (they match each other, as in pandas) and duplicate keys."""
    rng = np.random.default_rng(6)
    k1 = rng.integers(0, 20, 40).astype(float)
    k1[[3, 17]] = np.nan
    k2 = rng.integers(10, 30, 25).astype(float)
    k2[[0, 9]] = np.nan
    l_rows = struct({"k": k1, "a": rng.integers(0, 5, 40)})
    r_rows = struct({"k": k2, "b": rng.normal(size=25)})
    threshold(10**6)
    x = partitioned(l_rows, [0, 1, 20, 0, 19]).filter(lambda blk: blk["a"] > 0)
    y = partitioned(r_rows, [1, 0, 0, 24, 0, 0, 0]).filter(lambda blk: ~(blk["b"] > 1.5))
    got = rd.merge(x, y, on="k", how=how)
    assert_merge(got, oracle(l_rows[l_rows["a"] > 0], r_rows[~(r_rows["b"] > 1.5)], how, on="k"),
                 check_partitions=True)


# -- what is decided at once -------------------------------------------------------------------------
def test_zero_threshold_never_broadcasts(ctx, threshold):
    threshold(0)
    a = big_table(seed=7)
    x = rd.from_numpy(a, npartitions=3)
    got = rd.merge(x, small_side(x, 650), on="k")
    assert "Decision" not in got.explain()
    assert_merge(got, oracle(a, grouped(a, 650), "inner", on="k"))
    after = got.explain()
    assert "shuffle left and right" in after and "measured" not in after and "broadcast" not in after


def test_known_small_side_is_broadcast_at_once(threshold):
    a = big_table(seed=8)
    threshold(a.nbytes // 2)
    small = grouped(a, 650)
    x = rd.from_numpy(a, npartitions=3)
    got = rd.merge(x, rd.from_numpy(small, npartitions=2), on="k")
    before = got.explain()
    assert "Decision" not in before and "merge(inner, broadcast right)" in before, before
    assert_merge(got, oracle(a, small, "inner", on="k"))


@pytest.mark.parametrize("unknown_side", ["left", "right"])
def test_inner_join_of_a_small_known_side_and_a_smaller_unknown_one(ctx, unknown_side):
    """Both sides of an inner join may be broadcast, and the fact table fits under the threshold
    (the default): the groupby side, of unknown size, is measured, and the smaller is broadcast
    (the fact table used to be, as the only side of known size)."""
    a = big_table(seed=15)
    assert a.nbytes <= rd.config.broadcast_bytes
    x = rd.from_numpy(a, npartitions=3)
    small, expected_small = small_side(x, 650), grouped(a, 650)
    pair = (x, small, a, expected_small) if unknown_side == "right" else (small, x, expected_small, a)
    got = rd.merge(pair[0], pair[1], on="k")
    assert f"measures {unknown_side} (" in got.explain()
    assert_merge(got, oracle(pair[2], pair[3], "inner", on="k"))
    assert f"broadcast {unknown_side} (measured {unknown_side} {len(expected_small)} rows" in got.explain()
    # an unknown side that measures larger than the known one: the known one is broadcast
    few = rd.from_numpy(expected_small, npartitions=2)
    many = x[x["w"] > -40]
    got = rd.merge(many, few, on="k") if unknown_side == "left" else rd.merge(few, many, on="k")
    known_side = "right" if unknown_side == "left" else "left"
    assert f"else broadcast {known_side}" in got.explain()
    rows = a[a["w"] > -40]
    expected = oracle(rows, expected_small, "inner", on="k") if unknown_side == "left" \
        else oracle(expected_small, rows, "inner", on="k")
    assert_merge(got, expected)
    assert f"broadcast {known_side} (measured {unknown_side} {len(rows)} rows" in got.explain()


def test_known_large_side_against_an_unknown_one(threshold):
    """Left of a left join is never broadcast: nothing to decide when right's size is known."""
    a = big_table(seed=9)
    threshold(1000)
    x = rd.from_numpy(a, npartitions=3)
    small = x[x["w"] > 95]
    got = rd.merge(small, x, on="k", how="left")
    assert "Decision" not in got.explain() and "shuffle" in got.explain()
    assert_merge(got, oracle(a[a["w"] > 95], a, "left", on="k"))


# -- in larger plans --------------------------------------------------------------------------
def test_decisions_in_order(ctx, threshold):
    """A join whose unknown side is itself an adaptive join: the inner decision is made first, then
    the outer one, in one compute; a side computed for a decision is not computed again."""
    a, b = big_table(seed=10), big_table(2000, keys=300, seed=11)
    threshold(a.nbytes // 4)
    x, y = rd.from_numpy(a, npartitions=4), rd.from_numpy(b, npartitions=2)
    inner = rd.merge(y[y["w"] > 90], small_side(x, 650), on="k")  # both unknown
    outer = rd.merge(x, inner, on="k", how="left")
    inner_rows = oracle(b[b["w"] > 90], grouped(a, 650), "inner", on="k")
    before = outer.explain()
    assert before.count("Decision:") == 1 and "merge(inner, adaptive)" in before, before
    assert_merge(outer, oracle(a, inner_rows, "left", on="k"))
    after = outer.explain()
    assert "merge(left, broadcast right (measured right " in after, after
    assert "merge(inner, broadcast" in inner.explain()


@pytest.mark.parametrize("ctx", [{"backend": "threads", "workers": 2}, {"backend": "sync"}],
                         ids=["threads", "sync"], indirect=True)
def test_a_table_both_grouped_and_joined_is_computed_once(ctx, threshold):
    """The small side is a groupby of the table it is joined with: the table, computed by the plan
    that measures the small side, is kept for the join, not computed again (as one plan would)."""
    a = big_table(seed=18)
    threshold(a.nbytes // 2)
    calls = []

    def counted(block):
        calls.append(len(block))
        return block

    x = rd.from_numpy(a, npartitions=4).map_partitions(counted)
    got = rd.merge(x, small_side(x, 650), on="k", how="left")
    calls.clear()
    assert_merge(got, oracle(a, grouped(a, 650), "left", on="k"))
    assert len(calls) == 4 and sum(calls) == len(a), calls
    assert "broadcast right (measured" in got.explain()


def test_the_measured_side_asked_for_too(ctx, threshold):
    """``rd.compute`` of the small side and of the join in one plan."""
    a = big_table(seed=12)
    threshold(a.nbytes // 2)
    x = rd.from_numpy(a, npartitions=3)
    small = small_side(x, 650)
    joined = rd.merge(x, small, on="k")
    got_small, got_joined = rd.compute(small, joined)
    expected_small = grouped(a, 650)
    np.testing.assert_array_equal(np.sort(got_small, order="k"), expected_small)
    expected = oracle(a, expected_small, "inner", on="k")
    assert got_joined.shape == expected.shape
    assert small.partition_lengths is not None and sum(small.partition_lengths) == len(expected_small)
    assert "broadcast right (measured right" in joined.explain()
    assert_merge(joined, expected)  # computed again: the decision holds


def test_progress_counts_the_stages_planned_after_the_decision(threshold):
    import io

    pytest.importorskip("tqdm")
    a = big_table(seed=16)
    threshold(a.nbytes // 2)
    x = rd.from_numpy(a, npartitions=3)
    got = rd.merge(x, small_side(x, 650), on="k")
    out = io.StringIO()
    with rd.progress(file=out, delay=0):
        n = got.count()
    assert n == len(oracle(a, grouped(a, 650), "inner", on="k"))
    bar = [part for part in re.split(r"[\r\n]", out.getvalue()) if part.strip()][-1]
    stages, done, total = re.search(r"stage (\d+)/(\d+).*?(\d+)/(\d+) ", bar).group(1, 3, 4)
    assert done == total, bar


def test_head_len_and_threads_asking_at_once(threshold):
    """``len`` and ``head`` decide as ``compute`` does; two threads computing one undecided join
    decide it once."""
    import concurrent.futures
    import contextvars

    a = big_table(seed=17)
    threshold(a.nbytes // 2)
    x = rd.from_numpy(a, npartitions=3)
    expected = oracle(a, grouped(a, 650), "left", on="k")
    got = rd.merge(x, small_side(x, 650), on="k", how="left")
    assert len(got) == len(expected)
    assert "broadcast right (measured" in got.explain()
    first = rd.merge(x, small_side(x, 650), on="k", how="left").head(7)
    assert len(first) == 7 and set(first["k"]) <= set(expected["k"])
    again = rd.merge(x, small_side(x, 650), on="k", how="left")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        runs = [pool.submit(contextvars.copy_context().run, again.compute) for _ in range(4)]
        results = [r.result() for r in runs]
    for r in results:
        assert r.shape == expected.shape
    assert "broadcast right (measured" in again.explain()


def test_under_a_memory_limit(threshold):
    """The measured side waits for the rest of the plan in the block store, under the limit."""
    a = big_table(20000, seed=13)
    threshold(a.nbytes // 2)
    with rd.Context(backend="threads", workers=2, memory_limit="64MB"):
        x = rd.from_numpy(a, npartitions=4)
        got = rd.merge(x, small_side(x, 1800), on="k", how="left")
        assert_merge(got, oracle(a, grouped(a, 1800), "left", on="k"))
        assert "broadcast right (measured right" in got.explain()


def test_persisted_unknown_side(threshold):
    """A persisted side, computed before the join was made, has a known size: broadcast at once;
    one persisted but not yet computed is measured where it is kept."""
    a = big_table(seed=14)
    threshold(a.nbytes // 2)
    x = rd.from_numpy(a, npartitions=3)
    small = small_side(x, 650).persist()
    got = rd.merge(x, small, on="k")
    assert "Decision" in got.explain()
    assert_merge(got, oracle(a, grouped(a, 650), "inner", on="k"))
    assert "broadcast right (measured right" in got.explain()
    again = rd.merge(x, small, on="k", how="left")
    assert "Decision" not in again.explain() and "merge(left, broadcast right)" in again.explain()
    assert_merge(again, oracle(a, grouped(a, 650), "left", on="k"))
    small.unpersist()
