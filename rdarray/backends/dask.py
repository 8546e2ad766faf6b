"""The ``dask`` backend: the tasks of each stage run as futures on a dask.distributed cluster.

Partitions stay on the dask workers. A stage's outputs are futures, handed to the tasks of later
stages that read them (dask moves the data from worker to worker); persisted partitions are futures
the context's :class:`DaskStore` holds until the array is unpersisted or dropped. A shuffle's map
output is cut into one future per bucket by a small task on the worker that holds it, so a reduce
task receives its own buckets only. Only the results asked for are gathered to the client.

Lost work is dask's to recompute: every future has its task graph down to the sources, and the
partitions of this process's arrays (``from_numpy``) travel inside the tasks that provide them.

A hung worker (stopped, or stuck without its event loop) keeps its tasks until the scheduler's
``worker-ttl`` (5 minutes by default) gives it up. While a computation's results are awaited,
the executor asks the scheduler every sixth of ``rd.config.heartbeat_timeout`` for the workers
that sent no heartbeat for that long, and has them restarted (through their nanny; a worker
without one is removed), just as ``worker-ttl`` would: their tasks run elsewhere, their data is
recomputed. A scheduler that cannot run rdarray's check (rdarray not installed there) is left to
its own ``worker-ttl``, with a warning.
"""

from __future__ import annotations

import collections
import logging
import operator
import pickle
import threading
import uuid
from concurrent.futures import Future
from typing import Any

from ..config import config
from ..engine.executor import Executor
from ..engine.runner import StageRunner
from ..errors import WorkerLostError
from ..graph.lineage import Node
from ..storage.frame import Encoded, decoded, travelling
from ..storage.store import Catalog
from .shipping import pickle_stage, task_reads

log = logging.getLogger("rdarray")

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


async def _restart_silent_workers(timeout: float, dask_scheduler=None) -> list[str]:
    """On the scheduler: restart the workers that sent no heartbeat for ``timeout`` seconds, as
    its ``worker-ttl`` check does; their addresses."""
    import time

    now = time.time()
    silent = [ws.address for ws in dask_scheduler.workers.values() if now - ws.last_seen > timeout]
    if silent:
        await dask_scheduler.restart_workers(silent, wait_for_workers=False, on_error="return",
                                             stimulus_id=f"rdarray-heartbeat-timeout-{now}")
    return silent


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
        """Wait until ``blocks`` are computed (or failed), restarting hung workers meanwhile."""
        from distributed import futures_of
        from distributed.client import _wait

        futures = futures_of(blocks)
        while self.heartbeat_timeout is not None:
            try:  # distributed.wait itself would look for a default client, which a user may not have
                self.client.sync(_wait, futures, timeout=self.heartbeat_timeout / 6)
                return
            except TimeoutError:
                pass
            try:
                silent = self.client.run_on_scheduler(_restart_silent_workers, self.heartbeat_timeout)
            except Exception as exc:
                log.warning("rdarray: the dask scheduler cannot check for hung workers (%r); its worker-ttl "
                            "will", exc)
                self.heartbeat_timeout = None
                return
            if silent:
                log.warning("rdarray: dask workers %s sent no heartbeat for %g s; restarting them",
                            ", ".join(silent), self.heartbeat_timeout)

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
        return future

    def close(self) -> None:
        self.store.clear()
        if self._own_client:
            self.client.close()
