"""The compatibility check probes only what its rules read (``probes.capture.check_probes``): the report on a lean
capture is the report on a full one, for locks that pass, warn and fail in every area; and a rebuild's check
runs no pass over the probed interpreter's shared objects, while its verify still gets the package database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    full = run_capture(options).snapshot
    lean = run_capture(options, probes=check_probes()).snapshot
    assert lean.system.manager == full.system.manager and not lean.system.packages and full.system.packages
    target = check_target(kind)
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
