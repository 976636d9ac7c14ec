"""A conda prefix compared with the lock, record by record: identity, origin and archive hashes."""

from __future__ import annotations

from .._frozen import frozen
from ..model import Conda, CondaPackage, Snapshot

_IDENTITY = ("version", "build", "build_number", "subdir", "md5", "sha256", "url", "channel")
_HASHES = ("md5", "sha256")
# What another version or build of a package brings with it: one line says it (the archive's name, so its URL, and
# its hashes and build number are another archive's), as another version of a Python package is one line.
_FOLLOWS_BUILD = ("build_number", "md5", "sha256", "url")


@frozen
class CondaDifference:
    name: str
    what: str  # missing | extra | version | build | md5 | sha256 | url | channel | subdir | build_number
    expected: str = ""
    actual: str = ""

    def describe(self) -> str:
        if self.what == "missing":
            return f"conda {self.name} {self.expected}: in the lock, not installed"
        if self.what == "extra":
            return f"conda {self.name} {self.actual}: installed, not in the lock"
        return f"conda {self.name}: {self.what} {self.expected or '(none)'} -> {self.actual or '(none)'}"


def compare_conda(want: Conda | None, have: Conda | None) -> list[CondaDifference]:
    """Record-by-record differences between two conda layers (identity, origin and archive hashes)."""
    wanted = {p.name: p for p in (want.packages if want else ())}
    found = {p.name: p for p in (have.packages if have else ())}
    out = [
        CondaDifference(n, "missing", expected=f"{wanted[n].version} {wanted[n].build}")
        for n in sorted(set(wanted) - set(found))
    ]
    out += [
        CondaDifference(n, "extra", actual=f"{found[n].version} {found[n].build}")
        for n in sorted(set(found) - set(wanted))
    ]
    for name in sorted(set(wanted) & set(found)):
        out += record_differences(wanted[name], found[name])
    return out


def record_differences(a: CondaPackage, b: CondaPackage) -> list[CondaDifference]:
    """How one conda package's record ``b`` differs from ``a`` (the same name): [] where they are one archive."""
    # An archive hash one side does not record is not compared (a lock imported from an md5 explicit file; a
    # prefix installed from one, whose records have no sha256), as long as one hash both record decides.
    both = any(getattr(a, h) and getattr(b, h) for h in _HASHES)
    diffs = []
    for attr in _IDENTITY:
        x, y = getattr(a, attr), getattr(b, attr)
        if x != y and (attr not in _HASHES or (x and (y or not both))):
            diffs.append(CondaDifference(a.name, attr, str(x), str(y)))
    if a.version != b.version:  # the build follows from the version, as the rest follows from either
        diffs = [d for d in diffs if d.what != "build"]
    if a.version != b.version or a.build != b.build:
        diffs = [d for d in diffs if d.what not in _FOLLOWS_BUILD]
    elif a.channel != b.channel or a.subdir != b.subdir:
        diffs = [d for d in diffs if d.what != "url"]  # the URL names the channel and the subdir
    return diffs


def pip_packages(lock: Snapshot) -> list[str]:
    """The lock's pip layer of a conda environment: the Python packages conda did not install."""
    return sorted(p.name for p in lock.pip_layer())
