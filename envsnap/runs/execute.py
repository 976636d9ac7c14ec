"""Run a command as ``envsnap run`` does: its output untouched, its exit status and signals passed on, its
process tree sampled while it runs.

The command inherits stdin, stdout and stderr and stays in envsnap's process group, so a Ctrl-C at the terminal
reaches it directly, as it would without envsnap. envsnap blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD and takes
them with ``sigtimedwait`` between samples: SIGTERM and SIGHUP are passed on to the command; SIGINT is passed
on only when it was sent to envsnap with ``kill`` (the terminal's has reached the command already, and a
second one would interrupt its cleanup). Any of them marks the run interrupted; envsnap still waits for the
command to end and writes the record. One that comes once the command has exited (before envsnap reaped it, or with
its end) interrupted nothing: the command completed, and it is a signal after it ended (``Finished.after_end``),
taken as the recorder takes those. The command starts with an empty signal mask and default SIGPIPE.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from ..errors import EnvsnapError
from .trace import Sampler

TYPE_CHECKING = False  # not typing's: typing is not imported before the command starts (a tenth of envsnap's start)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from .finished import Finished

SI_KERNEL = 0x80  # si_code of a signal the kernel raised (the terminal's Ctrl-C), not kill()
PASSED_ON = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


class CommandError(EnvsnapError):
    """The command could not be started (not found, not executable)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def utc_now() -> str:
    return utc_time(time.time())


def utc_time(seconds: float) -> str:
    """``seconds`` since the epoch as the record writes a time: UTC, to the millisecond (``...T12:00:00.000Z``)."""
    import datetime as dt  # not before the command starts: only once it has ended

    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def execute(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    while_running: Callable[[int, Sampler], None] | None = None,
) -> Finished:
    """Run ``argv`` (looked up on ``env``'s PATH) to its end. ``while_running(pid, sampler)`` is called once the
    command has started, with signals still blocked (a thread it starts inherits the block); ``sampler.objects``
    grows as the samples are taken (a copy, ``frozenset(sampler.objects)``, is safe in another thread)."""
    wanted = {*PASSED_ON, signal.SIGCHLD}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    interrupted, received, after_end, passed_on = False, 0, 0, 0
    try:
        started, t0 = time.time(), time.monotonic()
        pid = _spawn(argv, env, cwd, old_mask)
        sampler = Sampler(pid)
        sampler.sample()
        # Imported now that the command runs, and before while_running starts threads that import: two threads
        # importing at once can be handed each other's half-made modules (Python's import locks, to avoid a
        # deadlock, give a module being imported in another thread as it is).
        from .finished import SIGNAL_NAMES, Finished

        if while_running is not None:
            while_running(pid, sampler)
        status, usage = 0, None
        while True:
            info = signal.sigtimedwait(wanted, sampler.wait_time())
            if info is not None and info.si_signo not in wanted:
                # No signal of the set: the wait once handed back 998427952 in CI, which was passed on (EINVAL) and
                # named (a traceback). Taken for no answer: the loop reaps the command or waits again.
                info = None
            if info is not None and _after_end(info) and _ended(pid):
                # The command had exited (not yet reaped): the signal is one to envsnap after it ended (decided
                # below, once its status is known); it marked a run that completed, exit 0, interrupted.
                after_end = after_end or info.si_signo
                continue
            if info is not None and info.si_signo != signal.SIGCHLD:
                interrupted, received = True, received or info.si_signo
                if info.si_signo != signal.SIGINT or info.si_code != SI_KERNEL:
                    passed_on = passed_on or info.si_signo
                    # Gone already, or refused otherwise (EINVAL, once in CI): the command runs on, and how envsnap
                    # was signalled is kept; a traceback lost the record.
                    with contextlib.suppress(OSError):
                        os.kill(pid, info.si_signo)
                continue
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done == pid:
                break
            if info is None:
                sampler.sample()
        ended, duration = time.time(), time.monotonic() - t0
        while (late := signal.sigtimedwait(wanted, 0)) is not None:
            if late.si_signo not in wanted:
                continue  # no signal of the set (above)
            if _after_end(late):  # the command is reaped: it came after it ended, or with its end
                after_end = after_end or late.si_signo
            elif late.si_signo != signal.SIGCHLD:
                interrupted, received = True, received or late.si_signo
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    if after_end and os.WIFSIGNALED(status):
        # A signal ended the command (the one sent to its whole process group, envsnap's too): it was interrupted.
        interrupted, received, after_end = True, received or after_end, 0
    code = os.waitstatus_to_exitcode(status)
    name = ""
    if code < 0:
        with contextlib.suppress(ValueError):
            name = signal.Signals(-code).name
        name = name if name in SIGNAL_NAMES else ""  # only a name a record can hold
        code = 128 - code
    return Finished(
        started=utc_time(started),
        ended=utc_time(ended),
        duration_ms=round(duration * 1000),
        exit_status=code & 0xFF,
        signal=name,
        interrupted=interrupted,
        received=received,
        passed_on=passed_on,
        after_end=after_end,
        peak_memory_kib=usage.ru_maxrss if usage else 0,
        objects=frozenset(sampler.objects),
        processes=len(sampler.processes),
        samples=sampler.samples,
    )


def _after_end(info: signal.struct_siginfo) -> bool:
    """Whether ``info``, taken once the command has exited, is a signal to envsnap after it ended: SIGTERM, SIGHUP,
    or a SIGINT sent with ``kill``; not the terminal's Ctrl-C, which reached the command too."""
    return info.si_signo in PASSED_ON and (info.si_signo != signal.SIGINT or info.si_code != SI_KERNEL)


def _ended(pid: int) -> bool:
    """Whether the command ``pid`` has exited, not reaped yet (``WNOWAIT``: the wait loop reaps it)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _spawn(argv: Sequence[str], env: Mapping[str, str], cwd: str | None, mask: set[int | signal.Signals]) -> int:
    """posix_spawnp: the child gets ``mask`` (envsnap's mask before it blocked the signals it forwards) and
    default SIGPIPE/SIGXFSZ (Python ignores them; an ignored signal stays ignored across exec)."""
    here = os.getcwd() if cwd is not None else None
    if cwd is not None:
        try:
            os.chdir(cwd)
        except OSError as exc:
            raise CommandError(
                f"{cwd}: cannot enter the working directory: {exc.strerror or exc}", EXIT_NOT_EXECUTABLE
            ) from None
    try:
        return os.posix_spawnp(
            argv[0], list(argv), dict(env), setsigmask=mask, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ)
        )
    except FileNotFoundError:
        raise CommandError(f"{argv[0]}: command not found", EXIT_NOT_FOUND) from None
    except PermissionError:
        raise CommandError(f"{argv[0]}: permission denied (not executable)", EXIT_NOT_EXECUTABLE) from None
    except OSError as exc:
        raise CommandError(f"{argv[0]}: cannot run: {exc.strerror or exc}", EXIT_NOT_EXECUTABLE) from None
    finally:
        if here is not None:
            os.chdir(here)
