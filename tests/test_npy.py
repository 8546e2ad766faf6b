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


# -- several files ---------------------------------------------------------------------------------

def _parts(tmp_path, names=("b", "a", "c"), lengths=(30, 0, 45)):
    """Files named out of order, so that list order and sorted order differ."""
    rng = np.random.default_rng(1)
    arrays = {}
    for name, n in zip(names, lengths):
        arrays[name] = rng.normal(size=(n, 2))
        np.save(tmp_path / f"part-{name}.npy", arrays[name])
    return arrays


@pytest.mark.parametrize("npartitions", [None, 1, 2, 5])
@pytest.mark.parametrize("mmap", [True, False])
def test_a_list_a_glob_and_a_directory(tmp_path, npartitions, mmap):
    arrays = _parts(tmp_path)
    in_sorted = np.concatenate([arrays[k] for k in sorted(arrays)])
    listed = [tmp_path / "part-c.npy", tmp_path / "part-b.npy", tmp_path / "part-a.npy"]
    x = rd.from_npy(listed, npartitions=npartitions, mmap=mmap)
    np.testing.assert_array_equal(x.compute(), np.concatenate([arrays["c"], arrays["b"], arrays["a"]]))
    for path in (str(tmp_path / "part-*.npy"), tmp_path):
        y = rd.from_npy(path, npartitions=npartitions, mmap=mmap)
        assert y.shape == in_sorted.shape
        np.testing.assert_array_equal(y.compute(), in_sorted)
        if npartitions is not None:
            assert y.npartitions == npartitions
    assert float(x.sum()) == pytest.approx(in_sorted.sum())


def test_by_default_no_partition_spans_two_files(tmp_path):
    arrays = _parts(tmp_path, lengths=(30, 20, 45))
    x = rd.from_npy(tmp_path)
    assert x.lineage.partition_lengths == (20, 30, 45)
    for p in range(3):
        assert isinstance(x.lineage.func(p).base, np.memmap) or isinstance(x.lineage.func(p), np.memmap)
    np.testing.assert_array_equal(x.compute(), np.concatenate([arrays["a"], arrays["b"], arrays["c"]]))


def test_files_that_disagree_are_refused_naming_them(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(10.0))
    np.save(tmp_path / "b.npy", np.arange(10))
    with pytest.raises(ValueError, match="b.npy.*a.npy"):
        rd.from_npy([tmp_path / "a.npy", tmp_path / "b.npy"])
    np.save(tmp_path / "c.npy", np.arange(10.0).reshape(5, 2))
    with pytest.raises(ValueError, match="c.npy"):
        rd.from_npy([tmp_path / "a.npy", tmp_path / "c.npy"])
    with pytest.raises(FileNotFoundError, match="nothing-"):
        rd.from_npy(str(tmp_path / "nothing-*.npy"))
    with pytest.raises(FileNotFoundError, match="gone.npy"):
        rd.from_npy([tmp_path / "a.npy", tmp_path / "gone.npy"])
    with pytest.raises(ValueError, match="empty"):
        rd.from_npy([])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .npy files"):
        rd.from_npy(empty)
