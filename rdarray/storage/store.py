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
"""

from __future__ import annotations

import contextlib
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

    def block_bytes(self, node_id: int, p: int) -> int | None:
        """The size of a kept block, or None when it is not kept."""
        ...
