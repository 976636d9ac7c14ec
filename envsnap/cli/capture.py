from __future__ import annotations

import argparse
import math
import os
import time

from .. import _defaults
from ..errors import UsageError
from . import COMMAND_HELP, _output, add_no_cache

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from pathlib import Path

    from ..probes.capture import Captured
    from ..probes.target import TargetEnvironment

MAX_TIMEOUT = 86400.0


def seconds(text: str) -> float:
    """A timeout: positive and finite (``nan``, ``inf`` or ``1e300`` reached the subprocess call and crashed it)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds > 0 and <= {MAX_TIMEOUT:g}")
    return value


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
        metavar="PATH",
        help="where to write the lockfile (default: %(default)s); '-' for stdout",
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="capture the environment of this interpreter "
        "(a venv or conda env envsnap is not installed in); default: --prefix, else the active "
        "VIRTUAL_ENV, else the active CONDA_PREFIX, else the running one",
    )
    p.add_argument(
        "--project",
        metavar="DIR",
        help="record the git state of this project (default: the working directory, if it is a git work tree)",
    )
    p.add_argument(
        "--prefix",
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
    p.add_argument(
        "--gpu-timeout",
        type=seconds,
        default=_defaults.GPU_TIMEOUT,
        metavar="SECONDS",
        help="how long the NVIDIA driver may take to answer before it is recorded as hung (default: %(default)g)",
    )
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
    add_no_cache(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json and args.output == "-":
        raise UsageError("-o - and --json both write to standard output: use one, or -o PATH --json")
    started, started_ns = time.perf_counter(), time.time_ns()
    from ..probes.target import select_environment

    chosen = select_environment(args.python, args.prefix)
    use_cache = not args.no_cache
    # An unchanged environment's lock is given again from the memo, before the probe machinery loads.
    memo = _Memo.of(args, chosen) if use_cache else None
    if memo is not None and memo.answer(args, chosen, started):
        return 0
    from ..probes.interface import CaptureOptions
    from ..probes.python import PendingProbe

    options = CaptureOptions(
        python_path=chosen.python,
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
    # The target interpreter starts scanning its environment now, while the rest of envsnap loads.
    probe = (
        PendingProbe(chosen.python, use_cache=use_cache) if chosen.python is not None and chosen.python_layer else None
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
    if args.pin:
        from ..artifacts.pin import pin, read_pip_config

        snapshot = pin(snapshot, read_pip_config()).snapshot
    written = True
    text, digest = lockfile.dumps_sealed(snapshot)
    if args.output == "-":
        _output.write_document(text)
    else:
        written = lockfile.dump_if_changed(snapshot, args.output, text=text)
    if args.json:
        _output.print_json(lockfile.sealed_document(snapshot))
    deep = [
        f"--deep: imported {name} in {seconds:.2f} s"
        for name, seconds in sorted(captured.results["deep"].parts.items())
    ]
    py = snapshot.python
    conda = f"{len(snapshot.conda.packages)} conda packages, " if snapshot.conda is not None else ""
    python = f"Python {py.version} ({py.kind}), {len(py.packages)} packages, " if chosen.python_layer else ""
    summary = f"{python or 'no Python layer, '}{conda}{len(snapshot.system.packages)} system packages"
    if args.output == "-":
        if deep:
            _output.write_lines(*deep)
    else:
        _summarise(args.output, written, digest, summary, started, deep, snapshot.envsnap.warnings)
    if memo is not None and not deep and not any(w.startswith("nvidia") for w in snapshot.envsnap.warnings):
        memo.keep(captured, started_ns, text, digest, summary, snapshot.envsnap.warnings)
    return 0


def _summarise(
    output: str,
    written: bool,
    digest: str,
    summary: str,
    started: float,
    deep: list[str],
    warnings: tuple[str, ...] | list[str],
) -> None:
    counts = f"{summary}, in {time.perf_counter() - started:.2f} s"
    if written:
        head = f"wrote {output}: {counts}"
    else:
        head = f"unchanged: {output} already records this environment ({digest[:19]}...), left as it was: {counts}"
    # package metadata: no control characters
    _output.write_lines(head, *deep, *(f"warning: {w}" for w in warnings))


class _Memo:
    """The capture memo (``probes/memo.py``) of this command: its file and what is read afresh to check it."""

    def __init__(self, path: Path, fact: str, chosen: TargetEnvironment) -> None:
        self.path, self.fact, self.chosen = path, fact, chosen

    @classmethod
    def of(cls, args: argparse.Namespace, chosen: TargetEnvironment) -> _Memo | None:
        from .._defaults import capture_cache_path
        from ..probes import memo

        if not memo.eligible(
            project=args.project, deep=args.deep, pin=args.pin, json_too=args.json, environ=os.environ
        ):
            return None
        path = capture_cache_path("memo", chosen.cache_identity())
        if path is None:
            return None
        command = [args.python, args.prefix, args.gpu_ids, args.gpu_timeout, args.deep_timeout, chosen]
        return cls(path, memo.facts(command, os.environ), chosen)

    def answer(self, args: argparse.Namespace, chosen: TargetEnvironment, started: float) -> bool:
        """Give the kept lock when nothing it depended on changed; False when the capture must run."""
        from .. import _locktext
        from ..probes import memo

        kept = memo.lookup(self.path, self.fact)
        if kept is None:
            return False
        text = _locktext.with_created(kept["lock"], memo.utc_now())
        written = True
        if args.output != "-":
            from pathlib import Path

            from .. import _readlimits
            from ..errors import LockfileError

            try:
                raw = _readlimits.read_bytes(Path(args.output), error=LockfileError, what="lockfile")
            except LockfileError:
                raw = b""
            try:
                old = raw.decode("utf-8")
            except UnicodeDecodeError:
                old = ""
            if old and _locktext.same_but_created(old, text):
                written = False
            elif raw or os.path.lexists(args.output):
                return False  # another lock's text there: the full capture compares it as lockfile does
        _output.write_lines(f"capturing {chosen.describe()}")
        if args.output == "-":
            _output.write_document(text)
            return True
        if written:
            _locktext.write(text, args.output)
        _summarise(args.output, written, kept["digest"], kept["summary"], started, [], kept["warnings"])
        return True

    def keep(
        self,
        captured: Captured,
        started_ns: int,
        text: str,
        digest: str,
        summary: str,
        warnings: tuple[str, ...],
    ) -> None:
        """Keep this capture's lock with the stamps of what it read."""
        from ..probes import memo

        watch = memo.watch_of(captured, self.chosen, os.environ)
        memo.save(self.path, self.fact, watch, started_ns, lock=text, digest=digest, summary=summary, warnings=warnings)
