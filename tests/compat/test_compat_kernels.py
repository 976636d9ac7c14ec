"""The CUDA kernels of any distribution, not torch's alone: a CUDA extension nvcc builds (an ``sm_80`` cubin,
``compute_90`` PTX) installed in a venv, captured with ``envsnap capture``, and checked with ``envsnap check`` on
GPUs of the fake NVML (the real pynvml loading ``tests/gpu_fakes.py``'s ``libnvidia-ml.so.1``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import gpu_fakes
import pytest
from cuda_fixtures import (
    SM80_COMPUTE90,
    cubin_header,
    cuda_extension,
    embedded_cubins_library,
    fatbin_library,
    fatbins_in_rodata,
    nvcc,
)

from envsnap import lockfile
from envsnap.compat.data import load
from envsnap.probes import fatbin

pytestmark = [gpu_fakes.requires_gcc]

GIB = 1024**3
A100 = gpu_fakes.FakeGpu("NVIDIA A100-SXM4-80GB", (8, 0), 80 * GIB)
A6000 = gpu_fakes.FakeGpu("NVIDIA RTX A6000", (8, 6), 48 * GIB)
H100 = gpu_fakes.FakeGpu("NVIDIA H100 80GB HBM3", (9, 0), 80 * GIB)
T4 = gpu_fakes.FakeGpu("Tesla T4", (7, 5), 15 * GIB)
ORIN = gpu_fakes.FakeGpu("Orin (nvgpu)", (8, 7), 30 * GIB)
RECORDED = 'cuda_kernels = [\n    "sm_80",\n    "compute_90",\n]\n'


def _envsnap(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _captured(root: Path, name: str, library: Path) -> tuple[Path, str]:
    """``envsnap capture`` of a venv holding ``NAME 1.0``, whose extension module is ``library``: the lock, and what
    the capture said on stderr."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / name).mkdir()
    (site / name / "__init__.py").write_text("")
    shutil.copy(library, site / name / "_kernels.cpython-311-x86_64-linux-gnu.so")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text(
        f"{name}/__init__.py,,\n{name}/_kernels.cpython-311-x86_64-linux-gnu.so,,\n"
        f"{name}-1.0.dist-info/METADATA,,\n{name}-1.0.dist-info/INSTALLER,,\n{name}-1.0.dist-info/RECORD,,\n"
    )
    lock = root / "envsnap.lock"
    done = _envsnap("capture", "--python", str(venv / "bin" / "python"), "-o", str(lock), "--no-cache", cwd=root)
    assert done.returncode == 0, done.stderr
    return lock, done.stderr


@pytest.fixture(scope="module")
def kernel_lock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``envsnap capture`` of a venv holding ``kext 1.0``, whose extension module is the nvcc-built one."""
    if nvcc() is None:
        pytest.skip("nvcc (the CUDA toolkit) is needed to build a CUDA kernel")
    return _captured(tmp_path_factory.mktemp("kernels"), "kext", cuda_extension())[0]


def _check(
    tmp_path: Path, lock: Path, *gpus: gpu_fakes.FakeGpu, driver: tuple[str, int] = ("580.65.06", 13000)
) -> tuple[int, list[tuple[str, str, str]]]:
    nvml = gpu_fakes.FakeNvml(driver=driver[0], cuda=driver[1], gpus=gpus)
    env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    done = _envsnap("check", str(lock), "--json", env=env, cwd=tmp_path)
    assert done.returncode in (0, 1, 3), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    rows = [(f["severity"], f["found"], f["remedy"]) for f in report["findings"] if f["rule"] == "gpu-arch"]
    return done.returncode, rows


def test_capture_records_the_kernels_of_a_cuda_extension(kernel_lock: Path) -> None:
    """A wheel with CUDA kernels other than torch (cupy, flash-attn, a project's extension): the lock recorded
    nothing of its kernels, so check could not tell a GPU it has none for."""
    [kext] = [p for p in lockfile.load(kernel_lock).python.packages if p.name == "kext"]
    assert kext.cuda_kernels == ("sm_80", "compute_90")
    assert RECORDED in kernel_lock.read_text()


def test_check_judges_each_gpu_by_the_captured_kernels(tmp_path: Path, kernel_lock: Path) -> None:
    """sm_80 runs on 8.0 and 8.6 (same major, minor at or below); 9.0 has only PTX to JIT-compile; 7.5 has neither
    ("no kernel image is available for execution on the device" at run time); an Orin's 8.7 (Tegra) runs no other
    capability's cubin."""
    code, rows = _check(tmp_path, kernel_lock, A100, A6000)
    assert code == 0
    assert rows == [
        ("ok", "NVIDIA A100-SXM4-80GB (sm_80)", ""),
        ("ok", "NVIDIA RTX A6000 (sm_86)", ""),
    ]
    code, rows = _check(tmp_path, kernel_lock, H100)
    assert code == 0
    assert rows == [
        (
            "warn",
            "NVIDIA H100 80GB HBM3 (sm_90): PTX JIT only, from compute_90 (no cubin runs on sm_90)",
            "expect a slow first start while the driver JIT-compiles the PTX; a build of kext with sm_90 kernels "
            "avoids it",
        )
    ]
    code, rows = _check(tmp_path, kernel_lock, T4)
    assert code == 3
    assert rows == [
        (
            "fail",
            "Tesla T4 (sm_75): no kernel image",
            "install a build of kext with sm_75 kernels (or PTX of an architecture at or below it)",
        )
    ]
    code, rows = _check(tmp_path, kernel_lock, ORIN)
    assert code == 3
    assert rows == [
        (
            "fail",
            "Orin (nvgpu) (sm_87): no kernel image",
            "install a build of kext for the board's JetPack release with sm_87 kernels (or PTX of an architecture "
            "at or below it)",
        )
    ]


@pytest.mark.parametrize("bad", ['["sm_80; rm -rf /"]', '"sm_80"', '[""]', "[80]"])
def test_a_lock_with_bad_kernels_is_refused_in_one_line(tmp_path: Path, kernel_lock: Path, bad: str) -> None:
    text = kernel_lock.read_text().replace(RECORDED, f"cuda_kernels = {bad}\n")
    path = tmp_path / "bad.lock"
    path.write_text(text)
    done = _envsnap("check", str(path), env=dict(os.environ), cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "cuda_kernels" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_kernels_read_in_part_never_fail_a_gpu(tmp_path: Path) -> None:
    """A library of more fat binary headers than a file is read for (its sm_75 cubin after them): the lock recorded
    the list read as if it were whole, and check failed a T4 with "no kernel image" for a kernel the library has."""
    many = [[(2, 80)] * 255] * (fatbin.MAX_ENTRIES // 256) + [[(2, 75)]]
    library = fatbin_library(tmp_path / "libmany.so", many)
    (tmp_path / "capture").mkdir()
    lock, said = _captured(tmp_path / "capture", "bigk", library)
    [bigk] = [p for p in lockfile.load(lock).python.packages if p.name == "bigk"]
    assert (bigk.cuda_kernels, bigk.cuda_kernels_partial) == (("sm_80",), True)
    assert "cuda_kernels_partial = true" in lock.read_text()
    assert "kernels: the CUDA kernel headers of bigk were read only in part" in said
    code, rows = _check(tmp_path, lock, T4)
    assert code == 0
    assert rows == [
        (
            "warn",
            "Tesla T4 (sm_75): no sm_75 kernel among those read",
            "cannot verify: the capture read the kernel headers of its shared objects in part",
        )
    ]
    assert _check(tmp_path, lock, A100) == (0, [("ok", "NVIDIA A100-SXM4-80GB (sm_80)", "")])


def test_ptx_of_a_newer_cuda_than_the_driver_fails_where_only_ptx_serves(tmp_path: Path) -> None:
    """A wheel whose only kernel for an H100 is PTX of ISA 8.8 (CUDA 12.9), on a driver of CUDA 12.8: the driver's JIT
    compiler does not read it (CUDA_ERROR_UNSUPPORTED_PTX_VERSION), as torch's rule says of its build, and the
    check warned of a slow first start only. (R570 is past its end of life: no cuda-compat is offered.)"""
    library = fatbin_library(tmp_path / "libptx.so", [[(2, 80), (1, 90)]], ptx_isa=(8, 8))
    (tmp_path / "capture").mkdir()
    lock, _ = _captured(tmp_path / "capture", "pext", library)
    [pext] = [p for p in lockfile.load(lock).python.packages if p.name == "pext"]
    assert (pext.cuda_kernels, pext.cuda_ptx_isa) == (("sm_80", "compute_90"), "8.8")
    code, rows = _check(tmp_path, lock, H100, driver=("570.124.06", 12080))
    assert code == 3
    assert rows == [
        (
            "fail",
            "NVIDIA H100 80GB HBM3 (sm_90): PTX JIT only, from compute_90, and driver 570.124.06 (supports CUDA 12.8) "
            "cannot JIT-compile its PTX (ISA 8.8, CUDA 12.9)",
            "install NVIDIA driver >= 575.51.03 (minor-version compatibility runs no PTX of a newer CUDA release than "
            "the driver's), or a build of pext with sm_90 kernels",
        )
    ]
    code, rows = _check(tmp_path, lock, H100, driver=("575.51.03", 12090))
    assert code == 0 and rows[0][0] == "warn"
    for bad in ('"8.8; rm"', '"88"', "8.8"):
        path = tmp_path / "bad.lock"
        path.write_text(lock.read_text().replace('cuda_ptx_isa = "8.8"', f"cuda_ptx_isa = {bad}"))
        done = _envsnap("check", str(path), env=dict(os.environ), cwd=tmp_path)
        assert done.returncode == 2 and "cuda_ptx_isa" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_list_read_in_part_that_check_does_not_judge_is_recorded_without_a_warning(tmp_path: Path) -> None:
    """cuFFT keeps its fat binaries in ``.ldata`` (its list is partial), and NVIDIA's CUDA library wheels are judged
    by their CUDA, not their kernels: every capture of a CUDA torch warned of it, a warning no verdict rests on."""
    library = fatbin_library(tmp_path / "libcufft.so.12", [[(2, 52)]], large_data=True)
    (tmp_path / "capture").mkdir()
    lock, said = _captured(tmp_path / "capture", "nvidia-cufft", library)
    [cufft] = [p for p in lockfile.load(lock).python.packages if p.name == "nvidia-cufft"]
    assert (cufft.cuda_kernels, cufft.cuda_kernels_partial) == (("sm_52",), True)  # recorded as it is
    assert "kernels:" not in said, said


def _verify(
    tmp_path: Path, lock: Path, *gpus: gpu_fakes.FakeGpu, old: bool = False, visible: str | None = None
) -> tuple[int, list[tuple[str, str, str, str, str]]]:
    """``envsnap verify`` of the captured venv beside ``lock`` on GPUs of the fake NVML: its exit code and its
    differences about kernels, (severity, subject, expected, actual, note)."""
    nvml = gpu_fakes.FakeNvml(driver="580.65.06", cuda=13000, gpus=gpus, old=old)
    env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    if visible is not None:  # numbered as NVML numbers them
        env.update(CUDA_VISIBLE_DEVICES=visible, CUDA_DEVICE_ORDER="PCI_BUS_ID")
    python = str(lock.parent / "venv" / "bin" / "python")
    done = _envsnap("verify", str(lock), "--python", python, "--json", "--no-cache", env=env, cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    rows = [
        (d["severity"], d["subject"], d["expected"], d["actual"], d["note"])
        for d in report["differences"]
        if d["what"] == "kernels"
    ]
    return done.returncode, rows


def test_verify_judges_the_installed_kernels_on_this_hosts_gpus(tmp_path: Path, kernel_lock: Path) -> None:
    """verify compared the GPU models as info and nothing more: an environment whose kext has no kernel for this
    host's T4 verified identical, without a word, where check fails it. The same rule as check's, told as verify
    tells a host's problems: a warning (no kernel image), info (PTX JIT only); nothing where every GPU has a cubin,
    where there is no GPU, or where a GPU's capability is not known."""
    assert _verify(tmp_path, kernel_lock, A100, A6000) == (0, [])
    code, rows = _verify(tmp_path, kernel_lock, T4)
    assert code == 0  # the Python layer is the lock's: a warning, which --strict turns into exit 1
    assert rows == [
        (
            "warning",
            "kext",
            "sm_80, compute_90",
            "GPU 0 Tesla T4 (sm_75): no kernel image",
            "install a build of kext with sm_75 kernels (or PTX of an architecture at or below it)",
        )
    ]
    assert _verify(tmp_path, kernel_lock, H100)[1] == [
        (
            "info",
            "kext",
            "sm_80, compute_90",
            "GPU 0 NVIDIA H100 80GB HBM3 (sm_90): PTX JIT only, from compute_90 (no cubin runs on sm_90)",
            "expect a slow first start while the driver JIT-compiles the PTX; a build of kext with sm_90 kernels "
            "avoids it",
        )
    ]
    # CUDA_VISIBLE_DEVICES=1 leaves CUDA the A100 alone: the T4 beside it runs nothing of the environment.
    assert _verify(tmp_path, kernel_lock, T4, A100, visible="1") == (0, [])
    assert _verify(tmp_path, kernel_lock) == (0, [])
    assert _verify(tmp_path, kernel_lock, T4, old=True) == (0, [])
    python = str(kernel_lock.parent / "venv" / "bin" / "python")
    nvml = gpu_fakes.FakeNvml(driver="580.65.06", cuda=13000, gpus=(T4,))
    env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    done = _envsnap("verify", str(kernel_lock), "--python", python, "--strict", env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert (
        "gpu: kext: kernels sm_80, compute_90 -> GPU 0 Tesla T4 (sm_75): no kernel image (install a build of kext "
        "with sm_75 kernels (or PTX of an architecture at or below it))" in done.stdout
    )


def test_verify_never_warns_of_kernels_read_in_part(tmp_path: Path) -> None:
    """A list read in part may lack the GPU's cubin: verify says it cannot tell (info), as check warns."""
    many = [[(2, 80)] * 255] * (fatbin.MAX_ENTRIES // 256) + [[(2, 75)]]
    (tmp_path / "capture").mkdir()
    lock, _ = _captured(tmp_path / "capture", "bigk", fatbin_library(tmp_path / "libmany.so", many))
    assert _verify(tmp_path, lock, T4)[1] == [
        (
            "info",
            "bigk",
            "sm_80, ... (read in part)",
            "GPU 0 Tesla T4 (sm_75): no sm_75 kernel among those read",
            "cannot verify: the capture read the kernel headers of its shared objects in part",
        )
    ]


def test_kernels_outside_a_fat_binary_section_are_judged(tmp_path: Path) -> None:
    """A library whose fat binaries a linker script put into ``.rodata``, and one that links the CUDA runtime with
    its section headers stripped: both recorded no kernels, and check judged neither. The first is read where nvcc
    registers its fat binaries; the second is recorded as read in part, which warns and never fails."""
    if nvcc() is None:
        pytest.skip("nvcc (the CUDA toolkit) is needed to build a CUDA kernel")
    (tmp_path / "rodata").mkdir()
    lock, _ = _captured(tmp_path / "rodata", "rext", cuda_extension((*SM80_COMPUTE90, *fatbins_in_rodata())))
    [rext] = [p for p in lockfile.load(lock).python.packages if p.name == "rext"]
    assert (rext.cuda_kernels, rext.cuda_kernels_partial) == (("sm_80", "compute_90"), False)
    assert _check(tmp_path, lock, T4) == (
        3,
        [
            (
                "fail",
                "Tesla T4 (sm_75): no kernel image",
                "install a build of rext with sm_75 kernels (or PTX of an architecture at or below it)",
            )
        ],
    )
    data = bytearray(cuda_extension((*SM80_COMPUTE90, "-cudart=shared")).read_bytes())
    data[40:48] = bytes(8)  # e_shoff: no section header table, as llvm-objcopy --strip-sections leaves it
    (tmp_path / "libstripped.so").write_bytes(data)
    (tmp_path / "stripped").mkdir()
    lock, said = _captured(tmp_path / "stripped", "sext", tmp_path / "libstripped.so")
    [sext] = [p for p in lockfile.load(lock).python.packages if p.name == "sext"]
    assert (sext.cuda_kernels, sext.cuda_kernels_partial) == ((), True)
    assert "kernels: the CUDA kernel headers of sext were read only in part" in said
    code, rows = _check(tmp_path, lock, T4)
    assert code == 0 and not [row for row in rows if row[0] == "fail"]
    assert (
        "warn",
        "Tesla T4 (sm_75): no sm_75 kernel among those read",
        "cannot verify: the capture read the kernel headers of its shared objects in part",
    ) in rows


V100 = gpu_fakes.FakeGpu("Tesla V100-SXM2-32GB", (7, 0), 32 * GIB)


def _torch_captured(root: Path, version: str, cuda: str, arch: str = "", deep: bool = False) -> Path:
    """``envsnap capture`` (with ``--deep``, which records the build's arch list) of a venv holding a stand-in torch
    ``version`` built for CUDA ``cuda`` with the kernels ``arch``: the lock."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    gpu_fakes.install_fake_torch(
        gpu_fakes.site_packages(venv / "bin" / "python"), version=version, cuda=cuda, arch=arch
    )
    lock = root / "envsnap.lock"
    python = str(venv / "bin" / "python")
    done = _envsnap(
        "capture", "--python", python, "-o", str(lock), "--no-cache", *(["--deep"] if deep else []), cwd=root
    )
    assert done.returncode == 0, done.stderr
    return lock


def test_verify_judges_the_torch_build_on_this_hosts_gpus(tmp_path: Path) -> None:
    """verify judged every distribution's kernels but torch's, which check judges by its captured arch list or its
    release set: a torch with no kernel for this host's GPU verified identical without a word. The same judgement
    as check's, told as verify tells the other distributions' kernels: no kernel image a warning, PTX JIT only info."""
    (tmp_path / "deep").mkdir()
    lock = _torch_captured(tmp_path / "deep", "2.4.0+cu121", "12.1", "sm_80 compute_80", deep=True)
    assert _verify(tmp_path, lock, A100, A6000) == (0, [])
    assert _verify(tmp_path, lock, T4) == (
        0,
        [
            (
                "warning",
                "torch",
                "sm_80, compute_80 (captured)",
                "GPU 0 Tesla T4 (sm_75): no kernel image",
                "use PyTorch's own cu121 build of torch 2.4.0 for this sm_75 GPU",
            )
        ],
    )
    assert _verify(tmp_path, lock, H100)[1] == [
        (
            "info",
            "torch",
            "sm_80, compute_80 (captured)",
            "GPU 0 NVIDIA H100 80GB HBM3 (sm_90): PTX JIT only, from compute_80 (no cubin runs on sm_90)",
            "expect a slow first start while the driver JIT-compiles the PTX; use PyTorch's own cu121 build of torch "
            "2.4.0, which has sm_90 kernels, to avoid it",
        )
    ]
    assert _verify(tmp_path, lock, T4, A100, visible="1") == (0, [])
    assert _verify(tmp_path, lock, T4, old=True) == (0, [])
    # A build of CUDA 13.0 has no Volta kernel (its release set starts at sm_75): judged without an arch list.
    (tmp_path / "cu130").mkdir()
    lock = _torch_captured(tmp_path / "cu130", "2.9.0+cu130", "13.0")
    code, rows = _verify(tmp_path, lock, V100)
    assert code == 0
    assert rows == [
        (
            "warning",
            "torch",
            "sm_75, sm_80, sm_86, sm_90, sm_100, sm_120 (release set)",
            "GPU 0 Tesla V100-SXM2-32GB (sm_70): no kernel image",
            "use the cu129 build of torch 2.9.0 for this sm_70 GPU",
        )
    ]
    assert _verify(tmp_path, lock, A100) == (0, [])


def test_verify_says_what_check_says_of_a_torch_build_whose_kernels_it_does_not_know(tmp_path: Path) -> None:
    """A torch build of a CUDA variant envsnap's table does not know, captured without --deep (no arch list): check
    warns that it cannot verify, and verify said nothing at all, as if its kernels ran on this host's GPUs. It says
    check's words now, as info (check's warnings are verify's info)."""
    (tmp_path / "cu135").mkdir()
    lock = _torch_captured(tmp_path / "cu135", "2.4.0+cu135", "13.5")
    version = load("torch_arch")["data_version"]
    said = (
        f"the cu135 release set is unknown to envsnap's arch table (data version {version}), cannot verify; capture "
        "with --deep to record torch.cuda.get_arch_list()"
    )
    assert _check(tmp_path, lock, A100)[1] == [
        ("warn", "no captured arch list", said),
        ("ok", "NVIDIA A100-SXM4-80GB (sm_80)", ""),  # its CUDA major supports the GPU
    ]
    row = ("info", "torch", "torch 2.4.0+cu135", "no captured arch list", said)
    assert _verify(tmp_path, lock, A100) == (0, [row])
    assert _verify(tmp_path, lock) == (0, [])  # no GPU here: nothing runs its kernels, as check judges none


def test_verify_says_what_check_says_of_a_gpu_older_than_the_cuda_major_supports(tmp_path: Path) -> None:
    """An environment of CUDA 13 runtime wheels and no torch build on a V100, which CUDA 13 no longer supports: check
    fails the GPU (CUDA 13 supports compute capability >= 7.5), and verify said nothing. It says check's finding now,
    as a warning, from the same function (``gpu_arch.runtime_support``); nothing on a GPU CUDA 13 supports."""
    venv = tmp_path / "cuda13" / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    info = gpu_fakes.site_packages(venv / "bin" / "python") / "nvidia_cuda_runtime-13.0.96.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nvidia-cuda-runtime\nVersion: 13.0.96\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text("nvidia_cuda_runtime-13.0.96.dist-info/METADATA,,\n")
    lock = tmp_path / "cuda13" / "envsnap.lock"
    done = _envsnap("capture", "--python", str(venv / "bin" / "python"), "-o", str(lock), "--no-cache", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    remedy = "use a build for CUDA 12 (it supports compute capability >= 5.0)"
    assert _check(tmp_path, lock, V100) == (3, [("fail", "Tesla V100-SXM2-32GB (sm_70)", remedy)])
    row = (
        "warning",
        "cuda",
        "CUDA 13 supports compute capability >= 7.5",
        "GPU 0 Tesla V100-SXM2-32GB (sm_70)",
        remedy,
    )
    assert _verify(tmp_path, lock, V100) == (0, [row])
    assert _verify(tmp_path, lock, A100) == (0, [])
    assert _verify(tmp_path, lock, V100, old=True) == (0, [])  # its compute capability not known: no line


def test_the_verify_memo_gives_no_gpu_remedy_of_another_day(tmp_path: Path) -> None:
    """Only PTX serves an H100 on a driver below the build's CUDA: the remedy offers cuda-compat while the driver's
    branch is in support (R570: through February 2026), and not after. The verify memo, keyed on all the capture
    read and never on the date, gave March the report it kept in January, cuda-compat and all. A report whose GPU
    judgement the date may change is kept for its day alone; the next verify that day is still answered from it."""
    (tmp_path / "cu129").mkdir()
    lock = _torch_captured(tmp_path / "cu129", "2.4.0+cu129", "12.9", "sm_80 compute_80", deep=True)
    nvml = gpu_fakes.FakeNvml(driver="570.124.06", cuda=12080, gpus=(H100,))
    env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    python = str(lock.parent / "venv" / "bin" / "python")
    # The memo keeps what a capture read moments after it changed only where told its stamps are to be trusted.
    trusted = "import envsnap.probes.memo as m; m.RACY_NS = -(1 << 62); "

    def envsnap_on(today: str, *args: str) -> str:
        code = f"import envsnap.compat.target as t; t.current_date = lambda: {today!r}; {trusted}" + (
            "import runpy; runpy.run_module('envsnap', run_name='__main__', alter_sys=True)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def remedies(today: str, *extra: str) -> list[str]:
        said = json.loads(envsnap_on(today, "verify", str(lock), "--python", python, "--json", *extra))
        return [d["note"] for d in said["differences"] if d["what"] == "kernels"]

    [january] = remedies("2026-01-15")
    assert "install cuda-compat-12-9" in january
    assert list((tmp_path / "cache").rglob("verify-*")), "the report was not kept"
    [march] = remedies("2026-03-15")
    assert "cuda-compat" not in march
    assert remedies("2026-03-15") == [march] == remedies("2026-03-15", "--no-cache")

    # A run's verify keeps its findings (its record's drift) the same way.
    def drift(today: str, record: str) -> list[str]:
        envsnap_on(today, "run", "--lock", str(lock), "--python", python, "-o", record, "--", python, "-c", "pass")
        from envsnap.runs import record as rec

        return [f.said() for f in rec.load(tmp_path / record).environment.drift if "kernels" in f.said()]

    [run_january] = drift("2026-01-15", "january.toml")
    assert "install cuda-compat-12-9" in run_january
    assert list((tmp_path / "cache").rglob("runverify-*")), "the findings were not kept"
    [run_march] = drift("2026-03-15", "march.toml")
    assert "cuda-compat" not in run_march


RTX5090 = gpu_fakes.FakeGpu("NVIDIA GeForce RTX 5090", (12, 0), 32 * GIB)


def test_torch_is_judged_by_the_kernels_of_its_own_cuda_library(tmp_path: Path) -> None:
    """A torch build captured without --deep is judged by its variant's release set (cu128 of 2.8: a cubin for
    Blackwell's sm_120), though the capture read the kernels of its shared objects; their union (torch's
    ``cuda_kernels``) would overstate them, libtorch_nvshmem's compute_120 PTX counting as torch's. The capture
    records the kernels of torch's own CUDA library, libtorch_cuda.so (``frameworks.torch.cuda_kernels``), and check
    and verify judge the build by them where no arch list is recorded: no kernel image for an sm_120 GPU."""
    root = tmp_path / "cu128"
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = gpu_fakes.site_packages(venv / "bin" / "python")
    gpu_fakes.install_fake_torch(site, version="2.8.0+cu128", cuda="12.8")
    (site / "torch" / "lib").mkdir()
    fatbin_library(site / "torch" / "lib" / "libtorch_cuda.so", [[(2, 80), (2, 90)]])
    fatbin_library(site / "torch" / "lib" / "libtorch_nvshmem.so", [[(2, 90), (1, 120)]])
    record = site / "torch-2.8.0+cu128.dist-info" / "RECORD"
    record.write_text(record.read_text() + "torch/lib/libtorch_cuda.so,,\ntorch/lib/libtorch_nvshmem.so,,\n")
    lock = root / "envsnap.lock"
    done = _envsnap("capture", "--python", str(venv / "bin" / "python"), "-o", str(lock), "--no-cache", cwd=root)
    assert done.returncode == 0, done.stderr
    snap = lockfile.load(lock)
    assert snap.frameworks["torch"].cuda_kernels == ("sm_80", "sm_90")
    assert snap.frameworks["torch"].arch_list == ()
    torch = snap.package("torch")
    assert torch is not None and torch.cuda_kernels == ("sm_80", "sm_90", "compute_120")  # the union, as before
    remedy = "use PyTorch's own cu128 build of torch 2.8.0 for this sm_120 GPU"
    assert _check(tmp_path, lock, RTX5090) == (
        3,
        [("fail", "NVIDIA GeForce RTX 5090 (sm_120): no kernel image", remedy)],
    )
    assert _verify(tmp_path, lock, RTX5090) == (
        0,
        [
            (
                "warning",
                "torch",
                "sm_80, sm_90 (libtorch_cuda)",
                "GPU 0 NVIDIA GeForce RTX 5090 (sm_120): no kernel image",
                remedy,
            )
        ],
    )
    assert _check(tmp_path, lock, H100)[1] == [("ok", "NVIDIA H100 80GB HBM3 (sm_90)", "")]


def test_a_torch_build_whose_kernels_are_unknown_is_still_judged_by_its_cuda_major(tmp_path: Path) -> None:
    """A torch build of CUDA 13.5, a variant envsnap's table does not know, on a V100, which no CUDA 13 build has
    kernels for: check only warned that it cannot verify its kernels, and judged the GPU by nothing; verify said
    as much. Both judge it by its CUDA major too, as a lock without a torch build is judged."""
    (tmp_path / "cu135").mkdir()
    lock = _torch_captured(tmp_path / "cu135", "2.4.0+cu135", "13.5")
    remedy = "use a build for CUDA 12 (it supports compute capability >= 5.0)"
    code, rows = _check(tmp_path, lock, V100)
    assert code == 3 and ("fail", "Tesla V100-SXM2-32GB (sm_70)", remedy) in rows
    assert [row[0] for row in rows] == ["warn", "fail"]  # the kernels it cannot verify, then the CUDA major
    needed = "CUDA 13 supports compute capability >= 7.5"
    assert ("warning", "cuda", needed, "GPU 0 Tesla V100-SXM2-32GB (sm_70)", remedy) in _verify(tmp_path, lock, V100)[1]
    assert [row[1] for row in _verify(tmp_path, lock, A100)[1]] == ["torch"]  # the kernels it cannot verify alone


def _torch_with_cuda_library(root: Path, arch: str, kernels: list[list[tuple[int, int]]], deep: bool) -> Path:
    """``envsnap capture`` (``--deep`` where told: torch.cuda.get_arch_list() names ``arch``) of a venv holding a
    stand-in torch 2.8.0+cu128 whose ``libtorch_cuda.so`` carries the fat binaries ``kernels``: the lock."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = gpu_fakes.site_packages(venv / "bin" / "python")
    gpu_fakes.install_fake_torch(site, version="2.8.0+cu128", cuda="12.8", arch=arch)
    (site / "torch" / "lib").mkdir()
    fatbin_library(site / "torch" / "lib" / "libtorch_cuda.so", kernels)
    record = site / "torch-2.8.0+cu128.dist-info" / "RECORD"
    record.write_text(record.read_text() + "torch/lib/libtorch_cuda.so,,\n")
    lock = root / "envsnap.lock"
    python = str(venv / "bin" / "python")
    done = _envsnap(
        "capture", "--python", python, "-o", str(lock), "--no-cache", *(["--deep"] if deep else []), cwd=root
    )
    assert done.returncode == 0, done.stderr
    return lock


def test_check_and_verify_judge_torch_by_the_same_kernels_first(tmp_path: Path) -> None:
    """A --deep lock records both torch.cuda.get_arch_list() and the kernels read from libtorch_cuda. check judged
    the build by the arch list, verify by the kernels it read from the installed libtorch_cuda: the same build on
    the same RTX 5090 passed check and was warned of by verify. Both take the kernels read from the binary first
    (then the arch list, then the release set), and say where the arch list says otherwise for the GPU."""
    root = tmp_path / "deep"
    root.mkdir()
    lock = _torch_with_cuda_library(root, "sm_80 sm_90 sm_120", [[(2, 80), (2, 90)]], deep=True)
    snap = lockfile.load(lock)
    assert snap.frameworks["torch"].arch_list == ("sm_80", "sm_90", "sm_120")
    assert snap.frameworks["torch"].cuda_kernels == ("sm_80", "sm_90")
    found = (
        "NVIDIA GeForce RTX 5090 (sm_120): no kernel image (its --deep arch list, sm_80, sm_90, sm_120, has a cubin "
        "for it; the kernels read from libtorch_cuda, which judge it, have none)"
    )
    remedy = "use PyTorch's own cu128 build of torch 2.8.0 for this sm_120 GPU"
    assert _check(tmp_path, lock, RTX5090) == (3, [("fail", found, remedy)])
    assert _verify(tmp_path, lock, RTX5090) == (
        0,
        [("warning", "torch", "sm_80, sm_90 (libtorch_cuda)", f"GPU 0 {found}", remedy)],
    )
    # Where both agree on the GPU, nothing more is said.
    assert _check(tmp_path, lock, H100) == (0, [("ok", "NVIDIA H100 80GB HBM3 (sm_90)", "")])
    assert _verify(tmp_path, lock, H100) == (0, [])


def test_a_libtorch_cuda_read_in_part_is_said_at_capture_and_in_the_judgement(tmp_path: Path) -> None:
    """A libtorch_cuda whose kernel headers a reading limit cut short records no kernels (a list read in part may
    lack the GPU's cubin), and torch fell back to its variant's release set without a word: capture warned of
    nothing, and check and verify named the release set as if nothing had been read. The capture warns once and
    records it (``frameworks.torch.cuda_kernels_partial``); check and verify say the judgement fell back."""
    root = tmp_path / "cut"
    root.mkdir()
    many = [[(2, 80)] * 255] * (fatbin.MAX_ENTRIES // 256) + [[(2, 75)]]
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = gpu_fakes.site_packages(venv / "bin" / "python")
    gpu_fakes.install_fake_torch(site, version="2.8.0+cu128", cuda="12.8")
    (site / "torch" / "lib").mkdir()
    fatbin_library(site / "torch" / "lib" / "libtorch_cuda.so", many)
    fatbin_library(site / "torch" / "lib" / "libtorch_cuda_linalg.so", many)
    record = site / "torch-2.8.0+cu128.dist-info" / "RECORD"
    record.write_text(record.read_text() + "torch/lib/libtorch_cuda.so,,\ntorch/lib/libtorch_cuda_linalg.so,,\n")
    lock = root / "envsnap.lock"
    done = _envsnap("capture", "--python", str(venv / "bin" / "python"), "-o", str(lock), "--no-cache", cwd=root)
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "kernel headers of" in line]
    assert len(said) == 1, done.stderr
    assert "torch's libtorch_cuda were read only in part" in said[0]
    assert "judge the build by its --deep arch list or its variant's release set" in said[0]
    torch = lockfile.load(lock).frameworks["torch"]
    assert (torch.cuda_kernels, torch.cuda_kernels_partial) == ((), True)
    assert "cuda_kernels_partial = true" in lock.read_text()
    kernels = "sm_70, sm_75, sm_80, sm_86, sm_90, sm_100, sm_120"
    source = "release set; libtorch_cuda read in part, not judged by"
    nvml = gpu_fakes.FakeNvml(driver="580.65.06", cuda=13000, gpus=(ORIN,))
    env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    report = json.loads(_envsnap("check", str(lock), "--json", env=env, cwd=tmp_path).stdout)
    [(severity, needed)] = [(f["severity"], f["needed"]) for f in report["findings"] if f["rule"] == "gpu-arch"]
    assert needed == f"torch 2.8.0+cu128 kernels ({source}): {kernels}"
    assert severity == "warn"  # the release set is a guess: the headers left unread may hold the GPU's cubin
    [row] = _verify(tmp_path, lock, ORIN)[1]
    assert row[:3] == ("info", "torch", f"{kernels} ({source})")


def test_cubins_embedded_in_read_only_data_are_recorded(tmp_path: Path) -> None:
    """A library that keeps its cubins as C arrays in .rodata and loads them with cuModuleLoadData (TensorRT-LLM's
    kernels) has no fat binary: the capture recorded no kernels, and check judged none of its GPUs. The CUDA ELF
    headers in its read-only data are read (e_machine 190; the SM from e_flags, as cuobjdump reads it): sm_80 and
    sm_90a of the old ABI, sm_120 of the new one; the x86-64 ELF header beside them is no kernel."""
    images = [
        cubin_header(0x400 | 80),
        cubin_header(0x800 | 0x400 | 90),
        cubin_header((120 << 8) | 2, abi=8),
        cubin_header(0x50, machine=62),  # a host ELF header: no kernel
    ]
    library = embedded_cubins_library(tmp_path / "libtrt.so", images)
    (tmp_path / "capture").mkdir()
    lock, _ = _captured(tmp_path / "capture", "trtk", library)
    [trtk] = [p for p in lockfile.load(lock).python.packages if p.name == "trtk"]
    assert (trtk.cuda_kernels, trtk.cuda_kernels_partial) == (("sm_80", "sm_90a", "sm_120"), False)
    assert _check(tmp_path, lock, T4) == (
        3,
        [
            (
                "fail",
                "Tesla T4 (sm_75): no kernel image",
                "install a build of trtk with sm_75 kernels (or PTX of an architecture at or below it)",
            )
        ],
    )


def test_the_verify_memo_keys_to_the_day_only_a_judgement_the_day_may_change(tmp_path: Path) -> None:
    """A T4 with no kernel of the torch build reads the same on every day (no remedy offers cuda-compat), and the
    verify memo kept it for its day alone, as it keeps any GPU kernels line: every verify of the next day read the
    environment again. It is kept for every day (and given again on another); a judgement the day may change (only
    PTX serves, the remedy offers cuda-compat while the driver's branch is in support) is kept with its day."""
    (tmp_path / "cu121").mkdir()
    lock = _torch_captured(tmp_path / "cu121", "2.4.0+cu121", "12.1", "sm_80 compute_80", deep=True)
    python = str(lock.parent / "venv" / "bin" / "python")
    trusted = "import envsnap.probes.memo as m; m.RACY_NS = -(1 << 62); "

    def kept_days(gpu: gpu_fakes.FakeGpu, driver: tuple[str, int], today: str) -> list[bytes]:
        """The kept reports of a verify and a run's verify on ``today`` that are keyed to it."""
        cache = tmp_path / f"cache-{gpu.name}"
        nvml = gpu_fakes.FakeNvml(driver=driver[0], cuda=driver[1], gpus=(gpu,))
        env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
        env.pop("CUDA_VISIBLE_DEVICES", None)
        env["XDG_CACHE_HOME"] = str(cache)
        code = f"import envsnap.compat.target as t; t.current_date = lambda: {today!r}; {trusted}" + (
            "import runpy; runpy.run_module('envsnap', run_name='__main__', alter_sys=True)"
        )
        for args in (
            ["verify", str(lock), "--python", python, "--json"],
            ["run", "--lock", str(lock), "--python", python, "-o", str(cache / "run.toml"), "--", python, "-c", "1"],
        ):
            done = subprocess.run(
                [sys.executable, "-c", code, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
        memos = [p.read_bytes() for p in [*cache.rglob("verify-*"), *cache.rglob("runverify-*")]]
        assert len(memos) == 2, "the reports were not kept"
        assert all(b"kernels" in m for m in memos)
        return [m for m in memos if today.encode() in m]

    assert kept_days(T4, ("580.65.06", 13000), "2026-01-15") == []  # the same verdict any day: not keyed to one
    cu129 = tmp_path / "cu129"
    cu129.mkdir()
    lock = _torch_captured(cu129, "2.4.0+cu129", "12.9", "sm_80 compute_80", deep=True)
    python = str(lock.parent / "venv" / "bin" / "python")
    assert len(kept_days(H100, ("570.124.06", 12080), "2026-01-15")) == 2  # cuda-compat while R570 is in support
