"""One task: partition ``p`` of every output of a stage, through the stage's fused chain.

Most stages are *aligned*: every node reads its parents one-to-one. Their chain is compiled once
per stage into a flat program (a list of steps over value slots), so a task costs a few function
calls per operation. When an aligned chain is also row-local (elementwise
operations, masks, built-in reductions), a task runs it over slices of a few hundred kilobytes
of the partition: temporaries stay in the CPU cache and are reused, instead of
each operation allocating and streaming a whole partition through memory. Other stages (row
ranges, realignment, persisted nodes inside the chain) are evaluated node by node with a memo.

Under a memory limit, a task first reserves room in the block store for its working memory (a
multiple of the bytes it reads), so that blocks spill before it computes rather than after.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from ..dtypes import exact
from ..errors import add_task_note
from ..graph.lineage import VALUE, Broadcast, Node, OneBucket, OneToOne
from ..graph.partials import combine_partials
from ..plan.planner import Stage
from ..storage.blocks import value_bytes
from ..storage.store import LimitedStore, TaskStore
from ..table import Table

#: elements of the widest array a sliced task handles at once
SLICE_ELEMENTS = 1 << 17
#: a task's working memory, in bytes of the partitions it reads: what it copies and computes from
#: them (gathered pieces, sort orders, hash tables, its output) while they are held
WORK_FACTOR = 6

_COMPUTE = object()  # what :meth:`StageRunner._read` returns for a partition to be computed


class StageRunner:
    """Runs the tasks of one stage. ``inputs`` holds the partitions of earlier stages' outputs;
    ``store`` the block store holding persisted partitions; ``progress`` (a
    :class:`~rdarray.engine.progress.StageProgress`, or None) hears of every task run here.
    Outputs in ``keep`` go to the block store too (stage outputs later stages read, under a memory
    limit)."""

    def __init__(self, stage: Stage, inputs: dict[int, Any], store: TaskStore, progress=None,
                 keep: frozenset = frozenset()):
        self.stage = stage
        self.inputs = inputs
        self.store = store
        self.progress = progress
        self.keep = keep
        self._limited = cast(LimitedStore, store) if store.memory_limit else None  # reserves working memory
        self.npartitions = stage.npartitions
        self._fields = stage.fields
        self._in_stage = {n.id for n in stage.nodes}
        self._program = _compile(stage, self._in_stage)
        if self._program is not None:
            self._leaves, self._steps, self._out_slots = self._program
            self._slice_rows = _slice_rows(stage, self._leaves)
            self._first_row_leaf = next((i for i, (_, whole) in enumerate(self._leaves) if not whole), 0)

    def reservation(self, p: int, sizes: dict | None = None) -> contextlib.AbstractContextManager:
        """Room in the block store for task ``p``'s working memory, under a memory limit (else
        nothing): ``WORK_FACTOR`` times the bytes it reads. ``sizes`` gives the decoded size of
        blocks read from elsewhere, by ``(node id, partition, bucket)`` (a worker's task, before
        it fetches them); the rest come from the store (a map output's buckets, exactly) or from
        the inputs."""
        if self._limited is None:
            return contextlib.nullcontext()
        return self._limited.reserve(WORK_FACTOR * self._input_bytes(p, sizes or {}))

    def run(self, p: int, reserved: bool = False) -> tuple:
        """Partition ``p`` of every output; a persisted or kept output goes to the block store
        instead (None in its place), so that a memory limit holds while the stage runs. With
        ``reserved``, the caller holds the task's :meth:`reservation` already."""
        with contextlib.nullcontext() if reserved else self.reservation(p):
            if self._program is None:
                memo: dict[tuple[int, int], object] = {}
                outputs: Sequence = [self._evaluate(node, p, memo) for node in self.stage.outputs]
            else:
                outputs = [exact(v, node.dtype) for node, v in zip(self.stage.outputs, self._run_program(p))]
            # a table leaving the stage has its pending row selection applied: it is kept or sent
            outputs = [v.materialized() if isinstance(v, Table) else v for v in outputs]
            stored = [node.id in self.keep or (node.persist_level is not None and self._program is not None)
                      for node in self.stage.outputs]  # the memo path stores persisted nodes as it goes
            for node, value, store in zip(self.stage.outputs, outputs, stored):
                if store:
                    self.store.put(node, p, value)
        if self.progress is not None:
            self.progress.task_done([(n.id, getattr(v, "nbytes", 0)) for n, v in zip(self.stage.outputs, outputs)])
        return tuple(None if node.persist_level is not None or node.id in self.keep else value
                     for node, value in zip(self.stage.outputs, outputs))

    def _input_bytes(self, p: int, sizes: dict) -> int:
        """About how many bytes task ``p`` reads from outside its stage: the partitions of earlier
        stages' outputs, of sources and of cached nodes, and its bucket of every map output (those
        it reads, as ``Stage.reads`` walks them: several of a parent under a coalesce; ``sizes``:
        those known from elsewhere)."""
        seen: set[tuple[int, int, int | None]] = set()
        total = 0
        for dep, parent, j, bucket in self.stage.reads(p):
            if isinstance(dep, (Broadcast, OneBucket)) or (parent.id, j, bucket) in seen:
                continue  # a broadcast value is held once for every task; a summary bucket is small
            seen.add((parent.id, j, bucket))  # several buckets of one map output: each counts
            total += self._read_bytes(parent, j, bucket, sizes)
        return total

    def _read_bytes(self, node: Node, j: int, bucket: int | None, sizes: dict) -> int:
        """The decoded size of partition ``j`` of a node read by this stage (of its bucket
        ``bucket``, for a map output), as far as it is known."""
        assert self._limited is not None, "sizes are read under a memory limit"
        known = sizes.get((node.id, j, bucket))
        if known is not None:
            return known
        stored = self._limited.block_bytes(node.id, j, bucket)
        if stored is not None:
            return stored
        held = self.inputs.get(node.id)  # a list of partitions, or (on a worker) those it was sent
        value = _peek(held, j) if held is not None else None
        if value is not None:
            return value_bytes(value if bucket is None else _peek(value, bucket))  # a frame: its decoded size
        if node.partition_lengths is not None and node.dtype != VALUE:
            return node.partition_lengths[j] * node.dtype.itemsize * int(np.prod(node.trailing))
        return 0

    def _pruned(self, node: Node, value):
        """``value`` with only the fields the plan reads of ``node`` (column pruning), when it is a table."""
        names = self._fields.get(node.id)
        return value.select(names) if names is not None and isinstance(value, Table) else value

    def _call(self, node: Node, p: int, inputs) -> Any:
        """``node``'s function on partition ``p``; a source that ``reads_fields`` is told the only
        fields the plan reads of it (column pruning down to the file)."""
        if node.reads_fields:
            return node.func(p, *inputs, fields=self._fields.get(node.id))
        return node.func(p, *inputs) if node.pass_index else node.func(*inputs)

    def _run_program(self, p: int) -> tuple:
        leaves = [self._pruned(leaf, self._evaluate(leaf, 0 if whole else p, None)) for leaf, whole in self._leaves]
        rows = self._slice_rows
        if rows and len(leaves[self._first_row_leaf]) > rows:
            return self._run_sliced(p, leaves, rows)
        values = self._execute(p, leaves, self._bound(p))
        return tuple(values[s] for s in self._out_slots)

    def _bound(self, p: int) -> list:
        """The program's steps for task ``p``, each ``(call, argument slots, dying slots, reuse
        candidates, dtype, row shape, pruned, node)``: ``call`` is the node's function with the
        partition index and the fields read bound, so a step costs one call per slice."""
        bound = []
        for node, args, dying, reuse in self._steps:
            fn = node.func
            if node.reads_fields:
                fn = functools.partial(fn, p, fields=self._fields.get(node.id))
            elif node.pass_index:
                fn = functools.partial(fn, p)
            pruned = self._fields.get(node.id) is not None
            bound.append((fn, args, dying, reuse if node.accepts_out else (), node.dtype, node.trailing, pruned, node))
        return bound

    def _execute(self, p: int, values: list, steps: list) -> list:
        """Run the compiled steps (:meth:`_bound`); ``values`` starts with the leaves' blocks. A
        temporary is released after its last use, and a ufunc writes into a dying temporary of its
        own shape and dtype instead of allocating (as NumPy's own temporary elision does for
        ``a * 2 + 1``): which temporaries a step may overwrite is decided when the stage is compiled
        (:func:`_compile`); only whether a function returned a view of its input (an array that
        does not own its memory) and the array's dtype and row shape are checked as it runs."""
        step = None
        try:
            for step in steps:
                fn, args, dying, reuse, dtype, trailing, pruned, node = step
                out = None
                for s in reuse:
                    v = values[s]
                    if (type(v) is np.ndarray and v.flags.owndata and v.flags.writeable and v.dtype == dtype
                            and v.shape[1:] == trailing):
                        out = v
                        break
                if out is not None:
                    value = fn(*[values[a] for a in args], out=out)
                elif pruned:
                    value = self._pruned(node, fn(*[values[a] for a in args]))
                else:
                    value = fn(*[values[a] for a in args])
                values.append(value)
                for s in dying:
                    values[s] = None
        except Exception as exc:
            where = f"by {step[-1].label} " if step is not None else ""
            add_task_note(exc, f"{where}in stage {self.stage.id}, partition {p}")
            raise
        return values

    def _run_sliced(self, p: int, leaves: list, rows: int) -> tuple:
        """The program over slices of ``rows`` rows: partials combine as they come; an output of
        known length is written into one array allocated once, so that a slice's temporaries are
        freed and their memory reused by the next slice (an output of unknown length, as a mask's,
        keeps its slices' results and concatenates them)."""
        outputs, slots = self.stage.outputs, self._out_slots
        pieces: list[list] = [[] for _ in outputs]
        combined: list = [None] * len(outputs)
        filled: list = [None] * len(outputs)  # (array, rows written) of an output of known length
        known: list[int | None] = [
            None if out.combine is not None or out.partition_lengths is None or out.dtype == VALUE
            else out.partition_lengths[p] for out in outputs]
        whole = [w for _, w in self._leaves]
        steps = self._bound(p)
        for start in range(0, len(leaves[self._first_row_leaf]), rows):
            values = self._execute(p, [b if w else b[start:start + rows] for b, w in zip(leaves, whole)], steps)
            for k, (out, slot) in enumerate(zip(outputs, slots)):
                value = values[slot]
                if out.combine is not None:
                    combined[k] = value if combined[k] is None else combine_partials(out.combine, combined[k], value)
                elif (length := known[k]) is not None:
                    filled[k] = _fill(filled[k], value, length, pieces[k])
                    if filled[k] is None:
                        known[k] = None  # not as expected: its slices' results are kept instead
                else:
                    pieces[k].append(value)
        results = []
        for k, out in enumerate(outputs):
            if out.combine is not None:
                results.append(combined[k])
            elif filled[k] is not None and filled[k][1] == filled[k][0].shape[0]:
                results.append(filled[k][0])
            else:
                if filled[k] is not None:  # fewer rows than the partition's length: what was written
                    pieces[k].insert(0, filled[k][0][:filled[k][1]])
                results.append(np.concatenate(pieces[k]))
        return tuple(results)

    def _evaluate(self, node: Node, p: int, memo: dict | None):
        """Partition ``p`` of ``node``: read (inputs, cache, sources) or computed, with ``memo``
        keeping every partition evaluated on the way. The walk down the chain keeps a stack of its
        own, not Python's, so a lineage of any depth evaluates."""
        memo = {} if memo is None else memo
        stack = [(node, p, False)]
        while stack:
            n, q, expanded = stack.pop()
            key = (n.id, q)
            if key in memo:
                continue
            if expanded:  # its parents' partitions are in the memo now
                value = memo[key] = self._compute(n, q, memo)
                if n.persist_level is not None:
                    self.store.put(n, q, value)
                continue
            value = self._read(n, q)
            if value is not _COMPUTE:
                memo[key] = value
                continue
            stack.append((n, q, True))
            stack.extend((dep.parent, j, False) for dep in n.dependencies if dep.parent.id not in self.inputs
                         for j in dep.parent_partitions(q))
        return memo[(node.id, p)]

    def _read(self, node: Node, p: int):
        """Partition ``p`` of ``node`` when it is read, not computed, here; else ``_COMPUTE``."""
        if node.id not in self._in_stage and not node.cheap:
            return self.inputs[node.id][p] if node.id in self.inputs else self.store.get(node.id, p)
        if node.cheap and not node.dependencies:
            return self._pruned(node, self._call(node, p, ()))
        value = self.store.get(node.id, p) if node.persist_level is not None else None
        return _COMPUTE if value is None else value

    def _compute(self, node: Node, p: int, memo: dict):
        args = [dep.read(p, self._getter(dep.parent, memo)) for dep in node.dependencies]
        try:
            return self._pruned(node, exact(self._call(node, p, args), node.dtype))
        except Exception as exc:
            add_task_note(exc, f"by {node.label} in stage {self.stage.id}, partition {p}")
            raise

    def _getter(self, parent: Node, memo: dict):
        """Partition ``j`` of ``parent`` by index: straight from an earlier stage's outputs when
        it is one of them, else from the memo :meth:`_evaluate` filled."""
        if parent.id in self.inputs:
            return self.inputs[parent.id].__getitem__
        return lambda j: memo[(parent.id, j)]


def _peek(blocks, key):
    """``blocks[key]`` as it is held: a worker's fetched blocks (a dict) decode when read, and
    only their size is wanted here."""
    return dict.get(blocks, key) if isinstance(blocks, dict) else blocks[key]


def _fill(filled: tuple | None, value, length: int, pieces: list) -> tuple | None:
    """``(array, rows written)`` with ``value`` (a slice's result) written after the rows before it
    into an array of ``length`` rows, allocated at the first slice in its dtype and row shape;
    None when ``value`` is not such an array or does not fit (what was written goes to
    ``pieces``, then ``value``)."""
    if filled is None:
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            pieces.append(value)
            return None
        filled = (np.empty((length,) + value.shape[1:], value.dtype), 0)
    array, written = filled
    if (type(value) is not np.ndarray or value.dtype != array.dtype or value.shape[1:] != array.shape[1:]
            or written + value.shape[0] > length):
        pieces.append(array[:written])
        pieces.append(value)
        return None
    array[written:written + value.shape[0]] = value
    return array, written + value.shape[0]


def _compile(stage: Stage, in_stage: set[int]):
    """``(leaves, steps, output slots)`` for an aligned stage, else None.

    Slots ``0..len(leaves)-1`` hold the leaves: ``(node, whole)`` for nodes read, not computed, by
    the stage, ``whole`` for broadcast values (read as they are, never sliced by rows). Each step
    ``(node, argument slots)`` appends one slot.
    """
    read_inside = {d.parent.id for n in stage.nodes for d in n.dependencies}
    for node in stage.nodes:
        if not all(isinstance(d, (OneToOne, Broadcast)) for d in node.dependencies):
            return None
        if node.persist_level is not None and node.id in read_inside:
            return None  # a persisted node read inside the stage: the memo path reads the store
    leaves: dict[tuple[int, bool], Node] = {}
    for node in stage.nodes:
        for dep in node.dependencies:
            if dep.parent.id not in in_stage:
                leaves.setdefault((dep.parent.id, isinstance(dep, Broadcast)), dep.parent)
    slot = {key: i for i, key in enumerate(leaves)}
    steps = []
    for node in stage.nodes:
        steps.append((node, tuple(slot[(d.parent.id, isinstance(d, Broadcast))] for d in node.dependencies)))
        slot[(node.id, False)] = len(slot)
    outputs = [slot[(o.id, False)] for o in stage.outputs]
    last_use = {a: k for k, (_, args) in enumerate(steps) for a in args}
    kept = set(range(len(leaves))) | set(outputs)  # leaves are views of inputs; outputs are returned
    dying = [tuple(sorted({a for a in args if last_use[a] == k and a not in kept}))
             for k, (_, args) in enumerate(steps)]
    program = [(node, args, dead, _reusable(steps, dying, len(leaves), k))
               for k, ((node, args), dead) in enumerate(zip(steps, dying))]
    return [(n, whole) for (_, whole), n in leaves.items()], program, outputs


def _reusable(steps: list, dying: list, nleaves: int, k: int) -> tuple:
    """The dying temporaries step ``k`` may overwrite with its result, decided once per stage:
    those produced by a ufunc step (an ``accepts_out`` node's) that no other array live at step
    ``k`` may share memory with. A ufunc's result is a new array, or the dying one it was written
    into; any other function's result may be a view of its arguments, so it may share memory with
    what they may share it with, and it is never overwritten: it may be an array the function
    keeps (a global, a cache) and owns. At run time a candidate is taken only when it owns its
    memory and has the result's dtype and row shape."""
    shares: list[frozenset] = [frozenset([i]) for i in range(nleaves)]
    for j, (node, args) in enumerate(steps):
        own = frozenset([nleaves + j])
        shares.append(own if node.accepts_out else own.union(*(shares[a] for a in args)))
    died = {s for d in dying[:k] for s in d}
    live = [t for t in range(nleaves + k) if t not in died]  # the step's arguments included
    return tuple(s for s in dying[k] if s >= nleaves and steps[s - nleaves][0].accepts_out
                 and not any(t != s and shares[t] & shares[s] for t in live))


def _slice_rows(stage: Stage, leaves: list[tuple[Node, bool]]) -> int:
    """Rows per slice when the stage may run slice by slice, else 0: every node is sliceable,
    except outputs whose slice results combine (reduction partials), and a leaf is read by rows."""
    outputs = {o.id for o in stage.outputs}
    rows = [n for n, whole in leaves if not whole]
    if not rows or not all(n.sliceable or (n.id in outputs and n.combine is not None) for n in stage.nodes):
        return 0
    widest = max(int(np.prod(n.trailing)) for n in stage.nodes + rows if n.dtype != VALUE)
    return max(1, SLICE_ELEMENTS // max(widest, 1))
