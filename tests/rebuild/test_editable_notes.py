"""The note every rebuild target's plan gives for a project the lock installs editable (``rebuild._editable``):
the venv, conda and docker targets all install it from a wheel built from it, a regular install."""

from __future__ import annotations

from pathlib import Path

import pytest
from testutil import uv_off_path

from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source
from envsnap.rebuild._editable import editable_notes


def _lock(url: str) -> Snapshot:
    project = PythonPackage("paper", "0.1.0", source=Source(kind="directory", url=url, editable=True))
    plain = PythonPackage("six", "1.16.0")
    folder = PythonPackage("tool", "1.0", source=Source(kind="directory", url="file:///src/tool"))
    return Snapshot(python=PythonEnv(packages=(project, plain, folder)))


def test_a_project_inside_the_project_folder_is_named_with_the_command_that_installs_it_editable(
    tmp_path: Path,
) -> None:
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "pyproject.toml").write_text("[project]\nname = 'paper'\n")
    [note] = editable_notes(_lock("file://{project}/paper"), tmp_path, Path("/envs/new env/bin/python"))
    assert note == (
        "paper 0.1.0 is editable in the lock: installed from a wheel built from it, a regular install, which verify "
        f"reports as a warning; `uv pip install --python '/envs/new env/bin/python' --no-deps -e {tmp_path / 'paper'}`"
        " afterwards installs it as locked"
    )


def test_a_folder_whose_name_holds_a_newline_is_named_in_the_command_as_bashs_ansi_c_word(tmp_path: Path) -> None:
    """``--dest $'new\nenv'``: the command named the interpreter with ``shlex.quote``, a quoted newline, which the
    plan shows as U+FFFD (one line) and no paste runs; it is bash's ``$'...'`` word, as the plan's other commands
    name such a folder (``sinks.shell_shown``)."""
    project = tmp_path / "my\nproj"
    (project / "paper").mkdir(parents=True)
    (project / "paper" / "pyproject.toml").write_text("[project]\nname = 'paper'\n")
    [note] = editable_notes(_lock("file://{project}/paper"), project, Path("/envs/new\nenv/bin/python"))
    assert "\n" not in note, note
    folder = str(project / "paper").replace("\n", "\\x0a")
    assert f"`uv pip install --python $'/envs/new\\x0aenv/bin/python' --no-deps -e $'{folder}'`" in note, note


def test_a_path_the_lock_leads_outside_the_project_is_shown_as_its_url_never_looked_up(tmp_path: Path) -> None:
    (tmp_path / "escape").mkdir()
    for url in ("file://{project}/../escape", "file://{project}/missing"):
        [note] = editable_notes(_lock(url), tmp_path / "proj", Path("/e/bin/python"))
        # A command the user can run as written: DIR in it, the lock's URL beside it (it was `-e its project folder
        # (URL)` inside the command).
        assert note.endswith(
            f"`uv pip install --python /e/bin/python --no-deps -e DIR` afterwards, DIR its project folder ({url}), "
            "installs it as locked"
        ), note


def test_a_folder_outside_the_project_is_named_by_its_path_as_verify_names_it(tmp_path: Path) -> None:
    """A project the lock installs editable from a folder outside the project (``file:///src/proj``): the note said
    ``-e DIR`` and the lock's URL beside it, where verify's warning gives the command with the folder, one shell word,
    a user can paste (``sinks.recorded_folder``). The plan names it so too; nothing is looked up, and a folder under
    another label (``{project}`` that names none here) keeps DIR and the URL."""
    cases = (
        ("file:///src/proj", "", "/src/proj"),
        ("file:///src/my%20proj", "", "'/src/my proj'"),
        ("file:///src/mono", "pkgs/a b", "'/src/mono/pkgs/a b'"),
        ("file://~/my%20lib", "", "\"$HOME\"'/my lib'"),
        ("file:///src/%1b%5B2Jx", "", "$'/src/\\x1b[2Jx'"),
    )
    for url, subdirectory, folder in cases:
        source = Source(kind="directory", url=url, subdirectory=subdirectory, editable=True)
        lock = Snapshot(python=PythonEnv(packages=(PythonPackage("paper", "0.1.0", source=source),)))
        [note] = editable_notes(lock, tmp_path / "proj", Path("/e/bin/python"))
        assert note.endswith(
            f"`uv pip install --python /e/bin/python --no-deps -e {folder}` afterwards installs it as locked"
        ), note


def test_the_command_names_the_uv_envsnap_runs_where_path_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """envsnap installed with pipx runs the uv beside its interpreter, off PATH: the note's ``uv pip install`` was
    not found when run as written. It names that uv by its path, quoted."""
    own = uv_off_path(monkeypatch, tmp_path / "pipx venv")
    [note] = editable_notes(_lock("file:///etc"), tmp_path / "proj", Path("/e/bin/python"))
    assert f"`'{own}' pip install --python /e/bin/python --no-deps -e /etc`" in note, note


def test_an_image_is_told_it_cannot_hold_an_editable_install() -> None:
    assert editable_notes(_lock("file://{project}/paper"), None, None) == [
        "paper 0.1.0 is editable in the lock: installed from a wheel built from it, a regular install, which verify "
        "reports as a warning (an image cannot hold an editable install of a folder of this machine)"
    ]
