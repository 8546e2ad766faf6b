"""The ``dask`` backend: the tasks of each stage run as futures on a dask.distributed cluster.

Partitions stay on the dask workers. A stage's outputs are futures, handed to the tasks of later
stages that read them (dask moves the data from worker to worker); persisted partitions are futures
the context's :class:`DaskStore` holds until the array is unpersisted or dropped. A shuffle's map
output is cut into one future per bucket by a small task on the worker that holds it, so a reduce
task receives its own buckets only. Only the results asked for are gathered to the client.

Lost work is dask's to recompute: every future has its task graph down to the sources, and the
partitions of this process's arrays (``from_numpy``) travel inside the tasks that provide them.

A hung worker (stopped, or stuck without its event loop) keeps its tasks until the scheduler's
``worker-ttl`` (5 minutes by default) gives it up. So while any future rdarray hands out or waits
on is pending (a computation's results, and every ``ctx.submit`` future), a watchdog thread asks
the scheduler every sixth of ``rd.config.heartbeat_timeout`` for the workers silent for half of
it, and reads each one's CPU time through its nanny (``psutil``, in the nanny's process). A
worker silent for the whole timeout whose process used no CPU meanwhile (stopped, or blocked) is
killed by its nanny, which starts another; its tasks run elsewhere and its data is recomputed.
One whose CPU time advanced is computing (a task holding the GIL also silences the event loop)
and is spared, with a warning. A worker without a nanny gives no CPU figure: silence alone
decides, and it is removed from the scheduler. What runs on the scheduler and the nannies
(``dask_remote.py``) travels by value, so they need not have rdarray installed; a scheduler that
cannot run it all the same is left to its own ``worker-ttl``, with a warning.
"""

from __future__ import annotations

import collections
import logging
import operator
import pickle
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any

import cloudpickle

from ..config import config
from ..engine.executor import Executor
from ..engine.runner import StageRunner
from ..errors import WorkerLostError
from ..graph.lineage import Node
from ..storage.frame import Encoded, decoded, travelling
from ..storage.store import Catalog
from . import dask_remote
from .dask_remote import kill_worker, restart_workers, silent_workers, worker_cpu
from .shipping import pickle_stage, task_reads

log = logging.getLogger("rdarray")

# the scheduler and the nannies run these without importing rdarray (it need not be installed there)
cloudpickle.register_pickle_by_value(dask_remote)

#: unpickled stages kept by each dask worker process, by token
_STAGES: collections.OrderedDict[str, object] = collections.OrderedDict()
_STAGES_KEPT = 32
_STAGES_LOCK = threading.Lock()


class _Capture:
    """A task's block store on a dask worker (a ``TaskStore``): keeps what the stage persists, to
    return it."""

    memory_limit: int | None = None  # the dask workers account for their own memory

    def __init__(self):
        self.blocks: dict[tuple[int, int], object] = {}

    def get(self, node_id: int, p: int):
        return self.blocks.get((node_id, p))

    def has_all(self, node) -> bool:
        return False

    def put(self, node, p: int, block) -> None:
        self.blocks[(node.id, p)] = block


def _stage(token: str, blob: bytes):
    with _STAGES_LOCK:
        stage = _STAGES.get(token)
        if stage is None:
            stage = _STAGES[token] = pickle.loads(blob)
            while len(_STAGES) > _STAGES_KEPT:
                _STAGES.popitem(last=False)
        return stage


def _returned(stage) -> list[Node]:
    """The nodes whose partitions a task returns: the stage's outputs, then the persisted nodes
    computed inside it (their futures are what keeps them)."""
    outputs = {o.id for o in stage.outputs}
    return list(stage.outputs) + [n for n in stage.nodes if n.persist_level is not None and n.id not in outputs]


#: a silent worker whose process used at least this share of one CPU meanwhile is computing
BUSY_CPU_SHARE = 0.01


class _Watchdog:
    """Kills hung workers while futures are pending (see the module's docstring).

    Futures are handed to :meth:`watch`; a daemon thread, started on first use, checks the workers
    every sixth of the timeout while any of them is not done, and sleeps otherwise."""

    def __init__(self, client, timeout: float):
        self.client = client
        self.timeout = timeout
        self._pending: list = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._samples: dict[str, tuple[int, float, float]] = {}  # worker: (pid, monotonic, cpu seconds)
        self._spared: set[str] = set()  # silent workers found computing (warned of once)

    def watch(self, futures) -> None:
        with self._cond:
            if self._closed:
                return
            self._pending.extend(f for f in futures if not f.done())
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rdarray-dask-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._pending = [f for f in self._pending if not f.done()]
                if not self._pending and not self._closed:
                    self._samples.clear()
                    self._spared.clear()
                    self._cond.wait()
                    continue
                if not self._closed:
                    self._cond.wait(self.timeout / 6)
                if self._closed:
                    return
            try:
                self.check()
            except Exception as exc:
                if self._closed or self.client.status in ("closing", "closed"):
                    return
                log.warning("rdarray: the dask scheduler cannot check for hung workers (%r); its worker-ttl "
                            "will", exc)
                self.close()
                return

    def check(self) -> None:
        """One look at the workers: sample the CPU time of those silent for half the timeout, and
        kill those silent for all of it without using CPU since their last sample."""
        timeout = self.timeout
        silent = self.client.run_on_scheduler(silent_workers, timeout / 2, callback_timeout=timeout)
        for address in set(self._samples) - set(silent):
            self._samples.pop(address, None)
            self._spared.discard(address)
        nannied = [a for a, (_, nanny) in silent.items() if nanny]
        try:
            cpus = self.client.sync(self.client._run, worker_cpu, workers=nannied, nanny=True, on_error="return",
                                    callback_timeout=timeout) if nannied else {}
        except Exception as exc:  # a worker gone meanwhile, a nanny slow to answer: look again next time
            log.debug("rdarray: no CPU times from the dask nannies of %s: %r", nannied, exc)
            return
        now = time.monotonic()
        kill, restart = [], []
        for address, (silence, _) in silent.items():
            reading = cpus.get(address)
            if not isinstance(reading, (tuple, list)):  # no nanny, or it could not say: silence decides
                if silence > timeout:
                    restart.append(address)
                continue
            pid, cpu = reading
            before = self._samples.get(address)
            if before is None or before[0] != pid:
                self._samples[address] = (pid, now, cpu)
                continue
            _, then, used = before
            if silence <= timeout or now - then < timeout / 2:
                continue
            if cpu - used >= BUSY_CPU_SHARE * (now - then):
                if address not in self._spared:
                    self._spared.add(address)
                    log.warning("rdarray: dask worker %s sent no heartbeat for %.0f s but is computing (a task "
                                "holding the GIL?); not restarting it", address, silence)
                self._samples[address] = (pid, now, cpu)
            else:
                kill.append((address, pid, silence))
        for address, pid, silence in kill:
            log.warning("rdarray: dask worker %s (pid %d) sent no heartbeat for %.0f s and used no CPU; "
                        "killing it", address, pid, silence)
            self._samples.pop(address, None)
            done = self.client.sync(self.client._run, kill_worker, pid, workers=[address], nanny=True,
                                    on_error="return", callback_timeout=timeout)
            if done.get(address) is not True and done.get(address) is not False:
                restart.append(address)
        if restart:
            log.warning("rdarray: dask workers %s sent no heartbeat for %g s; restarting them",
                        ", ".join(restart), timeout)
            self.client.run_on_scheduler(restart_workers, restart, callback_timeout=timeout)


def run_task(token: str, blob: bytes, p: int, keys: list, *values):
    """Task ``p`` of a stage, on a dask worker: the partitions of the nodes it returns (one value,
    or a tuple when there are several)."""
    stage = _stage(token, blob)
    inputs: dict[int, dict] = {}
    for (node_id, j, bucket), value in zip(keys, values):
        value = decoded(value)
        if bucket is None:
            inputs.setdefault(node_id, {})[j] = value
        else:
            inputs.setdefault(node_id, {}).setdefault(j, {})[bucket] = value
    kept = _Capture()
    outputs = StageRunner(stage, inputs, kept).run(p)
    returned = _returned(stage)
    values = tuple(travelling(kept.blocks[(n.id, p)] if n.persist_level is not None else v)
                   for n, v in zip(returned, outputs + (None,) * (len(returned) - len(outputs))))
    return values[0] if len(values) == 1 else values


def _bucket(buckets, q: int, compress: bool):
    """Bucket ``q`` of a map output; as a compressed frame when it travels over a network and
    compressing pays."""
    return Encoded.if_smaller(buckets[q]) if compress else travelling(buckets[q])


def _source(block):
    return travelling(block)


class DaskStore(Catalog):
    """The context's store on the dask backend (a ``Store``): the futures of persisted partitions
    (its entries), of their shuffle buckets, and of this process's source partitions sent to the
    cluster."""

    def __init__(self, executor: DaskExecutor):
        super().__init__()
        self._executor = executor
        self._derived: dict[tuple, Any] = {}  # buckets and sources, by (node id, partition, bucket)

    def put(self, node: Node, p: int, future) -> None:
        self.keep(node, p, future)

    def future(self, node_id: int, p: int, bucket: int | None = None):
        """The future of a persisted partition, or of one of its buckets (made on first use)."""
        with self._lock:
            future = self.entry(node_id, p)
            if future is None or bucket is None:
                return future
            derived = self._derived.get((node_id, p, bucket))
            if derived is None:
                derived = self._derived[(node_id, p, bucket)] = self._executor.bucket(future, bucket)
            return derived

    def source(self, node: Node, j: int):
        """The future of partition ``j`` of one of this process's arrays, sent once."""
        with self._lock:
            future = self._derived.get((node.id, j, "source"))
            if future is None:
                self.watch(node)
                future = self._derived[(node.id, j, "source")] = self._executor.task("source", _source,
                                                                                     travelling(node.func(j)))
            return future

    def forget_failed(self) -> None:
        """Drop the futures of partitions whose tasks failed (or were cancelled)."""
        failed = ("error", "cancelled")
        with self._lock:  # over copies: a finalizer may drop entries while the loops run
            self.forget_where(lambda f: f.status in failed)
            for key, f in self._derived.copy().items():
                if f.status in failed:
                    self._derived.pop(key, None)

    def get(self, node_id: int, p: int):
        """The block, gathered to this process; None when it is not kept."""
        future = self.entry(node_id, p)
        return None if future is None else self._executor.gather([future])[0]

    @property
    def memory_bytes(self) -> int:
        return 0  # the dask workers account for their own memory

    def drop(self, node_id: int) -> None:
        """Release every future of a node: the cluster frees what nothing else needs."""
        with self._lock:
            self.pop(node_id)
            for key in [k for k in self._derived.copy() if k[0] == node_id]:
                self._derived.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            super().clear()
            self._derived.clear()


class DaskExecutor(Executor):
    backend = "dask"

    def __init__(self, client=None, address: str | None = None):
        try:
            from distributed import Client
        except ImportError:
            raise ImportError("the dask backend needs dask.distributed: pip install 'rdarray[dask]'") from None
        if (client is None) == (address is None):
            raise ValueError("Context(backend='dask'): give client=Client(...) or address='tcp://...', one of them")
        self.heartbeat_timeout: float | None = config.heartbeat_timeout
        self._own_client = client is None
        self.client = Client(address) if client is None else client
        workers = self.client.scheduler_info().get("workers", {})
        self.workers = max(1, len(workers))
        #: buckets are compressed when workers talk over a network, not over loopback only
        self.remote = any(not address.startswith(("tcp://127.", "inproc://")) for address in workers)
        self.store = DaskStore(self)
        self._watchdog: _Watchdog | None = None
        self._watchdog_lock = threading.Lock()

    def run_stage(self, runner) -> list:
        """Submit the stage's tasks and return their futures at once: dask runs the stages of a
        plan as their inputs become ready, and an error surfaces when the results are gathered."""
        stage = runner.stage
        token, blob = uuid.uuid4().hex, pickle_stage(stage)
        reads = [task_reads(stage, p) for p in range(stage.npartitions)]
        uses = collections.Counter(key for r in reads for key in r)
        addresses = sorted(self.client.scheduler_info().get("workers", {}))
        tasks = []
        for p in range(stage.npartitions):
            keys, values = [], []
            # a task that reads only what every task reads (a broadcast value) has no place of its
            # own: left to dask, all of them would run where that value is
            spread = {"workers": [addresses[p % len(addresses)]], "allow_other_workers": True} \
                if addresses and all(uses[key] > 1 for key in reads[p]) else {}
            for key, node in reads[p].items():
                node_id, j, bucket = key
                if node_id in runner.inputs:
                    value = runner.inputs[node_id][j]
                    if bucket is not None:
                        value = self.bucket(value, bucket)
                elif node.cheap:
                    value = self.store.source(node, j)
                else:
                    value = self.store.future(node_id, j, bucket)
                    if value is None:
                        raise RuntimeError(f"dask backend: partition {j} of {node.label} is not on the cluster")
                keys.append(key)
                values.append(value)
            tasks.append(self.task(f"stage{stage.id}-{p}", run_task, token, blob, p, keys, *values, **spread))
            if runner.progress is not None:  # sizes stay on the workers: only tasks are counted
                tasks[-1].add_done_callback(lambda _: runner.progress.task_done())
        returned = _returned(stage)
        rows = []
        for p, task in enumerate(tasks):
            handles = [task] if len(returned) == 1 else [
                self.task("output", operator.getitem, task, k)
                for k in range(len(returned))]
            for node, handle in zip(returned, handles):
                if node.persist_level is not None:
                    self.store.put(node, p, handle)
            rows.append(tuple(None if node.persist_level is not None else h
                              for node, h in zip(stage.outputs, handles)))
        return rows

    def task(self, kind: str, fn, *args, **options):
        """A dask future of ``fn(*args)``, under a key of its own naming what it is."""
        return self.client.submit(fn, *args, pure=False, key=f"rdarray-{kind}-{uuid.uuid4().hex}", **options)

    def bucket(self, buckets, q: int):
        """The future of bucket ``q`` of a map output's future, cut on the worker holding it."""
        return self.task("bucket", _bucket, buckets, q, self.remote)

    def gather(self, blocks: list) -> list:
        try:
            self._wait(blocks)
            return [decoded(b) for b in self.client.gather(blocks)]
        except BaseException as exc:
            self.store.forget_failed()  # a persisted partition whose task failed is computed again later
            from distributed.scheduler import KilledWorker

            if isinstance(exc, KilledWorker):
                raise WorkerLostError(f"dask backend: a task kept killing its workers: {exc}") from exc
            raise

    def _wait(self, blocks: list) -> None:
        """Wait until ``blocks`` are computed (or failed), the watchdog restarting hung workers
        meanwhile."""
        from distributed import futures_of
        from distributed.client import _wait

        futures = futures_of(blocks)
        self._watch(futures)
        # distributed.wait itself would look for a default client, which a user may not have
        self.client.sync(_wait, futures)

    def _watch(self, futures) -> None:
        if self.heartbeat_timeout is None:
            return
        with self._watchdog_lock:
            if self._watchdog is None:
                self._watchdog = _Watchdog(self.client, self.heartbeat_timeout)
        self._watchdog.watch(futures)

    def run_tasks(self, fn, n):
        futures = [self.client.submit(fn, i, pure=False) for i in range(n)]
        self._wait(futures)
        return self.client.gather(futures)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        remote = self.client.submit(fn, *args, pure=False, **kwargs)
        future.set_running_or_notify_cancel()

        def settle(done):
            try:
                future.set_result(done.result())
            except BaseException as exc:
                future.set_exception(exc)
        remote.add_done_callback(settle)
        future._remote = remote  # type: ignore[attr-defined]  # keeps the dask future (and its result on the cluster) alive
        self._watch([remote])  # whoever waits on it, a hung worker must not hold it for ever
        return future

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.close()
        self.store.clear()
        if self._own_client:
            self.client.close()
