"""Thin wrappers over the hashing kernels (``rdarray._core.hashing``): turn user input into what
the kernels take (arrays in native byte order, contiguous targets and ids, int64 or float64
values) and pick the kernel for the dtype. The kernels check dtypes, lengths and ranges.

Keys are one 1-D array, or a sequence of them combined row-wise; see the kernel module for the
hash definition (fixed seed, equal integers hash alike in every width, -0.0 as 0.0, one NaN).
"""
from __future__ import annotations

import operator

import numpy as np

import rdarray._core.hashing as _k

from ..text import Text, as_words, holds_text, word_dtype


def _key_columns(columns) -> list:
    """The key columns as the kernels take them: native arrays, text as ``(offsets, data, missing)``."""
    cols: list = [c if isinstance(c, Text) else np.asarray(c)
            for c in ([columns] if isinstance(columns, (np.ndarray, Text)) else columns)]
    for i, c in enumerate(cols):
        if holds_text(c):
            c = Text.of(c)
            cols[i] = (c.offsets, c.data, c.missing)
        elif c.dtype.kind == "f" and c.dtype.itemsize == 2:
            cols[i] = c.astype(np.float32)  # exact, so float16 keys hash as the floats they equal
        elif not c.dtype.isnative:
            cols[i] = c.astype(c.dtype.newbyteorder("="))
    return cols


def hash_keys(columns) -> np.ndarray:
    """uint64 hash of every row of the key column(s); deterministic across processes."""
    return _k.hash_keys(_key_columns(columns))


def partition_of(hashes, npartitions: int) -> np.ndarray:
    """int32 partition in ``[0, npartitions)`` of every hash (from its high bits: uniform)."""
    hashes = np.asarray(hashes)
    if hashes.dtype.kind not in "iu" or hashes.dtype.itemsize != 8:
        raise TypeError(f"hashes must be uint64 (as hash_keys returns), got {hashes.dtype}")
    hashes = np.require(hashes.view(np.uint64), requirements=["C", "A"])
    return _k.partition_of(hashes, operator.index(npartitions))


def partition_keys(columns, npartitions: int) -> np.ndarray:
    """``partition_of(hash_keys(columns), npartitions)`` in one pass, with no array of hashes."""
    return _k.partition_keys(_key_columns(columns), operator.index(npartitions))


def scatter(rows, targets, npartitions: int) -> tuple:
    """Group rows (any dtype, whole rows of every field and trailing axis) by their target
    partition in one stable pass: ``(out, offsets)``, bucket k being the view
    ``out[offsets[k]:offsets[k + 1]]``; offsets is int64 of length ``npartitions + 1``."""
    if isinstance(rows, Text):  # a counting sort of the row numbers, then one gather
        offsets, order = group_rows(targets, npartitions)
        return rows.take(order), offsets
    rows = np.ascontiguousarray(rows) if np.ndim(rows) else np.asarray(rows)
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must be integers, got {targets.dtype}")
    if targets.dtype not in (np.int32, np.int64):
        targets = targets.astype(np.int64)  # uint64 beyond int64 turns negative: out of range
    return _k.scatter(rows, np.require(targets, requirements=["C", "A"]), operator.index(npartitions))


def as_text_where(columns, other) -> list:
    """``columns`` with each fixed-width ``S``/``U`` column whose counterpart in ``other`` is
    variable-width text made text too (keys of both kinds match when their text is equal)."""
    return [Text.of(c) if not isinstance(c, Text) and np.asarray(c).dtype.kind in "SU" and holds_text(o) else c
            for c, o in zip(columns, other)]


class HashIndex:
    """A hash table over key columns, built once and probed by many: ``lookup(columns)`` gives each
    row's group or -1; ``ids`` and ``ngroups`` number the built rows as ``factorize`` does. Probe
    columns are converted as the built ones were (text and fixed-width keys meet as text)."""

    def __init__(self, columns):
        self._columns = list(columns) if not isinstance(columns, (np.ndarray, Text)) else [columns]
        self._index = _k.HashIndex(_key_columns(self._columns))
        self.ids, self.ngroups = self._index.ids, self._index.ngroups

    def lookup(self, columns) -> np.ndarray:
        columns = list(columns) if not isinstance(columns, (np.ndarray, Text)) else [columns]
        built = as_text_where(self._columns, columns)
        if any(b is not c for b, c in zip(built, self._columns)):  # rebuilt once, keys as text
            self._columns = built
            self._index = _k.HashIndex(_key_columns(built))
        return self._index.lookup(_key_columns(as_text_where(columns, self._columns)))


def factorize(columns) -> tuple[np.ndarray, int, np.ndarray]:
    """``(group_ids, n_groups, first_rows)``: a dense int64 id per row in order of first
    appearance of its key (NaN keys are one group, -0.0 is 0.0), as
    ``pandas.factorize(..., use_na_sentinel=False)``; ``first_rows[g]`` is group g's first row.

    Fixed-width text of a machine word (``S1``-``S8``, ``U1``, ``U2``) is numbered as the
    unsigned integers its rows are (equal rows, equal integers): no text is made of it. Ids never
    leave the rows numbered, so no other layout has to hash alike."""
    columns = [columns] if isinstance(columns, (np.ndarray, Text)) else list(columns)
    return _k.factorize(_key_columns([_as_word(c) for c in columns]))


def _as_word(column):
    """A column of ``S1``-``S8``, ``U1`` or ``U2`` rows as unsigned integers; any other as it is."""
    if isinstance(column, np.ndarray) and column.ndim == 1 and word_dtype(column.dtype) is not None:
        return as_words(column)
    return column


def _group_args(values, group_ids, n_groups):
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"group values must be 1-D, got {values.ndim}-D")
    if values.dtype.kind == "f" and values.dtype.itemsize <= 8:
        values = np.require(values, np.float64, "A")  # a field of a structured block: no copy
    elif values.dtype.kind in "bi" or (values.dtype.kind == "u" and values.dtype.itemsize < 8):
        values = np.require(values, np.int64, "A")
    else:
        raise TypeError(f"group values must be integers (not uint64), bool or floats, got {values.dtype}")
    group_ids = np.asarray(group_ids)
    if group_ids.dtype.kind not in "iu":
        raise TypeError(f"group ids must be integers, got {group_ids.dtype}")
    return values, np.require(group_ids, np.int64, ["C", "A"]), operator.index(n_groups)


def group_sum(values, group_ids, n_groups: int) -> np.ndarray:
    """Per-group sum, NaN skipped (0 for a group without values): float64 or int64."""
    return _k.group_sum(*_group_args(values, group_ids, n_groups))


def group_count(values, group_ids, n_groups: int) -> np.ndarray:
    """Per-group number of non-NaN values (int64)."""
    return _k.group_count(*_group_args(values, group_ids, n_groups))


def group_extreme(values, group_ids, n_groups: int, is_max: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(extreme, count)``: per-group max (or min) and number of non-NaN values; the extreme of a
    group without values is NaN for floats, 0 for integers."""
    return _k.group_minmax(*_group_args(values, group_ids, n_groups), is_max)


def _group_extreme(values, group_ids, n_groups, is_max: bool) -> np.ndarray:
    out, count = group_extreme(values, group_ids, n_groups, is_max)
    if out.dtype.kind == "i" and not count.all():
        raise ValueError(f"group {int(np.argmin(count))} has no values: no integer min/max")
    return out


def group_min(values, group_ids, n_groups: int) -> np.ndarray:
    """Per-group minimum, NaN skipped (NaN for a float group without values)."""
    return _group_extreme(values, group_ids, n_groups, False)


def group_max(values, group_ids, n_groups: int) -> np.ndarray:
    """Per-group maximum, NaN skipped (NaN for a float group without values)."""
    return _group_extreme(values, group_ids, n_groups, True)


def group_moments(values, group_ids, n_groups: int, m2: bool = False):
    """``(count, sum, m2)`` per group over the non-NaN values (float64 sums; ``m2``, the sum of
    squared deviations from the group mean, only when asked for, else None)."""
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "biuf":
        raise TypeError(f"group moments need 1-D numbers, got {values.dtype} of {values.ndim}-D")
    _, group_ids, n_groups = _group_args(values[:0].astype(np.float64), group_ids, n_groups)
    return _k.group_moments(np.require(values, np.float64, "A"), group_ids, n_groups, bool(m2))


def group_first_row(group_ids, n_groups: int, valid=None, last: bool = False) -> np.ndarray:
    """Index of the first (or ``last``) row of each group among the ``valid`` ones (all rows when
    None), -1 for a group without such a row."""
    group_ids = np.require(np.asarray(group_ids), np.int64, ["C", "A"])
    valid = np.empty(0, np.uint8) if valid is None else np.asarray(valid, dtype=bool).view(np.uint8)
    return _k.group_first_row(group_ids, valid, operator.index(n_groups), bool(last))


_JOINS = {"inner": _k.JOIN_INNER, "left": _k.JOIN_LEFT, "right": _k.JOIN_RIGHT, "outer": _k.JOIN_OUTER}


def group_rows(group_ids, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """``(start, order)``: the rows of group g, in order, are ``order[start[g]:start[g + 1]]``."""
    return _k.group_rows(np.require(np.asarray(group_ids), np.int64, ["C", "A"]), operator.index(n_groups))


def join_pairs(left_ids, right_ids, n_groups: int, how: str, right_groups=None) -> tuple[np.ndarray, np.ndarray]:
    """``(left_rows, right_rows)`` of the rows with equal group ids (both sides numbered by one
    ``factorize``): each left row's matches in order, -1 for a missing side when ``how`` keeps
    unmatched rows (``"left"``, ``"right"``, ``"outer"``; ``"inner"`` keeps none).
    ``right_groups``: ``group_rows(right_ids, n_groups)`` when already known."""
    if how not in _JOINS:
        raise ValueError(f"join_pairs: how must be one of {', '.join(_JOINS)}, got {how!r}")
    start, order = right_groups if right_groups is not None else group_rows(right_ids, n_groups)
    return _k.join_pairs(np.require(np.asarray(left_ids), np.int64, ["C", "A"]), start, order, _JOINS[how])
