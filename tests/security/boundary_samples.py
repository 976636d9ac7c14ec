"""Valid locks the boundary tests and the fuzzer start from: every table filled, every kind of source."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from envsnap.model import (
    Artifact,
    Conda,
    CondaPackage,
    Cpu,
    Cuda,
    CudaLibrary,
    Framework,
    Gpu,
    Hardware,
    Meta,
    Nvidia,
    Platform,
    Project,
    PythonEnv,
    PythonPackage,
    Snapshot,
    Source,
    System,
    SystemLibrary,
    SystemPackage,
)

SHA = "ab" * 32
WHEEL = "demo-1.0-py3-none-any.whl"


def rich() -> Snapshot:
    """A lock with every table and every kind of Python source, as a capture and a pin would write it."""
    torch_wheel = "torch-2.4.0+cu121-cp311-cp311-linux_x86_64.whl"
    return Snapshot(
        envsnap=Meta(
            generator="envsnap 0.1.0",
            created="2026-11-30T08:00:00Z",
            warnings=("pin: legacy 1.0: no WHEEL tags recorded",),
        ),
        platform=Platform(
            system="Linux",
            machine="x86_64",
            os_id="debian",
            os_version="12",
            os_name="Debian GNU/Linux 12 (bookworm)",
            kernel="6.1.0-18-amd64",
            libc="glibc",
            libc_version="2.36",
        ),
        python=PythonEnv(
            implementation="cpython",
            version="3.11.7",
            abi="cp311",
            soabi="cpython-311-x86_64-linux-gnu",
            platform_tag="linux-x86_64",
            kind="venv",
            executable="bin/python3",
            packages=(
                PythonPackage(
                    name="demo",
                    version="1.0",
                    installer="pip",
                    requested=True,
                    wheel_tags=("py3-none-any",),
                    record_digest="sha256:" + SHA,
                    requires_dist=("numpy>=1.0",),
                    requires_python=">=3.9",
                    artifact=Artifact(
                        filename=WHEEL,
                        url=f"https://files.example.org/{WHEEL}",
                        sha256=SHA,
                        size=1000,
                        upload_time="2025-01-02T03:04:05Z",
                        index="https://index.example.org/simple/",
                    ),
                ),
                PythonPackage(
                    name="local-tool",
                    version="0.1.dev0",
                    installer="pip",
                    source=Source(kind="directory", url="file://{project}/tools", editable=True),
                ),
                PythonPackage(
                    name="mylib",
                    version="0.2",
                    installer="uv",
                    metadata_name="MyLib",
                    source=Source(
                        kind="vcs",
                        url="https://git.example.org/mylib.git",
                        vcs="git",
                        commit_id="0" * 40,
                        requested_revision="main",
                        subdirectory="python/mylib",
                    ),
                ),
                PythonPackage(
                    name="packed",
                    version="3.0",
                    installer="pip",
                    source=Source(
                        kind="archive",
                        url="https://files.example.org/packed-3.0.tar.gz",
                        archive_hash="sha256=" + "cd" * 32,
                    ),
                ),
                PythonPackage(
                    name="torch",
                    version="2.4.0+cu121",
                    installer="pip",
                    wheel_tags=("cp311-cp311-linux_x86_64",),
                    record_digest="sha256:" + "ef" * 32,
                    artifact=Artifact(
                        filename=torch_wheel,
                        url=f"https://files.example.org/{torch_wheel}",
                        sha256="ef" * 32,
                        size=2_000_000_000,
                    ),
                ),
            ),
        ),
        system=System(
            manager="dpkg",
            packages=(
                SystemPackage(
                    manager="dpkg", name="libc6", version="2.36-9+deb12u4", arch="amd64", needed_by=("torch",)
                ),
                SystemPackage(manager="dpkg", name="libgomp1", version="12.2.0-14", arch="amd64", needed_by=("torch",)),
            ),
            libraries=(
                SystemLibrary(
                    soname="libgomp.so.1",
                    path="/usr/lib/x86_64-linux-gnu/libgomp.so.1",
                    package="libgomp1",
                    needed_by=("torch",),
                ),
            ),
        ),
        hardware=Hardware(
            memory_mib=64_000,
            cpu=Cpu(vendor="GenuineIntel", model="Xeon", arch="x86_64", logical_cores=16, flags=("avx", "avx2", "fma")),
            gpus=(Gpu(index=0, name="NVIDIA H100 80GB HBM3", compute_capability="9.0", memory_mib=81559),),
        ),
        environment=MappingProxyType({"CUDA_VISIBLE_DEVICES": "0", "OMP_NUM_THREADS": "8"}),
        project=Project(commit="a" * 40, branch="main", remote_url="https://git.example.org/paper.git"),
        nvidia=Nvidia(driver_version="550.54.14", cuda_driver_version="12.4", source="nvml"),
        cuda=Cuda(
            runtime_version="12.1.105",
            runtime_source="pip",
            copies=(
                CudaLibrary(
                    component="runtime",
                    version="12.1.105",
                    source="pip",
                    location="nvidia-cuda-runtime-cu12",
                    method="metadata",
                    selected=True,
                ),
            ),
        ),
        frameworks=MappingProxyType(
            {"torch": Framework(name="torch", version="2.4.0+cu121", cuda_version="12.1", arch_list=("sm_80", "sm_90"))}
        ),
        conda=Conda(
            subdir="linux-64",
            channels=("https://conda.example.org/forge",),
            packages=(
                CondaPackage(
                    name="zlib",
                    version="1.3",
                    build="h0_0",
                    channel="https://conda.example.org/forge",
                    subdir="linux-64",
                    url="https://conda.example.org/forge/linux-64/zlib-1.3-h0_0.conda",
                    md5="0" * 32,
                    sha256="1" * 64,
                ),
            ),
        ),
    )


def pip_only() -> Snapshot:
    """The rich lock without conda and local projects: what a venv or docker dry run plans in full."""
    snapshot = rich()
    packages = tuple(p for p in snapshot.python.packages if p.source.kind != "directory")
    return dataclasses.replace(
        snapshot, conda=None, python=dataclasses.replace(snapshot.python, kind="venv", packages=packages)
    )
