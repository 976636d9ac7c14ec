"""``check()``: can this host (or a docker / conda / venv target on it) run a locked environment?

Each rule in ``rules/`` compares the lock with a description of the host (a Snapshot, probed with the same
probes as capture) and the target, and returns findings; the report's verdict is the worst of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..errors import CheckError
from ..model import Snapshot
from .report import Finding, Report, Severity, Verdict
from .rules import REGISTRY as RULES
from .rules import Rule
from .target import TARGET_KINDS, DockerFacts, Target, TargetKind, probe_target

__all__ = [
    "RULES",
    "TARGET_KINDS",
    "CheckError",
    "DockerFacts",
    "Finding",
    "Report",
    "Rule",
    "Severity",
    "Target",
    "TargetKind",
    "Verdict",
    "check",
    "evaluate",
    "probe_host",
]


def probe_host(python: str | None = None) -> Snapshot:
    """This host, as capture sees it (nothing is written)."""
    from ..probes.capture import capture

    return capture(python)


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


def evaluate(lock: Snapshot, host: Snapshot, target: Target, rules: Iterable[Rule] | None = None) -> Report:
    """Run the rules (default: every registered one) over an already probed host and target: the pure part of
    ``check``."""
    findings: list[Finding] = []
    for rule in RULES.values() if rules is None else rules:
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


def check(
    lock: Snapshot,
    host: Snapshot | None = None,
    *,
    target: TargetKind | Target = "host",
    python: str | None = None,
    cpu_only: bool = False,
) -> Report:
    """The compatibility report of ``lock`` on ``host`` (default: probe this host, with ``python`` as the
    interpreter that would run the environment) for ``target``: a kind ("host", "docker", "conda", "venv"),
    probed here, or a ready ``Target``."""
    if isinstance(target, Target):
        resolved = dataclasses.replace(target, cpu_only=target.cpu_only or cpu_only)
    else:
        resolved = probe_target(target, cpu_only=cpu_only)
    if host is None:
        host = probe_host(python)
    return evaluate(lock, host, resolved)
