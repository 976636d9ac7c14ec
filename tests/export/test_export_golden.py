"""Every format envsnap's own exporters write, compared byte for byte with a reviewed golden file.

Regenerate after an intended change with ``ENVSNAP_UPDATE_GOLDEN=1 pytest tests/export`` and review the diff.
"""

from __future__ import annotations

import os

import pytest
from export_samples import GOLDEN

from envsnap import export
from envsnap.model import Snapshot

FORMATS = ["pylock", "requirements", "markdown", "latex", "cyclonedx", "json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_matches_golden(fmt: str, rich: Snapshot) -> None:
    files = export.get(fmt).render(rich)
    assert files, f"{fmt} rendered nothing"
    for name, data in files.items():
        golden = GOLDEN / fmt / name
        if os.environ.get("ENVSNAP_UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_bytes(data)
        assert golden.exists(), f"no golden file {golden}; run with ENVSNAP_UPDATE_GOLDEN=1 and review it"
        assert data.decode("utf-8") == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_lock_same_bytes(fmt: str, rich: Snapshot) -> None:
    exporter = export.get(fmt)
    assert exporter.render(rich) == exporter.render(rich)


def test_every_format_is_listed() -> None:
    names = set(export.exporters())
    assert set(FORMATS) <= names
    for exporter in export.exporters().values():
        assert exporter.description and exporter.filename
