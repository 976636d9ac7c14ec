"""``rebuild --dest`` and ``--prefix`` are one option: a message about the destination names the one the user
typed, and each target's own word where neither was typed; each names it from the root, its default too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import sample_lock

from envsnap import lockfile
from envsnap.cli._plugin_table import TARGET_DEST

# A conda lock, as `envsnap import` writes one from conda's explicit file: the conda and venv targets plan it far
# enough to look at their destination (the docker target refuses it first, and is given the sample pip lock).
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
        "{option} {path}: exists and is not an envsnap build context (it holds keep.txt); choose another",
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
    if target == "docker":  # the docker target refuses a conda lock as it reads it, before its destination
        lockfile.dump(sample_lock(), tmp_path / "env.lock")
    else:
        (tmp_path / "explicit.txt").write_text(EXPLICIT)
        assert cli("import", "explicit.txt", "-o", "env.lock").code == 0
    folder = tmp_path / ("r1" if typed else TARGET_DEST[target])
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = cli("rebuild", "env.lock", "--target", target, *([typed, "r1"] if typed else []), "--dry-run")
    default, message = REFUSED[target]
    assert result.code == 2, result
    # The docker target named its default as it is (`envsnap-docker-context: exists ...`), the others from the root.
    assert result.err.strip().splitlines()[-1] == "envsnap: error: " + message.format(
        option=typed or default, path=folder
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


def test_the_docker_plan_names_its_default_build_context_from_the_root(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan said `build context: envsnap-docker-context` and `write the build context to
    envsnap-docker-context`, where the venv plan names `/.../envsnap-venv`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # planned without an engine
    lockfile.dump(sample_lock(), tmp_path / "env.lock")
    result = cli("rebuild", "env.lock", "--target", "docker", "--dry-run", "--force")
    assert result.code == 0, result
    context = tmp_path / "envsnap-docker-context"
    lines = result.out.splitlines()
    assert f"  build context: {context}" in lines, result.out
    assert any(line.strip().startswith(f"1. write the build context to {context}: ") for line in lines), result.out
    assert not context.exists()
