"""CUDA library copies: version encodings, ctypes calls into compiled fakes, the real runtime wheels."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gpu_fakes import (
    build_fake_cublas,
    build_fake_cudnn,
    build_fake_nccl,
    install_fake_torch,
    nccl_code,
    requires_gcc,
    site_packages,
    write_cudnn_header,
    write_nccl_header,
)

from envsnap import lockfile
from envsnap._privacy import PathRedactor
from envsnap._toml import tomllib
from envsnap.probes import cuda
from envsnap.probes.interface import RawPackage

# ----------------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("component", "code", "version"),
    [
        ("runtime", 12040, "12.4"),
        ("runtime", 11080, "11.8"),
        ("runtime", 13000, "13.0"),
        # cuDNN <= 8: MAJOR*1000 + MINOR*100 + PATCH
        ("cudnn", 8907, "8.9.7"),
        ("cudnn", 8600, "8.6.0"),
        ("cudnn", 7605, "7.6.5"),
        # cuDNN >= 9: MAJOR*10000 + MINOR*100 + PATCH
        ("cudnn", 90100, "9.1.0"),
        ("cudnn", 91002, "9.10.2"),
        # NCCL >= 2.9: x10000; before: x1000
        ("nccl", 21803, "2.18.3"),
        ("nccl", 22703, "2.27.3"),
        ("nccl", 2804, "2.8.4"),
        ("cublas", [12, 4, 5], "12.4.5"),
    ],
)
def test_decode(component: str, code: Any, version: str) -> None:
    assert cuda.decode(component, code) == version


def test_parse_headers(tmp_path: Path) -> None:
    assert cuda.parse_header("cudnn", write_cudnn_header(tmp_path / "a", 9, 10, 2).read_text()) == "9.10.2"
    assert cuda.parse_header("nccl", write_nccl_header(tmp_path / "b", 2, 21, 5).read_text()) == "2.21.5"
    assert cuda.parse_header("runtime", "#define CUDART_VERSION  12080\n") == "12.8"
    assert (
        cuda.parse_header(
            "cublas",
            "#define CUBLAS_VER_MAJOR 12\n#define CUBLAS_VER_MINOR 8\n"
            "#define CUBLAS_VER_PATCH 4\n#define CUBLAS_VER_BUILD 1\n",
        )
        == "12.8.4"
    )
    assert cuda.parse_header("cudnn", "/* no version here */") == ""


def test_version_from_filename() -> None:
    assert cuda.version_from_filename("libcudart", "/usr/lib/x86_64-linux-gnu/libcudart.so.12.0.146") == "12.0.146"
    assert cuda.version_from_filename("libnccl", "/usr/lib/libnccl.so.2.18.3") == "2.18.3"
    assert cuda.version_from_filename("libcudart", "/usr/local/cuda/lib64/libcudart.so.12") == ""


# ------------------------------------------------------------------------- compiled fakes through ctypes


@requires_gcc
def test_ctypes_reads_fake_libraries(tmp_path: Path) -> None:
    libs = tmp_path / "lib"
    pairs = [
        ("cudnn", str(build_fake_cudnn(libs / "v8", 8907, "libcudnn.so.8"))),
        ("cudnn", str(build_fake_cudnn(libs / "v9", 91002, "libcudnn.so.9"))),
        ("nccl", str(build_fake_nccl(libs / "new", nccl_code(2, 18, 3)))),
        ("nccl", str(build_fake_nccl(libs / "old", nccl_code(2, 8, 4)))),
        ("cublas", str(build_fake_cublas(libs / "blas", (12, 4, 5)))),
        ("runtime", str(tmp_path / "missing" / "libcudart.so.12")),
    ]
    assert cuda.ctypes_versions(pairs) == {
        pairs[0][1]: "8.9.7",
        pairs[1][1]: "9.10.2",
        pairs[2][1]: "2.18.3",
        pairs[3][1]: "2.8.4",
        pairs[4][1]: "12.4.5",
    }


@requires_gcc
def test_system_copies_by_header_filename_and_ctypes(tmp_path: Path) -> None:
    """Libraries found through LD_LIBRARY_PATH, each versioned the cheapest way it allows."""
    root = tmp_path / "opt"
    # cuDNN 9 with its header beside it: the header answers, nothing is loaded.
    build_fake_cudnn(root / "cudnn" / "lib", 90100, "libcudnn.so.9")
    write_cudnn_header(root / "cudnn" / "include", 9, 1, 0)
    # NCCL named after its full version, as distributions install it.
    real = build_fake_nccl(root / "nccl" / "lib", 21803, "libnccl.so.2.18.3")
    (real.parent / "libnccl.so.2").symlink_to(real.name)
    # cuDNN 8 with nothing beside it: only ctypes can tell.
    build_fake_cudnn(root / "old" / "lib", 8907, "libcudnn.so.8")
    environ = {"LD_LIBRARY_PATH": ":".join(str(root / d / "lib") for d in ("cudnn", "nccl", "old"))}
    # A framework built for CUDA opens them by soname: the loader's copies are the ones it gets.
    table, warnings = cuda.probe_cuda(
        [],
        str(tmp_path / "env"),
        [str(tmp_path / "env")],
        {},
        PathRedactor(),
        environ=environ,
        framework_cuda="12.4",
    )
    assert warnings == []
    assert table is not None
    mine = [
        (c.component, c.version, c.source, c.location, c.method, c.selected)
        for c in table.copies
        if c.location.startswith(str(tmp_path))
    ]
    assert mine == [
        ("cudnn", "9.1.0", "system", str(root / "cudnn/lib/libcudnn.so.9"), "header", True),
        ("cudnn", "8.9.7", "system", str(root / "old/lib/libcudnn.so.8"), "ctypes", False),
        ("nccl", "2.18.3", "system", str(root / "nccl/lib/libnccl.so.2"), "filename", True),
    ]
    assert (table.cudnn_version, table.cudnn_source) == ("9.1.0", "system")
    assert (table.nccl_version, table.nccl_source) == ("2.18.3", "system")


def test_toolkit_version_json(tmp_path: Path) -> None:
    """A runfile/deb toolkit: version.json names the toolkit and each component; CUDA_HOME points at it."""
    home = tmp_path / "cuda-12.4"
    (home / "lib64").mkdir(parents=True)
    (home / "version.json").write_text(
        '{"cuda": {"name": "CUDA SDK", "version": "12.4.1"},'
        ' "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "12.4.127"},'
        ' "libcublas": {"name": "CUDA cuBLAS", "version": "12.4.5.8"}}'
    )
    (home / "lib64" / "libcudart.so.12").write_bytes(b"")
    (home / "lib64" / "libcublas.so.12").write_bytes(b"")
    table, _ = cuda.probe_cuda(
        [], str(tmp_path / "env"), [], {}, PathRedactor(home=str(tmp_path)), environ={"CUDA_HOME": str(home)}
    )
    assert table is not None
    assert (table.toolkit_version, table.toolkit_path) == ("12.4.1", "~/cuda-12.4")
    mine = [
        (c.component, c.version, c.source, c.location, c.method, c.selected)
        for c in table.copies
        if c.source == "cuda_home"
    ]
    # Outside the loader's path: recorded, never selected.
    assert mine == [
        ("runtime", "12.4.127", "cuda_home", "~/cuda-12.4/lib64/libcudart.so.12", "version_json", False),
        ("cublas", "12.4.5.8", "cuda_home", "~/cuda-12.4/lib64/libcublas.so.12", "version_json", False),
    ]


def test_conda_copies(tmp_path: Path) -> None:
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    for name in (
        "cudnn-9.1.0.70-cuda12_0.json",
        "nccl-2.21.5.1-h3a97aeb_0.json",
        "cuda-cudart-12.4.127-0.json",
        "libcublas-12.4.5.8-0.json",
        "python-3.11.9-hb806964_0.json",
    ):
        (meta / name).write_text("{}")
    found = {(f.component, f.version, f.location) for f in cuda.conda_copies(str(tmp_path))}
    assert found == {
        ("cudnn", "9.1.0.70", "cudnn"),
        ("nccl", "2.21.5.1", "nccl"),
        ("runtime", "12.4.127", "cuda-cudart"),
        ("cublas", "12.4.5.8", "libcublas"),
    }


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        # the cuda-runtime metapackage alone stands for the runtime ...
        (["cuda-runtime-12.4.1-0.json"], {("runtime", "12.4.1", "cuda-runtime")}),
        # ... but a package carrying libcudart itself is the precise version
        (["cuda-runtime-12.4.1-0.json", "cuda-cudart-12.4.127-0.json"], {("runtime", "12.4.127", "cuda-cudart")}),
        (["cudatoolkit-11.8.0-h6a678d5_0.json"], {("runtime", "11.8.0", "cudatoolkit")}),
    ],
)
def test_conda_runtime_packages(tmp_path: Path, records: list[str], expected: set[tuple[str, str, str]]) -> None:
    (tmp_path / "conda-meta").mkdir()
    for name in records:
        (tmp_path / "conda-meta" / name).write_text("{}")
    assert {(f.component, f.version, f.location) for f in cuda.conda_copies(str(tmp_path))} == expected


def test_selection_order() -> None:
    pip12 = cuda.Found("runtime", "12.9.79", "pip", "nvidia-cuda-runtime-cu12", "metadata")
    pip13 = cuda.Found("runtime", "13.0.96", "pip", "nvidia-cuda-runtime", "metadata")
    conda = cuda.Found("runtime", "12.4.127", "conda", "cuda-cudart", "metadata")
    system = cuda.Found("runtime", "13.0.96", "system", "/usr/local/cuda/lib64/libcudart.so.13", "metadata")
    home = cuda.Found("runtime", "12.1.105", "cuda_home", "/opt/cuda/lib64/libcudart.so.12", "version_json")
    # A pip-installed framework preloads the wheels, the one for its own CUDA major.
    assert cuda.select([system, pip13, pip12, conda], True, "12.1")["runtime"] is pip12
    assert cuda.select([system, pip12, pip13], True, "13.0")["runtime"] is pip13
    # No pip framework, but one built for CUDA that opens the runtime by soname: conda's copy (RPATH), then
    # the loader; never a toolkit outside its path.
    assert cuda.select([pip12, system, conda], False, "12.4")["runtime"] is conda
    assert cuda.select([pip12, system], False, "13.0")["runtime"] is system
    # Nothing built for CUDA and no binary that resolves to a copy: nothing is selected.
    assert cuda.select([pip12, system, conda], False) == {}
    assert cuda.select([home], True) == {}


# ----------------------------------------------------------------------------- the real runtime wheels


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory, make_venv: Callable[..., Path]) -> Path:
    """A venv with NVIDIA's real runtime wheels for CUDA 12 and 13 (pip layout and cu13 layout)."""
    where = tmp_path_factory.mktemp("runtime-venv") / "venv"
    try:
        return make_venv(where, "nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime>=13,<14")
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"the NVIDIA runtime wheels could not be installed from the package index: {exc}")


def _wheel_version(venv_python: Path, dist: str) -> str:
    site = site_packages(venv_python)
    prefix = dist.replace("-", "_") + "-"
    info = next(p for p in site.iterdir() if p.name.startswith(prefix) and p.name.endswith(".dist-info"))
    return info.name[len(prefix) : -len(".dist-info")]


def test_runtime_wheel_ctypes_agrees_with_metadata(runtime_venv: Path) -> None:
    site = site_packages(runtime_venv)
    lib12 = site / "nvidia" / "cuda_runtime" / "lib" / "libcudart.so.12"
    lib13 = site / "nvidia" / "cu13" / "lib" / "libcudart.so.13"
    answers = cuda.ctypes_versions([("runtime", str(lib12)), ("runtime", str(lib13))])
    for lib, dist in ((lib12, "nvidia-cuda-runtime-cu12"), (lib13, "nvidia-cuda-runtime")):
        metadata = _wheel_version(runtime_venv, dist)
        # cudaRuntimeGetVersion answers major.minor, without a driver or a GPU.
        assert answers[str(lib)] == ".".join(metadata.split(".")[:2]), (lib, metadata)


def _capture(venv_python: Path, tmp_path: Path, *extra: str) -> tuple[dict[str, Any], str]:
    lock = tmp_path / "envsnap.lock"
    proc = subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "--python", str(venv_python), "-o", str(lock), *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lockfile.load(lock)
    return tomllib.loads(lock.read_text()), proc.stderr


def test_runtime_wheels_in_a_capture(runtime_venv: Path, tmp_path: Path) -> None:
    v12 = _wheel_version(runtime_venv, "nvidia-cuda-runtime-cu12")
    v13 = _wheel_version(runtime_venv, "nvidia-cuda-runtime")
    data, _ = _capture(runtime_venv, tmp_path)
    pip = [c for c in data["cuda"]["copies"] if c["source"] == "pip"]
    assert pip == [
        {
            "component": "runtime",
            "version": v13,
            "source": "pip",
            "location": "nvidia-cuda-runtime",
            "method": "metadata",
        },
        {
            "component": "runtime",
            "version": v12,
            "source": "pip",
            "location": "nvidia-cuda-runtime-cu12",
            "method": "metadata",
        },
    ]
    # No framework preloads them: the loader's copy is what a dlopen would get.
    assert data["cuda"]["runtime_source"] != "pip"
    assert "frameworks" not in data or data["frameworks"] == {}


def test_pip_torch_selects_the_wheel_for_its_cuda(runtime_venv: Path, tmp_path: Path) -> None:
    site = site_packages(runtime_venv)
    install_fake_torch(site, version="2.4.0+cu121", cuda="12.1")
    try:
        data, stderr = _capture(runtime_venv, tmp_path, "--deep")
    finally:
        import shutil

        shutil.rmtree(site / "torch")
        shutil.rmtree(site / "torch-2.4.0+cu121.dist-info")
    v12 = _wheel_version(runtime_venv, "nvidia-cuda-runtime-cu12")
    assert (data["cuda"]["runtime_version"], data["cuda"]["runtime_source"]) == (v12, "pip")
    selected = [c["location"] for c in data["cuda"]["copies"] if c["component"] == "runtime" and c.get("selected")]
    assert selected == ["nvidia-cuda-runtime-cu12"]
    # --deep loaded every copy with ctypes: the metadata agreed, so no warning.
    assert not [w for w in data["envsnap"]["warnings"] if w.startswith("cuda")]
    assert "--deep: imported torch in" in stderr


# ------------------------------------------------------------------------------------ this very machine


def test_this_machine_toolkit() -> None:
    """/usr/local/cuda here is a real CUDA 13.0 toolkit whose libcudart is in the ld.so cache."""
    if not Path("/usr/local/cuda/lib/libcudart.so.13").exists():
        pytest.skip("no CUDA 13 toolkit at /usr/local/cuda on this machine")
    from envsnap.probes import hostlibs

    loader = hostlibs.Loader.for_host()
    table, warnings = cuda.probe_cuda([], "/nonexistent", [], loader.cache, PathRedactor(), environ={})
    assert warnings == []
    assert table is not None
    assert table.toolkit_path == "/usr/local/cuda"
    assert table.toolkit_version == "13.0"
    runtime = [c for c in table.copies if c.component == "runtime"]
    # Recorded as present; nothing here loads it, so it is not selected (tests/probes/test_cuda_selection.py).
    assert len(runtime) == 1 and not runtime[0].selected and runtime[0].source == "system"
    assert table.runtime_version == ""
    assert runtime[0].version.startswith("13.0.")
    assert runtime[0].location == os.path.realpath("/usr/local/cuda/lib/libcudart.so.13")


def test_soname_is_not_a_version() -> None:
    assert cuda.version_from_filename("libcudart", "/usr/lib/libcudart.so.11.0") == ""
    assert cuda.version_from_filename("libcudart", "/x/torch/lib/libcudart-9335f6a2.so.11.0") == ""
    assert cuda.version_from_filename("libcudnn", "/x/torch/lib/libcudnn-1a2b3c4d.so.8.5.0") == "8.5.0"


@requires_gcc
def test_copies_bundled_in_a_framework_wheel_come_first(tmp_path: Path) -> None:
    """Older torch wheels carry cuDNN themselves (auditwheel-renamed): torch loads that one."""
    lib = tmp_path / "site" / "torch" / "lib"
    bundled = build_fake_cudnn(lib, 8500, "libcudnn-1a2b3c4d.so.8")
    wheel = build_fake_cudnn(tmp_path / "site" / "nvidia" / "cudnn" / "lib", 90100, "libcudnn.so.9")
    packages = [
        RawPackage(name="torch", version="2.0.1", installer="pip", shared_objects=(str(bundled),)),
        RawPackage(name="nvidia-cudnn-cu12", version="9.1.0.70", installer="pip", shared_objects=(str(wheel),)),
    ]
    table, _ = cuda.probe_cuda(
        packages, str(tmp_path / "site"), [str(tmp_path / "site")], {}, PathRedactor(), environ={}
    )
    assert table is not None
    mine = [
        (c.component, c.version, c.source, c.location, c.method, c.selected)
        for c in table.copies
        if c.component == "cudnn"
    ]
    assert mine == [
        ("cudnn", "9.1.0.70", "pip", "nvidia-cudnn-cu12", "metadata", False),
        ("cudnn", "8.5.0", "pip", "torch", "ctypes", True),
    ]
    assert (table.cudnn_version, table.cudnn_source) == ("8.5.0", "pip")


def test_the_toolkit_version_from_cuda_h_wherever_the_header_defines_it(tmp_path: Path) -> None:
    # cuda.h's head is read first (CUDA_VERSION is defined in its first few hundred lines), the rest only where the
    # head has no such line: the same answer wherever the line is, a number cut by the head's end included.
    from envsnap.probes.cuda import _CUDA_H_HEAD, toolkit_version

    header = tmp_path / "include" / "cuda.h"
    header.parent.mkdir()
    define = "#define CUDA_VERSION 12040\n"
    for before in (0, 300, _CUDA_H_HEAD - len(define) + 3, _CUDA_H_HEAD - len(define) + 1, 3 * _CUDA_H_HEAD):
        header.write_text("/" * before + "\n" + define + "/* the rest */\n" * 1000)
        assert toolkit_version(str(tmp_path)) == "12.4", before
    header.write_text("/* no version */\n" * 10000)
    assert toolkit_version(str(tmp_path)) == ""
