"""The run record (docs/runrecord.md): one result tied to its command, environment, code, data and outputs.

A record is TOML, versioned (``run.schema_version``), sealed with a content digest over its canonical JSON as a
lock is, and written atomically. Loading one is reading untrusted input (docs/security.md): the file is read
through ``_readlimits`` (a regular file of bounded size, a bounded TOML shape), every field is checked against
its type and grammar, an unknown field or a broken seal is refused with one line naming the dotted path.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any, TypeVar

from .. import _readlimits, _tomlwrite, grammar, lockfile
from .._frozen import frozen
from .._fs import atomic_write_text
from .._locktext import is_run_record
from ..errors import EnvsnapError
from ..fileurls import HOME, PROJECT
from ..lockfile import json_digest, to_dict, value_kind
from ..report import counted
from .finished import INTERRUPTING, SIGNAL_NAMES

if typing.TYPE_CHECKING:
    from ..model import Snapshot

KIND = lockfile.RUN_RECORD_KIND
# 2: the drift is a table per finding (``Finding``: verify's difference by its fields), no longer a line of text. A
# record of version 1 is read as written, its drift lines kept (``Finding.line``), shown and compared as before.
SCHEMA_VERSION = 2
# verify's severities and areas a finding may name (``compare.verdict``: MISMATCH, WARNING, AREAS), written here so that
# loading a record reads no comparison code; tests/runs/test_record.py checks they are verify's.
DRIFT_SEVERITIES = ("mismatch", "warning")
DRIFT_AREAS = (
    "python", "conda", "interpreter", "platform", "libc", "gpu", "cuda", "system", "environment", "hardware",
)  # fmt: skip
T = TypeVar("T")


class RecordError(EnvsnapError):
    """A run record is unreadable, invalid, of an unknown schema, or was edited after it was sealed."""


def _rule(ok: Callable[[Any], bool], what: str) -> dict[str, Any]:
    return {"rule": (ok, what)}


def _text(limit: int = grammar.MAX_TEXT) -> dict[str, Any]:
    return _rule(lambda v: grammar.is_text(v, limit), f"text (no control characters, at most {limit} characters)")


def _one_of(*values: str) -> dict[str, Any]:
    return _rule(frozenset(values).__contains__, "value (one of " + ", ".join(repr(v) for v in values) + ")")


def _n(hi: int = grammar.MAX_INT) -> dict[str, Any]:
    return _rule(lambda v: grammar.is_bounded_int(v, 0, hi), f"number (from 0 to {hi})")


_DIGEST = _rule(lambda v: v == "" or grammar.is_sha256_digest(v), "digest (sha256:<64 hex digits>)")
_TIME = _rule(grammar.is_timestamp, "timestamp (RFC 3339)")
# An argument may hold anything a program takes (a newline in `python -c`), but no NUL and a bounded length.
_ARG = _rule(lambda v: isinstance(v, str) and "\0" not in v and len(v) <= 65536, "argument (no NUL, at most 64 KiB)")


@frozen
class Meta:
    kind: str = field(default=KIND, metadata=_one_of(KIND))
    schema_version: int = field(default=SCHEMA_VERSION, metadata=_n(1000))
    generator: str = field(default="", metadata=_rule(grammar.is_generator, "generator"))
    created: str = field(default="", metadata=_TIME)
    content_digest: str = field(default="", metadata=_DIGEST)


@frozen
class Variable:
    """An environment variable ``envsnap run --env NAME`` recorded as the command got it at its start (a script's
    own ``SEED``, which no lock tracks): ``rerun`` sets it for the command again, or removes it when ``unset``."""

    name: str = field(metadata=_rule(grammar.is_env_name, "variable name (letters, digits and _, no digit first)"))
    value: str = field(default="", metadata=_text())  # as given: the user chose to publish it (docs/security.md)
    unset: bool = field(default=False, metadata={"sparse": True})  # not set at the run's start (value is "")


@frozen
class Command:
    argv: tuple[str, ...] = field(metadata=_ARG)
    # The working directory relative to the project (the git work tree, else the directory itself): "." or a
    # relative path inside it.
    cwd: str = field(
        default=".",
        metadata=_rule(lambda v: v == "." or grammar.is_relative_path(v), "relative folder (no '..', not absolute)"),
    )
    redacted: bool = False  # a secret in argv was replaced by <redacted>: the command cannot be rerun as it was
    # The indexes of the words of argv that name a path under a label ({project}/..., ~/...), whole or as an
    # option's value (--out={project}/x): rerun resolves these and no other. Left out when none (records before).
    paths: tuple[int, ...] = field(default=(), metadata={**_n(65536), "sparse": True})
    # Where a path under a label starts inside a word, as "INDEX:OFFSET" (the word's index in argv, the offset in
    # characters): a path in code or a shell line (python -c "open('~/data/x.csv')"). rerun resolves these places
    # and no other: a literal ~ in the code stays one. Left out when none.
    inner_paths: tuple[str, ...] = field(
        default=(),
        metadata={**_rule(lambda v: _place(v) is not None, "place (INDEX:OFFSET)"), "sparse": True},
    )
    # Where text in a word still names the home or the project of whoever recorded the run by its path on that
    # machine, as "INDEX:OFFSET" (the start of that path): text that is no existing path, kept as written and
    # said when the record was made. ``show`` names these places for a reader who does not know that home. Left
    # out when none (and in records before it).
    unlabelled: tuple[str, ...] = field(
        default=(),
        metadata={**_rule(lambda v: _place(v) is not None, "place (INDEX:OFFSET)"), "sparse": True},
    )
    # The variables named with ``run --env``, in the order given: rerun gives the command these again. Left out
    # when none (and in records before it). In this table, not one of its own: ``run.kind`` stays in the first
    # KiB that ``sniff`` reads.
    variables: tuple[Variable, ...] = field(default=(), metadata={"sparse": True})


def variables_shown(variables: Sequence[Variable]) -> tuple[str, ...]:
    """Each recorded variable as the rerun gives it to the command: ``NAME=VALUE`` as a shell assignment (the
    value quoted), or ``NAME unset``."""
    from .. import sinks  # only here: show and rerun name the variables, loading a record does not

    return tuple(f"{v.name} unset" if v.unset else sinks.shell_assignment(v.name, v.value) for v in variables)


# What ends a path written inside a word (code, a shell line), and what may come just before one: white space,
# quotes, and the punctuation code and shells put around a path. A path holding one of these is not labelled there.
PATH_END = frozenset(" \t\n\r\f\v'\"`,;:=()[]{}<>|&")


def path_end(word: str, start: int) -> int:
    """Where a path written inside ``word`` from ``start`` ends: at the next ``PATH_END`` character, or the word's
    end."""
    stop = start
    while stop < len(word) and word[stop] not in PATH_END:
        stop += 1
    return stop


def command_shown(command: Command) -> str:
    """The recorded command as a person reads it and may paste it: each word as ``sinks.shell_shown`` writes it, but
    for the paths under a label (``command.paths``, ``command.inner_paths``), whose label is left bare before the
    quoted rest, as ``sinks.path_shown`` names a path: ``~/'my data/x.csv'``, which a shell expands (the quoted
    ``'~/my data/x.csv'`` it showed, no shell does), ``{project}/train.py``; a ``~`` inside a word is ``"$HOME"``
    (``--out="$HOME"/'my data'``), where no shell expands one."""
    return " ".join(word_shown(command, index) for index in range(len(command.argv)))


def word_shown(command: Command, index: int) -> str:
    """Word ``index`` of the recorded command as ``command_shown`` writes it."""
    from .. import sinks  # only here: show and rerun name the command, loading a record does not

    word = command.argv[index]
    places: list[tuple[int, str, int]] = []  # (offset, label, where its path ends)
    if index in command.paths:
        split = labelled_word(word)
        if split is not None:
            places.append((len(split[0]), split[1], len(word)))
    else:
        places.extend(
            (offset, label, path_end(word, offset + len(label)))
            for at, offset, label in _inner_places_or_none(command)
            if at == index
        )
    if not places:
        return sinks.shell_shown([word])
    parts, at = [], 0
    for offset, label, end in places:
        if offset > at:
            parts.append(sinks.shell_shown([word[at:offset]]))
        rest = word[offset + len(label) : end]
        # A tilde-prefix is expanded at a word's start, up to the first unquoted ``/``.
        parts.append(label if label != HOME or offset == 0 else '"$HOME"')
        if rest.startswith("/"):
            parts.append("/")
            rest = rest[1:]
        if rest:
            parts.append(sinks.shell_shown([rest]))
        at = end
    if at < len(word):
        parts.append(sinks.shell_shown([word[at:]]))
    return "".join(parts)


def _inner_places_or_none(command: Command) -> tuple[tuple[int, int, str], ...]:
    try:
        return inner_places(command)
    except RecordError:  # load checked them: a record built in Python is not loaded
        return ()


def _place(value: str) -> tuple[int, int] | None:
    index, colon, offset = value.partition(":")
    if not colon or not (index.isascii() and index.isdigit() and offset.isascii() and offset.isdigit()):
        return None
    if len(index) > 5 or len(offset) > 5:
        return None
    return int(index), int(offset)


def inner_places(command: Command) -> tuple[tuple[int, int, str], ...]:
    """``command.inner_paths`` as (word index, offset, label), each checked to be the start of a path under a label
    inside that word: after the word's start or a ``PATH_END`` character, the label, then the end, ``/`` or a
    ``PATH_END`` character, and no ``..`` before the path ends; in order, each once, in no word ``paths`` lists.
    Raises ``RecordError`` naming the first that is not."""
    out: list[tuple[int, int, str]] = []
    for i, value in enumerate(command.inner_paths):
        place = _place(value)
        label = None
        if place is not None and place[0] < len(command.argv) and place[0] not in command.paths:
            index, offset = place
            word = command.argv[index]
            if (offset == 0 or (offset <= len(word) and word[offset - 1] in PATH_END)) and (
                not out or (index, offset) > out[-1][:2]
            ):
                label = inner_label(word, offset)
        if label is None:
            raise RecordError(
                f"command.inner_paths[{i}]: {value} is not the place of a path under a label ({{project}}/..., "
                "~/...) inside a word of command.argv"
            )
        out.append((*place, label))  # type: ignore[misc]
    return tuple(out)


def unlabelled_places(command: Command) -> tuple[tuple[int, int], ...]:
    """``command.unlabelled`` as (word index, offset), each checked to be where an absolute path starts inside that
    word (a ``/`` at the word's start or after a ``PATH_END`` character), in order, each once, in no word ``paths``
    lists. Raises ``RecordError`` naming the first that is not."""
    out: list[tuple[int, int]] = []
    for i, value in enumerate(command.unlabelled):
        place = _place(value)
        if (
            place is None
            or place[0] >= len(command.argv)
            or place[0] in command.paths
            or not command.argv[place[0]].startswith("/", place[1])
            or (place[1] > 0 and command.argv[place[0]][place[1] - 1] not in PATH_END)
            or (out and place <= out[-1])
        ):
            raise RecordError(
                f"command.unlabelled[{i}]: {value} is not the place where an absolute path starts inside a word of "
                "command.argv"
            )
        out.append(place)
    return tuple(out)


def unlabelled_text(command: Command) -> list[tuple[int, str]]:
    """Each place ``command.unlabelled`` lists, with the path written there (up to the next ``PATH_END``)."""
    return [
        (index, command.argv[index][at : path_end(command.argv[index], at)]) for index, at in unlabelled_places(command)
    ]


def inner_label(word: str, offset: int) -> str | None:
    """The label (``{project}``, ``~``) of a path that starts at ``offset`` inside ``word`` and runs to the next
    ``PATH_END`` character, when it is followed by the end, ``/`` or a ``PATH_END`` character and the path has
    no ``..``; None otherwise."""
    for label in (PROJECT, HOME):
        if not word.startswith(label, offset):
            continue
        end = offset + len(label)
        if end < len(word) and word[end] != "/" and word[end] not in PATH_END:
            return None
        return None if ".." in word[end : path_end(word, end)].split("/") else label
    return None


def labelled_word(word: str) -> tuple[str, str, str] | None:
    """A command word that names a path under a label, split: what comes before the path (``""``, or an option
    and ``=``), the label (``{project}`` or ``~``), and the rest (``""`` or ``/...``, no ``..``); None for any
    other word."""
    head, rest = "", word
    if word.startswith("-") and "=" in word:
        option, _, rest = word.partition("=")
        head = option + "="
    for label in (PROJECT, HOME):
        if rest == label or rest.startswith(label + "/"):
            tail = rest[len(label) :]
            return None if ".." in tail.split("/") else (head, label, tail)
    return None


def labelled_path(value: str) -> bool:
    """Whether ``value`` is a whole path under a label (``{project}/...``, ``~/...``), no ``..`` in it."""
    split = labelled_word(value)
    return split is not None and split[0] == "" and split[2].startswith("/")


@frozen
class Outcome:
    started: str = field(metadata=_TIME)
    ended: str = field(metadata=_TIME)
    duration_ms: int = field(metadata=_n())
    exit_status: int = field(metadata=_n(255))
    signal: str = field(
        default="",
        metadata=_rule(lambda v: v == "" or v in SIGNAL_NAMES, "signal name"),
    )
    interrupted: bool = False
    # The signal that interrupted the run: the first of SIGINT, SIGTERM and SIGHUP envsnap received while the command
    # ran (the terminal's Ctrl-C too, which reached the command itself), or the one that cut the outputs'
    # fingerprints short; "" when none did. Left out then (and in records before it).
    interrupted_by: str = field(default="", metadata={**_one_of("", *INTERRUPTING), "sparse": True})
    peak_memory_kib: int = field(default=0, metadata=_n())

    def completed(self) -> bool:
        """Whether the command ran to its end with status 0, nothing interrupting it: a result a reader reproduces."""
        return self.exit_status == 0 and not self.interrupted

    def shown(self) -> str:
        """How the command ended: ``exit 0``, ``exit 143 (SIGTERM), interrupted by SIGTERM``."""
        return (
            f"exit {self.exit_status}"
            + (f" ({self.signal})" if self.signal else "")
            + (", interrupted" if self.interrupted else "")
            + (f" by {self.interrupted_by}" if self.interrupted and self.interrupted_by else "")
        )


@frozen
class Gpus:
    visible_devices: str = field(default="", metadata=_text(1024))  # CUDA_VISIBLE_DEVICES as it was set
    visible_devices_set: bool = False
    used: tuple[str, ...] = field(default=(), metadata=_text(256))  # "0 (NVIDIA H200)": NVML index and name
    used_known: bool = False  # False: which GPUs the tree used is unknown (see note); never guessed
    note: str = field(default="", metadata=_text())


@frozen
class DriftPlace:
    """A place a finding's note names (``compare.verdict.Place``): a ``.pth`` file, its folder, a module file of it,
    or a source by its URL, as the note writes it."""

    kind: str = field(metadata=_one_of("pth", "folder", "file", "url"))
    path: str = field(metadata=_text())


@frozen
class Finding:
    """What verify found against the lock as the run started (a mismatch or a warning), by the fields of its
    difference (``compare.verdict.Difference``), secrets removed: its severity, area, subject (a distribution, ``.pth``,
    ``version``), what differs (``source``, ``version``, ``missing``...), the lock's and this environment's sides (a
    source's URL, a version), its note and what it follows from. Shown from those fields as verify prints the
    difference (a local source's URL by its path, one shell word), compared by the line ``run`` wrote (``said``).

    In a record of schema version 1 the drift was that line alone: ``line`` holds it, every other field empty."""

    severity: str = field(default="", metadata={**_one_of("", *DRIFT_SEVERITIES), "sparse": True})
    area: str = field(default="", metadata={**_one_of("", *DRIFT_AREAS), "sparse": True})
    subject: str = field(default="", metadata={**_text(1024), "sparse": True})
    what: str = field(default="", metadata={**_text(256), "sparse": True})
    expected: str = field(default="", metadata={**_text(), "sparse": True})
    actual: str = field(default="", metadata={**_text(), "sparse": True})
    note: str = field(default="", metadata={**_text(), "sparse": True})
    cause: str = field(default="", metadata={**_text(), "sparse": True})
    # The places its note names (verify's ``places``), by which it is shown: none in a record made before this field.
    places: tuple[DriftPlace, ...] = field(default=(), metadata={"sparse": True})
    line: str = field(default="", metadata={**_text(), "sparse": True})  # a version 1 record's line, as written

    def difference(self) -> Any:
        """The ``compare.verdict.Difference`` this finding records."""
        from ..compare.verdict import Difference, Place

        places = tuple(Place(p.kind, p.path) for p in self.places)
        return Difference(
            self.severity,
            self.area,
            self.subject,
            self.what,
            self.expected,
            self.actual,
            self.note,
            self.cause,
            places=places,
        )

    def said(self) -> str:
        """The line ``run`` writes of it (``SEVERITY: AREA: `` and the difference's ``describe``): what a rerun
        compares with its own findings, and a version 1 record kept."""
        if self.line:
            return self.line
        return f"{self.severity}: {self.area}: {self.difference().describe()}"

    def shown(self) -> str:
        """As verify prints the difference, built from its fields (``Difference.shown``); a version 1 record's line
        as ``compare.verdict.drift_line_shown`` shows it."""
        from ..compare.verdict import drift_line_shown

        if self.line:
            return drift_line_shown(self.line)
        return f"{self.severity}: {self.area}: {self.difference().shown()}"


def finding_wrong(f: Finding, version: int) -> str:
    """Why ``f`` is not a finding a record of schema ``version`` holds, "" when it is: a version 1 record's drift is
    its line alone, a later one's a difference's fields (a severity, an area, a subject and what differs) and no
    line."""
    if version < 2:
        fields = (f.severity, f.area, f.subject, f.what, f.expected, f.actual, f.note, f.cause)
        return "" if f.line and not any(fields) and not f.places else "a version 1 record's drift is a line of text"
    if f.line:
        return "line: a record of schema version 2 keeps its drift by its fields, not as a line"
    missing = [name for name in ("severity", "area", "subject", "what") if not getattr(f, name)]
    return f"{missing[0]}: required field is missing" if missing else ""


@frozen
class Environment:
    lock: str = field(
        default="",
        metadata=_rule(
            lambda v: v == "" or grammar.is_relative_path(v), "lock path (relative to the project, no '..')"
        ),
    )
    lock_digest: str = field(default="", metadata=_DIGEST)
    # The lock's digest without what pin adds (``lockfile.identity_digest``): "" in a record made before it.
    lock_identity: str = field(default="", metadata={**_DIGEST, "sparse": True})
    captured: bool = False  # the lock was captured for this run (no --lock)
    python: str = field(default="", metadata=_text(1024))  # the environment verified, as envsnap names it
    # The interpreter a python command found on PATH ran (``python train.py`` in the project's activated venv), as
    # ``{project}/...`` or ``~/...``: rerun names it where it is missing (a fresh clone), rather than verifying the
    # PATH's python in its place. "" for any other (and in a record made before this field).
    interpreter: str = field(
        default="",
        metadata={
            **_rule(
                lambda v: v == "" or (grammar.is_text(v, 1024) and labelled_path(v)),
                "interpreter ({project}/... or ~/..., no '..')",
            ),
            "sparse": True,
        },
    )
    # verify's findings at the start: mismatches and warnings, by their fields (a version 1 record: lines of text).
    drift: tuple[Finding, ...] = ()

    def made_with(self, lock: Snapshot) -> bool:
        """Whether ``lock`` is the lock the run used (``other_lock``)."""
        return not self.other_lock(lock)

    def other_lock(self, lock: Snapshot, code: Code | None = None) -> str:
        """Why ``lock`` is not the lock the run used, "" when it is: that very lock (its digest), or that lock
        pinned: a lock that names it as one it was pinned or made from (``pinned_from``, ``made_from``: what
        ``pin`` and ``bundle`` write) and has its identity, proven from the lock's content (a stranger's lock that
        names it and changed a version, a source or the system is not; nor is the unpinned lock a pinned one was
        made from). A record made before ``lock_identity`` proves nothing: it takes a bundle's ``made_from`` at
        its word, as it did. With the run's ``code``, a lock that is the run's but for its project's state (captured
        again at another commit: the same packages and interpreter) is said so, with both commits, not called
        another environment."""
        if not self.lock_digest:
            return ""  # no lock recorded: nothing to compare
        digest = lock.envsnap.content_digest or lockfile.canonical_digest(to_dict(lock))
        if self.lock_digest == digest:
            return ""
        if not self.lock_identity:
            if self.lock_digest == lock.envsnap.made_from:
                return ""
            return (
                "the record keeps no lock_identity (an older envsnap made it), so the run's lock once pinned "
                "cannot be told from another: record the run again"
            )
        named = self.lock_digest in (lock.envsnap.made_from, *lock.envsnap.pinned_from)
        same = lockfile.identity_digest(to_dict(lock)) == self.lock_identity
        if named and same:
            return ""
        if named:
            return "it names the run's lock as the one it was pinned from, but describes another environment"
        if same:
            return (
                "it describes the same environment, but is no pin of the run's lock (the lock that one was "
                "pinned from, or one pinned anew)"
            )
        return _other_commit(self.lock_identity, lock, code) or "another environment"


def _other_commit(identity: str, lock: Snapshot, code: Code | None) -> str:
    """What differs where ``lock`` with its project at the run's ``code`` (its commit, and where that alone is not
    it, its branch and uncommitted changes) has the run's lock's ``identity``: only the project's state, said with
    the run's and the lock's; "" where the lock differs in more (or the record or the lock names no commit)."""
    project = lock.project
    if code is None or not code.commit or project is None or not project.commit:
        return ""
    tries = (
        {"commit": code.commit},
        {"commit": code.commit, "dirty": code.dirty, "diff_digest": code.diff_digest},
        {"commit": code.commit, "branch": code.branch, "dirty": code.dirty, "diff_digest": code.diff_digest},
    )
    for fields in tries:
        moved = dataclasses.replace(lock, project=dataclasses.replace(project, **fields))
        if lockfile.identity_digest(to_dict(moved)) != identity:
            continue
        said = []
        if code.commit != project.commit:
            commits = f"the run at {code.commit[:12]}, the lock at {project.commit[:12]}"
            said.append(f"another commit of the project: {commits}")
        if code.dirty != project.dirty or code.diff_digest != project.diff_digest:
            said.append(
                "other uncommitted changes: "
                f"{'some' if code.dirty else 'none'} in the run, {'some' if project.dirty else 'none'} in the lock"
            )
        if "branch" in fields and code.branch != project.branch:
            said.append(f"another branch: the run on {code.branch or 'none'}, the lock on {project.branch or 'none'}")
        return "the same packages and interpreter, " + "; ".join(said) if said else ""
    return ""


@frozen
class Code:
    vcs: str = field(default="", metadata=_one_of("", "git"))
    commit: str = field(default="", metadata=_rule(lambda v: v == "" or grammar.is_commit_id(v), "commit id"))
    branch: str = field(default="", metadata=_rule(lambda v: v == "" or grammar.is_git_branch(v), "branch name"))
    dirty: bool = False
    diff_digest: str = field(default="", metadata=_DIGEST)


@frozen
class Library:
    path: str = field(metadata=_text())
    accounted: bool
    owner: str = field(default="", metadata=_one_of("", "python", "conda", "system", "interpreter"))
    package: str = field(default="", metadata=_text(256))
    version: str = field(default="", metadata=_text(256))
    note: str = field(default="", metadata=_text())


@frozen
class Loaded:
    method: str = field(default="", metadata=_text())
    processes: int = field(default=0, metadata=_n())
    python_processes: int = field(default=0, metadata=_n())
    libraries: tuple[Library, ...] = ()
    modules: tuple[str, ...] = field(default=(), metadata=_text(256))  # top-level modules Python imported
    distributions: tuple[str, ...] = field(default=(), metadata=_text(256))  # "numpy 2.4.6" they came from


def _entry_path(v: str) -> bool:
    """A file's path relative to its data path, as a fingerprint lists it: '/'-separated names, none empty, '.' or
    '..' (so never absolute and never above the data path); any other name a file may have (hidden, '-x', one with
    a control character, which the TOML holds escaped and a terminal is shown escaped), but NUL, which none has."""
    return len(v) <= grammar.MAX_TEXT and "\0" not in v and all(part not in ("", ".", "..") for part in v.split("/"))


def _unlisted_name(v: str) -> bool:
    """A name ``data.name_written`` writes for a file whose name is not UTF-8: a path ``_entry_path`` takes once read
    back, and one that is not UTF-8 (any other is an entry)."""
    from .data import name_read

    name = name_read(v)
    return (
        name is not None and _entry_path(v) and _entry_path(name) and name != name.encode("utf-8", "replace").decode()
    )


@frozen
class FileEntry:
    path: str = field(metadata=_rule(_entry_path, "path inside the data path (relative, no '..', '.' or empty part)"))
    size: int = field(metadata=_n())
    value: str = field(
        metadata=_rule(
            lambda v: grammar.is_sha256_hex(v) or (v.isascii() and v.isdigit() and len(v) < 24),
            "sha256 hex or mtime in nanoseconds",
        )
    )


@frozen
class Data:
    role: str = field(metadata=_one_of("input", "output"))
    path: str = field(metadata=_rule(lambda v: len(v) > 0 and grammar.is_text(v), "path"))
    kind: str = field(metadata=_one_of("file", "directory", "missing"))
    method: str = field(metadata=_one_of("sha256", "size-mtime"))
    digest: str = field(default="", metadata=_DIGEST)
    files: int = field(default=0, metadata=_n())
    bytes: int = field(default=0, metadata=_n())
    complete: bool = True  # every file is in entries
    # The links in the tree that lead to nothing, by path as entries are: no content, in no digest, skipped but
    # listed, so that rerun sees one added or removed. Left out when none (and in records before it).
    dangling: tuple[str, ...] = field(
        default=(),
        metadata={
            **_rule(_entry_path, "path inside the data path (relative, no '..', '.' or empty part)"),
            "sparse": True,
        },
    )
    entries: tuple[FileEntry, ...] = ()
    # The files counted but not listed in entries because their name is not UTF-8 (which no TOML holds), each with
    # its bytes that are not UTF-8 as \\xNN and a backslash doubled (``data.name_written``), so that the user sees
    # which. Left out when none (and in records before it).
    unlisted: tuple[str, ...] = field(
        default=(),
        metadata={**_rule(_unlisted_name, "name that is not UTF-8, escaped (\\xNN, \\\\)"), "sparse": True},
    )


@frozen
class RunRecord:
    run: Meta
    command: Command
    result: Outcome
    gpus: Gpus = Gpus()
    environment: Environment = Environment()
    code: Code | None = None
    loaded: Loaded = Loaded()
    data: tuple[Data, ...] = ()

    def inputs(self) -> tuple[Data, ...]:
        return tuple(d for d in self.data if d.role == "input")

    def outputs(self) -> tuple[Data, ...]:
        return tuple(d for d in self.data if d.role == "output")


# ---------------------------------------------------------------------------------------------------- write


def record_dict(record: RunRecord) -> dict[str, Any]:
    """The plain data of ``record`` as its file holds it: a record of schema version 1 keeps its drift as the lines
    it was written with (``environment.drift = ["..."]``), a later one as a table per finding."""
    data: dict[str, Any] = to_dict(record)
    if record.run.schema_version < 2:
        data["environment"]["drift"] = [f.line for f in record.environment.drift]
    return data


def canonical_digest(doc: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a record document, leaving out the digest itself (``created`` is part of
    the content: a run's time is what it records)."""
    data = dict(doc)
    data["run"] = {k: v for k, v in dict(data.get("run", {})).items() if k != "content_digest"}
    return json_digest(data)


def document(record: RunRecord) -> dict[str, Any]:
    data = record_dict(record)
    data["run"]["content_digest"] = canonical_digest(data)
    return data


def dumps(record: RunRecord) -> str:
    return _tomlwrite.dumps(document(record))


def dump(record: RunRecord, path: str | os.PathLike[str]) -> Path:
    """Written beside and renamed into place; a record over the size limit ``load`` reads it under is not written
    (``RecordError``): a ``--data`` folder of thousands of files listed a record no command could read back."""
    target = Path(path)
    text = _readlimits.readable(dumps(record), f"{target}: the record", error=RecordError, read_as="a run record")
    try:
        atomic_write_text(target, text)
    except OSError as exc:
        raise RecordError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    return target


def sealed(record: RunRecord) -> RunRecord:
    return dataclasses.replace(
        record, run=dataclasses.replace(record.run, content_digest=document(record)["run"]["content_digest"])
    )


# ----------------------------------------------------------------------------------------------------- read


def sniff(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a run record rather than a lock (its first KiB names the record kind); only
    ``load`` says whether it is a valid one. Anything unreadable is left to the lock loader's errors."""
    return is_run_record(path)


def load(path: str | os.PathLike[str]) -> RunRecord:
    text = _readlimits.read_text(path, error=RecordError, what="run record")
    return from_document(_readlimits.load_toml(text, origin=str(path), error=RecordError), origin=str(path))


def from_document(data: Mapping[str, Any], *, origin: str = "<data>") -> RunRecord:
    meta = data.get("run")
    if not isinstance(meta, Mapping) or meta.get("kind") != KIND:
        raise RecordError(f"{origin}: run.kind: missing (is this an envsnap run record?)")
    version = meta.get("schema_version")
    if type(version) is not int or version < 1:
        raise RecordError(f"{origin}: run.schema_version: missing or not a positive integer")
    if version > SCHEMA_VERSION:
        raise RecordError(
            f"{origin}: run.schema_version: {version} is newer than this envsnap understands "
            f"(<= {SCHEMA_VERSION}); upgrade envsnap"
        )
    try:
        record = _build(RunRecord, _drift_lines_read(data, origin) if version < 2 else data, "", origin)
    except _UnknownField as exc:
        raise RecordError(f"{exc}{_newer(data, meta)}") from None
    if not record.command.argv:
        raise RecordError(f"{origin}: command.argv: empty: a record names the command it ran")
    if record.result.interrupted_by and not record.result.interrupted:
        raise RecordError(
            f"{origin}: result.interrupted_by: {record.result.interrupted_by}, but result.interrupted is false: a "
            "signal that interrupted the run marks it interrupted"
        )
    paths = record.command.paths
    for i, index in enumerate(paths):
        if (
            index >= len(record.command.argv)
            or (i and index <= paths[i - 1])  # in order, each once
            or labelled_word(record.command.argv[index]) is None
        ):
            raise RecordError(
                f"{origin}: command.paths[{i}]: {index} is not the index of a word of command.argv that names a "
                "path as {project}/... or ~/..."
            )
    named: set[str] = set()
    for i, variable in enumerate(record.command.variables):
        if variable.unset and variable.value:
            raise RecordError(f"{origin}: command.variables[{i}]: an unset variable has no value ({variable.name})")
        if variable.name in named:
            raise RecordError(f"{origin}: command.variables[{i}]: {variable.name} is named twice")
        named.add(variable.name)
    try:
        inner_places(record.command)
        unlabelled_places(record.command)
    except RecordError as exc:
        raise RecordError(f"{origin}: {exc}") from None
    for i, d in enumerate(record.data):
        wrong = data_wrong(d)
        if wrong:
            raise RecordError(f"{origin}: data[{i}]: {wrong}")
    if not record.run.content_digest:
        raise RecordError(f"{origin}: run.content_digest: missing (a record is always sealed)")
    for i, finding in enumerate(record.environment.drift):
        wrong = finding_wrong(finding, version)
        if wrong:
            raise RecordError(f"{origin}: environment.drift[{i}]: {wrong}")
    if canonical_digest(record_dict(record)) != record.run.content_digest:
        raise RecordError(
            f"{origin}: run.content_digest: does not match the content "
            "(the record was edited or corrupted after the run)"
        )
    return record


def _drift_lines_read(data: Mapping[str, Any], origin: str) -> Mapping[str, Any]:
    """A record of schema version 1, its drift's lines (``environment.drift = ["..."]``) as findings that hold them
    (``Finding.line``); a line that is not text is refused as the version 2 loader refuses a bad field."""
    env = data.get("environment")
    if not isinstance(env, Mapping) or not isinstance(env.get("drift"), list):
        return data  # none, or not an array: the loader says what is wrong
    lines = env["drift"]
    for i, line in enumerate(lines):
        if not isinstance(line, str):
            raise RecordError(f"{origin}: environment.drift[{i}]: expected a string, got {value_kind(line)}")
    return {**data, "environment": {**env, "drift": [{"line": line} for line in lines]}}


def data_wrong(d: Data) -> str:
    """Why a recorded data path's fingerprint is not one ``fingerprint`` makes, "" when it is: a complete entry list
    gives the digest and the counts (a record listing a file that is not there, or not as listed, with the digest
    of the folder as it is, read ``data: same``), a partial one lists fewer files than counted, each once."""
    from .data import Entry, manifest_digest  # only for a record that has data: loading one needs no hashing else

    names = [e.path for e in d.entries]
    if len(set(names)) != len(names):
        twice = next(n for i, n in enumerate(names) if n in names[:i])
        return f"entries: {grammar.shown(twice)} is listed twice"
    if d.kind != "directory" and d.dangling:
        return f"dangling: a {d.kind} path has no links in it, only a directory has"
    if len(set(d.dangling)) != len(d.dangling):
        twice = next(n for i, n in enumerate(d.dangling) if n in d.dangling[:i])
        return f"dangling: {grammar.shown(twice)} is listed twice"
    if set(d.dangling) & set(names):
        both = min(set(d.dangling) & set(names))
        return f"dangling: {grammar.shown(both)} is listed as a file too"
    if len(set(d.unlisted)) != len(d.unlisted):
        twice = next(n for i, n in enumerate(d.unlisted) if n in d.unlisted[:i])
        return f"unlisted: {grammar.shown(twice)} is listed twice"
    if d.kind != "directory" and d.unlisted:
        return f"unlisted: a {d.kind} path has no files left unlisted, only a directory has"
    if d.unlisted and (d.complete or len(d.entries) + len(d.unlisted) > d.files):
        return (
            f"unlisted: {counted(len(d.unlisted), 'file')} not listed, but the entries list {len(d.entries)} of "
            f"{counted(d.files, 'file')}" + (" (complete = true)" if d.complete else "")
        )
    if d.kind == "missing":
        if d.digest or d.files or d.bytes or d.entries or not d.complete:
            return "a missing path has no digest, files, bytes or entries"
        return ""
    if d.kind == "file" and d.files != 1:
        return f"files: {d.files}, but a file is one"
    if d.kind == "file" and any("/" in name for name in names):
        return f"entries: a file is listed by its base name, not {grammar.shown(next(n for n in names if '/' in n))}"
    size = sum(e.size for e in d.entries)
    if not d.complete:
        if len(d.entries) >= d.files or size > d.bytes:
            return (
                f"complete = false, but the entries list {len(d.entries)} of {counted(d.files, 'file')} ({size} of "
                f"{counted(d.bytes, 'byte')}): a partial list has fewer"
            )
        return ""
    if (d.files, d.bytes) != (len(d.entries), size):
        listed = f"{counted(len(d.entries), 'file')} of {counted(size, 'byte')}"
        return f"files = {d.files}, bytes = {d.bytes}, but the complete entries list {listed}"
    if d.digest != manifest_digest([Entry(e.path, e.size, e.value) for e in d.entries]):
        return (
            "digest: is not the manifest digest of the entries, which list every file (complete = true): the record "
            "was made up or edited, and its data cannot be checked"
        )
    return ""


class _UnknownField(RecordError):
    """A field this envsnap does not know: refused, and said whether the seal says who wrote it (``_newer``)."""


def _newer(data: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """What an unknown field's refusal adds, as a lock's does (``lockfile.newer_writer``): the envsnap that wrote the
    record, when it is newer than this one (the schema version stays 1 when a field is added, docs/runrecord.md),
    and the seal matches the record as written, unknown fields and all. A record whose seal does not match was
    edited after it was written: nothing."""
    newer = lockfile.newer_writer(meta.get("generator"))
    digest = meta.get("content_digest")
    if not newer or not isinstance(digest, str) or canonical_digest(data) != digest:
        return ""
    return f"; the record was written by {newer}: upgrade envsnap"


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type[T], data: Any, path: str, origin: str) -> T:
    where = path or "(top level)"
    if not isinstance(data, Mapping):
        raise RecordError(f"{origin}: {where}: expected a table, got {value_kind(data)}")
    fields = {f.name: f for f in dataclasses.fields(typing.cast(Any, cls))}
    hints = _hints(typing.cast(type, cls))
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise _UnknownField(f"{origin}: {path + '.' if path else ''}{unknown[0]}: unknown field")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RecordError(f"{origin}: {sub}: required field is missing")
            continue
        kwargs[name] = _convert(hints[name], data[name], sub, origin, f.metadata.get("rule"))
    return cls(**kwargs)


def _convert(tp: Any, value: Any, path: str, origin: str, rule: tuple[Callable[[Any], bool], str] | None) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return _convert(args[0], value, path, origin, rule)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value, path, origin)
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, list):
            raise RecordError(f"{origin}: {path}: expected an array, got {value_kind(value)}")
        return tuple(_convert(args[0], item, f"{path}[{i}]", origin, rule) for i, item in enumerate(value))
    if type(value) is not tp:
        raise RecordError(f"{origin}: {path}: expected {value_kind(tp())}, got {value_kind(value)}")
    if rule is not None and not rule[0](value):
        raise RecordError(f"{origin}: {path}: not a valid {rule[1]}: {grammar.shown(value)}")
    return value
