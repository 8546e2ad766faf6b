"""Parquet files as partitions (``rd.read_parquet``, in ``array/arrow_io.py``; pyarrow needed).

:class:`ParquetDataset` reads every file's footer once, when the array is made: the schema (the
same in every file, else ``ValueError`` naming the files and columns), the row groups, their
sizes and their statistics. Row groups whose statistics exclude every row of ``filters`` are
skipped; the others are grouped, in order, into partitions of about ``partition_bytes``.
:class:`ParquetReader` (a small picklable object: paths and row-group indices, no data) reads one
partition where it is computed, only the fields the plan reads (``Node.reads_fields``) and those
the filters need, and keeps exactly the rows ``pyarrow.parquet.read_table(filters=...)`` keeps.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import CorruptDataError
from ..table import names_of
from .arrow import PartitionBytes, byte_widths, expand_paths, field_dtype, partition_size, require_pyarrow, to_table

SUFFIXES = (".parquet", ".parq", ".pq")
_OPS = {"=", "==", "!=", "<", "<=", ">", ">=", "in", "not in"}


def normalize_filters(filters, names: Sequence[str]) -> list[list[tuple]] | None:
    """pyarrow's DNF filters as a list of conjunctions of ``(column, op, value)``; ``KeyError``
    for a column that is not there, ``ValueError`` for a malformed filter."""
    if filters is None:
        return None
    if not isinstance(filters, (list, tuple)) or not filters:
        raise ValueError(f"read_parquet: filters must be a non-empty list of (column, op, value) tuples "
                         f"or a list of such lists, got {filters!r}")
    dnf = [list(filters)] if isinstance(filters[0], tuple) else [list(c) for c in filters]
    for conjunction in dnf:
        for term in conjunction:
            if not isinstance(term, tuple) or len(term) != 3 or term[1] not in _OPS:
                raise ValueError(f"read_parquet: bad filter {term!r}: expected (column, op, value) with op "
                                 f"one of {sorted(_OPS)}")
            if term[0] not in names:
                raise KeyError(f"read_parquet: filter on unknown column {term[0]!r}; the columns are: "
                               f"{', '.join(names)}")
    return dnf


def _excluded(op: str, value, lo, hi, nulls: int | None, rows: int) -> bool:
    """Whether a row group whose column has statistics ``lo``..``hi`` and ``nulls`` missing values
    out of ``rows`` holds no row where ``column op value`` is true (False where unsure)."""
    if nulls is not None and nulls == rows:
        return True  # a comparison with a missing value is never true
    if lo is None or hi is None:
        return False
    try:
        if op in ("=", "=="):
            return bool(value < lo or value > hi)
        if op == "!=":
            return bool(lo == hi == value)
        if op == "<":
            return bool(lo >= value)
        if op == "<=":
            return bool(lo > value)
        if op == ">":
            return bool(hi <= value)
        if op == ">=":
            return bool(hi < value)
        if op == "in":
            return all(bool(v < lo or v > hi) for v in value)
        if op == "not in":
            return bool(lo == hi and lo in value)
    except (TypeError, ValueError):  # values of another type than the statistics: unsure
        return False
    return False


class ParquetDataset:
    """The footers of the files of a Parquet dataset, read once (see the module docstring)."""

    def __init__(self, path, columns=None, filters=None, partition_bytes: PartitionBytes = 32 << 20):
        pa = require_pyarrow("read_parquet", "parquet")
        import pyarrow.parquet as pq

        self.files = expand_paths(path, "read_parquet", SUFFIXES)
        metas = []
        for file in self.files:
            try:
                metas.append(pq.read_metadata(file))
            except (pa.ArrowException, OSError) as exc:
                if isinstance(exc, FileNotFoundError):
                    raise FileNotFoundError(f"read_parquet: no such file: {file!r}") from None
                raise CorruptDataError(f"read_parquet: {file!r} is not a readable Parquet file: {exc}") from None
        schema = metas[0].schema.to_arrow_schema()
        for file, meta in zip(self.files[1:], metas[1:]):
            other = meta.schema.to_arrow_schema()
            if [(f.name, f.type) for f in other] != [(f.name, f.type) for f in schema]:  # not nullability, metadata
                mine = {f.name: f.type for f in schema}
                theirs = {f.name: f.type for f in other}
                differ = sorted(n for n in set(mine) | set(theirs) if mine.get(n) != theirs.get(n))
                if not differ:
                    raise ValueError(f"read_parquet: {self.files[0]!r} and {file!r} have the same columns in "
                                     f"another order: {schema.names} vs {other.names}")
                raise ValueError(f"read_parquet: {self.files[0]!r} and {file!r} have different schemas; "
                                 f"the columns that differ: " + ", ".join(
                                     f"{n} ({mine.get(n, 'absent')} vs {theirs.get(n, 'absent')})" for n in differ))
        self.schema = schema
        names = list(schema.names)
        if columns is not None:
            if isinstance(columns, str):
                columns = [columns]
            unknown = [c for c in columns if c not in names]
            if unknown:
                raise KeyError(f"read_parquet: no column {unknown[0]!r}; the columns are: {', '.join(names)}")
            names = list(columns)
        self.metas, self.names, self.partition_bytes = metas, names, partition_bytes
        self._plan(normalize_filters(filters, list(schema.names)))

    def filtered(self, term: tuple, dtype: np.dtype) -> ParquetDataset:
        """This dataset with the filter ``term`` (column, op, value) and'ed to its filters, its
        dtype kept (``dtype``): the footers are not read again."""
        out = ParquetDataset.__new__(ParquetDataset)
        out.__dict__.update(self.__dict__)
        dnf = [c + [term] for c in self.filters] if self.filters is not None else [[term]]
        out._plan(dnf, dtype)
        return out

    def _plan(self, filters, dtype: np.dtype | None = None) -> None:
        """The row groups the filters keep, in partitions, and the dtype (unless given)."""
        schema, metas, names, partition_bytes = self.schema, self.metas, self.names, self.partition_bytes
        self.filters = filters
        # the row groups, their statistics checked against the filters
        index = {name: i for i, name in enumerate(schema.names)}
        kept: list[tuple[int, int, int, int]] = []  # (file, row group, rows, bytes)
        self.total_groups = 0
        nulls: dict[str, int | None] = dict.fromkeys(names, 0)
        for f, meta in enumerate(metas):
            for g in range(meta.num_row_groups):
                self.total_groups += 1
                group = meta.row_group(g)
                if self.filters is not None and self._skipped(group, index):
                    continue
                kept.append((f, g, group.num_rows, group.total_byte_size))
                for name in names:
                    stats = group.column(index[name]).statistics
                    count = stats.null_count if stats is not None and stats.has_null_count else None
                    before = nulls[name]
                    nulls[name] = None if count is None or before is None else before + count
        self.skipped = self.total_groups - len(kept)
        # integers and booleans with missing values become float64: known from the statistics
        # (without them, from whether the schema allows nulls)
        widths = byte_widths(schema)
        fields = [(name, field_dtype(name, schema.field(name).type,
                                     schema.field(name).nullable if nulls[name] is None else bool(nulls[name]),
                                     "read_parquet", widths.get(name))) for name in names]
        self.dtype = np.dtype(fields) if dtype is None else dtype
        # partitions: consecutive row groups, at most about partition_bytes each in memory (a
        # larger group alone): a group's encoded size, or its rows in the fields' widths where
        # that is more (encodings and compression make the file smaller than what is read of it)
        row_bytes = self.dtype.itemsize
        sizes = [max(nbytes, n * row_bytes) for _, _, n, nbytes in kept]
        partition_bytes = partition_size(partition_bytes, sum(sizes))
        self.parts: list[list[tuple[str, list[int]]]] = []
        self.lengths: list[int] = []
        current: list[tuple[int, int]] = []
        size = rows = 0
        for (f, g, n, _), nbytes in zip(kept, sizes):
            if current and size + nbytes > partition_bytes * 1.25:  # a little over is not a partition more
                self._close(current, rows)
                current, size, rows = [], 0, 0
            current.append((f, g))
            size += nbytes
            rows += n
        if current or not self.parts:
            self._close(current, rows)
        self.row_groups = len(kept)

    def _close(self, groups: list[tuple[int, int]], rows: int) -> None:
        part: list[tuple[str, list[int]]] = []
        for f, g in groups:
            if part and part[-1][0] == self.files[f]:
                part[-1][1].append(g)
            else:
                part.append((self.files[f], [g]))
        self.parts.append(part)
        self.lengths.append(rows)

    def _skipped(self, group, index: dict) -> bool:
        """Whether the row group's statistics exclude every row the filters keep."""
        assert self.filters is not None
        for conjunction in self.filters:
            possible = True
            for name, op, value in conjunction:
                chunk = group.column(index[name])
                stats = chunk.statistics
                if stats is None:
                    continue
                lo, hi = (stats.min, stats.max) if stats.has_min_max else (None, None)
                nulls = stats.null_count if stats.has_null_count else None
                if _excluded(op, value, lo, hi, nulls, group.num_rows):
                    possible = False
                    break
            if possible:
                return False
        return True

    def reader(self) -> ParquetReader:
        return ParquetReader(self.parts, self.dtype, self.filters, list(self.schema.names))

    def describe(self) -> str:
        """For ``explain()``: the files, row groups and those skipped by their statistics."""
        where = os.path.basename(self.files[0]) if len(self.files) == 1 else f"{len(self.files)} files"
        text = f"{where}, {self.row_groups} row group(s) in {len(self.parts)} partition(s)"
        if self.filters is not None:
            shown = " or ".join(" and ".join(f"{c} {op} {v!r}" for c, op, v in conj) for conj in self.filters)
            text += f", filters {shown}: {self.skipped} of {self.total_groups} row group(s) skipped by statistics"
        return text


class ParquetReader:
    """Reads partition ``p``: its row groups, only ``fields`` (and the columns the filters need),
    the filters applied. Picklable: paths and indices only."""

    def __init__(self, parts, dtype: np.dtype, filters, order: list[str]):
        self.parts, self.dtype, self.filters, self.order = parts, dtype, filters, order

    def __call__(self, p: int, fields: Sequence[str] | None = None):
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = list(fields) if fields is not None else list(names_of(self.dtype))
        needed = set(names)
        if self.filters is not None:
            needed |= {name for conjunction in self.filters for name, _, _ in conjunction}
        columns = [n for n in self.order if n in needed]
        tables = []
        for file, groups in self.parts[p]:
            try:
                # pages written with checksums (to_parquet writes them) are verified
                table = pq.ParquetFile(file, page_checksum_verification=True).read_row_groups(groups, columns=columns)
            except FileNotFoundError:
                raise FileNotFoundError(f"read_parquet: no such file: {file!r}") from None
            except (pa.ArrowException, OSError) as exc:
                raise CorruptDataError(f"read_parquet: cannot read {file!r}: {exc}") from None
            if self.filters is not None:
                table = table.filter(pq.filters_to_expression([[tuple(t) for t in c] for c in self.filters]))
            tables.append(table)
        dtype = np.dtype([(n, self.dtype[n]) for n in names])
        if not tables:
            return to_table(_empty(dtype), dtype, "read_parquet")
        if len(tables) == 1:
            table = tables[0]
        else:  # column by column: files may differ in nullability and metadata
            table = pa.table({name: pa.chunked_array([c for t in tables for c in t.column(name).chunks],
                                                     type=tables[0].schema.field(name).type) for name in names})
        where = ", ".join(repr(f) for f, _ in self.parts[p])
        return to_table(table, dtype, f"read_parquet: {where}")


def _empty(dtype: np.dtype):
    """A zero-row Arrow table of ``dtype``'s fields."""
    from .arrow import schema

    return schema(dtype, "read_parquet").empty_table()



class ParquetWriter:
    """Writes partition ``p`` of a table of ``dtype`` as ``part-<p>.parquet`` in ``directory``
    (row groups of about ``row_group_bytes``, or ``row_group_size`` rows); returns its rows."""

    def __init__(self, directory: str, dtype: np.dtype, row_group_size: int | None = None,
                 row_group_bytes: int = 64 << 20, compression: str = "snappy"):
        self.directory, self.dtype = directory, dtype
        self.row_group_size, self.row_group_bytes, self.compression = row_group_size, row_group_bytes, compression

    def __call__(self, p: int, block) -> int:
        import pyarrow.parquet as pq

        from .arrow import from_block, schema_metadata
        from .atomic import written

        table = from_block(block, self.dtype, "to_parquet")
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **schema_metadata(self.dtype)})
        rows = self.row_group_size
        if rows is None:
            per_row = max(1, table.nbytes // max(1, table.num_rows))
            rows = int(min(1 << 20, max(1024, self.row_group_bytes // per_row)))
        file = os.path.join(self.directory, f"part-{p:05d}.parquet")
        written(lambda f: pq.write_table(table, f, row_group_size=rows, compression=self.compression,
                                         write_page_checksum=True), file, "to_parquet")
        return table.num_rows
