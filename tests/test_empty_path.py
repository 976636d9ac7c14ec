"""An empty path argument (``envsnap check ''``, a shell variable left unset: ``envsnap check "$LOCK"``) is said to be
empty: ``Path('')`` reads as ``.``, and the answer was ".: is a directory, not a lockfile"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult, sample_lock

from envsnap import lockfile


@pytest.mark.parametrize(
    "argv",
    [
        ["check", ""],
        ["verify", ""],
        ["pin", ""],
        ["rebuild", "", "--dry-run"],
        ["export", "", "--format", "requirements", "-o", "-"],
        ["diff", "", "x.lock"],
        ["diff", "x.lock", ""],
        ["import", ""],
        ["audit", ""],
        ["show", ""],
    ],
    ids=lambda argv: "-".join(a or "EMPTY" for a in argv[:3]),
)
def test_an_empty_path_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], argv: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    lockfile.dump(sample_lock(), tmp_path / "x.lock")
    result = cli(*argv)
    assert result.code == 2, result
    (line,) = result.err.strip().splitlines()
    assert "the path is empty" in line, line
    assert "directory" not in line, line


def test_an_empty_pin_output_is_said_to_be_empty_and_the_lock_is_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap pin env.lock -o "$PINNED"`` with the variable unset read ``-o ''`` as no ``-o`` and pinned the lock
    in place, over the captured lock the user meant to keep beside the pinned one. One line, exit 2, before any index
    is asked; the lock is left as it was."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing is asked: the refusal comes first
    lock = tmp_path / "x.lock"
    lockfile.dump(sample_lock(), lock)
    before = lock.read_bytes()
    result = cli("pin", "x.lock", "-o", "")
    assert result.code == 2, result
    assert result.err.splitlines() == [
        "envsnap: error: -o '': the path is empty (expected a lockfile); a shell variable left unset?"
    ], result
    assert lock.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.lock"]


def test_an_empty_bundle_output_is_said_to_be_empty_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``envsnap bundle env.lock -o "$OUT"`` with the variable unset wrote the bundle into the working directory
    (``wrote .``: its README, SHA256SUMS and wheels among the user's files, an empty one). One line, exit 2."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    lock = tmp_path / "x.lock"
    lockfile.dump(sample_lock(), lock)
    result = cli("bundle", str(lock), "-o", "")
    assert result.code == 2, result
    assert result.err.splitlines() == [
        "envsnap: error: -o '': the path is empty (expected a bundle directory or archive); a shell variable left "
        "unset?"
    ], result
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("option", ["--dest", "--prefix"])
def test_an_empty_rebuild_destination_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], option: str
) -> None:
    """``envsnap rebuild env.lock --dest "$DEST"`` with the variable unset took the working directory as the
    destination (``rebuild plan: venv -> /home/me/work``), and in an empty one built the environment there. One
    line naming the option as typed, exit 2, ``--dry-run`` too."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    lock = tmp_path / "x.lock"
    lockfile.dump(sample_lock(), lock)
    result = cli("rebuild", str(lock), option, "", "--dry-run")
    assert result.code == 2, result
    assert result.err.splitlines() == [
        f"envsnap: error: {option} '': the path is empty (expected a folder to build in); a shell variable left unset?"
    ], result
    assert result.out == "" and list(work.iterdir()) == []


@pytest.mark.parametrize("command", ["capture", "import"])
def test_an_empty_lock_output_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], command: str
) -> None:
    """``envsnap capture -o "$LOCK"`` (``import FILE -o "$LOCK"``) with the variable unset said ``.: cannot write: Is
    a directory``, once the environment had been probed: the path named is the working directory, not the empty
    one given. One line naming the empty path, exit 2, nothing written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    result = cli(command, *(["requirements.txt"] if command == "import" else []), "-o", "")
    assert result.code == 2, result
    assert result.err.splitlines()[-1:] == [
        "envsnap: error: -o '': the path is empty (expected a lockfile); a shell variable left unset?"
    ], result
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.txt"]


@pytest.mark.parametrize("command", ["check", "verify", "capture", "rebuild"])
def test_an_empty_python_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], command: str
) -> None:
    """``--python "$PY"`` with the variable unset said ``--python : no such interpreter``: a blank where the path goes,
    as if the message had lost it. The empty path is said to be empty, exit 2."""
    monkeypatch.chdir(tmp_path)
    lockfile.dump(sample_lock(), tmp_path / "x.lock")
    args = {"capture": ["-o", "y.lock"], "rebuild": ["x.lock", "--dry-run"]}.get(command, ["x.lock"])
    result = cli(command, *args, "--python", "")
    assert result.code == 2, result
    assert result.err.splitlines()[-1:] == [
        "envsnap: error: --python '': the path is empty (expected a Python interpreter); a shell variable left unset?"
    ], result
