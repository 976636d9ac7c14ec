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

from ._lazyre import LazyPattern

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


# A lock's ``[[python.packages]]`` tables, each with its ``source`` and ``artifact`` tables, in the form and key order
# the writer gives them (``model.PythonPackage``'s fields): read a table at a time by one match of ``_PACKAGE``
# instead of a line at a time (``_blocks``). The keys are the pattern's own text, so none is made again for each
# of 5,000 tables, and each value's kind is known from its key. Each key: "s" a string with nothing escaped, "a" an
# array of such strings, "b" a boolean, "i" an integer. Only what tomli_w writes for such a table matches; a table
# with another key, another order or an escape is read a line at a time, as any other text.
_PACKAGE_TABLES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "python.packages",
        (
            ("name", "s"),
            ("version", "s"),
            ("installer", "s"),
            ("requested", "b"),
            ("wheel_tags", "a"),
            ("record_digest", "s"),
            ("metadata_name", "s"),
            ("requires_dist", "a"),
            ("requires_python", "s"),
            ("conda_managed", "b"),
            ("base_site", "b"),
            ("system_package", "s"),
            ("identity", "a"),
            ("cuda_kernels", "a"),
            ("cuda_kernels_partial", "b"),
            ("cuda_ptx_isa", "s"),
        ),
    ),
    (
        "python.packages.source",
        (
            ("kind", "s"),
            ("url", "s"),
            ("vcs", "s"),
            ("commit_id", "s"),
            ("requested_revision", "s"),
            ("subdirectory", "s"),
            ("archive_hash", "s"),
            ("editable", "b"),
        ),
    ),
    (
        "python.packages.artifact",
        (
            ("filename", "s"),
            ("url", "s"),
            ("sha256", "s"),
            ("size", "i"),
            ("upload_time", "s"),
            ("index", "s"),
            ("rebuilt", "b"),
            ("version_from_build", "b"),
            ("sdist_sha256", "s"),
            ("built_record_digest", "s"),
        ),
    ),
)
_PACKAGE_START = "\n\n[[python.packages]]\n"  # where a package's table starts: after the blank line's first newline
_KINDS = {
    "s": f'"({_PLAIN})"',
    "a": f'(\\[\\]|\\[\\n(?:    "{_PLAIN}",\\n)+\\])',
    "b": "(true|false)",
    "i": f"({_INT})",
}


def _table_pattern(header: str, keys: tuple[tuple[str, str], ...]) -> str:
    """A table's header (with the blank line before it, in a group of its own) and each of its keys, if there."""
    return f"(\\n){re.escape(header)}\\n" + "".join(f"(?:{key} = {_KINDS[kind]}\\n)?" for key, kind in keys)


# For each table of a package: its dotted name and its last part, its keys, where its keys' groups start and end
# (its blank line's group is the one before), and its keys whose values are not a string's body, with their kinds.
_PACKAGE_READ = tuple(
    (
        name,
        name.rpartition(".")[2],
        tuple(key for key, _ in keys),
        sum(1 + len(above) for _, above in _PACKAGE_TABLES[:at]) + 1,
        sum(1 + len(above) for _, above in _PACKAGE_TABLES[: at + 1]),
        tuple((key, kind) for key, kind in keys if kind != "s"),
    )
    for at, (name, keys) in enumerate(_PACKAGE_TABLES)
)
# The package's own table, an array's, and each table below it, if there (``_read_packages``). Compiled at its first
# use (1-2 ms: its 28 groups), for a text of at least ``BLOCKS_FROM`` characters: it saves 4 us of each package.
_PACKAGE = LazyPattern(
    _table_pattern(f"[[{_PACKAGE_TABLES[0][0]}]]", _PACKAGE_TABLES[0][1])
    + "".join(f"(?:{_table_pattern(f'[{name}]', keys)})?" for name, keys in _PACKAGE_TABLES[1:])
)


class _NotMine(Exception):
    """The text is outside this reader's subset: tomli reads it."""


class _Tables:
    """The document being read, and what a header needs of what came before: the id of every array of tables (a
    header may go through its last table), and the table each header made, by its dotted name, while it is still
    the one that name leads to (``_walk`` would find it): a lock's 5,000 ``[python.packages.artifact]`` headers find
    their package without a walk."""

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}
        self.arrays: set[int] = set()
        self.made: dict[str, dict[str, Any]] = {}

    def table(self, header: str) -> dict[str, Any] | None:
        """The new table ``[header]`` makes; None where tomli must decide (defined twice, or after one below it)."""
        above, _, last = header.rpartition(".")
        parent = (self.made.get(above) or _walk(self.root, above.split("."), self.arrays)) if above else self.root
        if last in parent:
            return None
        table = parent[last] = {}
        if len(self.made) < _MADE:
            self.made[header] = table
        return table

    def array_table(self, header: str, table: dict[str, Any]) -> list[dict[str, Any]] | None:
        """``table`` made the last of the array of tables ``[[header]]``, that array; None where tomli must decide."""
        made = self.made
        above, _, last = header.rpartition(".")
        parent = (made.get(above) or _walk(self.root, above.split("."), self.arrays)) if above else self.root
        tables = parent.get(last)
        if tables is None:
            tables = parent[last] = [table]
            self.arrays.add(id(tables))
        elif type(tables) is list and id(tables) in self.arrays:
            tables.append(table)
        else:
            return None
        # A header below this array now names a table of its new last one: what was made below is forgotten.
        below = header + "."
        for name in [name for name in made if name.startswith(below)]:
            del made[name]
        if header in made or len(made) < _MADE:
            made[header] = table
        return tables


# A text at least this long has its packages matched a table at a time (about 430 packages of a lock: the pattern's
# compile is paid back from about 300).
BLOCKS_FROM = 1 << 18


def loads(text: str) -> dict[str, Any] | None:
    """``tomli.loads(text)`` for a text in the subset above, else ``None``."""
    if not text.endswith("\n"):
        return None
    tables = _Tables()
    try:
        for start, stop, packages in _blocks(text) if len(text) >= BLOCKS_FROM else ((0, len(text), []),):
            if not (_read_packages(tables, packages) if packages else _read_lines(tables, text, start, stop)):
                return None
    except _NotMine:
        return None
    return tables.root


def _blocks(text: str) -> Iterator[tuple[int, int, list[re.Match[str]]]]:
    """The text as pieces, in order and with no gap: each read a line at a time (``start``, ``stop``, no match), or a
    run of packages one after another, each matched whole (``start``, ``stop``, the matches of ``_PACKAGE``).

    Each piece starts and ends where a line of the text does, for ``_LINE`` as for ``_PACKAGE``: a package starts at a
    blank line a ``[[python.packages]]`` header follows (no line ``_LINE`` matches holds a blank line), and is taken
    whole only where its match ends before another blank line and header, or at the end. Every line ``_PACKAGE``
    matches ``_LINE`` matches alike, so both readings split the text into the same lines (tests/test_tomlfast.py)."""
    start, end = 0, len(text)
    while start < end:
        at = text.find(_PACKAGE_START, start - 1 if start else 0)  # the newline before ``start`` ended a line
        if at < 0:
            yield start, end, []
            return
        at += 1
        if at > start:
            yield start, at, []
        packages, stop = [], at
        while package := _PACKAGE.match(text, stop):
            after = package.end()
            if after != end and not text.startswith("\n[", after):
                break
            packages.append(package)
            stop = after
            if not text.startswith(_PACKAGE_START, stop - 1):
                break
        if not packages:  # not one the pattern reads whole: line by line, up to the next header after a blank line
            cut = text.find("\n\n[", at + 1)
            stop = end if cut < 0 else cut + 1
        yield at, stop, packages
        start = stop


def _read_packages(tables: _Tables, packages: list[re.Match[str]]) -> bool:
    """Packages matched by ``_PACKAGE`` one after another, into the document as their lines read one at a time would
    put them there. The first's headers are read as any; each next one is the next table of the same array, and
    each table below it a new table of its own (no key of ``_PACKAGE_TABLES`` is a table's name)."""
    made = tables.made
    array: list[dict[str, Any]] | None = None
    package: dict[str, Any] = {}
    for match in packages:
        values = match.groups()
        for header, last, names, first, end, typed in _PACKAGE_READ:
            if values[first - 1] is None:  # a table left out (the first never is)
                continue
            # Every value a string's body first, in the order of the text, then the others made what they are.
            table = {key: value for key, value in zip(names, values[first:end], strict=True) if value is not None}
            for key, kind in typed:
                value = table.get(key)
                if value is not None:
                    table[key] = (
                        _PLAIN_ITEM.findall(value) if kind == "a" else value == "true" if kind == "b" else int(value)
                    )
            if first != 1:
                package[last] = table
            elif array is not None:
                array.append(table)
                package = table
            elif (array := tables.array_table(header, table)) is not None:
                package = table
            else:
                return False
    # What a header after these names: the last package, and none of the tables below one (_Tables.made).
    below = _PACKAGE_TABLES[0][0] + "."
    for name in [name for name in made if name.startswith(below)]:
        del made[name]
    if _PACKAGE_TABLES[0][0] in made:
        made[_PACKAGE_TABLES[0][0]] = package
    return True


def _read_lines(tables: _Tables, text: str, start: int, stop: int) -> bool:
    """The lines of ``text[start:stop]`` into the document; False for a text tomli must read."""
    table = tables.root if start == 0 else None
    for key, plain, value, aot, header, other in _lines(text, start, stop):
        if key:
            if table is None or key in table:
                return False
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
            table = tables.table(header)
            if table is None:
                return False
        elif aot:
            table = {}
            if tables.array_table(aot, table) is None:
                return False
        elif other:
            return False
    return True


# The text is matched a piece of about this many characters at a time: the matches of a 3 MB lock, 70,000 tuples
# of strings, were 8 MB of fresh memory at once (2,000 page faults of a fresh process, 0.003 s).
PIECE = 1 << 18


def _lines(text: str, start: int = 0, end: int = -1) -> Iterator[tuple[str, str, str, str, str, str]]:
    """``_LINE.findall(text, start, end)``, a piece at a time, each ending before a blank line a header follows.

    The same matches: ``_LINE``'s matches follow one another with no gap (its last alternative matches at any
    place), and each ends just after a newline; a match crossing such a blank line would be a line of an array
    (never blank) or a header matched with the newline before it, which starts at the blank line, where the next
    piece starts. tests/test_tomlfast.py reads texts cut at every such blank line."""
    if end < 0:
        end = len(text)
    while start < end:
        cut = text.find("\n\n[", start + PIECE, end)
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
