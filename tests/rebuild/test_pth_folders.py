"""A folder of modules a ``.pth`` file put on the locked environment's ``sys.path`` (``python.pth_folders``): no
target rebuilds it, so the plan and the rebuild's end say so, and the verify of the rebuilt venv warns that it is not
there (``echo /data/mods > site-packages/mods.pth``, bundled and rebuilt offline, said identical before)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envsnap import lockfile
from envsnap.model import Meta, PthFolder, PythonEnv, Snapshot
from envsnap.rebuild._pth import pth_folder_notes
from tests.testutil import site_packages

_MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_bundle_then_offline_rebuild_says_the_pth_folder_is_not_rebuilt_and_its_verify_warns(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    python = make_venv(tmp_path / "venv")
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "helper.py").write_text("X = 1\n")
    (site_packages(python) / "mods.pth").write_text(f"{mods}\n")
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    assert cli("bundle", "-o", tmp_path / "b", lock).code == 0
    pth = f"{{prefix}}/lib/python{_MINOR}/site-packages/mods.pth"
    said = (
        f"not rebuilt: {pth} put {mods} on the locked environment's sys.path, and no distribution is installed "
        "there: the modules imported from it are in no lock, and cannot be imported in the rebuilt environment "
        "(copy the folder and the .pth file yourself)"
    )
    common = ("rebuild", "--target", "venv", "--offline", "--bundle", tmp_path / "b")
    planned = cli(*common, "--dry-run", lock)
    assert planned.code == 0
    assert f"  note: {said}\n" in planned.out
    dest = tmp_path / "rebuilt"
    built = cli(*common, "--dest", dest, lock)
    assert built.code == 0
    assert f"note: {said}\n" in built.err + built.out
    gone = (
        f"the lock's environment had {mods} on sys.path (from {pth}), and no .pth file here puts it "
        "there: the modules imported from it are not in the lock, and cannot be imported here"
    )
    assert f"python: .pth: {gone}" in built.out
    probe = subprocess.run([str(dest / "bin" / "python"), "-c", "import helper"], capture_output=True, text=True)
    assert probe.returncode != 0  # what the warning says
    verified = cli("verify", "--json", "--python", dest / "bin" / "python", lock)
    assert verified.code == 0
    [found] = [d for d in json.loads(verified.out)["differences"] if d["subject"] == ".pth"]
    assert (found["severity"], found["area"], found["what"], found["note"]) == ("warning", "python", "imports", gone)
    assert cli("verify", "--strict", "--python", dest / "bin" / "python", lock).code != 0
    # The environment captured, where the folder is there: not said gone (the .pth warning of capture stays).
    here = json.loads(cli("verify", "--json", "--python", python, lock).out)["differences"]
    assert [d["note"] for d in here if d["subject"] == ".pth" and "had" in d["note"]] == []


def test_a_lock_written_before_the_field_says_the_captures_own_warning() -> None:
    warned = "python: .pth: {prefix}/x.pth puts /data/mods on sys.path, and no distribution is installed there: ..."
    older = Snapshot(envsnap=Meta(warnings=(warned, "python: alpha: something else")))
    assert pth_folder_notes(older) == [
        "not rebuilt (the capture warned): {prefix}/x.pth puts /data/mods on sys.path, and no distribution is "
        "installed there: ..."
    ]
    assert pth_folder_notes(Snapshot()) == []


def test_the_field_round_trips_and_a_lock_without_it_loads_with_none(tmp_path: Path) -> None:
    lock = Snapshot(python=PythonEnv(pth_folders=(PthFolder("{prefix}/x.pth", "/data/mods"),)))
    again = lockfile.loads(lockfile.dumps(lock))
    assert again.python.pth_folders == lock.python.pth_folders
    plain = lockfile.dumps(dataclasses.replace(lock, python=PythonEnv()))
    assert "pth_folders" not in plain
    assert lockfile.loads(plain).python.pth_folders == ()


def test_the_plans_note_names_the_pth_file_and_its_folder_each_one_shell_word() -> None:
    """capture and verify print a ``.pth`` file and the folder it adds each as one shell word; the rebuild's note
    named them bare (``/data/my mods``, two words in the note that says to copy them). A lock written before the
    field gives the capture's warning as capture prints it."""
    lock = Snapshot(python=PythonEnv(pth_folders=(PthFolder("{prefix}/my x.pth", "/data/my mods"),)))
    assert pth_folder_notes(lock) == [
        "not rebuilt: {prefix}/'my x.pth' put '/data/my mods' on the locked environment's sys.path, and no "
        "distribution is installed there: the modules imported from it are in no lock, and cannot be imported in "
        "the rebuilt environment (copy the folder and the .pth file yourself)"
    ]
    warned = "python: .pth: {prefix}/x.pth puts /data/my mods on sys.path, and no distribution is installed there: ..."
    assert pth_folder_notes(Snapshot(envsnap=Meta(warnings=(warned,)))) == [
        "not rebuilt (the capture warned): {prefix}/x.pth puts '/data/my mods' on sys.path, and no distribution is "
        "installed there: ..."
    ]
