"""Evaluating arrays and lazy values: plan everything asked for together, run it, assemble results."""

from __future__ import annotations

import numpy as np

from .array.core import PartitionedArray
from .array.lazy import Lazy
from .context import Context, get_context
from .dtypes import exact
from .execution.progress import progress_for
from .execution.scheduler import execute
from .lineage import VALUE, Node, per_partition
from .plan.explain import format_plan
from .plan.planner import build_plan


def compute(*items):
    """Evaluate arrays and lazy results in one plan that reads each shared input once."""
    return compute_on(get_context(), items)


def compute_on(ctx: Context, items) -> tuple:
    ctx._check_open()
    for item in items:
        if not isinstance(item, (PartitionedArray, Lazy)):
            raise TypeError(f"compute: expected PartitionedArray or rd.Lazy, got {type(item).__name__}")
    partitions = run_nodes(ctx, _targets(items))
    return tuple(_value(item, partitions, ctx) for item in items)


def run_nodes(ctx: Context, nodes: list[Node]) -> dict[int, list]:
    """The partitions of every node, computed in one plan; array nodes learn their lengths."""
    plan = build_plan(nodes, ctx.store.has_all)
    found = execute(plan, ctx.executor, ctx.store, progress=progress_for(plan, ctx.progress))
    for node in nodes:
        if node.dtype != VALUE:
            node.learn_lengths([len(b) for b in found[node.id]])
    return found


def compute_partitions(x: PartitionedArray) -> list[np.ndarray]:
    """The computed partitions of ``x``, in order."""
    blocks = run_nodes(get_context(), [x._node])[x._node.id]
    return [_own(b, x._node) for b in blocks]


def compute_lengths(node: Node) -> tuple[int, ...]:
    """The length of every partition of ``node``."""
    lengths = per_partition("len", len, node)
    return tuple(run_nodes(get_context(), [lengths])[lengths.id])


def explain(*items) -> str:
    """The physical plan that computing ``items`` would run, as text."""
    ctx = get_context()
    return format_plan(build_plan(_targets(items), ctx.store.has_all))


def _targets(items) -> list[Node]:
    """The nodes to compute: arrays' and values' nodes, and for a value that needs a first
    computation (``then``), the nodes of its arguments."""
    found: dict[int, Node] = {}
    stack = list(items)
    while stack:
        item = stack.pop()
        if isinstance(item, PartitionedArray):
            found[item._node.id] = item._node
        elif isinstance(item, Lazy):
            if item.node is not None:
                found[item.node.id] = item.node
            else:
                stack.extend(item.then[1])
    return [found[k] for k in sorted(found)]


def _value(item, partitions: dict[int, list], ctx: Context):
    if isinstance(item, PartitionedArray):
        blocks = partitions[item._node.id]
        if len(blocks) == 1:
            return _own(blocks[0], item._node)
        return exact(np.concatenate(blocks), item.dtype)
    if not isinstance(item, Lazy):
        return item
    if item.node is not None:
        return partitions[item.node.id][0]
    fn, args = item.then
    value = fn(*[_value(a, partitions, ctx) for a in args])
    return compute_on(ctx, [value])[0] if isinstance(value, (Lazy, PartitionedArray)) else value


def _own(block: np.ndarray, node: Node) -> np.ndarray:
    """A block the caller may modify: copied when it belongs to a source or the block store."""
    if node.cheap or node.persist_level is not None or not block.flags.owndata:
        return block.copy()
    return block
