"""TOML reading: always ``tomli`` (a required dependency, 2.4 or later), never the standard library's ``tomllib``.

One reader, so a lock loads or fails alike on every install: ``tomli`` 2.4 and later read TOML 1.1 (newlines and
a trailing comma in inline tables, ``\\e`` and ``\\xHH`` escapes, times without seconds), which ``tomllib``
refuses before Python 3.15; with a ``tomllib`` fallback the same lock loaded or failed by which reader was
installed (docs/design.md, "Dependencies and why"; docs/security.md). envsnap writes TOML 1.0, a subset of what
it reads; the structure checks of ``_readlimits`` come first, and every field is then checked against its
grammar, so what TOML 1.1 adds cannot carry more than TOML 1.0 could (an ``\\e`` reaches a field's control
character rule like a ``\\u001b``).

tomli's wheels are also compiled with mypyc: they parse a lock 3-4x faster than ``tomllib`` (the same parser,
interpreted): on a 5,000-distribution lock 0.22 s against 0.82 s (docs/design.md, "Diff and verify speed"). An
install without tomli (``pip --no-deps``) gets the command line's one-line "tomli ... is not installed".
"""

from __future__ import annotations

import tomli as tomllib

__all__ = ["tomllib"]
