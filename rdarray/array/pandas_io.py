"""``rd.from_pandas`` and ``x.to_pandas()``: a DataFrame is a structured array, a column a field."""

from __future__ import annotations

import functools

import numpy as np

from .. import text
from ..dtypes import check_dtype, zone
from ..table import Table, concat, is_table
from .columns import check_table


def _column(series):
    """A column as plain NumPy memory: timezone-aware datetimes as UTC with their zone in the
    dtype's metadata (``_zoned``), nullable numbers and booleans without pd.NA (``_nullable``), text
    (``str``, object and categorical columns of str, with missing values) as variable-width ``Text``."""
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return _zoned(series)
    if is_nullable(series):
        return _nullable(series)
    name = series.name
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        import pyarrow as pa

        return text.from_arrow(pa.array(series.array))  # pandas' str: its bytes, not one object a row
    if isinstance(series.dtype, pd.CategoricalDtype) and series.cat.categories.dtype.kind in "OT":
        categories = _column(pd.Series(series.cat.categories, name=name))
        if isinstance(categories, text.Text):  # each category's text once, then taken by code
            return categories.take_or_missing(series.cat.codes.to_numpy())
    values = series.to_numpy()
    if values.dtype != object:
        return values
    return text.from_objects(values, f"from_pandas: column {name!r}", na=pd.NA)


def _zoned(series) -> np.ndarray:
    """A timezone-aware datetime column as UTC ``datetime64`` of its unit, the zone kept in the
    dtype's metadata (``{"tz": "Europe/Paris"}``; the zone object itself where its name does not
    name it back); NaT stays NaT."""
    import pandas as pd

    tz = series.dtype.tz
    try:
        if pd.DatetimeTZDtype(series.dtype.unit, str(tz)) == series.dtype:
            tz = str(tz)
    except (TypeError, ValueError):  # a zone pandas cannot find by its name: kept as the object
        pass
    values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return values.view(np.dtype(values.dtype, metadata={"tz": tz}))


def is_nullable(series) -> bool:
    """Whether ``series`` is a nullable integer, unsigned, boolean or float column (pd.NA)."""
    import pandas as pd

    return isinstance(series.array, (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray))


def nullable_dtype(series, missing: bool) -> np.dtype:
    """The NumPy dtype of a nullable column (``is_nullable``): its own without missing values;
    with, float64 for integers and booleans and the same width for floats (NaN where missing)."""
    plain = series.dtype.numpy_dtype
    return plain if not missing or plain.kind == "f" else np.dtype(np.float64)


def _nullable(series) -> np.ndarray:
    """A nullable column (``is_nullable``) as NumPy memory of ``nullable_dtype``, NaN where missing."""
    missing = series.hasnans
    return series.to_numpy(dtype=nullable_dtype(series, missing), **({"na_value": np.nan} if missing else {}))


def table(df, dtype=None) -> Table:
    """A DataFrame as a table, one field per column (of ``dtype`` when given); the columns are
    taken as they are where their dtype is the field's (no row-major copy)."""
    columns = [_column(df[c]) for c in df.columns]
    if dtype is None:
        dtype = check_dtype([(str(c), text.field_dtype(col.dtype)) for c, col in zip(df.columns, columns)],
                            "from_pandas")
    return Table(dtype, {name: col if isinstance(col, text.Text) else np.ascontiguousarray(col, dtype.fields[name][0])
                         for name, col in zip(dtype.names, columns)})


def frame(values, dtype=None):
    """A structured array or table as a DataFrame (one column per field), a 1-D array as a Series;
    a ``datetime64`` field or array whose ``dtype`` (default: values') names a time zone
    (``_zoned``) comes back timezone-aware."""
    import pandas as pd

    dtype = values.dtype if dtype is None else dtype
    if values.dtype.names:  # numbers are not copied; bytes become objects, text str, as pandas makes them
        return pd.DataFrame({name: _pandas_column(values[name], dtype[name]) for name in values.dtype.names},
                            copy=False)
    if values.ndim == 1:
        return pd.Series(_pandas_column(values, dtype))
    return pd.DataFrame(values)


@functools.cache
def _arrow_str() -> bool:
    """Whether pandas holds ``str`` columns in Arrow (pandas 3 with pyarrow installed)."""
    import pandas as pd

    dtype = pd.Series([""]).dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _pandas_column(values, dtype: np.dtype):
    """One field for pandas: text as ``str`` (NaN missing; Arrow's bytes shared where pandas' str
    is Arrow's), bytes as objects, as pandas makes them; a datetime of a zone as a timezone-aware
    Series; anything else as it is."""
    import pandas as pd

    if text.holds_text(values):
        values = text.Text.of(values)
        if _arrow_str():
            return pd.Series(pd.array(values.to_arrow(), dtype="str"))
        return pd.Series(values.to_objects(), dtype="str")
    if values.dtype.kind == "S":
        return values.astype(object)
    tz = zone(dtype)
    return values if tz is None else pd.Series(values).dt.tz_localize("UTC").dt.tz_convert(tz)


def from_pandas(df, npartitions=None):
    """A DataFrame as a structured array (one field per column), a Series as a 1-D array.

    Text columns (``str``, object columns of str and None/NaN, categoricals of str) become
    variable-width text fields, missing values kept. Timezone-aware datetimes are held as UTC
    ``datetime64`` of their unit with the zone in the field's dtype metadata
    (``x.dtype["t"].metadata == {"tz": "Europe/Paris"}``); ``to_pandas()`` gives them back in
    their zone. Nullable columns (``Int8``..``Int64``, ``UInt8``..``UInt64``, ``boolean``,
    ``Float32``, ``Float64``) become their NumPy dtype when nothing is missing; with missing
    values (pd.NA), integers and booleans become float64 with NaN, as pandas makes them in
    merges, and floats keep their width with NaN. Object columns holding other Python objects
    are refused, naming the column and the type of one of them.

    Parameters
    ----------
    df : pandas.DataFrame or pandas.Series
    npartitions : int, optional
        By default about ``rd.config.partition_bytes`` each.

    Returns
    -------
    PartitionedArray
    """
    import pandas as pd

    from .core import from_numpy

    if isinstance(df, pd.Series):
        return from_numpy(_column(df), npartitions=npartitions)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"from_pandas: expected a pandas DataFrame or Series, got {type(df).__name__}")
    return from_numpy(table(df), npartitions=npartitions)


def _columns(x) -> dict:
    """The computed fields of the table ``x`` (name -> 1-D array), each assembled from the
    partitions' fields once, the caller's to modify."""
    from ..session.compute import compute_partitions

    node = x._node
    blocks = compute_partitions(node, as_tables=True)
    out = concat(blocks).with_dtype(node.dtype)
    if len(blocks) == 1 and (node.cheap or node.persist_level is not None):
        out = out.copy()  # its fields are the source's or the block store's
    return out.columns


def to_pandas(self):
    """The array as pandas data, built from the fields directly for a table.

    Returns
    -------
    pandas.DataFrame or pandas.Series
        A DataFrame with one column per field for a structured dtype, a Series for a 1-D array
        (named as the field for a field of a table, ``x["f"]``; a DataFrame of its columns for 2-D).
    """
    if not is_table(self.dtype, self._node.trailing):
        out = frame(self.compute(), self.dtype)
        if self._node.op == "field" and self.ndim == 1:  # ``x["f"]``: a Series named as the field
            out.name = self._node.detail
        return out
    return frame(Table.from_columns(_columns(self)), self.dtype)


def to_dict(self) -> dict:
    """The fields of a table, computed.

    Returns
    -------
    dict
        ``{field name: 1-D ndarray}`` in field order (a sub-array field's array has its extra axes).

    Examples
    --------
    >>> t = rd.from_numpy(np.array([(1, 2.0)], dtype=[("a", "i8"), ("b", "f8")]))
    >>> t.to_dict()
    {'a': array([1]), 'b': array([2.])}
    """
    check_table(self, "to_dict")
    return _columns(self)
