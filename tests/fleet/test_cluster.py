"""The harness itself: a real Slurm of four nodes whose tasks see their node's driver and Python environment."""

from __future__ import annotations

import pytest
from fleet_env import FleetEnv

pytestmark = pytest.mark.slurm


def test_each_node_runs_a_task_in_its_own_environment(slurm_cluster_env: FleetEnv) -> None:
    cluster = slurm_cluster_env.cluster
    out = cluster.run(
        "srun", "-N4", "--ntasks-per-node=1", "-l", "sh", "-c", 'echo "$SLURMD_NODENAME $LD_LIBRARY_PATH $VIRTUAL_ENV"'
    ).stdout
    seen = {line.split()[1]: line.split()[2:] for line in out.splitlines()}
    assert sorted(seen) == ["node1", "node2", "node3", "node4"]
    assert seen["node3"][0] == str(slurm_cluster_env.old_nvml)
    assert seen["node1"][0] == seen["node4"][0] == str(slurm_cluster_env.healthy_nvml)
    assert seen["node4"][1] == str(slurm_cluster_env.drifted_venv)
    assert seen["node1"][1] == seen["node3"][1] == str(slurm_cluster_env.good_venv)
