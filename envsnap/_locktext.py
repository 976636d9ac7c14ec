"""A lock's text without its model: the ``created`` line, and writing the text in place.

``lockfile`` writes and compares locks through these, and so does a capture answered from the capture memo
(``probes/memo.py``), which must not load the model or the TOML writer to give the same bytes, nor ``re`` or
``pathlib`` (the memo keeps where its text's ``created`` line is: ``created_span``, ``with_created_at``).
"""

from __future__ import annotations

import os

from ._lazyre import LazyPattern
from .errors import LockfileError, NotALockfileError

TYPE_CHECKING = False  # not typing's: a capture answered from the memo imports this module
if TYPE_CHECKING:
    from pathlib import Path

_CREATED = LazyPattern(r'(?m)^created = "([^"\\\n]*)"$')

# What ``envsnap run`` writes in its record's ``run.kind`` (``runs.record``, ``lockfile``'s refusal of a record).
RUN_RECORD_KIND = "envsnap run record"


def is_run_record(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a run record rather than a lock (its first KiB names the record kind); only
    ``runs.record.load`` says whether it is a valid one. Anything unreadable is not. Here, without the model: ``run``
    asks it of a record already at ``-o`` before its command starts."""
    return f'kind = "{RUN_RECORD_KIND}"'.encode() in _head(path)


def _head(path: str | os.PathLike[str]) -> bytes:
    """The first KiB of the regular file ``path`` (b"" for anything else or unreadable: a FIFO would block the
    open)."""
    if not os.path.isfile(path):
        return b""
    try:
        with open(path, "rb") as fh:
            return fh.read(1024)
    except OSError:
        return b""


def is_envsnap_lock(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file that looks like a lock envsnap wrote: its first table, in its first KiB, is
    ``[envsnap]`` (the lockfile module writes it first). ``run`` asks it of the file where it stores a capture before
    its command starts: a file of another tool there (``uv.lock`` beside ``-o uv.toml``) is not replaced."""
    return starts_as_lock(_head(path).decode("utf-8", "replace"))


def refuse_foreign(path: str, command: str, *, named: str = "") -> None:
    """``UsageError`` (exit 2) where ``path``, where ``command`` is to write a lock, holds a file of the user's: a
    regular file, not empty, that is no lock envsnap wrote (``is_envsnap_lock``). ``capture -o notes.md`` (``pin -o``,
    ``import -o``) replaced it without a word, as ``run -o`` and ``export -o`` refuse to. A lock there, one cut short
    or edited too, is written again; anything that is no regular file is left to the write to judge. ``named``: how
    the message names the path (``-o PATH``), else the path."""
    if not os.path.isfile(path) or is_envsnap_lock(path):
        return
    try:
        if os.path.getsize(path) == 0:
            return  # an empty file (``touch envsnap.lock``) holds nothing to lose
    except OSError:
        return
    from .errors import UsageError

    raise UsageError(
        f"{named or path}: exists and is not a lock envsnap wrote; {command} does not replace it: name another file "
        "with -o, or move it away first"
    )


def starts_as_lock(text: str) -> bool:
    """Whether ``text`` starts as a lock envsnap wrote: its first line that is neither blank nor a comment is
    ``[envsnap]``."""
    for line in text[:1024].splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line == "[envsnap]"
    return False


def same_but_created(old: str, new: str) -> bool:
    """``old`` is ``new`` with another valid ``created`` time in its ``[envsnap]`` table."""
    from .grammar import is_timestamp

    a, b = _CREATED.search(old), _CREATED.search(new)
    if a is None or b is None or not is_timestamp(a.group(1)):
        return False
    return old[: a.start()] == new[: b.start()] and old[a.end() :] == new[b.end() :]


def with_created(text: str, created: str) -> str:
    """``text`` with ``created`` as its ``[envsnap]`` table's time (the content digest leaves it out)."""
    return with_created_at(text, created_span(text), created)


def created_span(text: str) -> tuple[int, int] | None:
    """Where ``text``'s ``created = "..."`` line is (``with_created_at``), None when it has none."""
    match = _CREATED.search(text)
    return None if match is None else match.span()


def with_created_at(text: str, span: tuple[int, int] | None, created: str) -> str:
    """``with_created(text, created)`` given ``created_span(text)``, without searching ``text`` again."""
    if span is None:
        return text
    return f'{text[: span[0]]}created = "{created}"{text[span[1] :]}'


def write(text: str, target: str | os.PathLike[str], *, make_folders: bool = True) -> Path:
    """Write a lock's text atomically: an existing file is only ever replaced by a complete one. Missing folders
    of ``target`` are made (with the umask's permissions), as ``export -o`` and ``uv export -o`` make them: ``pin -o
    new/x.lock`` pinned every package and then refused the folder. ``make_folders`` False: a folder made earlier
    and gone since is an error (``run``'s capture beside a record whose folder the command removed)."""
    from pathlib import Path  # not for a lock written to standard output

    from ._fs import atomic_write_text, cannot_write, make_parents

    path = Path(target)
    try:
        if make_folders:
            make_parents(path)
        atomic_write_text(path, text)
    except OSError as exc:
        raise LockfileError(cannot_write(path, exc)) from exc
    return path


def check_writable(target: str | os.PathLike[str]) -> None:
    """``LockfileError``, said as ``write`` would say it, when ``target`` surely cannot be written (a folder, a path
    through a file, a folder that may not be written); nothing is made. ``pin -o afile/x.lock`` read every index
    and downloaded every file before its write refused the path."""
    from ._fs import cannot_write
    from ._fs import check_writable as _check

    try:
        _check(target)
    except OSError as exc:
        raise LockfileError(cannot_write(target, exc)) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """A lockfile's text, read as ``lockfile.load`` reads it (a regular file within the size limit, UTF-8),
    unchecked (``lockfile.read_text``; here for ``diff``, which answers from the parsed-lock cache without the
    loader)."""
    from pathlib import Path  # not at import: a capture answered from its memo loads this module

    from . import _readlimits  # here: a capture answered from its memo writes a lock's text and reads none

    if not os.fspath(path):  # Path("") is ".": "is a directory"
        raise LockfileError(_readlimits.empty_path("lockfile"))
    p = Path(path)
    raw = _readlimits.read_bytes(p, error=LockfileError, what="lockfile")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        refusal = _readlimits.foreign_archive(p, raw[:8])  # a zipped supplement: said so, and how to unpack it
        if refusal:
            raise LockfileError(refusal) from None
        raise NotALockfileError(f"{p}: not a text file (expected a TOML lockfile)", str(p)) from None
