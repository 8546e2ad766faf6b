"""Reduction partials: the partial result of each partition, combined pairwise into one.

A reduction's partials node (partition ``p`` is the partial result of partition ``p``) declares
how two partials combine (``Node.combine``); the stage runner combines the partials of a
partition's row slices with it, and a value node combines all partitions' partials in a tree.
"""

from __future__ import annotations

from collections.abc import Callable


class _Empty:
    """The partial result of an empty partition; one object, in every process."""

    def __repr__(self) -> str:
        return "EMPTY"

    def __reduce__(self) -> str:
        return "EMPTY"  # unpickled as this module's EMPTY, so ``is EMPTY`` holds on workers too


EMPTY = _Empty()


def combine_partials(combine: Callable, a, b):
    """``combine(a, b)``, where an EMPTY partial (from no rows) leaves the other as it is."""
    if a is EMPTY:
        return b
    return a if b is EMPTY else combine(a, b)


def tree_combine(values: list, combine: Callable):
    """Combine partial results pairwise in a balanced tree (skipping EMPTY ones)."""
    values = [v for v in values if v is not EMPTY]
    if not values:
        return EMPTY
    while len(values) > 1:
        combined = [combine(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
        if len(values) % 2:
            combined.append(values[-1])
        values = combined
    return values[0]
