from __future__ import annotations

import argparse
import os

from . import COMMAND_HELP, PathValue, _output, add_gpu_timeout, add_no_cache, exit_for

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from pathlib import Path

    from ..compare.verdict import VerifyReport
    from ..model import Snapshot
    from ..probes.capture import Captured
    from ..probes.target import TargetEnvironment


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help=COMMAND_HELP["verify"],
        description="Capture an environment and compare it with the lock: every Python package "
        "(version, source, wheel tag, RECORD digest), then interpreter, OS, libc, system packages "
        "and the GPU stack; a conda environment's conda records too. Exit 0 when the environment is the locked "
        "one, 3 when its Python or conda layer differs.",
    )
    p.add_argument(
        "lock",
        type=PathValue("lockfile"),
        metavar="LOCK",
        help="the lockfile, or a bundle (directory or archive): its lock is verified against",
    )
    p.add_argument(
        "--python",
        type=PathValue("Python interpreter"),
        metavar="PATH",
        help="the environment's interpreter (default: $ENVSNAP_TARGET_PYTHON, else the active "
        "VIRTUAL_ENV, else the active CONDA_PREFIX, else the running one)",
    )
    p.add_argument(
        "--files",
        action="store_true",
        help="also hash every installed file and compare it with "
        "its RECORD (a conda package's: its conda-meta record): catches files edited or deleted after installation "
        "(slower: reads everything)",
    )
    p.add_argument(
        "--project",
        type=PathValue("project folder"),
        metavar="DIR",
        help="the project {project} in the lock names, where an editable project is looked for (default: the git "
        "work tree around the working directory, else the one around LOCK's folder)",
    )
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when there are warnings (and no mismatch)")
    add_gpu_timeout(p, "reported")
    add_no_cache(p)
    p.set_defaults(func=run, leave_at_once=True)


# Set in rebuilt images, where envsnap lives apart from the environment it verifies: ``--python``'s default.
TARGET_PYTHON = "ENVSNAP_TARGET_PYTHON"


def run(args: argparse.Namespace) -> int:
    import time

    started_ns = time.time_ns()
    from ..probes.target import select_environment

    if args.python is None and os.environ.get(TARGET_PYTHON):  # a rebuilt image's environment
        args.python = os.environ[TARGET_PYTHON]
        chosen = select_environment(args.python, python_from=TARGET_PYTHON)
    else:
        chosen = select_environment(args.python)
    use_cache = not args.no_cache
    args.project_root = _project_of(args)
    # An environment verified against this lock before, with nothing it read changed since: the same report.
    memo = _Memo.of(args, chosen) if use_cache and not args.files else None
    report = memo.answer() if memo is not None else None
    if report is None:
        report = _verify(args, chosen, use_cache, memo, started_ns)
    # The first line says which environment was verified (on stderr under --json, which owns stdout); printed
    # once it is known to be one, so that an error stays the only line.
    _output.first_line(f"verifying {chosen.describe()} against {args.lock}", json_output=args.json)
    if args.json:
        _output.print_json(report.to_dict())
    else:
        print_report(report, python_layer=chosen.python_layer)
    return exit_code(report, strict=args.strict)


def _verify(
    args: argparse.Namespace, chosen: TargetEnvironment, use_cache: bool, memo: _Memo | None, started_ns: int
) -> VerifyReport:
    # The target interpreter starts scanning its environment now, while the rest of envsnap loads (as capture
    # does): its start and scan overlap envsnap's imports and the lock's load on another core.
    from ..probes.pending import PendingProbe

    probe = (
        PendingProbe(chosen.python, check_files=args.files, use_cache=use_cache, named=chosen.named())
        if chosen.python is not None and chosen.python_layer
        else None
    )
    # The package database and the loader are read while envsnap loads the rest of itself (as capture does).
    from ..probes.hostlibs import prepare_early

    prepared = prepare_early(chosen.cache_identity(), use_cache)
    from .. import verify  # the library call: it judges the environment's CUDA kernels on this host's GPUs
    from ._lockarg import load_lock_or_bundle

    lock, bundled = load_lock_or_bundle(args.lock)  # a bundle's lock once the bundle passed its checks
    # A bundle folder's wheels, which a remedy installs offline: an archive's are gone once it is read.
    wheels = None
    if bundled and os.path.isdir(args.lock):
        from ..artifacts.bundle import WHEELS

        wheels = os.path.join(os.path.abspath(args.lock), WHEELS)
    kept: list[Captured] = []
    report = verify(
        lock,
        files=args.files,
        environment=chosen,
        cache=use_cache,
        probe=probe,
        prepared=prepared,
        kept=kept,
        gpu_timeout=args.gpu_timeout,
        project=args.project_root,
        lock_named=args.lock,
        wheels=wheels,
    )
    from ..compare.verify import reads_checkouts

    # A report that read an editable package's git checkout is not kept: no file the memo watches stamps its HEAD.
    if (
        memo is not None
        and kept
        and not reads_checkouts(lock)
        and not any(w.startswith("nvidia") for w in kept[0].snapshot.envsnap.warnings)
    ):
        memo.keep(kept[0], started_ns, report, lock)
    return report


def _project_of(args: argparse.Namespace) -> str | None:
    """The folder ``{project}`` in the lock names: ``--project DIR`` (the git work tree around it, else the folder
    itself), else the work tree around the working directory (None: the capture finds it), else the one around
    LOCK's folder (a lock kept in its project, verified from elsewhere), else None: nothing names it here."""
    from ..probes.gitstate import LOCATION_VARIABLES, below_git
    from ..probes.project import lock_project, project_root

    if args.project is not None:
        return str(project_root(args.project))
    # Asked without git (the capture asks git for the work tree once, later): a second ``rev-parse`` here cost every
    # verify in a work tree, a memo's answer included, a run of git. A folder with a ``.git`` above that git calls no
    # work tree gets None too, and the verify then reads {project} from the lock's folder itself.
    try:
        if any(name in os.environ for name in LOCATION_VARIABLES) or below_git(os.getcwd()):
            return None
    except OSError:
        pass  # the working directory is gone: no work tree around it
    return lock_project(args.lock)


class _Memo:
    """The verify memo: this environment's report against this lock, kept with what the capture behind it read
    (``probes/memo.py``, as ``capture``'s memo keeps a lock), and given again while none of it changed."""

    def __init__(self, path: Path, fact: str, chosen: TargetEnvironment, project: list[object]) -> None:
        self.path, self.fact, self.chosen, self.project = path, fact, chosen, project

    @classmethod
    def of(cls, args: argparse.Namespace, chosen: TargetEnvironment) -> _Memo | None:
        import hashlib
        from pathlib import Path

        from .. import _readlimits
        from .._defaults import capture_cache_path
        from ..errors import LockfileError
        from ..probes import memo

        if not memo.eligible(project=args.project, deep=False, pin=False, json_too=False, environ=os.environ):
            return None
        try:  # the lock's exact text is part of the key; a lock that cannot be read fails in the full verify
            raw = _readlimits.read_bytes(Path(args.lock), error=LockfileError, what="lockfile")
        except LockfileError:
            return None
        lock = hashlib.sha256(raw).hexdigest()
        # Inside a git work tree: its root, which recorded paths are written against (verify records no git
        # state, and its lock is read, never written, so nothing else of git decides the report).
        project = memo.project_facts(state=False, exclude=())
        path = capture_cache_path("verify", memo.memo_identity(chosen.cache_identity(), project), memo.SUFFIX)
        if path is None:
            return None
        # The folder {project} names where the working directory is in no work tree (the one around the lock's).
        # LOCK as typed too: a conda mismatch's remedy names it (``envsnap rebuild LOCK``).
        command = ["verify", args.python, chosen, lock, args.lock, *project, args.project_root]
        return cls(path, memo.facts(command, os.environ), chosen, project)

    def answer(self) -> VerifyReport | None:
        from ..compare.verdict import report_of
        from ..probes import memo

        kept = memo.lookup_answer(self.path, self.fact)
        if kept is None:
            return None
        day = kept.get("day", "") if isinstance(kept, dict) else ""
        if day:  # judged by the date (a GPU's remedy): given again on that day alone
            from ..compat.target import current_date

            if day != current_date():
                return None
        try:
            return report_of(kept)
        except (TypeError, ValueError, KeyError):
            return None  # not a report (garbage written over it): verify in full

    def keep(self, captured: Captured, started_ns: int, report: VerifyReport, lock: Snapshot) -> None:
        from ..compare.verdict import plain_report
        from ..probes import memo

        if not memo.recorded_as_keyed(captured, self.project):
            return
        from ..compare.verify import judged_by_date

        watch = memo.watch_of(captured, self.chosen, os.environ)
        # The memo's key is what the capture read, never the date: a report the date may change is kept with its day.
        day = ""
        if judged_by_date(report):
            from ..compat import kernels_by_date
            from ..compat.target import current_date

            day = current_date() if kernels_by_date(lock, captured.snapshot, os.environ) else ""
        memo.save_answer(self.path, self.fact, watch, started_ns, {**plain_report(report), "day": day})


def exit_code(report: VerifyReport, *, strict: bool = False) -> int:
    return exit_for(report.worst(), strict=strict)


def print_report(report: VerifyReport, *, python_layer: bool = True) -> None:
    from ..compare.verdict import INFO, MISMATCH, WARNING
    from ..report import counted

    styles = {MISMATCH: "red", WARNING: "yellow", INFO: "dim"}
    for severity in (MISMATCH, WARNING, INFO):
        found = report.by_severity(severity)
        if not found:
            continue
        _output.say((f"{severity} ({len(found)})", f"bold {styles[severity]}"), err=False)
        for at, diff in enumerate(found):
            _output.say(f"  {diff.area}: {diff.shown()}", err=False)  # lock data: text, no control codes
            # A command, its words shell-quoted (compare/verify.py with_remedies), once after a run of differences
            # it answers alike (every conda difference: rebuild the locked conda environment).
            following = found[at + 1].remedy if at + 1 < len(found) else ""
            if diff.remedy and diff.remedy != following:
                _output.say(f"    remedy: {diff.remedy}", err=False)
    verdict = ("identical", "green") if report.identical else ("DIFFERENT", "red")
    what = "matches" if report.identical else "does not match"
    follow = report.consequences
    verb = "follows" if len(follow) == 1 else "follow"
    causes = f"; {len(follow)} of the differences {verb} from {follow[0].cause}" if follow else ""
    warnings = f"{counted(len(report.by_severity(WARNING)), 'warning')}{causes}"
    # A conda environment without Python has no Python layer: its verdict is the environment's (conda, host).
    # What differs is named by its layer: a conda record missing is not the Python layer's mismatch.
    layers = {"conda" if d.area == "conda" else "Python" for d in report.by_severity(MISMATCH)}
    checked = f"{counted(report.packages_checked, 'package')} checked, {warnings}"
    both = (
        f"{counted(report.packages_checked, 'Python package')} and "
        f"{counted(report.conda_checked, 'conda package')} checked, {warnings}"
    )
    if layers == {"conda", "Python"}:
        summary = f"the Python and conda layers do not match the lock ({checked})"
    elif layers == {"conda"} and python_layer:
        summary = f"the conda layer {what} the lock (the Python layer matches: {checked})"
    elif python_layer and report.conda_checked and not layers:
        # The conda records were compared too (a conda environment's lock, verified in a conda prefix): it said
        # "the Python layer matches the lock", as if they were not.
        summary = f"the Python and conda layers match the lock ({both})"
    elif python_layer and report.conda_checked:
        summary = f"the Python layer {what} the lock, the conda layer matches ({both})"
    elif python_layer:
        summary = f"the Python layer {what} the lock ({checked})"
    else:
        summary = f"the environment (no Python layer) {what} the lock ({warnings})"
    _output.say(verdict, f": {summary}", err=False)
