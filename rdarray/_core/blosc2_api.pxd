# Declarations of the part of the C-Blosc2 API that rdarray uses (from blosc2.h).
# Only the context API: it keeps no global state, so it is safe from many threads.
from libc.stdint cimport int16_t, int32_t, uint8_t

cdef extern from "blosc2.h" nogil:
    enum:
        BLOSC2_MAX_OVERHEAD
        BLOSC2_MAX_BUFFERSIZE
        BLOSC_MIN_HEADER_LENGTH
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
    const char* BLOSC2_VERSION_STRING

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
