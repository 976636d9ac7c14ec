"""glibc: the target's C library must be at least what the locked binaries need (manylinux wheel floors,
conda ``__glibc`` constraints); below the captured machine's glibc is a warning when the lock holds wheels
built on that machine (they may use its newer symbols)."""

from __future__ import annotations

import re

from ...model import Snapshot
from ...platforms import numbers
from .._facts import docker_remedy, not_made
from .._tags import glibc_floor, package_tags
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "glibc"

# What a lock needs of glibc where no locked wheel or conda package states a minimum version: any glibc where it has
# conda packages or wheels built on the captured machine (built against a glibc, whichever), else none at all (pure
# Python: the target's own interpreter runs it, on glibc or musl).
NO_FLOOR = "any glibc (no locked wheel or conda package states a minimum)"
NO_GLIBC = "none: no locked wheel or conda package is built for glibc"

_CONDA_GLIBC = re.compile(r"^__glibc\s*>=\s*([0-9.]+)")


def floors(lock: Snapshot) -> list[tuple[tuple[int, int], str]]:
    """(glibc floor, who needs it) for each locked wheel and conda package that states one."""
    out = []
    for pkg in lock.python.packages:
        if pkg.conda_layer:
            continue
        wheel_floors = [f for f in (glibc_floor(tag.platform) for tag in package_tags(pkg)) if f is not None]
        if wheel_floors:
            # A wheel tagged for several floors installs where the lowest one holds.
            out.append((min(wheel_floors), f"{pkg.name} {pkg.version}"))
    if lock.conda is not None:
        for cpkg in lock.conda.packages:
            for dep in cpkg.depends:
                m = _CONDA_GLIBC.match(dep)
                if m:
                    parts = (*numbers(m.group(1)), 0)
                    out.append(((parts[0], parts[1]), f"conda {cpkg.name} {cpkg.version}"))
    return out


def local_builds(lock: Snapshot) -> list[str]:
    """Locked wheels built on the captured machine (plain ``linux_*`` tags): they need its glibc."""
    out = []
    for pkg in lock.python.packages:
        tags = package_tags(pkg)
        if tags and all(tag.platform.startswith("linux_") for tag in tags):
            out.append(f"{pkg.name} {pkg.version}")
    return out


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if not_made(lock, target):
        return []  # no image or environment has a glibc to judge: the platform rule fails the lock (``not_made``)
    needed_floors = floors(lock)
    needs_glibc = bool(needed_floors) or lock.platform.libc == "glibc"
    if lock.platform.system not in ("", "Linux") or not needs_glibc:
        return []
    floor, who = max(needed_floors) if needed_floors else ((0, 0), "")
    floor_text = f"{floor[0]}.{floor[1]}"
    # No floor stated (a pure-Python lock captured on glibc): any glibc does, said so rather than a bare "glibc"
    # that read as a version left out.
    local = local_builds(lock)
    pure = not who and not local and (lock.conda is None or not lock.conda.packages)
    needed = f"glibc >= {floor_text} ({who})" if who else NO_GLIBC if pure else NO_FLOOR
    if target.container:
        base = f"glibc {lock.platform.libc_version}" if lock.platform.libc_version else "glibc"
        remedy = f"use a base image with glibc >= {floor_text}" if who else ""
        return [Finding("ok", "glibc", needed, f"the rebuilt image ({base}, as captured)", remedy, NAME)]
    have = host.platform
    found = f"{have.libc or 'unknown libc'} {have.libc_version}".strip()
    if have.libc != "glibc" and pure:  # nothing of the lock is built against glibc: musl runs it as well
        return [Finding("ok", "glibc", needed, found, "", NAME)]
    if have.libc != "glibc":
        return [
            Finding(
                "fail",
                "glibc",
                needed,
                found,
                f"use a glibc-based host, or {docker_remedy(target)} with a glibc base image",
                NAME,
            )
        ]
    have_version = numbers(have.libc_version)
    if have_version[:2] < floor:
        return [
            Finding(
                "fail",
                "glibc",
                needed,
                found,
                f"use a host or base image with glibc >= {floor_text} (e.g. {docker_remedy(target)})",
                NAME,
            )
        ]
    captured = numbers(lock.platform.libc_version)
    if local and lock.platform.libc == "glibc" and captured and have_version < captured:
        return [
            Finding(
                "warn",
                "glibc",
                (f"{needed}; " if who else "") + f"{', '.join(local)} built on glibc {lock.platform.libc_version}",
                found,
                "wheels built on the captured system may use newer glibc symbols; rebuild them from source "
                f"here, or use {docker_remedy(target)} to rebuild on the captured distribution",
                NAME,
            )
        ]
    return [Finding("ok", "glibc", needed, found, "", NAME)]


class GlibcRule(Rule):
    name = NAME

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = GlibcRule()
