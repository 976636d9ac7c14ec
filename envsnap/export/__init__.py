"""Exporters: turn a lock into the formats other tools read. See ``interface.py``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from .._plugins import discover
from .._privacy import scrub_snapshot
from ..errors import ExportError
from ..model import Snapshot
from .interface import Exporter


def _scrubbed(render: Callable[[Snapshot], Mapping[str, bytes]]) -> Callable[[Snapshot], Mapping[str, bytes]]:
    def scrubbed_render(snapshot: Snapshot) -> Mapping[str, bytes]:
        return render(scrub_snapshot(snapshot))

    return scrubbed_render


def exporters() -> dict[str, Exporter]:
    """Every available exporter by format name (modules here that define ``EXPORTER`` or ``EXPORTERS``,
    the latter for a few formats that share code).

    Each renders the lock without secrets (``_privacy.scrub_snapshot``): an imported or older lock may hold a
    credential or a signed URL that a capture today would not record. A clean lock renders unchanged."""
    table = discover(__name__, __path__, Exporter, "EXPORTER", "EXPORTERS")
    return {name: dataclasses.replace(e, render=_scrubbed(e.render)) for name, e in table.items()}


def get(name: str) -> Exporter:
    table = exporters()
    if name not in table:
        raise ExportError(f"unknown export format {name!r} (known: {', '.join(table) or 'none'})")
    return table[name]
