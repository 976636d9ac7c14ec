"""``json``: the whole lock as JSON, for tools that do not read TOML. Same fields as the lockfile."""

from __future__ import annotations

import json

from .. import lockfile
from ..model import Snapshot
from .interface import Exporter


def render(snapshot: Snapshot) -> dict[str, bytes]:
    data = lockfile.to_dict(lockfile.seal(snapshot))
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return {"envsnap.lock.json": text.encode("utf-8")}


EXPORTER = Exporter(
    name="json",
    description="the whole lock as JSON (same fields as the TOML lockfile)",
    filename="envsnap.lock.json",
    render=render,
)
