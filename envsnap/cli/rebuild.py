from __future__ import annotations

import argparse
import os
import sys
import time

from . import (
    COMMAND_HELP,
    EXIT_INCOMPATIBLE,
    PathValue,
    _output,
    add_allow_url,
    add_gpu_timeout,
    refuse_empty_path,
)
from ._plugin_table import TARGET_DEST, TARGET_FLAGS, target_flags
from .verify import exit_code, print_report

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from typing import Any

    from .._fetchpolicy import FetchRefusedError
    from .._installahead import Memo
    from .._venvahead import VenvAhead
    from ..probes.python import PendingProbe


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    targets = ", ".join(sorted(TARGET_DEST)) or "none"
    p = sub.add_parser(
        "rebuild",
        help=COMMAND_HELP["rebuild"],
        description="Run the compatibility check, plan the rebuild, carry it out with exactly the "
        "locked artifacts (hash-checked, no resolution), then verify the result. "
        f"Targets available: {targets}.",
    )
    p.add_argument(
        "lock",
        type=PathValue("lockfile"),
        metavar="LOCK",
        help="the lockfile, or a bundle (directory or archive): its lock, rebuilt from it",
    )
    p.add_argument("--target", default="venv", help="what to build: venv, docker or conda (default: venv)")
    p.add_argument(
        "--bundle",
        type=PathValue("bundle"),
        metavar="DIR|FILE.tar.gz",
        help="install from this bundle (`envsnap bundle`)",
    )
    p.add_argument("--offline", action="store_true", help="no network at all: everything from --bundle")
    add_allow_url(p)
    defaults = ", ".join(f"{name}: {TARGET_DEST[name]}" for name in sorted(TARGET_DEST))
    p.add_argument(
        "--dest",
        "--prefix",
        dest="dest",
        default=None,
        action=_DestAction,
        type=PathValue("folder to build in"),
        metavar="PATH",
        help=f"where to build (a venv, the conda prefix, or docker's build context; default per target: {defaults})",
    )
    p.add_argument(
        "--python",
        type=PathValue("Python interpreter"),
        metavar="PATH",
        help="the interpreter to build with (default: the locked version found on PATH, or by uv)",
    )
    p.add_argument(
        "--project",
        type=PathValue("project folder"),
        metavar="DIR",
        help="the project whose local packages ({project} in recorded "
        "directory URLs) are built into wheels (default: the git work tree around the working directory)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="rebuild even when the compatibility check fails (the override is recorded in the plan)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="use no cache: read and hash every bundle file again, parse and check the lock in full, and capture "
        "the host and verify the result without the capture cache, as `capture --no-cache` (by default a bundle "
        "file's sha256 is reused while its device, inode, size, mtime and ctime are those it had when it was hashed)",
    )
    p.add_argument(
        "--cpu-only",
        action="store_true",
        help="accept running without the GPU: the compatibility "
        "check's GPU failures become warnings (as for `envsnap check --cpu-only`)",
    )
    add_gpu_timeout(p, "reported (by the check and the verify)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        type=_key_value,
        help="a target-specific setting (e.g. tag=NAME for docker); repeatable",
    )
    p.add_argument("--json", action="store_true", help="print the plan (--dry-run) or the result as JSON")
    for name in sorted(TARGET_FLAGS):  # a target's own flags, e.g. docker's --base-image, conda's --engine
        group = p.add_argument_group(f"--target {name}")
        for flag, settings in TARGET_FLAGS[name].items():
            group.add_argument(flag, default=None, **settings)
    p.set_defaults(func=run, leave_at_once=True)


class _DestAction(argparse.Action):
    """``--dest``/``--prefix PATH``, with the one typed kept (``dest_option``): the messages about the destination
    name the option the user gave (the conda target said ``--prefix r1`` to a user who typed ``--dest r1``)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        refuse_empty_path(parser, self, values, option_string)
        setattr(namespace, self.dest, values)
        namespace.dest_option = option_string or ""


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{item!r} is not KEY=VALUE")
    return key.strip(), value


def run(args: argparse.Namespace) -> int:
    from .. import _signalhold

    # Once a venv rebuild has returned its verdict the venv stays: a Ctrl-C or SIGTERM from then on (the work begun
    # ahead shut down, the report printed) is held until the report is out, and the exit status is the verdict's.
    # It exited 130 with the venv in place, neither withdrawn nor reported.
    with _signalhold.armed() as hold:
        code = _run(args)
        if hold.caught is not None:
            _output.say(
                f"envsnap: {hold.caught} came once the rebuild had returned its verdict: the venv stays, as reported "
                "above, and the exit status is the verdict's"
            )
    return code


def _run(args: argparse.Namespace) -> int:
    began_ns = time.time_ns()
    from .._venvfirst import bundle_folder

    # ``rebuild BUNDLE`` is ``rebuild BUNDLE/envsnap.lock --bundle BUNDLE`` (``rebuild.rebuild``), and begins what
    # that form begins ahead; the arguments go on to the rebuild as given.
    folder = args.bundle or bundle_folder(args.lock)
    if folder:
        from .._prehash import start

        # A bundle folder's files are hashed while the rest of envsnap loads (its check takes the digests).
        start(folder, cache=not args.no_cache)
    venv_ahead: VenvAhead | None = None
    memo = None
    code = None
    # Everything begun ahead is inside the try: a Ctrl-C or SIGTERM while the lock is fingerprinted or the probe
    # loads left the staging folder (held by no one once envsnap was gone) beside --dest.
    try:
        if (
            args.target == "venv"
            and args.python is None
            and sys.executable
            and folder
            and os.path.isdir(folder)
            and not args.dry_run
        ):
            # The venv, made from the interpreter running envsnap while envsnap loads (the rebuild takes it when
            # its plan chose that interpreter, and removes it otherwise): it depends on nothing in the lock.
            from .._venvahead import DEFAULT_DEST, VenvAhead

            venv_ahead = VenvAhead.start(sys.executable, args.dest or DEFAULT_DEST)
        memo = (
            _begin_install(args, folder, venv_ahead)
            if folder and venv_ahead is not None and not args.no_cache
            else None
        )
        ahead = None
        if args.target == "venv" and args.python is None:
            # The check judges the interpreter the venv will be made from: the one running envsnap, when it is the
            # locked version (venv.find_interpreter tries it first), by its own facts only (the venv gets the
            # lock's distributions, not its): answered in-process. The check takes it only if that is the
            # interpreter it chose, and ends it otherwise.
            from ..errors import ProbeError
            from ..probes.python import PendingProbe
            from ..probes.target import interpreter_named

            try:
                ahead = (
                    PendingProbe(
                        sys.executable,
                        use_cache=not args.no_cache,
                        interpreter_only=True,
                        named=interpreter_named(sys.executable, args.target),  # found, not typed
                    )
                    if sys.executable
                    else None
                )
            except ProbeError:
                ahead = None  # the check probes the interpreter it chooses, and reports what is wrong with it
        code = _rebuild(args, ahead, venv_ahead)
    finally:
        if venv_ahead is not None:
            venv_ahead.cancel()
            if memo is not None:
                _keep_install(code, memo, venv_ahead, began_ns)
    return code


def _keep_install(code: int | None, memo: tuple[str, Any, Memo | None], venv_ahead: VenvAhead, began_ns: int) -> None:
    """After a rebuild that verified without a mismatch, keep its installer's command for the next one (when it is
    not the entry that began it); after any other outcome (an error: no ``code``), forget the entry that began
    one."""
    from .. import _installahead

    key, print_, begun = memo
    launched = venv_ahead.launched
    if code == 0 and print_ is not None and launched is not None and not venv_ahead.stale:
        if launched != begun:
            _installahead.remember(key, print_, began_ns, launched)
    elif begun is not None:
        _installahead.forget(key)


def _begin_install(args: argparse.Namespace, folder: str, venv_ahead: VenvAhead) -> tuple[str, Any, Memo | None]:
    """Start the installer of the last rebuild of this lock and bundle folder with these options, if there was one
    that verified (``_installahead``); what identifies this rebuild for the next one, and the entry begun."""
    from .. import _installahead, _tools
    from .._defaults import LOCK_NAME

    uv = _tools.uv() or ""
    options = {name: value for name, value in vars(args).items() if not callable(value)}
    key = _installahead.key(options, sys.executable, uv)
    lock = args.lock if args.bundle else os.path.join(folder, LOCK_NAME)  # ``rebuild BUNDLE``: the lock it holds
    print_ = _installahead.fingerprint(lock, folder)
    found = _installahead.lookup(key, print_, uv, str(venv_ahead.dest)) if uv else None
    if found is not None:
        venv_ahead.begin_install(found)
    return key, print_, found


def _rebuild(args: argparse.Namespace, ahead: PendingProbe | None, venv_ahead: VenvAhead | None) -> int:
    from ..rebuild import REGISTRY, Plan, rebuild

    rebuilder = REGISTRY.find(args.target)
    # A flag of another target (``--tag`` for a venv) or an ``--option`` this one does not take: bad input.
    options = rebuilder.options.given(args, owner=f"the {rebuilder.name} target", foreign=target_flags())
    from .._fetchpolicy import FetchRefusedError

    try:
        outcome = rebuild(
            args.lock,
            target=args.target,
            dest=args.dest,
            bundle=args.bundle,
            python=args.python,
            offline=args.offline,
            force=args.force,
            dry_run=args.dry_run,
            cpu_only=args.cpu_only,
            options=options,
            project=args.project,
            allow_urls=tuple(args.allow_url),
            progress=_output.progress(style="dim"),
            probe=ahead,
            use_cache=not args.no_cache,
            venv_ahead=venv_ahead,
            gpu_timeout=args.gpu_timeout,
            dest_option=getattr(args, "dest_option", ""),
        )
    except FetchRefusedError as exc:
        # A reviewer inside a bundle, without --bundle: the lock names the author's folder, the bundle its file.
        raise _bundle_beside(args, exc) from None
    if isinstance(outcome, Plan):
        if args.json:
            _output.print_json(outcome.to_dict())
        else:
            _output.write_block(outcome.describe())  # lock data: no control codes
        if outcome.check is not None and outcome.check.failed:
            # A dry run is a CI gate too: a host that fails the check exits 3, as the rebuild would have, with the
            # plan shown and its ``check`` saying why.
            reason = outcome.check.reason or "the host cannot run this lock"
            from ..rebuild import check_command

            command = check_command(args.lock, args.target, args.python)
            _output.write_lines(
                f"envsnap: error: compatibility check failed: {reason} (the plan is printed; run `{command}` "
                "for details, or pass --force to rebuild anyway)"
            )
            return EXIT_INCOMPATIBLE
        return 0
    if args.json:
        verdict = None if outcome.verify is None else outcome.verify.to_dict()
        _output.print_json(
            {
                "target": outcome.plan.target,
                "dest": outcome.dest,
                "notes": list(outcome.notes),
                "seconds": round(outcome.seconds, 3),
                "verify": verdict,
                "details": dict(outcome.details),
            }
        )
        return 0 if outcome.verify is None else exit_code(outcome.verify)
    for note in outcome.notes:
        _output.say(f"note: {note}")
    _output.say(f"rebuilt {outcome.plan.target} at {outcome.dest} in {outcome.seconds:.1f} s")
    if outcome.verify is None:
        return 0
    print_report(outcome.verify)
    return exit_code(outcome.verify)


def _bundle_beside(args: argparse.Namespace, exc: FetchRefusedError) -> FetchRefusedError:
    """A refused URL of a lock that is a bundle's, rebuilt without ``--bundle``: its remedy is that bundle, which
    holds the file (``--bundle .`` inside it), not ``--allow-url`` for a folder of the author's machine; else
    ``exc`` as it is. The folder is the user's, quoted by ``shell_shown`` (``shell_word`` refuses a newline)."""
    from ..artifacts.bundle import bundle_holding

    folder = bundle_holding(args.lock) if args.bundle is None and exc.refusal else None
    if folder is None:
        return exc
    from .. import sinks
    from .._fetchpolicy import FetchRefusedError

    return FetchRefusedError(
        f"{exc.refusal}; the lock is a bundle's, which holds the file: rebuild from it with "
        f"--bundle {sinks.shell_shown([folder])}",  # the user's folder: a newline in it is bash's $'\\x0a'
        exc.refusal,
    )
