"""GPU memory and count below the captured machine's: the environment runs, but the workload may not fit."""

from __future__ import annotations

from ...model import Gpu, Snapshot
from .._facts import cuda_need, cuda_selected, cuda_visible, mib, shown_visible
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "gpu-memory"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if cuda_need(lock) is None or not lock.hardware.gpus or not host.hardware.gpus:
        return []
    findings = []
    setting = target.cuda_visible_devices
    selected = cuda_selected(setting, host.hardware.gpus, target.cuda_device_order)
    captured = _captured_gpus(lock)
    want = max(g.memory_mib for g in captured)
    want_name = next(g.name for g in captured if g.memory_mib == want)
    if selected is None:  # which GPUs CUDA uses cannot be told (the cuda rule says why): the least it may have
        have = min(g.memory_mib for g in host.hardware.gpus)
        needed, found = f"{mib(want)} ({want_name})", f"{mib(have)} (the smallest GPU: the selection cannot be told)"
    else:
        have = max((g.memory_mib for g in selected), default=0)
        needed, found = f"{mib(want)} ({want_name})", mib(have)
    if selected == ():
        # CUDA sees no GPU (CUDA_VISIBLE_DEVICES hides them all): the cuda rule fails on that, and the count below
        # says it; no memory of this host's GPUs is compared ("0 MiB: reduce batch or model size" misled).
        pass
    elif setting is not None and setting.startswith("MIG-"):
        # A slice has a part of its GPU's memory (its profile's), which NVML's whole-GPU answer does not say.
        whole = f"a {mib(have)} GPU" if selected is not None else "a GPU the check cannot tell"
        found = f"a MIG slice of {whole} ({shown_visible(setting)}): its memory cannot be told"
        remedy = "check the slice's memory (nvidia-smi -L names its profile, e.g. 1g.10gb) against the workload's"
        findings.append(Finding("warn", "GPU memory", needed, found, remedy, NAME))
    elif want and have < want:
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
    seen = cuda_visible(setting, count)  # what CUDA enumerates, not what NVML lists
    ran = cuda_visible(lock.environment.get("CUDA_VISIBLE_DEVICES"), len(lock.hardware.gpus))
    if seen < ran:
        remedy = "multi-GPU code paths need adjusting (e.g. world size)"
        if setting is not None and seen < count:
            remedy = (
                f"{shown_visible(setting)} shows CUDA {seen} of this host's {count} GPUs: unset it or name more, "
                "or adjust multi-GPU code paths (e.g. world size)"
            )
        findings.append(Finding("warn", "GPU count", _captured_count(lock, ran), str(seen), remedy, NAME))
    return findings


def _captured_gpus(lock: Snapshot) -> tuple[Gpu, ...]:
    """The captured machine's GPUs CUDA used: those its recorded ``CUDA_VISIBLE_DEVICES`` selected, every GPU where
    that cannot be told (or it hid them all)."""
    env = lock.environment
    selected = cuda_selected(env.get("CUDA_VISIBLE_DEVICES"), lock.hardware.gpus, env.get("CUDA_DEVICE_ORDER"))
    return selected or lock.hardware.gpus


def _captured_count(lock: Snapshot, ran: int) -> str:
    """How many GPUs the captured process's CUDA saw, said with the setting that left it fewer than it had."""
    setting = lock.environment.get("CUDA_VISIBLE_DEVICES")
    total = len(lock.hardware.gpus)
    return (
        f"{ran} (captured with {shown_visible(setting)}, of {total})"
        if setting is not None and ran < total
        else str(ran)
    )


class GpuMemoryRule(Rule):
    name = NAME
    gpu = True
    areas = ("hardware",)

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)

    def reads_gpus(self, lock: Snapshot) -> bool:
        return cuda_need(lock) is not None and bool(lock.hardware.gpus)


RULE = GpuMemoryRule()
