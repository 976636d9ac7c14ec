"""Make a run record: ``run_command`` for ``envsnap run``, ``record_run`` for a script or a notebook.

Both gather the same parts (docs/runrecord.md): the lock the run ran under (checked by a quick ``verify``, or a
capture stored beside the record when there is none), the project's commit, the inputs' fingerprints before
and the outputs' after, what was loaded and which GPUs were used.

``run_command`` starts the command as soon as its inputs are fingerprinted and its lock is read: the verify (or
capture), the package database and the GPU watch are taken in threads while it runs, so a run costs little more
than the command (bench/run_overhead.py); the git state is read from just before it starts, at full priority.
``strict`` verifies first and refuses to start on drift. This module imports only what starting the command
needs: no ``dataclasses`` (its classes are plain or ``NamedTuple``), ``pathlib``, ``tempfile`` or ``datetime``, a
third of envsnap's start before the command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from ..errors import EnvsnapError, RunRecordWarning
from . import trace
from .execute import execute, utc_now

TYPE_CHECKING = False  # not typing's: typing is not imported before the command starts (a tenth of envsnap's start)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path
    from typing import Any

    from . import data as data_mod
    from .finished import Finished

    Say = Callable[[str], None]
    from .record import RunRecord


class DriftError(EnvsnapError):
    """``--strict``: the environment does not match the lock, so the command was not started."""

    exit_code = 3


class NotRecordedError(EnvsnapError):
    """The command ran, but its record (or the capture stored beside it) could not be written: a full disk, its
    folder removed meanwhile. envsnap's own work failed after the command, not the input (exit 4, not 2); the
    message says how the command ended, since no record will."""

    exit_code = 4


class RunRequest:
    """What ``envsnap run`` was asked to do (a plain class: see the module's docstring)."""

    def __init__(
        self,
        argv: Sequence[str],
        record: str | os.PathLike[str],
        *,
        lock: str | os.PathLike[str] | None = None,
        data: Sequence[str] = (),
        outputs: Sequence[str] = (),
        variables: Sequence[tuple[str, str | None]] = (),
        fast: bool = False,
        strict: bool = False,
        python: str | None = None,
        use_cache: bool = True,
    ) -> None:
        self.argv = tuple(argv)
        self.record = record
        self.lock = lock
        self.data = tuple(data)
        self.outputs = tuple(outputs)
        self.variables = tuple(variables)  # --env: each name and its value at the start, None when unset
        self.fast = fast
        self.strict = strict
        self.python = python  # the environment to verify (default: the command's python, else as verify picks)
        self.use_cache = use_cache  # reuse a verify or capture of the unchanged environment (runs/cache.py)


def named_variables(names: Sequence[str], environ: Mapping[str, str]) -> tuple[tuple[str, str | None], ...]:
    """``--env NAME ...``: each name once, in the order given, with its value in ``environ`` (None when unset).
    Raises ``UsageError`` for a name that is no variable's, or a value the record could not hold (the command
    has not started)."""
    if not names:
        return ()  # nothing imported: see the module's docstring
    from .. import grammar, sinks
    from ..errors import UsageError

    out: dict[str, str | None] = {}
    for name in names:
        if not grammar.is_env_name(name):
            raise UsageError(
                f"--env {sinks.shell_shown([name])}: not a variable name (letters, digits and _, not starting "
                "with a digit)"
            )
        value = environ.get(name)
        if value is not None and grammar.has_control(value):
            raise UsageError(f"--env {name}: its value holds a control character, which a run record cannot hold")
        if value is not None and not is_utf8(value):
            raise UsageError(f"--env {name}: its value is not UTF-8 text, which a run record cannot hold")
        if value is not None and len(value) > grammar.MAX_TEXT:
            raise UsageError(
                f"--env {name}: its value is longer than {grammar.MAX_TEXT} characters, which a run record cannot hold"
            )
        out.setdefault(name, value)
    return tuple(out.items())


def is_utf8(text: str) -> bool:
    """Whether ``text`` is UTF-8: a word, path or value of other bytes is decoded with surrogates, which no
    record holds."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def recordable_command(argv: Sequence[str], data: Sequence[str], outputs: Sequence[str]) -> None:
    """Raises ``UsageError`` for a command word, a ``--data`` or an ``--output`` path that a record cannot hold
    (found before the command starts: after it, its record would be lost)."""
    from ..errors import UsageError

    for index, word in enumerate(argv):
        if not is_utf8(word):
            raise UsageError(f"command word {index} is not UTF-8 text, which a run record cannot hold")
        if len(word) > MAX_WORD:
            raise UsageError(f"command word {index} is longer than 64 KiB, which a run record cannot hold")
    for option, paths in (("--data", data), ("--output", outputs)):
        for path in paths:
            from .. import grammar, sinks  # only with paths: see the module's docstring

            if not path:  # `--data "$DATA"` with DATA unset: it named the current folder, hashed whole
                raise UsageError(
                    f"{option} '': an empty path (an unset variable?): name a file or folder, . for this one"
                )
            if not is_utf8(path) or not grammar.is_text(path):
                raise UsageError(
                    f"{option} {sinks.shell_shown([path])}: a path with a control character, more than "
                    f"{grammar.MAX_TEXT} characters or bytes that are not UTF-8, which a run record cannot hold"
                )


MAX_WORD = 65536  # the longest command word a record holds (record.py's argv rule)


BACKGROUND_NICE = 19  # what the preparing threads run at while the command runs: they take no CPU it could use


class Background:
    """A job in a daemon thread whose result (or error) is collected later. ``low``: the thread runs at nice
    ``BACKGROUND_NICE`` (so do the processes it starts, git's for one) until ``hurry``."""

    def __init__(self, job: Callable[[], Any], *, low: bool = False) -> None:
        self.job = job
        self.low = low
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._tid = 0
        self._nice = 0
        self._idle = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._in_thread, name="envsnap-run", daemon=True)
        self._thread.start()

    def _in_thread(self) -> None:
        if self.low:
            # Linux keeps a nice value and a policy per thread: this one only, not the thread waiting for the
            # command. SCHED_IDLE (below even nice 19) only where the thread may leave it again once the command
            # has ended (``hurry``); elsewhere nice 19 alone.
            with contextlib.suppress(OSError, AttributeError):
                self._tid = threading.get_native_id()
                self._nice = os.getpriority(os.PRIO_PROCESS, self._tid)
                os.setpriority(os.PRIO_PROCESS, self._tid, max(self._nice, BACKGROUND_NICE))
                if may_raise_priority():
                    os.sched_setscheduler(self._tid, os.SCHED_IDLE, os.sched_param(0))
                    self._idle = True
        self.run()

    def run(self) -> None:
        """The job, in the calling thread (``--strict`` verifies before the command starts, at full speed)."""
        try:
            self.result = self.job()
        except Exception as exc:
            self.error = exc

    def hurry(self) -> None:
        """The command has ended: what is left is on the critical path, so back to the nice the thread started
        with, where that is allowed (a user without CAP_SYS_NICE may not lower a nice value: the thread then
        finishes at its low priority, on the core the command left free)."""
        if self._tid and self._thread is not None and self._thread.is_alive():
            with contextlib.suppress(OSError):
                if self._idle:
                    os.sched_setscheduler(self._tid, os.SCHED_OTHER, os.sched_param(0))
                os.setpriority(os.PRIO_PROCESS, self._tid, self._nice)

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def value(self) -> Any:
        self.join()
        if self.error is not None:
            raise self.error
        return self.result


def may_raise_priority() -> bool:
    """Whether this process may lower its threads' nice values and leave SCHED_IDLE again: CAP_SYS_NICE (root
    has it unless a container dropped it), or an RLIMIT_NICE that allows nice 0."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            caps = next((line.split()[1] for line in fh if line.startswith("CapEff:")), "0")
        if int(caps, 16) >> 23 & 1:  # CAP_SYS_NICE
            return True
        import resource

        return resource.getrlimit(resource.RLIMIT_NICE)[0] >= 20
    except (OSError, ValueError, AttributeError):
        return False


def run_command(
    req: RunRequest, *, say: Say = lambda _: None, progress: data_mod.ByteProgress | None = None
) -> tuple[RunRecord, Finished]:
    """Run ``req.argv`` and write its record to ``req.record``; the record and how the command ended."""
    inputs = []
    if req.data:
        from . import data as data_mod

        inputs = [(p, _input(p, fast=req.fast, progress=progress)) for p in req.data]
    lock: Any = None
    if req.lock is not None:  # bad input: exit 2 before anything runs
        lock = read_lock(req.lock, defer=req.use_cache and not req.strict)
    seen: list[Callable[[], frozenset[str]]] = []  # the sampler's objects so far, once the command runs

    verify_first = req.strict and lock is not None
    # The code state is read from before the command is spawned, at full priority, as it starts: the command's
    # first writes were read as the project's (a log, a config it rewrites). What git still reported changed
    # after the command started is said as the run ends (``gitstate.state_as_of``). --strict reads it before.
    code_imported = threading.Event()
    code = None
    if verify_first or not _in_work_tree():
        code_imported.set()
    else:
        code = Background(_code_reader(req.record, req.lock, req.outputs, lock is None, code_imported))

    def prepare() -> Any:
        from pathlib import Path

        from .assemble import prepare

        record = Path(req.record)
        return prepare(
            req.argv,
            lock=lock,
            lock_path=Path(req.lock) if req.lock is not None else None,
            record=record,
            python=req.python,
            exclude=req.outputs,
            capture_path=None if lock is not None else captured_lock_path(record),
            use_cache=req.use_cache,
            seen=seen[0] if seen else None,
            ahead=not verify_first,
            code=None if code is None else code.value,
        )

    prepared = Background(prepare, low=True)
    if verify_first:
        prepared.run()
        ready = prepared.value()
        if ready.mismatches or ready.warnings:
            from ..compare.verdict import places_shown
            from ..report import counted

            # The first finding from its fields; else the first warning, a local source it names by its path.
            first = ready.drift[0].shown() if ready.drift else places_shown(next(iter(ready.warnings), ""))
            # Warnings alone stop a strict run too: counted as such, not as "0 mismatches".
            found = (
                counted(ready.mismatches, "mismatch", "mismatches")
                if ready.mismatches
                else counted(len(ready.warnings), "warning")
            )
            raise DriftError(
                f"--strict: {ready.target.describe()} does not match {req.lock} ({found}; {first}); "
                "the command was not started"
            )
    hooks, held = private_folder()
    with _Finishing(say) as finishing, _removed(hooks, held):
        # Not at low priority: its polling thread would inherit it, and under load a poll (or its answer to
        # stop) could come too late for the record to say which GPUs were used.
        watch = Background(lambda: None)

        # One thread imports at a time (Python may hand a thread a module another is importing, half made): the
        # watch first, at full priority (its module and, where there is a driver, pynvml: little), then the
        # preparation at low priority.
        imported = threading.Event()

        def started(pid: int, sampler: trace.Sampler) -> None:
            seen.append(lambda: frozenset(sampler.objects))

            def start_watch() -> Any:
                try:
                    code_imported.wait()  # one thread imports at a time: the code reader's first
                    from .gpus import GpuWatch

                    w = GpuWatch(pids=lambda: trace.descendants(pid))
                    w.start()
                finally:
                    imported.set()
                return w

            watch.job = start_watch
            watch.start()
            job = prepared.job
            if verify_first:  # verified already: what is left is read while the command runs

                def job() -> Any:
                    from .assemble import read_ahead

                    return read_ahead(ready, req.argv, python=req.python, seen=seen[0], use_cache=req.use_cache)

            def after_the_watch() -> Any:
                imported.wait()
                return job()

            prepared.job = after_the_watch
            prepared.start()

        before = {path: _output_state(path) for path in req.outputs}  # an output left from an earlier run
        if code is not None:
            code.start()
        finished = execute(req.argv, env=trace.hook_environment(dict(os.environ), hooks), while_running=started)
        finishing.start()
        if finished.after_end:
            finishing.noted(finished.after_end)
        prepared.hurry()
        gpu_watch = watch.value()
        gpu_watch.stop()
        prepared.join()  # before this thread imports anything (see ``imported``); its errors are raised below
        import dataclasses

        from .reports import loaded_objects, read_hook_reports

        reports = read_hook_reports(hooks)
        if req.outputs:  # not imported otherwise: what is done now is on the critical path
            from . import data as data_mod

        outputs = []
        warnings = []
        finishing.hashing = True  # a Ctrl-C cuts the outputs' fingerprints short
        for path in req.outputs:
            try:
                earlier = before.get(path)
                if earlier is not None and _output_state(path) == earlier:
                    # A file the command did not write (a failed run, an earlier run's result left in place) was
                    # recorded as its output: the record said it made what an earlier run had.
                    outputs.append((path, data_mod.missing(fast=req.fast)))
                    warnings.append(_not_written(path, earlier))
                    continue
                fp = data_mod.fingerprint(_resolve(path), fast=req.fast, progress=progress, missing_ok=True)
                outputs.append((path, fp))
                if fp.kind == "missing":
                    warnings.append(_not_written(path, None))
            except data_mod.DataError as exc:
                warnings.append(str(exc))
            except KeyboardInterrupt as exc:
                warnings.append("interrupted while fingerprinting the outputs: some are not recorded")
                # SIGTERM and SIGHUP arrive as the CLI's ``Terminated``, a KeyboardInterrupt naming its signal.
                cut_by = getattr(exc, "signum", signal.SIGINT)
                finished = dataclasses.replace(finished, interrupted=True, cut_short_by=int(cut_by))
                break
        finishing.hashing = False
        from . import assemble
        from .record import Outcome, dump

        ready = prepared.value()
        outcome = Outcome(
            started=finished.started,
            ended=finished.ended,
            duration_ms=finished.duration_ms,
            exit_status=finished.exit_status,
            signal=finished.signal,
            interrupted=finished.interrupted,
            interrupted_by=_signal_name(finished.received or finished.cut_short_by),
            peak_memory_kib=finished.peak_memory_kib,
        )
        interval = f"{trace.FIRST_INTERVAL:g} s growing to {trace.MAX_INTERVAL:g} s"
        try:
            record = assemble.build(  # writes the capture beside the record (no --lock) first
                ready,
                argv=req.argv,
                outcome=outcome,
                gpus=gpu_watch.result(),
                data=[
                    *(assemble.to_data("input", p, fp, ready.ctx) for p, fp in inputs),
                    *(assemble.to_data("output", p, fp, ready.ctx) for p, fp in outputs),
                ],
                objects=loaded_objects(finished.objects, reports),
                reports=reports,
                processes=finished.processes,
                method=f"/proc/PID/maps of the process tree sampled {finished.samples} times ({interval}); "
                "Python processes report sys.modules and their maps at exit",
                outputs=req.outputs,
                variables=req.variables,
            )
            dump(record, req.record)
            warnings.extend(assemble.other_python_lines(ready.target, reports))
            warnings.extend(home_lines(record, req.record, ready.ctx.redactor))
            warnings.extend(secret_lines(req.variables, req.record))
            warnings.extend(redacted_lines(record, req.record))
        except EnvsnapError as exc:  # LockfileError, RecordError: "cannot write"
            how = f"exit {finished.exit_status}" + (f", {finished.signal}" if finished.signal else "")
            raise NotRecordedError(f"the command ran ({how}) but its record was not written: {exc}") from exc
    # The drift as verify prints it, from its fields (a local source by its path, a .pth folder's paths each one
    # shell word); the record keeps the fields, which rerun compares.
    for line in [*(f.shown() for f in ready.drift), *ready.warnings, *warnings]:
        say(line)
    return record, finished


def _signal_name(signum: int) -> str:
    """``result.interrupted_by`` for ``signum`` (0: none): its name, where it is one that interrupts a run."""
    from .finished import INTERRUPTING

    try:
        name = signal.Signals(signum).name if signum else ""
    except ValueError:
        return ""
    return name if name in INTERRUPTING else ""


_PLAIN = frozenset({"0", "1", "true", "false", "yes", "no", "on", "off"})  # a switch: TOKENIZERS_PARALLELISM=false


def secret_lines(variables: Sequence[tuple[str, str | None]], path: str | os.PathLike[str]) -> list[str]:
    """One line for each recorded variable (``--env``) whose value looks like a secret, or whose name is a
    secret's and whose value is more than a switch: recorded as it is, it is published with the record, which the
    lock's rules never do with such a value. A number is a secret's value (a numeric API key, a PIN) in a variable
    whose name ends as a secret's does (``API_KEY``, ``DB_PASSWORD``), and a setting in one that only holds such a
    word (``NUM_TOKENS``, ``SESSION_ID``)."""
    if not variables:
        return []
    from .._privacy import is_secret_name, is_secret_option, looks_like_secret

    name = os.fspath(path)
    return [
        f"--env {var}: it looks like a secret's variable: {name} holds its value as it is, and so does every copy "
        "you publish (name no secret with --env)"
        for var, value in variables
        if value
        and (
            looks_like_secret(value)
            or (is_secret_name(var) and value.lower() not in _PLAIN and (not value.isdigit() or is_secret_option(var)))
        )
    ]


def redacted_lines(record: RunRecord, path: str | os.PathLike[str]) -> list[str]:
    """One line when a secret in ``record``'s command was replaced (``command.redacted``): the record holds another
    command than the one that ran, which ``rerun`` refuses; said now, not first found at a reviewer's rerun."""
    if not record.command.redacted:
        return []
    return [
        f"the command holds a secret: {os.fspath(path)} records it as <redacted>, so it is not the command that ran "
        "and envsnap rerun will not run it (give the command its secret in a variable or a file it reads)"
    ]


def home_lines(record: RunRecord, path: str | os.PathLike[str], redactor: Any) -> list[str]:
    """One line for each word of ``record``'s command that still names the home or the project by its path on
    this machine: kept as written (it is no path to label), said, so that publishing it is no surprise."""
    from .. import sinks
    from .assemble import home_named

    name = sinks.shell_shown([os.fspath(path)])  # a word of the command it names too
    first: dict[int, str] = {}  # each word once, with the folder it names first
    for index, _at, folder in home_named(record.command.argv, record.command.paths, redactor):
        first.setdefault(index, folder)
    return [
        f"command word {index} names {folder} in text that is no existing path: {name} keeps it as "
        f"written, and so does every copy of it you publish (envsnap show {name})"
        for index, folder in first.items()
    ]


class _Finishing:
    """Once the command has ended, a Ctrl-C, SIGTERM or SIGHUP must not lose its record (the command may have run
    for hours; a batch job's time limit sends SIGTERM): the first after ``start`` is noted and the record still
    written, unless it comes while the outputs are fingerprinted (it cuts that short, as documented); a second one
    abandons the record. SIGTERM and SIGHUP are taken only where the command line handles them (``Terminated``:
    their handler is then called to cut or abandon, so the exit status is 128+N); one ignored (``nohup``) stays
    so. Only in the main thread, where signal handlers run; the previous handlers are back on exit."""

    def __init__(self, say: Say):
        self.say = say
        self.hashing = False
        self.pressed = 0
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Finishing:
        return self

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._old[signal.SIGINT] = signal.signal(signal.SIGINT, self._handler)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if callable(signal.getsignal(sig)):
                self._old[sig] = signal.signal(sig, self._handler)

    def _handler(self, signum: int, frame: Any) -> None:
        self.pressed += 1
        if self.hashing or self.pressed > 1:
            old = self._old.get(signum)
            if signum != signal.SIGINT and callable(old):
                old(signum, frame)  # the command line's: raises ``Terminated`` (a KeyboardInterrupt) with signum
            raise KeyboardInterrupt
        self.noted(signum)

    def noted(self, signum: int) -> None:
        """The first signal after the command ended (here, or one ``execute`` took as the command exited): said."""
        self.pressed = max(self.pressed, 1)
        again = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        self.say(f"the command has ended: its record is being written ({again} again to abandon it)")

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            if old is not None:  # None: not set from Python, nothing to put back
                signal.signal(sig, old)


def private_folder() -> tuple[str, int]:
    """A new folder only this user may use (the hooks' reports), made before the command starts, and the open
    descriptor that holds it: ``os.mkdir`` with a random name (it fails rather than use what is there) and mode
    0700, in the folder ``tempfile`` would try first, ``tempfile``'s choice where that fails. It is
    ``.envsnap-run-*`` and held with ``flock`` for as long as the run lasts, as ``_leftovers`` holds its folders: a
    run killed while the command ran (the OOM killer, a job's time limit) leaves one that the next run that sweeps
    the temporary directory, and `envsnap clean`, remove. Not through ``_leftovers``: importing tempfile (shutil,
    random, the compression modules), which it needs, was a fifth of what envsnap imported before the command
    started."""
    from .._hold import hold_made

    base = next((os.environ[k] for k in ("TMPDIR", "TEMP", "TMP") if os.environ.get(k)), "/tmp")
    while True:
        name = ".envsnap-run-" + os.urandom(8).hex()  # _leftovers.PREFIX and its kind "run"
        path = os.path.join(base, name)
        try:
            os.mkdir(path, 0o700)
        except OSError:
            import tempfile

            path = os.path.join(tempfile.gettempdir(), name)
            os.mkdir(path, 0o700)
        try:
            fd = hold_made(path)
        except BaseException:
            os.rmdir(path)
            raise
        if fd is not None:
            return path, fd
        # Another process's sweep of the temporary folder took it before it was held: another one.


@contextlib.contextmanager
def _removed(folder: str, held: int) -> Iterator[str]:
    try:
        yield folder
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        os.close(held)  # released once it is gone: a sweep never takes it half removed


def read_lock(path: str | os.PathLike[str], *, defer: bool) -> Any:
    """The lock at ``path``, validated; with ``defer`` (and the run cache on), a ``KeptLock``: a lock whose
    exact bytes an earlier run validated (with this envsnap's code: ``cache.code_state``) is read once the command
    runs (a large lock takes a good part of a second to validate, before the command could start), one not
    validated before is validated now."""
    import hashlib

    from .. import _readlimits
    from ..errors import LockfileError
    from . import cache

    raw = _readlimits.read_bytes(path, error=LockfileError, what="lockfile")
    digest = hashlib.sha256(raw + f"\0{cache.code_state()}".encode()).hexdigest()
    name = "lock-" + digest  # a small entry: "valid", looked up before the command starts

    def load() -> Any:
        from .. import lockfile

        if defer and cache.enabled():  # the lock as it was validated, stored as JSON: parsed far faster
            snapshot = cache.get_lock("lockdoc-" + digest)
            if snapshot is not None:
                return snapshot
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise LockfileError(f"{path}: not a text file (expected a TOML lockfile)") from None
        return lockfile.loads(text, origin=str(path))

    if defer and cache.enabled() and cache.get(name) is not None:
        return cache.KeptLock(load, "lockview-" + digest)
    snapshot = load()
    if defer and cache.enabled():
        cache.put(name, {"valid": True})
        cache.put_lock("lockdoc-" + digest, snapshot)
        return cache.KeptLock(lambda: snapshot, "lockview-" + digest)
    return snapshot


def _in_work_tree() -> bool:
    """Whether git may find a work tree around the working directory (``gitstate.below_git``, without importing
    it: nothing of the probes is imported before the command starts where there is no work tree to read)."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return True
    try:
        folder = os.path.realpath(".")
    except OSError:
        return True
    while not os.path.lexists(os.path.join(folder, ".git")):
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent
    return True


def _code_reader(
    record: str | os.PathLike[str],
    lock: str | os.PathLike[str] | None,
    outputs: Sequence[str],
    captures: bool,
    imported: threading.Event | None = None,
    cwd: str | None = None,
) -> Callable[[], Any]:
    """What reads the code state of a run (``gitstate.state_as_of``) with its start taken now, before the
    command is spawned (the block entered); None outside a work tree. The record, ``lock``, the ``outputs`` and,
    where the run ``captures`` (no lock), the capture stored beside the record are left out. ``imported`` is
    set once it has imported what it needs: one thread imports at a time (see ``run_command``)."""
    since = file_clock_ns()

    def read() -> Any:
        try:
            from pathlib import Path

            from .. import _runner  # noqa: F401 (what ``git`` runs git with: imported here, before the event is set)
            from ..probes.gitstate import find_root, state_as_of
        finally:
            if imported is not None:
                imported.set()
        root = find_root(cwd or os.getcwd())  # ``cwd``: where the run started (a record_run block may move)
        if root is None:
            return None
        path = Path(record)
        excluded = [path, *([Path(lock)] if lock is not None else []), *map(Path, outputs)]
        if captures:
            excluded.append(captured_lock_path(path))
        return state_as_of(root, [os.fspath(p) for p in excluded], since)

    return read


def file_clock_ns() -> int:
    """Now, as the kernel stamps a file's modification and change times: its coarse clock, which lags the precise
    one by up to a tick (a file written a moment after ``time.time_ns()`` may be stamped before it). Elsewhere
    the precise clock less 50 ms."""
    import time

    if sys.platform.startswith("linux"):
        try:
            return time.clock_gettime_ns(getattr(time, "CLOCK_REALTIME_COARSE", 5))
        except OSError:
            pass
    return time.time_ns() - 50_000_000


def _input(path: str, *, fast: bool, progress: data_mod.ByteProgress | None) -> data_mod.Fingerprint:
    """The fingerprint of ``--data PATH``; an error names the option and the path as given (``--data nope: no such
    file or directory``: it read ``nope: ...``, naming no option)."""
    from . import data as data_mod

    resolved = _resolve(path)
    try:
        return data_mod.fingerprint(resolved, fast=fast, progress=progress)
    except data_mod.DataError as exc:
        text = str(exc)
        text = text.removeprefix(f"{resolved}: ")
        raise type(exc)(f"--data {path}: {text}") from None


def captured_lock_path(record: Path) -> Path:
    """Where the capture of a run without a lock is stored: beside the record as ``RUN.lock``, or
    ``RUN.lock.lock`` for a record named ``*.lock`` (the record would otherwise replace its own lock)."""
    return type(record)(captured_lock_name(os.fspath(record)))


def captured_lock_name(record: str) -> str:
    """``captured_lock_path`` of a path as text, by ``os.path``: ``run`` asks it before its command starts, which
    pathlib's import would delay. The suffix replaced is pathlib's (after the name's last dot, neither its first
    nor its last character)."""
    folder, name = os.path.split(record)
    dot = name.rfind(".")
    lock = (name[:dot] if 0 < dot < len(name) - 1 else name) + ".lock"
    return os.path.join(folder, name + ".lock" if lock == name else lock)


def earlier_record(
    record: str, *, captures: bool, option: str = "-o ", other: str = "name another file with -o"
) -> str:
    """What ``run`` says of a file already at ``record``, asked before its command starts: "" where there is none;
    for a run record, that it is replaced (its docs say so), and the capture beside it where the run ``captures``
    one (no ``--lock``): both were replaced without a word. Any other file there is the user's (``-o
    results.toml``), which the record replaced after the command ran: ``UsageError`` (exit 2), as export refuses to
    replace a file it did not write. So is a file where the capture goes that is no lock envsnap wrote (``uv.lock``
    beside ``-o uv.toml``), which the capture replaced, on a first run too."""
    from .._locktext import is_envsnap_lock, is_run_record
    from ..errors import UsageError

    lock = captured_lock_name(record)
    if captures and os.path.lexists(lock) and not is_envsnap_lock(lock):
        # Another tool's lock beside the record (uv.lock beside -o uv.toml, pixi.lock, Cargo.lock): it was replaced
        # by the capture without a word, on a first run too.
        raise UsageError(
            f"{option}{record}: the capture beside it, {lock}, exists and is not a lock envsnap wrote; run does not "
            f"replace it: {other}, pass {'--lock' if option == '-o ' else 'lock='}, or move it away first"
        )
    if not os.path.lexists(record):
        return ""
    if not is_run_record(record):
        raise UsageError(
            f"{option}{record}: exists and is not an envsnap run record; run does not replace it: {other}, or move it "
            "away first"
        )
    beside = f" (and {lock} beside it)" if captures and os.path.lexists(lock) else ""
    return f"replaced {record}, the record of an earlier run there{beside}"


def _resolve(path: str, base: str | None = None) -> Path:
    """A --data/--output path on this machine: ``~`` expanded, a relative path under ``base`` (the folder the run
    started in: a ``record_run`` block may change directory) or the working directory."""
    from pathlib import Path

    expanded = Path(os.path.expanduser(path))
    return expanded if base is None else Path(base, expanded)


def _not_written(path: str, earlier: object) -> str:
    """The line for an output the command did not write: one left as it was (``earlier``, its state before), or
    nothing at its path after it (a typo in the path, a command that failed first), which the record holds as
    ``missing`` and only a rerun would otherwise have told. The path as a shell word (``output 'my out'``), a
    character a terminal would act on or reorder the line at written in bash's ``$'...'``, as ``--output`` took it."""
    from .. import sinks

    shown = sinks.shell_shown([path])
    if earlier is None:
        return f"output {shown}: not written by the command (nothing is at that path after it)"
    what = "file" if isinstance(earlier, tuple) else "folder"
    return f"output {shown}: not written by the command (the {what} from before is unchanged)"


def _output_state(path: str, base: str | None = None) -> tuple[int, int, int, int] | data_mod.Fingerprint | None:
    """A regular file's identity and state (device, inode, mtime, size), a directory's every file's by size and
    mtime (a fast fingerprint, as ``rerun`` tells an output it did not write), None for anything else: an output
    whose state is the same after the command as before it was not written by the command."""
    import stat

    try:
        info = os.stat(_resolve(path, base))
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        from . import data as data_mod  # only for a folder: the command waits for this

        try:
            return data_mod.fingerprint(_resolve(path, base), fast=True)
        except data_mod.DataError:
            return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size


# ------------------------------------------------------------------------------------------- in-process API


class RecordedRun:
    """What ``record_run`` yields: add outputs as they are written; ``record`` and ``warnings`` (the lines
    ``envsnap run`` would say, each also issued as a ``RunRecordWarning``) are set once the block ends."""

    def __init__(self, outputs: list[str] | None = None) -> None:
        self.outputs: list[str] = [] if outputs is None else outputs
        self.record: RunRecord | None = None
        self.warnings: tuple[str, ...] = ()

    def output(self, path: str | os.PathLike[str]) -> None:
        """Add an output; ``UsageError`` for a path a record cannot hold (a control character, not UTF-8)."""
        recordable_command((), (), [os.fspath(path)])
        self.outputs.append(os.fspath(path))


def record_folder(record: str, option: str = "") -> None:
    """Refuse a record path that names a folder, and make the folder it goes in (the umask's permissions, as pytest
    --junitxml=reports/x.xml does), refusing one envsnap cannot write in: before the command or block runs, whose
    record would otherwise be lost at its end. ``option``: how the path was given (``"-o "``)."""
    from ..errors import UsageError

    if not record:
        # -o "$RECORD" with the variable unset: the path "." failed once the command had ended, its run lost.
        from .._readlimits import empty_path

        raise UsageError(f"{option}{empty_path('run record')}")
    if record.endswith(("/", os.sep)) or os.path.isdir(record):
        raise UsageError(
            f"{option}{record}: a folder; name the record's file in it ({option}{os.path.join(record, 'run.toml')})"
        )
    folder = os.path.dirname(record) or "."
    why = ""
    try:
        os.makedirs(folder, exist_ok=True)
        if not os.access(folder, os.W_OK):
            why = "a read-only file system" if _read_only(folder) else "you may not write in it"
    except (FileExistsError, NotADirectoryError):
        why = "a file is on the way"
    except OSError as exc:  # no permission to make it
        why = (exc.strerror or str(exc)).lower()
    if why:
        # A read-only checkout (a colleague's, a container's read-only mount) says why, and where the record may go.
        name = os.path.basename(record)
        instead = (
            f"name a place you can write in with -o (-o DIR/{name})" if option else "name a place you can write in"
        )
        raise UsageError(
            f"{option}{record}: {folder} is not a folder envsnap can write the record in ({why}): {instead}"
        )


def _read_only(folder: str) -> bool:
    """Whether ``folder`` lies on a file system mounted read-only."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def record_run(
    path: str | os.PathLike[str] = "run.toml",
    *,
    lock: str | os.PathLike[str] | None = None,
    data: Sequence[str | os.PathLike[str]] = (),
    outputs: Sequence[str | os.PathLike[str]] = (),
    fast: bool = False,
    argv: Sequence[str] | None = None,
    env: Sequence[str] = (),
) -> Iterator[RecordedRun]:
    """Record the running process for the duration of the block (a training script, a notebook cell).

    ``env``: the variables to record as ``envsnap run --env NAME`` does (a script's own ``SEED``), each with its
    value at the block's start or as unset; ``rerun`` sets them again. A name that is no variable's is refused
    (``UsageError``) before the block runs.
    The record's command is ``argv`` (default: this interpreter and ``sys.argv``); its exit status is 0 when
    the block ends normally, the status of a ``sys.exit`` in it, and 1 when it raises (the record is still
    written; marked interrupted on Ctrl-C).
    What was loaded is this process's maps and ``sys.modules`` at the end of the block; peak memory is this
    process's. With no ``lock``, the running environment is captured and stored beside the record.

    Once the record is written, what ``envsnap run`` would say about it (drift from the lock, an output the block
    did not write, a word of the command that still names the home) is issued, one line each, as a
    ``RunRecordWarning`` (``warnings.warn``, pointing at the ``with`` line) and kept in the handle's ``warnings``."""
    import resource
    import time
    import warnings
    from pathlib import Path

    from .. import lockfile
    from . import assemble
    from . import data as data_mod
    from .gpus import GpuWatch
    from .record import Outcome, dump
    from .reports import PythonReport

    # The block may change directory (os.chdir into a run folder, as Hydra does): every relative path, and the
    # project, are the start folder's, as the record's command.cwd is; the record, its lock and the outputs were
    # otherwise looked for where the block ended.
    here = os.getcwd()
    record_path = Path(here, path)
    lock_path = Path(here, lock) if lock is not None else None
    variables = named_variables(env, os.environ)  # as the block starts with them
    command = list(argv) if argv is not None else [sys.executable, *sys.argv]
    recordable_command(command, [os.fspath(p) for p in data], [os.fspath(p) for p in outputs])
    from .._samefile import refuse_output_inside

    for name, paths in (("data", data), ("outputs", outputs)):
        for folder in paths:  # the record and its lock would be files of what is fingerprinted, found by every rerun
            refuse_output_inside(path, folder, f"the {name} folder", "put the record in what it fingerprints", "path")
    # A file of the user's own at ``path``, or another tool's lock where the capture goes (``uv.lock`` beside
    # ``uv.toml``): refused before the block runs, as ``run -o`` refuses it; an earlier record replaced is said.
    record_folder(os.fspath(path))  # made now, as run -o makes it: found at the block's end, the record was lost
    replaced = earlier_record(
        os.fspath(path), captures=lock is None, option="record_run: ", other="give record_run another path"
    )
    inputs = [(os.fspath(p), data_mod.fingerprint(_resolve(os.fspath(p)), fast=fast)) for p in data]
    snapshot = lockfile.load(lock_path) if lock_path is not None else None
    handle = RecordedRun(outputs=[os.fspath(p) for p in outputs])
    # Read while the block runs: what git reports it wrote before git read it is said (``run_command``).
    reader = _code_reader(
        record_path, lock_path, [os.fspath(_resolve(p, here)) for p in handle.outputs], snapshot is None, cwd=here
    )
    prepared = Background(
        lambda: assemble.prepare(
            command,
            lock=snapshot,
            lock_path=lock_path,
            record=record_path,
            python=sys.executable,
            python_from="the interpreter running the record_run block",  # no --python was given
            exclude=[_resolve(p, here) for p in handle.outputs],
            capture_path=None if snapshot is not None else captured_lock_path(record_path),
            code=reader,
            cwd=here,
        )
    )
    prepared.start()
    watch = GpuWatch(pids=lambda: {os.getpid()})
    watch.start()
    started, t0 = utc_now(), time.monotonic()
    status, interrupted, interrupted_by = 0, False, ""
    before = {p: _output_state(p, here) for p in handle.outputs}  # those named at the start: see ``_run``
    try:
        yield handle
    except KeyboardInterrupt as exc:
        # SIGTERM and SIGHUP arrive as the CLI's ``Terminated``, a KeyboardInterrupt naming its signal.
        status, interrupted, interrupted_by = 1, True, _signal_name(getattr(exc, "signum", signal.SIGINT))
        raise
    except SystemExit as exc:  # sys.exit() in the block: the status the process will end with
        code = exc.code
        status = 0 if code is None else code & 0xFF if isinstance(code, int) else 1
        raise
    except BaseException:
        status = 1
        raise
    finally:
        ended, duration = utc_now(), time.monotonic() - t0
        watch.stop()
        outs = []
        said = []
        for p in handle.outputs:
            earlier = before.get(p)
            if earlier is not None and _output_state(p, here) == earlier:  # as ``run_command`` says it
                outs.append((p, data_mod.missing(fast=fast)))
                said.append(_not_written(p, earlier))
            else:
                fp = data_mod.fingerprint(_resolve(p, here), fast=fast, missing_ok=True)
                outs.append((p, fp))
                if fp.kind == "missing":
                    said.append(_not_written(p, None))
        report = PythonReport(
            os.getpid(),
            sys.executable,
            ".".join(map(str, sys.version_info[:3])),
            sys.prefix,
            sys.base_prefix,
            {k: getattr(m, "__file__", None) or "" for k, m in list(sys.modules.items())},
            (),
        )
        outcome = Outcome(
            started=started,
            ended=ended,
            duration_ms=round(duration * 1000),
            exit_status=status,
            interrupted=interrupted,
            interrupted_by=interrupted_by,
            peak_memory_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        )
        ready = prepared.value()
        record = assemble.build(
            ready,
            argv=command,
            outcome=outcome,
            gpus=watch.result(),
            data=[
                *(assemble.to_data("input", p, fp, ready.ctx) for p, fp in inputs),
                *(assemble.to_data("output", p, fp, ready.ctx) for p, fp in outs),
            ],
            objects=trace.own_maps(),
            reports=[report],
            processes=1,
            method="/proc/self/maps and sys.modules of the recording process at the end of the block",
            outputs=handle.outputs,
            variables=variables,
        )
        dump(record, record_path)
        handle.record = record
        handle.warnings = (
            *([replaced] if replaced else []),
            *(f.shown() for f in ready.drift),  # as `envsnap run` prints it; the record keeps the fields
            *ready.warnings,
            *said,
            *home_lines(record, path, ready.ctx.redactor),
            *secret_lines(variables, path),
            *redacted_lines(record, path),
        )
        raised = sys.exc_info()[1] is not None  # the block's own exception is on its way out
        for line in handle.warnings:
            try:
                # 3: this generator, contextlib's __exit__, the block's ``with`` line
                warnings.warn(line, RunRecordWarning, stacklevel=3)
            except RunRecordWarning:
                if not raised:
                    raise
                # Made an error (``-W error``, ``simplefilter``) while the block's own exception propagates: that
                # one is what the author must read; the line stays on the handle.
