"""The lock's TOML writer (``envsnap/_tomlwrite.py``) writes what ``tomli_w.dumps`` writes, byte for byte."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import tomli
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from envsnap import _tomlwrite, lockfile
from envsnap.model import Snapshot

ROOT = Path(__file__).resolve().parent

# Keys and strings with what must be escaped (quotes, backslashes, every control character, DEL), tabs, unicode
# and the characters of bare keys.
_TEXT = st.text(
    alphabet=st.sampled_from(
        ['"', "\\", "\t", "\x7f", "é", "☃", "a", "Z", "0", "-", "_", " ", ".", "=", *map(chr, range(32))]
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
    assert _tomlwrite.dumps(document) == tomli_w.dumps(document)


def _locks() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*") if p.suffix in (".lock", ".toml") and p.is_file())


@pytest.mark.parametrize("path", _locks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_toml_file_of_the_tests_is_written_as_tomli_w_writes_it(path: Path) -> None:
    """Golden locks and every other TOML file here (floats and dates included: those go to tomli_w whole)."""
    try:
        document = tomli.loads(path.read_text(encoding="utf-8"))
    except (tomli.TOMLDecodeError, UnicodeDecodeError):
        pytest.skip("not TOML")
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
