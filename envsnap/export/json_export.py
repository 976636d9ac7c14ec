"""``json``: the whole lock as JSON, for tools that do not read TOML. Same fields as the lockfile."""

from __future__ import annotations

import json

from .. import _readlimits, grammar, lockfile
from ..model import Snapshot
from .interface import Exporter, ExportError

_FILENAME = "envsnap.lock.json"


def render(snapshot: Snapshot) -> dict[str, bytes]:
    """The file; ``ExportError`` where it is over the size limit ``import --from json`` reads it under
    (``ENVSNAP_MAX_LOCK_BYTES``), as for a lock envsnap writes: the JSON, indented, is larger than the lock's TOML, and
    a lock near the limit made a file its own import refused."""
    data = lockfile.sealed_document(snapshot)
    # The same JSON value; a bidi or line separator character of a free-text field (os_name, a CPU model) is
    # written as its \\uXXXX escape, so no editor or forge shows the file reordered or a string broken.
    text = grammar.escape_unshown(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
    text = _readlimits.readable(text, "json: the export", error=ExportError, read_as="a file to import")
    return {_FILENAME: text.encode("utf-8")}


class JsonExporter(Exporter):
    name = "json"
    description = "the whole lock as JSON (same fields as the TOML lockfile)"
    filename = _FILENAME
    signature = b'"content_digest": "sha256:'

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)


EXPORTER = JsonExporter()
