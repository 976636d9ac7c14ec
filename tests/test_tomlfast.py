"""The fast TOML reader (``envsnap/_tomlfast.py``): for every text it accepts, exactly what tomli reads (types
included); every other text is left to tomli (``None``), above all every text tomli refuses."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import tomli
from hypothesis import example, given, settings
from hypothesis import strategies as st

from envsnap import _readlimits, _tomlfast, _tomlwrite, lockfile
from envsnap.errors import EnvsnapError

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True, scope="module")
def _packages_of_any_text_read_whole() -> Any:
    """Every text here has its packages matched whole, as a lock of ``BLOCKS_FROM`` characters has."""
    kept = _tomlfast.BLOCKS_FROM
    _tomlfast.BLOCKS_FROM = 0
    yield
    _tomlfast.BLOCKS_FROM = kept


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


# Packages as the writer gives them (``_tomlfast._PACKAGE_TABLES``), and near them: every key of each table at will,
# the kinds it takes and others, a key the pattern does not know, escapes, tables below in any order.
_PLAIN = st.text(alphabet=st.sampled_from(["a", "0", " ", "-", "é", "'", "=", "[", "\t"]), max_size=6)
_OF_KIND = {
    "s": _PLAIN,
    "a": st.lists(_PLAIN, max_size=3),
    "b": st.booleans(),
    "i": st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1),
}


@st.composite
def _package_table(draw: st.DrawFn, at: int, canonical: bool) -> dict[str, Any]:
    _, keys = _tomlfast._PACKAGE_TABLES[at]
    # A package has a name and a version (the model's).
    chosen = [(key, kind) for key, kind in keys if (at == 0 and key in ("name", "version")) or draw(st.booleans())]
    if not canonical:
        chosen = draw(st.permutations(chosen))
    table: dict[str, Any] = {}
    for key, kind in chosen:
        table[key] = draw(_OF_KIND[kind] if canonical else st.one_of(_OF_KIND[kind], _SCALAR, _VALUE))
    if not canonical and draw(st.booleans()):
        table[draw(_KEY)] = draw(_VALUE)
    elif at == 0 and canonical:  # too long for the writer to make the package an inline table
        table["name"] = "n" * 100 + table["name"]
    return table


@st.composite
def _package(draw: st.DrawFn, canonical: bool) -> dict[str, Any]:
    package = draw(_package_table(0, canonical))
    below = [(name.rpartition(".")[2], at) for at, (name, _) in enumerate(_tomlfast._PACKAGE_TABLES) if at]
    if not canonical:
        below = draw(st.permutations(below))
    for last, at in below:
        if draw(st.booleans()):
            package[last] = draw(_package_table(at, canonical))
    if not canonical and draw(st.booleans()):
        package["candidates"] = [{"sha256": draw(_PLAIN)}]
    return package


def _lock_like(packages: list[dict[str, Any]], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {**before, "python": {"version": "3.11", "packages": packages}, **after}


def _packages_read_whole(text: str) -> int:
    return sum(len(packages) for _, _, packages in _tomlfast._blocks(text))


@settings(max_examples=300, deadline=None)
@given(st.lists(_package(canonical=True), min_size=1, max_size=4), _DOCUMENT, _DOCUMENT)
def test_packages_as_envsnap_writes_them_are_read_whole_as_tomli_reads_them(
    packages: list[dict[str, Any]], before: dict[str, Any], after: dict[str, Any]
) -> None:
    """Each package table the writer gives, with any of its keys and of the tables below it, is matched whole."""
    text = _tomlwrite.dumps(_lock_like(packages, {}, {}))
    assert agrees(text) is not None
    assert _packages_read_whole(text) == text.count("[[python.packages]]\n") == len(packages)
    # Among other tables, and whatever they hold
    text = _tomlwrite.dumps(_lock_like(packages, {f"b{k}": v for k, v in before.items()}, {}))
    text += "\n" + _tomlwrite.dumps({"after": {"t": True, **after}})
    assert _packages_read_whole(text) == len(packages)
    agrees(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(_package(canonical=False), min_size=1, max_size=4), _DOCUMENT, _EDITS)
def test_packages_near_the_form_read_as_tomli_reads_them_or_are_left_to_tomli(
    packages: list[dict[str, Any]], after: dict[str, Any], edits: list[tuple[int, int, str]]
) -> None:
    """Package tables of other keys, orders, kinds and escapes, with tables below in any order, edited: what is not
    matched whole is read a line at a time, and the document is tomli's or left to tomli."""
    text = _tomlwrite.dumps(_lock_like(packages, {}, after))
    for at, cut, put in edits:
        at %= len(text) + 1
        text = text[:at] + put + text[at + cut :]
    agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        # a header of the array and of a table below it after the packages: the last package's
        '[[python.packages]]\nname = "a"\n\n[[python.packages]]\nname = "b"\n\n[python.packages.extra]\nx = 1\n',
        '\n[[python.packages]]\nname = "a"\n\n[[python.packages]]\nname = "b"\n\n[[python.packages.candidates]]\n'
        'x = 1\n\n[[python.packages]]\nname = "c"\n\n[python.packages.artifact]\nsize = 1\n',
        # a table below, given twice, or over a key of the package: tomli's
        '\n[[python.packages]]\nname = "a"\n\n[python.packages.artifact]\nsize = 1\n\n[python.packages.artifact]\n',
        "\n[[python.packages]]\nartifact = 1\n\n[python.packages.artifact]\nsize = 1\n",
        # the array over a value, a static array or a table
        'python = 1\n\n[[python.packages]]\nname = "a"\n',
        '[python]\npackages = []\n\n[[python.packages]]\nname = "a"\n',
        '[python.packages]\nname = "a"\n\n[[python.packages]]\nname = "b"\n',
        # a key of the pattern again, after it; one it does not know; one out of its order
        '\n[[python.packages]]\nname = "a"\nversion = "1"\nname = "b"\n',
        '\n[[python.packages]]\nname = "a"\nother = "x"\nversion = "1"\n\n[python.packages.artifact]\nsize = 1\n',
        '\n[[python.packages]]\nversion = "1"\nname = "a"\n',
        # kinds the pattern does not take there, and an escape
        '\n[[python.packages]]\nrequested = "true"\nsize = true\n\n[python.packages.artifact]\nsize = "1"\n',
        '\n[[python.packages]]\nname = "a\\"b"\nwheel_tags = [\n    "x\\ty",\n    1,\n]\n',
        '\n[[python.packages]]\nname = "a"\n[python.packages.artifact]\nsize = 1\n',  # no blank line
        '\n[[python.packages]]\nname = "a"\n\n[python.packages.artifact]\nsize = 1\nx',
    ],
)
def test_package_tables_out_of_the_form_read_as_tomli_reads_them(text: str) -> None:
    agrees(text)


def test_a_lock_with_every_field_of_a_package_is_read_whole() -> None:
    """``_PACKAGE_TABLES`` follows the model: a package with every field the pattern knows set is matched whole, as
    the packages of the golden locks are."""
    from envsnap import model

    # Every field of the three records, in the model's order (the writer's), but the tables below a package and
    # the candidates an import records (an array of tables, read a line at a time).
    for (name, keys), record in zip(
        _tomlfast._PACKAGE_TABLES, (model.PythonPackage, model.Source, model.Artifact), strict=True
    ):
        fields = [f.name for f in dataclasses.fields(record) if f.name not in ("source", "artifact", "candidates")]
        assert [key for key, _ in keys] == fields, name
    lock = lockfile.load(next((ROOT / "export" / "golden").rglob("*.lock")))
    full = model.PythonPackage(
        name="a",
        version="1",
        installer="pip",
        requested=True,
        wheel_tags=("py3-none-any",),
        source=model.Source(
            kind="vcs",
            url="https://example.invalid/r",
            vcs="git",
            commit_id="a" * 40,
            requested_revision="main",
            subdirectory="s",
            archive_hash="sha256=" + "b" * 64,
            editable=True,
        ),
        record_digest="sha256:" + "c" * 64,
        metadata_name="A",
        requires_dist=("b>=1", "c; extra == 'x'"),
        requires_python=">=3.8",
        artifact=model.Artifact(
            filename="a-1-py3-none-any.whl",
            url="https://example.invalid/a-1-py3-none-any.whl",
            sha256="d" * 64,
            size=3,
            upload_time="2026-01-01T00:00:00Z",
            index="https://example.invalid/simple",
            rebuilt=True,
            version_from_build=True,
            sdist_sha256="e" * 64,
            built_record_digest="sha256:" + "f" * 64,
        ),
        conda_managed=True,
        system_package="python3-a",
        identity=("Summary: A", "Home-page: https://example.invalid/a"),
    )
    text = lockfile.dumps(dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=(full,))))
    assert _packages_read_whole(text) == 1
    fast = agrees(text)
    assert fast is not None and len(fast["python"]["packages"][0]) == 14  # twelve keys and the two tables below
    assert len(fast["python"]["packages"][0]["artifact"]) == 10  # every key of the artifact's table
    for path in sorted((ROOT / "export" / "golden").rglob("*.lock")):
        text = lockfile.dumps(lockfile.load(path))
        assert _packages_read_whole(text) == text.count("\n[[python.packages]]\n"), path
