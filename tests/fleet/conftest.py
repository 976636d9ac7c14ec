"""The session's local Slurm cluster for the fleet tests (tests/fleet/fleet_env.py describes its nodes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import gpu_fakes
import pytest
import slurm_cluster
from fleet_env import HEALTHY_NVML, NODES, OLD_NVML, REPO, FleetEnv, make_venv, task_prolog


@pytest.fixture(scope="session")
def slurm_cluster_env() -> Iterator[FleetEnv]:
    why = slurm_cluster.unavailable()
    if why:
        pytest.skip(why)
    if not gpu_fakes.have_gcc():
        pytest.skip("gcc is needed to compile the fake NVIDIA library the nodes load")
    # A folder of its own, not under pytest's basetemp: a pytest session started meanwhile (another checkout's)
    # removes all but the newest basetemps, and this one holds the running daemons' sockets, spool and pid files.
    # Short, too: munge's socket lives under it (a UNIX socket path has ~100 bytes).
    root = Path(tempfile.mkdtemp(prefix="envsnap-fleet-"))
    try:
        yield from _cluster(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _cluster(root: Path) -> Iterator[FleetEnv]:
    healthy = gpu_fakes.build_fake_nvml(root / "nvml-550", HEALTHY_NVML)
    old = gpu_fakes.build_fake_nvml(root / "nvml-470", OLD_NVML)
    good = make_venv(root / "venv-good", "1.0.0").parent.parent
    drifted = make_venv(root / "venv-drifted", "1.0.1").parent.parent
    wrapper = root / "bin" / "envsnap"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m envsnap "$@"\n')
    wrapper.chmod(0o755)
    lock = root / "envsnap.lock"
    capture_env = gpu_fakes.nvml_environ(healthy, {**os.environ, "PYTHONPATH": str(REPO)})
    capture_env.pop("CONDA_PREFIX", None)
    capture_env["VIRTUAL_ENV"] = str(good)
    subprocess.run(
        [sys.executable, "-m", "envsnap", "capture", "-o", str(lock)],
        env=capture_env,
        check=True,
        capture_output=True,
        cwd=root,
        timeout=300,
    )
    cluster = slurm_cluster.Cluster(
        root / "slurm",
        # Each node's one A100 (the fake NVML's) is in its Slurm configuration too, as on a GPU cluster.
        tuple(slurm_cluster.Node(n, weight=1 if n == "node4" else 10, gpus=1) for n in NODES),
    )
    env = FleetEnv(cluster, root, wrapper, lock, healthy, old, good, drifted)
    cluster.task_prolog = task_prolog(env)
    try:
        cluster.start()
        yield env
    finally:
        cluster.stop()
