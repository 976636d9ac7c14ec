"""The real-world matrix of the issue: a lock and a host description per case, through every rule."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from compat_builders import (
    A100,
    GTX_1080,
    H100,
    HOST,
    RTX_4090,
    RTX_5090,
    gpu_host,
    gpu_lock,
    gpus,
    pkg,
    severities,
    snapshot,
    target_of,
    torch_cu,
)

from envsnap.compat import DockerFacts, Report, Target, evaluate
from envsnap.compat.data import load
from envsnap.model import Conda, CondaPackage, Cuda, Framework, Gpu, Snapshot


def only(report: Report, rule: str) -> list[tuple[str, str, str, str, str]]:
    return [(f.severity, f.component, f.needed, f.found, f.remedy) for f in report.by_rule(rule)]


def test_h100_lock_on_an_older_driver_fails_and_offers_forward_compatibility() -> None:
    lock = gpu_lock("2.5.1", "12.4", gpu=H100)
    host = gpu_host(H100, driver="470.82.01", driver_cuda="11.4")
    report = evaluate(lock, host, HOST)
    assert report.verdict == "incompatible"
    [(severity, component, needed, found, remedy)] = only(report, "driver")
    assert (severity, component) == ("fail", "NVIDIA driver")
    assert needed == "CUDA 12.4: driver >= 550.54.14"
    assert found == "driver 470.82.01 (supports CUDA 11.4)"
    assert remedy.startswith("install NVIDIA driver >= 550.54.14, or install cuda-compat-12-4")
    assert "NVIDIA H100 80GB HBM3" in remedy


def test_geforce_on_an_older_driver_gets_no_forward_compatibility_offer() -> None:
    report = evaluate(gpu_lock("2.5.1", "12.4", gpu=RTX_4090), gpu_host(RTX_4090, "470.82.01", "11.4"), HOST)
    [(severity, *_, remedy)] = only(report, "driver")
    assert severity == "fail"
    assert "cuda-compat" in remedy and "not supported on this GPU" in remedy


@pytest.mark.parametrize(
    ("driver", "driver_cuda", "offered"),
    [("570.133.20", "12.8", True), ("535.183.01", "12.2", True), ("575.57.08", "12.9", False)],
)
def test_forward_compatibility_is_offered_only_on_production_and_long_term_branches(
    driver: str, driver_cuda: str, offered: bool
) -> None:
    """cuda-compat runs only on a production or long-term support driver branch: a CUDA 13.0 lock on an H100 with
    driver 575 (a new feature branch) was told to install cuda-compat-13-0, which does not work there."""
    report = evaluate(gpu_lock("2.9.0", "13.0", gpu=H100), gpu_host(H100, driver, driver_cuda), HOST)
    [(severity, *_, remedy)] = only(report, "driver")
    assert severity == "fail"
    if offered:
        assert remedy.startswith(
            "install NVIDIA driver >= 580.65.06, or install cuda-compat-13-0 and put /usr/local/cuda-13.0/compat "
            "first on LD_LIBRARY_PATH (forward "
        )
    else:
        assert remedy == (
            "install NVIDIA driver >= 580.65.06 (forward compatibility through cuda-compat is not supported on "
            "driver 575.57.08: R575 is a new feature branch, and NVIDIA supports it only on production and "
            "long-term support branches)"
        )


def test_a_driver_branch_the_table_does_not_know_is_not_promised_forward_compatibility() -> None:
    report = evaluate(gpu_lock("2.9.0", "13.0", gpu=H100), gpu_host(H100, "577.10", "12.9"), HOST)
    [(severity, *_, remedy)] = only(report, "driver")
    assert severity == "fail"
    assert remedy.startswith(
        "install NVIDIA driver >= 580.65.06, or install cuda-compat-13-0 and put /usr/local/cuda-13.0/compat first "
        "on LD_LIBRARY_PATH if NVIDIA's CUDA compatibility guide "
        "lists driver branch R577 (unknown to envsnap's table) as a production or long-term support branch"
    )


def test_a_container_is_not_told_to_put_the_hosts_cuda_compat_on_its_loader_path() -> None:
    """A container loads the libcuda the NVIDIA container toolkit mounts from the host's driver, and forward
    compatibility there is the image's cuda-compat (nvidia/cuda images carry it), not a host package on the host's
    LD_LIBRARY_PATH, which `check --target docker` told a CUDA 13.0 lock on an H100 with driver 535 to install.
    The remedy names the image's package and the condition the NVIDIA container toolkit starts it on."""
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux", runtimes=("nvidia",))
    docker = dataclasses.replace(target_of("docker", docker=engine), today="2026-03-01")
    report = evaluate(gpu_lock("2.9.0", "13.0", gpu=H100), gpu_host(H100, "535.230.02", "12.2"), docker)
    [(severity, *_, remedy)] = only(report, "driver")
    assert severity == "fail"
    assert remedy == (
        "install NVIDIA driver >= 580.65.06, or rely on the image's cuda-compat-13-0 (nvidia/cuda images carry it, "
        "and the NVIDIA container toolkit loads it on an older driver: forward compatibility, supported on "
        "data-center GPUs such as this NVIDIA H100 80GB HBM3), which starts only if the image's NVIDIA_REQUIRE_CUDA "
        "lists driver branch R535 for this GPU's brand"
    )
    venv = dataclasses.replace(target_of("venv"), today="2026-03-01")
    report = evaluate(gpu_lock("2.9.0", "13.0", gpu=H100), gpu_host(H100, "535.230.02", "12.2"), venv)
    [(severity, *_, remedy)] = only(report, "driver")
    assert "put /usr/local/cuda-13.0/compat first on LD_LIBRARY_PATH" in remedy


@pytest.mark.parametrize(("driver", "driver_cuda"), [("410.104", "10.0"), ("396.82", "9.2")])
def test_a_branch_older_than_every_known_one_is_not_offered_forward_compatibility(
    driver: str, driver_cuda: str
) -> None:
    """A driver of a branch the table does not know, older than its oldest (R418, whose support ended in March
    2022): a CUDA 12.8 lock on an A100 with driver 410 was offered cuda-compat-12-8 "if NVIDIA's CUDA compatibility
    guide lists driver branch R410 as a production or long-term support branch", long past any support."""
    lock = gpu_lock("2.7.1", "12.8")
    report = evaluate(lock, gpu_host(A100, driver, driver_cuda), dataclasses.replace(HOST, today="2026-12-05"))
    [(severity, *_, remedy)] = only(report, "driver")
    assert severity == "fail"
    branch = "R" + driver.split(".")[0]
    assert remedy == (
        f"install NVIDIA driver >= 570.26 (forward compatibility through cuda-compat is not supported on driver "
        f"{driver}: {branch} is older than R418, which reached its end of life in March 2022, and NVIDIA supports it "
        "only on production and long-term support branches still in support)"
    )


def test_forward_compatibility_is_judged_on_the_gpus_cuda_uses() -> None:
    """An H100 beside a GeForce GTX 1080, with CUDA_VISIBLE_DEVICES=0 (PCI bus order) running on the H100 alone:
    the remedy said forward compatibility is not supported on this GPU, judging the GeForce the run does not use."""
    lock = gpu_lock("2.5.1", "12.4", gpu=H100)
    host = snapshot(gpu_list=gpus(H100, GTX_1080), driver="470.82.01", driver_cuda="11.4")
    on_h100 = Target(kind="host", cuda_visible_devices="0", cuda_device_order="PCI_BUS_ID")
    [(severity, *_, remedy)] = only(evaluate(lock, host, on_h100), "driver")
    assert severity == "fail"
    # The package puts a libcuda in /usr/local/cuda-12.4/compat, which nothing loads until it is on the loader's path
    # (the remedy named only the package: installed, the check still failed the same way, and so did the run).
    assert remedy == (
        "install NVIDIA driver >= 550.54.14, or install cuda-compat-12-4 and put /usr/local/cuda-12.4/compat first on "
        "LD_LIBRARY_PATH (forward compatibility, supported on data-center GPUs such as this NVIDIA H100 80GB HBM3)"
    )
    on_gtx = Target(kind="host", cuda_visible_devices="1", cuda_device_order="PCI_BUS_ID")
    [(severity, *_, remedy)] = only(evaluate(lock, host, on_gtx), "driver")
    assert remedy == (
        "install NVIDIA driver >= 550.54.14 (forward compatibility through cuda-compat is not supported on this "
        "GPU, NVIDIA GeForce GTX 1080: only on data-center GPUs and Jetson)"
    )


def test_cuda_12_4_lock_on_driver_535_is_minor_version_compatibility() -> None:
    report = evaluate(gpu_lock("2.5.1", "12.4"), gpu_host(A100, "535.183.01", "12.2"), HOST)
    assert report.verdict == "warnings"
    [(severity, _, needed, found, remedy)] = only(report, "driver")
    assert severity == "warn"
    assert needed == "CUDA 12.4: driver >= 550.54.14"
    assert found == "driver 535.183.01 (supports CUDA 12.2)"
    assert "minor-version compatibility" in remedy and ">= 550.54.14" in remedy


def test_cu128_torch_on_a_gtx_1080_has_no_kernels_and_names_the_cu126_build() -> None:
    report = evaluate(gpu_lock("2.7.1", "12.8"), gpu_host(GTX_1080, "570.133.07", "12.8"), HOST)
    assert report.verdict == "incompatible"
    [(severity, component, needed, found, remedy)] = only(report, "gpu-arch")
    assert severity == "fail"
    assert component == "GPU 0 NVIDIA GeForce GTX 1080"
    assert needed.startswith("torch 2.7.1+cu128 kernels (release set): sm_70, sm_75")
    assert found == "NVIDIA GeForce GTX 1080 (sm_61): no kernel image"
    assert remedy == "use the cu126 build of torch 2.7.1 for this sm_61 GPU"


def test_cu128_torch_on_an_rtx_5090_is_compatible() -> None:
    report = evaluate(gpu_lock("2.7.1", "12.8", gpu=RTX_5090), gpu_host(RTX_5090, "575.57.08", "12.9"), HOST)
    assert report.verdict == "compatible", report.render_rows()
    assert [f.severity for f in report.by_rule("gpu-arch")] == ["ok"]


def test_cu128_torch_on_an_a100_is_compatible() -> None:
    report = evaluate(gpu_lock("2.7.1", "12.8"), gpu_host(A100, "570.133.20", "12.8"), HOST)
    assert report.verdict == "compatible", report.render_rows()


def test_cu126_torch_on_an_rtx_5090_fails_and_names_the_cu128_build() -> None:
    report = evaluate(gpu_lock("2.7.1", "12.6"), gpu_host(RTX_5090, "575.57.08", "12.9"), HOST)
    [(severity, *_, found, remedy)] = only(report, "gpu-arch")
    assert severity == "fail"
    assert found == "NVIDIA GeForce RTX 5090 (sm_120): no kernel image"
    assert remedy == "use the cu128 build of torch 2.7.1 for this sm_120 GPU"


def test_captured_arch_list_wins_over_the_release_set_and_ptx_is_a_warning() -> None:
    package, framework = torch_cu("2.7.1", "12.6", arch_list=("sm_80", "sm_90", "compute_90"))
    lock = snapshot(packages=[package], frameworks=[framework], gpu_list=gpus(A100))
    report = evaluate(lock, gpu_host(RTX_5090, "575.57.08", "12.9"), HOST)
    [(severity, _, needed, found, remedy)] = only(report, "gpu-arch")
    assert severity == "warn"
    assert needed == "torch 2.7.1+cu126 kernels (captured): sm_80, sm_90, compute_90"
    assert found == "NVIDIA GeForce RTX 5090 (sm_120): PTX JIT only, from compute_90 (no cubin runs on sm_120)"
    assert remedy == (
        "expect a slow first start while the driver JIT-compiles the PTX; use the cu128 build of torch 2.7.1, which "
        "has sm_120 kernels, to avoid it"
    )


def test_ptx_jit_names_the_ptx_it_compiles_and_a_build_without_native_kernels_elsewhere() -> None:
    """sm_80 cubins with compute_80 PTX on an H100 (sm_90) run through JIT from compute_80; with no build of the
    release known to have sm_90 kernels, the remedy says what to look for. sm_80 alone on an H100 cannot run."""
    package, framework = torch_cu("2.7.1", "12.8", arch_list=("sm_80", "compute_80"))
    lock = snapshot(packages=[package], frameworks=[framework], gpu_list=gpus(A100))
    report = evaluate(lock, gpu_host(H100, "575.57.08", "12.9"), HOST)
    [(severity, _, _, found, remedy)] = only(report, "gpu-arch")
    assert severity == "warn"
    assert found == "NVIDIA H100 80GB HBM3 (sm_90): PTX JIT only, from compute_80 (no cubin runs on sm_90)"
    assert remedy.endswith("use PyTorch's own cu128 build of torch 2.7.1, which has sm_90 kernels, to avoid it")
    package, framework = torch_cu("2.7.1", "12.8", arch_list=("sm_80",))
    lock = snapshot(packages=[package], frameworks=[framework], gpu_list=gpus(A100))
    [(severity, _, _, found, _)] = only(evaluate(lock, gpu_host(H100, "575.57.08", "12.9"), HOST), "gpu-arch")
    assert (severity, found) == ("fail", "NVIDIA H100 80GB HBM3 (sm_90): no kernel image")


def test_aarch64_lock_on_x86_64_fails_on_machine_once_naming_its_wheels() -> None:
    """The machine is one failure, naming the wheels built for it; the wheels rule does not fail each again."""
    wheels = [
        pkg("numpy", "2.2.6", "cp311-cp311-manylinux_2_17_aarch64", "cp311-cp311-manylinux2014_aarch64"),
        pkg("six", "1.17.0", "py2-none-any", "py3-none-any"),
    ]
    lock = snapshot(machine="aarch64", packages=wheels, cpu_flags=("asimd", "neon"))
    report = evaluate(lock, snapshot(), HOST)
    assert report.verdict == "incompatible"
    assert only(report, "platform") == [
        (
            "fail",
            "machine",
            "Linux aarch64",
            "Linux x86_64",
            "run on an aarch64 host: 1 locked wheel is built for aarch64 (numpy 2.2.6); or capture the environment "
            "anew on this x86_64 host, installed from its own wheels (other files, hashes and, for CUDA, kernels)",
        )
    ]
    assert [f.rule for f in report.failures] == ["platform"]
    [(severity, component, needed, _, _)] = only(report, "wheels")
    assert (severity, component, needed) == ("ok", "wheels", "1 locked wheel")
    assert report.by_rule("cpu-isa") == ()  # flags of different machines do not compare


def test_aarch64_lock_on_an_x86_64_docker_engine_names_its_wheels_too() -> None:
    """``check --target docker`` with an x86_64 engine failed the machine without naming the wheels built for
    aarch64, which the host and venv targets name: it names them alike."""
    wheels = [
        pkg("numpy", "2.2.6", "cp311-cp311-manylinux_2_17_aarch64", "cp311-cp311-manylinux2014_aarch64"),
        pkg("six", "1.17.0", "py2-none-any", "py3-none-any"),
    ]
    lock = snapshot(machine="aarch64", packages=wheels, cpu_flags=("asimd", "neon"))
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux")
    report = evaluate(lock, snapshot(), target_of("docker", docker=engine))
    assert [f.rule for f in report.failures] == ["platform"]
    [(severity, component, needed, found, remedy)] = only(report, "platform")
    assert (severity, component, needed, found) == ("fail", "machine", "Linux aarch64", "docker engine: linux x86_64")
    assert remedy == (
        "use a Docker engine on an aarch64 host (rebuild --target docker does not emulate aarch64 with QEMU: it "
        "refuses a lock of another machine than the engine's): 1 locked wheel is built for aarch64 (numpy 2.2.6)"
    )
    venv = only(evaluate(lock, snapshot(), target_of("venv")), "platform")
    assert "1 locked wheel is built for aarch64 (numpy 2.2.6)" in venv[0][4]


def test_manylinux_2_28_wheels_on_glibc_2_17_name_each_package() -> None:
    package, framework = torch_cu("2.7.1", "12.8")
    wheels = [
        package,
        pkg("numpy", "2.2.6", "cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"),
        pkg("tokenizers", "0.21.1", "cp39-abi3-manylinux_2_28_x86_64"),
    ]
    lock = snapshot(packages=wheels, frameworks=[framework], libc_version="2.36")
    host = snapshot(os_id="centos", os_version="7", libc_version="2.17")
    report = evaluate(lock, host, Target(kind="host", disk_free_mib=500_000, cpu_only=True))
    wheel_failures = only(report, "wheels")
    assert [row[1] for row in wheel_failures] == ["wheel tokenizers 0.21.1", "wheel torch 2.7.1+cu128"]
    for _, _, needed, found, remedy in wheel_failures:
        assert needed.endswith("manylinux_2_28_x86_64")
        assert "needs glibc >= 2.28 (manylinux_2_28_x86_64), the target has glibc 2.17" in found
        assert remedy == "use a host or base image with glibc >= 2.28"
    [(severity, _, needed, found, remedy)] = only(report, "glibc")
    assert severity == "fail"
    assert needed == "glibc >= 2.28 (tokenizers 0.21.1)" or needed == "glibc >= 2.28 (torch 2.7.1+cu128)"
    assert found == "glibc 2.17"
    assert "glibc >= 2.28" in remedy


def test_a_pip_locks_python_remedy_offers_no_conda_target() -> None:
    """A pip environment's lock on a host without its Python: the remedy offered `--target conda or docker`, and
    `check --target conda` of that lock then failed (`none: the lock records no conda packages`), as
    `rebuild --target conda` refuses it. Only a lock with conda packages is offered the conda target."""
    from envsnap.compat.target import bringing_python

    lock = snapshot(python="3.12.4", packages=[pkg("six", "1.17.0", "py3-none-any")])
    [(_, _, _, _, remedy)] = only(evaluate(lock, snapshot(python="3.11.9"), HOST), "python")
    assert remedy.endswith("or pyenv install 3.12.4), or use --target docker"), remedy
    conda_check = only(evaluate(lock, snapshot(python="3.11.9"), target_of("conda")), "platform")
    assert [f[0] for f in conda_check if f[1] == "conda packages"] == ["fail"]
    python = CondaPackage(name="python", version="3.12.4", build="h0", channel="conda-forge", subdir="linux-64")
    conda = dataclasses.replace(lock, conda=Conda(packages=(python,)))
    [(_, _, _, _, remedy)] = only(evaluate(conda, snapshot(python="3.11.9"), HOST), "python")
    # docker refuses a conda environment's lock (``refuses_conda``): conda alone brings its Python
    assert remedy.endswith("or pyenv install 3.12.4), or use --target conda"), remedy
    assert bringing_python(None) == "--target conda or docker"
    # The wheels rule's remedy for a wheel of the lock's Python alike.
    cp312 = snapshot(python="3.12.4", packages=[pkg("numpy", "2.2.6", "cp312-cp312-manylinux_2_17_x86_64")])
    [(_, _, _, _, remedy)] = only(evaluate(cp312, snapshot(python="3.11.9"), HOST), "wheels")
    assert remedy == "use a Python 3.12 interpreter (--python, or --target docker)"
    cp312 = dataclasses.replace(cp312, conda=conda.conda)
    [(_, _, _, _, remedy)] = only(evaluate(cp312, snapshot(python="3.11.9"), HOST), "wheels")
    assert remedy == "use a Python 3.12 interpreter (--python, or --target conda)"


def test_python_3_12_lock_on_3_11_fails_on_python_and_on_cp312_wheels() -> None:
    lock = snapshot(python="3.12.4", packages=[pkg("numpy", "2.2.6", "cp312-cp312-manylinux_2_17_x86_64")])
    report = evaluate(lock, snapshot(python="3.11.9"), HOST)
    assert only(report, "python") == [
        (
            "fail",
            "Python",
            "cpython 3.12.4",
            "cpython 3.11.9",
            "run with a cpython 3.12.4 interpreter (--python PATH; to get one: uv python install 3.12.4, or pyenv "
            "install 3.12.4), or use --target docker",
        )
    ]
    # A reviewer without that Python was told to run with one, not how to get one; another implementation's
    # interpreter is not one uv or pyenv installs by that version.
    other = dataclasses.replace(lock, python=dataclasses.replace(lock.python, implementation="pypy"))
    [(_, _, _, _, remedy)] = only(evaluate(other, snapshot(python="3.11.9"), HOST), "python")
    assert remedy == "run with a pypy 3.12.4 interpreter (--python PATH), or use --target docker"
    [(_, component, _, found, remedy)] = only(report, "wheels")
    assert component == "wheel numpy 2.2.6"
    assert found.endswith("built for Python 3.12 (cp312), the target runs cp311")
    assert "Python 3.12 interpreter" in remedy


def test_python_3_12_lock_for_a_conda_target_gets_its_interpreter_from_conda() -> None:
    # A conda environment's lock: conda installs its python (a lock without conda packages fails for this target).
    python = Conda(subdir="linux-64", packages=(CondaPackage("python", "3.12.4", subdir="linux-64"),))
    lock = snapshot(
        python="3.12.4", packages=[pkg("numpy", "2.2.6", "cp312-cp312-manylinux_2_17_x86_64")], conda=python
    )
    report = evaluate(lock, snapshot(python="3.11.9"), target_of("conda", disk_free_mib=500_000))
    assert report.verdict == "compatible", report.render_rows()
    assert only(report, "python")[0][3] == "provided by the conda rebuild"


def test_cpu_only_lock_on_a_gpu_host_is_compatible() -> None:
    lock = snapshot(packages=[pkg("torch", "2.7.1+cpu", "cp311-cp311-manylinux_2_28_x86_64")])
    report = evaluate(lock, gpu_host(H100, "570.133.20", "12.8"), HOST)
    assert report.verdict == "compatible", report.render_rows()
    # The host's driver is not named: the check does not ask NVML for a lock no rule reads it for.
    assert only(report, "cuda") == [("ok", "CUDA", "none (CPU-only lock)", "no GPU needed", "")]


def test_unknown_future_cuda_of_a_newer_major_than_the_drivers_fails_not_a_crash() -> None:
    """A CUDA release envsnap's table does not know yet, of a newer major than the driver's CUDA, cannot run there
    whatever its minimum driver: minor-version compatibility stays within a major (it was a warning, exit 0)."""
    lock = gpu_lock("3.1.0", "14.2")
    report = evaluate(lock, gpu_host(RTX_5090, "580.65.06", "13.0"), HOST)
    assert report.verdict == "incompatible", report.render_rows()
    [(severity, _, needed, found, remedy)] = only(report, "driver")
    assert severity == "fail"
    assert needed == "CUDA 14.2 (CUDA runtime 14.2 (pip))" and found == "driver 580.65.06 (supports CUDA 13.0)"
    assert remedy.startswith("install an NVIDIA driver that supports CUDA 14.2 (a driver of CUDA 13.0 runs no CUDA 14")
    assert "not supported on this GPU, NVIDIA GeForce RTX 5090" in remedy  # no cuda-compat on a GeForce
    assert "CUDA 14.2 is unknown to envsnap's driver table" in remedy
    [(severity, *_, remedy)] = only(report, "gpu-arch")
    assert severity == "warn" and "cu142 release set is unknown" in remedy


def test_unknown_future_cuda_whose_driver_cuda_is_unknown_is_a_clear_warning() -> None:
    """Where the driver does not say which CUDA it supports, the unknown release cannot be judged: a warning."""
    report = evaluate(gpu_lock("3.1.0", "14.2"), gpu_host(RTX_5090, "580.65.06", ""), HOST)
    [(severity, *_, remedy)] = only(report, "driver")
    assert severity == "warn"
    assert "CUDA 14.2 is unknown to envsnap's driver table" in remedy and "cannot verify" in remedy


def test_future_cuda_is_ok_when_the_driver_itself_reports_support() -> None:
    report = evaluate(gpu_lock("3.1.0", "14.2"), gpu_host(RTX_5090, "600.10", "14.2"), HOST)
    assert [f.severity for f in report.by_rule("driver")] == ["ok"]


def test_cuda_lock_on_a_host_without_driver_fails_unless_cpu_only() -> None:
    lock = gpu_lock("2.7.1", "12.8")
    report = evaluate(lock, snapshot(), HOST)
    [(severity, _, needed, found, remedy)] = only(report, "cuda")
    assert (severity, found) == ("fail", "no NVIDIA driver")
    assert needed == "CUDA 12.8 (CUDA runtime 12.8 (pip))"
    assert remedy.startswith("install an NVIDIA driver >= 570.26") and "--cpu-only" in remedy
    degraded = evaluate(lock, snapshot(), dataclasses.replace(HOST, cpu_only=True))
    assert degraded.verdict == "warnings"
    [finding] = degraded.by_rule("cuda")
    assert finding.severity == "warn"
    assert finding.remedy == (
        "accepted with --cpu-only (runs without the GPU); for GPU use: install an NVIDIA "
        "driver >= 570.26 on a host with an NVIDIA GPU"
    )


def test_smaller_and_fewer_gpus_than_captured_are_warnings() -> None:
    lock = dataclasses.replace(gpu_lock("2.7.1", "12.8", gpu=H100))
    lock = dataclasses.replace(lock, hardware=dataclasses.replace(lock.hardware, gpus=gpus(H100, H100)))
    report = evaluate(lock, gpu_host(RTX_4090, "570.133.07", "12.8"), HOST)
    assert only(report, "gpu-memory") == [
        (
            "warn",
            "GPU memory",
            "79.6 GiB (NVIDIA H100 80GB HBM3)",
            "24.0 GiB",
            "reduce batch or model size; the captured workload may not fit",
        ),
        ("warn", "GPU count", "2", "1", "multi-GPU code paths need adjusting (e.g. world size)"),
    ]


def test_gpu_without_reported_capability_cannot_be_verified() -> None:
    host = snapshot(gpu_list=(Gpu(index=0, name="NVIDIA Mystery"),), driver="570.133.07", driver_cuda="12.8")
    [finding] = evaluate(gpu_lock(), host, HOST).by_rule("gpu-arch")
    assert (finding.severity, finding.remedy) == ("warn", "cannot verify")


def test_system_cudnn_missing_on_the_host_is_a_failure() -> None:
    lock = dataclasses.replace(
        gpu_lock("2.7.1", "12.8"),
        cuda=Cuda(runtime_version="12.8", runtime_source="system", cudnn_version="9.7.1", cudnn_source="system"),
    )
    report = evaluate(lock, gpu_host(A100, "570.133.20", "12.8"), HOST)
    [(severity, component, needed, found, remedy)] = only(report, "cuda-libs")
    assert (severity, component, found) == ("fail", "cuDNN", "no cuDNN")
    assert needed == "cuDNN 9.7.1 for CUDA 12 (from the system)"
    assert remedy == "install cuDNN 9.7.1 for CUDA 12 (e.g. pip install nvidia-cudnn-cu12==9.7.1.*)"


def test_a_cuda_minor_newer_than_the_table_fails_below_its_majors_floor() -> None:
    # Every CUDA 13 release needs driver >= 580; a 13.5 the table does not list on driver 535 was "warnings".
    lock = gpu_lock("2.11.0", "13.5", gpu=H100)
    report = evaluate(lock, gpu_host(H100, "535.183.01", "12.2"), HOST)
    assert report.verdict == "incompatible", report.render_rows()
    [(severity, _, needed, found, remedy)] = only(report, "driver")
    assert (severity, needed, found) == ("fail", "CUDA 13.5: driver >= 580", "driver 535.183.01 (supports CUDA 12.2)")
    assert remedy.startswith(
        "install NVIDIA driver >= 580 (every CUDA 13 release needs it), or install cuda-compat-13-5"
    )
    assert "CUDA 13.5 is unknown to envsnap's driver table" in remedy
    at_floor = evaluate(lock, gpu_host(H100, "580.65.06", "13.0"), HOST)
    assert [f.severity for f in at_floor.by_rule("driver")] == ["warn"]


def test_forward_compatibility_on_a_gpu_whose_name_nvml_did_not_give_is_not_judged() -> None:
    host = snapshot(gpu_list=(Gpu(index=0, compute_capability="9.0"),), driver="470.82.01", driver_cuda="11.4")
    [(severity, *_, remedy)] = only(evaluate(gpu_lock("2.5.1", "12.4", gpu=H100), host, HOST), "driver")
    assert severity == "fail"
    assert remedy == (
        "install NVIDIA driver >= 550.54.14 (whether forward compatibility through cuda-compat runs on GPU 0 "
        "cannot be told: NVML did not give its name)"
    )


@pytest.mark.parametrize(
    ("driver", "driver_cuda", "today", "remedy"),
    [
        (
            "535.183.01",
            "12.2",
            "2026-06-30",
            "install NVIDIA driver >= 580.65.06, or install cuda-compat-13-0 and put /usr/local/cuda-13.0/compat "
            "first on LD_LIBRARY_PATH (forward compatibility, supported on "
            "data-center GPUs such as this NVIDIA H100 80GB HBM3)",
        ),
        (
            "535.183.01",
            "12.2",
            "2026-07-01",
            "install NVIDIA driver >= 580.65.06 (forward compatibility through cuda-compat is not supported on "
            "driver 535.183.01: R535 reached its end of life in June 2026, and NVIDIA supports it only on "
            "production and long-term support branches still in support)",
        ),
        (
            "570.133.20",
            "12.8",
            "2026-12-02",
            "install NVIDIA driver >= 580.65.06 (forward compatibility through cuda-compat is not supported on "
            "driver 570.133.20: R570 reached its end of life in February 2026, and NVIDIA supports it only "
            "on production and long-term support branches still in support)",
        ),
    ],
)
def test_forward_compatibility_is_not_offered_on_a_branch_past_its_end_of_life(
    driver: str, driver_cuda: str, today: str, remedy: str
) -> None:
    """A CUDA 13.0 lock on an H100 with driver 535 after June 2026 (R535's end of life) was told to install
    cuda-compat-13-0: NVIDIA supports forward compatibility only on branches in support. The check judges the
    branch's end of life (data/nvidia.json) against the date it runs on (``Target.today``)."""
    target = Target(kind="host", today=today)
    report = evaluate(gpu_lock("2.9.0", "13.0", gpu=H100), gpu_host(H100, driver, driver_cuda), target)
    assert report.verdict == "incompatible"
    assert only(report, "driver") == [
        (
            "fail",
            "NVIDIA driver",
            "CUDA 13.0: driver >= 580.65.06",
            f"driver {driver} (supports CUDA {driver_cuda})",
            remedy,
        )
    ]


def test_every_production_and_long_term_branch_has_its_end_of_life() -> None:
    """A production or long-term support branch without an end of life would be offered cuda-compat forever."""
    table = load("nvidia")["driver_branches"]
    supported = {*table["long_term_support"], *table["production"]}
    assert set(table["end_of_life"]) == supported
    assert all(re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", month) for month in table["end_of_life"].values())


def test_ptx_of_a_newer_cuda_than_the_driver_cannot_be_jit_compiled() -> None:
    """Under minor-version compatibility the driver's JIT compiler does not read PTX of a newer CUDA release than
    its own (CUDA_ERROR_UNSUPPORTED_PTX_VERSION): a GPU that only PTX serves cannot run the build."""
    package, framework = torch_cu("2.7.1", "12.8", arch_list=("sm_80", "compute_80"))
    lock = snapshot(packages=[package], frameworks=[framework], gpu_list=gpus(A100))
    report = evaluate(lock, gpu_host(H100, "550.54.14", "12.4"), HOST)
    assert severities(report.by_rule("driver")) == ["warn"]  # cubins run through minor-version compatibility
    [(severity, _, _needed, found, remedy)] = only(report, "gpu-arch")
    assert severity == "fail", report.render_rows()
    assert "PTX" in found and "12.8" in found and "12.4" in found
    assert "driver >= 570.26" in remedy
    # The driver of that CUDA release or newer compiles it: a warning, as before.
    [(severity, *_)] = only(evaluate(lock, gpu_host(H100, "570.124.06", "12.8"), HOST), "gpu-arch")
    assert severity == "warn"
    # A driver that does not say its CUDA version is judged by its own version.
    [(severity, *_)] = only(evaluate(lock, gpu_host(H100, "550.54.14", ""), HOST), "gpu-arch")
    assert severity == "fail"


def test_minor_version_compatibility_names_cuda_compat_where_nvidia_supports_it() -> None:
    """A CUDA 12.8 build on a data-center GPU's R535 driver (long-term support, in support) runs with reduced features:
    the driver warning and gpu-arch's "cannot JIT-compile the PTX" failure named a newer driver as the only way to full
    support, where cuda-compat-12-8 gives it too. They name it where NVIDIA supports it, and not on a GeForce, a
    branch past its end of life, or WSL."""
    compat = (
        "or install cuda-compat-12-8 and put /usr/local/cuda-12.8/compat first on LD_LIBRARY_PATH (forward "
        "compatibility, supported on data-center GPUs such as this NVIDIA H100 80GB HBM3)"
    )
    in_support = Target(today="2025-06-01")
    package, framework = torch_cu("2.7.1", "12.8", arch_list=("sm_80", "compute_80"))
    lock = snapshot(packages=[package], frameworks=[framework], gpu_list=gpus(A100))
    report = evaluate(lock, gpu_host(H100, "535.54.03", "12.2"), in_support)
    [(severity, *_, remedy)] = only(report, "driver")
    assert severity == "warn"
    assert remedy == (
        "runs through CUDA minor-version compatibility (reduced features: no PTX JIT for newer code); install NVIDIA "
        f"driver >= 570.26 for full support, {compat}"
    )
    [(severity, *_, remedy)] = only(report, "gpu-arch")
    assert severity == "fail"
    assert remedy == (
        "install NVIDIA driver >= 570.26 (minor-version compatibility runs no PTX of a newer CUDA release than the "
        f"driver's), {compat}, or use PyTorch's own cu128 build of torch 2.7.1, which has sm_90 kernels"
    )
    # Not where NVIDIA does not support it: a GeForce, a branch past its end of life, WSL.
    for host, target in (
        (gpu_host(RTX_4090, "535.54.03", "12.2"), in_support),
        (gpu_host(H100, "535.54.03", "12.2"), Target(today="2026-07-01")),
        (gpu_host(H100, "535.54.03", "12.2"), Target(today="2025-06-01", wsl=True)),
    ):
        report = evaluate(lock, host, target)
        assert not [row for row in only(report, "driver") + only(report, "gpu-arch") if "cuda-compat" in row[4]]


def test_a_container_is_judged_on_the_driver_s_own_libcuda_not_a_cuda_compat_one() -> None:
    """cuda-compat's libcuda on this host's loader path (NVML answers CUDA 12.9 on driver R535) is no part of a
    container, which the NVIDIA container toolkit gives the driver's own libcuda (CUDA 12.2): the check said "ok"."""
    host = gpu_host(RTX_4090, "535.54.03", "12.9")
    lock = gpu_lock("2.8.0", "12.9", gpu=RTX_4090)
    [(severity, _, needed, found, remedy)] = only(evaluate(lock, host, target_of("docker")), "driver")
    assert (severity, needed, found) == (
        "warn",
        "CUDA 12.9: driver >= 575.51.03",
        "driver 535.54.03 (supports CUDA 12.2)",
    )
    assert "unsatisfied condition: cuda>=12.9" in remedy
    [(severity, *_)] = only(evaluate(lock, host, HOST), "driver")
    assert severity == "fail"


@pytest.mark.parametrize(
    ("arch", "gpu", "severity"),
    [
        ("compute_90a", ("NVIDIA H100 80GB HBM3", "9.0", 81559), "warn"),
        ("compute_90a", ("NVIDIA B200", "10.0", 183359), "fail"),
        ("compute_100f", ("NVIDIA B300", "10.3", 275040), "warn"),
        ("compute_100f", RTX_5090, "fail"),
        ("compute_90", ("NVIDIA B200", "10.0", 183359), "warn"),
    ],
)
def test_architecture_and_family_specific_ptx_is_not_jit_compiled_for_other_gpus(
    arch: str, gpu: tuple[str, str, int], severity: str
) -> None:
    """PTX of ``compute_90a`` uses features of compute capability 9.0 alone, and ``compute_100f`` those of the 10.x
    family: the driver JIT-compiles them for no other GPU. A torch build with only ``compute_90a`` PTX was said to run
    on a B200 (sm_100) "through PTX JIT", and fails there: no kernel image is available for execution on the device."""
    package, framework = torch_cu("2.8.0", "12.9", arch_list=("sm_80", arch))
    lock = snapshot(packages=[package], frameworks=[framework], cuda=Cuda(runtime_version="12.9", runtime_source="pip"))
    report = evaluate(lock, gpu_host(gpu, "575.57.08", "12.9"), HOST)
    [(found_severity, _, needed, found, _)] = only(report, "gpu-arch")
    assert found_severity == severity, found
    assert needed == f"torch 2.8.0+cu129 kernels (captured): sm_80, {arch}"
    if severity == "fail":
        assert found.endswith(": no kernel image")


@pytest.mark.parametrize(
    ("driver", "today", "why"),
    [
        ("545.29.06", "2026-01-15", "R545 is a new feature branch"),
        ("570.133.20", "2026-07-01", "R570 reached its end of life in February 2026"),
    ],
)
def test_a_cuda_compat_libcuda_on_a_branch_nvidia_does_not_support_it_on_is_a_warning(
    driver: str, today: str, why: str
) -> None:
    """cuda-compat's libcuda (CUDA 12.9) on an H100 whose driver is of a new feature branch, or of a branch past its
    end of life: NVIDIA supports forward compatibility on neither, and the check said "ok" (the remedy of a driver
    too old does not offer cuda-compat there)."""
    lock = gpu_lock("2.8.0", "12.9", gpu=H100)
    host = gpu_host(H100, driver, "12.9")
    [(severity, _, _, found, remedy)] = only(evaluate(lock, host, Target(kind="host", today=today)), "driver")
    assert severity == "warn", found
    native = "12.3" if driver.startswith("545") else "12.8"
    assert found == f"driver {driver} (supports CUDA {native}) with cuda-compat's libcuda (CUDA 12.9)"
    assert remedy == (
        f"NVIDIA supports forward compatibility (cuda-compat) only on production and long-term support branches still "
        f"in support, and {why}: install NVIDIA driver >= 575.51.03"
    )
    supported = gpu_host(H100, "535.54.03", "12.9")
    [(severity, *_)] = only(evaluate(lock, supported, Target(kind="host", today="2026-01-15")), "driver")
    assert severity == "ok"


def test_a_cuda_compat_libcuda_on_a_driver_older_than_the_table_names_no_empty_cuda_version() -> None:
    """Driver 396 is older than every release of the table: the finding read "(supports CUDA ) with cuda-compat's"."""
    host = gpu_host(("Tesla V100-SXM2-32GB", "7.0", 32768), "396.26", "11.2")
    [(_, _, _, found, _)] = only(evaluate(gpu_lock("1.8.1", "11.1", gpu=H100), host, HOST), "driver")
    assert found == "driver 396.26 with cuda-compat's libcuda (CUDA 11.2)"


V100 = ("Tesla V100-SXM2-32GB", "7.0", 32768)


def test_release_sets_follow_the_torch_release_volta_left_the_cu128_builds_in_2_11() -> None:
    """PyTorch dropped Volta (sm_70) from its CUDA 12.8+ builds in release 2.11, and published no cu128 or cu129
    build from 2.12 on. A torch 2.11.0+cu128 lock on a V100 passed (the cu128 release set of 2.7 has sm_70), where
    torch finds no kernel image; a torch 2.13.0+cu130 lock on a V100 was told to use the cu129 build of torch 2.13.0,
    which does not exist."""
    [(severity, *_, found, remedy)] = only(
        evaluate(gpu_lock("2.10.0", "12.8"), gpu_host(V100, "575.57.08", "12.9"), HOST), "gpu-arch"
    )
    assert severity == "ok", found
    [(severity, _, needed, found, remedy)] = only(
        evaluate(gpu_lock("2.11.0", "12.8"), gpu_host(V100, "575.57.08", "12.9"), HOST), "gpu-arch"
    )
    assert (severity, found) == ("fail", "Tesla V100-SXM2-32GB (sm_70): no kernel image")
    assert needed.startswith("torch 2.11.0+cu128 kernels (release set): sm_75, ")
    assert remedy == "use the cu126 build of torch 2.11.0 for this sm_70 GPU"
    [(severity, *_, remedy)] = only(
        evaluate(gpu_lock("2.13.0", "13.0"), gpu_host(V100, "580.65.06", "13.0"), HOST), "gpu-arch"
    )
    assert (severity, remedy) == ("fail", "use the cu126 build of torch 2.13.0 for this sm_70 GPU")


B200 = ("NVIDIA B200", "10.0", 183359)


def test_cuda_13_2_builds_of_torch_2_12_on_have_a_release_set() -> None:
    """PyTorch publishes cu132 builds from release 2.12 (the PyPI default from 2.14), and no cu126 build from 2.15:
    a torch+cu132 lock was "the cu132 release set is unknown to envsnap, cannot verify" on every GPU."""
    [(severity, _, needed, found, remedy)] = only(
        evaluate(gpu_lock("2.14.0", "13.2"), gpu_host(B200, "595.45.04", "13.2"), HOST), "gpu-arch"
    )
    assert (severity, remedy) == ("ok", ""), found
    assert needed == "torch 2.14.0+cu132 kernels (release set): sm_75, sm_80, sm_86, sm_90, sm_100, sm_120"
    [(severity, *_, remedy)] = only(
        evaluate(gpu_lock("2.14.0", "13.2"), gpu_host(V100, "595.45.04", "13.2"), HOST), "gpu-arch"
    )
    assert (severity, remedy) == ("fail", "use the cu126 build of torch 2.14.0 for this sm_70 GPU")
    [(severity, *_, remedy)] = only(
        evaluate(gpu_lock("2.15.0", "13.2"), gpu_host(V100, "595.45.04", "13.2"), HOST), "gpu-arch"
    )
    assert (severity, remedy) == (
        "fail",
        "no known torch 2.15.0 build has kernels for sm_70; the cu126 build of torch >=2.6,<2.15 has them",
    )
    # The default PyPI torch 2.14 carries no +cu132 label: its CUDA 13.2 wheels tell the variant.
    lock = snapshot(packages=[pkg("torch", "2.14.0"), pkg("nvidia-cuda-runtime", "13.2.51")])
    [(severity, _, needed, *_)] = only(evaluate(lock, gpu_host(B200, "595.45.04", "13.2"), HOST), "gpu-arch")
    assert severity == "ok" and needed.startswith("torch 2.14.0+cu132 kernels (release set): sm_75, ")


def test_only_torch_2_13_0_of_the_cuda_13_builds_carries_sm_120_ptx() -> None:
    """PyTorch's release wheels ship no PTX, but 2.13.0's did (12.0+PTX, compute_120): the release set of each
    torch release says which."""
    [(*_, needed, _, _)] = only(
        evaluate(gpu_lock("2.13.0", "13.0"), gpu_host(B200, "595.45.04", "13.2"), HOST), "gpu-arch"
    )
    assert needed.endswith("sm_100, sm_120, compute_120")
    for version, cuda in (("2.12.0", "13.0"), ("2.13.1", "13.2"), ("2.14.0", "13.0"), ("2.12.0", "13.2")):
        [(*_, needed, _, _)] = only(
            evaluate(gpu_lock(version, cuda), gpu_host(B200, "595.45.04", "13.2"), HOST), "gpu-arch"
        )
        assert needed.endswith("sm_100, sm_120"), (version, needed)


@pytest.mark.parametrize("version", ["2.8.0+cu129", "2.8.0a0+gitc0ffee1"])
def test_a_custom_torch_build_is_offered_the_official_build_of_its_own_cuda_variant(version: str) -> None:
    """A torch built from source for CUDA 12.9 without sm_100 fails on a B200; PyTorch's own cu129 build of that
    release has sm_100. The remedy skipped the lock's own variant and said "use the cu128 build of torch 2.8.0", a
    CUDA runtime change the official cu129 build does not need (a source build's version reads 2.8.0a0+git...)."""
    framework = Framework(name="torch", version=version, cuda_version="12.9", arch_list=("sm_80", "sm_90"))
    package = pkg("torch", version, "cp311-cp311-linux_x86_64")
    lock = snapshot(packages=[package], frameworks=[framework], cuda=Cuda(runtime_version="12.9", runtime_source="pip"))
    [(severity, _, needed, found, remedy)] = only(evaluate(lock, gpu_host(B200, "575.57.08", "12.9"), HOST), "gpu-arch")
    assert (severity, found) == ("fail", "NVIDIA B200 (sm_100): no kernel image")
    assert needed.endswith("kernels (captured): sm_80, sm_90")
    assert remedy == "use PyTorch's own cu129 build of torch 2.8.0 for this sm_100 GPU"
    # An official build's captured list is its release set: its own variant has nothing more to offer.
    package, framework = torch_cu("2.11.0", "12.8", arch_list=("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"))
    lock = snapshot(packages=[package], frameworks=[framework], cuda=Cuda(runtime_version="12.8", runtime_source="pip"))
    [(severity, *_, remedy)] = only(evaluate(lock, gpu_host(V100, "575.57.08", "12.9"), HOST), "gpu-arch")
    assert (severity, remedy) == ("fail", "use the cu126 build of torch 2.11.0 for this sm_70 GPU")


def _cu12_and_cu13_wheels() -> Snapshot:
    """A venv with the CUDA 12 and the CUDA 13 runtime wheels (cupy-cuda12x beside a CUDA 13 library, say) and no
    framework: nothing in it says which runtime the code loads."""
    return snapshot(
        packages=[
            pkg("nvidia-cuda-runtime-cu12", "12.8.90"),
            pkg("nvidia-cuda-runtime", "13.0.96"),
            pkg("numpy", "2.2.6"),
        ]
    )


def test_cuda_12_and_13_runtime_wheels_without_a_framework_are_not_judged_as_cuda_13_alone() -> None:
    """Such a venv was judged as needing CUDA 13.0 whichever runtime the code loads: on a V100 with driver 570 both
    the driver and the GPU failed, where code that loads the CUDA 12.8 runtime runs. Each verdict now holds for the
    runtime the code may load: ok where both run, a warning naming both where only CUDA 12.8 runs."""
    lock = _cu12_and_cu13_wheels()
    report = evaluate(lock, gpu_host(V100, "570.86.15", "12.8"), HOST)
    for rule in ("driver", "gpu-arch"):
        [(severity, _, _, found, remedy)] = only(report, rule)
        assert severity == "warn", (rule, found, remedy)
        assert "nvidia-cuda-runtime-cu12 12.8.90" in remedy and "nvidia-cuda-runtime 13.0.96" in remedy, remedy
        assert "CUDA 12.8 runs here" in remedy, remedy
    [(*_, remedy)] = only(report, "driver")
    assert "CUDA 12.8 runs here; for CUDA 13.0: install NVIDIA driver >= 580.65.06" in remedy, remedy
    # Where both run, nothing to say; where neither does, a failure as before.
    report = evaluate(lock, gpu_host(H100, "580.65.06", "13.0"), HOST)
    assert [f[0] for f in only(report, "driver") + only(report, "gpu-arch")] == ["ok", "ok"]
    report = evaluate(lock, gpu_host(("Tesla K80", "3.7", 11441), "470.82.01", "11.4"), HOST)
    [(severity, *_, remedy)] = only(report, "driver")
    assert severity == "fail" and remedy.startswith("install NVIDIA driver >= 580.65.06"), remedy
    [(severity, *_)] = only(report, "gpu-arch")
    assert severity == "fail"


def test_an_unknown_release_set_names_the_table_data_version() -> None:
    """A finding about something the arch table does not know says so with the table's version (docs/design.md):
    "the cu142 release set is unknown to envsnap, cannot verify" named none."""
    version = load("torch_arch")["data_version"]
    [(severity, *_, remedy)] = only(
        evaluate(gpu_lock("3.1.0", "14.2"), gpu_host(RTX_5090, "580.65.06", "13.0"), HOST), "gpu-arch"
    )
    assert severity == "warn"
    assert remedy.startswith(f"the cu142 release set is unknown to envsnap's arch table (data version {version}), ")


T4 = ("Tesla T4", "7.5", 15360)


def aarch64_torch_lock(version: str, cuda: str) -> Snapshot:
    """A lock captured on a Linux aarch64 (Grace) machine with PyTorch's aarch64 CUDA wheel of torch."""
    var = "cu" + cuda.replace(".", "")
    package = pkg("torch", f"{version}+{var}", "cp311-cp311-manylinux_2_28_aarch64")
    return snapshot(
        machine="aarch64",
        cpu_flags=(),
        packages=[package],
        frameworks=[Framework(name="torch", version=f"{version}+{var}", cuda_version=cuda)],
        gpu_list=gpus(H100),
        driver="595.45.04",
        driver_cuda="13.2",
        cuda=Cuda(runtime_version=cuda, runtime_source="pip"),
    )


def test_linux_aarch64_torch_builds_are_judged_against_pytorch_s_aarch64_release_set() -> None:
    """PyTorch's Linux aarch64 CUDA builds carry other kernels than its x86_64 ones (RELEASE.md's CUDA support matrix:
    CUDA 13 aarch64 wheels have no sm_75 or sm_86 cubin, and carry sm_110 for Thor, which no x86_64 build has). A torch
    2.14.0+cu132 lock captured on aarch64 passed on an aarch64 host with a Turing GPU, where torch finds no kernel."""
    aarch64_host = gpu_host(T4, "595.45.04", "13.2", machine="aarch64", cpu_flags=())
    [(severity, _, needed, found, remedy)] = only(
        evaluate(aarch64_torch_lock("2.14.0", "13.2"), aarch64_host, HOST), "gpu-arch"
    )
    assert (severity, found) == ("fail", "Tesla T4 (sm_75): no kernel image")
    assert needed == "torch 2.14.0+cu132 kernels (release set, Linux aarch64): sm_80, sm_90, sm_100, sm_110, sm_120"
    assert remedy == "no known torch 2.14.0 build has kernels for sm_75; use a torch build for this GPU"
    # The x86_64 build of the same release has sm_75 (and no sm_110: no x86_64 GPU has compute capability 11.0).
    [(severity, _, needed, *_)] = only(
        evaluate(gpu_lock("2.14.0", "13.2"), gpu_host(T4, "595.45.04", "13.2"), HOST), "gpu-arch"
    )
    assert severity == "ok"
    assert needed == "torch 2.14.0+cu132 kernels (release set): sm_75, sm_80, sm_86, sm_90, sm_100, sm_120"
    # An aarch64 build of a CUDA variant whose aarch64 kernels the table does not know is not judged by the x86_64 set.
    # Its CUDA major still judges the GPU (CUDA 12 supports it).
    [(severity, *_, remedy), (major, _, needed, *_)] = only(
        evaluate(aarch64_torch_lock("2.8.0", "12.8"), aarch64_host, HOST), "gpu-arch"
    )
    assert severity == "warn"
    assert (major, needed) == ("ok", "CUDA 12 supports compute capability >= 5.0")
    assert remedy.startswith("the cu128 Linux aarch64 release set is unknown to envsnap's arch table (data version ")


def test_an_aarch64_torch_lock_on_x86_64_fails_on_the_machine_alone() -> None:
    """A Grace-Hopper node's lock checked on an x86_64 GPU host (or an x86_64 Docker engine) failed the machine and
    also warned that "the cu128 Linux aarch64 release set is unknown": a verdict on kernels of a build that cannot be
    installed there. The machine failure is the one finding about it; the GPU is judged where the build runs."""
    lock = aarch64_torch_lock("2.8.0", "12.8")
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux", runtimes=("nvidia", "runc"))
    for target in (HOST, target_of("venv"), target_of("docker", docker=engine)):
        report = evaluate(lock, gpu_host(H100, "595.45.04", "13.2"), target)
        assert [f.rule for f in report.failures] == ["platform"], target.kind
        assert only(report, "gpu-arch") == [], target.kind
    # Known kernels of the aarch64 build are not judged on x86_64 either (a T4 has no sm_75 in them).
    report = evaluate(aarch64_torch_lock("2.14.0", "13.2"), gpu_host(T4, "595.45.04", "13.2"), HOST)
    assert only(report, "gpu-arch") == []


def test_cuda_compat_is_not_offered_in_a_container_on_a_wsl_engine() -> None:
    """Docker Desktop's engine on WSL 2 runs containers on the WSL kernel, whose libcuda is the Windows driver's:
    the image's cuda-compat was offered there, which NVIDIA does not support on WSL."""
    from envsnap.compat.target import docker_facts_from_info

    engine = docker_facts_from_info(
        {"Architecture": "x86_64", "OSType": "linux", "KernelVersion": "5.15.167.4-microsoft-standard-WSL2"}
    )
    assert engine.kernel_version == "5.15.167.4-microsoft-standard-WSL2"
    host = gpu_host(H100, "470.82.01", "11.4")
    lock = gpu_lock("2.5.1", "12.4", gpu=H100)
    for target in (target_of("docker", docker=engine, wsl=True, today="2024-07-31"), Target(wsl=True)):
        [(severity, *_, remedy)] = only(evaluate(lock, host, target), "driver")
        assert severity == "fail", target.kind
        assert "cuda-compat-12-4" not in remedy and remedy.endswith(
            "(forward compatibility through cuda-compat is not supported on WSL: NVIDIA supports it on native Linux "
            "only)"
        )
    [(_, *_, remedy)] = only(evaluate(lock, host, target_of("docker", docker=engine, today="2024-07-31")), "driver")
    assert "rely on the image's cuda-compat-12-4" in remedy


def test_cuda_12_and_13_runtime_wheels_in_a_container_need_the_driver_of_the_image_s_cuda() -> None:
    """The docker rebuild of such a venv builds on an image of the newest CUDA (13.0), which the NVIDIA container
    toolkit starts only on a driver of CUDA 13.0: on driver 570 the check said "CUDA 12.8 runs here" (a warning,
    exit 0) for a container that does not start. It fails now and names the image's requirement and the way out."""
    lock = _cu12_and_cu13_wheels()
    report = evaluate(lock, gpu_host(A100, "570.86.15", "12.8"), target_of("docker"))
    [(severity, _, needed, _, remedy)] = only(report, "driver")
    assert severity == "fail", remedy
    assert needed == "CUDA 13.0: driver >= 580.65.06"
    assert remedy.startswith(
        "the rebuilt image is for CUDA 13.0, the newest runtime the environment carries (nvidia-cuda-runtime 13.0.96 "
        "and nvidia-cuda-runtime-cu12 12.8.90), and declares NVIDIA_REQUIRE_CUDA=cuda>=13.0, which this driver does "
        "not meet: install NVIDIA driver >= 580.65.06"
    ), remedy
    assert remedy.endswith(
        "or rebuild with --base-image of a CUDA 12.8 image (the CUDA 13.0 runtime does not run there)"
    )
    # With --base-image (a CUDA 12.8 image, say), the image serves the runtime of its CUDA: a warning naming both.
    mine = target_of("docker", base_image="nvidia/cuda:12.8.1-runtime-ubuntu24.04")
    [(severity, *_, remedy)] = only(evaluate(lock, gpu_host(A100, "570.86.15", "12.8"), mine), "driver")
    assert severity == "warn" and "CUDA 12.8 runs here" in remedy, remedy
    # The venv target runs either runtime the code loads: a warning as before.
    [(severity, *_)] = only(evaluate(lock, gpu_host(A100, "570.86.15", "12.8"), HOST), "driver")
    assert severity == "warn"
    # On a driver of CUDA 13 the image starts and both runtimes run.
    [(severity, *_)] = only(evaluate(lock, gpu_host(A100, "580.65.06", "13.0"), target_of("docker")), "driver")
    assert severity == "ok"


def test_verify_takes_the_locks_torch_arch_list_only_for_the_lock_s_build() -> None:
    """verify's capture imports nothing, so torch's arch list is the lock's ``--deep`` one where the installed torch
    is the lock's build; another build of the same version (its RECORD digest differs: a custom build installed over
    it) is judged by its release set, as check judges a lock without an arch list."""
    from envsnap.compat import kernel_differences

    package, framework = torch_cu("2.7.1", "12.8", arch_list=("sm_90",))
    package = dataclasses.replace(package, record_digest="sha256:locked")
    lock = snapshot(packages=[package], frameworks=[framework], gpu_list=gpus(A100), driver="570.86.15")
    here = dataclasses.replace(lock, frameworks={"torch": dataclasses.replace(framework, arch_list=())})
    [(severity, subject, expected, actual)] = [
        (d.severity, d.subject, d.expected, d.actual) for d in kernel_differences(lock, here, {})
    ]
    assert (severity, subject, expected) == ("warning", "torch", "sm_90 (captured)")
    assert actual == "GPU 0 NVIDIA A100-SXM4-80GB (sm_80): no kernel image"
    other = dataclasses.replace(package, record_digest="sha256:another")
    rebuilt = dataclasses.replace(here, python=dataclasses.replace(here.python, packages=(other,)))
    assert kernel_differences(lock, rebuilt, {}) == []  # the cu128 release set has sm_80
    # No GPU CUDA uses here: nothing.
    assert kernel_differences(lock, here, {"CUDA_VISIBLE_DEVICES": ""}) == []


def _torch_lock(gpu: tuple[str, str, int], **framework: Any) -> Snapshot:
    """A lock of torch 2.7.1+cu128 (RECORD digest ``sha256:locked``) whose framework table holds ``framework``, on
    a host with ``gpu`` and a driver of CUDA 12.8."""
    package, torch = torch_cu("2.7.1", "12.8")
    package = dataclasses.replace(package, record_digest="sha256:locked")
    torch = dataclasses.replace(torch, **framework)
    return snapshot(packages=[package], frameworks=[torch], gpu_list=gpus(gpu), driver="570.86.15", driver_cuda="12.8")


def _kernel_rows(lock: Snapshot, here: Snapshot) -> list[tuple[str, str, str, str, str]]:
    from envsnap.compat import kernel_differences

    return [(d.severity, d.subject, d.expected, d.actual, d.note) for d in kernel_differences(lock, here, {})]


def test_verify_of_a_libtorch_cuda_read_in_part_takes_the_locks_kernels_as_check_does() -> None:
    """check judges the lock's torch by the kernels its capture read from libtorch_cuda (sm_90 alone: no kernel for
    an A100). verify, whose own capture read the installed libtorch_cuda in part, took the lock's --deep arch list
    where it had one, never the lock's kernels, and judged the same build by its release set (a cubin for sm_80):
    check failed the A100, verify said nothing. It takes the lock's kernels where the build is the lock's."""
    lock = _torch_lock(A100, cuda_kernels=("sm_90",))
    [(severity, *_)] = only(evaluate(lock, lock, HOST), "gpu-arch")
    assert severity == "fail"
    here = dataclasses.replace(
        lock,
        frameworks={"torch": dataclasses.replace(lock.frameworks["torch"], cuda_kernels=(), cuda_kernels_partial=True)},
    )
    [row] = _kernel_rows(lock, here)
    assert row[:4] == (
        "warning",
        "torch",
        "sm_90 (libtorch_cuda)",
        "GPU 0 NVIDIA A100-SXM4-80GB (sm_80): no kernel image",
    )
    # With a --deep arch list too, the kernels still judge first, as check judges them.
    deep = _torch_lock(A100, cuda_kernels=("sm_90",), arch_list=("sm_80", "sm_90"))
    here = dataclasses.replace(
        deep,
        frameworks={
            "torch": dataclasses.replace(
                deep.frameworks["torch"], cuda_kernels=(), arch_list=(), cuda_kernels_partial=True
            )
        },
    )
    [(check_severity, _, _, check_found, _)] = only(evaluate(deep, deep, HOST), "gpu-arch")
    [row] = _kernel_rows(deep, here)
    assert (check_severity, row[0], row[2]) == ("fail", "warning", "sm_90 (libtorch_cuda)")
    assert row[3] == f"GPU 0 {check_found}"
    # Another build of the same version (its RECORD differs) is not judged by the lock's kernels.
    other = dataclasses.replace(lock.python.packages[0], record_digest="sha256:another")
    rebuilt = dataclasses.replace(here, python=dataclasses.replace(here.python, packages=(other,)))
    assert [row[2] for row in _kernel_rows(lock, rebuilt)] == []


def test_verify_says_checks_words_where_the_kernels_and_the_arch_list_disagree_on_a_gpu_that_passes() -> None:
    """libtorch_cuda's kernels have a cubin for an RTX 5090, the --deep arch list none: check passes the GPU and says
    the arch list would judge it otherwise; verify said nothing (an "ok" is no difference). It says check's words, as
    info."""
    lock = _torch_lock(RTX_5090, cuda_kernels=("sm_80", "sm_120"), arch_list=("sm_80", "sm_90"))
    [(severity, _, _, found, _)] = only(evaluate(lock, lock, HOST), "gpu-arch")
    assert severity == "ok" and "its --deep arch list, sm_80, sm_90, has none" in found
    assert _kernel_rows(lock, lock) == [("info", "torch", "sm_80, sm_120 (libtorch_cuda)", f"GPU 0 {found}", "")]
    # Where both agree, nothing, as before.
    agree = _torch_lock(RTX_5090, cuda_kernels=("sm_80", "sm_120"), arch_list=("sm_80", "sm_90", "sm_120"))
    assert _kernel_rows(agree, agree) == []


def test_a_release_set_guess_after_a_libtorch_cuda_read_in_part_never_fails_a_gpu() -> None:
    """A libtorch_cuda read only in part records no kernels, and torch is judged by its variant's release set, a
    guess of what PyTorch's own build carries: check failed a GTX 1080 on it (exit 3) and verify warned, though the
    headers left unread may hold its cubin, as a distribution's list read in part never fails a GPU. check warns that
    it cannot verify (verify: info), naming the build that has the kernels; a --deep arch list, the build's own, still
    fails it."""
    lock = _torch_lock(GTX_1080, cuda_kernels_partial=True)
    report = evaluate(lock, lock, HOST)
    [(severity, _, needed, found, remedy)] = only(report, "gpu-arch")
    assert "(release set; libtorch_cuda read in part, not judged by)" in needed
    assert (severity, found) == ("warn", "NVIDIA GeForce GTX 1080 (sm_61): no kernel image")
    assert remedy.startswith("cannot verify: the capture read libtorch_cuda's kernel headers in part; "), remedy
    [row] = _kernel_rows(lock, lock)
    assert row[0] == "info" and row[4] == remedy
    deep = _torch_lock(GTX_1080, cuda_kernels_partial=True, arch_list=("sm_80", "sm_90"))
    assert severities(deep_findings := evaluate(deep, deep, HOST).by_rule("gpu-arch")) == ["fail"], deep_findings
