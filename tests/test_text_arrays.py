"""Variable-width text through the engine, on every backend, against pandas on the same data:
1-D text arrays and text fields of tables, with missing values, empty and one-row partitions."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rdarray as rd
from rdarray.text import TEXT

WORDS = ["a", None, "ccc", "a", "", "é" * 3, None, "x" * 200, "b", "a"]


def text_array(items) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in items], dtype=TEXT)


def assert_text_equal(got, items) -> None:
    assert isinstance(got.dtype, np.dtypes.StringDType)
    pd.testing.assert_series_equal(pd.Series(got.astype(object), dtype="str"), pd.Series(items, dtype="str"))


@pytest.mark.parametrize("npartitions", [1, 3, 12])
def test_text_arrays_against_pandas(ctx, npartitions):
    a = text_array(WORDS)
    s = pd.Series(WORDS, dtype="str")
    x = rd.from_numpy(a, npartitions=npartitions)
    assert x.dtype == TEXT
    assert_text_equal(x.compute(), WORDS)
    np.testing.assert_array_equal((x == "a").compute(), (s == "a").to_numpy())
    np.testing.assert_array_equal((x != "a").compute(), (s != "a").to_numpy())
    assert_text_equal(x[x == "a"].compute(), ["a", "a", "a"])
    assert_text_equal((x + "!").compute(), [None if v is None else v + "!" for v in WORDS])
    assert_text_equal(x.head(4), WORDS[:4])
    assert_text_equal(x.persist().compute(), WORDS)
    for na_position in ("last", "first"):
        expected = s.sort_values(kind="stable", na_position=na_position).tolist()
        assert_text_equal(x.sort(na_position=na_position).compute(), [None if v != v else v for v in expected])
    got = x.value_counts().to_pandas()
    expected = s.value_counts()
    assert dict(zip(got["value"], got["count"])) == expected.to_dict()
    uniques = x.unique().compute()
    assert sorted(v for v in uniques.astype(object) if v == v) == sorted(set(v for v in WORDS if v is not None))
    pd.testing.assert_series_equal(x.to_pandas(), s)


def test_constants_ending_in_nul_keep_their_nuls(ctx):
    items = ["a", "a\x00", None, "a\x00b", "b"]
    s = pd.Series(items, dtype="str")
    x = rd.from_numpy(text_array(items), npartitions=2)
    t = rd.from_pandas(pd.DataFrame({"s": s}), npartitions=2)
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        expected = getattr(s, op)("a\x00").to_numpy()
        np.testing.assert_array_equal(getattr(x, op)("a\x00").compute(), expected, err_msg=op)
        np.testing.assert_array_equal(getattr(t["s"], op)("a\x00").compute(), expected, err_msg=op)
    np.testing.assert_array_equal(np.equal("a\x00", x).compute(), (s == "a\x00").to_numpy())
    expected = pd.DataFrame({"s": s[s == "a\x00"]}).reset_index(drop=True)
    pd.testing.assert_frame_equal(t[t["s"] == "a\x00"].to_pandas(), expected)


@pytest.mark.parametrize("npartitions", [1, 5, 16])
def test_sort_by_one_text_field_against_pandas(ctx, npartitions):
    rng = np.random.default_rng(npartitions)
    words = [None, "", "a", "a\x00", "ab", "b", "é", "日本", "x" * 50]
    df = pd.DataFrame({"s": pd.Series([words[i] for i in rng.integers(len(words), size=300)], dtype="str"),
                       "v": np.arange(300.0)})
    t = rd.from_pandas(df, npartitions=npartitions)
    for descending in (False, True):
        for na_position in ("last", "first"):
            got = t.sort("s", descending=descending, na_position=na_position).to_pandas()
            want = df.sort_values("s", ascending=not descending, na_position=na_position, kind="stable")
            pd.testing.assert_frame_equal(got, want.reset_index(drop=True))


def test_one_row_and_empty_text(ctx):
    x = rd.from_numpy(text_array(["only"]), npartitions=1)
    assert_text_equal(x.compute(), ["only"])
    assert_text_equal(x[x == "no"].compute(), [])
    assert_text_equal(x[x == "no"].sort().compute(), [])


FRAME = pd.DataFrame({
    "k": pd.Series(["a", None, "b", "a", "ccc", None, "é", "b", "a", "x" * 100], dtype="str"),
    "o": pd.Series(["p", "q", None, "p", "q", float("nan"), "p", "q", "p", None], dtype=object),
    "c": pd.Categorical(["x", "y", "x", "x", "y", "y", "x", "x", "y", "y"]),
    "v": np.arange(10.0),
    "i": np.arange(10, dtype=np.int64) % 3,
})


@pytest.mark.parametrize("npartitions", [1, 4, 13])
def test_text_fields_against_pandas(ctx, npartitions):
    t = rd.from_pandas(FRAME, npartitions=npartitions)
    df = FRAME.astype({"o": "str", "c": "str"})
    assert t.dtype["k"].kind == "O"
    pd.testing.assert_frame_equal(t.to_pandas(), df)
    pd.testing.assert_frame_equal(t[t["k"] == "a"].to_pandas(), df[df["k"] == "a"].reset_index(drop=True))
    for dropna in (True, False):
        got = t.groupby(["k", "o"], dropna=dropna).agg(s=("v", "sum"), n=("v", "count")).to_pandas()
        expected = df.groupby(["k", "o"], dropna=dropna).agg(s=("v", "sum"), n=("v", "count")).reset_index()
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    right = t[t["v"] > 2][["k", "v"]].rename(columns={"v": "w"})
    for how in ("inner", "left", "outer"):
        got = rd.merge(t, right, on="k", how=how).to_pandas().sort_values(["v", "w"]).reset_index(drop=True)
        expected = df.merge(df[df["v"] > 2][["k", "v"]].rename(columns={"v": "w"}), on="k", how=how)
        expected = expected.sort_values(["v", "w"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    for na_position in ("last", "first"):
        got = t.sort(["k", "v"], na_position=na_position).to_pandas()
        expected = df.sort_values(["k", "v"], na_position=na_position, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(t.persist().to_pandas(), df)
    got = t.partition_by("k", 3).to_pandas().sort_values("v").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, df)



def records_of(df: pd.DataFrame) -> list[tuple]:
    """The rows of ``df`` as tuples, missing text as None (NaN never equals itself)."""
    return [tuple(None if v is None or (isinstance(v, float) and v != v) else v for v in row)
            for row in df.itertuples(index=False)]


def test_records_with_text_fields(ctx):
    """compute() of tables with text fields: records with ``str`` objects (missing: NaN), empty,
    one row and many partitions (some empty) as pandas has them."""
    from rdarray.table import empty_records

    dtype = np.dtype([("k", object), ("v", "f8"), ("s", [("t", object), ("i", "i4")], (2,))])
    for n in (0, 1, 3):
        out = empty_records(n, dtype)
        assert out.shape == (n,) and out.dtype == dtype
        assert all(v is None for v in out["k"]) and all(v is None for v in out["s"]["t"].ravel())
    df = FRAME[["k", "v", "i"]]
    for npartitions in (1, 4, 13):
        t = rd.from_pandas(df, npartitions=npartitions)
        got = t.compute()
        assert got.dtype.names == ("k", "v", "i") and got["k"].dtype == object
        assert records_of(pd.DataFrame(got)) == records_of(df)
        assert len(t[t["v"] > 100].compute()) == 0
        assert records_of(pd.DataFrame(t[t["v"] == 2.0].compute())) == records_of(df[df["v"] == 2.0])
        right = rd.from_pandas(pd.DataFrame({"k": pd.Series(["a", "ccc", "zz"], dtype="str"), "w": [1.0, 2.0, 3.0]}),
                               npartitions=2)
        got = pd.DataFrame(rd.merge(t, right, on="k").compute()).sort_values("v").reset_index(drop=True)
        expected = df.merge(pd.DataFrame({"k": ["a", "ccc", "zz"], "w": [1.0, 2.0, 3.0]}), on="k")
        assert records_of(got) == records_of(expected.sort_values("v").reset_index(drop=True))

def test_missing_side_of_a_join_is_missing_not_empty(ctx):
    left = rd.from_pandas(pd.DataFrame({"key": [1, 2, 3], "a": [1.0, 2.0, 3.0]}), npartitions=2)
    right = rd.from_pandas(pd.DataFrame({"key": [1, 4], "name": ["one", "four"]}), npartitions=1)
    got = rd.merge(left, right, on="key", how="outer").to_pandas().sort_values("key").reset_index(drop=True)
    assert got["name"].isna().tolist() == [False, True, True, False]
    assert got["name"].tolist()[0] == "one"


def test_text_memory_follows_its_length():
    s = pd.Series(["x" * 1000] + ["ab"] * 999_999, dtype="str")
    x = rd.from_pandas(s, npartitions=4)
    held = sum(x._node.func(p).nbytes for p in range(x.npartitions))  # the source's partitions
    assert held <= 1.5 * s.memory_usage(deep=True, index=False)


def test_bad_text_input():
    with pytest.raises(TypeError, match="column 'o'.*int"):
        rd.from_pandas(pd.DataFrame({"o": pd.Series(["a", 3], dtype=object)}))


def test_merge_asof_by_text(ctx):
    left = pd.DataFrame({"t": np.arange(1, 20, 2, dtype=np.int64),
                         "sym": pd.Series(["a", "b", None, "a", "b", "é", "a", None, "b", "é"], dtype="str")})
    right = pd.DataFrame({"t": np.arange(0, 20, 3, dtype=np.int64),
                          "sym": pd.Series(["a", "b", "é", None, "a", "b", "é"], dtype="str"), "q": np.arange(7.0)})
    got = rd.merge_asof(rd.from_pandas(left, npartitions=3), rd.from_pandas(right, npartitions=2), on="t",
                        by="sym").to_pandas()
    pd.testing.assert_frame_equal(got, pd.merge_asof(left, right, on="t", by="sym"))


def test_text_spills_and_comes_back(tmp_path):
    rows = 200_000
    df = pd.DataFrame({"k": pd.Series([f"key-{i % 977}" if i % 13 else None for i in range(rows)], dtype="str"),
                       "v": np.arange(float(rows))})
    with rd.Context(backend="threads", memory_limit=1_000_000, spill_dir=str(tmp_path)) as ctx:
        t = rd.from_pandas(df, npartitions=40).map_partitions(lambda b: b).persist()
        pd.testing.assert_frame_equal(t.to_pandas(), df)
        assert ctx.store.spilled_bytes > 0  # some partitions went to disk as text frames
        got = t.groupby("k").agg(n=("v", "count")).to_pandas()
        expected = df.groupby("k").agg(n=("v", "count")).reset_index()
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
                          st.text("xy", min_size=300, max_size=600)), max_size=60),
       st.integers(1, 8))
def test_random_unicode_through_the_engine(items, npartitions):
    df = pd.DataFrame({"s": pd.Series(items, dtype="str"), "v": np.arange(float(len(items)))})
    with rd.Context(backend="threads"):
        t = rd.from_pandas(df, npartitions=min(npartitions, max(len(items), 1)))
        pd.testing.assert_frame_equal(t.to_pandas(), df)
        got = t.groupby("s", dropna=False).agg(n=("v", "count"), m=("v", "min")).to_pandas()
        expected = df.groupby("s", dropna=False).agg(n=("v", "count"), m=("v", "min")).reset_index()
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
        got = t.sort(["s", "v"], na_position="first").to_pandas()
        expected = df.sort_values(["s", "v"], na_position="first", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
        if items:
            probe = next((v for v in items if v is not None), "")
            pd.testing.assert_frame_equal(t[t["s"] == probe].to_pandas(),
                                          df[df["s"] == probe].reset_index(drop=True))


STRINGS_CALLS = [("upper", ()), ("lower", ()), ("capitalize", ()), ("title", ()), ("swapcase", ()),
                 ("strip", ()), ("lstrip", ("a",)), ("rstrip", ()), ("replace", ("a", "xy")),
                 ("replace", ("a", "", 1)), ("center", (6, "*")), ("ljust", (4,)), ("rjust", (4,)),
                 ("zfill", (5,)), ("multiply", (2,)), ("expandtabs", ()), ("find", ("a",)),
                 ("rfind", ("c",)), ("count", ("a",)), ("slice", (0, 2)), ("translate", ({97: 98},))]


@pytest.mark.parametrize("layout", ["text", "text missing", "U", "S"])
@pytest.mark.parametrize("name, args", STRINGS_CALLS, ids=[f"{n}{a}" for n, a in STRINGS_CALLS])
def test_numpy_strings_functions_as_numpy_applies_them(name, args, layout):
    """Every np.strings function on a partitioned array gives what it gives on the whole array,
    its error included (NumPy refuses missing values in some of them). Fixed-width text gives
    variable-width text (NumPy sizes these results from every value); bytes are refused."""
    words = ["a", "ccc", "", " a\tb ", "é" * 3, "x" * 50, "ßa", "a"]
    func = getattr(np.strings, name)
    if layout == "S":
        a = np.array([w.encode("utf-8") for w in words])
        args = tuple(v.encode() if isinstance(v, str) else v for v in args)
        if hasattr(func, "_implementation"):  # NumPy sizes its result from every value
            with pytest.raises(TypeError, match="fixed-width bytes"):
                func(rd.from_numpy(a, npartitions=3), *args)
            return
    elif layout == "U":
        a = np.array(words)
    else:
        a = text_array(words + ([None, None] if layout == "text missing" else []))
    x = rd.from_numpy(a, npartitions=3)
    try:
        want = func(a, *args)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            np.asarray(func(x, *args).compute())
        assert x.count() == len(a)  # the context is still usable
        return
    got = np.asarray(func(x, *args).compute())
    # the functions NumPy builds of ufuncs keep U; those sizing U results from the data give text
    assert got.dtype == want.dtype or (layout == "U" and got.dtype == TEXT and want.dtype.kind == "U")
    assert got.tolist() == want.tolist() or np.array_equal(got, want, equal_nan=True)


def test_casting_to_text_in_workers_while_the_driver_reads_text():
    """NumPy takes a StringDType's allocator lock holding the GIL; the text kernels must not take
    the GIL back while they hold it (this deadlocked within a few rounds)."""
    a = np.array(["a", "bb", "ccc"] * 500)
    for _ in range(100):
        got = rd.from_numpy(a, npartitions=4).astype(TEXT).compute()
    assert got.tolist() == a.tolist()


def test_numpy_strings_functions_of_two_text_arrays():
    a, b = text_array(["ab", "cd", None, "e"]), text_array(["a", "x", "y", ""])
    x, y = rd.from_numpy(a, npartitions=2), rd.from_numpy(b, npartitions=3)
    got = np.asarray(np.strings.replace(x, y, "Z").compute())
    assert got.tolist() == np.strings.replace(a, b, "Z").tolist()
