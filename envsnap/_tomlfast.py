"""A fast reader for the TOML that envsnap writes, and for nothing else: ``loads`` gives exactly what
``tomli.loads`` gives for a text it accepts, and ``None`` for every other text, which tomli then reads.

A lock is TOML in the form ``_tomlwrite`` (tomli_w) writes: a line per key, ``[table]`` and ``[[array]]``
headers of bare keys, strings with nothing escaped, small integers, booleans, arrays of those one item to a line.
tomli (compiled with mypyc) reads a 5,000-distribution lock in about 0.11 s, with another 0.03 s for the
structure checks that guard it (``_readlimits``); half of the CPU a cold ``diff`` of two such locks spends on each.
This reader splits the text into its lines with one regular expression (``findall``: C speed, each line matched
by exactly one alternative, the last of which takes any line outside the subset) and builds the tables in one
loop. It accepts only:

- a text made wholly of lines ending in ``\\n`` (no CR, no comment, no other spacing than ``key = value``);
- blank lines, ``[a.b]`` and ``[[a.b]]`` headers of at most ``MAX_PARTS`` bare keys (``A-Za-z0-9_-``);
- ``key = value`` with a bare key, the value one of: a basic string whose only escapes are ``\\"``, ``\\\\``,
  ``\\b``, ``\\f``, ``\\n``, ``\\r`` and ``\\t`` (no other control character, no DEL, no ``\\u``), an integer of
  at most 18 digits without ``+``, ``_`` or a leading zero, ``true``, ``false``, ``[]``, or an array of such
  scalars and of one-line inline tables of them (``{ k = "v", n = 1 }``), written an item a line, each indented
  by four spaces and followed by a comma, the closing bracket alone on its line.

Anything else, and anything TOML defines by rules about what came before (a key given twice, a table defined
twice, a header through a value or a static array, ``[a]`` after ``[a.b]``), gives ``None`` rather than an
answer, so this reader never decides what tomli would refuse: tomli reads such a text and raises its own error.
Every limit of ``_readlimits.check_toml_structure`` holds for an accepted text by construction (nesting 2,
``MAX_PARTS`` key parts, 18 digits), so the structure check is needed only where tomli reads.
tests/test_tomlfast.py compares the two readers on generated texts, on mutations of them, and on every TOML file
the tests hold (docs/security.md: "The fast TOML reader").
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # not typing's: `envsnap run --lock` reads its lock through this module
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

MAX_PARTS = 8  # parts of a header (a lock needs 3; _readlimits.MAX_KEY_PARTS is 16)
_MADE = 64  # headers remembered (a lock has about 20 distinct ones): each new array table scans them

_KEY = r"[A-Za-z0-9_-]+"
_PLAIN = r"[^\"\\\x00-\x08\x0a-\x1f\x7f]*"  # what a basic string holds as it is (a tab, too)
_STRING = rf'"{_PLAIN}(?:\\["\\bfnrt]{_PLAIN})*"'  # and the escapes tomli_w writes, but for \uXXXX
_INT = r"-?(?:0|[1-9][0-9]{0,17})"
_SCALAR = rf"(?:{_STRING}|{_INT}|true|false)"
_PAIR = rf"({_KEY}) = ({_SCALAR})"
_INLINE = rf"\{{ {_KEY} = {_SCALAR}(?:, {_KEY} = {_SCALAR})* \}}|\{{\}}"  # a table of an array, inline
_ITEM = rf"(?:{_SCALAR}|{_INLINE})"
_HEAD = rf"{_KEY}(?:\.{_KEY}){{0,{MAX_PARTS - 1}}}"
# One line (or one array, with its item lines) of the text: the groups are a key, the body of its value where that
# is a string with nothing escaped (most values: taken as it is, with no second look), any other value, an
# array-of-tables header, a table header (each header with the blank line before it, as tomli_w writes it), and
# the catch-all: any other line, which makes the text not this reader's. Another blank line matches with every
# group empty; so does the empty match at the end of the text. A string with an escape is not a body (``_PLAIN``
# holds no backslash): it is matched again as any other value.
_LINE = re.compile(
    rf"({_KEY}) = (?:\"({_PLAIN})\"|({_SCALAR}|\[\]|\[\n(?:    {_ITEM},\n)+\]))\n"
    rf"|\n?\[\[({_HEAD})\]\]\n"
    rf"|\n?\[({_HEAD})\]\n"
    r"|\n"
    r"|([^\n]*\n?)"
)
_ARRAY_ITEM = re.compile(rf"    ({_ITEM}),\n")
_PLAIN_ITEM = re.compile(rf'    "({_PLAIN})",\n')
_INLINE_PAIR = re.compile(_PAIR)


class _NotMine(Exception):
    """The text is outside this reader's subset: tomli reads it."""


def loads(text: str) -> dict[str, Any] | None:
    """``tomli.loads(text)`` for a text in the subset above, else ``None``."""
    if not text.endswith("\n"):
        return None
    root: dict[str, Any] = {}
    table = root
    arrays: set[int] = set()  # the id of every array of tables: a header may go through its last table
    # The table each header made, by its dotted name, while it is still the one that name leads to (``_walk``
    # would find it): a lock's 5,000 ``[python.packages.artifact]`` headers find their package without a walk.
    made: dict[str, dict[str, Any]] = {}
    try:
        for key, plain, value, aot, header, other in _lines(text):
            if key:
                if key in table:
                    return None
                if not value:  # most values: a string with nothing escaped, its body
                    table[key] = plain
                    continue
                first = value[0]
                if first == "[":
                    # An array of strings with nothing escaped (most): their bodies at once, when there are as many
                    # as the array has item lines (a string's body holds no newline, and no four spaces and a quote
                    # in it but where its own closing quote is escaped: nothing else matches).
                    items = _PLAIN_ITEM.findall(value)
                    if len(items) != value.count("\n") - 1:
                        items = [_value(item) for item in _ARRAY_ITEM.findall(value)]
                    table[key] = items
                else:
                    table[key] = _value(value)
            elif header:
                above, _, last = header.rpartition(".")
                parent = (made.get(above) or _walk(root, above.split("."), arrays)) if above else root
                if last in parent:
                    return None  # defined twice, or after a table below it: tomli decides
                table = parent[last] = {}
                if len(made) < _MADE:
                    made[header] = table
            elif aot:
                above, _, last = aot.rpartition(".")
                parent = (made.get(above) or _walk(root, above.split("."), arrays)) if above else root
                table = {}
                tables = parent.get(last)
                if tables is None:
                    tables = parent[last] = [table]
                    arrays.add(id(tables))
                elif type(tables) is list and id(tables) in arrays:
                    tables.append(table)
                else:
                    return None
                # A header below this array now names a table of its new last one: what was made below is forgotten.
                below = aot + "."
                for name in [name for name in made if name.startswith(below)]:
                    del made[name]
                if aot in made or len(made) < _MADE:
                    made[aot] = table
            elif other:
                return None
    except _NotMine:
        return None
    return root


# The text is matched a piece of about this many characters at a time: the matches of a 3 MB lock, 70,000 tuples
# of strings, were 8 MB of fresh memory at once (2,000 page faults of a fresh process, 0.003 s).
PIECE = 1 << 18


def _lines(text: str) -> Iterator[tuple[str, str, str, str, str, str]]:
    """``_LINE.findall(text)``, a piece at a time, each piece ending before a blank line that a header follows.

    The same matches: ``_LINE``'s matches follow one another with no gap (its last alternative matches at any
    place), and each ends just after a newline; a match crossing such a blank line would be a line of an array
    (never blank) or a header matched with the newline before it, which starts at the blank line, where the next
    piece starts. tests/test_tomlfast.py reads texts cut at every such blank line."""
    start, end = 0, len(text)
    while start < end:
        cut = text.find("\n\n[", start + PIECE)
        stop = end if cut < 0 else cut + 1
        yield from _LINE.findall(text, start, stop)
        start = stop


def _value(text: str) -> Any:
    """A scalar's or an inline table's value (``text`` matched ``_ITEM``)."""
    first = text[0]
    if first == '"':
        return _unescaped(text[1:-1]) if "\\" in text else text[1:-1]
    if first == "t":
        return True
    if first == "f":
        return False
    if first == "{":
        pairs = _INLINE_PAIR.findall(text)
        inline = {key: _value(value) for key, value in pairs}
        if len(inline) != len(pairs):
            raise _NotMine  # a key twice: tomli's error
        return inline
    return int(text)


_ESCAPES = {'"': '"', "\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ESCAPE = re.compile(r"\\(.)")


def _unescaped(body: str) -> str:
    """A basic string's body with its escapes (only those ``_STRING`` admits) replaced by what they stand for."""
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], body)


def _walk(root: dict[str, Any], parts: list[str], arrays: set[int]) -> dict[str, Any]:
    """The table a header's leading ``parts`` name: created where missing (as TOML creates it, implicitly), the
    last table of an array of tables; a value or a static array on the way is not this reader's to judge."""
    table = root
    for part in parts:
        below = table.get(part)
        if below is None:
            below = table[part] = {}
        elif type(below) is list:
            if id(below) not in arrays:
                raise _NotMine
            below = below[-1]
        elif type(below) is not dict:
            raise _NotMine
        table = below
    return table
