"""The rule family's contract: one abstract base, one registry of the shape every family shares, and the
metadata each rule carries itself."""

from __future__ import annotations

import dataclasses

from compat_builders import HOST, snapshot
from testutil import assert_complete_family

from envsnap.compat import evaluate, rules
from envsnap.compat.rules.interface import Rule


def test_every_rule_is_a_complete_rule_and_declared() -> None:
    assert_complete_family(rules.REGISTRY, rules)
    assert rules.REGISTRY.base is Rule


def test_rules_carry_the_areas_their_ok_rests_on() -> None:
    assert {r.name: r.areas for r in rules.REGISTRY.values() if r.areas} == {
        "cpu-isa": ("hardware",),
        "cuda": ("cuda", "frameworks"),
        "driver": ("cuda", "nvidia"),
        "gpu-arch": ("frameworks", "hardware"),
        "cuda-libs": ("cuda",),
        "gpu-memory": ("hardware",),
    }


def test_a_rules_own_areas_turn_its_ok_into_a_warning_for_an_import() -> None:
    class Always(Rule):
        name = "always"
        areas = ("system",)

        def evaluate(self, lock, host, target):  # type: ignore[no-untyped-def]
            from envsnap.compat import Finding

            return [Finding("ok", "thing", "x", "x", "")]

    lock = snapshot()
    imported = dataclasses.replace(
        lock, envsnap=dataclasses.replace(lock.envsnap, unknown=("system",), origin="a pylock.toml")
    )
    [ok] = evaluate(lock, lock, HOST, (Always(),)).findings
    [warned] = evaluate(imported, lock, HOST, (Always(),)).findings
    assert (ok.severity, ok.rule) == ("ok", "always")
    assert warned.severity == "warn" and warned.needed == "unknown: a pylock.toml does not record system"
