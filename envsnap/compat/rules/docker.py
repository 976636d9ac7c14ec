"""Docker target: the engine must answer, and have the NVIDIA container runtime when the lock needs a GPU."""

from __future__ import annotations

from ...model import Snapshot
from .._facts import cuda_need
from ..report import Finding
from ..target import Target

NAME = "docker"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if target.kind != "docker":
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
    findings = [
        Finding(
            "ok",
            "docker engine",
            "a reachable Docker engine",
            f"{engine.os_type} {engine.architecture}".strip() or "reachable",
            "",
            NAME,
        )
    ]
    need = cuda_need(lock)
    if need is not None:
        runtimes = ", ".join(engine.runtimes) or "none"
        needed = f"NVIDIA container runtime (CUDA {need.version})"
        if "nvidia" in engine.runtimes:
            findings.append(Finding("ok", "NVIDIA runtime", needed, f"runtimes: {runtimes}", "", NAME))
        else:
            findings.append(
                Finding(
                    "fail",
                    "NVIDIA runtime",
                    needed,
                    f"runtimes: {runtimes}",
                    "install nvidia-container-toolkit and run 'nvidia-ctk runtime configure "
                    "--runtime=docker', then restart dockerd; or pass --cpu-only",
                    NAME,
                )
            )
    return findings
