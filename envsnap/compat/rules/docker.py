"""Docker target: the engine must answer (``check``), and have the NVIDIA container runtime when the lock
needs a GPU (``check_gpu_runtime``, a GPU rule: ``--cpu-only`` accepts its absence)."""

from __future__ import annotations

from ...model import Snapshot
from .._facts import cuda_need
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "docker"
GPU_NAME = "docker-gpu"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if not target.container:
        return []
    engine = target.docker
    if engine is None or not engine.reachable:
        error = engine.error if engine is not None else "not probed"
        return [
            Finding(
                "fail",
                "docker engine",
                "a reachable Docker engine",
                f"unreachable: {error}",
                "start the Docker daemon (or set DOCKER_HOST), and make sure this user may use it",
                NAME,
            )
        ]
    found = f"{engine.os_type} {engine.architecture}".strip() or "reachable"
    return [Finding("ok", "docker engine", "a reachable Docker engine", found, "", NAME)]


def check_gpu_runtime(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    engine = target.docker
    need = cuda_need(lock)
    if not target.container or engine is None or not engine.reachable or need is None:
        return []
    runtimes = ", ".join(engine.runtimes) or "none"
    needed = f"NVIDIA container runtime ({need.named()})"
    if "nvidia" in engine.runtimes:
        return [Finding("ok", "NVIDIA runtime", needed, f"runtimes: {runtimes}", "", GPU_NAME)]
    return [
        Finding(
            "fail",
            "NVIDIA runtime",
            needed,
            f"runtimes: {runtimes}",
            "install nvidia-container-toolkit and run 'nvidia-ctk runtime configure --runtime=docker', "
            "then restart dockerd",
            GPU_NAME,
        )
    ]


class DockerRule(Rule):
    name = NAME

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = DockerRule()


class DockerGpuRule(Rule):
    name = GPU_NAME
    gpu = True

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check_gpu_runtime(lock, host, target)

    def reads_gpus(self, lock: Snapshot) -> bool:
        return False  # the engine's runtimes, which NVML does not say


GPU_RULE = DockerGpuRule()
