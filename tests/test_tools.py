"""Which uv envsnap drives: its own before a PATH one (a version manager's shim costs a bash start each run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from envsnap import _tools


def _program(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A venv-like folder whose interpreter has a uv beside it, and a PATH whose uv is a pyenv-like shim."""
    own = _program(tmp_path / "venv" / "bin" / "uv")
    shim = _program(tmp_path / "shims" / "uv")
    monkeypatch.setattr(sys, "executable", str(own.parent / "python"))
    monkeypatch.setenv("PATH", f"{shim.parent}:/usr/bin:/bin")
    for name in ("ENVSNAP_NO_UV", "ENVSNAP_UV"):
        monkeypatch.delenv(name, raising=False)
    return own, shim


def test_the_uv_installed_with_envsnap_comes_before_the_one_on_path(layout: tuple[Path, Path]) -> None:
    own, _shim = layout
    assert _tools.uv() == str(own)


def test_the_path_uv_is_used_when_envsnap_has_none(layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    own, shim = layout
    own.unlink()

    def not_found() -> str:
        raise FileNotFoundError("no uv package binary")

    monkeypatch.setitem(sys.modules, "uv", type(sys)("uv"))
    sys.modules["uv"].find_uv_bin = not_found  # type: ignore[attr-defined]
    assert _tools.uv() == str(shim)


def test_envsnap_uv_names_the_binary_and_no_uv_turns_it_off(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chosen = _program(tmp_path / "elsewhere" / "uv")
    monkeypatch.setenv("ENVSNAP_UV", str(chosen))
    assert _tools.uv() == str(chosen)
    monkeypatch.setenv("ENVSNAP_UV", str(tmp_path / "missing" / "uv"))
    assert _tools.uv() is None  # named but absent: pip, not some other uv
    monkeypatch.setenv("ENVSNAP_NO_UV", "1")
    monkeypatch.setenv("ENVSNAP_UV", str(chosen))
    assert _tools.uv() is None


def test_a_printed_command_names_uv_by_path_unless_path_finds_the_same_one(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remedy read ``uv pip install ...``: with envsnap's uv beside its interpreter and none (or a shim) on PATH,
    that ran no uv or another one. It names envsnap's by its path, and plain ``uv`` where PATH finds that one."""
    own, shim = layout
    assert _tools.uv_word() == str(own)  # PATH's is a shim
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert _tools.uv_word() == str(own)  # no uv on PATH
    monkeypatch.setenv("PATH", f"{own.parent}:{shim.parent}:/usr/bin:/bin")
    assert _tools.uv_word() == "uv"
    monkeypatch.setenv("ENVSNAP_NO_UV", "1")
    assert _tools.uv_word() == "uv"  # none at all: nothing better to name
