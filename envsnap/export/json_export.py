"""``json``: the whole lock as JSON, for tools that do not read TOML. Same fields as the lockfile."""

from __future__ import annotations

import json

from .. import lockfile
from ..model import Snapshot
from .interface import Exporter


def render(snapshot: Snapshot) -> dict[str, bytes]:
    data = lockfile.sealed_document(snapshot)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return {"envsnap.lock.json": text.encode("utf-8")}


class JsonExporter(Exporter):
    name = "json"
    description = "the whole lock as JSON (same fields as the TOML lockfile)"
    filename = "envsnap.lock.json"

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)


EXPORTER = JsonExporter()
