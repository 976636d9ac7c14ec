"""The exporter family: one module per format beside this file, each exposing ``EXPORTER``.

An exporter is pure: ``render(snapshot)`` returns the files it would write (name -> bytes); only the CLI
writes them (atomically) or prints them. Same lock -> same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import ExportError
from ..model import Snapshot

__all__ = ["ExportError", "Exporter"]


@dataclass(frozen=True)
class Exporter:
    name: str  # the --format value
    description: str
    filename: str  # default output file name (or directory name when ``directory`` is true)
    render: Callable[[Snapshot], Mapping[str, bytes]]  # relative file name -> content
    directory: bool = False  # writes several files into a directory (a Docker build context)
