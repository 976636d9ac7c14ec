"""Rebuild and verify speed, side by side with uv and pip, in one run.

    python bench/rebuild.py [--runs 5] [--workdir DIR] [--pip] [--before OLDTREE] [--rebuild-only] [--json OUT]

Builds a realistic environment of about 150 distributions with uv (numpy, scipy, pandas, scikit-learn,
matplotlib, jupyter, aiohttp, statsmodels, ...), captures it, pins it and bundles it (the one step that needs
the package index; `--workdir DIR` keeps all of it for the next run), then measures, runs interleaved:

1. `envsnap rebuild LOCK --bundle B --offline --target venv --dest D`, whole: the compatibility check, the
   SHA256SUMS check of every bundle file, venv creation, the install (uv), the move into place and the verify
   of the result against the lock; against the tool it drives, also whole: `uv venv` + `uv pip sync --offline
   --no-index --find-links B/wheels --require-hashes B/requirements.txt` into a fresh venv. Issue 19's target:
   <= 1.3x. Like for like: both run the same uv (the one on PATH, named to envsnap with ENVSNAP_UV, which
   otherwise prefers the uv installed beside it), both check hashes
   (--require-hashes), both link from uv's cache in the same link mode (uv's default, a hard link where the cache
   and the venv share a file system, as here; UV_LINK_MODE, when set, applies to both: envsnap passes it on),
   and both create the venv from an interpreter binary of the locked version (envsnap picks its own). Not alike
   on purpose: envsnap stages its venv at a name an earlier rebuild into the same folder used
   (`.envsnap-venv-slot0`, docs/design.md "Staging at a name used before"), where uv finds what it asked that
   interpreter in its cache; the peer's fresh venv has a new path each round, as a user's new venv does, and uv
   starts its interpreter to ask (20-40 ms of CPU).
   With `--pip`, also against `pip install --no-index --find-links B/wheels --require-hashes --no-deps
   -r B/requirements.txt` into a venv created beforehand (that creation is not timed: pip gets the easier job).
   Target <= 0.5x. (Off by default: pip takes minutes a run on a loaded 2-core machine, 10-25x envsnap.)
   With `--before OLDTREE` (a worktree of an older commit), that tree's envsnap is timed too, interleaved: the
   change and what it replaced, measured in the same run under the same load, each installed from its own wheel
   into a venv of its own (bench/_installed.py). It ran from source before, as `python -m envsnap` with
   PYTHONPATH=OLDTREE: run from a repository's root, that imported the checkout there instead (`-m` puts the
   working folder first on sys.path), and otherwise paid this interpreter's start-up (.pth files) and, where byte
   code is not written, a compile of every module, which the tree under test did not. Every envsnap run starts in
   --workdir.
2. `envsnap verify LOCK --python ENV` (which also captures the system and hardware) against
   `ENV/bin/python -m pip freeze` (pip's version printed beside the ratio). Target: <= 0.5x.
3. The phase trace of one rebuild (bench/rebuild_trace.py: lock loads, host captures, wheel hashing, the
   installer, venv creation, other subprocesses, each with its count), so that a regression shows which phase
   grew.

Each run keeps what it made until every round is done, and flushes the file system (`sync`) after it: the
write-back of the files one run linked otherwise lands in the next run, whichever tool it is. Nothing is removed
between the timed runs: on this machine's ext4, a run that creates its 26,000 files right after another run's were
removed spends twice the kernel time or more in the inode allocator (`perf`: `ext4_mkdir` and `ext4_create` in
`recently_deleted`, looking over the freed inodes), which made uv's own install 0.6-1.1 s instead of 0.3 s and hid
most of envsnap's overhead in the ratio (docs/design.md, "The eighth round"). The ratio of each round (envsnap's
run over uv's run beside it) is printed with its median too.
Wall time is the median of the runs and the least of them; the CPU time of the commands (their children
included), which load on a shared machine inflates less, is printed beside it. A warm-up run of each is not
counted (it fills uv's cache and envsnap's capture cache from the bundle, as a second rebuild would find them).
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

import _installed

REALISTIC = [
    "pip>=26",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "matplotlib",
    "requests",
    "pyyaml",
    "tqdm",
    "sympy",
    "pillow",
    "jinja2",
    "rich",
    "jupyter",
    "aiohttp",
    "httpx",
    "pydantic",
    "sqlalchemy",
    "seaborn",
    "statsmodels",
    "networkx",
    "h5py",
    "openpyxl",
    "lxml",
    "beautifulsoup4",
    "flask",
]
PY = os.path.realpath(sys.executable)
ROOT = Path(__file__).resolve().parent.parent


def uv_bin() -> str:
    return shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def envsnap(*args: str, tree: Path | None = None) -> list[str]:
    # The tree under test and --before's both run installed from their wheels into venvs, as users run envsnap: from
    # source, through this interpreter, the older tree paid a start-up the other did not (this interpreter's .pth
    # files, byte code compiled where none was written).
    return _installed.envsnap(*args, tree=tree.resolve()) if tree else _installed.envsnap(*args)


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """Wall and CPU seconds (the children's user + system time) of ``run``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def build_source(root: Path) -> tuple[Path, Path, Path]:
    """The realistic environment's python, its pinned lock and its bundle (kept in ``root`` when made)."""
    venv = root / "source"
    python = venv / "bin" / "python"
    lock = root / "envsnap.lock"
    bundle = root / "bundle"
    if (bundle / "SHA256SUMS").is_file() and python.exists():
        return python, lock, bundle
    subprocess.run([uv_bin(), "venv", "-q", "--seed", "--python", PY, str(venv)], check=True)
    subprocess.run([uv_bin(), "pip", "install", "-q", "--python", str(python), *REALISTIC], check=True)
    cache = ["--cache-dir", str(root / "cache")]
    subprocess.run(envsnap("capture", "--python", str(python), "-o", str(lock)), check=True, capture_output=True)
    subprocess.run(envsnap("pin", str(lock), *cache), check=True, capture_output=True)
    subprocess.run(envsnap("bundle", str(lock), "-o", str(bundle), *cache), check=True, capture_output=True)
    return python, lock, bundle


def summary(name: str, runs: list[tuple[float, float]]) -> dict[str, float]:
    walls = [w for w, _ in runs]
    return {
        f"{name}_s": statistics.median(walls),
        f"{name}_min_s": min(walls),
        f"{name}_cpu_s": statistics.median(c for _, c in runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="build the environment and bundle here once, reuse them after")
    parser.add_argument("--pip", action="store_true", help="also time pip install (minutes a run)")
    parser.add_argument(
        "--before",
        type=Path,
        help="also time the envsnap of this source tree (a worktree of an "
        "older commit), interleaved with the others: before and after in one run",
    )
    parser.add_argument("--rebuild-only", action="store_true", help="leave out verify and the phase trace")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results: dict[str, object] = {}
    pip_env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    with tempfile.TemporaryDirectory(prefix="envsnap-bench-") as tmp:
        root = args.workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        python, lock, bundle = build_source(root)
        count = sum(1 for line in (bundle / "requirements.txt").read_text().splitlines() if "--hash" in line)
        scratch = Path(tempfile.mkdtemp(prefix="runs-", dir=root))
        counter = iter(range(10_000))

        def fresh(name: str) -> Path:
            return scratch / f"{name}-{next(counter)}"

        def ours(tree: Path | None = None) -> tuple[float, float]:
            dest = fresh("ours")
            env = dict(os.environ)
            env["ENVSNAP_UV"] = uv_bin()  # the uv the peer runs (envsnap's own would come first)
            took = timed(
                lambda: subprocess.run(
                    envsnap(
                        "rebuild",
                        str(lock),
                        "--bundle",
                        str(bundle),
                        "--offline",
                        "--target",
                        "venv",
                        "--dest",
                        str(dest),
                        tree=tree,
                    ),
                    check=True,
                    capture_output=True,
                    env=env,
                    cwd=root,  # not the caller's folder, whatever it holds
                )
            )
            os.sync()  # its write-back is not the next run's
            return took

        def before() -> tuple[float, float]:
            return ours(args.before)

        def pip_install() -> tuple[float, float]:
            dest = fresh("pip")
            subprocess.run([PY, "-m", "venv", str(dest)], check=True)
            took = timed(
                lambda: subprocess.run(
                    [
                        str(dest / "bin" / "python"),
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        "--no-index",
                        "--find-links",
                        str(bundle / "wheels"),
                        "--require-hashes",
                        "--no-deps",
                        "-r",
                        str(bundle / "requirements.txt"),
                    ],
                    check=True,
                    capture_output=True,
                    env=pip_env,
                )
            )
            os.sync()  # its write-back is not the next run's
            return took

        def uv_sync() -> tuple[float, float]:
            dest = fresh("uv")

            def run() -> None:
                subprocess.run([uv_bin(), "venv", "-q", "--python", PY, str(dest)], check=True)
                subprocess.run(
                    [
                        uv_bin(),
                        "pip",
                        "sync",
                        "-q",
                        "--offline",
                        "--python",
                        str(dest / "bin" / "python"),
                        "--no-index",
                        "--find-links",
                        str(bundle / "wheels"),
                        "--require-hashes",
                        str(bundle / "requirements.txt"),
                    ],
                    check=True,
                    capture_output=True,
                )

            took = timed(run)
            os.sync()  # its write-back is not the next run's
            return took

        if args.before and _installed.envsnap_python(args.before.resolve()) == _installed.envsnap_python():
            print(f"note: --before {args.before} builds the same wheel as this tree: the two are one envsnap")
        peers = [ours, uv_sync, *([pip_install] if args.pip else []), *([before] if args.before else [])]
        for warm in peers:
            warm()
        times: list[list[tuple[float, float]]] = [[] for _ in peers]
        for _ in range(args.runs):
            for peer, kept in zip(peers, times, strict=True):
                kept.append(peer())
        r = summary("envsnap", times[0]) | summary("uv", times[1])
        r |= {
            "packages": count,
            "uv_ratio": r["envsnap_s"] / r["uv_s"],
            "uv_ratio_min": r["envsnap_min_s"] / r["uv_min_s"],
            "uv_cpu_ratio": r["envsnap_cpu_s"] / r["uv_cpu_s"],
            "uv_round_ratio": statistics.median(o[0] / u[0] for o, u in zip(times[0], times[1], strict=True)),
        }
        if args.pip:
            r |= summary("pip_install", times[2])
            r["pip_ratio"] = r["envsnap_s"] / r["pip_install_s"]
        if args.before:
            r |= summary("before", times[-1])
            r |= {
                "before_uv_ratio": r["before_s"] / r["uv_s"],
                "before_uv_ratio_min": r["before_min_s"] / r["uv_min_s"],
                "before_uv_cpu_ratio": r["before_cpu_s"] / r["uv_cpu_s"],
            }
        results["rebuild"] = r
        print(
            f"rebuild ({count} wheels, offline, {args.runs} runs interleaved; wall median / least, CPU median; "
            f"load average {os.getloadavg()[0]:.1f}; uv {uv_bin()}, link mode "
            f"{os.environ.get('UV_LINK_MODE') or 'uv default (hardlink)'} for both):"
        )
        print(
            f"  envsnap rebuild (check + venv + hash check + install + verify) {r['envsnap_s']:.2f} / "
            f"{r['envsnap_min_s']:.2f} s, CPU {r['envsnap_cpu_s']:.2f} s"
        )
        print(
            f"  uv venv + uv pip sync --require-hashes    {r['uv_s']:.2f} / {r['uv_min_s']:.2f} s, "
            f"CPU {r['uv_cpu_s']:.2f} s"
        )
        print(
            f"  ratio to uv: {r['uv_ratio']:.2f} (median), {r['uv_ratio_min']:.2f} (least), "
            f"CPU {r['uv_cpu_ratio']:.2f}, median of the rounds' ratios {r['uv_round_ratio']:.2f}   (target <= 1.3)"
        )
        if args.pip:
            print(
                f"  pip install --require-hashes (venv made beforehand) {r['pip_install_s']:.2f} s: ratio "
                f"{r['pip_ratio']:.2f} (target <= 0.5)"
            )
        if args.before:
            print(
                f"  envsnap of {args.before}: {r['before_s']:.2f} / {r['before_min_s']:.2f} s, CPU "
                f"{r['before_cpu_s']:.2f} s; ratio to uv {r['before_uv_ratio']:.2f} (median), "
                f"{r['before_uv_ratio_min']:.2f} (least), CPU {r['before_uv_cpu_ratio']:.2f}"
            )
        if args.rebuild_only:
            shutil.rmtree(scratch)
            if args.json:
                args.json.write_text(json.dumps(results, indent=2) + "\n")
            return 0

        verify_cmd = envsnap("verify", str(lock), "--python", str(python))
        freeze_cmd = [str(python), "-m", "pip", "freeze"]
        for cmd in (verify_cmd, freeze_cmd):
            subprocess.run(cmd, check=True, capture_output=True)
        v, f = [], []
        for _ in range(max(args.runs, 5)):
            v.append(timed(lambda: subprocess.run(verify_cmd, check=True, capture_output=True))[0])
            f.append(timed(lambda: subprocess.run(freeze_cmd, check=True, capture_output=True))[0])
        verify_s, freeze_s = statistics.median(v), statistics.median(f)
        results["verify"] = {"envsnap_s": verify_s, "pip_freeze_s": freeze_s, "ratio": verify_s / freeze_s}
        pip = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()[1]
        print(
            f"verify: envsnap verify {verify_s:.3f} s, pip {pip} freeze {freeze_s:.3f} s, "
            f"ratio {verify_s / freeze_s:.2f} (target <= 0.5)"
        )
        traced = fresh("traced")
        trace = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("rebuild_trace.py")),
                str(lock),
                "--bundle",
                str(bundle),
                "--dest",
                str(traced),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        shutil.rmtree(scratch)
        lines = trace.splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("rebuild (exit"))
        print("phase trace of one rebuild:\n" + "\n".join(lines[first:]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
