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


_METHODS = ("fullmatch", "match", "search", "finditer", "sub")


class LazyPattern:
    """``re.compile(pattern, flags)``, compiled when first used.

    The first use of any of its methods compiles the expression and binds the compiled pattern's own methods
    to the instance: every later call is a call of ``re.Pattern``'s method alone (a wrapper method and a property
    in between cost as much as the match itself when a lock's 90,000 values are each checked by one)."""

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
            for name in _METHODS:
                setattr(self, name, getattr(compiled, name))
        return compiled

    if TYPE_CHECKING:

        def fullmatch(self, string: str) -> re.Match[str] | None: ...

        def match(self, string: str, pos: int = 0) -> re.Match[str] | None: ...

        def search(self, string: str) -> re.Match[str] | None: ...

        def finditer(self, string: str) -> Iterator[re.Match[str]]: ...

        def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str: ...

    else:

        def __getattr__(self, name: str) -> object:
            # Only for what the instance does not have yet: a method before the first compile.
            if name in _METHODS:
                return getattr(self.compiled, name)
            raise AttributeError(name)
