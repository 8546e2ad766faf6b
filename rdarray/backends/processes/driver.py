"""The ``processes`` backend: the tasks of each stage run on local worker processes over ZeroMQ.

The driver starts ``workers`` fresh interpreters (``python -m rdarray.backends.processes``; the
signing key reaches them on a private pipe, never on a command line) and talks to them through
one ROUTER socket owned by an I/O thread, which also does all the scheduling: the user's thread
hands it a stage (a *job*) or a call and waits on a future.

- A task goes to the worker holding most of the blocks it reads (preferred locations); an idle
  worker takes any other task. Each worker is sent up to ``DEPTH`` tasks ahead.
- Stage outputs that are persisted (shuffle map outputs among them) stay in the block store of
  the worker that made them; the driver only records where (:class:`RemoteStore`). Tasks fetch
  them from that worker directly. Other outputs come back to the driver.
- A worker that dies is replaced. Its running tasks are retried elsewhere (a task that took
  ``MAX_ATTEMPTS`` workers down with it fails with ``WorkerLostError``); blocks it held are
  recomputed from lineage when a task needs them (the scheduler's repair, on ``BlocksLost``).
- A worker silent for ``rd.config.heartbeat_timeout`` seconds (its I/O thread says it is alive
  every sixth of that), or not started after ``START_TIMEOUT``, is hung: it is killed, and lost
  as above. Unless it is computing: a task inside one C call that holds the GIL silences the I/O
  thread too, so a silent worker that used at least ``BUSY`` of a CPU meanwhile (Linux: its
  ``/proc`` times) is given another timeout instead; a stopped or blocked one uses none.
- Workers that fail to start are started again after a back-off (doubling from ``BACKOFF[0]`` up
  to ``BACKOFF[1]`` seconds); after ``START_FAILURES`` in a row the backend gives up: everything
  waiting, and everything asked of it later, fails with a ``WorkerLostError`` that says why (the
  last one's exit and error output). The pool never shrinks silently.
- A worker's name (its ZeroMQ identity) is a random token that reaches it with the key; the
  driver reads only messages signed with the key, from the identity they name as their sender.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from itertools import count
from typing import Any

import cloudpickle
import zmq

from ...config import config
from ...engine.executor import BlocksLost, Executor
from ...errors import ClosedError, WorkerLostError
from ...storage.frame import decoded
from ...storage.store import Catalog
from ..shipping import pickle_stage, task_reads
from . import wire

log = logging.getLogger("rdarray")

DEPTH = 2  # tasks sent ahead to each worker, so it does not wait for the driver between two
MAX_ATTEMPTS = 3  # workers a task may take down with it before it is given up
START_TIMEOUT = 60.0  # seconds for a worker to start (to say hello)
START_FAILURES = 5  # workers in a row that fail to start before the backend gives up
BACKOFF = (0.2, 5.0)  # seconds before starting workers again after one failed to start: first, most
STDERR_TAIL = 2000  # bytes of a worker's error output kept, to say why it failed
TICK = 0.1  # seconds between two checks that the workers are alive
BUSY = 0.01  # share of a CPU a silent worker uses that says it is computing (a stopped one uses none)
_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: how a worker process is started; it reads its settings (key included) on its standard input
WORKER_COMMAND = [sys.executable, "-m", "rdarray.backends.processes"]


class _Worker:
    """The driver's handle on one worker process."""

    def __init__(self, wid: int, process: subprocess.Popen, name: str):
        self.wid = wid
        self.process = process
        self.name = name
        self.identity = name.encode()
        self.peer: str | None = None  # its fetch address, once it said hello
        self.running: dict[tuple, Any] = {}  # ("task", job, p) -> (job, p); ("call", id) -> _Call
        self.seen = time.monotonic()  # its last sign of life: its start, or its last message
        self.cpu = (self.seen, _cpu_seconds(process.pid))  # when, and its CPU time then
        self.why: str | None = None  # why the driver killed it
        self.stderr = process.stderr  # passed on to this process's, by the I/O thread
        self.tail = b""  # the end of its error output


class _Job:
    """The tasks of one stage, as the I/O thread schedules them."""

    def __init__(self, jid: int, runner, store: RemoteStore):
        stage = runner.stage
        self.id = jid
        self.stage = stage
        self.inputs = runner.inputs
        self.reads = [task_reads(stage, p) for p in range(stage.npartitions)]
        self.nodes = {n.id: n for n in stage.nodes} | {n.id: n for r in self.reads for n in r.values()}
        self.blob = pickle_stage(stage)  # raises a TypeError naming what cannot be pickled
        self.future: Future = Future()
        self.results: list = [None] * stage.npartitions
        uses = collections.Counter(key for reads in self.reads for key in reads)
        self.shared = {key for key, n in uses.items() if n > 1}  # read by several tasks: sent once a worker
        self.shared_with: dict[int, set] = collections.defaultdict(set)
        self.persisted = [o for o in stage.outputs if o.persist_level is not None]
        kept = len(self.persisted) == len(stage.outputs)
        self.pending = [p for p in range(stage.npartitions)
                        if not (kept and all(store.has(o.id, p) for o in stage.outputs))]
        self.preferred = {p: _preferred(self.reads[p], store) for p in self.pending}
        self.progress = runner.progress
        if self.progress is not None:
            for _ in range(stage.npartitions - len(self.pending)):  # kept from an earlier plan
                self.progress.task_done()
        self.running = 0
        self.attempts: collections.Counter = collections.Counter()
        self.sent_to: set[int] = set()  # workers that hold the pickled stage

    @property
    def failed(self) -> bool:
        return self.future.done()


def _preferred(reads: dict, store: RemoteStore):
    """The worker holding most of the blocks a task reads, or None."""
    holders = collections.Counter(store.location(node_id, j) for node_id, j, _ in reads)
    holders.pop(None, None)
    return holders.most_common(1)[0][0] if holders else None


class _Call:
    """One ``submit``: the pickled call and its future."""

    def __init__(self, cid: int, payload, future: Future):
        self.id = cid
        self.payload = payload
        self.future = future
        self.attempts = 0


class RemoteStore(Catalog):
    """The driver's view of the workers' block stores (a ``Store``): which worker holds each
    persisted partition, and its size (entries ``(worker id, bytes, bucket sizes or None)``).
    Blocks are fetched from their worker when the driver itself needs them."""

    def __init__(self, executor: ProcessesExecutor, memory_limit: int | None):
        super().__init__()
        self._executor = executor
        self.memory_limit = memory_limit

    def record(self, node, p: int, wid: int, nbytes: int, sizes: list[int] | None = None) -> None:
        """Partition ``p`` of ``node`` is kept by worker ``wid``: ``nbytes`` decoded, and, of a
        shuffle's map output, ``sizes``: each bucket's decoded size."""
        self.keep(node, p, (wid, nbytes, sizes))

    def location(self, node_id: int, p: int) -> int | None:
        entry = self.entry(node_id, p)
        return None if entry is None else entry[0]

    def block_bytes(self, node_id: int, p: int, bucket: int | None = None) -> int | None:
        """The decoded size of a kept block, as its worker said (of its bucket ``bucket``, for a
        map output), or None when no worker holds it."""
        entry = self.entry(node_id, p)
        if entry is None:
            return None
        _, nbytes, sizes = entry
        return sizes[bucket] if bucket is not None and sizes is not None else nbytes

    def get(self, node_id: int, p: int):
        """The block, fetched from its worker; None when no worker holds it."""
        wid = self.location(node_id, p)
        if wid is None:
            return None
        ok, block = self._executor.fetch(wid, [(node_id, p, None)])[0]
        if not ok:
            self.forget(node_id, p)
            return None
        return decoded(block)

    @property
    def memory_bytes(self) -> int:
        with self._lock:
            return sum(nbytes for places in self._entries.values() for _, nbytes, _ in places.values())

    def forget_worker(self, wid: int) -> None:
        self.forget_where(lambda entry: entry[0] == wid)

    def drop(self, node_id: int) -> None:
        """Forget every block of a node, and tell the workers to free them."""
        if self.pop(node_id):
            self._executor.command("drop", [node_id])


class ProcessesExecutor(Executor):
    backend = "processes"

    def __init__(self, workers: int, memory_limit: int | None = None, spill_dir: str | None = None):
        self.workers = workers
        self.key = wire.new_key()
        self.heartbeat_timeout = config.heartbeat_timeout
        self.max_frame_bytes = config.max_frame_bytes
        self.wire = wire.Endpoint(self.key, wire.DRIVER, self.max_frame_bytes)
        self.store = RemoteStore(self, memory_limit)
        if spill_dir is not None:
            os.makedirs(spill_dir, exist_ok=True)
        self._spill_root = tempfile.mkdtemp(prefix="rdarray-workers-", dir=spill_dir)
        self._share = None if memory_limit is None else max(1, memory_limit // workers)
        self._zmq = wire.new_context(self.max_frame_bytes)
        self._router = self._zmq.socket(zmq.ROUTER)
        self._router.setsockopt(zmq.LINGER, 0)
        self._address = f"tcp://127.0.0.1:{self._router.bind_to_random_port('tcp://127.0.0.1')}"
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._workers: dict[int, _Worker] = {}
        self._identities: dict[bytes, _Worker] = {}
        self._poller = zmq.Poller()
        self._wids = count()
        self._ids = count()
        self._jobs: dict[int, _Job] = {}
        self._calls: collections.deque[_Call] = collections.deque()
        self._fetches: dict[int, tuple[int, Future]] = {}
        self._start_failures = 0  # in a row
        self._next_start = 0.0  # no worker is started before this time (a back-off)
        self._broken: WorkerLostError | None = None  # why the backend gave up
        self.bytes_sent = 0  # to the workers: tasks, and the partitions of this process's arrays
        self.bytes_received = 0  # from the workers: results, and blocks the driver asked for
        self._started = threading.Event()
        self._closing = False
        self._closing_lock = threading.RLock()  # no command slips in after "stop", or writes to a closed pipe
        self._thread = threading.Thread(target=self._serve, name="rdarray-driver", daemon=True)
        self._thread.start()
        self._started.wait()  # every worker said hello, or the backend gave up
        if self._broken is not None:
            self.close()
            raise self._broken

    # -- the user's threads -------------------------------------------------------------------------
    def command(self, *command) -> None:
        """Hand a command to the I/O thread."""
        with self._closing_lock:
            if self._closing:
                if command[0] == "drop":
                    return  # a node garbage collected after close: its blocks are gone already
                raise ClosedError()
            self._commands.put(command)
            os.write(self._wake_write, b"!")

    def run_stage(self, runner) -> list:
        job = _Job(next(self._ids), runner, self.store)
        self.command("job", job)
        return _wait(job.future, lambda: self.command("cancel", job))

    def run_tasks(self, fn, n):
        futures = [self.submit(fn, i) for i in range(n)]
        return [_wait(f, f.cancel) for f in futures]

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            payload = wire.dumps((fn, args, kwargs), by_value=True)[0]
        except Exception as exc:
            raise TypeError(f"submit: {getattr(fn, '__name__', fn)!r} or its arguments cannot be sent to a "
                            f"worker process: {exc}") from exc
        call = _Call(next(self._ids), payload, future)
        self.command("call", call)
        return future

    def worker_pids(self) -> dict[int, int]:
        """The process id of every live worker, by worker number."""
        return {wid: w.process.pid for wid, w in list(self._workers.items())}

    def fetch(self, wid: int, keys: list) -> list:
        """``[(found, block)]`` for ``(node id, partition, bucket)`` keys held by worker ``wid``."""
        future: Future = Future()
        self.command("fetch", wid, keys, future)
        return future.result()

    def close(self) -> None:
        with self._closing_lock:
            if self._closing:
                return
            self.command("stop")  # the lock is re-entrant
            self._closing = True  # from here on, commands are refused
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(10)
        for worker in list(self._workers.values()):
            try:
                worker.process.wait(2)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            if worker.stderr is not None:
                worker.stderr.close()
        self._zmq.destroy(linger=0)
        os.close(self._wake_read)
        os.close(self._wake_write)
        shutil.rmtree(self._spill_root, ignore_errors=True)

    # -- the I/O thread -----------------------------------------------------------------------------
    def _serve(self) -> None:
        poller = self._poller
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._wake_read, zmq.POLLIN)
        try:
            self._replenish()
            while True:
                events = dict(poller.poll(int(TICK * 1000)))
                looked = time.monotonic()  # every message sent before this is read below
                if self._router in events:
                    while (message := self.wire.receive(self._router, routed=True)) is not None:
                        self._handle(*message)
                for worker in list(self._workers.values()):
                    if worker.stderr is not None and worker.stderr.fileno() in events:
                        self._pass_stderr(worker)
                if self._wake_read in events:
                    try:
                        os.read(self._wake_read, 1 << 16)
                    except BlockingIOError:
                        pass
                while True:
                    try:
                        command = self._commands.get_nowait()
                    except queue.Empty:
                        break
                    if command[0] == "stop":
                        self._stop()
                        return
                    self._obey(*command)
                    del command  # an idle driver must not keep the last job (its stage, its inputs) alive
                self._check_workers(looked)
                self._replenish()
                self._dispatch()
                self.wire.drops.flush()
        except BaseException as exc:  # a bug: fail everything waiting rather than hang it
            log.exception("rdarray: the processes backend's I/O thread failed")
            self._broken = WorkerLostError(f"processes backend: the driver's I/O thread failed: {exc!r}")
            self._fail_all(exc)
            self._started.set()

    def _check_workers(self, looked: float) -> None:
        """Lose the workers that died; kill those silent for too long (hung, or stuck starting)
        when this thread last looked for their messages, at ``looked``: a driver busy elsewhere
        meanwhile takes no worker for hung."""
        for worker in list(self._workers.values()):
            if worker.process.poll() is not None:
                self._lost(worker)
                continue
            limit, what = ((self.heartbeat_timeout, "sent no heartbeat") if worker.peer is not None
                           else (START_TIMEOUT, "did not start"))
            if worker.why is None and looked - worker.seen > limit:
                then, cpu = worker.cpu
                now = _cpu_seconds(worker.process.pid)
                if cpu is not None and now is not None and now - cpu >= BUSY * (looked - then):
                    log.warning("rdarray: worker %d (pid %d) sent no heartbeat for %.0f s, but it is computing "
                                "(a task holding the GIL?); waiting for it", worker.wid, worker.process.pid,
                                looked - worker.seen)
                    worker.seen = looked
                    worker.cpu = (looked, now)
                    continue
                worker.why = f"it {what} for {limit:g} s (killed as hung)"
                log.warning("rdarray: worker %d (pid %d) %s for %g s; killing it", worker.wid, worker.process.pid,
                            what, limit)
                worker.process.kill()

    def _replenish(self) -> None:
        """Start workers until there are ``workers`` of them, unless backing off or given up."""
        if self._broken is None and time.monotonic() >= self._next_start:
            while len(self._workers) < self.workers:
                self._start_worker()

    def _pass_stderr(self, worker: _Worker) -> bool:
        """Pass what a worker wrote to its standard error on to this process's, keeping its end;
        False when there is nothing more to read now."""
        stream = worker.stderr
        if stream is None:
            return False
        try:
            data = os.read(stream.fileno(), 1 << 16)
        except BlockingIOError:
            return False
        if not data:  # the worker is gone
            self._poller.unregister(stream.fileno())
            stream.close()
            worker.stderr = None
            return False
        worker.tail = (worker.tail + data)[-STDERR_TAIL:]
        with contextlib.suppress(Exception):  # e.g. this process's stderr closed at exit
            sys.stderr.write(data.decode(errors="replace"))
            sys.stderr.flush()
        return True

    def _obey(self, kind: str, *args) -> None:
        if self._broken is not None and kind in ("job", "call", "fetch"):
            future = args[-1] if kind == "fetch" else args[0].future
            if not future.done():
                future.set_exception(self._broken)
            return
        if kind == "job":
            (job,) = args
            self._jobs[job.id] = job
            self._finish_if_done(job)
        elif kind == "call":
            self._calls.append(args[0])
        elif kind == "cancel":
            self._fail(args[0], KeyboardInterrupt())
        elif kind == "fetch":
            wid, keys, future = args
            worker = self._workers.get(wid)
            if worker is None or worker.peer is None:
                future.set_result([(False, None)] * len(keys))
                return
            request = next(self._ids)
            self._fetches[request] = (wid, future)
            self._send(worker, "fetch", keys, request=request)
        elif kind == "drop":
            for worker in self._workers.values():
                self._send(worker, "drop", args[0])

    def _send(self, worker: _Worker, kind: str, body=None, **header) -> None:
        self.bytes_sent += self.wire.send(self._router, worker.name, kind, body, route=worker.identity, **header)

    def _handle(self, sender: bytes, header: dict, body, nbytes: int) -> None:
        worker = self._identities.get(sender)
        if worker is None or header["src"] != worker.name:
            return  # a worker already given up for dead, or a message relayed under another's name
        worker.seen = time.monotonic()
        self.bytes_received += nbytes
        kind = header["kind"]
        if kind == "alive":
            worker.cpu = (worker.seen, _cpu_seconds(worker.process.pid))
        if kind == "hello":
            worker.peer = header["peer"]
            self._start_failures = 0
            if len(self._workers) == self.workers and all(w.peer is not None for w in self._workers.values()):
                self._started.set()
        elif kind in ("done", "failed", "lost"):
            job = self._jobs.get(header["job"])
            item = worker.running.pop(("task", header["job"], header["p"]), None)
            if job is None or item is None:
                return
            job.running -= 1
            if kind == "done":
                outputs, stored = body
                self._record(job, stored, worker)
                if job.progress is not None:
                    job.progress.task_done([(node_id, nbytes) for node_id, _, nbytes, _ in stored])
                if not job.failed:
                    job.results[header["p"]] = outputs
            elif kind == "failed":
                self._record(job, header["stored"], worker)
                self._fail(job, body)
            else:
                for node_id, j in body:
                    if self.store.location(node_id, j) is not None:
                        self.store.forget(node_id, j)
                nodes = {node.id: node for node in job.reads[header["p"]].values()}
                self._fail(job, BlocksLost([nodes[node_id] for node_id in {key[0] for key in body}]))
            self._finish_if_done(job)
        elif kind in ("call-done", "call-failed"):
            call = worker.running.pop(("call", header["call"]), None)
            if call is not None and not call.future.done():
                (call.future.set_result if kind == "call-done" else call.future.set_exception)(body)
        elif kind == "blocks":
            wid, future = self._fetches.pop(header["request"], (None, None))
            if future is not None:
                (future.set_exception if isinstance(body, Exception) else future.set_result)(body)

    def _record(self, job: _Job, stored: list, worker: _Worker) -> None:
        for node_id, p, nbytes, sizes in stored:
            self.store.record(job.nodes[node_id], p, worker.wid, nbytes, sizes)

    def _fail(self, job: _Job, exc: BaseException) -> None:
        if not job.failed:
            job.future.set_exception(exc)
        job.pending.clear()
        self._finish_if_done(job)

    def _finish_if_done(self, job: _Job) -> None:
        """Settle a job once no task of it is pending or running; outputs lost meanwhile (their
        worker died) are computed again first."""
        if job.pending or job.running or job.id not in self._jobs:
            return
        if not job.failed:
            lost = sorted({p for o in job.persisted for p in range(job.stage.npartitions)
                           if not self.store.has(o.id, p)})
            for p in lost:
                job.attempts[p] += 1
                if job.attempts[p] > MAX_ATTEMPTS:
                    return self._fail(job, WorkerLostError(
                        f"stage {job.stage.id}: the output of partition {p} was lost {MAX_ATTEMPTS} times; giving up"))
            if lost:
                job.pending.extend(lost)
                job.preferred.update((p, None) for p in lost)
                return
            job.future.set_result(job.results)
        del self._jobs[job.id]
        for wid in job.sent_to:
            if wid in self._workers:
                self._send(self._workers[wid], "forget", job=job.id)

    def _dispatch(self) -> None:
        """Send each ready worker tasks until it has ``DEPTH`` of them."""
        for depth in range(DEPTH):
            for worker in list(self._workers.values()):
                if worker.peer is None or len(worker.running) > depth:
                    continue
                if self._calls:
                    self._send_call(worker, self._calls.popleft())
                    continue
                picked = self._pick(worker)
                if picked is not None:
                    self._send_task(worker, *picked)

    def _pick(self, worker: _Worker):
        """The next task for ``worker``: one it holds the inputs of, else one nobody holds,
        else any (an idle worker is worse than a remote read)."""
        for job in self._jobs.values():
            if not job.pending:
                continue
            for i, p in enumerate(job.pending):
                where = job.preferred.get(p)
                if where is None or where == worker.wid or where not in self._workers:
                    return job, job.pending.pop(i)
            return job, job.pending.pop(0)
        return None

    def _send_task(self, worker: _Worker, job: _Job, p: int) -> None:
        inline: dict[int, dict] = {}
        remote, missing, keep, store = [], {}, [], []
        has = job.shared_with[worker.wid]
        for key, node in job.reads[p].items():
            node_id, j, bucket = key
            if key in has:
                continue
            if key in job.shared:
                keep.append(key)
            wid = self.store.location(node_id, j)
            if wid in self._workers:  # kept by a worker: shuffle outputs, persisted partitions
                holder = self._workers[wid]
                remote.append((node_id, j, bucket, None if holder is worker else (holder.peer, holder.name),
                               self.store.block_bytes(node_id, j, bucket)))  # the task reserves this first
            elif node_id in job.inputs or node.cheap:  # held by this process
                block = job.inputs[node_id][j] if node_id in job.inputs else node.func(j)
                if bucket is None:
                    inline.setdefault(node_id, {})[j] = block
                else:
                    inline.setdefault(node_id, {}).setdefault(j, {})[bucket] = block[bucket]
                if node.cheap and node.persist_level is not None:
                    store.append((node_id, j, node.persist_level))  # a persisted source: the worker keeps it
            else:
                missing[node_id] = node
        if missing:
            job.pending.insert(0, p)
            self._fail(job, BlocksLost(list(missing.values())))
            return
        body = {"stage": None if worker.wid in job.sent_to else job.blob, "inline": inline, "remote": remote,
                "keep": keep, "store": store}
        try:
            self._send(worker, "task", body, job=job.id, p=p)
        except wire.MessageTooLarge as exc:
            self._fail(job, exc)
            return
        job.sent_to.add(worker.wid)
        has.update(keep)
        worker.running[("task", job.id, p)] = (job, p)
        job.running += 1

    def _send_call(self, worker: _Worker, call: _Call) -> None:
        if call.attempts == 0 and not call.future.set_running_or_notify_cancel():
            return
        try:
            self._send(worker, "call", _Pickled(call.payload), call=call.id)
        except wire.MessageTooLarge as exc:
            call.future.set_exception(exc)
            return
        worker.running[("call", call.id)] = call

    def _lost(self, worker: _Worker) -> None:
        """A worker died: forget what it held, retry what it ran, and start another (after a
        back-off when it died before it started)."""
        del self._workers[worker.wid]
        del self._identities[worker.identity]
        while self._pass_stderr(worker):
            pass
        if worker.stderr is not None:  # its output pipe is still open in a process it started
            self._poller.unregister(worker.stderr.fileno())
            worker.stderr.close()
            worker.stderr = None
        why = worker.why or f"it exited with code {worker.process.returncode}"
        self.store.forget_worker(worker.wid)
        log.warning("rdarray: worker %d (pid %d) is lost: %s; starting another", worker.wid, worker.process.pid, why)
        if worker.peer is not None:
            for other in self._workers.values():
                self._send(other, "peer-lost", peer=worker.peer)
        for key, item in worker.running.items():
            if key[0] == "task":
                job, p = item
                job.running -= 1
                job.attempts[p] += 1
                if job.attempts[p] >= MAX_ATTEMPTS:
                    self._fail(job, WorkerLostError(
                        f"stage {job.stage.id}: the task of partition {p} was running on {MAX_ATTEMPTS} "
                        f"workers that died; giving up (the last one: {why})"))
                elif not job.failed:
                    job.pending.insert(0, p)
            else:
                item.attempts += 1
                if item.attempts >= MAX_ATTEMPTS:
                    item.future.set_exception(WorkerLostError(
                        f"submit: the call was running on {MAX_ATTEMPTS} workers that died; giving up "
                        f"(the last one: {why})"))
                else:
                    self._calls.appendleft(item)
        for request, (wid, future) in list(self._fetches.items()):
            if wid == worker.wid:
                del self._fetches[request]
                future.set_result([(False, None)])
        for job in list(self._jobs.values()):
            self._finish_if_done(job)
        if worker.peer is None:
            self._start_failed(worker, why)

    def _start_failed(self, worker: _Worker, why: str) -> None:
        """Back off before starting workers again; give up after ``START_FAILURES`` in a row."""
        if self._broken is not None:  # another of the same batch: given up already
            return
        self._start_failures += 1
        if self._start_failures < START_FAILURES:
            self._next_start = time.monotonic() + min(BACKOFF[0] * 2 ** (self._start_failures - 1), BACKOFF[1])
            return
        tail = worker.tail.decode(errors="replace").strip()
        self._broken = WorkerLostError(
            f"processes backend: worker processes failed to start {self._start_failures} times in a row; "
            f"the last one: {why}" + (f"; its error output ends with:\n{tail}" if tail else " (no error output)"))
        log.error("rdarray: %s", self._broken)
        self._fail_all(self._broken)
        self._started.set()  # the constructor stops waiting and reports it

    def _start_worker(self) -> None:
        wid, name = next(self._wids), wire.new_name()
        settings = {"wid": wid, "name": name, "key": self.key.hex(), "parent": os.getpid(), "driver": self._address,
                    "memory_limit": self._share, "spill_dir": self._spill_root, "path": sys.path,
                    "heartbeat": self.heartbeat_timeout / 6, "max_frame_bytes": self.max_frame_bytes}
        env = {variable: "1" for variable in _ONE_THREAD}  # one task at a time: no BLAS pools
        if self._share is not None:
            # one malloc arena: freed memory of the task and I/O threads is one heap, which the
            # worker gives back after each task (malloc_trim); per-thread arenas keep theirs
            env["MALLOC_ARENA_MAX"] = "1"
        env |= dict(os.environ)
        process = subprocess.Popen(WORKER_COMMAND, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        stdin = process.stdin
        assert stdin is not None and process.stderr is not None
        stdin.write(json.dumps(settings).encode())  # the key and the name go through this private pipe only
        stdin.close()
        os.set_blocking(process.stderr.fileno(), False)
        self._poller.register(process.stderr.fileno(), zmq.POLLIN)
        self._workers[wid] = self._identities[name.encode()] = _Worker(wid, process, name)

    def _fail_all(self, exc: BaseException) -> None:
        for job in list(self._jobs.values()):
            if not job.failed:
                job.future.set_exception(exc)
        self._jobs.clear()
        for call in self._calls:
            call.future.set_exception(exc)
        self._calls.clear()
        for worker in self._workers.values():
            for key, item in worker.running.items():
                if key[0] == "call" and not item.future.done():
                    item.future.set_exception(exc)
        for _, future in self._fetches.values():
            future.set_exception(exc)
        self._fetches.clear()

    def _stop(self) -> None:
        self._fail_all(ClosedError())
        for worker in self._workers.values():
            self._send(worker, "stop")
        self._router.close(linger=1000)


def _cpu_seconds(pid: int) -> float | None:
    """The CPU time process ``pid`` used so far, in seconds; None where ``/proc`` cannot say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _Pickled:
    """Bytes pickled already, to travel as they are inside a message's body."""

    def __init__(self, payload: bytes):
        self.payload = payload

    def __reduce__(self):
        return cloudpickle.loads, (self.payload,)


def _wait(future: Future, cancel):
    """``future.result()``; on Ctrl-C, ``cancel()`` first. It waits in short steps, so that an
    interrupt that does not break a blocking wait (``_thread.interrupt_main``) is seen too."""
    try:
        while True:
            try:
                return future.result(TICK)
            except TimeoutError:
                if future.done():  # settled meanwhile, or failed with a TimeoutError of its own
                    return future.result()
    except KeyboardInterrupt:
        with contextlib.suppress(RuntimeError):  # closed meanwhile: nothing left to cancel
            cancel()
        raise
