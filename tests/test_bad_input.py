"""Bad input (contract 5): every public entry point, called with wrong types, shapes, sizes, fields,
dtypes, lengths and paths, raises a standard exception whose message names the argument; the
context stays usable and nothing persisted or saved is damaged."""
from __future__ import annotations

import hashlib
import io
import os

import numpy as np
import pytest

import rdarray as rd
from _helpers import saved_files

A = np.arange(20.0)
T = np.zeros(20, dtype=[("k", "i8"), ("v", "f8")])
T["k"] = np.arange(20) % 3
T["v"] = np.arange(20.0)


def x():
    return rd.from_numpy(A, npartitions=4)


def t():
    return rd.from_numpy(T, npartitions=3)


def _file(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("not a directory")
    return str(path)


#: (id, call given a tmp_path, the exception expected, a word the message must contain)
CASES = [
    # making arrays
    ("from_numpy list of lists ragged", lambda p: rd.from_numpy([[1, 2], [3]]), ValueError, "from_numpy"),
    ("from_numpy 0-d", lambda p: rd.from_numpy(np.float64(3.0)), ValueError, "from_numpy"),
    ("from_numpy object", lambda p: rd.from_numpy(np.array([None, 1], dtype=object)), TypeError, "object"),
    ("from_numpy npartitions 0", lambda p: rd.from_numpy(A, npartitions=0), ValueError, "npartitions"),
    ("from_numpy npartitions str", lambda p: rd.from_numpy(A, npartitions="4"), ValueError, "npartitions"),
    ("from_numpy partition_size -1", lambda p: rd.from_numpy(A, partition_size=-1), ValueError, "partition_size"),
    ("from_numpy both sizes", lambda p: rd.from_numpy(A, npartitions=2, partition_size=8), ValueError, "npartitions"),
    ("from_partitions empty list", lambda p: rd.from_partitions([]), ValueError, "from_partitions"),
    ("from_partitions not a list", lambda p: rd.from_partitions(5), TypeError, "from_partitions"),
    ("from_partitions mixed dtypes", lambda p: rd.from_partitions([A, A.astype("i8")]), (TypeError, ValueError),
     "dtype"),
    ("from_partitions mixed shapes", lambda p: rd.from_partitions([A[:, None], A]), ValueError, "from_partitions"),
    ("arange step 0", lambda p: rd.arange(0, 10, 0), ValueError, "step"),
    ("arange str", lambda p: rd.arange("10"), TypeError, "arange"),
    ("zeros negative", lambda p: rd.zeros(-5), ValueError, "negative"),
    ("ones float shape", lambda p: rd.ones(2.5), (TypeError, ValueError), "shape"),
    ("zeros 2-d negative", lambda p: rd.zeros((3, -1)), ValueError, "shape"),
    ("full unknown dtype", lambda p: rd.full(5, 1.0, dtype="nope"), TypeError, "nope"),
    ("linspace negative num", lambda p: rd.linspace(0, 1, -3), ValueError, "num"),
    ("random negative size", lambda p: rd.random.random(-1), ValueError, "shape"),
    ("random negative seed", lambda p: rd.random.random(10, seed=-1), ValueError, "seed"),
    ("random normal negative scale", lambda p: rd.random.normal(0, -1, 10).compute(), ValueError, "scale"),
    ("random integers low > high", lambda p: rd.random.integers(5, 1, 10).compute(), ValueError, "high"),
    ("from_npy missing", lambda p: rd.from_npy(str(p / "missing.npy")), FileNotFoundError, "missing.npy"),
    ("from_npy a directory", lambda p: rd.from_npy(str(p)), (IsADirectoryError, ValueError), str),
    ("from_npy not npy", lambda p: rd.from_npy(_file(p)), ValueError, "plain.txt"),
    ("from_npy npartitions 0", lambda p: rd.from_npy(_npy(p), npartitions=0), ValueError, "npartitions"),
    ("from_npy mixed dtypes", lambda p: rd.from_npy([_npy(p), _npy(p, "i.npy", np.arange(3))]), ValueError, "i.npy"),
    ("from_array a list", lambda p: rd.from_array([1, 2, 3]), TypeError, "from_array"),
    ("from_array None", lambda p: rd.from_array(None), TypeError, "shape"),
    ("from_array 0-d", lambda p: rd.from_array(np.float64(3.0)), ValueError, "0-dimensional"),
    ("read_zarr missing", lambda p: rd.read_zarr(str(p / "missing.zarr")), FileNotFoundError, "missing.zarr"),
    ("read_zarr not zarr", lambda p: rd.read_zarr(_file(p)), ValueError, "plain.txt"),
    ("to_zarr into a missing directory", lambda p: x().to_zarr(str(p / "no" / "x.zarr")), FileNotFoundError, "no"),
    ("to_zarr where nothing can be written", lambda p: x().to_zarr("/proc/1/x.zarr"), OSError, "to_zarr"),
    ("to_zarr over a file", lambda p: x().to_zarr(_file(p), overwrite=True), ValueError, "plain.txt"),
    ("load missing", lambda p: rd.load(str(p / "nothing")), FileNotFoundError, "nothing"),
    ("load a file", lambda p: rd.load(_file(p)), (NotADirectoryError, ValueError), "plain.txt"),
    # saving
    ("save into a file", lambda p: x().save(os.path.join(_file(p), "sub")), (NotADirectoryError, FileNotFoundError,
                                                                              OSError), "plain.txt"),
    ("save into a missing directory", lambda p: x().save(str(p / "no" / "such")), FileNotFoundError, "no"),
    ("save where nothing can be written", lambda p: x().save("/proc/1/rdarray-saved"), OSError, "save"),
    ("checkpoint where nothing can be written", lambda p: x().checkpoint("/proc/1/rdarray-cp"), OSError, "/proc/1"),
    ("save unknown codec", lambda p: x().save(str(p / "c"), codec="nope"), ValueError, "nope"),
    ("save clevel 12", lambda p: x().save(str(p / "c"), clevel=12), ValueError, "clevel"),
    ("save clevel str", lambda p: x().save(str(p / "c"), clevel="5"), (TypeError, ValueError), "clevel"),
    # narrow operations
    ("add mismatched length", lambda p: x() + np.arange(7.0), ValueError, "7"),
    ("add unbroadcastable", lambda p: rd.from_numpy(np.ones((20, 3))) + np.ones(4), ValueError, "shape"),
    ("astype object", lambda p: x().astype(object), TypeError, "object"),
    ("astype unknown", lambda p: x().astype("float128x"), TypeError, "float128x"),
    ("map_partitions not callable", lambda p: x().map_partitions(3), TypeError, "map_partitions"),
    ("filter not callable", lambda p: x().filter("x > 3"), TypeError, "filter"),
    ("index by str on plain", lambda p: x()["k"], (KeyError, ValueError, IndexError), "k"),
    ("unknown field", lambda p: t()["nope"], KeyError, "nope"),
    ("unknown fields list", lambda p: t()[["k", "nope"]], KeyError, "nope"),
    ("row out of range", lambda p: x()[25], IndexError, "25"),
    ("column of 1-d", lambda p: x()[:, 1], IndexError, "index"),
    ("float index", lambda p: x()[1.5], (TypeError, IndexError), "1.5"),
    ("slice step 0", lambda p: x()[::0], ValueError, "step"),
    ("coalesce 0", lambda p: x().coalesce(0), ValueError, "coalesce"),
    ("concatenate nothing", lambda p: rd.concatenate([]), ValueError, "concatenate"),
    ("concatenate shapes", lambda p: rd.concatenate([x(), rd.from_numpy(np.ones((3, 2)))]), ValueError, "shape"),
    ("where mismatched", lambda p: rd.where(x() > 2, x(), rd.arange(7.0)), ValueError, "7"),
    # reductions
    ("sum axis 3", lambda p: x().sum(axis=3), ValueError, "axis"),
    ("sum of strings", lambda p: rd.from_numpy(np.array(["a", "b"])).sum(), TypeError, "sum"),
    ("var ddof str", lambda p: x().var(ddof="1").compute(), TypeError, "ddof"),
    ("histogram bins 0", lambda p: x().histogram(bins=0), ValueError, "bins"),
    ("histogram range backwards", lambda p: x().histogram(bins=4, range=(5, 1)), ValueError, "range"),
    ("reduce not callable", lambda p: x().reduce(5), TypeError, "reduce"),
    ("reduce combine not callable", lambda p: x().reduce(np.sum, combine="+"), TypeError, "combine"),
    ("aggregate seq_op not callable", lambda p: x().aggregate(0, None, max), TypeError, "seq_op"),
    ("head negative", lambda p: x().head(-2), ValueError, "head"),
    ("persist unknown level", lambda p: x().persist("ssd"), ValueError, "ssd"),
    ("checkpoint into a file", lambda p: x().checkpoint(os.path.join(_file(p), "cp")),
     (NotADirectoryError, FileNotFoundError, OSError), "plain.txt"),
    # wide operations
    ("repartition 0", lambda p: x().repartition(0), ValueError, "repartition"),
    ("partition_by unknown field", lambda p: t().partition_by("nope"), KeyError, "nope"),
    ("partition_by npartitions -2", lambda p: t().partition_by("k", npartitions=-2), ValueError, "npartitions"),
    ("sort unknown field", lambda p: t().sort("nope"), KeyError, "nope"),
    ("sort 2-d without order", lambda p: rd.from_numpy(np.ones((4, 2))).sort(), ValueError, "sort"),
    ("groupby unknown field", lambda p: t().groupby("nope"), KeyError, "nope"),
    ("groupby by mismatched array", lambda p: t().groupby(rd.arange(5)).sum(), ValueError, "5"),
    ("groupby unknown aggregate", lambda p: t().groupby("k").agg(m=("v", "median_of_three")), ValueError,
     "median_of_three"),
    ("groupby agg unknown field", lambda p: t().groupby("k").agg(m=("w", "sum")), KeyError, "w"),
    ("merge unknown how", lambda p: rd.merge(t(), t(), on="k", how="sideways"), ValueError, "sideways"),
    ("merge unknown key", lambda p: rd.merge(t(), t(), on="nope"), KeyError, "nope"),
    ("merge plain arrays", lambda p: rd.merge(x(), x()), (TypeError, ValueError), "merge"),
    ("merge_asof bad direction", lambda p: rd.merge_asof(t(), t(), on="k", direction="up"), ValueError, "up"),
    ("merge_asof negative tolerance", lambda p: rd.merge_asof(t(), t(), on="k", tolerance=-1), ValueError,
     "tolerance"),
    # contexts, futures, progress
    ("context unknown backend", lambda p: rd.Context(backend="gpu"), ValueError, "gpu"),
    ("context workers 0", lambda p: rd.Context(workers=0), ValueError, "workers"),
    ("context memory_limit", lambda p: rd.Context(memory_limit="lots"), ValueError, "lots"),
    ("context unknown option", lambda p: rd.Context(colour="blue"), TypeError, "colour"),
    ("context spill_dir a file", lambda p: rd.Context(memory_limit="1MB", spill_dir=_file(p)),
     (NotADirectoryError, ValueError, OSError), "plain.txt"),
    ("submit not callable", lambda p: rd.get_context().submit(3), TypeError, "callable"),
    ("compute a list", lambda p: rd.compute([1, 2]), TypeError, "list"),
    ("progress negative delay", lambda p: rd.progress(delay=-1).__enter__(), ValueError, "delay"),
]


def _npy(tmp_path, name: str = "a.npy", a=A) -> str:
    path = str(tmp_path / name)
    np.save(path, a)
    return path


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """A persisted array and a saved one, checked untouched after every bad call."""
    root = tmp_path_factory.mktemp("kept")
    persisted = rd.from_numpy(A * 3, npartitions=3).persist()
    persisted.count()
    saved = str(root / "saved")
    rd.from_numpy(T, npartitions=2).save(saved)
    return persisted, saved, _digest(saved)


def _digest(directory: str) -> dict:
    return {name: hashlib.sha256(data).hexdigest() for name, data in saved_files(directory).items()}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error_and_loses_nothing(case, tmp_path, kept):
    _, call, expected, word = case
    with pytest.raises(expected) as info:
        call(tmp_path)
    message = str(info.value)
    if isinstance(word, str):
        assert word.lower() in message.lower(), f"{type(info.value).__name__}: {message}"
    persisted, saved, digest = kept
    np.testing.assert_array_equal(persisted.compute(), A * 3)
    assert _digest(saved) == digest
    np.testing.assert_array_equal(rd.load(saved).compute(), T)
    assert (x() * 2).sum().compute() == A.sum() * 2


def test_every_case_is_distinct():
    assert len({c[0] for c in CASES}) == len(CASES) >= 80, len(CASES)


def test_progress_file_without_write():
    with pytest.raises(TypeError, match="progress"):
        with rd.progress(file=io.BytesIO().getvalue()):
            pass
