"""A lock's arrays of records are checked a field at a time (``lockfile._fast_many``): the same records, the same
"written as to_dict writes it" verdict and the same refusals as checking them one record at a time (``_fast``)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envsnap import _tomlfast, lockfile
from envsnap.errors import LockfileError
from envsnap.model import Artifact, PythonPackage, Source, SystemLibrary, SystemPackage

ROOT = Path(__file__).resolve().parent


def _one_at_a_time(cls: type, items: list[Any]) -> tuple[Any, list[bool]]:
    normal = [True]
    try:
        return tuple(lockfile._fast(cls, item, normal) for item in items), normal
    except (lockfile._Refused, LockfileError):
        return "refused", normal


def _many(cls: type, items: list[Any]) -> tuple[Any, list[bool]]:
    normal = [True]
    try:
        return lockfile._fast_many(cls, items, normal), normal
    except (lockfile._Refused, LockfileError):
        return "refused", normal


def _shown(records: Any) -> Any:
    if records == "refused":
        return records
    return [(type(r), list(vars(r).items())) for r in records]


def assert_same(cls: type, items: list[Any]) -> Any:
    expected, normal = _one_at_a_time(cls, copy.deepcopy(items))
    got, normal_many = _many(cls, copy.deepcopy(items))
    assert _shown(got) == _shown(expected)
    if expected != "refused":
        assert normal_many == normal
        for record, kept in zip(got, expected, strict=True):
            assert lockfile.to_dict(record) == lockfile.to_dict(kept)
    return got


def _package(i: int) -> dict[str, Any]:
    return {
        "name": f"pkg{i:04d}",
        "version": f"1.{i % 7}.0",
        "installer": "pip",
        "wheel_tags": ["py3-none-any"],
        "record_digest": "sha256:" + "ab" * 32,
        "metadata_name": f"Pkg{i:04d}",
        "requires_dist": [f"pkg{i + 1:04d}>=1.0", "numpy; extra == 'fast'"],
        "requires_python": ">=3.8",
        "artifact": {
            "filename": f"pkg{i:04d}-1.{i % 7}.0-py3-none-any.whl",
            "url": f"https://example.org/pkg{i:04d}-1.{i % 7}.0-py3-none-any.whl",
            "sha256": "cd" * 32,
            "size": 1000 + i,
        },
    }


# What an edit puts into one field of one record: values of every type the document can hold, valid and not,
# a sparse field's default, an empty list, a wrong record.
_VALUES = st.sampled_from(
    [
        "", "x", "1.0", "PKG", "pkg 1", "\x1b[2J", "sha256:" + "0" * 64, 0, 1, -1, 2**41, True, False, [], ["x"],
        ["py3-none-any", 1], [""], {}, {"kind": "vcs"}, {"filename": "a.whl", "url": "", "sha256": "0" * 64},
        {"kind": "url", "url": "https://example.org/a.whl"},
    ]
)  # fmt: skip
_FIELDS = st.sampled_from(
    [
        "name", "version", "installer", "requested", "wheel_tags", "source", "record_digest", "metadata_name",
        "requires_dist", "requires_python", "artifact", "conda_managed", "candidates", "unknown_field",
    ]
)  # fmt: skip
_EDIT = st.tuples(st.integers(0, 39), _FIELDS, st.one_of(st.none(), _VALUES))


@settings(max_examples=400, deadline=None)
@given(st.integers(16, 40), st.lists(_EDIT, max_size=4))
def test_packages_checked_a_field_at_a_time_are_the_records_one_at_a_time_gives(
    count: int, edits: list[tuple[int, str, Any]]
) -> None:
    """Generated packages with fields removed (None), replaced by valid or invalid values, or added."""
    items = [_package(i) for i in range(count)]
    for at, field, value in edits:
        item = items[at % count]
        if value is None:
            item.pop(field, None)
        else:
            item[field] = copy.deepcopy(value)
    assert_same(PythonPackage, items)


def test_an_unchanged_array_is_read_a_field_at_a_time() -> None:
    got = assert_same(PythonPackage, [_package(i) for i in range(20)])
    assert len(got) == 20 and got[3].artifact == Artifact(
        filename="pkg0003-1.3.0-py3-none-any.whl",
        url="https://example.org/pkg0003-1.3.0-py3-none-any.whl",
        sha256="cd" * 32,
        size=1003,
    )
    assert got[0].source == Source() and got[0].requires_dist == ("pkg0001>=1.0", "numpy; extra == 'fast'")


@pytest.mark.parametrize(
    "edit",
    [
        lambda items: items[5].pop("name"),  # a required field missing from one record
        lambda items: [item.pop("version") for item in items],  # from every record
        lambda items: items[7].update(wheel_tags=["py3-none-any", 3]),  # an item of the wrong type
        lambda items: items[7].update(wheel_tags="py3-none-any"),  # not an array
        lambda items: items[9].update(requested=1),  # an int for a bool
        lambda items: items[9].update(name="Not_Canonical"),  # a rule
        lambda items: items[2]["artifact"].update(size=-1),  # a rule of a record inside
        lambda items: items.__setitem__(4, "not a table"),
    ],
)
def test_what_one_record_at_a_time_refuses_is_refused(edit: Any) -> None:
    items = [_package(i) for i in range(20)]
    edit(items)
    assert _many(PythonPackage, items)[0] == "refused"
    assert_same(PythonPackage, items)


def test_a_sparse_default_written_out_or_a_field_left_out_is_seen() -> None:
    """to_dict leaves ``installer = ""`` out and writes ``wheel_tags``: a document that differs either way is
    not its own plain form (its digest is then computed from the records)."""
    for edit in (lambda item: item.update(installer=""), lambda item: item.update(requested=False)):
        items = [_package(i) for i in range(20)]
        edit(items[11])
        assert_same(PythonPackage, items)


@pytest.mark.parametrize("path", sorted((ROOT / "export" / "golden").rglob("*.lock")), ids=lambda p: p.parent.name)
def test_the_arrays_of_every_golden_lock_read_alike(path: Path) -> None:
    document = _tomlfast.loads(path.read_text(encoding="utf-8"))
    assert document is not None
    arrays = [
        (PythonPackage, document.get("python", {}).get("packages", [])),
        (SystemPackage, document.get("system", {}).get("packages", [])),
        (SystemLibrary, document.get("system", {}).get("libraries", [])),
    ]
    for cls, items in arrays:
        if items:
            assert_same(cls, (items * 16)[:16] if len(items) < 16 else items)
    assert lockfile.loads(path.read_text(encoding="utf-8")) == lockfile.load(path)


def _rules() -> list[tuple[str, lockfile.Rule]]:
    found = [(f"{cls.__name__}.{name}", rule) for cls, rules in lockfile.RULES.items() for name, rule in rules.items()]
    found += [(f"key rule {name}", rule) for name, rules in lockfile.KEY_RULES.items() for rule in rules]
    return found


def _golden_values() -> list[str]:
    """Every string of the golden locks: values each rule takes (and many it refuses)."""
    out: set[str] = set()

    def walk(value: Any) -> None:
        if type(value) is str:
            out.add(value)
        elif type(value) is dict:
            out.update(value)
            list(map(walk, value.values()))
        elif type(value) is list:
            list(map(walk, value))

    for path in sorted((ROOT / "export" / "golden").rglob("*.lock")):
        walk(_tomlfast.loads(path.read_text(encoding="utf-8")))
    return sorted(out)


_GOLDEN = _golden_values()
_STRINGS = st.one_of(
    st.sampled_from(_GOLDEN),
    st.sampled_from(["", "a", "a" * 129, "a" * 1025, "x\n", "x\x1b", "\x85", "py3-none-any", "sha256:" + "a" * 64]),
    st.text(max_size=20),
)
_INTS = st.one_of(st.integers(-3, 70), st.integers(), st.sampled_from([2**40, 2**40 + 1, 1000, 1001]))


@pytest.mark.parametrize(("name", "rule"), _rules(), ids=[name for name, _ in _rules()])
@settings(max_examples=60, deadline=None)
@given(strings=st.lists(_STRINGS, max_size=8), ints=st.lists(_INTS, max_size=8))
def test_each_rule_tests_a_list_as_it_tests_each_value(
    name: str, rule: lockfile.Rule, strings: list[str], ints: list[int]
) -> None:
    """``Rule.all_ok`` (a column of 5,000 values at once) is ``all(map(ok, values))`` for every rule, on values
    of the field's type (``_fast_many`` tests the types first)."""
    values: list[Any] = ints if rule.bounds is not None or any(type(v) is int for v in rule.values) else strings
    assert rule.all_ok(values) == all(map(rule.ok, values)), (name, values)
    for value in values:
        assert rule.all_ok([value]) == bool(rule.ok(value)), (name, value)
