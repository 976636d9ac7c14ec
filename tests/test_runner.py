"""Waiting on a command costs nothing (issue 18): ``Running.wait`` sleeps until the command exits, floods or runs
out of time, and never polls. Timeouts, floods, group kills and Ctrl-C: tests/security/test_faults.py."""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from envsnap import _runner


def counting(monkeypatch: pytest.MonkeyPatch, name: str, calls: list[str]) -> None:
    original: Callable[..., Any] = getattr(subprocess.Popen, name)

    def counted(self: subprocess.Popen[bytes], *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, name, counted)


def test_waiting_two_seconds_checks_the_command_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """The old loop woke every 50 ms (about 40 poll and 40 wait calls for a 2 s command, ~0.03 CPU-s a second)."""
    calls: list[str] = []
    counting(monkeypatch, "poll", calls)
    counting(monkeypatch, "wait", calls)
    result = _runner.run(["sleep", "2"], timeout=30)
    assert result.ok
    assert len(calls) <= 3, calls  # the reaper's blocking wait, the final wait, at most one poll


def test_waiting_costs_next_to_no_cpu() -> None:
    """CPU time, not wall time: waiting 2 s on ``sleep 2`` used ~0.025 CPU-s with the polling loop. The waiting
    thread's own CPU: the whole process's also counts what threads of earlier tests still do (a CI run measured
    0.0103 s so, once)."""
    running = _runner.start(["sleep", "2"])
    before = resource.getrusage(resource.RUSAGE_THREAD)
    result = running.wait(30)
    after = resource.getrusage(resource.RUSAGE_THREAD)
    assert result.ok
    assert (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) < 0.01


def test_a_timeout_still_ends_the_wait_and_the_command() -> None:
    result = _runner.run(["sleep", "30"], timeout=0.5)
    assert result.timed_out and not result.ok
    assert result.stderr == "timed out after 0.5 s"


def test_a_timeout_keeps_what_the_command_said_when_asked() -> None:
    """``fleet check`` tells from a node's standard error until the deadline what it was waiting on."""
    running = _runner.start(["sh", "-c", "echo waiting for nvml >&2; sleep 30"])
    result = running.wait(2, keep_stderr=True)
    assert result.timed_out and result.stderr == "waiting for nvml\n"


def test_a_flood_wakes_the_wait() -> None:
    running = _runner.start(["yes"], max_output=1 << 16)
    result = running.wait(60)
    assert result.flooded and not result.timed_out


def test_kill_from_another_thread_wakes_the_wait_without_a_timeout() -> None:
    """``kill_all`` (the CLI on Ctrl-C or exit) ends a command another thread is waiting on; that wait returns
    at once with the killed command's result, not after its timeout."""
    running = _runner.start(["sleep", "60"])
    killer = threading.Timer(0.3, _runner.kill_all)
    killer.start()
    result = running.wait(60)
    killer.join()
    assert not result.timed_out and result.returncode == -9


def test_output_is_captured_without_deadlock_past_a_pipe_buffer() -> None:
    result = _runner.run(["sh", "-c", "head -c 1000000 /dev/zero | tr '\\\\0' a; echo err >&2"], timeout=30)
    assert result.ok
    assert len(result.stdout) == 1_000_000 and result.stderr == "err\n"


def test_a_zero_or_negative_timeout_is_a_timeout_not_an_error() -> None:
    assert _runner.run(["sleep", "5"], timeout=0).timed_out
    assert _runner.run(["sleep", "5"], timeout=-1).timed_out


def test_a_result_holds_each_field_where_it_was_given_and_cannot_be_changed() -> None:
    """``Result`` is a plain frozen class (not a dataclass: ``_runner`` is on the way to a capture's first probe)."""
    result = _runner.Result(("cmd",), 3, "out", "err", timed_out=True, flooded=False)
    assert (result.args, result.returncode, result.stdout, result.stderr) == (("cmd",), 3, "out", "err")
    assert result.timed_out and not result.flooded and not result.ok
    assert result == _runner.Result(("cmd",), 3, "out", "err", True, False)
    assert result != _runner.Result(("cmd",), 3, "out", "err")
    assert hash(result) == hash(_runner.Result(("cmd",), 3, "out", "err", True))
    assert repr(result) == (
        "Result(args=('cmd',), returncode=3, stdout='out', stderr='err', timed_out=True, flooded=False)"
    )
    assert _runner.run([sys.executable, "-c", "print('hi')"]).stdout == "hi\n"
    with pytest.raises(AttributeError):
        result.returncode = 0  # type: ignore[misc]


def test_a_capture_starts_its_probe_before_the_probe_contract_loads() -> None:
    """``probes.pending`` (what ``capture``, ``verify`` and a rebuild's check import to start the target's probe)
    imports neither the dataclasses of the probe contract and the model nor the parsed-lock cache: the probe
    starts before them, and they load while the target scans."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"  # an editable install's .pth files import some of them at start-up
        "from envsnap._defaults import bypassed\n"
        "with bypassed():\n"
        "    import envsnap.probes.pending\n"
        "print(sorted(m for m in ('dataclasses', 'typing', 'envsnap.probes.interface', 'envsnap.model',"
        " 'envsnap._lockcache') if m in sys.modules and m not in before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
