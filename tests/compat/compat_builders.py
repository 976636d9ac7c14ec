"""Test helpers imported by the compat tests: builders for lock and host Snapshots. Each case names only
what differs from a plain x86_64 Debian 12 machine with CPython 3.11.7."""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

from testutil import sample_lock, sample_platform, sample_python

from envsnap.compat import Finding, Target
from envsnap.model import (
    Artifact,
    Conda,
    Cpu,
    Cuda,
    Framework,
    Gpu,
    Hardware,
    Nvidia,
    PythonPackage,
    Snapshot,
)

X86_FLAGS = ("avx", "avx2", "fma", "popcnt", "sse4_2", "f16c", "bmi2")

GTX_1080 = ("NVIDIA GeForce GTX 1080", "6.1", 8192)
A100 = ("NVIDIA A100-SXM4-80GB", "8.0", 81920)
H100 = ("NVIDIA H100 80GB HBM3", "9.0", 81559)
RTX_4090 = ("NVIDIA GeForce RTX 4090", "8.9", 24564)
RTX_5090 = ("NVIDIA GeForce RTX 5090", "12.0", 32607)


def pkg(
    name: str, version: str, *tags: str, artifact: Artifact | None = None, conda_managed: bool = False
) -> PythonPackage:
    return PythonPackage(name=name, version=version, wheel_tags=tags, artifact=artifact, conda_managed=conda_managed)


def gpus(*specs: tuple[str, str, int]) -> tuple[Gpu, ...]:
    return tuple(Gpu(index=i, name=n, compute_capability=c, memory_mib=m) for i, (n, c, m) in enumerate(specs))


def torch_cu(
    version: str = "2.7.1", cuda: str = "12.8", *, arch_list: Iterable[str] = (), py: str = "cp311"
) -> tuple[PythonPackage, Framework]:
    var = "cu" + cuda.replace(".", "")
    package = pkg("torch", f"{version}+{var}", f"{py}-{py}-manylinux_2_28_x86_64")
    return package, Framework(name="torch", version=f"{version}+{var}", cuda_version=cuda, arch_list=tuple(arch_list))


def snapshot(
    *,
    system: str = "Linux",
    machine: str = "x86_64",
    os_id: str = "debian",
    os_version: str = "12",
    libc: str = "glibc",
    libc_version: str = "2.36",
    python: str = "3.11.7",
    implementation: str = "cpython",
    packages: Iterable[PythonPackage] = (),
    cpu_flags: Iterable[str] = X86_FLAGS,
    gpu_list: tuple[Gpu, ...] = (),
    driver: str = "",
    driver_cuda: str = "",
    cuda: Cuda | None = None,
    frameworks: Iterable[Framework] = (),
    conda: Conda | None = None,
) -> Snapshot:
    major, minor = python.split(".")[:2]
    return sample_lock(
        platform=sample_platform(
            system=system, machine=machine, os_id=os_id, os_version=os_version, libc=libc, libc_version=libc_version
        ),
        python=sample_python(
            *sorted(packages, key=lambda p: p.name),
            implementation=implementation,
            version=python,
            abi=f"cp{major}{minor}",
            platform_tag=f"linux-{machine}",
            kind="system",
        ),
        hardware=Hardware(
            memory_mib=65536, cpu=Cpu(arch=machine, model="test CPU", flags=tuple(cpu_flags)), gpus=gpu_list
        ),
        nvidia=Nvidia(driver_version=driver, cuda_driver_version=driver_cuda, source="nvml") if driver else None,
        cuda=cuda,
        frameworks=MappingProxyType({fw.name: fw for fw in frameworks}),
        conda=conda,
    )


def gpu_lock(
    torch_version: str = "2.7.1",
    cuda: str = "12.8",
    *,
    gpu: tuple[str, str, int] = A100,
    extra: Iterable[PythonPackage] = (),
    **kw: object,
) -> Snapshot:
    """A lock captured on a GPU machine with torch built for ``cuda``."""
    package, framework = torch_cu(torch_version, cuda)
    return snapshot(
        packages=[package, *extra],
        frameworks=[framework],
        gpu_list=gpus(gpu),
        driver="570.86.15",
        driver_cuda="12.8",
        cuda=Cuda(runtime_version=cuda, runtime_source="pip"),
        **kw,
    )  # type: ignore[arg-type]


def gpu_host(gpu: tuple[str, str, int], driver: str, driver_cuda: str, **kw: object) -> Snapshot:
    return snapshot(gpu_list=gpus(gpu), driver=driver, driver_cuda=driver_cuda, **kw)  # type: ignore[arg-type]


HOST = Target(kind="host", disk_path="/build", disk_free_mib=500_000)


def target_of(kind: str, **fields: Any) -> Target:
    """A ``Target`` of a rebuild target's kind, with the facts that rebuilder declares."""
    from envsnap.rebuild import get

    return Target(kind=kind, facts=get(kind).target_facts, **fields)


def severities(findings: Iterable[Finding]) -> list[str]:
    return [f.severity for f in findings]
