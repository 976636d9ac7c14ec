from __future__ import annotations

import argparse
import os

from . import COMMAND_HELP, _output, add_no_cache, exit_for

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from ..compare.verify import VerifyReport


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help=COMMAND_HELP["verify"],
        description="Capture an environment and compare it with the lock: every Python package "
        "(version, source, wheel tag, RECORD digest), then interpreter, OS, libc, system packages "
        "and the GPU stack. Exit 0 when the Python layer is identical, 3 when it is not.",
    )
    p.add_argument("lock", metavar="LOCK", help="the lockfile")
    # Set in rebuilt images, where envsnap lives apart from the environment it verifies.
    p.add_argument(
        "--python",
        metavar="PATH",
        default=os.environ.get("ENVSNAP_TARGET_PYTHON") or None,
        help="the environment's interpreter (default: $ENVSNAP_TARGET_PYTHON, else the active "
        "VIRTUAL_ENV, else the active CONDA_PREFIX, else the running one)",
    )
    p.add_argument(
        "--files",
        action="store_true",
        help="also hash every installed file and compare it with "
        "its RECORD: catches files edited or deleted after installation (slower: reads everything)",
    )
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when there are warnings (and no mismatch)")
    add_no_cache(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..probes.target import select_environment

    chosen = select_environment(args.python)
    # The target interpreter starts scanning its environment now, while the rest of envsnap loads (as capture
    # does): its start and scan overlap envsnap's imports and the lock's load on another core.
    use_cache = not args.no_cache
    from ..probes.python import PendingProbe

    probe = (
        PendingProbe(chosen.python, check_files=args.files, use_cache=use_cache)
        if chosen.python is not None and chosen.python_layer
        else None
    )
    # The package database and the loader are read while envsnap loads the rest of itself (as capture does).
    from ..probes.hostlibs import prepare_early

    prepared = prepare_early(chosen.cache_identity(), use_cache)
    from ..compare.verify import verify

    report = verify(args.lock, files=args.files, environment=chosen, cache=use_cache, probe=probe, prepared=prepared)
    # The first line says which environment was verified (on stderr under --json, which owns stdout); printed
    # once it is known to be one, so that an error stays the only line.
    _output.first_line(f"verifying {chosen.describe()} against {args.lock}", json_output=args.json)
    if args.json:
        _output.print_json(report.to_dict())
    else:
        print_report(report, python_layer=chosen.python_layer)
    return exit_code(report, strict=args.strict)


def exit_code(report: VerifyReport, *, strict: bool = False) -> int:
    return exit_for(report.worst(), strict=strict)


def print_report(report: VerifyReport, *, python_layer: bool = True) -> None:
    from ..compare.verify import INFO, MISMATCH, WARNING

    styles = {MISMATCH: "red", WARNING: "yellow", INFO: "dim"}
    for severity in (MISMATCH, WARNING, INFO):
        found = report.by_severity(severity)
        if not found:
            continue
        _output.say((f"{severity} ({len(found)})", f"bold {styles[severity]}"), err=False)
        for diff in found:
            _output.say(f"  {diff.area}: {diff.describe()}", err=False)  # lock data: text, no control codes
    verdict = ("identical", "green") if report.identical else ("DIFFERENT", "red")
    what = "matches" if report.identical else "does not match"
    follow = report.consequences
    causes = f"; {len(follow)} of the differences follow from {follow[0].cause}" if follow else ""
    warnings = f"{len(report.by_severity(WARNING))} warnings{causes}"
    # A conda environment without Python has no Python layer: its verdict is the environment's (conda, host).
    summary = (
        f"the Python layer {what} the lock ({report.packages_checked} packages checked, {warnings})"
        if python_layer
        else f"the environment (no Python layer) {what} the lock ({warnings})"
    )
    _output.say(verdict, f": {summary}", err=False)
