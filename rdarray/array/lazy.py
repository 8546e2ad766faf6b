"""``rd.Lazy``: a value computed from partitioned arrays (a reduction, or a function of such values)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..graph.lineage import VALUE, AllToOne, Broadcast, Node
from ..graph.partials import tree_combine
from .notebook import lazy_html
from .operands import bind


class Lazy:
    """A lazily computed value: ``.compute()``, ``float(r)``, ``int(r)`` or ``np.asarray(r)``.

    Most are a handle on a *value node*: a one-partition node in the lineage whose partition is the
    value (a reduction's partials merged in a tree, or a function of other values), so it is planned
    with everything else and can be broadcast into array expressions (``x - x.mean()``). A few values
    need a first computation before they can even be planned (a histogram's range): those hold
    ``then``, a function of other lazy values whose result is computed in a second plan.

    Parameters
    ----------
    label : str
        What ``repr`` and ``explain`` call it.
    node : Node, optional
        The value node.
    meta : numpy.ndarray, optional
        A zero-cost sample of the value (its dtype and shape), when known.
    then : (callable, tuple), optional
        ``(fn, args)`` for a value computed from the values of other lazy ones, in a second plan.
    """

    __array_priority__ = 30

    def __init__(self, label: str, *, node: Node | None = None, meta=None, then=None):
        self.label = label
        self.node = node
        self.meta = meta
        self.then = then  # (fn, args)

    @classmethod
    def reduced(cls, op: str, label: str, partials: Node, combine: Callable, finalize=None, meta=None) -> Lazy:
        """The value combining the partial results of ``partials`` and finishing with ``finalize``.

        Parameters
        ----------
        op : str
            The value node's label.
        label : str
            The value's label.
        partials : Node
            One partial result per partition.
        combine : callable
            ``combine(a, b)``: two partial results as one (applied in a tree).
        finalize : callable, optional
            The value from the combined partial result.
        meta : numpy.ndarray, optional
            A sample of the value.

        Returns
        -------
        Lazy
        """
        def combined(parts):
            value = tree_combine(parts, combine)
            return finalize(value) if finalize else value

        node = Node(op, combined, [AllToOne(partials)], 1, VALUE, (), None, detail="merge")
        return cls(label, node=node, meta=meta)

    @classmethod
    def apply(cls, label: str, fn: Callable, args: Sequence) -> Lazy:
        """``fn(*args)`` where lazy arguments are replaced by their values.

        Parameters
        ----------
        label : str
            The value's label.
        fn : callable
        args : sequence
            Lazy values and plain ones.

        Returns
        -------
        Lazy

        Examples
        --------
        >>> spread = rd.Lazy.apply("spread", lambda lo, hi: hi - lo, [x.min(), x.max()])
        """
        lazies = [a for a in args if isinstance(a, Lazy)]
        if any(a.node is None for a in lazies):
            return cls(label, then=(fn, tuple(args)))
        inputs, call = bind(fn, args, lambda a: isinstance(a, Lazy))
        node = Node(label, call, [Broadcast(a.node) for a in inputs], 1, VALUE, (), None)
        meta = None
        if all(a.meta is not None for a in lazies):
            try:
                with np.errstate(all="ignore"):
                    meta = np.asarray(call(*[a.meta for a in inputs]))
            except Exception:  # the sample is a hint only; without it the value is computed eagerly
                meta = None
        return cls(label, node=node, meta=meta)

    def __rd_nodes__(self) -> list[Node]:
        """The compute protocol (``session/compute.py``): the value node, or the nodes of the
        arguments of a value that needs a first computation."""
        if self.node is not None:
            return [self.node]
        return [node for a in self.then[1] if hasattr(a, "__rd_nodes__") for node in a.__rd_nodes__()]

    def __rd_finish__(self, partitions: dict[int, list]):
        """The compute protocol: the value, or the function of the computed arguments (which the
        session computes in turn when it is an array or a lazy value)."""
        if self.node is not None:
            return partitions[self.node.id][0]
        fn, args = self.then
        return fn(*[a.__rd_finish__(partitions) if hasattr(a, "__rd_finish__") else a for a in args])

    def compute(self):
        from ..session.compute import compute

        return compute(self)[0]

    def explain(self) -> str:
        """The physical plan computing this value, as text (a ``str`` that Jupyter shows as text)."""
        from ..session.compute import explain

        return explain(self)

    def visualize(self, filename=None):
        """The physical plan computing this value, drawn by Graphviz (``rdarray[graphviz]``).

        Parameters
        ----------
        filename : str or path, optional
            Also write the picture there: PNG or SVG, by the suffix.

        Returns
        -------
        graphviz.Source
            The picture, which Jupyter displays.
        """
        from ..session.compute import visualize

        return visualize(self, filename=filename)

    def __repr__(self) -> str:
        return f"rd.Lazy<{self.label}>"

    def _repr_html_(self) -> str:
        """Jupyter's view: the value's label, dtype and shape when known, the last operations
        (computes nothing)."""
        return lazy_html(self)

    # -- as a NumPy scalar: these compute the value -----------------------------------------------
    def _scalar(self):
        """The computed value, a 0-d result as a NumPy scalar (as NumPy's reductions return)."""
        value = self.compute()
        if isinstance(value, np.ndarray) and value.ndim == 0:
            return value[()]
        return value

    def __format__(self, spec: str) -> str:
        return format(self._scalar(), spec)

    def __round__(self, ndigits=None):
        value = self._scalar()
        return round(value) if ndigits is None else round(value, ndigits)

    def item(self, *args):
        """The computed value as a Python scalar, as ``numpy.ndarray.item``.

        Parameters
        ----------
        *args : int
            Which element, for a value with more than one.

        Returns
        -------
        int, float, complex, ...
        """
        return np.asarray(self.compute()).item(*args)

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
        return Lazy.apply(f"{ufunc.__name__}", lambda *v: ufunc(*v, **kwargs), inputs)

    def __getitem__(self, key):
        return Lazy.apply(f"[{key!r}]", lambda v: v[key], (self,))


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
setattr(Lazy, "__neg__", lambda self: np.negative(self))  # noqa: B010  (with the operators above)
setattr(Lazy, "__abs__", lambda self: np.absolute(self))  # noqa: B010
setattr(Lazy, "__hash__", object.__hash__)  # noqa: B010  (``==`` builds a value, not a bool)
