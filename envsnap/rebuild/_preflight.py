"""The compatibility check every rebuild runs first. Kept in one small function so the rebuilders share it."""

from __future__ import annotations

from ..compat import TARGET_KINDS, TargetKind, check
from ..errors import RebuildError
from ..model import Snapshot


class PreflightError(RebuildError):
    """The host failed the compatibility check (the same exit code as ``envsnap check``'s "incompatible")."""

    exit_code = 3


def preflight(
    lock: Snapshot, *, target: str, python: str | None, force: bool, dry_run: bool = False, cpu_only: bool = False
) -> tuple[str, ...]:
    """Run ``envsnap check`` for ``target``; the notes to record in the plan.

    A failing check stops the rebuild unless ``force``, in which case the override is recorded. A dry run
    only plans, so a failure becomes a note (the docker target plans with no engine at all).
    """
    # Targets are open-ended (a module per target); one the check does not know is checked as the host.
    kind: TargetKind = next((k for k in TARGET_KINDS if k == target), "host")
    report = check(lock, None, target=kind, python=python, cpu_only=cpu_only)
    accepted = ("--cpu-only: the check's GPU failures are accepted as warnings",) if cpu_only else ()
    if not report.failed:
        return (f"compatibility check: {report.summary()}", *accepted)
    summary = report.failure_summary() or "the host cannot run this lock"
    if dry_run and not force:
        return (f"compatibility check FAILED (a dry run plans anyway): {summary}",)
    if not force:
        raise PreflightError(
            f"compatibility check failed: {summary} (run `envsnap check` for details, "
            "pass --force to rebuild anyway, or --dry-run to see the plan)"
        )
    return (f"compatibility check FAILED and was overridden with --force: {summary}",)
