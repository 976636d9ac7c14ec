"""The rules, in the order their findings are reported (see ``interface.py``)."""

from __future__ import annotations

from ..._plugins import Registry
from ...errors import CheckError
from .interface import Rule

__all__ = ["REGISTRY", "Rule"]

# Every rule, by name, in report order (a module here and one line in this list; see ``_plugins``).
REGISTRY: Registry[Rule] = Registry(
    Rule,
    __name__,
    (
        "platform:RULE",
        "docker:RULE",
        "docker:GPU_RULE",
        "python:RULE",
        "wheels:RULE",
        "glibc:RULE",
        "system_libs:RULE",
        "cpu_isa:RULE",
        "cuda_present:RULE",
        "driver:RULE",
        "gpu_arch:RULE",
        "cuda_libs:RULE",
        "gpu_memory:RULE",
        "disk:RULE",
    ),
    what="compat rule",
    unknown=CheckError,
)
