"""The cyclic collector is off while a large lock is read and checked (``envsnap/_gcpause.py``), and on again
after, only where it was on."""

from __future__ import annotations

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
