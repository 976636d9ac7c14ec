"""Atomic file writes: a reader sees the old file or the complete new one, never a half-written one."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from . import _leftovers


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    target = Path(path)
    try:
        existing = os.stat(target)  # follows links: what a write to ``path`` would reach
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        # A device, pipe or terminal (``-o /dev/null``, ``-o /dev/stdout``): a rename would replace the node
        # itself (as root, /dev/null becomes a plain file), and there is no old content to protect.
        with open(target, "wb") as stream:
            stream.write(data)
        return
    if target.is_symlink():
        # Replace the file the link points to, not the link.
        target = Path(os.path.realpath(target))
    directory = target.parent if str(target.parent) else Path(".")
    # Named and held as envsnap's (``.envsnap-tmp-*``): a run killed mid-write leaves a file the next run removes.
    _leftovers.sweep(directory)
    with _leftovers.held_file(directory, target.name) as (handle, tmp):
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
        # A file being replaced keeps its permissions (a lock kept private with 0600 stays private).
        os.chmod(tmp, stat.S_IMODE(existing.st_mode) if existing is not None else mode)
        os.replace(tmp, target)


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)
