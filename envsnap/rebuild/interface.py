"""The rebuilder family: one module per target beside this file (``venv.py``, ``docker.py``, ``conda.py``),
each exposing a ``Rebuilder`` (``REBUILDER``) that ``rebuild/__init__.py`` lists in its ``REGISTRY``.

A rebuilder declares everything its callers use: its ``name`` (the ``--target`` value), its ``Options`` (a frozen
dataclass whose ``from_args``/``from_mapping`` refuse an option it does not take, exit code 2), the
``target_facts`` the compatibility check needs, the bundle folders it installs from (``bundle_folders``), the
interpreter the check should judge (``preflight_python``), ``plan()`` and ``execute()``.

A rebuild has two halves. ``plan(request)`` decides everything (what will be built, from what, pinned how)
without changing anything on disk; ``execute(plan)`` acts on exactly that plan. ``--dry-run`` prints the plan
and stops. The CLI runs the compatibility check (``_preflight``) before planning and hands its notes in
through the request, so every plan records whether the check passed or was overridden.
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from .._frozen import frozen
from .._plugins import Options
from ..compat.report import Finding
from ..compat.target import Target, TargetFacts
from ..errors import BadOptionError, RebuildError
from ..model import Snapshot
from ..progress import Progress

if TYPE_CHECKING:
    from .._venvahead import VenvAhead
    from ..compare.verify import VerifyReport
    from ..probes.capture import Captured

__all__ = [
    "BadOptionError",
    "NoOptions",
    "Options",
    "Plan",
    "PlanCheck",
    "PlanData",
    "PlanItem",
    "Progress",
    "RebuildError",
    "RebuildRequest",
    "RebuildResult",
    "Rebuilder",
]


def _no_options() -> Mapping[str, str]:
    return MappingProxyType({})


def check_command(lock_path: str | os.PathLike[str] | None, target: str, python: str | None = None) -> str:
    """The ``envsnap check`` that shows a rebuild's compatibility check in full, as it runs pasted: the lock, the
    target whose facts the rebuild judged (a plain ``envsnap check`` judges the host, which a lock the target
    refuses, such as a conda one for the venv target, passes), and the interpreter it judged. The paths are the
    user's, quoted by ``shell_shown``: a folder whose name holds a newline is bash's ``$'...'`` word (``shell_word``
    refuses it, and the rebuild ended in a traceback)."""
    from ..sinks import shell_shown

    words = ["envsnap", "check", os.fspath(lock_path) if lock_path is not None else "LOCK", "--target", target]
    return shell_shown([*words, *(["--python", python] if python else [])])


@frozen
class RebuildRequest:
    """What the user asked for, after the lock was loaded and the preflight ran."""

    lock: Snapshot
    lock_path: Path
    dest: Path  # a venv / conda prefix directory, or a build context for docker
    target: str
    bundle_dir: Path | None = None  # an unpacked bundle (see ``envsnap.artifacts.bundle``)
    python: str | None = None  # an interpreter the user named with --python
    offline: bool = False  # never touch the network: everything must come from the bundle
    preflight_notes: tuple[str, ...] = ()  # what the compatibility check said (or that it was overridden)
    options: Mapping[str, str] = field(default_factory=_no_options)  # target-specific (e.g. image tag)
    project_dir: Path | None = None  # what "{project}" means in a local project's recorded URL (--project)
    allow_urls: tuple[str, ...] = ()  # --allow-url: lock URLs the fetch policy lets through beyond its default
    # The host as the compatibility check captured it: a target built on this host verifies with its host facts.
    host: Captured | None = None
    # What the target began while the check ran (``Rebuilder.start_early``); ``execute`` may take it up.
    early: EarlyWork | None = None
    use_cache: bool = True  # False (``rebuild --no-cache``): the verify reads every file (no capture cache)
    gpu_timeout: float | None = None  # ``rebuild --gpu-timeout``: the verify's wait for the NVIDIA driver
    # A venv the CLI began making before the lock was read (``_venvahead``): the venv target takes it when its
    # plan chose the same interpreter and destination.
    venv_ahead: VenvAhead | None = None
    # The option the user named the destination with (``--dest`` or ``--prefix``, aliases), for the messages that
    # name it; "" when neither was typed (the target's ``dest_flag``).
    dest_option: str = ""

    def lock_shown(self) -> str:
        """The lock as the user gave it, one shell word, for a command a message names (``envsnap bundle LOCK -o
        DIR`` read its placeholder where the path was known)."""
        from ..sinks import path_shown

        return path_shown(os.fspath(self.lock_path))

    def project_named(self) -> str | None:
        """The folder ``{project}`` names for the verify after the rebuild (``verify(project=...)``): the one the
        rebuild read it as (``--project``, else the work tree around the lock's folder), so that verify's warning of
        an editable project names the folder the plan named; None where the rebuild knows none. Every target that
        verifies a Python layer gives it (venv, conda)."""
        return str(self.project_dir) if self.project_dir is not None else None

    def bundle_shown(self) -> str:
        """The bundle as a plan or a message names it ("" for none): the archive it was unpacked from, never the
        temporary folder ``bundle_dir``, which is gone when the reader sees it (``Bundle.shown``)."""
        if self.bundle_dir is None:
            return ""
        from ..artifacts.bundle import Bundle
        from ..errors import BundleError

        try:
            return Bundle(self.bundle_dir).shown()
        except BundleError:  # no lock in it: a folder, named as it is
            return str(self.bundle_dir)

    def fetch_wheels(self, folder: Path, say: Callable[[str], None]) -> Path:
        """Pin and download the lock's Python packages into a bundle at ``folder`` (a rebuild without ``--bundle``):
        the wheels only, a conda package's archive being no target's to fetch this way (the venv installs none, the
        conda target fetched and checked its own). ``folder``."""
        from ..artifacts.bundle import FETCHED_FOR_REBUILD, BundleOptions, make_bundle

        say("pinning and downloading the locked wheels")
        make_bundle(
            dataclasses.replace(self.lock, conda=None),
            folder,
            BundleOptions(
                project_dir=self.project_dir,
                allow_urls=self.allow_urls,
                lock_path=self.lock_path,
                purpose=FETCHED_FOR_REBUILD,
            ),
            progress=say,
        )
        return folder


@frozen
class PlanItem:
    """One thing a rebuild installs, and how it is pinned."""

    layer: str  # python | conda | system | image | interpreter
    name: str
    version: str = ""
    origin: str = ""  # where it comes from: a bundle file, a URL, a channel, an image reference
    pin: str = ""  # how it is pinned: "sha256:<hex>", an image digest, an exact version
    note: str = ""  # e.g. "rebuilt from git+https://...@<commit>"


@frozen
class PlanCheck:
    """The compatibility check's verdict as the plan records it (``--json``'s ``check``): what a CI step reads
    rather than parsing the notes. ``status``: ``passed`` (no failure; warnings may remain), ``failed`` (a dry run
    without ``--force``: exit 3) or ``overridden`` (``--force``)."""

    status: str
    verdict: str  # the check's own: compatible, warnings, incompatible
    summary: str = ""  # the check's last line: "incompatible: 1 failed, 0 warnings, 5 ok (target: host)"
    reason: str = ""  # the failures on one line, as the error of a refused rebuild says them ("" when none)
    failed_rules: tuple[str, ...] = ()  # the rules that failed, in the check's order, each once
    failures: tuple[Finding, ...] = ()  # the failing findings, as ``envsnap check --json`` writes them
    cpu_only: bool = False

    @property
    def failed(self) -> bool:
        """The check failed and nothing overrode it (a dry run without ``--force``)."""
        return self.status == "failed"

    def describe(self) -> str:
        """The plan's ``check:`` line: ``failed (platform)``, ``overridden with --force (platform)``,
        ``passed (compatible)``."""
        rules = ", ".join(self.failed_rules)
        if self.status == "overridden":
            return f"overridden with --force ({rules})"
        return f"{self.status} ({rules or self.verdict})"

    def to_dict(self) -> dict[str, Any]:
        from ..report import to_dict

        out: dict[str, Any] = to_dict(self)
        return out


class PlanData(ABC):
    """What a target decided in its plan and acts on in ``execute`` (an interpreter's path, a Dockerfile's hash),
    as typed fields; ``display`` shows them. Code reads the fields, never the display. ``blocks``: the labels whose
    text is a whole file (the docker target's Dockerfile), shown as an indented block; any other is one line."""

    blocks: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def display(self) -> dict[str, str]:
        """The facts as ``--dry-run`` and ``--json`` show them (``details``): label -> text."""


@frozen
class Plan:
    """Everything a rebuild will do, decided before anything is done. Printable, comparable, immutable."""

    target: str
    lock_path: str
    dest: str
    items: tuple[PlanItem, ...] = ()
    steps: tuple[str, ...] = ()  # the actions in order, in words
    notes: tuple[str, ...] = ()  # preflight verdict, --force overrides, fallbacks chosen
    offline: bool = False
    # What an offline rebuild still reaches over the network ("" for nothing): the docker target's apt packages
    # when the bundle holds no .deb files for them.
    network: str = ""
    data: PlanData | None = None  # the target's own decisions, typed
    # The compatibility check's verdict (``rebuild`` sets it after the check; a plan made without one has none).
    check: PlanCheck | None = None

    @property
    def details(self) -> Mapping[str, str]:
        """The target's facts for display (tool, python)."""
        return MappingProxyType(self.data.display() if self.data is not None else {})

    def to_dict(self) -> dict[str, Any]:
        """The plan as ``--dry-run --json`` prints it: the fields, with ``details`` for ``data``."""
        from ..lockfile import to_dict

        out: dict[str, Any] = to_dict(dataclasses.replace(self, data=None, check=None))
        check = {} if self.check is None else {"check": self.check.to_dict()}
        return out | {"details": dict(sorted(self.details.items()))} | check

    def describe(self) -> str:
        """The plan as text, as ``--dry-run`` prints it. Deterministic: the same plan gives the same text. Each line
        is one line: a path of the user's (a folder named ``review\\ndir``) has its newline made visible, or it
        broke the line in two (and a detail holding one was shown as a block, like the Dockerfile)."""
        from ..sinks import one_line

        blocks = self.data.blocks if self.data is not None else frozenset()
        lines = [f"rebuild plan: {self.target} -> {self.dest}", f"  lock: {self.lock_path}"]
        for key, value in sorted(self.details.items()):
            if key in blocks:  # a whole file (the docker target's Dockerfile): an indented block
                lines.append(f"  {key}:")
                lines.extend(f"    | {line}".rstrip() for line in value.splitlines())
            else:
                lines.append(f"  {key}: {value}")
        if self.check is not None:
            lines.append(f"  check: {self.check.describe()}")
        if self.offline and self.network:
            lines.append(f"  offline: yes, but for {self.network}")
        elif self.offline:
            lines.append("  offline: yes (no network; everything from the bundle)")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.steps:
            lines.append("  steps:")
            lines.extend(f"    {i}. {step}" for i, step in enumerate(self.steps, 1))
        if self.items:
            lines.append(f"  items ({len(self.items)}):")
            for item in self.items:
                pin = f" [{item.pin}]" if item.pin else ""
                note = f" ({item.note})" if item.note else ""
                origin = f" <- {item.origin}" if item.origin else ""
                lines.append(f"    {item.layer}: {item.name} {item.version}{origin}{pin}{note}".rstrip())
        return "\n".join(map(one_line, lines)) + "\n"


@frozen
class RebuildResult:
    plan: Plan
    dest: str
    verify: VerifyReport | None = None  # the rebuilt environment compared with the lock, when it can be
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    details: Mapping[str, str] = field(default_factory=_no_options)  # what a target made (docker: image_id, tag)

    @property
    def ok(self) -> bool:
        return self.verify is None or not self.verify.python_mismatch


@frozen
class EarlyWork(ABC):
    """What a target began while the compatibility check ran (``Rebuilder.start_early``), in a hidden place of
    its own: ``execute`` takes it up once the check has passed, and ``cancel`` ends it and removes whatever it
    made. The rebuild calls ``cancel`` whatever happens (after a failed check, a refused plan, an interrupt, or
    once ``execute`` is done: then it has nothing left to do)."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the work (a running installer is killed), wait for it and remove what it made."""

    def settle(self, timeout: float) -> None:  # noqa: B027 - a target without a long step has nothing to wait for
        """Wait, at most ``timeout`` seconds, until the work has begun its long step (an installer) or ended."""


class NoOptions(Options):
    """The options of a target that takes none: any option given is refused."""


class Rebuilder(ABC):
    """A rebuild target."""

    name: ClassVar[str]  # the ``--target`` value
    description: ClassVar[str]
    # Where ``--dest`` builds when it is not given; one of its own per target, so that a venv, a conda prefix
    # and a docker build context made from one lock in one folder never land on each other.
    default_dest: ClassVar[str]
    # What ``envsnap check --target NAME`` and the preflight need to know about the target (it brings its own
    # Python; it builds a container image).
    target_facts: ClassVar[TargetFacts]
    # Its options (``RebuildRequest.options`` read with ``options.from_mapping``); each flag field is a
    # ``rebuild`` flag in the target's own help group.
    options: ClassVar[type[Options]] = NoOptions
    # The bundle folders it installs from (``envsnap bundle`` fills them; the preflight measures their wheels).
    bundle_folders: ClassVar[tuple[str, ...]] = ()
    # Where it builds from a bundle only: what to say when none is given (bad input, before the check), its
    # ``{lock}`` the lock as given (``bundle_needed``); "": none needed.
    needs_bundle: ClassVar[str] = ""

    def bundle_needed(self, lock_path: str | os.PathLike[str] | None) -> str:
        """``needs_bundle`` naming the lock the user gave (one shell word), ``LOCK`` where none is known: the command
        it names read `envsnap bundle LOCK -o DIR`, a placeholder where the path is known."""
        from ..sinks import path_shown

        return self.needs_bundle.format(lock=path_shown(os.fspath(lock_path)) if lock_path is not None else "LOCK")

    # How its messages name the destination when the user typed neither ``--dest`` nor ``--prefix`` (the two are
    # one option): a conda prefix is ``--prefix``, as conda's own option.
    dest_flag: ClassVar[str] = "--dest"

    def dest_named(self, request: RebuildRequest) -> str:
        """The option a message names the destination by: the one the user typed, else the target's own."""
        return request.dest_option or self.dest_flag

    def parse_options(self, options: Mapping[str, str]) -> Options:
        """``options`` checked against the target's own (``UsageError``, exit code 2, for one it does not take)."""
        return self.options.from_mapping(options, owner=f"the {self.name} target")

    def refuse_lock(self, lock: Snapshot, lock_path: Path) -> None:  # noqa: B027 - by default, nothing to refuse
        """Refuse a lock this target cannot rebuild whatever the host (``BadOptionError``, exit code 2: the
        target is the wrong one for it), or on this host by what is known without probing it
        (``IncompatibleLockError``, exit code 3, which ``--force`` does not override). ``rebuild`` asks as soon as
        the lock is read, before the check or any work; by default every lock is taken."""

    def preflight_python(self, lock: Snapshot, python: str | None, *, offline: bool, dry_run: bool) -> str | None:
        """The interpreter the compatibility check should judge: by default the one named with ``--python``
        (the venv target finds one of the locked version when none is named)."""
        return python

    def start_early(
        self, request: RebuildRequest, hashed: Callable[[], None], target: Callable[[], Target]
    ) -> EarlyWork | None:
        """Begin, while the compatibility check runs, work that the rebuild would do after it, where nothing
        is seen until ``execute`` takes it up (``request`` has no preflight notes and no host yet). ``hashed``
        waits until the bundle's files are hashed; ``target`` gives the target as the check judges it. By
        default nothing is begun."""
        return None

    @abstractmethod
    def plan(self, request: RebuildRequest) -> Plan:
        """Decide everything; change nothing. Raise ``RebuildError`` when the lock cannot be rebuilt."""

    @abstractmethod
    def execute(self, plan: Plan, request: RebuildRequest, progress: Progress | None = None) -> RebuildResult:
        """Carry out ``plan``. A failure raises ``RebuildError`` and leaves nothing half-built at the
        destination."""
