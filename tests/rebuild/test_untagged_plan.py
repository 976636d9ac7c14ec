"""A lock captured in a venv made with ``--system-site-packages`` over Debian's ``/usr/bin/python3`` records the
base's egg-info installs (python-apt, numpy: no WHEEL tags). ``rebuild --target venv --dry-run`` listed them "to be
pinned and fetched", and the rebuild then stopped at pin, which refuses them; the plan now fails as the run would,
naming each as not pinnable with pin's reason, before anything is looked up."""

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
def test_dry_run_over_debians_python_names_its_egg_info_installs_as_not_pinnable(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", venv / "bin" / "python", "-o", lock).code == 0
    captured = lockfile.load(lock)
    apt = captured.package("python-apt")
    assert apt is not None and apt.base_site and not apt.wheel_tags
    untagged = [p for p in captured.pip_layer() if not p.wheel_tags]
    result = cli("rebuild", "--target", "venv", "--dry-run", "--dest", tmp_path / "new", lock)
    assert result.code == 4, result
    assert "to be pinned and fetched" not in result.out
    assert result.err.startswith(f"envsnap: error: cannot rebuild {len(untagged)} package(s), nothing was fetched: ")
    # The first with pin's reason in full; the others named a few and counted (the line was 10 KB).
    first = untagged[0]
    said = f"{first.name} {first.version}: not pinnable: {untagged_reason(first, False)}"
    assert said in result.err
    assert "the base interpreter's (venv --system-site-packages), as a system package installs it" in said
    assert f"`pip install --force-reinstall --no-deps {first.name}=={first.version}`" in said
    if len(untagged) > 4:
        assert f" and {len(untagged) - 4} more (`envsnap pin LOCK` names each with its reason)\n" in result.err
    assert result.err.count("\n") == 1 and len(result.err) < 1000, result
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
        f"{start}{first}; not pinnable as well: pkg01 1.0, pkg02 1.0, pkg03 1.0 and 26 more (`envsnap pin LOCK` "
        "names each with its reason)\n"
    )
    assert not (tmp_path / "new").exists()
