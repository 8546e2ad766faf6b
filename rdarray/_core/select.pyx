"""Selection kernels: the passes that find exact order statistics (quantiles) without sorting.

Every value maps to an unsigned 64-bit *order key* that sorts as the values do (floats by their
bits with the sign folded, signed integers with the sign bit flipped), so one integer histogram
serves every dtype. A pass counts the keys of ``[lo, lo + nbins << shift)`` into ``nbins`` buckets of
``1 << shift`` keys; the bucket holding a wanted rank is narrowed by the next pass or, once small,
its values are gathered and selected in memory. NaN (and NaT, the minimum int64 of a time) are
missing: never counted.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t, uint64_t

from rdarray._core.keys cimport key_t

cnp.import_array()

cdef uint64_t SIGN = (<uint64_t>1) << 63
cdef int64_t NAT = -9223372036854775807 - 1


cdef inline bint _missing(key_t v, bint nat) noexcept nogil:
    if key_t is float or key_t is double:
        return v != v
    elif key_t is int64_t:
        return nat and v == NAT
    else:
        return False


cdef inline uint64_t _key(key_t v) noexcept nogil:
    """The order key of ``v``: keys compare as the values do (-0.0 just before 0.0)."""
    cdef double d
    cdef uint64_t bits
    if key_t is float or key_t is double:
        d = <double>v
        bits = (<uint64_t*>&d)[0]
        return ~bits if bits & SIGN else bits | SIGN
    elif key_t is uint64_t:
        return v
    else:
        return (<uint64_t><int64_t>v) ^ SIGN


cdef inline uint64_t _bucket(key_t v, uint64_t lo, int shift, bint nat) noexcept nogil:
    """The bucket of ``v``'s key counted from ``lo`` in steps of ``1 << shift``; the largest
    uint64 (past every bucket) when ``v`` is missing or below ``lo``."""
    cdef uint64_t k
    if _missing(v, nat):
        return <uint64_t>-1
    k = _key(v)
    if k < lo:
        return <uint64_t>-1
    return (k - lo) >> shift


def key_span(const key_t[::1] values, bint nat=False):
    """``(count, lowest key, highest key)`` of the values present (keys 0 when none is)."""
    cdef Py_ssize_t n = values.shape[0], i, count = 0
    cdef uint64_t lo = <uint64_t>-1, hi = 0, k
    with nogil:
        for i in range(n):
            if _missing(values[i], nat):
                continue
            k = _key(values[i])
            count += 1
            if k < lo:
                lo = k
            if k > hi:
                hi = k
    return count, (lo if count else 0), hi


def key_histogram(const key_t[::1] values, uint64_t lo, int shift, Py_ssize_t nbins, bint nat=False):
    """Counts (int64, ``nbins``) of the present values whose key ``k`` has ``lo <= k`` and
    ``(k - lo) >> shift < nbins``: bucket ``b`` holds keys ``lo + (b << shift)`` up to the next."""
    if not 0 <= shift < 64 or nbins <= 0:
        raise ValueError(f"key_histogram: bad shift {shift} or bucket count {nbins}")
    counts = np.zeros(nbins, np.int64)
    cdef int64_t[::1] c = counts
    cdef Py_ssize_t n = values.shape[0], i
    cdef uint64_t b, top = <uint64_t>nbins
    with nogil:
        for i in range(n):
            b = _bucket(values[i], lo, shift, nat)
            if b < top:
                c[b] += 1
    return counts


def gather_buckets(const key_t[::1] values, uint64_t lo, int shift, const uint8_t[::1] wanted, key_t[::1] out,
                   bint nat=False):
    """Copy the present values whose bucket (as :func:`key_histogram` numbers them) is flagged in
    ``wanted`` into ``out``, in row order; returns how many were copied (at most ``len(out)``)."""
    if not 0 <= shift < 64:
        raise ValueError(f"gather_buckets: bad shift {shift}")
    cdef Py_ssize_t n = values.shape[0], i, filled = 0, room = out.shape[0]
    cdef uint64_t b, top = <uint64_t>wanted.shape[0]
    with nogil:
        for i in range(n):
            b = _bucket(values[i], lo, shift, nat)
            if b < top and wanted[b]:
                if filled == room:
                    break
                out[filled] = values[i]
                filled += 1
    return filled
