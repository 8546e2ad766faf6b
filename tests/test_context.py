"""Contexts, executors and futures (contract 2)."""
from __future__ import annotations

import concurrent.futures
import contextvars
import os
import threading

import numpy as np
import pytest

import rdarray as rd
from _helpers import assert_close, partitioned
from rdarray.storage.blocks import BlockStore

TIMEOUT = 30  # seconds; a deadlock fails the test instead of hanging the run


def compute_sum(n: int, npartitions: int = 4):
    """Work that itself runs a computation on the default context (nested parallelism)."""
    return rd.arange(n, npartitions=npartitions).sum().compute()


# -- making contexts -------------------------------------------------------------------------------

def test_attributes():
    with rd.Context(backend="threads", workers=3) as ctx:
        assert ctx.backend == "threads" and ctx.workers == 3
    with rd.Context(backend="sync") as ctx:
        assert ctx.backend == "sync" and ctx.workers == 1
    with rd.Context() as ctx:
        assert ctx.backend == "threads" and ctx.workers == (os.cpu_count() or 1)
    assert "threads" in repr(ctx) and "\n" not in repr(ctx)


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True])
def test_bad_workers(workers):
    with pytest.raises(ValueError, match="workers"):
        rd.Context(workers=workers)


def test_unknown_backend():
    with pytest.raises(ValueError, match="nope"):
        rd.Context(backend="nope")


@pytest.mark.parametrize("text, expected", [("4GB", 4 * 10**9), ("512MiB", 512 * 2**20),
                                            ("512 MiB", 512 * 2**20), ("1.5kb", 1500),
                                            ("2gib", 2 * 2**30), (1_000_000, 1_000_000),
                                            ("100", 100), ("3TB", 3 * 10**12)])
def test_memory_limit_parsing(text, expected):
    with rd.Context(backend="sync", memory_limit=text) as ctx:
        assert ctx.memory_limit == expected


@pytest.mark.parametrize("text", ["abc", "4XB", "", "-1GB", "GB", "1e3", 0, -5, "0", True, "4 G B"])
def test_bad_memory_limit(text):
    with pytest.raises(ValueError):
        rd.Context(backend="sync", memory_limit=text)


# -- the default context ------------------------------------------------------------------------------

def test_with_makes_the_default_and_nests():
    outer_default = rd.get_context()
    assert not outer_default.closed
    with rd.Context(backend="threads", workers=2) as outer:
        assert rd.get_context() is outer
        with rd.Context(backend="sync") as inner:
            assert rd.get_context() is inner
            assert_close(partitioned(np.arange(10), [3, 7]).sum().compute(), np.arange(10).sum())
        assert inner.closed
        assert rd.get_context() is outer
    assert outer.closed
    assert rd.get_context() is outer_default


def test_default_context_is_threads():
    default = rd.get_context()
    assert default.backend == "threads" and not default.closed
    assert rd.get_context() is default


def test_with_runs_work_on_that_context():
    seen = []

    def record(b):
        seen.append(threading.current_thread())
        return b

    x = partitioned(np.arange(40.0), [10] * 4).map_partitions(record, dtype=np.float64)
    with rd.Context(backend="sync"):
        seen.clear()
        x.compute()
        assert set(seen) == {threading.current_thread()}


def test_close_is_idempotent_and_rejects_work():
    ctx = rd.Context(backend="threads", workers=2)
    x = partitioned(np.arange(10.0), [5, 5])
    assert_close(ctx.compute(x.sum())[0], np.arange(10.0).sum())
    ctx.close()
    ctx.close()
    assert ctx.closed
    with pytest.raises(RuntimeError, match="closed"):
        ctx.submit(abs, -1)
    with pytest.raises(RuntimeError, match="closed"):
        ctx.map(abs, [-1])
    with pytest.raises(RuntimeError, match="closed"):
        ctx.compute(x.sum())
    assert_close(x.sum().compute(), np.arange(10.0).sum())  # the default context is untouched


def test_closing_inside_with_falls_back():
    with rd.Context(backend="sync") as outer, rd.Context(backend="threads", workers=2) as inner:
        inner.close()
        assert rd.get_context() is outer
        assert_close(partitioned(np.arange(6), [2, 4]).max().compute(), 5)


def test_with_blocks_in_two_threads_stay_apart():
    """Each thread's ``with`` block is its own default: no operation runs on the other's context."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    wrong = {}

    def work(k):
        a = np.arange(100.0) * (k + 1)
        with rd.Context(backend="sync") as mine:
            barrier.wait()  # both threads are inside their blocks from here on
            wrong[k] = 0
            for _ in range(30):
                x = (partitioned(a, [40, 0, 60]) + 0).persist()
                total = x.sum().compute()
                barrier.wait()  # interleave the two threads' operations
                wrong[k] += (rd.get_context() is not mine) + (not mine.store.has_all(x._node)) \
                    + (total != a.sum())
            barrier.wait()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert wrong == {0: 0, 1: 0}


def test_a_thread_outside_any_with_uses_the_global_default():
    seen = []
    with rd.Context(backend="sync") as mine:
        t = threading.Thread(target=lambda: seen.append(rd.get_context()))
        t.start()
        t.join(TIMEOUT)
        assert rd.get_context() is mine
    assert seen[0] is not mine and seen[0].backend == "threads" and seen[0] is rd.get_context()


def test_submitted_work_sees_the_submitters_context():
    with rd.Context(backend="threads", workers=2) as ctx:
        assert ctx.submit(rd.get_context).result(timeout=TIMEOUT) is ctx


# -- futures ------------------------------------------------------------------------------------------

def test_submit_and_map(ctx):
    f = ctx.submit(pow, 2, 10)
    assert isinstance(f, concurrent.futures.Future)
    assert f.result(timeout=TIMEOUT) == 1024
    g = ctx.submit(sorted, [3, 1, 2], reverse=True)
    assert g.result(timeout=TIMEOUT) == [3, 2, 1]
    futures = ctx.map(pow, [2, 3, 4], [3, 2, 1])
    assert isinstance(futures, list) and all(isinstance(f, concurrent.futures.Future) for f in futures)
    assert [f.result(timeout=TIMEOUT) for f in futures] == [8, 9, 4]


def test_as_completed_and_wait(ctx):
    futures = ctx.map(lambda k: k * k, range(8))
    done = [f.result() for f in rd.as_completed(futures, timeout=TIMEOUT)]
    assert sorted(done) == [k * k for k in range(8)]
    result = rd.wait(futures, timeout=TIMEOUT)
    assert result.done == set(futures) and not result.not_done
    failing = [ctx.submit(lambda: 1 // 0), ctx.submit(abs, -3)]
    result = rd.wait(failing, timeout=TIMEOUT, return_when=concurrent.futures.ALL_COMPLETED)
    assert result.done == set(failing)


def test_exceptions_propagate(ctx):
    class Custom(Exception):
        pass

    def fail():
        raise Custom("from a future")

    f = ctx.submit(fail)
    with pytest.raises(Custom, match="from a future"):
        f.result(timeout=TIMEOUT)
    assert isinstance(f.exception(timeout=TIMEOUT), Custom)
    with pytest.raises(ZeroDivisionError):
        ctx.map(lambda k: 1 // k, [1, 0])[1].result(timeout=TIMEOUT)
    assert ctx.submit(abs, -4).result(timeout=TIMEOUT) == 4  # still usable


def test_futures_computing_arrays(ctx):
    futures = [ctx.submit(compute_sum, n) for n in (10, 100, 1000)]
    assert [f.result(timeout=TIMEOUT) for f in futures] == [np.arange(n).sum() for n in (10, 100, 1000)]


@pytest.mark.parametrize("workers, nfutures", [(1, 3), (2, 4), (2, 8), (3, 9)])
def test_nested_parallelism_does_not_deadlock(workers, nfutures):
    """Every pool thread is busy in a submitted task that itself computes an array."""
    with rd.Context(backend="threads", workers=workers) as ctx:
        futures = [ctx.submit(compute_sum, 1000 + k, 8) for k in range(nfutures)]
        assert [f.result(timeout=TIMEOUT) for f in futures] == \
            [np.arange(1000 + k).sum() for k in range(nfutures)]


def test_array_task_computing_an_array_does_not_deadlock():
    def inner(b):
        return b + compute_sum(50, 5)

    with rd.Context(backend="threads", workers=2) as ctx:
        a = np.arange(30.0)
        x = partitioned(a, [10, 10, 10]).map_partitions(inner, dtype=np.float64)
        future = ctx.submit(lambda: x.sum().compute())
        assert_close(future.result(timeout=TIMEOUT), (a + np.arange(50).sum()).sum())


def test_threads_really_run_in_parallel():
    """Each task waits at a two-party barrier: this only completes when two tasks run at once."""
    barrier = threading.Barrier(2, timeout=10)

    def meet(b):
        if len(b):  # not during dtype inference on an empty partition
            barrier.wait()
        return b

    with rd.Context(backend="threads", workers=2):
        x = partitioned(np.arange(10.0), [5, 5]).map_partitions(meet, dtype=np.float64)
        assert_close(x.compute(), np.arange(10.0))
        assert not barrier.broken


def test_submitted_tasks_run_in_parallel():
    barrier = threading.Barrier(2, timeout=10)
    with rd.Context(backend="threads", workers=2) as ctx:
        futures = ctx.map(lambda k: barrier.wait() is not None and k, [1, 2])
        assert sorted(f.result(timeout=TIMEOUT) for f in futures) == [1, 2]


def test_sync_backend_runs_in_the_caller():
    with rd.Context(backend="sync") as ctx:
        f = ctx.submit(threading.current_thread)
        assert f.done() and f.result() is threading.current_thread()


def test_concurrent_callers_share_a_context():
    a = np.random.default_rng(1).random((400, 3))
    x = partitioned(a, [100, 0, 150, 150])
    results = {}

    def work(k):
        results[k] = (x * k).sum(axis=0).compute()
        assert rd.get_context() is ctx

    with rd.Context(backend="threads", workers=2) as ctx:
        # a thread sees the block's context when it runs in a copy of this thread's context variables
        threads = [threading.Thread(target=contextvars.copy_context().run, args=(work, k)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
    for k in range(6):
        assert_close(results[k], (a * k).sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("backend", ["threads", "sync", "processes"])
def test_a_closed_context_and_its_store_raise_closed_error(backend):
    """One exception for everything closed: rd.ClosedError, a RuntimeError saying so."""
    ctx = rd.Context(backend=backend, workers=2)
    x = rd.from_numpy(np.arange(10.0), npartitions=2)
    store = ctx.store
    ctx.close()
    for attempt in (lambda: ctx.submit(abs, -1), lambda: ctx.compute(x.sum())):
        with pytest.raises(rd.ClosedError, match="this Context is closed") as caught:
            attempt()
        assert isinstance(caught.value, RuntimeError)
    if isinstance(store, BlockStore):
        with pytest.raises(rd.ClosedError, match="closed"):
            store.put(x.lineage, 0, np.arange(5.0))
