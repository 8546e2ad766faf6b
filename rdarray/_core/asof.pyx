"""As-of join kernel: for each left row, the last right row at or before it (or the first at or
after it) among the right rows of its group, both sides sorted by key.

One merge pass over the two sorted sides, as pandas' own: a pointer walks the right rows in key
order and a small table keeps the latest right row seen per group, so each left row's match is
one table read. O(left + right), no GIL.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t

from rdarray._core.ids cimport ids_in_range
from rdarray._core.keys cimport key_t

cnp.import_array()


def asof_match(const key_t[:] left, const int64_t[::1] left_groups, const key_t[:] right,
               const int64_t[::1] right_groups, Py_ssize_t ngroups, bint exact, bint forward):
    """Index of each left row's match among the right rows of its group, -1 for none: the last
    right row with key ``<=`` (``<`` without ``exact``) the left key, or with ``forward`` the
    first with key ``>=`` (``>``). Both sides are sorted by key (not checked here)."""
    cdef Py_ssize_t n = left.shape[0], r = right.shape[0], i, j, k
    if left_groups.shape[0] != n or right_groups.shape[0] != r:
        raise ValueError("one group id per row is needed on each side")
    if ngroups < 1:
        raise ValueError(f"ngroups must be >= 1, got {ngroups}")
    if not (ids_in_range(left_groups, ngroups) and ids_in_range(right_groups, ngroups)):
        raise ValueError(f"a group id is outside [0, {ngroups})")
    out = np.empty(n, np.int64)
    seen_arr = np.full(ngroups, -1, np.int64)
    cdef int64_t[::1] o = out, seen = seen_arr
    with nogil:
        if not forward:
            j = 0
            for i in range(n):
                while j < r and (right[j] < left[i] or (exact and right[j] == left[i])):
                    seen[right_groups[j]] = j
                    j += 1
                o[i] = seen[left_groups[i]]
        else:
            j = r - 1
            for k in range(n):
                i = n - 1 - k
                while j >= 0 and (right[j] > left[i] or (exact and right[j] == left[i])):
                    seen[right_groups[j]] = j
                    j -= 1
                o[i] = seen[left_groups[i]]
    return out
