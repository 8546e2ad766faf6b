"""Hash-join kernel: the (left row, right row) pairs of rows whose keys are equal.

Both sides' keys are first numbered by one factorize (one hash table over both sides: the build
and the probe are the same lookup), so this kernel works on group ids: it buckets the right rows
by group (a counting sort, stable), then walks the left rows and emits each one's matches. Every
loop runs without the GIL; the output is sized exactly by a counting pass first.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint64_t

cnp.import_array()

#: join kinds; a missing side's row index is -1
INNER, LEFT, RIGHT, OUTER = 0, 1, 2, 3


cdef bint _ids_in_range(const int64_t[::1] ids, Py_ssize_t ngroups) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(ids.shape[0]):
        if <uint64_t>ids[i] >= <uint64_t>ngroups:
            return False
    return True


def join_pairs(const int64_t[::1] left, const int64_t[::1] right, Py_ssize_t ngroups, int how):
    """``(left_rows, right_rows)``, int64: for each left row in order, its matching right rows in
    order (or -1 for none, when the join keeps unmatched left rows); then, when it keeps unmatched
    right rows, each of them in order with -1 on the left."""
    if how not in (INNER, LEFT, RIGHT, OUTER):
        raise ValueError(f"join kind must be one of 0..3, got {how}")
    if ngroups < 0:
        raise ValueError(f"ngroups must be >= 0, got {ngroups}")
    cdef bint ok
    with nogil:
        ok = _ids_in_range(left, ngroups) and _ids_in_range(right, ngroups)
    if not ok:
        raise ValueError(f"a group id is outside [0, {ngroups})")
    cdef Py_ssize_t nl = left.shape[0], nr = right.shape[0], i, k, g
    start_arr = np.zeros(ngroups + 1, np.int64)
    order_arr = np.empty(nr, np.int64)
    probed_arr = np.zeros(ngroups, np.uint8)
    cdef int64_t[::1] start = start_arr, order = order_arr
    cdef unsigned char[::1] probed = probed_arr
    cdef bint keep_left = how == LEFT or how == OUTER, keep_right = how == RIGHT or how == OUTER
    cdef int64_t total = 0, m, pos
    with nogil:
        for i in range(nr):
            start[right[i] + 1] += 1
        for g in range(ngroups):
            start[g + 1] += start[g]
        for i in range(nr):  # right rows by group, in order: order[start[g]:start[g + 1]]
            g = right[i]
            order[start[g]] = i
            start[g] += 1
        for g in range(ngroups, 0, -1):
            start[g] = start[g - 1]
        start[0] = 0
        for i in range(nl):
            m = start[left[i] + 1] - start[left[i]]
            probed[left[i]] = 1
            total += m if m or not keep_left else 1
        if keep_right:
            for i in range(nr):
                total += not probed[right[i]]
    left_rows = np.empty(total, np.int64)
    right_rows = np.empty(total, np.int64)
    cdef int64_t[::1] lo = left_rows, ro = right_rows
    with nogil:
        pos = 0
        for i in range(nl):
            g = left[i]
            if start[g + 1] == start[g]:
                if keep_left:
                    lo[pos] = i
                    ro[pos] = -1
                    pos += 1
                continue
            for k in range(start[g], start[g + 1]):
                lo[pos] = i
                ro[pos] = order[k]
                pos += 1
        if keep_right:
            for i in range(nr):
                if not probed[right[i]]:
                    lo[pos] = -1
                    ro[pos] = i
                    pos += 1
    return left_rows, right_rows
