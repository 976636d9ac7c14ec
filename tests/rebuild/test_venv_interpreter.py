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


def test_the_progress_of_an_imported_lock_names_the_python_it_builds_with(tmp_path: Path) -> None:
    """A lock imported from requirements records no Python version: the progress read "creating a venv with
    Python " (blank) although the plan had found one."""
    from envsnap import lockfile
    from envsnap.model import Meta
    from envsnap.rebuild import rebuild

    imported = Snapshot(
        envsnap=Meta(
            generator="envsnap import from requirements.txt", origin="requirements", unknown=("python.version",)
        ),
        python=PythonEnv(kind="venv"),
    )
    lock = lockfile.dump(imported, tmp_path / "envsnap.lock")
    lines: list[str] = []
    rebuild(lock, target="venv", dest=tmp_path / "env", python=sys.executable, progress=lines.append)
    made = [line for line in lines if line.startswith("creating a venv")]
    version = ".".join(map(str, sys.version_info[:3]))
    assert made == [f"creating a venv with Python {version}"], lines
