"""``envsnap fleet check`` against a local Slurm cluster of its own (tests/fleet/slurm_cluster.py), whose nodes
differ in their NVIDIA driver only: node1 answers (the fake NVML of tests/gpu_fakes.py), node2's hangs (nvmlInit
blocks), node3 has none. Its own cluster, not the session's (conftest.py), whose nodes are other. It tracks a step's
processes by process group (proctrack/pgid), as some sites do: what a task starts in a session of its own is not
ended by Slurm when the step ends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import gpu_fakes
import pytest
import slurm_cluster
from fleet_env import A100, HEALTHY_NVML, REPO

pytestmark = pytest.mark.slurm

HUNG_NVML = gpu_fakes.FakeNvml(hang=True, gpus=(A100,))


@pytest.fixture(scope="module")
def hung_cluster_env() -> Iterator[tuple[slurm_cluster.Cluster, Path, Path, dict[str, str]]]:
    """(the cluster, the root folder, a CPU-only lock of envsnap's own interpreter, srun's environment)."""
    why = slurm_cluster.unavailable()
    if why:
        pytest.skip(why)
    if not gpu_fakes.have_gcc():
        pytest.skip("gcc is needed to compile the fake NVIDIA library the nodes load")
    root = Path(tempfile.mkdtemp(prefix="envsnap-hung-"))  # short: munge's socket lives under it
    try:
        healthy = gpu_fakes.build_fake_nvml(root / "nvml-550", HEALTHY_NVML)
        hung = gpu_fakes.build_fake_nvml(root / "nvml-hung", HUNG_NVML)
        env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "FAKE_NVML_CONFIG")}
        env["PYTHONPATH"] = str(REPO)
        for var in ("VIRTUAL_ENV", "CONDA_PREFIX", "ENVSNAP_LOCK"):
            env.pop(var, None)
        lock = root / "envsnap.lock"  # captured without a driver: a lock that needs no GPU
        subprocess.run(
            [sys.executable, "-m", "envsnap", "capture", "-o", str(lock)], env=env, check=True, cwd=root, timeout=300
        )
        cluster = slurm_cluster.Cluster(
            root / "slurm",
            tuple(slurm_cluster.Node(n) for n in ("node1", "node2", "node3")),
            proctrack="proctrack/pgid",
        )
        cluster.task_prolog = f"""#!/bin/sh
case "$SLURMD_NODENAME" in
  node1) echo "export LD_LIBRARY_PATH={healthy}"; echo "export FAKE_NVML_CONFIG={healthy}/{gpu_fakes.NVML_CONFIG}" ;;
  node2) echo "export LD_LIBRARY_PATH={hung}"; echo "export FAKE_NVML_CONFIG={hung}/{gpu_fakes.NVML_CONFIG}" ;;
  *) echo "unset LD_LIBRARY_PATH"; echo "unset FAKE_NVML_CONFIG" ;;
esac
exit 0
"""
        try:
            cluster.start()
            yield cluster, root, lock, {**env, **cluster.env, "PYTHONPATH": str(REPO), "COLUMNS": "250"}
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_fleet_check_bounds_a_hung_drivers_wait_and_shows_the_node_as_hung(
    hung_cluster_env: tuple[slurm_cluster.Cluster, Path, Path, dict[str, str]],
) -> None:
    """fleet check had no way to shorten the 10 s each node's driver probe may wait, and the hung node's driver
    was "", as on the node without one: node2 and node3 shared the row "node[2-3] ... -". --gpu-timeout bounds the
    wait on every node as check's does, and the hung node is a row of its own, its driver "hung: ..."."""
    _, root, lock, env = hung_cluster_env
    envsnap = [sys.executable, "-m", "envsnap", "fleet", "check", str(lock), "-w", "node[1-3]", "--timeout", "60"]
    started = time.monotonic()
    res = subprocess.run(
        [*envsnap, "--gpu-timeout", "1", "--json"], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    elapsed = time.monotonic() - started
    assert res.returncode == 0, res
    assert elapsed < 40, f"fleet check took {elapsed:.1f} s"
    data = json.loads(res.stdout)
    nodes = {n["node"]: n for n in data["nodes"]}
    assert {name: n["facts"]["driver"] for name, n in nodes.items()} == {
        "node1": "550.54.14",
        "node2": "hung: no answer within 1 s",
        "node3": "",
    }
    assert {name: n["verdict"] for name, n in nodes.items()} == dict.fromkeys(nodes, "compatible")
    # The hung node waited its 1 s for NVML, not the default 10 s.
    assert 1 <= nodes["node2"]["seconds"] < 10, nodes["node2"]
    assert sorted(g["nodes"] for g in data["groups"]) == ["node1", "node2", "node3"]
    assert "driver" in data["differing"]
    # The table shows it, in a row of its own.
    text = subprocess.run(
        [*envsnap, "--gpu-timeout", "1"], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    assert text.returncode == 0, text
    [row] = [line for line in text.stdout.splitlines() if "node2" in line]
    assert "hung: no answer within 1 s" in row and "node3" not in row, text.stdout


def test_fleet_capture_bounds_a_hung_drivers_wait_with_gpu_timeout(
    hung_cluster_env: tuple[slurm_cluster.Cluster, Path, Path, dict[str, str]],
) -> None:
    """fleet capture passed no GPU timeout to the nodes' captures and took no --gpu-timeout: a node whose driver
    hangs held the whole capture for the fixed 10 s, and a --timeout under that made it unreachable. It takes
    fleet check's --gpu-timeout, and the hung node's capture records the shorter wait."""
    from envsnap.fleet import fleetfile

    _, root, _, env = hung_cluster_env
    path = root / "fleet.toml"
    command = [sys.executable, "-m", "envsnap", "fleet", "capture", "-w", "node[1-3]", "-o", str(path)]
    started = time.monotonic()
    args = [*command, "--gpu-timeout", "1", "--timeout", "60"]
    res = subprocess.run(args, env=env, cwd=root, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert (res.returncode, res.stderr) == (0, f"wrote {path}: 3 nodes captured\n"), res
    assert elapsed < 10, f"fleet capture took {elapsed:.1f} s with --gpu-timeout 1"
    nodes = fleetfile.load(path).nodes
    hung = nodes["node2"].nvidia
    assert hung is not None and hung.error == "NVML did not answer within 1 s (a hung driver?)", hung
    assert nodes["node1"].nvidia is not None and nodes["node1"].nvidia.driver_version == "550.54.14"


def test_a_short_timeout_alone_bounds_the_nodes_gpu_wait_within_it(
    hung_cluster_env: tuple[slurm_cluster.Cluster, Path, Path, dict[str, str]],
) -> None:
    """``fleet check LOCK --timeout 8`` (or 12) without --gpu-timeout passed the nodes no GPU wait: each kept its
    own 10 s, which could not end, with the rest of the node's answer, before the answer was due, and the hung node
    read "unreachable: no answer within 8 s", never hung; ``fleet capture`` likewise had it without a capture.
    Without --gpu-timeout the nodes wait half of --timeout for their driver where their 10 s would not fit in that
    half, and the hung node is hung."""
    from envsnap.fleet import fleetfile

    _, root, lock, env = hung_cluster_env
    for timeout, wait in (("8", "4"), ("12", "6")):
        args = [sys.executable, "-m", "envsnap", "fleet", "check", str(lock), "-w", "node[1-3]", "--timeout", timeout]
        res = subprocess.run([*args, "--json"], env=env, cwd=root, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res
        nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
        assert {name: (n["verdict"], n["facts"]["driver"]) for name, n in nodes.items()} == {
            "node1": ("compatible", "550.54.14"),
            "node2": ("compatible", f"hung: no answer within {wait} s"),
            "node3": ("compatible", ""),
        }, timeout
    path = root / "fleet-short.toml"
    args = [sys.executable, "-m", "envsnap", "fleet", "capture", "-w", "node[1-3]", "-o", str(path), "--timeout", "8"]
    res = subprocess.run(args, env=env, cwd=root, capture_output=True, text=True, timeout=120)
    assert (res.returncode, res.stderr) == (0, f"wrote {path}: 3 nodes captured\n"), res
    hung = fleetfile.load(path).nodes["node2"].nvidia
    assert hung is not None and hung.error == "NVML did not answer within 4 s (a hung driver?)", hung


def test_a_node_still_waiting_on_its_driver_at_the_deadline_says_so_and_what_ends_the_wait(
    hung_cluster_env: tuple[slurm_cluster.Cluster, Path, Path, dict[str, str]],
) -> None:
    """A node whose driver was still being waited on at --timeout (a --gpu-timeout near it) read only
    "unreachable: no answer within 20 s": srun's output of a timed-out node was dropped, and the node had said
    nothing of its wait. ``fleet node`` notes in a Slurm task what it waits on, and the reason names the wait with
    what ends it in time (--gpus none does not: the node asks NVML for every lock, this CPU-only one too)."""
    _, root, lock, env = hung_cluster_env
    args = [sys.executable, "-m", "envsnap", "fleet", "check", str(lock), "-w", "node[1-3]", "--timeout", "20"]
    res = subprocess.run(
        [*args, "--gpu-timeout", "19.9", "--gpus", "none", "--json"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 3, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    assert {name: n["verdict"] for name, n in nodes.items()} == {
        "node1": "compatible",
        "node2": "unreachable",
        "node3": "compatible",
    }, nodes
    assert nodes["node2"]["reason"] == (
        "no answer within 20 s: it was waiting for its NVIDIA driver (NVML, at most 19.9 s; a hung driver?); "
        "--gpu-timeout 10 ends that wait in time for the node to answer with its driver hung (--gpus none does "
        "not: the node asks NVML for every lock), or a longer --timeout gives it time"
    )
    # The remedy it names works: the node answers, its driver hung.
    res = subprocess.run(
        [*args, "--gpu-timeout", "10", "--json"], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res
    [hung] = [n for n in json.loads(res.stdout)["nodes"] if n["node"] == "node2"]
    assert hung["facts"]["driver"] == "hung: no answer within 10 s", hung


def _hung_interpreter(root: Path) -> tuple[Path, Path]:
    """A venv whose python never answers envsnap's probe (it writes its process id, then sleeps): (venv, pid file)."""
    venv = Path(tempfile.mkdtemp(prefix="hung-venv-", dir=root))
    (venv / "bin").mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    pid = venv / "hung.pid"
    python = venv / "bin" / "python"
    python.write_text(f"#!/bin/sh\necho $$ > {pid}\nexec sleep 300\n")
    python.chmod(0o755)
    return venv, pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("in_job", [False, True], ids=["own-job", "step-of-its-job"])
def test_a_hung_interpreter_is_ended_with_the_node_fleet_check_gives_up_on(
    hung_cluster_env: tuple[slurm_cluster.Cluster, Path, Path, dict[str, str]], in_job: bool
) -> None:
    """A node whose environment's interpreter hung past --timeout: fleet check gives up on it, kills its srun
    and cancels its job, or, run in a job, the step it ran on a node of that job. ``scancel JOB.STEP`` sends the
    step SIGKILL alone, so the node's envsnap could not end the interpreter it had started in a session of its
    own, which a cluster tracking process groups (proctrack/pgid) does not end either: it ran on after the job.
    Slurm's cancel of a job sends SIGTERM first, which the node's envsnap ends it on; a step now gets it too."""
    _, root, lock, env = hung_cluster_env
    venv, pid = _hung_interpreter(root)
    check = [sys.executable, "-m", "envsnap", "fleet", "check", str(lock), "-w", "node3", "--timeout", "6", "--json"]
    # In a job holding node3: node3 is asked in a step of that job.
    outer = ["srun", "-w", "node3", "--quiet", "--"] if in_job else []
    res = subprocess.run(
        [*outer, *check], env={**env, "VIRTUAL_ENV": str(venv)}, cwd=root, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 3, res
    [node] = json.loads(res.stdout)["nodes"]
    assert node["verdict"] == "unreachable" and "interpreter" in node["reason"], node
    assert node["in_job"] is in_job, node
    hung = int(pid.read_text())
    try:
        for _ in range(100):
            if not _alive(hung):
                break
            time.sleep(0.1)
        assert not _alive(hung), f"the hung interpreter {hung} outlived fleet check"
    finally:
        if _alive(hung):
            os.kill(hung, 9)
