"""Rebuilders: turn a lock back into an environment (venv, docker, conda).

Each rebuilder first produces a plan (what will be built, from what, pinned how), then acts on it;
``--dry-run`` prints the plan. Every rebuild runs the compatibility check first and verifies the result.
A target is a module here exposing ``REBUILDER`` (see ``interface.py``): add a module, do not edit a list.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from ..errors import RebuildError
from .interface import Plan, PlanItem, RebuildRequest, RebuildResult, Rebuilder

__all__ = ["Plan", "PlanItem", "RebuildRequest", "RebuildResult", "Rebuilder", "get", "rebuilders"]


def rebuilders() -> dict[str, Rebuilder]:
    """Every available rebuild target by name (modules here that define ``REBUILDER``)."""
    found: dict[str, Rebuilder] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "interface":
            continue
        rebuilder = getattr(import_module(f"{__name__}.{info.name}"), "REBUILDER", None)
        if isinstance(rebuilder, Rebuilder):
            found[rebuilder.name] = rebuilder
    return dict(sorted(found.items()))


def get(name: str) -> Rebuilder:
    table = rebuilders()
    if name not in table:
        raise RebuildError(f"unknown rebuild target {name!r} (known: {', '.join(table) or 'none'})")
    return table[name]
