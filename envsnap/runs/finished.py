"""How a command ``execute`` ran has ended: a module of its own, imported once it has (``dataclasses`` is not
imported before the command starts)."""

from __future__ import annotations

from .._frozen import frozen

# The names a record's ``result.signal`` holds: what ``signal.Signals(N).name`` gives for a signal N that ended the
# command on Linux, where ``envsnap run`` runs (an alias, SIGIOT or SIGPOLL, is named by its first name; a real-time
# signal between SIGRTMIN and SIGRTMAX has no name, and is recorded as none). A record naming any other is refused.
SIGNAL_NAMES = frozenset(
    [
        "SIGABRT",
        "SIGALRM",
        "SIGBUS",
        "SIGCHLD",
        "SIGCONT",
        "SIGFPE",
        "SIGHUP",
        "SIGILL",
        "SIGINT",
        "SIGIO",
        "SIGKILL",
        "SIGPIPE",
        "SIGPROF",
        "SIGPWR",
        "SIGQUIT",
        "SIGRTMAX",
        "SIGRTMIN",
        "SIGSEGV",
        "SIGSTKFLT",
        "SIGSTOP",
        "SIGSYS",
        "SIGTERM",
        "SIGTRAP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGUSR1",
        "SIGUSR2",
        "SIGVTALRM",
        "SIGWINCH",
        "SIGXCPU",
        "SIGXFSZ",
    ]
)


# The signals that interrupt a run (a record's ``result.interrupted_by``): those envsnap passes on to the command
# while it runs (the terminal's Ctrl-C reaches it directly), and that cut its fingerprints of the outputs short.
INTERRUPTING = ("SIGHUP", "SIGINT", "SIGTERM")


@frozen
class Finished:
    started: str
    ended: str
    duration_ms: int
    exit_status: int  # as a shell reports it: 128 + N when a signal N ended the command
    signal: str  # the signal's name when one ended the command
    interrupted: bool  # envsnap received SIGINT, SIGTERM or SIGHUP while the command ran
    peak_memory_kib: int  # the largest resident set of the command and the processes it waited for
    objects: frozenset[str]  # files mapped executable in the sampled processes
    processes: int  # processes seen in the samples
    samples: int
    # The signal (SIGINT, SIGTERM, SIGHUP) that cut envsnap's own work short after the command ended (the outputs'
    # fingerprints), 0 when none did: the record is written without what was left, and envsnap exits 128+N, as for
    # that signal anywhere else (130 for a Ctrl-C, 143 for SIGTERM), whatever the command's status.
    cut_short_by: int = 0
    # The first of those signals envsnap received while the command ran (and passed on), 0 when none: ``rerun``
    # exits 128+N for it, as every command does for that signal (130 for a Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
    received: int = 0
    # The first of them envsnap passed on to the command (SIGTERM, SIGHUP, a SIGINT sent with ``kill``; not the
    # terminal's Ctrl-C, which reached the command itself), 0 when none: ``run`` exits 128+N for it, whatever the
    # command's status (a command that caught SIGTERM and exited 0 read as a job that completed).
    passed_on: int = 0
    # The first of those signals that came once the command had exited (before envsnap reaped it), 0 when none: the
    # command completed, so the run is not interrupted; the recorder takes it as one after the command ended.
    after_end: int = 0
