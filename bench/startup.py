"""Start-up speed: `envsnap --help`, `--version` and a command's `--help` against `python -c pass`, one run.

    python bench/startup.py [--runs 15]

Prints each median beside the bare interpreter's (the same interpreter, never a pyenv shim) and the import
budget: how many modules `python -X importtime` shows for each, and the largest of them. Target (issue 18):
`envsnap --help` within 3x of `python -c pass`. tests/test_startup.py holds the structural rule (no command's
implementation imported); the times live here only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MODULES = 150  # modules `envsnap --help` may import (python -c pass: about 30)
PYTHON = os.path.realpath(sys.executable)


def median_times(cmds: list[list[str]], runs: int, env: dict[str, str]) -> list[float]:
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            start = time.perf_counter()
            subprocess.run(cmd, check=False, capture_output=True, env=env)
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def import_profile(args: list[str], env: dict[str, str]) -> tuple[int, list[tuple[int, str]]]:
    err = subprocess.run([PYTHON, "-X", "importtime", *args], capture_output=True, text=True, env=env).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|")
            rows.append((int(cumulative), name.rstrip()))
    top = sorted((r for r in rows if not r[1].startswith("  ")), reverse=True)[:5]
    return len(rows), top


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cases = {"envsnap --help": ["-m", "envsnap", "--help"], "envsnap --version": ["-m", "envsnap", "--version"],
             "envsnap verify --help": ["-m", "envsnap", "verify", "--help"],
             "envsnap capture --help": ["-m", "envsnap", "capture", "--help"]}
    cmds = [[PYTHON, "-c", "pass"], *([PYTHON, *a] for a in cases.values())]
    base, *times = median_times(cmds, args.runs, env)
    print(f"python -c pass: {base * 1000:.0f} ms ({PYTHON})")
    for (name, argv), took in zip(cases.items(), times, strict=True):
        count, top = import_profile(argv, env)
        biggest = ", ".join(f"{n.strip()} {us / 1000:.0f} ms" for us, n in top)
        print(f"{name}: {took * 1000:.0f} ms, ratio {took / base:.2f} (target <= 3); {count} modules "
              f"(budget {BUDGET_MODULES}){' OVER' if count > BUDGET_MODULES else ''}; largest: {biggest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
