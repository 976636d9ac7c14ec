"""How ``rerun`` says a variable the lock records differs between the run and here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from runhelpers import envsnap_env


def _envsnap(cwd: Path, *args: str, preload: str | None) -> subprocess.CompletedProcess[str]:
    env = envsnap_env()
    env.pop("LD_PRELOAD", None)
    if preload is not None:
        env["LD_PRELOAD"] = preload
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD is the Linux loader's")
@pytest.mark.parametrize(
    ("in_run", "here", "said"),
    [
        ("libm.so.6", None, "value libm.so.6 -> (none) (set in the run, as its lock records; not set here)"),
        (None, "libm.so.6", "value (none) -> libm.so.6 (not set in the run, as its lock records; set here)"),
    ],
)
def test_a_variable_set_in_the_run_and_not_here_is_said_so(
    tmp_path: Path, in_run: str | None, here: str | None, said: str
) -> None:
    """A run with ``LD_PRELOAD`` set, rerun where it is not, was said ``LD_PRELOAD: value libm.so.6 -> (none) (not
    set here) (here, not in the run)``, and the other way round ``value (none) -> libm.so.6 (not set in the lock)
    (here, not in the run)``: "here, not in the run" read as "the value is here, not in the run", backwards for the
    first. The line says which side has it, as verify's lines do with the lock, the run's lock being what it had."""
    run = _envsnap(tmp_path, "run", "-o", "run.toml", "--", "true", preload=in_run)
    assert run.returncode == 0, run.stderr
    res = _envsnap(tmp_path, "rerun", "run.toml", "--dry-run", preload=here)
    lines = [line.strip() for line in res.stdout.splitlines() if "LD_PRELOAD" in line]
    assert lines == [f"warning: environment: LD_PRELOAD: {said}"], res.stdout + res.stderr
