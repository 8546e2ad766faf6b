"""Evaluating: plan everything asked for together, run it on a context, hand back the partitions.

The session knows nodes, not arrays: anything computable implements two methods (as dask's
collections implement ``__dask_graph__`` and ``__dask_postcompute__``):

- ``__rd_nodes__()``: the nodes whose partitions it needs;
- ``__rd_finish__(partitions)``: its result from ``partitions`` (node id -> that node's
  partitions). A result that is itself computable (a value whose function returned an array or a
  lazy value) is computed in turn.

``PartitionedArray`` and ``rd.Lazy`` (``array/``) implement them.
"""

from __future__ import annotations

import numpy as np

from ..engine.progress import progress_for
from ..engine.scheduler import execute
from ..graph.lineage import VALUE, Node, per_partition
from ..plan.draw import plan_dot, render
from ..plan.explain import PlanText, format_plan
from ..plan.planner import build_plan
from ..table import Table
from ..text import Text
from .context import Context, get_context


def computable(item) -> bool:
    """Whether ``item`` implements the compute protocol (see the module docstring)."""
    return hasattr(type(item), "__rd_nodes__") and hasattr(type(item), "__rd_finish__")


def compute(*items):
    """Evaluate arrays and lazy values in one plan that reads each shared input once.

    Parameters
    ----------
    *items : PartitionedArray or rd.Lazy
        What to evaluate, on the current context (``rd.get_context()``).

    Returns
    -------
    tuple
        One result per item: a NumPy array per PartitionedArray, the value of each Lazy.

    Examples
    --------
    >>> x = rd.from_numpy(np.arange(10.0))
    >>> total, doubled = rd.compute(x.sum(), x * 2)
    """
    return compute_on(get_context(), items)


def compute_on(ctx: Context, items) -> tuple:
    """``compute(*items)`` on the context ``ctx``."""
    ctx._check_open()
    for item in items:
        if not computable(item):
            raise TypeError(f"compute: expected PartitionedArray or rd.Lazy, got {type(item).__name__}")
    partitions = run_nodes(ctx, _targets(items))
    return tuple(_finish(item, partitions, ctx) for item in items)


def run_nodes(ctx: Context, nodes: list[Node]) -> dict[int, list]:
    """The partitions of every node, computed in one plan; array nodes learn their lengths."""
    plan = build_plan(nodes, ctx.store.has_all)
    found = execute(plan, ctx.executor, ctx.store, progress=progress_for(plan, ctx.progress))
    for node in nodes:
        if node.dtype != VALUE:
            node.learn_lengths([len(b) for b in found[node.id]])
    return found


def value_of(node: Node, ctx: Context | None = None):
    """The one partition of the value node ``node``, computed on ``ctx`` while it is open, else
    on the current context (``get_context()``)."""
    if ctx is None or ctx.closed:
        ctx = get_context()
    return run_nodes(ctx, [node])[node.id][0]


def compute_partitions(node: Node, as_tables: bool = False) -> list:
    """The computed partitions of ``node``, in order, each the caller's to modify (tables as
    records, or as ``Table`` with ``as_tables``, then not to be modified)."""
    blocks = run_nodes(get_context(), [node])[node.id]
    return blocks if as_tables else [owned(b, node) for b in blocks]


def compute_lengths(node: Node) -> tuple[int, ...]:
    """The length of every partition of ``node``."""
    lengths = per_partition("len", len, node)
    return tuple(run_nodes(get_context(), [lengths])[lengths.id])


def explain(*items) -> PlanText:
    """The physical plan that computing ``items`` would run, as text (shown as text in Jupyter)."""
    ctx = get_context()
    return format_plan(build_plan(_targets(items), ctx.store.has_all))


def visualize(*items, filename=None):
    """The physical plan that computing ``items`` would run, drawn by Graphviz.

    Parameters
    ----------
    *items : PartitionedArray or rd.Lazy
        What the plan would compute.
    filename : str or path, optional
        Also write the picture there (PNG or SVG, by the suffix).

    Returns
    -------
    graphviz.Source
        The picture, which Jupyter displays.
    """
    ctx = get_context()
    return render(plan_dot(build_plan(_targets(items), ctx.store.has_all)), filename)


def owned(block: np.ndarray, node: Node) -> np.ndarray:
    """A block the caller may modify: copied when it belongs to a source or the block store; a
    table's records (assembled anew); text as a ``StringDType`` array."""
    if isinstance(block, Table):
        return block.records()
    if isinstance(block, Text):
        return block.to_numpy()
    if node.cheap or node.persist_level is not None or not block.flags.owndata:
        return block.copy()
    return block


def _targets(items) -> list[Node]:
    """The nodes of every item, each once, in the order they were made."""
    found = {node.id: node for item in items for node in item.__rd_nodes__()}
    return [found[k] for k in sorted(found)]


def _finish(item, partitions: dict[int, list], ctx: Context):
    value = item.__rd_finish__(partitions)
    return compute_on(ctx, [value])[0] if computable(value) else value
