"""Versioned data tables the rules read (JSON, shipped in the package). Each file carries ``data_version``
and ``source``; update the table, bump the version, and the rules follow without code changes."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any, cast

_HERE = os.path.dirname(__file__)


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed data file ``<name>.json``."""
    # Read by the loader that imported this package (from a folder or a zip alike), as ``pkgutil.get_data`` does:
    # ``importlib.resources`` was 1.2-1.6 ms of imports in every check for the four files here.
    loader = cast(Any, __spec__.loader)  # a file loader (SourceFileLoader, zipimporter): it has ``get_data``
    text = loader.get_data(os.path.join(_HERE, f"{name}.json")).decode("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
