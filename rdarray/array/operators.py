"""Python operators, each the NumPy ufunc it stands for (bound into PartitionedArray)."""

import operator

import numpy as np


def _binary(ufunc):
    def forward(self, other):
        return ufunc(self, other)

    def reflected(self, other):
        return ufunc(other, self)

    return forward, reflected


__add__, __radd__ = _binary(np.add)
__sub__, __rsub__ = _binary(np.subtract)
__mul__, __rmul__ = _binary(np.multiply)
__truediv__, __rtruediv__ = _binary(np.true_divide)
__floordiv__, __rfloordiv__ = _binary(np.floor_divide)
__mod__, __rmod__ = _binary(np.remainder)
__divmod__, __rdivmod__ = _binary(np.divmod)
__and__, __rand__ = _binary(np.bitwise_and)
__or__, __ror__ = _binary(np.bitwise_or)
__xor__, __rxor__ = _binary(np.bitwise_xor)
__lshift__, __rlshift__ = _binary(np.left_shift)
__rshift__, __rrshift__ = _binary(np.right_shift)


def _as_ndarray_operator(op, ufunc):
    """``op`` itself on each partition, where ndarray's operator is more than its ufunc: ``**``
    takes NumPy's fast paths (square, sqrt, reciprocal), and ``==``/``!=`` find dtypes that cannot
    be compared unequal everywhere instead of raising."""

    def forward(self, other):
        from .arrow_io import note_comparison
        from .core import operands
        from .elementwise import elementwise
        from .lazy import Lazy

        if isinstance(other, Lazy):
            return ufunc(self, other)
        out = elementwise(op, operands([self, other]), ufunc.__name__)
        note_comparison(out, ufunc, (self, other))  # a mask of a Parquet read may become its filter
        return out

    return forward


__pow__, __rpow__ = _as_ndarray_operator(operator.pow, np.power), _binary(np.power)[1]
__eq__ = _as_ndarray_operator(operator.eq, np.equal)
__ne__ = _as_ndarray_operator(operator.ne, np.not_equal)
__lt__, _ = _binary(np.less)
__le__, _ = _binary(np.less_equal)
__gt__, _ = _binary(np.greater)
__ge__, _ = _binary(np.greater_equal)


def __neg__(self):
    return np.negative(self)


def __pos__(self):
    return np.positive(self)


def __abs__(self):
    return np.absolute(self)


def __invert__(self):
    return np.invert(self)


def __matmul__(self, other):
    """``x @ w`` (narrow, ``w`` in memory), ``x @ y`` of 1-D arrays (a reduction); ``array/linalg.py``."""
    from .products import matmul

    return matmul(self, other)


def __rmatmul__(self, other):
    """``w @ x``: a reduction to a small matrix, ``(x.T @ w.T).T`` (``array/linalg.py``)."""
    from .products import matmul

    return matmul(other, self)
