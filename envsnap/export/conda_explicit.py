"""``conda-explicit``: the ``@EXPLICIT`` spec ``conda create --file`` installs with no solve.

One ``URL#md5`` line per conda package (``URL#sha256:<hex>`` when the lock has no md5), dependencies first,
after a ``# platform:`` line. pip-installed packages cannot be expressed in this format: they are listed in
a comment so that nothing is dropped silently.
"""

from __future__ import annotations

from .. import sinks
from .._templates import render as render_template
from ..model import Snapshot
from . import _conda
from .interface import Exporter, ExportError

FILENAME = "conda-explicit.txt"


def dumps(snapshot: Snapshot) -> str:
    # conda reads one package per line: a URL, md5 or subdir holding a newline must add no line.
    with sinks.refusing(ExportError, "conda-explicit"):
        return _dumps(snapshot)


def _dumps(snapshot: Snapshot) -> str:
    packages = _conda.require_conda(snapshot, "conda-explicit")
    lines = []
    for pkg in _conda.install_order(packages):
        if not pkg.url:
            raise ExportError(f"conda-explicit: {pkg.name} {pkg.version}: the lock has no URL for it")
        lines.append(sinks.conda_url_line(pkg.url, pkg.md5, pkg.sha256))
    return render_template(
        "conda/explicit.txt.j2",
        digest=snapshot.envsnap.content_digest or "(unsealed)",
        filename=FILENAME,
        subdir=sinks.conda_subdir(snapshot.conda.subdir) if snapshot.conda and snapshot.conda.subdir else "",
        pip=_conda.pip_lines(snapshot)[0],
        lines=lines,
    )


def render(snapshot: Snapshot) -> dict[str, bytes]:
    return {FILENAME: dumps(snapshot).encode("utf-8")}


class CondaExplicitExporter(Exporter):
    name = "conda-explicit"
    description = "conda @EXPLICIT spec: one URL#md5 a line, installs with no solve (pip packages as comments)"
    filename = FILENAME

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)


EXPORTER = CondaExplicitExporter()
