"""A file given where a lock belongs that is another tool's lock (a pylock.toml, a requirements file, a conda lock):
the error says how to compare it (``envsnap import FILE``), with the exit code of any invalid lock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult

from envsnap import lockfile
from envsnap.cli import EXIT_BAD_INPUT
from envsnap.model import PythonEnv, PythonPackage, Snapshot

FOREIGN = {
    "pylock.toml": 'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "six"\nversion = "1.16.0"\n',
    "requirements.txt": f"six==1.16.0 \\\n    --hash=sha256:{'a' * 64}\n",
    "conda-lock.yml": "version: 1\nmetadata: {}\npackage:\n- name: six\n  manager: conda\n",
    "explicit.txt": "# platform: linux-64\n@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2\n",
}
KIND = {"pylock.toml": "pylock", "requirements.txt": "requirements", "conda-lock.yml": "conda-lock"}
KIND["explicit.txt"] = "conda-explicit"


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    path = tmp_path / "A.lock"
    lockfile.dump(Snapshot(python=PythonEnv(packages=(PythonPackage(name="six", version="1.16.0"),))), path)
    return path


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_diff_names_the_import_that_makes_a_lock_of_a_foreign_file(
    name: str, lock: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """It was "missing table (is this an envsnap lockfile?)" (or "not valid TOML"), exit 2, with nothing saying
    what to do."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(FOREIGN[name])
    stem = name.rsplit(".", 1)[0]
    expected = (
        f"envsnap: error: {name}: a {KIND[name]} file, not an envsnap lock; to compare it, make a lock of it "
        f"first: envsnap import {name} -o {stem}.envsnap.lock\n"
    )
    for args in (("A.lock", name), (name, "A.lock")):
        result = cli("diff", *args)
        assert (result.code, result.out, result.err) == (EXIT_BAD_INPUT, "", expected)


@pytest.mark.parametrize(("command", "verb"), [("verify", "verify against"), ("show", "show"), ("check", "check")])
def test_other_commands_name_it_too(
    command: str, verb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pylock.toml").write_text(FOREIGN["pylock.toml"])
    result = cli(command, "pylock.toml")
    assert result.code == EXIT_BAD_INPUT
    assert result.err == (
        f"envsnap: error: pylock.toml: a pylock file, not an envsnap lock; to {verb} it, make a lock of it first: "
        "envsnap import pylock.toml -o pylock.envsnap.lock\n"
    )


def test_a_file_no_import_reads_keeps_the_loader_s_message(
    lock: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[platform]\nsystem = 'Linux'\n")
    result = cli("diff", lock, other)
    assert (result.code, result.err) == (
        EXIT_BAD_INPUT,
        f"envsnap: error: {other}: envsnap: missing table (is this an envsnap lockfile?)\n",
    )
