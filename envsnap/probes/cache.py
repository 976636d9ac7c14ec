"""The capture cache: facts a capture reads from files, kept for the next capture of the same environment.

What is kept: each ELF file's dynamic section (DT_NEEDED, RPATH, RUNPATH, machine), each distribution's RECORD
digest and shared objects (computed in the target interpreter, ``_pyprobe._RecordCache``), and the dpkg
database (the installed list and, per ``.list`` file, the shared-library paths it names). Each fact is kept
with the ``[size, mtime_ns, inode]`` of the file it was read from, and used only while the file at that path
still has them; a file changed less than two seconds before it was read is not kept (its mtime may not move on
its next change). One JSON file per kind and environment under ``$XDG_CACHE_HOME/envsnap/capture``, written
beside and renamed into place, so concurrent captures each read a whole file. A file that is missing, too
large, not JSON, of another format, version, kind or environment, or an entry of the wrong shape is ignored:
the fact is read again. The cache never changes a result (tests/probes/test_capture_cache.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._cachedir import store
from .._defaults import CAPTURE_CACHE, capture_cache_path, private_cache_dir

# The cache's format is the target probe's (``_pyprobe``), which brings json, hashlib and sysconfig: it is imported
# when a cache is read or written, not with this module, which ``probes.hostlibs`` imports first in a capture.

KEEP_FILES = 64  # environments whose caches are kept; the least recently written go first


def folder() -> Path | None:
    """The cache folder, None when another user may write it (``private_cache_dir``): then no cache is used."""
    return private_cache_dir(CAPTURE_CACHE, create=True)


path_for = capture_cache_path


def write(path: Path, document: dict[str, Any]) -> None:
    """Write one cache file beside and rename it into place (private to the user); a cache that cannot be
    written only costs the next capture its time."""
    import json

    from ._pyprobe import CACHE_MAX_BYTES

    blob = json.dumps(document, separators=(",", ":")).encode()
    if len(blob) > CACHE_MAX_BYTES:
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Keep the caches of the ``KEEP_FILES`` environments written last (a machine's test runs make many).
    store(path, blob, keep=KEEP_FILES)


class StatCache:
    """The facts of one kind, keyed by the path they were read from. ``path`` None: no cache (``--no-cache``):
    nothing is read or written. ``meta``: what the file must have been written for (a version of the parser).
    ``check(key, value)`` says whether a stored value has the shape its reader expects; one that does not is
    read again."""

    def __init__(self, path: Path | None, kind: str, meta: Any, check: Callable[[str, Any], bool]) -> None:
        from ._pyprobe import cached, read_cache, storable

        self.path, self.kind, self.meta, self.check = path, kind, meta, check
        self._cached, self._storable = cached, storable  # bound once: ``get`` runs for every file a capture reads
        self.old: dict[str, Any] = read_cache(str(path), kind, meta) if path is not None else {}
        self.new: dict[str, Any] = {}
        self.hits = 0

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def get(self, key: str, stamp: list[int] | None) -> Any:
        """The value kept for ``key`` when its file is unchanged (``stamp``, taken before any read); None otherwise."""
        value = self._cached(self.old, key, stamp)
        if value is None or not self.check(key, value):
            return None
        if key not in self.new:
            self.hits += 1
        self.new[key] = [stamp, value]
        return value

    def put(self, key: str, stamp: list[int] | None, value: Any) -> None:
        if self.path is not None and self._storable(stamp):
            self.new[key] = [stamp, value]

    def changed(self) -> bool:
        return not (self.hits == len(self.new) == len(self.old))

    def save(self) -> None:
        """Write what this capture used, when it differs from what was read."""
        if self.path is not None and self.changed():
            from ._pyprobe import cache_document

            write(self.path, cache_document(self.kind, self.meta, self.new))
