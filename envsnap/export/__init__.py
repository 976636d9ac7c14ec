"""Exporters: turn a lock into the formats other tools read. See ``interface.py``."""

from __future__ import annotations

import pkgutil
from importlib import import_module

from ..errors import ExportError
from .interface import Exporter


def exporters() -> dict[str, Exporter]:
    """Every available exporter by format name (modules here that define ``EXPORTER`` or ``EXPORTERS``)."""
    found: dict[str, Exporter] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "interface":
            continue
        module = import_module(f"{__name__}.{info.name}")
        # A module offers one format (EXPORTER) or a few that share code (EXPORTERS).
        for exporter in (getattr(module, "EXPORTER", None), *getattr(module, "EXPORTERS", ())):
            if isinstance(exporter, Exporter):
                found[exporter.name] = exporter
    return dict(sorted(found.items()))


def get(name: str) -> Exporter:
    table = exporters()
    if name not in table:
        raise ExportError(f"unknown export format {name!r} (known: {', '.join(table) or 'none'})")
    return table[name]
