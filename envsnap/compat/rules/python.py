"""Python: the interpreter the target provides vs the locked one. Patch-level differences are warnings."""

from __future__ import annotations

from ...model import PythonEnv, Snapshot
from ...platforms import is_python_release, numbers
from ...requires_python import describe as describe_exclusions
from ...requires_python import excluding
from ...sinks import shell_word
from .._facts import activate_python, not_made
from ..report import Finding
from ..target import Target, or_bringing_python
from .interface import Rule

NAME = "python"


def describe(py: PythonEnv) -> str:
    flavour = " free-threaded" if py.free_threaded else ""
    return f"{py.implementation or 'python'} {py.version or '?'}{flavour}".strip()


def _uv(target: Target) -> str:
    """The uv the remedy names: ``target.uv`` shell-quoted, plain ``uv`` where its path holds a control character."""
    from ...grammar import GrammarError

    try:
        return shell_word(target.uv)
    except GrammarError:
        return "uv"


def check(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    want = lock.python
    if not want.version or not_made(lock, target):
        return []  # nothing to judge, or nothing made to bring it (the platform rule fails the lock: ``not_made``)
    return _interpreter(lock, host, target) + _requires_python(lock, host, target)


def _interpreter(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    want = lock.python
    needed = describe(want)
    if target.provides_python:
        return [Finding("ok", "Python", needed, f"provided by the {target.kind} rebuild", "", NAME)]
    have = host.python
    found = describe(have)
    # CPython of an exact version is what uv and pyenv install by that version (another implementation is not).
    get = (
        f"; to get one: {_uv(target)} python install {want.version}, or pyenv install {want.version}"
        if want.implementation in ("", "cpython") and not want.free_threaded
        else ""
    )
    if target.exact_python and target.python_options:
        get = f"; here: --python {shell_word(target.exact_python)}"
    remedy = (
        f"run with a {describe(want)} interpreter (--python PATH{get}){or_bringing_python(lock)}"
        if target.python_options
        else activate_python(f"a {describe(want)} interpreter", get)
    )
    if want.implementation and have.implementation and want.implementation != have.implementation:
        return [Finding("fail", "Python", needed, found, remedy, NAME)]
    w, h = numbers(want.version), numbers(have.version)
    if w[:2] != h[:2]:
        return [Finding("fail", "Python", needed, found, remedy, NAME)]
    if want.free_threaded != have.free_threaded:
        return [Finding("fail", "Python", needed, found, remedy, NAME)]
    if w != h and not is_python_release(want.version, have.version):
        return [
            Finding(
                "warn",
                "Python",
                needed,
                found,
                # How, as the failure's remedy says: "use Python X" alone named no way to get it.
                "patch release differs; for an exact match, "
                + (
                    f"run with a {describe(want)} interpreter (--python PATH{get})"
                    if target.python_options
                    else activate_python(f"a {describe(want)} interpreter", get)
                ),
                NAME,
            )
        ]
    return [Finding("ok", "Python", needed, found, "", NAME)]


def _requires_python(lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
    """Every locked distribution's Requires-Python against the interpreter the target will actually run: the
    host's (or the venv's --python), conda's locked Python, or the docker base's. Silent when all admit it."""
    component = "Python (Requires-Python)"
    if target.container:
        from ...dockerfile.baseimage import choose
        from ...errors import RebuildError, RequiresPythonError

        try:
            runs = choose(lock, base_image=target.base_image).interpreter.version
            where = f"the {target.kind} base image" + (f" {target.base_image}" if target.base_image else "")
        except RequiresPythonError as exc:
            return [
                Finding(
                    "fail",
                    component,
                    "an interpreter every locked distribution admits",
                    str(exc),
                    f"rebuild with --base-image IMAGE, an image that runs Python {lock.python.version}",
                    NAME,
                )
            ]
        except RebuildError:
            return []  # no base image to judge (the rebuild's plan says why)
    elif target.provides_python:
        runs, where = lock.python.version, f"the {target.kind} rebuild"
    else:
        runs, where = host.python.version, "this interpreter"
    excluded, unreadable = excluding(lock.python.packages, runs)
    findings = []
    if excluded:
        admitted = f"a Python that {'they admit' if len(excluded) > 1 else 'it admits'}"
        remedy = (
            f"run with {admitted} (the lock's own is {lock.python.version}){or_bringing_python(lock)}"
            if target.python_options
            else activate_python(f"{admitted} (the lock's own is {lock.python.version})")
        )
        findings.append(
            Finding("fail", component, describe_exclusions(excluded), f"Python {runs} ({where})", remedy, NAME)
        )
    if unreadable:
        findings.append(
            Finding(
                "warn", component, describe_exclusions(unreadable), "not a version specifier; not checked", "", NAME
            )
        )
    return findings


class PythonRule(Rule):
    name = NAME

    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        return check(lock, host, target)


RULE = PythonRule()
