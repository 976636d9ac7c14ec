"""Can this host (or a rebuild target on it) run a locked environment? The pure part: ``evaluate``.

Each rule in ``rules/`` compares the lock with a description of the host (a Snapshot, probed with the same
probes as capture) and the target, and returns findings; the report's verdict is the worst of them. Probing the
host and resolving a target kind through the rebuild targets is ``envsnap.api.check``'s business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from ..compare.verdict import Difference
from ..errors import CheckError
from ..model import Snapshot
from .report import Finding, Report, Severity, Verdict
from .rules import REGISTRY as RULES
from .rules import Rule
from .target import HOST, DockerFacts, Target, TargetFacts, TargetKind, find_libraries, probe_target

__all__ = [
    "HOST",
    "RULES",
    "CheckError",
    "DockerFacts",
    "Finding",
    "Report",
    "Rule",
    "Severity",
    "Target",
    "TargetFacts",
    "TargetKind",
    "Verdict",
    "evaluate",
    "find_libraries",
    "judged",
    "kernel_differences",
    "kernels_by_date",
    "probe_target",
    "reads_gpus",
]


def kernel_differences(lock: Snapshot, env: Snapshot, environ: Mapping[str, str]) -> list[Difference]:
    """What ``verify`` says of the CUDA kernels of ``env``'s torch build and other distributions on its host's GPUs
    (torch's arch list the ``lock`` records where ``env``'s torch is the lock's build), by the ``gpu-arch``
    rule (``rules.gpu_arch.kernel_differences``, loaded on the first call: verify passes it to the comparison, which
    calls it only where a GPU and a distribution's kernels are there)."""
    from .rules.gpu_arch import kernel_differences as judge

    return judge(lock, env, environ)


def kernels_by_date(lock: Snapshot, env: Snapshot, environ: Mapping[str, str]) -> bool:
    """Whether what ``kernel_differences`` says today may read otherwise on a later day (a remedy that offers
    cuda-compat while the driver's branch is in support): a kept verify report holding it is given again on its day
    alone (``rules.gpu_arch.kernels_by_date``)."""
    from .rules.gpu_arch import kernels_by_date as dated

    return dated(lock, env, environ)


def _unverified(lock: Snapshot, rule: Rule, finding: Finding) -> Finding:
    """An "ok" that only means "the lock does not say" (an imported lock lacks that fact) is a warning."""
    areas = [a for a in rule.areas if a in lock.envsnap.unknown]
    if finding.severity != "ok" or not areas:
        return finding
    origin = lock.envsnap.origin or "its source format"
    return dataclasses.replace(
        finding,
        severity="warn",
        needed=f"unknown: {origin} does not record {', '.join(areas)}",
        remedy="cannot verify; capture the original environment with `envsnap capture` for a full check",
    )


def judged(lock: Snapshot, target: Target | None, rules: Iterable[Rule] | None = None) -> list[Rule]:
    """The rules (default: every registered one) judged for ``lock`` on ``target``: where the target makes no
    environment of the lock (``_facts.not_made``: ``rebuild`` refuses it as it reads it), only the one that says so
    (``Rule.refusal``): check --target conda of a pip environment's lock judged its CPU flags, CUDA and disk."""
    from ._facts import not_made  # what CUDA a lock needs loads packaging: not for ``compat.data`` alone

    chosen = list(RULES.values() if rules is None else rules)
    if target is not None and not_made(lock, target):
        return [rule for rule in chosen if rule.refusal]
    return chosen


def reads_gpus(lock: Snapshot, rules: Iterable[Rule] | None = None, target: Target | None = None) -> bool:
    """Whether any of the rules (default: every registered one) judged for ``lock`` (on ``target``, where given:
    ``judged``) reads what NVML answers of the host (``Rule.reads_gpus``): where none does, the check probes the
    host without asking NVML."""
    return any(rule.reads_gpus(lock) for rule in judged(lock, target, rules))


def evaluate(lock: Snapshot, host: Snapshot, target: Target, rules: Iterable[Rule] | None = None) -> Report:
    """Run the rules (default: every registered one) over an already probed host and target: the pure part of
    ``check``."""
    findings: list[Finding] = []
    for rule in judged(lock, target, rules):
        for finding in rule.evaluate(lock, host, target):
            if not finding.rule:
                finding = dataclasses.replace(finding, rule=rule.name)
            finding = _unverified(lock, rule, finding)
            if rule.gpu and target.cpu_only and finding.severity == "fail":
                finding = dataclasses.replace(
                    finding,
                    severity="warn",
                    remedy=f"accepted with --cpu-only (runs without the GPU); for GPU use: {finding.remedy}",
                )
            findings.append(finding)
    return Report(tuple(findings), target=target.kind, cpu_only=target.cpu_only)
