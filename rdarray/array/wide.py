"""Wide transformations: operations whose output partitions need rows of every input partition."""

from __future__ import annotations

import numpy as np

from ..dtypes import is_nan
from ..shuffle.exchange import coalesced, shuffle
from ..shuffle.partitioners import HashPartitioner, RangePartitioner, sort_order


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


def partition_by(self, key=None, npartitions=None):
    """Rows hash-partitioned by ``key`` (a field, fields, or the values of a 1-D array) into
    ``npartitions``, by default as many as the array has (fewer for a small array in very many,
    see :func:`~rdarray.shuffle.exchange.coalesced`). An array already partitioned that way (with
    the partition count asked for, or its own) is returned as it is: no data moves."""
    from .core import check_npartitions

    key = check_key(self, key, "partition_by")
    if npartitions is not None:
        npartitions = check_npartitions(npartitions, "partition_by")
    if self.partitioner == HashPartitioner(npartitions or self.npartitions, key):
        return self
    source = coalesced(self, npartitions)
    n = npartitions or source.npartitions
    return shuffle(source, HashPartitioner(n, key), "partition_by", detail=f"{key or 'values'}, {n}")


def sort(self, order=None, descending=False):
    """Globally sorted by ``order`` (fields of a structured array; the values of a 1-D array), in
    range partitions cut at boundaries sampled from every partition; equal keys spanning a
    boundary are split by position, so a dominant key still gives balanced partitions."""
    return range_sorted(self, check_key(self, order, "sort"), bool(descending))


def range_sorted(x, key, descending: bool = False, split_ties: bool = True, local=None):
    """``x`` range-partitioned on ``key`` and sorted within each partition (stably); ``local``
    then maps each sorted partition (without ``split_ties``, it sees every row of its keys)."""
    x = coalesced(x)
    partitioner = RangePartitioner.sampled(x._node, key, x.npartitions, descending, split_ties)

    def local_sort(pieces):
        rows = np.concatenate(pieces)
        if key is None:  # the rows are the keys: NumPy's fastest sort (stability cannot show)
            rows.sort()
            ordered = rows
        else:
            ordered = rows[sort_order(rows, key)]
        ordered = ordered[::-1] if descending else ordered
        return ordered if local is None else local(ordered)

    detail = f"{key or 'values'}{', descending' if descending else ''}"
    return shuffle(x, partitioner, "sort", local_sort, detail=detail)


def unique(self):
    """The distinct values, sorted, as ``np.unique`` (NaN once; N-D arrays flattened; structured
    rows compared field by field). Each partition is deduplicated before the sort's shuffle."""
    x = coalesced(self if self.ndim == 1 else self.map_partitions(np.ravel, dtype=self.dtype))
    order = x.dtype.names
    return range_sorted(x.map_partitions(np.unique, dtype=x.dtype), order, split_ties=False, local=np.unique)


def value_counts(self, dropna: bool = True):
    """Each distinct value with its number of rows, most frequent first (ties: smaller value first),
    as a structured array with fields ``value`` and ``count``; NaN is dropped unless ``dropna=False``.
    Counts are combined per partition before the shuffle (map-side combine), which an array
    already hash-partitioned by its values skips; ordering by count is a range shuffle of the
    counts."""
    if self.ndim != 1 or self.dtype.names:
        raise ValueError("value_counts: needs a 1-D array of values")
    counted = np.dtype([("value", self.dtype), ("count", np.int64), ("order", np.int64)])

    def count(values, weights=None):
        if dropna:
            keep = ~is_nan(values)
            values, weights = values[keep], None if weights is None else weights[keep]
        distinct, inverse = np.unique(values, return_inverse=True)
        rows = np.empty(len(distinct), dtype=counted)
        rows["value"] = distinct
        rows["count"] = np.bincount(inverse, weights=weights, minlength=len(distinct)).astype(np.int64)
        rows["order"] = -rows["count"]
        return rows

    def merge(pieces):
        rows = np.concatenate(pieces)
        return count(rows["value"], rows["count"])

    if self.partitioner == HashPartitioner(self.npartitions, None):
        merged = self.map_partitions(count, dtype=counted)  # each value is in one partition: counts are whole
    else:
        partial = coalesced(self).map_partitions(count, dtype=counted)
        merged = shuffle(partial, HashPartitioner(partial.npartitions, "value"), "value_counts", merge)
    result = np.dtype([("value", self.dtype), ("count", np.int64)])
    return merged.sort(["order", "value"]).map_partitions(lambda b: b[["value", "count"]].astype(result), dtype=result)

