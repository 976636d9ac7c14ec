"""An interpreter of its own of the same CPython release as Debian's (a pyenv or uv build of 3.11.2 beside Debian's
python3.11 3.11.2) is not Debian's: a Debian update of python3.11 on the verifying host is no patch of it. verify
warned "the environment's interpreter, Debian's CPython 3.11.2, patched otherwise" for it, deciding by the version
alone; it asks which package's file list holds the interpreter's executable (``python.system_package``).

The interpreter of its own is made here as one is installed: Debian's binary and standard library copied to a
prefix of their own (no package lists them), the venv made from it. The other host's lock is the capture with its
python3.11 packages one Debian revision older, written through ``lockfile`` (a fresh content digest)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envsnap import lockfile

DEBIAN_PYTHON = Path("/usr/bin/python3.11")
LIST = Path("/var/lib/dpkg/info/python3.11-minimal.list")


def _envsnap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envsnap", *args], capture_output=True, text=True, timeout=300)


def _venv(python: Path, where: Path) -> Path:
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    return where / "bin" / "python"


def _other_host(lock: Path, out: Path) -> Path:
    """``lock`` as captured where Debian's python3.11 packages were one stable update older."""
    snapshot = lockfile.load(lock)
    older = []
    for p in snapshot.system.packages:
        name, version = p.name, p.version
        if name.startswith(("python3.11", "libpython3.11")) and "+deb" in version:
            stem, _, update = version.rpartition("u")
            version = f"{stem}u{int(update) - 1}" if update.isdigit() and int(update) > 0 else f"{version}~older"
        older.append(dataclasses.replace(p, version=version))
    system = dataclasses.replace(snapshot.system, packages=tuple(older))
    return lockfile.dump(dataclasses.replace(snapshot, system=system), out)


@pytest.fixture
def own_python(tmp_path: Path) -> Path:
    if not DEBIAN_PYTHON.exists() or not LIST.exists() or not Path("/usr/lib/python3.11/os.py").exists():
        pytest.skip("Debian's python3.11 (dpkg-installed) is not on this host")
    prefix = tmp_path / "own"
    (prefix / "bin").mkdir(parents=True)
    shutil.copy2(DEBIAN_PYTHON, prefix / "bin" / "python3.11")
    shutil.copytree("/usr/lib/python3.11", prefix / "lib" / "python3.11", symlinks=True, ignore=_no_site)
    python = prefix / "bin" / "python3.11"
    found = subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    assert found.stdout.strip() == str(prefix), found  # its own prefix, as a pyenv build has
    return python


def _no_site(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("site-packages", "dist-packages", "__pycache__")]


def test_an_interpreter_of_its_own_of_debians_version_is_not_called_debians(own_python: Path, tmp_path: Path) -> None:
    venv = _venv(own_python, tmp_path / "venv")
    lock = tmp_path / "own.lock"
    done = _envsnap("capture", "--python", str(venv), "-o", str(lock))
    assert done.returncode == 0, done.stderr
    captured = lockfile.load(lock)
    debians = subprocess.check_output([str(DEBIAN_PYTHON), "-c", "import platform; print(platform.python_version())"])
    assert captured.python.version == debians.decode().strip()  # the very same release
    assert captured.python.system_package == ""  # no package lists its executable
    other = _other_host(lock, tmp_path / "other.lock")
    verified = _envsnap("verify", str(other), "--python", str(venv))
    assert verified.returncode == 0, verified.stderr
    assert "Debian's CPython" not in verified.stdout, verified.stdout
    assert "system packages that no Python package loads differ" in verified.stdout, verified.stdout


def test_debians_own_interpreter_patched_otherwise_is_still_said(own_python: Path, tmp_path: Path) -> None:
    venv = _venv(DEBIAN_PYTHON, tmp_path / "venv")
    lock = tmp_path / "debian.lock"
    done = _envsnap("capture", "--python", str(venv), "-o", str(lock))
    assert done.returncode == 0, done.stderr
    assert lockfile.load(lock).python.system_package == "python3.11-minimal"
    other = _other_host(lock, tmp_path / "other.lock")
    verified = _envsnap("verify", str(other), "--python", str(venv))
    assert verified.returncode == 0, verified.stderr
    assert "the environment's interpreter, Debian's CPython" in verified.stdout, verified.stdout
