"""Parquet and CSV files: ``rd.read_parquet``, ``rd.read_csv``, ``x.to_parquet``, ``x.to_csv``.

The readers (``storage/parquet.py``, ``storage/csv_files.py``) are source nodes whose function is
a small picklable object (paths, offsets, row groups; no data), so a partition is read by the
worker computing it on every backend, and only the fields the plan reads (``reads_fields``). The
writers compute one file per partition in parallel into a staging directory and commit it
atomically (``storage/atomic.py``).
"""

from __future__ import annotations

import os
import shutil
import weakref
from typing import TYPE_CHECKING

import numpy as np

from ..config import config
from ..graph.lineage import Node, per_partition
from ..session.compute import run_nodes
from ..session.context import get_context
from ..storage.arrow import require_pyarrow
from ..storage.atomic import AtomicWrite, sync_file
from ..table import is_table
from ..text import is_text

if TYPE_CHECKING:
    from .core import PartitionedArray


def read_parquet(path, columns=None, filters=None) -> PartitionedArray:
    """Read Parquet files as a table, one partition per row group (small ones coalesced).

    Needs pyarrow (``pip install 'rdarray[parquet]'``). Nothing is read but the footers until a
    partition is computed; each partition is then read on the worker computing it, and only the
    columns the plan uses (``explain()`` says which: "reads fields a, b").

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A file, a directory (its ``.parquet`` files), a glob (``"data/*.parquet"``) or a list.
        Every file must have the same schema.
    columns : list of str, optional
        The columns to read (all by default), in this order.
    filters : list of tuple or list of list of tuple, optional
        pyarrow's DNF form: ``[("a", ">", 3), ("b", "==", "x")]`` (and), or a list of such lists
        (or of ands). Keeps exactly the rows ``pyarrow.parquet.read_table(filters=...)`` keeps;
        row groups whose min/max statistics exclude every row are not read (``explain()`` says
        how many were skipped).

    Returns
    -------
    PartitionedArray
        A table: integers and booleans with missing values become float64 with NaN (as
        ``from_pandas`` makes them), timestamps ``datetime64`` (a time zone kept in the field's
        metadata), strings and dictionaries of strings variable-width text.

    Raises
    ------
    FileNotFoundError
        A path that names nothing.
    KeyError
        A column (or a filter's column) the files do not have.
    ValueError
        Files whose schemas differ (naming them and the columns).
    rdarray.CorruptDataError
        A file that is not Parquet, or truncated (naming it).

    Examples
    --------
    >>> t = rd.read_parquet("trips/*.parquet", filters=[("fare", ">", 10)])
    >>> t["fare"].mean().compute()
    """
    from ..storage.parquet import ParquetDataset

    ds = ParquetDataset(path, columns=columns, filters=filters, partition_bytes=_partition_bytes)
    return _parquet_array(ds)


def _partition_bytes(total: int) -> int:
    """A partition's bytes in a file dataset of ``total`` bytes, split as ``from_numpy`` splits an
    array: about ``config.partition_bytes``, and a partition per worker at least where it is worth it."""
    from .core import default_npartitions

    return -(-total // default_npartitions(total, 1)) if total else config.partition_bytes


def _parquet_array(ds) -> PartitionedArray:
    from .core import PartitionedArray

    lengths = ds.lengths if ds.filters is None else None
    node = Node("read_parquet", ds.reader(), [], len(ds.parts), ds.dtype, (), lengths,
                pass_index=True, reads_fields=True, detail=ds.describe())
    _datasets[node] = ds
    return PartitionedArray(node)


#: the Parquet dataset of each read_parquet node (its footers), for masks pushed into its filters
_datasets: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: comparisons of one field of a read_parquet node with a constant: node -> (source, term)
_predicates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_COMPARISONS = {np.less: "<", np.less_equal: "<=", np.greater: ">", np.greater_equal: ">=", np.equal: "=="}
_SWAPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}


def note_comparison(result, ufunc, inputs) -> None:
    """Remember that ``result`` compares a field of a ``read_parquet`` array with a constant
    (``t["f"] > 3``), so that ``t[result]`` can become a read with that filter
    (:func:`pushed_mask`). Only comparisons whose rows pyarrow's filters keep alike: ``<``,
    ``<=``, ``>``, ``>=``, ``==`` (a missing value or NaN is never kept by either) of a number,
    boolean or text field with a number, bool or str."""
    from .core import PartitionedArray

    op = _COMPARISONS.get(ufunc)
    if op is None or len(inputs) != 2 or not isinstance(result, PartitionedArray):
        return
    field, value = inputs
    if not isinstance(field, PartitionedArray):
        field, value, op = value, field, _SWAPPED[op]
    if not isinstance(field, PartitionedArray) or isinstance(value, PartitionedArray):
        return
    node = field._node
    if node.op != "field" or len(node.dependencies) != 1 or node.dtype.names is not None or node.trailing:
        return
    source = node.parents[0]
    if source not in _datasets or node.detail not in (source.dtype.names or ()):
        return
    if isinstance(value, np.generic):
        value = value.item()
    kind = node.dtype.kind
    numeric = (isinstance(value, (int, float)) and not isinstance(value, bool) and kind in "iuf"
               and abs(value) < 2 ** 53 and not (kind == "u" and value < 0))  # values pyarrow casts exactly
    if isinstance(value, float) and value != value:  # NaN
        return
    if not (numeric or (isinstance(value, bool) and kind == "b")
            or (isinstance(value, str) and is_text(node.dtype))):
        return
    _predicates[result._node] = (source, (node.detail, op, value))


def pushed_mask(x, mask):
    """``x[mask]`` as a read of ``x``'s Parquet files with the mask's comparison as one more filter
    (row groups its statistics exclude are not read), where ``x`` is a ``read_parquet`` array and
    ``mask`` a comparison of one of its fields with a constant (:func:`note_comparison`); else None."""
    found = _predicates.get(mask._node)
    if found is None or found[0] is not x._node or x._node.persist_level is not None:
        return None  # a persisted read is masked where it is kept, not read again
    return _parquet_array(_datasets[x._node].filtered(found[1], x.dtype))


def read_csv(path, columns=None, dtype=None, parse_dates=None, **options) -> PartitionedArray:
    """Read CSV files as a table, each file split into byte ranges (one partition each).

    Needs pyarrow (``pip install 'rdarray[csv]'``): each range is parsed by pyarrow's CSV reader,
    a C++ parser giving typed columns, no Python objects (ranges are parsed in parallel; a range's
    blocks too where the ranges are fewer than the workers). The header and each
    column's type are read once, from a sample at the start of the first file, as
    ``pandas.read_csv`` infers them (missing values as pandas', integers with missing values
    as float64, dates parsed only where ``parse_dates`` names them), and applied to every range.
    Ranges end at line ends outside quotes, so quoted values may hold newlines.

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A file, a directory (its ``.csv`` files), a glob or a list; every file has the same header.
        Files ending in ``.gz``, ``.bz2`` or ``.xz`` are decompressed, each read whole (one partition).
    columns : list of str, optional
        The columns to read (all by default), in this order.
    dtype : dtype or dict, optional
        The type of every column, or ``{column: dtype}`` (``str`` for text): overrides inference.
    parse_dates : list of str, optional
        Columns read as ``datetime64[us]`` (as pandas parses them; ``dtype=`` for another unit).
    **options
        ``sep`` (or ``delimiter``), ``quotechar``, ``escapechar``, ``header`` (0 or None),
        ``names``, ``na_values``, ``keep_default_na``, ``true_values``, ``false_values``,
        ``encoding`` (UTF-8 only), as pandas'.

    Returns
    -------
    PartitionedArray
        A table; its length is known once computed.

    Raises
    ------
    FileNotFoundError
        A path that names nothing.
    KeyError
        A column the files do not have.
    ValueError
        When computed: a value a column's inferred type cannot hold further into the file (a
        missing value or text in an integer column), naming the file, the line and the column and
        suggesting ``dtype=``; files whose headers differ.
    rdarray.CorruptDataError
        A malformed file (a line with too many fields), naming the file and the line.

    Examples
    --------
    >>> t = rd.read_csv("sales.csv", parse_dates=["when"])
    >>> t.groupby("shop").sum()
    """
    from ..storage.csv_files import CsvDataset
    from .core import PartitionedArray

    ds = CsvDataset(path, columns=columns, dtype=dtype, parse_dates=parse_dates,
                    partition_bytes=_partition_bytes, options=options, workers=get_context().workers)
    return PartitionedArray(Node("read_csv", ds.reader(), [], len(ds.ranges), ds.dtype, (), None,
                                 pass_index=True, reads_fields=True, detail=ds.describe()))


def _table_of(x: PartitionedArray, what: str) -> np.dtype:
    if not is_table(x.dtype, x._node.trailing):
        raise TypeError(f"{what}: writes a table (a structured array, one field a column); "
                        f"got dtype {x.dtype} of shape {x.shape}")
    return x.dtype


def to_parquet(self, path, overwrite: bool = False, row_group_size: int | None = None,
               compression: str = "snappy") -> None:
    """Write the table as a directory of Parquet files, one per partition, in parallel.

    Needs pyarrow. Atomic as ``save``: the files are written into a hidden directory next to
    ``path`` and moved into place by renames, so a crashed write leaves the previous dataset (or
    nothing), never a part of one. pandas, polars, DuckDB and ``rd.read_parquet`` read it back.

    Parameters
    ----------
    path : str or os.PathLike
        The directory to write (``part-00000.parquet``, ...); its parent must exist.
    overwrite : bool, default False
        Replace what is at ``path``.
    row_group_size : int, optional
        Rows per row group; by default about 64 MB of a partition's data (at most 1M rows).
    compression : str, default "snappy"
        Any codec pyarrow writes (``"zstd"``, ``"lz4"``, ``"none"``).

    Raises
    ------
    TypeError
        The array is not a table, or has a field Parquet cannot hold here (sub-arrays).
    FileExistsError
        ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> t.to_parquet("/data/out")
    """
    from ..storage.parquet import ParquetWriter

    require_pyarrow("to_parquet", "parquet")
    dtype = _table_of(self, "to_parquet")
    from ..storage.arrow import schema

    schema(dtype, "to_parquet")  # refuse what Arrow cannot hold before anything runs
    with AtomicWrite(path, "to_parquet", overwrite) as staged:
        writer = ParquetWriter(staged.staging, dtype, row_group_size=row_group_size, compression=compression)
        _run_writer(self, writer, "to_parquet", os.path.basename(staged.target))
        staged.commit()


def to_csv(self, path, overwrite: bool = False) -> None:
    """Write the table as CSV: one file (``path`` ending in ``.csv``) or a directory of files,
    one per partition, written in parallel.

    Needs pyarrow. A header line names the fields; text is quoted, times are ISO 8601 (zoned
    ones in UTC, ending in ``Z``), missing values are empty. Atomic as ``save``: written into a
    hidden directory next to ``path`` and moved into place by a rename. pandas, polars, DuckDB and
    ``rd.read_csv`` read it back (dates with ``parse_dates``).

    Parameters
    ----------
    path : str or os.PathLike
        A file ending in ``.csv``, else a directory (``part-00000.csv``, ...); its parent must exist.
    overwrite : bool, default False
        Replace what is at ``path``.

    Raises
    ------
    TypeError
        The array is not a table.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> t.to_csv("/data/out.csv")
    """
    from ..storage.csv_files import CsvWriter

    require_pyarrow("to_csv", "csv")
    dtype = _table_of(self, "to_csv")
    single = os.fspath(path).endswith(".csv")
    with AtomicWrite(path, "to_csv", overwrite) as staged:
        writer = CsvWriter(staged.staging, dtype, header="first" if single else "all")
        n = _run_writer(self, writer, "to_csv", os.path.basename(staged.target))
        if not single:
            staged.commit()
            return
        whole = os.path.join(staged.staging, "whole.csv")
        with open(whole, "wb") as out:
            for p in range(n):
                part = os.path.join(staged.staging, f"part-{p:05d}.csv")
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
                os.unlink(part)
        sync_file(whole)
        staged.commit("whole.csv")


def _run_writer(x: PartitionedArray, writer, op: str, detail: str) -> int:
    """Run ``writer(p, block)`` on every partition of ``x`` (on the workers); the partition count."""
    node = x._node
    write = per_partition(op, writer, node, pass_index=True, detail=detail)
    lengths = run_nodes(get_context(), [write])[write.id]
    node.learn_lengths(lengths)
    return len(lengths)
