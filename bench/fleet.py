"""`envsnap fleet check` on three local Slurm nodes, side by side with its peers, in one run.

    python bench/fleet.py [--runs 5] [--json OUT]      (as root, with Debian's Slurm and munge: .ci/services.sh)

Starts a real three-node Slurm on localhost (tests/fleet/slurm_cluster.py: munged, slurmctld, three slurmd -N),
captures a lock of this host, then times, interleaved round by round so that load on the machine hits all alike
(median and min of --runs):

- `envsnap fleet check LOCK -w node[1-3]`: three `envsnap fleet node` answers, one srun each, and the matrix;
- its peer: one `envsnap check LOCK --json` plus `srun -N3 true` (Slurm's own cost of reaching three nodes).
  Target: fleet check <= 1.5x the peer;
- beside them: three `srun -N1 true` at once (what fleet's one srun per node costs Slurm, against one srun -N3),
  and three `envsnap check` run at once on this machine plus `srun -N3 true`: the three "nodes" here share this
  machine's cores, which a real cluster's nodes do not;
- the CPU seconds (user + system) of one node's answer (`envsnap fleet node LOCK`, run here), of one check and of
  fleet check's own side (the login node: its start-up, the lock, the sruns, the report): on this machine's
  cores the three answers and the login side cannot take less wall time than their CPU seconds over the cores,
  which is printed as the floor of the ratio here.

Every envsnap here runs from compiled bytecode, as an installed one does (pip compiles it at install time): the
runs share a bytecode cache under the bench's folder (PYTHONPYCACHEPREFIX), filled by a warm-up round, even where
the environment sets PYTHONDONTWRITEBYTECODE. Without it, each of fleet check's four interpreters (login side and
three nodes) would compile envsnap's sources again, against one for check.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "fleet"))

import slurm_cluster  # noqa: E402  (the test harness: a real cluster, never a mock)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and the CPU seconds of the processes ``action`` waited for."""
    cpu, start = children_cpu(), time.perf_counter()
    action()
    return time.perf_counter() - start, children_cpu() - cpu


def run(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> None:
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {res.returncode}: {res.stderr[-2000:]}")


def at_once(cmds: list[list[str]], env: dict[str, str]) -> None:
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
    for p in procs:
        p.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="OUT", help="also write the numbers as JSON")
    args = parser.parse_args()
    why = slurm_cluster.unavailable()
    if why:
        print(f"bench/fleet.py: cannot start a local Slurm: {why}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="envsnap-bench-fleet-"))
    wrapper = root / "envsnap"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m envsnap "$@"\n')
    wrapper.chmod(0o755)
    lock = root / "envsnap.lock"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    subprocess.run([str(wrapper), "capture", "-o", str(lock)], env=env, check=True, capture_output=True, cwd=root)
    cluster = slurm_cluster.Cluster(root / "slurm", tuple(slurm_cluster.Node(f"node{i}") for i in (1, 2, 3)))
    any_code = (0, 1, 3)
    try:
        cluster.start()
        env.update(cluster.env)
        env["PYTHONPATH"] = str(REPO)
        fleet = [str(wrapper), "fleet", "check", str(lock), "-w", "node[1-3]", "--envsnap", str(wrapper), "--json"]
        check = [str(wrapper), "check", str(lock), "--json"]
        node = [str(wrapper), "fleet", "node", str(lock)]
        srun = ["srun", "-N3", "--ntasks-per-node=1", "true"]
        sruns = [["srun", f"--nodelist=node{i}", "-N1", "--ntasks=1", "--quiet", "true"] for i in (1, 2, 3)]
        steps: dict[str, Callable[[], object]] = {
            "fleet_check": lambda: run(fleet, env, ok=any_code),
            "check": lambda: run(check, env, ok=any_code),
            "node_answer": lambda: run(node, env, ok=any_code),
            "srun_N3_true": lambda: run(srun, env),
            "three_sruns": lambda: at_once(sruns, env),
            "three_checks": lambda: at_once([check] * 3, env),
        }
        for step in steps.values():  # warm every cache (bytecode, page cache, Slurm's) once
            step()
        wall: dict[str, list[float]] = {name: [] for name in steps}
        cpu: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.runs):
            for name, step in steps.items():
                seconds, used = timed(step)
                wall[name].append(seconds)
                cpu[name].append(used)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    med = {name: statistics.median(values) for name, values in wall.items()}
    low = {name: min(values) for name, values in wall.items()}
    med_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    cores = os.cpu_count() or 1
    peer, peer_min = med["check"] + med["srun_N3_true"], low["check"] + low["srun_N3_true"]
    # The login side: fleet check's own process and its sruns (the nodes' answers run under slurmstepd, not here).
    login = med_cpu["fleet_check"]
    floor = (login + 3 * med_cpu["node_answer"]) / cores
    numbers = {
        "runs": args.runs,
        "cores": cores,
        "wall_median": med,
        "wall_min": low,
        "cpu_median": med_cpu,
        "ratio": med["fleet_check"] / peer,
        "ratio_min": low["fleet_check"] / peer_min,
        "ratio_shared_cores": med["fleet_check"] / (med["three_checks"] + med["srun_N3_true"]),
        "cpu_floor_s": floor,
        "ratio_floor": floor / peer,
    }
    print(f"median (min) of {args.runs} interleaved runs, wall seconds:")
    for name, label in (
        ("fleet_check", "fleet check on 3 local nodes"),
        ("check", "one envsnap check"),
        ("srun_N3_true", "srun -N3 true"),
        ("three_sruns", "3 x srun -N1 true at once"),
        ("node_answer", "one node's answer, run here"),
        ("three_checks", f"3 checks at once on {cores} cores"),
    ):
        print(f"  {label:36s} {med[name]:6.2f} ({low[name]:.2f})   cpu {med_cpu[name]:.2f} s")
    print(
        f"fleet check / (check + srun -N3 true): {numbers['ratio']:.2f}x median, {numbers['ratio_min']:.2f}x min "
        "(target <= 1.5x)"
    )
    print(
        f"  cpu of one node's answer / one check: {med_cpu['node_answer'] / med_cpu['check']:.2f}; "
        f"login side {login:.2f} s; on {cores} cores the login side and 3 answers need at least "
        f"{floor:.2f} s = {numbers['ratio_floor']:.2f}x the peer before Slurm starts anything"
    )
    print(
        f"fleet check / (3 checks at once + srun -N3 true): {numbers['ratio_shared_cores']:.2f}x "
        "(the local nodes share these cores; a cluster's nodes do not)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
