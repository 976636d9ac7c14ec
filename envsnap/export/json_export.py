"""``json``: the whole lock as JSON, for tools that do not read TOML. Same fields as the lockfile."""

from __future__ import annotations

import json

from .. import grammar, lockfile
from ..model import Snapshot
from .interface import Exporter


def render(snapshot: Snapshot) -> dict[str, bytes]:
    data = lockfile.sealed_document(snapshot)
    # The same JSON value; a bidi or line separator character of a free-text field (os_name, a CPU model) is
    # written as its \\uXXXX escape, so no editor or forge shows the file reordered or a string broken.
    text = grammar.escape_unshown(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
    return {"envsnap.lock.json": text.encode("utf-8")}


class JsonExporter(Exporter):
    name = "json"
    description = "the whole lock as JSON (same fields as the TOML lockfile)"
    filename = "envsnap.lock.json"
    signature = b'"content_digest": "sha256:'

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)


EXPORTER = JsonExporter()
