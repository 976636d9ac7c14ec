"""Control characters, the first rule of every value envsnap records or shows (``grammar`` gives it with the
others). Apart from ``grammar`` so that a line shown before anything is validated (the environment a capture
answered from its memo names) does not load the whole grammar, its version parser and its URL splitter."""

from __future__ import annotations

from ._lazyre import LazyPattern

# C0 controls, DEL and C1 controls: never allowed in a recorded value (they reach terminals and files).
_CONTROL = LazyPattern(r"[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """True when ``text`` holds a control character (newline, ESC, NUL, DEL, C1)."""
    return _CONTROL.search(text) is not None


def strip_control(text: str) -> str:
    """``text`` with every control character replaced by U+FFFD: safe to show on a terminal."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)
