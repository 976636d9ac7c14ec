from __future__ import annotations

import argparse
import os
import time

from ..errors import EnvsnapError
from . import COMMAND_HELP, PathValue

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_DRIFT = 3  # --strict: the environment does not match the lock; the command was not started
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
DEFAULT_RECORD = "run.toml"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help=COMMAND_HELP["run"],
        description="Run CMD with its output untouched and write a run record: the command, "
        "its exit status, duration and peak memory, the GPUs it was allowed and used, the lock it "
        "ran under (checked with a quick verify), the git commit, every shared object the process "
        "tree loaded (matched to the lock's packages), and fingerprints of its data and outputs. "
        "Exits with the command's status.",
    )
    p.add_argument(
        "--lock",
        type=PathValue("lockfile"),
        metavar="LOCK",
        help="the lock the run should match (default: none; the "
        "environment is captured and stored beside the record as RUN.lock)",
    )
    p.add_argument(
        "--data",
        action="append",
        default=[],
        type=PathValue("file or folder the command reads"),
        metavar="PATH",
        help="an input file or directory to fingerprint before the run (repeatable)",
    )
    p.add_argument(
        "--data-fast",
        action="store_true",
        help="fingerprint --data and --output by size and "
        "modification time instead of sha256 of the content (recorded as such)",
    )
    p.add_argument(
        "--output",
        action="append",
        default=[],
        type=PathValue("file or folder the command writes"),
        metavar="PATH",
        help="an output file or directory to fingerprint after the run (repeatable)",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME",
        help="record this environment variable's value at the start (or that it is unset), for rerun to set it "
        "again: a variable the script reads itself, such as SEED (repeatable; the value is published with the "
        "record: never name a secret)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="verify before starting and refuse to start (exit 3) when the environment does not match --lock",
    )
    p.add_argument(
        "--python",
        type=PathValue("Python interpreter"),
        metavar="PATH",
        help="the environment to verify or capture (default: the "
        "interpreter CMD names when it is python, else as `envsnap verify` chooses)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="verify (or capture) the environment in full even "
        "when an earlier run found it unchanged since (also ENVSNAP_RUN_CACHE=0), and load the lock without the "
        "parsed-lock cache",
    )
    p.add_argument(
        "-o",
        dest="record",
        default=DEFAULT_RECORD,
        type=PathValue("run record"),
        metavar="RUN.toml",
        help="where to write the run record (default: %(default)s; an earlier record there is replaced, said on a "
        "line; any other file there is refused before the command runs)",
    )
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD", help="the command and its arguments, after --")
    # Once the record is written there is nothing left to tidy: the process ends without the interpreter's teardown.
    p.set_defaults(func=run, leave_at_once=True)


def byte_progress() -> Callable[[int, int], None] | None:
    """A progress line on stderr every second or so while data is hashed, when stderr is a terminal."""
    if not os.isatty(2):
        return None
    from . import _output

    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= 1.0:
            last[0] = now
            _output.write_lines(f"envsnap: hashing data: {done >> 20} of {total >> 20} MiB")

    return show


def command_of(args: argparse.Namespace) -> list[str]:
    argv = list(args.command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise EnvsnapError("no command given: envsnap run [OPTIONS] -- CMD [ARGS...]")
    return argv


def run(args: argparse.Namespace) -> int:
    from ..runs.recorder import (
        RunRequest,
        earlier_record,
        named_variables,
        record_folder,
        recordable_command,
        run_command,
    )

    argv = command_of(args)
    variables = named_variables(args.env, os.environ)  # as the command gets them: read before it starts
    recordable_command(argv, args.data, args.output)
    # os.path, not pathlib: what `envsnap run` imports before the command starts delays it (tests/runs/test_run.py)
    # Found out before the command runs, not after: its record would be lost.
    if args.record == "-":  # standard output is the command's own; the record went into a file named "-"
        raise EnvsnapError(f"-o -: the record is a file (standard output is the command's): -o {DEFAULT_RECORD}")
    from .._samefile import refuse_output_inside, refuse_output_over_input

    # The lock it is checked against, the data it fingerprints, the command's own outputs: never the record's file.
    inputs = [
        ("the lock", args.lock or ""),
        *(("--data", p) for p in args.data),
        *(("--output", p) for p in args.output),
    ]
    refuse_output_over_input(args.record, inputs)
    # Nor in a folder it fingerprints: the record and its lock would be files of it, found by every rerun.
    for option, paths in (("--data", args.data), ("--output", args.output)):
        for path in paths:
            refuse_output_inside(
                args.record,
                path,
                f"the {option} folder",
                "put the record and its lock in what it fingerprints, and every rerun would find them there",
            )
    record_folder(args.record, "-o ")
    replaced = earlier_record(args.record, captures=not args.lock)  # a file of the user's own there: exit 2
    request = RunRequest(
        argv=tuple(argv),
        record=args.record,
        lock=args.lock or None,
        data=tuple(args.data),
        outputs=tuple(args.output),
        variables=variables,
        fast=args.data_fast,
        strict=args.strict,
        python=args.python,
        use_cache=not args.no_cache,
    )

    def say(message: str) -> None:
        from . import _output

        _output.write_lines(f"envsnap: {message}")

    # DriftError (--strict, exit 3) and CommandError (126, 127) carry their exit codes to main.
    record, finished = run_command(request, say=say, progress=byte_progress())
    missing = [lib for lib in record.loaded.libraries if not lib.accounted]
    state = "interrupted, " if finished.interrupted else ""
    if finished.received and not finished.signal:
        # The command outlived the signal (it caught it and exited): the line names what interrupted it.
        state = f"interrupted by {_signal_name(finished.received)}, "
    signal = f" ({finished.signal})" if finished.signal else ""
    from .. import sinks

    record_word = sinks.shell_shown([os.fspath(args.record)])  # as the command below names it
    say(
        f"recorded {record_word} ({state}exit {finished.exit_status}{signal}, "
        f"{finished.duration_ms / 1000:.1f} s; {len(record.loaded.libraries)} shared objects loaded, "
        f"{len(missing)} not accounted for by the lock)"
    )
    for lib in missing[:10]:
        say(f"  not accounted for: {lib.path}" + (f" ({lib.note})" if lib.note else ""))
    if len(missing) > 10:
        say(f"  ... and {len(missing) - 10} more (envsnap show {record_word})")
    if replaced:
        say(replaced)
    if finished.cut_short_by:
        return 128 + finished.cut_short_by  # `envsnap run ... && next` stops after a Ctrl-C or SIGTERM, as after any
    if finished.passed_on:
        # Passed on to the command, which has ended, whatever its status (a trainer that caught SIGTERM at a job's
        # time limit and exited 0 made envsnap exit 0: the scheduler read a job that completed): the signal's line
        # and 128+N, as `rerun` and every other command end (143 for SIGTERM, 130 for a Ctrl-C, 129 for SIGHUP).
        from . import Terminated, interrupted

        sig, name = finished.passed_on, _signal_name(finished.passed_on)
        return interrupted(KeyboardInterrupt() if name == "SIGINT" else Terminated(sig, name))
    return finished.exit_status


def _signal_name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name
