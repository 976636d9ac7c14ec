"""Bounded reading of untrusted files: a lock, a file to import, a bundle's JSON.

A lock comes from a stranger (docs/security.md). Before a parser sees it, the file must be a regular file of
bounded size (a FIFO would hang ``read``, ``/dev/zero`` never ends), and its text must not hold the shapes
that make ``tomllib``/``json``/PyYAML slow or recursive: 20,000-level dotted keys (quadratic in ``tomllib``),
thousands of nested arrays or tables (``RecursionError``), numbers thousands of digits long, YAML aliases
(a "billion laughs" document). These checks look only at the structure outside strings and comments, so
they cost a few regex passes. Each function raises the caller's error class, so the message stays in the
caller's family (``LockfileError``, ``LockImportError``, ``BundleError``) and exits 2 or 4 as documented.
"""

from __future__ import annotations

import codecs
import errno
import itertools
import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from ._lazyre import LazyPattern
from .errors import EnvsnapError

TYPE_CHECKING = False  # not typing's: `envsnap run --lock` reads its lock with this module before the command starts
if TYPE_CHECKING:
    from typing import Any

# The TOML parser and the grammar (which imports packaging) are imported where they are used: reading a file
# bounded must stay cheap to import (``envsnap run`` reads a lock before it starts the command).

# Defaults of the limits; docs/security.md ("Limits") lists them with their environment overrides.
MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_INPUT_BYTES_ENV = "ENVSNAP_MAX_LOCK_BYTES"
MAX_NESTING = 32  # arrays/tables inside each other (a lock needs 4)
MAX_KEY_PARTS = 16  # parts of one dotted key or table header (a lock needs 3)
MAX_DIGITS = 64  # digits of one number (a lock's integers have at most 16)

ErrorClass = Callable[[str], EnvsnapError]

# Strings and comments, as TOML lexes them: what the structure checks skip. An unterminated string swallows
# the rest of the text: the parser fails right there and never reads what follows, and every match then
# succeeds at its first attempt (no retry per quote, which made a line of quotes quadratic).
# Compiled at their first use (``LazyPattern``): a lock in envsnap's own form is read by ``_tomlfast``, which needs no
# structure check, and compiling these was 0.6 ms of every process that reads one.
_TOML_SKIP = LazyPattern(
    r'"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*(?:"""(?:""?)?|.*)|'  # multi-line basic
    r"'''[^']*(?:'(?!'')[^']*)*(?:'''(?:''?)?|.*)|"  # multi-line literal
    r'"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*(?:"|.*)|'  # basic
    r"'[^'\n]*(?:'|.*)|"  # literal
    r"#[^\n]*",
    re.DOTALL,
)
_JSON_SKIP = LazyPattern(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|.*)', re.DOTALL)
# A run of more than MAX_DIGITS digits (the lookbehind, after the first character, starts a try only at the
# beginning of a run, so runs just under the limit are not rescanned from each of their digits).
_LONG_NUMBER = LazyPattern(rf"[0-9_](?<![0-9_][0-9_])[0-9_]{{{MAX_DIGITS}}}")


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def env_limit(env: Mapping[str, str], name: str, default: int, *, error: ErrorClass, sizes: bool = False) -> int:
    """A limit from the environment variable ``name`` (``default`` when unset): a positive whole number, with
    ``sizes`` a number of bytes that may end in K, M, G or T. Anything else is refused with ``error``."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    from .grammar import MAX_INT, shown

    number, unit = (raw[:-1], raw[-1].upper()) if sizes and raw[-1:].upper() in _SIZE_UNITS else (raw, "")
    if not (number.isascii() and number.isdigit()) or not 0 < int(number) <= MAX_INT:
        what = "a number of bytes (K, M, G, T allowed)" if sizes else "a positive whole number"
        raise error(f"{name}={shown(raw)}: not {what}")
    return int(number) * _SIZE_UNITS[unit]


def max_input_bytes(error: ErrorClass) -> int:
    """The size limit for one input file: ``ENVSNAP_MAX_LOCK_BYTES`` or the default (16 MiB)."""
    return env_limit(os.environ, MAX_INPUT_BYTES_ENV, MAX_INPUT_BYTES, error=error, sizes=True)


def over_limit(text: str, *, error: ErrorClass) -> int:
    """The size in bytes of ``text`` written as UTF-8 where that is over the limit it is read back under
    (``max_input_bytes``: a lock envsnap writes must be one envsnap reads), else 0. Counts the bytes only of a text
    that may be over it (a character is at most 4 bytes)."""
    cap = max_input_bytes(error)
    if len(text) <= cap // 4:
        return 0
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if size > cap else 0


def too_large(
    subject: str, size: int, cap: int, *, read_as: str = "a lock", at_least: bool = False, left: str = "nothing written"
) -> str:
    """The line for a file ``subject`` would write of ``size`` bytes (``at_least``: a bound, known before the file is
    made), over the limit ``cap`` it is read under (as ``read_as``: a lock, a run record, a FLEET.toml file);
    ``left``: what was not done."""
    return (
        f"{subject} would be {'at least ' if at_least else ''}{size} bytes, over the limit of {cap} bytes envsnap "
        f"reads {read_as} under (raise it with {MAX_INPUT_BYTES_ENV}); {left}"
    )


def readable(text: str, subject: str, *, error: ErrorClass, read_as: str) -> str:
    """``text``, a file envsnap writes and reads back under the size limit (a run record, a FLEET.toml file), where
    it is within that limit; over it, ``error`` with ``too_large``'s line, before anything is written: a file no
    command could read is not written. (A lock's is ``lockfile.dumps``', whose error carries the size.)"""
    size = over_limit(text, error=error)
    if size:
        raise error(too_large(subject, size, max_input_bytes(error), read_as=read_as))
    return text


def empty_path(what: str) -> str:
    """The line for an empty path argument (``envsnap check "$LOCK"`` with ``LOCK`` unset), which ``Path`` reads as
    ``.``, the working directory: named so, not as a folder where a ``what`` was expected."""
    return f"'': the path is empty (expected a {what}); a shell variable left unset?"


def read_bytes(
    path: str | os.PathLike[str],
    *,
    error: ErrorClass,
    what: str = "file",
    limit: int | None = None,
    not_regular: str = "",
) -> bytes:
    """The content of a regular file of at most ``limit`` bytes; anything else is refused with ``error``
    (``not_regular``: what to do instead, added to the message for a pipe or device).

    Not a FIFO, a device or a socket: the file is checked before it is opened, opened non-blocking (a FIFO
    swapped in between does not hang) and checked again on the open descriptor; at most ``limit + 1``
    bytes are read, so ``/dev/zero`` or a growing file cannot exhaust memory.
    """
    if not os.fspath(path):
        raise error(empty_path(what))
    p = Path(path)
    cap = max_input_bytes(error) if limit is None else limit
    try:
        info = p.stat()
    except FileNotFoundError:
        raise error(f"{p}: no such {what}") from None
    except OSError as exc:
        raise error(f"{p}: cannot read: {exc.strerror or exc}") from None
    if what == "lockfile":
        _refuse_bundle(p, info)
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{p}: is a directory, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{p}: not a regular file (a device, pipe or socket is not a {what}){not_regular}")
    if what == "lockfile" and (info.st_size > cap or p.name.endswith(FOREIGN_ARCHIVE_SUFFIXES)):
        # A supplement zipped for its deposit, or tarred with another compression: said so, with how to unpack it,
        # rather than "over the limit" (raising it led to "not a text file") or a TOML error.
        refusal = foreign_archive(p, file_head(p))
        if refusal:
            raise error(refusal)
    if info.st_size > cap:
        raise error(_too_big(p, info.st_size, cap))
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise error(f"{p}: no such {what}") from None
        raise error(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise error(f"{p}: not a regular file (a device, pipe or socket is not a {what}){not_regular}")
        chunks: list[bytes] = []
        left = cap + 1
        # The whole file in one read where it has not grown (and a byte more, to see its end): a 3 MB lock read a
        # megabyte at a time, then joined, was 1-2 ms of a cold diff's start, twice.
        want = opened.st_size + 1
        while left > 0:
            chunk = os.read(fd, min(left, want))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            want = 1 << 20
    except OSError as exc:
        raise error(f"{p}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if len(data) > cap:
        raise error(_too_big(p, len(data), cap, exact=False))
    return data


# Archives envsnap does not read as a bundle, known by their first bytes (a bundle is a folder, or the .tar.gz or
# .tar `envsnap bundle` writes): what each is, and whether tar unpacks it (GNU tar finds the compression itself).
_FOREIGN_ARCHIVES = (
    (b"PK\x03\x04", "a zip archive", False),
    (b"PK\x05\x06", "a zip archive", False),  # an empty one
    (b"\xfd7zXZ\x00", "an xz-compressed file", True),
    (b"BZh", "a bzip2-compressed file", True),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", True),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", False),
)
# Their names: a lock read under one of them is looked at first whatever its size.
FOREIGN_ARCHIVE_SUFFIXES = (".zip", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz", ".tar.zst", ".tzst", ".7z")


def foreign_archive(path: str | os.PathLike[str], head: bytes) -> str:
    """The one line that refuses ``path``, whose first bytes are ``head``, where it is an archive envsnap does not read
    as a bundle (a deposit's zip of the bundle folder, a .tar.xz): what it is and the command that unpacks it, beside
    it for a zip or a 7-Zip archive (``unzip -d supp supp.zip``), and for a tar (``tar -xf supp.tar.xz -C .``, beside
    it as a bundle archive's messages say, ``unpack_beside``); "" for anything else."""
    found = next(((what, tar) for magic, what, tar in _FOREIGN_ARCHIVES if head.startswith(magic)), None)
    if found is None or (head.startswith(b"BZh") and head[3:4] not in b"123456789"):
        return ""
    from .sinks import shell_shown

    what, tar = found
    p = Path(path)
    if tar:
        command = ["tar", "-xf", str(p), "-C", str(p.parent)]
    else:
        stem = next((p.name[: -len(s)] for s in (".zip", ".7z") if p.name.endswith(s) and len(p.name) > len(s)), "")
        folder = str(p.with_name(stem or p.name + ".unpacked"))
        command = ["unzip", "-d", folder, str(p)] if what == "a zip archive" else ["7z", "x", f"-o{folder}", str(p)]
    return (
        f"{p}: {what}, which envsnap does not read (a lock is a TOML file; a bundle a folder, or the .tar.gz or .tar "
        f"`envsnap bundle` writes): unpack it ({shell_shown(command)}) and give the folder that holds envsnap.lock"
    )


def file_head(path: Path) -> bytes:
    """The first bytes of the regular file ``path`` (b"" for anything else, or unreadable: a FIFO swapped in would
    block the open)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        return os.read(fd, 8) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    except OSError:
        return b""
    finally:
        os.close(fd)


STDIN_LABEL = "standard input"


def read_stdin_bytes(*, error: ErrorClass, what: str = "file", limit: int | None = None) -> bytes:
    """What is piped into standard input (``pip freeze | envsnap import -``), under the limits of a file: at most
    ``limit + 1`` bytes are read, so ``yes | envsnap import -`` cannot exhaust memory; not empty; not a terminal,
    where a read would wait for the user to type the file."""
    import sys

    stream = sys.stdin
    if stream is None:
        raise error(f"-: no {STDIN_LABEL} to read the {what} from (it is closed)")
    try:
        if stream.isatty():
            raise error(f"-: {STDIN_LABEL} is a terminal; pipe the {what} into it")
    except ValueError:  # a closed stream
        raise error(f"-: no {STDIN_LABEL} to read the {what} from (it is closed)") from None
    cap = max_input_bytes(error) if limit is None else limit
    try:
        raw = getattr(stream, "buffer", None)
        data = raw.read(cap + 1) if raw is not None else stream.read(cap + 1).encode("utf-8")
    except (OSError, ValueError) as exc:
        raise error(f"-: cannot read {STDIN_LABEL}: {getattr(exc, 'strerror', None) or exc}") from None
    except UnicodeDecodeError:
        raise error(f"-: {STDIN_LABEL} is not UTF-8 text (expected a {what})") from None
    if len(data) > cap:
        raise error(
            f"-: {STDIN_LABEL} of more than {cap} bytes is over the limit of {cap} bytes "
            f"(raise it with {MAX_INPUT_BYTES_ENV})"
        )
    if not data.strip():
        raise error(f"-: {STDIN_LABEL} is empty: nothing was piped into it (expected a {what})")
    return data


# Byte order marks and their encodings, as pip's ``auto_decode`` reads a requirements file (UTF-32's first: its
# little-endian mark starts with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


# A UTF-8 byte order mark, decoded. A TOML file envsnap reads may not start with one (docs/lockfile.md, "Encoding").
BOM_CHARACTER = "\ufeff"
BOM_REFUSED = "it starts with a UTF-8 byte order mark, which envsnap does not accept"


def byte_order_marked(raw: bytes) -> bool:
    """Whether ``raw`` starts with a byte order mark ``decode_marked`` leaves out."""
    return any(raw.startswith(mark) for mark, _ in _BOMS)


def decode_marked(raw: bytes, *, label: str, error: ErrorClass, what: str = "file") -> str:
    """A file to import as pip reads one: UTF-8, or the encoding its byte order mark names, the mark left out
    (``pip freeze > requirements.txt`` in Windows PowerShell writes UTF-16 with one). ``label`` starts the message
    for text that does not decode (``requirements.txt:``, ``-: standard input is``)."""
    encoding = "utf-8"
    for mark, named in _BOMS:
        if raw.startswith(mark):
            raw, encoding = raw[len(mark) :], named
            break
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise error(f"{label} not {encoding.upper()} text (expected a {what})") from None


def refuse_bundle(path: str | os.PathLike[str]) -> None:
    """Refuse a bundle given where a lock belongs (``BundleNotALockError``, as a read of it would), before any
    other complaint about the request: a path that is not there, or not a bundle, passes."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return
    _refuse_bundle(Path(path), info)


def _refuse_bundle(p: Path, info: os.stat_result) -> None:
    """Refuse a bundle given where a lock belongs, naming the lock it holds: a folder with ``SHA256SUMS`` beside an
    ``envsnap.lock``, or a file named and shaped as the archives ``envsnap bundle`` writes (gzip or tar data under a
    ``.tar.gz``, ``.tgz`` or ``.tar`` name), which would otherwise be "not a text file" or, as large as a real
    supplement, over the lock size limit, whose raising helps nothing."""
    # Every lock read passes here: shlex and the error are imported only for a bundle.
    from ._defaults import ARCHIVE_SUFFIXES, BUNDLE_SUMS, LOCK_NAME

    if stat.S_ISDIR(info.st_mode):
        if (p / BUNDLE_SUMS).is_file() and (p / LOCK_NAME).is_file():
            from .errors import BundleNotALockError
            from .sinks import shell_shown  # a newline in the folder's name is bash's $'\x0a', one pasteable word

            raise BundleNotALockError(
                f"{p}: an envsnap bundle, not a lock; give the lock it holds, {shell_shown([str(p / LOCK_NAME)])}",
                str(p),
            )
        return
    stem = next((p.name[: -len(s)] for s in ARCHIVE_SUFFIXES if p.name.endswith(s)), "")
    if not stem or not stat.S_ISREG(info.st_mode):
        return
    try:  # as read_bytes opens it: a file swapped for a FIFO since the stat must not hang the read
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    try:
        head = os.read(fd, 262) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        if head.startswith(b"\x1f\x8b") or head[257:262] == b"ustar":
            from .errors import BundleNotALockError
            from .sinks import shell_shown

            unpack, folder = unpack_beside(str(p))
            raise BundleNotALockError(
                f"{p}: an envsnap bundle, not a lock; give the lock it holds, "
                f"{shell_shown([os.path.join(folder, LOCK_NAME)])} once unpacked ({unpack})",
                str(p),
            )
    except OSError:
        return
    finally:
        os.close(fd)


def unpacked_folder(path: str | os.PathLike[str]) -> str:
    """The folder ``tar -xf`` of the bundle archive ``path`` puts its lock in (``_unpacked_lock``): ``supp`` for
    ``supp.tar.gz`` as ``envsnap bundle`` wrote it, ``.`` for one made of a folder's content."""
    from ._defaults import ARCHIVE_SUFFIXES, LOCK_NAME

    p = Path(path)
    stem = next((p.name[: -len(s)] for s in ARCHIVE_SUFFIXES if p.name.endswith(s)), p.name)
    default = f"{stem}/{LOCK_NAME}"
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return os.path.dirname(default) or "."
    try:
        return os.path.dirname(_unpacked_lock(fd, default) if stat.S_ISREG(os.fstat(fd).st_mode) else default) or "."
    finally:
        os.close(fd)


def archive_folder(archive_path: str | os.PathLike[str]) -> str:
    """The one top-level folder of an archive: its name without the suffix (``supp.tar.gz`` holds ``supp/``)."""
    from ._defaults import ARCHIVE_SUFFIXES
    from .grammar import is_base_name

    name = os.path.basename(os.fspath(archive_path))
    stem = next((name[: -len(s)] for s in ARCHIVE_SUFFIXES if name.endswith(s)), name)
    return stem if is_base_name(stem) else "bundle"


def unpack_beside(archive: str) -> tuple[str, str]:
    """The commands that unpack the bundle archive ``archive`` (as the user gave it) beside it, and the folder they
    unpack it into, where its lock then is: the one rule of every message that names the unpacking (the loader's
    "not a lock", export's archive notes, the remedies of audit, pin, check and the docker rebuild), so no two print
    different commands for one archive (the loader and export said ``tar -xf A``, into the current folder). A remedy
    for an archive pins or bundles that lock, whose path a command cannot name before (``pin`` and ``bundle`` refuse
    an archive, a bundle, not a lock). Into the folder it holds (the one its first member names, whatever the
    archive is called now); a folder's content (``tar -C supp .``) into a folder of its own, named after the
    archive, not spilled beside it. The commands are shell words, the folder is not."""
    from pathlib import PurePath

    from .sinks import shell_shown

    parent = PurePath(archive).parent
    top = unpacked_folder(archive)
    if top == ".":
        folder = str(parent / archive_folder(archive))
        made = shell_shown([folder])
        return f"mkdir -p {made} && tar -xf {shell_shown([archive])} -C {made}", folder
    return f"tar -xf {shell_shown([archive])} -C {shell_shown([str(parent)])}", str(parent / top)


def _unpacked_lock(fd: int, default: str) -> str:
    """Where ``tar -xf`` puts the lock of the archive open as ``fd``: in the folder its first member names (an
    archive renamed since ``envsnap bundle`` wrote it, or made by hand with ``tar``, unpacks to a folder not named
    after it), at the top for one made of a folder's content (``tar -C supp .``); ``default`` where that cannot be
    told from the first 8 KiB of headers or the name is not plain (hidden, a control character). Reads at most
    64 KiB of the archive, never through ``tarfile``, which reads a pax header's data whole whatever size it claims."""
    import zlib

    from ._defaults import LOCK_NAME
    from .grammar import is_base_name

    block = 512
    try:
        raw = os.pread(fd, 65536, 0)
        data = zlib.decompressobj(wbits=31).decompress(raw, 16 * block) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, zlib.error):
        return default
    at, long_name = 0, ""
    while at + block <= min(len(data), 16 * block):
        header = data[at : at + block]
        kind, size_field = header[156:157], header[124:136].strip(b" \0") or b"0"
        if header[257:262] != b"ustar" or not size_field.isdigit():
            return default
        size = int(size_field, 8)
        if kind in (b"x", b"g", b"L"):  # a pax header (its "path" names the next member) or a GNU long name
            text = data[at + block : at + block + size].decode("utf-8", "replace")
            at += block + -(-size // block) * block
            if kind == b"L":
                long_name = text.split("\0", 1)[0]
            elif kind == b"x":
                long_name = next((r.split("=", 1)[1] for r in text.split("\n") if " path=" in r), long_name)
            continue
        name = long_name or (header[345:500].split(b"\0", 1)[0] + b"/" + header[:100].split(b"\0", 1)[0]).decode(
            "utf-8", "replace"
        )
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if parts:
            if len(parts) == 1 and kind != b"5":
                return LOCK_NAME
            return f"{parts[0]}/{LOCK_NAME}" if is_base_name(parts[0]) else default
        at, long_name = at + block + -(-size // block) * block, ""  # "./", the first entry of `tar -C DIR .`
    return default


def _too_big(p: Path, size: int, cap: int, *, exact: bool = True) -> str:
    """The line for a file over the limit: its size where it is known (``exact``: the file's own, from ``stat``),
    else ``more than`` the limit (a file that grew past it while it was read, of which ``cap + 1`` bytes were)."""
    shown = size if exact else f"more than {cap}"
    return f"{p}: {shown} bytes is over the limit of {cap} bytes (raise it with {MAX_INPUT_BYTES_ENV})"


def read_text(path: str | os.PathLike[str], *, error: ErrorClass, what: str = "file", limit: int | None = None) -> str:
    """``read_bytes`` decoded as UTF-8 (an undecodable file is refused)."""
    raw = read_bytes(path, error=error, what=what, limit=limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 text file (expected a {what})") from None


def check_toml_structure(text: str, *, origin: str, error: ErrorClass) -> None:
    """Refuse TOML text whose shape would make ``tomllib`` slow, recursive or produce huge numbers."""
    _check_structure(_TOML_SKIP.sub("", text), origin=origin, error=error, dotted=True)


def check_json_structure(text: str, *, origin: str, error: ErrorClass) -> None:
    _check_structure(_JSON_SKIP.sub("", text), origin=origin, error=error, dotted=False)


_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_ALL_BYTES = bytes(range(256))
_ALL_BUT_BRACKETS = _ALL_BYTES.translate(None, b"[]{}")
_ALL_BUT_KEY_ENDS = _ALL_BYTES.translate(None, b".=\n,[]{}")


def _check_structure(skeleton: str, *, origin: str, error: ErrorClass, dotted: bool) -> None:
    # bytes.translate deletes in one C pass, so even a hostile 16 MiB file is checked in about a second
    # (tomllib would take far longer on it); an ordinary lock costs a few milliseconds.
    raw = skeleton.encode("utf-8", "surrogatepass")
    brackets = raw.translate(None, _ALL_BUT_BRACKETS)
    if brackets and max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > MAX_NESTING:
        raise error(f"{origin}: nested more than {MAX_NESTING} levels deep")
    # Reduced to its dots and the characters that end a key, a key of more than MAX_KEY_PARTS parts is a run
    # of MAX_KEY_PARTS dots.
    if dotted and b"." * MAX_KEY_PARTS in raw.translate(None, _ALL_BUT_KEY_ENDS):
        raise error(f"{origin}: a dotted key of more than {MAX_KEY_PARTS} parts")
    m = _LONG_NUMBER.search(skeleton)
    if m is not None:
        line = skeleton.count("\n", 0, m.start()) + 1
        raise error(f"{origin}:{line}: a number of more than {MAX_DIGITS} digits")


def load_toml(text: str, *, origin: str, error: ErrorClass) -> dict[str, Any]:
    """Guarded ``tomllib.loads``: every failure becomes one line in ``error``'s family.

    A text in the form envsnap writes is read by ``_tomlfast`` (the same result, about twice as fast, and within
    every limit checked here by construction); any other text by tomli, after the structure checks."""
    from . import _tomlfast

    fast = _tomlfast.loads(text)
    if fast is not None:
        return fast
    from ._toml import tomllib

    check_toml_structure(text, origin=origin, error=error)
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        # An editor's "UTF-8 with BOM": the parser's "Invalid statement (at line 1, column 1)" named no cause.
        if text.startswith(BOM_CHARACTER):
            raise error(f"{origin}: not valid TOML: {BOM_REFUSED}; save the file as UTF-8 without the mark") from None
        raise error(f"{origin}: not valid TOML: {exc}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # numbers past int()'s digit limit, ...
        raise error(f"{origin}: not valid TOML: {type(exc).__name__}") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    pass


def load_json(text: str, *, origin: str, error: ErrorClass) -> Any:
    """Guarded ``json.loads``: nesting and number size bounded, duplicate keys refused (TOML refuses them;
    ``json`` would silently keep the last), NaN/Infinity refused."""
    check_json_structure(text, origin=origin, error=error)

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=constant)
    except _DuplicateKey as exc:
        from .grammar import shown

        raise error(f"{origin}: not valid JSON: key {shown(exc.args[0])} appears twice") from None
    except (ValueError, RecursionError) as exc:
        raise error(
            f"{origin}: not valid JSON: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None


def read_json(
    path: str | os.PathLike[str], *, error: ErrorClass, what: str = "JSON file", limit: int | None = None
) -> Any:
    """A bounded, guarded JSON file (e.g. a bundle's ``images/*.json``); the caller validates the content."""
    return load_json(read_text(path, error=error, what=what, limit=limit), origin=str(path), error=error)


def load_yaml(text: str, *, origin: str, error: ErrorClass) -> Any:
    """``yaml.safe_load`` without aliases (no "billion laughs"), with bounded nesting and integer size, and a key
    given twice in one mapping refused (PyYAML keeps the last silently; TOML refuses it, and ``load_json`` too)."""
    import yaml  # type: ignore[import-untyped]

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
            self.depth += 1
            if self.depth > MAX_NESTING:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_NESTING} levels deep", mark)
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_yaml_int(self, node: Any) -> Any:
            if len(str(node.value)) > MAX_DIGITS:
                raise yaml.constructor.ConstructorError(None, None, "an integer too long", node.start_mark)
            return super().construct_yaml_int(node)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            # A mapping's own keys: a merge key (``<<: {...}``) overrides by design, and is left to PyYAML.
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    again = key in seen
                except TypeError:  # an unhashable key: PyYAML refuses it below
                    continue
                if again:
                    from .grammar import shown

                    problem = f"key {shown(key)} appears twice"
                    raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        # PyYAML's message spans lines (context, a quoted excerpt, a caret): keep the problem and where.
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise error(f"{origin}: not valid YAML: {problem}{where}") from None
    except (ValueError, RecursionError) as exc:
        raise error(f"{origin}: not valid YAML: {type(exc).__name__}") from None
