"""Saved arrays: ``x.save(path)``, ``rd.load(path)`` and ``x.checkpoint()``.

A saved array is a directory: ``_meta.json`` (format version, dtype, shape, partition lengths,
partitioner, codec) and one partition frame per partition, ``part-00000.rdb``, ... (docs/FORMAT.md).
Partitions are encoded and written in parallel by the executor, into a temporary directory beside
the target that is renamed into place only once complete, so a crash never leaves something that
loads as an array. Loading reads JSON and frames only: nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid

import numpy as np

from ..errors import CorruptDataError, WorkerLostError
from ..lineage import Node, OneToOne, per_partition
from .codec import CODECS, FILTERS, _check_clevel, _choice

FORMAT_NAME = "rdarray"
FORMAT_VERSION = 1
META = "_meta.json"


def part_name(p: int) -> str:
    return f"part-{p:05d}.rdb"


def save(x, path, codec: str = "lz4", clevel: int = 5, filter: str = "shuffle", overwrite: bool = False) -> None:
    """Write ``x`` to the directory ``path`` (see the module docstring)."""
    from ..compute import run_nodes
    from ..context import get_context
    from .frame import encode

    _choice("codec", codec, CODECS)
    _choice("filter", filter, FILTERS)
    _check_clevel(clevel)
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"save: {path!r} exists; pass overwrite=True to replace it")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"save: {path!r} is a file, not a saved array directory")
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"save: the directory {parent!r} does not exist")
    staging = os.path.join(parent, f".{os.path.basename(path)}.saving-{uuid.uuid4().hex[:12]}")
    try:
        os.mkdir(staging)
    except OSError as exc:  # a read-only or special directory
        raise type(exc)(exc.errno, f"save: cannot write into {parent!r}: {exc.strerror}") from exc
    try:
        def write(p, block):
            with open(os.path.join(staging, part_name(p)), "wb") as f:
                f.write(memoryview(encode(block, codec, clevel, filter)))
            return len(block)

        node = x._node
        writer = per_partition("save", write, node, pass_index=True, detail=os.path.basename(path))
        lengths = run_nodes(get_context(), [writer])[writer.id]
        node.learn_lengths(lengths)
        meta = {
            "format": FORMAT_NAME, "version": FORMAT_VERSION,
            "dtype": np.lib.format.dtype_to_descr(node.dtype), "shape": [sum(lengths), *node.trailing],
            "partition_lengths": list(lengths), "partitioner": None,
            "codec": {"name": codec, "clevel": clevel, "filter": filter},
        }
        with open(os.path.join(staging, META), "w") as f:
            json.dump(meta, f, indent=1)
        _replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _replace(staging: str, path: str) -> None:
    """Move the finished directory into place; an old one is removed only after that."""
    if not os.path.exists(path):
        os.rename(staging, path)
        return
    retired = f"{staging}.old"
    os.rename(path, retired)
    os.rename(staging, path)
    shutil.rmtree(retired, ignore_errors=True)


def read_meta(path: str) -> dict:
    """The validated ``_meta.json`` of a saved array."""
    meta_path = os.path.join(path, META)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such directory: {path!r}")
    if not os.path.isdir(path):
        raise ValueError(f"load: {path!r} is a file; a saved array is a directory")
    if not os.path.exists(meta_path):
        raise FileNotFoundError(f"load: {path!r} holds no {META}: not a saved array (or an incomplete save)")
    with open(meta_path, "rb") as f:
        text = f.read()
    try:
        meta = json.loads(text.decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
            raise ValueError("not an rdarray metadata file")
        version = meta.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"invalid format version {version!r}")
        if version > FORMAT_VERSION:
            raise ValueError(f"format version {version!r} is newer than this rdarray reads ({FORMAT_VERSION})")
        codec = meta["codec"]
        if not isinstance(codec, dict):
            raise ValueError(f"bad codec settings {codec!r}")
        _choice("codec", codec.get("name"), CODECS)
        _choice("filter", codec.get("filter"), FILTERS)
        _check_clevel(codec.get("clevel"))
        dtype = np.lib.format.descr_to_dtype(_tuples(meta["dtype"]))
        shape = meta["shape"]
        lengths = meta["partition_lengths"]
        if (not isinstance(shape, list) or not shape or not all(_count(n) for n in shape)
                or not isinstance(lengths, list) or not lengths or not all(_count(n) for n in lengths)
                or sum(lengths) != shape[0]):
            raise ValueError(f"shape {shape!r} and partition lengths {lengths!r} do not agree")
    except Exception as exc:  # untrusted input: any failure to parse it is corruption (deep JSON, odd dtypes)
        raise CorruptDataError(f"load: {meta_path!r} is invalid: {exc}") from None
    if dtype.hasobject:
        raise CorruptDataError(f"load: {meta_path!r} names an object dtype, which rdarray never writes")
    if dtype.shape != () or (dtype.itemsize == 0 and dtype.names is None):
        raise CorruptDataError(f"load: {meta_path!r} names dtype {dtype}, which no array has (sub-array or unsized)")
    return {"dtype": dtype, "trailing": tuple(shape[1:]), "lengths": tuple(lengths)}


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


def load(path):
    """A saved array; each partition is read and decoded by the task that needs it."""
    from ..array.core import PartitionedArray
    from .frame import read_file

    path = os.path.abspath(os.fspath(path))
    meta = read_meta(path)
    dtype, trailing, lengths = meta["dtype"], meta["trailing"], meta["lengths"]

    def read(p):
        file = os.path.join(path, part_name(p))
        try:
            return read_file(file, expect=(dtype, (lengths[p], *trailing)))
        except FileNotFoundError:
            raise CorruptDataError(f"load: {file!r} is missing") from None

    return PartitionedArray(Node("load", read, [], len(lengths), dtype, trailing, lengths,
                                 pass_index=True, detail=os.path.basename(path)))


def checkpoint(x, path=None):
    """``x`` materialized, as a new array whose lineage starts here: saved to ``path``, or kept in
    the block store at level ``"disk"`` when no path is given."""
    if path is not None:
        save(x, path, overwrite=True)
        return load(path)
    from ..array.core import PartitionedArray
    from ..compute import run_nodes
    from ..context import get_context

    node = x._node
    cut = Node("checkpoint", lambda block: block, [OneToOne(node)], node.npartitions, node.dtype, node.trailing,
               node.partition_lengths)
    cut.persist_level = "disk"
    lengths = per_partition("len", len, cut)
    cut.learn_lengths(run_nodes(get_context(), [lengths])[lengths.id])
    cut.func, cut.dependencies, cut.pass_index = _checkpoint_gone, (), True  # the lineage ends here
    return PartitionedArray(cut)


def _checkpoint_gone(p: int):
    raise WorkerLostError("checkpoint: the checkpointed partitions are gone (their worker died or their "
                          "context was closed); they cannot be recomputed")
