"""The compatibility check probes only what its rules read (``probes.capture.check_probes``): the report on a lean
capture is the report on a full one, for locks that pass, warn and fail in every area; and a rebuild's check
runs no pass over the probed interpreter's shared objects, while its verify still gets the package database."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gpu_fakes
import pytest
from testutil import locks_for_this_host

from envsnap.compat import evaluate
from envsnap.probes import system
from envsnap.probes.capture import check_probes, run_capture
from envsnap.probes.interface import CaptureOptions
from envsnap.rebuild import check_target


def _rows(report: Any) -> list[tuple[str, ...]]:
    """The findings, without the free space the disk rule found (it moves between two captures)."""
    return [
        (f.severity, f.component, f.needed, "(free space)" if f.rule == "disk" else f.found, f.remedy, f.rule)
        for f in report.findings
    ]


@pytest.mark.parametrize("kind", ["host", "venv"])
def test_the_report_on_the_lean_capture_is_the_report_on_the_full_one(kind: str) -> None:
    options = CaptureOptions(project_state=False)
    target = check_target(kind)
    full = run_capture(options).snapshot
    # A venv's check reads the interpreter's own facts only (the test below): none of its distributions
    lean_options = dataclasses.replace(options, interpreter_only=target.facts.installs_packages)
    lean = run_capture(lean_options, probes=check_probes()).snapshot
    assert lean.system.manager == full.system.manager and not lean.system.packages and full.system.packages
    assert bool(lean.python.packages) == (kind == "host")
    verdicts = set()
    for name, lock in locks_for_this_host(full).items():
        on_full, on_lean = evaluate(lock, full, target), evaluate(lock, lean, target)
        assert _rows(on_lean) == _rows(on_full), name
        verdicts.add(on_full.failed)
    assert verdicts == {True, False}  # the locks pass and fail


def test_a_rebuild_check_reads_no_shared_objects_and_leaves_the_verify_the_package_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from envsnap.rebuild._preflight import check_host

    passes: list[int] = []
    real = system.probe_system

    def counted(*args: Any, **kwargs: Any) -> Any:
        passes.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(system, "probe_system", counted)
    lock = run_capture(CaptureOptions(project_state=False)).snapshot
    passes.clear()
    checked = check_host(lock, target="venv", python=None, force=False, dest=tmp_path / "env")
    assert passes == []  # the check's capture did not look at a shared object
    assert checked.host.system is not None
    database, _loader = checked.host.system.result()
    assert database.installed()  # read for the verify, which takes it (run_capture(same_host=...))


def _with_cudnn_wheel(venv: Path, make_venv: Callable[..., Path]) -> str:
    """A venv whose interpreter has NVIDIA's cuDNN wheel installed (its metadata is what the CUDA probe reads of a
    pip copy); its interpreter."""
    python = make_venv(venv)
    (site,) = venv.glob("lib/python*/site-packages")
    dist = site / "nvidia_cudnn_cu12-9.7.1.26.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nvidia-cudnn-cu12\nVersion: 9.7.1.26\n\n")
    (dist / "RECORD").write_text("")
    return str(python)


def test_the_check_of_a_target_that_installs_the_locks_packages_reads_none_of_the_interpreters(
    tmp_path: Path, make_venv: Callable[..., Path]
) -> None:
    """A venv (conda, docker) rebuild installs the lock's distributions, not those of the interpreter it starts
    from: a cuDNN wheel installed there counted as the host's cuDNN for a venv that cannot load it. The check of
    such a target reads the interpreter's own facts only; the host target's reads what is installed."""
    python = _with_cudnn_wheel(tmp_path / "base", make_venv)
    bare = str(make_venv(tmp_path / "bare"))

    def captured(interpreter: str, kind: str) -> Any:
        only = check_target(kind).facts.installs_packages
        options = CaptureOptions(python_path=interpreter, project_state=False, interpreter_only=only)
        return run_capture(options, probes=check_probes()).snapshot

    on_host, on_venv = captured(python, "host"), captured(python, "venv")
    assert on_host.cuda is not None and on_venv.cuda is not None
    wheel = ("cudnn", "9.7.1.26", "pip", "nvidia-cudnn-cu12")
    assert wheel in [(c.component, c.version, c.source, c.location) for c in on_host.cuda.copies]
    assert on_venv.cuda == captured(bare, "venv").cuda  # the system's, whatever this machine has
    assert wheel not in [(c.component, c.version, c.source, c.location) for c in on_venv.cuda.copies]
    assert [p.name for p in on_host.python.packages] == ["nvidia-cudnn-cu12"] and not on_venv.python.packages
    assert (on_venv.python.version, on_venv.python.implementation) == (on_host.python.version, "cpython")
    assert {check_target(kind).facts.installs_packages for kind in ("venv", "conda", "docker")} == {True}
    assert check_target("host").facts.installs_packages is False


def test_an_interpreter_only_probe_of_the_running_interpreter_answers_in_process_as_a_subprocess_would() -> None:
    import json

    from envsnap.probes.interface import RawPython
    from envsnap.probes.pending import PROBE_PATH, PendingProbe

    here = PendingProbe(sys.executable, interpreter_only=True)
    assert here._proc is None and here.answered  # no process started
    there = subprocess.run(
        [sys.executable, "-E", "-B", PROBE_PATH, "--interpreter-only"], capture_output=True, check=True
    )
    answer = RawPython.from_json(json.loads(there.stdout), "the probe")
    assert not answer.packages and not here.result().packages
    facts = ("implementation", "version", "abi", "soabi", "platform_tag", "pointer_bits", "free_threaded")
    assert [getattr(here.result(), f) for f in facts] == [getattr(answer, f) for f in facts]


@gpu_fakes.requires_gcc
def test_a_capture_taking_a_check_s_host_facts_asks_nvml_the_check_did_not(tmp_path: Path) -> None:
    """A rebuild's check of a CPU-only lock leaves NVML out (``check_probes(gpus=False)``); the verify after the
    rebuild takes that capture's host facts (``same_host``), and must not take "no driver" from it: it asks NVML
    itself, and compares the driver as a verify without a rebuild does."""
    nvml = gpu_fakes.FakeNvml(driver="550.54.14", gpus=(gpu_fakes.FakeGpu("NVIDIA H100 80GB HBM3", (9, 0), 80 << 30),))
    options = CaptureOptions(
        project_state=False, environ=gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    )
    checked = run_capture(options, probes=check_probes(gpus=False))
    assert checked.snapshot.nvidia is None and checked.unasked == {"nvidia", "project", "environment", "kernels"}
    after = run_capture(options, same_host=checked)
    assert after.snapshot.nvidia is not None and after.snapshot.nvidia.driver_version == "550.54.14"
    assert [g.name for g in after.snapshot.hardware.gpus] == ["NVIDIA H100 80GB HBM3"]
    # A check that asked NVML hands its answer on, as before: the driver is asked once.
    asked = run_capture(options, probes=check_probes())
    assert run_capture(options, same_host=asked).results["nvidia"] is asked.results["nvidia"]
