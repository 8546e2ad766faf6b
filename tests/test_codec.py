"""Tests of the Blosc2 codec kernel (rdarray._core.codec) and its wrapper (rdarray.storage.codec)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdarray._core import codec as k
from rdarray._core import compiled_kernels
from rdarray.storage import codec

RNG = np.random.default_rng(0)
WIDE = np.dtype([("id", "i8"), ("name", "U60"), ("x", "f8")])  # itemsize 264 > 255


def _wide(n: int) -> np.ndarray:
    a = np.zeros(n, WIDE)
    a["id"] = np.arange(n)
    a["name"] = [f"row{i % 17}" for i in range(n)]
    a["x"] = RNG.standard_normal(n)
    return a


ARRAYS = {
    "float64 walk": np.cumsum(RNG.standard_normal(5000)),
    "int64 keys": RNG.integers(0, 1000, 5000, dtype=np.int64),
    "int8": RNG.integers(-128, 128, 3001, dtype=np.int8),
    "bool": RNG.random(4099) < 0.3,
    "complex128": RNG.standard_normal(1000) + 1j * RNG.standard_normal(1000),
    "structured wide": _wide(300),
    "str U7": np.array([f"k{i % 1000:05d}" for i in range(2000)], dtype="U7"),
    "datetime64": np.arange(1000).astype("M8[s]"),
    "2-D float32": RNG.random((100, 7), dtype=np.float32),
}


def test_module_facts() -> None:
    assert "codec" in compiled_kernels()
    assert k.blosc_version().count(".") >= 2
    assert k.MAX_CHUNK_BYTES == 2**31 - 1 - k.MAX_OVERHEAD
    assert k.max_compressed_size(100) == 100 + k.MAX_OVERHEAD
    assert {k.BLOSCLZ, k.LZ4, k.LZ4HC, k.ZLIB, k.ZSTD} == set(codec.CODECS.values())
    assert {k.NOSHUFFLE, k.SHUFFLE, k.BITSHUFFLE} == set(codec.FILTERS.values())


@pytest.mark.parametrize("name", sorted(ARRAYS))
@pytest.mark.parametrize("cname", sorted(codec.CODECS))
@pytest.mark.parametrize("fname", sorted(codec.FILTERS))
@pytest.mark.parametrize("clevel", [0, 1, 5, 9])
def test_round_trip(name: str, cname: str, fname: str, clevel: int) -> None:
    a = ARRAYS[name]
    c = codec.compress(a, codec=cname, clevel=clevel, filter=fname)
    assert c.dtype == np.uint8 and c.ndim == 1
    assert c.nbytes <= codec.max_compressed_size(a.nbytes)
    b = codec.decompress(c, a.dtype, a.shape)
    assert b.dtype == a.dtype and b.shape == a.shape
    assert np.array_equal(a, b)


def test_compresses_and_keeps_typesize_fallback_working() -> None:
    a = ARRAYS["int64 keys"]
    assert codec.compress(a).nbytes < a.nbytes / 2
    w = ARRAYS["structured wide"]  # typesize 264 -> stored as 1 by the kernel
    assert codec.compress(w, filter="shuffle").nbytes < w.nbytes
    assert k.chunk_sizes(codec.compress(w))[0] == w.nbytes


@pytest.mark.parametrize("data", [b"", b"x", bytes(range(7)) * 13 + b"odd", bytearray(b"abc" * 1001)])
def test_small_and_odd_buffers(data: bytes) -> None:
    for cname in codec.CODECS:
        c = codec.compress(data, codec=cname)
        out = codec.decompress(c, np.uint8, len(data))
        assert out.tobytes() == bytes(data)


def test_empty_arrays_and_non_contiguous() -> None:
    e = np.empty((0, 3), np.float64)
    assert codec.decompress(codec.compress(e), e.dtype, e.shape).shape == (0, 3)
    a = np.arange(100.0).reshape(10, 10)[:, ::3]  # compressed from a contiguous copy
    assert np.array_equal(codec.decompress(codec.compress(a), a.dtype, a.shape), a)


def test_kernel_accepts_read_only_and_raw_buffers() -> None:
    a = ARRAYS["float64 walk"].copy()
    a.flags.writeable = False
    dst = bytearray(k.max_compressed_size(a.nbytes))
    n = k.compress_into(a, dst, 8, k.ZSTD, 3, k.BITSHUFFLE, 2)
    out = np.empty_like(a)
    assert k.decompress_into(bytes(dst[:n]), out, 2) == a.nbytes
    assert np.array_equal(out, a)
    assert k.decompress_into(memoryview(dst), np.empty_like(a)) == a.nbytes  # cbytes <= len


def test_decompress_into_reuses_buffer() -> None:
    a = ARRAYS["int64 keys"]
    out = np.empty_like(a)
    assert codec.decompress_into(codec.compress(a, "zstd"), out) is out
    assert np.array_equal(out, a)


@pytest.mark.parametrize("kw, msg", [
    ({"codec": "foo"}, "unknown codec 'foo'; choose one of: blosclz, lz4, lz4hc, zlib, zstd"),
    ({"filter": "delta"}, "unknown filter 'delta'; choose one of: none, shuffle, bitshuffle"),
    ({"clevel": 10}, "clevel must be an integer in 0..9, got 10"),
    ({"clevel": -1}, "clevel must be an integer in 0..9, got -1"),
])
def test_bad_settings(kw: dict, msg: str) -> None:
    with pytest.raises(ValueError) as ei:
        codec.compress(np.arange(10), **kw)
    assert str(ei.value) == msg


def test_kernel_rejects_bad_arguments() -> None:
    src, dst = np.arange(100, dtype=np.int64), np.empty(1000, np.uint8)
    with pytest.raises(ValueError, match="unknown codec id 3"):
        k.compress_into(src, dst, 8, 3, 5, k.SHUFFLE, 1)
    with pytest.raises(ValueError, match="unknown filter id 7"):
        k.compress_into(src, dst, 8, k.LZ4, 5, 7, 1)
    with pytest.raises(ValueError, match="clevel"):
        k.compress_into(src, dst, 8, k.LZ4, 12, k.SHUFFLE, 1)
    with pytest.raises(ValueError, match="typesize"):
        k.compress_into(src, dst, 0, k.LZ4, 5, k.SHUFFLE, 1)
    with pytest.raises(ValueError, match="nthreads"):
        k.compress_into(src, dst, 8, k.LZ4, 5, k.SHUFFLE, 0)
    with pytest.raises(ValueError, match="dst must be a writable C-contiguous buffer"):
        k.compress_into(src, b"read-only" * 200, 8, k.LZ4, 5, k.SHUFFLE, 1)
    with pytest.raises(ValueError, match="src must be a C-contiguous buffer"):
        k.compress_into(src[::2], dst, 8, k.LZ4, 5, k.SHUFFLE, 1)
    with pytest.raises(TypeError):
        k.compress_into(12, dst, 8, k.LZ4, 5, k.SHUFFLE, 1)
    with pytest.raises(ValueError, match="overlap"):
        k.compress_into(dst[:100], dst[50:], 1, k.LZ4, 5, k.SHUFFLE, 1)
    with pytest.raises(TypeError, match="object"):
        codec.compress(np.array([object()]))
    with pytest.raises(ValueError):
        k.max_compressed_size(-1)


def test_dst_too_small() -> None:
    src = np.arange(1000, dtype=np.int64)
    need = k.max_compressed_size(src.nbytes)
    with pytest.raises(ValueError, match=f"destination of {need - 1} bytes.*need {need}"):
        k.compress_into(src, np.empty(need - 1, np.uint8), 8, k.LZ4, 5, k.SHUFFLE, 1)


@pytest.fixture
def chunk() -> tuple[np.ndarray, np.ndarray]:
    a = ARRAYS["float64 walk"]
    return a, codec.compress(a, "lz4", 5, "shuffle")


def test_truncated_chunk(chunk) -> None:
    a, c = chunk
    for cut in (0, 5, 16, 31, 32, 100, c.nbytes - 1):
        with pytest.raises(ValueError, match="truncated|not a valid|corrupt"):
            codec.decompress(c[:cut], a.dtype, a.shape)


def test_garbage_and_flipped_header(chunk) -> None:
    a, c = chunk
    for _ in range(50):
        junk = RNG.integers(0, 256, int(RNG.integers(0, 5000)), dtype=np.uint8)
        with pytest.raises(ValueError):
            codec.decompress(junk, a.dtype, a.shape)
    for pos in range(32):  # one flipped byte anywhere in the header: error or exact data
        bad = c.copy()
        bad[pos] ^= 0xFF
        try:
            out = codec.decompress(bad, a.dtype, a.shape)
        except ValueError:
            continue
        assert out.nbytes == a.nbytes  # a flip that Blosc tolerates still fills the buffer


def test_flipped_size_fields_detected(chunk) -> None:
    a, c = chunk
    for pos in (4, 12):  # nbytes and cbytes fields of the header
        bad = c.copy()
        bad[pos + 1] ^= 0x10
        with pytest.raises(ValueError):
            codec.decompress(bad, a.dtype, a.shape)


def test_wrong_destination_size(chunk) -> None:
    a, c = chunk
    with pytest.raises(ValueError, match=f"chunk holds {a.nbytes} bytes but the destination has"):
        codec.decompress(c, a.dtype, a.size - 1)
    with pytest.raises(ValueError, match="destination"):
        codec.decompress_into(c, np.empty(a.size + 1, a.dtype))
    with pytest.raises(ValueError, match="C-contiguous"):
        codec.decompress_into(c, np.empty(2 * a.size, a.dtype)[::2])


def test_threads_in_parallel() -> None:
    arrays = [np.cumsum(np.random.default_rng(i).standard_normal(200_000)) for i in range(8)]
    results: list = [None] * 8
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        barrier.wait()
        ok = True
        for cname in ("lz4", "zstd", "blosclz"):
            c = codec.compress(arrays[i], cname, 5, "shuffle", nthreads=1 + i % 2)
            ok &= bool(np.array_equal(codec.decompress(c, np.float64, arrays[i].shape), arrays[i]))
        results[i] = ok

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=5000), cname=st.sampled_from(sorted(codec.CODECS)),
       fname=st.sampled_from(sorted(codec.FILTERS)), typesize=st.integers(1, 300),
       clevel=st.integers(0, 9))
def test_property_round_trip(data: bytes, cname: str, fname: str, typesize: int, clevel: int) -> None:
    c = codec.compress(data, cname, clevel, fname, typesize=typesize)
    assert codec.decompress(c, np.uint8, len(data)).tobytes() == data


@settings(max_examples=300, deadline=None)
@given(junk=st.binary(max_size=400), size=st.integers(0, 2000))
def test_property_garbage_never_crashes(junk: bytes, size: int) -> None:
    out = np.empty(size, np.uint8)
    try:
        assert k.decompress_into(junk, out) == size
    except ValueError:
        pass


@settings(max_examples=200, deadline=None)
@given(pos=st.integers(0, 10_000), val=st.integers(1, 255), cut=st.integers(0, 10_000))
def test_property_mutated_chunk_never_crashes(pos: int, val: int, cut: int) -> None:
    a = ARRAYS["int64 keys"]
    c = codec.compress(a, "lz4")
    c[pos % c.nbytes] ^= val
    c = c[: max(c.nbytes - cut % 64, 0)]
    out = np.empty_like(a)
    try:
        assert k.decompress_into(c, out) == a.nbytes
    except ValueError:
        pass
