"""``rd.from_npy``: a ``.npy`` file as a partitioned array whose partitions are views of a memory map
(``storage/npy.py``'s ``NpySource``, opened by whoever computes a partition)."""

from __future__ import annotations

import os

import numpy as np

from ..graph.lineage import Node
from ..storage.npy import NpySource
from .core import PartitionedArray, check_npartitions, default_npartitions, split_lengths


def from_npy(path, npartitions: int | None = None, mmap: bool = True) -> PartitionedArray:
    """A ``.npy`` file split along axis 0.

    Parameters
    ----------
    path : str or os.PathLike
    npartitions : int, optional
        By default about ``rd.config.partition_bytes`` each.
    mmap : bool, default True
        Partitions are views of a memory map of the file (workers open it themselves); else the
        file is read into memory first.

    Returns
    -------
    PartitionedArray
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"from_npy: no such file: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"from_npy: {path!r} is a directory, not a .npy file")
    source = NpySource(path)
    nrows = source.shape[0]
    if npartitions is None:
        npartitions = default_npartitions(nrows, source.dtype.itemsize * int(np.prod(source.shape[1:])))
    lengths = split_lengths(nrows, check_npartitions(npartitions, "from_npy"))
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    if not mmap:
        data = np.array(source.array())
        read = lambda p: data[bounds[p]:bounds[p + 1]]  # noqa: E731
    else:
        read = lambda p: source.array()[bounds[p]:bounds[p + 1]]  # noqa: E731
    return PartitionedArray(Node(
        "from_npy", read, [], len(lengths), source.dtype, source.shape[1:], lengths,
        pass_index=True, cheap=True, in_process=not mmap, detail=os.path.basename(path),
    ))
