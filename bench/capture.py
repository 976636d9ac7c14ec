"""Capture and verify speed against yardsticks that do not move, in one run (issues 18 and 20).

    python bench/capture.py [--ml-venv PY] [--cuda-venv PY] [--runs 7] [--json OUT]

Every ratio is printed beside its peer measured in the same run, the runs interleaved so that load on the
machine hits all alike (medians; peak memory is the largest resident set of any one process of the command):
- the floor: a bare `importlib.metadata` listing (name and version of every distribution) in the target
  interpreter;
- the real floor: a standard-library scan of the `.dist-info` folders and their METADATA `Name` and `Version`
  headers in a fresh target interpreter (no email parser; the least the target probe must do);
- `uv pip freeze --python ENV`;
- `ENV/bin/python -m pip freeze`, with that pip's version printed beside every pip ratio (the environments built
  here install pip >= 26; pip's speed moved a lot between releases, so a ratio without its version means little).
The CPU time of pip freeze and of a cold capture (the command and the children it waited for) is printed beside
their wall times: on a machine others share, the CPU ratio moves less. `envsnap capture --python ENV -o -` is
timed cold (`--no-cache`: every ELF section, RECORD digest and dpkg list read again) and warm (the capture cache
filled by an earlier run, the environment unchanged), with a capture cache of its own (XDG_CACHE_HOME in the
bench's temporary folder). Every command runs with byte code written (PYTHONDONTWRITEBYTECODE is dropped, and an
unmeasured first run of each writes it): an installed pip and envsnap have theirs, and timing a compile of pip's
sources inflated pip freeze two to three times. Environments:
1. an ML environment (torch CPU, transformers, jupyter, scikit-learn, pandas, matplotlib, scipy, h5py ...: about
   160 distributions), built with uv unless --ml-venv names one;
2. a CUDA-wheel environment (NVIDIA's runtime wheels: cuda-runtime, cublas, cudnn, cufft, curand, cusolver,
   cusparse, nccl, nvjitlink, nvrtc, cupti, nvtx, and numpy: about 3 GB of shared libraries in 20 distributions),
   unless --cuda-venv names one;
3. synthetic environments of 1,000 and 5,000 distributions (METADATA, WHEEL, INSTALLER, a RECORD of 22 rows):
   growth must stay linear.
Then `envsnap verify LOCK --python ENV` against pip freeze on the ML environment.
Goals (issue 18): capture / pip freeze <= 0.35 cold and <= 0.15 warm on the ML environment, <= 0.4 cold on the
CUDA-wheel one, peak memory no more than pip freeze's; verify <= 0.5x pip freeze.
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
from dataclasses import dataclass
from pathlib import Path

import _installed  # this tree, installed from its wheel into a venv, as users run it
import tomllib

ROOT = Path(__file__).resolve().parent.parent
ML = [
    "torch",
    "transformers",
    "jupyter",
    "scikit-learn",
    "pandas",
    "matplotlib",
    "scipy",
    "requests",
    "pyyaml",
    "tqdm",
    "sympy",
    "pillow",
    "h5py",
    "pip>=26",
]
CUDA = [
    "nvidia-cuda-runtime",
    "nvidia-cublas",
    "nvidia-cudnn-cu13",
    "nvidia-cufft",
    "nvidia-curand",
    "nvidia-cusolver",
    "nvidia-cusparse",
    "nvidia-nccl-cu13",
    "nvidia-nvjitlink",
    "nvidia-cuda-nvrtc",
    "nvidia-cuda-cupti",
    "nvidia-nvtx",
    "numpy",
    "pip>=26",
]
FLOOR = "import importlib.metadata as m\nfor d in m.distributions(): d.metadata['Name'], d.version"
# The real floor of a capture (issue 18): a fresh interpreter of the environment lists its .dist-info folders and
# reads each METADATA's Name and Version headers, with the standard library only and no email parser (what the
# target probe does at the least; importlib.metadata parses every METADATA whole with the email package).
SCAN = """import os, sys
for d in sys.path[1:]:
    try:
        names = os.listdir(d or '.')
    except OSError:
        continue
    for n in names:
        if n.endswith('.dist-info'):
            try:
                with open(os.path.join(d, n, 'METADATA'), 'rb') as f:
                    head = f.read(8192).split(b'\\n\\n', 1)[0]
            except OSError:
                continue
            [x for x in head.split(b'\\n') if x.startswith((b'Name: ', b'Version: '))]
"""
# What a cold capture of this design cannot do without (issue 18): envsnap's own interpreter with the modules a
# capture imports (the command line, the model, the lockfile, the probes) reading the host's package database and
# ld.so cache (`hostlibs.prepare`, without the capture cache: the lock's system packages and library owners), and
# the target probe alone in the environment (`_pyprobe_run.py` without a cache: every RECORD digest and METADATA
# read, in its two processes). A capture waits for the probe's answer and then still reads the libraries' ELF
# sections, builds and writes the lock, so it cannot take less wall time than the probe alone, nor less than the
# CPU of the two together spread over every core: `design_floor`.
IMPORTS = (
    "import envsnap.cli, envsnap.cli.capture, envsnap.probes.capture, envsnap.lockfile\n"
    "from envsnap.probes import hostlibs\n"
    "hostlibs.prepare()"
)
# Byte code is written (see above); the capture cache lives in the bench's temporary folder (set in main).
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
CWD: list[str] = []  # every command runs in the bench's temporary folder, outside any git work tree (set in main)
RACY_S = 2.0  # the capture cache's window (envsnap/probes/_pyprobe.py, _RACY_NS)
GOALS = {("ML environment", "cold"): 0.35, ("ML environment", "warm"): 0.15, ("CUDA-wheel environment", "cold"): 0.4}


def uv_bin() -> str:
    return shutil.which("uv") or str(Path(sys.executable).parent / "uv")


@dataclass
class Timed:
    seconds: float  # median wall time
    peak_kib: int  # the largest resident set of one process of the command (the command or a child it waited for)
    cpu: float = 0.0  # median CPU seconds (user + system) of the command and the children it waited for


def run_once(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, int, float]:
    """Wall seconds, peak resident KiB and CPU seconds of one run. An exit status outside ``ok`` stops the bench."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, cwd=CWD[0] if CWD else None
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        raise SystemExit(f"{cmd}: exit {proc.returncode}: {err[-500:]!r}")
    return took, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def measure(cmds: list[list[str]], runs: int, ok: tuple[int, ...] = (0,)) -> list[Timed]:
    """Each command's median wall time and peak memory, their runs interleaved; one unmeasured warm-up run each
    (it writes the byte code, and fills the capture cache for a warm capture)."""
    for cmd in cmds:
        run_once(cmd, ok)
    times: list[list[float]] = [[] for _ in cmds]
    cpus: list[list[float]] = [[] for _ in cmds]
    peaks = [0 for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            took, peak, cpu = run_once(cmd, ok)
            times[i].append(took)
            cpus[i].append(cpu)
            peaks[i] = max(peaks[i], peak)
    return [Timed(statistics.median(t), p, statistics.median(c)) for t, p, c in zip(times, peaks, cpus, strict=True)]


def median_times(cmds: list[list[str]], runs: int, ok: tuple[int, ...] = (0,)) -> list[float]:
    return [t.seconds for t in measure(cmds, runs, ok)]


def envsnap(*args: str) -> list[str]:
    return _installed.envsnap(*args)


def has_cache_flag() -> bool:
    out = subprocess.run(envsnap("capture", "--help"), capture_output=True, text=True, env=ENV).stdout
    return "--no-cache" in out


def build(root: Path, name: str, packages: list[str]) -> Path:
    venv = root / name
    subprocess.run(
        [uv_bin(), "venv", "-q", "--seed", "--python", os.path.realpath(sys.executable), str(venv)], check=True
    )
    py = venv / "bin" / "python"
    subprocess.run([uv_bin(), "pip", "install", "-q", "--python", str(py), *packages], check=True)
    return py


def build_synthetic(root: Path, count: int) -> Path:
    venv = root / f"synthetic-{count}"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    for i in range(count):
        name = f"synthpkg{i:05d}"
        dist = site / f"{name}-1.{i}.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.{i}.0\nRequires-Dist: numpy>=1.20\n"
            f"Requires-Python: >=3.8\n\n{'long description ' * 200}\n"
        )
        (dist / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        (dist / "INSTALLER").write_text("pip\n")
        rows = [f"{name}/mod{j}.py,sha256={'A' * 43},{100 + j}" for j in range(20)]
        rows += [f"{dist.name}/METADATA,sha256={'B' * 43},500", f"{dist.name}/RECORD,,"]
        (dist / "RECORD").write_text("\n".join(rows) + "\n")
    # A file changed less than two seconds before a capture reads it is not kept in the capture cache (its mtime
    # may not move on its next change), so the "warm" runs of an environment written just now were cold ones that
    # also wrote a cache: they age past that window first, as the ML and CUDA environments have.
    newest = (site / f"synthpkg{count - 1:05d}-1.{count - 1}.0.dist-info" / "RECORD").stat().st_mtime
    time.sleep(max(0.0, newest + RACY_S + 0.5 - time.time()))
    return py


def pip_version(py: Path) -> str:
    out = subprocess.run([str(py), "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()
    return out[1] if len(out) > 1 else "none"


def count_dists(py: Path) -> int:
    code = "import importlib.metadata as m; print(len({d.metadata['Name'] for d in m.distributions()}))"
    return int(subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True).stdout)


def probe_script() -> str:
    """The installed envsnap's target probe (what `capture --python` runs in the environment)."""
    code = "import envsnap.probes.pending as p; print(p.PROBE_PATH)"
    return subprocess.run(
        [_installed.envsnap_python(), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def design_floor(probe: Timed, imports: Timed) -> float:
    """The least wall time a cold capture of this design can take here: not less than the target probe alone, nor
    than the CPU of the probe and of envsnap's start (its imports, the host's package database and ld.so cache)
    spread over every core of this machine (the libraries' ELF sections, the lock's building and writing and the
    rest left out)."""
    return max(probe.seconds, (probe.cpu + imports.cpu) / len(os.sched_getaffinity(0)))


def measure_env(label: str, py: Path, runs: int, cache: bool) -> dict[str, object]:
    capture = envsnap("capture", "--python", str(py), "-o", "-")
    cold = [*capture, "--no-cache"] if cache else capture
    pip = pip_version(py)
    cmds = [
        [str(py), "-c", FLOOR],
        [str(py), "-c", SCAN],
        [uv_bin(), "pip", "freeze", "--python", str(py)],
        [str(py), "-m", "pip", "freeze"],
        [str(py), "-E", "-B", probe_script()],
        [_installed.envsnap_python(), "-c", IMPORTS],
        cold,
        *([capture] if cache else []),
    ]
    floor, scan, uv, freeze, probe, imports, cold_t, *rest = measure(cmds, runs)
    warm_t = rest[0] if rest else cold_t
    n = count_dists(py)
    print(
        f"{label} ({n} distributions): floor (importlib.metadata listing) {floor.seconds:.3f} s, stdlib scan of the "
        f"METADATA headers {scan.seconds:.3f} s ({scan.seconds / freeze.seconds:.2f}x pip freeze), uv pip freeze "
        f"{uv.seconds:.3f} s, pip {pip} freeze {freeze.seconds:.3f} s ({freeze.cpu:.3f} s CPU, "
        f"{freeze.peak_kib / 1024:.1f} MiB peak)"
    )
    least = design_floor(probe, imports)
    goal = GOALS.get((label, "cold"))
    print(
        f"  this design's floor for a cold capture: the target probe alone {probe.seconds:.3f} s ({probe.cpu:.3f} s "
        f"CPU), envsnap's start with a capture's imports and its reading of the host's package database and ld.so "
        f"cache {imports.seconds:.3f} s ({imports.cpu:.3f} s CPU); on "
        f"{len(os.sched_getaffinity(0))} cores at least {least:.3f} s = {least / freeze.seconds:.2f}x pip freeze"
        + (f" (goal <= {goal}: {'within reach' if least / freeze.seconds <= goal else 'out of reach'})" if goal else "")
    )
    for what, took in (("cold", cold_t), ("warm", warm_t)):
        goal = GOALS.get((label, what))
        print(
            f"  capture {what} {took.seconds:.3f} s: {took.seconds / freeze.seconds:.2f}x pip {pip} freeze"
            f"{f' (goal <= {goal})' if goal else ''} ({took.cpu:.3f} s CPU: {took.cpu / freeze.cpu:.2f}x), "
            f"{took.seconds / scan.seconds:.1f}x the stdlib scan, {took.seconds / floor.seconds:.2f}x the "
            f"importlib.metadata scan, {took.seconds / uv.seconds:.1f}x uv; peak {took.peak_kib / 1024:.1f} MiB, "
            f"{took.peak_kib / freeze.peak_kib:.2f}x pip freeze's (goal <= 1)"
        )
    return {
        "distributions": n,
        "floor_s": floor.seconds,
        "stdlib_scan_s": scan.seconds,
        "pip_freeze_cpu_s": freeze.cpu,
        "capture_cold_cpu_s": cold_t.cpu,
        "uv_freeze_s": uv.seconds,
        "pip_version": pip,
        "pip_freeze_s": freeze.seconds,
        "pip_freeze_peak_kib": freeze.peak_kib,
        "probe_alone_s": probe.seconds,
        "probe_alone_cpu_s": probe.cpu,
        "capture_imports_cpu_s": imports.cpu,
        "design_floor_s": least,
        "capture_cold_s": cold_t.seconds,
        "capture_warm_s": warm_t.seconds,
        "capture_cold_peak_kib": cold_t.peak_kib,
        "capture_warm_peak_kib": warm_t.peak_kib,
    }


def measure_diff(root: Path, py: Path, runs: int) -> dict[str, float]:
    """`envsnap diff A B` of two captures of the 5,000-distribution environment (one version changed between
    them) against a text diff of their `name==version` lists (issue 19's target: < 0.2 s)."""
    a, b = root / "a.lock", root / "b.lock"
    subprocess.run(envsnap("capture", "--python", str(py), "-o", str(a)), check=True, capture_output=True, env=ENV)
    site = next(Path(str(py)).parent.parent.glob("lib/python*/site-packages"))
    meta = next(site.glob("synthpkg00000-*.dist-info")) / "METADATA"
    meta.write_text(meta.read_text().replace("Version: 1.0.0", "Version: 1.0.1"))
    subprocess.run(envsnap("capture", "--python", str(py), "-o", str(b)), check=True, capture_output=True, env=ENV)
    for path, lock in ((root / "a.txt", a), (root / "b.txt", b)):
        with lock.open("rb") as f:
            path.write_text("".join(f"{p['name']}=={p['version']}\n" for p in tomllib.load(f)["python"]["packages"]))
    ours, text = median_times(
        [envsnap("diff", str(a), str(b)), ["diff", str(root / "a.txt"), str(root / "b.txt")]], runs, ok=(0, 1)
    )
    print(
        f"diff of two 5,000-distribution locks: envsnap diff {ours:.3f} s (target < 0.2 s), text diff of their "
        f"requirement lists {text:.3f} s"
    )
    return {"envsnap_diff_s": ours, "text_diff_s": text}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ml-venv", type=Path, help="an existing ML environment's python")
    parser.add_argument("--cuda-venv", type=Path, help="an existing CUDA-wheel environment's python")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    cache = has_cache_flag()
    results: dict[str, object] = {"capture_cache": cache}
    with tempfile.TemporaryDirectory(prefix="envsnap-bench-") as tmp:
        root = Path(tmp)
        ENV["XDG_CACHE_HOME"] = str(root / "xdg")
        CWD.append(tmp)  # pip freeze records no project: capture should not read a git work tree's state either
        ml = args.ml_venv or build(root, "ml", ML)
        results["ml"] = measure_env("ML environment", ml, args.runs, cache)
        cuda = args.cuda_venv or build(root, "cuda", CUDA)
        results["cuda"] = measure_env("CUDA-wheel environment", cuda, args.runs, cache)
        synthetic: dict[int, float] = {}
        warm: dict[int, float] = {}
        for n in (1000, 5000):
            spy = build_synthetic(root, n)
            cmd = envsnap("capture", "--python", str(spy), "-o", "-")
            floor_cmd = [str(spy), "-c", FLOOR]
            cmds = [floor_cmd, [*cmd, "--no-cache"] if cache else cmd, *([cmd] if cache else [])]
            floor, cold_s, *rest = median_times(cmds, max(3, args.runs // 2))
            synthetic[n], warm[n] = cold_s, (rest[0] if rest else cold_s)
            print(
                f"synthetic {n:5d} distributions: capture cold {cold_s:.3f} s, warm {warm[n]:.3f} s; "
                f"importlib.metadata scan {floor:.3f} s (cold {cold_s / floor:.2f}x, warm {warm[n] / floor:.2f}x)"
            )
        results["diff"] = measure_diff(root, spy, args.runs)
        per = (synthetic[5000] - synthetic[1000]) / 4
        results["synthetic"] = {str(k): v for k, v in synthetic.items()} | {"per_1000_s": per}
        results["synthetic_warm"] = {str(k): v for k, v in warm.items()}
        print(
            f"marginal cost {per:.3f} s per 1,000 distributions (cold); 5,000 take "
            f"{synthetic[5000] / synthetic[1000]:.1f}x the time of 1,000 cold, {warm[5000] / warm[1000]:.1f}x warm"
        )
        lock = root / "ml.lock"
        subprocess.run(
            envsnap("capture", "--python", str(ml), "-o", str(lock)), check=True, capture_output=True, env=ENV
        )
        verify_s, freeze_s = median_times(
            [envsnap("verify", str(lock), "--python", str(ml)), [str(ml), "-m", "pip", "freeze"]], args.runs
        )
        results["verify"] = {"verify_s": verify_s, "pip_freeze_s": freeze_s, "pip_version": pip_version(ml)}
        print(
            f"verify (ML environment): {verify_s:.3f} s, pip {pip_version(ml)} freeze {freeze_s:.3f} s, "
            f"ratio {verify_s / freeze_s:.2f} (target <= 0.5)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
