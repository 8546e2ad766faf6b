"""rd.from_array over h5py datasets, zarr arrays and memory maps; rd.read_zarr and x.to_zarr."""

from __future__ import annotations

import contextlib
import os
import pickle
import sys

import numpy as np
import pytest

import rdarray as rd
from rdarray.storage.arrays import H5Source, MemmapSource
from rdarray.storage.zarr_files import ZarrSource

h5py = pytest.importorskip("h5py")
zarr = pytest.importorskip("zarr")

pytestmark = pytest.mark.filterwarnings("ignore:.*does not have a Zarr V3 specification")

FAMILIES = {
    "bool": np.array([True, False, True] * 7),
    "int8": np.arange(-10, 11, dtype=np.int8),
    "uint16": np.arange(21, dtype=np.uint16),
    "int64-2d": np.arange(63, dtype=np.int64).reshape(21, 3),
    "uint64": np.arange(21, dtype=np.uint64) * 2**40,
    "float16": np.linspace(0, 1, 21, dtype=np.float16),
    "float32-3d": np.arange(84, dtype=np.float32).reshape(21, 2, 2),
    "float64": np.random.default_rng(0).normal(size=21),
    "complex128": np.arange(21) + 1j * np.arange(21),
    "bytes": np.array([b"ab", b"c", b""] * 7, dtype="S2"),
    "datetime": np.arange("2024-01-01", "2024-01-22", dtype="datetime64[D]"),
    "timedelta": np.arange(21).astype("timedelta64[s]"),
    "big-endian": np.arange(21, dtype=">i4"),
    "struct": np.array([(i, i / 2, (i, -i)) for i in range(21)], dtype=[("a", "i4"), ("b", "f8"), ("c", "i2", (2,))]),
    "empty": np.zeros((0, 3)),
    "one-row": np.array([[1.5, 2.5]]),
}
H5_UNSUPPORTED = {"datetime", "timedelta"}  # h5py stores no datetime64 / timedelta64


class Counting:
    """An array-like wrapper recording every slice read from it."""

    def __init__(self, obj):
        self.obj, self.requests = obj, []
        self.shape, self.dtype = obj.shape, obj.dtype
        self.chunks = getattr(obj, "chunks", None)

    def __getitem__(self, key):
        self.requests.append(key)
        return self.obj[key]


def assert_within_partitions(requests, x):
    bounds = np.concatenate([[0], np.cumsum(x.lineage.partition_lengths)])
    assert requests
    for key in requests:
        key = key[0] if isinstance(key, tuple) else key
        assert isinstance(key, slice) and key.step in (None, 1)
        p = np.searchsorted(bounds, key.start, side="right") - 1
        assert key.stop <= bounds[p + 1], (key, bounds)


def h5_dataset(tmp_path, a, chunks=None, name="x"):
    file = tmp_path / f"{name}.h5"
    with h5py.File(file, "a") as f:
        f.create_dataset(name, data=a, chunks=chunks if len(a) else None)
    return h5py.File(file, "r")[name]


def zarr_array(tmp_path, a, chunks=None, name="a.zarr"):
    z = zarr.create_array(str(tmp_path / name), shape=a.shape, dtype=a.dtype,
                          chunks=chunks or (max(1, len(a)), *a.shape[1:]))
    if len(a):
        z[:] = a
    return z


def memmap(tmp_path, a):
    np.save(tmp_path / "m.npy", a)
    return np.load(tmp_path / "m.npy", mmap_mode="r")


# -- from_array ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("kind", ["h5py", "zarr", "memmap", "wrapped"])
@pytest.mark.parametrize("npartitions", [None, 1, 4])
def test_every_dtype_family_reads_as_numpy(tmp_path, name, kind, npartitions):
    a = FAMILIES[name]
    if kind == "h5py" and name in H5_UNSUPPORTED:
        pytest.skip("h5py stores no datetime64")
    if kind == "zarr" and name == "struct":
        pytest.skip("tables are zarr groups (test_to_zarr_tables)")
    obj = {"h5py": lambda: h5_dataset(tmp_path, a), "zarr": lambda: zarr_array(tmp_path, a),
           "memmap": lambda: memmap(tmp_path, a), "wrapped": lambda: Counting(a)}[kind]()
    x = rd.from_array(obj, npartitions=npartitions)
    assert x.shape == a.shape and x.dtype == a.dtype
    out = x.compute()
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out, a)
    if npartitions is not None and len(a) >= npartitions:
        assert x.npartitions == npartitions


def test_sources_reopen_by_file_name(tmp_path):
    a = np.arange(1000.0)
    assert isinstance(rd.from_array(h5_dataset(tmp_path, a)).lineage.func.__closure__, tuple)
    sources = [H5Source(h5_dataset(tmp_path, a, name="y")), ZarrSource(zarr_array(tmp_path, a)),
               MemmapSource(memmap(tmp_path, a))]
    for source in sources:
        clone = pickle.loads(pickle.dumps(source))
        assert clone._obj is None and clone.reopens
        np.testing.assert_array_equal(clone.read(10, 20), a[10:20])
    wrapped = rd.from_array(Counting(a))
    assert wrapped.lineage.in_process  # read here and sent
    assert not rd.from_array(h5_dataset(tmp_path, a, name="z")).lineage.in_process
    assert rd.from_array(memmap(tmp_path, a)[10:]).lineage.in_process  # a view of a map: not reopened


@pytest.mark.parametrize("kind", ["h5py", "zarr"])
@pytest.mark.parametrize("npartitions", [None, 3, 7])
def test_never_read_whole(tmp_path, monkeypatch, kind, npartitions):
    """Every read the sources make is inside one partition."""
    a = np.arange(10_000.0).reshape(5000, 2)
    obj = h5_dataset(tmp_path, a, chunks=(256, 2)) if kind == "h5py" else zarr_array(tmp_path, a, (256, 2))
    counters: list[Counting] = []
    if kind == "h5py":
        original = H5Source.opened

        @contextlib.contextmanager
        def counting_opened(self):
            with original(self) as dataset:
                counters.append(Counting(dataset))
                yield counters[-1]

        monkeypatch.setattr(H5Source, "opened", counting_opened)
    else:
        original_handle = ZarrSource.handle

        def counting_handle(self):
            counters.append(Counting(original_handle(self)))
            return counters[-1]

        monkeypatch.setattr(ZarrSource, "handle", counting_handle)
    with rd.Context(backend="threads", workers=2):
        x = rd.from_array(obj, npartitions=npartitions, partition_size=None if npartitions else 20_000)
        assert x.npartitions > 1
        assert float((x * 2).sum()) == a.sum() * 2
        np.testing.assert_array_equal(x[1000:1010].compute(), a[1000:1010])
    requests = [r for c in counters for r in c.requests]
    assert_within_partitions(requests, x)


def test_wrapper_is_read_one_partition_at_a_time():
    a = np.arange(3000).reshape(1000, 3)
    obj = Counting(a)
    x = rd.from_array(obj, npartitions=6)
    assert int(x.sum()) == a.sum()
    assert len(obj.requests) == 6
    assert_within_partitions(obj.requests, x)


@pytest.mark.parametrize("npartitions", [1, 2, 3, 5, 8])
def test_partitions_hold_whole_chunks(tmp_path, npartitions):
    a = np.arange(1000)
    for obj in (h5_dataset(tmp_path, a, chunks=(64,)), zarr_array(tmp_path, a, (64,))):
        x = rd.from_array(obj, npartitions=npartitions)
        lengths = x.lineage.partition_lengths
        assert len(lengths) == npartitions and sum(lengths) == 1000
        assert all(n % 64 == 0 for n in lengths[:-1]), lengths
        np.testing.assert_array_equal(x.compute(), a)
    x = rd.from_array(zarr_array(tmp_path, a, (64,), name="b.zarr"), partition_size=64 * 8 * 3)
    assert all(n == 64 * 3 for n in x.lineage.partition_lengths[:-1])
    more = rd.from_array(zarr_array(tmp_path, a, (400,), name="c.zarr"), npartitions=5)  # more than chunks
    assert more.npartitions == 5
    np.testing.assert_array_equal(more.compute(), a)


def test_bad_input(tmp_path):
    with pytest.raises(TypeError, match="shape, dtype"):
        rd.from_array([1, 2, 3])
    with pytest.raises(TypeError, match="object"):
        rd.from_array(np.array([1, "a"], dtype=object))
    with pytest.raises(ValueError, match="0-dimensional"):
        rd.from_array(np.float64(1.0))
    with pytest.raises(ValueError, match="not both"):
        rd.from_array(np.arange(10), npartitions=2, partition_size=10)
    with pytest.raises(ValueError, match="npartitions"):
        rd.from_array(np.arange(10), npartitions=0)
    missing = tmp_path / "missing.zarr"
    with pytest.raises(FileNotFoundError, match="missing.zarr"):
        rd.read_zarr(missing)


def test_zarr_missing_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r"rdarray\[zarr\]"):
        rd.read_zarr(tmp_path)
    with pytest.raises(ImportError, match=r"rdarray\[zarr\]"):
        rd.arange(10).to_zarr(tmp_path / "x.zarr")


# -- to_zarr ---------------------------------------------------------------------------------------

ROUND_TRIP = {k: v for k, v in FAMILIES.items() if k != "struct"}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_to_zarr_round_trip(tmp_path, name):
    a = ROUND_TRIP[name]
    x = rd.from_numpy(a, npartitions=min(3, max(1, len(a))))
    x.to_zarr(tmp_path / "x.zarr")
    z = zarr.open_array(str(tmp_path / "x.zarr"), mode="r")
    assert z.shape == a.shape and z.dtype == a.dtype.newbyteorder("=") or z.dtype == a.dtype
    np.testing.assert_array_equal(z[:], a)
    back = rd.read_zarr(tmp_path / "x.zarr")
    out = back.compute()
    np.testing.assert_array_equal(out, a)
    assert out.dtype == a.dtype or out.dtype == a.dtype.newbyteorder("=")


def test_to_zarr_writes_one_chunk_range_per_partition(ctx, tmp_path):
    a = np.arange(10_000.0).reshape(5000, 2)
    x = rd.from_numpy(a, npartitions=4)
    x.to_zarr(tmp_path / "x.zarr")
    z = zarr.open_array(str(tmp_path / "x.zarr"), mode="r")
    assert z.chunks == (1250, 2)
    back = rd.read_zarr(tmp_path / "x.zarr")
    assert back.lineage.partition_lengths == (1250,) * 4 or back.npartitions == 1
    np.testing.assert_array_equal(back.compute(), a)
    np.testing.assert_array_equal(rd.read_zarr(tmp_path / "x.zarr", npartitions=4).compute(), a)
    uneven = x[x[:, 0] % 3 == 0]  # lengths unknown, then unequal: realigned to equal chunks
    uneven.to_zarr(tmp_path / "u.zarr")
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "u.zarr"), mode="r")[:], a[a[:, 0] % 3 == 0])
    np.testing.assert_array_equal(rd.read_zarr(tmp_path / "u.zarr").compute(), a[a[:, 0] % 3 == 0])


def test_to_zarr_tables(ctx, tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": np.arange(100), "b": np.arange(100) / 3,
                       "t": pd.date_range("2024-01-01", periods=100, freq="h", tz="Europe/Paris")})
    x = rd.from_pandas(df, npartitions=3)
    x.to_zarr(tmp_path / "t.zarr")
    group = zarr.open_group(str(tmp_path / "t.zarr"), mode="r")
    assert sorted(name for name, _ in group.arrays()) == ["a", "b", "t"]
    np.testing.assert_array_equal(group["b"][:], df["b"].to_numpy())
    back = rd.read_zarr(tmp_path / "t.zarr")
    assert back.dtype.names == ("a", "b", "t")
    assert rd.dtypes.zone(back.dtype["t"]) == "Europe/Paris"
    pd.testing.assert_frame_equal(back.to_pandas(), x.to_pandas())
    structured = np.array([(i, str(i).encode(), str(i), (i, -i)) for i in range(21)],
                          dtype=[("a", "i4"), ("s", "S2"), ("u", "U2"), ("c", ">i2", (2,))])
    rd.from_numpy(structured, npartitions=2).to_zarr(tmp_path / "s.zarr")
    out = rd.read_zarr(tmp_path / "s.zarr").compute()
    assert out.dtype.names == structured.dtype.names  # a big-endian field may come back native
    np.testing.assert_array_equal(out, structured)


def test_to_zarr_of_unknown_lengths_computes_once(ctx, tmp_path):
    """A filter's lengths are learnt by computing it; the write reuses those partitions."""
    a = np.arange(1000, dtype=np.float64)
    calls = []

    def counted(block):
        calls.append(len(block))
        return block

    x = rd.from_numpy(a, npartitions=4).map_partitions(counted)
    calls.clear()  # map_partitions tried the function on an empty block for its dtype
    y = x[x % 3 == 0]
    y.to_zarr(tmp_path / "y.zarr")
    assert sorted(calls) == [250] * 4 or ctx.backend not in ("threads", "sync")  # elsewhere: in workers
    np.testing.assert_array_equal(rd.read_zarr(tmp_path / "y.zarr").compute(), a[a % 3 == 0])
    assert y._node.persist_level is None  # kept only for the write


def test_to_zarr_keeps_a_zone(tmp_path):
    pd = pytest.importorskip("pandas")
    s = pd.Series(pd.date_range("2024-01-01", periods=10, freq="D", tz="US/Eastern"))
    x = rd.from_pandas(s)
    x.to_zarr(tmp_path / "z.zarr")
    assert rd.dtypes.zone(rd.read_zarr(tmp_path / "z.zarr").dtype) == "US/Eastern"


def test_to_zarr_refuses_text(tmp_path):
    with pytest.raises(TypeError, match="text"):
        rd.from_numpy(np.array(["a", "bb"], dtype=np.dtypes.StringDType())).to_zarr(tmp_path / "x.zarr")
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match="'name'"):
        rd.from_pandas(pd.DataFrame({"a": [1, 2], "name": ["x", "y"]})).to_zarr(tmp_path / "x.zarr")
    assert not os.listdir(tmp_path)


def test_to_zarr_is_atomic(tmp_path):
    target = tmp_path / "x.zarr"
    rd.arange(100.0, npartitions=4).to_zarr(target)
    with pytest.raises(FileExistsError, match="overwrite"):
        rd.arange(100.0).to_zarr(target)

    def fail_on_third(block):
        if len(block) and block[0] >= 50:
            raise RuntimeError("disk on fire")
        return block * 2

    with pytest.raises(RuntimeError, match="disk on fire"):
        rd.arange(100.0, npartitions=4).map_partitions(fail_on_third).to_zarr(target, overwrite=True)
    np.testing.assert_array_equal(zarr.open_array(str(target), mode="r")[:], np.arange(100.0))
    assert os.listdir(tmp_path) == ["x.zarr"]  # no hidden directory left behind
    (rd.arange(10.0) + 1).to_zarr(target, overwrite=True)
    np.testing.assert_array_equal(rd.read_zarr(target).compute(), np.arange(10.0) + 1)
    assert os.listdir(tmp_path) == ["x.zarr"]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        rd.arange(3).to_zarr(tmp_path / "nowhere" / "x.zarr")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a zarr store"):
        rd.arange(3).to_zarr(other, overwrite=True)
    assert (other / "notes.txt").read_text() == "mine"


# -- other processes -------------------------------------------------------------------------------

def test_processes_read_on_the_workers(processes_context, tmp_path):
    a = np.arange(1_000_000, dtype=np.float64)
    h5 = h5_dataset(tmp_path, a, chunks=(65536,))
    z = zarr_array(tmp_path, a, (65536,))
    with processes_context.as_default() as ctx:
        executor = ctx.executor
        for obj in (h5, z, memmap(tmp_path, a)):
            before = executor.bytes_sent
            x = rd.from_array(obj, npartitions=4)
            assert float(x.sum()) == a.sum()
            assert executor.bytes_sent - before < a.nbytes / 20  # tasks, not the rows
        np.save(tmp_path / "p0.npy", a[:300_000])
        np.save(tmp_path / "p1.npy", a[300_000:])
        before = executor.bytes_sent
        assert float(rd.from_npy(str(tmp_path / "p*.npy"), npartitions=4).sum()) == a.sum()
        assert executor.bytes_sent - before < a.nbytes / 20
        before = executor.bytes_sent
        rd.from_array(z, npartitions=4).to_zarr(tmp_path / "w.zarr")
        assert executor.bytes_sent - before < a.nbytes / 20  # written by the workers
        np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "w.zarr"), mode="r")[:], a)
        before = executor.bytes_sent
        assert float(rd.from_array(Counting(a), npartitions=4).sum()) == a.sum()
        assert executor.bytes_sent - before >= a.nbytes  # this process's object: sent


@pytest.mark.slow
def test_dask_reads_on_the_workers(dask_context, tmp_path):
    a = np.arange(100_000, dtype=np.float64)
    with dask_context.as_default():
        for obj in (h5_dataset(tmp_path, a, chunks=(8192,)), zarr_array(tmp_path, a, (8192,))):
            assert float(rd.from_array(obj, npartitions=4).sum()) == a.sum()
        rd.from_array(zarr_array(tmp_path, a, (8192,), name="b.zarr"), npartitions=4).to_zarr(tmp_path / "w.zarr")
        np.testing.assert_array_equal(rd.read_zarr(tmp_path / "w.zarr").compute(), a)


def test_a_rewritten_file_is_read_again(processes_context, tmp_path):
    """Workers open an HDF5 file only while reading it (so it can be written again meanwhile,
    HDF5's file lock free), and reopen a zarr array that was replaced."""
    with processes_context.as_default():
        for k in range(3):
            a = np.arange(1000.0) + k
            with h5py.File(tmp_path / "x.h5", "w") as f:  # in place: the workers hold no lock
                f.create_dataset("x", data=a)
            with h5py.File(tmp_path / "x.h5", "r") as f:
                assert float(rd.from_array(f["x"], npartitions=2).sum()) == a.sum()
            rd.from_numpy(a, npartitions=2).to_zarr(tmp_path / "x.zarr", overwrite=True)
            assert float(rd.read_zarr(tmp_path / "x.zarr", npartitions=2).sum()) == a.sum()


def test_empty_results_round_trip(tmp_path):
    x = rd.arange(100.0, npartitions=4)
    empty = x[x > 1000]
    empty.to_zarr(tmp_path / "e.zarr")
    back = rd.read_zarr(tmp_path / "e.zarr")
    assert back.shape == (0,) and back.dtype == np.float64
    assert back.compute().shape == (0,)
    one = x[x == 42]
    one.to_zarr(tmp_path / "o.zarr")
    np.testing.assert_array_equal(rd.read_zarr(tmp_path / "o.zarr").compute(), [42.0])


def test_objects_that_cannot_be_reopened_are_read_here(tmp_path):
    a = np.arange(100.0)
    with h5py.File(tmp_path / "in-memory.h5", "w", driver="core", backing_store=False) as f:
        f.create_dataset("x", data=a)
        x = rd.from_array(f["x"], npartitions=3)
        assert x.lineage.in_process
        np.testing.assert_array_equal(x.compute(), a)
    store = zarr.storage.MemoryStore()
    z = zarr.create_array(store, shape=(100,), chunks=(10,), dtype="f8")
    z[:] = a
    y = rd.from_array(z, npartitions=3)
    assert y.lineage.in_process and all(n % 10 == 0 for n in y.lineage.partition_lengths[:-1])
    np.testing.assert_array_equal(y.compute(), a)


def test_relative_paths_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = np.arange(10.0)
    zarr_array(tmp_path, a, name="rel.zarr")
    z = zarr.open_array("rel.zarr", mode="r")
    source = ZarrSource(z)
    assert source.root == str(tmp_path / "rel.zarr")
    monkeypatch.chdir("/")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(source)).read(0, 10), a)


@pytest.mark.parametrize("kind", ["h5py", "memmap", "npy", "zarr"])
def test_tables_from_files_work_as_tables(processes_context, tmp_path, kind):
    t = np.array([(i % 7, i / 2) for i in range(1000)], dtype=[("k", "i4"), ("v", "f8")])
    if kind == "h5py":
        x = rd.from_array(h5_dataset(tmp_path, t, chunks=(100,)), npartitions=4)
    elif kind == "memmap":
        x = rd.from_array(memmap(tmp_path, t), npartitions=4)
    elif kind == "npy":
        np.save(tmp_path / "t.npy", t)
        x = rd.from_npy(tmp_path / "t.npy", npartitions=4)
    else:
        rd.from_numpy(t, npartitions=4).to_zarr(tmp_path / "t.zarr")
        x = rd.read_zarr(tmp_path / "t.zarr", npartitions=4)
    for ctx in (rd.get_context(), processes_context):
        with ctx.as_default():
            assert float(x["v"].sum()) == t["v"].sum()
            assert float(x[x["k"] == 3]["v"].sum()) == t["v"][t["k"] == 3].sum()
            np.testing.assert_array_equal(x.compute(), t)
            np.testing.assert_array_equal(x.sort("k").compute()["k"], np.sort(t["k"]))
            assert x.to_pandas()["v"].sum() == t["v"].sum()


@pytest.mark.parametrize("kind", ["h5py", "zarr"])
def test_tables_from_files_read_only_the_fields_used(tmp_path, monkeypatch, kind):
    """A compound HDF5 dataset and a zarr table group are read field by field: a plan reads only
    the fields it uses (both backends in the process, where the reads can be seen)."""
    t = np.zeros(600, dtype=[("k", "i4"), ("v", "f8"), ("w", "f8"), ("s", "S8")])
    t["k"], t["v"], t["w"], t["s"] = np.arange(600) % 7, np.arange(600) / 2, -np.arange(600.0), b"pad"
    read: list = []
    if kind == "h5py":
        original = H5Source.read

        def spy(self, start, stop, fields=None):
            read.append(tuple(fields) if fields is not None else None)
            return original(self, start, stop, fields)

        monkeypatch.setattr(H5Source, "read", spy)
        x = rd.from_array(h5_dataset(tmp_path, t, chunks=(100,)), npartitions=3)
    else:
        original = ZarrSource.read

        def spy(self, start, stop):  # type: ignore[misc]
            read.append(self.handle().basename)
            return original(self, start, stop)

        rd.from_numpy(t, npartitions=3).to_zarr(tmp_path / "t.zarr")
        monkeypatch.setattr(ZarrSource, "read", spy)
        x = rd.read_zarr(tmp_path / "t.zarr", npartitions=3)
    for backend in ("threads", "sync"):
        with rd.Context(backend=backend):
            read.clear()
            assert float(x[x["k"] == 3]["v"].sum()) == t["v"][t["k"] == 3].sum()
            assert set(read) == ({("k", "v")} if kind == "h5py" else {"k", "v"}), read
            read.clear()
            np.testing.assert_array_equal(x.compute(), t)  # every field when every field is read
            assert set(read) == ({None} if kind == "h5py" else {"k", "v", "w", "s"}), read


def test_a_crashed_write_leaves_the_previous_store(tmp_path):
    import subprocess
    import textwrap

    target = tmp_path / "x.zarr"
    rd.arange(100.0, npartitions=4).to_zarr(target)
    script = textwrap.dedent(f"""
        import os
        import rdarray as rd

        def die(block):
            if len(block) and block[0] >= 50:
                os._exit(3)
            return block

        with rd.Context(backend="sync"):
            (rd.arange(100.0, npartitions=4) + 1).map_partitions(die).to_zarr({str(target)!r}, overwrite=True)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(rd.__file__)),
                                                        os.environ.get("PYTHONPATH", "")])}
    assert subprocess.run([sys.executable, "-c", script], env=env).returncode == 3
    np.testing.assert_array_equal(rd.read_zarr(target).compute(), np.arange(100.0))
    assert [n for n in os.listdir(tmp_path) if not n.startswith(".")] == ["x.zarr"]


def test_default_partitions_split_no_chunk(tmp_path, monkeypatch):
    a = np.arange(10_000.0)
    monkeypatch.setattr(rd.config, "partition_bytes", 8000)  # 1,000 rows a partition wanted
    with rd.Context(backend="threads", workers=2):
        few = rd.from_array(zarr_array(tmp_path, a, (4000,)))  # 3 chunks: 3 partitions, not 10
        assert few.lineage.partition_lengths == (4000, 4000, 2000)
        many = rd.from_array(h5_dataset(tmp_path, a, chunks=(300,)))
        assert all(n % 300 == 0 for n in many.lineage.partition_lengths[:-1])
        assert 8 <= many.npartitions <= 12
        np.testing.assert_array_equal(many.compute(), a)


def test_an_hdf5_file_closed_by_the_caller_is_reopened(tmp_path):
    a = np.arange(1000.0)
    with h5py.File(tmp_path / "c.h5", "w") as f:
        f.create_dataset("x", data=a)
    with h5py.File(tmp_path / "c.h5", "r") as f:
        x = rd.from_array(f["x"], npartitions=3)
    assert float(x.sum()) == a.sum()


def test_other_array_likes(tmp_path):
    da = pytest.importorskip("dask.array")
    a = np.arange(1000.0).reshape(500, 2)
    x = rd.from_array(da.from_array(a, chunks=(100, 2)), npartitions=3)  # dask's chunks are tuples
    np.testing.assert_array_equal(x.compute(), a)
    np.testing.assert_array_equal(rd.from_array(a, npartitions=4).compute(), a)
