"""A real, local conda channel built from hand-made packages, and environments created from it.

No conda channel is reachable from the test machines, so the session builds one: every package is a real conda
archive (``info/index.json``, ``info/paths.json``, ``info/files``), the channel is indexed by
``rattler.index``, and environments are solved and installed by py-rattler from its ``file://`` URL.

The packages:
- ``libhello``: a shared library compiled with gcc (``lib/libhello.so.1``, soname set);
- ``hello-tool``: an executable linked against it (rpath ``$ORIGIN/../lib``), depending on ``libhello``, written
  in the ``.conda`` (v2) format;
- ``tinyutil``: a noarch python package with a ``.dist-info`` whose INSTALLER says ``pip`` (conda-build
  recipes that run ``pip install .`` produce exactly that), so classification must use conda-meta ``files``;
- ``python``: a stand-in for the interpreter. A real CPython conda package cannot be had offline, so this one
  is a venv-style shim: ``bin/python3.X`` is a symlink to the interpreter running the tests and
  ``pyvenv.cfg`` makes ``sys.prefix`` the conda prefix. Everything that runs inside the environment (the
  stdlib probe, pip, rattler's pyc compilation of noarch packages) runs a real interpreter on a real prefix;
  only the interpreter's own files are borrowed from the host instead of shipped in the package.
A pure-Python wheel ``pipdemo`` (hand-made, with a RECORD) is the pip layer added on top.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PY_VER = f"{sys.version_info.major}.{sys.version_info.minor}"
PY_FULL = ".".join(str(p) for p in sys.version_info[:3])
BASE_PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))


@dataclass
class Entry:
    """One file of a package: regular content, or a symlink when ``link`` is set."""

    path: str
    data: bytes = b""
    mode: int = 0o644
    link: str = ""
    placeholder: str = ""  # a prefix placeholder in a text file, which the installer rewrites to the prefix


@dataclass
class Pkg:
    name: str
    version: str
    build: str
    subdir: str
    entries: list[Entry]
    depends: list[str] = field(default_factory=list)
    noarch: str = ""
    fmt: str = ".tar.bz2"  # or ".conda"

    @property
    def stem(self) -> str:
        return f"{self.name}-{self.version}-{self.build}"

    @property
    def filename(self) -> str:
        return self.stem + self.fmt


def _index_json(pkg: Pkg) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": pkg.name,
        "version": pkg.version,
        "build": pkg.build,
        "build_number": int(pkg.build.rsplit("_", 1)[-1]),
        "depends": pkg.depends,
        "license": "MIT",
        "subdir": pkg.subdir,
        "timestamp": 1700000000000,
    }
    if pkg.noarch:
        doc["noarch"] = pkg.noarch
    else:
        doc["arch"], doc["platform"] = "x86_64", "linux"
    return doc


def write_package(pkg: Pkg, channel: Path) -> Path:
    """Write ``pkg`` as a conda ``.tar.bz2`` or ``.conda`` into ``channel/<subdir>/``."""
    out = channel / pkg.subdir / pkg.filename
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for e in sorted(pkg.entries, key=lambda e: e.path):
        if e.link:
            paths.append(
                {
                    "_path": e.path,
                    "path_type": "softlink",
                    "sha256": hashlib.sha256(e.link.encode()).hexdigest(),
                    "size_in_bytes": len(e.link),
                }
            )
        else:
            entry: dict[str, object] = {
                "_path": e.path,
                "path_type": "hardlink",
                "sha256": hashlib.sha256(e.data).hexdigest(),
                "size_in_bytes": len(e.data),
            }
            if e.placeholder:
                entry |= {"prefix_placeholder": e.placeholder, "file_mode": "text"}
            paths.append(entry)
    info: dict[str, bytes] = {
        "info/index.json": json.dumps(_index_json(pkg), indent=2).encode(),
        "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}, indent=2).encode(),
        "info/files": "".join(f"{e.path}\n" for e in sorted(pkg.entries, key=lambda e: e.path)).encode(),
    }
    if pkg.noarch == "python":
        info["info/link.json"] = json.dumps({"noarch": {"type": "python"}, "package_metadata_version": 1}).encode()
    if pkg.fmt == ".conda":
        # The v2 format: an uncompressed zip of metadata.json and two zstd tarballs (info/ and the rest).
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
            zf.writestr(f"info-{pkg.stem}.tar.zst", _zstd_tar(info, []))
            zf.writestr(f"pkg-{pkg.stem}.tar.zst", _zstd_tar({}, pkg.entries))
        return out
    with tarfile.open(out, "w:bz2") as tar:
        _fill_tar(tar, info, pkg.entries)
    return out


def _fill_tar(tar: tarfile.TarFile, info: dict[str, bytes], entries: list[Entry]) -> None:
    for name, data in sorted(info.items()):
        _add(tar, name, data, 0o644)
    for e in entries:
        if e.link:
            ti = tarfile.TarInfo(e.path)
            ti.type, ti.linkname, ti.mtime = tarfile.SYMTYPE, e.link, 1700000000
            tar.addfile(ti)
        else:
            _add(tar, e.path, e.data, e.mode)


def _zstd_tar(info: dict[str, bytes], entries: list[Entry]) -> bytes:
    import zstandard

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        _fill_tar(tar, info, entries)
    return zstandard.ZstdCompressor().compress(raw.getvalue())


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), mode, 1700000000
    tar.addfile(ti, io.BytesIO(data))


def _gcc(args: list[str], cwd: Path) -> None:
    subprocess.run(["gcc", *args], cwd=cwd, check=True, capture_output=True)


def _record_line(path: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [path, f"sha256={digest}", str(len(data))]


def dist_info(name: str, version: str, installer: str, files: dict[str, bytes], root: str = "") -> dict[str, bytes]:
    """The files of a package plus a complete ``.dist-info`` (METADATA, WHEEL, INSTALLER, RECORD)."""
    di = f"{name}-{version}.dist-info"
    out = dict(files)
    out[f"{di}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    out[f"{di}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: envsnap-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if installer:
        out[f"{di}/INSTALLER"] = f"{installer}\n".encode()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for path, data in sorted(out.items()):
        writer.writerow(_record_line(path, data))
    writer.writerow([f"{di}/RECORD", "", ""])
    out[f"{di}/RECORD"] = buf.getvalue().encode()
    return {f"{root}{k}": v for k, v in out.items()}


def make_wheel(dest: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    whl = dest / f"{name}-{version}-py3-none-any.whl"
    whl.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(whl, "w") as zf:
        for path, data in sorted(dist_info(name, version, "", files).items()):
            zf.writestr(path, data)
    return whl


def build_packages(work: Path) -> list[Pkg]:
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "hello.c").write_text('const char *hello(void) { return "hello from libhello"; }\n')
    (src / "tool.c").write_text(
        "#include <stdio.h>\nconst char *hello(void);\nint main(void) { puts(hello()); return 0; }\n"
    )
    _gcc(["-shared", "-fPIC", "-Wl,-soname,libhello.so.1", "-o", "libhello.so.1", "hello.c"], src)
    _gcc(["-o", "hello", "tool.c", "-L.", "-l:libhello.so.1", "-Wl,-rpath,$ORIGIN/../lib"], src)
    site = "site-packages/"
    tinyutil = dist_info("tinyutil", "0.3.0", "pip", {"tinyutil/__init__.py": b"VALUE = 42\n"}, root=site)
    home = os.path.dirname(BASE_PYTHON)
    return [
        Pkg(
            "libhello",
            "1.0.0",
            "h0a1b2c3_0",
            "linux-64",
            [
                Entry("lib/libhello.so.1", (src / "libhello.so.1").read_bytes(), 0o755),
                Entry("lib/libhello.so", link="libhello.so.1"),
            ],
        ),
        Pkg(
            "hello-tool",
            "1.0.0",
            "h4d5e6f7_1",
            "linux-64",
            [Entry("bin/hello", (src / "hello").read_bytes(), 0o755)],
            depends=["libhello >=1.0,<2"],
            fmt=".conda",
        ),
        Pkg(
            "python",
            PY_FULL,
            "envsnap_shim_0",
            "linux-64",
            [
                Entry(f"bin/python{PY_VER}", link=BASE_PYTHON),
                Entry("bin/python3", link=f"python{PY_VER}"),
                Entry("bin/python", link=f"python{PY_VER}"),
                Entry(
                    "pyvenv.cfg",
                    f"home = {home}\ninclude-system-site-packages = false\nversion = {PY_FULL}\n".encode(),
                ),
                Entry(f"lib/python{PY_VER}/site-packages/.keep", b""),
            ],
        ),
        Pkg(
            "tinyutil",
            "0.3.0",
            "pyhd8ed1ab_0",
            "noarch",
            [Entry(p, d) for p, d in tinyutil.items()],
            depends=["python >=3.8"],
            noarch="python",
        ),
    ]


@dataclass(frozen=True)
class CondaChannel:
    path: Path
    url: str
    archives: dict[str, Path]  # package name -> archive
    pip_wheel: Path  # the pip layer: pipdemo


@dataclass(frozen=True)
class CondaEnv:
    prefix: Path
    channel: CondaChannel

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"


def build_channel(root: Path) -> CondaChannel:
    import asyncio

    from rattler import index

    channel = root / "channel"
    archives = {pkg.name: write_package(pkg, channel) for pkg in build_packages(root)}
    (channel / "noarch").mkdir(exist_ok=True)
    asyncio.run(index.index_fs(channel, force=True))
    wheel = make_wheel(root / "wheels", "pipdemo", "1.2.0", {"pipdemo.py": b"def answer():\n    return 7\n"})
    return CondaChannel(channel, channel.as_uri(), archives, wheel)


def create_env(channel: CondaChannel, prefix: Path, cache: Path, *specs: str) -> Path:
    """Solve ``specs`` against the local channel and install them, all with py-rattler, offline."""
    import asyncio

    import rattler

    records = asyncio.run(
        rattler.solve(
            [channel.url],
            list(specs),
            platforms=["linux-64", "noarch"],
            gateway=rattler.Gateway(cache_dir=cache / "repodata"),
            virtual_packages=[],
        )
    )
    asyncio.run(rattler.install(records, prefix, cache_dir=cache / "pkgs", show_progress=False))
    return prefix


@pytest.fixture(scope="session")
def conda_channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CondaChannel]:
    yield build_channel(tmp_path_factory.mktemp("conda"))


@pytest.fixture(scope="session")
def conda_env(conda_channel: CondaChannel, tmp_path_factory: pytest.TempPathFactory) -> CondaEnv:
    """A conda environment from the local channel with ``pipdemo`` installed into it by pip."""
    root = tmp_path_factory.mktemp("condaenv")
    prefix = create_env(conda_channel, root / "env", root / "cache", "hello-tool", "tinyutil", "python")
    # The shim has no pip of its own: the test runner's pip installs into it (``pip --python``), so INSTALLER
    # says pip, as for any ``pip install`` inside a conda environment.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(prefix / "bin" / "python"),
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(conda_channel.pip_wheel.parent),
            "pipdemo",
        ],
        check=True,
        capture_output=True,
    )
    return CondaEnv(prefix, conda_channel)
