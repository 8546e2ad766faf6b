"""``rd.from_pandas`` and ``x.to_pandas()``: a DataFrame is a structured array, a column a field."""

from __future__ import annotations

import functools

import numpy as np

from .. import text
from ..dtypes import check_dtype
from ..table import Table, concat, is_table
from .columns import check_table


def _column(series):
    """A column as plain NumPy memory; text (``str``, object and categorical columns of str, with
    missing values) as variable-width ``Text``."""
    import pandas as pd

    name = series.name
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        raise TypeError(f"from_pandas: column {name!r} is a timezone-aware datetime ({series.dtype}); "
                        "time zones are not supported yet: convert it to UTC with "
                        "df[col].dt.tz_convert(None)")
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
    if not isinstance(series.dtype, pd.BooleanDtype):
        return text.from_objects(values, f"from_pandas: column {name!r}", na=pd.NA)
    missing = pd.isna(values)
    present = values[~missing]
    if isinstance(series.dtype, pd.BooleanDtype):
        raise TypeError(f"from_pandas: column {name!r} is a nullable boolean column with "
                        f"{int(missing.sum())} missing value(s); convert it with .astype('float64') "
                        "(missing values become NaN)")
    other = next(type(v).__name__ for v in present if not isinstance(v, str))
    raise TypeError(f"from_pandas: column {name!r} holds Python objects other than str (e.g. {other}); "
                    "object dtype is not supported")


def table(df, dtype=None) -> Table:
    """A DataFrame as a table, one field per column (of ``dtype`` when given); the columns are
    taken as they are where their dtype is the field's (no row-major copy)."""
    columns = [_column(df[c]) for c in df.columns]
    if dtype is None:
        dtype = check_dtype([(str(c), text.field_dtype(col.dtype)) for c, col in zip(df.columns, columns)],
                            "from_pandas")
    return Table(dtype, {name: col if isinstance(col, text.Text) else np.ascontiguousarray(col, dtype.fields[name][0])
                         for name, col in zip(dtype.names, columns)})


def frame(values):
    """A structured array or table as a DataFrame (one column per field), a 1-D array as a Series."""
    import pandas as pd

    if values.dtype.names:  # numbers are not copied; bytes become objects, text str, as pandas makes them
        return pd.DataFrame({name: _series(values[name]) for name in values.dtype.names}, copy=False)
    if values.ndim == 1:
        return _series(values)
    return pd.DataFrame(values)


@functools.cache
def _arrow_str() -> bool:
    """Whether pandas holds ``str`` columns in Arrow (pandas 3 with pyarrow installed)."""
    import pandas as pd

    dtype = pd.Series([""]).dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _series(values):
    """A column as pandas holds it: text as ``str`` (NaN missing), bytes as objects."""
    import pandas as pd

    if isinstance(values, text.Text) or text.is_text(values.dtype):
        values = text.Text.of(values)
        if _arrow_str():  # pandas' str is Arrow's: the bytes are shared, no object a row
            return pd.Series(pd.array(values.to_arrow(), dtype="str"))
        return pd.Series(values.to_objects(), dtype="str")
    return pd.Series(values.astype(object) if values.dtype.kind == "S" else values, copy=False)


def from_pandas(df, npartitions=None):
    """A DataFrame as a structured array (one field per column), a Series as a 1-D array.

    Text columns (``str``, object columns of str and None/NaN, categoricals of str) become
    variable-width text fields, missing values kept; columns NumPy cannot hold exactly
    (timezone-aware datetimes, nullable booleans with missing values) are refused with a fix to
    apply.

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
        (a DataFrame of its columns for 2-D).
    """
    if not is_table(self.dtype, self._node.trailing):
        return frame(self.compute())
    return frame(Table.from_columns(_columns(self)))


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
