"""Compile-once fakes of the NVIDIA stack, for any test area that needs a driver or CUDA libraries.

The fakes are real shared libraries built with gcc from ``tests/fixtures/*.c``: the code under test loads
them exactly as it would load NVIDIA's (pynvml through ``LD_LIBRARY_PATH``, ctypes by path). Each variant is
compiled once per test session into a cache directory and copied where a test wants it.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NVML_CONFIG = "fake_nvml.conf"
_cache_dir: Path | None = None


def have_gcc() -> bool:
    return shutil.which("gcc") is not None


requires_gcc = pytest.mark.skipif(not have_gcc(), reason="gcc is needed to compile the fake NVIDIA libraries")


def _compile(source: str, defines: Sequence[str]) -> Path:
    """The shared library built from ``fixtures/<source>`` with ``defines``, cached by content."""
    global _cache_dir
    if _cache_dir is None:
        _cache_dir = Path(tempfile.mkdtemp(prefix="envsnap-gpu-fakes-"))
        atexit.register(shutil.rmtree, _cache_dir, True)  # built once per test run, and not left in /tmp after it
    src = FIXTURES / source
    key = hashlib.sha256(src.read_bytes() + "\0".join(defines).encode()).hexdigest()[:16]
    out = _cache_dir / f"{key}.so"
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        subprocess.run(
            ["gcc", "-shared", "-fPIC", "-O1", *[f"-D{d}" for d in defines], "-o", str(tmp), str(src)],
            check=True,
        )
        tmp.rename(out)
    return out


@dataclass(frozen=True)
class FakeGpu:
    name: str
    capability: tuple[int, int]
    memory_bytes: int
    uuid: str = ""
    serial: str = "-"  # "-": NVML answers NOT_SUPPORTED, as it does for GeForce cards
    name_error: int = 0  # an NVML error code nvmlDeviceGetName returns instead of the name
    mig: tuple[str, ...] = ()  # the UUIDs of its MIG devices (MIG mode is enabled when there are any)


@dataclass(frozen=True)
class FakeNvml:
    driver: str = "550.54.14"
    cuda: int = 12040
    gpus: tuple[FakeGpu, ...] = ()
    init_error: int = 0
    hang: bool = False
    old: bool = False  # an old driver: no nvmlSystemGetCudaDriverVersion_v2, no compute capability
    extra: Mapping[str, str] = field(default_factory=dict)

    def render(self) -> str:
        lines = [
            f"driver={self.driver}",
            f"cuda={self.cuda}",
            f"init_error={self.init_error}",
            f"hang={int(self.hang)}",
        ]
        for g in self.gpus:
            fields = (
                g.name,
                g.capability[0],
                g.capability[1],
                g.memory_bytes,
                g.uuid,
                g.serial,
                g.name_error,
                ",".join(g.mig),
            )
            lines.append("gpu=" + "|".join(str(f) for f in fields))
        return "\n".join(lines) + "\n"


def build_fake_nvml(directory: Path, config: FakeNvml) -> Path:
    """A folder holding ``libnvidia-ml.so.1`` and its configuration; point ``nvml_environ`` at it."""
    libdir = Path(directory) / "fake-nvml"
    libdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(_compile("fake_nvml.c", ["FAKE_NVML_OLD"] if config.old else []), libdir / "libnvidia-ml.so.1")
    (libdir / NVML_CONFIG).write_text(config.render())
    return libdir


def nvml_environ(libdir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment in which pynvml loads the fake NVML of ``libdir``."""
    env = dict(os.environ if base is None else base)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(libdir), env.get("LD_LIBRARY_PATH", "")) if p)
    env["FAKE_NVML_CONFIG"] = str(Path(libdir) / NVML_CONFIG)
    return env


def build_fake_cudnn(libdir: Path, code: int, soname: str) -> Path:
    """``libdir/soname`` exporting ``cudnnGetVersion() -> code`` (8907 = 8.9.7, 90100 = 9.1.0)."""
    return _place(_compile("fake_cudalibs.c", [f"CUDNN_CODE={code}"]), Path(libdir) / soname)


def build_fake_nccl(libdir: Path, code: int, soname: str = "libnccl.so.2") -> Path:
    """``libdir/soname`` exporting ``ncclGetVersion(int*)`` answering ``code`` (21803 = 2.18.3)."""
    return _place(_compile("fake_cudalibs.c", [f"NCCL_CODE={code}"]), Path(libdir) / soname)


def build_fake_cublas(libdir: Path, version: tuple[int, int, int], soname: str = "libcublas.so.12") -> Path:
    major, minor, patch = version
    defines = [f"CUBLAS_MAJOR={major}", f"CUBLAS_MINOR={minor}", f"CUBLAS_PATCH={patch}"]
    return _place(_compile("fake_cudalibs.c", defines), Path(libdir) / soname)


def write_cudnn_header(include: Path, major: int, minor: int, patch: int) -> Path:
    """``cudnn_version.h`` as cuDNN >= 8 ships it."""
    include.mkdir(parents=True, exist_ok=True)
    path = include / "cudnn_version.h"
    path.write_text(
        "#ifndef CUDNN_VERSION_H_\n#define CUDNN_VERSION_H_\n\n"
        f"#define CUDNN_MAJOR {major}\n#define CUDNN_MINOR {minor}\n#define CUDNN_PATCHLEVEL {patch}\n\n"
        "#define CUDNN_VERSION (CUDNN_MAJOR * 10000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)\n\n#endif\n"
    )
    return path


def write_nccl_header(include: Path, major: int, minor: int, patch: int, suffix: str = "") -> Path:
    include.mkdir(parents=True, exist_ok=True)
    path = include / "nccl.h"
    path.write_text(
        "#ifndef NCCL_H_\n#define NCCL_H_\n\n"
        f"#define NCCL_MAJOR {major}\n#define NCCL_MINOR {minor}\n#define NCCL_PATCH {patch}\n"
        f'#define NCCL_SUFFIX "{suffix}"\n\n'
        f"#define NCCL_VERSION_CODE {nccl_code(major, minor, patch)}\n#endif\n"
    )
    return path


def nccl_code(major: int, minor: int, patch: int) -> int:
    """NCCL's NCCL_VERSION() macro: the x10000 scheme from 2.9 on, x1000 before."""
    if major > 2 or (major == 2 and minor >= 9):
        return major * 10000 + minor * 100 + patch
    return major * 1000 + minor * 100 + patch


def _place(built: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(built, target)
    return target


# ------------------------------------------------------------------------------------ a stand-in framework

_FAKE_TORCH_INIT = '''\
"""A stand-in for torch with the attributes envsnap's --deep import reads; nothing else."""
import os as _os
import time as _time
from types import SimpleNamespace as _NS

from . import version

if _os.environ.get("FAKE_TORCH_IMPORT") == "hang":
    _time.sleep(3600)
if _os.environ.get("FAKE_TORCH_IMPORT") == "fail":
    raise ImportError("libtorch_cuda.so: cannot open shared object file")

__version__ = version.__version__
_C = _NS(_cuda_getArchFlags=lambda: {arch!r})
cuda = _NS(is_available=lambda: {available!r}, get_arch_list=lambda: [])
backends = _NS(cudnn=_NS(is_available=lambda: {cudnn!r} is not None, version=lambda: {cudnn!r}))
'''


def install_fake_torch(
    site_packages: Path,
    *,
    version: str = "2.4.0+cu121",
    cuda: str | None = "12.1",
    hip: str | None = None,
    cudnn_code: int | None = 90100,
    arch: str = "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90",
    available: bool = False,
    installer: str = "pip",
) -> None:
    """A pip-installed ``torch``: version.py as torch's build writes it, and an importable stub."""
    pkg = Path(site_packages) / "torch"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "version.py").write_text(
        "from typing import Optional\n\n"
        "__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']\n"
        f"__version__ = {version!r}\ndebug = False\ncuda: Optional[str] = {cuda!r}\n"
        "git_version = '34c5a5e0a3bd2b8ab7ab1ee1ab4dc1d8d7d1e2d3'\n"
        f"hip: Optional[str] = {hip!r}\nxpu: Optional[str] = None\n"
    )
    (pkg / "__init__.py").write_text(_FAKE_TORCH_INIT.format(arch=arch, available=available, cudnn=cudnn_code))
    info = Path(site_packages) / f"torch-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n\n")
    (info / "INSTALLER").write_text(installer + "\n")
    (info / "RECORD").write_text(f"torch/__init__.py,,\ntorch/version.py,,\ntorch-{version}.dist-info/METADATA,,\n")


def site_packages(venv_python: Path) -> Path:
    """The site-packages folder of a venv, given its interpreter."""
    found = sorted(Path(venv_python).parent.parent.glob("lib/python3*/site-packages"))
    assert found, f"no site-packages under {venv_python}"
    return found[0]
