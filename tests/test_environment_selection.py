"""Which environment capture, verify and check use: --python / --prefix, then VIRTUAL_ENV, then CONDA_PREFIX, then
envsnap's own interpreter; the first line says which. Re-capturing an unchanged environment leaves the lock alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from condafixtures import CondaEnv, create_env, make_wheel
from testutil import sample_lock, sample_python

from envsnap import lockfile
from envsnap.rebuild import RebuildRequest
from envsnap.rebuild import conda as conda_target

REPO = Path(__file__).resolve().parent.parent


def _envsnap(*args: str | Path, cwd: Path, unset: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m envsnap ARGS`` from envsnap's OWN interpreter, with the given variables set (an activated
    environment) and ``unset`` removed."""
    environ = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", *unset)}
    environ["PYTHONPATH"] = str(REPO)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=300,
    )


@pytest.fixture(scope="module")
def research_venv(tmp_path_factory: pytest.TempPathFactory, make_venv: Callable[..., Path]) -> Path:
    """A venv (not envsnap's) holding one hand-made wheel: ``labnotes``."""
    root = tmp_path_factory.mktemp("activated")
    wheel = make_wheel(root / "wheels", "labnotes", "0.3.0", {"labnotes.py": b"X = 1\n"})
    python = make_venv(root / "venv")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    return root / "venv"


def _activated(venv: Path) -> dict[str, str]:
    return {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}


def test_capture_and_verify_use_the_activated_venv(research_venv: Path, tmp_path: Path) -> None:
    lock = tmp_path / "envsnap.lock"
    res = _envsnap("capture", "-o", lock, cwd=tmp_path, **_activated(research_venv))
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[0] == f"capturing {research_venv} (VIRTUAL_ENV)"
    snap = lockfile.load(lock)
    # The activated venv's packages, not the 60-odd of the interpreter running envsnap.
    assert [p.name for p in snap.python.packages] == ["labnotes"]
    assert snap.python.kind == "venv"

    res = _envsnap("verify", lock, cwd=tmp_path, **_activated(research_venv))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == f"verifying {research_venv} (VIRTUAL_ENV) against {lock}"
    assert "identical" in res.stdout
    # Without the venv active, envsnap's own interpreter is verified: a different environment.
    res = _envsnap("verify", lock, cwd=tmp_path)
    assert res.returncode == 3
    assert "envsnap's own interpreter" in res.stdout.splitlines()[0]


def test_python_option_comes_before_virtual_env(research_venv: Path, tmp_path: Path) -> None:
    res = _envsnap("capture", "-o", "-", "--python", sys.executable, cwd=tmp_path, **_activated(research_venv))
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[0] == f"capturing {sys.executable} (--python)"
    assert "labnotes" not in {p.name for p in lockfile.loads(res.stdout).python.packages}


def test_verify_names_envsnap_target_python_when_it_chose_the_environment(research_venv: Path, tmp_path: Path) -> None:
    """In a rebuilt image ``ENVSNAP_TARGET_PYTHON`` names the environment: the first line said "(--python)", an
    option nobody gave."""
    lock = tmp_path / "envsnap.lock"
    assert _envsnap("capture", "-o", lock, **_activated(research_venv), cwd=tmp_path).returncode == 0
    python = str(research_venv / "bin" / "python")
    res = _envsnap("verify", lock, cwd=tmp_path, unset=("VIRTUAL_ENV",), ENVSNAP_TARGET_PYTHON=python)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == f"verifying {python} (ENVSNAP_TARGET_PYTHON) against {lock}"
    res = _envsnap("verify", lock, "--python", python, cwd=tmp_path, ENVSNAP_TARGET_PYTHON=sys.executable)
    assert res.stdout.splitlines()[0] == f"verifying {python} (--python) against {lock}"


def test_json_output_stays_parseable_with_the_first_line_on_stderr(research_venv: Path, tmp_path: Path) -> None:
    lock = tmp_path / "envsnap.lock"
    res = _envsnap("capture", "-o", lock, "--json", cwd=tmp_path, **_activated(research_venv))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["python"]["packages"][0]["name"] == "labnotes"
    assert res.stderr.splitlines()[0].startswith("capturing ")
    res = _envsnap("verify", lock, "--json", cwd=tmp_path, **_activated(research_venv))
    report = json.loads(res.stdout)
    assert report["identical"] is True and report["target"] == f"{research_venv} (VIRTUAL_ENV)"
    assert res.stderr.splitlines()[0] == f"verifying {research_venv} (VIRTUAL_ENV) against {lock}"
    res = _envsnap("check", lock, "--json", cwd=tmp_path, **_activated(research_venv))
    assert json.loads(res.stdout)["lock"] == str(lock)
    assert res.stderr.splitlines()[0] == f"checking {lock} with {research_venv} (VIRTUAL_ENV)"


def test_check_for_a_target_with_its_own_python_names_no_interpreter_of_the_host(
    research_venv: Path, tmp_path: Path
) -> None:
    """`check --target conda` named the active venv's interpreter in its first line, which the check does not use:
    the conda target installs the locked Python (docker's image has its own too)."""
    lock = tmp_path / "envsnap.lock"
    res = _envsnap("capture", "-o", lock, cwd=tmp_path, **_activated(research_venv))
    assert res.returncode == 0, res.stderr
    res = _envsnap("check", lock, "--target", "conda", cwd=tmp_path, **_activated(research_venv))
    first = res.stdout.splitlines()[0]
    assert first == f"checking {lock} for --target conda, which brings its own Python: no interpreter here is judged"
    assert str(research_venv) not in res.stdout
    # A venv rebuild makes its venv from an interpreter of the locked release it finds (not the active venv's):
    # that one is named, as the check judges it.
    res = _envsnap("check", lock, "--target", "venv", cwd=tmp_path, **_activated(research_venv))
    first = res.stdout.splitlines()[0]
    assert first.startswith(f"checking {lock} with /"), first
    assert first.endswith("(the interpreter `rebuild --target venv` would take)"), first


@pytest.mark.parametrize("variable", ["VIRTUAL_ENV", "CONDA_PREFIX"])
def test_an_active_environment_that_is_not_one_is_a_one_line_error(tmp_path: Path, variable: str) -> None:
    (tmp_path / "bin").mkdir()
    for command in (["capture", "-o", tmp_path / "x.lock"], ["verify", tmp_path / "x.lock"]):
        res = _envsnap(*command, cwd=tmp_path, **{variable: str(tmp_path)})
        assert res.returncode == 2
        assert res.stderr.startswith(f"envsnap: error: {variable}={tmp_path}: not a ")
        assert len(res.stderr.splitlines()) == 1 and not (tmp_path / "x.lock").exists()


@pytest.mark.parametrize("variable", ["VIRTUAL_ENV", "CONDA_PREFIX"])
def test_an_active_environment_whose_interpreter_is_a_broken_link_is_a_one_line_error(
    tmp_path: Path, variable: str
) -> None:
    """An environment whose Python is gone (a venv or conda environment on a shared file system, whose base
    interpreter a node lacks): bin/python links to nothing. Under CONDA_PREFIX it was taken for a conda environment
    without Python and envsnap's own interpreter was checked in its place, ``compatible`` and exit 0; under
    VIRTUAL_ENV it read ``not a virtual environment (no pyvenv.cfg and bin/python in it)``, though both are there.
    Either names the link and what it leads to, exit 2, for check, verify and capture alike."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "conda-meta").mkdir()
    (env / "pyvenv.cfg").write_text("home = /nonexistent/bin\n")
    (env / "bin" / "python").symlink_to("/nonexistent/bin/python3.11")
    (env / "bin" / "python3").symlink_to("python")
    lock = tmp_path / "x.lock"
    lockfile.dump(sample_lock(), lock)
    for command in (["check", lock], ["verify", lock], ["capture", "-o", tmp_path / "new.lock"]):
        res = _envsnap(*command, cwd=tmp_path, **{variable: str(env)})
        assert res.returncode == 2, (command, res.stdout, res.stderr)
        assert res.stderr.startswith(
            f"envsnap: error: {variable}={env}: its interpreter bin/python links to /nonexistent/bin/python3.11, "
            "which does not exist here: the Python it was made from is missing; install it, make the environment "
            f"again, unset {variable}, or pass --python\n"
        ), res.stderr
        assert len(res.stderr.splitlines()) == 1 and not (tmp_path / "new.lock").exists()


def test_prefix_whose_interpreter_is_a_broken_link_is_a_one_line_error(tmp_path: Path) -> None:
    """``capture --prefix ENV`` of a conda environment whose bin/python links to nothing was taken for one without
    Python: "no Python in it: no Python layer", exit 0. It is judged as an active environment is: exit 2 naming
    the link, no lock written."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "conda-meta").mkdir()
    (env / "bin" / "python").symlink_to("/nonexistent")
    res = _envsnap("capture", "--prefix", env, "-o", tmp_path / "x.lock", cwd=tmp_path)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stderr == (
        f"envsnap: error: --prefix {env}: its interpreter bin/python links to /nonexistent, which does not exist "
        "here: the Python it was made from is missing; install it, make the environment again, or pass --python\n"
    ), res.stderr
    assert not (tmp_path / "x.lock").exists()


def test_capture_and_verify_use_the_active_conda_environment(conda_env: CondaEnv, tmp_path: Path) -> None:
    lock = tmp_path / "envsnap.lock"
    res = _envsnap("capture", "-o", lock, cwd=tmp_path, CONDA_PREFIX=str(conda_env.prefix))
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[0] == f"capturing {conda_env.prefix} (CONDA_PREFIX)"
    snap = lockfile.load(lock)
    assert snap.conda is not None and len(snap.conda.packages) == 4
    assert {p.name for p in snap.python.packages} == {"pipdemo", "tinyutil"}
    res = _envsnap("verify", lock, cwd=tmp_path, CONDA_PREFIX=str(conda_env.prefix))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == f"verifying {conda_env.prefix} (CONDA_PREFIX) against {lock}"


def test_python_option_env_is_the_env_folder_conda_exports_create_not_usr_bin_env(
    conda_env: CondaEnv, tmp_path: Path
) -> None:
    """The conda exports say to create the environment with ``--prefix ./env``; ``verify LOCK --python env`` then
    looked ``env`` up on PATH and ran /usr/bin/env as the interpreter (`--python /usr/bin/env: not a working Python
    interpreter`, exit 2). A bare name that is a folder here, where PATH names no Python by it, is that folder."""
    assert conda_env.prefix.name == "env" and shutil.which("env")
    lock = tmp_path / "envsnap.lock"
    res = _envsnap("capture", "--prefix", conda_env.prefix, "-o", lock, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _envsnap("verify", lock, "--python", "env", cwd=conda_env.prefix.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == f"verifying env (--python) against {lock}"
    assert res.stdout.splitlines()[-1].startswith("identical: the Python and conda layers match the lock"), res.stdout


@pytest.fixture(scope="module")
def conda_without_python(conda_env: CondaEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nopython")
    return create_env(conda_env.channel, root / "env", root / "cache", "hello-tool")


def test_prefix_of_a_conda_env_without_python_records_no_python_layer(
    conda_without_python: Path, tmp_path: Path
) -> None:
    lock = tmp_path / "envsnap.lock"
    res = _envsnap("capture", "--prefix", conda_without_python, "-o", lock, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[0] == (
        f"capturing {conda_without_python} (--prefix; no Python in it: no Python layer)"
    )
    snap = lockfile.load(lock)
    assert snap.conda is not None and sorted(p.name for p in snap.conda.packages) == ["hello-tool", "libhello"]
    assert snap.python.packages == () and snap.python.version == ""
    assert not [w for w in snap.envsnap.warnings if "interpreter's environment" in w]
    # The same through an active CONDA_PREFIX.
    res = _envsnap("capture", "-o", "-", cwd=tmp_path, CONDA_PREFIX=str(conda_without_python))
    assert res.returncode == 0, res.stderr
    assert lockfile.loads(res.stdout).python.packages == ()

    # ... and the conda rebuild of that lock works (it used to find envsnap's own packages to pip-install).
    # The lock's conda packages come from a local (file://) channel: allowed explicitly, as --allow-url does.
    request = RebuildRequest(
        lock=snap,
        lock_path=lock,
        dest=tmp_path / "rebuilt",
        target="conda",
        options={"cache_dir": str(tmp_path / "cache")},
        allow_urls=("file:///*",),
    )
    result = conda_target.REBUILDER.execute(conda_target.REBUILDER.plan(request), request)
    assert (tmp_path / "rebuilt" / "bin" / "hello").exists() or (tmp_path / "rebuilt" / "conda-meta").is_dir()
    assert result.verify is None or result.verify.identical
    res = _envsnap("verify", lock, cwd=tmp_path, CONDA_PREFIX=str(tmp_path / "rebuilt"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no Python layer" in res.stdout.splitlines()[0]


def test_python_option_naming_a_conda_env_without_python_verifies_it_with_no_python_layer(
    conda_without_python: Path, tmp_path: Path
) -> None:
    """``--python`` takes a venv or conda prefix, but one without Python was `a directory with no bin/python in
    it`, exit 2: ``verify`` has no ``--prefix``, so such an environment was verified only through CONDA_PREFIX."""
    lock = tmp_path / "envsnap.lock"
    res = _envsnap("capture", "--prefix", conda_without_python, "-o", lock, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _envsnap("verify", lock, "--python", conda_without_python, "--files", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == (
        f"verifying {conda_without_python} (--python; no Python in it: no Python layer) against {lock}"
    )
    assert res.stdout.splitlines()[-1] == "identical: the environment (no Python layer) matches the lock (0 warnings)"
    res = _envsnap("check", lock, "--python", conda_without_python, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[0] == (
        f"checking {lock} with {sys.executable} (envsnap's own interpreter: --python names a conda environment "
        "without Python)"
    )


# ------------------------------------------------------------------------------- unchanged re-capture


def test_recapturing_an_unchanged_environment_leaves_the_file_alone(research_venv: Path, tmp_path: Path) -> None:
    lock = tmp_path / "envsnap.lock"
    assert _envsnap("capture", "-o", lock, cwd=tmp_path, **_activated(research_venv)).returncode == 0
    os.utime(lock, (1_000_000, 1_000_000))
    before = lock.read_bytes()
    res = _envsnap("capture", "-o", lock, cwd=tmp_path, **_activated(research_venv))
    assert res.returncode == 0, res.stderr
    assert lock.read_bytes() == before and lock.stat().st_mtime == 1_000_000
    assert res.stderr.splitlines()[1].startswith(f"unchanged: {lock} already records this environment")
    # A change is written.
    make_wheel(tmp_path / "w", "extrapkg", "1.0", {"extrapkg.py": b""})
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(research_venv / "bin" / "python"),
            "install",
            "-q",
            "--no-index",
            str(next((tmp_path / "w").glob("*.whl"))),
        ],
        check=True,
        capture_output=True,
    )
    try:
        res = _envsnap("capture", "-o", lock, cwd=tmp_path, **_activated(research_venv))
        assert res.stderr.splitlines()[1].startswith(f"wrote {lock}")
        assert lock.stat().st_mtime != 1_000_000
    finally:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(research_venv / "bin" / "python"),
                "uninstall",
                "-q",
                "-y",
                "extrapkg",
            ],
            check=True,
            capture_output=True,
        )


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_untracked_lockfiles_do_not_make_the_project_dirty(research_venv: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print(1)\n")
    _git(project, "init", "-q")
    _git(project, "add", "train.py")
    _git(project, "commit", "-q", "-m", "init")
    # An earlier capture, never committed, plus one in a subfolder under another name.
    assert _envsnap("capture", "-o", "envsnap.lock", cwd=project, **_activated(research_venv)).returncode == 0
    (project / "runs").mkdir()
    shutil.copy(project / "envsnap.lock", project / "runs" / "gpu.lock")
    res = _envsnap("capture", "-o", "-", cwd=project, **_activated(research_venv))
    assert res.returncode == 0, res.stderr
    proj = lockfile.loads(res.stdout).project
    assert proj is not None and not proj.dirty and proj.diff_digest == ""
    # Any other untracked file still counts.
    (project / "notes.toml").write_text("[tool]\nx = 1\n")
    proj = lockfile.loads(_envsnap("capture", "-o", "-", cwd=project, **_activated(research_venv)).stdout).project
    assert proj is not None and proj.dirty


@pytest.mark.parametrize("path", ["venv", "./venv", "venv/", "//venv", "///venv", "/a/./b/", "a/../b", "", ".", "/"])
def test_an_environment_s_interpreter_is_spelled_as_pathlib_spells_it(path: str) -> None:
    """probes/target.py joins paths without pathlib (a capture answered from its memo does not load it)."""
    from pathlib import PurePosixPath

    from envsnap.probes.target import _posix_path

    assert _posix_path(os.path.join(path, "bin/python")) == str(PurePosixPath(path) / "bin/python")


def test_a_chosen_environment_is_an_immutable_value() -> None:
    from envsnap.probes.target import TargetEnvironment

    chosen = TargetEnvironment("/e/bin/python", "/e", "--python")
    assert chosen == TargetEnvironment("/e/bin/python", "/e", "--python", None, True)
    assert hash(chosen) == hash(TargetEnvironment("/e/bin/python", "/e", "--python"))
    assert chosen != TargetEnvironment("/e/bin/python", "/e", "VIRTUAL_ENV")
    assert chosen.replace(why="VIRTUAL_ENV") == TargetEnvironment("/e/bin/python", "/e", "VIRTUAL_ENV")
    assert "python_layer=True" in repr(chosen)
    with pytest.raises(AttributeError):
        chosen.why = "x"  # type: ignore[misc]


def _broken_venv(root: Path) -> Path:
    """A venv whose interpreter runs but is no Python (a shell script that fails)."""
    (root / "bin").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "bin" / "python").write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    (root / "bin" / "python").chmod(0o755)
    return root / "bin" / "python"


@pytest.mark.parametrize(
    "command",
    [("capture", "-o", "{tmp}/out.lock"), ("verify", "{lock}"), ("check", "{lock}"), ("fleet", "node", "{lock}")],
)
def test_a_probe_error_names_the_interpreter_envsnap_chose_not_an_option_never_typed(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """The target probe's errors said ``--python PATH: ...`` even where no --python was typed: ``fleet node``, which
    has no such option, and capture, verify or check of the active venv. They name the environment's interpreter;
    a typed --python is still named as the option."""
    lock = lockfile.dump(sample_lock(), tmp_path / "envsnap.lock")
    python = _broken_venv(tmp_path / "venv")
    args = [a.format(tmp=tmp_path, lock=lock) for a in command]
    res = _envsnap(*args, cwd=tmp_path, unset=("SLURMD_NODENAME",), VIRTUAL_ENV=str(tmp_path / "venv"))
    assert res.returncode == 2, res
    [line] = res.stderr.splitlines()
    assert line == f"envsnap: error: the environment's interpreter {python}: not a working Python interpreter (broken)"
    if command[0] != "fleet":
        res = _envsnap(*args, "--python", python, cwd=tmp_path)
        assert res.returncode == 2, res
        assert res.stderr.splitlines() == [
            f"envsnap: error: --python {python}: not a working Python interpreter (broken)"
        ]


def test_a_venv_rebuild_names_the_interpreter_it_found_not_an_option_never_typed(tmp_path: Path) -> None:
    """``rebuild --target venv`` without --python finds an interpreter of the locked version (on PATH here); its
    failed probe read ``--python PATH: ...``, an option nobody typed. It names the interpreter as found, and the
    one typed as --python still as the option."""
    lock = lockfile.dump(sample_lock(python=sample_python(version="3.11.2")), tmp_path / "envsnap.lock")
    folder = tmp_path / "bin"
    folder.mkdir()
    found = folder / "python3.11"  # answers the version question, then fails the probe
    found.write_text(
        '#!/bin/sh\n[ "$1" = -I ] && { echo "3.11.2 cpython"; echo "$0"; exit 0; }\necho broken >&2\nexit 1\n'
    )
    found.chmod(0o755)
    args = ("rebuild", lock, "--target", "venv", "--dest", tmp_path / "env")
    res = _envsnap(*args, cwd=tmp_path, PATH=str(folder), PYENV_ROOT=str(tmp_path / "pyenv"))
    assert res.returncode == 2, res
    assert res.stderr.splitlines() == [
        f"envsnap: error: the environment's interpreter {found}: not a working Python interpreter (broken)"
    ]
    res = _envsnap(*args, "--python", found, cwd=tmp_path, PATH=str(folder), PYENV_ROOT=str(tmp_path / "pyenv"))
    assert res.returncode == 2, res
    assert res.stderr.splitlines() == [f"envsnap: error: --python {found}: not a working Python interpreter (broken)"]
    assert not (tmp_path / "env").exists()
