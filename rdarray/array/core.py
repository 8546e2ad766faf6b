"""PartitionedArray: the user's handle on a lineage node, with a NumPy-like API."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .. import text
from ..config import config
from ..dtypes import check_dtype, empty_block, exact, keep_zones
from ..errors import check_callable, check_integer
from ..graph.lineage import Node, RangeDependency, realign
from ..table import Table, as_table, assemble, is_table, records
from ..text import Text, is_text
from . import elementwise
from .lazy import Lazy
from .notebook import array_html


class PartitionedArray:
    """An immutable, lazily evaluated NumPy array split along axis 0 into partitions.

    Arrays are made by ``rd.from_numpy``, ``rd.from_npy``, ``rd.load`` and the other readers, or by
    operations on arrays; ``compute()`` runs the plan on the current context.

    Parameters
    ----------
    node : Node
        The lineage node whose partitions are this array's (internal: use the readers).
    """

    __slots__ = ("_node", "__weakref__")
    __array_priority__ = 20

    def __init__(self, node: Node):
        self._node = node

    # -- the five properties and the NumPy attributes -------------------------------------------
    @property
    def lineage(self) -> Node:
        return self._node

    @property
    def dtype(self) -> np.dtype:
        return self._node.dtype

    @property
    def ndim(self) -> int:
        return 1 + len(self._node.trailing)

    @property
    def npartitions(self) -> int:
        return self._node.npartitions

    @property
    def partition_lengths(self) -> tuple[int, ...] | None:
        return self._node.partition_lengths

    @property
    def shape(self) -> tuple:
        lengths = self._node.partition_lengths
        return (None if lengths is None else sum(lengths),) + self._node.trailing

    @property
    def size(self) -> int:
        return len(self) * math.prod(self._node.trailing)

    @property
    def nbytes(self) -> int | None:
        rows = self.shape[0]
        return None if rows is None else rows * math.prod(self._node.trailing) * self.dtype.itemsize

    @property
    def partitioner(self):
        return self._node.partitioner

    @property
    def T(self):
        """The transpose, for products: ``x.T @ y`` sums the partitions' products into a small
        matrix (``array/linalg.py``); a 1-D array is its own transpose, as in NumPy."""
        from .products import transposed

        return transposed(self)

    def __len__(self) -> int:
        return sum(ensure_lengths(self._node))

    def __repr__(self) -> str:
        dims = ", ".join("?" if n is None else str(n) for n in self.shape)
        shape = "(" + dims + ("," if self.ndim == 1 else "") + ")"
        return (f"rd.PartitionedArray<{self.dtype}, shape={shape}, npartitions={self.npartitions}, "
                f"op={self._node.op}>")

    def _repr_html_(self) -> str:
        """Jupyter's view: dtype, shape, partitions, the last operations, persisted or not (computes
        nothing)."""
        return array_html(self)

    def explain(self) -> str:
        """The physical plan computing this array, as text (a ``str`` that Jupyter shows as text)."""
        from ..session.compute import explain

        return explain(self)

    def visualize(self, filename=None):
        """The physical plan computing this array, drawn by Graphviz (``rdarray[graphviz]``).

        Parameters
        ----------
        filename : str or path, optional
            Also write the picture there: PNG or SVG, by the suffix.

        Returns
        -------
        graphviz.Source
            The picture, which Jupyter displays.
        """
        from ..session.compute import visualize

        return visualize(self, filename=filename)

    # -- actions ----------------------------------------------------------------------------------
    def compute(self) -> np.ndarray:
        """Evaluate to one NumPy array."""
        from ..session.compute import compute

        return compute(self)[0]

    to_numpy = compute

    def __rd_nodes__(self) -> list[Node]:
        """The compute protocol (``session/compute.py``): the node to compute."""
        return [self._node]

    def __rd_finish__(self, partitions: dict[int, list]) -> np.ndarray:
        """The compute protocol: the computed partitions as one array the caller owns."""
        from ..session.compute import owned

        blocks = partitions[self._node.id]
        if is_table(self.dtype, self._node.trailing):
            return assemble(blocks, self.dtype)
        if is_text(self.dtype):
            return text.joined_strings(blocks)
        if len(blocks) == 1:
            return owned(blocks[0], self._node)
        first = blocks[0].dtype  # given when all agree, NumPy skips promoting (structured) dtypes pair by pair
        alike = all(b.dtype == first for b in blocks)
        return exact(np.concatenate(blocks, dtype=first if alike else None), self.dtype)

    def __array__(self, dtype=None, copy=None):
        out = self.compute()
        return out if dtype is None else out.astype(dtype, copy=False)

    def partitions(self) -> list[np.ndarray]:
        """The computed partitions, in order."""
        from ..session.compute import compute_partitions

        return compute_partitions(self._node)

    def count(self) -> int:
        """The number of rows (computes the partitions when their lengths are unknown)."""
        return len(self)

    def head(self, n: int = 5) -> np.ndarray:
        """The first ``n`` rows, computing only the partitions they come from.

        Parameters
        ----------
        n : int, default 5
            How many rows (fewer when the array is shorter).

        Returns
        -------
        numpy.ndarray
        """
        from ..session.compute import compute_partitions, owned

        n = _check_count(n, "head")
        lengths = self._node.partition_lengths
        if lengths is not None:
            return self[:n].compute()
        got: list[np.ndarray] = []
        rows, start, batch = 0, 0, 1
        while rows < n and start < self.npartitions:
            picked = select_partitions(self, range(start, min(start + batch, self.npartitions)))
            for block in compute_partitions(picked._node):
                got.append(block)
                rows += len(block)
            start, batch = start + batch, batch * 2
        if not got:
            return owned(empty_block(self.dtype, self._node.trailing), self._node)
        if is_table(self.dtype, self._node.trailing):
            return assemble(got, self.dtype)[:n].copy()
        if is_text(self.dtype):  # owned blocks: StringDType arrays
            return np.concatenate(got)[:n].copy()
        return exact(np.concatenate(got), self.dtype)[:n].copy()

    def persist(self, level: str = "memory") -> PartitionedArray:
        """Keep the partitions the first time a plan computes them; later plans reuse them.

        Parameters
        ----------
        level : {"memory", "compressed", "disk"}
            As they are, as Blosc frames in memory, or as frame files in the context's spill directory.

        Returns
        -------
        PartitionedArray
            This array (persisting is recorded on its node).
        """
        from ..storage.blocks import PERSIST_LEVELS

        if level not in PERSIST_LEVELS:
            raise ValueError(f"persist: unknown level {level!r}; choose one of: {', '.join(PERSIST_LEVELS)}")
        self._node.persist_level = level
        return self

    def unpersist(self) -> PartitionedArray:
        """Forget the kept partitions."""
        from ..session.context import get_context

        self._node.persist_level = None
        get_context().store.drop(self._node.id)
        return self

    def save(self, path, codec: str = "lz4", clevel: int = 5, filter: str = "shuffle",
             overwrite: bool = False) -> None:
        """Write to the directory ``path`` (``_meta.json`` and one frame file per partition; docs/FORMAT.md).

        Parameters
        ----------
        path : str or os.PathLike
            The directory.
        codec : {"lz4", "lz4hc", "blosclz", "zlib", "zstd"}
            The Blosc codec of the frames.
        clevel : int, default 5
            The compression level, 0 to 9.
        filter : {"shuffle", "bitshuffle", "none"}
            The Blosc filter before compressing.
        overwrite : bool, default False
            Replace an array saved there, atomically (a reader sees the old or the new one).

        Examples
        --------
        >>> x.save("/data/x")
        >>> rd.load("/data/x")
        """
        from .saved import save

        save(self, path, codec=codec, clevel=clevel, filter=filter, overwrite=overwrite)

    def to_zarr(self, path, overwrite: bool = False) -> None:
        """Write to a zarr store (the directory ``path``), each partition's chunks by its own task.

        An array is one zarr array chunked along axis 0 by partition; a table (a structured dtype)
        is a zarr group holding one array per field. The store is written into a hidden directory
        beside ``path`` and renamed into place: a failed write leaves what was there before.
        Variable-width text cannot be written (``TypeError``); fixed-width ``S``/``U`` can. Zarr
        chunks are the partition length along axis 0: partitions of unequal length are realigned
        first, and unknown lengths (after a mask) are computed first, so the array is computed twice
        unless persisted.

        Parameters
        ----------
        path : str or os.PathLike
            The store's directory; its parent must exist.
        overwrite : bool, default False
            Replace what is at ``path``; else ``FileExistsError`` when something is there.

        Examples
        --------
        >>> x.to_zarr("/data/x.zarr")
        >>> rd.read_zarr("/data/x.zarr")
        """
        from .array_io import to_zarr

        to_zarr(self, path, overwrite=overwrite)

    def checkpoint(self, path=None) -> PartitionedArray:
        """Materialize and cut the lineage, for long iterative loops.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Save there (the ``save`` format) and read back; without it, the partitions go to the block
            store at level ``"disk"``.

        Returns
        -------
        PartitionedArray
            The same rows, with a lineage of one node.
        """
        from .saved import checkpoint

        return checkpoint(self, path)

    # -- narrow transformations -------------------------------------------------------------------
    def map_partitions(self, fn: Callable[[np.ndarray], np.ndarray], dtype=None) -> PartitionedArray:
        """``fn(partition) -> ndarray`` on every partition; it may change the number of rows.

        Parameters
        ----------
        fn : callable
            Takes a partition, returns an array of the result's dtype and trailing shape.
        dtype : numpy.dtype, optional
            The result's dtype; by default found by calling ``fn`` on an empty partition.

        Returns
        -------
        PartitionedArray

        Examples
        --------
        >>> x.map_partitions(lambda b: b[b > 0])
        """
        check_callable(fn, "map_partitions")
        name = getattr(fn, "__name__", type(fn).__name__)
        declared = None if dtype is None else check_dtype(dtype, "map_partitions")
        try:
            empty = records(empty_block(self.dtype, self._node.trailing))
            out_dtype, trailing = elementwise.infer(fn, [empty], "map_partitions")
        except Exception as exc:  # fn may fail on zero rows in any way; a declared dtype is enough
            if declared is None:
                raise type(exc)(f"map_partitions: cannot infer the dtype by calling {name} on an "
                                f"empty partition ({exc}); pass dtype=") from exc
            out_dtype, trailing = declared, self._node.trailing
        out_dtype = declared or out_dtype

        def run(block):
            out = np.asarray(fn(records(block)))
            if out.ndim == 0 or out.shape[1:] != trailing:
                raise ValueError(f"map_partitions: {name} returned shape {out.shape}; expected (rows,) + {trailing}")
            return exact(out.astype(out_dtype, copy=False), out_dtype)  # text as Text, tables as Tables

        return elementwise.map_blocks(self, run, "map_partitions", name, out_dtype, trailing, same_rows=False)

    def filter(self, fn: Callable[[np.ndarray], np.ndarray]) -> PartitionedArray:
        """The rows where ``fn(partition)`` (a boolean mask per partition) is True.

        Parameters
        ----------
        fn : callable
            Takes a partition, returns one bool per row.

        Returns
        -------
        PartitionedArray
        """
        check_callable(fn, "filter")
        name = getattr(fn, "__name__", type(fn).__name__)

        def run(block):
            mask = np.asarray(fn(records(block)))
            if mask.dtype != bool or mask.shape != (len(block),):
                raise ValueError(f"filter: {name} must return a boolean mask of shape ({len(block)},), "
                                 f"got {mask.dtype} {mask.shape}")
            return block[mask]

        return elementwise.map_blocks(self, run, "filter", name, self.dtype, self._node.trailing, same_rows=False)

    def astype(self, dtype) -> PartitionedArray:
        """The values cast to ``dtype``, as ``ndarray.astype``.

        Parameters
        ----------
        dtype : numpy.dtype or str

        Returns
        -------
        PartitionedArray
        """
        dtype = check_dtype(dtype, "astype")
        return elementwise.map_blocks(self, lambda b: b.astype(dtype), "astype", str(dtype), dtype,
                                      self._node.trailing)

    def coalesce(self, n: int) -> PartitionedArray:
        """Join neighbouring partitions into ``n`` (no shuffle); cheaper tasks when partitions are small.

        Parameters
        ----------
        n : int
            The partition count, at most the current one.

        Returns
        -------
        PartitionedArray
        """
        n = _check_count(n, "coalesce", minimum=1)
        if n >= self.npartitions:
            return self
        lengths = self._node.partition_lengths or (1,) * self.npartitions
        ends = np.cumsum(lengths)
        cuts: list[int] = []
        for k in range(1, n):  # cut where the rows reach k/n of the total, one partition a group at least
            reach = int(np.searchsorted(ends, ends[-1] * k / n)) + 1
            cuts.append(min(max(reach, (cuts[-1] if cuts else 0) + 1), self.npartitions - (n - k)))
        edges = [0] + cuts + [self.npartitions]
        groups = [range(edges[k], edges[k + 1]) for k in range(n)]
        return select_partitions(self, groups, op="coalesce", detail=str(n))

    def repartition(self, n: int) -> PartitionedArray:
        """Rows rebalanced into ``n`` partitions of equal length (within one row), order kept.

        The rows stay where they are: each new partition reads row ranges of the old ones (a range
        dependency), so no data is hashed or shuffled.

        Parameters
        ----------
        n : int
            The partition count.

        Returns
        -------
        PartitionedArray
        """
        n = check_npartitions(n, "repartition")
        lengths = split_lengths(sum(ensure_lengths(self._node)), n)
        node = self._node
        return PartitionedArray(Node("repartition", lambda block: block, [realign(node, lengths)], n,
                                     node.dtype, node.trailing, lengths, detail=str(n), uses=same_fields))

    # -- indexing ---------------------------------------------------------------------------------
    def groupby(self, by, sort: bool = True, dropna: bool = True):
        """Rows grouped by key fields (or aligned 1-D arrays) for pandas-style aggregation.

        Parameters
        ----------
        by : str, list of str, PartitionedArray or list of them
            Key fields of a structured array, or 1-D arrays aligned with this one.
        sort : bool, default True
            Results in key order (a range shuffle); else in hash order.
        dropna : bool, default True
            Leave out the rows whose key is NaN or NaT.

        Returns
        -------
        GroupBy
            Aggregates (``sum``, ``median``, ``quantile``, ``agg`` with names or callables, ...),
            ``transform`` (each row's group value, aligned with this array) and ``apply``;
            ``g["f"]`` or ``g[["f", "g"]]`` selects the fields aggregated.

        Examples
        --------
        >>> t.groupby("k").agg(total=("v", "sum"), n=("v", "count"))
        >>> t.assign(share=t["v"] / t.groupby("k")["v"].transform("sum"))
        """
        from .groupby import GroupBy

        return GroupBy(self, by, sort=sort, dropna=dropna)

    def quantile(self, q=0.5):
        """Exact quantiles (NumPy's linear method) with NaN skipped, as pandas' ``quantile``: no sort,
        a few selection passes (``array/quantiles.py``).

        Parameters
        ----------
        q : float or sequence of float
            In [0, 1].

        Returns
        -------
        rd.Lazy
            For an array, as ``np.nanquantile(x, q, axis=0)``. For a table, one float64 value per
            numeric (bool, integer, float) field: a dict ``{field: value}`` for a number ``q``, else a
            structured array with a ``quantile`` field and one row per ``q``.

        Examples
        --------
        >>> t.quantile([0.25, 0.75])
        """
        from .quantiles import array_quantile, table_quantile

        if is_table(self.dtype, self._node.trailing):
            fields = [f for f in self.dtype.names if self.dtype[f].kind in "biuf" and not self.dtype[f].shape]
            if not fields:
                raise TypeError(f"quantile: the table has no numeric field ({self.dtype})")
            return table_quantile(self, q, fields)
        return array_quantile(self, q, 0, skipna=True)

    @property
    def dt(self):
        """Components of datetime64 values (``year``, ``month``, ... ``floor(freq)``), as pandas' ``Series.dt``.

        Returns
        -------
        DatetimeAccessor
        """
        from .accessors import DatetimeAccessor

        return DatetimeAccessor(self)

    def __getitem__(self, key):
        from .indexing import getitem

        return getitem(self, key)

    def __iter__(self):
        for block in self.partitions():
            yield from block

    def __bool__(self):
        raise ValueError("the truth value of a PartitionedArray is ambiguous; use .any() or .all()")

    # -- the NumPy protocol and reductions live in their own modules -------------------------------
    # isort: off
    from .arrow_io import to_csv, to_parquet  # type: ignore[misc]  # noqa: E402
    from .columns import assign, drop, rename  # type: ignore[misc]  # noqa: E402
    from .dask_io import to_dask_array, to_dask_dataframe  # type: ignore[misc]  # noqa: E402
    from .numpy_api import __array_function__, __array_ufunc__  # type: ignore[misc]  # noqa: E402
    from .operators import (  # type: ignore[misc]  # noqa: E402
        __abs__, __add__, __and__, __divmod__, __eq__, __floordiv__, __ge__, __gt__, __invert__, __le__,
        __lshift__, __lt__, __matmul__, __mod__, __mul__, __ne__, __neg__, __or__, __pos__, __pow__,
        __radd__, __rand__, __rdivmod__, __rfloordiv__, __rlshift__, __rmatmul__, __rmod__, __rmul__, __ror__,
        __rpow__, __rrshift__, __rshift__, __rsub__, __rtruediv__, __rxor__, __sub__, __truediv__, __xor__)
    from .pandas_io import to_dict, to_pandas  # type: ignore[misc]  # noqa: E402
    from .reductions import (  # type: ignore[misc]  # noqa: E402
        aggregate, all, any, argmax, argmin, count_nonzero, histogram, max, mean, min, moments,
        prod, reduce, std, sum, var)
    from .wide import partition_by, sort, unique, value_counts  # type: ignore[misc]  # noqa: E402
    from .topn import nlargest, nsmallest  # type: ignore[misc]  # noqa: E402
    from .duplicates import drop_duplicates  # type: ignore[misc]  # noqa: E402
    from .missing import dropna, fillna  # type: ignore[misc]  # noqa: E402
    from .describe import describe  # type: ignore[misc]  # noqa: E402
    from .accessors import between, isin  # type: ignore[misc]  # noqa: E402
    from .scans import cumprod, cumsum  # type: ignore[misc]  # noqa: E402
    from .windows import map_overlap, rolling  # type: ignore[misc]  # noqa: E402
    # isort: on

    __hash__ = None  # type: ignore[assignment]  # as ndarray: == is elementwise

    def _strings(self):
        from .accessors import StringAccessor

        return StringAccessor(self)

    # last in the class: the name ``str`` in its body means this from here on
    str = property(_strings, doc="""Text functions (``contains``, ``startswith``, ``len``, ``upper``, ...),
        as pandas' ``Series.str``; on text of every layout (variable-width, ``S``, ``U``).""")


def ensure_lengths(node: Node) -> tuple[int, ...]:
    """The node's partition lengths, computing its partitions if they are not known yet."""
    if node.partition_lengths is None:
        from ..session.compute import compute_lengths

        node.learn_lengths(compute_lengths(node))
    assert node.partition_lengths is not None
    return node.partition_lengths


def select_partitions(x: PartitionedArray, groups: Sequence, op: str = "select", detail: str = ""):
    """Partition ``k`` of the result is the concatenation of ``x``'s partitions in ``groups[k]``
    (an int is a group of one)."""
    groups = [[g] if isinstance(g, int) else list(g) for g in groups]
    node = x._node
    dep = RangeDependency(node, [[(j, None) for j in g] for g in groups])
    lengths = node.partition_lengths
    new_lengths = None if lengths is None else [sum(lengths[j] for j in g) for g in groups]
    if not detail:
        detail = f"{len(groups)} of {node.npartitions}"
    return PartitionedArray(Node(op, lambda block: block, [dep], len(groups), node.dtype, node.trailing,
                                 new_lengths, detail=detail, uses=same_fields))


def same_fields(used):
    """``Node.uses`` of a node passing its one parent's rows through: it reads the fields read of it."""
    return [used]


def _check_count(n, what: str, minimum: int = 0) -> int:
    return check_integer(n, minimum, f"{what}: expected an integer >= {minimum}, got {n!r}")


# -- making arrays from memory ---------------------------------------------------------------------

#: under a memory limit, default partitions are at most this fraction of each worker's share of it
LIMIT_PARTS = 8


def default_npartitions(nrows: int, row_bytes: int) -> int:
    """About ``config.partition_bytes`` a partition, a multiple of the worker count when large.
    Under a memory limit, at most ``1 / LIMIT_PARTS`` of each worker's share of it (and no less
    than ``config.min_split_bytes``): a task's working memory is a few times the partitions it
    reads, and the tasks running at once must fit in the limit beside the blocks it keeps."""
    from ..session.context import get_context

    ctx = get_context()
    workers = ctx.workers
    target = config.partition_bytes
    if ctx.memory_limit is not None:
        target = min(target, max(config.min_split_bytes, ctx.memory_limit // (LIMIT_PARTS * workers)))
    nbytes = nrows * max(row_bytes, 1)
    n = max(1, math.ceil(nbytes / target))
    if workers > 1 and nbytes >= workers * config.min_split_bytes:
        n = math.ceil(n / workers) * workers
    return max(1, min(n, nrows))


def split_lengths(nrows: int, npartitions: int) -> list[int]:
    """``npartitions`` lengths summing to ``nrows``, differing by one at most."""
    base, extra = divmod(nrows, npartitions)
    return [base + (1 if k < extra else 0) for k in range(npartitions)]


def check_npartitions(npartitions, what: str) -> int:
    return check_integer(npartitions, 1, f"{what}: npartitions must be a positive integer, got {npartitions!r}")


def from_numpy(a, npartitions: int | None = None, partition_size: int | None = None,
               *, partition_lengths: Sequence[int] | None = None) -> PartitionedArray:
    """Split ``a`` along axis 0; the partitions are views of ``a`` (no copy), except that a 1-D
    structured array (a table) is split into its fields once: tables are held field by field.

    Parameters
    ----------
    a : array_like
        The data (a structured array for a table).
    npartitions : int, optional
        How many partitions; by default about ``rd.config.partition_bytes`` each.
    partition_size : int, optional
        Bytes per partition instead of a count.
    partition_lengths : sequence of int, optional
        The row count of every partition, exactly.

    Returns
    -------
    PartitionedArray

    Examples
    --------
    >>> x = rd.from_numpy(np.arange(1_000_000.0), npartitions=8)
    """
    if type(a).__module__.split(".")[0] == "pandas" and type(a).__name__ in ("DataFrame", "Series"):
        raise TypeError(f"from_numpy: got a pandas {type(a).__name__}; use rd.from_pandas, which keeps "
                        "the columns as fields, time zones and missing values")
    try:
        a = a if isinstance(a, (Table, Text)) else np.asarray(a)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"from_numpy: cannot make an array of the input: {exc}") from None
    if is_text(check_dtype(a.dtype, "from_numpy")) and a.ndim == 1:
        a = Text.of(a, "from_numpy")
    if a.ndim == 0:
        raise ValueError("from_numpy: a 0-dimensional array has no rows to partition")
    row_bytes = max(1, a.nbytes // len(a)) if len(a) else a.itemsize * math.prod(a.shape[1:])
    if partition_lengths is None:
        if npartitions is not None and partition_size is not None:
            raise ValueError("from_numpy: give npartitions or partition_size, not both")
        if partition_size is not None:
            check_integer(partition_size, 1,
                          f"from_numpy: partition_size must be a positive number of bytes, got {partition_size!r}")
            npartitions = max(1, min(len(a), math.ceil(len(a) * row_bytes / partition_size)))
        elif npartitions is None:
            npartitions = default_npartitions(len(a), row_bytes)
        partition_lengths = split_lengths(len(a), check_npartitions(npartitions, "from_numpy"))
    bounds = np.concatenate([[0], np.cumsum(partition_lengths)]).tolist()
    a = as_table(a)
    return PartitionedArray(Node(
        "from_numpy", lambda p: a[bounds[p]:bounds[p + 1]], [], len(partition_lengths),
        a.dtype, a.shape[1:], partition_lengths, pass_index=True, cheap=True, in_process=True,
        detail=f"{_dtype_name(a.dtype)}{list(a.shape)}",
    ))


def _dtype_name(dtype: np.dtype) -> str:
    return f"struct of {len(dtype.names)} fields" if dtype.names else str(dtype)


def from_partitions(blocks: Sequence) -> PartitionedArray:
    """An array whose partitions are the given arrays.

    Parameters
    ----------
    blocks : sequence of numpy.ndarray
        The partitions, in order, of one dtype and trailing shape.

    Returns
    -------
    PartitionedArray
    """
    if isinstance(blocks, np.ndarray) or not isinstance(blocks, Sequence):
        raise TypeError(f"from_partitions: expected a list of arrays, got {type(blocks).__name__}")
    blocks = [b if isinstance(b, Table) else np.asarray(b) for b in blocks]  # type: ignore[misc]
    if not blocks:
        raise ValueError("from_partitions: at least one partition is needed")
    first = blocks[0]
    check_dtype(first.dtype, "from_partitions")
    for k, b in enumerate(blocks):
        if b.ndim == 0 or b.dtype != first.dtype or b.shape[1:] != first.shape[1:]:
            raise (TypeError if b.ndim and b.dtype != first.dtype else ValueError)(
                f"from_partitions: partition {k} has dtype {b.dtype} and shape {b.shape}; partition 0 "
                f"has {first.dtype} and rows of shape {first.shape[1:]}" if b.ndim else
                f"from_partitions: partition {k} is 0-dimensional")
    blocks = [as_table(b) for b in blocks]
    return PartitionedArray(Node(
        "from_partitions", lambda p: blocks[p], [], len(blocks), first.dtype, first.shape[1:],
        [len(b) for b in blocks], pass_index=True, cheap=True, in_process=True,
    ))


def generated(op: str, nrows: int, trailing: tuple, dtype, npartitions, make, detail: str = ""):
    """An array whose partition ``p`` is ``make(p, start, stop)`` (rows start..stop)."""
    if npartitions is None:
        npartitions = default_npartitions(nrows, np.dtype(dtype).itemsize * math.prod(trailing))
    lengths = split_lengths(nrows, check_npartitions(npartitions, op))
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    return PartitionedArray(Node(
        op, lambda p: make(p, bounds[p], bounds[p + 1]), [], len(lengths), np.dtype(dtype), trailing,
        lengths, pass_index=True, detail=detail,
    ))


def concatenate(arrays: Sequence, axis: int = 0) -> PartitionedArray:
    """The arrays one after the other along axis 0; their partitions are kept as they are.

    Parameters
    ----------
    arrays : sequence of PartitionedArray or array_like
        Of one dtype and trailing shape.
    axis : int, default 0
        Only 0.

    Returns
    -------
    PartitionedArray
    """
    arrays = [a if isinstance(a, PartitionedArray) else from_numpy(np.asarray(a)) for a in arrays]
    if not arrays:
        raise ValueError("concatenate: need at least one array")
    if axis != 0:
        raise ValueError(f"concatenate: only axis=0 is supported for partitioned arrays, got axis={axis}")
    trailing = arrays[0]._node.trailing
    for a in arrays:
        if a._node.trailing != trailing:
            raise ValueError(f"concatenate: rows of shape {a._node.trailing} and {trailing} differ")
    dtypes = [a.dtype for a in arrays]
    dtype = keep_zones(check_dtype(np.result_type(*dtypes), "concatenate"), dtypes)
    deps: list[RangeDependency] = []
    owner: list[int] = []
    total = sum(a.npartitions for a in arrays)
    for k, a in enumerate(arrays):
        pieces: list[list] = [[] for _ in range(total)]
        for j in range(a.npartitions):
            pieces[len(owner)] = [(j, None)]
            owner.append(k)
        deps.append(RangeDependency(a._node, pieces))
    known = [a.partition_lengths for a in arrays]
    lengths = None if any(n is None for n in known) else [n for ls in known for n in ls or ()]

    def pick(p, *blocks):
        return blocks[owner[p]].astype(dtype, copy=False)

    return PartitionedArray(Node("concatenate", pick, deps, total, dtype, trailing, lengths,
                                 pass_index=True, detail=str(len(arrays))))


def where(cond, a, b) -> PartitionedArray:
    """``np.where(cond, a, b)`` row by row.

    Parameters
    ----------
    cond, a, b : PartitionedArray, array_like or scalar
        At least one is partitioned; partitioned ones are aligned by row.

    Returns
    -------
    PartitionedArray
    """
    if not any(isinstance(o, PartitionedArray) for o in (cond, a, b)):
        raise TypeError("where: at least one argument must be a PartitionedArray")
    return elementwise.elementwise(np.where, operands((cond, a, b)), "where")


def operands(inputs) -> list:
    """The inputs of an elementwise operation: Python scalars stay scalars (NumPy's weak
    promotion); sequences become arrays. Beside variable-width text, a str ending in NUL becomes a
    ``StringDType`` scalar: a ``U`` scalar, NumPy's choice, would drop those NULs (and beside
    fixed-width text NumPy's answer, which ignores them, is kept)."""
    text = any(isinstance(o, PartitionedArray) and is_text(o.dtype) for o in inputs)
    return [_operand(o, text) for o in inputs]


def _operand(o, text: bool):
    if isinstance(o, (PartitionedArray, Lazy, np.ndarray, int, float, complex, bool, np.generic)):
        return o
    if text and isinstance(o, str) and o.endswith("\0"):
        return np.asarray(o, dtype=np.dtypes.StringDType())
    return np.asarray(o)

