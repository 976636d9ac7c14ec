"""One reading of ``file:`` URLs (envsnap/fileurls.py): every former copy (the fetch policy, pin's local
directory, the conda rebuild's archive path, the exporters, the redactor at capture) percent-decodes the same
way, so a project in a directory with a space is the same directory to all of them (issue 13)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import _fetchpolicy, fileurls, lockfile
from envsnap._privacy import PathRedactor
from envsnap.artifacts import conda as conda_archives
from envsnap.artifacts.pin import local_dir
from envsnap.model import CondaPackage, PythonEnv, PythonPackage, Snapshot, Source
from envsnap.probes.python import source_from_direct_url


def _project(root: Path) -> Path:
    """A buildable project in a directory whose name has a space."""
    tree = root / "x" / "my proj"
    (tree / "mp").mkdir(parents=True)
    (tree / "mp" / "__init__.py").write_text("")
    (tree / "pyproject.toml").write_text(
        '[project]\nname = "myproj"\nversion = "0.1"\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    return tree


def _directory_lock(url: str) -> Snapshot:
    source = Source(kind="directory", url=url)
    return Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("myproj", "0.1", source=source),)))


@pytest.mark.parametrize("spelling", ["file://{tree}", "file:{tree}", "file://localhost{tree}"])
def test_every_reader_finds_a_directory_with_a_space(tmp_path: Path, spelling: str) -> None:
    tree = _project(tmp_path)
    url = spelling.format(tree=tree.as_uri()[len("file://") :])  # percent-encoded, as pip records it
    assert "my%20proj" in url
    assert _fetchpolicy.local_path(url) == tree
    assert fileurls.local_path(url) == tree
    assert local_dir(url, None) == tree
    assert fileurls.file_url_path(url) == str(tree)
    assert fileurls.path_url(fileurls.file_url_path(url)) == tree.as_uri()


def test_the_home_label_is_the_home_directory_for_every_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetch policy read ``file://~/x`` as ``/x``; pin and the conda rebuild as ``$HOME/x``."""
    monkeypatch.setenv("HOME", str(tmp_path))
    url = "file://~/wheel%20house/a.whl"
    want = tmp_path / "wheel house" / "a.whl"
    assert _fetchpolicy.local_path(url) == want
    assert local_dir(url, None) == want
    assert fileurls.file_url_path(url) == "~/wheel house/a.whl"


def test_the_conda_rebuild_reads_a_local_channel_with_a_space(tmp_path: Path) -> None:
    """The conda rebuild had its own reader that took only ``file://``: ``file:/...`` went to urllib."""
    channel = tmp_path / "my channel" / "linux-64"
    channel.mkdir(parents=True)
    archive = channel / "pkg-1.0-0.conda"
    archive.write_bytes(b"conda archive")
    sha = hashlib.sha256(b"conda archive").hexdigest()
    for url in (archive.as_uri(), "file:" + archive.as_uri()[len("file://") :]):
        pkg = CondaPackage(name="pkg", version="1.0", build="0", url=url, sha256=sha)
        target = tmp_path / "out" / "pkg-1.0-0.conda"
        got = conda_archives.fetch_archive(pkg, target, offline=True, allow_urls=(url,))
        assert got.read_bytes() == b"conda archive"
        target.unlink()


def test_capture_inside_a_project_with_a_space_records_the_project_label(tmp_path: Path) -> None:
    """pip writes the project's URL percent-encoded; the redactor compared it with the decoded project path,
    so a project in ``my proj`` was recorded by its absolute path (this machine's, a home directory's name
    included) instead of ``{project}``, and a bundle made from a moved checkout could not find it."""
    tree = _project(tmp_path)
    redact = PathRedactor(project=str(tree), home=str(tmp_path / "home"), users=(), hosts=())
    direct = {"url": tree.as_uri() + "/sub%20dir", "dir_info": {}}
    assert source_from_direct_url(direct, redact).url == "file://{project}/sub%20dir"
    assert source_from_direct_url({"url": tree.as_uri(), "dir_info": {}}, redact).url == "file://{project}"
    redact = PathRedactor(home=str(tree.parent), users=(), hosts=())
    assert redact.url(tree.as_uri()) == "file://~/my%20proj"  # the rest is kept as written
    assert redact.url("git+" + tree.as_uri()) == "git+file://~/my%20proj"
    assert redact.url(tmp_path.as_uri() + "/elsewhere%20x") == tmp_path.as_uri() + "/elsewhere%20x"
    # a sibling whose name only starts like the root is not inside it
    sibling = tree.parent.as_uri() + "/my%20project"
    assert PathRedactor(project=str(tree), home="/nonexistent", users=(), hosts=()).url(sibling) == sibling


def test_pin_and_bundle_a_local_directory_install_with_a_space(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: a local-directory install under ``.../x/my proj``, locked as pip records it."""
    tree = _project(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    lockfile.dump(_directory_lock(tree.as_uri()), tmp_path / "envsnap.lock")
    pinned = cli("pin", "envsnap.lock", "-o", "pinned.lock")
    assert pinned.code == 0 and "1 built from source" in pinned.out + pinned.err, pinned
    result = cli("bundle", "envsnap.lock", "-o", tmp_path / "bundle")
    assert result.code == 0, result
    assert "does not exist" not in result.err
    assert [p.name for p in (tmp_path / "bundle" / "wheels").iterdir()] == ["myproj-0.1-py3-none-any.whl"]


@pytest.mark.parametrize(
    ("recorded", "where"),
    [("file://~/src/my%20proj", "src"), ("file://{project}/libs/my%20proj", "proj/libs")],
)
def test_pin_names_a_local_project_as_the_lock_records_it(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, recorded: str, where: str
) -> None:
    """``pin --json`` said ``local project /home/alice/src/mylib: ...`` for a lock recording ``file://~/src/mylib``:
    its output (CI logs, issue reports) named the user and the home's layout that the lock leaves out."""
    home, project = tmp_path / "home" / "alice", tmp_path / "home" / "alice" / "proj"
    tree = _project(tmp_path)
    (home / where).mkdir(parents=True)
    project.mkdir(exist_ok=True)
    tree.rename(home / where / "my proj")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(project)
    lockfile.dump(_directory_lock(recorded), project / "envsnap.lock")
    for args in ((), ("--json",)):
        pinned = cli("pin", "envsnap.lock", "-o", "pinned.lock", "--no-system-packages", "--project", project, *args)
        assert pinned.code == 0 and str(home) not in pinned.out + pinned.err, pinned
    assert f'"reason": "local project {recorded}: bundle and rebuild build it into a wheel"' in pinned.out


def test_the_root_folder_is_no_project_to_label() -> None:
    """``envsnap import`` run in ``/`` (a container's working directory, no git work tree) has ``/`` for its project:
    a warning naming ``/opt/wheels`` became ``{project}/opt{project}/wheels``."""
    redact = PathRedactor(project="/", home="/nonexistent", users=(), hosts=())
    assert redact.text("--find-links /opt/wheels is not recorded") == "--find-links /opt/wheels is not recorded"
    assert redact.path("/opt/wheels") == "/opt/wheels"


def test_a_project_in_a_home_reached_through_a_link_is_the_project(tmp_path: Path) -> None:
    """``HOME=/home/me`` a link to ``/data/me``, the project ``/data/me/proj`` (git names the work tree by its real
    path): pip records ``pip install -e ~/proj/libs/x`` as ``file:///home/me/proj/libs/x``, which capture recorded
    as ``file://~/proj/libs/x`` and pin's find-links folder as ``file://~/proj/wheels``: the project's label wins."""
    real = tmp_path / "data" / "me"
    (real / "proj").mkdir(parents=True)
    home = tmp_path / "me"
    home.symlink_to(real)
    redact = PathRedactor(project=str(real / "proj"), home=str(home), users=(), hosts=())
    direct = {"url": (home / "proj" / "libs" / "x").as_uri(), "dir_info": {"editable": True}}
    assert source_from_direct_url(direct, redact).url == "file://{project}/libs/x"
    assert redact.located((home / "proj" / "wheels" / "x-1-py3-none-any.whl").as_uri()) == (
        "file://{project}/wheels/x-1-py3-none-any.whl"
    )
    assert redact.text(f"{home}/proj/a and {home}/b") == "{project}/a and ~/b"
    assert redact.url((home / "other").as_uri()) == "file://~/other"
