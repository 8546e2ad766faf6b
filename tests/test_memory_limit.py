"""The memory limit bounds everything a plan holds: shuffle buckets, stage outputs waiting for a
later stage, and room reserved for the tasks running. Checked by the block store's own accounting
(``peak_bytes``: the most it held in memory), not by timing or resident-set sizes; answers checked
against NumPy and pandas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rdarray as rd
from rdarray.storage.blocks import BlockStore

LIMIT = 1_000_000


def _table(n: int = 150_000) -> np.ndarray:
    rng = np.random.default_rng(7)
    rows = np.empty(n, [("key", "i8"), ("v", "f8"), ("w", "f8")])
    rows["key"] = rng.integers(0, 5000, n)
    rows["v"] = rng.random(n)
    rows["w"] = rng.normal(size=n)
    return rows


def _right(n: int = 40_000) -> np.ndarray:
    rng = np.random.default_rng(8)
    rows = np.empty(n, [("key", "i8"), ("b", "f8")])
    rows["key"] = rng.permutation(n)
    rows["b"] = rng.random(n)
    return rows


def _groupby(x, right, a, b):
    got = x.groupby("key").agg(s=("v", "sum"), m=("w", "mean")).compute()
    want = pd.DataFrame(a).groupby("key").agg(s=("v", "sum"), m=("w", "mean")).reset_index()
    np.testing.assert_array_equal(got["key"], want["key"])
    np.testing.assert_allclose(got["s"], want["s"], rtol=1e-9)
    np.testing.assert_allclose(got["m"], want["m"], rtol=1e-9, atol=1e-12)


def _sort(x, right, a, b):
    got = x.sort("v").compute()
    np.testing.assert_array_equal(got, a[np.argsort(a["v"], kind="stable")])


def _merge(x, right, a, b):
    got = rd.merge(x, right, on="key").compute()
    want = pd.DataFrame(a).merge(pd.DataFrame(b), on="key")
    assert len(got) == len(want)
    order = np.lexsort((got["v"], got["key"]))
    want = want.sort_values(["key", "v"])
    for field in ("key", "v", "w", "b"):
        np.testing.assert_array_equal(got[field][order], want[field].to_numpy())


@pytest.mark.parametrize("op", [_groupby, _sort, _merge], ids=["groupby", "sort", "merge"])
@pytest.mark.parametrize("backend", [{"backend": "threads", "workers": 2}, {"backend": "sync"}],
                         ids=["threads", "sync"])
def test_wide_operations_hold_at_most_the_limit_plus_a_partition_per_worker(tmp_path, monkeypatch, op, backend):
    monkeypatch.setattr(rd.config, "broadcast_bytes", 0)  # the merge shuffles both sides
    a, b = _table(), _right()
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    with rd.Context(**backend, memory_limit=LIMIT, spill_dir=str(tmp_path / "spill")) as ctx:
        x, right = rd.from_npy(tmp_path / "a.npy"), rd.from_npy(tmp_path / "b.npy")
        assert x.npartitions > 4  # partitions sized from the limit
        op(x, right, a, b)
        partition = max(p.nbytes for p in x.partitions())
        assert 0 < ctx.store.peak_bytes <= LIMIT + ctx.workers * partition
        assert ctx.store.spilled_bytes > 0


@pytest.mark.parametrize("backend", [{"backend": "threads", "workers": 2}, {"backend": "sync"}],
                         ids=["threads", "sync"])
def test_stage_outputs_waiting_for_later_stages_count_and_spill(tmp_path, backend):
    """``x`` is read again by two later stages (an overlapping realignment): its partitions wait in
    the block store, under the limit, instead of beside it."""
    a = np.random.default_rng(3).random(200_000)
    with rd.Context(**backend, memory_limit=200_000, spill_dir=str(tmp_path)) as ctx:
        x = rd.from_numpy(a, npartitions=8).map_partitions(lambda b: b * 2)
        y = x[1:] + x[:-1]
        np.testing.assert_array_equal(y.compute(), a[1:] * 2 + a[:-1] * 2)
        assert ctx.store.spilled_bytes >= x.nbytes // 2  # no shuffle here: only held outputs spill
        assert ctx.store.peak_bytes <= 200_000 + ctx.workers * (x.nbytes // 8)
        assert ctx.store.memory_bytes == 0  # dropped after their last reader
        np.testing.assert_array_equal(y.compute(), a[1:] * 2 + a[:-1] * 2)


def test_a_reservation_spills_blocks_before_the_task_computes(tmp_path):
    class Node:
        persist_level = "memory"

        def __init__(self, i):
            self.id = i

    store = BlockStore(memory_limit=10_000, spill_dir=str(tmp_path))
    nodes = [Node(i) for i in range(4)]
    for node in nodes:
        store.put(node, 0, np.full(250, node.id, np.float64))  # 2,000 bytes each: all in memory
    assert store.memory_bytes == 8000
    with store.reserve(7000):
        assert store.memory_bytes <= 3000  # the least recently used blocks went to disk first
        assert store.get(3, 0) is not None and store.block_bytes(3, 0) == 2000
    with store.reserve(20_000):  # more than the limit: everything that can spill does
        assert store.memory_bytes == 0
    for node in nodes:
        np.testing.assert_array_equal(store.get(node.id, 0), np.full(250, node.id, np.float64))
    assert store.spilled_bytes == 8000 and store.peak_bytes == 8000
    store.close()


def test_values_held_count_but_stay_in_memory(tmp_path):
    """A value node's block (a broadcast join side: rows and an index) counts its arrays against
    the limit; it cannot be written as a frame, so it is never picked to spill."""
    class Node:
        persist_level = "memory"
        id = 0

    store = BlockStore(memory_limit=1000, spill_dir=str(tmp_path))
    node, value = Node(), (np.zeros(500), object())
    store.put(node, 0, value)
    assert store.memory_bytes == 4000 and store.get(0, 0) is value
    store.close()


def test_default_partitions_under_a_limit_fit_it():
    a = np.zeros(4_000_000)  # 32 MB: one partition per worker without a limit
    with rd.Context("threads", workers=2, memory_limit="16MB"):
        x = rd.from_numpy(a)
        assert max(p.nbytes for p in x.partitions()) <= 16_000_000 // 16
        assert x.npartitions % 2 == 0
    with rd.Context("threads", workers=2):
        assert rd.from_numpy(a).npartitions == 2


def test_processes_backend_gives_exact_answers_under_a_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(rd.config, "broadcast_bytes", 0)
    a, b = _table(60_000), _right(20_000)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    with rd.Context(backend="processes", workers=2, memory_limit=LIMIT, spill_dir=str(tmp_path / "spill")):
        x, right = rd.from_npy(tmp_path / "a.npy"), rd.from_npy(tmp_path / "b.npy")
        for op in (_groupby, _sort, _merge):
            op(x, right, a, b)


@pytest.mark.parametrize("backend", ["processes", "threads", "sync"])
def test_coalesced_reads_of_in_process_arrays_under_a_limit(backend):
    """A task that joins several partitions of an array of this process (a shuffle's coalesce)
    sizes its reservation by the partitions it reads; on processes it used to look for partition
    ``p`` among those sent and fail with a KeyError."""
    rng = np.random.default_rng(4)
    a = np.rec.fromarrays([rng.integers(0, 50, 40_000), rng.normal(size=40_000)], names="k,v")
    a[::7] = a[3]  # duplicates
    with rd.Context(backend=backend, workers=2, memory_limit="100KB"):
        x = rd.from_numpy(a, npartitions=40)
        v = x["v"] * 2
        np.testing.assert_array_equal(v.sort().compute(), np.sort(a["v"] * 2))
        got = x.groupby("k").sum().compute()
        want = pd.DataFrame(a).groupby("k")["v"].sum()
        np.testing.assert_array_equal(got["k"], want.index.to_numpy())
        np.testing.assert_allclose(got["v"], want.to_numpy(), rtol=1e-12)


def test_held_values_that_cannot_be_framed_stay_in_memory(tmp_path):
    """Partial results a user function makes (here object arrays) wait for the stage merging them
    in the block store too; they are never picked to spill, as no frame can hold them."""
    a = np.arange(100_000, dtype=np.int64)
    with rd.Context("threads", workers=2, memory_limit=1000, spill_dir=str(tmp_path)):
        x = rd.from_numpy(a, npartitions=8)
        total = x.reduce(lambda b: np.array([int(b.sum())] * 200, dtype=object), combine=lambda u, v: u + v)
        assert list(total.compute()) == [int(a.sum())] * 200


def test_held_values_may_be_none(tmp_path):
    with rd.Context("threads", workers=2, memory_limit=1000, spill_dir=str(tmp_path)):
        x = rd.from_numpy(np.arange(1000), npartitions=4)
        assert x.reduce(lambda b: None, combine=lambda u, v: None).compute() is None


def _skewed(n: int = 20_000) -> np.ndarray:
    """Few keys, one of them most rows: hash buckets far from even."""
    rng = np.random.default_rng(11)
    rows = np.empty(n, [("key", "i8"), ("v", "f8")])
    rows["key"] = np.where(rng.random(n) < 0.8, 7, rng.integers(0, 4, n))
    rows["v"] = rng.random(n)
    return rows


@pytest.mark.parametrize("rows", [
    np.empty(0, [("key", "i8"), ("v", "f8")]),  # every bucket empty
    np.array([(3, 1.5)], [("key", "i8"), ("v", "f8")]),  # one row
    np.array([(1, np.nan)] * 5 + [(2, 0.0)], [("key", "i8"), ("v", "f8")]),  # duplicates, NaN
    _skewed(),
], ids=["empty", "one-row", "duplicates", "skewed"])
def test_bucket_sizes_are_the_decoded_sizes_in_memory_and_spilled(tmp_path, rows):
    from rdarray.shuffle.exchange import buckets
    from rdarray.storage.frame import decode

    targets = (rows["key"] % 5).astype(np.int64)
    made = buckets(rows, targets, 5)
    assert made.sizes() == [made[q].nbytes for q in range(len(made))]
    assert made.sizes() == [int((targets == q).sum()) * rows.itemsize for q in range(5)]

    class Node:
        persist_level = "memory"
        id = 0

    store, node = BlockStore(memory_limit=1, spill_dir=str(tmp_path)), Node()
    store.put(node, 0, made)
    store.put(node, 1, np.zeros((3, 4)))  # not buckets: its size, whatever the bucket asked
    assert [store.block_bytes(0, 0, q) for q in range(5)] == made.sizes()
    assert store.block_bytes(0, 1, 2) == store.block_bytes(0, 1) == 96 and store.bucket_sizes(0, 1) is None
    if rows.size:
        assert store.memory_bytes == 0 and store.spilled_bytes > 0  # spilled, sizes kept
    spilled = store.get(0, 0)
    assert [store.block_bytes(0, 0, q) for q in range(5)] == [spilled[q].nbytes for q in range(5)]
    if rows.size:
        assert [store.block_bytes(0, 0, q) for q in range(5)] == [decode(store.get_encoded(0, 0, q)).nbytes
                                                                  for q in range(5)]
    assert store.block_bytes(1, 0, 0) is None
    store.close()


def test_bucket_sizes_of_a_trailing_dimension_and_a_summary():
    from rdarray.storage.buckets import Buckets

    rows = np.arange(24, dtype=np.float32).reshape(6, 4)
    made = Buckets(rows, np.array([0, 0, 5, 6]), (np.arange(3),))
    assert made.sizes() == [0, 80, 16, 24] == [made[q].nbytes for q in range(4)]


def test_a_task_reserves_its_exact_buckets_before_it_reads_them(tmp_path):
    """The reduce task of the largest bucket reserves ``WORK_FACTOR`` times that bucket's decoded
    size, not an average share; the reservation is taken (and blocks spill for it) before anything
    is read, with the sizes of blocks held elsewhere given (as a worker's task is, before fetching)."""
    from rdarray.engine.runner import WORK_FACTOR, StageRunner
    from rdarray.graph.lineage import ShuffleDependency
    from rdarray.plan.planner import build_plan

    a = _skewed(40_000)
    with rd.Context("sync", memory_limit=10_000_000, spill_dir=str(tmp_path)) as ctx:
        x = rd.from_numpy(a, npartitions=6)
        y = x.partition_by("key", 6)
        np.testing.assert_array_equal(np.sort(y.compute(), order=["key", "v"]), np.sort(a, order=["key", "v"]))
        (node,) = y.__rd_nodes__()
        stage = next(s for s in build_plan([node], ctx.store.has_all).stages if s.outputs[0] is node)
        (dep,) = [d for d in node.dependencies if isinstance(d, ShuffleDependency)]
        maps = dep.parent
        assert ctx.store.has_all(maps)
        exact = [sum(ctx.store.get(maps.id, j)[q].nbytes for j in range(maps.npartitions)) for q in range(6)]
        assert max(exact) > 2 * sum(exact) / 6  # uneven: an average would reserve under half
        runner = StageRunner(stage, {}, ctx.store)
        for q in range(6):
            with runner.reservation(q):
                assert ctx.store.reserved_bytes == WORK_FACTOR * exact[q]
        big = int(np.argmax(exact))
        with runner.reservation(big, {(maps.id, j, big): 1_000_000 for j in range(maps.npartitions)}):
            held = WORK_FACTOR * 1_000_000 * maps.npartitions
            assert ctx.store.reserved_bytes == held
            assert ctx.store.memory_bytes == 0  # everything spilled before the task read a byte
        assert ctx.store.reserved_bytes == 0
        np.testing.assert_array_equal(runner.run(big)[0], y.partitions()[big])


def test_processes_workers_report_exact_bucket_sizes(tmp_path, monkeypatch):
    """The driver learns each map output's bucket sizes from its worker, and they are the decoded
    sizes of the buckets its reduce tasks fetch (sent with each task, reserved before the fetch)."""
    from rdarray.storage.frame import decoded

    a = _skewed(60_000)
    with rd.Context(backend="processes", workers=2, memory_limit=LIMIT, spill_dir=str(tmp_path)) as ctx:
        x = rd.from_numpy(a, npartitions=8)
        y = x.partition_by("key", 5)
        got = y.compute()
        np.testing.assert_array_equal(np.sort(got, order=["key", "v"]), np.sort(a, order=["key", "v"]))
        store = ctx.store
        maps = [(node_id, p) for node_id, places in store._entries.items()  # the map outputs the workers hold
                for p, (_, _, sizes) in places.items() if sizes is not None]
        assert len(maps) == 8
        for node_id, p in maps:
            sizes = [store.block_bytes(node_id, p, q) for q in range(5)]
            fetched = ctx.executor.fetch(store.location(node_id, p), [(node_id, p, q) for q in range(5)])
            assert sizes == [decoded(block).nbytes for ok, block in fetched if ok]
        assert sum(store.block_bytes(n, p, q) for n, p in maps for q in range(5)) == a.nbytes
