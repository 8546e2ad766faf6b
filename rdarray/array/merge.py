"""``rd.merge``: pandas-style joins of structured arrays.

Each task joins one partition of the left side with one of the right: both sides' keys are
numbered by one factorize (a hash table over both), the join kernel emits the (left row, right
row) pairs, and the output fields are gathered from the pairs field by field. Which partitions
meet is the plan: a small side (under ``rd.config.broadcast_bytes``) is broadcast whole to every
partition of the other, which does not move; sides already hash-partitioned on their keys with
one partition count are joined partition by partition; otherwise both are hash-partitioned on
their keys (a side already placed so is not shuffled again).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..config import config
from ..dtypes import nullable, take
from ..graph.lineage import VALUE, AllToOne, Broadcast, Node, OneToOne
from ..shuffle import hashing
from ..shuffle.partitioners import HashPartitioner
from .wide import coalesced

HOWS = ("inner", "left", "right", "outer", "semi", "anti")


class Field(NamedTuple):
    """One output field: ``name`` from ``side``'s ``source`` field (both sides' for a shared key)."""

    name: str
    dtype: np.dtype
    side: str  # "left", "right" or "key"
    source: str | tuple[str, str]


def merge(left, right, on=None, left_on=None, right_on=None, how: str = "inner", suffixes=("_x", "_y")):
    """Rows of ``left`` and ``right`` joined where their keys are equal, as ``pandas.merge``.

    Parameters
    ----------
    left, right : PartitionedArray
        1-D structured arrays.
    on : str or list of str, optional
        Key fields of both sides; by default the fields they share.
    left_on, right_on : str or list of str, optional
        Key fields of each side, when their names differ.
    how : {"inner", "left", "right", "outer", "semi", "anti"}
        pandas' joins, and ``semi``/``anti``: the left rows with (without) a match, left's fields.
    suffixes : (str, str), default ("_x", "_y")
        Appended to the non-key fields both sides have.

    Returns
    -------
    PartitionedArray

    Examples
    --------
    >>> rd.merge(orders, customers, on="customer_id", how="left")
    """
    from .core import PartitionedArray

    for name, side in (("left", left), ("right", right)):
        if not isinstance(side, PartitionedArray) or side.ndim != 1 or not side.dtype.names:
            raise TypeError(f"merge: {name} must be a 1-D structured PartitionedArray")
    if how not in HOWS:
        raise ValueError(f"merge: how must be one of {', '.join(HOWS)}; got {how!r}")
    left_keys, right_keys = _keys(left.dtype, right.dtype, on, left_on, right_on)
    common = [_common_dtype(left.dtype[lk], right.dtype[rk], lk, rk) for lk, rk in zip(left_keys, right_keys)]
    fields = _layout(left.dtype, right.dtype, left_keys, right_keys, common, how, suffixes)
    out_dtype = left.dtype if how in ("semi", "anti") else np.dtype([(f.name, f.dtype) for f in fields])

    join = Join(left_keys, right_keys, common, how, fields, out_dtype)
    return _plan(left, right, left_keys, right_keys, common, how, join, out_dtype)


# -- planning -----------------------------------------------------------------------------------
def _plan(left, right, left_keys, right_keys, common, how, join, out_dtype):
    from .core import PartitionedArray

    lnode, rnode = left._node, right._node
    small = config.broadcast_bytes
    recast = False

    def fits(x) -> bool:
        return x.nbytes is not None and x.nbytes <= small

    broadcast_right = how in ("inner", "left", "semi", "anti") and fits(right)
    broadcast_left = how in ("inner", "right") and fits(left)
    if broadcast_right and broadcast_left:
        broadcast_right = right.nbytes <= left.nbytes
        broadcast_left = not broadcast_right
    func = join
    if broadcast_right:
        deps = [OneToOne(lnode), Broadcast(_collect(rnode, join, "right"))]
        n, plan, func = lnode.npartitions, "broadcast right", join.probe_left
    elif broadcast_left:
        deps = [Broadcast(_collect(lnode, join, "left")), OneToOne(rnode)]
        n, plan, func = rnode.npartitions, "broadcast left", join.probe_right
    else:
        n = max(left.npartitions, right.npartitions)
        lkey, rkey = _key_spec(left_keys), _key_spec(right_keys)
        placed = (left.partitioner == HashPartitioner(n, lkey) and right.partitioner == HashPartitioner(n, rkey)
                  and all(_hash_alike(left.dtype[a], right.dtype[b]) for a, b in zip(left_keys, right_keys)))
        if placed:
            plan = "co-partitioned, no shuffle"
        else:
            if left.partitioner != HashPartitioner(n, lkey) and right.partitioner != HashPartitioner(n, rkey):
                n = max(coalesced(left).npartitions, coalesced(right).npartitions)  # as their sizes call for
            cast = _hashable(left, left_keys, right, right_keys, common)
            recast = cast is not left  # rows placed by the cast key's hash: no partitioner to claim
            left = cast
            right = _hashable(right, right_keys, left, left_keys, common)
            moved = [name for name, x, key in (("left", left, lkey), ("right", right, rkey))
                     if x.partitioner != HashPartitioner(n, key)]
            left, right = left.partition_by(lkey, n), right.partition_by(rkey, n)
            plan = f"shuffle {' and '.join(moved)}"
        deps = [OneToOne(left._node), OneToOne(right._node)]
    keeps_left = how in ("semi", "anti") and plan != "broadcast left" and not recast
    partitioner = left.partitioner if keeps_left else None
    return PartitionedArray(Node("merge", func, deps, n, out_dtype, (), None, partitioner=partitioner,
                                 detail=f"{how}, {plan}"))


def _collect(node: Node, join: Join, side: str) -> Node:
    """A value node holding all of ``node``'s rows and a hash index of their keys, built once and
    broadcast to every task of the join."""
    return Node("collect", lambda blocks: join.build(np.concatenate(blocks), side), [AllToOne(node)], 1, VALUE,
                (), None, detail="hash index of the broadcast side")


def _key_spec(keys: tuple):
    return keys[0] if len(keys) == 1 else keys


def _hash_alike(a: np.dtype, b: np.dtype) -> bool:
    """Equal keys of these dtypes hash alike: integers of any width and bool, floats of any width,
    strings or bytes of any width, times of one unit."""
    if a.kind in "biu" and b.kind in "biu":
        return True
    return a.kind == b.kind and (a.kind in "fSU" or a == b)


def _hashable(x, keys, other, other_keys, common):
    """``x`` with its key fields cast to the common key dtypes where the two sides' keys would
    not hash alike (an integer key joined with a float one)."""
    names = [k for k, ok, c in zip(keys, other_keys, common) if not _hash_alike(x.dtype[k], other.dtype[ok])]
    if not names:
        return x
    cast = dict(zip(keys, common))
    dtype = np.dtype([(f, cast[f] if f in names else x.dtype[f]) for f in x.dtype.names])
    return x.astype(dtype)


# -- the layout of the result -------------------------------------------------------------------
def _keys(ldt: np.dtype, rdt: np.dtype, on, left_on, right_on) -> tuple[tuple, tuple]:
    if on is not None and (left_on is not None or right_on is not None):
        raise ValueError("merge: pass on= or left_on=/right_on=, not both")
    if on is None and left_on is None and right_on is None:
        on = [f for f in ldt.names or () if f in (rdt.names or ())]
        if not on:
            raise ValueError("merge: no common fields to join on; pass on= or left_on=/right_on=")
    if on is not None:
        left_on = right_on = on
    elif left_on is None or right_on is None:
        raise ValueError("merge: left_on and right_on go together")
    lk = (left_on,) if isinstance(left_on, str) else tuple(left_on)
    rk = (right_on,) if isinstance(right_on, str) else tuple(right_on)
    if len(lk) != len(rk) or not lk:
        raise ValueError(f"merge: left_on has {len(lk)} fields and right_on {len(rk)}; they must match")
    for side, keys, dt in (("left", lk, ldt), ("right", rk, rdt)):
        names = dt.names or ()
        for k in keys:
            if k not in names:
                raise KeyError(f"merge: field {k!r} not in {side}; its fields are: {', '.join(names)}")
    return lk, rk


def _common_dtype(a: np.dtype, b: np.dtype, lk: str, rk: str) -> np.dtype:
    """The dtype both keys are compared in (numbers with numbers, else one kind); TypeError when
    they cannot be compared."""
    if (a.kind in "iuf" and b.kind in "iuf") or (a.kind == b.kind and a.kind in "bmMSU"):
        return np.result_type(a, b)
    raise TypeError(f"merge: key {lk!r} ({a}) cannot be compared with key {rk!r} ({b})")


def _layout(ldt, rdt, left_keys, right_keys, common, how, suffixes) -> list[Field]:
    shared = {lk: c for lk, rk, c in zip(left_keys, right_keys, common) if lk == rk}
    left_missing, right_missing = how in ("right", "outer"), how in ("left", "outer")
    right_fields = [f for f in rdt.names if f not in shared]
    clash = {f for f in ldt.names if f not in shared} & set(right_fields)
    lsuffix, rsuffix = (suffix or "" for suffix in suffixes)  # None: no suffix, as in pandas
    fields = []
    for f in ldt.names:
        if f in shared:
            fields.append(Field(f, shared[f], "key", (f, f)))
        else:
            fields.append(Field(f + lsuffix if f in clash else f,
                                nullable(ldt[f]) if left_missing else ldt[f], "left", f))
    for f in right_fields:
        fields.append(Field(f + rsuffix if f in clash else f,
                            nullable(rdt[f]) if right_missing else rdt[f], "right", f))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"merge: the suffixes {suffixes} leave repeated field names: {names}")
    return fields


# -- one task -----------------------------------------------------------------------------------
class Join:
    """The join of one left partition with one right partition; the keys of both are numbered
    by one hash table, built either per task or once for a broadcast side."""

    def __init__(self, left_keys, right_keys, common, how, fields, out_dtype):
        self.keys = {"left": left_keys, "right": right_keys}
        self.common, self.how, self.fields, self.out_dtype = common, how, fields, out_dtype

    def columns(self, block: np.ndarray, side: str) -> list[np.ndarray]:
        """``side``'s key columns of ``block``, in the dtypes both sides are compared in."""
        return [block[k].astype(c, copy=False) for k, c in zip(self.keys[side], self.common)]

    def __call__(self, lb: np.ndarray, rb: np.ndarray) -> np.ndarray:
        columns = [np.concatenate([a, b]) for a, b in zip(self.columns(lb, "left"), self.columns(rb, "right"))]
        ids, ngroups, _ = hashing.factorize(columns)
        del columns  # each temporary goes before the next is made: a task's working memory counts under a limit
        lid, rid = ids[:len(lb)], ids[len(lb):]
        if self.how in ("semi", "anti"):
            return self.filter(lb, np.bincount(rid, minlength=ngroups).astype(bool)[lid])
        pairs = hashing.join_pairs(lid, rid, ngroups, self.how)
        del ids, lid, rid
        return self.assemble(lb, rb, *pairs)

    def build(self, rows: np.ndarray, side: str):
        """A broadcast side, prepared once: its rows, a hash index of its keys, and its rows by
        group with one more, empty, group for the keys it lacks."""
        index = hashing.HashIndex(self.columns(rows, side))
        start, order = hashing.group_rows(index.ids, index.ngroups)
        return rows, index, (np.append(start, start[-1]), order)

    def probe_left(self, lb: np.ndarray, built) -> np.ndarray:
        rb, index, groups = built
        lid = index.lookup(self.columns(lb, "left"))
        lid[lid < 0] = index.ngroups
        if self.how in ("semi", "anti"):
            return self.filter(lb, lid < index.ngroups)
        return self.assemble(lb, rb, *hashing.join_pairs(lid, None, index.ngroups + 1, self.how, groups))

    def probe_right(self, built, rb: np.ndarray) -> np.ndarray:
        lb, index, _ = built
        rid = index.lookup(self.columns(rb, "right"))
        rid[rid < 0] = index.ngroups
        return self.assemble(lb, rb, *hashing.join_pairs(index.ids, rid, index.ngroups + 1, self.how))

    def filter(self, lb: np.ndarray, matched: np.ndarray) -> np.ndarray:
        """A semi or anti join: left's rows with (without) a match, in left's dtype."""
        kept = lb[matched if self.how == "semi" else ~matched]
        return kept.astype(self.out_dtype, copy=False)  # the keys may have been cast to hash alike

    def assemble(self, lb, rb, lrows, rrows) -> np.ndarray:
        """The output rows of (left row, right row) pairs, -1 for a missing side."""
        out = np.empty(len(lrows), self.out_dtype)
        for f in self.fields:
            if f.side == "key":
                lvals = take(lb[f.source[0]], lrows, f.dtype)
                missing = lrows < 0
                if missing.any():
                    lvals[missing] = rb[f.source[1]][rrows[missing]]
                out[f.name] = lvals
            else:
                block, rows = (lb, lrows) if f.side == "left" else (rb, rrows)
                out[f.name] = take(block[f.source], rows, f.dtype)
        return out
