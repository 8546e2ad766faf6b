"""``x.dropna(subset, how)`` and ``x.fillna(value)``: pandas' handling of missing values, narrow
(a mask or a replacement per partition, no data moves).

Missing means NaN (floats, complex), NaT (datetimes, timedeltas) and missing text; integer, bool
and fixed-width text fields hold no missing value, so they are never dropped for it nor filled.
"""

from __future__ import annotations

import datetime
import numbers

import numpy as np

from ..dtypes import is_nan
from ..table import with_fields
from ..text import Text, holds_text, is_text
from .elementwise import map_blocks
from .wide import check_key


def _missing(values) -> np.ndarray:
    """Per row, whether ``values`` (a field, or a 1-D or N-D array) is missing: for rows of
    several values, one flag per value, as columns (``(rows, values)``)."""
    flags = is_nan(values)
    return flags.reshape(len(flags), int(np.prod(flags.shape[1:])))


def dropna(self, subset=None, how: str = "any"):
    """The rows without missing values (NaN, NaT, missing text), as pandas' ``dropna``.

    Parameters
    ----------
    subset : str or list of str, optional
        The fields of a table to look at; by default every field.
    how : {"any", "all"}, default "any"
        Drop a row when any of those values is missing, or only when all are.

    Returns
    -------
    PartitionedArray
        The other rows, in order (narrow: each partition masked on its own).
    """
    if how not in ("any", "all"):
        raise ValueError(f"dropna: how must be 'any' or 'all', got {how!r}")
    names = list(self.dtype.names or ())
    if names:
        key = check_key(self, names if subset is None else subset, "dropna")
        fields = [key] if isinstance(key, str) else list(key)
    elif subset is not None:
        raise KeyError(f"dropna: subset names fields; the array has none (dtype {self.dtype})")
    else:
        fields = []
    reduce = np.any if how == "any" else np.all
    read = frozenset(fields)

    def keep(block):
        columns = [_missing(block[f]) for f in fields] if fields else [_missing(block)]
        flags = np.concatenate(columns, axis=1)
        return block[~reduce(flags, axis=1)]

    return map_blocks(self, keep, "dropna", f"{how} of {', '.join(fields) or 'values'}", self.dtype,
                      self._node.trailing, same_rows=False,
                      uses=lambda used: [None if used is None else used | read])


def fillna(self, value):
    """Missing values (NaN, NaT, missing text) replaced by ``value``, as pandas' ``fillna``.

    A scalar fills every field that can hold it (a number the float and complex fields, a
    ``datetime64`` or ``datetime`` the datetime fields, a ``timedelta`` the timedelta fields, a
    ``str`` the text fields); a dict fills the fields it names. Fields without missing values
    (integers, bools) are left as they are.

    Parameters
    ----------
    value : scalar or dict
        The replacement, or ``{field: replacement}`` for a table.

    Returns
    -------
    PartitionedArray
        Of the same dtype and rows (narrow).

    Examples
    --------
    >>> t.fillna({"price": 0.0, "name": "unknown"})
    """
    names = self.dtype.names
    if value is None:
        raise ValueError("fillna: give a value (a scalar, or a dict of them per field)")
    if isinstance(value, dict):
        if not names:
            raise TypeError("fillna: a dict of values needs a table; give a scalar")
        check_key(self, list(value), "fillna")
        fills = {}
        for f, v in value.items():
            fill = _fill_for(self.dtype[f], v)
            if fill is _UNFIT:
                raise TypeError(f"fillna: field {f!r} of dtype {self.dtype[f]} cannot hold {v!r}")
            fills[f] = fill
    elif names:
        fills = {f: fill for f in names if (fill := _fill_for(self.dtype[f], value)) is not _UNFIT}
    else:
        fill = _fill_for(self.dtype, value)
        if fill is _UNFIT:
            raise TypeError(f"fillna: an array of dtype {self.dtype} cannot hold {value!r}")
        return map_blocks(self, lambda b: _filled(b, fill), "fillna", repr(value), self.dtype, self._node.trailing)
    fills = {f: v for f, v in fills.items() if v is not None}
    if not fills:
        return self
    dtype = self.dtype
    sources = {f: f for f in dtype.names if f not in fills}

    def fill_fields(block):
        return with_fields(block, dtype, sources, {f: _filled(block[f], v) for f, v in fills.items()})

    return map_blocks(self, fill_fields, "fillna", ", ".join(fills), dtype, self._node.trailing,
                      uses=lambda used: [used])


#: a value the field's dtype cannot hold
_UNFIT = object()


def _fill_for(dtype: np.dtype, value):
    """``value`` as a fill of a field of ``dtype``: None when the field holds no missing value,
    ``_UNFIT`` when it cannot hold ``value``."""
    kind = dtype.base.kind
    if is_text(dtype) or isinstance(dtype, np.dtypes.StringDType):
        return value if isinstance(value, str) else _UNFIT
    if kind in "fc":
        numeric = isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_))
        if not numeric or (kind == "f" and isinstance(value, complex)):
            return _UNFIT
        return np.asarray(value).astype(dtype.base)
    if kind == "M":
        if not isinstance(value, (np.datetime64, datetime.datetime, datetime.date)):
            return _UNFIT
        return np.datetime64(value).astype(dtype.base)
    if kind == "m":
        if not isinstance(value, (np.timedelta64, datetime.timedelta)):
            return _UNFIT
        return np.timedelta64(value).astype(dtype.base)
    return None


def _filled(values, fill):
    """``values`` with its missing values replaced by ``fill`` (a copy; ``values`` when none is)."""
    if fill is None:
        return values
    missing = is_nan(values)
    if not missing.any():
        return values
    if holds_text(values):
        strings = Text.of(values).to_numpy()
        strings[missing] = fill
        return Text.of(strings)
    out = np.array(values, copy=True)
    out[missing] = fill
    return out
