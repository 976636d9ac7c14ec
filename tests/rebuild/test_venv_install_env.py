"""The installer's environment: the user's index settings never apply, their cache settings do (issue 12.8:
``UV_CACHE_DIR`` was dropped with every other ``UV_*`` variable)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import offline_wheels
import pytest
from testutil import uv_bin

from envsnap import lockfile
from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot
from envsnap.rebuild import venv


def test_isolated_env_keeps_cache_settings_and_drops_index_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    keep = {"UV_CACHE_DIR": "/scratch/uv", "UV_LINK_MODE": "copy", "PIP_CACHE_DIR": "/scratch/pip"}
    drop = {
        "UV_INDEX_URL": "http://127.0.0.1:1/simple",
        "UV_CONSTRAINT": "/tmp/c.txt",
        "UV_PYTHON": "/x",
        "PIP_INDEX_URL": "http://127.0.0.1:1/simple",
        "PIP_FIND_LINKS": "/tmp/w",
        "UV_FIND_LINKS": "/tmp/w",
    }
    for key, value in {**keep, **drop}.items():
        monkeypatch.setenv(key, value)
    env = venv.isolated_env()
    assert {k: env.get(k) for k in keep} == keep
    assert not set(drop) & set(env)
    assert env["UV_NO_CONFIG"] == "1" and env["PIP_CONFIG_FILE"] == os.devnull


def test_uv_cache_dir_is_honoured_by_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_venv: Callable[..., Path]
) -> None:
    if uv_bin() is None:
        pytest.skip("uv is not installed")
    monkeypatch.delenv("ENVSNAP_NO_UV", raising=False)
    wheel = offline_wheels.wheel(
        tmp_path / "bundle" / "wheels", "cachedpkg", "1.0", files={"cachedpkg/__init__.py": b"VALUE = 1\n"}
    )
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock = Snapshot(
        python=PythonEnv(
            version="3.11.7",
            packages=(
                PythonPackage(
                    "cachedpkg",
                    "1.0",
                    wheel_tags=("py3-none-any",),
                    artifact=Artifact(wheel.name, "https://example.org/" + wheel.name, sha),
                ),
            ),
        )
    )
    lockfile.dump(lock, tmp_path / "bundle" / "envsnap.lock")
    python = make_venv(tmp_path / "target")
    cache = tmp_path / "uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    assert venv.install_python_layer(python, lock, tmp_path / "bundle", offline=True) == "uv"
    assert cache.is_dir() and any(p.is_file() for p in cache.rglob("*")), "uv did not use UV_CACHE_DIR"


@pytest.mark.parametrize("home", ["file", "missing"])
def test_a_home_uv_cannot_make_its_cache_in_still_rebuilds_a_bundle_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], home: str
) -> None:
    """A reviewer's locked-down account (``HOME=/nonexistent``, a read-only home): uv stopped the rebuild with
    "Failed to initialize cache at `/nonexistent/.cache/uv`", exit 4. The installer is given uv's temporary cache
    instead. A home that is a file is one even root cannot make a folder in; a missing one, under a file, too."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.delenv("ENVSNAP_NO_UV", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    made = offline_wheels.wheel(tmp_path / "wheels", "lockeddown", "1.0")
    _, bundle, _ = offline_wheels.locked_bundle(uv, tmp_path, {"lockeddown": made})
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("HOME", str(blocker if home == "file" else blocker / "nonexistent"))
    for name in ("XDG_CACHE_HOME", "UV_CACHE_DIR", "UV_NO_CACHE", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(bundle)
    result = cli("rebuild", "envsnap.lock", "--bundle", ".", "--offline", "--dest", "../env")
    assert result.code == 0, result
    assert "identical" in result.out and "cache" not in result.err, result
    assert (tmp_path / "env" / "bin" / "python").exists()
    assert not (blocker.parent / "nonexistent").exists()
    assert venv.isolated_env()["UV_NO_CACHE"] == "1"


@pytest.mark.parametrize("root", ["run#1", "50%41"])
def test_a_bundle_in_a_folder_with_a_hash_or_percent_sign_rebuilds_with_uv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], root: str
) -> None:
    """The venv target gave uv the bundle's wheel folder as ``--find-links /tmp/run#1/bundle/wheels``, a path,
    which uv reads as a URL: it looked for ``/tmp/run`` ("Failed to read `--find-links` directory"), exit 4. The
    installer is given the folder's ``file:`` URL, percent-encoded (``/tmp/run%231/...``), which pip reads too."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.delenv("ENVSNAP_NO_UV", raising=False)
    made = offline_wheels.wheel(tmp_path / "wheels", "hashfolder", "1.0")
    where = tmp_path / root
    where.mkdir()
    _, bundle, _ = offline_wheels.locked_bundle(uv, where, {"hashfolder": made})
    result = cli("rebuild", bundle / "envsnap.lock", "--bundle", bundle, "--offline", "--dest", where / "env")
    assert result.code == 0, result
    assert "identical" in result.out, result
    assert list((where / "env").glob("lib/python*/site-packages/hashfolder/__init__.py")), result
