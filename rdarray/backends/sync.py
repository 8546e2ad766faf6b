"""The ``sync`` backend: everything runs in the calling thread (debugging, profiling)."""

from __future__ import annotations

from concurrent.futures import Future

from ..engine.executor import Executor, run_into


class SyncExecutor(Executor):
    backend = "sync"
    workers = 1

    def run_tasks(self, fn, n):
        return [fn(i) for i in range(n)]

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        run_into(future, fn, args, kwargs)
        return future
