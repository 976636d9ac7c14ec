"""What the GPU part of a capture costs on a machine without NVIDIA hardware, side by side with the peers.

    python bench/gpu_capture.py [--python ENV_PYTHON] [--runs 15] [--json OUT]

Measured in one run, medians, interleaved:
1. envsnap's GPU part as `capture()` times it (NVML presence check, CUDA copies, framework builds): the
   target is < 20 ms where there is no driver.
2. The same part alone, in-process, with the ld.so cache already read (as `capture()` shares it).
3. Peers, each in a fresh interpreter, minus a bare interpreter's start-up: what W&B-style metadata does
   (`import pynvml; nvmlInit()`, which fails without a driver), `nvidia-smi -L` where it exists, and
   `python -m torch.utils.collect_env` where torch is importable.
Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from envsnap._privacy import PathRedactor
from envsnap.probes import cuda, frameworks, hostlibs, nvidia, python
from envsnap.probes.capture import capture

TARGET_MS = 20.0


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def command_ms(cmd: list[str], runs: int) -> float:
    return median_ms(lambda: subprocess.run(cmd, capture_output=True, check=False), runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", help="the environment to capture (default: this interpreter's)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args = parser.parse_args()

    driver = nvidia.find_library({})
    if driver is not None:
        print(f"note: this machine has an NVIDIA driver ({driver}): the no-driver target does not apply")

    in_capture: list[float] = []

    def one_capture() -> None:
        timings: dict[str, float] = {}
        capture(args.python, timings=timings)
        in_capture.append(sum(timings[name] for name in ("nvidia", "frameworks", "cuda")) * 1000)

    median_ms(one_capture, args.runs)
    in_capture_ms = statistics.median(in_capture[1:])

    raw = python.run_probe(args.python)
    loader = hostlibs.Loader.for_host()
    redact = PathRedactor(prefix=raw.prefix)
    roots = [raw.prefix, *(p.site_dir for p in raw.packages)]

    def gpu_part() -> None:
        nvidia.probe_nvidia()
        fw = frameworks.probe_frameworks(raw.packages)
        cuda.probe_cuda(raw.packages, raw.prefix, roots, loader.cache, redact, framework_cuda=frameworks.cuda_of(fw))

    rows: list[tuple[str, float]] = [
        ("envsnap GPU part inside capture()", in_capture_ms),
        ("envsnap GPU part alone (ld cache shared)", median_ms(gpu_part, args.runs)),
        ("  of which: NVML presence check", median_ms(nvidia.probe_nvidia, args.runs)),
    ]
    bare = command_ms([sys.executable, "-c", "pass"], args.runs)
    naive = "import pynvml\ntry:\n    pynvml.nvmlInit()\nexcept pynvml.NVMLError:\n    pass\n"
    rows.append(
        (
            "peer: import pynvml + nvmlInit (W&B style)",
            command_ms([sys.executable, "-c", naive], args.runs) - bare,
        )
    )
    smi = shutil.which("nvidia-smi")
    if smi:
        rows.append(("peer: nvidia-smi -L", command_ms([smi, "-L"], args.runs)))
    target_python = python.resolve_interpreter(args.python) if args.python else sys.executable
    has_torch = subprocess.run([target_python, "-c", "import torch"], capture_output=True).returncode == 0
    if has_torch:
        rows.append(
            (
                "peer: torch collect_env",
                command_ms([target_python, "-m", "torch.utils.collect_env"], max(3, args.runs // 5)) - bare,
            )
        )

    width = max(len(name) for name, _ in rows)
    ours = rows[0][1]
    for name, ms in rows:
        ratio = f"{ms / ours:6.1f}x ours" if name.startswith("peer") and ours > 0 else ""
        print(f"{name:<{width}}  {ms:8.2f} ms  {ratio}")
    ok = driver is not None or ours < TARGET_MS
    print(f"target: GPU part < {TARGET_MS:g} ms without a driver: {'PASS' if ok else 'FAIL'} ({ours:.2f} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": dict(rows), "target_ms": TARGET_MS, "pass": ok}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
