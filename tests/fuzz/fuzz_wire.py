"""atheris harness: the processes backend's wire parser (``rdarray.backends.processes.wire.Endpoint.unpack``).

Property: frames not signed with the key are dropped and counted, and never unpickled (the
messages carry a canary whose unpickling is recorded); a signed message whose header is anything
at all is read or dropped, never a crash. The first input byte picks the mode: raw frames, a
signed message with one frame altered, or a signed message with an arbitrary header. Every
256th input goes through a real ROUTER/DEALER socket pair and ``Endpoint.receive``.

    python tests/fuzz/fuzz_wire.py [corpus_dir] -atheris_runs=100000
"""
from __future__ import annotations

import atheris
import numpy as np
import zmq
from _common import run

with atheris.instrument_imports(include=["rdarray"]):
    from rdarray.backends.processes import wire

KEY = b"k" * 32
DRIVER, WORKER = wire.Endpoint(KEY, wire.DRIVER), wire.Endpoint(KEY, "w0")
TRIPPED: list = []


def _trip():
    TRIPPED.append(1)


class Canary:
    def __reduce__(self):
        return _trip, ()


GOOD = [bytes(memoryview(f)) for f in WORKER.pack(wire.DRIVER, "done", [Canary(), np.arange(20_000)], job=1, p=0)]

_zmq = zmq.Context()
ROUTER, DEALER = _zmq.socket(zmq.ROUTER), _zmq.socket(zmq.DEALER)
DEALER.setsockopt(zmq.IDENTITY, b"w0")
DEALER.connect(f"tcp://127.0.0.1:{ROUTER.bind_to_random_port('tcp://127.0.0.1')}")
COUNT = [0]


def through_sockets(frames: list) -> None:
    """Send ``frames`` then a good message to the ROUTER; only the good one comes out."""
    marker = [bytes(memoryview(f)) for f in WORKER.pack(wire.DRIVER, "marker")]
    DEALER.send_multipart(frames)
    DEALER.send_multipart(marker)
    for _ in range(200):
        found = DRIVER.receive(ROUTER, routed=True)
        if found is not None:
            assert found[0] == b"w0" and found[1]["kind"] == "marker", found[:2]
            return
        ROUTER.poll(50)
    raise AssertionError("the marker message did not arrive")


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    TRIPPED.clear()
    drops = DRIVER.drops.total
    if mode == 2:  # signed, any header
        frames = [fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300)), GOOD[2]]
        frames.insert(0, wire._signature(KEY, frames))
        got = DRIVER.unpack(frames)
        assert got is None or (isinstance(got[0], dict) and "kind" in got[0])
        return
    if mode == 0:  # raw frames
        frames = [fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200)) for _ in range(fdp.ConsumeIntInRange(1, 6))]
        if fdp.ConsumeBool() and len(frames) >= 2:
            frames[1:3] = GOOD[1:3]  # a real header and pickle, unsigned
    else:  # a signed message altered
        frames = list(GOOD)
        i = fdp.ConsumeIntInRange(0, len(frames) - 1)
        op = fdp.ConsumeIntInRange(0, 3)
        if op == 0 and frames[i]:
            b = bytearray(frames[i])
            b[fdp.ConsumeIntInRange(0, len(b) - 1)] ^= fdp.ConsumeIntInRange(1, 255)
            frames[i] = bytes(b)
        elif op == 1:
            frames[i] = frames[i][:fdp.ConsumeIntInRange(0, max(len(frames[i]) - 1, 0))]
        elif op == 2:
            del frames[i]
        else:
            frames.insert(i, fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64)))
        if frames == GOOD:
            return
    COUNT[0] += 1
    if COUNT[0] % 256 == 0:
        through_sockets(frames)
    else:
        assert DRIVER.unpack(frames) is None
    assert not TRIPPED, "an unsigned message was unpickled"
    assert DRIVER.drops.total == drops + 1, "a bad message was not counted as dropped"


if __name__ == "__main__":
    run("wire", test_one_input, [b"\x00" * 64, b"\x01" * 64, b"\x02" + b'{"kind": "x"}' * 4])
