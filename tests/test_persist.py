"""persist() at every level, and the block store's memory limit: results never change."""

import os

import numpy as np
import pytest

import rdarray as rd
from _helpers import Counter

LEVELS = ["memory", "compressed", "disk"]
DATA = np.random.default_rng(0).normal(size=(4000, 3))


def counted(counter: Counter, npartitions: int = 8):
    """``DATA * 2`` whose partitions report each computation to ``counter``."""
    counter.fn = lambda b: b * 2
    return rd.from_numpy(DATA, npartitions=npartitions).map_partitions(counter)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("backend", ["threads", "sync"])
def test_persisted_partitions_are_computed_once(tmp_path, level, backend):
    with rd.Context(backend, workers=2, spill_dir=str(tmp_path)) as ctx:
        counter = Counter()
        y = counted(counter).persist(level)
        assert "cache:" not in (y + 1).explain()
        np.testing.assert_array_equal(y.compute(), DATA * 2)
        np.testing.assert_allclose((y + 1).sum().compute(), (DATA * 2 + 1).sum(), rtol=1e-12)
        np.testing.assert_array_equal(y[::7].compute(), (DATA * 2)[::7])
        counter.assert_each_once(8)
        assert "cache:" in (y + 1).explain() and "persisted" in (y + 1).explain()
        files = os.listdir(ctx.store._spill_dir) if ctx.store._spill_dir else []
        assert (len(files) == 8) == (level == "disk")
        y.unpersist()
        np.testing.assert_array_equal(y.compute(), DATA * 2)
        assert set(counter.calls.values()) == {2}
        assert not ctx.store._spill_dir or not os.listdir(ctx.store._spill_dir)


@pytest.mark.parametrize("level", ["memory", "compressed"])
def test_memory_limit_spills_and_results_are_identical(tmp_path, level):
    expected = DATA * 2
    limit = DATA.nbytes // 4  # a quarter of the working set
    with rd.Context("threads", workers=2, memory_limit=limit, spill_dir=str(tmp_path)) as ctx:
        counter = Counter()
        y = counted(counter, npartitions=16).persist(level)
        for _ in range(3):
            np.testing.assert_array_equal(y.compute(), expected)
            np.testing.assert_allclose(y.mean(axis=0).compute(), expected.mean(axis=0), rtol=1e-12)
        counter.assert_each_once(16)
        assert ctx.store.memory_bytes <= limit
        assert len(os.listdir(ctx.store._spill_dir)) > 0
        spill_dir = ctx.store._spill_dir
    assert not os.path.exists(spill_dir)  # closing the context removes its spill files


def test_memory_limit_is_parsed():
    with rd.Context("sync", memory_limit="1MiB") as ctx:
        assert ctx.store.memory_limit == 1 << 20


def test_failed_spill_raises_and_keeps_the_data(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the spill directory should be")
    with rd.Context("sync", memory_limit=1000, spill_dir=str(blocker / "spill")) as ctx:
        y = rd.from_numpy(DATA, npartitions=4).map_partitions(lambda b: b + 0).persist()
        with pytest.raises(OSError):
            y.compute()
        held = [ctx.store.get(y.lineage.id, p) for p in range(4)]
        kept = [b for b in held if b is not None]
        assert kept, "the partition that could not be spilled stays in memory"
        for block in kept:
            assert any(np.array_equal(block, part) for part in np.array_split(DATA, 4))
        np.testing.assert_array_equal(rd.from_numpy(DATA).compute(), DATA)  # the context still works
