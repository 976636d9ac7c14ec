"""Requires-Python against the interpreter the target will actually run (issue 20): the check names every locked
distribution whose Requires-Python excludes it, and the docker target's base choice never plans an interpreter
the lock's own packages refuse (Debian's 3.11.2 for a 3.11.7 lock whose package needs >= 3.11.5 built for half a
minute and then failed, while check said compatible)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from docker_locks import cpu_lock, gpu_lock
from testutil import sample_python

from envsnap import lockfile
from envsnap.compat import Target, evaluate
from envsnap.dockerfile import baseimage
from envsnap.errors import RequiresPythonError
from envsnap.model import Conda, CondaPackage, PythonPackage, Snapshot
from envsnap.rebuild import get
from envsnap.requires_python import excluding


def requiring(lock: Snapshot, version: str, **needs: str) -> Snapshot:
    """``lock`` run by Python ``version``, with a package per ``needs`` entry requiring that specifier."""
    extra = tuple(PythonPackage(name=n.replace("_", "-"), version="1.0", requires_python=s) for n, s in needs.items())
    python = dataclasses.replace(lock.python, version=version, packages=lock.python.packages + extra)
    return lockfile.seal(dataclasses.replace(lock, python=python))


def python_findings(lock: Snapshot, host: Snapshot, kind: str) -> list[tuple[str, str, str]]:
    target = Target(kind=kind, facts=get(kind).target_facts) if kind != "host" else Target()
    report = evaluate(lock, host, target)
    return [(f.severity, f.needed, f.found) for f in report.findings if f.component == "Python (Requires-Python)"]


def test_excluding_names_what_refuses_a_version_and_what_cannot_be_read() -> None:
    packages = [
        PythonPackage(name="a", version="1", requires_python=">=3.11.5"),
        PythonPackage(name="b", version="1", requires_python=">=3.8"),
        PythonPackage(name="c", version="1", requires_python="not a specifier !!"),
        PythonPackage(name="d", version="1"),
    ]
    excluded, unreadable = excluding(packages, "3.11.2")
    assert [(e.name, e.requires) for e in excluded] == [("a", ">=3.11.5")]
    assert [e.name for e in unreadable] == ["c"]
    assert excluding(packages, "3.11.7")[0] == []


def test_the_host_interpreter_is_judged_against_every_locked_requires_python() -> None:
    lock = requiring(cpu_lock(), "3.11.7", numpy=">=3.11.5")
    host = dataclasses.replace(lock, python=sample_python(version="3.11.2"))
    found = python_findings(lock, host, "host")
    assert found == [("fail", "numpy (Requires-Python >=3.11.5)", "Python 3.11.2 (this interpreter)")]
    report = evaluate(lock, host, Target())
    assert report.verdict == "incompatible"
    # The same interpreter with the package's floor met: nothing to say.
    assert python_findings(requiring(cpu_lock(), "3.11.7", numpy=">=3.11.1"), host, "host") == []


def test_check_docker_fails_naming_the_package_when_no_base_runs_an_admitted_python() -> None:
    # A CUDA lock: nvidia/cuda's Ubuntu 22.04 images ship Python 3.10.12, and the lock's scipy needs >= 3.10.13.
    lock = requiring(gpu_lock(python="3.10.14"), "3.10.14", scipy=">=3.10.13")
    found = python_findings(lock, lock, "docker")
    assert len(found) == 1 and found[0][0] == "fail"
    assert "scipy (Requires-Python >=3.10.13)" in found[0][2] and "Python 3.10.12" in found[0][2]
    with pytest.raises(RequiresPythonError, match=r"runs Python 3\.10\.12, which scipy \(Requires-Python >=3\.10"):
        baseimage.choose(lock)


def test_the_docker_plan_picks_an_official_python_image_that_satisfies_the_lock() -> None:
    # Captured on Ubuntu 24.04 (python3 3.12.3) with a pyenv 3.12.7; a package needs >= 3.12.5.
    lock = requiring(cpu_lock(os_id="ubuntu", os_version="24.04", libc_version="2.39"), "3.12.7", rich=">=3.12.5")
    plain = requiring(cpu_lock(os_id="ubuntu", os_version="24.04", libc_version="2.39"), "3.12.7")
    assert baseimage.choose(plain).reference == "ubuntu:24.04"  # nothing refuses the apt interpreter
    base = baseimage.choose(lock)
    # The oldest Debian whose glibc is no older than the lock's (2.39): trixie.
    assert (base.reference, base.interpreter.source, base.interpreter.version) == (
        "python:3.12.7-slim-trixie",
        "image",
        "3.12.7",
    )
    assert any("rich (Requires-Python >=3.12.5)" in note and "python:3.12.7-slim-trixie" in note for note in base.notes)
    assert python_findings(lock, lock, "docker") == []


def test_a_named_base_image_whose_python_is_refused_is_refused_naming_the_package() -> None:
    lock = requiring(cpu_lock(), "3.11.7", numpy=">=3.11.5")
    with pytest.raises(RequiresPythonError, match=r"envsnap-base:bookworm runs Python 3\.11\.2, which numpy"):
        baseimage.choose(lock, base_image="envsnap-base:bookworm", inspect=lambda ref: None)


def test_conda_is_judged_by_the_locked_python_itself() -> None:
    # A conda environment's lock (the conda target refuses a pip environment's: nothing of it is judged).
    conda = Conda(subdir="linux-64", packages=(CondaPackage("python", "3.11.7", subdir="linux-64"),))
    lock = requiring(dataclasses.replace(cpu_lock(), conda=conda), "3.11.7", future_only=">=3.12")
    found = python_findings(lock, lock, "conda")
    assert found == [("fail", "future-only (Requires-Python >=3.12)", "Python 3.11.7 (the conda rebuild)")]


def test_an_unreadable_requires_python_is_a_warning_not_a_guess() -> None:
    lock = requiring(cpu_lock(), "3.11.7", odd="3.11 or later")
    [(severity, needed, found)] = python_findings(lock, lock, "host")
    assert severity == "warn" and "odd" in needed and "not checked" in found


def test_check_cli_names_the_package_for_the_docker_target(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lock = requiring(gpu_lock(python="3.10.14"), "3.10.14", scipy=">=3.10.13")
    path = lockfile.dump(lock, tmp_path / "envsnap.lock")
    result = cli("check", path, "--target", "docker", "--cpu-only", "--json")
    assert result.code == 3, result
    [finding] = [f for f in json.loads(result.out)["findings"] if f["component"] == "Python (Requires-Python)"]
    assert finding["severity"] == "fail" and "scipy (Requires-Python >=3.10.13)" in finding["found"]


def test_a_prerelease_interpreter_is_judged_by_its_release_number_as_pip_judges_it() -> None:
    # pip checks Requires-Python against sys.version_info[:3]: 3.13.0rc1 is 3.13.0 to it, and >=3.13 installs there.
    # Judged as the pre-release it is, the check failed an environment pip had just installed.
    packages = [
        PythonPackage(name="a", version="1", requires_python=">=3.13"),
        PythonPackage(name="b", version="1", requires_python=">=3.13.1"),
    ]
    excluded, _ = excluding(packages, "3.13.0rc1")
    assert [e.name for e in excluded] == ["b"]
    assert [e.name for e in excluding(packages, "3.12.9")[0]] == ["a", "b"]


def test_the_check_judges_the_base_image_the_rebuild_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # The failure told the user to pass --base-image, and the rebuild's own check ignored it: judged the image the
    # lock would choose and stopped the rebuild that had been given one that runs the locked Python.
    from envsnap.probes.capture import Captured
    from envsnap.probes.interface import RawPython
    from envsnap.rebuild import _preflight

    lock = requiring(gpu_lock(python="3.10.14"), "3.10.14", scipy=">=3.10.13")
    docker = Target(kind="docker", facts=get("docker").target_facts)
    chosen = dataclasses.replace(docker, base_image="python:3.10.14-slim-bookworm")
    assert python_findings(lock, lock, "docker")[0][0] == "fail"
    assert [f for f in evaluate(lock, lock, chosen).findings if f.component == "Python (Requires-Python)"] == []
    wrong = dataclasses.replace(docker, base_image="envsnap-base:bookworm")
    [finding] = [f for f in evaluate(lock, lock, wrong).findings if f.component == "Python (Requires-Python)"]
    assert finding.severity == "fail" and "envsnap-base:bookworm" in finding.found

    seen: list[Target] = []
    monkeypatch.setattr(
        _preflight,
        "evaluate",
        lambda lock, host, target: (
            seen.append(target) or evaluate(lock, host, dataclasses.replace(target, docker=None))
        ),
    )
    from envsnap.probes import capture  # where check_host takes it from when it runs

    monkeypatch.setattr(capture, "run_capture", lambda options, **_: Captured(lock, {}, RawPython.empty("")))
    _preflight.preflight(
        lock,
        target="docker",
        python=None,
        force=False,
        dry_run=True,
        cpu_only=True,
        base_image="python:3.10.14-slim-bookworm",
    )
    assert seen[0].base_image == "python:3.10.14-slim-bookworm"


def test_rebuild_forced_past_the_check_with_no_base_image_to_choose_is_bad_input_exit_2(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """`rebuild --target docker --force` of a lock no base image envsnap knows runs an admitted Python for
    ("... pass --base-image"), past the check's failure (3), exited 4, the code of work that failed, though nothing
    was done and the remedy is an option: exit 2, as the docker target's other base-image choices the lock cannot
    make (UnbuildableLockError), one line, nothing made."""
    lock = requiring(gpu_lock(python="3.10.14"), "3.10.14", scipy=">=3.10.13")
    path = lockfile.dump(lock, tmp_path / "envsnap.lock")
    for named in ((), ("--base-image", "envsnap-base:bookworm")):
        dest = tmp_path / "ctx"
        result = cli("rebuild", path, "--target", "docker", "--dry-run", "--force", "--dest", dest, *named)
        assert result.code == 2, result
        assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
        assert "scipy (Requires-Python >=3.10.13)" in result.err and "--base-image" in result.err, result.err
        assert not dest.exists()
