"""A pylock.toml written by another tool (uv) imports, and the lock made from it installs again."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from export_samples import uv_bin
from testutil import CliResult

from envsnap import export, importers, lockfile


def test_uv_written_pylock_imports_and_reinstalls(
    wheelhouse,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    make_venv: Callable[..., Path],
) -> None:
    uv = uv_bin()
    assert uv, "uv is a test dependency"
    (tmp_path / "req.in").write_text("foo-bar\ntiny-cuda==2.0+cu121\n")
    result = subprocess.run(
        [
            uv,
            "pip",
            "compile",
            "--no-config",
            "--offline",
            "--no-index",
            "--find-links",
            str(wheelhouse.root / "wheels"),
            "req.in",
            "-o",
            "pylock.toml",
            "--quiet",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    snap = importers.read_file(tmp_path / "pylock.toml")
    assert snap.envsnap.generator == "envsnap import from uv"
    # uv writes a range (requires-python = ">=3.X"), not the version: the lock says it does not know it.
    assert snap.python.version == "" and "python.version" in snap.envsnap.unknown
    by_name = {p.name: p for p in snap.python.packages}
    assert set(by_name) == {"foo-bar", "tiny-cuda"}
    for name, pkg in by_name.items():
        assert pkg.artifact is not None
        assert pkg.artifact.sha256 == wheelhouse.artifacts[name].sha256
        assert pkg.artifact.filename == wheelhouse.artifacts[name].filename  # '+' decoded from the URL
    # The imported lock is an ordinary lock: saved, loaded, exported and installed with uv.
    lock = lockfile.load(lockfile.dump(snap, tmp_path / "envsnap.lock"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "pylock.toml").write_bytes(export.get("pylock").render(lock)["pylock.toml"])
    python = make_venv(tmp_path / "venv")
    sync = [
        uv,
        "pip",
        "sync",
        "--python",
        str(python),
        "--offline",
        "--no-config",
        str(tmp_path / "out" / "pylock.toml"),
    ]
    result = subprocess.run(sync, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    installed = json.loads(
        subprocess.run(
            [
                str(python),
                "-c",
                "import json, importlib.metadata as m; "
                "print(json.dumps(sorted(d.metadata['Name'] for d in m.distributions())))",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    assert installed == ["Foo_Bar", "tiny_cuda"]


def test_an_archive_size_that_is_no_size_is_refused_in_one_line(tmp_path: Path) -> None:
    """An archive's ``size`` is recorded now: one that is no byte count is refused before anything is written, and an
    archive whose sha256 is no sha256 too, naming the entry."""
    from envsnap.errors import LockImportError

    digest = "a" * 64
    for archive, said in (
        (f'url = "https://example.org/x-1.0.tar.gz"\nsize = -1\nhashes = {{sha256 = "{digest}"}}', "archive.size"),
        ('url = "https://example.org/x-1.0.tar.gz"\nsize = 3\nhashes = {sha256 = "zz"}', "archive.hashes.sha256"),
    ):
        path = tmp_path / "pylock.toml"
        path.write_text(
            f'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "x"\nversion = "1.0"\n'
            f"[packages.archive]\n{archive}\n"
        )
        with pytest.raises(LockImportError, match=f"packages\\[0\\]\\.{said}"):
            importers.read_file(path)


@pytest.mark.parametrize(
    ("filename", "why"),
    [
        ("requests-2.0-py3-none-any.whl", "the file is requests's, not six's"),
        ("requests-2.0.tar.gz", "the file is requests's, not six's"),
        ("six-1.16.0-py2.py3-none-any.whl", "the file is of version 1.16.0, not 2.0"),
        ("six-2.0-py2.py3-none-any.whl", None),
        ("six-2.0.tar.gz", None),
        ("v2.0.tar.gz", None),  # a forge's archive of a tag: no project in its name
    ],
)
def test_a_pylock_archive_of_another_projects_file_is_refused(
    tmp_path: Path, cli: Callable[..., CliResult], filename: str, why: str | None
) -> None:
    """``six`` 2.0 whose ``archive`` is requests' wheel (or sdist) was imported as six from requests' file: pip refuses
    a wheel of another name, and the sha256 pins the other file. A pylock's wheels and sdist of another project were
    refused (packaging's pylock checks their names), its archive was not; it is, as a requirements line's URL is."""
    path = tmp_path / "pylock.toml"
    path.write_text(
        'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "six"\nversion = "2.0"\n'
        f'archive = {{ url = "https://files.example/{filename}", hashes = {{ sha256 = "{"a" * 64}" }} }}\n'
    )
    out = tmp_path / "out.lock"
    result = cli("import", path, "-o", out)
    if why is None:
        assert result.code == 0, result
        return
    assert result.code == 2, result
    assert result.err == f"envsnap: error: {path}: packages[0].archive: six: {why} ({filename})\n"
    assert not out.exists()


@pytest.mark.parametrize(
    ("files", "where"),
    [
        (
            'wheels = [{{ url = "https://f.example/six-1.17.0-py2.py3-none-any.whl", hashes = {{ sha512 = "{h}" }} }}]',
            "packages[0].wheels[0]",
        ),
        (
            'sdist = {{ url = "https://files.example/six-1.17.0.tar.gz", hashes = {{ sha384 = "{h}" }} }}',
            "packages[0].sdist",
        ),
        (
            'wheels = [{{ url = "https://files.example/six-1.17.0-py2-none-any.whl", hashes = {{ sha512 = "{h}" }} }}, '
            '{{ url = "https://files.example/six-1.17.0-py3-none-any.whl", hashes = {{ sha512 = "{h}" }} }}]',
            "packages[0].wheels[0]",
        ),
    ],
)
def test_a_pylock_package_whose_files_give_no_sha256_is_refused(
    tmp_path: Path, cli: Callable[..., CliResult], files: str, where: str
) -> None:
    """A pylock's ``six`` 1.17.0 whose wheel gives a ``sha512`` alone (PEP 751 takes any algorithm) was imported as
    ``six`` 1.17.0 with no file, no URL and no hash (a warning, or none for an sdist): ``pin`` then took any file of
    that release from the configured index, where the pylock allowed one. It is refused, as a requirement with such a
    hash and no file here to read its sha256 from is."""
    path = tmp_path / "pylock.toml"
    body = files.format(h="b" * 128 if "sha512" in files else "b" * 96)
    path.write_text(f'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "six"\nversion = "1.17.0"\n{body}\n')
    out = tmp_path / "out.lock"
    result = cli("import", path, "-o", out)
    assert result.code == 2, result
    algo = "sha384" if "sha384" in files else "sha512"
    assert result.err == (
        f"envsnap: error: {path}: {where}: six: no sha256 among its hashes ({algo}), by which a lock records a file: "
        "write the pylock with sha256 hashes (uv, pip lock and pdm write them)\n"
    ), result.err
    assert not out.exists()


def test_a_pylock_archive_without_a_version_takes_the_one_its_file_name_gives(tmp_path: Path) -> None:
    """``pip lock ./wheels/winonly-1.0-py3-none-any.whl "labspeed @ file:///.../labspeed-0.3.tar.gz"`` writes each
    as an ``archive`` with no ``version``: the import recorded ``version = ""`` and, for the wheel, no tags, where the
    requirements import of the same lines reads both from the file name (verify then compared neither)."""
    digest = "a" * 64
    wheel, sdist = tmp_path / "winonly-1.0-py3-none-any.whl", tmp_path / "labspeed-0.3-1.tar.gz"
    path = tmp_path / "pylock.toml"
    path.write_text(
        'lock-version = "1.0"\ncreated-by = "pip"\n'
        f'[[packages]]\nname = "labspeed"\n[packages.archive]\nurl = "{sdist.as_uri()}"\n'
        f'[packages.archive.hashes]\nsha256 = "{digest}"\n'
        f'[[packages]]\nname = "winonly"\n[packages.archive]\nurl = "{wheel.as_uri()}"\n'
        f'[packages.archive.hashes]\nsha256 = "{digest}"\n'
    )
    labspeed, winonly = importers.read_file(path).python.packages
    assert (labspeed.name, labspeed.version, labspeed.wheel_tags) == ("labspeed", "0.3-1", ())
    assert (winonly.name, winonly.version, winonly.wheel_tags) == ("winonly", "1.0", ("py3-none-any",))
