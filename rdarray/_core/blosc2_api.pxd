# The part of C-Blosc2 that the frame kernel uses, declared in one place (from blosc2.h), and
# the compression settings it writes with. Only the context API: it keeps no global state, so it
# is safe from many threads.
from libc.stdint cimport int16_t, int32_t, uint8_t, uint32_t

cdef extern from "blosc2.h" nogil:
    enum:
        BLOSC2_MAX_OVERHEAD
        BLOSC2_MAX_BUFFERSIZE
        BLOSC_EXTENDED_HEADER_LENGTH
        BLOSC_MAX_TYPESIZE
        BLOSC2_MAX_FILTERS
        BLOSC_BLOSCLZ
        BLOSC_LZ4
        BLOSC_LZ4HC
        BLOSC_ZLIB
        BLOSC_ZSTD
        BLOSC_NOSHUFFLE
        BLOSC_SHUFFLE
        BLOSC_BITSHUFFLE
        BLOSC2_BIGENDIAN
        BLOSC2_SPECIAL_MASK
        BLOSC2_SPECIAL_VALUE

    ctypedef struct blosc2_context:
        pass

    ctypedef struct blosc2_cparams:
        uint8_t compcode
        uint8_t clevel
        int32_t typesize
        int16_t nthreads
        uint8_t filters[6]   # BLOSC2_MAX_FILTERS
        uint8_t filters_meta[6]

    ctypedef struct blosc2_dparams:
        int16_t nthreads

    const blosc2_cparams BLOSC2_CPARAMS_DEFAULTS
    const blosc2_dparams BLOSC2_DPARAMS_DEFAULTS

    void blosc2_init()
    void blosc2_destroy()
    const char* blosc2_get_version_string()
    blosc2_context* blosc2_create_cctx(blosc2_cparams cparams)
    blosc2_context* blosc2_create_dctx(blosc2_dparams dparams)
    void blosc2_free_ctx(blosc2_context* context)
    int blosc2_compress_ctx(blosc2_context* context, const void* src, int32_t srcsize,
                            void* dest, int32_t destsize)
    int blosc2_decompress_ctx(blosc2_context* context, const void* src, int32_t srcsize,
                              void* dest, int32_t destsize)
    int blosc2_cbuffer_sizes(const void* cbuffer, int32_t* nbytes, int32_t* cbytes,
                             int32_t* blocksize)

cdef extern from *:
    # CRC-32 (zlib's) from the zlib-ng inside libblosc2.a: SIMD (PCLMULQDQ) where the CPU has it.
    """
    #include <stdint.h>
    uint32_t zng_crc32_z(uint32_t crc, const uint8_t* buf, size_t len);
    """
    uint32_t zng_crc32_z(uint32_t crc, const uint8_t* buf, size_t len) nogil


cdef inline blosc2_cparams cparams(uint8_t codec, uint8_t clevel, uint8_t filter, int32_t typesize) noexcept nogil:
    """One thread, the given codec and level, and ``filter`` as the only filter (in the last slot,
    as Blosc's own shuffle setting puts it)."""
    cdef blosc2_cparams cp = BLOSC2_CPARAMS_DEFAULTS
    cdef int i
    cp.compcode = codec
    cp.clevel = clevel
    cp.nthreads = 1
    cp.typesize = typesize
    for i in range(BLOSC2_MAX_FILTERS):
        cp.filters[i] = cp.filters_meta[i] = 0
    cp.filters[BLOSC2_MAX_FILTERS - 1] = filter
    return cp
