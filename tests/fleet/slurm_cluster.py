"""A real Slurm cluster on this machine, for the fleet tests: munged, one slurmctld and one ``slurmd -N NAME`` per
node, all on localhost (``NodeHostname=localhost``, a port each), run as root without systemd, every piece of
state under one directory. Debian's ``slurmctld``, ``slurmd``, ``slurm-client`` and ``munge`` packages
(``.ci/services.sh`` installs them); nothing here mocks Slurm.

Nodes differ the way they do on a real cluster only through what their tasks see: the ``TaskProlog`` (a shell
script the caller writes) runs before every task and may branch on ``SLURMD_NODENAME``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROGRAMS = ("munged", "slurmctld", "slurmd", "srun", "sinfo", "scontrol", "sbatch")


def unavailable() -> str:
    """Why a local cluster cannot start here ("" when it can)."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "Slurm runs on Linux only"
    missing = [p for p in PROGRAMS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]
    if missing:
        return f"Slurm/munge programs missing ({', '.join(missing)}): run .ci/services.sh"
    if os.geteuid() != 0:
        return "the local Slurm cluster runs its daemons as root (SlurmUser=root); the tests are not root"
    return ""


def _program(name: str) -> str:
    found = shutil.which(name) or str(Path("/usr/sbin", name))
    return found


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass(frozen=True)
class Node:
    name: str
    cpus: int = 2
    weight: int = 1  # lower is preferred by the scheduler
    gpus: int = 0  # GPUs in its Slurm configuration (GRES gpu): Slurm allocates them, though the files are no devices


@dataclass
class Cluster:
    root: Path
    nodes: tuple[Node, ...]
    task_prolog: str = ""  # the TaskProlog script's text ("" for none)
    prolog: str = ""  # the Prolog script's text ("" for none)
    message_timeout: int = 5
    # How slurmd tracks a step's processes, which it signals when the step ends: linuxproc (the tree of the task's
    # descendants), pgid (the task's process group only: a process in a session of its own escapes it).
    proctrack: str = "proctrack/linuxproc"
    conf: Path = field(init=False)
    ports: dict[str, int] = field(init=False, default_factory=dict)
    # The daemons' pids as their pid files said right after start: the pid files alone are not enough when the
    # folder is removed under a running cluster.
    pids: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.conf = self.root / "slurm.conf"

    # ------------------------------------------------------------------------------------------ environment

    @property
    def env(self) -> dict[str, str]:
        """The environment in which srun, sinfo, scontrol and sbatch talk to this cluster."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        for var in [v for v in env if v.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_"))]:
            if var != "SLURM_CONF":
                del env[var]
        return env

    def run(
        self, *args: str, check: bool = True, timeout: float = 60, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), env={**self.env, **(env or {})}, capture_output=True, text=True, check=check, timeout=timeout
        )

    # ------------------------------------------------------------------------------------------ configuration

    def _write_config(self) -> None:
        r = self.root
        for sub in ("munge", "ctld", "spool", "log", "run"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        (r / "munge").chmod(0o700)
        key = r / "munge" / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
            key.chmod(0o400)
        if not self.ports:
            ports = _free_ports(len(self.nodes) + 1)
            self.ports = {"slurmctld": ports[0], **{n.name: p for n, p in zip(self.nodes, ports[1:], strict=True)}}
        lines = [
            "ClusterName=envsnaptest",
            "SlurmctldHost=localhost",
            f"SlurmctldPort={self.ports['slurmctld']}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # cred_expire: a requeued job may start again after this many seconds (default 120).
            f"AuthInfo=socket={r / 'munge' / 'munge.socket'},cred_expire=10",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"StateSaveLocation={r / 'ctld'}",
            f"SlurmdSpoolDir={r / 'spool'}/%n",
            f"SlurmctldPidFile={r / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'run'}/slurmd-%n.pid",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log'}/slurmd-%n.log",
            f"ProctrackType={self.proctrack}",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/builtin",
            "MpiDefault=none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SwitchType=switch/none",
            "ReturnToService=2",
            "SlurmdTimeout=300",
            f"MessageTimeout={self.message_timeout}",
            "SlurmdParameters=config_overrides",
            "MinJobAge=300",
        ]
        if self.task_prolog:
            script = r / "task_prolog.sh"
            script.write_text(self.task_prolog)
            script.chmod(0o755)
            lines.append(f"TaskProlog={script}")
        if self.prolog:
            script = r / "prolog.sh"
            with contextlib.suppress(FileNotFoundError):
                script.unlink()  # a running prolog keeps its old text
            script.write_text(self.prolog)
            script.chmod(0o755)
            lines.append(f"Prolog={script}")
        gres = []
        for node in self.nodes:
            (r / "spool" / node.name).mkdir(exist_ok=True)
            if node.gpus:
                # Slurm's gpu plugin drops a GPU without a device file; a plain file serves (no cgroup here).
                devices = r / "dev" / node.name
                devices.mkdir(parents=True, exist_ok=True)
                for i in range(node.gpus):
                    (devices / f"nvidia{i}").touch()
                gres.append(f"NodeName={node.name} Name=gpu File={devices}/nvidia[0-{node.gpus - 1}]")
            lines.append(
                f"NodeName={node.name} NodeHostname=localhost Port={self.ports[node.name]} "
                f"CPUs={node.cpus} RealMemory=1000 Weight={node.weight} State=UNKNOWN"
                + (f" Gres=gpu:{node.gpus}" if node.gpus else "")
            )
        if gres:
            lines.insert(0, "GresTypes=gpu")
            (r / "gres.conf").write_text("\n".join(gres) + "\n")
        names = ",".join(n.name for n in self.nodes)
        lines.append(f"PartitionName=debug Nodes={names} Default=YES MaxTime=INFINITE State=UP")
        # A second, non-default partition of the second node: a srun there must name it.
        lines.append(
            f"PartitionName=solo Nodes={self.nodes[min(1, len(self.nodes) - 1)].name} MaxTime=INFINITE State=UP"
        )
        self.conf.write_text("\n".join(lines) + "\n")

    # ------------------------------------------------------------------------------------------ daemons

    def _pid_file(self, daemon: str) -> Path:
        if daemon == "munged":
            return self.root / "munge" / "munged.pid"
        if daemon == "slurmctld":
            return self.root / "run" / "slurmctld.pid"
        return self.root / "run" / f"slurmd-{daemon}.pid"

    def start(self, timeout: float = 60) -> None:
        self._write_config()
        m = self.root / "munge"
        subprocess.run(
            [
                _program("munged"),
                "--force",
                f"--socket={m / 'munge.socket'}",
                f"--key-file={m / 'munge.key'}",
                f"--pid-file={m / 'munged.pid'}",
                f"--log-file={m / 'munged.log'}",
                f"--seed-file={m / 'munged.seed'}",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        self._remember("munged")
        subprocess.run(
            [_program("slurmctld"), "-i", "-f", str(self.conf)],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        self._remember("slurmctld")
        for node in self.nodes:
            self.start_node(node.name)
        self.wait_idle([n.name for n in self.nodes], timeout=timeout)

    def set_task_prolog(self, text: str) -> None:
        """A new TaskProlog script, read by the running daemons (``scontrol reconfigure``)."""
        self.task_prolog = text
        self._write_config()
        self.run("scontrol", "reconfigure")
        time.sleep(1)

    def set_prolog(self, text: str) -> None:
        """A new Prolog script ("" for none), read by the running daemons (``scontrol reconfigure``)."""
        self.prolog = text
        self._write_config()
        self.run("scontrol", "reconfigure")
        time.sleep(1)

    def start_node(self, name: str) -> None:
        subprocess.run(
            [_program("slurmd"), "-f", str(self.conf), "-N", name],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        self._remember(name)

    def _remember(self, daemon: str, wait: float = 10) -> None:
        """The daemon's pid from its pid file (which a daemon writes once it has forked)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                self.pids[daemon] = int(self._pid_file(daemon).read_text().split()[0])
                return
            except (OSError, ValueError, IndexError):
                time.sleep(0.1)

    def stop_node(self, name: str) -> None:
        self._kill(name)

    def node_state(self, name: str) -> tuple[str, str]:
        """(state, reason) as sinfo shows them ("idle", "none"; "drained", "envsnap: ...")."""
        out = self.run("sinfo", "-h", "-N", "-n", name, "-o", "%T|%E").stdout.strip().splitlines()
        state, _, reason = (out[0] if out else "|").partition("|")
        return state, reason

    def show_node(self, name: str) -> str:
        return self.run("scontrol", "show", "node", name).stdout

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job``'s fields (JobState, NodeList, Restarts, ...)."""
        out = self.run("scontrol", "show", "job", "-o", job_id, check=False).stdout
        return dict(part.split("=", 1) for part in out.split() if "=" in part)

    def wait_job(self, job_id: str, timeout: float = 180) -> dict[str, str]:
        """The job's fields once it has ended."""
        deadline = time.monotonic() + timeout
        fields: dict[str, str] = {}
        while time.monotonic() < deadline:
            fields = self.job(job_id)
            if fields.get("JobState") in (
                "COMPLETED",
                "FAILED",
                "CANCELLED",
                "TIMEOUT",
                "NODE_FAIL",
                "BOOT_FAIL",
                "OUT_OF_MEMORY",
            ):
                return fields
            time.sleep(0.5)
        raise RuntimeError(f"job {job_id} did not end within {timeout:g} s: {fields}")

    def resume(self, name: str) -> None:
        """Back to idle after a drain or a lost slurmd (down first: a node stuck "completing" then clears)."""
        self.run("scontrol", "update", f"NodeName={name}", "State=DOWN", "Reason=envsnap-test-reset", check=False)
        self.run("scontrol", "update", f"NodeName={name}", "State=RESUME", check=False)
        # Back to idle once its slurmd answers again; until then sinfo shows it "idle*" (not responding) and
        # the next test would find it unreachable.
        self.wait_idle([name], timeout=60)

    def wait_idle(self, names: Sequence[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            result = self.run("sinfo", "-h", "-N", "-o", "%N|%T", check=False)
            states = dict(line.split("|", 1) for line in result.stdout.split() if "|" in line)
            if all(states.get(n) == "idle" for n in names):
                return
            time.sleep(0.3)
        raise RuntimeError(f"the local Slurm cluster did not come up: {states}; logs in {self.root / 'log'}")

    def _ours(self, pid: int) -> bool:
        """The process is one of this cluster's daemons (a pid may have been reused since)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        return str(self.root) in cmdline

    def _kill(self, daemon: str, wait: float = 10) -> None:
        pid_file = self._pid_file(daemon)
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = self.pids.get(daemon, 0)
        self.pids.pop(daemon, None)
        if not pid or not self._ours(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            pid_file.unlink()

    def stop(self) -> None:
        """Cancel what still runs, then stop every daemon by its pid file (never by name)."""
        if self.conf.exists():
            with contextlib.suppress(Exception):
                self.run("scancel", "--full", "--user=root", check=False, timeout=15)
        for node in self.nodes:
            self._kill(node.name)
        self._kill("slurmctld")
        self._kill("munged")
