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
    if text.isprintable():  # control characters are not printable: nothing to replace, no expression compiled
        return text
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


# Bidirectional formatting characters (Unicode category Cf): not control characters, but a terminal or an
# editor that honours them shows text reordered ("Trojan Source", CVE-2021-42574): lock text printed must not
# carry them raw.
_BIDI_SET = frozenset("\u061c\u200e\u200f" + "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])))
_BIDI_CHARS = "".join(sorted(_BIDI_SET))  # for a character class
_BIDI = LazyPattern(f"[{_BIDI_CHARS}]")


def has_bidi(text: str) -> bool:
    """True when ``text`` holds a bidirectional formatting character (it would show reordered)."""
    return _BIDI.search(text) is not None


# What a terminal shows as something else than the character: the bidi characters, and Unicode's own line and
# paragraph separators, which terminals and pagers draw as a line break inside one value (a run record's
# command word, a cell of show's table).
_UNSHOWN = LazyPattern(f"[{_BIDI_CHARS}\u2028\u2029]")


def has_unshown(text: str) -> bool:
    """True when ``text`` holds a bidirectional formatting character or U+2028/U+2029 (``strip_terminal``'s rule)."""
    return _UNSHOWN.search(text) is not None


# What a text file (JSON, the lock's TOML) leaves raw that an editor or a forge shows as something else: DEL and the
# C1 controls, the bidi characters (they reorder the line) and U+2028/U+2029 (a line break inside one string). The
# JSON output and the lock's TOML writer escape each as ``\\uXXXX``; a frozenset tests a string at C speed.
UNSHOWN_IN_FILES = _BIDI_SET | frozenset("\u2028\u2029") | frozenset(map(chr, range(0x7F, 0xA0)))
_UNSHOWN_ESCAPES = {ord(c): f"\\u{ord(c):04x}" for c in UNSHOWN_IN_FILES}


def escape_unshown(text: str) -> str:
    """JSON or TOML ``text`` with each ``UNSHOWN_IN_FILES`` character (which both formats leave raw inside a
    string) written as its ``\\uXXXX`` escape: the same value, shown as it is."""
    return text if UNSHOWN_IN_FILES.isdisjoint(text) else text.translate(_UNSHOWN_ESCAPES)


def strip_terminal(text: str) -> str:
    """``text`` for a terminal: control characters, bidirectional formatting characters and the line and
    paragraph separators (U+2028, U+2029) replaced by U+FFFD (``strip_control`` plus the bidi rule)."""
    if text.isprintable():  # neither control, bidi (category Cf) nor separator (Zl, Zp) characters are printable
        return text
    return _UNSHOWN.sub("\N{REPLACEMENT CHARACTER}", strip_control(text))
