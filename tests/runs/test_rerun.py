"""envsnap rerun: what differs is said before anything runs; then the outputs are compared."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from condafixtures import make_wheel
from runhelpers import Envsnap, envsnap_env
from testutil import in_tree_project, uv_bin

from envsnap import lockfile, sinks
from envsnap.compat.target import probe_docker
from envsnap.runs import record as rec
from envsnap.runs import rerun as rerun_mod

# docker's init told to signal the command's process group (tini's TINI_KILL_PROCESS_GROUP), as a terminal does
TINI_GROUP = ("-e", "TINI_KILL_PROCESS_GROUP=1")


def _engine_reachable() -> bool:
    return probe_docker(timeout=3).reachable


DETERMINISTIC = (
    "import hashlib, pathlib, sys\n"
    "data = pathlib.Path('inputs/table.csv').read_bytes()\n"
    "pathlib.Path('results').mkdir(exist_ok=True)\n"
    "pathlib.Path('results/table2.txt').write_text(hashlib.sha256(data).hexdigest() + '\\n')\n"
    "pathlib.Path('results/n.txt').write_text(str(len(data)))\n"
    "print('the command runs now')\n"
)


def _project(root: Path) -> Path:
    (root / "inputs").mkdir(parents=True)
    (root / "inputs" / "table.csv").write_text("a,b\n1,2\n")
    (root / "inputs" / "other.csv").write_text("x\n")
    (root / "make_table.py").write_text(DETERMINISTIC)
    return root


def _record(envsnap: Envsnap, root: Path, lock: Path) -> None:
    res = envsnap(
        "run",
        "--lock",
        lock,
        "--data",
        "inputs",
        "--output",
        "results",
        "-o",
        "table2.toml",
        "--",
        sys.executable,
        "make_table.py",
        cwd=root,
    )
    assert res.returncode == 0, res.stderr


def test_a_deterministic_script_is_reproduced_identically(tmp_path: Path, envsnap: Envsnap, host_lock: Path) -> None:
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--yes", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "data: same" in res.stdout and "output results: identical" in res.stdout
    assert "identical: table2.toml reproduced" in res.stdout
    assert "the command runs now" in res.stdout
    # Not deterministic any more: the output that changed is named.
    (root / "make_table.py").write_text(DETERMINISTIC.replace("str(len(data))", "'different'"))
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--yes", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "output results: differs" in res.stdout and "  n.txt: changed" in res.stdout
    assert "table2.txt" not in res.stdout.split("output results")[1]


def test_a_changed_input_file_is_named_before_the_command_runs(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)
    (root / "inputs" / "table.csv").write_text("a,b\n1,3\n")
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--yes", cwd=root)
    assert "data: differs" in res.stdout and "inputs/table.csv: changed" in res.stdout
    assert "other.csv" not in res.stdout
    assert res.stdout.index("inputs/table.csv: changed") < res.stdout.index("the command runs now")
    assert res.returncode == 1  # the input changed, so did the output
    # --dry-run and --strict run nothing.
    (root / "results" / "table2.txt").unlink()
    for flag in ("--dry-run", "--strict"):
        res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--yes", flag, cwd=root)
        assert res.returncode == 3 and "the command runs now" not in res.stdout, res.stdout + res.stderr
        assert not (root / "results" / "table2.txt").exists()


def test_an_upgraded_package_is_named_before_the_command_runs(
    tmp_path: Path, envsnap: Envsnap, make_venv: Callable[..., Path]
) -> None:
    wheels = tmp_path / "wheels"
    old = make_wheel(wheels, "tinydep", "1.0", {"tinydep/__init__.py": b"VERSION = '1.0'\n"})
    new = make_wheel(wheels, "tinydep", "2.0", {"tinydep/__init__.py": b"VERSION = '2.0'\n"})
    python = make_venv(tmp_path / "venv", str(old))
    root = tmp_path / "p"
    root.mkdir()
    subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "--python", str(python), "-o", "env.lock"],
        cwd=root,
        check=True,
        capture_output=True,
        env=envsnap_env(),
    )
    res = envsnap(
        "run",
        "--lock",
        "env.lock",
        "-o",
        "run.toml",
        "--",
        python,
        "-c",
        "import tinydep; print(tinydep.VERSION)",
        cwd=root,
    )
    assert res.returncode == 0 and res.stdout == "1.0\n", res.stderr
    record = rec.load(root / "run.toml")
    assert record.environment.lock == "env.lock" and not record.environment.drift
    assert "tinydep 1.0" in record.loaded.distributions
    uv = uv_bin()
    assert uv is not None
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(new)], check=True)
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "environment: differs" in res.stdout
    assert "tinydep: version 1.0 -> 2.0" in res.stdout, res.stdout
    # envsnap run's quick verify reuses an answer only while the environment is unchanged: the upgrade is seen.
    res = envsnap("run", "--lock", "env.lock", "-o", "run2.toml", "--", python, "-c", "import tinydep", cwd=root)
    assert res.returncode == 0 and "tinydep: version 1.0 -> 2.0" in res.stderr, res.stderr
    assert any(f.subject == "tinydep" for f in rec.load(root / "run2.toml").environment.drift)


def test_a_mismatch_the_run_had_too_is_the_runs_environment(
    tmp_path: Path, envsnap: Envsnap, make_venv: Callable[..., Path]
) -> None:
    """A run in an environment that had drifted from its lock (a package upgraded), rerun in that same environment:
    the rerun has the run's environment, yet it said ``environment: differs`` and --dry-run exited 3, for the very
    mismatch the run recorded. What differs from the lock as it did in the run is said as the run's."""
    wheels = tmp_path / "wheels"
    old = make_wheel(wheels, "tinydep", "1.0", {"tinydep/__init__.py": b"VERSION = '1.0'\n"})
    new = make_wheel(wheels, "tinydep", "2.0", {"tinydep/__init__.py": b"VERSION = '2.0'\n"})
    python = make_venv(tmp_path / "venv", str(old))
    root = tmp_path / "p"
    root.mkdir()
    subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "--python", str(python), "-o", "env.lock"],
        cwd=root, check=True, capture_output=True, env=envsnap_env(),
    )  # fmt: skip
    uv = uv_bin()
    assert uv is not None
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(new)], check=True)
    res = envsnap("run", "--lock", "env.lock", "--", python, "-c", "import tinydep", cwd=root)
    assert res.returncode == 0 and "tinydep: version 1.0 -> 2.0" in res.stderr, res.stderr
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "environment: same" in res.stdout
    assert "tinydep: version 1.0 -> 2.0 (as in the run)" in res.stdout, res.stdout
    # Back at the lock's version, the environment is no longer the run's.
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(old)], check=True)
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert res.returncode == 3 and "environment: differs" in res.stdout, res.stdout + res.stderr
    assert "tinydep: version 1.0 -> 2.0 (in the run, not here)" in res.stdout, res.stdout


def test_rerun_with_another_python_runs_the_command_with_it(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path, make_venv: Callable[..., Path]
) -> None:
    python = make_venv(tmp_path / "venv")
    root = tmp_path / "p"
    root.mkdir()
    res = envsnap("run", "--lock", host_lock, "--", sys.executable, "-c", "import sys; print(sys.prefix)", cwd=root)
    assert res.returncode == 0, res.stderr
    res = envsnap("rerun", "run.toml", "--lock", host_lock, "--python", python, "--yes", cwd=root)
    # The venv's interpreter ran the command, and the venv is what was verified against the lock.
    assert str(tmp_path / "venv") in res.stdout, res.stdout + res.stderr
    assert "environment: differs" in res.stdout


def test_the_python_that_runs_in_the_recorded_ones_place_is_said_before_it_runs(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path, make_venv: Callable[..., Path]
) -> None:
    """``rerun --python PATH`` runs the command with PATH in the recorded python's place, but the lines said only
    the recorded command (``rerunning run.toml: /usr/bin/python3 train.py``): with ``--dry-run``, and with
    ``--yes`` (a batch job's rerun, with no confirmation that shows the command), nothing said which ran."""
    python = make_venv(tmp_path / "venv")
    root = tmp_path / "p"
    root.mkdir()
    res = envsnap("run", "--lock", host_lock, "--", sys.executable, "-c", "pass", cwd=root)
    assert res.returncode == 0, res.stderr
    for flag in ("--dry-run", "--yes"):
        res = envsnap("rerun", "run.toml", "--lock", host_lock, "--python", python, flag, cwd=root)
        recorded = rec.load(root / "run.toml").command.argv[0]  # labelled: ~/..., shown as a word the shell expands
        shown = "~/" + shlex.quote(recorded[2:]) if recorded.startswith("~/") else shlex.quote(recorded)
        line = f"python: {shown} runs as {shlex.quote(str(python))} (--python)"
        assert line in res.stdout.splitlines(), res.stdout + res.stderr


def test_a_new_commit_is_named(tmp_path: Path, envsnap: Envsnap, host_lock: Path) -> None:
    root = _project(tmp_path / "p")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    _record(envsnap, root, host_lock)
    record = rec.load(root / "table2.toml")
    assert record.code is not None and record.code.commit and not record.code.dirty
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--dry-run", cwd=root)
    assert "code: same" in res.stdout, res.stdout + res.stderr
    (root / "make_table.py").write_text(DETERMINISTIC + "# changed\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--dry-run", cwd=root)
    assert "code: differs" in res.stdout and f"commit {record.code.commit[:12]} -> " in res.stdout


def test_the_code_that_differs_is_named_by_its_files(tmp_path: Path, envsnap: Envsnap, host_lock: Path) -> None:
    """The code check said only ``commit A -> B`` and ``working tree: clean -> uncommitted change DIGEST``, while
    the data check names each file: which of the project's files made the code differ was left to guess."""
    root = _project(tmp_path / "p")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    (root / "util.py").write_text("X = 1\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    _record(envsnap, root, host_lock)
    (root / "make_table.py").write_text(DETERMINISTIC + "# changed\n")
    subprocess.run([*git, "add", "table2.toml"], check=True)
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    (root / "util.py").write_text("X = 2\n")
    (root / "notes.py").write_text("")
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--dry-run", cwd=root)
    assert "code: differs" in res.stdout, res.stdout + res.stderr
    assert "  changed in the commits since the run's: make_table.py, table2.toml" in res.stdout.splitlines(), res.stdout
    assert "  uncommitted here: notes.py, util.py" in res.stdout.splitlines(), res.stdout


def test_a_record_in_a_strangers_work_tree_runs_none_of_its_repositorys_git_filters(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """`rerun DIR/run.toml` reads the git state of the tree the record lies in, which may be a stranger's unpacked
    with its `.git`: its config's `filter.NAME.clean` ran at the plan's `git status`, before anything was
    confirmed (`--dry-run` too). In a tree the user is not in, the repository's own filters are off; the change
    to its files is still seen."""
    root = _project(tmp_path / "p")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    _record(envsnap, root, host_lock)
    ran = tmp_path / "filter-ran"
    (root / ".gitattributes").write_text("*.py filter=evil\n")
    subprocess.run([*git, "config", "filter.evil.clean", f"touch {ran}; cat"], check=True)
    subprocess.run([*git, "config", "filter.evil.required", "true"], check=True)
    (root / "make_table.py").write_text(DETERMINISTIC + "# changed\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = envsnap("rerun", "../p/table2.toml", "--lock", host_lock, "--dry-run", cwd=elsewhere)
    assert not ran.exists(), res.stdout + res.stderr
    assert "code: differs" in res.stdout, res.stdout + res.stderr
    # In the tree the user works in, its filters run as at the user's own `git status` (nbstripout's, say).
    envsnap("rerun", "table2.toml", "--lock", host_lock, "--dry-run", cwd=root)
    assert ran.exists()


def test_a_record_in_a_strangers_work_tree_runs_no_filter_of_its_submodules(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """The filter drivers turned off in a stranger's tree were its own repository's: a submodule's repository has
    its own config, and `git status` looks into a submodule's work tree, where a file of the same size and another
    mtime is read through that config's `filter.NAME.clean` (`rerun --dry-run` ran it, before anything was
    confirmed). In a distrusted tree git looks at a submodule's commit only, not into its files."""
    sub = tmp_path / "sub"
    sub.mkdir()
    sgit = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(sub)]
    subprocess.run([*sgit, "init", "-q"], check=True)
    (sub / "f.py").write_text("a\n")
    (sub / ".gitattributes").write_text("*.py filter=evil\n")
    subprocess.run([*sgit, "add", "."], check=True)
    subprocess.run([*sgit, "commit", "-qm", "sub"], check=True)
    root = _project(tmp_path / "p")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    _record(envsnap, root, host_lock)
    ran = tmp_path / "filter-ran"
    subprocess.run([*git, "-C", "sub", "config", "filter.evil.clean", f"touch {ran}; cat"], check=True)
    subprocess.run([*git, "config", "submodule.sub.ignore", "none"], check=True)
    (root / "sub" / "f.py").write_text("b\n")  # the same size: git reads it (through the filter) to compare
    os.utime(root / "sub" / "f.py", (1_600_000_000, 1_600_000_000))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = envsnap("rerun", "../p/table2.toml", "--lock", host_lock, "--dry-run", cwd=elsewhere)
    assert not ran.exists(), res.stdout + res.stderr
    assert "code: " in res.stdout, res.stdout + res.stderr


def test_a_record_in_a_strangers_partial_clone_fetches_nothing(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """A stranger's tree can say it is a partial clone: git fetched a commit it lacks (the record's, edited and
    sealed again) from its "promisor" remote, running the command the repository's config named for that
    (`remote.origin.uploadpack`), at `rerun --dry-run`, before anything was confirmed. git fetches nothing now."""
    root = _project(tmp_path / "p")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    _record(envsnap, root, host_lock)
    record = rec.load(root / "table2.toml")
    assert record.code is not None
    edited = dataclasses.replace(record, code=dataclasses.replace(record.code, commit="b" * 40))
    rec.dump(rec.sealed(edited), root / "table2.toml")
    ran = tmp_path / "fetch-ran"
    for key, value in [
        ("core.repositoryformatversion", "1"),
        ("extensions.partialClone", "origin"),
        ("remote.origin.promisor", "true"),
        ("remote.origin.url", str(root)),
        ("remote.origin.uploadpack", f"touch {ran}; false"),
    ]:
        subprocess.run([*git, "config", key, value], check=True)
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--dry-run", cwd=root)
    assert not ran.exists(), res.stdout + res.stderr
    assert "code: differs" in res.stdout, res.stdout + res.stderr


def test_a_record_rerun_from_outside_its_project_is_rerun_in_its_project(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """`rerun p/run.toml` from outside p took the current folder as the project: its git state ("not a git work
    tree"), its files for the record's inputs ("no such file"), and ran the command there, making its outputs'
    folders in the wrong place. The record's own work tree is the project."""
    root = _project(tmp_path / "p")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    _record(envsnap, root, host_lock)
    shutil.rmtree(root / "results")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = envsnap("rerun", "../p/table2.toml", "--lock", host_lock, "--yes", cwd=elsewhere)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"project: {root} (the git work tree ../p/table2.toml lies in, not the current folder's)" in res.stdout
    assert "code: same" in res.stdout and "data: same" in res.stdout and "output results: identical" in res.stdout
    assert list(elsewhere.iterdir()) == [] and (root / "results" / "table2.txt").is_file()
    # A record in no work tree (downloaded beside a clone) is still rerun in the one around the current folder.
    (tmp_path / "downloads").mkdir()
    copy = shutil.copy(root / "table2.toml", tmp_path / "downloads")
    res = envsnap("rerun", copy, "--lock", host_lock, "--dry-run", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "project:" not in res.stdout and "code: same" in res.stdout and "data: same" in res.stdout
    # So is one kept in a repository of records, which does not hold the run's commit (the project does).
    records = tmp_path / "records"
    subprocess.run(["git", "init", "-q", str(records)], check=True)
    subprocess.run([*git[:-2], "-C", str(records), "commit", "-q", "--allow-empty", "-m", "records"], check=True)
    copy = shutil.copy(root / "table2.toml", records)
    res = envsnap("rerun", copy, "--lock", host_lock, "--dry-run", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "project:" not in res.stdout and "code: same" in res.stdout and "data: same" in res.stdout


def test_the_command_is_shown_and_not_run_without_confirmation(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)
    (root / "results" / "table2.txt").unlink()
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, cwd=root, input="y\n")
    assert res.returncode == 2 and "--yes" in res.stderr
    assert "make_table.py" in res.stderr  # the command was shown
    assert not (root / "results" / "table2.txt").exists()


def test_a_record_cannot_lead_the_rerun_outside_the_project(tmp_path: Path, envsnap: Envsnap) -> None:
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="sub"),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    root = tmp_path / "p"
    root.mkdir()
    (root / "sub").symlink_to(tmp_path)  # a link in the project that leads out of it
    rec.dump(record, root / "run.toml")
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert res.returncode == 2 and "leads outside" in res.stderr, res.stderr


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_runs_the_command_in_the_image(tmp_path: Path, envsnap: Envsnap) -> None:
    image = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    root = tmp_path / "p"
    root.mkdir()
    res = envsnap("run", "--output", "where.txt", "--", "sh", "-c", "echo same > where.txt", cwd=root)
    assert res.returncode == 0, res.stderr
    (root / "where.txt").unlink()
    res = envsnap("rerun", "run.toml", "--in-docker", image, "--yes", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    # The image has no envsnap to verify with: said, not guessed; the command ran in it all the same.
    assert "environment: unknown" in res.stdout and "output where.txt: identical" in res.stdout


def test_an_output_the_rerun_did_not_write_is_not_reported_identical(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    # The outputs of the recorded run were still there, so a command that did not write them again (it skips
    # work already done, or is not the command that made them) was reported "identical: reproduced".
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)
    (root / "make_table.py").write_text(
        "import pathlib\nif not pathlib.Path('results').exists():\n"
        "    raise SystemExit('would compute')\nprint('the command runs now')\n"
    )
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--yes", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "output results: not written" in res.stdout and "reproduced" not in res.stdout.replace("not reproduced", "")


def test_a_dangling_link_given_as_output_is_missing_in_the_record_and_in_the_rerun(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """``--output out.txt``, a link to a file not there outside the project: run recorded it missing, and rerun
    said "not checked" (the link leads out of the folders it may read) and DIFFERENT, exit 1. Missing both times
    is the same: there is nothing to read."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "out.txt").symlink_to(tmp_path / "elsewhere" / "out.txt")
    res = envsnap("run", "--lock", host_lock, "--output", "out.txt", "--", "true", cwd=root)
    assert res.returncode == 0 and "output out.txt: not written by the command" in res.stderr, res.stderr
    assert 'kind = "missing"' in (root / "run.toml").read_text(encoding="utf-8")
    res = envsnap("rerun", "run.toml", "--lock", host_lock, "--yes", cwd=root)
    assert "output out.txt: identical" in res.stdout.splitlines(), res.stdout + res.stderr
    assert res.returncode == 0 and "not checked" not in res.stdout, res.stdout + res.stderr


def test_an_output_the_rerun_left_as_a_pipe_is_reported_not_checked(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """An output that is a FIFO once the command has run (it cannot be read without blocking) ended the rerun in
    one line, exit 2, after "data: same": the report of the other outputs was lost, and it read as if the command
    had not run. It is that output's "not checked", with why, in the report, and the rerun is not reproduced."""
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)
    (root / "make_table.py").write_text(
        "import os, shutil\nshutil.rmtree('results', ignore_errors=True)\nos.mkfifo('results')\n"
    )
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--yes", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "output results: not checked" in res.stdout and "pipe" in res.stdout, res.stdout
    assert "Traceback" not in res.stderr, res.stderr


def _hostile_record(root: Path, inputs: list[str], outputs: list[str]) -> None:
    """A stranger's record: ``true``, with data paths whose fingerprints are those of the files as they are."""
    from envsnap.runs.assemble import resolve_data_path, to_data
    from envsnap.runs.data import Entry, fingerprint, manifest_digest

    def data(role: str, path: str) -> rec.Data:
        target = resolve_data_path(path, root)
        size = target.stat().st_size
        if size > 1 << 20:  # too large to hash here: the record says so much, and rerun must not read it
            entry = Entry(target.name, size, "0" * 64)  # a content it has not: its entry and digest agree
            return rec.Data(
                role=role,
                path=path,
                kind="file",
                method="sha256",
                digest=manifest_digest([entry]),
                files=1,
                bytes=size,
                entries=(rec.FileEntry(entry.path, entry.size, entry.value),),
            )
        return to_data(role, path, fingerprint(target))

    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        data=(*(data("input", p) for p in inputs), *(data("output", p) for p in outputs)),
    )
    rec.dump(record, root / "run.toml")


def test_a_record_s_data_paths_outside_the_project_are_not_read(tmp_path: Path, envsnap: Envsnap) -> None:
    """A stranger's record could make rerun hash any file the user can read (/etc/shadow, a key in the home
    directory), or a file of a terabyte: only the project (and --data-root) is read, and at most
    ENVSNAP_MAX_DATA_BYTES per path; any other path is reported as not checked."""
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    (root / "data" / "ok.csv").write_text("1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("a secret\n")
    (root / "data" / "leak").symlink_to(secret)  # a link in a data folder that leads out of the project
    (root / "leaky").mkdir()
    (root / "leaky" / "plain.txt").write_text("x\n")
    huge = root / "huge.bin"
    with open(huge, "wb") as fh:
        fh.truncate(1 << 40)  # a sparse terabyte: hashing it would take an hour
    _hostile_record(root, ["data/ok.csv", str(secret), "huge.bin", "leaky"], [str(secret)])
    (root / "leaky" / "leak").symlink_to(secret)  # added after the record: the tree now leads out
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root, timeout=120)
    assert res.returncode == 3, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "data: unknown" in lines
    assert (
        f"  {secret}: not checked: {secret} is outside the folders rerun may read (the project and each --data-root "
        "DIR: add one that holds it to check it)" in lines
    )
    assert any(line.startswith("  huge.bin: not checked:") and "over the limit" in line for line in lines)
    assert any(line.startswith("  leaky: not checked:") and "leads out" in line for line in lines)
    assert not any(line.startswith("  data/ok.csv") for line in lines)  # inside the project: read, the same
    # A folder the user names may be read (the output there was compared: `true` did not write it); without it,
    # the output outside is not checked after the run either.
    res = envsnap("rerun", "run.toml", "--yes", "--data-root", outside, cwd=root, timeout=120)
    assert f"  {secret}: not checked" not in res.stdout and "huge.bin: not checked" in res.stdout
    assert "leaky/leak: added" in res.stdout  # the link leads into a folder that may be read now
    assert res.returncode == 1 and f"output {secret}: not written" in res.stdout, res.stdout + res.stderr
    res = envsnap("rerun", "run.toml", "--yes", cwd=root, timeout=120)
    assert f"output {secret}: not checked" in res.stdout and res.returncode == 1, res.stdout + res.stderr
    res = envsnap("rerun", "run.toml", "--dry-run", "--data-root", tmp_path / "nowhere", cwd=root)
    assert res.returncode == 2 and "--data-root" in res.stderr and "not a folder" in res.stderr


def test_a_data_path_in_the_project_that_links_out_says_where_it_leads(tmp_path: Path, envsnap: Envsnap) -> None:
    """A record's ``data/link.csv``, in the project, a link to a file outside it: rerun said "/p/data/link.csv is
    outside the folders rerun may read ... add one that holds it", of a path the project does hold, and named no
    folder to add. It says the path leads out by a link, and where to."""
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "real.csv").write_text("1\n")
    (root / "data" / "link.csv").symlink_to(outside / "real.csv")
    _hostile_record(root, ["data/link.csv"], [])
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root, timeout=120)
    assert res.returncode == 3, res.stdout + res.stderr
    assert (
        f"  data/link.csv: not checked: {root / 'data' / 'link.csv'} leads by a link out of the folders rerun may "
        f"read, to {outside / 'real.csv'} (the project and each --data-root DIR: add one that holds it to check it)"
        in res.stdout.splitlines()
    ), res.stdout
    res = envsnap("rerun", "run.toml", "--dry-run", "--data-root", outside, cwd=root, timeout=120)
    assert "data: same" in res.stdout.splitlines(), res.stdout + res.stderr


def test_a_record_s_partial_entries_are_compared_and_a_file_not_there_is_named(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A record listing part of a tree (``complete = false``: more files than a record lists) with the digest of
    the tree as it is, and entries for a file that is not there and one of other content: rerun compared the
    digest alone and read "data: same". It compares the entries too, and names each."""
    from envsnap.runs.assemble import to_data
    from envsnap.runs.data import fingerprint

    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    for name in ("a.csv", "b.csv", "c.csv"):
        (root / "data" / name).write_text(name)
    real = to_data("input", "data", fingerprint(root / "data"))
    listed = (
        rec.FileEntry("a.csv", 5, real.entries[0].value),  # as it is
        rec.FileEntry("b.csv", 5, "0" * 64),  # not its content
        rec.FileEntry("gone.csv", 5, real.entries[0].value),  # no such file
    )
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        data=(dataclasses.replace(real, files=4, bytes=20, complete=False, entries=listed),),
    )
    rec.dump(record, root / "run.toml")
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    lines = res.stdout.splitlines()
    assert "data: differs" in lines, res.stdout + res.stderr
    named = [line for line in lines if line.startswith("  data/")]
    assert named == ["  data/b.csv: changed", "  data/gone.csv: removed"], res.stdout
    assert res.returncode == 3, res.stdout + res.stderr
    # The record as run wrote it: the same.
    rec.dump(dataclasses.replace(record, data=(real,)), root / "run.toml")
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert "data: same" in res.stdout.splitlines(), res.stdout + res.stderr


def test_a_record_whose_entries_do_not_give_its_digest_is_refused_before_anything_runs(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A record listing every file (``complete = true``) and a file among them that is not there, with the digest of
    the folder as it is: rerun read "data: same" and ran the command. The record is refused: one line, exit 2."""
    from envsnap.runs.assemble import to_data
    from envsnap.runs.data import fingerprint

    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.csv").write_text("a")
    real = to_data("input", "data", fingerprint(root / "data"))
    gone = rec.FileEntry("gone.csv", 1, real.entries[0].value)
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("touch", "ran"), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        data=(dataclasses.replace(real, files=2, bytes=2, entries=(*real.entries, gone)),),
    )
    rec.dump(record, root / "run.toml")
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert res.returncode == 2 and res.stdout == "", res.stdout + res.stderr
    assert res.stderr == (
        "envsnap: error: run.toml: data[0]: digest: is not the manifest digest of the entries, which list every "
        "file (complete = true): the record was made up or edited, and its data cannot be checked\n"
    )
    assert not (root / "ran").exists()


def test_a_control_character_in_the_command_is_shown_escaped(tmp_path: Path, envsnap: Envsnap) -> None:
    # The person confirming a stranger's command must see what runs: ESC and a literal U+FFFD were both shown
    # as U+FFFD, so two different commands looked the same.
    root = tmp_path / "p"
    root.mkdir()
    for name, argv in (("esc.toml", ("echo", "a\x1b[2Jb")), ("fffd.toml", ("echo", "a\ufffd[2Jb"))):
        record = rec.RunRecord(
            run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
            command=rec.Command(argv=argv, cwd="."),
            result=rec.Outcome(
                started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
            ),
        )
        rec.dump(record, root / name)
    esc = envsnap("rerun", "esc.toml", cwd=root)
    assert esc.returncode == 2 and "  echo $'a\\x1b[2Jb'\n" in esc.stderr, esc.stderr  # the confirmation
    assert "esc.toml: echo $'a\\x1b[2Jb'\n" in esc.stdout, esc.stdout
    fffd = envsnap("rerun", "fffd.toml", cwd=root)
    assert "  echo 'a\ufffd[2Jb'\n" in fffd.stderr, fffd.stderr
    shown = envsnap("show", "esc.toml", cwd=root)
    assert "echo $'a\\x1b[2Jb'" in shown.stdout and "\ufffd" not in shown.stdout, shown.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_to_rerun_is_passed_on_and_rerun_exits_128_plus_n(tmp_path: Path, sig: signal.Signals) -> None:
    """SIGTERM or SIGHUP sent to envsnap rerun while its command ran was passed on, but rerun exited 130 as for a
    Ctrl-C, where every other command (envsnap run among them) exits 143 for SIGTERM and 129 for SIGHUP: a batch
    system tells a time limit from a Ctrl-C by it."""
    root = tmp_path / "p"
    root.mkdir()
    started = root / "started"
    code = f"import pathlib, time; pathlib.Path({str(started)!r}).write_text('x'); time.sleep(60)"
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=(sys.executable, "-c", code), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    rec.dump(record, root / "run.toml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--yes"],
        cwd=root,
        env=envsnap_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, out + err
    assert "exit status: " in out  # the command was waited for and its status said
    assert ("envsnap: interrupted" if sig == signal.SIGINT else f"envsnap: terminated ({sig.name})") in err, err


def _rerun_with_ctrl_c(root: Path, started: Path) -> tuple[int, str]:
    """``envsnap rerun run.toml --yes`` in ``root`` at a terminal of its own (a pty), and the terminal's Ctrl-C once
    ``started`` exists: its exit status and all it printed."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--yes"],
        cwd=root,
        env=envsnap_env(),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    os.write(master, b"\x03")  # Ctrl-C, as the terminal's line discipline reads it
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    code = proc.wait(timeout=120)
    os.close(master)
    return code, output.decode("utf-8", "replace")


@pytest.mark.parametrize("handled", [True, False], ids=["handled", "ended-by-it"])
def test_a_ctrl_c_at_the_terminal_the_command_handled_gives_the_verdict_as_run_gives_its_status(
    tmp_path: Path, handled: bool
) -> None:
    """The terminal's Ctrl-C reaches the command itself (envsnap passes nothing on): one that traps it and exits
    with its own status made ``run`` exit with that status, but ``rerun`` exit 130 whatever the command did. A rerun
    whose command handled it gives its verdict; one whose command the Ctrl-C ended exits 130, as run does."""
    root = tmp_path / "p"
    root.mkdir()
    started = root / "started"
    trap = "signal.signal(signal.SIGINT, lambda *a: seen.append(1))\n" if handled else ""
    code = (
        "import pathlib, signal, time\n"
        "seen = []\n"
        f"{trap}"
        f"pathlib.Path({str(started)!r}).write_text('x')\n"
        "deadline = time.monotonic() + 60\n"
        "while not seen and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "raise SystemExit(4)\n"
    )
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=(sys.executable, "-c", code), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=4
        ),
    )
    rec.dump(record, root / "run.toml")
    status, output = _rerun_with_ctrl_c(root, started)
    if handled:
        assert status == 0, output
        assert "exit status: 4 (interrupted by SIGINT)" in output and "identical: run.toml reproduced" in output
        assert "envsnap: interrupted" not in output
    else:
        assert status == 130, output
        assert "envsnap: interrupted" in output


def test_a_recorded_failure_that_wrote_no_output_is_reproduced_by_a_rerun_that_writes_none(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A failing run records an output it did not write as missing (an earlier run's file left in place is not its
    result); a faithful rerun of that failure, which did not write it either, said "not written" and "DIFFERENT",
    exit 1, where nothing differed from the record."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "metrics.json").write_text('{"loss": 0.1}\n')  # an earlier run's result
    (root / "job.py").write_text("raise SystemExit(5)\n")
    res = envsnap("run", "-o", "fail.toml", "--output", "metrics.json", "--", sys.executable, "job.py", cwd=root)
    assert res.returncode == 5, res.stderr
    assert rec.load(root / "fail.toml").outputs()[0].kind == "missing"
    res = envsnap("rerun", "fail.toml", "--yes", cwd=root)
    assert "output metrics.json: identical" in res.stdout, res.stdout + res.stderr
    assert res.returncode == 0 and "identical: fail.toml reproduced" in res.stdout, res.stdout
    # A rerun that writes it makes what the recorded run did not: that differs.
    (root / "job.py").write_text("open('metrics.json', 'w').write('2')\nraise SystemExit(5)\n")
    res = envsnap("rerun", "fail.toml", "--yes", cwd=root)
    assert res.returncode == 1 and "output metrics.json: differs" in res.stdout, res.stdout + res.stderr


def test_a_bad_data_limit_is_refused_before_anything_is_checked_or_run(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ENVSNAP_MAX_DATA_BYTES=abc`` was read when the first data path was hashed: ``--dry-run`` called every
    input changed (exit 3), and ``--yes`` ran the whole recorded command before refusing the limit."""
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)
    (root / "results" / "n.txt").unlink()
    monkeypatch.setenv("ENVSNAP_MAX_DATA_BYTES", "abc")
    for how in ("--dry-run", "--yes"):
        res = envsnap("rerun", "table2.toml", how, cwd=root)
        assert res.returncode == 2, res.stdout + res.stderr
        assert res.stderr.splitlines() == [
            "envsnap: error: ENVSNAP_MAX_DATA_BYTES='abc': not a number of bytes (K, M, G, T allowed)"
        ]
        assert "the command runs now" not in res.stdout and not (root / "results" / "n.txt").exists()


def test_a_lock_outside_the_project_is_said_to_be_known_by_its_digest(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """A run's lock outside the project is recorded by its digest alone (a record names no path outside it): rerun
    said "the record names no lock", as if the run had used none, and did not say which lock to pass."""
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)  # host_lock lies outside the project
    res = envsnap("rerun", "table2.toml", "--dry-run", cwd=root)
    digest = lockfile.load(host_lock).envsnap.content_digest
    assert (
        f"  the run's lock is outside the project, and the record holds only its digest ({digest}): "
        "pass --lock FILE to check the environment against it"
    ) in res.stdout.splitlines(), res.stdout
    assert "names no lock" not in res.stdout
    res = envsnap("rerun", "table2.toml", "--dry-run", "--lock", host_lock, cwd=root)
    assert "environment: same" in res.stdout.splitlines(), res.stdout


def _pin_offline(lock: Path, *options: str) -> None:
    """``envsnap pin LOCK`` with no index to ask: it pins little or nothing and writes its ``pin:`` notes."""
    done = subprocess.run(
        [sys.executable, "-m", "envsnap", "pin", str(lock), "--no-system-packages", *options],
        cwd=lock.parent,
        env=envsnap_env(PIP_CONFIG_FILE="/dev/null", PIP_NO_INDEX="1", PIP_FIND_LINKS="", UV_NO_CONFIG="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def test_a_lock_pinned_after_the_run_is_the_runs_lock_and_a_stranger_s_edit_of_it_is_not(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """``envsnap run --lock L``, then ``envsnap pin L`` (which rewrites L in place: its artifacts, its ``pin:``
    notes): rerun said "environment: differs ... is not the lock the run used" on the author's own machine, and
    the lock the run used was gone. Now the record keeps its lock's identity and the pinned lock names the lock it
    pinned: it is the run's lock. A lock that names it too but changed a version is not, nor is the pinned lock
    for a record made before the identity was kept (which cannot prove it)."""
    root = _project(tmp_path / "p")
    lock = tmp_path / "locks" / "envsnap.lock"
    lock.parent.mkdir()
    shutil.copy(host_lock, lock)
    _record(envsnap, root, lock)
    record = rec.load(root / "table2.toml")
    used = record.environment.lock_digest
    assert record.environment.lock_identity.startswith("sha256:")
    _pin_offline(lock)
    pinned = lockfile.load(lock)
    assert pinned.envsnap.content_digest != used and pinned.envsnap.pinned_from == (used,)
    res = envsnap("rerun", "table2.toml", "--dry-run", "--lock", lock, cwd=root)
    assert "environment: same" in res.stdout.splitlines() and "not the lock the run used" not in res.stdout, res.stdout

    # A stranger's lock naming the run's lock as the one it was pinned from, with another version of a package.
    first = pinned.python.packages[0]
    packages = (dataclasses.replace(first, version=first.version + ".post99"), *pinned.python.packages[1:])
    edited = lockfile.seal(dataclasses.replace(pinned, python=dataclasses.replace(pinned.python, packages=packages)))
    other = lockfile.dump(edited, tmp_path / "locks" / "edited.lock")
    res = envsnap("rerun", "table2.toml", "--dry-run", "--lock", other, cwd=root)
    assert "environment: differs" in res.stdout.splitlines(), res.stdout
    assert (
        f"  {other} is not the lock the run used ({edited.envsnap.content_digest} instead of {used}; it names the "
        "run's lock as the one it was pinned from, but describes another environment)"
    ) in res.stdout.splitlines(), res.stdout

    # A record made before lock_identity was kept: still read, and it cannot take the pinned lock as its own.
    old = rec.sealed(dataclasses.replace(record, environment=dataclasses.replace(record.environment, lock_identity="")))
    rec.dump(old, root / "old.toml")
    res = envsnap("rerun", "old.toml", "--dry-run", "--lock", lock, cwd=root)
    assert (
        f"  {lock} is not the lock the run used ({pinned.envsnap.content_digest} instead of {used}; the record "
        "keeps no lock_identity (an older envsnap made it), so the run's lock once pinned cannot be told from "
        "another: record the run again)"
    ) in res.stdout.splitlines(), res.stdout


def test_a_lock_whose_notes_pin_sorted_is_the_runs_lock_and_a_kept_identity_of_before_is_not_used(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """An import writes its notes in the file's order (pip-compile's ``zeta @ git+...`` then ``alpha @ git+...``,
    each version unknown); ``envsnap pin`` sorts a lock's warnings, which changed its identity, and the run recorded
    with the imported lock was refused for the pinned one ("describes another environment"). The notes are read as
    a set. An identity the run cache kept by the definition of before is not used: the record gets this one's."""
    from envsnap.runs import cache

    root = _project(tmp_path / "p")
    lock = tmp_path / "locks" / "envsnap.lock"
    lock.parent.mkdir()
    base = lockfile.load(host_lock)
    notes = ("import: the version of zeta is unknown", "import: the version of alpha is unknown")
    meta = dataclasses.replace(base.envsnap, warnings=(*base.envsnap.warnings, *notes))
    lockfile.dump(lockfile.seal(dataclasses.replace(base, envsnap=meta)), lock)
    _record(envsnap, root, lock)  # keeps the lock's identity in the run cache
    kept = sorted(cache.cache_dir().glob("lockview-*.json"))
    assert kept, "the run kept no lock view"
    for entry in kept:  # as an envsnap of the first definition kept it
        data = json.loads(entry.read_text())
        entry.write_text(json.dumps({**data, "form": 1, "identity": "sha256:" + "0" * 64}))
    _record(envsnap, root, lock)
    identity = rec.load(root / "table2.toml").environment.lock_identity
    assert identity == lockfile.identity_digest(lockfile.to_dict(lockfile.load(lock)))
    _pin_offline(lock)
    pinned = lockfile.load(lock)
    assert list(pinned.envsnap.warnings) == sorted(pinned.envsnap.warnings) != list(meta.warnings)
    res = envsnap("rerun", "table2.toml", "--dry-run", "--lock", lock, cwd=root)
    assert "environment: same" in res.stdout.splitlines() and "not the lock the run used" not in res.stdout, res.stdout


def test_a_lock_pinned_into_another_folder_is_the_runs_lock_and_one_naming_another_place_is_not(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """``envsnap pin envsnap.lock -o ../out/lock.toml`` outside any work tree writes the project's places
    (``file://{project}/libs/labtool``) by their path, since ``{project}`` there is the new lock's folder: the
    identity changed with the place's spelling, and the pinned copy of the run's lock was refused ("describes another
    environment"). What pin rewrote for the move is no other environment; a copy whose source names another place
    still is."""
    root = _project(tmp_path / "p")
    lib = root / "libs" / "labtool"
    (lib / "labtool").mkdir(parents=True)
    (lib / "pyproject.toml").write_text('[project]\nname = "labtool"\nversion = "0.4.0"\n')
    (root / "requirements.txt").write_text(f"labtool @ file://{lib}\n")
    res = envsnap("import", "requirements.txt", "-o", "envsnap.lock", cwd=root)
    assert res.returncode == 0, res.stderr
    assert lockfile.load(root / "envsnap.lock").python.packages[0].source.url == "file://{project}/libs/labtool"
    _record(envsnap, root, root / "envsnap.lock")
    used = rec.load(root / "table2.toml").environment.lock_digest
    (tmp_path / "out").mkdir()
    _pin_offline(root / "envsnap.lock", "-o", str(tmp_path / "out" / "lock.toml"))
    moved = lockfile.load(tmp_path / "out" / "lock.toml")
    assert moved.python.packages[0].source.url == f"file://{lib}" and moved.envsnap.pinned_from == (used,)
    res = envsnap("rerun", "table2.toml", "--dry-run", "--lock", tmp_path / "out" / "lock.toml", cwd=root)
    assert "not the lock the run used" not in res.stdout, res.stdout

    # The copy with its source pointed at another folder: another environment.
    elsewhere = dataclasses.replace(moved.python.packages[0].source, url=f"file://{tmp_path}/elsewhere/labtool")
    packages = (dataclasses.replace(moved.python.packages[0], source=elsewhere),)
    edited = lockfile.seal(dataclasses.replace(moved, python=dataclasses.replace(moved.python, packages=packages)))
    other = lockfile.dump(edited, tmp_path / "out" / "edited.lock")
    res = envsnap("rerun", "table2.toml", "--dry-run", "--lock", other, cwd=root)
    assert "it names the run's lock as the one it was pinned from, but describes another environment" in res.stdout


# A build backend in the project's own folder (no build requirement, so no index): the wheel's version is the one
# the VERSION file holds, which pyproject.toml leaves dynamic, so an import cannot read it.
_VERSION_BACKEND = """\
import base64, hashlib, os, zipfile


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = open("VERSION").read().strip()
    dist = f"labtool-{version}"
    files = {"labtool/__init__.py": b"X = 1\\n"}
    files[f"{dist}.dist-info/METADATA"] = f"Metadata-Version: 2.1\\nName: labtool\\nVersion: {version}\\n".encode()
    files[f"{dist}.dist-info/WHEEL"] = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    digest = lambda v: base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b"=").decode()
    record = "".join(f"{k},sha256={digest(v)},{len(v)}\\n" for k, v in files.items()) + f"{dist}.dist-info/RECORD,,\\n"
    files[f"{dist}.dist-info/RECORD"] = record.encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, f"{dist}-py3-none-any.whl"), "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return f"{dist}-py3-none-any.whl"
"""


def test_a_bundle_that_learned_a_local_projects_version_is_the_runs_lock(tmp_path: Path, envsnap: Envsnap) -> None:
    """pip-compile's ``labtool @ file:///.../libs/labtool`` of a project whose version is dynamic is imported with
    version "": ``bundle`` builds it and writes the version of the wheel it built into its lock, which changed the
    lock's identity: the run recorded with the imported lock was refused for the bundle's lock (rerun: "describes
    another environment"; audit: run-recorded short). A version learned from the wheel the bundle built is no
    other environment."""
    root = _project(tmp_path / "p")
    lib = root / "libs" / "labtool"
    (lib / "labtool").mkdir(parents=True)
    (lib / "labtool" / "__init__.py").write_text("X = 1\n")
    (lib / "VERSION").write_text("0.4.0\n")
    (lib / "backend.py").write_text(_VERSION_BACKEND)
    (lib / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "labtool"\ndynamic = ["version"]\n'
    )
    (root / "requirements.txt").write_text(f"labtool @ file://{lib}\n    # via -r requirements.in\n")
    res = envsnap("import", "requirements.txt", "-o", "envsnap.lock", cwd=root)
    assert res.returncode == 0, res.stderr
    imported = lockfile.load(root / "envsnap.lock")
    assert [(p.name, p.version) for p in imported.python.packages] == [("labtool", "")]
    _record(envsnap, root, root / "envsnap.lock")
    used = rec.load(root / "table2.toml").environment.lock_digest
    artifact = ("--artifact", "--title", "T", "--author", "Ada Lovelace", "--license", "MIT", "--run", "table2.toml")
    res = envsnap("bundle", "envsnap.lock", "-o", "supp", *artifact, cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    bundled = lockfile.load(root / "supp" / "envsnap.lock")
    learned = bundled.package("labtool")
    assert learned is not None and learned.version == "0.4.0" and bundled.envsnap.made_from == used
    # The files of the wheel it built, recorded beside the author's RECORD digest: not the lock's identity either.
    assert learned.artifact is not None and learned.artifact.built_record_digest.startswith("sha256:"), learned

    res = envsnap("rerun", "table2.toml", "--dry-run", "--lock", "supp/envsnap.lock", cwd=root)
    assert "not the lock the run used" not in res.stdout, res.stdout
    res = envsnap("audit", "supp", "--json", cwd=root)
    item = next(i for i in json.loads(res.stdout)["items"] if i["id"] == "run-recorded")
    assert "another lock" not in item["detail"], item
    # The bundle's lock bundled again with the record: the run's lock, pinned and its version learned.
    res = envsnap("bundle", "supp/envsnap.lock", "-o", "again", *artifact, cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert lockfile.load(root / "again" / "envsnap.lock").package("labtool") == learned


TRAIN = (
    "import pathlib, sys\n"
    "args = sys.argv[1:]\n"
    "data = pathlib.Path(args[args.index('--data') + 1])\n"
    "out = next(a.partition('=')[2] for a in args if a.startswith('--out='))\n"
    "pathlib.Path(out).write_text(data.read_text().upper())\n"
    "print('argv:', sys.argv)\n"
)


def _home_project(home: Path, project: Path) -> None:
    """A home with its data (``~/data/x.csv``), and a project in it with a script and an interpreter in its
    ``.venv`` (a link to the one running the tests)."""
    (home / "data").mkdir(parents=True)
    (home / "data" / "x.csv").write_text("a,b\n")
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (project / "train.py").write_text(TRAIN)


def test_a_record_names_paths_under_the_project_and_home_by_label_and_rerun_resolves_them(
    tmp_path: Path, host_lock: Path
) -> None:
    # A record published with a paper kept /home/alice/proj/.venv/bin/python and /home/alice/data/x.csv in its
    # argv (and ~/proj/out.txt as an output): it named the user and the home's layout, and a reviewer's rerun
    # under another home ran paths that are not there.
    alice, bob = tmp_path / "home" / "alice", tmp_path / "home" / "bob"
    mine = alice / "proj"
    _home_project(alice, mine)

    def envsnap(*args: str | os.PathLike[str], home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
        return _envsnap_as(home)(*args, cwd=cwd)

    command = [
        mine / ".venv" / "bin" / "python",
        mine / "train.py",
        "--data",
        alice / "data" / "x.csv",
        f"--out={mine / 'out.txt'}",
        "~/literal",  # a word the program reads as it is: never rewritten, never resolved
        f"--msg={alice}/not-a-path",  # text that is no existing path: kept as it is
    ]
    res = envsnap(
        "run", "--lock", host_lock, "--data", alice / "data" / "x.csv", "--output", mine / "out.txt", "--",
        *command, home=alice, cwd=mine,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    record = rec.load(mine / "run.toml")
    assert record.command.argv == (
        "{project}/.venv/bin/python",
        "{project}/train.py",
        "--data",
        "~/data/x.csv",
        "--out={project}/out.txt",
        "~/literal",
        f"--msg={alice}/not-a-path",
    )
    assert record.command.paths == (0, 1, 3, 4)
    assert [(d.role, d.path) for d in record.data] == [("input", "~/data/x.csv"), ("output", "{project}/out.txt")]
    text = (mine / "run.toml").read_text()
    assert text.count(str(alice)) == 1 and "proj/" not in text  # only the --msg text
    shown = envsnap("show", "run.toml", home=alice, cwd=mine)
    assert shown.returncode == 0 and "{project}/train.py" in shown.stdout and "proj/" not in shown.stdout
    # The same command under another home and project layout is recorded the same.
    theirs = bob / "work" / "paper"
    _home_project(bob, theirs)
    (theirs / "run.toml").write_bytes((mine / "run.toml").read_bytes())
    res = envsnap("rerun", "run.toml", "--lock", host_lock, "--data-root", bob / "data", home=bob, cwd=theirs)
    assert (
        res.returncode == 2 and f"  {theirs}/.venv/bin/python {theirs}/train.py --data {bob}/data/x.csv" in res.stderr
    )
    res = envsnap("rerun", "run.toml", "--lock", host_lock, "--data-root", bob / "data", "--yes", home=bob, cwd=theirs)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert f"paths: {{project}} is {theirs}, ~ is {bob}" in lines
    assert "data: same" in lines and "output {project}/out.txt: identical" in lines
    assert (
        f"argv: ['{theirs}/train.py', '--data', '{bob}/data/x.csv', '--out={theirs}/out.txt', '~/literal', "
        f"'--msg={alice}/not-a-path']"
    ) in lines
    assert (theirs / "out.txt").read_text() == "A,B\n" and "identical: run.toml reproduced" in lines


def _envsnap_as(home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def envsnap(*args: str | os.PathLike[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "envsnap", *map(str, args)],
            cwd=cwd,
            env=envsnap_env(HOME=str(home)),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return envsnap


def test_a_path_inside_a_code_string_is_labelled_listed_and_resolved_by_rerun(tmp_path: Path, host_lock: Path) -> None:
    # `envsnap run -- python -c "open('/home/alice/data/x.csv')"` kept /home/alice in the published record, silently,
    # and a reviewer's rerun opened a path that is not on their machine.
    alice, bob = tmp_path / "home" / "alice", tmp_path / "home" / "bob"
    mine, theirs = alice / "proj", bob / "work" / "paper"
    _home_project(alice, mine)
    _home_project(bob, theirs)
    code = (
        f"import os; d = open('{alice}/data/x.csv').read(); open('{mine}/out.txt', 'w').write(d.upper()); "
        f"print(os.path.expanduser('~/literal'), '{alice}/nowhere')"
    )
    res = _envsnap_as(alice)(
        "run", "--lock", host_lock, "--output", mine / "out.txt", "--", "python3", "-c", code, cwd=mine
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    # The home named as text (no existing path) is kept, and said: the record is not published silently with it.
    assert (
        f"envsnap: command word 2 names {alice} in text that is no existing path: run.toml keeps it as written, "
        "and so does every copy of it you publish (envsnap show run.toml)"
    ) in res.stderr.splitlines(), res.stderr
    recorded = (
        "import os; d = open('~/data/x.csv').read(); open('{project}/out.txt', 'w').write(d.upper()); "
        f"print(os.path.expanduser('~/literal'), '{alice}/nowhere')"
    )
    text = (mine / "run.toml").read_text()
    assert (
        '[command]\nargv = [\n    "python3",\n    "-c",\n    '
        + f'"{recorded}"'
        + ',\n]\ncwd = "."\nredacted = false\ninner_paths = [\n    "2:21",\n    "2:50",\n]\n'
    ) in text, text
    assert recorded[21:35] == "~/data/x.csv')" and recorded[50:59] == "{project}"
    assert text.count(str(alice)) == 1  # only the text that is no path
    record = rec.load(mine / "run.toml")
    assert record.command.paths == () and record.command.inner_paths == ("2:21", "2:50")
    # The record lists where the home is left as text, so a reader who does not know that home is told too.
    assert record.command.unlabelled == (f"2:{recorded.index(str(alice))}",)
    (theirs / "run.toml").write_bytes((mine / "run.toml").read_bytes())
    shown = _envsnap_as(bob)("show", "run.toml", cwd=theirs).stdout.splitlines()
    keys = [line.split("│")[1].strip() for line in shown if "│" in line]
    assert [key for key in keys if key][1:3] == ["Home text", "command word 2"]
    # A reviewer under another home reruns it: the two places are resolved, the literal ~ is not.
    res = _envsnap_as(bob)("rerun", "run.toml", "--lock", host_lock, "--yes", cwd=theirs)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert f"paths: ~ is {bob}, {{project}} is {theirs}" in lines
    assert f"{bob}/literal {alice}/nowhere" in lines  # the program's own output: the literal ~ was left to it
    assert "output {project}/out.txt: identical" in lines and (theirs / "out.txt").read_text() == "A,B\n"


@pytest.mark.parametrize(
    ("places", "why"),
    [
        (["2:5"], "2:5"),  # no label there
        (["2:21", "2:21"], "inner_paths[1]: 2:21"),  # twice (once is a label's place: below)
        (["2:10"], "2:10"),  # a path there, but no label
        (["9:0"], "9:0"),  # no such word
        (["2:x"], "not a valid place"),
    ],
)
def test_a_record_s_inner_paths_must_name_labels_in_its_words(tmp_path: Path, places: list[str], why: str) -> None:
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("python3", "-c", "d = open('x'); open('~/data/x.csv')"), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    doc = rec.to_dict(record)
    doc["command"]["inner_paths"] = ["2:21"]
    doc["run"]["content_digest"] = rec.canonical_digest(doc)
    assert rec.from_document(doc, origin="run.toml").command.inner_paths == ("2:21",)
    doc["command"]["inner_paths"] = places
    doc["run"]["content_digest"] = rec.canonical_digest(doc)
    with pytest.raises(rec.RecordError) as err:
        rec.from_document(doc, origin="run.toml")
    assert str(err.value).startswith("run.toml: command.inner_paths[") and why in str(err.value), err.value


def _home_record(root: Path, argv: tuple[str, ...], paths: tuple[int, ...], data: tuple[rec.Data, ...]) -> None:
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=argv, cwd=".", paths=paths),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        data=data,
    )
    rec.dump(record, root / "run.toml")


def test_rerun_in_docker_mounts_the_home_paths_the_command_names(tmp_path: Path) -> None:
    # The project was mounted and nothing else: a record's ~/data/x.csv resolved to the reviewer's home, which the
    # container does not have, so the command failed there on a file that is on their machine.
    bob = tmp_path / "home" / "bob"
    paper = bob / "work" / "paper"
    paper.mkdir(parents=True)
    (bob / "data,v2").mkdir()
    (bob / "data,v2" / "x.csv").write_text("a\n")
    (bob / "runs").mkdir()
    (bob / "notes.txt").write_text("n\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (bob / "elsewhere").symlink_to(outside)  # a link in the home that leads out of it
    argv = (
        "sh", "-c", 'cat "$1" > "$2"', "sh", "~/data,v2/x.csv", "~/runs/out.txt", "--log=~/notes.txt",
        "~/gone.csv", "~/elsewhere", "~", "~/new/out.txt",
    )  # fmt: skip
    out = rec.Data(role="output", path="~/runs/out.txt", kind="missing", method="sha256", digest="", files=0, bytes=0)
    out2 = dataclasses.replace(out, path="~/new/out.txt")
    _home_record(paper, argv, (4, 5, 6, 7, 8, 9, 10), (out, out2))
    res = _envsnap_as(bob)("rerun", "run.toml", "--in-docker", "some/image:1", cwd=paper)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "mounted in the container: ~/data,v2/x.csv read-only, ~/notes.txt read-only, ~/runs writable" in lines
    assert [line for line in lines if line.startswith("not in the container: ")] == [
        "not in the container: ~/gone.csv: it does not exist here",
        "not in the container: ~/elsewhere: it leads outside your home, the project and each --data-root",
        "not in the container: ~: it is your home, which is not mounted whole",
        "not in the container: ~/new/out.txt: neither it nor its folder exists here",
    ], lines
    assert res.stderr.splitlines()[1] == "  " + shlex.join(
        [
            "docker", "run", "--pull", "never", "--rm", "-i", "--init", *TINI_GROUP, "--network", "none",
            "-e", "NVIDIA_VISIBLE_DEVICES=void",
            "--mount", f"type=bind,source={paper},target={paper}",
            "--mount", f'type=bind,"source={bob}/data,v2/x.csv","target={bob}/data,v2/x.csv",readonly',
            "--mount", f"type=bind,source={bob}/notes.txt,target={bob}/notes.txt,readonly",
            "--mount", f"type=bind,source={bob}/runs,target={bob}/runs",
            "-w", str(paper), "--user", f"{os.getuid()}:{os.getgid()}", "--", "some/image:1",
            "sh", "-c", 'cat "$1" > "$2"', "sh", f"{bob}/data,v2/x.csv", f"{bob}/runs/out.txt",
            f"--log={bob}/notes.txt", f"{bob}/gone.csv", f"{bob}/elsewhere", str(bob), f"{bob}/new/out.txt",
        ]
    ), res.stderr  # fmt: skip


def test_rerun_in_docker_mounts_a_project_whose_path_holds_a_colon(tmp_path: Path) -> None:
    # ``-v {root}:{root}`` split a path such as ~/runs/2026-12-02T10:00/paper at its colons: docker refused the
    # volume, or mounted another folder where the project should be.
    bob = tmp_path / "home" / "bob"
    paper = bob / "runs" / "2026-12-02T10:00" / "paper"
    paper.mkdir(parents=True)
    _home_record(paper, ("sh", "-c", "true"), (), ())
    res = _envsnap_as(bob)("rerun", "run.toml", "--in-docker", "some/image:1", cwd=paper)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.splitlines()[1] == "  " + shlex.join(
        [
            "docker", "run", "--pull", "never", "--rm", "-i", "--init", *TINI_GROUP, "--network", "none",
            "-e", "NVIDIA_VISIBLE_DEVICES=void",
            "--mount", f"type=bind,source={paper},target={paper}",
            "-w", str(paper), "--user", f"{os.getuid()}:{os.getgid()}", "--", "some/image:1", "sh", "-c", "true",
        ]
    ), res.stderr  # fmt: skip


def test_an_image_without_envsnap_is_named_by_dockers_own_error() -> None:
    # Docker ends its error with "Run 'docker run --help' for more information", which was all the reviewer read.
    stderr = (
        'docker: Error response from daemon: failed to create task: exec: "envsnap": executable file not found in '
        "$PATH\nRun 'docker run --help' for more information\n"
    )
    assert rerun_mod._docker_error(stderr).endswith('exec: "envsnap": executable file not found in $PATH')
    assert rerun_mod._docker_error("") == "no output"
    assert rerun_mod._docker_error("Run 'docker run --help' for more information\n").startswith("Run 'docker")


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_reads_and_writes_the_home_paths_of_the_command(tmp_path: Path) -> None:
    image = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    alice, bob = tmp_path / "home" / "alice", tmp_path / "home" / "bob"
    for home in (alice, bob):
        (home / "proj").mkdir(parents=True)
        (home / "data").mkdir()
        (home / "data" / "x.csv").write_text("a,b\n")
        (home / "runs").mkdir()
    command = ["sh", "-c", 'tr a-z A-Z < "$1" > "$2"', "sh", alice / "data" / "x.csv", alice / "runs" / "out.txt"]
    res = _envsnap_as(alice)("run", "--output", alice / "runs" / "out.txt", "--", *command, cwd=alice / "proj")
    assert res.returncode == 0, res.stderr
    (bob / "proj" / "run.toml").write_bytes((alice / "proj" / "run.toml").read_bytes())
    res = _envsnap_as(bob)(
        "rerun", "run.toml", "--in-docker", image, "--data-root", bob / "runs", "--yes", cwd=bob / "proj"
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "mounted in the container: ~/data/x.csv read-only, ~/runs writable" in lines
    assert "output ~/runs/out.txt: identical" in lines and (bob / "runs" / "out.txt").read_text() == "A,B\n"


def test_an_output_the_run_did_not_write_is_labelled_in_the_command(tmp_path: Path) -> None:
    # A failed run wrote no output, so its path was no existing path when the record was made: the command kept
    # /home/alice/proj/results/model.pt (the record's data path was {project}/results/model.pt), named the user,
    # and a rerun elsewhere wrote to a path not there.
    alice = tmp_path / "home" / "alice"
    mine = alice / "proj"
    mine.mkdir(parents=True)
    model, log = mine / "results" / "model.pt", alice / "logs" / "run.log"
    res = _envsnap_as(alice)(
        "run", "--output", model, "--output", log, "--", "sh", "-c", "exit 3", "sh", model, f"--log={log}",
        "--not-an-output", alice / "nowhere", cwd=mine,
    )  # fmt: skip
    assert res.returncode == 3, res.stdout + res.stderr
    text = (mine / "run.toml").read_text()
    assert (
        '[command]\nargv = [\n    "sh",\n    "-c",\n    "exit 3",\n    "sh",\n    "{project}/results/model.pt",\n'
        f'    "--log=~/logs/run.log",\n    "--not-an-output",\n    "{alice}/nowhere",\n]\ncwd = "."\n'
        "redacted = false\npaths = [\n    4,\n    5,\n]\n"
    ) in text, text
    record = rec.load(mine / "run.toml")
    assert [(d.path, d.kind) for d in record.data] == [
        ("{project}/results/model.pt", "missing"),
        ("~/logs/run.log", "missing"),
    ]
    # What is left naming the home is no output the run declared: kept, and said.
    assert [line for line in res.stderr.splitlines() if "names" in line] == [
        f"envsnap: command word 7 names {alice} in text that is no existing path: run.toml keeps it as written, "
        "and so does every copy of it you publish (envsnap show run.toml)"
    ]


def test_a_rerun_makes_the_untracked_folders_its_outputs_go_in(tmp_path: Path, envsnap: Envsnap) -> None:
    """A command writing ``out/x.txt`` into an untracked ``out/`` failed in a reviewer's fresh clone, which has no
    ``out/``, and neither ``--dry-run`` nor anything else said so: rerun makes the folders of the recorded outputs
    (a directory output itself) inside the project, and says so."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "job.py").write_text(
        "import pathlib\npathlib.Path('out/x.txt').write_text('1\\n')\npathlib.Path('logs/l.txt').write_text('2\\n')\n"
    )
    (root / "out").mkdir()
    (root / "logs").mkdir()
    res = envsnap("run", "--output", "out/x.txt", "--output", "logs", "--", sys.executable, "job.py", cwd=root)
    assert res.returncode == 0, res.stderr
    for folder in ("out", "logs"):  # a fresh clone: the folders were never committed
        for f in (root / folder).iterdir():
            f.unlink()
        (root / folder).rmdir()
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert "outputs: would make out, logs (missing here; the command writes in them)" in res.stdout, res.stdout
    assert not (root / "out").exists() and not (root / "logs").exists()
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert "outputs: made out, logs" in res.stdout.splitlines(), res.stdout
    assert res.returncode == 0, res.stdout + res.stderr
    assert "output out/x.txt: identical" in res.stdout and "output logs: identical" in res.stdout


def test_an_output_is_named_as_a_shell_word_as_the_folder_made_for_it_is(tmp_path: Path, envsnap: Envsnap) -> None:
    """rerun named the folder it made as a shell word (``outputs: made 'out dir #2'``) and the output in it as raw
    text (``output out dir #2/ü res.txt: identical``): one path read two ways, and the second not one a reader can
    paste. Both are shell words, a label (``{project}``, ``~``) left bare before the quoted rest."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "job.py").write_text("import pathlib\npathlib.Path('out dir #2/ü res.txt').write_text('1\\n')\n")
    (root / "out dir #2").mkdir()
    res = envsnap("run", "--output", "out dir #2/ü res.txt", "--", sys.executable, "job.py", cwd=root)
    assert res.returncode == 0, res.stderr
    (root / "out dir #2" / "ü res.txt").unlink()
    (root / "out dir #2").rmdir()
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "outputs: made 'out dir #2'" in lines, lines
    assert "output 'out dir #2/ü res.txt': identical" in lines, lines
    assert shlex.split("'out dir #2/ü res.txt'") == ["out dir #2/ü res.txt"]


def test_the_outputs_folders_are_said_made_only_once_they_are(tmp_path: Path, envsnap: Envsnap) -> None:
    """``outputs: made out`` was printed before the confirmation, the image check and anything else: a reviewer who
    refused, or whose image docker had not, read that folders were made where nothing was. Before the command it
    says what will be made; ``made`` comes after, once the folders are there."""
    root = tmp_path / "p"
    root.mkdir()
    res = envsnap("run", "--output", "out/o.txt", "--", "sh", "-c", "mkdir -p out && echo x > out/o.txt", cwd=root)
    assert res.returncode == 0, res.stderr
    shutil.rmtree(root / "out")
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml"],
        cwd=root, env=envsnap_env(), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert res.returncode == 2 and "not confirmed" in res.stderr, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "outputs: will make out before the command runs (missing here; the command writes in them)" in lines, lines
    assert not any(line.startswith("outputs: made") for line in lines) and not (root / "out").exists(), lines
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    lines = res.stdout.splitlines()
    assert res.returncode == 0 and "outputs: made out" in lines, res.stdout + res.stderr
    assert lines.index("outputs: made out") < lines.index("exit status: 0"), lines


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_of_an_absent_image_says_no_folder_made(tmp_path: Path, envsnap: Envsnap) -> None:
    root = tmp_path / "p"
    root.mkdir()
    res = envsnap("run", "--output", "out/o.txt", "--", "sh", "-c", "mkdir -p out && echo x > out/o.txt", cwd=root)
    assert res.returncode == 0, res.stderr
    shutil.rmtree(root / "out")
    res = envsnap("rerun", "run.toml", "--in-docker", f"envsnap-test-absent:{os.getpid()}", "--yes", cwd=root)
    assert res.returncode == 2 and "the image is not here" in res.stderr, res.stdout + res.stderr
    assert not any(line.startswith("outputs: made") for line in res.stdout.splitlines()), res.stdout
    assert not (root / "out").exists()


def test_a_record_s_outputs_make_no_folder_outside_the_project(tmp_path: Path, envsnap: Envsnap) -> None:
    """The record is a stranger's file: its output paths make folders only inside the project, never through
    ``..``, an absolute path, the home, or a link that leads out."""
    root = tmp_path / "p"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    (root / "inner").symlink_to(root)  # a link that stays inside: allowed
    paths = ["../escape/x", str(tmp_path / "abs" / "x"), "link/made/x", "~/envsnap-nowhere/x", "inner/ok/x"]
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        data=tuple(rec.Data(role="output", path=p, kind="missing", method="sha256") for p in paths),
    )
    rec.dump(record, root / "run.toml")
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert "outputs: made inner/ok" in res.stdout, res.stdout + res.stderr
    for p in paths[:4]:
        # A shell word, ``~`` left bare (a quoted '~/x' is no path in your home to a shell), as every output line.
        shown = p if p.startswith("~/") else shlex.quote(p)
        assert f"outputs: not made for {shown}: " in res.stdout, res.stdout
    assert sorted(os.listdir(tmp_path)) == ["outside", "p"] and not os.listdir(outside)
    assert not (Path.home() / "envsnap-nowhere").exists()
    assert (root / "ok").is_dir()


@pytest.mark.parametrize("with_lock", [True, False], ids=["lock", "captured"])
def test_a_variable_the_run_had_and_the_rerun_has_not_is_named(
    tmp_path: Path, host_lock: Path, with_lock: bool
) -> None:
    """A run with ``PYTHONHASHSEED=3`` set (drift from its lock, or in the lock captured with it) was rerun without
    it: "environment: same", and then the output differed for no reason said. The variables the run had are
    compared with the rerun's: each one the run had otherwise is named, and the environment differs."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "h.py").write_text("import pathlib\npathlib.Path('h.txt').write_text(str(hash('abc')))\n")
    lock = ["--lock", str(host_lock)] if with_lock else []
    env = envsnap_env(PYTHONHASHSEED="3")
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", *lock, "--output", "h.txt", "--", sys.executable, "h.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    clean = {k: v for k, v in envsnap_env().items() if k != "PYTHONHASHSEED"}
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", *lock, "--dry-run"],
        cwd=root,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 3 and "environment: differs" in res.stdout, res.stdout + res.stderr
    assert "PYTHONHASHSEED" in res.stdout.split("environment: differs")[1].split("code:")[0], res.stdout
    # With the variable as the run had it, nothing differs.
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", *lock, "--yes"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "environment: same" in res.stdout and res.returncode == 0, res.stdout + res.stderr


def test_files_an_output_folder_held_before_the_rerun_are_not_taken_for_reproduced(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A rerun interrupted midway left ``ck/step0``; run again, the command skipped the step it found done and the
    rerun said "identical: reproduced", though that file was not made by it (the same holds for files left from
    the recorded run). Each file of an output folder the rerun did not write is named, and it is not reproduced."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "steps.py").write_text(
        "import pathlib\nd = pathlib.Path('ck')\nd.mkdir(exist_ok=True)\n"
        "for i in range(3):\n"
        "    if not (d / f'step{i}').exists():\n"
        "        (d / f'step{i}').write_text(str(i))\n"
    )
    res = envsnap("run", "--output", "ck", "--", sys.executable, "steps.py", cwd=root)
    assert res.returncode == 0, res.stderr
    (root / "ck" / "step1").unlink()
    (root / "ck" / "step2").unlink()  # what an interrupted rerun leaves: step0 only
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "output ck: partly written" in res.stdout, res.stdout
    assert "  1 of 3 files from before the rerun, not written by it: step0" in res.stdout
    assert "reproduced exactly" in res.stdout
    # Removed first, all of it is made by the rerun: reproduced.
    for f in (root / "ck").iterdir():
        f.unlink()
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert res.returncode == 0 and "output ck: identical" in res.stdout, res.stdout + res.stderr


def _gpu_record(root: Path, used: tuple[str, ...]) -> None:
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        gpus=rec.Gpus(visible_devices="0,1", visible_devices_set=True, used=used, used_known=True),
    )
    rec.dump(record, root / "run.toml")


def test_a_record_of_an_interrupted_run_is_said_before_the_rerun(tmp_path: Path, envsnap: Envsnap) -> None:
    """A run stopped by SIGTERM (a batch job's time limit) recorded what it had left; `rerun --dry-run` said only
    "same" everywhere, exit 0, and the rerun, run to its end, then "differs" with no word of why."""
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z",
            ended="2026-11-30T10:00:01Z",
            duration_ms=1000,
            exit_status=143,
            signal="SIGTERM",
            interrupted=True,
        ),
    )
    rec.dump(record, tmp_path / "run.toml")
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=tmp_path)
    line = (
        "result: the run was interrupted (exit 143, SIGTERM): it recorded what it left when stopped, which a rerun "
        "that runs to its end does not reproduce"
    )
    assert line in res.stdout.splitlines(), res.stdout + res.stderr
    rec.dump(
        dataclasses.replace(record, result=dataclasses.replace(record.result, interrupted=False)), tmp_path / "r2.toml"
    )
    res = envsnap("rerun", "r2.toml", "--dry-run", cwd=tmp_path)
    assert "result:" not in res.stdout and "interrupted" not in res.stdout, res.stdout + res.stderr


def test_a_run_that_used_more_gpus_than_are_here_is_said_before_it_runs(tmp_path: Path, envsnap: Envsnap) -> None:
    """A record made on a machine with two GPUs was rerun on one with fewer (or none): nothing said so before the
    command ran (and failed, or ran on the CPU). The GPUs the run used are compared with those visible here."""
    root = tmp_path / "p"
    root.mkdir()
    _gpu_record(root, ("0 (NVIDIA H100 80GB HBM3)", "1 (NVIDIA H100 80GB HBM3)"))
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "gpus: differs" in res.stdout, res.stdout
    assert (
        "  the run used 2 GPUs: 0 (NVIDIA H100 80GB HBM3), 1 (NVIDIA H100 80GB HBM3) (CUDA_VISIBLE_DEVICES=0,1)"
        in res.stdout
    )
    # A run that used no GPU, or whose GPUs are unknown, asks for none.
    _gpu_record(root, ())
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert "gpus:" not in res.stdout, res.stdout


@pytest.mark.parametrize(
    ("visible", "state", "here"),
    [
        (None, "same", "here: 4 GPUs visible: 0 (A), 1 (A), 2 (A), 3 (A)"),
        ("2", "differs", "here: 1 GPU visible: 2 (A) (CUDA_VISIBLE_DEVICES=2)"),
        ("", "differs", "here: no GPU visible (CUDA_VISIBLE_DEVICES is empty)"),
    ],
)
def test_the_gpus_visible_here_count_cuda_visible_devices(visible: str | None, state: str, here: str) -> None:
    from envsnap.model import Gpu

    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        gpus=rec.Gpus(used=("0 (A)", "1 (A)"), used_known=True),
    )
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    gpus = tuple(Gpu(index=i, name="A") for i in range(4))
    check = rerun_mod.check_gpus(record, environ, probe=lambda: (gpus, ""))
    assert check is not None and check.state == state and here in check.lines, check


def test_a_working_directory_the_clone_lacks_is_made_for_the_rerun(tmp_path: Path, envsnap: Envsnap) -> None:
    """A run in ``exp/run1``, a folder holding only its outputs and so never committed, could not be rerun in a
    fresh clone: "the record's working directory exp/run1 is not in ...", exit 2. It is made like the outputs'
    folders, inside the project."""
    root = tmp_path / "p"
    (root / "exp" / "run1").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    res = envsnap(
        "run",
        "-o",
        root / "run.toml",
        "--output",
        "o.txt",
        "--",
        "sh",
        "-c",
        "echo 1 > o.txt",
        cwd=root / "exp" / "run1",
    )
    assert res.returncode == 0, res.stderr
    assert rec.load(root / "run.toml").command.cwd == "exp/run1"
    (root / "exp" / "run1" / "o.txt").unlink()
    (root / "exp" / "run1").rmdir()
    (root / "exp").rmdir()
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert "outputs: would make exp/run1 (missing here; the command writes in them)" in res.stdout, (
        res.stdout + res.stderr
    )
    assert not (root / "exp").exists()
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert res.returncode == 0 and "output o.txt: identical" in res.stdout, res.stdout + res.stderr


def test_an_output_recorded_by_size_and_time_is_not_called_changed_for_its_new_time(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """``run --data-fast`` records outputs by size and modification time; a rerun writes them anew, so every file
    was "changed" and the run "not reproduced", whatever the command wrote. Such an output is now "not compared"
    (the content was never recorded), unless a file was added, removed or changed in size: that differs."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "job.py").write_text("import pathlib\npathlib.Path('o.txt').write_text('same\\n')\n")
    res = envsnap("run", "--data-fast", "--output", "o.txt", "--", sys.executable, "job.py", cwd=root)
    assert res.returncode == 0, res.stderr
    time.sleep(0.05)
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert "output o.txt: not compared" in res.stdout and "o.txt: changed" not in res.stdout, res.stdout
    assert "  recorded by size and modification time (run --data-fast)" in res.stdout
    assert res.returncode == 1
    (root / "job.py").write_text("import pathlib\npathlib.Path('o.txt').write_text('longer\\n')\n")
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert "output o.txt: differs" in res.stdout and "  o.txt: changed" in res.stdout, res.stdout


@pytest.mark.parametrize(
    ("flags", "visible", "request_"),
    [
        (("--gpus", "all"), "1", ["--gpus", "all"]),
        (("--gpus", "0,GPU-8f2c"), None, ["--gpus", '"device=0,GPU-8f2c"']),
        (("--gpus", "none"), None, ["-e", "NVIDIA_VISIBLE_DEVICES=void"]),
    ],
)
def test_rerun_in_docker_asks_docker_for_the_gpus_the_run_used(
    tmp_path: Path, envsnap: Envsnap, flags: tuple[str, ...], visible: str | None, request_: list[str]
) -> None:
    """A run that used GPUs, rerun ``--in-docker``, ran in a container given no ``--gpus``: it saw none, and the
    command failed or ran on the CPU. Docker is asked for the GPUs visible here (``CUDA_VISIBLE_DEVICES``, else
    all), or those ``--gpus`` names; ``--gpus none`` asks for none."""
    root = tmp_path / "p"
    root.mkdir()
    _gpu_record(root, ("0 (NVIDIA H100 80GB HBM3)",))
    env = {k: v for k, v in envsnap_env().items() if k != "CUDA_VISIBLE_DEVICES"}
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", "some/image:1", *flags],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2 and "not confirmed" in res.stderr, res.stdout + res.stderr
    assert res.stderr.splitlines()[1] == "  " + shlex.join(
        [
            "docker", "run", "--pull", "never", "--rm", "-i", "--init", *TINI_GROUP, "--network", "none", *request_,
            "--mount", f"type=bind,source={root},target={root}",
            "-w", str(root), "--user", f"{os.getuid()}:{os.getgid()}", "--", "some/image:1", "true",
        ]
    ), res.stderr  # fmt: skip


@pytest.mark.parametrize(
    ("visible", "here", "request_"),
    [
        (None, 2, "all"),
        ("1", 2, '"device=1"'),
        ("1,x,0", 2, '"device=1"'),  # as CUDA reads it: up to the first entry that names no device
        ("", 2, ""),
        (None, 0, ""),  # no GPU here: docker is asked for none (it fails on --gpus without NVIDIA's runtime)
    ],
)
def test_by_default_docker_is_asked_for_the_gpus_visible_here(visible: str | None, here: int, request_: str) -> None:
    from envsnap.model import Gpu

    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        gpus=rec.Gpus(used=("0 (A)",), used_known=True),
    )
    gpus = tuple(Gpu(index=i, name="A") for i in range(here))
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert rerun_mod.docker_gpus(record, environ, probe=lambda _: (gpus, "")) == request_
    # A run that used none asks for none; --gpus is asked for as given.
    assert (
        rerun_mod.docker_gpus(dataclasses.replace(record, gpus=rec.Gpus()), environ, probe=lambda _: (gpus, "")) == ""
    )
    assert rerun_mod.docker_gpus(record, environ, "all", probe=lambda _: ((), "")) == "all"


def test_rerun_gpus_is_refused_without_in_docker_and_checked(tmp_path: Path, envsnap: Envsnap) -> None:
    root = tmp_path / "p"
    root.mkdir()
    _gpu_record(root, ("0 (A)",))
    res = envsnap("rerun", "run.toml", "--gpus", "all", "--dry-run", cwd=root)
    assert res.returncode == 2 and "--gpus needs --in-docker" in res.stderr, res.stdout + res.stderr
    res = envsnap("rerun", "run.toml", "--in-docker", "i", "--gpus", "0;rm -rf /", "--dry-run", cwd=root)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "--gpus" in res.stderr, res.stderr


def test_the_gpus_a_container_sees_are_those_docker_is_asked_for() -> None:
    from envsnap.model import Gpu

    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        gpus=rec.Gpus(used=("0 (A)", "1 (A)"), used_known=True),
    )
    gpus = tuple(Gpu(index=i, name="A") for i in range(4))
    environ = {"CUDA_VISIBLE_DEVICES": "3"}  # the host's, not the container's
    check = rerun_mod.check_gpus(record, environ, probe=lambda: (gpus, ""), in_docker=True, gpus_asked="all")
    assert check is not None and check.state == "same", check
    assert (
        check.lines[-1] == "here: 4 GPUs visible: 0 (A), 1 (A), 2 (A), 3 (A) (in the container: docker run --gpus all)"
    )
    asked = '"device=1"'
    check = rerun_mod.check_gpus(record, environ, probe=lambda: (gpus, ""), in_docker=True, gpus_asked=asked)
    assert check is not None and check.state == "differs", check
    assert check.lines[-1] == 'here: 1 GPU visible: 1 (A) (in the container: docker run --gpus "device=1")'
    check = rerun_mod.check_gpus(record, environ, probe=lambda: (gpus, ""), in_docker=True, gpus_asked="")
    assert check is not None and check.state == "differs" and "asks docker for none" in check.lines[-1], check


LOGGING = (
    "import pathlib, time\n"
    "pathlib.Path('results').mkdir(exist_ok=True)\n"
    "pathlib.Path('results/n.txt').write_text('42\\n')\n"
    "pathlib.Path('results/train.log').write_text(f'started {time.time_ns()}\\n')\n"
    "pathlib.Path('stamp.txt').write_text(str(time.time_ns()))\n"
)


def test_an_output_file_named_by_ignore_output_is_left_out_of_the_comparison(tmp_path: Path, envsnap: Envsnap) -> None:
    """A log with timestamps, in an output folder or an output of its own, made every rerun "not reproduced":
    there was no way to leave it out. ``--ignore-output GLOB`` reports what it matches as ignored, not compared."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "job.py").write_text(LOGGING)
    res = envsnap("run", "--output", "results", "--output", "stamp.txt", "--", sys.executable, "job.py", cwd=root)
    assert res.returncode == 0, res.stderr
    res = envsnap("rerun", "run.toml", "--yes", cwd=root)
    assert res.returncode == 1 and "output results: differs" in res.stdout, res.stdout + res.stderr
    res = envsnap(
        "rerun", "run.toml", "--yes", "--ignore-output", "*.log", "--ignore-output", "stamp.txt", cwd=root
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "output results: identical" in lines and "  ignored (--ignore-output): train.log" in lines, lines
    assert "output stamp.txt: ignored (--ignore-output)" in lines, lines
    # What is not ignored is still compared.
    (root / "job.py").write_text(LOGGING.replace("42", "43"))
    res = envsnap("rerun", "run.toml", "--yes", "--ignore-output", "results/train.log", cwd=root)
    assert res.returncode == 1 and "  n.txt: changed" in res.stdout and "train.log: changed" not in res.stdout


def test_ignore_output_of_an_outputs_own_name_leaves_it_out_whatever_glob_characters_it_holds(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """``--ignore-output 'log[1].txt'``, the output's name as the record and the previous line print it: read as a glob
    (``[1]`` a set of characters) it matched ``log1.txt`` only, and rerun said it "matches no output ... 'log[1].txt'",
    naming the very output. A glob that is an output's name, or a file's in one, matches it too."""
    root = tmp_path / "p"
    root.mkdir()
    job = "import pathlib, time\nfor n in ('log[1].txt', 'res/run[2].log'):\n    p = pathlib.Path(n)\n"
    job += "    p.parent.mkdir(exist_ok=True)\n    p.write_text(str(time.time_ns()))\n"
    (root / "job.py").write_text(job)
    res = envsnap("run", "--output", "log[1].txt", "--output", "res", "--", sys.executable, "job.py", cwd=root)
    assert res.returncode == 0, res.stderr
    res = envsnap(
        "rerun", "run.toml", "--yes", "--ignore-output", "log[1].txt", "--ignore-output", "res/run[2].log", cwd=root
    )
    lines = res.stdout.splitlines()
    assert "output 'log[1].txt': ignored (--ignore-output)" in lines, lines
    assert "  ignored (--ignore-output): 'run[2].log'" in lines, lines
    assert not any("matches no output" in line for line in lines), lines
    assert res.returncode == 0, res.stdout + res.stderr


def test_inputs_recorded_by_size_and_time_are_matched_in_a_fresh_clone_by_git(tmp_path: Path, envsnap: Envsnap) -> None:
    """``run --data-fast`` records inputs by size and modification time; a fresh clone writes every file anew,
    so each input read ``differs`` (every file "changed") though the clone holds the committed data. A file git
    holds unchanged at the run's commit, with the code as the run had it, is the run's: ``same``. Where git
    cannot vouch for it (data git does not track), the input is said to be not compared, and why."""
    author = _project(tmp_path / "author")
    (author / ".gitignore").write_text("big/\n*.toml\n*.lock\nresults/\n")
    (author / "big").mkdir()
    (author / "big" / "blob.bin").write_bytes(b"x" * 100)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "-C", str(author), "init", "-q"], check=True)
    subprocess.run([*git, "-C", str(author), "add", "."], check=True)
    subprocess.run([*git, "-C", str(author), "commit", "-qm", "one"], check=True)
    res = envsnap(
        "run", "--data-fast", "--data", "inputs", "--data", "big", "--output", "results", "--",
        sys.executable, "make_table.py", cwd=author,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    time.sleep(0.05)
    clone = tmp_path / "reviewer"
    subprocess.run(["git", "clone", "-q", str(author), str(clone)], check=True)
    (clone / "run.toml").write_bytes((author / "run.toml").read_bytes())
    (clone / "big").mkdir()
    (clone / "big" / "blob.bin").write_bytes(b"x" * 100)
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    lines = res.stdout.splitlines()
    assert "code: same" in lines, res.stdout + res.stderr
    assert "inputs/table.csv: changed" not in res.stdout and "data: unknown" in lines, res.stdout
    assert (
        "  inputs: same: its 2 files are committed, unchanged, at the run's commit (recorded by size and "
        "modification time, which a clone sets anew)" in lines
    ), lines
    assert (
        "  big: not compared: recorded by size and modification time (run --data-fast): the sizes match, but 1 "
        "file has another modification time, and the content was never recorded (git does not hold it "
        "unchanged at the run's commit): blob.bin"
    ) in lines, lines
    # A file of another size still differs.
    (clone / "inputs" / "table.csv").write_text("a,b\n1,2\n3,4\n")
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    assert "data: differs" in res.stdout and "  inputs/table.csv: changed" in res.stdout, res.stdout


def test_an_input_holding_tracked_links_is_matched_in_a_fresh_clone_by_git(tmp_path: Path, envsnap: Envsnap) -> None:
    """A ``--data-fast`` input holding links git tracks (a link to a file, to a folder, to nothing, to a file
    elsewhere in the project) was never "committed, unchanged" in a fresh clone: git lists the link, the
    fingerprint the files reached through it, so the two never agreed and the input was not compared. Git holds a
    link's target text: a tracked link git finds unchanged, reaching tracked files git finds unchanged, is the
    run's; a link pointed elsewhere is not, though the file it reaches now has the same size."""
    author = tmp_path / "author"
    (author / "inputs" / "real").mkdir(parents=True)
    (author / "shared").mkdir()
    (author / "inputs" / "a.txt").write_text("abc\n")
    (author / "inputs" / "b.txt").write_text("xyz\n")
    (author / "inputs" / "real" / "x.txt").write_text("hello\n")
    (author / "shared" / "s.txt").write_text("shared\n")
    (author / "inputs" / "link").symlink_to("a.txt")
    (author / "inputs" / "folder").symlink_to("real")
    (author / "inputs" / "gone").symlink_to("nothing-here")
    (author / "inputs" / "elsewhere").symlink_to("../shared/s.txt")
    (author / "job.py").write_text("print('ran')\n")
    (author / ".gitignore").write_text("*.toml\n*.lock\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "-C", str(author), "init", "-q"], check=True)
    subprocess.run([*git, "-C", str(author), "add", "."], check=True)
    subprocess.run([*git, "-C", str(author), "commit", "-qm", "one"], check=True)
    res = envsnap("run", "--data-fast", "--data", "inputs", "--", sys.executable, "job.py", cwd=author)
    assert res.returncode == 0, res.stderr
    time.sleep(0.05)
    clone = tmp_path / "reviewer"
    subprocess.run(["git", "clone", "-q", str(author), str(clone)], check=True)
    (clone / "run.toml").write_bytes((author / "run.toml").read_bytes())
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    lines = res.stdout.splitlines()
    assert "code: same" in lines and "data: same" in lines, res.stdout + res.stderr
    assert any(line.startswith("  inputs: same: its ") and "committed, unchanged" in line for line in lines), lines
    # The link pointed at another file of the same size: git sees the link changed, and so does rerun.
    (clone / "inputs" / "link").unlink()
    (clone / "inputs" / "link").symlink_to("b.txt")
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    lines = res.stdout.splitlines()
    assert "data: same" not in lines and not any("committed, unchanged" in line for line in lines), lines
    assert any(line.startswith("  inputs: ") and "link" in line for line in lines), lines


def test_a_record_committed_after_its_run_leaves_the_code_the_run_s(tmp_path: Path, envsnap: Envsnap) -> None:
    """A record names the commit its run was at, so it is committed after it, with its lock: in every fresh
    clone the code read ``differs`` (``commit A -> B``) though B changed nothing but envsnap's own files. A
    commit that changes any other file still differs."""
    root = tmp_path / "author"
    root.mkdir()
    (root / "job.py").write_text("print('hi')\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    res = envsnap("run", "-o", "runs/r1.toml", "--", sys.executable, "job.py", cwd=root)
    assert res.returncode == 0, res.stderr
    subprocess.run([*git, "add", "runs"], check=True)
    subprocess.run([*git, "commit", "-qm", "the record"], check=True)
    clone = tmp_path / "reviewer"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    res = envsnap("rerun", "runs/r1.toml", "--dry-run", cwd=clone)
    lines = res.stdout.splitlines()
    assert "code: same" in lines, res.stdout + res.stderr
    assert any(
        line.startswith("  commit ")
        and line.endswith(": the commits since change only envsnap's files: runs/r1.lock, runs/r1.toml")
        for line in lines
    ), lines
    (root / "job.py").write_text("print('changed')\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    res = envsnap("rerun", "runs/r1.toml", "--dry-run", cwd=root)
    assert "code: differs" in res.stdout.splitlines(), res.stdout


def test_an_ignore_output_glob_that_matches_nothing_is_said(tmp_path: Path, envsnap: Envsnap) -> None:
    """A glob spelled otherwise than the record names the output (``./results/*.log``) left nothing out, silently:
    the rerun read "not reproduced" with no hint why the glob had no effect."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "job.py").write_text(LOGGING)
    res = envsnap("run", "--output", "results", "--", sys.executable, "job.py", cwd=root)
    assert res.returncode == 0, res.stderr
    res = envsnap("rerun", "run.toml", "--yes", "--ignore-output", "./results/*.log", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert (
        "--ignore-output './results/*.log': it matches no output, nor a file in one (each is matched by its path as "
        "the record names it: results)"
    ) in res.stdout.splitlines(), res.stdout


def test_a_record_naming_one_input_many_times_reads_it_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stranger's record of 400 KB listing one 50 MB file 2,000 times (as ``big.bin``, ``./big.bin``,
    ``sub/../big.bin``) made rerun hash it 2,000 times: 100 GB read, a minute and a half, and hours for a
    larger file, each under the per-path limit. Each path is read once; each entry is still reported."""
    from envsnap.runs import data as data_mod

    root = tmp_path / "p"
    root.mkdir()
    (root / "big.bin").write_bytes(b"x" * 1000)
    (root / "sub").mkdir()
    spellings = ["big.bin", "./big.bin", "sub/../big.bin"]
    _hostile_record(root, spellings * 30, [])
    record = rec.load(root / "run.toml")
    reads: list[Path] = []
    real = data_mod.fingerprint
    monkeypatch.setattr(data_mod, "fingerprint", lambda path, **kw: reads.append(Path(path)) or real(path, **kw))
    check = rerun_mod.check_data(record, root, rerun_mod.data_roots(root), root)
    assert (check.state, check.lines) == ("same", ())
    assert len(reads) == 1, reads
    (root / "big.bin").write_bytes(b"y" * 1000)
    reads.clear()
    check = rerun_mod.check_data(record, root, rerun_mod.data_roots(root), root)
    assert check.state == "differs" and len(check.lines) == 90 and len(reads) == 1, (check, reads)


SEES = "import os; open('seen.txt', 'w').write(repr((os.environ.get('SEED'), os.environ.get('WANDB_MODE'))))"


def test_rerun_sets_the_variables_the_run_recorded_and_says_how_yours_differ(tmp_path: Path, host_lock: Path) -> None:
    """A script reading its own ``SEED`` was rerun without it (the lock does not track it): the output differed
    and nothing said why. The rerun sets each variable ``run --env`` recorded, removes one recorded unset, and its
    environment check says whether yours is the same (never your value: a record may name any variable)."""
    root = tmp_path / "p"
    root.mkdir()
    base = {k: v for k, v in envsnap_env().items() if k not in ("SEED", "WANDB_MODE")}
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", "--lock", str(host_lock), "--env", "SEED", "--env", "WANDB_MODE",
         "--output", "seen.txt", "--", sys.executable, "-c", SEES],
        cwd=root, env={**base, "SEED": "3 4"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (root / "seen.txt").read_text() == "('3 4', None)"
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--lock", str(host_lock), "--yes"],
        cwd=root, env={**base, "SEED": "7", "WANDB_MODE": "online-secret"}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert (root / "seen.txt").read_text() == "('3 4', None)"
    assert "output seen.txt: identical" in res.stdout
    check = res.stdout.split("\nenvironment: ")[1].split("\ncode: ")[0]
    assert "  variable SEED='3 4': differs here (yours has another value); the rerun sets the run's" in check, check
    assert "  variable WANDB_MODE (unset in the run): differs here (yours is set); the rerun unsets it" in check
    assert "online-secret" not in res.stdout + res.stderr
    # The reviewer's own environment as the run had it: each is the same.
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--lock", str(host_lock), "--dry-run"],
        cwd=root, env={**base, "SEED": "3 4"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "  variable SEED='3 4': same here" in res.stdout, res.stdout
    assert "  variable WANDB_MODE (unset in the run): same here" in res.stdout, res.stdout
    # Asked to confirm, the reviewer reads what the command's environment gets from the record.
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--lock", str(host_lock)],
        cwd=root, env=base, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert res.returncode == 2 and "  with the run's variables: SEED='3 4', WANDB_MODE unset\n" in res.stderr, (
        res.stderr
    )


def test_rerun_in_docker_passes_the_recorded_variables_as_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the container the command gets the recorded variables as ``-e NAME=VALUE`` words of docker's argv (no
    shell reads them); docker's own environment is not changed by them (a recorded DOCKER_HOST would have sent
    the rerun to another engine)."""
    bob = tmp_path / "home" / "bob"
    paper = bob / "paper"
    paper.mkdir(parents=True)
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(
            argv=("sh", "-c", "true"),
            cwd=".",
            variables=(
                rec.Variable("SEED", "3; rm -rf ~ $(x)"),
                rec.Variable("DOCKER_HOST", "tcp://evil:2375"),
                rec.Variable("WANDB_MODE", unset=True),
            ),
        ),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    rec.dump(record, paper / "run.toml")
    res = _envsnap_as(bob)("rerun", "run.toml", "--in-docker", "some/image:1", cwd=paper)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.splitlines()[1] == "  " + shlex.join(
        [
            "docker", "run", "--pull", "never", "--rm", "-i", "--init", *TINI_GROUP, "--network", "none",
            "-e", "NVIDIA_VISIBLE_DEVICES=void",
            "--mount", f"type=bind,source={paper},target={paper}",
            "-e", "SEED=3; rm -rf ~ $(x)", "-e", "DOCKER_HOST=tcp://evil:2375", "-e", "WANDB_MODE",
            "-w", str(paper), "--user", f"{os.getuid()}:{os.getgid()}", "--", "some/image:1", "sh", "-c", "true",
        ]
    ), res.stderr  # fmt: skip
    assert "  variable WANDB_MODE (unset in the run): same here; the rerun unsets it in the container" in res.stdout, (
        res.stdout
    )
    # What runs docker: your environment, not the record's variables.
    monkeypatch.chdir(paper)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("SEED", "mine")
    plan = rerun_mod.plan(rec.load(paper / "run.toml"), in_docker="some/image:1")
    assert "DOCKER_HOST" not in plan.env and plan.env["SEED"] == "mine"


@pytest.mark.parametrize("with_lock", [True, False], ids=["lock", "captured"])
def test_a_recorded_variable_the_lock_records_too_is_verified_as_the_rerun_sets_it(
    tmp_path: Path, host_lock: Path, with_lock: bool
) -> None:
    """``run --env PYTHONHASHSEED`` with it set: the rerun sets it for the command, but its verify judged the
    reviewer's own environment, which lacks it, and said the environment differs ("in the run, not here", or
    "here, not in the run" against a lock captured with it) for a variable the command does get as the run had."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "h.py").write_text("import pathlib\npathlib.Path('h.txt').write_text(str(hash('abc')))\n")
    lock = ["--lock", str(host_lock)] if with_lock else []
    clean = {k: v for k, v in envsnap_env().items() if k != "PYTHONHASHSEED"}
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", *lock, "--env", "PYTHONHASHSEED", "--output", "h.txt", "--",
         sys.executable, "h.py"],
        cwd=root, env={**clean, "PYTHONHASHSEED": "3"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", *lock, "--yes"],
        cwd=root, env=clean, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "environment: same" in res.stdout and res.returncode == 0, res.stdout + res.stderr
    assert "output h.txt: identical" in res.stdout


def test_rerun_in_docker_verifies_with_the_recorded_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    """The verify in the image judged the container without the variables its command gets (-e), as a verify here
    judged your own environment without them."""
    seen: list[list[str]] = []
    envs: list[object] = []

    def docker(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(list(argv))
        envs.append(kwargs.get("env"))
        return subprocess.CompletedProcess(argv, 0, '{"differences": []}', "")

    monkeypatch.setattr(rerun_mod._runner, "run", docker)
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(
            argv=("true",), variables=(rec.Variable("SEED", "3"), rec.Variable("WANDB_MODE", unset=True))
        ),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    check = rerun_mod.check_environment(record, tmp_path, lock=str(host_lock), in_docker="some/image:1")
    assert check.state == rerun_mod.SAME, check
    monkeypatch.setenv("WANDB_MODE", "online")  # yours: the verify, as the command, has it unset (-e, no value)
    check = rerun_mod.check_environment(record, tmp_path, lock=str(host_lock), in_docker="some/image:1")
    assert seen[-1][seen[-1].index("--") - 4 : seen[-1].index("--")] == ["-e", "SEED=3", "-e", "WANDB_MODE"], seen
    assert isinstance(envs[-1], dict) and "WANDB_MODE" not in envs[-1] and "PATH" in envs[-1], envs


def _variables_record(root: Path, argv: tuple[str, ...], *variables: rec.Variable) -> None:
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=argv, cwd=".", variables=variables),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    rec.dump(record, root / "run.toml")


def test_rerun_in_docker_unsets_a_variable_the_run_had_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``run --env WANDB_MODE`` with it unset, rerun ``--in-docker`` in an image whose ``ENV`` sets it: the command
    saw the image's value, which the run did not have. Docker is given ``-e WANDB_MODE`` with no value, and runs
    without WANDB_MODE in its own environment: docker then removes it from the container's (an image's ENV
    included). A name docker itself reads (DOCKER_HOST) is left in docker's environment, and said."""
    bob = tmp_path / "home" / "bob"
    paper = bob / "paper"
    paper.mkdir(parents=True)
    _variables_record(
        paper,
        ("sh", "-c", "true"),
        rec.Variable("WANDB_MODE", unset=True),
        rec.Variable("DOCKER_HOST", unset=True),
    )
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", "some/image:1"],
        cwd=paper, env=envsnap_env(HOME=str(bob), WANDB_MODE="online", DOCKER_HOST="unix:///run/mine.sock"),
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.splitlines()[1] == "  " + shlex.join(
        [
            "docker", "run", "--pull", "never", "--rm", "-i", "--init", *TINI_GROUP, "--network", "none",
            "-e", "NVIDIA_VISIBLE_DEVICES=void",
            "--mount", f"type=bind,source={paper},target={paper}",
            "-e", "WANDB_MODE",
            "-w", str(paper), "--user", f"{os.getuid()}:{os.getgid()}", "--", "some/image:1", "sh", "-c", "true",
        ]
    ), res.stderr  # fmt: skip
    assert (
        "  variable WANDB_MODE (unset in the run): differs here (yours is set); the rerun unsets it in the container"
        in res.stdout
    ), res.stdout
    assert (
        "  variable DOCKER_HOST (unset in the run): differs here (yours is set); envsnap cannot unset it in the "
        "container: docker itself reads it here (one the image sets stays; unset it for the rerun)" in res.stdout
    ), res.stdout
    monkeypatch.chdir(paper)
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/mine.sock")
    plan = rerun_mod.plan(rec.load(paper / "run.toml"), in_docker="some/image:1")
    assert "WANDB_MODE" not in plan.env and plan.env["DOCKER_HOST"] == "unix:///run/mine.sock"


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_the_command_sees_unset_what_the_image_sets(tmp_path: Path) -> None:
    base = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    image = f"envsnap-test-unset:{os.getpid()}"
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "Dockerfile").write_text(f"FROM {base}\nENV WANDB_MODE=online SEED=7\n")
    built = subprocess.run(
        [
            "docker", "build", "-q", "--network", "none",  # no step needs a network, and an engine may have no bridge
            "--label", "org.envsnap.test=rerun-unset", "-t", image, str(tmp_path / "img"),
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    try:
        root = tmp_path / "p"
        root.mkdir()
        script = 'echo "${WANDB_MODE-unset} ${SEED-unset}" > seen.txt'
        clean = {k: v for k, v in envsnap_env().items() if k not in ("WANDB_MODE", "SEED")}
        res = subprocess.run(
            [sys.executable, "-m", "envsnap", "run", "--env", "WANDB_MODE", "--env", "SEED", "--output", "seen.txt",
             "--", "sh", "-c", script],
            cwd=root, env={**clean, "SEED": "3"}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert res.returncode == 0 and (root / "seen.txt").read_text() == "unset 3\n", res.stderr
        (root / "seen.txt").unlink()
        res = subprocess.run(
            [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", image, "--yes"],
            cwd=root, env={**clean, "WANDB_MODE": "mine"}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert (root / "seen.txt").read_text() == "unset 3\n", res.stdout + res.stderr
        assert res.returncode == 0 and "output seen.txt: identical" in res.stdout, res.stdout + res.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=120)


@pytest.mark.parametrize(
    ("variables", "words", "said"),
    [
        ((), ["-e", "NVIDIA_VISIBLE_DEVICES=void"], True),
        ((rec.Variable("CUDA_VISIBLE_DEVICES", ""),), ["-e", "NVIDIA_VISIBLE_DEVICES=void"], True),
        # The run's own value is the command's: docker gets it, as recorded, and no void over it.
        ((rec.Variable("NVIDIA_VISIBLE_DEVICES", unset=True),), [], False),
        ((rec.Variable("NVIDIA_VISIBLE_DEVICES", "none"),), [], False),
    ],
    ids=["no-gpu", "cuda-empty", "recorded-unset", "recorded-none"],
)
def test_rerun_in_docker_asking_for_no_gpu_gives_nvidia_s_runtime_void(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    host_lock: Path,
    variables: tuple[rec.Variable, ...],
    words: list[str],
    said: bool,
) -> None:
    """A run that used no GPU, rerun ``--in-docker`` with no ``--gpus``, on a host whose docker runs NVIDIA's runtime
    by default, in an image whose ``ENV`` has ``NVIDIA_VISIBLE_DEVICES=all`` (every nvidia/cuda image): that runtime
    read the variable and gave the container every GPU. The container is given ``NVIDIA_VISIBLE_DEVICES=void``
    (NVIDIA's runtime then acts as runc; another runtime ignores it), the verify as the command; a line says so, as
    the command sees it. Where the run recorded the variable (``run --env``), its value is the command's, as
    recorded."""
    bob = tmp_path / "home" / "bob"
    paper = bob / "paper"
    paper.mkdir(parents=True)
    _variables_record(paper, ("true",), *variables)
    res = _envsnap_as(bob)("rerun", "run.toml", "--in-docker", "some/image:1", cwd=paper)
    assert res.returncode == 2, res.stdout + res.stderr
    recorded = rerun_mod.docker_variables(variables, {})
    assert res.stderr.splitlines()[1] == "  " + shlex.join(
        [
            "docker", "run", "--pull", "never", "--rm", "-i", "--init", *TINI_GROUP, "--network", "none", *words,
            "--mount", f"type=bind,source={paper},target={paper}", *recorded,
            "-w", str(paper), "--user", f"{os.getuid()}:{os.getgid()}", "--", "some/image:1", "true",
        ]
    ), res.stderr  # fmt: skip
    line = (
        "gpus: docker is asked for none, and the container gets NVIDIA_VISIBLE_DEVICES=void (NVIDIA's runtime, "
        "where it is docker's default, then gives it none; the command sees the variable too)"
    )
    assert (line in res.stdout.splitlines()) == said, res.stdout
    seen: list[list[str]] = []

    def docker(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, '{"differences": []}', "")

    monkeypatch.setattr(rerun_mod._runner, "run", docker)
    record = rec.load(paper / "run.toml")
    rerun_mod.check_environment(record, paper, lock=str(host_lock), in_docker="some/image:1")
    assert len(seen) == 1 and seen[-1][: seen[-1].index("--mount")] == [
        "docker", "run", "--pull", "never", "--rm", "--network", "none", *words
    ], seen  # fmt: skip


@pytest.mark.parametrize(
    ("gpus", "variables", "state"),
    [
        ("", (), rerun_mod.SAME),
        ("all", (), rerun_mod.DIFFERS),
        ("", (rec.Variable("NVIDIA_VISIBLE_DEVICES", "void"),), rerun_mod.DIFFERS),
    ],
    ids=["envsnap-gives-void", "gpus-asked", "run-recorded-it"],
)
def test_the_no_gpu_variable_rerun_gives_the_container_is_no_difference_of_its_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    host_lock: Path,
    gpus: str,
    variables: tuple[rec.Variable, ...],
    state: str,
) -> None:
    """A run without GPUs, rerun ``--in-docker`` in the image ``rebuild --target docker`` made: the container gets
    ``NVIDIA_VISIBLE_DEVICES=void`` from envsnap, and the image's verify reported it (``value (none) -> void (not
    set in the lock)``), so the environment of every such rerun differed: ``--dry-run`` exited 3 and ``--strict``
    ran nothing. envsnap's own ``void`` is no difference; the same finding where envsnap gave no such variable (the
    image's, with ``--gpus``; the run's own, recorded and so compared) still is."""
    _variables_record(tmp_path, ("true",), *variables)
    void = {
        "severity": "warning", "area": "environment", "subject": "NVIDIA_VISIBLE_DEVICES", "what": "value",
        "expected": "", "actual": "void", "note": "not set in the lock", "cause": "",
    }  # fmt: skip
    report = json.dumps({"differences": [void]})
    seen: list[list[str]] = []

    def docker(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, report, "")

    monkeypatch.setattr(rerun_mod._runner, "run", docker)
    record = rec.load(tmp_path / "run.toml")
    check = rerun_mod.check_environment(record, tmp_path, lock=str(host_lock), in_docker="some/image:1", gpus=gpus)
    assert check.state == state, check
    assert (("-e", "NVIDIA_VISIBLE_DEVICES=void") in zip(seen[0], seen[0][1:], strict=False)) == (not gpus), seen
    if state == rerun_mod.SAME:
        assert check.lines == (), check
    else:
        said = "NVIDIA_VISIBLE_DEVICES: value (none) -> void (not set in the run, as its lock records; set here)"
        assert any(line.endswith(said) for line in check.lines), check


@pytest.mark.parametrize(
    ("code", "stderr", "said"),
    [
        (
            127,
            "docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create "
            'failed: unable to start container process: exec: "envsnap": executable file not found in $PATH: unknown',
            "--in-docker some/image:1: the image has no envsnap program to verify it with, so its environment cannot "
            "be checked (an image `envsnap rebuild {lock} --target docker` made has one)",
        ),
        (
            125,
            "docker: Error response from daemon: No such image: some/image:1.\nRun 'docker run --help' for more",
            "--in-docker some/image:1: envsnap verify in the image gave no report: docker: Error response from "
            "daemon: No such image: some/image:1.",
        ),
    ],
    ids=["no-envsnap", "docker-error"],
)
def test_an_image_without_envsnap_says_so_and_what_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path, code: int, stderr: str, said: str
) -> None:
    """An image with no envsnap in it (a plain base image): the environment line was docker's own error, "OCI
    runtime create failed: runc create failed: unable to start container process: exec: "envsnap": executable file
    not found in $PATH: unknown", which says neither what is missing for envsnap nor which image has it."""
    _variables_record(tmp_path, ("true",))

    def docker(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, code, "", stderr + "\n")

    monkeypatch.setattr(rerun_mod._runner, "run", docker)
    record = rec.load(tmp_path / "run.toml")
    check = rerun_mod.check_environment(record, tmp_path, lock=str(host_lock), in_docker="some/image:1")
    # The lock verified, one shell word: it read `envsnap rebuild LOCK`, a placeholder where the path was known.
    said = said.replace("{lock}", sinks.path_shown(str(host_lock)))
    assert (check.state, check.lines) == (rerun_mod.UNKNOWN, (said,)), check


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_with_no_gpu_the_command_sees_the_recorded_nvidia_variable(tmp_path: Path) -> None:
    base = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    image = f"envsnap-test-nvvoid:{os.getpid()}"
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "Dockerfile").write_text(f"FROM {base}\nENV NVIDIA_VISIBLE_DEVICES=all\n")
    built = subprocess.run(
        [
            "docker", "build", "-q", "--network", "none",  # no step needs a network, and an engine may have no bridge
            "--label", "org.envsnap.test=rerun-nvvoid", "-t", image, str(tmp_path / "img"),
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    try:
        clean = {k: v for k, v in envsnap_env().items() if k != "NVIDIA_VISIBLE_DEVICES"}
        script = 'echo "${NVIDIA_VISIBLE_DEVICES-unset}" > seen.txt'
        for recorded, seen in ((["--env", "NVIDIA_VISIBLE_DEVICES"], "unset\n"), ([], "void\n")):
            root = tmp_path / f"p{len(recorded)}"
            root.mkdir()
            res = subprocess.run(
                [sys.executable, "-m", "envsnap", "run", *recorded, "--output", "seen.txt", "--", "sh", "-c", script],
                cwd=root, env=clean, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert res.returncode == 0 and (root / "seen.txt").read_text() == "unset\n", res.stderr
            res = subprocess.run(
                [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", image, "--yes"],
                cwd=root, env=clean, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            # Recorded: the run's (unset), not the image's all nor envsnap's void. Not recorded: void, said.
            assert (root / "seen.txt").read_text() == seen, res.stdout + res.stderr
            assert ("NVIDIA_VISIBLE_DEVICES=void" in res.stdout) == (not recorded), res.stdout
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=120)


def _cuda_record(root: Path, variable: rec.Variable) -> None:
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), cwd=".", variables=(variable,)),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        gpus=rec.Gpus(
            visible_devices=variable.value,
            visible_devices_set=not variable.unset,
            used=("1 (A)",) if not variable.unset else ("0 (A)", "1 (A)", "2 (A)", "3 (A)"),
            used_known=True,
        ),
    )
    rec.dump(record, root / "run.toml")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to compile the fake NVML")
@pytest.mark.parametrize(
    ("variable", "gpus_line"),
    [
        (
            rec.Variable("CUDA_VISIBLE_DEVICES", "1"),
            "  here: 1 GPU visible: 1 (A) (in the container: docker run --gpus all, and the run's "
            "CUDA_VISIBLE_DEVICES=1)",
        ),
        (
            rec.Variable("CUDA_VISIBLE_DEVICES", unset=True),
            "  here: 4 GPUs visible: 0 (A), 1 (A), 2 (A), 3 (A) (in the container: docker run --gpus all, and the "
            "run's CUDA_VISIBLE_DEVICES unset)",
        ),
    ],
    ids=["set", "unset"],
)
def test_rerun_in_docker_gives_the_command_the_gpus_of_the_recorded_cuda_visible_devices(
    tmp_path: Path, variable: rec.Variable, gpus_line: str
) -> None:
    """``run --env CUDA_VISIBLE_DEVICES`` (1), rerun ``--in-docker`` by a reviewer whose own is 2: docker was asked
    for GPU 2 alone (from yours), which the container numbers 0, and given ``-e CUDA_VISIBLE_DEVICES=1``: the
    command saw no GPU, and the GPUs check said ``same``. As without docker, the run's value is the command's:
    docker is asked for all of them and the container's CUDA narrows them by the run's value, as here."""
    import gpu_fakes

    root = tmp_path / "p"
    root.mkdir()
    _cuda_record(root, variable)
    nvml = gpu_fakes.FakeNvml(gpus=tuple(gpu_fakes.FakeGpu("A", (9, 0), 80 << 30, f"GPU-{i}") for i in range(4)))
    env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml), envsnap_env(CUDA_VISIBLE_DEVICES="2"))
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", "some/image:1"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert res.returncode == 2, res.stdout + res.stderr
    word = ["-e", f"CUDA_VISIBLE_DEVICES={variable.value}" if not variable.unset else "CUDA_VISIBLE_DEVICES"]
    assert res.stderr.splitlines()[1] == "  " + shlex.join(
        [
            "docker", "run", "--pull", "never", "--rm", "-i", "--init", *TINI_GROUP, "--network", "none",
            "--gpus", "all",
            "--mount", f"type=bind,source={root},target={root}", *word,
            "-w", str(root), "--user", f"{os.getuid()}:{os.getgid()}", "--", "some/image:1", "true",
        ]
    ), res.stderr  # fmt: skip
    lines = res.stdout.splitlines()
    assert "gpus: same" in lines and gpus_line in lines, res.stdout


def test_the_gpus_a_container_sees_are_narrowed_by_the_recorded_cuda_visible_devices() -> None:
    """``--gpus 2`` gives the container one GPU, its 0: the run's ``CUDA_VISIBLE_DEVICES=1`` names none there."""
    from envsnap.model import Gpu

    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",), variables=(rec.Variable("CUDA_VISIBLE_DEVICES", "1"),)),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
        gpus=rec.Gpus(visible_devices="1", visible_devices_set=True, used=("1 (A)",), used_known=True),
    )
    gpus = tuple(Gpu(index=i, name="A") for i in range(4))
    asked = '"device=2"'
    check = rerun_mod.check_gpus(record, {}, probe=lambda: (gpus, ""), in_docker=True, gpus_asked=asked)
    assert check is not None and check.state == "differs", check
    assert check.lines[-1] == (
        'here: no GPU visible (in the container: docker run --gpus "device=2", and the run\'s '
        "CUDA_VISIBLE_DEVICES=1, which names the container's GPUs from 0)"
    ), check.lines
    check = rerun_mod.check_gpus(record, {}, probe=lambda: (gpus, ""), in_docker=True, gpus_asked='"device=0,3"')
    assert check is not None and check.state == "same", check
    assert check.lines[-1].startswith("here: 1 GPU visible: 3 (A) (in the container"), check.lines


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_a_sigterm_to_rerun_in_docker_ends_the_command_in_the_container(tmp_path: Path) -> None:
    """SIGTERM sent to ``rerun --in-docker`` (a Slurm time limit, ``kill``) was passed on to docker, which passed it
    to the command, the container's process 1: the kernel gives process 1 no default action for it, so a command
    without a handler (``sh``, ``sleep``, a C program) ran on to its end, and a SIGKILL after it left the container
    running. The command now runs under docker's init, which passes it on: it ends as it does without docker."""
    image = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    root = tmp_path / "p"
    root.mkdir()
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("sh", "-c", "touch started; sleep 60; echo late > late.txt"), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    rec.dump(record, root / "run.toml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", image, "--yes"],
        cwd=root, env=envsnap_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (root / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "envsnap: terminated (SIGTERM)" in err, out + err
    assert time.monotonic() - sent < 30 and not (root / "late.txt").exists(), out + err


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_a_sigint_to_rerun_in_docker_reaches_every_process_of_the_command(tmp_path: Path) -> None:
    """A Ctrl-C reaches every process of a command run without docker (the terminal signals its whole foreground
    group): a training script's workers, or the program a shell script runs. In the container, docker's init passed
    the SIGINT docker forwards to the command alone, so the program under a shell never saw it: it ran on (a shell
    waits for it) or was killed without its cleanup when the shell ended. Docker's init now signals the command's
    process group, as the terminal does."""
    image = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    root = tmp_path / "p"
    root.mkdir()
    inner = 'trap "echo cleaned > cleanup.txt; exit 3" INT; touch started; sleep 60 & wait; echo late > late.txt'
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("sh", "-c", f"sh -c '{inner}'; echo outer > outer.txt"), cwd="."),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    rec.dump(record, root / "run.toml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", image, "--yes"],
        cwd=root, env=envsnap_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (root / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert time.monotonic() - sent < 30 and not (root / "late.txt").exists(), out + err
    assert (root / "cleanup.txt").read_text() == "cleaned\n", out + err


def test_rerun_in_docker_runs_a_recorded_python_path_as_the_images_python(tmp_path: Path) -> None:
    """A run of ``$(which python3) train.py`` (or record_run's ``sys.executable``) records the interpreter by its
    path on the author's machine, which the image does not have: the container failed with exit 127, or ran a
    project's own venv, not the environment its verify had checked. The image's interpreter of that name runs."""
    bob = tmp_path / "home" / "bob"
    paper = bob / "paper"
    paper.mkdir(parents=True)
    _variables_record(paper, ("/opt/alice/venv/bin/python3.11", "-c", "pass"))
    res = _envsnap_as(bob)("rerun", "run.toml", "--in-docker", "some/image:1", cwd=paper)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.splitlines()[1].endswith(" -- some/image:1 python3.11 -c pass"), res.stderr
    # The record names no lock: no verify ran in the image, and the line claims none (test below).
    assert (
        "python: /opt/alice/venv/bin/python3.11 runs as the image's python3.11 (on the image's PATH)"
        in res.stdout.splitlines()
    ), res.stdout


def _fake_docker(folder: Path) -> Path:
    """A ``docker`` program that runs no container and answers ``envsnap verify --json`` in the image with
    ``$ENVSNAP_FAKE_REPORT`` (an image whose envsnap verified the lock), or, where that is empty, as docker does for
    an image it has not (exit 125); any other ``docker`` command ends 0."""
    folder.mkdir()
    docker = folder / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" envsnap verify "*)\n'
        '  [ -n "$ENVSNAP_FAKE_REPORT" ] || { echo "Unable to find image locally" >&2; exit 125; }\n'
        '  printf "%s" "$ENVSNAP_FAKE_REPORT" ;;\n'
        "esac\n"
        "exit 0\n"
    )
    docker.chmod(0o755)
    return folder


def test_rerun_in_docker_looks_the_program_up_once_its_working_directory_is_made(tmp_path: Path) -> None:
    """The lookup of the recorded program in the image runs in the command's working directory (``-w``), which
    docker makes, as root, where it is missing: looked up before rerun made the folder, a reviewer's project got a
    folder of root's, said made, where the command, run as them, could write nothing. The folder is made first."""
    root = tmp_path / "p"
    root.mkdir()
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("nosuchprog", "arg"), cwd="sub"),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    rec.dump(record, root / "run.toml")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(
        "#!/bin/sh\n"
        'case " $* " in\n'
        '  *" image inspect "*) echo null ;;\n'  # the image is here, with no ENTRYPOINT
        f'  *" --entrypoint /bin/sh "*) [ -d {shlex.quote(str(root / "sub"))} ] || exit 99; echo absent ;;\n'
        "esac\n"
    )
    (fake / "docker").chmod(0o755)
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", "some/image:1", "--yes"],
        cwd=root, env=envsnap_env(PATH=f"{fake}{os.pathsep}{os.environ['PATH']}"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 127, res.stdout + res.stderr
    assert "outputs: made sub" in res.stdout.splitlines(), res.stdout
    assert res.stderr == "envsnap: error: nosuchprog: command not found in the image some/image:1: nothing was run\n"


@pytest.mark.parametrize("lock", ["named", "none", "absent image"])
def test_rerun_in_docker_says_the_python_is_verify_s_only_where_verify_ran(
    tmp_path: Path, host_lock: Path, lock: str
) -> None:
    """``python: ... runs as the image's python3, the interpreter its verify checks`` was said where no verify ran
    in the image: the record named no lock (the environment cannot be checked), or the image was not there
    (--dry-run: verify gave no report). The clause is said where the image's verify reported, and only there."""
    root = tmp_path / "p"
    root.mkdir()
    _variables_record(root, ("/opt/alice/venv/bin/python3", "-c", "pass"))
    fake = _fake_docker(tmp_path / "bin")
    env = envsnap_env(
        PATH=f"{fake}{os.pathsep}{os.environ['PATH']}",
        ENVSNAP_FAKE_REPORT='{"identical": true, "differences": []}' if lock == "named" else "",
    )
    args = ["--lock", str(host_lock)] if lock != "none" else []
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--in-docker", "some/image:1", *args, "--dry-run"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 3, res.stdout + res.stderr
    [line] = [line for line in res.stdout.splitlines() if line.startswith("python: ")]
    shown = "python: /opt/alice/venv/bin/python3 runs as the image's python3 (on the image's PATH)"
    if lock == "named":
        assert "environment: same" in res.stdout, res.stdout
        assert line == shown + ", the interpreter its verify checks", res.stdout
    else:
        assert "environment: unknown" in res.stdout, res.stdout
        assert line == shown, res.stdout


def test_rerun_in_docker_mounts_no_recorded_python_the_image_s_replaces(tmp_path: Path) -> None:
    """A run of ``~/venv/bin/python3 train.py``, rerun ``--in-docker``: the image's python3 runs instead (a line says
    so), yet ``~/venv/bin/python3`` was mounted and listed as mounted in the container, or listed as not in it
    where the reviewer has no such venv. It is neither: what is listed is what docker is given."""
    bob = tmp_path / "home" / "bob"
    paper = bob / "paper"
    paper.mkdir(parents=True)
    (bob / "venv" / "bin").mkdir(parents=True)
    (bob / "venv" / "bin" / "python3").write_text("#!/bin/sh\n")
    (bob / "data.csv").write_text("a\n")
    _home_record(paper, ("~/venv/bin/python3", "train.py", "~/data.csv"), (0, 2), ())
    res = _envsnap_as(bob)("rerun", "run.toml", "--in-docker", "some/image:1", cwd=paper)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    # No lock named: no verify ran in the image, and the line says none did.
    assert "python: ~/venv/bin/python3 runs as the image's python3 (on the image's PATH)" in lines, lines
    assert "mounted in the container: ~/data.csv read-only" in lines, lines
    assert not any("venv" in line for line in lines if "container" in line), lines
    assert "venv" not in res.stderr.splitlines()[1], res.stderr
    shutil.rmtree(bob / "venv")  # a reviewer without the author's venv: nothing is said missing from the container
    res = _envsnap_as(bob)("rerun", "run.toml", "--in-docker", "some/image:1", cwd=paper)
    assert not any("venv" in line for line in res.stdout.splitlines() if "container" in line), res.stdout


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_of_a_python_path_runs_the_images_interpreter(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    base = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    image = f"envsnap-test-python:{os.getpid()}"
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "Dockerfile").write_text(
        f"FROM {base}\nRUN printf '#!/bin/sh\\necho ran > \"$1\"\\n' > /usr/local/bin/python3 "
        "&& chmod +x /usr/local/bin/python3\n"
    )
    built = subprocess.run(
        [
            "docker", "build", "-q", "--network", "none",  # no step needs a network, and an engine may have no bridge
            "--label", "org.envsnap.test=rerun-python", "-t", image, str(tmp_path / "img"),
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    try:
        mine = tmp_path / "alice" / "bin"
        mine.mkdir(parents=True)
        (mine / "python3").write_text('#!/bin/sh\necho ran > "$1"\n')
        (mine / "python3").chmod(0o755)
        root = tmp_path / "p"
        root.mkdir()
        res = envsnap("run", "--output", "o.txt", "--", mine / "python3", "o.txt", cwd=root)
        assert res.returncode == 0, res.stderr
        (root / "o.txt").unlink()
        res = envsnap("rerun", "run.toml", "--in-docker", image, "--yes", cwd=root)
        assert res.returncode == 0 and "output o.txt: identical" in res.stdout, res.stdout + res.stderr
        # The image has no envsnap: no verify checked its python3, and the line claimed one did.
        res = envsnap("rerun", "run.toml", "--in-docker", image, "--lock", host_lock, "--dry-run", cwd=root)
        assert res.returncode == 3, res.stdout + res.stderr
        assert "the image has no envsnap program to verify it with" in res.stdout, res.stdout
        python_line = next(line for line in res.stdout.splitlines() if line.startswith("python: "))
        assert python_line == f"python: {mine / 'python3'} runs as the image's python3 (on the image's PATH)", (
            res.stdout
        )
        assert "environment: unknown" in res.stdout, res.stdout
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=120)


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_of_an_image_without_the_python_refuses(tmp_path: Path, envsnap: Envsnap) -> None:
    """A recorded python path rerun in an image that has no interpreter of that name (the debootstrap'd base has
    none): the rerun said the command "runs as the image's python3.11", then ran it, and docker's init failed with
    exit 127, reported as the command's and its outputs as not reproduced. It is one line saying the image has no
    such interpreter, exit 2, and nothing runs (with --dry-run too: the command cannot run in that image)."""
    image = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    root = tmp_path / "p"
    root.mkdir()
    _variables_record(root, ("/opt/alice/venv/bin/python3.11", "-c", "open('ran.txt', 'w')"))
    for flag in ("--yes", "--dry-run"):
        res = envsnap("rerun", "run.toml", "--in-docker", image, flag, cwd=root)
        assert res.returncode == 2, res.stdout + res.stderr
        assert "runs as the image's" not in res.stdout, res.stdout
        [line] = res.stderr.splitlines()
        assert line.startswith(
            f"envsnap: error: --in-docker {image}: the image has no python3.11 on its PATH to run the recorded "
            "/opt/alice/venv/bin/python3.11 with ("
        ), line
        assert 'exec: "python3.11": executable file not found' in line and line.endswith("nothing was run"), line
        assert not (root / "ran.txt").exists()


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_of_python3_in_an_image_without_it_refuses(tmp_path: Path, envsnap: Envsnap) -> None:
    """``envsnap run -- python3 train.py`` rerun in an image with no python3: docker's init failed to start it,
    exit 127, which the rerun reported as the command's exit status, "DIFFERENT: not reproduced", exit 1, where
    the command never ran. It is one line saying the image has no python3, exit 2, and nothing runs."""
    image = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    root = tmp_path / "p"
    root.mkdir()
    _variables_record(root, ("python3", "-c", "open('ran.txt', 'w')"))
    res = envsnap("rerun", "run.toml", "--in-docker", image, "--yes", cwd=root)
    assert res.returncode == 2, res.stdout + res.stderr
    [line] = res.stderr.splitlines()
    assert line.startswith(
        f"envsnap: error: --in-docker {image}: the image has no python3 on its PATH, which the recorded command runs ("
    ), line
    assert 'exec: "python3": executable file not found' in line and line.endswith("nothing was run"), line
    assert "exit status" not in res.stdout and not (root / "ran.txt").exists(), res.stdout


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_of_a_program_the_image_lacks_is_not_found_as_here(tmp_path: Path, envsnap: Envsnap) -> None:
    """A record of ``nosuchprog arg`` (no python) rerun in an image without that program: docker's init failed to
    start it, exit 127, which the rerun reported as the command's exit status, "DIFFERENT: not reproduced", exit 1;
    a local rerun says ``nosuchprog: command not found``, exit 127. So does the rerun in docker now, naming the
    image; a program that is there and exits 127 itself is still the command's exit status."""
    image = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    root = tmp_path / "p"
    root.mkdir()
    for argv in (("nosuchprog", "arg"), ("./gone.sh", "arg")):
        _variables_record(root, argv)
        res = envsnap("rerun", "run.toml", "--in-docker", image, "--yes", cwd=root)
        assert res.returncode == 127, res.stdout + res.stderr
        assert res.stderr.splitlines() == [
            f"envsnap: error: {argv[0]}: command not found in the image {image}: nothing was run"
        ], res.stderr
        assert "exit status" not in res.stdout and "DIFFERENT" not in res.stdout, res.stdout
    _variables_record(root, ("sh", "-c", "exit 127"))
    res = envsnap("rerun", "run.toml", "--in-docker", image, "--yes", cwd=root)
    assert res.returncode == 1 and "exit status: 127 (the run exited 0)" in res.stdout, res.stdout + res.stderr

    # An image with an ENTRYPOINT gets the command as its arguments: one that puts its own folder on the PATH finds
    # a program the image's PATH has not, and runs it (the lookup asks nothing of such an image).
    entry = f"envsnap-test-entrypoint:{os.getpid()}"
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "Dockerfile").write_text(
        f"FROM {image}\nRUN mkdir /opt/tools && printf '#!/bin/sh\\necho ran > \"$1\"\\n' > /opt/tools/mytool "
        "&& chmod +x /opt/tools/mytool && cp /opt/tools/mytool /opt/tools/python3\n"
        'ENTRYPOINT ["/bin/sh", "-c", "PATH=/opt/tools:$PATH exec \\"$@\\"", "sh"]\n'
    )
    built = subprocess.run(
        ["docker", "build", "-q", "--network", "none", "--label", "org.envsnap.test=rerun-entrypoint", "-t", entry,
         str(tmp_path / "img")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    try:
        for program in ("mytool", "python3"):  # a python3 too, which the image's own PATH has not
            _variables_record(root, (program, f"{program}.txt"))
            res = envsnap("rerun", "run.toml", "--in-docker", entry, "--yes", cwd=root)
            assert res.returncode == 0 and "exit status: 0" in res.stdout, res.stdout + res.stderr
            assert (root / f"{program}.txt").read_text() == "ran\n"
    finally:
        subprocess.run(["docker", "rmi", "-f", entry], capture_output=True, timeout=120)


def test_rerun_in_docker_looks_the_program_up_without_running_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lookup of a recorded program in the image runs the image's sh with the program's name as an argument
    (never as code, never started: a record is someone's file), with the command's mounts, directory and user."""
    root = tmp_path / "p"
    root.mkdir()
    _variables_record(root, ("$(touch pwned)", "arg"))
    monkeypatch.chdir(root)
    p = rerun_mod.plan(rec.load(root / "run.toml"), in_docker="some/image:1")
    i = p.lookup.index("--entrypoint")
    assert p.lookup[i : i + 5] == ("--entrypoint", "/bin/sh", "--", "some/image:1", "-c"), p.lookup
    assert p.lookup[i + 6 :] == ("sh", "$(touch pwned)"), p.lookup
    assert p.lookup[:2] == ("docker", "run") and "-i" not in p.lookup, p.lookup
    docker_words = p.argv[: p.argv.index("--")]
    assert [w for w in docker_words if w != "-i"] == list(p.lookup[:i]), (p.argv, p.lookup)
    _variables_record(root, ("python3", "-c", "pass"))  # a python is looked for as such (image_lacks), not twice
    assert rerun_mod.plan(rec.load(root / "run.toml"), in_docker="some/image:1").lookup == ()


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_of_an_image_that_is_not_here_runs_nothing(tmp_path: Path, envsnap: Envsnap) -> None:
    """An image docker has not (a typo, one not pulled): docker run failed with its own 125, which the rerun
    reported as the command's exit status and its outputs as not written, "DIFFERENT: not reproduced", exit 1,
    where the command never ran. It is one line saying so, exit 2, before anything runs."""
    root = tmp_path / "p"
    root.mkdir()
    res = envsnap("run", "--output", "o.txt", "--", "sh", "-c", "echo x > o.txt", cwd=root)
    assert res.returncode == 0, res.stderr
    image = f"envsnap-test-absent:{os.getpid()}"
    res = envsnap("rerun", "run.toml", "--in-docker", image, "--yes", cwd=root)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "exit status" not in res.stdout and "DIFFERENT" not in res.stdout, res.stdout
    assert res.stderr.startswith(f"envsnap: error: --in-docker {image}: the image is not here"), res.stderr
    assert res.stderr.count("\n") == 1 and "nothing was run" in res.stderr, res.stderr


def _home_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uid: int, home_name: str = "bob") -> tuple[Any, Path]:
    home = tmp_path / "home" / home_name
    paper = home / "paper"
    paper.mkdir(parents=True)
    (paper / "d.txt").write_text("hi\n")
    _home_record(paper, ("sh", "-c", 'mkdir -p "$HOME/.cache/x" && echo ok > "$HOME/.cache/x/f" && cat d.txt'), (), ())
    monkeypatch.chdir(paper)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(os, "getuid", lambda: uid)
    monkeypatch.setattr(os, "getgid", lambda: uid)
    image = os.environ.get("ENVSNAP_BASE_IMAGE", "envsnap-base:bookworm")
    return rerun_mod.plan(rec.load(paper / "run.toml"), in_docker=image), home


def test_rerun_in_docker_gives_a_non_root_reviewer_a_writable_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--user UID:GID`` names no user of the image, so docker set HOME to ``/``, where the reviewer may write
    nothing: a command whose libraries keep a cache in ``~/.cache`` (matplotlib, torch, Hugging Face) failed in
    the container and not on the reviewer's machine. The home is now an empty folder of the reviewer's own there (a
    tmpfs at the same path, owned by them) and HOME names it; the paths the command names are still mounted in it.
    Root's home is the image's /root, as before."""
    plan, home = _home_plan(tmp_path, monkeypatch, 1000)
    argv = list(plan.argv)
    at = argv.index("--tmpfs")
    assert argv[at + 1] == f"{home}:uid=1000,gid=1000,mode=0700", argv
    assert argv[argv.index("-e", at) + 1] == f"HOME={home}" and argv.index("-e", at) < argv.index("--"), argv
    assert plan.home == str(home)
    from envsnap.cli import main

    main(["rerun", "run.toml", "--in-docker", "some/image:1", "--dry-run"])  # exit 3: nothing to check it by
    shown = capsys.readouterr().out.splitlines()
    said = "home in the container: ~ is an empty folder of yours (HOME), with what is mounted in it; gone after"
    assert said in shown, shown
    root_plan, _ = _home_plan(tmp_path / "root", monkeypatch, 0)
    assert "--tmpfs" not in root_plan.argv and root_plan.home == ""
    # A home docker's --tmpfs cannot name (it splits at ':' and ','): no tmpfs, and the plan says so.
    odd, _ = _home_plan(tmp_path / "odd", monkeypatch, 1000, home_name="bob:2")
    assert "--tmpfs" not in odd.argv and odd.home == "", odd.argv


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_a_non_root_command_writes_its_cache_in_its_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, home = _home_plan(tmp_path, monkeypatch, 1000)
    os.chmod(tmp_path, 0o755)
    for folder in (home.parent, home, home / "paper"):
        os.chmod(folder, 0o755)
    res = subprocess.run(plan.argv, cwd=plan.cwd, env=plan.env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout == "hi\n", res


@pytest.mark.integration
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_rerun_in_docker_never_pulls_an_image_it_does_not_have(tmp_path: Path, envsnap: Envsnap) -> None:
    """The environment check ran ``docker run IMAGE envsnap verify`` before the image check, and docker pulled an
    image it did not have from a registry: a typo fetched a stranger's image of that name (here, with no registry
    reachable, the line showed docker's network error). Both ``docker run`` calls say ``--pull never``: the
    reviewer's own image or none."""
    root = tmp_path / "p"
    root.mkdir()
    res = envsnap("run", "--output", "o.txt", "--", "sh", "-c", "echo x > o.txt", cwd=root)
    assert res.returncode == 0, res.stderr
    image = f"envsnap-test-absent/never-pulled:{os.getpid()}"
    res = envsnap("rerun", "run.toml", "--in-docker", image, "--dry-run", cwd=root)
    assert "registry" not in res.stdout.lower() and "no such host" not in res.stdout, res.stdout
    (line,) = [line for line in res.stdout.splitlines() if "envsnap verify in the image gave no report" in line]
    assert "No such image" in line, res.stdout
    res = envsnap("rerun", "run.toml", "--in-docker", image, "--yes", cwd=root)
    assert res.returncode == 2 and "the image is not here" in res.stderr, res.stdout + res.stderr


def test_a_recorded_interpreter_missing_here_makes_the_environment_unknown(tmp_path: Path, envsnap: Envsnap) -> None:
    # The command's python, by its path in the project (a venv not copied along), is missing here: rerun verified
    # the PATH's python instead, said "environment: same", and the command then failed, 127.
    root = tmp_path / "p"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    res = envsnap("run", "--", root / ".venv" / "bin" / "python", "-c", "print(1)", cwd=root)
    assert res.returncode == 0, res.stderr
    copy = tmp_path / "q"
    copy.mkdir()
    for name in ("run.toml", "run.lock"):
        shutil.copy(root / name, copy / name)
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=copy)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "environment: unknown" in res.stdout, res.stdout
    # Named as from the folder rerun runs in, as the rebuild that makes it is.
    assert "the command's interpreter .venv/bin/python does not exist here" in res.stdout, res.stdout


def _project_with_a_venv_run(tmp_path: Path, envsnap: Envsnap) -> Path:
    """A git project whose recorded command runs its own venv's python by a relative path (``.venv/bin/python``),
    the venv ignored by git, the record and its lock committed."""
    root = tmp_path / "p"
    root.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)
    (root / ".gitignore").write_text(".venv/\n")
    res = envsnap("run", "--", ".venv/bin/python", "-c", "print(1)", cwd=root)
    assert res.returncode == 0, res.stderr
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    return root


def test_a_relative_interpreter_is_judged_in_the_runs_folder_not_the_current_one(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """``rerun p/run.toml`` from outside the project looked for the recorded ``.venv/bin/python`` in the current
    folder: the venv there in the project was said not to exist, the environment unknown (exit 3 with --dry-run).
    It is the one in the run's folder, as the command runs it."""
    root = _project_with_a_venv_run(tmp_path, envsnap)
    for cwd, record in ((root, "run.toml"), (tmp_path, root / "run.toml")):
        res = envsnap("rerun", record, "--dry-run", cwd=cwd)
        assert "environment: same" in res.stdout, (cwd, res.stdout + res.stderr)
        assert "does not exist here" not in res.stdout, res.stdout


def test_a_fresh_clone_without_the_venv_is_told_the_command_that_makes_it(tmp_path: Path, envsnap: Envsnap) -> None:
    """In a fresh clone, whose venv git does not track, rerun said "make it, or pass --python PATH" and not how: the
    line below it is the rebuild that makes it from the run's lock, runnable as printed from the folder rerun was
    run in; run, the environment is the run's."""
    root = _project_with_a_venv_run(tmp_path, envsnap)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    for cwd, record, line in (
        (tmp_path, clone / "run.toml", "envsnap rebuild clone/run.lock --target venv --dest clone/.venv"),
        (clone, "run.toml", "envsnap rebuild run.lock --target venv --dest .venv"),
    ):
        res = envsnap("rerun", record, "--dry-run", cwd=cwd)
        assert res.returncode == 3 and "environment: unknown" in res.stdout, res.stdout + res.stderr
        assert f"  {line}" in res.stdout.splitlines(), res.stdout
    words = shlex.split(line)
    assert words[0] == "envsnap"
    res = envsnap(*words[1:], cwd=clone)
    assert res.returncode == 0, res.stdout + res.stderr
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    assert "environment: same" in res.stdout, res.stdout + res.stderr
    # A venv folder that is there, its python gone, is not one a rebuild makes (its --dest must be new or empty).
    (clone / ".venv" / "bin" / "python").unlink()
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    assert "environment: unknown" in res.stdout and "envsnap rebuild" not in res.stdout, res.stdout


def test_the_commands_told_for_a_missing_venv_make_it_as_the_run_had_it_when_pasted(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A lock with a local git repository (``git+file://``) and the project installed editable: the rebuild rerun
    told failed, exit 2 asking for --allow-url, and once allowed it installed the project's wheel, a regular install,
    so the rerun said "differs" until ``pip install -e .``. The commands told, pasted in order, make the environment
    the run had."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("no uv")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C"]
    lib = in_tree_project(tmp_path / "lib repo", "gitlib", "1.0")
    other = in_tree_project(tmp_path / "other repo", "otherlib", "1.0")  # beside it, never allowed by the pattern
    for repo in (lib, other):
        subprocess.run([*git, str(repo), "init", "-q"], check=True)
        subprocess.run([*git, str(repo), "add", "."], check=True)
        subprocess.run([*git, str(repo), "commit", "-qm", "one"], check=True)
    root = in_tree_project(tmp_path / "p", "proj", "0.1")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)
    (root / ".gitignore").write_text(".venv/\n")
    python = str(root / ".venv" / "bin" / "python")
    install = [
        uv,
        "pip",
        "install",
        "-q",
        "--offline",
        "--python",
        python,
        "-e",
        str(root),
        f"gitlib @ git+{lib.as_uri()}",
    ]
    subprocess.run(install, check=True)
    subprocess.run([*git, str(root), "init", "-q"], check=True)
    res = envsnap("run", "--", ".venv/bin/python", "-c", "print(1)", cwd=root)
    assert res.returncode == 0, res.stderr
    subprocess.run([*git, str(root), "add", "."], check=True)
    subprocess.run([*git, str(root), "commit", "-qm", "one"], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    assert res.returncode == 3 and "environment: unknown" in res.stdout, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    told = lines.index(
        "  the command's interpreter .venv/bin/python does not exist here: the environment it runs in cannot be "
        "checked; this rebuild makes it from the lock, and the install after it puts the project in editable, as the "
        "lock has it (or pass --python PATH):"
    )
    commands = [shlex.split(line) for line in lines[told + 1 : told + 3]]
    assert commands[0] == [
        "envsnap", "rebuild", "run.lock", "--target", "venv", "--dest", ".venv", "--allow-url", str(lib)
    ], res.stdout  # fmt: skip
    assert commands[1][1:] == ["pip", "install", "--python", ".venv/bin/python", "--no-deps", "-e", "."], res.stdout
    # A pip configuration that cannot be read is the rebuild's to say: the rerun still tells the commands.
    (tmp_path / "bad.conf").write_text("[global\n")
    bad = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--dry-run"],
        cwd=clone,
        env=envsnap_env(PIP_CONFIG_FILE=str(tmp_path / "bad.conf")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 3 and bad.stdout == res.stdout, bad.stdout + bad.stderr
    res = envsnap(*commands[0][1:], cwd=clone)
    assert res.returncode == 0, res.stdout + res.stderr
    subprocess.run(commands[1], cwd=clone, check=True, timeout=300)
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    assert "environment: same" in res.stdout, res.stdout + res.stderr


def test_the_rebuild_told_for_a_lock_imported_with_a_find_links_folder_rebuilds_it_when_pasted(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A run recorded with a lock imported from a requirements file with ``--find-links ../wheels``: ``alpha``
    (one hash, recorded by its file name in the folder) and ``beta`` (two hashes: the folder is listed to choose).
    Its venv gone, rerun told ``--allow-url 'DIR/*'``, which allows alpha's file but not the folder's listing, so
    the rebuild pasted was refused for beta (exit 2). It tells the folder itself, as pin and bundle advise it, and
    the rebuild pasted as told makes the environment with both."""
    import hashlib

    wheels = tmp_path / "wheels"
    alpha = make_wheel(wheels, "alpha", "1.0", {"alpha/__init__.py": b""})
    beta = make_wheel(wheels, "beta", "2.0", {"beta/__init__.py": b""})
    root = tmp_path / "p"
    root.mkdir()
    digest = {w: hashlib.sha256(w.read_bytes()).hexdigest() for w in (alpha, beta)}
    (root / "requirements.txt").write_text(
        f"--find-links ../wheels\nalpha==1.0 --hash=sha256:{digest[alpha]}\n"
        f"beta==2.0 --hash=sha256:{digest[beta]} --hash=sha256:{'b' * 64}\n"
    )
    assert envsnap("import", "requirements.txt", "-o", "envsnap.lock", cwd=root).returncode == 0
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)
    (root / ".gitignore").write_text(".venv/\n")
    subprocess.run(["git", "-C", str(root), "init", "-q"], check=True)
    res = envsnap("run", "--lock", "envsnap.lock", "--", ".venv/bin/python", "-c", "print(1)", cwd=root)
    assert res.returncode == 0, res.stderr
    shutil.rmtree(root / ".venv")
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert res.returncode == 3 and "environment: unknown" in res.stdout, res.stdout + res.stderr
    told = [line for line in res.stdout.splitlines() if line.startswith("  envsnap rebuild ")]
    assert len(told) == 1, res.stdout
    words = shlex.split(told[0])
    assert words == [
        "envsnap", "rebuild", "envsnap.lock", "--target", "venv", "--dest", ".venv", "--allow-url", str(wheels)
    ], res.stdout  # fmt: skip
    res = envsnap(*words[1:], cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    subprocess.run([str(root / ".venv" / "bin" / "python"), "-c", "import alpha, beta"], check=True)


def test_an_activated_venv_missing_in_a_fresh_clone_is_told_the_command_that_makes_it(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """``python train.py`` run in the project's activated venv, rerun in a fresh clone (no venv): rerun verified the
    PATH's python in its place, a line for every package it has and the lock has not (180 on a workstation), and
    never said the run's python was the project's venv, nor how to make it. It is said, with the rebuild."""
    root = tmp_path / "p"
    root.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)
    (root / ".gitignore").write_text(".venv/\n")
    activated = envsnap_env(
        PATH=f"{root / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(root / ".venv")
    )
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", "--", "python", "-c", "print(1)"],
        cwd=root,
        env=activated,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=clone)
    assert res.returncode == 3 and "environment: unknown" in res.stdout, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert (
        "  the run's python (python, found on its PATH) was .venv/bin/python, which does not exist here: the "
        "environment it runs in cannot be checked; this rebuild makes it from the lock (then activate it, or pass "
        "--python PATH):"
    ) in lines, res.stdout
    assert "  envsnap rebuild run.lock --target venv --dest .venv" in lines, res.stdout
    assert "installed, not in the lock" not in res.stdout
    # The venv made, and activated, the rerun verifies it.
    res = envsnap("rebuild", "run.lock", "--target", "venv", "--dest", ".venv", cwd=clone)
    assert res.returncode == 0, res.stdout + res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--dry-run"],
        cwd=clone,
        env=envsnap_env(
            PATH=f"{clone / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(clone / ".venv")
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "environment: same" in res.stdout, res.stdout + res.stderr


def test_a_python_the_command_names_that_is_not_on_path_here_is_said(tmp_path: Path) -> None:
    """``python3.99 train.py`` rerun where no ``python3.99`` is on PATH: rerun verified another interpreter in its
    place (verify's choice: envsnap's own), said the environment was the same (``--dry-run`` exit 0), and the command
    then failed with 127. The environment is unknown, said so."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.99").symlink_to(sys.executable)
    project = tmp_path / "p"
    project.mkdir()
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "run", "--", "python3.99", "-c", "print(1)"],
        cwd=project,
        env=envsnap_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--dry-run"],
        cwd=project,
        env=envsnap_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 3 and "environment: unknown" in res.stdout, res.stdout + res.stderr
    assert (
        "  the command's python3.99 is not on PATH here: the environment it runs in cannot be checked (activate "
        "it, or pass --python PATH)"
    ) in res.stdout.splitlines(), res.stdout


def test_a_work_tree_git_refuses_as_another_users_is_said_in_the_code_check(tmp_path: Path, envsnap: Envsnap) -> None:
    """Rerun in a checkout git refuses as another user's (its safe.directory check; GIT_TEST_ASSUME_DIFFERENT_OWNER is
    git's own switch for it) said "PROJECT is not a git work tree", which it is, with nothing to do about it."""
    root = _project_with_a_venv_run(tmp_path, envsnap)
    res = envsnap("run", "--", ".venv/bin/python", "-c", "print(1)", cwd=root)  # in the work tree now: its commit
    assert res.returncode == 0, res.stderr
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "rerun", "run.toml", "--dry-run"],
        cwd=root,
        env=envsnap_env(GIT_TEST_ASSUME_DIFFERENT_OWNER="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 3, res.stdout + res.stderr
    assert (
        f"  git refuses to read the work tree at {root}, which another user owns (git's safe.directory check): its "
        f"commit cannot be compared with the recorded {commit[:12]}; git config --global --add safe.directory "
        f"{root} lets git read it"
    ) in res.stdout.splitlines(), res.stdout


def test_a_conda_environment_not_made_yet_is_told_the_conda_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild named for a missing environment is the lock's kind: a lock with conda packages is made with
    ``--target conda`` at the prefix the command's python lies in; an interpreter outside such a folder
    (``/usr/bin/python3``'s ``/usr`` is there) is named with no rebuild."""
    from testutil import sample_lock

    from envsnap.model import Conda, CondaPackage

    lock = tmp_path / "conda.lock"
    lockfile.dump(dataclasses.replace(sample_lock(), conda=Conda(packages=(CondaPackage("zlib", "1.3.1"),))), lock)
    monkeypatch.chdir(tmp_path)
    for python, expected in (
        (tmp_path / "envs" / "train" / "bin" / "python", "envsnap rebuild conda.lock --target conda --dest envs/train"),
        (tmp_path / "bin" / "python3", ""),
        # A recorded path through ``..`` (a hand-edited record): its folder is not the one the rebuild would fill.
        (tmp_path / "gone" / ".." / "bin" / "python", ""),
    ):
        record = rec.RunRecord(
            run=rec.Meta(generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
            command=rec.Command(argv=(str(python), "train.py")),
            result=rec.Outcome(
                started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
            ),
        )
        check = rerun_mod.check_environment(record, tmp_path, lock=str(lock))
        assert check.state == rerun_mod.UNKNOWN, check
        assert "does not exist here" in check.lines[0], check
        assert (check.lines[1] if len(check.lines) > 1 else "") == expected, check


def test_a_data_folder_s_link_to_nothing_is_judged_by_run_and_rerun_alike(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """run skipped a link that leads to nothing and recorded the folder's one file; rerun refused the same link as
    one leading out of the folders it may read, so the data was ``unknown`` on every rerun (``--strict`` never ran).
    Both now list it: kept, the data is the same; one added or removed is a difference, named."""
    root = tmp_path / "p"
    (root / "d").mkdir(parents=True)
    (root / "d" / "a").write_text("1\n")
    (root / "d" / "dangling").symlink_to("/nonexistent")
    res = envsnap("run", "--lock", host_lock, "--data", "d", "-o", "r.toml", "--", "true", cwd=root)
    assert res.returncode == 0, res.stderr
    res = envsnap("rerun", "r.toml", "--dry-run", cwd=root)
    assert "data: same" in res.stdout.splitlines(), res.stdout + res.stderr
    (data,) = rec.load(root / "r.toml").data
    assert (data.files, data.dangling) == (1, ("dangling",))
    (root / "d" / "other").symlink_to(tmp_path / "nowhere")
    (root / "d" / "dangling").unlink()
    res = envsnap("rerun", "r.toml", "--dry-run", cwd=root)
    lines = res.stdout.splitlines()
    assert res.returncode == 3 and "data: differs" in lines, res.stdout + res.stderr
    assert "  d/dangling: removed" in lines and "  d/other: added" in lines, lines
    # A file where the link was is a change.
    (root / "d" / "other").unlink()
    (root / "d" / "dangling").write_text("now a file\n")
    res = envsnap("rerun", "r.toml", "--dry-run", cwd=root)
    assert "  d/dangling: changed" in res.stdout.splitlines(), res.stdout + res.stderr


def test_a_path_under_the_home_in_the_recorded_command_is_shown_as_a_word_the_shell_expands(
    tmp_path: Path, host_lock: Path
) -> None:
    """The header of ``rerun`` (and ``show``'s Command) quoted a path under the home whole, ``'~/my data/x.csv'``,
    which no shell expands: pasted, the command read a folder named ``~``. The ``~`` is left bare before the quoted
    rest, as the outputs' lines name a path (``sinks.path_shown``), and one inside a word is ``"$HOME"``."""
    alice = tmp_path / "home" / "alice"
    mine = alice / "proj"
    _home_project(alice, mine)
    (alice / "my data").mkdir()
    (alice / "my data" / "x.csv").write_text("a,b\n")
    envsnap = _envsnap_as(alice)
    command = [
        mine / ".venv" / "bin" / "python", mine / "train.py", "--data", alice / "my data" / "x.csv",
        f"--out={alice / 'my data' / 'out.txt'}",
    ]  # fmt: skip
    res = envsnap("run", "--lock", host_lock, "--", *command, cwd=mine)
    assert res.returncode == 0, res.stdout + res.stderr
    words = "{project}/.venv/bin/python {project}/train.py --data ~/'my data/x.csv' --out=\"$HOME\"/'my data/out.txt'"
    res = envsnap("rerun", "run.toml", "--lock", host_lock, "--dry-run", cwd=mine)
    assert f"rerunning run.toml: {words}" in res.stdout.splitlines(), res.stdout + res.stderr
    shown = envsnap("show", "run.toml", cwd=mine)
    assert words in shown.stdout, shown.stdout
    pasted = subprocess.run(
        ["bash", "-c", f"printf '%s\\n' {words.replace('{project}', 'P')}"],
        env={"HOME": str(alice), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert pasted.stdout.splitlines()[3:] == [f"{alice}/my data/x.csv", f"--out={alice}/my data/out.txt"]


def test_rerun_in_docker_names_the_home_paths_it_mounts_as_shell_words(tmp_path: Path) -> None:
    """``mounted in the container: ~/my data.csv read-only`` and ``not in the container: ~/gone file.csv: ...``
    named the record's paths raw (read as ``~/my``, and a name holding a right-to-left override reordered the
    line): each is named as the command's words and the outputs are, ``~/'my data.csv'``."""
    bob = tmp_path / "home" / "bob"
    paper = bob / "paper"
    paper.mkdir(parents=True)
    (bob / "my data.csv").write_text("a\n")
    argv = ("python3", "train.py", "~/my data.csv", "~/gone file.csv", "~/odd\u202ename.csv")
    _home_record(paper, argv, (2, 3, 4), ())
    res = _envsnap_as(bob)("rerun", "run.toml", "--in-docker", "some/image:1", "--dry-run", cwd=paper)
    lines = res.stdout.splitlines()
    assert "mounted in the container: ~/'my data.csv' read-only" in lines, res.stdout + res.stderr
    assert "not in the container: ~/'gone file.csv': it does not exist here" in lines, lines
    assert any(line.startswith("not in the container: ~/$'odd\\u202ename.csv': ") for line in lines), lines


def test_show_names_a_records_data_as_rerun_names_it(tmp_path: Path) -> None:
    """``envsnap show run.toml`` named an output ``~/my runs/x.pt: missing`` where rerun names it ``output ~/'my
    runs/x.pt'``: one path read two ways, and a name holding ``: `` split where it should not. show names each input
    and output as rerun does (``sinks.path_shown``)."""
    bob = tmp_path / "home" / "bob"
    paper = bob / "paper"
    paper.mkdir(parents=True)
    data = (
        rec.Data(role="input", path="{project}/in: x.csv", kind="missing", method="sha256"),
        rec.Data(role="output", path="~/my runs/x.pt", kind="missing", method="sha256"),
    )
    _home_record(paper, ("python3", "train.py"), (), data)
    res = _envsnap_as(bob)("show", "run.toml", cwd=paper)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "{project}/'in: x.csv': missing" in res.stdout, res.stdout
    assert "~/'my runs/x.pt': missing" in res.stdout, res.stdout


def test_a_missing_venv_of_a_bundles_lock_is_told_the_offline_rebuild_from_the_bundle(
    tmp_path: Path, envsnap: Envsnap
) -> None:
    """A paper's supplement (a bundle and its run record) rerun where the run's venv is missing: the rebuild rerun
    printed named the bundle's lock without ``--bundle DIR --offline``, so the reviewer, offline, pasted a command
    that failed. It names the bundle and works offline as printed; ``rebuild envsnap.lock --offline`` inside the
    bundle, without ``--bundle``, says ``--bundle .``."""
    root = _project_with_a_venv_run(tmp_path, envsnap)
    res = envsnap("bundle", "run.lock", "-o", "supp", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    shutil.rmtree(root / ".venv")
    for cwd, lock, folder in ((root, "supp/envsnap.lock", "supp"), (root / "supp", "envsnap.lock", ".")):
        record = "run.toml" if cwd == root else "../run.toml"
        res = envsnap("rerun", record, "--dry-run", "--lock", lock, cwd=cwd)
        assert res.returncode == 3 and "environment: unknown" in res.stdout, res.stdout + res.stderr
        (line,) = [line for line in res.stdout.splitlines() if line.startswith("  envsnap rebuild ")]
        words = shlex.split(line)
        assert words[words.index("--bundle") + 1] == folder and "--offline" in words, line
    res = envsnap("rebuild", "envsnap.lock", "--offline", "--dest", "../.venv", cwd=root / "supp")
    assert res.returncode == 2 and "--bundle ." in res.stderr, res.stderr
    res = envsnap(*words[1:], cwd=root / "supp")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (root / ".venv" / "bin" / "python").exists()


def test_a_record_of_a_bundle_rerun_without_its_lock_names_the_bundle_s_lock(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reviewer's first try in the artifact's folder, ``envsnap rerun runs/run.toml``: the record names its lock by
    the author's project path (``paper.lock``), so the line read ``the lock cannot be read: .../supp/paper.lock: no
    such lockfile`` and said nothing of the lock the bundle holds beside the record, the one it was checked
    against. The line names it as ``--lock`` to pass, and where to rerun."""
    from testutil import sample_lock

    from envsnap.artifacts.bundle import Bundle

    supp = tmp_path / "my supp"
    lock = lockfile.load(lockfile.dump(sample_lock(seal=True), supp / "envsnap.lock"))
    time_ = "2026-12-01T10:00:00.000Z"
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created=time_),
        command=rec.Command(argv=("python", "train.py")),
        result=rec.Outcome(started=time_, ended=time_, duration_ms=1, exit_status=0),
        environment=rec.Environment(
            lock="paper.lock",
            lock_digest=lock.envsnap.content_digest,
            lock_identity=lockfile.identity_digest(lockfile.to_dict(lock)),
        ),
    )
    (supp / "runs").mkdir()
    rec.dump(rec.sealed(record), supp / "runs" / "run.toml")
    Bundle(supp).write_sums()
    monkeypatch.chdir(supp)
    result = cli("rerun", "runs/run.toml", "--dry-run")
    assert result.code == 3, result
    said = (
        f"the record is kept in the bundle {shlex.quote(str(supp))}: pass --lock "
        f"{shlex.quote(str(supp / 'envsnap.lock'))}, and rerun in the project's folder (its REPRODUCING.md says how)"
    )
    assert said in result.out, result.out


def test_the_verdict_of_a_rerun_whose_data_differs_does_not_contradict_the_lines_above(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """An input the command does not read was missing: ``data: differs`` was printed, the outputs matched, and the
    last line read ``identical: table2.toml reproduced``, exit 0, as if nothing had differed. The exit status stays
    (docs/cli.md: the outputs decide it); the verdict says what holds: the outputs reproduced, the data differs."""
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)
    (root / "inputs" / "other.csv").unlink()
    res = envsnap("rerun", "table2.toml", "--lock", host_lock, "--yes", cwd=root)
    lines = res.stdout.splitlines()
    assert res.returncode == 0, res.stdout + res.stderr
    assert "data: differs" in lines and "output results: identical" in lines, res.stdout
    assert lines[-1] == "identical: table2.toml reproduced its outputs; its data differs (named above)", lines


def test_a_record_kept_in_a_bundle_is_not_run_in_the_bundles_folder(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cd supp && envsnap rerun runs/run.toml --lock envsnap.lock --yes`` in an artifact's folder, no project
    around it: the command ran with the bundle as its working directory (the project the record's folder and
    ``{project}`` paths are relative to was taken to be the bundle), and wrote its outputs into the bundle, which
    then failed its SHA256SUMS check. The project cannot be found there: refused, one line naming where to rerun,
    exit 2, nothing run; ``--dry-run`` still reports the checks."""
    from testutil import sample_lock

    from envsnap.artifacts.bundle import Bundle

    supp = tmp_path / "supp"
    lock = lockfile.load(lockfile.dump(sample_lock(seal=True), supp / "envsnap.lock"))
    time_ = "2026-12-01T10:00:00.000Z"
    record = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0.1.0", created=time_),
        command=rec.Command(argv=("touch", "ran.txt")),
        result=rec.Outcome(started=time_, ended=time_, duration_ms=1, exit_status=0),
        environment=rec.Environment(
            lock="paper.lock",
            lock_digest=lock.envsnap.content_digest,
            lock_identity=lockfile.identity_digest(lockfile.to_dict(lock)),
        ),
    )
    (supp / "runs").mkdir()
    rec.dump(rec.sealed(record), supp / "runs" / "run.toml")
    Bundle(supp).write_sums()
    monkeypatch.chdir(supp)
    result = cli("rerun", "runs/run.toml", "--lock", "envsnap.lock", "--yes")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert "is kept in the bundle" in result.err and "rerun in the project's folder" in result.err, result.err
    assert "REPRODUCING.md" in result.err, result.err
    assert not (supp / "ran.txt").exists()
    assert cli("rerun", "runs/run.toml", "--lock", "envsnap.lock", "--dry-run").code == 3


def test_the_environment_lines_show_a_local_source_by_its_path_and_compare_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_lock: Path
) -> None:
    """rerun's environment lines printed the run's drift as the record keeps it, a local source by its percent-encoded
    URL (``editable file:///home/me/my%20project``), where verify prints its path. They show the path, one shell word,
    a control character escaped; the drift the record wrote before and verify's finding now still compare as the URL
    they are: the one both have is the run's (``as in the run``), not a difference."""
    same = {
        "severity": "warning",
        "area": "python",
        "subject": "proj",
        "what": "source",
        "expected": "editable file:///home/me/my%20project",
        "actual": "file:///home/me/my%20project",
        "note": "its folder is installed as a copy, not editable",
    }
    new = {**same, "subject": "tool", "expected": "editable file:///srv/%1b%5B2Jtool", "note": ""}
    report = json.dumps({"differences": [same, new]})

    def docker(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 0, report, "")

    monkeypatch.setattr(rerun_mod._runner, "run", docker)
    gone = "mismatch: python: mylib: its editable folder file://{project}/libs/my%20lib is gone: nothing of it imports"
    had = (
        "warning: python: proj: source editable file:///home/me/my%20project -> file:///home/me/my%20project (its "
        "folder is installed as a copy, not editable)"
    )
    record = rec.RunRecord(  # a record of schema version 1, its drift lines of text: compared and shown as before
        run=rec.Meta(schema_version=1, generator="envsnap 0.1.0", created="2026-11-30T10:00:00Z"),
        command=rec.Command(argv=("true",)),
        environment=rec.Environment(drift=(rec.Finding(line=had), rec.Finding(line=gone))),
        result=rec.Outcome(
            started="2026-11-30T10:00:00Z", ended="2026-11-30T10:00:01Z", duration_ms=1000, exit_status=0
        ),
    )
    check = rerun_mod.check_environment(record, tmp_path, lock=str(host_lock), in_docker="some/image:1")
    assert check.state == rerun_mod.DIFFERS, check
    assert check.lines == (
        "warning: python: proj: source editable '/home/me/my project' -> '/home/me/my project' (its folder is "
        "installed as a copy, not editable) (as in the run)",
        "warning: python: tool: source editable $'/srv/\\x1b[2Jtool' -> '/home/me/my project' (here, not in the run)",
        "mismatch: python: mylib: its editable folder {project}/'libs/my lib' is gone: nothing of it imports (in the "
        "run, not here)",
    ), check.lines


def test_the_drift_of_a_pth_folder_names_its_paths_as_verify_prints_them(
    tmp_path: Path, envsnap: Envsnap, make_venv: Callable[..., Path]
) -> None:
    """``run --lock`` and ``rerun`` printed their drift decoding ``file:`` URLs alone: the note of a folder a ``.pth``
    file puts on sys.path named ``my mods`` and ``new one.py`` bare, two words each in a line a user copies from,
    where verify prints each one shell word (``pth_note_shown``). Printed by verify's rule; the record keeps the
    note as written, which rerun compares."""
    python = make_venv(tmp_path / "venv")
    (site,) = (tmp_path / "venv").glob("lib/python*/site-packages")
    mods = tmp_path / "my mods"
    mods.mkdir()
    (mods / "new one.py").write_text("Y = 1\n")
    (site / "mods.pth").write_text(f"{mods}\n")
    root = tmp_path / "p"
    root.mkdir()
    subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "--python", str(python), "-o", "env.lock"],
        cwd=root, check=True, capture_output=True, env=envsnap_env(),
    )  # fmt: skip
    (mods / "new one.py").write_text("Y = 2\n")  # changed since the capture
    res = envsnap("run", "--lock", "env.lock", "--", python, "-c", "pass", cwd=root)
    assert res.returncode == 0, res.stderr
    said = f"the modules in {shlex.quote(str(mods))} (from {{prefix}}/"
    assert said in res.stderr and "the first 'new one.py' (modified)" in res.stderr, res.stderr
    [found] = rec.load(root / "run.toml").environment.drift
    raw = found.note
    assert (found.subject, found.what) == (".pth", "imports"), found
    assert f"the modules in {mods} (from {{prefix}}/" in raw and raw.endswith("the first new one.py (modified)"), raw
    res = envsnap("rerun", "run.toml", "--dry-run", cwd=root)
    assert said in res.stdout, res.stdout
    assert "the first 'new one.py' (modified) (as in the run)" in res.stdout, res.stdout


def test_an_empty_lock_is_said_to_be_empty_before_anything_runs(
    tmp_path: Path, envsnap: Envsnap, host_lock: Path
) -> None:
    """``envsnap rerun RUN.toml --lock "$LOCK"`` with the variable unset judged the environment ``unknown``, "the lock
    cannot be read: .: is a directory, not a lockfile", naming the working directory, not the empty path given. It
    is one line, exit 2, before anything is compared or run, as ``run --lock ''`` is."""
    root = _project(tmp_path / "p")
    _record(envsnap, root, host_lock)
    (root / "results" / "n.txt").unlink()
    res = envsnap("rerun", "table2.toml", "--lock", "", "--yes", cwd=root)
    assert res.returncode == 2, res
    assert res.stderr.splitlines() == [
        "envsnap: error: --lock '': the path is empty (expected a lockfile); a shell variable left unset?"
    ], res
    assert res.stdout == "" and not (root / "results" / "n.txt").exists()


def test_rerun_in_docker_shows_a_difference_s_paths_by_the_places_verify_lists() -> None:
    """verify's ``--json`` in the image lists the places a note names (``places``); rerun --in-docker read the fields
    alone and found a ``.pth`` note's paths again in its text, which split a ``.pth`` file whose name holds the words
    after it. It shows each place one shell word from ``places``; a difference without them (an older envsnap's in
    the image) as before."""
    from envsnap.runs.rerun import _docker_difference

    pth = "{prefix}/a b.pth) are not checked c.pth"
    note = f"the modules in /data/mods (from {pth}) are not checked: over the limits"
    listed = {"severity": "warning", "area": "python", "subject": ".pth", "what": "imports", "note": note}
    places = [{"kind": "folder", "path": "/data/mods"}, {"kind": "pth", "path": pth}]
    diff = _docker_difference({**listed, "places": places})
    assert diff is not None
    assert diff.shown() == (
        ".pth: the modules in /data/mods (from {prefix}/'a b.pth) are not checked c.pth') are not checked: over the "
        "limits"
    )
    older = _docker_difference({**listed, "places": "not a list"})
    assert older is not None and older.places == ()
