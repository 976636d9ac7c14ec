"""envsnap: capture, check and rebuild ML environments exactly.

The public API is what this module names; the modules behind it load on first use, so ``import envsnap``
(and the command line's start-up) stays cheap.
"""

from __future__ import annotations

from ._version import __version__
from .errors import EnvsnapError, LockfileError, ProbeError, RunRecordWarning

TYPE_CHECKING = False  # not typing's: importing typing costs every start 5 ms (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from typing import Any

    from .api import check
    from .compare.verify import VerifyReport, verify
    from .lockfile import dump, load
    from .model import Snapshot
    from .probes.capture import capture
    from .runs.recorder import record_run

# public name -> the module that defines it
_LAZY = {
    "capture": ".probes.capture",
    "verify": ".compare.verify",
    "VerifyReport": ".compare.verify",
    "check": ".api",
    "dump": ".lockfile",
    "load": ".lockfile",
    "Snapshot": ".model",
    "record_run": ".runs.recorder",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'envsnap' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "EnvsnapError",
    "LockfileError",
    "ProbeError",
    "RunRecordWarning",
    "Snapshot",
    "VerifyReport",
    "__version__",
    "capture",
    "check",
    "dump",
    "load",
    "record_run",
    "verify",
]
