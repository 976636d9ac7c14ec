"""What envsnap writes beside the user's files while it works, named and held so that a later run (or
``envsnap clean``) recognises what an interrupted one left, and never takes what a running one still uses.

Every such entry is ``.envsnap-<kind>-<random>`` (a folder, or a file being written; a venv rebuild's staging
folder ``.envsnap-venv-slotN`` where that name is free, ``_slots``) and is held with an
exclusive ``flock`` for as long as its run uses it: a lock dies with its process, so an entry whose lock can be
taken belongs to a run that was killed. A held folder may name one sibling in its ``sibling`` file (the conda
target's prefix, built at a path as long as the final one); that sibling goes with it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from . import _slots
from ._hold import hold, hold_made

TYPE_CHECKING = False  # not typing's: see ``Leftover``
if TYPE_CHECKING:
    from typing import IO

PREFIX = ".envsnap-"
KINDS = ("bundle", "conda", "venv", "docker", "rebuild", "install", "tmp", "swhid", "run", "build", "download")
SIBLING = "sibling"
# A folder or file is made and then locked under this, and ``find`` judges entries under it: a sweep on another
# thread of this process (a rebuild makes its staging folder while its check runs) never takes one that is made
# and not yet held.
_MAKING = threading.Lock()
_NAME = re.compile(r"\.envsnap-(" + "|".join(KINDS) + r")-.+")


class Leftover:
    """What an interrupted run left: its path and size. Not a dataclass: a venv rebuild imports this module on the
    way to the venv it makes while envsnap loads (``_venvahead``), before ``dataclasses`` is needed."""

    __slots__ = ("path", "size")
    path: Path
    size: int

    def __init__(self, path: Path, size: int) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "size", size)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")  # frozen, as the dataclass it was

    def __eq__(self, other: object) -> bool:
        return type(other) is Leftover and (self.path, self.size) == (other.path, other.size)

    def __hash__(self) -> int:
        return hash((self.path, self.size))

    def __repr__(self) -> str:
        return f"Leftover(path={self.path!r}, size={self.size!r})"


def is_leftover_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def _hold(path: Path) -> int | None:
    """The descriptor that holds the folder just made at ``path``; None where another process's sweep took it before
    it was held (``_hold.hold_made``)."""
    return hold_made(path)


def _claim(path: Path) -> int | None:
    """A descriptor holding the entry at ``path`` (its lock taken), for as long as a sweep removes it: None where a
    run holds it (its maker, that locked it since it was found) or it is gone. A removal that only looked (``in_use``)
    took a folder its maker held by then."""
    try:
        # envsnap makes no FIFO or device: one named as its leftovers is not opened (a FIFO's open waits for a
        # writer for ever), and one put there since is opened without waiting.
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def in_use(path: Path) -> bool:
    """Held by a running envsnap (or not ours to judge: unreadable, another user's, neither a file nor a folder,
    gone): the lock a sweep would take (``_claim``) cannot be had."""
    fd = _claim(path)
    if fd is None:
        return True
    os.close(fd)  # also releases the lock just taken
    return False


def size_of(path: Path) -> int:
    """Bytes under ``path`` (links not followed)."""
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(OSError):
            return path.lstat().st_size
        return 0
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _sibling_of(holder: Path) -> Path | None:
    try:
        name = (holder / SIBLING).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        return None
    return holder.parent / name


def _remove_sibling(holder: Path) -> bool:
    """Remove the folder ``holder`` names as its sibling; whether it is gone (or none was named), so that the holder
    may go too. A sibling that is still there (a library's thread writing into it as it was removed) keeps its
    holder, whose name is all that leads a later sweep or ``envsnap clean`` to it."""
    sibling = _sibling_of(holder)
    if sibling is None or sibling.is_symlink() or not sibling.is_dir():
        return True
    shutil.rmtree(sibling, ignore_errors=True)
    return not os.path.lexists(sibling)


def find(folder: Path) -> list[Leftover]:
    """What interrupted runs left in ``folder`` (nothing a running envsnap still holds)."""
    found: list[Leftover] = []
    try:
        # By name first: a folder such as /tmp holds hundreds of entries, and a Path each, sorted, cost a sweep
        # 5-9 ms of every rebuild (twice: its staging folder's and its temporary folder's).
        with os.scandir(folder) as listing:
            names = sorted(item.name for item in listing if item.name.startswith(PREFIX))
    except OSError:
        return found
    for entry in (folder / name for name in names):
        with _MAKING:
            if not is_leftover_name(entry.name) or entry.is_symlink() or in_use(entry):
                continue
        size = size_of(entry)
        sibling = _sibling_of(entry) if entry.is_dir() else None
        if sibling is not None and sibling.is_dir() and not sibling.is_symlink():
            size += size_of(sibling)
        found.append(Leftover(entry, size))
    return found


def remove(leftover: Leftover) -> None:
    """Remove what ``find`` found, its lock held meanwhile: not where a run holds it now (``_claim``)."""
    path = leftover.path
    fd = _claim(path)
    if fd is None:
        return
    try:
        if path.is_dir() and not path.is_symlink():
            if _remove_sibling(path):
                shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    finally:
        os.close(fd)  # released once it is gone: a maker waiting for it sees that it is (``_hold.hold``)


def sweep(folder: Path) -> list[Leftover]:
    """Remove what interrupted runs left in ``folder``; what was removed."""
    found = find(folder)
    for leftover in found:
        remove(leftover)
    return found


@contextlib.contextmanager
def held_dir(parent: Path, kind: str) -> Iterator[Path]:
    """A fresh ``.envsnap-<kind>-*`` folder in ``parent`` (created), held while in use and removed after, with
    whatever it names as its sibling. What killed runs left in ``parent`` is removed first."""
    assert kind in KINDS
    made = missing_folders(parent)
    # Named before it is made, and removed from the moment it may be there: a Ctrl-C that landed once mkdtemp had
    # made it, or before it was held, left an empty ``.envsnap-<kind>-*`` beside the destination.
    named = ""
    held: list[int] = []  # closed once, however often the removal is begun

    def release() -> None:
        if not held:
            # Interrupted as it was made: it goes where it is an empty folder no run holds, as a sweep takes one
            # (a name another run had taken first, and holds or has put anything in, stays).
            if named and not in_use(Path(named)):
                with contextlib.suppress(OSError):
                    os.rmdir(named)
            remove_empty(made)
            return
        if _remove_sibling(path):
            shutil.rmtree(path, ignore_errors=True)
        while held:
            os.close(held.pop())
        # The folders made for it go too where nothing else is in them (a failed rebuild into `newparent/x` left
        # an empty newparent/); one that holds what the run moved into place (or anything else) stays.
        remove_empty(made)

    try:
        parent.mkdir(parents=True, exist_ok=True)
        sweep(parent)
        with _MAKING:
            # A venv's at a name a rebuild before used, where free: uv knows the interpreter there (_slots).
            for name in _slots.names(slots=kind == "venv"):
                named = os.path.join(parent, f"{PREFIX}{kind}-{name}")
                try:
                    os.mkdir(named, 0o700)
                except FileExistsError:
                    named = ""
                    continue
                fd = _hold(Path(named))
                if fd is None:  # another process's sweep took it before it was held: another name
                    named = ""
                    continue
                held.append(fd)
                break
            else:
                raise FileExistsError(17, "no free name for a folder", str(parent / f"{PREFIX}{kind}-*"))
            path = Path(named)
    except BaseException:
        release()
        raise
    try:
        yield path
    except BaseException:
        release()  # a second Ctrl-C in this removal leaves at once: the next run's sweep removes the rest
        raise
    try:
        release()
    except KeyboardInterrupt:
        # The work was done and the first Ctrl-C (or SIGTERM) came while its folder, a package cache of gigabytes,
        # was removed: the removal stopped midway and left the rest beside the destination until the next run.
        # It is finished, as an interrupt anywhere else has it, and the interrupt goes on; a second one leaves.
        release()
        raise


def missing_folders(path: Path) -> list[Path]:
    """``path`` and the folders above it that do not exist, the deepest first: what ``mkdir(parents=True)``
    makes."""
    missing: list[Path] = []
    here = Path(os.path.abspath(path))
    while not os.path.lexists(here) and here.parent != here:
        missing.append(here)
        here = here.parent
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (``missing_folders``' list, the deepest first) while each is an empty folder: a run
    removes only the folders it made, and none that anything was put in since."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            return


def name_sibling(holder: Path, sibling: Path) -> None:
    """Record ``sibling`` (beside ``holder``) as going with it, before anything is made there."""
    (holder / SIBLING).write_text(sibling.name + "\n", encoding="utf-8")


def forget_sibling(holder: Path) -> None:
    """The sibling was moved into place: it is no longer the holder's to remove."""
    with contextlib.suppress(FileNotFoundError):
        (holder / SIBLING).unlink()


@contextlib.contextmanager
def held_file(parent: Path, name: str, kind: str = "tmp") -> Iterator[tuple[IO[bytes], Path]]:
    """A new ``.envsnap-<kind>-<name>.*`` file in ``parent``, open for writing and held; removed unless the caller
    renamed it away. For writing a file atomically (write, then ``os.replace``): a download, a copy, a saved image
    (``download``), anything else (``tmp``)."""
    assert kind in KINDS
    with _MAKING:
        while True:
            fd, tmp = tempfile.mkstemp(prefix=f"{PREFIX}{kind}-{name[:80]}.", dir=parent)
            try:
                if hold(fd, tmp):
                    break
            except BaseException:
                os.close(fd)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            os.close(fd)  # another process's sweep took it before it was held: another file
    path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle, path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
