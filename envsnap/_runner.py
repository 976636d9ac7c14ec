"""The one place envsnap starts subprocesses: always with a timeout, never through a shell."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def run(
    args: Sequence[str],
    *,
    timeout: float = 30.0,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> Result:
    """Run a command and capture its output. A missing program or a timeout is a Result, not an exception."""
    argv = tuple(str(a) for a in args)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            input=input,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        return Result(argv, 127, "", str(exc))
    except OSError as exc:  # not executable, exec format error
        return Result(argv, 126, "", exc.strerror or str(exc))
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Result(argv, -9, out, f"timed out after {timeout:g} s", timed_out=True)
    return Result(argv, proc.returncode, proc.stdout, proc.stderr)
