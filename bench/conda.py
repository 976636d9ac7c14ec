"""The conda layer's speed, side by side with its peers, in one run.

    python bench/conda.py [--packages 400] [--files 150] [--runs 5] [--json OUT]

1. Capture: a synthetic prefix of N ``conda-meta`` records (each listing F files, as large environments do).
   Median wall time of envsnap's reader (``probes.conda.probe_conda``) vs py-rattler reading the same records
   (``PrefixRecord.from_path``, what rattler-based tools do) vs ``conda list --json`` when conda is on PATH.
   Target: envsnap within 2x of py-rattler's native reader and far below the conda CLI.
2. Rebuild: a local channel of N small packages (built like the test channel). Solve + install with py-rattler
   (what ``conda env create -f environment.yml`` does in principle) vs envsnap's rebuild of the locked records
   (copy + md5/sha256 check of every archive, install, provenance written back; no solve). On this tiny local
   channel the solve is almost free, so the ratio shows what the checks cost: target <= 1.5. Against real
   channels (repodata of 100k+ records) the solve the locked path skips takes seconds.
   The machine's load moves these numbers: compare the ratios of one run, never absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def median(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synthetic_prefix(root: Path, packages: int, files: int) -> Path:
    meta = root / "conda-meta"
    meta.mkdir(parents=True)
    for i in range(packages):
        name = f"pkg{i:04d}"
        paths = [f"lib/python3.11/site-packages/{name}/mod{j}.py" for j in range(files)]
        record = {
            "name": name,
            "version": "1.0.0",
            "build": "h0_0",
            "build_number": 0,
            "subdir": "linux-64",
            "channel": "https://conda.anaconda.org/conda-forge/linux-64",
            "url": f"https://conda.anaconda.org/conda-forge/linux-64/{name}-1.0.0-h0_0.conda",
            "md5": "0" * 32,
            "sha256": "1" * 64,
            "depends": ["python >=3.11"],
            "fn": f"{name}-1.0.0-h0_0.conda",
            "files": paths,
            "paths_data": {
                "paths_version": 1,
                "paths": [
                    {"_path": p, "path_type": "hardlink", "sha256": "2" * 64, "size_in_bytes": 100} for p in paths
                ],
            },
            "link": {"source": f"/opt/conda/pkgs/{name}-1.0.0-h0_0", "type": 1},
        }
        (meta / f"{name}-1.0.0-h0_0.json").write_text(json.dumps(record))
    return root


def bench_capture(packages: int, files: int, runs: int) -> dict[str, float]:
    import rattler

    from envsnap.probes import conda

    with tempfile.TemporaryDirectory() as tmp:
        prefix = synthetic_prefix(Path(tmp), packages, files)
        records = sorted((prefix / "conda-meta").glob("*.json"))
        out = {
            "envsnap": median(lambda: conda.probe_conda(str(prefix)), runs),
            "py-rattler": median(lambda: [rattler.PrefixRecord.from_path(p) for p in records], runs),
        }
        exe = shutil.which("conda")
        if exe:
            out["conda list --json"] = median(
                lambda: subprocess.run([exe, "list", "--json", "-p", str(prefix)], check=True, capture_output=True),
                runs,
            )
    return out


def bench_rebuild(packages: int, runs: int) -> dict[str, float]:
    import rattler
    from condafixtures import Entry, Pkg, write_package

    from envsnap.artifacts import conda as conda_archives
    from envsnap.probes import conda
    from envsnap.rebuild import conda as target

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        channel = root / "channel"
        pkgs = [
            Pkg(
                f"pkg{i:04d}",
                "1.0.0",
                "h0_0",
                "linux-64",
                [Entry(f"share/pkg{i:04d}/data.txt", b"x" * 1000)],
                depends=[f"pkg{i - 1:04d}"] if i else [],
            )
            for i in range(packages)
        ]
        for pkg in pkgs:
            write_package(pkg, channel)
        (channel / "noarch").mkdir()
        asyncio.run(rattler.index.index_fs(channel, force=True))
        url = channel.as_uri()
        counter = iter(range(10**6))

        def solve_and_install() -> None:
            n = next(counter)
            records = asyncio.run(
                rattler.solve(
                    [url],
                    [pkgs[-1].name],
                    platforms=["linux-64", "noarch"],
                    gateway=rattler.Gateway(cache_dir=root / f"gw{n}"),
                    virtual_packages=[],
                )
            )
            asyncio.run(rattler.install(records, root / f"solved{n}", cache_dir=root / f"c{n}", show_progress=False))

        solve_and_install()
        locked = conda.probe_conda(str(root / "solved0")).conda

        def locked_install() -> None:
            n = next(counter)
            archives = conda_archives.fetch_all(locked.packages, root / f"dl{n}", by_hash=True)
            target.install_with_rattler(locked, archives, root / f"locked{n}", root / f"c{n}")
            target.restore_provenance(root / f"locked{n}", locked)

        return {
            "solve + install (py-rattler)": median(solve_and_install, runs),
            "envsnap locked install": median(locked_install, runs),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=400)
    parser.add_argument("--files", type=int, default=150)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    capture = bench_capture(args.packages, args.files, args.runs)
    rebuild = bench_rebuild(min(args.packages, 100), max(1, args.runs // 2))
    print(f"capture: {args.packages} conda-meta records of {args.files} files each (median of {args.runs})")
    for name, seconds in capture.items():
        print(f"  {name:<28} {seconds * 1000:8.1f} ms  ({seconds / capture['py-rattler']:.2f}x py-rattler)")
    print(f"rebuild: {min(args.packages, 100)} packages in a dependency chain")
    base = rebuild["solve + install (py-rattler)"]
    for name, seconds in rebuild.items():
        print(f"  {name:<28} {seconds * 1000:8.1f} ms  ({seconds / base:.2f}x solve + install)")
    if args.json:
        Path(args.json).write_text(json.dumps({"capture": capture, "rebuild": rebuild}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
