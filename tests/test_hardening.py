"""Hardening: rdarray under concurrency, interrupts, load, and over long runs.

- many threads computing on one context get the results one thread gets (threads, processes);
- Ctrl-C stops a computation's tasks promptly and leaves the context usable;
- ``ctx.close()`` from another thread ends a running computation cleanly, leaving nothing behind;
- plans of 100,000 partitions, and shuffles of 1,000 x 1,000 buckets, compute correctly;
- 1,000 computations in a row leak no memory, threads, file descriptors or spill files.

Each test prints its figures (``pytest -s`` shows them).
"""
from __future__ import annotations

import _thread
import contextlib
import contextvars
import gc
import os
import signal
import threading
import time
import weakref

import numpy as np
import pytest

import rdarray as rd
from _helpers import Counter, alive, group_sums, keys_and_values, struct, wait_until


def report(test: str, **figures) -> None:
    print(f"\n[hardening] {test}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def rss_mb(pid="self") -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def open_fds(pid="self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def files_under(path) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


@pytest.fixture(params=["threads", "processes"])
def bctx(request):
    """A threads context of two workers, then the session's processes context; the default."""
    if request.param == "processes":
        with request.getfixturevalue("processes_context").as_default() as c:
            yield c
        return
    with rd.Context(backend="threads", workers=2) as c:
        yield c


def at_once(nthreads: int, work) -> tuple[dict, float]:
    """``{k: work(k)}`` for ``k < nthreads``, each in a thread of its own, all started together;
    and the seconds it took. The first error of a thread is raised here."""
    results, errors = {}, []
    barrier = threading.Barrier(nthreads, timeout=30)

    def run(k):
        try:
            barrier.wait()
            results[k] = work(k)
        except BaseException as exc:  # raised below
            errors.append(exc)

    # each thread runs in a copy of this thread's context variables: on the same default context
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(run, k)) for k in range(nthreads)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    took = time.monotonic() - start
    assert not any(t.is_alive() for t in threads), "a computing thread hangs"
    if errors:
        raise errors[0]
    return results, took


def slow_plus_one(b):
    time.sleep(0.05)
    return b + 1


# -- 1. concurrency ----------------------------------------------------------------------------------

def test_many_threads_on_one_context_get_the_results_of_one(bctx):
    """Threads started together, each running five plans (reductions, groupbys, a sort, a hash
    partitioning) over one persisted input, get exactly what one thread gets."""
    nthreads, rounds = (12, 3) if bctx.backend == "threads" else (8, 2)
    a = keys_and_values(20_000, groups=60, seed=3)
    counter = Counter(np.copy)
    x = rd.from_numpy(a, npartitions=8).map_partitions(counter, dtype=a.dtype).persist()
    shared_groups = x.groupby("k").sum()  # one shuffle, shared by every thread

    def work(k: int) -> dict:
        """Reductions of the shared persisted input, shuffles shared and of its own."""
        total, top = rd.compute((x["v"] * k).sum(), x["v"].max())
        return {"total": total, "top": top, "shared": shared_groups.compute(),
                "groups": x.groupby("k").agg(n=("v", "count"), m=("v", "mean")).compute(),
                "sorted": (x["v"] + k).sort().compute(),
                "by_key": np.sort(np.concatenate(x.partition_by("k", npartitions=5).partitions())["v"])}

    expected = {k: work(k) for k in range(nthreads)}  # one thread
    keys, sums = group_sums(a)
    assert np.array_equal(expected[0]["shared"]["k"], keys)
    np.testing.assert_allclose(expected[0]["shared"]["v"], sums, rtol=1e-12)
    np.testing.assert_array_equal(expected[3]["sorted"], np.sort(a["v"] + 3))

    times = []
    for _ in range(rounds):
        counter.reset()
        results, took = at_once(nthreads, work)
        times.append(round(took, 2))
        for k in range(nthreads):
            for name, value in expected[k].items():
                got = results[k][name]
                if isinstance(value, np.ndarray) and value.dtype.names:
                    for field in value.dtype.names:
                        np.testing.assert_array_equal(got[field], value[field], err_msg=f"{name}[{field}]")
                else:
                    np.testing.assert_array_equal(got, value, err_msg=name)
        assert counter.total == 0  # the persisted input is computed once, and read by every thread
    report("concurrency", backend=bctx.backend, threads=nthreads, plans_per_round=nthreads * 5,
           seconds_per_round=times)


def test_threads_persisting_one_array_at_once_compute_it_right(bctx):
    """Threads racing to compute an array persisted but not computed yet, then reading it."""
    nthreads = 8
    counter = Counter()
    base = np.arange(40_000.0)
    x = rd.from_numpy(base, npartitions=16).map_partitions(counter, dtype=np.float64).persist()
    results, _ = at_once(nthreads, lambda k: (float((x * k).sum()), x.sort(descending=True).compute()[:3]))
    for k in range(nthreads):
        assert results[k][0] == pytest.approx(base.sum() * k, rel=1e-12)
        np.testing.assert_array_equal(results[k][1], base[::-1][:3])
    raced = counter.total
    counter.reset()
    assert float(x.sum()) == base.sum() and counter.total == 0  # kept once computed
    report("concurrent first persist", backend=bctx.backend, threads=nthreads,
           partition_computations=f"{raced} for 16 partitions")


# -- 2. interrupts -----------------------------------------------------------------------------------

@contextlib.contextmanager
def interrupt_after(delay: float, how: str):
    """Deliver a KeyboardInterrupt to the main thread ``delay`` seconds into the block (by a
    real SIGINT, or by ``_thread.interrupt_main``, which does not wake a blocking wait)."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("interrupts reach the main thread only")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by someone else here")
    lock = threading.Lock()
    armed = [True]

    def fire():
        with lock:
            if armed[0]:
                if how == "signal":
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                else:
                    _thread.interrupt_main()

    timer = threading.Timer(delay, fire)
    timer.start()
    try:
        yield
    finally:
        with lock:
            armed[0] = False
        timer.cancel()
        timer.join()


@pytest.mark.parametrize("how", ["signal", "interrupt_main"])
def test_ctrl_c_stops_the_tasks_and_leaves_the_context_usable(bctx, how):
    total, delay = 200, 0.3  # 200 tasks of 50 ms on two workers: 5 s uninterrupted
    counter = Counter(slow_plus_one)
    x = rd.arange(total * 10, npartitions=total)
    y = x.map_partitions(counter, dtype=x.dtype)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with interrupt_after(delay, how):
            y.sum().compute()
    stopped = time.monotonic() - start
    at_stop = counter.total
    time.sleep(0.5)
    later = counter.total
    time.sleep(0.5)
    assert counter.total == later  # nothing of it runs on in the background
    assert stopped < delay + 1.0
    assert later < total // 4
    # usable: the next computations are right, and compute each partition once
    counter.reset()
    part = x[:40].map_partitions(counter, dtype=x.dtype)  # four partitions
    assert int(part.sum()) == np.arange(40).sum() + 40
    counter.assert_each_once(4)
    assert int((x * 2).sum()) == 2 * np.arange(total * 10).sum()
    a = keys_and_values(3000, seed=5)
    got = rd.from_numpy(a, npartitions=6).groupby("k").sum().compute()
    keys, sums = group_sums(a)
    assert np.array_equal(got["k"], keys)
    np.testing.assert_allclose(got["v"], sums, rtol=1e-12)
    report("interrupt", backend=bctx.backend, how=how, seconds_to_stop=round(stopped - delay, 3),
           tasks_started_at_stop=at_stop, tasks_started_1s_later=later, tasks_total=total)


@pytest.mark.parametrize("backend", ["threads", "processes"])
def test_ctrl_c_at_random_moments_of_spilling_shuffles(backend, tmp_path):
    """Interrupts anywhere in plans that persist, shuffle and spill: the results that follow are
    right, and closing leaves no spill file."""
    rounds = 25 if backend == "threads" else 12
    rng = np.random.default_rng(11)
    a = keys_and_values(40_000, groups=100, seed=11)
    keys, sums = group_sums(a)
    interrupted = 0
    with rd.Context(backend=backend, workers=2, memory_limit="100KB", spill_dir=str(tmp_path)):
        x = rd.from_numpy(a, npartitions=40)
        v = (x["v"] * 2).persist()
        for _ in range(rounds):
            try:
                with interrupt_after(float(rng.uniform(0, 0.4)), "signal"):
                    rd.compute(x.groupby("k").sum(), v.sort(), v.sum())
                    time.sleep(0.5)  # an interrupt after the computation lands here
            except KeyboardInterrupt:
                interrupted += 1
            got = x.groupby("k").sum().compute()
            assert np.array_equal(got["k"], keys)
            np.testing.assert_allclose(got["v"], sums, rtol=1e-12)
            np.testing.assert_array_equal(v.sort().compute(), np.sort(a["v"] * 2))
        assert interrupted >= rounds // 2
    assert wait_until(lambda: files_under(tmp_path) == 0)
    report("random interrupts", backend=backend, rounds=rounds, interrupted=interrupted)


# -- 3. close from another thread --------------------------------------------------------------------

def rdarray_threads() -> set:
    return {t for t in threading.enumerate() if t.name.startswith("rdarray")}


@pytest.mark.parametrize("work", ["reduce", "shuffle", "persist"])
@pytest.mark.parametrize("backend", ["threads", "sync", "processes"])
def test_close_from_another_thread_ends_the_computation_cleanly(backend, work, tmp_path):
    threads_before, fds_before = rdarray_threads(), open_fds()
    ctx = rd.Context(backend=backend, workers=2, memory_limit="100KB", spill_dir=str(tmp_path))
    pids = list(ctx.executor.worker_pids().values()) if backend == "processes" else []
    expected = np.arange(100_000) + 1
    with ctx.as_default():
        x = rd.arange(100_000, npartitions=100)
        slow = x.map_partitions(lambda b: (time.sleep(0.02), b + 1)[1], dtype=x.dtype)
        if work == "reduce":
            job, check = slow.sum(), lambda r: r == expected.sum()
        elif work == "shuffle":  # slow on both sides of the shuffle
            job = slow.sort(descending=True).map_partitions(lambda b: (time.sleep(0.02), b)[1], dtype=x.dtype)
            check = lambda r: np.array_equal(r, expected[::-1])  # noqa: E731
        else:
            job, check = (slow.persist("compressed") * 2).max(), lambda r: r == 2 * expected[-1]
        outcome = {}

        def compute():
            try:
                outcome["result"] = job.compute()
            except BaseException as exc:
                outcome["error"] = exc
            outcome["end"] = time.monotonic()

        runner = threading.Thread(target=contextvars.copy_context().run, args=(compute,))  # on ctx
        runner.start()
        time.sleep(0.5)
        closing = time.monotonic()
        ctx.close()
        close_took = time.monotonic() - closing
        runner.join(30)
        assert not runner.is_alive(), "the computation hangs after close()"
    error = outcome.get("error")
    if error is not None:
        assert isinstance(error, RuntimeError) and "closed" in str(error), repr(error)
    else:
        assert check(outcome["result"])
    if backend != "sync":  # the sync backend has no tasks of its own to stop: its plan may complete
        assert error is not None and outcome["end"] - closing < 2.0
    with pytest.raises(RuntimeError, match="closed"):
        ctx.submit(int)
    if backend != "sync":  # (sync runs a call in the caller)
        with pytest.raises(RuntimeError, match="closed"):
            ctx.executor.submit(int)  # refused, rather than a future that never runs
    assert wait_until(lambda: rdarray_threads() <= threads_before, timeout=10)
    assert wait_until(lambda: not any(alive(p) for p in pids), timeout=10)
    assert files_under(tmp_path) == 0 and os.listdir(tmp_path) == []
    assert wait_until(lambda: open_fds() <= fds_before, timeout=5)
    report("close during a computation", backend=backend, work=work,
           outcome=type(error).__name__ if error is not None else "completed",
           seconds_close_took=round(close_took, 3),
           seconds_to_end_after_close=round(outcome["end"] - closing, 3))


# -- 4. load -----------------------------------------------------------------------------------------

def test_a_plan_of_100_000_partitions():
    n, parts = 200_000, 100_000
    with rd.Context(backend="threads", workers=2):
        start = time.monotonic()
        x = rd.arange(n, npartitions=parts)
        assert x.npartitions == parts
        assert int((x + 1).sum()) == (np.arange(n) + 1).sum()
        arange_time = time.monotonic() - start
        start = time.monotonic()
        y = rd.from_partitions([np.arange(2 * i, 2 * i + 2) for i in range(parts)])
        assert int((y * 2).max()) == 2 * (n - 1)
        from_partitions_time = time.monotonic() - start
    assert arange_time < 60 and from_partitions_time < 60
    report("100k partitions", arange_sum_s=round(arange_time, 2), from_partitions_max_s=round(from_partitions_time, 2))


def test_a_shuffle_of_1000_by_1000_buckets():
    a = np.random.default_rng(4).integers(0, 50_000, 200_000)
    with rd.Context(backend="threads", workers=2):
        start = time.monotonic()
        parts = rd.from_numpy(a, npartitions=1000).partition_by(npartitions=1000).partitions()
        took = time.monotonic() - start
    assert len(parts) == 1000
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.sort(a))  # every row once
    owner = {}
    for q, part in enumerate(parts):  # a value lives in one partition only
        for value in np.unique(part):
            assert owner.setdefault(value, q) == q
    assert took < 120
    report("1000 x 1000 shuffle", partition_by_s=round(took, 2), nonempty_partitions=sum(len(p) > 0 for p in parts))


@pytest.mark.slow
def test_a_sort_and_a_groupby_of_1000_partitions():
    a = keys_and_values(200_000, groups=5000, seed=8)
    with rd.Context(backend="threads", workers=2):
        x = rd.from_numpy(a, npartitions=1000)
        start = time.monotonic()
        got = x["v"].sort().compute()
        sort_time = time.monotonic() - start
        start = time.monotonic()
        groups = x.groupby("k").sum().compute()
        groupby_time = time.monotonic() - start
    np.testing.assert_array_equal(got, np.sort(a["v"]))
    keys, sums = group_sums(a)
    assert np.array_equal(groups["k"], keys)
    np.testing.assert_allclose(groups["v"], sums, rtol=1e-9)
    report("1000-partition sort and groupby", sort_s=round(sort_time, 2), groupby_s=round(groupby_time, 2))


# -- 5. leaks ----------------------------------------------------------------------------------------

class Mixed:
    """Computation ``i`` of a long run: a fused map/reduce, a groupby, a persisted array read
    twice then unpersisted, or a sort, in turn; each checked. Under a memory limit of 100 KB the
    400 KB arrays spill."""

    def __init__(self, spill_dir):
        self.spill_dir = spill_dir
        self.a = np.random.default_rng(0).standard_normal(50_000)
        self.table = struct({"k": np.arange(20_000) % 37, "v": np.ones(20_000)})
        self.most_files = 0

    def __call__(self, i: int) -> None:
        x = rd.from_numpy(self.a, npartitions=8)
        kind = i % 4
        if kind == 0:
            assert float((x * 2 + i).sum()) == pytest.approx((self.a * 2 + i).sum(), rel=1e-12)
        elif kind == 1:
            got = rd.from_numpy(self.table, npartitions=6).groupby("k").sum().compute()
            assert len(got) == 37 and got["v"].sum() == 20_000
        elif kind == 2:
            y = (x + i).persist()
            assert float(y.sum()) == pytest.approx((self.a + i).sum(), rel=1e-12)
            assert float(y.max()) == self.a.max() + i
            self.most_files = max(self.most_files, files_under(self.spill_dir))
            y.unpersist()
        else:
            got = (x * 1.0).sort().compute()
            assert got[0] == self.a.min() and got[-1] == self.a.max()


def _leak_run(ctx, spill_dir, runs: int, workers: dict) -> dict:
    """Run ``runs`` mixed computations after a warm-up; the growth of every resource."""
    mixed = Mixed(spill_dir)
    with ctx.as_default():
        for i in range(60):
            mixed(i)
        gc.collect()
        assert wait_until(lambda: files_under(spill_dir) == 0)
        before = {"rss_mb": rss_mb(), "threads": threading.active_count(), "os_threads": os_threads(),
                  "fds": open_fds(), "spill_files": files_under(spill_dir)}
        worker_before = {pid: (rss_mb(pid), open_fds(pid)) for pid in workers.values()}
        start = time.monotonic()
        for i in range(runs):
            mixed(i)
        took = time.monotonic() - start
        gc.collect()
        assert wait_until(lambda: files_under(spill_dir) == 0)  # the processes backend drops asynchronously
        after = {"rss_mb": rss_mb(), "threads": threading.active_count(), "os_threads": os_threads(),
                 "fds": open_fds(), "spill_files": files_under(spill_dir)}
        growth = {k: round(after[k] - before[k], 2) for k in before}
        assert ctx.store.memory_bytes == 0  # no block outlives its array
        assert mixed.most_files > 0  # the limit made the run spill
        for pid, (rss, fds) in worker_before.items():
            growth[f"worker_{pid}_rss_mb"] = round(rss_mb(pid) - rss, 2)
            growth[f"worker_{pid}_fds"] = open_fds(pid) - fds
        if workers:
            assert ctx.executor.worker_pids() == workers  # no worker died
    growth["seconds"] = round(took, 1)
    growth["rss_at_start_mb"] = round(before["rss_mb"], 1)
    return growth


def _assert_no_growth(growth: dict) -> None:
    assert growth["rss_mb"] < 30, growth
    assert growth["threads"] == 0 and growth["os_threads"] == 0, growth
    assert growth["fds"] <= 2, growth
    assert growth["spill_files"] == 0, growth
    for key, value in growth.items():
        if key.startswith("worker_"):
            assert value < (30 if key.endswith("rss_mb") else 3), growth


def test_1000_computations_leak_nothing_threads(tmp_path):
    with rd.Context(backend="threads", workers=2, memory_limit="100KB", spill_dir=str(tmp_path)) as ctx:
        growth = _leak_run(ctx, tmp_path, 1000, {})
    _assert_no_growth(growth)
    assert files_under(tmp_path) == 0
    report("1000 computations, threads", **growth)


def test_200_computations_leak_nothing_processes(tmp_path):
    with rd.Context(backend="processes", workers=2, memory_limit="100KB", spill_dir=str(tmp_path)) as ctx:
        growth = _leak_run(ctx, tmp_path, 200, ctx.executor.worker_pids())
    _assert_no_growth(growth)
    assert files_under(tmp_path) == 0
    report("200 computations, processes", **growth)


# -- the bugs these runs found, each on its own ------------------------------------------------------

class _Node:
    """What a store needs of a node."""

    def __init__(self, node_id: int, npartitions: int = 4):
        self.id = node_id
        self.persist_level = "memory"
        self.npartitions = npartitions


def test_a_collection_during_the_block_stores_scan_does_not_break_it(tmp_path):
    """A node garbage collected (its finalizer dropping its blocks) while the store looks for a
    block to spill, on the same thread: the scan used to fail (OrderedDict mutated during
    iteration); seen after interrupts, whose tracebacks leave nodes to the cycle collector."""
    from rdarray.storage.blocks import BlockStore

    trigger = []

    class Collecting:
        """A block of no size whose size is asked while the collector has work."""

        @property
        def nbytes(self):
            if trigger:
                trigger.clear()
                gc.collect()
            return 0

    store = BlockStore(memory_limit=10_000, spill_dir=str(tmp_path))
    keep = _Node(1)
    store.put(keep, 0, Collecting())
    dead = _Node(2)
    dead.cycle = dead  # only the cycle collector frees it
    store.put(dead, 0, np.zeros(100))
    trigger.append(dead)
    del dead
    store.put(keep, 1, np.zeros(1000))
    store.put(keep, 2, np.zeros(1000))  # over the limit: the scan runs, and the collector with it
    assert not trigger
    assert store.get(2, 0) is None  # the collected node's block is gone
    np.testing.assert_array_equal(store.get(1, 1), np.zeros(1000))
    assert store.memory_bytes == 8000  # the accounting survived it: one array in memory, one spilled
    store.clear()


def test_a_collection_inside_the_remote_stores_lock_does_not_deadlock():
    """The processes backend's record of block locations: a node's finalizer run by a collection
    while the same thread holds the lock used to wait on that lock forever."""
    from rdarray.backends.processes.driver import RemoteStore

    trigger, commands = [], []

    class Executor:
        def command(self, *command):
            commands.append(command)

    class Collected(_Node):
        @property
        def id(self):
            if trigger:
                trigger.clear()
                gc.collect()
            return self._id

        @id.setter
        def id(self, value):
            self._id = value

    store = RemoteStore(Executor(), None)
    dead = Collected(2)
    dead.cycle = dead
    store.record(dead, 0, 0, 100)
    trigger.append(dead)
    del dead
    done = threading.Event()

    alive_node = Collected(1)

    def run():
        store.record(alive_node, 0, 1, 100)
        store.forget_worker(0)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "deadlock"
    assert commands == [("drop", [2])] and not store.has(2, 0) and store.has(1, 0)


def test_an_error_reading_a_spilled_bucket_is_not_masked(tmp_path):
    """Reading a spilled bucket keeps a view of the mapped file; an error while decoding it
    (corrupt data, or Ctrl-C) used to be replaced by 'BufferError: cannot close exported pointers
    exist' when the map was closed."""
    from rdarray.storage.buckets import Buckets, SpilledBuckets, write_buckets

    path = tmp_path / "buckets.rdb"
    with open(path, "wb") as f:
        bounds = write_buckets(f, Buckets(np.arange(1000.0), np.array([0, 500, 1000])))
    spilled = SpilledBuckets(str(path), bounds)
    np.testing.assert_array_equal(spilled[1], np.arange(500.0, 1000.0))
    data = bytearray(path.read_bytes())
    data[bounds[1] - 10] ^= 0xFF  # inside bucket 0's payload
    path.write_bytes(bytes(data))
    with pytest.raises(rd.CorruptDataError):
        spilled[0]
    np.testing.assert_array_equal(spilled[1], np.arange(500.0, 1000.0))


def test_a_spill_stopped_mid_write_leaves_no_file(tmp_path, monkeypatch):
    from rdarray.storage import blocks

    def interrupted(f, buckets):
        f.write(b"half a frame")
        raise KeyboardInterrupt

    monkeypatch.setattr(blocks, "write_buckets", interrupted)
    store = blocks.BlockStore(memory_limit=1000, spill_dir=str(tmp_path))
    node = _Node(1)
    from rdarray.storage.buckets import Buckets

    with pytest.raises(KeyboardInterrupt):
        store.put(node, 0, Buckets(np.arange(500.0), np.array([0, 250, 500])))
    assert files_under(tmp_path) == 0
    np.testing.assert_array_equal(store.get(1, 0)[1], np.arange(250.0, 500.0))  # still in memory
    store.clear()


def test_a_closed_block_store_refuses_blocks_and_makes_no_directory(tmp_path):
    """A task still running when its context closes gets a clear error, and leaves no file."""
    from rdarray.storage.blocks import BlockStore

    store = BlockStore(memory_limit=1000, spill_dir=str(tmp_path))
    node = _Node(1)
    store.put(node, 0, np.zeros(500))  # spilled
    assert files_under(tmp_path) == 1
    store.close()
    assert os.listdir(tmp_path) == []
    with pytest.raises(RuntimeError, match="closed"):
        store.put(node, 1, np.zeros(500))
    with pytest.raises(RuntimeError, match="closed"):
        store.get(1, 0)
    assert os.listdir(tmp_path) == []
    store.drop(1)  # a node collected after close: nothing to do, no error


def test_an_idle_processes_driver_keeps_nothing_of_the_last_computation(processes_context):
    """The driver's I/O thread used to hold its last command, the last stage run, until the next
    one: the plan's nodes, the driver's inputs to it, and the workers' shuffle outputs stayed."""
    with processes_context.as_default():
        x = rd.from_numpy(np.arange(50_000.0), npartitions=8)
        s = x.sort(descending=True)
        assert s.compute()[0] == 49_999.0
        node = weakref.ref(s._node)
        del s
        assert wait_until(lambda: gc.collect() is not None and node() is None, timeout=3)
        assert wait_until(lambda: processes_context.store.memory_bytes == 0, timeout=3)
