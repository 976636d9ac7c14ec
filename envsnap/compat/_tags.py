"""Wheel tags a target supports, computed from a description of the target (not from the running
interpreter), and the reason one locked wheel is not among them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property

from packaging import tags as ptags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .._frozen import frozen
from ..model import PythonPackage, Snapshot
from ..platforms import (
    LEGACY_MANYLINUX_TAG,
    MANYLINUX,
    MUSLLINUX,
    machine,
    macos_release,
    numbers,
    platform_arch,
    target_machine,
    with_article,
)
from ..wheeltags import TagOrder, built_for_machine_alone, tag_order
from ..wheeltags import package_tags as package_tags  # the rules read a package's tags through _tags
from ._facts import activate_python
from .target import Target

_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


@frozen
class TagTarget:
    """The interpreter and platform a wheel must fit."""

    implementation: str  # "cpython", "pypy"
    python_version: tuple[int, int]
    abi: str  # the interpreter's ABI tag, e.g. "cp311", "cp313t"
    system: str  # "Linux", "Darwin", "Windows"
    machine: str  # "x86_64", "aarch64"
    libc: str = ""  # "glibc", "musl", "" (unknown)
    libc_version: str = ""
    platform_tag: str = ""  # sysconfig.get_platform() of the interpreter, for macOS and Windows
    os_version: str = ""  # the OS release the lock records (an import's macOS 14.5; os-release's on Linux)
    kernel: str = ""  # the kernel release (a Mac's Darwin 23.5.0 is macOS 14.5)

    @property
    def interpreter(self) -> str:
        prefix = {"cpython": "cp", "pypy": "pp"}.get(self.implementation, self.implementation[:2] or "cp")
        return f"{prefix}{self.python_version[0]}{self.python_version[1]}"

    @cached_property
    def platforms(self) -> tuple[str, ...]:
        """The platform tags the target installs, best first, from its own facts alone; empty where they cannot be
        told (``unknown_platform`` says why): never this host's, which packaging lists where it is given none."""
        return tuple(_platforms(self))

    @property
    def unknown_platform(self) -> str:
        """Why the target's platform tags cannot be told from its facts ("" where they can): on Linux, its C library
        and version too, which its manylinux and musllinux tags stand on (only ``linux_ARCH`` is known without)."""
        if self.system == "Linux" and self.machine and not _libc_known(self):
            return "the C library (glibc or musl) and its version are not recorded"
        if self.platforms:
            return ""
        if not self.system:
            return "the OS is not recorded"
        if not self.machine:
            return f"the {self.system} machine is not recorded"
        if self.system == "Darwin":
            return "the macOS release is not recorded (no OS version, Darwin kernel or interpreter platform)"
        return f"the {self.system} platform tag is not recorded"

    @cached_property
    def _order(self) -> TagOrder:
        cpython = self.implementation in ("cpython", "")
        return tag_order(self.python_version, self.interpreter, self.platforms, abi=self.abi, cpython=cpython)

    def fits(self, tag: ptags.Tag) -> bool:
        """Whether the target installs a wheel with ``tag``."""
        return str(tag) in self._order

    def fits_any(self, tags: Iterable[ptags.Tag]) -> bool:
        """Whether the target installs a wheel with these tags (one of them is supported)."""
        return any(self.fits(tag) for tag in tags)

    @property
    def interpreters(self) -> frozenset[str]:
        """The interpreter tags of the supported tags (``cp311``, ``py3``)."""
        return frozenset(interpreter for interpreter, _abi in self._order.pairs())

    @property
    def abis(self) -> frozenset[tuple[str, str]]:
        """The (interpreter, ABI) pairs of the supported tags."""
        return self._order.pairs()

    def describe(self) -> str:
        libc = f", {self.libc} {self.libc_version}".rstrip() if self.libc else ""
        where = f"{self.system or 'an unrecorded OS'} {self.machine}".rstrip()
        return f"{self.interpreter} ({self.abi}) on {where}{libc}"


def tag_target(lock: Snapshot, host: Snapshot, target: Target) -> TagTarget:
    """Docker and conda bring the locked interpreter; a container also brings the captured libc (the rebuild
    picks a base image matching the lock), on the engine's machine, and runs Linux. Any other target is ``host``'s
    facts as recorded: a missing OS stays missing (``TagTarget.unknown_platform``), never this host's."""
    py = lock.python if target.provides_python else host.python
    platform = lock.platform if target.container else host.platform
    arch = platform.machine
    if target.container and target.docker is not None and target.docker.architecture:
        arch = target.docker.architecture
    parts = (*numbers(py.version), 0, 0)
    return TagTarget(
        implementation=py.implementation or "cpython",
        python_version=(parts[0], parts[1]),
        abi=py.abi or f"cp{parts[0]}{parts[1]}",
        system=platform.system or ("Linux" if target.container else ""),
        machine=machine(arch),
        libc=platform.libc,
        libc_version=platform.libc_version,
        platform_tag=py.platform_tag,
        os_version=platform.os_version,
        kernel=platform.kernel,
    )


def _libc_known(t: TagTarget) -> bool:
    return t.libc in ("glibc", "musl") and len(numbers(t.libc_version)) >= 2


def _platforms(t: TagTarget) -> Iterable[str]:
    arch = t.machine
    if not arch and t.system != "Darwin" and t.system != "Windows":
        return  # no machine: no Linux tag (``linux_`` named none), and no other OS's tag is known without one
    if t.system == "Linux":
        glibc = numbers(t.libc_version)
        if t.libc == "glibc" and len(glibc) >= 2:
            for minor in range(glibc[1], -1, -1):
                yield f"manylinux_{glibc[0]}_{minor}_{arch}"
                for legacy, floor in _LEGACY_MANYLINUX.items():
                    if floor == (glibc[0], minor) and (legacy == "manylinux2014" or arch in ("x86_64", "i686")):
                        yield f"{legacy}_{arch}"
        elif t.libc == "musl" and len(glibc) >= 2:
            for minor in range(glibc[1], -1, -1):
                yield f"musllinux_{glibc[0]}_{minor}_{arch}"
        yield f"linux_{arch}"
    elif t.system == "Darwin":
        release, _tag_arch = macos_release(t.os_version, t.kernel, t.platform_tag)
        # pip reads the Mac's machine (an arm64 Mac installs arm64 and universal2 wheels under a universal2 build)
        mac_arch = target_machine(t.system, arch, t.platform_tag)
        if release is not None and mac_arch:
            yield from ptags.mac_platforms(release, mac_arch)
    elif t.platform_tag:
        yield t.platform_tag.replace("-", "_").replace(".", "_")
    elif t.system == "Windows":
        windows = {"x86_64": "win_amd64", "aarch64": "win_arm64", "i686": "win32"}.get(arch)
        if windows:
            yield windows


@frozen
class ImportedFiles:
    """What the files an import kept for a package (its ``candidates``, with no single one recorded) say of
    where it installs: it installs where any of them does."""

    tags: frozenset[ptags.Tag]  # every tag of every wheel named among them
    sdist: bool  # one is an sdist: it builds anywhere
    unnamed: int  # how many are known by sha256 only (a hashed requirement): their tags are unknown


def imported_files(pkg: PythonPackage) -> ImportedFiles | None:
    """The files an import kept for ``pkg`` (a single one known by sha256 only is its ``artifact`` without a file
    name); None where the lock records the one installed file (its WHEEL tags or a named artifact), or the import
    kept none."""
    if pkg.wheel_tags:
        return None
    if pkg.artifact is not None:
        return None if pkg.artifact.filename or pkg.artifact.rebuilt else ImportedFiles(frozenset(), False, 1)
    if not pkg.candidates:
        return None
    tags: set[ptags.Tag] = set()
    sdist = False
    unnamed = 0
    for cand in pkg.candidates:
        if not cand.filename:
            unnamed += 1
        elif cand.filename.endswith(".whl"):
            try:
                tags |= parse_wheel_filename(cand.filename)[3]
            except InvalidWheelFilename:
                unnamed += 1  # a name that says nothing: as if there were none
        else:
            sdist = True
    return ImportedFiles(frozenset(tags), sdist, unnamed)


def undecided(wheel: frozenset[ptags.Tag], t: TagTarget) -> bool:
    """Whether a wheel the target does not install may yet fit it: its interpreter and ABI do, and the target's
    platform tags cannot be told from its facts (``TagTarget.unknown_platform``). A Linux wheel on a target known to
    run another OS is decided: it does not fit; so is, on a Linux target whose C library is not recorded, one of
    another machine."""
    if not t.unknown_platform:
        return False
    fits = [tag for tag in wheel if (tag.interpreter, tag.abi) in t.abis]
    if t.system and t.system != "Linux":
        fits = [tag for tag in fits if not platform_arch(tag.platform)]
    elif t.system == "Linux" and t.machine:  # its C library not known: its machine's manylinux and musllinux tags
        fits = [tag for tag in fits if platform_arch(tag.platform) == t.machine and _on_a_libc(tag.platform)]
    return bool(fits)


def _on_a_libc(platform: str) -> bool:
    """A Linux platform tag that names a C library and its version (manylinux, musllinux), not ``linux_ARCH``."""
    return glibc_floor(platform) is not None or MUSLLINUX.match(platform) is not None


def glibc_floor(platform: str) -> tuple[int, int] | None:
    """``manylinux_2_28_x86_64`` -> (2, 28); None for tags that are not manylinux."""
    m = MANYLINUX.match(platform)
    if m:
        return int(m.group(1)), int(m.group(2))
    legacy = LEGACY_MANYLINUX_TAG.match(platform)
    return _LEGACY_MANYLINUX[legacy.group(1)] if legacy else None


def built_for_machine(lock: Snapshot, arch: str) -> list[str]:
    """The locked wheels (``name version``) built for the lock's machine alone, where ``arch`` is another one: the
    platform rule names them once in its machine failure, and the wheels rule does not fail each again. The rule
    verify folds such wheels' differences into the machine's mismatch by (``wheeltags.built_for_machine_alone``); the
    conda layer is the conda rules' to check."""
    locked = machine(lock.platform.machine) if lock.platform.machine else ""
    if not locked or not arch or locked == machine(arch):
        return []
    return [
        f"{pkg.name} {pkg.version}"
        for pkg in lock.python.packages
        if not pkg.conda_layer and built_for_machine_alone(pkg, locked)
    ]


# The name a remedy gives the OS a wheel's platform tags are of (``platform.system()``'s name -> the one users know).
OS_NAMES = {"Darwin": "macOS", "Windows": "Windows", "Linux": "Linux"}


def _system_of(platform: str) -> str:
    """The OS (as ``platform.system()`` names it) a wheel's platform tag is of; "" for ``any`` and the unknown."""
    if platform.startswith("macosx_"):
        return "Darwin"
    if platform == "win32" or platform.startswith("win_"):
        return "Windows"
    return "Linux" if platform_arch(platform) else ""


def built_for_system(lock: Snapshot, system: str) -> list[str]:
    """The locked wheels (``name version``) built for the lock's OS alone (every tag a macOS one, for a Mac's lock),
    where ``system`` (the target's) is another: the platform rule names them once in its OS failure, and the wheels
    rule does not fail each again (no Python of this host installs a macOS wheel, whatever the version)."""
    locked = lock.platform.system
    if not locked or not system or locked == system:
        return []
    found = []
    for pkg in lock.python.packages:
        tags = package_tags(pkg) if not pkg.conda_layer else frozenset()
        if tags and all(_system_of(tag.platform) == locked for tag in tags):
            found.append(f"{pkg.name} {pkg.version}")
    return found


def _python_of(interpreter: str) -> str:
    m = re.match(r"^(cp|pp|py)(\d)(\d*)$", interpreter)
    if not m:
        return interpreter
    return f"Python {m.group(2)}.{m.group(3)}" if m.group(3) else f"Python {m.group(2)}"


def explain(
    wheel: frozenset[ptags.Tag], t: TagTarget, python_options: bool = True, targets: str = "--target conda or docker"
) -> tuple[str, str, str]:
    """(the tag to show, why the target cannot install it, what to do) for a wheel with no supported tag;
    ``python_options``: the caller has --python and --target to name in the remedy (``Target.python_options``);
    ``targets``: those that bring the locked Python (``target.bringing_python``)."""
    ordered = sorted(wheel, key=str)
    interpreters = t.interpreters
    fits_python = [tag for tag in ordered if tag.interpreter in interpreters]
    if not fits_python:
        tag = ordered[0]
        return (
            str(tag),
            f"built for {_python_of(tag.interpreter)} ({tag.interpreter}), the target runs {t.interpreter}",
            f"use a {_python_of(tag.interpreter)} interpreter (--python{f', or {targets}' if targets else ''})"
            if python_options
            else activate_python(f"a {_python_of(tag.interpreter)} interpreter"),
        )
    abis = t.abis
    fits_abi = [tag for tag in fits_python if (tag.interpreter, tag.abi) in abis]
    if not fits_abi:
        tag = fits_python[0]
        return (
            str(tag),
            f"built for the {tag.abi} ABI, the target interpreter has {t.abi}",
            f"use an interpreter with the {tag.abi} ABI",
        )
    return _explain_platform(fits_abi, t)


def _explain_platform(candidates: list[ptags.Tag], t: TagTarget) -> tuple[str, str, str]:
    platforms = [tag.platform for tag in candidates]
    if t.system != "Linux" and platforms and all(platform_arch(p) for p in platforms):
        # Linux wheels on a Mac: its machine is beside the point ("built for x86_64 ... run on an x86_64 host")
        return (
            str(candidates[0]),
            f"built for Linux ({platforms[0]}), the target runs {t.system or 'an unrecorded OS'}",
            "run on a Linux host",
        )
    same_arch = [p for p in platforms if platform_arch(p) in ("", t.machine)]
    if (
        platforms
        and not any(platform_arch(p) == t.machine for p in platforms)
        and all(platform_arch(p) for p in platforms)
    ):
        arch = platform_arch(platforms[0])
        return (str(candidates[0]), f"built for {arch}, the target is {t.machine}", f"run on {with_article(arch)} host")
    by_platform = {tag.platform: tag for tag in candidates}
    manylinux = sorted((glibc_floor(p), p) for p in same_arch if glibc_floor(p) is not None)
    if manylinux:
        floor, plat = manylinux[0]
        assert floor is not None
        need = f"{floor[0]}.{floor[1]}"
        if t.system == "Linux" and t.libc == "musl":
            return (
                str(by_platform[plat]),
                f"built for glibc ({plat}), the target uses musl libc",
                "use a glibc-based host or base image (e.g. Debian, Ubuntu)",
            )
        if t.libc == "glibc":
            return (
                str(by_platform[plat]),
                f"needs glibc >= {need} ({plat}), the target has glibc {t.libc_version}",
                f"use a host or base image with glibc >= {need}",
            )
        return (
            str(by_platform[plat]),
            f"needs glibc >= {need} ({plat}), the target's libc is unknown",
            f"use a host or base image with glibc >= {need}",
        )
    musl = [p for p in same_arch if MUSLLINUX.match(p)]
    if musl:
        return (
            str(by_platform[musl[0]]),
            f"built for musl libc ({musl[0]}), the target uses {t.libc or 'another libc'} {t.libc_version}".rstrip(),
            "use a musl-based host or base image (e.g. Alpine), or lock on a glibc system",
        )
    tag = candidates[0]
    return (
        str(tag),
        f"built for {tag.platform}, the target supports {t.platforms[0] if t.platforms else 'none'}",
        f"run on a {tag.platform} system",
    )
