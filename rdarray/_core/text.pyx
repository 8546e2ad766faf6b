"""Kernels of variable-width text (``rdarray.text.Text``): gather rows, compare with a constant
or row by row, and convert from and to NumPy's ``StringDType``, fixed-width ``S``/``U`` arrays and
Python objects.

A text column of n rows is three arrays: ``offsets`` (int64, n + 1, non-decreasing: row i is
``data[offsets[i]:offsets[i + 1]]``), ``data`` (uint8, UTF-8) and ``missing`` (bool, n, or None
when no row is missing; a missing row's bytes, if any, are never read). Loops run without the
GIL except where
they make or read Python objects; the def functions check what the loops rely on.
"""
import numpy as np

cimport numpy as cnp
from cpython.ref cimport PyObject
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.string cimport memcmp, memcpy
from numpy cimport PyArray_StringDTypeObject, npy_packed_static_string, npy_static_string, npy_string_allocator

cdef extern from "numpy/arrayobject.h":
    # NumPy's own declarations lack nogil. A StringDType's allocator is a lock that NumPy takes
    # while holding the GIL, so it is held here only where the GIL is not: taking the GIL back
    # while holding it deadlocks against a thread casting to the same dtype
    npy_string_allocator* acquire "NpyString_acquire_allocator"(const PyArray_StringDTypeObject* d) nogil
    void release "NpyString_release_allocator"(npy_string_allocator* a) nogil
    int load "NpyString_load"(npy_string_allocator* a, const npy_packed_static_string* p,
                              npy_static_string* s) nogil
    int pack "NpyString_pack"(npy_string_allocator* a, npy_packed_static_string* p, const char* buf,
                              size_t size) nogil
    int pack_null "NpyString_pack_null"(npy_string_allocator* a, npy_packed_static_string* p) nogil

cnp.import_array()

cdef enum:
    EQ, NE, LT, LE, GT, GE


def check(const int64_t[::1] offsets, Py_ssize_t nbytes):
    """Raise ValueError unless ``offsets`` is a valid offsets array into ``nbytes`` bytes."""
    cdef Py_ssize_t i, n = offsets.shape[0]
    cdef bint ok = n >= 1
    if ok:
        with nogil:
            ok = offsets[0] >= 0 and offsets[n - 1] <= nbytes
            for i in range(n - 1):
                if offsets[i + 1] < offsets[i]:
                    ok = False
                    break
    if not ok:
        raise ValueError("text offsets must be non-decreasing, within the data, one more than the rows")


def take(const int64_t[::1] offsets, const uint8_t[::1] data, const int64_t[::1] rows):
    """``(offsets, data)`` of rows ``rows`` (positions in ``[0, n)``; checked) one after another."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, m = rows.shape[0], i
    cdef int64_t r, total = 0
    cdef bint bad = False
    out_offsets = np.empty(m + 1, np.int64)
    cdef int64_t[::1] o = out_offsets
    with nogil:
        o[0] = 0
        for i in range(m):
            r = rows[i]
            if r < 0 or r >= n:
                bad = True
                break
            total += offsets[r + 1] - offsets[r]
            o[i + 1] = total
    if bad:
        raise IndexError(f"a row index is out of bounds for text of {n} rows")
    out_data = np.empty(total, np.uint8)
    cdef uint8_t[::1] d = out_data
    if total:
        with nogil:
            for i in range(m):
                r = rows[i]
                memcpy(&d[o[i]], &data[offsets[r]], offsets[r + 1] - offsets[r])
    return out_offsets, out_data


cdef inline int _order(const uint8_t* a, int64_t na, const uint8_t* b, int64_t nb) noexcept nogil:
    """-1, 0 or 1 as UTF-8 a sorts before, with or after b (byte order is code point order)."""
    cdef int c = memcmp(a, b, na if na < nb else nb) if na and nb else 0
    if c:
        return -1 if c < 0 else 1
    return (na > nb) - (na < nb)


cdef inline bint _holds(int c, int op) noexcept nogil:
    if op == EQ: return c == 0
    if op == NE: return c != 0
    if op == LT: return c < 0
    if op == LE: return c <= 0
    if op == GT: return c > 0
    return c >= 0


_OPS = {"==": EQ, "!=": NE, "<": LT, "<=": LE, ">": GT, ">=": GE}


def compare_scalar(const int64_t[::1] offsets, const uint8_t[::1] data, missing, bytes value, str op):
    """``row op value`` of every row (``op`` one of == != < <= > >=); a missing row compares
    False, except ``!=`` True (as NaN does)."""
    cdef int code = _OPS[op]
    cdef Py_ssize_t n = offsets.shape[0] - 1, i
    cdef const uint8_t[::1] miss = missing if missing is not None else np.zeros(0, np.uint8)
    cdef bint has_missing = missing is not None
    cdef const uint8_t* v = <const uint8_t*><char*>value
    cdef int64_t nv = len(value), start, size
    cdef const uint8_t* base = &data[0] if data.shape[0] else v
    out = np.empty(n, bool)
    cdef uint8_t[::1] o = out.view(np.uint8)
    with nogil:
        for i in range(n):
            if has_missing and miss[i]:
                o[i] = code == NE
                continue
            start = offsets[i]
            size = offsets[i + 1] - start
            if code == EQ or code == NE:
                o[i] = (size == nv and (nv == 0 or memcmp(base + start, v, nv) == 0)) == (code == EQ)
            else:
                o[i] = _holds(_order(base + start, size, v, nv), code)
    return out


def compare(const int64_t[::1] a_offsets, const uint8_t[::1] a_data, a_missing,
            const int64_t[::1] b_offsets, const uint8_t[::1] b_data, b_missing, str op):
    """``a[i] op b[i]`` of two text columns of one length; missing as in ``compare_scalar``."""
    cdef int code = _OPS[op]
    cdef Py_ssize_t n = a_offsets.shape[0] - 1, i
    if b_offsets.shape[0] - 1 != n:
        raise ValueError(f"text of {n} and {b_offsets.shape[0] - 1} rows cannot be compared row by row")
    cdef const uint8_t[::1] am = a_missing if a_missing is not None else np.zeros(0, np.uint8)
    cdef const uint8_t[::1] bm = b_missing if b_missing is not None else np.zeros(0, np.uint8)
    cdef bint has_a = a_missing is not None, has_b = b_missing is not None
    cdef uint8_t empty = 0
    cdef const uint8_t* pa = &a_data[0] if a_data.shape[0] else &empty
    cdef const uint8_t* pb = &b_data[0] if b_data.shape[0] else &empty
    out = np.empty(n, bool)
    cdef uint8_t[::1] o = out.view(np.uint8)
    with nogil:
        for i in range(n):
            if (has_a and am[i]) or (has_b and bm[i]):
                o[i] = code == NE
                continue
            o[i] = _holds(_order(pa + a_offsets[i], a_offsets[i + 1] - a_offsets[i],
                                 pb + b_offsets[i], b_offsets[i + 1] - b_offsets[i]), code)
    return out


cdef inline int _placed(const int64_t* offsets, const uint8_t* data, const uint8_t* missing, Py_ssize_t i,
                        const int64_t* k_offsets, const uint8_t* k_data, const uint8_t* k_missing, Py_ssize_t j,
                        bint descending, bint missing_first) noexcept nogil:
    """-1, 0 or 1 as row i of one text column is ordered before, with or after row j of another:
    byte order (reversed when ``descending``), missing rows together before or after the others."""
    cdef bint a = missing != NULL and missing[i], b = k_missing != NULL and k_missing[j]
    if a or b:
        return 0 if a and b else ((-1 if a else 1) if missing_first else (1 if a else -1))
    cdef int c = _order(data + offsets[i], offsets[i + 1] - offsets[i],
                        k_data + k_offsets[j], k_offsets[j + 1] - k_offsets[j])
    return -c if descending else c


def count_below(const int64_t[::1] cut_offsets, const uint8_t[::1] cut_data, cut_missing,
                const int64_t[::1] offsets, const uint8_t[::1] data, missing,
                uint8_t[::1] tied=None, bint descending=False, bint missing_first=False):
    """For every text row, the number of the sorted cuts ordered before it (``searchsorted(cuts,
    rows, "left")`` in the order of ``_placed``), by binary search; ``tied`` as in
    ``ranges.count_below``: set where the row equals the cut it stops at."""
    cdef Py_ssize_t m = cut_offsets.shape[0] - 1, n = offsets.shape[0] - 1, i, size, half, base
    if tied is not None and tied.shape[0] != n:
        raise ValueError(f"{tied.shape[0]} tie flags for {n} rows")
    out = np.zeros(n, np.intp)
    cdef Py_ssize_t[::1] o = out
    cdef bint flag = tied is not None
    cdef uint8_t empty = 0
    cdef const uint8_t* cd = &cut_data[0] if cut_data.shape[0] else &empty
    cdef const uint8_t* kd = &data[0] if data.shape[0] else &empty
    cdef const uint8_t[::1] cm = cut_missing if cut_missing is not None else np.zeros(0, np.uint8)
    cdef const uint8_t[::1] km = missing if missing is not None else np.zeros(0, np.uint8)
    cdef const uint8_t* cmp = &cm[0] if cut_missing is not None else NULL
    cdef const uint8_t* kmp = &km[0] if missing is not None else NULL
    if m == 0:
        if flag:
            tied[:] = 0
        return out
    with nogil:
        for i in range(n):
            base, size = 0, m
            while size > 1:
                half = size >> 1
                if _placed(&cut_offsets[0], cd, cmp, base + half - 1, &offsets[0], kd, kmp, i,
                           descending, missing_first) < 0:
                    base += half
                size -= half
            base += _placed(&cut_offsets[0], cd, cmp, base, &offsets[0], kd, kmp, i, descending, missing_first) < 0
            o[i] = base
            if flag:
                tied[i] = _placed(&cut_offsets[0], cd, cmp, base if base < m else m - 1, &offsets[0], kd, kmp, i,
                                  descending, missing_first) == 0
    return out


def from_strings(cnp.ndarray a):
    """``(offsets, data, missing)`` of a 1-D ``StringDType`` array (missing: None when no row is)."""
    if a.ndim != 1 or not isinstance(a.dtype, np.dtypes.StringDType):
        raise TypeError(f"expected a 1-D StringDType array, got {a.dtype} of {a.ndim} dimensions")
    cdef Py_ssize_t n = a.shape[0], i, stride = a.strides[0]
    cdef const char* src = <const char*>cnp.PyArray_DATA(a)
    offsets = np.empty(n + 1, np.int64)
    missing = np.zeros(n, bool)
    cdef int64_t[::1] o = offsets
    cdef uint8_t[::1] m = missing.view(np.uint8)
    cdef npy_static_string s
    cdef int rc = 0, loaded
    cdef int64_t total = 0
    cdef const PyArray_StringDTypeObject* descr = <PyArray_StringDTypeObject*>a.dtype  # a holds it
    cdef npy_string_allocator* alloc
    with nogil:  # first the sizes, then the bytes: one allocation of the exact size
        alloc = acquire(descr)
        o[0] = 0
        for i in range(n):
            loaded = load(alloc, <const npy_packed_static_string*>(src + i * stride), &s)
            if loaded < 0:
                rc = -1
                break
            m[i] = loaded == 1
            total += 0 if loaded == 1 else <int64_t>s.size
            o[i + 1] = total
        release(alloc)
    if rc < 0:
        raise MemoryError("from_strings: a string could not be read")
    data = np.empty(total, np.uint8)
    cdef uint8_t* d = <uint8_t*>cnp.PyArray_DATA(data)
    if total:
        with nogil:
            alloc = acquire(descr)
            _copy_strings(alloc, src, stride, n, &o[0], d)
            release(alloc)
    return offsets, data, (missing if missing.any() else None)


cdef void _copy_strings(npy_string_allocator* alloc, const char* src, Py_ssize_t stride, Py_ssize_t n,
                        const int64_t* o, uint8_t* d) noexcept nogil:
    cdef npy_static_string s
    cdef Py_ssize_t i
    for i in range(n):
        if o[i + 1] > o[i] and load(alloc, <const npy_packed_static_string*>(src + i * stride), &s) == 0:
            memcpy(d + o[i], s.buf, o[i + 1] - o[i])


def to_strings(const int64_t[::1] offsets, const uint8_t[::1] data, missing, dtype, out=None):
    """A 1-D array of ``dtype`` (a ``StringDType`` with a NaN-like ``na_object``) of the rows,
    or the rows written into ``out`` (1-D, of ``dtype``, one element a row)."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, i
    if out is None:
        out = np.empty(n, dtype)
    elif not isinstance(out, np.ndarray) or out.dtype != dtype or out.shape != (n,):
        raise ValueError(f"to_strings: out must be a 1-D {dtype} array of {n} rows")
    cdef char* dst = <char*>cnp.PyArray_DATA(out)
    cdef Py_ssize_t stride = out.strides[0]
    cdef const uint8_t[::1] miss = missing if missing is not None else np.zeros(0, np.uint8)
    cdef bint has_missing = missing is not None
    cdef uint8_t empty = 0
    cdef const uint8_t* base = &data[0] if data.shape[0] else &empty
    cdef int rc = 0
    cdef const PyArray_StringDTypeObject* descr = <PyArray_StringDTypeObject*>out.dtype  # out holds it
    cdef npy_string_allocator* alloc
    with nogil:
        alloc = acquire(descr)
        for i in range(n):
            if has_missing and miss[i]:
                rc = pack_null(alloc, <npy_packed_static_string*>(dst + stride * i))
            else:
                rc = pack(alloc, <npy_packed_static_string*>(dst + stride * i),
                          <const char*>(base + offsets[i]), offsets[i + 1] - offsets[i])
            if rc < 0:
                break
        release(alloc)
    if rc < 0:
        raise MemoryError("to_strings: a string could not be stored")
    return out


def from_objects(cnp.ndarray values, object na=None):
    """``(offsets, data, missing, bad)`` of a 1-D object array of str, None, NaN and ``na`` (missing):
    ``bad`` is the position of the first other value, or -1 (then the rest is not valid)."""
    if values.ndim != 1 or values.dtype.kind != "O" or not values.flags.c_contiguous:
        raise TypeError("expected a 1-D contiguous object array")
    cdef PyObject** items = <PyObject**>cnp.PyArray_DATA(values)
    cdef Py_ssize_t n = values.shape[0], i, size
    cdef const char* buf
    cdef int64_t total = 0
    offsets = np.empty(n + 1, np.int64)
    missing = np.zeros(n, bool)
    cdef int64_t[::1] o = offsets
    cdef uint8_t[::1] m = missing.view(np.uint8)
    o[0] = 0
    for i in range(n):  # sizes first (str caches its UTF-8), then one copy
        v = <object>items[i]
        if type(v) is str or isinstance(v, str):
            PyUnicode_AsUTF8AndSize(v, &size)
            total += size
        elif v is None or v is na or (isinstance(v, float) and v != v):
            m[i] = 1
        else:
            return None, None, None, i
        o[i + 1] = total
    data = np.empty(total, np.uint8)
    cdef uint8_t* d = <uint8_t*>cnp.PyArray_DATA(data)
    for i in range(n):
        if not m[i]:
            buf = PyUnicode_AsUTF8AndSize(<object>items[i], &size)
            memcpy(d + o[i], buf, size)
    return offsets, data, (missing if missing.any() else None), -1


def to_objects(const int64_t[::1] offsets, const uint8_t[::1] data, missing):
    """A 1-D object array of the rows as ``str`` (missing rows NaN)."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, i
    cdef const uint8_t[::1] miss = missing if missing is not None else np.zeros(0, np.uint8)
    cdef bint has_missing = missing is not None
    cdef uint8_t empty = 0
    cdef const char* base = <const char*>(&data[0] if data.shape[0] else &empty)
    out = np.empty(n, object)
    cdef object[:] view = out
    nan = float("nan")
    for i in range(n):
        if has_missing and miss[i]:
            view[i] = nan
        else:
            view[i] = PyUnicode_DecodeUTF8(base + offsets[i], offsets[i + 1] - offsets[i], "surrogatepass")
    return out


cdef inline Py_ssize_t _utf8(uint32_t c, uint8_t* out) noexcept nogil:
    """Write code point c as UTF-8 (surrogates as their 3 bytes); the count of bytes."""
    if c < 0x80:
        out[0] = c
        return 1
    if c < 0x800:
        out[0] = 0xC0 | (c >> 6)
        out[1] = 0x80 | (c & 0x3F)
        return 2
    if c < 0x10000:
        out[0] = 0xE0 | (c >> 12)
        out[1] = 0x80 | ((c >> 6) & 0x3F)
        out[2] = 0x80 | (c & 0x3F)
        return 3
    out[0] = 0xF0 | (c >> 18)
    out[1] = 0x80 | ((c >> 12) & 0x3F)
    out[2] = 0x80 | ((c >> 6) & 0x3F)
    out[3] = 0x80 | (c & 0x3F)
    return 4


def from_fixed(cnp.ndarray a):
    """``(offsets, data)`` of a 1-D C-contiguous fixed-width ``S`` (bytes as they are) or ``U``
    (encoded as UTF-8) array, each value without its trailing NULs (as NumPy reads them)."""
    if a.ndim != 1 or a.dtype.kind not in "SU" or not a.flags.c_contiguous or not a.dtype.isnative:
        raise TypeError(f"expected a 1-D contiguous native S or U array, got {a.dtype}")
    cdef Py_ssize_t n = a.shape[0], i, k, width = a.dtype.itemsize, size
    cdef bint wide = a.dtype.kind == "U"
    cdef const uint8_t* src = <const uint8_t*>cnp.PyArray_DATA(a)
    cdef const uint32_t* chars
    cdef int64_t total = 0
    cdef uint8_t scratch[4]
    if wide:
        width //= 4
    offsets = np.empty(n + 1, np.int64)
    cdef int64_t[::1] o = offsets
    with nogil:
        o[0] = 0
        for i in range(n):
            if wide:
                chars = <const uint32_t*>(src + 4 * width * i)
                size = width
                while size and chars[size - 1] == 0:
                    size -= 1
                for k in range(size):
                    total += _utf8(chars[k], scratch)
            else:
                size = width
                while size and src[width * i + size - 1] == 0:
                    size -= 1
                total += size
            o[i + 1] = total
    data = np.empty(total, np.uint8)
    cdef uint8_t* d = <uint8_t*>cnp.PyArray_DATA(data)
    with nogil:
        for i in range(n):
            if wide:
                chars = <const uint32_t*>(src + 4 * width * i)
                size = o[i]
                k = 0
                while size < o[i + 1]:
                    size += _utf8(chars[k], d + size)
                    k += 1
            else:
                memcpy(d + o[i], src + width * i, o[i + 1] - o[i])
    return offsets, data
