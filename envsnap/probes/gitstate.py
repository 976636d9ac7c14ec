"""What envsnap reads of a git work tree, without the model: its root (``find_root``) and the state the project
probe records (``state``: commit, branch, dirty flag, digest of the uncommitted change, remote).

``probes/project.py`` makes the lock's ``Project`` of ``state``; the capture and verify memos (``probes/memo.py``)
key on the same calls, so that a memo inside a work tree answers only while git gives what the lock recorded.
"""

from __future__ import annotations

import os

from .._defaults import ARCHIVE_SUFFIXES, BUNDLE_INCOMPLETE, BUNDLE_SUMS, LOCK_NAME

TYPE_CHECKING = False  # not typing's: a memo's answer inside a work tree imports this module
if TYPE_CHECKING:
    import gzip
    from collections.abc import Collection, Iterator, Sequence
    from contextlib import AbstractContextManager
    from typing import BinaryIO

    from .. import _runner

# (commit, branch, dirty, diff_digest, remote URL as git prints it: credentials and all)
State = tuple[str, str, bool, str, str]


# Variables that tell git where the repository or its work tree is, whatever the folders hold.
LOCATION_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE")


def git(directory: str, *args: str) -> _runner.Result:
    from .. import _runner  # here: a memo's answer outside any work tree asks ``below_git`` alone

    # GIT_OPTIONAL_LOCKS=0: ``git status`` reads the index without refreshing it, so it neither rewrites the user's
    # index nor takes ``.git/index.lock`` (which a killed or timed-out git would leave behind, and which fails the
    # user's own ``git commit`` while a capture runs beside it). ``core.fsmonitor`` off: a repository's own config
    # (one unpacked from an archive with its ``.git``) named a command git ran at every status; the monitor only
    # caches what changed, so the answer is the same without it (docs/security.md, "Git"). No transport and no lazy
    # fetch: a repository that says it is a partial clone (``extensions.partialClone``) had git fetch an object it
    # lacks (a record's commit) from its "promisor" remote, running the command its config chose for that
    # (``remote.NAME.uploadpack``, ``core.sshCommand``); every question envsnap asks is about what is here.
    if args and args[0] in ("status", "diff") and _distrusted_root(directory) is not None:
        # A distrusted tree's submodules have repositories of their own, whose filters ``_filters_off`` does not name:
        # git looks at a submodule's commit only, never into its files (this beats ``submodule.NAME.ignore``).
        args = (args[0], "--ignore-submodules=dirty", *args[1:])
    return _runner.run(
        ["git", "-c", "core.fsmonitor=false", "-c", "protocol.allow=never", "-C", directory, *args],
        timeout=30,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_NO_LAZY_FETCH": "1", **_filters_off(directory)},
    )


# The work trees git is run in that are not the user's own (``distrust``), each with the GIT_CONFIG_* variables that
# turn its repository's own filter drivers off (``_filters_off``), found when first needed.
_DISTRUSTED: dict[str, dict[str, str] | None] = {}


def distrust(root: str) -> None:
    """Run git in the work tree at ``root`` with the filter drivers its repository's own config names turned off:
    ``rerun DIR/run.toml`` reads the git state of the tree the record lies in, which may be a stranger's unpacked
    with its ``.git`` (its ``filter.NAME.clean`` ran at the plan's ``git status``, before anything was confirmed).
    The user's own filters (git-lfs's, installed in the global config) still run; in the tree the user works in
    (the current folder's), so do the repository's, as at the user's own ``git status`` (nbstripout's)."""
    _DISTRUSTED.setdefault(os.path.join(os.path.realpath(root), ""), None)


def _distrusted_root(directory: str) -> str | None:
    """The distrusted work tree (``distrust``) ``directory`` lies in, or None."""
    if not _DISTRUSTED:
        return None
    real = os.path.join(os.path.realpath(directory), "")
    return next((r for r in _DISTRUSTED if real.startswith(r)), None)


def _filters_off(directory: str) -> dict[str, str]:
    """The GIT_CONFIG_* variables for git run in ``directory``: none in a tree not distrusted (``distrust``)."""
    root = _distrusted_root(directory)
    if root is None:
        return {}
    found = _DISTRUSTED[root]
    if found is None:
        found = _DISTRUSTED[root] = _own_filters_off(root)
    return found


def _own_filters_off(root: str) -> dict[str, str]:
    """Every filter driver the repository at ``root`` names in its own config (its ``.git/config`` and what that
    includes, the work tree's config), each turned off (no ``process``, ``clean`` or ``smudge`` command, not
    ``required``), as GIT_CONFIG_COUNT/KEY/VALUE variables (a name may hold ``=``, which ``-c`` would split at),
    after any the environment sets. Reading the config runs nothing."""
    from .. import _runner

    listing = ("config", "--show-scope", "--null", "--name-only", "--get-regexp", r"^filter\.")
    res = _runner.run(
        ["git", "-c", "core.fsmonitor=false", "-C", root, *listing],
        timeout=30,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    )
    words = res.stdout.split("\0") if res.ok else []
    drivers = sorted(
        {
            key[len("filter.") : key.rindex(".")]
            for scope, key in zip(words[::2], words[1::2], strict=False)
            if scope in ("local", "worktree") and key.startswith("filter.") and key.count(".") >= 2
        }
    )
    pairs = [(f"filter.{d}.{k}", "false" if k == "required" else "") for d in drivers for k in _FILTER_KEYS]
    if not pairs:
        return {}
    given = os.environ.get("GIT_CONFIG_COUNT", "")
    first = int(given) if given.isdigit() else 0
    out = {"GIT_CONFIG_COUNT": str(first + len(pairs))}
    for i, (key, value) in enumerate(pairs, first):
        out[f"GIT_CONFIG_KEY_{i}"], out[f"GIT_CONFIG_VALUE_{i}"] = key, value
    return out


_FILTER_KEYS = ("process", "clean", "smudge", "required")


def below_git(directory: str) -> bool:
    """Whether a ``.git`` (a folder, or the file of a linked work tree or a submodule) is in ``directory`` or a
    folder above it, on its real path (git resolves the folder it is run in): where git looks for a work tree
    when no variable names one. Where there is none, git finds none (its other settings only stop the search
    sooner), so nobody need ask it. True when the folder cannot be resolved: then git decides."""
    try:
        folder = os.path.realpath(directory)
    except OSError:
        return True
    return _holding_git(folder) is not None


def _holding_git(folder: str) -> str | None:
    """The folder, ``folder`` or one above it, that holds a ``.git``; None when none does."""
    while not os.path.lexists(os.path.join(folder, ".git")):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return folder


def git_folder_of(directory: str) -> str | None:
    """The git folder of the work tree ``directory`` (its real path) is in, found without running git
    (``_git_folder``); None outside any."""
    root = _holding_git(os.path.realpath(directory))
    return None if root is None else _git_folder(root)


def find_root(directory: str) -> str | None:
    """The root of the git work tree ``directory`` is in; None outside any, answered without running git where
    no ``.git`` is above it (a capture, a check and a verify each ask: three runs of git, two on a rebuild's
    critical path, for a scratch folder)."""
    if not any(name in os.environ for name in LOCATION_VARIABLES) and not below_git(directory):
        return None
    res = git(directory, "rev-parse", "--show-toplevel")
    return res.stdout.strip() if res.ok and res.stdout.strip() else None


def refused(directory: str, what: str = "the code state (commit, uncommitted change) is not recorded") -> str | None:
    """Where ``directory`` lies in a repository git refuses as another user's (its ``safe.directory`` check: a
    checkout a colleague owns, one mounted into a container that runs as another user), the line saying so and
    what lets git read it; None otherwise (no ``.git`` above, a work tree git reads, no git). ``find_root`` is None
    there, as outside any work tree, and the code state was left out without a word. ``what``: what follows from it."""
    if not any(name in os.environ for name in LOCATION_VARIABLES) and not below_git(directory):
        return None
    res = git(directory, "rev-parse", "--show-toplevel")
    if res.ok or "dubious ownership" not in res.stderr:
        return None
    from .. import sinks

    at = res.stderr.partition("dubious ownership in repository at '")[2].partition("'\n")[0]
    where = at or os.path.abspath(directory)
    return (
        f"git refuses to read the work tree at {where}, which another user owns (git's safe.directory check): {what}; "
        f"{sinks.shell_shown(['git', 'config', '--global', '--add', 'safe.directory', where])} lets git read it"
    )


# The checkouts read inside a ``read_once`` block, by folder; None outside one.
_READ: dict[str, tuple[str, str, bool] | None] | None = None


def read_once() -> AbstractContextManager[None]:
    """A block in which each folder's checkout is read by git once (``checkout``): verify compares the checkouts its
    capture has just read, moments before, and read each again (two git runs a package). Outside such a block every
    call asks git: a checkout moves between commands."""
    import contextlib

    @contextlib.contextmanager
    def block() -> Iterator[None]:
        global _READ
        before, _READ = _READ, ({} if _READ is None else _READ)
        try:
            yield
        finally:
            _READ = before

    return block()


def checkout(folder: str) -> tuple[str, str, bool] | None:
    """The git work tree ``folder`` lies in, as verify reads the checkout pip made of an editable VCS line
    (``pip install -e git+URL@COMMIT#egg=NAME``, recorded as that folder alone): its root, its ``HEAD`` commit, and
    whether a tracked file differs from it (untracked files are left out: the build writes ``NAME.egg-info`` there).
    None outside any work tree, or where git cannot tell (no commit yet, no git)."""
    read = _READ
    if read is None:
        return _checkout(folder)
    if folder not in read:
        read[folder] = _checkout(folder)
    return read[folder]


def _checkout(folder: str) -> tuple[str, str, bool] | None:
    if not any(name in os.environ for name in LOCATION_VARIABLES) and not below_git(folder):
        return None
    found = git(folder, "rev-parse", "--show-toplevel", "HEAD")
    lines = found.stdout.split() if found.ok else []
    if len(lines) != 2:
        return None
    root, commit = lines
    status = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=no")
    return root, commit, not status.ok or bool(status.stdout.strip("\0"))


def _pathspec(root: str, exclude: Sequence[str]) -> list[str]:
    """The whole work tree but the ``exclude`` files and folders inside it, as git pathspecs."""
    real_root = os.path.realpath(root)
    out = []
    for path in exclude:
        # The folder resolved, not the name: git names a link as the link (``.venv`` linked to a venv elsewhere).
        rel = os.path.relpath(os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path)), real_root)
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


def changed_since(root: str, commit: str) -> list[str] | None:
    """The files (relative to ``root``, the top of a work tree) that differ between ``commit`` and ``HEAD``; None
    where git cannot tell (the commit is not in this clone). ``commit`` is a commit id (a record's, checked)."""
    res = git(root, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", commit, "HEAD", "--")
    return [name for name in res.stdout.split("\0") if name] if res.ok else None


def uncommitted(root: str, exclude: Sequence[str] = ()) -> list[str]:
    """The paths, relative to ``root`` (the top of a work tree), sorted, that ``state`` counts as the uncommitted
    change: changed, staged or untracked, less ``exclude`` and envsnap's own untracked outputs."""
    paths = _pathspec(root, [*exclude, *untracked_outputs(root)])
    status = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", *paths)
    return sorted(set(_status_paths(status.stdout))) if status.ok else []


def has_commit(root: str, commit: str) -> bool:
    """Whether the repository of the work tree ``root`` holds ``commit`` (a commit id: a record's, checked)."""
    return git(root, "cat-file", "-e", f"{commit}^{{commit}}").ok


def is_envsnap_file(path: str) -> bool:
    """Whether ``path`` is an envsnap lockfile or run record (``_is_envsnap_file``)."""
    return _is_envsnap_file(path)


def bundle_folders(base: str, untracked: Collection[str]) -> set[str]:
    """The folders, relative to ``base``, that are envsnap bundles, among the ``untracked`` files (``git ls-files
    --others`` names, relative to ``base``): one holding the marker of a bundle being made, or ``SHA256SUMS``
    beside an envsnap lock. A bundle made inside the project is envsnap's output, not the project's code: its
    wheels made every capture, run and rebuild after it see the project changed, and were copied into every build
    of the project."""
    found = set()
    for name in untracked:
        folder, _, leaf = name.rpartition("/")
        if not folder:
            continue
        lock = f"{folder}/{LOCK_NAME}"
        if leaf == BUNDLE_INCOMPLETE or (
            leaf == BUNDLE_SUMS and lock in untracked and _is_envsnap_file(os.path.join(base, lock))
        ):
            found.add(folder)
    return found


def is_bundle_folder(folder: str) -> bool:
    """Whether ``folder`` on disk is an envsnap bundle by ``bundle_folders``' rule (for a project in no work tree,
    whose files git does not list)."""
    return os.path.isfile(os.path.join(folder, BUNDLE_INCOMPLETE)) or (
        os.path.isfile(os.path.join(folder, BUNDLE_SUMS)) and _is_envsnap_file(os.path.join(folder, LOCK_NAME))
    )


# What is read of a file to tell a bundle archive: its top folder's and its SHA256SUMS' headers and that file (a
# line of some 100 bytes per file it lists), decompressed; an archive that needs more to say is none.
_ARCHIVE_READ = 4 * 1024 * 1024


class _Bounded:
    """A binary stream that ends in an error past ``budget`` bytes: a header a tar reader would read whole (a pax
    record of gigabytes, a gzip bomb) stops there."""

    def __init__(self, raw: BinaryIO | gzip.GzipFile, budget: int) -> None:
        self.raw, self.left = raw, budget

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.left:
            raise OSError("more than a bundle archive's first members")
        data = self.raw.read(size)
        self.left -= len(data)
        return data


def is_bundle_archive(path: str) -> bool:
    """Whether the file at ``path`` is an archive ``envsnap bundle -o NAME.tar.gz`` (``.tgz``, ``.tar``) wrote: its
    first member is its one top folder and its second that folder's ``SHA256SUMS`` (``write_archive`` writes them
    first), which lists ``envsnap.lock``. Only those first members are read (decompressed, at most
    ``_ARCHIVE_READ`` bytes): a supplement is gigabytes, and a project may hold other archives, which are its own."""
    import gzip
    import tarfile

    if not path.endswith(ARCHIVE_SUFFIXES) or not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) if not path.endswith(".tar") else raw as data:
            # The with above closes what the tar reader reads from; a stream reader holds nothing else.
            tar = tarfile.open(fileobj=_Bounded(data, _ARCHIVE_READ), mode="r|")  # type: ignore[call-overload]  # noqa: SIM115
            top = tar.next()
            sums = tar.next()
            if top is None or sums is None or not top.isdir() or not sums.isfile():
                return False
            if sums.name != f"{top.name}/{BUNDLE_SUMS}":
                return False
            handle = tar.extractfile(sums)
            text = handle.read().decode("utf-8", "replace") if handle else ""
    except (OSError, tarfile.TarError, EOFError, ValueError, gzip.BadGzipFile):
        return False
    return any(line.split("  ", 1)[-1] == LOCK_NAME for line in text.splitlines())


# The files ``envsnap export`` wrote in the work tree, with the sha256 of what it wrote: ``sha256  path`` lines (as
# SHA256SUMS has them), paths relative to the root, in the work tree's own git folder (never in the work tree,
# never committed, gone with the clone). The newest ``_EXPORTS_KEPT`` are kept.
EXPORTS_LEDGER = "envsnap-exports"
_EXPORTS_KEPT = 256
_LEDGER_MAX_BYTES = 1 << 20


def _git_folder(root: str) -> str | None:
    """The git folder of the work tree at ``root``, read without running git: ``.git`` itself, or where the
    ``gitdir:`` line of a linked work tree's (or a submodule's) ``.git`` file points. None when neither is there
    (``GIT_DIR`` names it elsewhere): then no export is remembered, and what it wrote counts as git sees it."""
    dot = os.path.join(root, ".git")
    if os.path.isdir(dot):
        return dot
    try:
        with open(dot, "rb") as fh:
            line = fh.read(4096).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    folder = os.path.join(root, line[len("gitdir:") :].strip())
    return folder if os.path.isdir(folder) else None


def _read_exports(git_folder: str) -> dict[str, str]:
    """The ledger: path relative to the root -> the sha256 export wrote there, oldest first."""
    try:
        with open(os.path.join(git_folder, EXPORTS_LEDGER), "rb") as fh:
            text = fh.read(_LEDGER_MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return {}
    found: dict[str, str] = {}
    for line in text.splitlines():
        digest, sep, rel = line.partition("  ")
        if sep and len(digest) == 64 and rel:
            found.pop(rel, None)
            found[rel] = digest
    return found


def remember_exports(written: Sequence[str]) -> None:
    """Note the files ``envsnap export`` has just written, each with the sha256 of its bytes, in the ledger of the
    work tree that holds it (``exported_outputs`` then leaves them out while they are untracked and unchanged). A
    file in no work tree is not noted; a ledger that cannot be written is left as it was (the file then counts as
    a change, as git sees it)."""
    from .._fs import atomic_write_text
    from .._prehash import sha256_file

    by_root: dict[str, dict[str, str]] = {}
    for path in written:
        real = os.path.realpath(path)
        root = find_root(os.path.dirname(real))
        if root is None:
            continue
        rel = os.path.relpath(real, os.path.realpath(root))
        if rel.startswith(".."):
            continue
        try:
            by_root.setdefault(root, {})[rel.replace(os.sep, "/")] = sha256_file(real)
        except OSError:
            continue
    for root, noted in by_root.items():
        folder = _git_folder(root)
        if folder is None:
            continue
        ledger = _read_exports(folder)
        for rel, digest in noted.items():
            if "\n" in rel or "\r" in rel:  # a line each
                continue
            ledger.pop(rel, None)
            ledger[rel] = digest
        kept = list(ledger.items())[-_EXPORTS_KEPT:]
        try:
            atomic_write_text(os.path.join(folder, EXPORTS_LEDGER), "".join(f"{d}  {r}\n" for r, d in kept))
        except OSError:
            continue


def _ledger_above(base: str) -> tuple[dict[str, str], str]:
    """The export ledger of the work tree ``base`` is in (read without running git, as ``_git_folder`` reads), and
    ``base``'s path from that tree's top, "" at the top or "sub/dir/" below it (the ledger's paths are from the top)."""
    try:
        folder = os.path.realpath(base)
    except OSError:
        return {}, ""
    below: list[str] = []
    while not os.path.lexists(os.path.join(folder, ".git")):
        parent = os.path.dirname(folder)
        if parent == folder:
            return {}, ""
        below.insert(0, os.path.basename(folder))
        folder = parent
    git_folder = _git_folder(folder)
    return (_read_exports(git_folder) if git_folder is not None else {}), "".join(f"{name}/" for name in below)


def exported_outputs(root: str, untracked: Collection[str]) -> set[str]:
    """The ``untracked`` files (relative to ``root``, the top of a work tree or a folder in one) that are exactly
    what ``envsnap export`` wrote there, by the ledger ``remember_exports`` keeps: envsnap's output, while nobody
    changed it and it is not committed. As ``untracked`` names them."""
    if not untracked:
        return set()
    ledger, prefix = _ledger_above(root)
    noted = [rel for rel in untracked if prefix + rel in ledger]
    if not noted:
        return set()
    from .._prehash import sha256_file

    found = set()
    for rel in noted:
        path = os.path.join(root, rel)
        try:
            if os.path.isfile(path) and not os.path.islink(path) and sha256_file(path) == ledger[prefix + rel]:
                found.add(rel)
        except OSError:
            continue
    return found


def envsnap_outputs(base: str, untracked: Collection[str]) -> set[str]:
    """What envsnap wrote among the ``untracked`` files (``git ls-files --others --exclude-standard`` names, relative
    to ``base``, the top of a work tree or a folder in one), as relative paths: envsnap lockfiles and run records
    (named ``*.lock`` or ``*.toml``), bundle archives (``is_bundle_archive``), the files ``export`` wrote, unchanged
    (``exported_outputs``), and bundle folders (``bundle_folders``, by the folder). Not the project's source: part of
    ``left_out``."""
    # Only names a lock is given (``envsnap.lock``, ``*.lock``, ``*.toml``) are opened: an untracked data
    # folder may hold many thousands of files.
    found = {rel for rel in untracked if rel.endswith((".lock", ".toml")) and _is_envsnap_file(os.path.join(base, rel))}
    found |= {rel for rel in untracked if rel.endswith(ARCHIVE_SUFFIXES) and is_bundle_archive(os.path.join(base, rel))}
    found |= exported_outputs(base, untracked)
    return found | bundle_folders(base, untracked)


# What builds and tools leave at the top of a Python project (the folder ``left_out`` is given, or one holding a
# ``PROJECT_MARKERS`` file), never a package: a package named ``build`` lives below ``src/`` or beside other
# modules, and is the project's there.
TOOL_FOLDERS = frozenset(
    {"build", "dist", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs"}
)
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")


def is_environment(folder: str) -> bool:
    """Whether ``folder`` on disk is a Python environment: it holds ``pyvenv.cfg`` (``python -m venv``, a tox or nox
    environment) or a ``conda-meta/`` folder."""
    return os.path.isfile(os.path.join(folder, "pyvenv.cfg")) or os.path.isdir(os.path.join(folder, "conda-meta"))


def left_out_folder(base: str, rel: str) -> bool:
    """Whether the folder at ``rel`` (relative to ``base``, "/"-separated) is what a build, a tool or an environment
    leaves in a project, not its source: ``__pycache__`` and ``*.egg-info`` anywhere; a ``TOOL_FOLDERS`` name at
    the top of ``base`` or beside a ``PROJECT_MARKERS`` file; a Python environment anywhere (``is_environment``:
    what is installed there is the environment, which a lock records as such; Python before 3.13 writes no
    ``.gitignore`` into a venv it makes)."""
    parent, _, name = rel.rpartition("/")
    if name == "__pycache__" or name.endswith(".egg-info"):
        return True
    if name in TOOL_FOLDERS and (
        not parent or any(os.path.isfile(os.path.join(base, parent, marker)) for marker in PROJECT_MARKERS)
    ):
        return True
    return is_environment(os.path.join(base, rel))


def left_out(base: str, untracked: Collection[str]) -> set[str]:
    """The one rule for what, among the ``untracked`` files (``git ls-files --others --exclude-standard`` names,
    relative to ``base``, the top of a work tree or a folder in one), is not the project's source, as relative
    paths: what envsnap wrote (``envsnap_outputs``) and the outermost folders ``left_out_folder`` names, among the
    folders they lie in and the links to a folder among them (``ln -s /scratch/venvs/proj .venv``: git lists a link
    as one file). The project state leaves them out (``untracked_outputs``), and so does the copy a build of the
    project starts from (``artifacts/sourcecopy.py``). Only untracked files: a file git tracks in such a folder is
    the project's."""
    found = envsnap_outputs(base, untracked)
    seen: dict[str, bool] = {}
    for name in untracked:
        parts = name.split("/")
        for depth in range(1, len(parts) + 1):
            rel = "/".join(parts[:depth])
            hit = seen.get(rel)
            if hit is None:
                if depth == len(parts):  # the file itself: only a link to a folder is one
                    path = os.path.join(base, rel)
                    hit = os.path.islink(path) and os.path.isdir(path) and left_out_folder(base, rel)
                else:
                    hit = seen[rel] = left_out_folder(base, rel)
            if hit:
                found.add(rel)
                break
    return found


def untracked_outputs(root: str) -> list[str]:
    """What ``left_out`` leaves out of the untracked (and not ignored) files of the work tree at ``root``, as
    absolute paths: left out of the project state. A left-out folder that holds a file git tracks is named by its
    untracked files instead (the state leaves paths out as pathspecs, which would hide a change of that file)."""
    res = git(root, "ls-files", "--others", "--exclude-standard", "-z")
    if not res.ok:
        return []
    untracked = {rel for rel in res.stdout.split("\0") if rel}
    found = left_out(root, untracked)
    folders = [rel for rel in found if rel not in untracked]
    if folders:
        tracked = git(root, "ls-files", "--cached", "-z", "--", *(":(top,literal)" + rel for rel in folders))
        holding = {rel for rel in folders if tracked.ok and _holds(tracked.stdout.split("\0"), rel)}
        if not tracked.ok:
            holding = set(folders)
        found -= holding
        found |= {name for name in untracked if any(name.startswith(rel + "/") for rel in holding)}
    return sorted(os.path.join(root, rel) for rel in found)


def _holds(paths: Sequence[str], folder: str) -> bool:
    """Whether one of ``paths`` lies in ``folder`` (relative paths, "/"-separated)."""
    return any(path.startswith(folder + "/") for path in paths)


def state(root: str, exclude: Sequence[str] = ()) -> State:
    """The git state of the work tree at ``root`` (``probes/project.py``'s ``probe_project``, which documents
    ``exclude``); the remote's URL as git prints it."""
    return _state(root, exclude, None)


def state_as_of(root: str, exclude: Sequence[str], since_ns: int) -> tuple[State, list[str]]:
    """``state``, read while something else may write the work tree (``envsnap run``'s command, started at
    ``since_ns`` as the kernel stamps files), and the paths, relative to ``root``, of what git reported changed,
    staged or untracked whose modification or change time is ``since_ns`` or later once git has read them (a
    path gone: its nearest folder's): what the state holds of them may be what was written since, not what was
    there before. A path whose times are earlier was last written before, so git read that."""
    reported: set[str] = set()
    found = _state(root, exclude, reported)
    return found, sorted(rel for rel in reported if _stamp(root, rel) >= since_ns)


def _stamp(root: str, rel: str) -> int:
    """The later of the modification and change times of ``rel`` under ``root`` (not following a link), or of the
    nearest folder above it that exists (a path removed): -1 when none can be read."""
    path = os.path.join(root, rel)
    while True:
        try:
            info = os.lstat(path)
            return max(info.st_mtime_ns, info.st_ctime_ns)
        except OSError:
            parent = os.path.dirname(path)
            if parent == path or len(parent) < len(root):
                return -1
            path = parent


def _status_paths(output: str) -> list[str]:
    """The paths ``git status --porcelain=v1 -z`` names: each entry's, and a move's or copy's origin, which
    follows it as an entry of its own."""
    entries = output.split("\0")
    paths = []
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            if i < len(entries) and entries[i]:
                paths.append(entries[i])
            i += 1
    return paths


def _state(root: str, exclude: Sequence[str], reported: set[str] | None) -> State:
    """``state``; where ``reported`` is given, with every path a git command of it named added to it (``git diff``
    names its files once more after the digest, for the files that changed between the status and the diff)."""
    import hashlib

    head = git(root, "rev-parse", "--verify", "-q", "HEAD")
    commit = head.stdout.strip() if head.ok else ""
    branch_res = git(root, "symbolic-ref", "--short", "-q", "HEAD")
    branch = branch_res.stdout.strip() if branch_res.ok else ""
    left_out = [*exclude, *untracked_outputs(root)]
    paths = _pathspec(root, left_out)
    status = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", *paths)
    dirty = bool(status.stdout.strip("\0"))
    diff_digest = ""
    if dirty:
        hasher = hashlib.sha256()
        # A file HEAD lacks is hashed by its content whether it is staged or not (``git add`` changes no code), and
        # a staged move as the removal and the new file an unstaged one is (no rename detection, whatever the
        # user's ``diff.renames``): the diff covers the files HEAD has.
        added: list[str] = []
        diff = None
        if commit:
            new = git(root, "diff", "HEAD", "--no-renames", "--name-only", "-z", "--diff-filter=A", *paths)
            added = [p for p in new.stdout.split("\0") if p] if new.ok else []
            spec = _pathspec(root, [*left_out, *(os.path.join(root, p) for p in added)])
            diff = git(
                root, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", *spec
            )
        hasher.update((diff.stdout if diff else "").encode("utf-8", "surrogateescape"))
        untracked = git(root, "ls-files", "--others", "--exclude-standard", "-z", *paths)
        for rel in sorted({*added, *(p for p in untracked.stdout.split("\0") if p)}):
            hasher.update(b"\0untracked\0" + rel.encode())
            try:
                with open(os.path.join(root, rel), "rb") as fh:
                    hasher.update(hashlib.sha256(fh.read()).digest())
            except OSError:
                pass
        diff_digest = "sha256:" + hasher.hexdigest()
        if reported is not None:
            reported.update(_status_paths(status.stdout), added, (p for p in untracked.stdout.split("\0") if p))
            if commit:
                named = git(root, "diff", "HEAD", "--no-renames", "--name-only", "-z", *paths)
                reported.update(p for p in named.stdout.split("\0") if p)
    return (commit, branch, dirty, diff_digest, remote_url(root))


def _remote(root: str) -> str:
    """The name of the work tree's ``origin`` remote, else of its first one; "" without one."""
    remotes = git(root, "remote")
    names = remotes.stdout.split() if remotes.ok else []
    return ("origin" if "origin" in names else names[0]) if names else ""


def remote_url(root: str) -> str:
    """The URL of the work tree's ``origin`` remote (else its first one) as git prints it, credentials and all;
    "" without one."""
    name = _remote(root)
    url = git(root, "remote", "get-url", name) if name else None
    return url.stdout.strip() if url is not None and url.ok else ""


def published_remote_url(root: str) -> str:
    """``remote_url`` where a branch of that remote, as the work tree last fetched it, holds ``HEAD`` (its commit
    can be fetched from there: a clone's commit, not one made here and never pushed); else ""."""
    name = _remote(root)
    if not name:
        return ""
    # The remote's name comes from git's own config; ``--contains`` is given HEAD, never a recorded value.
    held = git(root, "for-each-ref", "--count=1", "--contains=HEAD", "--format=%(refname)", f"refs/remotes/{name}/")
    if not held.ok or not held.stdout.strip():
        return ""
    return remote_url(root)
