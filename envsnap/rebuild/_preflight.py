"""The compatibility check every rebuild runs first. Kept in one small function so the rebuilders share it."""

from __future__ import annotations

from ..errors import RebuildError
from ..model import Snapshot


class PreflightError(RebuildError):
    """The host failed the compatibility check (the same exit code as ``envsnap check``'s "incompatible")."""

    exit_code = 3


def preflight(
    lock: Snapshot, *, target: str, python: str | None, force: bool, dry_run: bool = False
) -> tuple[str, ...]:
    """Run ``envsnap check`` for ``target``; the notes to record in the plan.

    A failing check stops the rebuild unless ``force``, in which case the override is recorded. A dry run
    only plans, so a failure becomes a note (the docker target plans with no engine at all).
    """
    try:
        from ..compat import check  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return ("compatibility check unavailable in this envsnap build; not run",)
    # Targets are open-ended (a module per target); the check knows host, docker, conda and venv.
    report = check(lock, None, target=target, python=python)  # type: ignore[arg-type,unused-ignore]
    problems = _failures(report)
    if not report.failed:
        summary = getattr(report, "summary", None)
        return (f"compatibility check: {summary()}" if callable(summary) else "compatibility check passed",)
    summary = "; ".join(problems) or "the host cannot run this lock"
    if dry_run and not force:
        return (f"compatibility check FAILED (a dry run plans anyway): {summary}",)
    if not force:
        raise PreflightError(
            f"compatibility check failed: {summary} (run `envsnap check` for details, "
            "pass --force to rebuild anyway, or --dry-run to see the plan)"
        )
    return (f"compatibility check FAILED and was overridden with --force: {summary}",)


def _failures(report: object) -> list[str]:
    """Human lines for the failed findings."""
    summary = getattr(report, "failure_summary", None)
    if callable(summary):
        return [str(summary())]
    out = []
    for finding in getattr(report, "failures", ()) or ():
        component = getattr(finding, "component", "")
        found = getattr(finding, "found", "")
        out.append(f"{component}: {found}".strip(": "))
    return out
