from __future__ import annotations

import argparse

from .._defaults import LOCK_NAME
from . import COMMAND_HELP, PathValue, _output
from ._plugin_table import IMPORT_FORMATS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help=COMMAND_HELP["import"],
        description="Make an envsnap lock from a file people already have. Facts the file cannot carry "
        "(driver, GPUs, system libraries) are marked unknown in the lock. Formats: "
        + "; ".join(f"{name}: {description}" for name, description in IMPORT_FORMATS.items()),
    )
    p.add_argument("file", type=PathValue("file to import"), metavar="FILE", help="the file to import")
    p.add_argument(
        "--from",
        dest="fmt",
        default="auto",
        choices=["auto", *IMPORT_FORMATS],
        metavar="FORMAT",
        help=f"its format: auto (default), {', '.join(IMPORT_FORMATS)}",
    )
    p.add_argument(
        "--platform",
        default="",
        metavar="SUBDIR",
        help="the platform to take from a multi-platform conda-lock.yml (e.g. linux-64)",
    )
    p.add_argument(
        "-o",
        "--output",
        default=LOCK_NAME,
        type=PathValue("lockfile"),
        metavar="PATH",
        help="where to write the lock (default: %(default)s); '-' for stdout",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from .. import importers, lockfile
    from .._readlimits import too_large
    from .._samefile import refuse_output_over_input
    from ..errors import LockTooLargeError
    from ..importers.interface import ImportOptions

    refuse_output_over_input(args.output, [("the file to import", args.file)])

    # Outside any git work tree {project} is the folder of the lock, as pin, bundle, rebuild and export read it there.
    lock_folder = "" if args.output == "-" else os.path.dirname(os.path.abspath(args.output))
    snapshot = importers.read_file(args.file, args.fmt, ImportOptions(platform=args.platform, lock_folder=lock_folder))
    try:
        text = lockfile.dumps(snapshot)
    except LockTooLargeError as exc:  # named by the file it was made of
        said = too_large(f"{'-' if args.file == '-' else args.file}: the lock made of it", exc.size, exc.limit)
        raise LockTooLargeError(said, exc.size, exc.limit) from None
    if args.output == "-":
        # The lock on standard output, its warnings on standard error: they were left out with the summary, and a
        # pylock naming a folder outside its own was printed without a word.
        _output.write_document(text)
    else:
        from .._locktext import refuse_foreign

        # After the file is read: its own problem is the one line said, a file of the user's at -o kept either way.
        refuse_foreign(args.output, "import", named="" if args.output == LOCK_NAME else f"-o {args.output}")
        lockfile.write_text(text, args.output)
        from ..report import counted

        conda = f", {counted(len(snapshot.conda.packages), 'conda package')}" if snapshot.conda is not None else ""
        unknown = ", ".join(snapshot.envsnap.unknown) or "nothing"
        source = snapshot.envsnap.origin or ("standard input" if args.file == "-" else args.file)
        _output.say(
            f"wrote {args.output}: {counted(len(snapshot.python.packages), 'Python package')}{conda} "
            f"from {source}; unknown: {unknown}"
        )
    for warning in snapshot.envsnap.warnings:  # the imported file's words: text, never markup
        _output.say(("warning:", "yellow"), " ", warning)
    return 0
