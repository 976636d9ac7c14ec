"""cuDNN and NCCL vs the CUDA major. Copies installed with the environment (pip, conda) come back with the
rebuild, so only their consistency with the locked CUDA major is checked; copies the lock took from the system
must be on the target at the same major version."""

from __future__ import annotations

import re

from ...model import Snapshot
from ...platforms import numbers
from .._facts import cuda_need
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "cuda-libs"

_BUNDLED = ("pip", "conda")
_CU_SUFFIX = re.compile(r"-cu(\d+)$")
_LABELS = {"cudnn": "cuDNN", "nccl": "NCCL"}


def _build_major(lock: Snapshot, component: str) -> str:
    """The CUDA major a bundled library was built for, from its distribution name (nvidia-cudnn-cu12)."""
    if lock.cuda is None:
        return ""
    for copy in lock.cuda.copies:
        if copy.component == component and copy.selected:
            m = _CU_SUFFIX.search(copy.location)
            if m:
                return m.group(1)
    return ""


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    need = cuda_need(lock)
    # A CUDA version nothing can parse (a hand-edited lock) has no major to compare with: the driver rule
    # already reports it as unknown. Libraries whose CUDA the lock does not record are still looked for here.
    if lock.cuda is None or need is None or not (numbers(need.version) or need.library):
        return []
    cuda_major = str(numbers(need.version)[0]) if numbers(need.version) else ""
    for_cuda = f" for CUDA {cuda_major}" if cuda_major else ""
    findings = []
    for component in ("cudnn", "nccl"):
        version = getattr(lock.cuda, f"{component}_version")
        source = getattr(lock.cuda, f"{component}_source")
        if not version:
            continue
        label = _LABELS[component]
        needed = f"{label} {version}{for_cuda}"
        if source in _BUNDLED or not source:
            built_for = _build_major(lock, component)
            if built_for and cuda_major and built_for != cuda_major:
                findings.append(
                    Finding(
                        "warn",
                        label,
                        needed,
                        f"locked copy built for CUDA {built_for}",
                        f"the lock mixes CUDA {built_for} {label} with CUDA {cuda_major}; "
                        f"re-lock with the cu{cuda_major} build of {label}",
                        NAME,
                    )
                )
            else:
                findings.append(
                    Finding("ok", label, needed, f"installed with the environment ({source or 'lock'})", "", NAME)
                )
            continue
        have = getattr(host.cuda, f"{component}_version", "") if host.cuda is not None else ""
        remedy = (
            f"install {label} {version} for CUDA {cuda_major} (e.g. pip install "
            f"nvidia-{component}-cu{cuda_major}=={version}.*)"
            if cuda_major
            else f"install {label} {version} for the CUDA the environment's binaries are built for"
        )
        if target.container:
            findings.append(Finding("ok", label, needed, "provided by the rebuilt image", "", NAME))
        elif not have:
            findings.append(Finding("fail", label, needed + f" (from the {source})", f"no {label}", remedy, NAME))
        elif numbers(have)[:1] != numbers(version)[:1]:
            findings.append(Finding("fail", label, needed + f" (from the {source})", f"{label} {have}", remedy, NAME))
        elif numbers(have)[:2] != numbers(version)[:2]:
            findings.append(
                Finding(
                    "warn",
                    label,
                    needed + f" (from the {source})",
                    f"{label} {have}",
                    f"minor version differs; {remedy}",
                    NAME,
                )
            )
        else:
            findings.append(Finding("ok", label, needed + f" (from the {source})", f"{label} {have}", "", NAME))
    return findings


class CudaLibsRule(Rule):
    name = NAME
    gpu = True
    areas = ("cuda",)

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)

    def reads_gpus(self, lock: Snapshot) -> bool:
        return False  # the CUDA libraries the host has (``host.cuda``), which NVML does not say


RULE = CudaLibsRule()
