"""``rd.merge``: pandas-style joins of structured arrays.

Each task joins one partition of the left side with one of the right: both sides' keys are
numbered by one factorize (a hash table over both), the join kernel emits the (left row, right
row) pairs, and the output fields are gathered from the pairs field by field. Which partitions
meet is the plan: a small side (under ``rd.config.broadcast_bytes``) is broadcast whole to every
partition of the other, which does not move; sides already hash-partitioned on their keys with
one partition count are joined partition by partition; otherwise both are hash-partitioned on
their keys (a side already placed so is not shuffled again). A side that could be broadcast but
whose size is unknown until computed (after a filter or a groupby) leaves the choice to the run:
it is measured once its stage has run, and broadcast if small (adaptive planning, as Spark's).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..config import config
from ..dtypes import mixes_zones, nullable, take, with_zone, zone, zoned_name
from ..graph.lineage import (
    VALUE,
    AllToOne,
    Broadcast,
    Choice,
    Decision,
    Node,
    OneToOne,
    RangeDependency,
    Undecided,
    size_text,
)
from ..shuffle import hashing
from ..shuffle.partitioners import HashPartitioner
from ..table import Table
from ..text import FIELD, is_text
from .wide import coalesced

HOWS = ("inner", "left", "right", "outer", "semi", "anti")
#: whether a side of unknown size is measured and broadcast if small (off, as before adaptive
#: joins: never broadcast; ``python -m benchmarks.adaptive_join`` times both)
ADAPTIVE = True


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
    out = _plan(left, right, left_keys, right_keys, common, how, join, out_dtype)
    out._node.uses = _uses(out._node, join, left._node, right._node)
    return out


def _uses(node: Node, join: Join, left: Node, right: Node):
    """``Node.uses`` of the merge node: each dependency reads one side (through its collected,
    shuffled or spread partitions), and of it the fields ``join.reads`` names. Found when asked,
    as a decision changes the dependencies."""
    def sides(parent: Node) -> set[str]:
        found: set[str] = set()
        stack, seen = [parent], set()
        while stack:
            n = stack.pop()
            if n.id in seen:
                continue
            seen.add(n.id)
            if n is left or n is right:
                found |= {"left"} if n is left else set()
                found |= {"right"} if n is right else set()
                continue
            stack.extend(n.parents)
        return found

    def uses(used):
        out: list[frozenset | None] = []
        for dep in node.dependencies:
            reads = [join.reads(side, used) for side in sorted(sides(dep.parent))]
            out.append(None if not reads or any(r is None for r in reads) else frozenset().union(*reads))
        return out

    return uses


# -- planning -----------------------------------------------------------------------------------
def _plan(left, right, left_keys, right_keys, common, how, join, out_dtype):
    """The merge node. A side may be broadcast (right for inner, left, semi and anti joins; left
    for inner and right joins) when it is at most ``rd.config.broadcast_bytes``:

    - a side known to be that small is broadcast (the smaller, when both are), at once, unless the
      other side of an inner join has a size unknown until computed: then it is measured, and
      the smaller of the two is broadcast;
    - otherwise, sides already hash-partitioned alike are joined partition by partition;
    - otherwise, when a side that may be broadcast has a size unknown until computed, it is
      measured, and broadcast if small enough, else both sides are shuffled;
    - otherwise both sides are shuffled.

    A plan decided by measuring is the node's :class:`Decision`: every alternative is built here
    and makes the same number of partitions (the probe side of a broadcast gets empty partitions
    after its own when it has fewer), so what later operations see of the node does not change.
    """
    from .core import PartitionedArray

    small = config.broadcast_bytes
    may = [name for name, can in (("right", how in ("inner", "left", "semi", "anti")),
                                  ("left", how in ("inner", "right"))) if can]
    sides = {"left": left, "right": right}
    known = [name for name in may if sides[name].nbytes is not None and sides[name].nbytes <= small]
    unknown = [name for name in may if sides[name].nbytes is None] if small and ADAPTIVE else []
    if known:
        side = min(known, key=lambda name: sides[name].nbytes)  # right first on a tie
        if not unknown:
            n = (left if side == "right" else right).npartitions
            chosen = _broadcast(left, right, side, join, n, how)
            return PartitionedArray(Node("merge", chosen.func, chosen.dependencies, n, out_dtype, (), None,
                                         partitioner=left.partitioner if how in ("semi", "anti") else None,
                                         detail=chosen.detail))
        # an inner join whose other side may prove smaller still: measure it, broadcast the smaller
        other, known_bytes = unknown[0], sides[side].nbytes
        n = max(left.npartitions, right.npartitions)
        choices = {f"broadcast {name}": _broadcast(left, right, name, join, n, how) for name in (side, other)}

        def smaller(sizes: dict) -> str:
            measured = sizes[other][1]
            wins = measured < known_bytes or (measured == known_bytes and other == "right")
            return f"broadcast {other if wins else side}"

        question = f"broadcast {other} if smaller than {side} ({size_text(known_bytes)}), else broadcast {side}"
        decision = Decision({other: sides[other]._node}, smaller, choices, question)
        return PartitionedArray(Node("merge", _undecided, [Undecided(left._node), Undecided(right._node)], n,
                                     out_dtype, (), None, detail=f"{how}, adaptive", decision=decision))
    lkey, rkey = _key_spec(left_keys), _key_spec(right_keys)
    n = max(left.npartitions, right.npartitions)
    if (left.partitioner == HashPartitioner(n, lkey) and right.partitioner == HashPartitioner(n, rkey)
            and all(_hash_alike(left.dtype[a], right.dtype[b]) for a, b in zip(left_keys, right_keys))):
        deps = [OneToOne(left._node), OneToOne(right._node)]
        partitioner = left.partitioner if how in ("semi", "anti") else None
        return PartitionedArray(Node("merge", join, deps, n, out_dtype, (), None, partitioner=partitioner,
                                     detail=f"{how}, co-partitioned, no shuffle"))
    if left.partitioner != HashPartitioner(n, lkey) and right.partitioner != HashPartitioner(n, rkey):
        n = max(coalesced(left).npartitions, coalesced(right).npartitions)  # as their sizes call for
    if unknown:  # each alternative makes as many partitions as the largest of them needs
        n = max([n] + [(left if name == "right" else right).npartitions for name in unknown])
    shuffle, recast = _shuffle(left, right, left_keys, right_keys, common, n, how, join)
    keeps_left = how in ("semi", "anti") and not recast
    if not unknown:
        partitioner = shuffle.dependencies[0].parent.partitioner if keeps_left else None
        return PartitionedArray(Node("merge", shuffle.func, shuffle.dependencies, n, out_dtype, (), None,
                                     partitioner=partitioner, detail=shuffle.detail))
    # adaptive: every alternative keeps left's partitioner only when left is placed on its keys already
    partitioner = left.partitioner if keeps_left and left.partitioner == HashPartitioner(n, lkey) \
        and left.npartitions == n else None
    choices = {"shuffle": shuffle} | {f"broadcast {name}": _broadcast(left, right, name, join, n, how)
                                      for name in unknown}

    def choose(sizes: dict) -> str:
        fit = [name for name in unknown if sizes[name][1] <= small]
        return f"broadcast {min(fit, key=lambda name: sizes[name][1])}" if fit else "shuffle"

    what = " or ".join(unknown) if len(unknown) == 1 else "the smaller of left and right"
    question = f"broadcast {what} if at most {size_text(small)}, else {shuffle.detail.split(', ', 1)[1]}"
    decision = Decision({name: sides[name]._node for name in unknown}, choose, choices, question)
    deps = [Undecided(left._node), Undecided(right._node)]
    return PartitionedArray(Node("merge", _undecided, deps, n, out_dtype, (), None, partitioner=partitioner,
                                 detail=f"{how}, adaptive", decision=decision))


def _undecided(*blocks):
    raise RuntimeError("merge: a join computed before its plan was decided")


def _broadcast(left, right, side: str, join: Join, n: int, how: str) -> Choice:
    """``side`` collected into a hash index and broadcast to every partition of the other side,
    whose partitions stay as they are (with empty ones after them, to make ``n``)."""
    if side == "right":
        deps = [_spread(left._node, n), Broadcast(_collect(right._node, join, "right"))]
        return Choice(join.probe_left, deps, f"{how}, broadcast right")
    deps = [Broadcast(_collect(left._node, join, "left")), _spread(right._node, n)]
    return Choice(join.probe_right, deps, f"{how}, broadcast left")


def _spread(node: Node, n: int):
    """``node``'s partitions one to one, then empty ones up to ``n``."""
    if n == node.npartitions:
        return OneToOne(node)
    return RangeDependency(node, [[(p, None)] for p in range(node.npartitions)] + [[]] * (n - node.npartitions))


def _shuffle(left, right, left_keys, right_keys, common, n: int, how: str, join: Join) -> tuple[Choice, bool]:
    """Both sides hash-partitioned on their keys into ``n`` (a side placed so already does not
    move), and whether left's keys were cast to hash alike with right's."""
    lkey, rkey = _key_spec(left_keys), _key_spec(right_keys)
    cast = _hashable(left, left_keys, right, right_keys, common)
    recast = cast is not left  # rows placed by the cast key's hash: no partitioner to claim
    left, right = cast, _hashable(right, right_keys, left, left_keys, common)
    moved = [name for name, x, key in (("left", left, lkey), ("right", right, rkey))
             if x.partitioner != HashPartitioner(n, key)]
    left, right = left.partition_by(lkey, n), right.partition_by(rkey, n)
    deps = [OneToOne(left._node), OneToOne(right._node)]
    return Choice(join, deps, f"{how}, shuffle {' and '.join(moved)}"), recast


def _collect(node: Node, join: Join, side: str) -> Node:
    """A value node holding all of ``node``'s rows and a hash index of their keys, built once and
    broadcast to every task of the join."""
    return Node("collect", lambda blocks: join.build(np.concatenate(blocks), side), [AllToOne(node)], 1, VALUE,
                (), None, detail="hash index of the broadcast side", uses=lambda used: [used])


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
    if mixes_zones(a, b):
        raise TypeError(f"merge: key {lk!r} ({zoned_name(a)}) cannot be compared with key {rk!r} "
                        f"({zoned_name(b)}): one is timezone-aware, the other not")
    if (a.kind in "iuf" and b.kind in "iuf") or (a.kind == b.kind and a.kind in "bmMSU"):
        return with_zone(np.result_type(a, b), zone(a))  # both UTC: left's zone, as pandas
    if (is_text(a) or a.kind in "SU") and (is_text(b) or b.kind in "SU"):
        return FIELD  # text meets text and fixed-width keys as text
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

    def reads(self, side: str, used: frozenset | None) -> frozenset | None:
        """The fields of ``side`` the join reads when only ``used`` of its output are read (None:
        all): its keys, and the sources of the output fields read (column pruning)."""
        if used is None:
            return None
        keys = frozenset(self.keys[side])
        if self.how in ("semi", "anti"):
            return keys | used if side == "left" else keys
        at = 0 if side == "left" else 1
        return keys | {f.source[at] if f.side == "key" else f.source
                       for f in self.fields if f.name in used and f.side in ("key", side)}

    def columns(self, block: np.ndarray, side: str) -> list[np.ndarray]:
        """``side``'s key columns of ``block``, in the dtypes both sides are compared in."""
        return [block[k].astype(c, copy=False) for k, c in zip(self.keys[side], self.common)]

    def __call__(self, lb, rb):
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

    def probe_left(self, lb, built):
        rb, index, groups = built
        lid = index.lookup(self.columns(lb, "left"))
        lid[lid < 0] = index.ngroups
        if self.how in ("semi", "anti"):
            return self.filter(lb, lid < index.ngroups)
        return self.assemble(lb, rb, *hashing.join_pairs(lid, None, index.ngroups + 1, self.how, groups))

    def probe_right(self, built, rb) -> Table:
        lb, index, _ = built
        rid = index.lookup(self.columns(rb, "right"))
        rid[rid < 0] = index.ngroups
        return self.assemble(lb, rb, *hashing.join_pairs(index.ids, rid, index.ngroups + 1, self.how))

    def filter(self, lb, matched: np.ndarray):
        """A semi or anti join: left's rows with (without) a match, in left's dtype (the fields
        left has: nothing reads the others)."""
        kept = lb[matched if self.how == "semi" else ~matched]
        names = [n for n in self.out_dtype.names if n in kept.dtype.names]
        out = np.dtype([(n, self.out_dtype[n]) for n in names])
        if isinstance(kept, Table):
            kept = kept.select(names)
        return kept.astype(out, copy=False)  # the keys may have been cast to hash alike

    def assemble(self, lb, rb, lrows, rrows) -> Table:
        """The output rows of (left row, right row) pairs, -1 for a missing side, field by field."""
        columns = {}
        have = {"left": lb.dtype.names, "right": rb.dtype.names}
        for f in self.fields:
            if f.side != "key" and f.source not in have[f.side]:
                continue  # a field of a pruned side: nothing reads it
            if f.side == "key":
                lvals = take(lb[f.source[0]], lrows, f.dtype)
                missing = lrows < 0
                if missing.any():
                    lvals[missing] = rb[f.source[1]][rrows[missing]]
                columns[f.name] = lvals
            else:
                block, rows = (lb, lrows) if f.side == "left" else (rb, rrows)
                columns[f.name] = take(block[f.source], rows, f.dtype)
        return Table(np.dtype([(name, self.out_dtype[name]) for name in columns]), columns)
