"""Contexts: which backend runs the work, with how many workers, and the default context."""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import contextvars
import os
import re
import threading
import weakref

from ..backends.sync import SyncExecutor
from ..backends.threads import ThreadsExecutor
from ..engine.executor import Executor
from ..errors import ClosedError, check_callable, check_integer
from ..storage.blocks import BlockStore
from ..storage.store import Store

BACKENDS = ("threads", "sync", "processes", "dask")
_OPTIONS = {"dask": ("client", "address")}  # options a backend takes beyond the common ones


class Context:
    """Where computations run. ``with rd.Context(...) as ctx:`` makes it the default (and closes it
    after); ``ctx.as_default()`` does so without closing.

    Parameters
    ----------
    backend : {"threads", "sync", "processes", "dask"}
        Threads of this process, this thread alone, worker processes over ZeroMQ, or a dask cluster.
    workers : int, optional
        How many workers (by default the CPU count); a dask context uses its cluster's.
    memory_limit : int or str, optional
        Bytes (``"4GB"``, ``"512 MiB"``) that kept blocks and running tasks may use before blocks
        spill to ``spill_dir``; threads, sync and processes backends.
    spill_dir : str, optional
        Where spilled blocks go: a temporary directory made inside it (by default, in the system's).
    progress : bool, default False
        Show a progress bar (needs tqdm).
    **options
        Backend options: ``client=`` or ``address=`` for dask.

    Examples
    --------
    >>> with rd.Context("processes", workers=4, memory_limit="2GB"):
    ...     total = x.sum().compute()
    """

    def __init__(self, backend: str = "threads", workers: int | None = None, memory_limit=None,
                 spill_dir=None, progress: bool = False, **options):
        if backend not in BACKENDS:
            raise ValueError(f"Context: unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        unknown = sorted(set(options) - set(_OPTIONS.get(backend, ())))
        if unknown:
            raise TypeError(f"Context: unexpected option(s) for the {backend!r} backend: {', '.join(unknown)}")
        if workers is None:
            workers = os.cpu_count() or 1
        workers = check_integer(workers, 1, f"Context: workers must be a positive integer, got {workers!r}")
        self.backend = backend
        self.memory_limit = parse_bytes(memory_limit) if memory_limit is not None else None
        if spill_dir is not None and os.path.exists(spill_dir) and not os.path.isdir(spill_dir):
            raise NotADirectoryError(f"Context: spill_dir {str(spill_dir)!r} is a file, not a directory")
        self.spill_dir = spill_dir
        if progress:
            from ..engine.progress import require_tqdm

            require_tqdm()
        self.progress = bool(progress)
        self.executor: Executor
        self.store: Store  # BlockStore, or the backend's view of its workers' stores
        if backend == "processes":
            from ..backends.processes.driver import ProcessesExecutor

            self.executor = ProcessesExecutor(workers, self.memory_limit, spill_dir)
            self.store = self.executor.store
        elif backend == "dask":
            from ..backends.dask import DaskExecutor

            self.executor = DaskExecutor(**options)
            self.store = self.executor.store
        else:
            self.executor = SyncExecutor() if backend == "sync" else ThreadsExecutor(workers)
            self.store = BlockStore(self.memory_limit, spill_dir)
        self.workers = self.executor.workers
        self.closed = False
        self._tokens: list[contextvars.Token] = []  # one per __enter__ not yet exited
        _live.add(self)

    def submit(self, fn, /, *args, **kwargs) -> concurrent.futures.Future:
        """Run ``fn(*args, **kwargs)`` on a worker.

        Parameters
        ----------
        fn : callable
        *args, **kwargs
            Its arguments.

        Returns
        -------
        concurrent.futures.Future
        """
        self._check_open()
        check_callable(fn, "submit")
        return self.executor.submit(fn, *args, **kwargs)

    def map(self, fn, *iterables) -> list[concurrent.futures.Future]:
        """One future per ``fn(*args)`` for ``args`` in ``zip(*iterables)``.

        Parameters
        ----------
        fn : callable
        *iterables
            The arguments, one iterable per parameter.

        Returns
        -------
        list of concurrent.futures.Future
        """
        return [self.submit(fn, *args) for args in zip(*iterables)]

    def compute(self, *items):
        """Evaluate arrays and lazy results in one plan on this context.

        Parameters
        ----------
        *items : PartitionedArray or rd.Lazy

        Returns
        -------
        tuple
            One result per item, as ``rd.compute`` returns them.
        """
        from .compute import compute_on

        return compute_on(self, items)

    def close(self) -> None:
        """Stop the workers and free the persisted partitions."""
        if self.closed:
            return
        self.closed = True
        self.executor.close()
        self.store.close()  # a BlockStore refuses late blocks

    @contextlib.contextmanager
    def as_default(self):
        """Make this context the default inside a ``with`` block, without closing it after."""
        token = _current.set(_current.get() + (self,))
        try:
            yield self
        finally:
            _current.reset(token)

    def _check_open(self) -> None:
        if self.closed:
            raise ClosedError()

    def __enter__(self) -> Context:
        self._tokens.append(_current.set(_current.get() + (self,)))
        return self

    def __exit__(self, *exc) -> None:
        token = self._tokens.pop()
        try:
            _current.reset(token)
        except ValueError:  # exited in another context than it was entered in (a notebook cell)
            _current.set(tuple(c for c in _current.get() if c is not self))
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"rd.Context(backend={self.backend!r}, workers={self.workers}, {state})"


#: the contexts of the ``with`` blocks this thread (or task) is inside, innermost last: a context
#: variable, so two threads each inside their own ``with`` block never see each other's context
_current: contextvars.ContextVar[tuple[Context, ...]] = contextvars.ContextVar("rdarray_context", default=())
_lock = threading.Lock()
_default: list[Context] = []  # the process-wide default, made on first use outside any ``with``
_live: weakref.WeakSet[Context] = weakref.WeakSet()


def get_context() -> Context:
    """The innermost open context of this thread's ``with`` blocks, else the process-wide default
    (a threads context, made on first use)."""
    for ctx in reversed(_current.get()):
        if not ctx.closed:
            return ctx
    with _lock:
        if not _default or _default[0].closed:
            _default[:] = [Context()]
        return _default[0]


def current_context() -> Context | None:
    """The context :func:`get_context` would return, without making the default one: None when
    it is not made yet (or closed)."""
    for ctx in reversed(_current.get()):
        if not ctx.closed:
            return ctx
    return _default[0] if _default and not _default[0].closed else None


@atexit.register
def _close_all() -> None:
    for ctx in list(_live):
        ctx.close()


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(value) -> int:
    """``4_000_000``, ``"4GB"``, ``"512 MiB"`` -> a number of bytes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"memory_limit must be positive, got {value!r}")
        return int(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"cannot read {value!r} as a size in bytes (e.g. 4GB, 512MiB, 1000000)")
    return parse_bytes(float(match.group(1)) * _UNITS[match.group(2).lower()])
