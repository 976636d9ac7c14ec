from __future__ import annotations

import argparse
import sys

from . import COMMAND_HELP, PathValue, _output, add_gpu_timeout, add_no_cache, exit_for

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from ..compat import Report
    from ..model import Snapshot


_STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ._plugin_table import HOST, TARGET_DEST

    p = sub.add_parser(
        "check",
        help=COMMAND_HELP["check"],
        description="Probe this host (nothing is written) and report, rule by rule, whether it can run the "
        "locked environment: platform, Python, wheel tags, glibc, CPU, NVIDIA driver, GPU kernels, CUDA "
        "libraries, disk space, and the Docker engine for --target docker. Exit status: 0 compatible, "
        "1 warnings with --strict, 3 incompatible, 2 bad input.",
    )
    p.add_argument(
        "lock",
        type=PathValue("lockfile"),
        metavar="LOCK",
        help="the lockfile, or a bundle (directory or archive): its lock is checked",
    )
    p.add_argument(
        "--target",
        choices=(HOST, *TARGET_DEST),
        default=HOST,
        help="where the environment would be rebuilt (default: %(default)s)",
    )
    p.add_argument(
        "--python",
        type=PathValue("Python interpreter"),
        metavar="PATH",
        help="the interpreter that would run the environment "
        "(host and venv targets; default: for venv, the one `rebuild --target venv` would take; else the active "
        "VIRTUAL_ENV, else the active CONDA_PREFIX, else the running one)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when there are warnings (and no failures)")
    p.add_argument(
        "--cpu-only", action="store_true", help="accept running without the GPU: GPU failures become warnings"
    )
    add_gpu_timeout(p, "reported")
    add_no_cache(p)
    p.set_defaults(func=run, leave_at_once=True)


def exit_code(report: Report, *, strict: bool) -> int:
    return exit_for(report.worst(), strict=strict)


def render(report: Report, lock_path: str) -> _output.Table:
    # Needed and found quote the lock: text cells, never markup, no control codes. The remedies are printed under
    # the table (print_report): folded into a column, the commands in them could not be pasted.
    return _output.table(
        (((severity, _STYLES[severity]), *cells) for severity, *cells, _remedy in report.render_rows()),
        columns=("severity", "component", "needed", "found"),
        overflow="fold",
        title=f"envsnap check: {lock_path} (target: {report.target})",
    )


def print_report(report: Report, lock_path: str) -> None:
    """The table, then each finding's remedy as a line of its own, whole, then the verdict."""
    _output.print_table(render(report, lock_path))
    for _severity, component, _needed, _found, remedy in report.render_rows():
        if remedy:
            _output.say(f"remedy for {component}: {remedy}", err=False)
    _output.say(report.summary(), err=False)


def run(args: argparse.Namespace) -> int:
    from .._privacy import scrub_snapshot
    from ..api import check
    from ..probes.python import select_environment
    from ._lockarg import load_lock_or_bundle

    # A bundle's lock once the bundle passed its checks; its values are printed: without secrets.
    lock = scrub_snapshot(load_lock_or_bundle(args.lock)[0])
    rebuilt = _rebuild_python(args.target, lock, args.python)
    if rebuilt is not None:
        chosen = select_environment(rebuilt, python_from=f"the interpreter `rebuild --target {args.target}` would take")
        chosen_by = "rebuild"
    else:
        chosen = select_environment(args.python)
        chosen_by = chosen.why if chosen.why in ("--python", "VIRTUAL_ENV", "CONDA_PREFIX") else "envsnap"
    if not chosen.python_layer:
        # An active conda environment without Python cannot run the locked Python: envsnap's own does.
        why = f"envsnap's own interpreter: {chosen.why} names a conda environment without Python"
        chosen = select_environment(sys.executable).replace(why=why)
        chosen_by = "envsnap"
    report = check(
        lock,
        target=args.target,
        python=chosen.python,
        python_named=chosen.named(),
        cpu_only=args.cpu_only,
        cache=not args.no_cache,
        gpu_timeout=args.gpu_timeout,
        lock_path=args.lock,
    )
    # The first line names the environment (on stderr under --json); after the check, so an error stays one line.
    own = _brings_own_python(args.target)
    _output.first_line(f"checking {args.lock} {_judged(args.target, own, chosen.describe())}", json_output=args.json)
    if args.json:
        # The interpreter judged, as the first line names it, for a script that reads only the JSON: its path (the
        # running one where it is probed in-process) and what chose it; None where the target brings its own.
        judged = None if own else {"path": chosen.python or sys.executable, "chosen_by": chosen_by}
        _output.print_json({"lock": args.lock, **report.to_dict(), "python": judged})
    else:
        print_report(report, args.lock)
    from ..artifacts.bundle import outside_project_notes

    for note in outside_project_notes(lock):  # the lock's URL: text, never markup
        _output.say(f"note: {note}")
    return exit_code(report, strict=args.strict)


def _rebuild_python(target: str, lock: Snapshot, python: str | None) -> str | None:
    """The interpreter ``rebuild --target TARGET`` would make the environment from and judge, where ``--python``
    names none: the venv target's search for the lock's release (``preflight_python``: PATH, pyenv, ``uv python
    find``; nothing downloaded). None for the host, a target that brings its own Python, or one that finds none
    here: the environment chosen as for the host is judged then, as the rebuild's own check judges it. check --target
    venv judged envsnap's own interpreter (a pipx venv's 3.12 for a 3.11 lock) and failed a lock the rebuild took
    the python3.11 on PATH for."""
    from ..compat.target import HOST
    from ..rebuild import get

    if python is not None or target == HOST:
        return None
    rebuilder = get(target)
    if rebuilder.target_facts.provides_python:
        return None
    return rebuilder.preflight_python(lock, None, offline=True, dry_run=True)


def _brings_own_python(target: str) -> bool:
    """A target that brings its own Python (conda installs the locked one, an image has its base image's)."""
    from ..compat.target import HOST
    from ..rebuild import get

    return target != HOST and get(target).target_facts.provides_python


def _judged(target: str, own: bool, described: str) -> str:
    """What the check judges the lock's Python against: the interpreter chosen here, or, for a target that brings
    its own (conda installs the locked one, an image has its base image's), none of this host's: the first line
    of `check --target conda` named the active venv's interpreter, which the check did not use."""
    if own:
        return f"for --target {target}, which brings its own Python: no interpreter here is judged"
    return f"with {described}"
