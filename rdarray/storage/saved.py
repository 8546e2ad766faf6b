"""Saved arrays on disk: writing a version and committing it, reading and checking one.

``x.save(path)``, ``rd.load(path)`` and ``x.checkpoint(path)`` (``array/saved.py``) are made of
these; the computation that writes the frames is run by the session and handed in (``run``).

A saved array is a directory (docs/FORMAT.md): ``_meta.json`` (format version, array id, dtype,
shape, partition lengths, partitioner, codec) and the version it names, ``v-<id>/``, one frame per
partition: a partition frame (version 2), or for a table or 1-D text the block store's table or
text frame (version 3, ``encode_block``: one frame per field, text as offsets, bytes and missing
flags; the dtype as explicit JSON, ``dtype_to_json``). A version is written whole, then committed
by one atomic rename of its ``_meta.json`` over the directory's; it is never modified afterwards.
So a crash at any point leaves the old array or the new one, and a loaded array reads only the
version it loaded (or raises ``CorruptDataError`` once an overwrite has removed it): never a mix.
Every frame (every frame inside a table or text frame) carries the array
id and its partition index, checked on reading, so a frame moved from another array or index is
refused. A writer holds a shared lock on ``.lock`` while it writes; whoever gets the lock
exclusively knows no writer is alive and removes what dead writers left. Loading reads JSON and
frames only (nothing is ever unpickled), follows no link inside the directory and reads nothing
but regular files.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Callable

import numpy as np

from ..dtypes import exact, plain, refielded, with_zone, zone
from ..errors import CorruptDataError
from ..graph.lineage import Node, per_partition
from ..table import is_table
from ..text import FIELD, TEXT, is_text
from .frame import check_codec

FORMAT_NAME = "rdarray"
FORMAT_VERSION = 3       # the newest this reads; tables and text are written so, other arrays as 2
META = "_meta.json"
LOCK = ".lock"
MAX_META_BYTES = 1 << 20   # a _meta.json is read only up to this size
MAX_NDIM = 64              # as in a frame
_ID = re.compile(r"[0-9a-f]{32}")
_VERSION_DIR = re.compile(r"v-([0-9a-f]{32})")
_PART = re.compile(r"part-[0-9]{5,}\.rdb")


def part_name(p: int) -> str:
    return f"part-{p:05d}.rdb"


def version_dir(array_id: str) -> str:
    """The subdirectory holding the frames of the version ``array_id``."""
    return f"v-{array_id}"


def save(node: Node, path, run: Callable[[Node], list], codec: str = "lz4", clevel: int = 5,
         filter: str = "shuffle", overwrite: bool = False) -> None:
    """Write the partitions of ``node`` to the directory ``path`` (see the module docstring).

    Parameters
    ----------
    node : Node
        What to save.
    path : str or os.PathLike
        The saved array's directory; its parent must exist.
    run : callable
        ``run(writer)``: the partitions of the node ``writer`` (one per partition of ``node``:
        the rows written there), computed by the caller's session.
    codec, clevel, filter, overwrite
        As ``PartitionedArray.save``.
    """
    check_codec(codec, filter, clevel)
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"save: {path!r} is a file, not a saved array directory")
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"save: the directory {parent!r} does not exist")
    if os.path.exists(path) and not overwrite and _occupied(path):
        raise FileExistsError(f"save: {path!r} exists; pass overwrite=True to replace it")
    try:
        os.mkdir(path)
        created = True
    except FileExistsError:
        created = False
    except OSError as exc:  # a read-only or special directory
        raise _named(exc, f"save: cannot write into {parent!r}") from exc
    _clean(path)
    lock = _lock(path, created)
    try:
        if not created and not overwrite and _occupied(path):
            raise FileExistsError(f"save: {path!r} exists; pass overwrite=True to replace it")
        _write_version(node, path, run, codec, clevel, filter, overwrite)
    finally:
        _release(lock, path, created)


def _zones(dtype: np.dtype) -> dict:
    """The time zones of ``dtype``'s datetimes by field name ("" for the array's own), those named
    by a string: ``_meta.json``'s ``zones``."""
    fields = [(name, dtype[name]) for name in dtype.names] if dtype.names else [("", dtype)]
    return {name: zone(dt) for name, dt in fields if isinstance(zone(dt), str)}


def _zoned(dtype: np.dtype, zones) -> np.dtype:
    """``dtype`` with the ``zones`` (``_zones``) of a ``_meta.json`` put back; ValueError for bad ones."""
    if not isinstance(zones, dict) or not all(isinstance(z, str) for z in zones.values()):
        raise ValueError(f"bad zones {zones!r}")
    if not zones:
        return dtype
    if dtype.names is None:
        if set(zones) != {""} or dtype.kind != "M":
            raise ValueError(f"zones {zones!r} do not fit dtype {dtype}")
        return with_zone(dtype, zones[""])
    if not set(zones) <= {name for name in dtype.names if dtype[name].kind == "M"}:
        raise ValueError(f"zones {zones!r} name fields that are not datetimes of dtype {dtype}")
    return refielded(dtype, [with_zone(dtype[name], zones.get(name)) for name in dtype.names])


def _write_version(node: Node, path: str, run: Callable[[Node], list], codec: str, clevel: int, filter: str,
                   overwrite: bool) -> None:
    """Write a new version of the array at ``path`` and commit it (the caller holds the lock)."""
    from .frame import encode, encode_block

    array_id = uuid.uuid4().hex
    dtype = node.dtype
    by_field = _by_field(dtype, node.trailing)
    data = os.path.join(path, version_dir(array_id))
    owner = bytes.fromhex(array_id)
    committed = False
    try:
        os.mkdir(data)
    except OSError as exc:
        raise _named(exc, f"save: cannot write into {path!r}") from exc
    try:
        def write(p, block):
            file = os.path.join(data, part_name(p))
            block = exact(block, dtype)  # a partition that travelled may have come back native
            frame = (encode_block if by_field else encode)(block, codec, clevel, filter, owner=(owner, p))
            _write_file(file, memoryview(frame))
            return len(block)

        writer = per_partition("save", write, node, pass_index=True, detail=os.path.basename(path))
        lengths = run(writer)
        node.learn_lengths(lengths)
        meta = {
            "format": FORMAT_NAME, "version": 3 if by_field else 2, "id": array_id,
            "dtype": dtype_to_json(dtype) if by_field else np.lib.format.dtype_to_descr(plain(dtype)),
            "shape": [sum(lengths), *node.trailing],
            "partition_lengths": list(lengths), "partitioner": None,
            "codec": {"name": codec, "clevel": clevel, "filter": filter},
        }
        zones = _zones(node.dtype)
        if zones:
            meta["zones"] = zones
        staged = os.path.join(data, META)  # the new metadata waits inside its version until committed
        _write_file(staged, json.dumps(meta, indent=1).encode())
        _sync_dir(data)
        try:
            _commit(staged, os.path.join(path, META), overwrite)
        except FileExistsError:
            raise FileExistsError(f"save: {path!r} exists; pass overwrite=True to replace it") from None
        except OSError as exc:
            raise _named(exc, f"save: cannot commit {path!r}") from exc
        committed = True
        _sync_dir(path)
    except BaseException:
        if not committed:
            shutil.rmtree(data, ignore_errors=True)
        raise


def _commit(staged: str, target: str, overwrite: bool) -> None:
    """Move the new metadata ``staged`` to ``target`` in one atomic step: a rename, or with
    ``overwrite=False`` a hard link, which fails if another save committed first (where the file
    system has no hard links, a rename after checking that nothing is there)."""
    if not overwrite:
        try:
            os.link(staged, target)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, "exists", target) from None
        else:
            os.unlink(staged)
            return
    os.replace(staged, target)


def _write_file(file: str, data) -> None:
    """Write and flush ``file`` to disk; a failure (a full disk) names save and the file."""
    try:
        with open(file, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise _named(exc, f"save: cannot write {file!r}") from exc


def _sync_dir(path: str) -> None:
    """Make the entries of directory ``path`` durable (renames and new files in it)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _named(exc: OSError, what: str) -> OSError:
    """``exc`` again, its message saying what was being done."""
    return type(exc)(exc.errno, f"{what}: {exc.strerror or exc}")


def _occupied(path: str) -> bool:
    """Whether the directory ``path`` holds an array or anything else than what interrupted
    saves of this layout leave (its lock and unfinished versions)."""
    names = os.listdir(path)
    return META in names or LOCK not in names or any(
        n != LOCK and not _VERSION_DIR.fullmatch(n) for n in names)


def _lock(path: str, created: bool) -> int:
    """A descriptor of ``path/.lock``, locked shared: a writer is alive here."""
    try:
        fd = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if created:
            os.rmdir(path)
        raise _named(exc, f"save: cannot write into {path!r}") from exc
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def _release(fd: int, path: str, created: bool) -> None:
    """Drop a writer's lock, after removing what the writers before it left when it is the
    last one alive; a first save that failed leaves no directory."""
    try:
        if _exclusive(fd):
            _remove_leftovers(path)
            if created and os.listdir(path) == [LOCK]:
                os.unlink(os.path.join(path, LOCK))
                os.rmdir(path)
    finally:
        os.close(fd)


def _exclusive(fd: int) -> bool:
    """Lock ``fd`` exclusively if no other writer holds it (never waits)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
            return False
        raise
    return True


def _clean(path: str) -> None:
    """Remove what dead writers left at ``path`` (unfinished and replaced versions), unless a
    writer is alive there; silently nothing where the directory cannot be written."""
    try:
        fd = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # no lock: no writer of this layout was ever here; or read-only
        return
    try:
        if _exclusive(fd):
            _remove_leftovers(path)
    finally:
        os.close(fd)


def _remove_leftovers(path: str) -> None:
    """Every version but the committed one, and the part files of a replaced version-1 array
    (the caller holds the lock exclusively). Nothing is removed while the metadata is invalid or
    names a version that is not there."""
    try:
        current = _current_id(path)
    except (OSError, CorruptDataError):
        return
    if current is None and os.path.lexists(os.path.join(path, META)):
        return  # a version-1 array: a version directory beside it may be what its metadata lost
    if current is not None and not os.path.isdir(os.path.join(path, version_dir(current))):
        return  # metadata naming no version here: damaged, not for cleaning to act on
    for name in os.listdir(path):
        match = _VERSION_DIR.fullmatch(name)
        if match and match.group(1) != current:
            shutil.rmtree(os.path.join(path, name), ignore_errors=True)
        elif current is not None and _PART.fullmatch(name):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(path, name))


def _current_id(path: str) -> str | None:
    """The id of the version committed at ``path``: None if no array is (or a version-1 one);
    ``CorruptDataError`` if its metadata is invalid."""
    try:
        return read_meta(path)["id"]
    except FileNotFoundError:
        return None


def _read_meta_file(path: str) -> dict:
    """The JSON object in ``path/_meta.json``, read from a regular file of at most
    MAX_META_BYTES, no link followed."""
    from .frame import open_file

    meta_path = os.path.join(path, META)
    try:
        fd = open_file(meta_path)
    except CorruptDataError as exc:
        raise CorruptDataError(f"load: {exc}") from None
    try:
        text = b""
        while len(text) <= MAX_META_BYTES and (more := os.read(fd, MAX_META_BYTES + 1 - len(text))):
            text += more
    finally:
        os.close(fd)
    if len(text) > MAX_META_BYTES:
        raise CorruptDataError(f"load: {meta_path!r} is larger than {MAX_META_BYTES} bytes: not rdarray metadata")
    try:
        meta = json.loads(text.decode("utf-8"))
    except Exception as exc:  # untrusted input: any failure to parse it is corruption (deep JSON)
        raise CorruptDataError(f"load: {meta_path!r} is invalid: {exc}") from None
    if not isinstance(meta, dict):
        raise CorruptDataError(f"load: {meta_path!r} is invalid: not an rdarray metadata file")
    return meta


def read_meta(path: str) -> dict:
    """The validated ``_meta.json`` of a saved array."""
    meta_path = os.path.join(path, META)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such directory: {path!r}")
    if not os.path.isdir(path):
        raise ValueError(f"load: {path!r} is a file; a saved array is a directory")
    if not os.path.lexists(meta_path):
        raise FileNotFoundError(f"load: {path!r} holds no {META}: not a saved array (or an interrupted first save)")
    meta = _read_meta_file(path)
    try:
        if meta.get("format") != FORMAT_NAME:
            raise ValueError("not an rdarray metadata file")
        version = meta.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"invalid format version {version!r}")
        if version > FORMAT_VERSION:
            raise ValueError(f"format version {version!r} is newer than this rdarray reads ({FORMAT_VERSION})")
        array_id = meta.get("id") if version >= 2 else None
        if version >= 2 and not (isinstance(array_id, str) and _ID.fullmatch(array_id)):
            raise ValueError(f"bad array id {array_id!r} (32 hexadecimal digits)")
        codec = meta["codec"]
        if not isinstance(codec, dict):
            raise ValueError(f"bad codec settings {codec!r}")
        check_codec(codec.get("name"), codec.get("filter"), codec.get("clevel"))
        dtype = (dtype_from_json(meta["dtype"]) if version >= 3 else
                 np.lib.format.descr_to_dtype(_tuples(meta["dtype"])))
        shape = meta["shape"]
        lengths = meta["partition_lengths"]
        if (not isinstance(shape, list) or not shape or not all(_count(n) for n in shape)
                or not isinstance(lengths, list) or not lengths or not all(_count(n) for n in lengths)
                or sum(lengths) != shape[0]):
            raise ValueError(f"shape {shape!r} and partition lengths {lengths!r} do not agree")
        if len(shape) > MAX_NDIM:
            raise ValueError(f"shape has {len(shape)} dimensions, more than the {MAX_NDIM} an array can have")
        if math.prod(max(n, 1) for n in shape) * max(dtype.itemsize, 1) >= 2**63:
            raise ValueError(f"shape {shape!r} of {dtype} is larger than any array can be")
        dtype = _zoned(dtype, meta.get("zones", {}))
    except Exception as exc:  # untrusted input: any failure to parse it is corruption (odd dtypes)
        raise CorruptDataError(f"load: {meta_path!r} is invalid: {exc}") from None
    if dtype.hasobject and version < 3:
        raise CorruptDataError(f"load: {meta_path!r} names an object dtype, which rdarray never writes")
    if dtype.shape != () or (dtype.itemsize == 0 and dtype.names is None):
        raise CorruptDataError(f"load: {meta_path!r} names dtype {dtype}, which no array has (sub-array or unsized)")
    if version >= 3 and not _by_field(dtype, tuple(shape[1:])):
        raise CorruptDataError(f"load: {meta_path!r} is version {version} for {dtype} {tuple(shape)}, which "
                               "is written as version 2")
    return {"dtype": dtype, "trailing": tuple(shape[1:]), "lengths": tuple(lengths), "id": array_id,
            "by_field": version >= 3}


def _by_field(dtype: np.dtype, trailing: tuple) -> bool:
    """Whether partitions of this dtype are saved as table or text frames (version 3): tables
    and 1-D text; any other array as one partition frame (version 2)."""
    return is_table(dtype, trailing) or (is_text(dtype) and not trailing)


def dtype_to_json(dtype: np.dtype):
    """The JSON description of a version-3 dtype (docs/FORMAT.md): ``"text"`` for ``TEXT``,
    ``"text-field"`` for ``FIELD``, ``{"fields": [[name, dtype, offset], ...], "itemsize": n}``
    for a structured dtype, ``{"subarray": dtype, "shape": [...]}`` for a sub-array, else
    ``{"descr": dtype.str}`` with ``"metadata"``: its metadata's string entries, if any."""
    if is_text(dtype):
        return "text" if dtype.kind == "T" else "text-field"
    if dtype.names is not None:
        fields: dict = dict(dtype.fields or {})
        return {"fields": [[name, dtype_to_json(fields[name][0]), fields[name][1]] for name in dtype.names],
                "itemsize": dtype.itemsize}
    if dtype.subdtype is not None:
        return {"subarray": dtype_to_json(dtype.subdtype[0]), "shape": list(dtype.subdtype[1])}
    if dtype.hasobject or dtype.kind == "T":
        raise TypeError(f"save: cannot save dtype {dtype}: it holds Python objects")
    out: dict = {"descr": dtype.str}
    metadata = {k: v for k, v in (dtype.metadata or {}).items() if isinstance(k, str) and isinstance(v, str)}
    if metadata:
        out["metadata"] = metadata
    return out


def dtype_from_json(spec, depth: int = 0) -> np.dtype:
    """The dtype ``dtype_to_json`` described; anything else raises ValueError (no object dtype
    but ``FIELD``, nothing evaluated or unpickled)."""
    if depth > MAX_NDIM:
        raise ValueError("dtype description nested too deeply")
    if spec == "text":
        return TEXT
    if spec == "text-field":
        return FIELD
    if not isinstance(spec, dict):
        raise ValueError(f"bad dtype description {spec!r}")
    if set(spec) == {"fields", "itemsize"}:
        fields, itemsize = spec["fields"], spec["itemsize"]
        if (not isinstance(fields, list) or not fields or not _count(itemsize)
                or not all(isinstance(f, list) and len(f) == 3 and isinstance(f[0], str) and _count(f[2])
                           for f in fields)):
            raise ValueError(f"bad structured dtype description {spec!r}")
        return np.dtype({"names": [f[0] for f in fields], "formats": [dtype_from_json(f[1], depth + 1) for f in fields],
                         "offsets": [f[2] for f in fields], "itemsize": itemsize})
    if set(spec) == {"subarray", "shape"}:
        shape = spec["shape"]
        if not isinstance(shape, list) or not all(_count(n) for n in shape) or len(shape) > MAX_NDIM:
            raise ValueError(f"bad sub-array shape {shape!r}")
        return np.dtype((dtype_from_json(spec["subarray"], depth + 1), tuple(shape)))
    if set(spec) in ({"descr"}, {"descr", "metadata"}):
        descr, metadata = spec["descr"], spec.get("metadata")
        if not isinstance(descr, str):
            raise ValueError(f"bad dtype {descr!r}")
        dtype = np.dtype(descr)
        if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None or dtype.kind == "T":
            raise ValueError(f"dtype {descr!r} is not a plain dtype")
        if metadata is None:
            return dtype
        if (not isinstance(metadata, dict) or not metadata
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
            raise ValueError(f"bad dtype metadata {metadata!r}")
        return np.dtype(dtype, metadata=metadata)
    raise ValueError(f"bad dtype description {spec!r}")


def _count(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _tuples(descr):
    """JSON lists back into the tuples of a NumPy ``descr``."""
    if isinstance(descr, str):
        return descr
    if not isinstance(descr, list):
        raise ValueError(f"bad dtype description {descr!r}")
    return [tuple(_tuples(part) if isinstance(part, list) and k == 1 else
                  tuple(part) if isinstance(part, list) else part for k, part in enumerate(field))
            for field in descr]


class _Version:
    """The frames of one loaded version: partition ``p`` read and checked against the metadata
    (picklable: tasks carry it to the workers)."""

    def __init__(self, path: str, meta: dict):
        self.path, self.meta = path, meta
        array_id = meta["id"]
        self.folder = path if array_id is None else os.path.join(path, version_dir(array_id))
        self.array_id = None if array_id is None else bytes.fromhex(array_id)

    def read(self, p: int, dir_fd: int | None = None, header_only: bool = False):
        from .frame import read_file, read_saved

        file = os.path.join(self.folder, part_name(p))
        own = dir_fd is None
        try:
            if own:
                dir_fd = self.open()
            reader = read_saved if self.meta.get("by_field") else read_file
            return reader(file, expect=(self.meta["dtype"], (self.meta["lengths"][p], *self.meta["trailing"])),
                          owner=(self.array_id, 0 if self.array_id is None else p), dir_fd=dir_fd,
                          header_only=header_only)
        except FileNotFoundError:
            raise self.missing(file) from None
        except CorruptDataError as exc:
            if str(exc).startswith("load: "):
                raise
            raise CorruptDataError(f"load: {exc}" if file in str(exc) else f"load: {file!r}: {exc}") from None
        finally:
            if own and dir_fd is not None:
                os.close(dir_fd)

    def open(self) -> int:
        """A descriptor of the version's directory; a link in its place is refused."""
        nofollow = 0 if self.meta["id"] is None else os.O_NOFOLLOW  # the user's path may be a link
        try:
            return os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | nofollow)
        except FileNotFoundError:
            raise self.missing(self.folder) from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise CorruptDataError(f"load: {self.folder!r} is not a directory (a link?)") from None
            raise

    def missing(self, file: str) -> CorruptDataError:
        if self.replaced():
            return CorruptDataError(f"load: {self.path!r} was overwritten after this array was loaded "
                                    "(its version is gone); load it again")
        return CorruptDataError(f"load: {file!r} is missing")

    def check(self) -> None:
        """Every partition's frame header, as ``read`` checks it: a foreign, moved, missing or
        special file is found when loading, without decompressing anything."""
        dir_fd = self.open()
        try:
            for p in range(len(self.meta["lengths"])):
                self.read(p, dir_fd, header_only=True)
        finally:
            os.close(dir_fd)

    def replaced(self) -> bool:
        try:
            return _current_id(self.path) != self.meta["id"]
        except (OSError, CorruptDataError):
            return True


def load(path) -> Node:
    """The source node reading the saved array at ``path``; each partition is read and decoded by
    the task that needs it.

    Every frame's header is checked here; a version overwritten while it is being loaded is
    loaded again, the new one."""
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        _clean(path)
    for attempt in range(3):
        version = _Version(path, read_meta(path))
        try:
            version.check()
            break
        except CorruptDataError:
            if attempt == 2 or not version.replaced():
                raise
    meta = version.meta
    return Node("load", version.read, [], len(meta["lengths"]), meta["dtype"], meta["trailing"], meta["lengths"],
                pass_index=True, detail=os.path.basename(path))
