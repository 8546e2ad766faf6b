"""``groupby(...).transform``: each row's group aggregate, aligned with the input.

The aggregate (one row per group) is joined back to the rows by key, and the result keeps the
input's rows and partitions. How large the aggregate is, is known only once it is computed, so the
plan is decided then, as an adaptive join's is (``graph/lineage.Decision``): at most
``rd.config.broadcast_bytes``, it is gathered into one hash index that every partition of the input
reads (the input does not move); larger, each row's keys are tagged with their partition and
position, left-joined with the aggregate by ``rd.merge``, and range-partitioned by the partition
tag back to where they came from, where the position puts them back in order. An input already
partitioned by the keys has its aggregate computed partition by partition, so partition ``p`` of
the aggregate holds the groups of partition ``p`` of the input: they are joined one to one.
"""

from __future__ import annotations

import numpy as np

from ..config import config
from ..dtypes import take
from ..graph.lineage import VALUE, AllToOne, Broadcast, Choice, Decision, Node, OneToOne, Undecided, size_text
from ..shuffle import hashing
from ..shuffle.partitioners import RangePartitioner
from ..table import Table
from ..text import FIELD, TEXT

#: the fields tagging each row with its partition and position (on the join's shuffled plan)
PART, ROW = "__transform_partition", "__transform_row"


class Filler:
    """The output of one partition from the aggregate's columns and each row's group (-1: none)."""

    def __init__(self, names: list[str], dtypes: dict, out_dtype: np.dtype, single: bool):
        self.names, self.dtypes, self.out_dtype, self.single = names, dtypes, out_dtype, single

    def __call__(self, found: dict, at: np.ndarray):
        columns = {f: take(found[f], at, None if self.dtypes[f] == FIELD else self.dtypes[f]) for f in self.names}
        if self.single:
            return columns[self.names[0]]
        return Table(self.out_dtype, columns).with_dtype(self.out_dtype)


def transformed(rows, keys: tuple, result, single: bool, nullable: bool, detail: str, local: bool = False):
    """``result`` (key fields, then aggregates) looked up by the keys of ``rows`` (the key fields,
    aligned with the input): one value (or row of values) per row, missing where a row's key has
    no group. ``nullable``: the keys may be missing, so integer and bool results are float64;
    ``local``: partition ``p`` of ``result`` holds every group of partition ``p`` of ``rows``."""
    from .core import PartitionedArray
    from .merge import ADAPTIVE

    names = [f for f in result.dtype.names if f not in keys]
    dtypes = {f: _holding_missing(result.dtype[f]) if nullable else result.dtype[f] for f in names}
    out_dtype = (TEXT if dtypes[names[0]] == FIELD else dtypes[names[0]]) if single \
        else np.dtype([(f, dtypes[f]) for f in names])
    fill = Filler(names, dtypes, out_dtype, single)
    node = rows._node
    shape = dict(align_key=node.align_key)
    small = config.broadcast_bytes
    if local:
        deps = [OneToOne(node), OneToOne(result._node)]
        return PartitionedArray(Node("groupby.transform", _Local(keys, names, fill), deps, node.npartitions,
                                     out_dtype, (), node.partition_lengths, detail=f"{detail}, partition by partition",
                                     **shape))
    if not small or not ADAPTIVE:
        chosen = _joined(rows, keys, result, fill, detail)
        return PartitionedArray(Node("groupby.transform", chosen.func, chosen.dependencies, node.npartitions,
                                     out_dtype, (), node.partition_lengths, detail=chosen.detail, **shape))
    choices = {"broadcast": _broadcast(node, keys, result, names, fill, detail),
               "join": _joined(rows, keys, result, fill, detail)}

    def choose(sizes: dict) -> str:
        return "broadcast" if sizes["aggregate"][1] <= small else "join"

    question = f"broadcast the aggregate if at most {size_text(small)}, else join by key and shuffle back"
    decision = Decision({"aggregate": result._node}, choose, choices, question)
    return PartitionedArray(Node("groupby.transform", _undecided, [Undecided(node), Undecided(result._node)],
                                 node.npartitions, out_dtype, (), node.partition_lengths,
                                 detail=f"{detail}, adaptive", decision=decision, **shape))


class _Local:
    """One partition of the rows looked up in the same partition of the aggregate."""

    def __init__(self, keys: tuple, names: list[str], fill: Filler):
        self.keys, self.names, self.fill = keys, names, fill

    def __call__(self, block, found):
        at = hashing.HashIndex([found[k] for k in self.keys]).lookup([block[k] for k in self.keys]) \
            if len(block) and len(found) else np.full(len(block), -1, np.int64)
        return self.fill({f: found[f] for f in self.names}, at)


def _undecided(*blocks):
    raise RuntimeError("groupby.transform: computed before its plan was decided")


def _broadcast(node: Node, keys: tuple, result, names: list[str], fill: Filler, detail: str) -> Choice:
    """The aggregate in one hash index of its keys, read by every partition of ``node``."""

    def build(parts):
        found = np.concatenate(parts)
        return hashing.HashIndex([found[k] for k in keys]), {f: found[f] for f in names}

    def probe(block, built):
        index, found = built
        at = index.lookup([block[k] for k in keys]) if len(block) else np.empty(0, np.int64)
        return fill(found, at)

    lookup = Node("groupby.transform:index", build, [AllToOne(result._node)], 1, VALUE, (), None,
                  detail="hash index of the group aggregates")
    return Choice(probe, [OneToOne(node), Broadcast(lookup)], f"{detail}, broadcast the aggregate")


def _joined(rows, keys: tuple, result, fill: Filler, detail: str) -> Choice:
    """Each row's keys tagged with its partition and position, left-joined with the aggregate,
    and moved back to its partition (a range partitioning by the tag), in its order."""
    from .core import PartitionedArray
    from .merge import merge
    from .wide import shuffled

    node = rows._node
    n = node.npartitions
    tagged_dtype = np.dtype([(k, rows.dtype[k]) for k in keys] + [(PART, np.int64), (ROW, np.int64)])

    def tag(p, block):
        columns = {k: block[k] for k in keys}
        columns[PART] = np.full(len(block), p, np.int64)
        columns[ROW] = np.arange(len(block), dtype=np.int64)
        return Table(tagged_dtype, columns).with_dtype(tagged_dtype)

    tagged = PartitionedArray(Node("groupby.transform:tag", tag, [OneToOne(node)], n, tagged_dtype, (),
                                   node.partition_lengths, pass_index=True, align_key=node.align_key))
    joined = merge(tagged, result, on=list(keys), how="left")[[PART, ROW, *fill.names]]

    def restore(pieces):
        rows_ = np.concatenate(pieces)
        order = np.argsort(rows_[ROW], kind="stable")
        return fill({f: rows_[f] for f in fill.names}, order)

    back = shuffled(joined, RangePartitioner(range(n - 1), PART), "groupby.transform:back", restore,
                    detail="rows back to their partitions", dtype=fill.out_dtype, trailing=())
    return Choice(_same, [OneToOne(back._node)], f"{detail}, join by key, rows shuffled back")


def _same(block):
    return block


def _holding_missing(dtype: np.dtype) -> np.dtype:
    """``dtype``, or float64 where it cannot hold a missing value (integers and bool, as pandas)."""
    return np.dtype(np.float64) if dtype.kind in "biu" else dtype
