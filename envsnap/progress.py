"""The one callback type for long steps: called with one human line per step ("installing 12 wheels with uv").

The CLI shows each line, tests collect them. Bundling, fetching and every rebuild target take the same type.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]

__all__ = ["Progress"]
