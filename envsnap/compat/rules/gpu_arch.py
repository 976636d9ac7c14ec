"""GPU compute capability vs the framework build: every GPU of the host must have kernels in the locked
torch build (the kernels read from its libtorch_cuda, else its captured arch list, else PyTorch's release set for
that CUDA variant: ``judged_by``). A cubin ``sm_XY`` runs
on capability X.Z for Z >= Y, but for Tegra GPUs (Jetson, Thor), which have no binary compatibility with other
capabilities either way; ``sm_XYa`` only on X.Y; PTX ``compute_XY`` is JIT-compiled for newer GPUs
(a warning: slow first start, and not every kernel survives), ``compute_XYa`` for X.Y alone and ``compute_XYf``
for X.Z, Z >= Y (architecture- and family-specific PTX). The driver's JIT compiler reads PTX of its own
CUDA release and older only: on a driver that runs the build through minor-version compatibility (older than the
one shipped with the build's CUDA), a GPU only PTX serves fails (CUDA_ERROR_UNSUPPORTED_PTX_VERSION)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Literal

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ..._frozen import frozen
from ...compare.verdict import INFO, WARNING, Difference
from ...cudaneed import judged_by_kernels
from ...model import Framework, Gpu, PythonPackage, Snapshot
from ...platforms import machine, major_minor, numbers
from ...report import first_few
from .._facts import CudaNeed, cuda_need, either_runtime, full_driver, full_support, local_cuda, used_gpus, variant
from .._tags import tag_target
from ..data import load
from ..report import Finding
from ..target import Target, current_date
from .driver import forward_offer
from .interface import Rule

NAME = "gpu-arch"

Coverage = Literal["cubin", "ptx", "none"]

_OPEN = Version("9999")  # the end of a range of torch releases without one

RELEASE_SET = "release set"  # a ``Build``'s source where nothing of the build itself is recorded

_ARCH = re.compile(r"^(sm|compute)_(\d+?)(\d)([af]?)$")


@frozen
class Build:
    """One framework build's GPU kernels."""

    label: str  # e.g. "torch 2.7.1+cu128"
    version: str
    cuda_variant: str  # "cu128"
    arch_list: tuple[str, ...]  # sm_XY / compute_XY
    source: str  # "captured" (its arch list), "libtorch_cuda" (the kernels read from it) or "release set"
    cuda: str = ""  # the CUDA release it was built with (its PTX's), "12.8"
    aarch64: bool = False  # a Linux aarch64 build: PyTorch builds those with other kernels than its x86_64 ones
    # The --deep arch list where the build is judged by the kernels read from libtorch_cuda and it names others: a
    # finding says where it judges a GPU otherwise.
    deep_list: tuple[str, ...] = ()
    # Its libtorch_cuda was read in part: judged by its arch list or release set instead, and a finding says so.
    partial: bool = False


def _cap(text: str) -> tuple[int, int]:
    parts = (*numbers(text), 0, 0)
    return parts[0], parts[1]


def _tegra() -> set[tuple[int, int]]:
    """The capabilities of Tegra GPUs (Jetson, Thor)."""
    return {_cap(c) for c in load("torch_arch")["jetson_capabilities"]}


def coverage(arch_list: tuple[str, ...], capability: str) -> Coverage:
    """How a device of ``capability`` (e.g. "8.6") runs a build with these architectures."""
    device = _cap(capability)
    jetson = _tegra()
    ptx = False
    for arch in arch_list:
        m = _ARCH.match(arch.strip().lower())
        if not m:
            continue
        kind, cap, suffix = m.group(1), (int(m.group(2)), int(m.group(3))), m.group(4)
        if kind == "sm":
            exact_only = suffix == "a" or cap in jetson or device in jetson
            if cap == device or (not exact_only and cap[0] == device[0] and cap[1] <= device[1]):
                return "cubin"
        elif suffix == "a":
            ptx = ptx or cap == device  # architecture-specific PTX: JIT-compiled for that capability alone
        elif suffix == "f":
            # Family-specific: its major's later minors, none of them Tegra (the 10.0 family is 10.0 and 10.3).
            family = cap[0] == device[0] and cap[1] <= device[1] and cap not in jetson and device not in jetson
            ptx = ptx or cap == device or family
        elif cap <= device:
            ptx = True
    return "ptx" if ptx else "none"


def _serving_ptx(arch_list: tuple[str, ...], capability: str) -> list[str]:
    """The PTX entries of ``arch_list`` the driver can JIT-compile for a device of ``capability``."""
    return [
        a.strip() for a in arch_list if a.strip().lower().startswith("compute_") and coverage((a,), capability) == "ptx"
    ]


def _entries(aarch64: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """Each release set with its CUDA variant: a variant whose set changed over torch releases has an entry a
    set, each with its range of torch releases (``torch``). PyTorch's Linux aarch64 builds have sets of their own
    (``"machine": "aarch64"``); the others are its Linux x86_64 and Windows builds'."""
    return [
        (entry.get("variant", key), entry)
        for key, entry in load("torch_arch")["variants"].items()
        if (entry.get("machine") == "aarch64") == aarch64
    ]


def _release(version: str) -> Version | None:
    """The torch release a build belongs to: a source build of the 2.8 branch reads ``2.8.0a0+git...``, an RC
    ``2.8.0rc1``; both are builds of release 2.8.0."""
    try:
        return Version(Version(version).base_version)
    except InvalidVersion:
        return None


def _public(build: Build) -> str:
    """The torch release a remedy names."""
    release = _release(build.version)
    return str(release) if release is not None else build.version.split("+")[0]


def _arches(entry: dict[str, Any]) -> tuple[str, ...]:
    cubins = tuple(f"sm_{c.replace('.', '')}" for c in entry["sm"])
    return cubins + tuple(f"compute_{c.replace('.', '')}" for c in entry["ptx"])


def release_set(cuda_variant: str, version: str = "", aarch64: bool = False) -> tuple[str, ...]:
    """The kernels of PyTorch's ``cuda_variant`` build of torch ``version`` (its first set where the version is not
    told, or in no entry's range); () where the variant is unknown. A Linux aarch64 build's set is only the one its
    table entry names for that torch release: the table knows no other (and no x86_64 set fits it)."""
    entries = [entry for name, entry in _entries(aarch64) if name == cuda_variant]
    release = _release(version) if version else None
    if release is not None:
        inside = [e for e in entries if e.get("torch") and release in SpecifierSet(e["torch"])]
        entries = inside if inside or aarch64 else entries
    return _arches(entries[0]) if entries else ()


_NOT_CUDA_LABEL = re.compile(r"^(cpu|rocm|xpu)", re.IGNORECASE)


def _not_for_cuda(version: str, fw: Framework | None) -> bool:
    """A torch build that says it is not for CUDA: a ``+cpu``, ``+rocmX.Y`` or ``+xpu`` label, or a ROCm build's
    version.py. Only PyPI's unlabelled default torch has its CUDA variant told by the CUDA wheels beside it."""
    if fw is not None and fw.rocm_version:
        return True
    return bool(_NOT_CUDA_LABEL.match(version.partition("+")[2]))


def torch_build(lock: Snapshot) -> Build | None:
    fw = lock.frameworks.get("torch")
    pkg = lock.package("torch")
    version = (fw.version if fw is not None and fw.version else "") or (pkg.version if pkg else "")
    cuda = (fw.cuda_version if fw is not None else "") or local_cuda(version)
    if not cuda and _not_for_cuda(version, fw):
        return None  # no CUDA kernels at all: whatever uses the GPU is judged by its CUDA major
    if not cuda and pkg is not None:
        # PyPI's default Linux torch carries no +cuXYZ label; its CUDA wheels beside it tell the variant.
        need = cuda_need(lock)
        cuda = need.version if need is not None else ""
    if not cuda or not version:
        return None
    var = variant(cuda)
    label = f"torch {version}" if "+" in version else f"torch {version}+{var}"
    # The build is the one installed on the machine the lock was captured on.
    arm = lock.platform.system == "Linux" and machine(lock.platform.machine) == "aarch64"
    build = Build(label, version, var, release_set(var, version, arm), RELEASE_SET, major_minor(cuda), arm)
    return judged_by(build, fw.cuda_kernels, fw.arch_list, fw.cuda_kernels_partial) if fw is not None else build


def judged_by(build: Build, kernels: tuple[str, ...], arch_list: tuple[str, ...], partial: bool = False) -> Build:
    """The one order in which ``check`` and ``verify`` take a torch build's kernels: those read from its own CUDA
    library (``frameworks.torch.cuda_kernels``: what the binary carries), else its ``--deep`` arch list
    (``torch.cuda.get_arch_list()``: what the build was configured for), else ``build``'s (its variant's release
    set). Where the kernels judge it and the arch list names others, the build keeps the list (``deep_list``), so a
    finding says where it judges a GPU otherwise; where its libtorch_cuda was read in part (``partial``: no kernels
    recorded), the build says it fell back."""
    build = dataclasses.replace(build, partial=partial and not kernels)
    if kernels:
        other = tuple(arch_list) if set(arch_list) - set(kernels) or set(kernels) - set(arch_list) else ()
        return dataclasses.replace(build, arch_list=tuple(kernels), source="libtorch_cuda", deep_list=other)
    if arch_list:
        return dataclasses.replace(build, arch_list=tuple(arch_list), source="captured", deep_list=())
    return build


def _of_another_machine(lock: Snapshot, host: Snapshot, target: Target) -> bool:
    """Whether the lock's machine (its torch build's) is not the one the target runs it on (this host's, or the
    Docker engine's): no verdict on the kernels of a build that cannot be installed there."""
    locked, there = machine(lock.platform.machine), tag_target(lock, host, target).machine
    return bool(locked and there) and locked != there


def _alternatives(build: Build, capability: str) -> list[str]:
    """CUDA variants of this torch release whose release set has a cubin for this GPU: the build's own variant first
    (a custom build's captured arch list is not its variant's release set: PyTorch's own build of that variant may
    have the kernels, without a change of CUDA runtime), then the others, newest first."""
    release = _release(build.version)
    out = []
    for name, entry in _entries(build.aarch64):
        if name == build.cuda_variant and build.source == RELEASE_SET:
            continue
        if coverage(_arches(entry), capability) != "cubin":
            continue
        if release is not None and entry.get("torch") and release not in SpecifierSet(entry["torch"]):
            continue
        out.append(name)
    return sorted(set(out), key=lambda n: (n == build.cuda_variant, int(n[2:])), reverse=True)


def _use(build: Build, variant: str) -> str:
    """How a remedy names the build of ``variant`` of this torch release."""
    own = "PyTorch's own" if variant == build.cuda_variant else "the"
    return f"{own} {variant} build of torch {_public(build)}"


def _other_release(build: Build, capability: str) -> str:
    """Where no build of this torch release has a cubin for the GPU: the variant of the nearest other releases that
    has one, as the remedy names it ("the cu128 build of torch >=2.7"): the earliest newer releases where there are,
    else the latest older ones; "" where no variant envsnap knows has one."""
    release = _release(build.version)
    if release is None:
        return ""
    found: list[tuple[Version, Version, str, str]] = []
    for name, entry in _entries(build.aarch64):
        spec = entry.get("torch") or ""
        if not spec or coverage(_arches(entry), capability) != "cubin":
            continue
        lowest = min((Version(s.version) for s in SpecifierSet(spec) if s.operator == ">="), default=None)
        # The older ranges rank by their end: the one that lasted longest is the nearest (cu126 up to 2.14, not
        # cu129 from 2.8 up to 2.10, for a Volta GPU on 2.15).
        end = min((Version(s.version) for s in SpecifierSet(spec) if s.operator == "<"), default=_OPEN)
        if lowest is not None:
            found.append((lowest, end, name, spec))
    if not found:
        return ""
    newer = sorted(f for f in found if f[0] > release)
    _, _, name, spec = newer[0] if newer else max(found, key=lambda f: (f[1], f[0]))
    return f"the {name} build of torch {spec}"


def _jetpack(capability: str) -> str:
    """Where a Jetson (Tegra) GPU, which no other capability's cubin serves, finds a torch build with its kernels:
    NVIDIA builds torch for Jetson with each JetPack release (PyTorch publishes none with an Orin's sm_87);
    "" for another GPU."""
    if _cap(capability) not in _tegra():
        return ""
    return "NVIDIA's torch build for Jetson of the board's JetPack release"


def _gpu_label(gpu: Gpu) -> str:
    return f"GPU {gpu.index} {gpu.name}".strip()


def runtime_support(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    """Without a framework build to judge (or one whose kernels are not known), the CUDA major itself must still
    support each GPU CUDA uses: ``check`` and ``verify`` alike judge by it."""
    need = cuda_need(lock)
    if need is None:
        return []
    return either_runtime(need, lambda n: _major_support(n, host, target))


def _major_support(need: CudaNeed, host: Snapshot, target: Target) -> list[Finding]:
    if not numbers(need.version):
        return []  # no CUDA major to judge the GPUs by (libraries whose CUDA the lock does not record)
    major = str(numbers(need.version)[0])
    oldest = load("nvidia")["min_compute_capability"].get(major)
    if oldest is None:
        return []
    needed = f"CUDA {major} supports compute capability >= {oldest}"
    findings = []
    for gpu in used_gpus(host, target.cuda_visible_devices, target.cuda_device_order):
        if not gpu.compute_capability:  # an old driver's NVML does not give it
            found = f"{gpu.name}: unknown compute capability" if gpu.name else "unknown compute capability"
            findings.append(Finding("warn", _gpu_label(gpu), needed, found, "cannot verify", NAME))
            continue
        found = f"{gpu.name} (sm_{gpu.compute_capability.replace('.', '')})".strip()
        if _cap(gpu.compute_capability) >= _cap(oldest):
            findings.append(Finding("ok", _gpu_label(gpu), needed, found, "", NAME))
        else:
            findings.append(
                Finding(
                    "fail",
                    _gpu_label(gpu),
                    needed,
                    found,
                    _older_major(major, gpu.compute_capability),
                    NAME,
                )
            )
    return findings


def _older_major(major: str, capability: str) -> str:
    """The remedy of a GPU older than CUDA ``major`` supports: the newest older major that supports it."""
    floors = {k: v for k, v in load("nvidia")["min_compute_capability"].items() if k.isdigit()}
    fits = [int(k) for k, v in floors.items() if int(k) < int(major) and _cap(v) <= _cap(capability)]
    if fits:
        best = str(max(fits))
        return f"use a build for CUDA {best} (it supports compute capability >= {floors[best]})"
    oldest = min((int(k) for k in floors), default=int(major))
    return f"use a build for a CUDA release older than {oldest} that supports compute capability {capability}"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if not host.hardware.gpus:
        return []
    build = torch_build(lock)
    if _of_another_machine(lock, host, target):
        # The build is not installed there: the platform rule fails the machine, naming its wheels.
        return runtime_support(lock, host, target) if build is None else []
    if build is None:
        return runtime_support(lock, host, target) + package_kernels(lock, host, target)
    # A build whose kernels are not known is still judged by its CUDA major (a CUDA 13 build has no Volta kernel).
    major = runtime_support(lock, host, target) if unknown_kernels(build) is not None else []
    return _torch_kernels(build, host, target) + major + package_kernels(lock, host, target)


# A list read in part (``cuda_kernels_partial``: a limit, a malformed fat binary, large-model data sections, a CUDA
# library whose sections or fat binary wrappers cannot be followed) may lack the GPU's cubin: no failure can rest on it.
_PARTIAL = "cannot verify: the capture read the kernel headers of its shared objects in part"
_PARTIAL_TORCH = "cannot verify: the capture read libtorch_cuda's kernel headers in part"


def kernel_packages(lock: Snapshot) -> list[PythonPackage]:
    """The distributions whose captured CUDA kernels the rule judges: every one with kernels but torch, whose build
    is judged by its arch list or its release set (``torch_build``), and NVIDIA's CUDA libraries, by their CUDA."""
    return [p for p in lock.python.packages if (p.cuda_kernels or p.cuda_kernels_partial) and judged_by_kernels(p.name)]


def package_kernels(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    """Each GPU CUDA uses vs the kernels captured in each distribution's shared objects (cupy, flash-attn, a
    project's extension), by the rules torch's are judged by: one finding per GPU where every one has a cubin for it,
    else one per distribution that has none."""
    packages = kernel_packages(lock)
    if not packages:
        return []
    findings = []
    for gpu in used_gpus(host, target.cuda_visible_devices, target.cuda_device_order):
        if not gpu.compute_capability:
            needed = f"the CUDA kernels of {first_few([p.name for p in packages], 3)} (captured)"
            findings.append(
                Finding("warn", _gpu_label(gpu), needed, "unknown compute capability", "cannot verify", NAME)
            )
            continue
        judged = [judge_kernels(pkg, gpu, host, target) for pkg in packages]
        findings += [f for f in judged if f is not None]
        if all(f is None for f in judged):  # every one has a cubin for it (``packages`` is not empty)
            needed = f"the CUDA kernels of {first_few([p.name for p in packages], 3)} (captured)"
            found = f"{gpu.name} (sm_{gpu.compute_capability.replace('.', '')})".strip()
            findings.append(Finding("ok", _gpu_label(gpu), needed, found, "", NAME))
    return findings


def judge_kernels(pkg: PythonPackage, gpu: Gpu, host: Snapshot, target: Target) -> Finding | None:
    """How ``gpu`` (of a known compute capability) runs the kernels captured in ``pkg``'s shared objects: None where
    one of its cubins runs on it, else the finding that says why not (no kernel image, PTX JIT only, PTX the driver
    cannot JIT-compile, a list read in part); ``check`` and ``verify`` alike judge by it."""
    sm = "sm_" + gpu.compute_capability.replace(".", "")
    found = f"{gpu.name} ({sm})".strip()
    how = coverage(pkg.cuda_kernels, gpu.compute_capability)
    if how == "cubin":
        return None
    needed = f"{pkg.name} {pkg.version} kernels (captured): {kernels_text(pkg)}"
    jetpack = " for the board's JetPack release" if _jetpack(gpu.compute_capability) else ""
    native = f"a build of {pkg.name}{jetpack} with {sm} kernels"
    ptx = ", ".join(_serving_ptx(pkg.cuda_kernels, gpu.compute_capability))
    cuda = ptx_cuda(pkg.cuda_ptx_isa)
    if how == "ptx" and cuda and full_support(host, cuda) is False:
        found_ptx = f"{found}: PTX JIT only, from {ptx}, and {_driver_have(host)} cannot JIT-compile its PTX"
        remedy = f"{_newer_driver(cuda)}{forward_offer(host, target, cuda)}, or {native}"
        return Finding(
            "warn" if pkg.cuda_kernels_partial else "fail",
            _gpu_label(gpu),
            needed,
            f"{found_ptx} (ISA {pkg.cuda_ptx_isa}, CUDA {cuda})",
            _PARTIAL if pkg.cuda_kernels_partial else remedy,
            NAME,
        )
    if how == "ptx":
        remedy = f"expect a slow first start while the driver JIT-compiles the PTX; {native} avoids it"
        found_ptx = f"{found}: PTX JIT only, from {ptx} (no cubin runs on {sm})"
        return Finding("warn", _gpu_label(gpu), needed, found_ptx, remedy, NAME)
    if pkg.cuda_kernels_partial:
        # The headers not read may hold its kernel: "no kernel image" would be a guess.
        return Finding("warn", _gpu_label(gpu), needed, f"{found}: no {sm} kernel among those read", _PARTIAL, NAME)
    remedy = f"install {native} (or PTX of an architecture at or below it)"
    return Finding("fail", _gpu_label(gpu), needed, f"{found}: no kernel image", remedy, NAME)


def kernel_differences(lock: Snapshot, env: Snapshot, environ: Mapping[str, str]) -> list[Difference]:
    """What ``verify`` says of the CUDA kernels of ``env``'s torch build (``installed_torch``) and of its other
    distributions on the GPUs of ``env``'s host that CUDA uses (``environ``'s CUDA_VISIBLE_DEVICES and
    CUDA_DEVICE_ORDER), judged as ``check`` judges them (``unknown_kernels``, ``judge_torch``, ``judge_kernels``):
    where check fails a GPU, verify warns, as it warns of the host's other facts (a driver, a CPU without an
    instruction set the lock's had): the environment is the lock's, this host cannot run it; where check warns (PTX
    JIT only, a list read in part, a torch build whose kernels envsnap does not know), info. Without a CUDA build of
    torch, or with one whose kernels envsnap does not know, each GPU the environment's CUDA major no longer
    supports, as check judges it (``runtime_support``).
    Nothing for a GPU whose compute capability is not known: verify tells what it knows."""
    return _kernel_differences(lock, env, environ, current_date())


# A day past the end of life of every driver branch: a judgement that reads otherwise then depends on the day.
_FAR = "9999-12-31"


def kernels_by_date(lock: Snapshot, env: Snapshot, environ: Mapping[str, str]) -> bool:
    """Whether what ``kernel_differences`` says today may read otherwise on a later day: a GPU only PTX serves on a
    driver below full support of its CUDA, whose remedy offers cuda-compat while the driver's branch is in support
    (the only judgement that reads the date). Judged today and on a day past every branch's end of life, compared:
    the one judgement, never a second copy of where it reads the date."""
    return _kernel_differences(lock, env, environ, current_date()) != _kernel_differences(lock, env, environ, _FAR)


def _kernel_differences(lock: Snapshot, env: Snapshot, environ: Mapping[str, str], today: str) -> list[Difference]:
    build = installed_torch(lock, env)
    packages = kernel_packages(env)
    unknown = unknown_kernels(build) if build is not None else None
    need = cuda_need(env) if build is None or unknown is not None else None
    if (build is None and not packages and need is None) or not env.hardware.gpus:
        return []
    from ...probes.host import wsl  # this host's: the remedy offers cuda-compat only where NVIDIA supports it

    setting, order = environ.get("CUDA_VISIBLE_DEVICES"), environ.get("CUDA_DEVICE_ORDER")
    target = Target(cuda_visible_devices=setting, cuda_device_order=order, today=today, wsl=wsl())
    out = []
    if need is not None:
        # One finding a GPU, named by its label: a GPU of unknown capability (check's "cannot verify") gets no line.
        known = {_gpu_label(g): g for g in used_gpus(env, setting, order) if g.compute_capability}
        for finding in runtime_support(env, env, target):
            gpu = known.get(finding.component)
            if gpu is not None:
                out.append(_said(finding, "cuda", finding.needed, f"GPU {gpu.index} {finding.found}"))
    if unknown is not None:
        out.insert(0, _said(unknown, "torch", unknown.needed, unknown.found))
        build = None
    for gpu in used_gpus(env, setting, order):
        if not gpu.compute_capability:
            continue
        judged: list[tuple[str, str, Finding | None, bool]] = []
        if build is not None:
            judged.append(
                (
                    "torch",
                    f"{', '.join(build.arch_list)} ({_torch_source(build)})",
                    judge_torch(build, gpu, env, target),
                    bool(deep_note(build, gpu)),
                )
            )
        judged += [(pkg.name, kernels_text(pkg), judge_kernels(pkg, gpu, env, target), False) for pkg in packages]
        out += [
            _said(f, name, kernels, f"GPU {gpu.index} {f.found}", noted)
            for name, kernels, f, noted in judged
            if f is not None
        ]
    return [d for d in out if d is not None]


def _said(finding: Finding, subject: str, expected: str, actual: str, noted: bool = False) -> Difference | None:
    """A finding of ``check`` as ``verify`` says it: a failure a warning (the environment is the lock's, this host
    cannot run it), a warning info, "ok" nothing, but info where check's "ok" says more (``noted``: the --deep arch
    list would judge the GPU otherwise, ``deep_note``)."""
    if finding.severity == "ok" and not noted:
        return None
    severity = WARNING if finding.severity == "fail" else INFO
    return Difference(severity, "gpu", subject, "kernels", expected, actual, finding.remedy)


def installed_torch(lock: Snapshot, env: Snapshot) -> Build | None:
    """The torch build installed in ``env`` (``torch_build``), with the kernels the lock's capture read from its
    libtorch_cuda and the arch list its ``--deep`` capture recorded where it is the lock's build (the same version,
    git commit and RECORD digest) and ``env`` records none (verify's capture imports nothing, and may read the
    installed libtorch_cuda in part where the lock's read it whole): a custom build's kernels are not its variant's
    release set, and verify judges the build by what check judges it."""
    build = torch_build(env)
    locked, here = lock.frameworks.get("torch"), env.frameworks.get("torch")
    if build is None or locked is None or here is None or not (locked.arch_list or locked.cuda_kernels):
        return build
    want, have = lock.package("torch"), env.package("torch")
    digests = (want.record_digest if want else "", have.record_digest if have else "")
    same = (locked.version, locked.git_version) == (here.version, here.git_version) and (
        not all(digests) or digests[0] == digests[1]
    )
    # The lock's kernels and arch list are this build's: the same order as check's (``judged_by``), what was read
    # here first.
    kernels = here.cuda_kernels or locked.cuda_kernels
    return judged_by(build, kernels, here.arch_list or locked.arch_list, here.cuda_kernels_partial) if same else build


def kernels_text(pkg: PythonPackage) -> str:
    """A distribution's captured kernels as a finding names them: ``sm_80, compute_90``, ``sm_80, ... (read in
    part)``."""
    partial = ", ... (read in part)" if pkg.cuda_kernels_partial else ""
    return f"{', '.join(pkg.cuda_kernels) or 'none read'}{partial}"


def unknown_kernels(build: Build) -> Finding | None:
    """The warning for a torch build whose kernels envsnap does not know (no arch list captured, its release set not
    in the table), None for one it knows: ``check`` and ``verify`` alike say it."""
    if build.arch_list:
        return None
    where = " Linux aarch64" if build.aarch64 else ""
    return Finding(
        "warn",
        "torch kernels",
        build.label,
        "no captured arch list",
        f"the {build.cuda_variant}{where} release set is unknown to envsnap's arch table (data version "
        f"{load('torch_arch')['data_version']}), cannot verify; capture with --deep to record "
        "torch.cuda.get_arch_list()",
        NAME,
    )


def _torch_kernels(build: Build, host: Snapshot, target: Target) -> list[Finding]:
    unknown = unknown_kernels(build)
    if unknown is not None:
        return [unknown]
    needed = _torch_needed(build)
    findings = []
    for gpu in used_gpus(host, target.cuda_visible_devices, target.cuda_device_order):
        if not gpu.compute_capability:
            findings.append(
                Finding("warn", _gpu_label(gpu), needed, "unknown compute capability", "cannot verify", NAME)
            )
            continue
        findings.append(judge_torch(build, gpu, host, target))
    return findings


def _torch_needed(build: Build) -> str:
    """The kernels of a torch build, as a finding names them: ``torch 2.4.0+cu121 kernels (captured): sm_80``."""
    return f"{build.label} kernels ({_torch_source(build)}): {', '.join(build.arch_list)}"


def _torch_source(build: Build) -> str:
    source = f"{build.source}, Linux aarch64" if build.aarch64 and build.source == RELEASE_SET else build.source
    return f"{source}; libtorch_cuda read in part, not judged by" if build.partial else source


_SAYS = {"cubin": "a cubin for it", "ptx": "PTX only for it", "none": "none"}


def judge_torch(build: Build, gpu: Gpu, host: Snapshot, target: Target) -> Finding:
    """How ``gpu`` (of a known compute capability) runs the torch ``build`` (of a known arch list): "ok" where one
    of its cubins runs on it, else why not (no kernel image, PTX JIT only, PTX the driver cannot JIT-compile), with
    the torch build that has its kernels; ``check`` and ``verify`` alike judge by it. Where the kernels read from
    libtorch_cuda judge it and the ``--deep`` arch list would judge the GPU otherwise, the finding says so."""
    finding = _judge_torch(build, gpu, host, target)
    if finding.severity == "fail" and build.partial and build.source == RELEASE_SET:
        # The release set is a guess of PyTorch's own build; the headers of libtorch_cuda left unread may hold the
        # GPU's cubin: no failure rests on it, as none rests on a distribution's list read in part.
        finding = dataclasses.replace(finding, severity="warn", remedy=f"{_PARTIAL_TORCH}; {finding.remedy}")
    note = deep_note(build, gpu)
    return dataclasses.replace(finding, found=finding.found + note) if note else finding


def deep_note(build: Build, gpu: Gpu) -> str:
    """Where the kernels read from libtorch_cuda judge ``build`` and its ``--deep`` arch list would judge ``gpu`` (of
    a known compute capability) otherwise, what ``judge_torch`` adds to its finding to say so; "" elsewhere."""
    if not build.deep_list:
        return ""
    how, deep = coverage(build.arch_list, gpu.compute_capability), coverage(build.deep_list, gpu.compute_capability)
    if how == deep:
        return ""
    return (
        f" (its --deep arch list, {', '.join(build.deep_list)}, has {_SAYS[deep]}; the kernels read from "
        f"libtorch_cuda, which judge it, have {_SAYS[how]})"
    )


def _judge_torch(build: Build, gpu: Gpu, host: Snapshot, target: Target) -> Finding:
    needed = _torch_needed(build)
    sm = "sm_" + gpu.compute_capability.replace(".", "")
    found = f"{gpu.name} ({sm})".strip()
    how = coverage(build.arch_list, gpu.compute_capability)
    if how == "cubin":
        return Finding("ok", _gpu_label(gpu), needed, found, "", NAME)
    if how == "ptx":
        # The PTX the driver compiles (the newest of them that fits), named with the cubin that is missing.
        found += f": PTX JIT only, from {', '.join(_serving_ptx(build.arch_list, gpu.compute_capability))}"
    if how == "ptx" and build.cuda and full_support(host, build.cuda) is False:
        return _ptx_too_new(build, host, target, gpu, needed, found)
    if how == "ptx":
        alternatives = _alternatives(build, gpu.compute_capability)
        jetpack = _jetpack(gpu.compute_capability)
        native = f"{jetpack or 'a build'}, which has {sm} kernels, avoids it"
        if alternatives:
            native = f"use {_use(build, alternatives[0])}, which has {sm} kernels, to avoid it"
        remedy = f"expect a slow first start while the driver JIT-compiles the PTX; {native}"
        return Finding("warn", _gpu_label(gpu), needed, f"{found} (no cubin runs on {sm})", remedy, NAME)
    alternatives = _alternatives(build, gpu.compute_capability)
    public = _public(build)
    if alternatives:
        remedy = f"use {_use(build, alternatives[0])} for this {sm} GPU"
    else:
        other = _other_release(build, gpu.compute_capability)
        jetpack = _jetpack(gpu.compute_capability)
        if other:
            remedy = f"no known torch {public} build has kernels for {sm}; {other} has them"
        elif jetpack:
            remedy = (
                f"no known torch {public} build of PyTorch's has kernels for {sm}, a Jetson GPU; use {jetpack}, "
                "which has them"
            )
        else:
            remedy = f"no known torch {public} build has kernels for {sm}; use a torch build for this GPU"
    return Finding("fail", _gpu_label(gpu), needed, f"{found}: no kernel image", remedy, NAME)


def ptx_cuda(isa: str) -> str:
    """The CUDA release whose driver first JIT-compiles PTX of ISA version ``isa`` (``8.8``: ``12.9``); "" where the
    table does not know it."""
    table: dict[str, str] = load("nvidia")["ptx_isa_cuda"]
    return table.get(isa, "") if isa != "note" else ""


def _driver_have(host: Snapshot) -> str:
    """The host's driver as a PTX finding names it: ``driver 570.124.06 (supports CUDA 12.8)``."""
    nvidia = host.nvidia
    driver = nvidia.driver_version if nvidia is not None else ""
    supports = f"CUDA {nvidia.cuda_driver_version}" if nvidia is not None and nvidia.cuda_driver_version else ""
    return f"driver {driver}" + (f" (supports {supports})" if supports else "")


def _newer_driver(cuda: str) -> str:
    return (
        f"install NVIDIA driver >= {full_driver(cuda)} (minor-version compatibility runs no PTX of a newer CUDA "
        "release than the driver's)"
    )


def _ptx_too_new(build: Build, host: Snapshot, target: Target, gpu: Gpu, needed: str, found: str) -> Finding:
    """Only PTX serves this GPU, and the driver (minor-version compatibility) cannot JIT-compile PTX of the
    build's CUDA release: a driver of that release does, and so does cuda-compat where NVIDIA supports it (its
    package carries the JIT compiler of its CUDA release)."""
    alternatives = _alternatives(build, gpu.compute_capability)
    sm = "sm_" + gpu.compute_capability.replace(".", "")
    jetpack = _jetpack(gpu.compute_capability)
    other = f", or use {_use(build, alternatives[0])}, which has {sm} kernels" if alternatives else ""
    other = other or (f", or use {jetpack}, which has {sm} kernels" if jetpack else "")
    return Finding(
        "fail",
        _gpu_label(gpu),
        needed,
        f"{found}, and {_driver_have(host)} cannot JIT-compile the PTX of CUDA {build.cuda}",
        f"{_newer_driver(build.cuda)}{forward_offer(host, target, build.cuda)}{other}",
        NAME,
    )


class GpuArchRule(Rule):
    name = NAME
    gpu = True
    areas = ("frameworks", "hardware")

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)

    def reads_gpus(self, lock: Snapshot) -> bool:
        # A torch build's kernels, else the CUDA major's oldest GPU: without either there is nothing to judge.
        return torch_build(lock) is not None or cuda_need(lock) is not None or bool(kernel_packages(lock))


RULE = GpuArchRule()
