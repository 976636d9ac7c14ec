"""Exception hierarchy. The library raises; only the CLI prints and exits."""

from __future__ import annotations


class EnvsnapError(Exception):
    """Root of every error envsnap raises on purpose."""

    exit_code = 2


class RunRecordWarning(UserWarning):
    """Not an error: a run record was written, and holds something its author should know before publishing it
    (the lines ``envsnap run`` says: text that still names the home, drift from the lock, an output the run did
    not write). ``envsnap.record_run`` issues one per line with ``warnings.warn``, and keeps them on its handle."""


class NotInstalledError(EnvsnapError):
    """A module an optional extra of envsnap provides is not installed (the message names the extra): the
    install is incomplete, not the input bad."""

    exit_code = 4


class UsageError(EnvsnapError):
    """An argument the command cannot take: a bad option value, options that contradict each other, a
    destination that must be empty and is not. Bad input, exit code 2, before anything is fetched or built."""

    exit_code = 2


class LockfileError(EnvsnapError):
    """A lockfile is unreadable, invalid or of an unknown schema."""


class NotALockfileError(LockfileError):
    """The text read as a lock is none: not TOML, or without an ``[envsnap]`` table. ``origin`` names it (a path
    where it was read from a file): perhaps another tool's lock, which the CLI then says how to import."""

    def __init__(self, message: str, origin: str) -> None:
        super().__init__(message)
        self.origin = origin


class LockTooLargeError(LockfileError):
    """A lock about to be written (imported, captured, pinned) is larger than the limit envsnap reads a lock under:
    nothing is written, since no command could read it. ``size`` and ``limit`` in bytes; the message says what."""

    def __init__(self, message: str, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class BundleNotALockError(NotALockfileError):
    """A bundle (a folder or an archive ``envsnap bundle`` made) given where a lock belongs: the message names the
    lock it holds, and the CLI adds ``--bundle`` for ``rebuild``."""


class ProbeError(EnvsnapError):
    """A probe could not inspect the environment (bad interpreter, unreadable database)."""


class CheckError(EnvsnapError):
    """The compatibility check could not run."""


class RebuildError(EnvsnapError):
    """A rebuild failed; nothing half-built is left behind."""

    exit_code = 4


class BadOptionError(RebuildError, UsageError):
    """A target's option has a value it cannot take (``--tag``, ``--base-digest``, an unknown ``--option``
    key, ``--offline`` without ``--bundle``, a ``--dest`` that is not empty): bad input, exit code 2 like any
    bad option, not a failed rebuild."""

    exit_code = 2


class UnbuildableLockError(BadOptionError):
    """What a target needs and the lock does not give, known from the lock (and the options) before any work: no
    Python version recorded, an OS, CUDA or Python no base image is known for, so ``--base-image IMAGE`` is needed.
    Bad input, exit code 2, as a lock of the wrong kind for the target is: not a rebuild that failed (4), nor a host
    that cannot run the lock (3). The message says what to give."""


class IncompatibleLockError(RebuildError):
    """A lock this host cannot run, known without probing it (a conda lock of another platform): exit code 3, as a
    failed compatibility check, said before the check and any work; ``--force``, which overrides the check's
    verdict, cannot make the locked binaries run here."""

    exit_code = 3


class RequiresPythonError(UnbuildableLockError):
    """No base image envsnap can choose runs a Python that every locked distribution's Requires-Python admits: the
    remedy is ``--base-image`` (or the lock's own Python is excluded), so bad input, exit code 2, where ``--force``
    took the rebuild past the check's failure (3) that names it first."""


class ExportError(EnvsnapError):
    """A lock cannot be written in the requested format."""


class PinError(EnvsnapError):
    """The package index could not be read, or its configuration is invalid."""


class BundleError(EnvsnapError):
    """A bundle cannot be made (a package that cannot be fetched or built), or lacks a wheel a rebuild needs."""

    exit_code = 4


class BadBundleError(BundleError):
    """A bundle that fails its checks: a file that does not match ``SHA256SUMS`` or the bundle's lock, one
    missing or added, an unsafe or malformed archive, a saved image that is not the one it pins, a bundle made
    from another lock. A bundle comes from a stranger: bad input, exit code 2, as a lock outside its grammar.
    ``odd``: where the failure is a link or special file in the bundle, its path relative to the bundle (which
    bundling the folder again keeps: the audit's remedy removes it)."""

    exit_code = 2

    def __init__(self, message: str, *, odd: str = "") -> None:
        super().__init__(message)
        self.odd = odd


class FleetError(EnvsnapError):
    """Slurm could not be asked at all (no srun or sinfo, the controller does not answer): exit 4. A node that
    does not answer is no error: the fleet report names it unreachable."""

    exit_code = 4


class LockImportError(EnvsnapError):
    """A file cannot be read into an envsnap lock (``envsnap import``)."""


class UnsafeInputError(EnvsnapError):
    """A value from a lock or a bundle would choose a path, a program, an option or a fetch it may not
    (a file name with a folder in it, a version that is a path, a URL outside the fetch policy): refused
    before anything is read, written or run. Bad input, exit code 2."""
