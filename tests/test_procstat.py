"""The fields of /proc/PID/stat after the command name, read in one place (``envsnap._procstat``) for its three
readers: a docker rebuild's hold (the process's start time), Slurm's walk up to slurmd (the parent's pid) and a
run's process tree (each process's parent). The name, field 2, may hold spaces, ")" and digits: each reader is
tested on a real process so named."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from envsnap import _procstat

# A name that ends its parentheses early: after its first ")" come fields "1 2 ) 3", which a reader that cut at
# the first ")" would take for the state, the parent's pid and the rest.
NAME = "a) 1 2 ) 3 b"
SLEEPER = f"open('/proc/self/comm', 'w').write({NAME!r}); print('ready', flush=True); import time; time.sleep(60)"

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="no /proc here")


@pytest.fixture
def named() -> Iterator[subprocess.Popen[str]]:
    """A child of this process named ``NAME`` (as /proc/PID/comm gives it), asleep."""
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        assert Path(f"/proc/{child.pid}/comm").read_text() == NAME + "\n"
        yield child
    finally:
        child.kill()
        child.wait()


def test_the_fields_after_a_name_holding_parentheses_and_spaces(named: subprocess.Popen[str]) -> None:
    fields = _procstat.stat_fields(named.pid)
    assert fields[0] in "RSD" and int(fields[_procstat.PPID]) == os.getpid(), fields
    assert _procstat.after_name(f"7 ({NAME}) S 1 7 7 0") == ["S", "1", "7", "7", "0"]
    assert _procstat.after_name("no name") == []
    assert _procstat.stat_fields(2**22 + 1) == []  # beyond pid_max: no such process


def test_a_hold_of_a_process_so_named_is_judged_by_its_start_time(named: subprocess.Popen[str]) -> None:
    """The docker rebuild's hold records the start time of its process (field 22), and clean judges it by it."""
    from envsnap.rebuild import _docker_engine

    code = f"open('/proc/self/comm', 'w').write({NAME!r})\nfrom envsnap.rebuild import _docker_engine\n"
    code += "print(_docker_engine.hold_label(), flush=True)\nimport time\ntime.sleep(60)\n"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rebuild = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert rebuild.stdout is not None
        label = rebuild.stdout.readline().strip()
        assert Path(f"/proc/{rebuild.pid}/comm").read_text() == NAME + "\n"
        holder = _docker_engine.Holder.read("envsnap-hold-x", "0" * 64, label)
        assert holder.pid == rebuild.pid and holder.start > 0, label
        assert holder.judged() == _docker_engine.HOLD_RUNNING, label
        other = _docker_engine.Holder.read("envsnap-hold-x", "0" * 64, label.replace(" start=", " start=1"))
        assert other.judged() == _docker_engine.HOLD_GONE, label  # another process's start time: the pid reused
    finally:
        rebuild.kill()
        rebuild.wait()
    assert holder.judged() == _docker_engine.HOLD_GONE


def test_the_run_tree_follows_a_process_so_named_by_its_parent(named: subprocess.Popen[str]) -> None:
    from envsnap.runs import trace

    assert named.pid in trace.descendants(os.getpid(), children_files=False)


def test_slurms_walk_up_passes_a_process_so_named(tmp_path: Path) -> None:
    """scontrol beside the slurmd that started a Prolog through a shell named ``NAME``: the walk up from the
    Prolog reads that shell's parent out of its stat."""
    sh = shutil.which("sh")
    assert sh
    (tmp_path / "slurm" / "sbin").mkdir(parents=True)
    (tmp_path / "slurm" / "bin").mkdir()
    (tmp_path / "shell").mkdir()
    (tmp_path / "empty").mkdir()
    slurmd = tmp_path / "slurm" / "sbin" / "slurmd"
    shell = tmp_path / "shell" / NAME
    scontrol = tmp_path / "slurm" / "bin" / "scontrol"
    shutil.copy(os.path.realpath(sh), slurmd)
    shutil.copy(os.path.realpath(sh), shell)
    scontrol.write_text("#!/bin/sh\nexit 0\n")
    scontrol.chmod(scontrol.stat().st_mode | stat.S_IXUSR)
    empty = str(tmp_path / "empty")
    code = f"from envsnap.fleet.slurm import scontrol_path; print(scontrol_path({{'PATH': {empty!r}}}))"
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "SHELL_NAMED": str(shell),
        "PY": sys.executable,
        "CODE": code,
    }
    # slurmd -> the shell named NAME -> python: `; exit $?` keeps each shell from exec'ing its last command.
    prolog = '"$SHELL_NAMED" -c \'"$PY" -c "$CODE"; exit $?\'; exit $?'
    done = subprocess.run([str(slurmd), "-c", prolog], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(scontrol), done.stderr
