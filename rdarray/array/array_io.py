"""Array-like inputs and zarr stores: ``rd.from_array``, ``rd.read_zarr`` and ``x.to_zarr``.

The readers build a source node whose partition ``p`` is one row range of the object, read by
whoever computes the partition: sources that reopen their file (``storage/arrays.py``,
``storage/zarr_files.py``) travel to worker processes as a file name, other objects are read in
this process and their partitions sent.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import check_integer
from ..graph.lineage import Node, realign
from ..session.compute import run_nodes
from ..session.context import get_context
from ..storage import zarr_files
from ..storage.arrays import array_source
from ..table import as_table
from .core import PartitionedArray, check_npartitions, default_npartitions, ensure_lengths, split_lengths


def from_array(obj, npartitions: int | None = None, partition_size: int | None = None) -> PartitionedArray:
    """An array-like object (an h5py dataset, a zarr array, a memory map) split along axis 0,
    each partition read by the task computing it: the object is never read whole.

    Parameters
    ----------
    obj : array_like
        Anything with ``shape``, ``dtype`` and NumPy slicing (``obj[start:stop]``). h5py datasets,
        zarr arrays in a local directory and memory maps are reopened by file name in worker
        processes; other objects are read in this process and their partitions sent.
    npartitions : int, optional
        How many partitions; by default about ``rd.config.partition_bytes`` each.
    partition_size : int, optional
        Bytes per partition instead of a count.

    Returns
    -------
    PartitionedArray
        Where ``obj`` has ``chunks``, partitions hold whole chunks along axis 0 (unless more
        partitions than chunks are asked for).

    Examples
    --------
    >>> import h5py
    >>> f = h5py.File("data.h5", "r")
    >>> rd.from_array(f["x"]).sum().compute()
    """
    source = array_source(obj, "from_array")
    return source_array(source, npartitions, partition_size, "from_array")


def source_array(source, npartitions, partition_size, what: str) -> PartitionedArray:
    """The array of the rows of ``source`` (an ``ArraySource``, or a zarr table source); the rows of a
    table (structured records) become a ``Table``, as the engine holds them."""
    nrows = source.shape[0]
    trailing = tuple(source.shape[1:])
    lengths = _lengths(nrows, source.dtype.itemsize * math.prod(trailing), source.chunks, npartitions,
                       partition_size, what)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(int).tolist()
    read = source.read
    prunes = source.prunes and source.dtype.names is not None  # told the fields the plan reads

    def func(p, **fields):
        return as_table(read(bounds[p], bounds[p + 1], **fields))

    return PartitionedArray(Node(
        what, func, [], len(lengths), source.dtype, trailing, lengths, pass_index=True, cheap=True,
        in_process=not source.reopens, detail=source.describe(), reads_fields=prunes,
    ))


def _lengths(nrows: int, row_bytes: int, chunk: int | None, npartitions, partition_size, what: str) -> list[int]:
    """Partition lengths: whole chunks of ``chunk`` rows each when the object is chunked."""
    if npartitions is not None and partition_size is not None:
        raise ValueError(f"{what}: give npartitions or partition_size, not both")
    if partition_size is not None:
        check_integer(partition_size, 1, f"{what}: partition_size must be a positive number of bytes, "
                                         f"got {partition_size!r}")
        if chunk and nrows:  # as many whole chunks as fit, at least one
            rows = chunk * max(1, partition_size // (chunk * max(row_bytes, 1)))
            return [min(rows, nrows - start) for start in range(0, nrows, rows)]
        npartitions = max(1, min(nrows, math.ceil(nrows * max(row_bytes, 1) / partition_size)))
    nchunks = math.ceil(nrows / chunk) if chunk else 0
    if npartitions is None:  # by default no chunk is split
        npartitions = default_npartitions(nrows, row_bytes)
        npartitions = min(npartitions, nchunks) if nchunks else npartitions
    npartitions = check_npartitions(npartitions, what)
    if nrows == 0:
        return [0]
    if not chunk or npartitions > nchunks:
        return split_lengths(nrows, min(npartitions, nrows))
    per = split_lengths(nchunks, npartitions)  # whole chunks per partition; the last chunk may be short
    ends = np.minimum(np.cumsum(per) * chunk, nrows)
    return np.diff(ends, prepend=0).tolist()


def read_zarr(path, npartitions: int | None = None, partition_size: int | None = None) -> PartitionedArray:
    """A zarr array, or a table written by ``to_zarr`` (a zarr group of one array per field).

    Parameters
    ----------
    path : str or os.PathLike
        The zarr store's directory.
    npartitions : int, optional
        How many partitions; by default about ``rd.config.partition_bytes`` each, whole chunks.
    partition_size : int, optional
        Bytes per partition instead of a count.

    Returns
    -------
    PartitionedArray
        Lazy: each partition reads its chunks when computed, on the worker computing it.

    Examples
    --------
    >>> x.to_zarr("/data/x.zarr")
    >>> rd.read_zarr("/data/x.zarr").compute()
    """
    source = zarr_files.open_source(path, "read_zarr")
    return source_array(source, npartitions, partition_size, "read_zarr")


def to_zarr(x: PartitionedArray, path, overwrite: bool = False) -> None:
    """Write ``x`` to the zarr store ``path``; see ``PartitionedArray.to_zarr``."""
    zarr_files.require_zarr("to_zarr")
    path = os.fspath(path)
    node = x._node
    # lengths not known are learnt by computing the partitions: kept for the write, not computed twice
    kept = node.partition_lengths is None and node.persist_level is None
    if kept:
        x.persist()
    try:
        lengths = ensure_lengths(node)
        nrows = sum(lengths)
        # each partition writes whole chunks: all partitions but the last must be of the chunk length
        chunk = max(1, *lengths)
        if any(n != chunk for n in lengths[:-1]):
            aligned = [chunk] * (nrows // chunk) + ([nrows % chunk] if nrows % chunk else [])
            node = Node("to_zarr chunks", lambda block: block, [realign(node, aligned or [0])], len(aligned) or 1,
                        node.dtype, node.trailing, aligned or [0])
        ctx = get_context()
        zarr_files.write_zarr(node, path, lambda writer: run_nodes(ctx, [writer])[writer.id], chunk, overwrite)
    finally:
        if kept:
            x.unpersist()
