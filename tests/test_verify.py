"""verify's comparison rules, on snapshots built here; the real round trip is tests/rebuild."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envsnap import lockfile
from envsnap._verify import INFO, MISMATCH, WARNING, compare, verify
from envsnap.model import (
    Artifact,
    Cpu,
    Hardware,
    Nvidia,
    Platform,
    PythonEnv,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemPackage,
)

GIT = Source(kind="vcs", vcs="git", url="https://git.example/x", commit_id="a" * 40)
EDITABLE = Source(kind="directory", url="file:///src/proj", editable=True)


def snap(*packages: PythonPackage, **changes: object) -> Snapshot:
    base = Snapshot(
        platform=Platform(
            system="Linux",
            machine="x86_64",
            os_id="debian",
            os_version="12",
            kernel="6.1",
            libc="glibc",
            libc_version="2.36",
        ),
        python=PythonEnv(
            implementation="cpython",
            version="3.11.7",
            abi="cp311",
            platform_tag="linux-x86_64",
            kind="venv",
            packages=packages,
        ),
        system=System(
            manager="dpkg",
            packages=(
                SystemPackage("dpkg", "libgomp1", "12.2", "amd64", needed_by=("numpy",)),
                SystemPackage("dpkg", "vim", "9.0", "amd64"),
            ),
        ),
        hardware=Hardware(memory_mib=1000, cpu=Cpu(model="Xeon", flags=("avx", "avx2"))),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def pkg(name: str, version: str = "1.0", **kw: object) -> PythonPackage:
    kw.setdefault("record_digest", f"sha256:{name}{version}")
    kw.setdefault("wheel_tags", ("py3-none-any",))
    return PythonPackage(name=name, version=version, **kw)  # type: ignore[arg-type]


def found(report: object, severity: str) -> set[tuple[str, str]]:
    return {(d.subject, d.what) for d in report.differences if d.severity == severity}  # type: ignore[attr-defined]


def test_identical() -> None:
    lock = snap(pkg("numpy"), pkg("vcspkg", source=GIT))
    report = compare(lock, lock)
    assert report.identical and report.differences == () and report.packages_checked == 2


def test_python_package_mismatches() -> None:
    lock = snap(pkg("a"), pkg("b"), pkg("c"), pkg("d"), pkg("e"))
    now = snap(
        pkg("a", "2.0"),
        pkg("c", record_digest="sha256:other"),
        pkg("d", wheel_tags=("cp311-cp311-x",)),
        pkg("e", source=GIT),
        pkg("f"),
    )
    report = compare(lock, now)
    assert not report.identical
    assert found(report, MISMATCH) == {
        ("a", "version"),
        ("b", "missing"),
        ("c", "record_digest"),
        ("d", "wheel_tags"),
        ("e", "source"),
        ("f", "extra"),
    }


def test_rebuilt_from_source_is_not_a_mismatch() -> None:
    rebuilt = Artifact(filename="x.whl", url="git+...", sha256="0" * 64, rebuilt=True)
    lock = snap(pkg("vcspkg", source=GIT, artifact=rebuilt), pkg("proj", source=EDITABLE))
    now = snap(pkg("vcspkg", record_digest="sha256:rebuilt"), pkg("proj", record_digest="sha256:wheel"))
    report = compare(lock, now)
    assert report.identical
    assert found(report, WARNING) == {("vcspkg", "record_digest")}
    assert found(report, INFO) == {("vcspkg", "source"), ("proj", "source"), ("proj", "record_digest")}


def test_another_commit_is_a_mismatch() -> None:
    lock = snap(pkg("vcspkg", source=GIT))
    now = snap(pkg("vcspkg", source=dataclasses.replace(GIT, commit_id="b" * 40)))
    assert found(compare(lock, now), MISMATCH) == {("vcspkg", "source")}


def test_interpreter_patch_is_a_warning_minor_a_mismatch() -> None:
    lock = snap()
    patch = snap(python=dataclasses.replace(lock.python, version="3.11.9"))
    minor = snap(python=dataclasses.replace(lock.python, version="3.12.1", abi="cp312"))
    assert compare(lock, patch).identical and found(compare(lock, patch), WARNING) == {("python", "version")}
    assert found(compare(lock, minor), MISMATCH) == {("python", "version"), ("python", "abi")}


def test_around_the_python_layer_warnings_and_info_keep_it_identical() -> None:
    lock = snap(nvidia=Nvidia(driver_version="550.54", cuda_driver_version="12.4"))
    now = snap(
        platform=dataclasses.replace(lock.platform, os_version="13", kernel="6.9", libc_version="2.41"),
        system=System(
            manager="dpkg",
            packages=(
                SystemPackage("dpkg", "libgomp1", "14.2", "amd64"),
                SystemPackage("dpkg", "vim", "9.1", "amd64"),
            ),
        ),
        hardware=Hardware(memory_mib=2000, cpu=Cpu(model="EPYC", flags=("avx",))),
        nvidia=Nvidia(driver_version="570.86", cuda_driver_version="12.8"),
    )
    report = compare(lock, now)
    assert report.identical
    assert found(report, WARNING) == {
        ("os", "os_version"),
        ("libc", "libc_version"),
        ("libgomp1", "version"),
        ("nvidia", "driver_version"),
        ("nvidia", "cuda_driver_version"),
        ("cpu", "flags"),
    }
    assert found(report, INFO) == {
        ("os", "kernel"),
        ("packages", "other"),
        ("cpu", "model"),
        ("memory", "memory_mib"),
    }
    # Most consequential first: mismatches, then warnings by area (the GPU before system packages).
    severities = [d.severity for d in report.differences]
    assert severities == sorted(severities, key=[MISMATCH, WARNING, INFO].index)
    warnings = [d.area for d in report.by_severity(WARNING)]
    assert warnings.index("gpu") < warnings.index("system")


def test_cli_exit_codes_on_this_interpreter(tmp_path: Path, cli: Callable[..., object]) -> None:
    from envsnap._capture import capture

    here = capture()
    lock_path = lockfile.dump(here, tmp_path / "here.lock")
    ok = cli("verify", lock_path)
    assert ok.code == 0 and "identical" in ok.out  # type: ignore[attr-defined]
    drifted = dataclasses.replace(
        here,
        python=dataclasses.replace(
            here.python, packages=(*here.python.packages, pkg("not-installed-anywhere"))
        ),
    )
    bad = cli("verify", lockfile.dump(drifted, tmp_path / "drifted.lock"))
    assert bad.code == 1 and "not-installed-anywhere 1.0: in the lock, not installed" in bad.out  # type: ignore
    missing = cli("verify", tmp_path / "nope.lock")
    assert missing.code == 2 and "no such lockfile" in missing.err  # type: ignore[attr-defined]


def test_library_call_is_exported() -> None:
    import envsnap

    assert envsnap.verify.__module__ == "envsnap._verify"


def test_descriptions_read_as_sentences() -> None:
    from envsnap._verify import Difference

    assert Difference(MISMATCH, "python", "numpy", "version", "1.0", "2.0").describe() == "numpy: version 1.0 -> 2.0"
    assert Difference(INFO, "system", "packages", "other", note="3 differ").describe() == "packages: 3 differ"
    assert Difference(WARNING, "system", "libx", "missing", "1.0", "", "loaded by a").describe() == (
        "libx 1.0: in the lock, not installed (loaded by a)")


def test_conda_installed_distributions_are_the_conda_layers_to_check() -> None:
    from envsnap.model import Conda, CondaPackage

    conda = Conda(subdir="linux-64", channels=("https://conda.anaconda.org/conda-forge",), packages=(
        CondaPackage(name="tinyutil", version="0.3.0", build="py_0", channel="https://conda.anaconda.org/conda-forge",
                     subdir="noarch", url="https://conda.anaconda.org/conda-forge/noarch/tinyutil-0.3.0-py_0.conda",
                     md5="a" * 32),))
    # A lock imported from a conda file lists no Python distributions for its conda packages.
    lock = dataclasses.replace(snap(pkg("numpy", "2.0")), conda=conda)
    actual = dataclasses.replace(snap(pkg("numpy", "2.0"), pkg("tinyutil", "0.3.0", conda_managed=True),
                                      pkg("stray", "1.0")), conda=conda)
    report = compare(lock, actual)
    assert found(report, "mismatch") == {("stray", "extra")}  # a pip-installed extra still counts
    # Without a conda layer in the lock nothing covers it: an extra like any other.
    report = compare(snap(pkg("numpy", "2.0")), dataclasses.replace(actual, conda=None))
    assert found(report, "mismatch") == {("stray", "extra"), ("tinyutil", "extra")}


def test_a_python_version_the_lock_does_not_know_is_no_mismatch() -> None:
    lock = snap(pkg("numpy", "2.0"))
    unknown = dataclasses.replace(lock, python=dataclasses.replace(lock.python, version=""))
    report = compare(unknown, lock)
    assert report.identical
    assert ("python", "version") in found(report, INFO)


def test_files_flag_catches_installed_files_edited_or_deleted(tmp_path: Path, make_venv: Any) -> None:
    """The RECORD digest cannot see a file edited after installation; ``verify --files`` hashes the files."""
    import base64
    import hashlib
    import subprocess

    from envsnap._capture import capture

    python = make_venv(tmp_path / "venv")
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "tinypkg").mkdir()
    files = {"tinypkg/__init__.py": b"VALUE = 1\n", "tinypkg/data.txt": b"weights\n"}
    dist = site / "tinypkg-1.0.dist-info"
    dist.mkdir()
    files["tinypkg-1.0.dist-info/METADATA"] = b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n"
    rows = []
    for rel, data in files.items():
        (site / rel).write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{rel},sha256={digest},{len(data)}")
    (dist / "RECORD").write_text("\n".join([*rows, "tinypkg-1.0.dist-info/RECORD,,"]) + "\n")
    lock = capture(str(python))
    assert verify(lock, str(python), files=True).identical
    (site / "tinypkg" / "__init__.py").write_bytes(b"VALUE = 2\n")  # a hand edit after installation
    (site / "tinypkg" / "data.txt").unlink()
    assert verify(lock, str(python)).identical  # the RECORD digest alone cannot see it
    report = verify(lock, str(python), files=True)
    assert not report.identical
    [diff] = [d for d in report.differences if d.what == "files"]
    assert (diff.severity, diff.subject, diff.actual) == (MISMATCH, "tinypkg", "1 modified, 1 missing")
    assert diff.note == "tinypkg/__init__.py, tinypkg/data.txt"
