"""Exporters: turn a lock into the formats other tools read. See ``interface.py``."""

from __future__ import annotations

from .._plugins import Registry
from ..errors import ExportError

# What the command line does to a lock before an exporter renders it (public: the CLI is another package).
from ._common import (
    bundle_wheel_packages,
    find_links_folder_packages,
    has_project_paths,
    hidden_find_links,
    named_only,
    require_conda_layer,
    with_absolute_paths,
    with_bundle_find_links,
    with_bundle_wheels,
    with_seed_wheels,
)
from .interface import Exporter

__all__ = [
    "REGISTRY",
    "ExportError",
    "Exporter",
    "bundle_wheel_packages",
    "exporters",
    "find_links_folder_packages",
    "get",
    "has_project_paths",
    "hidden_find_links",
    "named_only",
    "require_conda_layer",
    "with_absolute_paths",
    "with_bundle_find_links",
    "with_bundle_wheels",
    "with_seed_wheels",
]

# Every format, by its --format name (a module here and one line in this list; see ``_plugins``).
REGISTRY: Registry[Exporter] = Registry(
    Exporter,
    __name__,
    (
        "conda_explicit:EXPORTER",
        "conda_lock:EXPORTER",
        "cyclonedx:EXPORTER",
        "dockerfile:EXPORTER",
        "environment_yml:EXPORTER",
        "json_export:EXPORTER",
        "appendix:LATEX",
        "appendix:MARKDOWN",
        "pylock:EXPORTER",
        "requirements:EXPORTER",
    ),
    what="export format",
    unknown=ExportError,
)


def exporters() -> dict[str, Exporter]:
    """Every available exporter by format name."""
    return dict(REGISTRY)


def get(name: str) -> Exporter:
    return REGISTRY.find(name)
