"""Wide transformations: operations whose output partitions need rows of every input partition."""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import is_nan
from ..session.compute import value_of
from ..session.context import current_context
from ..shuffle import hashing
from ..shuffle.exchange import KEEP_PARTITIONS, LEARN_LENGTHS_ABOVE, shuffle
from ..shuffle.partitioners import HashPartitioner, RangePartitioner, directions, key_fields, sort_order
from ..table import Table
from ..text import Text, field_dtype, holds_text
from .elementwise import map_blocks


def check_key(x, key, what: str):
    """``key`` as None (the values of a 1-D array), a field name or a tuple of field names."""
    names = x.dtype.names
    if key is None:
        if names:
            raise ValueError(f"{what}: a structured array needs a key field; fields are: {', '.join(names)}")
        if x.ndim != 1:
            raise ValueError(f"{what}: rows of a {x.ndim}-D array are not keys; use a 1-D or structured array")
        return None
    keys = (key,) if isinstance(key, str) else tuple(key)
    for k in keys:
        if not names or k not in names:
            have = ", ".join(names) if names else "none (the dtype is not structured)"
            raise KeyError(f"{what}: field {k!r} not found; the fields are: {have}")
    return keys[0] if len(keys) == 1 else keys


def coalesced(x, targets: int | None = None):
    """``x`` with neighbouring partitions joined (no data moves) into as many as its size calls for
    (as ``from_numpy`` splits an array) or ``KEEP_PARTITIONS``, whichever is more, when that is
    fewer than it has; fewer still when each is to write ``targets`` buckets.

    A shuffle costs a task per map output and a bucket per map output and target, so a small array
    in many partitions would shuffle in time (and bucket tables) quadratic in their number. Lengths
    unknown are computed first when the partitions are very many, else ``x`` is shuffled as it is.
    """
    from .core import default_npartitions, ensure_lengths

    node = x._node
    if node.partition_lengths is None and x.npartitions <= LEARN_LENGTHS_ABOVE:
        return x
    rows = sum(ensure_lengths(node))
    keep = KEEP_PARTITIONS if targets is None else min(KEEP_PARTITIONS, max(1, KEEP_PARTITIONS ** 2 // targets))
    n = max(default_npartitions(rows, x.dtype.itemsize * math.prod(node.trailing)), keep)
    return x.coalesce(n) if n < x.npartitions else x


def shuffled(x, partitioner, op: str, reduce=None, **options):
    """``x``'s rows moved by ``partitioner`` (``shuffle.exchange.shuffle``), as an array."""
    from .core import PartitionedArray

    return PartitionedArray(shuffle(x._node, partitioner, op, reduce, **options))


def partition_by(self, key=None, npartitions=None):
    """Rows hash-partitioned by ``key``, so equal keys share a partition.

    An array already partitioned that way (with the partition count asked for, or its own) is
    returned as it is: no data moves.

    Parameters
    ----------
    key : str, list of str, optional
        A field, fields, or None for the values of a 1-D array.
    npartitions : int, optional
        By default as many as the array has (fewer for a small array in very many, see
        :func:`coalesced`).

    Returns
    -------
    PartitionedArray
    """
    from .core import check_npartitions

    key = check_key(self, key, "partition_by")
    if npartitions is not None:
        npartitions = check_npartitions(npartitions, "partition_by")
    if self.partitioner == HashPartitioner(npartitions or self.npartitions, key):
        return self
    source = coalesced(self, npartitions)
    n = npartitions or source.npartitions
    return shuffled(source, HashPartitioner(n, key), "partition_by", detail=f"{key or 'values'}, {n}")


def sort(self, order=None, descending=False, na_position: str = "last"):
    """Globally sorted, stably (ties in input order, as pandas' ``sort_values(kind="stable")``).

    Range partitions are cut at boundaries sampled from every partition; equal keys spanning a
    boundary are split by position, so a dominant key still gives balanced partitions.

    Parameters
    ----------
    order : str or list of str, optional
        Key fields of a structured array; None sorts the values of a 1-D array.
    descending : bool or list of bool, default False
        One direction for every key, or one per key.
    na_position : {"last", "first"}
        Where missing values (NaN, NaT) go, in either direction.

    Returns
    -------
    PartitionedArray

    Examples
    --------
    >>> t.sort(["k", "v"], descending=[False, True]).head(3)
    """
    key = check_key(self, order, "sort")
    down = directions(descending, 1 if key is None or isinstance(key, str) else len(key))
    if not isinstance(na_position, str):
        raise TypeError(f"sort: na_position must be 'last' or 'first', got {type(na_position).__name__}")
    if na_position not in ("last", "first"):
        raise ValueError(f"sort: na_position must be 'last' or 'first', got {na_position!r}")
    return range_sorted(self, key, down, na_position == "first")


def range_sorted(x, key, descending=False, na_first: bool = False, split_ties: bool = True, local=None):
    """``x`` range-partitioned on ``key`` and sorted within each partition (stably); ``local``
    then maps each sorted partition (without ``split_ties``, it sees every row of its keys)."""
    x = coalesced(x)
    partitioner = RangePartitioner.sampled(x._node, key, x.npartitions, descending, na_first, split_ties,
                                           evaluate=value_of, context=current_context())
    down = partitioner.descending

    def local_sort(pieces):
        rows = np.concatenate(pieces)
        if key is None and rows.dtype.kind in _VALUE_SORT_KINDS:
            ordered = _sorted_values(rows, pieces, down[0], na_first)
        else:
            ordered = rows[sort_order(rows, key, down, na_first)]
        return ordered if local is None else local(ordered)

    detail = f"{key or 'values'}{_directions_detail(down, na_first)}"
    keys = key_fields(key)

    def uses(used):  # the rows' fields, and the key that orders them
        return [None if used is None or local is not None else used | keys]

    return shuffled(x, partitioner, "sort", local_sort, detail=detail, uses=uses)


def _directions_detail(down: tuple, na_first: bool) -> str:
    """How ``explain`` shows a sort's directions: nothing for the default."""
    shown = "" if not any(down) else ", descending" if all(down) else \
        ", " + "/".join("descending" if d else "ascending" for d in down)
    return shown + (", NaN first" if na_first else "")


#: kinds whose values NumPy sorts in place, equal values being equal bytes but for floats' signed
#: zeros and NaN payloads, which :func:`_sorted_values` puts back in input order
_VALUE_SORT_KINDS = set("biufmMSU")


def _sorted_values(rows: np.ndarray, pieces: list, descending: bool, na_first: bool) -> np.ndarray:
    """``rows`` (the ``pieces`` joined, 1-D values) in a stable sort's order, sorted in place by
    NumPy's fastest (unstable) sort: only values that compare equal yet differ (zeros of both
    signs, NaNs of several bit patterns) can show the order of ties, so the zeros (when of both
    signs) and the NaNs (whose bits that sort does not keep) are refilled from ``pieces`` in input
    order. Missing values (NaN, NaT) form one run, moved first when ``na_first``."""
    rows.sort()
    n = len(rows)
    k = int(np.searchsorted(rows, rows[-1:], "left")[0]) if rows.dtype.kind in "fmM" and n and is_nan(rows[-1]) \
        else n  # the sort puts missing values last
    if rows.dtype.kind == "f":
        lo, hi = np.searchsorted(rows[:k], 0, "left"), np.searchsorted(rows[:k], 0, "right")
        if np.unique(np.signbit(rows[lo:hi])).size > 1:
            rows[lo:hi] = np.concatenate([p[p == 0] for p in pieces])
        if k < n:
            rows[k:] = np.concatenate([p[np.isnan(p)] for p in pieces])
        if descending and hi > lo:
            rows[lo:hi] = rows[lo:hi][::-1]  # reversed below with the rest, so kept in input order
    if descending:
        rows[:k] = rows[:k][::-1]
    return np.concatenate([rows[k:], rows[:k]]) if na_first and k < n else rows


def unique(self):
    """The distinct values, sorted, as ``np.unique`` (NaN once; N-D arrays flattened; structured
    rows compared field by field). Each partition is deduplicated before the sort's shuffle."""
    x = coalesced(self if self.ndim == 1 else self.map_partitions(np.ravel, dtype=self.dtype))
    order = x.dtype.names
    return range_sorted(x.map_partitions(np.unique, dtype=x.dtype), order, split_ties=False,
                        local=np.unique)


def value_counts(self, subset=None, dropna: bool = True):
    """Each distinct value (or combination of a table's fields) with its number of rows, most
    frequent first (ties: smaller key first, missing keys last), as pandas' ``value_counts``.

    Counts are combined per partition before the shuffle (map-side combine), which an array
    already hash-partitioned by its values skips; ordering by count is a range shuffle of the
    counts. A table's combinations are counted by ``groupby(subset).size()``.

    Parameters
    ----------
    subset : str or list of str, optional
        The fields of a table whose combinations are counted; by default every field. None for
        a 1-D array.
    dropna : bool, default True
        Leave out values (rows of a table) with a missing key (NaN, NaT, missing text); else they
        are counted, equal to each other.

    Returns
    -------
    PartitionedArray
        A structured array with fields ``value`` and ``count`` (a 1-D array), or the subset's
        fields and ``count`` (a table).

    Examples
    --------
    >>> t.value_counts(["store", "day"]).head(3)
    """
    if isinstance(subset, (bool, np.bool_)):
        raise TypeError("value_counts: subset names fields; give dropna= by name")
    if self.dtype.names:
        return _combination_counts(self, subset, dropna)
    if subset is not None:
        raise KeyError(f"value_counts: subset names fields; the array has none (dtype {self.dtype})")
    if self.ndim != 1 or self.dtype.names:
        raise ValueError("value_counts: needs a 1-D array of values")
    counted = np.dtype([("value", field_dtype(self.dtype)), ("count", np.int64), ("order", np.int64)])

    def count(values, weights=None):
        if dropna:
            keep = ~is_nan(values)
            values, weights = values[keep], None if weights is None else weights[keep]
        if holds_text(values):  # text: hashed, not sorted
            values = Text.of(values)
            inverse, size, first = hashing.factorize(values)
            distinct = values.take(first)
        else:
            distinct, inverse = np.unique(values, return_inverse=True)
        counts = np.bincount(inverse, weights=weights, minlength=len(distinct)).astype(np.int64)
        return Table(counted, {"value": distinct, "count": counts, "order": -counts}).with_dtype(counted)

    def merge(pieces):
        rows = np.concatenate(pieces)
        return count(rows["value"], rows["count"])

    def counted_per_partition(x):
        return map_blocks(x, count, "value_counts", dtype=counted, trailing=(), same_rows=False)

    if self.partitioner == HashPartitioner(self.npartitions, None):
        merged = counted_per_partition(self)  # each value is in one partition: counts are whole
    else:
        partial = counted_per_partition(coalesced(self))
        merged = shuffled(partial, HashPartitioner(partial.npartitions, "value"), "value_counts", merge)
    return merged.sort(["order", "value"])[["value", "count"]]



def _combination_counts(x, subset, dropna: bool):
    """``DataFrame.value_counts(subset)``: the size of each group of the subset's fields, ordered by
    size (descending), then by the fields."""
    if subset is not None and not isinstance(subset, str) and len(subset) == 0:
        raise ValueError("value_counts: subset names no field")
    key = check_key(x, list(x.dtype.names) if subset is None else subset, "value_counts")
    names = [key] if isinstance(key, str) else list(key)
    if "count" in names:
        raise ValueError("value_counts: a field named 'count' would clash with the counts; rename it")
    inner = {name: f"k{i}" for i, name in enumerate(names)}  # no clash with ``size`` and ``order``
    keys = list(inner.values())
    sizes = x[names].rename(columns=inner).groupby(keys, sort=False, dropna=dropna).size()
    ordered = sizes.assign(order=-sizes["size"]).sort(["order"] + keys)
    return ordered[keys + ["size"]].rename(columns={**{k: n for n, k in inner.items()}, "size": "count"})
