"""Saving and loading arrays: ``x.save(path)``, ``rd.load(path)`` and ``x.checkpoint()``.

The directory format, its versions and locks are ``storage/saved.py``'s (docs/FORMAT.md); here
they meet the session that computes what is written.
"""

from __future__ import annotations

from ..errors import WorkerLostError
from ..graph.lineage import Node, OneToOne, per_partition
from ..session.compute import run_nodes
from ..session.context import get_context
from ..storage import saved
from .core import PartitionedArray


def save(x: PartitionedArray, path, codec: str = "lz4", clevel: int = 5, filter: str = "shuffle",
         overwrite: bool = False) -> None:
    """Write ``x`` to the directory ``path``; see ``PartitionedArray.save``."""
    ctx = get_context()
    saved.save(x._node, path, lambda writer: run_nodes(ctx, [writer])[writer.id], codec=codec, clevel=clevel,
               filter=filter, overwrite=overwrite)


def load(path) -> PartitionedArray:
    """A saved array; each partition is read and decoded by the task that needs it.

    Parameters
    ----------
    path : str or os.PathLike
        A directory written by ``PartitionedArray.save``.

    Returns
    -------
    PartitionedArray
        Lazy: the frames' headers are checked now, their data is read when computed. Damaged or
        foreign data raises ``rd.CorruptDataError``.

    Examples
    --------
    >>> x.save("/tmp/x")
    >>> rd.load("/tmp/x").compute()
    """
    return PartitionedArray(saved.load(path))


def checkpoint(x: PartitionedArray, path=None) -> PartitionedArray:
    """``x`` materialized, as a new array whose lineage starts here: saved to ``path``, or kept in
    the block store at level ``"disk"`` when no path is given."""
    if path is not None:
        save(x, path, overwrite=True)
        return load(path)
    node = x._node
    cut = Node("checkpoint", lambda block: block, [OneToOne(node)], node.npartitions, node.dtype, node.trailing,
               node.partition_lengths)
    cut.persist_level = "disk"
    lengths = per_partition("len", len, cut)
    cut.learn_lengths(run_nodes(get_context(), [lengths])[lengths.id])
    cut.func, cut.dependencies, cut.pass_index = _checkpoint_gone, (), True  # the lineage ends here
    return PartitionedArray(cut)


def _checkpoint_gone(p: int):
    raise WorkerLostError("checkpoint: the checkpointed partitions are gone (their worker died or their "
                          "context was closed); they cannot be recomputed")
