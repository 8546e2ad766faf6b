"""The shuffle: a map stage writes each partition's rows into one bucket per target partition, and
each task of the reduce stage reads its bucket from every map output.

The map side is a node whose partition ``j`` is the list of buckets of partition ``j`` (views of
one scattered array); the reduce side reads them through a :class:`ShuffleDependency`. The planner
cuts the plan there, so the map side fuses with the narrow chain before it, and the reduce side
with what follows.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..lineage import Node, ShuffleDependency, per_partition


def buckets(block: np.ndarray, targets: np.ndarray, npartitions: int) -> list[np.ndarray]:
    """The rows of ``block`` grouped by target partition, keeping their order within a bucket."""
    from .hashing import scatter

    rows, offsets = scatter(block, targets, npartitions)
    return [rows[offsets[k]:offsets[k + 1]] for k in range(npartitions)]


def shuffle(x, partitioner, op: str, reduce: Callable[[list[np.ndarray]], np.ndarray] | None = None,
            detail: str = ""):
    """``x``'s rows moved to the partitions ``partitioner.assign`` names; each output partition is
    ``reduce(buckets)`` (by default the buckets concatenated in map-partition order)."""
    from ..array.core import PartitionedArray

    node = x._node
    n = partitioner.npartitions
    write = per_partition(f"{op}:write", lambda block: buckets(block, partitioner.assign(block), n), node,
                          detail=f"to {n} partitions")
    read = reduce or (lambda pieces: np.concatenate(pieces))
    return PartitionedArray(Node(op, read, [ShuffleDependency(write)], n, node.dtype, node.trailing, None,
                                 partitioner=partitioner, detail=detail))
