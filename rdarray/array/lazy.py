"""``rd.Lazy``: a value computed from partitioned arrays (a reduction, or a function of such values)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..lineage import Node

EMPTY = type("Empty", (), {"__repr__": lambda self: "EMPTY"})()  # a partial from an empty partition


def merge_partials(combine: Callable, a, b):
    """``combine(a, b)``, where an EMPTY partial (from no rows) leaves the other as it is."""
    if a is EMPTY:
        return b
    return a if b is EMPTY else combine(a, b)


def tree_combine(values: list, combine: Callable):
    """Merge partial results pairwise in a balanced tree (skipping EMPTY ones)."""
    values = [v for v in values if v is not EMPTY]
    if not values:
        return EMPTY
    while len(values) > 1:
        merged = [combine(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
        if len(values) % 2:
            merged.append(values[-1])
        values = merged
    return values[0]


class Lazy:
    """A lazily computed value: ``.compute()``, ``float(r)``, ``int(r)`` or ``np.asarray(r)``.

    Made by a reduction (per-partition partials in ``node``, merged with ``combine``, finished by
    ``finalize``), or as ``fn`` of other lazy values; when ``then`` is set, ``fn``'s result is
    itself computed (for reductions that need a first pass, such as a histogram's range).
    """

    __array_priority__ = 30

    def __init__(self, label: str, *, node: Node | None = None, combine=None, finalize=None,
                 fn=None, args=(), then: bool = False):
        self.label = label
        self.node = node
        self.combine = combine
        self.finalize = finalize
        self.fn = fn
        self.args = tuple(args)
        self.then = then

    def compute(self):
        from ..compute import compute

        return compute(self)[0]

    def explain(self) -> str:
        from ..compute import explain

        return explain(self)

    def __repr__(self) -> str:
        return f"rd.Lazy<{self.label}>"

    def __float__(self):
        return float(self.compute())

    def __int__(self):
        return int(self.compute())

    def __index__(self):
        return int(self.compute())

    def __complex__(self):
        return complex(self.compute())

    def __bool__(self):
        return bool(self.compute())

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.compute(), dtype=dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .core import PartitionedArray

        if method != "__call__" or any(isinstance(o, PartitionedArray) for o in inputs):
            return NotImplemented
        return Lazy(f"{ufunc.__name__}(...)", fn=lambda *v: ufunc(*v, **kwargs), args=inputs)

    def __getitem__(self, key):
        return Lazy(f"{self.label}[{key!r}]", fn=lambda v: v[key], args=(self,))


def _lazy_operator(ufunc, reflected=False):
    def op(self, other):
        from .core import PartitionedArray

        if isinstance(other, PartitionedArray):
            return NotImplemented
        return ufunc(other, self) if reflected else ufunc(self, other)

    return op


for _name, _ufunc in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                      ("mod", np.remainder), ("pow", np.power)]:
    setattr(Lazy, f"__{_name}__", _lazy_operator(_ufunc))
    setattr(Lazy, f"__r{_name}__", _lazy_operator(_ufunc, reflected=True))
for _name, _ufunc in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                      ("gt", np.greater), ("ge", np.greater_equal)]:
    setattr(Lazy, f"__{_name}__", _lazy_operator(_ufunc))
Lazy.__neg__ = lambda self: np.negative(self)
Lazy.__abs__ = lambda self: np.absolute(self)
Lazy.__hash__ = object.__hash__
