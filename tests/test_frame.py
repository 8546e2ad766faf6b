"""Tests of the partition frame (rdarray._core.frame and rdarray.storage.frame).

The helpers ``_split``/``_join`` read and write frames from docs/FORMAT.md alone (struct, json,
zlib), so they also check that the document describes what the code writes; ``_join`` re-signs a
modified frame, which is how the tests forge hostile frames that get past the checksums.
"""
from __future__ import annotations

import json
import mmap
import struct
import threading
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib.format import descr_to_dtype

import rdarray as rd
from _helpers import version_1_frame
from rdarray._core import compiled_kernels
from rdarray.errors import CorruptDataError
from rdarray.storage import frame
from rdarray.storage.frame import CODECS, FILTERS

RNG = np.random.default_rng(0)
NESTED = np.dtype([(("a title", "a"), "<i4"), ("b", ">f8", (2, 3)),
                   ("c", [("x", "<i2"), ("y", "U3", (2,)), ("z", "M8[ms]")])])
WIDE = np.dtype([("id", "i8"), ("name", "U60"), ("x", "f8")])  # itemsize 264 > 255
ALIGNED = np.dtype([("a", "i1"), ("b", "<f8"), ("c", "u2")], align=True)
OFFSETS = np.dtype({"names": ["p", "q"], "formats": ["u1", "<c8"], "offsets": [4, 16],
                    "itemsize": 32})


def _fill(dt: np.dtype, shape) -> np.ndarray:
    """An array of ``dt`` whose every byte is random: exact (bytewise) round trips test it."""
    n = int(np.prod(shape)) * dt.itemsize
    return np.frombuffer(RNG.integers(0, 256, n, dtype=np.uint8).tobytes(), dt).reshape(shape)


def _walk(n: int, dt="f8") -> np.ndarray:
    return np.cumsum(RNG.standard_normal(n)).astype(dt)


ARRAYS = {
    **{f"int {t}": RNG.integers(-50, 50, 777).astype(t)
       for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", ">i4"]},
    **{f"float {t}": _walk(1001, t) for t in ["f2", "f4", "f8", ">f8", "g"]},
    **{f"complex {t}": (_walk(300) + 1j * _walk(300)).astype(t) for t in ["c8", "c16", "G"]},
    "bool": RNG.random(999) < 0.3,
    "datetime64[ns]": (np.datetime64("2024-01-01", "ns") + RNG.integers(0, 10**12, 500)),
    "datetime64[D]": np.arange(400).astype("M8[D]"),
    "datetime64 generic NaT": np.array(["NaT", "NaT"], dtype="M8"),
    "timedelta64[us]": RNG.integers(-10**9, 10**9, 400).astype("m8[us]"),
    "S5": np.array([b"ab", b"hello", b"", b"x" * 5] * 50, dtype="S5"),
    "U7": np.array([f"k{i % 97:05d}" for i in range(600)], dtype="U7"),
    "V3": _fill(np.dtype("V3"), (100,)),
    "structured nested/sub-array": _fill(NESTED, (80,)),
    "structured wide (264 B)": _fill(WIDE, (40,)),
    "structured aligned": _fill(ALIGNED, (64,)),
    "structured offsets": _fill(OFFSETS, (33,)),
    "2-D": _walk(600).reshape(40, 15),
    "3-D": RNG.integers(0, 9, (4, 5, 6)).astype("i2"),
    "Fortran 2-D": np.asfortranarray(_walk(600).reshape(30, 20)),
    "Fortran 3-D U4": np.asfortranarray(np.array(list("abcdefgh" * 15), "U4").reshape(5, 4, 6)),
    "non-contiguous": _walk(2000).reshape(40, 50)[::3, 1::2],
    "negative strides": _walk(300)[::-1],
    "empty": np.empty(0, np.float64),
    "empty 3-D": np.empty((3, 0, 2), np.int32),
    "empty structured": np.empty(0, NESTED),
    "one element": np.array([42], np.int64),
    "0-d": np.array(3.25),
    "zeros (special chunk)": np.zeros(5000),
}


def _exact(a: np.ndarray, b: np.ndarray) -> None:
    assert b.dtype == a.dtype and b.shape == a.shape
    assert b.tobytes() == a.tobytes()  # bytewise: NaN, NaT and padding included


def _round_trip(a: np.ndarray, **kw) -> bytes:
    f = frame.encode(a, **kw)
    assert isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.ndim == 1
    b = frame.decode(f)
    _exact(a, b)
    assert b.flags.writeable and b.flags.owndata
    fortran = a.flags.f_contiguous and not a.flags.c_contiguous
    assert b.flags.f_contiguous if fortran else b.flags.c_contiguous
    return f.tobytes()


# --- a reader/writer written from docs/FORMAT.md --------------------------------------------------

FIXED = struct.Struct("<8sHHIQQQII")


def _split(f: bytes) -> dict:
    magic, version, flags, hlen, nbytes, cbytes, nchunks, pcrc, hcrc = FIXED.unpack_from(f)
    assert hcrc == zlib.crc32(f[48:hlen], zlib.crc32(f[:44]))
    owner = f[48:72]
    (dlen,) = struct.unpack_from("<I", f, 72)
    descr = f[76:76 + dlen]
    off = 76 + dlen
    (ndim,) = struct.unpack_from("<I", f, off)
    shape = list(struct.unpack_from(f"<{ndim}Q", f, off + 4))
    off += 4 + 8 * ndim
    codec, filt, clevel, typesize, chunk_bytes = struct.unpack_from("<BBBBQ", f, off)
    off += 12
    table = list(struct.unpack_from(f"<{nchunks}Q", f, off))
    assert off + 8 * nchunks == hlen and hlen + cbytes == len(f) and sum(table) == cbytes
    assert pcrc == zlib.crc32(f[hlen:])
    return {"magic": magic, "version": version, "flags": flags, "nbytes": nbytes, "owner": owner, "descr": descr,
            "shape": shape, "codec": codec, "filter": filt, "clevel": clevel,
            "typesize": typesize, "chunk_bytes": chunk_bytes, "table": table,
            "payload": f[hlen:]}


def _join(d: dict) -> bytes:
    """A frame from ``_split``'s fields, checksums recomputed; ``header_len``, ``cbytes``,
    ``nchunks`` and ``pcrc`` are derived unless given."""
    var = (d["owner"] + struct.pack("<I", len(d["descr"])) + d["descr"]
           + struct.pack(f"<I{len(d['shape'])}Q", len(d["shape"]), *d["shape"])
           + struct.pack("<BBBBQ", d["codec"], d["filter"], d["clevel"], d["typesize"],
                         d["chunk_bytes"])
           + struct.pack(f"<{len(d['table'])}Q", *d["table"]))
    fixed = struct.pack("<8sHHIQQQI", d["magic"], d["version"], d["flags"],
                        d.get("header_len", 48 + len(var)), d["nbytes"],
                        d.get("cbytes", len(d["payload"])), d.get("nchunks", len(d["table"])),
                        d.get("pcrc", zlib.crc32(d["payload"])))
    return fixed + struct.pack("<I", zlib.crc32(var, zlib.crc32(fixed))) + var + d["payload"]


def _descr_tuples(obj):
    if isinstance(obj, str):
        return obj
    return [tuple([tuple(f[0]) if isinstance(f[0], list) else f[0], _descr_tuples(f[1])]
                  + ([tuple(f[2])] if len(f) == 3 else [])) for f in obj]


def _corrupt(buf, match: str | None = None) -> CorruptDataError:
    with pytest.raises(CorruptDataError, match=match) as e:
        frame.decode(buf)
    return e.value


# --- round trips ----------------------------------------------------------------------------------

def test_kernel_built_and_exported() -> None:
    assert "frame" in compiled_kernels()
    assert rd.CorruptDataError is CorruptDataError and issubclass(CorruptDataError, ValueError)
    assert frame.MAGIC == b"\x89RDF\r\n\x1a\n" and frame.VERSION == 2


@pytest.mark.parametrize("name", list(ARRAYS))
@pytest.mark.parametrize("cname", list(CODECS))
@pytest.mark.parametrize("fname", list(FILTERS))
def test_round_trip(name: str, cname: str, fname: str) -> None:
    clevel = (len(name) + len(cname) + len(fname)) % 10  # every level turns up
    f = _round_trip(ARRAYS[name], codec=cname, clevel=clevel, filter=fname)
    h = frame.read_header(f)
    assert (h.codec, h.filter, h.clevel) == (cname, fname, clevel)


@pytest.mark.parametrize("name", list(ARRAYS))
def test_independent_reader(name: str) -> None:
    """docs/FORMAT.md is enough to read a frame: struct, json, zlib and any Blosc2 decoder."""
    blosc2 = pytest.importorskip("blosc2")
    a = ARRAYS[name]
    d = _split(_round_trip(a, chunk_bytes=1000))
    dt = descr_to_dtype(_descr_tuples(json.loads(d["descr"])))
    pos, data = 0, b""
    for size in d["table"]:
        data += blosc2.decompress(d["payload"][pos:pos + size])
        pos += size
    order = "F" if d["flags"] & 1 else "C"
    shape = d["shape"]
    b = np.frombuffer(data, dt).reshape(shape, order=order) if data else np.empty(shape, dt)
    _exact(a, b)


LEAF_DTYPES = hnp.scalar_dtypes() | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes()


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(hnp.nested_dtypes(LEAF_DTYPES, max_itemsize=400) | LEAF_DTYPES,
                  hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7)),
       st.booleans(), st.integers(1, 600), st.sampled_from(list(CODECS)),
       st.sampled_from(list(FILTERS)))
def test_round_trip_hypothesis(a: np.ndarray, transpose: bool, chunk_bytes: int, cname: str,
                               fname: str) -> None:
    _round_trip(a.T if transpose else a, chunk_bytes=chunk_bytes, codec=cname, filter=fname)


def test_header_fields() -> None:
    a = ARRAYS["Fortran 2-D"]
    f = frame.encode(a, codec="zstd", clevel=7, filter="bitshuffle", chunk_bytes=1001)
    h = frame.read_header(f)
    assert (h.version, h.dtype, h.shape, h.fortran_order) == (2, a.dtype, a.shape, True)
    assert (h.nbytes, h.codec, h.filter, h.clevel) == (a.nbytes, "zstd", "bitshuffle", 7)
    assert h.typesize == 8
    assert h.chunk_bytes == 1000 and h.nchunks == -(-a.nbytes // 1000)  # rounded to whole items
    assert h.header_len + h.cbytes == len(f) and h.payload_checksum == zlib.crc32(f[h.header_len:])
    assert frame.read_header(f[:h.header_len]) == h  # the header alone is enough
    assert frame.read_header(frame.encode(ARRAYS["structured wide (264 B)"])).typesize == 1


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 1024, 5000])
@pytest.mark.parametrize("name", ["float f8", "U7", "structured nested/sub-array",
                                  "structured wide (264 B)", "Fortran 3-D U4", "bool", "0-d",
                                  "zeros (special chunk)", "empty"])
def test_multi_chunk(name: str, chunk_bytes: int) -> None:
    a = ARRAYS[name][:300] if ARRAYS[name].ndim == 1 else ARRAYS[name]  # 0-d and n-d whole
    for fname in FILTERS:
        h = frame.read_header(_round_trip(a, chunk_bytes=chunk_bytes, filter=fname))
        item = a.dtype.itemsize
        assert h.chunk_bytes == (chunk_bytes // item * item if item <= chunk_bytes else chunk_bytes)
        assert h.nchunks == -(-a.nbytes // h.chunk_bytes)
        assert h.typesize == (item if item <= min(255, chunk_bytes) else 1)


def test_buffer_kinds(tmp_path) -> None:
    a = ARRAYS["structured nested/sub-array"]
    f = frame.encode(a)
    for buf in (f, f.tobytes(), bytearray(f.tobytes()), memoryview(f.tobytes()),
                f.view(np.uint64) if len(f) % 8 == 0 else f, np.frombuffer(f.tobytes(), np.uint8)):
        _exact(a, frame.decode(buf))
    path = tmp_path / "part.rdb"
    path.write_bytes(f.tobytes())
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        _exact(a, frame.decode(mm))
        assert frame.read_header(mm).shape == a.shape
    # the mmap closed: decoding kept no export of it
    with pytest.raises(ValueError, match="contiguous"):
        frame.decode(np.repeat(f, 2)[::2])
    with pytest.raises(TypeError):
        frame.decode("not a buffer")


def test_argument_errors() -> None:
    a = np.arange(10)
    for kw, word in [({"codec": "snappy"}, "lz4, lz4hc, zlib, zstd"),
                     ({"filter": "delta"}, "none, shuffle, bitshuffle"),
                     ({"clevel": 10}, "0..9"), ({"clevel": True}, "0..9"),
                     ({"chunk_bytes": 0}, "chunk_bytes"), ({"chunk_bytes": 2**31}, "chunk_bytes"),
                     ({"chunk_bytes": 1.5}, "chunk_bytes")]:
        with pytest.raises(ValueError, match=word):
            frame.encode(a, **kw)
    assert frame.read_header(frame.encode(a, codec="LZ4HC")).codec == "lz4hc"
    with pytest.raises(TypeError, match="object"):
        frame.encode(np.array([1, "x"], dtype=object))
    with pytest.raises(TypeError, match="object"):
        frame.encode(np.zeros(3, [("a", "O"), ("b", "f8")]))
    with pytest.raises(TypeError):
        frame.encode(np.array(["a", "bc"], dtype=np.dtypes.StringDType()))


@pytest.mark.parametrize("kw, msg", [
    ({"codec": "foo"}, "unknown codec 'foo'; choose one of: blosclz, lz4, lz4hc, zlib, zstd"),
    ({"filter": "delta"}, "unknown filter 'delta'; choose one of: none, shuffle, bitshuffle"),
    ({"clevel": 10}, "clevel must be an integer in 0..9, got 10"),
    ({"clevel": -1}, "clevel must be an integer in 0..9, got -1"),
])
def test_codec_settings_messages(kw: dict, msg: str) -> None:
    """The same check serves encode and the saved metadata (frame.check_codec)."""
    with pytest.raises(ValueError) as ei:
        frame.encode(np.arange(10), **kw)
    assert str(ei.value) == msg
    settings = {"codec": "lz4", "filter": "shuffle", "clevel": 5} | kw
    with pytest.raises(ValueError) as ei:
        frame.check_codec(settings["codec"], settings["filter"], settings["clevel"])
    assert str(ei.value) == msg
    assert frame.check_codec("ZSTD", "bitshuffle", np.int8(9)) == (CODECS["zstd"], FILTERS["bitshuffle"], 9)


@pytest.mark.parametrize("settings", [(3, 1, 5), (1, 7, 5), (1, 1, 10), (1, 1, -1), (256 + 1, 1, 5)])
def test_kernel_rejects_unknown_codec_ids(settings: tuple[int, int, int]) -> None:
    """The kernel checks the ids itself: no frame is written that decode would call corrupt."""
    from rdarray._core import frame as kernel

    with pytest.raises(ValueError, match="unknown codec settings"):
        kernel.encode(np.arange(10.0), *settings, 1000)


# --- corruption, truncation, forgery --------------------------------------------------------------

SMALL = frame.encode(ARRAYS["structured nested/sub-array"][:12], chunk_bytes=300).tobytes()


def test_every_header_byte_flipped() -> None:
    hlen = frame.read_header(SMALL).header_len
    assert frame.read_header(SMALL).nchunks > 1  # the chunk table is part of the header
    for i in range(hlen):
        for flip in (0x01, 0xFF):
            bad = bytearray(SMALL)
            bad[i] ^= flip
            _corrupt(bad)
            with pytest.raises(CorruptDataError):
                frame.read_header(bad)


def test_every_payload_byte_flipped() -> None:
    hlen = frame.read_header(SMALL).header_len
    for i in range(hlen, len(SMALL)):
        bad = bytearray(SMALL)
        bad[i] ^= 0x10
        _corrupt(bad, "payload checksum")


def test_truncated_and_extended() -> None:
    hlen = frame.read_header(SMALL).header_len
    for n in range(len(SMALL)):
        _corrupt(SMALL[:n], "empty" if n == 0 else "truncated")
        if n >= hlen:
            assert frame.read_header(SMALL[:n]).shape == (12,)
    _corrupt(SMALL + b"\x00", "unexpected bytes after the payload")
    for empty in (b"", bytearray(), memoryview(b""), np.empty(0, np.uint8)):
        _corrupt(empty, "empty")
        with pytest.raises(CorruptDataError, match="empty"):
            frame.read_header(empty)


def test_wrong_magic_and_other_files(tmp_path) -> None:
    _corrupt(b"RDARRAY\x00" + SMALL[8:], "magic")
    npy = tmp_path / "a.npy"
    np.save(npy, np.arange(100))
    _corrupt(npy.read_bytes(), "not an rdarray frame")
    _corrupt(b"\x00" * 200, "magic")
    _corrupt(SMALL.replace(b"\r\n", b"\n", 1), "magic")  # text-mode mangling


def test_versions() -> None:
    d = _split(SMALL)
    e = _corrupt(_join({**d, "version": 3}), "version 3 is newer than this rdarray supports")
    assert "upgrade" in str(e)
    _corrupt(_join({**d, "version": 0}), "invalid format version 0")
    _corrupt(_join({**d, "flags": 2}), "unknown flags")
    _exact(ARRAYS["structured nested/sub-array"][:12], frame.decode(_join(d)))  # _join is faithful


def test_owner_round_trip_and_version_1_frames() -> None:
    """A version-2 frame names its array and partition; a version-1 frame (no owner field) still
    decodes, with no owner."""
    a = ARRAYS["Fortran 2-D"]
    f = frame.encode(a, chunk_bytes=1000, owner=(bytes(range(16)), 41)).tobytes()
    h = frame.read_header(f)
    assert (h.version, h.array_id, h.partition) == (2, bytes(range(16)), 41)
    _exact(a, frame.decode(f))
    assert _split(f)["owner"] == bytes(range(16)) + (41).to_bytes(8, "little")
    h = frame.read_header(frame.encode(a))
    assert (h.array_id, h.partition) == (None, 0)
    old = version_1_frame(f)
    assert len(old) == len(f) - 24
    h = frame.read_header(old)
    assert (h.version, h.array_id, h.partition, h.header_len) == (1, None, 0, frame.read_header(f).header_len - 24)
    _exact(a, frame.decode(old))


def test_owner_checks() -> None:
    d = _split(SMALL)
    _corrupt(_join({**d, "owner": bytes(16) + (3).to_bytes(8, "little")}), "partition index 3 without an array id")
    _corrupt(_join({**d, "owner": b"\x01" * 20}), "too short|does not match")  # a field cut short
    for bad in [(bytes(16), 0), (b"short", 0), ("x" * 16, 0), (b"\x01" * 16, -1), (b"\x01" * 16, 1.0)]:
        with pytest.raises(ValueError, match="owner"):
            frame.encode(np.arange(3), owner=bad)


def test_forged_sizes_never_allocate() -> None:
    """Forged sizes with valid checksums fail a consistency check before any allocation."""
    d = _split(SMALL)
    item, huge, n = NESTED.itemsize, 2**62, 2**40
    top = (frame.MAX_CHUNK_BYTES // item) * item
    lying = d["payload"][:d["table"][0]] * 512  # 512 real chunks, each for 3 items, not 2 GiB
    forged = [
        ({"nbytes": huge}, "differs from dtype"),
        ({"nbytes": n * item, "shape": [n]}, "chunks cannot hold"),
        ({"nbytes": n * item, "shape": [n], "chunk_bytes": top}, "chunks cannot hold"),
        ({"nbytes": 512 * top, "shape": [512 * top // item], "chunk_bytes": top,
          "table": [d["table"][0]] * 512, "payload": lying}, "chunk 0 holds a different number"),
        ({"nbytes": 2**64 // item * item, "shape": [2**64 // item]}, "larger than any array"),
        ({"shape": [2**63, 0]}, "differs from dtype|larger than any array"),
        ({"shape": [2**32] * 3, "nbytes": 0}, "larger than any array"),
        ({"shape": list(range(1, 70))}, "ndim 69 exceeds 64"),
        ({"table": [2**64 - 1] + d["table"][1:]}, "out of range"),
        ({"table": [d["table"][0] + 2**63, 2**63] + d["table"][2:]}, "out of range"),
        ({"cbytes": huge}, "sum to"),
        ({"nchunks": huge}, "header length"),
        ({"header_len": 2**32 - 1}, "truncated"),
        ({"header_len": 40}, "below the minimum"),
        ({"descr": b'"|S0"', "shape": [2**62], "nbytes": 0}, "unsized"),
        ({"chunk_bytes": 0}, "invalid chunk size"),
        ({"chunk_bytes": item + 9}, "invalid chunk size"),
        ({"typesize": 1}, "typesize"),
        ({"codec": 3}, "unknown codec"), ({"filter": 3}, "unknown codec"),
        ({"clevel": 10}, "unknown codec"),
    ]
    tracemalloc.start()
    try:
        for fields, match in forged:
            _corrupt(_join({**d, **fields}), match)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize("descr", [b'"|O"', b'[["a","|O"]]', b'"<f8', b"\xff\xfe", b'{"a":1}',
                                   b'[["a"]]', b'[[1,"<f8"]]', b'"(3,)<f8"', b'"T"', b"[" * 10**5,
                                   b'[["a","<f8",[1e30]]]', b'"__import__(\\"os\\")"'])
def test_hostile_dtype_descriptions(descr: bytes) -> None:
    d = _split(SMALL)
    _corrupt(_join({**d, "descr": descr}), "dtype")


def test_hostile_chunks() -> None:
    """Re-signed frames whose Blosc2 chunk headers lie are refused before decompression."""
    z = frame.encode(np.zeros(1000), chunk_bytes=4000).tobytes()
    d = _split(z)
    chunk0 = d["payload"][:d["table"][0]]
    assert len(chunk0) == 32 and chunk0[31] == 0x10  # Blosc2's "zeros" special chunk

    def with_chunk0(patch: dict) -> bytes:
        c = bytearray(chunk0)
        for at, value in patch.items():
            c[at] = value
        return _join({**d, "payload": bytes(c) + d["payload"][len(chunk0):]})

    _corrupt(with_chunk0({31: 0x40}), "uninitialised")  # would expose uninitialised memory
    _corrupt(with_chunk0({31: 0x01}), "dictionary")
    _corrupt(with_chunk0({30: 0x01}), "variable")
    _corrupt(with_chunk0({22: 5}), "codec, filter and typesize")
    _corrupt(with_chunk0({16: 1}), "codec, filter and typesize")
    _corrupt(with_chunk0({3: 4}), "codec, filter and typesize")
    _corrupt(with_chunk0({4: 0x01}), "different number of bytes")
    _corrupt(with_chunk0({12: 33}), "compressed size")
    _corrupt(with_chunk0({0: 0, 1: 0, 2: 0xFF}), "chunk 0")
    assert not frame.decode(_join(d)).any()


# --- fuzzing --------------------------------------------------------------------------------------

def _head(a: np.ndarray) -> np.ndarray:
    return a[:40] if a.ndim else a


FUZZ = [frame.encode(_head(ARRAYS[n]), codec=c, filter=f, chunk_bytes=b).tobytes()
        for n, c, f, b in [("structured nested/sub-array", "lz4", "shuffle", 512),
                           ("float f8", "zstd", "bitshuffle", 100), ("U7", "zlib", "none", 10**6),
                           ("Fortran 2-D", "blosclz", "shuffle", 1000), ("0-d", "lz4hc", "none", 8),
                           ("empty 3-D", "lz4", "shuffle", 64)]]
ORIGINALS = [frame.decode(f) for f in FUZZ]


def _decode_or_corrupt(buf) -> np.ndarray | None:
    try:
        return frame.decode(buf)
    except CorruptDataError:
        return None


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    _decode_or_corrupt(data)
    _decode_or_corrupt(SMALL[:48] + data)


mutations = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8)


def _mutate(f: bytes, muts, cut: int | None) -> bytes:
    b = bytearray(f)
    for at, value in muts:
        b[at % len(b)] = value
    return bytes(b[:cut] if cut is not None else b)


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, len(FUZZ) - 1), mutations, st.none() | st.integers(0, 10**4))
def test_fuzz_mutations(which: int, muts, cut) -> None:
    """A mutated frame decodes to the original array (only if nothing changed) or is refused."""
    bad = _mutate(FUZZ[which], muts, cut)
    out = _decode_or_corrupt(bad)
    if bad == FUZZ[which]:
        _exact(ORIGINALS[which], out)
    else:
        assert out is None


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, len(FUZZ) - 1), mutations, st.booleans())
def test_fuzz_resigned_mutations(which: int, muts, in_payload: bool) -> None:
    """Mutations behind valid checksums (a hostile writer) still only give an array that
    matches its header, or CorruptDataError."""
    d = _split(FUZZ[which])
    if in_payload and d["payload"]:
        d["payload"] = _mutate(d["payload"], muts, None)
    else:
        fields = ["version", "flags", "nbytes", "codec", "filter", "clevel", "typesize",
                  "chunk_bytes"]
        for at, value in muts:
            key = fields[at % len(fields)]
            small = key in ("codec", "filter", "clevel", "typesize")
            d[key] = value if small else d[key] ^ (1 << (value % 64))
        d["descr"] = _mutate(d["descr"], muts[:1], None)
    try:
        buf = _join(d)
    except struct.error:  # a field out of its type's range: not a frame this test can write
        return
    out = _decode_or_corrupt(buf)
    if out is not None:
        h = frame.read_header(buf)
        assert (out.dtype, out.shape, out.nbytes) == (h.dtype, h.shape, h.nbytes)


# --- threads --------------------------------------------------------------------------------------

def test_threads_encode_decode_concurrently() -> None:
    arrays = [_walk(100_000), ARRAYS["structured wide (264 B)"], ARRAYS["U7"],
              ARRAYS["Fortran 2-D"]]
    errors: list = []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for k, (cname, fname) in enumerate([(c, f) for c in CODECS for f in FILTERS]):
                f = frame.encode(arrays[i], codec=cname, filter=fname, chunk_bytes=4096 * (k + 1))
                _exact(arrays[i], frame.decode(f))
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
