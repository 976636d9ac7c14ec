"""A pylock.toml written by another tool (uv) imports, and the lock made from it installs again."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from export_samples import uv_bin

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
