"""The sha256 of a file, and a bundle folder's files hashed before the rest of envsnap is even loaded.

``envsnap rebuild --bundle DIR`` starts ``start(DIR)`` right after reading its arguments (as ``capture`` starts
its probe): the files are hashed on a thread per core (hashlib releases the GIL) while envsnap imports the lock
model, the probes and the rebuild, which take a few tenths of a second of one core. The bundle's own check
(``artifacts.bundle.hash_bundle_ahead``) takes the digests with ``collect`` and hashes only what is left; its
SHA256SUMS and wheel checks then compare them as before. Only regular files are opened (``lstat``: a link, a
FIFO or a device is left for the bundle's check to refuse), and a digest is kept with the file's device, inode,
size and mtime, so a file changed after it was read is read again. Standard library only, and few of it: this
runs before envsnap's own start-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading

TYPE_CHECKING = False  # not typing's: this runs before envsnap's own start-up
if TYPE_CHECKING:
    from collections.abc import Callable

_CHUNK = 1 << 20

Identity = tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns


def sha256_file(
    path: str | os.PathLike[str],
    buffer: bytearray | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> str:
    """The file's sha256, read into one buffer (``buffer``, reused by a caller hashing many files): a new 1 MiB
    ``bytes`` per read made the kernel hand over fresh pages for each (11,000 page faults and half the system
    time of hashing a 200 MB bundle). ``on_bytes`` is told each piece's size (progress)."""
    digest = hashlib.sha256()
    buf = buffer if buffer is not None else bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buf):
            digest.update(view[:size])
            if on_bytes is not None:
                on_bytes(size)
    return digest.hexdigest()


class _Hashing:
    """The files of one folder being hashed by a few threads; ``digests`` by identity as they are done."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.digests: dict[Identity, str] = {}
        self.stop = threading.Event()
        self.done = threading.Event()
        self._files: list[str] = []
        self._next = 0
        self._guard = threading.Lock()
        threading.Thread(target=self._run, name="envsnap-prehash", daemon=True).start()

    def _run(self) -> None:
        try:
            for folder, dirnames, filenames in os.walk(self.root):
                dirnames.sort()
                for name in sorted(filenames):
                    path = os.path.join(folder, name)
                    with contextlib.suppress(OSError):
                        if stat.S_ISREG(os.lstat(path).st_mode):
                            self._files.append(path)
            workers = [
                threading.Thread(target=self._work, name="envsnap-prehash", daemon=True)
                for _ in range(max(1, min(len(self._files), os.cpu_count() or 1)))
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        finally:
            self.done.set()

    def _work(self) -> None:
        while not self.stop.is_set():
            with self._guard:
                if self._next >= len(self._files):
                    return
                path = self._files[self._next]
                self._next += 1
            with contextlib.suppress(OSError):
                st = os.stat(path)
                digest = sha256_file(path)
                self.digests[(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)] = digest


_STARTED: dict[str, _Hashing] = {}
_LOCK = threading.Lock()


def _key(root: str | os.PathLike[str]) -> str | None:
    try:
        return os.path.realpath(root) if os.path.isdir(root) else None
    except (OSError, ValueError):
        return None


def start(root: str | os.PathLike[str]) -> None:
    """Begin hashing the regular files under the folder ``root`` in the background (nothing for anything else)."""
    key = _key(root)
    if key is None:
        return
    with _LOCK:
        if key not in _STARTED:
            _STARTED[key] = _Hashing(key)


def collect(root: str | os.PathLike[str], stop: threading.Event | None = None) -> dict[Identity, str]:
    """The digests of the hashing ``start`` began for ``root``, once it is done ({} when none was begun); ``stop``,
    once set, ends it after the files being hashed (what is done is still given)."""
    key = _key(root)
    with _LOCK:
        hashing = _STARTED.pop(key, None) if key is not None else None
    if hashing is None:
        return {}
    while not hashing.done.wait(0.05):
        if stop is not None and stop.is_set():
            hashing.stop.set()
            hashing.done.wait()
    return dict(hashing.digests)
