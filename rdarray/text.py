"""``Text``: one partition of variable-width text, as three arrays (Arrow's large-string layout).

A fixed-width ``U`` array holds 4 bytes per character of its longest value in every row, so one
long value among short ones multiplies its memory; NumPy's ``StringDType`` holds 16 bytes a row
however short the text. ``Text`` holds ``offsets`` (int64, one more than the rows), ``data``
(the UTF-8 bytes of every row one after another) and ``missing`` (bool per row, or None when no
row is missing; a missing row's bytes, if any, are never read): 8 bytes a row plus the text
itself, read by the kernels without the GIL
(``rdarray._core.text``, and the hashing kernels for group-by and join keys).

The dtype of a text array is ``TEXT`` (``StringDType`` with NaN as its missing value, as pandas'
``str`` columns have); a text field of a structured dtype, which NumPy cannot make of a
``StringDType``, is ``FIELD``: an object field marked as text. A Table holds a text field as a
``Text``; records assembled from one (``compute()`` of a table) hold ``str`` objects and NaN.
Anything NumPy is asked to do with a ``Text`` that has no kernel here runs on its ``StringDType``
array (``to_numpy``) and gives text back as ``Text``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

import rdarray._core.text as _k

#: The dtype of a 1-D text array: variable-width, NaN where missing.
TEXT = np.dtypes.StringDType(na_object=np.nan)
#: A text field inside a structured dtype (NumPy has no StringDType fields).
FIELD = np.dtype(object, metadata={"rdarray": "text"})

_COMPARISONS = {np.equal: "==", np.not_equal: "!=", np.less: "<", np.less_equal: "<=",
                np.greater: ">", np.greater_equal: ">="}
_SWAPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def is_text(dtype) -> bool:
    """Whether ``dtype`` is variable-width text: a ``StringDType``, or ``FIELD``."""
    if isinstance(dtype, np.dtypes.StringDType):
        return True
    return dtype.kind == "O" and (dtype.metadata or {}).get("rdarray") == "text"


def holds_text(values) -> bool:
    """Whether ``values`` is text: a ``Text``, or an array (or sequence) of a text dtype."""
    return isinstance(values, Text) or is_text(np.asarray(values).dtype)


def joins_rows(func, args, kwargs, kind: type) -> bool:
    """Whether ``func(*args, **kwargs)`` is ``np.concatenate`` of blocks of ``kind`` along the rows
    (which a block type does itself, without handing NumPy plain arrays)."""
    return (func is np.concatenate and len(args) == 1 and set(kwargs) <= {"axis"} and kwargs.get("axis", 0) == 0
            and all(isinstance(b, kind) for b in args[0]))


def word_dtype(dtype: np.dtype) -> np.dtype | None:
    """The unsigned integer a row of fixed-width text of 1, 2, 4 or 8 bytes is (``S1``-``S8``,
    ``U1``, ``U2``): rows are zero-padded, so equal rows are equal integers. None for other dtypes."""
    return np.dtype(f"u{dtype.itemsize}") if dtype.kind in "SU" and dtype.itemsize in (1, 2, 4, 8) else None


def as_words(rows: np.ndarray) -> np.ndarray:
    """Rows of a dtype that has a ``word_dtype`` as those integers (a view of contiguous rows)."""
    return np.ascontiguousarray(rows).view(f"u{rows.dtype.itemsize}")


def words_of(values: Sequence, dtype: np.dtype) -> np.ndarray:
    """Texts (``str`` for ``U`` rows, ``bytes`` for ``S``) as the integers of rows of ``dtype``
    holding them; trailing NULs are ignored, as NumPy compares text, and a text longer than the
    width is left out: no row equals it."""
    width = dtype.itemsize if dtype.kind == "S" else dtype.itemsize // 4
    nul = b"\0" if dtype.kind == "S" else "\0"
    fitting = [t for t in (v.rstrip(nul) for v in values) if len(t) <= width]
    return np.array(fitting, dtype=dtype).reshape(-1).view(f"u{dtype.itemsize}")


def field_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of a field holding arrays of ``dtype`` (``FIELD`` for text)."""
    return FIELD if is_text(dtype) else dtype


def array_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of the arrays a field of ``dtype`` holds (``TEXT`` for text)."""
    return TEXT if is_text(dtype) else dtype


def _comparison(op: str, fallback):
    """The operator ``op`` of Text: the kernel against text, NumPy's ``fallback`` on the
    ``StringDType`` array against anything else."""
    def compare(self, other):
        return self.compare(other, op) if self._comparable(other) else fallback(self.to_numpy(), other)

    return compare


def _bools(missing):
    return None if missing is None else missing.view(np.uint8)


class Text:
    """Variable-width text: ``offsets``, ``data``, ``missing`` (see the module docstring).

    Rows are taken, compared and hashed on the bytes; ``t[i]`` is a ``str`` (NaN where missing).
    """

    __slots__ = ("offsets", "data", "missing")
    __array_priority__ = 15
    dtype = TEXT
    ndim = 1

    def __init__(self, offsets: np.ndarray, data: np.ndarray, missing: np.ndarray | None = None):
        self.offsets, self.data = offsets, data
        self.missing = missing if missing is not None and missing.any() else None

    # -- making text ---------------------------------------------------------------------------
    @classmethod
    def of(cls, values, what: str = "text") -> Text:
        """``values`` as Text: a ``StringDType``, ``S`` or ``U`` array, an object array or sequence
        of str with None/NaN for missing values, or a Text (returned as it is)."""
        if isinstance(values, Text):
            return values
        if not isinstance(values, np.ndarray):
            values = np.asarray(values, dtype=object) if isinstance(values, Sequence) else np.asarray(values)
        values = values.reshape(-1) if values.ndim == 0 else values
        if values.ndim != 1:
            raise ValueError(f"{what}: text is 1-D, got an array of shape {values.shape}")
        if isinstance(values.dtype, np.dtypes.StringDType):
            return cls(*_k.from_strings(values))
        if values.dtype.kind in "SU":
            native = values if values.dtype.isnative else values.astype(values.dtype.newbyteorder("="))
            return cls(*_k.from_fixed(np.ascontiguousarray(native)))
        if values.dtype == object:
            return from_objects(values, what)
        raise TypeError(f"{what}: {values.dtype} is not text")

    @classmethod
    def empty(cls, n: int = 0) -> Text:
        """``n`` empty strings."""
        return cls(np.zeros(n + 1, np.int64), np.empty(0, np.uint8))

    # -- the ndarray attributes the engine reads -----------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def shape(self) -> tuple:
        return (len(self),)

    @property
    def size(self) -> int:
        return len(self)

    @property
    def itemsize(self) -> int:
        return 8

    @property
    def nbytes(self) -> int:
        """Bytes of these rows: their offsets, their text and the missing flags."""
        return self.offsets.nbytes + int(self.offsets[-1] - self.offsets[0]) + (
            0 if self.missing is None else self.missing.nbytes)

    def __repr__(self) -> str:
        return f"Text({self.to_numpy()!r})"

    def isna(self) -> np.ndarray:
        """Whether each row is missing."""
        return np.zeros(len(self), bool) if self.missing is None else self.missing.copy()

    # -- rows ----------------------------------------------------------------------------------
    def __getitem__(self, key):
        n = len(self)
        if isinstance(key, tuple) and len(key) == 1:
            key = key[0]
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not -n <= key < n:
                raise IndexError(f"index {key} is out of bounds for text of {n} rows")
            key = int(key) % n
            if self.missing is not None and self.missing[key]:
                return np.nan
            return bytes(self.data[self.offsets[key]:self.offsets[key + 1]]).decode("utf-8", "surrogatepass")
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                stop = max(start, stop)
                return Text(self.offsets[start:stop + 1], self.data,
                            None if self.missing is None else self.missing[start:stop])
            return self.take(np.arange(start, stop, step))
        rows = np.asarray(key)
        if rows.dtype == bool and rows.ndim == 1:
            if len(rows) != n:
                raise IndexError(f"boolean index of {len(rows)} rows does not match {n} rows")
            return self.take(np.flatnonzero(rows))
        if rows.dtype.kind in "iu" and rows.ndim <= 1:
            return self.take(rows.reshape(-1)) if rows.ndim else self[int(rows)]
        raise IndexError(f"text rows are selected by an integer, a slice, a boolean mask or integer "
                         f"positions, not {rows.dtype} of {rows.ndim} dimensions")

    def take(self, indices, axis=0) -> Text:
        """The rows at ``indices`` (negative counting from the end), copied compactly."""
        rows = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if len(rows) and rows.min() < 0:
            rows = np.where(rows < 0, rows + n, rows)
        offsets, data = _k.take(self.offsets, self.data, rows)
        return Text(offsets, data, None if self.missing is None else self.missing[rows])

    def take_or_missing(self, rows) -> Text:
        """The rows at ``rows`` (in ``[0, n)``), missing where a row is -1 (a join's missing side)."""
        rows = np.asarray(rows, dtype=np.int64)
        absent = rows < 0
        present = self.take(rows[~absent])
        if not absent.any():
            return present
        lengths = np.zeros(len(rows), np.int64)
        lengths[~absent] = np.diff(present.offsets)
        missing = absent.copy()
        if present.missing is not None:
            missing[~absent] = present.missing
        return Text(np.concatenate([[0], np.cumsum(lengths)]), present.data, missing)

    def view(self) -> Text:
        """The same rows, sharing the arrays."""
        return Text(self.offsets, self.data, self.missing)

    def copy(self) -> Text:
        """A compact copy (only these rows' text)."""
        start, stop = int(self.offsets[0]), int(self.offsets[-1])
        return Text(self.offsets - start, self.data[start:stop].copy(),
                    None if self.missing is None else self.missing.copy())

    # -- conversions ---------------------------------------------------------------------------
    def to_numpy(self, dtype=None, out: np.ndarray | None = None) -> np.ndarray:
        """The rows as a ``StringDType`` array (missing: NaN), or cast to ``dtype``; written into
        ``out`` (a ``StringDType`` array of ``len(self)``) when given."""
        out = _k.to_strings(self.offsets, self.data, _bools(self.missing), TEXT, out)
        return out if dtype is None else out.astype(dtype)

    def to_objects(self) -> np.ndarray:
        """The rows as an object array of ``str`` (missing: NaN), as pandas holds text."""
        return _k.to_objects(self.offsets, self.data, _bools(self.missing))

    def to_arrow(self):
        """The rows as a ``pyarrow.large_string`` array, sharing the bytes (pyarrow needed)."""
        import pyarrow as pa

        start = int(self.offsets[0])
        offsets = self.offsets - start if start else self.offsets
        validity = None if self.missing is None else pa.array(~self.missing).buffers()[1]
        return pa.Array.from_buffers(pa.large_string(), len(self),
                                     [validity, pa.py_buffer(offsets), pa.py_buffer(self.data[start:])],
                                     null_count=-1 if self.missing is not None else 0)

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype).kind == "O":
            return self.to_objects()
        return self.to_numpy(dtype)

    def astype(self, dtype, copy: bool = True):
        """Text stays Text (copied when ``copy``); other dtypes go through ``to_numpy``."""
        dtype = np.dtype(dtype)
        if is_text(dtype):
            return self.copy() if copy else self
        if dtype.kind == "O":
            return self.to_objects()
        return self.to_numpy().astype(dtype)

    def __iter__(self):
        return iter(self.to_objects())

    # -- comparisons and NumPy's functions -----------------------------------------------------
    def compare(self, other, op: str) -> np.ndarray:
        """``self op other`` row by row (other: a str or bytes constant, or text of this length);
        missing rows compare False, except ``!=`` True."""
        if isinstance(other, np.ndarray) and other.ndim == 0:
            other = other.item()
        if isinstance(other, str):
            other = other.encode("utf-8", "surrogatepass")
        if isinstance(other, bytes):
            return _k.compare_scalar(self.offsets, self.data, _bools(self.missing), other, op)
        other = Text.of(other)
        if len(other) != len(self):
            raise ValueError(f"operands could not be broadcast together: {len(self)} and {len(other)} rows")
        return _k.compare(self.offsets, self.data, _bools(self.missing),
                          other.offsets, other.data, _bools(other.missing), op)

    def _comparable(self, other) -> bool:
        if isinstance(other, (str, bytes, Text)):
            return True
        return isinstance(other, np.ndarray) and other.ndim <= 1 and (
            is_text(other.dtype) or other.dtype.kind in "SU")

    __eq__ = _comparison("==", operator.eq)
    __ne__ = _comparison("!=", operator.ne)
    __lt__ = _comparison("<", operator.lt)
    __le__ = _comparison("<=", operator.le)
    __gt__ = _comparison(">", operator.gt)
    __ge__ = _comparison(">=", operator.ge)

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other):
        return of_result(self.to_numpy() + _strings(other))

    def __radd__(self, other):
        return of_result(_strings(other) + self.to_numpy())

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = _COMPARISONS.get(ufunc)
        if op is not None and method == "__call__" and len(inputs) == 2 and set(kwargs) <= {"out"}:
            a, b = inputs
            result = None
            if isinstance(a, Text) and (isinstance(b, Text) or self._comparable(b)):
                result = a.compare(b, op)
            elif isinstance(b, Text) and self._comparable(a):
                result = b.compare(a, _SWAPPED[op])
            if result is not None:
                out = kwargs.get("out")
                if out is None:
                    return result
                out = out[0] if isinstance(out, tuple) else out
                out[...] = result
                return out
        return of_result(getattr(ufunc, method)(*_strings(inputs), **_strings(kwargs)))

    def __array_function__(self, func, types, args, kwargs):
        if joins_rows(func, args, kwargs, Text):
            return concat(args[0])
        return of_result(func(*_strings(args), **_strings(kwargs)))

    def __reduce__(self):
        return (Text, (self.offsets, self.data, self.missing))


def converted(value, kind: type, convert):
    """``value`` with each instance of ``kind`` in it (also in lists, tuples and dict values) as
    ``convert`` makes it: how a block type hands NumPy plain arrays."""
    if isinstance(value, kind):
        return convert(value)
    if isinstance(value, (list, tuple)):
        return type(value)(converted(v, kind, convert) for v in value)
    if isinstance(value, dict):
        return {k: converted(v, kind, convert) for k, v in value.items()}
    return value


def _strings(value):
    """``value`` with every Text in it as its ``StringDType`` array."""
    return converted(value, Text, Text.to_numpy)


def of_result(value):
    """A result of NumPy: 1-D ``StringDType`` arrays as Text (also inside a tuple), the rest as it is."""
    if isinstance(value, tuple):
        return tuple(of_result(v) for v in value)
    if isinstance(value, np.ndarray) and value.ndim == 1 and isinstance(value.dtype, np.dtypes.StringDType):
        return Text.of(value)
    return value


def from_objects(values: np.ndarray, what: str = "text", na=None) -> Text:
    """An object array of str with None/NaN (or ``na``) for missing values as Text; anything else
    is a TypeError naming one offending value's type (found in the same pass)."""
    offsets, data, missing, bad = _k.from_objects(np.ascontiguousarray(values, dtype=object), na)
    if bad >= 0:
        raise TypeError(f"{what}: holds objects other than str, None and NaN (missing), e.g. a value of type "
                        f"{type(values[bad]).__name__} ({values[bad]!r}); only those can be text")
    return Text(offsets, data, missing)


def from_arrow(array) -> Text:
    """A pyarrow ``string`` or ``large_string`` array (or chunked array) as Text, sharing its
    bytes where it is one ``large_string`` chunk (pandas' ``str`` columns are)."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_string(array.type):
        array = array.cast(pa.large_string())
    if not pa.types.is_large_string(array.type):
        raise TypeError(f"from_arrow: {array.type} is not text")
    _, offsets, data = array.buffers()
    n = len(array)
    offsets = np.frombuffer(offsets, np.int64)[array.offset:array.offset + n + 1] if n else np.zeros(1, np.int64)
    data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    missing = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
    return Text(offsets, data, missing)


def joined_strings(parts: Sequence[Text]) -> np.ndarray:
    """The rows of ``parts`` one after another as one ``StringDType`` array, each part written
    straight into its place."""
    out = np.empty(sum(len(p) for p in parts), TEXT)
    start = 0
    for p in parts:
        p.to_numpy(out=out[start:start + len(p)])
        start += len(p)
    return out


def concat(parts: Sequence[Text]) -> Text:
    """The rows of ``parts`` one after another, in one copy of their text."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return Text.empty()
    sizes = [int(p.offsets[-1] - p.offsets[0]) for p in parts]
    starts = np.cumsum([0] + sizes)
    offsets = np.empty(sum(len(p) for p in parts) + 1, np.int64)
    row = 0
    for p, start in zip(parts, starts):
        offsets[row:row + len(p)] = p.offsets[:-1] - p.offsets[0] + start
        row += len(p)
    offsets[-1] = starts[-1]
    data = np.concatenate([p.data[p.offsets[0]:p.offsets[-1]] for p in parts]) if sizes else np.empty(0, np.uint8)
    missing = None
    if any(p.missing is not None for p in parts):
        missing = np.concatenate([p.isna() for p in parts])
    return Text(offsets, data, missing)
