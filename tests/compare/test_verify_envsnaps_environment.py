"""`envsnap verify LOCK` where the environment chosen is the one envsnap itself runs in (the venv envsnap was
installed into, activated: VIRTUAL_ENV), against a lock of another environment (a paper's supplement): each package
beyond the lock was a mismatch with a remedy that removed it, envsnap-lock and every package envsnap runs on among them
(`uv pip uninstall --python ... jinja2`), which, pasted, broke envsnap. No remedy removes, replaces or reinstalls what
envsnap needs there; the line says why and what to verify instead."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import sample_lock

from envsnap import lockfile


def test_no_remedy_removes_what_envsnap_runs_on_from_the_environment_it_runs_in(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    try:
        metadata.distribution("envsnap-lock")
    except metadata.PackageNotFoundError:
        pytest.skip("envsnap-lock is not installed in the interpreter running the tests")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    lock = lockfile.dump(sample_lock(seal=True), tmp_path / "envsnap.lock")  # another environment's: no packages
    result = cli("verify", lock, "--python", sys.executable, "--json")
    assert result.code == 3, result
    extra = {d["subject"]: d for d in json.loads(result.out)["differences"] if d["what"] == "extra"}
    for needed in ("envsnap-lock", "jinja2", "packaging", "rich", "tomli"):
        assert needed in extra, sorted(extra)
        assert extra[needed]["remedy"] == "", extra[needed]
        assert "envsnap runs in this environment and needs it" in extra[needed]["note"], extra[needed]
        assert "--python" in extra[needed]["note"], extra[needed]
    shown = cli("verify", lock, "--python", sys.executable)
    assert "uninstall" not in "".join(
        line for line in shown.out.splitlines() if any(f" {n}" in line for n in ("envsnap-lock", "jinja2", "rich"))
    ), shown.out


def test_a_locked_version_of_a_package_envsnap_runs_on_keeps_its_remedy(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a removal breaks envsnap; a locked version to put in place is what the lock asks of its environment.
    from importlib import metadata

    try:
        metadata.distribution("envsnap-lock")
    except metadata.PackageNotFoundError:
        pytest.skip("envsnap-lock is not installed in the interpreter running the tests")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    here = tmp_path / "here.lock"
    assert cli("capture", "--python", sys.executable, "-o", str(here)).code == 0
    snap = lockfile.load(here)
    import dataclasses

    packages = tuple(dataclasses.replace(p, version="0.0.1") if p.name == "jinja2" else p for p in snap.python.packages)
    assert any(p.name == "jinja2" for p in packages)
    lock = lockfile.dump(
        dataclasses.replace(snap, python=dataclasses.replace(snap.python, packages=packages)), tmp_path / "older.lock"
    )
    result = cli("verify", lock, "--python", sys.executable, "--json")
    assert result.code == 3, result
    version = [d for d in json.loads(result.out)["differences"] if d["subject"] == "jinja2" and d["what"] == "version"]
    assert version and version[0]["remedy"], version
    assert "envsnap runs in this environment" not in version[0]["note"], version
