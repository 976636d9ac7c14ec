"""CUDA present at all: a lock built for CUDA needs an NVIDIA driver and a GPU for GPU use. ``--cpu-only`` is
the explicit degraded option (the engine turns this rule's failure into a warning)."""

from __future__ import annotations

from ...model import Snapshot
from .._facts import cuda_need, has_driver
from ..report import Finding
from ..target import Target
from .driver import required_driver
from .interface import Rule

NAME = "cuda"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    need = cuda_need(lock)
    if need is None:
        found = "NVIDIA driver " + host.nvidia.driver_version if has_driver(host) and host.nvidia else "no GPU needed"
        return [Finding("ok", "CUDA", "none (CPU-only lock)", found, "", NAME)]
    needed = f"CUDA {need.version} ({need.evidence})"
    driver = required_driver(need.version)
    install = f"install an NVIDIA driver >= {driver}" if driver else "install a recent NVIDIA driver"
    remedy = f"{install} on a host with an NVIDIA GPU"
    if not target.cpu_only:
        remedy += ", or pass --cpu-only to run without the GPU"
    if not has_driver(host):
        answered = host.nvidia.error if host.nvidia is not None else ""
        found = f"the NVIDIA driver did not answer: {answered}" if answered else "no NVIDIA driver"
        return [Finding("fail", "CUDA", needed, found, remedy, NAME)]
    assert host.nvidia is not None
    if not host.hardware.gpus:  # the driver is here: what is missing is the GPU
        remedy = "run on a host with an NVIDIA GPU" + (f" (driver >= {driver})" if driver else "")
        remedy += "" if target.cpu_only else ", or pass --cpu-only to run without the GPU"
        return [Finding("fail", "CUDA", needed, "an NVIDIA driver but no GPU", remedy, NAME)]
    found = f"{len(host.hardware.gpus)} GPU(s), driver {host.nvidia.driver_version}"
    if host.nvidia.error:
        return [
            Finding(
                "warn",
                "CUDA",
                needed,
                f"{found}; {host.nvidia.error}",
                "check the GPUs that did not answer",
                NAME,
            )
        ]
    return [Finding("ok", "CUDA", needed, found, "", NAME)]


class CudaRule(Rule):
    name = NAME
    gpu = True
    areas = ("cuda", "frameworks")

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = CudaRule()
