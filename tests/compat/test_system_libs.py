"""The system-libs rule: a shared library the lock's binaries loaded from the system must be found on the host
(a wheel whose library is missing installs, then fails at import), judged from where this host's loader finds each
soname by name (``find_libraries``), never from a path the lock names."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from compat_builders import snapshot

from envsnap import lockfile
from envsnap.compat import Target, find_libraries
from envsnap.compat.rules import REGISTRY
from envsnap.model import Snapshot, SystemLibrary
from envsnap.probes.capture import capture
from envsnap.probes.hostlibs import Loader

RULE = REGISTRY.find("system-libs")
GFORTRAN = SystemLibrary("libgfortran.so.5", "/usr/lib/x86_64-linux-gnu/libgfortran.so.5", "libgfortran5", ("scipy",))
OPT = SystemLibrary("libfoo.so.1", "/opt/foo/lib/libfoo.so.1", "", ("foo",))
LOCAL = SystemLibrary("libbar.so.2", "/usr/local/lib/libbar.so.2", "", ("bar",))
LIBC = SystemLibrary("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "libc6", ("numpy", "scipy"))


def lock_with(*libraries: SystemLibrary) -> Snapshot:
    lock = snapshot()
    return dataclasses.replace(lock, system=dataclasses.replace(lock.system, libraries=libraries))


def judged(lock: Snapshot, found: dict[str, str], **target: Any) -> list[tuple[str, str, str]]:
    findings = RULE.evaluate(lock, snapshot(), Target(libraries=tuple(found.items()), **target))
    return [(f.severity, f.needed, f.remedy) for f in findings]


def test_every_library_found_is_one_ok() -> None:
    found = judged(lock_with(LIBC, GFORTRAN), {"libc.so.6": "/lib/libc.so.6", "libgfortran.so.5": "/usr/lib/x.so"})
    assert found == [("ok", "2 libraries the lock's binaries load", "")]


def test_a_missing_library_a_system_package_owned_fails_naming_the_package() -> None:
    ((severity, needed, remedy),) = judged(lock_with(LIBC, GFORTRAN), {"libc.so.6": "/lib/libc.so.6"})
    assert severity == "fail"
    assert needed == "libgfortran.so.5 (loaded by scipy)"
    assert remedy == "install the system package that provides libgfortran.so.5 (libgfortran5 on debian 12)"


def test_a_missing_library_no_package_owned_in_a_default_folder_fails() -> None:
    ((severity, needed, remedy),) = judged(lock_with(LOCAL), {})
    assert severity == "fail" and needed == "libbar.so.2 (loaded by bar)"
    assert "'/usr/local/lib/libbar.so.2'" in remedy


def test_a_library_the_captured_machine_had_outside_the_default_folders_is_a_warning() -> None:
    # Reached through an RPATH or LD_LIBRARY_PATH there, which the check cannot follow here.
    ((severity, _needed, remedy),) = judged(lock_with(OPT), {})
    assert severity == "warn"
    assert "'/opt/foo/lib/libfoo.so.1'" in remedy and "LD_LIBRARY_PATH" in remedy


def test_what_other_rules_judge_or_nothing_to_judge_gives_no_finding() -> None:
    cudnn = SystemLibrary("libcudnn.so.9", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9", "libcudnn9-cuda-12", ("torch",))
    unresolved = SystemLibrary("libgone.so.1", "", "", ("gone",))  # missing on the captured machine too
    assert judged(lock_with(cudnn, unresolved), {}) == []  # cuDNN: the cuda-libs rule; the other: nothing known
    assert judged(lock_with(GFORTRAN), {}, facts=_container()) == []  # an image installs its own
    assert RULE.evaluate(lock_with(GFORTRAN), snapshot(), Target()) == []  # not looked up: another host's facts


def test_a_lock_of_another_machine_is_left_to_the_platform_rule() -> None:
    lock = lock_with(GFORTRAN)
    arm = dataclasses.replace(lock, platform=dataclasses.replace(lock.platform, machine="aarch64"))
    assert RULE.evaluate(arm, snapshot(), Target(libraries=())) == []
    assert [f.severity for f in RULE.evaluate(lock, snapshot(), Target(libraries=()))] == ["fail"]


def _container() -> Any:
    from envsnap.compat import TargetFacts

    return TargetFacts(container=True, provides_python=True, installs_packages=True)


def test_the_loader_finds_a_library_by_name_only(tmp_path: Path) -> None:
    here = Loader.for_host()
    machine = here.dynamic(sys.executable)
    assert machine is not None
    libc = here.locate("libc.so.6", machine)
    assert libc and Path(libc).is_file()
    folder = tmp_path / "lib"
    folder.mkdir()
    shutil.copy(libc, folder / "libmine.so.3")
    loader = Loader({}, ld_library_path=(str(folder),), default_dirs=())
    assert loader.locate("libmine.so.3", machine) == str(folder / "libmine.so.3")
    assert loader.locate("libother.so.1", machine) == ""
    # A name is never a path: nothing outside the searched folders is looked at.
    for name in ("../lib/libmine.so.3", str(folder / "libmine.so.3"), "..", "."):
        assert loader.locate(name, machine) == ""


def test_find_libraries_looks_up_only_what_the_captured_machine_had() -> None:
    missing = SystemLibrary("libenvsnapmissing.so.7", "/usr/lib/libenvsnapmissing.so.7", "", ("x",))
    lock = lock_with(LIBC, missing, SystemLibrary("libgone.so.1", "", "", ("gone",)))
    found = dict(find_libraries(lock))
    assert set(found) == {"libc.so.6", "libenvsnapmissing.so.7"}  # not the one the captured machine lacked too
    assert Path(found["libc.so.6"]).is_file() and found["libenvsnapmissing.so.7"] == ""
    assert find_libraries(lock_with()) == ()


@pytest.fixture(scope="module")
def here() -> Snapshot:
    return capture()


def _with_libraries(here: Snapshot, *extra: SystemLibrary) -> Snapshot:
    libraries = {lib.soname: lib for lib in (*here.system.libraries, *extra)}
    system = dataclasses.replace(here.system, libraries=tuple(libraries[name] for name in sorted(libraries)))
    return dataclasses.replace(here, system=system)


def test_check_fails_a_lock_whose_system_library_this_host_lacks(cli: Any, tmp_path: Path, here: Snapshot) -> None:
    missing = SystemLibrary(
        "libenvsnapmissing.so.7", "/usr/lib/x86_64-linux-gnu/libenvsnapmissing.so.7", "libmiss7", ("scipy",)
    )
    path = lockfile.dump(_with_libraries(here, LIBC, missing), tmp_path / "envsnap.lock")
    result = cli("check", path, "--json")
    assert result.code == 3, result
    findings = [f for f in json.loads(result.out)["findings"] if f["rule"] == "system-libs"]
    assert [(f["severity"], f["needed"]) for f in findings] == [("fail", "libenvsnapmissing.so.7 (loaded by scipy)")]
    assert "libmiss7" in findings[0]["remedy"]
    # The same lock with the library this host has: its ok counts every library.
    path = lockfile.dump(_with_libraries(here, LIBC), tmp_path / "ok.lock")
    result = cli("check", path, "--json")
    assert result.code == 0, result
    (ok,) = [f for f in json.loads(result.out)["findings"] if f["rule"] == "system-libs"]
    assert ok["severity"] == "ok" and ok["found"] == "all found"


def test_the_rebuild_check_stops_before_installing_what_cannot_load(cli: Any, tmp_path: Path, here: Snapshot) -> None:
    missing = SystemLibrary(
        "libenvsnapmissing.so.7", "/lib/x86_64-linux-gnu/libenvsnapmissing.so.7", "libmiss7", ("numpy",)
    )
    path = lockfile.dump(_with_libraries(here, missing), tmp_path / "envsnap.lock")
    dest = tmp_path / "venv"
    result = cli("rebuild", path, "--target", "venv", "--dest", dest)
    assert result.code == 3, result
    assert "compatibility check failed" in result.err and "libenvsnapmissing.so.7" in result.err
    assert not dest.exists()
