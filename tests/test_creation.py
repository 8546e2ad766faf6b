"""Making arrays: from_numpy, from_partitions, the creation routines, rd.random and pandas I/O.

NumPy (and pandas) on the whole array is the oracle for every value.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import STRUCT, assert_equal_arrays, assert_same, layouts, partitioned, split
from conftest import sample_values as sample
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rdarray as rd
from rdarray.text import TEXT, is_text

DTYPES = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "?", "c8", "c16",
          "M8[ns]", "M8[D]", "m8[s]", "S5", "U7", STRUCT]
DTYPE_IDS = [np.dtype(d).str if np.dtype(d).names is None else "struct" for d in DTYPES]


# -- from_numpy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("trailing", [(), (3,)], ids=["1d", "2d"])
def test_from_numpy_every_dtype(ctx, dtype, trailing):
    a = sample(dtype, 23, trailing)
    for npartitions in (1, 4, 23):
        x = rd.from_numpy(a, npartitions=npartitions)
        assert x.npartitions == npartitions
        assert x.nbytes == a.nbytes
        assert_same(x, a)


@pytest.mark.parametrize("n,npartitions", [(10, 1), (10, 3), (10, 10), (1, 1), (7, 2), (100, 7)])
def test_from_numpy_lengths_are_balanced(ctx, n, npartitions):
    a = np.arange(n * 2).reshape(n, 2)
    x = rd.from_numpy(a, npartitions=npartitions)
    assert x.partition_lengths == tuple(len(b) for b in np.array_split(a, npartitions))
    assert_same(x, a)


@pytest.mark.parametrize("n,npartitions", [(3, 10), (0, 4), (1, 2)])
def test_from_numpy_more_partitions_than_rows(ctx, n, npartitions):
    """npartitions is honored as np.array_split honors it: the extra partitions are empty."""
    a = np.arange(n, dtype=np.float32)
    x = rd.from_numpy(a, npartitions=npartitions)
    assert x.npartitions == npartitions
    assert x.partition_lengths == tuple(len(b) for b in np.array_split(a, npartitions))
    assert_same(x, a)
    assert_same(x + 1, a + 1)


def test_from_numpy_partitions_are_views(ctx):
    a = np.arange(40.0).reshape(20, 2)
    x = rd.from_numpy(a, npartitions=3)
    node = x.lineage
    assert node.op == "from_numpy" and node.parents == ()
    for p in range(x.npartitions):
        block = node.func(p)
        assert np.shares_memory(block, a) and block.base is not None
    # No copy is made up front: a later change to ``a`` shows through, as it would for a NumPy view.
    a[0, 0] = -1.0
    assert x.compute()[0, 0] == -1.0


def test_from_numpy_partitions_are_safe_to_modify(ctx):
    a = np.arange(10)
    x = rd.from_numpy(a, npartitions=2)
    parts = x.partitions()
    for part in parts:
        part[:] = -7
    np.testing.assert_array_equal(a, np.arange(10))
    assert_same(x, np.arange(10))


def test_from_numpy_partition_size(ctx):
    a = np.arange(1000, dtype=np.float64)  # 8000 bytes
    for size, expected in [(8000, 1), (4000, 2), (3000, 3), (800, 10), (1, 1000), (10**9, 1)]:
        x = rd.from_numpy(a, partition_size=size)
        assert x.npartitions == expected, (size, x.npartitions)
        assert max(x.partition_lengths) * 8 <= max(size, 8)
        assert_equal_arrays(x.compute(), a)
    assert rd.from_numpy(np.zeros(0), partition_size=100).npartitions == 1


def test_from_numpy_default_partitioning(ctx, monkeypatch):
    a = np.arange(10**4, dtype=np.float64)
    assert rd.from_numpy(a).npartitions == 1  # small: one partition
    monkeypatch.setattr(rd.config, "partition_bytes", 8000)
    x = rd.from_numpy(a)
    assert x.npartitions >= 10 and max(x.partition_lengths) * 8 <= 8000 + 8
    assert_equal_arrays(x.compute(), a)
    # large enough: at least one partition per worker
    monkeypatch.setattr(rd.config, "partition_bytes", 10**9)
    monkeypatch.setattr(rd.config, "min_split_bytes", 1000)
    x = rd.from_numpy(a)
    assert x.npartitions >= ctx.workers and x.npartitions % ctx.workers == 0
    assert_equal_arrays(x.compute(), a)
    assert rd.from_numpy(np.zeros(1)).npartitions == 1


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_from_numpy_bad_npartitions(bad):
    with pytest.raises(ValueError, match="npartitions"):
        rd.from_numpy(np.arange(5), npartitions=bad)


def test_from_numpy_bad_arguments():
    with pytest.raises(ValueError, match="partition_size"):
        rd.from_numpy(np.arange(5), partition_size=0)
    with pytest.raises(ValueError):
        rd.from_numpy(np.arange(5), npartitions=2, partition_size=8)
    with pytest.raises(ValueError, match="0-dimensional"):
        rd.from_numpy(np.float64(3.0))
    with pytest.raises(TypeError, match="object"):
        rd.from_numpy(np.array([1, "a", None], dtype=object))
    with pytest.raises(TypeError, match="object"):
        rd.from_numpy(np.zeros(3, dtype=[("a", "i4"), ("o", "O")]))


def test_from_numpy_list_input(ctx):
    assert_same(rd.from_numpy([[1, 2], [3, 4], [5, 6]], npartitions=2), np.array([[1, 2], [3, 4], [5, 6]]))


def test_from_numpy_non_contiguous(ctx):
    a = np.arange(60).reshape(10, 6)[::-2, 1::2]
    assert_same(rd.from_numpy(a, npartitions=3), a)
    f = np.asfortranarray(np.arange(24.0).reshape(8, 3))
    assert_same(rd.from_numpy(f, npartitions=3), f)


# -- from_partitions ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_from_partitions_every_dtype(ctx, dtype):
    a = sample(dtype, 17, (2,))
    lengths = [0, 5, 0, 1, 11, 0]
    x = partitioned(a, lengths)
    assert x.npartitions == 6 and x.partition_lengths == tuple(lengths)
    assert_same(x, a)
    for got, want in zip(x.partitions(), split(a, lengths)):
        assert_equal_arrays(got, want)


@given(data=st.data())
def test_from_partitions_random_layouts(ctx, data):
    a = data.draw(hnp.arrays(np.int16, st.tuples(st.integers(0, 25), st.integers(1, 3))))
    lengths = data.draw(layouts(len(a)))
    x = partitioned(a, lengths)
    assert x.partition_lengths == tuple(lengths)
    assert_same(x, a)


def test_from_partitions_only_empty(ctx):
    x = rd.from_partitions([np.zeros((0, 2), "f4"), np.zeros((0, 2), "f4")])
    assert x.shape == (0, 2)
    assert_same(x, np.zeros((0, 2), "f4"))


def test_from_partitions_errors():
    with pytest.raises(ValueError):
        rd.from_partitions([])
    with pytest.raises(TypeError, match="dtype"):
        rd.from_partitions([np.zeros(2, "i4"), np.zeros(2, "f8")])
    with pytest.raises(ValueError, match="shape"):
        rd.from_partitions([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError):
        rd.from_partitions([np.zeros(2), np.float64(1.0)])
    with pytest.raises(TypeError, match="object"):
        rd.from_partitions([np.array([None], dtype=object)])


# -- arange ---------------------------------------------------------------------------------------

ARANGE_CASES = [
    (10,), (0,), (-3,), (1,), (3, 17), (17, 3), (3, 17, 4), (17, 3, -4), (-5, 5, 1), (5, -5, -1),
    (0, 1, 0.1), (0, -1, -0.1), (1.5, 10.25, 0.75), (10.25, 1.5, -0.75), (0.1, 0.9, 0.1),
    (-1e10, 1e10, 3.3e8), (0, 1, 1e-3), (2, 3, 7), (0.0, 5.0), (np.float32(0.1), np.float32(2), np.float32(0.3)),
    (np.int8(3), np.int8(100), np.int8(7)), (np.uint16(1), 400, 3),
]


@pytest.mark.parametrize("args", ARANGE_CASES, ids=repr)
def test_arange_matches_numpy(ctx, args):
    for npartitions in (1, 3, 7, 50):
        assert_same(rd.arange(*args, npartitions=npartitions), np.arange(*args))


@pytest.mark.parametrize("args,dtype", [
    ((10,), np.float32), ((0, 10, 3), np.int8), ((0, 5, 0.5), int), ((0.5, 5, 1.5), int),
    ((-2.5, 4, 1.25), np.int16), ((10, 0, -1), np.uint8), ((0, 10), np.complex64), ((0, 1, 0.1), np.float16),
    ((0, 300, 7), np.int8), ((250, 256), np.uint8), ((0, 1, 0.125), np.float32),
], ids=repr)
@pytest.mark.parametrize("npartitions", [1, 3, 8])
def test_arange_with_dtype(ctx, args, dtype, npartitions):
    expected = np.arange(*args, dtype=dtype)
    assert_same(rd.arange(*args, dtype=dtype, npartitions=npartitions), expected)


@given(start=st.floats(-1e6, 1e6), step=st.floats(1e-3, 1e4), count=st.integers(0, 60),
       negative=st.booleans(), npartitions=st.integers(1, 9))
def test_arange_floats_hypothesis(ctx, start, step, count, negative, npartitions):
    step = -step if negative else step
    stop = start + count * step
    assert_same(rd.arange(start, stop, step, npartitions=npartitions), np.arange(start, stop, step))


@given(start=st.integers(-10**6, 10**6), stop=st.integers(-10**6, 10**6),
       step=st.integers(-10**5, 10**5).filter(bool), npartitions=st.integers(1, 9))
def test_arange_ints_hypothesis(ctx, start, stop, step, npartitions):
    assert_same(rd.arange(start, stop, step, npartitions=npartitions), np.arange(start, stop, step))


def test_arange_errors():
    with pytest.raises(ValueError, match="step"):
        rd.arange(0, 10, 0)
    with pytest.raises(ValueError, match="npartitions"):
        rd.arange(10, npartitions=0)


# -- zeros / ones / full --------------------------------------------------------------------------

SHAPES = [5, (5,), (0,), (1,), (7, 3), (4, 2, 3), (6, 0), (0, 4)]


@pytest.mark.parametrize("dtype", [None, "i1", "u8", "f2", "f4", "c16", "?", "M8[s]", "m8[h]", "S3", "U4", STRUCT],
                         ids=lambda d: str(np.dtype(d)) if d is not None and np.dtype(d).names is None
                         else ("default" if d is None else "struct"))
def test_zeros_ones(ctx, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    for shape in SHAPES:
        for npartitions in (1, 3):
            assert_same(rd.zeros(shape, npartitions=npartitions, **kw), np.zeros(shape, **kw))
            assert_same(rd.ones(shape, npartitions=npartitions, **kw), np.ones(shape, **kw))


@pytest.mark.parametrize("fill,dtype", [
    (7, None), (1.5, None), (-0.0, None), (np.nan, None), (np.inf, "f4"), (True, None), (3 + 4j, None),
    ("ab", None), (b"xyz", None), (np.datetime64("2001-02-03"), None), (np.timedelta64(5, "m"), None),
    (np.float32(2.5), None), (np.int8(-3), None), (300, "i2"), (2.9, "i4"), ("é", "U3"),
    (np.uint64(2**64 - 1), None),
], ids=repr)
def test_full(ctx, fill, dtype):
    for shape in [(6,), (6, 2), (0,), (1, 3)]:
        assert_same(rd.full(shape, fill, dtype=dtype, npartitions=2), np.full(shape, fill, dtype=dtype))


def test_full_structured(ctx):
    fill = np.array((1, 2.5, b"ab", "u", np.datetime64(3, "s"), True), dtype=STRUCT)[()]
    assert_same(rd.full((4,), fill, npartitions=3), np.full((4,), fill))


@pytest.mark.parametrize("bad", [-1, (3, -1), (), 2.5, (True,)], ids=repr)
def test_full_bad_shape(bad):
    with pytest.raises(ValueError, match="shape"):
        rd.zeros(bad)


def test_full_object_dtype_raises():
    with pytest.raises(TypeError, match="object"):
        rd.full(3, None)
    with pytest.raises(TypeError, match="object"):
        rd.zeros(3, dtype=object)


def test_creation_more_partitions_than_rows(ctx):
    assert_same(rd.zeros((2, 3), npartitions=5), np.zeros((2, 3)))
    assert_same(rd.arange(3, npartitions=8), np.arange(3))
    assert_same(rd.linspace(0, 1, 3, npartitions=5), np.linspace(0, 1, 3))
    assert_same(rd.linspace(0, 1, 3, endpoint=False, npartitions=5), np.linspace(0, 1, 3, endpoint=False))


# -- linspace -------------------------------------------------------------------------------------

LINSPACE_ENDS = [(0, 1), (1, 0), (-3, 7), (0.1, 0.7), (1e-300, 2e-300), (0, 5e-324), (2, 2), (-1e308, 1e308),
                 (np.float32(0.1), np.float32(9.3)), (np.float16(-1), np.float16(1)), (0, 1 + 2j),
                 (0.0, np.float32(1)), (np.int8(0), 5), (1, np.float32(0.3)), (-0.0, 0.0), (5, -0.0)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # -1e308..1e308 overflows, for NumPy too
@pytest.mark.parametrize("ends", LINSPACE_ENDS, ids=repr)
@pytest.mark.parametrize("endpoint", [True, False])
def test_linspace_matches_numpy_exactly(ctx, ends, endpoint):
    for num in (0, 1, 2, 3, 7, 50, 101):
        expected = np.linspace(*ends, num=num, endpoint=endpoint)
        for npartitions in (1, 3, 8):
            assert_same(rd.linspace(*ends, num=num, endpoint=endpoint, npartitions=npartitions), expected)


@pytest.mark.parametrize("ends,dtype", [((-3, 3), int), ((-1, 0), int), ((-7.5, 2.5), np.int16), ((0, 10), np.uint8),
                                        ((0, 1), np.float32), ((0, 1), np.complex64), ((-2, 2), np.float16)],
                         ids=repr)
def test_linspace_with_dtype(ctx, ends, dtype):
    for num in (0, 1, 4, 13):
        expected = np.linspace(*ends, num=num, dtype=dtype)
        for npartitions in (1, 3):
            assert_same(rd.linspace(*ends, num=num, dtype=dtype, npartitions=npartitions), expected)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@given(start=st.floats(-1e12, 1e12), stop=st.floats(-1e12, 1e12), num=st.integers(0, 80),
       endpoint=st.booleans(), npartitions=st.integers(1, 10))
def test_linspace_hypothesis(ctx, start, stop, num, endpoint, npartitions):
    assert_same(rd.linspace(start, stop, num, endpoint=endpoint, npartitions=npartitions),
                np.linspace(start, stop, num, endpoint=endpoint))


@pytest.mark.parametrize("bad", [-1, 2.0, True])
def test_linspace_bad_num(bad):
    with pytest.raises(ValueError, match="num"):
        rd.linspace(0, 1, bad)


# -- rd.random ------------------------------------------------------------------------------------

MAKERS = {
    "random": lambda size, seed, n: rd.random.random(size, seed=seed, npartitions=n),
    "normal": lambda size, seed, n: rd.random.normal(3.0, 2.0, size, seed=seed, npartitions=n),
    "integers": lambda size, seed, n: rd.random.integers(-5, 17, size, seed=seed, npartitions=n),
}


@pytest.mark.parametrize("kind", MAKERS)
def test_random_deterministic_for_a_seed(ctx, kind):
    make = MAKERS[kind]
    x = make(1000, 42, 4)
    first = x.compute()
    assert first.shape == (1000,) and first.dtype == x.dtype
    assert first.dtype == (np.int64 if kind == "integers" else np.float64)
    assert_equal_arrays(x.compute(), first)  # recomputation
    assert_equal_arrays(np.concatenate(x.partitions()), first)
    assert_equal_arrays(make(1000, 42, 4).compute(), first)  # a new array with the same seed
    assert not np.array_equal(make(1000, 43, 4).compute(), first)  # another seed
    parts = x.partitions()
    assert not np.array_equal(parts[0], parts[1])  # partitions draw from different streams
    # a partition recomputed on its own gives the same numbers as in the whole array
    assert_equal_arrays(x[250:500].compute(), first[250:500])
    assert_equal_arrays(x[::-1].compute(), first[::-1])
    assert x[0] == first[0] and x[-1] == first[-1]


@pytest.mark.parametrize("kind", MAKERS)
def test_random_without_seed_repeats_on_recompute(ctx, kind):
    make = MAKERS[kind]
    x = make(500, None, 3)
    first = x.compute()
    assert_equal_arrays(x.compute(), first)
    assert_equal_arrays((x + 0).compute(), first + 0)
    assert not np.array_equal(make(500, None, 3).compute(), first)


@pytest.mark.parametrize("kind", MAKERS)
@pytest.mark.parametrize("size", [(0,), (1,), (10, 3), 7], ids=repr)
def test_random_shapes(ctx, kind, size):
    x = MAKERS[kind](size, 1, 3)
    shape = (size,) if isinstance(size, int) else size
    assert x.shape == shape
    got = x.compute()
    assert got.shape == shape and got.dtype == x.dtype


def test_random_statistics(ctx):
    n = 200_000
    u = rd.random.random(n, seed=7, npartitions=8).compute()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    z = rd.random.normal(3.0, 2.0, (n,), seed=7, npartitions=8).compute()
    assert abs(z.mean() - 3.0) < 0.03 and abs(z.std() - 2.0) < 0.03
    k = rd.random.integers(-5, 17, n, seed=7, npartitions=8).compute()
    assert k.min() == -5 and k.max() == 16
    counts = np.bincount(k + 5)
    assert len(counts) == 22 and counts.min() > 0.9 * n / 22
    k8 = rd.random.integers(10, size=50, seed=1, dtype=np.uint8).compute()
    assert k8.dtype == np.uint8 and k8.max() < 10


def test_random_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        rd.random.random(3, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        rd.random.random(3, seed=1.5)
    with pytest.raises(ValueError, match="scale"):
        rd.random.normal(0, -1, 3)
    with pytest.raises(ValueError):
        rd.random.integers(5, 5, 3)
    with pytest.raises(ValueError):
        rd.random.integers(0, 5)
    with pytest.raises(ValueError, match="shape"):
        rd.random.random(-3)


# -- pandas ---------------------------------------------------------------------------------------

pd = pytest.importorskip("pandas")


def _frame(n: int):
    rng = np.random.default_rng(n)
    return pd.DataFrame({
        "i": rng.integers(-100, 100, n),
        "i8": rng.integers(-100, 100, n).astype(np.int8),
        "u": rng.integers(0, 100, n).astype(np.uint32),
        "f": np.where(rng.random(n) < 0.2, np.nan, rng.standard_normal(n)),
        "f4": rng.standard_normal(n).astype(np.float32),
        "b": rng.random(n) < 0.5,
        "s": pd.Series([["", "a", "bb", "ccé"][k % 4] for k in range(n)], dtype=str),
        "t": pd.date_range("2020-01-01", periods=n, freq="37min"),
        "d": pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
    })


@pytest.mark.parametrize("n", [0, 1, 10, 57])
@pytest.mark.parametrize("npartitions", [None, 1, 4])
def test_from_pandas_round_trip(ctx, n, npartitions):
    df = _frame(n)
    x = rd.from_pandas(df, npartitions=npartitions)
    assert x.dtype.names == tuple(df.columns)
    if npartitions is not None:
        assert x.npartitions == npartitions
    expected = df.to_records(index=False)
    assert is_text(x.dtype["s"])  # variable-width text
    for name in df.columns:
        if name != "s":
            assert_same(x[name], df[name].to_numpy())
    assert x["s"].compute().astype(object).tolist() == df["s"].tolist()
    assert len(x) == len(expected)
    back = x.to_pandas()
    pd.testing.assert_frame_equal(back, df)


def test_from_pandas_series(ctx):
    s = pd.Series([1.5, np.nan, -2.0, 4.0], name="v")
    x = rd.from_pandas(s, npartitions=3)
    assert_same(x, s.to_numpy())
    pd.testing.assert_series_equal(x.to_pandas(), pd.Series(s.to_numpy()))
    t = pd.Series(["a", "bcd", ""])
    assert_same(rd.from_pandas(t, npartitions=2), np.array(["a", "bcd", ""], dtype=TEXT))


def test_to_pandas_shapes(ctx):
    a = np.arange(12.0).reshape(4, 3)
    pd.testing.assert_frame_equal(rd.from_numpy(a, npartitions=2).to_pandas(), pd.DataFrame(a))
    b = np.arange(5, dtype=np.int16)
    pd.testing.assert_series_equal(rd.from_numpy(b, npartitions=2).to_pandas(), pd.Series(b))
    s = np.zeros(3, STRUCT)
    s["i"] = [1, 2, 3]
    df = rd.from_numpy(s, npartitions=2).to_pandas()
    assert list(df.columns) == list(STRUCT.names)
    np.testing.assert_array_equal(df["i"].to_numpy(), s["i"])


def test_from_pandas_errors():
    with pytest.raises(TypeError, match="'o'.*other than str.*int"):
        rd.from_pandas(pd.DataFrame({"o": [1, "a", None]}))
    with pytest.raises(TypeError, match="DataFrame"):
        rd.from_pandas({"a": [1, 2]})


def test_from_numpy_of_a_frame_points_to_from_pandas_at_once():
    df = pd.DataFrame({"a": np.arange(10**6), "s": ["x"] * 10**6})
    with pytest.raises(TypeError, match="rd.from_pandas"):
        rd.from_numpy(df)
    with pytest.raises(TypeError, match="Series; use rd.from_pandas"):
        rd.from_numpy(df["a"])
