"""CUDA selection by what loads: a copy is ``selected`` only when a binary of the environment resolves to it (or
a framework preloads it); a toolkit nothing loads is recorded, not selected, and the lock reads CPU-only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from condafixtures import make_wheel
from gpu_fakes import install_fake_torch, requires_gcc, site_packages

from envsnap import lockfile
from envsnap._privacy import PathRedactor
from envsnap.model import Snapshot
from envsnap.probes import cuda, hostlibs
from envsnap.probes.interface import RawPackage

REPO = Path(__file__).resolve().parents[2]
TOOLKIT_LIB = Path("/usr/local/cuda/lib64/libcudart.so.13")


def _gcc(*args: str | Path) -> None:
    subprocess.run(["gcc", "-shared", "-fPIC", *map(str, args)], check=True, capture_output=True)


def _empty_c(where: Path) -> Path:
    src = where / "empty.c"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text("int envsnap_test_symbol(void) { return 1; }\n")
    return src


def build_stub(path: Path, soname: str) -> Path:
    """A shared library whose soname is ``soname``: enough for the linker and for the loader's resolution."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _gcc("-o", path, f"-Wl,-soname,{soname}", _empty_c(path.parent / "src"))
    return path


def build_extension(out: Path, needed: Path, rpath: str | None, *, runpath: bool = False) -> Path:
    """An extension module with DT_NEEDED ``needed``'s soname, and an RPATH (or RUNPATH) when given."""
    out.parent.mkdir(parents=True, exist_ok=True)
    flags = [f"-Wl,-rpath,{rpath}", "-Wl,--enable-new-dtags" if runpath else "-Wl,--disable-new-dtags"] if rpath else []
    _gcc(
        "-o", out, _empty_c(out.parent / "src"), "-Wl,--no-as-needed", f"-L{needed.parent}", f"-l:{needed.name}", *flags
    )
    return out


def _toolkit(root: Path) -> Path:
    """A CUDA 13 toolkit layout: lib64/libcudart.so.13 and version.json."""
    lib = build_stub(root / "lib64" / "libcudart.so.13", "libcudart.so.13")
    (root / "version.json").write_text(
        json.dumps({"cuda": {"version": "13.0.2"}, "cuda_cudart": {"version": "13.0.96"}})
    )
    return lib


def _runtime(table: cuda.Cuda | None) -> list[tuple[str, str, bool]]:
    assert table is not None
    return [(c.version, c.source, c.selected) for c in table.copies if c.component == "runtime"]


@requires_gcc
@pytest.mark.parametrize("rpath", ["{toolkit}/lib64", "$ORIGIN/../../cuda-13/lib64", None])
def test_a_toolkit_is_selected_only_when_a_binary_resolves_to_it(tmp_path: Path, rpath: str | None) -> None:
    toolkit = tmp_path / "cuda-13"
    lib = _toolkit(toolkit)
    env = tmp_path / "env"
    ext = build_extension(env / "site" / "ext.so", lib, rpath.format(toolkit=toolkit) if rpath else None)
    # Without an RPATH the loader finds it through LD_LIBRARY_PATH, as the capture recorded it.
    loader = hostlibs.Loader({}, (str(toolkit / "lib64"),) if rpath is None else (), ())
    loaded = hostlibs.loaded_files([str(ext)], loader)
    assert os.path.realpath(lib) in loaded
    environ = {"CUDA_HOME": str(toolkit)}
    table, _ = cuda.probe_cuda([], str(env), [str(env)], {}, PathRedactor(), environ=environ, loaded=loaded)
    assert _runtime(table) == [("13.0.96", "cuda_home", True)]
    assert table is not None and (table.runtime_version, table.runtime_source) == ("13.0.96", "cuda_home")

    # Nothing loads it: present (with its version and the toolkit), not selected, no runtime.
    table, _ = cuda.probe_cuda([], str(env), [str(env)], {}, PathRedactor(), environ=environ, loaded=frozenset())
    assert _runtime(table) == [("13.0.96", "cuda_home", False)]
    assert table is not None and (table.runtime_version, table.runtime_source) == ("", "")
    assert table.toolkit_version == "13.0.2"


@requires_gcc
def test_a_library_in_the_loader_cache_is_selected_only_when_loaded(tmp_path: Path) -> None:
    lib = _toolkit(tmp_path / "cuda-13")
    cache = {"libcudart.so.13": [("libc6,x86-64", str(lib))]}
    home = {"CUDA_HOME": str(tmp_path / "cuda-13")}  # not this machine's /usr/local/cuda
    env = tmp_path / "env"
    ext = build_extension(env / "ext.so", lib, None)
    loaded = hostlibs.loaded_files([str(ext)], hostlibs.Loader(cache, (), ()))
    table, _ = cuda.probe_cuda([], str(env), [str(env)], cache, PathRedactor(), environ=home, loaded=loaded)
    assert _runtime(table) == [("13.0.96", "system", True)]
    # A CPU-only environment (torch +cpu: no CUDA build) beside the same cache: nothing selected.
    torch = [RawPackage(name="torch", version="2.4.0+cpu", installer="pip", shared_objects=())]
    table, _ = cuda.probe_cuda(torch, str(env), [str(env)], cache, PathRedactor(), environ=home, loaded=frozenset())
    assert _runtime(table) == [("13.0.96", "system", False)]
    # A framework built for CUDA 13 opens libcudart.so.13 by soname: the loader's copy.
    table, _ = cuda.probe_cuda(
        torch, str(env), [str(env)], cache, PathRedactor(), environ=home, loaded=frozenset(), framework_cuda="13.0"
    )
    assert _runtime(table) == [("13.0.96", "system", True)]
    # ... but not one for another CUDA major.
    table, _ = cuda.probe_cuda(
        torch, str(env), [str(env)], cache, PathRedactor(), environ=home, loaded=frozenset(), framework_cuda="12.1"
    )
    assert _runtime(table) == [("13.0.96", "system", False)]


def test_selection_needs_something_that_loads_the_copy() -> None:
    pip12 = cuda.Found("runtime", "12.9.79", "pip", "nvidia-cuda-runtime-cu12", "metadata", "/e/cu12/libcudart.so.12")
    system_copy = cuda.Found(
        "runtime",
        "13.0.96",
        "system",
        "/usr/local/cuda/lib64/libcudart.so.13",
        "metadata",
        "/usr/local/cuda/lib64/libcudart.so.13",
    )
    home = cuda.Found(
        "runtime",
        "12.1.105",
        "cuda_home",
        "/opt/cuda/lib64/libcudart.so.12",
        "version_json",
        "/opt/cuda/lib64/libcudart.so.12",
    )
    assert cuda.select([system_copy, pip12, home], False) == {}
    assert cuda.select([system_copy, pip12], True, "12.1")["runtime"] is pip12
    loaded = {os.path.realpath(home.path)}
    assert cuda.select([system_copy, pip12, home], False, loaded=loaded)["runtime"] is home


def _venv_capture(python: Path, tmp_path: Path) -> Snapshot:
    lock = tmp_path / "envsnap.lock"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH")
    }
    env["PYTHONPATH"] = str(REPO)
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "--python", str(python), "-o", str(lock)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    return lockfile.load(lock)


@requires_gcc
@pytest.mark.skipif(not TOOLKIT_LIB.exists(), reason="no CUDA 13 toolkit at /usr/local/cuda on this machine")
def test_cpu_only_torch_beside_the_real_toolkit(
    tmp_path: Path, make_venv: Callable[..., Path], cli: Callable[..., object]
) -> None:
    """This machine has a real CUDA 13.0 toolkit in /usr/local/cuda (and in the ld.so cache)."""
    python = make_venv(tmp_path / "venv")
    install_fake_torch(site_packages(python), version="2.4.0+cpu", cuda=None, cudnn_code=None)
    snap = _venv_capture(python, tmp_path)
    assert snap.cuda is not None and snap.cuda.toolkit_version.startswith("13.")
    assert [c for c in snap.cuda.copies if c.component == "runtime"], "the toolkit's copy is recorded"
    assert not [c for c in snap.cuda.copies if c.selected]
    assert (snap.cuda.runtime_version, snap.cuda.runtime_source) == ("", "")
    lock = tmp_path / "envsnap.lock"
    res = cli("show", lock)
    assert "CPU-only" in res.out and "runtime 13" not in res.out  # type: ignore[attr-defined]
    res = cli("export", lock, "--format", "markdown", "-o", tmp_path / "appendix.md")
    text = (tmp_path / "appendix.md").read_text()
    assert "CPU-only" in text and "CUDA runtime" not in text and "13.0." not in text
    res = cli("verify", lock, "--python", python)
    assert res.code == 0 and "runtime_version" not in res.out and "cuda" not in res.out.lower(), res

    # A compiled extension that links libcudart.so.13 through an RPATH to /usr/local/cuda/lib64: selected.
    stub = build_stub(tmp_path / "stub" / "libcudart.so.13", "libcudart.so.13")
    ext = build_extension(tmp_path / "build" / "_ext.so", stub, "/usr/local/cuda/lib64")
    wheel = make_wheel(
        tmp_path / "wheels", "cudaext", "1.0", {"cudaext/_ext.so": ext.read_bytes(), "cudaext/__init__.py": b""}
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    (tmp_path / "envsnap.lock").unlink()
    snap = _venv_capture(python, tmp_path)
    assert snap.cuda is not None
    selected = [c for c in snap.cuda.copies if c.selected]
    assert [(c.component, c.source) for c in selected] == [("runtime", "system")]
    assert snap.cuda.runtime_version.startswith("13.0.") and snap.cuda.runtime_source == "system"
