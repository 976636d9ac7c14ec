"""The rebuild targets' registry, and the targets ``envsnap check`` takes from it (apart from ``__init__`` so that
the preflight, which ``rebuild()`` runs, can use it without an import cycle)."""

from __future__ import annotations

from .._plugins import Registry
from ..compat.target import HOST, Target, TargetFacts, probe_target
from ..errors import RebuildError, UsageError
from .interface import Rebuilder

__all__ = ["REGISTRY", "UnknownTargetError", "check_target", "check_targets", "get", "rebuilders"]


class UnknownTargetError(RebuildError, UsageError):
    """``--target`` names no rebuilder (bad input, not a failed rebuild)."""

    exit_code = 2


# Every target, by its --target name (a module here and one line in this list; see ``_plugins``): in this
# order ``check --target`` offers them after "host".
REGISTRY: Registry[Rebuilder] = Registry(
    Rebuilder,
    "envsnap.rebuild",
    ("docker:REBUILDER", "conda:REBUILDER", "venv:REBUILDER"),
    what="rebuild target",
    unknown=UnknownTargetError,
)


def rebuilders() -> dict[str, Rebuilder]:
    """Every available rebuild target by name."""
    return dict(REGISTRY)


def get(name: str) -> Rebuilder:
    return REGISTRY.find(name)


def check_targets() -> tuple[str, ...]:
    """What ``envsnap check --target`` takes: the host as it is, or a rebuild target."""
    return (HOST, *rebuilders())


def check_target(kind: str, *, cpu_only: bool = False, disk_path: str | None = None) -> Target:
    """The target ``kind`` with the facts its rebuilder declares, probed here; an unknown kind is bad input
    (exit code 2), never checked as the host."""
    facts = TargetFacts() if kind == HOST else get(kind).target_facts
    return probe_target(kind, facts, cpu_only=cpu_only, disk_path=disk_path)
