"""A venv rebuild's staging folder at a name a rebuild before it used (``.envsnap-venv-slot0``), where it is free.

uv keeps what it learnt of an interpreter (its version, tags and paths, asked by running it: some 30 ms of CPU on
the installer's way, before it links anything) under the interpreter's path, checked against the real binary's
path and time. A venv made at a fresh random path every rebuild was asked again every time; one made at a path a
rebuild before it used, from the same interpreter, is answered from uv's cache (docs/design.md, "Staging at a name
used before"). The standard library only (``os``): ``_venvfirst`` makes one before envsnap loads.

The folder is made with ``mkdir``, never taken when it exists (a running rebuild's, held; a killed one's, which the
sweep removes; a link or anything else someone put there): then the next name, and after the few names a random
one, as ``mkdtemp`` makes it."""

from __future__ import annotations

import os

SLOTS = 4  # names tried before a random one: as many rebuilds at once in one folder find one of them free


def names(*, slots: bool) -> list[str]:
    """The names a staging folder is made at (``mkdir``), in order, the first that is free: the slots first where
    ``slots``, then random ones. ``_leftovers.held_dir`` and ``_venvfirst`` name each before they make it, so that
    a Ctrl-C as it is made removes it."""
    return [f"slot{i}" for i in range(SLOTS if slots else 0)] + [os.urandom(6).hex() for _ in range(16)]
