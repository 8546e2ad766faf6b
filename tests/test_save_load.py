"""x.save / rd.load / x.checkpoint: round trips against the original NumPy data, and bad input."""

import json
import os

import numpy as np
import pytest

import rdarray as rd
from _helpers import Counter, part_file

ARRAYS = {
    "float64": np.random.default_rng(0).normal(size=1000),
    "int8-2d": np.arange(3000, dtype=np.int8).reshape(1000, 3),
    "bool": np.random.default_rng(1).random(500) > 0.5,
    "complex": np.arange(100) * (1 + 2j),
    "datetime": np.arange("2024-01-01", "2024-04-01", dtype="datetime64[h]"),
    "bytes": np.array([b"ab", b"", b"xyz"] * 20, dtype="S3"),
    "str": np.array(["ä", "bc", ""] * 20, dtype="U2"),
    "structured": np.array([(i, i / 3, str(i), (i, -i)) for i in range(100)],
                           dtype=[("a", "i8"), ("b", "f4"), ("c", "U4"), ("d", "i2", (2,))]),
    "3-d": np.arange(240.0).reshape(20, 3, 4),
    "empty": np.zeros((0, 2)),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
@pytest.mark.parametrize("lengths", ["even", "with-empty"])
def test_round_trip(tmp_path, name, lengths):
    a = ARRAYS[name]
    if lengths == "even":
        x = rd.from_numpy(a, npartitions=max(1, min(4, len(a))))
    else:
        cut = [0, len(a) // 3, len(a) // 3, len(a)]
        x = rd.from_partitions([a[i:j] for i, j in zip(cut[:-1], cut[1:])])
    x.save(tmp_path / "saved")
    y = rd.load(tmp_path / "saved")
    assert y.dtype == a.dtype and y.shape == a.shape
    assert y.partition_lengths == x.partition_lengths
    np.testing.assert_array_equal(y.compute(), a)
    assert sorted(os.listdir(tmp_path)) == ["saved"]  # no staging directory left behind


@pytest.mark.parametrize("codec", ["lz4", "lz4hc", "zstd", "zlib", "blosclz"])
@pytest.mark.parametrize("filter", ["shuffle", "bitshuffle", "none"])
def test_codecs(tmp_path, codec, filter):
    a = np.cumsum(np.random.default_rng(2).normal(size=5000))
    rd.from_numpy(a, npartitions=3).save(tmp_path / "s", codec=codec, clevel=9, filter=filter)
    np.testing.assert_array_equal(rd.load(tmp_path / "s").compute(), a)
    meta = json.loads((tmp_path / "s" / "_meta.json").read_text())
    assert meta["codec"] == {"name": codec, "clevel": 9, "filter": filter}


def test_save_runs_the_lineage_once_in_parallel_and_load_is_lazy(tmp_path):
    counter = Counter(lambda b: b * 2)
    x = rd.from_numpy(np.arange(1000.0), npartitions=5).map_partitions(counter)
    x.save(tmp_path / "s")
    counter.assert_each_once(5)
    y = rd.load(tmp_path / "s")
    assert y.lineage.op == "load" and y.lineage.parents == ()
    part_file(tmp_path / "s", 4).unlink()
    np.testing.assert_array_equal(y[:10].compute(), np.arange(10.0) * 2)  # reads partition 0 only
    with pytest.raises(rd.CorruptDataError, match="missing"):
        y.compute()


def test_overwrite_and_bad_paths(tmp_path):
    x = rd.arange(10, npartitions=2)
    x.save(tmp_path / "s")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        x.save(tmp_path / "s")
    (x * 3).save(tmp_path / "s", overwrite=True)
    np.testing.assert_array_equal(rd.load(tmp_path / "s").compute(), np.arange(10) * 3)
    with pytest.raises(FileNotFoundError):
        x.save(tmp_path / "no" / "such" / "dir")
    with pytest.raises(FileNotFoundError):
        rd.load(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="file"):
        rd.load(tmp_path / "file")
    with pytest.raises(ValueError, match="codec"):
        x.save(tmp_path / "t", codec="snappy")


def test_failed_save_leaves_nothing_that_loads_and_keeps_the_old_data(tmp_path):
    rd.arange(10, npartitions=2).save(tmp_path / "s")

    def explode(b):
        if len(b) and b[0] >= 50:
            raise ZeroDivisionError("boom")
        return b

    bad = rd.arange(100, npartitions=4).map_partitions(explode)
    with pytest.raises(ZeroDivisionError):
        bad.save(tmp_path / "s", overwrite=True)
    with pytest.raises(ZeroDivisionError):
        bad.save(tmp_path / "fresh")
    assert sorted(os.listdir(tmp_path)) == ["s"]
    np.testing.assert_array_equal(rd.load(tmp_path / "s").compute(), np.arange(10))


def test_corrupt_metadata_and_files(tmp_path):
    a = np.arange(100.0)
    rd.from_numpy(a, npartitions=2).save(tmp_path / "s")
    meta_path = tmp_path / "s" / "_meta.json"
    good = meta_path.read_text()
    for bad in ["", "not json", "[]", json.dumps({"format": "other"}),
                good.replace('"version": 2', '"version": 99'),
                good.replace('"partition_lengths": [\n  50,\n  50\n ]', '"partition_lengths": [50, 49]'),
                good.replace('"<f8"', '"|O"')]:
        meta_path.write_text(bad)
        with pytest.raises(rd.CorruptDataError):
            rd.load(tmp_path / "s")
    meta_path.write_text(good.replace('"<f8"', '"<f4"'))  # metadata that does not match its files
    with pytest.raises(rd.CorruptDataError, match="holds"):
        rd.load(tmp_path / "s").compute()
    meta_path.write_text(good)
    part = part_file(tmp_path / "s", 1)
    data = bytearray(part.read_bytes())
    data[-3] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(rd.CorruptDataError):
        rd.load(tmp_path / "s").compute()
    np.testing.assert_array_equal(rd.load(tmp_path / "s")[:50].compute(), a[:50])


@pytest.mark.parametrize("to_path", [False, True])
def test_checkpoint_cuts_the_lineage(tmp_path, to_path):
    counter = Counter(lambda b: b + 1)
    x = rd.from_numpy(np.arange(600.0), npartitions=6).map_partitions(counter)
    with rd.Context("threads", workers=2, spill_dir=str(tmp_path / "spill")):
        y = x.checkpoint(tmp_path / "ck" if to_path else None)
        assert y.lineage.parents == ()
        assert y.partition_lengths == (100,) * 6
        for _ in range(3):
            np.testing.assert_array_equal((y * 2).compute(), (np.arange(600.0) + 1) * 2)
        counter.assert_each_once(6)


def test_iterative_loop_with_checkpoints_stays_flat(tmp_path):
    """Lineage, plans and spill files stay bounded: an old checkpoint goes with its array."""
    with rd.Context("threads", workers=2, spill_dir=str(tmp_path)) as ctx:
        x = rd.from_numpy(np.zeros(100), npartitions=4)
        for i in range(300):
            x = x + 1
            if i % 5 == 4:
                x = x.checkpoint()
                assert len(os.listdir(ctx.store._spill_dir)) <= 8  # this checkpoint and the last
            assert len(x.lineage.ancestors()) <= 6
        np.testing.assert_array_equal(x.compute(), np.full(100, 300.0))


def test_zero_length_and_truncated_part_files(tmp_path):
    rd.from_numpy(np.arange(100.0), npartitions=2).save(tmp_path / "s")
    part = part_file(tmp_path / "s", 0)
    data = part.read_bytes()
    for broken in (b"", data[:10], data[:-1]):
        part.write_bytes(broken)
        with pytest.raises(rd.CorruptDataError):
            rd.load(tmp_path / "s").compute()
