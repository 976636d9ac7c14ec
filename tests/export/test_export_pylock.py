from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from export_samples import uv_bin
from packaging.markers import Marker
from packaging.pylock import Package, Pylock

from envsnap import lockfile
from envsnap._toml import tomllib
from envsnap.errors import ExportError
from envsnap.export import pylock
from envsnap.model import Snapshot


def _uv_sync(python: Path, pylock_file: Path) -> subprocess.CompletedProcess[str]:
    """``uv pip sync --offline`` of ``pylock_file`` into the venv of ``python``, uv's own configuration left out."""
    uv = uv_bin()
    assert uv, "uv is a test dependency (pip install -e '.[test]')"
    return subprocess.run(
        [str(uv), "pip", "sync", "--python", str(python), "--offline", "--no-config", str(pylock_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def parsed(snapshot: Snapshot) -> Pylock:
    return Pylock.from_dict(tomllib.loads(pylock.dumps(snapshot)))


def by_name(lock: Pylock) -> dict[str, Package]:
    return {str(p.name): p for p in lock.packages}


def test_validates_with_packaging_pylock(rich: Snapshot) -> None:
    lock = parsed(rich)
    lock.validate()
    packages = by_name(lock)
    torch = packages["torch"]
    assert str(torch.version) == "2.5.1+cu121"
    assert torch.index == "https://download.pytorch.org/whl/cu121"
    assert torch.wheels is not None and torch.wheels[0].hashes["sha256"]
    numpy = packages["numpy"]
    assert numpy.wheels is not None and numpy.wheels[0].size == 16_300_000
    assert numpy.wheels[0].upload_time is not None
    # Names are normalised; the distribution's own spelling survives in [tool.envsnap].
    assert "zope-interface" in packages and packages["zope-interface"].tool == {
        "envsnap": {"metadata-name": "zope.interface", "installer": "pip"}
    }


def test_sources_vcs_directory_archive(rich: Snapshot) -> None:
    packages = by_name(parsed(rich))
    vcs = packages["mylib"].vcs
    assert vcs is not None and vcs.subdirectory == "python/mylib" and vcs.commit_id.startswith("0f1e")
    assert packages["mylib"].version is None  # PEP 751: no version for source trees
    directory = packages["my-project"].directory
    assert directory is not None and directory.editable and directory.path == "pkgs/café"
    archive = packages["legacy-thing"].archive
    assert archive is not None and archive.url == "https://example.org/dl/legacy-thing-0.3.tar.gz"
    # conda installed certifi: not a pip package to install, but named in [tool.envsnap].
    assert "certifi" not in packages
    tool = parsed(rich).tool
    assert tool is not None and tool["envsnap"]["conda-managed"] == ["certifi"]
    assert tool["envsnap"]["lock-digest"] == rich.envsnap.content_digest


def test_environment_marker_pins_the_captured_platform(rich: Snapshot) -> None:
    lock = parsed(rich)
    assert lock.requires_python is not None and "3.11.9" in lock.requires_python
    assert "3.12.0" not in lock.requires_python
    (marker,) = lock.environments or []
    linux = {
        "sys_platform": "linux",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "python_version": "3.11",
    }
    assert marker.evaluate(linux)
    assert not marker.evaluate({**linux, "platform_machine": "aarch64"})
    assert not marker.evaluate({**linux, "sys_platform": "darwin"})
    assert not marker.evaluate({**linux, "python_version": "3.12"})
    assert isinstance(marker, Marker)


def test_unpinned_lock_names_what_is_missing(rich: Snapshot) -> None:
    packages = tuple(
        dataclasses.replace(p, artifact=None) if p.name in ("numpy", "torch") else p for p in rich.python.packages
    )
    lock = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=packages))
    with pytest.raises(ExportError) as err:
        pylock.dumps(lock)
    message = str(err.value)
    assert "numpy==2.1.3" in message and "torch==2.5.1+cu121" in message and "envsnap pin" in message
    assert "\n" not in message


def test_uv_pip_sync_installs_it(host_snapshot: Snapshot, tmp_path: Path, make_venv: Callable[..., Path]) -> None:
    (tmp_path / "pylock.toml").write_bytes(pylock.render(host_snapshot)["pylock.toml"])
    Pylock.from_dict(tomllib.loads((tmp_path / "pylock.toml").read_text())).validate()
    python = make_venv(tmp_path / "venv")
    result = _uv_sync(python, tmp_path / "pylock.toml")
    assert result.returncode == 0, result.stderr
    versions = json.loads(
        subprocess.run(
            [
                str(python),
                "-c",
                "import json, importlib.metadata as m; "
                "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    assert versions == {"Foo_Bar": "1.0", "tiny_cuda": "2.0+cu121"}


def test_uv_refuses_a_tampered_hash(host_snapshot: Snapshot, tmp_path: Path, make_venv: Callable[..., Path]) -> None:
    art = host_snapshot.python.packages[0].artifact
    assert art is not None
    bad = dataclasses.replace(host_snapshot.python.packages[0], artifact=dataclasses.replace(art, sha256="0" * 64))
    lock = lockfile.seal(
        dataclasses.replace(
            host_snapshot,
            python=dataclasses.replace(host_snapshot.python, packages=(bad, *host_snapshot.python.packages[1:])),
        )
    )
    (tmp_path / "pylock.toml").write_bytes(pylock.render(lock)["pylock.toml"])
    python = make_venv(tmp_path / "venv")
    result = _uv_sync(python, tmp_path / "pylock.toml")
    assert result.returncode != 0
    assert "hash" in result.stderr.lower()


def test_find_links_artifacts_sync_with_uv(
    find_links_snapshot: Snapshot, tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    # pylock's `index` must be an index URL: uv refuses a plain find-links path ("relative URL without a base").
    text = pylock.dumps(find_links_snapshot)
    doc = tomllib.loads(text)
    assert all("index" not in p for p in doc["packages"])
    assert {p["tool"]["envsnap"]["find-links"] for p in doc["packages"]} == {
        p.artifact.index for p in find_links_snapshot.python.packages if p.artifact is not None
    }
    Pylock.from_dict(doc).validate()
    (tmp_path / "pylock.toml").write_text(text)
    python = make_venv(tmp_path / "venv")
    result = _uv_sync(python, tmp_path / "pylock.toml")
    assert result.returncode == 0, result.stderr
    # Installed by path (a direct URL with '+' as %2B): the same file as the locked find-links wheel.
    from envsnap.compare.verify import verify

    report = verify(find_links_snapshot, str(python))
    assert not report.python_mismatch, [d.describe() for d in report.differences]


def test_a_bundle_exports_its_built_wheels_by_path_and_hash_so_pip_installs_it(rich: Snapshot, tmp_path: Path) -> None:
    """issue 12.6: pip's pylock reader (26.1+) turns on hash checking for every entry once one has a hash, and
    then refuses the lock's ``directory`` and ``vcs`` entries ("Can't verify hashes for these requirements").
    Exported from a bundle directory, each package the bundle built is its wheel there, by path and sha256."""
    from envsnap.export._common import with_bundle_wheels
    from envsnap.model import Artifact, PythonPackage, Source

    wheels = tmp_path / "bundle" / "wheels"
    wheels.mkdir(parents=True)
    (wheels / "paper-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    built = PythonPackage(
        name="paper",
        version="0.1.0",
        source=Source(kind="directory", url="file:///work/paper", editable=True),
        artifact=Artifact(
            filename="paper-0.1.0-py3-none-any.whl", url="file:///work/paper", sha256="c" * 64, rebuilt=True
        ),
    )
    gone = dataclasses.replace(
        built, name="gone", artifact=dataclasses.replace(built.artifact, filename="gone-0.1.0-py3-none-any.whl")
    )  # type: ignore[arg-type]
    snapshot = dataclasses.replace(
        rich, python=dataclasses.replace(rich.python, packages=(*rich.python.packages, built, gone))
    )
    entries = {p["name"]: p for p in tomllib.loads(pylock.dumps(with_bundle_wheels(snapshot, wheels)))["packages"]}
    assert entries["paper"]["archive"] == {
        "path": str((wheels / "paper-0.1.0-py3-none-any.whl").resolve()),
        "hashes": {"sha256": "c" * 64},
    }
    assert entries["paper"]["version"] == "0.1.0" and "directory" not in entries["paper"]
    assert "directory" in entries["gone"]  # not in the bundle: its source, as the lock says
    plain = {p["name"]: p for p in tomllib.loads(pylock.dumps(snapshot))["packages"]}
    assert all(plain[name] == entries[name] for name in plain if name not in ("paper",))


def test_a_bundle_exports_a_wheel_from_the_authors_folder_as_its_own_copy(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A wheel pinned from a find-links folder of the author's machine (a file: URL) is in the bundle, but the
    bundle's pylock and requirements exports named the folder (uv and pip failed without it), and the project
    its wheel was built from ("keep this file in the project root", about no path it holds)."""
    bundle, files = _authors_bundle(tmp_path)
    for fmt, name in (("pylock", "pylock.toml"), ("requirements", "requirements.txt")):
        result = cli("export", bundle, "-f", fmt, "-o", tmp_path / name)
        assert result.code == 0, result
        text = (tmp_path / name).read_text()
        assert "/authors" not in text and "project root" not in text and "project root" not in result.err, text
        for wheel in files:
            assert str((bundle / "wheels" / wheel).resolve()) in text, (fmt, text)


def test_a_bundle_archives_export_says_to_export_its_folder_for_its_wheels(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exported from the archive, not its folder, the bundle's wheels are gone once it is read: the file named the
    project as `-e .` and the author's find-links folder, and the note sent the reviewer to --absolute-paths, which
    then failed with "run inside the project" (a reviewer has no project). It says what the folder gives instead."""
    from envsnap.artifacts.bundle import write_archive

    bundle, _files = _authors_bundle(tmp_path)
    write_archive(bundle, tmp_path / "supp.tar.gz")
    monkeypatch.chdir(tmp_path)
    for fmt, name in (("pylock", "pylock.toml"), ("requirements", "requirements.txt")):
        result = cli("export", "supp.tar.gz", "-f", fmt, "-o", f"out/{name}")
        assert result.code == 0, result
        assert result.err.splitlines()[1:] == [
            f"note: out/{name} names localwheel 0.3.0, paper 0.1.0 as the lock records them (the author's folder or "
            "project), not by the bundle's wheels, which an archive does not leave on disk: unpack it (tar -xf "
            "supp.tar.gz -C .) and export the folder it holds, supp, for a file that installs them from its wheels"
        ], result.err


def test_a_bundle_archives_export_to_standard_output_says_so_too(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-o -`` (a reviewer's ``export supp.tar.gz -f requirements -o - > req.txt``): the text named the author's
    folder and project, and no note said so, as it does for a file. The note names standard output."""
    from envsnap.artifacts.bundle import write_archive

    bundle, _files = _authors_bundle(tmp_path)
    write_archive(bundle, tmp_path / "supp.tar.gz")
    monkeypatch.chdir(tmp_path)
    for fmt in ("pylock", "requirements"):
        result = cli("export", "supp.tar.gz", "-f", fmt, "-o", "-")
        assert result.code == 0 and result.out, result
        # pylock's file-name note too: printed, the name it is saved under is the user's.
        name_note = (
            "note: standard output: PEP 751 names a lock file pylock.toml or pylock.NAME.toml: save it under such a "
            "name; uv refuses to install from another name (pip takes any)"
        )
        named = [name_note] if fmt == "pylock" else []
        assert result.err.splitlines() == [
            "note: standard output names localwheel 0.3.0, paper 0.1.0 as the lock records them (the author's folder "
            "or project), not by the bundle's wheels, which an archive does not leave on disk: unpack it (tar -xf "
            "supp.tar.gz -C .) and export the folder it holds, supp, for a file that installs them from its wheels",
            *named,
        ], result.err


def test_a_bundle_archive_in_a_folder_whose_name_holds_a_newline_is_named_as_a_word_that_types_it(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle archive in a folder whose name holds a newline: the note's ``tar -xf ARCHIVE`` quoted it with
    ``shlex.quote``, which refuses a control character, so the export (written already) ended in a traceback, exit 1;
    given as ``--bundle``, the refusal said "refused a value of the lock", of the user's own path. Each names the
    archive as bash's ``$'...'`` word, which types it: exit 0 with the note, exit 2 with the refusal, one line each."""
    from envsnap.artifacts.bundle import write_archive

    bundle, _files = _authors_bundle(tmp_path)
    where = tmp_path / "review\ndir"
    where.mkdir()
    write_archive(bundle, where / "supp.tar.gz")
    monkeypatch.chdir(tmp_path)
    word, whole = "$'review\\x0adir/supp.tar.gz'", f"$'{tmp_path}/review\\x0adir/supp.tar.gz'"
    there = f"$'{tmp_path}/review\\x0adir'"
    result = cli("export", where / "supp.tar.gz", "-f", "requirements", "-o", "out.txt")
    assert result.code == 0 and "Traceback" not in result.err, result
    assert result.err.splitlines()[1:] == [
        "note: out.txt names localwheel 0.3.0, paper 0.1.0 as the lock records them (the author's folder or project), "
        f"not by the bundle's wheels, which an archive does not leave on disk: unpack it (tar -xf {whole} -C "
        f"{there}) and export the folder it holds, $'{tmp_path}/review\\x0adir/supp', for a file that installs them "
        "from its wheels"
    ], result.err
    lock = bundle / "envsnap.lock"
    result = cli("export", lock, "-f", "pylock", "--bundle", "review\ndir/supp.tar.gz", "-o", "x.toml")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert (
        f"unpack it (tar -xf {word} -C $'review\\x0adir') and give the folder it holds "
        "(--bundle $'review\\x0adir/supp')" in result.err
    ), result.err
    assert not (tmp_path / "x.toml").exists()


def test_absolute_paths_of_a_bundle_need_the_project_only_for_what_the_bundle_lacks(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock inside a bundle has no folder of its own. `--absolute-paths` of a bundle folder refused ("run inside
    the project") a project the bundle had built into its wheels, and that of an archive took the archive's folder
    for the project and wrote a path naming no project, exit 0. Now the folder's export names the bundle's wheel,
    and the archive's asks for --project in one line, exit 2."""
    from envsnap.artifacts.bundle import write_archive

    bundle, _files = _authors_bundle(tmp_path)
    write_archive(bundle, tmp_path / "supp.tar.gz")
    monkeypatch.chdir(tmp_path)  # in no git work tree
    result = cli("export", "bundle", "-f", "pylock", "-o", "a.toml", "--absolute-paths")
    assert result.code == 0, result
    paper = next(p for p in tomllib.loads((tmp_path / "a.toml").read_text())["packages"] if p["name"] == "paper")
    assert paper["archive"]["path"] == str((bundle / "wheels" / "paper-0.1.0-py3-none-any.whl").resolve())
    result = cli("export", "supp.tar.gz", "-f", "pylock", "-o", "b.toml", "--absolute-paths")
    assert result.code == 2 and not (tmp_path / "b.toml").exists(), result
    assert result.err.count("\n") == 1 and "paper" in result.err and "--project DIR" in result.err, result.err
    (tmp_path / "proj").mkdir()
    result = cli("export", "supp.tar.gz", "-f", "pylock", "-o", "c.toml", "--absolute-paths", "--project", "proj")
    assert result.code == 0, result
    paper = next(p for p in tomllib.loads((tmp_path / "c.toml").read_text())["packages"] if p["name"] == "paper")
    assert paper["directory"]["path"] == str(tmp_path / "proj")


def _authors_bundle(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A bundle with a wheel from the author's find-links folder and a project the bundle built."""
    import hashlib

    from envsnap import lockfile
    from envsnap.artifacts.bundle import Bundle
    from envsnap.model import Artifact, PythonEnv, PythonPackage, Snapshot, Source

    bundle = tmp_path / "bundle"
    (bundle / "wheels").mkdir(parents=True)
    files = {"localwheel-0.3.0-py3-none-any.whl": b"local", "paper-0.1.0-py3-none-any.whl": b"paper"}
    for name, data in files.items():
        (bundle / "wheels" / name).write_bytes(data)
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    lock = Snapshot(
        python=PythonEnv(
            version="3.11.7",
            packages=(
                PythonPackage(
                    name="localwheel",
                    version="0.3.0",
                    artifact=Artifact(
                        filename="localwheel-0.3.0-py3-none-any.whl",
                        url="file:///authors/wheels/localwheel-0.3.0-py3-none-any.whl",
                        sha256=sha["localwheel-0.3.0-py3-none-any.whl"],
                        index="/authors/wheels",
                    ),
                ),
                PythonPackage(
                    name="paper",
                    version="0.1.0",
                    source=Source(kind="directory", url="file://{project}", editable=True),
                    artifact=Artifact(
                        filename="paper-0.1.0-py3-none-any.whl",
                        url="file://{project}",
                        sha256=sha["paper-0.1.0-py3-none-any.whl"],
                        rebuilt=True,
                    ),
                ),
            ),
        )
    )
    lockfile.dump(lock, bundle / "envsnap.lock")
    Bundle(bundle).write_sums()
    return bundle, files


def test_a_bundles_requirements_install_offline_with_the_command_its_header_gives(
    cli: Callable[..., Any], host_snapshot: Snapshot, wheelhouse: Any, tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """A user exported a bundle folder's requirements and ran the command its header gives, with no network: the
    file pinned each wheel by name and hash and named neither the bundle's folder nor ``--no-index``, so pip asked
    the index for every package. It names the bundle's wheels folder (``--find-links``, absolute) and
    ``--no-index``: the header's command installs from the bundle alone, as the index installs the lock records."""
    bundle, lock = _index_bundle(host_snapshot, wheelhouse, tmp_path)
    out = tmp_path / "req.txt"
    result = cli("export", bundle, "-f", "requirements", "-o", out)
    assert result.code == 0, result
    lines = out.read_text().splitlines()
    assert "--no-index" in lines and f"--find-links {(bundle / 'wheels').resolve()}" in lines
    command = next(line[4:] for line in lines if line.startswith("#   pip install"))
    assert command == "pip install --require-hashes --no-deps -r req.txt"
    python = make_venv(tmp_path / "venv")
    # An index that answers nothing: a request to it fails the install at once.
    env = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
    }
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *shlex.split(command)[1:]],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env=env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    from envsnap.compare.verify import verify

    report = verify(lock, str(python))  # index installs, as the lock records them
    assert not report.python_mismatch, [d.describe() for d in report.differences]
    # The same lock exported with its bundle given beside it (``--bundle DIR``) names the same.
    lockfile.dump(lock, tmp_path / "env.lock")
    again = tmp_path / "again.txt"
    assert cli("export", tmp_path / "env.lock", "--bundle", bundle, "-f", "requirements", "-o", again).code == 0
    assert out.read_text().splitlines()[3:] == again.read_text().replace("again.txt", "req.txt").splitlines()[3:]


def test_a_bundles_pylock_names_its_index_wheels_so_uv_installs_offline(
    cli: Callable[..., Any],
    host_snapshot: Snapshot,
    wheelhouse: Any,
    tmp_path: Path,
    make_venv: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A user bundled a lock of index packages and exported the bundle folder's pylock: it named each wheel by the
    index's URL, so `uv pip sync --offline pylock.toml` failed ("Network connectivity is disabled") with every wheel
    beside it in the bundle. Each wheel the bundle holds is named by its path there and sha256, its index kept."""
    bundle, lock = _index_bundle(host_snapshot, wheelhouse, tmp_path)
    result = cli("export", bundle, "-f", "pylock", "-o", tmp_path / "pylock.toml")
    assert result.code == 0, result
    doc = tomllib.loads((tmp_path / "pylock.toml").read_text())
    for entry in doc["packages"]:
        (wheel,) = entry["wheels"]
        assert wheel["path"] == str((bundle / "wheels" / wheel["name"]).resolve()) and "url" not in wheel, entry
        assert wheel["hashes"]["sha256"] == hashlib.sha256(Path(wheel["path"]).read_bytes()).hexdigest()
        assert entry["index"] == "https://pypi.example.invalid/simple"
    Pylock.from_dict(doc).validate()
    python = make_venv(tmp_path / "venv")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))  # nothing of the wheels cached: the bundle's
    synced = _uv_sync(python, tmp_path / "pylock.toml")
    assert synced.returncode == 0, synced.stderr
    from envsnap.compare.verify import verify

    report = verify(lock, str(python))  # installed as the index install the lock records, not by a direct URL
    said = [d.describe() for d in report.differences]
    assert not report.python_mismatch and not [d for d in said if "foo-bar" in d or "tiny-cuda" in d], said


def _index_bundle(host_snapshot: Snapshot, wheelhouse: Any, tmp_path: Path) -> tuple[Path, Snapshot]:
    """A bundle folder of a lock of index packages (an index no test reaches), its wheels in ``wheels/``."""
    from envsnap.artifacts.bundle import Bundle

    bundle = tmp_path / "bundle"
    (bundle / "wheels").mkdir(parents=True)
    packages = []
    for pkg in host_snapshot.python.packages:
        assert pkg.artifact is not None
        (bundle / "wheels" / pkg.artifact.filename).write_bytes(
            (wheelhouse.root / "wheels" / pkg.artifact.filename).read_bytes()
        )
        far = f"https://files.example.invalid/packages/{pkg.artifact.filename}"
        packages.append(
            dataclasses.replace(
                pkg, artifact=dataclasses.replace(pkg.artifact, url=far, index="https://pypi.example.invalid/simple")
            )
        )
    lock = lockfile.seal(
        dataclasses.replace(host_snapshot, python=dataclasses.replace(host_snapshot.python, packages=tuple(packages)))
    )
    lockfile.dump(lock, bundle / "envsnap.lock")
    Bundle(bundle).write_sums()
    return bundle, lock


def test_a_lock_exported_with_its_bundle_names_the_bundles_wheels(
    cli: Callable[..., Any], host_snapshot: Snapshot, wheelhouse: Any, tmp_path: Path
) -> None:
    """`envsnap export env.lock --bundle DIR` (as `rebuild env.lock --bundle DIR` takes the bundle): export had no
    --bundle (argparse: unrecognized arguments), so the lock's pylock named the index's URLs. It names the bundle's
    wheels, as the export of the bundle folder does, after checking the bundle was made from the lock; a lock not
    pinned takes the files the bundle pinned."""
    from envsnap.artifacts.bundle import write_archive

    bundle, lock = _index_bundle(host_snapshot, wheelhouse, tmp_path)
    assert cli("export", bundle, "-f", "pylock", "-o", tmp_path / "from-bundle" / "pylock.toml").code == 0
    expected = (tmp_path / "from-bundle" / "pylock.toml").read_text()
    for name, given in (
        ("pinned", lock),
        (
            "unpinned",
            dataclasses.replace(
                lock,
                python=dataclasses.replace(
                    lock.python, packages=tuple(dataclasses.replace(p, artifact=None) for p in lock.python.packages)
                ),
            ),
        ),
    ):
        path = lockfile.dump(lockfile.seal(given), tmp_path / name / "env.lock")
        result = cli(
            "export", path, "--bundle", bundle, "-f", "pylock", "-o", tmp_path / name / "pylock.toml", "--no-pin"
        )
        assert result.code == 0, result
        text = (tmp_path / name / "pylock.toml").read_text()
        assert str((bundle / "wheels").resolve()) in text and "files.example.invalid" not in text, text
        if name == "pinned":
            assert text == expected
    write_archive(bundle, tmp_path / "supp.tar.gz")
    other = lockfile.dump(
        lockfile.seal(
            dataclasses.replace(
                lock,
                python=dataclasses.replace(
                    lock.python, packages=tuple(dataclasses.replace(p, version="9.9") for p in lock.python.packages)
                ),
            )
        ),
        tmp_path / "other.lock",
    )
    pinned = tmp_path / "pinned" / "env.lock"
    for args, said in (
        (
            (pinned, "-f", "markdown"),
            "envsnap: error: --bundle: markdown names no wheel file; --bundle is for pylock "
            "and requirements (export the bundle itself for its markdown: envsnap export DIR --format markdown)",
        ),
        (
            (pinned, "-f", "pylock", "-o", bundle / "p.toml"),
            f"envsnap: error: -o {bundle / 'p.toml'}: inside the bundle ({bundle}), which this command reads;",
        ),
        ((other, "-f", "pylock"), f"envsnap: error: {bundle}: the bundle was made from another lock"),
        ((bundle, "-f", "pylock"), f"envsnap: error: --bundle {bundle}: {bundle} is a bundle itself"),
    ):
        result = (
            cli("export", *args, "--bundle", bundle, "-o", tmp_path / "x.toml")
            if "-o" not in args
            else cli("export", *args, "--bundle", bundle)
        )
        assert result.code == 2 and result.err.startswith(said) and result.err.count("\n") == 1, (args, result)
    result = cli("export", pinned, "-f", "pylock", "--bundle", tmp_path / "supp.tar.gz", "-o", tmp_path / "x.toml")
    assert result.code == 2 and result.err == (
        f"envsnap: error: --bundle {tmp_path / 'supp.tar.gz'}: an archive, whose wheels are on disk only while it is "
        f"read, and the file names them by path: unpack it (tar -xf {tmp_path / 'supp.tar.gz'} -C {tmp_path}) and give "
        f"the folder it holds (--bundle {tmp_path / 'supp'})\n"
    ), result
    assert not (tmp_path / "x.toml").exists()


def test_a_find_links_wheel_in_the_project_installs_with_uv(tmp_path: Path, make_venv: Callable[..., Path]) -> None:
    """``envsnap pin`` records a wheel found in a find-links folder in the project as ``file://{project}/wheels/x.whl``
    (index ``file://{project}/wheels``). The pylock names the file by its path relative to the file (PEP 751), so
    written at the project root it installs with ``uv pip install -r`` and ``uv pip sync`` from any working directory;
    ``--absolute-paths`` gives the absolute path, for a file kept anywhere."""
    from wheelfiles import build_wheel

    from envsnap.export import with_absolute_paths
    from envsnap.model import Artifact, PythonEnv, PythonPackage

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
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,)))
    text = pylock.dumps(lock)
    assert text.startswith("# Local projects below are written relative to the project root")
    (entry,) = tomllib.loads(text)["packages"]
    assert "index" not in entry and entry["wheels"][0]["path"] == f"wheels/{wheel.name}"
    assert entry["tool"]["envsnap"]["find-links"] == "file://{project}/wheels"
    absolute = tomllib.loads(pylock.dumps(with_absolute_paths(lock, project)))["packages"][0]
    assert absolute["wheels"][0]["path"] == str(wheel)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "pylock.toml").write_text(pylock.dumps(with_absolute_paths(lock, project)))
    (project / "pylock.toml").write_text(text)
    uv = str(uv_bin())
    for n, command in enumerate(
        (
            ["pip", "install", "-r", str(project / "pylock.toml")],
            ["pip", "sync", str(project / "pylock.toml")],
            ["pip", "sync", str(tmp_path / "elsewhere" / "pylock.toml")],
        )
    ):
        python = make_venv(tmp_path / f"venv{n}")
        result = subprocess.run(
            [uv, *command, "--python", str(python), "--offline", "--no-config"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # neither folder: the paths are read from the file's
        )
        assert result.returncode == 0, result.stderr
        assert "+ tinypkg==1.0" in result.stderr, result.stderr


def _seeded_bundle(tmp_path: Path) -> Path:
    """A bundle of a fresh venv as ``bundle --offline`` writes it: pip pinned from the bundler's ``ensurepip``
    folder, known by its file name and sha256 alone (no URL), its wheel in the bundle."""
    from envsnap.artifacts.bundle import Bundle
    from envsnap.model import Artifact, PythonEnv, PythonPackage

    bundle = tmp_path / "my bundle"
    (bundle / "wheels").mkdir(parents=True)
    name = "pip-23.2.1-py3-none-any.whl"
    (bundle / "wheels" / name).write_bytes(b"pip")
    art = Artifact(filename=name, url="", sha256=hashlib.sha256(b"pip").hexdigest())
    pkg = PythonPackage(name="pip", version="23.2.1", installer="pip", artifact=art, requested=True)
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), bundle / "envsnap.lock")
    Bundle(bundle).write_sums()
    return bundle


def test_a_bundles_lock_with_seed_wheels_says_the_exact_export_that_writes_its_pylock(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock of a bundle of a fresh venv (pip and setuptools from ensurepip, known by name and sha256) exported
    as pylock from elsewhere said "export the bundle directory ... (`envsnap export BUNDLE_DIR --format pylock`)",
    a placeholder the user had to work out. It names the command to run: the bundle folder holding the lock, or,
    for a lock alone, the bundle to make first; that command then writes the file."""
    import shlex

    from envsnap.artifacts.bundle import write_archive

    bundle = _seeded_bundle(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    lock = bundle / "envsnap.lock"
    result = cli("export", str(lock), "--format", "pylock", "-o", "out/pylock.toml")
    assert result.code == 2 and result.err.count("\n") == 1, result
    command = f"envsnap export {shlex.quote(str(bundle))} --format pylock -o out/pylock.toml"
    assert f"`{command}`" in result.err and "BUNDLE_DIR" not in result.err, result.err
    result = cli(*shlex.split(command)[1:])
    assert result.code == 0 and (elsewhere / "out" / "pylock.toml").is_file(), result
    # A lock alone (copied out of its bundle): make the bundle first, then export its folder.
    (elsewhere / "env.lock").write_bytes(lock.read_bytes())
    result = cli("export", "env.lock", "--format", "pylock")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert "`envsnap bundle env.lock -o DIR`" in result.err and "`envsnap export DIR --format pylock`" in result.err
    # An archive: unpack it, then export the folder it holds.
    write_archive(bundle, elsewhere / "supp.tar.gz")
    result = cli("export", "supp.tar.gz", "--format", "pylock")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert "(tar -xf supp.tar.gz -C .)" in result.err and "`envsnap export supp --format pylock`" in result.err, (
        result.err
    )


def test_a_seed_wheel_refusal_names_every_folder_such_a_wheel_comes_from(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A lock of a venv Debian's ``python3 -m venv`` made records its pip by name and sha256 (from
    ``/usr/share/python-wheels``), as ensurepip's: the pylock refusal said the wheel came from "its ensurepip folder",
    which on Debian sent the user looking in the wrong place. It names both seed folders."""
    bundle = _seeded_bundle(tmp_path)
    (tmp_path / "env.lock").write_bytes((bundle / "envsnap.lock").read_bytes())
    result = cli("export", tmp_path / "env.lock", "--format", "pylock", "-o", tmp_path / "pylock.toml")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert "ensurepip/_bundled" in result.err and "/usr/share/python-wheels" in result.err, result.err


def test_an_imported_hashed_requirements_lock_is_pinned_by_its_pylock_export(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``uv pip compile --generate-hashes`` output imported (each package known by its sha256 alone), exported as
    pylock: export pins a lock first where the format needs files (and `--pin` says it must), but it took a hash for
    a file and refused ("known by hash only, not by file ...; run `envsnap pin LOCK`"), exit 2, where `envsnap pin`
    finds the file. It pins them as `pin` does, and the pylock names the wheel."""
    from wheelfiles import build_wheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = build_wheel(wheels, "tinypkg", "1.0", "tinypkg")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (tmp_path / "requirements.txt").write_text(f"tinypkg==1.0 \\\n    --hash=sha256:{digest}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    for option in ((), ("--pin",)):
        result = cli("export", "env.lock", "-f", "pylock", "-o", "out/pylock.toml", *option)
        assert result.code == 0, (option, result)
        (entry,) = tomllib.loads((tmp_path / "out" / "pylock.toml").read_text())["packages"]
        (file,) = entry["wheels"]
        assert (file["name"], file["hashes"]) == (wheel.name, {"sha256": digest}), entry


def test_a_no_pin_export_of_an_imported_hashed_requirements_lock_names_every_package_without_a_file(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip-compile --generate-hashes`` output imported: a package with two hashes has no file yet, one with one
    hash no file name. ``export -f pylock --no-pin`` named the first kind alone, and once that was pinned the
    second came; both are named at once."""
    lines = [
        "six==1.16.0 \\",
        f"    --hash=sha256:{'1' * 64}",
        "idna==3.7 \\",
        f"    --hash=sha256:{'2' * 64} \\",
        f"    --hash=sha256:{'3' * 64}",
    ]
    (tmp_path / "requirements.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    assert cli("import", "requirements.txt", "-o", "env.lock").code == 0
    result = cli("export", "env.lock", "-f", "pylock", "--no-pin", "-o", "pylock.toml")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert (
        "pylock: 1 package(s) have no pinned artifact (file URL and sha256): idna==3.7; 1 more are known by hash "
        "only, not by file (imported from a requirements.txt?): six==1.16.0; run `envsnap pin env.lock` first or pass "
        "--pin\n"
    ) in result.err, result.err
    assert not (tmp_path / "pylock.toml").exists()


def test_a_debian_seed_wheel_known_by_sha256_is_named_by_this_machines_seed_file(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_venv: Callable[..., Path]
) -> None:
    """A pinned lock of a Debian venv records pip and setuptools by file name and sha256 alone (Debian's rebuilds,
    from /usr/share/python-wheels): its pylock export asked for a bundle, though this machine holds the very file.
    The file of this machine's seed folder with that sha256 is named by its path, and uv installs it offline; the
    lock still names no folder. Where no seed folder holds it, the refusal says so."""
    from wheelfiles import build_wheel

    import envsnap.artifacts.pin as pin_module
    from envsnap.model import Artifact, PythonEnv, PythonPackage

    seeds = tmp_path / "usr" / "share" / "python-wheels"
    seeds.mkdir(parents=True)
    wheel = build_wheel(seeds, "tinypkg", "1.0", "tinypkg")
    monkeypatch.setattr(pin_module, "DISTRIBUTION_WHEEL_DIRS", (str(seeds),))
    art = Artifact(filename=wheel.name, url="", sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
    pkg = PythonPackage(name="tinypkg", version="1.0", installer="pip", artifact=art, requested=True)
    lock = lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), tmp_path / "env.lock")
    before = lock.read_bytes()
    result = cli("export", lock, "-f", "pylock", "-o", tmp_path / "pylock.toml")
    assert result.code == 0, result
    (entry,) = tomllib.loads((tmp_path / "pylock.toml").read_text())["packages"]
    assert entry["wheels"][0]["path"] == str(wheel) and entry["wheels"][0]["hashes"] == {"sha256": art.sha256}
    python = make_venv(tmp_path / "venv")
    installed = subprocess.run(
        [
            str(uv_bin()),
            "pip",
            "install",
            "-r",
            str(tmp_path / "pylock.toml"),
            "--python",
            str(python),
            "--offline",
            "--no-config",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0 and "+ tinypkg==1.0" in installed.stderr, installed.stderr
    assert lock.read_bytes() == before
    wheel.unlink()
    result = cli("export", lock, "-f", "pylock", "-o", tmp_path / "pylock.toml")
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert f"no wheel with that sha256 is in this machine's seed-wheel folders ({seeds}" in result.err, result.err


def test_the_projects_own_repository_is_a_path_uv_installs_and_one_in_the_home_is_refused(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """A git package installed from the project's own repository (``pip install 'x @ git+file:///path/mono@C
    #subdirectory=libs/x'`` inside it) is recorded as ``file://{project}``: the pylock wrote ``url =
    "file://{project}"``, a folder no installer finds (``uv pip sync`` failed cloning it). It is ``path = "."``
    now, relative to the file at the project root (PEP 751), which uv installs; one in the home (``file://~/lib``),
    which no reader expands, is refused, naming ``--absolute-paths``."""
    from testutil import in_tree_project

    from envsnap.model import PythonEnv, PythonPackage, Source

    project = tmp_path / "proj"
    in_tree_project(project / "libs" / "x", "spaced", "0.3")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    source = Source(kind="vcs", url="file://{project}", vcs="git", commit_id=commit, subdirectory="libs/x")
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("spaced", "0.3", source=source),)))
    (project / "pylock.toml").write_text(pylock.dumps(lock))
    python = make_venv(tmp_path / "venv")
    result = _uv_sync(python, project / "pylock.toml")
    assert result.returncode == 0, result.stderr
    assert "+ spaced==0.3" in result.stderr, result.stderr
    home = Snapshot(
        python=PythonEnv(
            version="3.11.7",
            packages=(PythonPackage("spaced", "0.3", source=dataclasses.replace(source, url="file://~/lib")),),
        )
    )
    with pytest.raises(ExportError, match=r"pylock: spaced: .*\(~/lib\).*--absolute-paths"):
        pylock.dumps(home)


@pytest.mark.parametrize(
    ("kind", "url"), [("directory", "file://~/my%20lib"), ("archive", "file://~/wheels/homelib-0.4.tar.gz")]
)
def test_a_local_project_or_file_in_the_home_is_refused_or_written_absolute(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, url: str
) -> None:
    """A local project (or file) recorded in the home (``file://~/my%20lib``): the pylock wrote ``path = "~/my lib"``,
    which a PEP 751 reader takes relative to the file (a folder named ``~`` beside it). It is refused, one line,
    exit 2, nothing written, naming ``--absolute-paths``, as a repository in the home is; with ``--absolute-paths``
    the path is the folder in this home."""
    from envsnap.model import PythonEnv, PythonPackage, Source

    home = tmp_path / "home"
    (home / "my lib").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    hashed = {"archive_hash": "sha256=" + "a" * 64} if kind == "archive" else {"editable": True}
    source = Source(kind=kind, url=url, **hashed)
    lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(PythonPackage("homelib", "0.4", source=source),)))
    lockfile.dump(lock, tmp_path / "env.lock")
    out = tmp_path / "pylock.toml"
    result = cli("export", tmp_path / "env.lock", "-f", "pylock", "-o", out)
    assert result.code == 2, result
    (line,) = result.err.splitlines()
    # Named by its path, one shell word (``~/'my lib'``), not its URL.
    shown = {"directory": "~/'my lib'", "archive": "~/wheels/homelib-0.4.tar.gz"}[kind]
    assert "homelib" in line and f"({shown})" in line and "--absolute-paths" in line, line
    assert not out.exists()
    result = cli("export", tmp_path / "env.lock", "-f", "pylock", "-o", out, "--absolute-paths")
    assert result.code == 0, result
    (package,) = tomllib.loads(out.read_text())["packages"]
    expected = home / "my lib" if kind == "directory" else home / "wheels" / "homelib-0.4.tar.gz"
    assert package[kind]["path"] == str(expected), package


def test_every_message_unpacks_a_bundle_archive_by_one_rule(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ways of unpacking a bundle archive were printed: the loader's "not a lock" and export's archive notes said
    ``tar -xf A`` (into the current folder), while audit, pin and docker remedies unpack it beside it (``tar -xf A -C
    DIR``). Every message now prints the one command (``unpack_beside``): each is one line bash reads, and run, it
    puts the folder or lock the message names where it says, for an archive whose name holds a space."""
    import re
    import tarfile

    from envsnap.artifacts.bundle import write_archive

    (tmp_path / "src").mkdir()
    bundle, _files = _authors_bundle(tmp_path / "src")
    here = tmp_path / "review"
    here.mkdir()
    write_archive(bundle, here / "my B.tar.gz")
    with tarfile.open(here / "c.tar.xz", "w:xz") as tar:  # an archive envsnap does not read as a bundle
        tar.add(bundle, arcname="c")
    monkeypatch.chdir(tmp_path)
    archive = "review/my B.tar.gz"
    said = {
        "pin": cli("pin", archive).err,
        "export note": cli("export", archive, "-f", "requirements", "-o", "out.txt").err,
        "export --bundle": cli(
            "export", bundle / "envsnap.lock", "-f", "pylock", "--bundle", archive, "-o", "x.toml"
        ).err,
        "foreign": cli("show", "review/c.tar.xz").err,
    }
    write_archive(_seeded_bundle(tmp_path / "src"), here / "my S.tar.gz")
    said["export named only"] = cli("export", "review/my S.tar.gz", "-f", "pylock").err
    assert "`envsnap export 'review/my S' --format pylock`" in said["export named only"], said
    unpack = re.compile(r"\(((?:mkdir -p [^()]* && )?tar -xf [^()]*)\)")
    commands = {what: unpack.findall(text) for what, text in said.items()}
    assert all(len(found) == 1 for found in commands.values()), said
    for what, (command,) in commands.items():
        subprocess.run(["bash", "-n", "-c", command], check=True)
        assert command.endswith(" -C review"), (what, command)
    assert commands["export named only"] == ["tar -xf 'review/my S.tar.gz' -C review"], said
    bundle_command = {commands[what][0] for what in ("pin", "export note", "export --bundle")}
    assert bundle_command == {"tar -xf 'review/my B.tar.gz' -C review"}, said
    subprocess.run(["bash", "-c", bundle_command.pop()], check=True)
    assert "give the lock it holds, 'review/my B/envsnap.lock' once unpacked" in said["pin"], said["pin"]
    assert "(--bundle 'review/my B')" in said["export --bundle"], said["export --bundle"]
    assert "export the folder it holds, 'review/my B', for" in said["export note"], said["export note"]
    assert (here / "my B" / "envsnap.lock").is_file() and not (tmp_path / "my B").exists()
    subprocess.run(["bash", "-c", commands["foreign"][0]], check=True)
    assert (here / "c" / "envsnap.lock").is_file()
