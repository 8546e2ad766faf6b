"""The block store: computed partitions of persisted arrays, kept for later plans."""

from __future__ import annotations

import threading
import weakref

import numpy as np

PERSIST_LEVELS = ("memory",)
#: levels of the contract that need the partition frame store, which this version does not have yet
PLANNED_LEVELS = ("compressed", "disk")


class BlockStore:
    """Partitions of persisted nodes, by (node id, partition index), held in memory.

    A node's blocks are dropped when the node is garbage collected or unpersisted.
    """

    def __init__(self):
        self._blocks: dict[int, dict[int, np.ndarray]] = {}
        self._lock = threading.Lock()

    def get(self, node_id: int, p: int):
        """The block, or None when it is not stored."""
        blocks = self._blocks.get(node_id)
        return None if blocks is None else blocks.get(p)

    def put(self, node, p: int, block) -> None:
        with self._lock:
            if node.id not in self._blocks:
                self._blocks[node.id] = {}
                weakref.finalize(node, self.drop, node.id)
            self._blocks[node.id][p] = block

    def has_all(self, node) -> bool:
        blocks = self._blocks.get(node.id)
        return blocks is not None and len(blocks) == node.npartitions

    def drop(self, node_id: int) -> None:
        with self._lock:
            self._blocks.pop(node_id, None)

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for blocks in list(self._blocks.values()) for b in list(blocks.values()))

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()
