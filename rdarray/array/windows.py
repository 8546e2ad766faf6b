"""Windows across partition boundaries: ``x.map_overlap(fn, depth)`` and ``x.rolling(window)``.

Partition ``p`` is extended by up to ``before`` rows of the partitions before it and ``after``
rows of those after it (gathered across as many partitions as needed: a neighbour may be shorter
than the depth, or empty), ``fn`` runs on the extended block, and its output is trimmed back to
``p``'s own rows. At the array's ends there are no neighbour rows. A window function that reads
at most ``depth`` rows each side therefore gives the same rows as on the whole array.

Rolling windows are pandas' ``rolling(window, min_periods)``: the value at row ``i`` aggregates
rows ``i - window + 1 .. i`` (fewer at the start), NaN skipped, and is NaN where fewer than
``min_periods`` values (by default ``window``) are present. Each window is aggregated on its own
(no running sums that add and remove values), so the results carry no drift.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..dtypes import check_dtype, empty_block
from ..errors import check_callable, check_integer
from ..graph.lineage import Node, RangeDependency
from ..table import records

#: elements of a window view (rows × window × columns) aggregated at once, to bound temporaries
_CHUNK = 1 << 20


def overlap_dependency(x, before: int, after: int) -> tuple[RangeDependency, list[int], tuple[int, ...]]:
    """A dependency giving partition ``p`` extended by up to ``before``/``after`` neighbour rows;
    also how many rows come before ``p``'s own in each, and x's partition lengths."""
    from .core import ensure_lengths

    lengths = ensure_lengths(x._node)
    bounds = np.cumsum((0, *lengths)).tolist()
    total = bounds[-1]
    starts = np.searchsorted(bounds, [max(0, s - before) for s in bounds[:-1]], side="right") - 1
    pieces, heads = [], []
    for p, first in enumerate(starts.tolist()):
        lo, hi = max(0, bounds[p] - before), min(total, bounds[p + 1] + after)
        heads.append(bounds[p] - lo)
        ps = []
        j = max(first, 0)
        while j < len(lengths) and bounds[j] < hi:
            a, b = max(lo, bounds[j]) - bounds[j], min(hi, bounds[j + 1]) - bounds[j]
            if b > a:
                ps.append((j, None if a == 0 and b == lengths[j] else slice(a, b)))
            j += 1
        pieces.append(ps)
    return RangeDependency(x._node, pieces), heads, lengths


def _depths(depth, what: str) -> tuple[int, int]:
    pair = depth if isinstance(depth, tuple) else (depth, depth)
    if len(pair) != 2:
        raise ValueError(f"{what}: depth must be an int or a (before, after) pair, got {depth!r}")
    return tuple(check_integer(d, 0, f"{what}: depth must be a non-negative integer, got {d!r}")  # type: ignore[return-value]
                 for d in pair)


def map_overlap(self, fn: Callable[[np.ndarray], np.ndarray], depth, dtype=None):
    """``fn`` on each partition extended by up to ``depth`` rows of its neighbours, its output
    trimmed back to the partition's rows: windows that cross partition boundaries.

    Parameters
    ----------
    fn : callable
        Takes a block of rows, returns as many rows (of the result's dtype and trailing shape).
    depth : int or (int, int)
        Rows of the neighbours before and after (one int: both).
    dtype : numpy.dtype, optional
        The result's dtype; by default found by calling ``fn`` on an empty block.

    Returns
    -------
    PartitionedArray
        The same partition lengths as this array.

    Examples
    --------
    >>> x.map_overlap(lambda b: np.convolve(b, np.ones(3) / 3, mode="same"), depth=1)
    """
    from .core import PartitionedArray
    from .elementwise import infer

    check_callable(fn, "map_overlap")
    before, after = _depths(depth, "map_overlap")
    name = getattr(fn, "__name__", type(fn).__name__)
    node = self._node
    if dtype is None:
        try:
            out_dtype, trailing = infer(lambda b: fn(records(b)), [empty_block(node.dtype, node.trailing)],
                                        "map_overlap")
        except Exception as exc:  # fn may fail on zero rows in any way
            raise type(exc)(f"map_overlap: cannot infer the dtype by calling {name} on an empty block ({exc}); "
                            f"pass dtype=") from exc
    else:
        out_dtype, trailing = check_dtype(dtype, "map_overlap"), node.trailing
    dep, heads, lengths = overlap_dependency(self, before, after)

    def run(p, block):
        out = np.asarray(fn(records(block)))
        if out.ndim == 0 or len(out) != len(block) or out.shape[1:] != trailing:
            raise ValueError(f"map_overlap: {name} returned shape {out.shape} for a block of {len(block)} rows; "
                             f"expected ({len(block)},) + {trailing}, one row out per row in")
        return out[heads[p]:heads[p] + lengths[p]].astype(out_dtype, copy=False)

    return PartitionedArray(Node("map_overlap", run, [dep], node.npartitions, out_dtype, trailing, lengths,
                                 pass_index=True, align_key=node.align_key, detail=f"{name}, depth={before},{after}"))


class Rolling:
    """Rolling windows of an array, as pandas' ``Series.rolling``/``DataFrame.rolling`` (per column).

    Parameters
    ----------
    x : PartitionedArray
        1-D or 2-D, numeric.
    window : int
        Rows per window, ending at each row.
    min_periods : int, optional
        Values (not NaN) a window needs for a result; by default ``window``.
    """

    def __init__(self, x, window: int, min_periods: int | None = None):
        if x.ndim not in (1, 2) or x.dtype.names or x.dtype.kind not in "biuf":
            raise ValueError(f"rolling: expected a 1-D or 2-D array of numbers, got {x.dtype} of shape {x.shape}")
        self.x = x
        self.window = check_integer(window, 1, f"rolling: window must be a positive integer, got {window!r}")
        self.min_periods = self.window if min_periods is None else check_integer(
            min_periods, 0, f"rolling: min_periods must be a non-negative integer, got {min_periods!r}")
        if self.min_periods > self.window:
            raise ValueError(f"rolling: min_periods {self.min_periods} must be <= window {self.window}")

    def __repr__(self) -> str:
        return f"Rolling<window={self.window}, min_periods={self.min_periods}> of {self.x!r}"

    def _apply(self, name: str, aggregate):
        """``aggregate(windows, valid, count)`` of every row's window, through ``map_overlap``
        with ``window - 1`` rows before: the block is padded with NaN rows in front, which only
        matter where it starts the array (elsewhere they precede rows that are trimmed off)."""
        window, min_periods = self.window, self.min_periods

        def run(block):
            block = np.asarray(block, np.float64)
            if len(block) == 0:
                return block
            padded = np.concatenate([np.full((window - 1,) + block.shape[1:], np.nan), block])
            views = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
            out = np.empty(block.shape, np.float64)
            step = max(1, _CHUNK // (window * max(1, int(np.prod(block.shape[1:])))))
            with np.errstate(invalid="ignore", divide="ignore"):
                for i in range(0, len(block), step):
                    win = views[i:i + step]
                    valid = ~np.isnan(win)
                    count = valid.sum(axis=-1)
                    value = aggregate(win, valid, count)
                    value[count < min_periods] = np.nan
                    out[i:i + step] = value
            return out

        run.__name__ = f"rolling({window}).{name}"
        return self.x.map_overlap(run, (window - 1, 0), dtype=np.float64)

    def sum(self):
        """The sum of each window's values (0 where a window has none and ``min_periods`` is 0).

        Returns
        -------
        PartitionedArray
            float64, the same shape as the array.
        """
        return self._apply("sum", lambda win, valid, count: np.where(valid, win, 0).sum(axis=-1))

    def mean(self):
        """The mean of each window's values.

        Returns
        -------
        PartitionedArray
            float64, the same shape as the array.
        """
        return self._apply("mean", lambda win, valid, count: np.where(valid, win, 0).sum(axis=-1) / count)

    def min(self):
        """The least of each window's values.

        Returns
        -------
        PartitionedArray
            float64, the same shape as the array.
        """
        return self._apply("min", lambda win, valid, count: np.fmin.reduce(win, axis=-1))

    def max(self):
        """The greatest of each window's values.

        Returns
        -------
        PartitionedArray
            float64, the same shape as the array.
        """
        return self._apply("max", lambda win, valid, count: np.fmax.reduce(win, axis=-1))

    def var(self, ddof: int = 1):
        """The variance of each window's values (two passes per window: the mean, then the
        squared deviations); NaN where a window has ``ddof`` values or fewer.

        Parameters
        ----------
        ddof : int, default 1
            Delta degrees of freedom (pandas' default).

        Returns
        -------
        PartitionedArray
            float64, the same shape as the array.
        """
        ddof = check_integer(ddof, 0, f"rolling.var: ddof must be a non-negative integer, got {ddof!r}")

        def var(win, valid, count):
            mean = np.where(valid, win, 0).sum(axis=-1) / count
            dev = np.where(valid, win - mean[..., None], 0)
            out = (dev * dev).sum(axis=-1) / (count - ddof)
            out[count <= ddof] = np.nan
            return out

        return self._apply("var", var)

    def std(self, ddof: int = 1):
        """The standard deviation of each window's values (the square root of :meth:`var`).

        Parameters
        ----------
        ddof : int, default 1
            Delta degrees of freedom (pandas' default).

        Returns
        -------
        PartitionedArray
            float64, the same shape as the array.
        """
        return np.sqrt(self.var(ddof))


def rolling(self, window: int, min_periods: int | None = None) -> Rolling:
    """Rolling windows over the rows, as pandas' ``rolling``: ``x.rolling(20).mean()``.

    Parameters
    ----------
    window : int
        Rows per window, ending at each row.
    min_periods : int, optional
        Values (not NaN) a window needs for a result; by default ``window``.

    Returns
    -------
    Rolling
        With ``sum``, ``mean``, ``min``, ``max``, ``var`` and ``std``.
    """
    return Rolling(self, window, min_periods)
