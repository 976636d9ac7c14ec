from __future__ import annotations

from . import COMMAND_HELP, EXIT_OK, EXIT_WARNINGS, PathValue, _output

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from ..compare.diff import Change, DiffReport


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff",
        help=COMMAND_HELP["diff"],
        description="Added, removed and changed packages with the kind of change (major, minor, "
        "patch, local label, build, source), and changes in driver, CUDA, cuDNN, GPUs, Python, OS "
        "and system libraries. Exit 0 when the locks describe the same environment (as far as both record it), 1 "
        "when not.",
    )
    p.add_argument(
        "a",
        type=PathValue("lockfile"),
        metavar="A",
        help="the old lockfile, or a bundle (directory or archive): the lock it holds; - reads it from standard input",
    )
    p.add_argument(
        "b",
        type=PathValue("lockfile"),
        metavar="B",
        help="the new lockfile, or a bundle (directory or archive): the lock it holds; - reads it from standard input",
    )
    p.add_argument("--json", action="store_true", help="the changes as JSON")
    # Once the report is written there is nothing left to tidy: the process ends without the interpreter's
    # teardown (freeing two large locks' tables took 0.025 s of a cold 5,000-distribution diff's 0.25 s).
    p.set_defaults(func=run, leave_at_once=True)


def direct_arguments(argv: Sequence[str]) -> _Arguments | None:
    """What argparse makes of ``envsnap diff ARGV``, read without it, for the one form a diff is written in: two
    operands that do not start with ``-`` and, anywhere among them, ``--json`` at most once. None for anything
    else (an option, ``--help``, a third operand, ``--js``, an empty operand), which argparse reads and answers as
    ever.

    A cold diff of two large locks is a race against the interpreter's own start: building the parser and
    reading the line took 0.008 s of its 0.2 s. tests/compare/test_diff_cli.py compares the two readings."""
    operands = [arg for arg in argv if arg != "--json"]
    if len(operands) != 2 or len(argv) - len(operands) > 1 or any(not arg or arg.startswith("-") for arg in operands):
        return None
    # Not argparse's Namespace: importing argparse (and gettext with it) was 1.5-2 ms of a cold diff's start.
    return _Arguments(command="diff", a=operands[0], b=operands[1], json=len(argv) == 3, func=run, leave_at_once=True)


class _Arguments:
    """What argparse's ``Namespace`` would hold for a command line ``direct_arguments`` read, as attributes."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)


def run(args: argparse.Namespace) -> int:
    from .._gcpause import paused
    from ..compare.diff import diff_files

    # The collector stays off until the report is written: turned on while two large locks' tables are alive, its
    # first full run over them (10 ms) came while the report was printed, and the program then ends at once.
    with paused():
        report = _diff(args.a, args.b, diff_files)  # both without secrets, as in an export
        if args.json:
            _output.print_json(report.to_dict())
        else:
            print_report(report)
    # Exit 1 only for a difference both locks know of: every entry unknown to one lock (a capture against its
    # import) is the same environment as far as both record, as verify says.
    return EXIT_WARNINGS if report.differs else EXIT_OK


def _diff(a: str, b: str, diff_files: Callable[[str, str], DiffReport]) -> DiffReport:
    """The report of ``diff A B``, either of which may be a bundle (a folder, or an archive ``envsnap bundle``
    wrote): its lock is read as check, verify, show and export read it (``load_lock_or_bundle``), once the bundle
    passed its checks, and any refusal is theirs. Two plain locks take ``diff_files``'s way (the parsed-lock cache,
    the second lock loaded beside the first), and import nothing of the bundle reader: a bundle is known only from
    the loader's refusal of one, or a folder."""
    import os

    from .._defaults import ARCHIVE_SUFFIXES
    from ..errors import BundleNotALockError, NotALockfileError

    if STDIN in (a, b):
        return _diff_stdin(a, b)
    if not (os.path.isdir(a) or os.path.isdir(b)):
        try:
            return diff_files(a, b)
        except NotALockfileError as exc:
            # A, or B once A loaded, is a bundle, or no lock named as an archive (its refusal is the bundle
            # reader's): both read again below, A's error (if any) first.
            if not (isinstance(exc, BundleNotALockError) or exc.origin.endswith(ARCHIVE_SUFFIXES)):
                raise
    from .._defaults import LOCK_NAME
    from ..compare.diff import diff_loaded
    from ._lockarg import load_lock_or_bundle

    lock_a, lock_b = load_lock_or_bundle(a)[0], load_lock_or_bundle(b)[0]
    # A bundle folder's lock is in it; an archive's unpacked copy is gone: its labels read where the archive is.
    where = [os.path.join(path, LOCK_NAME) if os.path.isdir(path) else path for path in (a, b)]
    return diff_loaded(lock_a, lock_b, where[0], where[1])


# The operand that names standard input, as ``import -`` reads its file (``git show HEAD:envsnap.lock | envsnap diff -
# envsnap.lock``).
STDIN = "-"


def _diff_stdin(a: str, b: str) -> DiffReport:
    """The report of ``diff A B`` where one of them is ``-``: that lock read from standard input under the limits of a
    lock on disk (``_readlimits.read_stdin_bytes``: its size, not a terminal, not empty), UTF-8, and checked as
    ``lockfile.load`` checks one; the other read as ever (a lock or a bundle). Its ``{project}`` label is read where
    the command runs, as for a lock in the working directory."""
    import os

    from .. import _readlimits, lockfile
    from .._defaults import LOCK_NAME
    from ..compare.diff import diff_loaded
    from ..errors import LockfileError, UsageError
    from ._lockarg import load_lock_or_bundle

    if a == b:
        raise UsageError(
            f"-: both A and B name {_readlimits.STDIN_LABEL}, which holds one lock: name a file for the other"
        )
    raw = _readlimits.read_stdin_bytes(error=LockfileError, what="lock")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LockfileError(f"-: {_readlimits.STDIN_LABEL} is not UTF-8 text (expected a TOML lockfile)") from None
    piped = lockfile.loads(text, origin=STDIN)
    other = b if a == STDIN else a
    locks = {STDIN: piped, other: load_lock_or_bundle(other)[0]}
    # A bundle folder's lock is in it: its labels read there, as for two named locks.
    where = {
        STDIN: os.path.join(os.getcwd(), STDIN),
        other: os.path.join(other, LOCK_NAME) if os.path.isdir(other) else other,
    }
    return diff_loaded(locks[a], locks[b], where[a], where[b])


def print_report(report: DiffReport) -> None:
    # Plain lines written at once, without rich: a console per line made printing 5,000 changes take longer
    # than finding them. write_lines makes every control character of the lock data visible, as say does.
    if report.identical:
        _output.write_lines("no differences", err=False)
        return
    from ..report import counted

    width = max(len(c.area) for c in report.changes)
    summary = ", ".join(f"{n} {kind}" for kind, n in report.counts().items())
    padded = {c.area: f"{c.area:<{width}}  " for c in report.changes}  # each area's column once, not per line
    # How a package was installed (the installer, the environment kind), where an editable one's hook points, or
    # an editable checkout named by its folder in one lock and by its commit in the other.
    made = [_made(c) for c in report.changes if c.change == "provenance"]
    but = " and ".join(f"the {s}" for s in sorted(set(made)))
    known = "" if report.differs else f" (nothing both locks record differs{f' but {but}' if but else ''})"
    _output.write_lines(
        *(padded[area] + line for area, line in _shown_lines(report.changes)),
        f"{counted(len(report.changes), 'change')}: {summary}{known}",
        err=False,
    )


def _made(change: Change) -> str:
    """How a provenance entry is named in the summary line."""
    if change.area != "python":
        return change.subject
    from ..compare.diff import (
        BUILT_BY_BUNDLE,
        BUILT_BY_SIBLING,
        BUNDLE_WHEEL_INSTALLED,
        BUNDLE_WHEEL_NAMED,
        ONE_FILE_MOVED,
        REQUESTED_OTHERWISE,
    )

    if change.kind == "artifact" and change.note in (BUILT_BY_BUNDLE, BUILT_BY_SIBLING):  # built from its source
        return f"wheel the bundle built for {change.subject}"
    if change.note.startswith((BUNDLE_WHEEL_INSTALLED, BUNDLE_WHEEL_NAMED)):  # rebuilt from a bundle
        return f"bundle's wheel installed for {change.subject}"
    if change.note.startswith(ONE_FILE_MOVED):  # one file by path from two folders (an archive unpacked twice)
        return f"folder of {change.subject}'s file"
    if change.kind == "artifact":  # a file one lock pins and the other's hashes allow
        return f"file pinned for {change.subject}"
    if change.note == REQUESTED_OTHERWISE:  # a VCS package's revision asked for otherwise: not an editable checkout
        return f"requested revision of {change.subject}"
    return f"editable {'checkout' if change.kind == 'source' else 'hook'} of {change.subject}"


# More unknown entries than this in one area (a captured lock's 700 system packages against an import that records
# none) read as one line; --json keeps every entry.
UNKNOWN_SHOWN = 3


def _shown_lines(changes: tuple[Change, ...]) -> list[tuple[str, str]]:
    """(area, text) lines of the report: each change, except that an area's many unknown entries are one line."""
    unknown: dict[str, list[Change]] = {}
    for change in changes:
        if change.change == "unknown":
            unknown.setdefault(change.area, []).append(change)
    if not unknown:  # two captured locks: every change its own line
        return [(change.area, change.shown()) for change in changes]
    out: list[tuple[str, str]] = []
    summarised: set[str] = set()
    for change in changes:
        group = unknown.get(change.area, [])
        if change.change != "unknown" or len(group) <= UNKNOWN_SHOWN:
            out.append((change.area, change.shown()))
        elif change.area not in summarised:
            summarised.add(change.area)
            out.append((change.area, f"{len(group)} entries unknown: {change.note}"))
    return out
