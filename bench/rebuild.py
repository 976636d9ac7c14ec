"""Rebuild and verify speed, side by side with pip, in one run.

    python bench/rebuild.py [--runs 3] [--json OUT]

Builds a realistic environment with uv (numpy, scipy, pandas, scikit-learn, matplotlib, ...), captures it,
pins it and bundles it, then measures:

1. `envsnap rebuild LOCK --bundle B --offline --dest D` (compatibility check, venv creation, hash check of
   every wheel, install, move into place, verify) against
   `pip install --no-index --find-links B/wheels --require-hashes --no-deps -r B/requirements.txt` into a
   venv created beforehand (that creation is not timed: pip gets the easier job). Target ratio <= 0.5.
   Also against the tool it drives: `uv venv` + `uv pip install --offline --no-deps --no-index --find-links
   B/wheels --require-hashes -r B/requirements.txt` into a fresh venv, timed whole (issue 19's target: <= 1.3x).
2. `envsnap verify LOCK --python ENV` (which also captures the system and hardware) against
   `ENV/bin/python -m pip freeze` (pip's version printed beside the ratio). Target: <= 0.5x.
3. The phase trace of one rebuild (bench/rebuild_trace.py: lock loads, captures, wheel hashing, installer,
   venv creation, other subprocesses, each with its count), so that a regression shows which phase grew.

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

REALISTIC = ["pip>=26", "numpy", "scipy", "pandas", "scikit-learn", "matplotlib", "requests", "pyyaml", "tqdm", "sympy",
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

        def uv_sync() -> None:
            dest = root / f"uv-{next(counter)}"
            subprocess.run([uv_bin(), "venv", "-q", "--python", os.path.realpath(sys.executable), str(dest)],
                           check=True)
            subprocess.run([uv_bin(), "pip", "install", "-q", "--offline", "--python", str(dest / "bin" / "python"),
                            "--no-deps", "--no-index", "--find-links", str(bundle / "wheels"), "--require-hashes",
                            "-r", str(bundle / "requirements.txt")], check=True, capture_output=True)
            shutil.rmtree(dest)

        ours()
        theirs()
        uv_sync()
        mine, pips, uvs = [], [], []
        for _ in range(args.runs):
            mine.append(timed(ours))
            pips.append(theirs())
            uvs.append(timed(uv_sync))
        rebuild_s, pip_s, uv_s = statistics.median(mine), statistics.median(pips), statistics.median(uvs)
        results["rebuild"] = {"packages": count, "envsnap_s": rebuild_s, "pip_install_s": pip_s,
                              "uv_s": uv_s, "ratio": rebuild_s / pip_s, "uv_ratio": rebuild_s / uv_s}
        print(f"rebuild ({count} wheels, offline): envsnap rebuild {rebuild_s:.2f} s (check + venv + install + "
              f"verify), pip install {pip_s:.2f} s, ratio {rebuild_s / pip_s:.2f} (target <= 0.5); "
              f"uv venv + uv pip install {uv_s:.2f} s, ratio {rebuild_s / uv_s:.2f} (target <= 1.3)")

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
        pip = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()[1]
        print(f"verify: envsnap verify {verify_s:.3f} s, pip {pip} freeze {freeze_s:.3f} s, "
              f"ratio {verify_s / freeze_s:.2f} (target <= 0.5)")
        trace = subprocess.run([sys.executable, str(Path(__file__).with_name("rebuild_trace.py")), str(lock),
                                "--bundle", str(bundle), "--dest", str(root / "traced")], capture_output=True,
                               text=True, check=True).stdout
        print("phase trace of one rebuild:\n" + "\n".join(trace.splitlines()[-8:]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
