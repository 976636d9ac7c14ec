"""The fleet tests' cluster (the session fixture ``slurm_cluster_env`` of conftest.py): four nodes of a real
local Slurm (tests/fleet/slurm_cluster.py) that differ as nodes of a real cluster do, through what their tasks
see (the TaskProlog branches on SLURMD_NODENAME):

- node1, node2: healthy. The fake NVML of tests/gpu_fakes.py (driver 550.54.14, CUDA 12.4, one A100) and a venv
  holding the stand-in torch 2.4.0+cu121 and fleet-demo 1.0.0, the environment the lock was captured from.
- node3: the same venv, but an older driver (470.57.02, CUDA 11.4): too old for torch's CUDA 12.1.
- node4: the healthy driver, but a venv where fleet-demo drifted to 1.0.1.

node4 has the lowest scheduler weight, so a one-node job lands there first (the prolog test needs that).
When a job sets ENVSNAP_LOCK, the TaskProlog runs ``envsnap fleet prolog`` in the node's environment.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import gpu_fakes
import slurm_cluster

REPO = Path(__file__).resolve().parents[2]
GIB = 1024**3
A100 = gpu_fakes.FakeGpu("NVIDIA A100-SXM4-80GB", (8, 0), 80 * GIB)
HEALTHY_NVML = gpu_fakes.FakeNvml(driver="550.54.14", cuda=12040, gpus=(A100,))
OLD_NVML = gpu_fakes.FakeNvml(driver="470.57.02", cuda=11040, gpus=(A100,))
NODES = ("node1", "node2", "node3", "node4")


def write_dist(site: Path, name: str, version: str, module: str = "") -> None:
    """An installed distribution as pip leaves it: a module, METADATA, INSTALLER and a RECORD with hashes."""
    import base64
    import hashlib

    module = module or name.replace("-", "_")
    code = f"__version__ = {version!r}\n".encode()
    (site / f"{module}.py").write_bytes(code)
    info = site / f"{module}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()
    (info / "METADATA").write_bytes(metadata)
    (info / "INSTALLER").write_text("pip\n")

    def digest(data: bytes) -> str:
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    (info / "RECORD").write_text(
        f"{module}.py,{digest(code)},{len(code)}\n"
        f"{info.name}/METADATA,{digest(metadata)},{len(metadata)}\n"
        f"{info.name}/INSTALLER,,\n{info.name}/RECORD,,\n"
    )


def make_venv(path: Path, demo_version: str) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = gpu_fakes.site_packages(python)
    gpu_fakes.install_fake_torch(site, version="2.4.0+cu121", cuda="12.1")
    write_dist(site, "fleet-demo", demo_version)
    return python


@dataclass(frozen=True)
class FleetEnv:
    cluster: slurm_cluster.Cluster
    root: Path
    envsnap: Path  # the envsnap the nodes run (a wrapper of this source tree's)
    lock: Path  # captured on a healthy node's environment
    healthy_nvml: Path
    old_nvml: Path
    good_venv: Path
    drifted_venv: Path

    @property
    def env(self) -> dict[str, str]:
        """Where srun reaches the cluster, and envsnap is this tree's."""
        env = self.cluster.env
        env["PYTHONPATH"] = str(REPO)
        env["COLUMNS"] = "250"  # the matrix on one line per group
        for var in ("VIRTUAL_ENV", "CONDA_PREFIX", "ENVSNAP_LOCK"):
            env.pop(var, None)
        return env

    def envsnap_cmd(
        self, *args: str, timeout: float = 180, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "envsnap", *args],
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )


def node_environment(env: FleetEnv) -> str:
    """Shell lines that set ``nvml`` and ``venv`` to the node's (``$SLURMD_NODENAME``) driver and venv."""
    return f"""case "$SLURMD_NODENAME" in
  node3) nvml={env.old_nvml} ;;
  *) nvml={env.healthy_nvml} ;;
esac
case "$SLURMD_NODENAME" in
  node4) venv={env.drifted_venv} ;;
  *) venv={env.good_venv} ;;
esac
"""


def site_prolog(env: FleetEnv, lock: Path) -> str:
    """A root Prolog checking one site-wide lock before every job (Slurm gives a Prolog no job environment)."""
    return f"""#!/bin/sh
{node_environment(env)}
LD_LIBRARY_PATH=$nvml FAKE_NVML_CONFIG=$nvml/{gpu_fakes.NVML_CONFIG} VIRTUAL_ENV=$venv \\
  {env.envsnap} fleet prolog {lock} >>{env.root}/site-prolog.log 2>&1
"""


def task_prolog(env: FleetEnv) -> str:
    return f"""#!/bin/sh
# The harness's TaskProlog (not envsnap's): each node's tasks get that node's driver and Python environment.
{node_environment(env)}if [ -n "$ENVSNAP_TEST_NO_DRIVER" ]; then
  # A node whose GPUs Slurm lists (its Gres) but whose NVIDIA driver is not installed: no NVML to load.
  echo "unset LD_LIBRARY_PATH"; echo "unset FAKE_NVML_CONFIG"
else
  echo "export LD_LIBRARY_PATH=$nvml"
  echo "export FAKE_NVML_CONFIG=$nvml/{gpu_fakes.NVML_CONFIG}"
fi
echo "export VIRTUAL_ENV=$venv"
if [ -n "$ENVSNAP_LOCK" ]; then
  # The site's part: envsnap refuses the job on a node that cannot run the lock (and drains the node).
  LD_LIBRARY_PATH=$nvml FAKE_NVML_CONFIG=$nvml/{gpu_fakes.NVML_CONFIG} VIRTUAL_ENV=$venv \\
    {env.envsnap} fleet prolog >>{env.root}/prolog.log 2>&1 || exit 1
fi
exit 0
"""
