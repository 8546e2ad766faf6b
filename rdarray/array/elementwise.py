"""Narrow operations: a function applied partition by partition, with operands aligned.

Every operand of an elementwise operation is one of: a PartitionedArray (aligned one-to-one, or
realigned through a range dependency when partition boundaries differ), a NumPy array as long as
the arrays (split at the same boundaries), or a constant broadcast over the trailing axes.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import check_dtype, empty_block, keep_zones
from ..graph.lineage import Broadcast, Node, OneToOne, realign
from .lazy import Lazy
from .operands import bind


def infer(func, samples: list, what: str):
    """Run ``func`` on zero-row samples: the dtype and trailing shape it produces (with the time
    zones of the samples' datetimes that NumPy drops, ``dtypes.keep_zones``)."""
    out = func(*samples)
    if not isinstance(out, np.ndarray):
        out = np.asarray(out)
    if out.ndim == 0:
        raise ValueError(f"{what}: the function returned a scalar, not one value per row")
    dtype = keep_zones(check_dtype(out.dtype, what), [np.asarray(s).dtype if not hasattr(s, "dtype") else s.dtype
                                                      for s in samples])
    return dtype, out.shape[1:]


def map_blocks(x, func, op: str, detail: str = "", dtype=None, trailing=None, same_rows=True, uses=None):
    """``func`` applied to each partition of ``x``. With ``same_rows``, ``func`` maps each row to
    one row (so it also runs on row slices) and the partition lengths are kept. ``uses``: which
    fields of ``x`` it reads (``Node.uses``)."""
    from .core import PartitionedArray

    node = x._node
    if dtype is None or trailing is None:
        dtype, trailing = infer(func, [empty_block(node.dtype, node.trailing)], op)
    return PartitionedArray(Node(
        op, func, [OneToOne(node)], node.npartitions, dtype, trailing,
        node.partition_lengths if same_rows else None,
        align_key=node.align_key if same_rows else None, detail=detail, sliceable=same_rows, uses=uses,
    ))


def elementwise(func, operands: list, op: str, detail: str = "", same_rows: bool = True,
                accepts_out: bool = False, uses=None):
    """``func(*blocks)`` over aligned partitions of the operands; at least one is partitioned.
    ``func`` works row by row; without ``same_rows`` it may drop rows (a mask). ``accepts_out``:
    ``func(*blocks, out=array)`` writes its result into ``array`` (a ufunc).

    NumPy's broadcasting rules hold for the whole arrays: a partitioned operand must have the
    result's number of dimensions (its rows line up with the result's rows).
    """
    from .core import PartitionedArray, ensure_lengths, from_numpy

    # a lazy value whose dtype and shape are unknown until computed is computed now
    operands = [o.compute() if isinstance(o, Lazy) and o.meta is None else o for o in operands]
    arrays = [o for o in operands if isinstance(o, PartitionedArray)]
    lead = arrays[0]
    row_ndim = max(a.ndim for a in arrays)
    shapes = [_shape_for_broadcast(o, row_ndim) for o in operands]
    try:
        result_ndim = len(np.broadcast_shapes(*shapes))
    except ValueError as exc:
        raise ValueError(f"{op}: operands do not broadcast: {exc}") from None
    for a in arrays:
        if a.ndim != result_ndim:
            raise ValueError(
                f"{op}: a partitioned operand of shape {a.shape} does not line its rows up with a "
                f"{result_ndim}-dimensional result; reshape it (e.g. x[:, None])")

    # NumPy arrays as long as the partitioned ones are split at the same boundaries.
    resolved = []
    for o in operands:
        if isinstance(o, np.ndarray) and o.ndim == result_ndim and o.ndim > 0 and o.shape[0] != 1:
            if o.shape[0] != len(lead):
                raise ValueError(f"{op}: operand lengths differ: {len(lead)} and {o.shape[0]}")
            o = from_numpy(o, partition_lengths=ensure_lengths(lead._node))
        resolved.append(o)

    inputs, apply = bind(func, resolved, lambda o: isinstance(o, (PartitionedArray, Lazy)))
    deps = [Broadcast(o.node) if isinstance(o, Lazy)  # type: ignore[arg-type]  # operands hold value nodes
            else align(lead._node, o._node, op) for o in inputs]
    samples = [o.meta if isinstance(o, Lazy) else empty_block(o.dtype, o._node.trailing) for o in inputs]
    dtype, trailing = infer(apply, samples, op)
    node = lead._node
    return PartitionedArray(Node(op, apply, deps, node.npartitions, dtype, trailing,
                                 node.partition_lengths if same_rows else None,
                                 align_key=node.align_key if same_rows else None, detail=detail,
                                 sliceable=True, accepts_out=accepts_out and same_rows, uses=uses))


def _shape_for_broadcast(operand, row_ndim: int) -> tuple:
    """The operand's shape with the row axis, which never broadcasts, set to 1."""
    from .core import PartitionedArray

    if isinstance(operand, PartitionedArray):
        return (1,) + operand._node.trailing
    shape = np.shape(operand.meta if isinstance(operand, Lazy) else operand)
    return (1,) + shape[1:] if len(shape) >= row_ndim else shape


def align(lead: Node, other: Node, op: str):
    """A one-to-one dependency when partitions line up, else a realigning range dependency."""
    if lead.aligned_with(other):
        return OneToOne(other)
    from .core import ensure_lengths

    lead_lengths, other_lengths = ensure_lengths(lead), ensure_lengths(other)
    if sum(lead_lengths) != sum(other_lengths):
        raise ValueError(f"{op}: operand lengths differ: {sum(lead_lengths)} and {sum(other_lengths)}")
    if lead_lengths == other_lengths:
        return OneToOne(other)
    return realign(other, lead_lengths)
