"""The cyclic garbage collector paused while a large lock is read and checked.

Reading a 5,000-distribution lock allocates some 100,000 tables, lists and records, none of them in a cycle; the
collector, run every 700 allocations and over the whole heap at every tenth of those runs, took a tenth of the
time (0.012-0.018 s of a 0.12 s load). ``paused()`` turns it off for the block and on again after, and only where
it was on: a caller that turned it off keeps it off, and an inner block leaves it to the outer one. Nothing is
lost while it is off: objects without cycles are freed by their reference counts as always, and whatever cycle
the block made is collected at the next run after it."""

from __future__ import annotations

import gc

# The commands that read, compare and write in well under a second and end without the interpreter's teardown
# (``leave_at_once``): the collector is off for the whole of such a run (``off_for_command``).
SHORT_COMMANDS = frozenset({"capture", "check", "verify", "rebuild", "diff"})

_off_for_command = False  # whether ``off_for_command`` turned the collector off (and ``long_work`` may turn it on)


def off_for_command(command: str) -> bool:
    """Turn the cyclic collector off for the rest of this program when ``command`` is a short one, as the first
    thing it does; whether it did.

    A venv rebuild made some 90 collections (10-20 ms of the main thread's CPU, beside the installer on two cores),
    a cold ``diff`` 20 (8 ms, most of them one full pass over both locks' tables when ``paused`` ended just before
    the exit). Such a run allocates a few hundred thousand objects and ends in under a second without freeing them
    one by one (``leave_at_once``): what cycles it makes (classes, a caught exception's traceback) would be freed by
    the exit anyway. Work that can run for minutes turns the collector on again (``long_work``): a docker or conda
    target's build."""
    global _off_for_command
    if command not in SHORT_COMMANDS or not gc.isenabled():
        return False
    gc.disable()
    _off_for_command = True
    return True


def long_work() -> None:
    """The collector on again where ``off_for_command`` turned it off: the work ahead may run for minutes."""
    global _off_for_command
    if _off_for_command:
        _off_for_command = False
        gc.enable()


class paused:  # lower case: used as a function, ``with paused():``
    """``with paused():`` runs the block with the cyclic collector off, and turns it on again after if it was on."""

    def __enter__(self) -> None:
        self.was_on = gc.isenabled()
        if self.was_on:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_on:
            gc.enable()
