"""Data fingerprints: a manifest digest over every file of a path (a file or a directory tree).

The manifest lists, per regular file, its path relative to the fingerprinted path (``/``-separated; a single
file is listed by its base name), its size and its sha256; its digest is the sha256 of the lines
``path NUL size NUL sha256 LF`` in path order (docs/runrecord.md). ``fast`` fingerprints use size and mtime
(nanoseconds) instead of content: seconds instead of minutes on a large dataset, but a file rewritten with the
same size in the same nanosecond is not seen, so the method is recorded beside the digest.

Files are hashed in parallel (``hashlib`` releases the GIL while it hashes a large buffer): a tree of many
files keeps every core reading; a single large file is read in large blocks straight into a reused buffer.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .._frozen import frozen
from .._lazyre import LazyPattern
from .._prehash import sha256_file as hash_file  # the one sha256 of a file, its buffer reused
from ..errors import EnvsnapError

SHA256 = "sha256"
SIZE_MTIME = "size-mtime"
METHODS = (SHA256, SIZE_MTIME)
BLOCK = 1 << 20
# Files listed one by one in a record; a larger tree keeps its digest, counts and the first entries only, so a
# rerun then says that the tree differs but can name only changed files among those listed.
MAX_ENTRIES = 20_000
# A file name that is not UTF-8, as os.fsdecode gives it (surrogate escapes): counted, never an entry (``unlisted``).
_SURROGATE = LazyPattern("[\ud800-\udfff]")

# Bytes hashed so far and bytes in all: called from the worker threads, at most every few MiB.
ByteProgress = Callable[[int, int], None]

# What ``rerun`` hashes for a record (a stranger's file) per data path, at most (docs/security.md).
MAX_DATA_BYTES = 64 << 30
MAX_DATA_BYTES_ENV = "ENVSNAP_MAX_DATA_BYTES"


class DataError(EnvsnapError):
    """A --data or --output path cannot be fingerprinted (missing input, unreadable file)."""


# What lets rerun read a data path outside the project, said where it may not (the path comes from a record).
READ_MORE = " (the project and each --data-root DIR: add one that holds it to check it)"


class OutOfBounds(DataError):
    """A path someone else's record names that ``rerun`` does not read: outside the folders it may read, or
    over the size limit."""


class _Stopped(Exception):
    """Raised in a hashing worker once the fingerprint has been abandoned."""


@frozen
class Entry:
    path: str  # relative, "/"-separated
    size: int
    # sha256 hex of the content, or for a fast fingerprint the mtime in nanoseconds as a decimal string.
    value: str


@frozen
class Fingerprint:
    kind: str  # file | directory | missing
    method: str  # sha256 | size-mtime
    digest: str  # sha256:<hex> of the manifest, "" when missing
    files: int
    bytes: int
    entries: tuple[Entry, ...]  # at most MAX_ENTRIES
    complete: bool  # every file is listed in entries
    # The links in the tree that lead to nothing (a removed target, a loop), relative as entries are: no content,
    # so in no digest, but listed (at most MAX_ENTRIES, names a record can hold), so that one added or removed is
    # a difference and one kept is none, wherever it pointed.
    dangling: tuple[str, ...] = ()
    # The files counted but not listed because their name is not UTF-8, each as ``name_written`` writes it (at most
    # MAX_ENTRIES), so that the user sees which files they are.
    unlisted: tuple[str, ...] = ()


def name_written(name: str) -> str:
    """A file name that is not UTF-8 (``os.fsdecode``'s surrogate escapes) as text a record holds: each byte that is not
    UTF-8 as ``\\xNN``, a backslash doubled, anything else as it is (``b\\xff.txt`` for the bytes ``b\xff.txt``);
    ``name_read`` reads it back."""
    return os.fsencode(name).replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


_WRITTEN_ESCAPE = LazyPattern(r"\\(?:(\\)|x([0-9a-f]{2}))|(\\)")


def name_read(text: str) -> str | None:
    """The file name ``name_written`` wrote as ``text`` (surrogate escapes for its bytes that are not UTF-8); None when
    ``text`` is not one it writes (a lone backslash, an escape of a byte that is UTF-8)."""
    parts: list[bytes] = []
    at = 0
    for found in _WRITTEN_ESCAPE.finditer(text):
        if found[3] is not None:
            return None
        parts += [
            text[at : found.start()].encode("utf-8", "surrogatepass"),
            b"\\" if found[1] else bytes.fromhex(found[2]),
        ]
        at = found.end()
    raw = b"".join([*parts, text[at:].encode("utf-8", "surrogatepass")])
    name = os.fsdecode(raw)
    return name if name_written(name) == text else None


def manifest_digest(entries: Sequence[Entry]) -> str:
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.path):
        h.update(f"{e.path}\0{e.size}\0{e.value}\n".encode("utf-8", "surrogateescape"))
    return "sha256:" + h.hexdigest()


def max_data_bytes() -> int:
    """The most ``rerun`` hashes of one recorded data path: ``ENVSNAP_MAX_DATA_BYTES`` or the default."""
    from .. import _readlimits

    return _readlimits.env_limit(os.environ, MAX_DATA_BYTES_ENV, MAX_DATA_BYTES, error=DataError, sizes=True)


def inside(path: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]]) -> bool:
    """Whether ``path``, its links resolved, lies in one of ``roots`` (or is one)."""
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip("/") + "/") for r in (os.path.realpath(root) for root in roots))


def _lexically_inside(path: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]]) -> bool:
    """Whether ``path`` as written (made absolute, no link resolved) lies in one of ``roots``, resolved or not."""
    spelled = os.path.abspath(path)
    folders = {f for root in roots for f in (os.path.abspath(root), os.path.realpath(root))}
    return any(spelled == f or spelled.startswith(f.rstrip("/") + "/") for f in folders)


def _walk(
    root: Path, within: Sequence[str | os.PathLike[str]] | None = None
) -> Iterator[tuple[str, os.stat_result | None]]:
    """(relative path, stat) of every regular file under ``root``; links to files count as those files, links
    to directories are followed once (a loop is not), and a link that leads to nothing is (relative path, None),
    wherever it pointed: nothing is read through it. With ``within``, a link that leads to something out of those
    folders is refused."""
    seen: set[tuple[int, int]] = set()
    stack = [("", root)]
    while stack:
        rel, folder = stack.pop()
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise DataError(f"{folder}: cannot read: {exc.strerror or exc}") from None
        for child in children:
            name = f"{rel}/{child.name}" if rel else child.name
            try:
                st = child.stat()  # follows links
            except OSError:
                if child.is_symlink():
                    yield name, None  # no content to fingerprint, and none read out of bounds: listed
                continue
            if within is not None and child.is_symlink() and not inside(child.path, within):
                raise OutOfBounds(f"{child.path} is a link that leads out of the folders rerun may read{READ_MORE}")
            if stat.S_ISDIR(st.st_mode):
                stack.append((name, Path(child.path)))
            elif stat.S_ISREG(st.st_mode):
                yield name, st


def missing(*, fast: bool = False) -> Fingerprint:
    """The fingerprint of an output the command did not write (kind ``missing``)."""
    return Fingerprint("missing", SIZE_MTIME if fast else SHA256, "", 0, 0, (), True)


def fingerprint(
    path: str | os.PathLike[str],
    *,
    fast: bool = False,
    workers: int | None = None,
    progress: ByteProgress | None = None,
    missing_ok: bool = False,
    within: Sequence[str | os.PathLike[str]] | None = None,
    max_bytes: int | None = None,
) -> Fingerprint:
    """The fingerprint of a file or a directory tree (a device, a FIFO or a socket is refused: reading one
    might never end). ``missing_ok``: a path that does not exist has the fingerprint of kind ``missing``
    (an output the command did not write) instead of an error. A path named by someone else's record
    (``rerun``) is bounded: with ``within``, it and every link in its tree must lie in those folders; with
    ``max_bytes``, a tree of more bytes in all is refused before any is read."""
    method = SIZE_MTIME if fast else SHA256
    p = Path(path)
    if within is not None and not inside(p, within):
        if missing_ok and _lexically_inside(p, within) and not os.path.exists(p):
            # A link in the project to nothing (a dangling ``--output``): nothing there to read, so missing, as
            # ``run`` recorded it, not "leads out" (a rerun read as different what the run left as it was).
            return Fingerprint("missing", method, "", 0, 0, (), True)
        if _lexically_inside(p, within):
            # The project holds the path; a link on it leads out: "outside" named no folder to add.
            raise OutOfBounds(
                f"{p} leads by a link out of the folders rerun may read, to {os.path.realpath(p)}{READ_MORE}"
            )
        raise OutOfBounds(f"{p} is outside the folders rerun may read{READ_MORE}")
    try:
        info = p.stat()
    except FileNotFoundError:
        if missing_ok:
            return Fingerprint("missing", method, "", 0, 0, (), True)
        raise DataError(f"{p}: no such file or directory") from None
    except OSError as exc:
        raise DataError(f"{p}: cannot read: {exc.strerror or exc}") from None
    dangling: list[str] = []
    if stat.S_ISDIR(info.st_mode):
        kind, found = "directory", list(_walk(p, within))
        paths = [(rel, p / rel, st) for rel, st in found if st is not None]
        dangling = sorted(rel for rel, st in found if st is None)
    elif stat.S_ISREG(info.st_mode):
        kind, paths = "file", [(p.name or str(p), p, info)]
    else:
        raise DataError(f"{p}: not a regular file or directory (a device, pipe or socket has no fingerprint)")
    total = sum(st.st_size for _, _, st in paths)
    if max_bytes is not None and total > max_bytes:
        raise OutOfBounds(
            f"{p}: {total} bytes is over the limit of {max_bytes} bytes (raise it with {MAX_DATA_BYTES_ENV})"
        )
    if fast:
        entries = [Entry(rel, st.st_size, str(st.st_mtime_ns)) for rel, _, st in paths]
    else:
        entries = _hash_all(paths, total, workers, progress)
    entries.sort(key=lambda e: e.path)
    # The digest covers every file; a file whose name a record cannot hold is counted there but not listed.
    listed = [e for e in entries if recordable(e.path)][:MAX_ENTRIES]
    links = tuple([name for name in dangling if recordable(name)][:MAX_ENTRIES])
    unlisted = [e.path for e in entries if _SURROGATE.search(e.path) and recordable(name_written(e.path))]
    return Fingerprint(
        kind,
        method,
        manifest_digest(entries),
        len(entries),
        total,
        tuple(listed),
        len(listed) == len(entries),
        links,
        tuple(map(name_written, unlisted[:MAX_ENTRIES])),
    )


def recordable(name: str) -> bool:
    """Whether a record can list a file by this name: at most ``grammar.MAX_TEXT`` characters and UTF-8 (a name of
    other bytes is decoded with surrogates, which no TOML file holds). A control character is listed: the record's
    TOML holds it as an escape (``\\u001b``), losslessly, and every terminal line shows it made visible; left out, the
    folder's list was partial and --ignore-output could not leave any of its files out."""
    from ..grammar import MAX_TEXT

    return len(name) <= MAX_TEXT and "\0" not in name and not _SURROGATE.search(name)


def _hash_all(
    paths: list[tuple[str, Path, os.stat_result]], total: int, workers: int | None, progress: ByteProgress | None
) -> list[Entry]:
    done = 0
    lock = threading.Lock()
    local = threading.local()
    reported = [0]
    stop = threading.Event()  # set when the hashing is abandoned (Ctrl-C, an unreadable file): workers end

    def add(n: int) -> None:
        nonlocal done
        if stop.is_set():
            raise _Stopped
        with lock:
            done += n
            if progress is not None and done - reported[0] >= 8 * BLOCK:
                reported[0] = done
                progress(done, total)

    def one(item: tuple[str, Path, os.stat_result]) -> Entry:
        rel, full, st = item
        buf = getattr(local, "buf", None)
        if buf is None:
            buf = local.buf = bytearray(BLOCK)
        try:
            digest = hash_file(full, buf, add)
        except OSError as exc:
            raise DataError(f"{full}: cannot read: {exc.strerror or exc}") from None
        return Entry(rel, st.st_size, digest)

    count = workers or min(8, (os.cpu_count() or 1) + 1)
    if len(paths) <= 1 or count <= 1:
        out = [one(item) for item in paths]
    else:
        # Largest files first, so that one big file at the end does not run alone.
        ordered = sorted(paths, key=lambda item: -item[2].st_size)
        pool = ThreadPoolExecutor(max_workers=count)
        try:
            out = list(pool.map(one, ordered))
        except BaseException:
            # Ctrl-C or an error: the files not started are dropped and those being hashed stop at their next
            # block (leaving the pool's block would hash every file before the interrupt was seen).
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
    if progress is not None:
        progress(total, total)
    return out


@frozen
class Change:
    path: str  # relative to the fingerprinted path
    what: str  # added | removed | changed


def compare(before: Fingerprint, after: Fingerprint) -> tuple[Change, ...] | None:
    """The files that differ between two fingerprints of one path (by the entries both list); None when the
    digests are equal and so is every listed entry (a record's partial list, ``complete = false``, which its digest
    does not vouch for, may name a file that is not there: it is named). An empty tuple when the digests differ but
    no listed entry does (a tree larger than ``MAX_ENTRIES``, or a change of kind or method). A link that leads to
    nothing counts as an entry of its own: one kept is the same, one added or removed differs, a file where one was
    (or one where a file was) is changed."""
    old: dict[str, tuple[int, str] | None] = {e.path: (e.size, e.value) for e in before.entries}
    new: dict[str, tuple[int, str] | None] = {e.path: (e.size, e.value) for e in after.entries}
    old.update(dict.fromkeys(before.dangling))
    new.update(dict.fromkeys(after.dangling))
    out: list[Change] = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            if after.complete or old[name] is None:
                out.append(Change(name, "removed"))
        elif name not in old:
            if before.complete or new[name] is None:
                out.append(Change(name, "added"))
        elif old[name] != new[name]:
            out.append(Change(name, "changed"))
    same = before.digest == after.digest and before.kind == after.kind and before.method == after.method
    return None if same and not out else tuple(out)
