"""Aggregates of whole groups: exact quantiles and the user's functions.

They need every value of a group at once, so groupby shuffles the rows themselves (no map-side
combine) and computes them here, per reduce partition. Quantiles take one sort by (group, value)
and index arithmetic for every group at once; a user's function runs once per group, on slices of
the values ordered by group.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..dtypes import keep_zones
from ..shuffle import hashing
from ..text import Text


def group_quantile(values, ids: np.ndarray, ngroups: int, q: float, median: bool = False) -> np.ndarray:
    """Each group's ``q`` quantile of its non-missing values (float64; NaN where none), by linear
    interpolation as pandas' ``quantile`` (``a + (b - a) * frac``); ``median`` averages the two
    middle values as pandas' ``median`` does."""
    v = np.asarray(values)
    v = v.astype(np.float64) if v.dtype != np.float64 else v
    keep = ~np.isnan(v)
    if not keep.all():
        v, ids = v[keep], ids[keep]
    out = np.full(ngroups, np.nan)
    if not len(v):
        return out
    order = np.lexsort((v, ids))  # by group, then value
    v = v[order]
    counts = np.bincount(ids, minlength=ngroups)
    start = np.cumsum(counts) - counts
    has = counts > 0
    counts, start = counts[has], start[has]
    h = (counts - 1) * float(q)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, counts - 1)
    a, b = v[start + lo], v[start + hi]
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, as in pandas
        found = (a + b) / 2 if median else a + (b - a) * (h - lo)
    out[has] = np.where(h > lo, found, a)
    return out


def group_call(fn: Callable, values, ids: np.ndarray, ngroups: int, dtype: np.dtype) -> np.ndarray:
    """``fn(v)`` of each group's values ``v`` (a 1-D ndarray in row order, missing values kept, as
    pandas hands a function a group's Series), one scalar of ``dtype`` per group."""
    start, order = hashing.group_rows(ids, ngroups)
    if isinstance(values, Text):
        values = values.take_or_missing(order).to_numpy()
    else:
        values = np.asarray(values)[order]
    out = np.empty(ngroups, dtype)
    for g in range(ngroups):
        out[g] = check_scalar(fn(values[start[g]:start[g + 1]]), fn)
    return out


def call_dtype(fn: Callable, dtype: np.dtype, sample) -> np.dtype:
    """The dtype of ``fn``'s results, from its result on ``sample`` (one value of ``dtype``): a
    number, bool or time; text results are refused, their width unknown before the groups are seen."""
    found = np.asarray(check_scalar(fn(sample), fn)).dtype
    if found.kind not in "biufmM":
        raise TypeError(f"groupby.agg: {_name(fn)} returned a {found} on a sample of {dtype}; a function "
                        "given to agg must return one number, bool or time per group (use apply for others)")
    return keep_zones(found, [dtype])  # a time of a zoned field's values is in its zone


def check_scalar(result, fn: Callable):
    """``result`` if it is one value, else a ValueError naming ``fn``."""
    if np.ndim(result) != 0:
        raise ValueError(f"groupby.agg: {_name(fn)} must return one value per group, got shape {np.shape(result)}")
    return result


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", repr(fn))
