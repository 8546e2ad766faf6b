"""The dtype an array reports is exactly the dtype of what it computes to, partitions included:
byte order (little, big, native, not applicable), nested fields and sub-arrays survive every
operation that keeps or changes dtypes, on every backend."""

import os
import tempfile

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import rdarray as rd
from _helpers import layouts, partitioned

#: leaf dtypes without their byte order (one-byte ones have none: "|"); complex ones are no keys
KEYS = ["f8", "f4", "i4", "u2", "i8", "M8[s]", "m8[ms]", "U2", "S3", "i1", "?"]
LEAVES = KEYS + ["c16"]
ORDERS = st.sampled_from("<>=")


@st.composite
def leaf_dtypes(draw, leaves=LEAVES) -> np.dtype:
    base = np.dtype(draw(st.sampled_from(leaves)))
    return base if base.byteorder == "|" else base.newbyteorder(draw(ORDERS))


@st.composite
def struct_dtypes(draw) -> np.dtype:
    """Key fields "k" and "v", a nested struct and a sub-array."""
    nested = np.dtype([("x", draw(leaf_dtypes())), ("y", draw(leaf_dtypes()))])
    sub = (draw(leaf_dtypes()), (2,))
    return np.dtype([("k", draw(leaf_dtypes(KEYS))), ("n", nested), ("sub",) + sub, ("v", draw(leaf_dtypes(KEYS)))])


def fill(dtype: np.dtype, n: int, rng) -> np.ndarray:
    """``n`` rows of ``dtype``: small integers cast to every leaf (a few distinct keys)."""
    out = np.zeros(n, dtype)
    if dtype.names:
        for name in dtype.names:
            field = dtype[name]
            base, shape = (field.subdtype if field.subdtype else (field, ()))
            out[name] = fill(base, n * int(np.prod(shape)), rng).reshape((n,) + shape)
        return out
    values = rng.integers(0, 4, n)
    return values.astype(str).astype(dtype) if dtype.kind in "SU" else values.astype(dtype)


def assert_exact(y: rd.PartitionedArray, expected: np.ndarray | None = None) -> None:
    """``y`` computes (by head while its lengths may be unknown, whole, by partitions) to exactly
    the dtype it reports."""
    assert y.head(2).dtype == y.dtype
    got = y.compute()
    assert got.dtype == y.dtype and str(got.dtype) == str(y.dtype), (y.dtype, got.dtype)
    for part in y.partitions():
        assert part.dtype == y.dtype, (y.dtype, part.dtype)
    if expected is not None:
        assert expected.dtype == y.dtype, (expected.dtype, y.dtype)
        assert got.tobytes() == expected.tobytes()


@given(data=st.data())
def test_reported_dtype_is_the_computed_dtype(ctx, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    dtype = data.draw(st.one_of(leaf_dtypes(), struct_dtypes()))
    n = data.draw(st.integers(0, 30))
    a = fill(dtype, n, rng)
    lengths = data.draw(layouts(n))
    x = partitioned(a, lengths)
    keep = rng.random(n) < 0.6
    assert_exact(x, a)
    assert_exact(x.repartition(data.draw(st.integers(1, 4))), a)
    assert_exact(x[partitioned(keep, lengths)], a[keep])
    swapped = dtype.newbyteorder(data.draw(st.sampled_from("<>=S")))
    assert_exact(x.astype(swapped), a.astype(swapped))
    with tempfile.TemporaryDirectory() as tmp:
        x.save(os.path.join(tmp, "x"))
        assert_exact(rd.load(os.path.join(tmp, "x")), a)
    if dtype.names:
        assert_exact(x["n"], a["n"])
        assert_exact(x["sub"], a["sub"])
        assert_exact(x.sort("k"), a[np.argsort(a["k"], kind="stable")])
        assert_exact(x.partition_by("k"))
        assert_exact(x.groupby("k").size())
        assert_exact(x.groupby(["k", "v"], sort=False).size())
        assert_exact(x[["k", "v"]].groupby("k").first())
        assert_exact(rd.merge(x, x[["k", "v"]], on="k"))
    else:
        assert_exact(x.sort(), np.sort(a, kind="stable"))
        assert_exact(x.unique(), np.unique(a))
        if dtype.kind != "c":
            assert_exact(x.partition_by())
        if dtype.kind in "fiuc":
            assert_exact(np.negative(x), np.negative(a))
            assert_exact(x * 2, a * 2)
