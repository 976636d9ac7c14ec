"""The proof: capture a real venv, pin, bundle, rebuild it offline, and verify it is the same environment.

The source venv has a dozen packages with compiled wheels from the package index, one VCS install from a
local git repository and one editable project. Everything expensive is built once per session.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle, BundleOptions, make_bundle
from envsnap.artifacts.pin import PinResult, pin, read_pip_config
from envsnap.compare.verify import MISMATCH, verify
from envsnap.errors import BadBundleError, BundleError
from envsnap.model import Snapshot
from envsnap.probes._pyprobe import wheel_record_digest
from envsnap.probes.capture import capture
from envsnap.rebuild import RebuildResult, rebuild

COMPILED = [
    "numpy",
    "markupsafe",
    "pyyaml",
    "charset-normalizer",
    "msgpack",
    "psutil",
    "regex",
    "frozenlist",
    "multidict",
    "simplejson",
    "wrapt",
    "cffi",
]

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
requires-python = ">=3.8"

[project.scripts]
{name}-hello = "{module}:main"
"""


def _git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _project(root: Path, name: str, version: str) -> Path:
    module = name.replace("-", "_")
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text(f'def main():\n    print("hello from {name}")\n')
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name, version=version, module=module))
    return root


def _index_reachable() -> bool:
    try:
        with urllib.request.urlopen(read_pip_config().index_url.rstrip("/") + "/pip/", timeout=10):
            return True
    except OSError:
        return False


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed (pip install -e '.[test]' installs it)")
    return found


@dataclass(frozen=True)
class Source:
    python: Path
    lock_path: Path
    lock: Snapshot
    pinned: PinResult
    cache: Path
    vcs_repo: Path
    editable: Path


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    if not _index_reachable():
        pytest.skip("the package index is not reachable: the proof test installs real wheels from it")
    uv = _uv()
    root = tmp_path_factory.mktemp("source")
    repo = _project(root / "vcsrepo", "vcspkg", "1.2.0")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-q", "-m", "first", cwd=repo)
    editable = _project(root / "editproj", "editproj", "0.3.0")
    venv = root / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(python),
            *COMPILED,
            f"vcspkg @ git+{repo.as_uri()}",
            "-e",
            str(editable),
        ],
        check=True,
    )
    lock = capture(str(python))
    cache = tmp_path_factory.mktemp("cache")
    pinned = pin(lock, read_pip_config(), cache_dir=cache)
    lock_path = lockfile.dump(pinned.snapshot, root / "envsnap.lock")
    return Source(python, lock_path, lockfile.load(lock_path), pinned, cache, repo, editable)


@pytest.fixture(scope="session")
def bundle_dir(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundles") / "bundle"
    # The VCS package is cloned from a local (file://) repository: a URL a lock may use only when allowed.
    make_bundle(source.lock, out, BundleOptions(cache_dir=source.cache, allow_urls=(source.vcs_repo.as_uri(),)))
    return out


@pytest.fixture(scope="session")
def rebuilt(source: Source, bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RebuildResult:
    dest = tmp_path_factory.mktemp("rebuilt") / "env"
    result = rebuild(source.lock_path, target="venv", dest=dest, bundle=bundle_dir, offline=True)
    assert isinstance(result, RebuildResult)
    return result


@pytest.fixture
def bundle_copy(bundle_dir: Path, tmp_path: Path) -> Callable[[], Path]:
    def make() -> Path:
        copy = tmp_path / "bundle-copy"
        shutil.copytree(bundle_dir, copy)
        return copy

    return make


# ------------------------------------------------------------------------------------------------ pin


def test_every_index_package_is_pinned_and_proven(source: Source) -> None:
    index_pkgs = [p for p in source.lock.python.packages if p.source.kind == "index"]
    assert {"numpy", "cffi", "pycparser", "markupsafe"} <= {p.name for p in index_pkgs}
    for pkg in index_pkgs:
        art = pkg.artifact
        assert art is not None, f"{pkg.name} not pinned"
        assert art.filename.endswith(".whl") and art.sha256 and art.size > 0 and art.url
        cached = next(source.cache.rglob(art.filename))
        assert wheel_record_digest(str(cached)) == pkg.record_digest


def test_vcs_is_kept_and_editable_is_listed_with_its_reason(source: Source) -> None:
    outcomes = {o.name: o for o in source.pinned.outcomes}
    vcs = source.lock.package("vcspkg")
    assert vcs is not None and vcs.source.kind == "vcs" and len(vcs.source.commit_id) == 40
    assert outcomes["vcspkg"].status == "kept" and vcs.source.commit_id in outcomes["vcspkg"].reason
    # The project is on this machine: bundle and rebuild build it (no "cannot be pinned" warning).
    assert outcomes["editproj"].status == "kept"
    edit = source.lock.package("editproj")
    assert edit is not None  # named as the lock records it, not by its path on this machine
    assert outcomes["editproj"].reason == f"local project {edit.source.url}: bundle and rebuild build it into a wheel"
    assert not any(w.startswith("pin: editproj") for w in source.lock.envsnap.warnings)


# --------------------------------------------------------------------------------------------- bundle


def test_bundle_layout_hashes_and_rebuilt_flags(source: Source, bundle_dir: Path) -> None:
    bundle = Bundle(bundle_dir)
    bundle.verify_sums()
    assert (bundle_dir / "wheels").is_dir()
    for sub in ("conda", "images"):  # a pip-only bundle without a saved image has neither (only what it fills)
        assert not (bundle_dir / sub).exists()
    readme = (bundle_dir / "README.md").read_text()
    assert "pip install --no-deps --no-index" in readme and bundle.lock.envsnap.content_digest in readme
    requirements = (bundle_dir / "requirements.txt").read_text()
    for pkg in bundle.lock.python.packages:
        assert pkg.artifact is not None
        wheel = bundle.check_wheel(pkg)
        # A wheel the bundle built from a local project or a commit by its file (pip records it), the rest by name.
        by_file = pkg.artifact.rebuilt and pkg.source.kind != "index"
        line = f"./wheels/{wheel.name}" if by_file else f"{pkg.name}=={pkg.version}"
        assert f"{line} --hash=sha256:{pkg.artifact.sha256}" in requirements.splitlines()
        assert pkg.artifact.rebuilt == (pkg.name in ("vcspkg", "editproj")), pkg.name
        original = source.lock.package(pkg.name)
        assert original is not None
        if not pkg.artifact.rebuilt:
            assert pkg.artifact == original.artifact
        assert wheel.name == pkg.artifact.filename
    vcs = bundle.lock.package("vcspkg")
    assert vcs is not None and vcs.artifact is not None
    assert vcs.artifact.url == f"git+{source.vcs_repo.as_uri()}@{vcs.source.commit_id}"


def test_rerun_fetches_nothing(source: Source, bundle_copy: Callable[[], Path]) -> None:
    copy = bundle_copy()
    result = make_bundle(source.lock, copy, BundleOptions(cache_dir=source.cache, offline=True))
    assert {e.action for e in result.entries} == {"present"}
    Bundle(copy).verify_sums()


def test_rerun_completes_a_bundle_from_the_cache(source: Source, bundle_copy: Callable[[], Path]) -> None:
    copy = bundle_copy()
    bundle = Bundle(copy)
    removed = bundle.wheel_for("msgpack")
    removed.unlink()
    result = make_bundle(source.lock, copy, BundleOptions(cache_dir=source.cache, offline=True))
    actions = {e.name: e.action for e in result.entries}
    assert actions["msgpack"] == "from the download cache" and actions["numpy"] == "present"
    assert removed.is_file()
    Bundle(copy).verify_sums()


def test_archive_bundle_round_trip(source: Source, bundle_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar.gz"
    make_bundle(Bundle(bundle_dir).lock, archive, BundleOptions(cache_dir=source.cache, offline=True))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    # One top-level folder, named after the archive (tar -xf does not spill the bundle into the working dir).
    assert "b/envsnap.lock" in names and "b/SHA256SUMS" in names and any(n.startswith("b/wheels/") for n in names)
    plan = rebuild(source.lock_path, target="venv", dest=tmp_path / "env", bundle=archive, offline=True, dry_run=True)
    assert not isinstance(plan, RebuildResult)
    assert len([i for i in plan.items if i.layer == "python"]) == len(source.lock.python.packages)


def test_tampered_file_fails_verify_sums(bundle_copy: Callable[[], Path]) -> None:
    copy = bundle_copy()
    (copy / "README.md").write_text("changed")
    with pytest.raises(BundleError, match=r"README\.md: hash mismatch"):
        Bundle(copy).verify_sums()


# -------------------------------------------------------------------------------------------- rebuild


def test_offline_rebuild_is_identical_but_for_the_editable_project(source: Source, rebuilt: RebuildResult) -> None:
    report = rebuilt.verify
    assert report is not None
    # The editable project is installed from the bundle's wheel, a regular install: a warning on its source (its
    # other RECORD, which lists the modules rather than the editable hook, is info); every other package is the
    # locked one.
    assert report.identical and not report.by_severity(MISMATCH), [d.describe() for d in report.differences]
    assert ("editproj", "source") in [(d.subject, d.what) for d in report.by_severity("warning")]
    assert report.packages_checked == len(source.lock.python.packages)
    digests = [(d.subject, d.severity) for d in report.differences if d.what == "record_digest"]
    assert digests == [("editproj", "info")], digests
    assert any("compatibility check" in note for note in rebuilt.plan.notes)


def test_record_digests_match_the_lock(source: Source, rebuilt: RebuildResult) -> None:
    after = capture(str(Path(rebuilt.dest) / "bin" / "python"))
    for pkg in source.lock.python.packages:
        now = after.package(pkg.name)
        assert now is not None and now.version == pkg.version
        if pkg.name != "editproj":
            assert now.record_digest == pkg.record_digest, pkg.name


def test_rebuilt_env_works_and_was_moved_into_place(rebuilt: RebuildResult) -> None:
    dest = Path(rebuilt.dest)
    out = subprocess.run(
        [str(dest / "bin" / "python"), "-c", "import numpy, yaml, vcspkg, editproj; print(numpy.__file__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.startswith(str(dest))
    hello = subprocess.run([str(dest / "bin" / "vcspkg-hello")], check=True, capture_output=True, text=True)
    assert hello.stdout.strip() == "hello from vcspkg"
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")]


def test_verify_api_on_the_source_env(source: Source) -> None:
    report = verify(source.lock_path, str(source.python))
    assert report.identical and not report.differences


def test_tampered_wheel_fails_with_a_hash_error_naming_the_file(
    source: Source, bundle_copy: Callable[[], Path], tmp_path: Path
) -> None:
    copy = bundle_copy()
    wheel = Bundle(copy).wheel_for("pyyaml")
    with open(wheel, "ab") as handle:
        handle.write(b"\0")
    dest = tmp_path / "env"
    with pytest.raises(BadBundleError, match=rf"{wheel.name}: hash mismatch"):
        rebuild(source.lock_path, target="venv", dest=dest, bundle=copy, offline=True)
    assert not dest.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".env")]


def test_missing_wheel_offline_fails_clearly(
    source: Source, bundle_copy: Callable[[], Path], tmp_path: Path, cli: Callable[..., object]
) -> None:
    copy = bundle_copy()
    wheel = Bundle(copy).wheel_for("markupsafe")
    wheel.unlink()
    dest = tmp_path / "env"
    result = cli("rebuild", source.lock_path, "--bundle", copy, "--offline", "--dest", dest)
    assert result.code == 2  # type: ignore[attr-defined]  # the bundle fails its SHA256SUMS: bad input
    err = result.err  # type: ignore[attr-defined]
    # A listed file that is gone: SHA256SUMS is checked before anything else is read.
    assert wheel.name in err and "listed in SHA256SUMS but missing" in err
    assert "Traceback" not in err and not dest.exists()


def test_pip_fallback_rebuild(
    source: Source, bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVSNAP_NO_UV", "1")
    result = rebuild(source.lock_path, target="venv", dest=tmp_path / "env", bundle=bundle_dir, offline=True)
    assert isinstance(result, RebuildResult) and result.plan.details["installer"] == "pip"
    assert result.verify is not None and result.verify.identical


def test_cli_dry_run_prints_the_plan(
    source: Source, bundle_dir: Path, tmp_path: Path, cli: Callable[..., object]
) -> None:
    result = cli(
        "rebuild",
        source.lock_path,
        "--bundle",
        bundle_dir,
        "--offline",
        "--dest",
        tmp_path / "e",
        "--dry-run",
    )
    out = result.out  # type: ignore[attr-defined]
    assert result.code == 0  # type: ignore[attr-defined]
    assert out.startswith("rebuild plan: venv -> ") and "numpy" in out and "sha256:" in out
    assert "rebuilt from git+" in out and not (tmp_path / "e").exists()


def test_cli_verify_json_and_exit_codes(
    source: Source, rebuilt: RebuildResult, tmp_path: Path, cli: Callable[..., object]
) -> None:
    import json

    ok = cli("verify", source.lock_path, "--python", Path(rebuilt.dest) / "bin" / "python", "--json")
    assert ok.code == 0 and json.loads(ok.out)["identical"] is True  # type: ignore[attr-defined]
    drifted = tmp_path / "drifted"
    shutil.copytree(Path(rebuilt.dest).parent / Path(rebuilt.dest).name, drifted, symlinks=True)
    site = next(drifted.glob("lib/python*/site-packages"))
    shutil.rmtree(next(site.glob("msgpack-*.dist-info")))
    bad = cli("verify", source.lock_path, "--python", drifted / "bin" / "python")
    assert bad.code == 3 and "msgpack" in bad.out and "not installed" in bad.out  # type: ignore[attr-defined]
