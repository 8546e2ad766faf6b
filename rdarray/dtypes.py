"""Which dtypes rdarray accepts, and the checks every public entry point shares."""

import numpy as np

from .table import Table, as_table, names_of
from .text import TEXT, Text, holds_text, is_text

_OBJECT_MESSAGE = (
    "{what}: object dtype is not supported: partitions must be plain NumPy memory so that "
    "kernels run without the GIL and data is stored and shipped without pickling; "
    "convert to a numeric, datetime64, text (np.dtypes.StringDType(), 'S' or 'U') dtype"
)


def holds_objects(dtype: np.dtype) -> bool:
    """Whether ``dtype`` holds Python objects other than text (which is held as ``Text``)."""
    if is_text(dtype):
        return False
    if dtype.names is not None:
        return any(holds_objects(dtype[name]) for name in dtype.names)
    if dtype.subdtype is not None:
        return holds_objects(dtype.subdtype[0])
    return dtype.hasobject


def check_dtype(dtype, what: str) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, raising TypeError for object dtypes (also inside fields)
    other than text; any ``StringDType`` is ``TEXT``."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{what}: {dtype!r} is not a NumPy dtype") from exc
    if isinstance(dtype, np.dtypes.StringDType):
        return TEXT
    if dtype.subdtype is not None and is_text(dtype.subdtype[0]):
        raise TypeError(f"{what}: text is one value per row; a field of text arrays ({dtype}) is not supported")
    if holds_objects(dtype):
        raise TypeError(_OBJECT_MESSAGE.format(what=what))
    return dtype


def is_numeric(dtype: np.dtype) -> bool:
    return dtype.kind in "biufc"


def empty_block(dtype: np.dtype, trailing: tuple):
    """A zero-row partition: used to infer the dtype and shape an operation produces."""
    if is_text(dtype) and dtype.names is None and not trailing:
        return Text.empty()
    return as_table(np.empty((0,) + tuple(trailing), dtype=dtype))


def is_nan(values: np.ndarray) -> np.ndarray:
    """NaN for floats and complex, NaT for datetimes; False for every other kind."""
    if holds_text(values):
        return Text.of(values).isna()
    kind = values.dtype.kind
    if kind in "fc":
        return np.isnan(values)
    if kind in "mM":
        return np.isnat(values)
    return np.zeros(values.shape, dtype=bool)


def zone(dtype: np.dtype):
    """The time zone whose times a ``datetime64`` dtype holds as UTC (``{"tz": ...}`` in its
    metadata, as ``from_pandas`` makes timezone-aware columns), or None."""
    return dict(dtype.metadata or {}).get("tz") if dtype.kind == "M" else None


def mixes_zones(a: np.dtype, b: np.dtype) -> bool:
    """Whether one of two ``datetime64`` dtypes is timezone-aware and the other naive: their
    times cannot be compared (pandas refuses them too). Two zones compare as UTC instants."""
    return a.kind == b.kind == "M" and (zone(a) is None) != (zone(b) is None)


def zoned_name(dtype: np.dtype) -> str:
    """The dtype's name, with its time zone if it has one (for error messages)."""
    return f"{dtype} in {zone(dtype)}" if zone(dtype) is not None else str(dtype)


def with_zone(dtype: np.dtype, tz) -> np.dtype:
    """``dtype`` (a ``datetime64``) holding UTC times of the zone ``tz``; as it is for None."""
    return dtype if tz is None else np.dtype(dtype, metadata={"tz": tz})


def refielded(dtype: np.dtype, formats: list) -> np.dtype:
    """The structured ``dtype`` with its fields (names, offsets and item size kept) of ``formats``."""
    names = names_of(dtype)
    spec = {"names": list(names), "formats": formats, "itemsize": dtype.itemsize,
            "offsets": [dtype.fields[name][1] for name in names]}  # type: ignore[index]  # structured
    return np.dtype(spec)  # type: ignore[call-overload]  # NumPy's stubs miss the dict form


def plain(dtype: np.dtype) -> np.dtype:
    """``dtype`` without metadata (time zones), in its fields too: what frames and saved arrays
    describe (NumPy's ``.npy`` descriptions keep no metadata); ``dtype`` itself when it has none."""
    if dtype.names is not None:
        formats = [plain(dtype[name]) for name in dtype.names]
        if dtype.metadata is None and all(f is dtype[n] for f, n in zip(formats, dtype.names)):
            return dtype
        return refielded(dtype, formats)
    if dtype.subdtype is not None:
        base = plain(dtype.subdtype[0])
        return dtype if base is dtype.subdtype[0] and dtype.metadata is None else np.dtype((base, dtype.shape))
    return dtype if dtype.metadata is None else np.dtype(dtype.str)


def _datetimes(dtype: np.dtype):
    """The ``datetime64`` dtypes in ``dtype``: itself, or its fields."""
    if dtype.names is None:
        return [dtype] if dtype.kind == "M" else []
    return [dtype[name] for name in dtype.names if dtype[name].kind == "M"]


def keep_zones(dtype: np.dtype, sources) -> np.dtype:
    """``dtype``, an operation's output as NumPy gave it from zero-row samples of its inputs'
    dtypes ``sources``, with the time zones NumPy drops (it keeps no dtype metadata through
    ufuncs, ``where`` or concatenation): a ``datetime64`` output is in the zone of its inputs'
    datetimes when they all (fields included) share one zone, and a ``datetime64`` field in the
    zone of the inputs' fields of that name when they share one. Zoneless where inputs mix zones
    or naive times, and any output already carrying a zone is kept as it is."""
    if dtype.names is not None:
        if not any(dt.kind == "M" and zone(dt) is None for dt in _datetimes(dtype)):
            return dtype
        formats = []
        for name in dtype.names:
            field = dtype[name]
            if field.kind == "M" and zone(field) is None:
                zones = {zone(s[name]) for s in sources if name in names_of(s) and s[name].kind == "M"}
                field = with_zone(field, zones.pop() if len(zones) == 1 else None)
            formats.append(field)
        return refielded(dtype, formats)
    if dtype.kind != "M" or zone(dtype) is not None:
        return dtype
    zones = {zone(dt) for s in sources for dt in _datetimes(s)}
    return with_zone(dtype, zones.pop() if len(zones) == 1 else None)


def exact(block, dtype: np.dtype):
    """``block`` in exactly ``dtype`` where the two differ only in byte order or field layout
    (NumPy's concatenation, sorts and ufuncs hand back native byte order, so a partition of a
    ``>f8`` array may come back ``<f8``), and a 1-D structured partition as a ``Table``; anything
    else as it is."""
    if dtype.names is not None:
        block = as_table(block)
    elif is_text(dtype) and isinstance(block, np.ndarray) and block.ndim == 1:
        return Text.of(block)
    if isinstance(block, np.ndarray) and block.dtype != dtype and np.can_cast(block.dtype, dtype, "equiv"):
        return block.astype(dtype)
    if isinstance(block, np.ndarray) and dtype.metadata is not None and block.dtype.metadata != dtype.metadata \
            and block.dtype == dtype:  # a time zone (keep_zones) NumPy's operations dropped
        return block.view(dtype)
    if (isinstance(block, Table) and block.dtype != dtype and block.dtype.names == dtype.names
            and np.can_cast(block.dtype, dtype, "equiv")):
        return block.with_dtype(dtype)
    return block


def nullable(dtype: np.dtype) -> np.dtype:
    """The dtype of a field that may be missing: integers and bool have no missing value, so
    they become float64 (NaN), as pandas makes them; other dtypes stay."""
    return np.dtype(np.float64) if dtype.kind in "biu" else dtype


def missing_value(dtype: np.dtype):
    """What a missing entry holds: NaN for floats, NaT for times, the empty string for bytes and
    str, zero otherwise (integers have no missing value: give them a float dtype first)."""
    kind = dtype.kind
    if kind in "fc":
        return np.nan
    if kind in "mM":
        return np.array("NaT", dtype)
    return np.zeros((), dtype)


def take(values: np.ndarray, rows: np.ndarray, dtype=None) -> np.ndarray:
    """``values[rows]`` as ``dtype`` (default: values' own), missing where a row is -1."""
    if isinstance(values, Text):
        return values.take_or_missing(rows)
    dtype = values.dtype if dtype is None else np.dtype(dtype)
    if not len(values):
        out = np.zeros((len(rows),) + values.shape[1:], dtype.base)
    else:
        out = values.take(np.maximum(rows, 0) if len(rows) and rows.min() < 0 else rows, axis=0)
        out = out.astype(dtype.base, copy=False)
    missing = rows < 0
    if missing.any():
        out[missing] = missing_value(dtype)
    return out
