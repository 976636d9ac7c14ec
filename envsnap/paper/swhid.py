"""The project's code as Software Heritage identifies it: ``swh:1:dir:`` of the commit's tree and ``swh:1:rev:``
of the commit, computed offline.

A SWHID is intrinsic (a hash of the content, as git's object ids are), so it survives the code host going away
and anyone can recompute it. The tree is checked out from git's objects into a temporary folder through an index
of its own (the user's index and work tree are never touched) and hashed with ``swh.model``; the result must be
git's own tree id, which is what the archive computes when it ingests the repository. Without ``swh.model``
installed the git tree id is used and the result says so."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .. import _leftovers, _runner
from .._frozen import frozen
from ..errors import EnvsnapError

_HEX = re.compile(r"[0-9a-f]{40}", re.ASCII)


class SwhidError(EnvsnapError):
    """The project's code cannot be identified (no git, or the commit is not in the repository)."""


@frozen
class CodeIdentity:
    directory: str  # swh:1:dir:<40 hex>
    revision: str  # swh:1:rev:<40 hex>
    commit: str
    computed_with: str  # "swh.model" | "git" | "kept" (an earlier --artifact run's, from the bundle's crate)
    note: str = ""


def _git(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    res = _runner.run(["git", "-C", str(project), *args], timeout=120, env=env)
    if not res.ok:
        raise SwhidError(f"{project}: git {args[0]} failed: {res.stderr.strip()[:200] or res.returncode}")
    return res.stdout.strip()


def identify(project: Path, commit: str = "") -> CodeIdentity:
    """The SWHIDs of ``commit`` (default: HEAD) of the git repository at ``project``."""
    if commit and not re.fullmatch(r"[0-9a-f]{7,64}", commit):
        raise SwhidError(f"not a commit id: {commit!r}")
    try:
        rev = _git(project, "rev-parse", "--verify", "--end-of-options", f"{commit or 'HEAD'}^{{commit}}")
    except SwhidError as exc:  # no work tree there, or one without the commit: say which the user should name
        raise SwhidError(
            f"{exc}; pass --project DIR, a git work tree of the project holding commit {(commit or 'HEAD')[:12]}"
        ) from None
    tree = _git(project, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{tree}}")
    if not (_HEX.fullmatch(rev) and _HEX.fullmatch(tree)):
        raise SwhidError(f"{project}: only SHA-1 repositories have Software Heritage identifiers")
    try:
        from swh.model.from_disk import Directory
    except ImportError:
        return CodeIdentity(
            f"swh:1:dir:{tree}",
            f"swh:1:rev:{rev}",
            rev,
            "git",
            "swh.model is not installed: the tree id is git's (pip install 'envsnap-lock[artifact]')",
        )
    # Held as envsnap's: a checkout (as large as the project's tree) that a killed run left is one the next run
    # that works there, and `envsnap clean`, remove.
    with _leftovers.held_dir(Path(tempfile.gettempdir()), "swhid") as tmp:
        index, out = tmp / "index", tmp / "tree"
        env = {**os.environ, "GIT_INDEX_FILE": str(index)}
        _git(project, "read-tree", rev, env=env)
        _git(
            project,
            "-c",
            "core.autocrlf=false",
            "-c",
            "core.symlinks=true",
            "checkout-index",
            "--all",
            f"--prefix={out}/",
            env=env,
        )
        out.mkdir(exist_ok=True)  # an empty tree
        computed = str(Directory.from_disk(path=os.fsencode(out), max_content_length=None).swhid())
    if computed != f"swh:1:dir:{tree}":
        # Checkout filters, line-ending conversion or submodules made the files differ from git's objects: the
        # archive identifies the objects, so the tree id stands, and the reason is said.
        return CodeIdentity(
            f"swh:1:dir:{tree}",
            f"swh:1:rev:{rev}",
            rev,
            "git",
            f"the checked-out files hash to {computed} (checkout filters or submodules); the "
            "identifier is git's tree id, as Software Heritage computes it from the objects",
        )
    return CodeIdentity(computed, f"swh:1:rev:{rev}", rev, "swh.model")
