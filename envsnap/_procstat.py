"""The fields of ``/proc/PID/stat`` after the command name, read in one place. The name, field 2, is the
program's, in parentheses, and may itself hold spaces, parentheses and digits (``a) 1 2``): the fields after it
are those after the last ")". A docker rebuild's hold (a process's start time), Slurm's walk up to slurmd (a
parent's pid) and a run's process tree (every parent) read it. ``envsnap run`` imports this before its command
starts: it imports nothing."""

from __future__ import annotations

# Indexes into ``stat_fields``: field N of proc(5) is [N - 3].
STATE = 0  # field 3
PPID = 1  # field 4: the parent's pid
START_TIME = 19  # field 22: clock ticks after boot

MAX_STAT = 4096  # a stat line is a few hundred bytes; its name at most 64


def after_name(text: str) -> list[str]:
    """The fields of a ``/proc/PID/stat`` text after its command name, [] where it holds none."""
    _, paren, rest = text.rpartition(")")
    return rest.split() if paren else []


def stat_fields(pid: int | str) -> list[str]:
    """``after_name`` of ``/proc/PID/stat`` (``pid`` may be "self"), [] where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read(MAX_STAT)
    except OSError:
        return []
    return after_name(data.decode("ascii", "replace"))
