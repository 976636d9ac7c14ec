"""Wheel tags: every locked wheel must be installable by the target interpreter on the target platform.
Each package that cannot install is named with the reason; many packages failing for one reason (a Python
version mismatch fails nearly all of them) share one finding that still names every package.

A package an import kept several files of (``candidates``: every wheel of a pylock package) installs where any
of its wheels does, or anywhere when one is an sdist. A file known by its sha256 only (a hashed requirements
file) says nothing of its tags: where no named wheel fits, the rule cannot tell, and says so, naming the package
and ``envsnap pin``, which looks the hashes up and records the file that fits. A package an import recorded by name
and version only (``pip freeze``: no hash, no file) says nothing either, and is named the same way; a captured
package without wheel tags was installed from no wheel (an sdist), which the rebuild builds."""

from __future__ import annotations

from collections import defaultdict

from ...model import PythonPackage, Snapshot
from .._facts import not_made
from .._tags import built_for_machine, built_for_system, explain, imported_files, package_tags, tag_target, undecided
from ..report import Finding
from ..target import Target, bringing_python
from .interface import Rule

NAME = "wheels"

# Up to this many packages with the same reason get a finding each.
_SEPARATE = 3


def _judged(pkg: PythonPackage) -> bool:
    """Whether the lock says which files the package installs from (a wheel's tags, or the files an import kept)."""
    files = imported_files(pkg)
    return bool(package_tags(pkg)) or (files is not None and not files.sdist)


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    if not_made(lock, target):
        return []  # no image or environment holds them: the platform rule fails the lock (``not_made``)
    interpreter = lock.python if target.provides_python else host.python
    if not interpreter.version:
        if not any(_judged(p) for p in lock.python.packages if not p.conda_layer):
            return []
        return [Finding("warn", "wheels", "locked wheels", "unknown Python version", "cannot verify wheel tags", NAME)]
    t = tag_target(lock, host, target)
    found = t.describe()
    by_reason: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    wheels = built = 0
    unknown: list[str] = []
    # Wheels of the lock's machine on another: the platform rule fails the machine once, naming them.
    elsewhere = set(built_for_machine(lock, t.machine))
    # Wheels of the lock's OS on another (a Mac's on Linux): the platform rule's OS failure names them, likewise.
    elsewhere |= set(built_for_system(lock, t.system))
    bare: list[str] = []  # an import's packages known by name and version alone
    unplaced: list[str] = []  # wheels of a platform, where the target's cannot be told from its facts
    for pkg in lock.python.packages:
        if pkg.conda_layer:
            continue  # conda installs it: no wheel tag applies
        if pkg.artifact is not None and pkg.artifact.rebuilt:
            built += 1  # the rebuild builds it from source (a bundle holds the wheel it built): no tag is judged
            continue
        wheel = package_tags(pkg)
        files = imported_files(pkg)
        if files is not None:
            if files.sdist:
                continue  # an sdist among them: the rebuild builds it where no wheel fits
            wheel = files.tags
            if files.unnamed and not t.fits_any(wheel):
                unknown.append(f"{pkg.name} {pkg.version}")  # a file known by sha256 only may be the one
                continue
        if not wheel:
            if lock.envsnap.origin and _bare(pkg):
                bare.append(f"{pkg.name} {pkg.version}")
            continue
        if f"{pkg.name} {pkg.version}" in elsewhere:
            continue
        fits = t.fits_any(wheel)
        if not fits and undecided(wheel, t):
            unplaced.append(f"{pkg.name} {pkg.version}")  # the target's platform tags cannot be told
            continue
        wheels += 1
        if fits:
            continue
        tag, why, remedy = explain(wheel, t, target.python_options, bringing_python(lock))
        by_reason[(why, remedy)].append((f"{pkg.name} {pkg.version}", tag))
    failures = []
    for (why, remedy), packages in by_reason.items():
        if len(packages) <= _SEPARATE:
            failures += [Finding("fail", f"wheel {who}", tag, f"{found}: {why}", remedy, NAME) for who, tag in packages]
        else:
            names = ", ".join(who for who, _ in packages)
            failures.append(Finding("fail", f"{len(packages)} wheels", names, f"{found}: {why}", remedy, NAME))
    unknowable = [_unknown(unknown, found, pin=target.pin_command)] if unknown else []
    unknowable += [_unknown(bare, found, bare=True, pin=target.pin_command)] if bare else []
    unknowable += [_unplaced(unplaced, found, t.unknown_platform)] if unplaced else []
    if failures:
        return failures + unknowable
    if not wheels:
        return unknowable
    # Every wheel a bundle of the lock holds, the project's it built too (it said "3 locked wheels" of 4).
    counted = f"{wheels} locked wheel{'s' if wheels != 1 else ''}" + (f", {built} built from source" if built else "")
    return [Finding("ok", "wheels", counted, found, "", NAME), *unknowable]


def _bare(pkg: PythonPackage) -> bool:
    """An index package the lock names by name and version alone: no file, hash or source says where it installs."""
    return pkg.source.kind == "index" and pkg.artifact is None and not pkg.candidates


def _unknown(packages: list[str], found: str, bare: bool = False, pin: str = "envsnap pin LOCK") -> Finding:
    """The packages whose files the lock knows by sha256 only (``bare``: by no file at all, only name and version):
    whether one fits cannot be told from it. ``pin``: the remedy's ``envsnap pin`` (``Target.pin_command``)."""
    one = len(packages) == 1
    if bare:
        recorded, looks = f"{'it' if one else 'them'} by name and version only, with no file", "the release"
    else:
        recorded, looks = f"{'its' if one else 'their'} files by sha256 only, not by name", "the hashes"
    return Finding(
        "warn",
        f"wheel {packages[0]}" if one else f"{len(packages)} wheels",
        ", ".join(sorted(packages)),
        f"{found}: the lock records {recorded}: cannot tell whether one fits",
        f"run `{pin}` on this host: it looks {looks} up on the index and records the file that fits "
        "(or says that none does)",
        NAME,
    )


def _unplaced(packages: list[str], found: str, why: str) -> Finding:
    """The wheels built for a platform where the target's platform tags cannot be told from its own facts (``why``):
    they are not judged by the tags of the host running the check, which may be another OS."""
    one = len(packages) == 1
    return Finding(
        "warn",
        f"wheel {packages[0]}" if one else f"{len(packages)} wheels",
        ", ".join(sorted(packages)),
        f"{found}: unknown: {why}, so whether {'its platform tag fits' if one else 'their platform tags fit'} "
        "cannot be told",
        "run `envsnap check` on the host itself, or capture its facts there with `envsnap capture`",
        NAME,
    )


class WheelsRule(Rule):
    name = NAME

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = WheelsRule()
