"""The compatibility check every rebuild runs first. Kept in one small function so the rebuilders share it."""

from __future__ import annotations

import dataclasses
import os
import stat
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._frozen import frozen
from .._prehash import unpacked_size as unpacked_size  # the disk rule's reader, kept here by name
from .._prehash import unpacked_sizes
from ..artifacts.bundle import TOOL, WHEELS
from ..compat import evaluate, find_libraries, reads_gpus
from ..compat.target import BundleSizes, Target
from ..errors import RebuildError
from ..model import Snapshot
from ..probes.python import PendingProbe
from ._registry import check_target, get
from .interface import PlanCheck, check_command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..probes.capture import Captured


class PreflightError(RebuildError):
    """The host failed the compatibility check (the same exit code as ``envsnap check``'s "incompatible")."""

    exit_code = 3


def bundle_sizes(
    bundle: str | os.PathLike[str] | None, folders: tuple[str, ...] = (WHEELS, TOOL)
) -> BundleSizes | None:
    """The real sizes of a bundle directory's wheels in ``folders`` (the ones a target installs from; zip
    directories only: nothing is unpacked); None for no bundle or an archive (measured only once unpacked).
    Only regular files are opened (a FIFO named ``x.whl`` would block the open; the SHA256SUMS check refuses it)."""
    if bundle is None or not Path(bundle).is_dir():
        return None
    sizes = {WHEELS: [0, 0], TOOL: [0, 0]}
    known = unpacked_sizes(bundle)  # read while envsnap loaded, or kept from an earlier rebuild (_prehash)
    for folder, counts in sizes.items():
        if folder not in folders:
            continue
        for wheel in sorted((Path(bundle) / folder).glob("*.whl")):
            try:
                st = os.lstat(wheel)
                if not stat.S_ISREG(st.st_mode):
                    continue
                found = known.get((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
                counts[1] += unpacked_size(wheel) if found is None else found
                counts[0] += st.st_size
            except (OSError, zipfile.BadZipFile):
                continue  # the rebuild reports a broken wheel by its hash; the estimate skips it
    return BundleSizes(
        wheels=sizes[WHEELS][0], unpacked=sizes[WHEELS][1], tool=sizes[TOOL][0], tool_unpacked=sizes[TOOL][1]
    )


@frozen
class Preflight:
    """What the check said (the notes for the plan) and the host it captured (a rebuild on this host verifies
    its result with these host facts rather than capturing the host again)."""

    notes: tuple[str, ...]
    host: Captured
    check: PlanCheck | None = None  # the verdict, as the plan records it


def preflight(lock: Snapshot, **options: Any) -> tuple[str, ...]:
    """``check_host``'s notes alone (the same keywords)."""
    return check_host(lock, **options).notes


def rebuild_target(
    target: str,
    *,
    cpu_only: bool = False,
    bundle: str | os.PathLike[str] | None = None,
    dest: str | os.PathLike[str] | None = None,
    base_image: str | None = None,
) -> Target:
    """The target as the check judges it: the facts its rebuilder declares, probed here. Disk space is judged
    where the environment goes (an image: the engine's data root) and against the bundle's real sizes when there
    is one."""
    rebuilder = get(target)
    where = None if rebuilder.target_facts.container or dest is None else str(Path(dest).absolute())
    facts = check_target(target, cpu_only=cpu_only, disk_path=where)
    return dataclasses.replace(
        facts,
        bundle=bundle_sizes(bundle, rebuilder.bundle_folders),
        base_image=base_image if rebuilder.target_facts.container else None,
    )


def disk_allows(lock: Snapshot, target: Target) -> bool:
    """Whether the check's disk rule passes for ``target`` (it reads the target's facts alone, never the host's):
    what a rebuild may begin before the rest of the check has answered must not fill the disk."""
    from ..compat import RULES

    return not evaluate(lock, lock, target, rules=(RULES.find("disk"),)).failed


def disk_need(lock: Snapshot, target: Target) -> float:
    """The MiB the disk rule asks to be free for ``target`` (``_installahead`` keeps it: the installer begun ahead
    of the next rebuild starts only while that much is free where its destination is)."""
    from ..compat.rules.disk import estimate_mib

    return estimate_mib(lock, target)


def check_host(
    lock: Snapshot,
    *,
    lock_path: str | os.PathLike[str] | None = None,
    target: str,
    python: str | None,
    force: bool,
    dry_run: bool = False,
    cpu_only: bool = False,
    bundle: str | os.PathLike[str] | None = None,
    dest: str | os.PathLike[str] | None = None,
    base_image: str | None = None,
    probed: Future[Target] | None = None,
    started: PendingProbe | None = None,
    use_cache: bool = True,
    gpu_timeout: float | None = None,
    python_named: str | None = None,
) -> Preflight:
    """Run ``envsnap check`` for ``target``; the notes to record in the plan, and the host captured.

    A failing check stops the rebuild unless ``force``, in which case the override is recorded. A dry run
    only plans, so a failure becomes a note (the docker target plans with no engine at all). ``probed``: the
    target as ``rebuild_target`` gives it for the same arguments, being probed already. ``started``: the probe of
    ``python`` already running. ``use_cache``: False captures the host without the capture cache.
    ``gpu_timeout``: how long NVML may take (``--gpu-timeout``), which a driver that did not answer names.
    ``python_named``: how an error of the probe names ``python`` (``probes.target.interpreter_named``; default: as
    ``--python`` names it): the venv target's interpreter found of the locked version, which no one typed.
    """
    # The capture machinery is imported here, not with the module: a venv rebuild's installer starts before the
    # check runs (``EarlyWork``), and these imports (18 ms) were on the way to it.
    from ..probes import system
    from ..probes.capture import check_probes, run_capture
    from ..probes.interface import CaptureOptions

    rebuilder = get(target)  # an unknown target is bad input, never checked as the host
    # The target's facts, with the wheels' sizes read from their zip directories, while the capture waits on the
    # probed interpreter.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="envsnap-sizes") as pool:
        if probed is None:
            probed = pool.submit(
                rebuild_target, target, cpu_only=cpu_only, bundle=bundle, dest=dest, base_image=base_image
            )
        # What the rules read, no more (``check_probes``): not NVML where no rule reads the driver for this lock (a
        # hung one held a CPU lock's dry run for the whole GPU timeout; the verify's capture asks it then). The
        # package database is still read beside it, for that capture to take (``run_capture(same_host=...)``).
        options = CaptureOptions(
            python_path=python,
            python_named=python_named,
            project_state=False,
            use_cache=use_cache,
            interpreter_only=rebuilder.target_facts.installs_packages,
        )
        if gpu_timeout is not None:
            options = dataclasses.replace(options, gpu_timeout=gpu_timeout)
        prepared = pool.submit(system.prepare, options.cache_identity(), options.use_cache, True)
        host = run_capture(options, started=started, probes=check_probes(gpus=reads_gpus(lock)), prepared=prepared)
        facts = probed.result()
    if gpu_timeout is not None:  # a driver that did not answer in time is reported naming the option
        facts = dataclasses.replace(facts, gpu_timeout=gpu_timeout)
    if lock_path is not None:  # a remedy's `envsnap pin` names the lock given
        from .._bundlelock import pin_command

        facts = dataclasses.replace(facts, pin_command=pin_command(lock_path))
    if not facts.container:  # the system-libs rule's facts, from the loader the capture prepared
        facts = dataclasses.replace(facts, libraries=find_libraries(lock, host.loader()))
    report = evaluate(lock, host.snapshot, facts)
    accepted = ("--cpu-only: the check's GPU failures are accepted as warnings",) if cpu_only else ()
    status = "overridden" if force else "failed"
    check = PlanCheck(
        status=status if report.failed else "passed",
        verdict=report.verdict,
        summary=report.summary(),
        reason=report.failure_summary(),
        failed_rules=tuple(dict.fromkeys(f.rule for f in report.failures)),
        failures=report.failures,
        cpu_only=cpu_only,
    )
    if not report.failed:
        return Preflight((f"compatibility check: {report.summary()}", *accepted), host, check)
    summary = report.failure_summary() or "the host cannot run this lock"
    if dry_run and not force:
        # The plan is made and shown, and the CLI exits 3 as the rebuild would have (``PlanCheck.failed``).
        return Preflight((f"compatibility check FAILED (a dry run plans anyway): {summary}",), host, check)
    if not force:
        raise PreflightError(
            f"compatibility check failed: {summary} (run `{check_command(lock_path, target, python)}` for details, "
            "pass --force to rebuild anyway, or --dry-run to see the plan)"
        )
    return Preflight((f"compatibility check FAILED and was overridden with --force: {summary}",), host, check)
