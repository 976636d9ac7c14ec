"""Shared output helpers for commands: JSON to stdout, rich consoles to stdout/stderr.

Whatever a command prints may hold lock data, which is untrusted (docs/security.md): the consoles here
never read a string as rich markup or emoji codes (``[link=...]`` stays text, ``x86_64[/]`` cannot crash),
and every string they render loses its control characters (ESC, OSC, CR, ...) and bidirectional formatting
characters (U+202E, U+2066, ...). A command that wants
colour builds a ``Text`` with a style, putting lock data in through ``text``.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

from ..grammar import escape_bidi, strip_terminal

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

_C1_OR_DEL = re.compile(r"[\x7f-\x9f]")


def line(value: object) -> str:
    """``value`` as one line of terminal text: every control character (newline included) made visible."""
    return strip_terminal(str(value))


def lines(value: object) -> str:
    """Text of several lines (a plan, a Dockerfile): each line's control characters made visible."""
    return "\n".join(line(part) for part in str(value).split("\n"))


def text(value: object, style: str = "") -> Text:
    """A rich ``Text`` of ``value`` as one line, never parsed as markup."""
    from rich.text import Text

    return Text(line(value), style=style)


def _console(stderr: bool) -> Console:
    from rich.console import Console

    class SafeConsole(Console):
        def render_str(self, text: str, **kwargs: Any) -> Text:
            return super().render_str(lines(text), **kwargs)  # each line's control and bidi characters

    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=True, markup=False, emoji=False)


# rich is imported when something is printed, not at start-up: `capture -o -` and --json never pay for it.
def stdout() -> Console:
    return _console(stderr=False)


def stderr() -> Console:
    return _console(stderr=True)


def first_line(message: str, *, json_output: bool) -> None:
    """The line that names the environment a command works on: on stdout, or on stderr when --json owns stdout."""
    if json_output:
        sys.stderr.write(line(message) + "\n")
        sys.stderr.flush()
    else:
        stdout().print(text(message))


def print_json(data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    # json escapes C0 controls but not DEL or C1 (CSI 0x9b): escaped here too, the same JSON value.
    # Bidi formatting characters (reordering what a terminal shows) likewise.
    sys.stdout.write(escape_bidi(_C1_OR_DEL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)) + "\n")
