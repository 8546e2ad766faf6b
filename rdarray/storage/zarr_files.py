"""Zarr stores: reading a zarr array (or a table written as a zarr group) a row range at a time, and
writing partitions as chunk ranges (``rd.read_zarr``, ``x.to_zarr``, in ``array/array_io.py``).

An array is one zarr array whose chunks along axis 0 are whole partitions' rows: each partition
writes its own chunks, so partitions are written in parallel without two writers touching one
chunk. A table (a structured dtype) is a zarr group holding one array per field, all chunked
alike, and the attribute ``rdarray`` = ``{"fields": [names in order], "zones": {...}}``; the time
zone of a datetime (``dtypes.zone``) is kept in the attribute ``rdarray`` of an array, ``zones`` of
a table's. The directory is written into a hidden temporary directory and renamed into place
(``storage/atomic.py``).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..dtypes import check_dtype, plain, with_zone, zone
from ..graph.lineage import Node, per_partition
from ..table import Table
from ..text import is_text
from .arrays import ArraySource, cached_handle, file_stamp
from .atomic import write_directory

ATTRIBUTE = "rdarray"


def require_zarr(what: str):
    """The ``zarr`` module; ImportError naming the extra to install when it is missing."""
    try:
        import zarr
    except ImportError:
        raise ImportError(f"{what} needs zarr: pip install 'rdarray[zarr]'") from None
    return zarr


def reopenable(array) -> bool:
    """Whether the zarr ``array`` lives in a local directory, so other processes can open it."""
    return isinstance(getattr(array.store, "root", None), os.PathLike | str)


@contextlib.contextmanager
def _quiet():
    """Zarr warns that fixed-width text has no zarr v3 specification yet (once per process is
    enough: workers opening the store may still warn)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
        yield


class ZarrSource(ArraySource):
    """A zarr array in a local directory, reopened by store root and array path after pickling."""

    reopens = True

    def __init__(self, array, what: str = "from_array"):
        super().__init__(array, what)
        self.root, self.path = os.path.abspath(array.store.root), array.path
        metas = [os.path.join(self.root, self.path, name) for name in ("zarr.json", ".zarray")]  # v3, v2
        self.stamp = file_stamp(next((m for m in metas if os.path.exists(m)), self.root))
        tz = dict(array.attrs).get(ATTRIBUTE, {}).get("zone") if self.dtype.kind == "M" else None
        if isinstance(tz, str):
            self.dtype = with_zone(self.dtype, tz)

    def handle(self):
        if self._obj is None:
            zarr = require_zarr("read_zarr")
            self._obj = cached_handle(("zarr", self.root, self.path), self.stamp,
                                      lambda: zarr.open_array(self.root, path=self.path, mode="r"))
        return self._obj

    def read(self, start: int, stop: int) -> np.ndarray:
        if stop <= start:
            return np.empty((0,) + self.shape[1:], dtype=self.dtype)
        out = np.asarray(self.handle()[start:stop])
        if out.dtype != self.dtype or out.dtype.metadata != self.dtype.metadata:  # a zone, a byte order
            out = out.astype(plain(self.dtype), copy=False).view(self.dtype)
        return out

    def describe(self) -> str:
        return os.path.basename(self.root) + (f"/{self.path}" if self.path else "")

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_obj": None}


class ZarrTableSource:
    """A table stored as a zarr group of one array per field; read field by field into a ``Table``."""

    reopens = True
    views = False
    prunes = True

    def __init__(self, group, root: str, path: str):
        meta = dict(group.attrs).get(ATTRIBUTE, {})
        names = meta.get("fields") or sorted(name for name, _ in group.arrays())
        zones = meta.get("zones", {})
        self.fields = {name: ZarrSource(group[name], "read_zarr") for name in names}
        lengths = {source.shape[0] for source in self.fields.values()}
        if len(lengths) != 1:
            raise ValueError(f"read_zarr: the arrays of the group {root!r} differ in length: "
                             f"{ {n: s.shape[0] for n, s in self.fields.items()} }")
        self.dtype = np.dtype([(name, with_zone(s.dtype, zones.get(name)), s.shape[1:])
                               for name, s in self.fields.items()])
        self.shape = (lengths.pop(),)
        chunks = {s.chunks for s in self.fields.values()}
        self.chunks = chunks.pop() if len(chunks) == 1 else None
        self.root, self.path = root, path

    def read(self, start: int, stop: int, fields: Sequence[str] | None = None) -> Table:
        """Rows ``start:stop`` of ``fields`` (all by default); the other arrays are not read."""
        names = list(self.fields) if fields is None else [n for n in self.fields if n in fields]
        return Table(np.dtype([(n, self.dtype[n]) for n in names]),
                     {n: self.fields[n].read(start, stop).view(self.dtype[n].base) for n in names})

    def describe(self) -> str:
        return os.path.basename(self.root) + (f"/{self.path}" if self.path else "")


def open_source(path, what: str = "read_zarr"):
    """The source reading the zarr array, or table group, at ``path``."""
    zarr = require_zarr(what)
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no such file or directory: {path!r}")
    try:
        with _quiet():
            opened = zarr.open(path, mode="r")
    except (OSError, ValueError, KeyError, zarr.errors.BaseZarrError) as exc:
        raise ValueError(f"{what}: {path!r} is not a zarr array or group: {exc}") from exc
    if isinstance(opened, zarr.Array):
        return ZarrSource(opened, what)
    if not any(True for _ in opened.arrays()):
        raise ValueError(f"{what}: the zarr group {path!r} holds no arrays")
    return ZarrTableSource(opened, path, "")


def write_zarr(node: Node, path, run: Callable[[Node], list], chunk_rows: int, overwrite: bool) -> None:
    """Write the partitions of ``node`` (all but the last of ``chunk_rows`` rows) to the zarr store
    ``path``: one chunk per partition, written by the tasks ``run(writer)`` runs."""
    zarr = require_zarr("to_zarr")
    dtype = node.dtype
    text = [name for name in dtype.names if is_text(dtype[name])] if dtype.names else ["values"] * is_text(dtype)
    if text:
        raise TypeError(f"to_zarr: variable-width text ({', '.join(map(repr, text))}) cannot be written to zarr "
                        "(zarr's variable-length strings are not written in parallel chunks); convert it to "
                        "fixed-width text or bytes first (for example with astype('U20'))")
    check_dtype(dtype, "to_zarr")
    nrows = sum(node.partition_lengths or ())
    fields = list(dtype.names) if dtype.names else None
    shape = (nrows, *node.trailing)

    def create(tmp: str) -> None:
        with _quiet():
            if fields is None:
                array = zarr.create_array(tmp, shape=shape, chunks=(chunk_rows, *node.trailing), dtype=plain(dtype),
                                          fill_value=None, overwrite=True)
                if zone(dtype) is not None:
                    array.attrs[ATTRIBUTE] = {"zone": zone(dtype)}
            else:
                group = zarr.open_group(tmp, mode="w")
                for name in fields:
                    field = dtype[name]
                    group.create_array(name, shape=shape + field.shape, dtype=plain(field.base), fill_value=None,
                                       chunks=(chunk_rows, *node.trailing, *field.shape))
                zones = {name: zone(dtype[name]) for name in fields if zone(dtype[name]) is not None}
                group.attrs[ATTRIBUTE] = {"fields": fields, "zones": zones}
        bounds = np.concatenate([[0], np.cumsum(node.partition_lengths or [0])]).tolist()

        def write(p, block):
            start, stop = bounds[p], bounds[p + 1]
            if stop == start:
                return 0
            if fields is None:
                zarr.open_array(tmp, mode="r+")[start:stop] = np.asarray(block).view(plain(dtype))
            else:
                table = block if isinstance(block, Table) else Table.from_records(np.asarray(block))
                for name in fields:
                    values = table.column(name)
                    zarr.open_array(tmp, path=name, mode="r+")[start:stop] = values.view(plain(values.dtype))
            return stop - start

        run(per_partition("to_zarr", write, node, pass_index=True, detail=os.path.basename(tmp)))

    target = os.path.abspath(os.fspath(path))
    if overwrite and os.path.isdir(target) and os.listdir(target) and not any(
            os.path.exists(os.path.join(target, name)) for name in ("zarr.json", ".zgroup", ".zarray")):
        raise ValueError(f"to_zarr: {target!r} is a directory but not a zarr store; it is not replaced")
    write_directory(target, create, overwrite, "to_zarr")
