"""The parsed-lock cache: a lock that passed every check is kept, as the plain document its TOML parsed to, under
the sha256 of its exact text, so that the next load of the same text skips the TOML parse and the grammar checks.

``diff`` of two 5,000-distribution locks spent nearly all its time parsing and validating text it had validated
before (docs/design.md, "Diff and verify speed"). Only a text that loaded without error is kept, so the cache
never accepts what the checks refuse; the key also holds what decides a load's result besides the text: whether
the content digest was checked, envsnap's version and the state of the modules that hold the model and its rules
(an edited checkout never reads an entry an older grammar accepted).

A cache never changes a result and never fails a command: an entry that is missing, unreadable, damaged (its
checksum) or made for another key is a miss, and a write that fails is skipped. It lives in the user's cache folder
(``$XDG_CACHE_HOME/envsnap/locks``), created private (0700, entries 0600); a folder another user owns or may write
is not used (what it holds could claim that a stranger's lock passed). ``ENVSNAP_LOCK_CACHE=0`` turns it off, and
so does ``--no-cache`` (capture, check, verify: ``bypassed``). The newest ``MAX_ENTRIES`` entries are kept
(``_cachedir``).

Every entry is written with ``marshal`` behind a checksum (``_sealed``), which loads and writes several times
faster than JSON; its key holds the Python version (``marshal``'s format is the interpreter's). Beside the parsed
documents it keeps *views*: what one command derived from a checked lock in the plain tuples it compares
(``diff``'s package rows, ``compare/diff.py``); a view's key also holds the command's name and the state of the
modules its derivation follows.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from . import _cachedir, _readlimits
from ._defaults import LOCK_CACHE_BYPASSED, owned_privately, private_cache_dir
from ._defaults import LOCKS_CACHE as LOCKS_CACHE
from ._defaults import bypassed as bypassed
from ._sealed import seal, unseal
from ._version import __version__
from .errors import EnvsnapError

ENV = "ENVSNAP_LOCK_CACHE"
MAX_ENTRIES = 32
_SUFFIX = ".doc"
_VIEW_SUFFIX = ".view"
# The modules whose code decides whether a text loads and what it loads to (tests/security/test_lockcache.py: every
# module a load imports is here or in its list of those that decide nothing).
_DECIDING = (
    "lockfile.py",
    "model.py",
    "grammar.py",
    "fileurls.py",  # a {project} URL's path, which the grammar reads (``grammar.leaves_project``)
    "_control.py",
    "platforms.py",
    "_readlimits.py",
    "_toml.py",
    "_tomlfast.py",
    "_lockcache.py",
)


def enabled() -> bool:
    return not LOCK_CACHE_BYPASSED[0] and os.environ.get(ENV, "").strip() != "0"


@functools.cache
def _code_state() -> str:
    return "\n".join([__version__, _modules_state(_DECIDING)])


@functools.cache
def _modules_state(names: tuple[str, ...]) -> str:
    """The size and mtime of each module (a path below the package)."""
    here = Path(__file__).parent
    parts = []
    for name in names:
        try:
            info = os.stat(here / name)
        except OSError:
            parts.append(f"{name}:-")
            continue
        parts.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    return "\n".join(parts)


def key(text: str, *, check_digest: bool, view: str = "", deciding: tuple[str, ...] = ()) -> str:
    """The entry name of ``text`` loaded with or without its digest check, under this envsnap; with ``view``, of
    that view of it, derived by code in the ``deciding`` modules (paths below the package: ``compare/diff.py``)."""
    h = hashlib.sha256(_code_state().encode())
    h.update(f"\0{sys.version}\0{marshal.version}".encode())  # every entry is marshal's, in this format
    if view:
        h.update(f"\0view\0{view}\0{_modules_state(deciding)}".encode())
    h.update(b"\0digest\0" if check_digest else b"\0no-digest\0")
    h.update(_text_digest(text))
    return h.hexdigest()


@functools.lru_cache(maxsize=4)
def _text_digest(text: str) -> bytes:
    """The sha256 of a lock's text, once per text: its document's key and its views' keys all hold it (hashing a
    3 MB text took 3.7 ms, twice for each lock a diff loaded)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _read_entry(file_name: str) -> tuple[Path, bytes] | None:
    """The path and bytes of the entry ``file_name``, when the cache is on and the entry is this user's own and
    nobody else may write it (``owned_privately``: marshal and JSON alike read only such bytes); None otherwise."""
    if not enabled():
        return None
    folder = private_cache_dir(LOCKS_CACHE, create=False)
    if folder is None:
        return None
    path = folder / file_name
    try:
        if not owned_privately(path.stat()):
            return None
        # An entry is about as large as the lock, which was within the limit.
        limit = 2 * _readlimits.max_input_bytes(EnvsnapError)
        return path, _readlimits.read_bytes(path, error=EnvsnapError, what="cache entry", limit=limit)
    except (OSError, EnvsnapError):
        return None


def _used(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)  # the newest entries are the ones kept


def get(name: str) -> dict[str, Any] | None:
    """The document kept under ``name``, or None (a miss)."""
    read = _read_entry(f"{name}{_SUFFIX}")
    if read is None:
        return None
    entry = unseal(read[1])
    if type(entry) is not tuple or len(entry) != 2 or entry[0] != name or type(entry[1]) is not dict:
        return None
    _used(read[0])
    document: dict[str, Any] = entry[1]
    return document


def put(name: str, document: dict[str, Any]) -> None:
    """Keep ``document`` (what a text that loaded without error parsed to) under ``name``; never fails. Written
    with ``marshal`` behind a checksum, as a view is (``_sealed``): four times faster to write than JSON and to
    read back (a 5,000-distribution lock's document: 0.017 s of JSON)."""
    _store(name, document, False)


def get_view(name: str) -> Any:
    """The view kept under ``name`` (plain tuples, strings, numbers and None), or None (a miss)."""
    read = _read_entry(f"{name}{_VIEW_SUFFIX}")
    if read is None:
        return None
    entry = unseal(read[1])
    if type(entry) is not tuple or len(entry) != 2 or entry[0] != name:
        return None
    _used(read[0])
    return entry[1]


def has_view(name: str) -> bool:
    """Whether an entry is kept under ``name`` (``get_view`` still decides whether it is a view): one ``stat``."""
    if not name or not enabled():
        return False
    folder = private_cache_dir(LOCKS_CACHE, create=False)
    return folder is not None and (folder / f"{name}{_VIEW_SUFFIX}").is_file()


def put_view(name: str, value: Any) -> None:
    """Keep ``value`` (plain tuples, strings, numbers and None) under ``name``; never fails."""
    _store(name, value, True)


def _store(name: str, value: Any, view: bool) -> None:
    """Write one entry: a document (``put``) or a view (``put_view``); never fails."""
    if not enabled():
        return
    folder = private_cache_dir(LOCKS_CACHE, create=True)
    if folder is None:
        return
    try:
        data = seal((name, value))
    except ValueError:  # a value marshal cannot write (a TOML date in a document): not kept
        return
    suffix = _VIEW_SUFFIX if view else _SUFFIX
    _cachedir.store(folder / f"{name}{suffix}", data, keep=MAX_ENTRIES, suffix=suffix)
