"""SIGTERM or Ctrl-C ends envsnap even when one of its threads is blocked in a read that never returns (a pipe, a
hung network file system, a driver call). The first signal unwinds the main thread as before; where the unwinding
itself waits for that thread (a pool's exit joins its workers), a second signal, as a person or ``kill`` sends
it, ends the wait, and the process then ends without waiting for the thread at exit: one line, exit 128+N. A
second SIGTERM was ignored, and the interpreter's exit joined the thread: only SIGKILL ended it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A command whose main thread waits on work a pool thread never finishes, as bundle's fetch did on a pipe.
_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from concurrent.futures import ThreadPoolExecutor
    import envsnap.cli.capture as capture

    def stuck(args):
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(threading.Event().wait)  # a read that never returns
            print("waiting", flush=True)
            future.result()
        return 0

    capture.run = stuck
    from envsnap.cli import main
    sys.argv = ["envsnap", "capture", "-o", "-"]
    sys.exit(main())
    """
)


def _ended(proc: subprocess.Popen[str], within: float) -> int | None:
    try:
        return proc.wait(within)
    except subprocess.TimeoutExpired:
        return None


def test_sigterm_ends_envsnap_while_a_thread_is_blocked(tmp_path: Path) -> None:
    for signum, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SCRIPT],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "waiting\n"
            time.sleep(0.2)
            proc.send_signal(signum)
            status = _ended(proc, 2)  # the pool's exit waits for its blocked worker
            if status is None:
                proc.send_signal(signum)  # insisting, a second later
                status = _ended(proc, 20)
            assert status == code, (signum, status)
            assert proc.stderr is not None
            err = proc.stderr.read()
            assert err.splitlines()[-1].startswith("envsnap: "), err
            assert "Traceback" not in err, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
