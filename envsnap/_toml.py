"""TOML reading: ``tomli`` where it is installed (a dependency), else the standard library's ``tomllib``.

tomli 2.1 and later ship wheels compiled with mypyc that parse a lock 3-4x faster than ``tomllib`` (the same
parser, interpreted): on a 5,000-distribution lock 0.22 s against 0.82 s (docs/design.md, "Diff and verify
speed"). Both raise ``TOMLDecodeError`` and return the same data; tomli 2.4 and later also read TOML 1.1 (a
superset, which ``tomllib`` reads from Python 3.15), and the structure checks of ``_readlimits`` come first
either way.
"""

from __future__ import annotations

try:
    import tomli as tomllib
except ImportError:  # pragma: no cover - an install without its dependencies
    import tomllib  # type: ignore[no-redef, import-not-found, unused-ignore]

__all__ = ["tomllib"]
