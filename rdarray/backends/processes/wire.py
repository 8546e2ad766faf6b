"""The wire format between the driver and the worker processes, and between workers.

A message is a list of ZeroMQ frames: ``[signature, header, body, *buffers]``. The header is a
small JSON object: its ``kind``, who sent it (``src``), to whom (``dst``), a sequence number
(``seq``, counted per sender and receiver) and a few numbers of its kind. The body is a pickle
(protocol 5) whose arrays travel out of band as the ``buffers`` frames: sent straight from
NumPy's memory and received as arrays over the frames' memory, with no copy on either side. The
signature is HMAC-SHA256, under the context's random key, of every other frame.

A message is read only when its signature is right, it is addressed to the receiver, and its
sequence number is fresh: above all those seen from its sender, or within :data:`WINDOW` below
the highest and not seen before (a message packed by one thread may be sent after one packed
later by another). Anything else, a replayed message among them, is dropped before its body is
unpickled. Dropped messages are counted and logged sparingly (:class:`Drops`), and a receiver
stops reading after :data:`DROPS_IN_A_ROW` of them to do its other work: a flood of them fills
neither the disk nor the receiver's time. Frames larger than the receiver's limit never reach Python: the
sockets are made with ``zmq.MAXMSGSIZE`` (see :func:`new_context`), and ZeroMQ drops the
connection of a peer that sends one.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import io
import json
import logging
import pickle
import threading
import time
from itertools import count

import cloudpickle
import zmq

from ...storage.frame import exact_reduction

log = logging.getLogger("rdarray")

#: arrays smaller than this travel inside the pickle: a frame of their own costs more than a copy
OUT_OF_BAND_BYTES = 1 << 16
#: how far below the highest sequence number seen from a sender a message may still arrive
WINDOW = 1024
#: seconds between two log lines about dropped messages of one reason
DROP_LOG_INTERVAL = 10.0
#: bad messages a receiver drops in a row before it returns to its other work (heartbeats, tasks)
DROPS_IN_A_ROW = 256
#: the name of the driver on the wire (a worker's is a random token the driver gives it)
DRIVER = "driver"

_REASONS = {"truncated": "a truncated message", "signature": "a message with a missing or wrong signature",
            "header": "a signed message with an unreadable header", "misaddressed": "a message meant for another",
            "replayed": "a replayed or stale message", "body": "a signed message that could not be read"}


class MessageTooLarge(ValueError):
    """A message has a frame over the configured ``max_frame_bytes``: its receiver would drop it."""


class Drops:
    """Dropped messages: counted, and logged at most once per reason every ``interval`` seconds,
    with a summary of those not logged one by one."""

    def __init__(self, interval: float = DROP_LOG_INTERVAL):
        self.interval = interval
        self.total = 0
        self._lock = threading.Lock()
        self._logged: dict[str, float] = {}
        self._unlogged: collections.Counter = collections.Counter()
        self._summarized = time.monotonic()

    def __call__(self, reason: str, source: str, detail: str = "") -> None:
        now = time.monotonic()
        with self._lock:
            self.total += 1
            if now - self._logged.get(reason, -self.interval) >= self.interval:
                self._logged[reason] = now
                log.warning("rdarray: dropped %s from %s%s", _REASONS[reason], source, detail)
            else:
                self._unlogged[reason] += 1
        self.flush()

    def flush(self) -> None:
        """Log how many were dropped unlogged, once ``interval`` seconds passed since the last such line."""
        now = time.monotonic()
        with self._lock:
            if not self._unlogged or now - self._summarized < self.interval:
                return
            counts, self._unlogged = self._unlogged, collections.Counter()
            self._summarized = now
        log.warning("rdarray: dropped %d more messages in the last %.0f s: %s", sum(counts.values()), self.interval,
                    ", ".join(f"{n} x {_REASONS[reason]}" for reason, n in counts.most_common()))


def new_key() -> bytes:
    """A random signing key for one context."""
    import secrets

    return secrets.token_bytes(32)


def new_name() -> str:
    """A worker's name, and its ZeroMQ identity: random, so that nobody takes it first."""
    import secrets

    return secrets.token_hex(16)


def new_context(max_frame_bytes: int | None) -> zmq.Context:
    """A ZeroMQ context whose sockets refuse frames over ``max_frame_bytes`` before reading them."""
    context = zmq.Context()
    if max_frame_bytes is not None:
        context.setsockopt(zmq.MAXMSGSIZE, max_frame_bytes)
    return context


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


def send_frames(socket: zmq.Socket, frames: list, track: bool = False) -> list:
    """Send a multipart message: large frames without a copy, small ones copied (a zero-copy frame
    costs more than copying a few kilobytes). With ``track``, the ``zmq.MessageTracker`` of each
    frame sent without a copy: ZeroMQ holds on to its memory until the tracker is done."""
    last = len(frames) - 1
    trackers = []
    for i, frame in enumerate(frames):
        copy = memoryview(frame).nbytes < OUT_OF_BAND_BYTES
        tracker = socket.send(frame, zmq.SNDMORE if i < last else 0, copy=copy, track=track and not copy)
        if tracker is not None:
            trackers.append(tracker)
    return trackers


class Endpoint:
    """One end of the wire, named ``name``: signs what it sends, and reads what is signed with the
    same key, addressed to it and fresh. Safe to share between threads."""

    def __init__(self, key: bytes, name: str, max_frame_bytes: int | None = None):
        self.key = key
        self.name = name
        self.max_frame_bytes = max_frame_bytes
        self.drops = Drops()
        self._lock = threading.Lock()
        self._sent: dict[str, count] = {}
        self._seen: dict[str, tuple[int, int]] = {}  # sender -> (highest seq, bit i: highest - i seen)

    def pack(self, dst: str, kind: str, body=None, **header) -> list:
        """The frames of one signed message to ``dst``; ``body`` is any picklable object."""
        pickled, buffers = dumps(body, OUT_OF_BAND_BYTES)
        if self.max_frame_bytes is not None:
            largest = max([len(pickled)] + [view.nbytes for view in buffers])
            if largest > self.max_frame_bytes:
                raise MessageTooLarge(f"a {kind!r} message has a frame of {largest} bytes, over rd.config."
                                      f"max_frame_bytes ({self.max_frame_bytes}): make partitions smaller, or "
                                      f"raise the limit before making the Context")
        with self._lock:
            counter = self._sent.setdefault(dst, count(1))
            seq = next(counter)
        frames = [json.dumps({"kind": kind, "src": self.name, "dst": dst, "seq": seq, **header}).encode(), pickled]
        frames += buffers
        return [_signature(self.key, frames)] + frames

    def send(self, socket: zmq.Socket, dst: str, kind: str, body=None, *, route: bytes | None = None,
             trackers: list | None = None, **header) -> int:
        """Send one signed message (through the peer ``route`` on a ROUTER socket); returns its size.
        Given a list of ``trackers``, the trackers of the frames sent without a copy join it."""
        frames = self.pack(dst, kind, body, **header)
        frames_out = ([route] if route is not None else []) + frames
        if trackers is None:
            send_frames(socket, frames_out)
        else:
            trackers += send_frames(socket, frames_out, track=True)
        return sum(memoryview(f).nbytes for f in frames)

    def unpack(self, frames: list, source: str = "a peer"):
        """``(header, body)`` of a received message, or None when it is not one to read: too short,
        unsigned or wrongly signed, meant for another, or replayed (dropped unread)."""
        if len(frames) < 3:
            self.drops("truncated", source, f" ({len(frames)} frames)")
            return None
        views = [f.buffer if isinstance(f, zmq.Frame) else f for f in frames]
        if not hmac.compare_digest(bytes(views[0]), _signature(self.key, views[1:])):
            self.drops("signature", source)
            return None
        try:
            header = json.loads(bytes(views[1]))
        except (ValueError, RecursionError):  # not JSON, or nested too deep
            header = None
        if not (isinstance(header, dict) and isinstance(header.get("kind"), str) and isinstance(header.get("src"), str)
                and type(header.get("seq")) is int):
            self.drops("header", source)
            return None
        if header.get("dst") != self.name:
            self.drops("misaddressed", source)
            return None
        if not self._fresh(header["src"], header["seq"]):
            self.drops("replayed", source)
            return None
        try:
            body = pickle.loads(views[2], buffers=views[3:])
        except Exception as exc:  # signed by us, so only a bug gets here; never crash the loop
            self.drops("body", source, f": {exc!r}")
            return None
        return header, body

    def _fresh(self, src: str, seq: int) -> bool:
        """Whether ``seq`` from ``src`` is seen for the first time (and not too far behind)."""
        with self._lock:
            top, seen = self._seen.get(src, (0, 0))
            if seq > top:
                seen = ((seen << min(seq - top, WINDOW)) | 1) & ((1 << WINDOW) - 1)
                top = seq
            else:
                behind = top - seq
                if behind >= WINDOW or seen >> behind & 1:
                    return False
                seen |= 1 << behind
            self._seen[src] = (top, seen)
            return True

    def receive(self, socket: zmq.Socket, routed: bool = False, source: str = "the driver"):
        """The next good message waiting on ``socket``: ``(sender or None, header, body, bytes)``, or
        None when nothing is waiting, or after dropping ``DROPS_IN_A_ROW`` messages that are not to
        read (the socket stays readable: the caller's next poll returns at once)."""
        for _ in range(DROPS_IN_A_ROW):
            try:
                frames = socket.recv_multipart(flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return None
            sender = None
            if routed:
                sender, frames = bytes(frames[0].buffer), frames[1:]
            found = self.unpack(frames, repr(sender) if sender is not None else source)
            if found is not None:
                return (sender,) + found + (sum(f.buffer.nbytes for f in frames),)
        return None
