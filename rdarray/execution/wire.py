"""The wire format between the driver and the worker processes, and between workers.

A message is a list of ZeroMQ frames: ``[signature, header, body, *buffers]``. The header is a
small JSON object (``kind`` and a few numbers); the body is a pickle (protocol 5) whose arrays
travel out of band as the ``buffers`` frames: sent straight from NumPy's memory and received as
arrays over the frames' memory, with no copy on either side. The signature is HMAC-SHA256, under
the context's random key, of every other frame; a message whose signature is missing or wrong is
dropped and logged before anything in it is parsed or unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import pickle

import cloudpickle
import zmq

from ..storage.frame import exact_reduction

log = logging.getLogger("rdarray")

#: arrays smaller than this travel inside the pickle: a frame of their own costs more than a copy
OUT_OF_BAND_BYTES = 1 << 16


def new_key() -> bytes:
    """A random signing key for one context."""
    import secrets

    return secrets.token_bytes(32)


def _signature(key: bytes, frames) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for frame in frames:
        view = memoryview(frame)
        mac.update(view.nbytes.to_bytes(8, "little"))  # frame boundaries are part of what is signed
        mac.update(view)
    return mac.digest()


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        return exact_reduction(obj)


class CloudPickler(cloudpickle.Pickler):
    """cloudpickle's pickler (functions by value), keeping arrays' dtypes exactly."""

    def reducer_override(self, obj):
        reduced = exact_reduction(obj)
        return super().reducer_override(obj) if reduced is NotImplemented else reduced


def dumps(obj, out_of_band_bytes: int | None = None, by_value: bool = False) -> tuple[bytes, list]:
    """``(pickle, buffers)``: ``obj`` pickled (protocol 5) with arrays' dtypes kept exactly, by the
    plain pickler (several times faster for data) or, when it holds functions or ``by_value``
    (functions of ``__main__`` too), by cloudpickle; buffers of at least ``out_of_band_bytes``
    are left out of the pickle, as ``buffers``."""
    buffers: list = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        view = buffer.raw()
        if out_of_band_bytes is None or view.nbytes < out_of_band_bytes:
            return True  # in band
        buffers.append(view)
        return False

    for pickler in (CloudPickler,) if by_value else (_Pickler, CloudPickler):
        out = io.BytesIO()
        buffers.clear()
        try:
            pickler(out, protocol=5, buffer_callback=out_of_band).dump(obj)
            return out.getvalue(), buffers
        except (pickle.PicklingError, AttributeError, TypeError):
            if pickler is CloudPickler:
                raise
    raise AssertionError("unreachable")


def pack(key: bytes, kind: str, body=None, **header) -> list:
    """The frames of one signed message; ``body`` is any picklable object."""
    pickled, buffers = dumps(body, OUT_OF_BAND_BYTES)
    frames = [json.dumps({"kind": kind, **header}).encode(), pickled]
    frames += buffers
    return [_signature(key, frames)] + frames


def send(socket: zmq.Socket, key: bytes, kind: str, body=None, *, to: bytes | None = None, **header) -> int:
    """Send one signed message (to the peer ``to`` on a ROUTER socket); returns its size in bytes."""
    frames = pack(key, kind, body, **header)
    send_frames(socket, ([to] if to is not None else []) + frames)
    return sum(memoryview(f).nbytes for f in frames)


def send_frames(socket: zmq.Socket, frames: list) -> None:
    """Send a multipart message: large frames without a copy, small ones copied (a zero-copy frame
    costs more than copying a few kilobytes)."""
    last = len(frames) - 1
    for i, frame in enumerate(frames):
        socket.send(frame, zmq.SNDMORE if i < last else 0, copy=memoryview(frame).nbytes < OUT_OF_BAND_BYTES)


def unpack(key: bytes, frames: list, source: str = "a peer"):
    """``(header, body)`` of a received message, or None when it is not ours: too short, unsigned or
    wrongly signed (logged and dropped unread)."""
    if len(frames) < 3:
        log.warning("rdarray: dropped a truncated message (%d frames) from %s", len(frames), source)
        return None
    views = [f.buffer if isinstance(f, zmq.Frame) else f for f in frames]
    expected = _signature(key, views[1:])
    if not hmac.compare_digest(bytes(views[0]), expected):
        log.warning("rdarray: dropped a message with a missing or wrong signature from %s", source)
        return None
    try:
        header = json.loads(bytes(views[1]))
        body = pickle.loads(views[2], buffers=views[3:])
    except Exception as exc:  # signed by us, so only a bug gets here; never crash the loop
        log.error("rdarray: could not read a signed message from %s: %r", source, exc)
        return None
    if not isinstance(header, dict) or "kind" not in header:
        log.warning("rdarray: dropped a message without a kind from %s", source)
        return None
    return header, body


def receive(socket: zmq.Socket, key: bytes, routed: bool = False):
    """The next good message waiting on ``socket``: ``(sender or None, header, body, bytes)``, or
    None when nothing is waiting. Messages that are not ours are dropped (and logged) on the way."""
    while True:
        try:
            frames = socket.recv_multipart(flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        sender = None
        if routed:
            sender, frames = bytes(frames[0].buffer), frames[1:]
        found = unpack(key, frames, repr(sender) if sender is not None else "the driver")
        if found is not None:
            return (sender,) + found + (sum(f.buffer.nbytes for f in frames),)
