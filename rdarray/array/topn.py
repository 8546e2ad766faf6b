"""``x.nlargest(n, columns)`` / ``x.nsmallest(n, columns)``: the first rows of an order, without a sort.

Each partition keeps its own best ``n`` rows (a selection by ``np.partition`` on the first key,
then an exact order of those few), and one task merges the candidates of every partition the
same way: no shuffle, no global sort. Rows are ordered by their key(s), missing values (NaN, NaT)
after every present one, and ties by position: earlier rows first (``keep="first"``), later rows
first (``keep="last"``), or every row tying with the ``n``-th kept (``keep="all"``), as pandas'
``nlargest`` / ``nsmallest`` choose them.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import is_nan
from ..errors import check_integer
from ..graph.lineage import AllToOne, Node, per_partition
from ..shuffle.partitioners import key_columns, rank_codes
from ..table import as_table, concat
from .wide import check_key

_KEEP = ("first", "last", "all")
#: the bound of a partition's candidates is taken from about this many evenly spaced values
_SAMPLE = 1 << 16
#: key kinds pandas orders in ``nlargest`` (numbers, bools, times)
_ORDERED_KINDS = "biufmM"


def nlargest(self, n, columns=None, keep: str = "first"):
    """The ``n`` rows with the largest keys, in descending order, as pandas' ``nlargest``.

    Each partition keeps its best ``n`` rows and one task merges them: no sort of the whole array.
    Missing keys (NaN, NaT) come after every present one, so they are returned only when fewer
    than ``n`` rows have a key.

    Parameters
    ----------
    n : int
        How many rows (none when ``n <= 0``).
    columns : str or list of str, optional
        The key field(s) of a table, the first deciding, ties by the next; None for a 1-D array.
    keep : {"first", "last", "all"}, default "first"
        Of rows with equal keys, the earliest, the latest (listed latest first where pandas lists
        them so), or all of those tying with the ``n``-th row (then more than ``n`` rows may be
        returned).

    Returns
    -------
    PartitionedArray
        One partition of at most ``n`` rows (more with ``keep="all"``), in the array's dtype.

    Examples
    --------
    >>> t.nlargest(3, "price")
    """
    return _top(self, n, columns, keep, largest=True)


def nsmallest(self, n, columns=None, keep: str = "first"):
    """The ``n`` rows with the smallest keys, in ascending order, as pandas' ``nsmallest``.

    Parameters
    ----------
    n : int
        How many rows (none when ``n <= 0``).
    columns : str or list of str, optional
        The key field(s) of a table; None for a 1-D array.
    keep : {"first", "last", "all"}, default "first"
        As in :func:`nlargest`.

    Returns
    -------
    PartitionedArray
        One partition of at most ``n`` rows (more with ``keep="all"``).
    """
    return _top(self, n, columns, keep, largest=False)


def _top(x, n, columns, keep: str, largest: bool):
    op = "nlargest" if largest else "nsmallest"
    n = max(check_integer(n, -(1 << 62), f"{op}: n must be an integer, got {n!r}"), 0)
    if not isinstance(keep, str) or keep not in _KEEP:
        raise ValueError(f"{op}: keep must be 'first', 'last' or 'all', got {keep!r}")
    if columns is None and x.dtype.names:
        raise TypeError(f"{op}: a table needs columns=, the key field(s); fields are: {', '.join(x.dtype.names)}")
    key = check_key(x, columns, op)
    names = [key] if isinstance(key, str) else list(key or [])
    for name, dtype in ([(f, x.dtype[f]) for f in names] or [(None, x.dtype)]):
        if dtype.kind not in _ORDERED_KINDS or dtype.shape:
            what = f"field {name!r} of dtype {dtype}" if name else f"dtype {dtype}"
            raise TypeError(f"{op}: cannot order by {what} (numbers, bools and times only)")
    node = x._node

    # keep="last" also needs the row after the n-th, to order ties as pandas does (``_last_order``)
    wanted = n + 1 if keep == "last" and n else n

    def candidates(block):
        rows = _best(block, key, wanted, largest, keep)
        return block[rows] if len(rows) < len(block) else block, len(block)

    def merge(parts):
        blocks = [as_table(b) for b, _ in parts]
        whole = concat(blocks) if blocks and node.dtype.names else np.concatenate(blocks) if blocks else \
            np.empty((0,) + node.trailing, node.dtype)
        total = sum(length for _, length in parts)
        # the candidates are in position order (each partition's in its order, partitions in theirs);
        # all rows asked for: pandas sorts them all, ties in input order whatever ``keep``
        columns = key_columns(whole, key)
        if keep == "last" and 0 < n < total:
            return whole[_last_order(columns, n, largest)]
        return whole[_choose(columns, n, largest, "first" if n >= total else keep)]

    partials = per_partition(op, candidates, node, detail=f"{n} per partition")
    return _array(Node(op, merge, [AllToOne(partials)], 1, node.dtype, node.trailing, None,
                       detail=f"{n}, {key or 'values'}, keep={keep}"))


def _array(node: Node):
    from .core import PartitionedArray

    return PartitionedArray(node)


def _best(block, key, n: int, largest: bool, keep: str) -> np.ndarray:
    """Positions (int64, ascending) of the rows of ``block`` that may be among the ``n`` best of
    the whole array."""
    columns = key_columns(block, key)
    first = np.asarray(columns[0])
    if n == 0:
        return np.empty(0, np.int64)
    if len(first) > n:
        rows = _within(first, n, largest)
        return np.sort(rows[_choose([np.asarray(c)[rows] for c in columns], n, largest, keep)]).astype(np.int64)
    return np.sort(_choose(columns, n, largest, keep)).astype(np.int64)


def _within(values: np.ndarray, n: int, largest: bool) -> np.ndarray:
    """The rows whose value is at least as good as a bound no better than the ``n``-th best
    present value (every row when fewer than ``n`` are present): a superset of the best ``n``.

    The bound is the ``n``-th best of an evenly spaced sample (at least ``n`` rows reach it), so
    one comparison pass over the values finds the candidates, about ``n * len / sample`` of them;
    when ties leave many, the ``n``-th best among those (``np.partition``) narrows them.
    """
    sample = values[::max(1, len(values) // _SAMPLE)]
    sample = sample[~is_nan(sample)]
    if len(sample) < n:
        missing = is_nan(values)
        if len(values) - int(np.count_nonzero(missing)) < n:
            return np.arange(len(values))
        sample = values[~missing]
    rows = _reaching(values, sample, n, largest)
    if len(rows) > max(_SAMPLE, 8 * n):
        rows = rows[_reaching(values[rows], values[rows], n, largest)]
    return rows


def _reaching(values: np.ndarray, present: np.ndarray, n: int, largest: bool) -> np.ndarray:
    """The rows of ``values`` at least as good as the ``n``-th best of ``present`` (no NaN)."""
    k = len(present) - n if largest else n - 1
    nth = np.partition(present, k)[k]
    with np.errstate(invalid="ignore"):
        return np.flatnonzero(values >= nth if largest else values <= nth)


def _choose(columns, n: int, largest: bool, keep: str) -> np.ndarray:
    """Of rows in position order, the positions of the ``n`` best in their order (see the module
    docstring): missing keys last, ties by position as ``keep`` says."""
    m = len(columns[0]) if columns else 0
    if m == 0 or n == 0:
        return np.empty(0, np.intp)
    codes, _ = rank_codes([np.asarray(c) for c in columns], (largest,) * len(columns), False)
    positions = np.arange(m)
    if keep == "last":  # later rows first, but missing keys in input order (pandas appends those)
        positions = np.where(is_nan(np.asarray(columns[0])), positions, m - 1 - positions)
    order = np.lexsort((positions, codes))
    if keep != "all":
        return order[:n]
    if m <= n:
        return order
    return order[codes[order] <= codes[order[n - 1]]]


def _last_order(columns, n: int, largest: bool) -> np.ndarray:
    """``keep="last"`` of rows in position order, more than ``n``: the ``n`` best, later rows first
    among equal keys, ordered as pandas orders them. pandas narrows the rows key by key and picks
    the latest rows only among those sharing every key but the last with the ``n``-th row, when the
    next row shares them too; its final (stable) sort by the keys leaves the other ties in input
    order."""
    order = _choose(columns, n + 1, largest, "last")
    chosen, following = order[:n], order[n]
    prefix, _ = rank_codes([np.asarray(c) for c in columns[:-1]], (largest,) * (len(columns) - 1), False) \
        if len(columns) > 1 else (np.zeros(len(columns[0]), np.int64), 1)
    codes, _ = rank_codes([np.asarray(c) for c in columns], (largest,) * len(columns), False)
    narrowed = prefix[chosen] == prefix[chosen[-1]] if prefix[following] == prefix[chosen[-1]] \
        else np.zeros(n, bool)
    narrowed &= ~is_nan(np.asarray(columns[0]))[chosen]
    return chosen[np.lexsort((np.where(narrowed, -chosen, chosen), codes[chosen]))]
