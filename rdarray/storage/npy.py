""".npy files read through a memory map (``rd.from_npy``, in ``array/npy_io.py``, makes arrays of them).

The file is opened lazily by whoever computes a partition (and reopened after pickling), so worker
processes map the same file themselves and the data is never shipped or copied until an operation
needs it.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import check_dtype
from ..errors import CorruptDataError


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

