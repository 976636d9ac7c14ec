from __future__ import annotations

import argparse
import os
import sys

from ..errors import EnvsnapError
from . import COMMAND_HELP, PathValue, _output

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ..runs.rerun import Check

EXIT_IDENTICAL = 0
EXIT_DIFFERS = 1  # an output differs, is missing, or the command's exit status is not the recorded one
EXIT_PRECONDITIONS = 3  # --strict or --dry-run: the environment, the code or the data differ (nothing was run)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rerun",
        help=COMMAND_HELP["rerun"],
        description="Say what differs from the recorded run (the environment against the lock it "
        "used, the git commit, each input file) before anything runs; then run the recorded command "
        "in the recorded directory and compare the outputs' fingerprints.",
    )
    p.add_argument("record", type=PathValue("run record"), metavar="RUN.toml", help="the run record")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--python",
        type=PathValue("Python interpreter"),
        metavar="PATH",
        help="verify this interpreter's environment and run the "
        "command with it (it replaces a recorded python as the command's program and comes first on "
        "PATH)",
    )
    where.add_argument(
        "--in-docker",
        metavar="IMAGE",
        help="verify and run inside this image (one `envsnap "
        "rebuild --target docker` made): the project is mounted at its path, and what the record names in your "
        "home (inputs read-only, outputs' folders writable); the command runs as you",
    )
    p.add_argument(
        "--gpus",
        metavar="WHICH",
        help="with --in-docker: the GPUs docker gives the container (all, none, or indexes or UUIDs: 0,1); "
        "default: for a run that used GPUs, those CUDA_VISIBLE_DEVICES names here, else all",
    )
    p.add_argument(
        "--lock",
        type=PathValue("lockfile"),
        metavar="LOCK",
        help="the lock to verify against (default: the one the record names, relative to the project)",
    )
    p.add_argument(
        "--data-root",
        action="append",
        default=[],
        type=PathValue("data folder"),
        metavar="DIR",
        help="also read the record's data paths that lie in this folder (repeatable); by default only those "
        "inside the project are read: any other is reported as not checked",
    )
    p.add_argument(
        "--ignore-output",
        action="append",
        default=[],
        type=PathValue("glob of outputs"),
        metavar="GLOB",
        help="leave the outputs, or files in an output folder, this glob matches out of the comparison (a log "
        "with timestamps): matched against the path as the record names it (results/train.log, *.log); "
        "repeatable",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="only check and report; run nothing (exit 3 when something differs)"
    )
    p.add_argument(
        "--strict", action="store_true", help="run nothing (exit 3) when the environment, the code or the data differ"
    )
    p.add_argument(
        "--yes",
        action="store_true",
        help="run the recorded command without asking (a record is "
        "someone's file: the command is shown and confirmed first otherwise)",
    )
    p.set_defaults(func=run)


def _confirm(argv: tuple[str, ...], cwd: Path, variables: tuple[str, ...] = ()) -> bool:
    from .. import sinks

    _output.write_lines(f"envsnap: the record runs, in {cwd}:", f"  {sinks.shell_shown(argv)}")
    if variables:  # what the command's environment gets from the record (in docker, -e words in argv above)
        _output.write_lines("  with the run's variables: " + ", ".join(variables))
    if not os.isatty(0):
        raise EnvsnapError(
            "not confirmed: standard input is not a terminal; read the command above and pass --yes to run it"
        )
    _output.write_lines("run it? [y/N]")
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import sinks
    from ..probes.python import is_python_name
    from ..runs import record as record_mod
    from ..runs import rerun as rerun_mod

    record_path = Path(args.record)
    record = record_mod.load(record_path)
    plan = rerun_mod.plan(
        record,
        lock=args.lock,
        python=args.python,
        in_docker=args.in_docker,
        record_path=record_path,
        data_root=args.data_root,
        gpus=args.gpus,
        ignore_output=args.ignore_output,
    )

    def out(*lines: str) -> None:
        _output.write_lines(*lines, err=False)

    out(f"rerunning {sinks.shell_shown([args.record])}: {record_mod.command_shown(record.command)}")
    if plan.root is not None and plan.root != rerun_mod.project_root():  # not yours: say which it is rerun in
        root, name = (sinks.shell_shown([os.fspath(p)]) for p in (plan.root, args.record))
        out(f"project: {root} (the git work tree {name} lies in, not the current folder's)")
    if plan.resolved:  # the record names paths by label: what each names here (the command shown to confirm has them)
        out("paths: " + ", ".join(f"{label} is {sinks.shell_shown([folder])}" for label, folder in plan.resolved))
    if plan.python is not None:
        recorded, name = record_mod.word_shown(record.command, 0), sinks.shell_shown([plan.python[1]])
        # "the interpreter its verify checks" only where one ran and reported: not for a record naming no lock, an
        # image without envsnap, or one docker has not (--dry-run).
        checked = ", the interpreter its verify checks" if plan.python_verified else ""
        out(f"python: {recorded} runs as the image's {name} (on the image's PATH){checked}")
    if args.python is not None and args.in_docker is None and is_python_name(record.command.argv[0]):
        # The header shows the recorded command; --dry-run and --yes show no other: say which python runs.
        recorded, name = record_mod.word_shown(record.command, 0), sinks.shell_shown([plan.argv[0]])
        out(f"python: {recorded} runs as {name} (--python)")
    if args.in_docker is not None and (plan.mounts or plan.unmounted):
        # What of your home the container sees: the command names it, the project alone is mounted otherwise.
        shown = [f"{sinks.path_shown(m.shown)} {'writable' if m.writable else 'read-only'}" for m in plan.mounts]
        if shown:
            out("mounted in the container: " + ", ".join(shown))
        for path, why in plan.unmounted:
            out(f"not in the container: {sinks.path_shown(path)}: {why}")
    if plan.no_gpu:
        out(
            f"gpus: docker is asked for none, and the container gets {rerun_mod.NO_GPU} (NVIDIA's runtime, where it "
            "is docker's default, then gives it none; the command sees the variable too)"
        )
    if plan.home:
        out("home in the container: ~ is an empty folder of yours (HOME), with what is mounted in it; gone after")
    for check in plan.checks:
        out(f"{check.area}: {check.state}", *(f"  {line}" for line in check.lines))
    result = record.result
    if result.interrupted:  # its outputs are what it left when stopped: a rerun run to its end is not that
        how = f"exit {result.exit_status}" + (f", {result.signal}" if result.signal else "")
        by = f" by {result.interrupted_by}" if result.interrupted_by else ""
        out(
            f"result: the run was interrupted{by} ({how}): it recorded what it left when stopped, which a rerun that "
            "runs to its end does not reproduce"
        )
    # A fresh clone lacks the folders git does not track (out/): the command would fail writing into them.
    made = ", ".join(sinks.path_shown(folder) for folder in plan.folders)
    if made:  # said made only once they are: a refused confirmation or an absent image makes none
        if args.dry_run or (args.strict and plan.differs):
            out(f"outputs: would make {made} (missing here; the command writes in them)")
        else:
            out(f"outputs: will make {made} before the command runs (missing here; the command writes in them)")
    for path, why in plan.unmade:
        out(f"outputs: not made for {sinks.path_shown(path)}: {why}")
    if args.dry_run or (args.strict and plan.differs):
        if args.strict and plan.differs:
            out("--strict: something differs; nothing was run")
        return EXIT_PRECONDITIONS if plan.differs else EXIT_IDENTICAL
    if plan.in_bundle is not None:  # said after the checks, which a reviewer there still reads (--dry-run too)
        from ..errors import UsageError

        raise UsageError(rerun_mod.in_bundle_refusal(plan, os.fspath(args.record)))
    variables = () if args.in_docker is not None else record_mod.variables_shown(record.command.variables)
    if not args.yes and not _confirm(plan.argv, plan.cwd, variables):
        raise EnvsnapError("not confirmed: nothing was run")
    if args.in_docker is not None:
        rerun_mod.require_image(args.in_docker, plan.env)
    made_now = rerun_mod.make_folders(plan)
    if made_now:
        out("outputs: made " + ", ".join(sinks.path_shown(folder) for folder in made_now))
    # Once the folders are made, as yours: the lookup runs in the command's working directory, which docker makes
    # as root where it is missing (and the command, run as you, could then write nothing there).
    if args.in_docker is not None and rerun_mod.image_lacks_program(plan, args.in_docker, plan.env):
        # As a local rerun says it (exit 127), where docker's init failed to start it and its 127 read as the
        # command's own exit status: "DIFFERENT", exit 1, for a command that never ran.
        from ..runs.execute import EXIT_NOT_FOUND, CommandError

        program = sinks.shell_shown([plan.lookup[-1]])
        raise CommandError(
            f"{program}: command not found in the image {args.in_docker}: nothing was run", EXIT_NOT_FOUND
        )
    before = rerun_mod.outputs_before(record, plan)
    finished = rerun_mod.run(plan)
    results = rerun_mod.compare_outputs(record, plan, before)
    same_status = finished.exit_status == record.result.exit_status
    import signal

    # The signal that ends the rerun as it ends any command (128+N): one passed on to the command, or the terminal's
    # Ctrl-C where it ended the command. One the command handled (it reached it directly, and it exited with a status
    # of its own) leaves the verdict to be given, as ``run`` exits with that status.
    received = signal.Signals(finished.received).name if finished.received else ""
    stop = finished.passed_on or (finished.received if received and finished.signal == received else 0)
    handled = f"interrupted by {received}" if received and not stop else ""
    notes = [n for n in (handled, "" if same_status else f"the run exited {record.result.exit_status}") if n]
    out(f"exit status: {finished.exit_status}" + (f" ({'; '.join(notes)})" if notes else ""))
    for r in results:
        # A shell word, as the folder made for it is named (``outputs: made``): one path, read one way.
        out(
            f"output {sinks.path_shown(r.path)}: {r.state}",
            *(f"  {sinks.path_shown(c.path)}: {c.what}" for c in r.changes),
            *(f"  {rerun_mod.unlisted_shown(name, how)}" for name, how in r.unlisted),
        )
        if r.state == rerun_mod.NOT_WRITTEN:
            out("  the command did not write it: what is there is from before the rerun, not compared")
        if r.kept:  # ten named, then how many more
            names = ", ".join(sinks.shell_shown([k]) for k in r.kept[:10])
            more = f" and {len(r.kept) - 10} more" if len(r.kept) > 10 else ""
            out(
                f"  {len(r.kept)} of {r.files} files from before the rerun, not written by it: {names}{more}"
                " (remove them for a clean rerun)"
            )
        if r.ignored:  # ten named, then how many more
            names = ", ".join(sinks.shell_shown([k]) for k in r.ignored[:10])
            more = f" and {len(r.ignored) - 10} more" if len(r.ignored) > 10 else ""
            out(f"  ignored (--ignore-output): {names}{more}")
        if r.why:
            out(f"  {r.why}" if r.state == rerun_mod.NOT_COMPARED else f"  not read: {r.why}")
    for glob in rerun_mod.unmatched_globs(results, plan.ignore):
        recorded = ", ".join(sinks.shell_shown([r.path]) for r in results)
        out(
            f"--ignore-output {sinks.shell_shown([glob])}: it matches no output, nor a file in one (each is matched "
            f"by its path as the record names it: {recorded or 'none recorded'})"
        )
    if not results:
        out("no outputs were recorded (envsnap run --output PATH): nothing to compare")
    if stop:
        # Passed on to the command, which has ended, or a Ctrl-C that ended it: the signal's own line and 128+N, as
        # anywhere else (143 for SIGTERM: a batch system tells a time limit from a Ctrl-C by it).
        from . import Terminated, interrupted

        return interrupted(
            KeyboardInterrupt() if stop == signal.SIGINT else Terminated(stop, signal.Signals(stop).name)
        )
    ok = same_status and all(r.state in ("identical", rerun_mod.IGNORED) for r in results)
    out(_verdict(os.fspath(args.record), ok, plan.checks))
    return EXIT_IDENTICAL if ok else EXIT_DIFFERS


def _verdict(record: str, ok: bool, checks: Sequence[Check]) -> str:
    """The last line: what the rerun's outputs show, and, where they match, what differed before it ran (the
    environment, the code, the data): ``identical: run.toml reproduced`` was printed below ``data: differs``, as if
    nothing had. The exit status is the outputs' (docs/cli.md), whichever line is printed."""
    from ..runs.rerun import DIFFERS

    if not ok:
        return f"DIFFERENT: {record} was not reproduced exactly"
    differing = [c.area for c in checks if c.state == DIFFERS]
    if not differing:
        return f"identical: {record} reproduced"
    areas = " and ".join([", ".join(differing[:-1]), differing[-1]] if len(differing) > 1 else differing)
    verb = "differ" if len(differing) > 1 else "differs"
    return f"identical: {record} reproduced its outputs; its {areas} {verb} (named above)"
