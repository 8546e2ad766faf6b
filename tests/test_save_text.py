"""Saving and loading text (saved format version 3, docs/FORMAT.md): 1-D text arrays and tables
with text fields, on every backend, against pandas and NumPy on the same data; the frames' owners
and damage checked as for any saved array; version-2 tables still load."""

import json

import numpy as np
import pandas as pd
import pytest

import rdarray as rd
from _helpers import part_file
from rdarray.storage.frame import encode
from rdarray.text import FIELD, TEXT

WORDS = ["a", None, "", "é" * 3, "x" * 1000, "日本語", None, "b", "a", ""]


def text_array(items) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in items], dtype=TEXT)


def assert_text_equal(got, items) -> None:
    assert isinstance(got.dtype, np.dtypes.StringDType)
    pd.testing.assert_series_equal(pd.Series(got.astype(object), dtype="str"), pd.Series(items, dtype="str"))


def frame(n: int = 10) -> pd.DataFrame:
    words = (WORDS * (n // len(WORDS) + 1))[:n]
    return pd.DataFrame({
        "s": pd.Series(words, dtype="str"),
        "i": np.arange(n, dtype=np.int64) % 3,
        "f": np.where(np.arange(n) % 4 == 1, np.nan, np.arange(n) / 7),
        "b": np.arange(n) % 2 == 0,
        "t": pd.date_range("2021-03-01", periods=n, freq="h").astype("datetime64[ns]"),
        "u": pd.Series([None if k % 5 == 0 else f"w{k % 3}" for k in range(n)], dtype="str"),
    })


def meta(path) -> dict:
    return json.loads((path / "_meta.json").read_text())


@pytest.mark.parametrize("npartitions", [1, 4, 13])
def test_text_arrays_round_trip(ctx, tmp_path, npartitions):
    x = rd.from_numpy(text_array(WORDS), npartitions=npartitions)  # 13: empty partitions
    x.save(tmp_path / "s")
    assert meta(tmp_path / "s")["version"] == 3 and meta(tmp_path / "s")["dtype"] == "text"
    y = rd.load(tmp_path / "s")
    assert y.dtype == TEXT and y.partition_lengths == x.partition_lengths
    assert_text_equal(y.compute(), WORDS)
    for p, part in enumerate(y.partitions()):
        assert_text_equal(part, WORDS[sum(x.partition_lengths[:p]):][:len(part)])
    np.testing.assert_array_equal((y == "a").compute(), pd.Series(WORDS, dtype="str").eq("a").to_numpy())


def test_text_array_with_no_missing_values_and_no_rows(ctx, tmp_path):
    words = ["only"]
    rd.from_numpy(text_array(words), npartitions=1).save(tmp_path / "one")
    assert_text_equal(rd.load(tmp_path / "one").compute(), words)
    x = rd.from_numpy(text_array(WORDS), npartitions=3)
    empty = x[x == "never"]
    empty.save(tmp_path / "none")
    got = rd.load(tmp_path / "none")
    assert got.partition_lengths == (0, 0, 0)
    assert_text_equal(got.compute(), [])


@pytest.mark.parametrize("npartitions", [1, 3, 10, 25])
def test_tables_round_trip_against_pandas(ctx, tmp_path, npartitions):
    df = frame(20)
    rd.from_pandas(df, npartitions=npartitions).save(tmp_path / "t")
    m = meta(tmp_path / "t")
    assert m["version"] == 3 and m["dtype"]["fields"][0][:2] == ["s", "text-field"]
    y = rd.load(tmp_path / "t")
    pd.testing.assert_frame_equal(y.to_pandas(), df)
    assert y.dtype["s"] == FIELD and len(y.partition_lengths) == npartitions
    pd.testing.assert_frame_equal(y[y["s"] == "a"].to_pandas(), df[df["s"] == "a"].reset_index(drop=True))


def test_many_partitions_long_values(ctx, tmp_path):
    n = 3000
    df = pd.DataFrame({"s": pd.Series([None if k % 7 == 0 else chr(0x400 + k % 50) * (k % 1001) for k in range(n)],
                                      dtype="str"), "v": np.arange(n, dtype=np.float64)})
    rd.from_pandas(df, npartitions=64).save(tmp_path / "t")
    pd.testing.assert_frame_equal(rd.load(tmp_path / "t").to_pandas(), df)


def test_sub_array_and_metadata_fields(ctx, tmp_path):
    tz = np.dtype("<M8[ns]", metadata={"tz": "Europe/Paris"})
    dtype = np.dtype([("s", FIELD), ("m", "<f8", (2, 3)), ("t", tz), ("k", ">i4")])
    rows = np.zeros(7, dtype)
    rows["s"] = ["p", "", "ü" * 1000, "q", "p", "r", "s"]
    rows["m"] = np.arange(42.0).reshape(7, 2, 3)
    rows["t"] = np.arange(7).astype("<M8[ns]")
    rows["k"] = np.arange(7) - 3
    x = rd.from_numpy(rows, npartitions=3)
    x.save(tmp_path / "t")
    y = rd.load(tmp_path / "t")
    assert y.dtype == dtype and y.dtype["t"].metadata == {"tz": "Europe/Paris"} and y.dtype["k"].str == ">i4"
    got = y.compute()
    assert got.dtype == dtype
    for name in ("m", "t", "k"):
        np.testing.assert_array_equal(got[name], rows[name])
    assert list(got["s"]) == list(rows["s"])


def test_dtype_json_round_trips_and_refuses_objects():
    from rdarray.storage.saved import dtype_from_json, dtype_to_json

    tz = np.dtype("<M8[us]", metadata={"tz": "UTC", "other": 3})
    for dtype in (TEXT, np.dtype([("a", FIELD), ("b", "<U3"), ("c", "|S2"), ("d", tz), ("e", ">c16", (2,))]),
                  np.dtype({"names": ["x", "y"], "formats": ["<f4", FIELD], "offsets": [12, 0], "itemsize": 24})):
        spec = json.loads(json.dumps(dtype_to_json(dtype)))
        assert dtype_from_json(spec) == dtype
    assert dtype_from_json(dtype_to_json(tz)).metadata == {"tz": "UTC"}  # only str -> str entries
    with pytest.raises(TypeError):
        dtype_to_json(np.dtype(object))
    for bad in ({"descr": "|O"}, {"descr": "<f8", "metadata": {"a": 1}}, {"descr": "<f8", "x": 1}, "object",
                {"fields": [["a", {"descr": "|O"}, 0]], "itemsize": 8}, {"subarray": "text", "shape": [-1]}, 3):
        with pytest.raises(ValueError):
            dtype_from_json(bad)


def test_checkpoint_and_computing_on_loaded_text(ctx, tmp_path):
    df = frame(40)
    t = rd.from_pandas(df, npartitions=5)
    c = t.checkpoint(tmp_path / "c")
    pd.testing.assert_frame_equal(c.to_pandas(), df)
    loaded = rd.load(tmp_path / "c")
    for dropna in (True, False):
        got = loaded.groupby(["s"], dropna=dropna).agg(n=("f", "count"), m=("i", "sum")).to_pandas()
        expected = df.groupby(["s"], dropna=dropna).agg(n=("f", "count"), m=("i", "sum")).reset_index()
        pd.testing.assert_frame_equal(got.sort_values("s", na_position="last").reset_index(drop=True),
                                      expected.sort_values("s", na_position="last").reset_index(drop=True),
                                      check_dtype=False)
    right = rd.from_pandas(df[["u", "f"]].rename(columns={"u": "s", "f": "g"}).iloc[:8], npartitions=2)
    right.save(tmp_path / "r")
    got = rd.merge(loaded, rd.load(tmp_path / "r"), on="s", how="inner").to_pandas()
    expected = df.merge(df[["u", "f"]].rename(columns={"u": "s", "f": "g"}).iloc[:8], on="s", how="inner")
    key = ["t", "g"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True), check_dtype=False)


def test_checkpoint_of_text_without_path(ctx):
    x = rd.from_numpy(text_array(WORDS), npartitions=4)
    assert_text_equal(x.checkpoint().compute(), WORDS)


# -- damage and owners -------------------------------------------------------------------------

def _saved_table(path, sign: int = 1):
    df = pd.DataFrame({"s": pd.Series(["a", None, "bb" * 50, ""] * 25, dtype="str"),
                       "v": sign * np.arange(100.0)})
    rd.from_pandas(df, npartitions=2).save(path)
    return df


@pytest.mark.parametrize("kind", ["table", "text"])
def test_frames_moved_between_arrays_or_partitions_are_refused(tmp_path, kind):
    def make(path, sign):
        if kind == "table":
            _saved_table(path, sign)
        else:
            rd.from_numpy(text_array(["a", None, "b", str(sign)] * 25), npartitions=2).save(path)

    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    make(a, 1)
    make(b, -1)
    make(c, 1)
    part_file(a, 0).write_bytes(part_file(b, 0).read_bytes())
    with pytest.raises(rd.CorruptDataError, match="partition 0 of array .* not partition 0 of array"):
        rd.load(a)
    first, second = part_file(c, 0).read_bytes(), part_file(c, 1).read_bytes()
    part_file(c, 0).write_bytes(second)
    part_file(c, 1).write_bytes(first)
    with pytest.raises(rd.CorruptDataError, match="partition 1 of this array, not partition 0|foreign"):
        rd.load(c)


@pytest.mark.parametrize("kind", ["table", "text"])
def test_corrupted_and_truncated_frames(tmp_path, kind):
    path = tmp_path / "s"
    if kind == "table":
        df = _saved_table(path)
    else:
        rd.from_numpy(text_array(WORDS * 10), npartitions=2).save(path)
    good = part_file(path, 1).read_bytes()
    broken = [b"", good[:6], good[:20], good[:-1], good + b"\0"]
    for k in (9, 14, 30, len(good) // 2, len(good) - 3):  # the header's length, its JSON, the frames
        data = bytearray(good)
        data[k] ^= 0xFF
        broken.append(bytes(data))
    for data in broken:
        part_file(path, 1).write_bytes(data)
        with pytest.raises(rd.CorruptDataError, match="load: "):
            rd.load(path).compute()
    part_file(path, 1).write_bytes(good)
    loaded = rd.load(path)
    if kind == "table":
        pd.testing.assert_frame_equal(loaded.to_pandas(), df)
    else:
        assert_text_equal(loaded.compute(), WORDS * 10)


def test_metadata_that_does_not_match_the_frames(tmp_path):
    path = tmp_path / "s"
    _saved_table(path)
    good = (path / "_meta.json").read_text()
    m = json.loads(good)
    cases = [
        {**m, "dtype": {"fields": [["s", "text-field", 0], ["w", {"descr": "<f8"}, 8]], "itemsize": 16}},
        {**m, "dtype": {"fields": [["s", {"descr": "<f8"}, 0], ["v", {"descr": "<f8"}, 8]], "itemsize": 16}},
        {**m, "dtype": {"fields": [["s", "text-field", 0], ["v", "text-field", 8]], "itemsize": 16}},
        {**m, "dtype": {"fields": [["s", "text-field", 0], ["v", {"descr": "<f4"}, 8]], "itemsize": 12}},
        {**m, "dtype": "text"},
        {**m, "dtype": {"descr": "<f8"}},
        {**m, "dtype": {"descr": "|O"}},
        {**m, "dtype": np.lib.format.dtype_to_descr(np.dtype([("s", "<f8"), ("v", "<f8")]))},
        {**m, "version": 2},
    ]
    for case in cases:
        (path / "_meta.json").write_text(json.dumps(case))
        with pytest.raises(rd.CorruptDataError):
            rd.load(path).compute()


# -- version 2 ---------------------------------------------------------------------------------

def test_version_2_tables_load_as_before(tmp_path):
    """A table saved by version 2: one records frame per partition, its dtype as a NumPy descr."""
    path = tmp_path / "old"
    array_id = "0123456789abcdef0123456789abcdef"
    (path / f"v-{array_id}").mkdir(parents=True)
    dtype = np.dtype([("k", "<i8"), ("v", ">f8"), ("m", "<i2", (2,))])
    rows = np.zeros(9, dtype)
    rows["k"], rows["v"], rows["m"] = np.arange(9) % 4, np.arange(9) / 2, np.arange(18).reshape(9, 2)
    lengths = [4, 0, 5]
    start = 0
    for p, n in enumerate(lengths):
        part = path / f"v-{array_id}" / f"part-{p:05d}.rdb"
        part.write_bytes(encode(rows[start:start + n], owner=(bytes.fromhex(array_id), p)).tobytes())
        start += n
    (path / "_meta.json").write_text(json.dumps({
        "format": "rdarray", "version": 2, "id": array_id, "dtype": np.lib.format.dtype_to_descr(dtype),
        "shape": [9], "partition_lengths": lengths, "partitioner": None,
        "codec": {"name": "lz4", "clevel": 5, "filter": "shuffle"}}))
    y = rd.load(path)
    assert y.dtype == dtype and y.partition_lengths == tuple(lengths)
    got = y.compute()
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, rows)
    y.save(tmp_path / "new")  # saved again: version 3, per field
    assert meta(tmp_path / "new")["version"] == 3
    np.testing.assert_array_equal(rd.load(tmp_path / "new").compute(), rows)


def test_numeric_arrays_stay_version_2(tmp_path):
    rd.arange(10, npartitions=2).save(tmp_path / "n")
    assert meta(tmp_path / "n")["version"] == 2
    np.testing.assert_array_equal(rd.load(tmp_path / "n").compute(), np.arange(10))
