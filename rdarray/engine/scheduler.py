"""The scheduler: runs a plan's stages in order on an executor and collects the targets.

When blocks a stage reads were lost with a worker (processes backend), the stage is *repaired*:
a plan for just the lost nodes runs first (the tasks whose persisted outputs survive are skipped,
so only lost work is recomputed from lineage), then the stage runs again.

Under a memory limit, a stage output that later stages read waits for them in the block store
(where tasks run in this process: threads and sync), so it counts against the limit and spills
like a persisted partition instead of being held on the side.

A partial plan (one that ends at decisions, ``Plan.decisions``: a join side whose size was unknown)
is run, then each decision is made from the measures of the nodes it measured (gathered here: a
rows and bytes pair per partition), and the rest is planned again with the decisions fixed and
what has been computed so far read as inputs, until a plan ends with the targets.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from ..errors import ClosedError, WorkerLostError
from ..graph.lineage import ShuffleDependency, decision_of, labels
from ..plan.planner import Plan, build_plan
from ..storage.blocks import BlockStore
from ..storage.store import Store
from .executor import BlocksLost, Executor
from .runner import StageRunner

#: repairs of one stage before its lost blocks are given up (``WorkerLostError``)
MAX_REPAIRS = 3


def execute(plan: Plan, executor: Executor, store: Store, collect: bool = True, progress=None) -> dict[int, list]:
    """Run ``plan``; returns the partitions of every target node, by node id (nothing unless
    ``collect``). Finished tasks are reported to ``progress`` (a :class:`Progress`), if given.

    An output of a stage is kept only until the last stage reading it has run.
    """
    try:
        return _execute(plan, executor, store, collect, progress)
    finally:
        if progress is not None:
            progress.close()


def _execute(plan: Plan, executor, store, collect: bool, progress) -> dict[int, list]:
    results: dict[int, Any] = {}
    try:
        first = 0
        while True:
            _run(plan, executor, store, progress, results, first)
            if not plan.decisions:
                break
            _decide(plan, executor, results)
            plan = build_plan(plan.targets, store.has_all, frozenset(results))
            first = progress.add(plan) if progress is not None else 0
            wanted = {t.id for t in plan.targets} | {t.id for t in plan.kept} | {
                n.id for s in plan.stages for n in s.inputs}
            for node_id in [k for k in results if k not in wanted]:
                _release(results.pop(node_id))
    finally:
        for value in results.values():
            _release(value)
        for node in plan.transient:  # map outputs of pruned rows: a later plan may need other fields
            with contextlib.suppress(ClosedError):
                store.drop(node.id)
    if not collect:
        return {}
    return {t.id: executor.gather(results[t.id]) if t.id in results
            else _repairing(functools.partial(_read_in_place, t, store), executor, store) for t in plan.targets}


def _run(plan: Plan, executor, store, progress, results: dict, first: int) -> None:
    """Run the stages of ``plan``; ``results`` holds the partitions of earlier plans' outputs it
    reads, and gets those of its outputs, each kept until the last stage reading it has run (the
    targets, and what a partial plan keeps for the next, are kept). ``first``: the index of its first
    stage in ``progress``."""
    target_ids = {t.id for t in plan.targets}
    kept = target_ids | {t.id for t in plan.kept}
    readers: dict[int, int] = {}
    for stage in plan.stages:
        for node in stage.inputs:
            readers[node.id] = readers.get(node.id, 0) + 1
    measures = {m.id for node in plan.decisions for m in decision_of(node).measures.values()}
    waiting = [n for s in plan.stages for n in s.inputs] + [m for m in plan.kept if m.id not in measures]
    held = frozenset(n.id for n in waiting if n.persist_level is None and n.id not in target_ids) \
        if _holds_outputs(store) else frozenset()
    for index, stage in enumerate(plan.stages):
        reporter = progress.stage(first + index) if progress is not None else None
        runner = functools.partial(StageRunner, stage, results, store, reporter, held)  # a new one for each try
        rows = _repairing(lambda: executor.run_stage(runner()), executor, store)  # noqa: B023  (run at once)
        for k, node in enumerate(stage.outputs):
            if node.id in held:
                results[node.id] = _Held(store, node)
            elif node.persist_level is None:  # persisted outputs are read from the block store
                results[node.id] = [row[k] for row in rows]
        for node in stage.inputs:
            readers[node.id] -= 1
            if readers[node.id] == 0 and node.id not in kept:
                _release(results.pop(node.id, None))
    _release_shuffles(plan, store)


def _decide(plan: Plan, executor, results: dict) -> None:
    """Make the decisions a partial plan ends at, from the measures it computed."""
    for node in plan.decisions:
        decision = decision_of(node)
        measures = {name: executor.gather(results.pop(size.id)) for name, size in decision.measures.items()}
        decision.decide(node, measures)


def _holds_outputs(store) -> bool:
    """Whether stage outputs wait for their readers in the block store: one with a memory limit,
    used by the tasks themselves (not a backend's view of its workers' stores)."""
    return isinstance(store, BlockStore) and store.memory_limit is not None


class _Held:
    """The partitions of a stage output kept in the block store for the stages that read it."""

    def __init__(self, store: BlockStore, node):
        self.store = store
        self.node = node

    def __getitem__(self, p: int):
        block = self.store.get(self.node.id, p)
        if block is None and not self.store.has(self.node.id, p):
            raise BlocksLost([self.node])
        return block

    def __len__(self) -> int:
        return self.node.npartitions


def _release(value) -> None:
    """Free a stage output nothing reads any more (its blocks, when it is held in the store)."""
    if isinstance(value, _Held):
        value.store.drop(value.node.id)


def _repairing(run, executor, store):
    """``run()``, recomputing lost blocks and trying again when it raises ``BlocksLost``."""
    for _ in range(MAX_REPAIRS):
        try:
            return run()
        except BlocksLost as lost:
            execute(build_plan(lost.nodes, store.has_all), executor, store, collect=False)
    try:
        return run()
    except BlocksLost as lost:
        raise WorkerLostError(f"blocks of {labels(lost.nodes)} were lost with "
                              f"workers {MAX_REPAIRS + 1} times; giving up") from None


def _release_shuffles(plan: Plan, store) -> None:
    """Drop the map outputs of shuffles read by a node that is now persisted whole: later plans
    read that node, so the buckets would only hold memory (lineage can still rebuild them)."""
    for stage in plan.stages:
        for node in stage.nodes:
            if node.persist_level is not None and store.has_all(node):
                for dep in node.dependencies:
                    if isinstance(dep, ShuffleDependency):
                        store.drop(dep.parent.id)


def _read_in_place(node, store) -> list:
    """Partitions of a target kept nowhere else: a cheap source or a persisted node."""
    if node.cheap:
        return [node.func(p) for p in range(node.npartitions)]
    blocks = [store.get(node.id, p) for p in range(node.npartitions)]
    if any(b is None for b in blocks):
        raise BlocksLost([node])
    return blocks
