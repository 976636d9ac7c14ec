"""Facts the rules share: version parsing, what CUDA a lock needs, what kind of GPU a host has."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

# What CUDA a lock needs is the core's (the Dockerfile spec picks a base image by it); the rules reach it here.
from ..cudaneed import CudaNeed as CudaNeed
from ..cudaneed import cuda_need as cuda_need
from ..cudaneed import cuda_visible as cuda_visible
from ..cudaneed import local_cuda as local_cuda
from ..model import Gpu, Snapshot
from ..platforms import numbers
from . import data
from .report import Finding

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .target import Target


def variant(cuda_version: str) -> str:
    """``"12.8"`` -> ``"cu128"``."""
    parts = numbers(cuda_version)
    return f"cu{parts[0]}{parts[1]}" if len(parts) >= 2 else ""


def has_driver(host: Snapshot) -> bool:
    """A driver answered with its version (``error`` may still name a GPU that did not answer)."""
    return host.nvidia is not None and bool(host.nvidia.driver_version)


def _named(gpu_name: str, patterns: list[str]) -> bool:
    lowered = gpu_name.lower()
    return any(re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", lowered) for p in patterns)


def forward_compatible(gpu_name: str) -> bool:
    """Data-center and Jetson GPUs, the only ones on which cuda-compat runs a newer toolkit."""
    table = data.load("nvidia")["forward_compatible_gpus"]
    return _named(gpu_name, table["name_patterns"]) or jetson(gpu_name)


def jetson(gpu_name: str) -> bool:
    """A Jetson module, whose forward compatibility follows its JetPack release rather than a driver branch."""
    return _named(gpu_name, data.load("nvidia")["forward_compatible_gpus"]["jetson_patterns"])


def driver_branch(driver_version: str) -> tuple[str, str]:
    """The branch of a driver (``"575.57.08"`` -> ``"R575"``) and what NVIDIA designates it:
    ``"long_term_support"``, ``"production"``, ``"new_feature"``, or "" where the table does not know it."""
    parts = numbers(driver_version)
    if not parts:
        return "", ""
    table = data.load("nvidia")["driver_branches"]
    kind = next((k for k in ("long_term_support", "production", "new_feature") if str(parts[0]) in table[k]), "")
    return f"R{parts[0]}", kind


def full_driver(cuda: str) -> str:
    """The driver shipped with CUDA ``major.minor`` (full support), or "" when the table does not know it."""
    table: dict[str, str] = data.load("nvidia")["toolkit_driver"]
    return table.get(cuda, "")


def native_cuda(driver_version: str) -> str:
    """The newest CUDA ``major.minor`` the table knows that ``driver_version`` fully supports by itself (its own
    libcuda), or "" where it is older than every release the table knows."""
    have = numbers(driver_version)
    table: dict[str, str] = data.load("nvidia")["toolkit_driver"]
    known = [cuda for cuda, driver in table.items() if have and numbers(driver) <= have]
    return max(known, key=numbers, default="")


def forward_libcuda(host: Snapshot) -> str:
    """The CUDA version of a cuda-compat (forward compatibility) libcuda the host's loader finds, or "" where the
    libcuda NVML asked is the driver's own. NVML answers the kernel module's driver version and the CUDA version of
    the libcuda.so.1 it loads: a CUDA release whose driver is of a newer branch than the kernel module's is no
    libcuda of that driver (branches, not whole versions: R565's own libcuda answers 12.7, which no toolkit
    shipped with)."""
    nvidia = host.nvidia
    if nvidia is None or not nvidia.driver_version or not nvidia.cuda_driver_version:
        return ""
    branch = numbers(nvidia.driver_version)[:1]
    reported = numbers(nvidia.cuda_driver_version)[:2]
    table: dict[str, str] = data.load("nvidia")["toolkit_driver"]
    newer = any(numbers(cuda)[:2] <= reported and numbers(driver)[:1] > branch for cuda, driver in table.items())
    return nvidia.cuda_driver_version if branch and newer else ""


def full_support(host: Snapshot, cuda: str) -> bool | None:
    """Whether the host's driver fully supports CUDA ``major.minor`` (it reports that CUDA version or a newer one,
    or it is at least the driver shipped with it): only then does its JIT compiler read PTX that CUDA release
    wrote. None where that cannot be told (no driver answered, or the table does not know the release)."""
    if not has_driver(host) or host.nvidia is None:
        return None
    want = numbers(cuda)[:2]
    if host.nvidia.cuda_driver_version and numbers(host.nvidia.cuda_driver_version)[:2] >= want:
        return True
    full = full_driver(cuda)
    if not full:
        return None
    return numbers(host.nvidia.driver_version) >= numbers(full)


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def branch_end_of_life(driver_version: str, today: str) -> str:
    """The month the driver's branch reached its end of life (``"June 2026"``), where it is past it on ``today``
    (an ISO date; "" where not known: nothing is judged); "" while it is in support or the table gives none."""
    parts = numbers(driver_version)
    if not parts or not today:
        return ""
    month = data.load("nvidia")["driver_branches"]["end_of_life"].get(str(parts[0]), "")
    if not month or today[:7] <= month:  # supported through the month NVIDIA names
        return ""
    year, number = month.split("-")
    return f"{_MONTHS[int(number) - 1]} {year}"


def older_than_known(driver_version: str, today: str) -> str:
    """Where the driver's branch is unknown to the table and older than every branch it knows, and that oldest
    one is past its end of life on ``today``: ``"R418, which reached its end of life in March 2022"`` (no older
    branch can be in support), else ""."""
    parts = numbers(driver_version)
    if not parts or driver_branch(driver_version)[1]:
        return ""
    known = [int(b) for b in data.load("nvidia")["driver_branches"]["end_of_life"]]
    oldest = min(known, default=0)
    if not oldest or parts[0] >= oldest:
        return ""
    ended = branch_end_of_life(str(oldest), today)
    return f"R{oldest}, which reached its end of life in {ended}" if ended else ""


def cuda_selected(setting: str | None, gpus: tuple[Gpu, ...], order: str | None = None) -> tuple[Gpu, ...] | None:
    """The GPUs of ``gpus`` (NVML's, which it numbers in PCI bus order) that CUDA uses under
    ``CUDA_VISIBLE_DEVICES=setting`` and ``CUDA_DEVICE_ORDER=order``; None where that cannot be told. An index
    names NVML's GPU of that index only under ``PCI_BUS_ID``: CUDA's default order is fastest first, which NVML
    does not give, so an index names an unknown one of them, unless the GPUs are alike (any is the same) or the
    list names all of them. A GPU UUID (or a unique prefix of one, as CUDA takes it) is matched against the
    UUIDs the probe read (none without ``gpu_ids``: unknown); a MIG device's UUID names the GPU it is on, from the
    MIG UUIDs NVML gave with them (an old ``MIG-GPU-<uuid>/<gi>/<ci>`` names its GPU's UUID)."""
    count = cuda_visible(setting, len(gpus))
    if setting is None:
        return gpus
    if not count:
        return ()
    entries = [raw.strip() for raw in setting.split(",")][:count]
    alike = len({(g.name, g.compute_capability, g.memory_mib) for g in gpus}) == 1
    if setting.startswith("GPU-"):
        chosen: list[Gpu] = []
        for entry in entries:
            matches = [g for g in gpus if g.uuid and g.uuid.lower().startswith(entry.lower())]
            if len(matches) != 1:
                break
            chosen.append(matches[0])
        if len(chosen) == len(entries) or all(g.uuid for g in gpus):
            return tuple(chosen)  # CUDA reads the list up to the first entry naming no GPU
        return gpus[:count] if alike else None
    if setting.startswith("MIG-"):
        parents: list[Gpu] = []
        for entry in entries:
            parent = _mig_parent(entry, gpus)
            if parent is None:
                break  # CUDA reads the list up to the first entry naming no device
            if parent not in parents:
                parents.append(parent)
        if parents or any(g.uuid for g in gpus):
            return tuple(parents)  # the probe read the UUIDs: one of no MIG device here is no device for CUDA
        return gpus[:1] if alike else None
    indices = [int(entry[: len(entry) - len(entry.lstrip("0123456789"))]) for entry in entries]
    if order == "PCI_BUS_ID" or alike:
        return tuple(gpus[i] for i in indices)
    if sorted(indices) == list(range(len(gpus))):
        return gpus  # every GPU, in whatever order
    return None


def _mig_parent(entry: str, gpus: tuple[Gpu, ...]) -> Gpu | None:
    """The GPU of ``gpus`` the MIG device ``entry`` (as CUDA_VISIBLE_DEVICES names it) is on, or None."""
    wanted = entry.lower()
    old = wanted[4:].split("/")[0] if wanted.startswith("mig-gpu-") else ""
    for gpu in gpus:
        if any(m.lower() == wanted for m in gpu.mig_uuids) or (old and gpu.uuid.lower() == old):
            return gpu
    return None


def used_gpus(host: Snapshot, setting: str | None, order: str | None) -> tuple[Gpu, ...]:
    """The host's GPUs a GPU rule judges: those CUDA uses, or all of them where which cannot be told (the
    ``cuda`` rule warns that it cannot)."""
    selected = cuda_selected(setting, host.hardware.gpus, order)
    return host.hardware.gpus if selected is None else selected


def shown_visible(setting: str) -> str:
    """``CUDA_VISIBLE_DEVICES='...'`` as a finding shows it, a GPU or MIG UUID in it written as a lock writes it."""
    from ..probes.nvidia import redact_device_ids  # the capture's rule; the rules import no probe to load

    return f"CUDA_VISIBLE_DEVICES={redact_device_ids({'v': setting})['v']!r}"


def mib(value: float) -> str:
    return f"{value / 1024:.1f} GiB" if value >= 1024 else f"{value:.0f} MiB"


def either_runtime(need: CudaNeed, judge: Callable[[CudaNeed], list[Finding]]) -> list[Finding]:
    """The findings ``judge`` gives for ``need``; where the environment carries runtimes of other CUDA majors as
    well (``need.others``: cu12 and cu13 wheels, no framework), a failure of a component that one of them would not
    fail is a warning naming them all, and the CUDA it holds for: the code may load either runtime."""
    findings = judge(need)
    if not need.others or all(f.severity != "fail" for f in findings):
        return findings
    judged = [(other, judge(other)) for other in need.others]
    carried = need.carried()
    out = []
    for finding in findings:
        if finding.severity == "fail":
            runs = [
                o.version
                for o, others in judged
                if any(f.component == finding.component and f.severity != "fail" for f in others)
            ]
            if runs:
                ran = " and ".join(f"CUDA {v}" for v in runs)
                finding = dataclasses.replace(
                    finding,
                    severity="warn",
                    remedy=(
                        f"the environment carries {carried}, and nothing in it says which runtime its code loads: "
                        f"{ran} runs here; for CUDA {need.version}: {finding.remedy}"
                    ),
                )
        out.append(finding)
    return out


def activate_python(python: str, get: str = "") -> str:
    """The remedy for an interpreter the lock cannot run on where the caller has no option to name another one
    (fleet's node, which judges the environment it runs in: ``Target.python_options`` false). ``python`` names
    the one it needs ("a cpython 3.12.1 interpreter"); ``get`` says where to get one ("; to get one: ...")."""
    return (
        f"activate a venv or conda environment of {python} on a file system the nodes share (srun passes "
        f"VIRTUAL_ENV and CONDA_PREFIX on to them{get}), or rebuild the lock into one with envsnap rebuild"
    )


def not_made(lock: Snapshot, target: Target) -> bool:
    """Whether ``target`` makes no environment of ``lock``: ``rebuild --target docker`` refuses the lock as it reads
    it (another OS than Linux, musl, a conda environment), and ``rebuild --target conda`` a pip environment's
    (``target.conda_refusal``); the platform rule fails it in the rebuild's words. The rules that judge what the
    image or environment would hold (its Python, the wheels installed in it, its glibc) are then not judged and give
    no finding, as the system-libs rule gives none for another machine's lock: each would be a verdict on an
    environment that cannot exist ("ok ... on Darwin x86_64", "glibc 1.2.5, as captured", "provided by the conda
    rebuild")."""
    if target.facts.installs_conda:
        from .target import conda_refusal

        return bool(conda_refusal(lock)[0])
    if not target.container:
        return False
    from ..dockerfile.baseimage import platform_refusal, refuses_conda

    return bool(platform_refusal(lock)[0] or refuses_conda(lock))


def docker_remedy(target: Target) -> str:
    """How a remedy names a rebuild as a container: check's and rebuild's ``--target docker``; for a caller without
    that option (fleet's node: ``Target.python_options`` false), the command that has it."""
    return "--target docker" if target.python_options else "envsnap rebuild --target docker"
