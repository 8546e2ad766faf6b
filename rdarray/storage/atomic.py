"""Directories written all at once: a writer fills a hidden temporary directory next to the target,
which is then renamed into place (``to_zarr``). A crashed or failed write leaves the previous
directory at the target, or nothing, never a mix of old and new files."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable

from .saved import _named, _sync_dir


def write_directory(target, write_into_tmp: Callable[[str], None], overwrite: bool, what: str = "write") -> None:
    """Make the directory ``target`` by ``write_into_tmp(tmp)``, then one rename.

    Parameters
    ----------
    target : str or os.PathLike
        The directory to make; its parent must exist.
    write_into_tmp : callable
        ``write_into_tmp(tmp)`` writes the new directory's contents into ``tmp`` (already made,
        hidden, in the target's parent). If it raises, ``tmp`` is removed and ``target`` is as before.
    overwrite : bool
        Replace what is at ``target``; else ``FileExistsError`` when something is there.
    what : str
        The operation, for error messages.
    """
    target = os.path.abspath(os.fspath(target))
    parent, name = os.path.split(target)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{what}: the directory {parent!r} does not exist")
    if os.path.lexists(target) and not overwrite:
        raise FileExistsError(f"{what}: {target!r} exists; pass overwrite=True to replace it")
    if os.path.lexists(target) and not os.path.isdir(target):
        raise ValueError(f"{what}: {target!r} is a file, not a directory")
    token = uuid.uuid4().hex[:12]
    tmp = os.path.join(parent, f".{name}.tmp-{token}")
    old = os.path.join(parent, f".{name}.old-{token}")
    try:
        os.mkdir(tmp)
    except OSError as exc:  # a read-only or special directory
        raise _named(exc, f"{what}: cannot write into {parent!r}") from exc
    try:
        write_into_tmp(tmp)
        _sync_tree(tmp)
        if overwrite and os.path.lexists(target):
            os.rename(target, old)  # from here until the next rename, nothing is at the target
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
        else:
            try:
                os.rename(tmp, target)
            except OSError:
                raise FileExistsError(f"{what}: {target!r} exists; pass overwrite=True to replace it") from None
        _sync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _sync_tree(path: str) -> None:
    """Make every directory under ``path`` durable (files are flushed by whoever wrote them)."""
    for root, _, _ in os.walk(path):
        _sync_dir(root)
