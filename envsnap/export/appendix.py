"""``markdown`` and ``latex``: the "Software and hardware environment" appendix of a paper.

The document itself is ``envsnap.artifacts.appendix`` (a bundle ships it too); these are its two exporters.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import sinks
from .._privacy import scrub_snapshot
from ..artifacts.appendix import ArtifactFacts, render_latex, render_markdown
from ..model import Snapshot
from .interface import Exporter, ExportError

__all__ = [
    "LATEX",
    "MARKDOWN",
    "LatexExporter",
    "MarkdownExporter",
    "artifact_files",
    "render_latex",
    "render_markdown",
]


class MarkdownExporter(Exporter):
    name = "markdown"
    description = "Markdown appendix: software and hardware environment table, packages, digest, rebuild"
    filename = "appendix.md"

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render_markdown(snapshot)

    def files_named(self, snapshot: Snapshot, lock_name: str, file_name: str) -> dict[str, bytes]:
        with sinks.refusing(ExportError, self.name):  # a lock's file name no shell word holds (a newline)
            return render_markdown(snapshot, lock_name=lock_name)

    def files_of_bundle(self, snapshot: Snapshot, lock_name: str, file_name: str) -> dict[str, bytes]:
        with sinks.refusing(ExportError, self.name):
            return render_markdown(snapshot, lock_name=lock_name, bundled=True)


MARKDOWN = MarkdownExporter()


class LatexExporter(Exporter):
    name = "latex"
    description = "LaTeX appendix (booktabs, longtable) to \\input into a paper; same content as markdown"
    filename = "appendix.tex"

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render_latex(snapshot)

    def files_named(self, snapshot: Snapshot, lock_name: str, file_name: str) -> dict[str, bytes]:
        with sinks.refusing(ExportError, self.name):
            return render_latex(snapshot, lock_name=lock_name)

    def files_of_bundle(self, snapshot: Snapshot, lock_name: str, file_name: str) -> dict[str, bytes]:
        with sinks.refusing(ExportError, self.name):
            return render_latex(snapshot, lock_name=lock_name, bundled=True)


LATEX = LatexExporter()


def artifact_files(name: str, snapshot: Snapshot, artifact: ArtifactFacts) -> Mapping[str, bytes]:
    """The ``markdown`` or ``latex`` appendix of an artifact bundle's lock (``envsnap bundle --artifact``), with the
    "Artifact" part its own appendix has, from ``artifact`` (``paper.artifact.appendix_facts``)."""
    render = render_markdown if name == MARKDOWN.name else render_latex
    with sinks.refusing(ExportError, name):
        return render(scrub_snapshot(snapshot), artifact)
