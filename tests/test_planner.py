"""The planner and ``explain()`` (contract 3, 3.2, 3.4): fusion, computing each node once per plan,
stage boundaries at overlapping realignments, persisted arrays, lineage."""
from __future__ import annotations

import re

import numpy as np
import pytest

import rdarray as rd
from _helpers import Counter, assert_close, partitioned, stage_count

A = np.arange(1.0, 25.0)  # 24 rows; every partition starts with a distinct value


def counted(lengths, a=A, learn_lengths=True):
    """``(y, counter)``: ``a`` in partitions of ``lengths`` through a counting map_partitions.

    With ``learn_lengths`` the partition lengths are computed up front (a realignment needs
    them), and the counter is reset afterwards.
    """
    counter = Counter()
    y = partitioned(a, lengths).map_partitions(counter, dtype=a.dtype)
    if learn_lengths:
        assert len(y) == len(a)
        assert y.partition_lengths == tuple(lengths)
        counter.reset()
    return y, counter


def plan_header(text: str) -> tuple[int, int]:
    """``(stages, tasks)`` from the first line of an explain() text."""
    m = re.match(r"Plan: (\d+) stage\(s\), (\d+) task\(s\)", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


# -- fusion ----------------------------------------------------------------------------------------

def test_elementwise_chain_is_one_stage():
    x = partitioned(A, [6, 6, 6, 6])
    z = np.sqrt(x) * 2 + 1
    text = z.explain()
    assert plan_header(text) == (1, 4)
    assert stage_count(text) == 1
    fused = next(line for line in text.splitlines() if "fused:" in line)
    positions = [fused.index(op) for op in ("sqrt", "multiply", "add")]
    assert positions == sorted(positions)
    assert_close(z.compute(), np.sqrt(A) * 2 + 1)


def test_chain_and_reduction_are_one_stage_then_a_merge():
    y, counter = counted([6, 6, 6, 6], learn_lengths=False)
    r = (np.sqrt(y) * 2 + 1).sum()
    text = r.explain()
    assert stage_count(text) == 2  # the fused chain with its partial sums, then one task merging them
    assert "Stage 1: 1 task(s)" in text and "all-to-one" in text
    assert_close(r.compute(), (np.sqrt(A) * 2 + 1).sum(), rtol=1e-12)
    counter.assert_each_once(4)


def test_many_partitions_one_stage():
    a = np.arange(600.0)
    x = partitioned(a, [3] * 200)
    r = (np.sqrt(x) + 1).sum()
    assert plan_header(r.explain()) == (2, 201)
    assert_close(r.compute(), (np.sqrt(a) + 1).sum(), rtol=1e-12)


def test_explain_computes_nothing():
    y, counter = counted([6, 6, 6, 6], learn_lengths=False)
    other, other_counter = counted([8, 8, 8])
    items = [y, y + y * 2, (y * 2).sum(), y.mean(), y.moments()]
    assert counter.total == 0
    items += [y + other, (y + other).var()]  # realigning learns y's partition lengths...
    counter.reset()
    for item in items:  # ...but explaining never computes
        text = item.explain()
        assert text.startswith("Plan:") and "Stage 0" in text
    assert counter.total == 0 and other_counter.total == 0


# -- every node once per plan ------------------------------------------------------------------------

def test_node_reachable_twice_is_computed_once(ctx):
    y, counter = counted([6, 0, 6, 12], learn_lengths=False)
    z = y + y * 2
    assert stage_count(z.explain()) == 1
    assert_close(z.compute(), A + A * 2)
    counter.assert_each_once(3)
    assert_close(z.sum().compute(), (A + A * 2).sum())
    assert set(counter.calls.values()) == {2}  # once per plan: nothing is cached implicitly


def test_compute_several_targets_computes_shared_node_once(ctx):
    y, counter = counted([6, 6, 6, 6], learn_lengths=False)
    plus, times = rd.compute(y + 1, y * 2)
    assert_close(plus, A + 1)
    assert_close(times, A * 2)
    counter.assert_each_once(4)


def test_overlapping_realignment_is_a_separate_stage(ctx):
    y4, c4 = counted([6, 6, 6, 6])
    y3, c3 = counted([8, 8, 8])
    w = y4 + y3  # y3's first partition (rows 0-8) feeds w's partitions 0 and 1
    assert w.lineage.dependency_kinds == ("one-to-one", "range")
    text = w.explain()
    assert plan_header(text) == (2, 7)
    reads = [line for line in text.splitlines() if "reads:" in line]
    assert len(reads) == 1 and "range" in reads[0]
    assert f"{A.nbytes} B" in reads[0]  # the bytes the boundary moves: all of y3
    assert_close(w.compute(), A + A)
    c4.assert_each_once(4)
    c3.assert_each_once(3)  # materialized once, read by two tasks


def test_non_overlapping_realignment_fuses(ctx):
    y2, c2 = counted([12, 12])
    y4, c4 = counted([6, 6, 6, 6])
    w = y2 + y4  # each partition of y4 feeds exactly one partition of w
    assert w.lineage.dependency_kinds == ("one-to-one", "range")
    assert plan_header(w.explain()) == (1, 2)
    assert_close(w.compute(), A + A)
    c2.assert_each_once(2)
    c4.assert_each_once(4)


def test_node_read_by_two_stages_is_computed_once(ctx):
    y4, c4 = counted([6, 6, 6, 6])
    y3, c3 = counted([8, 8, 8])
    both = (y4 + y3) + y3 * 10  # y3 realigned (overlapping) and, through y3 * 10, realigned again
    total, plain = rd.compute(both.sum(), y3 - 1)
    assert_close(total, (A + A + A * 10).sum(), rtol=1e-12)
    assert_close(plain, A - 1)
    c3.assert_each_once(3)
    c4.assert_each_once(4)


# -- persist -----------------------------------------------------------------------------------------

def test_persist_computes_once_across_plans(ctx):
    y, counter = counted([6, 0, 6, 12], learn_lengths=False)
    p = y.persist()
    assert p is y
    before = (p + 1).explain()
    assert "cache" not in before and "persisted" not in before
    assert_close(p.sum().compute(), A.sum())
    counter.assert_each_once(3)
    after = (p + 1).explain()
    assert "cache" in after and "persisted" in after
    assert_close((p + 1).compute(), A + 1)
    assert_close(p.mean().compute(), A.mean(), rtol=1e-12)
    assert_close(p.compute(), A)
    assert_close(rd.compute(p * 2, p.max())[1], A.max())
    counter.assert_each_once(3)
    p.unpersist()
    assert "cache" not in (p + 1).explain()
    assert_close(p.sum().compute(), A.sum())
    assert set(counter.calls.values()) == {2}
    assert_close(p.sum().compute(), A.sum())
    assert set(counter.calls.values()) == {3}


def test_persisted_result_is_not_corrupted_by_callers():
    y, counter = counted([6, 6, 6, 6], learn_lengths=False)
    p = y.persist()
    got = p.compute()
    got[:] = -1  # the caller owns what compute returns
    assert_close(p.compute(), A)
    for block in p.partitions():
        block[:] = -2
    assert_close(p.compute(), A)
    counter.assert_each_once(4)


def test_persist_bad_level():
    x = partitioned(A, [12, 12])
    with pytest.raises(ValueError, match="bogus"):
        x.persist("bogus")


# -- lineage -----------------------------------------------------------------------------------------

def test_lineage_attributes():
    x = partitioned(A, [6, 6, 6, 6])
    assert x.lineage.parents == () and x.lineage.dependency_kinds == ()
    y = x.map_partitions(lambda b: b * 2)
    assert y.lineage.op == "map_partitions"
    assert len(y.lineage.parents) == 1 and y.lineage.parents[0] is x.lineage
    assert y.lineage.dependency_kinds == ("one-to-one",)
    z = y + x
    assert z.lineage.op == "add"
    assert [p is q for p, q in zip(z.lineage.parents, (y.lineage, x.lineage))] == [True, True]
    assert z.lineage.dependency_kinds == ("one-to-one", "one-to-one")
    s = np.sqrt(x)
    assert s.lineage.op == "sqrt" and s.lineage.parents[0] is x.lineage
    other = partitioned(A, [8, 8, 8])
    assert (x * other).lineage.dependency_kinds == ("one-to-one", "range")
    c = rd.concatenate([x, other])
    assert c.lineage.dependency_kinds == ("range", "range")
    assert c.npartitions == 7
    assert_close(c.compute(), np.concatenate([A, A]))
    assert x.lineage is x.lineage


def test_repr_is_one_line_naming_the_last_operation():
    y, counter = counted([6, 6, 6, 6], learn_lengths=False)
    z = np.sqrt(y) + 1
    text = repr(z)
    assert "\n" not in text and "add" in text and "float64" in text
    assert counter.total == 0


def test_partials_of_several_reductions_share_one_stage():
    # the chain they read is fused once into the stage of their partials, not materialized
    from rdarray.session.compute import explain

    a = np.random.default_rng(3).normal(size=40_000)
    x = rd.from_numpy(a, npartitions=4)
    k = x + 1.0
    good = k[np.abs(x) < 2.0]
    items = (good.moments(), good.histogram(bins=8, range=(-1.0, 3.0)), k.argmax(), good.sum())
    text = explain(*items)
    assert "fused: " in text and sum("(partial)" in line and "fused" in line for line in text.splitlines()) == 1
    moments, (counts, _), hot, total = rd.compute(*items)
    ka = a + 1.0
    kept = ka[np.abs(a) < 2.0]
    assert_close(moments["mean"], kept.mean())
    np.testing.assert_array_equal(counts, np.histogram(kept, bins=8, range=(-1.0, 3.0))[0])
    assert hot == ka.argmax()
    assert_close(total, kept.sum())


def test_a_reduction_reading_another_stays_in_its_own_stage():
    # (x - x.mean()) needs the mean merged first: its partials cannot share the mean's stage
    a = np.random.default_rng(4).normal(size=10_000)
    x = rd.from_numpy(a, npartitions=4)
    centered = x - x.mean()
    got = rd.compute(x.sum(), (centered * centered).sum(), x.max())
    assert_close(got[0], a.sum())
    assert_close(got[1], ((a - a.mean()) ** 2).sum())
    assert got[2] == a.max()
