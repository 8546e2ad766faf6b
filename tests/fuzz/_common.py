"""Shared by the atheris harnesses: seed corpora, checksum re-signing and the run loop."""
from __future__ import annotations

import os
import struct
import sys
import tempfile
import zlib


def resign(f: bytes, header: bool = True, payload: bool = True) -> bytes:
    """Frame ``f`` with its CRC-32s recomputed from its (maybe forged) header_len and cbytes, so
    that mutations reach the checks behind the checksums."""
    if len(f) < 48:
        return f
    b = bytearray(f)
    hlen, cbytes = struct.unpack_from("<I", b, 12)[0], struct.unpack_from("<Q", b, 24)[0]
    if payload and hlen <= len(b):
        struct.pack_into("<I", b, 40, zlib.crc32(b[hlen:hlen + cbytes]))
    if header and 48 <= hlen <= len(b):
        struct.pack_into("<I", b, 44, zlib.crc32(b[48:hlen], zlib.crc32(b[:44])))
    return bytes(b)


def outcome_coverage(phrases: list[str]):
    """A function ``f(message)`` whose instrumented branches differ for each phrase the message
    holds. Compiled code (the Cython kernels) gives atheris no coverage; calling ``f`` with the
    error a parser raised turns "how far did this input get" into coverage libFuzzer can follow."""
    import atheris

    body = "".join(f"    if {p!r} in m:\n        return {i}\n" for i, p in enumerate(phrases))
    namespace: dict = {}
    exec(f"def outcome(m):\n{body}    return -1\n", namespace)  # noqa: S102 (fixed, local source)
    return atheris.instrument_func(namespace["outcome"])


def run(name: str, test_one_input, seeds: list[bytes]) -> None:
    """Start atheris on ``test_one_input``; without a corpus directory on the command line, one is
    made in the temporary directory and filled with ``seeds``."""
    import atheris

    argv = list(sys.argv)
    if not any(a.startswith("-artifact_prefix=") for a in argv):  # crashing inputs: not in the working dir
        argv.insert(1, f"-artifact_prefix={tempfile.mkdtemp(prefix=f'rdarray-fuzz-{name}-crashes-')}/")
    if not any(not a.startswith("-") for a in argv[1:]):
        corpus = tempfile.mkdtemp(prefix=f"rdarray-fuzz-{name}-")
        for i, seed in enumerate(seeds):
            with open(os.path.join(corpus, f"seed-{i:03d}"), "wb") as f:
                f.write(seed)
        argv.append(corpus)
        print(f"{name}: corpus in {corpus} ({len(seeds)} seeds)", file=sys.stderr)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
