"""Which interpreter a venv rebuild uses for the locked Python version."""

from __future__ import annotations

import dataclasses
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import counting_runs, uv_bin

from envsnap.model import PythonEnv, Snapshot
from envsnap.rebuild import venv


def _lock(version: str) -> Snapshot:
    return dataclasses.replace(Snapshot(), python=PythonEnv(implementation="cpython", version=version))


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    return tmp_path


def test_the_interpreter_running_envsnap_serves_its_own_version(empty_path: Path) -> None:
    found, notes = venv.find_interpreter(_lock(platform.python_version()), None, offline=True)
    assert (found.path, found.how, notes) == (sys.executable, "the interpreter running envsnap", [])


def test_a_pyenv_version_is_found(empty_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = platform.python_version()
    exe = empty_path / "pyenv" / "versions" / version / "bin" / "python"
    exe.parent.mkdir(parents=True)
    exe.symlink_to(sys.executable)
    monkeypatch.setattr(sys, "executable", str(empty_path / "gone" / "python"))
    found, _ = venv.find_interpreter(_lock(version), None, offline=True)
    assert (found.path, found.how) == (str(exe), "pyenv")


def test_a_pyenv_root_that_may_not_be_read_is_passed_over(empty_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``PYENV_ROOT`` kept from another user (``su``, ``sudo -E``: ``/root/.pyenv``, which the reviewer may not
    read): ``rebuild`` ended in a PermissionError traceback while it looked for the locked Python there."""
    pyenv = empty_path / "pyenv" / "versions"
    pyenv.mkdir(parents=True)
    real_stat = Path.stat

    def denied(self: Path, *args: object, **kwargs: object) -> object:
        if self == pyenv or pyenv in self.parents:  # as for a folder of another user's home, mode 0700
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "stat", denied)
    found, notes = venv.find_interpreter(_lock(platform.python_version()), None, offline=True)
    assert (found.path, found.how, notes) == (sys.executable, "the interpreter running envsnap", [])


def _shim(folder: Path, name: str, real: str) -> Path:
    """A wrapper script on PATH that runs ``real``, as a pyenv shim runs the selected version."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / name
    shim.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    return shim


def test_the_running_interpreter_of_the_locked_version_comes_before_a_shim_on_path(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It answers in-process: the shim on PATH (a pyenv shim costs 0.1-0.5 s a run) is not started at all."""
    version = platform.python_version()
    _shim(empty_path / "empty", f"python{venv.major_minor(version)}", sys.executable)
    runs = counting_runs(monkeypatch)
    found, notes = venv.find_interpreter(_lock(version), None, offline=True)
    assert (found.path, found.how, notes, runs) == (sys.executable, "the interpreter running envsnap", [], [])


def test_a_wrapper_on_path_is_used_as_the_binary_it_runs(empty_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's probe and uv's venv creation get the interpreter the shim started, not the shim (each would
    start bash and pyenv again); the wrapper is run once, to ask it."""
    real = sys.executable
    shim = _shim(empty_path / "empty", f"python{venv.major_minor(platform.python_version())}", real)
    monkeypatch.setattr(sys, "executable", str(empty_path / "gone" / "python"))
    runs = counting_runs(monkeypatch)
    found, _ = venv.find_interpreter(_lock(platform.python_version()), None, offline=True)
    assert found.how == "PATH" and found.path != str(shim) and Path(found.path).samefile(real)
    assert len(runs) == 1


def test_a_wrapper_that_reports_no_binary_is_used_as_itself(empty_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrapper whose interpreter reports a script (or nothing usable) as its executable is kept as named."""
    shim = _shim(empty_path / "empty", f"python{venv.major_minor(platform.python_version())}", sys.executable)
    assert venv._wrapped(str(shim), str(shim)) == str(shim)
    assert venv._wrapped(str(shim), "") == str(shim)
    assert venv._wrapped(str(shim), "relative/python") == str(shim)
    assert venv._wrapped(sys.executable, str(shim)) == sys.executable  # a binary is never replaced


def test_nothing_of_that_version_is_a_clear_error(empty_path: Path) -> None:
    with pytest.raises(venv.RebuildError, match=r"no Python 3\.4\.1 interpreter found"):
        venv.find_interpreter(_lock("3.4.1"), None, offline=True)


def test_the_progress_of_an_imported_lock_names_the_python_it_builds_with(tmp_path: Path) -> None:
    """A lock imported from requirements records no Python version: the progress read "creating a venv with
    Python " (blank) although the plan had found one."""
    from envsnap import lockfile
    from envsnap.model import Meta
    from envsnap.rebuild import rebuild

    imported = Snapshot(
        envsnap=Meta(
            generator="envsnap import from requirements.txt", origin="requirements", unknown=("python.version",)
        ),
        python=PythonEnv(kind="venv"),
    )
    lock = lockfile.dump(imported, tmp_path / "envsnap.lock")
    lines: list[str] = []
    rebuild(lock, target="venv", dest=tmp_path / "env", python=sys.executable, progress=lines.append)
    made = [line for line in lines if line.startswith("creating a venv")]
    version = ".".join(map(str, sys.version_info[:3]))
    assert made == [f"creating a venv with Python {version}"], lines


def test_a_failed_uv_download_falls_back_to_the_same_minor_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., object]
) -> None:
    """A reviewer's machine without the locked patch release and without a way to download it (no network to
    uv's Python downloads): the real run's preflight tried `uv python install`, failed and had the check judge the
    same minor release found here, but the plan still said uv downloads it, so the rebuild made the whole bundle
    and ended 'uv could not install Python 3.11.99', exit 4. The docs promise the same minor release then."""
    from envsnap import lockfile
    from envsnap.model import Meta

    real_uv = uv_bin()
    if real_uv is None:
        pytest.skip("uv is not installed")
    log = tmp_path / "uv.log"
    fake = tmp_path / "fakebin" / "uv"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = python ] || exec "{real_uv}" "$@"\n'
        f'echo "$*" >> {log}\n'
        'case "$2" in\n'
        "  find) exit 2 ;;\n"
        '  list) echo "cpython-3.99.0-linux-x86_64-gnu    <download available>" ;;\n'
        '  install) echo "error: Failed to download: dns error" >&2; exit 2 ;;\n'
        "esac\n"
        "exit 0\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("ENVSNAP_UV", str(fake))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    for cached in ("_uv_downloadable", "_uv_install"):
        getattr(venv, cached).cache_clear()
    monkeypatch.chdir(tmp_path)
    wanted = f"{venv.major_minor(platform.python_version())}.99"
    lock = Snapshot(envsnap=Meta(generator="envsnap 0.1.0"), python=PythonEnv(implementation="cpython", version=wanted))
    lockfile.dump(lock, tmp_path / "envsnap.lock")
    result = cli("rebuild", "envsnap.lock", "--dest", "env")
    said = result.out + result.err  # type: ignore[attr-defined]
    assert result.code != 4 and (tmp_path / "env" / "pyvenv.cfg").is_file(), result
    assert f"python install -- {wanted}" in log.read_text()
    assert f"uv could not install Python {wanted} (uv: error: Failed to download: dns error)\n" in said
    assert f"no Python {wanted} found; using {platform.python_version()} from " in said
    assert f"creating a venv with Python {platform.python_version()}\n" in said


def test_a_failed_uv_download_with_no_interpreter_of_that_minor_says_how_to_get_one(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = empty_path / "uv"
    fake.write_text('#!/bin/sh\n[ "$2" = install ] && echo "error: Failed to download: dns error" >&2\nexit 2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("ENVSNAP_UV", str(fake))
    venv._uv_install.cache_clear()
    with pytest.raises(venv.RebuildError) as error:
        venv.ensure(venv.Interpreter("", "3.4.1", venv.UV_INSTALL), _lock("3.4.1"))
    assert str(error.value) == (
        "uv could not install Python 3.4.1 (uv: error: Failed to download: dns error); install it "
        # The uv envsnap ran, off PATH here: by its path, so the command runs as printed.
        f"(`{fake} python install 3.4.1` where uv's downloads are reachable, or `pyenv install 3.4.1`) and name it "
        "with --python, or use --target docker"
    )


def _uv_that_finds(folder: Path, found: Path, managed: Path) -> Path:
    """A uv whose `uv python find` answers ``found`` and whose managed interpreters are in ``managed``."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "uv"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f'  "python find") echo "{found}" ;;\n'
        f'  "python dir") echo "{managed}" ;;\n'
        "  *) exit 2 ;;\n"
        "esac\n"
    )
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("managed", [False, True])
def test_an_interpreter_uv_finds_is_called_uv_managed_only_when_uv_installed_it(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., object], managed: bool
) -> None:
    """`uv python find` also finds the system's interpreters (/usr/bin/python3.11, a conda one): the plan called
    each "(uv-managed)", so a reviewer looked for it among uv's downloads. Only one in uv's own folder (`uv python
    dir`) is uv-managed now; any other is "found by `uv python find`", its path saying where it is."""
    from envsnap import lockfile
    from envsnap.model import Meta

    version = platform.python_version()
    uv_folder = empty_path / "uv-python"
    home = uv_folder / f"cpython-{version}-linux-x86_64-gnu" if managed else empty_path / "usr"
    exe = _shim(home / "bin", f"python{venv.major_minor(version)}", sys.executable)
    monkeypatch.setenv("ENVSNAP_UV", str(_uv_that_finds(empty_path / "fakebin", exe, uv_folder)))
    monkeypatch.setattr(sys, "executable", str(empty_path / "gone" / "python"))  # not the running one either
    found, notes = venv.find_interpreter(_lock(version), None, offline=True)
    how = "uv-managed" if managed else "found by `uv python find`"
    assert (found.path, found.version, found.how, notes) == (str(exe), version, how, [])
    monkeypatch.chdir(empty_path)
    lock = Snapshot(
        envsnap=Meta(generator="envsnap 0.1.0"), python=PythonEnv(implementation="cpython", version=version)
    )
    lockfile.dump(lock, empty_path / "envsnap.lock")
    result = cli("rebuild", "envsnap.lock", "--dest", "env", "--dry-run")
    assert result.code == 0, result  # type: ignore[attr-defined]
    lines = result.out.splitlines()  # type: ignore[attr-defined]
    assert f"    interpreter: cpython {version} <- {exe} ({how})" in lines, lines


def test_an_offline_rebuild_of_a_python_none_here_has_says_where_it_looked_and_how_to_get_it(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., object]
) -> None:
    """A reviewer without the locked Python, rebuilding the authors' bundle offline: `--dry-run` (a CI gate)
    exited 4 with no plan, `no Python 3.4.1 interpreter found on PATH; name one with --python`, though the check
    had failed (exit 3 is what `check`, the rebuild and the docs say) and pyenv, the interpreter running envsnap and
    uv had been searched too; `--force` said the same, with no way to get one. The dry run now exits 3 naming the
    check and why no plan could be made; the forced rebuild names where it looked and how to get the version."""
    from envsnap import lockfile
    from envsnap.model import Meta

    monkeypatch.setenv("ENVSNAP_UV", str(empty_path / "no-uv"))  # an ENVSNAP_UV that is no file: uv is absent
    monkeypatch.chdir(empty_path)
    (empty_path / "bundle").mkdir()
    (empty_path / "bundle" / "SHA256SUMS").write_text("")
    lock = Snapshot(
        envsnap=Meta(generator="envsnap 0.1.0"), python=PythonEnv(implementation="cpython", version="3.4.1")
    )
    lockfile.dump(lock, empty_path / "envsnap.lock")
    (empty_path / "bundle" / "envsnap.lock").write_bytes((empty_path / "envsnap.lock").read_bytes())
    import hashlib

    digest = hashlib.sha256((empty_path / "envsnap.lock").read_bytes()).hexdigest()
    (empty_path / "bundle" / "SHA256SUMS").write_text(f"{digest}  envsnap.lock\n")
    looked = (
        "no Python 3.4.1 interpreter found here (looked on PATH, at the interpreter running envsnap and in pyenv's "
        "versions; no uv); install it (`uv python install 3.4.1` where uv's downloads are reachable, or "
        "`pyenv install 3.4.1`) and name it with --python, or use --target docker"
    )
    args = ("rebuild", "envsnap.lock", "--bundle", "bundle", "--offline", "--dest", "env")
    result = cli(*args, "--dry-run")
    assert result.code == 3, result  # type: ignore[attr-defined]
    assert result.err.startswith("envsnap: error: compatibility check failed: Python: ")  # type: ignore[attr-defined]
    assert result.err.endswith(  # type: ignore[attr-defined]
        f"(no plan: {looked}; run `envsnap check envsnap.lock --target venv` for details)\n"
    )
    result = cli(*args, "--force")
    assert (result.code, result.err.splitlines()[-1]) == (4, f"envsnap: error: {looked}")  # type: ignore[attr-defined]
    assert not (empty_path / "env").exists()


@pytest.mark.parametrize("count", [1, 2])
def test_the_venv_plan_counts_its_wheels_in_their_number(
    count: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """The plan read "install 1 wheels with uv" (the conda plan "install 1 pip packages"): the count takes its noun
    in the number it takes."""
    from testutil import sample_lock

    from envsnap import lockfile
    from envsnap.model import Artifact, PythonPackage

    names = ["six", "idna"][:count]
    packages = [
        PythonPackage(
            name=n,
            version="1.0",
            artifact=Artifact(
                f"{n}-1.0-py3-none-any.whl", f"https://example.invalid/{n}-1.0-py3-none-any.whl", "a" * 64
            ),
        )
        for n in names
    ]
    lock = sample_lock(*packages)
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, version=platform.python_version()))
    monkeypatch.chdir(tmp_path)
    lockfile.dump(lock, tmp_path / "envsnap.lock")
    result = cli("rebuild", "envsnap.lock", "--dest", "env", "--dry-run")
    assert result.code == 0, result
    steps = [line.strip() for line in result.out.splitlines() if "--require-hashes" in line]
    wheels = "1 wheel" if count == 1 else "2 wheels"
    assert len(steps) == 1 and steps[0].startswith(f"3. install {wheels} with "), steps


def test_a_lock_naming_the_minor_release_alone_takes_an_interpreter_of_it_found_here(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pylock uv exports for ``requires-python = ">=3.11,<3.12"`` says ``requires-python = "==3.11.*"``, which the
    import records as ``3.11``: any 3.11 release is the locked one. The plan said uv downloads Python 3.11, though the
    interpreter running envsnap (and pyenv's) was a 3.11; ``--python`` of one said it differs in the patch release."""
    minor = ".".join(platform.python_version().split(".")[:2])
    monkeypatch.setattr(venv, "_uv_downloadable", lambda version: True)  # uv could download it: not needed
    found, notes = venv.find_interpreter(_lock(minor), None, offline=False)
    assert (found.path, found.version, found.how, notes) == (
        sys.executable,
        platform.python_version(),
        "the interpreter running envsnap",
        [],
    )
    found, notes = venv.find_interpreter(_lock(minor), sys.executable, offline=False)
    assert (found.version, found.how, notes) == (platform.python_version(), "--python", [])
