"""Parquet and CSV: ``rd.read_parquet``, ``rd.read_csv``, ``x.to_parquet``, ``x.to_csv``.

Oracles: pyarrow (``pyarrow.parquet.read_table``) and pandas (``pandas.read_csv``) on the same
files; written files are read back by rdarray, pandas, polars and DuckDB.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import rdarray as rd

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def frame(n: int = 500, seed: int = 0):
    """A DataFrame with every field kind and missing values in each where it can have them."""
    rng = np.random.default_rng(seed)
    missing = rng.random(n) < 0.1
    ints = pd.array(rng.integers(-1000, 1000, n), dtype="Int64")
    ints[missing] = pd.NA
    floats = rng.normal(size=n)
    floats[rng.random(n) < 0.1] = np.nan
    times = pd.Series(pd.date_range("2021-03-01", periods=n, freq="37min"))
    times[rng.random(n) < 0.1] = pd.NaT
    zoned = pd.Series(pd.date_range("2021-03-01", periods=n, freq="53min", tz="Europe/Paris"))
    zoned[rng.random(n) < 0.1] = pd.NaT
    words = np.array(["alpha", "béta", "a, quoted \"word\"", "two\nlines", "x" * 40, "z"], dtype=object)
    text = pd.Series(words[rng.integers(0, len(words), n)], dtype="str")
    text[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64), "small": rng.integers(0, 100, n).astype(np.int32),
        "nint": ints, "f": floats, "f32": rng.random(n).astype(np.float32), "flag": rng.random(n) < 0.5,
        "t": times, "tz": zoned, "s": text,
    })


def expected(df):
    """What rdarray makes of ``df``: nullable integers with missing values as float64."""
    out = df.copy()
    out["nint"] = out["nint"].astype("float64")
    return out


def assert_frames(got, want):
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False,
                                  check_index_type=False)
    for name in want.columns:
        g, w = got[name].dtype, want[name].dtype
        if isinstance(w, pd.DatetimeTZDtype):
            assert isinstance(g, pd.DatetimeTZDtype) and str(g.tz) == str(w.tz), (name, g, w)
        elif w.kind in "iufb":
            assert g.kind == w.kind, (name, g, w)


@pytest.fixture
def parquet_file(tmp_path):
    df = frame()
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=50)
    return str(path), df


# -- read_parquet ------------------------------------------------------------------------------------

def test_read_parquet_every_field_kind(ctx, parquet_file):
    path, df = parquet_file
    x = rd.read_parquet(path)
    assert x.npartitions == 1  # ten small row groups coalesced
    assert x.dtype["tz"].metadata == {"tz": "Europe/Paris"}
    assert x.dtype["nint"] == np.float64 and x.dtype["small"] == np.int32
    assert_frames(x.to_pandas(), expected(df))
    assert len(x) == len(df)


def test_one_partition_per_row_group(parquet_file, monkeypatch):
    path, df = parquet_file
    monkeypatch.setattr(rd.config, "partition_bytes", 1)
    x = rd.read_parquet(path)
    assert x.npartitions == 10 and x.partition_lengths == (50,) * 10
    assert_frames(x.to_pandas(), expected(df))


def test_every_worker_gets_a_partition_of_a_file_worth_splitting(tmp_path, monkeypatch):
    """As from_numpy splits an array: a Parquet file of eight row groups and a CSV file, both
    far below partition_bytes but above workers * min_split_bytes, make a partition per worker."""
    monkeypatch.setattr(rd.config, "min_split_bytes", 1000)
    df = pd.DataFrame({"a": np.arange(4000, dtype=np.int64), "b": np.linspace(0, 1, 4000)})
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "x.parquet", row_group_size=500)
    df.to_csv(tmp_path / "x.csv", index=False)
    for workers in (2, 3):
        with rd.Context(backend="threads", workers=workers):
            for x in (rd.read_parquet(tmp_path / "x.parquet"), rd.read_csv(tmp_path / "x.csv")):
                assert x.npartitions == workers, x.explain()
                assert_frames(x.to_pandas(), df)


def test_columns_and_pruning_read_only_the_fields_used(parquet_file, monkeypatch):
    path, df = parquet_file
    seen = []
    read = pq.ParquetFile.read_row_groups

    def spy(self, groups, columns=None, **kw):
        seen.append(tuple(columns))
        return read(self, groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    with rd.Context(backend="threads", workers=2):
        x = rd.read_parquet(path)
        y = x[x["f"] * 2 > 0]["small"]  # not a comparison of a field with a constant: not a filter
        assert "reads fields small, f" in y.explain()
        np.testing.assert_array_equal(y.compute(), df["small"][df["f"] > 0].to_numpy())
        assert set(seen) == {("small", "f")}
        seen.clear()
        z = rd.read_parquet(path, columns=["s", "id"])
        assert z.dtype.names == ("s", "id")
        assert_frames(z.to_pandas(), df[["s", "id"]])
        assert set(seen) == {("id", "s")}


def test_sixteen_columns_three_read(tmp_path, monkeypatch):
    data = {f"c{i}": np.arange(100, dtype=np.float64) * i for i in range(16)}
    pq.write_table(pa.table(data), tmp_path / "wide.parquet")
    seen = []
    read = pq.ParquetFile.read_row_groups

    def spy(self, groups, columns=None, **kw):
        seen.append(columns)
        return read(self, groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    x = rd.read_parquet(tmp_path / "wide.parquet")
    r = (x["c1"] + x["c2"] * x["c15"]).sum()
    assert float(r) == float((data["c1"] + data["c2"] * data["c15"]).sum())
    assert seen == [["c1", "c2", "c15"]]


@pytest.mark.parametrize("filters", [
    [("id", ">", 420)],
    [("id", "<", 30), ("f", ">", 0)],
    [[("id", "<", 30)], [("id", ">=", 470)]],
    [("small", "in", [3, 5, 7])],
    [("s", "==", "z")],
    [("id", "!=", 3)],
    [("nint", "<=", 0)],
])
def test_filters_keep_what_pyarrow_keeps(parquet_file, filters):
    path, df = parquet_file
    want = pq.read_table(path, filters=filters).to_pandas()
    x = rd.read_parquet(path, filters=filters)
    got = x.to_pandas()
    assert len(got) == len(want)
    want["nint"] = want["nint"].astype("float64")
    assert_frames(got, want)


def test_row_groups_skipped_by_statistics(parquet_file):
    path, _ = parquet_file
    x = rd.read_parquet(path, filters=[("id", ">=", 420)])
    assert "8 of 10 row group(s) skipped by statistics" in x.explain()
    assert x.to_pandas()["id"].tolist() == list(range(420, 500))
    none = rd.read_parquet(path, filters=[("id", ">", 10_000)])
    assert "10 of 10 row group(s) skipped" in none.explain()
    assert len(none.compute()) == 0


def test_multi_file_glob_directory_and_list(tmp_path):
    df = frame(300)
    d = tmp_path / "set"
    d.mkdir()
    for k in range(3):
        pq.write_table(pa.Table.from_pandas(df.iloc[k * 100:(k + 1) * 100], preserve_index=False),
                       d / f"part-{k}.parquet")
    (d / "_SUCCESS").write_text("")
    for path in [str(d), str(d / "*.parquet"), [str(d / f"part-{k}.parquet") for k in range(3)]]:
        x = rd.read_parquet(path)
        assert_frames(x.to_pandas(), expected(df))


def test_read_parquet_on_workers_not_the_driver(processes_context, parquet_file, monkeypatch):
    """The processes backend ships the reader (paths and row groups), and each worker reads."""
    path, df = parquet_file
    with processes_context.as_default():
        x = rd.read_parquet(path)

        def refuse(*args, **kwargs):
            raise AssertionError("the driver read a row group")

        monkeypatch.setattr(pq.ParquetFile, "read_row_groups", refuse)
        assert_frames(x.to_pandas(), expected(df))


@pytest.mark.slow
def test_read_parquet_on_dask_workers(dask_context, parquet_file, monkeypatch):
    path, df = parquet_file
    with dask_context.as_default():
        x = rd.read_parquet(path)
        monkeypatch.setattr(pq.ParquetFile, "read_row_groups", lambda *a, **k: 1 / 0)
        assert_frames(x.to_pandas(), expected(df))


# -- read_csv ---------------------------------------------------------------------------------------

def test_read_csv_agrees_with_pandas(ctx, tmp_path, monkeypatch):
    df = frame(400).drop(columns=["tz"])
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    monkeypatch.setattr(rd.config, "partition_bytes", 2000)  # many byte ranges, quoted newlines inside
    x = rd.read_csv(path, parse_dates=["t"])
    assert x.npartitions > 5
    want = pd.read_csv(path, parse_dates=["t"])
    got = x.to_pandas()
    assert_frames(got, want)
    assert list(got.dtypes.astype(str)) == list(want.dtypes.astype(str))


def test_read_csv_quoted_newlines_split_at_every_size(tmp_path, monkeypatch):
    rows = [f'{k},"line {k}\nstill ""{k}""\n",{k * 0.5}' for k in range(200)]
    path = tmp_path / "q.csv"
    path.write_text("a,b,c\n" + "\n".join(rows) + "\n")
    want = pd.read_csv(path)
    for size in (7, 64, 301, 4096):
        monkeypatch.setattr(rd.config, "partition_bytes", size)
        x = rd.read_csv(path)
        assert_frames(x.to_pandas(), want)


def test_read_csv_lines_longer_than_a_parsing_block(tmp_path, monkeypatch):
    """Ranges are parsed in blocks of about 1 MB; a line longer than that is still read."""
    long_text, long_quoted = "x" * 3_000_000, "y\n" * 1_200_000
    path = tmp_path / "long.csv"
    path.write_text(f'a,b\n0,first\n1,{long_text}\n2,short\n3,"{long_quoted}"\n4,z\n')
    for size in (32 << 20, 1_000_000):
        monkeypatch.setattr(rd.config, "partition_bytes", size)
        got = rd.read_csv(path).to_pandas()
        assert list(got["a"]) == [0, 1, 2, 3, 4]
        assert list(got["b"]) == ["first", long_text, "short", long_quoted, "z"]


def test_read_csv_missing_values_and_types(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("i,ni,f,b,s,e,d\n1,1,1.5,True,x,,2020-01-01\n2,,NA,False,,,2020-01-02\n3,3,nan,true,NULL,,\n")
    want = pd.read_csv(path)
    x = rd.read_csv(path)
    assert x.dtype["ni"] == np.float64 and x.dtype["e"] == np.float64 and x.dtype["i"] == np.int64
    assert_frames(x.to_pandas(), want)


def test_read_csv_columns_dtype_and_options(tmp_path):
    path = tmp_path / "o.tsv"
    path.write_text("a;b;c\n1;x;2.5\n2;y;3.5\n")
    x = rd.read_csv(path, sep=";", columns=["c", "a"], dtype={"a": "float32"})
    assert x.dtype.names == ("c", "a") and x.dtype["a"] == np.float32
    assert x.to_pandas()["a"].tolist() == [1.0, 2.0]
    y = rd.read_csv(path, sep=";", header=None, names=["p", "q", "r"], dtype=str)
    assert y.to_pandas()["p"].tolist() == ["a", "1", "2"]


def test_read_csv_later_value_the_type_cannot_hold(ctx, tmp_path, monkeypatch):
    monkeypatch.setattr("rdarray.storage.csv_files.SAMPLE_BYTES", 64)
    monkeypatch.setattr(rd.config, "partition_bytes", 64)
    lines = [f"{k},{k}" for k in range(100)] + ["100,"] + [f"{k},{k}" for k in range(101, 120)]
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "\n".join(lines) + "\n")
    x = rd.read_csv(path)
    assert x.dtype["b"] == np.int64
    with pytest.raises(ValueError, match=r"column 'b'.*dtype="):
        x.compute()
    y = rd.read_csv(path, dtype={"b": "float64"})
    assert_frames(y.to_pandas(), pd.read_csv(path))
    path.write_text("a,b\n" + "\n".join(f"{k},{k}" for k in range(100)) + "\n100,oops\n")
    with pytest.raises(ValueError, match=r"line 102.*column 'b'.*dtype="):
        rd.read_csv(path).compute()


def test_read_csv_multi_file(tmp_path):
    df = frame(90).drop(columns=["tz", "t"])
    for k in range(3):
        df.iloc[k * 30:(k + 1) * 30].to_csv(tmp_path / f"p{k}.csv", index=False)
    x = rd.read_csv(str(tmp_path / "p*.csv"))
    assert_frames(x.to_pandas(), pd.read_csv(tmp_path / "p0.csv").pipe(
        lambda _: pd.concat([pd.read_csv(tmp_path / f"p{k}.csv") for k in range(3)])))


def test_read_csv_on_workers(processes_context, tmp_path, monkeypatch):
    path = tmp_path / "w.csv"
    frame(200).drop(columns=["tz"]).to_csv(path, index=False)
    monkeypatch.setattr(rd.config, "partition_bytes", 3000)
    with processes_context.as_default():
        x = rd.read_csv(path, parse_dates=["t"])
        import pyarrow.csv as pacsv
        monkeypatch.setattr(pacsv, "read_csv", lambda *a, **k: 1 / 0)
        assert_frames(x.to_pandas(), pd.read_csv(path, parse_dates=["t"]))


# -- writers ----------------------------------------------------------------------------------------

def test_to_parquet_read_back_everywhere(ctx, tmp_path):
    df = expected(frame(600))
    x = rd.from_pandas(df, npartitions=3)
    out = tmp_path / "out"
    x.to_parquet(out)
    files = sorted(os.listdir(out))
    assert files == [f"part-0000{k}.parquet" for k in range(3)]
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no staging left behind
    assert_frames(rd.read_parquet(out).to_pandas(), df)
    assert_frames(pd.read_parquet(out), df)
    meta = pq.read_schema(out / files[0]).metadata
    assert b"rdarray" in meta and b"Europe/Paris" in meta[b"rdarray"]
    polars = pytest.importorskip("polars")
    got = polars.read_parquet(str(out / "*.parquet")).to_pandas()
    assert_frames(got.assign(s=got["s"].astype("str")), df)
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    got = con.sql(f"select * from read_parquet('{out}/*.parquet') order by id").df()
    got["tz"] = got["tz"].dt.tz_convert("Europe/Paris")
    assert_frames(got.assign(s=got["s"].astype("str")), df)


def test_to_csv_read_back_everywhere(ctx, tmp_path):
    df = expected(frame(300))
    df["tz"] = df["tz"].dt.tz_convert("UTC")  # CSV holds instants: zoned times are written in UTC
    x = rd.from_pandas(df, npartitions=3)
    x.to_csv(tmp_path / "one.csv")
    x.to_csv(tmp_path / "many")
    assert sorted(os.listdir(tmp_path / "many")) == [f"part-0000{k}.csv" for k in range(3)]
    for path in (tmp_path / "one.csv", tmp_path / "many"):
        assert_frames(rd.read_csv(path, parse_dates=["t", "tz"]).to_pandas(), df)
    assert_frames(pd.read_csv(tmp_path / "one.csv", parse_dates=["t", "tz"]), df)
    polars = pytest.importorskip("polars")
    got = polars.read_csv(tmp_path / "one.csv", try_parse_dates=True).to_pandas()
    assert_frames(got.assign(s=got["s"].astype("str"), nint=got["nint"].astype("float64"),
                             tz=got["tz"].dt.tz_convert("UTC")), df)
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    got = con.sql(f"select * from read_csv('{tmp_path}/many/*.csv') order by id").df()
    assert_frames(got.assign(s=got["s"].astype("str"), f32=got["f32"].astype("float32"),
                             nint=got["nint"].astype("float64"),  # DuckDB: whole floats as integers
                             tz=pd.to_datetime(got["tz"], utc=True)), df)


def test_writes_are_atomic(tmp_path, monkeypatch):
    df = expected(frame(100))
    out = tmp_path / "out"
    rd.from_pandas(df, npartitions=2).to_parquet(out)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        rd.from_pandas(df).to_parquet(out)

    def boom(block):
        if len(block) and block["id"][0] >= 50:
            raise RuntimeError("crash while writing")
        return block

    bad = rd.from_pandas(df, npartitions=2).map_partitions(boom)
    with pytest.raises(RuntimeError, match="crash"):
        bad.to_parquet(out, overwrite=True)
    assert_frames(pd.read_parquet(out), df)  # the previous dataset, whole
    assert sorted(os.listdir(tmp_path)) == ["out"]
    with pytest.raises(RuntimeError, match="crash"):
        bad.to_csv(tmp_path / "new.csv")
    assert sorted(os.listdir(tmp_path)) == ["out"]
    rd.from_pandas(df.iloc[:10]).to_parquet(out, overwrite=True)
    assert len(pd.read_parquet(out)) == 10
    assert sorted(os.listdir(tmp_path)) == ["out"]


# -- bad input --------------------------------------------------------------------------------------

def test_missing_paths(tmp_path):
    for reader in (rd.read_parquet, rd.read_csv):
        with pytest.raises(FileNotFoundError, match="nope"):
            reader(tmp_path / "nope")
        with pytest.raises(FileNotFoundError, match=r"nope\*"):
            reader(str(tmp_path / "nope*"))


def test_corrupt_and_truncated_files(ctx, tmp_path, parquet_file):
    path, _ = parquet_file
    data = open(path, "rb").read()
    bad = tmp_path / "cut.parquet"
    bad.write_bytes(data[:len(data) // 2])
    with pytest.raises(rd.CorruptDataError, match="cut.parquet"):
        rd.read_parquet(bad)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(rd.CorruptDataError, match="junk.parquet"):
        rd.read_parquet(junk)
    csv = tmp_path / "bad.csv"
    csv.write_text("a,b\n1,2\n3,4\n5,6,7\n8,9\n")
    with pytest.raises(ValueError, match=r"bad.csv.*line 4"):
        rd.read_csv(csv).compute()


def test_schemas_that_differ(tmp_path):
    pq.write_table(pa.table({"a": [1, 2], "b": [1.0, 2.0]}), tmp_path / "x.parquet")
    pq.write_table(pa.table({"a": ["1", "2"], "b": [1.0, 2.0]}), tmp_path / "y.parquet")
    with pytest.raises(ValueError, match=r"x.parquet.*y.parquet.*\ba\b"):
        rd.read_parquet(tmp_path)
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    (tmp_path / "y.csv").write_text("a,c\n1,2\n")
    with pytest.raises(ValueError, match=r"x.csv.*y.csv.*different columns"):
        rd.read_csv([tmp_path / "x.csv", tmp_path / "y.csv"])


def test_unknown_columns(parquet_file, tmp_path):
    path, _ = parquet_file
    with pytest.raises(KeyError, match="nope.*the columns are: id, small"):
        rd.read_parquet(path, columns=["id", "nope"])
    with pytest.raises(KeyError, match="nope"):
        rd.read_parquet(path, filters=[("nope", "==", 1)])
    csv = tmp_path / "c.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(KeyError, match="nope.*the columns are: a, b"):
        rd.read_csv(csv, columns=["nope"])


def test_writers_need_a_table(tmp_path):
    with pytest.raises(TypeError, match="to_parquet.*table"):
        rd.arange(10).to_parquet(tmp_path / "x")


def test_missing_pyarrow_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("no pyarrow")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ImportError, match=r"rdarray\[parquet\]"):
        rd.read_parquet(tmp_path)
    with pytest.raises(ImportError, match=r"rdarray\[csv\]"):
        rd.read_csv(tmp_path)


def test_csv_edge_cases(tmp_path):
    (tmp_path / "u.csv").write_text('a,b\n1,"abc\n2,x\n')
    with pytest.raises(rd.CorruptDataError, match=r"u.csv.*quote"):
        rd.read_csv(tmp_path / "u.csv")
    (tmp_path / "h.csv").write_text("a,b\n")
    x = rd.read_csv(tmp_path / "h.csv")
    assert x.to_pandas().shape == (0, 2) and x.dtype.names == ("a", "b")
    (tmp_path / "crlf.csv").write_bytes(b"a,b\r\n1,x\r\n2,y")  # CRLF, no final line end
    assert_frames(rd.read_csv(tmp_path / "crlf.csv").to_pandas(), pd.read_csv(tmp_path / "crlf.csv"))


def test_parquet_categorical_dates_unsigned_nullable_bool(tmp_path):
    df = pd.DataFrame({"c": pd.Categorical(["a", "b", None, "a"]), "u": np.arange(4, dtype=np.uint16),
                       "bn": pd.array([True, None, False, True], dtype="boolean"),
                       "d": pd.to_datetime(["2020-01-01", "2020-01-02", None, "2020-01-04"]).date})
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "c.parquet")
    x = rd.read_parquet(tmp_path / "c.parquet")
    assert x.dtype["u"] == np.uint16 and x.dtype["bn"] == np.float64 and x.dtype["d"] == np.dtype("M8[s]")
    got = x.to_pandas()
    assert got["c"].tolist()[:2] == ["a", "b"] and pd.isna(got["c"][2])
    assert got["bn"].tolist()[::2] == [1.0, 0.0] and np.isnan(got["bn"][1])
    assert got["d"].tolist()[0] == pd.Timestamp("2020-01-01") and pd.isna(got["d"][2])


@pytest.mark.parametrize("make", [
    lambda x: x["id"] >= 420, lambda x: 30 > x["id"], lambda x: x["id"] == 7, lambda x: x["f"] > 0.5,
    lambda x: x["small"] <= 2.5, lambda x: x["nint"] < 0, lambda x: x["s"] == "z", lambda x: x["flag"] == True,  # noqa: E712
    lambda x: x["s"] >= "b", lambda x: x["small"] > -1, lambda x: x["id"] != 3, lambda x: x["f"] > np.float64(0.1),
])
def test_masks_on_a_parquet_read_skip_row_groups(ctx, parquet_file, make):
    """``t[t["f"] > c]`` reads with that filter: row groups its statistics exclude are not read,
    and the rows are those of the mask."""
    path, df = parquet_file
    x = rd.read_parquet(path)
    want = x.to_pandas()
    keep = np.asarray(make(want)).astype(bool)
    y = x[make(x)]
    assert_frames(y.to_pandas(), want[keep])
    if make is not None and "skipped by statistics" in y.explain():
        assert y._node.op == "read_parquet"


def test_a_pushed_mask_is_counted_in_explain(parquet_file):
    path, _ = parquet_file
    x = rd.read_parquet(path)
    y = x[x["id"] >= 420]
    assert "filters id >= 420: 8 of 10 row group(s) skipped by statistics" in y.explain()
    z = rd.read_parquet(path, filters=[("small", "<", 50)])
    assert "8 of 10" in z[z["id"] >= 420].explain()  # and'ed to the filters given


def test_workers_read_only_the_fields_used(processes_context, tmp_path):
    """The stage sent to a worker carries the planner's column pruning: the reader there is told
    the fields (a file that holds one column readable only: the others are damaged)."""
    data = {f"c{i}": np.arange(100, dtype=np.float64) * i for i in range(16)}
    pq.write_table(pa.table(data), tmp_path / "wide.parquet")
    with processes_context.as_default():
        x = rd.read_parquet(tmp_path / "wide.parquet")
        y = x[x["c3"] * 1 > 10]["c5"]
        from rdarray.storage.parquet import ParquetReader

        class Spy(ParquetReader):
            def __call__(self, p, fields=None):
                assert fields == ("c3", "c5"), fields
                return super().__call__(p, fields)

        x._node.func = Spy(x._node.func.parts, x._node.func.dtype, None, x._node.func.order)
        np.testing.assert_array_equal(y.compute(), data["c5"][data["c3"] > 10])


def test_damaged_pages_of_a_written_file(tmp_path):
    """to_parquet writes page checksums, and read_parquet verifies them: damage inside a page is
    an error naming the file, not wrong values."""
    x = rd.from_numpy(np.array([(float(i), i) for i in range(100_000)], dtype=[("a", "f8"), ("b", "i8")]),
                      npartitions=1)
    x.to_parquet(tmp_path / "out", compression="none")
    file = tmp_path / "out" / "part-00000.parquet"
    data = bytearray(file.read_bytes())
    for k in range(1000, 1400):
        data[k] ^= 0xFF
    file.write_bytes(bytes(data))
    with pytest.raises(rd.CorruptDataError, match="part-00000.parquet"):
        rd.read_parquet(tmp_path / "out").compute()


def test_filters_on_columns_not_read(parquet_file):
    path, _ = parquet_file
    filters = [("id", ">", 400), ("flag", "==", True)]
    want = pq.read_table(path, columns=["s"], filters=filters).to_pandas()
    x = rd.read_parquet(path, columns=["s"], filters=filters)
    assert x.dtype.names == ("s",)
    assert_frames(x.to_pandas(), want)


def test_fixed_width_bytes_and_str_round_trip(tmp_path):
    a = np.array([(b"ab", "xyz", 1), (b"c", "", 2), (b"", "q", 3)], dtype=[("b", "S2"), ("u", "U3"), ("i", "i4")])
    rd.from_numpy(a).to_parquet(tmp_path / "out")
    x = rd.read_parquet(tmp_path / "out")
    assert x.dtype["b"] == np.dtype("S2") and x.dtype["i"] == np.int32  # U comes back as variable-width text
    got = x.compute()
    assert got["b"].tolist() == [b"ab", b"c", b""] and got["u"].tolist() == ["xyz", "", "q"]
    assert pd.read_parquet(tmp_path / "out")["b"].tolist() == [b"ab", b"c", b""]


def test_concurrent_overwrites_leave_one_whole_dataset(tmp_path):
    import threading

    out = tmp_path / "out"
    frames = [expected(frame(200, seed=k)) for k in range(4)]
    errors = []

    def write(df):
        try:
            rd.from_pandas(df, npartitions=2).to_parquet(out, overwrite=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(df,)) for df in frames]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = pd.read_parquet(out)
    assert any(np.array_equal(got["f"].to_numpy(), df["f"].to_numpy(), equal_nan=True) for df in frames)
    assert sorted(os.listdir(tmp_path)) == ["out"]


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz"])
def test_read_compressed_csv(tmp_path, suffix):
    df = frame(300).drop(columns=["tz"])
    path = tmp_path / f"data{suffix}"
    df.to_csv(path, index=False)
    x = rd.read_csv(path, parse_dates=["t"])
    assert x.npartitions == 1  # a compressed file is read whole
    assert_frames(x.to_pandas(), pd.read_csv(path, parse_dates=["t"]))
    assert_frames(rd.read_csv(str(tmp_path)).to_pandas(), pd.read_csv(path))


def test_schemas_differing_only_in_nullability_and_metadata(tmp_path):
    a = pa.table({"a": [1, 2]}).replace_schema_metadata({"x": "1"})
    b = pa.Table.from_arrays([pa.array([3, 4])], schema=pa.schema([pa.field("a", pa.int64(), nullable=False)]))
    pq.write_table(a, tmp_path / "a.parquet")
    pq.write_table(b, tmp_path / "b.parquet")
    assert rd.read_parquet(tmp_path)["a"].compute().tolist() == [1, 2, 3, 4]
    pq.write_table(pa.table({"b": [1], "a": [2]}), tmp_path / "c.parquet")
    pq.write_table(pa.table({"a": [1], "b": [2]}), tmp_path / "d.parquet")
    with pytest.raises(ValueError, match="another order"):
        rd.read_parquet([tmp_path / "c.parquet", tmp_path / "d.parquet"])
