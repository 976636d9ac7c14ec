"""Small hand-made locks for the docker target's unit tests (a CPU lock on Debian, a GPU lock on Ubuntu)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from testutil import sample_lock, sample_platform, sample_python

from envsnap import lockfile
from envsnap.model import (
    Artifact,
    Cuda,
    Framework,
    PythonPackage,
    Snapshot,
    System,
    SystemPackage,
)


def _wheel(name: str, version: str, filename: str, digit: str) -> PythonPackage:
    return PythonPackage(
        name=name,
        version=version,
        installer="pip",
        record_digest="sha256:" + digit * 64,
        artifact=Artifact(filename=filename, url=f"https://files.example/{filename}", sha256=digit * 64),
    )


def cpu_lock(**platform: str) -> Snapshot:
    snap = sample_lock(
        platform=sample_platform(os_name="Debian GNU/Linux 12 (bookworm)"),
        python=sample_python(
            executable="bin/python",
            packages=(
                _wheel(
                    "markupsafe",
                    "3.0.2",
                    "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                    "a",
                ),
                _wheel("tomli-w", "1.2.0", "tomli_w-1.2.0-py3-none-any.whl", "b"),
            ),
        ),
        system=System(
            manager="dpkg",
            packages=(
                SystemPackage("dpkg", "libc6", "2.36-9+deb12u14", "amd64", ("markupsafe",)),
                SystemPackage("dpkg", "libgcc-s1", "12.2.0-14+deb12u1", "amd64"),
                SystemPackage("dpkg", "libstdc++6", "12.2.0-14+deb12u1", "i386", ("markupsafe",)),
                SystemPackage("dpkg", "zlib1g", "1:1.2.13.dfsg-1", "amd64"),
            ),
        ),
    )
    if platform:
        snap = dataclasses.replace(snap, platform=dataclasses.replace(snap.platform, **platform))
    return lockfile.seal(snap)


def gpu_lock(
    cuda: str = "12.4.127",
    cudnn: str = "9.1.0",
    os_id: str = "ubuntu",
    os_version: str = "22.04",
    python: str = "3.10.12",
) -> Snapshot:
    snap = sample_lock(
        platform=sample_platform(os_id=os_id, os_version=os_version, libc_version="2.35"),
        python=sample_python(
            version=python,
            abi="cp" + "".join(python.split(".")[:2]),
            packages=(
                _wheel(
                    "nvidia-cudnn-cu12",
                    "9.1.0.70",
                    "nvidia_cudnn_cu12-9.1.0.70-py3-none-manylinux2014_x86_64.whl",
                    "c",
                ),
                _wheel("torch", "2.4.0", "torch-2.4.0-cp310-cp310-manylinux1_x86_64.whl", "d"),
            ),
        ),
        system=System(
            manager="dpkg",
            packages=(
                SystemPackage("dpkg", "libgomp1", "12.3.0-1ubuntu1~22.04", "amd64", ("torch",)),
                SystemPackage("dpkg", "libnvidia-compute-550", "550.54.15-0ubuntu1", "amd64", ("torch",)),
            ),
        ),
        cuda=Cuda(runtime_version=cuda, runtime_source="pip", cudnn_version=cudnn, cudnn_source="pip"),
        frameworks=MappingProxyType({"torch": Framework(name="torch", version="2.4.0", cuda_version="12.4")}),
    )
    return lockfile.seal(snap)
