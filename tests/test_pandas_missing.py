"""pandas interop beyond text (issue 18, contract 3.7): timezone-aware datetimes kept as UTC with
their zone in the dtype's metadata and given back by ``to_pandas``, nullable extension columns
(pd.NA), and the errors of the pandas entry points. pandas itself is the oracle: the same
operations on the DataFrame."""
from __future__ import annotations

import decimal

import numpy as np
import pytest
from conftest import assert_same

import rdarray as rd

pd = pytest.importorskip("pandas")

PARIS = {"tz": "Europe/Paris"}


def zoned_frame(n: int, tz="Europe/Paris", unit="ns", seed: int = 0):
    """``n`` rows: ``t`` timezone-aware (across a DST change, NaT in every fifth row), an int key
    ``k`` with duplicates, a float ``v`` with NaN and an int ``i``."""
    rng = np.random.default_rng((n, seed))
    t = pd.Series(pd.date_range("2020-03-28 20:00", periods=n, freq="97min", tz=tz, unit=unit))
    t = t.iloc[rng.permutation(n)].reset_index(drop=True)
    t[np.arange(n) % 5 == 3] = pd.NaT
    v = rng.standard_normal(n)
    v[np.arange(n) % 7 == 2] = np.nan
    return pd.DataFrame({"t": t, "k": rng.integers(0, 4, n), "v": v, "i": np.arange(n)})


def utc_values(series) -> np.ndarray:
    return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def same_frame(got, want) -> None:
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


# -- timezone-aware datetimes ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 12])
@pytest.mark.parametrize("npartitions", [1, 4, 17])  # 17: more partitions than rows
def test_zoned_columns_round_trip(ctx, n, npartitions):
    df = zoned_frame(n)
    x = rd.from_pandas(df, npartitions=npartitions)
    assert x.dtype["t"] == np.dtype("M8[ns]") and x.dtype["t"].metadata == PARIS
    assert_same(x["t"], utc_values(df["t"]))  # stored as UTC, NaT as NaT
    assert x["t"].dtype.metadata == PARIS
    same_frame(x.to_pandas(), df)
    assert x.to_pandas()["t"].dtype == df["t"].dtype
    pd.testing.assert_series_equal(x["t"].to_pandas(), df["t"])  # named as the field
    s = rd.from_pandas(df["t"], npartitions=npartitions)
    assert s.dtype.metadata == PARIS
    pd.testing.assert_series_equal(s.to_pandas(), df["t"].rename(None))
    assert x.compute().dtype["t"].metadata == PARIS


@pytest.mark.parametrize("tz, unit", [("UTC", "s"), ("America/New_York", "ms"), ("Asia/Kolkata", "us"),
                                      ("Europe/Paris", "ns")])
def test_zones_and_units(tz, unit):
    df = zoned_frame(9, tz=tz, unit=unit)
    x = rd.from_pandas(df, npartitions=3)
    assert x.dtype["t"] == np.dtype(f"M8[{unit}]") and x.dtype["t"].metadata == {"tz": tz}
    same_frame(x.to_pandas(), df)


def test_a_zone_without_a_name_is_kept_as_it_is():
    import datetime

    fixed = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    s = pd.Series(pd.date_range("2021-01-01", periods=4, freq="h", tz=fixed))
    x = rd.from_pandas(s, npartitions=2)
    pd.testing.assert_series_equal(x.to_pandas(), s)
    all_missing = pd.Series(pd.array([pd.NaT, pd.NaT], dtype="datetime64[ns, Europe/Paris]"))
    pd.testing.assert_series_equal(rd.from_pandas(all_missing, npartitions=2).to_pandas(), all_missing)


@pytest.mark.parametrize("lengths", [[12], [3, 0, 5, 4], [1] * 12 + [0] * 5])
def test_zones_survive_the_table_operations(ctx, lengths):
    df = zoned_frame(12, seed=1)
    x = rd.from_pandas(df, npartitions=len(lengths)).repartition(len(lengths))
    cases = {
        "mask": (x[x["v"] > -0.5], df[df["v"] > -0.5]),
        "fields": (x[["t", "v"]], df[["t", "v"]]),
        "assign": (x.assign(u=x["t"] + np.timedelta64(90, "m"), w=x["v"] * 2),
                   df.assign(u=df["t"] + pd.Timedelta(90, "min"), w=df["v"] * 2)),
        "rename": (x.rename(columns={"t": "when"}), df.rename(columns={"t": "when"})),
        "drop": (x.drop(columns=["v"]), df.drop(columns=["v"])),
        "sort": (x.sort("t"), df.sort_values("t", kind="stable")),
        "sort_desc": (x.sort(["k", "i"], descending=True), df.sort_values(["k", "i"], ascending=False)),
        "slice": (x[2:9], df[2:9]),
        "persist": (x[["t", "i"]].persist(), df[["t", "i"]]),
    }
    for what, (got, want) in cases.items():
        assert got.dtype[got.dtype.names[0]].metadata == PARIS, what
        same_frame(got.to_pandas(), want)
    head = x.sort("i").head(4)
    assert head.dtype["t"].metadata == PARIS
    same_frame(rd.from_numpy(head).to_pandas(), df.head(4))


def test_zones_survive_groupby_and_merge(ctx):
    df = zoned_frame(40, seed=2)
    x = rd.from_pandas(df, npartitions=6)
    got = x.groupby("t").agg(v=("v", "sum"), n=("i", "count")).to_pandas()
    want = df.groupby("t").agg(v=("v", "sum"), n=("i", "count")).reset_index()
    assert got["t"].dtype == df["t"].dtype
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    got = x.groupby(["k", "t"]).agg(n=("i", "count")).to_pandas()
    want = df.groupby(["k", "t"]).agg(n=("i", "count")).reset_index()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    got = x.groupby("k").agg(first=("t", "min"), last=("t", "max")).to_pandas()
    want = df.groupby("k").agg(first=("t", "min"), last=("t", "max")).reset_index()
    pd.testing.assert_frame_equal(got, want)

    right = pd.DataFrame({"k": [0, 1, 1, 5], "r": [10.0, 11.0, 12.0, 13.0]})
    for how in ("inner", "left", "outer"):
        got = rd.merge(x, rd.from_pandas(right, npartitions=2), on="k", how=how).to_pandas()
        want = df.merge(right, on="k", how=how)
        order = ["i", "r"]
        same_frame(got.sort_values(order, kind="stable"), want.sort_values(order, kind="stable"))

    present = df[df["t"].notna()]
    times = present[["t", "i"]].rename(columns={"i": "j"})
    got = rd.merge(x[x["t"] == x["t"]], rd.from_pandas(times, npartitions=3), on="t").to_pandas()
    want = present.merge(times, on="t")
    assert got["t"].dtype == df["t"].dtype
    same_frame(got.sort_values("i"), want.sort_values("i"))


def test_merging_zones_as_pandas_does():
    df = zoned_frame(10, seed=3).dropna(subset=["t"])
    utc = df.assign(t=df["t"].dt.tz_convert("UTC"))[["t", "i"]].rename(columns={"i": "j"})
    x, y = rd.from_pandas(df, npartitions=2), rd.from_pandas(utc, npartitions=3)
    got = rd.merge(x, y, on="t").to_pandas().sort_values("i")
    same_frame(got, df.merge(utc, on="t").sort_values("i"))  # both UTC inside: left's zone, as pandas
    assert got["t"].dtype == df["t"].dtype
    naive = utc.assign(t=utc["t"].dt.tz_localize(None))
    with pytest.raises(TypeError, match="'t'.*Europe/Paris.*timezone-aware"):
        rd.merge(x, rd.from_pandas(naive), on="t")
    with pytest.raises(ValueError):
        df.merge(naive, on="t")  # pandas refuses too


def test_merge_asof_across_zones():
    df = zoned_frame(10, seed=5).dropna(subset=["t"]).sort_values("t")
    utc = df.assign(t=df["t"].dt.tz_convert("UTC") + pd.Timedelta(30, "min"))[["t", "i"]].rename(columns={"i": "j"})
    x, y = rd.from_pandas(df, npartitions=2), rd.from_pandas(utc, npartitions=3)
    got = rd.merge_asof(x, y, on="t").to_pandas()
    assert got["t"].dtype == df["t"].dtype  # left's zone, the instants compared as UTC
    same_frame(got, pd.merge_asof(df, utc.assign(t=utc["t"].dt.tz_convert(PARIS["tz"])), on="t"))
    naive = utc.assign(t=utc["t"].dt.tz_localize(None))
    with pytest.raises(TypeError, match="'t'.*Europe/Paris.*timezone-aware"):
        rd.merge_asof(x, rd.from_pandas(naive), on="t")
    with pytest.raises(pd.errors.MergeError):
        pd.merge_asof(df, naive, on="t")  # pandas refuses too


def test_zones_through_numpy_operations(ctx):
    df = zoned_frame(11, seed=4)
    x = rd.from_pandas(df, npartitions=3)
    t = x["t"]
    later = t + np.timedelta64(1, "D")
    assert later.dtype.metadata == PARIS
    pd.testing.assert_series_equal(later.to_pandas(), (df["t"] + pd.Timedelta(1, "D")).rename(None))
    both = rd.concatenate([t, t[::-1]])
    assert both.dtype.metadata == PARIS
    pd.testing.assert_series_equal(both.to_pandas(), pd.concat([df["t"], df["t"][::-1]], ignore_index=True)
                                   .rename(None))
    assert np.where(x["v"] > 0, t, t).dtype.metadata == PARIS
    assert (t - t).dtype == np.dtype("m8[ns]")
    present = t[t == t].min().compute()  # NaT rows dropped: NumPy's min propagates NaT
    assert present == np.datetime64(df["t"].min().tz_convert(None)) and isinstance(present, np.datetime64)  # UTC
    naive = t.astype("M8[ns]")  # an explicit dtype: the zone is dropped, the UTC times kept
    assert naive.dtype.metadata is None
    pd.testing.assert_series_equal(naive.to_pandas(), pd.Series(utc_values(df["t"])))
    mixed = rd.concatenate([t, rd.from_numpy(utc_values(df["t"]))])
    assert mixed.dtype.metadata is None  # a zone with naive times: no zone to keep


def test_zones_spill_travel_and_save(tmp_path):
    df = zoned_frame(30_000, seed=5)
    want = df.sort_values("t", kind="stable")
    with rd.Context(workers=2, memory_limit="400KB", spill_dir=str(tmp_path / "spill")):
        x = rd.from_pandas(df, npartitions=20)
        y = x.sort("t").persist("disk")
        for _ in range(2):  # computed, then read back from the spill files
            same_frame(y.to_pandas(), want)
        same_frame(x[["t", "k"]].persist("compressed").to_pandas(), df[["t", "k"]])
    x = rd.from_pandas(df[:50], npartitions=4)
    x.save(tmp_path / "table")
    x["t"].save(tmp_path / "times")
    back = rd.load(tmp_path / "table")
    assert back.dtype["t"].metadata == PARIS
    same_frame(back.to_pandas(), df[:50])
    pd.testing.assert_series_equal(rd.load(tmp_path / "times").to_pandas(), df["t"][:50].rename(None))


def test_zones_on_the_processes_backend(processes_context):
    df = zoned_frame(200, seed=6)
    with processes_context.as_default():
        x = rd.from_pandas(df, npartitions=7)
        same_frame(x.sort("t").to_pandas(), df.sort_values("t", kind="stable"))
        got = x.groupby("t").agg(n=("i", "count")).to_pandas()
        pd.testing.assert_frame_equal(got, df.groupby("t").agg(n=("i", "count")).reset_index(), check_dtype=False)
        s = rd.from_pandas(df["t"], npartitions=5)
        pd.testing.assert_series_equal(s.map_partitions(lambda b: b).to_pandas(), df["t"].rename(None))


# -- nullable extension columns ------------------------------------------------------------------------
NULLABLE = ["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "boolean",
            "Float32", "Float64"]


def nullable_frame(n: int, missing: bool, seed: int = 0):
    rng = np.random.default_rng((n, seed))
    columns = {}
    for name in NULLABLE:
        values = rng.integers(0, 2, n).astype(bool) if name == "boolean" else rng.integers(0, 100, n)
        col = pd.Series(values, dtype=name)
        if missing:
            col[np.arange(n) % 3 == 1] = pd.NA
        columns[name.lower()] = col
    columns["plain"] = np.arange(n, dtype=np.float64)
    return pd.DataFrame(columns)


def numpy_dtype(name: str, missing: bool) -> np.dtype:
    plain = pd.Series([], dtype=name).dtype.numpy_dtype
    return plain if not missing or plain.kind == "f" else np.dtype(np.float64)


@pytest.mark.parametrize("n", [0, 1, 9])
@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("npartitions", [1, 3, 12])
def test_nullable_columns(ctx, n, missing, npartitions):
    df = nullable_frame(n, missing)
    missing = missing and n > 1  # rows 1, 4, 7, ... are missing
    x = rd.from_pandas(df, npartitions=npartitions)
    want = df.astype({name.lower(): numpy_dtype(name, missing) for name in NULLABLE})
    for name in NULLABLE:
        field = name.lower()
        assert x.dtype[field] == numpy_dtype(name, missing), field
        expected = df[field].to_numpy(dtype=numpy_dtype(name, missing), na_value=np.nan) if missing \
            else df[field].to_numpy(dtype=numpy_dtype(name, missing))
        assert_same(x[field], expected)
    got = x.to_pandas()
    pd.testing.assert_frame_equal(got, want)
    if missing:  # pd.NA became NaN: counted as missing
        assert got["int64"].isna().sum() == df["int64"].isna().sum()
    for name in NULLABLE:
        s = rd.from_pandas(df[name.lower()], npartitions=npartitions)
        pd.testing.assert_series_equal(s.to_pandas(), want[name.lower()].rename(None))


def test_nullable_columns_in_operations(ctx):
    df = nullable_frame(30, True, seed=1).assign(k=np.arange(30) % 4)
    x = rd.from_pandas(df, npartitions=5)
    base = df.astype({name.lower(): numpy_dtype(name, True) for name in NULLABLE})
    got = x.groupby("k").agg(s=("int32", "sum"), m=("boolean", "mean"), f=("float32", "max")).to_pandas()
    want = base.groupby("k").agg(s=("int32", "sum"), m=("boolean", "mean"), f=("float32", "max")).reset_index()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    got = x[x["uint8"] > 50][["uint8", "int64"]].to_pandas()
    same_frame(got, base[base["uint8"] > 50][["uint8", "int64"]])
    all_missing = pd.DataFrame({"a": pd.array([pd.NA, pd.NA], dtype="Int64"),
                                "b": pd.array([None, None], dtype="boolean")})
    same_frame(rd.from_pandas(all_missing, npartitions=3).to_pandas(), all_missing.astype("float64"))


# -- errors --------------------------------------------------------------------------------------
def test_from_numpy_of_pandas_data_points_to_from_pandas():
    df = pd.DataFrame({"a": np.arange(5), "t": pd.date_range("2020", periods=5, tz="UTC")})
    with pytest.raises(TypeError, match="DataFrame; use rd.from_pandas"):
        rd.from_numpy(df)
    for s in (df["a"], df["t"], pd.Series([1, None], dtype="Int64")):
        with pytest.raises(TypeError, match="Series; use rd.from_pandas"):
            rd.from_numpy(s)


@pytest.mark.parametrize("values, kind", [
    ([decimal.Decimal(1), None], "Decimal"),
    (["a", np.nan, 3], "int"),
    ([b"x", "y"], "bytes"),
    ([pd.Timestamp("2020", tz="UTC"), pd.Timestamp("2020", tz="Europe/Paris")], "Timestamp"),
])
def test_object_columns_name_the_column_and_the_value_type(values, kind):
    column = pd.Series(values, dtype=object)
    with pytest.raises(TypeError, match=rf"column 'o': holds objects other than str.*of type {kind} \("):
        rd.from_pandas(pd.DataFrame({"ok": np.arange(len(values)), "o": column}))
    with pytest.raises(TypeError, match=rf"'o'.*of type {kind} "):
        rd.from_pandas(column.rename("o"))


@pytest.mark.parametrize("zones", [{"k": "UTC"}, {"nope": "UTC"}, {"t": 3}, ["t"], {"": "UTC"}])
def test_saved_zones_that_do_not_fit_are_corrupt(tmp_path, zones):
    import json

    from rdarray.errors import CorruptDataError

    rd.from_pandas(zoned_frame(5), npartitions=2).save(tmp_path / "a")
    meta_path = tmp_path / "a" / "_meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["zones"] == {"t": "Europe/Paris"}
    meta["zones"] = zones
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CorruptDataError, match="zones"):
        rd.load(tmp_path / "a")


@pytest.mark.slow
def test_zones_through_dask_dataframes(dask_context):
    dd = pytest.importorskip("dask.dataframe")
    df = zoned_frame(20, seed=7)
    with dask_context.as_default():
        x = rd.from_pandas(df, npartitions=3)
        same_frame(x.to_dask_dataframe().compute(), df)
        same_frame(x.sort("t").to_pandas(), df.sort_values("t", kind="stable"))
        y = rd.from_dask_dataframe(dd.from_pandas(df, npartitions=4))
        assert y.dtype["t"].metadata == PARIS
        same_frame(y.to_pandas(), df)


@pytest.mark.parametrize("missing", [False, True])
def test_nullable_columns_from_dask_dataframes(missing):
    dd = pytest.importorskip("dask.dataframe")
    df = nullable_frame(10, missing, seed=2)
    df["only_in_the_last_part"] = pd.array([1] * 9 + [None], dtype="Int32")
    y = rd.from_dask_dataframe(dd.from_pandas(df, npartitions=3))
    want = rd.from_pandas(df)
    assert y.dtype == want.dtype
    assert y.dtype["only_in_the_last_part"] == np.float64
    same_frame(y.to_pandas(), want.to_pandas())
