"""Probing the target: free disk space and the Docker engine through the real Docker SDK."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
from compat_builders import gpu_lock

from envsnap.api import check
from envsnap.compat.target import docker_facts_from_info, free_mib, probe_docker
from envsnap.errors import EnvsnapError
from envsnap.platforms import machine
from envsnap.rebuild import check_target, check_targets, rebuilders


def test_free_mib_of_a_path_not_yet_created_is_its_parents(tmp_path: Path) -> None:
    here = free_mib(str(tmp_path))
    assert here is not None and here > 0
    later = free_mib(str(tmp_path / "not" / "yet"))
    assert later is not None and abs(later - here) < 64


def test_unknown_target_kind_is_bad_input(tmp_path: Path) -> None:
    # Never checked as the host (the preflight did that for any target the check did not know).
    for call in (lambda: check_target("kubernetes"), lambda: check(gpu_lock(), gpu_lock(), target="kubernetes")):
        with pytest.raises(EnvsnapError, match="unknown rebuild target 'kubernetes'") as caught:
            call()
        assert caught.value.exit_code == 2


def test_the_check_targets_are_the_host_and_the_rebuild_targets() -> None:
    assert check_targets() == ("host", *rebuilders())
    for kind in rebuilders():
        probed = check_target(kind, disk_path=".") if kind != "docker" else None
        if probed is not None:
            assert probed.kind == kind and probed.facts == rebuilders()[kind].target_facts


def test_docker_facts_from_info() -> None:
    facts = docker_facts_from_info(
        {
            "Architecture": "aarch64",
            "OSType": "linux",
            "DefaultRuntime": "runc",
            "Runtimes": {"runc": {}, "nvidia": {"path": "nvidia-container-runtime"}},
            "DockerRootDir": "/var/lib/docker",
        }
    )
    assert facts.reachable and facts.runtimes == ("nvidia", "runc") and facts.architecture == "aarch64"


def test_unreachable_engine_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    facts = probe_docker(timeout=2)
    assert not facts.reachable and facts.error
    report = check(gpu_lock(), gpu_lock(), target="docker")
    [finding] = report.by_rule("docker")
    assert finding.severity == "fail" and finding.found.startswith("unreachable: ")
    assert report.verdict == "incompatible"


def _engine_reachable() -> bool:
    return probe_docker(timeout=3).reachable


@pytest.mark.integration
@pytest.mark.docker
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine answers on this machine (start dockerd)")
def test_real_engine_reports_its_machine_and_runtimes() -> None:
    facts = probe_docker()
    assert facts.reachable and facts.os_type == "linux"
    assert machine(facts.architecture) == machine(platform.machine())
    assert "runc" in facts.runtimes
    report = check(gpu_lock(), gpu_lock(), target="docker")
    [engine] = report.by_rule("docker")
    [runtime] = report.by_rule("docker-gpu")
    assert engine.severity == "ok"
    assert runtime.severity == ("ok" if "nvidia" in facts.runtimes else "fail")
