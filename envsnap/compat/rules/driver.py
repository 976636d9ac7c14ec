"""NVIDIA driver vs the locked CUDA runtime.

Full support when the driver is at least the one shipped with that toolkit (or reports a CUDA version at least
as new); reduced support through minor-version compatibility within a major (a warning); below that a failure,
with forward compatibility (cuda-compat) offered only where it runs: on the data-center (or Jetson) GPUs CUDA uses,
with a driver of a production or long-term support branch not past its end of life on ``Target.today``. A CUDA
version the table does not know is a warning, "unknown, cannot verify", on a driver at or above its major's
minor-version floor, and a failure below it. A cuda-compat libcuda on the loader's path (NVML answers its CUDA
version, newer than the kernel module's branch ships) fails on any GPU CUDA uses that is not a data-center or Jetson
GPU, whatever CUDA the lock needs (error 804), and is a warning on a branch NVIDIA does not support it on."""

from __future__ import annotations

import dataclasses

from ...model import Snapshot
from ...platforms import numbers
from .._facts import (
    CudaNeed,
    branch_end_of_life,
    cuda_need,
    driver_branch,
    either_runtime,
    forward_compatible,
    forward_libcuda,
    full_driver,
    has_driver,
    jetson,
    native_cuda,
    older_than_known,
    used_gpus,
)
from ..data import load
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "driver"


def required_driver(cuda: str) -> str:
    """The driver shipped with CUDA ``major.minor`` (full support), or "" when the table does not know it."""
    return full_driver(cuda)


def minor_compat_floor(cuda: str) -> str:
    table: dict[str, str] = load("nvidia")["minor_version_compatibility"]
    parts = numbers(cuda)
    return table.get(str(parts[0]), "") if parts else ""


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    need = cuda_need(lock)
    if need is None or not has_driver(host) or host.nvidia is None:
        return []  # nothing to check, or the cuda rule already reports the missing driver
    if target.container and need.others and target.base_image is None:
        # With a --base-image, that image's NVIDIA_REQUIRE_CUDA says which runtime it serves (the rebuild checks it).
        return _image_of_the_newest(need, host, target)
    return either_runtime(need, lambda n: _check(n, host, target))


def _image_of_the_newest(need: CudaNeed, host: Snapshot, target: Target) -> list[Finding]:
    """A container of an environment carrying the runtimes of several CUDA majors: the rebuilt image is for the
    newest, whose NVIDIA_REQUIRE_CUDA the NVIDIA container toolkit checks before it starts the container, whichever
    runtime the code loads: a driver that fails it fails the container; a --base-image of another runtime's CUDA is
    the way out, which runs that runtime alone."""
    findings = _check(need, host, target)
    if all(f.severity != "fail" for f in findings):
        return findings
    runs = [o for o in need.others if all(f.severity != "fail" for f in _check(o, host, target))]
    carried = need.carried()
    out = []
    for finding in findings:
        if finding.severity == "fail":
            remedy = (
                f"the rebuilt image is for CUDA {need.version}, the newest runtime the environment carries "
                f"({carried}), and declares NVIDIA_REQUIRE_CUDA=cuda>={need.version}, which this driver does not meet: "
                + finding.remedy
            )
            if runs:
                remedy += (
                    f", or rebuild with --base-image of a CUDA {runs[0].version} image (the CUDA {need.version} "
                    "runtime does not run there)"
                )
            finding = dataclasses.replace(finding, remedy=remedy)
        out.append(finding)
    return out


def _check(need: CudaNeed, host: Snapshot, target: Target) -> list[Finding]:
    if host.nvidia is None:
        return []
    driver = host.nvidia.driver_version
    driver_cuda = host.nvidia.cuda_driver_version
    found = f"driver {driver}" + (f" (supports CUDA {driver_cuda})" if driver_cuda else "")
    full = required_driver(need.version)
    needed = f"CUDA {need.version}: driver >= {full}" if full else f"CUDA {need.version}"
    component = "NVIDIA driver"
    if not need.version and need.library:
        # cuDNN or NCCL a binary loads from the system, no package or toolkit naming the CUDA they are built for.
        remedy = (
            "the lock does not record which CUDA they are built for, cannot verify: the driver must support it "
            "(installed from a package that names it, NVIDIA's libcudnn9-cuda-12 or a nvidia-cudnn-cu12 wheel, "
            "the next capture records it)"
        )
        return [Finding("warn", component, f"{need.named()} ({need.evidence})", found, remedy, NAME)]
    if not numbers(need.version):
        # A hand-edited lock's CUDA version that names no release ("banana"): no driver can be judged against it.
        remedy = "the lock names no CUDA release envsnap can read, cannot verify; capture the lock again"
        return [Finding("warn", component, need.evidence, found, remedy, NAME)]
    compat = forward_libcuda(host)
    if compat:
        native = native_cuda(driver)
        if target.container:
            # A container loads the driver's own libcuda (the NVIDIA container toolkit mounts it), not the
            # cuda-compat one this host's loader finds.
            driver_cuda = native
            found = f"driver {driver}" + (f" (supports CUDA {native})" if native else "")
        else:
            supports = f" (supports CUDA {native})" if native else ""
            found = f"driver {driver}{supports} with cuda-compat's libcuda (CUDA {compat})"
            refused = _compat_refused(host, target, need.version, needed, found)
            if refused is not None:
                return [refused]
            unsupported = _compat_branch(host, target)
            if unsupported and driver_cuda and numbers(driver_cuda)[:2] >= numbers(need.version)[:2]:
                upgrade = f"NVIDIA driver >= {full}" if full else f"an NVIDIA driver that supports CUDA {need.version}"
                remedy = (
                    "NVIDIA supports forward compatibility (cuda-compat) only on production and long-term support "
                    f"branches still in support, and {unsupported}: install {upgrade}"
                )
                return [Finding("warn", component, needed, found, remedy, NAME)]
    if driver_cuda and numbers(driver_cuda)[:2] >= numbers(need.version)[:2]:
        return [Finding("ok", component, needed, found, "", NAME)]
    floor = minor_compat_floor(need.version)
    if not full:
        version = load("nvidia")["data_version"]
        unknown = f"CUDA {need.version} is unknown to envsnap's driver table (data version {version})"
        if floor and numbers(driver) < numbers(floor):
            # A release newer than the table still needs its major's minor-version floor: below it no release of
            # that major runs (a CUDA 13.5 lock on driver 535 was a warning, exit 0).
            remedy = f"install NVIDIA driver >= {floor} (every CUDA {numbers(need.version)[0]} release needs it)"
            remedy += _forward(host, target, need.version) + f"; {unknown}: NVIDIA's release notes name its full driver"
            return [Finding("fail", component, f"CUDA {need.version}: driver >= {floor}", found, remedy, NAME)]
        major = numbers(need.version)[:1]
        if driver_cuda and not compat and numbers(driver_cuda)[:1] < major:
            # A release of a newer major than the driver's CUDA: minor-version compatibility stays within a major, so
            # no driver of this one runs it, whatever its unknown minimum (a CUDA 14.2 lock on a CUDA 13.0 driver was
            # a warning, exit 0).
            remedy = (
                f"install an NVIDIA driver that supports CUDA {need.version} (a driver of CUDA {driver_cuda} runs no "
                f"CUDA {major[0]} release: minor-version compatibility stays within a major)"
                + _forward(host, target, need.version)
                + f"; {unknown}: NVIDIA's release notes name its minimum driver"
            )
            return [Finding("fail", component, f"CUDA {need.version} ({need.evidence})", found, remedy, NAME)]
        return [
            Finding(
                "warn",
                component,
                f"CUDA {need.version} ({need.evidence})",
                found,
                f"{unknown}, cannot verify; check NVIDIA's release notes for its minimum driver",
                NAME,
            )
        ]
    if numbers(driver) >= numbers(full):
        return [Finding("ok", component, needed, found, "", NAME)]
    if floor and numbers(driver) >= numbers(floor):
        if target.container:
            return [_image_requirement(host, target, need.version, needed, found, full)]
        return [
            Finding(
                "warn",
                component,
                needed,
                found,
                f"runs through CUDA minor-version compatibility (reduced features: no PTX JIT for "
                f"newer code); install NVIDIA driver >= {full} for full support"
                + forward_offer(host, target, need.version),
                NAME,
            )
        ]
    remedy = f"install NVIDIA driver >= {full}" + _forward(host, target, need.version)
    return [Finding("fail", component, needed, found, remedy, NAME)]


def _compat_branch(host: Snapshot, target: Target) -> str:
    """Why NVIDIA does not support forward compatibility on this driver's branch ("R575 is a new feature branch",
    "R570 reached its end of life in February 2026"), or "" where it does, or cannot be told (an unknown branch, no
    date), or every GPU CUDA uses is a Jetson, whose JetPack release decides."""
    gpus = used_gpus(host, target.cuda_visible_devices, target.cuda_device_order)
    if gpus and all(jetson(g.name) for g in gpus):
        return ""
    driver = host.nvidia.driver_version if host.nvidia is not None else ""
    branch, kind = driver_branch(driver)
    if kind == "new_feature":
        return f"{branch} is a new feature branch"
    ended = branch_end_of_life(driver, target.today) if kind else ""
    if ended:
        return f"{branch} reached its end of life in {ended}"
    older = older_than_known(driver, target.today)
    return f"{branch} is older than {older}" if older else ""


def _compat_refused(host: Snapshot, target: Target, cuda: str, needed: str, found: str) -> Finding | None:
    """The failure of a cuda-compat libcuda on a GPU CUDA uses that is no data-center GPU (or Jetson): CUDA does not
    start there (CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE, 804), whatever CUDA the lock needs. None where every GPU
    CUDA uses runs it (or which GPU it is cannot be told: NVML did not give its name)."""
    gpus = used_gpus(host, target.cuda_visible_devices, target.cuda_device_order)
    other = next((g for g in gpus if g.name and not forward_compatible(g.name)), None)
    if other is None:
        return None
    steps = []
    fits = [str(g.index) for g in host.hardware.gpus if g.name and forward_compatible(g.name)]
    if fits:
        steps.append(
            "set CUDA_VISIBLE_DEVICES to the data-center GPUs alone (with CUDA_DEVICE_ORDER=PCI_BUS_ID: "
            f"{','.join(fits)})"
        )
    driver = host.nvidia.driver_version if host.nvidia is not None else ""
    full, floor = required_driver(cuda), minor_compat_floor(cuda)
    off = "take cuda-compat's libcuda off the loader's path (LD_LIBRARY_PATH, /etc/ld.so.conf.d)"
    if full and numbers(driver) >= numbers(full):
        off += f": driver {driver} then runs CUDA {cuda}"
    elif floor and numbers(driver) >= numbers(floor):
        off += (
            f": driver {driver} then runs CUDA {cuda} through minor-version compatibility (reduced features: no PTX "
            "JIT for newer code)" + (f"; install NVIDIA driver >= {full} for full support" if full else "")
        )
    else:
        off += f", and install NVIDIA driver >= {full or floor}" if full or floor else f", and a driver for CUDA {cuda}"
    steps.append(off)
    head = f"cuda-compat runs only on data-center GPUs and Jetson: CUDA fails to start on this {other.name} (error 804)"
    return Finding("fail", "NVIDIA driver", needed, found, f"{head}; " + ", or ".join(steps), NAME)


def _image_requirement(host: Snapshot, target: Target, cuda: str, needed: str, found: str, full: str) -> Finding:
    """A container on a driver older than its CUDA: the rebuilt image declares ``NVIDIA_REQUIRE_CUDA=cuda>=C.c``
    (an nvidia/cuda base, or a --base-image that must), which the NVIDIA container toolkit checks against the
    driver's CUDA before it starts the container, so minor-version compatibility alone does not start it. The
    image's ``brand=...,driver>=B,driver<B+1`` alternatives admit some driver branches on some GPU brands, which
    differ from image to image: only the image says, so this is a warning that names the condition."""
    branch = driver_branch(host.nvidia.driver_version if host.nvidia is not None else "")[0] or "of this driver"
    return Finding(
        "warn",
        "NVIDIA driver",
        needed,
        found,
        f"the container starts only if the image's NVIDIA_REQUIRE_CUDA lists driver branch {branch} for this "
        f"GPU's brand (nvidia/cuda images list a few branches, for some brands), else the NVIDIA container toolkit "
        f"refuses it (unsatisfied condition: cuda>={cuda}); install NVIDIA driver >= {full} for certain, or use "
        "--target venv or conda (minor-version compatibility runs it there)",
        NAME,
    )


def _forward(host: Snapshot, target: Target, cuda: str) -> str:
    """What the remedy of a driver too old adds about forward compatibility (cuda-compat): offered only where
    NVIDIA supports it, on the GPUs CUDA uses (all of them where which cannot be told) and the driver's branch;
    else why not."""
    offer, refusal = _forward_parts(host, target, cuda)
    return offer or refusal


def forward_offer(host: Snapshot, target: Target, cuda: str) -> str:
    """The offer of cuda-compat for CUDA ``cuda`` (", or install cuda-compat-X-Y ..."), which gives full support where a
    driver runs it through minor-version compatibility alone; "" where NVIDIA does not support it here."""
    return _forward_parts(host, target, cuda)[0]


def _forward_parts(host: Snapshot, target: Target, cuda: str) -> tuple[str, str]:
    """``(offer, refusal)``: the offer of forward compatibility (cuda-compat) where NVIDIA supports it, else "" and
    why it is not offered ("" where there is no GPU for CUDA)."""
    gpus = used_gpus(host, target.cuda_visible_devices, target.cuda_device_order)
    if not gpus:
        return "", ""  # no GPU for CUDA: the cuda rule says so
    if target.wsl:
        # WSL's libcuda is the Windows driver's (/usr/lib/wsl/lib): NVIDIA's compatibility guide excludes WSL.
        return "", (
            " (forward compatibility through cuda-compat is not supported on WSL: NVIDIA supports it on native "
            "Linux only)"
        )
    unnamed = next((g for g in gpus if not g.name), None)
    if unnamed is not None:
        return "", (
            f" (whether forward compatibility through cuda-compat runs on GPU {unnamed.index} cannot be told: NVML "
            "did not give its name)"
        )
    other = next((g.name for g in gpus if not forward_compatible(g.name)), None)
    if other is not None:
        return "", (
            f" (forward compatibility through cuda-compat is not supported on this GPU, {other}: only on "
            "data-center GPUs and Jetson)"
        )
    driver = host.nvidia.driver_version if host.nvidia is not None else ""
    branch, kind = driver_branch(driver)
    compat = f"cuda-compat-{cuda.replace('.', '-')}"
    supported = f"forward compatibility, supported on data-center GPUs such as this {gpus[0].name}"
    if target.container:
        # A container loads the libcuda the NVIDIA container toolkit mounts from the host's driver: a host package on
        # the host's loader path does not reach it. The image's own cuda-compat does, where the toolkit starts it.
        package = f"rely on the image's {compat}"
        offer = (
            f", or {package} (nvidia/cuda images carry it, and the NVIDIA container toolkit loads it on an older "
            f"driver: {supported}), which starts only if the image's NVIDIA_REQUIRE_CUDA lists driver branch "
            f"{branch or 'of this driver'} for this GPU's brand"
        )
    else:
        # The package installs its libcuda under /usr/local/cuda-X.Y/compat, which the loader finds only once told.
        package = f"install {compat} and put /usr/local/cuda-{cuda}/compat first on LD_LIBRARY_PATH"
        offer = f", or {package} ({supported})"
    if all(jetson(g.name) for g in gpus):
        return offer, ""  # a Jetson's driver comes with its JetPack release, not a data-center branch
    if kind == "new_feature":
        return "", (
            f" (forward compatibility through cuda-compat is not supported on driver {driver}: {branch} is a new "
            "feature branch, and NVIDIA supports it only on production and long-term support branches)"
        )
    ended = branch_end_of_life(driver, target.today) if kind else ""
    older = older_than_known(driver, target.today)
    if ended or older:
        why = f"reached its end of life in {ended}" if ended else f"is older than {older}"
        return "", (
            f" (forward compatibility through cuda-compat is not supported on driver {driver}: {branch} {why}, and "
            "NVIDIA supports it only on production and long-term support branches still in support)"
        )
    if not kind:
        return (
            f", or {package} if NVIDIA's CUDA compatibility guide lists driver branch {branch} (unknown to "
            "envsnap's table) as a production or long-term support branch, the only ones it runs on"
        ), ""
    return offer, ""


class DriverRule(Rule):
    name = NAME
    gpu = True
    areas = ("cuda", "nvidia")

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)

    def reads_gpus(self, lock: Snapshot) -> bool:
        return cuda_need(lock) is not None


RULE = DriverRule()
