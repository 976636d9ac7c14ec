"""Framework builds from their files (no import) and, with --deep, from an import in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gpu_fakes import install_fake_torch, site_packages

from envsnap import lockfile
from envsnap._toml import tomllib
from envsnap.model import Framework
from envsnap.probes import frameworks
from envsnap.probes.interface import RawPackage

TORCH_VERSION_PY = """\
from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'xpu']
__version__ = '2.5.1+cu124'
debug = False
cuda: Optional[str] = '12.4'
git_version = 'a8d6afb511a69687bbb2b7e88a3cf67917e1697e'
hip: Optional[str] = None
xpu: Optional[str] = None
"""

# TensorFlow has written build_info.py in three shapes over the years.
TF_BUILD_INFO = {
    "subscripts": """\
import collections
build_info = {}
build_info['cuda_compute_capabilities'] = ['sm_60', 'sm_70', 'sm_80', 'sm_89', 'compute_90']
build_info['cuda_version'] = '12.3'
build_info['cudnn_version'] = '8'
build_info['is_cuda_build'] = True
build_info['is_rocm_build'] = False
build_info = collections.OrderedDict(build_info)
""",
    "ordered_dict": """\
import collections
build_info = collections.OrderedDict([('cuda_compute_capabilities', ['sm_60', 'sm_70', 'sm_80', 'sm_89', \
'compute_90']), ('cuda_version', '12.3'), ('cudnn_version', '8'), ('is_cuda_build', True)])
""",
    "dict": """\
build_info = {'cuda_compute_capabilities': ['sm_60', 'sm_70', 'sm_80', 'sm_89', 'compute_90'], \
'cuda_version': '12.3', 'cudnn_version': '8', 'is_cuda_build': True}
""",
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_torch_from_version_py(tmp_path: Path) -> None:
    _write(tmp_path / "torch" / "version.py", TORCH_VERSION_PY)
    found = frameworks.probe_frameworks([RawPackage(name="torch", version="2.5.1+cu124", site_dir=str(tmp_path))])
    assert found == {
        "torch": Framework(
            name="torch",
            version="2.5.1+cu124",
            cuda_version="12.4",
            git_version="a8d6afb511a69687bbb2b7e88a3cf67917e1697e",
        )
    }


def test_torch_rocm_build(tmp_path: Path) -> None:
    _write(
        tmp_path / "torch" / "version.py",
        "__version__ = '2.5.1+rocm6.2'\ncuda = None\nhip = '6.2.41133-dd7f95766'\ngit_version = 'x'\n",
    )
    fw = frameworks.probe_frameworks([RawPackage(name="torch", version="2.5.1+rocm6.2", site_dir=str(tmp_path))])
    assert (fw["torch"].cuda_version, fw["torch"].rocm_version) == ("", "6.2.41133-dd7f95766")


@pytest.mark.parametrize("shape", sorted(TF_BUILD_INFO))
def test_tensorflow_from_build_info(tmp_path: Path, shape: str) -> None:
    _write(tmp_path / "tensorflow" / "python" / "platform" / "build_info.py", TF_BUILD_INFO[shape])
    found = frameworks.probe_frameworks([RawPackage(name="tensorflow", version="2.16.1", site_dir=str(tmp_path))])
    assert found == {
        "tensorflow": Framework(
            name="tensorflow",
            version="2.16.1",
            cuda_version="12.3",
            cudnn_version="8",
            arch_list=("sm_60", "sm_70", "sm_80", "sm_89", "compute_90"),
        )
    }


def test_jax_and_jaxlib(tmp_path: Path) -> None:
    _write(tmp_path / "jaxlib" / "version.py", '_version = "0.4.35"\n__version__ = _version\n')
    packages = [
        RawPackage(name="jax", version="0.4.35", site_dir=str(tmp_path)),
        RawPackage(name="jaxlib", version="0.4.35", site_dir=str(tmp_path)),
        RawPackage(name="jax-cuda12-plugin", version="0.4.35", site_dir=str(tmp_path)),
    ]
    assert frameworks.probe_frameworks(packages) == {
        "jax": Framework(name="jax", version="0.4.35"),
        "jaxlib": Framework(name="jaxlib", version="0.4.35", cuda_version="12"),
    }


@pytest.mark.parametrize(
    ("version", "build"),
    [
        ("2.1.0+cu121", ("12.1", "")),
        ("2.4.0+cu118", ("11.8", "")),
        ("0.4.13+cuda12.cudnn89", ("12", "8.9")),
        ("2.4.0+cpu", ("", "")),
        ("2.4.0", ("", "")),
    ],
)
def test_local_label_build(version: str, build: tuple[str, str]) -> None:
    assert frameworks.local_label_build(version) == build


def test_unparseable_files_give_what_metadata_says(tmp_path: Path) -> None:
    _write(tmp_path / "torch" / "version.py", "this is not python (\n")
    fw = frameworks.probe_frameworks([RawPackage(name="torch", version="2.3.0+cu121", site_dir=str(tmp_path))])
    assert fw["torch"] == Framework(name="torch", version="2.3.0+cu121", cuda_version="12.1")


# --------------------------------------------------------------------------------------------- --deep


@pytest.fixture
def torch_venv(tmp_path: Path, make_venv: Callable[..., Path]) -> Path:
    """A venv with a pip-installed stand-in torch (the real one is gigabytes)."""
    python = make_venv(tmp_path / "venv")
    install_fake_torch(
        site_packages(python),
        version="2.4.0+cu121",
        cuda="12.1",
        cudnn_code=90100,
        arch="sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90",
    )
    return python


def test_deep_probe(torch_venv: Path) -> None:
    base = frameworks.probe_frameworks(
        [RawPackage(name="torch", version="2.4.0+cu121", site_dir=str(site_packages(torch_venv)))]
    )["torch"]
    deep, seconds = frameworks.deep_probe(base, str(torch_venv), timeout=60)
    assert deep == Framework(
        name="torch",
        version="2.4.0+cu121",
        cuda_version="12.1",
        cudnn_version="9.1.0",
        git_version="34c5a5e0a3bd2b8ab7ab1ee1ab4dc1d8d7d1e2d3",
        arch_list=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"),
        cuda_available=False,
        deep=True,
    )
    assert seconds > 0


def test_deep_import_that_hangs_is_bounded(torch_venv: Path) -> None:
    base = Framework(name="torch", version="2.4.0+cu121", cuda_version="12.1")
    env = {**os.environ, "FAKE_TORCH_IMPORT": "hang"}
    deep, _ = frameworks.deep_probe(base, str(torch_venv), timeout=1, environ=env)
    assert deep == Framework(
        name="torch",
        version="2.4.0+cu121",
        cuda_version="12.1",
        deep=True,
        error="import did not finish within 1 s",
    )


def test_deep_import_that_fails(torch_venv: Path) -> None:
    base = Framework(name="torch", version="2.4.0+cu121", cuda_version="12.1")
    env = {**os.environ, "FAKE_TORCH_IMPORT": "fail"}
    deep, _ = frameworks.deep_probe(base, str(torch_venv), timeout=60, environ=env)
    assert deep.error == "import failed: ImportError: libtorch_cuda.so: cannot open shared object file"
    assert deep.deep and deep.cuda_version == "12.1"


def _capture(
    venv: Path, tmp_path: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    lock = tmp_path / "out.lock"
    proc = subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "--python", str(venv), "-o", str(lock), *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    lockfile.load(lock)
    return tomllib.loads(lock.read_text()), proc


def test_capture_never_imports_without_deep(torch_venv: Path, tmp_path: Path) -> None:
    # The stand-in fails on import: a capture without --deep must not notice.
    data, proc = _capture(torch_venv, tmp_path, env={"FAKE_TORCH_IMPORT": "fail"})
    assert data["frameworks"] == {
        "torch": {
            "name": "torch",
            "version": "2.4.0+cu121",
            "cuda_version": "12.1",
            "git_version": "34c5a5e0a3bd2b8ab7ab1ee1ab4dc1d8d7d1e2d3",
        }
    }
    assert "--deep" not in proc.stderr


def test_capture_deep_reports_its_cost(torch_venv: Path, tmp_path: Path) -> None:
    data, proc = _capture(torch_venv, tmp_path, "--deep")
    assert data["frameworks"]["torch"] == {
        "name": "torch",
        "version": "2.4.0+cu121",
        "cuda_version": "12.1",
        "cudnn_version": "9.1.0",
        "git_version": "34c5a5e0a3bd2b8ab7ab1ee1ab4dc1d8d7d1e2d3",
        "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
        "cuda_available": False,
        "deep": True,
    }
    assert "--deep: imported torch in " in proc.stderr


def test_capture_deep_timeout_is_a_warning(torch_venv: Path, tmp_path: Path) -> None:
    data, _ = _capture(torch_venv, tmp_path, "--deep", "--deep-timeout", "1", env={"FAKE_TORCH_IMPORT": "hang"})
    assert data["frameworks"]["torch"]["error"] == "import did not finish within 1 s"
    assert "frameworks: torch: import did not finish within 1 s" in data["envsnap"]["warnings"]
    assert data["python"]["packages"], "the rest of the capture completed"
