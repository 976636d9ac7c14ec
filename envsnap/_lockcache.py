"""The parsed-lock cache: a lock that passed every check is kept, as the plain document its TOML parsed to, under
the sha256 of its exact text, so that the next load of the same text skips the TOML parse and the grammar checks.

``diff`` of two 5,000-distribution locks spent nearly all its time parsing and validating text it had validated
before (docs/design.md, "Diff and verify speed"). Only a text that loaded without error is kept, so the cache
never accepts what the checks refuse; the key also holds what decides a load's result besides the text: whether
the content digest was checked, envsnap's version and the state of the modules that hold the model and its rules
(an edited checkout never reads an entry an older grammar accepted).

A cache never changes a result and never fails a command: an entry that is missing, unreadable, not JSON or made
for another key is a miss, and a write that fails is skipped. It lives in the user's cache folder
(``$XDG_CACHE_HOME/envsnap/locks``), created private (0700, entries 0600); a folder another user owns or may write
is not used (what it holds could claim that a stranger's lock passed). ``ENVSNAP_LOCK_CACHE=0`` turns it off.
The newest ``MAX_ENTRIES`` entries are kept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from . import _fs, _readlimits
from ._defaults import private_cache_dir
from ._version import __version__
from .errors import EnvsnapError

LOCKS_CACHE = "locks"
ENV = "ENVSNAP_LOCK_CACHE"
MAX_ENTRIES = 32
_SUFFIX = ".json"
# The modules whose code decides whether a text loads and what it loads to.
_DECIDING = ("lockfile.py", "model.py", "grammar.py", "_readlimits.py", "_toml.py", "_lockcache.py")


def enabled() -> bool:
    return os.environ.get(ENV, "").strip() != "0"


@functools.cache
def _code_state() -> str:
    here = Path(__file__).parent
    parts = [__version__]
    for name in _DECIDING:
        try:
            info = os.stat(here / name)
        except OSError:
            parts.append(f"{name}:-")
            continue
        parts.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    return "\n".join(parts)


def key(text: str, *, check_digest: bool) -> str:
    """The entry name of ``text`` loaded with or without its digest check, under this envsnap."""
    h = hashlib.sha256(_code_state().encode())
    h.update(b"\0digest\0" if check_digest else b"\0no-digest\0")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def get(name: str) -> dict[str, Any] | None:
    """The document kept under ``name``, or None (a miss)."""
    if not enabled():
        return None
    folder = private_cache_dir(LOCKS_CACHE, create=False)
    if folder is None:
        return None
    path = folder / f"{name}{_SUFFIX}"
    try:
        # An entry is the lock's document as JSON: about as large as the lock, which was within the limit.
        limit = 2 * _readlimits.max_input_bytes(EnvsnapError)
        entry = json.loads(_readlimits.read_bytes(path, error=EnvsnapError, what="cache entry", limit=limit))
    except (EnvsnapError, ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != name or not isinstance(entry.get("document"), dict):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # the newest entries are the ones kept
    document: dict[str, Any] = entry["document"]
    return document


def put(name: str, document: dict[str, Any]) -> None:
    """Keep ``document`` (what a text that loaded without error parsed to) under ``name``; never fails."""
    if not enabled():
        return
    folder = private_cache_dir(LOCKS_CACHE, create=True)
    if folder is None:
        return
    try:
        blob = json.dumps({"key": name, "document": document}, ensure_ascii=False, separators=(",", ":"))
        _fs.atomic_write_bytes(folder / f"{name}{_SUFFIX}", blob.encode("utf-8", "surrogatepass"), mode=0o600)
        _prune(folder)
    except (OSError, ValueError, TypeError):
        return


def _prune(folder: Path) -> None:
    entries = []
    for path in folder.glob(f"*{_SUFFIX}"):
        with contextlib.suppress(OSError):
            entries.append((path.stat().st_mtime_ns, path))
    entries.sort(reverse=True)
    for _, path in entries[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            path.unlink()
