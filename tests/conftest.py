"""Fixtures shared by every test area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import tomli  # noqa: F401  # before any test imports conda_lock, whose vendored tomli would shadow it (_toml.py)
from testutil import MARK_BY_FIXTURE, MARKS_BY_FILE, SLOW, SLOW_BECAUSE, CliResult, uv_bin

from envsnap.cli import main

REPO = Path(__file__).resolve().parent.parent

# Session fixtures that build a local conda channel and environments (tests/condafixtures.py).
pytest_plugins = ["condafixtures"]


# ------------------------------------------------------------------------------------------------ markers
# `python3 -m pytest -m "not slow"` is the fast offline subset a contributor runs before each commit; plain
# `python3 -m pytest` (what .ci/run runs) is the full suite. The tables are in testutil.py.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).resolve().parent
    for item in items:
        where = item.path.resolve().relative_to(tests).as_posix()
        marks = {MARK_BY_FIXTURE[name] for name in getattr(item, "fixturenames", ()) if name in MARK_BY_FIXTURE}
        marks.update(MARKS_BY_FILE.get(where, ()))
        marks.update(m.name for m in item.iter_markers() if m.name in SLOW_BECAUSE)
        test = f"{where}::{item.nodeid.split('::', 1)[-1].split('[', 1)[0]}"
        if marks & set(SLOW_BECAUSE) or where in SLOW or test in SLOW:
            marks.add("slow")
        for name in sorted(marks - {m.name for m in item.iter_markers()}):
            item.add_marker(name)


@pytest.fixture(autouse=True)
def _no_activated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """capture, verify and check use an activated venv or conda env before the interpreter running them: the
    suite must not depend on what the developer's shell has activated (conda's base often is). Tests that
    want one set it themselves."""
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        value = os.environ.get(var)
        if value and os.path.realpath(value) != os.path.realpath(sys.prefix):
            monkeypatch.delenv(var)


@pytest.fixture(autouse=True)
def _no_lock_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every lock is parsed and checked from its text (tests/security/test_lockcache.py turns the parsed-lock cache
    on in a folder of its own): the suite writes nothing to the user's cache and no test reads another's entry."""
    monkeypatch.setenv("ENVSNAP_LOCK_CACHE", "0")
    # Nor compiled templates (tests/test_template_cache.py turns that cache on in a folder of its own).
    monkeypatch.setenv("ENVSNAP_TEMPLATE_CACHE", "0")


@pytest.fixture(autouse=True)
def _own_cache_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has a cache folder of its own: envsnap's caches and memos (the capture memo answers a capture
    of an unchanged environment without probing it) never carry one test's answer, or an earlier session's,
    into another test that patched what a probe reads. uv's and pip's own caches stay where they are (the suite
    installs real wheels through them)."""
    from envsnap._defaults import ARTIFACTS_CACHE, CONDA_CACHE, user_cache_root

    real = user_cache_root()
    monkeypatch.setenv("UV_CACHE_DIR", os.environ.get("UV_CACHE_DIR") or str(real / "uv"))
    monkeypatch.setenv("PIP_CACHE_DIR", os.environ.get("PIP_CACHE_DIR") or str(real / "pip"))
    home = tmp_path_factory.mktemp("cache-home")
    # Downloads are kept by their hash and checked against it on every use: one folder serves the whole session.
    shared = tmp_path_factory.getbasetemp() / "downloads"
    (home / "envsnap").mkdir(mode=0o700)
    for kind in (ARTIFACTS_CACHE, CONDA_CACHE):
        (shared / kind).mkdir(mode=0o700, parents=True, exist_ok=True)
        (home / "envsnap" / kind).symlink_to(shared / kind)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``envsnap ARGS`` in-process and return its exit code and output."""

    def invoke(*args: str) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture(scope="session")
def make_venv() -> Callable[..., Path]:
    """make_venv(path, *requirements) -> the venv's python. Uses uv when available, else venv + pip."""

    def create(path: Path, *requirements: str, python: str = sys.executable) -> Path:
        uv = uv_bin()
        if uv:
            subprocess.run([uv, "venv", "-q", "--python", python, str(path)], check=True)
        else:
            subprocess.run([python, "-m", "venv", str(path)], check=True)
        exe = path / "bin" / "python"
        if requirements:
            if uv:
                subprocess.run([uv, "pip", "install", "-q", "--python", str(exe), *requirements], check=True)
            else:
                subprocess.run([str(exe), "-m", "pip", "install", "-q", *requirements], check=True)
        return exe

    return create


@pytest.fixture(scope="session")
def envsnap_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """envsnap's wheel, built from this source tree as a user's ``pip wheel .`` would."""
    out = tmp_path_factory.mktemp("envsnap-wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)], check=True, timeout=600
    )
    (wheel,) = out.glob("envsnap_lock-*.whl")
    return wheel


@pytest.fixture(scope="session")
def built_wheel_venv(envsnap_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with envsnap installed NON-editable from its built wheel (and its requirements from the
    configured index), as a user installs it: not the editable install the other tests run."""
    venv = tmp_path_factory.mktemp("envsnap-installed") / "venv"
    uv = uv_bin()
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=300)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(envsnap_wheel)],
            check=True,
            timeout=900,
        )
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(envsnap_wheel)], check=True, timeout=900
        )
    return venv
