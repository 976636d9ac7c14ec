"""The importer family's contract: one abstract base, one registry of the shape every family shares."""

from __future__ import annotations

from pathlib import Path

import pytest
from testutil import assert_complete_family

from envsnap import importers
from envsnap.errors import LockImportError
from envsnap.importers.interface import Importer


def test_every_importer_is_a_complete_importer_and_declared() -> None:
    assert_complete_family(importers.REGISTRY, importers)
    assert importers.REGISTRY.base is Importer
    assert importers.importers() == dict(importers.REGISTRY)


def test_an_unknown_format_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("numpy==1.26.4\n")
    with pytest.raises(LockImportError, match=r"unknown import format 'docx' \(known: conda-explicit, ") as caught:
        importers.read_file(path, "docx")
    assert caught.value.exit_code == 2
