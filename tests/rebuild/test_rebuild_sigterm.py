"""SIGTERM (a Slurm job's time limit, ``docker stop``, ``kill``) ends a command as Ctrl-C does: the programs it
started killed (uv runs in a session of its own and never gets the signal), its staging and temporary folders
removed, one line and exit 143. Python's default ended envsnap on the spot (status -15, no message) and left
uv writing into a staging folder beside --dest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from offline_wheels import locked_bundle, wheel
from testutil import uv_bin

REPO = Path(__file__).resolve().parents[2]


def _installers_of(parent: int) -> list[int]:
    """The ``uv ... install`` processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and os.path.basename(argv[0]) == b"uv" and b"install" in argv:
            found.append(int(entry.name))
    return found


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return True
        if state == "Z":  # ended, not yet reaped by init
            return True
        time.sleep(0.05)
    return False


def test_sigterm_while_uv_installs_ends_the_rebuild_as_ctrl_c_does(tmp_path: Path) -> None:
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    # Many files: uv takes long enough to install them that the signal lands while it does.
    files = {f"bulky/m{i}.py": b"# a module\n" * 50 for i in range(20000)}
    wheels = {"bulky": wheel(tmp_path / "wheels", "bulky", "1.0", files=files)}
    lock, bundle, _python = locked_bundle(uv, tmp_path / "made", wheels)
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    tmp.mkdir()
    dest = out / "env"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp), "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    argv = ["rebuild", str(lock), "--bundle", str(bundle), "--offline", "--target", "venv", "--dest", str(dest)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        installers: list[int] = []
        deadline = time.monotonic() + 60
        while not installers and proc.poll() is None and time.monotonic() < deadline:
            installers = _installers_of(proc.pid)
            time.sleep(0.001)
        assert installers, "uv was not seen installing"
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert (proc.returncode, err) == (128 + signal.SIGTERM, "envsnap: terminated (SIGTERM)\n")
    assert all(_gone(pid) for pid in installers)
    assert sorted(p.name for p in out.iterdir()) == [] and not dest.exists()
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".envsnap-")] == []
