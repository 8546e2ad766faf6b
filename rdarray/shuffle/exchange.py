"""The shuffle: a map stage writes each partition's rows into one bucket per target partition, and
each task of the reduce stage reads its bucket from every map output.

The map side is a node whose partition ``j`` is the :class:`~rdarray.storage.buckets.Buckets` of
partition ``j``; the reduce side reads them through a :class:`ShuffleDependency`. The planner cuts
the plan there, so the map side fuses with the narrow chain before it, and the reduce side with
what follows. Map outputs live in the block store: they spill under a memory limit, and a later
plan needing the same shuffle reads them instead of running the map stage again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..lineage import VALUE, Node, ShuffleDependency
from ..storage.buckets import Buckets

#: a small array in more partitions than this is shuffled from (and sorted or grouped into) this
#: many; its map outputs times the targets of a shuffle stay under this number squared
KEEP_PARTITIONS = 16
#: partition lengths are computed first, when unknown, for a shuffle of more partitions than this
LEARN_LENGTHS_ABOVE = 1024


def coalesced(x, targets: int | None = None):
    """``x`` with neighbouring partitions joined (no data moves) into as many as its size calls for
    (as ``from_numpy`` splits an array) or ``KEEP_PARTITIONS``, whichever is more, when that is
    fewer than it has; fewer still when each is to write ``targets`` buckets.

    A shuffle costs a task per map output and a bucket per map output and target, so a small array
    in many partitions would shuffle in time (and bucket tables) quadratic in their number. Lengths
    unknown are computed first when the partitions are very many, else ``x`` is shuffled as it is.
    """
    from ..array.core import default_npartitions, ensure_lengths

    node = x._node
    if node.partition_lengths is None and x.npartitions <= LEARN_LENGTHS_ABOVE:
        return x
    rows = sum(ensure_lengths(node))
    keep = KEEP_PARTITIONS if targets is None else min(KEEP_PARTITIONS, max(1, KEEP_PARTITIONS ** 2 // targets))
    n = max(default_npartitions(rows, x.dtype.itemsize * math.prod(node.trailing)), keep)
    return x.coalesce(n) if n < x.npartitions else x


def buckets(block: np.ndarray, targets: np.ndarray, npartitions: int) -> Buckets:
    """The rows of ``block`` grouped by target partition, keeping their order within a bucket."""
    from .hashing import scatter

    return Buckets(*scatter(block, targets, npartitions))


def map_side(parent: Node, partitioner, op: str) -> Node:
    """The node whose partition ``j`` is partition ``j`` of ``parent`` in buckets, kept in the
    block store."""
    n = partitioner.npartitions

    def write(p, block, *values):
        return buckets(block, partitioner.assign(p, block, *values), n)

    node = Node(f"{op}:write", write, partitioner.dependencies(parent), parent.npartitions, VALUE, (), None,
                pass_index=True, detail=f"to {n} partitions")
    node.persist_level = "memory"
    return node


def shuffle(x, partitioner, op: str, reduce: Callable[[list[np.ndarray]], np.ndarray] | None = None,
            detail: str = "", dtype=None, trailing=None):
    """``x``'s rows moved to the partitions ``partitioner.assign`` names; each output partition is
    ``reduce(buckets)`` (by default the buckets concatenated in map-partition order), of ``dtype``
    and ``trailing`` shape (by default ``x``'s)."""
    from ..array.core import PartitionedArray

    node = x._node
    read = reduce or (lambda pieces: np.concatenate(pieces))
    return PartitionedArray(Node(op, read, [ShuffleDependency(map_side(node, partitioner, op))],
                                 partitioner.npartitions, node.dtype if dtype is None else np.dtype(dtype),
                                 node.trailing if trailing is None else tuple(trailing), None,
                                 partitioner=partitioner, detail=detail))
