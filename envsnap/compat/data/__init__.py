"""Versioned data tables the rules read (JSON, shipped in the package). Each file carries ``data_version``
and ``source``; update the table, bump the version, and the rules follow without code changes."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed data file ``<name>.json``."""
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
