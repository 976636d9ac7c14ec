"""Exporters: turn a lock into the formats other tools read. See ``interface.py``."""

from __future__ import annotations

from .._plugins import discover
from ..errors import ExportError
from .interface import Exporter


def exporters() -> dict[str, Exporter]:
    """Every available exporter by format name (modules here that define ``EXPORTER`` or ``EXPORTERS``,
    the latter for a few formats that share code)."""
    return discover(__name__, __path__, Exporter, "EXPORTER", "EXPORTERS")


def get(name: str) -> Exporter:
    table = exporters()
    if name not in table:
        raise ExportError(f"unknown export format {name!r} (known: {', '.join(table) or 'none'})")
    return table[name]
