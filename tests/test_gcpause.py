"""The cyclic collector is off while a large lock is read and checked (``envsnap/_gcpause.py``), and on again
after, only where it was on."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from testutil import sample_lock

from envsnap import _gcpause, _readlimits, lockfile


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_paused_turns_the_collector_off_and_on_again() -> None:
    with _gcpause.paused():
        assert not gc.isenabled()
        with _gcpause.paused():  # an inner block leaves it to the outer one
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), _gcpause.paused():
        raise ValueError
    assert gc.isenabled()


def test_a_caller_that_turned_it_off_keeps_it_off() -> None:
    gc.disable()
    with _gcpause.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_a_lock_is_read_and_checked_with_the_collector_off(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    load_toml = _readlimits.load_toml

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return load_toml(*args, **kwargs)

    monkeypatch.setattr(_readlimits, "load_toml", spy)
    monkeypatch.setenv("ENVSNAP_LOCK_CACHE", "0")
    lockfile._loads_once.cache_clear()
    text = lockfile.dumps(lockfile.seal(sample_lock()))
    assert lockfile.loads(text, origin="gc-test") == lockfile.seal(sample_lock())
    assert seen == [False] and gc.isenabled()
    with pytest.raises(lockfile.LockfileError):
        lockfile.loads(text.replace("[envsnap]", "[envsnap]\nx = 1", 1), origin="gc-test")
    assert gc.isenabled()
    lockfile._loads_once.cache_clear()


def test_diff_keeps_the_collector_off_until_its_report_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from envsnap.cli import diff as cli_diff
    from envsnap.cli import main

    seen: list[bool] = []
    print_report = cli_diff.print_report

    def spy(report: Any) -> None:
        seen.append(gc.isenabled())
        print_report(report)

    monkeypatch.setattr(cli_diff, "print_report", spy)
    a = lockfile.dump(lockfile.seal(sample_lock()), tmp_path / "a.lock")
    assert main(["diff", str(a), str(a)]) == 0
    assert seen == [False] and gc.isenabled()


# What a program run reports of its collector: the command's own run (``main()`` as the console script calls it),
# its exit (``os._exit``, the teardown left out) reporting ``gc.isenabled()`` and how many collections ran.
_RUN_AND_REPORT = """
import gc, os, sys
ran = []
gc.callbacks.append(lambda phase, info: ran.append(info["generation"]) if phase == "start" else None)
leave = os._exit
def reporting_exit(code):
    sys.stdout.write(f"\\ncollector on: {gc.isenabled()}; collections: {len(ran)}\\n")
    sys.stdout.flush()
    leave(code)
os._exit = reporting_exit
sys.argv = ["envsnap", *sys.argv[1:]]
from envsnap.cli import main
# What importing the program's entry made, collected and forgotten: the command's own run starts with the youngest
# generation's count at 0. Left where the import ended it (445 here, nearer 700 with another environment), the
# hundred-odd allocations before the command turns the collector off could set off one collection that is not the
# command's: a full suite's run counted one now and then.
gc.collect()
ran.clear()
raise SystemExit(main())
"""


def _program(*args: str) -> tuple[int, str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _RUN_AND_REPORT, *args], capture_output=True, text=True)
    return done.returncode, done.stdout.splitlines()[-1]


def test_a_short_command_runs_without_the_collector(tmp_path: Any) -> None:
    # A diff of two locks large enough to make the collector run (a few thousand records) runs without it from
    # its start to its exit: no collection at all, where the collector turned on after the report made one.
    from envsnap.model import PythonPackage

    lock = lockfile.seal(sample_lock())
    many = tuple(PythonPackage(name=f"pkg{i}", version="1.0") for i in range(3000))
    big = lockfile.seal(dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=many)))
    a = lockfile.dump(big, tmp_path / "a.lock")
    b = lockfile.dump(lock, tmp_path / "b.lock")
    assert _program("diff", str(a), str(b)) == (1, "collector on: False; collections: 0")
    _, last = _program("check", str(b), "--target", "venv")
    assert last == "collector on: False; collections: 0", last


def test_only_a_short_command_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_gcpause, "_off_for_command", False)
    assert not _gcpause.off_for_command("bundle") and gc.isenabled()
    assert not _gcpause.off_for_command("") and gc.isenabled()
    assert _gcpause.off_for_command("rebuild") and not gc.isenabled()
    _gcpause.long_work()  # a docker or conda target's build: on again
    assert gc.isenabled()
    _gcpause.long_work()  # and only what it turned off
    assert gc.isenabled()
    gc.disable()  # a caller's own choice is not undone
    _gcpause.long_work()
    assert not gc.isenabled()
    assert not _gcpause.off_for_command("diff")  # already off: not this module's to turn on again


def test_main_called_in_process_leaves_the_collector_alone(tmp_path: Any) -> None:
    from envsnap.cli import main

    a = lockfile.dump(lockfile.seal(sample_lock()), tmp_path / "a.lock")
    assert main(["diff", str(a), str(a)]) == 0
    assert gc.isenabled()


@pytest.mark.parametrize("target", ["docker", "conda"])
def test_a_build_of_minutes_turns_it_on_again(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A docker or conda target's execute runs for minutes: the collector a short command turned off is on again
    # from its first step (here the first step fails: no engine, no conda table), the verify after it included.
    from envsnap.rebuild import conda, docker

    class Stop(Exception):
        pass

    def stop(*_: Any, **__: Any) -> Any:
        raise Stop

    monkeypatch.setattr(_gcpause, "_off_for_command", False)
    assert _gcpause.off_for_command("rebuild") and not gc.isenabled()
    if target == "docker":
        rebuilder: Any = docker.DockerRebuilder(connect=stop)
    else:
        monkeypatch.setattr(conda, "Path", stop)
        rebuilder = conda.CondaRebuilder()
    request = type("Request", (), {"lock": sample_lock(), "options": {}, "bundle_dir": None})()
    plan = type("Plan", (), {"dest": "x", "data": None})()
    with pytest.raises((Stop, AssertionError)):
        rebuilder.execute(plan, request)
    assert gc.isenabled()
