"""Fixed-width histogram kernel: a slice's counts in equal bins, in one pass without the GIL.

It counts exactly as ``np.histogram(values, bins=n, range=(first, last))`` does: a value's bin
from its offset over the bin width, corrected by one against the bin edges (``np.linspace``'s,
as NumPy's own), the last bin closed on the right; NaN and values outside the range are not
counted.
"""
import numpy as np

cimport numpy as cnp

cnp.import_array()


def uniform_counts(const double[:] values, const double[::1] edges):
    """The counts (intp) of ``values`` in the ``len(edges) - 1`` bins between ``edges``: the
    edges ``np.histogram`` computes for a number of bins and a range."""
    cdef Py_ssize_t n = edges.shape[0] - 1
    if n < 1:
        raise ValueError("uniform_counts: needs at least two edges")
    counts = np.zeros(n, dtype=np.intp)
    cdef cnp.intp_t[::1] c = counts
    cdef Py_ssize_t i, k
    cdef double first = edges[0], last = edges[n], v
    cdef double denom = last - first
    cdef double bins = <double>n
    with nogil:
        for i in range(values.shape[0]):
            v = values[i]
            if not (v >= first and v <= last):  # out of range, or NaN
                continue
            k = <Py_ssize_t>(((v - first) / denom) * bins)
            if k == n:
                k = n - 1
            if v < edges[k]:
                k -= 1
            if v >= edges[k + 1] and k != n - 1:
                k += 1
            c[k] += 1
    return counts
