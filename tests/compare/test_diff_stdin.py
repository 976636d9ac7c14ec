"""``envsnap diff A -`` (docs/cli.md): one lock read from standard input, as ``import -`` reads its file
(``git show HEAD:envsnap.lock | envsnap diff - envsnap.lock``), under the same limits as a lock on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testutil import sample_lock

from envsnap import lockfile
from envsnap.model import PythonPackage


def _envsnap(*args: str, stdin: bytes | None, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "envsnap", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _locks(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.lock", tmp_path / "new.lock"
    lockfile.dump(sample_lock(PythonPackage(name="six", version="1.16.0")), old)
    lockfile.dump(sample_lock(PythonPackage(name="six", version="1.17.0")), new)
    return old, new


def test_a_lock_piped_into_diff_is_compared(tmp_path: Path) -> None:
    old, new = _locks(tmp_path)
    piped = _envsnap("diff", "-", "new.lock", stdin=old.read_bytes(), cwd=tmp_path)
    named = _envsnap("diff", "old.lock", "new.lock", stdin=None, cwd=tmp_path)
    assert piped.returncode == 1, piped.stderr
    assert piped.stdout == named.stdout
    assert b"six" in piped.stdout and b"1.16.0 -> 1.17.0" in piped.stdout
    same = _envsnap("diff", "new.lock", "-", stdin=new.read_bytes(), cwd=tmp_path)
    assert (same.returncode, same.stdout.strip()) == (0, b"no differences")


def test_bad_input_on_standard_input_is_one_line_exit_2(tmp_path: Path) -> None:
    _locks(tmp_path)
    for stdin, said in [
        (b"", b"standard input is empty"),
        (b"not = [a lock\n", b"-: "),
        (b"\xff\xfe garbage", b"-: "),
        (b"x = 1\n" * 100, b"over the limit"),
    ]:
        done = _envsnap("diff", "-", "new.lock", stdin=stdin, cwd=tmp_path, env={"ENVSNAP_MAX_LOCK_BYTES": "300"})
        assert done.returncode == 2, (stdin, done.stderr)
        assert said in done.stderr, done.stderr
        assert b"Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert b"no such lockfile" not in done.stderr


def test_both_sides_cannot_be_standard_input(tmp_path: Path) -> None:
    old, _ = _locks(tmp_path)
    done = _envsnap("diff", "-", "-", stdin=old.read_bytes(), cwd=tmp_path)
    assert done.returncode == 2
    assert b"standard input" in done.stderr and len(done.stderr.strip().splitlines()) == 1
