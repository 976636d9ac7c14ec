"""The exporters called from Python with a lock built in code: a value the loader refuses is refused as the loader
refuses it (``LockfileError``, the field's dotted path and the rule), whichever entry point is called, and reaches
no Dockerfile, requirements file, YAML, JSON, TOML, Markdown or LaTeX."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import pytest
from export_samples import cpu_venv_snapshot, pinned_snapshot
from testutil import unchecked_lock_text

from envsnap import export, lockfile
from envsnap.artifacts.appendix import ArtifactFacts
from envsnap.errors import LockfileError
from envsnap.export.appendix import artifact_files
from envsnap.export.interface import Exporter
from envsnap.model import Snapshot

# The formats of a venv lock (Docker, pip, JSON, the appendix) and those of a conda lock (conda's text and YAML).
CONDA_FORMATS = ("conda-explicit", "conda-lock", "environment-yml")


def _first_package(snapshot: Snapshot, **changes: str) -> Snapshot:
    first = dataclasses.replace(snapshot.python.packages[0], **changes)
    python = dataclasses.replace(snapshot.python, packages=(first, *snapshot.python.packages[1:]))
    return dataclasses.replace(snapshot, python=python)


# What a hostile caller hands in: a name, a version and a value bound for a shell or a Dockerfile line, each of
# which the loader refuses in a file.
HOSTILE: dict[str, Callable[[Snapshot], Snapshot]] = {
    "name": lambda s: _first_package(s, name="demo$(id)"),
    "version": lambda s: _first_package(s, version="1.0 ; touch /tmp/pwned"),
    "python": lambda s: dataclasses.replace(s, python=dataclasses.replace(s.python, version="3.11.7 AS evil")),
    "environment": lambda s: dataclasses.replace(s, environment={"OMP_NUM_THREADS": "8\\\nRUN id"}),
}


def _hostile(fmt: str, what: str) -> Snapshot:
    return HOSTILE[what](pinned_snapshot() if fmt in CONDA_FORMATS else cpu_venv_snapshot())


def _loader_says(snapshot: Snapshot) -> str:
    """What the loader says of the same lock read from a file, without the file's name."""
    with pytest.raises(LockfileError) as caught:
        lockfile.loads(unchecked_lock_text(snapshot), origin="env.lock", check_digest=False)
    return str(caught.value).removeprefix("env.lock: ")


ENTRY_POINTS: dict[str, Callable[[Exporter, Snapshot], Mapping[str, bytes]]] = {
    "render": lambda e, s: e.render(s),
    "render-bundled": lambda e, s: e.render(s, bundled=True),
    "files": lambda e, s: e.files(s),
    "files_named": lambda e, s: e.files_named(s, "env.lock", e.filename),
    "files_of_bundle": lambda e, s: e.files_of_bundle(s, "env.lock", e.filename),
}


@pytest.mark.parametrize("what", sorted(HOSTILE))
@pytest.mark.parametrize("fmt", sorted(export.exporters()))
def test_a_lock_built_in_code_is_refused_as_the_loader_refuses_it(fmt: str, what: str) -> None:
    snapshot = _hostile(fmt, what)
    with pytest.raises(LockfileError) as caught:
        export.get(fmt).render(snapshot)
    assert str(caught.value) == "<data>: " + _loader_says(snapshot)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("fmt", ["dockerfile", "requirements", "environment-yml", "cyclonedx", "latex"])
def test_every_entry_point_of_an_exporter_checks_the_lock(fmt: str, entry: str) -> None:
    snapshot = _hostile(fmt, "name")
    with pytest.raises(LockfileError, match=r"^<data>: python\.packages\[0\]\.name: not a valid distribution name"):
        ENTRY_POINTS[entry](export.get(fmt), snapshot)


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_an_artifact_appendix_checks_the_lock(fmt: str) -> None:
    snapshot = _hostile(fmt, "version")
    with pytest.raises(LockfileError, match=r"^<data>: python\.packages\[0\]\.version: not a valid version"):
        artifact_files(fmt, snapshot, ArtifactFacts(doi_url="https://doi.org/10.1234/x"))


@pytest.mark.parametrize("fmt", sorted(export.exporters()))
def test_a_valid_lock_built_in_code_renders_through_every_entry_point(fmt: str) -> None:
    snapshot = pinned_snapshot() if fmt in CONDA_FORMATS else cpu_venv_snapshot()
    exporter = export.get(fmt)
    rendered = exporter.render(snapshot)
    assert rendered
    assert exporter.files_named(snapshot, "envsnap.lock", exporter.filename)
