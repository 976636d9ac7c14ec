"""Wheel tags: every locked wheel must be installable by the target interpreter on the target platform."""

from __future__ import annotations

from ...model import Snapshot
from .._tags import explain, package_tags, tag_target
from ..report import Finding
from ..target import Target

NAME = "wheels"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    t = tag_target(lock, host, target)
    found = t.describe()
    failures: list[Finding] = []
    wheels = 0
    for pkg in lock.python.packages:
        if pkg.conda_managed or (pkg.artifact is not None and pkg.artifact.rebuilt):
            continue  # conda installs it, or the rebuild builds it from source: no wheel tag applies
        wheel = package_tags(pkg)
        if not wheel:
            continue
        wheels += 1
        if wheel & t.supported:
            continue
        tag, why, remedy = explain(wheel, t)
        failures.append(
            Finding("fail", f"wheel {pkg.name} {pkg.version}", tag, f"{found}: {why}", remedy, NAME)
        )
    if failures:
        return failures
    if not wheels:
        return []
    return [Finding("ok", "wheels", f"{wheels} locked wheels", found, "", NAME)]
