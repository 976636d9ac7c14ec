"""The fleet tests' cluster: four nodes of a real local Slurm (tests/fleet/slurm_cluster.py) that differ as nodes of a
real cluster do, through what their tasks see (the TaskProlog branches on SLURMD_NODENAME):

- node1, node2: healthy. The fake NVML of tests/gpu_fakes.py (driver 550.54.14, CUDA 12.4, one A100) and a venv
  holding the stand-in torch 2.4.0+cu121 and fleet-demo 1.0.0, the environment the lock was captured from.
- node3: the same venv, but an older driver (470.57.02, CUDA 11.4): too old for torch's CUDA 12.1.
- node4: the healthy driver, but a venv where fleet-demo drifted to 1.0.1.

node4 has the lowest scheduler weight, so a one-node job lands there first (the prolog test needs that).
When a job sets ENVSNAP_LOCK, the TaskProlog runs ``envsnap fleet prolog`` in the node's environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gpu_fakes
import pytest
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

    def envsnap_cmd(self, *args: str, timeout: float = 180,
                    extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "envsnap", *args], env={**self.env, **(extra_env or {})},
                              capture_output=True, text=True, timeout=timeout, cwd=self.root)


def _task_prolog(env: FleetEnv) -> str:
    healthy, old = env.healthy_nvml, env.old_nvml
    return f"""#!/bin/sh
# The harness's TaskProlog (not envsnap's): each node's tasks get that node's driver and Python environment.
case "$SLURMD_NODENAME" in
  node3) nvml={old} ;;
  *) nvml={healthy} ;;
esac
case "$SLURMD_NODENAME" in
  node4) venv={env.drifted_venv} ;;
  *) venv={env.good_venv} ;;
esac
echo "export LD_LIBRARY_PATH=$nvml"
echo "export FAKE_NVML_CONFIG=$nvml/{gpu_fakes.NVML_CONFIG}"
echo "export VIRTUAL_ENV=$venv"
if [ -n "$ENVSNAP_LOCK" ]; then
  # The site's part: envsnap refuses the job on a node that cannot run the lock (and drains the node).
  LD_LIBRARY_PATH=$nvml FAKE_NVML_CONFIG=$nvml/{gpu_fakes.NVML_CONFIG} VIRTUAL_ENV=$venv \\
    {env.envsnap} fleet prolog >>{env.root}/prolog.log 2>&1 || exit 1
fi
exit 0
"""


@pytest.fixture(scope="session")
def slurm_cluster_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetEnv]:
    why = slurm_cluster.unavailable()
    if why:
        pytest.skip(why)
    if not gpu_fakes.have_gcc():
        pytest.skip("gcc is needed to compile the fake NVIDIA library the nodes load")
    # Short paths: slurmd's spool and munge's socket live under it (a UNIX socket path has ~100 bytes).
    root = Path(tmp_path_factory.mktemp("fleet"))
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
    subprocess.run([sys.executable, "-m", "envsnap", "capture", "-o", str(lock)], env=capture_env, check=True,
                   capture_output=True, cwd=root, timeout=300)
    cluster = slurm_cluster.Cluster(
        root / "slurm",
        tuple(slurm_cluster.Node(n, weight=1 if n == "node4" else 10) for n in NODES),
    )
    env = FleetEnv(cluster, root, wrapper, lock, healthy, old, good, drifted)
    cluster.task_prolog = _task_prolog(env)
    try:
        cluster.start()
        yield env
    finally:
        cluster.stop()
