"""The fixed-width histogram kernel counts exactly as ``np.histogram`` does: values on and within
an ulp of the edges, the closed last bin, NaN, infinities and values out of range."""

import numpy as np
import pytest

import rdarray as rd
from rdarray._core.histogram import uniform_counts

RANGES = [(270.0, 316.0), (0, 1), (-3, 7), (0.1, 0.7), (5.0, 5.0), (-1e300, 1e300), (np.float64(-2.5), 2**53)]


def tricky(first, last, bins, n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    edges = np.histogram_bin_edges(np.empty(0), bins=bins, range=(first, last))
    span = edges[-1] - edges[0]
    values = [rng.uniform(edges[0] - 0.1 * span, edges[-1] + 0.1 * span, n), edges,
              np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf),
              [np.nan, np.inf, -np.inf, 0.0, -0.0]]
    return np.concatenate([np.asarray(v, dtype=np.float64) for v in values])


@pytest.mark.parametrize("bins", [1, 3, 8, 10, 97])
@pytest.mark.parametrize("rng", RANGES)
def test_kernel_against_numpy(bins, rng):
    values = tricky(*rng, bins)
    edges = np.histogram_bin_edges(values[:0], bins=bins, range=rng)
    expected = np.histogram(values, bins=bins, range=rng)[0]
    got = uniform_counts(values, edges)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    strided = values[::3]
    np.testing.assert_array_equal(uniform_counts(strided, edges), np.histogram(strided, bins=bins, range=rng)[0])
    assert uniform_counts(values[:0], edges).tolist() == [0] * bins


@pytest.mark.parametrize("rng", [(270.0, 316.0), (0, 1), None, (np.float32(0.1), np.float32(0.7))])
def test_partitioned_histogram(rng):
    values = tricky(0.1, 0.7, 8) if rng is None or rng[0] != 270.0 else tricky(270.0, 316.0, 8)
    if rng is None:
        values = values[np.isfinite(values)]
    x = rd.from_numpy(values, npartitions=4)
    counts, edges = x.histogram(bins=8, range=rng).compute()
    ref_counts, ref_edges = np.histogram(values, bins=8, range=rng)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(edges, ref_edges)
    assert counts.dtype == ref_counts.dtype
