"""Property-based fuzzing of the three parsers of untrusted input (contract sections 5-7).

* the partition frame decoder (``rdarray.storage.frame``): any buffer decodes to an array or
  raises ``CorruptDataError``;
* the ``_meta.json`` reader (``rd.load``): any metadata loads the saved data or raises
  ``CorruptDataError``, and never damages the saved files;
* the processes backend's wire parser (``wire.unpack`` / ``wire.receive``): anything not signed
  with the context's key is dropped and logged, never unpickled.

Mutated frames are re-signed (both CRC-32s recomputed) as often as not, so the structural checks
behind the checksums are reached. The atheris harnesses in tests/fuzz run the same properties for
longer.
"""
from __future__ import annotations

import hashlib
import json
import logging
import struct
import time

import numpy as np
import pytest
import zmq
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rdarray as rd
from _helpers import saved_files
from fuzz._common import resign  # the harnesses' own: tests/fuzz
from rdarray.backends.processes import wire
from rdarray.errors import CorruptDataError
from rdarray.storage import frame

# -- frames -----------------------------------------------------------------------------------------

DTYPES = [np.dtype(t) for t in ["u1", "<i2", ">i4", "<f8", ">c16", "?", "<M8[ns]", "<m8[s]", "S3",
                                "<U2", "V5"]] + [
    np.dtype([("a", "<i4"), ("b", ">f8", (2,)), ("c", [("x", "u1"), ("y", "S2")])]),
    np.dtype([("a", "i1"), ("b", "<f8")], align=True),
    np.dtype([(("title", "t"), "<u2")]),
    np.dtype([("w", "S300")]),  # wider than Blosc's 255-byte typesize limit
    np.dtype([]),               # zero-size structured
]
FIELDS = {  # fixed-header field: (offset, struct format)
    "version": (8, "<H"), "flags": (10, "<H"), "header_len": (12, "<I"), "nbytes": (16, "<Q"),
    "cbytes": (24, "<Q"), "nchunks": (32, "<Q"), "payload_crc": (40, "<I"), "header_crc": (44, "<I"),
    "array_id[:8]": (48, "<Q"), "array_id[8:]": (56, "<Q"), "partition": (64, "<Q"), "dtype_len": (72, "<I"),
}
BAD_DESCRS = [b'"|O"', b'[["a","|O"]]', b'[["a",[["b","|O"]]]]', b'"|V2147483648"', b'"<U0"', b'"|V0"',
              b'"|S0"', b'[["a","<f8",[1099511627776,1099511627776]]]', b'[["a","<f8",[-1]]]',
              b'"<M8[foo]"', b'"hello"', b'5', b'null', b'{}', b'[["a"]]', b'[[1,"<f8"]]',
              b'[' * 5000 + b']' * 5000, b'\xff\xfe', b'"<f8"', b'">f8"', b'"<i4"', b'[]']
INTERESTING = [0, 1, 2, 7, 8, 31, 32, 33, 47, 48, 68, 255, 256, 2**15, 2**16 - 1, 2**31 - 1, 2**31,
               2**32 - 1, 2**32, 2**62, 2**63 - 1, 2**63, 2**64 - 1]


@st.composite
def arrays(draw):
    """A random array of one of DTYPES (0-d and empty included), its bytes random."""
    dt = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    raw = draw(st.binary(min_size=dt.itemsize * int(np.prod(shape)),
                         max_size=dt.itemsize * int(np.prod(shape))))
    fortran = draw(st.booleans())
    if not dt.itemsize:
        return np.zeros(shape, dt, order="F" if fortran else "C")
    a = np.frombuffer(raw, np.uint8).view(dt)
    return a.reshape(shape[::-1]).T if fortran else a.reshape(shape)  # every byte set, padding too


def memory(a: np.ndarray) -> bytes:
    """The bytes of a contiguous array in memory order (padding included, no field-wise copy)."""
    return (a.T if a.flags.f_contiguous and not a.flags.c_contiguous else a).tobytes()


@st.composite
def frames(draw):
    """``(array, frame bytes)`` from the encoder, with random codec settings and chunk sizes."""
    a = draw(arrays())
    f = frame.encode(a, codec=draw(st.sampled_from(["blosclz", "lz4", "lz4hc", "zlib", "zstd"])),
                     clevel=draw(st.integers(0, 9)),
                     filter=draw(st.sampled_from(["none", "shuffle", "bitshuffle"])),
                     chunk_bytes=draw(st.sampled_from([None, 1, 7, 16, 64, 1000])))
    return a, bytes(f)


def split(f: bytes) -> dict:
    """The variable part of a valid frame, as fields (docs/FORMAT.md); "fixed" holds the fixed
    header and the owner field."""
    (dlen,) = struct.unpack_from("<I", f, 72)
    off = 76 + dlen
    (ndim,) = struct.unpack_from("<I", f, off)
    shape = list(struct.unpack_from(f"<{ndim}Q", f, off + 4))
    off += 4 + 8 * ndim
    settings_ = list(struct.unpack_from("<BBBBQ", f, off))
    nchunks = struct.unpack_from("<Q", f, 32)[0]
    table = list(struct.unpack_from(f"<{nchunks}Q", f, off + 12))
    hlen = struct.unpack_from("<I", f, 12)[0]
    return {"fixed": f[:72], "descr": f[76:76 + dlen], "shape": shape, "settings": settings_,
            "table": table, "payload": f[hlen:]}


def join(d: dict) -> bytes:
    """A frame from ``split``'s fields (any values), header_len recomputed, checksums not."""
    var = (struct.pack("<I", len(d["descr"])) + d["descr"]
           + struct.pack(f"<I{len(d['shape'])}Q", len(d["shape"]), *d["shape"])
           + struct.pack("<BBBBQ", *d["settings"]) + struct.pack(f"<{len(d['table'])}Q", *d["table"]))
    fixed = bytearray(d["fixed"])
    struct.pack_into("<I", fixed, 12, 72 + len(var))
    return bytes(fixed) + var + d["payload"]


u64 = st.one_of(st.sampled_from(INTERESTING), st.integers(0, 2**64 - 1))


@st.composite
def rebuilt(draw, f: bytes) -> bytes:
    """``f`` with fields of its variable part replaced (dtype, shape, settings, chunk table)."""
    d = split(f)
    what = draw(st.sampled_from(["descr", "shape", "settings", "table", "nchunks"]))
    if what == "descr":
        d["descr"] = draw(st.one_of(st.sampled_from(BAD_DESCRS), st.binary(max_size=40)))
    elif what == "shape":
        d["shape"] = draw(st.lists(u64, max_size=5))
    elif what == "settings":
        d["settings"] = [draw(st.integers(0, 255)) for _ in range(4)] + [draw(u64)]
    elif what == "table":
        d["table"] = draw(st.lists(u64, max_size=4))
    else:  # nchunks and table together, consistent with cbytes or not
        d["table"] = draw(st.lists(st.integers(0, 2**32), max_size=4))
        fixed = bytearray(d["fixed"])
        struct.pack_into("<Q", fixed, 32, len(d["table"]))
        if draw(st.booleans()):
            struct.pack_into("<Q", fixed, 24, sum(d["table"]))
        d["fixed"] = bytes(fixed)
    return join(d)


@st.composite
def mutated(draw, f: bytes) -> bytes:
    """``f`` after one to three random mutations, re-signed or not."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "truncate", "extend", "field", "rebuild", "splice"]))
        if kind == "flip" and f:
            b = bytearray(f)
            for i in draw(st.lists(st.integers(0, len(b) - 1), min_size=1, max_size=4)):
                b[i] ^= draw(st.integers(1, 255))
            f = bytes(b)
        elif kind == "truncate":
            f = f[:draw(st.integers(0, max(len(f) - 1, 0)))]
        elif kind == "extend":
            f = f + draw(st.binary(min_size=1, max_size=64))
        elif kind == "field" and len(f) >= 76:
            name = draw(st.sampled_from(sorted(FIELDS)))
            off, fmt = FIELDS[name]
            value = draw(u64) % (1 << (8 * struct.calcsize(fmt)))
            b = bytearray(f)
            struct.pack_into(fmt, b, off, value)
            f = bytes(b)
        elif kind == "rebuild" and len(f) >= 76:
            try:
                f = draw(rebuilt(f))
            except struct.error:  # an earlier mutation left no parsable variable part
                pass
        elif kind == "splice" and f:  # overwrite a random range with random bytes
            i = draw(st.integers(0, len(f) - 1))
            f = f[:i] + draw(st.binary(min_size=1, max_size=16)) + f[i + 16:]
    if draw(st.booleans()):
        f = resign(f, header=True, payload=draw(st.booleans()))
    return f


CHUNK_FIELDS = [(0, "<B"), (1, "<B"), (2, "<B"), (3, "<B"), (4, "<i"), (8, "<i"), (12, "<i"), (21, "<B"),
                (22, "<B"), (30, "<B"), (31, "<B"), (32, "<i"), (36, "<i")]  # Blosc2 header, first bstarts


@st.composite
def payload_mutated(draw, f: bytes) -> bytes:
    """``f`` with bytes of one Blosc2 chunk (its header or its data) changed, the chunk table and
    both checksums kept consistent: only Blosc2's own checks and rdarray's chunk checks remain."""
    hlen, cbytes, nchunks = struct.unpack_from("<I", f, 12)[0], *struct.unpack_from("<QQ", f, 24)
    assume(nchunks)
    table = struct.unpack_from(f"<{nchunks}Q", f, hlen - 8 * nchunks)
    k = draw(st.integers(0, nchunks - 1))
    start = hlen + sum(table[:k])
    chunk = bytearray(f[start:start + table[k]])
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            off, fmt = draw(st.sampled_from([(o, t) for o, t in CHUNK_FIELDS
                                                       if o + struct.calcsize(t) <= len(chunk)]))
            bits = 8 * struct.calcsize(fmt)
            value = draw(st.one_of(st.sampled_from([0, 1, 16, 32, 33, 255, 2**bits // 2 - 1]),
                                   st.integers(0, 2**bits - 1)))
            struct.pack_into(fmt.upper(), chunk, off, value)
        else:
            chunk[draw(st.integers(0, len(chunk) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):  # the chunk shorter or longer, its stated size following
        chunk = chunk[:draw(st.integers(32, len(chunk)))] + draw(st.binary(max_size=24))
        struct.pack_into("<i", chunk, 12, len(chunk))
    b = bytearray(f[:start] + chunk + f[start + table[k]:])
    struct.pack_into("<Q", b, hlen - 8 * nchunks + 8 * k, len(chunk))
    struct.pack_into("<Q", b, 24, cbytes - table[k] + len(chunk))
    return resign(bytes(b))


def check_decodes(buffer: bytes, original: np.ndarray | None = None) -> None:
    """Decoding ``buffer`` (as several buffer types) gives ``original`` or CorruptDataError."""
    for wrap in (bytes, bytearray, lambda b: np.frombuffer(b, np.uint8)):
        try:
            got = frame.decode(wrap(buffer))
        except CorruptDataError:
            assert original is None, "a valid frame was rejected"
            continue
        assert isinstance(got, np.ndarray)
        if original is not None:
            assert got.dtype == original.dtype and got.shape == original.shape
            assert got.flags.f_contiguous == original.flags.f_contiguous
            assert memory(got) == memory(original)
    try:
        header = frame.read_header(buffer)
    except CorruptDataError:
        assert original is None
    else:
        assert isinstance(header, frame.FrameHeader)


@given(st.binary(max_size=300))
@example(b"")
@example(frame.MAGIC)
@example(frame.MAGIC + b"\x00" * 40)
def test_frame_random_bytes(data):
    check_decodes(data)
    check_decodes(frame.MAGIC + b"\x01\x00" + data)  # past the magic and version
    check_decodes(resign(frame.MAGIC + b"\x01\x00\x00\x00" + data))  # and the header checksum


@settings(max_examples=3 * settings.default.max_examples)
@given(st.data())
def test_frame_mutations(data):
    a, f = data.draw(frames())
    check_decodes(f, a)
    bad = data.draw(mutated(f))
    check_decodes(bad, a if bad == f else None)


@settings(max_examples=3 * settings.default.max_examples)
@given(st.data())
def test_frame_payload_mutations(data):
    a, f = data.draw(frames())
    bad = data.draw(payload_mutated(f))
    check_decodes(bad, a if bad == f else None)


# -- _meta.json -------------------------------------------------------------------------------------

SAVED = np.zeros(40, [("k", "<i4"), ("v", "<f8", (2,))])
SAVED["k"], SAVED["v"] = np.arange(40), np.arange(80.0).reshape(40, 2) / 3

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
META_VALUES = {
    "format": st.sampled_from(["rdarray", "other", "", None, 1]),
    "version": st.sampled_from([1, 0, -1, 2, 3, 99, True, False, 1.0, "1", None, 2**64, [1]]),
    "id": st.one_of(st.sampled_from(["0" * 32, "f" * 32, "F" * 32, "0" * 31, "0" * 33, "../" + "0" * 29, 1, None]),
                    st.text(alphabet="0123456789abcdef./", max_size=34), json_values),
    "dtype": st.one_of(st.sampled_from(["|O", [["a", "|O"]], [["k", "<i4"], ["v", "|O"]], "|V2147483648",
                                        [["a", "|V2000000000"], ["b", "|V2000000000"]], "<U0", "|V0",
                                        [["a", "<f8", [2**40, 2**40]]], [["a", "<f8", [-1]]], "<f8",
                                        [["k", "<i4"], ["v", "<f8", [2]]], [["k", ">i4"], ["v", "<f8", [2]]],
                                        [["k", "<i4"], ["v", "<f8", [3]]], "|V20", "<M8[foo]", "hello",
                                        [["k", "<i4"], ["k", "<f8"]], [[["t", "k"], "<i4"], ["v", "<f8", [2]]],
                                        [["a"]], [[1, "<f8"]], [[[1, 2], "<f8"]], {"names": ["a"]}]),
                       json_values),
    "shape": st.one_of(st.lists(st.sampled_from(INTERESTING + [-1, 40, 2, 1.5, "4", None, True]),
                                max_size=4), json_values),
    "partition_lengths": st.one_of(st.lists(st.sampled_from([0, 1, 10, 20, 40, -1, 2**63, 2**64,
                                                             1.0, None, False]), max_size=6),
                                   st.just([0] * 5000), json_values),
    "partitioner": json_values,
    "codec": st.one_of(st.fixed_dictionaries({"name": st.sampled_from(["lz4", "zstd", "nope", 1, None]),
                                              "clevel": st.sampled_from([5, 0, 9, 10, -1, "5", None]),
                                              "filter": st.sampled_from(["shuffle", "none", "bad", 0])}),
                       json_values),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``(path, meta text, {file: sha256})`` of an array saved in four partitions."""
    path = tmp_path_factory.mktemp("fuzz") / "saved"
    with rd.Context("sync"):
        rd.from_partitions([SAVED[:10], SAVED[10:10], SAVED[10:30], SAVED[30:]]).save(path)
    meta = (path / "_meta.json").read_bytes()
    return path, meta, _digests(path)


def _digests(path) -> dict:
    return {name: hashlib.sha256(data).hexdigest() for name, data in saved_files(path).items()
            if name != "_meta.json"}


def check_load(path, text: bytes, digests: dict) -> None:
    """With ``text`` as the metadata, loading gives the saved data or CorruptDataError."""
    (path / "_meta.json").write_bytes(text)
    try:
        with rd.Context("sync"):
            x = rd.load(path)
            got = x.compute()
    except CorruptDataError:
        pass
    else:
        assert got.dtype == SAVED.dtype and got.tobytes() == SAVED.tobytes()
    assert _digests(path) == digests


@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=100)))
@example(b"[" * 100_000)
@example(b'{"format": "rdarray", "version": 1, "dtype": ' + b"[" * 5000 + b"]" * 5000 + b"}")
@example(b'{"format": "rdarray", "version": ' + b"9" * 5000 + b"}")
@example(b'{"format": "rdarray\xff"}')
@example(b'{"format": "rdarray", "version": 1, "dtype": ",O", "shape": [40], "partition_lengths": [40], '
         b'"codec": {"name": "lz4", "clevel": 5, "filter": "shuffle"}}')  # NumPy parses "a,b" with ast
def test_meta_random(saved, data):
    path, _, digests = saved
    check_load(path, data, digests)


@given(st.data())
def test_meta_mutations(saved, data):
    path, text, digests = saved
    check_load(path, text, digests)  # the valid metadata loads
    meta = json.loads(text)
    for key in data.draw(st.lists(st.sampled_from(sorted(META_VALUES)), min_size=1, max_size=3, unique=True)):
        if data.draw(st.integers(0, 5)) == 0:
            del meta[key]
        else:
            meta[key] = data.draw(META_VALUES[key])
    raw = json.dumps(meta).encode()
    if data.draw(st.integers(0, 4)) == 0:  # byte-level damage, non-UTF-8 included
        b = bytearray(raw)
        b[data.draw(st.integers(0, len(b) - 1))] = data.draw(st.integers(0, 255))
        raw = bytes(b)
    check_load(path, raw, digests)


def test_meta_fields_named_in_the_format_are_checked(saved):
    """Metadata that is not as docs/FORMAT.md describes raises CorruptDataError when loaded."""
    path, text, _ = saved
    good = json.loads(text)
    bad = [{"version": 0}, {"version": True}, {"version": 1.0}, {"codec": {"name": "nope", "clevel": 5,
                                                                           "filter": "shuffle"}},
           {"codec": {"name": "lz4", "clevel": 10, "filter": "shuffle"}}, {"codec": "lz4"},
           {"dtype": "<U0"}, {"dtype": "|V0"}, {"version": 4}, {"version": 2}, {"id": "0" * 32}, {"id": "A" * 32},
           {"id": None},
           {"shape": [40] + [1] * 64}, {"shape": [40, 2**40]}]
    try:
        for change in bad + [{"codec": None}]:
            meta = {**good, **change}
            if change == {"codec": None}:
                del meta["codec"]
            (path / "_meta.json").write_text(json.dumps(meta))
            with pytest.raises(CorruptDataError):
                rd.load(path)
    finally:
        (path / "_meta.json").write_bytes(text)


# -- wire -------------------------------------------------------------------------------------------

KEY = b"k" * 32
DRIVER = wire.Endpoint(KEY, wire.DRIVER)
WORKER = wire.Endpoint(KEY, "w0")
TRIPPED: list = []


def _trip():
    TRIPPED.append(1)
    return "tripped"


class Canary:
    """Unpickling one records it: a message that carries one must never be unpickled unsigned."""

    def __reduce__(self):
        return _trip, ()


def signed(body=None, kind: str = "done", to_worker: bool = False, fresh: bool = False, **header) -> list:
    """A message from the worker to the driver (or the other way), with its next sequence number;
    or, ``fresh``, from a new sender of the same name (sequence number 1: the same bytes each time)."""
    sender, receiver = (DRIVER, WORKER) if to_worker else (WORKER, DRIVER)
    if fresh:
        sender = wire.Endpoint(KEY, sender.name)
    return [bytes(memoryview(f)) for f in sender.pack(receiver.name, kind, body, **header)]


frame_lists = st.lists(st.binary(max_size=80), min_size=1, max_size=6)


@st.composite
def bad_messages(draw, to_worker: bool = False) -> list:
    """Frames that are not a message to read: random, or a signed message altered, or signed by
    another key. (Replays: ``test_wire_replays_*`` and the socket test.)"""
    if draw(st.booleans()):
        frames_ = draw(frame_lists)
        if draw(st.booleans()) and len(frames_) >= 2:  # a real header and pickle, unsigned
            frames_[1:3] = signed(Canary(), job=1, to_worker=to_worker, fresh=True)[1:3]
        return frames_
    good = signed([Canary(), np.arange(draw(st.sampled_from([3, 20_000])))], job=1, p=0, to_worker=to_worker,
                  fresh=True)
    frames_ = list(good)
    kind = draw(st.sampled_from(["flip", "truncate", "drop", "add", "swap", "key", "resign-part"]))
    if kind == "flip":
        i = draw(st.integers(0, len(frames_) - 1))
        assume(frames_[i])
        b = bytearray(frames_[i])
        b[draw(st.integers(0, len(b) - 1))] ^= draw(st.integers(1, 255))
        frames_[i] = bytes(b)
    elif kind == "truncate":
        i = draw(st.integers(0, len(frames_) - 1))
        assume(frames_[i])
        frames_[i] = frames_[i][:draw(st.integers(0, len(frames_[i]) - 1))]
    elif kind == "drop":
        del frames_[draw(st.integers(0, len(frames_) - 1))]
    elif kind == "add":
        frames_.insert(draw(st.integers(0, len(frames_))), draw(st.binary(max_size=20)))
    elif kind == "swap":
        i, j = draw(st.integers(0, len(frames_) - 1)), draw(st.integers(0, len(frames_) - 1))
        frames_[i], frames_[j] = frames_[j], frames_[i]
    elif kind == "key":
        other = wire.Endpoint(draw(st.binary(max_size=40).filter(lambda k: k != KEY)), "w0")
        frames_ = [bytes(memoryview(f)) for f in other.pack("w0" if to_worker else wire.DRIVER, "done", Canary())]
    else:  # the frames joined differently: the same bytes, other boundaries
        assume(len(frames_) >= 3 and len(frames_[1]) > 1)
        cut = draw(st.integers(1, len(frames_[1]) - 1))
        frames_[1:3] = [frames_[1][:cut], frames_[1][cut:] + frames_[2]]
    assume(frames_ != good)
    return frames_


@settings(max_examples=6 * settings.default.max_examples)
@given(bad_messages())
def test_wire_unpack_drops_unsigned(frames_):
    TRIPPED.clear()
    before = DRIVER.drops.total
    assert DRIVER.unpack(frames_) is None
    assert not TRIPPED and DRIVER.drops.total == before + 1


@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=40)))
@example(b'{"kind": "x"}')
@example(b'{"kind": "x", "src": "w0", "dst": "driver", "seq": 1}')
@example(b"[" * 100_000)
def test_wire_signed_header_of_any_shape(header):
    """A signed message is trusted, yet a header of any shape is dropped or read, not a crash."""
    frames_ = signed(1)
    frames_[1] = header
    frames_[0] = wire._signature(KEY, frames_[1:])
    got = DRIVER.unpack(frames_)
    if got is not None:
        assert isinstance(got[0], dict) and "kind" in got[0] and got[1] == 1


def test_wire_replays_are_dropped_within_and_behind_the_window():
    """Messages read in any order within the window are read once each; one too far behind is not."""
    sender, receiver = wire.Endpoint(KEY, "a"), wire.Endpoint(KEY, "b")
    messages = [sender.pack("b", "x", i) for i in range(wire.WINDOW + 10)]
    order = [3, 0, 2, 1, 7, 5]
    assert [receiver.unpack(messages[i])[1] for i in order] == order
    assert all(receiver.unpack(messages[i]) is None for i in order)
    assert receiver.unpack(messages[-1])[1] == len(messages) - 1
    assert receiver.unpack(messages[4]) is None  # never read, but older than the window allows
    assert receiver.unpack(messages[-2])[1] == len(messages) - 2
    assert wire.Endpoint(KEY, "c").unpack(sender.pack("b", "x", 0)) is None  # addressed to another


def test_dropped_messages_are_logged_once_per_interval_with_a_summary(caplog):
    drops = wire.Drops(interval=0.2)
    with caplog.at_level(logging.WARNING, logger="rdarray"):
        for _ in range(1000):
            drops("signature", "a peer")
        drops("truncated", "a peer")
        assert len(caplog.records) == 2
        time.sleep(0.3)
        drops.flush()
    assert drops.total == 1001 and len(caplog.records) == 3
    assert "999 more" in caplog.records[-1].getMessage()


@pytest.fixture(scope="module")
def sockets():
    """A ROUTER bound on loopback (the driver's side) and a DEALER connected to it (a worker's)."""
    context = zmq.Context()
    router, dealer = context.socket(zmq.ROUTER), context.socket(zmq.DEALER)
    for s in (router, dealer):
        s.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.IDENTITY, b"w0")
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer.connect(f"tcp://127.0.0.1:{port}")
    dealer.send_multipart(signed(kind="hello"))  # the ROUTER learns the DEALER's identity
    assert router.poll(5000)
    sender, header = DRIVER.receive(router, routed=True)[:2]
    assert sender == b"w0" and header["kind"] == "hello"
    yield router, dealer
    context.destroy(linger=0)


def _next(socket, endpoint, routed: bool):
    """The next good message on ``socket``, waiting for it to arrive."""
    for _ in range(100):
        found = endpoint.receive(socket, routed=routed)
        if found is not None:
            return found
        socket.poll(100)
    raise AssertionError("the good message did not arrive")


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(st.data(), st.booleans())
def test_wire_receive_over_sockets(sockets, data, to_worker):
    """Bad messages sent either way are dropped one by one; the good one after them is read, once:
    sent again, it is dropped too."""
    router, dealer = sockets
    messages = data.draw(st.lists(bad_messages(to_worker), min_size=1, max_size=5))
    TRIPPED.clear()
    good = signed({"x": np.arange(30_000)}, kind="task", to_worker=to_worker, job=7)  # an out-of-band buffer too
    receiver, endpoint = (dealer, WORKER) if to_worker else (router, DRIVER)
    before = endpoint.drops.total
    marker = signed(kind="marker", to_worker=to_worker)

    def send(m):
        if to_worker:
            router.send_multipart([b"w0"] + m)
        else:
            dealer.send_multipart(m)
    for m in messages + [good]:
        send(m)
    sender, header, body, nbytes = _next(receiver, endpoint, routed=not to_worker)
    assert endpoint.receive(receiver, routed=not to_worker) is None
    assert sender == (None if to_worker else b"w0")
    assert header["kind"] == "task" and header["job"] == 7
    np.testing.assert_array_equal(body["x"], np.arange(30_000))
    assert nbytes == sum(len(f) for f in good)
    for m in (good, marker):
        send(m)
    assert _next(receiver, endpoint, routed=not to_worker)[1]["kind"] == "marker"
    assert not TRIPPED and endpoint.drops.total == before + len(messages) + 1
