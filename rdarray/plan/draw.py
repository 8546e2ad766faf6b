"""``visualize()``: a plan as a picture, written in Graphviz's DOT language and drawn by Graphviz.

:func:`plan_dot` needs nothing beyond the plan; :func:`render` needs the ``graphviz`` package and
Graphviz's ``dot`` program (the optional extra ``rdarray[graphviz]``).
"""

from __future__ import annotations

from pathlib import Path

from ..graph.lineage import Node
from .planner import Plan

#: the formats ``render`` writes, by file name suffix
FORMATS = {".png": "png", ".svg": "svg"}


def plan_dot(plan: Plan) -> str:
    """The plan in DOT: one box per stage holding its fused operations in order, an edge per
    dependency (dashed for a shuffle), persisted inputs read from the block store shaded.

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    str
        The DOT source.
    """
    lines = ["digraph plan {", '  graph [rankdir=TB, fontname="Helvetica", fontsize=11];',
             '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    drawn: dict[int, Node] = {}
    for stage in plan.stages:
        lines.append(f"  subgraph cluster_{stage.id} {{")
        lines.append(f"    label={_quote(f'stage {stage.id}: {stage.npartitions} task(s)')};")
        lines.append('    style="rounded,filled"; fillcolor="#f3f6fb"; color="#8da2c0";')
        for node in _with_sources(stage.nodes):
            if node.id not in drawn:
                drawn[node.id] = node
                lines.append(f"    n{node.id} [label={_quote(_node_text(node))}];")
        lines.append("  }")
    cached = {n.id for n in plan.cached}
    for node in list(drawn.values()):
        for dep in node.dependencies:
            parent = dep.parent
            if parent.id not in drawn:
                drawn[parent.id] = parent
                note = "persisted" if parent.id in cached else "computed earlier"
                lines.append(f"  n{parent.id} [label={_quote(_node_text(parent) + chr(10) + note)}, "
                             'style="rounded,filled", fillcolor="#e8e8e8"];')
            style = ', style=dashed, label="shuffle"' if dep.kind == "shuffle" else ""
            lines.append(f"  n{parent.id} -> n{node.id} [tooltip={_quote(dep.kind)}{style}];")
    if not plan.stages:  # nothing to run: as explain() says, where the partitions are read from
        for node in plan.targets:
            where = "read from the block store" if node.id in cached else "in memory, in place"
            lines.append(f"  n{node.id} [label={_quote(_node_text(node) + chr(10) + where)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot: str, filename=None):
    """Draw DOT source with Graphviz; write it to ``filename`` (PNG or SVG, by its suffix) if given.

    Parameters
    ----------
    dot : str
        The DOT source.
    filename : str or path, optional
        Where to write the picture; its suffix (``.png`` or ``.svg``) picks the format.

    Returns
    -------
    graphviz.Source
        The picture, which Jupyter displays.
    """
    fmt = None
    if filename is not None:
        fmt = FORMATS.get(Path(filename).suffix.lower())
        if fmt is None:
            raise ValueError(f"visualize: filename must end in .png or .svg, got {str(filename)!r}")
    try:
        import graphviz
    except ImportError:
        raise ImportError('visualize needs the graphviz package and Graphviz\'s dot program: '
                          'pip install "rdarray[graphviz]" (and e.g. apt-get install graphviz)') from None
    try:
        graphviz.version()
    except graphviz.ExecutableNotFound:
        raise RuntimeError("visualize needs Graphviz's dot program on the PATH "
                           "(e.g. apt-get install graphviz, brew install graphviz, conda install graphviz)") from None
    source = graphviz.Source(dot)
    if fmt is not None:
        Path(filename).write_bytes(source.pipe(format=fmt))
    return source


def _with_sources(nodes: list[Node]) -> list[Node]:
    """A stage's operations with the in-place sources they read (arrays in memory, files) first."""
    sources = {p.id: p for n in nodes for p in n.parents if p.cheap}
    return [sources[k] for k in sorted(sources)] + list(nodes)


def _node_text(node: Node) -> str:
    parts = f"{node.npartitions} partition(s)"
    return f"{node.label} #{node.id}\n{parts}"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
