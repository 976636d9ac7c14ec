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
    if name == "verify":
        value = _judging_kernels(value)
    globals()[name] = value
    return value


def _judging_kernels(verify: Any) -> Any:
    """``compare.verify.verify`` judging the environment's CUDA kernels on this host's GPUs as ``check`` does (its
    ``gpu_kernels``: the rules stand above the comparison), as ``envsnap verify`` does: a function of its own, named
    ``envsnap.verify`` (help(), pickle and ``inspect.getmodule`` find it here), with the comparison's signature and
    documentation but for that default."""
    import inspect
    from functools import wraps

    @wraps(verify)
    def judged(*args: Any, **options: Any) -> Any:
        if options.get("gpu_kernels", _JUDGED) is _JUDGED:
            options["gpu_kernels"] = _kernel_differences
        return verify(*args, **options)

    judged.__module__, judged.__qualname__ = __name__, "verify"
    signature = inspect.signature(verify)
    parameters = [p.replace(default=_JUDGED) if p.name == "gpu_kernels" else p for p in signature.parameters.values()]
    judged.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    judged.__doc__ = (verify.__doc__ or "").rstrip() + (
        "\n\n    ``envsnap.verify`` judges the environment's CUDA kernels (torch's build and the other "
        "distributions') on this\n    host's GPUs by default, as ``envsnap verify`` does: ``gpu_kernels`` is "
        "``envsnap.compat.kernel_differences``\n    unless given; ``gpu_kernels=None`` judges none.\n"
    )
    return judged


class _Judged:
    """``envsnap.verify``'s default ``gpu_kernels``, as its signature shows it: the rules, loaded on first use."""

    def __repr__(self) -> str:
        return "envsnap.compat.kernel_differences"


_JUDGED = _Judged()


def _kernel_differences(lock: Snapshot, env: Snapshot, environ: Any) -> Any:
    from .compat import kernel_differences  # loaded only where a GPU and a distribution's kernels are there

    return kernel_differences(lock, env, environ)


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
