"""A conda environment's lock rebuilt as a venv: what a venv cannot give is said up front, and no conda archive
is fetched for a target that installs none."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from condafixtures import CondaEnv

from envsnap import lockfile
from envsnap.probes.capture import capture


@pytest.fixture(scope="module")
def locked(conda_env: CondaEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lock") / "envsnap.lock"
    lockfile.dump(capture(str(conda_env.python)), path)
    return path


def test_check_for_a_venv_names_the_python_packages_conda_installed(locked: Path, cli: Callable[..., Any]) -> None:
    result = cli("check", locked, "--target", "venv", "--json")
    assert result.code == 3, result
    failed = [f for f in json.loads(result.out)["findings"] if f["severity"] == "fail"]
    assert [(f["component"], f["rule"]) for f in failed] == [("conda packages", "platform")]
    assert "tinyutil 0.3.0" in failed[0]["found"]
    assert "--target conda" in failed[0]["remedy"]
    assert cli("check", locked, "--target", "conda").code == 0


def test_rebuild_as_a_venv_stops_before_anything_is_fetched(
    locked: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVSNAP_ALLOW_URL", raising=False)  # a conda archive it fetched would be refused: exit 2
    monkeypatch.chdir(tmp_path)
    result = cli("rebuild", locked, "--target", "venv", "--dest", tmp_path / "vx")
    assert result.code == 3, result
    assert "tinyutil 0.3.0" in result.err and "--target conda" in result.err, result.err
    assert "pinning" not in result.err and "rebuilt" not in result.err
    assert not (tmp_path / "vx").exists()


def test_a_forced_venv_rebuild_fetches_no_conda_archive(
    locked: Path, conda_env: CondaEnv, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVSNAP_ALLOW_URL", raising=False)  # the local channel's archives are not allowed
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(conda_env.channel.pip_wheel.parent))
    monkeypatch.chdir(tmp_path)
    result = cli("rebuild", locked, "--target", "venv", "--dest", tmp_path / "vx", "--force")
    assert "fetching and checking" not in result.err and "--allow-url" not in result.err, result.err
    assert result.code == 3, result  # built what a venv can; the verify names what it lacks
    assert "tinyutil 0.3.0: in the lock, not installed" in result.out
    assert (tmp_path / "vx" / "pyvenv.cfg").is_file()


def test_a_failed_venv_rebuild_removes_the_folders_it_made_for_the_dest(
    locked: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pipdemo is found nowhere: pinning fails
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    monkeypatch.chdir(tmp_path)
    result = cli("rebuild", locked, "--target", "venv", "--dest", tmp_path / "newparent" / "x", "--force")
    assert result.code == 4, result  # the work failed
    assert "pipdemo 1.2.0" in result.err and "could be pinned" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
