"""The report, the engine around the rules, and the shipped data tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from compat_builders import HOST, gpu_lock, snapshot

from envsnap.compat import RULES, Finding, Report, Rule, Target, evaluate
from envsnap.compat import data as compat_data
from envsnap.model import Snapshot
from envsnap.platforms import numbers


def test_verdict_is_the_worst_finding() -> None:
    ok, warn, fail = (Finding(s, "c", "n", "f", "", "r") for s in ("ok", "warn", "fail"))
    assert Report((ok,)).verdict == "compatible"
    assert Report((ok, warn)).verdict == "warnings"
    assert Report((warn, fail, ok)).verdict == "incompatible"
    assert Report(()).verdict == "compatible"
    assert Report((fail,)).failed and not Report((warn,)).failed


def test_failure_summary_for_error_messages() -> None:
    report = Report(
        (
            Finding("fail", "GPU 0", "sm_70", "sm_61: no kernel image", "use cu126"),
            Finding("warn", "Python", "3.11.7", "3.11.9", "patch"),
            Finding("fail", "disk space", "4 GiB", "1 GiB free", ""),
        )
    )
    assert report.failure_summary() == "GPU 0: sm_61: no kernel image (use cu126); disk space: 1 GiB free"
    assert Report(()).failure_summary() == ""


def test_finding_rejects_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severity"):
        Finding("error", "c", "n", "f")  # type: ignore[arg-type]


def test_render_rows_put_failures_first_and_keep_rule_order_within_a_severity() -> None:
    findings = (
        Finding("ok", "a", "", ""),
        Finding("fail", "b", "", ""),
        Finding("warn", "c", "", ""),
        Finding("fail", "d", "", ""),
    )
    assert [row[:2] for row in Report(findings).render_rows()] == [
        ("fail", "b"),
        ("fail", "d"),
        ("warn", "c"),
        ("ok", "a"),
    ]


def test_to_dict_is_json_ready() -> None:
    report = Report((Finding("warn", "Python", "cpython 3.11.7", "cpython 3.11.9", "fix", "python"),), target="venv")
    assert json.loads(json.dumps(report.to_dict())) == {
        "verdict": "warnings",
        "target": "venv",
        "cpu_only": False,
        "counts": {"ok": 0, "warn": 1, "fail": 0},
        "findings": [
            {
                "severity": "warn",
                "component": "Python",
                "needed": "cpython 3.11.7",
                "found": "cpython 3.11.9",
                "remedy": "fix",
                "rule": "python",
            }
        ],
    }


def test_evaluate_names_the_rule_and_downgrades_only_gpu_failures_with_cpu_only() -> None:
    class GpuRule(Rule):
        name = "gpu-thing"
        gpu = True

        def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
            return [Finding("fail", "GPU", "a GPU", "none", "buy one")]

    class OtherRule(Rule):
        name = "disk-thing"

        def evaluate(self, lock: Snapshot, host: Snapshot, target: Target) -> list[Finding]:
            return [Finding("fail", "disk", "1 GiB", "0", "free some")]

    rules = (GpuRule(), OtherRule())
    report = evaluate(snapshot(), snapshot(), Target(cpu_only=True), rules)
    assert [(f.rule, f.severity) for f in report.findings] == [("gpu-thing", "warn"), ("disk-thing", "fail")]
    assert report.findings[0].remedy == "accepted with --cpu-only (runs without the GPU); for GPU use: buy one"
    assert report.cpu_only


def test_every_rule_answers_an_empty_lock_on_an_empty_host() -> None:
    empty = Snapshot()
    report = evaluate(empty, empty, Target(kind="host"))
    assert report.verdict in ("compatible", "warnings")
    assert {r.name for r in RULES.values() if r.gpu} == {
        "cuda",
        "driver",
        "gpu-arch",
        "cuda-libs",
        "gpu-memory",
        "docker-gpu",
    }
    assert set(RULES) == {
        "platform",
        "python",
        "wheels",
        "glibc",
        "system-libs",
        "driver",
        "gpu-arch",
        "cuda",
        "cuda-libs",
        "gpu-memory",
        "cpu-isa",
        "disk",
        "docker",
        "docker-gpu",
    }


@pytest.mark.parametrize("name", ["nvidia", "torch_arch", "cpu_isa", "disk"])
def test_data_files_are_versioned_and_shipped_in_the_package(name: str) -> None:
    assert resources.files("envsnap.compat.data").joinpath(f"{name}.json").is_file()
    table = compat_data.load(name)
    assert isinstance(table["data_version"], int) and table["source"]
    assert table == json.loads(resources.files("envsnap.compat.data").joinpath(f"{name}.json").read_text("utf-8"))


def test_the_data_tables_are_read_without_importlib_resources() -> None:
    """A check reads the tables through the loader that imported the package: ``importlib.resources`` was 1.2-1.6
    ms of imports beside a venv rebuild's installer, for four files in a folder."""
    code = (
        "import sys\nfrom envsnap.compat import data\n"
        "assert all(data.load(n)['data_version'] for n in ('nvidia', 'torch_arch', 'cpu_isa', 'disk'))\n"
        "print(sorted(m for m in sys.modules if m.startswith('importlib.resources')))"
    )
    # -S: no site-packages, whose .pth files (an editable install's finder) may import it at every start.
    root = str(Path(compat_data.__file__).parents[3])
    env = os.environ | {"PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_driver_table_is_monotonic_and_compat_floors_lie_within_their_major() -> None:
    nvidia = compat_data.load("nvidia")
    rows = sorted((numbers(cuda), numbers(drv)) for cuda, drv in nvidia["toolkit_driver"].items())
    drivers = [drv for _, drv in rows]
    assert drivers == sorted(drivers)
    for major, floor in nvidia["minor_version_compatibility"].items():
        shipped = [drv for cuda, drv in rows if cuda[0] == int(major)]
        # 11.0 shipped before minor-version compatibility existed (450.51.05 < 450.80.02).
        assert numbers(floor) <= max(shipped), major


def test_release_sets_parse() -> None:
    for name, entry in compat_data.load("torch_arch")["variants"].items():
        assert entry.get("variant", name).startswith("cu") and entry["sm"]
        assert all(len(numbers(cap)) == 2 for cap in entry["sm"] + entry["ptx"])


def test_lock_on_itself_is_compatible() -> None:
    lock = gpu_lock()
    report = evaluate(lock, lock, HOST)
    assert report.verdict == "compatible", report.render_rows()


def test_the_summary_counts_one_warning_as_one() -> None:
    """It read "warnings: 0 failed, 1 warnings, 1 ok"."""
    ok, warn = (Finding(s, "c", "n", "f", "", "r") for s in ("ok", "warn"))
    assert Report((ok, warn)).summary() == "warnings: 0 failed, 1 warning, 1 ok (target: host)"
    assert Report((ok, warn, warn)).summary() == "warnings: 0 failed, 2 warnings, 1 ok (target: host)"
