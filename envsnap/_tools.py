"""Locating the external programs envsnap drives (uv, git). Each answer is None when the program is absent."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def uv() -> str | None:
    """The uv binary: on PATH, beside this interpreter, or from the ``uv`` package. None when absent."""
    if os.environ.get("ENVSNAP_NO_UV"):
        # Lets a user (and the tests of the pip fallback) take the slow path on purpose.
        return None
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return str(beside)
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


def git() -> str | None:
    return shutil.which("git")
