"""Inspect the Python environment this file runs in and print it as JSON.

This module runs inside the *target* interpreter, which may be any CPython/PyPy >= 3.7 without envsnap
installed: it must use the standard library only and keep to syntax old interpreters accept.
envsnap also imports it to capture its own interpreter in-process (``probe()``).

Paths it returns are absolute; the caller makes them relative before anything is recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
import sysconfig
import time

# Not typing's: importing typing cost the target interpreter 5 to 8 ms of every capture (mypy reads this as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any

_NAME_RE = re.compile(r"[-_.]+")
# Files an installer writes or rewrites: not part of what the wheel carries.
_INSTALLER_FILES = frozenset(
    [
        "INSTALLER",
        "REQUESTED",
        "direct_url.json",
        "RECORD",
        "RECORD.jws",
        "RECORD.p7s",
        "uv_cache.json",
        "uv_build.json",
        # envsnap's: a venv rebuilt from a bundle archive names the bundle's wheel it installed (its file name and
        # sha256) where no direct_url.json can name a place (interface.BUNDLE_WHEEL_FILE).
        "envsnap_bundle.json",
    ]
)
_SO_RE = re.compile(r"\.so(\.[0-9]+)*$")
# A RECORD row's sha256 written in hex (Debian's dh_python rewrites a dist-packages RECORD so), the row's last field
# after it: 64 hex digits, which no urlsafe base64 sha256 (43 characters) is.
_HEX_SHA256_ROW = re.compile(r",sha256=([0-9a-fA-F]{64}),(?=[^,\n]*$)", re.M)

# The capture cache (docs/design.md, "The capture cache"): facts read from a file, reused while the file's size,
# mtime_ns and inode are unchanged. The host's caches (ELF sections, the dpkg index) share this format and these
# helpers; in the target interpreter only the RECORD digests are cached.
CACHE_FORMAT = "envsnap-capture-cache"
CACHE_VERSION = 1
CACHE_MAX_BYTES = 64 << 20
# A file changed this recently may change again within its mtime's granularity with the same size: not stored.
_RACY_NS = 2 * 10**9


def file_stamp(path: str) -> list[int] | None:
    """``[size, mtime_ns, inode]`` of ``path`` (links followed); None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def storable(stamp: list[int] | None) -> bool:
    """Whether a fact read from a file of this stamp may be kept: it exists and is not racily recent."""
    return stamp is not None and stamp[1] < time.time_ns() - _RACY_NS


def read_cache(path: str, kind: str, meta: Any) -> dict[str, Any]:
    """The entries of the cache file ``path`` when it is a cache of ``kind`` written for ``meta``; {} when it
    is missing, too large, not JSON, or another format, version, kind or meta (never an error)."""
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            # This user's own, and nobody else may write it (envsnap/_defaults.owned_privately: this probe runs
            # standalone in the target interpreter and imports nothing of envsnap's).
            if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                return {}
            blob = handle.read(CACHE_MAX_BYTES + 1)
        if len(blob) > CACHE_MAX_BYTES:
            return {}
        data = json.loads(blob.decode("utf-8"))
    except Exception:  # unreadable, not UTF-8, not JSON, nested too deep: no cache
        return {}
    if not isinstance(data, dict):
        return {}
    head = (data.get("format"), data.get("version"), data.get("kind"), data.get("meta"))
    entries = data.get("entries")
    if head != (CACHE_FORMAT, CACHE_VERSION, kind, meta) or not isinstance(entries, dict):
        return {}
    return entries


def cache_document(kind: str, meta: Any, entries: dict[str, Any]) -> dict[str, Any]:
    return {"format": CACHE_FORMAT, "version": CACHE_VERSION, "kind": kind, "meta": meta, "entries": entries}


def cached(entries: dict[str, Any], key: str, stamp: list[int] | None) -> Any:
    """The value kept for ``key`` when it was read from the file as it is now (``stamp``); None otherwise."""
    entry = entries.get(key)
    if stamp is None or not isinstance(entry, list) or len(entry) != 2 or entry[0] != stamp:
        return None
    return entry[1]


def _is_texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


class _RecordCache:
    """RECORD digests of the last capture of this environment: each is kept, with the shared objects and the
    top-level names (``_top_names``) read with it, with the stamps of the files it was computed from (RECORD,
    ``entry_points.txt``, the scripts whose first line was read), and reused while every one of them is unchanged."""

    def __init__(self, entries: dict[str, Any]) -> None:
        self.old = entries
        self.new: dict[str, Any] = {}
        self.hits = 0

    def lookup(self, record: str, stamp: list[int] | None) -> tuple[str, list[str], list[str]] | None:
        value = cached(self.old, record, stamp)
        if not (isinstance(value, list) and len(value) == 4):
            return None
        digest, shared, deps, tops = value
        if not (isinstance(digest, str) and _is_texts(shared) and isinstance(deps, list) and _is_texts(tops)):
            return None
        for dep in deps:
            if not (isinstance(dep, list) and len(dep) == 2 and isinstance(dep[0], str)):
                return None
            if file_stamp(dep[0]) != dep[1]:
                return None
        self.new[record] = self.old[record]
        self.hits += 1
        return digest, shared, tops

    def store(
        self, record: str, stamp: list[int] | None, digest: str, shared: list[str], deps: list[Any], tops: list[str]
    ) -> None:
        if storable(stamp) and all(d[1] is None or storable(d[1]) for d in deps):
            self.new[record] = [stamp, [digest, shared, deps, tops]]

    def changed(self) -> bool:
        return not (self.hits == len(self.new) == len(self.old))


MEMO_ENTRIES = 8192  # RECORD digests kept by content (``_RecordMemo``): a few dozen environments' distributions


class _RecordMemo:
    """RECORD digests by what they are computed from, for a RECORD that names no file outside site-packages: its
    digest, shared objects and top-level names then follow from its bytes and its folder's name alone
    (``_record_entries`` reads no other file for it), so they are kept under the sha256 of the two, for any
    environment, path or stamp.

    The stamp-keyed cache (``_RecordCache``) finds nothing in a venv just made: every RECORD is a new file at a
    new path. A rebuild's verify reads the distributions the last rebuild of the same wheels installed; their
    RECORDs are the same bytes (uv writes a RECORD from the wheel's, and one with a script names it ``../``, which
    is not kept here). One file for the host (``record-memo``), the ``MEMO_ENTRIES`` entries used last."""

    def __init__(self, entries: dict[str, Any]) -> None:
        self.old = entries
        self.new: dict[str, Any] = {}

    @staticmethod
    def key(data: bytes, dist_name: str, outside: list[list[Any]] | None = None) -> str | None:
        """The entry's key, or None for a RECORD whose digest reads more than itself (``..`` anywhere: a file
        outside site-packages, whose script's first line and ``entry_points.txt`` decide whether it counts) unless
        ``outside`` (``_outside_rows``) says what was decided of each such file: it is then part of the key."""
        name = dist_name.encode("utf-8", "surrogateescape")
        if b".." not in data:
            return hashlib.sha256(b"%d:%s\n%s" % (len(name), name, data)).hexdigest()
        if outside is None:
            return None
        decided = json.dumps(outside, separators=(",", ":")).encode("utf-8", "surrogateescape")
        return hashlib.sha256(b"outside:%d:%s\n%s\0%s" % (len(name), name, data, decided)).hexdigest()

    def lookup(self, key: str) -> tuple[str, list[str], list[str]] | None:
        value = self.new.get(key) or self.old.get(key)
        if not (
            isinstance(value, list)
            and len(value) == 3
            and isinstance(value[0], str)
            and _is_texts(value[1])
            and _is_texts(value[2])
        ):
            return None
        self.new[key] = value
        return value[0], value[1], value[2]

    def store(self, key: str, digest: str, shared: list[str], tops: list[str]) -> None:
        self.new[key] = [digest, shared, tops]

    def changed(self) -> bool:
        return any(self.old.get(key) != value for key, value in self.new.items())

    def entries(self) -> dict[str, Any]:
        """What the memo file keeps: the entries used now, after the others it held (the oldest dropped)."""
        kept = {key: value for key, value in self.old.items() if key not in self.new}
        kept.update(self.new)
        return dict(list(kept.items())[-MEMO_ENTRIES:])


def canonical_name(name: str) -> str:
    return _NAME_RE.sub("-", name).lower()


def _read_text(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


SMALL_JSON_BYTES = 64 * 1024  # a direct_url.json is a few hundred bytes (PEP 610); envsnap_bundle.json less
SMALL_JSON_DEPTH = 8  # PEP 610's deepest value is three objects down


def _small_json(path: str) -> Any:
    """A distribution's small JSON file (``direct_url.json``, ``envsnap_bundle.json``), which any wheel may ship
    itself: ``ValueError`` saying why for one over ``SMALL_JSON_BYTES`` or nested deeper than ``SMALL_JSON_DEPTH``
    (``[[[...]]]`` raised RecursionError, which left the whole distribution out of the capture as unreadable), as
    for one that is not JSON."""
    with open(path, "rb") as handle:
        data = handle.read(SMALL_JSON_BYTES + 1)
    if len(data) > SMALL_JSON_BYTES:
        raise ValueError("over %d KiB: not read" % (SMALL_JSON_BYTES // 1024))
    text = data.decode("utf-8", "replace")
    depth, quoted, escaped = 0, False, False
    # The brackets outside strings (a URL's ``[::1]`` is no nesting), looked at only where there are enough of them.
    for char in text if text.count("[") + text.count("{") > SMALL_JSON_DEPTH else "":
        if quoted:
            escaped, quoted = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
            if depth > SMALL_JSON_DEPTH:
                raise ValueError("nested deeper than %d levels: not read" % SMALL_JSON_DEPTH)
        elif char in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError("not valid JSON") from None


def _read_head(path: str) -> str:
    """The text of a METADATA file as far as ``_headers`` reads it: up to its first blank line (``\\n\\n``), or
    all of it when it has none. The description after the headers is most of the file (1.5 of the 1.7 MB of a
    160-distribution environment's METADATA), and it is neither read nor decoded. The cut is right after an ASCII
    newline, so the text before it decodes as it does in the whole file."""
    with open(path, "rb") as handle:
        data = handle.read(8192)
        while b"\n\n" not in data:
            more = handle.read(1 << 16)
            if not more:
                break
            data += more
    return data.decode("utf-8", "replace")


def _headers(text: str) -> list[tuple[str, str]]:
    """The RFC 822 header block of a METADATA / PKG-INFO file as a list of (key, value)."""
    out: list[tuple[str, str]] = []
    end = text.find("\n\n")
    if end >= 0:
        text = text[: end + 1]  # the headers end at the first blank line: the description is not split into lines
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t" and out:
            key, value = out[-1]
            out[-1] = (key, value + "\n" + line.strip())
            continue
        key, sep, value = line.partition(":")
        if sep:
            out.append((key.strip(), value.strip()))
    return out


def egg_requires(text: str) -> list[str]:
    """An egg-info's ``requires.txt`` as the ``Requires-Dist`` lines ``importlib.metadata`` gives for it: each
    line of a section ``[extra]``, ``[:marker]`` or ``[extra:marker]`` gets that section's condition
    (``pytest; extra == "test"``, ``pywin32; (sys_platform == "win32") and extra == "win"``)."""
    out = []
    extra = marker = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, marker = line.strip("[]").partition(":")
            continue
        conditions = []
        if marker:
            conditions.append("(%s)" % marker if extra else marker)
        if extra:
            conditions.append('extra == "%s"' % extra)
        if conditions:
            # A URL requirement needs a space before its ``;`` (PEP 508), as importlib.metadata writes it.
            line += "%s; %s" % (" " if "@" in line else "", " and ".join(conditions))
        out.append(line)
    return out


def _abi_tag() -> str:
    impl = sys.implementation.name
    if impl == "cpython":
        # "m" on 3.7 (pymalloc), "t" free-threaded, "d" debug: the flags wheel ABI tags carry.
        return "cp%d%d%s" % (sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", ""))
    soabi = sysconfig.get_config_var("SOABI") or ""
    return soabi.replace("-", "_").replace(".", "_")


def _env_kind() -> str:
    if os.path.isdir(os.path.join(sys.prefix, "conda-meta")):
        return "conda"
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        return "venv"
    return "system"


def _schemes() -> list[dict[str, str]]:
    """sysconfig's install paths of this interpreter, and of its base interpreter where it is a venv (which one
    made with ``--system-site-packages`` sees)."""
    schemes = [sysconfig.get_paths()]
    base = getattr(sys, "base_prefix", sys.prefix)
    if base != sys.prefix:
        platbase = getattr(sys, "base_exec_prefix", base)
        schemes.append(
            sysconfig.get_paths(
                vars={"base": base, "platbase": platbase, "installed_base": base, "installed_platbase": platbase}
            )
        )
    return schemes


class _Layout:
    """Maps RECORD paths to location-independent names (``scripts/x``, ``data/share/x``)."""

    def __init__(self) -> None:
        self.roots: list[tuple[str, str]] = []
        # A venv that sees its base's site-packages (--system-site-packages): a distribution there lists its
        # scripts from the base's site-packages (``../../../bin/ipython``), which name the base's folders. Read
        # with the venv's alone, the same files gave another RECORD digest (pin then found no such wheel).
        for paths in _schemes():
            for key in ("scripts", "include", "data"):
                value = paths.get(key)
                if value:
                    root = (os.path.normcase(os.path.realpath(value)), key)
                    if root not in self.roots:
                        self.roots.append(root)
        self._longest_first()
        self._folders = {}  # type: dict[str, str]

    def _longest_first(self) -> None:
        # Longest root first so that "scripts" (inside "data") wins over "data".
        self.roots.sort(key=lambda item: -len(item[0]))

    def move(self, moved: _Moved) -> None:
        """The roots where the environment was moved to (``_Moved``), before any path is placed."""
        self.roots = [(moved.real(root), key) for root, key in self.roots]
        self._longest_first()

    def _realpath(self, path: str) -> str:
        """``os.path.realpath(path)`` with each folder resolved once: an environment's scripts share a few
        folders, and resolving a path lstat()s every one of its components (600 scripts were 7,500 lstat calls,
        a third of a 150-distribution probe)."""
        folder, name = os.path.split(path)
        if name in ("", ".", ".."):
            return os.path.realpath(path)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = os.path.realpath(folder)
        candidate = os.path.join(real_folder, name)
        return os.path.realpath(candidate) if os.path.islink(candidate) else candidate

    def place(self, site_dir: str, entry: str) -> str:
        if not entry.startswith(".."):
            return entry
        absolute = os.path.normcase(self._realpath(os.path.join(site_dir, entry)))
        for root, key in self.roots:
            if absolute.startswith(root + os.sep) and os.sep == "/":
                # Both are real paths (normalised): what follows the root is ``relpath``'s answer, without its
                # two ``abspath`` calls and component lists (a third of the probe's time outside site-packages).
                return key + "/" + absolute[len(root) + 1 :]
            if absolute == root or absolute.startswith(root + os.sep):
                return key + "/" + os.path.relpath(absolute, root).replace(os.sep, "/")
        return entry


def _generated_script(path: str) -> bool:
    """True for a script whose shebang an installer wrote or rewrote to name its interpreter."""
    # Read with the os module's calls (no file objects: half the time for the 425 data files of a jupyterlab, on
    # a rebuild's verify after the installer), never waiting on what is not a regular file (a FIFO named in RECORD).
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # not inherited: os.open's own default
    except OSError:
        return False
    try:
        head = b""
        while len(head) < 256:
            chunk = os.read(fd, 256 - len(head))
            if not chunk:
                break
            head += chunk
    except OSError:
        return False
    finally:
        os.close(fd)
    if head.startswith(b"#!"):
        first = head.split(b"\n", 1)[0]
        return b"python" in first or first.strip() == b"#!/bin/sh"
    # A launcher such as uv's/pip's trampoline executables on Windows; console-script exes.
    return head.startswith(b"MZ")


def _seed_marker(dist_name: str) -> str:
    """The file virtualenv puts beside each distribution it seeds (``pip-26.0.1.virtualenv`` for
    ``pip-26.0.1.dist-info``) and lists in its RECORD: the installer's, not the wheel's."""
    return dist_name.rsplit(".", 1)[0] + ".virtualenv"


def _record_rows(lines: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    for line in lines:
        if not line:
            continue
        if '"' in line:  # a quoted path (it holds a comma): the rare case the csv module is needed for
            import csv

            for row in csv.reader([line]):
                row = [*row, "", ""][:3]
                yield row[0], row[1], row[2]
            continue
        path, _, rest = line.rpartition(",")
        path, _, digest = path.rpartition(",")
        yield path, digest, rest


def _base64_record(record_text: str) -> str:
    """``record_text`` with each row's hex sha256 (``_HEX_SHA256_ROW``: Debian's ``python3-*`` RECORDs) written as
    the wheel spec writes it, urlsafe base64 unpadded, so that the digest of Debian's install of a wheel's files is
    the wheel's (``record_digest``). A RECORD without one is returned as it is, read by one search."""
    if _HEX_SHA256_ROW.search(record_text) is None:
        return record_text
    import base64  # only a Debian RECORD is rewritten

    def as_base64(match: Any) -> str:
        raw = bytes.fromhex(match.group(1))
        return ",sha256=%s," % base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    return _HEX_SHA256_ROW.sub(as_base64, record_text)


def _split_record(record_text: str, dist_name: str) -> tuple[list[str], list[str]]:
    """RECORD's lines in two lists: those ``_digest`` would keep as they are (most), and the rest, in order.

    A line is kept as it is when it has at least two commas and does not start with one (its entry is then not
    empty and the line is ``entry,hash,size`` again), holds no quote (csv), backslash, ``__pycache__``, ``.so``
    (a shared object), ``.pyc,``, ``.pyo,`` or ``.pyd,`` (the entry's end is followed by its comma), and starts
    neither with ``..`` (outside site-packages) nor with the ``.dist-info`` folder's name (the installer's
    files). Every test is on the whole line, so a line that fails one only takes the slow road: the split decides
    nothing ``_digest`` would decide otherwise, and saves its per-row work on some 40,000 rows of a
    150-distribution environment (two thirds of the probe's time)."""
    skip = (",", "..", dist_name + "/", _seed_marker(dist_name))
    plain = []
    rest = []
    for line in record_text.splitlines():
        if (
            line.count(",") >= 2
            and not line.startswith(skip)
            and '"' not in line
            and "\\" not in line
            and "__pycache__" not in line
            and ".so" not in line
            and ".pyc," not in line
            and ".pyo," not in line
            and ".pyd," not in line
        ):
            plain.append(line)
        elif line:
            rest.append(line)
    return plain, rest


def _digest(
    rows: Iterable[tuple[str, str, str]],
    dist_name: str,
    outside_prefix: str,
    place: Callable[[str], tuple[str, bool]],
    generated: Callable[[str], bool],
    console_scripts: set[str],
    kept: list[tuple[str, str]] | None = None,
    plain: list[str] | None = None,
) -> tuple[str, list[str]]:
    """The RECORD digest over ``rows`` of (entry, hash, size), and the entries that are shared objects.
    ``kept``, when given, receives the (entry, hash) of every entry the digest covers. ``plain``: lines the
    digest covers as they are (``_split_record``), besides ``rows``.

    Entries starting with ``outside_prefix`` may land outside site-packages: ``place(entry)`` names them
    location-independently and says whether they do. ``generated(entry)`` says whether a script's shebang
    names the interpreter (an installer wrote or rewrote it).
    """
    installer_files = set(dist_name + "/" + name for name in _INSTALLER_FILES)
    installer_files.add(_seed_marker(dist_name))
    lines = plain if plain is not None else []
    shared = []
    for entry, digest, size in rows:
        if not entry:
            continue
        if "\\" in entry:
            entry = entry.replace("\\", "/")
        if "__pycache__" in entry or entry.endswith((".pyc", ".pyo")) or entry in installer_files:
            continue
        name = entry
        if entry.startswith(outside_prefix):
            name, outside = place(entry)
            if outside:
                # Outside site-packages: scripts an installer generated or rewrote for its interpreter differ
                # between installs, whichever scheme put them there.
                script = entry.rsplit("/", 1)[-1]
                stem = script[:-4] if script.endswith(".exe") else script
                if stem in console_scripts or generated(entry):
                    continue
        lines.append("%s,%s,%s" % (name, digest, size))
        if kept is not None:
            kept.append((entry, digest))
        if (".so" in entry and _SO_RE.search(entry)) or entry.endswith(".pyd"):
            shared.append(entry)
    lines.sort()
    blob = "\n".join(lines).encode("utf-8")
    return "sha256:" + hashlib.sha256(blob).hexdigest(), shared


def _record_entries(
    site_dir: str,
    dist_dir: str,
    record_text: str,
    layout: _Layout,
    console_scripts: set[str],
    kept: list[tuple[str, str]] | None = None,
    examined: list[str] | None = None,
    verdicts: dict[str, bool] | None = None,
    decided: dict[str, bool] | None = None,
) -> tuple[str, list[str]]:
    """Digest of the RECORD entries for the files the wheel itself carries, plus the shared objects' entries.
    ``examined``, when given, receives the path of every script whose first line was read; ``verdicts`` whether
    each was taken for one an installer wrote (all the digest takes of it). ``decided``: those verdicts taken
    already (``_outside_rows``), by path: such a script is not read again.

    Installers write or rewrite some files (INSTALLER, REQUESTED, direct_url.json, RECORD, uv's cache
    markers, virtualenv's seed marker, console scripts, shebangs naming the interpreter, byte code): they are left
    out, and paths outside site-packages are named by their scheme key (``scripts/x``, ``data/share/x``), so one
    wheel installed by pip, uv or virtualenv, in any location, gives one digest. ``wheel_record_digest`` computes
    the same digest from the wheel file itself.
    """

    def generated(entry: str) -> bool:
        path = os.path.join(site_dir, entry)
        if decided is not None and path in decided:
            return decided[path]
        if examined is not None:
            examined.append(path)
        verdict = _generated_script(path)
        if verdicts is not None:
            verdicts[path] = verdict
        return verdict

    dist_name = os.path.basename(dist_dir)
    record_text = _base64_record(record_text)
    if kept is None:
        plain, rest = _split_record(record_text, dist_name)
    else:  # every entry's hash is wanted: each row is looked at
        plain, rest = None, record_text.splitlines()
    digest, shared = _digest(
        _record_rows(rest),
        dist_name,
        "..",
        lambda entry: (layout.place(site_dir, entry), True),
        generated,
        console_scripts,
        kept,
        plain,
    )
    return digest, shared


def record_digest(
    site_dir: str,
    dist_dir: str,
    record_text: str,
    layout: _Layout,
    console_scripts: set[str],
    kept: list[tuple[str, str]] | None = None,
    examined: list[str] | None = None,
) -> tuple[str, list[str]]:
    """``_record_entries``, with the shared objects as paths."""
    digest, shared = _record_entries(site_dir, dist_dir, record_text, layout, console_scripts, kept, examined)
    return digest, _shared_paths(site_dir, shared)


def _shared_paths(site_dir: str, entries: list[str]) -> list[str]:
    """The shared objects' RECORD entries as paths."""
    return [os.path.normpath(os.path.join(site_dir, entry)) for entry in entries]


_HASH_POOL: list[Any] = []  # one thread pool for every distribution's files, made on first use


def _hash_pool() -> Any:
    """Threads for ``verify --files``: hashlib releases the GIL while it hashes, so files hash on every core."""
    if not _HASH_POOL:
        from concurrent.futures import ThreadPoolExecutor

        _HASH_POOL.append(ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 2)))
    return _HASH_POOL[0]


def _file_state(site_dir: str, entry: str, expected: str | list[str]) -> str:
    """``ok``, ``modified`` or ``missing``: the file ``entry`` against its RECORD hash ``expected``, or the hashes
    of each RECORD that lists it (a list: it is ``ok`` as any one of them). Only a sha256 is checked, written as
    the wheel spec writes it (urlsafe base64, unpadded) or as Debian's dh_python rewrites a RECORD (hex: every
    ``python3-*`` package's ``/usr/lib/python3/dist-packages/*.dist-info/RECORD``)."""
    wanted: tuple[str, ...]
    if isinstance(expected, str):
        wanted = (expected[7:],) if expected.startswith("sha256=") and len(expected) > 7 else ()
    else:
        wanted = tuple(digest[7:] for digest in expected if digest.startswith("sha256=") and len(digest) > 7)
    if not wanted:
        return "ok"
    hasher = hashlib.sha256()
    try:
        with open(os.path.join(site_dir, entry), "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "modified"
    import base64  # only verify --files compares file hashes

    raw = hasher.digest()
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") in wanted or raw.hex() in wanted:
        return "ok"
    return "modified"


def _imported_name(name: str) -> bool:
    """Whether ``name``, in a site folder, is one a module is imported under (``alpha``, ``alpha.py``,
    ``alpha.libs``, ``_x.cpython-311-x86_64-linux-gnu.so``) or a ``.pth`` hook."""
    return name.partition(".")[0].isidentifier() or name.endswith(".pth")


def _never_installed(entry: str) -> bool:
    """Whether a RECORD row ``entry`` names a file below a build folder no installer puts in site-packages: Debian's
    python3-distro lists distutils' ``scripts-3.10/distro``, which is installed as ``/usr/bin/distro``. Neither
    its own ``.dist-info`` (or ``.egg-info``) nor a path outside the site folder is one."""
    top, sep, _rest = entry.partition("/")
    return bool(sep) and top not in ("", ".", "..") and not top.endswith(("-info", ".data")) and not _imported_name(top)


def changed_files(dists: list[tuple[str, list[tuple[str, str]]]]) -> list[dict[str, list[str]]]:
    """For each distribution (its site folder, and the (entry, hash) of the RECORD rows its digest covers), the
    files on disk that differ from what its RECORD says of them: ``modified`` (another sha256) and ``missing``.

    A path several RECORDs of one site folder list (opencv-python and opencv-contrib-python both ship ``cv2/``;
    the later install's copy overwrote the earlier one's) is right when it is any one owner's copy, as
    ``conda.changed_files`` judges a path several conda records list; when it is none, each owner lists it, and
    ``verify`` says it once naming them all. Each path is hashed once, in parallel, so it is only done when asked
    for (``verify --files``). The tables are built by dict updates, not row by row (docs/design.md)."""
    tables: dict[str, dict[str, Any]] = {}  # site folder -> entry -> its hash (a list: the hashes of its owners)
    rows = 0
    for site_dir, kept in dists:
        tables.setdefault(site_dir, {}).update(kept)
        rows += len(kept)
    if sum(len(table) for table in tables.values()) < rows:  # a path listed twice: every hash given for it
        tables = {}
        for site_dir, kept in dists:
            table = tables.setdefault(site_dir, {})
            for entry, digest in kept:
                table.setdefault(entry, []).append(digest)
    wrong: dict[str, dict[str, str]] = {}
    for site_dir, table in tables.items():
        states = _hash_pool().map(lambda item, site=site_dir: _file_state(site, item[0], item[1]), table.items())
        found = {entry: state for entry, state in zip(table, states) if state != "ok"}
        if found:
            wrong[site_dir] = found
    out = []
    for site_dir, kept in dists:
        lists: dict[str, list[str]] = {"modified": [], "missing": []}
        here = wrong.get(site_dir)
        if here:
            for entry in dict.fromkeys(entry for entry, _digest in kept):
                if entry in here and not (here[entry] == "missing" and _never_installed(entry)):
                    lists[here[entry]].append(entry)
        out.append({"modified": sorted(lists["modified"]), "missing": sorted(lists["missing"])})
    return out


# Wheel ``<name>.data/<key>/`` folders and the names ``_Layout.place`` gives the same files once installed.
_WHEEL_DATA_KEYS = {"purelib": "", "platlib": "", "scripts": "scripts/", "data": "data/", "headers": "headers/"}


def wheel_record_digest(wheel_path: str) -> str:
    """The RECORD digest (as ``record_digest`` computes it for the installed files) of a wheel file."""
    import zipfile

    with zipfile.ZipFile(wheel_path) as archive:
        names = archive.namelist()
        records = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/RECORD")]
        if len(records) != 1:
            raise ValueError("%s: expected one .dist-info/RECORD, found %d" % (wheel_path, len(records)))
        dist_name = records[0].split("/", 1)[0]
        data_dir = dist_name[: -len(".dist-info")] + ".data/"
        record_text = _base64_record(archive.read(records[0]).decode("utf-8", "replace"))
        console_scripts: set[str] = set()
        entry_points = dist_name + "/entry_points.txt"
        if entry_points in names:
            console_scripts = _parse_console_scripts(archive.read(entry_points).decode("utf-8", "replace"))

        def place(entry: str) -> tuple[str, bool]:
            key, _, rest = entry[len(data_dir) :].partition("/")
            prefix = _WHEEL_DATA_KEYS.get(key, key + "/")
            return prefix + rest, bool(prefix)

        def generated(entry: str) -> bool:
            try:
                with archive.open(entry) as handle:
                    head = handle.read(256)
            except KeyError:
                return False
            if head.startswith(b"#!"):
                first = head.split(b"\n", 1)[0]
                return b"python" in first or first.strip() == b"#!/bin/sh"
            return head.startswith(b"MZ")

        digest, _ = _digest(
            _record_rows(record_text.splitlines()), dist_name, data_dir, place, generated, console_scripts
        )
    return digest


def _parse_console_scripts(text: str) -> set[str]:
    names: set[str] = set()
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif "=" in line and section in ("console_scripts", "gui_scripts"):
            names.add(line.split("=", 1)[0].strip())
    return names


def _console_scripts(dist_dir: str) -> set[str]:
    path = os.path.join(dist_dir, "entry_points.txt")
    if not os.path.isfile(path):
        return set()
    return _parse_console_scripts(_read_text(path))


def _top_names(record_text: str, dist_name: str) -> list[str]:
    """The names in site-packages that a distribution's RECORD lists files under (``alpha`` for ``alpha/x.py``,
    ``alpha.py``, ``alpha.libs``), sorted: its own ``.dist-info`` folder, byte code (``__pycache__``), anything
    outside site-packages (``..``, an absolute path) and an installer's seed marker left out, and so is a quoted
    entry (it holds a comma) or one with a backslash. ``_files_gone`` looks for each: a stat each, where a
    distribution's full check (``--files``) hashes every file. Each line's text up to its first ``/``, then up to its
    first comma: 4 ms for the 25,000 rows of a 149-distribution venv, where a regular expression over the text took
    14 (it tries every character for a line start)."""
    firsts = {line.partition("/")[0] for line in record_text.split("\n")}
    names = {first.partition(",")[0] for first in firsts}
    skip = {"", ".", "..", "__pycache__", dist_name, _seed_marker(dist_name)}
    return sorted(n for n in names - skip if '"' not in n and "\\" not in n and "\r" not in n)


def _files_gone(packages: list[dict[str, Any]], site_folders: Callable[[], Sequence[str]] = tuple) -> None:
    """Each distribution's top-level names (``tops``, from ``_dist_info``) looked for in its site folder, one stat
    each, and taken out of the answer; where some are not there, ``missing_top_level`` names them and
    ``top_level_listed`` says how many its RECORD (or ``installed-files.txt``) lists (all gone: nothing of it
    imports). ``rm -rf`` of a package, or a ``pip uninstall`` stopped before its ``.dist-info`` was removed, leaves
    that folder as it was: its RECORD (and so its digest) is unchanged. An egg-info listing no file has its
    ``top_level.txt``'s module names (``modules``) instead, said gone only when all of them are: looked for in its
    own folder, then in the interpreter's other site folders (``site_folders()``, ``_site_folders``: a Fedora
    ``setup.py install`` puts the egg-info in purelib, ``lib/``, and an extension module in platlib, ``lib64/``),
    asked for only then, and once: sysconfig's and site's folders are no cost of a probe where nothing is gone."""
    others = None  # type: Sequence[str] | None
    for info in packages:
        tops = info.pop("tops", None)
        modules = info.pop("modules", None)
        names = tops or modules
        if not names:
            continue
        folder = os.path.join(info["site_dir"], "")
        # A name in the site folder itself, whatever a cache file held: never a path elsewhere. Only one a module is
        # imported under (``alpha``, ``alpha.py``, ``alpha.libs``, ``_x.cpython-311-x86_64-linux-gnu.so``) or a
        # ``.pth`` hook: Debian's python3-distro lists distutils' build folder ``scripts-3.10/``, never installed.
        names = [name for name in names if "/" not in name and os.sep not in name and _imported_name(name)]
        missing = [name for name in names if not os.path.exists(folder + name)]
        if not tops:
            # Module names: a package folder or a module file (``six.py``, an extension ``_x.cpython-311-...so``).
            # top_level.txt may name one never installed (another platform's): only all of them gone says so.
            missing = [name for name in missing if not _module_there(folder, name)]
            if missing and others is None:
                others = site_folders()
            own = os.path.join(os.path.realpath(folder), "") if missing else ""
            for other in (f for f in others or () if f != own) if missing else ():
                missing = [n for n in missing if not os.path.exists(other + n) and not _module_there(other, n)]
            if len(missing) < len(names):
                continue
        if missing:
            info["missing_top_level"] = missing
            info["top_level_listed"] = len(names)


def _site_folders(path_entries: list[str], script_dir: str, moved: _Moved) -> list[str]:
    """The interpreter's site folders on its sys.path, resolved, each ending in a separator: sysconfig's purelib
    and platlib (a venv's base's too, which one made with ``--system-site-packages`` sees), ``site``'s own list
    (Debian's ``dist-packages``) and the user's site-packages. Not every sys.path entry: a folder of the standard
    library or a project's ``src`` may hold a module of a legacy egg-info's name that is not its."""
    import site

    known = [paths.get(key) or "" for paths in _schemes() for key in ("purelib", "platlib")]
    for name in ("getsitepackages", "getusersitepackages"):
        try:  # virtualenv before 20 replaced site.py with one that has neither
            found = getattr(site, name)()
        except Exception:
            continue
        known += [found] if isinstance(found, str) else list(found)
    on_path = {os.path.realpath(entry) for entry in _scan_path(path_entries, script_dir)}
    out = []  # type: list[str]
    for folder in known:
        real = os.path.realpath(moved.path(folder)) if folder else ""
        if real in on_path and os.path.join(real, "") not in out:
            out.append(os.path.join(real, ""))
    return out


def _mark_base_site(packages: list[dict[str, Any]]) -> None:
    """``base_site`` on each distribution a venv made with ``--system-site-packages`` finds in its base interpreter's
    folders (below ``sys.base_prefix`` and not below ``sys.prefix``), not its own: the lock tells them apart."""
    base = getattr(sys, "base_prefix", sys.prefix)
    if base == sys.prefix or _env_kind() != "venv":
        return
    own, base = os.path.join(os.path.realpath(sys.prefix), ""), os.path.join(os.path.realpath(base), "")
    in_base: dict[str, bool] = {}  # each site folder resolved once: a venv's packages share one or two
    for info in packages:
        folder = info["site_dir"]
        if folder not in in_base:
            site = os.path.join(os.path.realpath(folder), "")
            in_base[folder] = site.startswith(base) and not site.startswith(own)
        if in_base[folder]:
            info["base_site"] = True


def _module_there(folder: str, name: str) -> bool:
    """Whether the site folder ``folder`` (ending in a separator) holds a module ``name`` as a file: ``name.py``,
    else any ``name.*`` that is not metadata (byte code, an extension module). One stat, a listing where it is
    not a ``.py``."""
    if os.path.exists(folder + name + ".py"):
        return True
    try:
        entries = os.listdir(folder)
    except OSError:
        return False
    metadata = (".dist-info", ".egg-info", ".egg-link", ".pth")
    return any(e.startswith(name + ".") and not e.endswith(metadata) for e in entries)


def _record(
    site_dir: str,
    dist_dir: str,
    layout: _Layout,
    cache: _RecordCache | None,
    examined: list[str] | None = None,
    memo: _RecordMemo | None = None,
    verdicts: dict[str, bool] | None = None,
    read: tuple[list[int] | None, bytes] | None = None,
) -> tuple[str, list[str], list[str]]:
    """The RECORD digest, shared objects and top-level names (``_top_names``) of one distribution, from the cache
    when nothing they were computed from has changed, or from the memo when its bytes were digested before. Each
    file's stamp is taken before it is read: a change while it is read is seen next time. ``examined``, when given,
    receives the scripts whose first line was read. ``read``: the RECORD's stamp and bytes where the caller read it
    already (``_read_record``), which are not read again."""
    record = os.path.join(dist_dir, "RECORD")
    stamp = (file_stamp(record) if read is None else read[0]) if cache is not None else None
    if cache is not None:
        found = cache.lookup(record, stamp)
        if found is not None:
            return found
    entry_points = os.path.join(dist_dir, "entry_points.txt")
    deps = [[entry_points, file_stamp(entry_points)]] if cache is not None else []
    examined = [] if examined is None else examined
    if read is not None:
        data = read[1]
    else:
        with open(record, "rb") as handle:
            data = handle.read()
    decided: dict[str, bool] | None = None
    scripts: set[str] | None = None
    key = None
    if memo is not None:
        outside = None
        if b".." in data:
            scripts = _console_scripts(dist_dir)
            decided = {}
            outside = _outside_rows(data, site_dir, os.path.basename(dist_dir), layout, scripts, examined, decided)
            if verdicts is not None:
                verdicts.update(decided)
        key = memo.key(data, os.path.basename(dist_dir), outside)
    remembered = memo.lookup(key) if memo is not None and key is not None else None
    if remembered is not None:
        digest, entries, tops = remembered
    else:
        text = data.decode("utf-8", "replace")
        digest, entries = _record_entries(
            site_dir,
            dist_dir,
            text,
            layout,
            _console_scripts(dist_dir) if scripts is None else scripts,
            None,
            examined,
            verdicts,
            decided,
        )
        tops = _top_names(text, os.path.basename(dist_dir))
        if memo is not None and key is not None:
            memo.store(key, digest, entries, tops)
    shared = _shared_paths(site_dir, entries)
    if cache is not None:
        # A script read after the stamps above may have changed since: stamped now, before any later read.
        deps += [[path, file_stamp(path)] for path in examined]
        cache.store(record, stamp, digest, shared, deps, tops)
    return digest, shared, tops


def _outside_rows(
    data: bytes,
    site_dir: str,
    dist_name: str,
    layout: _Layout,
    console_scripts: set[str],
    examined: list[str],
    decided: dict[str, bool],
) -> list[list[Any]] | None:
    """What a RECORD's digest takes of the files it names outside site-packages, each row's entry with the name
    it is digested under (``_Layout.place``) and whether it counts (not a console script of ``entry_points.txt``
    nor a script an installer wrote), decided as ``_digest`` decides them, with the same reads (``examined``
    receives each script whose first line was read, ``decided`` its verdict): with the RECORD's bytes and folder
    name, all its digest, shared objects and top-level names follow from, so they key the memo (``_RecordMemo``).
    None for a RECORD whose rows need more than a split at ``\\n`` to find those that start with ``..`` (bytes
    outside ASCII, a quote, a backslash, a carriage return or another line break ``splitlines`` knows): it is
    read in full, as before."""
    if not data.isascii() or any(c in data for c in (b'"', b"\\", b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")):
        return None
    text = data.decode("ascii")
    lines = [text[: text.find("\n")] if "\n" in text else text] if text.startswith("..") else []
    start = text.find("\n..")
    while start != -1:
        end = text.find("\n", start + 1)
        lines.append(text[start + 1 : end if end != -1 else len(text)])
        start = text.find("\n..", start + 1)
    installer_files = {dist_name + "/" + name for name in _INSTALLER_FILES} | {_seed_marker(dist_name)}
    rows: list[list[Any]] = []
    for entry, _digest_value, _size in _record_rows(lines):
        if not entry or "__pycache__" in entry or entry.endswith((".pyc", ".pyo")) or entry in installer_files:
            continue
        name = layout.place(site_dir, entry)
        script = entry.rsplit("/", 1)[-1]
        stem = script[:-4] if script.endswith(".exe") else script
        if stem in console_scripts:
            counted = False
        else:
            path = os.path.join(site_dir, entry)
            examined.append(path)
            verdict = decided[path] = _generated_script(path)
            counted = not verdict
        rows.append([entry, name, counted])
    return rows


def _dist_info(
    site_dir: str,
    entry: str,
    layout: _Layout,
    check_files: bool = False,
    cache: _RecordCache | None = None,
    examined: list[str] | None = None,
    memo: _RecordMemo | None = None,
    verdicts: dict[str, bool] | None = None,
) -> dict[str, Any]:
    dist_dir = os.path.join(site_dir, entry)
    egg = entry.endswith(".egg-info") or entry == "EGG-INFO"
    zipped: dict[str, str] | None = None
    native: list[str] = []
    if entry == "EGG-INFO" and not os.path.isdir(site_dir):
        zipped = _zipped_egg_info(site_dir, native)
        text = zipped["PKG-INFO"]
        files: list[str] = sorted(zipped)
    elif egg and not os.path.isdir(dist_dir):
        text = _read_text(dist_dir)  # a single-file PKG-INFO style egg-info
        files = []
    else:
        files = os.listdir(dist_dir)
        meta_name = "PKG-INFO" if egg else "METADATA"
        if meta_name not in files:
            raise ValueError("no %s file" % meta_name)
        text = _read_head(os.path.join(dist_dir, meta_name))
    headers = _headers(text)
    fields: dict[str, str] = {}
    requires = []
    for key, value in headers:
        lower = key.lower()
        if lower == "requires-dist":
            requires.append(value)
        elif lower not in fields:
            fields[lower] = value
    name = fields.get("name", "")
    version = fields.get("version", "")
    if not name or not version:
        raise ValueError("METADATA has no Name or Version")
    if egg and not requires and "requires.txt" in files:
        # setuptools writes an egg-info's requirements there, not in PKG-INFO (importlib.metadata reads both)
        if zipped is not None:
            requires = egg_requires(zipped["requires.txt"])
        else:
            requires = egg_requires(_read_text(os.path.join(dist_dir, "requires.txt")))
    info: dict[str, Any] = {
        "name": canonical_name(name),
        "metadata_name": name,
        "version": version,
        "requires_dist": sorted(set(requires)),
        "requires_python": fields.get("requires-python", ""),
        "installer": "",
        "requested": "REQUESTED" in files,
        "wheel_tags": [],
        "direct_url": None,
        "record_digest": "",
        "shared_objects": [],
        "site_dir": site_dir,
        "dist_dir": dist_dir,
        "format": "egg-info" if egg else "dist-info",
    }
    if native:
        # Its compiled modules, which the interpreter cannot load from the zip (pkg_resources unpacks them into the
        # egg cache when imported): no RECORD names them, nothing rebuilds the egg as it is (the parent says so).
        info["zipped_native"] = native
    if "INSTALLER" in files:
        info["installer"] = _read_text(os.path.join(dist_dir, "INSTALLER")).strip()
    if "WHEEL" in files:
        tags = []
        for key, value in _headers(_read_text(os.path.join(dist_dir, "WHEEL"))):
            if key.lower() == "tag":
                tags.append(value)
        info["wheel_tags"] = sorted(set(tags))
    # RECORD, where the direct_url.json is judged by it: read once, and its digest below taken from the same bytes.
    record_read: tuple[list[int] | None, bytes] | None = None
    if "direct_url.json" in files:
        try:
            info["direct_url"] = _small_json(os.path.join(dist_dir, "direct_url.json"))
        except ValueError as exc:
            info["warning"] = "direct_url.json is %s" % exc
        if info["direct_url"] is not None and "RECORD" in files:
            record_read = _read_record(dist_dir, cache is not None)
        if record_read is not None and _shipped_by_wheel(dist_dir, info["direct_url"], record_read[1]):
            info["direct_url"] = None  # an install by name, as without it
            info["warning"] = "its direct_url.json came with the wheel, not from the installer: not taken as its source"
    if "envsnap_bundle.json" in files and "direct_url.json" not in files:
        try:  # noqa: SIM105 (contextlib is one import more for every probe)
            info["bundle_wheel"] = _small_json(os.path.join(dist_dir, "envsnap_bundle.json"))
        except ValueError:
            pass  # not envsnap's: an index install, as without it
    if "RECORD" in files and check_files:
        kept: list[tuple[str, str]] = []
        if record_read is not None:
            record_text = record_read[1].decode("utf-8", "replace")
        else:
            record_text = _read_text(os.path.join(dist_dir, "RECORD"))
        digest, shared = record_digest(site_dir, dist_dir, record_text, layout, _console_scripts(dist_dir), kept)
        info["tops"] = _top_names(record_text, entry)
        info["kept"] = kept  # judged with every distribution's (``changed_files``): replaced by its findings
        if _env_kind() == "conda":
            # Every row's sha256, for the conda check of the paths a conda record lists too (``conda.pip_files``),
            # so that envsnap's process need not read this RECORD again; only there (elsewhere nothing reads them,
            # and a large environment's rows would be megabytes of answer).
            info["record_hashes"] = [
                [entry, row_digest]
                for entry, row_digest, _size in _record_rows(record_text.splitlines())
                if entry and row_digest.startswith("sha256=")
            ]
        info["record_digest"] = digest
        info["shared_objects"] = shared
    elif "RECORD" in files:
        digest, shared, tops = _record(site_dir, dist_dir, layout, cache, examined, memo, verdicts, record_read)
        info["record_digest"] = digest
        info["shared_objects"] = shared
        info["tops"] = tops
    elif "installed-files.txt" in files:
        # pip's legacy (``setup.py install``) list of what it installed, relative to the .egg-info folder: its
        # top-level names are looked for as a RECORD's are (``_files_gone``).
        lines = [line.strip() for line in _read_text(os.path.join(dist_dir, "installed-files.txt")).splitlines()]
        for line in lines:
            if _SO_RE.search(line):
                info["shared_objects"].append(os.path.normpath(os.path.join(dist_dir, line)))
        info["tops"] = _installed_tops(lines, entry)
    elif zipped is None:
        # No list of its files (a Debian python3-* package's egg-info): the parent looks for its shared objects in
        # the files of the system package that owns it, under these names (``PackageDatabase.module_shared_objects``).
        listed = _top_level_txt(dist_dir, files)
        info["top_level"] = listed or [name.split(".", 1)[0].replace("-", "_")]
        if egg and listed:
            # setuptools' own egg-info (SOURCES.txt names the project's sources, not what was installed): the
            # modules its top_level.txt names, looked for as modules (``_files_gone``).
            info["modules"] = listed
    return info


def _read_record(dist_dir: str, stamped: bool) -> tuple[list[int] | None, bytes] | None:
    """The RECORD of ``dist_dir``: its stamp (``stamped``: taken before it is read, as ``_record``'s cache wants it)
    and its bytes; None when it cannot be read (whoever reads it next says so)."""
    path = os.path.join(dist_dir, "RECORD")
    stamp = file_stamp(path) if stamped else None
    try:
        with open(path, "rb") as handle:
            return stamp, handle.read()
    except OSError:
        return None


def _shipped_by_wheel(dist_dir: str, direct_url: Any, record: bytes) -> bool:
    """Whether the ``direct_url.json`` of ``dist_dir`` is the wheel's own file, not the installer's record of where it
    installed from (docs/design.md, "Whose direct_url.json"). pip and uv write theirs after unpacking the wheel and
    list it in RECORD; over one the wheel ships, they write theirs and RECORD lists the file twice. Listed once, it
    is either, and the wheel decides where it is at hand: uv links the wheel's files from its cache and writes its
    own files anew, so a direct_url.json linked elsewhere while INSTALLER is not is the cached wheel's; and a wheel
    file the claim itself names (pip installing by name a wheel whose file says "installed from me") that ships one
    in its own RECORD is the claim's source. Anything unreadable leaves the file taken, as before. ``record``: the
    bytes of its RECORD, as ``_dist_info`` read them once."""
    entry = os.path.basename(dist_dir)
    text = record.decode("utf-8", "replace")
    listed = sum(1 for row in _record_rows(text.splitlines()) if row[0] == entry + "/direct_url.json")
    if listed != 1:
        return False  # none: no wheel install's; two or more: the installer wrote its own over the wheel's
    try:
        linked = os.stat(os.path.join(dist_dir, "direct_url.json")).st_nlink > 1
        linked = linked and os.stat(os.path.join(dist_dir, "INSTALLER")).st_nlink == 1
    except OSError:
        linked = False
    if linked:
        return True
    url = direct_url.get("url") if isinstance(direct_url, dict) else None
    if not (isinstance(url, str) and url.startswith("file:") and url.split("#", 1)[0].endswith(".whl")):
        return False
    from urllib.parse import unquote, urlsplit

    wheel = unquote(urlsplit(url).path)
    if not os.path.isfile(wheel):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
    except Exception:  # not a readable zip: no wheel at hand
        return False
    return any(name.count("/") == 1 and name.endswith(".dist-info/direct_url.json") for name in names)


def _installed_tops(lines: list[str], entry: str) -> list[str]:
    """The names in site-packages an ``installed-files.txt`` (paths relative to the ``.egg-info`` folder ``entry``)
    lists files under, as ``_top_names`` gives them for a RECORD: the folder itself, byte code and anything outside
    site-packages left out."""
    names = set()
    for line in lines:
        if not line or os.path.isabs(line) or "\\" in line:
            continue
        first = os.path.normpath(os.path.join(entry, line)).split(os.sep, 1)[0]
        names.add(first)
    return sorted(names - {"", ".", "..", "__pycache__", entry})


def _top_level_txt(dist_dir: str, files: list[str]) -> list[str]:
    """The top-level modules and packages a distribution's ``top_level.txt`` names ([] where it has none)."""
    if "top_level.txt" not in files:
        return []
    names = [
        line.strip().replace("/", ".") for line in _read_text(os.path.join(dist_dir, "top_level.txt")).splitlines()
    ]
    return sorted(set(n.split(".", 1)[0] for n in names if n))


# The most read of an ``EGG-INFO`` file in a zipped egg: its metadata is a few kilobytes; a larger one is damaged.
_ZIPPED_MAX = 1 << 20


# The most compiled modules of a zipped egg named (``_zipped_egg_info``): a few name them all, a larger list is cut.
_ZIPPED_NATIVE_MAX = 20


def _zipped_egg_info(path: str, native: list[str] | None = None) -> dict[str, str]:
    """The ``PKG-INFO`` and ``requires.txt`` (where it has one) of the ``EGG-INFO`` of the zipped egg ``path``
    (easy_install's ``NAME-VER-pyX.Y.egg`` file, on sys.path through a ``.pth``: the interpreter imports from it),
    by name. Read-only, each at most ``_ZIPPED_MAX`` bytes; a damaged zip raises ``ValueError``. ``native`` gets
    the names of its compiled modules (``.so``, ``.pyd``; at most ``_ZIPPED_NATIVE_MAX``), from its listing."""
    import zipfile

    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            if native is not None:
                for name in archive.namelist():
                    if (_SO_RE.search(name) or name.endswith(".pyd")) and not name.endswith("/"):
                        native.append(name)
                        if len(native) >= _ZIPPED_NATIVE_MAX:
                            break
            for name in ("PKG-INFO", "requires.txt"):
                try:
                    member = archive.getinfo("EGG-INFO/" + name)
                except KeyError:
                    continue
                with archive.open(member) as handle:
                    data = handle.read(_ZIPPED_MAX + 1)
                if len(data) > _ZIPPED_MAX:
                    raise ValueError("EGG-INFO/%s is larger than %d bytes" % (name, _ZIPPED_MAX))
                out[name] = data.decode("utf-8", "replace")
    except ValueError:
        raise
    except Exception as exc:  # BadZipFile, a damaged member (zlib.error, EOFError), an unknown compression...
        raise ValueError("not a readable zipped egg (%s: %s)" % (type(exc).__name__, exc)) from None
    if "PKG-INFO" not in out:
        raise ValueError("the zipped egg has no EGG-INFO/PKG-INFO")
    return out


# A probe of fewer distributions reads them in one process (``_read_all``): the fork would cost more than it saves.
_SPLIT_AT = 24


def _read_one(
    item: tuple[str, str],
    layout: _Layout,
    check_files: bool,
    cache: _RecordCache | None,
    known: dict[str, Any] | None = None,
    memo: _RecordMemo | None = None,
) -> Any:
    """``(True, info)`` of one distribution's folder, or ``(False, why)`` when it cannot be read. ``known``: what
    was read of some folders before (``_ReadAhead``), taken where none of the files it was read from changed."""
    if known:
        seen = known.get(os.path.join(item[0], item[1]))
        if seen is not None and all(_unchanged(*entry) for entry in seen[0]):
            return True, seen[1]
    try:
        return True, _dist_info(item[0], item[1], layout, check_files, cache, memo=memo)
    except Exception as exc:
        return False, str(exc)


def _unchanged(path: str, stamp: list[int] | None, verdict: bool | None = None) -> bool:
    """Whether what was read of ``path`` stands: its stamp is the one it had; or, for a script of which only whether
    an installer wrote it was taken (``verdict``), it still is what it was taken for. The rebuild's move rewrites the
    shebang of such a script to name the new folder: its RECORD line (with RECORD's own hash, never the file's) is
    left out of the digest or kept in it by that answer alone, so the answer read again decides the same digest."""
    if file_stamp(path) == stamp:
        return True
    return verdict is not None and _generated_script(path) == verdict


def _may_split(count: int) -> bool:
    """Whether a second process may read half of ``count`` distributions: there is more than one core for it,
    ``fork`` exists, and no other thread runs here (a thread's locks are not safe to fork)."""
    if count < _SPLIT_AT or not hasattr(os, "fork"):
        return False
    try:
        cores = len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]  # not on every OS
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    threading = sys.modules.get("threading")
    return cores > 1 and (threading is None or threading.active_count() == 1)


def _halves(found: list[tuple[str, str]]) -> tuple[list[int], list[int]]:
    """The distributions' indexes in two lists of about equal RECORD sizes (most of the time goes to RECORDs)."""
    sizes = []
    for index, (site_dir, entry) in enumerate(found):
        try:
            size = os.stat(os.path.join(site_dir, entry, "RECORD")).st_size
        except OSError:
            size = 0
        sizes.append((size, index))
    sizes.sort(reverse=True)
    halves: tuple[list[int], list[int]] = ([], [])
    loads = [0, 0]
    for size, index in sizes:
        lighter = 0 if loads[0] <= loads[1] else 1
        halves[lighter].append(index)
        loads[lighter] += size + 4096  # a distribution's other files
    return halves


def _read_all(
    found: list[tuple[str, str]],
    layout: _Layout,
    check_files: bool,
    cache: _RecordCache | None,
    split: bool | None = None,
    known: dict[str, Any] | None = None,
    memo: _RecordMemo | None = None,
) -> list[Any]:
    """``_read_one`` of each of ``found``, in order. With ``split`` (by default where ``_may_split``), a forked
    copy of this process reads about half of them on another core while this one reads the rest, and sends back
    its answers and its RECORD cache entries (marshal: the same interpreter reads them); the answer is what one
    process reading them all gives. A copy that fails or sends nothing readable leaves its half to this process.
    Not with ``check_files``: its hashing runs on threads of its own."""
    if split is None:
        unread = sum(os.path.join(*item) not in known for item in found) if known else len(found)
        split = not check_files and _may_split(unread)
    if not split or len(found) < 2:
        return [_read_one(item, layout, check_files, cache, known, memo) for item in found]
    import marshal

    mine, theirs = _halves(found)
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: its answers down the pipe, and out without running anything of its parent's
        status = 1
        try:
            os.close(readable)
            answers = [(index, _read_one(found[index], layout, check_files, cache, known, memo)) for index in theirs]
            kept = (cache.new, cache.hits) if cache is not None else ({}, 0)
            blob = marshal.dumps((answers, kept[0], kept[1], memo.new if memo is not None else {}))
            with os.fdopen(writable, "wb") as pipe:
                pipe.write(blob)
            status = 0
        finally:
            os._exit(status)
    os.close(writable)
    read: list[Any] = [None] * len(found)
    for index in mine:
        read[index] = _read_one(found[index], layout, check_files, cache, known, memo)
    with os.fdopen(readable, "rb") as pipe:
        blob = pipe.read()
    _, status = os.waitpid(pid, 0)
    try:
        answers, new, hits, remembered = marshal.loads(blob) if status == 0 else ([], {}, 0, {})
    except (EOFError, ValueError, TypeError):
        answers, new, hits, remembered = [], {}, 0, {}
    for index, answer in answers:
        read[index] = answer
    if len(answers) == len(theirs):
        if cache is not None:
            cache.new.update(new)
            cache.hits += hits
        if memo is not None and isinstance(remembered, dict):
            memo.new.update(remembered)  # each entry's shape is checked where it is read
    for index in theirs:
        if read[index] is None:  # the copy failed: read here
            read[index] = _read_one(found[index], layout, check_files, cache, known, memo)
    return read


def _folder_name(site_dir: str, entry: str) -> str:
    """The distribution name a metadata folder's name gives (``alpha-2.0.dist-info``: ``alpha``; a zipped or
    folder egg's ``EGG-INFO``: the egg's, ``alpha-2.0-py3.11.egg``)."""
    if entry == "EGG-INFO":
        entry = os.path.basename(site_dir)
    return entry.split("-", 1)[0]


def _shadowed(path: str, info: dict[str, Any]) -> dict[str, str]:
    """The warning of a distribution at ``path`` that an earlier one of its name on sys.path shadows."""
    reason = "%s %s is shadowed by an earlier one on sys.path" % (info["name"], info["version"])
    return {"kind": "shadowed", "path": path, "reason": reason}


def _installed_at(info: dict[str, Any]) -> int:
    """When a distribution was installed: the mtime of its RECORD (an installer writes it last), else of its folder."""
    for path in (os.path.join(info["dist_dir"], "RECORD"), info["dist_dir"]):
        stamp = file_stamp(path)
        if stamp is not None:
            return stamp[1]
    return 0


def _egg_links(paths: list[str]) -> dict[tuple[str, str], str]:
    """The legacy editable installs (``setup.py develop``, pip's ``install -e`` of a setup.py-only project) the
    ``.egg-link`` files at ``paths`` name: ``(the real path of the folder holding the project's .egg-info, the
    distribution's canonical name)``: the project's folder (where setup.py is). An egg-link's first line is the
    folder holding the .egg-info (``src/`` in a src layout), its second the project's folder relative to it (pip
    reads the same file for ``pip list -e``). Unreadable ones are no editable install."""
    out: dict[tuple[str, str], str] = {}
    for path in paths:
        try:
            lines = [line.strip() for line in _read_text(path).splitlines()]
        except OSError:
            continue
        lines = [line for line in lines if line]
        if not lines:
            continue
        egg_base = os.path.normpath(os.path.join(os.path.dirname(path), lines[0]))
        project = os.path.normpath(os.path.join(egg_base, lines[1] if len(lines) > 1 else "."))
        name = canonical_name(os.path.basename(path)[: -len(".egg-link")])
        out.setdefault((os.path.realpath(egg_base), name), project)
    return out


def _scan_path(entries: list[str], script_dir: str) -> Iterator[str]:
    seen_dirs = set()
    for raw in entries:
        try:
            entry = raw or os.getcwd()
        except OSError:  # "" stands for a working directory that was removed: nothing to scan there
            continue
        real = os.path.realpath(entry)
        if real in seen_dirs or real == script_dir:
            continue
        if not os.path.isdir(real) and not (real.endswith(".egg") and os.path.isfile(real)):
            continue  # what the interpreter imports from: folders, and the zipped eggs a .pth names
        seen_dirs.add(real)
        yield entry


def _absolute(entries: list[str]) -> list[str]:
    """The sys.path entries looked in, absolute, whether or not they exist yet (the capture memo watches them:
    a folder that gets its first distribution changes the capture)."""
    out = []
    for entry in entries:
        try:
            out.append(os.path.abspath(entry or os.getcwd()))
        except OSError:
            continue
    return out


def _cache_meta(layout: _Layout) -> dict[str, Any]:
    """What a RECORD cache file must have been written for: this probe's code (a change to how digests are
    computed), this interpreter and its scheme's folders."""
    return {"probe": _code_digest(), "executable": sys.executable, "roots": [list(r) for r in layout.roots]}


def _code_digest() -> str:
    """sha256 of this probe's code: a cache of what it computed is for this code only."""
    with open(__file__, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def probe(
    path_entries: list[str] | None = None,
    check_files: bool = False,
    cache_path: str | None = None,
    split: bool | None = None,
    ready: Callable[[Callable[[], bool] | None], str | None] | None = None,
    memo_path: str | None = None,
) -> dict[str, Any]:
    """The environment as a JSON-ready dict; with ``check_files``, each distribution's files are also hashed
    and compared with its RECORD. ``cache_path``: the RECORD digests of the last capture (``read_cache``),
    reused where nothing they were computed from changed; when they changed, the answer's ``cache`` holds the
    file's new content for the caller to write (this probe writes nothing). ``split``: whether a second process
    reads half the distributions (``_read_all``; None: where it can help). ``ready``: called once this probe is set
    up, before it reads any distribution; it answers None when nothing is to be read (``NotTold``), or the folder
    this environment was moved to meanwhile ("" where it was not): the probe then reads it there, and answers
    with its paths there. ``memo_path``: the RECORD digests kept by content (``_RecordMemo``), read and answered
    as ``cache_path`` is (the answer's ``memo``)."""
    here = os.path.dirname(os.path.realpath(__file__))
    if path_entries is None:
        # sys.path[0] is the running script's folder (or the working directory), not the environment.
        path_entries = sys.path[1:]
    layout = _Layout()
    cache: _RecordCache | None = None
    meta: dict[str, Any] = {}
    if cache_path is not None and not check_files:
        meta = _cache_meta(layout)
        cache = _RecordCache(read_cache(cache_path, "records", meta))
    memo: _RecordMemo | None = None
    memo_meta: dict[str, Any] = {}
    if memo_path is not None and not check_files:
        memo_meta = {"probe": _code_digest()}
        memo = _RecordMemo(read_cache(memo_path, "record-memo", memo_meta))
    moved = _Moved(("", ""), "")
    known: dict[str, Any] | None = None
    if ready is not None:
        # A rebuild's staging folder, moved to its destination while this waited: the interpreter's own paths
        # still name the folder it started in.
        started_in = (sys.prefix, os.path.realpath(sys.prefix))
        ahead = _ReadAhead(list(_scan_path(path_entries, here)), layout, memo) if not check_files else None
        destination = ready(ahead.step if ahead is not None else None)
        if destination is None:
            raise NotTold()
        if destination:
            moved = _Moved(started_in, destination)
            path_entries = [moved.path(entry) for entry in path_entries]
            layout.move(moved)
        known = ahead.known_at(moved) if ahead is not None else None
    packages: list[dict[str, Any]] = []
    warnings: list[dict[str, str]] = []
    # Each distribution's name: the site folder and the index in ``packages`` of the one found first.
    first: dict[str, tuple[str, int]] = {}
    found: list[tuple[str, str]] = []
    egg_links: list[str] = []
    for site_dir in _scan_path(path_entries, here):
        try:
            names = sorted(os.listdir(site_dir))
        except NotADirectoryError:  # a zipped egg (``_scan_path``): its metadata is inside
            found.append((site_dir, "EGG-INFO"))
            continue
        except OSError:
            continue
        found += [(site_dir, entry) for entry in names if entry.endswith((".dist-info", ".egg-info"))]
        egg_links += [os.path.join(site_dir, entry) for entry in names if entry.endswith(".egg-link")]
        if site_dir.endswith(".egg") and "EGG-INFO" in names:
            # An egg folder on sys.path (easy_install, setup.py install, a .pth naming it) holds its own metadata.
            found.append((site_dir, "EGG-INFO"))
    read = _read_all(found, layout, check_files, cache, split, known, memo)
    developed = _egg_links(egg_links)
    broken: dict[str, str] = {}  # the name a broken one's folder gives: its site folder, the first
    for (site_dir, entry), (ok, info) in zip(found, read):
        if not ok:
            warnings.append({"kind": "broken-dist", "path": os.path.join(site_dir, entry), "reason": info})
            broken.setdefault(canonical_name(_folder_name(site_dir, entry)), site_dir)
            continue
        name = info["name"]
        folder, index = first.get(name, ("", -1))
        earlier = packages[index] if index >= 0 else None
        if earlier is None and broken.get(name, site_dir) != site_dir:
            # Behind a broken one earlier on sys.path, whose files are the ones imported: not the one installed.
            warnings.append(_shadowed(os.path.join(site_dir, entry), info))
            continue
        if info["format"] == "egg-info" and info["direct_url"] is None:
            project = developed.get((os.path.realpath(site_dir), name))
            if project is not None:
                info = dict(info, egg_link=project)
        if earlier is not None and folder == site_dir and earlier["version"] != info["version"]:
            # Two of one name in one folder: an upgrade or uninstall stopped before the old .dist-info was removed.
            # Imports read the files the last install wrote; the name's order said nothing of which that was.
            kept = info
            if _installed_at(earlier) > _installed_at(info):
                earlier, kept = info, earlier
            packages[index] = kept
            warnings.append(
                {
                    "kind": "duplicate",
                    "path": earlier["dist_dir"],
                    "reason": "%s %s and %s are both installed in this folder (an install or uninstall was "
                    "interrupted): the files are the last one's, %s"
                    % (name, earlier["version"], kept["version"], kept["version"]),
                }
            )
            continue
        if earlier is not None:
            # The same version again is no conflict: setuptools leaves a project's own PKG.egg-info beside its
            # code (src/), which an editable install puts on sys.path after the install's .dist-info; every capture
            # of such a project warned of it.
            if earlier["version"] != info["version"]:
                warnings.append(_shadowed(os.path.join(site_dir, entry), info))
            continue
        first[name] = (site_dir, len(packages))
        packages.append(info)
    _files_gone(packages, lambda: _site_folders(path_entries, here, moved))
    _mark_base_site(packages)
    if check_files:
        listing = [info for info in packages if "kept" in info]
        for info, changes in zip(listing, changed_files([(info["site_dir"], info.pop("kept")) for info in listing])):
            info["changed_files"] = changes
    paths = {k: moved.path(v) for k, v in sysconfig.get_paths().items()}
    return {
        "path_entries": _absolute(path_entries),
        "implementation": sys.implementation.name,
        "version": platform.python_version(),
        "abi": _abi_tag(),
        "soabi": sysconfig.get_config_var("SOABI") or "",
        "platform_tag": sysconfig.get_platform(),
        "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "kind": _env_kind(),
        "prefix": moved.path(sys.prefix),
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "executable": moved.path(sys.executable),
        "paths": {k: paths.get(k, "") for k in ("purelib", "platlib", "scripts", "data", "include")},
        "machine": platform.machine(),
        "packages": packages,
        "warnings": warnings,
        "cache": cache_document("records", meta, cache.new) if cache is not None and cache.changed() else None,
        "memo": cache_document("record-memo", memo_meta, memo.entries()) if memo and memo.changed() else None,
    }


def _work_until_told(work: Callable[[], bool]) -> None:
    """Call ``work`` until standard input has something to read (or ends); where it cannot be polled, not at all."""
    try:
        import select

        fd = sys.stdin.fileno()
        busy = False
        while not select.select([fd], [], [], 0 if busy else _READ_AHEAD_POLL_S)[0]:
            busy = work()
    except Exception:  # no select on this platform's pipes, no file descriptor: the probe waits as it did
        return


# How often the probe waiting for a rebuild's installer looks for the distributions it has finished, and how long
# before it was read a file must have been written last for what was read to be reused (the file system's timestamp
# granularity, with room: a later write then gives the file another stamp, as git's "racy" index rule has it).
_READ_AHEAD_POLL_S = 0.02
_SETTLED_NS = 20 * 10**6


class _ReadAhead:
    """The distributions an installer has finished in a rebuild's new environment, read while the probe waits to be
    told to read it (``_told_to_go``): the probe's read then takes each whose files are all as they were when it was
    read (``_read_one``), and reads only the rest.

    A distribution's folder is read once its ``INSTALLER`` file exists (an installer writes it among its last
    files), and kept only where the folder, every file in it and every script read had been written last at least
    ``_SETTLED_NS`` before it was read, on a file system that keeps sub-second times: a later change to any of them
    gives it another stamp (size, mtime, inode; a folder's mtime moves when a file is added, removed or renamed in
    it), as git's rule for "racy" index entries has it. Anything else is read after the installer, as before."""

    def __init__(self, sites: list[str], layout: _Layout, memo: _RecordMemo | None = None) -> None:
        self.sites = sites
        self.layout = layout
        self.memo = memo
        self.known: dict[str, Any] = {}  # a folder: [[path, stamp] of what it was read from], its answer
        self.queue: list[tuple[str, str]] = []
        self.scanned = 0.0
        self.interval = _READ_AHEAD_POLL_S

    def step(self) -> bool:
        """Read one finished distribution; whether another is waiting."""
        if not self.queue:
            now = time.monotonic()
            if now - self.scanned < self.interval:
                return False
            self.scanned = now
            self._scan()
            # A scan of thousands of distributions takes milliseconds: the waiting probe spends at most a fifth
            # of a core on its scans.
            self.interval = max(_READ_AHEAD_POLL_S, 4 * (time.monotonic() - now))
        if not self.queue:
            return False
        site_dir, name = self.queue.pop()
        try:  # noqa: SIM105 (contextlib is one import more for every probe)
            self._read(site_dir, name)
        except Exception:  # not readable as it is now: the probe's own read says what is wrong
            pass
        return bool(self.queue)

    def _scan(self) -> None:
        now = time.time_ns()
        for site_dir in self.sites:
            try:
                names = os.listdir(site_dir)
            except OSError:
                continue
            for name in names:
                folder = os.path.join(site_dir, name)
                finished = name.endswith(".dist-info") and folder not in self.known
                if finished and _settled(file_stamp(os.path.join(folder, "INSTALLER")), now):
                    self.queue.append((site_dir, name))

    def _read(self, site_dir: str, name: str) -> None:
        began = time.time_ns()
        folder = os.path.join(site_dir, name)
        paths = [folder] + [os.path.join(folder, entry) for entry in os.listdir(folder)]
        checks = [(path, file_stamp(path)) for path in paths]
        if not all(_settled(stamp, began) for _, stamp in checks):
            return  # looked at again at the next scan
        examined: list[str] = []
        verdicts: dict[str, bool] = {}
        info = _dist_info(site_dir, name, self.layout, examined=examined, memo=self.memo, verdicts=verdicts)
        # A script is kept with whether it was taken for one an installer wrote, all the digest took of it: the
        # rebuild's move rewrites such a script (its shebang names the new folder), and the read stands when it is
        # still what it was taken for (``_read_one``).
        scripts = [(path, file_stamp(path), verdicts[path]) for path in examined if path in verdicts]
        if len(scripts) == len(examined) and all(stamp is None or _settled(stamp, began) for _, stamp, _ in scripts):
            self.known[folder] = [checks + scripts, info]

    def known_at(self, moved: _Moved) -> dict[str, Any]:
        """What was read, with its paths where the environment is now."""
        out = {}
        for folder, (checks, info) in self.known.items():
            info = dict(info)
            info["site_dir"] = moved.path(info["site_dir"])
            info["dist_dir"] = moved.path(info["dist_dir"])
            info["shared_objects"] = [moved.path(path) for path in info["shared_objects"]]
            out[moved.path(folder)] = [[[moved.path(check[0]), *check[1:]] for check in checks], info]
        return out


def _settled(stamp: list[int] | None, read_ns: int) -> bool:
    """Whether a file of ``stamp`` was written last ``_SETTLED_NS`` before ``read_ns``, with sub-second times."""
    return stamp is not None and stamp[1] % 10**9 != 0 and stamp[1] < read_ns - _SETTLED_NS


class _Moved:
    """Paths of an environment moved, after its interpreter started, from the folder it started in (as given and
    as its real path) to ``destination``: the same path there."""

    def __init__(self, started_in: tuple[str, str], destination: str) -> None:
        self.given, self.real_given = started_in
        self.destination = destination
        self.real_destination = os.path.realpath(destination) if destination else ""

    def path(self, path: str) -> str:
        return self._swap(path, self.given, self.destination)

    def real(self, path: str) -> str:
        return self._swap(path, self.real_given, self.real_destination)

    @staticmethod
    def _swap(path: str, old: str, new: str) -> str:
        if old and (path == old or path.startswith(old + os.sep)):
            return new + path[len(old) :]
        return path


class NotTold(Exception):
    """The caller of a probe that waits ended without telling it to read the environment."""


def _told_to_go(work: Callable[[], bool] | None = None) -> str | None:
    """``--wait``: what the caller said on standard input, a JSON line ``{"go": DESTINATION}`` (the folder the
    environment was moved to, "" for none); None when it said nothing else (it closes it unsaid when it ends).
    A newline on standard output first tells the caller this interpreter has started and the probe is set up:
    its environment may be moved from then on (the answer, JSON, may start with a newline). ``work``: called
    while nothing is said yet (``_ReadAhead.step``), again at once while it answers that it has more to do."""
    sys.stdout.write("\n")
    sys.stdout.flush()
    if work is not None:
        _work_until_told(work)
    try:
        told = json.loads(sys.stdin.readline())
    except ValueError:
        return None
    go = told.get("go") if isinstance(told, dict) else None
    return go if isinstance(go, str) and (not go or os.path.isabs(go)) else None


def _main(argv: list[str]) -> dict[str, Any]:
    cache_path = argv[argv.index("--cache") + 1] if "--cache" in argv[:-1] else None
    memo_path = argv[argv.index("--memo") + 1] if "--memo" in argv[:-1] else None
    ready = _told_to_go if "--wait" in argv else None
    # --interpreter-only: the interpreter's facts, no sys.path entry scanned for distributions
    entries: list[str] | None = [] if "--interpreter-only" in argv else None
    return probe(entries, check_files="--files" in argv, cache_path=cache_path, ready=ready, memo_path=memo_path)


def run(argv: list[str]) -> None:
    """The probe's answer for the command line ``argv`` on stdout, as JSON (``_pyprobe_run.py`` calls it);
    with ``--wait``, once the caller says to on standard input (nothing, exit 3, when it does not)."""
    try:
        answer = _main(argv)
    except NotTold:
        sys.exit(3)
    sys.stdout.write(json.dumps(answer))
    sys.stdout.write("\n")


if __name__ == "__main__":
    run(sys.argv[1:])
