# Checks shared by the kernels that index tables by group id.
from libc.stdint cimport int64_t, uint64_t


cdef inline bint ids_in_range(const int64_t[::1] ids, Py_ssize_t ngroups) noexcept nogil:
    """Every id is in [0, ngroups): safe to index a table of ngroups entries with."""
    cdef Py_ssize_t i
    for i in range(ids.shape[0]):
        if <uint64_t>ids[i] >= <uint64_t>ngroups:
            return False
    return True
