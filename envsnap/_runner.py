"""The one place envsnap starts subprocesses: always with a timeout, never through a shell.

Each command runs in a session (and so a process group) of its own, and the whole group is killed when the
command times out, floods its output, is interrupted, or exits: a wrapper script's children (``sleep`` under a
shell, a daemon a fake driver forks) can neither outlive it nor hold the pipes open past the timeout. What a
command prints is kept up to ``MAX_OUTPUT`` bytes per stream; more ends the command with a one-line error."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence

TYPE_CHECKING = False  # not typing's: a capture's probe starts before typing is needed
if TYPE_CHECKING:
    from typing import IO

MAX_OUTPUT = 128 << 20  # per stream: a probe's JSON of a large environment is a few MB
DRAIN_AFTER_EXIT = 2.0  # how long to wait for the pipes once the group is gone


class Result:
    """A command's outcome (frozen). Not a dataclass: this module is on the way to the first probe a command
    starts, and ``dataclasses`` (with ``inspect``) is 6 ms of imports a capture has not yet needed there."""

    _NAMES = ("args", "returncode", "stdout", "stderr", "timed_out", "flooded")
    __slots__ = _NAMES
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    flooded: bool  # printed more than MAX_OUTPUT on a stream, and was killed for it

    def __init__(
        self,
        args: tuple[str, ...],
        returncode: int,
        stdout: str,
        stderr: str,
        timed_out: bool = False,
        flooded: bool = False,
    ) -> None:
        for name, value in zip(self._NAMES, (args, returncode, stdout, stderr, timed_out, flooded), strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._NAMES)

    def __eq__(self, other: object) -> bool:
        return type(other) is Result and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "Result(" + ", ".join(f"{n}={v!r}" for n, v in zip(self._NAMES, self._fields(), strict=True)) + ")"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.flooded


class _Reader(threading.Thread):
    def __init__(self, stream: IO[bytes], limit: int, on_flood: threading.Event, wake: threading.Event):
        super().__init__(daemon=True)
        self.stream, self.limit, self.on_flood, self.wake = stream, limit, on_flood, wake
        self.chunks: list[bytes] = []
        self.size = 0
        self.begun = threading.Event()  # the first output was read, or the stream ended

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.stream.read1(1 << 16):  # type: ignore[attr-defined]
                if self.size + len(chunk) > self.limit:
                    self.on_flood.set()
                    self.wake.set()
                    break
                self.chunks.append(chunk)
                self.size += len(chunk)
                self.begun.set()
        self.begun.set()
        with contextlib.suppress(OSError):
            self.stream.close()

    def text(self) -> str:
        # As text mode would: universal newlines.
        return b"".join(self.chunks).decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command's whole process group (it leads its own session); nothing when it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


_STARTED: set[Running] = set()  # started and not yet waited for: ``kill_all`` ends them


def kill_all() -> None:
    """Kill every command started and not waited for (the CLI calls it on Ctrl-C and on every exit)."""
    for running in list(_STARTED):
        running.kill()


# The longest a wait sleeps at once: a signal the kernel gave another thread runs its handler within this.
SIGNAL_POLL_S = 0.25


def _wait_in_steps(event: threading.Event, timeout: float) -> bool:
    """``event.wait(timeout)`` in steps of at most ``SIGNAL_POLL_S``. The kernel gives a process's SIGTERM to any of
    its threads; Python runs the handler in the main thread, and a main thread asleep in one long wait did not
    run it until the wait ended (a probe's 120 s): each step returns to the interpreter, which runs it."""
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return event.is_set()
        if event.wait(min(left, SIGNAL_POLL_S)):
            return True


class Running:
    """A command started by ``start``: its output is read while the caller does other work."""

    error: Result | None  # the start's failure (127: no such program, 126: not executable)

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        max_output: int | None = None,
        held: bool = False,
    ):
        """``held``: its standard input is a pipe left open until ``feed`` (a command that waits to be told)."""
        self._set_up(args, MAX_OUTPUT if max_output is None else max_output)
        try:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                self.args,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.PIPE if input is not None or held else None,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            self.proc, self.error = None, Result(self.args, 127, "", str(exc))
            return
        except OSError as exc:  # not executable, exec format error
            self.proc, self.error = None, Result(self.args, 126, "", exc.strerror or str(exc))
            return
        self._attach(self.proc)
        if input is not None:
            threading.Thread(target=self._feed, args=(input,), daemon=True).start()

    @classmethod
    def adopt(cls, proc: subprocess.Popen[bytes]) -> Running:
        """A command started elsewhere (``_venvfirst``, before this module was imported) as ``start`` would
        have started it: in a session of its own, its output on two pipes and no input. Read and reaped from now
        on as one started here."""
        running = cls.__new__(cls)
        running._set_up(proc.args, MAX_OUTPUT)  # type: ignore[arg-type]  # a list of words, as _venvfirst starts it
        running.proc = proc
        running._attach(proc)
        return running

    def _set_up(self, args: Sequence[str], limit: int) -> None:
        self.args = tuple(str(a) for a in args)
        self.error = None
        self._flood = threading.Event()
        self._wake = threading.Event()  # set when the command exits or floods: ``wait`` sleeps on it, never polls
        self.limit = limit

    def _attach(self, proc: subprocess.Popen[bytes]) -> None:
        """Read the command's output and wait for its end on threads of their own."""
        assert proc.stdout is not None and proc.stderr is not None
        self._out = _Reader(proc.stdout, self.limit, self._flood, self._wake)
        self._err = _Reader(proc.stderr, self.limit, self._flood, self._wake)
        _STARTED.add(self)
        self._out.start()
        self._err.start()
        threading.Thread(target=self._reap, args=(proc,), daemon=True).start()

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        """Block in waitpid (no CPU while the command runs) and wake ``wait`` when the command exits."""
        with contextlib.suppress(OSError):
            proc.wait()
        self._wake.set()

    def output_begun(self, timeout: float) -> bool:
        """Whether the command printed something on stdout (or closed it) within ``timeout`` seconds of now."""
        return self.proc is not None and self._out.begun.wait(timeout)

    def feed(self, text: str) -> None:
        """Write ``text`` (a few bytes: the pipe holds them) to a ``held`` command's input and close it."""
        if self.proc is not None and self.proc.stdin is not None and not self.proc.stdin.closed:
            self._feed(text)

    def _feed(self, text: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write(text.encode())
        with contextlib.suppress(OSError):
            self.proc.stdin.close()

    def wait(self, timeout: float, *, keep_stderr: bool = False) -> Result:
        """The command's result within ``timeout`` seconds of now; on timeout, flood or interrupt the whole
        group is killed first. Whatever happens, no process of the group is left running. ``keep_stderr``: a
        timed-out result's ``stderr`` is what the command printed there before the deadline (else the line
        "timed out after N s"), for a caller that tells from it what the command was doing."""
        if self.error is not None or self.proc is None:
            return self.error or Result(self.args, 126, "", "not started")
        proc = self.proc
        timed_out = False
        try:
            # One sleep until the command exits, floods or runs out of time: the reaper thread and the readers
            # set ``_wake``. Ctrl-C interrupts the sleep (a lock wait is interruptible on POSIX), and ``kill``
            # from another thread ends the command, which wakes it.
            if not _wait_in_steps(self._wake, timeout):
                timed_out = proc.poll() is None and not self._flood.is_set()
        finally:
            kill_group(proc)  # stragglers after a normal exit too: the group is this command's alone
            proc.wait()
            _STARTED.discard(self)
        self._out.join(DRAIN_AFTER_EXIT)
        self._err.join(DRAIN_AFTER_EXIT)
        out, err = self._out.text(), self._err.text()
        if self._flood.is_set():
            return Result(self.args, -9, out, f"printed more than {self.limit} bytes of output; stopped", flooded=True)
        if timed_out:
            return Result(self.args, -9, out, err if keep_stderr else f"timed out after {timeout:g} s", timed_out=True)
        return Result(self.args, proc.returncode, out, err)

    def kill(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)
            self.proc.wait()
        _STARTED.discard(self)


def start(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    max_output: int | None = None,
    held: bool = False,
) -> Running:
    """Start a command in its own process group; ``.wait(timeout)`` gives its Result. ``held``: its input is
    left open until ``.feed(text)``."""
    return Running(args, cwd=cwd, env=env, input=input, max_output=max_output, held=held)


def run(
    args: Sequence[str],
    *,
    timeout: float = 30.0,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> Result:
    """Run a command and capture its output. A missing program, a timeout or a flood of output is a Result,
    not an exception."""
    return start(args, cwd=cwd, env=env, input=input).wait(timeout)
