"""Wheel tags: every locked wheel must be installable by the target interpreter on the target platform.
Each package that cannot install is named with the reason; many packages failing for one reason (a Python
version mismatch fails nearly all of them) share one finding that still names every package."""

from __future__ import annotations

from collections import defaultdict

from ...model import Snapshot
from .._tags import explain, package_tags, tag_target
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "wheels"

# Up to this many packages with the same reason get a finding each.
_SEPARATE = 3


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    interpreter = lock.python if target.provides_python else host.python
    if not interpreter.version:
        if not any(package_tags(p) for p in lock.python.packages):
            return []
        return [Finding("warn", "wheels", "locked wheels", "unknown Python version", "cannot verify wheel tags", NAME)]
    t = tag_target(lock, host, target)
    found = t.describe()
    by_reason: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    wheels = 0
    for pkg in lock.python.packages:
        if pkg.conda_layer or (pkg.artifact is not None and pkg.artifact.rebuilt):
            continue  # conda installs it, or the rebuild builds it from source: no wheel tag applies
        wheel = package_tags(pkg)
        if not wheel:
            continue
        wheels += 1
        if wheel & t.supported:
            continue
        tag, why, remedy = explain(wheel, t)
        by_reason[(why, remedy)].append((f"{pkg.name} {pkg.version}", tag))
    failures = []
    for (why, remedy), packages in by_reason.items():
        if len(packages) <= _SEPARATE:
            failures += [Finding("fail", f"wheel {who}", tag, f"{found}: {why}", remedy, NAME) for who, tag in packages]
        else:
            names = ", ".join(who for who, _ in packages)
            failures.append(Finding("fail", f"{len(packages)} wheels", names, f"{found}: {why}", remedy, NAME))
    if failures:
        return failures
    if not wheels:
        return []
    return [Finding("ok", "wheels", f"{wheels} locked wheels", found, "", NAME)]


class WheelsRule(Rule):
    name = NAME

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = WheelsRule()
