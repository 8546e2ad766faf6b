"""``x.groupby(by)``: pandas-style aggregation by key.

Each map task factorizes its partition's keys (an open-addressing hash table) and reduces every
group to one row of *states* (sum, count, min, ...): the map-side combine. The partial rows are
shuffled by key, and each reduce task factorizes them again, merges the states of each group
(Chan's formulas for the variance) and finishes the aggregates. ``nunique`` and ``apply`` need
whole groups, as do ``median``, ``quantile`` and the user's functions (``group_values.py``), so
for them the rows themselves are shuffled. With ``sort=True`` the shuffle is by
key range (boundaries sampled inside the plan) and each partition is sorted, so the result is in
key order; otherwise it is by key hash. An array already partitioned by the key moves no data.

``transform`` computes the aggregate and joins it back to the rows by key (``group_transform.py``):
one value per row, in the input's order and partitions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..dtypes import is_nan, missing_value, take
from ..graph.lineage import Node, OneToOne
from ..session.compute import value_of
from ..session.context import current_context
from ..shuffle import hashing
from ..shuffle.partitioners import HashPartitioner, RangePartitioner, sort_order
from ..table import Table, records
from ..text import TEXT, Text, is_text
from .elementwise import map_blocks
from .group_transform import transformed
from .group_values import call_dtype, group_call, group_quantile
from .wide import coalesced, shuffled

AGGREGATIONS = ("sum", "mean", "count", "size", "min", "max", "var", "std", "first", "last", "nunique",
                "median", "quantile")
_NUMERIC = ("sum", "mean", "var", "std", "median", "quantile")
#: the aggregates of whole groups: the rows are shuffled, not partial states (callables too)
_WHOLE = ("nunique", "median", "quantile")
_STATES: dict[str, tuple] = {"sum": ("sum",), "mean": ("sum", "count"), "count": ("count",), "size": ("size",),
           "var": ("count", "sum", "m2"), "std": ("count", "sum", "m2"), "min": ("min",), "max": ("max",),
           "first": ("first",), "last": ("last",), "nunique": ("nunique",), "median": (("median",),)}


class Aggregate(NamedTuple):
    """One output field: ``func`` (a name or a callable) of ``field`` (None for ``size``); ``q`` is
    the quantile's."""

    name: str
    field: str | None
    func: str | Callable
    ddof: int = 1
    q: float = 0.5


def _per_field(func: str, summary: str, note: str = ""):
    """A GroupBy method aggregating every value field with ``func`` (``numeric_only=`` as pandas')."""
    def method(self, numeric_only: bool = False):
        return self._each(func, numeric_only=numeric_only)

    method.__name__, method.__qualname__ = func, f"GroupBy.{func}"
    method.__doc__ = f"""{summary}

        Parameters
        ----------
        numeric_only : bool, default False
            Aggregate only the number and bool fields{note}.

        Returns
        -------
        PartitionedArray
        """
    return method


class GroupBy:
    """Rows of a structured array grouped by key fields; each aggregate returns a structured
    PartitionedArray with the key fields first, then one field per aggregate; ``transform`` one
    value per row, aligned with the input.

    Parameters
    ----------
    x : PartitionedArray
        1-D, structured or not; with key arrays for ``by``, its fields (or its values, as ``value``)
        are aggregated.
    by, sort, dropna
        As for ``PartitionedArray.groupby``, which makes these.
    """

    def __init__(self, x, by, sort: bool = True, dropna: bool = True):
        self._x, self._by = x, by
        self._frame, self._keys = _frame(x, by)
        self._values = tuple(f for f in self._frame.dtype.names if f not in self._keys)
        self._selected = False  # value fields narrowed by groupby(...)[...]
        self._single = False  # one field selected by name: transform gives a 1-D array
        self._sort = bool(sort)
        self._dropna = bool(dropna)

    def __repr__(self) -> str:
        selected = f", selected={list(self._values)}" if self._selected else ""
        return f"GroupBy(by={list(self._keys)}{selected}, sort={self._sort}, dropna={self._dropna})"

    def __getitem__(self, fields):
        """The same groups with only ``fields`` aggregated, as pandas' ``groupby(by)[...]``.

        Parameters
        ----------
        fields : str or list of str
            Value fields (not keys). A single name gives what pandas' ``SeriesGroupBy`` gives,
            in rdarray's layout: aggregates are still structured arrays of the key fields and the
            aggregated field (as pandas' ``as_index=False``), while ``transform`` gives a 1-D array.

        Returns
        -------
        GroupBy

        Examples
        --------
        >>> t.groupby("k")["v"].sum()           # fields k, v
        >>> t.groupby("k")[["v", "w"]].mean()   # fields k, v, w
        """
        single = isinstance(fields, str)
        names = [fields] if single else fields
        if not isinstance(names, list) or not names or not all(isinstance(f, str) for f in names):
            raise TypeError(f"groupby[...]: select a field name or a list of them, got {fields!r}")
        for f in names:
            if f in self._keys:
                raise KeyError(f"groupby[...]: {f!r} is a key of this groupby, not a value field to aggregate")
            if f not in self._values:
                raise KeyError(f"groupby[...]: no field {f!r}; the value fields are: {', '.join(self._values)}")
        if len(set(names)) != len(names):
            raise ValueError(f"groupby[...]: a field is selected twice in {names}")
        out = copy.copy(self)
        out._values, out._single, out._selected = tuple(names), single, True
        return out

    def _each(self, func: str, ddof: int = 1, q: float = 0.5, numeric_only: bool = False):
        return self._aggregate([Aggregate(f, f, func, ddof, q) for f in self._fields_for(func, numeric_only)],
                               allow_none=numeric_only)

    def _fields_for(self, func: str, numeric_only: bool) -> tuple:
        """The value fields ``func`` aggregates: the numeric ones with ``numeric_only`` (bool
        counts, as in pandas); else every one, and a TypeError naming those an arithmetic
        aggregate cannot take."""
        dtypes = self._frame.dtype
        if numeric_only:
            return tuple(f for f in self._values if dtypes[f].kind in "biuf")
        if func in _NUMERIC:
            bad = [f for f in self._values if dtypes[f].kind not in ("iuf" if func == "quantile" else "biuf")]
            if bad:
                listed = ", ".join(f"{f!r} ({_describe(dtypes[f])})" for f in bad)
                raise TypeError(f"groupby.{func}: needs numbers, and fields {listed} are not; pass "
                                f"numeric_only=True to leave them out, or select the fields to aggregate "
                                f"(groupby(...)[[...]]){_times_hint([dtypes[f] for f in bad])}")
        return self._values

    sum = _per_field("sum", "The sum of every value field per group.",
                     "; without it, a text or time field is a TypeError naming it")
    mean = _per_field("mean", "The mean of every value field per group.",
                      "; without it, a text or time field is a TypeError naming it (the mean of times is not "
                      "computed)")

    def count(self):
        """The number of non-missing values of every value field per group."""
        return self._each("count")

    def size(self):
        """The number of rows per group, as field ``size``."""
        return self._aggregate([Aggregate("size", None, "size")])

    min = _per_field("min", "The minimum of every value field per group.")
    max = _per_field("max", "The maximum of every value field per group.")

    def var(self, ddof: int = 1, numeric_only: bool = False):
        """The variance of every value field per group.

        Parameters
        ----------
        ddof : int, default 1
            Delta degrees of freedom (pandas' default): the divisor is ``n - ddof``.
        numeric_only : bool, default False
            Aggregate only the number and bool fields.

        Returns
        -------
        PartitionedArray
        """
        return self._each("var", ddof, numeric_only=numeric_only)

    def std(self, ddof: int = 1, numeric_only: bool = False):
        """The standard deviation of every value field per group.

        Parameters
        ----------
        ddof : int, default 1
            Delta degrees of freedom (pandas' default).
        numeric_only : bool, default False
            Aggregate only the number and bool fields.

        Returns
        -------
        PartitionedArray
        """
        return self._each("std", ddof, numeric_only=numeric_only)

    first = _per_field("first", "The first non-missing value (in row order) of every value field per group.")
    last = _per_field("last", "The last non-missing value (in row order) of every value field per group.")

    def nunique(self):
        """The number of distinct values of every value field per group."""
        return self._each("nunique")

    def median(self, numeric_only: bool = False):
        """The exact median of every value field per group (float64, NaN skipped), as pandas'.

        Whole groups are shuffled (a median has no partial state to combine), then each reduce
        partition sorts its rows by (group, value) once.

        Parameters
        ----------
        numeric_only : bool, default False
            Aggregate only the number and bool fields.

        Returns
        -------
        PartitionedArray
        """
        return self._each("median", numeric_only=numeric_only)

    def quantile(self, q: float = 0.5, numeric_only: bool = False):
        """The exact ``q`` quantile of every value field per group (float64, NaN skipped), by
        linear interpolation as pandas' default.

        Parameters
        ----------
        q : float, default 0.5
            One quantile, in [0, 1].
        numeric_only : bool, default False
            Aggregate only the number fields.

        Returns
        -------
        PartitionedArray

        Examples
        --------
        >>> t.groupby("k")["v"].quantile(0.9)
        """
        return self._each("quantile", q=_check_q(q), numeric_only=numeric_only)

    def agg(self, spec=None, /, **named):
        """Several aggregates in one pass, as pandas' ``agg``.

        Parameters
        ----------
        spec : dict, str, callable or list, optional
            ``{field: func or [funcs]}``: output field ``field``, or ``field_func`` per function when a
            field has several (a callable is named by its ``__name__``). A function or list of them:
            each applied to every selected field (named ``field``, or ``field_func`` for a list;
            after ``groupby(...)["f"]`` named by the function alone, as pandas does).
        **named
            ``out=(field, func)`` or ``out=(field, "quantile", q)``: named aggregation; after
            ``groupby(...)["f"]``, ``out=func``. Give ``spec`` or these, not both.

        Functions are ``sum``, ``mean``, ``count``, ``size``, ``min``, ``max``, ``var``, ``std``,
        ``first``, ``last``, ``nunique``, ``median``, ``quantile`` (q 0.5 unless given) and callables:
        a callable gets each group's values of the field (a 1-D ndarray in row order, missing values
        kept) and returns one number, bool or time; it runs on whole groups after a shuffle.

        Returns
        -------
        PartitionedArray

        Examples
        --------
        >>> t.groupby("k").agg(total=("v", "sum"), spread=("v", "std"), p90=("v", "quantile", 0.9))
        >>> t.groupby("k").agg(top=("v", lambda v: np.nanmax(v) - np.nanmin(v)))
        """
        if (spec is None) == (not named):
            raise TypeError("agg: pass either a dict {field: func or [funcs]} or name=(field, func) keywords")
        if named:
            return self._aggregate([self._named(name, how) for name, how in named.items()])
        if isinstance(spec, str) or callable(spec):
            return self._aggregate([Aggregate(f, f, spec) for f in self._values])
        if isinstance(spec, list) and spec:
            if self._single:
                return self._aggregate([Aggregate(_func_name(func), self._values[0], func) for func in spec])
            return self._aggregate([Aggregate(f"{f}_{_func_name(func)}", f, func) for f in self._values
                                    for func in spec])
        if not isinstance(spec, dict) or not spec:
            raise TypeError(f"agg: expected a non-empty dict of field -> func or [funcs], got {spec!r}")
        aggs = []
        for field, funcs in spec.items():
            if isinstance(funcs, str) or callable(funcs):
                aggs.append(Aggregate(field, field, funcs))
            else:
                aggs.extend(Aggregate(f"{field}_{_func_name(func)}", field, func) for func in funcs)
        return self._aggregate(aggs)

    def _named(self, name: str, how) -> Aggregate:
        """The aggregate of ``name=how`` in ``agg``."""
        if self._single and (isinstance(how, str) or callable(how)):
            return Aggregate(name, self._values[0], how)
        if isinstance(how, tuple) and len(how) == 3 and how[1] == "quantile":
            return Aggregate(name, how[0], "quantile", q=_check_q(how[2]))
        if not (isinstance(how, tuple) and len(how) == 2):
            raise TypeError(f"agg: {name}= must be a (field, func) pair or (field, 'quantile', q), got {how!r}")
        return Aggregate(name, how[0], how[1])

    def transform(self, func: str, *args, **kwargs):
        """Each row's group aggregate, aligned with the input, as pandas' ``transform``.

        The aggregate is computed (one row per group) and joined back to the rows by key: the
        result keeps the input's row order and partitions. An aggregate of at most
        ``rd.config.broadcast_bytes`` is broadcast to every partition of the input, which does not
        move; a larger one is joined by ``rd.merge`` and the values shuffled back to their rows.

        Parameters
        ----------
        func : str
            ``sum``, ``mean``, ``count``, ``size``, ``min``, ``max``, ``var``, ``std``, ``first``,
            ``last``, ``nunique``, ``median`` or ``quantile`` (or a callable returning one value per
            group, as in ``agg``).
        *args, **kwargs
            The method's arguments: ``q`` of ``quantile``, ``ddof`` of ``var``/``std``,
            ``numeric_only``.

        Returns
        -------
        PartitionedArray
            One row per input row: a 1-D array after ``groupby(...)["f"]`` and for ``size``, else a
            table of the aggregated fields (keys left out, as pandas). A row whose key is missing
            (``dropna=True``) gets a missing value; as that cannot be known before computing, an
            integer or bool result is float64 when the keys may be missing (float, time or text
            keys), as pandas' result is when one is.

        Examples
        --------
        >>> t.assign(share=t["v"] / t.groupby("k")["v"].transform("sum"))
        """
        grouped = copy.copy(self)
        grouped._sort = False  # the rows are looked up by key: the aggregate's order does not matter
        if func == "size":
            if args or kwargs:
                raise TypeError("transform('size') takes no arguments")
            result, single = grouped.size(), True
        elif callable(func):
            if args or kwargs:
                raise TypeError("transform(callable): pass the function's arguments with functools.partial")
            result, single = grouped.agg(func), self._single
        elif isinstance(func, str) and func in AGGREGATIONS:
            result, single = getattr(grouped, func)(*args, **kwargs), self._single
        else:
            raise ValueError(f"transform: unknown function {func!r}; choose one of: {', '.join(AGGREGATIONS)}"
                             " or a callable")
        return self._transformed(result, single, f"transform({_func_name(func)})")

    def _transformed(self, result, single: bool, detail: str):
        """``result`` (keys, then aggregates) joined back to the rows by key (``group_transform.py``)."""
        rows = self._key_rows()
        keys = self._keys
        if rows.dtype.names != keys:
            rows = rows[list(keys)]  # the plan reads only the keys of the input
        nullable = self._dropna and any(_may_be_missing(rows.dtype[k]) for k in keys)
        local = self._x is self._frame and self._placed_by_keys("transform")  # groups by partition
        return transformed(rows, keys, result, single, nullable, detail, local)

    def _key_rows(self):
        """The key fields, row by row, aligned with the input (its partitions, not a by-array's)."""
        x, by = self._x, self._by
        arrays = list(by) if isinstance(by, (list, tuple)) else [by]
        if all(isinstance(b, str) for b in arrays):
            return x
        from .elementwise import elementwise

        dtype = np.dtype([(k, self._frame.dtype[k]) for k in self._keys])

        def zipped(_, *blocks):
            out = np.empty(len(blocks[0]), dtype)
            for k, block in zip(self._keys, blocks):
                out[k] = block
            return out

        return elementwise(zipped, [x, *arrays], "groupby:keys")

    def apply(self, fn: Callable[[np.ndarray], np.ndarray]):
        """``fn(group)`` for each whole group; the rows it returns, concatenated.

        Parameters
        ----------
        fn : callable
            Takes a group (a structured ndarray of its rows, in row order: the key fields and the
            value fields, or after ``groupby(...)[...]`` the key fields and the selected ones),
            returns an array of rows.

        Returns
        -------
        PartitionedArray
            In key order with ``sort=True``.
        """
        frame, keys, dropna = self._frame, self._keys, self._dropna
        fields = list(keys) + list(self._values) if self._selected else None
        dtype = frame.dtype if fields is None else np.dtype([(f, frame.dtype[f]) for f in fields])
        sample = np.asarray(fn(np.zeros(1, dtype)))
        if sample.ndim == 0:
            raise ValueError("groupby.apply: the function must return an array of rows, not a scalar")

        def run(rows):
            rows = records(rows if fields is None else rows[fields])  # the user's function gets records
            rows = _drop_nan_keys(rows, keys) if dropna else rows
            ids, ngroups, first = hashing.factorize([rows[k] for k in keys])
            order = np.argsort(ids, kind="stable")
            bounds = np.searchsorted(ids[order], np.arange(ngroups + 1))
            groups = [rows[order[bounds[g]:bounds[g + 1]]] for g in _group_order(rows[first], keys, self._sort)]
            out = [np.asarray(fn(g)) for g in groups]
            return np.concatenate(out) if out else np.empty((0,) + sample.shape[1:], sample.dtype)

        return self._grouped(run, run, whole=True, dtype=sample.dtype, trailing=sample.shape[1:], op="apply",
                             reads=None if fields is None else frozenset(fields))

    # -- planning ---------------------------------------------------------------------------------
    def _aggregate(self, aggs: list[Aggregate], allow_none: bool = False):
        """The plan of ``aggs``; with ``allow_none`` and no aggregate (``numeric_only`` left no
        field), the groups' keys alone, as pandas gives."""
        if not aggs and not allow_none:
            raise ValueError("groupby: no aggregation asked for")
        fields = self._frame.dtype.fields
        for agg in aggs:
            _check(agg, fields, self._keys)
        results = [_result_dtype(a, fields[a.field][0] if a.field else None) for a in aggs]
        kinds = [_kinds(a, dtype) for a, dtype in zip(aggs, results)]
        states = list(dict.fromkeys((kind, agg.field) for agg, ks in zip(aggs, kinds) for kind in ks))
        keys, dropna = self._keys, self._dropna
        key_dtype = [(k, fields[k][0]) for k in keys]
        out_dtype = np.dtype(key_dtype + [(a.name, dtype) for a, dtype in zip(aggs, results)])
        whole = any(callable(a.func) or a.func in _WHOLE for a in aggs)
        state_dtype = np.dtype(key_dtype + [(f"_{i}", _state_dtype(kind, fields[f][0] if f else None))
                                            for i, (kind, f) in enumerate(states)])

        def reduce_rows(rows):  # whole groups: every state straight from the rows
            rows = _drop_nan_keys(rows, keys) if dropna else rows
            ids, ngroups, first = hashing.factorize([rows[k] for k in keys])
            return _finish(aggs, kinds, _states(states, rows, ids, ngroups), rows[first], out_dtype, keys,
                           self._sort)

        def partial(rows):  # map-side combine: one row of states per group
            rows = _drop_nan_keys(rows, keys) if dropna else rows
            ids, ngroups, first = _combine_groups([rows[k] for k in keys])
            columns = {k: rows[k][first] for k in keys}
            for i, values in enumerate(_states(states, rows, ids, ngroups).values()):
                columns[f"_{i}"] = values
            return Table(state_dtype, columns).with_dtype(state_dtype)

        def merge(parts):  # the states of each group's partial rows merged, then finished
            ids, ngroups, first = hashing.factorize([parts[k] for k in keys])
            values = _merge_states(states, parts, ids, ngroups)
            return _finish(aggs, kinds, values, parts[first], out_dtype, keys, self._sort)

        reads = frozenset(keys) | {a.field for a in aggs if a.field}
        if whole:
            return self._grouped(reduce_rows, reduce_rows, whole=True, dtype=out_dtype, op="agg", reads=reads)
        return self._grouped(reduce_rows, merge, whole=False, dtype=out_dtype, op="agg", partial=partial,
                             partial_dtype=state_dtype, reads=reads)

    def _placed_by_keys(self, op: str) -> bool:
        """Whether each group's rows are in one partition of the frame already (hash- or range-
        partitioned by the keys), so ``op`` runs partition by partition."""
        frame, keys = self._frame, self._keys
        key = keys[0] if len(keys) == 1 else keys
        placed = frame.partitioner
        by_hash = placed == HashPartitioner(frame.npartitions, key) and not (self._sort and op == "apply")
        by_range = (isinstance(placed, RangePartitioner) and placed.key == key and not any(placed.descending)
                    and not placed.na_first and not placed.split_ties)
        return by_hash or by_range

    def _grouped(self, whole_fn, reduce_fn, whole: bool, dtype, op: str, trailing=(), partial=None,
                 partial_dtype=None, reads: frozenset | None = None):
        """The plan: ``whole_fn`` per partition when the frame is already partitioned by the keys;
        otherwise ``partial`` (or the key-relevant rows) per partition, a shuffle by key, and
        ``reduce_fn`` per output partition. ``reads``: the frame's fields they read (None: all)."""

        def reading(used):
            return [reads]
        from .core import PartitionedArray

        frame, keys = self._frame, self._keys
        key = keys[0] if len(keys) == 1 else keys
        n = frame.npartitions
        placed = frame.partitioner
        label = f"groupby.{op}"
        detail = ", ".join(keys)
        if self._placed_by_keys(op):
            node = frame._node
            result = PartitionedArray(Node(label, whole_fn, [OneToOne(node)], n, dtype, trailing, None,
                                           partitioner=placed, detail=f"{detail}, already partitioned by key",
                                           uses=reading))
            if self._sort and isinstance(placed, HashPartitioner) and op != "apply":
                from .wide import range_sorted

                return range_sorted(result, key, split_ties=False)
            return result
        frame = coalesced(frame)
        n = frame.npartitions
        if whole:
            source = frame if not self._dropna else map_blocks(
                frame, lambda b: _drop_nan_keys(b, keys), "groupby:dropna", dtype=frame.dtype, trailing=(),
                same_rows=False, uses=lambda used: [None if used is None else used | frozenset(keys)])
        else:
            source = map_blocks(frame, partial, "groupby:combine", dtype=partial_dtype, trailing=(), same_rows=False,
                                uses=reading)
        partitioner: RangePartitioner | HashPartitioner
        if self._sort:  # boundaries from keys read in place when the frame is, else from what is shuffled
            sampled = frame._node if frame._node.cheap else source._node
            partitioner = RangePartitioner.sampled(sampled, key, n, split_ties=False, evaluate=value_of,
                                                   context=current_context())
        else:
            partitioner = HashPartitioner(n, key)
        return shuffled(source, partitioner, label, lambda pieces: reduce_fn(np.concatenate(pieces)),
                        detail=detail, dtype=dtype, trailing=trailing, uses=reading if whole else None)


def _frame(x, by):
    """``(structured array, key field names)``: ``x`` itself when ``by`` names its fields, else
    the key arrays and ``x``'s fields (or its values, as ``value``) zipped row by row."""
    from .core import PartitionedArray
    from .elementwise import elementwise

    if x.ndim != 1:
        raise ValueError(f"groupby: needs a 1-D array (structured or not), got {x.ndim}-D")
    names = x.dtype.names
    if isinstance(by, (str, PartitionedArray)):
        by = [by]
    by = list(by) if isinstance(by, (list, tuple)) else by
    if not isinstance(by, list) or not by:
        raise TypeError("groupby: by must be a field name, a list of them, or aligned 1-D PartitionedArrays; "
                        f"got {by!r}")
    if all(isinstance(b, str) for b in by):
        from .wide import check_key

        check_key(x, by, "groupby")
        if len(set(by)) != len(by):
            raise ValueError(f"groupby: a key field is repeated in {by}")
        return x, tuple(by)
    if not all(isinstance(b, PartitionedArray) for b in by):
        raise TypeError("groupby: by mixes field names and arrays; pass one kind")
    for b in by:
        if b.ndim != 1 or b.dtype.names:
            raise ValueError(f"groupby: a key array must be 1-D and not structured, got {b.dtype} {b.shape}")
    keys = ("key",) if len(by) == 1 else tuple(f"key_{i}" for i in range(len(by)))
    value_fields = [(f, x.dtype.fields[f][0]) for f in names] if names else [("value", x.dtype)]
    clash = set(keys) & {f for f, _ in value_fields}
    if clash:
        raise ValueError(f"groupby: the array has a field named like a key ({', '.join(sorted(clash))}); "
                         "rename it or group by field names")
    dtype = np.dtype([(k, b.dtype) for k, b in zip(keys, by)] + value_fields)

    def zipped(*blocks):
        out = np.empty(len(blocks[-1]), dtype)
        for k, block in zip(keys, blocks):
            out[k] = block
        for f, _ in value_fields:
            out[f] = blocks[-1][f] if names else blocks[-1]
        return out

    return elementwise(zipped, [*by, x], "groupby:keys"), keys


def _check(agg: Aggregate, fields, keys) -> None:
    if not callable(agg.func) and agg.func not in AGGREGATIONS:
        raise ValueError(f"groupby: unknown aggregation {agg.func!r}; choose one of: {', '.join(AGGREGATIONS)}"
                         " or a callable")
    if agg.func == "size":
        return
    if agg.field not in fields or agg.field in keys:
        have = ", ".join(f for f in fields if f not in keys)
        raise KeyError(f"groupby: no value field {agg.field!r} to aggregate; the value fields are: {have}")
    dtype = fields[agg.field][0]
    if callable(agg.func):
        if dtype.kind not in "biufmMSU" and not is_text(dtype):
            raise TypeError(f"groupby: field {agg.field!r} has dtype {dtype}, which cannot be aggregated")
        return
    numbers = "iuf" if agg.func == "quantile" else "biuf"  # pandas' quantile refuses bool
    if dtype.kind not in numbers and agg.func in _NUMERIC:
        raise TypeError(f"groupby: {agg.func} of field {agg.field!r} needs numbers, not {_describe(dtype)}"
                        f"{_times_hint([dtype])}")
    if dtype.kind not in "biufmMSU" and not is_text(dtype):
        raise TypeError(f"groupby: field {agg.field!r} has dtype {dtype}, which cannot be aggregated")


def _check_q(q) -> float:
    """``q`` as a float in [0, 1] (one quantile: a list of them is a ValueError)."""
    if isinstance(q, (bool, np.bool_)) or not isinstance(q, (int, float, np.integer, np.floating)):
        raise ValueError(f"groupby.quantile: q must be one number in [0, 1], got {q!r}")
    if not 0 <= q <= 1:
        raise ValueError(f"groupby.quantile: q must be in [0, 1], got {q!r}")
    return float(q)


def _describe(dtype: np.dtype) -> str:
    return "text" if is_text(dtype) else str(dtype)


def _times_hint(dtypes) -> str:
    """A note for times in an arithmetic aggregate: pandas averages times as float64 ticks in row
    order, which a map-side combine cannot reproduce exactly, so rdarray refuses them."""
    if not any(d.kind in "mM" for d in dtypes):
        return ""
    return "; arithmetic aggregates of times (mean, median) are not computed"


def _func_name(func) -> str:
    """How pandas names a function in output fields: its name, a callable's ``__name__``."""
    return func if isinstance(func, str) else getattr(func, "__name__", repr(func))


def _may_be_missing(dtype: np.dtype) -> bool:
    """Whether a key of ``dtype`` can be missing (NaN, NaT, missing text)."""
    return dtype.kind in "fcmM" or is_text(dtype)


def _sample(dtype: np.dtype):
    """One value of ``dtype`` as a user's function gets values: a 1-D ndarray (text as StringDType)."""
    if is_text(dtype):
        return np.array([""], TEXT)
    return np.zeros(1, dtype)


def _kinds(agg: Aggregate, dtype: np.dtype) -> tuple:
    """The states ``agg`` is finished from (``dtype``: its result's): names, or tuples for the
    aggregates of whole groups (a quantile's ``q``, a callable and its result dtype)."""
    if callable(agg.func):
        return (("call", agg.func, dtype),)
    if agg.func == "quantile":
        return (("quantile", agg.q),)
    return _STATES[agg.func]


def _result_dtype(agg: Aggregate, dtype) -> np.dtype:
    func = agg.func
    if callable(func):
        return call_dtype(func, dtype, _sample(dtype))
    if func in ("count", "size", "nunique"):
        return np.dtype(np.int64)
    if func in ("mean", "var", "std", "median", "quantile"):
        return np.dtype(np.float64)
    if func == "sum":
        return _sum_dtype(dtype) if dtype.kind != "f" else dtype
    return dtype


def _sum_dtype(dtype) -> np.dtype:
    """Sums of integers as NumPy sums them: int64, uint64 for unsigned; floats in float64."""
    return np.dtype({"u": np.uint64, "f": np.float64}.get(dtype.kind, np.int64))


def _state_dtype(kind, dtype) -> np.dtype:
    if isinstance(kind, tuple):  # a quantile (float64) or a callable's (its result dtype)
        return kind[2] if kind[0] == "call" else np.dtype(np.float64)
    if kind in ("count", "size", "nunique"):
        return np.dtype(np.int64)
    if kind == "m2":
        return np.dtype(np.float64)
    if kind == "sum":
        return _sum_dtype(dtype)
    return dtype


#: rows whose keys are looked at before a map task decides whether combining them pays
PROBE_ROWS = 4096


def _combine_groups(columns: list[np.ndarray]) -> tuple[np.ndarray, int, np.ndarray]:
    """``factorize(columns)``, unless the first rows show keys that are mostly distinct: then
    combining would cost a table as large as the partition and save little, so each row is its
    own group (its states are its values; the reduce side merges them the same way)."""
    n = len(columns[0])
    probe = min(n, PROBE_ROWS)
    if probe and hashing.factorize([c[:probe] for c in columns])[1] > probe // 2:
        rows = np.arange(n, dtype=np.int64)
        return rows, n, rows
    return hashing.factorize(columns)


# -- the states of one partition's groups -----------------------------------------------------------
def _states(states, rows: np.ndarray, ids: np.ndarray, ngroups: int) -> dict:
    """Every state of every group, by ``(kind, field)``; a float field's sum and count (and m2)
    come from one pass of the moments kernel."""
    out = {}
    for kind, f in states:
        values = rows[f] if f else None
        if kind in ("sum", "count", "m2") and values is not None and values.dtype.kind == "f":
            if (kind, f) not in out:
                count, total, m2 = hashing.group_moments(values, ids, ngroups, m2=("m2", f) in states)
                out.update({("count", f): count, ("sum", f): total, ("m2", f): m2})
        else:
            out[(kind, f)] = _state(kind, values, ids, ngroups)
    return {s: out[s] for s in states}


def _state(kind, values, ids: np.ndarray, ngroups: int) -> np.ndarray:
    """State ``kind`` of every group, from its rows ``values`` (None for size)."""
    if isinstance(kind, tuple):  # of whole groups
        if kind[0] == "call":
            return group_call(kind[1], values, ids, ngroups, kind[2])
        return group_quantile(values, ids, ngroups, kind[1] if kind[0] == "quantile" else 0.5,
                              median=kind[0] == "median")
    if kind == "size":
        return np.bincount(ids, minlength=ngroups).astype(np.int64)
    if kind == "nunique":
        keep = ~is_nan(values)
        if not keep.all():
            values, ids = values[keep], ids[keep]
        pair_ids, npairs, first = hashing.factorize([ids, values])
        return np.bincount(ids[first], minlength=ngroups).astype(np.int64)
    if kind == "count":
        if values.dtype.kind == "f":
            return hashing.group_count(values, ids, ngroups)
        missing = is_nan(values)
        return np.bincount(ids[~missing] if missing.any() else ids, minlength=ngroups).astype(np.int64)
    if kind == "sum":
        if values.dtype.kind == "f":
            return hashing.group_moments(values, ids, ngroups)[1]
        return _int_sum(values, ids, ngroups)
    if kind == "m2":
        return hashing.group_moments(values, ids, ngroups, m2=True)[2]
    return _pick(kind, values, ids, ngroups)


def _int_sum(values, ids, ngroups) -> np.ndarray:
    """Integer sums in 64 bits, wrapping as NumPy's do (uint64 by the same two's-complement sum)."""
    if values.dtype.kind == "u" and values.dtype.itemsize == 8:
        return hashing.group_sum(values.view(np.int64), ids, ngroups).view(np.uint64)
    out = hashing.group_sum(values, ids, ngroups)
    return out.astype(np.uint64) if values.dtype.kind == "u" else out


def _pick(kind: str, values, ids, ngroups) -> np.ndarray:
    """min, max, first or last of each group, skipping NaN and NaT (missing when none is left)."""
    if kind in ("first", "last"):
        missing = is_nan(values)
        rows = hashing.group_first_row(ids, ngroups, ~missing if missing.any() else None, last=kind == "last")
        return take(values, rows)
    if values.dtype.kind in "biuf" and not (values.dtype.kind == "u" and values.dtype.itemsize == 8):
        extreme = hashing.group_max if kind == "max" else hashing.group_min  # no group is empty
        return extreme(values, ids, ngroups).astype(values.dtype)
    missing = is_nan(values)
    if values.dtype.kind in "mM":  # times through the integer kernel, as their int64 ticks
        kept = ~missing
        found, count = hashing.group_extreme(values[kept].view(np.int64), ids[kept], ngroups, kind == "max")
        out = found.view(values.dtype)
        out[count == 0] = missing_value(values.dtype)
        return out
    if missing.any():
        values, ids = values[~missing], ids[~missing]
    ordered = values.to_numpy() if isinstance(values, Text) else values
    order = np.lexsort((ordered, ids))  # by group, then value: a group's min first, max last
    rows = hashing.group_first_row(ids[order], ngroups, last=kind == "max")
    if not len(order):  # every value missing
        return take(values, rows)
    return take(values, np.where(rows >= 0, order[np.maximum(rows, 0)], -1))


# -- merging partial states -------------------------------------------------------------------------
def _merge_states(states, parts: np.ndarray, ids: np.ndarray, ngroups: int) -> dict:
    """Each group's states from its partial rows (the map-side states, in map-partition order)."""
    column = {s: parts[f"_{i}"] for i, s in enumerate(states)}
    merged = {}
    for (kind, f), values in column.items():
        if kind in ("count", "size"):
            merged[(kind, f)] = hashing.group_sum(values, ids, ngroups)
        elif kind == "sum" and values.dtype.kind == "f":
            merged[(kind, f)] = np.bincount(ids, weights=values, minlength=ngroups)  # inf - inf stays NaN
        elif kind == "sum":
            merged[(kind, f)] = _int_sum(values, ids, ngroups)
        elif kind == "m2":
            count, total = column[("count", f)], column[("sum", f)].astype(np.float64)
            mean = total / np.maximum(count, 1)
            n = merged.get(("count", f))
            if n is None:
                n = hashing.group_sum(count, ids, ngroups)
            group_mean = np.bincount(ids, weights=total, minlength=ngroups) / np.maximum(n, 1)
            spread = count * (mean - group_mean[ids]) ** 2
            merged[(kind, f)] = np.bincount(ids, weights=values + spread, minlength=ngroups)
        else:  # min, max of the partial extremes; first, last of the partial firsts and lasts
            merged[(kind, f)] = _pick(kind, values, ids, ngroups)
    return merged


# -- finishing ---------------------------------------------------------------------------------------
def _finish(aggs, kinds, states: dict, key_rows, out_dtype: np.dtype, keys, sort: bool) -> Table:
    """The output rows, field by field: keys, then each aggregate from its group's states (``kinds``:
    each aggregate's, as ``_kinds`` gives them), in key order when ``sort``."""
    columns = {k: key_rows[k] for k in keys}
    with np.errstate(invalid="ignore", divide="ignore"):
        for agg, ks in zip(aggs, kinds):
            columns[agg.name] = _final(agg, ks, states)
    out = Table(out_dtype, columns).with_dtype(out_dtype)
    if sort and len(out) > 1:
        out = out.take(sort_order(out, list(keys)))
    return out


def _final(agg: Aggregate, kinds: tuple, states: dict) -> np.ndarray:
    f = agg.field
    if agg.func in ("mean", "var", "std"):
        count, total = states[("count", f)], states[("sum", f)]
        if agg.func == "mean":
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)
        var = np.where(count - agg.ddof > 0, states[("m2", f)] / np.maximum(count - agg.ddof, 1), np.nan)
        return np.sqrt(var) if agg.func == "std" else var
    return states[(kinds[0], f)]


def _drop_nan_keys(rows: np.ndarray, keys) -> np.ndarray:
    """Rows whose keys are all present (pandas' dropna drops a row with any NaN or NaT key)."""
    missing = None
    for k in keys:
        if rows.dtype[k].kind in "fcmM" or is_text(rows.dtype[k]):
            m = is_nan(rows[k])
            missing = m if missing is None else missing | m
    return rows if missing is None or not missing.any() else rows[~missing]


def _group_order(key_rows: np.ndarray, keys, sort: bool) -> np.ndarray:
    """Group ids in key order (``sort``) or in order of first appearance."""
    if not sort:
        return np.arange(len(key_rows))
    return sort_order(key_rows, tuple(keys))
