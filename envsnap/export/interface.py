"""The exporter family: one module per format beside this file, each exposing an ``Exporter`` (``EXPORTER``)
that ``export/__init__.py`` lists in its ``REGISTRY``.

An exporter is pure: ``files(snapshot)`` returns the files it would write (name -> bytes); only the CLI
writes them (atomically) or prints them. Same lock -> same bytes (no clock, no host lookups). Callers use
``render``, which hands ``files`` the lock without secrets (``_privacy.scrub_snapshot``): an imported or older
lock may hold a credential or a signed URL that a capture today would not record. A clean lock renders unchanged.

Every way in (``render``, and ``files``, ``files_named`` and ``files_of_bundle`` called directly) first checks the
lock as the loader checks a file (``lockfile.validate``): a Snapshot built in code, which no loader read, is refused
with the loader's ``LockfileError`` naming the field, before a value reaches a Dockerfile, a shell word or a YAML
line. A lock is checked once per call: the hooks a checked call reaches do not check it again (``_checked``).

An exporter that needs the exact installed files (hashes, URLs) sets ``needs_artifacts``: the CLI pins the
lock first (``envsnap pin``), and ``render`` raises ``ExportError`` naming what is still unpinned.
"""

from __future__ import annotations

import contextvars
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from .._defaults import LOCK_NAME
from .._privacy import scrub_snapshot
from ..errors import ExportError
from ..lockfile import validate
from ..model import PythonPackage, Snapshot
from ._common import candidate_hashes

__all__ = [
    "ExportError",
    "Exporter",
    "UnpinnedError",
    "checked",
    "lock_word",
    "pin_command",
    "refuse_stand_ins_by_name",
    "require_pinned",
    "unpinned",
]

# The lock the call in progress has checked (this thread's, this task's): the hooks it reaches skip the check.
_CHECKED: contextvars.ContextVar[Snapshot | None] = contextvars.ContextVar("envsnap_export_checked", default=None)

# The lock the call in progress renders, as its refusals name it: ``envsnap pin PATH`` and the path (shell words, as
# the user gave it; ``render``'s ``lock_path``), else the placeholders.
_NAMED: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "envsnap_export_named", default=("envsnap pin LOCK", "LOCK")
)


def pin_command() -> str:
    """The ``envsnap pin`` a refusal names: of the lock the user gave (``render``'s ``lock_path``), else ``LOCK``."""
    return _NAMED.get()[0]


def lock_word() -> str:
    """The lock a refusal's command names, one shell word: the path the user gave, else ``LOCK``."""
    return _NAMED.get()[1]


# The hooks a caller may call directly, which check the lock they are given (``Exporter.__init_subclass__``).
_HOOKS = ("files", "files_named", "files_of_bundle")


def checked(snapshot: Snapshot) -> None:
    """Refuse ``snapshot`` as the loader refuses a file holding it (``lockfile.validate``: every field's grammar,
    duplicates, bounds; ``LockfileError``, exit code 2), unless the call in progress checked this very object."""
    if _CHECKED.get() is not snapshot:
        validate(snapshot)


def _checking(hook: Callable[..., Mapping[str, bytes]]) -> Callable[..., Mapping[str, bytes]]:
    """``hook`` checking its lock first, and the hooks it reaches not again."""
    if getattr(hook, "_envsnap_checks", False):
        return hook

    @functools.wraps(hook)
    def checking(self: Exporter, snapshot: Snapshot, *args: Any, **kwargs: Any) -> Mapping[str, bytes]:
        fresh = _CHECKED.get() is not snapshot
        checked(snapshot)
        if fresh and self.needs_artifacts:  # as ``render`` refuses it
            refuse_unchecked_stand_ins(snapshot, self.name)
        token = _CHECKED.set(snapshot)
        try:
            return hook(self, snapshot, *args, **kwargs)
        finally:
            _CHECKED.reset(token)

    checking._envsnap_checks = True  # type: ignore[attr-defined]
    return checking


class UnpinnedError(ExportError):
    """The format needs a file for packages the lock has not pinned: the one refusal a failed pinning explains
    (the CLI then says why pinning left them without one); any other refusal is the format's own and stands.
    ``packages``: the names of those it refused, so that the explanation names them and no other."""

    def __init__(self, message: str, packages: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.packages = frozenset(packages)


class Exporter(ABC):
    """One export format."""

    name: ClassVar[str]  # the --format value
    description: ClassVar[str]
    filename: ClassVar[str]  # default output file name (or directory name when ``directory`` is true)
    directory: ClassVar[bool] = False  # writes several files into a directory (a Docker build context)
    needs_artifacts: ClassVar[bool] = False  # index packages must carry a pinned ``artifact`` (url + sha256)
    # ... and one known by its file, not by a sha256 alone (an imported hashed requirements file): pylock names files
    needs_files: ClassVar[bool] = False
    # ... or lists every file the lock allows for one (an imported pylock's wheels): pylock holds several per package
    takes_listed_files: ClassVar[bool] = False
    # Bytes every file of this format envsnap writes holds (its header): an existing file at the output without them
    # is the user's own, which export does not replace (``written_by_envsnap``); the golden test checks each format.
    signature: ClassVar[bytes] = b"# Generated by envsnap "

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A format's own hooks check the lock they are given, as ``render`` does: a caller may call them directly."""
        super().__init_subclass__(**kwargs)
        for name in _HOOKS:
            if name in cls.__dict__:
                setattr(cls, name, _checking(cls.__dict__[name]))

    def written_by_envsnap(self, data: bytes) -> bool:
        """Whether ``data``, a file found where this format is to be written, is one envsnap wrote in this format
        (so an export may write it again), not the user's own (a project's requirements.txt)."""
        return self.signature in data

    @abstractmethod
    def files(self, snapshot: Snapshot) -> Mapping[str, bytes]:
        """The files of this format made from ``snapshot``: relative file name -> content."""

    def render(
        self,
        snapshot: Snapshot,
        *,
        lock_name: str = LOCK_NAME,
        file_name: str = "",
        bundled: bool = False,
        lock_path: str | None = None,
    ) -> Mapping[str, bytes]:
        """``files`` of the lock without secrets; ``lock_name``: the lock's file name, for a format that names it
        (the appendix's commands: ``envsnap check env.lock``); ``file_name``: the base name of the file the export is
        written to (``-o ci.txt``), for a format that names its own file (the requirements header's ``pip install
        -r ci.txt``), "" for the format's usual name (``filename``: standard output, a folder); ``bundled``: the lock
        is a bundle's (``files_of_bundle``); ``lock_path``: the lock as the user gave it, which a refusal's commands
        name (``envsnap pin PATH``; they said ``envsnap pin LOCK``), None for the placeholder. A lock the loader would
        refuse is refused with its ``LockfileError``."""
        checked(snapshot)
        if self.needs_artifacts:
            refuse_unchecked_stand_ins(snapshot, self.name)
        clean = scrub_snapshot(snapshot)
        token = _CHECKED.set(clean)  # what the loader accepts, less its secrets: checked
        named = _NAMED.set(_named(lock_path)) if lock_path is not None else None
        try:
            if bundled:
                return self.files_of_bundle(clean, lock_name, file_name or self.filename)
            return self.files_named(clean, lock_name, file_name or self.filename)
        finally:
            if named is not None:
                _NAMED.reset(named)
            _CHECKED.reset(token)

    def files_named(self, snapshot: Snapshot, lock_name: str, file_name: str) -> Mapping[str, bytes]:
        """``files`` of a lock kept in a file named ``lock_name``, written to a file named ``file_name``; a format
        that names neither file ignores them."""
        return self.files(snapshot)

    def files_of_bundle(self, snapshot: Snapshot, lock_name: str, file_name: str) -> Mapping[str, bytes]:
        """``files_named`` of a bundle's lock: a format whose commands run from a bundle's folder (the appendix's
        rebuild, ``--bundle . --offline``, as the bundle's own appendix) says so; any other ignores it."""
        return self.files_named(snapshot, lock_name, file_name)


def _named(lock_path: str) -> tuple[str, str]:
    """``_NAMED`` of the lock the user gave: its ``envsnap pin`` (beside the bundle for a bundle's own lock, which
    pin does not rewrite in place) and its path, one shell word each."""
    from .. import sinks
    from .._bundlelock import pin_command as pin_of

    return pin_of(lock_path), sinks.path_shown(lock_path)


def listed_files(pkg: PythonPackage) -> bool:
    """No file pinned, but every file the source lock allowed known by name, URL and sha256 (an imported pylock with
    several wheels): what a format that holds several files per package (pylock) writes as they were."""
    return (
        pkg.artifact is None and bool(pkg.candidates) and all(c.filename and c.url and c.sha256 for c in pkg.candidates)
    )


def unpinned(
    snapshot: Snapshot, *, files: bool = False, hashes: bool = False, listed: bool = False
) -> list[PythonPackage]:
    """Python packages installed from an index whose exact file (url + sha256) is not in the lock yet; with
    ``files`` (``Exporter.needs_files``) also those known by a sha256 alone, with no file name (an imported hashed
    requirements file), which ``envsnap pin`` finds the file of; with ``hashes`` (a format that pins by name and
    hashes: ``requirements``) not those an import knows by every file's sha256 (``_common.candidate_hashes``); with
    ``listed`` (``Exporter.takes_listed_files``) not those an import knows every file of (``listed_files``).

    Packages installed by conda are the conda layer's business and do not count.
    """
    return [
        p
        for p in snapshot.python.packages
        if p.source.kind == "index"
        and not p.conda_layer
        and (p.artifact is None or not p.artifact.sha256 or (files and not p.artifact.filename))
        and not (hashes and candidate_hashes(p))
        and not (listed and listed_files(p))
    ]


def refuse_unchecked_stand_ins(snapshot: Snapshot, fmt: str) -> None:
    """Refuse a lock that pins a distribution a Debian package installed to the index's file of its name and version,
    chosen by its name alone (``pin.unchecked_stand_in``: a lock an envsnap before the ``identity`` field wrote, or one
    written by hand): the format would name that file for pip or docker to install, unchecked, where ``pin``,
    ``bundle`` and ``rebuild`` refuse it. One line naming the package and what to do (``ExportError``, exit 2: a lock
    the format cannot hold)."""
    if not any(p.system_package and p.artifact is not None for p in snapshot.python.packages):
        return  # no stand-in at all: pin's module stays unloaded
    from ..artifacts.pin import CAPTURE_AGAIN, unchecked_stand_ins_said

    count, said = unchecked_stand_ins_said(snapshot.python.packages)
    if count:
        raise ExportError(
            f"{fmt}: {said}; {CAPTURE_AGAIN} and export that lock (`envsnap export NEW.lock --format {fmt}`), which "
            "pins the file again"
        )


def refuse_stand_ins_by_name(snapshot: Snapshot, fmt: str) -> None:
    """Refuse a pip package a Debian package installed that the lock pins to no file (pinning refused each index file
    as a stand-in: the lock records no identity of it, or the file's metadata is another project's; or it did not
    run), in a format that writes a package without a file by its name (``environment-yml``'s pip lines, every one
    then without its hash) or in a comment (``conda-explicit``, which said ``envsnap pin`` records its file): by its
    name alone pip installs whatever the index gives, not known to be the same project, which ``requirements``,
    ``conda-lock`` and ``rebuild`` refuse. ``UnpinnedError``, exit 2, so that the export names pinning's reason."""
    left = [p for p in snapshot.pip_layer() if p.system_package and p.artifact is None and p.source.kind == "index"]
    if not left:
        return
    from ..report import first_few

    first = left[0]
    others = f" (and {first_few([f'{p.name} {p.version}' for p in left[1:]], 3)})" if left[1:] else ""
    raise UnpinnedError(
        f"{fmt}: {first.name} {first.version}{others}: installed by the Debian package {first.system_package} and "
        "pinned to no file: by its name alone pip would install the index's file, not known to be the same project; "
        f"run `{pin_command()}`, which pins a file shown to be it or says why none is",
        [p.name for p in left],
    )


def require_python_layer(snapshot: Snapshot, fmt: str) -> None:
    """A format that is only the Python layer cannot be made from a lock that does not know it (imported from a
    conda explicit file): it would be an empty, valid-looking file that installs nothing. Nor from one that knows
    part of it (an explicit file with some pip packages as ``# pip`` lines and others only in a comment): a
    complete-looking file that installs part of the layer. Each is said as it is."""
    if "python.packages" in snapshot.envsnap.unknown:
        origin = snapshot.envsnap.origin
        if snapshot.python.packages:
            raise ExportError(
                f"{fmt}: the lock records {len(snapshot.python.packages)} of its Python packages, not all (imported "
                f"from {origin or 'another format'}: its pip layer is incomplete); export conda-explicit or conda-lock "
                "instead"
            )
        raise ExportError(
            f"{fmt}: the lock does not record its Python packages (imported from "
            f"{origin or 'a format without them'}); export conda-explicit or conda-lock instead"
        )


def require_pinned(snapshot: Snapshot, fmt: str, *, hashes: bool = False, listed: bool = False) -> None:
    """Raise a one-line ``ExportError`` listing the unpinned packages, if there are any; ``hashes``, ``listed``: as
    for ``unpinned``."""
    missing = unpinned(snapshot, hashes=hashes, listed=listed)
    if missing:
        raise UnpinnedError(
            f"{fmt}: {len(missing)} package(s) have no pinned artifact (file URL and sha256): {package_list(missing)}; "
            f"run `{pin_command()}` first or pass --pin",
            (p.name for p in missing),
        )


def package_list(packages: Sequence[PythonPackage]) -> str:
    """The first eight as ``name==version``, and how many more: the packages a refusal lists."""
    more = f" and {len(packages) - 8} more" if len(packages) > 8 else ""
    return ", ".join(f"{p.name}=={p.version}" for p in packages[:8]) + more
