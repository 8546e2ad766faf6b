"""atheris harness: the partition frame decoder (rdarray.storage.frame).

Property: ``decode`` and ``read_header`` return an array / a header or raise ``CorruptDataError``;
nothing else, no crash. The first input byte says what to do with the rest (the frame): bit 0
re-signs the header checksum, bit 1 the payload checksum, so mutations get past the CRC-32s.

    python tests/fuzz/fuzz_frame.py [corpus_dir] -atheris_runs=100000
"""
from __future__ import annotations

import atheris
import numpy as np
from _common import outcome_coverage, resign, run

with atheris.instrument_imports(include=["rdarray"]):
    from rdarray.errors import CorruptDataError
    from rdarray.storage import frame


#: the decoder's error messages, in the order of its checks (rdarray/_core/frame.pyx)
outcome = outcome_coverage([
    "empty", "shorter than the", "not an rdarray frame", "newer than", "invalid format version",
    "below the minimum", "truncated: the header is", "header checksum", "unknown flags",
    "without an array id",
    "too short for the fields", "invalid dtype description", "is not storable", "cannot be an array's",
    "ndim", "does not match its contents", "larger than any array", "uncompressed size",
    "unknown codec settings", "invalid chunk size", "typesize", "chunks cannot hold",
    "chunk table is out of range", "chunk sizes sum", "truncated: header and payload",
    "unexpected bytes after", "payload checksum", "is not a valid Blosc2 chunk",
    "holds a different number of bytes", "compressed size that differs", "was not written with",
    "uses Blosc2 features", "failed to decompress"])
decoded = outcome_coverage([f"{k}{n}{c}" for k in "biufcmMSUV" for n in range(4) for c in "01"])


def seeds() -> list[bytes]:
    """Valid frames (mode byte 3 in front) of several dtypes, shapes, codecs and chunk sizes."""
    rng = np.random.default_rng(0)
    arrays = [np.arange(50, dtype="<i4"), np.linspace(0, 1, 40).reshape(5, 8), rng.random((6, 4)).T,
              np.array(3.5), np.zeros((0, 3)), np.array([b"ab", b"cde"]), np.array(["x", "yz"]),
              np.arange(10).astype("M8[ns]"), rng.integers(0, 2, 33).astype(bool),
              np.zeros(4, [("a", "i1"), ("b", ">f8", (2,)), ("c", [("x", "u2")])]),
              np.zeros(3, np.dtype([("a", "i1"), ("b", "<f8")], align=True)), np.zeros(2, [("w", "S300")]),
              np.zeros(5, np.dtype([]))]
    out = []
    for i, a in enumerate(arrays):
        codec = ["lz4", "zstd", "blosclz", "zlib", "lz4hc"][i % 5]
        flt = ["shuffle", "bitshuffle", "none"][i % 3]
        for chunk in (None, 16):
            out.append(b"\x03" + bytes(frame.encode(a, codec=codec, filter=flt, chunk_bytes=chunk,
                                                     owner=(bytes(range(1, 17)), i) if chunk else None)))
    return out


def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, f = data[0], data[1:]
    if mode & 3:
        f = resign(f, header=bool(mode & 1), payload=bool(mode & 2))
    try:
        got = frame.decode(f)
    except CorruptDataError as e:
        outcome(str(e))
    else:
        assert isinstance(got, np.ndarray)
        decoded(f"{got.dtype.kind}{min(got.ndim, 3)}{int(got.size > 1)}")
    try:
        frame.read_header(f)
    except CorruptDataError:
        pass


if __name__ == "__main__":
    run("frame", test_one_input, seeds())
