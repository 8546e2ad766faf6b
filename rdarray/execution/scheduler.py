"""The scheduler: runs a plan's stages in order on an executor and collects the targets."""

from __future__ import annotations

from ..lineage import ShuffleDependency
from ..plan.planner import Plan
from .task import StageRunner


def execute(plan: Plan, executor, store) -> dict[int, list]:
    """Run ``plan``; returns the partitions of every target node, by node id.

    An output of a stage is kept only until the last stage reading it has run.
    """
    target_ids = {t.id for t in plan.targets}
    readers: dict[int, int] = {}
    for stage in plan.stages:
        for node in stage.inputs:
            readers[node.id] = readers.get(node.id, 0) + 1
    results: dict[int, list] = {}
    for stage in plan.stages:
        runner = StageRunner(stage, results, store)
        rows = executor.run_stage(runner)
        for k, node in enumerate(stage.outputs):
            if node.persist_level is None:  # persisted outputs are read from the block store
                results[node.id] = [row[k] for row in rows]
        for node in stage.inputs:
            readers[node.id] -= 1
            if readers[node.id] == 0 and node.id not in target_ids:
                results.pop(node.id, None)
    _release_shuffles(plan, store)
    return {t.id: results[t.id] if t.id in results else _read_in_place(t, store) for t in plan.targets}


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
    return [store.get(node.id, p) for p in range(node.npartitions)]
