"""The task runner's fast paths (compiled programs, row slices, in-place temporaries) give exactly
what NumPy gives, whatever the aliasing between the values of a task."""

import numpy as np
import pytest

import rdarray as rd
import rdarray.engine.runner as task

A = np.random.default_rng(0).normal(size=(1000, 3))


@pytest.fixture(params=[16, 1 << 15], ids=["many-slices", "one-slice"])
def slice_elements(request, monkeypatch):
    monkeypatch.setattr(task, "SLICE_ELEMENTS", request.param)
    return request.param


def test_temporaries_used_twice(slice_elements):
    x = rd.from_numpy(A, npartitions=3)
    y = np.sqrt(np.abs(x))
    np.testing.assert_array_equal((y * 2 + y).compute(), np.sqrt(np.abs(A)) * 2 + np.sqrt(np.abs(A)))


def test_views_of_a_dying_temporary_are_not_overwritten(slice_elements):
    x = rd.from_numpy(A, npartitions=3)
    y = x * 2
    first = y[:, 0]          # a view of the temporary y
    shifted = y + 1          # y's last use: it may not be overwritten while `first` lives
    out = (first + shifted[:, 1]).compute()
    np.testing.assert_array_equal(out, (A * 2)[:, 0] + (A * 2 + 1)[:, 1])
    a, b = rd.compute(first, shifted)
    np.testing.assert_array_equal(a, (A * 2)[:, 0])
    np.testing.assert_array_equal(b, A * 2 + 1)


def test_inputs_and_outputs_are_never_overwritten(slice_elements):
    a = A.copy()
    x = rd.from_numpy(a, npartitions=4)
    y = x + 1
    z, w = rd.compute(y, -y)
    np.testing.assert_array_equal(a, A)
    np.testing.assert_array_equal(z, A + 1)
    np.testing.assert_array_equal(w, -(A + 1))


def test_dtype_changes_and_masks(slice_elements):
    x = rd.from_numpy(A, npartitions=3)
    r = ((x > 0) * 3 + (x * 2).astype(np.float32))[x[:, 0] > 0]
    np.testing.assert_array_equal(r.compute(), ((A > 0) * 3 + (A * 2).astype(np.float32))[A[:, 0] > 0])
    s = (x[x[:, 1] < 0] * 2 + 1).sum(axis=0)
    np.testing.assert_allclose(s.compute(), (A[A[:, 1] < 0] * 2 + 1).sum(axis=0), rtol=1e-12)


def test_reductions_merge_slice_partials(slice_elements):
    x = rd.from_numpy(A, npartitions=3)
    got = rd.compute(x.min(axis=0), x.argmax(), x.var(axis=0), (x * 2).histogram(bins=7, range=(-5, 5)))
    np.testing.assert_array_equal(got[0], A.min(axis=0))
    assert got[1] == A.argmax()
    np.testing.assert_allclose(got[2], A.var(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(got[3][0], np.histogram(A * 2, bins=7, range=(-5, 5))[0])


def test_functions_returning_their_argument_or_views_of_it(slice_elements):
    # which temporaries a step may overwrite is decided when the stage is compiled: a result that
    # may be its argument, or a view of it (through several steps), keeps that argument alive
    a = A.copy()
    x = rd.from_numpy(a, npartitions=3)
    y = x * 2
    same = y.map_partitions(lambda b: b)
    view = same.map_partitions(lambda b: b[::-1][::-1])
    out = ((y + 1) + view).compute()
    np.testing.assert_array_equal(out, (A * 2 + 1) + A * 2)
    leaf = x.map_partitions(lambda b: b)  # the input partition itself, which may own its memory
    np.testing.assert_array_equal(((leaf + 1) * 3).compute(), (A + 1) * 3)
    z = (x * 1).persist()  # partitions of an earlier stage, owned and read again afterwards
    np.testing.assert_array_equal((z.map_partitions(lambda b: b) + 1).compute(), A + 1)
    np.testing.assert_array_equal(z.compute(), A)
    np.testing.assert_array_equal(a, A)


def test_arrays_a_function_keeps_are_never_overwritten(slice_elements):
    # a user's function may return an array it owns and keeps (a global, a cache): a later ufunc
    # must not write its result into it, even when it is the function's only use
    kept = np.arange(len(A) * 3, dtype=float).reshape(A.shape).copy()  # owns its memory
    before = kept.copy()
    x = rd.from_numpy(np.zeros_like(A), npartitions=1)
    w = (x + 1).map_partitions(lambda b: kept[:0] if len(b) == 0 else kept)
    np.testing.assert_array_equal(((w + 1) * 2).compute(), (before + 1) * 2)
    np.testing.assert_array_equal(kept, before)
