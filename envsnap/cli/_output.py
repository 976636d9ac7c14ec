"""Shared output helpers for commands: JSON to stdout, rich consoles to stdout/stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console


def stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
