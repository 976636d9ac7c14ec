"""``environment-yml``: a conda ``environment.yml`` with exact pins and a ``pip:`` section.

Every conda package is pinned to its channel, version and build (``conda-forge::numpy=1.26.4=py311h...``),
so ``conda env create`` can only pick the locked builds; ``nodefaults`` keeps other channels out. The pip
section carries what pip installed on top, with ``--hash`` when the lock knows every exact file (conda
writes these lines to a requirements file for pip, which checks hashes for all lines or none), and the
``--index-url``/``--extra-index-url``/``--find-links`` lines the requirements export gives, so a file pinned by name
is looked for where it was found (a ``+cu121`` build on its index, a wheel in the project's ``wheels`` folder). A
solver still runs: for an install with no solve at all use ``conda-explicit`` or ``conda-lock``.
"""

from __future__ import annotations

from .. import sinks
from .._templates import render as render_template
from ..model import Snapshot
from ..purls import channel_name
from . import _common, _conda
from .interface import Exporter, ExportError, refuse_stand_ins_by_name

FILENAME = "environment.yml"


def dumps(snapshot: Snapshot, file_name: str = FILENAME) -> str:
    # Values are JSON-quoted YAML scalars (tojson); the pip lines become a requirements file for pip, so they
    # are checked as one (a newline in a version must add no option and no requirement).
    with sinks.refusing(ExportError, "environment-yml"):
        return _dumps(snapshot, file_name)


def _dumps(snapshot: Snapshot, file_name: str) -> str:
    packages = _conda.require_conda(snapshot, "environment-yml")
    refuse_stand_ins_by_name(snapshot, "environment-yml")
    specs = [
        sinks.conda_pin(channel_name(p.channel) if p.channel else "", p.name, p.version, p.build)
        for p in sorted(packages, key=lambda p: p.name)
    ]
    channels = list(dict.fromkeys(channel_name(c) for c in snapshot.conda.channels)) if snapshot.conda else []
    pip, hashed = _conda.pip_lines(snapshot, "environment-yml")
    # The files pinned by name are found where the requirements export finds them: the indexes they came from
    # and the find-links folders (pip reads these option lines from the requirements file conda writes).
    pinned = [p for p in _conda.pip_packages(snapshot) if p.source.kind not in ("vcs", "directory")]
    options = _common.index_options(pinned) if pip else []
    return render_template(
        "conda/environment.yml.j2",
        digest=snapshot.envsnap.content_digest or "(unsealed)",
        filename=sinks.shell_word(file_name),
        channels=channels,
        specs=specs,
        pip=options + pip,
        hashed=hashed,
        has_pip=any(p.name == "pip" for p in packages),
        # conda runs pip from this file's folder: paths in the project are right only with the file at its root.
        relative=any(
            _common.in_project(url)
            for url in [
                *(p.source.url for p in _conda.pip_packages(snapshot) if p.source.kind in ("directory", "archive")),
                *(p.artifact.url for p in pinned if p.artifact is not None and _common.by_url_only(p)),
                *_common.find_links_locations(pinned),
            ]
        ),
    )


def render(snapshot: Snapshot, file_name: str = FILENAME) -> dict[str, bytes]:
    """The file, whose header's command names ``file_name``: the base name it is written to (``-o ci.txt``)."""
    return {FILENAME: dumps(snapshot, file_name).encode("utf-8")}


class EnvironmentYmlExporter(Exporter):
    name = "environment-yml"
    description = "conda environment.yml: channel::name=version=build pins and a pip: section"
    filename = FILENAME
    needs_artifacts = True

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)

    def files_named(self, snapshot: Snapshot, lock_name: str, file_name: str) -> dict[str, bytes]:
        return render(snapshot, file_name)


EXPORTER = EnvironmentYmlExporter()
