"""Holding an ``.envsnap-*`` entry this run has just made, against a sweep in another process (``_leftovers``).

An entry is made (``mkdir``, ``mkstemp``) and then held with an exclusive ``flock``; a sweep takes an entry whose
lock it can take as a killed run's. Between the two, an entry is not yet held: a sweep in another process (an
envsnap run beside this one in the same temporary folder) took it and removed it, and the run that made it failed
(``No such file or directory``) or worked in a folder that was gone. So a sweep holds an entry's lock while it
removes it (``_leftovers.remove``), and the maker, once it holds its entry, checks that the entry is still the one
at its path: where it is not, a sweep took it, and the maker makes another. The standard library's ``os`` and
``fcntl`` only: the early venv of a rebuild holds its folder with this before envsnap loads (``_venvfirst``)."""

from __future__ import annotations

import fcntl
import os


def hold(fd: int, path: str | os.PathLike[str]) -> bool:
    """Take the exclusive ``flock`` of ``fd``, the entry this run made at ``path`` (waiting for a sweep that holds
    it to finish), and say whether that entry is still at ``path``: False where a sweep removed it meanwhile (the
    caller closes ``fd`` and makes another)."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    held = os.fstat(fd)
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def hold_made(path: str | os.PathLike[str]) -> int | None:
    """The descriptor that holds the folder this run made at ``path`` (``hold``); None where a sweep removed it
    before it was held (the caller makes another)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        if hold(fd, path):
            return fd
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None
