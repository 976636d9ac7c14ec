"""Importers: make an envsnap lock from files people already have (pylock.toml, requirements.txt with
hashes, conda explicit files, conda-lock.yml, envsnap's own JSON). See ``interface.py``."""

from __future__ import annotations

import os
import pkgutil
from importlib import import_module
from pathlib import Path

from ..errors import LockImportError
from ..model import Snapshot
from .interface import Importer, ImportOptions


def importers() -> dict[str, Importer]:
    """Every available importer by format name (modules here that define ``IMPORTER``)."""
    found: dict[str, Importer] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "interface":
            continue
        importer = getattr(import_module(f"{__name__}.{info.name}"), "IMPORTER", None)
        if isinstance(importer, Importer):
            found[importer.name] = importer
    return dict(sorted(found.items()))


def read_file(path: str | os.PathLike[str], fmt: str = "auto",
              options: ImportOptions | None = None) -> Snapshot:
    """Read one file into a snapshot; ``fmt="auto"`` picks the format from the name and the content."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise LockImportError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise LockImportError(f"{p}: is a directory") from None
    except UnicodeDecodeError:
        raise LockImportError(f"{p}: not a UTF-8 text file") from None
    except OSError as exc:
        raise LockImportError(f"{p}: cannot read: {exc.strerror or exc}") from None
    table = importers()
    if fmt == "auto":
        matches = [imp for imp in table.values() if imp.sniff(p.name, text)]
        if not matches:
            raise LockImportError(
                f"{p}: not a format envsnap can import ({', '.join(table)}); name one with --from"
            )
        importer = matches[0]
    elif fmt in table:
        importer = table[fmt]
    else:
        raise LockImportError(f"unknown import format {fmt!r} (known: {', '.join(table)})")
    return importer.read(text, str(p), options or ImportOptions())
