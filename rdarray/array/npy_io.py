"""``rd.from_npy``: ``.npy`` files as one partitioned array whose partitions are views of memory
maps (``storage/npy.py``'s ``NpySource``, opened by whoever computes a partition)."""

from __future__ import annotations

import glob
import os

import numpy as np

from ..graph.lineage import Node
from ..storage.npy import NpySource
from ..table import as_table
from .core import PartitionedArray, check_npartitions, default_npartitions, split_lengths


def from_npy(path, npartitions: int | None = None, mmap: bool = True) -> PartitionedArray:
    """``.npy`` files split along axis 0, concatenated in order.

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A file, a glob pattern (files in sorted order), a directory (its ``*.npy`` files in
        sorted order) or a list of files (in the order given). Every file must hold the same
        dtype and shape but for the first axis.
    npartitions : int, optional
        By default about ``rd.config.partition_bytes`` each, no partition spanning two files.
    mmap : bool, default True
        Partitions are views of a memory map of each file (workers open it themselves); else the
        files are read into memory first.

    Returns
    -------
    PartitionedArray

    Examples
    --------
    >>> x = rd.from_npy("/data/part-*.npy")
    """
    sources = [NpySource(file) for file in _files(path)]
    first = sources[0]
    for source in sources[1:]:
        if source.dtype != first.dtype or source.shape[1:] != first.shape[1:]:
            raise ValueError(f"from_npy: {source.path!r} holds {source.dtype}{list(source.shape)}, unlike "
                             f"{first.path!r} with {first.dtype}{list(first.shape)}: the files must agree in "
                             "dtype and in shape but for the first axis")
    row_bytes = first.dtype.itemsize * int(np.prod(first.shape[1:]))
    starts = np.concatenate([[0], np.cumsum([s.shape[0] for s in sources])]).tolist()
    if npartitions is None:  # each file split on its own
        bounds = [0]
        for source in sources:
            n = source.shape[0]
            for length in split_lengths(n, default_npartitions(n, row_bytes)) if n else []:
                bounds.append(bounds[-1] + length)
        if len(bounds) == 1:
            bounds.append(0)
    else:
        lengths = split_lengths(starts[-1], check_npartitions(npartitions, "from_npy"))
        bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(int).tolist()
    if not mmap:
        datas = [np.array(s.array()) for s in sources]
        arrays = lambda: datas  # noqa: E731
    else:
        arrays = lambda: [s.array() for s in sources]  # noqa: E731

    def read(p):
        start, stop = bounds[p], bounds[p + 1]
        whole = arrays()
        pieces = [whole[k][max(start - starts[k], 0):min(stop, starts[k + 1]) - starts[k]]
                  for k in range(len(sources)) if starts[k] < stop and starts[k + 1] > start]
        if len(pieces) == 1:
            return as_table(pieces[0])  # the rows of a table are held field by field
        return as_table(np.concatenate(pieces) if pieces else whole[0][:0])

    names = [os.path.basename(s.path) for s in sources]
    return PartitionedArray(Node(
        "from_npy", read, [], len(bounds) - 1, first.dtype, first.shape[1:], np.diff(bounds).tolist(),
        pass_index=True, cheap=True, in_process=not mmap,
        detail=names[0] if len(names) == 1 else f"{names[0]} ... {names[-1]} ({len(names)} files)",
    ))


def _files(path) -> list[str]:
    """The ``.npy`` files ``path`` names: a file, a directory, a glob or a list of files."""
    if isinstance(path, (list, tuple)):
        if not path:
            raise ValueError("from_npy: the list of files is empty")
        files = [os.fspath(p) for p in path]
        for file in files:
            if not os.path.exists(file):
                raise FileNotFoundError(f"from_npy: no such file: {file!r}")
            if os.path.isdir(file):
                raise ValueError(f"from_npy: {file!r} is a directory, not a .npy file")
        return files
    path = os.fspath(path)
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(glob.escape(path), "*.npy")))
        if not files:
            raise ValueError(f"from_npy: the directory {path!r} holds no .npy files")
        return files
    if os.path.exists(path):
        return [path]
    if any(c in path for c in "*?["):
        files = sorted(f for f in glob.glob(path) if not os.path.isdir(f))
        if files:
            return files
    raise FileNotFoundError(f"from_npy: no such file: {path!r}")
