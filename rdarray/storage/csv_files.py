"""CSV files as partitions (``rd.read_csv``, in ``array/arrow_io.py``; pyarrow needed).

:class:`CsvDataset` reads, when the array is made, the header and a sample from the start of the
first file, and infers each column's type once, as ``pandas.read_csv`` would (integers, floats,
booleans, text; dates only where ``parse_dates`` names them; an integer or boolean column with
missing values in the sample is float64, an all-missing one float64). Each file is cut into byte
ranges of about ``partition_bytes`` at line ends that are outside quotes (the count of quote
characters before the cut is even; a kernel counts them, ``_core/csvscan.pyx``), one partition
each. :class:`CsvReader` (paths and offsets, no data) reads one range where it is computed with
pyarrow's CSV reader — a C++ parser giving typed columns, no Python objects, in blocks of about
1 MB, on pyarrow's threads only where the ranges are fewer than the workers (else the workers
parse ranges in parallel already) — with the inferred types given explicitly, so
every partition has the same dtype; a value the type cannot hold raises ``ValueError`` naming the
file, the line and the column, and suggesting ``dtype=``, never a wrong value.
"""

from __future__ import annotations

import io
import mmap
import os
from collections.abc import Sequence

import numpy as np

import rdarray._core.csvscan as csvscan

from ..errors import CorruptDataError
from ..table import names_of
from ..text import FIELD, is_text
from .arrow import PartitionBytes, expand_paths, field_dtype, partition_size, require_pyarrow, to_table

#: pandas' default missing-value markers (``pandas.read_csv``'s ``na_values``)
NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
TRUE_VALUES = ["True", "TRUE", "true"]
FALSE_VALUES = ["False", "FALSE", "false"]
SAMPLE_BYTES = 1 << 20
#: the blocks pyarrow parses a range in: pyarrow's default; one block of a whole range (tens of MB)
#: outgrows the caches and takes about a third more time to parse, more than joining the blocks'
#: chunks into one column afterwards costs (a copy, ``arrow.column``)
BLOCK_BYTES = 1 << 20
_OPTIONS = {"sep", "delimiter", "quotechar", "escapechar", "na_values", "keep_default_na", "header", "names",
            "true_values", "false_values", "encoding"}


class CsvDataset:
    """The files of a CSV dataset: columns and types from a sample, and byte ranges (see the module
    docstring)."""

    def __init__(self, path, columns=None, dtype=None, parse_dates=None, partition_bytes: PartitionBytes = 32 << 20,
                 options: dict | None = None, workers: int = 1):
        require_pyarrow("read_csv", "csv")
        options = dict(options or {})
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise TypeError(f"read_csv: unsupported option {unknown[0]!r}; the options are: "
                            f"{', '.join(sorted(_OPTIONS))}")
        self.files = expand_paths(path, "read_csv", (".csv", ".txt", ".tsv", ".csv.gz", ".csv.bz2", ".csv.xz"))
        sep = options.get("sep", options.get("delimiter", ","))
        if not isinstance(sep, str) or len(sep) != 1:
            raise ValueError(f"read_csv: sep must be one character, got {sep!r}")
        quote = options.get("quotechar", '"')
        if quote and not (isinstance(quote, str) and len(quote) == 1 and quote.isascii()):
            raise ValueError(f"read_csv: quotechar must be one ASCII character, got {quote!r}")
        encoding = options.get("encoding", "utf-8")
        if str(encoding).lower().replace("-", "") not in ("utf8", "ascii"):
            raise ValueError(f"read_csv: only UTF-8 files are read, got encoding={encoding!r}")
        na = list(options.get("na_values", []) or [])
        na = [na] if isinstance(na, str) else na
        self.na_values = ([] if options.get("keep_default_na", True) is False else NA_VALUES) + [str(v) for v in na]
        self.true_values = TRUE_VALUES + list(options.get("true_values", []) or [])
        self.false_values = FALSE_VALUES + list(options.get("false_values", []) or [])
        header = options.get("header", "infer")
        names = options.get("names")
        has_header = header in ("infer", 0) and names is None or header == 0
        if header not in ("infer", 0, None):
            raise ValueError(f"read_csv: header must be 0 or None, got {header!r}")
        self.sep, self.quote, self.escape = sep, quote, options.get("escapechar")
        parse_dates = [parse_dates] if isinstance(parse_dates, str) else list(parse_dates or [])
        # the header and a sample
        first = self.files[0]
        with _open(first) as f:
            head = f.read(SAMPLE_BYTES)
            whole = len(head) < SAMPLE_BYTES
        header_end = _line_end(head, 0, quote) if has_header else 0
        if has_header and header_end < 0:
            header_end = len(head)
        sample_end = len(head) if whole else _last_line_end(head, quote)
        if sample_end < header_end:
            raise ValueError(f"read_csv: the first line of {first!r} is longer than {SAMPLE_BYTES} bytes")
        pa = require_pyarrow("read_csv", "csv")
        if has_header:
            try:
                file_names = _first_fields_values(head[:header_end], self)
            except pa.ArrowInvalid as exc:
                raise CorruptDataError(f"read_csv: cannot read the header of {first!r} (line 1): {exc}") from None
        else:
            file_names = None
        self.file_names = file_names
        if names is not None:
            self.names = [str(n) for n in names]
        elif file_names is not None:
            self.names = file_names
        else:
            count = len(_first_fields(head[:sample_end], self))
            self.names = [str(i) for i in range(count)]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"read_csv: {first!r} has duplicate column names: {self.names}")
        self.header = has_header
        dtype = _dtype_map(dtype, self.names)
        for name in parse_dates:
            if name not in self.names:
                raise KeyError(f"read_csv: parse_dates names no column {name!r}; the columns are: "
                               f"{', '.join(self.names)}")
        column_types = {n: _arrow_type(d, n) for n, d in dtype.items()}
        sample = head[header_end:sample_end]
        if not sample.strip():  # no rows: text, as pandas makes the columns of an empty file
            table = pa.table({n: pa.array([], column_types.get(n, pa.large_string())) for n in self.names})
        else:
            try:
                table = self._parse(sample, column_types, infer=True)
            except pa.ArrowInvalid as exc:
                raise _parse_error(exc, first, sample, 1 + int(has_header), self.names) from None
        fields = []
        self.types = {}
        for name in self.names:
            t = table.column(name).type
            nulls = table.column(name).null_count > 0
            if name in dtype:
                field = dtype[name]
            elif name in parse_dates:  # microseconds, as pandas 3 parses dates; UTC where they say Z
                column_types[name] = pa.timestamp("us", tz=t.tz if pa.types.is_timestamp(t) else None)
                field = field_dtype(name, column_types[name], nulls, "read_csv")
            elif pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
                field = FIELD  # pandas parses dates only where asked
            elif pa.types.is_null(t):
                field = np.dtype(np.float64)
            else:
                field = field_dtype(name, t, nulls, "read_csv")
            fields.append((name, field))
            self.types[name] = column_types.get(name) or _arrow_type(field, name)
        self.dtype = np.dtype(fields)
        if columns is not None:
            columns = [columns] if isinstance(columns, str) else list(columns)
            unknown = [c for c in columns if c not in self.names]
            if unknown:
                raise KeyError(f"read_csv: no column {unknown[0]!r}; the columns are: {', '.join(self.names)}")
            self.dtype = np.dtype([(c, self.dtype[c]) for c in columns])
        # byte ranges at line ends outside quotes
        self.ranges: list[tuple[str, int, int]] = []  # (file, start, stop)
        partition_bytes = partition_size(partition_bytes, sum(os.path.getsize(f) for f in self.files))
        for file in self.files:
            start = header_end if file == first else self._header_end(file)
            # with an escape character, a quote may be escaped: counting quotes would not find
            # the line ends outside quotes, so each file is one range
            if _compressed(file):  # read whole, decompressed as it is read
                self.ranges.append((file, start, -1))
                continue
            self.ranges.extend(_ranges(file, start, partition_bytes if not self.escape else 1 << 62, quote, workers))
        if not self.ranges:
            self.ranges.append((first, header_end, header_end))
        # pyarrow's threads parse the blocks of a range in parallel only where the ranges are fewer
        # than the workers: else the ranges are parsed in parallel already, and handing each block
        # to another thread only costs time
        self.threads = len(self.ranges) < workers

    def _header_end(self, file: str) -> int:
        """Where the data of another file of the dataset starts; ``ValueError`` if its header
        names other columns than the first file's."""
        if not self.header:
            return 0
        with _open(file) as f:
            head = f.read(SAMPLE_BYTES)
        end = _line_end(head, 0, self.quote)
        end = len(head) if end < 0 else end
        names = _first_fields_values(head[:end], self)
        first = self.file_names or []
        if names != first:
            differ = [n for n in names if n not in first] + [n for n in first if n not in names]
            raise ValueError(f"read_csv: {self.files[0]!r} and {file!r} have different columns: "
                             f"{self.file_names} vs {names}" + (f" (differing: {', '.join(differ)})" if differ else ""))
        return end

    def _parse_options(self):
        import pyarrow.csv as pacsv

        return pacsv.ParseOptions(delimiter=self.sep, quote_char=self.quote or False,
                                  escape_char=self.escape or False, newlines_in_values=bool(self.quote))

    def _parse(self, data: bytes, column_types: dict, infer: bool = False, names: Sequence[str] | None = None,
               threads: bool = False):
        import pyarrow as pa
        import pyarrow.csv as pacsv

        convert = pacsv.ConvertOptions(column_types=column_types, null_values=self.na_values,
                                       true_values=self.true_values, false_values=self.false_values,
                                       strings_can_be_null=True, quoted_strings_can_be_null=True,
                                       include_columns=list(names) if names is not None else None)
        # a zero-copy reader of the bytes (a BytesIO would be read through Python, copied)
        read = pacsv.ReadOptions(column_names=self.names, use_threads=threads, block_size=BLOCK_BYTES)
        try:
            return pacsv.read_csv(pa.BufferReader(data), read_options=read, parse_options=self._parse_options(),
                                  convert_options=convert)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or len(data) < BLOCK_BYTES:
                raise
        # a line longer than a block: the range in one block
        read = pacsv.ReadOptions(column_names=self.names, use_threads=threads, block_size=len(data) + 1)
        return pacsv.read_csv(pa.BufferReader(data), read_options=read, parse_options=self._parse_options(),
                              convert_options=convert)

    def reader(self) -> CsvReader:
        return CsvReader(self)

    def describe(self) -> str:
        where = os.path.basename(self.files[0]) if len(self.files) == 1 else f"{len(self.files)} files"
        return f"{where}, {len(self.ranges)} byte range(s)"


class CsvReader:
    """Reads partition ``p``: one byte range, only ``fields``, in the inferred types. Picklable:
    paths, offsets and options, no data."""

    def __init__(self, dataset: CsvDataset):
        self.ranges = dataset.ranges
        self.dtype = dataset.dtype
        self.types = dataset.types
        self.names = dataset.names
        self.options = (dataset.sep, dataset.quote, dataset.escape, dataset.na_values, dataset.true_values,
                        dataset.false_values)
        self.threads = dataset.threads

    def _dataset(self) -> CsvDataset:
        ds = CsvDataset.__new__(CsvDataset)
        ds.sep, ds.quote, ds.escape, ds.na_values, ds.true_values, ds.false_values = self.options
        ds.names = self.names
        return ds

    def __call__(self, p: int, fields: Sequence[str] | None = None):
        import pyarrow as pa

        file, start, stop = self.ranges[p]
        names = list(fields) if fields is not None else list(names_of(self.dtype))
        dtype = np.dtype([(n, self.dtype[n]) for n in names])
        try:
            with _open(file) as f:
                if stop < 0:  # a compressed file: all of it after the header
                    f.read(start)
                    data = f.read()
                else:
                    f.seek(start)
                    data = f.read(stop - start)
        except FileNotFoundError:
            raise FileNotFoundError(f"read_csv: no such file: {file!r}") from None
        except (OSError, EOFError, ValueError) as exc:
            raise CorruptDataError(f"read_csv: cannot read {file!r}: {exc}") from None
        if stop >= 0 and len(data) != stop - start:
            raise CorruptDataError(f"read_csv: {file!r} is shorter than when it was opened (truncated?)")
        ds = self._dataset()
        if not data or data.isspace():  # no rows (a file of its header only); no copy, as strip makes
            return to_table(pa.table({n: pa.array([], self.types[n]) for n in names}), dtype, "read_csv")
        try:
            table = ds._parse(data, {n: self.types[n] for n in names}, names=names, threads=self.threads)
        except pa.ArrowInvalid as exc:
            raise _parse_error(exc, file, data, _line_at(file, start), self.names) from None
        try:
            return to_table(table, dtype, f"read_csv: {file!r}")
        except ValueError as exc:
            where = ""
            for name in names:  # the first missing value where the type holds none: its line
                column = table.column(name)
                if column.null_count and dtype[name].kind in "iub":
                    row = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
                    where = f" (near line {_line_at(file, start) + row})"
                    break
            raise ValueError(f"{exc}{where}: its type was inferred from a sample at the start of the file; "
                             f"pass dtype={{column: type}} (e.g. float64 or str) to read_csv") from None


def _dtype_map(dtype, names: Sequence[str]) -> dict:
    """``dtype=`` as {column: NumPy dtype}: one for every column, or a dict."""
    if dtype is None:
        return {}
    if not isinstance(dtype, dict):
        return {n: _field(dtype, n) for n in names}
    unknown = [c for c in dtype if c not in names]
    if unknown:
        raise KeyError(f"read_csv: dtype names no column {unknown[0]!r}; the columns are: {', '.join(names)}")
    return {n: _field(d, n) for n, d in dtype.items()}


def _field(d, name: str) -> np.dtype:
    if d is str or d is object or (isinstance(d, str) and d in ("str", "string", "object", "O")):
        return FIELD
    out = np.dtype(d)
    if out.kind in "OUT" or is_text(out):
        return FIELD
    if out.kind not in "biufMm":
        raise TypeError(f"read_csv: column {name!r}: dtype {out} is not read from CSV (numbers, bool, "
                        f"datetime64, timedelta64 or str)")
    return out


def _arrow_type(dtype: np.dtype, name: str):
    import pyarrow as pa

    if is_text(dtype):
        return pa.large_string()
    if dtype.kind == "M":
        unit = np.datetime_data(dtype)[0]
        return pa.timestamp(unit if unit in ("s", "ms", "us", "ns") else "ns")
    if dtype.kind == "m":
        return pa.duration(np.datetime_data(dtype)[0])
    return pa.from_numpy_dtype(dtype)


def _line_end(data: bytes, start: int, quote) -> int:
    """The offset just past the first line end at or after ``start`` that is outside quotes
    (quotes counted from ``start``, which is outside quotes); -1 if there is none."""
    pos = start
    inside = 0
    q = (quote or "").encode()
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return -1
        if q:
            inside = (inside + data.count(q, pos, nl)) % 2
        if not inside:
            return nl + 1
        pos = nl + 1


def _last_line_end(data: bytes, quote) -> int:
    """The offset just past the last line end of ``data`` outside quotes (0 if none)."""
    return csvscan.last_line_end(data, 0, len(data), _quote_byte(quote))


def _quote_byte(quote) -> int:
    """The quote character as a byte for the scanning kernels (-1: no quoting)."""
    if not quote:
        return -1
    q = quote.encode() if isinstance(quote, str) else bytes(quote)
    if len(q) != 1:
        raise ValueError(f"read_csv: quotechar must be one ASCII character, got {quote!r}")
    return q[0]


def _line_at(file: str, offset: int) -> int:
    """The line number (from 1) of the byte ``offset`` of ``file``: for error messages only."""
    lines = 1
    with _open(file) as f:
        while offset > 0:
            chunk = f.read(min(offset, 1 << 24))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            offset -= len(chunk)
    return lines


def _compressed(file: str) -> bool:
    return file.endswith((".gz", ".bz2", ".xz"))


def _open(file: str):
    """``file`` for reading: decompressed when its name ends in ``.gz``, ``.bz2`` or ``.xz``."""
    if file.endswith(".gz"):
        import gzip

        return gzip.open(file, "rb")
    if file.endswith(".bz2"):
        import bz2

        return bz2.open(file, "rb")
    if file.endswith(".xz"):
        import lzma

        return lzma.open(file, "rb")
    return open(file, "rb")


def _ranges(file: str, start: int, target: int, quote, threads: int = 1) -> list[tuple[str, int, int]]:
    """Byte ranges of ``file`` from ``start``, about ``target`` bytes each, cut just after line ends
    outside quotes: (file, start, stop). The nominal cuts are every ``target`` bytes from ``start``;
    each is moved to the first line end outside quotes at or after it (a cut the previous one
    passed is dropped). The quotes of the whole file are counted by a kernel reading a memory map
    of it, the stretches between nominal cuts on ``threads`` threads where the file is large, and
    the parity at each nominal cut is the exclusive or of those before it."""
    size = os.path.getsize(file)
    if size <= start:
        return []
    q = _quote_byte(quote)
    out = []
    with open(file, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        size = len(mm)
        bounds = list(range(start, size, target)) + [size]
        parities = _parities(mm, bounds, q, threads)
        begin, inside = start, 0
        for k in range(1, len(bounds) - 1):
            inside ^= parities[k - 1]  # the parity at bounds[k], counted from start
            if bounds[k] < begin:  # the last cut passed this one: the same line end
                continue
            end, _ = csvscan.line_end(mm, bounds[k], size, q, inside)
            if end < 0:  # no line end outside quotes after it: the rest is one range
                break
            if end < size:
                out.append((file, begin, end))
                begin = end
        if sum(parities) % 2:
            raise CorruptDataError(f"read_csv: {file!r} ends inside a quoted value (a quote opened "
                                   f"at or after line {_line_at(file, begin)} is never closed)")
        out.append((file, begin, size))
    return out


#: a file's data beyond which ``_ranges`` counts its quotes on several threads
PARALLEL_SCAN_BYTES = 8 << 20


def _parities(mm, bounds: list[int], q: int, threads: int) -> list[int]:
    """The parity of the quotes between each two consecutive ``bounds``: the stretches split into
    ``threads`` runs of consecutive ones, counted in parallel (the kernel holds no GIL) where the
    data is large."""
    spans = list(zip(bounds[:-1], bounds[1:]))
    if q < 0:
        return [0] * len(spans)

    def count(run: list[tuple[int, int]]) -> list[int]:
        return [csvscan.quote_parity(mm, a, b, q) for a, b in run]

    threads = min(threads, len(spans))
    if threads <= 1 or bounds[-1] - bounds[0] < PARALLEL_SCAN_BYTES:
        return count(spans)
    from concurrent.futures import ThreadPoolExecutor

    per = -(-len(spans) // threads)
    with ThreadPoolExecutor(threads) as pool:
        runs = pool.map(count, [spans[i:i + per] for i in range(0, len(spans), per)])
        return [p for run in runs for p in run]


def _first_fields(data: bytes, ds: CsvDataset) -> list:
    import pyarrow.csv as pacsv

    end = _line_end(data, 0, ds.quote)
    table = pacsv.read_csv(io.BytesIO(data[:end if end > 0 else len(data)]), parse_options=ds._parse_options(),
                           read_options=pacsv.ReadOptions(autogenerate_column_names=True))
    return table.column_names


def _first_fields_values(data: bytes, ds: CsvDataset) -> list[str]:
    """The values of the first line of ``data`` (a header)."""
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(io.BytesIO(data), parse_options=ds._parse_options(),
                           read_options=pacsv.ReadOptions(autogenerate_column_names=True),
                           convert_options=pacsv.ConvertOptions(column_types={}))
    return [str(table.column(i)[0].as_py()) for i in range(table.num_columns)]


def _parse_error(exc, file: str, data: bytes, line: int, names: Sequence[str]) -> Exception:
    """A pyarrow CSV error as a ``ValueError`` naming the file, the line (where the message shows
    it) and the column."""
    message = str(exc)
    where = f"line {line}"
    marker = message.rsplit(": ", 1)[-1] if "Expected" in message else ""
    if marker:
        found = data.find(marker.encode())
        if found >= 0:
            where = f"line {line + _lines(data, found)}"
    if "conversion error" in message:
        import re

        match = re.search(r"column #(\d+)", message)
        column = names[int(match.group(1))] if match and int(match.group(1)) < len(names) else "?"
        bad = re.search(r"invalid value '(.*)'", message)
        if bad is not None:
            found = data.find(bad.group(1).encode())
            if found >= 0:
                where = f"line {line + _lines(data, found)}"
        return ValueError(f"read_csv: {file!r} {where}: column {column!r} holds a value its type cannot hold "
                          f"({message}); the type was inferred from a sample at the start of the file; pass "
                          f"dtype={{{column!r}: ...}} (e.g. float64 or str) to read_csv")
    return CorruptDataError(f"read_csv: {file!r} {where}: {message}")


def _lines(data: bytes, stop: int) -> int:
    """How many line ends ``data`` has before ``stop``."""
    return data.count(b"\n", 0, stop)


class CsvWriter:
    """Writes partition ``p`` of a table of ``dtype`` as ``part-<p>.csv`` in ``directory`` (a
    header line first when ``header`` is true, or only in partition 0 when it is ``"first"``);
    returns its rows. Times are written in ISO 8601 (zoned ones in UTC, with ``Z``), text quoted,
    missing values as empty fields."""

    def __init__(self, directory: str, dtype: np.dtype, header="all"):
        self.directory, self.dtype, self.header = directory, dtype, header

    def __call__(self, p: int, block) -> int:
        import pyarrow.csv as pacsv

        from .arrow import from_block
        from .atomic import written

        table = from_block(block, self.dtype, "to_csv", nan_as_null=True)
        header = self.header == "all" or p == 0
        file = os.path.join(self.directory, f"part-{p:05d}.csv")
        written(lambda f: pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=header)), file, "to_csv")
        return table.num_rows
