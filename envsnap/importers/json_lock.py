"""Read envsnap's own JSON export (``envsnap export --format json``) back into a lock, digest checked."""

from __future__ import annotations

from .. import _readlimits, lockfile
from ..errors import LockfileError
from ..model import Snapshot
from .interface import Importer, ImportOptions, LockImportError


def sniff(name: str, text: str) -> bool:
    named = name.endswith(".json") or (not name and text.lstrip().startswith("{"))
    return named and '"envsnap"' in text and '"schema_version"' in text


def read(text: str, origin: str, options: ImportOptions) -> Snapshot:
    data = _readlimits.load_json(text, origin=origin, error=LockImportError)
    if not isinstance(data, dict):
        raise LockImportError(f"{origin}: not an envsnap JSON lock")
    try:
        return lockfile.from_document(data, origin=origin)
    except LockfileError as exc:
        raise LockImportError(str(exc)) from None


class JsonLockImporter(Importer):
    name = "json"
    description = "envsnap's JSON export of a lock"
    examples = ("envsnap.lock.json",)

    def sniff(self, name: str, text: str) -> bool:
        return sniff(name, text)

    def read(self, text: str, origin: str, options: ImportOptions) -> Snapshot:
        return read(text, origin, options)


IMPORTER = JsonLockImporter()
