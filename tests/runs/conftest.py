"""envsnap run and rerun as a user runs them: a separate process, its output and exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from runhelpers import Envsnap, envsnap_env


@pytest.fixture
def envsnap() -> Envsnap:
    """envsnap(*args, cwd=..., input=...) -> the finished process (text output)."""

    def invoke(
        *args: str | os.PathLike[str], cwd: Path, input: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "envsnap", *map(str, args)],
            cwd=cwd,
            env=envsnap_env(),
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )

    return invoke


@pytest.fixture(scope="session")
def host_lock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lock of the interpreter running the tests (captured once), outside any work tree: captured in envsnap's own
    checkout, it recorded envsnap's editable install as ``file://{project}``, the project of whichever test reruns
    it (verify says such an install reads another folder)."""
    path = tmp_path_factory.mktemp("host") / "envsnap.lock"
    subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "-o", str(path)],
        env=envsnap_env(),
        check=True,
        capture_output=True,
        cwd=path.parent,
    )
    return path
