"""Capture speed, side by side with pip freeze, in one run.

    python bench/capture.py [--realistic-venv PATH] [--runs 7] [--json OUT]

1. A realistic environment (built with uv unless --realistic-venv is given: numpy, scipy, pandas,
   scikit-learn, matplotlib, jupyter, requests ... more than 100 distributions): median wall time of
   `envsnap capture --python ENV` vs `ENV/bin/python -m pip freeze`. Target ratio <= 0.5 while recording
   far more (sources, wheel tags, RECORD digests, system libraries, hardware).
2. Synthetic environments of 250, 500 and 1,000 distributions (each with METADATA, WHEEL, INSTALLER and a
   RECORD of 20 files): capture time must stay under 1 s at 1,000 and grow linearly.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REALISTIC = ["numpy", "scipy", "pandas", "scikit-learn", "matplotlib", "jupyter", "requests", "pyyaml", "tqdm",
             "sympy", "pillow", "h5py"]


def median_times(cmds: list[list[str]], runs: int) -> list[float]:
    """Median wall time of each command, their runs interleaved so that load on the machine hits all alike."""
    for cmd in cmds:
        subprocess.run(cmd, check=True, capture_output=True)  # warm the page cache
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def median_time(cmd: list[str], runs: int) -> float:
    return median_times([cmd], runs)[0]


def envsnap_cmd(python: Path) -> list[str]:
    return [sys.executable, "-m", "envsnap", "capture", "--python", str(python), "-o", "-"]


def build_realistic(root: Path) -> Path:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    venv = root / "realistic"
    subprocess.run([uv, "venv", "-q", "--seed", "--python", sys.executable, str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", str(py), *REALISTIC], check=True)
    return py


def build_synthetic(root: Path, count: int) -> Path:
    venv = root / f"synthetic-{count}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    for i in range(count):
        name = f"synthpkg{i:04d}"
        dist = site / f"{name}-1.{i}.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.{i}.0\nRequires-Dist: numpy>=1.20\n"
            f"Requires-Python: >=3.8\n\n{'long description ' * 200}\n")
        (dist / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        (dist / "INSTALLER").write_text("pip\n")
        rows = [f"{name}/mod{j}.py,sha256={'A' * 43},{100 + j}" for j in range(20)]
        rows += [f"{dist.name}/METADATA,sha256={'B' * 43},500", f"{dist.name}/RECORD,,"]
        (dist / "RECORD").write_text("\n".join(rows) + "\n")
    return py


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realistic-venv", type=Path, help="an existing environment's python to measure")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="envsnap-bench-") as tmp:
        root = Path(tmp)
        py = args.realistic_venv or build_realistic(root)
        count = len(json.loads(subprocess.run([str(py), "-m", "pip", "list", "--format=json"], check=True,
                                              capture_output=True, text=True).stdout))
        ours, freeze = median_times([envsnap_cmd(py), [str(py), "-m", "pip", "freeze"]], args.runs)
        results["realistic"] = {"packages": count, "envsnap_s": ours, "pip_freeze_s": freeze, "ratio": ours / freeze}
        print(f"realistic ({count} distributions): envsnap capture {ours:.3f} s, pip freeze {freeze:.3f} s, "
              f"ratio {ours / freeze:.2f} (target <= 0.5)")
        synthetic = {}
        for n in (250, 500, 1000):
            spy = build_synthetic(root, n)
            synthetic[n] = median_time(envsnap_cmd(spy), args.runs)
            print(f"synthetic {n:5d} distributions: envsnap capture {synthetic[n]:.3f} s")
        growth = (synthetic[1000] - synthetic[250]) / 750
        results["synthetic"] = {str(k): v for k, v in synthetic.items()}
        results["per_1000_s"] = growth * 1000
        print(f"marginal cost: {growth * 1000:.3f} s per 1,000 distributions; 1,000 in {synthetic[1000]:.3f} s "
              f"(target < 1 s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
