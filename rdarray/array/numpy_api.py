"""The NumPy protocol: ufuncs (``__array_ufunc__``) and functions (``__array_function__``)."""

from __future__ import annotations

import numpy as np

from ..text import as_words, word_dtype, words_of
from . import linalg, products, scans
from .nan_reductions import FUNCTIONS as NAN_FUNCTIONS
from .quantiles import FUNCTIONS as QUANTILE_FUNCTIONS


def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
    from .arrow_io import note_comparison
    from .core import PartitionedArray, operands
    from .elementwise import elementwise
    from .lazy import Lazy

    if kwargs.get("out") is not None:
        raise TypeError(f"{ufunc.__name__}: PartitionedArray is immutable; out= is not supported")
    kwargs.pop("out", None)
    if method == "reduce":
        from .reductions import ufunc_reduce

        (x,) = inputs
        return ufunc_reduce(x, ufunc, **kwargs)
    if method != "__call__":
        return NotImplemented
    if ufunc is np.matmul and not kwargs and len(inputs) == 2:  # its axes are not rows to line up
        from .products import matmul

        return matmul(*inputs)
    values = operands(inputs)
    for o in values:
        if not isinstance(o, (PartitionedArray, Lazy, np.ndarray, np.generic, int, float, complex, bool)):
            return NotImplemented
    fast = _text_equality(ufunc, values) if not kwargs else None
    if fast is not None:
        return fast
    if ufunc.nout == 1:
        if not kwargs and ufunc in _FLOAT_LOOPS_ONLY:
            values = _float_constants(values)
        func = (lambda *a, **out: ufunc(*a, **kwargs, **out)) if kwargs else ufunc
        # a plain elementwise ufunc may write into a temporary input that dies with it
        in_place = ufunc.signature is None and "where" not in kwargs
        out = elementwise(func, values, ufunc.__name__, accepts_out=in_place)
        if not kwargs:
            note_comparison(out, ufunc, inputs)  # a mask of a Parquet read may become its filter
        return out
    return tuple(elementwise(lambda *a, k=k: ufunc(*a, **kwargs)[k], values, f"{ufunc.__name__}[{k}]")
                 for k in range(ufunc.nout))


def _text_equality(ufunc, operands):
    """``text == constant`` (or ``!=``) for fixed-width text of 1, 2, 4 or 8 bytes a value (``S1``
    to ``S8``, ``U1``, ``U2``), compared as unsigned integers: both sides are padded with zero
    bytes, so equal integers are equal texts (NumPy's string loops are several times slower).
    None when the operands are anything else."""
    from .core import PartitionedArray
    from .elementwise import map_blocks

    if ufunc not in (np.equal, np.not_equal) or len(operands) != 2:
        return None
    arrays = [o for o in operands if isinstance(o, PartitionedArray)]
    others = [o for o in operands if not isinstance(o, PartitionedArray)]
    if len(arrays) != 1 or len(others) != 1:
        return None
    x, value = arrays[0], others[0]
    dtype = x.dtype
    if word_dtype(dtype) is None or np.ndim(value) != 0:
        return None
    value = np.asarray(value)
    if value.dtype.kind != dtype.kind:
        return None
    words = words_of([value.item()], dtype)
    const = words[0] if len(words) else None
    negate = ufunc is np.not_equal

    def compare(block):
        if const is None:  # longer than any value of the field
            out = np.zeros(block.shape, bool)
        else:
            out = as_words(block) == const
        return ~out if negate else out

    return map_blocks(x, compare, ufunc.__name__, repr(value.item()), np.dtype(bool), x._node.trailing)


def __array_function__(self, func, types, args, kwargs):
    from .core import PartitionedArray

    impl = _FUNCTIONS.get(func)
    if impl is None or not all(issubclass(t, (PartitionedArray, np.ndarray)) for t in types):
        return NotImplemented
    return impl(*args, **kwargs)


def _method(name):
    def call(x, *args, **kwargs):
        return getattr(x, name)(*args, **kwargs)

    return call


def _concatenate(arrays, axis=0, dtype=None, **kwargs):
    from .core import concatenate

    if kwargs.get("out") is not None:
        raise TypeError("concatenate: out= is not supported")
    out = concatenate(arrays, axis=axis)
    return out if dtype is None else out.astype(dtype)


def _where(cond, *ab):
    from .core import where

    if len(ab) != 2:
        raise ValueError("where: the one-argument form is not supported; use x.nonzero() on NumPy data")
    return where(cond, *ab)


def _around(x, decimals=0):
    from .elementwise import map_blocks

    return map_blocks(x, lambda b: np.round(b, decimals), "round", str(decimals))


def _clip(x, a_min=None, a_max=None, **kwargs):
    from .elementwise import elementwise

    if kwargs.get("out") is not None:
        raise TypeError("clip: PartitionedArray is immutable; out= is not supported")
    kwargs.pop("out", None)
    a_min, a_max = kwargs.pop("min", a_min), kwargs.pop("max", a_max)  # NumPy 2's keyword names
    return elementwise(lambda b, lo, hi: np.clip(b, lo, hi, **kwargs), [x, a_min, a_max], "clip")


def _histogram(a, bins=10, range=None, density=None, weights=None):
    if weights is not None:
        raise TypeError("histogram: weights= is not supported")
    return a.histogram(bins=bins, range=range, density=density)


def _unique(x, **kwargs):
    if kwargs:
        raise TypeError(f"unique: {', '.join(kwargs)} not supported; use x.value_counts() for counts")
    return x.unique()


def _sort(x, axis=-1, kind=None, order=None):
    if x.ndim != 1 and not x.dtype.names:
        raise ValueError("sort: a partitioned array sorts its rows, so it must be 1-D or structured")
    return x.sort(order)


def _isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """``np.isin`` as ``x.isin``: pandas' rules for missing values (a NaN is in values holding NaN)."""
    from .core import PartitionedArray

    if not isinstance(element, PartitionedArray):  # values partitioned, rows in memory
        return np.isin(element, np.asarray(test_elements), assume_unique=assume_unique, invert=invert, kind=kind)
    out = element.isin(test_elements)
    return ~out if invert else out


def _transpose(x, axes=None):
    if axes is not None and tuple(axes) not in ((1, 0), (0,)):
        raise ValueError(f"transpose: only the default axes are supported, got {axes!r}")
    return x.T


def _strings_function(func):
    """An ``np.strings`` function that is not a ufunc (``upper``, ``strip``, ``replace``, ...):
    applied partition by partition, elementwise as NumPy applies it to the whole array.

    NumPy sizes these functions' fixed-width results from the data, which a partition cannot
    know of the others: ``U`` text is therefore taken as variable-width text (the same values,
    in a variable-width result), and ``S`` bytes are refused."""
    def call(*args, **kwargs):
        from ..text import TEXT
        from .core import PartitionedArray, operands
        from .elementwise import elementwise

        values = []
        for o in operands(args):
            if isinstance(o, PartitionedArray) and o.dtype.kind == "S":
                raise TypeError(f"np.strings.{func.__name__}: fixed-width bytes ({o.dtype}) are not supported on a "
                                "PartitionedArray (the result's width depends on every value); decode them to "
                                "text first: x.astype(np.dtypes.StringDType())")
            values.append(o.astype(TEXT) if isinstance(o, PartitionedArray) and o.dtype.kind == "U" else o)
        return elementwise(lambda *a: func(*a, **kwargs), values, f"strings.{func.__name__}")

    return call


#: np.strings' functions that come through __array_function__ (the others are built of ufuncs,
#: which come through __array_ufunc__), but for the ones giving several arrays (partition,
#: rpartition) and fixed-width bytes sized by the data (encode, decode)
_STRINGS = {f: _strings_function(f) for name, f in vars(np.strings).items()
            if hasattr(f, "_implementation") and name not in ("partition", "rpartition", "encode", "decode")}

_FUNCTIONS = {
    **NAN_FUNCTIONS, **QUANTILE_FUNCTIONS, **_STRINGS,
    np.sum: _method("sum"), np.prod: _method("prod"), np.min: _method("min"), np.max: _method("max"),
    np.amin: _method("min"), np.amax: _method("max"), np.mean: _method("mean"), np.var: _method("var"),
    np.std: _method("std"), np.any: _method("any"), np.all: _method("all"),
    np.argmin: _method("argmin"), np.argmax: _method("argmax"),
    np.count_nonzero: _method("count_nonzero"), np.histogram: _histogram,
    np.concatenate: _concatenate, np.where: _where, np.round: _around, np.around: _around,
    np.clip: _clip,
    np.ndim: lambda x: x.ndim, np.shape: lambda x: x.shape, np.size: lambda x: x.size,
    np.unique: _unique, np.sort: _sort, np.isin: _isin,
    np.copy: lambda x, **kw: x, np.astype: lambda x, dtype, **kw: x.astype(dtype),
    np.dot: products.dot, np.cov: products.cov, np.corrcoef: products.corrcoef, np.transpose: _transpose,
    np.cumsum: scans.cumsum, np.cumprod: scans.cumprod, np.diff: scans.diff,
    np.linalg.qr: linalg.qr, np.linalg.svd: linalg.svd, np.linalg.lstsq: linalg.lstsq, np.linalg.norm: linalg.norm,
}


#: ufuncs whose every floating-point loop takes both operands in the array's dtype
_FLOAT_LOOPS_ONLY = frozenset([np.add, np.subtract, np.multiply, np.true_divide, np.floor_divide, np.remainder,
                               np.power, np.maximum, np.minimum, np.fmax, np.fmin, np.less, np.less_equal,
                               np.greater, np.greater_equal, np.equal, np.not_equal])


def _float_constants(values: list) -> list:
    """``values`` with a Python int constant beside floating-point arrays given as the equal
    Python float: the same loop and the same result (an int of at most 2**53 converts exactly),
    but NumPy resolves a float operand faster on every call, i.e. on every slice of a task."""
    if not any(type(v) is int for v in values):
        return values
    from .core import PartitionedArray

    if not all(type(v) in (int, float) or (isinstance(v, (PartitionedArray, np.ndarray)) and v.dtype.kind == "f")
               for v in values):
        return values
    return [float(v) if type(v) is int and abs(v) <= 2**53 else v for v in values]
