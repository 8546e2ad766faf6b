"""Partitioners: which partition each row belongs to, as Spark's HashPartitioner and
RangePartitioner say it. An array records the partitioner that placed its rows, so a later
operation on the same key with the same partition count needs no shuffle.

A partitioner gives the map side of a shuffle ``dependencies(parent)`` (the parent's partition,
and for sampled boundaries, the value node choosing them) and ``assign(p, block, *values)``: the
target partition of every row of partition ``p``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.recfunctions import repack_fields

from ..dtypes import is_nan
from ..lineage import VALUE, AllToOne, Broadcast, Node, OneToOne

#: rows sampled from each partition to choose range boundaries
SAMPLE_ROWS = 256
#: a row's position, for breaking ties between equal keys: partition << POSITION_BITS | row
POSITION_BITS = 40


@dataclass(frozen=True)
class HashPartitioner:
    """Rows go to ``partition_of(hash(key), npartitions)``; ``key`` is a field name, a tuple of field
    names, or None for the values of a 1-D array."""

    npartitions: int
    key: str | tuple[str, ...] | None = None

    def dependencies(self, parent: Node) -> list:
        return [OneToOne(parent)]

    def assign(self, p: int, block: np.ndarray) -> np.ndarray:
        from .hashing import partition_keys

        return partition_keys(key_columns(block, self.key), self.npartitions)


class RangePartitioner:
    """Rows whose key is at most ``boundaries[0]`` go to partition 0, then up to ``boundaries[1]``
    to partition 1, and so on: ``len(boundaries) + 1`` partitions in key order (reversed when
    ``descending``).

    :meth:`sampled` makes one whose boundaries are chosen, when the shuffle runs, from a sample of
    every partition weighted by its length (as Spark's RangePartitioner does). With
    ``split_ties`` the sample also records each row's position, and rows of a key spanning a
    boundary are split at that position, so partitions stay balanced when one key dominates.
    """

    def __init__(self, boundaries, key=None, descending: bool = False):
        self.key = key
        self.descending = bool(descending)
        self._cuts: Any = (np.asarray(list(boundaries)), None)  # (keys, positions), or None until sampled
        self._chooser: Node | None = None
        self._npartitions = len(self._cuts[0]) + 1
        self.split_ties = False  # True when rows of one key may be in two partitions

    @classmethod
    def sampled(cls, parent: Node, key, npartitions: int, descending: bool = False,
                split_ties: bool = True) -> RangePartitioner:
        self = cls((), key, descending)
        self._npartitions = npartitions
        self.split_ties = split_ties
        sample = Node("sample", lambda p, block: _sample(p, sort_keys(block, key), split_ties),
                      [OneToOne(parent)], parent.npartitions, VALUE, (), None, pass_index=True,
                      detail=f"{SAMPLE_ROWS} rows per partition")
        self._chooser = Node("boundaries", lambda samples: _choose(samples, npartitions), [AllToOne(sample)],
                             1, VALUE, (), None, detail=f"{npartitions - 1} cuts")
        self._chooser.persist_level = "memory"  # chosen once, reused by later plans
        self._cuts = None
        return self

    @property
    def npartitions(self) -> int:
        return self._npartitions

    @property
    def boundaries(self) -> tuple:
        """The upper key of every partition but the last (sampled ones are computed when asked)."""
        return tuple(self.cuts[0].tolist())

    @property
    def cuts(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(keys, positions or None)`` of the boundaries."""
        if self._cuts is None:
            from ..compute import run_nodes
            from ..context import get_context

            chooser = self._chooser
            assert chooser is not None, "a sampled partitioner has a boundaries node"
            return run_nodes(get_context(), [chooser])[chooser.id][0]
        return self._cuts

    def dependencies(self, parent: Node) -> list:
        if self._chooser is None:
            return [OneToOne(parent)]
        return [OneToOne(parent), Broadcast(self._chooser)]

    def assign(self, p: int, block: np.ndarray, cuts=None) -> np.ndarray:
        cut_keys, cut_positions = self._cuts if cuts is None else cuts
        keys = sort_keys(block, self.key)
        cut_keys = cut_keys.astype(keys.dtype, copy=False)
        targets, tied = _count_cuts_below(cut_keys, keys, cut_positions is not None)
        if cut_positions is not None and len(keys):
            _split_ties(p, keys, targets, tied, cut_keys, cut_positions)
        return (self.npartitions - 1 - targets) if self.descending else targets

    def __eq__(self, other) -> bool:
        if not isinstance(other, RangePartitioner) or (
                (self.key, self.descending, self.split_ties) != (other.key, other.descending, other.split_ties)):
            return False
        if self._chooser is not None or other._chooser is not None:
            return self._chooser is other._chooser
        return self.npartitions == other.npartitions and np.array_equal(self._cuts[0], other._cuts[0])

    __hash__ = None  # type: ignore[assignment]  # equal partitioners may differ in identity

    def __repr__(self) -> str:
        shown = "sampled" if self._cuts is None else list(self.boundaries)
        return f"RangePartitioner({shown}, key={self.key!r}, npartitions={self.npartitions})"


def _sample(p: int, keys: np.ndarray, with_positions: bool):
    """``(keys, weights, positions)`` of evenly spaced rows of one partition; a sampled row
    stands for ``weight`` rows."""
    n = len(keys)
    rows = np.arange(n) if n <= SAMPLE_ROWS else np.linspace(0, n - 1, SAMPLE_ROWS).astype(np.int64)
    weights = np.full(len(rows), n / max(len(rows), 1))
    positions = (np.int64(p) << POSITION_BITS) + rows if with_positions else None
    return keys[rows], weights, positions


def _choose(samples: list, npartitions: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Cuts splitting the weighted samples into ``npartitions`` parts of equal weight."""
    keys = np.concatenate([s[0] for s in samples])
    weights = np.concatenate([s[1] for s in samples])
    with_positions = samples[0][2] is not None
    order = np.argsort(keys, kind="stable")  # samples come in position order: ties stay so
    keys, weights = keys[order], weights[order]
    if not len(keys):
        return keys[:0], (np.empty(0, np.int64) if with_positions else None)
    total = np.cumsum(weights)
    picks = np.searchsorted(total, total[-1] * np.arange(1, npartitions) / npartitions, side="left")
    picks = np.minimum(picks, len(keys) - 1)
    positions = np.concatenate([s[2] for s in samples])[order][picks] if with_positions else None
    return keys[picks], positions


_RANGE_KERNEL_DTYPES = {np.dtype(t) for t in (np.int32, np.int64, np.uint64, np.float32, np.float64)}


def _count_cuts_below(cut_keys: np.ndarray, keys: np.ndarray, ties: bool):
    """``(searchsorted(cut_keys, keys, "left"), tied)`` (by the range kernel for the common key
    dtypes); ``tied`` (when ``ties``) flags the keys equal to the cut they stop at."""
    if keys.dtype in _RANGE_KERNEL_DTYPES and keys.ndim == 1:
        from rdarray._core.ranges import count_below

        tied = np.empty(len(keys), np.uint8) if ties else None
        return count_below(np.ascontiguousarray(cut_keys), keys, tied), tied
    targets = np.searchsorted(cut_keys, keys, side="left")
    if not ties or not len(cut_keys):
        return targets, None
    nearest = cut_keys[np.minimum(targets, len(cut_keys) - 1)]
    return targets, (nearest == keys) | (is_nan(nearest) & is_nan(keys))


def _split_ties(p: int, keys, targets, tied, cut_keys, cut_positions) -> None:
    """Rows whose key equals cut keys ``lo..hi-1`` go past the cuts at earlier positions."""
    if tied is None:
        return
    tied = np.flatnonzero(tied)
    if not len(tied):
        return
    upper = np.searchsorted(cut_keys, keys[tied], side="right")
    positions = (np.int64(p) << POSITION_BITS) + tied
    lows = targets[tied]
    for lo in np.unique(lows):
        rows = lows == lo
        hi = upper[rows][0]
        targets[tied[rows]] = lo + np.searchsorted(cut_positions[lo:hi], positions[rows], side="left")


def key_columns(block: np.ndarray, key) -> list[np.ndarray]:
    """The key columns of a partition: fields of a structured array, or the array itself."""
    if key is None:
        return [block]
    names = (key,) if isinstance(key, str) else tuple(key)
    return [block[name] for name in names]


def sort_order(block: np.ndarray, key) -> np.ndarray:
    """The stable order of the rows by ``key``: by its first field, ties by the next, and so on.

    Several fields become one int64 code per row (each field's rank, then the row's position)
    when it fits: NumPy sorts that several times faster than a multi-field view or ``lexsort``.
    """
    if key is None or isinstance(key, str) or len(key) == 1:
        return np.argsort(sort_keys(block, key if key is None or isinstance(key, str) else key[0]), kind="stable")
    n = len(block)
    combined, span = np.zeros(n, np.int64), max(n, 1)
    for name in key:
        codes, size = _ranks(block[name])
        span *= size
        if span >= 1 << 62:
            return np.lexsort([block[name] for name in reversed(key)])
        combined *= size
        combined += codes
    combined *= n
    combined += np.arange(n)  # every code differs, so any sort keeps equal keys in row order
    return np.argsort(combined)


def _ranks(column: np.ndarray) -> tuple[np.ndarray, int]:
    """``(codes, size)``: int64 codes in ``range(size)`` ordered as the column's values are."""
    if len(column) and (column.dtype.kind in "bi" or (column.dtype.kind == "u" and column.dtype.itemsize < 8)):
        low, high = int(column.min()), int(column.max())
        if high - low < len(column) * 4:  # dense integers: their offsets are ranks, no sort needed
            return column.astype(np.int64) - low, high - low + 1
    values, codes = np.unique(column, return_inverse=True)
    return codes.reshape(-1), max(len(values), 1)


def sort_keys(block: np.ndarray, key) -> np.ndarray:
    """One comparable array for ordering rows: a field, a multi-field view, or the values."""
    if key is None:
        return block
    if isinstance(key, str):
        return block[key]
    return repack_fields(block[list(key)])
