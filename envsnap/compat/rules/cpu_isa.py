"""CPU instruction sets: flags the captured machine had and this host lacks (a warning), or a locked package
known to need one (a failure: it dies with "Illegal instruction")."""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ...model import Snapshot
from ...platforms import machine
from ..data import load
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "cpu-isa"

# The flags whose absence matters for prebuilt binaries; the rest differ between CPU generations harmlessly.
_IMPORTANT = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "bmi2",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "sse4_2",
    "popcnt",
    "sve",
    "sve2",
    "asimddp",
    "i8mm",
    "bf16",
)


def _required(lock: Snapshot) -> list[tuple[str, tuple[str, ...], str]]:
    """(package, flags it needs, an alternative) for locked packages of the data table."""
    table = load("cpu_isa")["packages"]
    out = []
    for pkg in lock.python.packages:
        entry = table.get(pkg.name)
        if entry is None:
            continue
        try:
            applies = not entry["versions"] or Version(pkg.version) in SpecifierSet(entry["versions"])
        except (InvalidVersion, InvalidSpecifier):
            applies = True
        if applies:
            out.append((f"{pkg.name} {pkg.version}", tuple(entry["requires"]), entry.get("alternative", "")))
    return out


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    want_arch, have_arch = machine(lock.platform.machine), machine(host.platform.machine)
    if want_arch and have_arch and want_arch != have_arch:
        return []  # the platform rule reports it; instruction sets of different machines do not compare
    have = set(host.hardware.cpu.flags)
    required = _required(lock)
    if not have and not lock.hardware.cpu.flags and not required:
        return []
    if not have:
        return [Finding("warn", "CPU flags", "as captured", "unknown (no CPU flags read)", "cannot verify", NAME)]
    findings = []
    for who, flags, alternative in required:
        missing = [f for f in flags if f not in have]
        if missing:
            remedy = f"run on a CPU with {', '.join(missing)}" + (f", or {alternative}" if alternative else "")
            findings.append(
                Finding("fail", f"CPU for {who}", ", ".join(flags), "missing " + ", ".join(missing), remedy, NAME)
            )
    lost = [f for f in _IMPORTANT if f in lock.hardware.cpu.flags and f not in have]
    if lost:
        findings.append(
            Finding(
                "warn",
                "CPU flags",
                ", ".join(lost) + " (captured CPU)",
                "missing here",
                "code tuned for these instructions falls back or fails with 'Illegal instruction'",
                NAME,
            )
        )
    if not findings:
        findings.append(
            Finding(
                "ok",
                "CPU flags",
                "captured CPU's instruction sets",
                host.hardware.cpu.model or "all present",
                "",
                NAME,
            )
        )
    return findings


class CpuIsaRule(Rule):
    name = NAME
    areas = ("hardware",)

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = CpuIsaRule()
