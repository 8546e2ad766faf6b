"""What a task on another process needs: its stage, pickled without the rest of the lineage, and
the list of partitions it reads from outside the stage.

A stage's nodes travel whole (functions and dependencies). Every other node reachable from them,
through a dependency or a function's closure, travels as a *stub*: its id and shape, no function
and no parents. So a stage pickles to a few kilobytes however long its lineage is, and data held
by the driver (``from_numpy``) is never pickled into it: a task is sent the partitions it reads.
"""

from __future__ import annotations

import io

from ..lineage import Node, OneBucket, ShuffleDependency
from ..plan.planner import Stage
from .wire import CloudPickler

#: the attributes a stub keeps: enough for a task to read the node's partitions and know their shape
_STUB_FIELDS = ("id", "op", "detail", "npartitions", "dtype", "trailing", "partition_lengths",
                "align_key", "persist_level")


def _new_node() -> Node:
    return Node.__new__(Node)  # pickle then sets its attributes


def _stub_state(node: Node) -> dict:
    state = {name: getattr(node, name) for name in _STUB_FIELDS}
    state.update(func=None, dependencies=(), pass_index=False, cheap=False, local=False,
                 partitioner=None, row_local=False, merge=None, accepts_out=False)
    return state


class _StagePickler(CloudPickler):
    def __init__(self, file, whole: set[int]):
        super().__init__(file, protocol=5)
        self.whole = whole

    def reducer_override(self, obj):
        if isinstance(obj, Node):
            if obj.id in self.whole or (obj.cheap and not obj.local):
                state = dict(obj.__dict__, partitioner=None)  # partitioners reach back into the lineage
            else:
                state = _stub_state(obj)
            return _new_node, (), state
        return super().reducer_override(obj)


def pickle_stage(stage: Stage) -> bytes:
    """``stage`` as bytes for a worker: its nodes whole, every other node a stub."""
    shipped = Stage(stage.id, stage.npartitions, stage.outputs, stage.nodes, stage.inputs)
    buffer = io.BytesIO()
    try:
        _StagePickler(buffer, {n.id for n in stage.nodes}).dump(shipped)
    except Exception as exc:
        labels = ", ".join(n.label for n in stage.nodes)
        raise TypeError(f"stage {stage.id} ({labels}) cannot be sent to the worker processes: a function "
                        f"in it holds something that cannot be pickled: {exc}") from exc
    return buffer.getvalue()


def task_reads(stage: Stage, p: int) -> dict[tuple, Node]:
    """Every partition task ``p`` reads from outside its stage: ``(node id, partition, bucket)`` ->
    node, where ``bucket`` is the shuffle bucket read from a map output (else None). Sources that
    any process can compute (``cheap`` and not ``local``) are left out."""
    in_stage = {n.id for n in stage.nodes}
    reads: dict[tuple, Node] = {}
    seen: set[tuple[int, int]] = set()
    stack = [(node, p) for node in stage.outputs]
    while stack:
        node, q = stack.pop()
        if (node.id, q) in seen:
            continue
        seen.add((node.id, q))
        for dep in node.dependencies:
            parent = dep.parent
            bucket = dep.bucket if isinstance(dep, OneBucket) else q if isinstance(dep, ShuffleDependency) else None
            for j in dep.parent_partitions(q):
                if parent.id in in_stage:
                    stack.append((parent, j))
                elif not parent.cheap or parent.local:
                    reads[(parent.id, j, bucket)] = parent
    return reads
