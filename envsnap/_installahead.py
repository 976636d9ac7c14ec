"""A venv rebuild's installer begun at once from the last rebuild of the same lock and bundle (``lookup``, ``Memo``).

``rebuild LOCK --bundle B --target venv`` starts its installer once its checks have passed: the lock read and
validated, the bundle's SHA256SUMS and every wheel checked against the lock, the plan, the disk rule. Those need
envsnap's model, lockfile and check machinery: a tenth of a second of imports and work before uv may start, on a
rebuild that uv itself does in a few tenths. When the same lock (the sha256 of its bytes) and the same bundle
(every file's device, inode, size, mtime and ctime, as the digest cache keys them: docs/security.md, "Cached
digests") were rebuilt before with the same options, working directory, interpreter and uv, and that rebuild
verified identical, the command its checks gave the installer is started again at once, into the venv made ahead
(``_venvahead``), with the requirements those checks wrote (each wheel's sha256, which uv checks as it unpacks it).

Nothing is taken on trust from it. Every check still runs, in full and in the same order, and the rebuild takes
the installer begun ahead only when the command, environment and requirements its own checks produce are exactly
those (``VenvAhead.adopt``); otherwise, and when any check fails, that installer is killed and its folder removed
before anything is moved into place, as for an installer the checks began. The entry is the user's own (the
capture cache's private folder, sealed against damage), written only after a rebuild that verified identical, and
not at all where a file of the lock or bundle changed within ``RACY_NS`` of being read (a change in the same clock
tick would keep its identity). ``rebuild --no-cache`` neither reads nor writes it. Standard library only, and
little of it: this runs before envsnap's own start-up.
"""

from __future__ import annotations

import contextlib
import os
import stat

from ._defaults import capture_cache_path, existing_capture_cache_file, is_kept_folder, sha256_hex
from ._diskfree import free_mib
from ._prehash import RACY_NS
from ._sealed import read_private, seal

TYPE_CHECKING = False  # not typing's: this runs before envsnap's own start-up
if TYPE_CHECKING:
    from typing import Any

SUFFIX = ".install"
KEEP = 16  # entries kept: one per lock, bundle and options rebuilt lately
MAX_BYTES = 4 << 20
# A lock larger than this (the lock reader's default limit, _readlimits.MAX_INPUT_BYTES) is not fingerprinted.
MAX_LOCK_BYTES = 16 << 20
FORMAT = 1
# Where the installer's command names the venv's interpreter and the requirements file: both differ every run.
PYTHON_SLOT = "\0python"
REQUIREMENTS_SLOT = "\0requirements"


def fingerprint(lock: str, bundle: str) -> tuple[str, list[Any]] | None:
    """The lock's sha256 and every entry of the bundle folder with its identity (type, device, inode, size,
    mtime, ctime), sorted; None when either cannot be read."""
    try:
        # Untrusted, and read before the lock's own checks: a FIFO would block this read for ever and a device
        # (/dev/zero) never ends. Only a regular file of at most a lock's size limit is fingerprinted; anything
        # else begins nothing ahead, and the lock's reader refuses it as bad input.
        fd = os.open(lock, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_LOCK_BYTES:
                return None
            chunks, left = [], MAX_LOCK_BYTES + 1
            while left > 0 and (chunk := os.read(fd, left)):
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if len(data) > MAX_LOCK_BYTES:
            return None
        digest = sha256_hex(data)
        entries = []
        for root, folders, files in os.walk(bundle):
            if root == bundle:
                # A re-bundle's kept copies (a killed one's, which `envsnap clean` removes): no file of the bundle.
                folders[:] = [name for name in folders if not is_kept_folder(name)]
            folders.sort()
            for name in sorted(folders + files):
                path = os.path.join(root, name)
                st = os.lstat(path)
                entries.append(
                    [
                        os.path.relpath(path, bundle),
                        st.st_mode,
                        st.st_dev,
                        st.st_ino,
                        st.st_size,
                        st.st_mtime_ns,
                        st.st_ctime_ns,
                    ]
                )
    except (OSError, ValueError):
        return None
    return digest, entries


def settled(print_: tuple[str, list[Any]], began_ns: int) -> bool:
    """Whether no entry of ``print_`` changed within ``RACY_NS`` before ``began_ns``: only then may it be kept."""
    return all(0 < max(entry[5], entry[6]) < began_ns - RACY_NS for entry in print_[1])


def key(options: dict[str, Any], python: str, uv: str) -> str:
    """What an entry is for: the rebuild's options but ``--dest`` (the installer's command names the venv made
    beside it by a slot), the working directory, the interpreter and uv."""
    options = {name: value for name, value in options.items() if name != "dest"}
    try:
        here = os.getcwd()
    except OSError:
        here = ""
    return repr((sorted((k, repr(v)) for k, v in options.items()), here, python, uv))


def memo_path(key_text: str, *, create: bool) -> str | None:
    if create:
        path = capture_cache_path("install", key_text, SUFFIX)
        return None if path is None else str(path)
    return existing_capture_cache_file("install", key_text, SUFFIX)


class Memo:
    """One entry: the installer's command (``PYTHON_SLOT`` and ``REQUIREMENTS_SLOT`` where it names this run's
    paths), its requirements, and the MiB the disk rule asked to be free where the destination was (an installer
    begun ahead asks as much where the new one is: ``disk_allows``)."""

    def __init__(self, args: list[str], requirements: str, need_mib: float) -> None:
        self.args, self.requirements, self.need_mib = args, requirements, need_mib

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Memo) and (self.args, self.requirements, self.need_mib) == (
            other.args,
            other.requirements,
            other.need_mib,
        )

    __hash__ = None  # type: ignore[assignment]  # compared, never a key

    def command(self, python: str, requirements: str) -> list[str]:
        slots = {PYTHON_SLOT: python, REQUIREMENTS_SLOT: requirements}
        return [slots.get(arg, arg) for arg in self.args]

    def disk_allows(self, dest: str) -> bool:
        """Whether the free space where ``dest`` will be is still what the disk rule asked for."""
        free = free_mib(dest)
        return free is not None and free >= self.need_mib


def lookup(key_text: str, print_: tuple[str, list[Any]] | None, uv: str, dest: str) -> Memo | None:
    """The entry for ``key_text`` when it was written for this fingerprint and uv, ``dest`` does not exist yet and
    the disk still has the room the rule asked for; None otherwise."""
    path = memo_path(key_text, create=False)
    if path is None or print_ is None or os.path.lexists(dest):
        return None
    found = read_private(path, MAX_BYTES)
    if not (isinstance(found, dict) and found.get("format") == FORMAT and found.get("key") == key_text):
        return None
    if found.get("fingerprint") != [print_[0], print_[1]]:
        return None
    args, requirements = found.get("args"), found.get("requirements")
    need = found.get("need_mib")
    if not (isinstance(args, list) and args and all(isinstance(a, str) for a in args) and args[0] == uv):
        return None
    if not (isinstance(requirements, str) and isinstance(need, (int, float))):
        return None
    if PYTHON_SLOT not in args or REQUIREMENTS_SLOT not in args:
        return None
    memo = Memo(args, requirements, float(need))
    return memo if memo.disk_allows(dest) else None


def remember(key_text: str, print_: tuple[str, list[Any]], began_ns: int, memo: Memo) -> None:
    """Keep ``memo`` for the next rebuild of ``key_text`` with the fingerprint taken when this one began (never a
    racily recent one). A failed write is skipped: it only saves time."""
    if not settled(print_, began_ns):
        return
    path = memo_path(key_text, create=True)
    if path is None:
        return
    from pathlib import Path

    from ._cachedir import store

    entry = {
        "format": FORMAT,
        "key": key_text,
        "fingerprint": [print_[0], print_[1]],
        "args": memo.args,
        "requirements": memo.requirements,
        "need_mib": memo.need_mib,
    }
    store(Path(path), seal(entry), keep=KEEP, suffix=SUFFIX)


def forget(key_text: str) -> None:
    """Remove the entry for ``key_text``: the installer it began was not the rebuild's, or the rebuild failed."""
    path = memo_path(key_text, create=False)
    if path is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)
