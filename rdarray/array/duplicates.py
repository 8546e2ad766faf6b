"""``x.drop_duplicates(subset, keep)``: the rows whose key is not repeated before (or after) them,
in their input order, as pandas'.

Three steps, each parallel but the small middle one:

1. each partition keeps, per distinct key (hashed, ``shuffle.hashing.factorize``), its first or
   last row's position and the key's count there (a map-side combine);
2. those are shuffled by the key's hash, so each key's entries meet in one task, which picks the
   key's winning position (the first, the last, or none when the key is repeated and
   ``keep=False``);
3. the winning positions, gathered into one sorted array read by every partition (a broadcast),
   mask each partition's rows.

Keys compare as pandas compares them: NaN equals NaN, NaT equals NaT, missing text equals missing
text, -0.0 equals 0.0. A position is the partition's index and the row's index in it.
"""

from __future__ import annotations

import numpy as np

from ..graph.lineage import VALUE, AllToOne, Broadcast, Node, OneToOne
from ..shuffle import hashing
from ..shuffle.partitioners import HashPartitioner, key_columns
from ..table import Table, concat
from ..text import field_dtype
from .elementwise import map_blocks
from .wide import check_key, coalesced, shuffled

#: a position is ``partition << _ROW_BITS | row``
_ROW_BITS = 40
_KEEP = {"first": "first", "last": "last", False: "none"}


def drop_duplicates(self, subset=None, keep="first"):
    """The rows without an equal key earlier (``keep="first"``), later (``"last"``) or anywhere
    else (``False``), in input order, as pandas' ``drop_duplicates``.

    Missing keys (NaN, NaT, missing text) equal each other. Each partition drops its own
    duplicates first; one shuffle of the remaining keys (with their positions) decides which
    rows stay, and their positions, broadcast to every partition, select them.

    Parameters
    ----------
    subset : str or list of str, optional
        The key fields of a table; by default every field. None for a 1-D array (its values).
    keep : {"first", "last", False}, default "first"

    Returns
    -------
    PartitionedArray
        The kept rows, in the array's dtype and order.

    Examples
    --------
    >>> t.drop_duplicates(["k", "day"], keep="last")
    """
    if isinstance(keep, bool) and keep or keep not in _KEEP:
        raise ValueError(f"drop_duplicates: keep must be 'first', 'last' or False, got {keep!r}")
    if subset is None and self.dtype.names:
        subset = list(self.dtype.names)
    if subset is not None and not isinstance(subset, str) and len(subset) == 0:
        raise ValueError("drop_duplicates: subset names no field")
    key = check_key(self, subset, "drop_duplicates")
    names = [key] if isinstance(key, str) else list(key or [])
    return _deduplicated(self, names, _KEEP[keep])


def _deduplicated(x, names: list[str], keep: str):
    from .core import PartitionedArray

    source = names or None
    partitioned_by = None if not names else names[0] if len(names) == 1 else tuple(names)
    if isinstance(x.partitioner, HashPartitioner) and x.partitioner.key == partitioned_by:
        # equal keys share a partition already (``partition_by``): each partition on its own
        return map_blocks(x, lambda block: block[np.sort(_kept(key_columns(block, source), keep))],
                          "drop_duplicates", f"keep={keep}, per partition", x.dtype, x._node.trailing,
                          same_rows=False)
    x = coalesced(x)
    node = x._node
    keys = [f"k{i}" for i in range(max(len(names), 1))]
    key_dtypes = [node.dtype[f] for f in names] if names else [field_dtype(node.dtype)]
    entry = np.dtype([(k, d) for k, d in zip(keys, key_dtypes)] + [("position", np.int64), ("count", np.int64)])

    def local(p, block):
        columns = key_columns(block, source)
        ids, ngroups, first = hashing.factorize(columns)
        chosen = hashing.group_first_row(ids, ngroups, last=True) if keep == "last" else first
        fields = {k: c[chosen] for k, c in zip(keys, columns)}
        fields["position"] = (p << _ROW_BITS) + chosen.astype(np.int64)
        fields["count"] = np.bincount(ids, minlength=ngroups).astype(np.int64)
        return Table(entry, fields)

    def decide(pieces):
        # buckets come in map-partition order, each in its rows' order: a key's first entry holds
        # its earliest position, its last entry its latest
        entries = concat(pieces)
        positions = entries["position"]
        ids, ngroups, first = hashing.factorize([entries[k] for k in keys])
        if keep == "last":
            return positions[hashing.group_first_row(ids, ngroups, last=True)]
        if keep == "first":
            return positions[first]
        counts = np.bincount(ids, weights=entries["count"], minlength=ngroups)
        return positions[first[counts == 1]]

    per_key = PartitionedArray(Node("drop_duplicates", local, [OneToOne(node)], node.npartitions, entry, (), None,
                                    pass_index=True, detail="distinct keys per partition",
                                    uses=lambda used: [frozenset(names) if names else None]))
    winners = shuffled(per_key, HashPartitioner(per_key.npartitions, tuple(keys) if len(keys) > 1 else keys[0]),
                       "drop_duplicates", decide, dtype=np.int64, trailing=(), detail=", ".join(names) or "values")

    def gather(parts):
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)

    kept = Node("kept rows", gather, [AllToOne(winners._node)], 1, VALUE, (), None, detail="merge")

    def select(p, block, positions):
        lo, hi = np.searchsorted(positions, [p << _ROW_BITS, (p + 1) << _ROW_BITS])
        mask = np.zeros(len(block), bool)
        mask[positions[lo:hi] - (p << _ROW_BITS)] = True
        return block[mask]

    return PartitionedArray(Node("drop_duplicates", select, [OneToOne(node), Broadcast(kept)], node.npartitions,
                                 node.dtype, node.trailing, None, pass_index=True,
                                 detail=f"keep={keep}", uses=lambda used: [used, None]))


def _kept(columns, keep: str) -> np.ndarray:
    """The rows of one partition holding every row of its keys that ``keep`` keeps."""
    ids, ngroups, first = hashing.factorize(columns)
    if keep == "last":
        return hashing.group_first_row(ids, ngroups, last=True)
    if keep == "first":
        return first
    return first[np.bincount(ids, minlength=ngroups) == 1]
