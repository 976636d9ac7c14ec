"""Requires-Python against the interpreter that will run: which locked distributions exclude a Python version.

The lock records each distribution's ``Requires-Python`` (METADATA, untrusted text). The compatibility check and
the docker target's base-image choice both ask the same question of the interpreter the target will actually run:
the host's, a venv's, conda's locked Python, or the docker base's."""

from __future__ import annotations

from collections.abc import Iterable

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ._frozen import frozen
from .grammar import shown
from .model import PythonPackage

__all__ = ["Exclusion", "describe", "excluding"]


@frozen
class Exclusion:
    name: str
    requires: str  # the recorded Requires-Python: normalised when it parses, else escaped for display


def excluding(packages: Iterable[PythonPackage], python: str) -> tuple[list[Exclusion], list[Exclusion]]:
    """The packages whose Requires-Python excludes Python ``python``, and those whose Requires-Python cannot be
    read (an invalid specifier: a warning, never a guess). An unreadable ``python`` version excludes nothing.

    The interpreter is judged by its release number alone, as pip judges it (``sys.version_info[:3]``): a
    3.13.0rc1 interpreter is 3.13.0 to an installer, so ``>=3.13`` admits it."""
    try:
        version = Version(".".join(str(n) for n in Version(python).release[:3]))
    except InvalidVersion:
        return [], []
    excluded: list[Exclusion] = []
    unreadable: list[Exclusion] = []
    for pkg in packages:
        text = pkg.requires_python.strip()
        if not text:
            continue
        try:
            spec = SpecifierSet(text)
        except InvalidSpecifier:
            unreadable.append(Exclusion(pkg.name, shown(text)))
            continue
        if not spec.contains(version, prereleases=True):
            excluded.append(Exclusion(pkg.name, str(spec)))
    return excluded, unreadable


def describe(exclusions: list[Exclusion], limit: int = 5) -> str:
    """``numpy (>=3.11.5), scipy (>=3.12)`` and how many more."""
    from .report import first_few

    return first_few([f"{e.name} (Requires-Python {e.requires})" for e in exclusions], limit)
