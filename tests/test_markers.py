"""The markers that make ``pytest -m "not slow"`` a fast offline subset (README, CONTRIBUTING.md): registered, and
applied by tests/conftest.py from the fixtures a test uses and the file it is in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from testutil import MARK_BY_FIXTURE, SLOW

from envsnap._toml import tomllib

REPO = Path(__file__).resolve().parents[1]
SERVICES = {"docker", "conda", "network", "tex", "slurm", "integration"}


def test_the_markers_are_registered_strictly() -> None:
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    registered = {line.split(":", 1)[0] for line in options["markers"]}
    assert {"docker", "conda", "network", "tex", "slow"} <= registered
    assert "--strict-markers" in options["addopts"].split()  # a misspelt marker is an error, not a new marker


def test_every_collected_test_carries_the_markers_of_what_it_uses(request: pytest.FixtureRequest) -> None:
    """Over whatever this run collected: a test using a docker, conda or network fixture has that marker, and
    every test needing a service is slow (so ``-m "not slow"`` never starts one)."""
    by_fixture = MARK_BY_FIXTURE
    for item in request.session.items:
        marks = {m.name for m in item.iter_markers()}
        for fixture in getattr(item, "fixturenames", ()):
            if fixture in by_fixture:
                assert by_fixture[fixture] in marks, (item.nodeid, fixture)
        if marks & SERVICES:
            assert "slow" in marks, item.nodeid
        if "slow" not in marks:
            assert not marks & SERVICES, item.nodeid


def _collected(*args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode in (0, 5), done.stdout[-2000:] + done.stderr[-2000:]  # 5: nothing selected
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_fast_subset_leaves_out_the_engine_the_conda_envs_and_tex() -> None:
    files = [
        "tests/rebuild/test_docker_engine.py",
        "tests/export/test_export_appendix.py",
        "tests/test_environment_selection.py",
    ]
    everything = _collected(*files)
    fast = _collected("-m", "not slow", *files)
    assert not [t for t in fast if "test_docker_engine.py" in t or "pdflatex" in t or "imported_conda_lock" in t]
    docker = _collected("-m", "docker", *files)
    assert docker and all("test_docker_engine.py" in t for t in docker)
    assert len(docker) == len([t for t in everything if "test_docker_engine.py" in t])
    conda = _collected("-m", "conda", *files)
    assert conda and set(conda) <= set(everything) - set(fast)
    assert _collected("-m", "tex", *files)
    assert fast and set(fast) < set(everything)


def test_every_long_test_named_is_there() -> None:
    """tests/slow_tests.txt names files and tests that exist (a renamed test would silently join the fast subset)."""
    assert SLOW
    for entry in SLOW:
        file, _, test = entry.partition("::")
        path = REPO / "tests" / file
        assert path.is_file(), entry
        assert not test or f"def {test}(" in path.read_text(), entry


def test_the_fast_subset_leaves_out_the_tests_that_fetch_from_the_index() -> None:
    # Each of these fixtures downloads from the package index; offline, the fast subset errored on them.
    fetching = [
        "tests/probes/test_python_probe.py::test_python_packages_recorded_in_detail",
        "tests/probes/test_cuda.py::test_runtime_wheel_ctypes_agrees_with_metadata",
        "tests/paper/test_artifact.py::test_the_ro_crate_validates_with_rocrate_and_lists_every_file",
    ]
    files = sorted({test.split("::")[0] for test in fetching})
    fast = _collected("-m", "not slow", *files)
    assert fast and not [t for t in fast if t.split("[")[0] in fetching]
    assert set(fetching) <= {t.split("[")[0] for t in _collected("-m", "network", *files)}
