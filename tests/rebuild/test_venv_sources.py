"""Rebuilds that fetch: without a bundle (a temporary one is made from the configured index), and a bundle
built from an sdist. The index is a file:// PEP 503 tree made here, configured through PIP_* variables."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle, BundleOptions, make_bundle
from envsnap.probes.capture import capture
from envsnap.probes.interface import BUNDLE_WHEEL_FILE
from envsnap.rebuild import RebuildResult, rebuild

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
"""


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed (pip install -e '.[test]' installs it)")
    return found


def _project(root: Path, name: str, version: str) -> Path:
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text(f"NAME = {name!r}\n")
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name, version=version))
    return root


def _index(root: Path, files: list[Path]) -> str:
    for f in files:
        project = f.name.split("-")[0].replace("_", "-")
        page = root / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, root / f.name)
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        (page / "index.html").write_text(f'<a href="../../{f.name}#sha256={digest}">{f.name}</a>\n')
    return (root / "simple").as_uri()


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path, Path]:
    """An index with a wheel of 'esnptalpha' and only an sdist of 'esnptbeta'; pip configured to use only it."""
    uv = _uv()
    dist = tmp_path / "dist"
    for name in ("esnptalpha", "esnptbeta"):
        src = _project(tmp_path / "src" / name, name, "1.0")
        kind = "--wheel" if name == "esnptalpha" else "--sdist"
        res = subprocess.run(
            [uv, "build", "-q", kind, "--out-dir", str(dist), str(src)], capture_output=True, text=True
        )
        if res.returncode != 0:
            pytest.skip(f"cannot build test packages (the build backend comes from the index): {res.stderr[-200:]}")
    index = _index(tmp_path / "index", sorted(dist.iterdir()))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            "--no-config",
            "--index-url",
            index,
            "--extra-index-url",
            "https://pypi.org/simple",
            "esnptalpha",
            "esnptbeta",
        ],
        check=True,
    )
    lock_path = lockfile.dump(capture(str(venv / "bin" / "python")), tmp_path / "envsnap.lock")
    return index, lock_path, venv


def test_rebuild_without_a_bundle_pins_and_fetches(local_index: tuple[str, Path, Path], tmp_path: Path) -> None:
    _index, lock_path, _venv = local_index
    result = rebuild(lock_path, target="venv", dest=tmp_path / "env")
    assert isinstance(result, RebuildResult) and result.verify is not None
    assert result.verify.identical, [d.describe() for d in result.verify.differences]
    alpha = next(i for i in result.plan.items if i.name == "esnptalpha")
    assert alpha.origin == "to be pinned and fetched"


def test_sdist_is_pinned_then_built_and_flagged_rebuilt(local_index: tuple[str, Path, Path], tmp_path: Path) -> None:
    index, lock_path, _venv = local_index
    result = make_bundle(lockfile.load(lock_path), tmp_path / "bundle", BundleOptions())
    beta = result.lock.package("esnptbeta")
    alpha = result.lock.package("esnptalpha")
    assert beta is not None and beta.artifact is not None and alpha is not None and alpha.artifact is not None
    assert beta.artifact.rebuilt and beta.artifact.url.endswith("esnptbeta-1.0.tar.gz")
    assert beta.artifact.filename.startswith("esnptbeta-1.0-") and beta.artifact.filename.endswith(".whl")
    assert not alpha.artifact.rebuilt and alpha.artifact.index == index
    Bundle(tmp_path / "bundle").verify_sums()
    rebuilt = rebuild(lock_path, target="venv", dest=tmp_path / "env", bundle=tmp_path / "bundle", offline=True)
    assert isinstance(rebuilt, RebuildResult) and rebuilt.verify is not None and rebuilt.verify.identical
    # The same files as the original wheel built from that sdist: the digests match.
    assert not [d for d in rebuilt.verify.differences if d.what == "record_digest"]


def test_missing_wheel_is_fetched_from_its_pinned_url_when_online(
    local_index: tuple[str, Path, Path], tmp_path: Path
) -> None:
    _index_url, lock_path, _venv = local_index
    result = make_bundle(lockfile.load(lock_path), tmp_path / "bundle", BundleOptions())
    Bundle(tmp_path / "bundle").wheel_for("esnptalpha").unlink()
    Bundle(tmp_path / "bundle").write_sums()  # a bundle made without it (a removed listed file is refused)
    rebuilt = rebuild(lock_path, target="venv", dest=tmp_path / "env", bundle=tmp_path / "bundle")
    assert isinstance(rebuilt, RebuildResult) and rebuilt.verify is not None and rebuilt.verify.identical
    assert result.lock.package("esnptalpha") is not None


def test_a_wheel_the_bundle_built_from_a_folder_is_recognisable_in_the_rebuilt_venv(
    local_index: tuple[str, Path, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``rebuild --target venv --bundle B --offline`` installed the wheel the bundle built from a local project from
    the bundle's wheels folder, which leaves no direct_url.json: a capture of the venv named the index, as it names
    any other wheel of that version from an index, and diff and verify could not tell them apart. It installs that
    wheel by its file: pip and uv write a direct_url.json naming it and its sha256, which diff and verify compare
    with the file the bundle's lock pins."""
    uv = _uv()
    _index_url, _lock, _venv = local_index
    project = _project(tmp_path / "src" / "esnptgamma", "esnptgamma", "1.0")
    venv = tmp_path / "gamma"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(project)], check=True)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    assert cli("bundle", tmp_path / "orig.lock", "-o", tmp_path / "B").code == 0
    bundled = lockfile.load(tmp_path / "B" / "envsnap.lock").package("esnptgamma")
    assert bundled is not None and bundled.artifact is not None and bundled.artifact.rebuilt
    wheel, sha256 = bundled.artifact.filename, bundled.artifact.sha256
    bundle_lock = tmp_path / "B" / "envsnap.lock"
    rebuilt = cli(
        "rebuild", bundle_lock, "--target", "venv", "--bundle", tmp_path / "B", "--offline", "--dest", tmp_path / "R"
    )
    assert rebuilt.code == 0, rebuilt.out
    (direct_url,) = (tmp_path / "R").glob("lib/python*/site-packages/esnptgamma-1.0.dist-info/direct_url.json")
    written = json.loads(direct_url.read_text())
    assert written["url"].split("#")[0] == (tmp_path / "B" / "wheels" / wheel).as_uri()
    assert cli("capture", "--python", tmp_path / "R" / "bin" / "python", "-o", tmp_path / "cap.lock").code == 0
    captured = lockfile.load(tmp_path / "cap.lock").package("esnptgamma")
    assert captured is not None and captured.source.kind == "archive"
    assert captured.source.archive_hash == f"sha256={sha256}"
    result = cli("diff", tmp_path / "B" / "envsnap.lock", tmp_path / "cap.lock")
    # Each side shown by its path (the lock and the capture keep the file: URLs).
    assert captured.source.url == (tmp_path / "B" / "wheels" / wheel).as_uri()
    assert (
        f"esnptgamma: {project} -> {tmp_path / 'B' / 'wheels' / wheel} (installed from the bundle's wheel" in result.out
    ), result.out
    assert "the bundle's wheel installed for esnptgamma" in result.out and result.code == 0, result.out
    verified = cli("verify", tmp_path / "B" / "envsnap.lock", "--python", tmp_path / "R" / "bin" / "python")
    assert f"(installed from the bundle's wheel {wheel} built from the locked source (the same sha256))" in verified.out
    # Another wheel of that name and version, from a find-links folder: no direct_url.json, not the bundle's wheel.
    other = _project(tmp_path / "src2" / "esnptgamma", "esnptgamma", "1.0")
    (other / "esnptgamma" / "__init__.py").write_text("NAME = 'another'\n")
    subprocess.run([uv, "build", "-q", "--wheel", "--out-dir", str(tmp_path / "links"), str(other)], check=True)
    fake = tmp_path / "fake"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(fake)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(fake / "bin" / "python"),
            "--no-index",
            "--find-links",
            str(tmp_path / "links"),
            "esnptgamma==1.0",
        ],
        check=True,
    )
    assert cli("capture", "--python", fake / "bin" / "python", "-o", tmp_path / "fake.lock").code == 0
    result = cli("diff", tmp_path / "B" / "envsnap.lock", tmp_path / "fake.lock")
    assert result.code == 1 and "-> index (source)" in result.out, result.out
    verified = cli("verify", tmp_path / "B" / "envsnap.lock", "--python", fake / "bin" / "python")
    assert "installed from an index or a find-links folder (no direct_url.json): not known to be built" in verified.out


def test_the_bundles_manual_pip_command_installs_the_built_wheel_by_its_file(
    local_index: tuple[str, Path, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The bundle's README rebuilds by hand with ``pip install --no-deps --no-index --find-links wheels
    --require-hashes -r requirements.txt``, whose ``name==version`` line installed the wheel the bundle built from a
    local project by name from the folder: no direct_url.json, and verify said "not known to be built from it". The
    line names the file, ``./wheels/F.whl --hash=...``, which pip resolves against the folder it runs in (the
    bundle's, as the README says) and records with its sha256: verify calls it the bundle's wheel."""
    uv = _uv()
    project = _project(tmp_path / "src" / "esnptgamma", "esnptgamma", "1.0")
    venv = tmp_path / "gamma"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(project)], check=True)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    assert cli("bundle", tmp_path / "orig.lock", "-o", tmp_path / "B").code == 0
    bundled = lockfile.load(tmp_path / "B" / "envsnap.lock").package("esnptgamma")
    assert bundled is not None and bundled.artifact is not None and bundled.artifact.rebuilt
    wheel, sha256 = bundled.artifact.filename, bundled.artifact.sha256
    assert f"./wheels/{wheel} --hash=sha256:{sha256}" in (tmp_path / "B" / "requirements.txt").read_text().splitlines()
    readme = (tmp_path / "B" / "README.md").read_text()
    command = "pip install --no-deps --no-index --find-links wheels --require-hashes -r requirements.txt"
    assert command in readme and "run it here" in readme.replace("\n", " ")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "env")], check=True)
    pip = [str(tmp_path / "env" / "bin" / "python"), "-m", *command.split()]
    subprocess.run(pip, cwd=tmp_path / "B", check=True, capture_output=True)
    (direct_url,) = (tmp_path / "env").glob("lib/python*/site-packages/esnptgamma-1.0.dist-info/direct_url.json")
    assert json.loads(direct_url.read_text())["url"] == (tmp_path / "B" / "wheels" / wheel).as_uri()
    verified = cli("verify", tmp_path / "B" / "envsnap.lock", "--python", tmp_path / "env" / "bin" / "python")
    assert f"(installed from the bundle's wheel {wheel} built from the locked source (the same sha256))" in verified.out


def test_a_venv_rebuilt_from_a_bundle_archive_records_the_locked_source_not_the_removed_unpacked_folder(
    local_index: tuple[str, Path, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``rebuild --bundle B.tar.gz`` installs the wheel the bundle built by its file in the folder the archive was
    unpacked to, which is removed when the rebuild ends: direct_url.json (and so a capture, verify and diff) named
    ``file:///tmp/.envsnap-rebuild-XXXX/bundle/wheels/F.whl``, another folder each rebuild, which pin and bundle
    cannot read. The venv records the lock's source instead, as a rebuild without a bundle does: a capture names the
    folder the lock names, verify says nothing of a removed folder, and two rebuilds' captures are the same."""
    uv = _uv()
    project = _project(tmp_path / "src" / "esnptgamma", "esnptgamma", "1.0")
    venv = tmp_path / "gamma"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(project)], check=True)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    assert cli("bundle", tmp_path / "orig.lock", "-o", tmp_path / "B.tar.gz").code == 0
    for n in (1, 2):
        made = cli("rebuild", tmp_path / "orig.lock", "--bundle", tmp_path / "B.tar.gz", "--dest", tmp_path / f"R{n}")
        assert made.code == 0, made.out
        assert (
            cli("capture", "--python", tmp_path / f"R{n}" / "bin" / "python", "-o", tmp_path / f"R{n}.lock").code == 0
        )
    locked = lockfile.load(tmp_path / "orig.lock").package("esnptgamma")
    captured = lockfile.load(tmp_path / "R1.lock").package("esnptgamma")
    assert locked is not None and captured is not None and captured.source == locked.source, captured
    verified = cli("verify", tmp_path / "orig.lock", "--python", tmp_path / "R1" / "bin" / "python")
    assert verified.code == 0 and ".envsnap-" not in verified.out and "since removed" not in verified.out, verified.out
    with tarfile.open(tmp_path / "B.tar.gz") as tar:
        member = tar.extractfile("B/envsnap.lock")
        assert member is not None
        (tmp_path / "bundled.lock").write_bytes(member.read())
    verified = cli("verify", tmp_path / "bundled.lock", "--python", tmp_path / "R1" / "bin" / "python")
    assert verified.code == 0 and ".envsnap-" not in verified.out, verified.out
    result = cli("diff", tmp_path / "R1.lock", tmp_path / "R2.lock")
    assert result.code == 0 and "esnptgamma" not in result.out, result.out


def test_uv_from_the_bundles_requirements_is_not_known_to_be_the_bundles_wheel(
    local_index: tuple[str, Path, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``uv pip install -r requirements.txt`` in the bundle's folder installs the wheel the bundle built from its
    ``./wheels/F.whl`` line, and writes a direct_url.json naming the file with no sha256 (``archive_info`` empty):
    verify said "installed from the wheel file F, not the bundle's F", and diff read a source change, exit 1, of a
    file of that very name. Nothing records which file it was: verify and diff say it is not known to be the
    bundle's wheel (diff: unknown)."""
    uv = _uv()
    project = _project(tmp_path / "src" / "esnptgamma", "esnptgamma", "1.0")
    venv = tmp_path / "gamma"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(project)], check=True)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    assert cli("bundle", tmp_path / "orig.lock", "-o", tmp_path / "B").code == 0
    bundled = lockfile.load(tmp_path / "B" / "envsnap.lock").package("esnptgamma")
    assert bundled is not None and bundled.artifact is not None
    wheel = bundled.artifact.filename
    env = tmp_path / "env"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env)], check=True)
    install = ["pip", "install", "-q", "--no-config", "--python", str(env / "bin" / "python"), "--no-deps"]
    install += ["--no-index", "--find-links", "wheels", "--require-hashes", "-r", "requirements.txt"]
    subprocess.run([uv, *install], cwd=tmp_path / "B", check=True)
    assert cli("capture", "--python", env / "bin" / "python", "-o", tmp_path / "cap.lock").code == 0
    captured = lockfile.load(tmp_path / "cap.lock").package("esnptgamma")
    assert captured is not None and captured.source.kind == "archive" and not captured.source.archive_hash
    verified = cli("verify", tmp_path / "B" / "envsnap.lock", "--python", env / "bin" / "python")
    assert f"(installed from the wheel file {wheel} by path, no sha256 recorded: not known to be the bundle's)" in (
        verified.out
    ), verified.out
    result = cli("diff", tmp_path / "B" / "envsnap.lock", tmp_path / "cap.lock")
    assert "no sha256 recorded (uv records none for a path): not known to be the bundle's wheel" in result.out
    assert result.code == 0 and "1 change: 1 unknown" in result.out and "other fields differ" not in result.out


def test_a_venv_rebuilt_without_a_bundle_records_where_its_built_packages_come_from(
    local_index: tuple[str, Path, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``rebuild LOCK`` without ``--bundle`` builds the wheels of a lock's git and folder packages in a temporary
    bundle and installed each by its file there: direct_url.json named
    ``file:///tmp/.envsnap-bundle-XXXX/bundle/wheels/F.whl``, removed when the rebuild ended, so a capture of the
    venv could not be pinned or bundled and had lost the commit and the folder. The rebuilt venv records the lock's
    source, as pip installing it from there would: a capture of it names the same sources as the lock."""
    uv = _uv()
    folder = _project(tmp_path / "src" / "esnptgamma", "esnptgamma", "1.0")
    repo = _project(tmp_path / "repo", "esnptdelta", "2.0")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    venv = tmp_path / "orig"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    git_line = f"esnptdelta @ git+{repo.as_uri()}@{commit}"
    install = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(folder), git_line]
    subprocess.run(install, check=True)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    locked = lockfile.load(tmp_path / "orig.lock")
    allow = ("--allow-url", f"{tmp_path.as_uri()}/**")
    made = cli("rebuild", tmp_path / "orig.lock", "--target", "venv", "--dest", tmp_path / "R", *allow)
    assert made.code == 0, made
    for info in (tmp_path / "R").glob("lib/python*/site-packages/esnpt*.dist-info"):
        assert ".envsnap-" not in (info / "direct_url.json").read_text(), info
    assert cli("capture", "--python", tmp_path / "R" / "bin" / "python", "-o", tmp_path / "R.lock").code == 0
    captured = lockfile.load(tmp_path / "R.lock")
    for name in ("esnptgamma", "esnptdelta"):
        mine, theirs = locked.package(name), captured.package(name)
        assert mine is not None and theirs is not None
        assert theirs.source == mine.source, (name, theirs.source, mine.source)
    delta = captured.package("esnptdelta")
    assert delta is not None and delta.source.commit_id == commit
    # The capture pins as the lock does: its sources are there, not in a removed folder.
    pinned = cli("pin", tmp_path / "R.lock", "-o", tmp_path / "Rp.lock", *allow)
    assert pinned.code == 0 and "not pinnable" not in pinned.err, pinned
    verified = cli("verify", tmp_path / "orig.lock", "--python", tmp_path / "R" / "bin" / "python")
    assert verified.code == 0 and ".envsnap-" not in verified.out, verified.out


def test_a_venv_rebuilt_without_a_bundle_records_the_project_folder_as_the_lock_does(
    local_index: tuple[str, Path, Path], tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's own package, recorded ``file://{project}``: the rebuilt venv names the project's folder on this
    machine, which a capture in the project records as ``file://{project}`` again."""
    uv = _uv()
    work = _project(tmp_path / "work", "esnptgamma", "1.0")
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    monkeypatch.chdir(work)
    venv = tmp_path / "orig"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(work)], check=True)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    locked = lockfile.load(tmp_path / "orig.lock").package("esnptgamma")
    assert locked is not None and locked.source.url == "file://{project}", locked.source
    made = cli("rebuild", tmp_path / "orig.lock", "--target", "venv", "--dest", tmp_path / "R")
    assert made.code == 0, made
    (direct_url,) = (tmp_path / "R").glob("lib/python*/site-packages/esnptgamma-1.0.dist-info/direct_url.json")
    assert json.loads(direct_url.read_text()) == {"url": work.as_uri(), "dir_info": {}}
    # RECORD says what the file now holds: pip check, pip uninstall and a RECORD-checking tool find it whole.
    data = direct_url.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record = (direct_url.parent / "RECORD").read_text().splitlines()
    assert f"esnptgamma-1.0.dist-info/direct_url.json,sha256={digest},{len(data)}" in record, record
    assert cli("capture", "--python", tmp_path / "R" / "bin" / "python", "-o", tmp_path / "R.lock").code == 0
    captured = lockfile.load(tmp_path / "R.lock").package("esnptgamma")
    assert captured is not None and captured.source == locked.source, captured.source


def test_a_venv_rebuilt_from_a_bundle_archive_outside_the_project_does_not_name_the_bundle_as_the_project(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's rebuild of the tutorial: the lock records the author's editable project as
    ``file://{project}``, the supplement is unpacked outside any git work tree and rebuilt with ``--bundle
    supplement.tar.gz``. ``{project}`` there is the lock's folder, the unpacked bundle, which is not the project:
    direct_url.json said the project was installed from the bundle's folder (``{"dir_info": {}, "url":
    "file:///.../supplement"}``), verify said ``installed from a local directory`` of it, and a capture of the venv
    recorded the bundle folder as the project's source, which bundle then refused as no project. A label with no
    project here names no source (docs/design.md)."""
    uv = _uv()
    project = _project(tmp_path / "paper", "esnptpaper", "1.0")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    install = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-e", str(project)]
    subprocess.run(install, check=True)
    monkeypatch.chdir(project)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "envsnap.lock").code == 0
    locked = lockfile.load(tmp_path / "envsnap.lock").package("esnptpaper")
    assert locked is not None and locked.source.url == "file://{project}" and locked.source.editable
    made = cli("bundle", tmp_path / "envsnap.lock", "-o", tmp_path / "supplement.tar.gz")
    assert made.code == 0, made.err
    reviewer = tmp_path / "reviewer"
    reviewer.mkdir()
    with tarfile.open(tmp_path / "supplement.tar.gz") as tar:
        tar.extractall(reviewer, filter="data")
    monkeypatch.chdir(reviewer)
    lock = reviewer / "supplement" / "envsnap.lock"
    made = cli("rebuild", lock, "--bundle", tmp_path / "supplement.tar.gz", "--offline", "--dest", reviewer / "env")
    assert made.code == 0, made.err
    # Nor the removed folder the archive was unpacked to: no direct_url.json (the test below).
    assert not list((reviewer / "env").glob("lib/python*/site-packages/esnptpaper-1.0.dist-info/direct_url.json"))
    verified = cli("verify", lock, "--python", reviewer / "env" / "bin" / "python")
    assert verified.code == 0 and (reviewer / "supplement").as_uri() not in verified.out, verified.out
    assert "installed from a local directory" not in verified.out, verified.out


def test_a_venv_rebuilt_from_a_bundle_archive_with_no_project_here_names_no_removed_folder(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reviewer given the lock and the supplement archive, with no project here, rebuilt with ``--bundle
    supplement.tar.gz``: the project's own package (``file://{project}``, built into a wheel by the bundle) was
    installed from the folder the archive was unpacked to, and its direct_url.json kept that file's URL,
    ``file:///tmp/.envsnap-rebuild-XXXX/bundle/wheels/F.whl``, removed when the rebuild ended: ``pip freeze`` printed
    it and a capture of the venv recorded a file no one can read. No place here holds the source or the wheel once
    the rebuild ends, so the venv records none (no direct_url.json, as an install by name from a wheel folder):
    nothing it names is gone, and verify says the wheel is not known to be the bundle's (docs/design.md)."""
    uv = _uv()
    project = _project(tmp_path / "paper", "esnptpaper", "1.0")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(project)], check=True)
    monkeypatch.chdir(project)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "envsnap.lock").code == 0
    locked = lockfile.load(tmp_path / "envsnap.lock").package("esnptpaper")
    assert locked is not None and locked.source.url == "file://{project}" and not locked.source.editable
    made = cli("bundle", tmp_path / "envsnap.lock", "-o", tmp_path / "supplement.tar.gz")
    assert made.code == 0, made.err
    reviewer = tmp_path / "reviewer"
    reviewer.mkdir()
    shutil.copy(tmp_path / "envsnap.lock", reviewer / "envsnap.lock")
    monkeypatch.chdir(reviewer)
    made = cli("rebuild", "envsnap.lock", "--bundle", tmp_path / "supplement.tar.gz", "--offline", "--dest", "env")
    assert made.code == 0, made.err
    (info,) = (reviewer / "env").glob("lib/python*/site-packages/esnptpaper-1.0.dist-info")
    assert not (info / "direct_url.json").exists(), (info / "direct_url.json").read_text()
    assert "direct_url.json" not in (info / "RECORD").read_text()
    assert cli("capture", "--python", reviewer / "env" / "bin" / "python", "-o", reviewer / "R.lock").code == 0
    captured = lockfile.load(reviewer / "R.lock").package("esnptpaper")
    assert captured is not None and captured.source.kind == "index" and not captured.source.url, captured.source
    assert ".envsnap-" not in (reviewer / "R.lock").read_text()
    verified = cli("verify", "envsnap.lock", "--python", reviewer / "env" / "bin" / "python")
    assert verified.code == 0 and ".envsnap-" not in verified.out and "since removed" not in verified.out, verified.out
    assert "not known to be built" in verified.out, verified.out
    # The archive given as the lock too (`envsnap rebuild supplement.tar.gz`): the same.
    made = cli("rebuild", tmp_path / "supplement.tar.gz", "--offline", "--dest", "env2")
    assert made.code == 0, made.err
    assert not list((reviewer / "env2").glob("lib/python*/site-packages/esnptpaper-1.0.dist-info/direct_url.json"))


def test_a_capture_of_a_venv_rebuilt_from_a_bundle_archive_with_no_project_here_is_bundled_again_from_its_wheels(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer captures the venv rebuilt from the supplement archive (no project here) and bundles that lock:
    the venv had no direct_url.json for the project's wheel, so the capture recorded an index install of that
    version, which no index has, and bundle failed to pin it, naming uv's --find-links (exit 4). The venv records the
    bundle's wheel (``envsnap_bundle.json``), the capture pins it by name and sha256 (a ``rebuilt`` wheel with no
    URL), and bundle takes it from a find-links folder that holds it, or says in one line which folder to give
    (exit 2, nothing made)."""
    uv = _uv()
    project = _project(tmp_path / "paper", "esnptpaper", "1.0")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(project)], check=True)
    monkeypatch.chdir(project)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "envsnap.lock").code == 0
    assert cli("bundle", tmp_path / "envsnap.lock", "-o", tmp_path / "supplement.tar.gz").code == 0
    reviewer = tmp_path / "reviewer"
    reviewer.mkdir()
    with tarfile.open(tmp_path / "supplement.tar.gz") as tar:
        tar.extractall(reviewer, filter="data")
    bundled = lockfile.load(reviewer / "supplement" / "envsnap.lock")
    wheel = bundled.package("esnptpaper")
    assert wheel is not None and wheel.artifact is not None and wheel.artifact.rebuilt
    monkeypatch.chdir(reviewer)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    made = cli("rebuild", tmp_path / "supplement.tar.gz", "--offline", "--dest", "env")
    assert made.code == 0, made.err
    assert cli("capture", "--python", reviewer / "env" / "bin" / "python", "-o", reviewer / "R.lock").code == 0
    captured = lockfile.load(reviewer / "R.lock").package("esnptpaper")
    assert captured is not None and captured.artifact is not None, captured
    assert (captured.artifact.filename, captured.artifact.sha256) == (wheel.artifact.filename, wheel.artifact.sha256)
    assert captured.artifact.rebuilt and not captured.artifact.url and captured.source.kind == "index"
    # Nothing here holds the wheel (a download cache of the reviewer's own): one line naming what to pass.
    again = cli("bundle", "R.lock", "-o", "again.tar.gz", "--cache-dir", reviewer / "cache")
    assert again.code == 2 and len(again.err.strip().splitlines()) == 1, again.err
    assert wheel.artifact.filename in again.err and "PIP_FIND_LINKS=DIR/wheels" in again.err, again.err
    assert not (reviewer / "again.tar.gz").exists()
    # The unpacked supplement's wheels folder as find-links: bundled from there.
    monkeypatch.setenv("PIP_FIND_LINKS", str(reviewer / "supplement" / "wheels"))
    again = cli("bundle", "R.lock", "-o", "again.tar.gz", "--cache-dir", reviewer / "cache")
    assert again.code == 0, again.err
    with tarfile.open(reviewer / "again.tar.gz") as tar:
        names = tar.getnames()
    assert f"again/wheels/{wheel.artifact.filename}" in names, names
    # And round again: the venv rebuilt from that bundle names the same wheel, which a capture records as before.
    made = cli("rebuild", reviewer / "again.tar.gz", "--offline", "--dest", "env2")
    assert made.code == 0, made.err
    assert cli("capture", "--python", reviewer / "env2" / "bin" / "python", "-o", reviewer / "R2.lock").code == 0
    assert lockfile.load(reviewer / "R2.lock").package("esnptpaper") == captured


def _rebuilt_by_a_reviewer(tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The reviewer's folder: the author's project (``file://{project}``, a git work tree) bundled into
    ``supplement.tar.gz``, unpacked there, and rebuilt from the archive alone into ``env`` with no project here, so
    the venv names the bundle's wheel in ``envsnap_bundle.json``; ``R.lock`` is its capture."""
    uv = _uv()
    project = _project(tmp_path / "paper", "esnptpaper", "1.0")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(project)], check=True)
    monkeypatch.chdir(project)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "envsnap.lock").code == 0
    assert cli("bundle", tmp_path / "envsnap.lock", "-o", tmp_path / "supplement.tar.gz").code == 0
    reviewer = tmp_path / "reviewer"
    reviewer.mkdir()
    with tarfile.open(tmp_path / "supplement.tar.gz") as tar:
        tar.extractall(reviewer, filter="data")
    monkeypatch.chdir(reviewer)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    made = cli("rebuild", tmp_path / "supplement.tar.gz", "--offline", "--dest", "env")
    assert made.code == 0, made.err
    assert cli("capture", "--python", reviewer / "env" / "bin" / "python", "-o", reviewer / "R.lock").code == 0
    return reviewer


def test_diff_of_the_bundles_lock_and_the_capture_of_a_venv_rebuilt_from_its_archive_names_the_bundles_wheel(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``diff supplement/envsnap.lock R.lock``: the bundle's lock pins the wheel it built from the project
    (``file://{project}``), the reviewer's capture the same wheel (file name and sha256) as ``envsnap_bundle.json``
    names it. diff said ``file://{project} -> index (source, the same files)``, a change of source; it is the
    bundle's wheel of that source (provenance, no drift), in one line, and other files installed still differ."""
    reviewer = _rebuilt_by_a_reviewer(tmp_path, cli, monkeypatch)
    lock = reviewer / "supplement" / "envsnap.lock"
    for a, b in ((lock, "R.lock"), ("R.lock", lock)):
        shown = cli("diff", a, b)
        (line,) = [line for line in shown.out.splitlines() if "esnptpaper" in line]
        assert "(source, the same files)" not in line, shown.out
        assert "the bundle's wheel built from that source: envsnap_bundle.json names that file, the same sha256" in (
            line
        ), shown.out
        report = json.loads(cli("diff", a, b, "--json").out)
        (entry,) = [c for c in report["changes"] if c["subject"] == "esnptpaper"]
        assert entry["change"] == "provenance", entry
    # Other files installed than the lock's (a module edited in the venv): still a change of its files.
    (site,) = (reviewer / "env").glob("lib/python*/site-packages")
    (info,) = site.glob("esnptpaper-1.0.dist-info")
    record = info / "RECORD"
    record.write_text(record.read_text().replace("esnptpaper/__init__.py,sha256=", "esnptpaper/__init__.py,sha256=x"))
    assert cli("capture", "--python", reviewer / "env" / "bin" / "python", "-o", reviewer / "R2.lock").code == 0
    shown = cli("diff", lock, "R2.lock")
    (line,) = [line for line in shown.out.splitlines() if "esnptpaper" in line]
    assert "other files (RECORD digest)" in line, shown.out


def test_verify_of_the_bundles_lock_takes_the_wheel_envsnap_bundle_json_names_by_its_sha256(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``verify supplement/envsnap.lock --python env/bin/python``: the venv rebuilt from the archive with no project
    here names the bundle's wheel in ``envsnap_bundle.json``, whose sha256 is the one the lock pins. verify said
    ``installed from an index or a find-links folder (no direct_url.json): not known to be built from it``; it says
    the bundle's wheel was installed (the same sha256), and that another wheel named there is not the bundle's."""
    reviewer = _rebuilt_by_a_reviewer(tmp_path, cli, monkeypatch)
    lock = reviewer / "supplement" / "envsnap.lock"
    locked = lockfile.load(lock).package("esnptpaper")
    assert locked is not None and locked.artifact is not None
    verified = cli("verify", lock, "--python", reviewer / "env" / "bin" / "python")
    assert verified.code == 0 and "not known to be built" not in verified.out, verified.out
    (line,) = [line for line in verified.out.splitlines() if "esnptpaper" in line]
    assert f"installed from the bundle's wheel {locked.artifact.filename} built from the locked source" in line, line
    assert "envsnap_bundle.json" in line and "the same sha256" in line, line
    # Another wheel of that name named there (another sha256): not the bundle's, said so.
    (named,) = (reviewer / "env").glob(f"lib/python*/site-packages/esnptpaper-1.0.dist-info/{BUNDLE_WHEEL_FILE}")
    other = "0" * 64
    named.write_text(json.dumps({"filename": locked.artifact.filename, "sha256": other}) + "\n")
    verified = cli("verify", lock, "--python", reviewer / "env" / "bin" / "python")
    (line,) = [line for line in verified.out.splitlines() if "esnptpaper" in line]
    assert f"not the bundle's {locked.artifact.filename}" in line and other[:12] in line, line
    assert f"installed from the bundle's wheel {locked.artifact.filename} built" not in line, line


def test_the_authors_lock_against_the_capture_of_its_rebuild_says_what_is_known_of_the_files(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """The author's lock written before bundling records the local project by its folder and pins no file of it; the
    capture of the venv ``rebuild --bundle`` made records the bundle's wheel by path. ``diff`` of the pair read
    ``esnptgamma: file:///.../src/esnptgamma -> file:///.../B/wheels/esnptgamma-1.0-...whl (source)``, the same line
    whether the installed files were the same, other, or not comparable at all (a lock of an envsnap that recorded
    no RECORD digest). It says the wheel is not known to be built from that folder, and what the RECORD digests say
    of the files: the same, other, or not compared. A change of source either way: exit 1."""
    uv = _uv()
    project = _project(tmp_path / "src" / "esnptgamma", "esnptgamma", "1.0")
    venv = tmp_path / "gamma"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(project)], check=True)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    assert cli("bundle", tmp_path / "orig.lock", "-o", tmp_path / "B").code == 0
    made = cli("rebuild", tmp_path / "B", "--offline", "--dest", tmp_path / "R")
    assert made.code == 0, made
    assert cli("capture", "--python", tmp_path / "R" / "bin" / "python", "-o", tmp_path / "cap.lock").code == 0
    orig = lockfile.load(tmp_path / "orig.lock")
    # The lock of an envsnap that recorded no RECORD digest, and one whose project was built with other files.
    for name, digest in (("old.lock", ""), ("other.lock", "sha256:" + "0" * 64)):
        packages = tuple(dataclasses.replace(p, record_digest=digest) for p in orig.python.packages)
        changed = dataclasses.replace(orig, python=dataclasses.replace(orig.python, packages=packages))
        lockfile.dump(lockfile.seal(changed), tmp_path / name)
    not_built = "B installs a wheel by its file in place of that source, not known to be built from it (A pins no file)"
    for lock, files in (
        ("orig.lock", "the same files (RECORD digest)"),
        ("old.lock", "files not compared: A records no RECORD digest"),
        ("other.lock", "other files (RECORD digest)"),
    ):
        result = cli("diff", tmp_path / lock, tmp_path / "cap.lock")
        (line,) = [line for line in result.out.splitlines() if "esnptgamma:" in line]
        assert result.code == 1, result
        assert line.endswith(f"(source, {not_built}; {files})"), line
        assert ("the same files" in line) == (lock == "orig.lock"), line


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_wheel_installed_by_its_path_is_recorded_from_that_path_in_the_rebuilt_venv(
    installer: str, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip install ./dist/x.whl`` (pip alike) is captured with the wheel's path as its source, and bundle pins that
    very file (its sha256, its files proven by the RECORD digest). ``rebuild`` installed it by name from the bundle's
    wheels folder, which leaves no direct_url.json: a capture of the rebuilt venv said "index", and ``diff`` of the
    author's lock against it exited 1 for that alone. The rebuilt venv records the locked source, as installing that
    file writes it: the capture names the same path, diff exits 0 and verify has nothing to say of its source."""
    uv = _uv()
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = _project(tmp_path / "src" / "esnptwhl", "esnptwhl", "1.0")
    build = [uv, "build", "-q", "--wheel", "--out-dir", str(tmp_path / "dist"), str(project)]
    res = subprocess.run(build, capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot build test packages (the build backend comes from the index): {res.stderr[-200:]}")
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    venv = tmp_path / "venv"
    if installer == "uv":
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheel)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps"]
        subprocess.run([*pip, "--no-index", str(wheel)], check=True)
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    locked = lockfile.load(tmp_path / "orig.lock").package("esnptwhl")
    assert locked is not None and locked.source.kind == "archive" and locked.source.url.endswith(wheel.name)
    for bundle in (tmp_path / "B", tmp_path / "B.tar.gz"):
        made = cli("bundle", tmp_path / "orig.lock", "-o", bundle, "--allow-url", f"{tmp_path / 'dist'}/*")
        assert made.code == 0, made.err
        dest = tmp_path / f"R-{bundle.name}"
        made = cli("rebuild", bundle, "--offline", "--dest", dest)
        assert made.code == 0, made.err
        assert "-> index" not in made.out, made.out
        assert cli("capture", "--python", dest / "bin" / "python", "-o", tmp_path / "cap.lock").code == 0
        captured = lockfile.load(tmp_path / "cap.lock").package("esnptwhl")
        assert captured is not None and captured.source == locked.source, captured
        shown = cli("diff", tmp_path / "orig.lock", tmp_path / "cap.lock")  # uv installs what pip did: provenance
        assert shown.code == 0 and "source" not in shown.out and "-> index" not in shown.out, shown.out
        shown = cli("diff", tmp_path / "B" / "envsnap.lock", tmp_path / "cap.lock")  # a capture pins no file
        assert shown.code == 0 and "source" not in shown.out, shown.out
        verified = cli("verify", tmp_path / "orig.lock", "--python", dest / "bin" / "python")
        assert verified.code == 0 and "esnptwhl" not in verified.out, verified.out


_STAMPED = """\
import os
import uuid

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if self.target_name != "wheel":  # an sdist's: its wheel stamps its own
            return
        path = os.path.join(self.root, "stamp.txt")
        with open(path, "w") as f:
            f.write(uuid.uuid4().hex)
        build_data["force_include"][path] = "{name}/stamp.txt"
"""


def _stamped(root: Path, name: str) -> Path:
    """A project whose every wheel build holds another stamp: a build that is not reproducible."""
    _project(root, name, "1.0")
    (root / "pyproject.toml").write_text(
        PYPROJECT.format(name=name, version="1.0") + "\n[tool.hatch.build.hooks.custom]\n"
    )
    (root / "hatch_build.py").write_text(_STAMPED.replace("{name}", name))
    (root / ".gitignore").write_text("stamp.txt\n")
    return root


def _bundled(tmp_path: Path, cli: Callable[..., Any], name: str, allow: list[str]) -> tuple[Any, Any, Path]:
    """orig.lock bundled into B: the author's entry, the bundle's, and the bundle's wheel."""
    locked = lockfile.load(tmp_path / "orig.lock").package(name)
    made = cli("bundle", tmp_path / "orig.lock", "-o", tmp_path / "B", *allow)
    assert made.code == 0, made.err
    bundled = lockfile.load(tmp_path / "B" / "envsnap.lock").package(name)
    assert locked is not None and bundled is not None and bundled.artifact is not None and bundled.artifact.rebuilt
    return locked, bundled, tmp_path / "B" / "wheels" / bundled.artifact.filename


@pytest.mark.parametrize("how", ["folder", "edited folder", "editable", "git commit", "sdist by url", "index sdist"])
def test_the_bundles_lock_records_the_files_of_the_wheel_it_built(
    how: str, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bundle built a wheel from a folder, an editable checkout, a git commit or an sdist and its lock said nothing
    of that wheel's files: it kept the author's RECORD digest alone, so ``diff orig.lock B/envsnap.lock`` said ``A
    records no pinned file``, exit 0, where the wheel installs other files (a folder edited since its install, a
    build that stamps each wheel), and a venv rebuilt from the bundle verified against the author's files (``built
    from source: the build is not reproducible``) though it holds the bundle's wheel exactly. The bundle's lock keeps
    the author's ``record_digest`` (the lock's identity: a run recorded with it takes the bundle's) and records the
    built wheel's in ``artifact.built_record_digest``: diff says other files (exit 1) where they differ, that an
    editable install's hook is no file to compare, and nothing new where they are the same; a rebuild of the bundle
    verifies identical; the author's lock with that bundle still verifies against the author's files."""
    from envsnap.probes._pyprobe import wheel_record_digest

    uv = _uv()
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    name = "esnptbuilt"
    src = tmp_path / "src" / name
    if how in ("folder", "edited folder", "editable"):
        _project(src, name, "1.0")
    else:
        _stamped(src, name)
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    install = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    allow: list[str] = []
    if how in ("folder", "edited folder", "editable"):
        subprocess.run([*install, *(["-e"] if how == "editable" else []), str(src)], check=True)
    elif how == "git commit":
        if shutil.which("git") is None:
            pytest.skip("git is not installed")
        git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
        commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout
        subprocess.run([*install, f"{name} @ git+{src.as_uri()}@{commit.strip()}"], check=True)
        allow = ["--allow-url", f"{src.as_uri()}*"]
    else:
        res = subprocess.run(
            [uv, "build", "-q", "--sdist", "--out-dir", str(tmp_path / "dist"), str(src)],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            pytest.skip(f"cannot build the test sdist (the build backend comes from the index): {res.stderr[-200:]}")
        (sdist,) = (tmp_path / "dist").glob("*.tar.gz")
        if how == "sdist by url":
            subprocess.run([*install, f"{name} @ {sdist.as_uri()}"], check=True)
            allow = ["--allow-url", f"{sdist.parent.as_uri()}/*"]
        else:
            index = _index(tmp_path / "index", [sdist])
            monkeypatch.setenv("PIP_INDEX_URL", index)
            monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
            monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
            subprocess.run(
                [*install, "--index-url", index, "--extra-index-url", "https://pypi.org/simple", name], check=True
            )
    assert cli("capture", "--python", venv / "bin" / "python", "-o", tmp_path / "orig.lock").code == 0
    if how == "edited folder":  # since its install: the wheel bundle builds of the folder holds other files
        (src / name / "__init__.py").write_text("NAME = 'edited since it was installed'\n")
    locked, bundled, wheel = _bundled(tmp_path, cli, name, allow)
    assert bundled.record_digest == locked.record_digest  # the author's, as the lock's identity keeps it
    built = wheel_record_digest(str(wheel))
    same = how == "folder"
    assert (built == locked.record_digest) == same, how
    shown = cli("diff", tmp_path / "orig.lock", tmp_path / "B" / "envsnap.lock")
    (line,) = [line for line in shown.out.splitlines() if name in line]
    if same:
        assert shown.code == 0 and "A records no pinned file" in line and "files" not in line, shown.out
    elif how == "editable":
        assert shown.code == 0 and "files not compared: A installs it editable" in line, shown.out
    else:
        assert shown.code == 1 and "other files (RECORD digest)" in line, shown.out
    assert bundled.artifact.built_record_digest == built
    made = cli("rebuild", tmp_path / "B", "--offline", "--dest", tmp_path / "R")
    assert made.code == 0 and "identical" in made.out, made.out + made.err
    assert not [line for line in made.out.splitlines() if "record_digest" in line], made.out
    verified = cli("verify", tmp_path / "B" / "envsnap.lock", "--python", tmp_path / "R" / "bin" / "python")
    assert verified.code == 0 and "record_digest" not in verified.out, verified.out
    # The author's lock with that bundle: taken (not "made from another lock"), its own files verified as before.
    made = cli("rebuild", tmp_path / "orig.lock", "--bundle", tmp_path / "B", "--offline", "--dest", tmp_path / "R2")
    assert made.code == 0 and "identical" in made.out, made.out + made.err
    assert ("record_digest" in made.out) == (not same), made.out
