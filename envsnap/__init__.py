"""envsnap: capture, check and rebuild ML environments exactly."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

# `capture` and `verify` are also the names of submodules: they are bound eagerly so that importing the
# submodule can never leave the package attribute pointing at a module instead of the function.
from .capture import capture
from .errors import EnvsnapError, LockfileError, ProbeError
from .lockfile import dump, load
from .model import Snapshot
from .verify import VerifyReport, verify

if TYPE_CHECKING:
    from .compat import check


def __getattr__(name: str) -> Any:
    # The compatibility rules and their data tables load only for a program that asks for them.
    if name == "check":
        from .compat import check

        return check
    raise AttributeError(f"module 'envsnap' has no attribute {name!r}")

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
