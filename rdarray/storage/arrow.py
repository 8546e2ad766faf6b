"""Arrow data as rdarray's blocks and back, and the paths of a file dataset (pyarrow needed).

Reading (``read_parquet``, ``read_csv``): an Arrow column becomes a field of a ``table.Table``
without a copy where the layout allows: numbers without missing values are NumPy views of Arrow's
buffer; booleans are unpacked from bits; integers and booleans with missing values become float64
with NaN (as ``from_pandas`` makes nullable columns); timestamps become ``datetime64`` of their
unit, NaT where missing, a zone kept in the dtype's metadata as ``from_pandas`` keeps it
(``dtypes.with_zone``); strings (and dictionaries of strings) become variable-width ``Text``
sharing Arrow's bytes where they are one ``large_string`` chunk.

Writing (``to_parquet``, ``to_csv``): each field becomes an Arrow column: text as ``large_string``
(missing: null), a zoned datetime as a timestamp in its zone, NaT as null, floats as they are
(NaN stays NaN).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence

import numpy as np

from ..dtypes import plain, with_zone, zone
from ..table import Table, as_table, names_of
from ..text import FIELD, Text, from_arrow, is_text

_MAGIC_CHARS = "*?["


def require_pyarrow(what: str, extra: str):
    """``pyarrow``, or an ImportError naming the extra that installs it."""
    try:
        import pyarrow
    except ImportError:
        raise ImportError(f"{what} needs pyarrow: pip install 'rdarray[{extra}]' (or pip install pyarrow)") from None
    return pyarrow


def expand_paths(path, what: str, suffixes: Sequence[str] = ()) -> list[str]:
    """The files ``path`` names: a file, a directory (its files, sorted, hidden ones and those
    starting with ``_`` left out; those ending in ``suffixes`` when any does), a glob, or a list of
    these. ``FileNotFoundError`` names a path that matches nothing."""
    paths = list(path) if isinstance(path, (list, tuple)) else [path]
    if not paths:
        raise ValueError(f"{what}: no paths given")
    files: list[str] = []
    for item in paths:
        item = os.fspath(item)
        if any(c in item for c in _MAGIC_CHARS) and not os.path.exists(item):
            found = sorted(f for f in glob.glob(item, recursive=True) if os.path.isfile(f))
            if not found:
                raise FileNotFoundError(f"{what}: no files match {item!r}")
            files.extend(found)
        elif os.path.isdir(item):
            found = sorted(os.path.join(item, n) for n in os.listdir(item)
                           if not n.startswith((".", "_")) and os.path.isfile(os.path.join(item, n)))
            wanted = [f for f in found if f.endswith(tuple(suffixes))] if suffixes else []
            found = wanted or found
            if not found:
                subdirs = [n for n in os.listdir(item) if os.path.isdir(os.path.join(item, n))]
                hint = (f" (only subdirectories, e.g. {subdirs[0]!r}: pass a glob of their files, such as "
                        f"{os.path.join(item, '*', '*')!r}; partition columns in directory names are not read)"
                        if subdirs else "")
                raise FileNotFoundError(f"{what}: the directory {item!r} holds no files{hint}")
            files.extend(found)
        elif os.path.isfile(item):
            files.append(item)
        else:
            raise FileNotFoundError(f"{what}: no such file or directory: {item!r}")
    return files


#: a partition's bytes, or a function of the dataset's bytes giving them
PartitionBytes = int | Callable[[int], int]


def partition_size(partition_bytes: PartitionBytes, total: int) -> int:
    """The bytes of a partition of a dataset of ``total`` bytes (at least 1)."""
    return max(1, partition_bytes(total) if callable(partition_bytes) else partition_bytes)


def field_dtype(name: str, arrow_type, nullable: bool, what: str, width: int | None = None) -> np.dtype:
    """The field dtype an Arrow column of ``arrow_type`` becomes (``nullable``: it may hold nulls,
    which integers and booleans cannot: float64 then); binary data is fixed-width bytes of
    ``width`` (as ``to_parquet`` records it), else of the fixed size of its type."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return FIELD
    if pa.types.is_null(t):
        return np.dtype(np.float64)  # an all-missing column, as pandas reads it
    if pa.types.is_boolean(t):
        return np.dtype(np.float64) if nullable else np.dtype(bool)
    if pa.types.is_integer(t):
        return np.dtype(np.float64) if nullable else np.dtype(t.to_pandas_dtype())
    if pa.types.is_floating(t):
        return np.dtype(t.to_pandas_dtype())
    if pa.types.is_timestamp(t):
        return with_zone(np.dtype(f"M8[{t.unit}]"), t.tz)
    if pa.types.is_date(t):
        return np.dtype("M8[s]")  # as pandas 3 makes dates of a parquet file
    if pa.types.is_duration(t):
        return np.dtype(f"m8[{t.unit}]")
    if pa.types.is_fixed_size_binary(t) and width is None:
        width = t.byte_width
    if width is not None and (pa.types.is_fixed_size_binary(t) or pa.types.is_binary(t)
                              or pa.types.is_large_binary(t)):
        return np.dtype(f"S{width}")
    if pa.types.is_fixed_size_binary(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        raise TypeError(f"{what}: column {name!r} holds binary data ({t}), which rdarray does not read")
    raise TypeError(f"{what}: column {name!r} is of Arrow type {t}, which rdarray does not read")


def column(array, dtype: np.dtype):
    """One Arrow column (an Array or ChunkedArray) as the field of ``dtype`` (``field_dtype``):
    a NumPy array (a view of Arrow's buffer where the layout allows) or ``Text``. ``ValueError``
    if it holds what ``dtype`` cannot (a missing value in an integer column)."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if dtype.kind == "S":
        return array.fill_null(b"").to_numpy(zero_copy_only=False).astype(dtype)
    if is_text(dtype):
        if pa.types.is_null(array.type):
            return Text(np.zeros(len(array) + 1, np.int64), np.empty(0, np.uint8), np.ones(len(array), bool))
        return from_arrow(array.cast(pa.large_string()) if not pa.types.is_large_string(array.type) else array)
    if array.null_count and dtype.kind in "iub":
        raise _Unfit("holds missing values")
    if dtype.kind == "M" and pa.types.is_date(array.type):
        array = array.cast(pa.timestamp("s"))
    if pa.types.is_timestamp(array.type) and array.type.tz is not None:
        array = array.cast(pa.timestamp(array.type.unit))  # the UTC instants, as the dtype holds them
    if pa.types.is_null(array.type) or (array.null_count and dtype.kind == "f"
                                        and not pa.types.is_floating(array.type)):
        array = array.cast(pa.float64())
    values = array.to_numpy(zero_copy_only=False)
    if values.dtype.kind in "fiub" and dtype.kind in "fiub" and values.dtype != dtype:
        if not np.can_cast(values.dtype, dtype, "same_kind") and not (values.dtype.kind in "iub" and dtype.kind == "f"):
            raise _Unfit(f"holds {values.dtype} values")
        values = values.astype(dtype)
    if values.dtype.kind in "Mm" and values.dtype != plain(dtype):
        if values.dtype.kind != dtype.kind:
            raise _Unfit(f"holds {values.dtype} values")
        values = values.astype(plain(dtype))
    if values.dtype.kind != dtype.kind and not (values.dtype.kind in "iub" and dtype.kind == "f"):
        raise _Unfit(f"holds {values.dtype} values")
    return values.view(dtype) if zone(dtype) is not None else values


class _Unfit(ValueError):
    """An Arrow column holding what its field's dtype cannot (the reader names the column)."""


def to_table(arrow_table, dtype: np.dtype, what: str) -> Table:
    """An Arrow table as a Table of ``dtype`` (a subset of its columns, by name). ``ValueError``
    naming the column where one holds what its field's dtype cannot."""
    columns = {}
    for name in names_of(dtype):
        try:
            columns[name] = column(arrow_table.column(name), dtype[name])
        except _Unfit as exc:
            raise ValueError(f"{what}: column {name!r} {exc}, but its dtype is {dtype[name]}") from None
    return Table(dtype, columns)


def arrow_type(dtype: np.dtype, name: str, what: str):
    """The Arrow type a field of ``dtype`` is written as."""
    import pyarrow as pa

    if is_text(dtype):
        return pa.large_string()
    if dtype.subdtype is not None or dtype.names is not None:
        raise TypeError(f"{what}: field {name!r} of dtype {dtype} has a shape or fields of its own; "
                        f"write flat fields only")
    if dtype.kind == "M":
        unit = np.datetime_data(dtype)[0]
        if unit not in ("s", "ms", "us", "ns"):
            raise TypeError(f"{what}: field {name!r} is datetime64[{unit}]; Arrow holds s, ms, us or ns")
        tz = zone(dtype)
        return pa.timestamp(unit, tz=str(tz) if tz is not None else None)
    if dtype.kind == "m":
        unit = np.datetime_data(dtype)[0]
        if unit not in ("s", "ms", "us", "ns"):
            raise TypeError(f"{what}: field {name!r} is timedelta64[{unit}]; Arrow holds s, ms, us or ns")
        return pa.duration(unit)
    if dtype.kind == "U":
        return pa.large_string()
    if dtype.kind == "S":
        return pa.binary()
    return pa.from_numpy_dtype(dtype)


def schema(dtype: np.dtype, what: str):
    """The Arrow schema of a table of ``dtype``; text fields are marked (``rdarray: text``)."""
    import pyarrow as pa

    fields = [pa.field(name, arrow_type(dtype[name], name, what),
                       metadata={"rdarray": "text"} if is_text(dtype[name]) else None)
              for name in names_of(dtype)]
    return pa.schema(fields)


def from_block(block, dtype: np.dtype, what: str, nan_as_null: bool = False):
    """A partition of a table (a Table or records) as an Arrow table of ``schema(dtype)``;
    with ``nan_as_null``, NaN floats as nulls (CSV: an empty field, as every reader takes it)."""
    import pyarrow as pa

    table = as_table(block)
    target = schema(dtype, what)
    arrays = []
    for field in target:
        values = table.column(field.name)
        if isinstance(values, Text):
            arrays.append(values.to_arrow())
        elif pa.types.is_timestamp(field.type) or pa.types.is_duration(field.type):
            raw = np.ascontiguousarray(values).view(np.int64)
            mask = raw == np.iinfo(np.int64).min  # NaT
            arrays.append(pa.array(raw, type=pa.int64(), mask=mask if mask.any() else None).view(field.type))
        elif values.dtype.kind == "S":  # as NumPy reads them: trailing NULs dropped
            arrays.append(pa.array(values.tolist(), type=pa.binary()))
        elif values.dtype.kind == "U":
            arrays.append(pa.array(values.tolist(), type=pa.large_string()))
        else:
            values = np.ascontiguousarray(values)
            mask = np.isnan(values) if nan_as_null and values.dtype.kind == "f" else None
            arrays.append(pa.array(values, type=field.type, mask=mask if mask is not None and mask.any() else None))
    return pa.Table.from_arrays(arrays, schema=target)


def schema_metadata(dtype: np.dtype) -> dict:
    """The schema metadata a written file carries: which fields are rdarray text and the zone of
    each zoned datetime (``{"rdarray": JSON}``; the zones are in the Arrow types too)."""
    import json

    text = [name for name in names_of(dtype) if is_text(dtype[name])]
    zones = {name: str(zone(dtype[name])) for name in names_of(dtype) if zone(dtype[name]) is not None}
    widths = {name: dtype[name].itemsize for name in names_of(dtype) if dtype[name].kind == "S"}
    return {"rdarray": json.dumps({"version": 1, "text": text, "zones": zones, "bytes": widths})}


def byte_widths(schema) -> dict:
    """The widths of the fixed-width bytes fields a file written by ``to_parquet`` holds (its
    ``rdarray`` schema metadata), by name; {} for other files."""
    import json

    try:
        widths = json.loads((schema.metadata or {}).get(b"rdarray", b"{}")).get("bytes", {})
    except (ValueError, AttributeError):
        return {}
    return {str(k): int(v) for k, v in widths.items() if isinstance(v, int) and 0 < v < 1 << 20} \
        if isinstance(widths, dict) else {}
