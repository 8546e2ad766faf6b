"""``Table``: one partition of a structured array, held as one contiguous array per field.

A row-major structured array copies whole records on every mask and packs a record on every field
selection; held field by field, selecting fields is free and a mask gathers only the fields that
are read afterwards (the row selection stays pending, applied to a field when it is first read).

A ``Table`` stands in for a 1-D structured ndarray wherever the engine passes partitions around:
``len``, ``dtype``, ``shape``, ``nbytes``, ``t["field"]``, ``t[["a", "b"]]``, row slices, boolean
masks and integer row indices, ``take``, ``copy`` and ``astype`` work on the fields; anything else
(``np.asarray(t)``, other NumPy functions, ufuncs) sees the records, assembled once (``records``).
User functions are always given records. ``docs/ARCHITECTURE.md`` says where tables are made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .text import Text, array_dtype, converted, field_dtype, is_text, joins_rows


def names_of(dtype: np.dtype) -> tuple[str, ...]:
    """The field names of ``dtype`` (none for an unstructured one)."""
    return dtype.names or ()


def is_table(dtype: np.dtype, trailing: tuple = ()) -> bool:
    """Whether partitions of this dtype and trailing shape are held as Tables."""
    return dtype.names is not None and not trailing


def packed(dtype: np.dtype) -> np.dtype:
    """``dtype`` without padding or offsets: its fields one after another, in order."""
    return np.dtype([(name, dtype[name]) for name in names_of(dtype)])


class Table:
    """A structured partition held field by field (see the module docstring).

    ``dtype`` is the structured dtype of the records. Each field is an array of ``(rows,) + field
    shape`` in the field's dtype, with its pending row selection (integer positions into it, or
    None): a field is gathered when it is first read, and the gathered array kept. Fields taken
    from one table share their selection, so it is composed once per mask.
    """

    __slots__ = ("dtype", "_fields", "_length")
    __array_priority__ = 15

    def __init__(self, dtype: np.dtype, columns: Mapping, rows: np.ndarray | None = None):
        self.dtype = np.dtype(dtype)
        self._fields = {name: (col, rows) for name, col in columns.items()}  # name -> (array, rows or None)
        if rows is not None:
            self._length = len(rows)
        else:
            self._length = len(next(iter(columns.values()))) if columns else 0

    @classmethod
    def _of(cls, dtype: np.dtype, fields: dict, length: int) -> Table:
        out = cls.__new__(cls)
        out.dtype, out._fields, out._length = dtype, fields, length
        return out

    # -- making tables ----------------------------------------------------------------------------
    @classmethod
    def from_records(cls, records: np.ndarray) -> Table:
        """The fields of the 1-D structured array ``records``, each copied once into its own array
        (a text field's objects as ``Text``)."""
        dtype = records.dtype
        return cls(dtype, {name: Text.of(records[name], f"field {name!r}") if is_text(dtype[name])
                           else np.ascontiguousarray(records[name]) for name in names_of(dtype)})

    @classmethod
    def from_columns(cls, columns: Mapping[str, np.ndarray]) -> Table:
        """A table of ``columns`` (name -> array); the dtype follows the arrays'."""
        dtype = np.dtype([(name, field_dtype(col.dtype), col.shape[1:]) for name, col in columns.items()])
        return cls(dtype, columns)

    # -- the ndarray attributes the engine reads --------------------------------------------------
    def __len__(self) -> int:
        return self._length

    @property
    def shape(self) -> tuple:
        return (self._length,)

    @property
    def ndim(self) -> int:
        return 1

    @property
    def size(self) -> int:
        return self._length

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes of the rows: fixed-width fields by their itemsize, text by its own bytes."""
        total = self._length * packed(self.dtype).itemsize
        for col, _ in self._fields.values():
            if isinstance(col, Text):
                total += (col.nbytes * self._length) // max(len(col), 1) - 8 * self._length
        return total

    def __repr__(self) -> str:
        return f"Table({self._length} rows, {self.dtype})"

    # -- fields ------------------------------------------------------------------------------------
    def column(self, name: str) -> np.ndarray:
        """The field ``name``, gathered first when a row selection is pending."""
        col, rows = self._fields[name]
        if rows is not None:
            col = col[rows]
            self._fields[name] = (col, None)
        return col

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Every field, gathered (name -> array)."""
        return {name: self.column(name) for name in names_of(self.dtype)}

    def pending(self) -> int:
        """How many fields still wait for their row selection (not read since the last mask)."""
        return sum(rows is not None for _, rows in self._fields.values())

    def materialized(self) -> Table:
        """This table with no pending row selection (every field gathered)."""
        return self if not self.pending() else Table(self.dtype, self.columns)

    def select(self, names: Sequence[str], present: bool = False) -> Table:
        """The fields ``names`` only, packed; nothing is copied or gathered. With ``present``,
        those of them the table has (a table pruned of fields nothing reads)."""
        if present:
            names = [n for n in names if n in self._fields]
        dtype = np.dtype([(name, self.dtype[name]) for name in names])
        return Table._of(dtype, {name: self._fields[name] for name in names}, self._length)

    def with_fields(self, dtype: np.dtype, sources: Mapping[str, str], new: Mapping[str, np.ndarray]) -> Table:
        """A table of ``dtype``'s fields whose field ``name`` is ``new[name]`` (an array of this
        table's length) or this table's field ``sources[name]``, shared as it is (pending or not).
        A field with neither (pruned: nothing reads it) is left out."""
        names = [n for n in names_of(dtype) if n in new or sources.get(n) in self._fields]
        fields = {name: (new[name], None) if name in new else self._fields[sources[name]] for name in names}
        return Table._of(np.dtype([(n, dtype[n]) for n in names]), fields, self._length)

    def with_dtype(self, dtype: np.dtype) -> Table:
        """The same fields under ``dtype`` (same names; field dtypes equal up to byte order)."""
        dtype = np.dtype(dtype)
        columns = {}
        for name in names_of(dtype):
            col = self.column(name)
            target = array_dtype(dtype[name].base)
            columns[name] = col if col.dtype == target else col.astype(target)
        return Table(dtype, columns)

    # -- rows --------------------------------------------------------------------------------------
    def __getitem__(self, key):
        if isinstance(key, str):  # a view, as a structured array's field is: never a temporary to reuse
            return self.column(key).view()
        if isinstance(key, list) and key and all(isinstance(k, str) for k in key):
            return self.select(key)
        if isinstance(key, tuple) and len(key) == 1:
            return self[key[0]]
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not -self._length <= key < self._length:
                raise IndexError(f"index {key} is out of bounds for a table of {self._length} rows")
            return self.take([key]).records()[0]
        if isinstance(key, slice):
            return self._select_rows(key, len(range(*key.indices(self._length))))
        rows = np.asarray(key)
        if rows.dtype == bool and rows.ndim == 1:
            if len(rows) != self._length:
                raise IndexError(f"boolean index of {len(rows)} rows does not match {self._length} rows")
            return self.take(np.flatnonzero(rows))
        if rows.dtype.kind in "iu" and rows.ndim == 1:
            return self.take(rows)
        return self.records()[key]

    def take(self, indices, axis=0) -> Table:
        """The rows at ``indices`` (negative counting from the end); fields are gathered when read."""
        rows = np.asarray(indices, dtype=np.intp)
        if len(rows):
            low, high = rows.min(), rows.max()
            if low < -self._length or high >= self._length:
                raise IndexError(f"index out of bounds for a table of {self._length} rows")
            if low < 0:
                rows = np.where(rows < 0, rows + self._length, rows)
        return self._select_rows(rows, len(rows))

    def _select_rows(self, key, length: int) -> Table:
        """The rows ``key`` (a slice or positions) of every field: slices of gathered fields are
        views, anything else composes with the field's pending selection, once per selection."""
        composed: dict[int, np.ndarray] = {}
        fields = {}
        for name, (col, rows) in self._fields.items():
            if rows is None:
                fields[name] = (col[key], None) if isinstance(key, slice) else (col, key)
            else:
                if id(rows) not in composed:
                    composed[id(rows)] = rows[key]
                fields[name] = (col, composed[id(rows)])
        return Table._of(self.dtype, fields, length)

    # -- conversions -------------------------------------------------------------------------------
    def records(self) -> np.ndarray:
        """The rows as one structured ndarray of ``dtype``."""
        out = empty_records(self._length, self.dtype)
        for name in names_of(self.dtype):
            out[name] = self.column(name)
        return out

    def __array__(self, dtype=None, copy=None):
        out = self.records()
        return out if dtype is None else out.astype(dtype, copy=False)

    def astype(self, dtype, copy: bool = True):
        """Fields cast by position when ``dtype`` is structured with as many fields (a Table);
        the records cast otherwise (an ndarray)."""
        dtype = np.dtype(dtype)
        if dtype.names is None or len(names_of(dtype)) != len(names_of(self.dtype)):
            return self.records().astype(dtype, copy=copy)
        if dtype == self.dtype and not copy:
            return self
        columns = {new: self.column(old).astype(dtype[new].base, copy=copy)
                   for new, old in zip(names_of(dtype), names_of(self.dtype))}
        return Table(dtype, columns)

    def copy(self) -> Table:
        return Table(self.dtype, {name: col.copy() for name, col in self.columns.items()})

    def __iter__(self):
        return iter(self.records())

    def __eq__(self, other):
        return self.records() == records(other)

    def __ne__(self, other):
        return self.records() != records(other)

    __hash__ = None  # type: ignore[assignment]

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return getattr(ufunc, method)(*_records_in(inputs), **_records_in(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if joins_rows(func, args, kwargs, Table):
            return concat(args[0])
        return func(*_records_in(args), **_records_in(kwargs))

    def __reduce__(self):
        return (_rebuild, (self.dtype, self.columns))


def _rebuild(dtype, columns):
    """A pickled table: fields a pickler handed back in native byte order are cast back exactly."""
    return Table(dtype, columns).with_dtype(dtype)


def _records_in(value):
    return converted(value, Table, Table.records)


def as_table(block):
    """A 1-D structured ndarray as a ``Table`` (how the engine holds a partition of a table);
    anything else as it is."""
    if isinstance(block, np.ndarray) and block.ndim == 1 and block.dtype.names is not None:
        return Table.from_records(block)
    return block


def with_fields(block, dtype: np.dtype, sources: Mapping[str, str], new: Mapping[str, np.ndarray]) -> Table:
    """``Table.with_fields`` of a Table, or of a structured ndarray (its fields split first)."""
    return as_table(block).with_fields(dtype, sources, new)


def records(block):
    """``block`` as a plain ndarray: a Table's records, text's ``StringDType`` array, anything
    else as it is."""
    if isinstance(block, Text):
        return block.to_numpy()
    return block.records() if isinstance(block, Table) else block


def concat(tables: Iterable[Table]) -> Table:
    """The rows of ``tables`` (of the same fields) one after another, field by field; the first
    table's dtype."""
    tables = list(tables)
    dtype = tables[0].dtype
    columns = {}
    for name in names_of(dtype):
        parts = [t.column(name) for t in tables]
        columns[name] = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return Table(dtype, columns)


def empty_records(n: int, dtype: np.dtype) -> np.ndarray:
    """``np.empty(n, dtype)``, fields to be written. With object fields (text) NumPy's ``empty``
    sets them to None one row and field at a time (0.3 s for 2.3M rows of (text, f8, f8)); repeating
    a one-row array of Nones copies it several times faster."""
    return np.repeat(np.empty(1, dtype), n) if dtype.hasobject else np.empty(n, dtype)


def assemble(blocks, dtype: np.dtype) -> np.ndarray:
    """The rows of ``blocks`` (Tables or structured arrays) as one structured ndarray of
    ``dtype``, each field written once into its place."""
    out = empty_records(sum(len(b) for b in blocks), dtype)
    start = 0
    for block in blocks:
        stop = start + len(block)
        for name in names_of(dtype):
            out[name][start:stop] = block[name]
        start = stop
    return out
