from __future__ import annotations

import argparse
import time

from .. import _defaults
from ..errors import UsageError
from . import COMMAND_HELP, PathValue, _output, add_allow_url, add_gpu_timeout, add_no_cache
from . import MAX_TIMEOUT as MAX_TIMEOUT
from . import seconds as seconds

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..model import Snapshot
    from ..probes.target import TargetEnvironment
    from ._capture_memo import CaptureMemo


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "capture",
        help=COMMAND_HELP["capture"],
        description="Record one environment (Python packages, system libraries, hardware, "
        "OS, project state) into a TOML lockfile.",
    )
    p.add_argument(
        "-o",
        "--output",
        default=_defaults.LOCK_NAME,
        type=PathValue("lockfile"),
        metavar="PATH",
        help="where to write the lockfile (default: %(default)s); '-' for stdout",
    )
    p.add_argument(
        "--python",
        type=PathValue("Python interpreter"),
        metavar="PATH",
        help="capture the environment of this interpreter "
        "(a venv or conda env envsnap is not installed in); default: --prefix, else the active "
        "VIRTUAL_ENV, else the active CONDA_PREFIX, else the running one",
    )
    p.add_argument(
        "--project",
        type=PathValue("project folder"),
        metavar="DIR",
        help="record the git state of this project (default: the working directory, if it is a git work tree)",
    )
    p.add_argument(
        "--prefix",
        type=PathValue("conda environment"),
        metavar="PATH",
        help="record this conda environment (its conda-meta/) and "
        "its interpreter; one without Python has no Python layer "
        "(default: the interpreter's prefix, when it is a conda environment)",
    )
    p.add_argument("--json", action="store_true", help="print the snapshot as JSON to stdout as well")
    p.add_argument(
        "--deep",
        action="store_true",
        help="also import each ML framework (torch, tensorflow, "
        "jax) in a subprocess for its compiled GPU architectures, cuDNN and CUDA availability; "
        "costs seconds, reported at the end",
    )
    p.add_argument(
        "--gpu-ids",
        action="store_true",
        help="record GPU UUIDs and serial numbers (off by default: they identify the machine)",
    )
    add_gpu_timeout(p, "recorded")
    p.add_argument(
        "--deep-timeout",
        type=seconds,
        default=_defaults.DEEP_TIMEOUT,
        metavar="SECONDS",
        help="how long each --deep framework import may take (default: %(default)g)",
    )
    p.add_argument(
        "--pin",
        action="store_true",
        help="also record each package's exact wheel file on the configured index (what `envsnap pin` does)",
    )
    add_allow_url(p, "with --pin: ")
    add_no_cache(p)
    p.set_defaults(func=run, leave_at_once=True)


def run(args: argparse.Namespace) -> int:
    if args.json and args.output == "-":
        raise UsageError("-o - and --json both write to standard output: use one, or -o PATH --json")
    if args.allow_url and not args.pin:
        raise UsageError("--allow-url is for --pin: capture reads no URL without it")
    if args.output != "-":
        from .._locktext import refuse_foreign

        refuse_foreign(args.output, "capture", named="" if args.output == _defaults.LOCK_NAME else f"-o {args.output}")
    started, started_ns = time.perf_counter(), time.time_ns()
    from ..probes.target import select_environment

    chosen = select_environment(args.python, args.prefix)
    use_cache = not args.no_cache
    # An unchanged environment's lock is given again from the memo, before the probe machinery loads.
    memo = _memo_of(args, chosen) if use_cache else None
    if memo is not None and memo.answer(args.output, started):
        return 0
    # The target interpreter starts scanning its environment now, while the rest of envsnap loads (the probe
    # contract's dataclasses included: ``probes.pending`` imports none of it).
    from ..probes.pending import PendingProbe

    probe = (
        PendingProbe(chosen.python, use_cache=use_cache, named=chosen.named())
        if chosen.python is not None and chosen.python_layer
        else None
    )
    from ..probes.interface import CaptureOptions

    options = CaptureOptions(
        python_path=chosen.python,
        python_named=chosen.named(),
        project_dir=args.project,
        conda_prefix=chosen.conda_prefix,
        python_layer=chosen.python_layer,
        deep=args.deep,
        deep_timeout=args.deep_timeout,
        gpu_ids=args.gpu_ids,
        gpu_timeout=args.gpu_timeout,
        output=None if args.output == "-" else args.output,
        use_cache=use_cache,
    )
    # The package database and the loader are read while envsnap loads the rest of itself.
    from ..probes.hostlibs import prepare_early

    prepared = prepare_early(options.cache_identity(), use_cache)
    from .. import lockfile
    from ..probes.capture import run_capture

    captured = run_capture(options, started=probe, prepared=prepared)
    snapshot = captured.snapshot
    # The first line says which environment this is (stdout may carry the lock or JSON: stderr), once it is
    # known to be one: an error stays the only line.
    _output.write_lines(f"capturing {chosen.describe()}")
    hint: list[str] = []
    pinned = None
    if args.pin:
        from pathlib import Path

        from ..artifacts.pin import pin, read_pip_config

        root = captured.project_root  # the root the capture wrote {project} for: pin writes it the same way
        pinned = pin(
            snapshot,
            read_pip_config(),
            project_dir=Path(root) if root else None,
            allow_urls=tuple(args.allow_url),
            written=True,
        )
        snapshot = pinned.snapshot
        found_by = pinned.find_links_hint()
        if found_by:
            # What finds a --find-links install, said once after the pin line, as pin says it after its list.
            hint = [f"note: {found_by}"]
    written = True
    text, digest = lockfile.dumps_sealed(snapshot, where=lockfile.WRITTEN if args.output == "-" else args.output)
    shown = digest  # the digest of the lock the file holds: a pinned lock of this environment is kept
    if args.output == "-":
        _output.write_document(text)
    else:
        # A lock pin or bundle made of this environment stays as it is: a capture without --pin has no files.
        kept = lockfile.kept_lock(
            snapshot, args.output, text=text, pinned_kept=not args.pin, alike=_same_code(captured.project_root)
        )
        written, shown = kept is None, kept or digest
    if args.json:
        _output.print_json(lockfile.sealed_document(snapshot))
    deep = [
        f"--deep: imported {name} in {seconds:.2f} s"
        for name, seconds in sorted(captured.results["deep"].parts.items())
    ]
    py = snapshot.python
    from ..report import counted

    conda = f"{counted(len(snapshot.conda.packages), 'conda package')}, " if snapshot.conda is not None else ""
    python = f"Python {py.version} ({py.kind}), {counted(len(py.packages), 'package')}, " if chosen.python_layer else ""
    summary = f"{python or 'no Python layer, '}{conda}{counted(len(snapshot.system.packages), 'system package')}"
    from ._capture_memo import warnings_shown

    warned = warnings_shown(snapshot.envsnap.warnings)  # as printed, and as the memo's answer prints them
    if args.output == "-":
        if deep:
            _output.write_lines(*deep)
    else:
        from ._capture_memo import summarise

        summarise(args.output, written, shown, summary, started, deep, warned)
    if pinned is not None:
        # What it pinned, in the line `envsnap pin` says (it said nothing): its packages not pinned are warnings above.
        from .pin import summary as pin_summary

        where = "standard output" if args.output == "-" else args.output
        hint = [f"{where}{'' if written else ' (unchanged)'}: {pin_summary(pinned)}", *hint]
    if hint:
        _output.write_lines(*hint)
    if memo is not None and not deep and not any(w.startswith("nvidia") for w in snapshot.envsnap.warnings):
        memo.keep(captured, started_ns, text, digest, summary, tuple(warned))
    return 0


def _same_code(root: str | None) -> Callable[[Snapshot, Snapshot], Snapshot] | None:
    """How a capture compares with the lock already at its output: a lock names the commit it was captured at, so
    it is committed after it; where the commits since change only envsnap's files (that lock, run records), the code
    is the one it records (as ``rerun`` and ``bundle`` judge it), and its commit stands for this capture's."""
    if root is None:
        return None

    def alike(existing: Snapshot, snapshot: Snapshot) -> Snapshot:
        import dataclasses

        from ..probes.project import envsnap_commits

        was, now = existing.project, snapshot.project
        if was is None or now is None or was.commit == now.commit or envsnap_commits(was, now, root, ()) is None:
            return snapshot
        return dataclasses.replace(snapshot, project=dataclasses.replace(now, commit=was.commit))

    return alike


def _memo_of(args: argparse.Namespace, chosen: TargetEnvironment) -> CaptureMemo | None:
    from ._capture_memo import CaptureMemo

    return CaptureMemo.of(
        python=args.python,
        output=args.output,
        prefix=args.prefix,
        project=args.project,
        flags=(args.deep, args.pin, args.json),
        gpu_ids=args.gpu_ids,
        gpu_timeout=args.gpu_timeout,
        deep_timeout=args.deep_timeout,
        chosen=chosen,
    )
