"""The shuffle: a map stage writes each partition's rows into one bucket per target partition, and
each task of the reduce stage reads its bucket from every map output.

The map side is a node whose partition ``j`` is the :class:`~rdarray.storage.buckets.Buckets` of
partition ``j``; the reduce side reads them through a :class:`ShuffleDependency`. The planner cuts
the plan there, so the map side fuses with the narrow chain before it, and the reduce side with
what follows. Map outputs live in the block store: they spill under a memory limit, and a later
plan needing the same shuffle reads them instead of running the map stage again.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..graph.lineage import VALUE, Node, ShuffleDependency
from ..storage.blocks import trim_heap
from ..storage.buckets import Buckets
from ..table import Table
from .partitioners import key_fields

#: a small array in more partitions than this is shuffled from (and sorted or grouped into) this
#: many; its map outputs times the targets of a shuffle stay under this number squared
KEEP_PARTITIONS = 16
#: partition lengths are computed first, when unknown, for a shuffle of more partitions than this
LEARN_LENGTHS_ABOVE = 1024


#: a reduce's output of at least this many bytes gives the memory of its pieces back to the system
TRIM_BYTES = 1 << 20


def _concatenate(pieces: list[np.ndarray]) -> np.ndarray:
    """The default reduce: a partition's buckets in map-partition order. The pieces go as soon as
    they are copied (the list is the reduce's own), and the heap they lived in is trimmed, so that
    a worker's memory falls back before its next task."""
    out = np.concatenate(pieces)
    pieces.clear()
    if out.nbytes >= TRIM_BYTES:
        trim_heap()
    return out


def buckets(block: np.ndarray, targets: np.ndarray, npartitions: int) -> Buckets:
    """The rows of ``block`` grouped by target partition, keeping their order within a bucket
    (a table's fields scattered one by one: each a sequential read)."""
    from .hashing import scatter

    if isinstance(block, Table):
        columns, offsets = {}, None
        for name, column in block.columns.items():
            columns[name], offsets = scatter(column, targets, npartitions)
        if offsets is not None:
            return Buckets(Table(block.dtype, columns), offsets)
    return Buckets(*scatter(block, targets, npartitions))


def map_side(parent: Node, partitioner, op: str) -> Node:
    """The node whose partition ``j`` is partition ``j`` of ``parent`` in buckets, kept in the
    block store."""
    n = partitioner.npartitions
    deps = partitioner.dependencies(parent)
    keys = key_fields(partitioner.key)

    def write(p, block, *values):
        return buckets(block, partitioner.assign(p, block, *values), n)

    def uses(used):  # the fields the buckets carry, and the key that places them
        return [None if used is None else used | keys] + [None] * (len(deps) - 1)

    node = Node(f"{op}:write", write, deps, parent.npartitions, VALUE, (), None,
                pass_index=True, detail=f"to {n} partitions", uses=uses)
    node.persist_level = "memory"
    return node


def shuffle(node: Node, partitioner, op: str, reduce: Callable[[list[np.ndarray]], np.ndarray] | None = None,
            detail: str = "", dtype=None, trailing=None, uses=None) -> Node:
    """The reduce side of a shuffle: ``node``'s rows moved to the partitions ``partitioner.assign``
    names.

    Parameters
    ----------
    node : Node
        The rows to move (the map side reads it one-to-one).
    partitioner : HashPartitioner or RangePartitioner
        Gives the map side its dependencies and each row its target partition.
    op, detail : str
        The label of the nodes in plans.
    reduce : callable, optional
        ``reduce(buckets) -> ndarray``: one output partition from its bucket of every map output
        (by default the buckets concatenated in map-partition order).
    dtype, trailing : optional
        Of the output partitions (by default ``node``'s).
    uses : callable, optional
        ``Node.uses`` of the reduce side: which fields of ``node`` it reads given the fields read
        of its output (by default: those, when ``reduce`` is the concatenation; all otherwise).

    Returns
    -------
    Node
        Partition ``q`` is ``reduce`` of bucket ``q`` of every map output; nothing is computed.
    """
    read = reduce or _concatenate
    if uses is None and reduce is None:
        def uses(used):
            return [used]
    return Node(op, read, [ShuffleDependency(map_side(node, partitioner, op))], partitioner.npartitions,
                node.dtype if dtype is None else np.dtype(dtype),
                node.trailing if trailing is None else tuple(trailing), None, partitioner=partitioner, detail=detail,
                uses=uses)
