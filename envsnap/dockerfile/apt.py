"""System packages for a container rebuild: which of the lock's packages to install, pinned how.

The lock records every installed package of the captured host and marks those the Python distributions'
binaries load (``needed_by``, from the ELF mapping). A rebuild installs ``needed`` (the default), ``all`` or
``none`` of them with ``apt-get install name=version``, optionally from a dated snapshot mirror so that
versions the live mirror has dropped can still be fetched.
"""

from __future__ import annotations

import datetime as _dt
import re

from .._frozen import frozen
from ..artifacts.debs import MODES, SNAPSHOT_MIRRORS, select
from ..errors import BadOptionError, RebuildError
from ..model import SystemPackage
from ..platforms import debian_arch

# A package name or version from a lock ends up on a RUN line: accept only what Debian policy allows, so a
# hostile lock cannot inject shell.
# fullmatch, never `$`: `$` also matches before a trailing newline.
_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+", re.ASCII)
_VERSION = re.compile(r"[A-Za-z0-9.+~:-]+", re.ASCII)
_ARCH = re.compile(r"[a-z0-9-]+", re.ASCII)


@frozen
class AptPin:
    name: str
    version: str
    arch: str = ""  # set only for a foreign architecture (multi-arch), e.g. "i386"
    needed_by: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        """The ``apt-get install`` argument: ``name=version`` or ``name:arch=version``."""
        name = f"{self.name}:{self.arch}" if self.arch else self.name
        return f"{name}={self.version}" if self.version else name


def pins(packages: tuple[SystemPackage, ...], machine: str, *, exact: bool = True) -> tuple[AptPin, ...]:
    """``name=version`` pins for ``packages``; with ``exact`` false (another OS than the lock's), names."""
    native = debian_arch(machine)
    out = []
    for pkg in packages:
        if not _NAME.fullmatch(pkg.name):
            raise RebuildError(f"system package name {pkg.name!r} in the lock is not a valid Debian package name")
        if pkg.version and not _VERSION.fullmatch(pkg.version):
            raise RebuildError(f"system package {pkg.name}: version {pkg.version!r} is not a valid Debian version")
        if pkg.arch and not _ARCH.fullmatch(pkg.arch):
            raise RebuildError(f"system package {pkg.name}: architecture {pkg.arch!r} is not valid")
        foreign = pkg.arch if pkg.arch not in ("", "all", native) else ""
        out.append(AptPin(pkg.name, pkg.version if exact else "", foreign, pkg.needed_by))
    return tuple(out)


def snapshot_stamp(date: str) -> str:
    """``--apt-snapshot DATE`` (``2025-05-20``, ``20250520``, ``20250520T120000Z``) as a snapshot path."""
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y%m%dT%H%M%SZ"):
        try:
            moment = _dt.datetime.strptime(date, fmt)
        except ValueError:
            continue
        return moment.strftime("%Y%m%dT%H%M%SZ")
    raise BadOptionError(f"--apt-snapshot {date!r}: expected a date like 2025-05-20 or 20250520T000000Z")


def snapshot_sources(os_id: str, codename: str, date: str) -> tuple[str, ...]:
    """The ``deb`` lines of a dated snapshot mirror for this OS release."""
    if os_id not in SNAPSHOT_MIRRORS:
        # An option this lock cannot take (a Fedora lock has no Debian snapshot): bad input, like a bad date.
        raise BadOptionError(f"--apt-snapshot: no snapshot mirror is known for {os_id or 'an unknown OS'}")
    if not codename:
        raise BadOptionError(f"--apt-snapshot: the release name of {os_id} is unknown")
    stamp = snapshot_stamp(date)
    return tuple(
        "deb [check-valid-until=no] " + line.format(stamp=stamp, codename=codename) for line in SNAPSHOT_MIRRORS[os_id]
    )


__all__ = ["MODES", "SNAPSHOT_MIRRORS", "AptPin", "pins", "select", "snapshot_sources", "snapshot_stamp"]
