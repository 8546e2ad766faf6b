"""The processes backend's own promises: real worker processes over ZeroMQ, futures on them,
shuffles peer to peer, .npy inputs opened by the workers, recovery from workers killed at any
moment, signed messages (a rogue client is ignored), and nothing left behind.

The rest of the suite runs on this backend too (the ``ctx`` fixture)."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zmq

import rdarray as rd
from _helpers import (
    Counter,
    alive,
    assert_group_totals,
    keys_and_values,
    kill_first_time,
    killing_group_total,
    struct,
    wait_until,
)


@pytest.fixture
def pctx():
    """A fresh processes context of two workers (these tests kill workers)."""
    with rd.Context(backend="processes", workers=2) as c:
        yield c


def kill_once(marker, value):
    """A partition function that kills its worker the first time it sees ``value`` first in a
    partition, and doubles the rows."""
    marker = str(marker)

    def fn(b):
        if len(b) and b.reshape(-1)[0] == value:
            kill_first_time(marker)
        return b * 2
    return fn


# -- workers and futures ---------------------------------------------------------------------------

def test_workers_are_processes_of_their_own(pctx):
    assert pctx.backend == "processes" and pctx.workers == 2
    pids = set(pctx.executor.worker_pids().values())
    assert len(pids) == 2 and os.getpid() not in pids
    seen = {f.result() for f in pctx.map(lambda _: (time.sleep(0.2), os.getpid())[1], range(6))}
    assert seen <= pids and seen  # calls ran on the workers, not here


def test_futures_results_errors_and_as_completed(pctx):
    futures = pctx.map(pow, [2, 3, 4], [3, 2, 0])
    assert [f.result() for f in rd.as_completed(futures)] != [] and [f.result() for f in futures] == [8, 9, 1]
    with pytest.raises(ZeroDivisionError):
        pctx.submit(lambda: 1 / 0).result()
    done, not_done = rd.wait([pctx.submit(np.arange, 5)])
    assert not not_done and np.array_equal(done.pop().result(), np.arange(5))


def test_pure_python_functions_run_in_parallel_processes(pctx):
    a = np.arange(40, dtype=np.int64)
    x = rd.from_numpy(a, npartitions=4)
    pids = x.map_partitions(lambda b: np.full(len(b), os.getpid()), dtype=np.int64).compute()
    assert set(pids) <= set(pctx.executor.worker_pids().values())
    squares = x.map_partitions(lambda b: np.array([int(v) ** 2 for v in b]), dtype=np.int64)
    assert np.array_equal(squares.compute(), a ** 2)


# -- where the data goes -----------------------------------------------------------------------------

def test_npy_inputs_are_opened_by_the_workers(pctx, tmp_path):
    a = np.arange(1_000_000, dtype=np.float64)
    np.save(tmp_path / "a.npy", a)
    executor = pctx.executor
    before = executor.bytes_sent
    assert float(rd.from_npy(tmp_path / "a.npy", npartitions=4).sum()) == a.sum()
    assert executor.bytes_sent - before < a.nbytes / 20  # tasks, not the file's rows
    before = executor.bytes_sent
    assert float(rd.from_numpy(a, npartitions=4).sum()) == a.sum()
    assert executor.bytes_sent - before >= a.nbytes  # this process's memory must be sent


def test_shuffle_moves_data_between_workers_not_through_the_driver(pctx, tmp_path):
    rng = np.random.default_rng(1)
    a = struct({"k": rng.permutation(400_000), "v": rng.standard_normal(400_000)})
    np.save(tmp_path / "s.npy", a)
    x = rd.from_npy(tmp_path / "s.npy", npartitions=4)
    executor = pctx.executor
    sent, received = executor.bytes_sent, executor.bytes_received
    ordered = x.sort(order="k")
    assert int(ordered.count()) == len(a)
    assert executor.bytes_sent - sent < a.nbytes / 20
    assert executor.bytes_received - received < a.nbytes / 20
    assert np.array_equal(ordered.head(3)["k"], [0, 1, 2])


# -- faults --------------------------------------------------------------------------------------

def test_worker_killed_in_a_map_stage(pctx, tmp_path):
    a = np.arange(1, 8001, dtype=np.float64)
    x = rd.from_numpy(a, npartitions=8)
    y = x.map_partitions(kill_once(tmp_path / "killed", a[3000]), dtype=np.float64)
    assert float(y.sum()) == (a * 2).sum()
    assert (tmp_path / "killed").exists()
    assert wait_until(lambda: len(pctx.executor.worker_pids()) == 2)  # replaced


def test_worker_killed_in_a_shuffle_map_stage(pctx, tmp_path):
    a = keys_and_values()
    x = rd.from_numpy(a, npartitions=8)
    marker = tmp_path / "killed"

    def fn(b):
        kill_once(marker, a["k"][2500])(b["k"])
        return b
    got = x.map_partitions(fn, dtype=a.dtype).groupby("k").agg(total=("v", "sum")).compute()
    assert marker.exists()
    assert_group_totals(got, a)


def test_worker_killed_in_a_reduce_stage(pctx, tmp_path):
    a = keys_and_values()
    marker = str(tmp_path / "killed")
    got = rd.from_numpy(a, npartitions=8).groupby("k").apply(killing_group_total(marker, 7)).compute()
    assert os.path.exists(marker)
    assert_group_totals(got, a)


def test_only_the_lost_persisted_partitions_are_recomputed(pctx):
    a = np.arange(100, 4100, dtype=np.float64)
    counter = Counter()
    y = rd.from_numpy(a, npartitions=8).map_partitions(counter, dtype=np.float64).persist()
    assert float(y.sum()) == a.sum()
    counter.assert_each_once(8)
    executor = pctx.executor
    where = {p: executor.store.location(y.lineage.id, p) for p in range(8)}
    victim = where[0]
    os.kill(executor.worker_pids()[victim], signal.SIGKILL)
    assert wait_until(lambda: victim not in executor.worker_pids())
    assert float((y * 2).sum()) == 2 * a.sum()
    calls = counter.calls
    lost = {a[p * 500].item() for p in range(8) if where[p] == victim}
    assert {v for v, n in calls.items() if n == 2} == lost and set(calls.values()) <= {1, 2}
    assert np.array_equal(y.compute(), a)


def test_a_task_that_keeps_killing_its_worker_stops_with_worker_lost_error(pctx):
    x = rd.from_numpy(np.arange(10.0), npartitions=2)
    with pytest.raises(rd.WorkerLostError):
        x.map_partitions(lambda b: os.kill(os.getpid(), signal.SIGKILL) if len(b) else b,  # not on this process's
                         dtype=np.float64).compute()                                      # empty sample

    assert float(x.sum()) == 45.0  # the context is still usable
    with pytest.raises(rd.WorkerLostError):
        pctx.submit(lambda: os.kill(os.getpid(), signal.SIGKILL)).result()
    assert pctx.submit(lambda: 7).result() == 7


# -- hung workers and replacement ------------------------------------------------------------------

@contextlib.contextmanager
def configured(**settings):
    """``rd.config`` with ``settings`` for the block (a Context reads them when it is made)."""
    saved = {name: getattr(rd.config, name) for name in settings}
    for name, value in settings.items():
        setattr(rd.config, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(rd.config, name, value)


def stop_first_time(marker: str) -> None:
    """SIGSTOP the calling process, the first time only: it hangs, alive, until killed."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGSTOP)


@pytest.mark.parametrize("stage", ["map", "reduce"])
def test_a_hung_worker_is_killed_and_replaced_and_its_tasks_rerun(tmp_path, stage):
    """A worker stopped in the middle of a task (map), or while others fetch its shuffle outputs
    (reduce), is killed after the heartbeat timeout; the computation completes right."""
    marker = str(tmp_path / "stopped")
    a = keys_and_values(8000, groups=40, seed=4)
    with configured(heartbeat_timeout=3.0), rd.Context(backend="processes", workers=2) as ctx:
        pids = set(ctx.executor.worker_pids().values())
        start = time.monotonic()
        if stage == "map":
            def fn(b):
                if len(b) and b["k"][0] == a["k"][5000]:
                    stop_first_time(marker)
                return b
            got = rd.from_numpy(a, npartitions=8).map_partitions(fn, dtype=a.dtype).groupby("k").agg(
                total=("v", "sum")).compute()
        else:
            def total(group):
                if group["k"][0] == 7:
                    stop_first_time(marker)
                return struct({"k": group["k"][:1], "total": [group["v"].sum()]})
            got = rd.from_numpy(a, npartitions=8).groupby("k").apply(total).compute()
        took = time.monotonic() - start
        assert os.path.exists(marker)
        assert_group_totals(got, a)
        now = set(ctx.executor.worker_pids().values())
        assert len(now) == 2 and len(now & pids) == 1  # the hung one replaced
        assert not any(alive(pid) for pid in pids - now)
    print(f"\n[hung worker] {stage}: completed in {took:.1f} s with a 3 s heartbeat timeout")


@pytest.mark.parametrize("name, value, error", [("heartbeat_timeout", 0, ValueError),
                                                ("heartbeat_timeout", -1.0, ValueError),
                                                ("heartbeat_timeout", "60", TypeError),
                                                ("max_frame_bytes", 0, ValueError),
                                                ("max_frame_bytes", 1.5e6, TypeError),
                                                ("max_frame_bytes", True, TypeError)])
def test_bad_settings_are_refused_naming_them(name, value, error):
    before = getattr(rd.config, name)
    with pytest.raises(error, match=f"rd.config.{name}"):
        setattr(rd.config, name, value)
    assert getattr(rd.config, name) == before


def test_a_busy_worker_is_not_taken_for_hung():
    """A task computing (in Python, and in NumPy) for longer than the heartbeat timeout: its
    worker is not killed."""
    def busy(b):
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            np.sort(np.random.default_rng(0).standard_normal(200_000))
            sum(range(10_000))
        return b + 1
    with configured(heartbeat_timeout=4.0), rd.Context(backend="processes", workers=2) as ctx:
        pids = ctx.executor.worker_pids()
        assert np.array_equal(rd.from_numpy(np.arange(4.0), npartitions=2).map_partitions(
            busy, dtype=np.float64).compute(), np.arange(4.0) + 1)
        assert ctx.executor.worker_pids() == pids


def test_a_task_holding_the_gil_past_the_timeout_is_not_taken_for_hung():
    """One C call that holds the GIL (a builtin ``sum`` over a range) for about three times the
    heartbeat timeout silences the worker's I/O thread too; the CPU time it uses says it is
    computing, so it is not killed."""
    start = time.monotonic()
    sum(range(10**7))
    n = int(10**7 / (time.monotonic() - start) * 12)  # about 12 s here

    def hold(b):
        return b + sum(range(n)) * 0
    with configured(heartbeat_timeout=4.0), rd.Context(backend="processes", workers=2) as ctx:
        pids = ctx.executor.worker_pids()
        got = rd.from_numpy(np.arange(4.0), npartitions=2).map_partitions(hold, dtype=np.float64).compute()
        assert np.array_equal(got, np.arange(4.0))
        assert ctx.executor.worker_pids() == pids


def test_a_burst_of_deaths_keeps_the_pool_at_its_size(tmp_path, monkeypatch):
    """15 workers killed one after another, while every other replacement fails to start: the
    pool comes back to its size each time, and computations are right."""
    from rdarray.backends.processes import driver as processes

    flaky = tmp_path / "flaky.py"
    flaky.write_text("import os, sys\n"
                     f"n = len(os.listdir({str(tmp_path / 'starts')!r}))\n"
                     f"open(os.path.join({str(tmp_path / 'starts')!r}, str(n)), 'w').close()\n"
                     "if n % 2:\n"
                     "    sys.exit('flaky worker: refusing to start')\n"
                     "from rdarray.backends.processes.worker import main\n"
                     "main()\n")
    (tmp_path / "starts").mkdir()
    a = np.arange(20_000.0)
    with rd.Context(backend="processes", workers=2) as ctx:
        monkeypatch.setattr(processes, "WORKER_COMMAND", [sys.executable, str(flaky)])
        executor = ctx.executor
        x = rd.from_numpy(a, npartitions=6).map_partitions(lambda b: b * 3, dtype=np.float64).persist()
        for k in range(15):
            victim = min(executor.worker_pids())
            os.kill(executor.worker_pids()[victim], signal.SIGKILL)
            assert wait_until(lambda: len(executor.worker_pids()) == 2 and victim not in executor.worker_pids()  # noqa: B023
                              and all(w.peer for w in list(executor._workers.values())), timeout=60)
            if k % 5 == 4:
                assert float(x.sum()) == 3 * a.sum()
        assert np.array_equal(x.compute(), a * 3)
        failed = len(os.listdir(tmp_path / "starts")) // 2
    print(f"\n[burst] 15 workers killed, {failed} replacements failed to start; the pool stayed at 2")


def test_workers_that_cannot_start_fail_with_worker_lost_error_saying_why(tmp_path, monkeypatch):
    from rdarray.backends.processes import driver as processes

    broken = tmp_path / "broken.py"
    broken.write_text("import sys\nsys.exit('cannot start: no such module rdarray_missing')\n")
    monkeypatch.setattr(processes, "BACKOFF", (0.05, 0.2))
    monkeypatch.setattr(processes, "WORKER_COMMAND", [sys.executable, str(broken)])
    with pytest.raises(rd.WorkerLostError, match="(?s)failed to start 5 times.*exited with code 1.*rdarray_missing"):
        rd.Context(backend="processes", workers=2)
    # and when they stop starting later: everything waiting, and asked later, fails saying why
    monkeypatch.setattr(processes, "WORKER_COMMAND", [sys.executable, "-m", "rdarray.backends.processes"])
    with rd.Context(backend="processes", workers=2) as ctx:
        monkeypatch.setattr(processes, "WORKER_COMMAND", [sys.executable, str(broken)])
        for pid in ctx.executor.worker_pids().values():
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(rd.WorkerLostError, match="(?s)failed to start.*rdarray_missing"):
            rd.from_numpy(np.arange(10.0), npartitions=2).map_partitions(lambda b: b, dtype=np.float64).compute()
        with pytest.raises(rd.WorkerLostError, match="failed to start"):
            ctx.submit(lambda: 1).result()


def test_a_process_without_the_key_cannot_take_a_workers_place(pctx):
    """Local sockets connecting to the driver with every identity a worker could have had, before
    the replacements of both workers start: the replacements join, and computations are right."""
    executor = pctx.executor
    context = zmq.Context()
    try:
        rogues = []
        for identity in [b"w%d" % i for i in range(12)] + [os.urandom(8), b"driver"] + [
                w.identity[:8] for w in executor._workers.values()]:
            rogue = context.socket(zmq.DEALER)
            rogue.setsockopt(zmq.LINGER, 0)
            rogue.setsockopt(zmq.IDENTITY, identity)
            rogue.connect(executor._address)
            rogue.send_multipart([b"x" * 32, b'{"kind": "hello", "peer": "tcp://127.0.0.1:1"}', b"."])
            rogues.append(rogue)
        pids = executor.worker_pids()
        for pid in pids.values():
            os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not set(executor.worker_pids()) & set(pids) and len(executor._workers) == 2
                          and all(w.peer for w in list(executor._workers.values())), timeout=60)  # both joined
        a = np.arange(30_000.0)
        assert float(rd.from_numpy(a, npartitions=6).map_partitions(lambda b: b * 2, dtype=np.float64).sum()) \
            == 2 * a.sum()
        names = [w.name for w in executor._workers.values()]
        assert all(len(name) == 32 and int(name, 16) >= 0 for name in names) and len(set(names)) == 2
    finally:
        context.destroy(linger=0)


def test_a_failing_task_is_not_retried(pctx):
    counter = Counter(lambda b: b if b[0] != 300 else 1 // 0)
    x = rd.from_numpy(np.arange(0, 800), npartitions=8).map_partitions(counter, dtype=np.int64)
    with pytest.raises(ZeroDivisionError) as info:
        x.compute()
    assert "partition 3" in "".join(getattr(info.value, "__notes__", []))
    assert counter.calls[300] == 1


# -- security --------------------------------------------------------------------------------------

class _CreatesFile:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_rogue_messages_are_dropped_unread(pctx, tmp_path, caplog):
    target = tmp_path / "should-never-exist"
    payload = pickle.dumps(_CreatesFile(target))
    header = json.dumps({"kind": "call", "call": 0, "job": 0, "p": 0, "request": 0}).encode()
    other_key = hmac.new(b"not the key", digestmod=hashlib.sha256)
    for frame in (header, payload):
        other_key.update(len(frame).to_bytes(8, "little"))
        other_key.update(frame)
    messages = [[payload], [header, payload], [b"", header, payload], [b"x" * 32, header, payload],
                [other_key.digest(), header, payload], [other_key.digest()[:5], header]]
    executor = pctx.executor
    addresses = [executor._address] + [w.peer for w in executor._workers.values()]
    context = zmq.Context()
    try:
        with caplog.at_level(logging.WARNING, logger="rdarray"):
            for address in addresses:
                rogue = context.socket(zmq.DEALER)
                rogue.setsockopt(zmq.LINGER, 2000)
                rogue.connect(address)
                for message in messages:
                    rogue.send_multipart(message)
                rogue.close()
            time.sleep(1.0)
            assert float(rd.from_numpy(np.arange(10.0), npartitions=3).sum()) == 45.0
    finally:
        context.destroy(linger=0)
    assert not target.exists()
    assert "signature" in caplog.text and "truncated" in caplog.text


def test_a_replayed_fetch_is_not_answered(pctx, monkeypatch):
    """A real signed fetch, captured as the driver sends it, then sent again to the worker from
    foreign sockets: no block comes back, and the worker works on."""
    from rdarray.backends.processes import wire

    a = np.arange(2 * 23_260.0)
    x = rd.from_numpy(a, npartitions=2).map_partitions(lambda b: b + 1, dtype=np.float64).persist()
    assert float(x.sum()) == (a + 1).sum()
    executor = pctx.executor
    captured = []
    send_frames = wire.send_frames

    def recording(socket, frames):
        copies = [bytes(memoryview(f)) for f in frames]
        if any(b'"kind": "fetch"' in f for f in copies[:3]):
            captured.append(copies)
        send_frames(socket, frames)
    monkeypatch.setattr(wire, "send_frames", recording)
    wid = executor.store.location(x.lineage.id, 0)
    np.testing.assert_array_equal(pctx.store.get(x.lineage.id, 0), a[:23_260] + 1)  # the driver fetches it
    monkeypatch.undo()
    (route, *message), = captured
    assert route == executor._workers[wid].identity
    context = zmq.Context()
    leaked = 0
    try:
        for identity in (os.urandom(5), b"driver", route):
            rogue = context.socket(zmq.DEALER)
            rogue.setsockopt(zmq.LINGER, 0)
            rogue.setsockopt(zmq.IDENTITY, identity)
            rogue.connect(executor._workers[wid].peer)
            rogue.send_multipart(message)
            if rogue.poll(2000):
                leaked += sum(len(f) for f in rogue.recv_multipart())
            rogue.close()
    finally:
        context.destroy(linger=0)
    assert leaked == 0
    np.testing.assert_array_equal(x.compute(), a + 1)
    np.testing.assert_array_equal(pctx.store.get(x.lineage.id, 0), a[:23_260] + 1)
    print(f"\n[replay] a captured fetch replayed from 3 foreign sockets: {leaked} bytes answered")


def peak_rss_mb(pid) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def reset_peak_rss(pid) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def test_a_frame_over_the_limit_is_refused_before_it_is_read():
    """A 256 MiB unsigned frame, sent to the driver and to a worker, grows neither (their peak
    RSS); messages of the context's own that would be over the limit fail saying so."""
    big = 256 << 20
    with configured(max_frame_bytes=8 << 20), rd.Context(backend="processes", workers=2) as ctx:
        executor = ctx.executor
        worker = next(iter(executor._workers.values()))
        pids = {"driver": os.getpid(), "worker": worker.process.pid}
        for pid in pids.values():
            reset_peak_rss(pid)
        before = {name: peak_rss_mb(pid) for name, pid in pids.items()}
        script = ("import sys, time, zmq\n"
                  "c = zmq.Context()\n"
                  "for address in sys.argv[1:]:\n"
                  "    s = c.socket(zmq.DEALER)\n"
                  "    s.connect(address)\n"
                  f"    s.send_multipart([b'x' * 32, b'{{}}', bytes({big})])\n"
                  "time.sleep(3)\n"
                  "c.destroy(linger=0)\n")
        subprocess.run([sys.executable, "-c", script, executor._address, worker.peer], check=True, timeout=120)
        growth = {name: round(peak_rss_mb(pid) - before[name], 1) for name, pid in pids.items()}
        assert all(g < 64 for g in growth.values()), growth
        a = np.arange(100_000.0)
        assert float(rd.from_numpy(a, npartitions=4).map_partitions(lambda b: b * 2, dtype=np.float64).sum()) \
            == 2 * a.sum()
        with pytest.raises(ValueError, match="max_frame_bytes"):  # a partition of this process's, too large
            rd.from_numpy(np.zeros(2 << 20), npartitions=1).map_partitions(lambda b: b, dtype=np.float64).compute()
        with pytest.raises(ValueError, match="max_frame_bytes"):  # a worker's result, too large
            rd.from_numpy(np.zeros(10), npartitions=1).map_partitions(lambda b: np.zeros(2 << 20),
                                                                      dtype=np.float64).compute()
        assert float(rd.from_numpy(a, npartitions=4).sum()) == a.sum()
    print(f"\n[size] a {big >> 20} MiB unsigned frame over an 8 MiB limit: peak RSS growth (MB) {growth}")


def test_a_flood_of_unsigned_messages_is_logged_in_a_few_lines(pctx, caplog, capfd):
    """100,000 unsigned messages to the driver and the workers during computations: the results
    are right, and the drops are logged in a few lines (counts, rate-limited)."""

    a = keys_and_values(200_000, groups=100, seed=9)
    x = rd.from_numpy(a, npartitions=8)

    def work() -> float:
        start = time.monotonic()
        assert_group_totals(x.groupby("k").agg(total=("v", "sum")).compute(), a)
        return time.monotonic() - start

    quiet = [work() for _ in range(3)]
    executor = pctx.executor
    addresses = [executor._address] + [w.peer for w in executor._workers.values()]
    script = ("import sys, zmq\n"
              "c = zmq.Context()\n"
              "sockets = []\n"
              "for address in sys.argv[1:]:\n"
              "    s = c.socket(zmq.DEALER)\n"
              "    s.setsockopt(zmq.SNDHWM, 0)\n"
              "    s.connect(address)\n"
              "    sockets.append(s)\n"
              "for i in range(100_000):\n"
              "    sockets[i % len(sockets)].send_multipart([b'x' * 32, b'{\"kind\": \"done\"}', b'junk'])\n"
              "c.destroy(linger=5000)\n")
    before = executor.wire.drops.total
    with caplog.at_level(logging.WARNING, logger="rdarray"):
        flood = subprocess.Popen([sys.executable, "-c", script, *addresses])
        assert wait_until(lambda: executor.wire.drops.total > before, timeout=60)
        flooded = [work()]
        while flood.poll() is None:
            flooded.append(work())
        assert flood.wait(120) == 0
        assert wait_until(lambda: executor.wire.drops.total - before >= 100_000 // len(addresses), timeout=60)
        time.sleep(1.0)  # the workers' lines reach this process's stderr
    lines = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    lines += [line for line in capfd.readouterr().err.splitlines() if "dropped" in line]
    assert len(lines) <= 12, lines
    print(f"\n[flood] 100,000 unsigned messages: {len(lines)} log lines, {sum(len(s) + 1 for s in lines)} bytes; "
          f"a groupby took {np.median(quiet):.2f} s quiet, {np.median(flooded):.2f} s flooded "
          f"(median of {len(flooded)})")


# -- nothing left behind --------------------------------------------------------------------------

def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_close_leaves_no_process_socket_or_file(tmp_path):
    before = open_fds()
    ctx = rd.Context(backend="processes", workers=2, spill_dir=str(tmp_path))
    pids = list(ctx.executor.worker_pids().values())
    with ctx.as_default():
        y = rd.from_numpy(np.arange(100_000.0), npartitions=4).map_partitions(lambda b: b + 1, dtype=np.float64)
        y.persist("disk")
        assert float(y.sum()) == np.arange(1, 100_001.0).sum()
    assert any(files for _, _, files in os.walk(tmp_path))  # spilled partitions exist
    ctx.close()
    assert not any(alive(pid) for pid in pids)
    assert not any(files for _, _, files in os.walk(tmp_path))
    assert open_fds() <= before


def test_workers_exit_when_the_driver_is_killed(tmp_path):
    script = ("import rdarray as rd, time\n"
              "ctx = rd.Context(backend='processes', workers=2)\n"
              "print(*ctx.executor.worker_pids().values(), flush=True)\n"
              "time.sleep(120)\n")
    driver = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in driver.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    assert wait_until(lambda: not any(alive(p) for p in pids), timeout=5)


def test_workers_exit_with_the_interpreter():
    script = ("import rdarray as rd\n"
              "ctx = rd.Context(backend='processes', workers=2)\n"
              "print(*ctx.executor.worker_pids().values(), flush=True)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2 and wait_until(lambda: not any(alive(p) for p in pids), timeout=5)


# -- memory and errors -------------------------------------------------------------------------------

def test_each_worker_spills_past_its_share_of_the_memory_limit(tmp_path):
    a = np.random.default_rng(2).standard_normal(400_000)
    with rd.Context(backend="processes", workers=2, memory_limit="1MB", spill_dir=str(tmp_path)) as ctx:
        y = rd.from_numpy(a, npartitions=16).map_partitions(lambda b: b * 3, dtype=np.float64).persist()
        assert np.array_equal(y.compute(), a * 3)
        assert any(files for _, _, files in os.walk(tmp_path))  # 3.2 MB kept under 2 x 0.5 MB: spilled
        assert np.array_equal((y + 1).compute(), a * 3 + 1)
        assert ctx.store.memory_bytes == y.nbytes  # the driver knows where every partition is
        # spilled shuffle buckets travel between workers as their compressed frames
        assert np.array_equal(y.sort().compute(), np.sort(a * 3))
        z = rd.from_numpy(a, npartitions=4).persist("compressed")
        assert np.array_equal(z.compute(), a) and np.array_equal(z.compute(), a)
    assert not any(files for _, _, files in os.walk(tmp_path))


def test_a_function_that_cannot_be_pickled_gets_a_clear_error(pctx):
    import threading
    lock = threading.Lock()
    x = rd.from_numpy(np.arange(10.0), npartitions=2)
    with pytest.raises(TypeError, match="cannot be sent to the worker processes"):
        x.map_partitions(lambda b: (lock, b)[1], dtype=np.float64).compute()
    with pytest.raises(TypeError, match="cannot be sent to a worker process"):
        pctx.submit(lambda: lock)
    assert float(x.sum()) == 45.0


def test_a_persisted_array_of_this_process_is_sent_once(pctx):
    a = np.arange(1_000_000, dtype=np.float64)
    x = rd.from_numpy(a, npartitions=4).persist()
    executor = pctx.executor
    assert float(x.sum()) == a.sum()
    before = executor.bytes_sent
    assert float((x * 2).sum()) == 2 * a.sum() and np.array_equal(x.compute(), a)
    assert executor.bytes_sent - before < a.nbytes / 20  # read where the workers keep it
    x.unpersist()
    before = executor.bytes_sent
    assert float(x.sum()) == a.sum()
    assert executor.bytes_sent - before >= a.nbytes
