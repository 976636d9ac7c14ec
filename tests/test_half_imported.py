"""A command that ends while another of envsnap's threads is still importing the subprocess runner (a run's git
probe, as a command that does not exist fails at once) ends as it would have: its line and its exit code. The CLI's
last step took the runner from ``sys.modules`` half made, without its ``kill_all``: a traceback, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The runner's import, in a thread of its own, held after the module is in sys.modules and before its body runs:
# what the main thread sees, deterministically, when it ends while that thread is importing.
_SCRIPT = textwrap.dedent(
    """
    import importlib.machinery, sys, threading
    from envsnap.cli import main

    begun, release = threading.Event(), threading.Event()

    class Held:
        def find_spec(self, name, path=None, target=None):
            if name != "envsnap._runner":
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            real = spec.loader.exec_module

            def exec_module(module):
                begun.set()
                release.wait(30)
                real(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Held())
    threading.Thread(target=__import__, args=("envsnap._runner",), daemon=True).start()
    assert begun.wait(30)
    assert "envsnap._runner" in sys.modules and not hasattr(sys.modules["envsnap._runner"], "kill_all")
    threading.Timer(0.3, release.set).start()
    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_command_ending_while_another_thread_imports_the_runner_keeps_its_line_and_code(tmp_path: Path) -> None:
    for args, code in ((["show", str(tmp_path / "missing.lock")], 2), (["--version"], 0)):
        res = subprocess.run(
            [sys.executable, "-c", _SCRIPT, *args],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == code, res.stderr
        assert "Traceback" not in res.stderr and res.stderr.count("\n") == (1 if code else 0), res.stderr
