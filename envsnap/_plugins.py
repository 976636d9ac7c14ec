"""Plug-in families (exporters, importers, rebuilders): every module of a package that exposes the family's
attribute is a member, so adding a format or a target is adding a module, never editing a list."""

from __future__ import annotations

import pkgutil
from collections.abc import Iterable
from importlib import import_module
from typing import Any, TypeVar

T = TypeVar("T")


def discover(package: str, path: Iterable[str], kind: type[T], *attributes: str) -> dict[str, T]:
    """Members of ``kind`` found under ``attributes`` (a single object, or a sequence of them) in the modules
    of ``package``, keyed by their ``name`` and sorted."""
    found: dict[str, T] = {}
    for info in pkgutil.iter_modules(list(path)):
        if info.name.startswith("_") or info.name == "interface":
            continue
        module = import_module(f"{package}.{info.name}")
        for attribute in attributes:
            value: Any = getattr(module, attribute, None)
            for member in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(member, kind):
                    found[member.name] = member  # type: ignore[attr-defined]
    return dict(sorted(found.items()))
