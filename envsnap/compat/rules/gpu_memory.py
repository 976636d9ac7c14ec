"""GPU memory and count below the captured machine's: the environment runs, but the workload may not fit."""

from __future__ import annotations

from ...model import Snapshot
from .._facts import cuda_need, cuda_visible, mib, shown_visible
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
    count = len(host.hardware.gpus)
    setting = target.cuda_visible_devices
    seen = cuda_visible(setting, count)  # what CUDA enumerates, not what NVML lists
    if seen < len(lock.hardware.gpus):
        remedy = "multi-GPU code paths need adjusting (e.g. world size)"
        if setting is not None and seen < count:
            remedy = (
                f"{shown_visible(setting)} shows CUDA {seen} of this host's {count} GPUs: unset it or name more, "
                "or adjust multi-GPU code paths (e.g. world size)"
            )
        findings.append(Finding("warn", "GPU count", str(len(lock.hardware.gpus)), str(seen), remedy, NAME))
    return findings


class GpuMemoryRule(Rule):
    name = NAME
    gpu = True
    areas = ("hardware",)

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = GpuMemoryRule()
