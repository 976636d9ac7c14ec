"""How a command ``execute`` ran has ended: a module of its own, imported once it has (``dataclasses`` is not
imported before the command starts)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
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
    # A Ctrl-C after the command ended cut envsnap's own work short (the outputs' fingerprints): the record is
    # written without what was left, and envsnap exits 130, as for any Ctrl-C, whatever the command's status.
    cut_short: bool = False
