"""Each rule on its own, at its boundaries."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from compat_builders import (
    A100,
    GTX_1080,
    H100,
    HOST,
    RTX_4090,
    RTX_5090,
    X86_FLAGS,
    gpu_host,
    gpu_lock,
    gpus,
    pkg,
    severities,
    snapshot,
    target_of,
    torch_cu,
)
from testutil import count_tags_made

from envsnap.compat import DockerFacts, Finding, Target, evaluate
from envsnap.compat._facts import cuda_selected, forward_compatible
from envsnap.compat._tags import TagTarget, glibc_floor
from envsnap.compat.rules import (
    cpu_isa,
    cuda_libs,
    cuda_present,
    disk,
    docker,
    driver,
    glibc,
    gpu_arch,
    gpu_memory,
    platform,
    python,
    wheels,
)
from envsnap.cudaneed import cuda_need, local_cuda
from envsnap.model import Artifact, Conda, CondaPackage, Cuda, CudaLibrary, Framework, Gpu, Nvidia, SystemPackage
from envsnap.platforms import machine, numbers

# ----------------------------------------------------------------------------------------------- facts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("535.54.03", (535, 54, 3)),
        ("12.8", (12, 8)),
        ("2.36", (2, 36)),
        ("9.1.0.70", (9, 1, 0, 70)),
        ("3.13.0rc1", (3, 13, 0)),
        ("", ()),
    ],
)
def test_numbers(text: str, parts: tuple[int, ...]) -> None:
    assert numbers(text) == parts


@pytest.mark.parametrize(
    ("version", "cuda"),
    [
        ("2.7.1+cu128", "12.8"),
        ("2.0.1+cu118", "11.8"),
        ("2.9.0+cu130", "13.0"),
        ("2.7.1+cpu", ""),
        ("2.7.1", ""),
        ("1.7.1+cu92", "9.2"),
        ("not a version", ""),
    ],
)
def test_local_cuda(version: str, cuda: str) -> None:
    assert local_cuda(version) == cuda


def test_local_cuda_reads_a_label_only_where_packaging_finds_one() -> None:
    # A version without "+" has no local label (no ``Version`` is built for it): the same answer as packaging's.
    from packaging.version import InvalidVersion, Version

    def by_packaging(version: str) -> str | None:
        try:
            return Version(version).local
        except InvalidVersion:
            return None

    versions = ["2.7.1", "2.7.1+cu128", "2.7.1+CU128", "1!2.0.post1.dev3", "2.0rc1", "v2.7.1+cu128.abc", "+cu118"]
    versions += ["2.7.1-cu128", "2.7.1_cu128", "2.7.1.cu128", "2.7.1 +cu128", "  2.7.1+cu128  ", "", "cu128"]
    for version in versions:
        if "+" not in version:
            assert by_packaging(version) is None and local_cuda(version) == "", version
    assert local_cuda("  2.7.1+cu128  ") == "12.8" and local_cuda("v2.7.1+cu128.abc") == "12.8"


def test_machine_aliases() -> None:
    assert machine("AMD64") == machine("x86_64") == "x86_64"
    assert machine("arm64") == "aarch64"
    assert machine("i386") == "i686"


def test_a_system_cuda_toolkit_nothing_loads_does_not_make_a_lock_need_cuda() -> None:
    # Capture records a toolkit nobody loads as present, not selected: no runtime_version.
    unloaded = CudaLibrary(component="runtime", version="13.0.48", source="system", location="/usr/local/cuda/lib64")
    assert cuda_need(snapshot(cuda=Cuda(toolkit_version="13.0", copies=(unloaded,)))) is None
    need = cuda_need(snapshot(cuda=Cuda(runtime_version="12.8.90", runtime_source="pip")))
    assert need is not None and need.version == "12.8"


def test_a_selected_system_cuda_runtime_makes_a_lock_need_cuda() -> None:
    # The environment's own extension links the toolkit through an RPATH: the copy is selected, the lock
    # needs CUDA although no framework or nvidia-* wheel says so.
    loaded = CudaLibrary(
        component="runtime", version="13.0.48", source="system", location="/usr/local/cuda/lib64", selected=True
    )
    need = cuda_need(snapshot(cuda=Cuda(runtime_version="13.0.48", runtime_source="system", copies=(loaded,))))
    assert need is not None and (need.version, need.evidence) == ("13.0", "CUDA runtime 13.0.48 (system)")


def test_cuda_rule_on_a_driver_that_errors() -> None:
    dead = dataclasses.replace(snapshot(), nvidia=Nvidia(source="nvml", error="NVML_ERROR_DRIVER_NOT_LOADED"))
    [f] = cuda_present.check(gpu_lock(), dead, HOST)
    assert (f.severity, f.found) == ("fail", "the NVIDIA driver did not answer: NVML_ERROR_DRIVER_NOT_LOADED")
    host = gpu_host(A100, "570.133.20", "12.8")
    partial = dataclasses.replace(host, nvidia=dataclasses.replace(host.nvidia, error="GPU 1: GPU is lost"))
    [f] = cuda_present.check(gpu_lock(), partial, HOST)
    assert (f.severity, f.found) == ("warn", "1 GPU(s), driver 570.133.20; GPU 1: GPU is lost")
    assert severities(driver.check(gpu_lock(), partial, HOST)) == ["ok"]


@pytest.mark.parametrize(
    "error",
    [
        "nvmlInit: Driver Not Loaded",
        "NVML did not answer within 10 s (a hung driver?)",
        "nvmlInit: RM has detected an NVML/RM version mismatch.",
    ],
)
def test_a_driver_that_is_installed_and_did_not_answer_is_not_to_be_installed(error: str) -> None:
    """NVML's library was found and its answer was an error or nothing: the remedy read "install an NVIDIA driver
    >= 570.26 on a host with an NVIDIA GPU", on a GPU host whose driver is installed (a module not loaded, a driver
    upgraded without a reboot, a wedged GPU)."""
    dead = dataclasses.replace(snapshot(), nvidia=Nvidia(source="nvml", error=error))
    [f] = cuda_present.check(gpu_lock(), dead, HOST)
    assert (f.severity, f.found) == ("fail", f"the NVIDIA driver did not answer: {error}")
    assert f.remedy == (
        "make the installed NVIDIA driver answer (`nvidia-smi` shows what fails: a kernel module not loaded, or "
        "not the driver's own after an upgrade without a reboot, or a hung GPU); CUDA 12.8 needs a driver "
        ">= 570.26, or pass --cpu-only to run without the GPU"
    )


def test_cuda_rule_on_a_driver_without_a_gpu_asks_for_a_gpu_not_a_driver() -> None:
    no_gpu = snapshot(driver="580.65.06", driver_cuda="13.0")
    [f] = cuda_present.check(gpu_lock(), no_gpu, HOST)
    assert (f.severity, f.found) == ("fail", "an NVIDIA driver but no GPU")
    assert f.remedy.startswith("run on a host with an NVIDIA GPU (driver >= ")
    assert "install" not in f.remedy and f.remedy.endswith(", or pass --cpu-only to run without the GPU")
    [f] = cuda_present.check(gpu_lock(), snapshot(), HOST)  # no driver at all: the driver is what to install
    assert f.remedy.startswith("install an NVIDIA driver >= ") and "on a host with an NVIDIA GPU" in f.remedy


def test_a_cpu_lock_captured_on_a_gpu_warns_on_a_host_without_one() -> None:
    """A lock that records the GPU and driver it was captured with, and no CUDA its packages need: the cuda rule said
    "none (CPU-only lock)", ok, on a host with no GPU at all. It warns that the lock was captured with that GPU and
    this host has no NVIDIA driver (a warning: nothing the lock installs needs it); ok where the host has a driver,
    or with --cpu-only. Told by the driver's library being found, not by asking NVML (it may hang)."""
    lock = snapshot(gpu_list=gpus(A100, A100), driver="550.54.14", driver_cuda="12.4")
    needed = "none (CPU-only lock; captured with 2 GPUs: 2x NVIDIA A100-SXM4-80GB, driver 550.54.14)"
    remedy = (
        "nothing the lock installs needs CUDA; run on a host with an NVIDIA GPU if your code uses one, "
        "or pass --cpu-only to accept running without it"
    )
    without = dataclasses.replace(HOST, nvml_library=False)
    assert cuda_present.check(lock, snapshot(), without) == [
        Finding("warn", "CUDA", needed, "no NVIDIA driver", remedy, "cuda")
    ]
    assert not cuda_present.RULE.reads_gpus(lock)  # NVML is not asked for it
    with_driver = dataclasses.replace(HOST, nvml_library=True)
    [f] = cuda_present.check(lock, snapshot(), with_driver)
    assert (f.severity, f.needed, f.found) == ("ok", needed, "an NVIDIA driver (its GPUs not asked: no GPU needed)")
    [f] = cuda_present.check(lock, snapshot(), dataclasses.replace(without, cpu_only=True))
    assert (f.severity, f.found, f.remedy) == ("ok", "no GPU needed (--cpu-only)", "")
    [f] = cuda_present.check(lock, snapshot(), HOST)  # not looked for
    assert f.severity == "ok"
    [f] = cuda_present.check(snapshot(gpu_list=gpus(H100), driver="570.133.20"), snapshot(), without)
    assert f.needed == "none (CPU-only lock; captured with 1 GPU: NVIDIA H100 80GB HBM3, driver 570.133.20)"
    # A lock captured without a GPU: ok, as before.
    assert cuda_present.check(snapshot(), snapshot(), without) == [
        Finding("ok", "CUDA", "none (CPU-only lock)", "no GPU needed", "", "cuda")
    ]
    # The whole check: a warning, not a failure.
    assert evaluate(lock, snapshot(), without).verdict == "warnings"


UUID = "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6"


@pytest.mark.parametrize(
    ("visible", "shown"),
    [
        ("", ""),
        ("-1", "-1"),
        ("NoDevFiles", "NoDevFiles"),
        ("2", "2"),
        ("2,0", "2,0"),
        ("1,1", "1,1"),
        (f"{UUID},{UUID}", "GPU-<uuid>,GPU-<uuid>"),
    ],
)
def test_cuda_rule_fails_when_cuda_visible_devices_hides_every_gpu(visible: str, shown: str) -> None:
    """NVML lists every GPU whatever CUDA_VISIBLE_DEVICES says; CUDA reads the list up to its first entry that
    names no device (and a repeated one hides them all), so these show CUDA none of the host's two GPUs and
    torch.cuda.is_available() is False. The check said "2 GPU(s)", ok, exit 0."""
    host = snapshot(gpu_list=gpus(A100, A100), driver="570.133.20", driver_cuda="12.8")
    hidden = dataclasses.replace(HOST, cuda_visible_devices=visible)
    [f] = cuda_present.check(gpu_lock(), host, hidden)
    assert f.severity == "fail"
    assert f.found == f"2 GPU(s), driver 570.133.20; CUDA_VISIBLE_DEVICES={shown!r} shows CUDA none of them"
    assert f.remedy.startswith("unset CUDA_VISIBLE_DEVICES or set it to GPUs of this host (0-1)")
    assert f.remedy.endswith(", or pass --cpu-only to run without the GPU")
    report = evaluate(gpu_lock(), host, dataclasses.replace(hidden, cpu_only=True))
    assert [f.severity for f in report.findings if f.rule == "cuda"] == ["warn"]


@pytest.mark.parametrize(
    ("visible", "seen"),
    [
        (None, 2),
        ("0,1", 2),
        (" 1 , 0", 2),
        ("1", 1),
        ("0,7,1", 1),
        ("1gpu", 1),
        (UUID, 1),
        (f"{UUID},MIG-x", 1),
        (f"{UUID},GPU-0f", 2),
    ],
)
def test_gpu_count_is_what_cuda_visible_devices_shows(visible: str | None, seen: int) -> None:
    host = snapshot(gpu_list=gpus(A100, A100), driver="570.133.20", driver_cuda="12.8")
    lock = dataclasses.replace(gpu_lock(), hardware=dataclasses.replace(gpu_lock().hardware, gpus=gpus(A100, A100)))
    target = dataclasses.replace(HOST, cuda_visible_devices=visible)
    [f] = cuda_present.check(lock, host, target)
    assert f.severity == "ok"
    counts = [f for f in gpu_memory.check(lock, host, target) if f.component == "GPU count"]
    if seen == 2:
        assert counts == []
        return
    [count] = counts
    assert (count.severity, count.needed, count.found) == ("warn", "2", "1")
    shown = visible.replace(UUID, "GPU-<uuid>") if visible else visible
    assert count.remedy == (
        f"CUDA_VISIBLE_DEVICES={shown!r} shows CUDA 1 of this host's 2 GPUs: unset it or name more, "
        "or adjust multi-GPU code paths (e.g. world size)"
    )


def test_gpu_count_and_memory_are_those_the_captured_cuda_visible_devices_left_the_lock() -> None:
    """A lock captured with ``CUDA_VISIBLE_DEVICES=0`` on a 4-GPU machine ran on one GPU: checked on that machine
    with the same setting it warned "GPU count 4, found 1" and told the user to unset the setting the capture had;
    a 1-GPU host warned the same. The captured side is what its recorded setting left CUDA, as the appendix says."""
    four = gpus(H100, H100, H100, H100)
    lock = gpu_lock(gpu=H100)
    lock = dataclasses.replace(lock, hardware=dataclasses.replace(lock.hardware, gpus=four))
    one = dataclasses.replace(lock, environment={"CUDA_VISIBLE_DEVICES": "0"})
    same = snapshot(gpu_list=four, driver="570.133.20", driver_cuda="12.8")
    findings = gpu_memory.check(one, same, dataclasses.replace(HOST, cuda_visible_devices="0"))
    assert [(f.severity, f.component) for f in findings] == [("ok", "GPU memory")]
    assert gpu_memory.check(one, gpu_host(H100, "570.133.20", "12.8"), HOST)[1:] == []
    two = dataclasses.replace(lock, environment={"CUDA_VISIBLE_DEVICES": "0,1"})
    [_, count] = gpu_memory.check(two, gpu_host(H100, "570.133.20", "12.8"), HOST)
    assert (count.severity, count.needed, count.found) == (
        "warn",
        "2 (captured with CUDA_VISIBLE_DEVICES='0,1', of 4)",
        "1",
    )
    [_, count] = gpu_memory.check(lock, gpu_host(H100, "570.133.20", "12.8"), HOST)
    assert (count.severity, count.needed, count.found) == ("warn", "4", "1")
    # The memory wanted is the selected GPU's: a lock that ran on its 24 GiB card alone fits a 24 GiB host.
    mixed = dataclasses.replace(
        lock,
        hardware=dataclasses.replace(lock.hardware, gpus=gpus(H100, RTX_4090)),
        environment={"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
    )
    [memory] = gpu_memory.check(mixed, gpu_host(RTX_4090, "570.133.20", "12.8"), HOST)
    assert (memory.severity, memory.needed) == ("ok", "24.0 GiB (NVIDIA GeForce RTX 4090)")
    [memory] = gpu_memory.check(
        dataclasses.replace(mixed, environment={}), gpu_host(RTX_4090, "570.133.20", "12.8"), HOST
    )[:1]
    assert (memory.severity, memory.needed) == ("warn", "79.6 GiB (NVIDIA H100 80GB HBM3)")


@pytest.mark.parametrize("visible", ["", "-1", "2"])
def test_gpu_memory_is_not_compared_where_cuda_visible_devices_hides_every_gpu(visible: str) -> None:
    """CUDA_VISIBLE_DEVICES hiding every GPU of an 80 GB host warned "GPU memory: 0 MiB, reduce batch or model
    size; the captured workload may not fit" beside the cuda rule's failure: no GPU memory is compared then, and
    the count says how many GPUs CUDA sees."""
    lock = gpu_lock(gpu=H100)
    host = gpu_host(H100, "570.133.20", "12.8")
    target = dataclasses.replace(HOST, cuda_visible_devices=visible)
    [f] = cuda_present.check(lock, host, target)
    assert f.severity == "fail"
    [count] = gpu_memory.check(lock, host, target)
    assert (count.severity, count.component, count.needed, count.found) == ("warn", "GPU count", "1", "0")
    assert count.remedy.startswith(f"CUDA_VISIBLE_DEVICES={visible!r} shows CUDA 0 of this host's 1 GPUs")


def test_a_container_target_is_not_judged_by_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The container gets the GPUs ``docker run --gpus`` gives it; the host, venv and conda targets run here."""
    from envsnap.compat import TargetFacts, probe_target

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert probe_target("host", TargetFacts(), disk_path="/").cuda_visible_devices == ""
    assert probe_target("venv", TargetFacts(installs_packages=True), disk_path="/").cuda_visible_devices == ""
    docker_facts = TargetFacts(container=True, provides_python=True, installs_packages=True)
    monkeypatch.setattr("envsnap.compat.target.probe_docker", lambda: DockerFacts(reachable=False, error="x"))
    assert probe_target("docker", docker_facts, disk_path="/").cuda_visible_devices is None
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert probe_target("host", TargetFacts(), disk_path="/").cuda_visible_devices is None


def test_cuda_need_prefers_the_runtime_then_the_framework_then_package_labels() -> None:
    package, framework = torch_cu("2.7.1", "12.6")
    assert cuda_need(snapshot()) is None
    assert cuda_need(snapshot(packages=[pkg("torch", "2.7.1+cpu")])) is None
    need = cuda_need(snapshot(packages=[package], frameworks=[framework], cuda=Cuda(runtime_version="12.6.77")))
    assert need is not None and (need.version, need.evidence) == ("12.6", "CUDA runtime 12.6.77")
    need = cuda_need(snapshot(packages=[package], frameworks=[framework]))
    assert need is not None and need.evidence == "torch 2.7.1+cu126 built for CUDA 12.6"
    need = cuda_need(snapshot(packages=[package]))
    assert need is not None and (need.version, need.evidence) == ("12.6", "torch 2.7.1+cu126")
    need = cuda_need(snapshot(packages=[pkg("nvidia-cuda-runtime-cu12", "12.4.127")]))
    assert need is not None and need.version == "12.4"
    conda = Conda(subdir="linux-64", packages=(CondaPackage(name="cuda-version", version="12.8"),))
    need = cuda_need(snapshot(conda=conda))
    assert need is not None and (need.version, need.evidence) == ("12.8", "conda cuda-version 12.8")


@pytest.mark.parametrize(
    ("name", "datacenter"),
    [
        ("NVIDIA H100 80GB HBM3", True),
        ("NVIDIA A100-SXM4-40GB", True),
        ("Tesla T4", True),
        ("NVIDIA A10G", True),
        ("NVIDIA L40S", True),
        ("NVIDIA GeForce RTX 4090", False),
        ("NVIDIA GeForce GTX 1080", False),
        ("NVIDIA RTX A2000", False),
        ("NVIDIA GeForce RTX 5090", False),
    ],
)
def test_forward_compatible_gpus(name: str, datacenter: bool) -> None:
    assert forward_compatible(name) is datacenter


# ------------------------------------------------------------------------------------------- platform


def test_platform_different_os_fails() -> None:
    [f] = platform.check(snapshot(system="Darwin", machine="arm64"), snapshot(), HOST)
    assert (f.severity, f.component) == ("fail", "OS")


def test_platform_system_packages_from_another_distribution_warn() -> None:
    lock = dataclasses.replace(
        snapshot(),
        system=dataclasses.replace(
            snapshot().system,
            manager="dpkg",
            packages=(SystemPackage("dpkg", "libgomp1", "12.2.0-14", needed_by=("torch",)),),
        ),
    )
    host = dataclasses.replace(
        snapshot(os_id="ubuntu", os_version="22.04"), system=dataclasses.replace(lock.system, packages=())
    )
    findings = platform.check(lock, host, HOST)
    assert severities(findings) == ["ok", "warn"]
    assert findings[1].needed == "1 dpkg package (debian 12)"  # it read "1 dpkg packages"
    two = dataclasses.replace(
        lock,
        system=dataclasses.replace(
            lock.system, packages=(*lock.system.packages, SystemPackage("dpkg", "zlib1g", "1.2", needed_by=("x",)))
        ),
    )
    assert platform.check(two, host, HOST)[1].needed == "2 dpkg packages (debian 12)"
    rpm_host = dataclasses.replace(host, system=dataclasses.replace(host.system, manager="rpm"))
    assert platform.check(lock, rpm_host, HOST)[1].found == "rpm (ubuntu 22.04)"


def test_a_lock_of_another_machine_is_told_what_rebuild_does() -> None:
    """check --target docker said emulating aarch64 with QEMU binfmt "is possible", and rebuild --target docker
    refuses every lock of another machine than the engine's; "a aarch64 host" was misspelt too."""
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux")
    [f] = platform.check(snapshot(machine="aarch64"), snapshot(), target_of("docker", docker=engine))
    assert f.severity == "fail" and "possible" not in f.remedy
    assert f.remedy.startswith("use a Docker engine on an aarch64 host")
    assert "rebuild --target docker does not emulate" in f.remedy
    [f] = platform.check(snapshot(machine="aarch64"), snapshot(), HOST)
    assert f.remedy.startswith("run on an aarch64 host")


def test_a_conda_lock_of_another_conda_platform_fails_the_check() -> None:
    """``rebuild --target conda`` refuses a lock whose conda packages are for another platform (exit 3), and the
    check said nothing of it: an imported conda-lock file of osx-arm64 records no OS or machine, and passed here
    with a warning only."""
    packages = (CondaPackage("python", "3.11.7", subdir="osx-arm64"),)
    imported = dataclasses.replace(
        snapshot(conda=Conda(subdir="osx-arm64", packages=packages)),
        platform=dataclasses.replace(snapshot().platform, system="", machine=""),
    )
    findings = platform.check(imported, snapshot(), target_of("conda"))
    assert [(f.severity, f.component, f.needed, f.found) for f in findings] == [
        ("warn", "machine", "unknown OS unknown machine", "Linux x86_64"),
        ("fail", "conda platform", "osx-arm64", "linux-64"),
    ]
    assert findings[1].remedy == "run on an osx-arm64 host: the locked conda packages are built for it"
    here = snapshot(conda=Conda(subdir="linux-64", packages=packages))
    assert [(f.severity, f.component) for f in platform.check(here, snapshot(), HOST)] == [
        ("ok", "machine"),
        ("ok", "conda platform"),
    ]
    arm = snapshot(system="Darwin", machine="arm64")
    assert platform.check(imported, arm, HOST)[-1].severity == "ok"  # osx-arm64 on an Apple silicon host
    # A container target builds its own platform (the docker rule judges the engine), and a lock without conda
    # packages has no conda platform to judge.
    assert all(f.component != "conda platform" for f in platform.check(imported, snapshot(), target_of("docker")))
    assert all(f.component != "conda platform" for f in platform.check(snapshot(), snapshot(), HOST))


def test_a_lock_without_conda_packages_fails_the_check_for_the_conda_target(tmp_path: Any, cli: Any) -> None:
    """``rebuild --target conda`` refuses a pip environment's lock (no conda packages: nothing for conda to install,
    nor a Python to bring), and ``check --target conda`` of it said `compatible`, exit 0. The check fails it, as it
    fails conda's Python packages for the venv target, with the rebuild's remedy; other targets are not judged so."""
    from testutil import sample_lock

    from envsnap import lockfile

    lock = snapshot(packages=[pkg("six", "1.17.0", "py2.py3-none-any")])
    findings = [f for f in platform.check(lock, snapshot(), target_of("conda")) if f.component == "conda packages"]
    assert [(f.severity, f.needed, f.found) for f in findings] == [
        ("fail", "a conda environment", "the lock records no conda packages, which --target conda installs")
    ]
    assert findings[0].remedy == "rebuild it with --target venv or --target docker"
    for other in (HOST, target_of("venv")):
        assert all(f.component != "conda packages" for f in platform.check(lock, snapshot(), other))
    packages = (CondaPackage("python", "3.11.7", subdir="linux-64"),)
    conda_lock = snapshot(conda=Conda(subdir="linux-64", packages=packages))
    assert all(f.component != "conda packages" for f in platform.check(conda_lock, snapshot(), target_of("conda")))
    path = lockfile.dump(sample_lock(), tmp_path / "pip.lock")
    result = cli("check", path, "--target", "conda", "--json")
    assert result.code == 3, result
    failed = [f for f in json.loads(result.out)["findings"] if f["severity"] == "fail"]
    assert [(f["component"], f["rule"]) for f in failed] == [("conda packages", "platform")], failed


@pytest.mark.parametrize("reachable", [True, False])
def test_a_conda_lock_fails_the_check_for_the_docker_target(reachable: bool) -> None:
    """``rebuild --target docker`` refuses a conda environment's lock (its image's environment is a venv), and
    ``check --target docker`` of it said `compatible`, exit 0. The check fails it with the rebuild's reason, whether
    the engine answers or not, once: conda's Python packages the lock records are not named again."""
    engine = DockerFacts(reachable=reachable, architecture="x86_64", os_type="linux", error="" if reachable else "x")
    packages = (CondaPackage("numpy", "2.0.0", subdir="linux-64"),)
    managed = dataclasses.replace(pkg("numpy", "2.0.0"), conda_managed=True)
    lock = snapshot(packages=[managed], conda=Conda(subdir="linux-64", packages=packages))
    findings = [f for f in platform.check(lock, snapshot(), target_of("docker", docker=engine)) if f.severity != "ok"]
    assert [(f.severity, f.component, f.found, f.remedy) for f in findings] == [
        (
            "fail",
            "conda packages",
            "the lock holds a conda environment (1 conda package); the docker target rebuilds pip environments only",
            "rebuild it with --target conda",
        )
    ]
    for other in (HOST, target_of("conda")):
        assert all(f.component != "conda packages" for f in platform.check(lock, snapshot(), other))
    pip_lock = snapshot(packages=[pkg("six", "1.17.0", "py2.py3-none-any")])
    assert all(f.component != "conda packages" for f in platform.check(pip_lock, snapshot(), target_of("docker")))


def test_check_of_a_conda_lock_for_the_docker_target_gives_the_rebuilds_reason(tmp_path: Any, cli: Any) -> None:
    """A user checks first to know whether ``rebuild --target docker`` will work: it refuses a conda lock (exit 2)
    and the check said `compatible`, exit 0. The check fails, exit 3, with the reason the rebuild gives."""
    from testutil import sample_lock

    from envsnap import lockfile

    conda = Conda(subdir="linux-64", packages=(CondaPackage("numpy", "2.0.0", subdir="linux-64"),))
    path = lockfile.dump(sample_lock(conda=conda), tmp_path / "conda.lock")
    result = cli("check", path, "--target", "docker", "--json")
    assert result.code == 3, result
    failed = [f for f in json.loads(result.out)["findings"] if f["component"] == "conda packages"]
    assert [(f["severity"], f["rule"], f["remedy"]) for f in failed] == [
        ("fail", "platform", "rebuild it with --target conda")
    ]
    rebuilt = cli("rebuild", path, "--target", "docker", "--dry-run", "--dest", tmp_path / "ctx")
    assert rebuilt.code == 2, rebuilt
    assert f"{path}: {failed[0]['found']}: use --target conda" in rebuilt.err


def test_platform_for_docker_uses_the_engine() -> None:
    engine = DockerFacts(reachable=True, architecture="aarch64", os_type="linux")
    [f] = platform.check(snapshot(), snapshot(), target_of("docker", docker=engine))
    assert (f.severity, f.found) == ("fail", "docker engine: linux aarch64")
    assert "QEMU" in f.remedy
    [f] = platform.check(snapshot(machine="aarch64"), snapshot(), target_of("docker", docker=engine))
    assert f.severity == "ok"
    [f] = platform.check(snapshot(system="Darwin"), snapshot(), target_of("docker", docker=engine))
    assert (f.severity, f.component) == ("fail", "OS")


def test_platform_for_docker_fails_a_musl_lock() -> None:
    """An Alpine lock read "compatible" for --target docker, though the docker target builds glibc images only
    (its base images are Debian and Ubuntu, the image's own envsnap is manylinux wheels): the rebuild refused
    it, or with --base-image ...-alpine planned a build whose first install fails."""
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux")
    lock = snapshot(os_id="alpine", os_version="3.20.3", libc="musl", libc_version="1.2.5")
    [f] = platform.check(lock, snapshot(), target_of("docker", docker=engine))
    assert (f.severity, f.component, f.needed) == ("fail", "C library", "musl 1.2.5")
    assert "glibc" in f.found and "--target venv on a musl host" in f.remedy
    # the host target is the wheels and glibc rules' to judge, as before
    assert [x.severity for x in platform.check(lock, snapshot(), HOST)] == ["ok"]


# A lock no image the docker target builds can run, and the line `rebuild --target docker` refuses it with.
NO_IMAGE = {
    "macos": (
        {"system": "Darwin", "machine": "arm64", "os_id": "macos", "os_version": "14.5"},
        "the lock was captured on Darwin: containers run Linux, so its wheels cannot run in an image (rebuild it "
        "with --target venv on a Darwin host)",
    ),
    "musl": (
        {"os_id": "alpine", "os_version": "3.20.3", "libc": "musl", "libc_version": "1.2.5"},
        "the lock was captured with musl 1.2.5: the docker target builds glibc images (Debian, Ubuntu), where its "
        "musllinux wheels cannot run (rebuild it with --target venv on a musl host, e.g. Alpine)",
    ),
}


@pytest.mark.parametrize("engine", [DockerFacts(reachable=True, architecture="x86_64", os_type="linux"), None])
@pytest.mark.parametrize("kind", sorted(NO_IMAGE))
def test_platform_for_docker_fails_a_lock_no_image_runs_in_the_rebuilds_words(kind: str, engine: Any) -> None:
    """A macOS or musl lock: the check failed it in words of its own ("containers run Linux: rebuild this Darwin
    lock ...", "the docker target's images: glibc"), and only with an engine that answered, while the rebuild
    refuses it as it reads it, engine or not, with another line. The check's finding is the rebuild's line: what it
    found and, apart, the remedy the rebuild gives in brackets."""
    fields, refusal = NO_IMAGE[kind]
    lock = snapshot(**fields)
    [f] = [x for x in platform.check(lock, snapshot(), target_of("docker", docker=engine)) if x.severity != "ok"]
    assert (f.severity, f.rule) == ("fail", "platform")
    assert f"{f.found} ({f.remedy})" == refusal


@pytest.mark.parametrize("kind", sorted(NO_IMAGE))
def test_check_of_a_lock_no_image_runs_says_what_the_docker_rebuild_says(
    kind: str, tmp_path: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check --target docker` is how a user learns whether `rebuild --target docker` will work: its finding reads
    as the rebuild's refusal, exit 3 (the check's failure: the docker target cannot build it), with or without an
    engine to ask."""
    from testutil import sample_lock, sample_platform

    from envsnap import lockfile

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    fields, refusal = NO_IMAGE[kind]
    path = lockfile.dump(sample_lock(platform=sample_platform(**fields)), tmp_path / "other.lock")
    checked = cli("check", path, "--target", "docker", "--json")
    assert checked.code == 3, checked
    found = [(f["found"], f["remedy"]) for f in json.loads(checked.out)["findings"] if f["rule"] == "platform"]
    assert [f"{what} ({remedy})" for what, remedy in found] == [refusal]
    rebuilt = cli("rebuild", path, "--target", "docker", "--dry-run", "--dest", tmp_path / "ctx")
    assert (rebuilt.code, rebuilt.err) == (2, f"envsnap: error: {path}: {refusal}\n"), rebuilt


# What an image would hold (its Python, the wheels installed in it, its glibc): the rules that judge it.
IMAGE_RULES = ("python", "wheels", "glibc")


@pytest.mark.parametrize("kind", sorted(NO_IMAGE))
def test_check_of_a_lock_no_image_runs_judges_nothing_the_image_would_hold(
    kind: str, tmp_path: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside the platform rule's one failure, `check --target docker` of a musl or macOS lock judged an image that
    cannot exist: wheels "the target uses musl libc" or "ok ... on Darwin x86_64", glibc "the rebuilt image (glibc
    1.2.5, as captured)", Python "provided by the docker rebuild". Those rules are not judged for it now, as the
    system-libs rule is not for another machine's lock: they give no finding. The host target still judges them."""
    from testutil import sample_lock, sample_platform

    from envsnap import lockfile

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    fields, _ = NO_IMAGE[kind]
    wheel = "musllinux_1_2_x86_64" if kind == "musl" else "macosx_11_0_arm64"
    packages = (
        pkg("six", "1.16.0", "py2.py3-none-any"),
        pkg("numpy", "2.0.0", f"cp311-cp311-{wheel}"),
        pkg("pyyaml", "6.0.1", "cp311-cp311-manylinux_2_17_x86_64"),
    )
    path = lockfile.dump(sample_lock(*packages, platform=sample_platform(**fields)), tmp_path / "other.lock")
    checked = cli("check", path, "--target", "docker", "--json")
    assert checked.code == 3, checked
    findings = json.loads(checked.out)["findings"]
    assert [(f["rule"], f["severity"]) for f in findings if f["rule"] in ("platform", *IMAGE_RULES)] == [
        ("platform", "fail")
    ], findings
    assert not [f for f in findings if "musl libc" in f["found"] or ", as captured)" in f["found"]], findings
    monkeypatch.delenv("DOCKER_HOST")
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux")
    lock = lockfile.load(path)
    report = evaluate(lock, snapshot(), target_of("docker", docker=engine))
    assert [f.rule for f in report.findings if f.rule in IMAGE_RULES] == []
    assert {f.rule for f in evaluate(lock, snapshot(**fields), HOST).findings} >= {"python", "wheels"}


def test_a_conda_lock_for_the_docker_target_judges_nothing_the_image_would_hold() -> None:
    """The docker target refuses a conda environment's lock too (no image is made of it): its Python read "provided
    by the docker rebuild". The conda target, which builds it, still judges it."""
    from testutil import sample_lock

    conda = Conda(subdir="linux-64", packages=(CondaPackage("numpy", "2.0.0", subdir="linux-64"),))
    lock = sample_lock(pkg("six", "1.16.0", "py2.py3-none-any"), conda=conda)
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux")
    report = evaluate(lock, snapshot(), target_of("docker", docker=engine))
    assert [f.rule for f in report.findings if f.rule in IMAGE_RULES] == []
    assert [f.rule for f in report.failures] == ["platform"]
    assert "python" in {f.rule for f in evaluate(lock, snapshot(), target_of("conda")).findings}


CONDA_REFUSAL = (
    "the lock records no conda packages, which --target conda installs (rebuild it with --target venv or --target "
    "docker)"
)


def test_check_of_a_pip_lock_for_the_conda_target_says_what_the_conda_rebuild_says(tmp_path: Any, cli: Any) -> None:
    """``rebuild --target conda`` refuses a pip environment's lock as it reads it (exit 2): no conda environment is
    made of it. `check --target conda` failed it in words of its own ("none: the lock records no conda packages (a
    pip environment's)") and judged that environment all the same: its Python "provided by the conda rebuild", its
    glibc, the machine. It gives the rebuild's line, once (one rule, as for the docker target), and no finding on
    what the environment would hold; the venv target still judges the lock."""
    from testutil import sample_lock

    from envsnap import lockfile

    packages = (pkg("six", "1.16.0", "py2.py3-none-any"), pkg("pyyaml", "6.0.1", "cp311-cp311-manylinux_2_17_x86_64"))
    path = lockfile.dump(sample_lock(*packages), tmp_path / "pip.lock")
    checked = cli("check", path, "--target", "conda", "--json")
    assert checked.code == 3, checked
    findings = json.loads(checked.out)["findings"]
    judged = [(f["rule"], f["severity"]) for f in findings if f["rule"] in ("platform", *IMAGE_RULES)]
    assert judged == [("platform", "fail")], findings
    [refused] = [f for f in findings if f["rule"] == "platform"]
    assert f"{refused['found']} ({refused['remedy']})" == CONDA_REFUSAL, refused
    rebuilt = cli("rebuild", path, "--target", "conda", "--dry-run", "--dest", tmp_path / "env")
    assert (rebuilt.code, rebuilt.err) == (2, f"envsnap: error: {path}: {CONDA_REFUSAL}\n"), rebuilt
    lock = lockfile.load(path)
    assert {f.rule for f in evaluate(lock, snapshot(), target_of("venv")).findings} >= {"python", "wheels"}


REFUSED = {
    "conda-of-pip": ("conda", {}, False),
    "docker-of-macos": ("docker", NO_IMAGE["macos"][0], False),
    "docker-of-conda": ("docker", {}, True),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_target_that_refuses_the_lock_judges_nothing_else_of_it(
    case: str, tmp_path: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock the target refuses (``rebuild --target conda`` of a pip environment's, ``--target docker`` of a macOS or
    conda environment's: exit 2 as it reads it) makes no environment: `check` judged its CPU flags, CUDA and disk
    all the same ("disk space: about 0 MiB (estimate)", the engine, the machine). The rebuild's refusal is the one
    finding now, in the table and the JSON, and the exit code stays 3."""
    from testutil import sample_lock, sample_platform

    from envsnap import lockfile

    kind, fields, with_conda = REFUSED[case]
    conda = Conda(subdir="linux-64", packages=(CondaPackage("numpy", "2.0.0", subdir="linux-64"),))
    six = pkg("six", "1.16.0", "py2.py3-none-any")
    lock = sample_lock(six, platform=sample_platform(**fields), conda=conda if with_conda else None)
    path = lockfile.dump(lock, tmp_path / "refused.lock")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    checked = cli("check", path, "--target", kind, "--json")
    assert checked.code == 3, checked
    findings = json.loads(checked.out)["findings"]
    assert [(f["rule"], f["severity"]) for f in findings] == [("platform", "fail")], findings
    table = cli("check", path, "--target", kind)
    assert table.code == 3, table
    for word in ("disk space", "CPU flags", "CUDA", "docker engine", "│ ok"):
        assert word not in table.out, table.out
    assert "incompatible: 1 failed, 0 warnings, 0 ok" in table.out, table.out
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux")
    report = evaluate(lockfile.load(path), snapshot(), target_of(kind, docker=engine))
    assert [(f.rule, f.severity) for f in report.findings] == [("platform", "fail")], report.findings


def test_platform_a_lock_without_os_or_machine_cannot_be_verified() -> None:
    # An imported requirements file records neither: "ok" would claim a check that was not made.
    engine = DockerFacts(reachable=True, architecture="x86_64", os_type="linux")
    for lock in (snapshot(system="", machine=""), snapshot(machine="")):
        for target in (HOST, target_of("docker", docker=engine)):
            [f] = platform.check(lock, snapshot(), target)
            assert (f.severity, f.component) == ("warn", "machine"), target
            assert f.remedy.endswith("unknown, cannot verify")


# --------------------------------------------------------------------------------------------- python


def test_python_patch_level_is_a_warning() -> None:
    [f] = python.check(snapshot(python="3.11.7"), snapshot(python="3.11.9"), HOST)
    assert f.severity == "warn" and "3.11.7" in f.remedy
    # It read "use Python 3.11.7 for an exact match", naming no way to get one, which the failure's remedy names.
    assert f.remedy == (
        "patch release differs; for an exact match, run with a cpython 3.11.7 interpreter (--python PATH; to get "
        "one: uv python install 3.11.7, or pyenv install 3.11.7)"
    )


def test_python_patch_level_names_the_interpreter_of_the_locked_release_found_here() -> None:
    """check --target venv judged envsnap's own 3.11.7 and said to install 3.11.2 with uv or pyenv, though
    /usr/bin/python3.11 was 3.11.2 (the venv rebuild found and used it): the remedy names the one found."""
    target = dataclasses.replace(HOST, exact_python="/usr/bin/python3.11")
    [f] = python.check(snapshot(python="3.11.2"), snapshot(python="3.11.7"), target)
    assert (f.severity, f.remedy) == (
        "warn",
        "patch release differs; for an exact match, run with a cpython 3.11.2 interpreter (--python PATH; here: "
        "--python /usr/bin/python3.11)",
    )
    [f] = python.check(
        snapshot(python="3.11.2"), snapshot(python="3.10.9"), dataclasses.replace(target, exact_python="/o p/python")
    )
    assert f.severity == "fail" and "(--python PATH; here: --python '/o p/python'), or use --target docker" in f.remedy


def test_python_free_threaded_and_implementation_must_match() -> None:
    lock = snapshot(python="3.13.1")
    ft = dataclasses.replace(lock, python=dataclasses.replace(lock.python, free_threaded=True, abi="cp313t"))
    assert severities(python.check(lock, ft, HOST)) == ["fail"]
    pypy = dataclasses.replace(lock, python=dataclasses.replace(lock.python, implementation="pypy"))
    assert severities(python.check(lock, pypy, HOST)) == ["fail"]


# --------------------------------------------------------------------------------------------- wheels


def _tag_target(libc: str = "glibc", libc_version: str = "2.17", arch: str = "x86_64") -> TagTarget:
    return TagTarget("cpython", (3, 11), "cp311", "Linux", arch, libc, libc_version, f"linux-{arch}")


def test_tag_platforms_for_glibc_2_17_include_legacy_aliases_but_not_newer_floors() -> None:
    plats = _tag_target().platforms
    assert plats[0] == "manylinux_2_17_x86_64"
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"} <= set(plats)
    assert "manylinux_2_28_x86_64" not in plats
    assert "manylinux2010_aarch64" not in _tag_target(arch="aarch64").platforms


def test_glibc_floor_of_platform_tags() -> None:
    assert glibc_floor("manylinux_2_28_x86_64") == (2, 28)
    assert glibc_floor("manylinux2014_aarch64") == (2, 17)
    assert glibc_floor("manylinux1_x86_64") == (2, 5)
    assert glibc_floor("musllinux_1_2_x86_64") is None


def test_musllinux_wheel_on_glibc_and_manylinux_wheel_on_musl() -> None:
    lock = snapshot(packages=[pkg("orjson", "3.10.0", "cp311-cp311-musllinux_1_2_x86_64")])
    [f] = wheels.check(lock, snapshot(), HOST)
    assert f.severity == "fail" and "built for musl libc (musllinux_1_2_x86_64)" in f.found
    lock = snapshot(packages=[pkg("numpy", "2.2.6", "cp311-cp311-manylinux_2_17_x86_64")])
    [f] = wheels.check(lock, snapshot(libc="musl", libc_version="1.2.4"), HOST)
    assert f.severity == "fail" and "the target uses musl libc" in f.found
    musl_lock = snapshot(packages=[pkg("orjson", "3.10.0", "cp311-cp311-musllinux_1_1_x86_64")])
    assert severities(wheels.check(musl_lock, snapshot(libc="musl", libc_version="1.2.4"), HOST)) == ["ok"]


def test_wheels_from_artifact_filename_and_skipped_kinds() -> None:
    art = Artifact(filename="numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64.whl", url="u", sha256="0" * 64)
    built = Artifact(filename="mypkg-1.0-cp312-cp312-linux_x86_64.whl", url="u", sha256="0" * 64, rebuilt=True)
    lock = snapshot(
        packages=[
            pkg("numpy", "2.2.6", artifact=art),
            pkg("mypkg", "1.0", artifact=built),
            pkg("scipy", "1.15", "cp312-cp312-manylinux_2_17_x86_64", conda_managed=True),
        ]
    )
    [f] = wheels.check(lock, snapshot(), HOST)
    assert (f.severity, f.component) == ("fail", "wheel numpy 2.2.6")
    assert wheels.check(snapshot(packages=[pkg("mypkg", "1.0")]), snapshot(), HOST) == []


def test_many_wheels_failing_for_one_reason_share_a_finding_naming_each() -> None:
    names = ["aa", "bb", "cc", "dd"]
    lock = snapshot(python="3.12.4", packages=[pkg(n, "1.0", "cp312-cp312-manylinux_2_17_x86_64") for n in names])
    [f] = wheels.check(lock, snapshot(python="3.11.9"), HOST)
    assert (f.severity, f.component, f.needed) == ("fail", "4 wheels", "aa 1.0, bb 1.0, cc 1.0, dd 1.0")
    assert f.found.endswith("built for Python 3.12 (cp312), the target runs cp311")
    three = snapshot(python="3.12.4", packages=[pkg(n, "1.0", "cp312-cp312-manylinux_2_17_x86_64") for n in names[:3]])
    assert [f.component for f in wheels.check(three, snapshot(python="3.11.9"), HOST)] == [
        "wheel aa 1.0",
        "wheel bb 1.0",
        "wheel cc 1.0",
    ]


def test_wheels_of_a_lock_without_python_version_cannot_be_verified_for_conda() -> None:
    # A conda environment's lock (the conda target refuses a pip environment's: nothing of it is judged).
    conda = Conda(subdir="linux-64", packages=(CondaPackage("python", "3.11.7", subdir="linux-64"),))
    lock = snapshot(packages=[pkg("numpy", "2.2.6", "cp311-cp311-manylinux_2_17_x86_64")], conda=conda)
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, version=""))
    [f] = wheels.check(lock, snapshot(), target_of("conda"))
    assert (f.severity, f.found) == ("warn", "unknown Python version")
    assert severities(wheels.check(lock, snapshot(), HOST)) == ["ok"]


def test_abi3_and_pure_wheels_install_on_newer_python() -> None:
    lock = snapshot(
        python="3.11.7",
        packages=[
            pkg("cryptography", "44.0", "cp39-abi3-manylinux_2_28_x86_64"),
            pkg("six", "1.17.0", "py2.py3-none-any"),
        ],
    )
    [f] = wheels.check(lock, snapshot(python="3.12.1"), HOST)
    assert (f.severity, f.needed) == ("ok", "2 locked wheels")


# ---------------------------------------------------------------------------------------------- glibc


def test_glibc_floor_from_conda_depends() -> None:
    conda = Conda(
        subdir="linux-64",
        packages=(CondaPackage(name="pytorch", version="2.5.1", depends=("__glibc >=2.28,<3.0.a0", "python")),),
    )
    [f] = glibc.check(snapshot(conda=conda), snapshot(libc_version="2.27"), HOST)
    assert (f.severity, f.needed) == ("fail", "glibc >= 2.28 (conda pytorch 2.5.1)")


def test_glibc_below_the_captured_one_warns_only_for_wheels_built_there() -> None:
    numpy = pkg("numpy", "2.2.6", "cp311-cp311-manylinux_2_17_x86_64")
    lock = snapshot(libc_version="2.36", packages=[numpy])
    assert severities(glibc.check(lock, snapshot(libc_version="2.31"), HOST)) == ["ok"]
    local = pkg("mypkg", "1.0", "cp311-cp311-linux_x86_64")
    lock = snapshot(libc_version="2.36", packages=[numpy, local])
    [f] = glibc.check(lock, snapshot(libc_version="2.31"), HOST)
    assert f.severity == "warn"
    assert f.needed == "glibc >= 2.17 (numpy 2.2.6); mypkg 1.0 built on glibc 2.36"
    assert severities(glibc.check(lock, snapshot(libc_version="2.36"), HOST)) == ["ok"]


def test_glibc_for_docker_names_the_base_image_floor() -> None:
    lock = snapshot(packages=[pkg("torch", "2.7.1", "cp311-cp311-manylinux_2_28_x86_64")])
    [f] = glibc.check(lock, snapshot(libc_version="2.17"), target_of("docker"))
    assert (f.severity, f.remedy) == ("ok", "use a base image with glibc >= 2.28")


# --------------------------------------------------------------------------------------------- driver


@pytest.mark.parametrize(
    ("driver_version", "severity"),
    [
        ("570.26", "ok"),
        ("570.124.06", "ok"),
        ("525.60.13", "warn"),
        ("560.35.03", "warn"),
        ("525.60.12", "fail"),
        ("470.256.02", "fail"),
    ],
)
def test_driver_thresholds_for_cuda_12_8(driver_version: str, severity: str) -> None:
    host = gpu_host(A100, driver_version, "")
    assert severities(driver.check(gpu_lock("2.7.1", "12.8"), host, HOST)) == [severity]


def test_driver_for_cuda_13_minor_compat_and_cuda_11() -> None:
    assert severities(driver.check(gpu_lock("2.9.0", "13.0"), gpu_host(A100, "580.10", ""), HOST)) == ["warn"]
    assert severities(driver.check(gpu_lock("2.9.0", "13.0"), gpu_host(A100, "575.51.03", ""), HOST)) == ["fail"]
    assert severities(driver.check(gpu_lock("2.0.1", "11.8"), gpu_host(A100, "450.80.02", ""), HOST)) == ["warn"]


def test_driver_rule_is_silent_without_a_driver_or_a_cuda_need() -> None:
    assert driver.check(gpu_lock(), snapshot(), HOST) == []
    assert driver.check(snapshot(), gpu_host(A100, "570.26", "12.8"), HOST) == []


# ------------------------------------------------------------------------------------------- gpu arch


@pytest.mark.parametrize(
    ("arch_list", "capability", "how"),
    [
        (("sm_80",), "8.6", "cubin"),
        (("sm_80",), "8.0", "cubin"),
        (("sm_86",), "8.0", "none"),
        (("sm_80",), "9.0", "none"),
        (("sm_80", "compute_80"), "9.0", "ptx"),
        (("compute_90",), "8.6", "none"),
        (("sm_90a",), "9.0", "cubin"),
        (("sm_90a",), "9.1", "none"),
        (("sm_80",), "8.7", "none"),
        (("sm_87",), "8.7", "cubin"),
        # Tegra (Jetson, Thor) and desktop GPUs are not binary compatible either way (CUDA programming guide):
        (("sm_70",), "7.2", "none"),
        (("sm_72",), "7.5", "none"),
        (("sm_100",), "10.1", "none"),  # Thor, as CUDA 12.8 and 12.9 number it (CUDA 13: 11.0)
        (("sm_100f",), "10.1", "none"),
        (("compute_100f",), "10.1", "none"),  # the 10.0 family is 10.0 and 10.3: no Thor
        (("sm_101",), "10.3", "none"),
        (("sm_101",), "10.1", "cubin"),
        (("sm_110",), "11.0", "cubin"),
        (("sm_100", "compute_90"), "10.1", "ptx"),  # PTX is JIT-compiled for Tegra as for any GPU
        (("sm_120",), "12.1", "cubin"),
        (("sm_100",), "12.0", "none"),
        (("sm_50", "sm_60", "sm_70"), "6.1", "cubin"),
    ],
)
def test_coverage(arch_list: tuple[str, ...], capability: str, how: str) -> None:
    assert gpu_arch.coverage(arch_list, capability) == how


def test_gpu_arch_of_a_desktop_cubin_on_thor_finds_no_kernel() -> None:
    """A build with sm_100 cubins (B200) on Thor, which CUDA 12.8 and 12.9 number 10.1, read "ok": the X.y to X.z
    rule was applied to a Tegra GPU, which NVIDIA gives no binary compatibility with desktop GPUs (as for Jetson
    Orin's 8.7 and sm_80)."""
    package, framework = torch_cu("2.8.0", "12.9", arch_list=("sm_90", "sm_100", "sm_120"))
    lock = snapshot(packages=[package], frameworks=[framework])
    [f] = gpu_arch.check(lock, gpu_host(("NVIDIA Thor", "10.1", 125772), "575.57.08", "12.9"), HOST)
    assert (f.severity, f.found) == ("fail", "NVIDIA Thor (sm_101): no kernel image")
    [f] = gpu_arch.check(lock, gpu_host(("NVIDIA B200", "10.0", 183359), "575.57.08", "12.9"), HOST)
    assert f.severity == "ok"


def test_gpu_arch_uses_the_package_label_when_the_framework_table_is_missing() -> None:
    package, _ = torch_cu("2.7.1", "12.6")
    [f] = gpu_arch.check(snapshot(packages=[package]), gpu_host(RTX_5090, "575.57.08", "12.9"), HOST)
    assert f.severity == "fail" and f.needed.startswith("torch 2.7.1+cu126 kernels (release set)")


def test_gpu_arch_of_an_unlabelled_pypi_torch_follows_its_cuda_wheels() -> None:
    lock = snapshot(packages=[pkg("torch", "2.7.1"), pkg("nvidia-cuda-runtime-cu12", "12.6.77")])
    [f] = gpu_arch.check(lock, gpu_host(RTX_5090, "575.57.08", "12.9"), HOST)
    assert (f.severity, f.remedy) == ("fail", "use the cu128 build of torch 2.7.1 for this sm_120 GPU")
    assert f.needed.startswith("torch 2.7.1+cu126 kernels (release set)")
    assert (
        gpu_arch.check(snapshot(packages=[pkg("torch", "2.7.1")]), gpu_host(RTX_5090, "575.57.08", "12.9"), HOST) == []
    )


def test_gpu_arch_of_a_cpu_or_rocm_torch_judges_the_cuda_runtime_not_a_torch_cuda_build() -> None:
    """A ``+cpu`` (or ROCm) torch has no CUDA kernels at all: beside CUDA runtime wheels it was judged as that
    CUDA's torch build ("torch 2.13.0+cpu kernels (release set): sm_70, ...") and a GTX 1080 failed with "use the
    cu126 build of torch 2.13.0". The environment's CUDA runtime is what uses the GPU: its major is judged."""
    wheels = [pkg("nvidia-cuda-runtime-cu12", "12.9.79")]
    cpu = Framework(name="torch", version="2.13.0+cpu", git_version="cf30153c")
    for lock in (
        snapshot(packages=[pkg("torch", "2.13.0+cpu"), *wheels], frameworks=[cpu]),
        snapshot(packages=[pkg("torch", "2.13.0+cpu"), *wheels]),
        snapshot(packages=[pkg("torch", "2.9.1+rocm6.4"), *wheels]),
        snapshot(
            packages=[pkg("torch", "2.9.1"), *wheels], frameworks=[Framework("torch", "2.9.1", rocm_version="6.4")]
        ),
    ):
        [f] = gpu_arch.check(lock, gpu_host(GTX_1080, "575.51.03", "12.9"), HOST)
        assert (f.severity, f.needed, f.remedy) == ("ok", "CUDA 12 supports compute capability >= 5.0", "")
    lock = snapshot(packages=[pkg("torch", "2.13.0+cpu"), pkg("nvidia-cuda-runtime", "13.0.96")], frameworks=[cpu])
    [f] = gpu_arch.check(lock, gpu_host(GTX_1080, "580.65.06", "13.0"), HOST)
    assert (f.severity, f.remedy) == ("fail", "use a build for CUDA 12 (it supports compute capability >= 5.0)")
    assert (
        gpu_arch.check(snapshot(packages=[pkg("torch", "2.13.0+cpu")]), gpu_host(GTX_1080, "575.51.03", "12.9"), HOST)
        == []
    )


def test_cuda_13_without_torch_still_needs_a_gpu_it_supports() -> None:
    lock = snapshot(packages=[pkg("nvidia-cuda-runtime", "13.0.96"), pkg("cupy-cuda13x", "13.6.0")])
    [f] = gpu_arch.check(lock, gpu_host(("Tesla V100-SXM2-32GB", "7.0", 32768), "580.65.06", "13.0"), HOST)
    assert (f.severity, f.needed) == ("fail", "CUDA 13 supports compute capability >= 7.5")
    # The remedy named no CUDA major: CUDA 12 still supports compute capability 7.0 (a Kepler K80's 3.7: CUDA 11).
    assert f.remedy == "use a build for CUDA 12 (it supports compute capability >= 5.0)"
    [f] = gpu_arch.check(lock, gpu_host(("Tesla K80", "3.7", 11441), "470.82.01", "11.4"), HOST)
    assert f.remedy == "use a build for CUDA 11 (it supports compute capability >= 3.5)"
    [f] = gpu_arch.check(lock, gpu_host(("Tesla K20", "3.5", 5000), "470.82.01", "11.4"), HOST)
    assert f.remedy == "use a build for CUDA 11 (it supports compute capability >= 3.5)"
    [f] = gpu_arch.check(lock, gpu_host(("GeForce GTX 580", "2.0", 1536), "390.157", "9.1"), HOST)
    assert f.remedy == "use a build for a CUDA release older than 11 that supports compute capability 2.0"
    [f] = gpu_arch.check(lock, gpu_host(A100, "580.65.06", "13.0"), HOST)
    assert f.severity == "ok"
    assert gpu_arch.check(snapshot(), gpu_host(A100, "580.65.06", "13.0"), HOST) == []


def test_gpu_arch_without_an_alternative_build_names_the_releases_that_have_one() -> None:
    """No build of the locked torch release has kernels for the GPU: the remedy said "use a torch release that
    supports it" without naming one. It names the nearest releases whose build has them: a newer one where there
    is (sm_120: torch 2.7's cu128), else the older ones (a Tesla K80's sm_37: cu118 up to torch 2.7)."""
    package, framework = torch_cu("2.0.1", "11.8")
    lock = snapshot(packages=[package], frameworks=[framework])
    [f] = gpu_arch.check(lock, gpu_host(RTX_5090, "575.57.08", "12.9"), HOST)
    assert (
        f.remedy == "no known torch 2.0.1 build has kernels for sm_120; the cu128 build of torch >=2.7,<2.11 has them"
    )
    package, framework = torch_cu("2.8.0", "12.6")
    lock = snapshot(packages=[package], frameworks=[framework])
    [f] = gpu_arch.check(lock, gpu_host(("Tesla K80", "3.7", 11441), "470.82.01", "11.4"), HOST)
    assert f.remedy == (
        "no known torch 2.8.0 build has kernels for sm_37; the cu118 build of torch >=2.0,<2.8 has them"
    )


def test_gpu_arch_on_a_jetson_names_nvidias_jetpack_builds() -> None:
    """No PyTorch build has kernels for a Jetson Orin's sm_87 (Tegra: no other capability's cubin runs on it), and
    the remedy was the generic "use a torch build for this GPU". NVIDIA builds torch for Jetson with its JetPack
    releases: the remedy names those; a GPU only PTX serves is told the same."""
    orin = ("Orin (nvgpu)", "8.7", 30000)
    package, framework = torch_cu("2.7.1", "12.8")
    lock = snapshot(packages=[package], frameworks=[framework])
    [f] = gpu_arch.check(lock, gpu_host(orin, "540.4.0", "12.6"), HOST)
    assert (f.severity, f.found) == ("fail", "Orin (nvgpu) (sm_87): no kernel image")
    assert f.remedy == (
        "no known torch 2.7.1 build of PyTorch's has kernels for sm_87, a Jetson GPU; use NVIDIA's torch build for "
        "Jetson of the board's JetPack release, which has them"
    )
    package, framework = torch_cu("2.7.1", "12.8", arch_list=("sm_80", "compute_80"))
    lock = snapshot(packages=[package], frameworks=[framework])
    [f] = gpu_arch.check(lock, gpu_host(orin, "575.57.08", "12.9"), HOST)
    assert f.severity == "warn" and f.remedy == (
        "expect a slow first start while the driver JIT-compiles the PTX; NVIDIA's torch build for Jetson of the "
        "board's JetPack release, which has sm_87 kernels, avoids it"
    )
    # Not binary compatible with Tegra either way: an Orin's cubin does not serve an RTX A6000's 8.6.
    package, framework = torch_cu("2.7.1", "12.8", arch_list=("sm_87",))
    lock = snapshot(packages=[package], frameworks=[framework])
    [f] = gpu_arch.check(lock, gpu_host(("NVIDIA RTX A6000", "8.6", 49140), "575.57.08", "12.9"), HOST)
    assert f.severity == "fail" and "Jetson" not in f.remedy


def test_gpu_arch_judges_torch_by_its_build_and_every_other_distribution_by_its_captured_kernels() -> None:
    """torch keeps its arch list and release set (its captured kernels are not judged a second time); every other
    distribution with kernels is judged beside it, and a lock of another machine's is left to the platform rule."""
    package, framework = torch_cu("2.7.1", "12.8")
    torch = dataclasses.replace(package, cuda_kernels=("sm_37",))
    cupy = dataclasses.replace(pkg("cupy-cuda12x", "13.6.0"), cuda_kernels=("sm_50", "sm_60", "sm_70", "compute_70"))
    ext = dataclasses.replace(pkg("flash-attn", "2.8.3"), cuda_kernels=("sm_90",))
    lock = snapshot(packages=[torch, cupy, ext], frameworks=[framework])
    found = [(f.severity, f.needed, f.found) for f in gpu_arch.check(lock, gpu_host(A100, "580.65.06", "13.0"), HOST)]
    assert found == [
        ("ok", found[0][1], "NVIDIA A100-SXM4-80GB (sm_80)"),
        ("warn", "cupy-cuda12x 13.6.0 kernels (captured): sm_50, sm_60, sm_70, compute_70", found[1][2]),
        ("fail", "flash-attn 2.8.3 kernels (captured): sm_90", "NVIDIA A100-SXM4-80GB (sm_80): no kernel image"),
    ]
    assert found[0][1].startswith("torch 2.7.1+cu128 kernels (release set)")
    assert found[1][2].endswith("PTX JIT only, from compute_70 (no cubin runs on sm_80)")
    elsewhere = snapshot(packages=[cupy, ext], machine="aarch64")  # the host is x86_64
    assert gpu_arch.check(elsewhere, gpu_host(A100, "580.65.06", "13.0"), HOST) == []


def test_gpu_arch_judges_nvidias_cuda_libraries_by_their_cuda_not_their_fat_binaries() -> None:
    """cuFFT 11.4 keeps its kernels outside ``.nv_fatbin`` (24,454 fat binaries in ``.ldata``, loaded at run time):
    the section holds one sm_52 cubin, which a capture records, and check failed every GPU but Maxwell with "no
    kernel image" for the cuFFT that torch's CUDA 12 builds install. NVIDIA's CUDA libraries are built for every GPU
    their CUDA supports: their CUDA is judged, not their fat binaries."""
    cufft = dataclasses.replace(pkg("nvidia-cufft-cu12", "11.4.1.4"), cuda_kernels=("sm_52",))
    cublas = dataclasses.replace(pkg("nvidia-cublas-cu12", "12.9.1.4"), cuda_kernels=("sm_50", "sm_90", "compute_120"))
    cufft13 = dataclasses.replace(pkg("nvidia-cufft", "12.0.0.61"), cuda_kernels=("sm_75",))
    ext = dataclasses.replace(pkg("kext", "1.0"), cuda_kernels=("sm_52",))
    lock = snapshot(packages=[cufft, cublas, cufft13, pkg("nvidia-cuda-runtime-cu12", "12.9.79"), ext])
    found = [(f.severity, f.needed, f.found) for f in gpu_arch.check(lock, gpu_host(A100, "580.65.06", "13.0"), HOST)]
    assert found == [
        ("ok", "CUDA 12 supports compute capability >= 5.0", "NVIDIA A100-SXM4-80GB (sm_80)"),
        ("fail", "kext 1.0 kernels (captured): sm_52", "NVIDIA A100-SXM4-80GB (sm_80): no kernel image"),
    ]


def test_gpu_arch_never_fails_a_gpu_for_kernels_read_in_part() -> None:
    """A list cut short by a limit (``cuda_kernels_partial``) may lack the GPU's cubin: its PTX of a CUDA newer than
    the driver is no failure either, but cannot be verified."""
    ext = dataclasses.replace(
        pkg("kext", "1.0"), cuda_kernels=("sm_80", "compute_90"), cuda_kernels_partial=True, cuda_ptx_isa="8.8"
    )
    found = gpu_arch.check(snapshot(packages=[ext]), gpu_host(H100, "570.124.06", "12.8"), HOST)
    assert [(f.severity, f.remedy) for f in found] == [
        ("warn", "cannot verify: the capture read the kernel headers of its shared objects in part")
    ]
    assert found[0].found.endswith("cannot JIT-compile its PTX (ISA 8.8, CUDA 12.9)")
    whole = dataclasses.replace(ext, cuda_kernels_partial=False)
    found = gpu_arch.check(snapshot(packages=[whole]), gpu_host(H100, "570.124.06", "12.8"), HOST)
    assert [f.severity for f in found] == ["fail"]


def test_gpu_arch_without_torch_on_a_gpu_whose_capability_nvml_did_not_give_cannot_verify() -> None:
    """A CUDA lock without a framework build is judged by the CUDA major's oldest GPU: a GPU whose compute
    capability an old driver's NVML does not give was passed over in silence (a torch lock warned)."""
    lock = snapshot(cuda=Cuda(runtime_version="13.0.96", runtime_source="pip"))
    [f] = gpu_arch.check(lock, gpu_host(("Tesla V100-SXM2-32GB", "", 32768), "580.65.06", "13.0"), HOST)
    assert (f.severity, f.needed, f.found) == (
        "warn",
        "CUDA 13 supports compute capability >= 7.5",
        "Tesla V100-SXM2-32GB: unknown compute capability",
    )
    assert f.remedy == "cannot verify"


# ------------------------------------------------------------------------------------------ cuda libs


def test_bundled_cudnn_built_for_another_cuda_major_warns() -> None:
    cuda = Cuda(
        runtime_version="12.8",
        runtime_source="pip",
        cudnn_version="9.7.1",
        cudnn_source="pip",
        nccl_version="2.26.2",
        nccl_source="pip",
        copies=(
            CudaLibrary("cudnn", "9.7.1", "pip", "nvidia-cudnn-cu11", selected=True),
            CudaLibrary("nccl", "2.26.2", "pip", "nvidia-nccl-cu12", selected=True),
        ),
    )
    lock = dataclasses.replace(gpu_lock(), cuda=cuda)
    findings = cuda_libs.check(lock, gpu_host(A100, "570.26", "12.8"), HOST)
    assert [(f.severity, f.component) for f in findings] == [("warn", "cuDNN"), ("ok", "NCCL")]
    assert findings[0].found == "locked copy built for CUDA 11"


def test_system_nccl_major_and_minor_differences() -> None:
    lock = dataclasses.replace(
        gpu_lock(), cuda=Cuda(runtime_version="12.8", nccl_version="2.26.2", nccl_source="system")
    )
    host = gpu_host(A100, "570.26", "12.8")
    for have, severity in (("2.26.5", "ok"), ("2.21.5", "warn"), ("3.0.1", "fail")):
        host_with = dataclasses.replace(host, cuda=Cuda(nccl_version=have))
        assert severities(cuda_libs.check(lock, host_with, HOST)) == [severity]
    assert severities(cuda_libs.check(lock, host, target_of("docker"))) == ["ok"]


def test_an_unparseable_cuda_version_is_not_a_crash() -> None:
    # A hand-edited lock: no CUDA major can be read, so cuDNN/NCCL cannot be compared (an IndexError before).
    lock = dataclasses.replace(
        gpu_lock(),
        frameworks={},
        cuda=Cuda(runtime_version="twelve", runtime_source="pip", nccl_version="2.26.2", nccl_source="system"),
    )
    assert cuda_libs.check(lock, gpu_host(A100, "570.26", "12.8"), HOST) == []
    report = evaluate(lock, gpu_host(A100, "570.26", "12.8"), HOST)
    assert {f.rule for f in report.findings} >= {"cuda", "driver", "gpu-arch"}


def test_an_unparseable_cuda_version_is_no_driver_ok() -> None:
    """The driver rule took a CUDA version naming no release ("banana") for one any driver supports: `ok`, needed
    "CUDA " (the cuDNN/NCCL check above leaves it to the driver rule "as unknown"). It cannot be verified."""
    lock = dataclasses.replace(gpu_lock(), frameworks={}, cuda=Cuda(runtime_version="banana", runtime_source="pip"))
    [f] = driver.check(lock, gpu_host(A100, "570.26", "12.8"), HOST)
    assert (f.severity, f.needed, f.found) == (
        "warn",
        "CUDA runtime banana (pip)",
        "driver 570.26 (supports CUDA 12.8)",
    )
    assert f.remedy == "the lock names no CUDA release envsnap can read, cannot verify; capture the lock again"


def test_a_system_cudnn_whose_cuda_is_not_recorded_needs_a_gpu_and_a_driver_it_cannot_judge() -> None:
    """A system libcudnn.so.9 a binary of the environment loads, nothing naming its CUDA: the check called the
    lock CPU-only. It needs a driver and a GPU; which driver cannot be told, said as such (not "banana")."""
    from envsnap.model import CudaLibrary

    copy = CudaLibrary("cudnn", "9.1.0", "system", "/opt/lib/libcudnn.so.9", "filename", selected=True)
    cuda = Cuda(cudnn_version="9.1.0", cudnn_source="system", copies=(copy,))
    lock = dataclasses.replace(gpu_lock(), frameworks={}, cuda=cuda)
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=()))
    host = gpu_host(A100, "570.26", "12.8", cuda=Cuda(cudnn_version="9.1.0", cudnn_source="system"))
    report = evaluate(lock, host, HOST)
    by_rule = {f.rule: f for f in report.findings}
    assert (by_rule["cuda"].severity, by_rule["cuda"].needed) == (
        "ok",
        "a CUDA the lock does not record (cuDNN 9.1.0 loaded from the system)",
    )
    assert (by_rule["driver"].severity, by_rule["driver"].found) == ("warn", "driver 570.26 (supports CUDA 12.8)")
    assert by_rule["driver"].remedy.startswith("the lock does not record which CUDA they are built for, cannot verify")
    assert (by_rule["cuda-libs"].severity, by_rule["cuda-libs"].needed) == ("ok", "cuDNN 9.1.0 (from the system)")
    # In a versioned toolkit's folder, or owned by NVIDIA's libcudnn9-cuda-12: that CUDA.
    inside = dataclasses.replace(copy, location="/usr/local/cuda-12.4/lib64/libcudnn.so.9")
    lock = dataclasses.replace(lock, cuda=dataclasses.replace(cuda, copies=(inside,)))
    [f] = cuda_present.check(lock, host, HOST)
    assert f.needed == "CUDA 12.4 (cuDNN 9.1.0 at /usr/local/cuda-12.4/lib64/libcudnn.so.9)"
    from envsnap.model import System, SystemLibrary, SystemPackage

    system = System(
        manager="dpkg",
        packages=(SystemPackage("dpkg", "libcudnn9-cuda-12", "9.1.0.70-1", "amd64"),),
        libraries=(SystemLibrary("libcudnn.so.9", "/opt/lib/libcudnn.so.9", "libcudnn9-cuda-12:amd64"),),
    )
    lock = dataclasses.replace(lock, cuda=cuda, system=system)
    [f] = cuda_present.check(lock, host, HOST)
    assert f.needed == "CUDA 12 (cuDNN 9.1.0 from system package libcudnn9-cuda-12)"


# -------------------------------------------------------------------------------------------- cpu isa


def test_tensorflow_on_a_cpu_without_avx_fails() -> None:
    lock = snapshot(packages=[pkg("tensorflow", "2.19.0", "cp311-cp311-manylinux_2_17_x86_64")])
    findings = cpu_isa.check(lock, snapshot(cpu_flags=("sse4_2", "popcnt")), HOST)
    assert [(f.severity, f.component) for f in findings] == [
        ("fail", "CPU for tensorflow 2.19.0"),
        ("warn", "CPU flags"),
    ]
    assert findings[0].remedy == "run on a CPU with avx, or build TensorFlow from source without AVX"
    assert findings[1].needed.startswith("avx, avx2, fma")


def test_old_tensorflow_without_avx_is_fine_and_lost_avx512_only_warns() -> None:
    lock = snapshot(packages=[pkg("tensorflow", "1.5.0")], cpu_flags=(*X86_FLAGS, "avx512f"))
    [f] = cpu_isa.check(lock, snapshot(), HOST)
    assert (f.severity, f.needed) == ("warn", "avx512f (captured CPU)")


def test_polars_needs_avx2() -> None:
    lock = snapshot(packages=[pkg("polars", "1.30.0")], cpu_flags=("avx",))
    [f] = cpu_isa.check(lock, snapshot(cpu_flags=("avx",)), HOST)
    assert f.severity == "fail" and f.remedy.endswith("or use polars-lts-cpu")


# ----------------------------------------------------------------------------------------------- disk


def test_disk_estimate_uses_artifact_sizes_then_the_table() -> None:
    art = Artifact(filename="x-1-py3-none-any.whl", url="u", sha256="0" * 64, size=100 * 1024 * 1024)
    lock = snapshot(packages=[pkg("x", "1", artifact=art), pkg("torch", "2.7.1+cu128"), pkg("tiny", "1")])
    # 100 MiB wheel x3, torch 1600 x2, unknown 5 x2
    assert disk.estimate_mib(lock, HOST) == pytest.approx(300 + 3200 + 10)
    assert disk.estimate_mib(lock, target_of("docker")) == pytest.approx(300 + 3200 + 10 + 150)


@pytest.mark.parametrize(("free", "severity"), [(10, "fail"), (4000, "warn"), (10_000, "ok"), (None, "warn")])
def test_disk_space(free: int | None, severity: str) -> None:
    lock = snapshot(packages=[pkg("torch", "2.7.1+cu128")])
    [f] = disk.check(lock, snapshot(), Target(kind="host", disk_path="/build", disk_free_mib=free))
    assert f.severity == severity


# --------------------------------------------------------------------------------------------- docker


def test_docker_rule_only_for_the_docker_target() -> None:
    assert docker.check(gpu_lock(), snapshot(), HOST) == []


def test_docker_unreachable_engine_fails() -> None:
    target = target_of("docker", docker=DockerFacts(reachable=False, error="connection refused"))
    [f] = docker.check(snapshot(), snapshot(), target)
    assert (f.severity, f.found) == ("fail", "unreachable: connection refused")


@pytest.mark.parametrize(("runtimes", "severity"), [(("runc",), "fail"), (("nvidia", "runc"), "ok")])
def test_docker_nvidia_runtime_for_a_gpu_lock(runtimes: tuple[str, ...], severity: str) -> None:
    target = target_of(
        "docker", docker=DockerFacts(reachable=True, architecture="x86_64", os_type="linux", runtimes=runtimes)
    )
    assert severities(docker.check(gpu_lock(), snapshot(), target)) == ["ok"]
    [f] = docker.check_gpu_runtime(gpu_lock(), snapshot(), target)
    assert (f.severity, f.component) == (severity, "NVIDIA runtime")
    assert docker.check_gpu_runtime(snapshot(), snapshot(), target) == []  # a CPU-only lock needs no runtime
    assert docker.check_gpu_runtime(gpu_lock(), snapshot(), HOST) == []


def test_a_container_on_a_driver_older_than_its_cuda_names_the_images_nvidia_require_cuda() -> None:
    """Minor-version compatibility runs a CUDA 12.8 build on driver 550 (CUDA 12.4), but the rebuilt image is an
    nvidia/cuda one declaring NVIDIA_REQUIRE_CUDA=cuda>=12.8, which the NVIDIA container toolkit checks first
    ("unsatisfied condition") save for the driver branches the image lists: the warning said it runs."""
    target = target_of(
        "docker",
        docker=DockerFacts(reachable=True, architecture="x86_64", os_type="linux", runtimes=("nvidia", "runc")),
    )
    [f] = driver.check(gpu_lock(), gpu_host(RTX_4090, "550.54.14", "12.4"), target)
    assert f.severity == "warn"
    assert "unsatisfied condition: cuda>=12.8" in f.remedy and "branch R550" in f.remedy
    assert "driver >= 570.26" in f.remedy and "--target venv or conda" in f.remedy
    [f] = driver.check(gpu_lock(), gpu_host(RTX_4090, "550.54.14", "12.4"), HOST)
    assert f.severity == "warn" and "NVIDIA_REQUIRE_CUDA" not in f.remedy  # no image: minor-version compatibility
    [f] = driver.check(gpu_lock(), gpu_host(RTX_4090, "570.124.06", "12.8"), target)
    assert f.severity == "ok"


def test_a_mig_uuid_selects_the_gpu_it_is_on() -> None:
    """A MIG UUID names the GPU NVML lists it under (an old MIG-GPU-<uuid>/gi/ci its GPU's UUID); one of no MIG
    device here selects nothing, the list is read up to it, and without the UUIDs read (a host captured without
    --gpu-ids) the GPU cannot be told where the GPUs differ."""
    mig = "MIG-4f3e2d1c-aaaa-bbbb-cccc-ddddeeeeffff"
    a100 = Gpu(0, "NVIDIA A100-SXM4-80GB", "8.0", 81920, "GPU-0f2c3d4e-1111-2222-3333-444455556666", "", (mig,))
    gtx = Gpu(1, "NVIDIA GeForce GTX 1080", "6.1", 8192, "GPU-9a8b7c6d-7777-8888-9999-aaaabbbbcccc")
    other = "MIG-99999999-aaaa-bbbb-cccc-ddddeeeeffff"
    assert cuda_selected(mig, (gtx, a100)) == (a100,)
    assert cuda_selected("MIG-" + mig[4:].upper(), (gtx, a100)) == (a100,)
    assert cuda_selected(f"{mig},{other}", (gtx, a100)) == (a100,)
    assert cuda_selected(other, (gtx, a100)) == ()
    assert cuda_selected(f"{other},{mig}", (gtx, a100)) == ()
    assert cuda_selected(f"MIG-{gtx.uuid}/1/0", (a100, gtx)) == (gtx,)
    unread = (dataclasses.replace(a100, uuid="", mig_uuids=()), dataclasses.replace(gtx, uuid=""))
    assert cuda_selected(mig, unread) is None


def test_a_cuda_wheel_whose_version_was_edited_is_judged_by_the_newer_cuda_the_lock_records() -> None:
    # `nvidia-cuda-runtime-cu12` hand-edited to "12" (and resealed) while `[cuda].copies` still records the wheel's
    # 12.9.79: the check read "CUDA 12" and passed a 550 driver (CUDA 12.4) as `ok`, where the recorded 12.9 runs
    # only through minor-version compatibility. Both tables are the lock's word: the newer CUDA is judged.
    copy = CudaLibrary("runtime", "12.9.79", "pip", "nvidia-cuda-runtime-cu12", "metadata")
    edited = snapshot(packages=[pkg("nvidia-cuda-runtime-cu12", "12")], cuda=Cuda(copies=(copy,)))
    need = cuda_need(edited)
    assert need is not None and (need.version, need.evidence) == ("12.9", "nvidia-cuda-runtime-cu12 12.9.79")
    [f] = driver.check(edited, gpu_host(H100, "550.54.14", "12.4"), HOST)
    assert (f.severity, f.needed) == ("warn", "CUDA 12.9: driver >= 575.51.03"), f
    # The other way round (the copy edited): the package's newer version stands.
    older = dataclasses.replace(copy, version="12")
    need = cuda_need(snapshot(packages=[pkg("nvidia-cuda-runtime-cu12", "12.9.79")], cuda=Cuda(copies=(older,))))
    assert need is not None and need.version == "12.9"
    # A cuBLAS wheel edited likewise.
    cublas = CudaLibrary("cublas", "12.9.3.13", "pip", "nvidia-cublas-cu12", "metadata", selected=True)
    need = cuda_need(snapshot(packages=[pkg("nvidia-cublas-cu12", "12")], cuda=Cuda(copies=(cublas,))))
    assert need is not None and need.version == "12.9"


def test_cuda_need_reads_the_versions_of_cuda_wheels_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check asks ``cuda_need`` of one lock some ten times (the rules' ``reads_gpus``, then their findings); each
    read every package's version against ``[cuda].copies``, for a lock of 150 distributions with no CUDA wheel.
    The versions of the CUDA runtime and library wheels are the only ones it reads, with the same answers."""
    from envsnap import cudaneed

    asked: list[str] = []
    original = cudaneed._wheel_version

    def counting(lock: Any, package: Any) -> str:
        asked.append(package.name)
        return original(lock, package)

    monkeypatch.setattr(cudaneed, "_wheel_version", counting)
    plain = [pkg(f"plain{i}", f"1.{i}") for i in range(50)]
    assert cuda_need(snapshot(packages=plain)) is None and asked == []
    cublas = CudaLibrary("cublas", "12.9.3.13", "pip", "nvidia-cublas-cu12", "metadata", selected=True)
    need = cuda_need(snapshot(packages=[*plain, pkg("nvidia-cublas-cu12", "12")], cuda=Cuda(copies=(cublas,))))
    assert need is not None and (need.version, need.library) == ("12.9", True)
    assert asked == ["nvidia-cublas-cu12"]


def test_glibc_of_a_lock_whose_wheels_state_no_floor_says_what_it_needs() -> None:
    """A pure-Python lock captured on glibc read ``needed: glibc``, as if its version were left out, and failed on a
    musl host ("use a glibc-based host") that runs it as well: nothing of it is built for glibc, which it says, ok on
    either. A conda package without a ``__glibc`` constraint needs some glibc; a wheel built on the captured machine
    (``linux_*``) is named with the glibc it was built on, without a floor that none states."""
    six = pkg("six", "1.17.0", "py2.py3-none-any")
    lock = snapshot(libc_version="2.36", packages=[six])
    none = "none: no locked wheel or conda package is built for glibc"
    [f] = glibc.check(lock, snapshot(libc_version="2.31"), HOST)
    assert (f.severity, f.needed, f.found) == ("ok", none, "glibc 2.31")
    [f] = glibc.check(lock, snapshot(libc="musl", libc_version="1.2.4"), HOST)
    assert (f.severity, f.needed, f.found, f.remedy) == ("ok", none, "musl 1.2.4", "")
    [f] = glibc.check(lock, snapshot(libc_version="2.17"), target_of("docker"))
    assert (f.severity, f.needed, f.remedy) == ("ok", none, "")
    conda = Conda(subdir="linux-64", packages=(CondaPackage(name="zlib", version="1.3", depends=()),))
    [f] = glibc.check(snapshot(conda=conda), snapshot(libc="musl", libc_version="1.2.4"), HOST)
    assert (f.severity, f.needed) == ("fail", "any glibc (no locked wheel or conda package states a minimum)")
    lock = snapshot(libc_version="2.36", packages=[pkg("mypkg", "1.0", "cp311-cp311-linux_x86_64")])
    [f] = glibc.check(lock, snapshot(libc_version="2.31"), HOST)
    assert (f.severity, f.needed) == ("warn", "mypkg 1.0 built on glibc 2.36")


def test_the_wheels_row_counts_a_wheel_the_bundle_built() -> None:
    """A bundle of a project holds its locked wheels and the wheel it built of the project: check said "3 locked
    wheels" of a bundle holding 4. The built one is counted, as built from source (no tag of it is judged: a rebuild
    without the bundle builds it again)."""
    pure = [pkg(n, "1.0", "py3-none-any") for n in ("aa", "bb", "cc")]
    built = Artifact(filename="proj-0.1-py3-none-any.whl", url="u", sha256="0" * 64, rebuilt=True)
    lock = snapshot(python="3.12.4", packages=[*pure, pkg("proj", "0.1", artifact=built)])
    [f] = wheels.check(lock, snapshot(python="3.12.4"), HOST)
    assert (f.severity, f.needed) == ("ok", "3 locked wheels, 1 built from source"), f
    [one] = wheels.check(snapshot(python="3.12.4", packages=pure[:1]), snapshot(python="3.12.4"), HOST)
    assert one.needed == "1 locked wheel", one


@pytest.mark.parametrize(
    "tag",
    ["macosx_100_0_arm64", "macosx_14_100_arm64", "macosx_999999999_0_arm64", f"macosx_{'9' * 5000}_0_arm64"],
)
def test_a_macos_platform_tag_over_99_is_taken_as_not_recorded(tag: str) -> None:
    """A lock's platform tag of macOS 999999999.0 had every release from it down listed (a billion: the check hung);
    no macOS release is over 99.99, and pin reads the lock's version so (``platforms.MACOS_PART_MAX``). Such a tag is
    not recorded: no platform tag is read from it (nor from digits no int() reads, which the lock's grammar keeps out
    of a lock, given here directly)."""
    mac = TagTarget("cpython", (3, 11), "cp311", "Darwin", "arm64", platform_tag=tag)
    assert mac.platforms == ()
    real = TagTarget("cpython", (3, 11), "cp311", "Darwin", "arm64", platform_tag="macosx_99_99_arm64")
    assert real.platforms[0] == "macosx_99_0_arm64" or "macosx_99_99_arm64" in real.platforms


def test_the_largest_python_and_glibc_a_lock_allows_are_judged_without_a_million_tags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lock's Python 3.999 and glibc 2.999 (each within its grammar) made the target's supported tags every Python
    release from 3.999 down times every glibc release from 2.999 down: two million tags built, 8 s of check and of
    rebuild --dry-run. A wheel's tag is judged by its interpreter and ABI, and by its platform, apart."""
    made = count_tags_made(monkeypatch)
    lock = snapshot(
        python="3.999.0",
        libc_version="2.999",
        packages=[
            pkg("newest", "1.0", "cp3999-cp3999-manylinux_2_999_x86_64"),
            pkg("abi3", "1.0", "cp32-abi3-manylinux_2_5_x86_64"),
            pkg("pure", "1.0", "py3-none-any"),
            pkg("old", "1.0", "cp311-cp311-manylinux_2_17_x86_64"),
            pkg("later", "1.0", "cp3999-cp3999-manylinux_2_1000_x86_64"),
        ],
    )
    findings = wheels.check(lock, snapshot(), target_of("docker"))
    assert made[0] < 100_000, made
    assert sorted((f.severity, f.component) for f in findings if f.severity != "ok") == [
        ("fail", "wheel later 1.0"),
        ("fail", "wheel old 1.0"),
    ], findings


def test_python_a_lock_naming_the_minor_release_alone_is_met_by_any_patch_release_of_it() -> None:
    """An imported pylock's ``requires-python = "==3.11.*"`` is recorded as ``3.11``: check warned "patch release
    differs" of every 3.11 host, naming ``uv python install 3.11`` as the way to an exact match."""
    [f] = python.check(snapshot(python="3.11"), snapshot(python="3.11.9"), HOST)
    assert (f.severity, f.remedy) == ("ok", ""), f
    [f] = python.check(snapshot(python="3.11"), snapshot(python="3.12.1"), HOST)
    assert f.severity == "fail", f
