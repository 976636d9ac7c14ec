"""What to say of a file given where a lock belongs that is another tool's lock: the import that makes one of it."""

from __future__ import annotations

from pathlib import Path

from ..errors import BundleNotALockError, NotALockfileError

# What a command does with its lock, in the hint's words ("to compare it, make a lock of it first").
_VERBS = {"diff": "compare", "verify": "verify against", "check": "check", "show": "show"}


def import_hint(exc: NotALockfileError, command: str) -> str:
    """The error's line for a file ``envsnap import`` reads (a pylock.toml, a requirements file, a conda lock), as
    ``--from auto`` recognises it: what it is and the import that makes a lock of it, to be given instead. "" for
    any other file: the loader's own message stands. A bundle's is the lock it holds."""
    if isinstance(exc, BundleNotALockError):  # the lock it holds (rebuild reads a bundle: rebuild._bundle_as_lock)
        return str(exc)
    from .. import importers

    fmt = importers.recognised(exc.origin) if exc.origin else ""
    if not fmt:
        advice = importers.environment_yml_advice(exc.origin) if exc.origin else ""
        verb = _VERBS.get(command, "use")
        # envsnap's own environment-yml export, or conda's: no format reads it, so no import is given, but what is.
        if not advice:
            return ""
        return (
            f"{exc.origin}: an environment.yml, not an envsnap lock; to {verb} it, make a lock first, but it names "
            f"packages{advice}"
        )
    path = Path(exc.origin)
    out = path.with_name(path.stem + ".envsnap.lock")  # never the lock the import would write by default
    if out == path:
        out = path.with_name(path.name + ".lock")
    from ..sinks import shell_shown  # a newline in a folder's name is bash's $'\x0a': one pasteable word

    return (
        f"{exc.origin}: a {fmt} file, not an envsnap lock; to {_VERBS.get(command, 'use')} it, make a lock of it "
        f"first: {shell_shown(['envsnap', 'import', exc.origin, '-o', str(out)])}"
    )
