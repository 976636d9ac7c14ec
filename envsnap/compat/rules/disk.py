"""Disk space for the rebuild: downloads, the unpacked environment and (for docker) the image layers. Measured
from the bundle's wheels when the rebuild installs from one (their unpacked sizes, as their RECORDs list them),
else estimated from the lock's artifact sizes, else from a table of typical installed sizes."""

from __future__ import annotations

from ...model import Snapshot
from .._facts import mib
from ..data import load
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "disk"

# Below this margin over the estimate a warning: estimates are rough and builds leave caches behind.
_MARGIN = 1.5


_MIB = 1024 * 1024


def estimate_mib(lock: Snapshot, target: Target) -> float:
    """MiB the rebuild needs where it builds. From a bundle's wheels: their real unpacked sizes (and, for an
    image, the wheels again as the context and its COPY layer, and the installed files twice); else the lock's
    wheel sizes, else typical sizes."""
    table = load("disk")
    known: dict[str, float] = table["installed_mib"]
    default = float(table["default_package_mib"])
    total = 0.0
    measured = target.bundle
    if measured is not None and measured.unpacked:
        total += measured.unpacked / _MIB
        if target.container:
            # The build context holds the wheels, the installer stage's COPY layer holds them again, then the
            # installed files, which the image copies out of that stage (the stage goes once the image is built);
            # envsnap's own environment in /opt/envsnap likewise.
            total += (2 * measured.wheels + measured.unpacked) / _MIB
            total += 2 * (measured.tool + measured.tool_unpacked) / _MIB
    else:
        for pkg in lock.python.packages:
            if pkg.conda_layer:
                continue  # counted with the conda packages
            if pkg.artifact is not None and pkg.artifact.size:
                total += pkg.artifact.size / _MIB * float(table["download_and_unpack_factor"])
            else:
                total += known.get(pkg.name, default) * float(table["installed_factor"])
    if lock.conda is not None:
        for cpkg in lock.conda.packages:
            total += known.get(cpkg.name, default) * float(table["installed_factor"])
    if target.container:
        total += float(table["base_image_mib"])
    return total


def _basis(target: Target) -> str:
    if target.bundle is not None and target.bundle.unpacked:
        return "from the bundle's wheels, unpacked"
    return "estimate"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    need = estimate_mib(lock, target)
    needed = f"about {mib(need)} ({_basis(target)})"
    where = target.disk_path or "the build directory"
    if target.disk_free_mib is None:
        return [Finding("warn", "disk space", needed, f"unknown free space at {where}", "cannot verify", NAME)]
    found = f"{mib(target.disk_free_mib)} free at {where}"
    if target.disk_free_mib < need:
        return [
            Finding(
                "fail",
                "disk space",
                needed,
                found,
                f"free at least {mib(need - target.disk_free_mib)} at {where}",
                NAME,
            )
        ]
    if target.disk_free_mib < need * _MARGIN:
        return [Finding("warn", "disk space", needed, found, "little room to spare: free some space first", NAME)]
    return [Finding("ok", "disk space", needed, found, "", NAME)]


class DiskRule(Rule):
    name = NAME

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = DiskRule()
