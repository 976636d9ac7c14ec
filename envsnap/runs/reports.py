"""What the hook of each Python process wrote at its exit (``_hook/sitecustomize.py``, docs/runrecord.md): read
once the command has ended, as untrusted files (the command could write into their folder).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .._frozen import frozen
from ..errors import EnvsnapError

MAX_HOOK_BYTES = 8 << 20


@frozen
class PythonReport:
    pid: int
    executable: str
    version: str
    prefix: str
    base_prefix: str
    modules: dict[str, str]
    maps: tuple[str, ...]
    hook_maps: tuple[str, ...] = ()  # what the hook itself mapped at exit, after ``maps`` was read (json's)


class HookError(EnvsnapError):
    pass


def read_hook_reports(folder: str | os.PathLike[str]) -> list[PythonReport]:
    """What the Python hook wrote (files of a shape other than expected are skipped: a program may have
    written into the folder, but it never decides anything beyond what the record lists)."""
    from pathlib import Path

    from .. import _readlimits

    out = []
    for path in sorted(Path(folder).glob("py-*.json")):
        try:
            data = _readlimits.read_json(path, error=HookError, limit=MAX_HOOK_BYTES)
        except HookError:
            continue
        if not isinstance(data, dict):
            continue
        modules = data.get("modules")
        maps = data.get("maps")
        strings = ("executable", "version", "prefix", "base_prefix")
        if (
            not isinstance(modules, dict)
            or not isinstance(maps, list)
            or not isinstance(data.get("pid"), int)
            or not all(isinstance(data.get(k), str) for k in strings)
        ):
            continue
        out.append(
            PythonReport(
                pid=data["pid"],
                executable=data["executable"],
                version=data["version"],
                prefix=data["prefix"],
                base_prefix=data["base_prefix"],
                modules={str(k): v for k, v in modules.items() if isinstance(v, str)},
                maps=tuple(m for m in maps if isinstance(m, str)),
                hook_maps=tuple(m for m in data.get("hook_maps") or () if isinstance(m, str)),
            )
        )
    return out


def top_level_modules(names: Iterable[str]) -> list[str]:
    return sorted({n.split(".", 1)[0] for n in names if n and not n.startswith("_")})


def loaded_objects(sampled: Iterable[str], reports: Iterable[PythonReport]) -> set[str]:
    """The files the command's processes mapped: those sampled and those each Python process reported, but not
    what only a hook mapped at its exit (its ``json``), which a sample taken then may have seen."""
    reports = list(reports)
    program = {m for r in reports for m in r.maps}
    hooks = {m for r in reports for m in r.hook_maps} - program
    return (set(sampled) - hooks) | program
