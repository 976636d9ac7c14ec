"""Atomic file writes: a reader sees the old file or the complete new one, never a half-written one."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from . import _leftovers
from .errors import UnsafeInputError, UsageError
from .grammar import GrammarError, is_md5_hex, is_relative_inside, is_sha256_hex, require_base_name


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    """Write ``data`` beside ``path`` and rename it into place: a reader sees the old file or the new one, never
    half of one. ``durable`` (a lock, an export, a record) also flushes it to the disk before the rename, so that a
    crash right after cannot leave an empty file under the name; a cache entry (``_cachedir.store``) is written
    without, as what it saves is time: each entry is checked when read (a checksum, a parse), and a torn one is a
    miss (fsync cost 10-50 ms a file on a rotating or network disk, four times in a first diff)."""
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
        if durable:
            os.fsync(handle.fileno())
        # A file being replaced keeps its permissions (a lock kept private with 0600 stays private).
        os.chmod(tmp, stat.S_IMODE(existing.st_mode) if existing is not None else mode)
        os.replace(tmp, target)


def make_parents(path: str | os.PathLike[str]) -> None:
    """Make the missing folders above ``path`` (with the umask's permissions), as ``export -o`` makes them. A
    file where a folder belongs is ``NotADirectoryError``: ``mkdir`` says "File exists" of it, which read as
    though the output itself were there."""
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent)) from None


def check_writable(path: str | os.PathLike[str]) -> None:
    """The ``OSError`` that ``make_parents`` then ``atomic_write_bytes`` of ``path`` would meet, raised now and
    with nothing made, where it is certain: a folder at ``path``, a file where a folder belongs, or a nearest
    existing folder that may not be written. A command whose output comes last (``pin -o``, ``fleet check -o``)
    asks before its downloads and its nodes, which take minutes, not after them."""
    target = os.path.realpath(path)  # the write follows links, and so does the folder it lands in
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    folder = os.path.dirname(target)
    while True:
        try:
            info = os.stat(folder)
        except (FileNotFoundError, NotADirectoryError):
            above = os.path.dirname(folder)
            if above == folder:
                return
            folder = above  # to be made: what decides is the nearest folder that is there
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), folder)
        if not os.access(folder, os.W_OK | os.X_OK) or kernel_filesystem(folder):
            # /proc and /sys take no file from anyone (root may "write" them: creating one is ENOENT there).
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), folder)
        return


# File systems the kernel fills with its own entries: no file can be made in them, whatever their permissions say
# (creating one in /proc is "No such file or directory", even for root).
_KERNEL_FILESYSTEMS = frozenset(
    {
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "devpts",
        "debugfs",
        "tracefs",
        "securityfs",
        "configfs",
        "pstore",
        "bpf",
        "efivarfs",
        "fusectl",
        "binfmt_misc",
    }
)


def kernel_filesystem(folder: str | os.PathLike[str]) -> str:
    """The type of the kernel's file system ``folder`` (links resolved) is on (``proc``, ``sysfs`` ...), "" for any
    other, or where the mount table cannot be read (not Linux)."""
    import re  # asked only where a write failed or an output is checked: not at start-up

    where = os.path.realpath(folder)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as stream:
            table = stream.read()
    except OSError:
        return ""
    best, kind = "", ""
    for row in table.splitlines():
        fields, _, rest = row.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        # The mount point, its space, tab, newline and backslash written as octal escapes (\040).
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[4])
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, rest.split()[0]
    return kind if kind in _KERNEL_FILESYSTEMS else ""


def cannot_write(path: str | os.PathLike[str], exc: OSError) -> str:
    """``PATH: cannot write: why``, naming the folder above ``path`` that is in the way (``afile``: ``Not a
    directory``) when the error is about one; a temporary file's name beside ``path`` is never shown."""
    folder = _nearest_folder(path)
    kind = kernel_filesystem(folder) if folder else ""
    if kind:
        return (
            f"{os.fspath(path)}: cannot write: {folder} is on the kernel's {kind} file system, which holds only the"
            " kernel's own entries and takes no file: give a path in a folder of yours"
        )
    where = ""
    if exc.filename and os.fspath(exc.filename):
        above = os.path.abspath(exc.filename)
        if above != os.path.abspath(path) and Path(os.path.abspath(path)).is_relative_to(above):
            where = f" ({above})"
    return f"{os.fspath(path)}: cannot write: {exc.strerror or exc}{where}"


def _nearest_folder(path: str | os.PathLike[str]) -> str:
    """The nearest folder above ``path`` (links resolved) that is there; "" where none is."""
    folder = os.path.dirname(os.path.realpath(path))
    while not os.path.isdir(folder):
        above = os.path.dirname(folder)
        if above == folder:
            return ""
        folder = above
    return folder


def move_into_place(folder: Path, dest: Path) -> bool:
    """Rename the finished ``folder`` to ``dest`` (on the same file system), which the plan found absent or an empty
    folder the user made (removed first: True is returned then). ``FileExistsError`` when ``dest`` holds anything by
    now: another run into the same destination moved its own there while this one built; what it put there is
    never replaced, and this run's folder stays where it was."""
    emptied = False
    try:
        dest.rmdir()
        emptied = True
    except FileNotFoundError:
        pass
    except OSError as exc:  # not empty, or no longer a folder
        raise FileExistsError(errno.EEXIST, "filled since it was planned", str(dest)) from exc
    try:
        os.replace(folder, dest)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise
        raise FileExistsError(errno.EEXIST, "filled since it was planned", str(dest)) from exc
    return emptied


def fresh_dir(parent: str | os.PathLike[str], prefix: str) -> Path:
    """A new folder ``prefix`` + random letters in ``parent``, as ``tempfile.mkdtemp`` makes one but with the
    permissions ``mkdir`` gives (the user's umask, not 0700): a folder made here to be moved into place (a build
    context, a bundle's ``tool/``) is one the user and their group read like any other they made."""
    import secrets

    for _ in range(100):
        path = Path(parent) / f"{prefix}{secrets.token_hex(4)}"
        try:
            os.mkdir(path, 0o777)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no unused folder name", str(Path(parent) / prefix))


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def checked_base_name(name: str, what: str = "file name") -> str:
    """``name`` when it may name a file (``grammar.require_base_name``); ``UnsafeInputError`` otherwise."""
    try:
        return require_base_name(name, what)
    except GrammarError as exc:
        raise UnsafeInputError(str(exc)) from None


def join_base_name(folder: str | os.PathLike[str], name: str, what: str = "file name") -> Path:
    """``folder / name`` for a file name read from a lock, a bundle or an index page.

    The one way such a name meets a folder: it must be a plain distribution file name (wheel, sdist, conda
    archive, .deb: ``grammar.require_base_name``) and the joined path, links resolved, must stay directly in
    ``folder``. Anything else is ``UnsafeInputError`` before any file is touched.

    A base name (one component, never ``.`` or ``..``) that is not a link resolves to ``realpath(folder) /
    name``, directly in the folder whatever ``folder`` itself resolves to: one ``lstat`` settles it, and only a
    link is resolved and compared (two ``realpath`` walks per file were a sixth of a warm ``bundle``)."""
    checked_base_name(name, what)
    base = Path(folder)
    path = base / name
    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            return path
    except FileNotFoundError:
        return path  # nothing there (or no folder yet): realpath keeps the name as the last component
    except OSError:
        pass  # not a folder, no permission, a loop: the full check below decides, as it always did
    if Path(os.path.realpath(path)).parent != Path(os.path.realpath(base)):
        raise UnsafeInputError(f"{what} {name!r} leads outside {base} (a link in the folder)")
    return path


def join_hash_dir(folder: str | os.PathLike[str], digest: str) -> Path:
    """``folder / digest`` for a content-addressed cache folder named by a recorded sha256 or md5."""
    if not (is_sha256_hex(digest) or is_md5_hex(digest)):
        raise UnsafeInputError(f"not a valid sha256 or md5 hex digest: {digest[:80]!r}")
    return Path(folder) / digest


def join_relative(folder: str | os.PathLike[str], rel: str, what: str) -> Path:
    """``folder / rel`` for a relative path read from a lock (a VCS ``subdirectory``, a path under
    ``{project}``): no absolute path, no ``..``, no control character, and the result, links resolved, stays
    inside ``folder``. ``UnsafeInputError`` otherwise."""
    if not is_relative_inside(rel):
        raise UnsafeInputError(f"{what} {rel[:80]!r}: not a relative path inside {folder}")
    base = Path(folder)
    path = base / rel
    if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(base)):
        raise UnsafeInputError(f"{what} {rel[:80]!r}: leads outside {base} (a link)")
    return path


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` (reproducible-builds.org): the time a build writes into what it makes, in seconds since
    1970 (a bundle archive's entries, an artifact's RO-Crate date); None where it is unset or empty. Any other value
    (a word, a negative or fractional number) is ``UsageError``, one line, exit 2: read before anything is made,
    not found as the archive is written (a traceback, the bundle fetched for nothing)."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 11):
        shown = value if value.isprintable() and len(value) <= 40 else repr(value[:40])
        raise UsageError(
            f"SOURCE_DATE_EPOCH={shown}: not a number of seconds since 1970 (reproducible-builds.org): "
            "unset it or give one"
        )
    return int(value)
