"""The compatibility check every rebuild runs first. Kept in one small function so the rebuilders share it."""

from __future__ import annotations

import dataclasses
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..artifacts.bundle import TOOL, WHEELS
from ..compat import evaluate
from ..compat.target import BundleSizes
from ..errors import RebuildError
from ..model import Snapshot
from ..probes.capture import Captured, run_capture
from ..probes.interface import CaptureOptions
from ._registry import check_target, get


class PreflightError(RebuildError):
    """The host failed the compatibility check (the same exit code as ``envsnap check``'s "incompatible")."""

    exit_code = 3


def bundle_sizes(
    bundle: str | os.PathLike[str] | None, folders: tuple[str, ...] = (WHEELS, TOOL)
) -> BundleSizes | None:
    """The real sizes of a bundle directory's wheels in ``folders`` (the ones a target installs from; zip
    directories only: nothing is unpacked); None for no bundle or an archive (measured only once unpacked)."""
    if bundle is None or not Path(bundle).is_dir():
        return None
    sizes = {WHEELS: [0, 0], TOOL: [0, 0]}
    for folder, counts in sizes.items():
        if folder not in folders:
            continue
        for wheel in sorted((Path(bundle) / folder).glob("*.whl")):
            try:
                with zipfile.ZipFile(wheel) as archive:
                    counts[1] += sum(info.file_size for info in archive.infolist())
                counts[0] += wheel.stat().st_size
            except (OSError, zipfile.BadZipFile):
                continue  # the rebuild reports a broken wheel by its hash; the estimate skips it
    return BundleSizes(
        wheels=sizes[WHEELS][0], unpacked=sizes[WHEELS][1], tool=sizes[TOOL][0], tool_unpacked=sizes[TOOL][1]
    )


@dataclass(frozen=True)
class Preflight:
    """What the check said (the notes for the plan) and the host it captured (a rebuild on this host verifies
    its result with these host facts rather than capturing the host again)."""

    notes: tuple[str, ...]
    host: Captured


def preflight(
    lock: Snapshot,
    *,
    target: str,
    python: str | None,
    force: bool,
    dry_run: bool = False,
    cpu_only: bool = False,
    bundle: str | os.PathLike[str] | None = None,
    dest: str | os.PathLike[str] | None = None,
    base_image: str | None = None,
) -> tuple[str, ...]:
    """``check_host``'s notes."""
    return check_host(
        lock,
        target=target,
        python=python,
        force=force,
        dry_run=dry_run,
        cpu_only=cpu_only,
        bundle=bundle,
        dest=dest,
        base_image=base_image,
    ).notes


def check_host(
    lock: Snapshot,
    *,
    target: str,
    python: str | None,
    force: bool,
    dry_run: bool = False,
    cpu_only: bool = False,
    bundle: str | os.PathLike[str] | None = None,
    dest: str | os.PathLike[str] | None = None,
    base_image: str | None = None,
) -> Preflight:
    """Run ``envsnap check`` for ``target``; the notes to record in the plan, and the host captured.

    A failing check stops the rebuild unless ``force``, in which case the override is recorded. A dry run
    only plans, so a failure becomes a note (the docker target plans with no engine at all).
    """
    # The target's own facts (an unknown target is bad input, never checked as the host). Disk space is judged
    # where the environment goes (an image: the engine's data root) and against the bundle's real sizes when
    # there is one.
    rebuilder = get(target)
    where = None if rebuilder.target_facts.container or dest is None else str(Path(dest).absolute())
    facts = check_target(target, cpu_only=cpu_only, disk_path=where)
    # The wheels' sizes are read from their zip directories while the capture waits on the probed interpreter.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="envsnap-sizes") as pool:
        sizes = pool.submit(bundle_sizes, bundle, rebuilder.bundle_folders)
        host = run_capture(CaptureOptions(python_path=python, project_state=False))  # the rules read no git state
        probed = dataclasses.replace(
            facts, bundle=sizes.result(), base_image=base_image if rebuilder.target_facts.container else None
        )
    report = evaluate(lock, host.snapshot, probed)
    accepted = ("--cpu-only: the check's GPU failures are accepted as warnings",) if cpu_only else ()
    if not report.failed:
        return Preflight((f"compatibility check: {report.summary()}", *accepted), host)
    summary = report.failure_summary() or "the host cannot run this lock"
    if dry_run and not force:
        return Preflight((f"compatibility check FAILED (a dry run plans anyway): {summary}",), host)
    if not force:
        raise PreflightError(
            f"compatibility check failed: {summary} (run `envsnap check` for details, "
            "pass --force to rebuild anyway, or --dry-run to see the plan)"
        )
    return Preflight((f"compatibility check FAILED and was overridden with --force: {summary}",), host)
