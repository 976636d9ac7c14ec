"""Imports of the lock files uv itself writes (issue 12.3): every hash and every wheel is kept as a candidate,
and ``pin`` picks the file that fits the target from them.

The files under fixtures/uv were written by uv (see its README.md); the ``integration`` tests run uv again
against the package index and pin what it writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testutil import count_tags_made

from envsnap import importers, lockfile
from envsnap.artifacts.bundle import _check_built
from envsnap.artifacts.pin import IndexConfig, best_wheel, pin, target_tags
from envsnap.errors import EnvsnapError
from envsnap.model import Platform, PythonPackage, Source

FIXTURES = Path(__file__).parent / "fixtures" / "uv"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "artifacts"))
from test_pin import make_wheel, pep503_index  # noqa: E402


def test_uv_compile_generate_hashes_keeps_every_hash() -> None:
    snap = importers.read_file(FIXTURES / "requirements-hashes.txt")
    markupsafe, six = snap.package("markupsafe"), snap.package("six")
    assert markupsafe is not None and six is not None
    text = (FIXTURES / "requirements-hashes.txt").read_text()
    assert len(markupsafe.candidates) == text.split("six==")[0].count("--hash=sha256:") > 40
    assert {c.sha256 for c in six.candidates} == {
        "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
        "ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81",
    }
    assert six.artifact is None and six.version == "1.17.0"
    # A lock holding them loads back (the candidates are checked like every field) and stays byte-stable.
    text = lockfile.dumps(snap)
    assert lockfile.dumps(lockfile.loads(text)) == text
    bad = text.replace(six.candidates[0].sha256, "../../etc/passwd", 1)
    with pytest.raises(lockfile.LockfileError, match=r"python.packages\[\d\].candidates\[0\].sha256: "):
        lockfile.loads(bad, check_digest=False)


def test_uv_export_pylock_keeps_every_wheel_and_the_project(tmp_path: Path) -> None:
    # Read beside its pyproject.toml outside any git work tree: that folder is the project ({project}).
    shutil.copy(FIXTURES / "pylock.export.toml", tmp_path)
    snap = importers.read_file(tmp_path / "pylock.export.toml")
    markupsafe = snap.package("markupsafe")
    assert markupsafe is not None and markupsafe.artifact is None
    wheels = [c.filename for c in markupsafe.candidates if c.filename.endswith(".whl")]
    assert len(wheels) > 20 and "markupsafe-3.0.2.tar.gz" in [c.filename for c in markupsafe.candidates]
    assert all(c.url.startswith("https://") and len(c.sha256) == 64 for c in markupsafe.candidates)
    # The project itself: a directory entry without a version is a local project, not a crash.
    project = snap.package("tinyproj")
    assert project is not None and project.version == ""
    assert project.source == Source(kind="directory", url="file://{project}", editable=True)
    chosen, why = best_wheel([c.filename for c in markupsafe.candidates], target_tags("3.11.7"))
    if sys.platform == "linux" and sys.version_info[:2] == (3, 11):
        assert chosen is not None and "cp311-cp311-manylinux" in chosen, why


def test_uv_compile_pylock_single_wheel_is_the_artifact() -> None:
    snap = importers.read_file(FIXTURES / "pylock.compile.toml")
    six = snap.package("six")
    assert six is not None and six.artifact is not None
    assert six.artifact.filename == "six-1.17.0-py2.py3-none-any.whl"


def test_the_wheel_a_pylock_installs_names_its_tags_as_the_other_imports_do(tmp_path: Path) -> None:
    """``uv pip compile --format pylock.toml`` names the one wheel each package installs; its import recorded no
    ``wheel_tags`` for it (the requirements and conda imports take them from the wheel's name), so verify compared no
    tags and a wheel of another build passed. An sdist alone, or several wheels (pin picks one), still name none."""
    from envsnap.compare.verify import compare

    snap = importers.read_file(FIXTURES / "pylock.compile.toml")
    six, markupsafe = snap.package("six"), snap.package("markupsafe")
    assert six is not None and markupsafe is not None and markupsafe.artifact is not None
    assert six.wheel_tags == ("py2-none-any", "py3-none-any")
    assert markupsafe.wheel_tags == ("cp311-cp311-manylinux2014_x86_64", "cp311-cp311-manylinux_2_17_x86_64")
    other = dataclasses.replace(markupsafe, wheel_tags=("cp312-cp312-manylinux_2_17_x86_64",))
    now = dataclasses.replace(snap, python=dataclasses.replace(snap.python, packages=(other, six)))
    assert [(d.subject, d.what) for d in compare(snap, now).differences if d.area == "python"] == [
        ("markupsafe", "wheel_tags")
    ]

    # An archive by URL names its wheel too; an sdist alone and several wheels do not.
    def file(url: str, digit: str) -> str:
        return f'{{ url = "https://files.example/{url}", hashes = {{ sha256 = "{digit * 64}" }} }}'

    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n'
        f'[[packages]]\nname = "tool"\nversion = "1.0"\narchive = {file("w/tool-1.0-py3-none-any.whl", "a")}\n'
        f'[[packages]]\nname = "src"\nversion = "1.0"\nsdist = {file("s/src-1.0.tar.gz", "b")}\n'
        '[[packages]]\nname = "multi"\nversion = "1.0"\nwheels = [\n'
        f"  {file('m/multi-1.0-cp311-cp311-linux_x86_64.whl', 'c')},\n"
        f"  {file('m/multi-1.0-cp312-cp312-linux_x86_64.whl', 'd')},\n]\n"
    )
    tags = {p.name: p.wheel_tags for p in importers.read_file(tmp_path / "pylock.toml").python.packages}
    assert tags == {"multi": (), "src": (), "tool": ("py3-none-any",)}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pin_picks_the_candidate_for_the_target(tmp_path: Path) -> None:
    here = make_wheel(tmp_path / "w", "multi", "2.0", tag="py3-none-any")
    other = make_wheel(tmp_path / "w", "multi", "2.0", tag="cp311-cp311-win_amd64", body="VALUE = 2\n")
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(f'''lock-version = "1.0"
created-by = "uv"
[[packages]]
name = "multi"
version = "2.0"
wheels = [
  {{ url = "{other.as_uri()}", hashes = {{ sha256 = "{_sha(other)}" }} }},
  {{ url = "{here.as_uri()}", hashes = {{ sha256 = "{_sha(here)}" }} }},
]
''')
    snap = importers.read_file(pylock)
    # The pylock names its wheels by file:// URL: a lock may send envsnap there only when the user allows it.
    result = pin(snap, IndexConfig(no_index=True), cache_dir=tmp_path / "cache", allow_urls=(tmp_path.as_uri() + "/*",))
    art = result.snapshot.package("multi").artifact  # type: ignore[union-attr]
    assert art is not None and art.filename == here.name and art.sha256 == _sha(here)
    assert result.snapshot.package("multi").candidates == snap.package("multi").candidates  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("environment", "wanted"),
    [
        ("sys_platform == 'linux' and platform_machine == 'aarch64'", "manylinux_2_17_aarch64"),
        ("sys_platform == 'darwin' and platform_machine == 'arm64'", "macosx_11_0_arm64"),
        ("sys_platform == 'linux' and platform_machine == 'x86_64'", "manylinux_2_17_x86_64"),
    ],
)
def test_pin_picks_the_candidate_for_the_locks_platform_not_this_hosts(
    tmp_path: Path, environment: str, wanted: str
) -> None:
    # A pylock for an aarch64 Linux (or a Mac) pinned on an x86_64 host: its wheel is the lock's machine's.
    tags = ("manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "macosx_11_0_arm64")
    wheels = [make_wheel(tmp_path / "w", "multi", "2.0", tag=f"cp311-cp311-{t}", body=f"T = {t!r}\n") for t in tags]
    listed = ",\n".join(f'  {{ url = "{w.as_uri()}", hashes = {{ sha256 = "{_sha(w)}" }} }}' for w in wheels)
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(f"""lock-version = "1.0"
created-by = "uv"
environments = ["{environment}"]
requires-python = "==3.11.*"
[[packages]]
name = "multi"
version = "2.0"
wheels = [
{listed},
]
""")
    snap = importers.read_file(pylock)
    result = pin(snap, IndexConfig(no_index=True), cache_dir=tmp_path / "cache", allow_urls=(tmp_path.as_uri() + "/*",))
    art = result.snapshot.package("multi").artifact  # type: ignore[union-attr]
    assert art is not None and art.filename == f"multi-2.0-cp311-cp311-{wanted}.whl", result.outcomes


def test_target_tags_are_the_locks_platforms() -> None:
    aarch64 = target_tags("3.11.7", "cpython", Platform("Linux", "aarch64", libc="glibc", libc_version="2.35"))
    assert aarch64[0] == "cp311-cp311-manylinux_2_35_aarch64" and not any("x86_64" in t for t in aarch64)
    assert "cp311-cp311-manylinux2014_aarch64" in aarch64 and "cp311-cp311-manylinux_2_36_aarch64" not in aarch64
    mac = target_tags("3.11.7", "cpython", Platform("Darwin", "arm64", os_version="14.5"))
    assert mac[0] == "cp311-cp311-macosx_14_0_arm64" and "cp311-cp311-macosx_15_0_arm64" not in mac
    assert target_tags("3.12", "cpython", Platform("Windows", "AMD64"))[0] == "cp312-cp312-win_amd64"
    musl = target_tags("3.11", "cpython", Platform("Linux", "x86_64", libc="musl", libc_version="1.2.5"))
    assert musl[0] == "cp311-cp311-musllinux_1_2_x86_64" and not any("manylinux" in t for t in musl)
    # A lock naming no platform (a requirements import) keeps this host's tags.
    assert target_tags("3.11.7", "cpython", Platform()) == target_tags("3.11.7", "cpython")


def test_the_largest_python_and_glibc_a_lock_allows_are_ranked_without_a_million_tags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lock of another machine with Python 3.999 and glibc 2.999 (each within its grammar) had pin list every
    interpreter and ABI once per glibc release: two million tags, 4 s of every pin, bundle and export --pin."""
    made = count_tags_made(monkeypatch)
    wanted = target_tags("3.999.0", "cpython", Platform("Linux", "aarch64", libc="glibc", libc_version="2.999"))
    assert wanted[0] == "cp3999-cp3999-manylinux_2_999_aarch64"
    assert "cp32-abi3-manylinux2014_aarch64" in wanted and "py3-none-any" in wanted
    assert "cp3999-cp3999-manylinux_2_1000_aarch64" not in wanted and "cp311-cp311-manylinux_2_17_aarch64" not in wanted
    files = [
        "a-1.0-py3-none-any.whl",
        "a-1.0-cp32-abi3-manylinux_2_17_aarch64.whl",
        "a-1.0-cp311-cp311-linux_aarch64.whl",
    ]
    assert best_wheel(files, wanted) == ("a-1.0-cp32-abi3-manylinux_2_17_aarch64.whl", "")
    assert made[0] < 100_000, made


def test_pin_finds_hash_only_candidates_on_the_index(tmp_path: Path) -> None:
    here = make_wheel(tmp_path / "w", "multi", "2.0", tag="py3-none-any")
    other = make_wheel(tmp_path / "w", "multi", "2.0", tag="cp311-cp311-win_amd64", body="VALUE = 2\n")
    index = pep503_index(tmp_path / "index", [here, other])
    req = tmp_path / "requirements.txt"
    req.write_text(f"multi==2.0 \\\n    --hash=sha256:{_sha(other)} \\\n    --hash=sha256:{_sha(here)}\n")
    snap = importers.read_file(req)
    result = pin(snap, IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    outcome = result.outcomes[0]
    assert outcome.status == "pinned" and outcome.artifact is not None and outcome.artifact.filename == here.name


def test_pin_says_why_no_candidate_fits(tmp_path: Path) -> None:
    other = make_wheel(tmp_path / "w", "multi", "2.0", tag="cp311-cp311-win_amd64")
    index = pep503_index(tmp_path / "index", [other])
    req = tmp_path / "requirements.txt"
    req.write_text(f"multi==2.0 --hash=sha256:{_sha(other)} --hash=sha256:{'0' * 64}\nplain==1.0\n")
    result = pin(importers.read_file(req), IndexConfig(index_url=index), cache_dir=tmp_path / "cache")
    reasons = {o.name: o.reason for o in result.outcomes}
    assert result.outcomes[0].status == "unpinned"
    assert "none of its 1 wheels fits this target" in reasons["multi"] and "win_amd64" in reasons["multi"]
    assert "egg-info" not in reasons["plain"] and "no plain 1.0 file on the configured indexes" in reasons["plain"]


def test_a_versionless_local_project_builds_without_invalid_version(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tinyproj", "0.1.0")
    pkg = PythonPackage(name="tinyproj", version="", source=Source(kind="directory", url="file://{project}"))
    assert _check_built(wheel, pkg) == (wheel, "0.1.0")


def test_envsnap_requirements_export_keeps_its_source_trees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the project's folder, which pip reads ``-e ./proj`` from
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "tinyproj"\nversion = "0.1.0"\n')
    req = tmp_path / "requirements.txt"
    req.write_text(
        "six==1.17.0 \\\n    --hash=sha256:" + "a" * 64 + "\n\n"
        "# Not hash-checkable by pip (source trees); install each after the rest with:\n"
        "#   pip install --no-deps -e ./proj\n"
        "#   pip install --no-deps 'mylib @ git+https://example.org/mylib.git@" + "b" * 40 + "'\n"
    )
    snap = importers.read_file(req)
    tiny, mylib = snap.package("tinyproj"), snap.package("mylib")
    assert tiny is not None and tiny.source.kind == "directory" and tiny.source.editable
    assert mylib is not None and mylib.source.kind == "vcs" and mylib.source.commit_id == "b" * 40


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    return uv


@pytest.mark.integration
@pytest.mark.network
def test_real_uv_compile_hashes_pins_from_the_index(tmp_path: Path) -> None:
    """uv pip compile --generate-hashes, run now, imported and pinned from the public index."""
    shutil.copy(FIXTURES / "requirements.in", tmp_path / "requirements.in")
    res = subprocess.run(
        [
            _uv(),
            "pip",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--python-version",
            f"{sys.version_info.major}.{sys.version_info.minor}",
            "requirements.in",
            "-o",
            "req.txt",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if res.returncode != 0:
        pytest.skip(f"uv could not reach the index: {res.stderr[-200:]}")
    snap = importers.read_file(tmp_path / "req.txt")
    result = pin(snap, IndexConfig(), cache_dir=tmp_path / "cache")
    assert [o.status for o in result.outcomes] == ["pinned", "pinned"], result.outcomes
    for pkg in result.snapshot.python.packages:
        assert pkg.artifact is not None and pkg.artifact.sha256 in {c.sha256 for c in pkg.candidates}


@pytest.mark.integration
@pytest.mark.network
@pytest.mark.parametrize("fixture", ["requirements-hashes.txt", "pylock.compile.toml", "pylock.export.toml"])
def test_each_uv_file_rebuilds_and_verifies(fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Imported from uv's own files and rebuilt from the index with the kept hashes; uv export's project (its
    `directory = { path = "." }`) is built from the folder the file sits in."""
    from envsnap.rebuild import RebuildResult, rebuild

    if sys.version_info[:2] != (3, 11):
        pytest.skip("the fixtures were compiled for Python 3.11")
    project = tmp_path / "proj"
    (project / "tinyproj").mkdir(parents=True)
    (project / "tinyproj" / "__init__.py").write_text("")
    shutil.copy(FIXTURES / "pyproject.toml", project / "pyproject.toml")
    shutil.copy(FIXTURES / fixture, project / fixture)
    lock_path = lockfile.dump(importers.read_file(project / fixture), project / "envsnap.lock")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        # The files name their wheels on the public index's https host; a test machine may resolve that host
        # to a reserved (documentation-range) mirror address, which the fetch policy refuses unless allowed.
        result = rebuild(lock_path, target="venv", dest=tmp_path / "env", allow_urls=("https://*",))
    except EnvsnapError as exc:
        if "cannot reach" in str(exc):
            pytest.skip(f"the package index is not reachable: {exc}")
        raise
    assert isinstance(result, RebuildResult) and result.verify is not None
    assert result.verify.identical, [d.describe() for d in result.verify.differences]
    # uv export's own project is editable in the lock; the rebuild installs its wheel, a regular install: a warning.
    warned = [(d.subject, d.what) for d in result.verify.by_severity("warning") if d.what == "source"]
    assert warned == ([("tinyproj", "source")] if fixture == "pylock.export.toml" else []), warned
    wanted = {p.name for p in lockfile.load(lock_path).python.packages}
    assert {i.name for i in result.plan.items if i.layer == "python"} == wanted


def test_hash_only_candidates_are_found_in_a_find_links_folder(tmp_path: Path) -> None:
    """A find-links folder lists no hashes: the fitting wheels are downloaded to tell which is the import's."""
    here = make_wheel(tmp_path / "w", "multi", "2.0", tag="py3-none-any")
    make_wheel(tmp_path / "w", "multi", "2.0", tag="py2-none-any", body="VALUE = 3\\n")
    req = tmp_path / "requirements.txt"
    req.write_text(f"multi==2.0 --hash=sha256:{'0' * 64} --hash=sha256:{_sha(here)}\n")
    result = pin(
        importers.read_file(req),
        IndexConfig(no_index=True, find_links=(str(tmp_path / "w"),)),
        cache_dir=tmp_path / "cache",
    )
    outcome = result.outcomes[0]
    assert outcome.status == "pinned" and outcome.artifact is not None and outcome.artifact.sha256 == _sha(here)


@pytest.mark.parametrize("subfolder", ["", "projects/paper"])
def test_uv_pylock_paths_are_read_from_its_folder(tmp_path: Path, subfolder: str) -> None:
    # PEP 751: a relative path is the lock file's. uv wrote the project as "../" (the file is in locks/); the lock
    # records it under {project}, the git work tree, as a capture there does, so bundle and rebuild find it.
    repo = tmp_path / "repo"
    project = repo / subfolder
    shutil.copytree(FIXTURES.parent / "uv-local-project", project)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    snap = importers.read_file(project / "locks" / "pylock.toml")
    prefix = f"file://{{project}}/{subfolder}" if subfolder else "file://{project}"
    paper, labutils = snap.package("paper"), snap.package("labutils")
    assert paper is not None and labutils is not None
    assert paper.source == Source(kind="directory", url=prefix, editable=True)
    assert labutils.source == Source(kind="directory", url=f"{prefix}/libs/labutils")


def test_uv_compile_local_project_folder_is_a_directory_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # uv pip compile writes a local (not editable) project as its bare folder, ./libs/labutils: pip installs it
    # from the working directory, so the import reads it from there, as for -e PATH.
    project = tmp_path / "paper"
    shutil.copytree(FIXTURES.parent / "uv-local-project", project)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    snap = importers.read_file(project / "requirements-hashes.txt")
    labutils, six = snap.package("labutils"), snap.package("six")
    assert labutils is not None and six is not None
    assert labutils.source == Source(kind="directory", url="file://{project}/libs/labutils")
    # Its version is the one its pyproject.toml names, which pip installs from the folder.
    assert labutils.version == "0.1.0" and len(six.candidates) == 2


def test_uv_compile_of_an_editable_project_writes_its_path_dependency_without_dot_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """``uv pip compile`` of ``-e .`` writes the project's ``[tool.uv.sources]`` path dependency as ``libs/labutils``
    (no ``./``), a folder pip reads from the working directory as it reads ``./libs/labutils``. The import said
    ``requirements-editable.txt:5: not a requirement: Expected semicolon ...``, exit 2."""
    project = tmp_path / "paper"
    shutil.copytree(FIXTURES.parent / "uv-local-project", project)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    done = cli("import", "requirements-editable.txt", "-o", "envsnap.lock")
    assert done.code == 0, done.err
    snap = lockfile.load(project / "envsnap.lock")
    paper, labutils = snap.package("paper"), snap.package("labutils")
    assert paper is not None and paper.source == Source(kind="directory", url="file://{project}", editable=True)
    assert labutils is not None and labutils.source == Source(kind="directory", url="file://{project}/libs/labutils")
    # Away from the project the folder is not there: said so in one line, as pip would not find it either.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "requirements.txt").write_text("libs/labutils\n")
    monkeypatch.chdir(elsewhere)
    refused = cli("import", "requirements.txt", "-o", "envsnap.lock")
    assert refused.code == 2 and refused.err.count("\n") == 1, refused.err
    assert (
        "requirements.txt:1: libs/labutils: no such folder in the working directory (pip reads a requirement's "
        "path from there): import from the folder you install from" in refused.err
    )


def test_uv_index_annotations_record_the_index_each_package_came_from(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile --emit-index-annotation`` writes ``# from URL`` under each package: the index it came from.
    A file naming ``--index-url A --extra-index-url B`` recorded every package on A (a warning said the file does not
    say which index holds each), and its requirements export named A alone, where pip finds none of B's packages. The
    annotation names each package's index now: pb is on B, no warning, and the export names both indexes."""
    uv = _uv()
    for name in ("UV_INDEX", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    alpha = pep503_index(tmp_path / "alpha", [make_wheel(tmp_path / "w", "pa", "1.0")])
    beta = pep503_index(tmp_path / "beta", [make_wheel(tmp_path / "w", "pb", "1.0")])
    (tmp_path / "requirements.in").write_text("pa\npb\n")
    res = subprocess.run(
        [
            *(uv, "pip", "compile", "--quiet", "--no-config", "--generate-hashes", "--emit-index-url"),
            *("--emit-index-annotation", "--index-url", alpha, "--extra-index-url", beta),
            *("--python-version", f"{sys.version_info.major}.{sys.version_info.minor}", "requirements.in"),
            *("-o", "requirements.txt"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "requirements.txt").read_text()
    assert f"--index-url {alpha}\n--extra-index-url {beta}\n" in text and f"    # from {beta}\n" in text, text
    result = cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    assert "is not recorded" not in result.err, result.err
    lock = lockfile.load(tmp_path / "out.lock")
    indexes = {p.name: p.artifact.index for p in lock.python.packages if p.artifact is not None}
    assert indexes == {"pa": alpha, "pb": beta}, lock.python.packages
    exported = cli("export", tmp_path / "out.lock", "-f", "requirements", "-o", tmp_path / "again.txt")
    assert exported.code == 0, exported.err
    again = (tmp_path / "again.txt").read_text()
    assert {line for line in again.splitlines() if "-index-url" in line} == {
        f"--index-url {alpha}",
        f"--extra-index-url {beta}",
    }, again


def test_an_index_annotation_naming_no_index_of_the_file_is_not_recorded(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A ``# from URL`` naming an index the file does not list (another tool's comment, an edited file) is not taken
    for the package's index: the file's index is recorded, and a warning names the annotation by its line."""
    sha = "a" * 64
    path = tmp_path / "requirements.txt"
    path.write_text(
        "--index-url https://alpha.example/simple\n"
        f"pa==1.0 \\\n    --hash=sha256:{sha}\n    # from https://elsewhere.example/simple\n"
    )
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    lock = lockfile.load(tmp_path / "out.lock")
    (pa,) = lock.python.packages
    assert pa.artifact is not None and pa.artifact.index == "https://alpha.example/simple"
    assert (
        "warning: import: line 4: the annotation # from 'https://elsewhere.example/simple' names no index of the file "
        "(--index-url, --extra-index-url): pa is recorded on https://alpha.example/simple"
    ) in result.err, result.err


def test_an_index_annotation_names_an_index_with_credentials_without_them(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """uv writes an index's annotation without its user and password (``--extra-index-url
    https://alice:s3cret@lab.example/simple`` is ``# from https://lab.example/simple``, as uv 0.13 wrote it here): it
    names that index all the same, which the lock records without them."""
    sha = "b" * 64
    path = tmp_path / "requirements.txt"
    path.write_text(
        "--index-url https://pypi.org/simple\n--extra-index-url https://alice:s3cret@lab.example/simple\n\n"
        f"labtool==0.3.0 \\\n    --hash=sha256:{sha}\n    # via -r requirements.in\n"
        "    # from https://lab.example/simple\n"
    )
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    assert "warning:" not in result.err, result.err
    (labtool,) = lockfile.load(tmp_path / "out.lock").python.packages
    assert labtool.artifact is not None and labtool.artifact.index == "https://lab.example/simple"
    assert "s3cret" not in (tmp_path / "out.lock").read_text()


def test_an_extra_index_annotated_on_packages_without_a_hash_is_still_named_in_a_warning(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A package without a ``--hash`` records no file, so no index (``uv pip compile --emit-index-annotation``
    without ``--generate-hashes``, ``--annotation-style line``): the extra index its annotation names is recorded
    nowhere, and the warning that says so stays (the annotations silenced it)."""
    beta = "https://beta.example/simple"
    path = tmp_path / "requirements.txt"
    path.write_text(
        f"--index-url https://pypi.org/simple\n--extra-index-url {beta}\n\n"
        "iniconfig==2.0.0          # via -r requirements.in\n    # from https://pypi.org/simple\n"
        f"labtool==0.3.0            # via -r requirements.in\n    # from {beta}\n"
    )
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    assert f"warning: import: --extra-index-url {beta} is not recorded" in result.err, result.err


def test_a_uv_pylock_s_file_url_in_the_project_is_recorded_under_it(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile --find-links ./wheels --format pylock.toml`` writes the lab's wheel as ``url =
    "file:///home/me/proj/wheels/x.whl"``, never as a ``path``. The import kept that absolute URL (outside a git work
    tree, or run from another folder than the project's), where the same file as a ``path``, and a requirements
    file's ``x @ file:///...``, are recorded under ``{project}``: the lock named this machine's folder, and its
    requirements export wrote ``x @ file:///home/me/proj/...``, which installs nowhere else. It is recorded as the
    path is now, and the export names it from the project root."""
    project = tmp_path / "proj"
    (project / "wheels").mkdir(parents=True)
    wheel = make_wheel(project / "wheels", "labnotes", "1.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "labnotes"\nversion = "1.0"\n'
        f'wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{sha}" }} }}]\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # in no git work tree: the lock's folder is the project
    assert cli("import", project / "pylock.toml", "-o", project / "env.lock").code == 0
    text = (project / "env.lock").read_text()
    assert f'url = "file://{{project}}/wheels/{wheel.name}"' in text and str(tmp_path) not in text, text
    exported = cli("export", project / "env.lock", "-f", "requirements", "--no-pin", "-o", "-")
    assert exported.code == 0, exported.err
    assert f"./wheels/{wheel.name} \\\n    --hash=sha256:{sha}\n" in exported.out, exported.out
    # A file outside the project stays where it is, by its URL.
    assert cli("import", project / "pylock.toml", "-o", elsewhere / "env.lock").code == 0
    assert f'url = "{wheel.as_uri()}"' in (elsewhere / "env.lock").read_text()


def _git_package(repo: Path, pyproject: str) -> str:
    """A git repository at ``repo`` holding a project of this ``pyproject.toml``, committed; its commit."""
    (repo / "src" / "gitdep").mkdir(parents=True)
    (repo / "src" / "gitdep" / "__init__.py").write_text("")
    (repo / "pyproject.toml").write_text(pyproject)
    git = ["git", "-C", str(repo), "-c", "user.email=a@b.c", "-c", "user.name=a"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    subprocess.run([*git, "add", "-A"], check=True, timeout=60)
    subprocess.run([*git, "commit", "-qm", "init"], check=True, timeout=60)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, timeout=60, capture_output=True, text=True).stdout


def test_a_uv_export_s_local_git_dependency_is_recorded_with_its_commit_s_version(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """``uv export`` of a project with ``[tool.uv.sources] gitdep = { git = "file:///..." }`` writes ``gitdep @
    git+file:///...@COMMIT`` (its pylock export says ``version = "0.3.1"``): the requirements import recorded
    ``version = ""``, and ``diff`` of the two imports called it unknown. The version the commit's pyproject.toml
    names is read with git (nothing of the repository runs, nothing is built); one it does not name (computed at
    build) stays "", and a warning says so and what records it."""
    commit = _git_package(tmp_path / "gitdep", '[project]\nname = "gitdep"\nversion = "0.3.1"\n').strip()
    (tmp_path / "gitdep" / "pyproject.toml").write_text('[project]\nname = "gitdep"\nversion = "9.9"\n')  # uncommitted
    req = tmp_path / "requirements.txt"
    req.write_text(f"gitdep @ git+{(tmp_path / 'gitdep').as_uri()}@{commit}\n    # via proj\n")
    result = cli("import", req, "-o", tmp_path / "req.lock")
    assert result.code == 0, result.err
    assert 'name = "gitdep"\nversion = "0.3.1"\n' in (tmp_path / "req.lock").read_text()
    assert "version of gitdep is unknown" not in result.err, result.err

    dynamic = _git_package(tmp_path / "scm", '[project]\nname = "gitdep"\ndynamic = ["version"]\n').strip()
    req.write_text(f"gitdep @ git+{(tmp_path / 'scm').as_uri()}@{dynamic}\n")
    result = cli("import", req, "-o", tmp_path / "scm.lock")
    assert result.code == 0, result.err
    assert 'name = "gitdep"\nversion = ""\n' in (tmp_path / "scm.lock").read_text()
    assert "warning: import: the version of gitdep is unknown: the requirements file names its commit" in result.err
    assert "`envsnap capture` of an environment it is installed in records it" in result.err, result.err


def test_a_uv_pylock_s_wheel_of_the_find_links_folder_its_header_names_is_recorded_in_that_folder(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile --find-links ./wheels --emit-find-links --format pylock.toml`` names the folder in the command
    its header quotes and the wheel by ``url = "file:///.../wheels/x.whl"``, no ``index``; the import recorded the
    wheel by that URL where the requirements import of the same resolution (``--emit-find-links
    --generate-hashes``) records it in its find-links folder, and ``diff`` of the two called the URL and the folder
    unknown. The wheel is recorded in the folder the header names now, as the requirements import records it."""
    project = tmp_path / "proj"
    (project / "wheels").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    wheel = make_wheel(project / "wheels", "labnotes", "1.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pylock = (
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv pip compile --find-links ./wheels --emit-find-links --format pylock.toml requirements.in\n"
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "labnotes"\nversion = "1.0"\n'
        f'wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{sha}" }} }}]\n'
    )
    (project / "pylock.toml").write_text(pylock)
    (project / "requirements.txt").write_text(f"--find-links ./wheels\n\nlabnotes==1.0 \\\n    --hash=sha256:{sha}\n")
    monkeypatch.chdir(project)
    assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    text = (project / "py.lock").read_text()
    assert 'url = ""' in text and 'index = "file://{project}/wheels"' in text, text
    assert f'filename = "{wheel.name}"' in text and str(tmp_path) not in text, text
    diff = cli("diff", "req.lock", "py.lock")
    assert diff.code == 0 and "artifact.url" not in diff.out and "artifact.index" not in diff.out, diff.out
    # A header naming another folder, or none (test above), keeps the wheel's URL.
    (project / "pylock.toml").write_text(pylock.replace("./wheels", "./other"))
    assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
    assert f'url = "file://{{project}}/wheels/{wheel.name}"' in (project / "py.lock").read_text()


def test_the_git_commit_a_requirements_file_asks_for_is_recorded_as_uv_s_pylock_records_it(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile`` of ``gitdep @ git+file:///repo@COMMIT`` writes that line to a requirements file and
    ``requested-revision = COMMIT`` beside ``commit-id`` to its pylock: the requirements import left the revision
    out, so ``diff`` of the two imports ended with ``1 unknown: ...source.requested_revision``, a field no entry
    compares. The line's ``@COMMIT`` is the revision it asks for (pip's direct_url.json records it so on install):
    both imports record it, and a revision asked for otherwise (``main``) of one commit is provenance, exit 0."""
    project = tmp_path / "proj"
    repo = tmp_path / "gitdep"
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    (repo / "pyproject.toml").write_text('[project]\nname = "gitdep"\nversion = "0.3.0"\n')
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True, timeout=60)
    subprocess.run([*git, "commit", "-qm", "init"], check=True, timeout=60)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    header = "# This file was autogenerated by uv via the following command:\n#    uv pip compile requirements.in\n"
    (project / "requirements.txt").write_text(
        f"{header}gitdep @ git+{repo.as_uri()}@{commit}\n    # via -r requirements.in\n"
    )
    pylock = (
        f'{header}lock-version = "1.0"\ncreated-by = "uv"\nrequires-python = ">=3.11"\n\n[[packages]]\n'
        f'name = "gitdep"\nversion = "0.3.0"\nvcs = {{ type = "git", url = "{repo.as_uri()}", '
        f'requested-revision = "{commit}", commit-id = "{commit}" }}\n'
    )
    (project / "pylock.toml").write_text(pylock)
    monkeypatch.chdir(project)
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
    source = lockfile.load(project / "req.lock").python.packages[0].source
    assert source == lockfile.load(project / "py.lock").python.packages[0].source
    assert (source.commit_id, source.requested_revision) == (commit, commit)
    diff = cli("diff", "req.lock", "py.lock")
    assert diff.code == 0 and "requested_revision" not in diff.out, diff.out

    (project / "pylock.toml").write_text(
        pylock.replace(f'requested-revision = "{commit}"', 'requested-revision = "main"')
    )
    assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
    diff = cli("diff", "req.lock", "py.lock")
    assert diff.code == 0, diff.out
    assert f"python  gitdep: {commit} -> main (how its commit was asked for" in diff.out, diff.out
    # Named as what it is in the summary, not as an editable checkout (gitdep is not editable).
    assert "(nothing both locks record differs but the requested revision of gitdep)" in diff.out, diff.out
    assert "other fields differ" not in diff.out and "requested_revision" not in diff.out, diff.out


def test_a_wheel_uv_writes_once_for_each_time_its_folder_is_named_is_one_file(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A requirements.in holding ``--find-links ./wheels``, compiled with ``uv pip compile --find-links ./wheels
    --emit-find-links --format pylock.toml``, lists the folder's wheel once per naming, the same URL and hash each
    time: the import kept the copies as candidates by their ``file:`` URL, not the wheel of the header's folder the
    requirements import of the same resolution records, and pin read none of them. It is one file, recorded in the
    folder by its name as one listed once is, and ``diff`` of the two imports finds them alike."""
    project = tmp_path / "proj"
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    wheel = make_wheel(project / "wheels", "labnotes", "1.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    entry = f'    {{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{sha}" }} }},\n'
    (project / "pylock.toml").write_text(
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv pip compile --find-links ./wheels --emit-find-links --format pylock.toml requirements.in\n"
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "labnotes"\nversion = "1.0"\n'
        f"wheels = [\n{entry * 3}]\n"
    )
    find_links = "--find-links ./wheels\n" * 3
    (project / "requirements.txt").write_text(f"{find_links}\nlabnotes==1.0 \\\n    --hash=sha256:{sha}\n")
    monkeypatch.chdir(project)
    assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    (pkg,) = lockfile.load(project / "py.lock").python.packages
    assert pkg.candidates == () and pkg.artifact is not None, pkg
    assert (pkg.artifact.filename, pkg.artifact.url, pkg.artifact.index) == (wheel.name, "", "file://{project}/wheels")
    assert pkg.wheel_tags == ("py3-none-any",)
    diff = cli("diff", "req.lock", "py.lock")
    assert diff.code == 0 and "artifact.url" not in diff.out and "artifact.index" not in diff.out, diff.out


def test_a_local_project_uv_writes_without_a_version_takes_the_one_its_folder_names(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv export --format pylock.toml`` writes an editable project as ``directory = { path = "mypkg", editable =
    true }``, no version; ``uv export`` of the same lock writes ``-e ./mypkg``, whose import reads the static version
    its pyproject.toml names. ``diff`` of the two imports said ``mypkg: 0.1.0 -> (unknown)``. The pylock import reads
    it the same way; a folder that is not here, or that names another project, leaves it unknown."""
    project = tmp_path / "proj"
    (project / "mypkg").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    (project / "mypkg" / "pyproject.toml").write_text('[project]\nname = "mypkg"\nversion = "0.1.0"\n')
    (project / "requirements.txt").write_text(
        "# This file was autogenerated by uv via the following command:\n#    uv export --format requirements-txt\n"
        "-e ./mypkg\n    # via proj\n"
    )
    pylock = (
        "# This file was autogenerated by uv via the following command:\n#    uv export --format pylock.toml\n"
        'lock-version = "1.0"\ncreated-by = "uv"\nrequires-python = ">=3.11"\n\n[[packages]]\nname = "mypkg"\n'
        'directory = { path = "mypkg", editable = true }\n'
    )
    (project / "pylock.toml").write_text(pylock)
    monkeypatch.chdir(project)
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
    (pkg,) = lockfile.load(project / "py.lock").python.packages
    assert (pkg.version, pkg.source.url) == ("0.1.0", "file://{project}/mypkg")
    diff = cli("diff", "req.lock", "py.lock")
    assert diff.code == 0 and "mypkg" not in diff.out, diff.out
    for other in ('path = "gone"', 'path = "mypkg", subdirectory = "sub"'):
        (project / "mypkg" / "sub").mkdir(exist_ok=True)
        (project / "mypkg" / "sub" / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "9.0"\n')
        (project / "pylock.toml").write_text(pylock.replace('path = "mypkg"', other))
        assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
        assert lockfile.load(project / "py.lock").python.packages[0].version == ""


def test_a_uv_export_pylock_s_wheel_of_the_find_links_folder_it_names_as_index_is_recorded_in_that_folder(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv export --format pylock.toml`` of a project whose ``[tool.uv] find-links = ["./wheels"]`` holds a wheel
    writes ``index = "file:///.../proj/wheels"`` and the wheel's ``file:`` URL there: the import kept that URL, where
    the imports of uv's ``--emit-find-links`` pylock and requirements file of the same resolution record the wheel by
    its name in the folder, so ``diff`` named ``artifact.url`` among the fields one lock does not record. It is
    recorded in the folder by its name now; a folder outside the project by its path, as the requirements import
    records one."""
    project = tmp_path / "proj"
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    elsewhere = tmp_path / "opt" / "wheels"
    for folder, name in ((project / "wheels", "labnotes"), (elsewhere, "shared")):
        wheel = make_wheel(folder, name, "1.0")
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        (project / f"pylock.{name}.toml").write_text(
            "# This file was autogenerated by uv via the following command:\n#    uv export --format pylock.toml\n"
            f'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "{name}"\nversion = "1.0"\n'
            f'index = "{folder.as_uri()}"\n'
            f'wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{sha}" }} }}]\n'
        )
    monkeypatch.chdir(project)
    for name, index in (("labnotes", "file://{project}/wheels"), ("shared", str(elsewhere))):
        assert cli("import", f"pylock.{name}.toml", "-o", f"{name}.lock").code == 0
        (pkg,) = lockfile.load(project / f"{name}.lock").python.packages
        assert pkg.artifact is not None
        assert (pkg.artifact.filename, pkg.artifact.url, pkg.artifact.index) == (
            f"{name}-1.0-py3-none-any.whl",
            "",
            index,
        )
    assert str(tmp_path) not in (project / "labnotes.lock").read_text()


def test_pin_of_uv_export_s_find_links_wheel_by_name_says_how_to_configure_its_folder(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv export`` of a project whose ``[tool.uv] find-links = ["./wheels"]`` holds a wheel writes it as
    ``labwheel==1.2.0``, no hash, no folder; ``pin`` of its import said only ``no labwheel 1.2.0 file on the
    configured indexes``, not that a project's ``[tool.uv]`` is not read nor how to configure the folder. It gives the
    find-links hint, and with ``UV_FIND_LINKS`` the wheel is pinned."""
    project = tmp_path / "proj"
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    wheel = make_wheel(project / "wheels", "labwheel", "1.2.0")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0"\n\n[tool.uv]\nfind-links = ["./wheels"]\n'
    )
    (project / "requirements.txt").write_text(
        "# This file was autogenerated by uv via the following command:\n#    uv export --format requirements-txt\n"
        "labwheel==1.2.0\n    # via proj\n"
    )
    monkeypatch.chdir(project)
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("PIP_INDEX_URL", pep503_index(tmp_path / "empty", []))
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    cache = ("--cache-dir", str(tmp_path / "cache"))
    result = cli("pin", "req.lock", "-o", "pinned.lock", *cache)
    said = result.out + result.err
    assert "not pinned labwheel 1.2.0: no labwheel 1.2.0 file on the configured indexes" in said, said
    assert "UV_FIND_LINKS=DIR" in said and "a project's [tool.uv] find-links" in said, said
    monkeypatch.setenv("UV_FIND_LINKS", "./wheels")
    result = cli("pin", "req.lock", "-o", "pinned.lock", *cache)
    assert result.code == 0 and "not pinned" not in result.out + result.err, result
    art = lockfile.load(project / "pinned.lock").python.packages[0].artifact
    assert art is not None and art.filename == wheel.name


def test_a_uv_pylock_goes_back_to_pylock_with_every_wheel_and_its_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """uv's pylock lists every wheel of markupsafe (and its sdist) from the index it chose. ``export -f pylock`` of its
    import refused (``--no-pin``: ``have no pinned artifact``) or pinned first and wrote the one wheel of this host,
    so the round trip was another lock. It writes every file and the index as uv did, offline; the re-import is the
    same lock (``diff``: identical but for the project's version, which neither file records)."""
    shutil.copy(FIXTURES / "pylock.export.toml", tmp_path)
    shutil.copy(FIXTURES / "pyproject.toml", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli("import", "pylock.export.toml", "-o", "envsnap.lock").code == 0
    done = cli("export", "-f", "pylock", "envsnap.lock", "-o", "pylock.back.toml", "--no-pin")
    assert done.code == 0, done.err
    import tomllib

    ours = tomllib.loads((tmp_path / "pylock.back.toml").read_text())
    theirs = tomllib.loads((FIXTURES / "pylock.export.toml").read_text())
    mine = next(p for p in ours["packages"] if p["name"] == "markupsafe")
    uv = next(p for p in theirs["packages"] if p["name"] == "markupsafe")
    assert mine["index"] == uv["index"] == "https://pypi.org/simple"
    assert sorted((w["name"], w["url"], w["hashes"]["sha256"]) for w in mine["wheels"]) == sorted(
        (w["name"], w["url"], w["hashes"]["sha256"]) for w in uv["wheels"]
    )
    assert mine["sdist"]["hashes"] == uv["sdist"]["hashes"]
    assert cli("import", "pylock.back.toml", "-o", "back.lock").code == 0
    before, after = lockfile.load(tmp_path / "envsnap.lock"), lockfile.load(tmp_path / "back.lock")
    assert after.python.packages == before.python.packages


def test_a_requirements_import_records_the_find_links_wheel_it_found_by_hash_by_its_name(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile --find-links ./wheels --emit-find-links --generate-hashes`` writes the folder's wheel as
    ``labnotes==1.0 --hash=sha256:...``: the import found that file in the folder by its hash and recorded it with
    ``filename = ""`` and no wheel tags, so ``diff`` against the pylock import of the same resolution listed
    ``artifact.filename`` and ``wheel_tags`` as unknown. The file's name and its tags are recorded now. A folder whose
    recorded path hides the login name (``/scratch/<user>/wheels``) names no file here: its file stays known by its
    hash, which ``pin`` finds where the folder is configured."""
    import getpass

    project = tmp_path / "proj"
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    wheel = make_wheel(project / "wheels", "labnotes", "1.0")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "pylock.toml").write_text(
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv pip compile --find-links ./wheels --emit-find-links --format pylock.toml requirements.in\n"
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "labnotes"\nversion = "1.0"\n'
        f'wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{sha}" }} }}]\n'
    )
    (project / "requirements.txt").write_text(
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv pip compile --find-links ./wheels --emit-find-links --generate-hashes requirements.in\n"
        f"--find-links ./wheels\n\nlabnotes==1.0 \\\n    --hash=sha256:{sha}\n    # via -r requirements.in\n"
    )
    monkeypatch.chdir(project)
    assert cli("import", "pylock.toml", "-o", "py.lock").code == 0
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    (pkg,) = lockfile.load(project / "req.lock").python.packages
    assert pkg.artifact is not None
    assert (pkg.artifact.filename, pkg.artifact.url, pkg.artifact.index) == (wheel.name, "", "file://{project}/wheels")
    assert pkg.wheel_tags == ("py3-none-any",)
    (from_pylock,) = lockfile.load(project / "py.lock").python.packages
    assert (pkg.artifact, pkg.wheel_tags) == (from_pylock.artifact, from_pylock.wheel_tags)
    diff = cli("diff", "py.lock", "req.lock")
    assert diff.code == 0 and "filename" not in diff.out and "wheel_tags" not in diff.out, diff.out

    login = "alicenamed"
    monkeypatch.setattr(getpass, "getuser", lambda: login)
    monkeypatch.setenv("USER", login)
    monkeypatch.setenv("LOGNAME", login)
    scratch = tmp_path / "scratch" / login / "wheels"
    scratch.mkdir(parents=True)
    shutil.copy(wheel, scratch / wheel.name)
    (project / "requirements.txt").write_text(f"--find-links {scratch}\n\nlabnotes==1.0 --hash=sha256:{sha}\n")
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    (pkg,) = lockfile.load(project / "req.lock").python.packages
    assert pkg.artifact is not None and pkg.artifact.index == str(scratch).replace(login, "<user>"), pkg.artifact
    assert (pkg.artifact.filename, pkg.artifact.sha256, pkg.wheel_tags) == ("", sha, ()), pkg


def test_a_uv_pylock_and_its_re_import_differ_only_in_how_they_were_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """uv's pylock imported, exported back with ``export -f pylock`` and imported again: the two locks differ only
    in ``envsnap.generator`` (``envsnap import from uv``, ``... from envsnap``), which ``diff`` named as an
    ``unknown`` entry (``other fields unknown: envsnap.generator``). Which tool wrote a lock is how it was made, as
    its ``created``: no entry, and the pair is identical."""
    shutil.copy(FIXTURES / "pylock.export.toml", tmp_path)
    shutil.copy(FIXTURES / "pyproject.toml", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli("import", "pylock.export.toml", "-o", "envsnap.lock").code == 0
    assert cli("export", "-f", "pylock", "envsnap.lock", "-o", "pylock.back.toml", "--no-pin").code == 0
    assert cli("import", "pylock.back.toml", "-o", "back.lock").code == 0
    a, b = lockfile.load(tmp_path / "envsnap.lock"), lockfile.load(tmp_path / "back.lock")
    assert (a.envsnap.generator, b.envsnap.generator) == ("envsnap import from uv", "envsnap import from envsnap")
    result = cli("diff", "envsnap.lock", "back.lock")
    assert result.code == 0 and "generator" not in result.out, result.out
    assert "no differences" in result.out, result.out


def test_a_requirements_file_naming_two_indexes_records_both_for_each_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """``uv export --emit-index-url`` of a project with two indexes writes ``--index-url`` (its default, ``cpu``) and
    ``--extra-index-url`` (``main``), and no line says which holds which package. The import recorded ``cpu`` for
    every package: ``aaa``, which only ``main`` has, was looked for on ``cpu`` by ``pin`` alone, and ``diff`` against
    uv's pylock of the same lock exited 1 on its index. Each package records every index the file names, the hashes
    deciding which file ``pin`` takes, and ``diff`` calls that unknown."""
    fixtures = FIXTURES / "two-indexes"
    for name in ("requirements.txt", "pylock.toml", "pyproject.toml"):
        shutil.copy(fixtures / name, tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli("import", "requirements.txt", "-o", "req.lock").code == 0
    assert cli("import", "pylock.toml", "-o", "pylock.lock").code == 0
    cpu, main = "http://127.0.0.1:8793/cpu/simple", "http://127.0.0.1:8793/default/simple"
    snap = lockfile.load(tmp_path / "req.lock")
    for pkg in snap.python.packages:
        assert pkg.artifact is None and {c.index for c in pkg.candidates} == {cpu, main}, pkg
    assert not any("is not recorded" in w for w in snap.envsnap.warnings), snap.envsnap.warnings
    for a, b in (("pylock.lock", "req.lock"), ("req.lock", "pylock.lock")):
        result = cli("diff", a, b)
        assert result.code == 0 and "nothing both locks record differs" in result.out, result.out
        assert "index" not in result.out, result.out

    # pin looks on both, and the hash picks the file: aaa on the extra index alone, twin (another file on each) on it.
    aaa = make_wheel(tmp_path / "w", "aaa", "2.0.0", tag="py3-none-any")
    twin_cpu = make_wheel(tmp_path / "wc", "twin", "1.0.0", tag="py3-none-any", body="VALUE = 'cpu'\n")
    twin = make_wheel(tmp_path / "w", "twin", "1.0.0", tag="py3-none-any")
    first, extra = pep503_index(tmp_path / "cpu", [twin_cpu]), pep503_index(tmp_path / "main", [aaa, twin])
    req = tmp_path / "two.txt"
    req.write_text(
        f"--index-url {first}\n--extra-index-url {extra}\n\n"
        f"aaa==2.0.0 --hash=sha256:{_sha(aaa)}\ntwin==1.0.0 --hash=sha256:{_sha(twin)}\n"
    )
    # The indexes are the import's, read as the user allows (file:// URLs, as a http mirror is).
    allowed = (tmp_path.as_uri() + "/*",)
    result = pin(importers.read_file(req), IndexConfig(no_index=True), cache_dir=tmp_path / "cache", allow_urls=allowed)
    pinned = {o.name: o.artifact for o in result.outcomes}
    assert all(o.status == "pinned" for o in result.outcomes), result.outcomes
    assert {n: (a.index, a.sha256) for n, a in pinned.items() if a is not None} == {
        "aaa": (extra, _sha(aaa)),
        "twin": (extra, _sha(twin)),
    }


def test_a_find_links_wheel_uv_export_writes_without_a_hash_is_recorded_by_the_folder_s_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv export --emit-find-links`` of a project whose ``[tool.uv] find-links = ["wheels"]`` holds the lab's wheel
    writes ``--find-links wheels`` and ``labpkg==0.3.0`` with no hash (uv 0.13.9 wrote this; its pylock names the file
    and its sha256). The import recorded labpkg by name alone, and warned only that the folder was not recorded:
    ``pin`` looked the name up on the configured indexes, and took a stranger's ``labpkg 0.3.0`` there. The file in
    the folder the file names is recorded, by its sha256, as the pylock import records it; pin keeps to that file."""
    monkeypatch.chdir(tmp_path)
    lab = make_wheel(tmp_path / "wheels", "labpkg", "0.3.0", tag="py3-none-any")
    stranger = make_wheel(tmp_path / "pypi", "labpkg", "0.3.0", tag="py3-none-any", body="VALUE = 'not the lab'\n")
    (tmp_path / "requirements.txt").write_text(
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv export --frozen --format requirements-txt --emit-find-links -o requirements.txt\n"
        "--find-links wheels\n\n-e .\nlabpkg==0.3.0\n    # via proj\n"
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0.1.0"\n')
    snap = importers.read_file(tmp_path / "requirements.txt")
    labpkg = snap.package("labpkg")
    assert labpkg is not None and labpkg.artifact is not None
    assert (labpkg.artifact.filename, labpkg.artifact.sha256, labpkg.artifact.index) == (
        lab.name,
        _sha(lab),
        "file://{project}/wheels",
    )
    assert labpkg.wheel_tags == ("py3-none-any",)
    said = [w for w in snap.envsnap.warnings if w.startswith("import: labpkg:")]
    assert said == [
        "import: labpkg: no hash in the file; recorded by the sha256 of the labpkg 0.3.0 file in its --find-links "
        "folder file://{project}/wheels, where pip finds it beside the index (by its name alone, pin looked it up on "
        "the configured indexes, where anyone may publish it)"
    ]
    assert not any("--find-links" in w and "is not recorded" in w for w in snap.envsnap.warnings)
    # pin with the stranger's index configured keeps the lab's file.
    index = pep503_index(tmp_path / "index", [stranger])
    result = pin(
        snap,
        IndexConfig(index_url=index),
        cache_dir=tmp_path / "cache",
        project_dir=tmp_path,
        allow_urls=(tmp_path.as_uri() + "/*",),
    )
    pinned = {o.name: o for o in result.outcomes}
    art = pinned["labpkg"].artifact
    assert art is not None and art.sha256 == _sha(lab) != _sha(stranger), pinned["labpkg"]


def test_a_pylock_s_local_git_package_without_a_version_takes_its_commit_s_version(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """``pip lock`` writes a git dependency with no ``version`` (PEP 751 asks none of a source tree): the import
    recorded ``version = ""`` without a word, where the requirements import of the same ``gitdep @ git+file:///...@C``
    reads the version its commit names, so ``diff`` of the two imports called it unknown. It is read the same way,
    and where the commit names none the same warning says so."""
    commit = _git_package(tmp_path / "gitdep", '[project]\nname = "gitdep"\nversion = "0.3.1"\n').strip()
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "pip"\n\n[[packages]]\nname = "gitdep"\n\n[packages.vcs]\ntype = "git"\n'
        f'url = "{(tmp_path / "gitdep").as_uri()}"\nrequested-revision = "v0.3.1"\ncommit-id = "{commit}"\n'
    )
    result = cli("import", pylock, "-o", tmp_path / "pip.lock")
    assert result.code == 0, result.err
    assert 'name = "gitdep"\nversion = "0.3.1"\n' in (tmp_path / "pip.lock").read_text()
    assert "version of gitdep is unknown" not in result.err, result.err

    dynamic = _git_package(tmp_path / "scm", '[project]\nname = "gitdep"\ndynamic = ["version"]\n').strip()
    pylock.write_text(pylock.read_text().replace(commit, dynamic).replace('/gitdep"', '/scm"'))
    result = cli("import", pylock, "-o", tmp_path / "scm.lock")
    assert result.code == 0, result.err
    assert 'name = "gitdep"\nversion = ""\n' in (tmp_path / "scm.lock").read_text()
    assert "warning: import: the version of gitdep is unknown: the pylock names its commit" in result.err, result.err


def test_a_cyclonedx_sbom_says_what_to_import_in_its_place(cli: Callable[..., Any], tmp_path: Path) -> None:
    """``uv export --format cyclonedx1.5`` (and envsnap's own ``cyclonedx`` export, its keys sorted) is no format the
    import reads: it said "name one with --from", and every format's parser then refused it in turn. It names the
    file to import in its place."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0.1"\ndependencies = []\n')
    run = {"cwd": project, "capture_output": True, "text": True, "timeout": 120, "check": True}
    subprocess.run([_uv(), "lock", "--offline", "--no-config"], **run)  # type: ignore[call-overload]
    sbom = project / "sbom.cdx.json"
    subprocess.run([_uv(), "export", "--offline", "--no-config", "--format", "cyclonedx1.5", "-o", sbom], **run)  # type: ignore[call-overload]
    own = tmp_path / "own.cdx.json"
    own.write_text('{\n  "components": [],\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.6"\n}\n')
    for path in (sbom, own):
        result = cli("import", path, "-o", tmp_path / "out.lock")
        assert result.code == 2 and not (tmp_path / "out.lock").exists(), result
        assert result.err == (
            f"envsnap: error: {path}: not a format envsnap can import (conda-explicit, conda-lock, json, pylock, "
            "requirements); a CycloneDX SBOM describes packages, not the files a rebuild installs them from: import "
            "the file it was made from (for a uv project: uv export --format pylock.toml -o pylock.toml, then import "
            "that), or use the envsnap lock it was exported from\n"
        ), result.err


def _forked_pylock(requires_python: str, later: str) -> str:
    """A pylock as uv writes a fork on the Python version: labutil 1.0 below ``later``, 2.0 from it."""
    return f"""lock-version = "1.0"
created-by = "uv"
requires-python = "{requires_python}"

[[packages]]
name = "labutil"
version = "1.0"
marker = "python_full_version < '{later}'"
wheels = [{{ url = "https://example.org/labutil-1.0-py3-none-any.whl", hashes = {{ sha256 = "{"a" * 64}" }} }}]

[[packages]]
name = "labutil"
version = "2.0"
marker = "python_full_version >= '{later}'"
wheels = [{{ url = "https://example.org/labutil-2.0-py3-none-any.whl", hashes = {{ sha256 = "{"b" * 64}" }} }}]
"""


def test_a_universal_pylock_records_the_python_its_markers_were_judged_for(tmp_path: Path) -> None:
    """``uv export --format pylock.toml`` of a project whose dependency forks on Python (labutil 1.0 below 3.12, 2.0
    from it) lists both, with ``requires-python = ">=3.11"``. The import keeps this host's pick, but recorded the
    lock's Python as unknown: check and rebuild with another Python said nothing and installed this Python's pick.
    The lock now records the minor release the markers were judged for, and check with another one fails."""
    from envsnap.compat import Target, evaluate
    from envsnap.model import PythonEnv, Snapshot

    major, minor = sys.version_info[:2]
    here, later = f"{major}.{minor}", f"{major}.{minor + 1}"
    path = tmp_path / "pylock.toml"
    path.write_text(_forked_pylock(f">={here}", later))
    snap = importers.read_file(path)
    assert [(p.name, p.version) for p in snap.python.packages] == [("labutil", "1.0")]
    assert snap.python.version == here and "python.version" not in snap.envsnap.unknown
    assert f"the lock records Python {here}" in snap.envsnap.warnings[-1]
    # A marker comparing the full version with a patch release of this minor one: the picks hold for this patch
    # release alone, recorded as the exact version.
    patch = path.read_text().replace(f"'{later}'", f"'{here}.{sys.version_info[2] + 1}'")
    path.write_text(patch)
    assert importers.read_file(path).python.version == ".".join(map(str, sys.version_info[:3]))
    host = Snapshot(python=PythonEnv(implementation="cpython", version=f"{later}.1"))
    [finding] = [f for f in evaluate(snap, host, Target()).findings if f.component == "Python"]
    assert finding.severity == "fail", finding


def test_a_pylock_whose_markers_do_not_name_python_leaves_its_version_unknown(tmp_path: Path) -> None:
    """Markers on the platform alone judge nothing of Python: the range the file gives is no version to rebuild."""
    path = tmp_path / "pylock.toml"
    path.write_text(f"""lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.9"

[[packages]]
name = "labutil"
version = "1.0"
marker = "sys_platform != 'nonesuch'"
wheels = [{{ url = "https://example.org/labutil-1.0-py3-none-any.whl", hashes = {{ sha256 = "{"a" * 64}" }} }}]
""")
    snap = importers.read_file(path)
    assert snap.python.version == "" and "python.version" in snap.envsnap.unknown


def test_a_universal_requirements_file_records_the_python_its_markers_were_judged_for(tmp_path: Path) -> None:
    """``uv export --format requirements-txt`` of the same fork writes ``labutil==1.0 ; python_full_version <
    '3.12'`` and ``labutil==2.0 ; python_full_version >= '3.12'``: the import kept this host's pick and recorded the
    Python as unknown, as the pylock import did; it records the minor release the markers were judged for."""
    from envsnap.compat import Target, evaluate
    from envsnap.model import PythonEnv, Snapshot

    major, minor = sys.version_info[:2]
    here, later = f"{major}.{minor}", f"{major}.{minor + 1}"
    path = tmp_path / "requirements.txt"
    path.write_text(
        f"labutil==1.0 ; python_full_version < '{later}' --hash=sha256:{'a' * 64}\n"
        f"labutil==2.0 ; python_full_version >= '{later}' --hash=sha256:{'b' * 64}\n"
    )
    snap = importers.read_file(path)
    assert [(p.name, p.version) for p in snap.python.packages] == [("labutil", "1.0")]
    assert snap.python.version == here and "python.version" not in snap.envsnap.unknown
    assert f"the lock records Python {here}" in snap.envsnap.warnings[-1]
    host = Snapshot(python=PythonEnv(implementation="cpython", version=f"{later}.1"))
    [finding] = [f for f in evaluate(snap, host, Target()).findings if f.component == "Python"]
    assert finding.severity == "fail", finding
    path.write_text(f"labutil==1.0 ; sys_platform != 'nonesuch' --hash=sha256:{'a' * 64}\n")
    snap = importers.read_file(path)
    assert snap.python.version == "" and "python.version" in snap.envsnap.unknown


def test_a_pylock_whose_every_package_is_for_another_python_says_so(tmp_path: Path) -> None:
    """``uv pip compile --universal -p 3.12 -o pylock.toml`` writes ``labutil 2.0`` with ``marker =
    "python_full_version >= '3.12'"``: imported with 3.11 every package is left out, and the import said "no
    packages in it", of a file that lists one. It names what the markers left out and the Python they were judged
    for, as the requirements import does."""
    major, minor = sys.version_info[:2]
    later = f"{major}.{minor + 1}"
    path = tmp_path / "pylock.toml"
    path.write_text(f"""lock-version = "1.0"
created-by = "uv"
requires-python = ">={later}"

[[packages]]
name = "labutil"
version = "2.0"
marker = "python_full_version >= '{later}'"
wheels = [{{ url = "https://example.org/labutil-2.0-py3-none-any.whl", hashes = {{ sha256 = "{"b" * 64}" }} }}]
""")
    with pytest.raises(EnvsnapError) as caught:
        importers.read_file(path)
    message = str(caught.value)
    assert "every package in it is for another host" in message, message
    assert f"Python {major}.{minor}" in message and ": labutil; nothing to import" in message, message


def test_a_pylock_naming_its_python_has_its_markers_judged_for_that_python(tmp_path: Path) -> None:
    """A pylock whose ``requires-python = "==3.12.*"`` names the Python it is for, with uv's fork (labutil 1.0
    below 3.12, 2.0 from it), imported with 3.11: the lock recorded Python 3.12 and the 3.11 pick, labutil 1.0,
    which a rebuild with 3.12 installed. Its markers are judged for the Python it names."""
    major, minor = sys.version_info[:2]
    later = f"{major}.{minor + 1}"
    path = tmp_path / "pylock.toml"
    path.write_text(_forked_pylock(f"=={later}.*", later))
    snap = importers.read_file(path)
    assert snap.python.version == later
    assert [(p.name, p.version) for p in snap.python.packages] == [("labutil", "2.0")]
    assert f"Python {later}, the one the file names" in snap.envsnap.warnings[-1], snap.envsnap.warnings
