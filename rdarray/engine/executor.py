"""The interface every backend implements; the scheduler only talks to this."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future


class BlocksLost(Exception):
    """Blocks a stage reads are gone with a worker that died; ``nodes`` are theirs, to recompute."""

    def __init__(self, nodes: list):
        super().__init__(f"blocks of {len(nodes)} node(s) were lost with a worker")
        self.nodes = nodes


class Executor(ABC):
    """Runs the tasks of a stage, and free-standing futures, on some workers."""

    backend: str
    workers: int

    @abstractmethod
    def run_tasks(self, fn: Callable[[int], object], n: int) -> list:
        """``[fn(0), ..., fn(n - 1)]``, run on the workers; the first error is raised after the
        tasks already started have finished, and no new task starts once one has failed."""

    def run_stage(self, runner) -> list:
        """The results of every task of a stage (``runner.run(p)`` for each partition ``p``)."""
        return self.run_tasks(runner.run, runner.npartitions)

    def gather(self, blocks: list) -> list:
        """The partitions behind what ``run_stage`` returned (a backend may return handles)."""
        return blocks

    @abstractmethod
    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` on a worker."""

    def close(self) -> None:  # noqa: B027  (optional: backends without workers have nothing to release)
        """Release the workers."""


def run_into(future: Future, fn: Callable, args: tuple, kwargs: dict) -> None:
    """Run ``fn`` and settle ``future`` with its result or exception (unless it was cancelled)."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(fn(*args, **kwargs))
    except BaseException as exc:  # the future carries it to whoever waits
        future.set_exception(exc)
