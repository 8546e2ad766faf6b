"""Wide transformations: operations whose output partitions need rows of every input partition."""

from __future__ import annotations

import numpy as np

from ..shuffle.exchange import shuffle
from ..shuffle.partitioners import HashPartitioner, RangePartitioner, sort_keys

#: rows sampled from each partition to choose the boundaries of a sort
SAMPLE_ROWS = 256


def _check_key(x, key, what: str):
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
    """Rows hash-partitioned by ``key`` (a field, fields, or the values of a 1-D array). An array
    already partitioned that way is returned as it is: no data moves."""
    from .core import check_npartitions

    key = _check_key(self, key, "partition_by")
    n = check_npartitions(self.npartitions if npartitions is None else npartitions, "partition_by")
    partitioner = HashPartitioner(n, key)
    if self.partitioner == partitioner:
        return self
    return shuffle(self, partitioner, "partition_by", detail=f"{key or 'values'}, {n}")


def sort(self, order=None, descending=False):
    """Globally sorted by ``order`` (fields of a structured array; the values of a 1-D array), in
    range partitions whose boundaries come from a sample of every partition (computed now)."""
    key = _check_key(self, order, "sort")
    n = self.npartitions
    samples = self.map_partitions(lambda b: _sample(sort_keys(b, key)), dtype=sort_keys(
        np.empty(0, self.dtype), key).dtype).compute()
    samples = np.sort(samples)
    cuts = [samples[int(len(samples) * k / n)] for k in range(1, n)] if len(samples) else []
    partitioner = RangePartitioner(tuple(cuts), key, bool(descending))

    def local_sort(pieces):
        rows = np.concatenate(pieces)
        ordered = rows[np.argsort(sort_keys(rows, key), kind="stable")]
        return ordered[::-1] if descending else ordered

    return shuffle(self, partitioner, "sort", local_sort, detail=f"{key or 'values'}{', descending' if descending else ''}")


def _sample(keys: np.ndarray) -> np.ndarray:
    """Evenly spaced keys of one partition, at most SAMPLE_ROWS of them."""
    if len(keys) <= SAMPLE_ROWS:
        return keys
    return keys[np.linspace(0, len(keys) - 1, SAMPLE_ROWS).astype(np.intp)]
