"""The project's git state: commit, branch, dirty flag, a digest of the uncommitted change, the remote."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .._privacy import PathRedactor, strip_credentials
from ..errors import ProbeError
from ..model import Project
from . import gitstate
from .gitstate import untracked_outputs as untracked_outputs
from .interface import Probe, ProbeContext, ProbeResult

find_root = gitstate.find_root


def project_root(directory: str | None = None, lock: str | os.PathLike[str] | None = None) -> Path | None:
    """What ``{project}`` in a recorded local URL means here: the git work tree around ``directory`` (or
    the working directory), found the way ``capture`` recorded it; a named directory outside any work tree is
    the project itself. When nothing is named and the working directory is in no work tree: the folder of the
    ``lock`` (an imported pylock's ``path = "."`` is its own folder), else None."""
    if directory is None:
        root = find_root(".")
        if root:
            return Path(root)
        return Path(lock).absolute().parent if lock is not None else None
    if not os.path.isdir(directory):
        raise ProbeError(f"--project {directory}: no such directory")
    root = find_root(directory)
    return Path(root) if root else Path(directory).absolute()


def lock_project(lock: str | os.PathLike[str]) -> str | None:
    """The git work tree around the folder holding ``lock`` (a bundle folder: around it), which ``{project}`` in it
    names where verify runs in no work tree: a lock kept in its project and verified from elsewhere. None where
    that folder is in no work tree (answered without running git where no ``.git`` is above it)."""
    path = os.path.abspath(lock)
    return find_root(path if os.path.isdir(path) else os.path.dirname(path))


def probe_project(directory: str, exclude: Sequence[str] = ()) -> Project | None:
    """None when ``directory`` is not inside a git work tree (or git is missing). ``exclude``: files left out
    of the dirty state, such as the lockfile being written (a lock cannot describe itself: recapturing in a
    work tree would otherwise always find it dirty, with a new digest each time). Untracked envsnap lockfiles
    and run records anywhere in the work tree are left out too: an earlier capture written elsewhere (``-o -``,
    another name), or the record of another run, is output, not a change to the project's code."""
    root = find_root(directory)
    if root is None:
        return None
    return project_of(gitstate.state(root, exclude))


def project_of(found: gitstate.State) -> Project:
    """The ``Project`` of a work tree's ``gitstate.state``: the remote's URL without credentials."""
    commit, branch, dirty, diff_digest, remote = found
    return Project(
        commit=commit,
        branch=branch,
        dirty=dirty,
        diff_digest=diff_digest,
        remote_url=_without_whitespace(strip_credentials(remote)),
    )


def _without_whitespace(remote: str) -> str:
    """A remote as a lock may hold it (no whitespace): a local path with a space (``/srv/my paper``, a clone of
    a folder) as its ``file://`` URL, percent-encoded; whitespace in a URL percent-encoded. It was written as it
    was, and every command then refused the lock it had just written."""
    if not any(ch.isspace() for ch in remote):
        return remote
    from urllib.parse import quote

    if "://" not in remote and os.path.isabs(remote):
        return "file://" + quote(remote)
    return "".join(quote(ch, safe="") if ch.isspace() else ch for ch in remote)


if TYPE_CHECKING:
    from typing import Protocol

    class RecordedState(Protocol):
        """What a lock's ``[project]`` and a run record's ``[code]`` both hold of a work tree."""

        @property
        def commit(self) -> str: ...
        @property
        def dirty(self) -> bool: ...
        @property
        def diff_digest(self) -> str: ...


def drift(recorded: RecordedState, now: Project | None, root: str | os.PathLike[str]) -> tuple[str, ...]:
    """How the work tree at ``root`` (its state ``now``, None outside a work tree) differs from the state a lock or
    a run record holds, a line for each: the commit, then the uncommitted change; () where neither does. A work tree
    git refuses as another user's (``gitstate.refused``) is said so, with what lets git read it, not called none."""
    if now is None:
        why = gitstate.refused(
            os.fspath(root), f"its commit cannot be compared with the recorded {recorded.commit[:12]}"
        )
        return (why or f"{root} is not a git work tree (the lock recorded commit {recorded.commit[:12]})",)
    lines = []
    if now.commit != recorded.commit:
        lines.append(f"commit {recorded.commit[:12]} -> {now.commit[:12] or '(none)'}")
    if (now.dirty, now.diff_digest) != (recorded.dirty, recorded.diff_digest):
        was = f"uncommitted change {recorded.diff_digest[7:19]}" if recorded.dirty else "clean"
        is_ = f"uncommitted change {now.diff_digest[7:19]}" if now.dirty else "clean"
        lines.append(f"working tree: {was} -> {is_}")
    return tuple(lines)


def envsnap_commits(
    recorded: RecordedState,
    now: Project | None,
    root: str | os.PathLike[str],
    exclude: Sequence[str | os.PathLike[str]],
) -> str | None:
    """The files changed between the recorded commit and ``HEAD``, shown (ten, then how many more), where the work
    tree has moved on by commits alone (its uncommitted change is the recorded one) and each file they change is an
    envsnap lockfile or run record, or one of ``exclude`` (a run's outputs, its record) or in one: the code is the
    recorded state's (a lock or a record is committed after the state it names). None otherwise."""
    if now is None or now.commit == recorded.commit:
        return None
    if (now.dirty, now.diff_digest) != (recorded.dirty, recorded.diff_digest):
        return None
    changed = gitstate.changed_since(os.fspath(root), recorded.commit)
    if not changed:
        return None
    left_out = [os.path.realpath(p) for p in exclude]
    for name in changed:
        path = os.path.join(root, name)
        real = os.path.realpath(path)
        inside = any(real == f or real.startswith(f.rstrip("/") + "/") for f in left_out)
        if not (gitstate.is_envsnap_file(path) or inside):
            return None
    more = f" and {len(changed) - 10} more" if len(changed) > 10 else ""
    return ", ".join(sorted(changed)[:10]) + more


def changed_files(
    recorded: RecordedState,
    now: Project | None,
    root: str | os.PathLike[str],
    exclude: Sequence[str | os.PathLike[str]],
) -> tuple[str, ...]:
    """Which files make the work tree at ``root`` differ from the recorded state, a line for each side ``drift``
    names: the files the commits since the recorded one change, and the files uncommitted here (``exclude`` left
    out), ten of each, then how many more. () where neither differs or git cannot tell."""
    if now is None:
        return ()
    lines = []
    if now.commit != recorded.commit and recorded.commit:
        changed = gitstate.changed_since(os.fspath(root), recorded.commit)
        if changed:
            lines.append(f"changed in the commits since the run's: {_some(changed)}")
    if (now.dirty, now.diff_digest) != (recorded.dirty, recorded.diff_digest) and now.dirty:
        here = gitstate.uncommitted(os.fspath(root), [os.fspath(p) for p in exclude])
        if here:
            lines.append(f"uncommitted here: {_some(here)}")
    return tuple(lines)


def _some(names: Sequence[str]) -> str:
    """Ten of ``names``, sorted and each on one line, then how many more."""
    from .. import sinks

    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return ", ".join(sinks.one_line(n) for n in sorted(names)[:10]) + more


def recorded(found: Project, redact: PathRedactor) -> Project:
    """``found`` as a lock records it: the remote's URL and the branch redacted (a branch is often named after
    its author, ``alice/fix``; a local remote is a path)."""
    return replace(found, remote_url=redact.url(found.remote_url), branch=redact.names(found.branch))


def probe(ctx: ProbeContext) -> ProbeResult[Project | None]:
    """The git state of ``ctx.project_root``; None outside a work tree. Runs in the background: git is
    several subprocesses."""
    if not ctx.options.project_state:
        return ProbeResult(None)
    if ctx.project_root is None:
        # A work tree git refuses (another user's) is said, not taken for none (``--project`` of it is refused).
        why = gitstate.refused(here) if (here := _working_directory()) else None
        return ProbeResult(None, (why,) if why else ())
    output = ctx.options.output
    found = probe_project(ctx.project_root, exclude=[output] if output else [])
    if found is None:
        return ProbeResult(None)
    return ProbeResult(recorded(found, ctx.redact))


def _working_directory() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # removed from under the process: no project to record
        return None


class ProjectProbe(Probe[Project | None]):
    name = "project"
    background = True  # several git commands

    def run(self, ctx: ProbeContext) -> ProbeResult[Project | None]:
        return probe(ctx)

    def fallback(self, ctx: ProbeContext) -> Project | None:
        return None


PROBE = ProjectProbe()
