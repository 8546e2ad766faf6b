"""Range-partitioning kernel: the target partition of every key, given sorted cut keys.

A binary search per key whose steps do not branch on the data (the compiler turns the choice
into a conditional move), so no step waits on a mispredicted branch as NumPy's searchsorted does.
NaN orders after every number, as in NumPy's sort, or before every number when asked.
"""
import numpy as np

cimport numpy as cnp

from rdarray._core.keys cimport key_t

cnp.import_array()

cdef enum:
    LINEAR_CUTS = 16  # up to this many cuts, comparing a key with each is faster than searching


cdef inline bint _less(key_t a, key_t b, bint nan_first) noexcept nogil:
    """a < b in NumPy's sort order (NaN last), or with NaN first."""
    if key_t is float or key_t is double:
        if nan_first:
            return a < b or (a != a and b == b)
        return a < b or (b != b and a == a)
    else:
        return a < b


def count_below(const key_t[::1] cuts, const key_t[:] keys, unsigned char[::1] tied=None, bint nan_first=False):
    """For every key, the number of cuts ordered before it: ``searchsorted(cuts, keys, "left")``
    for sorted ``cuts`` (intp), NaN last or ``nan_first``. ``tied``, when given (one flag per key), is set where the key
    equals the cut it stops at (NaN equal to NaN): the keys a split of ties must look at."""
    cdef Py_ssize_t m = cuts.shape[0], n = keys.shape[0], i, j, size, half, base
    if tied is not None and tied.shape[0] != n:
        raise ValueError(f"{tied.shape[0]} tie flags for {n} keys")
    out = np.empty(n, np.intp)
    cdef Py_ssize_t[::1] o = out
    cdef key_t k, c
    cdef bint flag = tied is not None
    if m == 0:
        out[:] = 0
        if flag:
            tied[:] = 0
        return out
    with nogil:
        for i in range(n):
            k = keys[i]
            base = 0
            if m <= LINEAR_CUTS:  # few cuts: count them all
                for j in range(m):
                    base += _less(cuts[j], k, nan_first)
            else:
                size = m
                while size > 1:
                    half = size >> 1
                    base = base + half if _less(cuts[base + half - 1], k, nan_first) else base
                    size -= half
                base += _less(cuts[base], k, nan_first)
            o[i] = base
            if flag:
                c = cuts[base if base < m else m - 1]
                if key_t is float or key_t is double:
                    tied[i] = c == k or (c != c and k != k)
                else:
                    tied[i] = c == k
    return out
