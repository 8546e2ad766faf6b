"""rd.from_npy against np.load on the same files."""

import pickle

import numpy as np
import pytest

import rdarray as rd
from rdarray.storage.npy import NpySource

ARRAYS = {
    "float64": np.random.default_rng(0).normal(size=1000),
    "int32-2d": np.arange(3000, dtype=np.int32).reshape(1000, 3),
    "fortran": np.asfortranarray(np.arange(600.0).reshape(200, 3)),
    "structured": np.array([(i, i / 2, str(i)) for i in range(50)], dtype=[("a", "i8"), ("b", "f4"), ("c", "U3")]),
    "bytes": np.array([b"x", b"yy", b""] * 10, dtype="S2"),
    "datetime": np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]"),
    "empty": np.zeros((0, 4)),
    "one-row": np.array([[1.5, 2.5]]),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
@pytest.mark.parametrize("npartitions", [None, 1, 3, 7])
@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip_matches_np_load(tmp_path, name, npartitions, mmap):
    path = tmp_path / f"{name}.npy"
    np.save(path, ARRAYS[name])
    x = rd.from_npy(path, npartitions=npartitions, mmap=mmap)
    expected = np.load(path)
    assert x.dtype == expected.dtype and x.shape == expected.shape
    out = x.compute()
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)
    if npartitions is not None:
        assert x.npartitions == npartitions


def test_partitions_are_views_of_the_memory_map(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(100.0))
    x = rd.from_npy(path, npartitions=4)
    block = x.lineage.func(1)
    assert isinstance(block.base, np.memmap) or isinstance(block, np.memmap)
    assert not block.flags.writeable
    np.testing.assert_array_equal((x * 2).sum().compute(), np.arange(100.0).sum() * 2)


def test_source_pickles_without_its_memory_map(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(10.0))
    source = NpySource(str(path))
    source.array()
    clone = pickle.loads(pickle.dumps(source))
    assert clone._map is None
    np.testing.assert_array_equal(clone.array(), np.arange(10.0))


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        rd.from_npy(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match="directory"):
        rd.from_npy(tmp_path)
    text = tmp_path / "text.npy"
    text.write_bytes(b"hello world" * 10)
    with pytest.raises(rd.CorruptDataError):
        rd.from_npy(text)
    good = tmp_path / "good.npy"
    np.save(good, np.arange(100.0))
    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(rd.CorruptDataError):
        rd.from_npy(truncated)
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([1, "a"], dtype=object))
    with pytest.raises(TypeError, match="object dtype"):
        rd.from_npy(obj)
    scalar = tmp_path / "scalar.npy"
    np.save(scalar, np.float64(3.0))
    with pytest.raises(ValueError, match="0-dimensional"):
        rd.from_npy(scalar)
    with pytest.raises(ValueError, match="npartitions"):
        rd.from_npy(good, npartitions=0)
