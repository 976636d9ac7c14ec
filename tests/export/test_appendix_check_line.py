"""The check line the appendices and an artifact's REPRODUCING.md give the reader of a pip lock judges what the
rebuild on the next line uses: a venv made from an interpreter of the locked release that the machine has, not the
interpreter envsnap happens to run on (a pipx or `uv tool` install on another Python)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import sample_lock, sample_python, tex_typed

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle
from envsnap.paper import artifact
from envsnap.paper.metadata import ArtifactMeta, Author


def _another_python() -> tuple[str, str] | None:
    """A CPython of another minor release than the one running (its path, its version), on PATH or in pyenv's
    versions, where a venv rebuild looks for the locked release; None where this machine has none."""
    names = [f"python3.{minor}" for minor in range(8, 15) if minor != sys.version_info.minor]
    candidates = [found for name in names if (found := shutil.which(name))]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if pyenv.is_dir():
        candidates += [str(p / "bin" / "python3") for p in sorted(pyenv.iterdir()) if (p / "bin" / "python3").exists()]
    for exe in candidates:
        try:
            done = subprocess.run(
                [exe, "-c", "import platform, sys; print(platform.python_implementation(), platform.python_version())"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        words = done.stdout.split()
        running = f"3.{sys.version_info.minor}."
        if done.returncode == 0 and words[:1] == ["CPython"] and not words[1].startswith(running):
            return exe, words[1]
    return None


def _check_line(text: str) -> list[str]:
    (line,) = [line for line in text.splitlines() if "envsnap check " in line and "`envsnap check`" not in line]
    return shlex.split("envsnap check " + line.split("envsnap check ", 1)[1].split("#", 1)[0])


def _rendered(kind: str, path: Path, cli: Callable[..., Any]) -> str:
    if kind == "REPRODUCING.md":
        return artifact._reproducing(
            Bundle(path.parent),
            ArtifactMeta(title="Table 2", authors=(Author("Ada Lovelace"),), license="MIT"),
            [],
            grade="Bundled",
        )
    fmt = "markdown" if kind == "appendix.md" else "latex"
    result = cli("export", path, "-f", fmt, "-o", path.parent / kind)
    assert result.code == 0, result
    text = (path.parent / kind).read_text()
    if fmt == "latex":  # as a reader types it from the PDF, the line as it is written in the source
        (line,) = [line for line in tex_typed(text).splitlines() if "envsnap check " in line]
        text = line.split("\\texttt{", 1)[1].split("} (", 1)[0]
    return text


@pytest.mark.parametrize("kind", ["appendix.md", "appendix.tex", "REPRODUCING.md"])
def test_the_check_line_of_a_pip_lock_passes_where_envsnap_runs_on_another_python(
    kind: str, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`envsnap check envsnap.lock` judged the interpreter envsnap runs with (or an activated venv): a reviewer whose
    envsnap runs on another Python than the lock's read `incompatible` (exit 3) on the first line of the steps, though
    the venv rebuild on the next line takes the locked release from this machine and succeeds. The line says
    `--target venv`, which judges that interpreter, and passes there."""
    other = _another_python()
    if other is None:
        pytest.skip("no CPython of another minor release than the running one on PATH or in pyenv")
    _exe, version = other
    major, minor = version.split(".")[:2]
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    (tmp_path / "bundle").mkdir()
    lock = sample_lock(python=sample_python(version=version, abi=f"cp{major}{minor}"), seal=True)
    path = lockfile.dump(lock, tmp_path / "bundle" / "envsnap.lock")
    monkeypatch.chdir(tmp_path / "bundle")
    assert cli("check", "envsnap.lock").code == 3  # the interpreter running envsnap is not of the locked release
    words = _check_line(_rendered(kind, path, cli))
    assert words[:3] == ["envsnap", "check", "envsnap.lock"], words
    result = cli(*words[1:])
    assert result.code == 0, result
