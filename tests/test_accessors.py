"""``isin``, ``between``, ``.dt`` and ``.str``, with pandas as the oracle: NaN, NaT and missing
text, empty partitions, one row, every text layout (variable-width, ``S``, ``U``), timezone-aware
times, datetime units s to ns, on every backend (the ``ctx`` fixture)."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import rdarray as rd

TEXT = np.dtypes.StringDType(na_object=np.nan)
LAYOUTS = [(0, 3, 0, 2, 1), (1,)]  # empty partitions among full ones; one row


def parts(a, lengths) -> rd.PartitionedArray:
    """``a`` cut into partitions of ``lengths`` (repeated as needed to cover it; zeros kept)."""
    lengths = list(lengths)
    while sum(lengths) < len(a):
        lengths.append(min(3, len(a) - sum(lengths)))
    if sum(lengths) > len(a):
        lengths = [len(a)]
    return rd.from_numpy(a, partition_lengths=lengths)


def values_of(got) -> list:
    """A computed result as a list, NaN (missing text, NaN) as None."""
    return [None if isinstance(v, float) and np.isnan(v) else v for v in np.asarray(got).tolist()]


def series_values(s: pd.Series) -> list:
    return [None if (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is None else v
            for v in s.tolist()]


WORDS = ["apple", None, "Banana", "", "  pad ", "cherry pie", "ßtraße", "İstanbul", "日本語", "a.b", "APPLE",
         "x\ty", "bänana"]


def text_layouts(words=WORDS):
    """``(kind, array, pandas Series)`` for each text layout: variable-width with missing values,
    ``U`` and ``S`` (no missing values there: missing words become ``""``)."""
    plain = ["" if w is None else w for w in words]
    ascii_ = [w.encode("ascii", "replace").decode() for w in plain]
    return [
        ("text", np.array([np.nan if w is None else w for w in words], dtype=TEXT), pd.Series(words, dtype="str")),
        ("U", np.array(plain), pd.Series(plain, dtype="str")),
        ("S", np.array([w.encode() for w in ascii_]), pd.Series(ascii_, dtype="str")),
    ]


# -- isin and between --------------------------------------------------------------------------------

@pytest.mark.parametrize("lengths", LAYOUTS)
def test_isin_floats_as_pandas(ctx, lengths):
    a = np.array([1.0, np.nan, 3.5, -0.0, 2.0, np.inf, 7.0][: max(1, sum(lengths) + 2)])
    x = parts(a, lengths)
    for values in ([1, 3.5, 0.0], [np.nan, 2], [None], [], np.array([np.inf, 7.0]), {1.0, "1"}):
        expected = pd.Series(a).isin(values).to_numpy()
        np.testing.assert_array_equal(x.isin(values).compute(), expected, err_msg=str(values))
        np.testing.assert_array_equal(np.isin(x, values).compute(), expected)
        np.testing.assert_array_equal(np.isin(x, values, invert=True).compute(), ~expected)


def test_isin_integers_bools_exactly(ctx):
    a = np.array([2**53 + 1, 2**53, -5, 0, 255, 2**63 - 1], dtype=np.int64)
    x = parts(a, (0, 2, 0, 4))
    for values in ([2.0**53], [2**53 + 1], [0.5, 255.0, -5], [2**63 - 1, 2**64], np.array([2**63], np.uint64),
                   np.array([0.0, 1.5])):
        np.testing.assert_array_equal(x.isin(values).compute(), pd.Series(a).isin(values).to_numpy(),
                                      err_msg=str(values))
    b = np.array([True, False, True])
    y = parts(b, (0, 2, 1))
    for values in ([1], [1.0], [0], ["True"], [2]):
        np.testing.assert_array_equal(y.isin(values).compute(), pd.Series(b).isin(values).to_numpy())
    u = parts(np.array([1, 200], np.uint8), (1, 1))
    np.testing.assert_array_equal(u.isin([-56, 200, 456]).compute(), [False, True])


@pytest.mark.parametrize("kind", ["text", "U", "S"])
def test_isin_text_every_layout(ctx, kind):
    _, a, s = next(t for t in text_layouts() if t[0] == kind)
    x = parts(a, LAYOUTS[0])
    for values in (["apple", "Banana", "nope"], [None], [np.nan, ""], ["APPLE", 1], ("日本語", "x\ty")):
        expected = s.isin(values).to_numpy()
        if kind != "text":  # no missing values there
            expected = s.isin([v for v in values if v is not None and v is not np.nan]).to_numpy()
        np.testing.assert_array_equal(x.isin(values).compute(), expected, err_msg=str(values))
    # values in an array of another text layout, and in a PartitionedArray
    np.testing.assert_array_equal(x.isin(np.array(["apple", "cherry pie"], dtype=TEXT)).compute(),
                                  s.isin(["apple", "cherry pie"]).to_numpy())
    vals = parts(np.array(["Banana", "apple", "zzz"]), (0, 1, 2))
    np.testing.assert_array_equal(x.isin(vals).compute(), s.isin(["Banana", "apple"]).to_numpy())


@pytest.mark.parametrize("dtype", ["S1", "S2", "S3", "S4", "S8", "U1", "U2", ">U2", "U3"])
def test_isin_short_fixed_width_text_as_numpy(ctx, dtype):
    """Rows of a machine word (S1-S8, U1, U2) are looked up as integers: members longer than the
    width, with trailing NULs, non-ASCII or of the other kind, as NumPy's isin finds them."""
    words = ["", "a", "ab", "abcd", "abcdefgh", "é", "日本", "a\0b"]
    a = np.array([w.encode("utf-8") if dtype[-2] == "S" else w for w in words * 3], dtype=dtype)
    x = rd.from_numpy(a, npartitions=3)
    for members in (["a", "abcdefgh", "abcdefghi"], [b"ab", b"ab\0", "日本"], ["é", "", "a\0b"], [], [b"abcd"]):
        fitting = [m for m in members if isinstance(m, bytes) == (dtype[-2] == "S")
                   or (dtype[-2] == "S" and isinstance(m, str))]
        as_kind = [m.encode("utf-8") if isinstance(m, str) and dtype[-2] == "S" else m for m in fitting]
        expected = np.isin(a, np.array(as_kind, dtype=object)) if as_kind else np.zeros(len(a), bool)
        np.testing.assert_array_equal(x.isin(members).compute(), expected, err_msg=f"{dtype} {members}")


def test_isin_partitioned_values_computed_once_in_the_plan(ctx):
    a = np.arange(20.0)
    a[3] = np.nan
    x = parts(a, (0, 7, 0, 13))
    v = parts(np.array([np.nan, 4.0, 5.0, 19.0, 40.0]), (2, 0, 3))
    got = x.isin(v)
    assert got.lineage.dependency_kinds == ("one-to-one", "broadcast")
    np.testing.assert_array_equal(got.compute(), pd.Series(a).isin([np.nan, 4.0, 5.0, 19.0, 40.0]).to_numpy())
    # of a filtered array, whose lengths are unknown, and mixed into an expression
    w = v[v > 4.5]
    np.testing.assert_array_equal((x.isin(w) & (x > 5)).compute(), np.isin(a, [19.0, 40.0]))
    # the values of a field of a table
    t = rd.from_numpy(np.array([(1, 4.0), (2, 19.0)], dtype=[("k", "i8"), ("v", "f8")]))
    np.testing.assert_array_equal(np.isin(x, t["v"]).compute(), np.isin(a, [4.0, 19.0]))


def test_isin_times_naive_and_zoned(ctx):
    stamps = pd.to_datetime(["2020-01-01 10:00", None, "2021-06-30 23:59:59.123456789", "1969-07-20 20:17"],
                            format="ISO8601")
    for unit in ("s", "ms", "us", "ns"):
        s = pd.Series(stamps.as_unit(unit))
        x = parts(s.to_numpy(), (0, 2, 0, 2))
        for values in ([pd.NaT], [None], [s[0], "2020-01-01 10:00"], [np.datetime64(s[0])],
                       [s[0].to_pydatetime()], np.array([s[3].to_datetime64()])):
            np.testing.assert_array_equal(x.isin(values).compute(), s.isin(values).to_numpy(),
                                          err_msg=f"{unit} {values}")
    df = pd.DataFrame({"t": stamps.tz_localize("America/New_York"), "k": range(4)})
    t = rd.from_pandas(df, npartitions=3)
    here = df["t"][0]
    for values in ([here], [here.tz_convert("Asia/Tokyo")], [here.tz_localize(None)], [pd.NaT],
                   [here.to_pydatetime()]):
        np.testing.assert_array_equal(t["t"].isin(values).compute(), df["t"].isin(values).to_numpy(),
                                      err_msg=str(values))
    np.testing.assert_array_equal(t["t"].isin(t["t"][:1]).compute(), [True, False, False, False])


def test_isin_timedeltas(ctx):
    a = np.array([1, 2, "NaT"], dtype="m8[s]")
    x = parts(a, (0, 3))
    np.testing.assert_array_equal(x.isin([np.timedelta64(2000, "ms"), pd.NaT]).compute(),
                                  pd.Series(a).isin([np.timedelta64(2000, "ms"), pd.NaT]).to_numpy())


@pytest.mark.parametrize("inclusive", ["both", "left", "right", "neither"])
def test_between_as_pandas(ctx, inclusive):
    a = np.array([1.0, np.nan, 3.0, 5.0, 10.0, -1.0])
    x = parts(a, (0, 4, 0, 2))
    np.testing.assert_array_equal(x.between(1, 5, inclusive=inclusive).compute(),
                                  pd.Series(a).between(1, 5, inclusive=inclusive).to_numpy())
    for kind, arr, s in text_layouts():
        y = parts(arr, (0, 5, 0, 8))
        np.testing.assert_array_equal(y.between("B", "b", inclusive=inclusive).compute(),
                                      s.between("B", "b", inclusive=inclusive).fillna(False).to_numpy(bool),
                                      err_msg=kind)
    df = pd.DataFrame({"t": pd.date_range("2024-03-30", periods=6, freq="7h", tz="Europe/Paris")})
    t = rd.from_pandas(df, npartitions=4)
    lo, hi = pd.Timestamp("2024-03-30 12:00", tz="Europe/Paris"), pd.Timestamp("2024-03-31 10:00", tz="UTC")
    np.testing.assert_array_equal(t["t"].between(lo, hi, inclusive=inclusive).compute(),
                                  df["t"].between(lo, hi, inclusive=inclusive).to_numpy())
    naive = pd.date_range("2024-03-30", periods=6, freq="7h").to_numpy()
    z = parts(naive, (0, 6))
    np.testing.assert_array_equal(z.between("2024-03-30 07:00", np.datetime64("2024-03-31"), inclusive).compute(),
                                  pd.Series(naive).between(pd.Timestamp("2024-03-30 07:00"),
                                                           pd.Timestamp("2024-03-31"), inclusive).to_numpy())


def test_isin_between_errors(ctx):
    x = parts(np.arange(4.0), (2, 2))
    with pytest.raises(TypeError, match="list-like.*str"):
        x.isin("abc")
    with pytest.raises(TypeError, match="list-like"):
        x.isin(3)
    with pytest.raises(ValueError, match="inclusive.*'middle'"):
        x.between(0, 1, inclusive="middle")
    table = rd.from_numpy(np.zeros(3, [("a", "f8"), ("b", "i4")]))
    with pytest.raises(TypeError, match="select a field"):
        table.isin([1])
    zoned = rd.from_pandas(pd.DataFrame({"t": pd.date_range("2020", periods=3, tz="UTC")}))["t"]
    with pytest.raises(TypeError, match="naive"):
        zoned.between(np.datetime64("2020-01-01"), np.datetime64("2020-01-02"))


# -- .dt -------------------------------------------------------------------------------------------

PROPERTIES = ["year", "month", "day", "hour", "minute", "second", "weekday", "dayofyear"]

STAMPS = ["2020-02-29 23:59:59.999", None, "1969-12-31 23:00:01", "1900-03-01 00:00", "2024-03-31 01:30",
          "2024-10-27 02:30", "2262-04-11 23:47:16.854775", "1677-09-21 00:12:44", "2000-01-01"]


def _pandas_property(s: pd.Series, name: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 deprecates weekday and dayofyear for day_of_*
        return getattr(s.dt, name).to_numpy(dtype=np.float64, na_value=np.nan)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_dt_properties_naive_as_pandas(ctx, unit):
    s = pd.Series(pd.to_datetime(STAMPS, format="ISO8601")).dt.as_unit(unit)
    x = parts(s.to_numpy(), LAYOUTS[0])
    for name in PROPERTIES:
        got = getattr(x.dt, name)
        assert got.dtype == np.float64  # documented: always float64 (pandas: int32 without NaT)
        np.testing.assert_array_equal(got.compute(), _pandas_property(s, name), err_msg=name)
    np.testing.assert_array_equal(x.dt.day_of_week.compute(), _pandas_property(s, "day_of_week"))
    np.testing.assert_array_equal(x.dt.day_of_year.compute(), _pandas_property(s, "day_of_year"))


@pytest.mark.parametrize("unit", ["D", "h", "m", "W", "M", "Y"])
def test_dt_properties_of_other_units(ctx, unit):
    a = np.array(["2019-12-30T05:07", "NaT", "1969-02-03T17:00", "2000-02-29T00:59"], dtype="M8[m]")
    a = a.astype(f"M8[{unit}]")
    x = parts(a, (0, 1, 3))
    s = pd.Series(a.astype("M8[s]"))
    for name in PROPERTIES:
        np.testing.assert_array_equal(getattr(x.dt, name).compute(), _pandas_property(s, name),
                                      err_msg=f"{unit} {name}")


@pytest.mark.parametrize("tz", ["Europe/Paris", "America/St_Johns", "Asia/Kolkata", "UTC"])
def test_dt_properties_zoned_are_wall_times(ctx, tz):
    stamps = pd.to_datetime(STAMPS[:-3], format="ISO8601").tz_localize("UTC").tz_convert(tz)
    df = pd.DataFrame({"t": stamps, "k": np.arange(len(stamps))})
    t = rd.from_pandas(df, npartitions=4)
    for name in PROPERTIES:
        np.testing.assert_array_equal(getattr(t["t"].dt, name).compute(), _pandas_property(df["t"], name),
                                      err_msg=name)
    one = rd.from_pandas(df[:1])  # one row
    np.testing.assert_array_equal(one["t"].dt.hour.compute(), _pandas_property(df["t"][:1], "hour"))


@pytest.mark.parametrize("freq", ["D", "h", "15min", "s", "ms", "us", "3h", "2D"])
def test_dt_floor_naive_as_pandas(ctx, freq):
    s = pd.Series(pd.to_datetime(STAMPS[:-3] + ["1960-06-15 11:11:11.111111"], format="ISO8601"))
    for unit in ("s", "us", "ns"):
        su = s.dt.as_unit(unit)
        x = parts(su.to_numpy(), LAYOUTS[0])
        got = x.dt.floor(freq)
        assert got.dtype == su.dtype
        np.testing.assert_array_equal(got.compute(), su.dt.floor(freq).to_numpy(), err_msg=f"{unit} {freq}")
    x = parts(s.to_numpy(), (2, 5))
    step = pd.Timedelta(freq if freq[0].isdigit() else "1" + freq)
    np.testing.assert_array_equal(x.dt.floor(step).compute(), s.dt.floor(freq).to_numpy())


@pytest.mark.parametrize("tz", ["Europe/Paris", "Asia/Kolkata"])
def test_dt_floor_zoned_keeps_the_zone(ctx, tz):
    df = pd.DataFrame({"t": pd.date_range("2024-03-30 20:13", periods=9, freq="97min", tz=tz).insert(2, pd.NaT)})
    t = rd.from_pandas(df, npartitions=3)
    for freq in ("h", "30min", "D"):
        got = t.assign(f=t["t"].dt.floor(freq))
        assert got["f"].dtype.metadata == {"tz": tz}
        pd.testing.assert_series_equal(got.to_pandas()["f"], df["t"].dt.floor(freq), check_names=False)


def test_dt_floor_coarse_units_and_errors(ctx):
    x = parts(np.array(["2020-05", "NaT", "1969-01"], dtype="M8[M]"), (1, 2))
    np.testing.assert_array_equal(x.dt.floor("h").compute(), x.compute())
    s = parts(np.array(["2020-05-01T00:00:07", "NaT"], dtype="M8[s]"), (2,))
    np.testing.assert_array_equal(s.dt.floor("ms").compute(), s.compute())  # finer than the values
    for bad in ("W", "M", "5x", "", "-1h"):
        with pytest.raises(ValueError, match="floor"):
            s.dt.floor(bad)
    with pytest.raises(TypeError, match="floor"):
        s.dt.floor(3)
    with pytest.raises(ValueError, match="unit"):
        s.dt.floor("1500ms")
    with pytest.raises(TypeError, match=r"\.dt.*float64"):
        _ = parts(np.arange(3.0), (3,)).dt.year
    with pytest.raises(TypeError, match=r"\.dt.*in Europe/Paris|\.dt.*StringDType"):
        _ = parts(np.array(["a"], dtype=TEXT), (1,)).dt.hour
    with pytest.raises(TypeError, match="select a field"):
        _ = rd.from_numpy(np.zeros(2, [("t", "M8[s]")])).dt.hour


# -- .str ------------------------------------------------------------------------------------------

def _text_same(got: rd.PartitionedArray, expected: pd.Series, msg: str = "") -> None:
    assert got.dtype == TEXT, got.dtype
    out = got.compute()
    assert out.dtype == TEXT
    assert values_of(out) == series_values(expected), msg


STRING_CASES = [
    ("lower", (), {}), ("upper", (), {}), ("strip", (), {}), ("lstrip", (), {}), ("rstrip", (), {}),
    ("strip", (" pe",), {}), ("slice", (1, 4), {}), ("slice", (None, None, -1), {}), ("slice", (-3,), {}),
    ("slice", (0, 10, 2), {}), ("replace", ("an", "AN"), {}), ("replace", ("a", ""), {"n": 1}),
    ("replace", (".", "!"), {}), ("replace", (r"(a)(n)", r"\2\1"), {"regex": True}),
    ("replace", ("A", "_"), {"regex": True, "case": False}),
]


@pytest.mark.parametrize("kind", ["text", "U", "S"])
def test_str_text_results_as_pandas(ctx, kind):
    _, a, s = next(t for t in text_layouts() if t[0] == kind)
    x = parts(a, LAYOUTS[0])
    for name, args, kwargs in STRING_CASES:
        expected = getattr(s.str, name)(*args, **kwargs)
        if name in ("upper", "lower"):  # Python's case mapping (pandas' Arrow-backed str maps ß to ẞ)
            expected = pd.Series([getattr(v, name)() if isinstance(v, str) else v for v in s], dtype=object)
        _text_same(getattr(x.str, name)(*args, **kwargs), expected, f"{kind} {name}{args}{kwargs}")
    _text_same(parts(a[:1], (1,)).str.upper(), s[:1].astype(object).str.upper(), "one row")


BOOL_CASES = [
    ("contains", ("an",), {}), ("contains", ("an",), {"na": True}), ("contains", ("AN",), {"case": False}),
    ("contains", ("a.b",), {"regex": False}), ("contains", ("a.b",), {}), ("contains", (r"^\s",), {}),
    ("contains", ("",), {}), ("contains", ("p+ie?",), {"flags": re.IGNORECASE}),
    ("contains", ("b",), {"case": False, "regex": False}),
    ("startswith", ("a",), {}), ("startswith", (("B", " "),), {}), ("endswith", ("e",), {"na": True}),
    ("endswith", ("",), {}),
]


@pytest.mark.parametrize("kind", ["text", "U", "S"])
def test_str_bool_results_as_pandas(ctx, kind):
    _, a, s = next(t for t in text_layouts() if t[0] == kind)
    x = parts(a, LAYOUTS[0])
    for name, args, kwargs in BOOL_CASES:
        got = getattr(x.str, name)(*args, **kwargs)
        expected = getattr(s.str, name)(*args, **kwargs)
        assert got.dtype == bool
        np.testing.assert_array_equal(got.compute(), expected.to_numpy(dtype=bool), err_msg=f"{kind} {name}{args}")


@pytest.mark.parametrize("kind", ["text", "U", "S"])
def test_str_len(ctx, kind):
    _, a, s = next(t for t in text_layouts() if t[0] == kind)
    x = parts(a, LAYOUTS[0])
    got = x.str.len()
    # documented: float64 (NaN where missing) on variable-width text, int64 on S/U, as pandas
    # gives them with and without missing values
    assert got.dtype == (np.float64 if kind == "text" else np.int64)
    np.testing.assert_array_equal(got.compute(), s.str.len().to_numpy(dtype=got.dtype, na_value=np.nan))


def test_str_on_table_fields_and_in_expressions(ctx):
    df = pd.DataFrame({"name": pd.Series(["Ann", None, "bob", "Cy"], dtype="str"), "v": [1.0, 2.0, np.nan, 4.0]})
    t = rd.from_pandas(df, npartitions=3)
    fixed = np.array([(b"x1", "Ünï"), (b"y2", "b"), (b"x3", ""), (b"", "aa")], dtype=[("code", "S2"), ("u", "U3")])
    f = rd.from_numpy(fixed, npartitions=3)
    np.testing.assert_array_equal(f[f["code"].str.startswith("x")]["u"].str.upper().compute(),
                                  np.array(["ÜNÏ", ""], dtype=TEXT))
    np.testing.assert_array_equal(f["u"].str.len().compute(), [3, 1, 0, 2])
    np.testing.assert_array_equal(f["code"].isin(["y2", "x3"]).compute(), [False, True, True, False])
    np.testing.assert_array_equal(f["code"].isin([b"y2", "x1", b""]).compute(), [True, True, False, True])
    np.testing.assert_array_equal(f["u"].isin([b"b", "aa"]).compute(), [False, False, False, True])
    picked = t[t["name"].str.startswith("A") | t["name"].str.lower().isin(["bob"])]
    np.testing.assert_array_equal(picked["v"].compute(), df["v"][df["name"].str.startswith("A")
                                                                 | df["name"].str.lower().isin(["bob"])].to_numpy())
    out = t.assign(n=t["name"].str.len(), up=t["name"].str.upper()).to_pandas()
    assert series_values(out["up"]) == ["ANN", None, "BOB", "CY"]
    np.testing.assert_array_equal(out["n"].to_numpy(), [3.0, np.nan, 3.0, 2.0])


def test_str_errors(ctx):
    x = parts(np.array(["a", "b"], dtype=TEXT), (1, 1))
    with pytest.raises(TypeError, match=r"\.str.*int64"):
        _ = parts(np.arange(3), (3,)).str
    with pytest.raises(TypeError, match="select a field"):
        _ = rd.from_numpy(np.zeros(2, [("s", "U2")])).str
    with pytest.raises(re.error, match=r"contains.*'a\(b'"):
        x.str.contains("a(b")
    with pytest.raises(re.error, match=r"replace.*'\['"):
        x.str.replace("[", "", regex=True)
    with pytest.raises(TypeError, match="na"):
        x.str.contains("a", na="x")
    with pytest.raises(TypeError, match="pattern"):
        x.str.startswith(1)
    with pytest.raises(ValueError, match="step"):
        x.str.slice(0, 1, 0)
    with pytest.raises(ValueError, match="regex=True"):
        x.str.replace("a", "b", case=False)


# -- random text against Python's own string methods ------------------------------------------------

CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
WORDS_ST = st.lists(st.one_of(st.none(), st.text(CHARS, max_size=8), st.sampled_from(["ß", "İ", "ǅ", " \u3000x\x1c",
                                                                                         "ﬁ", "aAa"])),
                    max_size=12)


@given(words=WORDS_ST, pat=st.text(CHARS, max_size=2), start=st.one_of(st.none(), st.integers(-5, 5)),
       stop=st.one_of(st.none(), st.integers(-5, 5)), step=st.sampled_from([None, 1, 2, -1, -2]),
       cut=st.integers(0, 12))
@example(words=["\x00", "a\x00", " \x00 "], pat="", start=None, stop=None, step=None, cut=1)  # NumPy strips NULs
@example(words=["", "a\x00b"], pat="\x00", start=None, stop=None, step=None, cut=0)  # and ends patterns at one
def test_str_matches_python_on_random_text(words, pat, start, stop, step, cut):
    a = np.array([np.nan if w is None else w for w in words], dtype=TEXT)
    x = rd.from_numpy(a, partition_lengths=[min(cut, len(a)), 0, len(a) - min(cut, len(a))])

    def py(fn):
        return [None if w is None else fn(w) for w in words]

    def flags(fn):
        return [False if w is None else fn(w) for w in words]

    with rd.Context(backend="sync"):
        assert values_of(x.str.upper().compute()) == py(str.upper)
        assert values_of(x.str.lower().compute()) == py(str.lower)
        assert values_of(x.str.strip().compute()) == py(str.strip)
        assert values_of(x.str.slice(start, stop, step).compute()) == py(lambda w: w[start:stop:step])
        assert values_of(x.str.replace(pat, "<>").compute()) == py(lambda w: w.replace(pat, "<>"))
        assert values_of(x.str.len().compute()) == py(lambda w: float(len(w)))
        assert x.str.contains(pat, regex=False).compute().tolist() == flags(lambda w: pat in w)
        assert x.str.contains(pat, case=False, regex=False).compute().tolist() == \
            flags(lambda w: pat.upper() in w.upper())
        assert x.str.contains(re.escape(pat) + ".").compute().tolist() == \
            flags(lambda w: re.search(re.escape(pat) + ".", w) is not None)
        assert x.str.startswith(pat).compute().tolist() == flags(lambda w: w.startswith(pat))
        assert x.str.endswith(pat).compute().tolist() == flags(lambda w: w.endswith(pat))
        assert x.isin([pat]).compute().tolist() == flags(lambda w: w == pat)
        fixed = [w for w in words if w is not None and "\0" not in w]
        u = rd.from_numpy(np.array(fixed, dtype=str) if fixed else np.array([], "U1"), npartitions=2) if fixed \
            else None
        if u is not None:
            assert values_of(u.str.upper().compute()) == [w.upper() for w in fixed]
            assert u.str.len().compute().tolist() == [len(w) for w in fixed]


def test_dt_floor_out_of_range_is_an_overflow_error(ctx):
    x = parts(np.array(["1677-09-21T00:12:44", "NaT"], dtype="M8[ns]"), (1, 1))
    np.testing.assert_array_equal(x[1:].dt.floor("D").compute(), np.array(["NaT"], "M8[ns]"))
    with pytest.raises(OverflowError, match="floor.*1677"):
        x.dt.floor("D").compute()


@given(ints=st.lists(st.integers(-2**63 + 1, 2**63 - 1), max_size=8),
       values=st.lists(st.one_of(st.integers(-2**64, 2**64), st.floats(allow_nan=True), st.booleans()), max_size=6),
       floats=st.lists(st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, -0.0, 1.0, 2.0**53])), max_size=8),
       cut=st.integers(0, 8))
def test_isin_numbers_match_pandas(ints, values, floats, cut):
    # pandas compares a list mixing integers and floats as float64, so 2**53 + 1 is 2**53 there;
    # here integers compare exactly (documented)
    assume(not (any(isinstance(v, float) for v in values)
                and any(not isinstance(v, (float, bool)) and abs(v) > 2**53 for v in values)))
    with rd.Context(backend="sync"):
        for a in (np.array(ints, dtype=np.int64), np.array(floats, dtype=np.float64)):
            x = rd.from_numpy(a, partition_lengths=[min(cut, len(a)), len(a) - min(cut, len(a))])
            expected = pd.Series(a, dtype=a.dtype).isin(values).to_numpy()
            assert x.isin(values).compute().tolist() == expected.tolist(), (a, values)


@given(ticks=st.lists(st.one_of(st.none(), st.integers(-2**63 + 1, 2**63 - 1)), max_size=8),
       unit=st.sampled_from(["s", "ms", "us", "ns"]))
def test_dt_components_match_pandas_on_any_time(ticks, unit):
    a = np.array([np.iinfo(np.int64).min if t is None else t for t in ticks], dtype=np.int64).view(f"M8[{unit}]")
    if unit != "ns":  # pandas holds times of years -290,000 to 290,000 in s, ms and us
        a = a[(a >= np.datetime64("-200000-01-01", unit)) & (a <= np.datetime64("200000-01-01", unit)) | np.isnat(a)]
    s = pd.Series(a)
    with rd.Context(backend="sync"):
        x = rd.from_numpy(a, npartitions=max(1, min(3, len(a)))) if len(a) else rd.from_numpy(a, npartitions=1)
        for name in PROPERTIES:
            np.testing.assert_array_equal(getattr(x.dt, name).compute(), _pandas_property(s, name), err_msg=name)


def test_str_regex_on_repeated_values_as_pandas(ctx):
    """Python's regex functions run once per distinct value where values repeat."""
    words = (WORDS * 20)[:250]
    a = np.array([np.nan if w is None else w for w in words], dtype=TEXT)
    s = pd.Series(words, dtype="str")
    x = parts(a, (0, 100, 0, 150))
    np.testing.assert_array_equal(x.str.contains(r"a\w").compute(), s.str.contains(r"a\w").to_numpy(bool))
    np.testing.assert_array_equal(x.str.contains(r"A\w", case=False, na=True).compute(),
                                  s.str.contains(r"A\w", case=False, na=True).to_numpy(bool))
    _text_same(x.str.replace(r"(a)(\w)", r"\2\1", regex=True), s.str.replace(r"(a)(\w)", r"\2\1", regex=True))
    _text_same(x.str.replace("a", lambda m: m.group(0).upper(), regex=True, n=1),
               s.str.replace("a", lambda m: m.group(0).upper(), regex=True, n=1))
