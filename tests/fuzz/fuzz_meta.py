"""atheris harness: the ``_meta.json`` reader (``rd.load``).

Property: with the input as a saved array's ``_meta.json``, ``rd.load(path).compute()`` gives the
saved data or raises ``CorruptDataError``, and the partition files are never modified.

    python tests/fuzz/fuzz_meta.py [corpus_dir] -atheris_runs=100000
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile

import atheris
import numpy as np
from _common import outcome_coverage, run

with atheris.instrument_imports(include=["rdarray", "json"]):
    import rdarray as rd
    from rdarray.errors import CorruptDataError

DATA = np.zeros(40, [("k", "<i4"), ("v", "<f8", (2,))])
DATA["k"], DATA["v"] = np.arange(40), np.arange(80.0).reshape(40, 2) / 3
PATH = os.path.join(tempfile.mkdtemp(prefix="rdarray-fuzz-meta-data-"), "saved")
CONTEXT = rd.Context("sync")
with CONTEXT.as_default():
    rd.from_partitions([DATA[:10], DATA[10:10], DATA[10:30], DATA[30:]]).save(PATH)
with open(os.path.join(PATH, "_meta.json"), "rb") as f:
    META = f.read()


def digests() -> dict:
    out = {}
    for root, _, names in os.walk(PATH):
        for name in names:
            file = os.path.join(root, name)
            if file != os.path.join(PATH, "_meta.json"):
                with open(file, "rb") as f:
                    out[file] = hashlib.sha256(f.read()).digest()
    return out


FILES = digests()
#: what the reader said, as coverage (see _common.outcome_coverage)
outcome = outcome_coverage([
    "Expecting", "decode", "not an rdarray metadata", "invalid format version", "is newer", "codec settings",
    "unknown codec", "unknown filter", "clevel", "KeyError", "'dtype'", "'shape'", "'partition_lengths'",
    "'codec'", "data type", "field", "shape", "do not agree", "object dtype", "no array has", "holds",
    "is missing", "corrupt rdarray frame", "recursion", "syntax"])


def seeds() -> list[bytes]:
    """The valid metadata and a few variants of it."""
    meta = json.loads(META)
    variants = [META, json.dumps(meta).encode(), json.dumps(meta, separators=(",", ":")).encode()]
    for key, value in [("dtype", "|O"), ("dtype", [["k", "<i4"], ["v", "<f8", [3]]]), ("version", 3), ("id", "0" * 32),
                       ("partition_lengths", [40]), ("shape", [40, 2]), ("codec", {"name": "zstd", "clevel": 1,
                                                                                   "filter": "none"})]:
        variants.append(json.dumps({**meta, key: value}).encode())
    return variants


def test_one_input(data: bytes) -> None:
    with open(os.path.join(PATH, "_meta.json"), "wb") as f:
        f.write(data)
    try:
        with CONTEXT.as_default():
            got = rd.load(PATH).compute()
    except CorruptDataError as e:
        outcome(str(e))
    else:
        assert got.dtype == DATA.dtype and got.tobytes() == DATA.tobytes(), (got.dtype, got.shape)
    assert digests() == FILES, "a load modified the saved files"


if __name__ == "__main__":
    run("meta", test_one_input, seeds())
