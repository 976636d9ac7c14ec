"""The project's git state: commit, branch, dirty flag, a digest of the uncommitted change, the remote."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .. import _runner
from .._privacy import strip_credentials
from ..errors import ProbeError
from ..model import Project
from .interface import Probe, ProbeContext, ProbeResult


def _git(directory: str, *args: str) -> _runner.Result:
    return _runner.run(["git", "-C", directory, *args], timeout=30)


def find_root(directory: str) -> str | None:
    res = _git(directory, "rev-parse", "--show-toplevel")
    return res.stdout.strip() if res.ok and res.stdout.strip() else None


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


def _pathspec(root: str, exclude: Sequence[str]) -> list[str]:
    """The whole work tree but the ``exclude`` files inside it, as git pathspecs."""
    real_root = os.path.realpath(root)
    out = []
    for path in exclude:
        rel = os.path.relpath(os.path.realpath(path), real_root)
        if not rel.startswith(".."):
            out.append(":(top,literal,exclude)" + rel.replace(os.sep, "/"))
    return ["--", ":/", *out] if out else []


def _is_envsnap_file(path: str) -> bool:
    """An envsnap lockfile (its first table is ``[envsnap]``, which the lockfile module writes first) or an
    ``envsnap run`` record (a ``[run]`` table whose first key names the record kind, in its first KiB)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return False
    if b'[run]\nkind = "envsnap run record"\n' in head:
        return True
    for line in head.splitlines():
        line = line.strip()
        if line and not line.startswith(b"#"):
            return line == b"[envsnap]"
    return False


def untracked_locks(root: str) -> list[str]:
    """Untracked (and not ignored) envsnap lockfiles and run records in the work tree (named ``*.lock`` or
    ``*.toml``), as absolute paths."""
    res = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
    if not res.ok:
        return []
    # Only names a lock is given (``envsnap.lock``, ``*.lock``, ``*.toml``) are opened: an untracked data
    # folder may hold many thousands of files.
    found = (os.path.join(root, rel) for rel in res.stdout.split("\0") if rel.endswith((".lock", ".toml")))
    return sorted(p for p in found if _is_envsnap_file(p))


def probe_project(directory: str, exclude: Sequence[str] = ()) -> Project | None:
    """None when ``directory`` is not inside a git work tree (or git is missing). ``exclude``: files left out
    of the dirty state, such as the lockfile being written (a lock cannot describe itself: recapturing in a
    work tree would otherwise always find it dirty, with a new digest each time). Untracked envsnap lockfiles
    and run records anywhere in the work tree are left out too: an earlier capture written elsewhere (``-o -``,
    another name), or the record of another run, is output, not a change to the project's code."""
    root = find_root(directory)
    if root is None:
        return None
    head = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    commit = head.stdout.strip() if head.ok else ""
    branch_res = _git(root, "symbolic-ref", "--short", "-q", "HEAD")
    branch = branch_res.stdout.strip() if branch_res.ok else ""
    paths = _pathspec(root, [*exclude, *untracked_locks(root)])
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", *paths)
    dirty = bool(status.stdout.strip("\0"))
    diff_digest = ""
    if dirty:
        hasher = hashlib.sha256()
        diff = _git(root, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff", *paths) if commit else None
        hasher.update((diff.stdout if diff else "").encode("utf-8", "surrogateescape"))
        untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z", *paths)
        for rel in sorted(p for p in untracked.stdout.split("\0") if p):
            hasher.update(b"\0untracked\0" + rel.encode())
            try:
                with open(os.path.join(root, rel), "rb") as fh:
                    hasher.update(hashlib.sha256(fh.read()).digest())
            except OSError:
                pass
        diff_digest = "sha256:" + hasher.hexdigest()
    remote = ""
    remotes = _git(root, "remote")
    names = remotes.stdout.split() if remotes.ok else []
    if names:
        name = "origin" if "origin" in names else names[0]
        url = _git(root, "remote", "get-url", name)
        remote = strip_credentials(url.stdout.strip()) if url.ok else ""
    return Project(commit=commit, branch=branch, dirty=dirty, diff_digest=diff_digest, remote_url=remote)


def probe(ctx: ProbeContext) -> ProbeResult[Project | None]:
    """The git state of ``ctx.project_root``; None outside a work tree. Runs in the background: git is
    several subprocesses."""
    if ctx.project_root is None or not ctx.options.project_state:
        return ProbeResult(None)
    output = ctx.options.output
    found = probe_project(ctx.project_root, exclude=[output] if output else [])
    if found is None:
        return ProbeResult(None)
    # A branch is often named after its author (``alice/fix``); a local remote is a path.
    redact = ctx.redact
    return ProbeResult(replace(found, remote_url=redact.url(found.remote_url), branch=redact.names(found.branch)))


class ProjectProbe(Probe[Project | None]):
    name = "project"
    background = True  # several git commands

    def run(self, ctx: ProbeContext) -> ProbeResult[Project | None]:
        return probe(ctx)

    def fallback(self, ctx: ProbeContext) -> Project | None:
        return None


PROBE = ProjectProbe()
