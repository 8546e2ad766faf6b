"""The dask backend's own promises: plans on a dask.distributed cluster, partitions kept there,
futures on it, recovery when a dask worker dies, interop with dask arrays and DataFrames, and a
deployment started with dask's own command-line tools.

The rest of the suite runs on this backend too (the ``ctx`` fixture)."""
from __future__ import annotations

import concurrent.futures
import contextvars
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import rdarray as rd
from _helpers import (
    Counter,
    alive,
    assert_group_totals,
    group_sums,
    keys_and_values,
    kill_first_time,
    killing_group_total,
    struct,
    wait_until,
)

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")


@pytest.fixture
def fresh_cluster():
    """A LocalCluster of two worker processes of its own (these tests kill workers)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with rd.Context(backend="dask", client=client) as ctx:
            yield ctx


# -- the backend -------------------------------------------------------------------------------------

def test_context_needs_a_client_or_an_address():
    with pytest.raises(ValueError, match="client=Client"):
        rd.Context(backend="dask")
    with pytest.raises(TypeError, match="unexpected option"):
        rd.Context(backend="threads", client=None)


def test_persisted_partitions_stay_on_the_cluster(dask_context):
    with dask_context.as_default() as ctx:
        counter = Counter()
        a = np.arange(100, 900, dtype=np.float64)
        y = rd.from_numpy(a, npartitions=4).map_partitions(counter, dtype=np.float64).persist()
        assert float(y.sum()) == a.sum() and float((y * 2).sum()) == 2 * a.sum()
        counter.assert_each_once(4)
        assert ctx.store.has_all(y.lineage)
        y.unpersist()
        assert not ctx.store.has(y.lineage.id, 0)


def test_futures_run_on_the_cluster(dask_context):
    with dask_context.as_default() as ctx:
        pids = {f.result() for f in ctx.map(lambda _: (time.sleep(0.1), os.getpid())[1], range(4))}
        assert os.getpid() not in pids
        assert [f.result() for f in rd.as_completed(ctx.map(abs, [-1]))] == [1]
        with pytest.raises(ZeroDivisionError):
            ctx.submit(lambda: 1 // 0).result()


def test_errors_keep_their_type_and_the_context_stays_usable(dask_context):
    with dask_context.as_default():
        x = rd.from_numpy(np.arange(10.0), npartitions=2)
        with pytest.raises(ZeroDivisionError):
            x.map_partitions(lambda b: b if not len(b) else 1 // 0, dtype=np.float64).persist().compute()
        assert float(x.sum()) == 45.0


# -- faults --------------------------------------------------------------------------------------

def test_worker_killed_in_a_map_stage(fresh_cluster, tmp_path):
    marker = str(tmp_path / "killed")
    a = np.arange(1, 8001, dtype=np.float64)
    y = rd.from_numpy(a, npartitions=8).map_partitions(
        lambda b: (kill_first_time(marker) if len(b) and b[0] == a[3000] else None, b * 2)[1], dtype=np.float64)
    assert float(y.sum()) == (a * 2).sum()
    assert os.path.exists(marker)


def test_worker_killed_in_a_reduce_stage(fresh_cluster, tmp_path):
    marker = str(tmp_path / "killed")
    a = keys_and_values()
    got = rd.from_numpy(a, npartitions=8).groupby("k").apply(killing_group_total(marker, 7)).compute()
    assert os.path.exists(marker)
    assert_group_totals(got, a)


def test_persisted_data_survives_a_lost_worker(fresh_cluster):
    a = np.arange(100, 4100, dtype=np.float64)
    y = rd.from_numpy(a, npartitions=8).map_partitions(lambda b: b + 1, dtype=np.float64).persist()
    assert float(y.sum()) == (a + 1).sum()
    client = fresh_cluster.executor.client
    victim = next(iter(client.run(os.getpid).values()))
    os.kill(victim, signal.SIGKILL)
    assert np.array_equal(y.compute(), a + 1)
    assert float((y * 2).sum()) == 2 * (a + 1).sum()


# -- interop -------------------------------------------------------------------------------------

def test_to_and_from_dask_array_are_lazy(dask_context):
    with dask_context.as_default():
        counter = Counter()
        a = np.arange(40.0).reshape(20, 2)
        x = rd.from_numpy(a, npartitions=3).map_partitions(counter, dtype=np.float64)
        d = x.to_dask_array()
        assert counter.total == 0 and d.chunks[1] == (2,) and d.dtype == a.dtype
        np.testing.assert_array_equal(d.compute(), a)
        back = rd.from_dask_array(da.from_array(a, chunks=(6, 1)))
        assert back.partition_lengths == (6, 6, 6, 2) and back.shape == a.shape
        np.testing.assert_array_equal((back * 2).compute(), a * 2)
        unknown = rd.from_dask_array(da.arange(30, chunks=7)[da.arange(30, chunks=7) % 3 == 0])
        np.testing.assert_array_equal(unknown.compute(), np.arange(0, 30, 3))


def test_to_and_from_dask_dataframe(dask_context):
    with dask_context.as_default():
        df = pd.DataFrame({"k": [3, 1, 2, 1, 3], "name": ["a", "bb", "c", "dddd", "e"], "v": [1.0, 2, 3, 4, 5]})
        x = rd.from_dask_dataframe(dd.from_pandas(df, npartitions=2))
        assert x.npartitions == 2 and x.dtype.names == ("k", "name", "v")
        got = x.compute()
        assert got["name"].tolist() == df["name"].tolist() and np.array_equal(got["v"], df["v"])
        sums = x[["k", "v"]].groupby("k").sum().compute()
        assert np.array_equal(sums["k"], [1, 2, 3]) and np.array_equal(sums["v"], [6.0, 3.0, 6.0])
        back = x.to_dask_dataframe().compute()
        pd.testing.assert_frame_equal(back.reset_index(drop=True), df, check_dtype=False)
        with pytest.raises(TypeError, match="structured"):
            rd.from_numpy(np.arange(3.0)).to_dask_dataframe()
        missing = pd.DataFrame({"s": pd.Series(["a", None, "é" * 50, None, ""], dtype="str"), "v": np.arange(5.0)})
        y = rd.from_dask_dataframe(dd.from_pandas(missing, npartitions=3))  # missing text stays missing
        pd.testing.assert_frame_equal(y.to_pandas(), missing)
        counts = y.groupby("s", dropna=False).agg(n=("v", "count")).to_pandas()
        expected = missing.groupby("s", dropna=False).agg(n=("v", "count")).reset_index()
        pd.testing.assert_frame_equal(counts, expected, check_dtype=False)


# -- a deployment from dask's command-line tools ------------------------------------------------------

def test_a_cluster_started_from_the_command_line(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    dask_cli = [sys.executable, "-m", "dask"]  # the ``dask`` command, from this environment
    started = [subprocess.Popen([*dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(scheduler_file)], stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            started.append(subprocess.Popen([*dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard",
                                             "--host", "127.0.0.1"], stderr=subprocess.DEVNULL))
        with rd.Context(backend="dask", address=address) as ctx:
            ctx.executor.client.wait_for_workers(2, timeout=60)
            assert ctx.workers >= 1
            a = keys_and_values(20_000, groups=300)
            x = rd.from_numpy(a, npartitions=6)
            got = x.groupby("k").sum().compute()
            keys, sums = group_sums(a)
            assert np.array_equal(got["k"], keys)
            np.testing.assert_allclose(got["v"], sums, rtol=1e-12)
            right = struct({"k": np.arange(0, 300, 2), "w": np.arange(150.0)})
            joined = rd.merge(x, rd.from_numpy(right, npartitions=2), on="k").compute()
            expected = pd.DataFrame(a).merge(pd.DataFrame(right), on="k")
            assert len(joined) == len(expected)
            np.testing.assert_allclose(np.sort(joined["w"]), np.sort(expected["w"].to_numpy()))
            centre = rd.from_numpy(np.linspace(0.0, 1.0, 10_000), npartitions=4).persist()
            m = 0.5
            for _ in range(5):  # a persisted iterative loop
                m = float(((centre - m) * 0.5 + m).mean())
            assert abs(m - 0.5) < 1e-12
            ctx.executor.client.shutdown()
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
    assert all(p.poll() is not None for p in started)


def test_a_hung_worker_is_restarted_and_its_tasks_rerun(tmp_path):
    """A worker stopped (SIGSTOP) in the middle of a task: after rd.config.heartbeat_timeout it is
    restarted through its nanny, and the result is right. The scheduler's own worker-ttl is off
    here, so without rdarray's check the computation would wait for ever."""
    import dask

    marker = str(tmp_path / "stopped")
    a = keys_and_values(8000, groups=40, seed=4)

    def fn(b):
        if len(b) and b["k"][0] == a["k"][5000] and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGSTOP)
        return b
    saved = rd.config.heartbeat_timeout
    rd.config.heartbeat_timeout = 3.0
    pool = concurrent.futures.ThreadPoolExecutor(1)  # a hang fails the test, it does not hang the suite
    try:
        with dask.config.set({"distributed.scheduler.worker-ttl": None}), \
                distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client, rd.Context(backend="dask", client=client):
            pids = set(client.run(os.getpid).values())
            x = rd.from_numpy(a, npartitions=8).map_partitions(fn, dtype=a.dtype)
            start = time.monotonic()
            # the pool's thread runs in this thread's context variables, so on this block's context
            got = pool.submit(contextvars.copy_context().run,
                              lambda: x.groupby("k").agg(total=("v", "sum")).compute()).result(timeout=300)
            took = time.monotonic() - start
            assert os.path.exists(marker)
            assert_group_totals(got, a)
            assert wait_until(lambda: sum(alive(pid) for pid in pids) == 1, timeout=60)  # the hung one is gone
    finally:
        pool.shutdown(wait=False)
        rd.config.heartbeat_timeout = saved
    print(f"\n[dask hung worker] completed in {took:.1f} s with a 3 s heartbeat timeout")


@pytest.fixture
def watched_cluster():
    """A LocalCluster of two worker processes with nannies and the scheduler's own worker-ttl off
    (so only rdarray's watchdog can give up a hung worker), under a 2 s heartbeat timeout."""
    import dask

    saved = rd.config.heartbeat_timeout
    rd.config.heartbeat_timeout = 2.0
    try:
        with dask.config.set({"distributed.scheduler.worker-ttl": None}), \
                distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=None) as cluster, \
                distributed.Client(cluster, set_as_default=False) as client, \
                rd.Context(backend="dask", client=client) as ctx:
            yield ctx, client
    finally:
        rd.config.heartbeat_timeout = saved


def test_a_hung_worker_running_a_submitted_task_is_killed_and_the_task_rerun(watched_cluster, tmp_path):
    """``ctx.submit`` work whose worker is stopped (SIGSTOP) while the user waits on the future:
    the stopped worker (silent, and using no CPU) is killed through its nanny, the task runs again
    elsewhere and the future gets its result. Without the watchdog it would wait for ever."""
    ctx, client = watched_cluster
    marker = str(tmp_path / "stopped")

    def stopped_once(marker: str, value):
        """``value`` and the pid; the first call SIGSTOPs its process first: it hangs, alive."""
        if not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGSTOP)
        return value, os.getpid()
    pids = set(client.run(os.getpid).values())
    start = time.monotonic()
    future = ctx.submit(stopped_once, marker, np.arange(5) * 2)
    assert wait_until(lambda: os.path.exists(marker), timeout=30)
    value, pid = future.result(timeout=120)  # a guard against a hang, not a timing
    took = time.monotonic() - start
    np.testing.assert_array_equal(value, np.arange(5) * 2)
    assert pid in pids
    assert wait_until(lambda: sum(alive(p) for p in pids) == 1, timeout=60)  # the stopped one is gone
    assert ctx.submit(abs, -3).result(timeout=60) == 3  # the context goes on
    print(f"\n[dask hung worker, submit] result in {took:.1f} s with a 2 s heartbeat timeout")


@pytest.mark.slow
def test_a_submitted_task_holding_the_gil_past_the_timeout_is_not_killed(watched_cluster):
    """A submitted task inside one C call that holds the GIL for about three times the heartbeat
    timeout: its worker sends no heartbeat, but its CPU time (read through the nanny) advances, so
    it is computing, not hung, and is not killed."""
    ctx, client = watched_cluster
    pids = client.run(os.getpid)

    def gil_holding_sum(n: int):
        """One C call holding the GIL throughout: the worker's event loop is silent too."""
        return sum(range(n)), os.getpid()
    start = time.monotonic()
    sum(range(10**7))
    n = int(10**7 / (time.monotonic() - start) * 6)  # about 6 s here, 3 heartbeat timeouts
    total, pid = ctx.submit(gil_holding_sum, n).result(timeout=120)
    assert total == n * (n - 1) // 2
    assert pid in pids.values()
    assert client.run(os.getpid) == pids  # no worker was restarted
    assert all(alive(p) for p in pids.values())


@pytest.mark.slow
def test_a_scheduler_without_rdarray_still_has_hung_workers_killed(tmp_path):
    """What the watchdog runs on the scheduler and the nannies travels by value: a scheduler (from
    dask's command line, its worker-ttl off) where rdarray cannot be imported runs it, and a
    worker stopped under a submitted task is killed; the task reruns and the future gets its
    result."""
    blocked = tmp_path / "blocked"
    (blocked / "rdarray").mkdir(parents=True)
    (blocked / "rdarray" / "__init__.py").write_text("raise ImportError('rdarray is not installed here')\n")
    scheduler_file, marker = tmp_path / "scheduler.json", str(tmp_path / "stopped")
    dask_cli = [sys.executable, "-m", "dask"]
    env = dict(os.environ, PYTHONPATH=str(blocked), DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL="None")
    started = [subprocess.Popen([*dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(scheduler_file)], env=env, cwd=blocked,
                                stderr=subprocess.DEVNULL)]  # ``-m`` puts the working directory first
    saved = rd.config.heartbeat_timeout
    rd.config.heartbeat_timeout = 2.0
    try:
        assert wait_until(scheduler_file.exists, timeout=60)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):  # with a nanny each (the default), rdarray importable
            started.append(subprocess.Popen([*dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard",
                                             "--host", "127.0.0.1"], stderr=subprocess.DEVNULL))

        def stopped_once(marker: str):
            if not os.path.exists(marker):
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGSTOP)
            return os.getpid()

        def rdarray_importable():
            try:
                import rdarray  # noqa: F401
            except ImportError:
                return False
            return True

        with rd.Context(backend="dask", address=address) as ctx:
            client = ctx.executor.client
            client.wait_for_workers(2, timeout=60)
            assert client.run_on_scheduler(rdarray_importable) is False
            pids = set(client.run(os.getpid).values())
            pid = ctx.submit(stopped_once, marker).result(timeout=120)  # a guard against a hang, not a timing
            assert os.path.exists(marker) and pid in pids
            assert wait_until(lambda: sum(alive(p) for p in pids) == 1, timeout=60)
    finally:
        rd.config.heartbeat_timeout = saved
        for process in started[::-1]:  # the workers first: they would wait for a scheduler gone
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_client_that_is_not_the_default_is_enough():
    """A client made with ``set_as_default=False``: rdarray waits on its own client, never on a
    default one (there is none here)."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client, \
            rd.Context(backend="dask", client=client) as ctx:
        x = rd.from_numpy(np.arange(1000.0), npartitions=4)
        assert ctx.compute((x * 2).sum())[0] == 999000.0
