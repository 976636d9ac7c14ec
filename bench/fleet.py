"""`envsnap fleet check` on three local Slurm nodes, side by side with its peers, in one run.

    python bench/fleet.py [--runs 5] [--json OUT]      (as root, with Debian's Slurm and munge: .ci/services.sh)

Starts a real three-node Slurm on localhost (tests/fleet/slurm_cluster.py: munged, slurmctld, three slurmd -N),
captures a lock of this host, then takes the median wall time of

- `envsnap fleet check LOCK -w node[1-3]`: three `envsnap fleet node` answers, one srun each, and the matrix;
- its peer: one `envsnap check LOCK --json` plus `srun -N3 true` (Slurm's own cost of reaching three nodes).
  Target: fleet check <= 1.5x the peer;
- and, printed beside them, three `envsnap check` run at once on this machine plus `srun -N3 true`: the three
  "nodes" here share this machine's cores, which a real cluster's nodes do not, so this is what fleet check
  would cost if it added nothing to the checks themselves.
"""

from __future__ import annotations

import argparse
import json
import os
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


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> None:
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {res.returncode}: {res.stderr[-2000:]}")


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
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env["PYTHONPATH"] = str(REPO)
    subprocess.run([str(wrapper), "capture", "-o", str(lock)], env=env, check=True, capture_output=True,
                   cwd=root)
    cluster = slurm_cluster.Cluster(root / "slurm", tuple(slurm_cluster.Node(f"node{i}") for i in (1, 2, 3)))
    try:
        cluster.start()
        env.update(cluster.env)
        env["PYTHONPATH"] = str(REPO)
        fleet = [str(wrapper), "fleet", "check", str(lock), "-w", "node[1-3]", "--envsnap", str(wrapper), "--json"]
        check = [str(wrapper), "check", str(lock), "--json"]
        srun = ["srun", "-N3", "--ntasks-per-node=1", "true"]

        def three_checks() -> None:
            procs = [subprocess.Popen(check, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for _ in range(3)]
            for p in procs:
                p.wait()

        run(fleet, env, ok=(0, 1, 3))  # warm every cache once
        run(check, env, ok=(0, 1, 3))
        run(srun, env)
        t_fleet, t_check, t_srun, t_three = [], [], [], []
        for _ in range(args.runs):  # interleaved, so that load on the machine hits all alike
            t_fleet.append(timed(lambda: run(fleet, env, ok=(0, 1, 3))))
            t_check.append(timed(lambda: run(check, env, ok=(0, 1, 3))))
            t_srun.append(timed(lambda: run(srun, env)))
            t_three.append(timed(three_checks))
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    m = {name: statistics.median(values) for name, values in
         (("fleet_check", t_fleet), ("check", t_check), ("srun_N3_true", t_srun), ("three_checks", t_three))}
    peer = m["check"] + m["srun_N3_true"]
    shared = m["three_checks"] + m["srun_N3_true"]
    m["ratio"] = m["fleet_check"] / peer
    m["ratio_shared_cores"] = m["fleet_check"] / shared
    print(f"fleet check on 3 local nodes:             {m['fleet_check']:.2f} s (median of {args.runs})")
    print(f"one envsnap check:                        {m['check']:.2f} s")
    print(f"srun -N3 true:                            {m['srun_N3_true']:.2f} s")
    print(f"fleet check / (check + srun):             {m['ratio']:.2f}x (target <= 1.5x)")
    print(f"3 checks at once on this machine's {os.cpu_count()} cores: {m['three_checks']:.2f} s")
    print(f"fleet check / (3 checks at once + srun):  {m['ratio_shared_cores']:.2f}x "
          "(the local nodes share these cores; a cluster's nodes do not)")
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
