"""``rebuild --dest`` and ``--prefix`` are one option: a message about the destination names the one the user
typed, and each target's own word where neither was typed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap.cli._plugin_table import TARGET_DEST

# A conda lock, as `envsnap import` writes one from conda's explicit file: each target plans it far enough to look
# at its destination.
EXPLICIT = (
    "# platform: linux-64\n@EXPLICIT\n"
    "https://conda.anaconda.org/conda-forge/linux-64/libzlib-1.3.1-hb9d3cd8_2.conda#0123456789abcdef0123456789abcdef\n"
)

# target -> the option its messages name when neither was typed, and the message about a folder in use.
REFUSED = {
    "conda": ("--prefix", "{option} {path}: already exists and is not empty (remove it or choose another)"),
    "venv": ("--dest", "{option} {path}: already exists and is not empty (remove it or choose another)"),
    "docker": (
        "--dest",
        "{path}: exists and is not an envsnap build context (it holds keep.txt); choose another {option}",
    ),
}


@pytest.mark.parametrize("typed", ["--dest", "--prefix", ""])
@pytest.mark.parametrize("target", sorted(REFUSED))
def test_a_folder_in_use_is_named_by_the_option_typed(
    target: str, typed: str, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rebuild a.lock --target conda --dest r1`` a second time said ``--prefix r1: already exists``, and the venv
    and docker targets said ``--dest`` to a user who typed ``--prefix``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "explicit.txt").write_text(EXPLICIT)
    assert cli("import", "explicit.txt", "-o", "env.lock").code == 0
    folder = tmp_path / ("r1" if typed else TARGET_DEST[target])
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = cli("rebuild", "env.lock", "--target", target, *([typed, "r1"] if typed else []), "--dry-run")
    default, message = REFUSED[target]
    shown = folder.name if target == "docker" and not typed else folder  # docker names its default as it is
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1] == "envsnap: error: " + message.format(
        option=typed or default, path=shown
    )
    assert (folder / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("typed", ["--dest", "--prefix"])
def test_a_destination_that_cannot_be_made_is_named_by_the_option_typed(
    typed: str, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "explicit.txt").write_text(EXPLICIT)
    assert cli("import", "explicit.txt", "-o", "env.lock").code == 0
    (tmp_path / "file").write_text("")
    result = cli("rebuild", "env.lock", "--target", "conda", typed, "file/env", "--dry-run")
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1].startswith(f"envsnap: error: {typed} {tmp_path / 'file' / 'env'}: ")
