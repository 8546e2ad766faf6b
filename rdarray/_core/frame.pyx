"""Partition frames: one ndarray <-> one self-describing byte string (layout in docs/FORMAT.md).

Encoding compresses straight from the array's memory into the output buffer, one C-Blosc2
chunk after another. Decoding checks every header field, the header checksum, the payload
checksum and each chunk's own Blosc2 header before it allocates the result, then
decompresses straight into it. Compression, decompression and checksums run with the GIL
released. The header (a few dozen bytes) is parsed in Python with every offset checked
against the buffer, so no forged field makes this module read outside it.
"""
import atexit
import json
import math
import struct

import numpy as np

cimport numpy as cnp
from cpython.buffer cimport PyBUF_READ, PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.memoryview cimport PyMemoryView_FromMemory
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from numpy.lib.format import descr_to_dtype, dtype_to_descr

from rdarray._core.blosc2_api cimport *
from rdarray.errors import CorruptDataError

cdef enum:
    HSUM_AT = 44  # offset of the header checksum, the last field of the fixed header

cnp.import_array()
blosc2_init()
atexit.register(blosc2_destroy)

#: codec and shuffle filter names -> Blosc2 ids: the settings a frame may be written with
CODECS: dict = {"blosclz": BLOSC_BLOSCLZ, "lz4": BLOSC_LZ4, "lz4hc": BLOSC_LZ4HC, "zlib": BLOSC_ZLIB,
                "zstd": BLOSC_ZSTD}
FILTERS: dict = {"none": BLOSC_NOSHUFFLE, "shuffle": BLOSC_SHUFFLE, "bitshuffle": BLOSC_BITSHUFFLE}

MAGIC: bytes = b"\x89RDF\r\n\x1a\n"
VERSION: int = 2
FLAG_FORTRAN: int = 1
MAX_CHUNK_BYTES: int = BLOSC2_MAX_BUFFERSIZE
MAX_NDIM: int = 64

_FIXED = struct.Struct("<8sHHIQQQII")  # magic, version, flags, header_len, nbytes, cbytes,
                                       # nchunks, payload CRC-32, header CRC-32: 48 bytes
_OWNER = struct.Struct("<16sQ")        # version 2: the saved array's id and the partition index
_SETTINGS = struct.Struct("<BBBBQ")    # codec, filter, clevel, typesize, chunk_bytes
NO_OWNER: bytes = bytes(16)
_CODECS = frozenset(CODECS.values())
_FILTERS = frozenset(FILTERS.values())
_KINDS = frozenset("biufcmMSUV")
_INTP_MAX = 2**63 - 1
_CHUNK_ERRORS = {
    1: "is not a valid Blosc2 chunk",
    2: "holds a different number of bytes than the frame's chunk size implies",
    3: "has a compressed size that differs from the chunk table",
    4: "was not written with the frame's codec, filter and typesize",
    5: "uses Blosc2 features rdarray never writes (dictionary, variable blocks, "
       "uninitialised or unknown special values)",
}


def blosc_version() -> str:
    """Version string of the C-Blosc2 library linked into this module."""
    return blosc2_get_version_string().decode("ascii")


cdef inline uint32_t _header_sum(const uint8_t* p, Py_ssize_t header_len) noexcept nogil:
    """CRC-32 of the header bytes without the 4 bytes of the header checksum itself."""
    return zng_crc32_z(zng_crc32_z(0, p, HSUM_AT), p + HSUM_AT + 4,
                       <size_t>(header_len - HSUM_AT - 4))


cdef inline void _put_u64(uint8_t* p, uint64_t v) noexcept nogil:
    cdef int i
    for i in range(8):
        p[i] = <uint8_t>(v >> (8 * i))


cdef Py_ssize_t fixed_size(int version):
    """Bytes before the variable part: the fixed header, and from version 2 the owner field."""
    return _FIXED.size + (_OWNER.size if version >= 2 else 0)


cdef inline Py_ssize_t typesize_for(Py_ssize_t itemsize, Py_ssize_t chunk_bytes) noexcept:
    """Typesize given to the shuffle filter: the item size, or 1 for items wider than 255
    bytes (Blosc's limit) or wider than a chunk (chunks then split items)."""
    return itemsize if 1 <= itemsize <= min(<Py_ssize_t>BLOSC_MAX_TYPESIZE, chunk_bytes) else 1


cdef _corrupt(str what):
    """The CorruptDataError to raise, its message prefixed."""
    return CorruptDataError(f"corrupt rdarray frame: {what}")


cdef object _descr_from_json(object obj):
    """JSON lists back to the tuples ``descr_to_dtype`` expects (names, sub-array shapes)."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, list) or not all(isinstance(f, list) and len(f) in (2, 3) for f in obj):
        raise ValueError("a dtype description is a string or a list of [name, descr(, shape)]")
    return [(tuple(f[0]) if isinstance(f[0], list) else f[0], _descr_from_json(f[1]))
            + ((tuple(f[2]),) if len(f) == 3 else ()) for f in obj]


cdef object _dtype_from_json(bytes text):
    try:
        dt = descr_to_dtype(_descr_from_json(json.loads(text.decode("utf-8"))))
    except Exception as e:  # untrusted input: any failure to parse is corruption
        raise _corrupt(f"invalid dtype description {text[:200]!r}: {e}") from None
    if dt.hasobject or dt.kind not in _KINDS:
        raise _corrupt(f"dtype {dt} is not storable (object or variable-size data)")
    if dt.shape != () or (dt.itemsize == 0 and dt.names is None):
        raise _corrupt(f"dtype {dt} cannot be an array's dtype (sub-array or unsized)")
    return dt


cdef bytes _dtype_json(dt):
    if dt.hasobject or dt.kind not in _KINDS:
        raise TypeError(f"cannot store dtype {dt} in a frame: it holds Python objects or "
                        "variable-size data")
    text = json.dumps(dtype_to_descr(dt), separators=(",", ":")).encode("utf-8")
    if _dtype_from_json(text) != dt:
        raise TypeError(f"cannot store dtype {dt}: its description {text!r} does not round-trip")
    return text


def encode(arr, int codec, int clevel, int filter, Py_ssize_t chunk_bytes,
           bytes array_id=NO_OWNER, uint64_t partition=0) -> np.ndarray:
    """Frame of the C- or Fortran-contiguous ``arr`` as a 1-D uint8 array.

    ``array_id`` (16 bytes) and ``partition`` name the saved array and the partition the frame
    belongs to; all-zero (the default) for a frame that belongs to none (spills, messages).

    The output is allocated for the worst case (every chunk incompressible), each chunk is
    compressed straight into it, and it is then shrunk in place (no copy of the payload).
    Codec, filter and clevel are Blosc2 ids (rdarray.storage.frame maps the names).
    """
    if not isinstance(arr, np.ndarray) or not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        raise ValueError("encode needs a C- or Fortran-contiguous ndarray")
    if codec not in _CODECS or filter not in _FILTERS or not 0 <= clevel <= 9:
        raise ValueError(f"unknown codec settings (codec {codec}, filter {filter}, clevel {clevel})")
    if not 1 <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise ValueError(f"chunk_bytes must be in 1..{MAX_CHUNK_BYTES}, got {chunk_bytes}")
    if len(array_id) != 16 or (array_id == NO_OWNER and partition):
        raise ValueError("a frame's owner is a 16-byte array id (all zero: none, with partition 0)")
    dt = arr.dtype
    descr = _dtype_json(dt)
    cdef Py_ssize_t itemsize = dt.itemsize, nbytes = arr.nbytes
    if 0 < itemsize <= chunk_bytes:
        chunk_bytes -= chunk_bytes % itemsize
    cdef Py_ssize_t nchunks = (nbytes + chunk_bytes - 1) // chunk_bytes
    cdef Py_ssize_t fixed = fixed_size(VERSION)
    cdef Py_ssize_t header_len = fixed + 4 + len(descr) + 4 + 8 * arr.ndim + _SETTINGS.size + 8 * nchunks
    if header_len > 0xFFFFFFFF:
        raise ValueError(f"chunk_bytes={chunk_bytes} makes a chunk table of {nchunks} entries, "
                         "more than a frame header holds; use larger chunks")
    cdef int ts = typesize_for(itemsize, chunk_bytes)
    cdef cnp.ndarray out = np.empty(header_len + nbytes + nchunks * BLOSC2_MAX_OVERHEAD, np.uint8)
    _OWNER.pack_into(out, _FIXED.size, array_id, partition)
    struct.pack_into(f"<I{len(descr)}sI{arr.ndim}QBBBBQ", out, fixed, len(descr), descr,
                     arr.ndim, *arr.shape, codec, filter, clevel, ts, chunk_bytes)

    cdef blosc2_cparams cp = cparams(codec, clevel, filter, ts)
    cdef const char* src = <const char*>cnp.PyArray_DATA(<cnp.ndarray>arr)
    cdef uint8_t* base = <uint8_t*>cnp.PyArray_DATA(out)
    cdef uint8_t* table = base + header_len - 8 * nchunks
    cdef Py_ssize_t pos = header_len, k, n
    cdef int rc = 1
    cdef uint32_t psum, hsum
    cdef blosc2_context* ctx
    with nogil:
        ctx = blosc2_create_cctx(cp)
        if ctx != NULL:
            for k in range(nchunks):
                n = min(chunk_bytes, nbytes - k * chunk_bytes)
                # Blosc honours a destination of n + MAX_OVERHEAD (memcpy if it must),
                # which keeps every chunk within the bound the decoder checks.
                rc = blosc2_compress_ctx(ctx, src + k * chunk_bytes, <int32_t>n, base + pos,
                                         <int32_t>(n + BLOSC2_MAX_OVERHEAD))
                if rc <= 0:
                    break
                _put_u64(table + 8 * k, <uint64_t>rc)
                pos += rc
            blosc2_free_ctx(ctx)
        psum = zng_crc32_z(0, base + header_len, <size_t>(pos - header_len))
    if ctx == NULL:
        raise MemoryError("blosc2_create_cctx failed")
    if rc <= 0:
        raise RuntimeError(f"blosc2_compress_ctx failed with code {rc}")
    _FIXED.pack_into(out, 0, MAGIC, VERSION, 0 if arr.flags.c_contiguous else FLAG_FORTRAN,
                     header_len, nbytes, pos - header_len, nchunks, psum, 0)
    with nogil:
        hsum = _header_sum(base, header_len)
    struct.pack_into("<I", out, HSUM_AT, hsum)
    out.resize(pos, refcheck=False)  # shrink in place; `out` has no views yet
    return out


cdef int _get_buffer(buffer, Py_buffer* v) except -1:
    try:
        PyObject_GetBuffer(buffer, v, PyBUF_SIMPLE)
    except (BufferError, ValueError) as e:
        raise ValueError(f"a frame must be a contiguous buffer: {e}") from None
    return 0


def read_header(buffer) -> dict:
    """Validated header fields of the frame at the start of ``buffer`` (the payload is not
    read, so ``buffer`` may end after the header)."""
    cdef Py_buffer v
    _get_buffer(buffer, &v)
    try:
        return _parse(<const uint8_t*>v.buf, v.len)[0]
    finally:
        PyBuffer_Release(&v)


def decode(buffer) -> np.ndarray:
    """The array stored in the frame ``buffer`` (exactly one frame, nothing after it)."""
    cdef Py_buffer v
    _get_buffer(buffer, &v)
    try:
        return _decode(<const uint8_t*>v.buf, v.len)
    finally:
        PyBuffer_Release(&v)


cdef tuple _take(mv, str fmt, Py_ssize_t off, Py_ssize_t hlen):
    """``struct.unpack_from`` that refuses to read past the header."""
    if off + struct.calcsize(fmt) > hlen:
        raise _corrupt(f"header length {hlen} is too short for the fields it should hold")
    return struct.unpack_from(fmt, mv, off)


cdef tuple _parse(const uint8_t* p, Py_ssize_t size):
    """(header dict, int64 array of compressed chunk sizes), or CorruptDataError."""
    mv = PyMemoryView_FromMemory(<char*>p, size, PyBUF_READ)  # lives only while p is held
    if size == 0:
        raise _corrupt("the buffer is empty (zero bytes)")
    if size < _FIXED.size:
        raise _corrupt(f"truncated: {size} bytes, shorter than the {_FIXED.size}-byte fixed header")
    magic, version, flags, hlen, nbytes, cbytes, nchunks, psum, hsum = _FIXED.unpack_from(mv)
    if magic != MAGIC:
        raise _corrupt(f"not an rdarray frame (magic {magic!r}, expected {MAGIC!r})")
    if version > VERSION:
        raise _corrupt(f"the frame format version {version} is newer than this rdarray supports "
                      f"(up to {VERSION}); upgrade rdarray to read it")
    if version < 1:
        raise _corrupt(f"invalid format version {version}")
    off = fixed_size(version)
    if hlen < off + 4 + 4 + _SETTINGS.size:
        raise _corrupt(f"header length {hlen} is below the minimum of {off + 4 + 4 + _SETTINGS.size}")
    if hlen > size:
        raise _corrupt(f"truncated: the header is {hlen} bytes, the buffer only {size}")
    cdef uint32_t computed
    cdef Py_ssize_t header_len = hlen
    with nogil:
        computed = _header_sum(p, header_len)
    if computed != hsum:
        raise _corrupt(f"header checksum mismatch (stored {hsum:#010x}, computed {computed:#010x})")
    if flags & ~FLAG_FORTRAN:
        raise _corrupt(f"unknown flags {flags:#06x}")
    array_id, partition = (_OWNER.unpack_from(mv, _FIXED.size) if version >= 2 else (NO_OWNER, 0))
    if array_id == NO_OWNER and partition:
        raise _corrupt(f"partition index {partition} without an array id")
    (dlen,) = _take(mv, "<I", off, hlen)
    (text,) = _take(mv, f"<{dlen}s", off + 4, hlen)
    dt = _dtype_from_json(text)
    off += 4 + dlen
    (ndim,) = _take(mv, "<I", off, hlen)
    if ndim > MAX_NDIM:
        raise _corrupt(f"ndim {ndim} exceeds {MAX_NDIM}")
    shape = _take(mv, f"<{ndim}Q", off + 4, hlen)
    off += 4 + 8 * ndim
    codec, filt, clevel, typesize, chunk_bytes = _take(mv, _SETTINGS.format, off, hlen)
    off += _SETTINGS.size
    if off + 8 * nchunks != hlen:
        raise _corrupt(f"header length {hlen} does not match its contents "
                      f"({off} bytes + {nchunks} chunk sizes)")

    itemsize = dt.itemsize
    if math.prod(max(d, 1) for d in shape) * max(itemsize, 1) > _INTP_MAX:
        raise _corrupt(f"shape {shape} of {dt} is larger than any array can be")
    if itemsize * math.prod(shape) != nbytes:
        raise _corrupt(f"uncompressed size {nbytes} differs from dtype {dt} x shape {shape}")
    if codec not in _CODECS or filt not in _FILTERS or clevel > 9:
        raise _corrupt(f"unknown codec settings (codec {codec}, filter {filt}, clevel {clevel})")
    if not 1 <= chunk_bytes <= MAX_CHUNK_BYTES or (0 < itemsize <= chunk_bytes
                                                   and chunk_bytes % itemsize):
        raise _corrupt(f"invalid chunk size {chunk_bytes} for items of {itemsize} bytes")
    if typesize != typesize_for(itemsize, chunk_bytes):
        raise _corrupt(f"typesize {typesize} does not follow from items of {itemsize} bytes")
    if nchunks != -(-nbytes // chunk_bytes):
        raise _corrupt(f"{nchunks} chunks cannot hold {nbytes} bytes in chunks of {chunk_bytes}")
    sizes = np.frombuffer(mv, "<u8", nchunks, off).astype(np.int64)  # >2**63 turn negative
    if nchunks and (sizes.min() < BLOSC_EXTENDED_HEADER_LENGTH
                    or sizes.max() > chunk_bytes + BLOSC2_MAX_OVERHEAD):
        raise _corrupt("a compressed chunk size in the chunk table is out of range")
    if int(sizes.sum()) != cbytes:
        raise _corrupt(f"chunk sizes sum to {int(sizes.sum())}, not the payload size {cbytes}")
    return dict(version=version, dtype=dt, shape=shape, fortran_order=bool(flags & FLAG_FORTRAN),
                nbytes=nbytes, cbytes=cbytes, header_len=hlen, codec=codec, filter=filt,
                clevel=clevel, typesize=typesize, chunk_bytes=chunk_bytes, nchunks=nchunks,
                payload_checksum=psum, array_id=None if array_id == NO_OWNER else array_id,
                partition=partition), sizes


cdef int _check_chunk(const uint8_t* c, int32_t size, int32_t expect, uint8_t codec,
                      uint8_t filt, uint8_t typesize) noexcept nogil:
    """0 if the Blosc2 chunk header at ``c`` is one this module writes, else an error code."""
    cdef int32_t nb, cb, bs
    cdef int j
    if blosc2_cbuffer_sizes(c, &nb, &cb, &bs) < 0:
        return 1
    if nb != expect:
        return 2
    if cb != size:
        return 3
    if c[3] != typesize or c[22] != codec or c[21] != filt or c[29] != 0:
        return 4
    for j in range(5):
        if c[16 + j] != 0 or c[24 + j] != 0:
            return 4
    # byte 30: no variable-length blocks; byte 31: only big-endian and zero/NaN/value specials
    if (c[30] != 0 or c[31] & ~(BLOSC2_BIGENDIAN | BLOSC2_SPECIAL_MASK << 4)
            or (c[31] >> 4) & BLOSC2_SPECIAL_MASK > BLOSC2_SPECIAL_VALUE):
        return 5
    return 0


cdef object _decode(const uint8_t* p, Py_ssize_t size):
    h, sizes = _parse(p, size)
    cdef Py_ssize_t hl = h["header_len"], cbytes = h["cbytes"], nbytes = h["nbytes"]
    cdef Py_ssize_t chunk = h["chunk_bytes"], nchunks = h["nchunks"], pos = hl, k = 0, n = 0
    if hl + cbytes > size:
        raise _corrupt(f"truncated: header and payload need {hl + cbytes} bytes, "
                      f"the buffer has {size}")
    if hl + cbytes < size:
        raise _corrupt(f"{size - hl - cbytes} unexpected bytes after the payload")
    cdef uint32_t computed
    with nogil:
        computed = zng_crc32_z(0, p + hl, <size_t>cbytes)
    if computed != h["payload_checksum"]:
        raise _corrupt(f"payload checksum mismatch (stored {h['payload_checksum']:#010x}, "
                      f"computed {computed:#010x})")

    cdef const int64_t[::1] cs = sizes
    cdef uint8_t codec = h["codec"], filt = h["filter"], typesize = h["typesize"]
    cdef int err = 0
    with nogil:
        for k in range(nchunks):
            n = min(chunk, nbytes - k * chunk)
            err = _check_chunk(p + pos, <int32_t>cs[k], <int32_t>n, codec, filt, typesize)
            if err:
                break
            pos += cs[k]
    if err:
        raise _corrupt(f"chunk {k} {_CHUNK_ERRORS[err]}")

    out = np.empty(h["shape"], h["dtype"], order="F" if h["fortran_order"] else "C")
    cdef uint8_t* dst = <uint8_t*>cnp.PyArray_DATA(out)
    cdef blosc2_dparams dp = BLOSC2_DPARAMS_DEFAULTS
    cdef blosc2_context* ctx
    cdef int rc = 0
    dp.nthreads = 1
    pos = hl
    with nogil:
        ctx = blosc2_create_dctx(dp)
        if ctx != NULL:
            for k in range(nchunks):
                n = min(chunk, nbytes - k * chunk)
                rc = blosc2_decompress_ctx(ctx, p + pos, <int32_t>cs[k], dst + k * chunk,
                                           <int32_t>n)
                if rc != n:
                    break
                pos += cs[k]
            blosc2_free_ctx(ctx)
    if ctx == NULL:
        raise MemoryError("blosc2_create_dctx failed")
    if nchunks and rc != n:
        raise _corrupt(f"chunk {k} failed to decompress (Blosc2 code {rc})")
    return out
