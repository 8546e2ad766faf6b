"""Reductions: a partial result per partition, merged pairwise in a tree, in one pass.

Reducing over axis 0 (or every axis) gives an ``rd.Lazy``; reducing only other axes is a narrow
operation and gives a PartitionedArray. Means and variances merge partial moments
``(count, mean, M2[, M3, M4])`` with the pairwise update formulas of Chan et al. and Pébay, which
stay accurate where sums of powers would cancel.
"""

from __future__ import annotations

import copy
import functools
import inspect
import weakref

import numpy as np

from .._core.histogram import uniform_counts
from ..dtypes import empty_block, is_nan
from ..errors import ArgumentTypeError, check_callable, check_integer
from ..graph.lineage import Node, per_partition
from ..graph.partials import EMPTY
from ..table import is_table, records
from .elementwise import map_blocks
from .lazy import Lazy

#: the Parameters entries the NumPy-style reductions share, filled in by :func:`_documented`
_PARAMETERS = {
    "axis": "axis : int or tuple of int, optional\n    The axes to reduce; by default all of them.",
    "dtype": "dtype : numpy.dtype, optional\n    The accumulator's and the result's dtype; by default NumPy's.",
    "ddof": ("ddof : int or float, optional\n    Delta degrees of freedom: the divisor is ``n - ddof``; by default "
             "0 for an array (NumPy's),\n    1 for a table (pandas')."),
    "keepdims": "keepdims : bool, default False\n    Keep the reduced axes, of length one.",
    "skipna": ("skipna : bool, optional\n    Leave NaN (and NaT) out, as the ``np.nan*`` forms do; by default not "
               "for an array\n    (NumPy's result), and so for a table (pandas')."),
}
_RETURNS = ("rd.Lazy or PartitionedArray\n    A lazy value when axis 0 is reduced (``compute()``, ``float()``); "
            "else an array\n    of the same partitions. For a table, a lazy dict ``{field: value}`` over its "
            "numeric\n    (bool, integer, float) fields, as pandas' ``DataFrame`` reductions.")


def _documented(summary: str):
    """Give a NumPy-style reduction its docstring: ``summary``, then its parameters and result
    (as pandas' ``@doc`` templates do), so that the shared entries are written once."""
    def document(fn):
        names = [name for name in inspect.signature(fn).parameters if name != "self"]
        fn.__doc__ = (f"{summary}\n\nParameters\n----------\n" + "\n".join(_PARAMETERS[n] for n in names)
                      + f"\n\nReturns\n-------\n{_RETURNS}\n")
        return fn
    return document


def _axes(x, axis) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(x.ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in axes:
        message = f"axis {a!r} is out of bounds for an array of dimension {x.ndim}"
        if check_integer(a, -x.ndim, message) >= x.ndim:
            raise ValueError(message)
        out.append(int(a) % x.ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def _probe(x, op: str, fn) -> np.ndarray:
    """``fn`` of a one-row sample: the result's dtype and shape. Raises TypeError early when ``op``
    is not defined for the dtype (as NumPy would at compute time)."""
    try:
        return np.asarray(fn(np.zeros((1,) + x._node.trailing, dtype=x.dtype)))
    except (TypeError, np.exceptions.DTypePromotionError) as exc:
        raise TypeError(f"{op} is not supported for dtype {x.dtype}: {exc}") from None


def partial_reduction(x, op: str, partial, combine, finalize=None, skip_empty=False, detail="",
                      by_rows=True, share=None, meta=None, label=None) -> Lazy:
    """A Lazy merging ``partial(partition)`` results with ``combine`` and finishing with ``finalize``;
    ``meta`` is a sample of the result (dtype and shape) when known.

    ``by_rows``: partials of row slices merge with ``combine`` too (not so for user functions).
    Reductions of one array with the same ``share`` key use one partials node, so computing them
    together computes the partials once (``mean`` and ``var`` share their moments).
    """
    shared = _shared_partials.setdefault(x._node, {}) if share is not None else {}
    node = shared.get(share)
    if node is None:
        func = (lambda b: EMPTY if len(b) == 0 else partial(b)) if skip_empty else partial
        node = per_partition(op, func, x._node, detail=detail or "partial", combine=combine if by_rows else None)
        if share is not None:
            shared[share] = node
    return Lazy.reduced(label or op, f"{label or op} of {x!r}", node, combine, finalize, meta)


_shared_partials: weakref.WeakKeyDictionary[Node, dict] = weakref.WeakKeyDictionary()


def _no_identity(op: str):
    def finalize(value):
        if value is EMPTY:
            raise ValueError(f"{op}: zero-size array has no {op} (the operation has no identity)")
        return value

    return finalize


def _simple(x, op: str, fn, combine, axis, keepdims: bool, skip_empty=False, **kwargs):
    """Reductions whose partials combine elementwise (sum, prod, min, max, any, all)."""
    axes = _axes(x, axis)
    partial = functools.partial(fn, axis=axes, keepdims=keepdims, **kwargs)  # one C call per block or slice
    meta = _probe(x, op, partial)
    if 0 not in axes:
        return map_blocks(x, partial, op, f"axis={axis}")
    return partial_reduction(x, op, partial, combine, _no_identity(op) if skip_empty else None, skip_empty,
                             meta=meta)


def _pandas_form(x, op: str, skipna, **kwargs):
    """``op`` as pandas computes it, for ``skipna`` or a table: through the NaN-skipping form
    (``array/nan_reductions.py``) when ``skipna``; per numeric field of a table, NaN skipped unless
    ``skipna=False``, with ``ddof=1`` unless given. None when neither applies (NumPy's ``op``)."""
    from .nan_reductions import FUNCTIONS

    if is_table(x.dtype, x._node.trailing):
        if kwargs.get("axis") not in (None, 0):
            raise ValueError(f"{op}: a table reduces over its rows only (axis None or 0), got axis={kwargs['axis']!r}")
        fields = [f for f in x.dtype.names if x.dtype[f].kind in "biuf" and not x.dtype[f].shape]
        if not fields:
            raise TypeError(f"{op}: the table has no numeric field ({x.dtype})")
        kwargs["axis"] = None
        if "ddof" in kwargs and kwargs["ddof"] is None:
            kwargs["ddof"] = 1
        skip = True if skipna is None else skipna
        values = [_pandas_form(x[f], op, skip, **kwargs) or getattr(x[f], op)(**kwargs) for f in fields]
        return Lazy.apply(op, lambda *v: dict(zip(fields, v)), values)
    if not skipna:
        return None
    if kwargs.get("ddof", 0) is None:
        kwargs["ddof"] = 0
    return FUNCTIONS[getattr(np, "nan" + op)](x, **kwargs)


@_documented("Sum over ``axis``, with NumPy's result dtypes.")
def sum(self, axis=None, dtype=None, keepdims=False, skipna=None):
    pandas = _pandas_form(self, "sum", skipna, axis=axis, dtype=dtype, keepdims=keepdims)
    if pandas is not None:
        return pandas
    return _simple(self, "sum", np.add.reduce, np.add, axis, keepdims, dtype=dtype)


@_documented("Product over ``axis``, with NumPy's result dtypes.")
def prod(self, axis=None, dtype=None, keepdims=False, skipna=None):
    pandas = _pandas_form(self, "prod", skipna, axis=axis, dtype=dtype, keepdims=keepdims)
    if pandas is not None:
        return pandas
    return _simple(self, "prod", np.multiply.reduce, np.multiply, axis, keepdims, dtype=dtype)


@_documented("Minimum over ``axis``; NaN when any value is (as NumPy); an error for no rows.")
def min(self, axis=None, keepdims=False, skipna=None):
    pandas = _pandas_form(self, "min", skipna, axis=axis, keepdims=keepdims)
    if pandas is not None:
        return pandas
    return _simple(self, "min", np.minimum.reduce, np.minimum, axis, keepdims, skip_empty=True)


@_documented("Maximum over ``axis``; NaN when any value is (as NumPy); an error for no rows.")
def max(self, axis=None, keepdims=False, skipna=None):
    pandas = _pandas_form(self, "max", skipna, axis=axis, keepdims=keepdims)
    if pandas is not None:
        return pandas
    return _simple(self, "max", np.maximum.reduce, np.maximum, axis, keepdims, skip_empty=True)


@_documented("Whether any value over ``axis`` is true.")
def any(self, axis=None, keepdims=False):
    return _simple(self, "any", np.logical_or.reduce, np.logical_or, axis, keepdims)


@_documented("Whether every value over ``axis`` is true.")
def all(self, axis=None, keepdims=False):
    return _simple(self, "all", np.logical_and.reduce, np.logical_and, axis, keepdims)


@_documented("How many values over ``axis`` are not zero.")
def count_nonzero(self, axis=None, keepdims=False):
    axes = _axes(self, axis)
    count = lambda b: np.count_nonzero(b, axis=None if axis is None else axes, keepdims=keepdims)  # noqa: E731
    meta = _probe(self, "count_nonzero", count)
    if 0 not in axes:
        return map_blocks(self, count, "count_nonzero", f"axis={axis}")
    return partial_reduction(self, "count_nonzero", count, np.add, meta=meta)


def ufunc_reduce(x, ufunc, axis=0, dtype=None, keepdims=False, **kwargs):
    """``ufunc.reduce(x, ...)`` for any binary ufunc, e.g. ``np.add.reduce(x)``."""
    if kwargs:
        raise TypeError(f"{ufunc.__name__}.reduce: unsupported argument(s) {', '.join(kwargs)}")
    return _simple(x, f"{ufunc.__name__}.reduce", ufunc.reduce, ufunc, axis, keepdims,
                   skip_empty=ufunc.identity is None, dtype=dtype)


# -- moments -----------------------------------------------------------------------------------

def _rows_first(b: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``b`` with the reduced axes moved to the front and flattened into one."""
    if axes == (0,):
        return b
    moved = np.moveaxis(b, axes, tuple(range(len(axes))))
    return moved.reshape((-1,) + moved.shape[len(axes):])


def _work_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.complex128) if dtype.kind == "c" else np.dtype(np.float64)


def partial_moments(b: np.ndarray, order: int) -> tuple:
    """``(n, mean, M2, ..., M_order)`` of the rows of ``b`` (M_k: sum of k-th powers of deviations)."""
    n = len(b)
    work = _work_dtype(b.dtype)
    if n == 0:
        zero = np.zeros(b.shape[1:], dtype=work)
        return (0, zero) + tuple(np.zeros(b.shape[1:]) for _ in range(order - 1))
    mean = np.add.reduce(b, axis=0, dtype=work) / n
    d = b - mean
    if work.kind == "c":
        d2 = (d * d.conj()).real
        return (n, mean, d2.sum(axis=0))
    d2 = d * d
    sums = [np.einsum("i...,i...->...", d, d) if d.ndim <= 2 else d2.sum(axis=0)]
    if order >= 3:
        sums.append((d2 * d).sum(axis=0))
    if order >= 4:
        sums.append((d2 * d2).sum(axis=0))
    return (n, mean, *sums)


def merge_moments(a: tuple, b: tuple) -> tuple:
    """Merge two partial moment tuples (Chan et al. for M2, Pébay for M3 and M4)."""
    na, nb = a[0], b[0]
    if na == 0:
        return b
    if nb == 0:
        return a
    n = na + nb
    delta = b[1] - a[1]
    mean = a[1] + delta * (nb / n)
    if not np.all(np.isfinite(delta)):  # an infinite mean: weigh the two instead (NaN otherwise)
        mean = np.where(np.isfinite(delta), mean, a[1] * (na / n) + b[1] * (nb / n))[()]
    abs2 = (delta * np.conj(delta)).real if np.iscomplexobj(delta) else delta * delta
    m2 = a[2] + b[2] + abs2 * (na * nb / n)
    out = [n, mean, m2]
    if len(a) > 3:
        m3 = (a[3] + b[3] + delta * abs2 * (na * nb * (na - nb) / n**2)
              + 3 * delta * (na * b[2] - nb * a[2]) / n)
        out.append(m3)
    if len(a) > 4:
        m4 = (a[4] + b[4] + abs2 * abs2 * (na * nb * (na * na - na * nb + nb * nb) / n**3)
              + 6 * abs2 * (na * na * b[2] + nb * nb * a[2]) / n**2
              + 4 * delta * (na * b[3] - nb * a[3]) / n)
        out.append(m4)
    return tuple(out)


def _moment_reduction(x, op: str, axis, order: int, finish, keepdims: bool, out: np.dtype, **kwargs):
    axes = _axes(x, axis)
    if x.dtype.kind not in "biufc":
        raise TypeError(f"{op} is not supported for dtype {x.dtype}")
    if 0 not in axes:
        along = getattr(np, op)  # mean, var or std
        return map_blocks(x, lambda b: along(b, axis=axes, keepdims=keepdims, **kwargs), op, f"axis={axis}")
    shape = tuple(1 if k in axes else n for k, n in enumerate(x.shape)) if keepdims else None

    def finalize(m):
        out = finish(m)
        return np.reshape(out, shape) if shape is not None else out

    result_shape = shape or tuple(n for k, n in enumerate(x.shape) if k not in axes)
    return partial_reduction(x, "moments", lambda b: partial_moments(_rows_first(b, axes), order),
                             merge_moments, finalize, detail=f"order {order}", share=("moments", axes, order),
                             meta=np.zeros(result_shape, dtype=out), label=op)


def _result_type(fn, dtype: np.dtype) -> np.dtype:
    try:
        with np.errstate(all="ignore"):
            return fn(np.zeros(2, dtype=dtype)).dtype
    except TypeError as exc:
        raise TypeError(f"{fn.__name__} is not supported for dtype {dtype}: {exc}") from None


@_documented("Arithmetic mean, accumulated in float64 (complex128 for complex input).")
def mean(self, axis=None, dtype=None, keepdims=False, skipna=None):
    pandas = _pandas_form(self, "mean", skipna, axis=axis, dtype=dtype, keepdims=keepdims)
    if pandas is not None:
        return pandas
    out = np.dtype(dtype) if dtype is not None else _result_type(np.mean, self.dtype)
    return _moment_reduction(self, "mean", axis, 2, lambda m: _cast(m[1] if m[0] else m[1] * np.nan, out),
                             keepdims, out, dtype=dtype)


def _variance(m, ddof: float):
    with np.errstate(divide="ignore", invalid="ignore"):  # as NumPy: inf (or NaN) when ddof >= n
        return np.divide(m[2], m[0] - ddof if m[0] > ddof else 0)


def _check_ddof(ddof, op: str) -> None:
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: ddof must be a number, got {ddof!r}")


@_documented("Variance from merged partial moments (accurate where sums of squares would cancel).")
def var(self, axis=None, dtype=None, ddof=None, keepdims=False, skipna=None):
    pandas = _pandas_form(self, "var", skipna, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    if pandas is not None:
        return pandas
    ddof = 0 if ddof is None else ddof
    _check_ddof(ddof, "var")
    out = np.dtype(dtype) if dtype is not None else _result_type(np.var, self.dtype)
    return _moment_reduction(self, "var", axis, 2, lambda m: _cast(_variance(m, ddof), out), keepdims,
                             out, dtype=dtype, ddof=ddof)


@_documented("Standard deviation: the square root of :func:`var`.")
def std(self, axis=None, dtype=None, ddof=None, keepdims=False, skipna=None):
    pandas = _pandas_form(self, "std", skipna, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    if pandas is not None:
        return pandas
    ddof = 0 if ddof is None else ddof
    _check_ddof(ddof, "std")
    out = np.dtype(dtype) if dtype is not None else _result_type(np.std, self.dtype)
    return _moment_reduction(self, "std", axis, 2, lambda m: _cast(np.sqrt(_variance(m, ddof)), out), keepdims,
                             out, dtype=dtype, ddof=ddof)


def _cast(value, dtype: np.dtype):
    return np.asarray(value).astype(dtype)[()]


def moments(self):
    """Count, mean, variance (ddof=0), skewness and excess kurtosis along axis 0, in one pass.

    Skewness and kurtosis are the biased sample estimates ``m3 / m2**1.5`` and ``m4 / m2**2 - 3``
    (``m_k`` the k-th central moment), as ``scipy.stats.skew`` and ``kurtosis`` give by default.
    """
    if self.dtype.kind not in "biuf":
        raise TypeError(f"moments is not supported for dtype {self.dtype}")

    def finish(m):
        n, mean_, m2, m3, m4 = m
        with np.errstate(divide="ignore", invalid="ignore"):
            var_ = m2 / n if n else mean_ * np.nan
            skew = (m3 / n) / var_**1.5
            kurt = (m4 / n) / var_**2 - 3
        return {"count": n, "mean": mean_ if n else var_, "var": var_, "skew": skew, "kurtosis": kurt}

    return partial_reduction(self, "moments", lambda b: partial_moments(b, 4), merge_moments, finish)


# -- positions, histograms, user reductions ----------------------------------------------------

def arg_reduction(x, op: str, axis, better, index=None, check=None):
    """The global row of the best value per column (``better(new, old)``: whether ``new`` wins);
    ``index(partition)`` finds each partition's best rows (``np.<op>`` along axis 0 by default),
    ``check(idx, value)`` may reject the final one."""
    if axis is not None:
        if isinstance(axis, tuple):
            raise TypeError(f"{op}: axis must be an integer or None, got {axis!r}")
        (ax,) = _axes(x, axis)
        if ax != 0:
            return map_blocks(x, lambda b: getattr(np, op)(b, axis=ax), op, f"axis={axis}")
    meta = _probe(x, op, lambda b: getattr(np, op)(b, axis=None if axis is None else 0))
    flat = axis is None

    def partial(b):
        if flat:
            b = b.reshape(-1)
        if len(b) == 0:
            return (0, EMPTY, EMPTY)
        idx = index(b) if index is not None else getattr(np, op)(b, axis=0)
        return (len(b), idx, np.take_along_axis(b, np.expand_dims(idx, 0), 0)[0] if b.ndim > 1 else b[idx])

    def combine(a, c):
        if a[1] is EMPTY:
            return (a[0] + c[0], c[1] if c[1] is EMPTY else c[1] + a[0], c[2])
        if c[1] is EMPTY:
            return (a[0] + c[0], a[1], a[2])
        take = better(c[2], a[2])
        return (a[0] + c[0], np.where(take, c[1] + a[0], a[1]), np.where(take, c[2], a[2]))

    def finalize(total):
        if total[1] is EMPTY:
            raise ValueError(f"{op}: attempt to get {op} of an empty sequence")
        idx = total[1] if check is None else check(total[1], total[2])
        return np.intp(idx) if np.ndim(idx) == 0 else np.asarray(idx, dtype=np.intp)

    return partial_reduction(x, op, partial, combine, finalize, detail="flat" if flat else "axis=0",
                             meta=meta.astype(np.intp))


def _less_or_nan(new, old):
    """``new`` wins when smaller, or NaN where ``old`` is not (NumPy returns the first NaN)."""
    new_nan, old_nan = is_nan(np.asarray(new)), is_nan(np.asarray(old))
    with np.errstate(invalid="ignore"):  # NaN positions are masked out
        return (new_nan & ~old_nan) | (~old_nan & ~new_nan & (new < old))


def _greater_or_nan(new, old):
    new_nan, old_nan = is_nan(np.asarray(new)), is_nan(np.asarray(old))
    with np.errstate(invalid="ignore"):
        return (new_nan & ~old_nan) | (~old_nan & ~new_nan & (new > old))


def argmin(self, axis=None):
    """Index of the minimum: a global row index (a flat index when ``axis`` is None).

    Parameters
    ----------
    axis : int, optional
        None (the flat index), 0 (per column: row indices) or another axis (per row).

    Returns
    -------
    rd.Lazy or PartitionedArray
        A lazy value when axis 0 is reduced, else an array of the same partitions.
    """
    return arg_reduction(self, "argmin", axis, _less_or_nan)


def argmax(self, axis=None):
    """Index of the maximum: a global row index (a flat index when ``axis`` is None).

    Parameters
    ----------
    axis : int, optional
        As for :func:`argmin`.

    Returns
    -------
    rd.Lazy or PartitionedArray
    """
    return arg_reduction(self, "argmax", axis, _greater_or_nan)


def histogram(self, bins=10, range=None, density=None):
    """``(counts, edges)`` as ``np.histogram``; without ``range`` a first pass finds min and max.

    Parameters
    ----------
    bins : int or array_like, default 10
        A number of equal bins, or the bin edges.
    range : (float, float), optional
        The lower and upper edge; by default the data's minimum and maximum.
    density : bool, optional
        Counts as a probability density.

    Returns
    -------
    rd.Lazy
        Its value is ``(counts, edges)``.
    """
    if self.dtype.kind not in "biuf":
        raise TypeError(f"histogram is not supported for dtype {self.dtype}")
    if isinstance(bins, str):
        raise ArgumentTypeError("histogram: bins must be a number of bins or an array of edges")
    if np.ndim(bins) == 0:
        check_integer(bins, 1, f"histogram: bins must be a positive integer or an array of edges, got {bins!r}")

    def counted(rng):
        edges = np.histogram_bin_edges(empty_block(self.dtype, ()), bins=bins, range=rng)
        if _uniform_kernel_counts(self, bins, rng, edges):
            fixed = edges.copy()
            count = lambda b: uniform_counts(b, fixed) if b.ndim == 1 and b.dtype == np.float64 \
                else np.histogram(b, bins=bins, range=rng)[0]  # noqa: E731
        else:
            count = lambda b: np.histogram(b, bins=bins, range=rng)[0]  # noqa: E731
        counts = partial_reduction(self, "histogram", count, np.add)

        def finish(c):
            if density:
                return c / np.diff(edges).astype(float) / c.sum(), edges  # NumPy's order
            return c, edges

        return Lazy.apply("histogram", finish, (counts,))

    if range is not None or not np.isscalar(bins):
        return counted(range)
    limits = partial_reduction(self, "min-max", lambda b: (b.min(), b.max()),
                               lambda a, b: (np.minimum(a[0], b[0]), np.maximum(a[1], b[1])),
                               skip_empty=True)

    def second_pass(lo_hi):
        lo, hi = (0, 1) if lo_hi is EMPTY else lo_hi  # NumPy's range for an empty array
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"histogram: autodetected range of [{lo}, {hi}] is not finite")
        return counted((lo, hi))

    return Lazy("histogram", then=(second_pass, (limits,)))


def _uniform_kernel_counts(x, bins, rng, edges: np.ndarray) -> bool:
    """Whether the fixed-width kernel (``_core/histogram.pyx``) counts ``x`` exactly as
    ``np.histogram`` does: float64 rows, a number of bins, and a range whose ends NumPy subtracts
    exactly in float64 (Python floats, NumPy float64s, or integers of at most 2**53)."""
    if x.dtype != np.float64 or x.ndim != 1 or np.ndim(bins) != 0 or rng is None or edges.dtype != np.float64:
        return False
    for v in rng:  # (the builtin all is shadowed here by the reduction)
        if not (type(v) in (float, np.float64) or (type(v) is int and -2**53 <= v <= 2**53)):
            return False
    return True


def reduce(self, fn, combine=None):
    """``fn(partition)`` on every non-empty partition, merged pairwise in a tree by ``combine``.

    Without ``combine``, two partial results are merged by ``fn`` of the two as rows: concatenated
    along axis 0 when they have a partition's dimensions (``fn`` keeps the rows' shape: a top-k, a
    selection), stacked when they have fewer (``fn`` reduces the rows: ``np.max``, a row). Every
    partition checks on its first rows that this gives what ``fn`` gives on the rows themselves;
    when it does not (``b.T @ b`` partials must be added, not multiplied again), computing raises a
    ``ValueError`` asking for ``combine=``.

    Parameters
    ----------
    fn : callable
        A partition's partial result.
    combine : callable, optional
        ``combine(a, b)``: two partial results as one; by default ``fn`` of the two as rows.

    Returns
    -------
    rd.Lazy

    Examples
    --------
    >>> x.reduce(np.max).compute()
    >>> x.reduce(lambda b: b.T @ b, combine=np.add).compute()
    """
    check_callable(fn, "reduce")
    if combine is not None:
        check_callable(combine, "reduce", "combine")
        partial = lambda b: fn(records(b))  # noqa: E731
        merge = combine
    else:
        ndim = self.ndim
        partial = lambda b: _checked_partial(fn, records(b), ndim)  # noqa: E731
        merge = lambda a, b: fn(_as_rows(a, b, ndim))  # noqa: E731
    return partial_reduction(self, "reduce", partial, merge, _no_identity("reduce"), skip_empty=True,
                             detail=getattr(fn, "__name__", ""), by_rows=False)


#: rows of each partition on which ``reduce`` checks its default combine
_CHECK_ROWS = 64


def _as_rows(a, b, ndim: int) -> np.ndarray:
    """Two partial results as one block of rows: concatenated when they have a block's dimensions,
    stacked when they have fewer."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim >= ndim and a.ndim == b.ndim:
        return np.concatenate([a, b])
    return np.stack([a, b])


def _checked_partial(fn, block, ndim: int):
    """``fn(block)``, after checking on the block's first rows that ``fn`` of two halves' partial
    results (as rows) equals ``fn`` of the rows: else ``reduce`` needs ``combine=``."""
    rows = block[:_CHECK_ROWS]
    if len(rows) >= 2:
        half = len(rows) // 2
        whole = fn(rows)
        try:
            merged = fn(_as_rows(fn(rows[:half]), fn(rows[half:]), ndim))
            same = _same(merged, whole)
        except Exception as exc:
            raise ValueError(_NEEDS_COMBINE + f" (merging them failed: {type(exc).__name__}: {exc})") from exc
        if not same:
            raise ValueError(_NEEDS_COMBINE + " (on the first rows, fn of two partial results differs from fn "
                             "of the rows they come from)")
    return fn(block)


_NEEDS_COMBINE = ("reduce: without combine=, partial results are merged by applying fn to them as rows, "
                  "which does not work for this fn; pass combine=, a function merging two partial results "
                  "(e.g. combine=np.add for fn=lambda b: b.T @ b)")


def _same(got, want) -> bool:
    """Whether two partial results agree (floats to within reassociation error); values that are
    not numeric arrays count as agreeing when they compare equal, or cannot be compared."""
    try:
        got, want = np.asarray(got), np.asarray(want)
    except Exception:  # not array-like: nothing to check
        return True
    if got.shape != want.shape:
        return False
    if want.dtype.kind in "fc" and got.dtype.kind in "biufc":
        scale = float(np.nanmax(np.abs(want), initial=0.0)) if want.size else 0.0
        return bool(np.allclose(got, want, rtol=1e-6, atol=1e-9 * scale, equal_nan=True))
    if want.dtype.kind != "O" and got.dtype == want.dtype:
        return bool(np.array_equal(got, want))
    return True


def aggregate(self, zero, seq_op, comb_op):
    """Spark's aggregate: ``seq_op(copy of zero, partition)`` per partition, merged by ``comb_op``.

    Parameters
    ----------
    zero : object
        The initial partial result, copied for every partition.
    seq_op : callable
        ``seq_op(acc, partition) -> acc``.
    comb_op : callable
        ``comb_op(a, b)``: two partial results as one.

    Returns
    -------
    rd.Lazy
    """
    check_callable(seq_op, "aggregate", "seq_op")
    check_callable(comb_op, "aggregate", "comb_op")
    return partial_reduction(self, "aggregate", lambda b: seq_op(copy.deepcopy(zero), records(b)), comb_op,
                             detail=getattr(seq_op, "__name__", ""), by_rows=False)

