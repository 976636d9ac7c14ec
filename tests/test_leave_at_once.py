"""`capture`, `verify`, `check` and `rebuild` end without the interpreter's teardown once everything is written (as
`diff` and `run` do): what they write is whole, their caches and memos are kept, and the exit status is the
command's. ``main(argv)`` called in-process still returns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envsnap import lockfile
from envsnap.cli import build_parser


@pytest.mark.parametrize(
    "argv",
    [
        ["capture"],
        ["verify", "x.lock"],
        ["check", "x.lock"],
        ["rebuild", "x.lock"],
    ],
)
def test_the_commands_ask_to_leave_at_once(argv: list[str]) -> None:
    assert build_parser(argv[0]).parse_args(argv).leave_at_once is True


def _program(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envsnap", *args], capture_output=True, text=True)


def test_what_they_write_is_whole_and_their_status_is_theirs(tmp_path: Path) -> None:
    printed = _program("capture", "--python", sys.executable, "-o", "-")
    assert printed.returncode == 0, printed.stderr
    lockfile.loads(printed.stdout)  # the whole lock: its digest checks
    lock = tmp_path / "env.lock"
    written = _program("capture", "--python", sys.executable, "-o", str(lock))
    assert written.returncode == 0, written.stderr
    assert written.stderr.count("\n") >= 1 and "wrote" in written.stderr
    assert lockfile.load(lock).python.packages
    verified = _program("verify", str(lock), "--python", sys.executable, "--json")
    assert verified.returncode == 0, verified.stderr
    assert isinstance(json.loads(verified.stdout), dict)  # the whole report
    in_process = subprocess.run(
        [sys.executable, "-c", "import sys; from envsnap.cli import main; print(main(sys.argv[1:]))",
         "verify", str(lock), "--python", sys.executable],
        capture_output=True, text=True,
    )  # fmt: skip
    assert in_process.stdout.endswith("0\n")
    checked = _program("check", str(lock), "--python", sys.executable)
    assert checked.returncode == 0, checked.stderr
    missing = _program("verify", str(tmp_path / "missing.lock"), "--python", sys.executable)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
