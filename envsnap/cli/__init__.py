"""The command line. Each command is a module here (not starting with ``_``) with ``register(subparsers)``, named
with its line of ``envsnap --help`` in ``COMMAND_HELP``; errors become exit codes in exactly one place, ``main``.

Start-up: a command module imports at its top only what ``register`` needs (argparse and this package); what the
command does is imported inside the function that runs it. ``envsnap --help`` reads ``COMMAND_HELP`` and imports
no command module, ``envsnap --version`` not even argparse, and ``envsnap COMMAND ...`` imports that command's
module only. Nothing on these paths imports ``typing`` (5 ms): ``TYPE_CHECKING`` is a constant of our own, which
mypy reads as true. tests/test_startup.py holds this; bench/startup.py measures it."""

from __future__ import annotations

import os
import sys

from .._version import __version__
from ..errors import EnvsnapError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import ModuleType
    from typing import Any

    from ..report import Severity

# Every command, in the order of ``envsnap --help``, with its line there. Its module has its name (``import_``
# holds ``import``: ``command_names``). tests/test_startup.py checks the table against the modules.
COMMAND_HELP = {
    "capture": "record this environment into a lockfile",
    "pin": "record the exact wheel file (URL, size, sha256) of every package",
    "show": "a short human summary of a lockfile or a run record",
    "check": "can this host run a locked environment?",
    "fleet": "one lock against every node of a Slurm cluster",
    "bundle": "a self-contained wheelhouse + lock that rebuilds offline",
    "rebuild": "rebuild the locked environment (venv, docker, conda)",
    "verify": "is this environment still the locked one?",
    "diff": "compare two lockfiles, most consequential change first",
    "export": "write a lock in a standard format (pylock, requirements, SBOM, appendix ...)",
    "audit": "how ready a lock or bundle is to be a paper artifact (badges)",
    "import": "make an envsnap lock from a pylock.toml, requirements.txt or conda lock",
    "run": "run a command and record what it ran in, loaded, read and wrote",
    "rerun": "check a run record's environment, code and data, run it again, compare its outputs",
    "clean": "remove what interrupted runs left, show and empty envsnap's caches",
}
# A command whose name is a Python keyword lives in a module with a trailing ``_``.
_MODULE = {"import": "import_"}

# One meaning per exit code, whatever the command (the table in docs/cli.md).
EXIT_OK = 0
EXIT_WARNINGS = 1  # warnings only, with --strict (check, verify, pin); two locks differ (diff)
EXIT_BAD_INPUT = 2  # any UsageError, an invalid lock or a bundle failing its checks: EnvsnapError.exit_code
EXIT_INCOMPATIBLE = 3  # a finding failed (check, rebuild's check) or a mismatch (verify, rebuild's verify)
EXIT_FAILED = 4  # the work itself failed: a build, an installer, bundling (RebuildError, BundleError)
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # SIGTERM ended the command as Ctrl-C does: 128 + N for signal N (SIGHUP: 129, ``Terminated``)


def exit_for(worst: Severity, *, strict: bool) -> int:
    """A report's exit code, the same for every command: a FAILURE is 3, WARNINGs are 1 with --strict."""
    from ..report import Severity

    if worst >= Severity.FAILURE:
        return EXIT_INCOMPATIBLE
    if strict and worst >= Severity.WARNING:
        return EXIT_WARNINGS
    return EXIT_OK


# Options several commands take, defined once so that their flag, help and default cannot drift apart.


def add_allow_url(parser: argparse.ArgumentParser | argparse._ArgumentGroup, when: str = "") -> None:
    """``--allow-url PATTERN`` (pin, bundle, rebuild, capture ``when`` it pins): widen where a lock may send envsnap."""
    parser.add_argument(
        "--allow-url",
        action="append",
        default=[],
        type=PathValue("URL pattern"),
        metavar="PATTERN",
        help=f"{when}also fetch lock URLs matching this shell-style pattern (e.g. 'http://127.0.0.1:8000/*', "
        "'file:///srv/wheels/*'); by default a lock sends envsnap only to the configured indexes and "
        "https hosts on public addresses; repeatable",
    )


class PathValue:
    """The ``type=`` of every option and argument that names a path, a folder, a file, a lock, an interpreter or a
    pattern of paths or URLs (``what``: what it names, as the refusal says it): the text as given, marked so that
    envsnap's parser refuses it empty (``refuse_empty_path``), whatever the command. ``--cache-dir "$CACHE"`` with the
    variable unset is ``--cache-dir ''``, which was read as the working directory (``Path('')`` is ``.``) or as the
    option not given: a default used without a word, a file written in the working directory."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, text: str) -> str:
        return text


class _Empty:
    """The value envsnap's parser gives an argument it refuses empty (``empty_refused``), in place of converting and
    checking the text: the action storing it says so (``refuse_empty_path``), naming the option as typed."""


EMPTY = _Empty()


def empty_refused(action: argparse.Action, texts: list[str]) -> bool:
    """Whether envsnap's parser refuses ``texts``, an argument's values as typed, as empty: a ``PathValue`` any of whose
    values is ``''``, or any other argument that takes one value given ``''`` (``--base-image "$IMAGE"``, ``--tag
    "$TAG"``, ``run --env "$NAME"`` with the variable unset): none has a meaning empty, and each was taken as given
    without a word, or read as the option not given. An argument that takes a list (a command's own arguments, any of
    which may be empty: ``python -c ''``) is taken as given."""
    if isinstance(action.type, PathValue):
        return "" in texts
    return action.nargs in (None, "?") and texts == [""]


def refuse_empty_path(
    parser: argparse.ArgumentParser, action: argparse.Action, values: Any, option: str | None
) -> None:
    """Exit 2 with one line naming the option as typed (``-o`` or ``--output``) where an argument is refused empty
    (``empty_refused``: the parser gave it ``EMPTY``): before the command does anything. Called by each action
    envsnap's parser stores a value with."""
    if values is not EMPTY:
        return
    if isinstance(action.type, PathValue):
        from .._readlimits import empty_path

        said = empty_path(action.type.what)
    else:
        choices = "|".join(map(str, action.choices)) if action.choices else ""
        expected = action.metavar or choices or action.dest.upper()
        said = f"'': the value is empty (expected {expected}); a shell variable left unset?"
    parser.error(f"{option} {said}" if option else said)


MAX_TIMEOUT = 86400.0


def seconds(text: str) -> float:
    """A timeout: positive and finite (``nan``, ``inf`` or ``1e300`` reached the subprocess call and crashed it)."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds > 0 and <= {MAX_TIMEOUT:g}")
    return value


def add_gpu_timeout(parser: argparse.ArgumentParser, verb: str, *, given_only: bool = False) -> None:
    """``--gpu-timeout SECONDS`` (capture, check): how long the NVML worker waits for the driver
    (``CaptureOptions.gpu_timeout``). ``given_only``: None when the option is not given (the default is then
    another program's: fleet's nodes', or half of ``--timeout``), so that what was given can be checked against other
    options."""
    from .._defaults import GPU_TIMEOUT

    parser.add_argument(
        "--gpu-timeout",
        type=seconds,
        default=None if given_only else GPU_TIMEOUT,
        metavar="SECONDS",
        help=f"how long the NVIDIA driver may take to answer before it is {verb} as hung (default: {GPU_TIMEOUT:g}"
        + (", or half of --timeout where that is less)" if given_only else ")"),
    )


def add_no_cache(parser: argparse.ArgumentParser) -> None:
    """``--no-cache`` (capture, check, verify): read every file the capture reads and every lock in full, and keep
    nothing (the capture cache and the parsed-lock cache, ``_main``)."""
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="use no cache: read every ELF file, RECORD and dpkg list again and parse and check the lock in full, "
        "and write neither the capture cache nor the parsed-lock cache (by default facts read from a file are "
        "reused while its size, mtime and inode are unchanged, and a lock text that passed loads from its parse)",
    )


def help_width() -> int:
    """The width argparse formats help in: ``shutil.get_terminal_size().columns - 2``, as argparse's own
    ``HelpFormatter`` computes it, without importing shutil (and zlib, bz2, lzma, fnmatch through it) at every
    start: argparse asks for a formatter whenever an option is added. tests/test_startup.py compares the two."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns - 2


# argparse's errors for an argument missing or not known (its own words, as it writes them), which name no option's
# value: they end with the --help that lists the arguments.
_USAGE_ERRORS = ("the following arguments are required:", "unrecognized arguments:")
_HELP_FOR = "_envsnap_help_for"  # set on the namespace of a command line with arguments left over


def _parser_class() -> type[argparse.ArgumentParser]:
    """envsnap's ArgumentParser; argparse is imported only when a command line is parsed (not for ``--version``)."""
    import argparse

    class Formatter(argparse.HelpFormatter):
        """argparse's own, with its default width found without shutil (``help_width``)."""

        def __init__(
            self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None, **kw: Any
        ) -> None:
            width = help_width() if width is None else width
            super().__init__(prog, indent_increment, max_help_position, width, **kw)

    class Store(argparse._StoreAction):
        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
            refuse_empty_path(parser, self, values, option_string)
            super().__call__(parser, namespace, values, option_string)

    class Append(argparse._AppendAction):
        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
            refuse_empty_path(parser, self, values, option_string)
            super().__call__(parser, namespace, values, option_string)

    class Parser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", Formatter)
            super().__init__(*args, **kwargs)
            # Every value stored or appended passes ``refuse_empty_path`` (argument groups share these registries).
            for name, action in ((None, Store), ("store", Store), ("append", Append)):
                self.register("action", name, action)

        def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
            # An empty value refused (``empty_refused``) is not converted or checked against the choices: the action
            # storing it refuses it, naming the option as typed, in the same words for every argument.
            if empty_refused(action, arg_strings):
                return EMPTY
            return super()._get_values(action, arg_strings)

        def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
            parsed, extras = super().parse_known_args(args, namespace)
            # The innermost (sub)command that parsed the line names the --help of what is left over: a nested one's
            # (`envsnap fleet prolog`) is set first, as its parser returns before its parent's.
            if extras and not hasattr(parsed, _HELP_FOR):
                setattr(parsed, _HELP_FOR, self.prog)
            return parsed, extras

        def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
            parsed, extras = self.parse_known_args(args, namespace)
            if extras:
                self.help_for = getattr(parsed, _HELP_FOR, getattr(self, "help_for", self.prog))
                self.error(f"unrecognized arguments: {' '.join(extras)}")
            return parsed

        def error(self, message: str) -> None:  # type: ignore[override]
            # One line, as every error is (no usage block). A missing or unknown argument ends with where the usage
            # is: a bare `envsnap` said only "the following arguments are required: COMMAND", naming neither the
            # commands nor --help. A bad value says what it expects already, and stays as it was.
            if message.startswith(_USAGE_ERRORS):
                message += f" (see {getattr(self, 'help_for', self.prog)} --help)"
            self.exit(EXIT_BAD_INPUT, f"envsnap: error: {message}\n")

    return Parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the signal landed: a KeyboardInterrupt, so that every ``finally`` and every
    ``except KeyboardInterrupt`` that cleans up after a Ctrl-C does the same for it (``stop_on_signals``)."""

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.signum, self.name = signum, name


def stop_on_signals() -> None:
    """SIGTERM (a batch job's time limit, ``docker stop``, ``kill``) and SIGHUP (a closed terminal) end the command
    as Ctrl-C does: the programs it started killed (each in a session of its own, they never get the signal), its
    staging and temporary folders removed, a file being written left as it was, then one line and exit 128+N.
    Python's default ended the process on the spot, leaving all of them. A signal the caller ignores (``nohup``)
    stays ignored. One that comes while the first unwinds is raised again once, a second or more after the first
    (a person or a tool insisting, as a second Ctrl-C does; not a burst of signals at once): it ends a step of the
    unwinding that waits for ever, a thread blocked in a read that never returns. ``envsnap run`` blocks them while
    its command runs and passes them on (``runs/execute.py``); a program envsnap starts gets the default back at
    exec."""
    # The C module: ``signal`` imports ``enum`` (4 ms), which an answer from the capture memo never loads.
    import _signal  # type: ignore[import-not-found]  # no stub: signal's own C half
    import time

    stopping: list[float] = []  # when each signal was raised
    names = {_signal.SIGTERM: "SIGTERM", _signal.SIGHUP: "SIGHUP"}

    def stop(signum: int, frame: object) -> None:
        now = time.monotonic()
        if not stopping or (len(stopping) == 1 and now - stopping[0] >= AGAIN_AFTER_S):
            stopping.append(now)
            raise Terminated(signum, names[signum])

    for sig in names:
        if _signal.getsignal(sig) == _signal.SIG_DFL:
            _signal.signal(sig, stop)


AGAIN_AFTER_S = 1.0  # a second SIGTERM or SIGHUP this long after the first is raised again (``stop_on_signals``)


def _threads_left() -> bool:
    """Whether a thread other than the main one, which the interpreter's exit would wait for, still runs."""
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate())


def interrupted(exc: KeyboardInterrupt | None = None) -> int:
    """Ctrl-C: one line and exit 130, however deep it landed; SIGTERM or SIGHUP (``Terminated``): 128+N."""
    import contextlib

    line, code = "envsnap: interrupted", EXIT_INTERRUPTED
    if isinstance(exc, Terminated):
        line, code = f"envsnap: terminated ({exc.name})", 128 + exc.signum
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr)
    return code


def build_parser(command: str | None = None, *, shallow: bool = False) -> argparse.ArgumentParser:
    """The parser; with ``command``, only that command's module is imported (start-up cost of one). ``shallow``
    (no command named: ``envsnap --help``, ``--version``, a mistyped command) lists every command by its line in
    ``COMMAND_HELP`` without registering its options, which may need the command's plug-in registry."""
    parser_class = _parser_class()
    parser = parser_class(prog="envsnap", description="Capture, check and rebuild ML environments exactly.")
    parser.add_argument("--version", action="version", version=f"envsnap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=parser_class)
    sub.required = True
    if shallow:
        for name, line in COMMAND_HELP.items():
            # Never parses anything (a named command gets the full parser): no -h of its own to set up.
            sub.add_parser(name, help=line, add_help=False)
    else:
        for module in command_modules(command):
            module.register(sub)
        if command is not None:
            # What is left over once the command's parser is done (``unrecognized arguments``) is the top-level
            # parser's to report: the command's --help lists its options.
            parser.help_for = f"envsnap {command}"  # type: ignore[attr-defined]
    return parser


def command_names() -> dict[str, str]:
    """Each command's module name by command, in the order of ``envsnap --help``."""
    return {name: _MODULE.get(name, name) for name in COMMAND_HELP}


def command_modules(command: str | None = None) -> list[ModuleType]:
    """The command modules, in the order of ``envsnap --help``; only ``command``'s when it names one."""
    from importlib import import_module  # not for --help and --version (warnings with it)

    names = command_names()
    wanted = [names[command]] if command in names else list(names.values())
    return [import_module(f"{__name__}.{name}") for name in wanted]


def main(argv: Sequence[str] | None = None) -> int:
    leave: list[bool] = []
    code = _main(argv, leave)
    if leave and argv is None:
        # The program itself (not a caller in-process): a command that has written everything and asked for it
        # (``run``, whose command's time is measured against ours) ends without the interpreter's teardown, a
        # tenth of a second spent freeing what it read.
        import contextlib

        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: Sequence[str] | None, leave: list[bool]) -> int:
    args_list: list[str] = []
    try:
        args_list = list(sys.argv[1:] if argv is None else argv)
        version = f"envsnap {__version__}"
        if args_list == ["--version"] and len(version) <= max(help_width(), 11):
            # What argparse's version action prints (the line, which it wraps only in a narrower terminal), without
            # importing argparse's help machinery: tests/test_startup.py compares the two.
            try:  # noqa: SIM105 (contextlib is not imported at start-up)
                sys.stdout.write(version + "\n")
            except (AttributeError, OSError):  # no stdout (closed at start: None), as argparse ignores it
                pass
            return EXIT_OK
        if argv is None:  # the program itself: a caller in-process keeps its own signal handlers and collector
            stop_on_signals()
            from .._lazyinspect import defer

            if args_list[:1] and args_list[0] in COMMAND_HELP and not {"-h", "--help"} & set(args_list):
                defer()  # a command's dataclasses without inspect, imported for a call envsnap's classes never make
            from .._gcpause import off_for_command

            off_for_command(args_list[0] if args_list else "")
        if args_list[:1] == ["capture"]:
            # An unchanged environment's lock, given from the capture memo before argparse is even imported.
            from ._capture_memo import quick_answer

            quick = quick_answer(args_list[1:])
            if quick is not None:
                return quick
        if args_list[:1] == ["rebuild"]:
            # A venv rebuild's ``uv venv``, begun before argparse loads (``_venvfirst``): the rebuild takes it when
            # argparse reads the same interpreter and destination; whatever is not taken is removed below.
            from .._venvfirst import start

            start(args_list[1:])
        args = None
        if args_list[:1] == ["diff"]:
            # Two locks and perhaps --json, read without argparse (cli/diff.py); anything else goes to argparse.
            # The command's module is loaded as every command's is (``command_modules``), by its name.
            (diff,) = command_modules("diff")
            args = diff.direct_arguments(args_list[1:])
        if args is None:
            command = next((a for a in args_list if not a.startswith("-")), None)
            # Inside the try: importing a command's modules (rich, packaging, the probes) is where a Ctrl-C
            # right after start-up lands.
            parser = build_parser(command, shallow=command not in command_names())
            args = parser.parse_args(args_list)
        if getattr(args, "no_cache", False):
            # ``--no-cache`` means no cache at all: the parsed-lock cache is neither read nor written either.
            from .._defaults import bypassed

            with bypassed():
                code = int(args.func(args))
        else:
            code = int(args.func(args))
        if getattr(args, "leave_at_once", False):
            leave.append(True)
        return code
    except EnvsnapError as exc:
        from ..errors import NotALockfileError
        from ..grammar import strip_terminal

        text = str(exc)
        if isinstance(exc, NotALockfileError):  # another tool's lock, perhaps: the import that makes one of it
            from ._not_a_lock import import_hint

            text = import_hint(exc, next((a for a in args_list if not a.startswith("-")), "")) or text
        # One line whatever the message carries (tarfile's per-method report, a tool's stderr tail).
        # Control characters from lock data in the message (ESC, OSC) are made visible, never sent raw.
        message = strip_terminal(" ".join(line.strip() for line in text.splitlines() if line.strip()))
        try:  # noqa: SIM105 (contextlib is not imported at start-up)
            print(f"envsnap: error: {message}", file=sys.stderr)
        except OSError:  # standard error closed (``2>&1 | head``): the exit status still says what went wrong
            pass
        return exc.exit_code
    except ModuleNotFoundError as exc:
        # An install without one of envsnap's dependencies (pip --no-deps, one removed since): one line naming it.
        # A module of envsnap's own that is missing is a bug: its traceback is kept.
        if not exc.name or exc.name.partition(".")[0] == "envsnap":
            raise
        from .._defaults import EXTRA_OF_MODULE, install_hint

        extra = EXTRA_OF_MODULE.get(exc.name.partition(".")[0], "")
        print(
            f"envsnap: error: {exc.name}, which envsnap needs, is not installed ({install_hint(extra)} installs it)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        code = interrupted(exc)
        if argv is None and _threads_left():
            # The program itself, stopped while a thread of it is blocked (a read that never returns): the
            # interpreter's exit would wait for that thread, past any further signal. The main thread has unwound
            # (staging folders removed, the line said): the exit handlers run, and the process ends.
            import atexit

            run_handlers = getattr(atexit, "_run_exitfuncs", None)
            if run_handlers is not None:
                run_handlers()
            leave.append(True)
        return code
    except BrokenPipeError:
        return EXIT_OK
    finally:
        # A probe started early (capture --python) and never waited for must not outlive us; a command that
        # started nothing never imported the runner (start-up). Nor a venv begun before argparse and not taken.
        first = _imported(__name__.rpartition(".")[0] + "._venvfirst")
        if first is not None:
            first.cancel()
        runner = _imported(__name__.rpartition(".")[0] + "._runner")
        if runner is not None:
            runner.kill_all()


def _imported(name: str) -> ModuleType | None:
    """The module ``name`` where this process has imported it, whole; None where nothing has. Another thread may
    still be importing it (a run's git probe, as a command that does not exist fails at once): ``sys.modules``
    then holds it half made, without the functions below the line its import has reached. ``__import__`` waits
    for that import to end (the import system's lock on the module), and a module whose import failed is no
    longer there."""
    if name not in sys.modules:
        return None
    __import__(name)
    return sys.modules.get(name)
