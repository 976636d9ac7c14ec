"""lock -> export -> import -> the same Python layer (what each format can carry)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap import export, importers, lockfile
from envsnap.errors import ExportError
from envsnap.model import PythonPackage, Snapshot, Source

# Fields no export format carries: they describe the installed files, not what to install.
NOT_CARRIED = {"wheel_tags": (), "record_digest": "", "requires_dist": ()}


def layer(snapshot: Snapshot) -> dict[str, PythonPackage]:
    return {p.name: dataclasses.replace(p, **NOT_CARRIED) for p in snapshot.python.packages}


def roundtrip(snapshot: Snapshot, fmt: str, tmp_path: Path) -> Snapshot:
    ((name, data),) = export.get(fmt).render(snapshot).items()
    path = tmp_path / name
    path.write_bytes(data)
    return importers.read_file(path)  # format found by sniffing


def test_pylock_roundtrip_keeps_the_python_layer(rich: Snapshot, tmp_path: Path) -> None:
    back = roundtrip(rich, "pylock", tmp_path)
    expected = {k: v for k, v in layer(rich).items() if k != "certifi"}  # conda's: not in a pylock
    assert layer(back) == expected
    assert back.python.version == "3.11.9" and back.python.abi == "cp311"
    assert back.platform.system == "Linux" and back.platform.machine == "x86_64"
    assert back.envsnap.origin == "pylock"
    assert {"nvidia", "hardware", "system", "cuda"} <= set(back.envsnap.unknown)


def test_a_legacy_requires_python_does_not_stop_a_pylock_export(rich: Snapshot, tmp_path: Path) -> None:
    """A distribution built by an old setuptools declares ``Requires-Python: >=3.6.*``, which no PEP 440 parser
    reads: the lock of such an environment could not be exported to pylock.toml at all ("Invalid specifier",
    exit 2). The value goes to envsnap's tool table, where no installer reads it, and comes back on import."""
    packages = tuple(
        dataclasses.replace(p, requires_python=">=3.6.*" if i == 0 else p.requires_python)
        for i, p in enumerate(rich.python.packages)
    )
    legacy = lockfile.seal(dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=packages)))
    ((_, data),) = export.get("pylock").render(legacy).items()
    text = data.decode()
    assert 'requires-python = ">=3.6.*"' in text and text.count("requires-python") >= 1
    back = roundtrip(legacy, "pylock", tmp_path)
    assert layer(back)[packages[0].name].requires_python == ">=3.6.*"


def test_pylock_roundtrip_with_local_wheel_paths(host_snapshot: Snapshot, tmp_path: Path) -> None:
    # The wheelhouse path has spaces and non-ASCII letters: file URLs survive the trip exactly.
    assert layer(roundtrip(host_snapshot, "pylock", tmp_path)) == layer(host_snapshot)


def test_requirements_roundtrip_keeps_pins_hashes_and_indexes(rich: Snapshot, tmp_path: Path) -> None:
    back = roundtrip(rich, "requirements", tmp_path)
    carried = {
        n: p
        for n, p in layer(rich).items()
        if p.source.kind in ("index", "archive") and (p.artifact is not None or p.source.kind == "archive")
    }
    # The source trees listed as comments come back too (the VCS one; the directory has no pyproject.toml here).
    vcs = {n for n, p in layer(rich).items() if p.source.kind == "vcs"}
    assert set(layer(back)) == set(carried) | vcs
    assert any("source tree listed as a comment was left out" in w for w in back.envsnap.warnings)
    for name, pkg in carried.items():
        got = layer(back)[name]
        assert (got.name, got.version, got.source) == (pkg.name, pkg.version, pkg.source), name
        if pkg.artifact is not None:
            # A file naming two indexes does not say which holds a package (but a +local version's, which PyPI
            # refuses): it is recorded on each, by its sha256, and pin looks on all of them.
            places = {(c.sha256, c.index) for c in got.candidates} or {(got.artifact.sha256, got.artifact.index)}  # type: ignore[union-attr]
            assert (pkg.artifact.sha256, pkg.artifact.index) in places, name
            assert {h for h, _ in places} == {pkg.artifact.sha256}, name


def test_requirements_roundtrip_keeps_the_default_index_and_a_find_links_folder(
    host_snapshot: Snapshot, wheelhouse: Any, tmp_path: Path
) -> None:
    """The export names no default index (an ``--index-url`` would override the installing user's mirror), only the
    find-links folder of the lab's wheel: read back, that wheel is in the folder and every other file on the
    default index, not in the folder, which does not hold it."""
    lab = tmp_path / "lab wheels"
    lab.mkdir()
    wheel = wheelhouse.root / "wheels" / wheelhouse.artifacts["tiny-cuda"].filename
    (lab / wheel.name).write_bytes(wheel.read_bytes())
    where = {"foo-bar": "https://pypi.org/simple", "tiny-cuda": str(lab)}
    packages = tuple(
        dataclasses.replace(p, artifact=dataclasses.replace(p.artifact, index=where[p.name]))
        for p in host_snapshot.python.packages
        if p.artifact is not None
    )
    lock = dataclasses.replace(host_snapshot, python=dataclasses.replace(host_snapshot.python, packages=packages))
    text = export.get("requirements").render(lock)["requirements.txt"].decode()
    assert not [line for line in text.splitlines() if line.startswith(("--index-url", "--extra-index-url"))]
    back = roundtrip(lock, "requirements", tmp_path)
    assert {p.name: p.artifact.index for p in back.python.packages if p.artifact is not None} == where


def test_json_roundtrip_is_the_whole_lock(rich: Snapshot, tmp_path: Path) -> None:
    assert roundtrip(rich, "json", tmp_path) == rich


def test_imported_lock_exports_again(rich: Snapshot, tmp_path: Path) -> None:
    back = lockfile.loads(lockfile.dumps(roundtrip(rich, "pylock", tmp_path)))
    again = export.get("pylock").render(back)["pylock.toml"].decode()
    first = export.get("pylock").render(rich)["pylock.toml"].decode()
    # Same packages; only [tool.envsnap]'s lock facts differ (the digest of a different lock).
    assert again.split("[tool.envsnap]")[0] == first.split("[tool.envsnap]")[0]


def test_cli_import_writes_a_lock(cli: Callable[..., Any], rich: Snapshot, tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_bytes(export.get("pylock").render(rich)["pylock.toml"])
    out = tmp_path / "imported.lock"
    result = cli("import", tmp_path / "pylock.toml", "-o", out)
    assert result.code == 0, result
    assert "unknown:" in result.err and "nvidia" in result.err
    lock = lockfile.load(out)
    assert lock.envsnap.origin == "pylock" and "hardware" in lock.envsnap.unknown
    assert 'origin = "pylock"' in out.read_text()


def test_captured_locks_do_not_gain_import_fields(rich: Snapshot) -> None:
    text = lockfile.dumps(rich)
    assert "origin" not in text and "unknown" not in text


def test_hash_only_artifacts_export_to_requirements_but_not_pylock(rich: Snapshot, tmp_path: Path) -> None:
    back = roundtrip(rich, "requirements", tmp_path)
    text = export.get("requirements").render(back)["requirements.txt"].decode()
    assert "torch==2.5.1+cu121 \\\n    --hash=sha256:" in text
    assert "--extra-index-url https://download.pytorch.org/whl/cu121" in text
    # numpy's one hash is recorded on both indexes the file names, as a package of several hashes: no file yet.
    with pytest.raises(ExportError, match=r"no pinned artifact.*numpy==2\.1\.3.*known by hash only.*torch"):
        export.get("pylock").render(back)


def test_pylock_roundtrip_keeps_a_find_links_location(find_links_snapshot: Snapshot, tmp_path: Path) -> None:
    """Every file stays in its find-links folder. A folder recorded by its path names each file by its name there, as
    the requirements import records a file of its ``--find-links`` folder: no URL, which held this machine's path of
    the wheel (``file:///home/me/wheels/x.whl``); the exports name the folder's file again. A folder recorded as a
    ``file:`` URL keeps the file's URL, which tells it from an index of that URL."""
    back = roundtrip(find_links_snapshot, "pylock", tmp_path)
    expected = layer(find_links_snapshot)
    for name, pkg in expected.items():
        art = pkg.artifact
        if art is not None and "://" not in art.index:
            assert art.url == (Path(art.index) / art.filename).as_uri(), art
            expected[name] = dataclasses.replace(pkg, artifact=dataclasses.replace(art, url=""))
    assert layer(back) == expected
    again = export.get("pylock").render(back)["pylock.toml"]
    assert (
        again.split(b"[tool.envsnap]")[0]
        == export.get("pylock").render(find_links_snapshot)["pylock.toml"].split(b"[tool.envsnap]")[0]
    )


def test_a_lock_imported_from_requirements_rebuilds(
    cli: Callable[..., Any], host_snapshot: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheelhouse: Any
) -> None:
    # A requirements.txt does not say which Python it was for: the rebuild takes python3 (or --python) and
    # says so, and verify does not call the unknown version a mismatch.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    (tmp_path / "requirements.txt").write_bytes(export.get("requirements").render(host_snapshot)["requirements.txt"])
    assert cli("import", tmp_path / "requirements.txt", "-o", tmp_path / "imported.lock").code == 0
    assert lockfile.load(tmp_path / "imported.lock").python.version == ""
    # --force: tiny-cuda's +cu121 makes the check ask for an NVIDIA driver this machine does not have.
    # --allow-url: the requirements file names its own (file://) indexes, which a lock may use only when allowed.
    result = cli(
        "rebuild",
        tmp_path / "imported.lock",
        "--dest",
        tmp_path / "env",
        "--python",
        sys.executable,
        "--force",
        "--allow-url",
        wheelhouse.root.as_uri() + "/*",
    )
    assert result.code == 0, result
    assert "the lock does not record a Python version; using" in result.err
    assert "identical" in result.out


def test_requirements_roundtrip_keeps_local_projects_as_pip_reads_them(
    rich: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Export writes a local project relative to the project root, and pip reads ``-e PATH`` relative to the
    working directory (the project's folder), not the requirements file's. Import read it from the file's folder:
    a file exported to ``exp/requirements.txt`` came back without the editable project. A project's path names a
    folder to pip only with a ``/`` in it: ``pip install --no-deps pkgs`` installed ``pkgs`` from the index."""
    editable = rich.package("my-project")
    assert editable is not None
    local = PythonPackage(name="plain", version="1.0", source=Source(kind="directory", url="file://{project}/plain"))
    lock = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=(editable, local)))
    for folder, name in ((tmp_path / "pkgs" / "café", "My_Project"), (tmp_path / "plain", "plain")):
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "1.0"\n', encoding="utf-8")
    text = export.get("requirements").render(lock)["requirements.txt"].decode()
    assert "#   pip install --no-deps -e './pkgs/café'\n" in text and "#   pip install --no-deps ./plain\n" in text
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "requirements.txt").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the project's folder, where the file says to install from
    back = importers.read_file(Path("exp/requirements.txt"))
    assert {p.name: p.source for p in back.python.packages} == {"my-project": editable.source, "plain": local.source}
    assert not back.envsnap.warnings


def test_a_local_archive_in_the_project_comes_back_from_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export writes a file in the project as ``./wheels/x.whl`` (pip reads it from the working directory): read
    from the project, it is that file under ``{project}`` again, with its hash: the
    archive install it was, as a capture records it (it came back as an index install of that file, which verify
    reported as another source)."""
    from test_export_requirements import _project_archive_lock

    project = tmp_path / "proj"
    lock = _project_archive_lock(project)
    monkeypatch.chdir(project)
    back = roundtrip(lock, "requirements", project)
    (pkg,) = back.python.packages
    assert (pkg.name, pkg.version, pkg.artifact) == ("tinypkg", "1.0", None)
    assert pkg.source == lock.python.packages[0].source
    assert pkg.source.kind == "archive" and pkg.source.url == "file://{project}/wheels/tinypkg-1.0-py3-none-any.whl"
    assert pkg.wheel_tags == ("py3-none-any",)
    assert (
        "./wheels/tinypkg-1.0-py3-none-any.whl \\"
        in export.get("requirements").render(back)["requirements.txt"].decode()
    )


def test_a_bundles_pylock_keeps_each_files_size_through_import_and_export(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``export BUNDLE -f pylock`` names each bundled wheel as an ``archive`` with its ``size``; the import read the
    size (and checked it) but did not record it, so ``export LOCK -f pylock`` of the imported lock had none. It is
    recorded as the file's (the lock's ``artifact``), and the second export writes it again."""
    import hashlib

    from wheelfiles import build_wheel

    from envsnap._toml import tomllib
    from envsnap.artifacts.bundle import Bundle
    from envsnap.model import Artifact, PythonEnv

    bundle = tmp_path / "b"
    (bundle / "wheels").mkdir(parents=True)
    wheel = build_wheel(bundle / "wheels", "tinypkg", "1.0", "tinypkg")
    data = wheel.read_bytes()
    art = Artifact(filename=wheel.name, url="", sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    pkg = PythonPackage(name="tinypkg", version="1.0", installer="pip", artifact=art, requested=True)
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), bundle / "envsnap.lock")
    Bundle(bundle).write_sums()
    monkeypatch.chdir(tmp_path)
    assert cli("export", bundle, "-f", "pylock", "-o", "one/pylock.toml").code == 0
    assert tomllib.loads(Path("one/pylock.toml").read_text())["packages"][0]["archive"]["size"] == len(data)
    assert cli("import", "one/pylock.toml", "-o", "imported.lock").code == 0
    imported = lockfile.load(tmp_path / "imported.lock").python.packages[0].artifact
    assert imported is not None and (imported.filename, imported.size) == (wheel.name, len(data))
    assert cli("export", "imported.lock", "-f", "pylock", "-o", "two/pylock.toml").code == 0
    (entry,) = tomllib.loads(Path("two/pylock.toml").read_text())["packages"]
    assert entry["archive"]["size"] == len(data) and entry["archive"]["path"].endswith(f"b/wheels/{wheel.name}")


def test_a_pylock_s_find_links_folder_in_its_project_is_read_from_its_folder(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """The pylock export names a find-links folder of the project by the lock's label (``[tool.envsnap] find-links
    = "file://{project}/wheels"``) beside the wheel's path relative to the file. Imported into a lock written in
    another folder (``-o locks/env.lock``, outside any work tree: that folder is the project), the wheel's path was
    read from the pylock's folder and the label kept as it was, naming ``locks/wheels``: the requirements export of
    that lock wrote ``--extra-index-url file://{project}/wheels``, a URL pip cannot read. The folder is read from the
    pylock's folder as its paths are, and the export names it as ``--find-links``."""
    from wheelfiles import build_wheel

    from envsnap.model import Artifact, PythonEnv

    project = tmp_path / "proj"
    (project / "wheels").mkdir(parents=True)
    wheel = build_wheel(project / "wheels", "tinypkg", "1.0", "tinypkg")
    art = Artifact(
        filename=wheel.name,
        url=f"file://{{project}}/wheels/{wheel.name}",
        sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
        size=wheel.stat().st_size,
        index="file://{project}/wheels",
    )
    pkg = PythonPackage(name="tinypkg", version="1.0", installer="pip", artifact=art, requested=True)
    (project / "pylock.toml").write_bytes(
        export.get("pylock").render(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))))["pylock.toml"]
    )
    assert 'find-links = "file://{project}/wheels"' in (project / "pylock.toml").read_text()
    result = cli("import", project / "pylock.toml", "-o", project / "locks" / "env.lock")
    assert result.code == 0, result.err
    (back,) = lockfile.load(project / "locks" / "env.lock").python.packages
    assert back.artifact is not None
    # The wheel by its name in that folder, not by this machine's path of it, as a requirements import records it.
    assert (back.artifact.url, back.artifact.index) == ("", str(project / "wheels")), back.artifact
    assert back.artifact.filename == wheel.name
    exported = cli("export", project / "locks" / "env.lock", "-f", "requirements", "-o", tmp_path / "req.txt")
    assert exported.code == 0, exported.err
    text = (tmp_path / "req.txt").read_text()
    assert f"--find-links {project / 'wheels'}\n" in text and "{project}" not in text, text
    # Read where it was written, the pylock's folder is the project: the label stays.
    result = cli("import", project / "pylock.toml", "-o", project / "env.lock")
    assert result.code == 0, result.err
    (here,) = lockfile.load(project / "env.lock").python.packages
    assert here.artifact == dataclasses.replace(art, url="")
    # ... and its exports name the folder's file again, as the lock it was exported from did.
    again = cli("export", project / "env.lock", "-f", "pylock", "--no-pin", "-o", tmp_path / "again" / "pylock.toml")
    assert again.code == 0, again.err
    assert f'path = "wheels/{wheel.name}"' in (tmp_path / "again" / "pylock.toml").read_text()


def test_a_find_links_wheel_is_recorded_alike_from_a_pylock_and_a_requirements_file(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pylock export of a lock pinned from a find-links folder outside the project (``/opt/wheels``) names the
    wheel by its path there and the folder as ``[tool.envsnap] find-links``; its import kept the wheel's ``file:`` URL,
    this machine's path of it, where the import of the requirements export records the folder alone. Both record the
    folder and no URL now, and the lock each import wrote installs the same: the bundle reads the folder's file."""
    from wheelfiles import build_wheel

    from envsnap.model import Artifact, PythonEnv

    folder = tmp_path / "opt" / "wheels"
    folder.mkdir(parents=True)
    wheel = build_wheel(folder, "tinypkg", "1.0", "tinypkg")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    art = Artifact(filename=wheel.name, url=wheel.as_uri(), sha256=sha, size=wheel.stat().st_size, index=str(folder))
    pkg = PythonPackage(name="tinypkg", version="1.0", installer="pip", artifact=art, requested=True)
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "env.lock")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for fmt, name in (("pylock", "pylock.toml"), ("requirements", "requirements.txt")):
        assert cli("export", lock, "-f", fmt, "--no-pin", "-o", name).code == 0
        assert cli("import", name, "-o", f"{fmt}.lock").code == 0
    from_pylock = lockfile.load(work / "pylock.lock").python.packages[0].artifact
    from_requirements = lockfile.load(work / "requirements.lock").python.packages[0].artifact
    assert from_pylock is not None and from_requirements is not None
    assert (from_pylock.url, from_pylock.index) == (from_requirements.url, from_requirements.index) == ("", str(folder))
    assert str(folder / wheel.name) not in (work / "pylock.lock").read_text()
    bundled = cli("bundle", "pylock.lock", "-o", "b", "--allow-url", f"{folder}/*")
    assert bundled.code == 0, bundled.err
    assert (work / "b" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
