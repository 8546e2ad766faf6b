"""Lineage: the nodes of the dataset graph and the dependencies between them.

A :class:`Node` holds the properties that define a partitioned dataset, as Spark's RDD does:
its partitions (``npartitions``, ``partition_lengths``), the function computing one partition
(``func``), its dependencies on parent nodes, and its partitioner. What a node computes is fixed
when it is made; four things change later: unknown partition lengths are filled in when a
computation learns them, ``persist_level`` is set by ``persist``/``unpersist``, a checkpoint
cuts the lineage (its ``func`` and dependencies are replaced once its partitions are kept), and a
:class:`Decision` fixes the plan of a node made with one (its ``func``, dependencies and
``detail``; never its partition count, dtype or partitioner).

Each dependency says, for output partition ``p``, which parent partitions it reads:

- :class:`OneToOne`: parent partition ``p``.
- :class:`RangeDependency`: row ranges of one or more parent partitions (realignment, row slices,
  coalescing, concatenation). It is *fusable* when no parent partition feeds two output partitions;
  then the parent is computed inside the child's task. Otherwise the parent is materialized first.
- :class:`AllToOne`: every parent partition, into the one partition of a *value node* (the tree
  combining of a reduction's partial results, ``graph/partials.py``);
- :class:`Broadcast`: the one partition of a value node, read by every output partition
  (``x - x.mean()``);
- :class:`ShuffleDependency`: bucket ``q`` of every partition of a shuffle's map side; it always
  cuts a stage. :class:`OneBucket` reads one fixed bucket of every map output into a value node.

A node may also leave its plan open until sizes unknown when it is made are measured (adaptive
planning, as Spark's): its :class:`Decision` names the nodes to measure and the plans to choose
from; until the decision is made its dependencies are :class:`Undecided`, and once made the chosen
plan's function and dependencies replace them for good.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

_node_ids = itertools.count()
_deciding = threading.Lock()  # two computations of one node may both measure it: the first decides
VALUE = np.dtype(object)  # the dtype of nodes whose partitions are values, not arrays


class Dependency:
    """How a node reads one parent. ``gather(p, get)`` returns the value fed to the node's function."""

    kind = ""
    fusable = False

    def __init__(self, parent: Node):
        self.parent = parent

    def parent_partitions(self, p: int) -> Sequence[int]:
        raise NotImplementedError

    def read(self, p: int, get: Callable[[int], Any]):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.kind} <- {self.parent.op}#{self.parent.id}"


class OneToOne(Dependency):
    """Output partition ``p`` is computed from parent partition ``p``."""

    kind = "one-to-one"
    fusable = True

    def parent_partitions(self, p: int) -> Sequence[int]:
        return (p,)

    def read(self, p: int, get: Callable[[int], Any]):
        return get(p)


class RangeDependency(Dependency):
    """Output partition ``p`` is the concatenation of ``parent_block[j][rows]`` for ``(j, rows)`` in
    ``pieces[p]``; ``rows`` is a slice, or None for the whole block. No piece gives zero rows."""

    kind = "range"

    def __init__(self, parent: Node, pieces: Sequence[Sequence[tuple]]):
        super().__init__(parent)
        self.pieces = [tuple(ps) for ps in pieces]
        used = [j for ps in self.pieces for j, _ in ps]
        self.fusable = len(used) == len(set(used))

    def parent_partitions(self, p: int) -> Sequence[int]:
        return [j for j, _ in self.pieces[p]]

    def read(self, p: int, get: Callable[[int], Any]):
        pieces = self.pieces[p]
        if len(pieces) == 1:
            j, rows = pieces[0]
            block = get(j)
            return block if rows is None else block[rows]
        if not pieces:
            parent = self.parent
            return np.empty((0,) + parent.trailing, dtype=parent.dtype)
        blocks = [get(j) if rows is None else get(j)[rows] for j, rows in pieces]
        dtype = self.parent.dtype
        if all(type(b) is np.ndarray and b.dtype == dtype for b in blocks):
            return np.concatenate(blocks, dtype=dtype)  # given, NumPy skips promoting dtypes pair by pair
        return np.concatenate(blocks)


class AllToOne(Dependency):
    """The single output partition reads the list of every parent partition."""

    kind = "all-to-one"

    def parent_partitions(self, p: int) -> Sequence[int]:
        return range(self.parent.npartitions)

    def read(self, p: int, get: Callable[[int], Any]):
        return [get(j) for j in range(self.parent.npartitions)]


class Broadcast(Dependency):
    """Every output partition reads the single partition of a value node."""

    kind = "broadcast"

    def parent_partitions(self, p: int) -> Sequence[int]:
        return (0,)

    def read(self, p: int, get: Callable[[int], Any]):
        return get(0)


class ShuffleDependency(Dependency):
    """Output partition ``q`` reads bucket ``q`` of every parent partition: the parent is a
    shuffle's map side, whose partition ``j`` is the list of partition ``j``'s rows per target."""

    kind = "shuffle"

    def parent_partitions(self, p: int) -> Sequence[int]:
        return range(self.parent.npartitions)

    def read(self, p: int, get: Callable[[int], Any]):
        return [get(j)[p] for j in range(self.parent.npartitions)]


class OneBucket(ShuffleDependency):
    """The one partition of a value node reads bucket ``bucket`` of every parent partition: a
    summary the map side writes in the same pass as the buckets its reduce side reads."""

    def __init__(self, parent: Node, bucket: int):
        super().__init__(parent)
        self.bucket = bucket

    def read(self, p: int, get: Callable[[int], Any]):
        return [get(j)[self.bucket] for j in range(self.parent.npartitions)]


class Undecided(Dependency):
    """A dependency of a node whose :class:`Decision` is not made yet: it names a parent, for the
    walks over the lineage, but is never read (the planner plans nothing through it)."""

    kind = "undecided"

    def parent_partitions(self, p: int) -> Sequence[int]:
        return range(self.parent.npartitions)

    def read(self, p: int, get: Callable[[int], Any]):
        raise RuntimeError(f"{self.parent.label} is read through a decision that was never made")


class Choice(NamedTuple):
    """One plan a :class:`Decision` may pick: the node's function, dependencies and detail."""

    func: Callable
    dependencies: Sequence[Dependency]
    detail: str


def measure(block) -> tuple[int, int]:
    """The rows and bytes of one partition: what a :class:`Decision` measures."""
    return len(block), int(block.nbytes)


class Decision:
    """A node's plan, chosen once the sizes of ``measured`` nodes (by name, e.g. ``"right"``) are known.

    Each measured node gets a *measure* node (its partitions' rows and bytes); the planner plans the
    measured nodes and their measure nodes first, the scheduler runs them, and :meth:`decide` calls
    ``choose({name: (rows, bytes)})``, which names one of ``choices``. ``question`` says, for
    ``explain()``, what will be decided and how. Once made, ``made`` says what was chosen and why.
    """

    def __init__(self, measured: dict[str, Node], choose: Callable[[dict], str], choices: dict[str, Choice],
                 question: str):
        self.measured = dict(measured)
        self.measures = {name: per_partition("measure", measure, node) for name, node in measured.items()}
        self.choose: Callable[[dict], str] | None = choose
        self.choices = dict(choices)
        self.question = question
        self.made: str | None = None

    def decide(self, node: Node, measures: dict[str, Sequence[tuple[int, int]]]) -> None:
        """Fix ``node``'s plan from the measures of every measured node (one (rows, bytes) per
        partition); the measured nodes learn their partition lengths. A decision is made once:
        a computation that measured it too (in another thread) keeps the first one."""
        with _deciding:
            if self.choose is not None:
                self._decide(node, measures)

    def _decide(self, node: Node, measures: dict[str, Sequence[tuple[int, int]]]) -> None:
        assert self.choose is not None
        totals = {}
        for name, parts in measures.items():
            self.measured[name].learn_lengths([rows for rows, _ in parts])
            totals[name] = (sum(rows for rows, _ in parts), sum(nbytes for _, nbytes in parts))
        chosen = self.choices[self.choose(totals)]
        sizes = ", ".join(f"{name} {rows} rows, {size_text(nbytes)}" for name, (rows, nbytes) in totals.items())
        node.func, node.dependencies = chosen.func, tuple(chosen.dependencies)
        node.detail = f"{chosen.detail} (measured {sizes})"
        self.made = node.detail
        self.choose, self.choices = None, {}  # the plans not chosen can go


def decision_of(node: Node) -> Decision:
    """The decision of a node planned through one (see :class:`Decision`)."""
    assert node.decision is not None, f"{node.label} has no decision"
    return node.decision


def size_text(nbytes: float) -> str:
    """Bytes for people: ``848 B``, ``16.4 MB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1000 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return ""


def realign(parent: Node, lengths: Sequence[int]) -> RangeDependency:
    """A dependency giving ``parent``'s rows regrouped into partitions of the given lengths."""
    assert parent.partition_lengths is not None, "realign needs the parent's partition lengths"
    parent_bounds = np.cumsum((0, *parent.partition_lengths))
    edges = np.cumsum((0, *lengths))
    # the parents of each output: from the last starting at or before its start, to the last
    # starting before its stop (searches over every output at once; the loop below is plain ints)
    firsts = (np.searchsorted(parent_bounds, edges[:-1], side="right") - 1).tolist()
    lasts = (np.searchsorted(parent_bounds, edges[1:], side="left") - 1).tolist()
    bounds = parent_bounds.tolist()
    pieces = []
    for start, stop, first, last in zip(edges[:-1].tolist(), edges[1:].tolist(), firsts, lasts):
        ps = []
        for j in range(first, last + 1):
            lo = max(start, bounds[j]) - bounds[j]
            hi = min(stop, bounds[j + 1]) - bounds[j]
            if hi > lo:
                whole = lo == 0 and hi == bounds[j + 1] - bounds[j]
                ps.append((j, None if whole else slice(lo, hi)))
        pieces.append(ps)
    return RangeDependency(parent, pieces)


class Node:
    """One dataset in the lineage graph.

    ``func(*inputs)`` (or ``func(p, *inputs)`` when ``pass_index``) computes partition ``p`` from
    what each dependency reads. ``cheap`` nodes (views of data already in memory) are recomputed
    wherever needed instead of being materialized; an ``in_process`` one reads this process's memory, so
    other processes are sent its partitions, not its function. ``align_key`` is shared by nodes whose partitions
    have equal lengths by construction, so they combine one-to-one even while lengths are unknown.
    ``sliceable`` nodes compute the output for a slice of rows from that slice alone (the output of
    a partition is the concatenation of its slices' outputs), so a task may run them slice by slice;
    a ``combine`` function says the node's results for two row slices (partials of a reduction)
    combine into the result for both (``graph/partials.py``). ``accepts_out`` nodes take
    ``func(*inputs, out=array)`` and write their result (same shape and dtype as ``array``) into it.
    A node with a ``decision`` not made yet is planned once the decision is made (:class:`Decision`).
    ``uses(fields)`` says which fields of each parent (a frozenset, or None for all) the node reads
    when only ``fields`` of its own output are read (None: all): the planner's column pruning
    (``plan/planner.py``); without it a node reads every field of every parent. A source that
    ``reads_fields`` (a file reader) is called ``func(p, fields=names)`` with the only fields the
    plan reads of it (None: all), so it reads no others.
    """

    def __init__(
        self,
        op: str,
        func: Callable,
        deps: Sequence[Dependency],
        npartitions: int,
        dtype: np.dtype,
        trailing: tuple,
        partition_lengths: Sequence[int] | None,
        *,
        pass_index: bool = False,
        cheap: bool = False,
        in_process: bool = False,
        align_key: int | None = None,
        partitioner=None,
        detail: str = "",
        sliceable: bool = False,
        combine: Callable | None = None,
        accepts_out: bool = False,
        decision: Decision | None = None,
        uses: Callable[[frozenset | None], Sequence[frozenset | None]] | None = None,
        reads_fields: bool = False,
    ):
        self.id = next(_node_ids)
        self.op = op
        self.detail = detail
        self.func = func
        self.dependencies = tuple(deps)
        self.npartitions = npartitions
        self.dtype = dtype
        self.trailing = tuple(trailing)
        self.partition_lengths = None if partition_lengths is None else tuple(int(n) for n in partition_lengths)
        self.pass_index = pass_index
        self.cheap = cheap
        self.in_process = in_process
        self.align_key = self.id if align_key is None else align_key
        self.partitioner = partitioner
        self.sliceable = sliceable
        self.combine = combine
        self.accepts_out = accepts_out
        self.persist_level: str | None = None
        self.decision = decision
        self.uses = uses
        self.reads_fields = reads_fields

    @property
    def parents(self) -> tuple[Node, ...]:
        return tuple(dep.parent for dep in self.dependencies)

    @property
    def dependency_kinds(self) -> tuple[str, ...]:
        return tuple(dep.kind for dep in self.dependencies)

    @property
    def undecided(self) -> bool:
        """Whether the node's plan waits for a decision (:class:`Decision`) not made yet."""
        return self.decision is not None and self.decision.made is None

    @property
    def label(self) -> str:
        return f"{self.op}({self.detail})" if self.detail else self.op

    def learn_lengths(self, lengths: Sequence[int]) -> None:
        """Record partition lengths found by a computation (they are deterministic)."""
        if self.partition_lengths is None:
            self.partition_lengths = tuple(int(n) for n in lengths)

    def aligned_with(self, other: Node) -> bool:
        """True when both have equal partition lengths, known or by construction."""
        if self.npartitions != other.npartitions:
            return False
        if self.align_key == other.align_key:
            return True
        return self.partition_lengths is not None and self.partition_lengths == other.partition_lengths

    def ancestors(self) -> list[Node]:
        """This node and every node it depends on, in topological order."""
        seen: dict[int, Node] = {}
        stack = [self]
        while stack:
            node = stack.pop()
            if node.id not in seen:
                seen[node.id] = node
                stack.extend(node.parents)
        return [seen[k] for k in sorted(seen)]

    def __repr__(self) -> str:
        kinds = ", ".join(f"{dep.kind} <- #{dep.parent.id}" for dep in self.dependencies)
        return f"<Node #{self.id} {self.label} [{kinds}]>"


def labels(nodes: Sequence[Node], shown: int = 5) -> str:
    """The nodes' labels for a message, the first ``shown`` of a long list and how many more:
    a stage fused from thousands of operations still makes a readable error."""
    names = [n.label for n in nodes[:shown]]
    if len(nodes) > shown:
        names.append(f"... {len(nodes) - shown} more")
    return ", ".join(names)


def per_partition(op: str, func: Callable, parent: Node, **options) -> Node:
    """A node whose partition ``p`` is ``func`` of partition ``p`` of ``parent``: a value, not an
    array (partial results of a reduction, partition lengths, written files)."""
    return Node(op, func, [OneToOne(parent)], parent.npartitions, VALUE, (), None, **options)
