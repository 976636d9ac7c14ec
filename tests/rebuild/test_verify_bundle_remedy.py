"""`envsnap verify BUNDLE`: the remedy of a Python package's mismatch installs the locked wheel the bundle holds,
offline, as the rebuild did. It asked the package index (`uv pip install ... labpkg==1.0`), which a reviewer rebuilding
offline from the supplement has not, and whose file for that pin need not be the one the bundle holds."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from offline_wheels import locked_bundle, wheel
from testutil import uv_bin


@pytest.mark.parametrize("change", ["missing", "version"])
def test_a_verify_remedy_against_a_bundle_folder_installs_its_wheel_offline(
    tmp_path: Path, cli: Callable[..., Any], change: str
) -> None:
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    made = wheel(tmp_path / "wheels", "labpkg", "1.0")
    _lock, bundle, python = locked_bundle(uv, tmp_path, {"labpkg": made})
    offline = {
        **os.environ,
        "UV_OFFLINE": "1",
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "empty-cache"),
        "PIP_NO_INDEX": "1",
    }
    if change == "missing":
        subprocess.run([uv, "pip", "uninstall", "-q", "--python", str(python), "labpkg"], check=True, env=offline)
    else:
        other = wheel(tmp_path / "other", "labpkg", "2.0")
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(other)], check=True, env=offline)
    result = cli("verify", bundle, "--python", python, "--json")
    assert result.code == 3, result
    (difference,) = [d for d in json.loads(result.out)["differences"] if d["severity"] == "mismatch"]
    remedy = difference["remedy"]
    assert remedy, difference
    command = shlex.split(remedy.split(": ", 1)[1])
    assert "--no-index" in command and str(bundle / "wheels") in command, command
    # Pasted where no index answers and no cache holds it: it installs the bundle's wheel.
    done = subprocess.run(command, env=offline, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert cli("verify", bundle, "--python", python).code == 0
