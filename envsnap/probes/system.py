"""System packages and the shared libraries the environment's binaries load from outside it.

Every extension module and shared library of every Python distribution is read for DT_NEEDED; each name is
resolved as the dynamic loader would (RPATH, LD_LIBRARY_PATH, RUNPATH, the ld.so cache, the default
directories); what resolves outside the environment is mapped to the system package that owns it.
Reading (files, commands) is kept apart from parsing so parsers are tested on captured text.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import cast

from .._control import strip_terminal
from .._defaults import LIBRARY_NOT_FOUND
from .._lazyre import LazyPattern
from .._privacy import PathRedactor
from ..model import PackageManager, System, SystemLibrary, SystemManager, SystemPackage
from . import conda
from .hostlibs import (
    DRIVER_LIB,
    Loader,
    PackageDatabase,
    detect_manager,
    prepare,
    realpath,
)
from .interface import Probe, ProbeContext, ProbeResult

# -------------------------------------------------------------------------------------- the probe


def probe_system(
    shared_objects: Mapping[str, Iterable[str]],
    env_roots: Iterable[str],
    redact: PathRedactor,
    database: PackageDatabase | None = None,
    loader: Loader | None = None,
) -> tuple[System, list[str]]:
    """``shared_objects``: distribution name -> absolute paths of its ELF files."""
    db = database or PackageDatabase()
    ld = loader or Loader.for_host()
    roots = tuple({os.path.realpath(r).rstrip("/") + "/" for r in env_roots} | {r.rstrip("/") + "/" for r in env_roots})

    def inside(path: str) -> bool:
        return path.startswith(roots) or realpath(path).startswith(roots)

    installed = db.installed()  # first: apk's database also gives file owners
    needs: dict[str, set[str]] = {}  # soname -> distributions
    resolved: dict[str, str] = {}
    for dist in sorted(shared_objects):
        for so in shared_objects[dist]:
            info = ld.dynamic(so)
            if info is None:
                continue
            for name in info.needed:
                if DRIVER_LIB.match(name):
                    continue
                path = ld.resolve(name, so, info)
                if path and inside(path):
                    continue  # bundled with a wheel or another distribution: not a system library
                needs.setdefault(name, set()).add(dist)
                if path:
                    resolved.setdefault(name, path)
    owners = db.owners(resolved.values())
    libraries = []
    package_needs: dict[str, set[str]] = {}
    for soname in sorted(needs):
        path = resolved.get(soname, "")
        owner = owners.get(path, "") if path else ""
        if owner:
            package_needs.setdefault(owner, set()).update(needs[soname])
        libraries.append(
            SystemLibrary(
                soname=soname,
                path=strip_terminal(redact.path(path)),  # shown, never opened: one line as shown (grammar.is_line)
                package=owner,
                needed_by=tuple(sorted(needs[soname])),
            )
        )
    packages = []
    for pkg in installed:
        packages.append(
            SystemPackage(
                manager=cast(PackageManager, db.manager),  # detect_manager's, checked by lockfile.RULES
                name=pkg.name,
                version=pkg.version,
                arch=pkg.arch,
                needed_by=tuple(sorted(package_needs.get(pkg.name, ()))),
            )
        )
    packages.sort(key=lambda p: (p.name, p.arch, p.version))
    warnings = list(db.warnings)
    for lib in libraries:
        if not lib.path:
            warnings.append(f"system: {lib.soname} (needed by {', '.join(lib.needed_by)}){LIBRARY_NOT_FOUND}")
    manager = cast(SystemManager, db.manager)
    return System(manager=manager, packages=tuple(packages), libraries=tuple(libraries)), warnings


# A warning of one library not found, as ``probe_system`` writes it: a soname holds no white space, a distribution's
# name no parenthesis or comma.
_NOT_FOUND = LazyPattern(r"system: (?P<soname>\S+) \(needed by (?P<by>[^()]+)\)" + LIBRARY_NOT_FOUND)


def missing_libraries_shown(warnings: Iterable[str]) -> list[str]:
    """A capture's warnings as its summary prints them: the libraries not found that one distribution needs, where it
    needs more than one, in one line naming how many and which (``system: 3 libraries needed by nvidia-nvshmem-cu12
    were not found: libfabric.so.1, libmpi.so.40, libucp.so.0``), in place of a line each; a library no such
    distribution needs reads as before. A CUDA torch environment's optional transports (nvshmem and cufile link
    libfabric, libmpi, libucp, loaded only where used) made ten lines of them. The lock keeps a warning per library,
    and each library in its table; the lines stand where the first of them stood, by distribution."""
    out: list[str] = []
    needs: dict[str, list[str]] = {}  # soname -> the distributions that need it
    at = -1
    for warning in warnings:
        found = _NOT_FOUND.fullmatch(warning)
        if found is None:
            out.append(warning)
            continue
        at = len(out) if at < 0 else at
        needs.setdefault(found["soname"], []).extend(found["by"].split(", "))
    if at < 0:
        return out
    by_dist: dict[str, list[str]] = {}
    for soname, dists in needs.items():
        for dist in dists:
            by_dist.setdefault(dist, []).append(soname)
    grouped = {dist for dist, sonames in by_dist.items() if len(sonames) > 1}
    lines = [
        f"system: {len(by_dist[dist])} libraries needed by {dist} were not found: {', '.join(sorted(by_dist[dist]))}"
        for dist in sorted(grouped)
    ]
    for soname in sorted(needs):
        rest = [dist for dist in needs[soname] if dist not in grouped]
        if rest:
            lines.append(f"system: {soname} (needed by {', '.join(rest)}){LIBRARY_NOT_FOUND}")
    return [*out[:at], *lines, *out[at:]]


def shared_objects_of(ctx: ProbeContext) -> dict[str, tuple[str, ...]]:
    """Distribution name -> absolute paths of its ELF files, as the target probe found them; for one that lists
    none of its files (a Debian ``python3-*`` package's egg-info), those the system package owning it lists."""
    out = {}
    for p in ctx.python.packages:
        paths = p.shared_objects
        if not paths and p.top_level:
            paths = ctx.database.module_shared_objects(p.dist_dir, p.site_dir, p.top_level)
        if paths:
            out[p.name] = paths
    return out


# Prefixes that are the system's own folders (Debian's /usr/bin/python3): the libraries under them are the system's.
_SYSTEM_PREFIXES = ("/", "/usr")


def environment_roots(ctx: ProbeContext) -> set[str]:
    """The folders that belong to the environment: a library found under one is not a system library. The prefix of
    a system's own interpreter is not one: under /usr, every library of the host would be the environment's."""
    roots = {p.site_dir for p in ctx.python.packages}
    if os.path.normpath(ctx.python.prefix) not in _SYSTEM_PREFIXES:
        roots.add(ctx.python.prefix)
    layer = ctx.value_of(conda.PROBE)
    if layer is not None:
        roots.add(layer.prefix)
    return roots


def probe(ctx: ProbeContext) -> ProbeResult[System]:
    """The system packages and the libraries the environment loads from outside it."""
    table, warnings = probe_system(shared_objects_of(ctx), environment_roots(ctx), ctx.redact, ctx.database, ctx.loader)
    return ProbeResult(table, tuple(warnings))


__all__ = ["MANAGER", "PROBE", "prepare", "probe", "probe_system", "save_caches"]


def save_caches(database: PackageDatabase, loader: Loader) -> None:
    """Keep what this capture read for the next one (only what changed is written)."""
    for cache in (database.index, loader.sections):
        if cache is not None:
            cache.save()


class SystemProbe(Probe[System]):
    name = "system"

    def run(self, ctx: ProbeContext) -> ProbeResult[System]:
        return probe(ctx)

    def fallback(self, ctx: ProbeContext) -> System:
        return System()


PROBE = SystemProbe()


class ManagerProbe(Probe[System]):
    """The host's package manager alone, without its packages or the environment's system libraries: all that
    ``check``'s rules read of the host's system packages (the lock's are compared with the manager); what
    ``fleet node`` runs in place of ``PROBE``."""

    name = PROBE.name

    def run(self, ctx: ProbeContext) -> ProbeResult[System]:
        return ProbeResult(System(manager=cast(SystemManager, detect_manager())))

    def fallback(self, ctx: ProbeContext) -> System:
        return System()


MANAGER = ManagerProbe()
