"""Blosc2 compression of one contiguous buffer into a caller-provided buffer.

Every call makes its own Blosc2 context (``blosc2_create_cctx``/``_dctx``) and runs with
the GIL released, so a thread pool compresses many partitions in parallel and no call
touches Blosc's global state. Sizes are checked before each C call: Blosc never reads or
writes outside the buffers it is handed.
"""
import atexit

from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_WRITABLE, PyBuffer_Release,
                             PyObject_GetBuffer)
from libc.stdint cimport int16_t, int32_t, uint8_t

from rdarray._core.blosc2_api cimport *

BLOSCLZ: int = BLOSC_BLOSCLZ
LZ4: int = BLOSC_LZ4
LZ4HC: int = BLOSC_LZ4HC
ZLIB: int = BLOSC_ZLIB
ZSTD: int = BLOSC_ZSTD
NOSHUFFLE: int = BLOSC_NOSHUFFLE
SHUFFLE: int = BLOSC_SHUFFLE
BITSHUFFLE: int = BLOSC_BITSHUFFLE

#: Largest buffer one call compresses (one Blosc chunk); callers split larger data.
MAX_CHUNK_BYTES: int = BLOSC2_MAX_BUFFERSIZE
#: Bytes a compressed chunk may exceed its input by (its header).
MAX_OVERHEAD: int = BLOSC2_MAX_OVERHEAD

_CODECS = frozenset((BLOSC_BLOSCLZ, BLOSC_LZ4, BLOSC_LZ4HC, BLOSC_ZLIB, BLOSC_ZSTD))
_FILTERS = frozenset((BLOSC_NOSHUFFLE, BLOSC_SHUFFLE, BLOSC_BITSHUFFLE))



def _destroy() -> None:
    blosc2_destroy()


blosc2_init()
atexit.register(_destroy)


def blosc_version() -> str:
    """Version string of the C-Blosc2 library linked into this module."""
    return blosc2_get_version_string().decode("ascii")


def max_compressed_size(Py_ssize_t nbytes) -> int:
    """Size a destination buffer needs to compress ``nbytes`` bytes whatever the data."""
    if nbytes < 0:
        raise ValueError(f"nbytes must be >= 0, got {nbytes}")
    return nbytes + BLOSC2_MAX_OVERHEAD


cdef inline bint _overlap(Py_buffer* a, Py_buffer* b) noexcept:
    cdef char* pa = <char*>a.buf
    cdef char* pb = <char*>b.buf
    return a.len > 0 and b.len > 0 and pa < pb + b.len and pb < pa + a.len


cdef int _get_buffer(obj, Py_buffer* view, int flags, str name) except -1:
    """Export ``obj``'s buffer; a non-contiguous or read-only one raises ValueError naming it."""
    try:
        PyObject_GetBuffer(obj, view, flags)
    except (BufferError, ValueError) as e:
        need = "a writable C-contiguous" if flags & PyBUF_WRITABLE else "a C-contiguous"
        raise ValueError(f"{name} must be {need} buffer: {e}") from None
    return 0


cdef inline int16_t _check_nthreads(int nthreads) except -1:
    if not 1 <= nthreads <= 32767:
        raise ValueError(f"nthreads must be in 1..32767, got {nthreads}")
    return <int16_t>nthreads


def compress_into(src, dst, int typesize, int codec, int clevel, int filter,
                  int nthreads=1) -> int:
    """Compress the C-contiguous buffer ``src`` into the writable buffer ``dst``.

    Returns the number of bytes written to ``dst``. ``dst`` must hold at least
    ``max_compressed_size(len(src))`` bytes. A ``typesize`` above 255 is stored as 1:
    Blosc's shuffle splits an item into at most 255 byte streams (the chunk header keeps
    the typesize in one byte), while structured rows can be wider; with 1 the data is
    still compressed, only without a useful shuffle.
    """
    if codec not in _CODECS:
        raise ValueError(f"unknown codec id {codec}; known: {sorted(_CODECS)}")
    if filter not in _FILTERS:
        raise ValueError(f"unknown filter id {filter}; known: {sorted(_FILTERS)}")
    if not 0 <= clevel <= 9:
        raise ValueError(f"clevel must be in 0..9, got {clevel}")
    if typesize < 1:
        raise ValueError(f"typesize must be >= 1, got {typesize}")
    if typesize > BLOSC_MAX_TYPESIZE:
        typesize = 1
    cdef int16_t nth = _check_nthreads(nthreads)
    cdef Py_buffer s, d
    cdef blosc2_cparams cp = BLOSC2_CPARAMS_DEFAULTS
    cdef blosc2_context* ctx
    cdef int rc = 0
    cdef int i
    _get_buffer(src, &s, PyBUF_C_CONTIGUOUS, "src")
    try:
        _get_buffer(dst, &d, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE, "dst")
        try:
            if s.len > BLOSC2_MAX_BUFFERSIZE:
                raise ValueError(f"source of {s.len} bytes exceeds one Blosc chunk "
                                 f"({BLOSC2_MAX_BUFFERSIZE} bytes); split it")
            if d.len < s.len + BLOSC2_MAX_OVERHEAD:
                raise ValueError(f"destination of {d.len} bytes is too small for a source of "
                                 f"{s.len} bytes; need {s.len + BLOSC2_MAX_OVERHEAD}")
            if _overlap(&s, &d):
                raise ValueError("source and destination buffers overlap")
            cp.compcode = <uint8_t>codec
            cp.clevel = <uint8_t>clevel
            cp.typesize = typesize
            cp.nthreads = nth
            for i in range(BLOSC2_MAX_FILTERS):
                cp.filters[i] = 0
                cp.filters_meta[i] = 0
            cp.filters[BLOSC2_MAX_FILTERS - 1] = <uint8_t>filter
            with nogil:
                ctx = blosc2_create_cctx(cp)
                if ctx != NULL:
                    rc = blosc2_compress_ctx(ctx, s.buf, <int32_t>s.len, d.buf,
                                             <int32_t>min(d.len, <Py_ssize_t>0x7FFFFFFF))
                    blosc2_free_ctx(ctx)
            if ctx == NULL:
                raise MemoryError("blosc2_create_cctx failed")
            if rc <= 0:
                raise RuntimeError(f"blosc2_compress_ctx failed with code {rc}")
            return rc
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&s)


def chunk_sizes(src) -> tuple:
    """(nbytes, cbytes) recorded in the header of the Blosc chunk at the start of ``src``."""
    cdef Py_buffer s
    cdef int32_t nbytes = 0, cbytes = 0, blocksize = 0
    _get_buffer(src, &s, PyBUF_C_CONTIGUOUS, "src")
    try:
        _read_sizes(&s, &nbytes, &cbytes, &blocksize)
        return nbytes, cbytes
    finally:
        PyBuffer_Release(&s)


cdef int _read_sizes(Py_buffer* s, int32_t* nbytes, int32_t* cbytes,
                     int32_t* blocksize) except -1:
    """Validate the chunk header in ``s``; the header reading never goes past ``s.len``."""
    cdef int rc
    if s.len < BLOSC_EXTENDED_HEADER_LENGTH:
        raise ValueError(f"compressed buffer of {s.len} bytes is shorter than a Blosc2 "
                         f"chunk header ({BLOSC_EXTENDED_HEADER_LENGTH} bytes): truncated")
    rc = blosc2_cbuffer_sizes(s.buf, nbytes, cbytes, blocksize)
    if rc < 0:
        raise ValueError(f"not a valid Blosc2 chunk: header check failed with code {rc}")
    if cbytes[0] < BLOSC_EXTENDED_HEADER_LENGTH or nbytes[0] < 0:
        raise ValueError(f"not a valid Blosc2 chunk: header says cbytes={cbytes[0]}, "
                         f"nbytes={nbytes[0]}")
    if cbytes[0] > s.len:
        raise ValueError(f"truncated Blosc2 chunk: header says {cbytes[0]} compressed "
                         f"bytes, buffer has {s.len}")
    return 0


def decompress_into(src, dst, int nthreads=1) -> int:
    """Decompress the Blosc2 chunk ``src`` into the writable C-contiguous buffer ``dst``.

    ``dst`` must be exactly as large as the chunk's uncompressed size. A truncated,
    corrupt or mismatched chunk raises ``ValueError``. Returns the bytes written.
    """
    cdef int16_t nth = _check_nthreads(nthreads)
    cdef Py_buffer s, d
    cdef int32_t nbytes = 0, cbytes = 0, blocksize = 0
    cdef blosc2_dparams dp = BLOSC2_DPARAMS_DEFAULTS
    cdef blosc2_context* ctx
    cdef int rc = 0
    _get_buffer(src, &s, PyBUF_C_CONTIGUOUS, "src")
    try:
        _get_buffer(dst, &d, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE, "dst")
        try:
            _read_sizes(&s, &nbytes, &cbytes, &blocksize)
            if nbytes != d.len:
                raise ValueError(f"chunk holds {nbytes} bytes but the destination has "
                                 f"{d.len}")
            if _overlap(&s, &d):
                raise ValueError("source and destination buffers overlap")
            dp.nthreads = nth
            with nogil:
                ctx = blosc2_create_dctx(dp)
                if ctx != NULL:
                    rc = blosc2_decompress_ctx(ctx, s.buf, cbytes, d.buf, nbytes)
                    blosc2_free_ctx(ctx)
            if ctx == NULL:
                raise MemoryError("blosc2_create_dctx failed")
            if rc < 0:
                raise ValueError(f"corrupt Blosc2 chunk: decompression failed with code {rc}")
            if rc != nbytes:
                raise ValueError(f"corrupt Blosc2 chunk: decompressed {rc} bytes, "
                                 f"header says {nbytes}")
            return rc
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&s)
