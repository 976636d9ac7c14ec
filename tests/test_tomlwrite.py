"""The lock's TOML writer (``envsnap/_tomlwrite.py``) writes what ``tomli_w.dumps`` writes, byte for byte, but for the
characters an editor or a forge shows as something else (bidi, U+2028/U+2029, C1), which it escapes."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st
from testutil import SAMPLE_META, sample_lock, sample_platform

from envsnap import _tomlwrite, lockfile
from envsnap.model import Cpu, Gpu, Hardware, Snapshot

ROOT = Path(__file__).resolve().parent

# Characters tomli_w writes raw and this writer escapes (a bidi one, a line separator, a C1 control).
_ODD = ["\u202e", "\u2028", "\x85"]
# Keys and strings with what must be escaped (quotes, backslashes, every control character, DEL, those), tabs,
# unicode and the characters of bare keys.
_TEXT = st.text(
    alphabet=st.sampled_from(
        ['"', "\\", "\t", "\x7f", "é", "☃", "a", "Z", "0", "-", "_", " ", ".", "=", *map(chr, range(32)), *_ODD]
    ),
    max_size=12,
)
_SCALAR = st.one_of(_TEXT, st.integers(), st.booleans())
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_TEXT, inner, max_size=4),
        # Arrays of tables, short (written inline) and long (written as [[tables]]).
        st.lists(st.dictionaries(_TEXT, inner, max_size=5), min_size=1, max_size=3),
    ),
    max_leaves=25,
)
_DOCUMENT = st.dictionaries(_TEXT, _VALUE, max_size=6)


@settings(max_examples=400, deadline=None)
@given(_DOCUMENT)
def test_a_generated_document_is_written_as_tomli_w_writes_it(document: dict[str, Any]) -> None:
    """Byte for byte where tomli_w writes none of ``_ODD``; otherwise the same document with none of them raw."""
    text = _tomlwrite.dumps(document)
    expected = tomli_w.dumps(document)
    if any(c in expected for c in _ODD):
        assert not any(c in text for c in _ODD)
        assert tomli.loads(text) == tomli.loads(expected)  # a tuple reads back as a list
    else:
        assert text == expected


def _locks() -> list[Path]:
    """Every TOML file of the tests (a ``.lock`` of another tool, such as conda-lock's explicit render, is not one)."""
    return sorted(p for p in ROOT.rglob("*") if p.suffix in (".lock", ".toml") and p.is_file() and _is_toml(p))


def _is_toml(path: Path) -> bool:
    try:
        tomli.loads(path.read_text(encoding="utf-8"))
    except (tomli.TOMLDecodeError, UnicodeDecodeError):
        return False
    return True


@pytest.mark.parametrize("path", _locks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_toml_file_of_the_tests_is_written_as_tomli_w_writes_it(path: Path) -> None:
    """Golden locks and every other TOML file here (floats and dates included: those go to tomli_w whole)."""
    document = tomli.loads(path.read_text(encoding="utf-8"))
    assert _tomlwrite.dumps(document) == tomli_w.dumps(document)


def test_a_lock_is_written_without_tomli_w(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock's plain form holds only the types the writer writes itself: tomli_w is not even imported."""
    lock = ROOT / "export" / "golden" / "dockerfile" / "envsnap.lock"
    snapshot: Snapshot = lockfile.load(lock)
    expected = tomli_w.dumps(lockfile.sealed_document(snapshot))
    monkeypatch.setitem(sys.modules, "tomli_w", None)  # importing it now raises ImportError
    assert lockfile.dumps(snapshot) == expected
    with pytest.raises(ImportError):
        _tomlwrite.dumps({"a": 1.5})  # a float is tomli_w's


@pytest.mark.parametrize("value", [1.5, float("inf"), {"x": 0.25}, [1, 2.0]])
def test_what_the_writer_does_not_write_is_tomli_ws(value: object) -> None:
    document = {"t": {"k": value}, "k": value}
    assert _tomlwrite.dumps(document) == tomli_w.dumps(document)


def test_a_key_that_is_not_text_is_refused_as_tomli_w_refuses_it() -> None:
    with pytest.raises(TypeError, match="A string is required"):
        _tomlwrite.dumps({"t": {1: "x"}})


def test_an_array_of_tables_is_inline_up_to_tomli_ws_line_length() -> None:
    """Each table of the array fits on its 100-character line or the array is written as [[tables]]."""
    for size in range(70, 100):
        document = {"t": {"rows": [{"name": "x" * size}, {"name": "y"}]}}
        assert _tomlwrite.dumps(document) == tomli_w.dumps(document), size
    assert "[[t.rows]]" in _tomlwrite.dumps({"t": {"rows": [{"name": "x" * 100}]}})
    assert "[[t.rows]]" not in _tomlwrite.dumps({"t": {"rows": [{"name": "x" * 10}]}})


# What an editor or a code forge acts on when a lock holds it raw: the bidirectional formatting characters (they
# reorder the line: "Trojan Source"), the line and paragraph separators (a line break inside one string), DEL and
# the C1 controls.
_UNSHOWN = [
    *"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\x7f",
    *map(chr, range(0x80, 0xA0)),
]


def _hostile_lock() -> Snapshot:
    return sample_lock(
        platform=sample_platform(os_name="Debian \u202eGNU/Linux\u202c 12 \u2066x\u2069"),
        hardware=Hardware(
            cpu=Cpu(vendor="Genuine\u200fIntel", model="Xeon\u2028ignore me\u2029 \u061c"),
            gpus=(Gpu(index=0, name="H100 \u202d80GB\u202c \u200e"),),
        ),
        environment={"NOTE": "ok \u202e/* evil */\u202c \u202a\u202b"},
        envsnap=dataclasses.replace(SAMPLE_META, warnings=("a warning \u2067reordered\u2069",)),
    )


def test_a_lock_holds_no_bidi_or_line_separator_character_raw_and_reads_back_to_the_same_seal() -> None:
    """Each is a \\uXXXX escape in its basic string: the same parsed value, so the same content digest."""
    snapshot = _hostile_lock()
    text, digest = lockfile.dumps_sealed(snapshot)
    assert lockfile.dumps(snapshot) == text
    raw = sorted({f"U+{ord(c):04X}" for c in text if c in _UNSHOWN})
    assert raw == []
    assert "Debian \\u202eGNU/Linux\\u202c 12 \\u2066x\\u2069" in text
    assert "Xeon\\u2028ignore me\\u2029 \\u061c" in text
    assert tomli.loads(text) == lockfile.sealed_document(snapshot)
    loaded = lockfile.loads(text)
    assert loaded.platform.os_name == "Debian \u202eGNU/Linux\u202c 12 \u2066x\u2069"
    assert loaded.environment["NOTE"] == "ok \u202e/* evil */\u202c \u202a\u202b"
    assert loaded.envsnap.content_digest == digest == lockfile.seal(snapshot).envsnap.content_digest
    assert lockfile.dumps(loaded) == text  # written again (a bundle's lock): the same bytes


def test_a_lock_written_with_those_characters_raw_still_loads_to_the_same_seal() -> None:
    """A lock an earlier envsnap wrote (tomli_w's text: the characters raw) loads, and its digest is the same."""
    snapshot = _hostile_lock()
    old = tomli_w.dumps(lockfile.sealed_document(snapshot))
    assert "\u202e" in old and "\u2028" in old
    loaded = lockfile.loads(old)
    assert loaded.hardware.cpu.model == "Xeon\u2028ignore me\u2029 \u061c"
    assert loaded.envsnap.content_digest == lockfile.seal(snapshot).envsnap.content_digest
    assert "\u202e" not in lockfile.dumps(loaded)


@pytest.mark.parametrize("char", _UNSHOWN, ids=lambda c: f"U+{ord(c):04X}")
def test_each_such_character_is_an_escape_in_a_key_and_a_value(char: str) -> None:
    document = {"t": {f"k{char}": [f"v{char}", {"x": char}], "s": char}, f"a{char}": {"b": 1}}
    text = _tomlwrite.dumps(document)
    assert char not in text
    assert f"\\u{ord(char):04x}" in text
    assert tomli.loads(text) == document


@pytest.mark.parametrize("char", ["\u202e", "\u2028", "\x85"], ids=lambda c: f"U+{ord(c):04X}")
def test_what_tomli_w_writes_holds_no_such_character_raw_either(char: str) -> None:
    """A value the writer leaves to tomli_w (a float) does not bring the raw character back."""
    document = {"t": {"k": 1.5, "s": f"x{char}y"}, f"q{char}": "z"}
    text = _tomlwrite.dumps(document)
    assert char not in text
    assert tomli.loads(text) == document
