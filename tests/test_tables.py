"""Tables held field by field (contract 3.6): computed fields, renaming, dropping, projection and
masks, against pandas (and NumPy's structured arrays) on every backend, with tables of 1, 2 and
16 fields mixing ints, floats, bools, datetimes, fixed-width text and a sub-array field."""

import pickle

import numpy as np
import pandas as pd
import pytest

import rdarray as rd
from _helpers import partitioned
from rdarray.table import Table


def wide_table(n: int, nfields: int = 16, seed: int = 0) -> np.ndarray:
    """``n`` rows of ``nfields`` fields cycling through the dtype families (a sub-array among them)."""
    rng = np.random.default_rng(seed)
    kinds = [("i8", lambda: rng.integers(-50, 50, n)),
             ("f8", lambda: np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n))),
             ("?", lambda: rng.random(n) < 0.5),
             ("M8[s]", lambda: np.datetime64("2020-01-01", "s") + rng.integers(0, 10**7, n)),
             ("U4", lambda: rng.choice(["a", "bb", "ccc", "dddd", ""], n)),
             ("i4", lambda: rng.integers(0, 5, n)),
             ("S3", lambda: rng.choice([b"x", b"yy", b"zzz"], n)),
             (("f4", (3,)), lambda: rng.normal(size=(n, 3)))]
    fields = [(f"f{i}",) + ((kinds[i % len(kinds)][0],) if isinstance(kinds[i % len(kinds)][0], str)
                            else kinds[i % len(kinds)][0]) for i in range(nfields)]
    out = np.empty(n, np.dtype(fields))
    for i in range(nfields):
        out[f"f{i}"] = kinds[i % len(kinds)][1]()
    return out


def frame_of(a: np.ndarray) -> pd.DataFrame:
    """``a``'s scalar fields as a DataFrame (sub-array fields are left out: pandas has no such column)."""
    return pd.DataFrame({f: a[f] for f in a.dtype.names if a.dtype[f].shape == ()})


def assert_table(got: np.ndarray, expected: pd.DataFrame | np.ndarray) -> None:
    """Same fields, dtypes and values (NaN equal to NaN) as the records or DataFrame ``expected``."""
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == expected.dtype, (got.dtype, expected.dtype)
        assert got.shape == expected.shape
        for name in expected.dtype.names:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
        return
    assert list(got.dtype.names) == list(expected.columns)
    pd.testing.assert_frame_equal(pd.DataFrame({f: got[f] for f in got.dtype.names}), expected.reset_index(drop=True),
                                  check_dtype=True)


LAYOUTS = [[7], [3, 0, 4], [1, 1, 1, 1, 1, 1, 1], [0, 7, 0]]


@pytest.mark.parametrize("nfields", [1, 2, 16])
@pytest.mark.parametrize("lengths", LAYOUTS)
def test_masks_and_projections_against_numpy(ctx, nfields, lengths):
    a = wide_table(sum(lengths), nfields)
    x = partitioned(a, lengths)
    assert_table(x.compute(), a)
    first = "f0"
    for mask in (a[first] > 0, np.zeros(len(a), bool), np.ones(len(a), bool)):
        got = x[rd.from_numpy(mask, partition_lengths=lengths)]
        assert_table(got.compute(), a[mask])
    names = list(a.dtype.names)[::-3] or [first]
    projected = x[names]
    expected = np.empty(len(a), [(f, a.dtype[f]) for f in names])
    for f in names:
        expected[f] = a[f]
    assert_table(projected.compute(), expected)
    assert_table(projected[x[first] > 0].compute(), expected[a[first] > 0])
    np.testing.assert_array_equal(x[first][x[first] > 0].compute(), a[first][a[first] > 0])
    assert_table(x.head(3), a[:3])
    assert_table(x[2:6].compute(), a[2:6])
    for got, want in zip(x.partitions(), np.split(a, np.cumsum(lengths)[:-1])):
        assert_table(got, want)


def test_assign_rename_drop_against_pandas(ctx):
    a = wide_table(40, 16)
    df = frame_of(a)
    x = partitioned(a, [10, 0, 25, 5])
    got = x.assign(rev=x["f1"] * (1 - x["f0"]), one=1, f5=x["f5"] * 2, twice=lambda t: t["rev"] * 2)
    want = df.assign(rev=df["f1"] * (1 - df["f0"]), one=1, f5=df["f5"] * 2, twice=lambda t: t["rev"] * 2)
    out = got.compute()
    assert out.dtype.names == tuple(a.dtype.names) + ("rev", "one", "twice")
    np.testing.assert_array_equal(out["f7"], a["f7"])  # the sub-array field rides along
    assert_table(got.drop(columns=["f7", "f15"]).compute(), want)
    renamed = got.rename(columns={"f0": "zero", "rev": "revenue"}).drop(columns=["f7", "f15"])
    assert_table(renamed.compute(), want.rename(columns={"f0": "zero", "rev": "revenue"}))
    masked = x[x["f0"] > 0].assign(rev=lambda t: t["f1"] * 2).drop("f7").drop(["f15"])
    dm = df[df["f0"] > 0]
    assert_table(masked.compute(), dm.assign(rev=dm["f1"] * 2))


def test_assign_values_of_every_kind(ctx):
    a = wide_table(12, 2)
    x = partitioned(a, [5, 0, 7])
    values = np.arange(12.0)
    out = x.assign(arr=values, t=np.datetime64("2021-02-03", "D"), s="abc",
                   sub=rd.from_numpy(np.ones((12, 2)), npartitions=4)).compute()
    np.testing.assert_array_equal(out["arr"], values)
    assert out.dtype["t"] == np.dtype("M8[D]") and (out["t"] == np.datetime64("2021-02-03")).all()
    assert out.dtype["s"] == np.dtype("U3") and (out["s"] == "abc").all()
    assert out.dtype["sub"].shape == (2,) and (out["sub"] == 1).all()
    empty = partitioned(a[:0], [0, 0]).assign(z=1.5).compute()
    assert empty.dtype.names == ("f0", "f1", "z") and len(empty) == 0


def test_assign_keeps_the_partitioner_unless_a_key_changes(ctx):
    a = wide_table(30, 6)
    x = rd.from_numpy(a, npartitions=3).partition_by("f5")
    assert x.assign(new=x["f1"] * 2).partitioner == x.partitioner
    assert x.assign(f5=x["f5"] + 1).partitioner is None
    assert x.rename(columns={"f1": "g"}).partitioner == x.partitioner
    assert x.rename(columns={"f5": "g"}).partitioner is None
    assert x.drop("f1").partitioner == x.partitioner
    assert x.drop("f5").partitioner is None
    counts = x.assign(new=x["f1"] * 2).groupby("f5").size().compute()
    want = pd.Series(a["f5"]).value_counts().sort_index()
    np.testing.assert_array_equal(counts["size"], want.to_numpy())


def test_bad_input_gets_clear_errors():
    a = wide_table(10, 3)
    x = rd.from_numpy(a, npartitions=2)
    with pytest.raises(ValueError, match="has 4 rows; the table has 10"):
        x.assign(z=np.arange(4))
    with pytest.raises(ValueError, match="has 5 rows; the table has 10"):
        x.assign(z=rd.from_numpy(np.arange(5)))
    with pytest.raises(KeyError, match="no field named 'nope'; the fields are: f0, f1, f2"):
        x.rename(columns={"nope": "a"})
    with pytest.raises(KeyError, match="no field named 'nope'"):
        x.drop(columns=["f0", "nope"])
    with pytest.raises(ValueError, match="clash"):
        x.rename(columns={"f0": "f1"})
    with pytest.raises(ValueError, match="every field"):
        x.drop(list(a.dtype.names))
    with pytest.raises(TypeError, match="needs a table"):
        rd.from_numpy(np.arange(3)).assign(z=1)
    with pytest.raises(TypeError, match="assign one field"):
        x.assign(z=x)
    assert_table(x.compute(), a)  # nothing changed


def test_persisted_and_saved_tables_are_untouched(tmp_path):
    a = wide_table(20, 4)
    x = rd.from_numpy(a, npartitions=3).persist()
    x.save(tmp_path / "t")
    y = x.assign(f1=x["f1"] * 0, extra=1).rename(columns={"f0": "g"})
    y.compute()
    assert_table(x.compute(), a)
    assert_table(rd.load(tmp_path / "t").compute(), a)


def test_a_mask_gathers_only_the_fields_read_afterwards():
    a = wide_table(100, 16)
    t = Table.from_records(a)
    kept = t[a["f0"] > 0]
    assert kept.pending() == 16
    total = kept["f1"].sum()
    assert kept.pending() == 15  # only "f1" was gathered
    np.testing.assert_allclose(total, a["f1"][a["f0"] > 0].sum())
    projected = t[["f1", "f2"]][a["f0"] > 0]
    assert projected.pending() == 2
    np.testing.assert_array_equal(projected.records()["f2"], a["f2"][a["f0"] > 0])
    assert projected.pending() == 0


def test_assigning_an_expression_of_a_masked_table_computes_nothing():
    """Its length is unknown, but the expression lines up with the table by lineage."""
    a = wide_table(100, 4)
    calls = []

    def counted(block):
        calls.append(len(block))
        return block

    x = rd.from_numpy(a, npartitions=3).map_partitions(counted)
    calls.clear()  # map_partitions tried the function on an empty block for its dtype
    t = x[x["f1"] > 0]
    t = t.assign(z=t["f0"] * 2, w=lambda u: u["z"] + 1)
    assert calls == []
    got = t.compute()
    keep = a["f1"] > 0
    np.testing.assert_array_equal(got["w"], a["f0"][keep] * 2 + 1)
    assert len(calls) == 3  # once per partition


def test_table_block_behaves_as_its_records():
    a = wide_table(9, 8)
    t = Table.from_records(a)
    assert_table(np.asarray(t), a)
    assert_table(t[[0, -1, 3]].records(), a[[0, -1, 3]])
    assert_table(t[::-2].records(), a[::-2])
    assert_table(np.array([t[4]], a.dtype), a[4:5])
    assert_table(np.concatenate([t, t[:2]]).records(), np.concatenate([a, a[:2]]))
    assert_table(pickle.loads(pickle.dumps(t[a["f0"] > 0])).records(), a[a["f0"] > 0])
    big = Table.from_records(a.astype(a.dtype.newbyteorder(">")))
    back = pickle.loads(pickle.dumps(big))
    assert back.dtype == big.dtype and back.column("f1").dtype == np.dtype(">f8")
    with pytest.raises(IndexError):
        t.take([9])


# -- every wide operation on tables of 16 fields, against pandas -----------------------------------
def scalar_frame(a: np.ndarray) -> pd.DataFrame:
    return frame_of(a).reset_index(drop=True)


def sorted_frame(df: pd.DataFrame, by) -> pd.DataFrame:
    return df.sort_values(by, kind="stable", na_position="last").reset_index(drop=True)


@pytest.mark.parametrize("lengths", [[40], [13, 0, 20, 7], [1] * 12 + [28]])
def test_wide_operations_on_a_16_field_table(ctx, lengths):
    a = wide_table(sum(lengths), 16, seed=3)
    df = scalar_frame(a)
    x = partitioned(a, lengths)
    got = x.sort(["f5", "f0"], descending=[True, False]).compute()
    assert_table(got, a[np.lexsort([a["f0"], -a["f5"]])])
    got = x.partition_by("f5").compute()
    pd.testing.assert_frame_equal(sorted_frame(scalar_frame(got), ["f0", "f1", "f3"]),
                                  sorted_frame(df, ["f0", "f1", "f3"]))
    assert_table(x.repartition(3).compute(), a)
    counts = x["f5"].value_counts().compute()
    want = df["f5"].value_counts().sort_index()
    np.testing.assert_array_equal(np.sort(counts, order=counts.dtype.names[0])[counts.dtype.names[1]], want.to_numpy())
    np.testing.assert_array_equal(x[["f5", "f2"]].unique().compute(),
                                  np.unique(x[["f5", "f2"]].compute()))
    g = x.groupby(["f4", "f2"]).agg(s=("f0", "sum"), m=("f1", "mean"), n=("f3", "count")).compute()
    want = df.groupby(["f4", "f2"]).agg(s=("f0", "sum"), m=("f1", "mean"), n=("f3", "count")).reset_index()
    assert list(g["f4"]) == list(want["f4"]) and list(g["f2"]) == list(want["f2"])
    np.testing.assert_array_equal(g["s"], want["s"])
    np.testing.assert_allclose(g["m"], want["m"])
    np.testing.assert_array_equal(g["n"], want["n"])


@pytest.mark.parametrize("how", ["inner", "left", "outer"])
def test_merges_of_wide_tables(ctx, how):
    a = wide_table(30, 16, seed=4)
    b = wide_table(12, 4, seed=5)[["f0", "f1", "f2"]]
    b = np.lib.recfunctions.repack_fields(b)
    b.dtype.names = ("f5", "g1", "g2")
    b["f5"] = np.arange(12) % 6  # duplicate keys, and keys missing on either side
    x, y = partitioned(a, [10, 0, 20]), partitioned(b, [5, 7])
    got = rd.merge(x.drop("f7").drop("f15"), y, on="f5", how=how).compute()
    want = pd.merge(scalar_frame(a), pd.DataFrame({f: b[f] for f in b.dtype.names}), on="f5", how=how)
    cols = [f for f in got.dtype.names]
    assert cols == list(want.columns)
    keys = ["f5", "f0", "g1"]
    gotf = sorted_frame(pd.DataFrame({f: got[f] for f in cols}), keys)
    for f in cols:  # missing text is the empty string until text fields can be missing
        if got.dtype[f].kind in "SU":
            want[f] = want[f].fillna(got.dtype[f].type())
    wantf = sorted_frame(want, keys)
    pd.testing.assert_frame_equal(gotf, wantf, check_dtype=False)


def test_merge_asof_of_wide_tables(ctx):
    a = wide_table(25, 16, seed=6)
    a["f3"] = np.sort(a["f3"])
    b = np.zeros(8, [("f3", "M8[s]"), ("f5", "i4"), ("w", "f8")])
    b["f3"] = np.sort(np.datetime64("2020-01-01", "s") + np.arange(8) * 10**6)
    b["f5"], b["w"] = np.arange(8) % 5, np.arange(8.0)
    got = rd.merge_asof(partitioned(a, [10, 0, 15]).drop("f7"), partitioned(b, [3, 5]), on="f3", by="f5").compute()
    want = pd.merge_asof(scalar_frame(a), pd.DataFrame({f: b[f] for f in b.dtype.names}), on="f3", by="f5")
    np.testing.assert_array_equal(got["w"], want["w"].to_numpy())
    np.testing.assert_array_equal(got["f0"], want["f0"].to_numpy())


@pytest.mark.parametrize("many", [False, True])
def test_merge_asof_reads_only_the_fields_its_result_uses(ctx, many):
    """Each side is read with its keys and the fields read of the result; the right rows travel
    with those only. ``many``: a left side of many partitions, coalesced for the join and cut back."""
    a = wide_table(40, 16, seed=8)
    a["f3"] = np.sort(a["f3"])
    b = np.zeros(12, [("f3", "M8[s]"), ("f5", "i4"), ("w", "f8"), ("big", "U16")])
    b["f3"] = np.sort(np.datetime64("2020-01-01", "s") + np.arange(12) * 10**6)
    b["f5"], b["w"], b["big"] = np.arange(12) % 5, np.arange(12.0), "x" * 16
    layout = [1] * 40 if many else [10, 0, 30]
    x, y = partitioned(a, layout), partitioned(b, [5, 7])
    joined = rd.merge_asof(x[x["f1"] > -1], y, on="f3", by="f5")  # a left side of unknown size too
    plan = joined["w"].explain()
    assert "big" not in plan and "f12" not in plan, plan
    want = pd.merge_asof(scalar_frame(a[a["f1"] > -1]), pd.DataFrame({f: b[f] for f in b.dtype.names}),
                         on="f3", by="f5")
    np.testing.assert_array_equal(joined["w"].compute(), want["w"].to_numpy())
    np.testing.assert_array_equal(joined[["f0", "w"]].compute()["f0"], want["f0"].to_numpy())
    whole = joined.compute()  # every field, after the pruned plans
    assert whole.dtype == joined.dtype
    matched = want["big"].notna().to_numpy()  # a fixed-width U field holds "" where no row matched
    np.testing.assert_array_equal(whole["big"][matched], want["big"][matched].to_numpy())


@pytest.mark.parametrize("level", ["memory", "compressed", "disk"])
def test_tables_persisted_saved_and_loaded(ctx, tmp_path, level):
    a = wide_table(30, 16, seed=7)
    x = partitioned(a, [10, 0, 20])
    kept = x[x["f0"] > -20]
    y = kept.assign(z=kept["f1"] * 2).persist(level)
    want = a[a["f0"] > -20]
    for _ in range(2):  # computed, then read from the block store
        got = y.compute()
        assert_table(np.lib.recfunctions.repack_fields(got[list(a.dtype.names)]), want)
        np.testing.assert_array_equal(got["z"], want["f1"] * 2)
    y.save(tmp_path / "t")
    back = rd.load(tmp_path / "t")
    assert back.dtype == y.dtype
    assert_table(back.compute(), y.compute())
    d = back.to_dict()
    assert list(d) == list(y.dtype.names)
    np.testing.assert_array_equal(d["f7"], want["f7"])
    pd.testing.assert_frame_equal(back.drop("f7").drop("f15").to_pandas(),
                                  scalar_frame(want).assign(z=want["f1"] * 2))


def test_tables_under_a_memory_limit(tmp_path):
    a = wide_table(20_000, 16, seed=8)
    with rd.Context(workers=2, memory_limit="2MB", spill_dir=str(tmp_path)):
        x = rd.from_numpy(a, npartitions=20)
        got = x[x["f0"] > 0].sort("f1").compute()
    want = a[a["f0"] > 0]
    assert_table(got, want[np.argsort(want["f1"], kind="stable")])


def test_to_pandas_and_to_dict_hand_out_copies():
    a = wide_table(6, 3)
    for x in (rd.from_numpy(a, npartitions=1), rd.from_numpy(a, npartitions=2).persist()):
        d = x.to_dict()
        d["f0"][:] = 99
        df = x.to_pandas()
        df.loc[0, "f0"] = -99
        np.testing.assert_array_equal(x["f0"].compute(), a["f0"])
    with pytest.raises(TypeError, match="needs a table"):
        rd.from_numpy(np.arange(3)).to_dict()


# -- column pruning: a plan computes, moves and keeps only the fields its results read --------------
def test_a_shuffle_moves_only_the_fields_read_afterwards(ctx):
    a = wide_table(400, 16, seed=9)
    x = partitioned(a, [100, 0, 250, 50])
    kept = a[a["f0"] > 0]
    want = kept[np.argsort(kept["f5"], kind="stable")]
    s = x[x["f0"] > 0].sort("f5")
    one = s["f1"]
    plan = one.explain()
    assert "fields: f1, f5" in plan and "f2," not in plan  # the buckets carry the sort key and f1 only
    np.testing.assert_array_equal(one.compute(), want["f1"])
    assert_table(s.compute(), want)  # the same shuffle, every field: the pruned buckets were not reused
    np.testing.assert_array_equal(s["f1"].compute(), want["f1"])  # now read from the kept, whole buckets
    g = x[x["f0"] > 0].drop("f1").groupby("f4").agg(n=("f3", "count"), m=("f13", "nunique"))
    assert "fields: f3, f4, f13" in g.explain()  # whole groups are shuffled: their rows, three fields
    want_g = scalar_frame(kept).groupby("f4").agg(n=("f3", "count"), m=("f13", "nunique")).reset_index()
    got = g.compute()
    np.testing.assert_array_equal(got["n"], want_g["n"])
    np.testing.assert_array_equal(got["m"], want_g["m"])


def test_pruning_through_assign_rename_slices_and_persisted_tables(ctx):
    a = wide_table(300, 16, seed=10)
    x = partitioned(a, [120, 0, 180])
    t = x.assign(rev=x["f1"] * 2).rename(columns={"f5": "key"})[10:290].repartition(2)
    got = t.sort("key")[["rev", "key"]]
    assert "fields: f1, f5" in got.explain() or "fields: key, rev" in got.explain()
    part = a[10:290]
    order = np.argsort(part["f5"], kind="stable")
    out = got.compute()
    np.testing.assert_array_equal(out["rev"], (part["f1"] * 2)[order])
    p = x[x["f0"] > 0].persist()
    kept = a[a["f0"] > 0]
    np.testing.assert_array_equal(p.sort("f5")["f1"].compute(), kept[np.argsort(kept["f5"], kind="stable")]["f1"])
    assert_table(p.compute(), kept)  # a persisted table keeps every field


@pytest.mark.parametrize("level", ["memory", "compressed", "disk"])
def test_persisted_field_selections_are_kept(ctx, level):
    """A persisted node reading only some fields of its parent (which is pruned to them) is
    complete: it is kept for later plans, not dropped as a map output of pruned rows is."""
    a = wide_table(60, 4, seed=15)
    x = partitioned(a, [20, 0, 40])
    cases = {"field": (x["f1"], a["f1"]), "fields": (x[["f2", "f0"]], a[["f2", "f0"]]),
             "masked": (x[x["f0"] > 0][["f3"]], a[a["f0"] > 0][["f3"]]),
             "sorted": (x.sort("f1")[["f1", "f2"]], a[np.argsort(a["f1"], kind="stable")][["f1", "f2"]])}
    for what, (y, want) in cases.items():
        y = y.persist(level)
        for _ in range(2):  # computed, then read from the block store
            got = y.compute()
            if want.dtype.names:
                assert_table(got, np.lib.recfunctions.repack_fields(want))
            else:
                np.testing.assert_array_equal(got, want, err_msg=what)
        assert ctx.store.has_all(y._node), what


@pytest.mark.parametrize("how", ["inner", "left", "outer", "semi", "anti"])
def test_a_merge_reads_only_the_fields_its_result_uses(ctx, how):
    a = wide_table(60, 16, seed=11)
    b = np.zeros(20, [("f5", "i4"), ("w", "f8"), ("big", "U16")])
    b["f5"], b["w"], b["big"] = np.arange(20) % 7, np.arange(20.0), "x" * 16
    x, y = partitioned(a, [20, 0, 40]), partitioned(b, [8, 12])
    for left, right in ((x[x["f0"] > 0], y), (x, y[y["w"] > 3])):  # sides of unknown size: decided when run
        joined = rd.merge(left, right, on="f5", how=how)
        field = "w" if how not in ("semi", "anti") else "f0"
        got = joined[field].sum()
        la = a[a["f0"] > 0] if left is not x else a
        rb = b[b["w"] > 3] if right is not y else b
        lf = scalar_frame(la)
        rf = pd.DataFrame({f: rb[f] for f in rb.dtype.names})
        if how in ("semi", "anti"):
            inside = lf["f5"].isin(rf["f5"])
            want = lf[inside if how == "semi" else ~inside][field].sum()
        else:
            want = pd.merge(lf, rf, on="f5", how=how)[field].sum()
        assert float(got.compute()) == pytest.approx(float(want), nan_ok=True)
        plan = joined[[field, "f5"]].sort("f5").explain()
        assert "f12" not in plan and "big" not in plan, plan  # no unread field is shuffled or kept
        whole = joined.compute()  # every field, after the pruned plans
        assert whole.dtype == joined.dtype


@pytest.mark.parametrize("dtype", ["S1", "S2", "S4", "S8", "U1", "U2", "S3", "U3"])
def test_text_equality_with_a_constant_against_numpy(ctx, dtype):
    rng = np.random.default_rng(12)
    kind = np.dtype(dtype).kind
    words = ["", "a", "ab", "abc", "AIR", "REG AIR", "TRUCKS12"] + (["é", "éa"] if kind == "U" else [])
    a = np.array(rng.choice(words, 50)).astype(dtype)
    x = partitioned(a, [20, 0, 1, 29])
    for word in words + ["TRUCKS123", "a\0"]:
        value = word.encode() if kind == "S" else word
        np.testing.assert_array_equal((x == value).compute(), a == value, err_msg=repr(value))
        np.testing.assert_array_equal((x != value).compute(), a != value, err_msg=repr(value))
        np.testing.assert_array_equal((value == x).compute(), value == a, err_msg=repr(value))
    two = partitioned(np.stack([a, a[::-1]], axis=1), [25, 25])
    np.testing.assert_array_equal((two == a[3]).compute(), np.stack([a, a[::-1]], axis=1) == a[3])


def test_tables_spill_and_travel_as_one_frame_per_field(tmp_path):
    from rdarray.errors import CorruptDataError
    from rdarray.storage.frame import TABLE_MAGIC, decode_block, encode_block

    a = wide_table(500, 16, seed=13)
    t = Table.from_records(a)[a["f0"] > 0]
    frame = encode_block(t)
    assert bytes(frame[:8]) == TABLE_MAGIC
    back = decode_block(frame)
    assert isinstance(back, Table) and back.dtype.names == a.dtype.names
    assert_table(back.records(), a[a["f0"] > 0])
    empty = decode_block(encode_block(Table.from_records(a[:0])))
    assert len(empty) == 0 and empty.dtype.names == a.dtype.names
    for bad in (frame[:-1], np.concatenate([frame[:12], frame[13:]]), frame[:20]):
        with pytest.raises(CorruptDataError):
            decode_block(bad)
    flipped = frame.copy()
    flipped[-5] ^= 0xFF  # inside the last field's frame: its checksum
    with pytest.raises(CorruptDataError):
        decode_block(flipped)
    with rd.Context(workers=2, memory_limit="300KB", spill_dir=str(tmp_path)):
        x = rd.from_numpy(wide_table(20_000, 16, seed=14), npartitions=10)
        y = x[x["f0"] > 0].persist("disk")
        want = y.compute()
        assert_table(y.compute(), want)  # read back from the spill files
        z = x[x["f0"] > 0].persist("compressed")
        assert_table(z.compute(), want)
