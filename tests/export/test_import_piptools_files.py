"""Imports of the requirements files pip-compile (pip-tools) writes: fixtures/piptools-local-project, see its README."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from testutil import CliResult
from wheelfiles import build_wheel

from envsnap import importers, lockfile
from envsnap.interchange import PYPI_SIMPLE
from envsnap.model import Source

FIXTURE = Path(__file__).parent / "fixtures" / "piptools-local-project"
PLACEHOLDER = "/ABS/PROJECT"  # the folder pip-compile ran in, written into its absolute file: URLs


def _project(at: Path) -> Path:
    """The fixture copied to ``at``, a git work tree, with its own folder in the place of the one it was made in."""
    shutil.copytree(FIXTURE, at)
    subprocess.run(["git", "init", "-q", str(at)], check=True, timeout=60)
    for name in ("requirements.in", "requirements-hashes.txt"):
        path = at / name
        path.write_text(path.read_text().replace(PLACEHOLDER, str(at)))
    return at


def test_pip_compile_absolute_file_urls_in_the_project_are_recorded_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """pip-compile writes ``-e file:///home/me/proj/libs/labutils`` and ``labtool @ file:///home/me/proj/libs/labtool``:
    the lock carried the user's home and could not be rebuilt from another checkout. A ``file:`` URL of a folder in
    the project (the git work tree around the working directory) is recorded under ``{project}``, as its relative
    path is, and the export writes it back relative to the project root."""
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    snap = importers.read_file(project / "requirements-hashes.txt")
    assert snap.package("labutils").source == Source(  # type: ignore[union-attr]
        kind="directory", url="file://{project}/libs/labutils", editable=True
    )
    assert snap.package("labtool").source == Source(kind="directory", url="file://{project}/libs/labtool")  # type: ignore[union-attr]
    assert str(tmp_path) not in lockfile.dumps(snap)

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(snap, lock)
    exported = tmp_path / "requirements.txt"
    assert cli("export", lock, "--format", "requirements", "-o", exported).code == 0
    lines = exported.read_text().splitlines()
    assert "#   pip install --no-deps ./libs/labtool" in lines
    assert "#   pip install --no-deps -e ./libs/labutils" in lines
    again = importers.read_file(exported)
    assert [again.package(n).source for n in ("labtool", "labutils")] == [  # type: ignore[union-attr]
        snap.package(n).source  # type: ignore[union-attr]
        for n in ("labtool", "labutils")
    ]

    # Outside the project (another working directory, no git work tree around it) the URL stays absolute.
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    snap = importers.read_file(project / "requirements-hashes.txt")
    assert snap.package("labtool").source.url == (project / "libs" / "labtool").as_uri()  # type: ignore[union-attr]
    assert snap.package("labutils").source.url == (project / "libs" / "labutils").as_uri()  # type: ignore[union-attr]


def test_an_absolute_path_in_the_project_is_recorded_under_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pip-compile writes ``-e /home/me/proj/libs/labutils`` given that path: the same folder as its file: URL.
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"-e {project}/libs/labutils\n")
    (pkg,) = importers.read_file(reqs).python.packages
    assert pkg.source == Source(kind="directory", url="file://{project}/libs/labutils", editable=True)


def test_pip_compile_emit_find_links_to_an_empty_folder_keeps_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip-compile --emit-find-links --find-links ./wheels`` with no ``--index-url``: every package was recorded
    in that folder, which holds none of them. A folder is recorded only for a package it holds a file of; the rest
    are on pip's own index, as in a file without index lines, and the folder is named in a warning, as the lock
    records a path (the warning named ``/home/me/proj/wheels``: the published lock carried the user's home)."""
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    snap = importers.read_file(project / "requirements-find-links.txt")
    six = snap.package("six")
    assert six is not None and {c.index for c in six.candidates} == {PYPI_SIMPLE}
    assert [w for w in snap.envsnap.warnings if "find-links" in w] == [
        "import: --find-links {project}/wheels is not recorded: no package's file was taken from it (a package "
        "records every index the file names, and the --find-links folder its file is in); `envsnap pin` looks there "
        "when pip is configured with it"
    ]
    assert str(tmp_path) not in lockfile.dumps(snap)


def test_a_find_links_location_not_recorded_is_named_without_the_home_or_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warning naming a --find-links location the lock does not record: a folder under the home (outside the
    project) as ``~/...``, a URL without its ``user:password@``, as the lock records paths and URLs."""
    home = tmp_path / "home"
    project = _project(home / "proj")
    (home / "wheels").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    reqs = project / "requirements.txt"
    reqs.write_text(
        "--index-url https://pypi.org/simple\n--find-links ../wheels\n"
        "--find-links https://bob:s3cretpw@wheels.example/lab/\n"
        f"six==1.16.0 --hash=sha256:{'a' * 64}\n"
    )
    snap = importers.read_file(reqs)
    assert [w.split(" is not recorded")[0] for w in snap.envsnap.warnings if "find-links" in w] == [
        "import: --find-links ~/wheels",
        "import: --find-links https://wheels.example/lab/",
    ]
    text = lockfile.dumps(snap)
    assert str(tmp_path) not in text and "s3cretpw" not in text


def test_a_find_links_folder_in_the_project_holding_the_wheel_is_recorded_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``--find-links ./wheels`` holding the pinned wheel of the project's own labtool: the lock recorded the folder's
    absolute path (``index = "/home/me/proj/wheels"``), the user's home, where ``envsnap pin`` records
    ``file://{project}/wheels``. It is recorded as pin records it; the export writes it back relative to the project
    root, and the bundle reads the wheel from the project."""
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    wheel = build_wheel(project / "wheels", "labtool", "0.3.0", "labtool")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    reqs = project / "requirements.txt"
    reqs.write_text(f"--find-links ./wheels\nlabtool==0.3.0 --hash=sha256:{digest}\n")
    snap = importers.read_file(reqs)
    art = snap.package("labtool").artifact  # type: ignore[union-attr]
    assert art is not None and (art.sha256, art.index) == (digest, "file://{project}/wheels")
    assert not [w for w in snap.envsnap.warnings if "find-links" in w]
    assert str(tmp_path) not in lockfile.dumps(snap)

    lock = project / "envsnap.lock"
    lockfile.dump(snap, lock)
    exported = project / "exported.txt"
    assert cli("export", lock, "--format", "requirements", "-o", exported).code == 0
    text = exported.read_text()
    assert "--find-links wheels\n" in text and "--index-url" not in text
    assert importers.read_file(exported).package("labtool").artifact == art  # type: ignore[union-attr]
    absolute = cli("export", lock, "--format", "requirements", "--absolute-paths", "-o", "-")
    assert f"--find-links {project / 'wheels'}\n" in absolute.out and "--index-url" not in absolute.out

    bundled = cli("bundle", lock, "-o", tmp_path / "bundle", "--allow-url", f"{project}/*")
    assert bundled.code == 0, bundled.err
    assert (tmp_path / "bundle" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
    # The folder pip is configured with is read without --allow-url, as for a lock pin wrote.
    monkeypatch.setenv("PIP_FIND_LINKS", "./wheels")
    assert cli("bundle", lock, "-o", tmp_path / "bundle2").code == 0

    # Outside the project the folder stays as it was: its absolute path.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    reqs.write_text(f"--find-links {project / 'wheels'}\nlabtool==0.3.0 --hash=sha256:{digest}\n")
    assert importers.read_file(reqs).package("labtool").artifact.index == str(project / "wheels")  # type: ignore[union-attr]


def test_an_editable_path_s_egg_fragment_is_no_part_of_its_folder(tmp_path: Path) -> None:
    """``-e DIR#egg=x``: the folder is DIR, and the egg names the project where the folder does not (the line an
    unnamed ``-e DIR`` is advised to be written as); without it, the refusal names DIR."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"-e {tmp_path}\n")
    with pytest.raises(importers.LockImportError) as caught:
        importers.read_file(reqs)
    assert f"no pyproject.toml [project] name, setup.cfg [metadata] name or built PKG-INFO in {tmp_path};" in str(
        caught.value
    )
    reqs.write_text(f"-e {tmp_path}#egg=x\n")
    (pkg,) = importers.read_file(reqs).python.packages
    assert pkg.name == "x" and pkg.source.url == tmp_path.as_uri() and pkg.source.editable
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    (pkg,) = importers.read_file(reqs).python.packages
    assert pkg.name == "x" and pkg.source.url == tmp_path.as_uri()


@pytest.mark.parametrize("linked", [False, True], ids=["home", "home-through-a-link"])
def test_a_home_path_in_the_project_is_recorded_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linked: bool
) -> None:
    """``-e $HOME/proj/libs/labutils`` (the shell's ``~/proj/...``: pip and uv expand no ``~`` themselves, and PEP 751
    none in a pylock's ``path``) with the project at ``~/proj`` was recorded as ``file://~/proj/libs/...``: a lock
    that cannot be rebuilt from another checkout. The project wins over the home, also where the home is a link
    (``HOME=/home/me`` -> ``/data/me``; git names the work tree by its real path). A path in the home outside the
    project is recorded under its label."""
    real = tmp_path / "data" / "me"
    project = _project(real / "proj")
    (real / "other" / "outside").mkdir(parents=True)
    (real / "other" / "outside" / "pyproject.toml").write_text('[project]\nname = "labutils-outside"\n')
    home = tmp_path / "me"
    if linked:
        home.symlink_to(real)
    monkeypatch.setenv("HOME", str(home if linked else real))
    monkeypatch.chdir(project)
    reqs = project / "requirements.txt"
    named = home if linked else real
    reqs.write_text(f"-e {named}/proj/libs/labutils\n-e {named}/other/outside\n")
    snap = importers.read_file(reqs)
    assert snap.package("labutils").source.url == "file://{project}/libs/labutils"  # type: ignore[union-attr]
    assert snap.package("labutils-outside").source.url == "file://~/other/outside"  # type: ignore[union-attr]
    pylock = project / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n[[packages]]\nname = "labtool"\n'
        f'directory = {{ path = "{named}/proj/libs/labtool", editable = true }}\n'
    )
    assert importers.read_file(pylock).package("labtool").source.url == "file://{project}/libs/labtool"  # type: ignore[union-attr]


def test_a_folder_named_tilde_is_the_folder_pip_uv_and_pep_751_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """pip reads a requirement ``~/dist/x.whl`` (and uv ``-e ~/lib``) as the folder named ``~`` in the working
    directory, never the home (pip 23.2 installed ``{project}/~/dist/x.whl`` with the same file in the home), and PEP
    751 a pylock's ``path = "~/dist/x.whl"`` from the pylock's folder, as envsnap's own pylock export writes a wheel
    installed from ``{project}/~/dist``. The import read both as the home's (``file://~/dist/x.whl``): the lock
    named a file that is not the one installed, and the export's round trip moved it into the home."""
    home = tmp_path / "home"
    project = tmp_path / "proj"
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    (project / "~" / "dist").mkdir(parents=True)
    wheel = build_wheel(project / "~" / "dist", "tildewheel", "1.0", "tildewheel")
    (home / "dist").mkdir(parents=True)
    shutil.copy(wheel, home / "dist")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    where = "file://{project}/~/dist/tildewheel-1.0-py3-none-any.whl"
    reqs = project / "requirements.txt"
    reqs.write_text(f"~/dist/tildewheel-1.0-py3-none-any.whl --hash=sha256:{digest}\n")
    snap = importers.read_file(reqs)
    assert snap.package("tildewheel").source.url == where  # type: ignore[union-attr]
    pylock = project / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n[[packages]]\nname = "tildewheel"\nversion = "1.0"\n'
        f'archive = {{ path = "~/dist/tildewheel-1.0-py3-none-any.whl", hashes = {{ sha256 = "{digest}" }} }}\n'
    )
    assert importers.read_file(pylock).package("tildewheel").source.url == where  # type: ignore[union-attr]
    lockfile.dump(snap, project / "envsnap.lock")
    assert cli("export", "envsnap.lock", "-f", "pylock", "-o", "exported.toml").code == 0
    back = importers.read_file(project / "exported.toml").package("tildewheel")
    assert back is not None and (back.source.url, back.source.archive_hash) == (where, f"sha256={digest}")


def test_paths_beside_the_project_under_the_home_are_recorded_under_its_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A researcher's layout: the project at ``~/proj``, wheels beside it (``--find-links ../wheels``), a library
    checked out beside it (``-e ../src/mylib``, pip-compile's ``x @ file:///home/alice/...``). The lock recorded
    each by its absolute path (``index = "/home/alice/wheels"``): the published lock named the user's home and
    broke once moved. Each is ``~/...`` now, as capture and pin record a path under the home, and a bundle made
    as another user (another home holding the same folders) reads the wheel from there."""
    home = tmp_path / "home" / "alice"
    project = home / "proj"
    project.mkdir(parents=True)
    (home / "wheels").mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    wheel = build_wheel(home / "wheels", "labtool", "0.3.0", "labtool")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (home / "src" / "mylib").mkdir(parents=True)
    (home / "src" / "mylib" / "pyproject.toml").write_text('[project]\nname = "mylib"\nversion = "1.0"\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    reqs = project / "requirements.txt"
    reqs.write_text(
        f"--find-links ../wheels\n-e ../src/mylib\nlabtool==0.3.0 --hash=sha256:{digest}\n"
        f"other @ file://{home}/src/mylib\n"
    )
    snap = importers.read_file(reqs)
    art = snap.package("labtool").artifact  # type: ignore[union-attr]
    assert art is not None and art.index == "file://~/wheels"
    assert snap.package("mylib").source.url == "file://~/src/mylib"  # type: ignore[union-attr]
    assert snap.package("other").source.url == "file://~/src/mylib"  # type: ignore[union-attr]
    text = lockfile.dumps(snap)
    assert str(tmp_path) not in text and "alice" not in text

    # The lock of the wheel alone, bundled as another user: ~ is that user's home, and holds the folder.
    reqs.write_text(f"--find-links ../wheels\nlabtool==0.3.0 --hash=sha256:{digest}\n")
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(importers.read_file(reqs), lock)
    other = tmp_path / "home" / "bob"
    shutil.copytree(home / "wheels", other / "wheels")
    monkeypatch.setenv("HOME", str(other))
    monkeypatch.chdir(tmp_path)
    bundled = cli("bundle", lock, "-o", tmp_path / "bundle", "--allow-url", str(other / "wheels"))
    assert bundled.code == 0, bundled.err
    assert (tmp_path / "bundle" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
    assert "alice" not in (tmp_path / "bundle" / "envsnap.lock").read_text()


def _lab_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A lab folder outside any git work tree, the working directory: a local project ``libs/labtool`` and a
    find-links folder ``wheels`` holding labwheel 0.2.0; the folder and the wheel."""
    project = tmp_path / "proj"
    (project / "libs" / "labtool").mkdir(parents=True)
    (project / "libs" / "labtool" / "pyproject.toml").write_text('[project]\nname = "labtool"\nversion = "0.1.0"\n')
    (project / "wheels").mkdir()
    wheel = build_wheel(project / "wheels", "labwheel", "0.2.0", "labwheel")
    monkeypatch.chdir(project)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    return project, wheel


def test_outside_a_work_tree_the_lock_s_folder_is_the_project_for_import_pin_and_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """Outside any git work tree ``import`` took the working directory for ``{project}`` and ``pin`` the lock's folder,
    but ``export --absolute-paths`` of that very lock refused ("run inside the project or name it with --project
    DIR"). Every command there takes the lock's folder for the project, as pin, bundle and rebuild did: the import
    labels under the folder of the lock it writes (a path outside it is recorded as it is, not under a folder no
    reader of the lock would take), and the export makes the lock's labels absolute from there."""
    project, wheel = _lab_outside_git(tmp_path, monkeypatch)
    (project / "requirements.txt").write_text("--find-links ./wheels\n-e ./libs/labtool\nlabwheel==0.2.0\n")

    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    assert lockfile.load(project / "env.lock").package("labtool").source.url == "file://{project}/libs/labtool"  # type: ignore[union-attr]
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "./wheels")
    pinned = cli("pin", "env.lock", "--no-system-packages")
    assert pinned.code == 0, pinned.err
    art = lockfile.load(project / "env.lock").package("labwheel").artifact  # type: ignore[union-attr]
    # The import recorded the --find-links folder's file (the requirement has no hash): pin keeps it.
    assert art is not None and (art.filename, art.url, art.index) == (wheel.name, "", "file://{project}/wheels")

    exported = cli("export", "env.lock", "-f", "requirements", "--absolute-paths", "-o", "-")
    assert exported.code == 0, exported.err
    assert f"--find-links {project / 'wheels'}" in exported.out.splitlines()
    assert f"#   pip install --no-deps -e {project / 'libs' / 'labtool'}" in exported.out.splitlines()

    # A lock written into another folder: the project is that folder, which the export reads it from.
    (project / "locks").mkdir()
    assert cli("import", "requirements.txt", "-o", "locks/env.lock").code == 0
    elsewhere = lockfile.load(project / "locks" / "env.lock").package("labtool")
    assert elsewhere is not None and elsewhere.source.url == (project / "libs" / "labtool").as_uri()
    exported = cli("export", "locks/env.lock", "-f", "requirements", "--absolute-paths", "-o", "-")
    assert exported.code == 0, exported.err
    assert f"#   pip install --no-deps -e {project / 'libs' / 'labtool'}" in exported.out.splitlines()


def _imported_and_pinned_into_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> tuple[Path, Path, CliResult]:
    """A lab outside git: its requirements (an editable project, a find-links wheel) imported to ``env.lock``, then
    ``pin env.lock -o out/pinned.lock``: the project, the wheel and the pin's result."""
    project, wheel = _lab_outside_git(tmp_path, monkeypatch)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(project / "wheels"))
    (project / "requirements.txt").write_text("--find-links ./wheels\n-e ./libs/labtool\nlabwheel==0.2.0\n")
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    (project / "out").mkdir()
    return project, wheel, cli("pin", "env.lock", "-o", "out/pinned.lock", "--no-system-packages")


def test_pin_into_another_folder_writes_the_labels_for_the_folder_of_the_lock_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """Outside any work tree ``{project}`` is the lock's folder, but ``pin LOCK -o out/x.lock`` wrote the input lock's
    labels unchanged (``file://{project}/libs/labtool``, the wheel it pinned as ``file://{project}/wheels/...``): every
    later reader took them below ``out/``, where nothing is. The lock it writes names each place for its own folder:
    under ``{project}`` where the place lies in it, else by its absolute path (docs/design.md)."""
    project, wheel, pinned = _imported_and_pinned_into_out(tmp_path, monkeypatch, cli)
    assert pinned.code == 0, pinned.err
    lock = lockfile.load(project / "out" / "pinned.lock")
    assert lock.package("labtool").source.url == (project / "libs" / "labtool").as_uri()  # type: ignore[union-attr]
    art = lock.package("labwheel").artifact  # type: ignore[union-attr]
    assert art is not None and (art.filename, art.url, art.index) == (wheel.name, "", str(project / "wheels"))
    assert "{project}" not in (project / "out" / "pinned.lock").read_text()
    # Every later command reads it from out/: the project is found, and the export names the right folders.
    again = cli("pin", "out/pinned.lock", "--no-system-packages")
    assert again.code == 0 and "does not exist" not in again.out + again.err, again.out
    exported = cli("export", "out/pinned.lock", "-f", "requirements", "--absolute-paths", "-o", "-")
    assert exported.code == 0, exported.err
    assert f"#   pip install --no-deps -e {project / 'libs' / 'labtool'}" in exported.out.splitlines()

    # Into a folder that holds them (the project's parent): labelled again, for that folder.
    assert cli("pin", "env.lock", "-o", tmp_path / "top.lock", "--no-system-packages").code == 0
    top = lockfile.load(tmp_path / "top.lock")
    assert top.package("labtool").source.url == "file://{project}/proj/libs/labtool"  # type: ignore[union-attr]
    art = top.package("labwheel").artifact  # type: ignore[union-attr]
    assert art is not None and (art.url, art.index) == ("", "file://{project}/proj/wheels")


def test_pin_into_another_folder_keeps_a_hashed_find_links_wheel_s_folder_a_find_links_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """pip-compile's ``--find-links ./wheels`` and a hashed ``labwheel``: the import records the file it found there by
    its hash, in ``file://{project}/wheels``, with no URL. ``pin env.lock -o out/pinned.lock`` outside a work tree
    wrote that folder as ``file:///lab/wheels``, which reads as a package index: the lock's requirements export wrote
    ``--index-url file:///lab/wheels``, where pip looks for ``labwheel/`` below the folder and finds nothing. It is
    written by its path, as an import records a folder outside the project, and the export names it --find-links."""
    project, wheel = _lab_outside_git(tmp_path, monkeypatch)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "requirements.txt").write_text(
        f"--find-links ./wheels\n-e ./libs/labtool\nlabwheel==0.2.0 \\\n    --hash=sha256:{sha}\n"
    )
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    art = lockfile.load(project / "env.lock").package("labwheel").artifact  # type: ignore[union-attr]
    assert art is not None and (art.url, art.index) == ("", "file://{project}/wheels")
    (project / "out").mkdir()
    pinned = cli("pin", "env.lock", "-o", "out/pinned.lock", "--no-system-packages")
    assert pinned.code == 0, pinned.err
    art = lockfile.load(project / "out" / "pinned.lock").package("labwheel").artifact  # type: ignore[union-attr]
    assert art is not None and (art.filename, art.url, art.index) == (wheel.name, "", str(project / "wheels"))
    exported = cli("export", "out/pinned.lock", "-f", "requirements", "-o", "-")
    assert exported.code == 0, exported.err
    lines = exported.out.splitlines()
    assert f"--find-links {project / 'wheels'}" in lines and not any("--index-url" in line for line in lines), lines


def test_diff_of_a_hashed_find_links_import_and_its_pin_into_another_folder_reads_one_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """The import records the hashed ``labwheel`` it found in ``--find-links ./wheels`` with its file, so ``pin -o
    out/pinned.lock`` changes no package, and ``diff env.lock out/pinned.lock`` compared the fields no comparison looks
    at as written: ``other fields differ: python.packages[labtool].source.url, ...[labwheel].artifact.index``, exit
    1, the project's folder and the wheels folder named for ``out/`` (``file:///lab/libs/labtool``, ``/lab/wheels``).
    They are read as the package comparison reads them, where each lock is: one place, exit 0."""
    project, wheel = _lab_outside_git(tmp_path, monkeypatch)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "requirements.txt").write_text(
        f"--find-links ./wheels\n-e ./libs/labtool\nlabwheel==0.2.0 --hash=sha256:{sha}\n"
    )
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    (project / "out").mkdir()
    assert cli("pin", "env.lock", "-o", "out/pinned.lock", "--no-system-packages").code == 0
    result = cli("diff", "env.lock", "out/pinned.lock")
    assert result.code == 0 and result.out == "no differences\n", result.out
    # Another folder of wheels is still another place.
    pinned = lockfile.load(project / "out" / "pinned.lock")
    other = [
        dataclasses.replace(p, artifact=dataclasses.replace(p.artifact, index=str(tmp_path / "other")))
        if p.artifact is not None
        else p
        for p in pinned.python.packages
    ]
    pinned = dataclasses.replace(pinned, python=dataclasses.replace(pinned.python, packages=tuple(other)))
    lockfile.dump(pinned, project / "out" / "pinned.lock")
    result = cli("diff", "env.lock", "out/pinned.lock")
    assert result.code == 1 and "python.packages[labwheel].artifact.index" in result.out, result.out


def test_pin_import_and_capture_into_a_folder_not_made_yet_make_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``pin env.lock -o new/out/pinned.lock`` pinned every package, then refused: ``cannot write: No such file or
    directory``, all its work lost (``import`` and ``capture`` refused the same). ``export`` and ``run`` made the
    folder, as ``uv export -o`` and ``uv pip compile -o`` do: every lock written to a path now makes its missing
    folders, and is written beside its name and renamed into place there."""
    project, _ = _lab_outside_git(tmp_path, monkeypatch)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(project / "wheels"))
    (project / "requirements.txt").write_text("--find-links ./wheels\n-e ./libs/labtool\nlabwheel==0.2.0\n")
    imported = cli("import", "requirements.txt", "-o", "imported/env.lock")
    assert imported.code == 0, imported.err
    assert lockfile.load(project / "imported" / "env.lock").package("labwheel") is not None

    pinned = cli("pin", "imported/env.lock", "-o", "new/out/pinned.lock", "--no-system-packages")
    assert pinned.code == 0, pinned.err
    assert sorted(p.name for p in (project / "new" / "out").iterdir()) == ["pinned.lock"]  # no file left beside it
    lock = lockfile.load(project / "new" / "out" / "pinned.lock")
    art = lock.package("labwheel").artifact  # type: ignore[union-attr]
    assert art is not None and (art.url, art.index) == ("", str(project / "wheels"))  # named for that folder
    assert lock.package("labtool").source.url == (project / "libs" / "labtool").as_uri()  # type: ignore[union-attr]

    captured = cli("capture", "--python", sys.executable, "--no-cache", "-o", "captured/env.lock")
    assert captured.code == 0, captured.err
    assert lockfile.load(project / "captured" / "env.lock").python.packages

    # A path through a file is still one line and exit 2, before anything is written.
    (project / "afile").write_text("")
    through = cli("pin", "imported/env.lock", "-o", "afile/pinned.lock", "--no-system-packages")
    assert through.code == 2 and through.err.startswith("envsnap: error: afile/pinned.lock: cannot write"), through


def test_diff_of_a_lock_and_its_pin_into_another_folder_reads_the_same_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """Outside any work tree ``pin env.lock -o out/pinned.lock`` names the local project for the folder it writes
    into (``file:///lab/libs/labtool`` for ``file://{project}/libs/labtool``): the same folder, each lock read from
    its own. ``diff env.lock out/pinned.lock`` said ``labtool: editable file://{project}/libs/labtool -> editable
    file:///.../libs/labtool (source)``; it reads each label where that lock is, as every other command does. A
    project in another folder is still a change of source."""
    project, _, pinned_run = _imported_and_pinned_into_out(tmp_path, monkeypatch, cli)
    assert pinned_run.code == 0, pinned_run.err
    result = cli("diff", "env.lock", "out/pinned.lock")
    assert "labtool" not in result.out, result.out
    assert "source" not in result.out, result.out

    # A project in another folder is another source.
    import dataclasses

    pinned = lockfile.load(project / "out" / "pinned.lock")
    other = (tmp_path / "other" / "labtool").as_uri()
    packages = tuple(
        dataclasses.replace(p, source=dataclasses.replace(p.source, url=other)) if p.name == "labtool" else p
        for p in pinned.python.packages
    )
    lockfile.dump(dataclasses.replace(pinned, python=dataclasses.replace(pinned.python, packages=packages)), "o.lock")
    moved = cli("diff", "env.lock", "o.lock")
    shown = other.removeprefix("file://")  # a source by its path, as diff shows it (--json: its URL)
    assert f"labtool: editable {{project}}/libs/labtool -> editable {shown} (source)" in moved.out, moved.out


def _mylib(project: Path, version_line: str) -> None:
    folder = project / "libs" / "mylib"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "mylib"\n{version_line}\n')


def test_two_imports_of_a_local_folder_show_its_version_moving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``./libs/mylib`` (uv pip compile's line), ``-e ./libs/mylib`` and pip-compile's ``mylib @ file:///...``
    recorded ``version = ""``: two imports taken before and after the project moved from 1.0 to 2.0 read "no
    differences". The import records the version its pyproject.toml names (what pip would install from it), so the
    move shows; a version the folder does not name (``dynamic``) is still unknown, and diff says so."""
    project = tmp_path / "proj"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    for line in ("./libs/mylib", "-e ./libs/mylib", f"mylib @ {(project / 'libs' / 'mylib').as_uri()}"):
        (project / "requirements.txt").write_text(line + "\n")
        _mylib(project, 'version = "1.0"')
        assert cli("import", "requirements.txt", "-o", "a.lock").code == 0
        _mylib(project, 'version = "2.0"')
        assert cli("import", "requirements.txt", "-o", "b.lock").code == 0
        assert lockfile.load(project / "b.lock").package("mylib").version == "2.0"  # type: ignore[union-attr]
        result = cli("diff", "a.lock", "b.lock")
        assert result.code == 1 and "mylib: 1.0 -> 2.0 (major, upgrade)" in result.out, (line, result.out)

    # A version the build backend computes (setuptools-scm): nobody knows it, and diff does not claim identity.
    (project / "requirements.txt").write_text("./libs/mylib\n")
    _mylib(project, 'dynamic = ["version"]')
    assert cli("import", "requirements.txt", "-o", "a.lock").code == 0
    assert cli("import", "requirements.txt", "-o", "b.lock").code == 0
    result = cli("diff", "a.lock", "b.lock")
    assert result.code == 0 and "no differences" not in result.out, result.out
    assert "mylib: (unknown)" in result.out and "neither lock records its version" in result.out, result.out


def test_a_local_folder_s_version_is_read_from_setup_cfg_or_its_built_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """Import read only ``[project].version`` of a local project's pyproject.toml: a setuptools project with its
    version in setup.cfg ``[metadata]``, or with ``dynamic = ["version"]`` and a built ``*.egg-info/PKG-INFO`` or
    ``PKG-INFO`` (an unpacked sdist) in the folder, was recorded with no version. What can be read without running
    code is read; setup.py is never run; a dynamic version with nothing built stays unknown."""
    project = tmp_path / "proj"
    folder = project / "libs" / "mylib"
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    ran = tmp_path / "setup-py-ran"
    (folder / "setup.py").write_text(f"open({str(ran)!r}, 'w').close()\nfrom setuptools import setup\nsetup()\n")

    def imported(line: str) -> tuple[str, str]:
        (project / "requirements.txt").write_text(line + "\n")
        result = cli("import", "requirements.txt", "-o", "a.lock")
        assert result.code == 0, result
        pkg = lockfile.load(project / "a.lock").python.packages[0]
        return pkg.name, pkg.version

    # setup.cfg alone names the project and its version (no pyproject.toml): -e of it was refused, no name.
    (folder / "setup.cfg").write_text("[metadata]\nname = MyLib\nversion = 1.2.0\n")
    for line in ("./libs/mylib", "-e ./libs/mylib"):
        assert imported(line) == ("mylib", "1.2.0"), line
    # pyproject.toml names the project, its version dynamic: setup.cfg's static one.
    (folder / "pyproject.toml").write_text('[project]\nname = "mylib"\ndynamic = ["version"]\n')
    assert imported("./libs/mylib") == ("mylib", "1.2.0")
    # setup.cfg without a version; a built egg-info (pip install -e ran setup.py egg_info) says 1.3.
    (folder / "setup.cfg").write_text("[metadata]\nname = mylib\n")
    info = folder / "src" / "mylib.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 1.3\n")
    assert imported("./libs/mylib") == ("mylib", "1.3")
    # The PKG-INFO of an unpacked sdist, at the folder's top, before an egg-info.
    (folder / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 1.4.post1\n")
    assert imported("./libs/mylib") == ("mylib", "1.4.post1")
    # Metadata of another project is not this one's.
    (folder / "PKG-INFO").unlink()
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: otherlib\nVersion: 9.9\n")
    assert imported("./libs/mylib") == ("mylib", "")
    # A setup.py project with nothing static: the name and version its one egg-info gives.
    (folder / "pyproject.toml").unlink()
    (folder / "setup.cfg").unlink()
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 1.5\n")
    assert imported("-e ./libs/mylib") == ("mylib", "1.5")
    # A dist-info (a build backend's prepare_metadata_for_build_wheel left it): read as well.
    shutil.rmtree(info)
    dist = folder / "mylib-1.6.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 1.6\n")
    assert imported("-e ./libs/mylib") == ("mylib", "1.6")
    assert not ran.exists()


def test_pin_into_another_folder_writes_no_login_name_of_a_place_it_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``pin env.lock -o ../../out/pinned.lock`` outside any work tree names a ``{project}`` place that the new folder
    does not hold by its absolute path, and that relabelling ran without the name rules: a lab in
    ``/scratch/alice/proj`` put ``file:///scratch/alice/proj/libs/labtool`` into the lock (docs/security.md). The
    login is left out as everywhere else, and a reader of the lock is told in one line why the place names nothing."""
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    project, _wheel = _lab_outside_git(tmp_path / "alice", monkeypatch)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(project / "wheels"))
    (project / "requirements.txt").write_text("--find-links ./wheels\n-e ./libs/labtool\nlabwheel==0.2.0\n")
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    pinned = cli("pin", "env.lock", "-o", tmp_path / "out" / "pinned.lock", "--no-system-packages")
    assert pinned.code == 0, pinned.err
    text = (tmp_path / "out" / "pinned.lock").read_text()
    assert "alice" not in text, text
    lock = lockfile.load(tmp_path / "out" / "pinned.lock")
    hidden = f"file://{tmp_path}/<user>/proj/libs/labtool"
    assert lock.package("labtool").source.url == hidden  # type: ignore[union-attr]
    # The pin says so, and bundle of that lock refuses it in one line naming the login name, not a missing folder.
    assert "<user>" in pinned.err and "login name" in pinned.err, pinned.err
    bundled = cli("bundle", tmp_path / "out" / "pinned.lock", "-o", tmp_path / "b")
    assert bundled.code == 2 and bundled.err.count("\n") == 1 and "login name" in bundled.err, bundled.err


def test_a_local_folder_s_version_is_not_read_from_build_leftovers_older_than_its_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A project whose version is dynamic, built once (``pip install -e .`` left ``src/mylib.egg-info`` saying 1.0),
    then bumped (setup.py says 1.1; a setuptools-scm project got a new commit): import of ``-e ./libs/mylib``
    recorded 1.0 from the leftovers without a word, a version the project no longer builds. Metadata older than a
    source it was built from is not read: the version is unknown, and a warning names the leftover, its version and
    the newer source."""
    project = tmp_path / "proj"
    folder = project / "libs" / "mylib"
    info = folder / "src" / "mylib.egg-info"
    info.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    (project / "requirements.txt").write_text("-e ./libs/mylib\n")
    (folder / "pyproject.toml").write_text('[project]\nname = "mylib"\ndynamic = ["version"]\n')
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 1.0\n")
    (info / "SOURCES.txt").write_text("pyproject.toml\nsetup.py\nsrc/mylib.egg-info/PKG-INFO\n")
    (folder / "setup.py").write_text("from setuptools import setup\nsetup(version='1.1')\n")
    built = time.time() - 100
    os.utime(info / "PKG-INFO", (built, built))
    os.utime(folder / "pyproject.toml", (built - 10, built - 10))

    def imported() -> tuple[str, str]:
        result = cli("import", "requirements.txt", "-o", "a.lock")
        assert result.code == 0, result
        return lockfile.load(project / "a.lock").package("mylib").version, result.err  # type: ignore[union-attr]

    version, err = imported()
    assert version == "", err
    assert "libs/mylib/src/mylib.egg-info/PKG-INFO" in err and "1.0" in err and "setup.py" in err, err
    # Built after its last change, the same leftover is read, without a warning.
    os.utime(folder / "setup.py", (built - 10, built - 10))
    version, err = imported()
    assert version == "1.0" and "egg-info" not in err, err
    # A setuptools-scm project: its version is its git history's, and a commit after the build moves it.
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools", "setuptools-scm"]\n'
        '[project]\nname = "mylib"\ndynamic = ["version"]\n[tool.setuptools_scm]\nroot = "../.."\n'
    )
    os.utime(folder / "pyproject.toml", (built - 10, built - 10))
    git = ["git", "-c", "user.name=a", "-c", "user.email=a@b"]
    subprocess.run([*git, "add", "-A"], check=True, timeout=60)
    subprocess.run([*git, "commit", "-qm", "bump"], check=True, timeout=60)
    version, err = imported()
    assert version == "" and "mylib.egg-info/PKG-INFO" in err and "git" in err, err


def test_a_local_folder_s_version_is_read_from_the_module_attribute_setuptools_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """A setuptools project whose version is ``attr: mylib.__version__`` (pyproject.toml ``[tool.setuptools.dynamic]``
    or setup.cfg), bumped to 1.1 after a build left an egg-info saying 1.0: import recorded 1.0 (or, without the
    leftover, nothing). setuptools reads a literal ``__version__`` without importing the module; so does import,
    and the sources win over the leftover. A version the module computes is still not run: unknown."""
    project = tmp_path / "proj"
    folder = project / "libs" / "mylib"
    (folder / "src" / "mylib").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=60)
    monkeypatch.chdir(project)
    ran = tmp_path / "module-ran"
    init = folder / "src" / "mylib" / "__init__.py"
    init.write_text(f"open({str(ran)!r}, 'w').close()\n__version__: str = '1.1'\n")
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "mylib"\ndynamic = ["version"]\n'
        '[tool.setuptools.dynamic]\nversion = {attr = "mylib.__version__"}\n'
    )
    info = folder / "src" / "mylib.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 1.0\n")
    (project / "requirements.txt").write_text("-e ./libs/mylib\n")

    def imported() -> str:
        result = cli("import", "requirements.txt", "-o", "a.lock")
        assert result.code == 0, result
        return lockfile.load(project / "a.lock").package("mylib").version  # type: ignore[union-attr]

    assert imported() == "1.1"
    # setup.cfg's form, a module beside the folder's top (no src/).
    (folder / "pyproject.toml").write_text('[project]\nname = "mylib"\ndynamic = ["version"]\n')
    (folder / "setup.cfg").write_text("[metadata]\nname = mylib\nversion = attr: mylib.about.VERSION\n")
    (folder / "mylib").mkdir()
    (folder / "mylib" / "about.py").write_text("VERSION = '2.0.post1'\n")
    assert imported() == "2.0.post1"
    # A computed value is not run: unknown (the leftover is older than the setup.cfg written since).
    (folder / "mylib" / "about.py").write_text("VERSION = '.'.join(['2', '1'])\n")
    assert imported() == ""
    assert not ran.exists()


def test_an_unpinned_git_dependency_is_refused_saying_how_to_pin_it(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """pip-compile writes ``gitdep @ git+file:///tmp/repo`` as requirements.in names it, with no commit. The import
    refused it, rightly (a branch moves), with ``VCS reference without a commit (url@commit)`` alone; the line says
    how to pin it now."""
    req = tmp_path / "requirements.txt"
    req.write_text("gitdep @ git+file:///tmp/repo\n    # via -r requirements.in\n")
    result = cli("import", req, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists()
    assert f"{req}:1: gitdep: VCS reference without a commit (url@commit): " in result.err, result.err
    assert "pin it to a commit, 'gitdep @ git+URL@COMMIT' (in requirements.in for pip-compile" in result.err
    assert "`git rev-parse HEAD` in the repository prints it" in result.err and len(result.err.splitlines()) == 1


@pytest.mark.parametrize("ref", ["master", "v1.0", "HEAD"])
def test_a_git_dependency_at_a_branch_or_tag_is_refused_as_one_without_a_commit(
    tmp_path: Path, cli: Callable[..., CliResult], ref: str
) -> None:
    """pip-compile writes ``gitdep @ git+file:/srv/gitdep@master`` as requirements.in names it. The import refused
    a branch only where its name holds a ``/``: ``@master`` was recorded as the package's exact commit, ``commit_id =
    "master"``, pin kept it, and only ``bundle`` refused it ("not a git commit hash"). A git reference that is no commit
    id is refused at import, saying how to pin it; so is a pylock's ``commit-id`` that is none."""
    req = tmp_path / "requirements.txt"
    req.write_text(f"gitdep @ git+file:/srv/gitdep@{ref}\n    # via -r requirements.in\n")
    result = cli("import", req, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists()
    assert f"{req}:1: gitdep: VCS reference without a commit (url@commit): " in result.err, result.err
    assert "pin it to a commit" in result.err and len(result.err.splitlines()) == 1
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "gitdep"\nversion = "0.3.0"\n'
        f'vcs = {{ type = "git", url = "file:///srv/gitdep", requested-revision = "{ref}", commit-id = "{ref}" }}\n'
    )
    result = cli("import", pylock, "-o", tmp_path / "env.lock")
    assert result.code == 2 and not (tmp_path / "env.lock").exists()
    assert f"packages[0].vcs.commit-id: '{ref}' is not a git commit id" in result.err, result.err
    assert len(result.err.splitlines()) == 1
    commit = "9946d2d"  # an abbreviated commit id is one
    req.write_text(f"gitdep @ git+file:/srv/gitdep@{commit}\n")
    assert cli("import", req, "-o", tmp_path / "env.lock").code == 0


def test_a_git_dependency_by_pip_compile_s_file_url_is_the_repository_uv_names(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """pip-compile writes a local repository as ``gitdep @ git+file:/srv/gitdep@COMMIT``, uv's export as
    ``git+file:///srv/gitdep@COMMIT``: the import recorded ``file:/srv/gitdep`` for the one and ``file:///srv/gitdep``
    for the other, and ``diff`` of the two imports of one resolution called it a changed source (exit 1)."""
    commit = "9946d2d069018d138ac2a5d7bf366732e663136f"
    for name, url in (("piptools", "file:/srv/gitdep"), ("uv", "file:///srv/gitdep")):
        (tmp_path / f"{name}.txt").write_text(f"gitdep @ git+{url}@{commit}\n")
        assert cli("import", tmp_path / f"{name}.txt", "-o", tmp_path / f"{name}.lock").code == 0
    assert 'url = "file:///srv/gitdep"' in (tmp_path / "piptools.lock").read_text()
    diff = cli("diff", tmp_path / "piptools.lock", tmp_path / "uv.lock")
    assert diff.code == 0 and "source" not in diff.out, diff.out


def test_the_pip_compile_and_uv_files_of_one_resolution_diff_alike_whatever_their_imports_warn(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip-compile copies pip.conf's ``--extra-index-url`` and ``--find-links`` into the file it writes, uv does not;
    the import of the one warns that it records none of them, the other has nothing to warn of, and ``diff`` of the
    two imports of one resolution said ``other fields differ: envsnap.warnings``, exit 1. What an import said of its
    file is how the lock was made: named as unknown, exit 0."""
    sha = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    pinned = f"six==1.17.0 \\\n    --hash=sha256:{sha}\n    # via -r requirements.in\n"
    (tmp_path / "piptools.txt").write_text(
        "#\n# This file is autogenerated by pip-compile with Python 3.11\n# by the following command:\n#\n"
        "#    pip-compile --generate-hashes --output-file=piptools.txt requirements.in\n#\n"
        "--extra-index-url file:///opt/pypi/simple\n--find-links /opt/wheels\n\n" + pinned
    )
    (tmp_path / "uv.txt").write_text(
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv pip compile --generate-hashes requirements.in -o uv.txt\n" + pinned
    )
    monkeypatch.chdir(tmp_path)
    assert cli("import", "piptools.txt", "-o", "piptools.lock").code == 0
    assert cli("import", "uv.txt", "-o", "uv.lock").code == 0
    assert lockfile.load(tmp_path / "piptools.lock").envsnap.warnings != ()
    result = cli("diff", "piptools.lock", "uv.lock")
    assert result.code == 0, result.out
    assert "other fields unknown: envsnap.warnings" in result.out and "fields differ" not in result.out, result.out


_PIP_COMPILE_EXTRA_INDEX = """\
#
# This file is autogenerated by pip-compile with Python 3.11
# by the following command:
#
#    pip-compile --extra-index-url=https://lab.example/simple --output-file=requirements.txt requirements.in
#
--extra-index-url https://lab.example/simple

labpkg==0.3.0
    # via -r requirements.in
six==1.17.0
    # via -r requirements.in
"""
_SIX_HASHES = (
    "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
    "ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81",
)


def test_an_extra_index_is_said_unrecorded_for_the_packages_without_a_hash_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """pip-compile without ``--generate-hashes`` (pip-tools 7.7.0 wrote this, from a lab index only ``labpkg`` is on)
    names the index and no file: the warning said the lock records pip's default index for every package, where it
    records none (a package records its index with a file), and where a hashed package records the extra index
    (``six``, the user's hand-added ``labpkg`` beside it) it said nothing of ``labpkg``, whose index is recorded
    nowhere. It names the packages without a hash, and that pin looks for them on the configured indexes alone."""
    monkeypatch.chdir(tmp_path)
    lab = "https://lab.example/simple"
    path = tmp_path / "requirements.txt"
    path.write_text(_PIP_COMPILE_EXTRA_INDEX)
    result = cli("import", path, "-o", tmp_path / "none.lock")
    assert result.code == 0, result.err
    said = (
        f"warning: import: --extra-index-url {lab} is not recorded for labpkg, six (no hash, so no file and no "
        "index): `envsnap pin` looks for them only on the indexes pip is configured with (PIP_INDEX_URL, "
        "PIP_EXTRA_INDEX_URL), which may hold another project of that name; a file with hashes (pip-compile "
        "--generate-hashes) records each package on every index it names\n"
    )
    assert said in result.err and "pip's default index" not in result.err, result.err
    snap = lockfile.load(tmp_path / "none.lock")
    assert all(p.artifact is None and not p.candidates for p in snap.python.packages), snap.python.packages

    # Hashed six records both indexes (the hash decides); labpkg, without a hash, is still named.
    hashed = " \\\n".join(["six==1.17.0", *(f"    --hash=sha256:{h}" for h in _SIX_HASHES)])
    path.write_text(_PIP_COMPILE_EXTRA_INDEX.replace("six==1.17.0", hashed))
    result = cli("import", path, "-o", tmp_path / "mixed.lock")
    assert result.code == 0, result.err
    assert f"warning: import: --extra-index-url {lab} is not recorded for labpkg (no hash," in result.err, result.err
    assert "looks for it only on the indexes pip is configured with" in result.err, result.err
    six = lockfile.load(tmp_path / "mixed.lock").package("six")
    assert six is not None and {c.index for c in six.candidates} == {PYPI_SIMPLE, lab}

    # A file's own --index-url (not pip's default) is as unrecorded for them; every package hashed, nothing is said.
    path.write_text(f"--index-url https://mirror.example/simple\n--extra-index-url {lab}\nlabpkg==0.3.0\n")
    result = cli("import", path, "-o", tmp_path / "own.lock")
    assert (
        f"warning: import: --index-url https://mirror.example/simple, --extra-index-url {lab} are not recorded for "
        "labpkg (no hash," in result.err
    ), result.err
    path.write_text(_PIP_COMPILE_EXTRA_INDEX.replace("six==1.17.0", hashed).replace("labpkg==0.3.0", "# labpkg"))
    result = cli("import", path, "-o", tmp_path / "all.lock")
    assert result.code == 0 and "is not recorded" not in result.err, result.err


def test_pin_says_what_bundle_needs_for_a_file_in_the_imported_find_links_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    """``pip-compile --generate-hashes --find-links ./wheels``: the import records the wheel it found there by its
    name in ``file://{project}/wheels``. ``pin`` reported it "pinned", and ``bundle`` then refused it without
    ``--allow-url`` (exit 2): a folder a lock names is read only as the user allows it (docs/security.md). Pin now
    asks the rule bundle asks and says so, naming the option; with the option, or the folder configured, it is
    silent, and bundle takes the file."""
    project = _project(tmp_path / "proj")
    monkeypatch.chdir(project)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    wheel = build_wheel(project / "wheels", "labtool", "0.3.0", "labtool")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "requirements.txt").write_text(f"--find-links ./wheels\nlabtool==0.3.0 --hash=sha256:{digest}\n")
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    pinned = cli("pin", "env.lock", "-o", "pinned.lock", "--no-system-packages")
    assert pinned.code == 0, pinned.err
    lines = pinned.err.splitlines()
    needs = [line for line in lines if "labtool 0.3.0" in line and "--allow-url" in line]
    # The folder itself, which also lists it for a package there with several hashes (docs/cli.md, pin).
    assert needs and f"--allow-url {project / 'wheels'} (" in needs[0], pinned.err
    note = [line for line in lines if line.startswith("note: pinned.lock names a local file or git repository")]
    assert note and "--allow-url" in note[0], lines
    assert cli("pin", "env.lock", "-o", "-", "--no-system-packages", "--strict").code == 1
    refused = cli("bundle", "pinned.lock", "-o", tmp_path / "b")
    assert refused.code == 2 and "--allow-url" in refused.err, refused.err
    for n, pattern in enumerate((str(project / "wheels"), f"{project}/wheels/*")):  # the advice, and its files
        allowed = cli("pin", "env.lock", "-o", "pinned.lock", "--no-system-packages", "--allow-url", pattern)
        assert allowed.code == 0 and "--allow-url" not in allowed.err, allowed.err
        bundled = cli("bundle", "pinned.lock", "-o", tmp_path / f"b{n}", "--allow-url", pattern)
        assert bundled.code == 0, bundled.err
