"""Importing files written by other tools, with the inputs that trip parsers up."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conda_lock.lockfile import parse_conda_lock_file
from testutil import CliResult, dump_unchecked, in_tree_project
from wheelfiles import build_wheel

from envsnap import importers, lockfile
from envsnap.errors import LockImportError
from envsnap.importers.interface import ImportOptions
from envsnap.model import Snapshot, Source

A, B, C, D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
WHEEL = "demo-1.0-py3-none-any.whl"

REQUIREMENTS = f"""\
# pip-compile --generate-hashes style, with every awkward thing at once
--index-url https://pypi.org/simple/
--extra-index-url https://download.pytorch.org/whl/cu121

Foo.Bar[extra1,Extra-2]==1.0 ; python_version >= "3.8" \\
    --hash=sha256:{A}
    # via -r requirements.in
winonly==1.0 ; sys_platform == "win32" --hash=sha256:{B}
torch==2.3.0+cu121 --hash=sha256:{C}  # local version label
multi==2.0 \\
    --hash=sha256:{A} \\
    --hash=sha256:{B}
mylib @ git+https://github.com/example/mono.git@0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c#subdirectory=python/mylib
-e git+https://github.com/example/tool.git@1234567890abcdef1234567890abcdef12345678#egg=tool
localpkg @ file:///srv/d%C3%A9j%C3%A0/localpkg
-e ./src/projét
"""


@pytest.fixture
def requirements_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # pip reads ``-e ./src/projét`` from the working directory
    project = tmp_path / "src" / "projét"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "My_Project"\nversion = "0.1"\n', encoding="utf-8")
    path = tmp_path / "requirements.txt"
    path.write_text(REQUIREMENTS, encoding="utf-8")
    return path


def test_requirements_tricky_inputs(requirements_file: Path) -> None:
    snap = importers.read_file(requirements_file)
    pkgs = {p.name: p for p in snap.python.packages}
    if sys.platform != "win32":
        assert "winonly" not in pkgs  # its marker is false on this host
    foo = pkgs["foo-bar"]  # normalised; extras dropped (--no-deps installs do not use them)
    assert (foo.version, foo.metadata_name) == ("1.0", "Foo.Bar")
    # The file names PyPI and an --extra-index-url and not which holds foo-bar: it is recorded on both, pin looks on
    # each with its hash deciding (it was recorded on PyPI alone, a guess).
    pypi, cu121 = "https://pypi.org/simple", "https://download.pytorch.org/whl/cu121"
    assert foo.artifact is None and [(c.sha256, c.index) for c in foo.candidates] == [(A, pypi), (A, cu121)]
    torch = pkgs["torch"]
    assert torch.version == "2.3.0+cu121"
    assert torch.artifact is not None and torch.artifact.index == "https://download.pytorch.org/whl/cu121"
    assert pkgs["multi"].artifact is None  # several files: every hash is kept for pin to choose from
    assert [(c.sha256, c.index) for c in pkgs["multi"].candidates] == [(A, pypi), (A, cu121), (B, pypi), (B, cu121)]
    assert any("markers were evaluated for this host" in w for w in snap.envsnap.warnings)
    assert pkgs["mylib"].source == Source(
        kind="vcs",
        url="https://github.com/example/mono.git",
        vcs="git",
        commit_id="0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
        requested_revision="0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",  # what @REV asks for, as pip records it
        subdirectory="python/mylib",
    )
    assert pkgs["tool"].source.editable and pkgs["tool"].source.commit_id.startswith("1234")
    assert pkgs["localpkg"].source == Source(kind="directory", url="file:///srv/d%C3%A9j%C3%A0/localpkg")
    # The folder's name is not ASCII (its URL is percent-encoded); a project name must be (PEP 508).
    project = pkgs["my-project"]
    assert project.metadata_name == "My_Project"
    assert project.source == Source(kind="directory", url="file://{project}/src/proj%C3%A9t", editable=True)
    assert snap.envsnap.origin == "requirements"
    # The imported lock is a valid envsnap lock: it survives the TOML round trip with its digest.
    assert lockfile.loads(lockfile.dumps(snap)).python == snap.python


def test_a_folder_of_a_monorepo_keeps_its_subdirectory(tmp_path: Path) -> None:
    """``tool @ file:///srv/mono#subdirectory=pkgs/tool`` (pip installs the project in that folder) was imported as
    the repository's root folder: the lock named another project, and a bundle or rebuild built that one."""
    path = tmp_path / "requirements.txt"
    path.write_text(
        "tool @ file:///srv/mono#subdirectory=pkgs/tool\nother @ file:///srv/mono#egg=other&subdirectory=pkgs/o\n"
    )
    snap = importers.read_file(path)
    pkgs = {p.name: p.source for p in snap.python.packages}
    assert pkgs["tool"] == Source(kind="directory", url="file:///srv/mono", subdirectory="pkgs/tool")
    assert pkgs["other"] == Source(kind="directory", url="file:///srv/mono", subdirectory="pkgs/o")
    assert lockfile.loads(lockfile.dumps(snap)).python == snap.python
    path.write_text("tool @ file:///srv/mono#subdirectory=../elsewhere\n")
    with pytest.raises(LockImportError, match="subdirectory"):
        importers.read_file(path)


@pytest.mark.parametrize("line", ["--editable=./proj", "-e./proj"])
def test_an_editable_option_with_its_value_attached_is_read_as_pip_reads_it(
    line: str, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip reads ``--editable=./proj`` and ``-e./proj`` in a requirements file as ``-e ./proj`` (its option parser),
    and installs the project editable; the import read the line as a path named ``--editable=./proj`` and refused it
    ("no such folder in the working directory") with the folder there. It is the same lock as ``-e ./proj``'s."""
    import subprocess

    in_tree_project(tmp_path / "proj", "labproj", "0.2.0")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "attached.txt").write_text(f"{line}\n")
    (tmp_path / "spaced.txt").write_text("-e ./proj\n")
    # What pip makes of the line: the project installed editable from that folder.
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=300)
    pip = [str(tmp_path / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    subprocess.run(
        [*pip, "--no-build-isolation", "-r", "attached.txt"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (info,) = (tmp_path / "venv" / "lib").glob("python3*/site-packages/labproj-0.2.0.dist-info")
    assert json.loads((info / "direct_url.json").read_text()) == {
        "dir_info": {"editable": True},
        "url": (tmp_path / "proj").as_uri(),
    }
    for name in ("attached", "spaced"):
        result = cli("import", f"{name}.txt", "-o", f"{name}.lock")
        assert result.code == 0, result
    attached, spaced = (lockfile.load(tmp_path / f"{n}.lock") for n in ("attached", "spaced"))
    assert attached.python.packages == spaced.python.packages
    (pkg,) = attached.python.packages
    assert (pkg.name, pkg.version, pkg.source.kind, pkg.source.editable) == ("labproj", "0.2.0", "directory", True)


def test_an_editable_project_in_a_subdirectory_is_read_as_pip_freeze_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip freeze`` writes an editable VCS install of a monorepo's project as ``-e git+URL@COMMIT#egg=tool&
    subdirectory=pkgs/tool``: the import refused it ("VCS reference without a commit"), refused the fragment's
    other order ("without #egg=NAME"), and read ``-e file:///mono#subdirectory=pkgs/tool`` in the repository's root
    ("cannot tell the name of the editable project")."""
    monkeypatch.chdir(tmp_path)
    project = tmp_path / "mono" / "pkgs" / "tool"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "tool"\nversion = "1.0"\n', encoding="utf-8")
    commit = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
    git = Source(
        kind="vcs",
        url="https://g/mono.git",
        vcs="git",
        commit_id=commit,
        requested_revision=commit,
        subdirectory="pkgs/tool",
        editable=True,
    )
    path = tmp_path / "requirements.txt"
    for fragment in ("egg=tool&subdirectory=pkgs/tool", "subdirectory=pkgs/tool&egg=tool"):
        path.write_text(f"-e git+https://g/mono.git@{commit}#{fragment}\n")
        [pkg] = importers.read_file(path).python.packages
        assert (pkg.name, pkg.source) == ("tool", git)
    for target in (f"{(tmp_path / 'mono').as_uri()}#subdirectory=pkgs/tool", "./mono#subdirectory=pkgs/tool"):
        path.write_text(f"-e {target}\n")
        [pkg] = importers.read_file(path).python.packages
        folder = Source(kind="directory", url="file://{project}/mono", subdirectory="pkgs/tool", editable=True)
        assert (pkg.name, pkg.source) == ("tool", folder)
    path.write_text("-e ./mono#subdirectory=../mono/pkgs/tool\n")
    with pytest.raises(LockImportError, match="subdirectory"):
        importers.read_file(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("numpy>=1.0 --hash=sha256:" + A, "not an exact pin"),
        ("-r other.txt", "includes another file"),
        ("numpy==1.0\nnumpy==1.0", "listed twice"),
        ("lib @ git+https://github.com/x/y.git", "without a commit"),
        ("-e ./nowhere", "./nowhere: no such folder"),
        # A lock file's marker variables, which no requirement's context defines: packaging's KeyError, a traceback.
        ('numpy==1.0 ; extras == "x"', "cannot evaluate.*'extras' is not a requirement's marker variable"),
        ('numpy==1.0 ; "dev" in dependency_groups', "cannot evaluate.*'dependency_groups' is not"),
    ],
)
def test_requirements_bad_input(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(line + "\n")
    with pytest.raises(LockImportError, match=message):
        importers.read_file(path)


def test_a_file_naming_two_indexes_records_each_package_on_both(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A file naming ``--index-url`` and ``--extra-index-url`` does not say which holds each package: the lock
    recorded every one on the ``--index-url`` (and warned that the extra index was not recorded), so pin looked for a
    package only the extra index has on the other. Each is recorded on both, by its hash, which decides the file pin
    takes, and no warning is given; a ``+local`` version, which PyPI refuses, is on the one extra index."""
    alpha, beta = "https://alpha.example/simple", "https://beta.example/simple"
    path = tmp_path / "requirements.txt"
    path.write_text(
        f"--index-url {alpha}\n--extra-index-url {beta}\npa==1.0 --hash=sha256:{A}\npb==1.0 --hash=sha256:{B}\n"
    )
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0 and "warning:" not in result.err, result.err
    lock = lockfile.load(tmp_path / "out.lock")
    assert {p.name: [(c.sha256, c.index) for c in p.candidates] for p in lock.python.packages} == {
        "pa": [(A, alpha), (A, beta)],
        "pb": [(B, alpha), (B, beta)],
    }
    path.write_text(f"--extra-index-url {beta}\ntorch==2.5.1+cu121 --hash=sha256:{A}\npa==1.0 --hash=sha256:{B}\n")
    result = cli("import", path, "-o", tmp_path / "local.lock")
    assert result.code == 0 and "warning:" not in result.err, result.err
    torch = lockfile.load(tmp_path / "local.lock").package("torch")
    assert torch is not None and torch.artifact is not None and torch.artifact.index == beta


@pytest.mark.parametrize("option", ["--index-url", "--extra-index-url"])
@pytest.mark.parametrize("char", ["\x1b[31m", "\u202e"])
def test_an_index_url_with_a_control_or_bidi_character_is_refused_on_its_line(
    tmp_path: Path, cli: Callable[..., Any], option: str, char: str
) -> None:
    """An index URL holding an escape was refused as ``envsnap.warnings[1]: not a valid text`` (the warning naming
    an unrecorded extra index), or as a package's ``artifact.index``, fields the file does not have; a
    bidirectional formatting character went into the lock's warnings, to reorder what a reader of the lock sees.
    No index URL holds either (the lock's URLs may not): the file's line and option are named, not the URL."""
    path = tmp_path / "requirements.txt"
    path.write_text(f"pa==1.0 --hash=sha256:{A}\n{option} https://example.org/{char}x/simple\n")
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 2 and "Traceback" not in result.err, result
    assert result.err.strip() == (
        f"envsnap: error: {path}:2: {option}: the URL holds a control or bidirectional formatting character, which "
        "no index URL does"
    ), result.err
    assert not (tmp_path / "out.lock").exists()


def test_a_constraints_line_is_noted_and_the_pins_stand(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """``-c constraints.txt`` in a requirements file was refused as "includes another file", though a constraints file
    adds no package and each requirement here is pinned. The pins stand; the line is named in a warning by its number
    (its path may be a private folder's, or a URL with a token), and the file is never read, even where it exists."""
    (tmp_path / "constraints.txt").write_text("six==1.17.0\nidna==3.20\n")
    path = tmp_path / "requirements.txt"
    token = "https://user:s3cret@example.invalid/constraints.txt"
    path.write_text(f"-c constraints.txt\n--constraint={token}\nsix==1.16.0 --hash=sha256:{A}\n")
    result = cli("import", path, "-o", tmp_path / "out.lock")
    assert result.code == 0, result.err
    said = [
        f"warning: import: line {n}: {option} (a constraints file) is not read: it adds no package, and the lock "
        "records the pins this file lists"
        for n, option in ((1, "-c"), (2, "--constraint"))
    ]
    assert [line for line in result.err.splitlines() if line.startswith("warning:")] == said
    lock = lockfile.load(tmp_path / "out.lock")
    assert [(p.name, p.version) for p in lock.python.packages] == [("six", "1.16.0")]
    assert "s3cret" not in (tmp_path / "out.lock").read_text()
    path.write_text("-c\nsix==1.16.0\n")
    result = cli("import", path, "-o", tmp_path / "bare.lock")
    assert (result.code, result.err) == (2, f"envsnap: error: {path}:1: -c without a file\n")
    path.write_text("-r constraints.txt\n")  # an include still adds packages: refused, as before
    assert "includes another file" in cli("import", path, "-o", tmp_path / "r.lock").err


EXPLICIT = f"""\
# This file may be used to create an environment using:
# $ conda create --name <env> --file <this file>
# platform: linux-64
# created-by: conda 24.7.1
@EXPLICIT
https://conda.anaconda.org/conda-forge/linux-64/_libgcc_mutex-0.1-conda_forge.tar.bz2#d7c89558ba9fa0495403155b64376d81
https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda#ac68acfa8b558ed406c75e98d3428d7b
https://conda.anaconda.org/conda-forge/noarch/pip-24.2-pyh8b19718_1.conda#sha256:{D}
"""


def test_conda_explicit(tmp_path: Path) -> None:
    path = tmp_path / "explicit.txt"
    path.write_text(EXPLICIT)
    snap = importers.read_file(path)
    assert snap.envsnap.origin == "conda-explicit"
    assert snap.conda is not None and snap.conda.subdir == "linux-64"
    assert snap.conda.channels == ("https://conda.anaconda.org/conda-forge",)  # base URLs, as captured
    by_name = {p.name: p for p in snap.conda.packages}
    assert by_name["_libgcc_mutex"].build == "conda_forge"
    python = by_name["python"]
    assert (python.version, python.build, python.subdir, python.md5) == (
        "3.11.9",
        "hb806964_0_cpython",
        "linux-64",
        "ac68acfa8b558ed406c75e98d3428d7b",
    )
    assert by_name["pip"].sha256 == D and by_name["pip"].build_number == 1
    assert snap.python.version == "3.11.9" and snap.python.kind == "conda"
    assert (snap.platform.system, snap.platform.machine) == ("Linux", "x86_64")
    assert "python.packages" in snap.envsnap.unknown and "nvidia" in snap.envsnap.unknown
    assert lockfile.loads(lockfile.dumps(snap)) == lockfile.seal(snap)


CONDA_LOCK = f"""\
version: 1
metadata:
  content_hash:
    linux-64: {A}
    osx-arm64: {B}
  channels:
  - url: conda-forge
    used_env_vars: []
  platforms:
  - linux-64
  - osx-arm64
  sources:
  - environment.yml
package:
- name: python
  version: 3.11.9
  manager: conda
  platform: linux-64
  dependencies: {{}}
  url: https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda
  hash:
    md5: ac68acfa8b558ed406c75e98d3428d7b
    sha256: {C}
  category: main
  optional: false
- name: python
  version: 3.11.9
  manager: conda
  platform: osx-arm64
  dependencies: {{}}
  url: https://conda.anaconda.org/conda-forge/osx-arm64/python-3.11.9-h932a869_0_cpython.conda
  hash:
    md5: 293e0713ae804b5527a673e7605c04fc
    sha256: {D}
  category: main
  optional: false
- name: Typing_Extensions
  version: 4.12.2
  manager: pip
  platform: linux-64
  dependencies: {{}}
  url: https://files.pythonhosted.org/packages/26/9f/typing_extensions-4.12.2-py3-none-any.whl
  hash:
    sha256: {A}
  category: main
  optional: false
"""


def test_conda_lock(tmp_path: Path) -> None:
    path = tmp_path / "conda-lock.yml"
    path.write_text(CONDA_LOCK)
    parse_conda_lock_file(path)  # conda-lock itself accepts the sample
    with pytest.raises(LockImportError, match="choose one with --platform"):
        importers.read_file(path)
    snap = importers.read_file(path, options=ImportOptions(platform="linux-64"))
    assert snap.envsnap.origin == "conda-lock"
    assert snap.conda is not None and [p.name for p in snap.conda.packages] == ["python"]
    assert snap.conda.packages[0].sha256 == C
    (pip,) = snap.python.packages
    assert pip.name == "typing-extensions" and pip.artifact is not None and pip.artifact.sha256 == A
    assert pip.artifact.filename == "typing_extensions-4.12.2-py3-none-any.whl"
    assert (snap.platform.system, snap.platform.machine) == ("Linux", "x86_64")
    mac = importers.read_file(path, options=ImportOptions(platform="osx-arm64"))
    assert mac.platform.system == "Darwin" and mac.python.packages == ()
    with pytest.raises(LockImportError, match="no platform 'win-64'"):
        importers.read_file(path, options=ImportOptions(platform="win-64"))


@pytest.mark.parametrize(
    ("wheel", "why"),
    [
        ("requests-2.32.3-py3-none-any.whl", "the file is requests's, not typing-extensions's"),
        ("typing_extensions-4.11.0-py3-none-any.whl", "the file is of version 4.11.0, not 4.12.2"),
    ],
)
def test_a_conda_lock_pip_package_whose_url_names_another_projects_file_is_refused(
    tmp_path: Path, cli: Callable[..., CliResult], wheel: str, why: str
) -> None:
    """A conda-lock.yml whose pip package ``typing-extensions 4.12.2`` locks the URL of requests' wheel (or of
    another release) was imported as it was: the lock named a file that is not the package's, which pip refuses to
    install under that name, and whose sha256 pinned the other file. A conda package's URL of another archive, and a
    conda explicit file's ``# pip`` line naming another project's file, were refused already."""
    path = tmp_path / "conda-lock.yml"
    path.write_text(CONDA_LOCK.replace("typing_extensions-4.12.2-py3-none-any.whl", wheel))
    res = cli("import", path, "--platform", "linux-64", "-o", tmp_path / "out.lock")
    assert res.code == 2, res
    assert res.err == f"envsnap: error: {path}: package[2]: Typing_Extensions: {why} ({wheel})\n", res
    assert not (tmp_path / "out.lock").exists()


def test_a_conda_lock_whose_environment_yml_installs_a_project_editable_is_refused(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``conda-lock lock`` leaves ``-e ./sixfork`` of an environment.yml's pip section out of the lock (a warning of its
    own on its standard error) and locks ``six``, which another dependency needs, from the index: the import recorded
    the lock without a word, the lab's fork of ``six`` replaced by PyPI's release, which pin, bundle and rebuild
    fetched by its name. The source the lock names beside it is read: one line, exit 2, the project and the remedy."""
    import shutil

    folder = tmp_path / "lab"
    shutil.copytree(Path(__file__).parent / "fixtures" / "conda-lock-editable", folder)
    out = tmp_path / "out.lock"
    result = cli("import", folder / "conda-lock.yml", "-o", out)
    assert result.code == 2 and not out.exists(), result
    assert result.err == (
        f"envsnap: error: {folder / 'conda-lock.yml'}: its source 'environment.yml' installs './sixfork' editable "
        "(pip: '-e ./sixfork'), which conda-lock leaves out of the lock, and locked six 1.17.0 from the index in its "
        f"place: write it as 'six @ {(folder / 'sixfork').as_uri()}' in the pip: section and lock again (conda-lock "
        "locks that folder, recorded as a local project), or install the environment and `envsnap capture` it\n"
    )
    # A project no other package needs: left out all the same.
    pyproject = folder / "sixfork" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('name = "six"', 'name = "labsix"'))
    result = cli("import", folder / "conda-lock.yml", "-o", out)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "which conda-lock leaves out of the lock: write it as 'labsix @ file:///" in result.err, result.err
    # A repository installed editable: the line to lock it with is the repository's, not a folder's placeholder.
    env = folder / "environment.yml"
    env.write_text(
        env.read_text().replace("-e ./sixfork", "-e git+https://git.example.org/lab/six.git@3829a41#egg=six")
    )
    result = cli("import", folder / "conda-lock.yml", "-o", out)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert (
        ": write it as 'six @ git+https://git.example.org/lab/six.git@3829a41' in the pip: section and lock again "
        "(conda-lock locks the repository at the commit the URL names, recorded as a VCS checkout)"
    ) in result.err, result.err
    # Where the source is not beside the lock (copied elsewhere), or not inside its folder, it is not read.
    (folder / "environment.yml").rename(tmp_path / "environment.yml")
    assert cli("import", folder / "conda-lock.yml", "-o", out).code == 0
    lock = folder / "conda-lock.yml"
    lock.write_text(lock.read_text().replace("  - environment.yml", "  - ../environment.yml"))
    assert cli("import", lock, "-o", tmp_path / "up.lock").code == 0


@pytest.mark.parametrize("option", ["--editable ", "--editable=", "-e"])
def test_pips_other_spellings_of_an_editable_pip_entry_are_refused_as_its_short_form(
    option: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """pip's long form of ``-e ./sixfork``, ``--editable ./sixfork``, in an environment.yml's pip section: conda-lock
    4.0.3 stops at it with a traceback (``InvalidRequirement``, read as a package name), where the import of the
    environment.yml sent the user to ``conda-lock lock`` without a word of it, and the import of a conda-lock.yml
    beside it, written before the line was added, recorded the lock without the project. Both refuse it as they
    refuse ``-e``: one line, exit 2, with the line that locks the project."""
    import shutil

    from conda_lock.src_parser.environment_yaml import parse_environment_file
    from packaging.requirements import InvalidRequirement

    folder = tmp_path / "lab"
    shutil.copytree(Path(__file__).parent / "fixtures" / "conda-lock-editable", folder)
    env = folder / "environment.yml"
    env.write_text(env.read_text().replace("-e ./sixfork", f"{option}./sixfork"))
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("{}\n")
    with pytest.raises(InvalidRequirement):  # what conda-lock lock -f environment.yml does with it
        parse_environment_file(env, platforms=["linux-64"], mapping_url=str(mapping))
    written = f"six @ {(folder / 'sixfork').as_uri()}"
    result = cli("import", env, "-o", tmp_path / "out.lock")
    assert result.code == 2 and not (tmp_path / "out.lock").exists(), result
    assert result.err.count("\n") == 1 and result.err.endswith(
        f"but conda-lock lock -f environment.yml stops at its editable '{option}./sixfork' (pip:) with a traceback, "
        f"reading it as a package name, so the lock would not hold the project: write it as '{written}' in the pip: "
        "section first (conda-lock locks the folder, installed as a copy, not editable), or install the environment "
        "and `envsnap capture` it (the project recorded editable)\n"
    ), result.err
    result = cli("import", folder / "conda-lock.yml", "-o", tmp_path / "out.lock")
    assert result.code == 2 and not (tmp_path / "out.lock").exists(), result
    assert result.err == (
        f"envsnap: error: {folder / 'conda-lock.yml'}: its source 'environment.yml' installs './sixfork' editable "
        f"(pip: '{option}./sixfork'), which conda-lock cannot lock (it stops at that spelling with a traceback, "
        "reading it as a package name, and leaves '-e PATH' out of the lock): the lock does not hold it, and has six "
        f"1.17.0 from the index in its place: write it as '{written}' in the pip: section and lock again (conda-lock "
        "locks that folder, recorded as a local project), or install the environment and `envsnap capture` it\n"
    )
    # Both spellings in one file: each said as conda-lock treats it.
    env.write_text(env.read_text().replace("    - python-dateutil", "    - -e ./sixfork\n    - python-dateutil"))
    result = cli("import", env, "-o", tmp_path / "out.lock")
    assert (
        result.code == 2
        and (
            f"leaves out its editable '-e ./sixfork' (pip:) with only a warning and stops at its editable "
            f"'{option}./sixfork' (pip:) with a traceback"
        )
        in result.err
    ), result.err


def test_an_environment_yml_installing_a_project_editable_is_not_sent_to_conda_lock_alone(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``envsnap import environment.yml`` whose pip section holds ``-e ./sixfork`` answered "import a conda-lock.yml
    (conda-lock lock -f environment.yml ...)": conda-lock leaves the line out of its lock with only a warning, so the
    user lost the project (and got PyPI's ``six`` in its place). The answer says conda-lock leaves it out and gives
    the line conda-lock does lock, or a capture; conda-lock's own parser is asked what it keeps of each line."""
    import shutil

    from conda_lock.src_parser.environment_yaml import parse_environment_file

    folder = tmp_path / "lab"
    shutil.copytree(Path(__file__).parent / "fixtures" / "conda-lock-editable", folder)
    env = folder / "environment.yml"
    result = cli("import", env, "-o", tmp_path / "out.lock")
    written = f"six @ {(folder / 'sixfork').as_uri()}"
    assert result.code == 2 and not (tmp_path / "out.lock").exists(), result
    assert result.err == (
        f"envsnap: error: {env}: not a format envsnap can import (conda-explicit, conda-lock, json, pylock, "
        "requirements); an environment.yml names packages, not their files (no URL, no hash): "
        "import a conda-lock.yml or an explicit file instead, but conda-lock lock -f environment.yml leaves out its "
        "editable '-e ./sixfork' (pip:) with only a warning, so the lock would not hold the project: write it as "
        f"'{written}' in the pip: section first (conda-lock locks the folder, installed as a copy, not editable), or "
        "install the environment and `envsnap capture` it (the project recorded editable)\n"
    )

    # What conda-lock 4.0.3 keeps of each (its own parser, offline with an empty PyPI-to-conda mapping).
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("{}\n")

    def pip_names() -> set[str]:
        spec = parse_environment_file(env, platforms=["linux-64"], mapping_url=str(mapping))
        return {d.name for d in spec.dependencies["linux-64"] if d.manager == "pip"}

    assert pip_names() == {"python-dateutil"}  # the editable project is gone
    env.write_text(env.read_text().replace("-e ./sixfork", written))
    assert pip_names() == {"python-dateutil", "six"}
    again = cli("import", env, "-o", tmp_path / "out.lock").err.splitlines()[-1]
    assert again.endswith("or an explicit file (conda list --explicit --md5) instead") and "'-e " not in again

    # A repository installed editable: the line conda-lock locks is the repository's, not a folder's.
    git = "git+https://git.example.org/lab/tinygit.git@3829a41"
    env.write_text(env.read_text().replace(written, f"-e {git}#egg=tinygit"))
    result = cli("import", env, "-o", tmp_path / "out.lock")
    assert result.code == 2 and result.err.splitlines()[-1].endswith(
        f"editable '-e {git}#egg=tinygit' (pip:) with only a warning, so the lock would not hold the project: write "
        f"it as 'tinygit @ {git}' in the pip: section first (conda-lock locks the repository at the commit the URL "
        "names, installed as a copy, not editable), or install the environment and `envsnap capture` it (the "
        "project recorded editable)"
    ), result.err
    assert pip_names() == {"python-dateutil"}
    env.write_text(env.read_text().replace(f"-e {git}#egg=tinygit", f"tinygit @ {git}"))
    assert pip_names() == {"python-dateutil", "tinygit"}


def test_a_conda_lock_keeps_each_conda_packages_dependencies(tmp_path: Path) -> None:
    """conda-lock writes each record's dependencies (name: spec); the import dropped them, so the lock lost its
    depends and an `export -f conda-explicit` of it no longer put a package's dependencies first."""
    path = tmp_path / "conda-lock.yml"
    deps = "dependencies:\n    libzlib: '>=1.2.13,<2.0a0'\n    tzdata: '*'\n"
    path.write_text(CONDA_LOCK.replace("dependencies: {}\n", deps, 1))
    parse_conda_lock_file(path)
    snap = importers.read_file(path, options=ImportOptions(platform="linux-64"))
    assert snap.conda is not None and snap.conda.packages[0].depends == ("libzlib >=1.2.13,<2.0a0", "tzdata")
    path.write_text(CONDA_LOCK.replace("dependencies: {}\n", "dependencies: [libzlib]\n", 1))
    with pytest.raises(LockImportError, match=r"package\[0\]: dependencies: not a mapping$"):
        importers.read_file(path, options=ImportOptions(platform="linux-64"))


def test_two_conda_lock_imports_differ_by_a_dependency_one_of_them_lists_none_of(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """conda-lock writes every record's ``dependencies``; ``{}`` (none) is left out of the lock, as every default
    is, and diff took the missing field for one the format does not record: two conda-lock imports, python with no
    dependency and with ``libzlib``, read "other fields unknown: conda.packages[python].depends", exit 0. What the
    format records is compared with its default; what neither conda format records (the build number an import
    reads from the build string) stays unknown."""
    deps = "dependencies:\n    libzlib: '>=1.2.13,<2.0a0'\n"
    (tmp_path / "a.yml").write_text(CONDA_LOCK)
    (tmp_path / "b.yml").write_text(CONDA_LOCK.replace("dependencies: {}\n", deps, 1))
    for name in ("a", "b"):
        done = cli(
            "import",
            tmp_path / f"{name}.yml",
            "--from",
            "conda-lock",
            "--platform",
            "linux-64",
            "-o",
            tmp_path / f"{name}.lock",
        )
        assert done.code == 0, done.err
    result = cli("diff", tmp_path / "a.lock", tmp_path / "b.lock")
    assert result.code == 1 and "other fields differ: conda.packages[python].depends" in result.out, result.out

    # The build number no conda format records: an import reads 2 from the build string hb806964_2, which a capture
    # of a package built otherwise records as 0 (conda-meta's). That is unknown, not a difference (it read
    # "other fields differ: conda.packages[python].build_number", exit 1).
    (tmp_path / "c.yml").write_text(CONDA_LOCK.replace("hb806964_0_cpython", "hb806964_2"))
    done = cli("import", tmp_path / "c.yml", "--platform", "linux-64", "-o", tmp_path / "c.lock")
    assert done.code == 0, done.err
    imported = lockfile.load(tmp_path / "c.lock")
    assert imported.conda is not None and imported.conda.packages[0].build_number == 2
    captured = dataclasses.replace(
        imported,
        envsnap=dataclasses.replace(imported.envsnap, origin="", unknown=()),
        conda=dataclasses.replace(
            imported.conda, packages=tuple(dataclasses.replace(p, build_number=0) for p in imported.conda.packages)
        ),
    )
    lockfile.dump(captured, tmp_path / "captured.lock")
    result = cli("diff", tmp_path / "captured.lock", tmp_path / "c.lock")
    assert result.code == 0 and "unknown: conda.packages[python].build_number" in result.out, result.out


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name: python", "name: otherlib"),
        ("version: 3.11.9", 'version: "3.11.9\\e[2J"'),
    ],
)
def test_a_conda_lock_entry_whose_name_or_version_is_not_its_archives_is_refused(
    tmp_path: Path, field: str, value: str
) -> None:
    """The package is the archive its URL names: a name or version that contradicted it was dropped without a
    word (``otherlib`` recorded as python; a version with an escape sequence read as the archive's)."""
    path = tmp_path / "conda-lock.yml"
    path.write_text(CONDA_LOCK.replace(field, value, 1))
    with pytest.raises(LockImportError, match=f"package\\[0\\]: {field.split(':')[0]} .* is not the") as exc:
        importers.read_file(path, options=ImportOptions(platform="linux-64"))
    assert "\n" not in str(exc.value) and "\x1b" not in str(exc.value)


def test_a_conda_lock_entry_without_a_hash_is_named_in_a_warning(tmp_path: Path) -> None:
    """An explicit file's package without a hash is named in the import's warnings (a rebuild cannot check its
    archive); a conda-lock entry without one was taken without a word."""
    path = tmp_path / "conda-lock.yml"
    text = CONDA_LOCK.replace("  hash:\n    md5: ac68acfa8b558ed406c75e98d3428d7b\n    sha256: " + C + "\n", "", 1)
    assert text != CONDA_LOCK
    path.write_text(text)
    lock = importers.read_file(path, options=ImportOptions(platform="linux-64"))
    assert lock.envsnap.warnings == ("import: conda packages without a hash: python",)


def test_a_conda_lock_entry_whose_build_is_not_its_archives_is_refused(tmp_path: Path) -> None:
    """conda-lock writes each package's ``build`` beside its URL (envsnap's export does too); the import checked the
    name and the version against the archive, but a build that contradicted it was dropped without a word."""
    path = tmp_path / "conda-lock.yml"
    path.write_text(CONDA_LOCK.replace("  manager: conda\n", "  manager: conda\n  build: h0_0\n", 1))
    with pytest.raises(LockImportError) as exc:
        importers.read_file(path, options=ImportOptions(platform="linux-64"))
    assert str(exc.value) == (
        f"{path}: package[0]: build 'h0_0' is not the build of the archive its url names ('hb806964_0_cpython')"
    )
    path.write_text(CONDA_LOCK.replace("  manager: conda\n", "  manager: conda\n  build: hb806964_0_cpython\n", 1))
    parse_conda_lock_file(path)
    assert importers.read_file(path, options=ImportOptions(platform="linux-64")).envsnap.origin == "conda-lock"


@pytest.mark.parametrize(
    ("line", "instead", "said"),
    [
        ("  platform: linux-64\n", "", "package[0]: no platform"),
        (
            "  platform: linux-64\n",
            "  platform: linux64\n",
            "package[0]: platform 'linux64' is not one the file locks (linux-64, osx-arm64)",
        ),
        (
            "  - osx-arm64\n",
            '  - "osx-arm64\\e[2J"\n',
            "metadata.platforms: 'osx-arm64\\x1b[2J' is not a conda platform",
        ),
    ],
)
def test_a_conda_lock_entry_of_no_platform_the_file_locks_is_refused(
    tmp_path: Path, line: str, instead: str, said: str
) -> None:
    """An entry with no platform, or one the file's ``metadata.platforms`` does not name (a typo), was left out of
    every platform's import without a word: the lock lost that package, and a rebuild of it lacked it. The
    platforms the file names are shown in these messages, so each must be one (no escape sequence)."""
    path = tmp_path / "conda-lock.yml"
    path.write_text(CONDA_LOCK.replace(line, instead, 1))
    with pytest.raises(LockImportError) as exc:
        importers.read_file(path, options=ImportOptions(platform="linux-64"))
    assert str(exc.value) == f"{path}: {said}"


@pytest.mark.parametrize("fmt", ["conda-explicit", "conda-lock"])
def test_a_conda_package_of_another_platform_than_the_files_is_refused(
    tmp_path: Path, fmt: str, cli: Callable[..., CliResult]
) -> None:
    """A linux-64 file naming an osx-arm64 archive was imported as a linux-64 lock holding it: `check --target
    conda` passed it and the rebuild gave the osx-arm64 package to the installer. conda installs a platform's
    packages (and noarch ones) on that platform only."""
    path = tmp_path / ("explicit.txt" if fmt == "conda-explicit" else "conda-lock.yml")
    text = EXPLICIT if fmt == "conda-explicit" else CONDA_LOCK
    path.write_text(text.replace("conda-forge/linux-64/python-3.11.9", "conda-forge/osx-arm64/python-3.11.9", 1))
    result = cli("import", path, "--platform", "linux-64", "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists()
    assert result.err.strip().splitlines() == [
        f"envsnap: error: {path}: python 3.11.9 (hb806964_0_cpython) is an osx-arm64 package, not one for "
        "linux-64 or noarch: conda installs a platform's packages on it only"
    ]


def test_a_conda_lock_key_given_twice_is_refused_naming_the_key_and_its_line(tmp_path: Path) -> None:
    """PyYAML keeps the last value of a key given twice: the pip package was imported at the second version,
    silently. Which one the author meant is unknown, so the file is refused, as a TOML lock would be."""
    path = tmp_path / "conda-lock.yml"
    text = CONDA_LOCK.replace("version: 4.12.2\n", "version: 4.12.2\n  version: 9.9.9\n", 1)
    path.write_text(text)
    line = text.splitlines().index("  version: 9.9.9") + 1
    with pytest.raises(LockImportError, match=f"key 'version' appears twice \\(line {line}, column 3\\)$"):
        importers.read_file(path, options=ImportOptions(platform="linux-64"))
    # A mapping's own keys only: the same key in two mappings, or a merge key's override, is not ambiguous.
    path.write_text(CONDA_LOCK.replace("  optional: false\n", "  optional: false\n  <<: {optional: true}\n", 1))
    assert importers.read_file(path, options=ImportOptions(platform="linux-64")).envsnap.origin == "conda-lock"


def test_unrecognised_and_broken_files(tmp_path: Path) -> None:
    odd = tmp_path / "notes.md"
    odd.write_text("# hello\n")
    with pytest.raises(LockImportError, match="not a format envsnap can import"):
        importers.read_file(odd)
    bad = tmp_path / "pylock.toml"
    bad.write_text('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "Not Normal"\n')
    with pytest.raises(LockImportError, match="not a valid pylock file"):
        importers.read_file(bad)
    with pytest.raises(LockImportError, match="no such file"):
        importers.read_file(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "1.0" + "x" * 100_000),
        ("marker", "(" * 2000 + 'python_version >= "3"' + ")" * 2000),
    ],
    ids=["version", "marker"],
)
def test_a_pylock_value_packaging_refuses_is_shown_cut_short(
    tmp_path: Path, cli: Callable[..., CliResult], field: str, value: str
) -> None:
    """packaging's message quotes the whole value: a stranger's 100 KB version (or a marker nested deeper than
    packaging reads) became a 100 KB error line. The line names the field and shows the value cut short."""
    path = tmp_path / "pylock.toml"
    entry = {"version": '"1.0"', field: json.dumps(value)}
    path.write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "demo"\n'
        + "".join(f"{key} = {text}\n" for key, text in entry.items())
        + f'\n[[packages.wheels]]\nname = "{WHEEL}"\nurl = "https://files.example.org/{WHEEL}"\n'
        + f'hashes = {{ sha256 = "{A}" }}\n'
    )
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists()
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"envsnap: error: {path}: not a valid pylock file: ")
    assert f"in 'packages[0].{field}'" in line and len(line) < 400 + len(str(path))


LONG = "x" * 100_000


@pytest.mark.parametrize(
    "line",
    [
        f"./{LONG}.whl --hash=sha256:{A}",  # packaging's message quotes the file name
        f"demo @ https://files.example.org/{LONG}.whl --hash=sha256:{A}",
        f"--{LONG}",
        f"libs/{LONG}",
        f"demo>=1.{'0.' * 50_000}0 --hash=sha256:{A}",
    ],
    ids=["local-archive", "wheel-url", "option", "folder", "specifier"],
)
def test_a_requirements_line_with_a_long_bad_value_is_refused_in_a_short_line(
    tmp_path: Path, cli: Callable[..., CliResult], line: str
) -> None:
    """Each of these errors quoted the stranger's value whole: a 100 KB word was a 100 KB error line."""
    path = tmp_path / "requirements.txt"
    path.write_text(line + "\n")
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists()
    (error,) = result.err.strip().splitlines()
    assert error.startswith(f"envsnap: error: {path}:1: ") and len(error) < 500 + len(str(path))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("explicit.txt", f"@EXPLICIT\nhttps://conda.example.org/linux-64/{LONG}.conda#{'ab' * 16}\n"),
        ("explicit.txt", f"@EXPLICIT\nhttps://conda.example.org/linux-64/a-1-0.conda#{LONG}\n"),
        (
            "conda-lock.yml",
            "version: 1\nmetadata: {platforms: [linux-64], channels: []}\npackage:\n- name: a\n  version: '1'\n"
            f"  manager: {LONG}\n  platform: linux-64\n  url: https://conda.example.org/linux-64/a-1-0.conda\n"
            f"  hash: {{md5: {'ab' * 16}}}\n  dependencies: {{}}\n",
        ),
    ],
    ids=["explicit-url", "explicit-hash", "conda-lock-manager"],
)
def test_a_conda_file_with_a_long_bad_value_is_refused_in_a_short_line(
    tmp_path: Path, cli: Callable[..., CliResult], name: str, text: str
) -> None:
    """A conda package URL, an explicit file's hash and a conda-lock manager were quoted whole in the error."""
    path = tmp_path / name
    path.write_text(text)
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists()
    (error,) = result.err.strip().splitlines()
    assert error.startswith(f"envsnap: error: {path}") and len(error) < 500 + len(str(path))


def test_pylock_markers_are_evaluated_for_this_host(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(f"""\
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "everywhere"
version = "1.0"
wheels = [{{ url = "https://example.org/everywhere-1.0-py3-none-any.whl", hashes = {{ sha256 = "{A}" }} }}]

[[packages]]
name = "windows-only"
version = "1.0"
marker = "sys_platform == 'win32'"
wheels = [{{ url = "https://example.org/windows_only-1.0-py3-none-any.whl", hashes = {{ sha256 = "{B}" }} }}]

[[packages]]
name = "multi"
version = "2.0"
wheels = [
  {{ url = "https://example.org/multi-2.0-cp311-cp311-manylinux_2_17_x86_64.whl", hashes = {{ sha256 = "{C}" }} }},
  {{ url = "https://example.org/multi-2.0-cp311-cp311-win_amd64.whl", hashes = {{ sha256 = "{D}" }} }},
]
""")
    snap = importers.read_file(path)
    names = [p.name for p in snap.python.packages]
    if sys.platform != "win32":
        assert names == ["everywhere", "multi"]
        assert any("left out: windows-only" in w for w in snap.envsnap.warnings)
    everywhere = snap.python.packages[0]
    assert everywhere.artifact is not None
    assert everywhere.artifact.filename == "everywhere-1.0-py3-none-any.whl"
    assert snap.package("multi") is not None and snap.package("multi").artifact is None  # type: ignore[union-attr]
    multi = snap.package("multi")
    assert multi is not None and [c.filename for c in multi.candidates] == [
        "multi-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "multi-2.0-cp311-cp311-win_amd64.whl",
    ]


def test_credentials_and_tokens_are_not_imported(tmp_path: Path) -> None:
    # As `capture` does: the lock gets published, the file imported may be a private one.
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        f"--index-url https://user:s3cret@pypi.example/simple\nfoo==1.0 --hash=sha256:{A}\n"
        f"bar @ https://u:pw@files.example/bar-1.0-py3-none-any.whl --hash=sha256:{B}\n"
        "mylib @ git+https://oauth2:glpat@gitlab.example/g/mylib.git@" + "0" * 40 + "\n"
    )
    text = lockfile.dumps(importers.read_file(reqs))
    assert "s3cret" not in text and "pw@" not in text and "glpat" not in text
    assert 'index = "https://pypi.example/simple"' in text
    assert 'url = "https://files.example/bar-1.0-py3-none-any.whl"' in text
    assert 'url = "https://gitlab.example/g/mylib.git"' in text
    explicit = tmp_path / "explicit.txt"
    explicit.write_text(
        "# platform: linux-64\n@EXPLICIT\n"
        f"https://conda.anaconda.org/t/ab-12345678/mychan/linux-64/foo-1.0-h0_0.conda#{'c' * 32}\n"
    )
    snap = importers.read_file(explicit)
    assert snap.conda is not None and snap.conda.channels == ("https://conda.anaconda.org/mychan",)
    assert snap.conda.packages[0].url == "https://conda.anaconda.org/mychan/linux-64/foo-1.0-h0_0.conda"
    assert "ab-12345678" not in lockfile.dumps(snap)


def test_credentials_are_not_imported_into_the_candidate_files_either(tmp_path: Path) -> None:
    """A hashed requirement with several hashes, and a pylock package with several wheels, keep every file as a
    candidate: their index and URL kept a private index's user:password, into the lock and the bundle."""
    from envsnap._privacy import scrub_snapshot

    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        f"--index-url https://alice:s3cret@pypi.example/simple\nidna==3.20 --hash=sha256:{A} --hash=sha256:{B}\n"
    )
    pylock = tmp_path / "pylock.toml"
    wheel = "https://alice:s3cret@files.example/numpy-2.2.6-cp311-cp311-{}.whl"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "numpy"\nversion = "2.2.6"\n'
        'index = "https://alice:s3cret@pypi.example/simple"\n'
        + "".join(
            f'[[packages.wheels]]\nurl = "{wheel.format(tag)}"\nhashes = {{ sha256 = "{digest}" }}\n'
            for tag, digest in (("macosx_11_0_arm64", A), ("win_amd64", B))
        )
    )
    for source in (reqs, pylock):
        lock = importers.read_file(source)
        (pkg,) = lock.python.packages
        assert len(pkg.candidates) == 2, source
        text = lockfile.dumps(lock)
        assert "s3cret" not in text and "alice" not in text, text
        assert {c.index for c in pkg.candidates} == {"https://pypi.example/simple"}
    # And a lock written by an older envsnap, with them: every export and the bundle's lock scrub them.
    dirty = dataclasses.replace(
        pkg,
        candidates=tuple(
            dataclasses.replace(c, url=c.url.replace("files.example", "bob:pw@files.example")) for c in pkg.candidates
        ),
    )
    cleaned = scrub_snapshot(dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(dirty,))))
    assert "bob" not in lockfile.dumps(cleaned) and cleaned.python.packages[0].candidates == pkg.candidates


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_an_upload_time_past_what_utc_holds_is_one_line(tmp_path: Path, stamp: str) -> None:
    """A valid TOML datetime that names no moment in UTC ended the import in an OverflowError traceback."""
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "certifi"\nversion = "1.0"\n'
        f'[[packages.wheels]]\nurl = "https://files.example/certifi-1.0-py3-none-any.whl"\nupload-time = {stamp}\n'
        f'hashes = {{ sha256 = "{A}" }}\n'
    )
    with pytest.raises(LockImportError) as caught:
        importers.read_file(pylock)
    assert str(caught.value) == f"{pylock}: packages[0].wheels[0]: upload-time {stamp} is out of range"


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_an_archives_upload_time_survives_import_and_the_pylock_export(tmp_path: Path, tz: str) -> None:
    """PEP 751's ``packages.archive.upload-time`` was dropped by the import (its size and sha256 were kept), so the
    lock's pylock export wrote none. A time without an offset (a TOML local date-time) is UTC, as the lock reads
    one, whatever the importing machine's time zone: it was read as that zone's local time."""
    import time

    from envsnap.export import pylock as pylock_export

    before = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    pylock = tmp_path / "pylock.toml"
    url = "https://files.example/certifi-1.0-py3-none-any.whl"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "certifi"\nversion = "1.0"\n'
        f'[packages.archive]\nurl = "{url}"\nupload-time = 2024-05-01T12:00:00+02:00\nsize = 12\n'
        f'hashes = {{ sha256 = "{A}" }}\n'
        '[[packages]]\nname = "idna"\nversion = "3.7"\n'
        '[[packages.wheels]]\nurl = "https://files.example/idna-3.7-py3-none-any.whl"\n'
        f'upload-time = 2024-04-11T03:34:41\nhashes = {{ sha256 = "{B}" }}\n'
    )
    try:
        lock = importers.read_file(pylock)
        out = pylock_export.dumps(lock)
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
    certifi, idna = lock.python.packages
    assert certifi.source.kind == "archive" and certifi.artifact is not None
    assert certifi.artifact.upload_time == "2024-05-01T10:00:00Z"
    assert idna.artifact is not None and idna.artifact.upload_time == "2024-04-11T03:34:41Z"
    assert lockfile.loads(lockfile.dumps(lock)).python.packages == lock.python.packages
    assert f'[packages.archive]\nurl = "{url}"\nupload-time = 2024-05-01 10:00:00+00:00\nsize = 12\n' in out, out
    assert "upload-time = 2024-04-11 03:34:41+00:00\n" in out, out


def test_a_wheel_url_with_its_hash_in_the_fragment_is_read_as_pip_reads_it(tmp_path: Path) -> None:
    """``name @ URL.whl#sha256=HEX --hash=sha256:HEX`` (pip takes it) was refused: the fragment became part of the
    wheel's file name."""
    reqs = tmp_path / "requirements.txt"
    url = "https://files.example/certifi-1.0-py3-none-any.whl"
    for line in (f"certifi @ {url}#sha256={A} --hash=sha256:{A}", f"certifi @ {url}#sha256={A}"):
        reqs.write_text(line + "\n")
        (pkg,) = importers.read_file(reqs).python.packages
        # the archive install pip recorded (what pip freeze writes so), as a capture records it
        assert (pkg.version, pkg.artifact, pkg.wheel_tags) == ("1.0", None, ("py3-none-any",))
        assert (pkg.source.kind, pkg.source.url, pkg.source.archive_hash) == ("archive", url, f"sha256={A}")
    reqs.write_text(f"certifi @ {url}#sha256={A} --hash=sha256:{B}\n")
    with pytest.raises(LockImportError, match="the URL's #sha256= and its --hash name different files"):
        importers.read_file(reqs)


@pytest.mark.parametrize("url", ["https://files.example/certifi-1.0.tar.gz", "https://files.example/certifi-1.0.zip"])
def test_an_sdist_url_keeps_the_hash_in_its_fragment(tmp_path: Path, url: str) -> None:
    """``name @ URL.tar.gz#sha256=HEX``, which pip checks the download against, was imported without its hash (the
    wheel's was kept): the lock named the sdist by URL alone and a rebuild could not check what it fetched."""
    reqs = tmp_path / "requirements.txt"
    for line in (f"certifi @ {url}#sha256={A} --hash=sha256:{A}", f"certifi @ {url}#sha256={A}"):
        reqs.write_text(line + "\n")
        (pkg,) = importers.read_file(reqs).python.packages
        assert (pkg.version, pkg.source.kind, pkg.source.url) == ("1.0", "archive", url)
        assert pkg.source.archive_hash == f"sha256={A}"
    reqs.write_text(f"certifi @ {url}#sha256={A} --hash=sha256:{B}\n")
    with pytest.raises(LockImportError, match="the URL's #sha256= and its --hash name different files"):
        importers.read_file(reqs)


@pytest.mark.parametrize("suffix", ["-py3-none-any.whl", ".tar.gz"])
def test_a_url_fragment_hash_that_is_no_sha256_is_refused_naming_its_line(
    tmp_path: Path, cli: Callable[..., CliResult], suffix: str
) -> None:
    """``name @ URL#sha256=zz`` was refused naming the field of the lock it became,
    ``python.packages[0].source.archive_hash``, no line of the file (or, for an sdist, dropped)."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"certifi @ https://files.example/certifi-1.0{suffix}#sha256=ZZ\n")
    result = cli("import", reqs, "-o", tmp_path / "env.lock")
    assert (result.code, result.err) == (
        2,
        f"envsnap: error: {reqs}:1: certifi: the URL's #sha256= is not a sha256 hash (64 lower-case hex digits): "
        "'ZZ'\n",
    )
    assert not (tmp_path / "env.lock").exists()


@pytest.mark.parametrize(
    ("line", "fixed"),
    [
        (
            f"labgit @ git+file:///lab/rés earch/labgit@{'c' * 40}",
            f"labgit @ git+file:///lab/rés%20earch/labgit@{'c' * 40}",
        ),
        (
            'tool @ file:///lab/my wheels/tool-1.0-py3-none-any.whl ; python_version >= "3"',
            'tool @ file:///lab/my%20wheels/tool-1.0-py3-none-any.whl ; python_version >= "3"',
        ),
    ],
)
def test_a_direct_url_with_a_space_says_to_write_it_as_percent_20(
    tmp_path: Path, cli: Callable[..., CliResult], line: str, fixed: str
) -> None:
    """``pip freeze`` of a venv holding ``pip install 'labgit @ git+file:///lab/r%C3%A9s%20earch/labgit@C'`` writes
    the path as it is, space and all, a line pip cannot read back; ``pip freeze | envsnap import -`` said only
    "not a requirement: Expected semicolon (after URL and whitespace) or end". The line says the URL holds a space
    and gives it written with %20, which imports."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(line + "\n")
    result = cli("import", reqs, "-o", tmp_path / "env.lock")
    assert (result.code, result.err) == (
        2,
        f"envsnap: error: {reqs}:1: {line.split()[0]}: its URL holds a space, which ends a URL for pip (pip freeze "
        f"writes a local path so, and pip cannot install the line either): write the space as %20, '{fixed}'\n",
    )
    reqs.write_text(fixed + "\n")
    assert "holds a space" not in cli("import", reqs, "-o", tmp_path / "env.lock").err


def test_a_wheel_url_with_a_query_or_without_a_wheel_name_is_read_or_refused_in_one_line(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """A presigned wheel URL (``...whl?X-Amz-Signature=...``, an artifact store's) kept its query in the wheel's file
    name, which the lock then refused; a URL whose last part is no wheel name (``.../six.whl``) raised IndexError, a
    traceback from ``envsnap import``."""
    reqs = tmp_path / "requirements.txt"
    url = "https://store.example/dl/six-1.17.0-py3-none-any.whl?X-Amz-Signature=abc&X-Amz-Expires=3600"
    reqs.write_text(f"six @ {url} --hash=sha256:{A}\n")
    (pkg,) = importers.read_file(reqs).python.packages
    assert (pkg.version, pkg.source.kind, pkg.wheel_tags) == ("1.17.0", "archive", ("py3-none-any",))
    assert pkg.source.url.partition("?")[0] == url.partition("?")[0] and "abc" not in pkg.source.url  # no secret
    for bad in ("https://files.example/six.whl", "https://files.example/six-.whl", "https://files.example/-1.0.whl"):
        reqs.write_text(f"six @ {bad} --hash=sha256:{A}\n")
        with pytest.raises(LockImportError, match="not a wheel file name"):
            importers.read_file(reqs)
    result = cli("import", str(reqs), "-o", str(tmp_path / "out.lock"))
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1 and "not a wheel file name" in result.err


def test_a_requirement_whose_wheel_url_names_another_project_is_refused_on_its_line(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``six @ https://.../requests-2.0-py3-none-any.whl`` was imported as six 2.0 installed from requests' wheel: a
    lock no installer can follow (pip refuses a wheel of another name), where a pylock or a conda file naming another
    project's file is refused."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"six @ https://files.example/requests-2.0-py3-none-any.whl --hash=sha256:{A}\n")
    result = cli("import", str(reqs), "-o", str(tmp_path / "out.lock"))
    assert result.code == 2, result
    assert result.err == (
        f"envsnap: error: {reqs}:1: six: the file is requests's, not six's (requests-2.0-py3-none-any.whl)\n"
    ), result.err
    assert not (tmp_path / "out.lock").exists()
    # The wheel of the package's own name, however its file name spells it, is read as before.
    reqs.write_text(f"typing-extensions @ https://files.example/Typing_Extensions-4.12.2-py3-none-any.whl#sha256={A}\n")
    (pkg,) = importers.read_file(reqs).python.packages
    assert (pkg.name, pkg.version, pkg.source.kind) == ("typing-extensions", "4.12.2", "archive")


@pytest.mark.parametrize(
    ("name", "filename", "shown"),
    [
        ("six", "requests-2.0.tar.gz", "the file is requests's, not six's"),
        ("six", "requests-2.0.tgz", "the file is requests's, not six's"),
        ("python-dateutil", "python-dateutil-2.9.0.zip", None),  # another sdist of the project passes
        ("dateutil", "python-dateutil-2.9.0.post0.tar.gz", "the file is python-dateutil's, not dateutil's"),
    ],
)
def test_a_requirement_whose_sdist_url_names_another_project_is_refused_on_its_line(
    tmp_path: Path, cli: Callable[..., CliResult], name: str, filename: str, shown: str | None
) -> None:
    """``six @ https://.../requests-2.0.tar.gz`` was imported as six 2.0 from requests' source archive (the check of
    another project's file read wheels only): pip builds it and fails on its metadata, and its sha256 pins the other
    file."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"{name} @ https://files.example/{filename} --hash=sha256:{A}\n")
    result = cli("import", str(reqs), "-o", str(tmp_path / "out.lock"))
    if shown is None:
        assert result.code == 0, result
        return
    assert result.code == 2, result
    assert result.err == f"envsnap: error: {reqs}:1: {name}: {shown} ({filename})\n", result.err
    assert not (tmp_path / "out.lock").exists()


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("python-dateutil @ https://files.example/python-dateutil-2.9.0.post0.tar.gz", "2.9.0.post0"),
        ("zope.interface @ https://files.example/zope.interface-6.0.tar.gz", "6.0"),
        ("backports.zoneinfo @ https://files.example/backports.zoneinfo-0.2.1.tar.gz", "0.2.1"),
        ("Typing_Extensions @ https://files.example/typing_extensions-4.12.2.tar.gz", "4.12.2"),
        # A dash in the version (a post release, PEP 440): it was read as version 1.
        ("foo @ https://files.example/foo-1.0-1.tar.gz", "1.0-1"),
        ("foo-bar @ https://files.example/foo-bar-1.0-1.zip", "1.0-1"),
        # GitLab names a tag's archive after the repository, not the project: no name to compare.
        ("mypkg @ https://gitlab.example/g/my-repo/-/archive/v1.0/my-repo-v1.0.tar.gz", "v1.0"),
    ],
)
def test_a_requirement_of_the_projects_own_sdist_is_read_with_its_version(
    tmp_path: Path, line: str, version: str
) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"{line} --hash=sha256:{A}\n")
    (pkg,) = importers.read_file(reqs).python.packages
    assert (pkg.version, pkg.source.kind, pkg.source.archive_hash) == (version, "archive", f"sha256={A}")


def test_a_conda_lock_pip_sdist_of_its_own_project_with_a_dash_in_its_version_is_read(tmp_path: Path) -> None:
    """conda-lock's ``foo 1.0.post1`` from ``foo-1.0-1.tar.gz`` was refused as another project's file ("the file is
    foo-1-0's"): packaging's ``parse_sdist_filename`` splits at the last dash."""
    path = tmp_path / "conda-lock.yml"
    sdist = "https://files.example/typing_extensions-4.12.2-0.tar.gz"
    text = CONDA_LOCK.replace("4.12.2", "4.12.2.post0").replace(
        "https://files.pythonhosted.org/packages/26/9f/typing_extensions-4.12.2.post0-py3-none-any.whl", sdist
    )
    assert sdist in text
    path.write_text(text)
    (pkg,) = importers.read_file(path, options=ImportOptions(platform="linux-64")).python.packages
    assert pkg.artifact is not None
    assert (pkg.name, pkg.version, pkg.artifact.url) == ("typing-extensions", "4.12.2.post0", sdist)


def test_a_pylock_wheel_url_with_a_query_names_its_file_by_its_path(tmp_path: Path) -> None:
    """PEP 751 infers a wheel's missing ``name`` from its URL: the query of a presigned URL became part of the file
    name, and the import was refused ("not a valid file name")."""
    url = "https://store.example/dl/six-1.17.0-py3-none-any.whl?X-Amz-Expires=3600"
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "six"\nversion = "1.17.0"\n'
        f'wheels = [{{ url = "{url}", hashes = {{ sha256 = "{A}" }} }}]\n'
    )
    (pkg,) = importers.read_file(tmp_path / "pylock.toml").python.packages
    assert pkg.artifact is not None and pkg.artifact.filename == "six-1.17.0-py3-none-any.whl"
    assert pkg.artifact.url == url


def test_a_file_whose_every_requirement_is_for_another_host_says_so(tmp_path: Path) -> None:
    """It said "no packages in it (read as requirements)" about a file with a package, left out by its marker."""
    reqs = tmp_path / "win.txt"
    reqs.write_text(f'colorama==0.4.6 ; sys_platform == "win32" --hash=sha256:{A}\n')
    with pytest.raises(LockImportError) as caught:
        importers.read_file(reqs)
    message = str(caught.value)
    assert "every requirement in it is for another host" in message and message.endswith(
        ": colorama; nothing to import"
    )
    reqs.write_text(f'colorama==0.4.6 ; sys_platform == "win32" --hash=sha256:{A}\nsix==1.17.0 --hash=sha256:{B}\n')
    lock = importers.read_file(reqs)
    assert [p.name for p in lock.python.packages] == ["six"]
    assert any(w.endswith("left out by their markers: colorama") for w in lock.envsnap.warnings), lock.envsnap.warnings


def test_uv_lock_is_answered_with_the_way_to_import_it(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text('version = 1\nrequires-python = ">=3.11"\n')
    with pytest.raises(LockImportError, match=r"for uv.lock: uv export --format pylock.toml -o pylock.toml"):
        importers.read_file(lock)


@pytest.mark.parametrize("name", ["environment.yml", "env.yaml", "-"])
def test_an_environment_yml_is_answered_with_the_files_to_import_instead(
    tmp_path: Path, name: str, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The researcher's `envsnap export -f environment-yml` read back: "not a format envsnap can import", with no
    word of why nor of what to import instead. It names packages, not their files: no URL, no hash to rebuild from."""
    text = (
        "channels:\n  - conda-forge\n  - nodefaults\ndependencies:\n  - conda-forge::python=3.11.9=hb806964_0_cpython\n"
        "  - pip\n  - pip:\n      - six==1.17.0\n"
    )
    path = tmp_path / name
    if name == "-":
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
        result = cli("import", "-", "-o", tmp_path / "env.lock")
    else:
        path.write_text(text)
        result = cli("import", path, "-o", tmp_path / "env.lock")
    shown = "-: standard input is" if name == "-" else f"{path}:"
    assert result.code == 2 and not (tmp_path / "env.lock").exists()
    assert result.err.strip().splitlines() == [
        f"envsnap: error: {shown} not a format envsnap can import (conda-explicit, conda-lock, json, pylock, "
        "requirements); an environment.yml names packages, not their files (no URL, no "
        "hash): import a conda-lock.yml (conda-lock lock -f environment.yml, or envsnap export -f conda-lock) or "
        "an explicit file (conda list --explicit --md5) instead"
    ]


@pytest.mark.parametrize("fmt", ["requirements", "conda-lock", "conda-explicit", "pylock", "json"])
def test_an_environment_yml_read_as_a_named_format_is_said_to_be_one(
    tmp_path: Path, fmt: str, cli: Callable[..., CliResult]
) -> None:
    """``envsnap import --from requirements environment.yml`` said ``environment.yml:3: unsupported option -`` (each
    other format its own parse error): one line, exit 2, and not a word that the file is an environment.yml, which
    no format reads. It says so, keeps the reader's error, and names what to import instead."""
    text = "name: lab\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip:\n    - six==1.17.0\n"
    path = tmp_path / "environment.yml"
    path.write_text(text)
    result = cli("import", "--from", fmt, path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and result.err.count("\n") == 1 and not (tmp_path / "env.lock").exists(), result
    assert result.err.startswith(
        f"envsnap: error: {path}: an environment.yml (YAML with a top-level dependencies: list), not a {fmt} file "
        f"(read as one: {path}"
    ), result.err
    assert result.err.endswith(
        "); no --from reads it: it names packages, not their files (no URL, no hash): import a conda-lock.yml "
        "(conda-lock lock -f environment.yml, or envsnap export -f conda-lock) or an explicit file (conda list "
        "--explicit --md5) instead\n"
    ), result.err
    if fmt == "requirements":
        assert f"(read as one: {path}:3: unsupported option -);" in result.err


def test_a_file_read_as_another_named_format_names_the_from_that_reads_it(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """uv's pylock given ``--from requirements``: the reader's error alone (``pylock.toml:3: not a requirement``); the
    format ``--from auto`` reads the file as is named after it."""
    path = tmp_path / "pylock.toml"
    path.write_text((Path(__file__).parent / "fixtures" / "uv" / "pylock.export.toml").read_text())
    result = cli("import", "--from", "requirements", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert result.err.startswith(f"envsnap: error: {path}:3: not a requirement: ")
    assert result.err.endswith("; the file reads as pylock: --from pylock (or --from auto)\n"), result.err


PYLOCK_TEXT = 'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "foo"\nversion = "1.0"\n'
EXPLICIT_TEXT = "# platform: linux-64\n@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/foo-1.0-h0_0.conda\n"


@pytest.mark.parametrize(
    ("name", "content", "fmt", "message"),
    [
        ("pylock.toml", PYLOCK_TEXT, "requirements", "pylock.toml:1: not a requirement: Expected"),
        (
            "conda-explicit.txt",
            EXPLICIT_TEXT,
            "conda-lock",
            "not valid YAML: found character '@' that cannot start any token (line 2, column 1)",
        ),
        ("conda-lock.yml", "version: 1\npackage: [\n", "conda-lock", "not valid YAML: expected the node content"),
        # Found by the fuzzer: a pip entry without its version, a conda entry without its URL (KeyError tracebacks).
        (
            "conda-lock.yml",
            "version: 1\npackage:\n- {name: demo, manager: pip, platform: linux-64}\n",
            "conda-lock",
            "conda-lock.yml: package[0]: no version",
        ),
        (
            "conda-lock.yml",
            "version: 1\npackage:\n- {name: zlib, version: '1.3', manager: conda, platform: linux-64}\n",
            "conda-lock",
            "conda-lock.yml: package[0]: no url",
        ),
        # A metadata, platform list or hash of another type was an AttributeError or TypeError traceback.
        ("conda-lock.yml", "version: 1\nmetadata: [linux-64]\npackage: []\n", "conda-lock", "metadata: not a mapping"),
        (
            "conda-lock.yml",
            "version: 1\nmetadata: {platforms: 7}\npackage: []\n",
            "conda-lock",
            "metadata.platforms: not a list",
        ),
        (
            "conda-lock.yml",
            "version: 1\npackage:\n- {name: demo, version: '1.0', manager: pip, platform: linux-64, hash: abc}\n",
            "conda-lock",
            "conda-lock.yml: package[0]: hash: not a mapping",
        ),
        (
            "conda-lock.yml",
            "version: 1\npackage:\n- {name: zlib, manager: conda, platform: linux-64, hash: [md5], url: 'https://h/linux-64/zlib-1.3-h0_0.conda'}\n",
            "conda-lock",
            "conda-lock.yml: package[0]: hash: not a mapping",
        ),
        ("requirements.txt", "", "auto", "requirements.txt: no packages in it (read as requirements)"),
        ("requirements.txt", "# only comments\n\n", "requirements", "no packages in it"),
        ("pylock.toml", 'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n', "auto", "no packages in it"),
    ],
)
def test_bad_input_is_one_line_and_keeps_the_output(
    cli: Callable[..., Any], tmp_path: Path, name: str, content: str, fmt: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    out = tmp_path / "envsnap.lock"
    out.write_text("kept\n")
    result = cli("import", path, "--from", fmt, "-o", out)
    assert result.code == 2, result
    assert result.err.startswith("envsnap: error: ") and result.err.count("\n") == 1, result.err
    assert message in result.err
    assert out.read_text() == "kept\n"


@pytest.mark.parametrize("command", ["import", "show"])
def test_conda_explicit_refuses_a_file_url_whose_host_is_a_scheme(
    command: str, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """``file://https://conda.anaconda.org/...`` (host ``https:``) was imported, and the lock recorded the channel
    ``file://https://conda.anaconda.org/conda-forge``: the import refuses it naming its line, and a lock holding it
    is refused on load."""
    url = "https://conda.anaconda.org/conda-forge/linux-64/x-1-0.conda"
    path = tmp_path / "explicit.txt"
    path.write_text(f"# platform: linux-64\n@EXPLICIT\nfile://{url}#{'a' * 32}\n")
    out = tmp_path / "out.lock"
    if command == "show":  # the lock an earlier envsnap wrote of it
        dump_unchecked(_fake_file_url_lock(url), out)
        result = cli("show", out)
        assert (result.code, result.out) == (2, "")
        # It named the rules it keeps, "(a URL or a name)": it names the one it breaks, as a lock's URL does.
        assert result.err == (
            f"envsnap: error: {out}: conda.packages[0].channel: not a valid conda channel (a file URL's authority is "
            "a host or none, not 'https:': a local file is file:///PATH): 'file://https://conda.anaconda.org/conda-forge'\n"
        )
        return
    result = cli("import", path, "-o", out)
    assert (result.code, result.out, result.err) == (
        2,
        "",
        f"envsnap: error: {path}:3: not a valid URL (a file URL's authority is a host or none, not 'https:': a local "
        f"file is file:///PATH): 'file://{url}'\n",
    )
    assert not out.exists()
    # conda-lock's ``# pip`` line of the same file: it was refused by the lock's field, naming no line.
    pip = f"file://https://files.example.org/six-1.16.0-py2.py3-none-any.whl#sha256={'b' * 64}"
    path.write_text(f"# platform: linux-64\n@EXPLICIT\nhttps://{url[8:]}#{'a' * 32}\n# pip six @ {pip}\n")
    result = cli("import", path, "-o", out)
    assert (result.code, result.err) == (
        2,
        f"envsnap: error: {path}:4: # pip line: not a valid URL (a file URL's authority is a host or none, not "
        f"'https:': a local file is file:///PATH): '{pip.partition('#')[0]}'\n",
    )


@pytest.mark.parametrize(
    "line",
    [
        "pkg @ file://https://files.example.org/pkg-1.0-py3-none-any.whl",
        "pkg @ file://https://files.example.org/pkg-1.0.tar.gz",
        "file://https://files.example.org/pkg-1.0-py3-none-any.whl",
    ],
)
def test_requirements_refuse_a_file_url_whose_host_is_a_scheme_naming_its_line(
    line: str, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """``pkg @ file://https://host/x.whl`` (host ``https:``) was refused by the lock's field,
    ``requirements.txt: python.packages[1].source.url: ...``, naming no line of the file: it names its line and the
    rule it breaks, as lock loading does."""
    path = tmp_path / "requirements.txt"
    path.write_text(f"numpy==1.26.4\n{line}\n")
    out = tmp_path / "envsnap.lock"
    out.write_text("kept\n")
    result = cli("import", path, "-o", out)
    url = line.rpartition(" ")[2]
    assert (result.code, result.out, result.err) == (
        2,
        "",
        f"envsnap: error: {path}:2: pkg: not a valid URL (a file URL's authority is a host or none, not 'https:': a "
        f"local file is file:///PATH): {url!r}\n",
    )
    assert out.read_text() == "kept\n"


def test_pylock_refuses_a_file_url_whose_host_is_a_scheme(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """A pylock's ``url = "file://https://host/x.whl"`` (host ``https:``) was imported as the local path
    ``file:////host/x.whl``, a URL the file does not hold, exit 0: it is refused naming the entry and the rule it
    breaks, as lock loading does."""
    url = "file://https://files.example.org/pkg-1.0-py3-none-any.whl"
    path = tmp_path / "pylock.toml"
    path.write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "pkg"\nversion = "1.0"\n'
        f'[[packages.wheels]]\nurl = "{url}"\nhashes = {{sha256 = "{"a" * 64}"}}\n'
    )
    out = tmp_path / "envsnap.lock"
    result = cli("import", path, "-o", out)
    assert (result.code, result.out, result.err) == (
        2,
        "",
        f"envsnap: error: {path}: packages[0].wheels[0]: url: not a valid URL (a file URL's authority is a host or "
        f"none, not 'https:': a local file is file:///PATH): {url!r}\n",
    )
    assert not out.exists()


def _fake_file_url_lock(url: str) -> Snapshot:
    from envsnap.model import Conda, CondaPackage

    pkg = CondaPackage(
        name="x",
        version="1",
        build="0",
        channel=f"file://{url.rsplit('/', 2)[0]}",
        subdir="linux-64",
        url=f"file://{url}",
        md5="a" * 32,
    )
    return Snapshot(conda=Conda(subdir="linux-64", packages=(pkg,)))


def test_conda_explicit_for_another_platform_than_asked(tmp_path: Path) -> None:
    path = tmp_path / "explicit.txt"
    path.write_text(EXPLICIT)
    with pytest.raises(LockImportError, match=r"explicit\.txt:\d+: the file is for linux-64, not --platform osx-arm64"):
        importers.read_file(path, options=ImportOptions(platform="osx-arm64"))
    snap = importers.read_file(path, options=ImportOptions(platform="linux-64"))
    assert snap.conda is not None and snap.conda.subdir == "linux-64"


def test_an_environment_yml_is_not_taken_for_a_requirements_file(
    cli: Callable[..., Any], rich: Snapshot, tmp_path: Path
) -> None:
    # Its pip: section carries --hash= options, which made the sniffer call it a requirements file and the
    # error name a YAML line as an "unsupported option -".
    from envsnap.export import environment_yml

    pinned = tuple(p for p in rich.python.packages if p.source.kind == "index" and p.artifact is not None)
    lock = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=pinned))
    path = tmp_path / "environment.yml"
    path.write_text(environment_yml.dumps(lock))
    assert "--hash=sha256:" in path.read_text()
    result = cli("import", path, "-o", tmp_path / "envsnap.lock")
    assert result.code == 2
    assert result.err == (
        f"envsnap: error: {path}: not a format envsnap can import (conda-explicit, conda-lock, "
        "json, pylock, requirements); an environment.yml names packages, not their files (no "
        "URL, no hash): import a conda-lock.yml (conda-lock lock -f environment.yml, or envsnap export -f "
        "conda-lock) or an explicit file (conda list --explicit --md5) instead\n"
    )


def test_a_find_links_location_is_recorded_where_pip_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--find-links ../wheels`` was dropped with a warning: the lock said the wheel was on PyPI, and its bundle
    could not find it anywhere. It is the artifacts' index now, as pin records a wheel found in a folder, read
    relative to the requirements file where that folder exists (pip's rule), else to the working directory."""
    (tmp_path / "wheels").mkdir()
    wheel = build_wheel(tmp_path / "wheels", "demo", "1.0", "demo")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (tmp_path / "sub").mkdir()
    reqs = tmp_path / "sub" / "requirements.txt"
    monkeypatch.chdir(tmp_path / "sub")
    reqs.write_text(f"--find-links ../wheels\ndemo==1.0 --hash=sha256:{digest}\n")
    snap = importers.read_file(reqs)
    (pkg,) = snap.python.packages
    assert pkg.artifact is not None and pkg.artifact.index == str(tmp_path / "wheels")
    assert not [w for w in snap.envsnap.warnings if "find-links" in w]
    # a file: URL of a folder is the folder (as an index URL it would be read as a PEP 503 index)
    reqs.write_text(f"-f {(tmp_path / 'wheels').as_uri()}\ndemo==1.0 --hash=sha256:{digest}\n")
    assert importers.read_file(reqs).python.packages[0].artifact.index == str(tmp_path / "wheels")  # type: ignore[union-attr]
    # a path that is not beside the file: the working directory's, as pip reads it (the project, outside any git
    # work tree: the folder is recorded under its label, as pin records it)
    monkeypatch.chdir(tmp_path)
    reqs.write_text(f"--find-links=wheels\ndemo==1.0 --hash=sha256:{digest}\n")
    assert importers.read_file(reqs).python.packages[0].artifact.index == "file://{project}/wheels"  # type: ignore[union-attr]
    # a file the folder does not hold is on pip's default index, which an export names by no option
    reqs.write_text(f"--find-links=wheels\nother==1.0 --hash=sha256:{A}\n")
    assert importers.read_file(reqs).python.packages[0].artifact.index == "https://pypi.org/simple"  # type: ignore[union-attr]
    # a folder not on this machine (or a page of links) cannot be listed: it is recorded, as pin reads both
    reqs.write_text(f"--find-links=gone\nother==1.0 --hash=sha256:{A}\n")
    assert importers.read_file(reqs).python.packages[0].artifact.index == "file://{project}/gone"  # type: ignore[union-attr]


def test_a_wheel_in_a_find_links_folder_beside_an_index_is_recorded_there(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """A lab's wheel in ``--find-links ./wheels`` beside ``--index-url`` (PyPI's packages): the lock said the wheel
    was on the index, which does not have it, and its bundle failed to pin it. A folder holding a file of the
    pinned release with one of its hashes is where that package is recorded; every other package keeps the index,
    and the export writes both lines back."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = build_wheel(wheels, "labtool", "0.3.1", "labtool")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    build_wheel(wheels, "other", "1.0", "other")  # the index's release of other has another hash: not this file
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        "--index-url https://pypi.org/simple\n--find-links ./wheels\n"
        f"labtool==0.3.1 --hash=sha256:{digest}\nother==1.0 --hash=sha256:{A}\n"
    )
    snap = importers.read_file(reqs)
    index = {p.name: p.artifact.index for p in snap.python.packages if p.artifact}
    assert index == {"labtool": str(wheels), "other": "https://pypi.org/simple"}
    assert not [w for w in snap.envsnap.warnings if "find-links" in w]

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(snap, lock)
    exported = tmp_path / "out.txt"
    assert cli("export", lock, "--format", "requirements", "-o", exported).code == 0
    assert f"--find-links {wheels}\n" in exported.read_text()
    again = importers.read_file(exported)
    assert {p.name: p.artifact.index for p in again.python.packages if p.artifact} == index

    # The bundle of that package finds its wheel where the lock says (a local folder, allowed by name).
    only_lab = dataclasses.replace(snap, python=dataclasses.replace(snap.python, packages=(snap.python.packages[0],)))
    lockfile.dump(only_lab, lock)
    bundled = cli("bundle", lock, "-o", tmp_path / "bundle", "--allow-url", f"{tmp_path}/*")
    assert bundled.code == 0, bundled.err
    assert (tmp_path / "bundle" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()

    # No index named: the folder that holds the file, not the first one named.
    (tmp_path / "empty").mkdir()
    reqs.write_text(f"-f ./empty\n-f ./wheels\nlabtool==0.3.1 --hash=sha256:{digest}\n")
    snap = importers.read_file(reqs)
    assert snap.python.packages[0].artifact.index == str(wheels)  # type: ignore[union-attr]
    assert [w for w in snap.envsnap.warnings if "find-links" in w] == [
        f"import: --find-links {tmp_path / 'empty'} is not recorded: no package's file was taken from it (a package "
        "records every index the file names, and the --find-links folder its file is in); `envsnap pin` looks there "
        "when pip is configured with it"
    ]


def test_a_find_links_location_beside_a_named_index_is_said_not_recorded(tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        f"--index-url https://mirror.example/simple\n--find-links /opt/wheels\ndemo==1.0 --hash=sha256:{A}\n"
    )
    snap = importers.read_file(reqs)
    assert snap.python.packages[0].artifact.index == "https://mirror.example/simple"  # type: ignore[union-attr]
    assert any("--find-links /opt/wheels is not recorded" in w for w in snap.envsnap.warnings)
    reqs.write_text(f"-f /opt/a\n-f /opt/b\ndemo==1.0 --hash=sha256:{A}\n")
    snap = importers.read_file(reqs)
    assert snap.python.packages[0].artifact.index == "/opt/a"  # type: ignore[union-attr]
    assert [w for w in snap.envsnap.warnings if "find-links" in w] == [
        w for w in snap.envsnap.warnings if "--find-links /opt/b is not recorded" in w
    ]


def test_an_unrecorded_find_links_folder_beside_two_indexes_is_said_so_truly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile --generate-hashes --emit-find-links --emit-index-url --index-url A --extra-index-url B
    --find-links ./empty`` (uv 0.13.9's output): six records both indexes, so the warning naming the empty folder
    said what stopped being true ("a package records one place to look for its file: the index the file names").
    It says why the folder is not recorded and what a package does record; a location the import cannot look in (a
    page of links beside the indexes) is said to be one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv pip compile --no-cache --generate-hashes --emit-find-links --emit-index-url --python-version 3.11 "
        "--index-url http://127.0.0.1:8841/a/simple --extra-index-url http://127.0.0.1:8841/b/simple --find-links "
        "./empty requirements.in -o requirements.txt\n"
        "--index-url http://127.0.0.1:8841/a/simple\n--extra-index-url http://127.0.0.1:8841/b/simple\n"
        f"--find-links ./empty\n\nsix==1.16.0 \\\n    --hash=sha256:{A}\n    # via -r requirements.in\n"
    )
    snap = importers.read_file(reqs)
    (six,) = snap.python.packages
    assert {c.index for c in six.candidates} == {"http://127.0.0.1:8841/a/simple", "http://127.0.0.1:8841/b/simple"}
    warned = [w for w in snap.envsnap.warnings if "find-links" in w]
    assert warned == [
        "import: --find-links {project}/empty is not recorded: no package's file was taken from it (a package "
        "records every index the file names, and the --find-links folder its file is in); `envsnap pin` looks there "
        "when pip is configured with it"
    ]
    assert "one place" not in warned[0]

    reqs.write_text(reqs.read_text().replace("--find-links ./empty", "--find-links https://lab.example/wheels.html"))
    assert [w for w in importers.read_file(reqs).envsnap.warnings if "find-links" in w] == [
        "import: --find-links https://lab.example/wheels.html is not recorded: it is a page or a folder not on this "
        "machine, which the import cannot look in (a package records every index the file names, and the "
        "--find-links folder its file is in); `envsnap pin` looks there when pip is configured with it"
    ]


def test_a_find_links_folder_not_here_beside_a_package_without_a_hash_is_said_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv export --emit-find-links`` writes the lab's wheel of ``[tool.uv] find-links = ["wheels"]`` by its name alone
    (``labpkg==0.3.0`` under ``--find-links wheels``); imported where that folder is not, the package records no file
    and so no place, yet the folder was counted as recorded and named nowhere: the lock dropped it without a word,
    and pin looked labpkg up by its name on the configured indexes alone. The folder is said not recorded."""
    monkeypatch.chdir(tmp_path)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv export --frozen --format requirements-txt --emit-find-links -o requirements.txt\n"
        "--find-links wheels\n\nlabpkg==0.3.0\n    # via proj\n"
    )
    snap = importers.read_file(reqs)
    (labpkg,) = snap.python.packages
    assert labpkg.artifact is None and not labpkg.candidates
    assert [w for w in snap.envsnap.warnings if "find-links" in w] == [
        "import: --find-links {project}/wheels is not recorded: it is a page or a folder not on this machine, which "
        "the import cannot look in (a package records every index the file names, and the --find-links folder its "
        "file is in); `envsnap pin` looks there when pip is configured with it"
    ]


def test_a_conda_package_built_under_the_home_is_recorded_under_its_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``conda list --explicit`` of ``~/miniconda3/envs/x`` names a package the user built by its path
    (``file:///home/alice/miniconda3/conda-bld/linux-64/...``): the imported lock kept it, the user's home, where a
    capture of that environment records ``file://~/miniconda3/conda-bld/...``. It is recorded as capture records it
    (a URL elsewhere as it is), and the archive is read back from the home of whoever uses the lock."""
    from envsnap.artifacts.conda import fetch_archive

    home = tmp_path / "home" / "alice"
    bld = home / "miniconda3" / "conda-bld" / "linux-64"
    bld.mkdir(parents=True)
    archive = bld / "mylib-1.0-h0_0.tar.bz2"
    archive.write_bytes(b"not really an archive, but its md5 is checked")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setenv("HOME", str(home))
    path = tmp_path / "explicit.txt"
    path.write_text(EXPLICIT + f"{archive.as_uri()}#{md5}\n")
    snap = importers.read_file(path)
    assert snap.conda is not None
    assert snap.conda.channels == ("https://conda.anaconda.org/conda-forge", "file://~/miniconda3/conda-bld")
    (mylib,) = [p for p in snap.conda.packages if p.name == "mylib"]
    assert (mylib.url, mylib.channel) == (
        "file://~/miniconda3/conda-bld/linux-64/mylib-1.0-h0_0.tar.bz2",
        "file://~/miniconda3/conda-bld",
    )
    text = lockfile.dumps(snap)
    assert str(tmp_path) not in text and "alice" not in text
    target = tmp_path / "fetched" / archive.name
    fetch_archive(mylib, target, allow_urls=(f"{home}/miniconda3/conda-bld/*",))
    assert target.read_bytes() == archive.read_bytes()


def test_a_conda_channel_inside_the_project_is_recorded_under_the_project_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``conda list --explicit`` of an environment made from a channel the lab keeps in the project repository names
    its packages by path: the imported lock recorded ``file://~/proj/channel/...`` (or the absolute path outside the
    home), where a capture records ``file://{project}/channel/...``, so a lock rebuilt from another checkout looked
    in the first one. It is recorded as capture records it, and read back from the checkout the lock is used in."""
    import subprocess

    from envsnap.artifacts.conda import fetch_archive

    home = tmp_path / "home" / "alice"
    project = home / "proj"
    channel = project / "channel" / "linux-64"
    channel.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    archive = channel / "mylib-1.0-h0_0.tar.bz2"
    archive.write_bytes(b"a package the lab keeps in its repository")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project / "channel")  # the project: the git work tree around the working directory
    path = tmp_path / "explicit.txt"
    path.write_text(EXPLICIT + f"{archive.as_uri()}#{md5}\n")
    snap = importers.read_file(path)
    assert snap.conda is not None
    assert snap.conda.channels == ("https://conda.anaconda.org/conda-forge", "file://{project}/channel")
    (mylib,) = [p for p in snap.conda.packages if p.name == "mylib"]
    assert (mylib.url, mylib.channel) == (
        "file://{project}/channel/linux-64/mylib-1.0-h0_0.tar.bz2",
        "file://{project}/channel",
    )
    assert str(tmp_path) not in lockfile.dumps(snap)
    other = tmp_path / "other"
    monkeypatch.chdir(tmp_path)
    project.rename(other)  # another checkout: the first one is gone
    target = tmp_path / "fetched" / archive.name
    fetch_archive(mylib, target, allow_urls=(f"{other}/channel/*",), project_dir=other)
    assert target.read_bytes() == b"a package the lab keeps in its repository"


def test_a_left_out_fork_is_named_with_its_version_beside_the_one_kept(tmp_path: Path) -> None:
    """uv writes one entry per version where the resolution forks on Python (`iniconfig==2.1.0 ; python_full_version
    < '3.10'`, `iniconfig==2.3.1 ; >= '3.10'`): the warning said "left out: iniconfig" of a package the lock has."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        f"colorama==0.4.6 ; sys_platform == 'nonesuch' --hash=sha256:{A}\n"
        f"iniconfig==2.1.0 ; python_full_version < '3.0' --hash=sha256:{B}\n"
        f"iniconfig==2.3.1 ; python_full_version >= '3.0' --hash=sha256:{C}\n"
    )
    lock = importers.read_file(reqs)
    assert [(p.name, p.version) for p in lock.python.packages] == [("iniconfig", "2.3.1")]
    assert lock.envsnap.warnings[-1].endswith("left out by their markers: colorama, iniconfig 2.1.0")
    path = tmp_path / "pylock.toml"
    path.write_text(f"""lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "colorama"
version = "0.4.6"
marker = "sys_platform == 'nonesuch'"
wheels = [{{ url = "https://example.org/colorama-0.4.6-py3-none-any.whl", hashes = {{ sha256 = "{A}" }} }}]

[[packages]]
name = "iniconfig"
version = "2.1.0"
marker = "python_full_version < '3.0'"
wheels = [{{ url = "https://example.org/iniconfig-2.1.0-py3-none-any.whl", hashes = {{ sha256 = "{B}" }} }}]

[[packages]]
name = "iniconfig"
version = "2.3.1"
marker = "python_full_version >= '3.0'"
wheels = [{{ url = "https://example.org/iniconfig-2.3.1-py3-none-any.whl", hashes = {{ sha256 = "{C}" }} }}]
""")
    snap = importers.read_file(path)
    assert [(p.name, p.version) for p in snap.python.packages] == [("iniconfig", "2.3.1")]
    assert snap.envsnap.warnings[-1].endswith("left out: colorama, iniconfig 2.1.0")


def test_conda_explicit_keeps_the_pip_lines_conda_lock_renders() -> None:
    """``conda-lock render --kind explicit`` lists the pip layer as ``# pip NAME @ URL#sha256=HEX`` lines, which
    ``conda-lock install`` and micromamba install. The import read them as comments: the lock had no Python
    packages and called them unknown, so a rebuild installed no pip layer. They are now the lock's pip packages,
    as the same environment's ``conda-lock.yml`` gives them."""
    folder = Path(__file__).parent / "fixtures" / "conda-lock-render"
    snap = importers.read_file(folder / "conda-linux-64.lock")
    assert snap.envsnap.origin == "conda-explicit"
    assert "python.packages" not in snap.envsnap.unknown
    found = [
        (p.name, p.version, p.installer, p.artifact.url if p.artifact else "", p.artifact.sha256 if p.artifact else "")
        for p in snap.python.packages
    ]
    assert found == [
        (
            "bigdemo",
            "2.0.0",
            "pip",
            "file:///srv/lab/wheels/bigdemo-2.0.0-py3-none-any.whl",
            "8673df50a3b5c1bff8a10fa7a1eaa35c46e4292888db2a246286acab825906c0",
        ),
        (
            "pipdemo",
            "1.2.0",
            "pip",
            "file:///srv/lab/wheels/pipdemo-1.2.0-py3-none-any.whl",
            "4f24f475908c85d419bbbd684dab802406f15d666b7416740178e2206d584004",
        ),
    ]
    source = importers.read_file(folder / "lab-conda-lock.yml")
    assert snap.python.packages == source.python.packages
    # The same packages: the explicit file's in its install order, the conda-lock.yml's by name (depends order them).
    assert sorted(p.name for p in snap.conda.packages) == [p.name for p in source.conda.packages]  # type: ignore[union-attr]


def test_conda_explicit_reads_a_pip_sdist_with_a_dash_in_its_version(tmp_path: Path) -> None:
    """``# pip foo @ https://.../foo-1.0-1.tar.gz#sha256=HEX`` (foo's post release 1.0-1) was refused, "the file is
    foo-1-0's, not foo's": packaging's ``parse_sdist_filename`` splits at the last dash. Another project's sdist is
    still refused."""
    path = tmp_path / "conda-linux-64.lock"
    path.write_text(f"# platform: linux-64\n@EXPLICIT\n# pip foo @ https://w.example/foo-1.0-1.tar.gz#sha256={A}\n")
    (pkg,) = importers.read_file(path).python.packages
    assert (pkg.name, pkg.version) == ("foo", "1.0.post1")
    path.write_text(f"# platform: linux-64\n@EXPLICIT\n# pip six @ https://w.example/requests-2.0.tar.gz#sha256={A}\n")
    with pytest.raises(LockImportError, match="the file is requests's"):
        importers.read_file(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("# pip bigdemo file:///w/bigdemo-2.0.0-py3-none-any.whl#sha256=" + "a" * 64, "not NAME @ URL#sha256=HEX"),
        ("# pip bigdemo @ https://w.example/bigdemo/archive", "not NAME @ URL#sha256=HEX"),
        ("# pip bigdemo @ file:///w/bigdemo.zip", "no version in the file name"),
        ("# pip bigdemo @ file:///w/bigdemo.zip#sha256=" + "a" * 64, "no version in the file name"),
        ("# pip other @ file:///w/bigdemo-2.0.0-py3-none-any.whl#sha256=" + "a" * 64, "the file is bigdemo's"),
    ],
)
def test_conda_explicit_refuses_a_pip_line_it_cannot_read(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "conda-linux-64.lock"
    path.write_text(f"# platform: linux-64\n@EXPLICIT\n{line}\n")
    with pytest.raises(LockImportError) as caught:
        importers.read_file(path)
    assert str(caught.value).startswith(f"{path}:3: # pip line: {message}")


def _rattler_noarch(path: Path) -> dict[str, str]:
    """What py-rattler's lock parser makes of each conda package's noarch in ``path``: "" for none."""
    import rattler

    found = {}
    for _name, env in rattler.LockFile.from_path(path).environments():
        for packages in env.packages_by_platform().values():
            for pkg in packages:
                if isinstance(pkg, rattler.CondaLockedBinaryPackage):
                    noarch = pkg.package_record.noarch
                    found[pkg.name] = "python" if noarch.python else "generic" if noarch.generic else ""
    return found


def test_a_conda_lock_keeps_noarch_and_the_wheel_tags_its_urls_give() -> None:
    """conda-lock.yml holds no ``noarch``, but a package of the ``noarch`` subdir is one, and py-rattler reads the same
    file as ``noarch: python`` (a ``py`` build) or ``generic``: the import left it a platform package. A pip
    package's wheel URL names its tags (``bigdemo-2.0.0-py3-none-any.whl``), which the import left unknown, so
    ``diff`` against the captured lock printed ``bigdemo: py3-none-any -> (unknown)``."""
    path = Path(__file__).parent / "fixtures" / "conda-lock-render" / "lab-conda-lock.yml"
    snap = importers.read_file(path)
    assert snap.conda is not None
    assert {p.name: p.noarch for p in snap.conda.packages} == _rattler_noarch(path)
    assert {p.name: p.noarch for p in snap.conda.packages}["tinyutil"] == "python"
    assert [(p.name, p.wheel_tags) for p in snap.python.packages] == [
        ("bigdemo", ("py3-none-any",)),
        ("pipdemo", ("py3-none-any",)),
    ]
    # conda-lock's explicit rendering of the same file gives the same (its lines carry no sha256 and no depends).
    explicit = importers.read_file(path.parent / "conda-linux-64.lock")
    assert explicit.conda is not None
    in_file = sorted((p.name, p.noarch) for p in explicit.conda.packages)  # the file's install order, by name here
    assert in_file == [(p.name, p.noarch) for p in snap.conda.packages]
    assert explicit.python.packages == snap.python.packages


@pytest.mark.parametrize(
    ("build", "noarch"), [("pyhd8ed1ab_0", "python"), ("py_0", "python"), ("h1234_0", "generic"), ("0", "generic")]
)
def test_a_noarch_package_is_read_as_py_rattler_reads_it(tmp_path: Path, build: str, noarch: str) -> None:
    text = (Path(__file__).parent / "fixtures" / "conda-lock-render" / "lab-conda-lock.yml").read_text()
    path = tmp_path / "conda-lock.yml"
    # The build in the url and in the entry's build field (quoted: ``0`` is a string there), which must agree.
    text = text.replace("build: pyhd8ed1ab_0", f"build: '{build}'")
    path.write_text(text.replace("tinyutil-0.3.0-pyhd8ed1ab_0", f"tinyutil-0.3.0-{build}"))
    assert _rattler_noarch(path)["tinyutil"] == noarch
    snap = importers.read_file(path)
    assert snap.conda is not None
    assert {p.name: p.noarch for p in snap.conda.packages} == {
        "hello-tool": "",
        "libhello": "",
        "python": "",
        "tinyutil": noarch,
    }


@pytest.mark.parametrize(
    ("url", "tags"),
    [
        ("file:///w/bigdemo-2.0.0-py2.py3-none-any.whl", ("py2-none-any", "py3-none-any")),
        ("file:///w/bigdemo-2.0.0.tar.gz", ()),  # an sdist: the wheel pip built is not named
        # Another project's or version's file is refused (test_a_conda_lock_pip_package_whose_url_names_...).
    ],
)
def test_a_conda_lock_pip_package_has_the_tags_of_its_own_wheel_only(
    tmp_path: Path, url: str, tags: tuple[str, ...]
) -> None:
    text = (Path(__file__).parent / "fixtures" / "conda-lock-render" / "lab-conda-lock.yml").read_text()
    path = tmp_path / "conda-lock.yml"
    path.write_text(text.replace("file:///srv/lab/wheels/bigdemo-2.0.0-py3-none-any.whl", url))
    bigdemo = next(p for p in importers.read_file(path).python.packages if p.name == "bigdemo")
    assert bigdemo.wheel_tags == tags


@pytest.mark.parametrize(
    ("fixture", "given", "name"),
    [
        ("lab-conda-lock.yml", "file:///srv/lab/wheels/bigdemo-2.0.0-py3-none-any.whl", "bigdemo"),
        ("direct-conda-lock.yml", "file:///srv/lab/mylib", "mylib"),  # a direct reference (source: {type: url})
    ],
)
def test_a_conda_lock_pip_url_whose_host_is_a_scheme_is_refused_naming_its_entry(
    fixture: str, given: str, name: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """A pip package's ``url: file://https://host/x.whl`` (host ``https:``) was refused by the lock's field,
    ``conda-lock.yml: python.packages[0].artifact.url: ...``, naming no entry of the file: it names the entry, as a
    conda package's URL is refused, with the rule it breaks."""
    url = "file://https://files.example.org/" + given.rpartition("/")[2] + "-1.0-py3-none-any.whl" * (name == "mylib")
    text = (Path(__file__).parent / "fixtures" / "conda-lock-render" / fixture).read_text()
    path = tmp_path / "conda-lock.yml"
    path.write_text(text.replace(given, url))
    out = tmp_path / "out.lock"
    result = cli("import", path, "-o", out)
    assert (result.code, result.out) == (2, ""), result
    assert result.err.startswith(f"envsnap: error: {path}: package["), result.err
    assert result.err.endswith(
        f": {name}: not a valid URL (a file URL's authority is a host or none, not 'https:': a local file is "
        f"file:///PATH): {url!r}\n"
    ), result.err
    assert not out.exists()


def test_a_conda_explicit_file_keeps_its_install_order_through_import_and_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """An explicit file lists its packages in the order conda links them (conda-lock's rendering: libhello before
    hello-tool, which links against it); the file carries no depends, so the import sorted them by name and
    ``export -f conda-explicit`` of it wrote hello-tool first. The lock keeps the file's order, and the export too."""
    monkeypatch.chdir(tmp_path)
    source = Path(__file__).parent / "fixtures" / "conda-lock-render" / "conda-linux-64.lock"
    given = [line for line in source.read_text().splitlines() if line.startswith("file://")]
    assert cli("import", source, "-o", "imported.lock").code == 0
    snap = lockfile.load(tmp_path / "imported.lock")
    assert snap.conda is not None
    assert [p.name for p in snap.conda.packages] == ["libhello", "python", "hello-tool", "tinyutil"]
    assert cli("export", "imported.lock", "-f", "conda-explicit", "-o", "again.txt").code == 0
    written = [line for line in (tmp_path / "again.txt").read_text().splitlines() if line.startswith("file://")]
    assert written == given


def test_a_conda_channel_outside_any_project_is_recorded_as_a_capture_of_the_environment_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """Outside any git work tree a capture records a local channel by its absolute URL (it has no project), while the
    import took the working directory for the project and wrote ``file://{project}/channel``: ``diff`` of the
    capture against the import of its own ``conda list --explicit`` printed a changed channel for every package. The
    import records a conda channel as the capture does: under ``{project}`` only inside the git work tree."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    work = tmp_path / "work"
    archive = work / "channel" / "linux-64" / "mylib-1.0-h0_0.tar.bz2"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"a package of a channel kept beside the environment")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    record = {"name": "mylib", "version": "1.0", "build": "h0_0", "build_number": 0, "subdir": "linux-64"}
    record |= {"url": archive.as_uri(), "md5": md5, "depends": [], "files": []}
    (meta / "mylib-1.0-h0_0.json").write_text(json.dumps(record))
    (work / "explicit.txt").write_text(f"# platform: linux-64\n@EXPLICIT\n{archive.as_uri()}#{md5}\n")
    monkeypatch.chdir(work)
    assert cli("capture", "--prefix", tmp_path / "env", "-o", "captured.lock").code == 0
    assert cli("import", "explicit.txt", "-o", "imported.lock").code == 0
    captured, imported = (lockfile.load(work / name).conda for name in ("captured.lock", "imported.lock"))
    assert captured is not None and imported is not None
    assert imported.channels == captured.channels == ((work / "channel").as_uri(),)
    assert imported.packages[0].url == captured.packages[0].url == archive.as_uri()
    diff = cli("diff", "captured.lock", "imported.lock")
    assert [line for line in diff.out.splitlines() if line.startswith("conda ")] == []


# A login and a host name that appear in no other test's paths; the host name as a capture reads it (``uname``).
_LOGIN, _HOST = "alicenamed", "gpunode17"
_NAMED_URLS = {
    "hostlib": f"http://{_HOST}:8080/ch/linux-64/hostlib-1.0-0.conda",
    "userlib": f"file:///data/{_LOGIN}/channel/linux-64/userlib-1.0-0.conda",
    "boblib": "file:///home/bobother/channel/linux-64/boblib-1.0-0.conda",
    "carollib": "file:///home/carolother/channel/linux-64/carollib-1.0-0.conda",  # one channel with bob's, named
}


def _as_conda_lock(urls: list[str], md5: str) -> str:
    entries = "".join(
        f"- name: {url.rsplit('/', 1)[1].split('-')[0]}\n  version: '1.0'\n  manager: conda\n  platform: linux-64\n"
        f"  dependencies: {{}}\n  url: {url}\n  hash:\n    md5: {md5}\n  category: main\n  optional: false\n"
        for url in urls
    )
    return f"version: 1\nmetadata:\n  platforms:\n  - linux-64\npackage:\n{entries}"


@pytest.mark.parametrize("fmt", ["conda-explicit", "conda-lock"])
def test_an_imported_conda_file_loses_the_login_and_host_names_a_capture_loses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], fmt: str
) -> None:
    """A capture writes this user's login in a channel's path and this host's name in a URL as ``<user>`` and
    ``<host>`` (another user's home as ``/home/<user>``); the import of the same environment's explicit file or
    conda-lock.yml kept all three, so a lock published from an import named the person and the machine, and ``diff``
    of the capture against it called every such package's channel changed. Both spell them the same way now, and so
    does the import of the capture's own export."""
    import getpass
    import os

    real = os.uname()
    monkeypatch.setattr(getpass, "getuser", lambda: _LOGIN)
    monkeypatch.setattr(os, "uname", lambda: os.uname_result((real.sysname, _HOST, *real[2:])))
    monkeypatch.setenv("HOME", str(tmp_path / "users" / _LOGIN))
    work = tmp_path / "work"
    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    for name, url in _NAMED_URLS.items():
        record = {"name": name, "version": "1.0", "build": "0", "build_number": 0, "subdir": "linux-64"}
        record |= {"url": url, "md5": md5, "depends": [], "files": []}
        (meta / f"{name}-1.0-0.json").write_text(json.dumps(record))
    work.mkdir()
    monkeypatch.chdir(work)
    urls = list(_NAMED_URLS.values())
    if fmt == "conda-explicit":
        Path("given.txt").write_text("# platform: linux-64\n@EXPLICIT\n" + "".join(f"{u}#{md5}\n" for u in urls))
    else:
        Path("given.txt").write_text(_as_conda_lock(urls, md5))
    assert cli("capture", "--prefix", tmp_path / "env", "-o", "captured.lock").code == 0
    assert cli("export", "captured.lock", "-f", fmt, "-o", "exported.txt").code == 0
    for name in ("given", "exported"):
        assert cli("import", f"{name}.txt", "--from", fmt, "-o", f"{name}.lock").code == 0
    expected = {
        "hostlib": "http://<host>:8080/ch/linux-64/hostlib-1.0-0.conda",
        "userlib": "file:///data/<user>/channel/linux-64/userlib-1.0-0.conda",
        "boblib": "file:///home/<user>/channel/linux-64/boblib-1.0-0.conda",
        "carollib": "file:///home/<user>/channel/linux-64/carollib-1.0-0.conda",
    }
    for name in ("captured", "given", "exported"):
        conda = lockfile.load(work / f"{name}.lock").conda
        assert conda is not None
        assert {p.name: p.url for p in conda.packages} == expected, name
        assert sorted(conda.channels) == [
            "file:///data/<user>/channel",
            "file:///home/<user>/channel",
            "http://<host>:8080/ch",
        ], name
        text = (work / f"{name}.lock").read_text()
        assert _LOGIN not in text and _HOST not in text and "bobother" not in text, name
        diff = cli("diff", "captured.lock", f"{name}.lock")
        assert [line for line in diff.out.splitlines() if line.startswith("conda ")] == [], (name, diff.out)


def _pip_files(md5: str) -> dict[str, str]:
    """One file of each format that names pip URLs: a package's file, its index and a --find-links folder, with
    this user's login and this host's name in them (the conda files' ``# pip`` and ``manager: pip`` entries too)."""
    wheel = f"http://{_HOST}:8080/files/hostpip-1.0-py3-none-any.whl"
    local = f"file:///scratch/{_LOGIN}/wheels/userpip-1.0-py3-none-any.whl"
    index = f"https://{_HOST}.lab.example/simple"
    conda = f"https://conda.example.org/main/linux-64/base-1.0-0.conda#{md5}\n"
    return {
        "requirements": (
            f"--index-url https://{_LOGIN}:pw@{_HOST}:8443/simple\n--find-links /scratch/{_LOGIN}/more\n"
            f"indexed==1.0 --hash=sha256:{A}\nhostpip @ {wheel} --hash=sha256:{B}\n"
            f"userpip @ {local} --hash=sha256:{C}\n"
        ),
        "pylock": (
            'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "indexed"\nversion = "1.0"\n'
            f'index = "{index}"\nwheels = [{{ url = "https://{_HOST}.lab.example/indexed-1.0-py3-none-any.whl", '
            f'hashes = {{ sha256 = "{A}" }} }}]\n\n[[packages]]\nname = "hostpip"\nversion = "1.0"\n'
            f'wheels = [{{ url = "{wheel}", hashes = {{ sha256 = "{B}" }} }}]\n\n[[packages]]\nname = "userpip"\n'
            f'version = "1.0"\nwheels = [{{ url = "{local}", hashes = {{ sha256 = "{C}" }} }}]\n'
        ),
        "conda-explicit": (
            f"# platform: linux-64\n@EXPLICIT\n{conda}# pip hostpip @ {wheel}#sha256={B}\n"
            f"# pip userpip @ {local}#sha256={C}\n"
        ),
        "conda-lock": _as_conda_lock(["https://conda.example.org/main/linux-64/base-1.0-0.conda"], md5)
        + "".join(
            f"- name: {name}\n  version: '1.0'\n  manager: pip\n  platform: linux-64\n  dependencies: {{}}\n"
            f"  url: {url}\n  hash:\n    sha256: {sha}\n  category: main\n  optional: false\n"
            for name, url, sha in (("hostpip", wheel, B), ("userpip", local, C))
        ),
    }


@pytest.mark.parametrize("fmt", ["requirements", "pylock", "conda-explicit", "conda-lock"])
def test_an_imported_files_pip_urls_lose_the_login_and_host_names_a_capture_loses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], fmt: str
) -> None:
    """A capture writes this user's login in a pip package's ``file:`` URL and this host's name in its URL as
    ``<user>`` and ``<host>`` (``PathRedactor.url``); the import of a requirements file, a pylock.toml and the pip
    entries of a conda file applied no name rule (only the conda packages' URLs had them), so a wheel's URL, its
    index and a --find-links folder named the person and the machine in a published lock."""
    import getpass
    import os

    real = os.uname()
    monkeypatch.setattr(getpass, "getuser", lambda: _LOGIN)
    monkeypatch.setattr(os, "uname", lambda: os.uname_result((real.sysname, _HOST, *real[2:])))
    monkeypatch.setenv("HOME", str(tmp_path / "users" / _LOGIN))
    monkeypatch.chdir(tmp_path)
    name = {"requirements": "requirements.txt", "pylock": "pylock.toml"}.get(fmt, "given.txt")
    Path(name).write_text(_pip_files("d41d8cd98f00b204e9800998ecf8427e")[fmt])
    result = cli("import", name, "--from", fmt, "-o", "imported.lock")
    assert result.code == 0, result.err
    python = lockfile.load(tmp_path / "imported.lock").python
    urls = {p.name: (p.source.url, p.artifact.url if p.artifact else "") for p in python.packages}
    wheel_url = "http://<host>:8080/files/hostpip-1.0-py3-none-any.whl"
    local_url = "file:///scratch/<user>/wheels/userpip-1.0-py3-none-any.whl"
    assert urls["hostpip"] in ((wheel_url, ""), ("", wheel_url)), urls
    assert urls["userpip"] in ((local_url, ""), ("", local_url)), urls
    indexes = {p.name: p.artifact.index for p in python.packages if p.artifact is not None}
    if fmt == "requirements":
        assert indexes["indexed"] == "https://<host>:8443/simple"
        assert "import: --find-links /scratch/<user>/more is not recorded" in result.err
    if fmt == "pylock":
        assert indexes["indexed"] == "https://<host>.lab.example/simple"
    text = (tmp_path / "imported.lock").read_text()
    assert _LOGIN not in text and _HOST not in text, text


def test_an_imported_pylocks_requested_revision_loses_the_login_name_as_a_captures_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A capture records a VCS package's branch ``alicenamed/fix`` as ``<user>/fix`` (docs/lockfile.md); a pylock's
    ``requested-revision`` was imported as written, so the published lock named the person. The commit, which is
    what a rebuild checks out, and the repository's URL (a forge account is public) stay."""
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: _LOGIN)
    monkeypatch.chdir(tmp_path)
    Path("pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "gitpkg"\nversion = "1.0"\n'
        f'vcs = {{ type = "git", url = "https://github.com/{_LOGIN}/gitpkg.git", '
        f'commit-id = "{"0123456789abcdef" * 2}01234567", requested-revision = "{_LOGIN}/fix" }}\n'
    )
    result = cli("import", "pylock.toml", "-o", "imported.lock")
    assert result.code == 0, result.err
    [pkg] = lockfile.load(tmp_path / "imported.lock").python.packages
    assert pkg.source.requested_revision == "<user>/fix", pkg.source
    assert pkg.source.url == f"https://github.com/{_LOGIN}/gitpkg.git" and pkg.source.commit_id.startswith("0123")


def test_an_imported_json_lock_leaves_out_the_secrets_and_names_of_its_environment_and_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """envsnap's JSON of an older or hand-edited lock may carry a token in a recorded variable or in the project's
    remote. The import kept them (only package URLs and warnings had the rules), so the lock it wrote, the one that
    gets published, held a password and a GitHub token. It applies capture's rules to them now."""
    import getpass
    from types import MappingProxyType

    from envsnap.model import Project, PythonEnv, PythonPackage

    monkeypatch.setattr(getpass, "getuser", lambda: _LOGIN)
    monkeypatch.chdir(tmp_path)
    token = "ghp_" + "a1B2" * 9
    snapshot = Snapshot(
        python=PythonEnv(packages=(PythonPackage(name="six", version="1.17.0"),)),
        environment=MappingProxyType(
            {"OMP_DSN": "https://bob:hunter2@db.example.org/x", "TF_HUB": token, "TORCH_HOME": f"/scratch/{_LOGIN}/t"}
        ),
        project=Project(
            commit="0123456789abcdef" * 2 + "01234567",
            branch=f"{_LOGIN}/fix",
            remote_url=f"https://{_LOGIN}:{token}@github.com/org/x.git",
        ),
    )
    Path("lock.json").write_text(json.dumps(lockfile.sealed_document(snapshot)))
    result = cli("import", "lock.json", "-o", "imported.lock")
    assert result.code == 0, result.err
    text = (tmp_path / "imported.lock").read_text()
    assert "hunter2" not in text and token not in text and _LOGIN not in text, text
    imported = lockfile.load(tmp_path / "imported.lock")
    assert dict(imported.environment) == {"OMP_DSN": "https://db.example.org/x", "TORCH_HOME": "/scratch/<user>/t"}
    assert imported.project is not None
    assert (imported.project.remote_url, imported.project.branch) == ("https://github.com/org/x.git", "<user>/fix")


def test_an_imported_warning_keeps_a_network_urls_path_as_the_locks_urls_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """The lock's URL fields keep a network URL's path (docs/lockfile.md: a forge account is public, the URL is what
    is fetched); the warning about a second --find-links rewrote the login in its path, naming a location that does
    not exist (``https://files.example.org/users/<user>/more``) beside an index recorded as written."""
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: _LOGIN)
    monkeypatch.chdir(tmp_path)
    Path("requirements.txt").write_text(
        f"--find-links https://files.example.org/users/{_LOGIN}/wheels\n"
        f"--find-links https://files.example.org/users/{_LOGIN}/more\n"
        f"--find-links /scratch/{_LOGIN}/local\n"
        f"--find-links libs/{_LOGIN}-wheels\n"
        f"six==1.16.0 --hash=sha256:{'8a' * 32}\n"
    )
    (tmp_path / "libs" / f"{_LOGIN}-wheels").mkdir(parents=True)
    result = cli("import", "requirements.txt", "-o", "imported.lock")
    assert result.code == 0, result.err
    snap = lockfile.load(tmp_path / "imported.lock")
    [six] = snap.python.packages
    assert six.artifact is not None and six.artifact.index == f"https://files.example.org/users/{_LOGIN}/wheels"
    not_recorded = [w.split(" is not recorded")[0] for w in snap.envsnap.warnings if "is not recorded" in w]
    assert not_recorded == [
        f"import: --find-links https://files.example.org/users/{_LOGIN}/more",
        "import: --find-links /scratch/<user>/local",
        # A folder of the project, as the lock's {project} paths name it (the reader's checkout has it).
        f"import: --find-links {{project}}/libs/{_LOGIN}-wheels",
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("requirements.txt", "six==1.16.0\n"),
        (
            "pylock.toml",
            'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "tool"\n[packages.directory]\npath = "."\n',
        ),
    ],
)
def test_an_import_in_a_git_work_tree_asks_git_for_its_root_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], name: str, text: str
) -> None:
    """The work tree around the working directory is the project an imported file's paths and URLs are recorded
    under, for the importer and for the name rules both: the import asked git for it twice, one more git process
    (a few ms, more on a network file system) for an answer it had."""
    import os
    import subprocess

    project = tmp_path / "proj"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    (project / name).write_text(text)
    log = tmp_path / "git.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True, check=True).stdout
    (bin_dir / "git").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real_git.strip()} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(project)
    assert cli("import", name, "-o", "out.lock").code == 0
    assert log.read_text().splitlines() == [
        f"-c core.fsmonitor=false -c protocol.allow=never -C {project} rev-parse --show-toplevel"
    ]


@pytest.mark.parametrize(
    "encoding",
    ["utf-8-sig", "utf-16", "utf-16-le", "utf-32"],
)
def test_a_requirements_file_with_a_byte_order_mark_is_read_as_pip_reads_it(
    tmp_path: Path, cli: Callable[..., CliResult], encoding: str
) -> None:
    """``pip freeze > requirements.txt`` in Windows PowerShell writes UTF-16 with a byte order mark (``Out-File
    -Encoding utf8``: UTF-8 with one), which pip reads: envsnap said "not a UTF-8 text file", or, for UTF-8,
    "bad.txt:1: not a requirement: Expected package name"."""
    text = f"attrs==23.2.0 --hash=sha256:{A}\r\nnumpy==1.26.4 --hash=sha256:{B}\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-le":  # PowerShell's "Unicode": little-endian, with its mark
        data = b"\xff\xfe" + data
    (tmp_path / "requirements.txt").write_bytes(data)
    result = cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "env.lock")
    assert result.code == 0, result.err
    packages = lockfile.load(tmp_path / "env.lock").python.packages
    assert [(p.name, p.version) for p in packages] == [("attrs", "23.2.0"), ("numpy", "1.26.4")]
    (tmp_path / "plain.txt").write_text(text)
    plain = importers.read_file(tmp_path / "plain.txt")
    assert importers.read_file(tmp_path / "requirements.txt").python == plain.python


def test_a_sha384_or_sha512_hash_is_proven_by_a_local_file_or_refused(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """pip accepts ``--hash=sha384:`` and ``--hash=sha512:``; import kept only sha256 values and dropped the others
    silently, so a requirement hashed with sha512 alone was recorded with no hash at all, and pin took any file of
    that release. envsnap locks a file by its sha256: a sha384/sha512 hash is recorded as the sha256 of the file in a
    ``--find-links`` folder here that has it, checked now; with no such file the import is refused in one line, exit
    2, saying why. An algorithm pip does not accept (md5) is refused too."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = build_wheel(wheels, "labtool", "0.3.1", "labtool")
    data = wheel.read_bytes()
    reqs = tmp_path / "requirements.txt"
    for algo in ("sha384", "sha512"):
        reqs.write_text(f"--find-links ./wheels\nlabtool==0.3.1 --hash={algo}:{hashlib.new(algo, data).hexdigest()}\n")
        art = importers.read_file(reqs).python.packages[0].artifact
        assert art is not None and art.sha256 == hashlib.sha256(data).hexdigest(), art
    # Beside a sha256 of another file of the release: both files are candidates, each by its sha256.
    reqs.write_text(
        f"--find-links ./wheels\nlabtool==0.3.1 --hash=sha256:{A} --hash=sha512:{hashlib.sha512(data).hexdigest()}\n"
    )
    candidates = importers.read_file(reqs).python.packages[0].candidates
    assert [c.sha256 for c in candidates] == [A, hashlib.sha256(data).hexdigest()]

    wrong = hashlib.sha512(b"another file").hexdigest()
    for text, said in (
        (f"--find-links ./wheels\nlabtool==0.3.1 --hash=sha512:{wrong}\n", "sha512"),
        (f"labtool==0.3.1 --hash=sha384:{hashlib.sha384(data).hexdigest()}\n", "sha384"),
        (f"labtool==0.3.1 --hash=md5:{hashlib.md5(data).hexdigest()}\n", "md5"),
        ("labtool==0.3.1 --hash=sha512:abc\n", "sha512"),
    ):
        reqs.write_text(text)
        result = cli("import", reqs, "-o", tmp_path / "out.lock")
        assert result.code == 2 and result.err.count("\n") == 1, result
        assert "requirements.txt:2:" in result.err or "requirements.txt:1:" in result.err, result.err
        assert said in result.err and "labtool" in result.err and "Traceback" not in result.err, result.err
        assert not (tmp_path / "out.lock").exists()


def test_a_sha512_hash_no_local_file_proves_is_left_out_beside_a_sha256_with_a_warning(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """A requirement hashed with a sha256 (this platform's wheel) and a sha512 (another file pip could also take),
    with no local file that has the sha512: import refused the whole file ("no --find-links folder here holds the
    labtool 0.3.1 file with that sha512"), though the lock could record the sha256 file. The sha512 is now left out
    with a warning naming it: the lock allows fewer files than pip would, never more. A sha512 alone, with nothing
    beside it, is still refused (the lock would pin no file)."""
    sha512 = hashlib.sha512(b"the sdist, kept elsewhere").hexdigest()
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"labtool==0.3.1 --hash=sha256:{A} --hash=sha512:{sha512}\n")
    result = cli("import", reqs, "-o", tmp_path / "env.lock")
    assert result.code == 0, result.err
    assert f"sha512:{sha512[:16]}" in result.err and "labtool" in result.err and "left out" in result.err, result.err
    packages = lockfile.load(tmp_path / "env.lock").python.packages
    assert [c.sha256 for c in packages[0].candidates] or packages[0].artifact is not None
    recorded = [c.sha256 for c in packages[0].candidates] or [packages[0].artifact.sha256]  # type: ignore[union-attr]
    assert recorded == [A]
    reqs.write_text(f"labtool==0.3.1 --hash=sha512:{sha512}\n")
    result = cli("import", reqs, "-o", tmp_path / "alone.lock")
    assert result.code == 2 and "sha512" in result.err and result.err.count("\n") == 1, result.err
    assert not (tmp_path / "alone.lock").exists()


@pytest.mark.parametrize("kind", ["pipe", "device"])
@pytest.mark.parametrize("algo", ["sha256", "sha512"])
def test_a_find_links_file_that_is_a_pipe_or_a_device_is_not_read_by_the_import(
    tmp_path: Path, kind: str, algo: str
) -> None:
    """A downloaded supplement's ``requirements.txt`` names its own ``--find-links wheels`` folder, and the import
    reads the files of a release there (to find its sha512's file, or the folder holding its sha256's). A "wheel"
    there that was a pipe made the import wait for ever on opening it; a link to ``/dev/zero`` made it read without
    end. Only a regular file is read now: the others are not this release's file."""
    import os
    import subprocess

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    fake = wheels / "labtool-0.3.1-py3-none-any.whl"
    if kind == "pipe":
        os.mkfifo(fake)
    else:
        fake.symlink_to("/dev/zero")
    value = A if algo == "sha256" else "a" * 128
    (tmp_path / "requirements.txt").write_text(f"--find-links ./wheels\nlabtool==0.3.1 --hash={algo}:{value}\n")
    env = {**os.environ, "PYTHONPATH": str(Path(importers.__file__).parents[2])}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "envsnap", "import", "requirements.txt", "-o", "env.lock"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the import read the {kind} without end")
    assert "Traceback" not in done.stderr, done.stderr
    if algo == "sha256":  # recorded by its hash, no folder here holds it
        assert done.returncode == 0, done.stderr
        assert lockfile.load(tmp_path / "env.lock").python.packages[0].artifact.sha256 == A  # type: ignore[union-attr]
    else:  # no file here proves the sha512: refused, one line
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "sha512" in done.stderr, done.stderr
        assert not (tmp_path / "env.lock").exists()


def test_a_wheel_url_with_a_sha512_hash_is_pinned_once_its_file_has_that_digest(tmp_path: Path) -> None:
    """``labtool @ URL --hash=sha512:...`` was recorded with its sha512 and never pinned ("no reachable URL and
    sha256"): pin fetches the file, checks that digest, and records the file by its sha256; another file is not."""
    from envsnap.artifacts.pin import IndexConfig, pin

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = build_wheel(wheels, "labtool", "0.3.1", "labtool")
    reqs = tmp_path / "requirements.txt"
    allow = (wheels.as_uri() + "/*",)
    empty = IndexConfig(index_url=(tmp_path / "none").as_uri(), find_links=())
    for digest, status in ((hashlib.sha512(wheel.read_bytes()).hexdigest(), "pinned"), ("0" * 128, "unpinned")):
        reqs.write_text(f"labtool @ {wheel.as_uri()} --hash=sha512:{digest}\n")
        snap = importers.read_file(reqs)
        result = pin(snap, empty, cache_dir=tmp_path / "cache", project_dir=tmp_path, allow_urls=allow)
        (outcome,) = result.outcomes
        assert outcome.status == status, outcome
        if status == "pinned":
            assert outcome.artifact is not None
            assert outcome.artifact.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
        else:
            assert "sha512" in outcome.reason, outcome.reason


@pytest.mark.parametrize("line", ["./dist/demo-1.0.tar.gz", "demo @ {uri}"], ids=["path", "file-url"])
def test_an_unhashed_local_sdist_of_a_requirements_file_is_pinned_from_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    """``./dist/demo-1.0.tar.gz`` (or ``demo @ file:///...``) without ``--hash`` was left unpinned ("no reachable URL
    and sha256") even with ``--allow-url`` for its folder: only ``--hash`` on its line made pin read it. It is the
    user's own file, here: pin reads it and records its sha256, as it does a hashed one."""
    from envsnap.artifacts.pin import IndexConfig, pin

    monkeypatch.chdir(tmp_path)
    sdist = tmp_path / "dist" / "demo-1.0.tar.gz"
    sdist.parent.mkdir()
    with tarfile.open(sdist, "w:gz") as tar:
        data = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
        info = tarfile.TarInfo("demo-1.0/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(line.format(uri=sdist.as_uri()) + "\n")
    snap = importers.read_file(reqs)
    empty = IndexConfig(index_url=(tmp_path / "none").as_uri(), find_links=())
    # As a hashed one: read once --allow-url names its folder (a lock's local URL is not read without it).
    (refused,) = pin(snap, empty, cache_dir=tmp_path / "c1", project_dir=tmp_path).outcomes
    assert refused.status == "unpinned" and "--allow-url" in refused.reason, refused
    allow = ((tmp_path / "dist").as_uri() + "/*",)
    result = pin(snap, empty, cache_dir=tmp_path / "cache", project_dir=tmp_path, allow_urls=allow)
    (outcome,) = result.outcomes
    assert outcome.status == "pinned" and outcome.artifact is not None, outcome
    art = outcome.artifact
    assert (art.filename, art.sha256) == (sdist.name, hashlib.sha256(sdist.read_bytes()).hexdigest())
    assert art.url == "file://{project}/dist/demo-1.0.tar.gz" and art.size == sdist.stat().st_size


@pytest.mark.parametrize(
    "line",
    ["./dist/demo-1.0-py3-none-any.whl", "demo @ {uri}", "{uri}"],
    ids=["path", "name-at-url", "url-alone"],
)
def test_an_unhashed_local_wheel_of_a_requirements_file_is_imported_and_pinned_from_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    """pip installs ``./dist/demo-1.0-py3-none-any.whl`` without ``--hash``, and so does uv: the import refused it ("a
    wheel URL needs a --hash") where it took an sdist so written. It is the wheel by its URL, unpinned, with the
    tags its name gives, and pin reads it (once --allow-url names its folder) and records its sha256."""
    from envsnap.artifacts.pin import IndexConfig, pin

    monkeypatch.chdir(tmp_path)
    wheel = tmp_path / "dist" / "demo-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(line.format(uri=wheel.as_uri()) + "\n")
    snap = importers.read_file(reqs)
    (pkg,) = snap.python.packages
    assert (pkg.name, pkg.version, pkg.wheel_tags, pkg.source.kind) == ("demo", "1.0", ("py3-none-any",), "archive")
    assert pkg.source.url == "file://{project}/dist/demo-1.0-py3-none-any.whl" and not pkg.source.archive_hash, pkg
    empty = IndexConfig(index_url=(tmp_path / "none").as_uri(), find_links=())
    allow = ((tmp_path / "dist").as_uri() + "/*",)
    (outcome,) = pin(snap, empty, cache_dir=tmp_path / "cache", project_dir=tmp_path, allow_urls=allow).outcomes
    assert outcome.status == "pinned" and outcome.artifact is not None, outcome
    assert outcome.artifact.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()


_PYLOCK_HEAD = 'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "demo"\nversion = "1.0"\n'
_PYLOCK_WHEEL = f'name = "{WHEEL}"\nurl = "https://files.example.org/{WHEEL}"\nhashes = {{ sha256 = "{A}" }}\n'
_PYLOCK_SDIST = 'name = "demo-1.0.tar.gz"\nurl = "https://files.example.org/demo-1.0.tar.gz"\n'
_PYLOCK_ARCHIVE = f'url = "https://files.example.org/demo-1.0.tar.gz"\nhashes = {{ sha256 = "{A}" }}\n'
_OTHER_WHEEL = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"


@pytest.mark.parametrize("value", ["true", "false", "1.5", '"12"', "-1", str(2**41)])
@pytest.mark.parametrize(
    ("files", "where"),
    [
        (f"[[packages.wheels]]\n{_PYLOCK_WHEEL}size = VALUE\n", "packages[0].wheels[0].size"),
        (f"[packages.sdist]\n{_PYLOCK_SDIST}size = VALUE\nhashes = {{ sha256 = '{A}' }}\n", "packages[0].sdist.size"),
        (
            f"[[packages.wheels]]\n{_PYLOCK_WHEEL}\n[[packages.wheels]]\n"
            f'name = "{_OTHER_WHEEL}"\nurl = "https://files.example.org/{_OTHER_WHEEL}"\nsize = VALUE\n'
            f'hashes = {{ sha256 = "{B}" }}\n',
            "packages[0].wheels[1].size",
        ),
        (f"[packages.archive]\n{_PYLOCK_ARCHIVE}size = VALUE\n", "packages[0].archive.size"),
    ],
    ids=["wheel", "sdist", "one-of-two-wheels", "archive"],
)
def test_a_pylock_files_size_that_is_not_a_byte_count_is_refused_in_one_line(
    tmp_path: Path, cli: Callable[..., CliResult], files: str, where: str, value: str
) -> None:
    """``size = true`` was read as a size of 1 byte (a bool is an int in Python), ``false`` as none, where packaging
    (older than 26.4) does not check the file: PEP 751's size is an integer, a boolean is not one."""
    path = tmp_path / "pylock.toml"
    path.write_text(_PYLOCK_HEAD + "\n" + files.replace("VALUE", value))
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"envsnap: error: {path}: ") and where in line, line


@pytest.mark.parametrize("value", ["true", "1.0", "'1'"])
def test_a_conda_lock_version_that_is_not_the_integer_1_is_refused(tmp_path: Path, value: str) -> None:
    """``version: true`` equals 1 in Python, and was read as a version 1 file."""
    path = tmp_path / "conda-lock.yml"
    path.write_text(CONDA_LOCK.replace("version: 1\n", f"version: {value}\n", 1))
    with pytest.raises(LockImportError, match=r"conda-lock version .* is not supported \(1 is\)"):
        importers.read_file(path, options=ImportOptions(platform="linux-64"))


@pytest.mark.parametrize("value", ['"false"', "0", '""', "[]"])
@pytest.mark.parametrize(
    ("table", "where"),
    [
        (
            f"[[packages.wheels]]\n{_PYLOCK_WHEEL}\n[packages.tool.envsnap]\nrequested = VALUE\n",
            "tool.envsnap.requested",
        ),
        (
            f"[[packages.wheels]]\n{_PYLOCK_WHEEL}\n[packages.tool.envsnap]\nconda-managed = VALUE\n",
            "tool.envsnap.conda-managed",
        ),
        (f"[[packages.wheels]]\n{_PYLOCK_WHEEL}\n[packages.tool.envsnap]\nrebuilt = VALUE\n", "tool.envsnap.rebuilt"),
        ('[packages.directory]\npath = "."\neditable = VALUE\n', "directory.editable"),
    ],
    ids=["requested", "conda-managed", "rebuilt", "editable"],
)
def test_a_pylock_flag_that_is_not_a_boolean_is_refused_in_one_line(
    tmp_path: Path, cli: Callable[..., CliResult], table: str, where: str, value: str
) -> None:
    """A flag is ``true`` or ``false``: ``requested = "false"`` was read as true (``bool`` of a non-empty string),
    ``0`` as false, and the lock recorded what the file did not say."""
    path = tmp_path / "pylock.toml"
    path.write_text(_PYLOCK_HEAD + "\n" + table.replace("VALUE", value))
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"envsnap: error: {path}: ") and f"packages[0].{where}" in line, line


@pytest.mark.parametrize(
    ("word", "name", "version", "url"),
    [
        (
            "https://files.example.org/p/Demo_Pkg-1.2-py3-none-any.whl",
            "demo-pkg",
            "1.2",
            "https://files.example.org/p/Demo_Pkg-1.2-py3-none-any.whl",
        ),
        ("file:///srv/wheels/demo-1.0-py3-none-any.whl", "demo", "1.0", "file:///srv/wheels/demo-1.0-py3-none-any.whl"),
        ("file:///srv/dist/demo-2.0.tar.gz", "demo", "2.0", "file:///srv/dist/demo-2.0.tar.gz"),
        ("https://files.example.org/p/demo-3.0%2Blocal-py3-none-any.whl", "demo", "3.0+local", None),
    ],
    ids=["https-wheel", "file-wheel", "file-sdist", "quoted-plus"],
)
def test_an_archive_url_alone_on_its_line_is_read_as_pip_reads_it(
    tmp_path: Path, word: str, name: str, version: str, url: str | None
) -> None:
    """pip installs ``https://host/x-1.0-py3-none-any.whl`` (or a ``file:`` URL, an sdist's) written alone on a
    line, without ``name @``: the import said "not a requirement" (packaging's message about a name). It is named
    by its file name, as a path alone is, and recorded as ``name @ url`` is."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"{word} --hash=sha256:{A}\n")
    snap = importers.read_file(reqs)
    (pkg,) = snap.python.packages
    assert (pkg.name, pkg.version, pkg.source.kind) == (name, version, "archive"), pkg
    assert pkg.source.url == (url or word) and pkg.source.archive_hash == f"sha256={A}", pkg.source


def test_an_archive_url_alone_whose_file_name_names_no_package_is_one_line(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"https://files.example.org/p/notawheel.whl --hash=sha256:{A}\n")
    result = cli("import", reqs, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"envsnap: error: {reqs}:1: ") and "notawheel.whl" in line, line


def test_a_conda_lock_folder_or_git_dependency_is_its_source_and_exports_back_as_conda_lock_wrote_it(
    tmp_path: Path,
) -> None:
    """conda-lock locks a pip dependency on a local folder (``mylib @ file:///...``) as its ``file://`` URL with no
    hash, and a git one as ``git+URL@COMMIT`` with the commit as its ``sha256``. The import recorded the folder as an
    index package, which ``pin`` fetched by its name from the index (a stranger's ``mylib 0.1.0``: docs/security.md),
    and refused the git one (``not a valid file name: 'tinygit.git@3829...'``). They are now the folder and the
    commit, and the conda-lock export writes them back as conda-lock wrote them, so a re-import is the same lock."""
    import yaml

    from envsnap.export import conda_lock as conda_lock_export

    path = Path(__file__).parent / "fixtures" / "conda-lock-render" / "direct-conda-lock.yml"
    snap = importers.read_file(path)
    found = {p.name: (p.version, p.source, p.artifact) for p in snap.python.packages}
    assert found == {
        "mylib": ("0.1.0", Source(kind="directory", url="file:///srv/lab/mylib"), None),
        "pipdemo": ("1.2.0", Source(kind="archive", url="file:///srv/lab/wheels/pipdemo-1.2.0-py3-none-any.whl"), None),
        "tinygit": (
            "0.2.0",
            Source(
                kind="vcs",
                url="https://git.example.org/lab/tinygit.git",
                vcs="git",
                commit_id="3829a41daa30ed2a246404255a949ef2eed7d23e",
            ),
            None,
        ),
    }
    written = conda_lock_export.dumps(lockfile.seal(snap))
    pip = [e for e in yaml.safe_load(written)["package"] if e["manager"] == "pip"]
    theirs = [e for e in yaml.safe_load(path.read_text())["package"] if e["manager"] == "pip"]
    assert pip == theirs
    (tmp_path / "conda-lock.yml").write_text(written)
    assert importers.read_file(tmp_path / "conda-lock.yml").python.packages == snap.python.packages


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("git+https://git.example.org/lab/tinygit.git@main", "VCS reference without a commit (url@COMMIT)"),
        ("file://None/srv/lab/mylib", "not a folder on this machine"),
        ("file://{project}/mylib", "not a folder on this machine"),
        ("file:mylib", "not an absolute folder"),
        ("git+file://None/srv/lab/tinygit@" + "3" * 40, "conda-lock wrote its git+file:/// URL with the host None"),
        ("git+file://labhost/srv/lab/tinygit@" + "3" * 40, "not a repository on this machine"),
        ("https://example.org/mylib/archive", "a direct reference envsnap cannot record"),
    ],
)
def test_a_conda_lock_direct_reference_it_cannot_record_is_refused(tmp_path: Path, url: str, message: str) -> None:
    text = (Path(__file__).parent / "fixtures" / "conda-lock-render" / "direct-conda-lock.yml").read_text()
    path = tmp_path / "conda-lock.yml"
    path.write_text(text.replace("file:///srv/lab/mylib", url))
    with pytest.raises(LockImportError) as caught:
        importers.read_file(path)
    assert str(caught.value).startswith(f"{path}: package[") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_conda_lock_s_git_file_none_url_is_refused_with_the_line_that_locks_it(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """conda-lock 4 writes a local git dependency given as ``git+file:///srv/lab/gitdep@COMMIT`` as
    ``git+file://None/srv/lab/gitdep@COMMIT``: the refusal said "not a repository on this machine", not that conda-lock
    wrote the host nor what to write instead. It says both: ``git+file://localhost/...``, which conda-lock keeps."""
    path = Path(__file__).parent / "fixtures" / "conda-lock-render" / "gitnone-conda-lock.yml"
    out = tmp_path / "out.lock"
    result = cli("import", path, "-o", out)
    commit = "f30bdd847db2506ff09e44a4dbc124fbdd36b8eb"
    assert result.code == 2 and not out.exists(), result
    assert result.err == (
        f"envsnap: error: {path}: package[0]: gitdep: conda-lock wrote its git+file:/// URL with the host None "
        f"('git+file://None/srv/lab/gitdep@{commit}'), a host envsnap does not read as this machine: write it as "
        f"'gitdep @ git+file://localhost/srv/lab/gitdep@{commit}' in the pip: section and lock again (the same "
        "repository)\n"
    )
    fixed = tmp_path / "conda-lock.yml"
    fixed.write_text(path.read_text().replace("file://None/", "file://localhost/"))
    [gitdep] = importers.read_file(fixed).python.packages
    assert gitdep.source == Source(kind="vcs", url="file:///srv/lab/gitdep", vcs="git", commit_id=commit)


def test_conda_lock_rendering_a_folder_or_git_dependency_imports_and_exports_back_line_for_line(
    tmp_path: Path,
) -> None:
    """``conda-lock render --kind explicit`` writes a folder or a git commit it locked as ``# pip NAME @ URL``, no
    hash (``conda-lock install`` hands the line to pip). The import refused conda-lock's own file (``# pip line: not
    NAME @ URL#sha256=HEX``) and the export wrote such a package only as a comment. Both are their source now (no
    version: the line has none), and the export writes conda-lock's lines back."""
    from envsnap.export import conda_explicit

    folder = Path(__file__).parent / "fixtures" / "conda-lock-render"
    snap = importers.read_file(folder / "direct-linux-64.lock")
    assert "python.packages" not in snap.envsnap.unknown
    locked = {p.name: p for p in importers.read_file(folder / "direct-conda-lock.yml").python.packages}
    assert [(p.name, p.version, p.source) for p in snap.python.packages] == [
        (name, version, locked[name].source) for name, version in (("mylib", ""), ("pipdemo", "1.2.0"), ("tinygit", ""))
    ]
    written = conda_explicit.dumps(lockfile.seal(snap))
    pip_lines = [line for line in written.splitlines() if line.startswith("# pip ")]
    theirs = [line for line in (folder / "direct-linux-64.lock").read_text().splitlines() if line.startswith("# pip ")]
    assert pip_lines == theirs
    (tmp_path / "conda-linux-64.lock").write_text(written)
    assert importers.read_file(tmp_path / "conda-linux-64.lock").python.packages == snap.python.packages


def test_a_conda_lock_git_dependency_on_this_machine_is_the_repository_pip_records(tmp_path: Path) -> None:
    """``git+file://localhost/srv/repo`` (how envsnap's exports and pip name a repository on this machine) is the
    repository ``file:///srv/repo``, as the requirements import reads it."""
    text = (Path(__file__).parent / "fixtures" / "conda-lock-render" / "direct-conda-lock.yml").read_text()
    path = tmp_path / "conda-lock.yml"
    path.write_text(text.replace("git+https://git.example.org/lab/tinygit.git", "git+file://localhost/srv/lab/tinygit"))
    assert importers.read_file(path).package("tinygit").source.url == "file:///srv/lab/tinygit"  # type: ignore[union-attr]


def test_a_conda_lock_wheel_by_https_url_goes_back_as_conda_lock_wrote_it(tmp_path: Path) -> None:
    """conda-lock locks ``x @ https://host/x.whl#sha256=HEX`` with the file's URL in ``url``, its digest in ``hash`` and
    the requirement, fragment and all, in ``source`` (pypi_solver.get_requirements): an archive source, written back
    the same, so ``conda-lock install`` gives pip the file and its hash, never ``x == 1.2.0`` from an index."""
    import yaml

    from envsnap.export import conda_lock as conda_lock_export

    url, sha256 = (
        "https://files.example.org/pipdemo-1.2.0-py3-none-any.whl",
        "4f24f475908c85d419bbbd684dab802406f15d666b7416740178e2206d584004",
    )
    doc = yaml.safe_load(
        (Path(__file__).parent / "fixtures" / "conda-lock-render" / "direct-conda-lock.yml").read_text()
    )
    for entry in doc["package"]:
        if entry["name"] == "pipdemo":
            entry.update(url=url, hash={"sha256": sha256}, source={"type": "url", "url": f"{url}#sha256={sha256}"})
    path = tmp_path / "conda-lock.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    snap = importers.read_file(path)
    assert snap.package("pipdemo").source == Source(kind="archive", url=url, archive_hash=f"sha256={sha256}")  # type: ignore[union-attr]
    written = yaml.safe_load(conda_lock_export.dumps(lockfile.seal(snap)))
    assert [e for e in written["package"] if e["manager"] == "pip"] == [
        e for e in doc["package"] if e["manager"] == "pip"
    ]


def test_conda_lock_dev_packages_are_imported_as_conda_lock_install_takes_them(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """conda-lock writes a package of the dev category as ``category: dev, optional: true`` (and one of main and dev
    twice, once per category), and `conda-lock install` and `render` take main and dev by default. The import took
    only what was not optional: the dev packages were left out of the lock without a word, so the lock, its rebuild
    and its exports held less than `conda-lock install` and `render --kind explicit` of the same file. Main and dev
    are imported (a package listed for both, once); another category (an extra, which they leave out without
    ``-e NAME``) is left out, with a warning naming it."""
    python = (
        "- name: python\n  version: 3.11.9\n  manager: conda\n  platform: linux-64\n  dependencies: {}\n"
        "  url: https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda\n"
        f"  hash:\n    md5: ac68acfa8b558ed406c75e98d3428d7b\n    sha256: {C}\n"
    )
    pip = "- name: {}\n  version: {}\n  manager: pip\n  platform: linux-64\n  dependencies: {{}}\n  url: {}\n"
    typing = (
        pip.format(
            "typing-extensions",
            "4.12.2",
            "https://files.pythonhosted.org/packages/26/9f/typing_extensions-4.12.2-py3-none-any.whl",
        )
        + f"  hash:\n    sha256: {A}\n"
    )
    text = (
        "version: 1\nmetadata:\n  content_hash:\n    linux-64: {A}\n  channels:\n  - url: conda-forge\n"
        "    used_env_vars: []\n  platforms:\n  - linux-64\n  sources:\n  - environment.yml\npackage:\n"
        + python
        + "  category: dev\n  optional: true\n"
        + python
        + "  category: main\n  optional: false\n"
        + typing
        + "  category: dev\n  optional: true\n"
        + typing
        + "  category: docs\n  optional: true\n"  # in dev too: imported, not named in the warning
        + pip.format("mkdocs", "1.6.0", "https://files.pythonhosted.org/packages/2a/mkdocs-1.6.0-py3-none-any.whl")
        + f"  hash:\n    sha256: {B}\n  category: docs\n  optional: true\n"
    ).replace("{A}", A)
    path = tmp_path / "conda-lock.yml"
    path.write_text(text)
    parse_conda_lock_file(path)  # conda-lock itself reads it
    out = tmp_path / "out.lock"
    result = cli("import", path, "--platform", "linux-64", "-o", out)
    assert result.code == 0, result
    snap = lockfile.load(out)
    assert snap.conda is not None and [p.name for p in snap.conda.packages] == ["python"]
    assert [p.name for p in snap.python.packages] == ["typing-extensions"]
    assert (
        "warning: import: 1 package of an optional category conda-lock install leaves out without -e CATEGORY is "
        "not in the lock: mkdocs (docs)"
    ) in result.err


@pytest.mark.parametrize("pip", ["", "  - pip:\n      - six==1.17.0 --hash=sha256:" + "a" * 64 + "\n"])
def test_a_conda_environment_file_not_named_yml_is_said_to_be_one(
    tmp_path: Path, pip: str, cli: Callable[..., CliResult]
) -> None:
    """``envsnap import env.conda``, an environment file not named .yml/.yaml, was "not a format envsnap can import ...;
    name one with --from", which no --from reads (and with a ``--hash`` in its pip: section, read as a requirements
    file: ``env.conda:3: unsupported option -``): it is said to be an environment.yml, with what to import instead, as
    that name's is."""
    path = tmp_path / "env.conda"
    path.write_text(f"name: myenv\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - numpy=1.26\n{pip}")
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    assert result.err == (
        f"envsnap: error: {path}: not a format envsnap can import (conda-explicit, conda-lock, json, pylock, "
        "requirements); an environment.yml names packages, not their files (no URL, no "
        "hash): import a conda-lock.yml (conda-lock lock -f environment.yml, or envsnap export -f conda-lock) or "
        "an explicit file (conda list --explicit --md5) instead\n"
    )


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("env.conda-lock", CONDA_LOCK, "conda-lock"),
        ("pylock.lock", PYLOCK_TEXT, "pylock"),
        ("env.lock.js", '{"envsnap": {"schema_version": 1}}', "json"),
    ],
)
def test_a_file_named_as_no_format_names_the_one_its_content_reads_as(
    tmp_path: Path, name: str, content: str, fmt: str, cli: Callable[..., CliResult]
) -> None:
    """A file of a format envsnap reads under a name it does not recognise (a conda-lock file not named .yml, a
    pylock not named .toml) was "not a format envsnap can import ...; name one with --from", naming none: the format
    its content reads as is named, with its --from."""
    path = tmp_path / name
    path.write_text(content)
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    assert result.err == (
        f"envsnap: error: {path}: not a format envsnap can import by its name (conda-explicit, conda-lock, json, "
        f"pylock, requirements); its content reads as {fmt}: name it with --from {fmt}\n"
    )


def test_a_uv_lock_is_answered_with_the_export_alone_not_a_from_that_reads_none(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``envsnap import uv.lock`` (a real ``uv lock``'s) said "...; name one with --from; for uv.lock: uv export ...":
    no ``--from`` reads it, and a user who tried each got a parser's error. The line says only what to export."""
    path = tmp_path / "uv.lock"
    path.write_text('version = 1\nrequires-python = ">=3.11"\n\n[[package]]\nname = "six"\nversion = "1.17.0"\n')
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    assert result.err == (
        f"envsnap: error: {path}: not a format envsnap can import (conda-explicit, conda-lock, json, pylock, "
        "requirements); for uv.lock: uv export --format pylock.toml -o pylock.toml, then import that\n"
    )


def test_a_poetry_lock_is_answered_with_the_export_that_makes_a_file_to_import(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``envsnap import poetry.lock`` was "not a format envsnap can import ...; name one with --from", which none
    reads; uv.lock's line says what to export, and so does Poetry's now (as a poetry.lock given as a lock does)."""
    path = tmp_path / "poetry.lock"
    path.write_text('[[package]]\nname = "six"\nversion = "1.17.0"\n\n[metadata]\nlock-version = "2.1"\n')
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    assert result.err == (
        f"envsnap: error: {path}: not a format envsnap can import (conda-explicit, conda-lock, json, pylock, "
        "requirements); for poetry.lock: poetry export -f requirements.txt -o "
        "requirements.txt in its project (the poetry-plugin-export), then import that\n"
    )


@pytest.mark.parametrize(
    "body",
    [
        "",  # a package of a future format: no source table envsnap knows
        f"[[packages.wheels]]\n{_PYLOCK_WHEEL}",  # one that reads as a 1.0 package all the same
    ],
    ids=["new-shape", "old-shape"],
)
@pytest.mark.parametrize("version", ["2.0", "0.9", "10.1"])
def test_a_pylock_of_a_major_version_envsnap_does_not_know_is_refused_as_such(
    tmp_path: Path, cli: Callable[..., CliResult], body: str, version: str
) -> None:
    """PEP 751: a tool must refuse a major lock-version it does not know; it said what packaging found wrong with the
    first package, read by the rules of version 1."""
    path = tmp_path / "pylock.toml"
    path.write_text(_PYLOCK_HEAD.replace('"1.0"', f'"{version}"', 1) + body)
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    (line,) = result.err.strip().splitlines()
    assert line == (
        f"envsnap: error: {path}: lock-version {version} is not supported: envsnap reads pylock files of "
        "lock-version 1 (PEP 751)"
    ), line


@pytest.mark.parametrize("version", ['"two"', "2", '"1.0.0"', '""'])
def test_a_pylock_lock_version_that_is_no_version_is_refused_in_one_line(
    tmp_path: Path, cli: Callable[..., CliResult], version: str
) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(_PYLOCK_HEAD.replace('"1.0"', version, 1) + f"[[packages.wheels]]\n{_PYLOCK_WHEEL}")
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists(), result
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"envsnap: error: {path}: lock-version ") and "MAJOR.MINOR" in line, line


def test_a_pylock_lock_version_of_a_bare_major_is_read_as_its_dot_0(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """docs/cli.md: ``lock-version = "1"`` is 1.0, as packaging reads it (the docs said it was refused)."""
    path = tmp_path / "pylock.toml"
    path.write_text(_PYLOCK_HEAD.replace('"1.0"', '"1"', 1) + f"[[packages.wheels]]\n{_PYLOCK_WHEEL}")
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 0 and "lock-version" not in result.err, result
    assert (tmp_path / "env.lock").exists()


def test_a_pylock_of_a_newer_minor_version_is_read_with_a_warning(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """PEP 751: a newer minor version of a known major may be read, with a warning (packaging's own went to the
    logger, an unformatted line without envsnap's prefix)."""
    path = tmp_path / "pylock.toml"
    path.write_text(_PYLOCK_HEAD.replace('"1.0"', '"1.7"', 1) + f"[[packages.wheels]]\n{_PYLOCK_WHEEL}")
    result = cli("import", path, "-o", tmp_path / "env.lock")
    assert result.code == 0, result
    lines = result.err.strip().splitlines()
    assert lines[1:] == [
        "warning: lock-version 1.7 is newer than the 1.0 envsnap knows: what it adds is not read (PEP 751)"
    ], lines


@pytest.mark.parametrize("option", ["--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--index-url="])
@pytest.mark.parametrize("before", ["", "six==1.16.0\n"])
def test_an_index_option_without_its_value_is_refused_naming_its_line(
    tmp_path: Path, cli: Callable[..., CliResult], option: str, before: str
) -> None:
    """pip: "--index-url option requires 1 argument". A bare one was read as no index: alone, the file had "no
    packages in it"; after a requirement, a warning named an empty URL."""
    path = tmp_path / "requirements.txt"
    path.write_text(f"{before}{option}\n")
    result = cli("import", path, "-o", tmp_path / "out.lock")
    number = before.count("\n") + 1
    bare = option.rstrip("=")
    assert (result.code, result.err) == (
        2,
        f"envsnap: error: {path}:{number}: {bare} without a value (pip: the option requires an argument)\n",
    )
    assert not (tmp_path / "out.lock").exists()


def test_an_editable_path_with_a_space_says_so_and_how_to_write_it(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``pip freeze`` writes an editable project in a folder with a space as it is (``-e /tmp/rés earch/proj``),
    which pip splits as a shell does: the import said "cannot tell the name of the editable project /tmp/rés". The
    line says the path holds a space and gives it quoted and as its percent-encoded file: URL, both of which
    import."""
    project = tmp_path / "rés earch" / "proj"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1.0"\n')
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"-e {project}\n")
    result = cli("import", reqs, "-o", tmp_path / "env.lock")
    quoted = f"-e '{project}'"
    url = f"-e {project.as_uri()}"
    assert "%20" in url
    assert (result.code, result.err) == (
        2,
        f"envsnap: error: {reqs}:1: -e {project}: the path holds a space, which ends it for pip (it splits an "
        f"option's value as a shell does; pip freeze writes the path so): write it quoted, {quoted}, or as its "
        f"file: URL, {url}\n",
    ), result.err
    assert not (tmp_path / "env.lock").exists()
    for fixed in (quoted, url):
        reqs.write_text(fixed + "\n")
        done = cli("import", reqs, "-o", tmp_path / "env.lock")
        assert done.code == 0, done.err
        assert [p.name for p in lockfile.load(tmp_path / "env.lock").python.packages] == ["proj"]


def test_an_editable_vcs_url_with_a_space_says_so_and_how_to_write_it(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """``pip freeze`` writes an editable checkout of a repository in a folder with a space as it is (``-e
    git+file:///lab/rés earch/repo@C#egg=labgit``), which pip splits as a shell does: the import said "editable VCS
    reference without #egg=NAME", the fragment being in the word after the space. The line says the URL holds a space
    and gives it with %20, as for a direct reference and an editable path, which imports."""
    commit = "a" * 40
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"-e git+file:///lab/rés earch/repo@{commit}#egg=labgit\n")
    result = cli("import", reqs, "-o", tmp_path / "env.lock")
    fixed = f"-e git+file:///lab/rés%20earch/repo@{commit}#egg=labgit"
    assert (result.code, result.err) == (
        2,
        f"envsnap: error: {reqs}:1: -e git+file:///lab/rés earch/repo@{commit}#egg=labgit: its URL holds a space, "
        "which ends it for pip (it splits an option's value as a shell does; pip freeze writes a local path so): "
        f"write the space as %20, {fixed}\n",
    ), result.err
    assert not (tmp_path / "env.lock").exists()
    reqs.write_text(fixed + "\n")
    done = cli("import", reqs, "-o", tmp_path / "env.lock")
    assert done.code == 0, done.err
    [package] = lockfile.load(tmp_path / "env.lock").python.packages
    assert (package.name, package.source.url, package.source.editable) == (
        "labgit",
        "file:///lab/rés%20earch/repo",
        True,
    )


@pytest.mark.parametrize("ending", [".tar.xz", ".tar", ".tar.bz2", ".tgz"])
def test_a_local_sdist_of_any_ending_pip_unpacks_is_an_archive_not_a_folder(tmp_path: Path, ending: str) -> None:
    """``labspeed @ file:///w/labspeed-0.3.tar.xz --hash=sha256:...`` (pip unpacks .tar.xz, .tar, .tar.bz2 and .tgz
    sdists as it does .tar.gz) was recorded as the folder ``file:///w/labspeed-0.3.tar.xz``, with no version and its
    hash dropped; conda-lock's direct reference to such a file too. Each is the archive, its hash and version kept."""
    reqs = tmp_path / "requirements.txt"
    url = f"file:///w/labspeed-0.3{ending}"
    reqs.write_text(f"labspeed @ {url} --hash=sha256:{A}\n")
    (pkg,) = importers.read_file(reqs).python.packages
    assert (pkg.version, pkg.source) == ("0.3", Source(kind="archive", url=url, archive_hash=f"sha256={A}")), pkg

    fixture = Path(__file__).parent / "fixtures" / "conda-lock-render" / "direct-conda-lock.yml"
    wheel = "file:///srv/lab/wheels/pipdemo-1.2.0-py3-none-any.whl"
    sdist = f"file:///srv/lab/sdists/pipdemo-1.2.0{ending}"
    (tmp_path / "conda-lock.yml").write_text(fixture.read_text().replace(wheel, sdist))
    found = {p.name: p for p in importers.read_file(tmp_path / "conda-lock.yml").python.packages}
    assert found["pipdemo"].source == Source(kind="archive", url=sdist), found["pipdemo"]


@pytest.mark.parametrize("ending", [".tar.xz", ".tar", ".tar.bz2", ".tgz"])
def test_an_sdist_path_or_url_alone_of_any_ending_pip_unpacks_is_that_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    """``./dist/labspeed-0.3.tar.xz`` alone on its line (pip installs it, named by its file) was taken for an
    editable project's folder ("cannot tell the name of the editable project"), and ``file:///.../x-0.3.tar.xz`` alone
    was "not a requirement": only .tar.gz and .zip sdists were read so."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / f"labspeed-0.3{ending}").write_bytes(b"x")
    reqs = tmp_path / "requirements.txt"
    for word in (f"./dist/labspeed-0.3{ending}", f"file:///srv/dist/labspeed-0.3{ending}"):
        reqs.write_text(f"{word} --hash=sha256:{A}\n")
        (pkg,) = importers.read_file(reqs).python.packages
        assert (pkg.name, pkg.version, pkg.source.kind, pkg.source.archive_hash) == (
            "labspeed",
            "0.3",
            "archive",
            f"sha256={A}",
        ), (word, pkg)


def test_an_editable_path_that_names_no_folder_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``uv export --format requirements.txt`` run in a workspace member's folder writes ``-e ./packages/app``, the
    path from the workspace root; imported there, the line said "cannot tell the name of the editable project
    ./packages/app: no pyproject.toml [project] name, setup.cfg [metadata] name or built PKG-INFO in
    .../packages/app/packages/app", as if the folder were there without a name. It says the folder is not there."""
    monkeypatch.chdir(tmp_path)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("-e ./packages/app\n")
    result = cli("import", reqs, "-o", tmp_path / "out.lock")
    assert result.code == 2 and not (tmp_path / "out.lock").exists(), result
    assert result.err == (
        f"envsnap: error: {reqs}:1: ./packages/app: no such folder: {tmp_path / 'packages' / 'app'} (a relative "
        "path is the working directory's, as pip reads it: import from the folder you install from)\n"
    ), result.err


def test_a_plain_project_folder_whose_name_cannot_be_read_is_not_called_editable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A requirements line ``./labutils`` (``uv pip compile`` writes a path dependency so) is the project in that
    folder, installed as it is, not editable: where its name cannot be read, the line said "cannot tell the name of
    the editable project ./labutils". It names the project in the folder, and an ``-e`` line still says editable."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "labutils").mkdir()
    reqs = tmp_path / "requirements.txt"
    url = (tmp_path / "labutils").as_uri()
    for line, said, advice in (
        ("./labutils", "the project in the folder", f"NAME @ {url}"),
        ("-e ./labutils", "the editable project", f"-e {url}#egg=NAME"),
    ):
        reqs.write_text(f"{line}\n")
        result = cli("import", reqs, "-o", tmp_path / "out.lock")
        assert result.code == 2 and not (tmp_path / "out.lock").exists(), result
        assert result.err == (
            f"envsnap: error: {reqs}:1: cannot tell the name of {said} ./labutils: no pyproject.toml [project] name, "
            f"setup.cfg [metadata] name or built PKG-INFO in {tmp_path / 'labutils'} (a relative path is the working "
            f"directory's, as pip reads it); write it as '{advice}'\n"
        ), result.err


def test_the_line_advised_for_an_unnamed_editable_folder_keeps_it_editable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``-e ./labutils`` whose name cannot be read (a build backend that names it, no ``[project]`` table) was
    advised "write it as 'NAME @ file:///path'": a line that installs the project as it is, not editable (and pip
    refuses ``-e NAME @ URL``). It is advised ``-e file:///path#egg=NAME``, which pip and uv install editable;
    written so, the import records the project editable by that name, and uv installs it editable."""
    import subprocess

    from testutil import uv_bin

    monkeypatch.chdir(tmp_path)
    folder = in_tree_project(tmp_path / "labutils", "labutils", "0.1")
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "inproj"\nbackend-path = ["_backend"]\n'
    )
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("-e ./labutils\n")
    result = cli("import", reqs, "-o", tmp_path / "out.lock")
    assert result.code == 2, result
    advised = result.err.rsplit("write it as '", 1)[1].split("'", 1)[0].replace("NAME", "labutils")
    assert advised == f"-e {folder.as_uri()}#egg=labutils", result.err
    reqs.write_text(f"{advised}\n")
    result = cli("import", reqs, "-o", tmp_path / "out.lock")
    assert result.code == 0, result
    (pkg,) = lockfile.load(tmp_path / "out.lock").python.packages
    assert pkg.name == "labutils" and pkg.source.kind == "directory" and pkg.source.editable, pkg
    uv = uv_bin()
    if uv is None:
        return  # the import's part is checked; uv's is where uv is installed
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([uv, "pip", "install", "-q", "--offline", "--python", python, "-r", str(reqs)], check=True)
    found = subprocess.run(
        [python, "-c", "import labutils; print(labutils.__file__)"], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == str(folder / "labutils" / "__init__.py"), found.stdout  # the folder's: editable
