"""Fields of a table: ``assign`` (computed fields), ``rename`` and ``drop`` (contract 3.6).

The result's partitions share the fields they keep with ``x``'s (a ``Table`` per partition,
nothing copied, a pending mask still pending); only an assigned field is new memory. ``x``'s
partitioner survives unless one of its key fields is replaced, renamed or dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..dtypes import check_dtype
from ..graph.lineage import Node, OneToOne
from ..shuffle.partitioners import key_fields
from ..table import is_table, names_of, with_fields
from ..text import Text, field_dtype


def check_table(x, what: str) -> tuple[str, ...]:
    """The field names of the table ``x``; a ``TypeError`` naming ``what`` for anything else."""
    if not is_table(x.dtype, x._node.trailing):
        raise TypeError(f"{what}: needs a table (a 1-D structured PartitionedArray), got {x.dtype} "
                        f"with {x.ndim} dimension(s)")
    return names_of(x.dtype)


def _kept(partitioner, changed: set[str]):
    """``partitioner`` when none of its key fields is in ``changed``, else None."""
    return None if partitioner is None or key_fields(partitioner.key) & changed else partitioner


def _shared(x, dtype: np.dtype, sources: dict[str, str], op: str, detail: str, changed: set[str]):
    """``x`` with fields ``sources`` (new name -> x's name) under ``dtype``: no data moves."""
    from .core import PartitionedArray

    node = x._node

    def pick(block):
        return with_fields(block, dtype, sources, {})

    def uses(used):  # x's fields behind the ones read
        return [None if used is None else frozenset(sources[f] for f in used if f in sources)]

    return PartitionedArray(Node(op, pick, [OneToOne(node)], node.npartitions, dtype, (), node.partition_lengths,
                                 align_key=node.align_key, partitioner=_kept(node.partitioner, changed),
                                 detail=detail, sliceable=True, uses=uses))


def assign(self, **values):
    """A table with fields added or replaced; the other fields are shared, not copied.

    Parameters
    ----------
    **values : PartitionedArray, ndarray, scalar or callable
        ``name=value``. A PartitionedArray must have as many rows as ``self`` (an expression of
        its fields, e.g. ``x["price"] * (1 - x["disc"])``), as must an ndarray; a scalar fills
        every row; a callable is called with the table as it stands (earlier assignments made)
        and its result used as the value. Fields are assigned in the order given; an existing
        name replaces that field in place, a new one is appended.

    Returns
    -------
    PartitionedArray
        The new table; its partitioner is ``self``'s unless a key field was replaced.

    Examples
    --------
    >>> x = rd.from_numpy(np.array([(2.0, 0.5)], dtype=[("price", "f8"), ("disc", "f8")]))
    >>> x.assign(rev=x["price"] * (1 - x["disc"]), one=1).compute()["rev"]
    array([1.])
    """
    from .core import PartitionedArray, ensure_lengths, from_numpy

    out = self
    for name, value in values.items():
        names = check_table(out, "assign")
        if callable(value) and not isinstance(value, (PartitionedArray, np.ndarray)):
            value = value(out)
        if isinstance(value, PartitionedArray):
            if value.dtype.names is not None:
                raise TypeError(f"assign: the value of {name!r} is a table ({value.dtype}); assign one field")
        else:
            value = np.asarray(value)
            check_dtype(value.dtype, "assign")
            if value.ndim and value.dtype.names is not None:
                raise TypeError(f"assign: the value of {name!r} is structured ({value.dtype}); assign one field")
        # an expression of the table's own fields lines up with it by lineage: its length is
        # not computed (after a mask that would read the table once more)
        if value.ndim and (isinstance(value, np.ndarray) or not out._node.aligned_with(value._node)):
            rows, have = len(value), len(out)
            if rows != have:
                raise ValueError(f"assign: the value of {name!r} has {rows} rows; the table has {have}")
            if isinstance(value, np.ndarray):
                value = from_numpy(value, partition_lengths=ensure_lengths(out._node))
        kind = field_dtype(value.dtype)  # variable-width text: a text field
        field = (name, kind, value.shape[1:]) if value.ndim else (name, kind)
        fields = [(f, out.dtype[f]) for f in names]
        if name in names:
            fields[names.index(name)] = field
        else:
            fields.append(field)
        dtype = np.dtype(fields)
        sources = {f: f for f in names if f != name}
        out = _assigned(out, dtype, sources, name, value)
    return out


def _assigned(x, dtype: np.dtype, sources: dict[str, str], name: str, value):
    """``x`` with field ``name`` set to ``value`` (a PartitionedArray aligned with it, or a 0-d array)."""
    from .core import PartitionedArray
    from .elementwise import align

    node = x._node
    base = dtype[name].base

    def put(block, column):
        column = column if isinstance(column, Text) else np.asarray(column).astype(base, copy=False)
        return with_fields(block, dtype, sources, {name: column})

    def uses(used):  # x's other fields that are read; the value's array whole
        kept = None if used is None else frozenset(f for f in used if f in sources)
        return [kept, None]

    if isinstance(value, PartitionedArray):
        deps = [OneToOne(node), align(node, value._node, "assign")]
        func = put
    else:
        scalar = value.astype(dtype[name])
        deps = [OneToOne(node)]

        def func(block):  # type: ignore[misc]  # one argument: the value is no partition
            return put(block, np.full(len(block), scalar, base))

    return PartitionedArray(Node("assign", func, deps, node.npartitions, dtype, (), node.partition_lengths,
                                 align_key=node.align_key, partitioner=_kept(node.partitioner, {name}),
                                 detail=name, sliceable=True, uses=uses))


def rename(self, columns: Mapping[str, str]):
    """The table with fields renamed; no data is copied.

    Parameters
    ----------
    columns : mapping
        ``{old name: new name}``; fields not named keep their names and places.

    Returns
    -------
    PartitionedArray
        The renamed table (its partitioner kept unless a key field is renamed).
    """
    names = check_table(self, "rename")
    if not isinstance(columns, Mapping):
        raise TypeError(f"rename: columns must be a mapping {{old: new}}, got {type(columns).__name__}")
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise KeyError(f"rename: no field named {', '.join(map(repr, unknown))}; the fields are: {', '.join(names)}")
    for old, new in columns.items():
        if not isinstance(new, str) or not new:
            raise TypeError(f"rename: a new field name must be a non-empty str, got {new!r} for {old!r}")
    renamed = [columns.get(f, f) for f in names]
    repeated = sorted({f for f in renamed if renamed.count(f) > 1})
    if repeated:
        raise ValueError(f"rename: the new names clash: {', '.join(map(repr, repeated))} would name two fields")
    dtype = np.dtype([(columns.get(f, f), self.dtype[f]) for f in names])
    changed = {f for f in names if columns.get(f, f) != f}
    detail = ", ".join(f"{old}->{new}" for old, new in columns.items())
    return _shared(self, dtype, {columns.get(f, f): f for f in names}, "rename", detail, changed)


def drop(self, columns):
    """The table without the fields ``columns`` (a name or a list of names); no data is copied.

    Parameters
    ----------
    columns : str or list of str
        The fields to drop; at least one field must remain.

    Returns
    -------
    PartitionedArray
        The table of the other fields, in their order.
    """
    names = check_table(self, "drop")
    dropped = [columns] if isinstance(columns, str) else list(columns)
    unknown = [c for c in dropped if c not in names]
    if unknown:
        raise KeyError(f"drop: no field named {', '.join(map(repr, unknown))}; the fields are: {', '.join(names)}")
    kept = [f for f in names if f not in dropped]
    if not kept:
        raise ValueError("drop: every field would be dropped; a table needs one field at least")
    dtype = np.dtype([(f, self.dtype[f]) for f in kept])
    return _shared(self, dtype, {f: f for f in kept}, "drop", ", ".join(dropped), set(dropped))
