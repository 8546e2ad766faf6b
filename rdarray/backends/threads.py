"""The ``threads`` backend: a pool of threads in this process.

NumPy and rdarray's kernels release the GIL, so tasks run on every core. A stage is not one future
per task: the calling thread and up to ``workers - 1`` pool threads pull task indices from one
shared iterator until it is exhausted, which keeps the cost per task to a few microseconds.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from concurrent.futures import Future

from ..engine.executor import Executor, run_into
from ..errors import ClosedError


class _Batch:
    """The tasks of one ``run_tasks`` call, shared by the threads working on it."""

    def __init__(self, fn, n: int):
        self.fn = fn
        self.results: list = [None] * n
        self.indices = iter(range(n))  # next() on it is atomic under the GIL
        self.error: BaseException | None = None
        self.active = 0
        self.closed = False
        self.cond = threading.Condition()

    def work(self) -> None:
        fn, results = self.fn, self.results
        for i in self.indices:
            if self.error is not None:
                return
            try:
                results[i] = fn(i)
            except BaseException as exc:
                if self.error is None:
                    self.error = exc
                return

    def help(self) -> None:
        """Run by a pool thread; does nothing once the caller has finished the batch."""
        with self.cond:
            if self.closed:
                return
            self.active += 1
        try:
            self.work()
        finally:
            with self.cond:
                self.active -= 1
                self.cond.notify_all()

    def stop(self, exc: BaseException) -> None:
        """Start no more tasks; ``finish`` raises ``exc`` (unless a task failed first)."""
        if self.error is None:
            self.error = exc

    def finish(self) -> list:
        """Run by the caller: work, then wait for the helpers that started."""
        try:
            self.work()
        except BaseException as exc:  # e.g. KeyboardInterrupt between two tasks
            self.error = self.error or exc
        with self.cond:
            self.closed = True
            try:
                while self.active:
                    self.cond.wait()
            except BaseException as exc:  # interrupted while waiting: helpers stop after their task
                self.error = self.error or exc
                raise
        results, error = self.results, self.error
        self.fn, self.results, self.error = None, [], None  # a pool thread may hold this batch a while longer
        if error is not None:
            raise error
        return results


class ThreadsExecutor(Executor):
    backend = "threads"

    def __init__(self, workers: int):
        self.workers = workers
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._batches: set[_Batch] = set()  # running now: close() stops them
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"rdarray-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()
            del job  # an idle thread must not keep the last stage (and its data) alive

    def run_tasks(self, fn, n):
        if n <= 1:
            self._check_open()
            return [fn(i) for i in range(n)]
        batch = _Batch(fn, n)
        with self._lock:
            self._check_open()
            self._batches.add(batch)
        try:
            for _ in range(min(self.workers, n) - 1):
                self._jobs.put(batch.help)
            return batch.finish()
        finally:
            with self._lock:
                self._batches.discard(batch)

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        caller = contextvars.copy_context()  # the work sees the caller's default context
        with self._lock:
            self._check_open()  # after close no thread would ever run it
            self._jobs.put(lambda: caller.run(run_into, future, fn, args, kwargs))
        return future

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError()

    def close(self):
        """Stop: running stages start no more tasks and raise ``RuntimeError`` in their caller."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for batch in self._batches:
                batch.stop(ClosedError())
        for _ in self._threads:
            self._jobs.put(None)
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(timeout=5)
