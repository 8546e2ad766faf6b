"""``x[key]``: integer rows, row slices, trailing axes, fields and boolean masks."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.recfunctions import repack_fields

from ..graph.lineage import Node, RangeDependency
from ..table import Table
from .core import PartitionedArray, ensure_lengths, from_numpy, same_fields, select_partitions
from .elementwise import elementwise, map_blocks


def getitem(x: PartitionedArray, key):
    if isinstance(key, str) or (isinstance(key, list) and key and all(isinstance(k, str) for k in key)):
        return _fields(x, key)
    if isinstance(key, (PartitionedArray, np.ndarray, list)):
        return _mask(x, key)
    if not isinstance(key, tuple):
        key = (key,)
    key = _expand_ellipsis(key, x.ndim)
    row, rest = key[0], key[1:]
    if row is None:
        raise IndexError("indexing: a new axis before the rows is not supported")
    if isinstance(row, (int, np.integer)) and not isinstance(row, bool):
        value = _row(x, int(row))
        return value[rest] if rest else value
    if not isinstance(row, slice):
        raise IndexError(f"indexing: rows take an integer, a slice or a boolean mask, got {row!r}")
    out = x if row == slice(None) else _row_slice(x, row)
    if rest:
        out = map_blocks(out, lambda b: b[(slice(None),) + rest], "getitem", _describe(rest))
    return out


def _expand_ellipsis(key: tuple, ndim: int) -> tuple:
    if not any(k is Ellipsis for k in key):
        return key
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("indexing: an index can only have a single ellipsis ('...')")
    at = next(i for i, k in enumerate(key) if k is Ellipsis)
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if used > ndim:
        raise IndexError(f"indexing: too many indices for a {ndim}-dimensional array")
    return key[:at] + (slice(None),) * (ndim - used) + key[at + 1:]


def _describe(key: tuple) -> str:
    return ", ".join(":" if k == slice(None) else repr(k) for k in key)


def _row(x: PartitionedArray, i: int):
    """Row ``i``, computing only its partition."""
    lengths = ensure_lengths(x._node)
    n = sum(lengths)
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for a PartitionedArray of length {n}")
    i %= n
    ends = np.cumsum(lengths)
    j = int(np.searchsorted(ends, i, side="right"))
    block = select_partitions(x, [j], op="getitem", detail=str(i)).partitions()[0]
    return block[i - (ends[j] - lengths[j])]


def _row_slice(x: PartitionedArray, rows: slice) -> PartitionedArray:
    """A lazy row slice: each result partition is a slice of one partition of ``x``."""
    lengths = ensure_lengths(x._node)
    start, stop, step = rows.indices(sum(lengths))
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    pieces, new_lengths = [], []
    order = range(len(lengths)) if step > 0 else reversed(range(len(lengths)))
    for j in order:
        lo, hi = bounds[j], bounds[j + 1]
        if step > 0:
            first = start if start >= lo else start + math.ceil((lo - start) / step) * step
            end = min(hi, stop)
            if first < end:
                pieces.append([(j, slice(first - lo, end - lo, step))])
                new_lengths.append(math.ceil((end - first) / step))
        else:
            first = start if start <= hi - 1 else start - math.ceil((start - (hi - 1)) / -step) * -step
            end = max(lo, stop + 1)  # lowest row that may be taken
            if first >= end:
                last = end - lo - 1
                pieces.append([(j, slice(first - lo, None if last < 0 else last, step))])
                new_lengths.append((first - end) // -step + 1)
    if not pieces:
        pieces, new_lengths = [[]], [0]
    node = x._node
    return PartitionedArray(Node("slice", lambda b: b, [RangeDependency(node, pieces)], len(pieces),
                                 node.dtype, node.trailing, new_lengths, uses=same_fields,
                                 detail=f"{rows.start}:{rows.stop}:{rows.step}".replace("None", "")))


def _fields(x: PartitionedArray, key: str | list[str]) -> PartitionedArray:
    names = [key] if isinstance(key, str) else key
    fields = x.dtype.names or ()
    for name in names:
        if name not in fields:
            have = ", ".join(fields) if fields else "none (the dtype is not structured)"
            raise KeyError(f"field {name!r} not found; the fields are: {have}")
    chosen = frozenset(names)
    if isinstance(key, list):  # packed: NumPy's multi-field view keeps the other fields as padding
        return map_blocks(x, lambda b: b.select(key, present=True) if isinstance(b, Table) else repack_fields(b[key]),
                          "field", ",".join(names), uses=lambda used: [chosen if used is None else chosen & used])
    return map_blocks(x, lambda b: b[key], "field", ",".join(names), uses=lambda used: [chosen])


def _mask(x: PartitionedArray, mask) -> PartitionedArray:
    if isinstance(mask, PartitionedArray):
        from .arrow_io import pushed_mask

        pushed = pushed_mask(x, mask)  # a Parquet read masked by a comparison: read with a filter
        if pushed is not None:
            return pushed
    if not isinstance(mask, PartitionedArray):
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise IndexError(f"indexing: integer array indexing is not supported (got {mask.dtype}); "
                             "use a boolean mask, or index the computed array")
        if mask.ndim != 1 or len(mask) != len(x):
            raise ValueError(f"indexing: a boolean mask of shape {mask.shape} does not match {len(x)} rows")
        mask = from_numpy(mask, partition_lengths=ensure_lengths(x._node))
    if mask.dtype != bool or mask.ndim != 1:
        raise TypeError(f"indexing: a mask must be a 1-D boolean PartitionedArray, got {mask.dtype} with "
                        f"{mask.ndim} dimensions")
    if x.ndim > 1:  # a column, so that it lines its rows up with the rows of x
        mask = map_blocks(mask, lambda m: m.reshape((-1,) + (1,) * (x.ndim - 1)), "reshape")
    return elementwise(lambda b, m: b[m.reshape(-1)], [x, mask], "mask", same_rows=False,
                       uses=lambda used: [used, None])
