"""The sha256 of a file, and a bundle folder's files hashed before the rest of envsnap is even loaded.

``envsnap rebuild --bundle DIR`` starts ``start(DIR)`` right after reading its arguments (as ``capture`` starts
its probe): the files are hashed on a thread per core (hashlib releases the GIL) while envsnap imports the lock
model, the probes and the rebuild, which take a few tenths of a second of one core. The bundle's own check
(``artifacts.bundle.hash_bundle_ahead``) takes the digests with ``collect`` and hashes only what is left; its
SHA256SUMS and wheel checks then compare them as before. Only regular files are opened (``lstat``: a link, a
FIFO or a device is left for the bundle's check to refuse), and a digest is kept with the file's device, inode,
size and mtime, so a file changed after it was read is read again. Standard library only, and few of it: this
runs before envsnap's own start-up.

The digests are also kept across runs (``bundle-digests-*.digests`` in the capture cache, private to the user,
like the capture cache's RECORD digests): a file whose device, inode, size, mtime and *ctime* are those it had
when it was read gives the digest it had then, without being read again. ctime is set by the kernel at every
change of a file's content or metadata and no user process can set it back, so a file written, replaced or
touched since has another identity and is read again; a file changed less than ``RACY_NS`` before it was read is
never kept (a change in the same clock tick would keep its ctime). ``ENVSNAP_HASH_CACHE=0`` or ``rebuild
--no-cache`` reads every file (docs/security.md, "Cached digests").
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import stat
import struct
import threading
import time

from ._defaults import BUNDLE_MAX_DEPTH, is_kept_folder

TYPE_CHECKING = False  # not typing's: this runs before envsnap's own start-up
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_CHUNK = 1 << 20

Identity = tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns
Kept = tuple[int, int, int, int, int]  # the same and st_ctime_ns: a digest kept across runs
Facts = tuple[str, int]  # a file's sha256 and, for a wheel, its unpacked size (-1: not a wheel, or not read)

RACY_NS = 2 * 10**9  # a file changed this shortly before it was read is not kept (the capture cache's rule)
_CACHE_KIND = "bundle-digests"
_CACHE_SUFFIX = ".digests"
_CACHE_FORMAT = "envsnap-bundle-digests-2"
_CACHE_KEEP = 64  # bundle folders whose digests are kept; the least recently written go first
_CACHE_MAX_BYTES = 16 << 20


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
    with open_regular(path) as handle:
        while size := handle.readinto(buf):
            digest.update(view[:size])
            if on_bytes is not None:
                on_bytes(size)
    return digest.hexdigest()


def open_regular(path: str | os.PathLike[str]) -> io.FileIO:
    """``path`` open for reading, unbuffered, when it is a regular file (a link to one followed); ``OSError``
    otherwise, before a byte is read: a pipe's open waits for a writer that may never come and ``/dev/zero`` never
    ends, and a file named as a wheel in a folder a stranger's file names (``--find-links``) may be either. Opened
    non-blocking, so a pipe is refused, not waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    except BaseException:
        os.close(fd)
        raise
    return io.FileIO(fd, "rb")


def file_digests(path: str | os.PathLike[str], algorithms: Iterable[str]) -> dict[str, str]:
    """The file's hex digest by each of ``algorithms`` (hashlib's names: ``sha384`` and ``sha512``, which pip
    accepts in ``--hash`` beside ``sha256``), read once into one buffer as ``sha256_file`` reads it."""
    digests = {name: hashlib.new(name) for name in algorithms}
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open_regular(path) as handle:
        while size := handle.readinto(buf):
            for digest in digests.values():
                digest.update(view[:size])
    return {name: digest.hexdigest() for name, digest in digests.items()}


class _Hashing:
    """The files of one folder being hashed by a few threads; ``digests`` by identity as they are done."""

    def __init__(self, root: str, cache: bool = True) -> None:
        self.root = root
        self.cache = cache and os.environ.get("ENVSNAP_HASH_CACHE", "1") != "0"
        self.began = time.time_ns()
        self.digests: dict[Identity, str] = {}
        self.sizes: dict[Identity, int] = {}  # a wheel's unpacked size (the disk rule's estimate)
        self.kept: dict[Kept, Facts] = {}  # read from the cache
        self.keep: dict[Kept, Facts] = {}  # to write back: the facts of this run's files
        self.stop = threading.Event()
        self.done = threading.Event()
        self._files: list[str] = []
        self._next = 0
        self._guard = threading.Lock()
        threading.Thread(target=self._run, name="envsnap-prehash", daemon=True).start()

    def _run(self) -> None:
        try:
            if self.cache:
                self.kept = _read_cache(self.root)
            for folder, dirnames, filenames in os.walk(self.root):
                dirnames.sort()
                if folder == self.root:
                    # A re-bundle's kept copies (a killed one's, gigabytes of wheels): no file of the bundle.
                    dirnames[:] = [name for name in dirnames if not is_kept_folder(name)]
                if folder[len(self.root) :].count(os.sep) >= BUNDLE_MAX_DEPTH:
                    dirnames.clear()  # the bundle's check refuses a folder this deep (a deeper walk recursed)
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
            if self.cache and self.keep != self.kept:
                _write_cache(self.root, self.keep)
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
                kept: Kept = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                facts = self.kept.get(kept)
                if facts is None:
                    facts = (sha256_file(path), _wheel_size(path) if path.endswith(".whl") else -1)
                    after = os.stat(path)
                    if (
                        self.cache
                        and (after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns) == kept
                        and 0 < max(st.st_ctime_ns, st.st_mtime_ns) < self.began - RACY_NS
                    ):
                        self.keep[kept] = facts
                else:
                    self.keep[kept] = facts
                self.digests[kept[:4]] = facts[0]
                if facts[1] >= 0:
                    self.sizes[kept[:4]] = facts[1]


_STARTED: dict[str, _Hashing] = {}  # begun and not yet collected
_ALL: dict[str, _Hashing] = {}  # every folder begun in this process (``unpacked_sizes`` waits on it)
_LOCK = threading.Lock()


def _key(root: str | os.PathLike[str]) -> str | None:
    try:
        return os.path.realpath(root) if os.path.isdir(root) else None
    except (OSError, ValueError):
        return None


def start(root: str | os.PathLike[str], cache: bool = True) -> None:
    """Begin hashing the regular files under the folder ``root`` in the background (nothing for anything else);
    ``cache``: take and keep digests across runs (the module's docstring)."""
    key = _key(root)
    if key is None:
        return
    with _LOCK:
        if key not in _STARTED:
            _STARTED[key] = _ALL[key] = _Hashing(key, cache)


def _is_hex64(value: object) -> bool:
    return type(value) is str and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _read_cache(root: str) -> dict[Kept, Facts]:
    """The digests kept for the bundle folder ``root`` ({} when none, or the file is not this user's own and
    private, damaged, or of another format: a cache only saves time)."""
    from ._defaults import existing_capture_cache_file
    from ._sealed import read_private

    path = existing_capture_cache_file(_CACHE_KIND, root, _CACHE_SUFFIX)
    data = read_private(path, _CACHE_MAX_BYTES) if path is not None else None
    if type(data) is not dict or data.get("format") != _CACHE_FORMAT or type(data.get("digests")) is not dict:
        return {}
    return {
        key: facts
        for key, facts in data["digests"].items()
        if type(key) is tuple
        and len(key) == 5
        and all(type(n) is int for n in key)
        and type(facts) is tuple
        and len(facts) == 2
        and _is_hex64(facts[0])
        and type(facts[1]) is int
        and facts[1] >= -1
    }


def _write_cache(root: str, digests: dict[Kept, Facts]) -> None:
    """Keep ``digests`` for the bundle folder ``root`` (private, written beside and renamed into place)."""
    from ._cachedir import store
    from ._defaults import capture_cache_path
    from ._sealed import seal

    blob = seal({"format": _CACHE_FORMAT, "digests": digests})
    with contextlib.suppress(OSError, ValueError):
        path = capture_cache_path(_CACHE_KIND, root, _CACHE_SUFFIX)
        if path is not None and len(blob) <= _CACHE_MAX_BYTES:
            store(path, blob, keep=_CACHE_KEEP, suffix=_CACHE_SUFFIX)


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


def unpacked_sizes(root: str | os.PathLike[str]) -> dict[Identity, int]:
    """The unpacked sizes of the wheels under ``root`` that the hashing ``start`` began found, by identity, once
    it is done ({} when none was begun): the disk rule's estimate takes them instead of reading every wheel's
    zip directory again (``rebuild._preflight.bundle_sizes``, which reads what is not here)."""
    key = _key(root)
    with _LOCK:
        hashing = _ALL.get(key) if key is not None else None
    if hashing is None:
        return {}
    hashing.done.wait()
    return dict(hashing.sizes)


def _wheel_size(path: str) -> int:
    """``unpacked_size`` of a wheel, -1 when it cannot be read as a zip (its reader reports that, later)."""
    try:
        return unpacked_size(path)
    except Exception:
        return -1


_END = struct.Struct("<4s4H2LH")  # the end of central directory record
_ENTRY = struct.Struct("<4s6H3L5H2L")  # a central directory header, before its name, extra field and comment
_MAX_TAIL = _END.size + 0xFFFF  # the end record and the longest archive comment


def unpacked_size(path: str | os.PathLike[str]) -> int:
    """The sum of a zip's member sizes as its central directory lists them, read with ``struct`` in one pass:
    ``zipfile`` builds a ``ZipInfo`` per member (26,000 for a 150-wheel bundle, 0.2 s of CPU on the check's path,
    several times that on a loaded machine). Anything this does not read plainly (zip64, several disks, a comment
    or a directory that does not add up) is left to ``zipfile``, which also reports a broken archive."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(size - min(size, _MAX_TAIL))
        tail = fh.read()
        at = tail.rfind(b"PK\x05\x06")
        if at >= 0 and at + _END.size <= len(tail):
            _sig, disk, cd_disk, here, count, cd_size, cd_offset, comment = _END.unpack_from(tail, at)
            plain = disk == cd_disk == 0 and here == count < 0xFFFF and at + _END.size + comment == len(tail)
            if plain and cd_size < 0xFFFFFFFF and cd_offset + cd_size <= size - len(tail) + at:
                fh.seek(cd_offset)
                total = _directory_sum(fh.read(cd_size), count)
                if total is not None:
                    return total
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def _directory_sum(directory: bytes, count: int) -> int | None:
    """The uncompressed sizes of ``count`` central directory headers that fill ``directory`` exactly; None when
    they do not, or a size is zip64's marker."""
    total = pos = 0
    for _ in range(count):
        if pos + _ENTRY.size > len(directory):
            return None
        entry = _ENTRY.unpack_from(directory, pos)
        if entry[0] != b"PK\x01\x02" or entry[9] == 0xFFFFFFFF:
            return None
        total += entry[9]
        pos += _ENTRY.size + entry[10] + entry[11] + entry[12]
    return total if pos == len(directory) else None
