"""Vocabulary of pandas' Series on one field: ``isin``, ``between``, the ``.dt`` and ``.str`` accessors.

All are narrow: a function of each partition alone (``elementwise.map_blocks``), fused with what
comes before and after. ``isin`` of a PartitionedArray reads its values through a value node
(all of its partitions, made into a lookup once) broadcast to every partition.

Missing values follow pandas:

- ``isin``: a NaN row is in the values when they hold a float NaN, a NaT row when they hold NaT
  (``pd.NaT`` or ``np.datetime64("NaT")``), a missing text row when they hold None, NaN or
  ``pd.NA``. Values of another kind never match (text never equals a number, a naive time never
  equals a zoned one).
- ``.dt``: the integer properties are float64, NaN where the time is NaT (pandas gives int32
  when a Series has no NaT and float64 when it has one; a lazy array's dtype is known before its
  values, and a datetime64 field can always hold NaT, so the dtype is always float64, with
  pandas' values). Zoned times are read in their zone, as pandas reads them.
- ``.str``: string results are variable-width text (``text.TEXT``) for every layout, missing
  where the input is missing; ``len`` is float64 (NaN where missing) on variable-width text,
  which can be missing, and int64 on ``S``/``U`` fields, which cannot; boolean results are
  ``na`` (default False) where missing, as pandas' ``str`` dtype gives them. ``S`` fields are
  read as UTF-8 text.
"""

from __future__ import annotations

import datetime
import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..dtypes import zone, zoned_name
from ..graph.lineage import VALUE, AllToOne, Broadcast, Node, OneToOne
from ..shuffle.hashing import HashIndex, factorize
from ..text import TEXT, Text, as_words, concat, is_text, word_dtype, words_of
from .elementwise import map_blocks


def _is_text_dtype(dtype: np.dtype) -> bool:
    return is_text(dtype) or dtype.kind in "SU"


# -- isin ------------------------------------------------------------------------------------------

def _is_nat(v) -> bool:
    return type(v).__name__ == "NaTType" or (isinstance(v, (np.datetime64, np.timedelta64)) and np.isnat(v))


def _is_float_nan(v) -> bool:
    return isinstance(v, (float, np.floating)) and math.isnan(v)


def _is_missing_text(v) -> bool:
    return v is None or _is_float_nan(v) or type(v).__name__ == "NAType"


def _datetime_value(v, zoned: bool):
    """``v`` (a time of one of the kinds pandas compares with times) as a naive ``datetime64``
    (UTC for a zoned field), or None where it never equals a time of the field."""
    if isinstance(v, np.datetime64):
        return None if zoned else v
    if isinstance(v, datetime.datetime):
        aware = v.tzinfo is not None
        if aware != zoned:
            return None
        if hasattr(v, "to_datetime64"):  # pandas' Timestamp: nanoseconds kept
            stamp: Any = v
            return (stamp.tz_convert("UTC").tz_localize(None) if aware else stamp).to_datetime64()
        if aware:
            v = v.astimezone(datetime.UTC).replace(tzinfo=None)
        return np.datetime64(v, "us")
    return None


def _timedelta_value(v):
    if isinstance(v, np.timedelta64):
        return v
    if isinstance(v, datetime.timedelta):
        return v.to_timedelta64() if hasattr(v, "to_timedelta64") else np.timedelta64(v, "us")
    return None


def _integers_in(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The values (numbers) equal to an integer of ``dtype``, as ``dtype``: exactly, without
    rounding a large integer through float64."""
    info = np.iinfo(dtype)
    if values.dtype.kind == "b":
        values = values.astype(np.int64)
    if values.dtype.kind == "f":
        values = values[np.isfinite(values) & (values == np.floor(values))]
        low, high = float(info.min), 2.0 ** (8 * dtype.itemsize - (dtype.kind == "i"))
        return values[(values >= low) & (values < high)].astype(dtype)
    if values.dtype.kind in "iu":
        return values[(values >= info.min) & (values <= info.max)].astype(dtype)
    if values.dtype.kind == "c":
        return _integers_in(values.real[values.imag == 0], dtype)
    return np.empty(0, dtype)


class Members:
    """The values ``isin`` looks rows up in, made once for the dtype of the rows (see the module
    docstring for missing values); ``members(block)`` is one bool per row."""

    def __init__(self, dtype: np.dtype, values, what: str = "isin"):
        self.dtype = dtype
        self.missing = False  # whether a missing row (NaN, NaT, missing text) is a member
        self.values: np.ndarray | None = None
        self.index: HashIndex | None = None
        self.words: np.ndarray | None = None  # fixed-width text of a machine word: the members as words
        kind = dtype.kind
        if _is_text_dtype(dtype):
            self._text(values)
        elif kind in "biufc":
            self._numbers(values)
        elif kind in "mM":
            self._times(values, zone(dtype) is not None)
        else:
            raise TypeError(f"{what}: rows of dtype {zoned_name(dtype)} cannot be looked up")

    # the values as what each kind of rows is compared with
    def _text(self, values) -> None:
        if isinstance(values, Text) or (isinstance(values, np.ndarray) and _is_text_dtype(values.dtype)):
            t = Text.of(values)
            self.missing = t.missing is not None
            kept = t if t.missing is None else t[~t.missing]
        else:
            items = _objects(values)
            self.missing = any(_is_missing_text(v) for v in items)
            kept = Text.of(np.array([v for v in items if isinstance(v, str)], dtype=TEXT))
            raw = [v for v in items if isinstance(v, bytes)] if self.dtype.kind == "S" else []
            if raw:  # bytes match the bytes of an S field
                kept = concat([kept, Text.of(np.array(raw, dtype="S"))])
        self.index = HashIndex([kept])
        self.words = _as_words(kept, self.dtype)

    def _numbers(self, values) -> None:
        dtype = self.dtype
        if isinstance(values, np.ndarray) and values.dtype.kind in "biufc":
            arrays = [values.reshape(-1)]
        else:
            items = [v for v in _objects(values) if isinstance(v, (numbers.Number, np.bool_))]
            ints = [int(v) for v in items if isinstance(v, (numbers.Integral, np.bool_))]
            floats = [v for v in items if not isinstance(v, (numbers.Integral, np.bool_))]
            if dtype.kind in "iub":
                ints = [v for v in ints if (0 <= v <= 1 if dtype.kind == "b" else
                                            np.iinfo(dtype).min <= v <= np.iinfo(dtype).max)]
            arrays = [np.array(ints, dtype=dtype if dtype.kind in "iub" else np.float64),
                      np.array(floats, dtype=np.complex128 if any(isinstance(v, complex) for v in floats)
                               else np.float64)]
        kept = []
        for a in arrays:
            if dtype.kind in "fc":
                nan = np.isnan(a) if a.dtype.kind in "fc" else np.zeros(a.shape, bool)
                self.missing |= bool(nan.any())
                kept.append(a[~nan])
            elif dtype.kind == "b":
                as_int = _integers_in(a, np.dtype(np.int8))
                kept.append(as_int[(as_int == 0) | (as_int == 1)].astype(bool))
            else:
                kept.append(_integers_in(a, dtype))
        self.values = np.concatenate(kept) if kept else np.empty(0, dtype)

    def _times(self, values, zoned: bool) -> None:
        dtype = self.dtype
        if isinstance(values, np.ndarray) and values.dtype.kind == dtype.kind:
            a = values.reshape(-1)
            if dtype.kind == "M" and (zone(values.dtype) is not None) != zoned:
                a = a[:0]
            nat = np.isnat(a)
            self.missing = bool(nat.any())
            self.values = a[~nat]
            return
        items = _objects(values)
        self.missing = any(_is_nat(v) for v in items)
        convert = (lambda v: _datetime_value(v, zoned)) if dtype.kind == "M" else _timedelta_value
        found = [c for c in (convert(v) for v in items if not _is_nat(v)) if c is not None]
        self.values = np.array(found) if found else np.empty(0, dtype)

    def __call__(self, block) -> np.ndarray:
        if self.words is not None and isinstance(block, np.ndarray) and block.dtype == self.dtype:
            # S1-S8, U1, U2: each row one unsigned integer, zero-padded as the members are
            return np.isin(as_words(block), self.words) if len(self.words) else np.zeros(block.shape, bool)
        if self.index is not None:
            t = block if isinstance(block, Text) else None
            out = self.index.lookup([block]) >= 0
            if t is not None and t.missing is not None:
                out[t.missing] = self.missing
            return out
        block = np.asarray(block)
        assert self.values is not None
        if self.dtype.kind in "mM":  # the UTC times of a zoned field as they are
            block = block.view(np.dtype(block.dtype.str))
        out = np.isin(block, self.values) if len(self.values) else np.zeros(block.shape, bool)
        if self.missing and block.dtype.kind in "fcmM":
            out |= np.isnat(block) if block.dtype.kind in "mM" else np.isnan(block)
        return out


def _as_words(members: Text, dtype: np.dtype) -> np.ndarray | None:
    """The members as the integers rows of ``dtype`` are (``text.word_dtype``), so that a row is
    a member when its integer is one; None for rows that are no machine word."""
    if word_dtype(dtype) is None:
        return None
    raw = [bytes(members.data[members.offsets[i]:members.offsets[i + 1]]) for i in range(len(members.offsets) - 1)
           if members.missing is None or not members.missing[i]]
    return words_of(raw if dtype.kind == "S" else [r.decode("utf-8") for r in raw], dtype)


def _objects(values) -> list:
    """``values`` (a list-like of anything) as a list of Python objects."""
    if isinstance(values, np.ndarray):
        return values.reshape(-1).tolist() if values.dtype.kind != "M" else list(values.reshape(-1))
    return list(values)


def _check_list_like(values, what: str) -> None:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Iterable, np.ndarray, Text)) or (
            isinstance(values, np.ndarray) and values.ndim == 0):
        raise TypeError(f"{what}: only list-like values can be looked up (a list, an array or a "
                        f"PartitionedArray), got {type(values).__name__} {values!r}")


def _values_of(values):
    """In-memory values as an array or Text where they are one (pandas' Series and Index too)."""
    if isinstance(values, (np.ndarray, Text, list, tuple)):
        return values
    if type(values).__module__.split(".")[0] == "pandas" and hasattr(values, "to_numpy"):
        return np.asarray(values.to_numpy(dtype=object) if str(getattr(values, "dtype", "")) in ("str", "string")
                          else values.to_numpy())
    return list(values)


def isin(self, values):
    """Whether each value is one of ``values``, as ``pandas.Series.isin``.

    A NaN is in values holding NaN, a NaT in values holding NaT, missing text in values holding
    None, NaN or ``pd.NA`` (pandas' rules; NumPy's ``np.isin`` never finds NaN). Values of another
    kind never match: text never equals a number, a timezone-aware time only equals aware times
    (as instants). Integers compare exactly (pandas compares a list mixing integers and floats
    as float64, where ``2**53 + 1`` is ``2**53``). ``np.isin(x, values)`` is the same.

    Parameters
    ----------
    values : list-like or PartitionedArray
        A list, set, tuple or array of values; a PartitionedArray of values is computed once, in
        the same plan, and its values sent to every partition.

    Returns
    -------
    PartitionedArray
        bool, the shape of this array.

    Examples
    --------
    >>> t["city"].isin(["Paris", "Lyon"])
    """
    from .core import PartitionedArray

    what = "isin"
    dtype = self.dtype
    if dtype.names is not None:
        raise TypeError(f"{what}: select a field first (x['f'].isin(...)); got a table of fields "
                        f"{', '.join(dtype.names)}")
    Members(dtype, [], what)  # the dtype is one isin takes
    if isinstance(values, PartitionedArray):
        return _isin_array(self, values)
    _check_list_like(values, what)
    members = Members(dtype, _values_of(values), what)
    return map_blocks(self, members, what, f"{_count(values)} values", np.dtype(bool), self._node.trailing)


def _count(values) -> int | str:
    try:
        return len(values)
    except TypeError:
        return "?"


def _isin_array(x, values):
    """``x.isin(values)`` of a PartitionedArray ``values``: its partitions gathered into one
    lookup by a value node, which every partition of ``x`` reads (a broadcast dependency)."""
    from .core import PartitionedArray

    vdtype, rows = values.dtype, x.dtype
    if vdtype.names is not None:
        raise TypeError(f"isin: the values must be one field, not a table of fields {', '.join(vdtype.names)}")

    def gather(parts):
        if is_text(vdtype):
            whole = concat([Text.of(p) for p in parts])
        else:
            whole = np.concatenate([np.asarray(p).reshape(-1) for p in parts]) if parts else np.empty(0, vdtype)
            whole = whole.view(vdtype) if whole.dtype == vdtype else whole  # the zone of the values' dtype
        return Members(rows, whole)

    lookup = Node("isin values", gather, [AllToOne(values._node)], 1, VALUE, (), None, detail="merge")
    node = x._node
    return PartitionedArray(Node(
        "isin", lambda block, members: members(block), [OneToOne(node), Broadcast(lookup)],
        node.npartitions, np.dtype(bool), node.trailing, node.partition_lengths, align_key=node.align_key,
        detail=f"values of {values._node.label}", sliceable=True))


_INCLUSIVE = {"both": (True, True), "left": (True, False), "right": (False, True), "neither": (False, False)}


def between(self, left, right, inclusive: str = "both"):
    """Whether each value is between ``left`` and ``right``, as ``pandas.Series.between``.

    NaN, NaT and missing text are never between. Timezone-aware fields take aware bounds
    (compared as instants); text fields take str bounds.

    Parameters
    ----------
    left, right : scalar
        The bounds.
    inclusive : {"both", "left", "right", "neither"}
        Which bounds are included.

    Returns
    -------
    PartitionedArray
        bool, the shape of this array.
    """
    if inclusive not in _INCLUSIVE:
        raise ValueError(f"between: inclusive must be one of 'both', 'left', 'right' or 'neither', "
                         f"got {inclusive!r}")
    low, high = _INCLUSIVE[inclusive]
    left, right = _bound(self.dtype, left), _bound(self.dtype, right)
    above = self >= left if low else self > left
    below = self <= right if high else self < right
    return above & below


def _bound(dtype: np.dtype, value):
    """A bound of ``between`` as the rows' comparisons take it."""
    if dtype.kind == "M" and not isinstance(value, np.ndarray):
        zoned = zone(dtype) is not None
        if isinstance(value, datetime.datetime) and (value.tzinfo is not None) != zoned or (
                zoned and isinstance(value, np.datetime64)):
            raise TypeError(f"between: cannot compare {zoned_name(dtype)} with {value!r} "
                            f"(a {'naive' if zoned else 'timezone-aware'} time)")
        if isinstance(value, str) and not zoned:
            return np.datetime64(value)
        converted = _datetime_value(value, zoned)
        return converted if converted is not None else value
    if dtype.kind == "S" and isinstance(value, str):
        return value.encode("utf-8")
    return value


# -- .dt ---------------------------------------------------------------------------------------------

_NS = {"D": 86_400 * 10**9, "h": 3_600 * 10**9, "min": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3,
       "ns": 1}
_FREQ = re.compile(r"^\s*(\d*)\s*(D|h|min|s|ms|us|ns)\s*$")


def _step_ns(freq) -> int:
    """A fixed frequency (pandas' string, or a timedelta) in nanoseconds."""
    if isinstance(freq, str):
        match = _FREQ.match(freq)
        if match is None:
            raise ValueError(f"dt.floor: {freq!r} is not a fixed frequency; use a multiple of one of "
                             f"{', '.join(_NS)} (e.g. '15min')")
        step = int(match.group(1) or 1) * _NS[match.group(2)]
    elif isinstance(freq, (np.timedelta64, datetime.timedelta)):
        td = _timedelta_value(freq)
        if td is None or np.isnat(td):
            raise ValueError(f"dt.floor: {freq!r} is not a frequency")
        step = int(td.astype("m8[ns]").astype(np.int64))
    else:
        raise TypeError(f"dt.floor: the frequency must be a string such as 'h' or a timedelta, "
                        f"got {type(freq).__name__}")
    if step <= 0:
        raise ValueError(f"dt.floor: the frequency must be positive, got {freq!r}")
    return step


def _naive(block) -> np.ndarray:
    block = np.asarray(block)
    return block.view(np.dtype(block.dtype.str))


def _local(block, tz) -> np.ndarray:
    """The wall times in ``tz`` of UTC times (naive ``datetime64``); as they are without a zone."""
    block = _naive(block)
    if tz is None:
        return block
    import pandas as pd

    shape = block.shape
    local = pd.DatetimeIndex(block.reshape(-1)).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return np.asarray(local.to_numpy()).reshape(shape)


_COARSE = ("Y", "M", "W", "D")
_UNIT_NS = {"h": 3_600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _days_and_ns(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(days, ns)``: the day since 1970-01-01 (int64, floored) of naive ``datetime64`` values,
    and the nanoseconds into that day. In integers: NumPy's cast of a time near the end of its
    unit's range to days overflows (``datetime64[ns]`` of 1677-09-21 becomes 2262)."""
    unit, count = np.datetime_data(v.dtype)
    if unit in ("ps", "fs", "as"):  # ranges of days at most: nanoseconds hold them
        v = v.astype("M8[ns]")
        unit, count = "ns", 1
    step = _UNIT_NS.get(unit, 0) * count
    if unit in _COARSE or not step or _NS["D"] % step:  # whole days, or a unit that does not divide one
        days = v.astype("M8[D]")
        return days.view(np.int64), ((v - days) // np.timedelta64(1, "ns")) if unit not in _COARSE else \
            np.zeros(v.shape, np.int64)
    per_day = _NS["D"] // step
    ticks = v.view(np.int64)
    return ticks // per_day, (ticks % per_day) * step


def _component(name: str):
    """The function giving one component of naive ``datetime64`` values, as int64."""
    def since(unit: str):
        def get(v):
            days = _days_and_ns(v)[0].view("M8[D]")
            return (days - days.astype(f"M8[{unit}]").astype("M8[D]")).view(np.int64) + 1
        return get

    def within_day(every: int, cycle: int):
        def get(v):
            counted = _days_and_ns(v)[1] // every
            return counted % cycle if cycle else counted
        return get

    return {
        "year": lambda v: _days_and_ns(v)[0].view("M8[D]").astype("M8[Y]").view(np.int64) + 1970,
        "month": lambda v: _days_and_ns(v)[0].view("M8[D]").astype("M8[M]").view(np.int64) % 12 + 1,
        "day": since("M"),
        "hour": within_day(_NS["h"], 0),
        "minute": within_day(_NS["min"], 60),
        "second": within_day(_NS["s"], 60),
        "weekday": lambda v: (_days_and_ns(v)[0] + 3) % 7,  # 1970-01-01 was a Thursday
        "dayofyear": since("Y"),
    }[name]


class DatetimeAccessor:
    """``x.dt``: the components of datetime64 values (any unit), as pandas' ``Series.dt``.

    Timezone-aware values are read as wall times in their zone. The components are float64
    with NaN where the time is NaT (pandas: int32 without NaT, float64 with it; see the module
    docstring): ``year``, ``month``, ``day``, ``hour``, ``minute``, ``second``, ``weekday``
    (Monday 0; also ``dayofweek``, ``day_of_week``), ``dayofyear`` (also ``day_of_year``).

    Parameters
    ----------
    x : PartitionedArray
        Of a ``datetime64`` dtype.
    """

    __slots__ = ("_x",)

    def __init__(self, x):
        if x.dtype.kind != "M":
            raise TypeError(f".dt: needs datetime64 values, got {zoned_name(x.dtype)}"
                            + (" (a table: select a field, x['f'].dt)" if x.dtype.names else ""))
        self._x = x

    def _property(self, name: str):
        x = self._x
        tz = zone(x.dtype)
        get = _component(name)

        def run(block):
            v = _local(block, tz)
            with np.errstate(all="ignore"):  # NaT's arithmetic, masked below
                out = get(v).astype(np.float64)
            out[np.isnat(v)] = np.nan
            return out

        return map_blocks(x, run, f"dt.{name}", "", np.dtype(np.float64), x._node.trailing)

    year = property(lambda self: self._property("year"), doc="The year (float64, NaN for NaT).")
    month = property(lambda self: self._property("month"), doc="The month, 1 to 12.")
    day = property(lambda self: self._property("day"), doc="The day of the month, from 1.")
    hour = property(lambda self: self._property("hour"), doc="The hour, 0 to 23.")
    minute = property(lambda self: self._property("minute"), doc="The minute, 0 to 59.")
    second = property(lambda self: self._property("second"), doc="The second, 0 to 59.")
    weekday = property(lambda self: self._property("weekday"), doc="The day of the week, Monday 0 to Sunday 6.")
    dayofweek = day_of_week = weekday
    dayofyear = property(lambda self: self._property("dayofyear"), doc="The day of the year, from 1.")
    day_of_year = dayofyear

    def floor(self, freq):
        """The times rounded down to a multiple of ``freq``, as ``pandas.Series.dt.floor``.

        Timezone-aware times are floored as wall times in their zone and keep it (a floored wall
        time that does not exist, or exists twice, in the zone is an error, as in pandas).
        NaT stays NaT.

        Parameters
        ----------
        freq : str or timedelta
            A fixed frequency: a multiple of ``"D"``, ``"h"``, ``"min"``, ``"s"``, ``"ms"``,
            ``"us"``, ``"ns"`` (``"15min"``), or a ``timedelta``/``timedelta64``.

        Returns
        -------
        PartitionedArray
            Of this array's dtype.
        """
        x = self._x
        dtype = x.dtype
        step = _step_ns(freq)
        unit, count = np.datetime_data(dtype)
        tz = zone(dtype)
        if tz is not None:
            run = _zoned_floor(tz, freq if isinstance(freq, str) else np.timedelta64(step, "ns"))
        else:
            run = _naive_floor(dtype, unit, count, step, freq)
        return map_blocks(x, run, "dt.floor", str(freq), dtype, x._node.trailing)


def _naive_floor(dtype: np.dtype, unit: str, count: int, step: int, freq):
    if unit in ("Y", "M"):  # month starts are midnights: flooring to a divisor of a day changes nothing
        if _NS["D"] % step:
            raise ValueError(f"dt.floor: cannot floor {dtype} to {freq!r}")
        return lambda block: np.asarray(block)
    unit_ns = int(np.timedelta64(count, unit).astype("m8[ns]").astype(np.int64)) if unit not in (  # type: ignore[call-overload]
        "ps", "fs", "as") else 0
    if unit_ns == 0 or step % unit_ns:
        if unit_ns and unit_ns % step == 0:
            return lambda block: np.asarray(block)  # finer than the values: they are floored already
        raise ValueError(f"dt.floor: {freq!r} is not a whole number of the values' unit ({dtype})")
    k = step // unit_ns

    def run(block):
        block = np.asarray(block)
        v = block.view(np.int64)
        out = v - v % k
        nat = np.isnat(block)
        if (out > v).any():  # wrapped around below the unit's range (as pandas, an OverflowError)
            wrapped = np.flatnonzero((out > v) & ~nat)
            if len(wrapped):
                raise OverflowError(f"dt.floor: {block[wrapped[0]]} floored to {freq!r} is before the "
                                    f"earliest {dtype}")
        out[nat] = v[nat]
        return out.view(block.dtype)

    return run


def _zoned_floor(tz, freq):
    def run(block):
        import pandas as pd

        naive = _naive(block)
        unit = np.datetime_data(naive.dtype)[0]
        floored = pd.DatetimeIndex(naive.reshape(-1)).tz_localize("UTC").tz_convert(tz).floor(freq)
        out = floored.tz_convert("UTC").tz_localize(None).as_unit(unit).to_numpy()
        return np.asarray(out).reshape(naive.shape).view(np.asarray(block).dtype)

    return run


# -- .str --------------------------------------------------------------------------------------------

_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[ord("A"):ord("Z") + 1] += 32


def _text_bytes(t: Text) -> np.ndarray:
    return t.data[t.offsets[0]:t.offsets[-1]]


def _strings(t: Text) -> np.ndarray:
    """The rows as a ``StringDType`` array without missing values (a missing row as its bytes,
    which nothing reads): what ``np.strings`` works on."""
    return Text(t.offsets, t.data).to_numpy()


def _text_result(values: np.ndarray, missing) -> Text:
    """``np.strings``' result (a ``StringDType`` array) as Text, missing where ``missing``."""
    t = Text.of(values)
    return Text(t.offsets, t.data, missing)


def _per_row(t: Text, fast, slow, dtype, constants=()) -> np.ndarray:
    """``fast`` (NumPy's ``np.strings`` on the ``StringDType`` rows) or, where a row or one of the
    ``constants`` holds a NUL character, ``slow`` (Python's ``str`` method) on each row: NumPy's
    string functions take a NUL ending a pattern for the end of the pattern and strip NULs with
    whitespace. ``dtype``: bool or ``TEXT``."""
    values = _strings(t)
    if not any("\0" in c for c in constants) and not (_text_bytes(t) == 0).any():
        return fast(values)
    rows = values.tolist()
    if dtype is bool:
        return np.fromiter((slow(v) for v in rows), bool, len(rows))
    return np.array([slow(v) for v in rows], dtype=TEXT)


#: rows from which Python functions run once per distinct value, when at most half are distinct
DISTINCT_FROM = 64


def _each(t: Text, fn, dtype) -> np.ndarray:
    """``fn`` (a Python function of one str) on every row (bool or ``TEXT``); where values
    repeat (at most half distinct), once per distinct value (the rows hashed first)."""
    n = len(t)
    if n >= DISTINCT_FROM:
        ids, ngroups, first = factorize([t])
        if 2 * ngroups <= n:
            return _each(t.take(first), fn, dtype)[ids]
    rows = _strings(t).tolist()
    if dtype is bool:
        return np.fromiter((fn(v) for v in rows), bool, n)
    return np.array([fn(v) for v in rows], dtype=TEXT)


def _check_pattern(pat, what: str) -> str:
    if not isinstance(pat, str):
        raise TypeError(f"str.{what}: the pattern must be a str, got {type(pat).__name__} {pat!r}")
    return pat


def _compile(pat, flags: int, what: str) -> re.Pattern:
    if isinstance(pat, re.Pattern):
        return pat if not flags else re.compile(pat.pattern, pat.flags | flags)
    try:
        return re.compile(_check_pattern(pat, what), flags)
    except re.error as exc:
        raise re.error(f"str.{what}: bad regular expression {pat!r}: {exc.msg}", exc.pattern, exc.pos) from None


def _check_na(na, what: str) -> bool:
    if na is None:
        return False
    if isinstance(na, (bool, np.bool_)):
        return bool(na)
    raise TypeError(f"str.{what}: na must be True, False or None (False), got {na!r}")


def _case_map(t: Text, table: np.ndarray, method: str) -> Text:
    """Upper or lower case: on the bytes where the text is ASCII, else NumPy's (Python's) mapping."""
    data = _text_bytes(t)
    if not len(data) or data.max() < 128:
        return Text(t.offsets - t.offsets[0], table[data], t.missing)
    return _text_result(getattr(np.strings, method)(_strings(t)), t.missing)


def _char_lengths(t: Text) -> np.ndarray:
    """The number of characters (code points) of each row, from its UTF-8 bytes."""
    data = _text_bytes(t)
    offsets = t.offsets - t.offsets[0]
    if not len(data) or data.max() < 128:
        return np.diff(offsets)
    leads = np.concatenate([[0], np.cumsum((data & 0xC0) != 0x80)])
    return np.diff(leads[offsets])


class StringAccessor:
    """``x.str``: pandas' ``Series.str`` functions on text of every layout (variable-width,
    ``S``, ``U``).

    String results are variable-width text, missing where the row is missing; boolean results
    are ``na`` (default False) where the row is missing. ``upper``/``lower`` map cases as
    Python's ``str`` does (``"ß".upper()`` is ``"SS"``, as pandas' Python-backed and object
    columns give; pandas' Arrow-backed ``str`` maps single characters).

    Parameters
    ----------
    x : PartitionedArray
        1-D text.
    """

    __slots__ = ("_x",)

    def __init__(self, x):
        if not _is_text_dtype(x.dtype) or x.dtype.names is not None:
            raise TypeError(f".str: needs text values (variable-width text, S or U), got {zoned_name(x.dtype)}"
                            + (" (a table: select a field, x['f'].str)" if x.dtype.names else ""))
        if x.ndim != 1:
            raise ValueError(f".str: needs 1-D text, got shape {x.shape}")
        self._x = x

    def _map(self, fn, op: str, detail: str, dtype):
        dtype = np.dtype(dtype)
        return map_blocks(self._x, lambda block: fn(Text.of(block)), f"str.{op}", detail,
                          TEXT if is_text(dtype) else dtype, ())

    def _bools(self, fn, op: str, detail: str, na):
        fill = _check_na(na, op)

        def run(t: Text):
            out = fn(t)
            if t.missing is not None:
                out[t.missing] = fill
            return out

        return self._map(run, op, detail, bool)

    # -- boolean results
    def contains(self, pat, case: bool = True, flags: int = 0, na=None, regex: bool = True):
        """Whether each value contains ``pat``, as ``pandas.Series.str.contains``.

        Parameters
        ----------
        pat : str or re.Pattern
            A regular expression (Python's ``re``), or a plain string with ``regex=False``.
        case : bool, default True
            Case-sensitive; False ignores case.
        flags : int, default 0
            ``re`` flags.
        na : bool, optional
            The result where the value is missing (default False).
        regex : bool, default True
            ``pat`` is a regular expression.

        Returns
        -------
        PartitionedArray
            bool.

        Raises
        ------
        re.error
            When ``pat`` is not a valid regular expression (the message names it).
        """
        literal = not regex or (isinstance(pat, str) and not flags and re.escape(pat) == pat)
        if literal:
            pat = _check_pattern(pat, "contains")
            if case:
                def run(t):
                    return _per_row(t, lambda v: np.strings.find(v, pat) >= 0, lambda v: pat in v, bool, (pat,))
            else:
                upper = pat.upper()

                def run(t):
                    return _per_row(_case_map(t, _UPPER, "upper"), lambda v: np.strings.find(v, upper) >= 0,
                                    lambda v: upper in v, bool, (upper,))
            return self._bools(run, "contains", repr(pat), na)
        rx = _compile(pat, flags | (0 if case else re.IGNORECASE), "contains")

        def search(t):
            return _each(t, lambda v: rx.search(v) is not None, bool)

        return self._bools(search, "contains", repr(rx.pattern), na)

    def _ends(self, pat, na, op: str):
        pats = (pat,) if isinstance(pat, str) else pat
        if not isinstance(pats, tuple) or not all(isinstance(p, str) for p in pats):
            raise TypeError(f"str.{op}: the pattern must be a str or a tuple of str, got {pat!r}")
        test = getattr(np.strings, op)

        def fast(values):
            out = np.zeros(len(values), bool)
            for p in pats:
                out |= test(values, p)
            return out

        def run(t):
            return _per_row(t, fast, lambda v: getattr(v, op)(pats), bool, pats)

        return self._bools(run, op, repr(pat), na)

    def startswith(self, pat, na=None):
        """Whether each value starts with ``pat``, as ``pandas.Series.str.startswith``.

        Parameters
        ----------
        pat : str or tuple of str
            The prefix (any of them).
        na : bool, optional
            The result where the value is missing (default False).

        Returns
        -------
        PartitionedArray
            bool.
        """
        return self._ends(pat, na, "startswith")

    def endswith(self, pat, na=None):
        """Whether each value ends with ``pat``, as ``pandas.Series.str.endswith``.

        Parameters
        ----------
        pat : str or tuple of str
            The suffix (any of them).
        na : bool, optional
            The result where the value is missing (default False).

        Returns
        -------
        PartitionedArray
            bool.
        """
        return self._ends(pat, na, "endswith")

    # -- numbers
    def len(self):
        """The number of characters of each value.

        Returns
        -------
        PartitionedArray
            float64 with NaN where missing for variable-width text; int64 for ``S``/``U``.
        """
        if is_text(self._x.dtype):
            def run(t):
                out = _char_lengths(t).astype(np.float64)
                if t.missing is not None:
                    out[t.missing] = np.nan
                return out
            return self._map(run, "len", "", np.float64)
        return self._map(_char_lengths, "len", "", np.int64)

    # -- text results
    def lower(self):
        """Each value in lower case (Python's ``str.lower``).

        Returns
        -------
        PartitionedArray
            Variable-width text.
        """
        return self._map(lambda t: _case_map(t, _LOWER, "lower"), "lower", "", TEXT)

    def upper(self):
        """Each value in upper case (Python's ``str.upper``).

        Returns
        -------
        PartitionedArray
            Variable-width text.
        """
        return self._map(lambda t: _case_map(t, _UPPER, "upper"), "upper", "", TEXT)

    def _stripped(self, to_strip, method: str):
        if to_strip is not None and not isinstance(to_strip, str):
            raise TypeError(f"str.{method}: to_strip must be a str or None, got {to_strip!r}")
        strip = getattr(np.strings, method)

        def run(t):
            return _text_result(_per_row(t, lambda v: strip(v, to_strip), lambda v: getattr(v, method)(to_strip),
                                         TEXT, () if to_strip is None else (to_strip,)), t.missing)

        return self._map(run, method, "" if to_strip is None else repr(to_strip), TEXT)

    def strip(self, to_strip=None):
        """Each value without leading and trailing whitespace (or the characters of ``to_strip``).

        Parameters
        ----------
        to_strip : str, optional
            The characters to remove; by default whitespace (as ``str.strip``).

        Returns
        -------
        PartitionedArray
            Variable-width text.
        """
        return self._stripped(to_strip, "strip")

    def lstrip(self, to_strip=None):
        """Each value without leading whitespace (or the characters of ``to_strip``).

        Parameters
        ----------
        to_strip : str, optional
            The characters to remove; by default whitespace.

        Returns
        -------
        PartitionedArray
            Variable-width text.
        """
        return self._stripped(to_strip, "lstrip")

    def rstrip(self, to_strip=None):
        """Each value without trailing whitespace (or the characters of ``to_strip``).

        Parameters
        ----------
        to_strip : str, optional
            The characters to remove; by default whitespace.

        Returns
        -------
        PartitionedArray
            Variable-width text.
        """
        return self._stripped(to_strip, "rstrip")

    def slice(self, start=None, stop=None, step=None):
        """The characters ``value[start:stop:step]`` of each value, as ``pandas.Series.str.slice``.

        Parameters
        ----------
        start, stop, step : int, optional
            As in a Python slice.

        Returns
        -------
        PartitionedArray
            Variable-width text.
        """
        for name, v in (("start", start), ("stop", stop), ("step", step)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
                raise TypeError(f"str.slice: {name} must be an integer or None, got {v!r}")
        if step is not None and step == 0:
            raise ValueError("str.slice: step cannot be zero")
        def run(t):
            return _text_result(_per_row(t, lambda v: np.strings.slice(v, start, stop, step),
                                         lambda v: v[start:stop:step], TEXT), t.missing)

        return self._map(run, "slice", f"{start}:{stop}:{step}", TEXT)

    def replace(self, pat, repl, n: int = -1, case=None, flags: int = 0, regex: bool = False):
        """Each value with occurrences of ``pat`` replaced by ``repl``, as ``pandas.Series.str.replace``.

        Parameters
        ----------
        pat : str or re.Pattern
            A plain string, or a regular expression (Python's ``re``) with ``regex=True``.
        repl : str or callable
            The replacement; with ``regex=True`` it may refer to groups (``r"\\1"``), or be a
            function of the match (as ``re.sub``).
        n : int, default -1
            The most replacements per value; -1 for all.
        case : bool, optional
            With ``regex=True``, False ignores case.
        flags : int, default 0
            ``re`` flags, with ``regex=True``.
        regex : bool, default False
            ``pat`` is a regular expression.

        Returns
        -------
        PartitionedArray
            Variable-width text.

        Raises
        ------
        re.error
            When ``pat`` is not a valid regular expression (the message names it).
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < -1:
            raise ValueError(f"str.replace: n must be -1 (all) or a count >= 0, got {n!r}")
        if not regex:
            if case is False or flags or isinstance(pat, re.Pattern):
                raise ValueError("str.replace: case=False, flags and compiled patterns need regex=True")
            pat = _check_pattern(pat, "replace")
            if not isinstance(repl, str):
                raise TypeError(f"str.replace: repl must be a str with regex=False, got {type(repl).__name__}")
            count = None if n == -1 else int(n)

            def fast(values):
                return np.strings.replace(values, pat, repl) if count is None else \
                    np.strings.replace(values, pat, repl, count)

            def run(t):
                return _text_result(_per_row(t, fast, lambda v: v.replace(pat, repl, -1 if count is None else count),
                                             TEXT, (pat, repl)), t.missing)

            return self._map(run, "replace", f"{pat!r} -> {repl!r}", TEXT)
        if not (isinstance(repl, str) or callable(repl)):
            raise TypeError(f"str.replace: repl must be a str or a callable, got {type(repl).__name__}")
        rx = _compile(pat, flags | (re.IGNORECASE if case is False else 0), "replace")
        if n == 0:
            return self._map(lambda t: _text_result(_strings(t), t.missing), "replace", "n=0", TEXT)
        count = 0 if n == -1 else int(n)

        def substitute(t):
            return _text_result(_each(t, lambda v: rx.sub(repl, v, count=count), TEXT), t.missing)

        return self._map(substitute, "replace", f"{rx.pattern!r} -> {repl!r}", TEXT)
