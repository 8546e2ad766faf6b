"""Range-partitioning kernel: the target partition of every key, given sorted cut keys.

A binary search per key whose steps do not branch on the data (the compiler turns the choice
into a conditional move), so no step waits on a mispredicted branch as NumPy's searchsorted does.
NaN orders after every number, as in NumPy's sort.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint64_t

cnp.import_array()

cdef enum:
    LINEAR_CUTS = 16  # up to this many cuts, comparing a key with each is faster than searching


ctypedef fused key_t:
    int32_t
    int64_t
    uint64_t
    float
    double


cdef inline bint _less(key_t a, key_t b) noexcept nogil:
    """a < b in NumPy's sort order (NaN last)."""
    if key_t is float or key_t is double:
        return a < b or (b != b and a == a)
    else:
        return a < b


def count_below(const key_t[::1] cuts, const key_t[:] keys):
    """For every key, the number of cuts ordered before it: ``searchsorted(cuts, keys, "left")``
    for sorted ``cuts`` (intp)."""
    cdef Py_ssize_t m = cuts.shape[0], n = keys.shape[0], i, j, size, half, base
    out = np.empty(n, np.intp)
    cdef Py_ssize_t[::1] o = out
    cdef key_t k
    if m == 0:
        out[:] = 0
        return out
    with nogil:
        if m <= LINEAR_CUTS:  # few cuts: count them all, a loop the compiler vectorizes
            for i in range(n):
                k = keys[i]
                base = 0
                for j in range(m):
                    base += _less(cuts[j], k)
                o[i] = base
        else:
            for i in range(n):
                k = keys[i]
                base = 0
                size = m
                while size > 1:
                    half = size >> 1
                    base = base + half if _less(cuts[base + half - 1], k) else base
                    size -= half
                o[i] = base + _less(cuts[base], k)
    return out
