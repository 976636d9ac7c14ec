"""A real CUDA extension for the kernel tests: ``fixtures/cuda_kernel.cu`` built by nvcc into a shared object whose
fat binary carries an ``sm_80`` cubin and ``compute_90`` PTX (built once per test run)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_NVCC_AT = "/usr/local/cuda/bin/nvcc"
_built: dict[tuple[str, ...], Path] = {}


def nvcc() -> str | None:
    found = shutil.which("nvcc")
    return found or (_NVCC_AT if os.access(_NVCC_AT, os.X_OK) else None)


requires_nvcc = pytest.mark.skipif(nvcc() is None, reason="nvcc (the CUDA toolkit) is needed to build a CUDA kernel")

SM80_COMPUTE90 = ("-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=compute_90")


def cuda_extension(gencode: tuple[str, ...] = SM80_COMPUTE90) -> Path:
    """The shared object nvcc builds from ``fixtures/cuda_kernel.cu`` with ``gencode``."""
    if gencode not in _built:
        folder = Path(tempfile.mkdtemp(prefix="envsnap-cuda-"))
        atexit.register(shutil.rmtree, folder, True)
        out = folder / "libkernel.so"
        compiler = nvcc()
        assert compiler is not None
        subprocess.run(
            [compiler, "-shared", "-Xcompiler", "-fPIC", *gencode, "-o", str(out), str(FIXTURES / "cuda_kernel.cu")],
            check=True,
            capture_output=True,
            timeout=300,
        )
        _built[gencode] = out
    return _built[gencode]
