"""envsnap: capture, check and rebuild ML environments exactly."""

from __future__ import annotations

__version__ = "0.1.0"

from .capture import capture
from .compat import check
from .errors import EnvsnapError, LockfileError, ProbeError
from .lockfile import dump, load
from .model import Snapshot
from .verify import VerifyReport, verify

__all__ = [
    "EnvsnapError",
    "LockfileError",
    "ProbeError",
    "Snapshot",
    "VerifyReport",
    "__version__",
    "capture",
    "check",
    "dump",
    "load",
    "verify",
]
