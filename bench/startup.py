"""Start-up speed: `envsnap --help`, `--version` and every command's `--help` against `python -c pass`, one run.

    python bench/startup.py [--runs 15]

Prints each median (wall, and CPU of the child: steadier on a loaded machine) beside the bare interpreter's (the
same interpreter, never a pyenv shim) and the import budget: how many modules `python -X importtime` shows for
each beyond those of `python -c pass`, and the largest of them, all for the console script as users run it (not
`python -m envsnap`, which adds runpy). Target (issue 18): `envsnap --help`, `--version` and every command's
`--help` within 3x of `python -c pass`. tests/test_startup.py holds the structural rules (no command's
implementation, none of a list of heavy modules, at most BUDGET_MODULES modules); the times live here only.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _installed  # this tree, installed from its wheel into a venv, as users run it

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MODULES = 45  # modules `envsnap --help` (any of the cases here) may add to python -c pass's (about 25)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_times(cmds: list[list[str]], runs: int, env: dict[str, str]) -> list[tuple[float, float]]:
    """(wall, cpu) medians of each command, the commands interleaved run by run."""
    times: list[list[tuple[float, float]]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            start, cpu = time.perf_counter(), children_cpu()
            subprocess.run(cmd, check=False, capture_output=True, env=env)
            times[i].append((time.perf_counter() - start, children_cpu() - cpu))
    return [(statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for t in times]


def import_profile(args: list[str], env: dict[str, str]) -> tuple[int, list[tuple[int, str]]]:
    """How many modules `python -X importtime` shows for ``envsnap ARGS`` (the console script) beyond those of
    `python -c pass`, and the five largest (cumulative microseconds, name) at the top level."""
    python = _installed.envsnap_python()
    script = _installed.envsnap()
    cmd = [python, "-X", "importtime", *(script[1:] if script[0] == python else script), *args]
    rows = importtime(cmd, env)
    top = sorted((r for r in rows if not r[1].startswith("  ")), reverse=True)[:5]
    return len(rows) - len(importtime([python, "-X", "importtime", "-c", "pass"], env)), top


def importtime(cmd: list[str], env: dict[str, str]) -> list[tuple[int, str]]:
    err = subprocess.run(cmd, capture_output=True, text=True, env=env).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|")
            rows.append((int(cumulative), name.rstrip()))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    sys.path.insert(0, str(ROOT))
    from envsnap.cli import command_names

    # envsnap as users run it (its console script, in a venv holding this tree's wheel) against the same venv's
    # interpreter running nothing.
    python = _installed.envsnap_python()
    script = _installed.envsnap()
    cases = {"envsnap --help": ["--help"], "envsnap --version": ["--version"]}
    cases.update({f"envsnap {c} --help": [c, "--help"] for c in sorted(command_names())})
    # The floor of any help argparse prints: an empty parser's --help (re, enum, gettext, locale, textwrap).
    floor = [python, "-c", "import argparse; argparse.ArgumentParser(prog='x').parse_args(['--help'])"]
    cmds = [[python, "-c", "pass"], floor, *([*script, *a] for a in cases.values())]
    (base, base_cpu), (floor_wall, floor_cpu), *times = median_times(cmds, args.runs, env)
    print(f"python -c pass: {base * 1000:.0f} ms wall, {base_cpu * 1000:.0f} ms cpu ({python})")
    print(
        f"argparse's floor (an empty parser's --help): {floor_wall * 1000:.0f} ms, ratio {floor_wall / base:.2f} "
        f"wall / {floor_cpu / base_cpu:.2f} cpu"
    )
    for name, (took, cpu) in zip(cases, times, strict=True):
        count, top = import_profile(cases[name], env)
        biggest = ", ".join(f"{n.strip()} {us / 1000:.0f} ms" for us, n in top)
        print(
            f"{name}: {took * 1000:.0f} ms, ratio {took / base:.2f} wall / {cpu / base_cpu:.2f} cpu (target <= 3); "
            f"{count} modules beyond python's (budget {BUDGET_MODULES}){' OVER' if count > BUDGET_MODULES else ''}; "
            f"largest: {biggest}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
