"""A find-links folder or an ``--allow-url`` folder whose path holds a space, named in a variable: ``PIP_FIND_LINKS``
is split at white space, as pip splits it (its option parser: ``val.split()`` for every list setting, from a file
or a variable alike), and ``$ENVSNAP_ALLOW_URL`` likewise (envsnap's own rule); such a folder is named by its
``file:`` URL, each space as ``%20``, which pip reads as that folder too."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_pin import lock_of, make_wheel, package_for
from testutil import CliResult

from envsnap import lockfile
from envsnap._fetchpolicy import FetchPolicy, allowances
from envsnap.artifacts.pin import read_pip_config


def test_pip_find_links_is_split_at_white_space_as_pip_splits_it() -> None:
    value = "/data/my wheels\tfile:///srv/more%20wheels\n/opt/w"
    config = read_pip_config(environ={"PIP_FIND_LINKS": value}, files=[], uv_files=[])
    assert config.find_links == ("/data/my", "wheels", "file:///srv/more%20wheels", "/opt/w")
    uv = read_pip_config(environ={"UV_FIND_LINKS": "/data/my wheels,/opt/w"}, files=[], uv_files=[])
    assert uv.find_links == ("/data/my wheels", "/opt/w")  # uv splits its variable at commas


def test_a_find_links_folder_with_a_space_named_by_its_percent_encoded_url_is_read_by_pip_and_by_pin(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "my wheels"
    wheel = make_wheel(folder, "tinypkg", "1.0")
    url = folder.as_uri()
    assert "%20" in url
    env = {"PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        monkeypatch.delenv(name, raising=False)
    # pip itself finds the wheel there by that URL (a dry run installs nothing)
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "tinypkg==1.0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pip.returncode == 0 and "tinypkg-1.0" in pip.stdout, pip.stdout + pip.stderr
    lock_path = lockfile.dump(lock_of(package_for(wheel, "tinypkg", "1.0")), tmp_path / "envsnap.lock")
    done = cli("pin", lock_path, "--cache-dir", tmp_path / "cache")
    assert done.code == 0 and "1 pinned" in done.err, done
    tiny = lockfile.load(lock_path).package("tinypkg")
    assert tiny is not None and tiny.artifact is not None
    assert tiny.artifact.url == f"{url}/{wheel.name}" and tiny.artifact.index == url


def test_envsnap_allow_url_names_a_folder_with_a_space_by_its_percent_encoded_url(tmp_path: Path) -> None:
    folder = tmp_path / "my wheels"
    inside = f"{folder.as_uri()}/tinypkg-1.0-py3-none-any.whl"
    env = {"ENVSNAP_ALLOW_URL": f"http://127.0.0.1:8000/*  {folder.as_uri()}/*"}
    policy = FetchPolicy(allowances(environ=env))
    assert policy.refusal(inside) is None
    assert policy.refusal(f"{(tmp_path / 'my').as_uri()}/x.whl") is not None  # no pattern for the half before it
    split = FetchPolicy(allowances(environ={"ENVSNAP_ALLOW_URL": f"{folder}/*"}))  # a bare path: two patterns
    assert split.refusal(inside) is not None
