"""Architecture and OS: the machine and system the lock was captured on vs what the target can run."""

from __future__ import annotations

from ...model import Snapshot
from ...platforms import conda_subdir, machine, with_article
from .._facts import docker_remedy
from .._tags import OS_NAMES, built_for_machine, built_for_system
from ..report import Finding
from ..target import Target, conda_refusal
from .interface import Rule

NAME = "platform"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if target.container:
        # A lock the docker rebuild refuses is failed in its words alone: no image is made whose machine to judge.
        refused = _no_image(lock) + _pip_only(lock)
        return refused or _container(lock, host, target) + _conda_installed(lock, target)
    not_conda = _no_conda_environment(lock, target)
    if not_conda:
        return not_conda
    conda = _conda_platform(lock, host) + _conda_installed(lock, target)
    return _host(lock, host, target) + conda


def _no_conda_environment(lock: Snapshot, target: Target) -> list[Finding]:
    """A target that installs conda packages has nothing to install from a pip environment's lock, nor a Python to
    bring: ``rebuild --target conda`` refuses it as it reads it (exit 2). The check fails it with the rebuild's line
    (one rule, ``conda_refusal``): what it found, and the rebuild's remedy; and, as for a lock the docker target
    refuses, nothing of the environment that is not made is judged (``_facts.not_made``): not its machine here."""
    if not target.facts.installs_conda:
        return []
    reason, remedy = conda_refusal(lock)
    if not reason:
        return []
    return [Finding("fail", "conda packages", "a conda environment", reason, remedy, NAME)]


def _pip_only(lock: Snapshot) -> list[Finding]:
    """A container target's image holds a venv: ``rebuild --target docker`` refuses a conda environment's lock as it
    reads it (exit 2), and the check said it was compatible. The check fails it with the rebuild's reason (one rule,
    ``refuses_conda``), whatever the engine answers, and in place of naming conda's Python packages it records."""
    from ...dockerfile.baseimage import refuses_conda

    refused = refuses_conda(lock)
    if not refused:
        return []
    return [Finding("fail", "conda packages", "a pip environment", refused, "rebuild it with --target conda", NAME)]


def _no_image(lock: Snapshot) -> list[Finding]:
    """No image a container target builds can run a macOS or musl lock: ``rebuild --target docker`` refuses it as it
    reads it (exit 2), whatever the engine, and the check failed it in words of its own, and only where an engine
    answered. The check fails it with the rebuild's line (one rule, ``platform_refusal``): what it found, and the
    rebuild's remedy, so that a user reading the check knows what the rebuild will say."""
    from ...dockerfile.baseimage import platform_refusal

    reason, remedy = platform_refusal(lock)
    if not reason:
        return []
    system, libc = lock.platform.system, lock.platform.libc
    if system and system != "Linux":
        return [Finding("fail", "OS", _describe(system, lock.platform.machine), reason, remedy, NAME)]
    return [Finding("fail", "C library", f"{libc} {lock.platform.libc_version}".strip(), reason, remedy, NAME)]


def _conda_installed(lock: Snapshot, target: Target) -> list[Finding]:
    """Python distributions a conda package installed (``conda_managed``) come with that conda package: a target
    that installs wheels into an environment of its own (a venv, an image) has none of them to install, and its
    rebuild ended in a mismatch after fetching every conda archive. The check fails such a lock for it, naming
    them, so the rebuild stops before anything is fetched. The host target installs nothing: not judged."""
    if not target.facts.installs_packages or target.facts.installs_conda or lock.conda is None:
        return []
    managed = [p for p in lock.python.packages if p.conda_managed]
    if not managed:
        return []
    named = ", ".join(f"{p.name} {p.version}".strip() for p in managed[:5])
    more = f" and {len(managed) - 5} more" if len(managed) > 5 else ""
    return [
        Finding(
            "fail",
            "conda packages",
            f"{len(managed)} Python package{'s' if len(managed) > 1 else ''} installed by conda",
            f"not installable by the {target.kind} target (wheels only): {named}{more}",
            "rebuild with --target conda, which installs them with their conda packages",
            NAME,
        )
    ]


def _conda_platform(lock: Snapshot, host: Snapshot) -> list[Finding]:
    """conda installs a platform's packages on that platform only: a lock whose conda packages are for another
    (an imported conda-lock file of linux-64, on osx-arm64) cannot be rebuilt here, whatever else it records (it
    may record no OS or machine at all). ``rebuild --target conda`` refuses it; the check says so too."""
    conda = lock.conda
    if conda is None or not conda.packages or not conda.subdir or conda.subdir == "noarch":
        return []
    if not (host.platform.system and host.platform.machine):
        return []
    here = conda_subdir(host.platform.system, host.platform.machine)
    if conda.subdir == here:
        return [Finding("ok", "conda platform", conda.subdir, here, "", NAME)]
    return [
        Finding(
            "fail",
            "conda platform",
            conda.subdir,
            here,
            f"run on {with_article(conda.subdir)} host: the locked conda packages are built for it",
            NAME,
        )
    ]


def _describe(system: str, arch: str) -> str:
    return f"{system or 'unknown OS'} {arch or 'unknown machine'}"


def _host(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    want, have = lock.platform, host.platform
    needed, found = _describe(want.system, want.machine), _describe(have.system, have.machine)
    if want.system and have.system and want.system != have.system:
        remedy = f"run on {with_article(want.system)} host (the lock was captured on {want.system})"
        return [Finding("fail", "OS", needed, found, remedy + _wheels_of_system(lock, have.system), NAME)]
    if want.machine and have.machine and machine(want.machine) != machine(have.machine):
        return [Finding("fail", "machine", needed, found, _other_machine(lock, machine(have.machine)), NAME)]
    findings = [_unverified(lock, needed, found) or Finding("ok", "machine", needed, found, "", NAME)]
    findings += _distribution(lock, host, target)
    return findings


def _other_machine(lock: Snapshot, here: str) -> str:
    """The remedy of a lock of another machine: the one finding of the mismatch, naming the wheels built for the
    lock's machine (the wheels rule does not fail each again: CUDA locks carry a dozen), and the way on this one."""
    arch = machine(lock.platform.machine)
    wheels = _wheels_built_for(lock, here)
    if not wheels:
        return f"run on {with_article(arch)} host: the locked binaries are built for it"
    return (
        f"run on {with_article(arch)} host: {wheels}; or capture the environment anew "
        f"on this {here} host, installed from its own wheels (other files, hashes and, for CUDA, kernels)"
    )


def _wheels_built_for(lock: Snapshot, here: str) -> str:
    """The locked wheels built for the lock's machine alone, where ``here`` is another ("2 locked wheels are built
    for aarch64 (torch ..., numpy ...)"), as every target's machine failure names them; "" where there are none."""
    arch = machine(lock.platform.machine)
    # The frameworks first (torch, whose build the CUDA wheels serve), then the rest as the lock lists them.
    wheels = sorted(built_for_machine(lock, here), key=lambda w: w.split()[0] not in lock.frameworks)
    if not wheels:
        return ""
    shown = ", ".join(wheels[:4]) + (f" and {len(wheels) - 4} more" if len(wheels) > 4 else "")
    return f"{len(wheels)} locked wheel{'s are' if len(wheels) > 1 else ' is'} built for {arch} ({shown})"


def _wheels_of_system(lock: Snapshot, here: str) -> str:
    """ ": 2 locked wheels are built for macOS (numpy ..., torch ...)": the wheels built for the lock's OS alone, where
    ``here`` is another, as an OS failure names them (``_tags.built_for_system``); "" where there are none."""
    wheels = sorted(built_for_system(lock, here), key=lambda w: w.split()[0] not in lock.frameworks)
    if not wheels:
        return ""
    shown = ", ".join(wheels[:4]) + (f" and {len(wheels) - 4} more" if len(wheels) > 4 else "")
    system = OS_NAMES.get(lock.platform.system, lock.platform.system)
    return f": {len(wheels)} locked wheel{'s are' if len(wheels) > 1 else ' is'} built for {system} ({shown})"


def _unverified(lock: Snapshot, needed: str, found: str) -> Finding | None:
    """A lock that does not record its OS or machine (imported from a requirements file) cannot be called ok."""
    if lock.platform.system and lock.platform.machine:
        return None
    return Finding(
        "warn",
        "machine",
        needed,
        found,
        "the lock does not record the OS or machine it was made on: unknown, cannot verify",
        NAME,
    )


def _distribution(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    """System packages the environment's binaries need can only be reinstalled from the same distribution."""
    needed_pkgs = [p for p in lock.system.packages if p.needed_by]
    if not needed_pkgs:
        return []
    want = f"{lock.platform.os_id} {lock.platform.os_version}".strip()
    have = f"{host.platform.os_id} {host.platform.os_version}".strip()
    plural = "s" if len(needed_pkgs) != 1 else ""
    what = f"{len(needed_pkgs)} {lock.system.manager} package{plural} ({want})"
    if lock.system.manager and host.system.manager != lock.system.manager:
        return [
            Finding(
                "warn",
                "system packages",
                what,
                f"{host.system.manager or 'no package manager'} ({have})",
                f"use {docker_remedy(target)} to rebuild on the captured distribution",
                NAME,
            )
        ]
    if lock.platform.os_id != host.platform.os_id or lock.platform.os_version != host.platform.os_version:
        return [
            Finding(
                "warn",
                "system packages",
                what,
                have,
                "the exact versions may not exist here; "
                f"use {docker_remedy(target)} to rebuild on the captured distribution",
                NAME,
            )
        ]
    return [Finding("ok", "system packages", what, have, "", NAME)]


def _container(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    engine = target.docker
    if engine is None or not engine.reachable:
        return []  # the docker rule reports an unreachable engine
    needed = _describe(lock.platform.system, lock.platform.machine)
    found = f"docker engine: {engine.os_type or 'unknown'} {engine.architecture or 'unknown'}"
    if engine.os_type and engine.os_type != "linux":
        return [Finding("fail", "OS", needed, found, "switch the engine to Linux containers", NAME)]
    if lock.platform.machine and engine.architecture and machine(lock.platform.machine) != machine(engine.architecture):
        arch = machine(lock.platform.machine)
        wheels = _wheels_built_for(lock, machine(engine.architecture))
        return [
            Finding(
                "fail",
                "machine",
                needed,
                found,
                f"use a Docker engine on {with_article(arch)} host (rebuild --target docker does not emulate "
                f"{arch} with QEMU: it refuses a lock of another machine than the engine's)"
                + (f": {wheels}" if wheels else ""),
                NAME,
            )
        ]
    return [_unverified(lock, needed, found) or Finding("ok", "machine", needed, found, "", NAME)]


class PlatformRule(Rule):
    name = NAME
    refusal = True

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = PlatformRule()
