"""Python: the interpreter the target provides vs the locked one. Patch-level differences are warnings."""

from __future__ import annotations

from ...model import PythonEnv, Snapshot
from .._facts import numbers
from ..report import Finding
from ..target import Target
from .interface import Rule

NAME = "python"


def describe(py: PythonEnv) -> str:
    flavour = " free-threaded" if py.free_threaded else ""
    return f"{py.implementation or 'python'} {py.version or '?'}{flavour}".strip()


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    want = lock.python
    needed = describe(want)
    if not want.version:
        return []
    if target.provides_python:
        return [Finding("ok", "Python", needed, f"provided by the {target.kind} rebuild", "", NAME)]
    have = host.python
    found = describe(have)
    remedy = f"run with a {describe(want)} interpreter (--python PATH), or use --target conda or docker"
    if want.implementation and have.implementation and want.implementation != have.implementation:
        return [Finding("fail", "Python", needed, found, remedy, NAME)]
    w, h = numbers(want.version), numbers(have.version)
    if w[:2] != h[:2]:
        return [Finding("fail", "Python", needed, found, remedy, NAME)]
    if want.free_threaded != have.free_threaded:
        return [Finding("fail", "Python", needed, found, remedy, NAME)]
    if w != h:
        return [
            Finding(
                "warn",
                "Python",
                needed,
                found,
                f"patch release differs; use Python {want.version} for an exact match",
                NAME,
            )
        ]
    return [Finding("ok", "Python", needed, found, "", NAME)]


class PythonRule(Rule):
    name = NAME

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = PythonRule()
