"""Files `export` writes inside the project (docs/design.md, "What counts as a change of the project"): while
untracked and exactly what envsnap wrote, they are its output, not a change of the project's code, as a lock or a
bundle written there is; edited, or once committed and then changed, they are the project's, as git sees them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult, sample_lock

from envsnap import lockfile
from envsnap.model import Artifact, PythonPackage

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    cmd = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def _lock(version: str) -> object:
    wheel = f"six-{version}-py2.py3-none-any.whl"
    art = Artifact(filename=wheel, url=f"https://files.example.org/{wheel}", sha256=hashlib.sha256(b"x").hexdigest())
    return sample_lock(PythonPackage(name="six", version=version, artifact=art), seal=True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed project holding its lock (``env.lock``), the working directory."""
    if any(os.path.lexists(folder / ".git") for folder in tmp_path.parents):
        pytest.skip("the temporary folder is itself inside a git work tree")
    repo = tmp_path / "paper"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "train.py").write_text("print('train')\n")
    lockfile.dump(_lock("1.16.0"), repo / "env.lock")  # type: ignore[arg-type]
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "start")
    monkeypatch.chdir(repo)
    return repo


def _state(cli: Callable[..., CliResult]) -> tuple[bool, str]:
    """The project as a capture now records it: dirty, and the digest of the uncommitted change."""
    result = cli("capture", "-o", "captured.lock")
    assert result.code == 0, result
    project = lockfile.load("captured.lock").project
    assert project is not None
    return project.dirty, project.diff_digest


def _export(cli: Callable[..., CliResult], fmt: str, out: str, written: str = "") -> None:
    result = cli("export", "env.lock", "-f", fmt, "-o", out, "--no-pin")
    assert result.code == 0, result
    assert result.err.startswith(f"wrote {written or out} ({fmt})\n"), result.err


def test_what_export_wrote_in_the_project_is_not_a_change_of_it(project: Path, cli: Callable[..., CliResult]) -> None:
    """`export -f pylock -o pylock.toml` and `export -f latex -o appendix.tex` in the project made every later
    capture and run record the project dirty (a new diff digest each export) until they were committed."""
    assert _state(cli) == (False, "")
    _export(cli, "pylock", "pylock.toml")
    _export(cli, "latex", "appendix.tex")
    _export(cli, "requirements", "out/", "out/requirements.txt")  # a folder of the project, made by the export
    assert sorted(_git(project, "status", "--porcelain", "-uall").splitlines()) == [
        "?? appendix.tex",
        "?? captured.lock",
        "?? out/requirements.txt",
        "?? pylock.toml",
    ]
    assert _state(cli) == (False, "")

    written = (project / "appendix.tex").read_bytes()
    (project / "appendix.tex").write_bytes(written + b"% my edit\n")  # the user's own work now
    dirty, digest = _state(cli)
    assert dirty and digest.startswith("sha256:")
    (project / "appendix.tex").write_bytes(written)  # back to what envsnap wrote
    assert _state(cli) == (False, "")

    (project / "notes.txt").write_text("not envsnap's\n")  # any other untracked file is still the project's
    assert _state(cli)[0] is True
    (project / "notes.txt").unlink()

    # Committed, the file is the project's: exported again from another lock, it is an uncommitted change, as
    # git status shows it; committed again, the project is clean.
    _git(project, "add", "pylock.toml", "appendix.tex")
    _git(project, "commit", "-q", "-m", "the environment's files")
    assert _state(cli) == (False, "")
    lockfile.dump(_lock("1.17.0"), project / "env.lock")  # type: ignore[arg-type]
    _git(project, "commit", "-q", "-am", "six 1.17.0")
    _export(cli, "pylock", "pylock.toml")
    assert _git(project, "status", "--porcelain").splitlines() == [" M pylock.toml", "?? captured.lock", "?? out/"]
    assert _state(cli)[0] is True
    _git(project, "commit", "-q", "-am", "pylock for six 1.17.0")
    assert _state(cli) == (False, "")


def test_an_export_outside_the_project_or_to_stdout_leaves_nothing_in_it(
    project: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    _export(cli, "pylock", f"{elsewhere}/", f"{elsewhere}/pylock.toml")
    assert (elsewhere / "pylock.toml").is_file()
    assert cli("export", "env.lock", "-f", "latex", "-o", "-", "--no-pin").code == 0
    assert _git(project, "status", "--porcelain", "--ignored", "-uall").splitlines() == []
