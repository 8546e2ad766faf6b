"""Writing a file or a directory of files atomically: the writers' shared helper (``to_parquet``,
``to_csv``; ``save`` has its own versioned layout in ``saved.py``, whose durability helpers this
reuses).

Everything is written into a hidden staging directory next to the target
(``.<name>.tmp-<id>``), each file flushed to disk, then moved into place by renames: a file by one
``os.replace``; a directory by renaming the one it replaces aside (``.<name>.old-<id>``), renaming
the staged one in and removing the old one. A crash leaves the previous data or, between the two
renames of a replaced directory, nothing at the target (the previous directory is still beside it,
hidden); never a half-written file or dataset. A writer holds a shared lock on its staging
directory while it writes; the next writer removes the staging and replaced directories whose
lock it can take exclusively (their writers died).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable

from .saved import _exclusive, _named, _sync_dir


def sync_file(file: str) -> None:
    """Flush a file written by a library (pyarrow) to disk."""
    fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicWrite:
    """Stage a file or directory for ``target`` and commit it (see the module docstring).

    ``staging`` is the directory to write into; :meth:`commit` with ``file`` (a name inside
    ``staging``) moves that file to ``target``, without it the whole directory. Use as a
    context manager: leaving it without a commit (an exception) removes what was staged.
    """

    def __init__(self, target, what: str, overwrite: bool = False):
        self.what = what
        self.target = os.path.abspath(os.fspath(target))
        self.parent, self.name = os.path.split(self.target)
        if not os.path.isdir(self.parent):
            raise FileNotFoundError(f"{what}: the directory {self.parent!r} does not exist")
        if os.path.lexists(self.target) and not overwrite:
            raise FileExistsError(f"{what}: {self.target!r} exists; pass overwrite=True to replace it")
        self.overwrite = overwrite
        self.staging = os.path.join(self.parent, f".{self.name}.tmp-{uuid.uuid4().hex}")
        with _locked(self.parent):  # no other writer cleans up between making and locking it
            _remove_dead(self.parent, self.name)
            try:
                os.mkdir(self.staging)
            except OSError as exc:
                raise _named(exc, f"{what}: cannot write into {self.parent!r}") from exc
            self._lock = os.open(self.staging, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.flock(self._lock, fcntl.LOCK_SH)
        self.committed = False

    def __enter__(self) -> AtomicWrite:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if not self.committed:
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            os.close(self._lock)

    def commit(self, file: str | None = None) -> None:
        """Move the staged file ``file`` (or the staging directory) to the target; writers of
        one directory commit one at a time (an exclusive lock on it)."""
        with _locked(self.parent):
            self._commit(file)

    def _commit(self, file: str | None) -> None:
        if os.path.lexists(self.target) and not self.overwrite:
            raise FileExistsError(f"{self.what}: {self.target!r} exists; pass overwrite=True to replace it")
        if file is not None:
            os.replace(os.path.join(self.staging, file), self.target)
            _sync_dir(self.parent)
            return  # the staging directory, now empty, goes on leaving
        _sync_dir(self.staging)
        old = None
        if os.path.lexists(self.target):
            if not os.path.isdir(self.target):
                raise FileExistsError(f"{self.what}: {self.target!r} is a file, not a directory")
            old = os.path.join(self.parent, f".{self.name}.old-{uuid.uuid4().hex}")
            os.rename(self.target, old)
        try:
            os.rename(self.staging, self.target)
        except OSError:
            if old is not None:
                os.rename(old, self.target)
            raise
        self.committed = True
        _sync_dir(self.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _locked(directory: str):
    """An exclusive lock on ``directory`` (writers of targets in it: one cleans up or commits at a time)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove_dead(parent: str, name: str) -> None:
    """Remove the staging and replaced directories of ``name`` that no live writer holds."""
    # a replaced directory is removed only once the target is there again: without it, the
    # replaced one is all that is left of the previous data
    prefixes = (f".{name}.tmp-", f".{name}.old-") if os.path.lexists(os.path.join(parent, name)) else (f".{name}.tmp-",)
    try:
        entries = os.listdir(parent)
    except OSError:
        return
    for entry in entries:
        if not entry.startswith(prefixes):
            continue
        path = os.path.join(parent, entry)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if _exclusive(fd):
                shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)


def written(write: Callable[[str], None], file: str, what: str) -> None:
    """Run ``write(file)`` (a library writing ``file``) and flush the file; a failure names it."""
    try:
        write(file)
        sync_file(file)
    except OSError as exc:
        raise _named(exc, f"{what}: cannot write {file!r}") from exc


def write_directory(target, write_into_tmp: Callable[[str], None], overwrite: bool, what: str = "write") -> None:
    """Make the directory ``target`` by ``write_into_tmp(staging)`` (a hidden directory beside it),
    then commit it (``to_zarr``); if it raises, ``target`` is as before.

    Parameters
    ----------
    target : str or os.PathLike
        The directory to make; its parent must exist.
    write_into_tmp : callable
        Writes the new directory's contents into the directory it is given.
    overwrite : bool
        Replace what is at ``target``; else ``FileExistsError`` when something is there.
    what : str
        The operation, for error messages.
    """
    if overwrite and os.path.lexists(target) and not os.path.isdir(target):
        raise ValueError(f"{what}: {os.fspath(target)!r} is a file, not a directory")
    with AtomicWrite(target, what, overwrite) as staged:
        write_into_tmp(staged.staging)
        for root, _, _ in os.walk(staged.staging):  # every directory made durable before the rename
            _sync_dir(root)
        staged.commit()
