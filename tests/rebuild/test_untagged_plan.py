"""A lock captured in a venv made with ``--system-site-packages`` over Debian's ``/usr/bin/python3`` records the
base's egg-info installs (python-apt, numpy: no WHEEL tags). ``rebuild --target venv --dry-run`` listed them "to be
pinned and fetched", and the rebuild then stopped at pin, which refuses them; the plan now fails as the run would,
naming each as not pinnable with pin's reason, before anything is looked up. Those a dpkg package installed
(``system_package``) are not refused: the index's file of each release stands in for them, said in one line."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile
from envsnap.artifacts.bundle import BundleOptions, precheck
from envsnap.artifacts.pin import untagged_reason
from envsnap.model import PythonPackage
from tests.testutil import sample_lock

DEBIAN_PYTHON = "/usr/bin/python3"


def _has_python_apt() -> bool:
    if not os.path.exists(DEBIAN_PYTHON):
        return False
    return subprocess.run([DEBIAN_PYTHON, "-c", "import apt_pkg"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_python_apt(), reason="needs Debian's python3 with python3-apt (.ci/services.sh)")
def test_dry_run_over_debians_python_says_the_index_files_stand_in_for_its_packages(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The base's egg-info installs are Debian's packages' (python3-apt's python-apt): the plan failed, each not
    pinnable, so a lock of a system Python never rebuilt. It takes the index's file of each release, saying so."""
    venv = tmp_path / "venv"
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", venv / "bin" / "python", "-o", lock).code == 0
    captured = lockfile.load(lock)
    apt = captured.package("python-apt")
    assert apt is not None and apt.base_site and not apt.wheel_tags and apt.system_package == "python3-apt"
    result = cli("rebuild", "--target", "venv", "--dry-run", "--dest", tmp_path / "new", lock)
    assert result.code == 0, result
    (line,) = [line for line in result.out.splitlines() if "installed by a Debian package: " in line]
    assert " (python3-" in line and line.endswith("another build of the same release"), line
    assert not (tmp_path / "new").exists()


def test_precheck_names_each_untagged_package_with_pins_reason_and_passes_the_others() -> None:
    legacy = PythonPackage("blinker", "1.5", base_site=True)
    tagged = PythonPackage("six", "1.16.0", wheel_tags=("py2.py3-none-any",))
    problems = precheck(sample_lock(legacy, tagged), BundleOptions())
    assert problems == [
        "blinker 1.5: not pinnable: no WHEEL tags recorded (an egg-info or legacy install): the installed file cannot "
        "be identified; the base interpreter's (venv --system-site-packages), as a system package installs it; "
        "install it from a wheel into the environment (`pip install --force-reinstall --no-deps blinker==1.5`, where "
        "an index has it) and capture again"
    ]
    # Imported by name and version (no installed file recorded): pin finds the file for the target; not refused.
    from envsnap.model import Meta

    imported = sample_lock(PythonPackage("blinker", "1.5"), envsnap=Meta(origin="requirements"))
    assert precheck(imported, BundleOptions()) == []


@pytest.mark.parametrize("command", ["rebuild", "bundle"])
def test_many_packages_not_pinnable_are_one_readable_line(
    tmp_path: Path, cli: Callable[..., Any], command: str
) -> None:
    """Debian's python3 under a --system-site-packages venv records some twenty egg-info installs: the refusal
    gave each its whole reason on one line (10 KB for 30). It gives the first one's, names the next few, counts the
    rest, and says which command lists every one with its reason."""
    packages = [PythonPackage(f"pkg{i:02d}", "1.0", base_site=True) for i in range(30)]
    lock = lockfile.dump(lockfile.seal(sample_lock(*packages)), tmp_path / "envsnap.lock")
    if command == "rebuild":
        result = cli("rebuild", "--target", "venv", "--dry-run", "--dest", tmp_path / "new", lock)
        start = "envsnap: error: cannot rebuild 30 package(s), nothing was fetched: "
    else:
        result = cli("bundle", lock, "-o", tmp_path / "new")
        start = "envsnap: error: nothing was fetched: 30 problems: "
    assert result.code == 4, result
    first = f"pkg00 1.0: not pinnable: {untagged_reason(packages[0], False)}"
    assert result.err == (
        f"{start}{first}; not pinnable as well: pkg01 1.0, pkg02 1.0, pkg03 1.0 and 26 more (`envsnap pin {lock}` "
        "names each with its reason)\n"
    )
    assert not (tmp_path / "new").exists()


def test_a_venv_plan_of_packages_debian_installed_says_the_index_file_stands_in(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A lock of Debian's system Python: python3-six's egg-info (no WHEEL tags) was refused as not pinnable, and a
    tagged Debian build refused too: the lock could not be rebuilt at all. The plan takes the index's file of each
    release and says so in one line, naming the packages that installed them."""
    six = PythonPackage("six", "1.16.0", system_package="python3-six")
    yaml = PythonPackage("pyyaml", "6.0", wheel_tags=("cp311-cp311-linux_x86_64",), system_package="python3-yaml")
    assert precheck(sample_lock(six, yaml), BundleOptions()) == []
    lock = lockfile.dump(lockfile.seal(sample_lock(six, yaml)), tmp_path / "envsnap.lock")
    result = cli("rebuild", "--target", "venv", "--dry-run", "--dest", tmp_path / "new", lock)
    line = (
        "installed by a Debian package: six 1.16.0 (python3-six), pyyaml 6.0 (python3-yaml); the rebuilt venv has the "
        "index's file of that version instead, another build of the same release"
    )
    assert result.code == 0 and line in result.out + result.err, result
    assert not (tmp_path / "new").exists()
