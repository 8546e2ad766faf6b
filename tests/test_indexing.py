"""Indexing: integer rows, row slices, trailing axes, fields, boolean masks, head and len.

NumPy indexing of the whole array is the oracle.
"""
from __future__ import annotations

import numpy as np
import numpy.lib.recfunctions as rfn
import pytest
from conftest import STRUCT, arrays_and_layouts, assert_equal_arrays, assert_same, layouts, partitioned, sample_values
from hypothesis import given
from hypothesis import strategies as st

import rdarray as rd
from _helpers import Counter
from rdarray.array.elementwise import map_blocks

N = 23
LAYOUT_A = [5, 0, 11, 7]
LAYOUT_B = [0, 3, 3, 9, 0, 8]


def assert_same_value(got, expected) -> None:
    """A row or scalar from ``x[i]`` equals NumPy's, type and dtype included."""
    assert type(got) is type(expected), (type(got), type(expected))
    assert_equal_arrays(np.asarray(got), np.asarray(expected))


# -- integer rows ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["f8", "i2", "?", "c8", "M8[ms]", "S3", "U2", STRUCT],
                         ids=lambda d: "struct" if np.dtype(d).names else np.dtype(d).str)
@pytest.mark.parametrize("trailing", [(), (3,)], ids=["1d", "2d"])
def test_integer_rows(ctx, dtype, trailing):
    a = sample_values(dtype, N, trailing)
    x = partitioned(a, LAYOUT_A)
    for i in list(range(-N, N)) + [np.int64(4), np.int8(-2), np.uint8(22)]:
        assert_same_value(x[i], a[i])
    for i in (N, -N - 1, 10**12, -(10**12)):
        with pytest.raises(IndexError, match=str(i)):
            x[i]


def test_integer_rows_with_more_axes(ctx):
    a = sample_values("f8", N, (3, 4))
    x = partitioned(a, LAYOUT_B)
    for key in [(5, 2), (-1, 0, 3), (0, slice(1, None)), (7, Ellipsis, 1), (3, None), (2, slice(None), -1)]:
        assert_same_value(x[key], a[key])
    with pytest.raises(IndexError):
        x[0, 3]
    with pytest.raises(IndexError):
        x[0, 0, 0, 0]


def test_integer_rows_unknown_lengths(ctx):
    a = sample_values("i8", 40)
    x = partitioned(a, [10, 0, 25, 5]).filter(lambda b: b % 3 == 0)
    e = a[a % 3 == 0]
    assert x.partition_lengths is None
    for i in range(-len(e), len(e)):
        assert_same_value(x[i], e[i])
    with pytest.raises(IndexError):
        x[len(e)]


def test_rows_only_from_one_partition():
    """``x[i]`` computes only the partition holding row i."""
    record = Counter(lambda b: b)
    with rd.Context(backend="threads", workers=2):
        x = map_blocks(rd.from_numpy(np.arange(100), npartitions=10), record, "record")  # lengths known
        assert x[57] == 57 and x[-1] == 99
        assert list(record.calls.elements()) == [50, 90]


def test_bad_row_keys(ctx):
    x = rd.from_numpy(np.arange(10.0), npartitions=3)
    with pytest.raises(IndexError):
        x[1.5]
    with pytest.raises(IndexError):
        x[None]
    with pytest.raises(IndexError, match="integer array"):
        x[[0, 1]]
    with pytest.raises(IndexError, match="integer array"):
        x[np.array([3, 1])]
    with pytest.raises(ValueError):
        x[::0]
    with pytest.raises(KeyError):
        x["f"]  # not structured: no fields


# -- row slices -----------------------------------------------------------------------------------

SLICE_BOUNDS = st.one_of(st.none(), st.integers(-40, 40))


@given(data=st.data(), start=SLICE_BOUNDS, stop=SLICE_BOUNDS,
       step=st.one_of(st.none(), st.integers(-9, 9).filter(bool)))
def test_row_slices(ctx, data, start, stop, step):
    a, lengths = data.draw(arrays_and_layouts(np.int32, max_rows=35, trailing=(2,)))
    x = partitioned(a, lengths)
    s = slice(start, stop, step)
    y = x[s]
    assert y.partition_lengths is not None  # known without computing
    assert_same(y, a[s])
    assert y.lineage.dependency_kinds == ("range",) or s == slice(None)


@given(data=st.data())
def test_chained_slices(ctx, data):
    a, lengths = data.draw(arrays_and_layouts(np.float64, max_rows=35))
    x, e = partitioned(a, lengths), a
    for _ in range(3):
        s = slice(data.draw(SLICE_BOUNDS), data.draw(SLICE_BOUNDS), data.draw(st.integers(-4, 4).filter(bool)))
        x, e = x[s], e[s]
        assert_same(x, e)
    with np.errstate(over="ignore"):  # drawn floats near the largest double overflow alike
        assert_same(x * 2 + partitioned(e, data.draw(layouts(len(e)))), e * 2 + e)


@given(data=st.data(), start=SLICE_BOUNDS, stop=SLICE_BOUNDS, step=st.integers(-5, 5).filter(bool))
def test_slices_of_filtered(ctx, data, start, stop, step):
    a, lengths = data.draw(arrays_and_layouts(np.int16, max_rows=35))
    x = partitioned(a, lengths).filter(lambda b: b % 2 == 0)
    e = a[a % 2 == 0]
    assert_same(x[start:stop:step], e[start:stop:step])


@pytest.mark.parametrize("n", [0, 1, 2])
def test_slices_of_tiny_arrays(ctx, n):
    a = np.arange(n, dtype=np.uint8)
    for lengths in ([n], [0, n, 0], [n, 0]):
        x = partitioned(a, lengths)
        for s in [slice(None), slice(None, None, -1), slice(1, None), slice(-1, None), slice(5, 10),
                  slice(None, 0), slice(0, 1), slice(None, None, 3), slice(-5, 5, -1), slice(1, -5, -2)]:
            assert_same(x[s], a[s])


# -- trailing axes --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    (slice(None), 1), (slice(None), -1), (Ellipsis, 2), (slice(1, 5), 2), (slice(None, None, -2), 0),
    (slice(None), slice(None, None, -1)), (slice(None), None), (Ellipsis, None), (slice(3, 9), slice(0, 2)),
    (slice(None), 1, 2), (Ellipsis, 1, slice(None)), (slice(None), Ellipsis), (Ellipsis,),
    (slice(-4, None), slice(None), 3), (slice(2, 20, 3), None, 1),
], ids=repr)
def test_trailing_axes(ctx, key):
    a = sample_values("f4", N, (3, 4))
    x = partitioned(a, LAYOUT_B)
    y = x[key]
    assert isinstance(y, rd.PartitionedArray)
    assert_same(y, a[key])


def test_trailing_axes_errors(ctx):
    x = partitioned(sample_values("f4", N, (3,)), LAYOUT_A)
    with pytest.raises(IndexError):
        x[:, 3]
    with pytest.raises(IndexError):
        x[:, 0, 0]
    with pytest.raises(IndexError):
        x[..., 0, ...]


# -- fields ---------------------------------------------------------------------------------------

def test_fields(ctx):
    a = sample_values(STRUCT, N, seed=1)
    x = partitioned(a, LAYOUT_A)
    for name in STRUCT.names:
        assert_same(x[name], a[name])
    assert_same(x[["f"]], rfn.repack_fields(a[["f"]]))
    for names in (["i", "t"], ["u", "s", "b"], ["b", "i"]):
        y = x[names]
        expected = rfn.repack_fields(a[names])  # as a copy of NumPy's view
        assert y.dtype.names == tuple(names)
        assert_same(y, expected)
        assert_same(partitioned(a, [N])[names], expected)  # the same dtype with one partition
    assert_same(x[1:9]["f"], a[1:9]["f"])
    assert_same(x["i"][::-1] * 2, a["i"][::-1] * 2)


def test_field_errors(ctx):
    x = partitioned(sample_values(STRUCT, N), LAYOUT_A)
    with pytest.raises(KeyError, match="nope"):
        x["nope"]
    with pytest.raises(KeyError, match="nope"):
        x[["i", "nope"]]


# -- boolean masks --------------------------------------------------------------------------------

@given(data=st.data())
def test_boolean_masks(ctx, data):
    a, la = data.draw(arrays_and_layouts(np.float64, max_rows=30, trailing=(2,)))
    m = np.asarray(data.draw(st.lists(st.booleans(), min_size=len(a), max_size=len(a))), dtype=bool)
    x = partitioned(a, la)
    assert_same(x[partitioned(m, la)], a[m])  # aligned
    assert_same(x[partitioned(m, data.draw(layouts(len(a))))], a[m])  # misaligned
    assert_same(x[m], a[m])  # NumPy mask
    if len(m):  # (an empty list is an empty integer index to NumPy)
        assert_same(x[list(m)], a[m])  # list of bools
    assert_same(x[x[:, 0] > x[:, 1]], a[a[:, 0] > a[:, 1]])


def test_masks_with_unknown_lengths(ctx):
    a = sample_values("i4", 40, seed=1)
    b = sample_values("i4", 60, seed=2)
    x = partitioned(a, [10, 0, 25, 5]).filter(lambda v: v % 2 == 0)
    y = partitioned(b, [30, 30]).filter(lambda v: v % 2 == 1)
    ea, eb = a[a % 2 == 0], b[b % 2 == 1]
    n = min(len(ea), len(eb))
    mask = y[:n] > 0 if len(eb) > n else y > 0
    xs = x[:n] if len(ea) > n else x
    assert_same(xs[mask], ea[:n][eb[:n] > 0])
    assert_same(x[x > 0], ea[ea > 0])


def test_mask_errors(ctx):
    x = partitioned(np.arange(10.0), [4, 6])
    with pytest.raises(ValueError):
        x[np.ones(9, dtype=bool)]
    with pytest.raises(ValueError):
        x[partitioned(np.ones(9, dtype=bool), [9])]
    with pytest.raises(TypeError):
        x[x]  # a float PartitionedArray is no mask
    with pytest.raises(TypeError):
        x[rd.from_numpy(np.ones((10, 2), dtype=bool))]


# -- head, len ------------------------------------------------------------------------------------

@given(data=st.data(), n=st.integers(0, 40), filtered=st.booleans())
def test_head(ctx, data, n, filtered):
    a, lengths = data.draw(arrays_and_layouts(np.int64, max_rows=30, trailing=(2,)))
    x = partitioned(a, lengths)
    if filtered:
        x, a = x.filter(lambda b: b[:, 0] % 3 != 0), a[a[:, 0] % 3 != 0]
    h = x.head(n)
    assert isinstance(h, np.ndarray)
    assert_equal_arrays(h, a[:n])
    assert_equal_arrays(x.head(), a[:5])


def test_head_copies_and_errors(ctx):
    a = np.arange(10)
    x = rd.from_numpy(a, npartitions=3)
    h = x.head(4)
    h[:] = -1
    np.testing.assert_array_equal(a, np.arange(10))
    assert_equal_arrays(x.head(100), a)
    for bad in (-1, 2.0, True):
        with pytest.raises(ValueError):
            x.head(bad)


def test_head_computes_only_what_it_needs():
    record = Counter(lambda b: b)
    with rd.Context(backend="sync"):
        x = rd.from_numpy(np.arange(1000), npartitions=10).map_partitions(record)
        f = x.filter(lambda b: b % 2 == 0)
        assert_equal_arrays(f.head(3), np.array([0, 2, 4]))
        assert list(record.calls.elements()) == [0]
        record.reset()
        y = map_blocks(rd.from_numpy(np.arange(1000), npartitions=10), record, "record")  # lengths known
        assert_equal_arrays(y.head(150), np.arange(150))
        assert sorted(record.calls.elements()) == [0, 100]


def test_len_after_filter(ctx):
    a = sample_values("f8", 50, seed=3)
    x = partitioned(a, [0, 20, 0, 30, 0]).filter(lambda b: b > 0)
    assert x.shape == (None,) and x.partition_lengths is None and x.nbytes is None
    expected = a[a > 0]
    assert len(x) == len(expected) == x.count()
    assert x.shape == expected.shape and x.nbytes == expected.nbytes
    assert len(x.partition_lengths) == 5
    empty = x.filter(lambda b: b < 0)
    assert len(empty) == 0
    assert_same(empty, expected[:0])
    assert_equal_arrays(empty.head(3), expected[:0])


@pytest.mark.parametrize("layout", [[10, 0, 5, 20], [1] * 35, [35], [0, 35, 0]])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 35, 50])
def test_repartition_keeps_order_and_balances(layout, n):
    a = np.arange(35 * 2, dtype=np.int32).reshape(35, 2)
    bounds = np.cumsum([0] + layout)
    x = rd.from_partitions([a[i:j] for i, j in zip(bounds[:-1], bounds[1:])])
    y = (x * 2).repartition(n)
    assert y.npartitions == n
    assert max(y.partition_lengths) - min(y.partition_lengths) <= 1
    np.testing.assert_array_equal(y.compute(), a * 2)
    assert [len(p) for p in y.partitions()] == list(y.partition_lengths)
    filtered = x[x[:, 0] % 3 == 0].repartition(n)  # lengths unknown until computed
    np.testing.assert_array_equal(filtered.compute(), a[a[:, 0] % 3 == 0])
    with pytest.raises(ValueError, match="npartitions"):
        x.repartition(0)
