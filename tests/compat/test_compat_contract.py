"""The rule family's contract: one abstract base, one registry of the shape every family shares, and the
metadata each rule carries itself."""

from __future__ import annotations

import dataclasses

from compat_builders import GTX_1080, H100, HOST, gpu_host, gpu_lock, gpus, pkg, snapshot, torch_cu
from testutil import assert_complete_family

from envsnap._defaults import NVML_HUNG
from envsnap.compat import evaluate, reads_gpus, rules
from envsnap.compat.rules.interface import Rule
from envsnap.model import Nvidia


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


def test_a_rule_that_says_it_reads_no_gpu_facts_finds_the_same_on_every_host() -> None:
    """``Rule.reads_gpus``: the check asks NVML nothing where no rule reads its answer for the lock (a hung driver
    held a CPU lock's check for the whole --gpu-timeout). So a rule that says it does not read them must find the
    same on a host with GPUs, one whose driver hung and one without a driver."""
    cpu_torch = pkg("torch", "2.7.1+cpu", "cp311-cp311-manylinux_2_28_x86_64")
    package, framework = torch_cu("2.5.1", "12.4")
    locks = {
        "plain": snapshot(),
        "cpu torch": snapshot(packages=[cpu_torch]),
        "cpu torch captured on a GPU machine": snapshot(
            packages=[cpu_torch], gpu_list=gpus(H100), driver="570.133.20", driver_cuda="12.8"
        ),
        "cuda torch": gpu_lock("2.5.1", "12.4", gpu=H100),
        "cuda torch, no GPU recorded": snapshot(packages=[package], frameworks=[framework]),
        "cuda framework only": snapshot(frameworks=[framework]),
    }
    hung = Nvidia(source="nvml", error=f"{NVML_HUNG} 10 s (a hung driver?)")
    hosts = [
        snapshot(),
        dataclasses.replace(snapshot(), nvidia=hung),
        gpu_host(H100, "570.133.20", "12.8"),
        gpu_host(GTX_1080, "470.82.01", "11.4"),
    ]
    targets = [HOST, dataclasses.replace(HOST, cpu_only=True), dataclasses.replace(HOST, cuda_visible_devices="")]
    asked = set()
    for name, lock in locks.items():
        if reads_gpus(lock):
            asked.add(name)
        for rule in rules.REGISTRY.values():
            if rule.reads_gpus(lock):
                continue
            for target in targets:
                found = {tuple(evaluate(lock, host, target, (rule,)).render_rows()) for host in hosts}
                assert len(found) == 1, (name, rule.name, found)
    assert asked == {"cuda torch", "cuda torch, no GPU recorded", "cuda framework only"}
