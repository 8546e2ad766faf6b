"""``x.describe()``: pandas' summary of numeric fields, from one pass of moments and extremes and
the exact quantiles' selection passes (``array/quantiles.py``), computed together."""

from __future__ import annotations

import numpy as np

from ..session.compute import compute
from ..table import is_table
from .nan_reductions import _merge_nan_moments, _nan_moments
from .quantiles import array_quantile, table_quantile
from .reductions import partial_reduction

#: the rows of the summary, as pandas names them
STATISTICS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")
_QUARTILES = [0.25, 0.5, 0.75]
#: kinds pandas describes (numbers; bools and times are left out, as ``select_dtypes("number")``)
_NUMERIC = "iuf"


def describe(self) -> np.ndarray:
    """Count, mean, standard deviation (ddof=1), minimum, quartiles and maximum of each numeric
    field, NaN skipped, as pandas' ``DataFrame.describe()``.

    One pass computes counts, moments and extremes; the quartiles are exact (a few selection
    passes, no sort). A 1-D numeric array is described as a table of one field, named as the
    field it was selected from (``x["f"].describe()``) or ``value``.

    Returns
    -------
    numpy.ndarray
        A structured array of eight rows: a text field ``statistic`` (count, mean, std, min, 25%,
        50%, 75%, max), then one float64 field per numeric (integer or float) field.

    Examples
    --------
    >>> t.describe()["price"]
    """
    if is_table(self.dtype, self._node.trailing):
        fields = [f for f in self.dtype.names if self.dtype[f].kind in _NUMERIC and not self.dtype[f].shape]
        if not fields:
            raise TypeError(f"describe: the table has no numeric field ({self.dtype})")
        x, names, columns = self[fields], fields, fields
    else:
        if self.ndim != 1 or self.dtype.kind not in _NUMERIC:
            raise TypeError(f"describe: needs a table or a 1-D numeric array, got {self.ndim}-D {self.dtype}")
        x = self
        names, columns = [self._node.detail if self._node.op == "field" else "value"], None
    moments, quartiles = compute(_summary(x, columns), _quartiles(x, columns))
    out = np.empty(len(STATISTICS), [("statistic", "U5")] + [(n, np.float64) for n in names])
    out["statistic"] = STATISTICS
    for i, name in enumerate(names):
        n, mean, m2, low, high = moments[i]
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.sqrt(m2 / (n - 1)) if n > 1 else np.nan
        qs = quartiles if columns is None else quartiles[columns[i]]
        out[name] = [n, mean if n else np.nan, std, low, *qs, high]
    return out


def _values(block, columns):
    """The values of each described field of ``block``, as float64."""
    if columns is None:
        return [np.asarray(block, dtype=np.float64)]
    return [np.asarray(block[f], dtype=np.float64) for f in columns]


def _summary(x, columns):
    """Per field, ``(count, mean, M2, min, max)`` with NaN skipped: one pass."""
    def partial(block):
        out = []
        for v in _values(block, columns):
            n, mean, m2 = _nan_moments(v)
            low, high = (np.fmin.reduce(v), np.fmax.reduce(v)) if len(v) else (np.nan, np.nan)
            out.append((n, mean, m2, low, high))
        return out

    def combine(a, b):
        return [(*_merge_nan_moments(u[:3], v[:3]), np.fmin(u[3], v[3]), np.fmax(u[4], v[4])) for u, v in zip(a, b)]

    return partial_reduction(x, "describe", partial, combine, detail="count, moments, extremes")


def _quartiles(x, columns):
    if columns is None:
        return array_quantile(x, np.array(_QUARTILES), skipna=True, label="describe")
    return table_quantile(x, _QUARTILES, columns, label="describe")
