"""Which dtypes rdarray accepts, and the checks every public entry point shares."""

import numpy as np

_OBJECT_MESSAGE = (
    "{what}: object dtype is not supported: partitions must be plain NumPy memory so that "
    "kernels run without the GIL and data is stored and shipped without pickling; "
    "convert to a numeric, datetime64, or fixed-width 'S'/'U' dtype"
)


def check_dtype(dtype, what: str) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, raising TypeError for object dtypes (also inside fields)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{what}: {dtype!r} is not a NumPy dtype") from exc
    if dtype.hasobject:
        raise TypeError(_OBJECT_MESSAGE.format(what=what))
    return dtype


def is_numeric(dtype: np.dtype) -> bool:
    return dtype.kind in "biufc"


def empty_block(dtype: np.dtype, trailing: tuple) -> np.ndarray:
    """A zero-row partition: used to infer the dtype and shape an operation produces."""
    return np.empty((0,) + tuple(trailing), dtype=dtype)


def is_nan(values: np.ndarray) -> np.ndarray:
    """NaN for floats and complex, NaT for datetimes; False for every other kind."""
    kind = values.dtype.kind
    if kind in "fc":
        return np.isnan(values)
    if kind in "mM":
        return np.isnat(values)
    return np.zeros(values.shape, dtype=bool)
