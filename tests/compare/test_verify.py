"""verify's comparison rules, on snapshots built here; the real round trip is tests/rebuild."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import dump_unchecked, in_tree_project, sample_lock, sample_platform, sample_python, site_packages

from envsnap import lockfile
from envsnap.compare.verify import INFO, MISMATCH, WARNING, compare, verify
from envsnap.model import (
    Artifact,
    Candidate,
    Cpu,
    Gpu,
    Hardware,
    Nvidia,
    PthFolder,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemLibrary,
    SystemPackage,
)

GIT = Source(kind="vcs", vcs="git", url="https://git.example/x", commit_id="a" * 40)
EDITABLE = Source(kind="directory", url="file:///src/proj", editable=True)


def snap(*packages: PythonPackage, **changes: object) -> Snapshot:
    base = sample_lock(
        platform=sample_platform(kernel="6.1"),
        python=sample_python(*packages, platform_tag="linux-x86_64"),
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
    folder = Source(kind="directory", url="file:///src/proj")
    lock = snap(pkg("vcspkg", source=GIT, artifact=rebuilt), pkg("proj", source=folder))
    now = snap(pkg("vcspkg", record_digest="sha256:rebuilt"), pkg("proj", record_digest="sha256:wheel"))
    report = compare(lock, now)
    assert report.identical
    assert found(report, WARNING) == {("vcspkg", "record_digest"), ("proj", "record_digest")}
    assert found(report, INFO) == {("vcspkg", "source"), ("proj", "source")}


def test_an_editable_project_installed_from_a_wheel_is_a_warning() -> None:
    """The lock installs the project editable (``uv pip install -r pylock.toml`` does); rebuild installed the
    bundle's wheel of it, and verify said only info ("installed from a wheel built from the locked source"): the
    environment a user compares follows the project's edits, this one does not. The same code now: a warning,
    which --strict refuses, not a mismatch (a docker image can never hold the editable install)."""
    rebuilt = Artifact(filename="proj-1.0-py3-none-any.whl", url="file:///src/proj", sha256="0" * 64, rebuilt=True)
    lock = snap(pkg("proj", source=EDITABLE, artifact=rebuilt, record_digest="sha256:pth"))
    report = compare(lock, snap(pkg("proj", record_digest="sha256:wheel")))
    assert report.identical and not report.by_severity(MISMATCH)
    assert [d.describe() for d in report.by_severity(WARNING) if d.what == "source"] == [
        "proj: source editable file:///src/proj -> a wheel (the lock installs it editable, this is a regular "
        "install: edits to the project do not reach it; `pip install --no-deps -e /src/proj` installs it as locked)"
    ]
    # Installed from its folder but not editable (pip install ./proj), and the other way round: a warning too.
    folder = snap(pkg("proj", source=dataclasses.replace(EDITABLE, editable=False)))
    assert ("proj", "source") in found(compare(lock, folder), WARNING)
    assert ("proj", "source") in found(compare(folder, snap(pkg("proj", source=EDITABLE))), WARNING)
    assert compare(lock, snap(pkg("proj", source=EDITABLE, record_digest="sha256:pth"))).identical


@pytest.mark.parametrize(
    ("url", "subdirectory", "said"),
    [
        ("file:///src/my%20proj", "", "`pip install --no-deps -e '/src/my proj'` installs it as locked"),
        ("file:///src/mono", "pkgs/a b", "`pip install --no-deps -e '/src/mono/pkgs/a b'` installs it as locked"),
        ("file://~/my%20lib", "", "`pip install --no-deps -e \"$HOME\"'/my lib'` installs it as locked"),
        (
            "file://{project}/libs/x",
            "",
            "`pip install --no-deps -e DIR`, DIR its project folder (file://{project}/libs/x), installs it as locked",
        ),
    ],
)
def test_an_editable_projects_warning_gives_the_command_with_its_folder(url: str, subdirectory: str, said: str) -> None:
    """It said "`pip install --no-deps -e` its folder", no command to paste: the folder the lock records, one shell
    word, as rebuild's plan note writes it."""
    source = Source(kind="directory", url=url, editable=True, subdirectory=subdirectory)
    lock = snap(pkg("proj", source=source, record_digest="sha256:pth"))
    (warning,) = [d for d in compare(lock, snap(pkg("proj"))).by_severity(WARNING) if d.what == "source"]
    assert warning.note.endswith(said), warning.note


def test_an_editable_projects_record_says_what_it_was_installed_from() -> None:
    """``rebuild --bundle`` of a lock whose project is installed editable installs the bundle's wheel of it: verify's
    info on its RECORD said "installed from a local directory", which the rebuilt environment never was. It names
    the wheel it was installed from, and a folder still where it was one."""
    rebuilt = Artifact(filename="proj-1.0-py3-none-any.whl", url="file:///src/proj", sha256="0" * 64, rebuilt=True)
    lock = snap(pkg("proj", source=EDITABLE, artifact=rebuilt, record_digest="sha256:pth"))
    bundles = Source(
        kind="archive", url="file:///r/supp/wheels/proj-1.0-py3-none-any.whl", archive_hash="sha256=" + "0" * 64
    )
    other = Source(kind="archive", url="file:///r/dist/proj-1.0-py3-none-any.whl", archive_hash="sha256=" + "1" * 64)
    folder = Source(kind="directory", url="file:///src/proj")

    def note(source: Source) -> str:
        now = snap(pkg("proj", source=source, record_digest="sha256:wheel"))
        [d] = [d for d in compare(lock, now).differences if d.what == "record_digest"]
        assert d.severity == INFO, d
        return d.note

    assert note(bundles) == "installed from the bundle's wheel built from it; an editable install's RECORD differs"
    assert note(other) == "installed from a wheel; an editable install's RECORD differs"
    assert note(Source(kind="index")) == "installed from a wheel; an editable install's RECORD differs"
    assert note(folder) == "installed from a local directory; an editable install's RECORD differs"
    assert note(EDITABLE) == "installed from a local directory; an editable install's RECORD differs"


def test_a_debian_builds_stand_in_is_identical_rebuilt_and_a_warning_on_the_host_it_was_captured_on() -> None:
    """A lock of Debian's system Python that pin pinned PyYAML of (python3-yaml's build, tagged linux_x86_64) to the
    index's file of that release: the venv rebuilt from it, the manylinux wheel installed, was a mismatch (other
    tags, other files); it is identical. The host it was captured on, Debian's build still, is a warning naming the
    package, not a mismatch, and identical before the pin."""
    stand_in = Artifact(filename="PyYAML-6.0-cp311-cp311-manylinux_2_17_x86_64.whl", url="", sha256="0" * 64)
    debian = pkg(
        "pyyaml",
        wheel_tags=("cp311-cp311-linux_x86_64",),
        record_digest="sha256:debian",
        system_package="python3-yaml",
    )
    lock = snap(dataclasses.replace(debian, artifact=stand_in))
    rebuilt = snap(pkg("pyyaml", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",), record_digest="sha256:wheel"))
    assert compare(lock, rebuilt).differences == ()
    [d] = compare(lock, snap(debian)).differences
    assert (d.severity, d.what, d.subject) == (WARNING, "record_digest", "pyyaml"), d
    assert d.note == (
        "installed by the Debian package python3-yaml, another build of the same release as the index's file the "
        "lock pins (PyYAML-6.0-cp311-cp311-manylinux_2_17_x86_64.whl), which a rebuild installs"
    ), d
    assert compare(snap(debian), snap(debian)).differences == ()


def test_the_bundles_wheel_from_an_archive_is_named_as_from_a_folder() -> None:
    """``rebuild supp.tar.gz`` installs the bundle's wheel from a folder gone once it ends: no direct_url.json, the
    wheel named by its file and sha256 in ``envsnap_bundle.json``, which a capture records as a rebuilt artifact with
    no URL. verify said "installed from a wheel" (editable) and "installed from an index or a find-links folder ...:
    not known to be built from it" where the same bundle as a folder read "the bundle's wheel built from it"."""
    name = "proj-1.0-py3-none-any.whl"
    rebuilt = Artifact(filename=name, url="file:///src/proj", sha256="0" * 64, rebuilt=True)
    marked = Artifact(filename=name, url="", sha256="0" * 64, rebuilt=True)
    other = dataclasses.replace(marked, sha256="1" * 64)
    index = Source(kind="index")

    def said(lock_source: Source, what: str, artifact: Artifact | None) -> str:
        lock = snap(pkg("proj", source=lock_source, artifact=rebuilt, record_digest="sha256:pth"))
        # A regular install of the wheel has the lock's files; an editable one's RECORD differs from any wheel's.
        files = "sha256:wheel" if lock_source.editable else "sha256:pth"
        now = snap(pkg("proj", source=index, artifact=artifact, record_digest=files))
        [d] = [d for d in compare(lock, now).differences if d.what == what]
        assert d.severity == INFO, d
        return d.note

    assert said(EDITABLE, "record_digest", marked) == (
        "installed from the bundle's wheel built from it; an editable install's RECORD differs"
    )
    assert said(EDITABLE, "record_digest", other) == "installed from a wheel; an editable install's RECORD differs"
    assert said(EDITABLE, "record_digest", None) == "installed from a wheel; an editable install's RECORD differs"
    assert said(GIT, "source", marked) == (
        f"installed from the bundle's wheel {name} built from the locked source (envsnap_bundle.json names it: the "
        "same sha256)"
    )
    assert said(GIT, "source", other).startswith(f"installed from the wheel {name} envsnap_bundle.json names")
    assert f"not the bundle's {name}" in said(GIT, "source", other)


def test_a_wheel_file_installed_by_path_is_named_as_one_shell_word_a_control_character_escaped() -> None:
    """verify's note on a wheel installed from a file decoded its name from the URL and wrote it bare: a name holding a
    space (``proj-1.0-py3-none-any (1).whl``, a second download) read as two words, and one whose URL hid an escape
    (``%1b%5B2J``) wrote the control character to the terminal. It is one shell word, as every message names a path
    (``sinks``), a control character escaped."""
    name = "proj-1.0-py3-none-any.whl"
    lock = snap(pkg("proj", source=GIT, artifact=Artifact(filename=name, url="file:///src/proj", sha256="0" * 64)))

    def said(url: str) -> str:
        now = snap(pkg("proj", source=Source(kind="archive", url=url, archive_hash="sha256=" + "1" * 64)))
        [d] = [d for d in compare(lock, now).differences if d.what == "source"]
        return d.note

    assert said("file:///tmp/dl/proj-1.0-py3-none-any%20(1).whl") == (
        "installed from the wheel file 'proj-1.0-py3-none-any (1).whl', not the bundle's "
        f"{name} built from the locked source"
    )
    assert said("file:///tmp/dl/proj%1b%5B2J-1.0-py3-none-any.whl") == (
        "installed from the wheel file $'proj\\x1b[2J-1.0-py3-none-any.whl', not the bundle's "
        f"{name} built from the locked source"
    )
    assert said(f"file:///tmp/dl/{name}").startswith(f"installed from the wheel file {name}, not the bundle's")


def test_a_wheel_that_ships_its_own_envsnap_bundle_json_is_not_called_the_bundles_wheel() -> None:
    """``envsnap_bundle.json`` is a file in the ``.dist-info``: any wheel may ship one, naming the file name and
    sha256 a lock pins (both public in it), and an install from an index keeps it. Such a wheel of other files was
    called "the bundle's wheel ... built from the locked source (envsnap_bundle.json names it: the same sha256)",
    its RECORD difference put down to a build that is not reproducible. The marker proves nothing the files do not:
    where the installed files are not the lock's (RECORD digest), it says so, not that it is the bundle's wheel."""
    name = "proj-1.0-py3-none-any.whl"
    rebuilt = Artifact(filename=name, url="file:///src/proj", sha256="0" * 64, rebuilt=True)
    marked = Artifact(filename=name, url="", sha256="0" * 64, rebuilt=True)
    lock = snap(pkg("proj", source=GIT, artifact=rebuilt, record_digest="sha256:built"))

    def said(record_digest: str) -> str:
        now = snap(pkg("proj", source=Source(kind="index"), artifact=marked, record_digest=record_digest))
        [d] = [d for d in compare(lock, now).differences if d.what == "source"]
        assert d.severity == INFO, d
        return d.note

    assert said("sha256:built").startswith(f"installed from the bundle's wheel {name} built from the locked source")
    forged = said("sha256:other")
    assert "the bundle's wheel" not in forged.split(",")[0] and "not known to be" in forged, forged
    assert "RECORD digest" in forged, forged


def test_an_editable_git_checkout_installed_from_a_wheel_is_a_warning() -> None:
    """``pip install -e git+file:///lab/labgit@COMMIT#egg=labgit`` (a checkout in the venv's ``src/``, edited in
    place by the researcher) rebuilt from the bundle's wheel of that commit: verify said only info ("installed from
    a wheel built from the locked source"), and a regular ``pip install git+...`` of the same commit nothing at all,
    while the same layout from a folder is a warning. The editable flag is part of the environment: a warning."""
    editable = dataclasses.replace(GIT, editable=True)
    rebuilt = Artifact(filename="labgit-1.0-py3-none-any.whl", url="git+x", sha256="0" * 64, rebuilt=True)
    lock = snap(pkg("labgit", source=editable, artifact=rebuilt, record_digest="sha256:pth"))
    report = compare(lock, snap(pkg("labgit", record_digest="sha256:wheel")))
    assert report.identical and not report.by_severity(MISMATCH)
    [warning] = [d for d in report.by_severity(WARNING) if d.what == "source"]
    assert "a wheel" in warning.describe() and "the lock installs it editable" in warning.describe(), warning
    # The same commit installed from git, not editable, and the other way round: a warning too.
    assert ("labgit", "source") in found(compare(lock, snap(pkg("labgit", source=GIT))), WARNING)
    assert ("labgit", "source") in found(
        compare(snap(pkg("labgit", source=GIT)), snap(pkg("labgit", source=editable))), WARNING
    )
    assert compare(lock, snap(pkg("labgit", source=editable, record_digest="sha256:pth"))).identical
    # The rebuild's plan says so before it installs anything, as for an editable folder.
    from envsnap.rebuild._editable import editable_notes

    [note] = editable_notes(lock, None, Path("/env/bin/python"))
    assert note.startswith("labgit 1.0 is editable in the lock, a checkout of its repository"), note


def test_a_package_installed_from_an_sdist_by_path_is_not_called_the_same_file_as_its_wheel() -> None:
    """``pip install ./sdists/labsdist-2.1.0.tar.gz`` rebuilt from the bundle's wheel built from that sdist: verify
    said "the same file, from an index or a find-links folder and by path", though the locked file is the sdist and
    the installed one a wheel built from it; only the installed files are the same (RECORD digest). A wheel by path
    installed from an index is still the same file."""
    sdist = Source(kind="archive", url="file:///lab/sdists/labsdist-2.1.0.tar.gz", archive_hash="sha256=" + "1" * 64)
    lock = snap(pkg("labsdist", "2.1.0", source=sdist))
    [d] = compare(lock, snap(pkg("labsdist", "2.1.0"))).by_severity(INFO)
    assert d.note == "the same installed files (RECORD digest), from an index or a find-links folder and by path", d
    wheel = Source(kind="archive", url="file:///lab/wheels/labwheel-1.0-py3-none-any.whl")
    artifact = Artifact(
        filename="labwheel-1.0-py3-none-any.whl", url="https://i/labwheel-1.0-py3-none-any.whl", sha256="2" * 64
    )
    [d] = compare(snap(pkg("labwheel", artifact=artifact)), snap(pkg("labwheel", source=wheel))).by_severity(INFO)
    assert d.note == "the same file, from an index or a find-links folder and by path", d


def test_a_project_installed_from_its_folder_with_other_files_is_a_warning() -> None:
    """``pip install ./proj``, its code edited, ``pip install ./proj`` again at the same version: verify said
    "identical ... 0 warnings" (info: "rebuilt from a local directory"), so ``--strict`` passed too, while diff
    called it a build change. Its RECORD lists the modules (an editable install's lists a .pth hook: info)."""
    folder = Source(kind="directory", url="file:///src/proj")
    lock = snap(pkg("proj", source=folder, record_digest="sha256:before"))
    now = snap(pkg("proj", source=folder, record_digest="sha256:edited"))
    report = compare(lock, now)
    assert report.identical and found(report, WARNING) == {("proj", "record_digest")}
    [d] = report.by_severity(WARNING)
    assert d.note == "installed from a local directory: its code changed or the build is not reproducible"
    editable = snap(pkg("proj", source=EDITABLE, record_digest="sha256:before"))
    moved = snap(pkg("proj", source=EDITABLE, record_digest="sha256:edited"))
    assert found(compare(editable, moved), INFO) == {("proj", "record_digest")}
    assert compare(lock, lock).differences == ()


def test_a_users_own_install_from_a_folder_is_said_installed_not_rebuilt(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """The user's own ``pip install ./myproj`` (no envsnap rebuild), its code edited and installed again: verify
    called it "rebuilt from a local directory", and so for a lock that installs it editable, as if envsnap had
    rebuilt it. Each note says it was installed from the folder."""
    project = in_tree_project(tmp_path / "myproj", "myproj", "0.1.0")
    python = make_venv(tmp_path / "venv")

    def pip_install(*args: str) -> None:
        # The user's pip (the test's, installing into the venv), offline: the backend needs nothing.
        pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
        subprocess.run(
            [*pip, "--no-build-isolation", *args],
            check=True,
            capture_output=True,
            timeout=300,
        )

    pip_install(str(project))
    assert cli("capture", "--python", python, "-o", tmp_path / "plain.lock").code == 0
    (project / "myproj" / "__init__.py").write_text("X = 2\n")
    pip_install(str(project))
    res = cli("verify", tmp_path / "plain.lock", "--python", python)
    assert res.code == 0, res
    assert "(installed from a local directory: its code changed or the build is not reproducible)" in res.out, res
    assert "rebuilt" not in res.out, res.out
    pip_install("-e", str(project))
    assert cli("capture", "--python", python, "-o", tmp_path / "editable.lock").code == 0
    pip_install(str(project))  # no longer editable
    res = cli("verify", tmp_path / "editable.lock", "--python", python)
    assert res.code == 0, res
    assert "(installed from a local directory; an editable install's RECORD differs)" in res.out, res.out
    assert "rebuilt" not in res.out, res.out


def test_another_commit_is_a_mismatch() -> None:
    lock = snap(pkg("vcspkg", source=GIT))
    now = snap(pkg("vcspkg", source=dataclasses.replace(GIT, commit_id="b" * 40)))
    assert found(compare(lock, now), MISMATCH) == {("vcspkg", "source")}


def test_another_commit_is_named_as_diff_names_it() -> None:
    """verify wrote a VCS source at another commit as ``file:///r@C1 -> file:///r@C2`` while diff wrote
    ``git+file:///r@C1``: the one source read as two spellings. Both name it by ``verdict.source_text``."""
    lock = snap(pkg("vcspkg", source=GIT))
    now = snap(pkg("vcspkg", source=dataclasses.replace(GIT, commit_id="b" * 40)))
    [d] = [d for d in compare(lock, now).differences if d.what == "source"]
    assert (d.expected, d.actual) == (f"git+https://git.example/x@{'a' * 40}", f"git+https://git.example/x@{'b' * 40}")


def test_the_same_commit_of_another_subdirectory_is_another_source() -> None:
    """A monorepo's package installed from another folder of the same commit (``#subdirectory=pkgs/other``): verify
    said nothing, though the code installed is another package's."""
    lock = snap(pkg("vcspkg", source=dataclasses.replace(GIT, subdirectory="pkgs/tool")))
    now = snap(pkg("vcspkg", source=dataclasses.replace(GIT, subdirectory="pkgs/other")))
    report = compare(lock, now)
    assert found(report, MISMATCH) == {("vcspkg", "source")}
    [d] = [d for d in report.differences if d.what == "source"]
    assert d.expected.endswith("#subdirectory=pkgs/tool") and d.actual.endswith("#subdirectory=pkgs/other")
    root = snap(pkg("vcspkg", source=GIT))
    assert found(compare(root, now), MISMATCH) == {("vcspkg", "source")}
    assert compare(lock, lock).differences == ()


def test_another_subdirectory_of_the_locked_folder_is_another_source() -> None:
    """``pip install "tool @ file:///srv/mono#subdirectory=pkgs/other"`` where the lock has ``pkgs/tool``: the same
    folder's other project was identical to the locked one."""
    tree = Source(kind="directory", url="file:///srv/mono", subdirectory="pkgs/tool")
    lock = snap(pkg("tool", source=tree))
    now = snap(pkg("tool", source=dataclasses.replace(tree, subdirectory="pkgs/other")))
    report = compare(lock, now)
    assert found(report, MISMATCH) == {("tool", "source")}
    [d] = [d for d in report.differences if d.what == "source"]
    assert (d.expected, d.actual) == ("file:///srv/mono/pkgs/tool", "file:///srv/mono/pkgs/other")
    # The same folder named by the repository and its subdirectory, or by its own path: one project.
    moved = snap(pkg("tool", source=Source(kind="directory", url="file:///srv/mono/pkgs/tool")))
    assert found(compare(lock, moved), MISMATCH) == set()


def test_the_files_of_another_commit_follow_from_it_not_from_the_build() -> None:
    """A VCS package at another commit was also reported "record_digest ... (rebuilt from source: the build is not
    reproducible)": its files differ because its commit does."""
    lock = snap(pkg("vcspkg", source=GIT, record_digest="sha256:old"))
    now = snap(pkg("vcspkg", source=dataclasses.replace(GIT, commit_id="b" * 40), record_digest="sha256:new"))
    report = compare(lock, now)
    assert [(d.subject, d.what) for d in report.differences if d.area == "python"] == [("vcspkg", "source")]


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


def _not_judged(count: int, how: str) -> str:
    return (
        f"{count} system packages that no Python package loads differ ({how}): not judged, only those a Python "
        "package loads are (a docker rebuild installs just those, --system-packages needed)"
    )


def test_the_interpreters_debian_package_patched_otherwise_is_a_warning_that_says_what_differs() -> None:
    """A docker rebuild installs Debian's python3.11 3.11.2-6+deb12u8 where the lock recorded deb12u6: the same
    CPython 3.11.2, patched by a Debian update. verify said only "N system packages that no Python package loads
    differ" (info); the interpreter that runs every line changed, so it is a warning naming the revisions."""

    def debian(revision: str, *, python: str = "3.11.2", owner: str = "python3.11-minimal") -> Snapshot:
        names = ("python3.11", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib")
        debs = tuple(SystemPackage("dpkg", n, f"3.11.2-6+{revision}", "amd64") for n in names)
        return snap(
            python=dataclasses.replace(snap().python, version=python, system_package=owner),
            system=System(manager="dpkg", packages=(*debs, SystemPackage("dpkg", "vim", revision, "amd64"))),
        )

    report = compare(debian("deb12u6"), debian("deb12u8"))
    assert report.identical
    [warning] = report.by_severity(WARNING)
    assert warning.describe() == (
        "python3.11: version 3.11.2-6+deb12u6 -> 3.11.2-6+deb12u8 (the environment's interpreter, Debian's CPython "
        "3.11.2, patched otherwise: a Debian stable or security update; libpython3.11-minimal, libpython3.11-stdlib, "
        "python3.11-minimal alike)"
    )
    assert [d.note for d in report.by_severity(INFO)] == [_not_judged(1, "1 at another version")]
    # An interpreter of its own (pyenv's 3.11.7) beside Debian's python3.11: its package is one of the others.
    own = compare(debian("deb12u6", python="3.11.7", owner=""), debian("deb12u8", python="3.11.7", owner=""))
    assert own.by_severity(WARNING) == []
    assert [d.note for d in own.by_severity(INFO)] == [_not_judged(5, "5 at another version")]
    # One of its own of the very same 3.11.2 (pyenv's, uv's): no package owns it, so Debian's update is not its
    # patch, whatever the versions say (it was warned of as "Debian's CPython 3.11.2, patched otherwise").
    pyenv = compare(debian("deb12u6", owner=""), debian("deb12u8", owner=""))
    assert pyenv.by_severity(WARNING) == []
    assert [d.note for d in pyenv.by_severity(INFO)] == [_not_judged(5, "5 at another version")]
    # A lock that does not say (written before the owner was recorded) is taken at the verified environment's word.
    [old_lock] = compare(debian("deb12u6", owner=""), debian("deb12u8")).by_severity(WARNING)
    assert old_lock.describe() == warning.describe()


def test_cli_exit_codes_on_this_interpreter(tmp_path: Path, cli: Callable[..., object]) -> None:
    from envsnap.probes.capture import capture

    here = capture()
    lock_path = lockfile.dump(here, tmp_path / "here.lock")
    ok = cli("verify", lock_path)
    assert ok.code == 0 and "identical" in ok.out  # type: ignore[attr-defined]
    drifted = dataclasses.replace(
        here,
        python=dataclasses.replace(
            here.python,
            packages=(*here.python.packages, pkg("not-installed-anywhere", record_digest="sha256:" + "0" * 64)),
        ),
    )
    bad = cli("verify", lockfile.dump(drifted, tmp_path / "drifted.lock"))
    assert bad.code == 3 and "not-installed-anywhere 1.0: in the lock, not installed" in bad.out  # type: ignore
    missing = cli("verify", tmp_path / "nope.lock")
    assert missing.code == 2 and "no such lockfile" in missing.err  # type: ignore[attr-defined]


def test_an_environment_on_another_machine_is_one_mismatch_not_one_a_wheel(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    """A lock captured on aarch64 (a Grace-Hopper node) verified in the same packages installed on x86_64 (or the
    reverse): verify listed a wheel_tags mismatch for every binary wheel, "follows from python platform_tag", and
    the machine itself as a warning. The machine is the one root mismatch, and the wheels built for it are one
    difference that follows from it, naming them, after the interpreter's platform tag (they sorted before it, by
    area; check names the interpreter first)."""
    from envsnap.platforms import machine
    from envsnap.probes.capture import capture

    here = capture()
    mine = machine(here.platform.machine)
    other = "x86_64" if mine == "aarch64" else "aarch64"
    moved = [p for p in here.python.packages if p.wheel_tags and all(t.endswith(f"_{mine}") for t in p.wheel_tags)]
    assert len(moved) > 3  # envsnap's own test environment holds binary wheels (pyyaml, cffi, ...)
    packages = tuple(
        dataclasses.replace(p, wheel_tags=tuple(t.replace(mine, other) for t in p.wheel_tags))
        for p in here.python.packages
    )
    lock = dataclasses.replace(
        here,
        platform=dataclasses.replace(here.platform, machine=other),
        python=dataclasses.replace(
            here.python, platform_tag=here.python.platform_tag.replace(mine, other), packages=packages
        ),
    )
    res = cli("verify", lockfile.dump(lock, tmp_path / "other.lock"))
    out = res.out  # type: ignore[attr-defined]
    assert res.code == 3, out  # type: ignore[attr-defined]
    lines = out.splitlines()
    assert lines[1] == "mismatch (3)", out
    assert lines[2] == (
        f"  platform: os: machine {other} -> {mine} (the locked wheels are built for {other}: verify on "
        f"an {other} host, or capture the environment anew on this one)"
    ), out
    interpreter, wheels = lines[3], lines[4]
    assert wheels.startswith(f"  python: {len(moved)} wheels: wheel_tags built for {other} -> built for {mine} ("), out
    assert wheels.endswith(f"follows from machine {other} -> {mine})"), out
    assert interpreter == (
        f"  interpreter: python: platform_tag linux-{other} -> linux-{mine} (follows from machine {other} -> {mine})"
    ), out
    assert f"2 of the differences follow from machine {other} -> {mine})" in lines[-1], out


def test_recorded_variables_set_unset_or_changed_are_warnings() -> None:
    """verify compared no recorded variable: with PYTHONPATH putting another urllib3 ahead of the venv's,
    CUDA_VISIBLE_DEVICES or OMP_NUM_THREADS changed, it said "identical ... 0 warnings" while diff named each."""
    lock = snap(pkg("numpy"), environment={"CUDA_VISIBLE_DEVICES": "1", "OMP_NUM_THREADS": "1", "XLA_FLAGS": "-x"})
    now = snap(pkg("numpy"), environment={"CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": "/opt/pp", "XLA_FLAGS": "-x"})
    report = compare(lock, now)
    assert report.identical  # the Python layer is the lock's: a warning, as diff calls it a drift
    assert [d.describe() for d in report.by_severity(WARNING) if d.area == "environment"] == [
        "CUDA_VISIBLE_DEVICES: value 1 -> (none) (empty here)",
        "OMP_NUM_THREADS: value 1 -> (none) (not set here)",
        "PYTHONPATH: value (none) -> /opt/pp (not set in the lock)",
    ]
    assert compare(lock, lock).differences == ()
    # A lock captured with --gpu-ids against this capture (which keeps no UUID): the same device is no change.
    uuid = "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    with_ids = snap(pkg("numpy"), environment={"CUDA_VISIBLE_DEVICES": uuid})
    without = snap(pkg("numpy"), environment={"CUDA_VISIBLE_DEVICES": "GPU-<uuid>"})
    assert compare(with_ids, without).differences == ()


def test_cli_warns_of_a_variable_changed_since_capture(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from envsnap.probes.capture import capture

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    lock_path = lockfile.dump(capture(), tmp_path / "here.lock")
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    found = cli("verify", lock_path)
    assert found.code == 0 and "environment: OMP_NUM_THREADS: value 1 -> 8" in found.out  # type: ignore
    assert cli("verify", lock_path, "--strict").code == 1  # type: ignore[attr-defined]


def test_library_call_is_exported() -> None:
    """``envsnap.verify`` is a function of its own (it judges the CUDA kernels by default, where
    ``compare.verify.verify`` judges none), yet named itself ``envsnap.compare.verify.verify``: pickle refused it (not
    the object found there), and help() showed ``gpu_kernels=None`` with a docstring saying None judges none."""
    import inspect
    import pickle
    import pydoc

    import envsnap
    from envsnap.compare import verify as comparison

    public = envsnap.verify
    assert public is not comparison.verify
    assert (public.__module__, public.__qualname__, public.__name__) == ("envsnap", "verify", "verify")
    assert inspect.getmodule(public) is envsnap
    assert pickle.loads(pickle.dumps(public)) is public
    assert "gpu_kernels" in inspect.signature(public).parameters
    default = inspect.signature(public).parameters["gpu_kernels"].default
    assert repr(default) == "envsnap.compat.kernel_differences"
    shown = pydoc.render_doc(public, renderer=pydoc.plaintext)
    assert "gpu_kernels: 'KernelJudge | None' = envsnap.compat.kernel_differences" in shown, shown
    assert public.__doc__ is not None and public.__doc__.startswith(comparison.verify.__doc__ or "")
    assert "``envsnap.verify`` judges the environment's CUDA kernels" in public.__doc__


def test_descriptions_read_as_sentences() -> None:
    from envsnap.compare.verify import Difference

    assert Difference(MISMATCH, "python", "numpy", "version", "1.0", "2.0").describe() == "numpy: version 1.0 -> 2.0"
    assert Difference(INFO, "system", "packages", "other", note="3 differ").describe() == "packages: 3 differ"
    assert Difference(WARNING, "system", "libx", "missing", "1.0", "", "loaded by a").describe() == (
        "libx 1.0: in the lock, not installed (loaded by a)"
    )


def test_a_library_nothing_installed_loads_now_is_not_called_not_installed() -> None:
    # numpy downgraded to a build without its extension: the lock's libgomp.so.1 (installed, owned by libgomp1)
    # was "in the lock, not installed", which sends the user to install a library they have.
    gomp = SystemLibrary("libgomp.so.1", "/usr/lib/x86_64-linux-gnu/libgomp.so.1", "libgomp1", ("numpy",))
    lock = snap(pkg("numpy"), system=dataclasses.replace(snap().system, libraries=(gomp,)))
    [unneeded] = [d for d in compare(lock, snap(pkg("numpy"))).differences if d.subject == "libgomp.so.1"]
    assert unneeded.severity == INFO
    assert unneeded.describe() == "libgomp.so.1: loaded by numpy in the lock; nothing installed loads it now"
    gone = dataclasses.replace(gomp, path="", package="")  # needed and not found on this host
    now = snap(pkg("numpy"), system=dataclasses.replace(snap().system, libraries=(gone,)))
    [missing] = [d for d in compare(lock, now).differences if d.subject == "libgomp.so.1"]
    assert (missing.severity, missing.describe()) == (
        WARNING,
        "libgomp.so.1 /usr/lib/x86_64-linux-gnu/libgomp.so.1: in the lock, not installed (shared library needed by "
        "numpy)",
    )


def test_conda_installed_distributions_are_the_conda_layers_to_check() -> None:
    from envsnap.model import Conda, CondaPackage

    conda = Conda(
        subdir="linux-64",
        channels=("https://conda.anaconda.org/conda-forge",),
        packages=(
            CondaPackage(
                name="tinyutil",
                version="0.3.0",
                build="py_0",
                channel="https://conda.anaconda.org/conda-forge",
                subdir="noarch",
                url="https://conda.anaconda.org/conda-forge/noarch/tinyutil-0.3.0-py_0.conda",
                md5="a" * 32,
            ),
        ),
    )
    # A lock imported from a conda file lists no Python distributions for its conda packages.
    captured = dataclasses.replace(snap(pkg("numpy", "2.0")), conda=conda)
    lock = dataclasses.replace(captured, envsnap=dataclasses.replace(captured.envsnap, origin="conda-lock"))
    actual = dataclasses.replace(
        snap(pkg("numpy", "2.0"), pkg("tinyutil", "0.3.0", conda_managed=True), pkg("stray", "1.0")), conda=conda
    )
    report = compare(lock, actual)
    assert found(report, "mismatch") == {("stray", "extra")}  # a pip-installed extra still counts
    # A captured lock lists every distribution, the conda packages' too: one it lacks was not installed there (pip
    # uninstalled it from the conda package), and a rebuild whose conda package brings it back is not identical.
    report = compare(captured, actual)
    assert found(report, "mismatch") == {("stray", "extra"), ("tinyutil", "extra")}
    # Without a conda layer in the lock nothing covers it: an extra like any other.
    report = compare(snap(pkg("numpy", "2.0")), dataclasses.replace(actual, conda=None))
    assert found(report, "mismatch") == {("stray", "extra"), ("tinyutil", "extra")}


def test_a_python_version_the_lock_does_not_know_is_no_mismatch() -> None:
    lock = snap(pkg("numpy", "2.0"))
    unknown = dataclasses.replace(lock, python=dataclasses.replace(lock.python, version=""))
    report = compare(unknown, lock)
    assert report.identical
    assert ("python", "version") in found(report, INFO)


def test_host_facts_an_imported_lock_cannot_know_are_info_not_warnings() -> None:
    """Right after a perfect rebuild of an imported pylock, verify warned "platform: os: machine (none) -> x86_64"
    for every field the lock names unknown, so ``verify --strict`` could never pass for an imported lock."""
    from envsnap.importers.interface import HOST_UNKNOWN, PLATFORM_DETAILS
    from envsnap.model import Meta, Platform

    host = snap(pkg("numpy"), nvidia=Nvidia(driver_version="580.65"))
    blank = Platform()
    imported = dataclasses.replace(
        host,
        platform=blank,
        system=System(),
        hardware=Hardware(),
        nvidia=None,
        envsnap=Meta(
            origin="pylock.toml",
            unknown=tuple(sorted({*HOST_UNKNOWN, *PLATFORM_DETAILS, "platform.machine", "platform.system"})),
        ),
    )
    report = compare(imported, host)
    assert not found(report, WARNING) and not found(report, MISMATCH), report.differences
    infos = [d for d in report.differences if d.what in ("machine", "libc", "driver_version")]
    assert len(infos) == 3 and all(d.note == "the lock does not record it: imported from pylock.toml" for d in infos), (
        infos
    )
    # What the lock does record still counts, and a captured lock's blank is still a change.
    other = dataclasses.replace(imported, platform=dataclasses.replace(blank, os_id="fedora"))
    assert ("os", "os_id") in found(compare(other, host), WARNING)
    captured = dataclasses.replace(host, platform=blank, nvidia=None)
    assert ("libc", "libc") in found(compare(captured, host), WARNING)


def test_files_flag_catches_installed_files_edited_or_deleted(tmp_path: Path, make_venv: Any) -> None:
    """The RECORD digest cannot see a file edited after installation; ``verify --files`` hashes the files."""
    import base64
    import hashlib

    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
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


def test_files_flag_reads_a_debian_record_s_hex_digests(tmp_path: Path, make_venv: Any) -> None:
    """Debian's dh_python rewrites each ``python3-*`` package's RECORD with hex sha256 digests and keeps distutils'
    build folder ``scripts-3.10/`` in it (python3-distro: installed as ``/usr/bin/distro``, never in
    dist-packages). ``verify --files`` of the unchanged environment called every file of such a package modified
    and the script missing (DIFFERENT, exit 3); a file edited or deleted is still seen."""
    import hashlib

    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    files = {
        "debpkg/__init__.py": b"VALUE = 1\n",
        "debpkg/data.txt": b"weights\n",
        "debpkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: debpkg\nVersion: 1.0\n",
    }
    rows = []
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
        rows.append(f"{rel},sha256={hashlib.sha256(data).hexdigest()},{len(data)}")
    rows.append(f"scripts-3.10/debpkg,sha256={hashlib.sha256(b'#!/usr/bin/python3').hexdigest()},18")
    (site / "debpkg-1.0.dist-info" / "RECORD").write_text("\n".join([*rows, "debpkg-1.0.dist-info/RECORD,,"]) + "\n")
    lock = capture(str(python))
    report = verify(lock, str(python), files=True)
    assert [d for d in report.differences if d.what == "files"] == []
    assert report.identical
    (site / "debpkg" / "__init__.py").write_bytes(b"VALUE = 2\n")
    (site / "debpkg" / "data.txt").unlink()
    [diff] = [d for d in verify(lock, str(python), files=True).differences if d.what == "files"]
    assert (diff.severity, diff.subject, diff.actual) == (MISMATCH, "debpkg", "1 modified, 1 missing")
    assert diff.note == "debpkg/__init__.py, debpkg/data.txt"


def test_a_pth_file_adding_a_folder_of_modules_since_the_capture_is_a_warning(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """A ``.pth`` written after the capture (``echo /data/mods > site-packages/mods.pth``) changes what imports;
    verify compared the distributions alone and said identical with no warning."""
    python = make_venv(tmp_path / "venv")
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "helper.py").write_text("X = 1\n")
    (site_packages(python) / "mods.pth").write_text(f"{mods}\n")
    result = cli("verify", "--json", "--python", python, lock)
    assert result.code == 0
    [found] = [d for d in json.loads(result.out)["differences"] if d["subject"] == ".pth"]
    assert (found["severity"], found["area"], found["what"]) == ("warning", "python", "imports")
    assert found["note"].endswith(
        f"/mods.pth puts {mods} on sys.path, and no distribution is installed there: the modules imported from it "
        "are not in the lock, and a rebuild leaves them out"
    )


def test_a_pth_folder_the_lock_records_is_no_warning_on_verify(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """Capture warns of a ``.pth`` folder of modules and records it (``python.pth_folders``); verify of the same
    environment repeated that warning every time. The lock records it and it is there: nothing is said."""
    python = make_venv(tmp_path / "venv")
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "helper.py").write_text("X = 1\n")
    (site_packages(python) / "mods.pth").write_text(f"{mods}\n")
    lock = tmp_path / "envsnap.lock"
    captured = cli("capture", "--python", python, "-o", lock)
    assert captured.code == 0 and f"puts {mods} on sys.path" in captured.err, captured
    result = cli("verify", "--json", "--python", python, "--strict", lock)
    assert result.code == 0, result
    assert [d for d in json.loads(result.out)["differences"] if d["subject"] == ".pth"] == []


def test_verify_prints_the_paths_of_its_pth_notes_as_one_shell_word_each_and_its_json_keeps_them(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """Capture prints the ``.pth`` file and the folder it adds each as one shell word (``/data/my mods`` as
    ``'/data/my mods'``); verify printed the same paths bare in its notes of such a folder added, gone or changed,
    two words in a line a user copies from. Printed by capture's rule (a label, ``{prefix}``, left bare); the JSON
    keeps the note as written."""
    import shlex

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    pth = f"{{prefix}}/{site.relative_to(tmp_path / 'venv')}/mods.pth"
    mods = tmp_path / "my mods"
    mods.mkdir()
    (mods / "helper.py").write_text("X = 1\n")
    (mods / "new one.py").write_text("Y = 1\n")
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    (site / "mods.pth").write_text(f"{mods}\n")  # added since the capture
    added = cli("verify", "--python", python, lock)
    assert f"  python: .pth: {pth} puts {shlex.quote(str(mods))} on sys.path, and no distribution" in added.out, added
    [found] = json.loads(cli("verify", "--json", "--python", python, lock).out)["differences"]
    raw = found["note"]
    assert raw.startswith(f"{pth} puts {mods} on sys.path"), raw
    assert found["places"] == [{"kind": "pth", "path": pth}, {"kind": "folder", "path": str(mods)}]
    assert cli("capture", "--python", python, "-o", lock).code == 0
    (mods / "new one.py").write_text("Y = 2\n")  # changed since the capture
    changed = cli("verify", "--python", python, lock)
    assert changed.code == 3, changed
    said = f"the modules in {shlex.quote(str(mods))} (from {pth}) differ from the capture's: 1 module file changed"
    assert f"  python: .pth: {said}, the first 'new one.py' (modified)\n" in changed.out, changed
    [found] = json.loads(cli("verify", "--json", "--python", python, lock).out)["differences"]
    raw = found["note"]
    assert raw.startswith(f"the modules in {mods} (from {pth}) differ") and raw.endswith("new one.py (modified)"), raw
    assert [p["kind"] for p in found["places"]] == ["folder", "pth", "file"]
    assert found["places"][2]["path"] == "new one.py"
    (site / "mods.pth").unlink()  # gone since the capture
    gone = cli("verify", "--python", python, lock)
    assert f"  python: .pth: the lock's environment had {shlex.quote(str(mods))} on sys.path (from {pth}), " in gone.out
    [raw] = [d["note"] for d in json.loads(cli("verify", "--json", "--python", python, lock).out)["differences"]]
    assert raw.startswith(f"the lock's environment had {mods} on sys.path (from {pth}), "), raw


def _venv_with_pth_folder(tmp_path: Path, make_venv: Any) -> tuple[Path, Path]:
    python = make_venv(tmp_path / "venv")
    mods = tmp_path / "mods"
    (mods / "pkg").mkdir(parents=True)
    (mods / "helper.py").write_text("X = 1\n")
    (mods / "pkg" / "__init__.py").write_text("Y = 1\n")
    (mods / "notes.txt").write_text("not imported\n")
    (site_packages(python) / "mods.pth").write_text(f"{mods}\n")
    return python, mods


def test_a_module_edited_in_a_pth_folder_since_the_capture_is_a_mismatch(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """The lock records a ``.pth`` folder of modules (``conda develop``, ``echo /data/mods > mods.pth``) by path only:
    a module edited there since the capture changed what ``import`` reads, and verify said identical, exit 0. The
    lock records the folder's digest (``python.pth_folders.digest``): verify names the folder, exit 3; a file that
    imports read nothing from (``notes.txt``) changes nothing."""
    python, mods = _venv_with_pth_folder(tmp_path, make_venv)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    (mods / "notes.txt").write_text("edited, and imports read nothing from it\n")
    assert cli("verify", "--python", python, "--strict", lock).code == 0
    (mods / "pkg" / "__init__.py").write_text("Y = 2\n")
    result = cli("verify", "--json", "--python", python, lock)
    assert result.code == 3, result
    [found] = [d for d in json.loads(result.out)["differences"] if d["subject"] == ".pth"]
    assert (found["severity"], found["area"], found["what"]) == ("mismatch", "python", "imports")
    assert found["note"].startswith(f"the modules in {mods} (from {{prefix}}/"), found
    assert found["note"].endswith(
        "/mods.pth) differ from the capture's: 1 module file changed, the first pkg/__init__.py (modified)"
    ), found


def test_verify_names_the_first_changed_module_file_of_a_pth_folder_and_how_many_changed(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """A research repo put on ``sys.path`` by a ``.pth`` file changed since the capture: verify said the folder's
    modules differ, not which file. The lock lists the folder's module files (``python.pth_folders.files``): verify
    names the first changed one, sorted by path, and how many changed, in its text and ``--json`` output."""
    python, mods = _venv_with_pth_folder(tmp_path, make_venv)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    (mods / "pkg" / "__init__.py").write_text("Y = 2\n")
    (mods / "zz.py").write_text("Z = 1\n")
    result = cli("verify", "--json", "--python", python, lock)
    assert result.code == 3, result
    [found] = [d for d in json.loads(result.out)["differences"] if d["subject"] == ".pth"]
    assert found["severity"] == "mismatch"
    assert found["note"].endswith(
        "/mods.pth) differ from the capture's: 2 module files changed, the first pkg/__init__.py (modified)"
    ), found
    (mods / "helper.py").unlink()
    text = cli("verify", "--python", python, lock)
    assert text.code == 3, text
    assert "differ from the capture's: 3 module files changed, the first helper.py (removed)" in text.out, text


def test_a_pth_folder_whose_listed_files_do_not_give_its_digest_is_named_as_changed_without_a_file(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """The lock is untrusted: a file list that does not give the folder's digest is not used to name a file."""
    python, mods = _venv_with_pth_folder(tmp_path, make_venv)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    captured = lockfile.load(lock)
    [entry] = captured.python.pth_folders
    assert entry.files[0].startswith("helper.py 6 ") and f'"{entry.files[0]}",' in lock.read_text()
    entries = (dataclasses.replace(entry, files=("helper2.py" + entry.files[0][9:], *entry.files[1:])),)
    lockfile.dump(dataclasses.replace(captured, python=dataclasses.replace(captured.python, pth_folders=entries)), lock)
    (mods / "pkg" / "__init__.py").write_text("Y = 2\n")
    result = cli("verify", "--json", "--python", python, lock)
    assert result.code == 3, result
    [found] = [d for d in json.loads(result.out)["differences"] if d["subject"] == ".pth"]
    assert found["note"].endswith(
        "differ from the capture's: the folder's .py and extension module files (names, sizes, sha256) are not "
        "those the lock records"
    ), found


@pytest.mark.parametrize(
    "entry", ["../up.py 1 " + "0" * 64, "/abs.py 1 " + "0" * 64, "data.txt 1 " + "0" * 64, "helper.py 1 nothex"]
)
def test_a_pth_folder_file_the_lock_cannot_stand_for_is_refused_on_load(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], entry: str
) -> None:
    """``python.pth_folders.files`` is checked at the boundary: a path out of the folder, not a module, or no sha256
    is one line naming the field, exit 2."""
    python = make_venv(tmp_path / "venv")
    lock = tmp_path / "envsnap.lock"
    folder = PthFolder("{prefix}/mods.pth", "/data/mods", digest="sha256:" + "0" * 64, files=(entry,))
    snapshot = sample_lock()
    dump_unchecked(
        dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, pth_folders=(folder,))), lock
    )
    result = cli("verify", "--python", python, lock)
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "python.pth_folders[0].files[0]: " in result.err, result


def test_a_pth_folder_grown_over_the_digest_s_limits_since_the_capture_is_a_warning(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock records the folder's digest, and the folder here is over the limits: its files were not compared,
    which verify says (a warning, exit 0), rather than call it changed or the same."""
    from envsnap.probes import python as python_probe

    python, mods = _venv_with_pth_folder(tmp_path, make_venv)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    monkeypatch.setattr(python_probe, "PTH_DIGEST_FILES", 1)
    result = cli("verify", "--json", "--python", python, lock)
    assert result.code == 0, result
    [found] = [d for d in json.loads(result.out)["differences"] if d["subject"] == ".pth"]
    assert found["severity"] == "warning"
    assert found["note"].startswith(f"the modules in {mods} (from {{prefix}}/")
    assert found["note"].endswith(PTH_UNCHECKED)


def test_the_capture_and_verify_memos_see_a_module_edited_in_a_pth_folder_s_package(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memos stamp the ``.pth`` folder's top-level files only: a module edited in a package below it would let
    a kept verify say identical, and a kept capture give the old digest (then verify fails a fresh lock)."""
    from envsnap.probes import memo

    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # files made moments ago: the memos keep their answers
    python, mods = _venv_with_pth_folder(tmp_path, make_venv)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    assert cli("verify", "--python", python, lock).code == 0
    (mods / "pkg" / "__init__.py").write_text("Y = 2\n")
    assert cli("verify", "--python", python, lock).code == 3
    assert cli("capture", "--python", python, "-o", lock).code == 0
    assert cli("verify", "--python", python, lock).code == 0
    (mods / "pkg" / "more.py").write_text("Z = 1\n")
    assert cli("verify", "--python", python, lock).code == 3


def test_a_lock_recording_a_pth_folder_without_its_digest_says_once_its_modules_are_not_checked(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """A lock written before the digest (``pth_folders`` entries of ``pth`` and ``folder`` only) loads and verifies
    by path: identical, no false drift, ``--strict`` too. It said nothing of the folder, as if its modules were
    checked: one info line says they are not, and that a capture records their digest."""
    python, mods = _venv_with_pth_folder(tmp_path, make_venv)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    older = lockfile.load(lock)
    [entry] = older.python.pth_folders
    assert entry.digest.startswith("sha256:") and f'digest = "{entry.digest}"' in lock.read_text()
    entries = tuple(dataclasses.replace(e, digest="") for e in older.python.pth_folders)
    old = tmp_path / "old.lock"
    lockfile.dump(dataclasses.replace(older, python=dataclasses.replace(older.python, pth_folders=entries)), old)
    assert entry.digest not in old.read_text() and "[[python.pth_folders]]" in old.read_text()
    (mods / "helper.py").write_text("X = 2\n")
    result = cli("verify", "--json", "--python", python, "--strict", old)
    assert result.code == 0, result
    [found] = [d for d in json.loads(result.out)["differences"] if d["subject"] == ".pth"]
    said = (
        f"the modules in {mods} (from {entry.pth}) are not checked: the lock records no digest of them (written "
        "before envsnap recorded one); capture again to record one"
    )
    assert (found["severity"], found["what"], found["note"]) == ("info", "imports", said), found
    text = cli("verify", "--python", python, "--strict", old)
    assert text.code == 0 and text.out.count(said) == 1, text


PTH_UNCHECKED = (
    "/mods.pth) are not checked: the folder is too large to be checked (more than 2,000 module files or 16 MiB of "
    "them, the limits of its digest, which no option changes), or cannot be listed"
)


def test_a_pth_folder_over_the_digest_s_limits_is_said_at_capture_and_said_not_checked_on_verify(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder holding more module files than the digest reads (a large project's source tree) is recorded
    without it and the capture says so; verify after an edit there said identical and nothing of the folder, exit 0
    with ``--strict`` too: its drift was never seen. Verify says in one line that it is too large to be checked,
    naming the limits (a warning: ``--strict`` exits 1)."""
    from envsnap.probes import python as python_probe

    monkeypatch.setattr(python_probe, "PTH_DIGEST_FILES", 1)
    python, mods = _venv_with_pth_folder(tmp_path, make_venv)
    lock = tmp_path / "envsnap.lock"
    captured = cli("capture", "--python", python, "-o", lock)
    assert captured.code == 0 and f"python: .pth: {mods} holds more than 2,000 module files" in captured.err, captured
    assert [e.digest for e in lockfile.load(lock).python.pth_folders] == [""]
    (mods / "helper.py").write_text("X = 2\n")
    result = cli("verify", "--json", "--python", python, lock)
    assert result.code == 0, result
    [found] = [d for d in json.loads(result.out)["differences"] if d["subject"] == ".pth"]
    assert found["severity"] == "warning"
    assert found["note"].startswith(f"the modules in {mods} (from {{prefix}}/"), found
    assert found["note"].endswith(PTH_UNCHECKED), found
    text = cli("verify", "--python", python, "--strict", lock)
    assert text.code == 1, text
    assert PTH_UNCHECKED in text.out, text


def test_files_flag_takes_dpkg_s_md5sums_for_a_file_a_system_package_stripped(
    tmp_path: Path, make_venv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian builds python3-cryptography's wheel, writes its RECORD, then strips ``_rust.abi3.so`` (dh_strip):
    ``verify --files`` of the unchanged environment (a venv made with ``--system-site-packages`` over Debian's
    python3) called it modified, DIFFERENT, while ``dpkg --verify`` finds it as installed. A file dpkg installed is
    judged by its md5sums; one edited since is still modified, and a file no package owns still by its RECORD."""
    import hashlib

    from envsnap.probes import hostlibs
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    _install_by_hand(site, "debcrypt", {"debcrypt/_rust.so": b"unstripped", "debcrypt/_other.so": b"unstripped too"})
    lock = capture(str(python))
    (site / "debcrypt" / "_rust.so").write_bytes(b"stripped")  # what dh_strip left, after the RECORD was written
    (site / "debcrypt" / "_other.so").write_bytes(b"stripped too")
    info = tmp_path / "dpkg-info"
    info.mkdir()
    rust, other = (os.path.realpath(site / "debcrypt" / n) for n in ("_rust.so", "_other.so"))
    (info / "python3-debcrypt:amd64.list").write_text(f"{rust}\n{other}\n")
    md5sums = [f"{hashlib.md5(b'stripped').hexdigest()}  {rust.lstrip('/')}"]
    md5sums.append(f"{hashlib.md5(b'stripped, then edited').hexdigest()}  {other.lstrip('/')}")
    (info / "python3-debcrypt:amd64.md5sums").write_text("\n".join(md5sums) + "\n")
    monkeypatch.setattr(hostlibs, "DPKG_INFO", str(info))
    monkeypatch.setattr(hostlibs, "detect_manager", lambda: "dpkg")
    [diff] = [d for d in verify(lock, str(python), files=True).differences if d.what == "files"]
    assert (diff.severity, diff.subject, diff.actual, diff.note) == (
        MISMATCH,
        "debcrypt",
        "1 modified",
        "debcrypt/_other.so",
    )
    (site / "debcrypt" / "_other.so").write_bytes(b"stripped, then edited")
    assert [d for d in verify(lock, str(python), files=True).differences if d.what == "files"] == []


def _install_by_hand(site: Path, name: str, files: dict[str, bytes]) -> None:
    """What pip leaves of a wheel of ``name`` 1.0 holding ``files``: each file written (over any there), and a
    dist-info whose RECORD lists them."""
    import base64
    import hashlib

    files = {**files, f"{name}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()}
    rows = []
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{rel},sha256={digest},{len(data)}")
    record = site / f"{name}-1.0.dist-info" / "RECORD"
    record.write_text("\n".join([*rows, f"{name}-1.0.dist-info/RECORD,,"]) + "\n")


def _editable_project(site: Path, project: Path) -> None:
    """A git work tree ``project`` holding the project ``proj`` 1.0 (``src`` layout), installed editable into
    ``site`` as ``pip install -e`` installs it (its ``.pth`` hook and a ``direct_url.json`` naming the folder)."""
    (project / "src" / "proj").mkdir(parents=True)
    (project / "src" / "proj" / "__init__.py").write_text("VALUE = 1\n")
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1.0"\n')
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    _install_by_hand(site, "proj", {"__editable__.proj-1.0.pth": f"{project / 'src'}\n".encode()})
    direct_url = {"url": project.as_uri(), "dir_info": {"editable": True}}
    (site / "proj-1.0.dist-info" / "direct_url.json").write_text(json.dumps(direct_url))


def test_files_flag_judges_a_file_two_distributions_ship_against_both(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """opencv-python and opencv-contrib-python both ship cv2/: the later install's copy wins, and the earlier
    one's RECORD still lists its own. The file is right as either one's copy, and said once naming both."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    _install_by_hand(site, "alpha", {"shared/__init__.py": b"", "shared/x.py": b"WHO = 'alpha'\n"})
    _install_by_hand(site, "beta", {"shared/__init__.py": b"", "shared/x.py": b"WHO = 'beta'\n"})
    lock_path = lockfile.dump(capture(str(python)), tmp_path / "envsnap.lock")
    faithful = cli("verify", lock_path, "--python", python, "--files")
    assert faithful.code == 0
    assert faithful.out.splitlines()[-1].startswith("identical: the Python layer matches the lock")
    (site / "shared" / "x.py").write_bytes(b"WHO = 'me'\n")  # neither one's copy
    edited = cli("verify", lock_path, "--python", python, "--files")
    assert edited.code == 3
    assert [line for line in edited.out.splitlines() if "files as" in line] == [
        "  python: alpha, beta: files as the RECORDs of alpha and beta list them -> 1 modified (shared/x.py)"
    ]
    (site / "shared" / "x.py").unlink()
    report = verify(lockfile.load(lock_path), str(python), files=True)
    [diff] = [d for d in report.differences if d.what == "files"]
    assert (diff.severity, diff.subject, diff.actual, diff.note) == (
        MISMATCH,
        "alpha, beta",
        "1 missing",
        "shared/x.py",
    )


def test_the_interpreter_change_comes_first_and_its_consequences_say_so() -> None:
    """A lock from 3.12.1 verified on 3.11.7: every compiled wheel differs because of it. The root cause is
    listed first, before the 29 differences that follow from it, and each of those names it."""
    names = [f"ext{i:02d}" for i in range(29)]
    lock = snap(*(pkg(n, wheel_tags=("cp312-cp312-manylinux_2_17_x86_64",)) for n in names), pkg("purelib"))
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, version="3.12.1", abi="cp312"))
    now = snap(
        *(pkg(n, record_digest=f"sha256:{n}-311", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",)) for n in names),
        pkg("purelib", record_digest="sha256:edited"),
    )
    report = compare(lock, now)
    first = report.differences[:2]
    assert {(d.area, d.what) for d in first} == {("interpreter", "version"), ("interpreter", "abi")}
    assert all(d.root_cause and not d.cause for d in first)
    # A pure-Python wheel is the same for any interpreter: its other files are a difference of its own, listed
    # before the consequences.
    assert (report.differences[2].subject, report.differences[2].cause) == ("purelib", "")
    consequences = report.consequences
    assert len(consequences) == 58 and {d.subject for d in consequences} == set(names)
    assert list(report.differences[3:]) == consequences
    assert (
        consequences[0]
        .describe()
        .endswith(
            "(same version, other files; follows from python abi cp312 -> cp311, python version 3.12.1 -> 3.11.7)"
        )
    )
    assert lockfile.to_dict(report)["differences"][3]["cause"].startswith("python abi cp312 -> cp311")


def test_a_broken_requirement_the_lock_does_not_hold_is_not_said_to_be_the_locks() -> None:
    """verify of a lock against the system interpreter (Debian's pygobject, which requires pycairo, not installed)
    read "pygobject requires pycairo>=1.16.0, but it is not installed (the lock has the same broken requirement)",
    of a package the lock does not record, nor that requirement: said only where the lock's package lists it."""
    lock = snap(pkg("app", requires_dist=("numpy>=2",)), pkg("numpy", "2.1.0"))
    now = snap(
        pkg("app", requires_dist=("numpy>=2", "rich")),
        pkg("numpy", "2.1.0"),
        pkg("pygobject", requires_dist=("pycairo>=1.16.0",)),
    )
    broken = [(d.subject, d.expected, d.note) for d in compare(lock, now).differences if d.what == "requirement"]
    assert broken == [
        ("app", "rich", "the lock's app does not list it"),
        ("pygobject", "pycairo>=1.16.0", "a package the lock does not record"),
    ]


def test_a_requirement_marker_naming_a_lock_files_variable_is_skipped_not_a_traceback() -> None:
    """A lock's Requires-Dist line is a stranger's text: a marker naming a lock file's variable (``extras``,
    ``dependency_groups``), which no requirement's context defines, made packaging raise KeyError, and verify ended
    in a traceback. pip would not act on it: it is skipped, as a marker packaging cannot evaluate is."""
    texts = ("numpy>=99; extras == 'a'", "scipy>=99 ; 'dev' in dependency_groups", "rich")
    lock = snap(pkg("app", requires_dist=texts), pkg("numpy", "1.0"), pkg("scipy", "1.0"))
    now = snap(pkg("app"), pkg("numpy", "1.0"), pkg("scipy", "1.0"))
    broken = [(d.subject, d.expected) for d in compare(lock, now).differences if d.what == "requirement"]
    assert broken == [("app", "rich")]


def test_no_root_cause_no_consequences() -> None:
    lock = snap(pkg("ext", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",)))
    now = snap(pkg("ext", record_digest="sha256:other", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",)))
    assert [d.cause for d in compare(lock, now).differences] == [""]


def test_broken_requirements_are_warnings_like_pip_check() -> None:
    lock = snap(
        pkg(
            "app",
            requires_dist=(
                "numpy>=2",
                "requests",
                "colorama; sys_platform == 'win32'",
                "pytest; extra == 'test'",
                "tomli; python_version < '3.11'",
            ),
        ),
        pkg("numpy", "2.1.0"),
        pkg("tool", requires_dist=("click>=8",)),
        pkg("click", "7.1"),
    )
    # Installed: numpy downgraded, requests never there; the installed metadata of "tool" lists nothing, but
    # the lock's Requires-Dist still counts.
    now = snap(
        pkg("app", requires_dist=("numpy>=2", "requests")),
        pkg("numpy", "1.26.4"),
        pkg("tool"),
        pkg("click", "7.1"),
    )
    report = compare(lock, now)
    broken = [(d.subject, d.expected, d.actual, d.note) for d in report.differences if d.what == "requirement"]
    assert broken == [
        ("app", "numpy>=2", "1.26.4 is installed", ""),
        ("app", "requests", "it is not installed", "the lock has the same broken requirement"),
        ("tool", "click>=8", "7.1 is installed", "the lock has the same broken requirement"),
    ]
    assert all(d.severity == WARNING for d in report.differences if d.what == "requirement")
    assert next(d for d in report.differences if d.what == "requirement").describe() == (
        "app requires numpy>=2, but 1.26.4 is installed"
    )
    # Markers are evaluated for the target: on Windows colorama would be needed, on 3.10 tomli.
    win = dataclasses.replace(now, platform=dataclasses.replace(now.platform, system="Windows"))
    assert ("app", "colorama") in {(d.subject, d.expected) for d in compare(lock, win).differences}
    py310 = dataclasses.replace(now, python=dataclasses.replace(now.python, version="3.10.14"))
    assert ("app", "tomli") in {(d.subject, d.expected) for d in compare(lock, py310).differences}
    # A consistent environment has none.
    fixed = snap(pkg("app", requires_dist=("numpy>=2",)), pkg("numpy", "2.1.0"))
    assert compare(fixed, fixed).differences == ()


def test_verify_flags_a_broken_requirement_of_a_real_environment(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """A distribution installed with --no-deps: its Requires-Dist, read from METADATA by the probe, is unmet."""
    python = make_venv(tmp_path / "venv")
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    info = site / "needy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: needy\nVersion: 1.0\n"
        "Requires-Dist: labnotes>=1.0\nRequires-Dist: colorama; sys_platform == 'win32'\n\n"
    )
    (info / "RECORD").write_text("needy-1.0.dist-info/METADATA,,\nneedy-1.0.dist-info/RECORD,,\n")
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    assert lockfile.load(lock).package("needy").requires_dist == (  # type: ignore[union-attr]
        "colorama; sys_platform == 'win32'",
        "labnotes>=1.0",
    )
    res = cli("verify", lock, "--python", python)
    assert res.code == 0, res
    assert (
        "python: needy requires labnotes>=1.0, but it is not installed (the lock has the same broken requirement)"
    ) in res.out
    assert "colorama" not in res.out
    assert cli("verify", lock, "--python", python, "--strict").code == 1


def test_an_index_and_a_find_links_install_of_one_file_are_the_same() -> None:
    """issue 12.6: the exported wheel installed by path (pip records file:///.../torch-2.4.0%2Bcpu-...) is the
    locked index/find-links file: the same sha256, the same file name decoded, or the same RECORD."""
    from envsnap.compare.verify import compare_package
    from envsnap.model import Artifact, PythonPackage, Source

    name = "torch-2.4.0+cpu-cp311-cp311-linux_x86_64.whl"
    locked = PythonPackage(
        name="torch",
        version="2.4.0+cpu",
        record_digest="sha256:" + "1" * 64,
        artifact=Artifact(filename=name, url="file:///opt/wheels/" + name, sha256="a" * 64, index="/opt/wheels"),
    )
    by_path = PythonPackage(
        name="torch",
        version="2.4.0+cpu",
        record_digest="sha256:" + "1" * 64,
        source=Source(kind="archive", url="file:///srv/other/torch-2.4.0%2Bcpu-cp311-cp311-linux_x86_64.whl"),
    )
    assert not [d for d in compare_package(locked, by_path) if d.severity == MISMATCH]
    by_hash = PythonPackage(
        name="torch",
        version="2.4.0+cpu",
        record_digest="sha256:" + "1" * 64,
        source=Source(kind="archive", url="file:///srv/renamed.whl", archive_hash="sha256=" + "a" * 64),
    )
    assert not [d for d in compare_package(locked, by_hash) if d.severity == MISMATCH]
    # Captured by path, reinstalled from the index: the same RECORD is the same file.
    assert not [
        d for d in compare_package(by_path, dataclasses.replace(by_path, source=Source())) if d.severity == MISMATCH
    ]
    other = PythonPackage(
        name="torch",
        version="2.4.0+cpu",
        record_digest="sha256:" + "2" * 64,
        source=Source(kind="archive", url="file:///srv/x/torch-2.4.0-cp311-cp311-linux_x86_64.whl"),
    )
    assert [d for d in compare_package(locked, other) if d.severity == MISMATCH]


def test_a_package_version_the_import_never_knew_is_unknown_not_a_mismatch() -> None:
    """issue 12.3: ``uv export --format pylock.toml`` writes the project's own entry as a directory without a
    version; the rebuilt project's 0.1.0 is then unknown to the lock (info), not '' -> 0.1.0 (mismatch). Its
    source is still compared, and a known version still must match."""
    from envsnap.compare.verify import compare_package
    from envsnap.model import PythonPackage, Source

    tree = Source(kind="directory", url="file:///work/uvproj")
    imported = PythonPackage(name="uvproj", version="", source=tree)
    installed = PythonPackage(name="uvproj", version="0.1.0", source=tree)
    diffs = compare_package(imported, installed)
    assert [(d.severity, d.what) for d in diffs] == [(INFO, "version")]
    elsewhere = dataclasses.replace(installed, source=Source(kind="vcs", vcs="git", url="file:///x", commit_id="a"))
    assert [d.what for d in compare_package(imported, elsewhere) if d.severity == MISMATCH] == ["source"]
    assert [d.severity for d in compare_package(dataclasses.replace(imported, version="0.2.0"), installed)] == [
        MISMATCH
    ]


def test_a_conda_environment_without_python_is_reported_as_the_environment(capsys: Any) -> None:
    """verify of a conda prefix with no interpreter: the verdict read "the Python layer does not match the lock
    (0 packages checked ...)" for a changed conda package."""
    from envsnap.cli.verify import print_report
    from envsnap.compare.verify import Difference, VerifyReport

    report = VerifyReport(
        lock="sha256:" + "0" * 64,
        target="/c",
        packages_checked=0,
        differences=(
            Difference(
                area="conda", subject="zlib", what="version", expected="1.3.1", actual="1.3.2", severity=MISMATCH
            ),
        ),
    )
    print_report(report, python_layer=False)
    out = capsys.readouterr().out
    assert "DIFFERENT: the environment (no Python layer) does not match the lock" in out
    assert "Python layer does not match" not in out and "packages checked" not in out
    print_report(dataclasses.replace(report, differences=()), python_layer=False)
    assert "identical: the environment (no Python layer) matches the lock (0 warnings)" in capsys.readouterr().out


def test_a_conda_record_missing_is_the_conda_layers_mismatch_in_the_verdict(capsys: Any) -> None:
    """A conda record removed read "DIFFERENT: the Python layer does not match the lock (3 packages checked ...)"
    while every Python package matched."""
    from envsnap.cli.verify import print_report
    from envsnap.compare.verify import Difference, VerifyReport

    conda = Difference(area="conda", subject="hello-tool", what="missing", expected="1.0.0", severity=MISMATCH)
    python = Difference(MISMATCH, "python", "six", "version", expected="1.16.0", actual="1.17.0")
    report = VerifyReport(lock="sha256:" + "0" * 64, target="/p", packages_checked=3, differences=(conda,))
    print_report(report)
    out = capsys.readouterr().out
    assert "DIFFERENT: the conda layer does not match the lock (the Python layer matches: 3 packages checked" in out
    print_report(dataclasses.replace(report, differences=(conda, python)))
    assert "DIFFERENT: the Python and conda layers do not match the lock" in capsys.readouterr().out


def test_a_lock_that_does_not_record_python_packages_finds_none_extra() -> None:
    """A lock imported from a conda explicit file records no Python package (``python.packages`` unknown): each
    pip package of the environment read "installed, not in the lock", a mismatch, and verify exit 3, where diff
    calls the same package unknown."""
    from envsnap.compare.verify import compare
    from envsnap.model import Meta, PythonEnv, PythonPackage

    installed = PythonPackage(name="six", version="1.16.0", record_digest="sha256:" + "1" * 64)
    actual = sample_lock(python=sample_python(packages=(installed,)))
    imported = dataclasses.replace(
        actual,
        envsnap=Meta(origin="conda-explicit", unknown=("python.packages",)),
        python=PythonEnv(version=actual.python.version, packages=()),
    )
    report = compare(imported, actual)
    assert report.identical
    assert [(d.severity, d.subject, d.what) for d in report.differences if d.area == "python"] == [
        (INFO, "six", "extra")
    ]
    recorded = dataclasses.replace(imported, envsnap=Meta())  # a lock that records them, and has none: a mismatch
    assert not compare(recorded, actual).identical


def test_verify_reads_no_git_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """verify compares no project state, so its capture runs none of the git subprocesses (status, diff, remote)
    a capture runs in a work tree (issue 19: work once)."""
    import subprocess

    from envsnap.probes import project
    from envsnap.probes.capture import capture

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    asked: list[str] = []
    monkeypatch.setattr(project, "probe_project", lambda root, **_: asked.append(root))
    here = capture()
    assert asked  # a capture reads it
    asked.clear()
    assert verify(here).identical
    assert asked == []


def test_a_requirement_of_an_extra_alone_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most of an ML environment's Requires-Dist name one extra and nothing else: false without that extra, they
    are skipped unparsed; a marker that says more is still evaluated."""
    import packaging.requirements

    parsed: list[str] = []
    real = packaging.requirements.Requirement

    def counting(text: str) -> packaging.requirements.Requirement:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(packaging.requirements, "Requirement", counting)
    extras = ("pytest>=99; extra == 'test'", 'sphinx>=99 ; extra=="docs"', "ruff>=99;extra == 'dev' ")
    still = ("numpy>=99; extra == 'x' or python_version >= '3'", "scipy>=99; extra == ''")
    lock = snap(pkg("app", requires_dist=(*extras, *still)), pkg("numpy", "1.0"), pkg("scipy", "1.0"))
    broken = {d.expected for d in compare(lock, lock).differences if d.what == "requirement"}
    assert broken == {"numpy>=99", "scipy>=99"}
    assert sorted(parsed) == sorted(still)


def test_the_cli_starts_the_target_probe_before_loading_the_comparison(tmp_path: Path) -> None:
    """As capture does: the target interpreter scans its environment while envsnap imports the rest of itself
    and loads the lock (its start and scan were waited for after them)."""
    lock = lockfile.dump(sample_lock(PythonPackage(name="six", version="1.17.0")), tmp_path / "envsnap.lock")
    code = (
        "import sys\n"
        "from envsnap.probes import python\n"
        "real = python.PendingProbe.__init__\n"
        "seen = []\n"
        "def early(self, *a, **k):\n"
        "    seen.append('envsnap.compare.verify' in sys.modules or 'envsnap.lockfile' in sys.modules)\n"
        "    real(self, *a, **k)\n"
        "python.PendingProbe.__init__ = early\n"
        "from envsnap.cli import main\n"
        f"code = main(['verify', {str(lock)!r}, '--python', sys.executable, '--json'])\n"
        "print(seen, code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=600)
    assert done.stdout.strip().splitlines()[-1] == "[False] 3", (done.stdout[-2000:], done.stderr[-2000:])


def test_the_cli_reads_the_package_database_while_loading_the_comparison(tmp_path: Path) -> None:
    """As capture does: the host's package database and loader cache are read in a thread started with the
    target probe, and the capture takes that reading rather than starting its own."""
    lock = lockfile.dump(sample_lock(PythonPackage(name="six", version="1.17.0")), tmp_path / "envsnap.lock")
    code = (
        "import sys\n"
        "from envsnap.probes import hostlibs, system\n"
        "real = hostlibs.prepare_early\n"
        "seen = []\n"
        "def early(*a, **k):\n"
        "    seen.append('early, comparison loaded: %s' % ('envsnap.compare.verify' in sys.modules))\n"
        "    return real(*a, **k)\n"
        "hostlibs.prepare_early = early\n"
        "real_prepare = system.prepare\n"
        "def late(*a, **k):\n"
        "    seen.append('in the capture')\n"
        "    return real_prepare(*a, **k)\n"
        "system.prepare = late\n"
        "from envsnap.cli import main\n"
        f"code = main(['verify', {str(lock)!r}, '--python', sys.executable, '--json'])\n"
        "print(seen, code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=600)
    last = done.stdout.strip().splitlines()[-1]
    assert last == "['early, comparison loaded: False'] 3", (done.stdout[-2000:], done.stderr[-2000:])


def _drifted() -> list[tuple[Snapshot, Snapshot]]:
    """(lock, environment) pairs: unchanged, broken requirements new and old, markers for another target,
    a package gone, another version, an interpreter change, requirements packaging cannot parse."""
    lock = snap(
        pkg(
            "app",
            requires_dist=(
                "numpy>=2",
                "requests",
                "colorama; sys_platform == 'win32'",
                "pytest; extra == 'test'",
                "tomli; python_version < '3.11'",
                "not a requirement ((",
                "odd; python_version ~= 'x'",
            ),
        ),
        pkg("numpy", "2.1.0"),
        pkg("tool", requires_dist=("click>=8", "Numpy (>=2.0)")),
        pkg("click", "7.1"),
    )
    now = snap(pkg("app", requires_dist=("numpy>=2", "requests")), pkg("numpy", "1.26.4"), pkg("tool"), pkg("click"))
    win = dataclasses.replace(now, platform=dataclasses.replace(now.platform, system="Windows"))
    py310 = dataclasses.replace(now, python=dataclasses.replace(now.python, version="3.10.14"))
    fewer = dataclasses.replace(now, python=dataclasses.replace(now.python, packages=now.python.packages[:2]))
    return [(lock, lock), (lock, now), (lock, win), (lock, py310), (lock, fewer), (now, lock), (fewer, win)]


def test_verify_says_the_same_from_the_requirements_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The requirements check of an environment verified before is read from the parsed-lock cache, keyed on
    everything it reads: for drifted environments the report is the same without the cache, while it fills it
    and from it, and from it no requirement is parsed."""
    import packaging.requirements

    from envsnap import _lockcache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    pairs = _drifted()
    monkeypatch.setenv(_lockcache.ENV, "0")
    expected = [compare(lock, now) for lock, now in pairs]
    assert any(d.what == "requirement" for d in expected[1].differences)
    monkeypatch.setenv(_lockcache.ENV, "1")
    assert [compare(lock, now) for lock, now in pairs] == expected
    kept = list((tmp_path / "xdg" / "envsnap" / _lockcache.LOCKS_CACHE).glob("*.view"))
    assert len(kept) == len(pairs)

    def refuse(text: str) -> None:
        raise AssertionError(f"parsed {text!r}")

    monkeypatch.setattr(packaging.requirements, "Requirement", refuse)
    assert [compare(lock, now) for lock, now in pairs] == expected
    # Anything the answer reads is in the key: another installed version, a requirement, a marker value.
    changed = dataclasses.replace(pairs[1][1], platform=dataclasses.replace(pairs[1][1].platform, kernel="6.2"))
    with pytest.raises(AssertionError, match="parsed"):
        compare(pairs[1][0], changed)
    # Without the cache (--no-cache), each run parses again.
    with _lockcache.bypassed(), pytest.raises(AssertionError, match="parsed"):
        compare(*pairs[1])


def test_a_version_written_otherwise_is_the_same_version() -> None:
    """A lock imported from a file that normalises versions (``2024.1``) against the installed ``2024.01``: verify
    compared the strings and called it a mismatch. PEP 440 decides; an invalid (legacy) version is compared as
    written."""
    from envsnap.compare.verify import compare_package

    assert compare_package(pkg("tzdata", "2024.1"), pkg("tzdata", "2024.01", record_digest="sha256:tzdata2024.1")) == []
    assert compare_package(pkg("six", "1.0"), pkg("six", "1.0.0", record_digest="sha256:six1.0")) == []
    # The rest is compared as for the same version: other files are still a mismatch.
    assert found(compare(snap(pkg("six", "1.0")), snap(pkg("six", "1.0.0"))), MISMATCH) == {("six", "record_digest")}
    assert found(compare(snap(pkg("x", "1.0-custom")), snap(pkg("x", "1.0-Custom"))), MISMATCH) == {("x", "version")}


def test_the_verdict_line_counts_one_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    """It read "(1 packages checked, 1 warnings)" and "1 of the differences follow from ..."."""
    from envsnap.cli.verify import print_report

    lock = snap(pkg("numpy"))
    print_report(compare(lock, dataclasses.replace(lock, platform=sample_platform(kernel="6.1", libc_version="2.99"))))
    assert "identical: the Python layer matches the lock (1 package checked, 1 warning)" in capsys.readouterr().out
    lock = snap(pkg("numpy", wheel_tags=("cp312-cp312-manylinux_2_17_x86_64",)))
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, version="3.12.1", abi="cp312"))
    print_report(compare(lock, snap(pkg("numpy", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",)))))
    out = capsys.readouterr().out
    assert "(1 package checked, 0 warnings; 1 of the differences follows from python " in out, out


def test_the_environment_kind_a_pip_import_cannot_know_is_said_so() -> None:
    """An imported pylock or requirements file says nothing of the kind of environment it came from (its import
    writes ``venv``, what a rebuild makes): verify of a system interpreter said "kind: venv -> system" as if the
    lock knew better."""
    from envsnap.importers.interface import PIP_KIND
    from envsnap.model import Meta

    host = snap(pkg("numpy"))
    host = dataclasses.replace(host, python=dataclasses.replace(host.python, kind="system"))
    imported = dataclasses.replace(
        host,
        python=dataclasses.replace(host.python, kind="venv"),
        envsnap=Meta(origin="pylock.toml", unknown=PIP_KIND),
    )
    kinds = [d for d in compare(imported, host).differences if d.what == "kind"]
    assert [(d.severity, d.note) for d in kinds] == [(INFO, "the lock does not record it: imported from pylock.toml")]
    captured = dataclasses.replace(imported, envsnap=Meta())
    assert [d.note for d in compare(captured, host).differences if d.what == "kind"] == [""]


def test_a_gpu_with_no_name_reads_unknown_gpu() -> None:
    # A GPU NVML could not name (GPU is lost) was a blank entry: "GTX 1080, " against "GTX 1080, RTX 3090".
    lock = snap(hardware=Hardware(gpus=(Gpu(0, "GTX 1080", "6.1"), Gpu(1, "", "8.6"))))
    now = snap(hardware=Hardware(gpus=(Gpu(0, "GTX 1080", "6.1"), Gpu(1, "RTX 3090", "8.6"))))
    (gpus,) = [d for d in compare(lock, now).differences if d.area == "gpu" and d.subject == "gpus"]
    assert (gpus.expected, gpus.actual) == ("GTX 1080, unknown GPU", "GTX 1080, RTX 3090")


def test_a_driver_that_did_not_answer_is_said_so_not_shown_as_gone() -> None:
    """On a node whose driver hangs, NVML's probe records the error and no version: verify printed
    ``nvidia: driver_version 550.54.14 -> (none)`` as if the driver were gone, where ``check`` says it hung."""
    hung = "NVML did not answer within 10 s (a hung driver?)"
    lock = snap(nvidia=Nvidia("550.54.14", "12.4", "nvml"), hardware=Hardware(gpus=(Gpu(0, "H100", "9.0"),)))
    now = snap(nvidia=Nvidia(source="nvml", error=hung))
    lines = [d.describe() for d in compare(lock, now).differences if d.area == "gpu"]
    assert lines == [
        f"nvidia: cuda_driver_version 12.4 -> (none) (the NVIDIA driver did not answer: {hung})",
        f"nvidia: driver_version 550.54.14 -> (none) (the NVIDIA driver did not answer: {hung})",
        f"gpus: models H100 -> none (the NVIDIA driver did not answer: {hung})",
    ]
    gone = [d.describe() for d in compare(lock, snap()).differences if d.area == "gpu"]
    assert gone == [
        "nvidia: cuda_driver_version 12.4 -> (none)",
        "nvidia: driver_version 550.54.14 -> (none)",
        "gpus: models H100 -> none",
    ]


def test_a_driver_that_fails_otherwise_than_at_capture_is_a_difference() -> None:
    """The lock's driver did not answer at capture, and neither does this host's, another way (or this host has no
    driver): no driver version on either side, and verify said nothing of the driver at all."""
    dead = snap(nvidia=Nvidia(source="nvml", error="nvmlInit: Driver Not Loaded"))
    hung = "NVML did not answer within 10 s (a hung driver?)"
    lines = [d.describe() for d in compare(dead, snap(nvidia=Nvidia(source="nvml", error=hung))).differences]
    assert lines == [f"nvidia: error nvmlInit: Driver Not Loaded -> {hung}"]
    (found,) = compare(dead, snap()).differences
    assert (found.severity, found.area, found.describe()) == (
        WARNING,
        "gpu",
        "nvidia: error nvmlInit: Driver Not Loaded -> (none) (no NVIDIA driver here)",
    )
    lines = [d.describe() for d in compare(snap(), dead).differences]
    assert lines == ["nvidia: error (none) -> nvmlInit: Driver Not Loaded (the lock records no driver)"]
    # The same failure here as at capture is no difference, nor a driver hung here and at capture, whatever the wait.
    assert compare(dead, snap(nvidia=Nvidia(source="nvml", error="nvmlInit: Driver Not Loaded"))).differences == ()
    hung_then = snap(nvidia=Nvidia(source="nvml", error="NVML did not answer within 2 s (a hung driver?)"))
    assert compare(hung_then, snap(nvidia=Nvidia(source="nvml", error=hung))).differences == ()


def test_a_gpu_error_beside_a_driver_that_answered_is_a_difference() -> None:
    """The driver answers here as at capture, and one GPU does not (``GPU 1: ... GPU is lost``): verify said only
    "gpus: models H100, H100 -> H100, unknown GPU", as info."""
    driver = Nvidia("550.54.14", "12.4", "nvml")
    h100 = Gpu(0, "H100", "9.0")
    lock = snap(nvidia=driver, hardware=Hardware(gpus=(h100, dataclasses.replace(h100, index=1))))
    error = "GPU 1: nvmlDeviceGetName: GPU is lost"
    now = snap(
        nvidia=dataclasses.replace(driver, error=error),
        hardware=Hardware(gpus=(h100, dataclasses.replace(h100, index=1, name=""))),
    )
    found = [d for d in compare(lock, now).differences if d.describe().startswith("nvidia: error")]
    assert [(d.severity, d.area, d.describe()) for d in found] == [
        (WARNING, "gpu", f"nvidia: error (none) -> {error} (the error NVML gave beside the driver)")
    ]
    assert compare(now, now).differences == ()


def _editable_dist(python: Path, name: str, folder: Path) -> None:
    dist = site_packages(python) / f"{name}-0.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.3\n\n")
    (dist / "INSTALLER").write_text("pip\n")
    (dist / "RECORD").write_text(f"{name}-0.3.dist-info/METADATA,,\n")
    (dist / "direct_url.json").write_text(f'{{"url": "{folder.as_uri()}", "dir_info": {{"editable": true}}}}')


def _tool_repo(tmp_path: Path) -> tuple[Path, str]:
    """A git repository holding the project ``tool`` in its folder ``sub``, one commit: it and that commit."""
    repo = tmp_path / "repo"
    (repo / "sub" / "tool").mkdir(parents=True)
    (repo / "sub" / "pyproject.toml").write_text('[project]\nname = "tool"\nversion = "0.3"\n')
    (repo / "sub" / "tool" / "__init__.py").write_text("X = 1\n")
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "one")
    return repo, _git(repo, "rev-parse", "HEAD")


def _git(folder: Path, *args: str) -> str:
    env = ["-c", "user.email=a@example.org", "-c", "user.name=a"]
    out = subprocess.run(["git", *env, "-C", str(folder), *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_an_editable_vcs_line_verifies_against_the_checkout_pip_made_of_it(
    tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip freeze`` writes an editable checkout as ``-e git+URL@COMMIT#egg=tool&subdirectory=sub``; pip installs that
    line by cloning the repository into ``{prefix}/src/tool`` and recording the folder (``dir_info``, editable), not
    the commit. Verify of the line's import against that environment was always a mismatch ("source git+...@C ->
    editable file://{prefix}/src/tool/sub"). The checkout's own commit now decides: the locked one verifies, another
    is a mismatch naming both, and an edit to its tracked files is a warning."""
    repo, commit = _tool_repo(tmp_path)

    python = make_venv(tmp_path / "venv")
    checkout = tmp_path / "venv" / "src" / "tool"
    _git(tmp_path, "clone", "-q", str(repo), str(checkout))  # what pip install -e git+... does
    _editable_dist(python, "tool", checkout / "sub")

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "requirements.txt").write_text(f"-e git+{repo.as_uri()}@{commit}#egg=tool&subdirectory=sub\n")
    assert cli("import", "requirements.txt", "-o", "tool.lock").code == 0

    from envsnap.probes import memo

    # The verify memo keeps a report at once (no file it watches changed "too recently"): a kept report of the clean
    # checkout would answer the verifies below, which no file of the environment it stamps tells apart.
    monkeypatch.setattr(memo, "RACY_NS", -(10**18))
    result = cli("verify", "tool.lock", "--python", python)
    assert result.code == 0, result.out
    assert "tool: source" not in result.out, result.out

    (checkout / "sub" / "tool" / "__init__.py").write_text("X = 2\n")  # edited where it is installed
    result = cli("verify", "tool.lock", "--python", python, "--json")
    tool = [d for d in json.loads(result.out)["differences"] if d["subject"] == "tool" and d["severity"] != "info"]
    assert [(d["severity"], d["what"]) for d in tool] == [("warning", "source")], tool
    assert "uncommitted changes" in tool[0]["note"], tool

    _git(checkout, "commit", "-qam", "two")  # the checkout moved on
    moved = _git(checkout, "rev-parse", "HEAD")
    result = cli("verify", "tool.lock", "--python", python)
    assert result.code == 3 and f"{commit[:12]}" in result.out and f"{moved[:12]}" in result.out, result.out


def test_a_capture_records_the_commit_of_an_editable_vcs_checkout_and_verify_sees_it_move(
    tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install -e git+URL#egg=tool&subdirectory=sub`` clones the repository into ``{prefix}/src/tool`` and
    records the folder, not the commit (``pip freeze`` reads the commit from the clone). A capture recorded it as
    ``file://{prefix}/src/tool/sub``, editable, with no repository and no commit: ``rebuild`` refused it ("a
    directory inside the captured environment cannot be rebuilt from"), and another commit checked out there
    verified identical and captured the same lock. The capture now records the clone's origin and commit."""
    repo, commit = _tool_repo(tmp_path)
    (repo / "sub" / "tool" / "__init__.py").write_text("X = 2\n")
    _git(repo, "commit", "-qam", "two")
    second = _git(repo, "rev-parse", "HEAD")

    python = make_venv(tmp_path / "venv")
    checkout = tmp_path / "venv" / "src" / "tool"
    _git(tmp_path, "clone", "-q", str(repo), str(checkout))  # what pip install -e git+... does
    _git(checkout, "checkout", "-q", commit)
    _editable_dist(python, "tool", checkout / "sub")

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    from envsnap.probes import memo

    # A memo is kept at once (no file it watches changed "too recently"): a kept lock or report of the first
    # checkout would answer the commands below, which no file of the environment it stamps tells apart.
    monkeypatch.setattr(memo, "RACY_NS", -(10**18))
    assert cli("capture", "--python", python, "-o", "one.lock").code == 0
    (tool,) = [p for p in lockfile.load(work / "one.lock").python.packages if p.name == "tool"]
    assert (tool.source.kind, tool.source.url, tool.source.vcs) == ("vcs", repo.as_uri(), "git")
    assert (tool.source.commit_id, tool.source.subdirectory, tool.source.editable) == (commit, "sub", True)
    result = cli("verify", "one.lock", "--python", python)
    assert result.code == 0 and "tool" not in result.out, result.out

    _git(checkout, "checkout", "-q", second)  # another commit checked out where it is installed
    result = cli("verify", "one.lock", "--python", python)
    assert result.code == 3 and commit[:12] in result.out and second[:12] in result.out, result.out
    assert cli("capture", "--python", python, "-o", "two.lock").code == 0
    result = cli("diff", "one.lock", "two.lock")
    assert result.code == 1 and commit[:12] in result.out and second[:12] in result.out, result.out

    (checkout / "sub" / "tool" / "__init__.py").write_text("X = 3\n")  # edited where it is installed
    assert cli("capture", "--python", python, "-o", "three.lock").code == 0
    warnings = lockfile.load(work / "three.lock").envsnap.warnings
    assert [w for w in warnings if "tool" in w and "uncommitted changes" in w], warnings


def test_an_editable_clone_outside_the_environment_is_recorded_by_its_commit_as_one_inside_it(
    tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install --src DIR -e git+URL#egg=tool`` (or a system interpreter, which clones into ``./src``) puts the
    clone outside the environment's prefix: a capture recorded it as a folder with no commit, where the same clone in
    ``{prefix}/src`` was the VCS source with its commit. A clean checkout outside the prefix whose origin is a network
    URL and whose commit a branch of that remote holds is now that VCS source too; one with uncommitted changes, a
    commit not on the remote, or the project itself stays the folder it is built from."""
    repo, commit = _tool_repo(tmp_path)

    python = make_venv(tmp_path / "venv")
    checkout = tmp_path / "work" / "src" / "tool"  # pip install --src src -e git+...
    _git(tmp_path, "clone", "-q", str(repo), str(checkout))
    _git(checkout, "remote", "set-url", "origin", "https://git.example.org/o/tool.git")
    _editable_dist(python, "tool", checkout / "sub")
    # The project: a work tree with a network origin too, installed editable, stays file://{project}.
    project = tmp_path / "work"
    (project / "pyproject.toml").write_text('[project]\nname = "paper"\nversion = "0.3"\n')
    (project / ".gitignore").write_text("src/\n*.lock\n")
    _git(tmp_path, "init", "-q", str(project))
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "one")
    _git(project, "remote", "add", "origin", "https://git.example.org/o/paper.git")
    _editable_dist(python, "paper", project)

    monkeypatch.chdir(project)
    from envsnap.probes import memo

    monkeypatch.setattr(memo, "RACY_NS", -(10**18))  # a memo is kept at once: it must not answer a later capture

    def source(lock: str) -> dict[str, Source]:
        assert cli("capture", "--python", python, "-o", lock).code == 0
        return {p.name: p.source for p in lockfile.load(project / lock).python.packages}

    (checkout / "sub" / "tool" / "__init__.py").write_text("X = 2\n")  # edited: the folder is the code
    found = source("one.lock")
    assert (found["tool"].kind, found["tool"].url) == ("directory", "file://{project}/src/tool/sub"), found["tool"]
    assert (found["paper"].kind, found["paper"].url) == ("directory", "file://{project}"), found["paper"]

    _git(checkout, "checkout", "-q", "--", ".")  # clean again: the commit the remote has
    found = source("two.lock")
    tool = found["tool"]
    assert (tool.kind, tool.url, tool.vcs, tool.commit_id) == (
        "vcs",
        "https://git.example.org/o/tool.git",
        "git",
        commit,
    )
    assert (tool.subdirectory, tool.editable) == ("sub", True)
    assert (found["paper"].kind, found["paper"].url) == ("directory", "file://{project}"), found["paper"]

    _git(checkout, "commit", "-qam", "local", "--allow-empty")  # a commit the remote does not have
    assert source("three.lock")["tool"].kind == "directory"


def test_an_editable_checkout_rebuilt_as_a_wheel_is_no_unreproducible_build() -> None:
    """A rebuild installs a package the lock installs editable from a git commit as the wheel built from that commit:
    its RECORD lists the modules where the editable install's lists a ``.pth`` hook, so the digests always differ.
    That read "rebuilt from source: the build is not reproducible", a warning that failed ``verify --strict`` after
    every rebuild of such a lock; it is an editable install's RECORD, as for an editable folder."""
    source = Source(kind="vcs", url="https://example.org/tool.git", vcs="git", commit_id="a" * 40, editable=True)
    lock = snap(pkg("tool", "0.3", source=source, record_digest="sha256:" + "1" * 64))
    now = snap(pkg("tool", "0.3", record_digest="sha256:" + "2" * 64))
    digests = [d for d in compare(lock, now).differences if d.what == "record_digest"]
    assert [(d.severity, d.note) for d in digests] == [
        (INFO, "installed from a wheel; an editable install's RECORD differs")
    ]


def test_a_project_whose_own_folder_is_the_venv_stays_its_folder(
    tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A venv made in the project's own folder (``python -m venv .``) holds the project's checkout as its prefix: its
    editable install is the project, built from its folder by a rebuild, not a clone pip made inside the
    environment (``{prefix}/src/NAME``) to be recorded by its origin and commit."""
    project = tmp_path / "proj"
    python = make_venv(project)
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0.1"\n')
    _git(tmp_path, "init", "-q", str(project))
    _git(project, "add", "-f", "pyproject.toml")  # uv writes a .gitignore of "*" into a venv
    _git(project, "commit", "-qm", "one")
    dist = site_packages(python) / "proj-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: proj\nVersion: 0.1\n\n")
    (dist / "RECORD").write_text("proj-0.1.dist-info/METADATA,,\n")
    (dist / "direct_url.json").write_text(f'{{"url": "{project.as_uri()}", "dir_info": {{"editable": true}}}}')
    monkeypatch.chdir(project)
    assert cli("capture", "--python", python, "-o", "proj.lock", "--no-cache").code == 0
    (proj,) = [p for p in lockfile.load(project / "proj.lock").python.packages if p.name == "proj"]
    assert (proj.source.kind, proj.source.url, proj.source.editable) == ("directory", "file://{project}", True)


def test_plain_pip_freeze_of_a_venv_verifies_against_that_venv(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip freeze`` without ``--all`` leaves out pip (and, before Python 3.12, setuptools, wheel and distribute):
    verify of its import against the very venv it came from said "pip 23.2.1: installed, not in the lock", exit 3.
    The import records that the file does not name them: installed, they are info; a package the file names is still
    checked, and ``pip freeze --all``'s import (which names pip) checks all of them."""
    from condafixtures import make_wheel

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)  # seeds pip (and setuptools)
    python = venv / "bin" / "python"
    wheel = make_wheel(tmp_path / "wheels", "labnotes", "1.0", {"labnotes/__init__.py": b"X = 1\n"})
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--no-index", "-f", str(wheel.parent), "labnotes"], check=True, timeout=300)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    freeze = subprocess.run([*pip, "freeze"], capture_output=True, text=True, check=True, timeout=300).stdout
    assert "labnotes==1.0" in freeze and "pip==" not in freeze, freeze
    (work / "requirements.txt").write_text(freeze)
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    result = cli("verify", "env.lock", "--python", python, "--json")
    assert result.code == 0, result.out
    seeds = [d for d in json.loads(result.out)["differences"] if d["subject"] in ("pip", "setuptools", "wheel")]
    assert seeds and {d["severity"] for d in seeds} == {"info"}, seeds
    assert all("pip freeze" in d["note"] for d in seeds), seeds
    # diff of a capture of that venv against the import calls them unknown, not removed.
    assert cli("capture", "--python", python, "-o", "captured.lock").code == 0
    changes = json.loads(cli("diff", "captured.lock", "env.lock", "--json").out)["changes"]
    assert {c["change"] for c in changes if c["subject"] in ("pip", "setuptools")} == {"unknown"}, changes

    # A package the file names is checked still; pip freeze --all names pip, so pip's absence from it is a mismatch.
    frozen_all = subprocess.run([*pip, "freeze", "--all"], capture_output=True, text=True, check=True, timeout=300)
    listed = [line for line in frozen_all.stdout.splitlines() if not line.startswith(("labnotes", "setuptools"))]
    (work / "requirements.txt").write_text("\n".join(listed) + "\n")
    assert cli("import", "requirements.txt", "-o", "all.lock").code == 0
    result = cli("verify", "all.lock", "--python", python)
    assert result.code == 3 and "labnotes 1.0: installed, not in the lock" in result.out, result.out
    assert ("setuptools" in result.out) == ("setuptools==" in frozen_all.stdout), result.out


def test_pip_freeze_of_a_wheel_installed_by_path_verifies_cleanly(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip freeze writes a wheel installed by its path as ``name @ file:///...whl#sha256=HEX``: its import recorded
    an index install of that file, and verify of the very venv said ``source index -> file:///...whl``. It is the
    archive install a capture records, so verify and diff find nothing to say of it."""
    from condafixtures import make_wheel

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    wheel = make_wheel(tmp_path / "wheels", "labnotes", "1.0", {"labnotes/__init__.py": b"X = 1\n"})
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python)]
    subprocess.run([*pip, "install", "-q", "--no-index", str(wheel)], check=True, timeout=300)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    freeze = subprocess.run([*pip, "freeze"], capture_output=True, text=True, check=True, timeout=300).stdout
    assert f"labnotes @ {wheel.as_uri()}" in freeze, freeze
    (work / "requirements.txt").write_text(freeze)
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    result = cli("verify", "env.lock", "--python", python, "--json")
    assert result.code == 0, result.out
    about = [d for d in json.loads(result.out)["differences"] if d["subject"] == "labnotes"]
    assert about == [], about
    assert cli("capture", "--python", python, "-o", "captured.lock").code == 0
    changes = json.loads(cli("diff", "captured.lock", "env.lock", "--json").out)["changes"]
    assert [c for c in changes if c["subject"] == "labnotes"] == [], changes


def test_a_pylock_that_does_not_name_pip_verifies_against_a_venv_it_was_installed_into(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile --format pylock.toml`` and ``uv export --format pylock.toml`` leave out pip and setuptools,
    which ``python -m venv`` seeds: verify of the import against the venv the file was installed into said "pip
    23.2.1: installed, not in the lock", exit 3, as for plain pip freeze. A pylock that names pip (envsnap's export
    of a capture) records them all: a setuptools installed that it does not list is a mismatch."""
    import hashlib

    from condafixtures import make_wheel

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)  # seeds pip (and setuptools)
    python = venv / "bin" / "python"
    wheel = make_wheel(tmp_path / "wheels", "labnotes", "1.0", {"labnotes/__init__.py": b"X = 1\n"})
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--no-index", "-f", str(wheel.parent), "labnotes"], check=True, timeout=300)
    installed = subprocess.run([*pip, "list", "--format", "freeze"], capture_output=True, text=True, check=True)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    entry = (
        '[[packages]]\nname = "labnotes"\nversion = "1.0"\n'
        f'wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{sha256}" }} }}]\n'
    )
    head = 'lock-version = "1.0"\ncreated-by = "uv"\nrequires-python = ">=3.8"\n\n'
    (work / "pylock.toml").write_text(head + entry)  # as uv pip compile writes it
    assert cli("import", "pylock.toml", "-o", "env.lock").code == 0
    result = cli("verify", "env.lock", "--python", python, "--json")
    assert result.code == 0, result.out
    seeds = [d for d in json.loads(result.out)["differences"] if d["subject"] in ("pip", "setuptools", "wheel")]
    assert seeds and {d["severity"] for d in seeds} == {"info"}, seeds
    assert all("does not name pip" in d["note"] and "pylock" in d["note"] for d in seeds), seeds
    assert cli("capture", "--python", python, "-o", "captured.lock").code == 0
    changes = json.loads(cli("diff", "captured.lock", "env.lock", "--json").out)["changes"]
    assert {c["change"] for c in changes if c["subject"] in ("pip", "setuptools")} == {"unknown"}, changes

    # A pylock naming pip knows them all: a setuptools it does not list is installed, not in the lock.
    pip_version = next(line.split("==")[1] for line in installed.stdout.splitlines() if line.startswith("pip=="))
    (work / "pylock.toml").write_text(
        head
        + entry
        + f'\n[[packages]]\nname = "pip"\nversion = "{pip_version}"\n'
        + f'wheels = [{{ url = "https://files.example/pip-{pip_version}-py3-none-any.whl", '
        + f'hashes = {{ sha256 = "{"a" * 64}" }} }}]\n'
    )
    assert cli("import", "pylock.toml", "-o", "all.lock").code == 0
    result = cli("verify", "all.lock", "--python", python)
    assert ("setuptools" in result.out) == ("setuptools==" in installed.stdout), result.out
    assert ("setuptools" in result.out) == (result.code == 3), result.out


def test_verify_reads_an_editable_checkout_once(
    tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verify's capture reads an editable clone's root, commit and edited state (``probes.python``), and verify read
    them all again for its "uncommitted changes" warning: two more git runs per editable checkout, every verify. It
    now takes what its capture read, and still sees an edit made since the last command."""
    repo, _ = _tool_repo(tmp_path)
    python = make_venv(tmp_path / "venv")
    checkout = tmp_path / "venv" / "src" / "tool"
    _git(tmp_path, "clone", "-q", str(repo), str(checkout))
    _editable_dist(python, "tool", checkout / "sub")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    from envsnap.probes import gitstate, memo

    monkeypatch.setattr(memo, "RACY_NS", -(10**18))
    assert cli("capture", "--python", python, "-o", "one.lock").code == 0

    asked: list[str] = []
    real_git = gitstate.git

    def counted(directory: str, *args: str) -> Any:
        asked.append(args[0])
        return real_git(directory, *args)

    monkeypatch.setattr(gitstate, "git", counted)
    result = cli("verify", "one.lock", "--python", python)
    assert result.code == 0 and "tool" not in result.out, result.out
    assert asked.count("status") == 1, asked

    (checkout / "sub" / "tool" / "__init__.py").write_text("X = 2\n")  # edited since the capture
    asked.clear()
    result = cli("verify", "one.lock", "--python", python, "--json")
    tool = [d for d in json.loads(result.out)["differences"] if d["subject"] == "tool" and d["severity"] != "info"]
    assert [(d["severity"], d["what"]) for d in tool] == [("warning", "source")], tool
    assert asked.count("status") == 1, asked


def test_a_distribution_whose_record_is_gone_is_not_called_identical(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """A RECORD deleted after the capture (pip then cannot uninstall the package) leaves nothing to prove its files
    are the locked ones: verify called the environment identical, as if the digest had been compared."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    _install_by_hand(site, "tinypkg", {"tinypkg/__init__.py": b"VALUE = 1\n"})
    lock_path = lockfile.dump(capture(str(python)), tmp_path / "envsnap.lock")
    assert cli("verify", lock_path, "--python", python).code == 0
    (site / "tinypkg-1.0.dist-info" / "RECORD").unlink()
    drifted = cli("verify", lock_path, "--python", python)
    assert drifted.code == 3
    assert "  python: tinypkg: record_digest sha256:" in drifted.out
    assert " -> (none) (no RECORD installed: its files cannot be compared with the lock's)\n" in drifted.out


def test_a_record_digest_the_lock_does_not_know_is_not_compared() -> None:
    """A lock captured where the RECORD was gone (or of an egg-info) records no digest: a RECORD now is no drift."""
    assert compare(snap(pkg("a", record_digest="")), snap(pkg("a"))).identical
    editable = snap(pkg("proj", source=EDITABLE))
    assert found(compare(editable, snap(pkg("proj", source=EDITABLE, record_digest=""))), INFO) == {
        ("proj", "record_digest")
    }


def test_an_editable_install_whose_folder_is_gone_is_not_called_identical(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install -e`` of a project, then its folder moved or deleted: nothing of it imports, pip still lists
    it, and verify (and capture) called the environment identical to the lock: the install's RECORD lists its
    ``.pth`` hook alone, which is still there."""
    from envsnap.probes import memo
    from envsnap.probes.capture import capture

    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # files made moments ago: the verify memo keeps its answer

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    project = tmp_path / "proj"
    (project / "proj").mkdir(parents=True)
    (project / "proj" / "__init__.py").write_text("VALUE = 1\n")
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1.0"\n')
    # setuptools' editable install of a flat layout: a finder maps the package to its folder (not on sys.path).
    finder = f"""import importlib.util, sys
class Finder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "proj":
            where = {str(project / "proj")!r}
            init = where + "/__init__.py"
            return importlib.util.spec_from_file_location(name, init, submodule_search_locations=[where])
def install():
    sys.meta_path.append(Finder)
"""
    hook = "import __editable___proj_1_0_finder; __editable___proj_1_0_finder.install()\n"
    _install_by_hand(
        site, "proj", {"__editable__.proj-1.0.pth": hook.encode(), "__editable___proj_1_0_finder.py": finder.encode()}
    )
    direct_url = {"url": project.as_uri(), "dir_info": {"editable": True}}
    (site / "proj-1.0.dist-info" / "direct_url.json").write_text(json.dumps(direct_url))
    run = [str(python), "-c", "import proj"]
    assert subprocess.run(run, capture_output=True).returncode == 0
    lock_path = lockfile.dump(capture(str(python)), tmp_path / "envsnap.lock")
    assert cli("verify", lock_path, "--python", python).code == 0
    project.rename(tmp_path / "elsewhere")
    assert subprocess.run(run, capture_output=True).returncode == 1
    gone = f"its editable folder {project} is gone: nothing of it imports"  # printed by its path
    for _ in range(2):  # the verify memo kept the first answer: a second verify must not take it
        drifted = cli("verify", lock_path, "--python", python)
        assert drifted.code == 3
        assert f"  python: proj: {gone}\n" in drifted.out
    [found] = [d for d in json.loads(cli("verify", "--json", lock_path, "--python", python).out)["differences"]]
    assert found["places"] == [{"kind": "url", "path": project.as_uri()}]  # the folder named, by the lock's URL
    warnings = capture(str(python)).envsnap.warnings
    assert f"python: proj: its editable folder {project.as_uri()} is gone: nothing of it imports" in warnings


def test_an_editable_project_moved_after_its_install_names_the_folder_its_install_reads(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project installed with ``pip install -e .`` and locked in its own work tree (``file://{project}``), then
    moved: verify from its new folder said ``its editable folder file://{project} is gone``, the lock's label for
    the folder it was moved to, which is there; the folder gone is the one the install still reads."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    project = tmp_path / "proj"
    _editable_project(site, project)
    lock_path = lockfile.dump(capture(str(python), str(project)), project / "envsnap.lock")
    (entry,) = [p for p in lockfile.load(lock_path).python.packages if p.name == "proj"]
    assert entry.source.url == "file://{project}"
    moved = project.rename(tmp_path / "moved")
    monkeypatch.chdir(moved)
    drifted = cli("verify", "envsnap.lock", "--python", python)
    assert drifted.code == 3
    gone = f"its editable folder {project} is gone: nothing of it imports (the lock installs it from "
    # The project's folder where it is now ({project} read here), one shell word: a command to paste as it is.
    remedy = f"{{project}}: `pip install --no-deps -e {moved}` installs it as locked)"
    assert f"  python: proj: {gone}{remedy}" in drifted.out, drifted.out


def test_an_editable_project_installed_regular_names_the_project_folder_verify_runs_in(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock captured in its project (``file://{project}``), the project installed since as a regular install (the
    wheel a rebuild installs): verify run inside the project gave ``-e DIR``, DIR its project folder (file://{project}),
    where rebuild's plan names the folder. It knows the folder here: the command names it, one shell word."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    project = tmp_path / "my proj"
    _editable_project(site, project)
    lock_path = lockfile.dump(capture(str(python), str(project)), project / "envsnap.lock")
    (site / "__editable__.proj-1.0.pth").unlink()
    (site / "proj-1.0.dist-info" / "direct_url.json").unlink()
    _install_by_hand(site, "proj", {"proj/__init__.py": b"VALUE = 1\n"})
    monkeypatch.chdir(project)
    inside = cli("verify", "envsnap.lock", "--python", python)
    assert inside.code == 0, inside.out
    command = f"`pip install --no-deps -e '{project}'` installs it as locked)"
    assert "python: proj: source editable {project} -> a wheel (the lock installs it editable" in inside.out
    assert command in inside.out and "DIR" not in inside.out, inside.out
    # From elsewhere, by the work tree around the lock's folder, the same; with no project known, DIR and the URL.
    outside = tmp_path / "scratch"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert command in cli("verify", lock_path, "--python", python).out
    copy = outside / "copy.lock"
    copy.write_text(lock_path.read_text())
    unknown = cli("verify", copy, "--python", python)
    assert "`pip install --no-deps -e DIR`, DIR its project folder ({project})," in unknown.out, unknown.out


def test_an_editable_install_of_another_checkout_is_a_mismatch_and_of_a_clone_verified_there_is_not(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock captured in its project (``file://{project}``), then ``pip install -e ../proj-other`` of a clone: verify
    in the project said identical, though its code imports from the clone. Verified in the clone, ``{project}`` is
    the clone, and a clone installed editable is the locked environment."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)

    def checkout(folder: Path) -> Path:
        (folder / "src" / "proj").mkdir(parents=True)
        (folder / "src" / "proj" / "__init__.py").write_text("VALUE = 1\n")
        (folder / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1.0"\n')
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
        return folder

    def install(folder: Path) -> None:
        _install_by_hand(site, "proj", {"__editable__.proj-1.0.pth": f"{folder / 'src'}\n".encode()})
        direct_url = {"url": folder.as_uri(), "dir_info": {"editable": True}}
        (site / "proj-1.0.dist-info" / "direct_url.json").write_text(json.dumps(direct_url))

    project, other = checkout(tmp_path / "proj"), checkout(tmp_path / "proj-other")
    install(project)
    lock_path = lockfile.dump(capture(str(python), str(project)), project / "envsnap.lock")
    (entry,) = [p for p in lockfile.load(lock_path).python.packages if p.name == "proj"]
    assert entry.source.url == "file://{project}"
    install(other)
    monkeypatch.chdir(project)
    drifted = cli("verify", "envsnap.lock", "--python", python)
    assert drifted.code == 3, drifted.out
    said = f"  python: proj: source editable {{project}} -> editable {other} (the install reads its"
    assert said in drifted.out, drifted.out
    # The command that installs it as locked, with the locked folder, one shell word, to paste as it is.
    assert f": `pip install --no-deps -e {project}` installs it as locked)" in drifted.out, drifted.out
    assert "record_digest" not in drifted.out  # the RECORD differs as its hook's folder does: said once
    monkeypatch.chdir(other)
    clone = cli("verify", lock_path, "--python", python)
    assert clone.code == 0, clone.out
    assert "identical: the Python layer matches the lock" in clone.out
    assert "source" not in clone.out


def test_an_editable_install_of_another_checkout_verified_from_outside_any_work_tree_is_judged(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same ``pip install -e ../proj-other`` of a clone, verified from a folder in no git work tree: verify
    did not judge the editable project the lock records as ``file://{project}`` and said identical. ``{project}`` is
    the work tree around the lock's folder, or ``--project DIR``; where nothing names it, a warning says it was not
    judged and what to give."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)

    def checkout(folder: Path) -> Path:
        (folder / "src" / "proj").mkdir(parents=True)
        (folder / "src" / "proj" / "__init__.py").write_text("VALUE = 1\n")
        (folder / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1.0"\n')
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
        return folder

    def install(folder: Path) -> None:
        _install_by_hand(site, "proj", {"__editable__.proj-1.0.pth": f"{folder / 'src'}\n".encode()})
        direct_url = {"url": folder.as_uri(), "dir_info": {"editable": True}}
        (site / "proj-1.0.dist-info" / "direct_url.json").write_text(json.dumps(direct_url))

    project, other = checkout(tmp_path / "proj"), checkout(tmp_path / "proj-other")
    install(project)
    lock_path = lockfile.dump(capture(str(python), str(project)), project / "envsnap.lock")
    copy = tmp_path / "copy.lock"
    copy.write_text(lock_path.read_text())
    install(other)
    outside = tmp_path / "scratch"
    outside.mkdir()
    monkeypatch.chdir(outside)
    said = f"  python: proj: source editable {{project}} -> editable {other} (the install reads its"
    for _ in range(2):  # the verify memo keeps the first answer: the second must be the same
        drifted = cli("verify", lock_path, "--python", python)
        assert drifted.code == 3, drifted.out
        assert said in drifted.out and f"({{project}}: read as {project})" in drifted.out, drifted.out
    named = cli("verify", copy, "--python", python, "--project", project)
    assert named.code == 3 and said in named.out, named.out
    assert cli("verify", copy, "--python", python, "--project", other).code == 0
    unjudged = cli("verify", copy, "--python", python)
    assert unjudged.code == 0, unjudged.out
    assert (
        f"  python: proj: source editable {{project}} -> editable {other} (not judged: {{project}} "
        "names no folder here (verify runs in no git work tree, and the lock's folder is in none): run verify inside "
        "the project, or give --project DIR)\n"
    ) in unjudged.out, unjudged.out
    assert "warning (1)" in unjudged.out
    assert cli("verify", copy, "--python", python, "--strict").code == 1
    missing = cli("verify", copy, "--python", python, "--project", tmp_path / "nowhere")
    assert missing.code == 2 and f"--project {tmp_path / 'nowhere'}: no such directory" in missing.err, missing


def test_an_editable_project_verified_in_a_work_tree_git_refuses_says_so(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified inside the project's own checkout, which git refuses as another user's (its safe.directory check;
    GIT_TEST_ASSUME_DIFFERENT_OWNER is git's own switch for it), the editable project was "not judged: ... verify
    runs in no git work tree ...: run verify inside the project", where it ran. It names git's refusal and the
    ``git config`` that lets git read the tree."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    project = tmp_path / "proj"
    _editable_project(site, project)
    lock_path = lockfile.dump(capture(str(python), str(project)), tmp_path / "envsnap.lock")
    monkeypatch.chdir(project)
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
    res = cli("verify", lock_path, "--python", python, "--no-cache")
    assert res.code == 0, res.out
    assert (
        f"(not judged: git refuses to read the work tree at {project}, which another user owns (git's safe.directory "
        f"check): {{project}} names no folder here; git config --global --add safe.directory {project} lets git "
        "read it, or give --project DIR)\n"
    ) in res.out, res.out


def test_a_verify_in_a_git_work_tree_asks_git_for_its_root_once(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``{project}`` is read from (the work tree around the working directory, else the lock's) was asked of
    git before the verify's own capture asked it again: two runs of git a verify, one before a memo's answer."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    project = tmp_path / "proj"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    lock_path = lockfile.dump(capture(str(python), str(project)), project / "envsnap.lock")
    log = tmp_path / "git.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True, check=True).stdout
    (bin_dir / "git").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real_git.strip()} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(project)
    result = cli("verify", lock_path, "--python", python, "--no-cache")
    assert result.code == 0, result.out
    asked = [line for line in log.read_text().splitlines() if line.endswith("rev-parse --show-toplevel")]
    assert asked == [f"-c core.fsmonitor=false -c protocol.allow=never -C {project} rev-parse --show-toplevel"]


def test_a_locked_distribution_whose_metadata_is_broken_says_so(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """A METADATA lost or overwritten after the capture: the package's files still import, and verify said only
    "in the lock, not installed" with "0 warnings", where the capture had found its .dist-info and why it could not
    read it."""
    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    _install_by_hand(site, "tiny_pkg", {"tiny_pkg/__init__.py": b"VALUE = 1\n"})
    lock_path = lockfile.dump(capture(str(python)), tmp_path / "envsnap.lock")
    (site / "tiny_pkg-1.0.dist-info" / "METADATA").unlink()
    drifted = cli("verify", lock_path, "--python", python)
    assert drifted.code == 3
    assert (
        "  python: tiny-pkg 1.0: in the lock, not installed (its {prefix}/"
        f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/tiny_pkg-1.0.dist-info is there, "
        "unreadable: no METADATA file)\n"
    ) in drifted.out


def test_a_distribution_whose_files_are_gone_is_not_called_identical(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted ``pip uninstall`` (or ``rm -rf site-packages/alpha``) leaves ``alpha-1.0.dist-info`` with the
    package's files gone: ``import alpha`` fails, and verify called the environment identical to the lock, capture
    recorded alpha without a word: only ``verify --files`` hashed its way to it."""
    import shutil

    from envsnap.probes import memo
    from envsnap.probes.capture import capture

    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # files made moments ago: the verify memo keeps its answer
    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    _install_by_hand(site, "alpha", {"alpha/__init__.py": b"VALUE = 1\n", "alpha/core.py": b"X = 1\n"})
    _install_by_hand(site, "beta", {"beta/__init__.py": b"", "beta_cli.py": b""})
    lock_path = lockfile.dump(capture(str(python)), tmp_path / "envsnap.lock")
    assert cli("verify", lock_path, "--python", python).code == 0
    shutil.rmtree(site / "alpha")
    (site / "beta_cli.py").unlink()  # beta still imports; one of its files is gone
    assert subprocess.run([str(python), "-c", "import alpha"], capture_output=True).returncode == 1
    gone = "its .dist-info is there, its files are not: nothing of it imports"
    part = "its .dist-info is there, part of its files are not: beta_cli.py"
    for _ in range(2):  # the verify memo kept the first answer: a second verify must not take it
        drifted = cli("verify", lock_path, "--python", python)
        assert drifted.code == 3
        assert f"  python: alpha: {gone}\n" in drifted.out
        assert f"  python: beta: {part}\n" in drifted.out
    captured = capture(str(python))
    assert f"python: alpha: {gone}" in captured.envsnap.warnings
    assert f"python: beta: {part}" in captured.envsnap.warnings
    # The lock records it as its .dist-info says (what pip lists, and what a rebuild installs whole).
    assert captured.package("alpha").version == "1.0"


def test_files_flag_says_a_distribution_whose_files_are_gone_once(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """``verify --files`` of a distribution whose files were deleted printed two mismatches for it: its files
    missing as its RECORD lists them, and its .dist-info there with its files not. One line says it, with what is
    gone."""
    import shutil

    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    _install_by_hand(site, "alpha", {"alpha/__init__.py": b"VALUE = 1\n", "alpha/core.py": b"X = 1\n"})
    _install_by_hand(site, "beta", {"beta/__init__.py": b"", "beta_cli.py": b""})
    lock_path = lockfile.dump(capture(str(python)), tmp_path / "envsnap.lock")
    shutil.rmtree(site / "alpha")
    (site / "beta_cli.py").unlink()
    drifted = cli("verify", lock_path, "--python", python, "--files")
    assert drifted.code == 3
    alpha = [line for line in drifted.out.splitlines() if line.startswith("  python: alpha:")]
    beta = [line for line in drifted.out.splitlines() if line.startswith("  python: beta:")]
    assert alpha == [
        "  python: alpha: files as its RECORD lists them -> 2 missing (its .dist-info is there, its files are not: "
        "nothing of it imports)"
    ]
    assert beta == ["  python: beta: files as its RECORD lists them -> 1 missing (beta_cli.py)"]
    assert "mismatch (2)\n" in drifted.out


def test_a_build_folder_a_debian_record_lists_is_not_a_file_gone(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """Debian 12's python3-distro: its RECORD lists ``scripts-3.10/distro`` (distutils' build folder), a file the
    package never installs. Capture warned and verify of the system interpreter, untouched since, was a mismatch
    (``part of its files are not: scripts-3.10``): no module is imported under such a name."""
    import shutil

    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    _install_by_hand(site, "distro", {"distro/__init__.py": b"", "scripts-3.10/distro": b"#!/usr/bin/python3\n"})
    shutil.rmtree(site / "scripts-3.10")
    captured = capture(str(python))
    assert not [w for w in captured.envsnap.warnings if "distro" in w]
    lock_path = lockfile.dump(captured, tmp_path / "envsnap.lock")
    result = cli("verify", lock_path, "--python", python)
    assert result.code == 0, result.out


def test_a_legacy_egg_info_whose_files_are_gone_is_not_called_identical(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any]
) -> None:
    """A package ``setup.py install`` (or pip's legacy install) left as an ``.egg-info`` with no RECORD, its files
    deleted afterwards: ``import`` fails, and verify called the environment identical (and ``--files`` too: there
    is no RECORD to hash against). Its ``installed-files.txt`` (pip's legacy install) names its files as RECORD
    does; setuptools' own ``SOURCES.txt`` names the project's sources, so ``top_level.txt`` is what says it
    imports."""
    import shutil

    from envsnap.probes.capture import capture

    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    meta = "Metadata-Version: 1.1\nName: {0}\nVersion: 1.0\n"
    # pip's legacy install: installed-files.txt, relative to the .egg-info folder
    legacy = site / "legacy-1.0-py3.egg-info"
    legacy.mkdir()
    (legacy / "PKG-INFO").write_text(meta.format("legacy"))
    (legacy / "installed-files.txt").write_text("../legacy/__init__.py\n../legacy_cli.py\nPKG-INFO\n")
    (site / "legacy").mkdir()
    (site / "legacy" / "__init__.py").write_text("")
    (site / "legacy_cli.py").write_text("")
    # setuptools' ``setup.py install --single-version-externally-managed``: SOURCES.txt and top_level.txt
    olde = site / "olde-1.0-py3.egg-info"
    olde.mkdir()
    (olde / "PKG-INFO").write_text(meta.format("olde"))
    (olde / "SOURCES.txt").write_text("setup.py\nolde/__init__.py\nolde.egg-info/PKG-INFO\n")
    (olde / "top_level.txt").write_text("olde\n")
    (site / "olde").mkdir()
    (site / "olde" / "__init__.py").write_text("")
    lock_path = lockfile.dump(capture(str(python)), tmp_path / "envsnap.lock")
    assert cli("verify", lock_path, "--python", python).code == 0
    (site / "legacy_cli.py").unlink()
    shutil.rmtree(site / "olde")
    assert subprocess.run([str(python), "-c", "import olde"], capture_output=True).returncode == 1
    part = "its .egg-info is there, part of its files are not: legacy_cli.py"
    gone = "its .egg-info is there, its files are not: nothing of it imports"
    for files in ((), ("--files",)):
        drifted = cli("verify", lock_path, "--python", python, *files)
        assert drifted.code == 3, drifted.out
        assert f"  python: legacy: {part}\n" in drifted.out
        assert f"  python: olde: {gone}\n" in drifted.out
    (site / "legacy" / "__init__.py").unlink()
    (site / "legacy").rmdir()
    assert f"  python: legacy: {gone}\n" in cli("verify", lock_path, "--python", python).out


def test_a_venv_that_sees_its_base_site_packages_records_where_each_package_is(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``python -m venv --system-site-packages``: the capture recorded the base interpreter's packages with the
    venv's own, nothing telling them apart, so a rebuild or a reviewer could not make the venv the same way. The
    lock marks each one found in the base's site-packages (``base_site``), it reads back, and verify warns where a
    package is found elsewhere than the lock says."""
    from envsnap.probes.capture import capture

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    _install_by_hand(site_packages(python), "ownpkg", {"ownpkg/__init__.py": b""})
    lock_path = lockfile.dump(capture(str(python)), tmp_path / "envsnap.lock")
    lock = lockfile.load(lock_path)
    assert lock.package("ownpkg").base_site is False
    # Every distribution in the base's own site folders (those on the venv's sys.path below its base prefix), and
    # no other, is marked. The base interpreter has some (pip, at least, as ensurepip installs it).
    script = "import sys; print('\\n'.join(p for p in sys.path[1:] if p.startswith(sys.base_prefix + '/')))"
    folders = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True).stdout.split()
    in_base = {
        entry.name.split("-")[0].lower().replace("_", "-").replace(".", "-")
        for folder in folders
        if Path(folder).is_dir()
        for entry in Path(folder).iterdir()
        if entry.name.endswith((".dist-info", ".egg-info"))
    }
    marked = {p.name for p in lock.python.packages if p.base_site}
    assert marked and marked <= in_base and "ownpkg" not in marked
    base = lock.package(sorted(marked)[0])
    assert "base_site = true" in lock_path.read_text()
    from envsnap.errors import LockfileError

    with pytest.raises(LockfileError, match=r"python\.packages\[\d+\]\.base_site: expected a boolean"):
        lockfile.loads(lock_path.read_text().replace("base_site = true", 'base_site = "yes"', 1), check_digest=False)
    assert cli("verify", lock_path, "--python", python).code == 0
    # A rebuild (a venv without --system-site-packages) says what it does with them.
    from envsnap.rebuild.venv import _base_site_notes

    (note,) = _base_site_notes(lock)
    from envsnap.report import first_few

    based = first_few(sorted(marked), 5)
    assert f"saw its base interpreter's site-packages (python -m venv --system-site-packages): {based} were" in note
    plain = tmp_path / "plain"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(plain)], check=True)
    _install_by_hand(site_packages(plain / "bin" / "python"), "ownpkg", {"ownpkg/__init__.py": b""})
    drifted = cli("verify", lock_path, "--python", plain / "bin" / "python")
    assert drifted.code == 3
    assert (
        f"  python: {base.name} {base.version}: in the lock, not installed (the lock found it in the base "
        "interpreter's site-packages (venv --system-site-packages))\n"
    ) in drifted.out
    # A package the lock had in the venv's own site-packages, now read from the base's, is a warning; the other
    # way round (a rebuild's venv holds its own copy of each) is what the lock records, and every rebuild of such
    # a lock warned once per base package.
    own = lock.package("ownpkg")
    now_base = pkg("ownpkg", record_digest=own.record_digest, base_site=True)
    assert found(compare(snap(own), snap(now_base)), WARNING) == {("ownpkg", "site")}
    was_base = dataclasses.replace(own, base_site=True)
    assert found(compare(snap(was_base), snap(pkg("ownpkg", record_digest=own.record_digest))), WARNING) == set()


def test_a_pythonpath_folder_holding_another_version_is_said_by_verify(
    tmp_path: Path, make_venv: Any, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install --target pp`` of alpha 2.0, and ``PYTHONPATH=pp``: ``import alpha`` reads 2.0 in this shell.
    capture warned (it reads the packages with ``python -E``, so the lock records the venv's alpha 1.0), but verify
    with the same PYTHONPATH said identical with 0 warnings: a reviewer whose shell sets it was not told their
    imports differ from the lock. The folder is named one shell word, as capture names it (``--json``: ``places``)."""
    import shlex

    from envsnap.probes import memo

    monkeypatch.setattr(memo, "RACY_NS", -(1 << 62))  # files made moments ago: the verify memo keeps its answer
    python = make_venv(tmp_path / "venv")
    _install_by_hand(site_packages(python), "alpha", {"alpha/__init__.py": b"VALUE = 1\n"})
    extra = tmp_path / "my pp"
    extra.mkdir()
    (extra / "alpha").mkdir()
    (extra / "alpha" / "__init__.py").write_text("VALUE = 2\n")
    (extra / "alpha-2.0.dist-info").mkdir()
    monkeypatch.setenv("PYTHONPATH", str(extra))
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock).code == 0
    assert lockfile.load(lock).package("alpha").version == "1.0"
    said = (
        f"  python: PYTHONPATH: {shlex.quote(str(extra))} holds distributions that import ahead of the "
        "environment's: alpha 2.0 (the lock records 1.0){more}; imports with this PYTHONPATH read them, verify "
        "compared the environment without it\n"
    )
    [ahead] = json.loads(cli("verify", "--json", lock, "--python", python).out)["differences"]
    assert ahead["places"] == [{"kind": "folder", "path": str(extra)}]
    for _ in range(2):  # the verify memo kept the first answer: the same one again
        found = cli("verify", lock, "--python", python)
        assert found.code == 0  # the environment is the locked one: a warning
        assert said.format(more="") in found.out
        assert "(1 package checked, 1 warning)" in found.out
    (extra / "beta-3.0.dist-info").mkdir()  # pip install --target again: the verify memo must not answer as before
    assert said.format(more=", beta 3.0 (not in the lock)") in cli("verify", lock, "--python", python).out
    assert cli("verify", lock, "--python", python, "--strict").code == 1
    monkeypatch.delenv("PYTHONPATH")
    assert "PYTHONPATH holds" not in cli("verify", lock, "--python", python).out


def test_a_wheel_the_lock_names_by_url_alone_installed_from_an_index_is_info() -> None:
    """A lock pinned by URL (a uv pylock without ``index``) exported as requirements writes ``six @ URL.whl
    --hash=...``; its import records that archive and nothing more of it (no RECORD digest). Verify of the venv that
    lock was installed into (from the index: no direct_url.json) said "source URL -> index", a mismatch, where diff of
    the two locks finds none. A wheel of the installed name, version and tags is info; another version or other tags
    is still a mismatch, and so is a lock that records a RECORD digest that differs."""
    from envsnap.compare.verify import compare_package
    from envsnap.model import PythonPackage, Source

    url = "https://files.example/packages/b7/six-1.17.0-py2.py3-none-any.whl"
    imported = PythonPackage(
        name="six",
        version="1.17.0",
        wheel_tags=("py2-none-any", "py3-none-any"),
        source=Source(kind="archive", url=url, archive_hash="sha256=" + "4" * 64),
    )
    installed = PythonPackage(
        name="six", version="1.17.0", wheel_tags=("py2-none-any", "py3-none-any"), record_digest="sha256:" + "1" * 64
    )
    [d] = compare_package(imported, installed)
    assert (d.severity, d.what, d.actual) == (INFO, "source", "index"), d
    assert d.note == (
        "a wheel of the same name, version and tags (the lock records no digest of its files), from an index or a "
        "find-links folder and by URL"
    ), d
    assert MISMATCH in [d.severity for d in compare_package(imported, dataclasses.replace(installed, wheel_tags=()))]
    other_tags = dataclasses.replace(installed, wheel_tags=("py3-none-any",))
    assert MISMATCH in [d.severity for d in compare_package(imported, other_tags)]
    recorded = dataclasses.replace(imported, record_digest="sha256:" + "2" * 64)
    assert MISMATCH in [d.severity for d in compare_package(recorded, installed)]


def test_a_package_mismatch_names_the_command_that_installs_the_locked_one() -> None:
    """``xpkg: version 1.0 -> 1.1`` (or its files modified) said nothing of what to do: each Python package's
    mismatch carries the reinstall of its locked pin by the installer that installed it, every word shell-quoted."""
    from envsnap.compare.verify import with_remedies

    url = "https://files.example/x pkg/arch-2.0-py3-none-any.whl"
    lock = snap(
        pkg("pip", "24.0", installer="pip"),
        pkg("xpkg", installer="pip"),
        pkg("uvpkg", installer="uv"),
        pkg("gone", "0.3", installer="pip"),
        pkg("arch", "2.0", source=Source(kind="archive", url=url, archive_hash="sha256=" + "a" * 64)),
        pkg("tool", source=GIT),
        pkg("proj", source=EDITABLE),
        pkg(
            "torch",
            "2.4.0+cu121",
            artifact=Artifact(
                "torch.whl",
                "https://download.pytorch.org/t.whl",
                "b" * 64,
                index="https://download.pytorch.org/whl/cu121/",
            ),
        ),
        pkg(
            "local",
            "0.1",
            artifact=Artifact(
                "local-0.1-py3-none-any.whl",
                "file:///srv/wheels/local-0.1-py3-none-any.whl",
                "c" * 64,
                index="file:///srv/wheels",
            ),
        ),
    )
    actual = snap(
        pkg("pip", "24.0", installer="pip"),  # an environment with pip, which its remedies run
        pkg("xpkg", "1.1", installer="pip"),
        pkg("uvpkg", "1.0", installer="uv", record_digest="sha256:edited"),
        pkg("arch", "1.9"),
        pkg("tool", source=dataclasses.replace(GIT, commit_id="b" * 40)),
        pkg("proj", "2.0", source=EDITABLE),
        pkg("stray", "4.0", installer="uv"),
        pkg("torch", "2.4.0+cpu"),
        pkg("local", "0.2"),
    )
    python = "/home/me/my env/bin/python"
    report = with_remedies(compare(lock, actual), lock, actual, python)
    remedies = {d.subject: d.remedy for d in report.differences if d.remedy}
    pip = "'/home/me/my env/bin/python' -m pip"
    assert remedies == {
        "xpkg": f"install the locked one: {pip} install --force-reinstall --no-deps xpkg==1.0",
        "uvpkg": "reinstall the locked files: uv pip install --python '/home/me/my env/bin/python' --no-deps "
        "--no-cache --reinstall-package uvpkg uvpkg==1.0",
        "gone": f"install it as locked: {pip} install --force-reinstall --no-deps gone==0.3",
        # The lock's hash in the fragment, which pip checks (a URL of its own hash or none: any file).
        "arch": f"install the locked one: {pip} install --force-reinstall --no-deps 'arch @ {url}#sha256={'a' * 64}'",
        "tool": f"install the locked one: {pip} install --force-reinstall --no-deps "
        f"'tool @ git+https://git.example/x@{'a' * 40}'",
        "stray": "remove it: uv pip uninstall --python '/home/me/my env/bin/python' stray",
        # Looked for where the lock's pin found it: a local version on its https index; a wheel in a local folder
        # the lock names, not on this machine, in DIR, which the remedy says is the folder that holds it (a
        # stranger's lock may name any folder: one here is named only where it holds the locked file).
        "torch": f"install the locked one: {pip} install --force-reinstall --no-deps "
        "--index-url https://download.pytorch.org/whl/cu121 torch==2.4.0+cu121",
        "local": "install the locked one (DIR: the find-links folder that holds local-0.1-py3-none-any.whl; the lock "
        f"names /srv/wheels, not found here): {pip} install --force-reinstall --no-deps --no-index --find-links DIR "
        "local==0.1",
    }, remedies
    # An editable folder's install has no pin to give; its mismatch is left without one.
    assert any(d.subject == "proj" and not d.remedy for d in report.differences)
    # A control character where a word goes (the interpreter's path here) shows no command at all.
    dark = with_remedies(compare(lock, actual), lock, actual, "/tmp/\x1b[2Jpy")
    assert not any(d.remedy for d in dark.differences)


def test_a_local_version_an_import_knows_by_its_hashes_names_the_index_they_are_on() -> None:
    """An imported `pip-compile --generate-hashes` file pins torch==2.4.0+cu121 with a --hash per wheel under
    `--index-url https://download.pytorch.org/whl/cu121`: the lock keeps each as a candidate on that index, no one
    artifact. The remedy read `pip install ... torch==2.4.0+cu121`, which the default index does not serve; it names
    the candidates' index as it names a pinned artifact's, by the same rule (an https index, not a local folder)."""
    from envsnap.compare.verify import with_remedies

    cu121 = "https://download.pytorch.org/whl/cu121"
    lock = snap(
        pkg("pip", "24.0"),
        pkg("torch", "2.4.0+cu121", candidates=(Candidate("b" * 64, index=cu121), Candidate("c" * 64, index=cu121))),
        pkg("local", "0.1+x", candidates=(Candidate("d" * 64, index="/srv/wheels"),)),
        pkg("plain", "0.2+x", candidates=(Candidate("e" * 64, index="http://mirror.example/simple"),)),
    )
    actual = snap(pkg("pip", "24.0"), pkg("torch", "2.4.0"), pkg("local", "0.1"), pkg("plain", "0.2"))
    python = "/home/me/my env/bin/python"
    report = with_remedies(compare(lock, actual), lock, actual, python)
    remedies = {d.subject: d.remedy for d in report.differences if d.remedy}
    pip = "'/home/me/my env/bin/python' -m pip install --force-reinstall --no-deps"
    assert remedies == {
        "torch": f"install the locked one: {pip} --index-url {cu121} torch==2.4.0+cu121",
        "local": "install the locked one (DIR: the find-links folder that holds local 0.1+x; the lock names "
        f"/srv/wheels, not found here): {pip} --no-index --find-links DIR local==0.1+x",
        "plain": f"install the locked one: {pip} plain==0.2+x",
    }, remedies


def test_a_package_from_a_local_find_links_folder_names_the_folder_or_a_placeholder(tmp_path: Path) -> None:
    """A package the lock records from a local find-links folder (an import's ``--find-links ./wheels``, recorded as
    ``file://{project}/wheels``; a pin's ``file:///srv/wheels``): the remedy was ``pip install ... xpkg==1.0``, which
    asks the index, where the package is not, and failed as pasted. Where the folder is here and holds the locked file
    (its sha256), the command installs from it, offline; else it says ``--find-links DIR`` and names DIR: the folder the
    lock names, which is not here (or holds another file)."""
    import hashlib

    from envsnap.compare.verify import with_remedies

    project = tmp_path / "my proj"
    (project / "wheels").mkdir(parents=True)
    wheel = project / "wheels" / "xpkg-1.0-py3-none-any.whl"
    wheel.write_bytes(b"the locked wheel")
    sha = hashlib.sha256(b"the locked wheel").hexdigest()
    pip = pkg("pip", "24.0", installer="pip")
    cmd = "/venv/bin/python -m pip install --force-reinstall --no-deps --no-index --find-links"

    def remedy(index: str, sha256: str, where: Path | None) -> str:
        # A pin records the file's URL in the folder; an import, the folder under its label and the file's name.
        url = "" if index.startswith("file://{") else f"{index}/xpkg-1.0-py3-none-any.whl"
        art = Artifact("xpkg-1.0-py3-none-any.whl", url, sha256, index=index)
        lock = snap(pip, pkg("xpkg", installer="pip", artifact=art))
        actual = snap(pip, pkg("xpkg", "1.1", installer="pip"))
        report = with_remedies(compare(lock, actual), lock, actual, "/venv/bin/python", project=where)
        (found,) = [d.remedy for d in report.differences if d.subject == "xpkg"]
        return found

    here = remedy("file://{project}/wheels", sha, project)
    assert here == f"install the locked one: {cmd} '{project}/wheels' xpkg==1.0", here
    assert remedy(project.joinpath("wheels").as_uri(), sha, None) == here
    assert remedy("file://{project}/wheels", sha, None) == (
        "install the locked one (DIR: the find-links folder that holds xpkg-1.0-py3-none-any.whl; the lock names "
        f"{{project}}/wheels, not found here): {cmd} DIR xpkg==1.0"
    )
    assert remedy("file:///srv/my%20wheels", sha, None) == (
        "install the locked one (DIR: the find-links folder that holds xpkg-1.0-py3-none-any.whl; the lock names "
        f"'/srv/my wheels', not found here): {cmd} DIR xpkg==1.0"
    )
    # The folder is here, but its file is not the locked one: not installed from on the lock's word.
    other = remedy("file://{project}/wheels", "0" * 64, project)
    assert other == (
        "install the locked one (DIR: the find-links folder that holds xpkg-1.0-py3-none-any.whl; the lock names "
        f"{{project}}/wheels, where '{project}/wheels' holds no file of its sha256): {cmd} DIR xpkg==1.0"
    ), other


def test_verify_files_says_how_to_reinstall_an_edited_package_and_that_command_restores_it(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A file of xpkg edited after ``pip install``: verify --files read only ``1 modified (xpkg/__init__.py)``. It
    prints the reinstall of the locked pin, and that command (given the wheels folder) makes the environment
    identical again."""
    import shlex

    from condafixtures import make_wheel

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    wheels = make_wheel(tmp_path / "wheels", "xpkg", "1.0", {"xpkg/__init__.py": b"V = 1\n"}).parent
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--no-index", "-f", str(wheels), "xpkg"], check=True, timeout=300)
    lock_path = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock_path).code == 0
    (site_packages(python) / "xpkg" / "__init__.py").write_bytes(b"V = 2\n")
    drifted = cli("verify", lock_path, "--python", python, "--files")
    assert drifted.code == 3, drifted.out
    lines = drifted.out.splitlines()
    at = lines.index("  python: xpkg: files as its RECORD lists them -> 1 modified (xpkg/__init__.py)")
    prefix = "    remedy: reinstall the locked files: "
    assert lines[at + 1].startswith(prefix), drifted.out
    command = shlex.split(lines[at + 1][len(prefix) :])
    assert command[1:] == ["-m", "pip", "install", "--force-reinstall", "--no-deps", "xpkg==1.0"], command
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(command, check=True, timeout=300, env=env, capture_output=True)
    assert cli("verify", lock_path, "--python", python, "--files").code == 0


def test_a_remedy_never_names_a_subdirectory_pip_would_cut() -> None:
    """The remedy's ``'tool @ git+URL@COMMIT#subdirectory=a&b'`` made pip build the folder ``a`` of the commit (it
    reads the fragment up to the ``&``, never percent-decoded): such a mismatch has no command; a plain folder's
    has one, written as pip reads it."""
    from envsnap.compare.verify import with_remedies

    for sub, shown in (("tools/a&b", ""), ("tools/a%b+c", "tools/a%b+c")):
        source = dataclasses.replace(GIT, subdirectory=sub)
        pip = pkg("pip", "24.0", installer="pip")  # an environment with pip, which its remedies run
        lock = snap(pip, pkg("tool", source=source))
        actual = snap(pip, pkg("tool", source=dataclasses.replace(source, commit_id="b" * 40)))
        report = with_remedies(compare(lock, actual), lock, actual, "/venv/bin/python")
        remedies = [d.remedy for d in report.differences if d.subject == "tool" and d.remedy]
        if not shown:
            assert remedies == [], remedies
        else:
            assert remedies == [
                "install the locked one: /venv/bin/python -m pip install --force-reinstall --no-deps "
                f"'tool @ git+https://git.example/x@{'a' * 40}#subdirectory={shown}'"
            ], remedies


def test_the_remedy_in_an_environment_without_pip_is_a_command_that_runs_there(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A venv with no pip (``uv venv``, ``python -m venv --without-pip``) into which pip installed xpkg from outside
    (``pip --python VENV install``): its INSTALLER says pip, and verify's remedy read ``VENV/bin/python -m pip
    install ...``, which fails there with ``No module named pip``. Where the environment holds no pip, the remedy is
    uv's, which installs into it from outside, and that command makes the environment identical again."""
    import shlex

    from condafixtures import make_wheel

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    wheels = make_wheel(tmp_path / "wheels", "xpkg", "1.0", {"xpkg/__init__.py": b"V = 1\n"}).parent
    make_wheel(tmp_path / "wheels", "xpkg", "1.1", {"xpkg/__init__.py": b"V = 2\n"})
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python), "install", "-q"]
    subprocess.run([*pip, "--no-index", "-f", str(wheels), "xpkg==1.0"], check=True, timeout=300)
    lock_path = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock_path).code == 0
    subprocess.run([*pip, "--no-index", "-f", str(wheels), "xpkg==1.1"], check=True, timeout=300)
    drifted = cli("verify", lock_path, "--python", python)
    assert drifted.code == 3, drifted.out
    lines = drifted.out.splitlines()
    at = lines.index("  python: xpkg: version 1.0 -> 1.1")
    prefix = "    remedy: install the locked one: "
    assert lines[at + 1].startswith(prefix), drifted.out
    command = shlex.split(lines[at + 1][len(prefix) :])
    assert command[:3] == ["uv", "pip", "install"], command
    env = {**os.environ, "UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels), "UV_NO_CONFIG": "1"}
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, *command[1:]], check=True, timeout=300, env=env, capture_output=True)
    assert cli("verify", lock_path, "--python", python).code == 0


def test_an_extra_package_pip_installed_into_an_environment_without_pip_is_removed_with_uv() -> None:
    from envsnap.compare.verify import with_remedies

    lock = snap(pkg("xpkg"))
    actual = snap(pkg("xpkg"), pkg("stray", "4.0", installer="pip"))
    report = with_remedies(compare(lock, actual), lock, actual, "/env/bin/python")
    assert [d.remedy for d in report.differences if d.remedy] == [
        "remove it: uv pip uninstall --python /env/bin/python stray"
    ]


def test_a_library_a_package_vendors_deleted_since_the_capture_is_said(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """numpy's wheel vendors its BLAS in ``numpy.libs/`` (auditwheel), which its extension loads through its RPATH.
    With the files of that folder deleted (the folder left), ``import numpy`` fails; capture warned ``system:
    libscipy_openblas64_.so (needed by numpy) was not found``, and verify, whose one stat per name finds the folder,
    said identical with no warning: the lock records no vendored library, so the one not found now was compared with
    nothing. A library a locked package needs that is not found here, and that the lock's environment had, is a
    warning, as one the lock records is."""
    from condafixtures import make_wheel

    src = tmp_path / "src"
    src.mkdir()
    (src / "vend.c").write_text("int vend(void) { return 7; }\n")
    (src / "ext.c").write_text("int vend(void);\nint ext(void) { return vend(); }\n")
    gcc = ["gcc", "-shared", "-fPIC"]
    subprocess.run([*gcc, "-Wl,-soname,libvend-1a2b.so.1", "-o", "libvend-1a2b.so.1", "vend.c"], cwd=src, check=True)
    link = ["-L.", "-l:libvend-1a2b.so.1", "-Wl,-rpath,$ORIGIN/../vpkg.libs"]
    subprocess.run([*gcc, "-o", "ext.so", "ext.c", *link], cwd=src, check=True)
    files = {
        "vpkg/__init__.py": b"",
        "vpkg/ext.so": (src / "ext.so").read_bytes(),
        "vpkg.libs/libvend-1a2b.so.1": (src / "libvend-1a2b.so.1").read_bytes(),
    }
    wheels = make_wheel(tmp_path / "wheels", "vpkg", "1.0", files).parent
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python), "install", "-q"]
    subprocess.run([*pip, "--no-index", "-f", str(wheels), "vpkg"], check=True, timeout=300)
    lock_path = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock_path).code == 0
    assert cli("verify", lock_path, "--python", python).code == 0
    (site_packages(python) / "vpkg.libs" / "libvend-1a2b.so.1").unlink()
    verified = cli("verify", lock_path, "--python", python)
    assert "system: libvend-1a2b.so.1: needed by vpkg, not found here" in verified.out, verified.out
    assert "1 warning" in verified.out, verified.out


def test_the_remedies_run_in_their_order_when_pip_is_one_to_remove(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """The lock holds no pip (a uv venv's), the environment was made with ``python -m venv`` and the export's
    ``pip install --require-hashes --no-deps -r requirements.txt``: pip and setuptools are extra. The remedies read
    ``PY -m pip uninstall -y pip``, then ``PY -m pip uninstall -y setuptools``, which fails once the first has run:
    ``No module named pip``. Where pip is not to stay, every remedy is uv's, and run in order they make the
    environment the locked one."""
    import shlex

    from condafixtures import make_wheel

    wheels = make_wheel(tmp_path / "wheels", "xpkg", "1.0", {"xpkg/__init__.py": b"V = 1\n"}).parent
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    locked = tmp_path / "locked"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(locked)], check=True, timeout=300)
    install = ["pip", "install", "-q", "--no-config", "--no-index", "--find-links", str(wheels), "xpkg"]
    subprocess.run([uv, *install, "--python", str(locked / "bin" / "python")], check=True, timeout=300)
    lock_path = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", locked / "bin" / "python", "-o", lock_path).code == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "-q", "--no-index", "-f", str(wheels)]
    subprocess.run([*pip, "xpkg"], check=True, timeout=300)
    drifted = cli("verify", lock_path, "--python", python)
    assert drifted.code == 3, drifted.out
    prefix = "    remedy: remove it: "
    commands = [shlex.split(line[len(prefix) :]) for line in drifted.out.splitlines() if line.startswith(prefix)]
    assert len(commands) >= 2 and any("pip" in c[-1:] for c in commands), drifted.out
    for command in commands:
        assert command[:3] == ["uv", "pip", "uninstall"], command
        subprocess.run([uv, *command[1:]], check=True, timeout=300, capture_output=True)
    assert cli("verify", lock_path, "--python", python).code == 0


def test_a_uv_remedy_runs_as_printed_where_no_uv_is_on_path(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """envsnap installed with pipx (or run from a venv not activated) drives the uv beside its own interpreter;
    verify's remedy read ``uv pip install --python ...``, and run as printed with no uv on PATH the shell said
    ``uv: command not found``. The remedy names the uv envsnap runs by its path, and that command, run as printed
    with a PATH that holds no uv, makes the environment identical again."""
    from condafixtures import make_wheel

    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    wheels = make_wheel(tmp_path / "wheels", "xpkg", "1.0", {"xpkg/__init__.py": b"V = 1\n"}).parent
    make_wheel(tmp_path / "wheels", "xpkg", "1.1", {"xpkg/__init__.py": b"V = 2\n"})
    install = [uv, "pip", "install", "-q", "--no-config", "--no-index", "-f", str(wheels), "--python", str(python)]
    subprocess.run([*install, "xpkg==1.0"], check=True, timeout=300)
    lock_path = tmp_path / "envsnap.lock"
    assert cli("capture", "--python", python, "-o", lock_path).code == 0
    subprocess.run([*install, "xpkg==1.1"], check=True, timeout=300)
    no_uv = "/usr/bin:/bin"
    assert shutil.which("uv", path=no_uv) is None
    monkeypatch.setenv("PATH", no_uv)
    drifted = cli("verify", lock_path, "--python", python)
    assert drifted.code == 3, drifted.out
    lines = drifted.out.splitlines()
    at = lines.index("  python: xpkg: version 1.0 -> 1.1")
    prefix = "    remedy: install the locked one: "
    assert lines[at + 1].startswith(prefix), drifted.out
    env = {**os.environ, "PATH": no_uv, "UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels), "UV_NO_CONFIG": "1"}
    ran = subprocess.run(lines[at + 1][len(prefix) :], shell=True, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert cli("verify", lock_path, "--python", python).code == 0


def test_the_system_packages_no_python_package_loads_are_counted_by_how_they_differ_and_why_not_judged() -> None:
    """Verified in a docker rebuild's image (a minimal base, and only the system packages the Python packages load,
    ``--system-packages needed``) against a lock captured on a full host, verify said "716 system packages that no
    Python package loads differ": it read as 716 faults of the rebuild, not as the packages it was never asked to
    install, and it did not say that they are not judged."""

    def host(*others: SystemPackage) -> Snapshot:
        needed = SystemPackage("dpkg", "libgomp1", "12.2", "amd64", needed_by=("numpy",))
        return snap(system=System(manager="dpkg", packages=(needed, *others)))

    lock = host(*(SystemPackage("dpkg", name, "1.0", "amd64") for name in ("vim", "git", "curl", "less")))
    image = host(SystemPackage("dpkg", "less", "2.0", "amd64"), SystemPackage("dpkg", "mawk", "1.3", "amd64"))
    report = compare(lock, image)
    assert report.identical and report.by_severity(WARNING) == []
    [info] = [d for d in report.by_severity(INFO) if d.area == "system"]
    assert info.note == (
        "5 system packages that no Python package loads differ (3 of the lock's not installed here, 1 at another "
        "version, 1 only here): not judged, only those a Python package loads are (a docker rebuild installs just "
        "those, --system-packages needed)"
    )


def test_one_remedy_for_several_differences_is_printed_once_after_them(capsys: Any) -> None:
    """Every conda difference carries the same remedy (rebuild the locked conda environment): printed under each,
    three conda packages read the same command three times. A run of differences sharing one remedy prints it once,
    after the last of them; differences with their own remedies keep one each."""
    from envsnap.cli.verify import print_report
    from envsnap.compare.verify import Difference, VerifyReport

    again = "envsnap rebuild env.lock --target conda --prefix ./env-locked"
    conda = [
        Difference(MISMATCH, "conda", name, "version", expected="1.0", actual="1.1", remedy=again)
        for name in ("a", "b", "c")
    ]
    pip = [
        Difference(MISMATCH, "python", name, "version", expected="1.0", actual="1.1", remedy=f"pip install {name}==1.0")
        for name in ("x", "y")
    ]
    report = VerifyReport(lock="sha256:" + "0" * 64, target="/p", packages_checked=2, differences=(*conda, *pip))
    print_report(report)
    out = capsys.readouterr().out.splitlines()
    remedies = [line.strip() for line in out if line.strip().startswith("remedy:")]
    assert remedies == [f"remedy: {again}", "remedy: pip install x==1.0", "remedy: pip install y==1.0"], out
    assert out.index(f"    remedy: {again}") == max(i for i, line in enumerate(out) if "conda: c" in line) + 1, out


def test_an_archive_s_remedy_names_the_lock_s_hash_and_never_a_hash_of_its_url_s_own() -> None:
    """The remedy for an archive installed at another version was ``pip install 'x @ URL'``, the URL as the lock
    records it: a hand-made lock's ``#sha256=OTHER`` there made pip take whatever file matched OTHER, and with no
    hash at all pip checked none. It is ``URL#sha256=LOCKED`` (pip checks a hash in the fragment), what else the
    fragment said kept."""
    from envsnap.compare.verify import with_remedies

    other, locked = "a" * 64, "b" * 64
    source = Source(
        kind="archive", url=f"https://example.org/x-1.0.tar.gz#sha256={other}&egg=x", archive_hash=f"sha256={locked}"
    )
    pip = pkg("pip", "24.0", installer="pip")
    lock = snap(pip, pkg("x", "1.0", source=source))
    actual = snap(pip, pkg("x", "1.1", source=source))
    report = with_remedies(compare(lock, actual), lock, actual, "/venv/bin/python")
    remedies = [d.remedy for d in report.differences if d.subject == "x" and d.remedy]
    assert remedies == [
        "install the locked one: /venv/bin/python -m pip install --force-reinstall --no-deps "
        f"'x @ https://example.org/x-1.0.tar.gz#sha256={locked}&egg=x'"
    ], remedies


def test_the_conda_rebuild_remedy_of_a_local_channel_allows_its_folder_as_the_rebuild_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock whose conda channel is a local folder (file://): the remedy `envsnap rebuild LOCK --target conda ...`
    left out the --allow-url the rebuild refuses it without (exit 2, `... is not fetched: a local path, not https`)."""
    from envsnap import sinks
    from envsnap.artifacts.conda import refuse_unfetchable
    from envsnap.compare.verify import Difference, VerifyReport, with_rebuild_remedy
    from envsnap.model import Conda, CondaPackage

    monkeypatch.delenv("ENVSNAP_ALLOW_URL", raising=False)
    channel = tmp_path / "my channel"
    (channel / "linux-64").mkdir(parents=True)
    (channel / "noarch").mkdir()
    packages = []
    for sub, name in (("linux-64", "zlib-1.3.1-h0_0.tar.bz2"), ("noarch", "tinyutil-0.3.0-pyh_0.conda")):
        (channel / sub / name).write_bytes(b"x")
        url = (channel / sub / name).as_uri()
        packages.append(CondaPackage(name.split("-")[0], name.split("-")[1], "h0_0", url=url, sha256="0" * 64))
    lock = sample_lock(conda=Conda("linux-64", (channel.as_uri(),), tuple(packages)))
    diff = Difference(MISMATCH, "conda", "zlib", "version", expected="1.3.1", actual="1.3.2")
    report = VerifyReport(lock="sha256:" + "0" * 64, target="/env", packages_checked=0, differences=(diff,))
    with pytest.raises(Exception, match="not fetched: a local path"):
        refuse_unfetchable(packages, tmp_path / "cache")  # what the rebuild says without --allow-url
    remedy = with_rebuild_remedy(report, lock, lock, "envsnap.lock", str(tmp_path / "env")).differences[0].remedy
    patterns = [f"{channel}/linux-64/*", f"{channel}/noarch/*"]
    allow = " ".join(f"--allow-url {sinks.shell_word(p)}" for p in patterns)
    assert remedy.endswith(f"--prefix {sinks.shell_word(str(tmp_path / 'env'))}-locked {allow}"), remedy
    refuse_unfetchable(packages, tmp_path / "cache", patterns)  # the remedy's patterns let the rebuild fetch them
    monkeypatch.setenv("ENVSNAP_ALLOW_URL", "file:///*")  # allowed already: nothing to add
    remedy = with_rebuild_remedy(report, lock, lock, "envsnap.lock", str(tmp_path / "env")).differences[0].remedy
    assert "--allow-url" not in remedy, remedy


def test_a_local_source_is_shown_by_its_decoded_path_and_kept_as_its_url(capsys: Any) -> None:
    """verify printed a source by its percent-encoded ``file:`` URL (``file:///home/me/my%20project``,
    ``caf%C3%A9``), where the fetch policy and the outside-project note name the folder the user knows, ``/home/me/my
    project``, one shell word. It is shown so; what a run record keeps and compares (``describe``, ``findings``), and
    the JSON, stay the URL, so the drift of a record written before still reads the same line."""
    from envsnap.cli.verify import print_report
    from envsnap.runs.assemble import findings

    folder = Source(kind="directory", url="file:///home/me/my%20project", editable=True)
    wheel = Source(kind="archive", url="file:///tmp/wh/caf%C3%A9-1.0-py3-none-any.whl")
    lock = snap(pkg("proj", source=folder), pkg("cafe", source=wheel))
    clone = Source(kind="directory", url="file:///home/me/other%20%1b[2Jclone")
    report = compare(lock, snap(pkg("proj", source=clone), pkg("cafe", record_digest="sha256:other")))
    print_report(report)
    out = capsys.readouterr().out
    assert "python: cafe: source '/tmp/wh/café-1.0-py3-none-any.whl' -> index\n" in out, out
    # A control character in a path is shown escaped, as every path envsnap names is (sinks.shell_shown).
    assert "proj: source editable '/home/me/my project' -> $'/home/me/other \\x1b[2Jclone' (" in out, out
    assert "%" not in out and "\x1b" not in out, out
    # What a run record wrote then, and compares now: the URL as the lock records it; the JSON's too.
    lines = [f.said() for f in findings(report)]
    assert "mismatch: python: cafe: source file:///tmp/wh/caf%C3%A9-1.0-py3-none-any.whl -> index" in lines, lines
    warned = "warning: python: proj: source editable file:///home/me/my%20project -> file:///home/me/other%20%1b[2J"
    assert any(line.startswith(warned) for line in lines), lines
    entries = {e["subject"]: e for e in report.to_dict()["differences"]}
    assert entries["proj"]["expected"] == "editable file:///home/me/my%20project", entries
    # A label stays bare before the rest of its path; a commit and a remote URL stay as they are.
    from envsnap.compare.verdict import source_shown

    assert source_shown("editable file://{prefix}/src/my%20tool") == "editable {prefix}/'src/my tool'"
    assert source_shown("file://{project}/libs/mylib with uncommitted changes") == (
        "{project}/libs/mylib with uncommitted changes"
    )
    assert (
        source_shown(f"git+file:///srv/my%20lib@{'a' * 40}#subdirectory=x")
        == f"git+'/srv/my lib'@{'a' * 40}#subdirectory=x"
    )
    assert source_shown("git+https://git.example/x%20y@abc") == "git+https://git.example/x%20y@abc"
    assert source_shown("index") == "index"


def test_a_note_naming_a_local_folder_is_shown_by_its_path_and_kept_as_its_url(capsys: Any) -> None:
    """verify's note on an editable folder gone named it by its URL (``its editable folder
    file:///home/me/my%20project is gone``, ``the lock installs it from file://{project}/my%20proj: ...``), where the
    source lines name a folder by its path. The printed report shows the path, one shell word, a control character
    escaped; ``describe`` (a run record's drift, which rerun compares) and the JSON keep the URL, so the line a
    record wrote before still compares equal."""
    from envsnap.cli.verify import print_report
    from envsnap.compare.verdict import Difference, VerifyReport
    from envsnap.probes.python import editable_gone_note
    from envsnap.runs.assemble import findings

    gone = editable_gone_note(Source(kind="directory", url="file:///home/me/my%20project", editable=True))
    moved = (
        " (the lock installs it from file://{project}/my%20proj: `pip install --no-deps -e` of the project's folder, "
        "where it is now, installs it as locked)"
    )
    odd = editable_gone_note(Source(kind="vcs", vcs="git", url="file:///src/%1b%5B2Jx", commit_id="a" * 40))
    report = VerifyReport(
        "sha256:" + "0" * 64,
        "python",
        2,
        (
            Difference(MISMATCH, "python", "proj", "editable", note=gone + moved),
            Difference(MISMATCH, "python", "tool", "editable", note=odd),
        ),
    )
    print_report(report)
    out = capsys.readouterr().out
    assert (
        "  python: proj: its editable folder '/home/me/my project' is gone: nothing of it imports (the lock installs "
        "it from {project}/'my proj': `pip install --no-deps -e` of the project's folder, where it is now, installs "
        "it as locked)\n"
    ) in out, out
    assert "  python: tool: its editable checkout of $'/src/\\x1b[2Jx' is gone: nothing of it imports\n" in out, out
    assert "%" not in out and "\x1b" not in out, out
    # The line a run record wrote before this, as it reads it: compared equal with what verify finds now.
    recorded = (
        "mismatch: python: proj: its editable folder file:///home/me/my%20project is gone: nothing of it imports (the "
        "lock installs it from file://{project}/my%20proj: `pip install --no-deps -e` of the project's folder, where "
        "it is now, installs it as locked)"
    )
    assert recorded in [f.said() for f in findings(report)], findings(report)
    assert report.to_dict()["differences"][0]["note"] == gone + moved


def test_a_wheel_known_by_its_pinned_file_alone_is_built_for_the_locks_machine_in_verify_as_in_check() -> None:
    """Two rules said "a wheel built for another machine": check's (``compat``), which reads a package's tags from the
    wheel the lock pins where it records no WHEEL tags (an import, pinned), and verify's, which read the WHEEL tags
    alone. Verified on x86_64, such an aarch64 lock's numpy was a mismatch of its own and the machine a warning, while
    check named numpy among the wheels built for aarch64. One rule (``wheeltags.built_for_machine_alone``): verify
    folds numpy into the machine's mismatch, naming the wheels check names."""
    from envsnap.compat._tags import built_for_machine

    wheel = "numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    pinned = Artifact(filename=wheel, url=f"https://files.example/{wheel}", sha256="0" * 64)
    numpy = pkg("numpy", "1.26.4", wheel_tags=(), artifact=pinned, record_digest="sha256:arm")
    pure = pkg("six", "1.16.0")
    lock = snap(numpy, pure, platform=sample_platform(kernel="6.1", machine="aarch64"))
    here = dataclasses.replace(numpy, wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",), record_digest="sha256:x86")
    report = compare(lock, snap(here, pure, platform=sample_platform(kernel="6.1", machine="x86_64")))
    assert built_for_machine(lock, "x86_64") == ["numpy 1.26.4"]
    (machine,) = [d for d in report.differences if d.area == "platform" and d.what == "machine"]
    assert machine.severity == MISMATCH and not machine.cause, report.differences
    wheels = [d for d in report.differences if d.area == "python"]
    assert [(d.subject, d.what, d.note, d.cause) for d in wheels] == [
        ("1 wheels", "wheel_tags", "numpy", "machine aarch64 -> x86_64")
    ], wheels


def test_an_editable_folder_of_a_subdirectory_with_a_percent_in_its_name_is_the_locked_one(tmp_path: Path) -> None:
    """The folder a lock installs editable (``file:///mono`` with the subdirectory ``a%20b``, a name as direct_url.json
    writes it) was joined to its URL unencoded and read back decoded, ``/mono/a b``: an install reading ``/mono/a%20b``,
    the locked folder, was a mismatch, ``the install reads its code from another folder``. It is the locked one."""
    from envsnap._privacy import PathRedactor
    from envsnap.compare.verify import _editable_elsewhere
    from envsnap.probes.capture import Captured
    from envsnap.probes.interface import RawPackage, RawPython

    mono = tmp_path / "mono"
    (mono / "a%20b").mkdir(parents=True)
    direct = {"url": mono.as_uri(), "subdirectory": "a%20b", "dir_info": {"editable": True}}
    raw = RawPackage("proj", "1.0", direct_url=direct)
    captured = Captured(
        snapshot=snap(),
        results={},
        python=RawPython(str(tmp_path / "env"), "cpython", "3.11.7", "cp311", packages=(raw,)),
        redact=PathRedactor(),
    )
    locked = Source(kind="directory", url=mono.as_uri(), subdirectory="a%20b", editable=True)
    assert _editable_elsewhere(snap(pkg("proj", source=locked)), captured) == []
    # Another folder is still one.
    other = dataclasses.replace(locked, subdirectory="other")
    (found,) = _editable_elsewhere(snap(pkg("proj", source=other)), captured)
    assert found.severity == MISMATCH and "reads its code from another folder" in found.note, found


def test_a_notes_places_are_shown_from_its_fields_not_read_back_from_its_sentence() -> None:
    """A ``.pth`` note's paths were found again in its text by the sentences verify writes: a folder whose name holds
    one of them (``/d/a (from /x.pth) differ``) was split at it and shown in pieces. The difference names its places
    (``places``), and each is shown as one shell word where it stands."""
    from envsnap.compare.verdict import Difference, Place

    folder = "/d/my mods (from /x.pth) differ"
    note = f"the modules in {folder} (from {{prefix}}/m.pth) are not checked: no digest"
    places = (Place("folder", folder), Place("pth", "{prefix}/m.pth"))
    shown = Difference("warning", "python", ".pth", "imports", note=note, places=places).shown()
    assert shown == f".pth: the modules in '{folder}' (from {{prefix}}/m.pth) are not checked: no digest"


def test_a_verify_memo_written_before_places_is_no_report() -> None:
    """A memo's report kept before differences named their places (nine fields a row) is verified again, not read
    as a report whose ``.pth`` paths the terminal cannot show; one written now reads back with them."""
    from envsnap.compare.verdict import Difference, Place, VerifyReport, plain_report, report_of

    note = "/p/m.pth puts /d/my mods on sys.path, and no distribution is installed there: ..."
    places = (Place("pth", "/p/m.pth"), Place("folder", "/d/my mods"))
    report = VerifyReport(
        "sha256:x", "t", 1, (Difference("warning", "python", ".pth", "imports", note=note, places=places),)
    )
    assert report_of(plain_report(report)) == report
    old = {**plain_report(report), "differences": [["warning", "python", ".pth", "imports", "", "", note, "", ""]]}
    with pytest.raises(TypeError):
        report_of(old)


def test_a_pth_notes_paths_are_shown_without_loading_a_probe() -> None:
    """verify's memo prints a kept report without loading the probes: the display of a ``.pth`` note's paths, one
    shell word each, is the report's own (``compare.verdict``), by the rule capture's warnings are shown by."""
    code = (
        "import sys\n"
        "from envsnap.compare.verdict import Difference, Place\n"
        "note = \"the lock's environment had /data/my mods on sys.path (from {prefix}/x.pth), and no .pth file here "
        'puts it there: ..."\n'
        "places = (Place('folder', '/data/my mods'), Place('pth', '{prefix}/x.pth'))\n"
        "print(Difference('warning', 'python', '.pth', 'imports', note=note, places=places).shown())\n"
        "print(sorted(m for m in sys.modules if m.startswith('envsnap.probes')))\n"
    )
    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": repo}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    shown, probes = done.stdout.splitlines()
    assert shown == (
        ".pth: the lock's environment had '/data/my mods' on sys.path (from {prefix}/x.pth), and no .pth file here "
        "puts it there: ..."
    )
    assert probes == "[]"


def test_a_lock_naming_the_minor_release_alone_is_no_patch_release_difference() -> None:
    """An imported pylock's ``requires-python = "==3.11.*"`` is recorded as ``3.11``: verify of the very environment
    uv synced from it warned ``version 3.11 -> 3.11.7 (patch release differs)``. It is said as information."""
    from envsnap.compare.verify import compare_interpreter
    from envsnap.model import PythonEnv

    [diff] = compare_interpreter(PythonEnv(version="3.11"), PythonEnv(version="3.11.7"))
    assert (diff.severity, diff.expected, diff.actual) == (INFO, "3.11", "3.11.7"), diff
    assert diff.note == "the lock records the minor release only", diff
    [diff] = compare_interpreter(PythonEnv(version="3.11"), PythonEnv(version="3.12.1"))
    assert diff.severity == MISMATCH, diff
