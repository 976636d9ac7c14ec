"""Regular expressions compiled on first use instead of at import (issue 18).

A module-level ``re.compile`` runs at every import of its module, whatever the command does with it: a capture
used 10 of the 64 expressions that envsnap's modules compiled while it imported them. ``LazyPattern`` has the
methods of ``re.Pattern`` that envsnap calls and compiles its expression the first time one is called; the
one way to write such a constant (tests/test_startup.py counts what importing the grammar compiles). ``re``
itself is imported at the first compile: a capture answered from its memo (``probes/memo.py``) imports modules
that hold patterns and uses none of them, and ``re`` with ``enum`` and ``functools`` was a tenth of its time."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the command line's start-up stays without it (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterator


class LazyPattern:
    """``re.compile(pattern, flags)``, compiled when first used."""

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            import re

            compiled = self._compiled = re.compile(self._pattern, self._flags)
        return compiled

    def fullmatch(self, string: str) -> re.Match[str] | None:
        return self.compiled.fullmatch(string)

    def match(self, string: str) -> re.Match[str] | None:
        return self.compiled.match(string)

    def search(self, string: str) -> re.Match[str] | None:
        return self.compiled.search(string)

    def finditer(self, string: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count)
