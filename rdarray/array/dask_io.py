"""Interop with dask, lazy both ways: ``x.to_dask_array()`` and ``rd.from_dask_array(a)``; for
structured arrays ``x.to_dask_dataframe()`` and ``rd.from_dask_dataframe(df)``.

A chunk along axis 0 (a dask DataFrame partition) is a partition. Nothing is computed on the client
when converting: a partition of an array made from dask is computed by the task that reads it, and
a dask collection made from an array computes the array in one dask task, on the current context
of the process that runs it.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import check_dtype
from ..graph.lineage import Node
from ..text import FIELD
from .pandas_io import _column, frame, is_nullable, nullable_dtype, table


def _partitions(x) -> list:
    return x.partitions()


def _chunks(x) -> list:
    """One delayed value per partition of ``x``, all from one computation of ``x``."""
    import dask

    parts = dask.delayed(_partitions, pure=False)(x)
    return [parts[p] for p in range(x.npartitions)]


def to_dask_array(self):
    """A dask array whose chunks along axis 0 are this array's partitions (lazy)."""
    import dask.array as da

    lengths = self._node.partition_lengths or (math.nan,) * self.npartitions
    trailing = self._node.trailing
    return da.concatenate([da.from_delayed(chunk, (n,) + trailing, dtype=self.dtype)
                           for chunk, n in zip(_chunks(self), lengths)], axis=0)


def to_dask_dataframe(self):
    """A dask DataFrame with one column per field and one partition per partition (lazy)."""
    import dask
    import dask.dataframe as dd

    if not self.dtype.names:
        raise TypeError(f"to_dask_dataframe: needs a structured array (one field per column), got dtype {self.dtype}")
    meta = frame(np.empty(0, self.dtype), self.dtype)
    return dd.from_delayed([dask.delayed(frame)(chunk, self.dtype) for chunk in _chunks(self)], meta=meta,
                           verify_meta=False)


def from_dask_array(a):
    """``a``'s chunks along axis 0 as partitions; each is computed by the task that reads it.

    Parameters
    ----------
    a : dask.array.Array
        At least 1-D; chunks along other axes are joined.

    Returns
    -------
    PartitionedArray
    """
    import dask.array as da

    from .core import PartitionedArray

    if not isinstance(a, da.Array):
        raise TypeError(f"from_dask_array: expected a dask array, got {type(a).__name__}")
    if a.ndim == 0:
        raise ValueError("from_dask_array: a 0-dimensional array has no rows to partition")
    check_dtype(a.dtype, "from_dask_array")
    if any(len(c) > 1 for c in a.chunks[1:]):
        a = a.rechunk({axis: -1 for axis in range(1, a.ndim)})  # whole rows in each chunk
    blocks = [a.blocks[p] for p in range(a.numblocks[0])]
    lengths = a.chunks[0]
    known = not any(math.isnan(n) for n in lengths)
    return PartitionedArray(Node(
        "from_dask_array", lambda p: np.asarray(blocks[p].compute(scheduler="sync")), [], len(blocks),
        a.dtype, a.shape[1:], lengths if known else None, pass_index=True, detail=f"{a.dtype}{list(a.shape)}"))


def from_dask_dataframe(df):
    """``df``'s partitions as partitions of a structured array (one field per column).

    The width of text columns, and whether nullable columns (``Int64``, ``boolean``, ...) hold
    missing values (their dtype then is float64, as in ``rd.from_pandas``), are found by one dask
    computation; nothing else is computed until needed.

    Parameters
    ----------
    df : dask.dataframe.DataFrame

    Returns
    -------
    PartitionedArray
    """
    import dask
    import dask.dataframe as dd

    from .core import PartitionedArray

    if not isinstance(df, dd.DataFrame):
        raise TypeError(f"from_dask_dataframe: expected a dask DataFrame, got {type(df).__name__}")
    meta = df._meta
    text = [c for c in meta.columns if meta[c].dtype == object or str(meta[c].dtype).startswith(("str", "string"))]
    nullable = [c for c in meta.columns if is_nullable(meta[c])]  # their dtype depends on missing values
    missing = dict(zip(nullable, dask.compute(*[df[c].isna().any() for c in nullable]))) if nullable else {}
    fields = []
    for c in meta.columns:
        if c in text:  # variable-width text, missing values kept
            fields.append((str(c), FIELD))
        elif c in missing:
            fields.append((str(c), nullable_dtype(meta[c], bool(missing[c]))))
        else:
            fields.append((str(c), _column(meta[c]).dtype))  # a timezone-aware datetime: UTC, its zone kept
    dtype = check_dtype(fields, "from_dask_dataframe")
    parts = [df.get_partition(p) for p in range(df.npartitions)]
    return PartitionedArray(Node(
        "from_dask_dataframe", lambda p: table(parts[p].compute(scheduler="sync"), dtype), [], len(parts),
        dtype, (), None, pass_index=True, detail=f"{len(fields)} columns"))
