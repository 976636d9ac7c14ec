"""`envsnap diff` of two large locks against the peers that do not move, in one run (issue 19).

    python bench/diff.py [--runs 7] [--sizes 1000,5000] [--json OUT]

For each size, two synthetic locks of that many distributions (every package pinned to a wheel with its URL,
sha256, size, RECORD digest, wheel tag and two requirements: what a pinned ML lock holds per package), the second
with a third of the versions moved and every RECORD digest changed, so that every package is compared and most
differ. Timed, runs interleaved (medians of wall time; the CPU time of the command beside it, which load on the
shared machine inflates less):
- `python -c pass` (the interpreter's own start, the floor of any command);
- `diff` of the two locks' requirements files (`name==version`, one a line): the peer issue 19 names;
- `envsnap diff A B` cold (`ENVSNAP_LOCK_CACHE=0`: both locks parsed and validated from their text);
- `envsnap diff A B` warm (the parsed-lock cache filled by an earlier run; the locks unchanged).
Growth from the smallest to the largest size must stay linear (printed: time per 1,000 distributions).
Target (issue 19): diff of two 5,000-distribution locks < 0.2 s; the printed ratio to `python -c pass` says how far
that is from the interpreter's own start on this machine.

With `--verify PY` (repeatable: an ML environment, a CUDA-wheel one), each environment is captured to a lock and
`envsnap verify LOCK --python PY` is timed against `PY -m pip freeze` (pip's version printed beside it), warm (the
parsed-lock and capture caches filled by the unmeasured first run, as in a CI job that verifies before every
step). Verify is timed from a scratch folder and inside a git work tree (a commit and an edited tracked file, as
a research project's checkout), where the verify memo answers an unchanged environment in both (keyed on the work
tree's root there); `capture -o -` inside the work tree too (its memo keyed on the git state the lock records).
Target (issues 18 and 19): verify <= 0.5x pip freeze.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _installed  # noqa: E402  (this tree, installed from its wheel into a venv, as users run it)

from envsnap import lockfile  # noqa: E402
from envsnap.model import Artifact, Meta, Platform, PythonEnv, PythonPackage, Snapshot  # noqa: E402

PY = os.path.realpath(sys.executable)


def synthetic_lock(count: int, moved: bool) -> Snapshot:
    packages = []
    for i in range(count):
        name = f"synthpkg{i:05d}"
        version = f"1.{i % 7}.{(i + (i % 3 == 0 and moved)) % 11}"
        digest = hashlib.sha256(f"{name}{version}{moved}".encode()).hexdigest()
        wheel = f"{name}-{version}-py3-none-any.whl"
        packages.append(
            PythonPackage(
                name=name,
                version=version,
                installer="pip",
                wheel_tags=("py3-none-any",),
                record_digest="sha256:" + digest,
                metadata_name=name,
                requires_dist=(f"synthpkg{(i + 1) % count:05d}>=1.0", "numpy>=1.20; extra == 'fast'"),
                requires_python=">=3.8",
                artifact=Artifact(
                    filename=wheel,
                    url=f"https://files.example.org/packages/{digest[:2]}/{digest[2:4]}/{wheel}",
                    sha256=digest,
                    size=10_000 + i,
                ),
            )
        )
    return Snapshot(
        envsnap=Meta(generator="envsnap bench", created="2026-11-30T00:00:00Z"),
        platform=Platform(
            system="Linux",
            machine="x86_64",
            os_id="ubuntu",
            os_version="22.04",
            kernel="6.1",
            libc="glibc",
            libc_version="2.35",
        ),
        python=PythonEnv(
            implementation="cpython",
            version="3.11.7",
            abi="cp311",
            kind="venv",
            executable="bin/python3",
            packages=tuple(packages),
        ),
    )


def write_pair(folder: Path, count: int) -> tuple[Path, Path, Path, Path]:
    paths = []
    for moved in (False, True):
        snap = synthetic_lock(count, moved)
        lock = folder / f"{'b' if moved else 'a'}{count}.lock"
        lockfile.dump(snap, lock)
        reqs = lock.with_suffix(".txt")
        reqs.write_text("".join(f"{p.name}=={p.version}\n" for p in snap.python.packages))
        paths += [lock, reqs]
    return paths[0], paths[2], paths[1], paths[3]


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...], cwd: Path | None = None) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"{cmd}: exit {done.returncode}: {done.stderr[-500:]!r}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


Command = tuple[list[str], dict[str, str], tuple[int, ...]] | tuple[list[str], dict[str, str], tuple[int, ...], Path]


def medians(cmds: list[Command], runs: int) -> list[tuple[float, float]]:
    for cmd in cmds:  # one unmeasured run each: warms the page cache (and fills the lock cache)
        timed(*cmd)
    walls: list[list[float]] = [[] for _ in cmds]
    cpus: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            wall, cpu = timed(*cmd)
            walls[i].append(wall)
            cpus[i].append(cpu)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(walls, cpus, strict=True)]


def measure_verify(py: Path, folder: Path, env: dict[str, str], runs: int) -> dict[str, object]:
    lock = folder / f"verify-{abs(hash(str(py)))}.lock"
    subprocess.run(
        _installed.envsnap("capture", "--python", str(py), "-o", str(lock)), env=env, check=True, capture_output=True
    )
    # From a scratch folder and inside a git work tree (a project's checkout: a commit, an edited tracked file) the
    # memos answer an unchanged environment; in the work tree keyed on what capture and verify read of git.
    scratch, repo = folder / "scratch", folder / f"repo-{abs(hash(str(py)))}"  # a work tree per environment
    scratch.mkdir(exist_ok=True)
    repo.mkdir(exist_ok=True)
    git = ["git", "-C", str(repo), "-c", "user.email=bench@example.org", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "train.py").write_text("print('train')\n")
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    (repo / "train.py").write_text("print('train more')\n")
    pip = subprocess.run([str(py), "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()[1:2]
    command = _installed.envsnap("verify", str(lock), "--python", str(py))
    capture = _installed.envsnap("capture", "--python", str(py), "-o", "-")
    memo, probed, captured, freeze = medians(
        [
            (command, env, (0, 1), scratch),
            (command, env, (0, 1), repo),
            (capture, env, (0,), repo),
            ([str(py), "-m", "pip", "freeze"], env, (0,)),
        ],
        runs,
    )
    count = len(lockfile.load(lock).python.packages)
    version = "".join(pip)
    print(f"verify {py} ({count} distributions), against pip {version} freeze {freeze[0]:.3f} s (cpu {freeze[1]:.3f}):")
    for label, (wall, cpu), goal in (
        ("verify, scratch folder", memo, "target <= 0.5"),
        ("verify inside a git work tree", probed, "target <= 0.5"),
        ("capture -o - inside a git work tree", captured, "warm; the 0.15 goal is outside one"),
    ):
        print(
            f"  {label}: {wall:.3f} s (cpu {cpu:.3f}): ratio {wall / freeze[0]:.2f} wall, "
            f"{cpu / freeze[1]:.2f} cpu ({goal})"
        )
    return {
        "verify_memo": memo,
        "verify_git_work_tree": probed,
        "capture_git_work_tree": captured,
        "pip_freeze": freeze,
        "pip_version": "".join(pip),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--verify", action="append", default=[], metavar="PY", help="an environment's interpreter")
    args = parser.parse_args()
    os.environ["ENVSNAP_LOCK_CACHE"] = "0"  # this process's own loads leave the user's cache alone
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = {
            **os.environ,
            "XDG_CACHE_HOME": str(Path(tmp) / "cache"),
            "ENVSNAP_LOCK_CACHE": "1",
        }
        cold_env = {**base, "ENVSNAP_LOCK_CACHE": "0"}
        for count in sizes:
            a, b, ra, rb = write_pair(Path(tmp), count)
            envsnap = _installed.envsnap("diff", str(a), str(b))
            (floor, text, cold, warm) = medians(
                [
                    ([_installed.envsnap_python(), "-c", "pass"], base, (0,)),
                    (["diff", str(ra), str(rb)], base, (0, 1)),
                    (envsnap, cold_env, (1,)),
                    (envsnap, base, (1,)),
                ],
                args.runs,
            )
            print(
                f"{count} distributions per lock ({a.stat().st_size // 1024} KiB): python -c pass "
                f"{floor[0]:.3f} s (cpu {floor[1]:.3f}), text diff of requirements {text[0]:.3f} s"
            )
            for label, (wall, cpu) in (("cold", cold), ("warm", warm)):
                print(
                    f"  envsnap diff {label}: {wall:.3f} s (cpu {cpu:.3f} s) = {wall / floor[0]:.1f}x "
                    f"python -c pass, {wall - floor[0]:.3f} s above it (target: two 5,000 locks < 0.2 s)"
                )
            results[str(count)] = {"python_pass": floor, "text_diff": text, "cold": cold, "warm": warm}
        for py in args.verify:
            results[f"verify {py}"] = measure_verify(Path(py), Path(tmp), base, args.runs)
    if len(sizes) > 1:
        lo, hi = str(sizes[0]), str(sizes[-1])
        for label in ("cold", "warm"):
            # CPU time above the interpreter's start: what load on the shared machine inflates least.
            above = {s: results[s][label][1] - results[s]["python_pass"][1] for s in (lo, hi)}  # type: ignore[index]
            step = (above[hi] - above[lo]) / (int(hi) - int(lo)) * 1000
            print(
                f"growth {label} (cpu above python -c pass): {above[lo]:.3f} s at {lo}, {above[hi]:.3f} s at {hi}; "
                f"{step:.3f} s per 1,000 more distributions per lock ({above[hi] / above[lo]:.2f}x for "
                f"{int(hi) / int(lo):.0f}x the distributions: linear with a fixed start-up cost is below that)"
            )
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
