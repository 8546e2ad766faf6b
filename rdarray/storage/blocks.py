"""The block store: computed partitions of persisted arrays, kept for later plans.

Each block is held at its node's persist level: ``"memory"`` (the array itself), ``"compressed"``
(a partition frame in memory) or ``"disk"`` (a frame file under the spill directory). With a
``memory_limit``, the bytes held in memory are bounded: past it, the least recently used blocks
are written to the spill directory as compressed frames and read back when needed, so nothing is
lost and results do not change. Spill files go when their blocks are dropped and when the store is
cleared; a failed spill (a full disk) keeps the block in memory and raises.

A shuffle's map outputs (:class:`~rdarray.storage.buckets.Buckets`) are blocks too: kept in memory,
spilled as one frame per bucket, and reused by every later plan that needs the same shuffle. So are
the outputs of a stage waiting for the later stages that read them (the scheduler keeps them here
under a limit, and drops them after their last reader). The working memory of the tasks running now
counts too: a task *reserves* room for it before it computes, and blocks spill to make that room.
The limit bounds the blocks held in memory plus the reservations; ``peak_bytes`` is the most the
blocks held in memory ever came to, ``spilled_bytes`` how much was spilled.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..dtypes import holds_objects
from ..errors import ClosedError
from ..table import Table
from ..text import Text
from .buckets import Buckets, SpilledBuckets, write_buckets

PERSIST_LEVELS = ("memory", "compressed", "disk")


@dataclass
class _Block:
    """One stored partition: the array (or buckets), its frame (in memory), or the path of its
    frame file (``bounds``: the byte bounds of each bucket's frame in it); ``nbytes``: its size
    decoded, wherever it is kept; ``sizes``: of buckets, each one's size decoded."""

    array: np.ndarray | Buckets | object | None = None
    frame: np.ndarray | None = None
    path: str | None = None
    bounds: list[int] | None = None
    spilling: bool = False
    nbytes: int = 0
    sizes: list[int] | None = None

    @property
    def memory_bytes(self) -> int:
        if self.array is not None:
            return value_bytes(self.array)
        return 0 if self.frame is None else self.frame.nbytes

    @property
    def spillable(self) -> bool:
        """Held in memory as a frame, buckets or an array a frame can hold (a value node's other
        values, and arrays of Python objects, stay put)."""
        array = self.array
        return (self.frame is not None or isinstance(array, (Buckets, Text))
                or (isinstance(array, np.ndarray) and not array.dtype.hasobject)
                or (isinstance(array, Table) and not holds_objects(array.dtype)))  # text fields are Text


def value_bytes(value) -> int:
    """The bytes of the arrays a block holds: an array's or buckets', or those inside a value
    node's tuple or list (a broadcast join side, partial results)."""
    if isinstance(value, (tuple, list)):
        return sum(value_bytes(v) for v in value)
    return int(getattr(value, "nbytes", 0))


class BlockStore:
    """Partitions of persisted nodes, by (node id, partition index).

    A node's blocks are dropped when the node is unpersisted, and when it is garbage collected
    unless ``drop_with_nodes`` is False (a worker's store: the nodes it sees are copies, and the
    driver says when to drop).
    """

    def __init__(self, memory_limit: int | None = None, spill_dir: str | None = None,
                 drop_with_nodes: bool = True):
        self.memory_limit = memory_limit
        self._drop_with_nodes = drop_with_nodes
        self._spill_parent = spill_dir
        self._spill_dir: str | None = None
        self._blocks: OrderedDict[tuple[int, int], _Block] = OrderedDict()  # least recently used first
        self._counts: dict[int, int] = {}
        self._memory_bytes = 0
        self._reserved = 0  # room the running tasks reserved for their working memory
        self.peak_bytes = 0  # the most ``memory_bytes`` came to
        self.spilled_bytes = 0  # decoded bytes of the blocks spilled to make room
        self._serial = itertools.count()
        self._lock = threading.RLock()
        self._closed = False
        self._scanning: int | None = None  # the thread looping over the blocks, if any
        self._gone: list[int] = []  # nodes collected during that loop: dropped after it

    # -- reading ----------------------------------------------------------------------------------
    def get(self, node_id: int, p: int):
        """The block, or None when it is not stored (or is a value node's None: ``has`` tells)."""
        with self._lock:
            self._check_open()
            block = self._blocks.get((node_id, p))
            if block is None:
                return None
            self._blocks.move_to_end((node_id, p))
            array, frame, path = block.array, block.frame, block.path
        if array is not None or (frame is None and path is None):
            return array
        from .frame import decode_block, read_block

        if frame is not None:
            return decode_block(frame)
        assert path is not None  # neither in memory nor in a file: a None value, returned above
        return SpilledBuckets(path, block.bounds) if block.bounds is not None else read_block(path)

    def get_encoded(self, node_id: int, p: int, bucket: int | None = None):
        """The frame of a block (or of one of its buckets) kept compressed, in memory or in a file,
        as it is stored: for sending without decoding here. None when it is held as an array."""
        with self._lock:
            block = self._blocks.get((node_id, p))
            if block is None or block.array is not None:
                return None
            frame, path, bounds = block.frame, block.path, block.bounds
        if frame is not None or (bucket is not None and bounds is None):
            return frame if bucket is None else None
        assert path is not None  # neither an array nor a frame in memory: in a file
        if bounds is not None:
            return SpilledBuckets(path, bounds).frame(bucket) if bucket is not None else None
        with open(path, "rb") as f:
            return f.read()

    def has(self, node_id: int, p: int) -> bool:
        return (node_id, p) in self._blocks

    def has_all(self, node) -> bool:
        return self._counts.get(node.id, 0) == node.npartitions

    @property
    def memory_bytes(self) -> int:
        """Bytes of blocks held in memory (arrays and in-memory frames)."""
        return self._memory_bytes

    def block_bytes(self, node_id: int, p: int, bucket: int | None = None) -> int | None:
        """The decoded size of a stored block (held in memory or spilled), or of its bucket
        ``bucket`` when it is a map output's buckets; None when it is not stored."""
        block = self._blocks.get((node_id, p))
        if block is None:
            return None
        if bucket is not None and block.sizes is not None:
            return block.sizes[bucket]
        return block.nbytes

    def bucket_sizes(self, node_id: int, p: int) -> list[int] | None:
        """The decoded size of every bucket of a stored map output; None for other blocks."""
        block = self._blocks.get((node_id, p))
        return None if block is None else block.sizes

    # -- writing ----------------------------------------------------------------------------------
    def put(self, node, p: int, array: np.ndarray | Table | Buckets) -> None:
        """Keep partition ``p`` of ``node`` at the node's persist level (buckets: in memory)."""
        if isinstance(array, Table):
            array = array.materialized()  # a pending row selection would keep its whole source
        level = node.persist_level or "memory"
        if level == "memory" or isinstance(array, Buckets):
            block = _Block(array=array)
        elif level == "compressed":
            from .frame import encode_block

            block = _Block(frame=encode_block(array))
        else:
            block = _Block(path=self._write(node.id, p, array)[0])
        block.nbytes = value_bytes(array)
        if isinstance(array, Buckets):
            block.sizes = array.sizes()
        with self._lock:
            self._check_open()
            key = (node.id, p)
            if node.id not in self._counts:
                self._counts[node.id] = 0
                if self._drop_with_nodes:
                    weakref.finalize(node, self._node_gone, node.id)
            old = self._blocks.pop(key, None)
            if old is None:
                self._counts[node.id] += 1
            else:
                self._forget(old)
            self._blocks[key] = block
            size = block.memory_bytes  # first: a collection in there may drop blocks and change the total
            self._memory_bytes += size
            self.peak_bytes = max(self.peak_bytes, self._memory_bytes)
        self._enforce_limit()

    @contextlib.contextmanager
    def reserve(self, nbytes: int, spill: bool = True):
        """Room for ``nbytes`` of a task's working memory while the ``with`` block runs: blocks spill
        first, until the blocks in memory and every running task's reservation fit the limit.
        With ``spill`` False the bytes only count (memory held already, such as frames being sent
        by a thread that must not stop to write files): the next reservation or block spills for them."""
        if self.memory_limit is None or nbytes <= 0:
            yield
            return
        with self._lock:
            self._reserved += nbytes
        try:
            if spill:
                self._enforce_limit()
            yield
        finally:
            with self._lock:
                self._reserved -= nbytes
            trim_heap()

    @property
    def reserved_bytes(self) -> int:
        """The bytes reserved now (by running tasks, and frames being sent)."""
        return self._reserved

    def _enforce_limit(self) -> None:
        """Spill the least recently used in-memory blocks until the memory limit holds (for them
        and the reservations together)."""
        if self.memory_limit is None:
            return
        try:
            self._spill_past_limit()
        finally:
            self._drop_gone()

    def _spill_past_limit(self) -> None:
        limit = self.memory_limit
        assert limit is not None
        while True:
            self._drop_gone()  # their memory counts no more
            with self._lock:
                if self._memory_bytes + self._reserved <= limit:
                    return
                victim = self._first(lambda b: b.memory_bytes and b.spillable and not b.spilling)
                if victim is None:
                    return
                key, block = victim
                array, frame = block.array, block.frame
                block.spilling = True  # another thread enforcing the limit picks another block
            try:
                path, bounds = self._write(key[0], key[1], array, frame)
            finally:
                block.spilling = False
            with self._lock:
                if self._blocks.get(key) is block:  # not dropped or replaced meanwhile
                    size = block.memory_bytes
                    self._memory_bytes -= size
                    self.spilled_bytes += block.nbytes
                    block.array = block.frame = None
                    block.path, block.bounds = path, bounds
                else:
                    _remove(path)

    def _write(self, node_id: int, p: int, array, frame: np.ndarray | None = None) -> tuple[str, list | None]:
        """Write a block's frame (or its buckets' frames) to a file of its own: ``(path, bucket
        bounds or None)``. On failure nothing is left behind."""
        from .frame import encode_block

        if frame is None and not isinstance(array, Buckets):
            frame = encode_block(array)
        path = os.path.join(self._directory(), f"block-{node_id}-{p}-{next(self._serial)}.rdb")
        try:
            with open(path, "wb") as f:
                if frame is None:
                    return path, write_buckets(f, array)
                f.write(frame.data)
        except BaseException as exc:  # a full disk, or Ctrl-C mid-write: no half-written file stays
            _remove(path)
            if not isinstance(exc, OSError):
                raise
            self._check_open()  # the directory went with close(): not a disk error
            raise OSError(exc.errno, f"block store: cannot spill a partition to {self._directory()}: "
                                     f"{exc.strerror}; the data kept in memory is intact") from exc
        return path, None

    def _directory(self) -> str:
        with self._lock:
            self._check_open()  # after close(), never a new directory to leave behind
            if self._spill_dir is None:
                if self._spill_parent is not None:
                    os.makedirs(self._spill_parent, exist_ok=True)
                self._spill_dir = tempfile.mkdtemp(prefix="rdarray-spill-", dir=self._spill_parent)
            return self._spill_dir

    # -- forgetting -------------------------------------------------------------------------------
    def drop(self, node_id: int) -> None:
        """Forget every block of a node (and remove its files)."""
        with self._lock:
            self._scanning = threading.get_ident()
            try:
                keys = [k for k in self._blocks if k[0] == node_id]
            finally:
                self._scanning = None
            for key in keys:
                self._forget(self._blocks.pop(key))
            self._counts.pop(node_id, None)
        self._drop_gone()

    def _first(self, test) -> tuple[tuple[int, int], _Block] | None:
        """The least recently used ``(key, block)`` that passes ``test``, or None (lock held)."""
        self._scanning = threading.get_ident()
        try:
            return next(((k, b) for k, b in self._blocks.items() if test(b)), None)
        finally:
            self._scanning = None

    def _node_gone(self, node_id: int) -> None:
        """A node was garbage collected: drop its blocks. The collector may run in the middle of
        this store's own loop over its blocks, on the same thread (the lock lets it in): dropping
        then would break the loop, so it waits for the loop to end."""
        if self._scanning == threading.get_ident():
            self._gone.append(node_id)
        else:
            self.drop(node_id)

    def _drop_gone(self) -> None:
        while self._gone:
            try:
                node_id = self._gone.pop()
            except IndexError:  # another thread took the last one
                return
            self.drop(node_id)

    def _forget(self, block: _Block) -> None:
        size = block.memory_bytes
        self._memory_bytes -= size
        if block.path is not None:
            _remove(block.path)

    def close(self) -> None:
        """Clear, and refuse blocks from then on: a computation still running when its context
        closes fails with a clear error instead of reading blocks that are gone or leaving files."""
        with self._lock:
            self._closed = True
        self.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError()

    def clear(self) -> None:
        """Forget everything and remove the spill directory."""
        with self._lock:
            self._blocks.clear()
            self._counts.clear()
            self._memory_bytes = 0
            if self._spill_dir is not None:
                shutil.rmtree(self._spill_dir, ignore_errors=True)
                self._spill_dir = None


def _load_trim():
    """glibc's ``malloc_trim``, or None elsewhere."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _load_trim()


def trim_heap() -> None:
    """Give the memory a task freed back to the system. glibc keeps freed blocks of up to 32 MiB
    in its per-thread heaps for reuse, so without this a process's resident memory stays at the
    most its tasks ever used at once, whatever the limit."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
