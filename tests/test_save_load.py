"""x.save / rd.load / x.checkpoint: round trips against the original NumPy data, and bad input."""

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import rdarray as rd
from _helpers import Counter, part_file, version_1_frame, wait_until

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


# -- whose frames: the array id and partition index ------------------------------------------------

def _two_arrays(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    a, b = tmp_path / "a", tmp_path / "b"
    rd.from_numpy(np.arange(1000.0), npartitions=2).save(a)
    rd.from_numpy(-np.arange(1000.0), npartitions=2).save(b)
    np.testing.assert_array_equal(rd.load(a).compute(), np.arange(1000.0))
    return a, b


def _swap(f, g):
    tmp = f.with_name("swap")
    f.rename(tmp)
    g.rename(f)
    tmp.rename(g)


def test_frames_moved_between_arrays_or_partitions_are_refused(tmp_path):
    """Every frame names its array and index: a swapped or copied file is refused at load (the
    same dtype and lengths, so nothing else would tell)."""
    a, b = _two_arrays(tmp_path)
    _swap(part_file(a, 0), part_file(b, 0))
    for path in (a, b):
        with pytest.raises(rd.CorruptDataError, match="partition 0 of array .* not partition 0 of array"):
            rd.load(path)
    a, b = _two_arrays(tmp_path / "2")
    _swap(part_file(a, 0), part_file(a, 1))
    with pytest.raises(rd.CorruptDataError, match="partition 1 of this array, not partition 0"):
        rd.load(a)
    a, b = _two_arrays(tmp_path / "3")
    part_file(a, 1).write_bytes(part_file(b, 1).read_bytes())
    with pytest.raises(rd.CorruptDataError, match="moved or foreign"):
        rd.load(a)


def test_links_are_not_followed(tmp_path):
    a, b = _two_arrays(tmp_path)
    part_file(a, 1).unlink()
    part_file(a, 1).symlink_to(part_file(b, 1))
    with pytest.raises(rd.CorruptDataError, match="symbolic link"):
        rd.load(a)
    a, b = _two_arrays(tmp_path / "2")
    version = part_file(a, 0).parent
    shutil.rmtree(version)
    version.symlink_to(part_file(b, 0).parent)  # the whole version a link out of the directory
    with pytest.raises(rd.CorruptDataError, match="not a directory"):
        rd.load(a)
    a, b = _two_arrays(tmp_path / "3")
    (a / "_meta.json").unlink()
    (a / "_meta.json").symlink_to(b / "_meta.json")
    with pytest.raises(rd.CorruptDataError, match="symbolic link"):
        rd.load(a)
    link = tmp_path / "link"
    link.symlink_to(b)  # the array's own path may be a link
    np.testing.assert_array_equal(rd.load(link).compute(), -np.arange(1000.0))


# -- what load refuses quickly ----------------------------------------------------------------------

@pytest.fixture
def deadline():
    """Fail (instead of hanging) a test that blocks for a minute."""
    def expired(*_):
        raise TimeoutError("blocked for 60 s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _meta_with(path, **changes):
    meta = json.loads((path / "_meta.json").read_text())
    (path / "_meta.json").write_text(json.dumps({**meta, **changes}))


@pytest.mark.parametrize("case", ["fifo part", "fifo meta", "meta -> /dev/zero", "meta of 2 MiB", "71 dimensions",
                                  "past 2**63", "trailing 2**40", "socket part", "directory part"])
def test_special_files_and_impossible_shapes_fail_at_load(tmp_path, monkeypatch, deadline, case):
    path = tmp_path / "s"
    rd.from_numpy(np.arange(1000.0), npartitions=2).save(path)
    meta = path / "_meta.json"
    if case == "fifo part":
        part_file(path, 1).unlink()
        os.mkfifo(part_file(path, 1))
    elif case == "fifo meta":
        meta.unlink()
        os.mkfifo(meta)
    elif case == "meta -> /dev/zero":
        meta.unlink()
        meta.symlink_to("/dev/zero")
    elif case == "meta of 2 MiB":
        meta.write_text(meta.read_text()[:-1] + ', "pad": "' + "x" * 2**21 + '"}')
    elif case == "71 dimensions":
        _meta_with(path, shape=[1000] + [2] * 70)
    elif case == "past 2**63":
        _meta_with(path, shape=[1000, 2**40, 2**30])
    elif case == "trailing 2**40":
        _meta_with(path, shape=[1000, 2**40])
    elif case == "socket part":
        part_file(path, 1).unlink()
        monkeypatch.chdir(part_file(path, 1).parent)  # a socket's path is short
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(part_file(path, 1).name)
    else:
        part_file(path, 1).unlink()
        part_file(path, 1).mkdir()
    with pytest.raises(rd.CorruptDataError, match="regular file|symbolic link|larger than|dimensions|holds"):
        rd.load(path)


# -- old layout -------------------------------------------------------------------------------------

def _version_1_array(path, a, npartitions):
    """The array ``a`` saved as version 1 wrote it: the frames beside ``_meta.json``."""
    x = rd.from_numpy(a, npartitions=npartitions)
    x.save(path)
    meta = json.loads((path / "_meta.json").read_text())
    for p in range(npartitions):
        (path / f"part-{p:05d}.rdb").write_bytes(version_1_frame(part_file(path, p).read_bytes()))
    shutil.rmtree(part_file(path, 0).parent)
    del meta["id"]
    (path / "_meta.json").write_text(json.dumps({**meta, "version": 1}))
    (path / ".lock").unlink()


def test_version_1_arrays_load_and_are_replaced_whole(tmp_path):
    path = tmp_path / "s"
    _version_1_array(path, np.arange(100.0), 3)
    old = rd.load(path)
    np.testing.assert_array_equal(old.compute(), np.arange(100.0))
    assert sorted(os.listdir(path)) == ["_meta.json", "part-00000.rdb", "part-00001.rdb", "part-00002.rdb"]
    (rd.arange(10, npartitions=2) * 7).save(path, overwrite=True)
    np.testing.assert_array_equal(rd.load(path).compute(), np.arange(10) * 7)
    assert sorted(os.listdir(path)) == [".lock", "_meta.json", part_file(path, 0).parent.name]
    with pytest.raises(rd.CorruptDataError, match="overwritten"):
        old.compute()


# -- overwrites, crashes and dead writers -----------------------------------------------------------

def _entries(path):
    """What a saved array's directory holds besides its metadata and lock: its versions."""
    return sorted(n for n in os.listdir(path) if n not in ("_meta.json", ".lock"))


def test_reader_during_overwrites_never_mixes_versions(tmp_path):
    """A loaded array read while another process overwrites it gives its own version whole, or
    CorruptDataError once that version is gone; a fresh load gives one version whole."""
    path, n = tmp_path / "s", 20_000
    rd.from_numpy(np.zeros(n), npartitions=8).save(path)
    writer = subprocess.Popen([sys.executable, "-c", f"""
import numpy as np, rdarray as rd
with rd.Context("sync"):
    for i in range(1, 31):
        rd.from_numpy(np.full({n}, float(i)), npartitions=8).save({str(path)!r}, overwrite=True)
"""], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    seen, refused = set(), 0
    with rd.Context("sync"):
        x = rd.load(path)
        try:
            while writer.poll() is None or not seen:
                try:
                    got = x.map_partitions(lambda b: (time.sleep(0.005), b)[1]).compute()
                except rd.CorruptDataError as e:
                    assert "overwritten" in str(e)
                    refused += 1
                    x = rd.load(path)
                    continue
                assert len(set(got.tolist())) == 1, "a mix of versions"
                seen.add(got[0])
        finally:
            writer.wait(timeout=600)
    assert writer.returncode == 0
    np.testing.assert_array_equal(rd.load(path).compute(), np.full(n, 30.0))
    assert len(_entries(path)) == 1


CRASHING_SAVE = """
import os, shutil, sys
import numpy as np, rdarray as rd
path, fresh, crash_at = sys.argv[1], sys.argv[2] == "fresh", int(sys.argv[3])
calls = [0]
def crashing(fn):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == crash_at:
            os._exit(9)  # the process dies here, before this step happens
        return fn(*args, **kwargs)
    return call
for module, name in [(os, "fsync"), (os, "replace"), (os, "link"), (os, "unlink"), (os, "mkdir"),
                     (shutil, "rmtree")]:
    setattr(module, name, crashing(getattr(module, name)))
with rd.Context("sync"):
    rd.from_numpy(np.arange(300.0) * 2, npartitions=3).save(path, overwrite=not fresh)
print(calls[0])
"""


@pytest.mark.parametrize("fresh", [False, True], ids=["overwrite", "fresh"])
def test_a_save_that_dies_at_any_step_leaves_the_old_or_the_new_array(tmp_path, fresh):
    """The writer process dies before each file-system step of a save in turn (every fsync,
    mkdir, rename, link, unlink and removal): the path then loads the old array or the new one,
    and that load removes what the dead writer left."""
    path = tmp_path / "s"
    seen, crash_at = set(), 1
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not fresh:
            rd.from_numpy(np.arange(100.0), npartitions=2).save(path)
        run = subprocess.run([sys.executable, "-c", CRASHING_SAVE, str(path), "fresh" if fresh else "old",
                              str(crash_at)], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        try:
            got = rd.load(path).compute()
        except FileNotFoundError:
            assert fresh
            got = None
        if got is None or len(got) == 100:
            seen.add("old")
            assert got is None or np.array_equal(got, np.arange(100.0))
        else:
            seen.add("new")
            np.testing.assert_array_equal(got, np.arange(300.0) * 2)
        if os.path.exists(path):
            assert len(_entries(path)) == (got is not None), os.listdir(path)
        if run.returncode == 0:
            break
        assert run.returncode == 9, run.stderr
        crash_at += 1
    assert seen == {"old", "new"} and crash_at >= 8


SLOW_SAVE = """
import os, sys, time
import numpy as np, rdarray as rd
path, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def held(b):
    if len(b) and b[0] >= ready * 4000:  # partitions from index `ready` on wait for the file `go`
        deadline = time.monotonic() + 600
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.02)
    return b
with rd.Context("threads", workers=2):
    rd.from_numpy(np.arange(64_000.0), npartitions=16).map_partitions(held).save(path, overwrite=True)
"""


def _start_held_save(path, ready: int, go):
    """A process overwriting ``path`` that writes ``ready`` frames, then waits for the file ``go``."""
    return subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(path), str(ready), str(go)],
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def _parts_written(path) -> int:
    """Frames a writer has written so far into its new version at ``path``."""
    new = set(_entries(path)) - {part_file(path, 0).parent.name}
    return sum(len(os.listdir(path / v)) for v in new)


@pytest.mark.parametrize("kill_after", [0, 1, 5, 12])
def test_kill_9_during_a_save_leaves_nothing_after_the_next_load(tmp_path, kill_after):
    path = tmp_path / "s"
    rd.from_numpy(np.arange(100.0), npartitions=2).save(path)
    writer = _start_held_save(path, kill_after, tmp_path / "never")
    assert wait_until(lambda: len(_entries(path)) == 2 and _parts_written(path) == kill_after, timeout=300)
    writer.kill()
    writer.wait()
    assert len(_entries(path)) == 2  # the dead writer's unfinished version
    np.testing.assert_array_equal(rd.load(path).compute(), np.arange(100.0))
    assert len(_entries(path)) == 1 and sorted(os.listdir(tmp_path)) == ["s"]


def test_a_live_writers_version_is_not_removed(tmp_path):
    path, go = tmp_path / "s", tmp_path / "go"
    rd.from_numpy(np.arange(100.0), npartitions=2).save(path)
    writer = _start_held_save(path, 2, go)
    try:
        assert wait_until(lambda: len(_entries(path)) == 2 and _parts_written(path) == 2, timeout=300)
        np.testing.assert_array_equal(rd.load(path).compute(), np.arange(100.0))  # cleans nothing of it
        assert len(_entries(path)) == 2 and _parts_written(path) == 2
    finally:
        go.touch()
        assert writer.wait(timeout=600) == 0
    np.testing.assert_array_equal(rd.load(path).compute(), np.arange(64_000.0))
    assert len(_entries(path)) == 1


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (needs root; skipped where it cannot be mounted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(mount)],
                                           capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_save_onto_a_full_disk_keeps_the_old_array(small_disk):
    path = small_disk / "s"
    rd.from_numpy(np.arange(1000.0), npartitions=2).save(path)
    big = rd.from_numpy(np.random.default_rng(0).random(300_000), npartitions=4)  # 2.4 MB, incompressible
    with pytest.raises(OSError, match=f"save: cannot write '{path}") as e:
        big.save(path, overwrite=True)
    assert e.value.errno == errno.ENOSPC
    np.testing.assert_array_equal(rd.load(path).compute(), np.arange(1000.0))
    assert len(_entries(path)) == 1
    with pytest.raises(OSError, match="save: cannot write .*fresh"):
        big.save(small_disk / "fresh")
    assert sorted(os.listdir(small_disk)) == ["s"]


def test_concurrent_first_saves_one_wins(tmp_path):
    """Two processes save to the same new path without overwrite: one commits, the other gets
    FileExistsError, and the path holds the winner's array whole."""
    path = tmp_path / "s"
    code = """
import sys, time
import numpy as np, rdarray as rd
value = float(sys.argv[2])
def slow(b):
    time.sleep(0.05)
    return b
try:
    rd.from_numpy(np.full(4000, value), npartitions=8).map_partitions(slow).save(sys.argv[1])
except FileExistsError as e:
    assert "overwrite=True" in str(e), e
    sys.exit(17)
"""
    writers = [subprocess.Popen([sys.executable, "-c", code, str(path), str(v)],
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}) for v in (1, 2)]
    codes = sorted(w.wait(timeout=600) for w in writers)
    assert codes == [0, 17]
    got = rd.load(path).compute()
    assert len(set(got.tolist())) == 1 and got[0] in (1.0, 2.0) and len(got) == 4000
    assert len(_entries(path)) == 1


def test_metadata_changed_to_version_1_removes_no_frames(tmp_path):
    """Metadata edited to say version 1 is damage to report, not a reason to clean the frames away:
    restoring the metadata gives the array back."""
    a = np.arange(100.0)
    path = tmp_path / "x"
    rd.from_numpy(a, npartitions=4).save(path)
    text = (path / "_meta.json").read_text()
    meta = json.loads(text)
    meta["version"] = 1
    (path / "_meta.json").write_text(json.dumps(meta))
    with rd.Context(backend="sync"):
        with pytest.raises(rd.CorruptDataError):
            rd.load(path).compute()
    (path / "_meta.json").write_text(text)
    np.testing.assert_array_equal(rd.load(path).compute(), a)
