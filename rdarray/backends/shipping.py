"""What a task on another process needs: its stage, pickled without the rest of the lineage, and
the list of partitions it reads from outside the stage.

A stage's nodes travel whole (functions and dependencies). Every other node reachable from them,
through a dependency or a function's closure, travels as a *stub*: its id and shape, no function
and no parents. So a stage pickles to a few kilobytes per node however long its lineage is, and
data held by the driver (``from_numpy``) is never pickled into it: a task is sent the partitions
it reads.

A stage travels as a flat table: each node is pickled on its own, every reference to a node
(a dependency's parent, a node in a closure) written as the node's id, and the nodes are joined up
again after loading. Pickle recurses once per reference it follows, so pickling the chain itself
would fail (``RecursionError``) for a fused chain a few hundred operations deep.
"""

from __future__ import annotations

import io
import pickle

from ..graph.lineage import Node, labels
from ..plan.planner import Stage
from .processes.wire import CloudPickler

#: the attributes a stub keeps: enough for a task to read the node's partitions and know their shape
_STUB_FIELDS = ("id", "op", "detail", "npartitions", "dtype", "trailing", "partition_lengths",
                "align_key", "persist_level")


def _stub_state(node: Node) -> dict:
    state = {name: getattr(node, name) for name in _STUB_FIELDS}
    state.update(func=None, dependencies=(), pass_index=False, cheap=False, in_process=False,
                 partitioner=None, sliceable=False, combine=None, accepts_out=False, decision=None,
                 reads_fields=False)
    return state


class _TablePickler(CloudPickler):
    """Writes each node met as its id (a persistent id), noting the nodes it referred to."""

    def __init__(self, file) -> None:
        super().__init__(file, protocol=5)
        self.referred: dict[int, Node] = {}

    def persistent_id(self, obj):
        if isinstance(obj, Node):
            self.referred[obj.id] = obj
            return obj.id
        return None


class _TableUnpickler(pickle.Unpickler):
    """Reads a node's id as the node of that id: an empty one until its own record is loaded."""

    def __init__(self, file) -> None:
        super().__init__(file)
        self.nodes: dict[int, Node] = {}

    def persistent_load(self, pid):
        node = self.nodes.get(pid)
        if node is None:
            node = self.nodes[pid] = Node.__new__(Node)
        return node


class _Shipped:
    """A stage's table, pickled as a call rebuilding the stage: the receiver just unpickles it."""

    def __init__(self, table: bytes):
        self.table = table

    def __reduce__(self):
        return _load_stage, (self.table,)


def pickle_stage(stage: Stage) -> bytes:
    """``stage`` as bytes for a worker (``pickle.loads`` gives it back): its nodes whole, every
    other node a stub. The table is the stage's head, then lists of ``(id, state)`` records: the
    nodes the head refers to, then those the records before refer to, and so on; then ``[]``."""
    buffer = io.BytesIO()
    pickler = _TablePickler(buffer)
    whole = {n.id for n in stage.nodes}
    batch: list[Node] = []
    try:
        pickler.dump((stage.id, stage.npartitions, stage.outputs, stage.nodes, stage.inputs, stage.fields))
        written: set[int] = set()
        while batch := [n for k, n in pickler.referred.items() if k not in written]:
            pickler.referred.clear()
            written.update(n.id for n in batch)
            pickler.dump([(n.id, _state(n, whole)) for n in batch])
        pickler.dump([])
    except Exception as exc:
        culprit = next((n.label for n in batch if not _picklable(_state(n, whole))), "a function in it")
        raise TypeError(f"stage {stage.id} ({labels(stage.nodes)}) cannot be sent to the worker processes: "
                        f"{culprit} holds something that cannot be pickled: {exc}") from exc
    return pickle.dumps(_Shipped(buffer.getvalue()), protocol=5)


def _picklable(state: dict) -> bool:
    try:
        _TablePickler(io.BytesIO()).dump(state)
    except Exception:
        return False
    return True


def _state(node: Node, whole: set[int]) -> dict:
    """What is pickled of ``node``: all of it for the stage's nodes and for sources any process
    can compute, else a stub."""
    if node.id in whole or (node.cheap and not node.in_process):
        return dict(node.__dict__, partitioner=None, decision=None)  # both reach back into the lineage
    return _stub_state(node)


def _load_stage(table: bytes) -> Stage:
    """The stage :func:`pickle_stage` wrote, its nodes joined up by id."""
    unpickler = _TableUnpickler(io.BytesIO(table))
    stage_id, npartitions, outputs, nodes, inputs, fields = unpickler.load()
    while records := unpickler.load():
        for node_id, state in records:
            unpickler.persistent_load(node_id).__dict__.update(state)
    return Stage(stage_id, npartitions, outputs, nodes, inputs, fields=fields)  # pruned on the worker too


def task_reads(stage: Stage, p: int) -> dict[tuple, Node]:
    """Every partition task ``p`` reads from outside its stage: ``(node id, partition, bucket)`` ->
    node, where ``bucket`` is the shuffle bucket read from a map output (else None). Sources that
    any process can compute (``cheap`` and not ``in_process``) are left out."""
    reads: dict[tuple, Node] = {}
    for _, parent, j, bucket in stage.reads(p):
        if not parent.cheap or parent.in_process:
            reads[(parent.id, j, bucket)] = parent
    return reads
