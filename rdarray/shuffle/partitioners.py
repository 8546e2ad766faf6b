"""Partitioners: which partition each row belongs to, as Spark's HashPartitioner and
RangePartitioner say it. An array records the partitioner that placed its rows, so a later
operation on the same key with the same partition count needs no shuffle.

A partitioner gives the map side of a shuffle ``dependencies(parent)`` (the parent's partition,
and for sampled boundaries, the value node choosing them) and ``assign(p, block, *values)``: the
target partition of every row of partition ``p``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.recfunctions import repack_fields

from ..dtypes import is_nan
from ..graph.lineage import VALUE, AllToOne, Broadcast, Node, OneToOne
from ..text import Text
from .hashing import factorize

#: rows sampled from each partition to choose range boundaries
SAMPLE_ROWS = 256
#: a row's position, for breaking ties between equal keys: partition << POSITION_BITS | row
POSITION_BITS = 40


def key_fields(key) -> frozenset:
    """The fields a partitioner's key names (none for the values of a 1-D array)."""
    return frozenset([key] if isinstance(key, str) else key or ())


@dataclass(frozen=True)
class HashPartitioner:
    """Rows go to ``partition_of(hash(key), npartitions)``.

    Parameters
    ----------
    npartitions : int
    key : str, tuple of str or None
        A field name, field names, or None for the values of a 1-D array.
    """

    npartitions: int
    key: str | tuple[str, ...] | None = None

    def dependencies(self, parent: Node) -> list:
        """The map side's dependencies on the array it shuffles.

        Parameters
        ----------
        parent : Node

        Returns
        -------
        list of Dependency
        """
        return [OneToOne(parent)]

    def assign(self, p: int, block: np.ndarray) -> np.ndarray:
        """The target partition of every row of a partition.

        Parameters
        ----------
        p : int
            The partition's index.
        block : numpy.ndarray
            Its rows.

        Returns
        -------
        numpy.ndarray
            One target per row (intp).
        """
        from .hashing import partition_keys

        return partition_keys(key_columns(block, self.key), self.npartitions)


class RangePartitioner:
    """Rows whose key is at most ``boundaries[0]`` go to partition 0, then up to ``boundaries[1]``
    to partition 1, and so on: ``len(boundaries) + 1`` partitions in the order of :func:`sort_order`
    (each key column ascending or ``descending``, missing values last or ``na_first``), which the
    boundaries follow too.

    :meth:`sampled` makes one whose boundaries are chosen, when the shuffle runs, from a sample of
    every partition weighted by its length (as Spark's RangePartitioner does). With
    ``split_ties`` the sample also records each row's position, and rows of a key spanning a
    boundary are split at that position, so partitions stay balanced when one key dominates.

    Parameters
    ----------
    boundaries : sequence
        The upper key of every partition but the last, in sort order.
    key : str, tuple of str or None
        A field name, field names, or None for the values of a 1-D array.
    descending : bool or sequence of bool, default False
        One direction for every key column, or one per column.
    na_first : bool, default False
        Missing values (NaN, NaT) before all others.
    """

    def __init__(self, boundaries, key=None, descending=False, na_first: bool = False):
        self.key = key
        self.descending = directions(descending, 1 if key is None or isinstance(key, str) else len(key))
        self.na_first = bool(na_first)
        self._cuts: Any = (np.asarray(list(boundaries)), None)  # (keys, positions), or None until sampled
        self._chooser: Node | None = None
        self._evaluate: Callable[[Node, Any], Any] | None = None
        self._context: weakref.ref | None = None  # the context to compute sampled cuts on
        self._npartitions = len(self._cuts[0]) + 1
        self.split_ties = False  # True when rows of one key may be in two partitions

    @classmethod
    def sampled(cls, parent: Node, key, npartitions: int, descending=False, na_first: bool = False,
                split_ties: bool = True, evaluate: Callable[[Node, Any], Any] | None = None,
                context=None) -> RangePartitioner:
        """Boundaries sampled from ``parent``'s partitions by a node of the plan that shuffles it.

        ``evaluate(node, context)`` computes the value of that node when ``cuts`` are asked for
        outside a plan: the session's ``value_of``, handed in by the array layer with the context
        that was current when the sort was built (the shuffle never computes). The context is
        held by weakref and is not pickled; ``evaluate`` gets None once it is gone.

        Parameters
        ----------
        parent : Node
            The node whose rows are shuffled (or whose keys are sampled).
        key, descending, na_first
            As for the constructor.
        npartitions : int
        split_ties : bool, default True
            Split the rows of a key spanning a boundary by position (sort); else a key stays in one
            partition (groupby, unique).
        evaluate : callable, optional
            ``evaluate(node, context) -> value``.
        context : Context, optional
            The context to compute the boundaries on.

        Returns
        -------
        RangePartitioner
        """
        self = cls((), key, descending, na_first)
        self._evaluate = evaluate
        self._context = None if context is None else weakref.ref(context)
        self._npartitions = npartitions
        self.split_ties = split_ties
        keys = key_fields(key)
        sample = Node("sample", lambda p, block: _sample(p, sort_keys(block, key), split_ties),
                      [OneToOne(parent)], parent.npartitions, VALUE, (), None, pass_index=True,
                      detail=f"{SAMPLE_ROWS} rows per partition", uses=lambda used: [keys])
        order = (key, self.descending, self.na_first)
        self._chooser = Node("boundaries", lambda samples: _choose(samples, npartitions, *order), [AllToOne(sample)],
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
            chooser = self._chooser
            assert chooser is not None and self._evaluate is not None, "a sampled partitioner can compute its cuts"
            return self._evaluate(chooser, None if self._context is None else self._context())
        return self._cuts

    def dependencies(self, parent: Node) -> list:
        """The map side's dependencies, as ``HashPartitioner.dependencies``.

        Parameters
        ----------
        parent : Node
            Read one to one; the boundaries, when sampled, are broadcast to every map task.

        Returns
        -------
        list of Dependency
        """
        if self._chooser is None:
            return [OneToOne(parent)]
        return [OneToOne(parent), Broadcast(self._chooser)]

    def assign(self, p: int, block: np.ndarray, cuts=None) -> np.ndarray:
        """The target partition of every row of a partition, as ``HashPartitioner.assign``.

        Parameters
        ----------
        p, block
            The partition's index (ties are split by row position) and its rows.
        cuts : tuple, optional
            ``(keys, positions or None)``: the sampled boundaries, as the map task receives them.

        Returns
        -------
        numpy.ndarray
        """
        cut_keys, cut_positions = self._cuts if cuts is None else cuts
        keys: Any = sort_keys(block, self.key)
        if isinstance(keys, Text) or keys.dtype.kind in "OT":  # one text key: compared with the cuts
            cut_keys, keys = Text.of(cut_keys), Text.of(keys)
            targets, tied = _count_text_cuts_below(cut_keys, keys, cut_positions is not None, self.descending[0],
                                                   self.na_first)
        else:
            cut_keys, keys = _comparable(cut_keys.astype(keys.dtype, copy=False), keys, self.key, self.descending,
                                         self.na_first)
            targets, tied = _count_cuts_below(cut_keys, keys, cut_positions is not None, self.na_first)
        if cut_positions is not None and len(keys):
            _split_ties(p, targets, tied, cut_keys, cut_positions)
        return targets

    def __eq__(self, other) -> bool:
        if not isinstance(other, RangePartitioner) or (
                (self.key, self.descending, self.na_first, self.split_ties)
                != (other.key, other.descending, other.na_first, other.split_ties)):
            return False
        if self._chooser is not None or other._chooser is not None:
            return self._chooser is other._chooser
        return self.npartitions == other.npartitions and np.array_equal(self._cuts[0], other._cuts[0])

    __hash__ = None  # type: ignore[assignment]  # equal partitioners may differ in identity

    def __getstate__(self) -> dict:
        """Pickled (inside a shipped stage) without the context: a weakref does not travel."""
        return dict(self.__dict__, _context=None)

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


def _choose(samples: list, npartitions: int, key, descending: tuple, na_first: bool):
    """Cuts splitting the weighted samples into ``npartitions`` parts of equal weight."""
    keys = np.concatenate([s[0] for s in samples])
    weights = np.concatenate([s[1] for s in samples])
    with_positions = samples[0][2] is not None
    order = order_of(key_columns(keys, _fields(key)), descending, na_first)  # stable: ties keep position order
    keys, weights = keys[order], weights[order]
    if not len(keys):
        return keys[:0], (np.empty(0, np.int64) if with_positions else None)
    total = np.cumsum(weights)
    picks = np.searchsorted(total, total[-1] * np.arange(1, npartitions) / npartitions, side="left")
    picks = np.minimum(picks, len(keys) - 1)
    positions = np.concatenate([s[2] for s in samples])[order][picks] if with_positions else None
    return keys[picks], positions


_RANGE_KERNEL_DTYPES = {np.dtype(t) for t in (np.int32, np.int64, np.uint64, np.float32, np.float64)}


def _comparable(cut_keys: np.ndarray, keys: np.ndarray, key, descending: tuple, na_first: bool):
    """``(cuts, keys)`` as arrays of a range kernel dtype that ascending order (missing values
    placed by ``na_first``) sorts as the partitioner does: a key of such a dtype negated (floats)
    or inverted (integers) when descending; any other key as its rank among cuts and keys."""
    if keys.dtype in _RANGE_KERNEL_DTYPES and keys.ndim == 1:
        if not descending[0]:
            return cut_keys, keys
        return (-cut_keys, -keys) if keys.dtype.kind == "f" else (~cut_keys, ~keys)
    both = np.concatenate([cut_keys, keys])
    codes, _ = rank_codes(key_columns(both, _fields(key)), descending, na_first)
    return codes[:len(cut_keys)], codes[len(cut_keys):]


def _count_cuts_below(cut_keys: np.ndarray, keys: np.ndarray, ties: bool, na_first: bool):
    """``(number of cuts ordered before each key, tied)`` for sorted ``cut_keys``, by the range
    kernel; ``tied`` (when ``ties``) flags the keys equal to the cut they stop at."""
    from rdarray._core.ranges import count_below

    tied = np.empty(len(keys), np.uint8) if ties else None
    return count_below(np.ascontiguousarray(cut_keys), keys, tied, na_first), tied


def _count_text_cuts_below(cut_keys: Text, keys: Text, ties: bool, descending: bool, na_first: bool):
    """:func:`_count_cuts_below` for one text key, by the text kernel's binary search over the
    cuts' bytes: no ranking of the partition's distinct keys."""
    from rdarray._core.text import count_below

    tied = np.empty(len(keys), np.uint8) if ties else None
    bools = [None if t.missing is None else t.missing.view(np.uint8) for t in (cut_keys, keys)]
    return count_below(cut_keys.offsets, cut_keys.data, bools[0], keys.offsets, keys.data, bools[1], tied,
                       descending, na_first), tied


def _split_ties(p: int, targets, tied, cut_keys, cut_positions) -> None:
    """Rows whose key equals cut keys ``lo..hi-1`` go past the cuts at earlier positions."""
    if tied is None:
        return
    tied = np.flatnonzero(tied)
    if not len(tied):
        return
    same = (cut_keys[1:] == cut_keys[:-1]) | (is_nan(cut_keys[1:]) & is_nan(cut_keys[:-1]))
    starts = np.flatnonzero(np.concatenate([[True], ~same]))  # where each run of equal cuts starts
    ends = np.append(starts[1:], len(cut_keys))
    positions = (np.int64(p) << POSITION_BITS) + tied
    lows = targets[tied]
    for lo in np.unique(lows):
        rows = lows == lo
        hi = ends[np.searchsorted(starts, lo, side="right") - 1]  # past the last cut equal to the key
        targets[tied[rows]] = lo + np.searchsorted(cut_positions[lo:hi], positions[rows], side="left")


def key_columns(block: np.ndarray, key) -> list[np.ndarray]:
    """The key columns of a partition: fields of a structured array, or the array itself."""
    if key is None:
        return [block]
    names = (key,) if isinstance(key, str) else tuple(key)
    return [block[name] for name in names]


def _fields(key):
    """The key of what :func:`sort_keys` returns: its fields for several, else the array itself."""
    return None if key is None or isinstance(key, str) else key


def directions(descending, nkeys: int) -> tuple[bool, ...]:
    """``descending`` as one bool per key column: a bool for every column, or a sequence of exactly
    one bool per key (contract 3.5: anything else is a ``TypeError``)."""
    if isinstance(descending, (bool, np.bool_)):
        return (bool(descending),) * nkeys
    if isinstance(descending, (list, tuple, np.ndarray)) and all(isinstance(d, (bool, np.bool_)) for d in descending):
        if len(descending) != nkeys:
            raise TypeError(f"descending: {len(descending)} directions for {nkeys} key(s); give one per key")
        return tuple(bool(d) for d in descending)
    raise TypeError(f"descending: expected a bool or a sequence of bools, one per key; got {descending!r}")


def sort_order(block: Any, key, descending=False, na_first: bool = False) -> np.ndarray:
    """The stable order of the rows by ``key``: by its first field, ties by the next, and so on."""
    columns = key_columns(block, key)
    return order_of(columns, directions(descending, len(columns)), na_first)


#: kinds whose values NumPy's sort orders as :func:`order_of` does (NaN and NaT last, ties kept)
_NUMPY_ORDER_KINDS = set("biufmMSU")


def order_of(columns: list[np.ndarray], descending: tuple, na_first: bool) -> np.ndarray:
    """The stable order of rows by ``columns`` (the first, ties by the next, ...), each ascending
    or descending, missing values (NaN, NaT) first or last whatever the direction, as pandas'
    ``sort_values(kind="stable")`` orders them.

    Several columns become one int64 code per row (each column's rank, then the row's position):
    NumPy sorts that several times faster than a multi-field view or ``lexsort``.
    """
    first = columns[0]
    if (len(columns) == 1 and not descending[0] and not na_first and first.ndim == 1
            and first.dtype.kind in _NUMPY_ORDER_KINDS):
        return np.argsort(first, kind="stable")
    n = len(first)
    codes, span = rank_codes(columns, descending, na_first)
    if span * max(n, 1) >= 1 << 62:
        return np.argsort(codes, kind="stable")
    codes *= n
    codes += np.arange(n)  # every code differs, so any sort keeps equal keys in row order
    return np.argsort(codes)


def rank_codes(columns: list[np.ndarray], descending: tuple, na_first: bool) -> tuple[np.ndarray, int]:
    """``(codes, span)``: one int64 code in ``range(span)`` per row, ordered as :func:`order_of`
    orders the rows; equal keys get equal codes."""
    n = len(columns[0])
    combined, span = np.zeros(n, np.int64), 1
    for column, down in zip(columns, descending):
        codes, size = _ranks(column, down, na_first)
        if span * size >= 1 << 62:  # renumber the distinct codes so far: at most n of them
            combined, span = _dense(combined)
        combined *= size
        combined += codes
        span *= size
    return combined, span


def _dense(values: np.ndarray) -> tuple[np.ndarray, int]:
    """``(codes, size)``: int64 codes in ``range(size)`` ordered as the values are."""
    distinct, codes = np.unique(values, return_inverse=True, axis=0 if values.ndim > 1 else None)
    return codes.reshape(-1).astype(np.int64, copy=False), max(len(distinct), 1)


def _ranks(column, descending: bool, na_first: bool) -> tuple[np.ndarray, int]:
    """``(codes, size)``: int64 codes in ``range(size)`` ordered as the column's values are in the
    given direction, missing values (NaN, NaT) one code before or after all others."""
    if column.dtype.kind in "OT":  # text: a text field of records (str and NaN objects), StringDType
        column = Text.of(column)
    missing = is_nan(column) if isinstance(column, Text) or (column.dtype.kind in "fcmM" and column.ndim == 1) else None
    if missing is not None and not missing.any():
        missing = None
    present = column if missing is None else column[~missing]
    kind, dense = present.dtype.kind, False
    if present.ndim == 1 and len(present) and (kind in "bi" or (kind == "u" and present.dtype.itemsize < 8)):
        low, high = int(present.min()), int(present.max())
        dense = high - low < len(present) * 4
    if dense:  # dense integers: their offsets are ranks, no sort needed
        codes, size = present.astype(np.int64) - low, high - low + 1
    elif isinstance(present, Text):  # hashed into groups; only the distinct values are sorted
        ids, size, first = factorize(present)
        ranks = np.empty(size, np.int64)
        ranks[np.argsort(present.take(first).to_numpy(), kind="stable")] = np.arange(size)
        codes, size = ranks[ids], max(size, 1)
    else:
        codes, size = _dense(present.reshape(len(present), -1) if present.ndim > 1 else present)
    if descending:
        codes = size - 1 - codes
    if missing is None:
        return codes, size
    out = np.empty(len(column), np.int64)
    out[~missing] = codes + na_first
    out[missing] = 0 if na_first else size
    return out, size + 1


def sort_keys(block: np.ndarray, key) -> np.ndarray:
    """One comparable array for ordering rows: a field, a multi-field view, or the values."""
    if key is None:
        return block
    if isinstance(key, str):
        return block[key]
    return repack_fields(block[list(key)])
