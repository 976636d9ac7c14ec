"""What envsnap's own caches share: keeping a private entry, keeping only the newest, and emptying a cache.

The parsed-lock cache (``_lockcache.py``), the capture cache (``probes/cache.py``), the run cache
(``runs/cache.py``), the compiled-template cache (``_templates.py``) and the download caches (``artifacts``,
``conda``) each live in one folder under the one cache root (``_defaults.cache_dir``). An entry is written private
(0600) beside and renamed into place, so a reader sees a whole file; only the ``keep`` most recently written entries
stay. ``envsnap clean --cache`` empties every one of them (``CACHES``), never following a link out of the cache root.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from ._defaults import (
    ARTIFACTS_CACHE,
    CAPTURE_CACHE,
    CONDA_CACHE,
    LOCKS_CACHE,
    RUNS_CACHE,
    TEMPLATE_CACHE,
    cache_dir,
)
from ._lazyre import LazyPattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ._leftovers import Leftover

# A folder of the download cache: the first two hex digits of its files' sha256 (``pin.cached_path``).
_SHARD = LazyPattern(r"[0-9a-f]{2}")
# What a download of a file with a sha256 keeps in ``.incoming`` to resume from, held while it runs (``pin``).
_RESUMABLE = LazyPattern(r"[0-9a-f]{64}\.part")

# The caches files are downloaded into, by their folder under the cache root.
DOWNLOAD_CACHES = (ARTIFACTS_CACHE, CONDA_CACHE)
# Every cache envsnap keeps, by its folder under the cache root, with the name ``envsnap clean`` shows.
CACHES = (
    (ARTIFACTS_CACHE, "download cache"),
    (CONDA_CACHE, "download cache"),
    (LOCKS_CACHE, "parsed-lock cache"),
    (CAPTURE_CACHE, "capture cache"),
    (RUNS_CACHE, "run cache"),
    (TEMPLATE_CACHE, "template cache"),
)


def store(path: Path, blob: bytes, *, keep: int, suffix: str = ".json") -> None:
    """Write one entry (0600) beside ``path`` and rename it into place, then keep the ``keep`` newest entries of
    its folder; a write that fails is skipped (a cache only saves time)."""
    from ._fs import atomic_write_bytes  # the lock writer's module: loaded only when a cache changed

    with contextlib.suppress(OSError):
        atomic_write_bytes(path, blob, mode=0o600, durable=False)  # an entry is checked when read: no fsync
        prune(path.parent, keep=keep, suffix=suffix)


def prune(folder: Path, *, keep: int, suffix: str = ".json") -> None:
    """Remove all but the ``keep`` most recently written entries named ``*suffix`` in ``folder`` (a link is an
    entry: the link is removed, never what it points to)."""
    entries = []
    with contextlib.suppress(OSError), os.scandir(folder) as found:
        for entry in found:
            if entry.name.endswith(suffix) and not entry.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    entries.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
    entries.sort(reverse=True)
    for _mtime, stale in entries[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(stale)


def removable(folder: Path, *, root: Path | None = None) -> bool:
    """Whether ``folder`` may be emptied: a real folder, not a link, nor inside a link under ``root`` (the
    envsnap folder of the cache root), so that emptying it never reaches outside envsnap's caches."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    return root is None or (
        not root.is_symlink() and Path(os.path.realpath(folder)).parent == Path(os.path.realpath(root))
    )


def foreign_entry(folder: Path) -> str | None:
    """The first name (sorted) in a download cache named by ``--cache-dir`` that its layout has no place for, None
    where there is none (or no folder). ``pin`` and ``bundle`` write there only ``ab/<sha256>/FILE`` (a folder of
    two hex digits), ``.incoming`` and ``incoming`` (downloads under way) and ``.envsnap-*`` leftovers: anything else
    (``.git``, a project's ``train.py``, a home's ``.bashrc``) says the folder is the user's, not a cache to empty."""
    from ._leftovers import is_leftover_name

    names: list[str] = []
    with contextlib.suppress(OSError), os.scandir(folder) as found:
        names = sorted(
            entry.name
            for entry in found
            if not is_leftover_name(entry.name)
            and not (
                entry.is_dir(follow_symlinks=False)
                and (entry.name in (".incoming", "incoming") or _SHARD.fullmatch(entry.name))
            )
        )
    return names[0] if names else None


def leftovers(folder: Path) -> list[Leftover]:
    """What killed downloads left in the download cache ``folder`` (links not followed): the ``.envsnap-*`` files
    and folders (a file being downloaded beside its place, pin's download folder in ``.incoming``) and the partial
    files kept in ``.incoming`` to resume from, each only where no running envsnap holds it (its lock can be
    taken): a name alone never says its download is gone."""
    from ._leftovers import PREFIX, Leftover, find, in_use

    found: list[Leftover] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        if any(name.startswith(PREFIX) for name in (*dirnames, *filenames)):
            found.extend(find(Path(dirpath)))
        if os.path.basename(dirpath) == ".incoming" and os.path.dirname(dirpath) == str(folder):
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                with contextlib.suppress(OSError):
                    st = os.lstat(path)
                    # Only a plain file is opened to try its lock: a FIFO named so would block the open.
                    if _RESUMABLE.fullmatch(name) and stat.S_ISREG(st.st_mode) and not in_use(Path(path)):
                        found.append(Leftover(Path(path), st.st_size))
        dirnames[:] = [d for d in dirnames if not d.startswith(PREFIX)]  # a leftover's insides are its own
    return found


def empty(folder: Path, *, root: Path | None = None, held: list[Path] | None = None) -> bool:
    """Remove the cache ``folder`` and what it holds when ``removable``; whether it was. ``shutil.rmtree``
    removes a link inside it as a link, never what it points to.

    Another envsnap may be writing into it meanwhile (a bundle's downloads): what it removed first is not an
    error, and what it wrote after its folder was read stays (a folder not empty); the caller sees what is left.
    That envsnap makes its folders again when it next writes, or goes on without the cache. A partial download
    (``*.part``) or an ``.envsnap-*`` entry that a running envsnap holds (``flock``) is kept, with the folders
    above it, and added to ``held``: removed, its download would start over."""
    import shutil
    import sys

    if not removable(folder, root=root):
        return False

    def skip(*_args: object) -> None:
        """A file removed meanwhile, a folder refilled meanwhile: left to its writer."""

    def rmtree(path: str) -> None:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=skip)
        else:
            shutil.rmtree(path, onerror=skip)

    kept = _held(folder)
    if held is not None:
        held.extend(Path(p) for p in sorted(kept))
    if not kept:
        rmtree(str(folder))
        return True
    above: set[str] = set()
    for path in kept:
        parent = os.path.dirname(path)
        while parent != str(folder) and parent.startswith(str(folder) + os.sep):
            above.add(parent)
            parent = os.path.dirname(parent)
    _remove_all_but(str(folder), kept, above, rmtree)
    return True


def _held(folder: Path) -> set[str]:
    """The partial downloads (``*.part`` files) and ``.envsnap-*`` entries under ``folder`` (links not followed)
    that a running envsnap holds: their lock cannot be taken."""
    from ._leftovers import in_use, is_leftover_name

    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*filenames, *dirnames]:
            if not (name.endswith(".part") or is_leftover_name(name)):
                continue
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                mode = os.lstat(path).st_mode
                # Only a file or a folder is opened to try its lock: a FIFO named so would block the open.
                if (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and in_use(Path(path)):
                    out.add(path)
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in out]
    return out


def _remove_all_but(folder: str, kept: set[str], above: set[str], rmtree: Callable[[str], None]) -> None:
    """Remove what ``folder`` holds but the ``kept`` entries and the folders ``above`` them."""
    entries: list[os.DirEntry[str]] = []
    with contextlib.suppress(OSError), os.scandir(folder) as found:
        entries = list(found)
    for entry in entries:
        if entry.path in kept:
            continue
        if entry.path in above:
            _remove_all_but(entry.path, kept, above, rmtree)
        elif entry.is_dir(follow_symlinks=False):
            rmtree(entry.path)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def kind_dir(kind: str) -> tuple[Path, Path]:
    """The folder of cache ``kind`` and the envsnap folder of the cache root that holds it."""
    folder = cache_dir(kind)
    return folder, folder.parent
