"""The rebuilder family: one module per target beside this file (``venv.py``, ``docker.py``, ``conda.py``),
each exposing ``REBUILDER``, an object following the ``Rebuilder`` protocol.

A rebuild has two halves. ``plan(request)`` decides everything (what will be built, from what, pinned how)
without changing anything on disk; ``execute(plan)`` acts on exactly that plan. ``--dry-run`` prints the plan
and stops. The CLI runs the compatibility check (``_preflight``) before planning and hands its notes in
through the request, so every plan records whether the check passed or was overridden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..compat.target import TargetFacts
from ..errors import BadOptionError, RebuildError
from ..model import Snapshot
from ..progress import Progress

if TYPE_CHECKING:
    from ..compare.verify import VerifyReport

__all__ = [
    "BadOptionError", "Plan", "PlanItem", "Progress", "RebuildError", "RebuildRequest", "RebuildResult", "Rebuilder",
]




def _no_options() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class PlanItem:
    """One thing a rebuild installs, and how it is pinned."""

    layer: str  # python | conda | system | image | interpreter
    name: str
    version: str = ""
    origin: str = ""  # where it comes from: a bundle file, a URL, a channel, an image reference
    pin: str = ""  # how it is pinned: "sha256:<hex>", an image digest, an exact version
    note: str = ""  # e.g. "rebuilt from git+https://...@<commit>"


@dataclass(frozen=True)
class Plan:
    """Everything a rebuild will do, decided before anything is done. Printable, comparable, immutable."""

    target: str
    lock_path: str
    dest: str
    items: tuple[PlanItem, ...] = ()
    steps: tuple[str, ...] = ()  # the actions in order, in words
    notes: tuple[str, ...] = ()  # preflight verdict, --force overrides, fallbacks chosen
    offline: bool = False
    details: Mapping[str, str] = field(default_factory=_no_options)  # target-specific facts (tool, python)

    def describe(self) -> str:
        """The plan as text, as ``--dry-run`` prints it. Deterministic: the same plan gives the same text."""
        lines = [f"rebuild plan: {self.target} -> {self.dest}", f"  lock: {self.lock_path}"]
        for key, value in sorted(self.details.items()):
            if "\n" in value:  # a whole file (the docker target's Dockerfile): an indented block
                lines.append(f"  {key}:")
                lines.extend(f"    | {line}".rstrip() for line in value.splitlines())
            else:
                lines.append(f"  {key}: {value}")
        if self.offline:
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
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
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


@runtime_checkable
class Rebuilder(Protocol):
    """A rebuild target. ``name`` is the ``--target`` value."""

    name: str
    description: str
    # Where ``--dest`` builds when it is not given; one of its own per target, so that a venv, a conda prefix
    # and a docker build context made from one lock in one folder never land on each other.
    default_dest: str
    # What ``envsnap check --target NAME`` and the preflight need to know about the target (it brings its own
    # Python; it builds a container image).
    target_facts: TargetFacts

    def plan(self, request: RebuildRequest) -> Plan:
        """Decide everything; change nothing. Raise ``RebuildError`` when the lock cannot be rebuilt."""
        ...

    def execute(self, plan: Plan, request: RebuildRequest, progress: Progress | None = None) -> RebuildResult:
        """Carry out ``plan``. A failure raises ``RebuildError`` and leaves nothing half-built at the
        destination."""
        ...
