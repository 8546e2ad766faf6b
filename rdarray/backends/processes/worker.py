"""A worker process of the ``processes`` backend.

Two threads. The *I/O thread* (the process's main thread) owns the sockets: a DEALER to the
driver, a ROUTER on which other workers (and the driver) fetch blocks of this worker's block
store, and an in-process socket on which the task thread hands over its replies. It serves
fetches at once, even while a task runs, so two workers reading each other's shuffle outputs
never wait on each other. The *task thread* runs one task or call at a time: it fetches the
blocks the task reads from their workers directly, runs the stage's :class:`StageRunner` over
them, keeps persisted outputs in this worker's block store and sends the rest back.

The I/O thread tells the driver it is alive every ``heartbeat`` seconds, whatever the task thread
does: it waits on its sockets without the GIL, and a task running Python code lets go of the GIL
every few milliseconds. (A task inside one C call that holds the GIL silences it; the driver
then looks at the CPU time this process uses to tell it from a hung one.)

The worker exits when the driver says so, and by itself when the driver process is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import queue
import signal
import sys
import threading
import time
from itertools import count

import zmq

from ...engine.runner import StageRunner
from ...storage.blocks import BlockStore, value_bytes
from ...storage.buckets import Buckets
from ...storage.frame import Encoded, decoded
from . import wire

log = logging.getLogger("rdarray")

#: seconds between two checks that the driver process is alive
PARENT_CHECK = 0.5
#: seconds between two checks that frames being sent are gone (and count no more)
SENDING_CHECK = 0.01


class _Recorder:
    """The worker's block store, noting what one task stores so the driver learns where it is (a
    ``TaskStore``, a ``LimitedStore`` under a memory limit)."""

    def __init__(self, store: BlockStore):
        self.store = store
        self.stored: list = []

    def get(self, node_id: int, p: int):
        return self.store.get(node_id, p)

    def has_all(self, node) -> bool:
        return self.store.has_all(node)

    def put(self, node, p: int, block) -> None:
        self.store.put(node, p, block)
        self.stored.append((node.id, p, int(getattr(block, "nbytes", 0)),
                            block.sizes() if isinstance(block, Buckets) else None))

    def __getattr__(self, name: str):  # the rest (memory_limit, reserve, block_bytes) is the store's
        return getattr(self.store, name)


class _Persisted:
    """What the block store needs to know of a node it has no copy of."""

    def __init__(self, node_id: int, level: str):
        self.id = node_id
        self.persist_level = level


class _Fetched(dict):
    """Blocks a task reads, by partition (or bucket): those that came as frames stay compressed
    until the task reads them, and are decoded then (``dict.get`` gives them as they are held)."""

    def __getitem__(self, key):
        return decoded(super().__getitem__(key))


class PeerLost(Exception):
    """Blocks a task reads could not be fetched: their worker died or no longer holds them."""

    def __init__(self, missing: list):
        super().__init__(missing)
        self.missing = missing


def read_block(store: BlockStore, node_id: int, j: int, bucket, encoded: bool = False):
    """``(found, block or bucket of it)`` from the local store. With ``encoded``, a block kept
    compressed (spilled, or persisted ``compressed``) comes as its stored frame, to send as it is:
    fewer bytes, and no decoding here."""
    if encoded:
        frame = store.get_encoded(node_id, j, bucket)
        if frame is not None:
            return True, Encoded(frame)
    block = store.get(node_id, j)
    if block is None:
        return False, None
    return True, block if bucket is None else block[bucket]


class Worker:
    def __init__(self, config: dict):
        self.wid = config["wid"]
        self.wire = wire.Endpoint(config["key"], config["name"], config["max_frame_bytes"])
        self.parent = config["parent"]
        self.heartbeat = config["heartbeat"]
        self.store = BlockStore(config["memory_limit"], config["spill_dir"], drop_with_nodes=False)
        self.zmq = wire.new_context(config["max_frame_bytes"])
        self.driver = self.zmq.socket(zmq.DEALER)
        self.driver.setsockopt(zmq.IDENTITY, self.wire.name.encode())
        self.driver.setsockopt(zmq.LINGER, 1000)
        self.driver.connect(config["driver"])
        self.peers = self.zmq.socket(zmq.ROUTER)
        self.peers.setsockopt(zmq.LINGER, 0)
        self.address = f"tcp://127.0.0.1:{self.peers.bind_to_random_port('tcp://127.0.0.1')}"
        self.outbox = self.zmq.socket(zmq.PULL)
        self.outbox.bind(f"inproc://outbox-{self.wid}")
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.dead_peers: set[str] = set()
        self.sending: list = []  # (ZeroMQ trackers, reservation) of fetch answers being sent

    # -- I/O thread -------------------------------------------------------------------------------
    def serve(self) -> None:
        threading.Thread(target=self.run_tasks, name="rdarray-task", daemon=True).start()
        self.wire.send(self.driver, wire.DRIVER, "hello", wid=self.wid, peer=self.address)
        poller = zmq.Poller()
        for socket in (self.driver, self.peers, self.outbox):
            poller.register(socket, zmq.POLLIN)
        beat = time.monotonic()
        try:
            while os.getppid() == self.parent:
                wait = SENDING_CHECK if self.sending else min(PARENT_CHECK, self.heartbeat)
                events = dict(poller.poll(int(wait * 1000)))
                if time.monotonic() - beat >= self.heartbeat:
                    self.wire.send(self.driver, wire.DRIVER, "alive")
                    beat = time.monotonic()
                self.wire.drops.flush()
                self.release_sent()
                if self.outbox in events:
                    while True:
                        try:
                            wire.send_frames(self.driver, self.outbox.recv_multipart(zmq.NOBLOCK, copy=False))
                        except zmq.Again:
                            break
                if self.peers in events:
                    while (message := self.wire.receive(self.peers, routed=True)) is not None:
                        self.answer(self.peers, *message)
                if self.driver in events:
                    while (message := self.wire.receive(self.driver)) is not None:
                        if not self.handle(*message):
                            return
        finally:
            self.store.clear()
            os._exit(0)  # the task thread may be inside a user function; do not wait for it

    def handle(self, _, header: dict, body, nbytes: int) -> bool:
        """A message from the driver; False when it says stop."""
        kind = header["kind"]
        if kind in ("task", "call", "forget"):
            self.tasks.put((header, body))
        elif kind == "fetch":
            self.answer(self.driver, None, header, body)
        elif kind == "drop":
            for node_id in body:
                self.store.drop(node_id)
        elif kind == "peer-lost":
            self.dead_peers.add(header["peer"])
        elif kind == "stop":
            return False
        return True

    def answer(self, socket, sender, header: dict, body, nbytes: int = 0) -> None:
        """Serve a fetch: the blocks (or buckets of them) asked for, each with a found flag; or the
        MessageTooLarge error that sending them would be."""
        if header["kind"] != "fetch":
            return
        try:
            blocks = [read_block(self.store, node_id, j, bucket, encoded=True) for node_id, j, bucket in body]
        except Exception:  # e.g. a spill file gone: the asker recomputes, this worker lives on
            log.exception("rdarray: worker %d could not read blocks it was asked for", self.wid)
            blocks = [(False, None)] * len(body)
        reply = {"route": sender, "request": header["request"]}
        trackers: list = []
        try:
            self.wire.send(socket, header["src"], "blocks", blocks, trackers=trackers, **reply)
        except wire.MessageTooLarge as exc:
            self.wire.send(socket, header["src"], "blocks", exc, **reply)
            return
        held = sum(len(block.frame) if isinstance(block, Encoded) else value_bytes(block) for _, block in blocks)
        if trackers and held and self.store.memory_limit is not None:
            # the frames count against the limit until ZeroMQ has sent them (read back from a spill
            # file, they are memory of their own); the task thread's next reservation spills for them
            sending = contextlib.ExitStack()
            sending.enter_context(self.store.reserve(held, spill=False))
            self.sending.append((trackers, sending))

    def release_sent(self) -> None:
        """Stop counting the frames ZeroMQ has sent."""
        if self.sending:
            done = [(t, s) for t, s in self.sending if all(tracker.done for tracker in t)]
            for item in done:
                self.sending.remove(item)
                item[1].close()

    # -- task thread ------------------------------------------------------------------------------
    def run_tasks(self) -> None:
        out = self.zmq.socket(zmq.PUSH)
        out.connect(f"inproc://outbox-{self.wid}")
        self.peer_sockets: dict[str, zmq.Socket] = {}
        self.requests = count()
        self.runners: dict[int, StageRunner] = {}
        self.kept: dict[int, dict] = {}  # per job: the blocks every task of it reads (broadcast values)
        recorder = _Recorder(self.store)
        while True:
            header, body = self.tasks.get()
            kind = header["kind"]
            if kind == "forget":
                self.runners.pop(header["job"], None)
                self.kept.pop(header["job"], None)
                continue
            try:
                frames = self.run_call(header, body) if kind == "call" else self.run_task(header, body, recorder)
            except Exception as exc:  # a bug of ours: report it rather than leave the driver waiting
                log.exception("rdarray: worker %d failed to run a %s", self.wid, kind)
                frames = self.failure("call-failed" if kind == "call" else "failed", exc,
                                  **{k: header[k] for k in ("call", "job", "p") if k in header}, stored=[])
            wire.send_frames(out, frames)
            del frames, body

    def failure(self, kind: str, exc: BaseException, **header) -> list:
        """A reply carrying ``exc``; one that cannot be pickled is described in a RuntimeError."""
        try:
            return self.wire.pack(wire.DRIVER, kind, exc, **header)
        except Exception:
            import traceback

            text = "".join(traceback.format_exception(exc))
            return self.wire.pack(wire.DRIVER, kind, RuntimeError(
                f"a worker raised an exception that cannot be sent back:\n{text}"), **header)

    def run_call(self, header: dict, body) -> list:
        fn, args, kwargs = body
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            return self.failure("call-failed", exc, call=header["call"])
        try:
            return self.wire.pack(wire.DRIVER, "call-done", result, call=header["call"])
        except Exception as exc:
            return self.failure("call-failed", exc, call=header["call"])

    def run_task(self, header: dict, body, recorder: _Recorder) -> list:
        job, p = header["job"], header["p"]
        if body["stage"] is not None:
            self.runners[job] = StageRunner(pickle.loads(body["stage"]), {}, recorder)
            self.kept[job] = {}
        runner, kept = self.runners[job], self.kept[job]
        inputs = {node_id: _Fetched(blocks) for node_id, blocks in kept.items()}
        for node_id, blocks in body["inline"].items():
            for j, block in blocks.items():
                inputs.setdefault(node_id, _Fetched())[j] = _Fetched(block) if isinstance(block, dict) else block
        runner.inputs = inputs
        # the decoded size of what is fetched comes with the task: the room for it is reserved
        # before it arrives, and blocks spill for it first
        sizes = {(node_id, j, bucket): nbytes for node_id, j, bucket, _, nbytes in body["remote"] if nbytes is not None}
        try:
            with runner.reservation(p, sizes):
                return self._run_reserved(job, p, body, runner, kept, inputs, recorder)
        finally:
            runner.inputs = {}

    def _run_reserved(self, job: int, p: int, body, runner: StageRunner, kept: dict, inputs: dict,
                      recorder: _Recorder) -> list:
        try:
            fetched = self.fetch(body["remote"])
        except PeerLost as lost:
            return self.wire.pack(wire.DRIVER, "lost", lost.missing, job=job, p=p)
        for (node_id, j, bucket), block in fetched:
            if bucket is None:
                inputs.setdefault(node_id, _Fetched())[j] = block
            else:
                blocks = inputs.setdefault(node_id, _Fetched())
                dict.setdefault(blocks, j, _Fetched())[bucket] = block
        del fetched
        for node_id, j, _ in body["keep"]:  # read by every task of the job: decoded once
            block = inputs[node_id][j]
            dict.__setitem__(inputs[node_id], j, block)
            kept.setdefault(node_id, {})[j] = block
        recorder.stored = []
        for node_id, j, level in body["store"]:  # persisted partitions of the driver's arrays
            recorder.put(_Persisted(node_id, level), j, inputs[node_id][j])
        try:
            outputs = runner.run(p, reserved=True)
            stored = {key[:2] for key in recorder.stored}
            recorder.stored += [(o.id, p, 0, self.store.bucket_sizes(o.id, p))
                                for o in runner.stage.outputs  # kept here by an earlier task
                                if o.persist_level is not None and (o.id, p) not in stored and self.store.has(o.id, p)]
            return self.wire.pack(wire.DRIVER, "done", (outputs, recorder.stored), job=job, p=p)
        except BaseException as exc:
            return self.failure("failed", exc, job=job, p=p, stored=recorder.stored)

    def fetch(self, wanted: list) -> list:
        """``[(key, block)]`` for every ``(node id, partition, bucket, peer, decoded size)`` wanted:
        from this worker's store (peer None) or by one request to each worker holding some (a peer
        is its ``(address, name)``). Blocks kept compressed come as their frames (``Encoded``)."""
        found: list = []
        by_peer: dict[tuple, list] = {}
        for node_id, j, bucket, peer, *_ in wanted:
            key = (node_id, j, bucket)
            if peer is None:
                ok, block = read_block(self.store, *key, encoded=True)
                if not ok:
                    raise PeerLost([key[:2]])
                found.append((key, block))
            else:
                by_peer.setdefault(tuple(peer), []).append(key)
        waiting = {}
        for (address, name), keys in by_peer.items():
            socket = self.peer_sockets.get(address)
            if socket is None:
                socket = self.peer_sockets[address] = self.zmq.socket(zmq.DEALER)
                socket.setsockopt(zmq.LINGER, 0)
                socket.connect(address)
            request = next(self.requests)
            self.wire.send(socket, name, "fetch", keys, request=request)
            waiting[socket] = (address, keys, request)
        poller = zmq.Poller()
        for socket in waiting:
            poller.register(socket, zmq.POLLIN)
        while waiting:
            for socket, _ in poller.poll(100):
                message = self.wire.receive(socket, source=f"the worker at {waiting.get(socket, ('?',))[0]}")
                if message is None or socket not in waiting:
                    continue
                _, header, blocks, _ = message
                address, keys, request = waiting[socket]
                if header.get("request") != request:
                    continue  # the answer to an abandoned request
                if isinstance(blocks, Exception):
                    raise blocks
                missing = [key[:2] for key, (ok, _) in zip(keys, blocks) if not ok]
                if missing:
                    raise PeerLost(missing)
                found.extend((key, block) for key, (_, block) in zip(keys, blocks))  # decoded when read
                del waiting[socket]
                poller.unregister(socket)
            lost = [key[:2] for address, keys, _ in waiting.values() if address in self.dead_peers for key in keys]
            if lost:
                for address in {a for a, _, _ in waiting.values() if a in self.dead_peers}:
                    self.peer_sockets.pop(address).close()
                raise PeerLost(lost)
        return found


def main(config: dict | None = None) -> None:
    """The entry point of a worker process (``python -m rdarray.backends.processes``), given its
    configuration by the driver on standard input."""
    if config is None:
        config = json.loads(sys.stdin.read())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    logging.basicConfig(format="%(message)s")
    sys.path[:] = config["path"]  # the driver's: modules of pickled functions import the same way
    config["key"] = bytes.fromhex(config["key"])
    Worker(config).serve()
