"""Helpers for tests in every area (importable as ``testutil``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import inspect
import pkgutil
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def uv_bin() -> str | None:
    """uv from PATH, or the one installed beside this interpreter (pip install uv)."""
    found = shutil.which("uv")
    if found:
        return found
    candidate = Path(sys.executable).parent / "uv"
    return str(candidate) if candidate.exists() else None


def assert_complete_family(registry: Any, package: ModuleType) -> None:
    """A plug-in family's registry holds an instance of its abstract base for every module of the package (none
    left out of the declared list), each with every hook implemented and its own name."""
    from envsnap._plugins import Registry

    assert isinstance(registry, Registry)
    assert registry, "an empty family"
    for name, plugin in registry.items():
        assert isinstance(plugin, registry.base), name
        assert not inspect.isabstract(type(plugin)), name
        hooks = {n for n in dir(registry.base) if getattr(getattr(registry.base, n), "__isabstractmethod__", False)}
        assert hooks, "the base declares no hook"
        for hook in hooks:
            assert callable(getattr(plugin, hook)), (name, hook)
            assert getattr(type(plugin), hook) is not getattr(registry.base, hook), (name, hook)
        assert plugin.name == name
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)
               if not info.name.startswith("_") and info.name != "interface"}
    declared = {member.partition(":")[0] for member in registry.members}
    assert declared == modules, "every module of the family is declared in its REGISTRY, and only those"
