"""diff: kinds of change and their order."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testutil import sample_lock, sample_platform, sample_python

from envsnap import lockfile
from envsnap.compare.diff import diff, version_change
from envsnap.model import (
    Artifact,
    Conda,
    CondaPackage,
    Cuda,
    Gpu,
    Hardware,
    Nvidia,
    PythonEnv,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemLibrary,
)


@pytest.mark.parametrize(
    ("old", "new", "kind", "direction"),
    [
        ("1.2.3", "2.0.0", "major", "upgrade"),
        ("1.2.3", "1.3.0", "minor", "upgrade"),
        ("1.2.3", "1.2.4", "patch", "upgrade"),
        ("1.2.4", "1.2.3", "patch", "downgrade"),
        ("2.0.0rc1", "2.0.0", "patch", "upgrade"),
        ("2.1.0+cu121", "2.1.0+cu124", "local", ""),
        ("1!1.0", "2!1.0", "major", "upgrade"),
        ("not-a-version", "1.0", "version", ""),
    ],
)
def test_version_change(old: str, new: str, kind: str, direction: str) -> None:
    assert version_change(old, new) == (kind, direction)


def _lock(*packages: PythonPackage, **changes: object) -> Snapshot:
    base = sample_lock(
        platform=sample_platform(os_id="ubuntu", os_version="22.04", libc_version="2.35"),
        python=sample_python(*packages, kind="system"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_packages_added_removed_and_each_kind() -> None:
    git = Source(kind="vcs", vcs="git", url="https://g/x", commit_id="a" * 40)
    a = _lock(
        PythonPackage("torch", "2.1.0+cu121"),
        PythonPackage("numpy", "1.26.4"),
        PythonPackage("requests", "2.31.0"),
        PythonPackage("old", "1.0"),
        PythonPackage("tool", "1.0"),
        PythonPackage("same", "1.0", record_digest="sha256:aaaa"),
        PythonPackage("pyyaml", "6.0.1"),
    )
    b = _lock(
        PythonPackage("torch", "2.1.0+cu124"),
        PythonPackage("numpy", "2.0.0"),
        PythonPackage("requests", "2.32.0"),
        PythonPackage("new", "1.0"),
        PythonPackage("tool", "1.0", source=git),
        PythonPackage("same", "1.0", record_digest="sha256:bbbb"),
        PythonPackage("pyyaml", "6.0.2"),
    )
    report = diff(a, b)
    kinds = {c.subject: (c.change, c.kind) for c in report.changes}
    assert kinds == {
        "torch": ("changed", "local"),
        "numpy": ("changed", "major"),
        "requests": ("changed", "minor"),
        "old": ("removed", "removed"),
        "new": ("added", "added"),
        "tool": ("changed", "source"),
        "same": ("changed", "build"),
        "pyyaml": ("changed", "patch"),
    }
    order = [c.subject for c in report.changes]
    assert order == ["numpy", "torch", "old", "new", "requests", "tool", "pyyaml", "same"]


def test_the_same_wheel_from_find_links_and_by_path_is_said_to_be_the_same_files() -> None:
    """A wheel installed from a find-links folder, then the same file by path: diff ranked "index -> file://...
    (source)" above a patch release of numpy, with nothing saying the files were the same (verify: info)."""
    wheel = Source(kind="archive", url="file:///wheels/proj-1.0-py3-none-any.whl")
    a = _lock(
        PythonPackage("proj", "1.0", record_digest="sha256:aaaa", wheel_tags=("py3-none-any",)),
        PythonPackage("numpy", "1.26.3"),
    )
    b = _lock(
        PythonPackage("proj", "1.0", record_digest="sha256:aaaa", wheel_tags=("py3-none-any",), source=wheel),
        PythonPackage("numpy", "1.26.4"),
    )
    report = diff(a, b)
    assert [c.subject for c in report.changes] == ["numpy", "proj"]
    assert report.changes[1].describe() == (
        "proj: index -> file:///wheels/proj-1.0-py3-none-any.whl (source, the same files)"
    )
    # Other files from the path stay a source change, ranked as one.
    other = _lock(
        PythonPackage("proj", "1.0", record_digest="sha256:bbbb", wheel_tags=("py3-none-any",), source=wheel),
        PythonPackage("numpy", "1.26.4"),
    )
    changed = diff(a, other).changes
    assert [c.subject for c in changed] == ["proj", "numpy"] and changed[0].note == ""


def test_gpu_stack_python_and_os_come_before_packages() -> None:
    a = _lock(
        PythonPackage("numpy", "1.26.4"),
        nvidia=Nvidia(driver_version="535.104.05", cuda_driver_version="12.2"),
        cuda=Cuda(runtime_version="12.1", cudnn_version="8.9.2"),
        hardware=Hardware(gpus=(Gpu(0, "NVIDIA A100", "8.0"),)),
        system=System(libraries=(SystemLibrary("libgomp.so.1"),)),
    )
    b = _lock(
        PythonPackage("numpy", "1.26.5"),
        nvidia=Nvidia(driver_version="550.54.14", cuda_driver_version="12.4"),
        cuda=Cuda(runtime_version="12.4", cudnn_version="9.1.0"),
        hardware=Hardware(gpus=(Gpu(0, "NVIDIA H100", "9.0"),)),
        python=sample_python(PythonPackage("numpy", "1.26.5"), version="3.12.3", abi="cp312", kind="system"),
        platform=sample_platform(os_id="ubuntu", os_version="24.04", libc_version="2.39"),
    )
    report = diff(a, b)
    subjects = [c.subject for c in report.changes]
    assert subjects[:3] == ["Python", "ABI", "CUDA runtime"]
    assert subjects.index("NVIDIA driver") < subjects.index("cuDNN") < subjects.index("glibc")
    assert subjects.index("GPUs") < subjects.index("OS") < subjects.index("numpy")
    # A library the environment loads going missing outranks a patch release of a package.
    assert subjects.index("libgomp.so.1") < subjects.index("numpy") == len(subjects) - 1
    cudnn = next(c for c in report.changes if c.subject == "cuDNN")
    assert (cudnn.kind, cudnn.old, cudnn.new) == ("major", "8.9.2", "9.1.0")


def test_conda_builds_and_channels() -> None:
    a = _lock(
        conda=Conda(
            packages=(
                CondaPackage("openssl", "3.0.0", "h1", channel="conda-forge"),
                CondaPackage("zlib", "1.3", "h2", channel="conda-forge"),
            )
        )
    )
    b = _lock(
        conda=Conda(
            packages=(
                CondaPackage("openssl", "3.0.0", "h9", channel="conda-forge"),
                CondaPackage("zlib", "1.3", "h2", channel="defaults"),
            )
        )
    )
    kinds = {c.subject: c.kind for c in diff(a, b).changes}
    assert kinds == {"openssl": "build", "zlib": "source"}


def test_another_subdirectory_of_one_commit_is_a_change_of_source(tmp_path: Path) -> None:
    """A monorepo's package from another folder of the same commit: diff named it only as "other fields:
    python.packages[tool].source.subdirectory (not compared above)", not as the package's source."""
    from envsnap.compare.diff import diff_files

    git = Source(kind="vcs", vcs="git", url="https://g/mono", commit_id="a" * 40, subdirectory="pkgs/tool")
    a = _lock(PythonPackage("tool", "1.0", source=git), PythonPackage("numpy", "1.26.4"))
    b = _lock(
        PythonPackage("tool", "1.0", source=dataclasses.replace(git, subdirectory="pkgs/other")),
        PythonPackage("numpy", "1.26.4"),
    )
    expected = ["tool: git+https://g/mono@" + "a" * 40 + "#subdirectory=pkgs/tool -> git+https://g/mono@" + "a" * 40]
    expected[0] += "#subdirectory=pkgs/other (source)"
    assert [c.describe() for c in diff(a, b).changes] == expected
    files = diff_files(lockfile.dump(a, tmp_path / "a.lock"), lockfile.dump(b, tmp_path / "b.lock"))
    assert [c.describe() for c in files.changes] == expected


def test_another_subdirectory_of_one_local_folder_is_a_change_of_source() -> None:
    """``tool @ file:///srv/mono#subdirectory=pkgs/tool``, then ``...#subdirectory=pkgs/other``: diff named it only as
    "other fields differ: python.packages[tool].source.subdirectory"; the folder pip built is the source now."""
    tree = Source(kind="directory", url="file:///srv/mono", subdirectory="pkgs/tool")
    a = _lock(PythonPackage("tool", "1.0", source=tree))
    b = _lock(PythonPackage("tool", "1.0", source=dataclasses.replace(tree, subdirectory="pkgs/other")))
    assert [c.describe() for c in diff(a, b).changes] == [
        "tool: file:///srv/mono/pkgs/tool -> file:///srv/mono/pkgs/other (source)"
    ]
    # The same folder by its own path (envsnap's requirements export writes it so): no change of source.
    own = _lock(PythonPackage("tool", "1.0", source=Source(kind="directory", url="file:///srv/mono/pkgs/tool")))
    assert [c.subject for c in diff(a, own).changes] == ["other fields"]


@pytest.mark.parametrize(
    ("kind", "url", "url_b"),
    [
        ("vcs", "file:///lab/r%C3%A9s%20earch/labgit", "file:///lab/rés%20earch/labgit"),
        ("vcs", "file:///lab/labgit", "file://localhost/lab/labgit"),
        ("directory", "file:///lab/caf%C3%A9/tool", "file:///lab/café/tool"),
        ("archive", "file:///lab/w%C3%BC/tool-1.0.tar.gz", "file:///lab/wü/tool-1.0.tar.gz"),
    ],
)
def test_one_local_place_spelled_with_other_percent_encoding_is_no_change_of_source(
    kind: str, url: str, url_b: str
) -> None:
    """A capture of ``pip install 'labgit @ git+file:///lab/rés earch/labgit@C'`` (pip's direct_url.json keeps the
    é) against the import of pip-compile's line for it (``git+file:/lab/r%C3%A9s%20earch/labgit@C``): one repository
    at one commit, which diff called a change of source, exit 1, where verify of the environment said identical."""
    extra: dict[str, Any] = {"vcs": "git", "commit_id": "c" * 40} if kind == "vcs" else {}
    a = _lock(PythonPackage("tool", "1.0", source=Source(kind=kind, url=url, **extra)))  # type: ignore[arg-type]
    b = _lock(PythonPackage("tool", "1.0", source=Source(kind=kind, url=url_b, **extra)))  # type: ignore[arg-type]
    assert [c for c in diff(a, b).changes if c.area == "python" and c.kind == "source"] == []
    # another folder is still one
    other = _lock(PythonPackage("tool", "1.0", source=Source(kind=kind, url=url.replace("lab", "lib"), **extra)))  # type: ignore[arg-type]
    assert [c.kind for c in diff(a, other).changes if c.area == "python"] == ["source"]


@pytest.mark.parametrize(
    ("table", "a_url", "b_url"),
    [
        ("source", "file:///lab/r%C3%A9s%20earch/tool-1.0.tar.gz", "file:///lab/rés%20earch/tool-1.0.tar.gz"),
        ("source", "file:///lab/tool-1.0.tar.gz", "file://localhost/lab/tool-1.0.tar.gz"),
        ("index", "/lab/my wheels", "file:///lab/my%20wheels"),
        ("index", "file:///lab/caf%C3%A9", "file:///lab/café"),
    ],
)
def test_one_place_spelled_two_ways_is_no_difference_at_all(
    tmp_path: Path, cli: Callable[..., Any], table: str, a_url: str, b_url: str
) -> None:
    """Two locks whose one local place is spelled two ways (percent-encoded otherwise, ``localhost``, a path and its
    ``file:`` URL): diff said no change of source, then "other fields differ: python.packages[tool].source.url", exit
    1. The place is compared as it reads, decoded: no difference, exit 0."""

    def lock(url: str, name: str) -> Path:
        if table == "source":
            source = Source(kind="archive", url=url, archive_hash="sha256=" + "a" * 64)
            pkg = PythonPackage("tool", "1.0", source=source)
        else:
            art = Artifact("tool-1.0-py3-none-any.whl", "", "b" * 64, index=url)
            pkg = PythonPackage("tool", "1.0", artifact=art)
        return lockfile.dump(_lock(pkg), tmp_path / name)

    a, b = lock(a_url, "a.lock"), lock(b_url, "b.lock")
    result = cli("diff", a, b)
    assert result.code == 0 and "no differences" in result.out, result
    assert diff(lockfile.load(a), lockfile.load(b)).changes == ()
    # another place is still said (an archive of one sha256 elsewhere: provenance, exit 0)
    other = lock(a_url.replace("lab", "lib"), "other.lock")
    assert "no differences" not in cli("diff", a, other).out


def test_cli_diff_text_json_and_exit_codes(tmp_path: Path, cli: Callable[..., object]) -> None:
    a = lockfile.dump(_lock(PythonPackage("torch", "2.1.0+cu121")), tmp_path / "a.lock")
    b = lockfile.dump(_lock(PythonPackage("torch", "2.1.0+cu124")), tmp_path / "b.lock")
    same = cli("diff", a, a)
    assert same.code == 0 and "no differences" in same.out  # type: ignore[attr-defined]
    text = cli("diff", a, b)
    assert text.code == 1 and "torch: 2.1.0+cu121 -> 2.1.0+cu124 (local)" in text.out  # type: ignore
    data = json.loads(cli("diff", a, b, "--json").out)  # type: ignore[attr-defined]
    assert data["identical"] is False and data["changes"][0]["kind"] == "local"
    assert data["counts"] == {"local": 1}


def test_import_does_not_know_is_unknown_not_removed() -> None:
    """issue 12.8: a requirements import records no GPU, no OS, no Python version: not "removed"."""
    from envsnap.model import Meta

    pkg = PythonPackage(name="six", version="1.17.0")
    captured = _lock(
        pkg, nvidia=Nvidia(driver_version="550.54"), system=System(libraries=(SystemLibrary(soname="libgomp.so.1"),))
    )
    imported = Snapshot(
        envsnap=Meta(
            origin="requirements",
            unknown=(
                "nvidia",
                "platform.machine",
                "platform.os_id",
                "platform.libc_version",
                "python.version",
                "system",
            ),
        ),
        python=PythonEnv(implementation="cpython", abi="cp311", packages=(pkg,)),
    )
    report = diff(captured, imported)
    assert {c.change for c in report.changes} == {"unknown"}
    assert {c.subject for c in report.changes} >= {"NVIDIA driver", "Python", "libgomp.so.1", "machine"}
    assert all("B does not record it (imported from requirements)" in c.describe() for c in report.changes)


def test_an_imported_local_project_without_a_version_still_shows_where_it_comes_from() -> None:
    """A requirements file's `./libs/mylib` records no version. Against a capture of mylib 0.2 from the index, diff
    printed only `mylib: 0.2 -> (unknown) (B does not record it ...)`, at info: the move from the index's mylib to a
    local folder (another project, maybe) was hidden behind the version nobody knows. The source change shows, and
    the same folder on both sides is still the version nobody knows."""
    from envsnap.model import Meta

    folder = Source(kind="directory", url="file://{project}/libs/mylib")
    imported = Snapshot(
        envsnap=Meta(origin="requirements", unknown=("python.version",)),
        python=PythonEnv(packages=(PythonPackage(name="mylib", version="", source=folder),)),
    )
    from_index = _lock(PythonPackage(name="mylib", version="0.2", installer="pip"))
    lines = [c.describe() for c in diff(from_index, imported).changes if c.subject == "mylib"]
    assert lines == ["mylib: index -> file://{project}/libs/mylib (source, B records no version)"], lines
    assert diff(from_index, imported).differs
    from_folder = _lock(PythonPackage(name="mylib", version="0.2", installer="pip", source=folder))
    [change] = [c for c in diff(from_folder, imported).changes if c.subject == "mylib"]
    assert change.change == "unknown" and change.describe().startswith("mylib: 0.2 -> (unknown)"), change


def test_locks_with_other_content_never_read_as_identical() -> None:
    """issue 12.6: a bundle's lock (artifacts filled, pin warnings) against the captured lock."""
    from envsnap.model import Artifact, Meta

    plain = _lock(PythonPackage(name="six", version="1.17.0"))
    pinned = _lock(
        PythonPackage(
            name="six",
            version="1.17.0",
            artifact=Artifact(
                filename="six-1.17.0-py2.py3-none-any.whl", url="https://files.example/six.whl", sha256="a" * 64
            ),
        )
    )
    report = diff(plain, pinned)
    assert not report.identical
    assert report.changes[0].kind == "artifact"
    assert "(not pinned) -> six-1.17.0-py2.py3-none-any.whl" in report.changes[0].describe()
    warned = dataclasses.replace(plain, envsnap=Meta(warnings=("pin: six 1.17.0: no file",)))
    report = diff(plain, warned)
    assert not report.identical
    assert "envsnap.warnings" in report.changes[0].new
    # A recorded variable is compared as itself (area environment), not left to the other fields.
    varied = dataclasses.replace(plain, environment={"CUDA_VISIBLE_DEVICES": "0"})
    (change,) = diff(plain, varied).changes
    assert (change.area, change.subject, change.change, change.new) == (
        "environment",
        "CUDA_VISIBLE_DEVICES",
        "added",
        "0",
    )


def test_the_projects_code_is_compared_and_other_fields_read_as_a_list_of_fields() -> None:
    """A new commit read "lock  other fields: (none) -> project.commit, project.diff_digest,
    python.packages[3].requested (value, not compared above)": the field names in the new value's place, a package
    by its index. The project's commit is compared as the code it is, and other fields are listed as fields."""
    from envsnap.model import Project

    six = PythonPackage(name="six", version="1.17.0")
    at = dataclasses.replace(_lock(six), project=Project(commit="a" * 40))
    later = dataclasses.replace(at, project=Project(commit="b" * 40, dirty=True, diff_digest="sha256:" + "c" * 64))
    lines = [c.describe() for c in diff(at, later).changes]
    assert lines == [
        f"commit: {'a' * 12} -> {'b' * 12} (value)",
        f"working tree: clean -> uncommitted change {'c' * 12} (value)",
    ]
    assert {c.area for c in diff(at, later).changes} == {"project"}
    requested = dataclasses.replace(
        at, python=dataclasses.replace(at.python, packages=(dataclasses.replace(six, requested=True),))
    )
    (change,) = diff(at, requested).changes
    assert change.describe() == "other fields differ: python.packages[six].requested (not compared above)"


def test_a_clone_of_the_same_commit_is_provenance_not_a_changed_environment() -> None:
    """A reviewer's clone of the author's commit (another remote URL, its own branch) read "other fields differ:
    project.remote_url", exit 1: the same code. The remote and the branch are provenance, the commit still a change."""
    from envsnap.model import Project

    six = PythonPackage(name="six", version="1.17.0")
    author = Project(commit="a" * 40, branch="main", remote_url="https://example.org/lab/proj.git")
    at = dataclasses.replace(_lock(six), project=author)
    clone = dataclasses.replace(
        at, project=dataclasses.replace(author, branch="review", remote_url="git@example.org:lab/proj.git")
    )
    report = diff(at, clone)
    assert [c.describe() for c in report.changes] == [
        "branch: main -> review (what its branch is called, not what it holds: the commit and the working tree are "
        "compared)",
        "remote: https://example.org/lab/proj.git -> git@example.org:lab/proj.git (where the checkout came from, "
        "not what it holds: the commit and the working tree are compared)",
    ]
    assert {c.change for c in report.changes} == {"provenance"} and not report.differs
    moved = dataclasses.replace(clone, project=dataclasses.replace(clone.project, commit="b" * 40))
    assert diff(at, moved).differs


def test_the_system_package_a_distribution_came_from_is_no_change_of_the_environment() -> None:
    """A lock captured before envsnap recorded which dpkg package installed a distribution (Debian's python3-six)
    against one captured after, of the same host: "other fields differ: python.packages[six].system_package", exit
    1. A blank tells nothing (an older lock, a host without dpkg), as of the interpreter's package: not compared."""
    six = PythonPackage(name="six", version="1.16.0")
    report = diff(sample_lock(six), sample_lock(dataclasses.replace(six, system_package="python3-six")))
    assert (report.changes, report.differs) == ((), False), [c.describe() for c in report.changes]
    # Nor the headers of its metadata recorded with it (``identity``, for pin), absent from a lock written before.
    named = dataclasses.replace(six, system_package="python3-six", identity=("Summary: Python 2 and 3 compat",))
    report = diff(sample_lock(six), sample_lock(named))
    assert (report.changes, report.differs) == ((), False), [c.describe() for c in report.changes]


def test_the_cuda_kernels_of_a_distribution_are_not_compared() -> None:
    """A lock captured before envsnap recorded the architectures of a distribution's CUDA kernels against one
    captured after, of the same files: they follow from the files, whose RECORD digest diff compares."""
    cupy = PythonPackage(name="cupy-cuda12x", version="13.6.0", record_digest="sha256:" + "1" * 64)
    kernels = dataclasses.replace(cupy, cuda_kernels=("sm_50", "sm_80", "compute_90"))
    report = diff(sample_lock(cupy), sample_lock(kernels))
    assert (report.changes, report.differs) == ((), False), [c.describe() for c in report.changes]
    # nor whether they were read in part, nor their PTX's ISA version, recorded by a later envsnap still
    later = dataclasses.replace(kernels, cuda_kernels_partial=True, cuda_ptx_isa="8.8")
    report = diff(sample_lock(kernels), sample_lock(later))
    assert (report.changes, report.differs) == ((), False), [c.describe() for c in report.changes]


def test_the_recorded_variables_are_compared_beside_every_other_change() -> None:
    """OMP_NUM_THREADS and CUDA_VISIBLE_DEVICES differing beside a new commit were not reported at all: the
    variables were named only as "other fields", when nothing else differed."""
    from types import MappingProxyType

    from envsnap.model import Project

    six = PythonPackage(name="six", version="1.17.0")
    a = dataclasses.replace(
        _lock(six), project=Project(commit="a" * 40), environment=MappingProxyType({"OMP_NUM_THREADS": "8", "X": "1"})
    )
    b = dataclasses.replace(
        a,
        project=Project(commit="b" * 40),
        environment=MappingProxyType({"OMP_NUM_THREADS": "3", "CUDA_VISIBLE_DEVICES": "0"}),
    )
    shown = {(c.area, c.subject, c.change) for c in diff(a, b).changes}
    assert shown == {
        ("project", "commit", "changed"),
        ("environment", "OMP_NUM_THREADS", "changed"),
        ("environment", "CUDA_VISIBLE_DEVICES", "added"),
        ("environment", "X", "removed"),
    }


def test_what_an_import_leaves_blank_is_unknown_not_a_change() -> None:
    """issue 12.8: envsnap's own requirements export imported back: the import knows no ABI, no wheel tags and
    no version for the source-tree project (a comment line); the diff said "ABI cp311 removed", "py3-none-any
    -> (none) (build, wheel tag)" and "0.1.0 -> (none) (version)"."""
    from envsnap.model import Meta, Source

    project = Source(kind="directory", url="file:///src/proj", editable=True)
    captured = _lock(
        PythonPackage("six", "1.17.0", wheel_tags=("py3-none-any",)),
        PythonPackage("proj", "0.1.0", source=project),
        PythonPackage("gone", "1.0"),
    )
    imported = Snapshot(
        envsnap=Meta(origin="requirements", unknown=("platform", "python.version")),
        python=PythonEnv(packages=(PythonPackage("six", "1.17.0"), PythonPackage("proj", "", source=project))),
    )
    report = diff(captured, imported)
    real = [c for c in report.changes if c.change != "unknown"]
    assert [(c.subject, c.change) for c in real] == [("gone", "removed")]
    assert {c.subject for c in report.changes if c.change == "unknown"} >= {"ABI", "six", "proj"}
    # Between two captures the same blanks are real changes.
    other = dataclasses.replace(
        captured, python=dataclasses.replace(captured.python, packages=(PythonPackage("six", "1.17.0"),))
    )
    assert any(c.subject == "six" and c.kind == "build" for c in diff(captured, other).changes)


def test_many_unknown_entries_of_an_area_read_as_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A captured lock's hundreds of system packages against an import that records none: one line, not 700."""
    from envsnap.cli.diff import print_report
    from envsnap.model import Meta, SystemPackage

    pkg = PythonPackage(name="six", version="1.17.0")
    debs = tuple(SystemPackage(manager="dpkg", name=f"lib{i}", version="1.0") for i in range(50))
    captured = _lock(pkg, system=System(manager="dpkg", packages=debs))
    imported = Snapshot(
        envsnap=Meta(origin="requirements", unknown=("system",)),
        python=PythonEnv(implementation="cpython", packages=(pkg,)),
    )
    report = diff(captured, imported)
    assert sum(c.area == "system" for c in report.changes) >= 50  # the data keeps every entry (--json)
    print_report(report)
    out = capsys.readouterr().out.splitlines()
    system_lines = [line for line in out if line.startswith("system")]
    assert len(system_lines) == 1, out
    assert "50 entries unknown: B does not record it (imported from requirements)" in system_lines[0]


def test_the_text_report_is_written_without_rich() -> None:
    """5,000 changes printed through a rich console each took longer than finding them."""
    code = (
        "import sys\n"
        "from envsnap.cli.diff import print_report\n"
        "from envsnap.compare.diff import Change, DiffReport\n"
        "changes = tuple(Change('python', f'p{i}', 'added', 'added', '', '1.0', 54) for i in range(3))\n"
        "print_report(DiffReport('a', 'b', changes))\n"
        "assert 'rich' not in sys.modules, 'rich imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "python  p0 1.0 added",
        "python  p1 1.0 added",
        "python  p2 1.0 added",
        "3 changes: 3 added",
    ]


def test_a_captured_pair_is_compared_once_per_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two captured locks: no change is looked up in the unknown tables only an import has, and the same lock
    twice is not converted to plain data to find that nothing differs (diff of 5,000 distributions)."""
    from envsnap.compare import diff as diff_module

    def refuse(*args: object) -> None:
        raise AssertionError("not needed for captured locks")

    a = _lock(PythonPackage("numpy", "1.26.0"))
    b = _lock(PythonPackage("numpy", "2.0.0"))
    monkeypatch.setattr(diff_module, "_mark_unknown", refuse)
    assert [c.kind for c in diff(a, b).changes] == ["major"]
    monkeypatch.setattr(lockfile, "to_dict", refuse)
    assert diff(a, a).identical and diff(a, dataclasses.replace(a)).identical


def test_plain_releases_are_compared_as_packaging_compares_them() -> None:
    """``version_change`` compares plain releases (``1.26.4``) without building ``Version``s, to the same answer."""
    from packaging.version import Version

    from envsnap.compare import diff as diff_module

    def by_packaging(old: str, new: str) -> tuple[str, str]:
        a, b = Version(old), Version(new)
        direction = "upgrade" if b > a else ("downgrade" if b < a else "")
        ra, rb = a.release + (0,) * 3, b.release + (0,) * 3
        if ra[0] != rb[0]:
            return "major", direction
        if ra[1] != rb[1]:
            return "minor", direction
        return ("patch" if a.public != b.public else "version"), direction

    versions = ["0", "1", "01", "1.0", "1.00", "1.0.0", "1.0.0.0", "1.0.1", "1.1", "1.10", "1.9.9", "2", "2.0.0.1"]
    versions += ["0.0.1", "10.2.3", "1.2.3.4.5", "3.0.0.0.1", "1" + "0" * 18]
    for old in versions:
        for new in versions:
            assert version_change(old, new) == by_packaging(old, new), (old, new)
    assert diff_module._PLAIN_RELEASE.fullmatch("1.26.4") and not diff_module._PLAIN_RELEASE.fullmatch("1.0rc1")
    # Anything else still goes through packaging: pre-releases, local labels, epochs, a very long component.
    assert version_change("1.0rc1", "1.0") == ("patch", "upgrade")
    assert version_change("2.1.0+cu121", "2.1.0+cu124") == ("local", "")
    assert version_change("1!1.0", "1.0") == ("major", "downgrade")
    assert version_change("1" * 30, "2") == ("major", "downgrade")


@settings(max_examples=100, deadline=None)
@given(
    st.tuples(st.text(max_size=5), st.text(max_size=5), st.text(max_size=5), st.text(max_size=5)),
    st.text(max_size=5),
    st.text(max_size=5),
    st.integers(-5, 100),
    st.text(max_size=5),
)
def test_a_change_made_without_init_is_the_change_init_makes(
    head: tuple[str, str, str, str], old: str, new: str, weight: int, note: str
) -> None:
    """diff makes its thousands of package changes without the frozen dataclass's __init__: the same record."""
    from envsnap.compare import diff as d

    made = d._change(*head, old, new, weight, note)
    expected = d.Change(*head, old, new, weight, note)
    assert made == expected and hash(made) == hash(expected) and vars(made) == vars(expected)
    assert made.to_dict() == expected.to_dict() and repr(made) == repr(expected)
    assert d._change(*head) == d.Change(*head)


def test_the_report_is_ordered_by_weight_then_area_then_subject() -> None:
    """Two stable sorts (area and subject, then weight descending) give the one order the report promises."""
    import random

    from envsnap.compare.diff import _change, _report

    rng = random.Random(7)
    changes = [
        _change(rng.choice("abc"), rng.choice("xyz") + str(i % 3), "changed", "patch", weight=rng.choice((1, 5, 20)))
        for i in range(300)
    ]
    lock = sample_lock()
    ordered = _report(lock, lock, list(changes)).changes
    assert list(ordered) == sorted(changes, key=lambda c: (-c.weight, c.area, c.subject))


def test_a_conda_packages_python_distribution_an_import_lists_as_the_conda_package_is_no_change() -> None:
    """After ``export -f conda-lock`` (or ``conda-explicit``) and ``import``, tinyutil (a conda package's Python
    distribution) read "removed", then "0.3.0 -> (unknown)": the file lists it as the conda package only, which both
    locks record alike, so the archive that holds it is the same. It is no change; unknown where the conda package
    differs. A Python package the import does not list and whose conda package it lacks too is still removed."""
    from envsnap.model import Conda, CondaPackage, Meta, PythonPackage

    tiny = CondaPackage("tinyutil", "0.3.0", "py_0", channel="file:///c", subdir="noarch")
    captured = sample_lock(
        conda=Conda(subdir="linux-64", packages=(tiny,)),
        python=sample_python(
            packages=(
                PythonPackage(name="tinyutil", version="0.3.0", conda_managed=True),
                PythonPackage(name="six", version="1.16.0"),
            )
        ),
    )
    imported = dataclasses.replace(
        captured,
        envsnap=Meta(origin="conda-lock"),
        python=dataclasses.replace(captured.python, packages=()),
    )
    changes = {c.subject: c for c in diff(captured, imported).changes if c.area == "python"}
    # The conda package that holds it is the same record in both locks: its Python distribution is the same too.
    assert "tinyutil" not in changes
    assert changes["six"].change == "removed"
    back = {c.subject: c.change for c in diff(imported, captured).changes if c.area == "python"}
    assert back == {"six": "added"}
    # Another build of that conda package in the import: the conda layer says so, and the Python package is unknown.
    other = dataclasses.replace(
        imported, conda=Conda(subdir="linux-64", packages=(dataclasses.replace(tiny, build="py_1"),))
    )
    changes = {c.subject: c for c in diff(captured, other).changes if c.area == "python"}
    assert changes["tinyutil"].change == "unknown" and "B does not record it" in changes["tinyutil"].note
    # A Python package no conda package holds (not conda-managed), in a lock whose conda layers agree, is removed.
    plain = dataclasses.replace(
        captured,
        python=sample_python(packages=(PythonPackage(name="tinyutil", version="0.3.0"),)),
    )
    assert {c.subject: c.change for c in diff(plain, imported).changes if c.area == "python"} == {"tinyutil": "unknown"}


def test_a_diff_whose_every_entry_is_unknown_to_one_lock_exits_0(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A lock against its requirements import (the same packages and versions) printed "823 changes: 823
    unknown" and exited 1, where verify of the same pair says identical: only what both record can differ."""
    from envsnap.model import Meta, PythonPackage

    six = PythonPackage(name="six", version="1.16.0")
    captured = sample_lock(python=sample_python(packages=(six,)))
    imported = dataclasses.replace(
        captured,
        envsnap=Meta(origin="requirements", unknown=("hardware", "platform.kernel", "platform.os_id")),
        platform=sample_platform(kernel="", os_id=""),
    )
    a, b = lockfile.dump(captured, tmp_path / "a.lock"), lockfile.dump(imported, tmp_path / "b.lock")
    result = cli("diff", a, b)
    assert result.code == 0, result
    assert "unknown" in result.out and "(nothing both locks record differs)" in result.out
    data = json.loads(cli("diff", a, b, "--json").out)
    assert data["identical"] is False and data["differs"] is False
    moved = lockfile.dump(
        dataclasses.replace(imported, python=sample_python(packages=(dataclasses.replace(six, version="1.17.0"),))),
        tmp_path / "c.lock",
    )
    assert cli("diff", a, moved).code == 1


def test_versions_equal_under_pep_440_are_no_version_change() -> None:
    """``1.0`` and ``1.0.0``, ``2024.1`` and ``2024.01`` are one version: diff called them a ``patch`` (and a
    ``version``) change with no direction. The rest is compared as for the same version, and a lock that differs in
    nothing else reads as no difference; an invalid (legacy) version is still compared as written."""
    a = _lock(
        PythonPackage("six", "1.0"),
        PythonPackage("tzdata", "2024.01"),
        PythonPackage("torch", "2.1+cu121"),
        PythonPackage("same", "1.0", record_digest="sha256:aaaa"),
        PythonPackage("legacy", "1.0-custom"),
    )
    b = _lock(
        PythonPackage("six", "1.0.0"),
        PythonPackage("tzdata", "2024.1"),
        PythonPackage("torch", "2.1.0+CU121"),
        PythonPackage("same", "1.0.0", record_digest="sha256:bbbb"),
        PythonPackage("legacy", "1.0-Custom"),
    )
    report = diff(a, b)
    assert sorted((c.subject, c.kind, c.old, c.new) for c in report.changes) == [
        ("legacy", "version", "1.0-custom", "1.0-Custom"),
        ("same", "build", "sha256:aaaa", "sha256:bbbb"),
    ]
    only_spelling = _lock(*[dataclasses.replace(p, record_digest="") for p in a.python.packages if p.name != "legacy"])
    respelled = _lock(*[dataclasses.replace(p, record_digest="") for p in b.python.packages if p.name != "legacy"])
    report = diff(only_spelling, respelled)
    assert report.identical and not report.differs


def test_one_change_is_counted_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    """It read "1 changes: 1 minor"."""
    from envsnap.cli.diff import print_report
    from envsnap.compare.diff import Change, DiffReport

    print_report(DiffReport("a", "b", (Change("python", "numpy", "changed", "minor", "1.25.0", "1.26.0", 50),)))
    assert capsys.readouterr().out.splitlines()[-1] == "1 change: 1 minor"


@pytest.mark.parametrize("fmt", ["pylock", "requirements"])
def test_a_lock_against_its_own_export_imported_back_differs_in_nothing_both_record(tmp_path: Path, fmt: str) -> None:
    """A lock captured from a system interpreter (a Docker image's, pyenv's), exported for a reviewer and imported
    back: the diff said "environment kind: system -> venv" and exited 1, as if the environment had changed.
    Neither file says what kind of environment it came from; an import's "venv" is what a rebuild of it makes."""
    from envsnap import importers
    from envsnap.export import get as get_exporter
    from envsnap.model import Artifact

    name = "six-1.17.0-py3-none-any.whl"
    wheel = Artifact(filename=name, url=f"https://files.example/packages/{name}", sha256="a" * 64)
    captured = lockfile.seal(_lock(PythonPackage("six", "1.17.0", wheel_tags=("py3-none-any",), artifact=wheel)))
    assert captured.python.kind == "system"
    exporter = get_exporter(fmt)
    path = tmp_path / ("pylock.toml" if fmt == "pylock" else "requirements.txt")
    path.write_bytes(next(iter(exporter.render(captured).values())))
    imported = lockfile.seal(importers.read_file(path))
    report = diff(captured, imported)
    assert not report.differs, [c.describe() for c in report.changes if c.change != "unknown"]
    assert [c.change for c in report.changes if c.subject == "environment kind"] == ["unknown"]
    # Two captures of different kinds show it, as how the environment was made (verify calls it info).
    venv = lockfile.seal(dataclasses.replace(captured, python=dataclasses.replace(captured.python, kind="venv")))
    assert [(c.subject, c.change) for c in diff(captured, venv).changes] == [("environment kind", "provenance")]


def test_a_gpu_with_no_name_reads_unknown_gpu() -> None:
    # A GPU NVML could not name (GPU is lost) read ",  (sm 8.0)", a blank entry.
    a = _lock(
        PythonPackage("numpy", "1.26.4"), hardware=Hardware(gpus=(Gpu(0, "NVIDIA A100", "8.0"), Gpu(1, "", "8.0")))
    )
    b = _lock(PythonPackage("numpy", "1.26.4"), hardware=Hardware(gpus=(Gpu(0, "NVIDIA A100", "8.0"),)))
    (gpus,) = [c for c in diff(a, b).changes if c.subject == "GPUs"]
    assert gpus.old == "NVIDIA A100 (sm 8.0), unknown GPU (sm 8.0)" and gpus.new == "NVIDIA A100 (sm 8.0)"


def test_a_moved_version_reads_each_version_once_to_the_same_answers() -> None:
    """``version_moved`` is ``None`` exactly where ``same_version`` says one version, and ``version_change``'s answer
    otherwise (the diff of 5,000 packages asks it once per changed version, where it asked both)."""
    from packaging.version import InvalidVersion, Version

    from envsnap.compare.diff import same_version, version_moved

    def one_version(old: str, new: str) -> bool:
        try:
            return old == new or Version(old) == Version(new)
        except InvalidVersion:
            return False

    versions = ["1", "1.0", "1.0.0", "01.0", "1.0.1", "1.1", "2", "2024.01", "2024.1", "1.0rc1", "1.0.post1"]
    versions += ["2.1+CU121", "2.1.0+cu121", "2.1.0+cu124", "1!1.0", "1" * 30, "not a version", "NOT A VERSION"]
    for old in versions:
        for new in versions:
            moved = version_moved(old, new)
            assert same_version(old, new) is one_version(old, new) is (moved is None), (old, new)
            if moved is not None:
                assert moved == version_change(old, new), (old, new)
            assert version_moved(old, new, same=("version", "")) == version_change(old, new), (old, new)


def test_a_file_by_url_and_the_same_file_pinned_differ_only_between_two_captures() -> None:
    """An explicit file's ``# pip NAME @ URL#sha256=HEX`` line is one spelling for a wheel pip installed by path and
    for an index package pinned to that file; its import reads it as the pinned file. Against the capture of the
    wheel installed by path that is no change (diff said "file:///... -> index (source)"); between two captures,
    which record how pip was asked, it still is one."""
    from envsnap.model import Artifact, Meta

    url = "file:///srv/wheels/proj-1.0-py3-none-any.whl"
    by_path = PythonPackage(
        "proj",
        "1.0",
        wheel_tags=("py3-none-any",),
        source=Source(kind="archive", url=url, archive_hash="sha256=" + "a" * 64),
    )
    pinned = PythonPackage(
        "proj", "1.0", wheel_tags=("py3-none-any",), artifact=Artifact("proj-1.0-py3-none-any.whl", url, "a" * 64)
    )
    captured = _lock(by_path)
    imported = dataclasses.replace(_lock(pinned), envsnap=Meta(origin="conda-explicit"))
    # (Nothing else differs here, so diff names the fields it does not compare: never a package.)
    assert [c.subject for c in diff(captured, imported).changes] == ["other fields"]
    assert [c.subject for c in diff(imported, captured).changes] == ["other fields"]
    other = dataclasses.replace(pinned, artifact=Artifact("proj-1.0-py3-none-any.whl", url, "b" * 64))
    changed = diff(captured, dataclasses.replace(_lock(other), envsnap=Meta(origin="conda-explicit"))).changes
    assert [c.describe() for c in changed] == [f"proj: {url} -> index (source)"]
    assert [c.describe() for c in diff(captured, _lock(pinned)).changes] == [f"proj: {url} -> index (source)"]


@pytest.mark.parametrize("fmt", ["pylock", "requirements"])
def test_a_local_sdist_outside_a_work_tree_is_one_source_after_its_export_imported_beside_it(
    tmp_path: Path, cli: Callable[..., Any], fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An sdist installed by path from a folder outside any git work tree: capture records its absolute URL, the
    import of the lock's export written in that folder records it under ``{project}`` (the lock's folder there).
    The diff said ``tinysd: file:///.../tinysd-0.1.0.tar.gz -> file://{project}/tinysd-0.1.0.tar.gz (source)``:
    one file (its sha256) spelt two ways. Another file at a labelled URL is still a source change."""
    lab = tmp_path / "lab"
    lab.mkdir()
    monkeypatch.chdir(lab)  # a requirements file's paths are read from the working directory
    url = (lab / "tinysd-0.1.0.tar.gz").as_uri()
    sdist = Source(kind="archive", url=url, archive_hash="sha256=" + "a" * 64)
    six = PythonPackage("six", "1.17.0", wheel_tags=("py3-none-any",))
    captured = _lock(PythonPackage("tinysd", "0.1.0", wheel_tags=("py3-none-any",), source=sdist), six)
    lockfile.dump(lockfile.seal(captured), lab / "env.lock")
    exported = lab / ("pylock.toml" if fmt == "pylock" else "requirements.txt")
    assert cli("export", "-f", fmt, "-o", exported, lab / "env.lock").code == 0
    assert cli("import", "-o", lab / "imported.lock", exported).code == 0
    assert "file://{project}/tinysd-0.1.0.tar.gz" in (lab / "imported.lock").read_text()
    result = cli("diff", lab / "env.lock", lab / "imported.lock")
    # (The import's sdist has no wheel tags: that one field is unknown to it, never a change.)
    said = [line for line in result.out.splitlines() if "tinysd" in line]
    assert all("B does not record it" in line for line in said) and "source" not in result.out, result.out
    assert result.code == 0, result.out
    # Another file under the label (another sha256) is another source.
    other = lockfile.load(lab / "imported.lock")
    moved = [
        dataclasses.replace(p, source=dataclasses.replace(p.source, archive_hash="sha256=" + "b" * 64))
        if p.name == "tinysd"
        else p
        for p in other.python.packages
    ]
    other = dataclasses.replace(other, python=dataclasses.replace(other.python, packages=tuple(moved)))
    changes = [c for c in diff(captured, other).changes if c.subject == "tinysd"]
    assert [c.describe() for c in changes] == [f"tinysd: {url} -> file://{{project}}/tinysd-0.1.0.tar.gz (source)"]


def test_wheel_tags_one_lock_does_not_record_are_unknown_against_an_import_never_a_move(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A lock that records no wheel tags for a package (a capture of a distribution with no WHEEL file, as an
    egg-info install leaves) against an import that names its wheel (a pylock.toml, a uv.lock's export): diff printed
    ``legacy: (none) -> py3-none-any (build, wheel tag)``, a move from a fact one lock does not have. It is unknown
    there, said as the lock that lacks it, as for the other facts one side lacks; between two captures it is a
    change."""
    from envsnap.model import Meta

    captured = lockfile.seal(_lock(PythonPackage("legacy", "0.1.0"), PythonPackage("six", "1.17.0")))
    wheel = PythonPackage("legacy", "0.1.0", wheel_tags=("py3-none-any",))
    imported = lockfile.seal(
        dataclasses.replace(_lock(wheel, PythonPackage("six", "1.17.0")), envsnap=Meta(origin="pylock"))
    )
    lockfile.dump(captured, tmp_path / "a.lock")
    lockfile.dump(imported, tmp_path / "b.lock")
    for a, b, said in (
        ("a.lock", "b.lock", "legacy: (unknown) -> py3-none-any (A records no wheel tags)"),
        ("b.lock", "a.lock", "legacy: py3-none-any -> (unknown) (B records no wheel tags)"),
    ):
        result = cli("diff", tmp_path / a, tmp_path / b)
        assert result.code == 0, result.out
        assert [line.split(None, 1)[1] for line in result.out.splitlines()[:-1]] == [said], result.out
        assert result.out.splitlines()[-1] == "1 change: 1 unknown (nothing both locks record differs)"
    # Tags both record still differ; and between two captures no tags against a wheel's is a change of build.
    other = dataclasses.replace(wheel, wheel_tags=("cp311-cp311-linux_x86_64",))
    assert [
        (c.change, c.kind)
        for c in diff(
            dataclasses.replace(
                imported, python=dataclasses.replace(imported.python, packages=(other, PythonPackage("six", "1.17.0")))
            ),
            imported,
        ).changes
    ] == [("changed", "build")]
    assert [
        (c.change, c.kind) for c in diff(captured, dataclasses.replace(imported, envsnap=captured.envsnap)).changes
    ] == [("changed", "build")]


def test_a_conda_packages_python_distribution_of_another_name_is_no_change_where_the_conda_layers_agree() -> None:
    """conda's ``pytorch`` installs the ``torch`` distribution: ``diff`` of a capture against its conda-explicit
    import read ``torch: 2.1.0 -> (unknown)``, though both locks record the same pytorch archive. A conda-managed
    distribution comes from one of its lock's conda records; where the other lock records every one of them as the
    same archive, it holds the same distribution. Where any of them differs, it stays unknown."""
    from envsnap.model import Conda, CondaPackage, Meta, PythonPackage

    pytorch = CondaPackage("pytorch", "2.1.0", "py_0", channel="file:///c", subdir="noarch", sha256="a" * 64)
    six = CondaPackage("six", "1.16.0", "py_0", channel="file:///c", subdir="noarch", sha256="b" * 64)
    captured = sample_lock(
        conda=Conda(subdir="linux-64", packages=(pytorch, six)),
        python=sample_python(
            packages=(
                PythonPackage(name="torch", version="2.1.0", conda_managed=True),
                PythonPackage(name="six", version="1.16.0", conda_managed=True),
            )
        ),
    )
    imported = dataclasses.replace(
        captured,
        envsnap=Meta(origin="conda-explicit", unknown=("hardware",)),
        python=dataclasses.replace(captured.python, packages=()),
    )
    assert [c for c in diff(captured, imported).changes if c.area in ("python", "conda")] == []
    assert [c for c in diff(imported, captured).changes if c.area in ("python", "conda")] == []
    # Another pytorch build in the import: the conda line says so, and torch is unknown, not the same.
    other = dataclasses.replace(
        imported, conda=Conda(subdir="linux-64", packages=(dataclasses.replace(pytorch, build="py_1"), six))
    )
    changes = {(c.area, c.subject): c for c in diff(captured, other).changes}
    assert changes[("python", "torch")].change == "unknown"
    assert ("conda", "pytorch") in changes and ("python", "six") not in changes


def test_a_conda_package_of_another_archive_by_the_hash_both_locks_record_is_a_change() -> None:
    """A capture against an explicit file's import (md5 only) whose pytorch line names another archive (another md5,
    same version and build) read "nothing both locks record differs", exit 0: only a sha256 both recorded was
    compared. Another sha256 read "pytorch: 2.1.0=py_0 -> 2.1.0=py_0 (build)", the same text on both sides. Each
    hash both locks record is compared, and the line names the hashes that differ."""
    from envsnap.model import Conda, CondaPackage, Meta, PythonPackage

    pytorch = CondaPackage(
        "pytorch", "2.1.0", "py_0", channel="file:///c", subdir="noarch", md5="1" * 32, sha256="a" * 64
    )
    captured = sample_lock(
        conda=Conda(subdir="linux-64", packages=(pytorch,)),
        python=sample_python(packages=(PythonPackage(name="torch", version="2.1.0", conda_managed=True),)),
    )
    imported = dataclasses.replace(
        captured,
        envsnap=Meta(origin="conda-explicit"),
        conda=Conda(subdir="linux-64", packages=(dataclasses.replace(pytorch, md5="2" * 32, sha256=""),)),
        python=dataclasses.replace(captured.python, packages=()),
    )
    report = diff(captured, imported)
    changes = {(c.area, c.subject): c for c in report.changes}
    assert report.differs
    line = changes[("conda", "pytorch")]
    assert (line.kind, line.old, line.new) == ("build", f"md5 {'1' * 32}", f"md5 {'2' * 32}")
    assert changes[("python", "torch")].change == "unknown"
    other = dataclasses.replace(
        imported, conda=Conda(subdir="linux-64", packages=(dataclasses.replace(pytorch, sha256="b" * 64),))
    )
    line = {(c.area, c.subject): c for c in diff(captured, other).changes}[("conda", "pytorch")]
    assert (line.kind, line.old, line.new) == ("build", f"sha256 {'a' * 64}", f"sha256 {'b' * 64}")
    # The same archive, one hash recorded on one side only: no change.
    same = dataclasses.replace(
        imported, conda=Conda(subdir="linux-64", packages=(dataclasses.replace(pytorch, sha256=""),))
    )
    assert [c for c in diff(captured, same).changes if c.area in ("conda", "python")] == []


def test_a_file_name_one_import_does_not_record_is_unknown_not_a_difference(tmp_path: Path) -> None:
    """uv's ``pip compile --generate-hashes`` and ``--format pylock.toml`` of one resolution name the same wheels,
    the first by hash alone: its import records the pinned file's sha256 with a blank name and URL. diff read
    ``other fields differ: python.packages[six].artifact.filename, ...`` and exited 1 for the same files; a blank an
    imported lock leaves is what its format does not say, as for a field it leaves out. A blank in a capture, and a
    value both record otherwise, still differ."""
    from envsnap import importers
    from envsnap.compare.diff import diff_files

    six = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    url = "https://files.pythonhosted.org/packages/b7/ce/149a/six-1.17.0-py2.py3-none-any.whl"
    (tmp_path / "requirements.txt").write_text(f"six==1.17.0 \\\n    --hash=sha256:{six}\n")
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "six"\nversion = "1.17.0"\n'
        f'wheels = [{{ url = "{url}", hashes = {{ sha256 = "{six}" }} }}]\n'
    )
    for name in ("requirements.txt", "pylock.toml"):
        lockfile.dump(importers.read_file(tmp_path / name), tmp_path / f"{name}.lock")
    report = diff_files(tmp_path / "requirements.txt.lock", tmp_path / "pylock.toml.lock")
    assert not report.differs, [c.describe() for c in report.changes]
    (line,) = [c.describe() for c in report.changes]
    assert line.startswith("other fields unknown: ") and "python.packages[six].artifact.filename" in line

    # Another file name both record is still a difference.
    pylock = lockfile.load(tmp_path / "pylock.toml.lock")
    (pkg,) = pylock.python.packages
    assert pkg.artifact is not None
    renamed = dataclasses.replace(
        pkg, artifact=dataclasses.replace(pkg.artifact, filename="six-1.17.0-py3-none-any.whl")
    )
    other = dataclasses.replace(pylock, python=dataclasses.replace(pylock.python, packages=(renamed,)))
    lockfile.dump(other, tmp_path / "other.lock")
    assert diff_files(tmp_path / "pylock.toml.lock", tmp_path / "other.lock").differs


def test_the_tags_of_a_wheel_one_import_names_by_hash_alone_are_unknown_with_its_name(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A pylock import records the tags of the wheel it names; a hashed requirements file's import names no wheel.
    The pair of one resolution is the same environment, said in the one line that names what the requirements file
    does not record (the wheel's name, URL and tags); beside a real change the tags are an entry marked unknown."""
    six = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    url = "https://files.pythonhosted.org/packages/b7/ce/149a/six-1.17.0-py2.py3-none-any.whl"
    pylock = (
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "six"\nversion = "1.17.0"\n'
        f'wheels = [{{ url = "{url}", hashes = {{ sha256 = "{six}" }} }}]\n'
    )
    (tmp_path / "requirements.txt").write_text(f"six==1.17.0 \\\n    --hash=sha256:{six}\n")
    (tmp_path / "pylock.toml").write_text(pylock)
    for name in ("requirements.txt", "pylock.toml"):
        assert cli("import", tmp_path / name, "-o", tmp_path / f"{name}.lock").code == 0
    for a, b in (("requirements.txt", "pylock.toml"), ("pylock.toml", "requirements.txt")):
        result = cli("diff", tmp_path / f"{a}.lock", tmp_path / f"{b}.lock")
        assert result.code == 0, result.out
        (line, summary) = result.out.splitlines()
        assert line.startswith("lock  other fields unknown: ") and "python.packages[six].wheel_tags" in line
        assert summary == "1 change: 1 unknown (nothing both locks record differs)"
    idna_url = "https://files.example/idna-3.20-py3-none-any.whl"
    idna = f'wheels = [{{ url = "{idna_url}", hashes = {{ sha256 = "{"a" * 64}" }} }}]'
    (tmp_path / "more.toml").write_text(f'{pylock}\n[[packages]]\nname = "idna"\nversion = "3.20"\n{idna}\n')
    assert cli("import", tmp_path / "more.toml", "-o", tmp_path / "more.lock").code == 0
    result = cli("diff", tmp_path / "requirements.txt.lock", tmp_path / "more.lock")
    assert result.code == 1, result.out
    assert [line.split(None, 1)[1] for line in result.out.splitlines()[:-1]] == [
        "idna 3.20 added",
        "six: (unknown) -> py2-none-any, py3-none-any (A does not record it (imported from requirements))",
    ]


def test_a_rebuild_installed_by_another_tool_diffs_as_the_same_environment(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The author's lock of a pip-installed venv against the capture of its faithful rebuild (uv installs it)
    printed "other fields differ: python.packages[six].installer" and exited 1, where verify of the same pair says
    identical: the tool that installed a package is how it got there, not what runs. It is shown, as info; a real
    change beside it, or a package moving between the pip and the conda layer, still differs."""
    six = PythonPackage(name="six", version="1.17.0", installer="pip", record_digest="sha256:" + "a" * 64)
    authors = lockfile.dump(_lock(six), tmp_path / "authors.lock")
    mine = lockfile.dump(_lock(dataclasses.replace(six, installer="uv")), tmp_path / "mine.lock")
    result = cli("diff", authors, mine)
    assert result.code == 0, result
    assert "installer: pip -> uv (six" in result.out and "other fields differ" not in result.out
    data = json.loads(cli("diff", authors, mine, "--json").out)
    assert data["identical"] is False and data["differs"] is False
    assert [(c["change"], c["kind"], c["old"], c["new"]) for c in data["changes"]] == [
        ("provenance", "installer", "pip", "uv")
    ]
    edited = dataclasses.replace(six, installer="uv", record_digest="sha256:" + "b" * 64)
    assert cli("diff", authors, lockfile.dump(_lock(edited), tmp_path / "edited.lock")).code == 1
    conda = lockfile.dump(_lock(dataclasses.replace(six, installer="conda")), tmp_path / "conda.lock")
    moved = cli("diff", authors, conda)
    assert moved.code == 1 and "python.packages[six].installer" in moved.out


def test_an_editable_project_moved_and_installed_again_diffs_as_verify_says_info(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A project moved and installed again with ``pip install -e .``: its RECORD lists the ``.pth`` hook naming the
    new folder, so its digest differs, and the lock captured there records ``file://{project}`` again. diff said
    ``build, other files (RECORD digest)``, exit 1, where verify calls it info; it is shown as no drift, exit 0.
    Another digest of a folder installed as a wheel (its modules), or another folder, still differs."""
    folder = Source(kind="directory", url="file://{project}", editable=True)
    proj = PythonPackage(name="proj", version="0.1", source=folder, record_digest="sha256:" + "a" * 64)
    before = lockfile.dump(_lock(proj), tmp_path / "before.lock")
    moved = dataclasses.replace(proj, record_digest="sha256:" + "b" * 64)
    after = lockfile.dump(_lock(moved), tmp_path / "after.lock")
    result = cli("diff", before, after)
    assert result.code == 0, result
    assert "proj: sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb (other RECORD digest of an editable install" in result.out
    assert "(nothing both locks record differs but the editable hook of proj)" in result.out, result.out
    assert "other fields differ" not in result.out
    data = json.loads(cli("diff", before, after, "--json").out)
    assert data["differs"] is False and [(c["change"], c["kind"]) for c in data["changes"]] == [("provenance", "build")]
    assert diff(lockfile.load(before), lockfile.load(after)).differs is False
    # Not editable: the RECORD lists the modules, other files are other code.
    wheel = dataclasses.replace(folder, editable=False)
    built = [
        lockfile.dump(_lock(dataclasses.replace(p, source=wheel)), tmp_path / n) for p, n in ((proj, "c"), (moved, "d"))
    ]
    rebuilt = cli("diff", *built)
    assert rebuilt.code == 1 and "(build, other files (RECORD digest))" in rebuilt.out, rebuilt.out
    # Installed editable from another folder: the source.
    other = dataclasses.replace(moved, source=dataclasses.replace(folder, url="file:///lab/proj-other"))
    elsewhere = cli("diff", before, lockfile.dump(_lock(other), tmp_path / "other.lock"))
    assert elsewhere.code == 1 and "editable /lab/proj-other (source)" in elsewhere.out, elsewhere.out


def test_an_editable_git_checkout_with_another_record_diffs_as_verify_says_info(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``pip install -e git+URL@COMMIT#egg=tool`` captured twice, its checkout cloned into another ``src`` folder
    between (a venv made again, ``pip install --src``): its RECORD lists the ``.pth`` hook naming that folder, so its
    digest differs at one commit. diff said ``build, other files (RECORD digest)``, exit 1, where verify calls it
    info: the source of a checkout names no ``editable`` as a folder's does. Not editable, it still differs."""
    commit = "c" * 40
    checkout = Source(kind="vcs", vcs="git", url="https://example.org/lab/tool", commit_id=commit, editable=True)
    tool = PythonPackage(name="tool", version="0.3", source=checkout, record_digest="sha256:" + "a" * 64)
    again = dataclasses.replace(tool, record_digest="sha256:" + "b" * 64)
    before = lockfile.dump(_lock(tool), tmp_path / "before.lock")
    after = lockfile.dump(_lock(again), tmp_path / "after.lock")
    result = cli("diff", before, after)
    assert result.code == 0, result
    assert "tool: sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb (other RECORD digest of an editable install" in result.out
    assert "(nothing both locks record differs but the editable hook of tool)" in result.out, result.out
    data = json.loads(cli("diff", before, after, "--json").out)
    assert data["differs"] is False and [(c["change"], c["kind"]) for c in data["changes"]] == [("provenance", "build")]
    assert diff(lockfile.load(before), lockfile.load(after)).differs is False
    # Built as a wheel from the commit (not editable): its RECORD lists the modules.
    built = [
        lockfile.dump(_lock(dataclasses.replace(p, source=dataclasses.replace(checkout, editable=False))), tmp_path / n)
        for p, n in ((tool, "c.lock"), (again, "d.lock"))
    ]
    rebuilt = cli("diff", *built)
    assert rebuilt.code == 1 and "(build, other files (RECORD digest))" in rebuilt.out, rebuilt.out


def test_an_editable_checkout_named_by_its_folder_in_an_older_lock_diffs_as_verify_says_identical(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A lock captured before envsnap read an editable checkout's commit records ``pip install -e
    git+URL@COMMIT#egg=tool`` as the folder pip cloned it into, ``editable file://{prefix}/src/tool``; a capture now
    records the checkout, ``git+URL@COMMIT``. verify says the pair identical; diff said ``source``, exit 1. It is
    provenance now, exit 0, either way round. Another folder, a non-editable install or another RECORD of its
    files still differ."""
    commit = "c" * 40
    folder = Source(kind="directory", url="file://{prefix}/src/tool", editable=True)
    checkout = Source(kind="vcs", vcs="git", url="https://example.org/lab/tool", commit_id=commit, editable=True)
    tool = PythonPackage(name="tool", version="0.3", source=folder, record_digest="sha256:" + "a" * 64)

    def lock(name: str, **changes: Any) -> str:
        return lockfile.dump(_lock(dataclasses.replace(tool, **changes)), tmp_path / name)

    older, now = lock("older.lock"), lock("now.lock", source=checkout)
    result = cli("diff", older, now)
    assert result.code == 0, result
    assert f"tool: editable {{prefix}}/src/tool -> git+https://example.org/lab/tool@{commit} (one editable" in (
        result.out
    ), result.out
    assert "(nothing both locks record differs but the editable checkout of tool)" in result.out, result.out
    assert "other fields differ" not in result.out
    assert cli("diff", now, older).code == 0
    data = json.loads(cli("diff", older, now, "--json").out)
    assert data["differs"] is False
    assert [(c["change"], c["kind"]) for c in data["changes"]] == [("provenance", "source")], data
    assert diff(lockfile.load(older), lockfile.load(now)).differs is False
    # A monorepo: src/tool/DIR is the checkout's #subdirectory=DIR; another folder of it is another package.
    sub = dataclasses.replace(checkout, subdirectory="pkgs/tool")
    in_mono = lock("mono.lock", source=dataclasses.replace(folder, url="file://{prefix}/src/tool/pkgs/tool"))
    assert cli("diff", in_mono, lock("sub.lock", source=sub)).code == 0
    assert cli("diff", in_mono, now).code == 1
    # The install's files differ too: its editable hook's RECORD, provenance; other wheel tags, a build change.
    hook = cli("diff", older, lock("hook.lock", source=checkout, record_digest="sha256:" + "b" * 64))
    assert hook.code == 0 and "other RECORD digest of its editable hook" in hook.out, hook.out
    tags = cli("diff", older, lock("tags.lock", source=checkout, wheel_tags=("py3-none-any",)))
    assert tags.code == 1 and "(build, wheel tag)" in tags.out, tags.out
    # Real source changes: another folder, another project's src, a non-editable install of the commit.
    for name, source in (
        ("elsewhere.lock", dataclasses.replace(folder, url="file:///lab/tool")),
        ("other.lock", dataclasses.replace(folder, url="file://{prefix}/src/other")),
    ):
        changed = cli("diff", lock(name, source=source), now)
        assert changed.code == 1 and "(source)" in changed.out, changed.out
    built = cli("diff", older, lock("built.lock", source=dataclasses.replace(checkout, editable=False)))
    assert built.code == 1 and "(source)" in built.out, built.out


def test_a_pinned_lock_against_the_capture_of_its_faithful_rebuild_reads_the_file_as_not_recorded(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A bundle's (pinned) lock against the capture of its faithful rebuild printed one ``six: six-1.17.0-...whl ->
    (not pinned) (artifact)`` per package and exited 1, where verify says identical: a capture records no pinned
    file. Where the installed files agree (version, source, RECORD digest) the file is not recorded on that side;
    another pinned file on both sides, or other files installed, still differs."""
    from envsnap.model import Artifact

    name = "six-1.17.0-py2.py3-none-any.whl"
    wheel = Artifact(filename=name, url=f"https://files.example/{name}", sha256="a" * 64)
    record = "sha256:" + "c" * 64
    six = PythonPackage("six", "1.17.0", installer="pip", wheel_tags=("py2.py3-none-any",), record_digest=record)
    authors = lockfile.dump(_lock(dataclasses.replace(six, artifact=wheel)), tmp_path / "authors.lock")
    mine = lockfile.dump(_lock(dataclasses.replace(six, installer="uv")), tmp_path / "mine.lock")
    result = cli("diff", authors, mine)
    assert result.code == 0, result
    assert f"six: {name} -> (unknown) (B records no pinned file)" in result.out, result.out
    assert "(not pinned)" not in result.out
    data = json.loads(cli("diff", mine, authors, "--json").out)
    assert data["differs"] is False
    assert [(c["change"], c["old"], c["new"]) for c in data["changes"]] == [
        ("unknown", "", name),
        ("provenance", "uv", "pip"),
    ]
    # Another pinned file on both sides is still a change.
    other = dataclasses.replace(six, artifact=dataclasses.replace(wheel, sha256="b" * 64))
    changed = cli("diff", authors, lockfile.dump(_lock(other), tmp_path / "other.lock"))
    assert changed.code == 1 and "(artifact, other sha256)" in changed.out, changed.out
    # Other installed files (another RECORD digest) are still a change, pinned or not.
    edited = dataclasses.replace(six, record_digest="sha256:" + "d" * 64)
    assert cli("diff", authors, lockfile.dump(_lock(edited), tmp_path / "edited.lock")).code == 1


def test_a_system_lock_against_the_capture_of_its_venv_rebuild_differs_in_nothing_that_runs(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A lock captured from a system interpreter (``python.kind = "system"``), rebuilt with ``--target venv`` and
    captured, diffed as ``environment kind: system -> venv (value)`` and exited 1, where verify calls the kind info
    and exits 0: how the environment was made, not what runs. It is shown, as info; a real change still differs."""
    six = PythonPackage("six", "1.17.0", installer="pip", record_digest="sha256:" + "a" * 64)
    system = _lock(six)
    assert system.python.kind == "system"
    authors = lockfile.dump(system, tmp_path / "authors.lock")
    venv = dataclasses.replace(system, python=dataclasses.replace(system.python, kind="venv"))
    mine = lockfile.dump(venv, tmp_path / "mine.lock")
    result = cli("diff", authors, mine)
    assert result.code == 0, result
    assert "environment kind: system -> venv (" in result.out and "(value" not in result.out, result.out
    data = json.loads(cli("diff", authors, mine, "--json").out)
    assert data["differs"] is False
    assert [(c["subject"], c["change"], c["old"], c["new"]) for c in data["changes"]] == [
        ("environment kind", "provenance", "system", "venv")
    ]
    edited = dataclasses.replace(six, version="1.16.0")
    moved = dataclasses.replace(venv, python=dataclasses.replace(venv.python, packages=(edited,)))
    assert cli("diff", authors, lockfile.dump(moved, tmp_path / "moved.lock")).code == 1


def test_a_field_no_comparison_looks_at_still_differs_beside_entries_that_are_no_drift(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Two captured locks whose every entry is no drift (the environment kind, a file pinned in one lock only) were
    not compared field by field, so a difference no comparison looks at (a package's ``requested``) was hidden and
    the diff exited 0; with the same kind on both sides it read ``other fields differ``, exit 1. What those entries
    explain (the kind, the pinned file, the lock a bundle was made from) is left out of the field comparison."""
    from envsnap.model import Artifact

    name = "six-1.17.0-py2.py3-none-any.whl"
    wheel = Artifact(filename=name, url=f"https://files.example/{name}", sha256="a" * 64)
    six = PythonPackage("six", "1.17.0", installer="pip", requested=True, record_digest="sha256:" + "c" * 64)
    system = _lock(dataclasses.replace(six, artifact=wheel))
    authors = lockfile.dump(
        dataclasses.replace(system, envsnap=dataclasses.replace(system.envsnap, made_from="sha256:" + "e" * 64)),
        tmp_path / "authors.lock",
    )
    faithful = dataclasses.replace(
        system,
        python=dataclasses.replace(system.python, kind="venv", packages=(dataclasses.replace(six, installer="uv"),)),
    )
    result = cli("diff", authors, lockfile.dump(faithful, tmp_path / "faithful.lock"))
    assert result.code == 0 and "other fields" not in result.out, result.out
    assert "installer: pip -> uv" in result.out and "environment kind: system -> venv" in result.out, result.out
    unrequested = dataclasses.replace(six, installer="uv", requested=False)
    moved = dataclasses.replace(faithful, python=dataclasses.replace(faithful.python, packages=(unrequested,)))
    result = cli("diff", authors, lockfile.dump(moved, tmp_path / "moved.lock"))
    assert result.code == 1 and "python.packages[six].requested" in result.out, result.out
    assert "artifact" not in result.out.split("other fields")[1].split("\n")[0], result.out


def test_a_driver_that_did_not_answer_in_one_lock_is_said_so_not_removed(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    answered = _lock(
        nvidia=Nvidia(driver_version="575.51.03", cuda_driver_version="12.9", source="nvml"),
        hardware=Hardware(gpus=(Gpu(0, "NVIDIA H100", "9.0"),)),
    )
    dead = _lock(nvidia=Nvidia(source="nvml", error="nvmlInit: Driver Not Loaded"))
    said = "the NVIDIA driver did not answer in B: nvmlInit: Driver Not Loaded"
    lines = [c.describe() for c in diff(answered, dead).changes]
    assert lines == [
        f"NVIDIA driver: 575.51.03 -> (none) ({said})",
        f"driver CUDA: 12.9 -> (none) ({said})",
        f"GPUs: NVIDIA H100 (sm 9.0) -> (none) ({said})",
    ]
    back = [c.describe() for c in diff(dead, answered).changes]
    assert back[0] == (
        "NVIDIA driver: (none) -> 575.51.03 (the NVIDIA driver did not answer in A: nvmlInit: Driver Not Loaded)"
    )
    # The CLI (which compares views of the two files) says the same, still a difference: exit 1.
    a = lockfile.dump(answered, tmp_path / "a.lock")
    b = lockfile.dump(dead, tmp_path / "b.lock")
    out = cli("diff", a, b)
    assert out.code == 1 and f"NVIDIA driver: 575.51.03 -> (none) ({said})" in out.out
    assert "removed" not in out.out
    # A lock without any driver (no [nvidia] table) still reads as the driver removed.
    assert diff(answered, _lock(nvidia=None)).changes[0].describe() == "NVIDIA driver 575.51.03 removed"


def test_an_error_beside_a_driver_that_answered_is_said(tmp_path: Path, cli: Callable[..., Any]) -> None:
    # Both locks record the driver; one GPU did not answer in B (``nvidia.error``). The diff showed only "unknown GPU"
    # in the GPUs line, and where no GPU's name changed, the error only as "other fields ... nvidia.error".
    h100 = Gpu(0, "NVIDIA H100", "9.0")
    driver = Nvidia(driver_version="550.54.14", cuda_driver_version="12.4", source="nvml")
    error = "GPU 1: nvmlDeviceGetName: GPU is lost"
    healthy = _lock(nvidia=driver, hardware=Hardware(gpus=(h100, dataclasses.replace(h100, index=1))))
    lost = _lock(
        nvidia=dataclasses.replace(driver, error=error),
        hardware=Hardware(gpus=(h100, dataclasses.replace(h100, index=1, name=""))),
    )
    note = "(value, the error NVML gave at capture, beside the driver's version)"
    said = f"NVIDIA driver error: (none) -> {error} {note}"
    out = cli("diff", lockfile.dump(healthy, tmp_path / "a.lock"), lockfile.dump(lost, tmp_path / "b.lock"))
    assert out.code == 1 and said in out.out, out.out
    # The same GPUs on both sides, only the error differs: said, not "other fields".
    memory = _lock(nvidia=dataclasses.replace(driver, error="GPU 0: nvmlDeviceGetMemoryInfo: Unknown Error"))
    lines = [c.describe() for c in diff(_lock(nvidia=driver), memory).changes]
    assert lines == [
        "NVIDIA driver error: (none) -> GPU 0: nvmlDeviceGetMemoryInfo: Unknown Error (value, the error NVML gave at "
        "capture, beside the driver's version)"
    ]
    assert diff(memory, memory).changes == ()


def test_two_drivers_that_did_not_answer_alike_are_a_difference(tmp_path: Path, cli: Callable[..., Any]) -> None:
    # Both hosts' driver probes failed, each its own way: neither lock records a driver version, and the diff
    # showed no driver line at all, as if the two hosts' drivers were in the same state.
    missing = _lock(nvidia=Nvidia(source="nvml", error="libnvidia-ml.so.1 not found"))
    dead = _lock(nvidia=Nvidia(source="nvml", error="nvmlInit: Driver Not Loaded"))
    lines = [c.describe() for c in diff(missing, dead).changes]
    assert lines == [
        "NVIDIA driver: (none) -> (none) (the NVIDIA driver did not answer in A: libnvidia-ml.so.1 not found; "
        "in B: nvmlInit: Driver Not Loaded)"
    ]
    out = cli("diff", lockfile.dump(missing, tmp_path / "a.lock"), lockfile.dump(dead, tmp_path / "b.lock"), "--json")
    assert out.code == 1, out
    (change,) = json.loads(out.out)["changes"]
    assert (change["area"], change["change"], change["kind"], change["old"], change["new"]) == (
        "gpu",
        "changed",
        "unanswered",
        "",
        "",
    ), change
    # A host without a driver (no [nvidia] table) against one whose driver did not answer: they differ too.
    lines = [c.describe() for c in diff(_lock(nvidia=None), dead).changes]
    assert lines == [
        "NVIDIA driver: (none) -> (none) (A records no driver; the NVIDIA driver did not answer in B: nvmlInit: "
        "Driver Not Loaded)"
    ]
    # The same failure on both sides is no difference.
    assert diff(dead, _lock(nvidia=Nvidia(source="nvml", error="nvmlInit: Driver Not Loaded"))).changes == ()


def test_a_driver_that_did_not_answer_against_an_import_that_does_not_record_one(tmp_path: Path) -> None:
    # An import records no driver (``nvidia`` is unknown to it): the other lock's failed driver read
    # "NVIDIA driver: (unknown) -> (unknown)", as if neither lock knew that driver.
    from envsnap.model import Meta

    imported = _lock(nvidia=None, envsnap=Meta(origin="requirements", unknown=("nvidia", "hardware")))
    dead = _lock(nvidia=Nvidia(source="nvml", error="nvmlInit: Driver Not Loaded"))
    lines = [c.describe() for c in diff(imported, dead).changes if c.subject == "NVIDIA driver"]
    assert "NVIDIA driver: (unknown) -> (unknown) (A does not record it (imported from requirements))" not in lines
    assert lines == [], lines


def test_the_cuda_toolkit_is_compared_beside_other_changes() -> None:
    # Two hosts' /usr/local/cuda, 12.4 and 13.0: the toolkit was compared nowhere, named only among "other fields"
    # where nothing else differed, and not at all beside a package's change.
    from envsnap.model import Cuda

    six = PythonPackage("six", "1.16.0", installer="pip")
    a = _lock(six, cuda=Cuda(toolkit_version="12.4", toolkit_path="/usr/local/cuda"))
    b = _lock(
        dataclasses.replace(six, version="1.17.0"), cuda=Cuda(toolkit_version="13.0", toolkit_path="/usr/local/cuda")
    )
    lines = [c.describe() for c in diff(a, b).changes]
    assert "CUDA toolkit: 12.4 -> 13.0 (major, upgrade)" in lines, lines
    assert [c.describe() for c in diff(a, dataclasses.replace(a, cuda=None)).changes] == ["CUDA toolkit 12.4 removed"]


def test_a_system_library_added_or_removed_is_named_once_with_its_package(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    a = _lock(system=System(libraries=(SystemLibrary("libz.so.1", "/usr/lib/libz.so.1", "zlib1g"),)))
    b = _lock(system=System(libraries=(SystemLibrary("libgomp.so.1"),)))
    lines = sorted(c.describe() for c in diff(a, b).changes)
    assert lines == ["libgomp.so.1 added", "libz.so.1 (package zlib1g) removed"]
    out = cli("diff", lockfile.dump(a, tmp_path / "a.lock"), lockfile.dump(b, tmp_path / "b.lock"), "--json")
    removed = next(c for c in json.loads(out.out)["changes"] if c["subject"] == "libz.so.1")
    assert out.code == 1
    assert (removed["change"], removed["old"], removed["new"], removed["note"]) == (
        "removed",
        "libz.so.1",
        "",
        "package zlib1g",
    )


def test_a_commit_asked_for_otherwise_is_provenance_and_another_commit_still_differs() -> None:
    """Two captures of one git commit, installed as ``git+URL@main`` and as ``git+URL@COMMIT`` (pip's direct_url.json
    records each request as ``requested_revision``), read ``other fields differ: ...source.requested_revision``,
    exit 1: the same code. It is provenance (the commit is compared); another commit is still a change of source."""
    commit = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
    src = Source(kind="vcs", url="https://example.org/lab/tool.git", vcs="git", commit_id=commit)
    tool = PythonPackage(name="tool", version="1.0", installer="pip", source=src, record_digest="sha256:" + "a" * 64)

    def asked(revision: str, commit_id: str = commit) -> Snapshot:
        source = dataclasses.replace(src, requested_revision=revision, commit_id=commit_id)
        return _lock(dataclasses.replace(tool, source=source))

    report = diff(asked("main"), asked(commit))
    assert not report.differs, report.changes
    (change,) = report.changes
    assert (change.area, change.subject, change.change, change.old, change.new) == (
        "python",
        "tool",
        "provenance",
        "main",
        commit,
    )
    assert "the commit is compared" in change.describe()
    assert diff(asked(""), asked("main")).changes[0].change == "provenance"
    moved = diff(asked("main"), asked("main", "1" * 40))
    assert moved.differs and [c.kind for c in moved.changes] == ["source"], moved.changes


def test_two_locks_pinned_once_each_from_other_locks_do_not_differ_in_how_they_were_pinned(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``envsnap.pinned_from`` names the locks a lock was pinned from, left out of the comparison as ``created`` is.
    Two locks pinned once each (a requirements and a pylock import of one resolution, each pinned) hold one digest
    each, which the comparison named by its place, ``envsnap.pinned_from[0]``: ``other fields differ``, exit 1."""
    from envsnap.model import Meta

    six = PythonPackage(name="six", version="1.17.0", installer="pip", record_digest="sha256:" + "a" * 64)
    one, two = (_lock(six, envsnap=Meta(pinned_from=(f"sha256:{c * 64}",))) for c in "bc")  # type: ignore[arg-type]
    assert diff(one, two).identical, diff(one, two).changes
    three = _lock(six, envsnap=Meta(pinned_from=("sha256:" + "b" * 64, "sha256:" + "d" * 64)))  # type: ignore[arg-type]
    assert diff(one, three).identical
    paths = [lockfile.dump(lock, tmp_path / f"{n}.lock") for n, lock in (("one", one), ("two", two))]
    result = cli("diff", *paths)
    assert result.code == 0 and "pinned_from" not in result.out, result.out
    # Beside an import, which names what it does not record: pinned_from is not named there either.
    imported = dataclasses.replace(one, envsnap=Meta(origin="requirements"))
    assert all("pinned_from" not in c.new for c in diff(imported, two).changes), diff(imported, two).changes


def test_pin_notes_are_how_a_lock_was_pinned_not_a_difference(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """``pin`` writes what it could not pin into the lock's warnings (``pin: wlib 1.0.0: no wlib 1.0.0 wheel ...``,
    ``pin: system libc6 ...: cannot reach the index``), and a later pin or the bundle that found the file drops
    them. ``envsnap diff pinned.lock b/envsnap.lock`` read ``other fields differ: envsnap.warnings``, exit 1, for one
    environment (the lock's identity leaves pin notes out). They are how the lock was pinned: ``other fields
    unknown``, exit 0 (the locks still do not read identical); a capture's own warning that differs is a difference."""
    from envsnap.model import Meta

    six = PythonPackage(name="six", version="1.17.0", installer="pip", record_digest="sha256:" + "a" * 64)
    notes = (
        "pin: system libc6 2.36-9+deb12u14: https://snapshot.debian.org/mr/binary/libc6: cannot reach the index",
        "pin: wlib 1.0.0: no wlib 1.0.0 wheel with tag py3-none-any on the configured indexes",
    )
    captured = _lock(six, envsnap=Meta(warnings=("broken-dist: odd 1.0: no METADATA",)))
    pinned = _lock(six, envsnap=Meta(warnings=(captured.envsnap.warnings[0], notes[1])))
    bundled = _lock(six, envsnap=Meta(warnings=(captured.envsnap.warnings[0], notes[0])))
    for one, two in ((pinned, bundled), (captured, pinned)):
        report = diff(one, two)
        assert not report.differs and not report.identical, report.changes
        assert [(c.area, c.change, c.new) for c in report.changes] == [("lock", "unknown", "envsnap.warnings")]
    paths = [lockfile.dump(lock, tmp_path / f"{n}.lock") for n, lock in (("pinned", pinned), ("b", bundled))]
    result = cli("diff", *paths)
    assert result.code == 0, result
    assert result.out.splitlines()[0].startswith("lock  other fields unknown: envsnap.warnings"), result.out
    other = _lock(six, envsnap=Meta(warnings=("broken-dist: odd 2.0: no METADATA", notes[1])))
    changed = diff(pinned, other)
    assert [(c.area, c.kind, c.new) for c in changed.changes] == [("lock", "fields", "envsnap.warnings[0]")], changed


def test_one_file_s_upload_time_at_another_precision_is_no_difference() -> None:
    """``pin`` records PyPI's upload time of a file (``2024-12-04T17:35:26.475808Z``), the import of uv's pylock
    uv's (``2024-12-04T17:35:26Z``): the pinned requirements and pylock imports of one resolution said ``other fields
    differ: python.packages[six].artifact.upload_time``, exit 1, for one file. One moment to the second of one sha256
    is no difference; another second, or another file, still is."""
    from envsnap.model import Artifact

    art = Artifact(
        filename="six-1.17.0-py2.py3-none-any.whl",
        url="https://files.example/six-1.17.0-py2.py3-none-any.whl",
        sha256="a" * 64,
        size=11050,
        upload_time="2024-12-04T17:35:26.475808Z",
        index="https://pypi.org/simple",
    )
    six = PythonPackage(name="six", version="1.17.0", installer="pip", record_digest="sha256:" + "b" * 64, artifact=art)

    def at(when: str) -> Snapshot:
        return _lock(dataclasses.replace(six, artifact=dataclasses.replace(art, upload_time=when)))

    assert diff(at(art.upload_time), at("2024-12-04T17:35:26Z")).identical
    later = diff(at(art.upload_time), at("2024-12-04T17:35:27Z"))
    assert later.differs and "artifact.upload_time" in later.changes[0].new, later.changes


def test_a_bundles_lock_against_the_lock_it_was_made_from_names_the_wheels_it_built_as_provenance(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``bundle`` builds a wheel of each git or local-project package and pins it in its lock: ``diff pin.lock
    b/envsnap.lock`` read ``gitdep: (not pinned) -> gitdep-0.3.0-py3-none-any.whl (artifact)`` and exited 1, though
    the bundle's lock is the same environment with its files pinned. Where B names A in ``made_from``, such a wheel is
    provenance (exit 0); a lock not made from A, or an index package pinned in the bundle only, still differs."""
    from envsnap.model import Artifact

    def built(name: str) -> Artifact:
        return Artifact(filename=f"{name}-0.3.0-py3-none-any.whl", url="", sha256="b" * 64, rebuilt=True)

    git = Source(kind="vcs", vcs="git", url="file:///src/gitdep", commit_id="c" * 40)
    folder = Source(kind="directory", url="file:///src/mypkg", editable=True)
    six = PythonPackage("six", "1.17.0")
    pinned_six = dataclasses.replace(
        six, artifact=Artifact(filename="six-1.17.0-py2.py3-none-any.whl", url="https://f/six.whl", sha256="a" * 64)
    )
    gitdep, mypkg = PythonPackage("gitdep", "0.3.0", source=git), PythonPackage("mypkg", "0.3.0", source=folder)
    pin = lockfile.dump(_lock(gitdep, mypkg, pinned_six), tmp_path / "pin.lock")
    digest = lockfile.load(pin).envsnap.content_digest
    made = _lock(
        dataclasses.replace(gitdep, artifact=built("gitdep")),
        dataclasses.replace(mypkg, artifact=built("mypkg")),
        pinned_six,
    )
    bundled = lockfile.dump(
        dataclasses.replace(made, envsnap=dataclasses.replace(made.envsnap, made_from=digest)), tmp_path / "b.lock"
    )
    for pair in ((pin, bundled), (bundled, pin)):
        result = cli("diff", *pair)
        assert result.code == 0, result.out
        assert "gitdep: (not pinned) -> gitdep-0.3.0-py3-none-any.whl (the wheel the bundle built" in result.out or (
            pair[0] == bundled and "gitdep: gitdep-0.3.0-py3-none-any.whl -> (not pinned)" in result.out
        ), result.out
        assert "but the wheel the bundle built for gitdep and the wheel the bundle built for mypkg" in result.out
    as_json = json.loads(cli("diff", pin, bundled, "--json").out)
    assert {(c["subject"], c["change"], c["kind"]) for c in as_json["changes"]} == {
        ("gitdep", "provenance", "artifact"),
        ("mypkg", "provenance", "artifact"),
    }
    elsewhere = lockfile.dump(made, tmp_path / "elsewhere.lock")  # the same wheels, not made from pin.lock
    result = cli("diff", pin, elsewhere)
    assert result.code == 1 and "gitdep: (not pinned) -> gitdep-0.3.0-py3-none-any.whl (artifact)" in result.out
    unpinned = lockfile.dump(_lock(gitdep, mypkg, six), tmp_path / "unpinned.lock")
    made = dataclasses.replace(
        made, envsnap=dataclasses.replace(made.envsnap, made_from=lockfile.load(unpinned).envsnap.content_digest)
    )
    result = cli("diff", unpinned, lockfile.dump(made, tmp_path / "b2.lock"))
    assert result.code == 1 and "six: (not pinned) -> six-1.17.0-py2.py3-none-any.whl (artifact)" in result.out


def test_an_editable_projects_bundle_wheel_installed_is_no_build_change() -> None:
    """A capture of ``pip install -e .`` records the RECORD digest of the editable hook; bundled, the lock pins the
    wheel built from the project, and ``rebuild --bundle`` installs that wheel by its file. ``diff supp/envsnap.lock
    rebuilt.lock`` read "myproj: sha256:92ec... -> sha256:be59... (build, other files (RECORD digest))", a drift,
    where verify calls the RECORD info (an editable install's RECORD lists its hook, not the modules): it is the
    bundle's wheel installed, provenance, the editable install not kept said."""
    from envsnap.model import Artifact

    folder = Source(kind="directory", url="file://{project}", editable=True)
    wheel = Artifact(filename="myproj-0.1.0-py3-none-any.whl", url="file://{project}", sha256="b" * 64, rebuilt=True)
    hook = "sha256:" + "1" * 64
    bundled = _lock(
        PythonPackage(
            "myproj", "0.1.0", source=folder, wheel_tags=("py3-none-any",), record_digest=hook, artifact=wheel
        )
    )
    installed = Source(
        kind="archive", url="file:///r/supp/wheels/myproj-0.1.0-py3-none-any.whl", archive_hash="sha256=" + "b" * 64
    )
    rebuilt = _lock(
        PythonPackage(
            "myproj", "0.1.0", source=installed, wheel_tags=("py3-none-any",), record_digest="sha256:" + "2" * 64
        )
    )
    for a, b in ((bundled, rebuilt), (rebuilt, bundled)):
        [change] = [c for c in diff(a, b).changes if c.subject == "myproj"]
        assert (change.change, change.kind, change.weight) == ("provenance", "source", 0), change
        assert "this is a regular install of that wheel: verify warns of it" in change.note, change.note
    # Other files than the pinned wheel's own still differ: another version.
    other = _lock(dataclasses.replace(rebuilt.python.packages[0], version="0.2.0"))
    [change] = [c for c in diff(bundled, other).changes if c.subject == "myproj"]
    assert change.change == "changed" and change.weight > 0


def test_a_bundles_lock_against_the_capture_of_its_rebuild_reads_the_built_wheels_as_provenance(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``rebuild b/envsnap.lock --target venv --bundle b`` installs each wheel the bundle built by its file, so its
    direct_url.json names that file and its sha256: the capture of that venv records gitdep (the wheel built from its
    commit) and mypkg (of its editable folder) as that archive, and no pinned file. ``diff b/envsnap.lock cap.lock``
    reads the built wheel as provenance and the find-links file as unknown (exit 0). A capture naming the index
    (a wheel of that version from an index or a find-links folder: no direct_url.json) read as the bundle's wheel,
    provenance, when the rebuild left none (that assertion encoded the defect): it is unknown, said as such. Another
    version, another wheel's tags, another sha256 still differ, exit 1."""
    from envsnap.model import Artifact

    commit = "b9e9cf5228d0648335f2a6987b46ccbfef22560c"
    git = Source(kind="vcs", vcs="git", url="file:///lab/gitdep", commit_id=commit, requested_revision=commit)
    folder = Source(kind="directory", url="file:///lab/proj/mypkg", editable=True)

    def built(name: str, url: str) -> Artifact:
        return Artifact(filename=f"{name}-0.3.0-py3-none-any.whl", url=url, sha256="b" * 64, rebuilt=True)

    lab = Artifact(filename="labwheel-1.2.0-py3-none-any.whl", url="", sha256="8" * 64, index="file://{project}/w")
    bundled = _lock(
        PythonPackage("gitdep", "0.3.0", source=git, artifact=built("gitdep", f"git+file:///lab/gitdep@{commit}")),
        PythonPackage("labwheel", "1.2.0", wheel_tags=("py3-none-any",), artifact=lab),
        PythonPackage("mypkg", "0.3.0", source=folder, artifact=built("mypkg", "file:///lab/proj/mypkg")),
    )
    bundled = dataclasses.replace(
        bundled, envsnap=dataclasses.replace(bundled.envsnap, origin="requirements", made_from="sha256:" + "1" * 64)
    )
    lock_path = lockfile.dump(bundled, tmp_path / "envsnap.lock")

    def captured(
        name: str, version: str = "0.3.0", tags: tuple[str, ...] = ("py3-none-any",), sha256: str = "b" * 64
    ) -> PythonPackage:
        wheel = Source(
            kind="archive",
            url=f"file:///tmp/b/wheels/{name}-{version}-py3-none-any.whl",
            archive_hash="sha256=" + sha256,
        )
        return PythonPackage(
            name, version, installer="uv", wheel_tags=tags, record_digest="sha256:" + "c" * 64, source=wheel
        )

    def indexed(name: str, version: str = "0.3.0") -> PythonPackage:
        return dataclasses.replace(captured(name, version), source=Source())

    def capture(*packages: PythonPackage) -> Path:
        return lockfile.dump(_lock(*packages), tmp_path / f"cap{len(list(tmp_path.iterdir()))}.lock")

    faithful = capture(captured("gitdep"), indexed("labwheel", "1.2.0"), captured("mypkg"))
    result = cli("diff", lock_path, faithful)
    assert result.code == 0, result.out
    wheels = "/tmp/b/wheels"  # the URLs the locks record, by their paths
    assert (
        f"gitdep: git+/lab/gitdep@{commit} -> {wheels}/gitdep-0.3.0-py3-none-any.whl (installed from the "
        "bundle's wheel built from that source: direct_url.json names that file, the same sha256; verify calls it info)"
    ) in result.out, result.out
    assert f"mypkg: editable /lab/proj/mypkg -> {wheels}/mypkg-0.3.0-py3-none-any.whl (installed" in result.out
    assert "this is a regular install of that wheel: verify warns of it" in result.out, result.out
    assert "labwheel: labwheel-1.2.0-py3-none-any.whl -> (unknown) (B records no pinned file" in result.out
    assert "but the bundle's wheel installed for gitdep and the bundle's wheel installed for mypkg" in result.out
    assert cli("diff", faithful, lock_path).code == 0
    # A wheel of that version from an index or a find-links folder (a docker rebuild, pip from the bundle's folder,
    # or another project's wheel): no direct_url.json says which, so unknown, not the bundle's wheel (exit 0).
    other_commit = dataclasses.replace(git, commit_id="d" * 40, requested_revision="")
    lab_ok = indexed("labwheel", "1.2.0")
    result = cli("diff", lock_path, capture(indexed("gitdep"), lab_ok, captured("mypkg")))
    assert result.code == 0, result.out
    assert (
        f"gitdep: git+/lab/gitdep@{commit} -> index (installed from an index or a find-links folder, no "
        "direct_url.json: not known to be the bundle's wheel built from that source"
    ) in result.out, result.out
    # What truly differs still does: another version, a wheel of other tags, another file by path, another commit.
    for packages, shown in (
        ((captured("gitdep", "0.4.0"), lab_ok, captured("mypkg")), "gitdep: 0.3.0 -> 0.4.0"),
        (
            (captured("gitdep", tags=("cp311-cp311-linux_x86_64",)), lab_ok, captured("mypkg")),
            "gitdep: py3-none-any -> cp311-cp311-linux_x86_64 (build, wheel tag)",
        ),
        ((captured("gitdep", sha256="e" * 64), lab_ok, captured("mypkg")), "gitdep: git+/lab/gitdep@"),
        (
            (captured("gitdep"), dataclasses.replace(lab_ok, wheel_tags=("py2-none-any",)), captured("mypkg")),
            "labwheel: ",
        ),
        ((dataclasses.replace(captured("gitdep"), source=other_commit), lab_ok, captured("mypkg")), "(source)"),
    ):
        result = cli("diff", lock_path, capture(*packages))
        assert result.code == 1 and shown in result.out, result.out


def test_a_wheel_built_twice_from_one_commit_differs_in_build_and_from_a_folder_in_its_file(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Two bundles' wheels of one git commit, other sha256: the build is not reproducible (``build``). A folder's
    content no lock records, so its two wheels are still two files (``artifact``); an index wheel too."""
    from envsnap.model import Artifact

    commit = "b9e9cf5228d0648335f2a6987b46ccbfef22560c"
    git = Source(kind="vcs", vcs="git", url="https://example.org/gitdep", commit_id=commit)
    folder = Source(kind="directory", url="file:///lab/proj")

    def bundled(sha: str) -> Path:
        def built(name: str, source: Source) -> PythonPackage:
            art = Artifact(f"{name}-0.3.0-py3-none-any.whl", source.url, sha * 64, rebuilt=True)
            return PythonPackage(name, "0.3.0", source=source, artifact=art)

        return lockfile.dump(_lock(built("gitdep", git), built("proj", folder)), tmp_path / f"{sha}.lock")

    result = cli("diff", bundled("a"), bundled("b"))
    assert result.code == 1, result.out
    assert (
        "gitdep: sha256:aaaaaaaaaaaa... -> sha256:bbbbbbbbbbbb... (build, the wheel built twice from the same commit: "
        "the build is not reproducible)"
    ) in result.out, result.out
    assert "proj: proj-0.3.0-py3-none-any.whl -> proj-0.3.0-py3-none-any.whl (artifact, other sha256)" in result.out


def test_one_wheel_by_path_from_two_folders_is_provenance(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """Two rebuilds from one bundle, a folder and its archive (unpacked to a temporary folder), install the wheel it
    built by path from two folders: the captures name one file (its name and sha256) at two URLs. Provenance, exit
    0; another sha256 is another file, exit 1."""

    def captured(folder: str, sha256: str = "b" * 64) -> Path:
        url = f"file:///{folder}/wheels/mypkg-0.3.0-py3-none-any.whl"
        source = Source(kind="archive", url=url, archive_hash="sha256=" + sha256)
        pkg = PythonPackage("mypkg", "0.3.0", wheel_tags=("py3-none-any",), record_digest="sha256:" + "c" * 64)
        return lockfile.dump(_lock(dataclasses.replace(pkg, source=source)), tmp_path / f"{folder}-{sha256[0]}.lock")

    result = cli("diff", captured("lab/b"), captured("tmp/unpacked/bundle"))
    assert result.code == 0, result.out
    assert "(the same file (name and sha256) installed by path from another folder)" in result.out
    assert "nothing both locks record differs but the folder of mypkg's file" in result.out
    assert cli("diff", captured("lab/b"), captured("tmp/unpacked/bundle", "e" * 64)).code == 1


def test_a_file_the_imported_hashes_allow_pinned_in_the_other_lock_is_provenance(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``pip-compile --generate-hashes`` lists two files of six (``--hash`` twice): the import records both as
    candidates and pins neither. ``diff imp.lock pinned.lock`` (and the bundle's lock) read ``six: (not pinned) ->
    six-1.17.0-py2.py3-none-any.whl (artifact)``, exit 1, though the pinned file is one the import allows. A file
    whose sha256 is among the import's hashes is provenance (exit 0, either order); another sha256 still differs."""
    from envsnap.model import Artifact

    wheel, sdist = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274", "ff70" + "1" * 60
    req = tmp_path / "req.txt"
    req.write_text(f"six==1.17.0 \\\n    --hash=sha256:{wheel} \\\n    --hash=sha256:{sdist}\n    # via -r req.in\n")
    imported = tmp_path / "imp.lock"
    assert cli("import", req, "-o", imported).code == 0
    imp = lockfile.load(imported)
    six = imp.python.packages[0]
    assert six.artifact is None and {c.sha256 for c in six.candidates} == {wheel, sdist}

    def pinned(sha256: str, out: str) -> Path:
        art = Artifact(filename="six-1.17.0-py2.py3-none-any.whl", url="https://f/six.whl", sha256=sha256)
        packages = (dataclasses.replace(six, artifact=art),)  # as pin writes it: no wheel tags
        lock = dataclasses.replace(
            imp,
            python=dataclasses.replace(imp.python, packages=packages),
            envsnap=dataclasses.replace(imp.envsnap, pinned_from=(imp.envsnap.content_digest,)),
        )
        return lockfile.dump(lock, tmp_path / out)

    allowed = pinned(wheel, "pinned.lock")
    for pair in ((imported, allowed), (allowed, imported)):
        result = cli("diff", *pair)
        assert result.code == 0, result.out
        assert "artifact)" not in result.out and "but the file pinned for six" in result.out, result.out
    assert "six: (not pinned) -> six-1.17.0-py2.py3-none-any.whl (one of the files A's hashes allow" in (
        cli("diff", imported, allowed).out
    )
    as_json = json.loads(cli("diff", imported, allowed, "--json").out)
    assert [(c["subject"], c["change"], c["kind"]) for c in as_json["changes"] if c["area"] == "python"] == [
        ("six", "provenance", "artifact")
    ]
    other = pinned("e" * 64, "other.lock")  # a file the requirements file does not allow
    result = cli("diff", imported, other)
    assert result.code == 1 and "six: (not pinned) -> six-1.17.0-py2.py3-none-any.whl (artifact)" in result.out


def test_a_file_the_imported_hashes_do_not_allow_differs_though_the_import_names_no_wheel_tags(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A hashed requirement names no wheel, so its import records no wheel tags: against a lock pinning six to a file
    of another sha256 with its wheel tags (uv's pylock imported), ``diff`` read only ``other fields unknown:
    python.packages[six].artifact, python.packages[six].wheel_tags``, exit 0, the other file hidden behind the tags
    the import leaves blank; with one ``--hash`` (a file named by sha256 alone) ``six: (unknown) -> six-...whl``, exit
    0, the import's blank file name read as a field it leaves out. A file none of its hashes allow is an ``artifact``
    change, exit 1, its file named by its sha256 where it has no name; one they allow is not."""
    from envsnap.model import Artifact

    wheel, sdist = "4" * 64, "f" * 64
    for hashes in ((wheel, sdist), (wheel,)):
        req = tmp_path / "req.txt"
        req.write_text("six==1.17.0" + "".join(f" \\\n    --hash=sha256:{h}" for h in hashes) + "\n")
        imported = tmp_path / "imp.lock"
        assert cli("import", req, "-o", imported).code == 0
        imp = lockfile.load(imported)
        for tags in ((), ("py2-none-any", "py3-none-any")):

            def pinned(sha256: str, imp: Snapshot = imp, tags: tuple[str, ...] = tags) -> Path:
                art = Artifact(filename="six-1.17.0-py2.py3-none-any.whl", url="https://f/six.whl", sha256=sha256)
                six = dataclasses.replace(imp.python.packages[0], artifact=art, wheel_tags=tags)
                lock = dataclasses.replace(imp, python=dataclasses.replace(imp.python, packages=(six,)))
                return lockfile.dump(lock, tmp_path / f"{sha256[:4]}.lock")

            result = cli("diff", imported, pinned("e" * 64))
            old = "(not pinned)" if len(hashes) == 2 else "sha256:444444444444..."
            assert result.code == 1, (hashes, tags, result.out)
            assert f"six: {old} -> six-1.17.0-py2.py3-none-any.whl (artifact)" in result.out, result.out
            assert cli("diff", imported, pinned(wheel)).code == 0


def test_the_pin_output_and_a_bundle_made_from_one_lock_name_the_wheels_it_built_as_provenance(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``pin imp.lock`` and ``bundle imp.lock`` make two siblings: the pin output names the import in
    ``pinned_from``, the bundle's lock in ``made_from``, neither names the other. ``diff pinned.lock b/envsnap.lock``
    read ``gitdep: (not pinned) -> gitdep-0.3.0-py3-none-any.whl (artifact)``, exit 1, for each wheel the bundle built
    from a git commit or a local project both locks record alike. Where both name one origin lock, such a wheel is
    provenance (exit 0, either order); a lock naming another origin, a package of another commit, one whose commit
    neither records, or a wheel of another project still differs."""
    from envsnap.model import Artifact

    def built(name: str, version: str = "0.3.0") -> Artifact:
        return Artifact(filename=f"{name}-{version}-py3-none-any.whl", url="", sha256="b" * 64, rebuilt=True)

    origin = "sha256:" + "d" * 64  # the import both were made from
    git = Source(kind="vcs", vcs="git", url="file:///src/gitdep", commit_id="c" * 40)
    folder = Source(kind="directory", url="file:///src/mypkg", editable=True)
    gitdep, mypkg = PythonPackage("gitdep", "0.3.0", source=git), PythonPackage("mypkg", "0.3.0", source=folder)
    six = PythonPackage(
        "six",
        "1.17.0",
        artifact=Artifact(filename="six-1.17.0-py2.py3-none-any.whl", url="https://f/six.whl", sha256="a" * 64),
    )

    def write(name: str, *packages: PythonPackage, **envsnap: object) -> Path:
        lock = _lock(*packages)
        return lockfile.dump(
            dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, **envsnap)), tmp_path / name
        )

    pinned = write("pinned.lock", gitdep, mypkg, six, pinned_from=(origin,))
    bundled_packages = (
        dataclasses.replace(gitdep, artifact=built("gitdep")),
        dataclasses.replace(mypkg, artifact=built("mypkg")),
        six,
    )
    bundled = write("b.lock", *bundled_packages, made_from=origin)
    for pair in ((pinned, bundled), (bundled, pinned)):
        result = cli("diff", *pair)
        assert result.code == 0, result.out
        assert "(artifact)" not in result.out, result.out
        assert "but the wheel the bundle built for gitdep and the wheel the bundle built for mypkg" in result.out
    assert "gitdep: (not pinned) -> gitdep-0.3.0-py3-none-any.whl (the wheel a bundle built from its source" in (
        cli("diff", pinned, bundled).out
    )
    as_json = json.loads(cli("diff", pinned, bundled, "--json").out)
    assert {(c["subject"], c["change"], c["kind"]) for c in as_json["changes"]} == {
        ("gitdep", "provenance", "artifact"),
        ("mypkg", "provenance", "artifact"),
    }
    imported = write("imp.lock", gitdep, mypkg, six)  # the origin itself, against the bundle of its pin output
    digest = lockfile.load(imported).envsnap.content_digest
    grandchild = write("b2.lock", *bundled_packages, made_from="sha256:" + "9" * 64, pinned_from=(digest,))
    result = cli("diff", imported, grandchild)
    assert result.code == 0 and "but the wheel the bundle built for gitdep and" in result.out, result.out
    stranger = write("stranger.lock", *bundled_packages, made_from="sha256:" + "e" * 64)  # another origin
    result = cli("diff", pinned, stranger)
    assert result.code == 1 and "gitdep: (not pinned) -> gitdep-0.3.0-py3-none-any.whl (artifact)" in result.out
    moved = dataclasses.replace(gitdep, source=dataclasses.replace(git, commit_id="f" * 40), artifact=built("gitdep"))
    result = cli("diff", pinned, write("moved.lock", moved, bundled_packages[1], six, made_from=origin))
    assert result.code == 1 and "gitdep: git+/src/gitdep@cccc" in result.out, result.out
    no_commit = dataclasses.replace(gitdep, source=dataclasses.replace(git, commit_id=""))
    pinned_head = write("head.lock", no_commit, mypkg, six, pinned_from=(origin,))
    bundled_head = write(
        "bhead.lock", dataclasses.replace(no_commit, artifact=built("gitdep")), *bundled_packages[1:], made_from=origin
    )
    result = cli("diff", pinned_head, bundled_head)
    assert result.code == 1 and "gitdep: (not pinned) -> gitdep-0.3.0-py3-none-any.whl (artifact)" in result.out
    assert "2 changes: 1 artifact, 1 provenance" in result.out, result.out  # mypkg: its wheel, of one folder
    evil = dataclasses.replace(gitdep, artifact=built("evil", "9.9"))
    other_wheel = write("other.lock", evil, *bundled_packages[1:], made_from=origin)
    result = cli("diff", pinned, other_wheel)
    assert result.code == 1 and "gitdep: (not pinned) -> evil-9.9-py3-none-any.whl (artifact)" in result.out
    assert "2 changes: 1 artifact, 1 provenance" in result.out, result.out


def test_two_captures_by_two_envsnap_releases_are_identical() -> None:
    """The same environment captured by envsnap 0.9 and by 1.0 read ``other fields differ: envsnap.generator``, exit
    1: which tool wrote a lock is how it was made, as its ``created``, not a fact of the environment."""
    old = sample_lock()
    new = dataclasses.replace(old, envsnap=dataclasses.replace(old.envsnap, generator="envsnap 99.0"))
    assert old.envsnap.generator != new.envsnap.generator
    assert diff(old, new).identical, diff(old, new).changes


def test_what_two_imports_said_of_their_files_is_how_they_were_made_however_many_lines(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Two explicit files of one conda environment, each with one line conda wrote without its hash (a different
    one): each import warns of its own, one warning each. ``envsnap diff`` read ``other fields differ:
    envsnap.warnings[0]``, exit 1, where warnings of unequal counts read ``other fields unknown``, exit 0: what an
    import said of its file is how the lock was made, however many lines each holds."""
    base = "https://conda.anaconda.org/conda-forge/linux-64"
    lines = [f"{base}/libhello-1.0.0-h0a1b2c3_0.tar.bz2#{'1' * 32}", f"{base}/python-3.11.7-h1_0.conda#{'2' * 32}"]
    paths = []
    for n, unhashed in enumerate(lines):
        body = [line.split("#")[0] if line == unhashed else line for line in lines]
        path = tmp_path / f"{n}.txt"
        path.write_text("# platform: linux-64\n@EXPLICIT\n" + "\n".join(body) + "\n")
        result = cli("import", path, "-o", tmp_path / f"{n}.lock")
        assert result.code == 0, result
        paths.append(tmp_path / f"{n}.lock")
    assert [len(lockfile.load(p).envsnap.warnings) for p in paths] == [1, 1]
    result = cli("diff", *paths)
    assert result.code == 0, result
    first = result.out.splitlines()[0]
    assert first.startswith("lock  other fields unknown: conda.packages[libhello].md5, "), result.out
    assert "envsnap.warnings" in first and "fields differ" not in result.out, result.out


def test_a_local_source_is_shown_by_its_decoded_path_and_kept_as_its_url(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """diff printed a local project's or wheel's source by its percent-encoded ``file:`` URL (``my%20project``,
    ``caf%C3%A9``), where the fetch policy names the folder the user knows, one shell word. It shows that path (a
    control character its URL hid shown escaped); the JSON keeps the URL, as the lock records it."""
    folder = Source(kind="directory", url="file:///home/me/my%20project", editable=True)
    moved = Source(kind="directory", url="file:///home/me/%1b%5B2J%20lab", editable=True)
    repo = Source(kind="vcs", vcs="git", url="file:///srv/my%20libs/tool", commit_id="a" * 40)
    other = dataclasses.replace(repo, commit_id="b" * 40, subdirectory="pkgs/tool")
    a = lockfile.dump(
        _lock(PythonPackage("proj", "1.0", source=folder), PythonPackage("tool", "1.0", source=repo)),
        tmp_path / "a.lock",
    )
    b = lockfile.dump(
        _lock(PythonPackage("proj", "1.0", source=moved), PythonPackage("tool", "1.0", source=other)),
        tmp_path / "b.lock",
    )
    result = cli("diff", a, b)
    assert result.code == 1, result
    assert "proj: editable '/home/me/my project' -> editable $'/home/me/\\x1b[2J lab' (source)" in result.out
    assert (
        f"tool: git+'/srv/my libs/tool'@{'a' * 40} -> git+'/srv/my libs/tool'@{'b' * 40}#subdirectory=pkgs/tool"
        in result.out
    )
    assert "%" not in result.out and "\x1b" not in result.out, result.out
    changes = {c["subject"]: c for c in json.loads(cli("diff", a, b, "--json").out)["changes"]}
    assert changes["proj"]["old"] == "editable file:///home/me/my%20project", changes
    assert changes["tool"]["new"] == f"git+file:///srv/my%20libs/tool@{'b' * 40}#subdirectory=pkgs/tool", changes


def test_a_folders_subdirectory_is_part_of_its_url_and_shown_as_named(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A folder's ``subdirectory`` (a name, as direct_url.json writes it) was joined to its URL as it is: a folder
    named ``a%20b`` was shown as ``a b``, the escape read in it, and a capture's ``file:///mono`` with ``my pkg`` was
    another source than an import's ``file:///mono/my%20pkg``, the same folder. It is joined percent-encoded: shown
    as named, and the two spellings are one source."""
    mono = Source(kind="directory", url="file:///srv/mono", subdirectory="pkgs/a%20b")
    other = dataclasses.replace(mono, subdirectory="pkgs/other")
    a = lockfile.dump(_lock(PythonPackage("tool", "1.0", source=mono)), tmp_path / "a.lock")
    b = lockfile.dump(_lock(PythonPackage("tool", "1.0", source=other)), tmp_path / "b.lock")
    result = cli("diff", a, b)
    assert result.code == 1, result
    assert "tool: /srv/mono/pkgs/a%20b -> /srv/mono/pkgs/other (source)" in result.out, result.out
    captured = dataclasses.replace(mono, subdirectory="my pkg")
    imported = Source(kind="directory", url="file:///srv/mono/my%20pkg")
    c = lockfile.dump(_lock(PythonPackage("tool", "1.0", source=captured)), tmp_path / "c.lock")
    d = lockfile.dump(_lock(PythonPackage("tool", "1.0", source=imported)), tmp_path / "d.lock")
    same = cli("diff", c, d)  # was "tool: '/srv/mono/my pkg' -> '/srv/mono/my pkg' (source)"
    assert "(source)" not in same.out and "my pkg" not in same.out, same.out
