"""Faults leave nothing half-made and nothing running: timeouts and floods kill a command's whole process group,
Ctrl-C is one line and exit 130, what a killed run left is recognised and cleaned by the next one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap import _runner
from envsnap.errors import ProbeError
from envsnap.probes import nvidia
from envsnap.probes import python as python_probe

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for this purpose (its parent, the shell, was killed and init reaps it).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_for(path: Path, limit: float = 20.0) -> None:
    end = time.monotonic() + limit
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids a test started indirectly: killed at the end whatever happened (the test must not leak them)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------------------- the runner


def test_a_timeout_kills_the_whole_group_and_returns_at_the_timeout(tmp_path: Path, reap: list[int]) -> None:
    pidfile = tmp_path / "pid"
    wrapper = _script(tmp_path / "wrapper", f"sleep 20 &\necho $! > {pidfile}\nwait\n")
    started = time.monotonic()
    result = _runner.run([str(wrapper)], timeout=1)
    elapsed = time.monotonic() - started
    reap.append(int(pidfile.read_text()))
    assert result.timed_out and not result.ok
    assert elapsed < 8, elapsed  # not the 20 s the child holding the pipes would take
    assert not _alive(int(pidfile.read_text()))


def test_a_child_left_behind_by_a_command_that_exited_is_killed(tmp_path: Path, reap: list[int]) -> None:
    pidfile = tmp_path / "pid"
    wrapper = _script(tmp_path / "wrapper", f"(sleep 20 >/dev/null 2>&1 & echo $! > {pidfile})\necho done\n")
    started = time.monotonic()
    result = _runner.run([str(wrapper)], timeout=10)
    reap.append(int(pidfile.read_text()))
    assert result.ok and result.stdout == "done\n"
    assert time.monotonic() - started < 8
    assert not _alive(int(pidfile.read_text()))


def test_a_flood_of_output_is_one_error_not_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_runner, "MAX_OUTPUT", 1 << 20)
    result = _runner.run(["yes"], timeout=30)
    assert result.flooded and not result.ok and "more than 1048576 bytes" in result.stderr
    assert len(result.stdout) <= 1 << 20


# ------------------------------------------------------------------------------------ the --python probe


def test_the_python_probe_timeout_kills_a_wrapper_and_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reap: list[int]
) -> None:
    pidfile = tmp_path / "pid"
    wrapper = _script(tmp_path / "python", f"sleep 20 &\necho $! > {pidfile}\nwait\n")
    monkeypatch.setattr(python_probe, "PROBE_TIMEOUT", 1.0)
    started = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 1 s"):
        python_probe.run_probe(str(wrapper))
    reap.append(int(pidfile.read_text()))
    assert time.monotonic() - started < 8
    assert not _alive(int(pidfile.read_text()))


def test_a_probe_flooding_stdout_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.setattr(_runner, "MAX_OUTPUT", 4 << 20)
    wrapper = _script(tmp_path / "python", "exec yes\n")
    result = cli("capture", "--python", wrapper, "-o", tmp_path / "l.lock")
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and "more than 4194304 bytes of output" in result.err
    assert not (tmp_path / "l.lock").exists()


def test_a_forking_nvml_worker_leaves_no_child_running(tmp_path: Path, reap: list[int]) -> None:
    pidfile = tmp_path / "pid"
    # What a driver library that forks a helper at init looks like from outside: the worker answers and exits,
    # its child lives on (holding the pipes).
    worker = _script(tmp_path / "python", f"(sleep 20 & echo $! > {pidfile})\necho '{{\"fatal\": \"no GPU\"}}'\n")
    started = time.monotonic()
    answer = nvidia.query_nvml(5, False, dict(os.environ), python=str(worker))
    reap.append(int(pidfile.read_text()))
    assert answer == {"fatal": "no GPU"}
    assert time.monotonic() - started < 4.5
    assert not _alive(int(pidfile.read_text()))


# ------------------------------------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_while_the_command_line_loads_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    from envsnap import cli as cli_mod

    def interrupted(_command: str | None = None) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_mod, "command_modules", interrupted)
    result = cli("show", "x.lock")
    assert result.code == 130 and result.err == "envsnap: interrupted\n", result


def test_sigint_during_a_probe_exits_130_with_one_line_and_kills_the_probe(tmp_path: Path, reap: list[int]) -> None:
    pidfile = tmp_path / "pid"
    wrapper = _script(tmp_path / "python", f"sleep 30 &\necho $! > {pidfile}\nwait\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "envsnap", "capture", "--python", str(wrapper), "-o",
                             str(tmp_path / "l.lock")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _wait_for(pidfile)
        reap.append(int(pidfile.read_text()))
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err == "envsnap: interrupted\n"
    assert not _alive(int(pidfile.read_text()))
