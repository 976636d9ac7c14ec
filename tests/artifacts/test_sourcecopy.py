"""A local project is built from a copy, never in the user's folder (artifacts/sourcecopy.py).

Before, ``bundle`` and ``rebuild`` ran ``uv build`` in the project itself: setuptools left ``build/`` there, the
next bundle's wheel took a module deleted since from ``build/lib``, and the new folder made the project dirty."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult

from envsnap.artifacts import bundle as bundle_mod
from envsnap.artifacts.bundle import BundleOptions, make_bundle
from envsnap.artifacts.sourcecopy import copy_project, pretend_version
from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source


def _fake_wheel(wheel: Path, code: bytes = b"") -> Path:
    """``wheel`` as a build makes it, as far as the bundle reads it: a zip holding ``paper/__init__.py`` (``code``) and
    the RECORD that lists it (the bundle's lock records the RECORD digest of the wheel it built)."""
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("paper/__init__.py", code)
        archive.writestr("paper-0.1.dist-info/RECORD", "paper/__init__.py,,\npaper-0.1.dist-info/RECORD,,\n")
    return wheel


def _git(folder: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True, env=env).stdout


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def _committed(project: Path, files: dict[str, str]) -> Path:
    """A git work tree at ``project`` with ``files`` (by relative path), all committed."""
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "init")
    return project


def _project(root: Path) -> Path:
    """A setuptools project in a git work tree, after one build in place and some work since."""
    project = _committed(
        root / "paper",
        {
            "pyproject.toml": '[project]\nname = "paper"\nversion = "0.1"\n',
            "src/paper/__init__.py": "X = 1\n",
            "src/paper/extra.py": "Y = 2\n",
            ".gitignore": "*.log\n",
        },
    )
    # What a build in place left, untracked and ignored by nothing; and the researcher's work since.
    (project / "build" / "lib" / "paper").mkdir(parents=True)
    (project / "build" / "lib" / "paper" / "extra.py").write_text("Y = 2\n")
    (project / "src" / "paper.egg-info").mkdir()
    (project / "src" / "paper.egg-info" / "SOURCES.txt").write_text("x\n")
    (project / "src" / "paper" / "__pycache__").mkdir()
    (project / "src" / "paper" / "__pycache__" / "extra.cpython-311.pyc").write_bytes(b"\0")
    _git(project, "rm", "-q", "src/paper/extra.py")
    (project / "src" / "paper" / "__init__.py").write_text("X = 3\n")  # changed, not committed
    (project / "src" / "paper" / "new.py").write_text("Z = 4\n")  # new, not added
    (project / "run.log").write_text("ignored\n")
    os.symlink("__init__.py", project / "src" / "paper" / "alias.py")
    return project


def test_a_git_project_is_copied_as_its_work_tree_without_build_output(tmp_path: Path) -> None:
    project = _project(tmp_path)
    before = _git(project, "status", "--porcelain", "--ignored")
    copy = copy_project(project, tmp_path / "copy")
    assert _files(copy) == {
        ".gitignore",
        "pyproject.toml",
        "src/paper/__init__.py",
        "src/paper/new.py",
        "src/paper/alias.py",
    }
    assert (copy / "src" / "paper" / "__init__.py").read_text() == "X = 3\n"  # the work tree's, not the commit's
    assert os.readlink(copy / "src" / "paper" / "alias.py") == "__init__.py"
    assert _git(project, "status", "--porcelain", "--ignored") == before


def test_a_tracked_build_folder_is_source_and_copied(tmp_path: Path) -> None:
    project = tmp_path / "tool"
    (project / "build").mkdir(parents=True)
    (project / "setup.py").write_text("")
    (project / "build" / "gen.py").write_text("")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    (project / "build" / "stale.py").write_text("")  # untracked beside it: build output
    assert _files(copy_project(project, tmp_path / "copy")) == {"setup.py", "build/gen.py"}


def test_a_project_outside_git_is_copied_without_build_output(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    (project / "pkg" / "build").mkdir(parents=True)  # a package's own module folder named build: kept
    (project / "pkg" / "build" / "__init__.py").write_text("")
    (project / "setup.py").write_text("")
    for left in ("build/lib/pkg/old.py", "dist/pkg-1.0.whl", ".venv/bin/python", "pkg.egg-info/PKG-INFO"):
        (project / left).parent.mkdir(parents=True, exist_ok=True)
        (project / left).write_text("")
    assert _files(copy_project(project, tmp_path / "copy")) == {"setup.py", "pkg/build/__init__.py"}


def test_pretend_version_names_the_distribution_as_setuptools_scm_reads_it() -> None:
    assert pretend_version("my-paper.tools_x", "1.2") == {"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY_PAPER_TOOLS_X": "1.2"}
    assert pretend_version("paper", "") == {}


def test_bundle_builds_the_local_project_from_a_copy_and_leaves_the_project_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    before = _git(project, "status", "--porcelain", "--ignored")
    seen: list[tuple[set[str], dict[str, str]]] = []

    def build(
        source: Path, out_dir: Path, python: str | None = None, variables: object = None, offline_links: object = None
    ) -> Path:
        seen.append((_files(source), dict(variables or {})))  # type: ignore[call-overload]
        out_dir.mkdir(parents=True, exist_ok=True)
        (source / "build").mkdir()  # what setuptools writes: into the copy
        return _fake_wheel(out_dir / "paper-0.1-py3-none-any.whl")

    monkeypatch.setattr(bundle_mod, "build_wheel", build)
    monkeypatch.setattr(bundle_mod, "_check_built", lambda wheel, pkg: (wheel, pkg.version))
    lock = Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(
                    name="paper", version="0.1", source=Source(kind="directory", url="file://{project}", editable=True)
                ),
            )
        )
    )
    made = make_bundle(lock, tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache", project_dir=project))
    assert [entry.action for entry in made.entries] == ["built"]
    files, variables = seen[0]
    assert "src/paper/extra.py" not in files and not any(f.startswith("build/") for f in files)
    assert variables == {"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_PAPER": "0.1"}
    assert _git(project, "status", "--porcelain", "--ignored") == before
    assert not (project / "build" / "lib" / "paper" / "new.py").exists()


@pytest.mark.network  # uv build fetches setuptools for its isolated build
def test_a_real_setuptools_build_takes_no_module_from_an_earlier_build_in_place(tmp_path: Path) -> None:
    """The defect as a researcher met it: a build in place (``pip wheel .``), then a module removed and committed,
    then ``bundle``: the wheel held the removed module from ``build/lib``, and the project had a new ``build/``."""
    import shutil
    import zipfile

    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    project = _committed(
        tmp_path / "p2",
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
            '[project]\nname = "p2"\nversion = "0.1.0"\n',
            "src/p2/__init__.py": "X = 1\n",
            "src/p2/extra.py": "Y = 2\n",
            ".gitignore": "*.egg-info/\n",
        },
    )
    bundle_mod.build_wheel(project, tmp_path / "first")  # the earlier build, in place, as pip wheel . makes it
    assert (project / "build" / "lib" / "p2" / "extra.py").is_file()
    _git(project, "rm", "-q", "src/p2/extra.py")
    _git(project, "commit", "-qm", "remove extra")
    before = _git(project, "status", "--porcelain", "--ignored")
    lock = Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(name="p2", version="0.1.0", source=Source(kind="directory", url="file://{project}")),
            )
        )
    )
    make_bundle(lock, tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache", project_dir=project))
    (wheel,) = (tmp_path / "bundle" / "wheels").glob("p2-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "p2/__init__.py" in names and "p2/extra.py" not in names, names
    assert _git(project, "status", "--porcelain", "--ignored") == before


def _recording_builds(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The project's wheel built by a stand-in that records the files of each copy it was given to build."""
    copied: list[set[str]] = []

    def build(
        source: Path, out_dir: Path, python: str | None = None, variables: object = None, offline_links: object = None
    ) -> Path:
        copied.append(_files(source))
        out_dir.mkdir(parents=True, exist_ok=True)
        return _fake_wheel(out_dir / "paper-0.1-py3-none-any.whl")

    monkeypatch.setattr(bundle_mod, "build_wheel", build)
    monkeypatch.setattr(bundle_mod, "_check_built", lambda wheel, pkg: (wheel, pkg.version))
    return copied


def _locked_at(project: Path, lock_name: str = "envsnap.lock") -> Snapshot:
    """A lock of the project as capture writes it: its package from the work tree, its state then."""
    from envsnap.probes.project import probe_project

    state = probe_project(str(project), exclude=[str(project / lock_name)])
    assert state is not None
    return Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(name="paper", version="0.1", source=Source(kind="directory", url="file://{project}")),
            )
        ),
        project=state,
    )


def test_a_project_moved_since_the_lock_is_said_before_it_is_built(tmp_path: Path) -> None:
    """A bundle or rebuild built the work tree as it was now, whatever commit the lock recorded, and said nothing:
    the wheel held other code, and verify still said identical."""
    from envsnap.artifacts.bundle import project_drift

    project = _project(tmp_path)
    (project / "envsnap.lock").write_text("[envsnap]\n")
    _git(project, "add", "envsnap.lock")
    _git(project, "commit", "-qm", "the lock, tracked")
    (project / "envsnap.lock").write_text("[envsnap]\n# captured again\n")  # a tracked lock captured again
    lock = _locked_at(project)
    opts = BundleOptions(project_dir=project, lock_path=project / "envsnap.lock")
    assert project_drift(lock, opts) == []  # the lock's own file is not a change of the project
    head = lock.project.commit if lock.project else ""
    (project / "src" / "paper" / "__init__.py").write_text("X = 5\n")
    _git(project, "commit", "-qam", "later work")
    (warning,) = project_drift(lock, opts)
    assert warning.startswith(f"warning: the project is not at the state the lock recorded (commit {head[:12]} -> ")
    # It ended at "built from the work tree as it is now", saying nothing of what to do.
    assert "working tree: uncommitted change" in warning and warning.endswith(
        f"paper 0.1 built from the work tree as it is now; to build the locked code, check out commit {head[:12]} "
        "with its recorded uncommitted change first, or capture again to lock the code as it is"
    ), warning
    pinned = dataclasses.replace(lock, python=PythonEnv(packages=(PythonPackage(name="paper", version="0.1"),)))
    assert project_drift(pinned, opts) == []  # nothing built from the project


def test_a_project_git_refuses_as_another_users_is_said_so_not_no_work_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bundled in a checkout git refuses as another user's (its safe.directory check; GIT_TEST_ASSUME_DIFFERENT_OWNER
    is git's own switch for it), the warning said "PROJECT is not a git work tree", which it is, with nothing to do
    about it. It says git refuses it, and the safe.directory that lets git read it, as capture, run and rerun do."""
    from envsnap.artifacts.bundle import project_drift

    project = _project(tmp_path)
    lock = _locked_at(project)
    head = lock.project.commit if lock.project else ""
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
    (warning,) = project_drift(lock, BundleOptions(project_dir=project, lock_path=project / "envsnap.lock"))
    assert "is not a git work tree" not in warning and "is not at the state" not in warning, warning
    assert warning.startswith(
        "warning: the project's work tree cannot be compared with the state the lock recorded (git refuses to read "
        f"the work tree at {project}, which another user owns (git's safe.directory check): its commit cannot be "
        f"compared with the recorded {head[:12]}; git config --global --add safe.directory {project} lets git read "
        "it): paper 0.1 built from the work tree as it is now"
    ), warning


def test_committing_the_lock_is_no_move_of_the_project(tmp_path: Path) -> None:
    """``envsnap capture``, ``git commit envsnap.lock``, ``envsnap bundle envsnap.lock``: the lock names the commit
    before the one that holds it, so every bundle of a committed lock warned "the project is not at the state the
    lock recorded (commit A -> B)", though B changes only the lock. A commit since that changes only envsnap's
    files (lockfiles, run records) leaves the code the locked one, as ``rerun`` judges it; other code still warns."""
    from envsnap.artifacts.bundle import project_drift

    project = _project(tmp_path)
    lock = _locked_at(project)
    (project / "envsnap.lock").write_text("[envsnap]\nschema_version = 1\n")
    (project / "run.toml").write_text('[run]\nkind = "envsnap run record"\n')
    _git(project, "add", "envsnap.lock", "run.toml")
    _git(project, "commit", "-qm", "the lock and a run record", "--", "envsnap.lock", "run.toml")
    opts = BundleOptions(project_dir=project, lock_path=project / "envsnap.lock")
    assert project_drift(lock, opts) == []
    (project / "src" / "paper" / "__init__.py").write_text("X = 5\n")
    _git(project, "commit", "-qam", "later work")
    (warning,) = project_drift(lock, opts)
    assert warning.startswith("warning: the project is not at the state the lock recorded (commit "), warning


def test_a_bundle_made_again_builds_the_project_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second bundle into the same folder reused the project's wheel of the first (same version, same recorded
    source), although the project's code had changed in between."""
    project = _project(tmp_path)
    builds: list[str] = []

    def build(
        source: Path, out_dir: Path, python: str | None = None, variables: object = None, offline_links: object = None
    ) -> Path:
        builds.append((source / "src" / "paper" / "__init__.py").read_text())
        out_dir.mkdir(parents=True, exist_ok=True)
        return _fake_wheel(out_dir / "paper-0.1-py3-none-any.whl", builds[-1].encode())

    monkeypatch.setattr(bundle_mod, "build_wheel", build)
    monkeypatch.setattr(bundle_mod, "_check_built", lambda wheel, pkg: (wheel, pkg.version))
    opts = BundleOptions(cache_dir=tmp_path / "cache", project_dir=project)
    first = _locked_at(project)
    make_bundle(first, tmp_path / "bundle", opts)
    make_bundle(first, tmp_path / "bundle", opts)  # nothing changed: the earlier wheel is kept (offline works)
    assert builds == ["X = 3\n"]
    (project / "src" / "paper" / "__init__.py").write_text("X = 6\n")
    said: list[str] = []
    make_bundle(first, tmp_path / "bundle", opts, progress=said.append)  # the same lock, the project moved on
    make_bundle(_locked_at(project), tmp_path / "bundle", opts)  # a lock captured again
    assert builds == ["X = 3\n", "X = 6\n", "X = 6\n"]
    assert any(line.startswith("warning: the project is not at the state the lock recorded") for line in said)
    with zipfile.ZipFile(tmp_path / "bundle" / "wheels" / "paper-0.1-py3-none-any.whl") as built:
        assert built.read("paper/__init__.py") == b"X = 6\n"


def test_a_bundle_made_inside_the_project_is_not_a_change_of_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bundle envsnap.lock -o bundle`` in the project: the new folder counted as an uncommitted change, so the
    first run warned that the project was not at the locked state, every re-run built the project again, each build
    copied the bundle's wheels with the source, and a later capture recorded the wheels as the project's code."""
    from envsnap.probes.project import probe_project

    project = _project(tmp_path)
    copied = _recording_builds(monkeypatch)
    lock = _locked_at(project)
    opts = BundleOptions(cache_dir=tmp_path / "cache", project_dir=project, lock_path=project / "envsnap.lock")
    said: list[str] = []
    make_bundle(lock, project / "bundle", opts, progress=said.append)
    make_bundle(lock, project / "bundle", opts, progress=said.append)  # unchanged: the wheel is kept
    assert not [line for line in said if "not at the state the lock recorded" in line], said
    assert len(copied) == 1 and not [name for name in copied[0] if name.startswith("bundle/")], copied
    assert probe_project(str(project)) == lock.project  # a capture now records the project as before
    (project / "bundle" / "notes.txt").write_text("x\n")  # a folder that is no bundle is the project's
    (project / "bundle" / "SHA256SUMS").unlink()
    assert probe_project(str(project)) != lock.project


def test_a_bundle_archive_made_inside_the_project_is_not_a_change_of_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/tutorial.md's `bundle envsnap.lock -o supplement.tar.gz`, in the project: the archive counted as an
    uncommitted change (a bundle folder did not), so every later capture and run recorded another project state,
    `diff` and `rerun` said the code changed, the next bundle or rebuild warned that the project was not at the
    locked state, and each build of the project copied the archive (gigabytes for an ML environment)."""
    import tarfile

    from envsnap.probes.project import probe_project

    project = _project(tmp_path)
    copied = _recording_builds(monkeypatch)
    lock = _locked_at(project)
    opts = BundleOptions(cache_dir=tmp_path / "cache", project_dir=project, lock_path=project / "envsnap.lock")
    said: list[str] = []
    make_bundle(lock, project / "supplement.tar.gz", opts, progress=said.append)
    make_bundle(lock, project / "supp.tar", opts, progress=said.append)  # a second archive, after the first
    assert (project / "supplement.tar.gz").is_file() and (project / "supp.tar").is_file()
    assert not [line for line in said if "not at the state the lock recorded" in line], said
    assert len(copied) == 2 and not [name for name in copied[1] if name.startswith("supplement")], copied
    assert probe_project(str(project)) == lock.project  # a capture now records the project as before
    with tarfile.open(project / "data.tar.gz", "w:gz") as tar:  # any other archive is the project's
        tar.add(project / "pyproject.toml", arcname="data/pyproject.toml")
    assert probe_project(str(project)) != lock.project


def test_a_bundle_inside_a_project_outside_git_is_not_copied(tmp_path: Path) -> None:
    """Outside a work tree the whole folder is copied: a bundle made inside it (its wheels, gigabytes for an ML
    project) was copied into every build of the project."""
    project = tmp_path / "paper"
    (project / "pkg").mkdir(parents=True)
    (project / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (project / "pkg" / "__init__.py").write_text("")
    bundle = project / "bundle"
    (bundle / "wheels").mkdir(parents=True)
    (bundle / "wheels" / "big-1.0-py3-none-any.whl").write_bytes(b"wheel")
    (bundle / "SHA256SUMS").write_text("")
    (bundle / "envsnap.lock").write_text("[envsnap]\n")
    (project / "making" / "wheels").mkdir(parents=True)  # a bundle being made (interrupted)
    (project / "making" / ".envsnap-incomplete").write_text("")
    (project / "data").mkdir()  # a folder with checksums of its own is the project's
    (project / "data" / "SHA256SUMS").write_text("")
    (project / "data" / "envsnap.lock").write_text("not a lock\n")
    copied = _files(copy_project(project, tmp_path / "copy"))
    assert copied == {"setup.py", "pkg/__init__.py", "data/SHA256SUMS", "data/envsnap.lock"}


def test_a_git_url_the_fetch_policy_refuses_is_refused_before_anything_is_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bundle fetched the other wheels first and refused the git URL only when its turn to be cloned came, though
    the docs say every VCS install is checked before anything is fetched."""
    from envsnap._fetchpolicy import FetchRefusedError
    from envsnap.model import Artifact

    fetched: list[str] = []
    monkeypatch.setattr(bundle_mod, "fetch_wheel", lambda art, *a, **k: fetched.append(art.filename))
    monkeypatch.setattr(bundle_mod, "_prefetch", lambda *a, **k: fetched.append("prefetch") or set())
    wheel = Artifact(filename="six-1.17.0-py2.py3-none-any.whl", url="https://files.example/six.whl", sha256="a" * 64)
    lock = Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(name="six", version="1.17.0", artifact=wheel),
                PythonPackage(
                    name="labtools",
                    version="0.2",
                    source=Source(kind="vcs", vcs="git", url="https://localhost/labtools.git", commit_id="b" * 40),
                ),
            )
        )
    )
    with pytest.raises(FetchRefusedError, match=r"labtools: git URL 'https://localhost/labtools.git' from the lock"):
        make_bundle(lock, tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache"))
    assert fetched == [] and not (tmp_path / "bundle").exists()


def test_a_built_wheel_the_download_cache_cannot_hold_fails_nothing_and_leaves_no_part_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A built wheel is kept in the download cache too (a later bundle of the bundle's lock needs no build); a
    cache on a disk that filled while it was copied there made the whole bundle fail ("cannot write the bundle:
    No space left on device (BUNDLE/wheels/...)", blaming the bundle, which was removed) and left the wheel cut
    short under its sha256 in the cache. A cache is never needed: the bundle is made, and the cache holds the
    whole wheel or none. The full disk is a file size limit here, set once the wheel is built."""
    import resource
    import signal

    project = _project(tmp_path)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    sizes: list[int] = []

    def build(
        source: Path, out_dir: Path, python: str | None = None, variables: object = None, offline_links: object = None
    ) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        wheel = _fake_wheel(out_dir / "paper-0.1-py3-none-any.whl", os.urandom(1 << 20))
        sizes.append(wheel.stat().st_size)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, limits[1]))  # no file may grow past 256 KiB now
        return wheel

    monkeypatch.setattr(bundle_mod, "build_wheel", build)
    monkeypatch.setattr(bundle_mod, "_check_built", lambda wheel, pkg: (wheel, pkg.version))
    lock = Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(
                    name="paper", version="0.1", source=Source(kind="directory", url="file://{project}", editable=True)
                ),
            )
        )
    )
    cache = tmp_path / "cache"
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), as on ENOSPC
    try:
        made = make_bundle(lock, tmp_path / "bundle", BundleOptions(cache_dir=cache, project_dir=project))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)
    assert [entry.action for entry in made.entries] == ["built"]
    wheel = tmp_path / "bundle" / "wheels" / "paper-0.1-py3-none-any.whl"
    assert sizes[0] > 1 << 20 and wheel.stat().st_size == sizes[0]
    assert [p.stat().st_size for p in cache.rglob("*") if p.is_file()] == []


def test_what_envsnap_wrote_in_the_project_is_not_copied_with_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """`export envsnap.lock -f pylock -o pylock.toml` in the project, then `bundle`: the exported file (which the
    project state leaves out while it is what export wrote), and the untracked lock itself, were copied into the
    source each build of the project starts from, as if they were the project's code."""
    from envsnap import lockfile

    project = _project(tmp_path)
    copied = _recording_builds(monkeypatch)
    lockfile.dump(_locked_at(project), project / "envsnap.lock")
    monkeypatch.chdir(project)
    for args in (("-f", "pylock", "-o", "pylock.toml"), ("-f", "latex", "-o", "appendix.tex")):
        exported = cli("export", "envsnap.lock", *args)
        assert exported.code == 0, exported
    (project / "appendix.tex").write_text((project / "appendix.tex").read_text() + "% the researcher's edit\n")
    made = cli("bundle", "envsnap.lock", "-o", tmp_path / "supp", "--cache-dir", tmp_path / "cache")
    assert made.code == 0, made
    assert copied == [
        {
            ".gitignore",
            "appendix.tex",  # changed since export wrote it: the researcher's, as the project state counts it
            "pyproject.toml",
            "src/paper/__init__.py",
            "src/paper/new.py",
            "src/paper/alias.py",
        }
    ]


def test_an_export_in_a_project_below_the_top_of_its_work_tree_is_not_copied(tmp_path: Path) -> None:
    """The export ledger names files from the work tree's top; a project in a folder of it is copied from there."""
    from envsnap.probes.gitstate import remember_exports

    repo = _committed(tmp_path / "mono", {"README.md": "x\n", "tools/paper/setup.py": "", "tools/paper/p.py": ""})
    project = repo / "tools" / "paper"
    (project / "pylock.toml").write_text("exported\n")
    remember_exports([str(project / "pylock.toml")])
    (project / "notes.toml").write_text("mine\n")  # an untracked file envsnap did not write: the project's
    assert _files(copy_project(project, tmp_path / "copy")) == {"setup.py", "p.py", "notes.toml"}


@pytest.mark.parametrize(
    "untracked",
    [
        "src/paper.egg-info/PKG-INFO",  # pip install -e . of a project whose .gitignore lacks *.egg-info
        "src/paper/__pycache__/m.cpython-311.pyc",
        "build/lib/paper/m.py",
        "dist/paper-0.1-py3-none-any.whl",
        ".venv/pyvenv.cfg",
        "envs/x/pyvenv.cfg",  # a venv below the top, by its pyvenv.cfg
        "envs/x/lib/python3.11/site-packages/m.py",
        "envs/c/conda-meta/history",  # a conda environment, by its conda-meta/
        "envs/c/lib/m.py",
        "tools/gen/build/x.py",  # a build/ folder of no Python project: the researcher's
        "src/paper/new.py",
        "notes.txt",
    ],
)
def test_the_copy_a_build_starts_from_leaves_out_what_the_project_state_leaves_out(
    tmp_path: Path, untracked: str
) -> None:
    """The copy left out ``src/paper.egg-info`` (and ``__pycache__``, ``build/``, ``dist/``) while the project state
    counted them: ``pip install -e .`` read dirty right after a clean commit. The state left out a venv or conda
    environment anywhere in the tree while the copy left out only ``.venv`` and ``venv`` at its top, and copied the
    environment in ``envs/x`` into every build. Now one rule: an untracked file is copied exactly when it makes the
    project dirty."""
    from envsnap.probes.project import probe_project

    project = _committed(tmp_path / "paper", {"pyproject.toml": "[project]\nname='paper'\n", "src/paper/m.py": ""})
    if untracked.startswith("envs/x/lib"):
        (project / "envs" / "x").mkdir(parents=True)
        (project / "envs" / "x" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    if untracked.startswith("envs/c/lib"):
        (project / "envs" / "c" / "conda-meta").mkdir(parents=True)
        (project / "envs" / "c" / "conda-meta" / "history").write_text("")
    (project / untracked).parent.mkdir(parents=True, exist_ok=True)
    (project / untracked).write_text("x\n")
    state = probe_project(str(project))
    assert state is not None
    copied = untracked in _files(copy_project(project, tmp_path / "copy"))
    assert state.dirty == copied
    researchers = untracked in ("tools/gen/build/x.py", "src/paper/new.py", "notes.txt")
    assert copied == researchers


def test_an_environment_below_the_top_of_a_project_outside_git_is_not_copied(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    for name in ("setup.py", "pkg/m.py", "envs/x/pyvenv.cfg", "envs/x/lib/m.py", "envs/c/conda-meta/h", "envs/c/m.py"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("")
    assert _files(copy_project(project, tmp_path / "copy")) == {"setup.py", "pkg/m.py"}


def test_a_local_git_url_refused_says_the_pattern_matches_the_repository(tmp_path: Path) -> None:
    """``pip install git+file:///lab/labgit`` captured, then bundled: the refusal said "the pattern matches the
    file's path, DIR/* the files of a folder", and ``--allow-url '/lab/labgit/*'``, which that reads as, was refused
    again: a repository is allowed by its own path, the folder. The hint says so (no path from the lock in it)."""
    from envsnap._fetchpolicy import FetchPolicy, FetchRefusedError

    repo = tmp_path / "lab" / "labgit"
    url = repo.as_uri()
    lock = Snapshot(
        python=PythonEnv(
            packages=(
                PythonPackage(
                    name="labgit", version="0.2", source=Source(kind="vcs", vcs="git", url=url, commit_id="b" * 40)
                ),
            )
        )
    )
    with pytest.raises(FetchRefusedError) as refused:
        make_bundle(lock, tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache"))
    assert str(refused.value) == (
        f"labgit: git URL {repo} from the lock is not fetched: a local path, not https (pass --allow-url PATTERN "
        "to allow it: the pattern matches the repository's own path, its folder, and DIR/* the repositories in DIR)"
    )
    assert FetchPolicy(allow=(str(repo),)).refusal(url) is None
    assert FetchPolicy(allow=(f"{repo.parent}/*",)).refusal(url) is None
    assert FetchPolicy(allow=(f"{repo}/*",)).refusal(url) is not None


@pytest.mark.parametrize("command", [["bundle", "-o", "BUNDLE"], ["rebuild", "--target", "venv", "--dest", "VENV"]])
def test_a_local_git_repository_here_refused_names_the_allow_url_to_paste(
    tmp_path: Path, cli: Callable[..., CliResult], command: list[str]
) -> None:
    """A capture of ``pip install git+file:///tmp/rés earch/labgit``, bundled or rebuilt on the same machine: ``pin``
    named ``--allow-url '/tmp/rés earch/labgit'``, but ``bundle`` and ``rebuild`` said ``pass --allow-url PATTERN``,
    leaving the user to work out the pattern and to quote a path with a space. A repository that is here is named by
    the pattern that allows it, one shell word; that very option gets past the refusal."""
    import shlex

    from envsnap import lockfile

    repo = tmp_path / "rés earch" / "labgit"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "x.txt").write_text("x\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "x")
    commit = _git(repo, "rev-parse", "HEAD").strip()
    source = Source(kind="vcs", vcs="git", url=repo.as_uri(), commit_id=commit)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("labgit", "1.0", source=source),)))
    lock_path = lockfile.dump(lock, tmp_path / "env.lock")
    args = [str(tmp_path / a) if a in ("BUNDLE", "VENV") else a for a in command]
    result = cli(args[0], lock_path, *args[1:])
    assert result.code == 2, result
    assert result.err == (
        f"envsnap: error: labgit: git URL {shlex.quote(str(repo))} from the lock is not fetched: a local path, not "
        f"https (pass --allow-url {shlex.quote(str(repo))} to allow it)\n"
    )
    word = result.err.split("--allow-url ", 1)[1].rsplit(" to allow it", 1)[0]
    (pattern,) = shlex.split(word)
    again = cli(args[0], lock_path, *args[1:], "--allow-url", pattern)
    assert "is not fetched" not in again.err, again


def test_a_local_git_repository_gone_says_what_to_put_there(tmp_path: Path) -> None:
    """``pip install git+file:///lab/labgit`` captured, the repository moved since: rebuild and bundle said only
    "gitlib 0.2.0: the local git repository /lab/labgit does not exist on this machine". The line says what to put
    there (a clone holding the locked commit), and for one inside the project, to name the project."""
    from envsnap.errors import BundleError

    commit = "b" * 40
    gone = tmp_path / "lab" / "labgit"
    pkg = PythonPackage(
        name="labgit", version="0.2", source=Source(kind="vcs", vcs="git", url=gone.as_uri(), commit_id=commit)
    )
    with pytest.raises(BundleError) as error:
        bundle_mod.clone_source(pkg, None)
    assert str(error.value) == (
        f"labgit 0.2: the local git repository {gone} does not exist on this machine: put a clone of it holding "
        f"commit {commit[:12]} there"
    )
    inside = dataclasses.replace(pkg, source=dataclasses.replace(pkg.source, url="file://{project}/libs/labgit"))
    with pytest.raises(BundleError) as error:
        bundle_mod.clone_source(inside, tmp_path)
    assert str(error.value).endswith(
        f"does not exist on this machine: put a clone of it holding commit {commit[:12]} there, or name the project "
        "it is in with --project DIR"
    ), str(error.value)


def test_a_setuptools_build_leaves_no_uv_lock_file_in_the_temporary_folder(tmp_path: Path) -> None:
    """``bundle`` of a setuptools project left a ``uv-setuptools-*.lock`` in TMPDIR for every build (uv's lock
    for setuptools builds, made in its temporary folder and never removed): /tmp filled with them. uv's temporary
    folder is one in the build's own folder, removed with it."""
    import shutil
    import sys

    from testutil import uv_bin

    if uv_bin() is None:
        pytest.skip("no uv")
    source = tmp_path / "sp"
    (source / "sp").mkdir(parents=True)
    (source / "sp" / "__init__.py").write_text("X = 1\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "sp"\nversion = "0.1"\n'
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(repo)}
    (tmp_path / "requirements.txt").write_text(f"sp @ {source.as_uri()}\n")
    run = [sys.executable, "-m", "envsnap"]
    res = subprocess.run([*run, "import", "requirements.txt", "-o", "l.lock"], cwd=tmp_path, env=env, timeout=120)
    assert res.returncode == 0
    res = subprocess.run(
        [*run, "bundle", "l.lock", "-o", "b", "--allow-url", str(source)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if res.returncode != 0 and "building a wheel" in res.stderr:
        pytest.skip(f"setuptools cannot be had for the build here: {res.stderr.strip()}")
    assert res.returncode == 0, res.stderr
    assert [p.name for p in tmp.iterdir()] == [], sorted(p.name for p in tmp.iterdir())
    shutil.rmtree(tmp_path / "b")
