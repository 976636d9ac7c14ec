"""Research layouts (issue 12.2): a lock with an editable project recorded inside the project (``{project}``)
rebuilds from inside the project or with ``--project DIR``; the project is built into a wheel, and the plan
says so. Without the project, the rebuild fails before fetching anything, naming every missing project."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import lockfile
from envsnap.artifacts.bundle import BundleOptions, make_bundle
from envsnap.errors import BundleError, RebuildError
from envsnap.probes.capture import capture
from envsnap.rebuild import Plan, RebuildResult, rebuild

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "researchproj"
version = "0.4.0"
"""


def _git(*args: str, cwd: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def research(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A git project with its own venv holding the project installed editable; the lock captured inside it."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    project = tmp_path_factory.mktemp("research") / "paper-code"
    (project / "researchproj").mkdir(parents=True)
    (project / "researchproj" / "__init__.py").write_text("ANSWER = 42\n")
    (project / "pyproject.toml").write_text(PYPROJECT)
    _git("init", "-q", cwd=project)
    _git("add", ".", cwd=project)
    _git("commit", "-q", "-m", "paper", cwd=project)
    venv = project.parent / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    res = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-e", str(project)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot install the project (its build backend comes from the index): {res.stderr[-200:]}")
    lock = capture(str(venv / "bin" / "python"), project_dir=str(project))
    pkg = lock.package("researchproj")
    assert pkg is not None and pkg.source.url == "file://{project}" and pkg.source.editable
    return project, lockfile.dump(lock, project / "envsnap.lock")


def test_dry_run_inside_the_project_plans_a_wheel_build(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, lock_path = research
    monkeypatch.chdir(project / "researchproj")  # anywhere inside the work tree, as capture found it
    plan = rebuild(lock_path, target="venv", dest=tmp_path / "env", dry_run=True)
    assert isinstance(plan, Plan)
    item = next(i for i in plan.items if i.name == "researchproj")
    assert item.origin == f"{project} (local project)"
    assert "built into a wheel (PEP 517) and installed" in item.note and "editable" in item.note
    # The lock beside the project, run from elsewhere: its folder is the project (an imported pylock's ".").
    monkeypatch.chdir(tmp_path)
    plan = rebuild(lock_path, target="venv", dest=tmp_path / "env", dry_run=True)
    assert isinstance(plan, Plan) and any(i.origin == f"{project} (local project)" for i in plan.items)
    assert "researchproj" in plan.describe() and "local project" in plan.describe()


def test_rebuild_with_project_builds_and_verifies(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, lock_path = research
    monkeypatch.chdir(tmp_path)  # outside the project: --project names it
    result = rebuild(lock_path, target="venv", dest=tmp_path / "env", project=project)
    assert isinstance(result, RebuildResult) and result.verify is not None
    # The lock installs it editable, the rebuild a wheel of it: a warning (test_editable_project_...).
    assert result.verify.identical, [d.describe() for d in result.verify.differences]
    assert ("researchproj", "source") in [(d.subject, d.what) for d in result.verify.by_severity("warning")]
    out = subprocess.run(
        [str(tmp_path / "env" / "bin" / "python"), "-c", "import researchproj; print(researchproj.ANSWER)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "42"


def test_bundle_holds_the_built_wheel_and_rebuilds_offline(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, lock_path = research
    monkeypatch.chdir(project)
    result = make_bundle(
        lockfile.load(lock_path), tmp_path / "bundle", BundleOptions(project_dir=project, cache_dir=tmp_path / "cache")
    )
    art = result.lock.package("researchproj").artifact  # type: ignore[union-attr]
    assert art is not None and art.rebuilt and (tmp_path / "bundle" / "wheels" / art.filename).is_file()
    monkeypatch.chdir(tmp_path)  # the reader's machine: no project, no network
    rebuilt = rebuild(lock_path, target="venv", dest=tmp_path / "env", bundle=tmp_path / "bundle", offline=True)
    assert isinstance(rebuilt, RebuildResult) and rebuilt.verify is not None and rebuilt.verify.identical
    assert ("researchproj", "source") in [(d.subject, d.what) for d in rebuilt.verify.by_severity("warning")]


def _direct_url(venv: Path) -> str:
    [dist] = venv.glob("lib/python*/site-packages/researchproj-*.dist-info")
    found = dist / "direct_url.json"
    return found.read_text() if found.is_file() else ""


def test_editable_project_rebuilt_from_a_wheel_is_said_and_refused_by_strict(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """The lock records the project editable (``uv pip install -r pylock.toml`` installs it so); the rebuild
    installed the bundle's wheel of it and verify said only info. Now the plan says what it installs and verify
    warns of the difference (exit 1 with --strict); ``uv pip install -e`` of the project makes it the locked one."""
    project, lock_path = research
    monkeypatch.chdir(project)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    bundle, dest = tmp_path / "bundle", tmp_path / "env"
    assert cli("bundle", lock_path, "-o", bundle).code == 0
    planned = cli("rebuild", lock_path, "--bundle", bundle, "--offline", "--dest", dest, "--dry-run")
    assert planned.code == 0, planned.err
    python = dest / "bin" / "python"
    assert (
        "  note: researchproj 0.4.0 is editable in the lock: installed from a wheel built from it, a "
        "regular install, which verify reports as a warning; "
        f"`uv pip install --python {python} --no-deps -e {project}` afterwards installs it as locked"
    ) in planned.out.splitlines()
    done = cli("rebuild", lock_path, "--bundle", bundle, "--offline", "--dest", dest)
    assert done.code == 0, done.out + done.err  # a warning (docs/cli.md, exit codes)
    # Verified in the project, as the plan names it: the project's folder, one shell word.
    assert (
        "  python: researchproj: source editable {project} -> a wheel (the lock installs it editable, this is a "
        f"regular install: edits to the project do not reach it; `pip install --no-deps -e {shlex.quote(str(project))}`"
        " installs it as locked)"
    ) in done.out.splitlines(), done.out
    assert '"editable":true' not in _direct_url(dest).replace(" ", "")
    strict = cli("verify", lock_path, "--python", dest / "bin" / "python", "--strict")
    assert strict.code == 1, strict.out + strict.err
    uv = shutil.which("uv")
    assert uv is not None
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), "--no-deps", "-e", str(project)], check=True)
    assert '"editable":true' in _direct_url(dest).replace(" ", "")
    verified = cli("verify", lock_path, "--python", python, "--strict")
    assert verified.code == 0 and "identical: the Python layer matches the lock" in verified.out, verified.out


def test_a_rebuild_run_outside_the_project_names_its_folder_in_verifys_warning_as_in_its_plan(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """Run from outside the project, the rebuild reads ``{project}`` as the work tree around the lock's folder and its
    plan names the project's folder in the command that installs it as locked; the verify after it read ``{project}``
    as the work tree around the working directory (none) and said `-e DIR`. It reads it as the rebuild does."""
    project, lock_path = research
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    bundle, dest = tmp_path / "bundle", tmp_path / "env"
    assert cli("bundle", lock_path, "-o", bundle).code == 0
    done = cli("rebuild", lock_path, "--bundle", bundle, "--offline", "--dest", dest)
    assert done.code == 0, done.out + done.err
    folder = shlex.quote(str(project))
    planned = f"`uv pip install --python {dest / 'bin' / 'python'} --no-deps -e {folder}` afterwards"
    assert planned in done.out + done.err, done.out + done.err
    assert f"`pip install --no-deps -e {folder}` installs it as locked)" in done.out, done.out


def test_a_rebuild_from_the_bundle_archive_names_its_wheel_as_from_the_folder(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """The same bundle rebuilt as a folder said "installed from the bundle's wheel built from it" of the editable
    project's RECORD, as an archive "installed from a wheel": the archive's wheel is named by its file and sha256
    (envsnap_bundle.json), not by a direct_url.json, which verify did not read. Both say the same now: nothing of its
    files, which the bundle's lock records as the wheel's (``artifact.built_record_digest``); the author's lock with
    the bundle verifies its editable install's RECORD, as before."""
    project, lock_path = research
    monkeypatch.chdir(project)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cli("bundle", lock_path, "-o", tmp_path / "bundle").code == 0
    assert cli("bundle", lock_path, "-o", tmp_path / "supp.tar.gz").code == 0
    monkeypatch.chdir(tmp_path)
    said = []
    for bundle, dest in (("bundle", "env1"), ("supp.tar.gz", "env2")):
        done = cli("rebuild", bundle, "--offline", "--dest", tmp_path / dest)
        assert done.code == 0, done.out + done.err
        said.append([line.split(" (", 1)[0] for line in done.out.splitlines() if "researchproj:" in line])
    assert said[0] == said[1] and not [line for line in said[0] if "record_digest" in line], said
    done = cli("rebuild", lock_path, "--bundle", "bundle", "--offline", "--dest", tmp_path / "env3")
    assert done.code == 0, done.out + done.err
    [line] = [line for line in done.out.splitlines() if "researchproj: record_digest" in line]
    assert line.endswith("(installed from the bundle's wheel built from it; an editable install's RECORD differs)")


_OTHER_PROJECTS = {
    "pyproject": {"pyproject.toml": '[project]\nname = "x"\nversion = "9"\n'},
    "poetry": {"pyproject.toml": '[tool.poetry]\nname = "x"\nversion = "9"\n'},
    "setup.cfg": {"setup.py": "from setuptools import setup\nsetup()\n", "setup.cfg": "[metadata]\nname = x\n"},
}


@pytest.mark.parametrize("layout", sorted(_OTHER_PROJECTS))
def test_a_rebuild_inside_another_git_project_does_not_take_it_for_the_locks_project(
    research: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., Any],
    layout: str,
) -> None:
    """A reader unpacks the bundle inside a git project of their own (``x``) and rebuilds there: ``{project}`` was
    that work tree, so the installed wheel's ``direct_url.json`` named it as the project's source and the note said
    ``uv pip install -e`` of it. A folder that declares another project is not the lock's: the wheel's URL is kept
    and the note names no folder. The name is read where each kind of project declares it (PEP 621, Poetry's own
    table, setuptools' ``setup.cfg``): only the first was read."""
    project, lock_path = research
    monkeypatch.chdir(project)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    bundle = tmp_path / "theirs" / "b"
    assert cli("bundle", lock_path, "-o", bundle).code == 0
    mine = tmp_path / "theirs"
    _git("init", "-q", cwd=mine)
    for name, text in _OTHER_PROJECTS[layout].items():
        (mine / name).write_text(text)
    monkeypatch.chdir(mine)
    dest = tmp_path / "env"
    args = ("rebuild", bundle / "envsnap.lock", "--bundle", bundle, "--offline", "--dest", dest)
    planned = cli(*args, "--dry-run")
    assert planned.code == 0, planned.err
    assert f"-e {mine}`" not in planned.out, planned.out
    assert "--no-deps -e DIR` afterwards, DIR its project folder (file://{project})," in planned.out, planned.out
    done = cli(*args)
    assert done.code == 0, done.out + done.err
    assert f"-e {mine}`" not in done.out
    recorded = _direct_url(dest)
    assert f'"file://{mine}"' not in recorded and "dir_info" not in recorded and ".whl#sha256=" in recorded, recorded


def test_project_option_naming_another_project_says_which_it_is(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """``--project DIR`` naming a folder whose pyproject.toml declares another project: refused (exit 2) naming the
    project it is, not as "no project folder (no pyproject.toml ...)", which it has."""
    _project, lock_path = research
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "9"\n')
    monkeypatch.chdir(tmp_path)
    for command in (("pin", lock_path, "-o", tmp_path / "p.lock"), ("bundle", lock_path, "-o", tmp_path / "b")):
        result = cli(*command, "--project", other)
        assert result.code == 2, result.err
        assert "other: " + str(other) + " is the project 'x', so not the project researchproj 0.4.0" in result.err
        assert "no pyproject.toml" not in result.err


def test_the_docker_plan_says_an_editable_project_is_a_regular_install_in_the_image(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """The venv plan said what becomes of the project the lock installs editable; the docker plan, whose image
    holds the same regular install (and verify warns of it there too), said nothing."""
    project, lock_path = research
    monkeypatch.chdir(project)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    bundle = tmp_path / "bundle"
    assert cli("bundle", lock_path, "-o", bundle).code == 0
    planned = cli(
        "rebuild", lock_path, "--target", "docker", "--bundle", bundle, "--dest", tmp_path / "ctx", "--dry-run"
    )
    assert (
        "  note: researchproj 0.4.0 is editable in the lock: installed from a wheel built from it, a regular install, "
        "which verify reports as a warning (an image cannot hold an editable install of a folder of this machine)"
    ) in planned.out.splitlines(), planned.out + planned.err


def test_without_the_project_nothing_is_fetched_and_the_error_names_it(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    _project, original = research
    lock_path = tmp_path / "shared" / "envsnap.lock"  # the lock alone, away from the project (its folder is the
    lock_path.parent.mkdir()  # last guess at {project})
    shutil.copy(original, lock_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the check's capture cache may go there
    with pytest.raises(RebuildError, match=r"researchproj 0.4.0: .* is not the project .*--project DIR"):
        rebuild(lock_path, target="venv", dest=tmp_path / "env", dry_run=True)
    with pytest.raises(BundleError, match=r"nothing was fetched: researchproj 0.4.0: recorded inside the project"):
        make_bundle(lockfile.load(lock_path), tmp_path / "bundle", BundleOptions(cache_dir=tmp_path / "cache"))
    assert not (tmp_path / "bundle").exists() and not (tmp_path / "cache").exists()
    assert not (tmp_path / "xdg" / "envsnap" / "artifacts").exists()  # nor into the default download cache
    result = cli("pin", lock_path, "-o", tmp_path / "pinned.lock", "--project", tmp_path / "nowhere")
    assert result.code == 2 and "--project" in result.err


@pytest.mark.parametrize("recorded", ["file://{project}/libs/mylib", "file://~/libs/mylib"])
def test_a_local_git_package_is_built_from_its_path_on_this_machine(
    recorded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install git+file:///home/me/libs/mylib`` is recorded as VCS with the home or project label: the
    bundle clones that repository at the commit and builds a wheel (git cannot clone 'file://~/...')."""
    from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source

    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    root = tmp_path / "home"
    repo = root / "libs" / "mylib"
    (repo / "mylib").mkdir(parents=True)
    (repo / "mylib" / "__init__.py").write_text("X = 1\n")
    (repo / "pyproject.toml").write_text(PYPROJECT.replace("researchproj", "mylib").replace("0.4.0", "1.1.0"))
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-q", "-m", "lib", cwd=repo)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.setenv("HOME", str(root))
    lock = Snapshot(
        python=PythonEnv(
            version="3.11.7",
            packages=(
                PythonPackage(
                    name="mylib", version="1.1.0", source=Source(kind="vcs", vcs="git", url=recorded, commit_id=commit)
                ),
            ),
        )
    )
    try:
        result = make_bundle(lock, tmp_path / "bundle", BundleOptions(project_dir=root, cache_dir=tmp_path / "c"))
    except BundleError as exc:
        if "build" in str(exc) and "index" in str(exc).lower():
            pytest.skip(f"the build backend comes from the index: {exc}")
        raise
    art = result.lock.package("mylib").artifact  # type: ignore[union-attr]
    assert art is not None and art.rebuilt and art.filename.startswith("mylib-1.1.0-")
    assert art.url == f"git+{recorded}@{commit}"


def test_a_local_git_package_outside_the_project_and_home_needs_allow_url_and_pin_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """``pip install git+file:///srv/libs/mylib``, outside the project and the home: the docs said it "is cloned at
    its commit and built the same way", ``pin`` said only "built from source", and ``bundle`` refused it (exit 2).
    A repository a lock names on this machine is read only where the user allows it (docs/security.md): pin now says
    so, naming ``--allow-url``, and bundle builds it with the option."""
    from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source

    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    repo = tmp_path / "srv" / "libs" / "mylib"
    (repo / "mylib").mkdir(parents=True)
    (repo / "mylib" / "__init__.py").write_text("X = 1\n")
    (repo / "pyproject.toml").write_text(PYPROJECT.replace("researchproj", "mylib").replace("0.4.0", "1.1.0"))
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-q", "-m", "lib", cwd=repo)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    source = Source(kind="vcs", vcs="git", url=f"file://{repo}", commit_id=commit)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("mylib", "1.1.0", source=source),)))
    lock_path = lockfile.dump(lock, work / "env.lock")
    pinned = cli("pin", lock_path, "-o", work / "pinned.lock")
    assert pinned.code == 0, pinned.err
    # The package's own line (the summary above it counts: ``1 needs --allow-url``).
    needs = [line for line in pinned.err.splitlines() if line.strip().startswith("needs --allow-url ")]
    assert needs and "mylib 1.1.0" in needs[0] and f"git URL {repo} " in needs[0], pinned.err
    # The note below says "the pattern is named above": the line names it, the repository's own path (it said
    # only ``--allow-url PATTERN``).
    assert f"--allow-url {repo} " in needs[0] and "PATTERN" not in needs[0], needs
    assert "(the pattern is named above)" in pinned.err, pinned.err
    refused = cli("bundle", lock_path, "-o", tmp_path / "bundle")
    assert refused.code == 2 and "--allow-url" in refused.err, refused.err
    allowed = cli("pin", lock_path, "-o", work / "pinned.lock", "--allow-url", str(repo))
    assert allowed.code == 0 and "needs --allow-url" not in allowed.err, allowed.err
    bundled = cli("bundle", lock_path, "-o", tmp_path / "bundle", "--allow-url", str(repo))
    if bundled.code != 0 and "build" in bundled.err and "index" in bundled.err.lower():
        pytest.skip(f"the build backend comes from the index: {bundled.err}")
    assert bundled.code == 0, bundled.err
    art = lockfile.load(tmp_path / "bundle" / "envsnap.lock").package("mylib").artifact  # type: ignore[union-attr]
    assert art is not None and art.rebuilt and art.url == f"git+file://{repo}@{commit}"


LAB_BACKEND = """\
import base64, hashlib, os, tomllib, zipfile


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    name, version = project["name"], project["version"]
    dist = f"{name}-{version}"
    with open(f"{name}/__init__.py", "rb") as f:
        files = {f"{name}/__init__.py": f.read()}
    files[f"{dist}.dist-info/METADATA"] = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n".encode()
    files[f"{dist}.dist-info/WHEEL"] = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    digest = lambda v: base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b"=").decode()
    record = "".join(f"{k},sha256={digest(v)},{len(v)}\\n" for k, v in files.items()) + f"{dist}.dist-info/RECORD,,\\n"
    files[f"{dist}.dist-info/RECORD"] = record.encode()
    filename = f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return filename
"""


@pytest.mark.parametrize("builder", ["uv", "pip"])
def test_bundle_offline_builds_local_projects_with_the_build_backend_from_a_find_links_folder(
    builder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a node without network, a project installed editable and a lab library installed from
    ``git+file://`` at a commit are all on the machine, and the build backend's wheel is in the lab's find-links
    folder: ``bundle --offline`` refused each of them ('--offline forbids building one'). They are built with no
    index, the build's requirements taken from the find-links folders on this machine only; a git URL that is not
    on this machine is refused before anything is built, in one line naming it."""
    from envsnap.artifacts.pin import IndexConfig
    from envsnap.model import PythonEnv, PythonPackage, Snapshot, Source

    sys.path.insert(0, str(Path(__file__).parent.parent / "artifacts"))
    from test_pin import make_wheel

    wheels = tmp_path / "lab-wheels"
    make_wheel(wheels, "labbackend", "1.0", body=LAB_BACKEND)
    pyproject = (
        '[build-system]\nrequires = ["labbackend"]\nbuild-backend = "labbackend"\n'
        '[project]\nname = "{0}"\nversion = "{1}"\n'
    )

    def project(at: Path, name: str, version: str) -> Path:
        (at / name).mkdir(parents=True)
        (at / name / "__init__.py").write_text("X = 1\n")
        (at / "pyproject.toml").write_text(pyproject.format(name, version))
        _git("init", "-q", cwd=at)
        _git("add", ".", cwd=at)
        _git("commit", "-q", "-m", name, cwd=at)
        return at

    research = project(tmp_path / "research", "research", "0.5.0")
    labgit = project(tmp_path / "labgit", "labgit", "0.3.0")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=labgit, capture_output=True, text=True).stdout.strip()
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    if builder == "pip":
        monkeypatch.setenv("ENVSNAP_NO_UV", "1")
    packages = [
        PythonPackage(
            name="research", version="0.5.0", source=Source(kind="directory", url="file://{project}", editable=True)
        ),
        PythonPackage(
            name="labgit", version="0.3.0", source=Source(kind="vcs", vcs="git", url=labgit.as_uri(), commit_id=commit)
        ),
    ]
    options = BundleOptions(
        config=IndexConfig(index_url=(tmp_path / "no-index").as_uri(), find_links=(str(wheels),)),
        cache_dir=tmp_path / "cache",
        project_dir=research,
        offline=True,
        allow_urls=(labgit.as_uri(),),
    )
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=tuple(packages)))
    result = make_bundle(lock, tmp_path / "bundle", options)
    for name, version in (("research", "0.5.0"), ("labgit", "0.3.0")):
        art = result.lock.package(name).artifact  # type: ignore[union-attr]
        assert art is not None and art.rebuilt and art.filename == f"{name}-{version}-py3-none-any.whl", art
        assert (tmp_path / "bundle" / "wheels" / art.filename).is_file()

    remote = PythonPackage(
        name="remote",
        version="1.0",
        source=Source(kind="vcs", vcs="git", url="https://example.org/remote.git", commit_id=commit),
    )
    with pytest.raises(BundleError) as err:
        make_bundle(Snapshot(python=PythonEnv(version="3.11.7", packages=(remote,))), tmp_path / "b2", options)
    assert "https://example.org/remote.git" in str(err.value) and "--offline" in str(err.value), err.value
    assert "\n" not in str(err.value) and not (tmp_path / "b2").exists()


def test_a_docker_plan_of_the_authors_lock_with_its_bundle_names_the_lock_its_second_verify_reads(
    research: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """The docker target verifies an image built from the author's lock and its bundle against the author's lock,
    put in the verifying container as ``/envsnap-given.lock``; the plan said both verifies read ``/envsnap.lock``
    (the bundle's). Its step names the lock each reads; the bundle's own lock is verified as ``/envsnap.lock`` twice."""
    import json

    project, lock_path = research
    monkeypatch.chdir(project)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cli("bundle", lock_path, "-o", tmp_path / "B").code == 0
    args = ["--target", "docker", "--bundle", tmp_path / "B", "--dest", tmp_path / "ctx", "--dry-run"]
    given = cli("rebuild", lock_path, *args)
    assert given.code == 0, given.out + given.err
    [step] = [line.strip() for line in given.out.splitlines() if "last build step" in line]
    assert step == (
        "5. envsnap verify /envsnap.lock (the bundle's lock) as the last build step, then envsnap verify "
        "/envsnap-given.lock (the lock given, without the files of the wheels the bundle built) in a container with "
        "no network"
    ), given.out
    shown = cli("rebuild", lock_path, *args, "--json")
    assert any("/envsnap-given.lock" in s for s in json.loads(shown.out)["steps"]), shown.out
    own = cli("rebuild", tmp_path / "B" / "envsnap.lock", *args)
    assert own.code == 0, own.out + own.err
    [step] = [line.strip() for line in own.out.splitlines() if "last build step" in line]
    assert step == "5. envsnap verify /envsnap.lock as the last build step, then again in a container with no network"
