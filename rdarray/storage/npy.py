"""``rd.from_npy``: a ``.npy`` file as a partitioned array whose partitions are views of a memory map.

The file is opened lazily by whoever computes a partition (and reopened after pickling), so worker
processes map the same file themselves and the data is never shipped or copied until an operation
needs it.
"""

from __future__ import annotations

import os

import numpy as np

from ..array.core import PartitionedArray, check_npartitions, default_npartitions, split_lengths
from ..dtypes import check_dtype
from ..errors import CorruptDataError
from ..lineage import Node


class NpySource:
    """Rows ``start:stop`` of a ``.npy`` file, through one memory map per process."""

    def __init__(self, path: str):
        self.path = path
        try:
            with open(path, "rb") as f:
                np.lib.format.read_magic(f)
            opened = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            if "Python objects" in str(exc):
                check_dtype(object, "from_npy")  # raises the TypeError that explains why
            raise CorruptDataError(f"from_npy: {path!r} is not a valid .npy file: {exc}") from None
        if opened.ndim == 0:
            raise ValueError(f"from_npy: {path!r} holds a 0-dimensional array; there are no rows to partition")
        self.dtype, self.shape, self.offset = opened.dtype, opened.shape, opened.offset
        self.order = "F" if opened.flags.f_contiguous and not opened.flags.c_contiguous else "C"
        self._map: np.ndarray | None = opened

    def array(self) -> np.ndarray:
        """The whole file as a read-only memory map (reopened after unpickling)."""
        if self._map is None:
            self._map = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset,  # type: ignore[call-overload]
                                  shape=self.shape, order=self.order)
        return self._map

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_map": None}  # the memory map is reopened where it is used


def from_npy(path, npartitions: int | None = None, mmap: bool = True) -> PartitionedArray:
    """A ``.npy`` file split along axis 0. With ``mmap`` (the default) partitions are views of a
    memory map of the file; without, the file is read into memory first."""
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
        pass_index=True, cheap=True, local=not mmap, detail=os.path.basename(path),
    ))
