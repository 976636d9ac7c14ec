"""One report convention for every comparison envsnap makes: ``check`` (a host against a lock), ``verify``
(an environment against a lock) and ``diff`` (two locks).

Every entry of a report has a ``level`` on one scale, ``Severity``; a report's ``worst()`` level decides its
exit code the same way for every command (docs/cli.md: a FAILURE is 3, WARNINGs with ``--strict`` 1); and
``to_dict`` is the one JSON form every ``--json`` prints. Each command keeps the words it has always printed
and written in its JSON, a format users parse: ``check`` says ok/warn/fail, ``verify`` info/warning/mismatch
(``CHECK_WORDS``, ``VERIFY_WORDS``); ``diff``'s changes are drifts (WARNING) or, for what one lock does not
record, INFO, ordered within by their weight.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any


class Severity(enum.IntEnum):
    """How much one entry of a report matters, least first."""

    OK = 0  # checked, and as the lock needs
    INFO = 1  # a difference that changes nothing the lock promises (kernel, CPU model, an unknown)
    WARNING = 2  # a difference that may matter: a drift, a patch release, a system library
    FAILURE = 3  # the lock's promise is broken: the host cannot run it, the environment is another one


CHECK_WORDS: Mapping[Severity, str] = {Severity.OK: "ok", Severity.WARNING: "warn", Severity.FAILURE: "fail"}
VERIFY_WORDS: Mapping[Severity, str] = {
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.FAILURE: "mismatch",
}
_LEVELS: Mapping[str, Severity] = {
    **{word: level for level, word in CHECK_WORDS.items()},
    **{word: level for level, word in VERIFY_WORDS.items()},
}


def severity_of(word: str) -> Severity:
    """The level of a word of either vocabulary (``"warn"`` and ``"warning"`` are both WARNING)."""
    try:
        return _LEVELS[word]
    except KeyError:
        raise ValueError(f"not a severity: {word!r} (one of {', '.join(_LEVELS)})") from None


class Entry:
    """One entry of a report (a check's finding, a verify difference, a diff change): a frozen dataclass
    with its level on the shared scale."""

    @property
    def level(self) -> Severity:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_dict(self)
        return out


class Report:
    """A frozen dataclass of entries. ``to_dict`` is its JSON: every field, and what ``json_extra`` adds
    (derived values such as ``identical`` or ``counts``)."""

    def entries(self) -> Sequence[Entry]:
        raise NotImplementedError

    def worst(self) -> Severity:
        return max((e.level for e in self.entries()), default=Severity.OK)

    def json_extra(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_dict(self)
        return out


def to_dict(obj: Any) -> Any:
    """The one plain-data (JSON) form of a report and everything in it: a dataclass's fields in order (a
    ``Report`` adds its ``json_extra``), an enum's value, tuples as lists, mappings with sorted keys."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, Report):
            out.update(to_dict(obj.json_extra()))
        return out
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (tuple, list)):
        return [to_dict(v) for v in obj]
    return obj


def counted(count: int, noun: str, plural: str = "") -> str:
    """A count with its noun in the number it takes, as a summary line writes it: ``1 warning``, ``2 warnings``;
    ``plural`` where it is not the noun and an ``s`` (``process``, ``processes``)."""
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def first_few(items: Sequence[str], limit: int) -> str:
    """At most ``limit`` of ``items``, comma-separated, and how many more: ``a, b, c and 4 more``."""
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more} more" if more > 0 else "")


def gpu_name(gpu: Any) -> str:
    """A GPU's name as every report and document shows it: ``unknown GPU`` where NVML gave none (a GPU that did
    not answer). ``gpu`` is a ``model.Gpu`` or a cached view's record of one (diff), which has its fields."""
    return str(gpu.name) or "unknown GPU"


def gpu_name_error(nvidia: Any, gpu: Any) -> str:
    """Why NVML gave no name for ``gpu``, in the words every document says it in (``NVML: GPU is lost``), where
    ``nvidia.error`` records it (``GPU 0: nvmlDeviceGetName: GPU is lost``, as the capture writes it), else "".
    ``nvidia`` is the lock's ``model.Nvidia`` or None. One rule for the appendix and ``show``: ``show`` printed
    the GPU's row with no reason while the appendix gave it."""
    if gpu.name or nvidia is None:
        return ""
    prefix = f"GPU {gpu.index}: nvmlDeviceGetName: "
    error = next((e[len(prefix) :] for e in str(nvidia.error).split("; ") if e.startswith(prefix)), "")
    return f"NVML: {error}" if error else ""
