"""CUDA present at all: a lock built for CUDA needs an NVIDIA driver and a GPU that CUDA_VISIBLE_DEVICES leaves
visible for GPU use. ``--cpu-only`` is
the explicit degraded option (the engine turns this rule's failure into a warning)."""

from __future__ import annotations

from ..._defaults import NVML_HUNG
from ...model import Snapshot
from .._facts import cuda_need, cuda_selected, cuda_visible, has_driver, shown_visible
from ..report import Finding
from ..target import Target
from .driver import required_driver
from .interface import Rule

NAME = "cuda"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    need = cuda_need(lock)
    if need is None:
        return [_cpu_lock(lock, target)]
    needed = f"{need.named()} ({need.evidence})"
    driver = required_driver(need.version)
    install = f"install an NVIDIA driver >= {driver}" if driver else "install a recent NVIDIA driver"
    remedy = f"{install} on a host with an NVIDIA GPU"
    if not target.cpu_only:
        remedy += ", or pass --cpu-only to run without the GPU"
    if not has_driver(host):
        answered = host.nvidia.error if host.nvidia is not None else ""
        if answered:
            # NVML's library is here, so is a driver: it is to be made to answer, not installed.
            remedy = (
                "make the installed NVIDIA driver answer (`nvidia-smi` shows what fails: a kernel module not loaded, "
                "or not the driver's own after an upgrade without a reboot, or a hung GPU); "
                + (f"CUDA {need.version} needs a driver" if need.version else f"{need.evidence} need it")
                + (f" >= {driver}" if driver else "")
            )
            remedy += "" if target.cpu_only else ", or pass --cpu-only to run without the GPU"
            if answered.startswith(NVML_HUNG) and target.gpu_timeout is not None:
                remedy += (
                    "; a driver slow to start rather than hung (many GPUs without persistence mode) may need more "
                    f"than the {target.gpu_timeout:g} s waited: pass --gpu-timeout SECONDS"
                )
        found = f"the NVIDIA driver did not answer: {answered}" if answered else "no NVIDIA driver"
        return [Finding("fail", "CUDA", needed, found, remedy, NAME)]
    assert host.nvidia is not None
    if not host.hardware.gpus:  # the driver is here: what is missing is the GPU
        remedy = "run on a host with an NVIDIA GPU" + (f" (driver >= {driver})" if driver else "")
        remedy += "" if target.cpu_only else ", or pass --cpu-only to run without the GPU"
        return [Finding("fail", "CUDA", needed, "an NVIDIA driver but no GPU", remedy, NAME)]
    count = len(host.hardware.gpus)
    found = f"{count} GPU(s), driver {host.nvidia.driver_version}"
    setting = target.cuda_visible_devices
    selected = cuda_selected(setting, host.hardware.gpus, target.cuda_device_order)
    if setting is not None and (not cuda_visible(setting, count) or selected == ()):
        # NVML lists every GPU whatever the variable says; CUDA, and so torch.cuda.is_available(), sees none.
        found += f"; {shown_visible(setting)} shows CUDA none of them"
        indices = "0" if count == 1 else f"0-{count - 1}"
        remedy = f"unset CUDA_VISIBLE_DEVICES or set it to GPUs of this host ({indices})"
        remedy += "" if target.cpu_only else ", or pass --cpu-only to run without the GPU"
        return [Finding("fail", "CUDA", needed, found, remedy, NAME)]
    if selected is None and setting is not None:
        # CUDA uses some of the GPUs, NVML cannot say which: the GPU rules judge them all.
        order = target.cuda_device_order
        if setting.startswith("MIG-"):
            found += f"; which GPUs the MIG slices of {shown_visible(setting)} are on cannot be told"
            remedy = "name whole GPUs by index or UUID to have them judged; the GPU rules judged every GPU"
        else:
            how = f"CUDA_DEVICE_ORDER={order!r}" if order is not None else "CUDA_DEVICE_ORDER unset"
            if setting.startswith("GPU-"):
                # NVML gave no UUID for some GPU, or one not in its form (``GPU-bbbb``, dropped as unmatchable): "no
                # GPU UUID was read", and a remedy to name the GPUs by UUID, which the variable already does.
                unmatched = sum(1 for g in host.hardware.gpus if not g.uuid)
                found += (
                    f"; which of them {shown_visible(setting)} selects cannot be told: NVML gave no well-formed "
                    f"UUID for {unmatched} of them"
                )
                remedy = (
                    "set CUDA_DEVICE_ORDER=PCI_BUS_ID and name the GPUs by index (CUDA then numbers GPUs as "
                    "nvidia-smi does); the GPU rules judged every GPU"
                )
            else:
                found += (
                    f"; which of them {shown_visible(setting)} selects cannot be told: CUDA numbers GPUs fastest "
                    f"first ({how}), NVML by PCI bus id"
                )
                remedy = (
                    "set CUDA_DEVICE_ORDER=PCI_BUS_ID (CUDA then numbers GPUs as nvidia-smi does) or name the GPUs "
                    "by UUID; the GPU rules judged every GPU"
                )
        return [Finding("warn", "CUDA", needed, found, remedy, NAME)]
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


def _cpu_lock(lock: Snapshot, target: Target) -> Finding:
    """A lock that needs no CUDA: ok whatever the host, but for one captured with GPUs (``hardware.gpus``) checked
    where this host has no NVIDIA driver at all: a warning naming them, as nothing the lock installs needs one (code
    may use the GPU another way). It said "none (CPU-only lock)", ok, of a lock captured on an A100 checked on a
    host without a GPU. Told by whether the loader finds the driver's NVML library (``Target.nvml_library``), not
    by asking NVML: a hung driver held a CPU lock's check for the whole --gpu-timeout (``reads_gpus``)."""
    captured = lock.hardware.gpus
    if not captured:
        return Finding("ok", "CUDA", "none (CPU-only lock)", "no GPU needed", "", NAME)
    names = [gpu.name or "unnamed" for gpu in captured]
    kinds = dict.fromkeys(names)  # in NVML order, each kind once
    shown = ", ".join(f"{names.count(name)}x {name}" if len(names) > 1 else name for name in kinds)
    driver = f", driver {lock.nvidia.driver_version}" if lock.nvidia is not None and lock.nvidia.driver_version else ""
    plural = "s" if len(names) > 1 else ""
    needed = f"none (CPU-only lock; captured with {len(names)} GPU{plural}: {shown}{driver})"
    if target.cpu_only:
        return Finding("ok", "CUDA", needed, "no GPU needed (--cpu-only)", "", NAME)
    if target.nvml_library is None or target.container:  # not looked for; an image is run without a GPU
        return Finding("ok", "CUDA", needed, "no GPU needed", "", NAME)
    if target.nvml_library:
        return Finding("ok", "CUDA", needed, "an NVIDIA driver (its GPUs not asked: no GPU needed)", "", NAME)
    remedy = (
        "nothing the lock installs needs CUDA; run on a host with an NVIDIA GPU if your code uses one, "
        "or pass --cpu-only to accept running without it"
    )
    return Finding("warn", "CUDA", needed, "no NVIDIA driver", remedy, NAME)


class CudaRule(Rule):
    name = NAME
    gpu = True
    areas = ("cuda", "frameworks")

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)

    def reads_gpus(self, lock: Snapshot) -> bool:
        return cuda_need(lock) is not None


RULE = CudaRule()
