"""The planner: compiles the lineage of everything asked for into stages.

A stage runs one task per output partition. Each task evaluates a fused chain of narrow
operations for its partition, keeping nothing between them. A node is *materialized* (its
partitions kept until the stages reading them are done) only when it has to be:

- it was asked for;
- a consumer reads it through a non-fusable dependency (an overlapping realignment, a shuffle),
  so several tasks need the same partition;
- its consumers fall into different stages, or reach its partitions from different task indices.

Everything else is fused into the one stage that consumes it, so every node is computed at most
once per plan. Partials of reductions that only merges read share a stage when neither reads the
other, so that what they read is fused into it once. Cheap nodes (views of in-memory data) and
persisted nodes whose partitions are all cached are read wherever they are needed and are never
part of a stage, and so are nodes an earlier plan of the same computation has computed (``done``).

Column pruning: a table node whose readers in the plan read only some of its fields (``Node.uses``)
is computed with those fields only (``Stage.fields``; the task runner drops the others as soon as
the node is computed or read). The map outputs of a shuffle whose rows were pruned so hold only
those fields: they are not kept for later plans (``Plan.transient``), which may need others.

A node whose plan waits for a decision (``Node.decision``: a join side of unknown size) cannot be
planned yet. Then the plan is *partial*: it computes the nodes the ready decisions measure (those
whose measured nodes need no other open decision), in topological order, and lists the decisions;
the scheduler runs it, makes the decisions and plans the rest again with those nodes ``done``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..graph.lineage import VALUE, AllToOne, Dependency, Node, OneBucket, OneToOne, ShuffleDependency, decision_of


@dataclass(eq=False)
class Stage:
    """One stage: ``npartitions`` tasks, task ``p`` producing partition ``p`` of every output."""

    id: int
    npartitions: int
    outputs: list[Node] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)  # topological; the fused chain of each task
    inputs: list[Node] = field(default_factory=list)  # outputs of earlier stages read here
    parents: list[Stage] = field(default_factory=list)
    #: column pruning: node id -> the only fields of it that are computed (nodes of the stage and
    #: the in-memory sources it reads)
    fields: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def reads(self, p: int) -> Iterator[tuple[Dependency, Node, int, int | None]]:
        """``(dependency, parent, partition, bucket)`` for every partition task ``p`` reads from
        outside the stage, walked from its outputs through the partitions each node reads of its
        parents (several for a coalesce); ``bucket`` is the shuffle bucket read from a map output,
        else None. A partition read by several nodes comes once per dependency reading it."""
        in_stage = {n.id for n in self.nodes}
        seen: set[tuple[int, int]] = set()
        stack = [(node, p) for node in self.outputs]
        while stack:
            node, q = stack.pop()
            if (node.id, q) in seen:
                continue
            seen.add((node.id, q))
            for dep in node.dependencies:
                parent = dep.parent
                bucket = dep.bucket if isinstance(dep, OneBucket) else q if isinstance(dep, ShuffleDependency) else None
                for j in dep.parent_partitions(q):
                    if parent.id in in_stage:
                        stack.append((parent, j))
                    else:
                        yield dep, parent, j, bucket


@dataclass
class Plan:
    """Stages in an order where every stage comes after the stages it reads."""

    targets: list[Node]
    stages: list[Stage]
    cached: list[Node]  # persisted nodes read from the block store instead of recomputed
    #: a partial plan: nodes whose decisions are made once it has run (the rest is planned then)
    decisions: list[Node] = field(default_factory=list)
    #: a partial plan's own targets, kept for the next plan: the measured nodes, their measures,
    #: and what else it computes that the next plan reads
    kept: list[Node] = field(default_factory=list)
    #: map outputs this plan computes from pruned rows: dropped from the block store after it
    transient: list[Node] = field(default_factory=list)

    @property
    def ntasks(self) -> int:
        return sum(s.npartitions for s in self.stages)


def build_plan(targets: list[Node], is_cached=lambda node: False, done: frozenset = frozenset()) -> Plan:
    """Compile ``targets`` (nodes whose partitions are wanted) into a :class:`Plan`.

    ``is_cached(node)`` tells whether a persisted node has every partition in the block store;
    ``done`` holds the ids of nodes already computed, read by the plan as its inputs. Where a
    needed node waits for a decision, the plan is partial (see the module's docstring).
    """
    needed, cached = _collect(targets, is_cached, done)
    undecided = [n for n in needed if n.undecided and n.id not in cached and n.id not in done]
    if undecided:
        return _measuring(targets, needed, undecided, is_cached, done)
    return _stages(targets, needed, cached, done)


def _measuring(targets: list[Node], needed: list[Node], undecided: list[Node], is_cached, done: frozenset) -> Plan:
    """The partial plan computing what the ready decisions measure, before anything else. It keeps
    what it computes that the rest will read too (a filtered table both joined and grouped), so
    the rest reads it instead of computing it again."""
    waiting = {n.id for n in undecided}
    ready = []
    for node in undecided:
        measured = list(decision_of(node).measured.values())
        needs, _ = _collect(measured, is_cached, done)
        if not any(n.id in waiting for n in needs):
            ready.append(node)
    first: dict[int, Node] = {}
    for node in ready:
        for name, m in decision_of(node).measured.items():
            first.setdefault(m.id, m)
            size = decision_of(node).measures[name]
            first.setdefault(size.id, size)
    inside, cached = _collect(list(first.values()), is_cached, done)
    ids = {n.id for n in inside}
    rest = [n for n in needed if n.id not in ids]
    for n in [p for r in rest for p in r.parents] + list(targets):
        if n.id in ids and not n.cheap and n.id not in cached:
            first.setdefault(n.id, n)
    keep = [first[k] for k in sorted(first)]
    plan = _stages(keep, inside, cached, done, prune=False)
    return Plan(list(targets), plan.stages, plan.cached, ready, keep)


def _stages(targets: list[Node], needed: list[Node], cached: set[int], done: frozenset, prune: bool = True) -> Plan:
    target_ids = {t.id for t in targets}
    consumers: dict[int, list[tuple[Node, Dependency]]] = {n.id: [] for n in needed}
    for node in needed:
        if node.id in cached or node.id in done or node.cheap:
            continue
        for dep in node.dependencies:
            consumers[dep.parent.id].append((node, dep))

    stage_of: dict[int, Stage] = {}
    aligned: dict[int, bool] = {}  # True when partition p of the node is computed by task p
    stages: list[Stage] = []

    def new_stage(npartitions: int) -> Stage:
        stage = Stage(len(stages), npartitions)
        stages.append(stage)
        return stage

    for node in reversed(needed):
        if node.id in cached or node.id in done or node.cheap:
            continue
        cons = consumers[node.id]
        cons_stages = {stage_of[c.id].id for c, _ in cons}
        all_identity = all(isinstance(dep, OneToOne) and aligned[c.id] for c, dep in cons)
        fusable = all(dep.fusable for _, dep in cons)
        if node.id not in target_ids and cons and fusable and len(cons_stages) == 1 and (
            len(cons) == 1 or all_identity
        ):
            child, dep = cons[0]
            stage = stage_of[child.id]
            aligned[node.id] = all_identity
        else:
            if cons and fusable and len(cons_stages) == 1 and all_identity:
                stage = stage_of[cons[0][0].id]  # an asked-for node its one stage also reads
            elif not cons:
                stage = next(
                    (s for s in stages if s.npartitions == node.npartitions
                     and all(not consumers[o.id] for o in s.outputs)),
                    None,
                ) or new_stage(node.npartitions)
            elif _merged_partial(node, cons):
                stage = next((s for s in stages if s.npartitions == node.npartitions
                              and all(_merged_partial(o, consumers[o.id]) for o in s.outputs)
                              and not _related(node, s, consumers)), None) or new_stage(node.npartitions)
            else:
                stage = new_stage(node.npartitions)
            stage.outputs.append(node)
            aligned[node.id] = True
        stage_of[node.id] = stage
        stage.nodes.append(node)

    for stage in stages:
        stage.nodes.reverse()
        stage.outputs.sort(key=lambda n: n.id)
        inputs = {p.id: p for n in stage.nodes for p in n.parents
                  if (p.id in stage_of and stage_of[p.id] is not stage) or p.id in done}
        stage.inputs = [inputs[k] for k in sorted(inputs)]
        stage.parents = list({stage_of[k].id: stage_of[k] for k in sorted(inputs) if k in stage_of}.values())
    ordered = _topological(stages)
    for i, stage in enumerate(ordered):
        stage.id = i
    pruned = _pruned_fields(targets, needed, cached, done) if prune else {}
    transient = []
    for stage in stages:
        ids = {n.id for n in stage.nodes} | {p.id for n in stage.nodes for p in n.parents if p.cheap}
        stage.fields = {k: pruned[k] for k in sorted(ids) if k in pruned}
        transient += [n for n in stage.nodes if n.persist_level is not None and n.dtype == VALUE
                      and any(d.parent.id in pruned for d in n.dependencies)]  # a persisted table reads all it needs
    return Plan(list(targets), ordered, [n for n in needed if n.id in cached], transient=transient)


def _merged_partial(node: Node, cons: list) -> bool:
    """Whether ``node`` gives a reduction's partials (by row slice too) that only a merge reads:
    partials of several reductions share one stage, so what they read is computed once, fused."""
    return node.combine is not None and bool(cons) and all(isinstance(dep, AllToOne) for _, dep in cons)


def _related(node: Node, stage: Stage, consumers: dict) -> bool:
    """Whether ``node`` reads a node of ``stage``, or one reads ``node``, through any path: only
    unrelated partials share a stage, so that stages stay acyclic."""
    members = {n.id for n in stage.nodes}
    seen = {node.id}
    todo = [node]
    while todo:  # its ancestors
        n = todo.pop()
        for p in n.parents:
            if p.id in members:
                return True
            if p.id not in seen:
                seen.add(p.id)
                todo.append(p)
    seen = {node.id}
    todo = [node]
    while todo:  # its descendants in the plan
        n = todo.pop()
        for c, _ in consumers.get(n.id, ()):
            if c.id in members:
                return True
            if c.id not in seen:
                seen.add(c.id)
                todo.append(c)
    return False


def _pruned_fields(targets: list[Node], needed: list[Node], cached: set[int], done: frozenset) -> dict:
    """Column pruning: node id -> the fields (in the node's order) that the plan reads of each
    table node computed or read in place whose readers read only some of its fields. What the
    plan hands back, and what persisted nodes keep, keeps every field."""
    used: dict[int, frozenset | None] = {t.id: None for t in targets}  # None: every field
    for node in reversed(needed):  # readers before what they read
        if node.id in cached or node.id in done:
            continue
        keeps_all = node.persist_level is not None and node.dtype != VALUE  # a map output is a value
        mine = None if keeps_all else used.get(node.id)
        reads = node.uses(mine) if node.uses is not None else [None] * len(node.dependencies)
        for dep, fields in zip(node.dependencies, reads):
            key = dep.parent.id
            before = used.get(key, frozenset())
            used[key] = None if fields is None or before is None else before | fields
    out = {}
    for node in needed:
        fields = used.get(node.id)
        names = node.dtype.names
        if (fields is None or not names or node.trailing or node.persist_level is not None
                or node.id in cached or node.id in done):
            continue
        kept = tuple(f for f in names if f in fields) or names[:1]  # a table keeps one field at least
        if len(kept) < len(names):
            out[node.id] = kept
    return out


def _collect(targets: list[Node], is_cached, done: frozenset = frozenset()) -> tuple[list[Node], set[int]]:
    """Nodes the targets need, in topological order; the walk stops at fully cached nodes and at
    nodes already computed (``done``)."""
    seen: dict[int, Node] = {}
    cached: set[int] = set()
    stack = list(targets)
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen[node.id] = node
        if node.id in done:
            continue
        if node.persist_level is not None and is_cached(node):
            cached.add(node.id)
            continue
        stack.extend(node.parents)
    return [seen[k] for k in sorted(seen)], cached


def _topological(stages: list[Stage]) -> list[Stage]:
    """Stages after the stages they read; among those ready, the one with the oldest node first."""
    key = {s.id: min(n.id for n in s.nodes) for s in stages}
    waiting = {s.id: len(s.parents) for s in stages}
    readers: dict[int, list[Stage]] = {s.id: [] for s in stages}
    for stage in stages:
        for parent in stage.parents:
            readers[parent.id].append(stage)
    ready = [(key[s.id], s.id, s) for s in stages if not s.parents]
    heapq.heapify(ready)
    order: list[Stage] = []
    while ready:
        _, _, stage = heapq.heappop(ready)
        order.append(stage)
        for reader in readers[stage.id]:
            waiting[reader.id] -= 1
            if waiting[reader.id] == 0:
                heapq.heappush(ready, (key[reader.id], reader.id, reader))
    return order
