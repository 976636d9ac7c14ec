"""The rule family: one module per rule beside this file, each exposing a ``Rule`` (``RULE``; the docker module
two) that ``rules/__init__.py`` lists in its ``REGISTRY``, in the order their findings are reported.

A rule is pure: ``evaluate(lock, host, target)`` compares the lock with a description of the host (a Snapshot)
and of the target, and returns findings; it probes nothing. It carries its own metadata: ``gpu`` (a GPU rule:
``--cpu-only`` accepts its failures as warnings) and ``areas`` (the lock areas its "ok" rests on: when an imported
lock does not record one of them, its "ok" becomes a warning that says so). ``reads_gpus(lock)`` says whether its
findings for a lock read what NVML answers of the host: where no rule's do, the check does not ask NVML.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ...model import Snapshot
from ..report import Finding
from ..target import Target

__all__ = ["Rule"]


class Rule(ABC):
    """One compatibility rule."""

    name: ClassVar[str]  # the ``rule`` of its findings (``--json``)
    gpu: ClassVar[bool] = False
    areas: ClassVar[tuple[str, ...]] = ()  # e.g. "cuda", "hardware": names in a lock's ``envsnap.unknown``
    # The rule that fails a lock the target refuses, in the rebuild's words (platform): where the target makes no
    # environment of the lock (``_facts.not_made``), it alone is judged; every other rule would judge an
    # environment that is not made (its CPU flags, CUDA, disk: "about 0 MiB").
    refusal: ClassVar[bool] = False

    @abstractmethod
    def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
        """The findings of this rule for ``lock`` on ``host`` and ``target``."""

    def reads_gpus(self, lock: Snapshot) -> bool:
        """Whether ``evaluate`` for ``lock`` reads the host's NVIDIA facts (``host.nvidia``, ``host.hardware.gpus``:
        what NVML answers); its findings must be the same on any host where it says not. Where no rule reads
        them, the check does not ask NVML, which a hung driver holds for the whole ``--gpu-timeout``. By default
        a GPU rule reads them for every lock and any other rule never."""
        return self.gpu
