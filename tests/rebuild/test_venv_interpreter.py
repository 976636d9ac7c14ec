"""Which interpreter a venv rebuild uses for the locked Python version."""

from __future__ import annotations

import dataclasses
import platform
import sys
from pathlib import Path

import pytest

from envsnap.model import PythonEnv, Snapshot
from envsnap.rebuild import venv


def _lock(version: str) -> Snapshot:
    return dataclasses.replace(Snapshot(), python=PythonEnv(implementation="cpython", version=version))


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    return tmp_path


def test_the_interpreter_running_envsnap_serves_its_own_version(empty_path: Path) -> None:
    found, notes = venv.find_interpreter(_lock(platform.python_version()), None, offline=True)
    assert (found.path, found.how, notes) == (sys.executable, "the interpreter running envsnap", [])


def test_a_pyenv_version_is_found(empty_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = platform.python_version()
    exe = empty_path / "pyenv" / "versions" / version / "bin" / "python"
    exe.parent.mkdir(parents=True)
    exe.symlink_to(sys.executable)
    monkeypatch.setattr(sys, "executable", str(empty_path / "gone" / "python"))
    found, _ = venv.find_interpreter(_lock(version), None, offline=True)
    assert (found.path, found.how) == (str(exe), "pyenv")


def test_nothing_of_that_version_is_a_clear_error(empty_path: Path) -> None:
    with pytest.raises(venv.RebuildError, match=r"no Python 3\.4\.1 interpreter found"):
        venv.find_interpreter(_lock("3.4.1"), None, offline=True)
