"""The fast TOML reader (``envsnap/_tomlfast.py``): for every text it accepts, exactly what tomli reads (types
included); every other text is left to tomli (``None``), above all every text tomli refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli
from hypothesis import example, given, settings
from hypothesis import strategies as st

from envsnap import _readlimits, _tomlfast, _tomlwrite, lockfile
from envsnap.errors import EnvsnapError

ROOT = Path(__file__).resolve().parent

# Keys and strings of bare-key characters and of what must be escaped (quotes, backslashes, control characters,
# DEL), tabs and unicode.
_TEXT = st.text(
    alphabet=st.sampled_from(
        ['"', "\\", "\t", "\n", "\x7f", "\x1b", "é", "☃", "a", "Z", "0", "-", "_", " ", ".", "=", "[", "#"]
    ),
    max_size=10,
)
_KEY = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True), _TEXT)
_SCALAR = st.one_of(
    _TEXT,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-20, max_value=20),
    st.booleans(),
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_KEY, inner, max_size=4),
        st.lists(st.dictionaries(_KEY, inner, max_size=4), min_size=1, max_size=3),
    ),
    max_leaves=20,
)
_DOCUMENT = st.dictionaries(_KEY, _VALUE, max_size=6)


def same(a: Any, b: Any) -> bool:
    """Equal, with the same type at every level (``True == 1`` and ``[] == ()`` would hide a wrong reading)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def agrees(text: str) -> Any:
    """The fast reader's result for ``text``, asserting it is tomli's (or None where tomli refuses the text)."""
    fast = _tomlfast.loads(text)
    try:
        expected = tomli.loads(text)
    except tomli.TOMLDecodeError:
        assert fast is None, text
        return None
    assert fast is None or same(fast, expected), text
    return fast


@settings(max_examples=400, deadline=None)
@given(_DOCUMENT)
def test_a_document_envsnap_writes_reads_as_tomli_reads_it(document: dict[str, Any]) -> None:
    agrees(_tomlwrite.dumps(document))


_PIECES = st.sampled_from(
    [
        "",
        "\n",
        "\r\n",
        " ",
        "\t",
        '"',
        "'",
        "\\",
        "#",
        "=",
        "[",
        "]",
        "[[",
        "]]",
        ".",
        ",",
        "{",
        "}",
        "0",
        "_",
        "+",
        "a",
        "x = 1\n",
        "[a]\n",
        "[[a]]\n",
        "[a.b]\n",
        "e",
        "u",
        "\\u0041",
        "\x00",
        "\ud7ff",
        "é",
    ]
)
_EDITS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), _PIECES), max_size=4)


@settings(max_examples=600, deadline=None)
@given(_DOCUMENT, _EDITS)
def test_an_edited_text_reads_as_tomli_reads_it_or_is_left_to_tomli(
    document: dict[str, Any], edits: list[tuple[int, int, str]]
) -> None:
    """Texts near the subset: a written document with characters cut out and others put in."""
    text = _tomlwrite.dumps(document)
    for at, cut, put in edits:
        at %= len(text) + 1
        text = text[:at] + put + text[at + cut :]
    agrees(text)


@settings(max_examples=400, deadline=None)
@given(_DOCUMENT, _EDITS, st.integers(0, 64))
def test_a_text_read_a_piece_at_a_time_is_matched_as_it_is_whole(
    document: dict[str, Any], edits: list[tuple[int, int, str]], piece: int
) -> None:
    """The matches of a text cut before every blank line a header follows (and every so often) are the matches of
    the whole text, edited or not."""
    text = _tomlwrite.dumps(document)
    for at, cut, put in edits:
        at %= len(text) + 1
        text = text[:at] + put + text[at + cut :]
    whole = _tomlfast.loads(text)
    kept = _tomlfast.PIECE
    try:
        _tomlfast.PIECE = piece
        # An all-empty match (a blank line, the end of a piece) is nothing to the reader: the others are the same.
        assert [m for m in _tomlfast._lines(text) if any(m)] == [m for m in _tomlfast._LINE.findall(text) if any(m)]
        assert _tomlfast.loads(text) == whole, text
    finally:
        _tomlfast.PIECE = kept


def _toml_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*") if p.suffix in (".lock", ".toml") and p.is_file())


@pytest.mark.parametrize("path", _toml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_toml_file_of_the_tests_reads_as_tomli_reads_it(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8")
    agrees(text)


def test_a_lock_envsnap_writes_is_read_by_the_fast_reader() -> None:
    """The golden locks, written again as envsnap writes them now (escaped requirement markers included)."""
    locks = sorted((ROOT / "export" / "golden").rglob("*.lock"))
    assert locks
    for path in locks:
        text = lockfile.dumps(lockfile.load(path))
        fast = _tomlfast.loads(text)
        assert fast is not None, path
        assert same(fast, tomli.loads(text)), path


@pytest.mark.parametrize(
    "text",
    [
        "a = 1\na = 2\n",  # a key twice
        "[t]\n[t]\n",  # a table twice
        "[t.u]\n[t]\n",  # valid TOML, defined by what came before: tomli's
        "[t.u]\nx = 1\n[t]\ny = 2\n",
        "a = 1\n[a.b]\n",  # a header through a value
        "a = []\n[[a]]\n",  # an array of tables over a static array
        "a = [\n    1,\n]\n[a.b]\n",  # a header through a static array
        "[a]\n[[a]]\n",
        "[[a]]\n[a]\n",
        "[a.b]\n[[a]]\n",
        "a = 1\r\n",
        "a = 1 # note\n",
        "a = 1",  # no final newline
        'a = "\\u0041"\n',  # an escape the subset leaves to tomli
        'a = "\\e"\n',  # TOML 1.1's escape
        "a = 1234567890123456789\n",  # 19 digits
        "a = 01\n",
        "a = +1\n",
        "a = 1_000\n",
        "a = 1.5\n",
        "a = 1979-05-27\n",
        "a = 'x'\n",
        'a = """x"""\n',
        '"a b" = 1\n',
        "a.b = 1\n",
        "a=1\n",
        "[ a ]\n",
        "[a.b.c.d.e.f.g.h.i]\n",  # more than MAX_PARTS parts
        "a = [1, 2]\n",
        "a = { b = 1 }\n",
        "a = [\n    1\n]\n",  # no comma after the last item
        "a = [\n  1,\n]\n",
        'a = "x\x00"\n',
        'a = "x\x7f"\n',
        "a = tru\n",
        "",
    ],
)
def test_what_the_subset_leaves_out_is_left_to_tomli(text: str) -> None:
    assert _tomlfast.loads(text) is None
    agrees(text)


@example('a = "x\ty"\nb = "\\"q\\" \\\\ \\n\\t\\b\\f\\r"\n')
@given(st.just('s = "é ☃ \U0001f600"\nn = -0\nm = 123456789012345678\n'))
def test_what_the_subset_holds_reads_as_tomli_reads_it(text: str) -> None:
    assert _tomlfast.loads(text) is not None
    agrees(text)


@pytest.mark.parametrize(
    "items",
    [
        ['"x    "', '"y"'],
        ['"a\\"    "', '"b"'],  # an escaped quote after four spaces: the string goes on
        ['"    \\"x"', '""'],
        ['"p"', "1", '"q"'],
        ['"p"', '{ k = "    \\"v" }'],
        ['"p"', "true"],
        ['""', '""'],
    ],
)
def test_an_array_of_strings_reads_as_tomli_reads_it(items: list[str]) -> None:
    """Arrays whose items are all strings with nothing escaped are read at once: mixed ones item by item."""
    text = "a = [\n" + "".join(f"    {item},\n" for item in items) + "]\n"
    fast = agrees(text)
    assert fast is not None and len(fast["a"]) == len(items)


def test_tables_and_arrays_of_tables_read_as_tomli_reads_them() -> None:
    text = (
        'top = true\n\n[a]\nx = 1\n\n[a.b]\ny = [\n    "s",\n    -2,\n]\n\n[[a.rows]]\nn = 1\n\n'
        '[a.rows.sub]\nk = false\n\n[[a.rows]]\nn = 2\n\n[[a.rows.inner]]\nq = ""\n\n[c.d.e]\nz = []\n'
    )
    fast = agrees(text)
    assert fast is not None
    assert fast["a"]["rows"][0]["sub"] == {"k": False}
    assert fast["a"]["rows"][1]["inner"] == [{"q": ""}]


@pytest.mark.parametrize(
    "text",
    [
        "[[a]]\n[[a.b]]\nx = 1\n[[a]]\n[a.b.c]\ny = 2\n",  # a.b of the second a: a new table, not the first's
        "[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2\n[a.b.c]\nz = 3\n",
        "[[a]]\n[[a.b]]\n[[a.b]]\n[a.b.c]\nq = 1\n[[a]]\n[[a.b]]\n[a.b.c]\nq = 2\n",
        "[x]\n[x.y]\n[[x.y.z]]\n[x.y.z.w]\nk = 1\n[[x.y.z]]\n[x.y.z.w]\nk = 2\n",
    ],
)
def test_a_header_below_an_array_of_tables_names_a_table_of_its_last_one(text: str) -> None:
    """The tables a header made are remembered by name while that name still leads to them: an array of tables
    that grows above them makes the next header of that name a table of its new last one, as in tomli."""
    assert agrees(text) is not None


def test_many_headers_read_as_tomli_reads_them() -> None:
    """More distinct headers than the reader remembers (``_MADE``), between the tables of an array that grows."""
    text = "".join(f"[t{i}]\nk = {i}\n[[a]]\nn = {i}\n[a.s{i % 70}]\nv = {i}\n" for i in range(300))
    assert agrees(text) is not None


def test_a_text_left_to_tomli_is_still_read_and_checked() -> None:
    """The guarded loader falls back to tomli and its structure checks: what the fast reader declines is read
    (a table defined after a table below it) or refused with the same one-line error as before."""
    assert _readlimits.load_toml("[t.u]\nx = 1\n[t]\ny = 2\n", origin="f", error=EnvsnapError) == {
        "t": {"u": {"x": 1}, "y": 2}
    }
    with pytest.raises(EnvsnapError, match="f: not valid TOML"):
        _readlimits.load_toml("a = 1\na = 2\n", origin="f", error=EnvsnapError)
    with pytest.raises(EnvsnapError, match="a dotted key of more than 16 parts"):
        _readlimits.load_toml("[" + ".".join("k" * 20) + "]\n", origin="f", error=EnvsnapError)


def test_a_lone_surrogate_in_a_string_reads_as_tomli_reads_it() -> None:
    """A text given as a Python string may hold one (a file decoded as UTF-8 cannot): tomli keeps it as it is, and
    so does this reader, which no longer leaves such a text to tomli (the range in each string pattern made its
    patterns take three times as long to compile, at every start that reads a lock)."""
    for text in ['a = "\ud800x"\n', 'a = [\n    "\udfff",\n]\n', '[[t]]\nb = [\n    { c = "x\ud83d" },\n]\n']:
        assert _tomlfast.loads(text) == tomli.loads(text) and _tomlfast.loads(text) is not None
