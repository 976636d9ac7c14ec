"""GPU memory and count below the captured machine's: the environment runs, but the workload may not fit."""

from __future__ import annotations

from ...model import Snapshot
from .._facts import cuda_need, mib
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "gpu-memory"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if cuda_need(lock) is None or not lock.hardware.gpus or not host.hardware.gpus:
        return []
    findings = []
    want = max(g.memory_mib for g in lock.hardware.gpus)
    have = max(g.memory_mib for g in host.hardware.gpus)
    want_name = next(g.name for g in lock.hardware.gpus if g.memory_mib == want)
    needed, found = f"{mib(want)} ({want_name})", mib(have)
    if want and have < want:
        findings.append(
            Finding(
                "warn",
                "GPU memory",
                needed,
                found,
                "reduce batch or model size; the captured workload may not fit",
                NAME,
            )
        )
    else:
        findings.append(Finding("ok", "GPU memory", needed, found, "", NAME))
    if len(host.hardware.gpus) < len(lock.hardware.gpus):
        findings.append(
            Finding(
                "warn",
                "GPU count",
                str(len(lock.hardware.gpus)),
                str(len(host.hardware.gpus)),
                "multi-GPU code paths need adjusting (e.g. world size)",
                NAME,
            )
        )
    return findings


class GpuMemoryRule(Rule):
    name = NAME
    gpu = True
    areas = ("hardware",)

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = GpuMemoryRule()
