"""Wheels made in a test, and the lock and bundle of a venv that holds them, made offline (a file:// index).

Shared by the venv rebuild tests that need a real bundle: tests/rebuild/test_rebuild_once.py,
test_rebuild_links.py and test_venv_install_env.py."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from envsnap import lockfile
from envsnap.artifacts.bundle import BundleOptions, make_bundle
from envsnap.artifacts.pin import IndexConfig
from envsnap.probes.capture import capture


def wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    files: dict[str, bytes] | None = None,
    purelib: bool = True,
    headers: str = "",
) -> Path:
    """A ``py3-none-any`` wheel of ``name`` with ``name/__init__.py`` (or ``files``, by archive path), its
    METADATA (with ``headers``, more of its lines), WHEEL and a RECORD that lists every file with its hash."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}"
    wheel_file = f"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: {str(purelib).lower()}\nTag: py3-none-any\n"
    files = {
        **(files if files is not None else {f"{name}/__init__.py": f"NAME = {name!r}\n".encode()}),
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{headers}\n".encode(),
        f"{dist}.dist-info/WHEEL": wheel_file.encode(),
    }
    record = "".join(
        f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}\n"
        for p, d in files.items()
    )
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist}.dist-info/RECORD", record + f"{dist}.dist-info/RECORD,,\n")
    return path


def locked_bundle(uv: str, root: Path, wheels: dict[str, Path]) -> tuple[Path, Path, Path]:
    """A PEP 503 index of ``wheels`` (by project name) under ``root/index``, a venv ``root/source`` with them
    installed by uv, its lock ``root/envsnap.lock`` and the lock's bundle ``root/bundle``: (lock, bundle, the
    venv's python)."""
    index = root / "index" / "simple"
    for name, path in wheels.items():
        page = index / name
        page.mkdir(parents=True)
        (page / path.name).write_bytes(path.read_bytes())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        (page / "index.html").write_text(f'<a href="{path.name}#sha256={digest}">{path.name}</a>\n')
    source = root / "source"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(source)], check=True)
    python = source / "bin" / "python"
    links = sorted({str(path.parent) for path in wheels.values()})
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--offline",
            "--no-config",
            "--python",
            str(python),
            "--no-index",
            *(arg for folder in links for arg in ("--find-links", folder)),
            *wheels,
        ],
        check=True,
    )
    lock_path = lockfile.dump(capture(str(python), project_state=False), root / "envsnap.lock")
    bundle = root / "bundle"
    config = IndexConfig(index_url=index.as_uri())
    make_bundle(lockfile.load(lock_path), bundle, BundleOptions(config=config, cache_dir=root / "cache"))
    return lock_path, bundle, python
