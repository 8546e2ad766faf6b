"""Array-like objects read a row range at a time (``rd.from_array``, in ``array/array_io.py``).

An :class:`ArraySource` reads rows ``start:stop`` of an object with ``shape``, ``dtype`` and NumPy
slicing. Those that can be opened again from a file (HDF5 datasets, zarr arrays on a local store,
memory maps) pickle as the file's name and reopen it where they are used (an HDF5 file for each
read, a zarr array once per process while it is unchanged, a memory map once per source), so
worker processes read their partitions themselves; any other object is read in the process that
holds it (``reopens`` is False) and its partitions are sent.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from collections.abc import Sequence

import numpy as np

from ..dtypes import check_dtype

_handles: dict[tuple, tuple] = {}  # (pid, kind, file, name) -> (stamp, an open dataset), one per process
_handles_lock = threading.Lock()


def file_stamp(path: str) -> tuple:
    """What changes when the file (or directory) ``path`` is replaced or rewritten."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size


def cached_handle(key: tuple, stamp: tuple, opener):
    """The object ``opener()`` opened for ``key`` in this process, opened once while the file's
    ``stamp`` stays the same (a rewritten file is opened again). Handles opened before a fork
    are not reused by the child: the key holds the process id."""
    key = (os.getpid(), *key)
    with _handles_lock:
        stamped = _handles.get(key)
        if stamped is not None and stamped[0] == stamp:
            return stamped[1]
        handle = opener()
        _handles[key] = (stamp, handle)
        return handle


class ArraySource:
    """Rows of an array-like object: ``shape``, ``dtype``, ``chunks`` (rows per chunk along axis 0,
    or None) and ``read(start, stop)``."""

    reopens = False
    views = False  # read() gives views of memory already mapped (a memory map), not copies
    prunes = False  # read() takes ``fields``: a table's fields to read, the others not read at all

    def __init__(self, obj, what: str = "from_array"):
        shape, dtype = getattr(obj, "shape", None), getattr(obj, "dtype", None)
        if shape is None or dtype is None or not hasattr(obj, "__getitem__"):
            raise TypeError(f"{what}: expected an object with shape, dtype and NumPy slicing (an h5py "
                            f"dataset, a zarr array, a memory map), got {type(obj).__name__}")
        self.shape = tuple(int(n) for n in shape)
        self.dtype = check_dtype(np.dtype(dtype), what)
        if not self.shape:
            raise ValueError(f"{what}: a 0-dimensional array has no rows to partition")
        chunks = getattr(obj, "chunks", None)  # h5py and zarr: rows of a chunk (dask's chunks, tuples, are not)
        first = chunks[0] if isinstance(chunks, tuple) and chunks else None
        self.chunks = int(first) if isinstance(first, int | np.integer) and first > 0 else None
        self._obj = obj

    def handle(self):
        return self._obj

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as an ndarray."""
        return np.asarray(self.handle()[start:stop])

    def describe(self) -> str:
        return type(self._obj).__name__


class H5Source(ArraySource):
    """An ``h5py`` dataset, reopened by file name and dataset name after pickling. A reopened file
    is open only while a partition is read (a file kept open would hold HDF5's file lock, and
    writing the file from another process would fail while a worker lives)."""

    reopens = True
    prunes = True

    def __init__(self, dataset, what: str = "from_array"):
        super().__init__(dataset, what)
        self.filename, self.name = os.path.abspath(dataset.file.filename), dataset.name

    @contextlib.contextmanager
    def opened(self):
        """The dataset: the caller's while its file is open, else the file opened for the read."""
        if self._obj is not None and self._obj.id.valid:
            yield self._obj
            return
        import h5py

        with h5py.File(self.filename, "r") as f:
            yield f[self.name]

    def read(self, start: int, stop: int, fields: Sequence[str] | None = None) -> np.ndarray:
        """Rows ``start:stop``; of a compound dataset, only ``fields`` (HDF5 reads just those)."""
        with self.opened() as dataset:
            if fields is not None and self.dtype.names is not None and len(fields) < len(self.dtype.names):
                return np.asarray(dataset.fields(list(fields))[start:stop])
            return np.asarray(dataset[start:stop])

    def describe(self) -> str:
        return f"{os.path.basename(self.filename)}:{self.name}"

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_obj": None}


class MemmapSource(ArraySource):
    """A ``numpy.memmap`` (or ``np.load(mmap_mode=...)``), mapped again read-only after pickling;
    rows are views of the map."""

    reopens = True
    views = True

    def __init__(self, array: np.memmap, what: str = "from_array"):
        super().__init__(array, what)
        self.filename, self.offset = os.path.abspath(str(array.filename)), array.offset
        self.order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"

    def handle(self):
        if self._obj is None:
            self._obj = np.memmap(self.filename, dtype=self.dtype, mode="r", offset=self.offset,  # type: ignore[call-overload]
                                  shape=self.shape, order=self.order)
        return self._obj

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.handle()[start:stop]

    def describe(self) -> str:
        return os.path.basename(str(self.filename))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_obj": None}


def _is_whole_memmap(obj) -> bool:
    """Whether ``obj`` is a memory map of a file as it was opened (not a view of one, whose
    ``offset`` and ``filename`` describe its parent)."""
    mapped = getattr(obj, "_mmap", None)
    return isinstance(obj, np.memmap) and obj.filename is not None and isinstance(mapped, mmap.mmap) \
        and obj.base is mapped


def array_source(obj, what: str = "from_array") -> ArraySource:
    """The source reading ``obj``: reopened by file where it can be, else read where it is."""
    module = type(obj).__module__.split(".")[0]
    if module == "h5py" and type(obj).__name__ == "Dataset" and obj.file.driver in ("sec2", "stdio") \
            and os.path.isfile(obj.file.filename):  # not an in-memory file
        return H5Source(obj, what)
    if module == "zarr" and type(obj).__name__ == "Array":
        from .zarr_files import ZarrSource, reopenable

        if reopenable(obj):
            return ZarrSource(obj, what)
    if _is_whole_memmap(obj):
        return MemmapSource(obj, what)
    return ArraySource(obj, what)
