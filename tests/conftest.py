"""Shared fixtures and helpers: both in-process backends, a NumPy-oracle comparison, and hypothesis
strategies for arrays cut into random partition layouts (empty partitions included)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rdarray as rd
from _helpers import BACKENDS, layouts, partitioned, split  # noqa: F401  (shared with the other modules)

# the default run is derandomized so that a run's verdict depends on the code alone; the thorough
# profile searches afresh each time (pytest --hypothesis-profile=rdarray-thorough)
settings.register_profile("rdarray", max_examples=50, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow])
settings.register_profile("rdarray-thorough", parent=settings.get_profile("rdarray"), max_examples=2000,
                          derandomize=False)
settings.load_profile("rdarray")

#: for the long enumerations, whose semantics do not depend on the backend: the default one only
THREADS_ONLY = pytest.mark.parametrize("ctx", BACKENDS[:1], indirect=True)


@pytest.fixture(scope="session")
def processes_context():
    """One processes context for the whole session: starting workers takes a moment."""
    c = rd.Context(backend="processes", workers=2)  # not a ``with``: the default only where asked for
    yield c
    c.close()


@pytest.fixture(scope="session")
def dask_context():
    """One dask context for the whole session, on a LocalCluster of two worker processes."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    c = rd.Context(backend="dask", client=client)
    yield c
    c.close()
    client.close()
    cluster.close()


@pytest.fixture(params=BACKENDS)
def ctx(request):
    """Each backend in turn, as the default context for the test."""
    shared = {"processes": "processes_context", "dask": "dask_context"}.get(request.param["backend"])
    if shared is not None:
        with request.getfixturevalue(shared).as_default() as c:
            yield c
        return
    with rd.Context(**request.param) as c:
        yield c


def assert_same(x, expected, signed_zeros: bool = True) -> None:
    """``x`` (a PartitionedArray) computes to exactly ``expected``: values, dtype and shape.

    NaNs compare equal to NaNs; the sign of zeros counts unless ``signed_zeros`` is False. The shape
    ``x`` reports before computing (when known), the partitions and ``len(x)`` must agree with the
    computed array.
    """
    expected = np.asarray(expected)
    assert isinstance(x, rd.PartitionedArray), type(x)
    assert x.dtype == expected.dtype, (x.dtype, expected.dtype)
    assert x.ndim == expected.ndim, (x.ndim, expected.ndim)
    if x.shape[0] is not None:
        assert x.shape == expected.shape, (x.shape, expected.shape)
    else:
        assert x.shape[1:] == expected.shape[1:], (x.shape, expected.shape)
    got = x.compute()
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, got.shape,
                                                                          expected.dtype, expected.shape)
    assert_equal_arrays(got, expected, signed_zeros)
    parts = x.partitions()
    assert len(parts) == x.npartitions
    assert all(p.dtype == expected.dtype and p.shape[1:] == expected.shape[1:] for p in parts)
    assert_equal_arrays(np.concatenate(parts) if parts else got[:0], expected, signed_zeros)
    assert x.partition_lengths == tuple(len(p) for p in parts)
    assert len(x) == len(expected)


def assert_equal_arrays(got: np.ndarray, expected: np.ndarray, signed_zeros: bool = True) -> None:
    """Exact equality (NaN == NaN, and signed zeros told apart for floats unless ``signed_zeros``
    is False: NumPy itself leaves the sign of ``maximum(0.0, -0.0)`` to its SIMD loops)."""
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if expected.dtype.names:
        for name in expected.dtype.names:
            assert_equal_arrays(got[name], expected[name], signed_zeros)
        return
    if expected.dtype.kind in "fc" and signed_zeros:
        np.testing.assert_array_equal(got, expected, strict=True)
        # assert_array_equal treats 0.0 == -0.0; NumPy's sign must be kept too.
        for part in ((got.real, expected.real), (got.imag, expected.imag)) if expected.dtype.kind == "c" \
                else ((got, expected),):
            zeros = part[1] == 0
            np.testing.assert_array_equal(np.signbit(part[0][zeros]), np.signbit(part[1][zeros]))
    else:
        np.testing.assert_array_equal(got, expected, strict=True)


FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
#: values exact in float16 and wider: specials, signed zeros, and eighths up to 250 (no filtering)
SMALL_FLOATS = st.one_of(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5]),
                         st.integers(-2000, 2000).map(lambda k: k / 8))


@st.composite
def arrays_and_layouts(draw, dtype=np.float64, max_rows: int = 30, trailing=(), elements=None):
    """``(a, lengths)``: a NumPy array and a random partition layout for it."""
    n = draw(st.integers(0, max_rows))
    a = draw(hnp.arrays(dtype, (n,) + tuple(trailing), elements=elements))
    return a, draw(layouts(n))


@st.composite
def partitioned_arrays(draw, dtype=np.float64, max_rows: int = 30, trailing=(), elements=None):
    """``(x, a)``: a PartitionedArray made with ``rd.from_partitions`` and the NumPy array it holds."""
    a, lengths = draw(arrays_and_layouts(dtype, max_rows, trailing, elements))
    return partitioned(a, lengths), a


STRUCT = np.dtype([("i", "i4"), ("f", "f8"), ("s", "S3"), ("u", "U2"), ("t", "M8[s]"), ("b", "?")])


def sample_values(dtype, n: int = 23, trailing=(), seed: int = 0) -> np.ndarray:
    """``n`` rows of ``dtype`` with varied values (extremes, NaN and inf where the dtype has them)."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng((n, seed))
    shape = (n,) + tuple(trailing)
    size = math.prod(shape)
    if dtype.names:
        out = np.zeros(shape, dtype)
        for name in dtype.names:
            out[name] = sample_values(dtype[name], n, trailing, seed)
        return out
    kind = dtype.kind
    if kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if kind in "iu":
        info = np.iinfo(dtype)
        vals = rng.integers(info.min, info.max, size, dtype=dtype, endpoint=True)
        vals[: min(size, 2)] = [info.min, info.max][: min(size, 2)]
        return vals.reshape(shape)
    if kind == "f":
        vals = (rng.standard_normal(size) * 100).astype(dtype)
        vals[: min(size, 5)] = [np.nan, np.inf, -np.inf, -0.0, np.finfo(dtype).max][: min(size, 5)]
        return vals.reshape(shape)
    if kind == "c":
        vals = (rng.standard_normal(size) + 1j * rng.standard_normal(size)).astype(dtype)
        vals[: min(size, 2)] = [complex(np.nan, 1), complex(1, np.inf)][: min(size, 2)]
        return vals.reshape(shape)
    if kind == "M":
        vals = rng.integers(-10**9, 10**9, size).astype(dtype)
        vals[0] = np.datetime64("NaT")
        return vals.reshape(shape)
    if kind == "m":
        vals = rng.integers(-10**9, 10**9, size).astype(dtype)
        vals[0] = np.timedelta64("NaT")
        return vals.reshape(shape)
    if kind == "S":
        return np.array([bytes([97 + int(k) % 26]) * (int(k) % (dtype.itemsize + 1))
                         for k in rng.integers(0, 100, size)], dtype=dtype).reshape(shape)
    if kind == "U":
        return np.array(["é" * (int(k) % (dtype.itemsize // 4 + 1)) for k in rng.integers(0, 100, size)],
                        dtype=dtype).reshape(shape)
    raise AssertionError(dtype)
