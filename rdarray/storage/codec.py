"""Blosc2 compression of arrays and buffers: validates names, then calls the Cython kernel.

One call compresses one buffer into one Blosc2 chunk (at most ``MAX_CHUNK_BYTES``); the
kernel releases the GIL, so callers parallelise by compressing partitions from threads.
Non-contiguous arrays are compressed from a C-contiguous copy (``np.ascontiguousarray``),
since Blosc works on one flat run of bytes.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rdarray._core import codec as _k

CODECS: dict[str, int] = {"blosclz": _k.BLOSCLZ, "lz4": _k.LZ4, "lz4hc": _k.LZ4HC,
                          "zlib": _k.ZLIB, "zstd": _k.ZSTD}
FILTERS: dict[str, int] = {"none": _k.NOSHUFFLE, "shuffle": _k.SHUFFLE,
                           "bitshuffle": _k.BITSHUFFLE}
MAX_CHUNK_BYTES: int = _k.MAX_CHUNK_BYTES
max_compressed_size = _k.max_compressed_size
blosc_version = _k.blosc_version


def _choice(kind: str, value: Any, table: dict[str, int]) -> int:
    key = value.lower() if isinstance(value, str) else value
    if key not in table:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(table)}")
    return table[key]


def _check_clevel(clevel: Any) -> int:
    if isinstance(clevel, bool) or not isinstance(clevel, (int, np.integer)) or not 0 <= clevel <= 9:
        raise ValueError(f"clevel must be an integer in 0..9, got {clevel!r}")
    return int(clevel)


def _no_objects(dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise TypeError(f"cannot compress dtype {dtype}: it holds Python object pointers, "
                        "not data")


def _flat_bytes(a: np.ndarray) -> np.ndarray:
    """A uint8 view of a C-contiguous array (works for datetime64, which has no buffer export)."""
    return a.reshape(-1).view(np.uint8)


def compress(arr_or_buffer: Any, codec: str = "lz4", clevel: int = 5, filter: str = "shuffle",
             typesize: int | None = None, nthreads: int = 1) -> np.ndarray:
    """Compress an array or bytes-like object into one Blosc2 chunk.

    Returns a 1-D ``uint8`` ndarray exactly as long as the chunk. It is compressed into a
    buffer of ``max_compressed_size`` bytes that is then shrunk in place (``realloc``), so
    the payload is never copied. ``typesize`` defaults to the item size (above 255 the
    kernel uses 1; see ``rdarray._core.codec.compress_into``).
    """
    code, filt, level = (_choice("codec", codec, CODECS), _choice("filter", filter, FILTERS),
                         _check_clevel(clevel))
    if isinstance(arr_or_buffer, np.ndarray):
        _no_objects(arr_or_buffer.dtype)
        a = np.ascontiguousarray(arr_or_buffer)
        item = a.dtype.itemsize
    else:
        mv = memoryview(arr_or_buffer)
        item = mv.itemsize
        a = np.ascontiguousarray(np.asarray(mv))
    src = _flat_bytes(a)
    out = np.empty(max_compressed_size(src.nbytes), np.uint8)
    ts = max(item, 1) if typesize is None else int(typesize)
    n = _k.compress_into(src, out, ts, code, level, filt, nthreads)
    out.resize(n, refcheck=False)  # shrink the allocation in place; `out` has no views yet
    return out


def decompress_into(src: Any, out_array: np.ndarray, nthreads: int = 1) -> np.ndarray:
    """Decompress the Blosc2 chunk ``src`` straight into ``out_array`` and return it.

    ``out_array`` must be a writable C-contiguous ndarray of exactly the chunk's
    uncompressed size; a truncated, corrupt or mismatched chunk raises ``ValueError``.
    """
    if not isinstance(out_array, np.ndarray):
        raise TypeError(f"out_array must be a numpy ndarray, got {type(out_array).__name__}")
    _no_objects(out_array.dtype)
    if not (out_array.flags.c_contiguous and out_array.flags.writeable):
        raise ValueError("out_array must be C-contiguous and writable")
    _k.decompress_into(src, _flat_bytes(out_array), nthreads)
    return out_array


def decompress(src: Any, dtype: Any, shape: Any, nthreads: int = 1) -> np.ndarray:
    """Decompress the Blosc2 chunk ``src`` into a new array of ``dtype`` and ``shape``."""
    dt = np.dtype(dtype)
    _no_objects(dt)
    return decompress_into(src, np.empty(shape, dt), nthreads)
