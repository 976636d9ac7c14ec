"""Imports of the pylock.toml pdm writes: its markers name dependency groups and extras (PEP 751's lock-file
markers), evaluated as an installer asked for nothing more would (no extras, the file's ``default-groups``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import importers, lockfile
from envsnap.errors import LockImportError

FIXTURES = Path(__file__).parent / "fixtures" / "pdm"


def test_pdm_pylock_takes_the_default_groups_and_no_extras() -> None:
    snap = importers.read_file(FIXTURES / "pylock.toml")
    assert snap.envsnap.generator == "envsnap import from pdm"
    # "default" in dependency_groups holds; the dev group, the plot extra and other platforms' packages do not.
    assert [p.name for p in snap.python.packages] == ["docopt", "tqdm"]
    (warning,) = [w for w in snap.envsnap.warnings if "markers were evaluated" in w]
    assert "no extras, dependency groups: default" in warning
    assert warning.endswith("left out: appnope, colorama, cycler, iniconfig")
    # docopt has an sdist only: that is its file.
    docopt = snap.package("docopt")
    assert docopt is not None and docopt.artifact is not None and docopt.artifact.filename == "docopt-0.6.2.tar.gz"
    text = lockfile.dumps(snap)
    assert lockfile.dumps(lockfile.loads(text)) == text


def test_a_marker_no_host_can_evaluate_is_one_line(tmp_path: Path) -> None:
    # A lock-file marker comparing a set with a version operator names no answer: bad input, not a traceback.
    text = (FIXTURES / "pylock.toml").read_text().replace('"\\"plot\\" in extras"', '"extras >= \\"1\\""', 1)
    assert "extras >=" in text
    (tmp_path / "pylock.toml").write_text(text)
    with pytest.raises(LockImportError, match=r"packages\[2\]\.marker: cannot evaluate") as info:
        importers.read_file(tmp_path / "pylock.toml")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("marker", ['extra == \\"plot\\"', 'python_version >= \\"3\\" and extra == \\"plot\\"'])
def test_a_marker_naming_extra_is_one_line(cli: Callable[..., Any], tmp_path: Path, marker: str) -> None:
    # A lock file's markers name ``extras`` (a set); ``extra``, a requirement's variable, is none of a lock file's
    # context: packaging's KeyError was a traceback, exit 1.
    text = (FIXTURES / "pylock.toml").read_text().replace('"\\"plot\\" in extras"', f'"{marker}"', 1)
    assert "extra ==" in text
    (tmp_path / "pylock.toml").write_text(text)
    result = cli("import", tmp_path / "pylock.toml", "-o", tmp_path / "envsnap.lock")
    assert result.code == 2, result
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert "packages[2].marker: cannot evaluate" in result.err and "'extra'" in result.err, result.err
    assert not (tmp_path / "envsnap.lock").exists()
