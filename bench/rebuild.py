"""Rebuild and verify speed, side by side with pip, in one run.

    python bench/rebuild.py [--runs 3] [--json OUT]

Builds a realistic environment with uv (numpy, scipy, pandas, scikit-learn, matplotlib, ...), captures it,
pins it and bundles it, then measures:

1. `envsnap rebuild LOCK --bundle B --offline --dest D` (compatibility check, venv creation, hash check of
   every wheel, install, move into place, verify) against
   `pip install --no-index --find-links B/wheels --require-hashes --no-deps -r B/requirements.txt` into a
   venv created beforehand (that creation is not timed: pip gets the easier job). Target ratio <= 0.5.
2. `envsnap verify LOCK --python ENV` (which also captures the system and hardware) against
   `ENV/bin/python -m pip freeze`. Target: faster than pip freeze.

Runs alternate between the tools so that load on the machine hits both alike; medians are reported. A warm-up
run of each is not counted (it fills uv's and pip's caches from the bundle, as a second rebuild would find).
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

REALISTIC = ["numpy", "scipy", "pandas", "scikit-learn", "matplotlib", "requests", "pyyaml", "tqdm", "sympy",
             "pillow", "jinja2", "rich"]


def uv_bin() -> str:
    return shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def envsnap(*args: str) -> list[str]:
    return [sys.executable, "-m", "envsnap", *args]


def timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def build_source(root: Path) -> tuple[Path, Path, Path]:
    """The realistic environment's python, its pinned lock and its bundle."""
    venv = root / "source"
    subprocess.run([uv_bin(), "venv", "-q", "--seed", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([uv_bin(), "pip", "install", "-q", "--python", str(python), *REALISTIC], check=True)
    lock = root / "envsnap.lock"
    cache = ["--cache-dir", str(root / "cache")]
    subprocess.run(envsnap("capture", "--python", str(python), "-o", str(lock)), check=True, capture_output=True)
    subprocess.run(envsnap("pin", str(lock), *cache), check=True, capture_output=True)
    bundle = root / "bundle"
    subprocess.run(envsnap("bundle", str(lock), "-o", str(bundle), *cache), check=True, capture_output=True)
    return python, lock, bundle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results: dict[str, object] = {}
    pip_env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    with tempfile.TemporaryDirectory(prefix="envsnap-bench-") as tmp:
        root = Path(tmp)
        python, lock, bundle = build_source(root)
        count = sum(1 for line in (bundle / "requirements.txt").read_text().splitlines() if "--hash" in line)
        counter = iter(range(10_000))

        def ours() -> None:
            dest = root / f"ours-{next(counter)}"
            subprocess.run(envsnap("rebuild", str(lock), "--bundle", str(bundle), "--offline", "--dest", str(dest)),
                           check=True, capture_output=True)
            shutil.rmtree(dest)

        def theirs() -> float:
            dest = root / f"pip-{next(counter)}"
            subprocess.run([sys.executable, "-m", "venv", str(dest)], check=True)
            took = timed(lambda: subprocess.run(
                [str(dest / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links",
                 str(bundle / "wheels"), "--require-hashes", "--no-deps", "-r", str(bundle / "requirements.txt")],
                check=True, capture_output=True, env=pip_env))
            shutil.rmtree(dest)
            return took

        ours()
        theirs()
        mine, pips = [], []
        for _ in range(args.runs):
            mine.append(timed(ours))
            pips.append(theirs())
        rebuild_s, pip_s = statistics.median(mine), statistics.median(pips)
        results["rebuild"] = {"packages": count, "envsnap_s": rebuild_s, "pip_install_s": pip_s,
                              "ratio": rebuild_s / pip_s}
        print(f"rebuild ({count} wheels, offline): envsnap rebuild {rebuild_s:.2f} s (check + venv + install + "
              f"verify), pip install {pip_s:.2f} s, ratio {rebuild_s / pip_s:.2f} (target <= 0.5)")

        verify_cmd = envsnap("verify", str(lock), "--python", str(python))
        freeze_cmd = [str(python), "-m", "pip", "freeze"]
        for cmd in (verify_cmd, freeze_cmd):
            subprocess.run(cmd, check=True, capture_output=True)
        v, f = [], []
        for _ in range(max(args.runs, 5)):
            v.append(timed(lambda: subprocess.run(verify_cmd, check=True, capture_output=True)))
            f.append(timed(lambda: subprocess.run(freeze_cmd, check=True, capture_output=True)))
        verify_s, freeze_s = statistics.median(v), statistics.median(f)
        results["verify"] = {"envsnap_s": verify_s, "pip_freeze_s": freeze_s, "ratio": verify_s / freeze_s}
        print(f"verify: envsnap verify {verify_s:.3f} s, pip freeze {freeze_s:.3f} s, ratio {verify_s / freeze_s:.2f} "
              "(target < 1)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
