"""Helpers for tests in every area (importable as ``testutil``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def uv_bin() -> str | None:
    """uv from PATH, or the one installed beside this interpreter (pip install uv)."""
    found = shutil.which("uv")
    if found:
        return found
    candidate = Path(sys.executable).parent / "uv"
    return str(candidate) if candidate.exists() else None
