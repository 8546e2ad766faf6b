"""Scans along the rows: ``np.cumsum``, ``np.cumprod`` and ``np.diff`` across partitions.

A cumulative sum (product) along axis 0 is two passes. The first reduces each partition to its
total ``t_p``; the exclusive scan of the totals, ``o_p = t_0 + ... + t_(p-1)`` (a few values),
is the offset of partition ``p``. The second is narrow: partition ``p``'s running sums, in pieces
that stay in the cache, each piece's plus the running total before it (for the first partition's
first piece, exactly NumPy's). ``np.diff`` reads ``n`` rows of the partitions before each one
(``windows.overlap_dependency``). Other axes are narrow operations.
"""

from __future__ import annotations

import numpy as np

from ..errors import check_integer
from ..graph.lineage import VALUE, AllToOne, Broadcast, Node, OneToOne, per_partition
from .elementwise import map_blocks

#: elements a partition's scan runs through at once: the running sums, then the total before the
#: piece added, while the piece is in the cache
_PIECE = 1 << 16


def _axis(x, axis, what: str) -> int:
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"{what}: axis=None flattens the array, which a partitioned {x.ndim}-D array does not; "
                             f"pass axis=0 (across the rows) or another axis")
        return 0
    message = f"{what}: axis {axis!r} is out of bounds for an array of dimension {x.ndim}"
    if check_integer(axis, -x.ndim, message) >= x.ndim:
        raise ValueError(message)
    return int(axis) % x.ndim


def _scan(x, ufunc, axis, dtype, what: str, out=None):
    """The running ``ufunc`` (``np.add`` or ``np.multiply``) along ``axis``, with NumPy's dtypes."""
    from .core import PartitionedArray

    if out is not None:
        raise TypeError(f"{what}: PartitionedArray is immutable; out= is not supported")
    if x.dtype.names:
        raise TypeError(f"{what}: a table has no {what}; select a field")
    axis = _axis(x, axis, what)
    accumulate = np.cumsum if ufunc is np.add else np.cumprod
    node = x._node
    out_dtype = accumulate(np.zeros((1,) + node.trailing, x.dtype), axis=0, dtype=dtype).dtype
    if axis != 0:
        return map_blocks(x, lambda b: accumulate(b, axis=axis, dtype=dtype), what, f"axis={axis}")

    totals = per_partition(f"{what}.totals", lambda b: ufunc.reduce(b, axis=0, dtype=out_dtype), node,
                           detail="per partition", combine=ufunc)

    def offsets(parts):
        out, running = [], np.full(node.trailing, ufunc.identity, out_dtype)
        for t in parts:
            out.append(running)
            running = ufunc(running, t)
        return out

    starts = Node(f"{what}.offsets", offsets, [AllToOne(totals)], 1, VALUE, (), None, detail="exclusive scan")
    row = max(1, int(np.prod(node.trailing)))

    def run(p, block, offs):
        out = np.empty(block.shape, out_dtype)
        carry = offs[p]
        step = max(1, _PIECE // row)
        for i in range(0, len(block), step):
            piece = out[i:i + step]
            ufunc.accumulate(block[i:i + step], axis=0, dtype=out_dtype, out=piece)
            if i or p:  # the first piece of the first partition starts from the identity
                ufunc(piece, carry, out=piece)
            carry = piece[-1]
        return out

    return PartitionedArray(Node(what, run, [OneToOne(node), Broadcast(starts)], node.npartitions, out_dtype,
                                 node.trailing, node.partition_lengths, pass_index=True, align_key=node.align_key,
                                 detail="offsets from the partitions' totals"))


def cumsum(x, axis=None, dtype=None, out=None):
    """``np.cumsum``: running sums, across partitions along axis 0.

    Parameters
    ----------
    x : PartitionedArray
    axis : int, optional
        None only for a 1-D array (NumPy flattens).
    dtype : numpy.dtype, optional
        The accumulator's and the result's dtype; by default NumPy's.
    out : None
        Not supported.

    Returns
    -------
    PartitionedArray
    """
    return _scan(x, np.add, axis, dtype, "cumsum", out)


def cumprod(x, axis=None, dtype=None, out=None):
    """``np.cumprod``: running products, across partitions along axis 0.

    Parameters
    ----------
    x : PartitionedArray
    axis : int, optional
        None only for a 1-D array (NumPy flattens).
    dtype : numpy.dtype, optional
        The accumulator's and the result's dtype; by default NumPy's.
    out : None
        Not supported.

    Returns
    -------
    PartitionedArray
    """
    return _scan(x, np.multiply, axis, dtype, "cumprod", out)


def _edge(value, x, what: str):
    """``prepend``/``append`` as rows: a scalar is one row, broadcast as NumPy does."""
    from .core import PartitionedArray, from_numpy

    if isinstance(value, PartitionedArray):
        return value
    value = np.asarray(value)
    if value.ndim == 0:
        value = np.broadcast_to(value, (1,) + x._node.trailing)
    if value.ndim != x.ndim or value.shape[1:] != x._node.trailing:
        raise ValueError(f"diff: {what} of shape {value.shape} does not match rows of shape {x._node.trailing}")
    return from_numpy(np.ascontiguousarray(value), npartitions=1)


def diff(x, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """``np.diff``: the ``n``-th differences; along axis 0, each partition reads the last ``n``
    rows before it (``windows.overlap_dependency``).

    Parameters
    ----------
    x : PartitionedArray
    n : int, default 1
        How many times to difference.
    axis : int, default -1
        As NumPy's (for a 1-D array, the rows).
    prepend, append : array_like, optional
        Rows put before and after the array first (a scalar is one row).

    Returns
    -------
    PartitionedArray
        ``n`` rows fewer along axis 0 (with prepend/append: as many more).
    """
    from .core import PartitionedArray, concatenate
    from .windows import overlap_dependency

    if x.dtype.names:
        raise TypeError("diff: a table has no diff; select a field")
    n = check_integer(n, 0, f"diff: order must be non-negative but got {n!r}")
    axis = _axis(x, axis, "diff")
    if n == 0:
        return x
    if axis != 0:
        def edge(v):
            return v if v is np._NoValue or np.ndim(v) == 0 else np.asarray(v)
        pre, app = edge(prepend), edge(append)
        return map_blocks(x, lambda b: np.diff(b, n, axis, prepend=pre, append=app), "diff", f"axis={axis}")
    parts = [_edge(prepend, x, "prepend")] if prepend is not np._NoValue else []
    parts.append(x)
    if append is not np._NoValue:
        parts.append(_edge(append, x, "append"))
    if len(parts) > 1:
        x = concatenate(parts)
    dep, heads, lengths = overlap_dependency(x, n, 0)
    bounds = np.cumsum((0, *lengths)).tolist()
    out_lengths = [max(0, stop - max(start, n)) for start, stop in zip(bounds[:-1], bounds[1:])]
    node = x._node
    out_dtype = np.diff(np.zeros((2,) + node.trailing, x.dtype), axis=0).dtype

    def run(block):
        if len(block) <= n:
            return np.empty((0,) + block.shape[1:], out_dtype)
        return np.diff(block, n, axis=0)

    return PartitionedArray(Node("diff", run, [dep], node.npartitions, out_dtype, node.trailing, out_lengths,
                                 detail=f"n={n}"))
