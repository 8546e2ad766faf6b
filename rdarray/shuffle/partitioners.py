"""Partitioners: which partition each row belongs to, as Spark's HashPartitioner and
RangePartitioner say it. An array records the partitioner that placed its rows, so a later
operation on the same key with the same partition count needs no shuffle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.recfunctions import repack_fields


@dataclass(frozen=True)
class HashPartitioner:
    """Rows go to ``partition_of(hash(key), npartitions)``; ``key`` is a field name, a tuple of field
    names, or None for the values of a 1-D array."""

    npartitions: int
    key: str | tuple[str, ...] | None = None

    def assign(self, block: np.ndarray) -> np.ndarray:
        from .hashing import partition_keys

        return partition_keys(key_columns(block, self.key), self.npartitions)


@dataclass(frozen=True)
class RangePartitioner:
    """Rows whose key is at most ``boundaries[0]`` go to partition 0, then up to ``boundaries[1]``
    to partition 1, and so on: ``len(boundaries) + 1`` partitions in key order."""

    boundaries: tuple
    key: str | tuple[str, ...] | None = None
    descending: bool = False

    @property
    def npartitions(self) -> int:
        return len(self.boundaries) + 1

    def assign(self, block: np.ndarray) -> np.ndarray:
        keys = sort_keys(block, self.key)
        bounds = np.array(list(self.boundaries), dtype=keys.dtype)
        targets = np.searchsorted(bounds, keys, side="left")
        return (self.npartitions - 1 - targets) if self.descending else targets


def key_columns(block: np.ndarray, key) -> list[np.ndarray]:
    """The key columns of a partition: fields of a structured array, or the array itself."""
    if key is None:
        return [block]
    names = (key,) if isinstance(key, str) else tuple(key)
    return [block[name] for name in names]


def sort_keys(block: np.ndarray, key) -> np.ndarray:
    """One comparable array for ordering rows: a field, a multi-field view, or the values."""
    if key is None:
        return block
    if isinstance(key, str):
        return block[key]
    return repack_fields(block[list(key)])
