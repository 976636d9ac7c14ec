"""The exporter family's contract: one abstract base, one registry of the shape every family shares."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from testutil import assert_complete_family

from envsnap import export
from envsnap._plugins import Registry
from envsnap.errors import EnvsnapError, ExportError
from envsnap.export.interface import Exporter
from envsnap.model import Snapshot


def test_every_exporter_is_a_complete_exporter_and_declared() -> None:
    assert_complete_family(export.REGISTRY, export)
    assert export.REGISTRY.base is Exporter
    assert export.exporters() == dict(export.REGISTRY)


def test_an_unknown_format_is_bad_input() -> None:
    with pytest.raises(ExportError, match=r"unknown export format 'docx' \(known: conda-explicit, ") as caught:
        export.get("docx")
    assert caught.value.exit_code == 2


def test_render_hands_the_format_a_lock_without_secrets(rich: Snapshot) -> None:
    seen: list[Snapshot] = []

    class Spy(Exporter):
        name = "spy"
        description = "records what it was given"
        filename = "spy.txt"

        def files(self, snapshot: Snapshot) -> Mapping[str, bytes]:
            seen.append(snapshot)
            return {}

    import dataclasses

    url = "https://user:secret@example.invalid/simple"
    first = rich.python.packages[0]
    leaky = dataclasses.replace(first, source=dataclasses.replace(first.source, url=url))
    lock = dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=(leaky,)))
    Spy().render(lock)
    assert "secret" not in repr(seen[0])


def test_a_registry_refuses_a_foreign_member_or_a_second_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    fake = types.ModuleType("fakefamily.member")
    fake.OTHER = object()  # type: ignore[attr-defined]
    fake.JSON = export.get("json")  # type: ignore[attr-defined]

    class Half(type(export.get("json"))):  # type: ignore[misc]
        pass

    half = Half()
    Half.__abstractmethods__ = frozenset({"files"})  # abstract again after it was made: what inspect.isabstract sees
    fake.HALF = half  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fakefamily", types.ModuleType("fakefamily"))
    monkeypatch.setitem(sys.modules, "fakefamily.member", fake)
    for members, error in (
        (("member:OTHER",), "is not a complete Exporter"),
        (("member:HALF",), "is not a complete Exporter"),
        (("member:JSON", "member:JSON"), "its name 'json' is empty or taken"),
    ):
        registry: Registry[Exporter] = Registry(Exporter, "fakefamily", members, what="format", unknown=EnvsnapError)
        with pytest.raises(TypeError, match=error):
            list(registry)
