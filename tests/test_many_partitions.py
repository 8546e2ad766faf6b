"""A small array in very many partitions (contract 3.5): shuffles read it from, and sort or group it
into, as many partitions as its size calls for, so plans stay small (no map outputs times targets
bucket tables) and results stay exactly those of NumPy and pandas. A partition count the user
asks for is kept, and so is every "already partitioned by the key: no shuffle" path."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from conftest import THREADS_ONLY

import rdarray as rd
from rdarray.shuffle.exchange import KEEP_PARTITIONS

ROWS = 1_000


def table(rows: int = ROWS, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.zeros(rows, [("k", np.int64), ("v", np.float64)])
    t["k"] = rng.integers(0, 50, rows)
    t["v"] = rng.random(rows)
    return t


def tasks(x) -> int:
    """The tasks of ``x``'s plan."""
    return int(re.match(r"Plan: \d+ stage\(s\), (\d+) task\(s\)", x.explain()).group(1))


def assert_sort_group_count(a, x):
    """Sort, unique, value_counts and groupby of ``x`` (holding the table ``a``) against NumPy and
    pandas; each plan has far fewer tasks than ``x`` has partitions."""
    s = x.sort("k")
    assert s.npartitions <= KEEP_PARTITIONS
    np.testing.assert_array_equal(s.compute(), a[np.argsort(a["k"], kind="stable")])
    np.testing.assert_array_equal(x["v"].sort(descending=True).compute(), np.sort(a["v"])[::-1])
    np.testing.assert_array_equal(x["k"].unique().compute(), np.unique(a["k"]))
    counts = x["k"].value_counts().compute()
    expected = pd.Series(a["k"], name="k").value_counts().reset_index()
    expected = expected.sort_values(["count", "k"], ascending=[False, True])
    np.testing.assert_array_equal(counts["value"], expected["k"].to_numpy())
    np.testing.assert_array_equal(counts["count"], expected["count"].to_numpy())
    g = x.groupby("k").sum()
    sums = pd.DataFrame(a).groupby("k", as_index=False)["v"].sum()
    got = g.compute()
    np.testing.assert_array_equal(got["k"], sums["k"].to_numpy())
    np.testing.assert_allclose(got["v"], sums["v"].to_numpy(), rtol=1e-12)
    for y in (s, g, x["k"].unique(), x["k"].value_counts()):
        assert tasks(y) < x.npartitions // 4, y.explain()


def test_a_small_table_in_many_partitions_sorts_and_groups(ctx):
    a = table()
    x = rd.from_numpy(a, npartitions=500)
    assert_sort_group_count(a, x)
    y = x.partition_by("k")  # the count is the array's to choose: as its size calls for
    assert y.npartitions <= KEEP_PARTITIONS and y.partitioner == rd.HashPartitioner(y.npartitions, "k")
    parts = y.partitions()
    assert sorted(map(tuple, np.concatenate(parts).tolist())) == sorted(map(tuple, a.tolist()))
    owners = [set(p["k"].tolist()) for p in parts]
    assert all(not (owners[i] & owners[j]) for i in range(len(owners)) for j in range(i))


@THREADS_ONLY
def test_a_small_table_in_100_000_partitions_sorts_and_groups(ctx):
    a = table()
    assert_sort_group_count(a, rd.from_numpy(a, npartitions=100_000))


@THREADS_ONLY
def test_lengths_unknown_in_very_many_partitions_are_learned_first(ctx):
    a = table()
    x = rd.from_numpy(a, npartitions=2_000)
    kept = x[x["v"] > 0.25]
    assert kept.partition_lengths is None
    b = a[a["v"] > 0.25]
    assert_sort_group_count(b, kept)


def test_a_partition_count_asked_for_is_kept(ctx):
    a = table()
    x = rd.from_numpy(a, npartitions=2_000)
    y = x.partition_by("k", npartitions=300)
    assert y.npartitions == 300 and y.partitioner == rd.HashPartitioner(300, "k")
    assert tasks(y) < 400  # the map side reads the small table in one or a few tasks, not 2,000
    parts = y.partitions()
    assert len(parts) == 300
    assert sorted(map(tuple, np.concatenate(parts).tolist())) == sorted(map(tuple, a.tolist()))
    assert all(len(set(p["k"].tolist()) & set(q["k"].tolist())) == 0 for i, p in enumerate(parts)
               for q in parts[:i])
    # placed by the key already: no data moves, whatever the counts
    assert y.partition_by("k") is y and y.partition_by("k", 300) is y
    g = y.groupby("k", sort=False).sum()
    text = g.explain()
    assert "already partitioned by key" in text and text.count("shuffle:") == 1 and g.npartitions == 300
    assert np.array_equal(np.sort(g.compute()["k"]), np.unique(a["k"]))
    z = x.partition_by("k", npartitions=2_000)
    assert z.partition_by("k") is z  # its own count, asked for or not


def test_a_merge_of_small_tables_in_many_partitions(ctx, monkeypatch):
    monkeypatch.setattr(rd.config, "broadcast_bytes", 0)  # the shuffle plan
    a = table()
    r = np.zeros(60, [("k", np.int64), ("w", np.float64)])
    r["k"] = np.arange(60) - 5
    r["w"] = np.arange(60.0)
    x, y = rd.from_numpy(a, npartitions=1_000), rd.from_numpy(r, npartitions=60)
    for how in ("inner", "outer"):
        got = rd.merge(x, y, on="k", how=how)
        assert got.npartitions <= KEEP_PARTITIONS
        out = got.compute()
        expected = pd.merge(pd.DataFrame(a), pd.DataFrame(r), on="k", how=how)
        assert len(out) == len(expected)
        for name in ("k", "v", "w"):
            np.testing.assert_array_equal(np.sort(out[name]), np.sort(expected[name].to_numpy()))
    placed = x.partition_by("k", 1_000), y.partition_by("k", 1_000)
    text = rd.merge(*placed, on="k").explain()
    assert "co-partitioned, no shuffle" in text
