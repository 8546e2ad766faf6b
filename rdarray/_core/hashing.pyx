"""Hashing kernels of the shuffle, of hash aggregation and of hash joins: hash key rows, map
hashes to partitions, scatter rows into buckets, factorize keys into group ids, per-group
accumulators, join pairs.

Every loop runs without the GIL over raw memory and creates no Python object per row; the
def functions check their arguments first (rdarray.shuffle.hashing converts user input).

Keys are one or several 1-D columns of one length, any strides, native byte order: integers of
every width, bool, float32/float64, datetime64/timedelta64, bytes ('S') and str ('U'). The hash
of a row is fixed (no random seed: the same in every process and run, on little-endian machines):
``h = SEED``, then ``h = mix(h ^ w)`` for each 64-bit word ``w`` of each column's normalized
value, where ``mix`` is splitmix64's finalizer. Normalized values:

- integers, bool, datetime64, timedelta64: the value as int64, so equal integers hash alike in
  every width and True hashes as 1. uint64 values >= 2**63 take the int64 of the same bits and
  hash like that negative int64: a collision only, as NumPy never finds the two equal.
- floats: the bits of the float64 value (float32 widened exactly), -0.0 as 0.0, every NaN as
  one NaN. A float never hashes like the equal integer: cast keys to one dtype first.
- bytes and str: the raw bytes up to the last non-zero one (NumPy ignores trailing NULs), taken
  8 at a time (the last word padded with zeros), then their count.
- variable-width text (``rdarray.text.Text``, passed as its ``(offsets, data, missing)`` arrays):
  the UTF-8 bytes of each row as bytes are hashed (so text hashes as the same text in ``S``); a
  missing row as one word of its own. Missing rows are equal to each other, as NaN keys are.

A partition is chosen by the high bits of the hash, a hash-table slot by its low bits, so the
keys of one partition still spread over a whole table.
"""
import numpy as np

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy

from rdarray._core.ids cimport ids_in_range

cdef extern from *:
    """
    #include <stdint.h>
    #define RD_SEED 0x9E3779B97F4A7C15ULL
    #define RD_NAN_WORD 0x7FF8000000000000ULL
    #define RD_MISSING_WORD 0x6D697373696E6721ULL
    /* splitmix64's finalizer (Stafford's Mix13): a bijection of 64-bit words, full avalanche. */
    static inline uint64_t rd_mix(uint64_t x) {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        return x ^ (x >> 31);
    }
    /* floor(h * n / 2**64): one of n partitions from the high bits of h ("fastrange"). */
    static inline uint64_t rd_fastrange(uint64_t h, uint64_t n) {
        return (uint64_t)(((unsigned __int128)h * n) >> 64);
    }
    """
    const uint64_t SEED "RD_SEED"
    const uint64_t NAN_WORD "RD_NAN_WORD"
    const uint64_t MISSING_WORD "RD_MISSING_WORD"  # a missing text row
    uint64_t mix "rd_mix"(uint64_t x) noexcept nogil
    uint64_t fastrange "rd_fastrange"(uint64_t h, uint64_t n) noexcept nogil
    void prefetch "__builtin_prefetch"(const void* p) noexcept nogil

cnp.import_array()

include "hashing_kinds.pxi"  # K_* kinds, _KINDS, num_t and their dispatch, from hashing_kinds.pxi.in

ctypedef fused idx_t:
    int32_t
    int64_t

ctypedef fused val_t:
    int64_t
    double

cdef struct Col:
    const char* data          # text: its UTF-8 bytes
    Py_ssize_t stride
    Py_ssize_t itemsize
    int kind
    const int64_t* offsets    # text only: row i is data[offsets[i]:offsets[i + 1]]
    const uint8_t* missing    # text only: NULL, or 1 where the row is missing


cdef class _Keys:
    """The key columns as raw descriptors the nogil loops read; keeps the arrays alive."""
    cdef Col* cols
    cdef int ncols
    cdef Py_ssize_t n
    cdef list arrays

    def __cinit__(self, list columns):
        cdef cnp.ndarray a
        if not columns:
            raise ValueError("at least one key column is needed")
        self.arrays = list(columns)
        self.cols = <Col*>PyMem_Malloc(len(columns) * sizeof(Col))
        if self.cols == NULL:
            raise MemoryError()
        for i, arr in enumerate(self.arrays):
            if isinstance(arr, tuple):
                self._text(i, arr)
                continue
            if not isinstance(arr, np.ndarray) or arr.ndim != 1:
                raise ValueError(f"key column {i} is not a 1-D ndarray")
            a = arr
            d = a.dtype
            kind = K_BYTES if d.kind in "SU" else _KINDS.get((d.kind, d.itemsize))
            if kind is None or not d.isnative:
                raise TypeError(f"key column {i} has dtype {d}; keys must be integers, bool, float32/64, "
                                "datetime64, timedelta64, bytes or str, in native byte order")
            if i and a.shape[0] != self.n:
                raise ValueError(f"key columns have different lengths ({self.n} and {a.shape[0]})")
            self.n = a.shape[0]
            self.cols[i] = Col(<const char*>cnp.PyArray_DATA(a), cnp.PyArray_STRIDES(a)[0], d.itemsize, kind,
                               NULL, NULL)
        self.ncols = len(columns)

    cdef _text(self, int i, tuple column):
        """Column i is text: ``(offsets, data, missing)`` (int64, uint8 and uint8 or None, contiguous)."""
        offsets, data, missing = column
        cdef cnp.ndarray o = np.ascontiguousarray(offsets, np.int64)
        cdef cnp.ndarray d = np.ascontiguousarray(data, np.uint8)
        cdef cnp.ndarray m
        cdef Py_ssize_t n = o.shape[0] - 1
        if o.ndim != 1 or d.ndim != 1 or n < 0 or (n and (o[0] < 0 or o[n] > d.shape[0])):
            raise ValueError(f"key column {i}: text offsets out of the data")
        if i and n != self.n:
            raise ValueError(f"key columns have different lengths ({self.n} and {n})")
        self.n = n
        self.arrays[i] = (o, d, missing)  # what the pointers read stays alive
        self.cols[i] = Col(<const char*>cnp.PyArray_DATA(d), 0, 0, K_TEXT, <const int64_t*>cnp.PyArray_DATA(o), NULL)
        if missing is not None:
            m = np.ascontiguousarray(missing).view(np.uint8)
            if m.ndim != 1 or m.shape[0] != n:
                raise ValueError(f"key column {i}: {m.shape[0]} missing flags for {n} rows")
            self.arrays[i] = (o, d, m)
            self.cols[i].missing = <const uint8_t*>cnp.PyArray_DATA(m)

    def __dealloc__(self):
        PyMem_Free(self.cols)


cdef inline uint64_t _word(const char* p, num_t tag) noexcept nogil:
    """The normalized 64-bit word of the num_t at p (unaligned is fine)."""
    cdef num_t x
    cdef double d
    cdef uint64_t w
    memcpy(&x, p, sizeof(num_t))
    if num_t is float or num_t is double:
        d = x
        if d != d:
            return NAN_WORD
        if d == 0:
            return 0
        memcpy(&w, &d, 8)
        return w
    else:
        return <uint64_t><int64_t>x


cdef void _hash_words(const Col* c, Py_ssize_t n, uint64_t* h, bint init, num_t tag) noexcept nogil:
    """Fold the n numbers of column c (of type num_t) into their rows' hashes h."""
    cdef Py_ssize_t i
    for i in range(n):
        h[i] = mix((SEED if init else h[i]) ^ _word(c.data + i * c.stride, tag))


cdef inline uint64_t _fold_bytes(uint64_t h, const char* s, Py_ssize_t size) noexcept nogil:
    """Fold the bytes of s up to its last non-zero byte, then their count, into h."""
    cdef uint64_t w = 0
    cdef Py_ssize_t k
    while size >= 8:
        memcpy(&w, s + size - 8, 8)
        if w:
            break
        size -= 8
    while size > 0 and s[size - 1] == 0:
        size -= 1
    for k in range(0, size - 7, 8):
        memcpy(&w, s + k, 8)
        h = mix(h ^ w)
    k = size & ~7
    if k < size:
        w = 0
        memcpy(&w, s + k, size - k)
        h = mix(h ^ w)
    return mix(h ^ <uint64_t>size)


cdef void _hash_column(const Col* c, Py_ssize_t n, uint64_t* h, bint init) noexcept nogil:
    """Fold column c into the hashes h of its n rows (h starts at SEED when init)."""
    cdef Py_ssize_t i
    if c.kind == K_TEXT:
        for i in range(n):
            if c.missing != NULL and c.missing[i]:
                h[i] = mix((SEED if init else h[i]) ^ MISSING_WORD)
            else:
                h[i] = _fold_bytes(SEED if init else h[i], c.data + c.offsets[i], c.offsets[i + 1] - c.offsets[i])
    elif c.kind != K_BYTES:
        _hash_numbers(c, n, h, init)
    else:
        for i in range(n):
            h[i] = _fold_bytes(SEED if init else h[i], c.data + i * c.stride, c.itemsize)


cdef void _hash_keys(const Col* cols, int ncols, Py_ssize_t start, Py_ssize_t n, uint64_t* h) noexcept nogil:
    """Hashes of rows [start, start + n) into h."""
    cdef int c
    cdef Col col
    for c in range(ncols):
        col = cols[c]
        col.data += start * col.stride
        if col.kind == K_TEXT:
            col.offsets += start
            if col.missing != NULL:
                col.missing += start
        _hash_column(&col, n, h, c == 0)


def hash_keys(list columns):
    """uint64 hash of every row of the key columns (a list of 1-D arrays; see the module doc)."""
    cdef _Keys keys = _Keys(columns)
    out = np.empty(keys.n, np.uint64)
    cdef uint64_t[::1] h = out
    cdef const Col* cols = keys.cols
    cdef int ncols = keys.ncols
    cdef Py_ssize_t n = keys.n
    if n:
        with nogil:
            _hash_keys(cols, ncols, 0, n, &h[0])
    return out


cdef _check_npartitions(Py_ssize_t npartitions):
    if not 0 < npartitions <= 2**31 - 1:
        raise ValueError(f"npartitions must be in [1, 2**31 - 1], got {npartitions}")


def partition_of(const uint64_t[::1] hashes, Py_ssize_t npartitions):
    """int32 partition in [0, npartitions) of every hash, from its high bits."""
    _check_npartitions(npartitions)
    out = np.empty(hashes.shape[0], np.int32)
    cdef int32_t[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(hashes.shape[0]):
            o[i] = <int32_t>fastrange(hashes[i], <uint64_t>npartitions)
    return out


def partition_keys(list columns, Py_ssize_t npartitions):
    """``partition_of(hash_keys(columns), npartitions)`` in one pass: the hashes of a block of
    rows stay in cache instead of filling an array of 8 bytes per row."""
    _check_npartitions(npartitions)
    cdef _Keys keys = _Keys(columns)
    out = np.empty(keys.n, np.int32)
    cdef int32_t[::1] o = out
    cdef const Col* cols = keys.cols
    cdef int ncols = keys.ncols
    cdef Py_ssize_t n = keys.n, start, m, i
    cdef uint64_t h[1024]
    with nogil:
        for start in range(0, n, 1024):
            m = min(1024, n - start)
            _hash_keys(cols, ncols, start, m, h)
            for i in range(m):
                o[start + i] = <int32_t>fastrange(h[i], <uint64_t>npartitions)
    return out


cdef inline void _move(const char* src, char* dst, const idx_t* targets, int64_t* pos,
                       Py_ssize_t n, size_t size) noexcept nogil:
    """Copy row i (size bytes) of src to row pos[targets[i]]++ of dst, for i in order."""
    cdef Py_ssize_t i
    cdef int64_t k
    for i in range(n):
        k = pos[targets[i]]
        pos[targets[i]] = k + 1
        memcpy(dst + k * size, src + i * size, size)


def scatter(cnp.ndarray rows, const idx_t[::1] targets, Py_ssize_t npartitions):
    """Rows grouped by target in one stable pass: ``(out, offsets)``, bucket k being
    ``out[offsets[k]:offsets[k + 1]]``. ``rows`` is C-contiguous, any dtype without objects."""
    if not cnp.PyArray_IS_C_CONTIGUOUS(rows) or rows.ndim == 0 or rows.dtype.hasobject:
        raise TypeError("rows must be a C-contiguous array of at least one dimension, without objects")
    cdef Py_ssize_t n = rows.shape[0], i
    if targets.shape[0] != n:
        raise ValueError(f"{targets.shape[0]} targets for {n} rows")
    if npartitions <= 0:
        raise ValueError(f"npartitions must be positive, got {npartitions}")
    out = np.empty_like(rows, order="C")
    offsets = np.zeros(npartitions + 1, np.int64)
    pos = np.empty(npartitions, np.int64)
    cdef int64_t[::1] off = offsets, p = pos
    cdef size_t size = rows.nbytes // n if n else 0
    cdef const char* src = <const char*>cnp.PyArray_DATA(rows)
    cdef char* dst = <char*>cnp.PyArray_DATA(out)
    cdef bint bad = False
    with nogil:
        for i in range(n):
            if <uint64_t>targets[i] >= <uint64_t>npartitions:
                bad = True
                break
            off[targets[i] + 1] += 1
        if not bad and n:
            for i in range(npartitions):
                off[i + 1] += off[i]
                p[i] = off[i]
            if size == 8: _move(src, dst, &targets[0], &p[0], n, 8)
            elif size == 16: _move(src, dst, &targets[0], &p[0], n, 16)
            elif size == 4: _move(src, dst, &targets[0], &p[0], n, 4)
            else: _move(src, dst, &targets[0], &p[0], n, size)
    if bad:
        raise ValueError(f"a target is outside [0, {npartitions})")
    return out, offsets


cdef enum:
    PREFETCH_FROM = 65535  # tables of more slots (> 1 MB) prefetch the slot of row i + AHEAD
    AHEAD = 16             # while row i is looked up

cdef struct Slot:
    uint64_t key   # the normalized key (one numeric column) or the row's hash (otherwise)
    int64_t group  # -1: empty

cdef struct Table:
    Slot* slots
    uint64_t mask     # capacity - 1, a power of two; at most half the slots are used
    int64_t* first    # first row of each group (room for capacity / 2 + 1 groups)
    int64_t ngroups
    bint words        # keys are normalized words: their hash is mix(SEED ^ key)


cdef int _resize(Table* t, uint64_t capacity) noexcept nogil:
    """Move the groups into a table of the given capacity; -1 when out of memory."""
    cdef Slot* slots = <Slot*>malloc(capacity * sizeof(Slot))
    cdef int64_t* first = <int64_t*>realloc(t.first, (capacity // 2 + 1) * sizeof(int64_t))
    cdef uint64_t j, k, old = t.mask + 1 if t.slots != NULL else 0
    if first != NULL:
        t.first = first
    if slots == NULL or first == NULL:
        free(slots)
        return -1
    for j in range(capacity):
        slots[j] = Slot(0, -1)
    for k in range(old):
        if t.slots[k].group >= 0:
            j = (mix(SEED ^ t.slots[k].key) if t.words else t.slots[k].key) & (capacity - 1)
            while slots[j].group >= 0:
                j = (j + 1) & (capacity - 1)
            slots[j] = t.slots[k]
    free(t.slots)
    t.slots = slots
    t.mask = capacity - 1
    return 0


cdef inline int64_t _new_group(Table* t, Slot* s, uint64_t key, Py_ssize_t row) noexcept nogil:
    """Put a new group in the empty slot s; its id, or -1 when out of memory."""
    cdef int64_t g = t.ngroups
    s.key = key
    s.group = g
    t.first[g] = row
    t.ngroups += 1
    if 2 * <uint64_t>t.ngroups > t.mask + 1 and _resize(t, 2 * (t.mask + 1)) < 0:
        return -1
    return g


cdef int _factorize_words(const Col* c, Py_ssize_t start, Py_ssize_t n, int64_t* ids, Table* t,
                          bint insert, num_t tag) noexcept nogil:
    """Group ids of rows [start, n) of one numeric column, comparing normalized words held in the
    table. A key not in the table gets a new group, or -1 without ``insert`` (the table is then
    only read, so several threads may look up at once)."""
    cdef const char* data = c.data
    cdef Py_ssize_t i, stride = c.stride
    cdef Slot* slots = t.slots
    cdef uint64_t w, j, mask = t.mask
    for i in range(start, n):
        if mask >= PREFETCH_FROM and i + AHEAD < n:  # a table beyond the caches: fetch early
            prefetch(&slots[mix(SEED ^ _word(data + (i + AHEAD) * stride, tag)) & mask])
        w = _word(data + i * stride, tag)
        j = mix(SEED ^ w) & mask
        while True:
            if slots[j].key == w and slots[j].group >= 0:
                ids[i] = slots[j].group
                break
            if slots[j].group < 0:
                if not insert:
                    ids[i] = -1
                    break
                ids[i] = _new_group(t, &slots[j], w, i)
                if ids[i] < 0:
                    return -1
                slots, mask = t.slots, t.mask
                break
            j = (j + 1) & mask
    return 0


cdef inline bint _texts_equal(const Col* ca, Py_ssize_t a, const Col* cb, Py_ssize_t b) noexcept nogil:
    """Row a of text column ca equals row b of cb (missing equals missing only)."""
    cdef bint ma = ca.missing != NULL and ca.missing[a], mb = cb.missing != NULL and cb.missing[b]
    if ma or mb:
        return ma and mb
    cdef int64_t size = ca.offsets[a + 1] - ca.offsets[a]
    if size != cb.offsets[b + 1] - cb.offsets[b]:
        return False
    return size == 0 or memcmp(ca.data + ca.offsets[a], cb.data + cb.offsets[b], size) == 0


cdef inline bint _rows_equal(const Col* acols, Py_ssize_t a, const Col* bcols, Py_ssize_t b,
                             int ncols) noexcept nogil:
    """Row a of acols and row b of bcols hold equal keys (NaN equal to NaN, -0.0 to 0.0); the
    columns have one dtype each, so other values are equal exactly when their bytes are."""
    cdef const char* pa
    cdef const char* pb
    cdef double x, y
    cdef float xf, yf
    cdef int c
    for c in range(ncols):
        if acols[c].kind == K_TEXT:
            if not _texts_equal(&acols[c], a, &bcols[c], b):
                return False
            continue
        pa = acols[c].data + a * acols[c].stride
        pb = bcols[c].data + b * bcols[c].stride
        if acols[c].kind == K_F64:
            memcpy(&x, pa, 8)
            memcpy(&y, pb, 8)
        elif acols[c].kind == K_F32:
            memcpy(&xf, pa, 4)
            memcpy(&yf, pb, 4)
            x, y = xf, yf
        elif memcmp(pa, pb, acols[c].itemsize) != 0:
            return False
        else:
            continue
        if x != y and not (x != x and y != y):
            return False
    return True


cdef int _factorize_rows(const Col* cols, const Col* built, int ncols, Py_ssize_t start, Py_ssize_t n,
                         const uint64_t* hashes, int64_t* ids, Table* t, bint insert) noexcept nogil:
    """Group ids of rows [start, n) of any key columns in a table over the rows of ``built``
    (``cols`` itself while factorizing): the table holds hashes, rows are compared on a match. A
    key not in the table gets a new group, or -1 without ``insert``."""
    cdef Py_ssize_t i
    cdef Slot* slots = t.slots
    cdef uint64_t h, j, mask = t.mask
    for i in range(start, n):
        if mask >= PREFETCH_FROM and i + AHEAD < n:
            prefetch(&slots[hashes[i + AHEAD] & mask])
        h = hashes[i]
        j = h & mask
        while True:
            if (slots[j].key == h and slots[j].group >= 0
                    and _rows_equal(cols, i, built, t.first[slots[j].group], ncols)):
                ids[i] = slots[j].group
                break
            if slots[j].group < 0:
                if not insert:
                    ids[i] = -1
                    break
                ids[i] = _new_group(t, &slots[j], h, i)
                if ids[i] < 0:
                    return -1
                slots, mask = t.slots, t.mask
                break
            j = (j + 1) & mask
    return 0


cdef enum:
    PROBE_ROWS = 16384  # rows factorized before the table is sized for the expected groups


cdef int _factorize_range(const Col* cols, const Col* built, int ncols, Py_ssize_t start, Py_ssize_t n,
                          uint64_t* hashes, int64_t* ids, Table* t, bint insert) noexcept nogil:
    """The probing loop for the table's kind of keys (see _factorize_words and _factorize_rows)."""
    if not t.words:
        return _factorize_rows(cols, built, ncols, start, n, hashes, ids, t, insert)
    return _factorize_numbers(&cols[0], start, n, ids, t, insert)


cdef int _factorize(const Col* cols, int ncols, Py_ssize_t n, uint64_t* hashes, int64_t* ids,
                    Table* t) noexcept nogil:
    """A small table for the first rows; then, from the groups they had, one resize to the
    capacity all rows are expected to need (instead of doubling through every size)."""
    cdef uint64_t capacity = 16, expected
    cdef Py_ssize_t probe = min(n, <Py_ssize_t>PROBE_ROWS)
    while capacity < 2 * <uint64_t>n and capacity < 1 << 14:  # small tables: few collisions
        capacity *= 2
    if _resize(t, capacity) < 0:
        return -1
    if not t.words:
        _hash_keys(cols, ncols, 0, n, hashes)
    if _factorize_range(cols, cols, ncols, 0, probe, hashes, ids, t, True) < 0:
        return -1
    if probe < n:
        expected = <uint64_t>(<double>t.ngroups / probe * n)
        while capacity < 2 * expected and capacity < 2 * <uint64_t>n:
            capacity *= 2
        if capacity > t.mask + 1 and _resize(t, capacity) < 0:
            return -1
    return _factorize_range(cols, cols, ncols, probe, n, hashes, ids, t, True)


def factorize(list columns):
    """``(group_ids, n_groups, first_rows)``: a dense int64 id per row, in order of first
    appearance of its key, from an open-addressing table (linear probing, load <= 1/2)."""
    cdef _Keys keys = _Keys(columns)
    ids = np.empty(keys.n, np.int64)
    cdef int64_t[::1] g = ids
    cdef Table t = Table(NULL, 0, NULL, 0, keys.ncols == 1 and keys.cols[0].kind < K_BYTES)
    cdef uint64_t[::1] h = np.empty(0 if t.words else keys.n, np.uint64)
    cdef const Col* cols = keys.cols
    cdef int ncols = keys.ncols
    cdef Py_ssize_t n = keys.n
    cdef int rc = 0
    try:
        if n:
            with nogil:
                rc = _factorize(cols, ncols, n, NULL if t.words else &h[0], &g[0], &t)
        if rc < 0:
            raise MemoryError("factorize: hash table allocation failed")
        first = np.empty(t.ngroups, np.int64)
        if t.ngroups:
            memcpy(cnp.PyArray_DATA(first), t.first, t.ngroups * sizeof(int64_t))
        return ids, t.ngroups, first
    finally:
        free(t.slots)
        free(t.first)


def _dtype_name(column) -> str:
    return "text" if isinstance(column, tuple) else str(column.dtype)


cdef class HashIndex:
    """A hash table over one side's key columns, built once and probed by many partitions: the
    build side of a broadcast join. ``ids`` and ``ngroups`` number the build rows as
    ``factorize`` does; ``lookup`` finds the group of other rows (-1 for a key not built)."""

    cdef Table t
    cdef _Keys keys
    cdef readonly object ids
    cdef readonly Py_ssize_t ngroups

    def __cinit__(self, list columns):
        self.keys = _Keys(columns)
        self.t = Table(NULL, 0, NULL, 0, self.keys.ncols == 1 and self.keys.cols[0].kind < K_BYTES)
        self.ids = np.empty(self.keys.n, np.int64)
        cdef int64_t[::1] g = self.ids
        cdef uint64_t[::1] h = np.empty(0 if self.t.words else self.keys.n, np.uint64)
        cdef int rc
        with nogil:
            rc = _factorize(self.keys.cols, self.keys.ncols, self.keys.n, NULL if self.t.words else &h[0],
                            &g[0] if self.keys.n else NULL, &self.t) if self.keys.n else _resize(&self.t, 16)
        if rc < 0:
            raise MemoryError("HashIndex: hash table allocation failed")
        self.ngroups = self.t.ngroups

    def __dealloc__(self):
        free(self.t.slots)
        free(self.t.first)

    def lookup(self, list columns):
        """int64 group of every row of ``columns`` (dtypes as built), -1 where the key is absent."""
        cdef _Keys probe = _Keys(columns)
        cdef int c
        if probe.ncols != self.keys.ncols:
            raise ValueError(f"{probe.ncols} key columns to look up in an index of {self.keys.ncols}")
        for c in range(probe.ncols):
            if (probe.cols[c].kind, probe.cols[c].itemsize) != (self.keys.cols[c].kind, self.keys.cols[c].itemsize):
                raise TypeError(f"key column {c} has dtype {_dtype_name(probe.arrays[c])}; the index holds "
                                f"{_dtype_name(self.keys.arrays[c])}")
        ids = np.empty(probe.n, np.int64)
        cdef int64_t[::1] g = ids
        cdef uint64_t[::1] h = np.empty(0 if self.t.words else probe.n, np.uint64)
        cdef const Col* cols = probe.cols
        cdef Py_ssize_t n = probe.n
        if not n:
            return ids
        with nogil:
            if not self.t.words:
                _hash_keys(cols, probe.ncols, 0, n, &h[0])
            _factorize_range(cols, self.keys.cols, probe.ncols, 0, n, NULL if self.t.words else &h[0], &g[0],
                             &self.t, False)
        return ids

    def __reduce__(self):
        return HashIndex, (list(self.keys.arrays),)  # rebuilt where it is unpickled


cdef _check_groups(Py_ssize_t nvalues, const int64_t[::1] ids, Py_ssize_t n_groups):
    if ids.shape[0] != nvalues:
        raise ValueError(f"{ids.shape[0]} group ids for {nvalues} values")
    if n_groups < 0:
        raise ValueError(f"n_groups must be >= 0, got {n_groups}")
    cdef bint ok
    with nogil:
        ok = ids_in_range(ids, n_groups)
    if not ok:
        raise ValueError(f"a group id is outside [0, {n_groups})")


def group_sum(const val_t[:] values, const int64_t[::1] ids, Py_ssize_t n_groups):
    """Sum of the values of each group (NaN skipped; int64 wraps around as NumPy's does)."""
    _check_groups(values.shape[0], ids, n_groups)
    out = np.zeros(n_groups, np.float64 if val_t is double else np.int64)
    cdef val_t[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(values.shape[0]):
            if val_t is double:
                if values[i] != values[i]:
                    continue
            o[ids[i]] += values[i]
    return out


def group_count(const val_t[:] values, const int64_t[::1] ids, Py_ssize_t n_groups):
    """Number of non-NaN values of each group."""
    _check_groups(values.shape[0], ids, n_groups)
    out = np.zeros(n_groups, np.int64)
    cdef int64_t[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(values.shape[0]):
            if val_t is double:
                if values[i] != values[i]:
                    continue
            o[ids[i]] += 1
    return out


def group_minmax(const val_t[:] values, const int64_t[::1] ids, Py_ssize_t n_groups, bint is_max):
    """``(extreme, count)``: the min (or max) of the non-NaN values of each group and their
    number; the extreme of a group without values is NaN for floats, 0 for integers."""
    _check_groups(values.shape[0], ids, n_groups)
    out = np.full(n_groups, np.nan) if val_t is double else np.zeros(n_groups, np.int64)
    count = np.zeros(n_groups, np.int64)
    cdef val_t[::1] o = out
    cdef int64_t[::1] c = count
    cdef Py_ssize_t i
    cdef int64_t k
    cdef val_t v
    with nogil:
        for i in range(values.shape[0]):
            v, k = values[i], ids[i]
            if val_t is double:
                if v != v:
                    continue
            if c[k] == 0 or (v > o[k] if is_max else v < o[k]):
                o[k] = v
            c[k] += 1
    return out, count


def group_moments(const double[:] values, const int64_t[::1] ids, Py_ssize_t n_groups, bint m2):
    """``(count, sum, m2)`` of the non-NaN values of each group: their number, their sum and, when
    ``m2``, the sum of their squared deviations from the group mean (a second pass, so a large
    mean costs no precision); otherwise ``m2`` is None."""
    _check_groups(values.shape[0], ids, n_groups)
    count = np.zeros(n_groups, np.int64)
    total = np.zeros(n_groups, np.float64)
    cdef int64_t[::1] c = count
    cdef double[::1] s = total, d, mean
    cdef Py_ssize_t i, n = values.shape[0]
    cdef double v
    with nogil:
        for i in range(n):
            v = values[i]
            if v == v:
                s[ids[i]] += v
                c[ids[i]] += 1
    if not m2:
        return count, total, None
    deviations = np.zeros(n_groups, np.float64)
    mean = total / np.maximum(count, 1)
    d = deviations
    with nogil:
        for i in range(n):
            v = values[i]
            if v == v:
                v = v - mean[ids[i]]
                d[ids[i]] += v * v
    return count, total, deviations


def group_first_row(const int64_t[::1] ids, const uint8_t[:] valid, Py_ssize_t n_groups, bint last):
    """The first (or last) row of each group whose ``valid`` flag is set (every row when
    ``valid`` is empty), or -1 for a group without one."""
    cdef Py_ssize_t n = ids.shape[0], i
    if valid.shape[0] not in (0, n):
        raise ValueError(f"{valid.shape[0]} validity flags for {n} rows")
    _check_groups(n, ids, n_groups)
    out = np.full(n_groups, -1, np.int64)
    cdef int64_t[::1] o = out
    cdef bint every = valid.shape[0] == 0
    with nogil:
        for i in range(n):
            if (every or valid[i]) and (last or o[ids[i]] < 0):
                o[ids[i]] = i
    return out


#: join kinds of join_pairs; a missing side's row index is -1
JOIN_INNER, JOIN_LEFT, JOIN_RIGHT, JOIN_OUTER = 0, 1, 2, 3


def group_rows(const int64_t[::1] ids, Py_ssize_t ngroups):
    """``(start, order)``: the rows of group g, in order, are ``order[start[g]:start[g + 1]]``
    (a stable counting sort; the build side of a hash join)."""
    _check_groups(ids.shape[0], ids, ngroups)
    cdef Py_ssize_t n = ids.shape[0], i, g
    start_arr = np.zeros(ngroups + 1, np.int64)
    order_arr = np.empty(n, np.int64)
    cdef int64_t[::1] start = start_arr, order = order_arr
    with nogil:
        for i in range(n):
            start[ids[i] + 1] += 1
        for g in range(ngroups):
            start[g + 1] += start[g]
        for i in range(n):
            g = ids[i]
            order[start[g]] = i
            start[g] += 1
        for g in range(ngroups, 0, -1):
            start[g] = start[g - 1]
        if ngroups >= 0:
            start[0] = 0
    return start_arr, order_arr


def join_pairs(const int64_t[::1] left, const int64_t[::1] start, const int64_t[::1] order, int how):
    """The hash join, on group ids from one ``factorize`` of both sides' keys (or a lookup in a
    built index): ``start``/``order`` list the right rows of each group (``group_rows``), and
    each left row emits its matches; the output is sized by a counting pass first.

    ``(left_rows, right_rows)``, int64: for each left row in order, its matching right rows in
    order (or -1 for none, when the join keeps unmatched left rows); then, when it keeps unmatched
    right rows, those of each group nothing matched, with -1 on the left."""
    if how not in (JOIN_INNER, JOIN_LEFT, JOIN_RIGHT, JOIN_OUTER):
        raise ValueError(f"join kind must be one of 0..3 (JOIN_INNER .. JOIN_OUTER), got {how}")
    cdef Py_ssize_t ngroups = start.shape[0] - 1, nl = left.shape[0], i, k, g
    if ngroups < 0:
        raise ValueError("start must hold ngroups + 1 offsets")
    _check_groups(nl, left, ngroups)
    cdef bint ok = start[0] == 0 and start[ngroups] == order.shape[0]
    with nogil:
        for g in range(ngroups):
            ok = ok and start[g] <= start[g + 1]
    if not ok:
        raise ValueError("start must rise from 0 to len(order)")
    probed_arr = np.zeros(ngroups, np.uint8)
    firsts_arr = np.empty(nl, np.int64)
    counts_arr = np.empty(nl, np.int64)
    cdef unsigned char[::1] probed = probed_arr
    cdef int64_t[::1] firsts = firsts_arr, counts = counts_arr  # each left row's run in order
    cdef bint keep_left = how in (JOIN_LEFT, JOIN_OUTER), keep_right = how in (JOIN_RIGHT, JOIN_OUTER)
    cdef int64_t total = 0, m, pos
    with nogil:
        for i in range(nl):  # the random reads of the group offsets, prefetched, once
            if i + AHEAD < nl:
                prefetch(&start[left[i + AHEAD]])
            g = left[i]
            firsts[i] = start[g]
            m = start[g + 1] - start[g]
            counts[i] = m
            probed[g] = 1
            total += m if m or not keep_left else 1
        if keep_right:
            for g in range(ngroups):
                if not probed[g]:
                    total += start[g + 1] - start[g]
    left_rows = np.empty(total, np.int64)
    right_rows = np.empty(total, np.int64)
    cdef int64_t[::1] lo = left_rows, ro = right_rows
    with nogil:
        pos = 0
        for i in range(nl):
            if i + AHEAD < nl and counts[i + AHEAD]:
                prefetch(&order[firsts[i + AHEAD]])
            if counts[i] == 0:
                if keep_left:
                    lo[pos] = i
                    ro[pos] = -1
                    pos += 1
                continue
            for k in range(firsts[i], firsts[i] + counts[i]):
                lo[pos] = i
                ro[pos] = order[k]
                pos += 1
        if keep_right:
            for g in range(ngroups):
                if not probed[g]:
                    for k in range(start[g], start[g + 1]):
                        lo[pos] = -1
                        ro[pos] = order[k]
                        pos += 1
    return left_rows, right_rows
