"""Every format envsnap's own exporters write, compared byte for byte with a reviewed golden file. The formats are
the registered exporters: a new exporter without a golden file fails here.

Regenerate after an intended change with ``ENVSNAP_UPDATE_GOLDEN=1 pytest tests/export`` and review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from export_samples import GOLDEN, cpu_venv_snapshot, pinned_snapshot, rich_snapshot

from envsnap import export
from envsnap.model import Snapshot

FORMATS = sorted(export.exporters())

# The lock each format is compared on: the rich sample, or the part of it the format can write (conda-lock lists
# only files with hashes; the docker target builds a CPU venv from a python image).
SAMPLE: dict[str, Callable[[], Snapshot]] = {"conda-lock": pinned_snapshot, "dockerfile": cpu_venv_snapshot}


def _sample(fmt: str) -> Snapshot:
    return SAMPLE.get(fmt, rich_snapshot)()


@pytest.mark.parametrize("fmt", FORMATS)
def test_matches_golden(fmt: str) -> None:
    files = export.get(fmt).render(_sample(fmt))
    assert files, f"{fmt} rendered nothing"
    folder = GOLDEN / fmt
    for name, data in files.items():
        golden = folder / name
        if os.environ.get("ENVSNAP_UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_bytes(data)
        assert golden.exists(), f"no golden file {golden}; run with ENVSNAP_UPDATE_GOLDEN=1 and review it"
        assert data.decode("utf-8") == golden.read_text(encoding="utf-8")
    kept = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert kept == set(files), f"golden files {sorted(kept - set(files))} are no longer written by {fmt}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_lock_same_bytes(fmt: str) -> None:
    exporter = export.get(fmt)
    assert exporter.render(_sample(fmt)) == exporter.render(_sample(fmt))


def test_every_golden_folder_is_a_registered_format() -> None:
    """The parametrisation is the registry: the formats compared so far are all still there, and no golden
    folder belongs to a format that is gone."""
    assert {"pylock", "requirements", "markdown", "latex", "cyclonedx", "json"} <= set(FORMATS)
    assert {p.name for p in GOLDEN.iterdir() if p.is_dir()} == set(FORMATS)
    assert set(SAMPLE) <= set(FORMATS)
    for exporter in export.exporters().values():
        assert exporter.description and exporter.filename
