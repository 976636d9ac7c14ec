"""Locating the external programs envsnap drives (uv, git). Each answer is None when the program is absent."""

from __future__ import annotations

import os
import sys


def uv() -> str | None:
    """The uv binary: ``$ENVSNAP_UV`` when set, else the one installed with envsnap (beside this interpreter, or
    where the ``uv`` package puts it), else the first on PATH. None when absent (``$ENVSNAP_UV`` naming no
    executable file counts as absent: pip is used, and says so).

    envsnap's own uv comes first: it is the version envsnap depends on and was tested with, and it is an
    executable binary. The PATH one is often a version manager's shim (pyenv's is a bash script that runs pyenv's
    scripts: 0.1 s of CPU at every start, twice a venv rebuild)."""
    decided, found = uv_at_hand()
    if decided:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        try:
            return str(find_uv_bin())
        except FileNotFoundError:
            pass
    import shutil  # here: a venv rebuild's first step asks only ``uv_at_hand`` (``_venvfirst``)

    return shutil.which("uv")


def uv_at_hand() -> tuple[bool, str | None]:
    """``(True, uv())`` where ``uv`` answers without looking anywhere but the environment and this interpreter's
    folder (``$ENVSNAP_NO_UV``, ``$ENVSNAP_UV``, the uv beside this interpreter); ``(False, None)`` otherwise."""
    if os.environ.get("ENVSNAP_NO_UV"):
        # Lets a user (and the tests of the pip fallback) take the slow path on purpose.
        return True, None
    named = os.environ.get("ENVSNAP_UV")
    if named:
        return True, (named if os.path.isfile(named) and os.access(named, os.X_OK) else None)
    beside = os.path.join(os.path.dirname(sys.executable), "uv")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return True, beside
    return False, None


def uv_word() -> str:
    """The uv to name in a command printed for the user to run (a remedy, a note), unquoted: ``uv`` where the first
    uv on PATH is the one envsnap runs (``uv``), or where envsnap finds none at all, else the path of envsnap's. A
    bare ``uv`` was not found where envsnap was installed with pipx or run from a venv not activated (its uv sits
    beside its interpreter, off PATH), or named another uv (a version manager's shim)."""
    found = uv()
    if found is None:
        return "uv"
    import shutil

    on_path = shutil.which("uv")
    if on_path is not None and os.path.realpath(on_path) == os.path.realpath(found):
        return "uv"
    return found


def git() -> str | None:
    import shutil

    return shutil.which("git")
