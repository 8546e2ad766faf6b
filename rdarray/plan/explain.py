"""``explain()``: a plan as text, for people."""

from __future__ import annotations

from ..graph.lineage import Node, decision_of, size_text
from .planner import Plan, Stage


class PlanText(str):
    """A plan as text: a ``str`` that Jupyter and the REPL show as the text itself, lines and all,
    rather than as the quoted, escaped string."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


def format_plan(plan: Plan) -> PlanText:
    lines = [f"Plan: {len(plan.stages)} stage(s), {plan.ntasks} task(s)"]
    pruned = {k: names for stage in plan.stages for k, names in stage.fields.items()}

    def _fields(node: Node, before: str = "") -> str:
        """The fields a table node carries (only those read, with column pruning)."""
        names = None if node.trailing else pruned.get(node.id, node.dtype.names)
        return f"{before}fields: {', '.join(names)}" if names else ""

    cached = {n.id for n in plan.cached}
    for stage in plan.stages:
        lines.append(f"Stage {stage.id}: {stage.npartitions} task(s), one per partition")
        lines.append("  fused: " + _chain(stage))
        for node in stage.nodes:
            if node.reads_fields and node.dtype.names:  # a file reader: the columns it reads
                lines.append(f"  {_name(node)} reads fields {', '.join(pruned.get(node.id, node.dtype.names))}")
        for node in stage.inputs:
            kinds = sorted({d.kind for n in stage.nodes for d in n.dependencies if d.parent is node})
            source = next((f"stage {s.id}" for s in plan.stages if node in s.outputs), "an earlier plan")
            if "shuffle" in kinds:  # the map side's partitions are buckets of its parent's rows
                lines.append(f"  shuffle: reads the buckets of {_name(node)} from {source}, "
                             f"moving about {_bytes(node.parents[0])}{_fields(node.parents[0], '; ')}")
            else:
                lines.append(f"  reads: {_name(node)} from {source} ({', '.join(kinds)}, "
                             f"{_bytes(node)})")
        for node in _read_from_cache(stage, cached):
            if any(d.kind == "shuffle" for n in stage.nodes for d in n.dependencies if d.parent is node):
                lines.append(f"  shuffle: reads the buckets of {_name(node)} kept in the block store "
                             f"by an earlier plan (no map stage)")
            else:
                lines.append(f"  cache: {_name(node)} persisted ({node.persist_level}), "
                             f"{node.npartitions} partition(s) read from the block store")
        outs = ", ".join(f"{_name(n)} [{n.npartitions} partition(s){_fields(n, '; ')}]" for n in stage.outputs)
        lines.append(f"  outputs: {outs}")
    for node in plan.decisions:
        decision = decision_of(node)
        where = ", ".join(f"{name} ({_name(m)}, {_source(plan, m)})" for name, m in decision.measured.items())
        lines.append(f"Decision: {_name(node)} measures {where} once computed: {decision.question}")
    if plan.decisions:
        lines.append("  the stages after the decision are planned once it is made")
    if not plan.stages:
        for node in plan.targets:
            where = "the block store" if node.id in cached else "memory, in place"
            lines.append(f"  {_name(node)}: read from {where}")
    return PlanText("\n".join(lines))


def _source(plan: Plan, node: Node) -> str:
    """Where a partial plan computes (or reads) a node it measures."""
    stage = next((s for s in plan.stages if node in s.outputs), None)
    return f"stage {stage.id}" if stage is not None else "in the block store"


def _chain(stage: Stage) -> str:
    """The stage's operations in order, its in-place sources first."""
    sources = {}
    for node in stage.nodes:
        for parent in node.parents:
            if parent.cheap:
                sources[parent.id] = parent
    steps = [_name(sources[k]) for k in sorted(sources)] + [_name(n) for n in stage.nodes]
    return " -> ".join(steps)


def _read_from_cache(stage: Stage, cached: set[int]) -> list[Node]:
    found = {p.id: p for n in stage.nodes for p in n.parents if p.id in cached}
    return [found[k] for k in sorted(found)]


def _name(node: Node) -> str:
    return f"{node.label}#{node.id}"


def _bytes(node: Node) -> str:
    if node.partition_lengths is None or node.dtype.hasobject:
        return "size unknown"
    n: float = sum(node.partition_lengths) * node.dtype.itemsize
    for t in node.trailing:
        n *= t
    return size_text(n)
