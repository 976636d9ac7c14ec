"""TOML writing of a lock: the text ``tomli_w.dumps`` writes, at a fraction of its cost, with every character an
editor or a code forge would show as something else written as a ``\\uXXXX`` escape.

tomli_w escapes every string one character at a time in Python and checks every value against the ``Mapping`` ABC
and five other types; a lock of 160 distributions holds some 6,000 strings, so writing it was a tenth of a cold
capture's CPU after the target interpreter answered. This writer follows tomli_w's rules (tomli_w 1.x:
``_writer.gen_table_chunks`` and the ``format_*`` functions it calls, with their defaults: no multi-line strings,
an indent of 4) for the values a lock's plain form holds (``dict``, ``list``, ``tuple``, ``str``, ``int``,
``bool``): a string with nothing to escape is written as it is, and a value's type is looked up, not tested
against ABCs. Any other value (a float, a date, a mapping that is not a dict) hands the whole document to
tomli_w. The one difference from tomli_w: it leaves the bidirectional formatting characters (U+202A-U+202E,
U+2066-U+2069, U+200E/F, U+061C), U+2028/U+2029 and the C1 controls of a free-text value raw, so a stranger's
``os_name`` showed the lock reordered ("Trojan Source") or broken across lines; here each is ``\\uXXXX`` in its
basic string (tomli_w's own text gets the same escapes), the same parsed value and so the same content digest.
A second difference: a key of bare-key characters holding a run of more than 64 digits or ``_`` is quoted, as the
bounded reader (``_readlimits``) refuses such a run outside a string as a number too long.
tests/test_tomlwrite.py compares the two on every golden lock and on generated documents.
"""

from __future__ import annotations

from ._control import UNSHOWN_IN_FILES, escape_unshown
from ._lazyre import LazyPattern
from ._readlimits import MAX_DIGITS

TYPE_CHECKING = False  # not typing's: a capture imports this module on its way to the lock
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_INDENT = "    "  # tomli_w's default indent of 4
_MAX_LINE_LENGTH = 100  # tomli_w.MAX_LINE_LENGTH: an array of tables is written inline when each fits
# What a basic string escapes: tomli_w's set (quote, backslash, C0 but tab, DEL) and what a file must not show raw.
_ILLEGAL = frozenset('"\\') | (frozenset(chr(i) for i in range(32)) - frozenset("\t")) | UNSHOWN_IN_FILES
# tomli_w's text, which holds those characters only inside basic strings (no comments, no literal or multi-line
# strings, structure in ASCII), with each written as its escape: the same document.
_COMPACT = {"\b": "\\b", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_LONG_RUN = LazyPattern(rf"[0-9_]{{{MAX_DIGITS + 1}}}")


class _Unsupported(Exception):
    """A value this writer leaves to tomli_w."""


def dumps(document: Mapping[str, Any]) -> str:
    """``tomli_w.dumps(document)``, with ``UNSHOWN_IN_FILES`` escaped."""
    if type(document) is dict:
        chunks: list[str] = []
        try:
            _table(document, "", False, chunks, {})
        except _Unsupported:
            pass
        else:
            return "".join(chunks)
    import tomli_w

    text = tomli_w.dumps(document)
    return escape_unshown(text)


def _table(table: dict[str, Any], name: str, inside_aot: bool, out: list[str], inline: dict[int, str]) -> None:
    yielded = False
    literals = []
    tables = []  # (key, value, inside an array of tables)
    for k, v in table.items():
        kind = type(v)
        if kind is dict:
            tables.append((k, v, False))
        elif (
            (kind is list or kind is tuple)
            and v
            and all(type(t) is dict for t in v)
            and not all(_suitable_inline(t, inline) for t in v)
        ):
            tables.extend((k, t, True) for t in v)
        else:
            literals.append((k, v))
    if inside_aot or (name and (literals or not tables)):
        yielded = True
        out.append(f"[[{name}]]\n" if inside_aot else f"[{name}]\n")
    if literals:
        yielded = True
        for k, v in literals:
            out.append(f"{_key(k)} = {_literal(v, inline, 0)}\n")
    for k, v, in_aot in tables:
        if yielded:
            out.append("\n")
        else:
            yielded = True
        key = _key(k)
        _table(v, f"{name}.{key}" if name else key, in_aot, out, inline)


def _literal(obj: object, inline: dict[int, str], nest_level: int) -> str:
    kind = type(obj)
    if kind is str:
        return _string(obj)  # type: ignore[arg-type]
    if kind is bool:
        return "true" if obj else "false"
    if kind is int:
        return str(obj)
    if kind is list or kind is tuple:
        if not obj:
            return "[]"
        item_indent = _INDENT * (1 + nest_level)
        items = ",\n".join(item_indent + _literal(item, inline, nest_level + 1) for item in obj)  # type: ignore[attr-defined]
        return "[\n" + items + f",\n{_INDENT * nest_level}]"
    if kind is dict:
        return _inline_table(obj, inline)  # type: ignore[arg-type]
    raise _Unsupported


def _inline_table(obj: dict[str, Any], inline: dict[int, str]) -> str:
    rendered = inline.get(id(obj))
    if rendered is None:
        if not obj:
            rendered = "{}"
        else:
            rendered = "{ " + ", ".join(f"{_key(k)} = {_literal(v, inline, 0)}" for k, v in obj.items()) + " }"
        inline[id(obj)] = rendered
    return rendered


def _suitable_inline(obj: dict[str, Any], inline: dict[int, str]) -> bool:
    rendered = f"{_INDENT}{_inline_table(obj, inline)},"
    return len(rendered) <= _MAX_LINE_LENGTH and "\n" not in rendered


def _key(part: object) -> str:
    if type(part) is not str:
        raise _Unsupported  # tomli_w refuses it with its own error
    return part if _bare(part) else _string(part)


def _bare(part: str) -> bool:
    """Whether ``part`` is written as a bare key: it can be, and it holds no run of digits (or ``_``) longer than the
    bounded reader takes for a number (``_readlimits.MAX_DIGITS``), which made a file this writer wrote unreadable
    to envsnap (a node named with 65 digits); such a key is quoted, the same key to any TOML reader."""
    return bool(part) and _BARE.issuperset(part) and (len(part) <= MAX_DIGITS or _LONG_RUN.search(part) is None)


def key_text(part: str, *, quoted: bool = False) -> str:
    """One key as a TOML file writes it (bare where it can be, unless ``quoted``), for a message that names a
    table as it reads in the file."""
    return part if not quoted and _bare(part) else _string(part)


def _string(s: str) -> str:
    if _ILLEGAL.isdisjoint(s):
        return '"' + s + '"'
    out = ['"']
    for char in s:
        if char in _ILLEGAL:
            out.append(_COMPACT.get(char) or "\\u" + hex(ord(char))[2:].rjust(4, "0"))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
