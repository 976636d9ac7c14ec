"""Where a rebuild's time goes, phase by phase, so that a regression shows which phase grew (issue 20).

    python bench/rebuild_trace.py LOCK --bundle B [--dest D] [--python PY]   (bench/rebuild.py runs it for you)

Runs `envsnap rebuild LOCK --bundle B --offline --target venv` in this process with each phase's function wrapped
(every module's reference to it, so a `from x import f` copy counts too) and prints how often each ran and its
wall time: lock loads (lockfile.load/loads), captures (the capture orchestrator: the preflight's capture of the
host and the verify's of the new venv), reads of the host's package database and ld.so cache (once: the verify
takes the check's), file hashing (sha256 of bundle files, summed over threads), the background hashing of the
bundle while the check runs, the SHA256SUMS check (after it, digests known), the bundle's wheel sizes for the
disk rule, the installer (uv/pip install), venv creation, other subprocesses (interpreter discovery, ldconfig),
and the rest. Phases may nest (a capture's probe is a
subprocess), so they do not add up to the total; their counts are the first thing to compare.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PHASES: dict[str, list[float]] = {}
INSTALLER = "installer (uv/pip install)"


def _timed(phase: Callable[..., str | None] | str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        name = phase if isinstance(phase, str) else phase(*args, **kwargs)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            if name is not None:
                PHASES.setdefault(name, []).append(time.perf_counter() - start)

    return wrapper


def _subprocess_phase(argv: Any, *args: Any, **kwargs: Any) -> str:
    words = [str(a) for a in argv]
    if "install" in words:
        return INSTALLER
    if "venv" in words:
        return "venv creation"
    return "other subprocesses"


def _wrap_everywhere(original: Callable[..., Any], wrapper: Callable[..., Any]) -> None:
    for name, module in list(sys.modules.items()):
        if not name.startswith("envsnap") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                setattr(module, attr, wrapper)


def install_tracing() -> None:
    import envsnap.cli.rebuild
    import envsnap.compare.verify
    import envsnap.rebuild.venv  # noqa: F401
    from envsnap import _runner, lockfile
    from envsnap.artifacts import bundle
    from envsnap.probes import capture, system
    from envsnap.rebuild import _preflight

    for fn, phase in (
        (lockfile.load, "lock loads"),
        (lockfile.from_document, "lock parses (model built)"),
        (capture.run_capture, "captures"),
        (system.prepare, "host read (dpkg, ld.so cache)"),
        (bundle.sha256_file, "file hashing (all threads)"),
        (bundle.hash_bundle_ahead, "bundle hashed ahead (thread)"),
        (_preflight.bundle_sizes, "bundle sizes (zip dirs)"),
    ):
        _wrap_everywhere(fn, _timed(phase, fn))
    bundle.Bundle.verify_sums = _timed("SHA256SUMS check", bundle.Bundle.verify_sums)  # type: ignore[method-assign]
    # The installer is timed where it starts (below: the venv target may start it while the check runs).
    _wrap_everywhere(
        _runner.run,
        _timed(lambda *a, **k: None if _subprocess_phase(*a) == INSTALLER else _subprocess_phase(*a), _runner.run),
    )
    real_start = _runner.start

    def start(args: Any, *rest: Any, **kwargs: Any) -> Any:
        # The installer the venv target starts while the check runs: timed from its start to its end.
        begun = time.perf_counter()
        running = real_start(args, *rest, **kwargs)
        if _subprocess_phase(args) == INSTALLER:
            real_wait = running.wait

            def wait(*a: Any, **k: Any) -> Any:
                try:
                    return real_wait(*a, **k)
                finally:
                    PHASES.setdefault(INSTALLER, []).append(time.perf_counter() - begun)

            running.wait = wait
        return running

    _runner.start = start  # type: ignore[assignment]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lock")
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--python")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    install_tracing()
    from envsnap.cli import main as cli

    argv = ["rebuild", args.lock, "--bundle", args.bundle, "--offline", "--target", "venv", "--dest", args.dest]
    if args.python:
        argv += ["--python", args.python]
    start = time.perf_counter()
    code = cli(argv)
    total = time.perf_counter() - start
    print(f"rebuild (exit {code}): {total:.3f} s in this process (imports before it not counted)")
    for name, times in sorted(PHASES.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {name:<28} {len(times):3d}x  {sum(times):.3f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "total_s": total,
                    "exit": code,
                    "phases": {k: {"count": len(v), "s": sum(v)} for k, v in PHASES.items()},
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
