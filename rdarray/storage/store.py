"""The interfaces of block stores: what the session and the engine may ask of a store.

Two sides, each a ``typing.Protocol`` (structural: a store declares nothing, it has the methods):

- :class:`Store`, the context's store (``Context.store``): ``BlockStore`` on the threads and sync
  backends, ``RemoteStore`` (the driver's view of its workers' stores) on the processes backend,
  ``DaskStore`` (futures) on the dask backend. The planner asks which nodes it holds whole, the
  scheduler reads and drops blocks, ``Context.close`` closes it.
- :class:`TaskStore`, the store a stage runner puts persisted partitions in and reads them from:
  ``BlockStore``, a worker's recorder of what a task stored, a dask task's capture of what it
  persisted. Under a ``memory_limit`` it is a :class:`LimitedStore`: the runner reserves working
  memory and reads block sizes.

:class:`Catalog` is the shared base of the context stores whose blocks live elsewhere (the
processes backend's ``RemoteStore``, the dask backend's ``DaskStore``): an entry per kept
partition (where it is, or its future), dropped when its node is garbage collected.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any, Protocol


class Store(Protocol):
    """A context's store of persisted partitions, by (node id, partition index)."""

    memory_limit: int | None

    def has(self, node_id: int, p: int) -> bool:
        """Whether partition ``p`` of the node is kept (a value node's None included)."""
        ...

    def has_all(self, node) -> bool:
        """Whether every partition of ``node`` is kept."""
        ...

    def get(self, node_id: int, p: int) -> Any:
        """The block, or None when it is not kept."""
        ...

    def drop(self, node_id: int) -> None:
        """Forget every block of a node."""
        ...

    def close(self) -> None:
        """Forget everything; the context is closing."""
        ...


class TaskStore(Protocol):
    """The store a stage runner reads persisted partitions from and puts them in."""

    memory_limit: int | None

    def get(self, node_id: int, p: int) -> Any:
        """The block, or None when it is not kept."""
        ...

    def has_all(self, node) -> bool:
        """Whether every partition of ``node`` is kept."""
        ...

    def put(self, node, p: int, block) -> None:
        """Keep partition ``p`` of ``node`` (at its ``persist_level``)."""
        ...


class LimitedStore(TaskStore, Protocol):
    """A task store under a memory limit."""

    def reserve(self, nbytes: int) -> contextlib.AbstractContextManager:
        """Room for a task's working memory, held while the context is entered."""
        ...

    def block_bytes(self, node_id: int, p: int, bucket: int | None = None) -> int | None:
        """The decoded size of a kept block (of its bucket ``bucket``, for a shuffle's map
        output), or None when it is not kept."""
        ...


class Catalog:
    """A context's store (a :class:`Store`) of blocks kept elsewhere: one entry per partition (the
    worker holding it, the future computing it), by node id. A node's entries are dropped when it
    is garbage collected. Subclasses say what an entry is, how a block is read (``get``) and what
    dropping frees (``drop``)."""

    memory_limit: int | None = None

    def __init__(self) -> None:
        self._entries: dict[int, dict[int, Any]] = {}  # node id -> partition -> entry
        self._watched: set[int] = set()  # nodes whose garbage collection drops their entries
        # re-entrant: a garbage collection inside a locked section may run a node's finalizer
        # (``drop``) on this very thread
        self._lock = threading.RLock()

    def keep(self, node, p: int, entry) -> None:
        """Record the entry of partition ``p`` of ``node``."""
        with self._lock:
            self.watch(node)
            self._entries.setdefault(node.id, {})[p] = entry

    def entry(self, node_id: int, p: int) -> Any:
        """The entry of a partition, or None when it is not kept."""
        with self._lock:
            return self._entries.get(node_id, {}).get(p)

    def watch(self, node) -> None:
        """Drop the node's entries once it is garbage collected."""
        with self._lock:
            if node.id not in self._watched:
                self._watched.add(node.id)
                weakref.finalize(node, self._collected, node.id)

    def _collected(self, node_id: int) -> None:
        with self._lock:
            self._watched.discard(node_id)
        self.drop(node_id)

    def has(self, node_id: int, p: int) -> bool:
        return self.entry(node_id, p) is not None

    def has_all(self, node) -> bool:
        with self._lock:
            return len(self._entries.get(node.id, ())) == node.npartitions

    def forget(self, node_id: int, p: int) -> None:
        """Forget the entry of one partition."""
        with self._lock:
            self._entries.get(node_id, {}).pop(p, None)

    def forget_where(self, lost) -> None:
        """Forget every entry for which ``lost(entry)`` is true."""
        with self._lock:
            for node_id in list(self._entries):  # a finalizer may drop nodes while this loop runs
                places = self._entries.get(node_id, {})
                for p in [p for p, e in places.items() if lost(e)]:
                    del places[p]

    def pop(self, node_id: int) -> dict[int, Any]:
        """Forget a node's entries; they are returned (partition -> entry)."""
        with self._lock:
            return self._entries.pop(node_id, {})

    def drop(self, node_id: int) -> None:
        """Forget every block of a node."""
        self.pop(node_id)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._watched.clear()

    def close(self) -> None:
        """Forget every block: the context is closing."""
        self.clear()
