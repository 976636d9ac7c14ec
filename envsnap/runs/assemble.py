"""The parts of a run record other than the command's own outcome: where it ran, its code, its environment, its
data, what it loaded. ``envsnap run`` imports this module in a thread once the command has started (it imports
the lock model, the probes and ``verify``: most of a second on a busy machine), ``rerun`` and ``record_run``
directly.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import lockfile
from .._privacy import REDACTED, PathRedactor, is_secret_option, redact_secrets, scrub_text
from .._version import __version__
from ..fileurls import HOME, PROJECT
from ..model import Snapshot
from ..probes.gitstate import State, refused
from ..probes.project import find_root, probe_project, project_of
from ..probes.python import TargetEnvironment, is_python_name, select_environment
from . import owners as owner_memo
from .cache import KeptLock
from .libraries import CondaIndex, LockView, Owner, RecordIndex, account, distributions_of, package_owners
from .record import (
    PATH_END,
    Code,
    Command,
    Data,
    DriftPlace,
    Environment,
    FileEntry,
    Finding,
    Gpus,
    Loaded,
    Meta,
    Outcome,
    RunRecord,
    Variable,
    labelled_path,
    labelled_word,
    path_end,
)
from .reports import PythonReport, top_level_modules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..compare.verdict import Difference
    from ..probes.hostlibs import PackageDatabase
    from . import data as data_mod

MAX_DRIFT_LINES = 200


@dataclass
class Context:
    """Where a run happens: the project (the git work tree, else the working directory) and the folder in it."""

    root: Path
    cwd_rel: str
    redactor: PathRedactor


def context(cwd: str | None = None) -> Context:
    """The context of a run started in ``cwd`` (default: the working directory)."""
    cwd = cwd or os.getcwd()
    root = Path(find_root(cwd) or cwd)
    rel = os.path.relpath(os.path.realpath(cwd), os.path.realpath(root))
    return Context(
        root=root, cwd_rel="." if rel == "." else rel.replace(os.sep, "/"), redactor=PathRedactor(project=str(root))
    )


def data_path(path: str, redactor: PathRedactor | None = None) -> str:
    """How a --data/--output path is recorded: as given (relative to the working directory); an absolute path
    in the project as ``{project}/...`` and one under the home directory as ``~/...`` (``redactor``: the run's;
    rerun resolves them where it runs)."""
    norm = os.path.normpath(path)
    if os.path.isabs(norm) and redactor is not None and (label := redactor.labelled(norm)) is not None:
        return label
    home = os.path.expanduser("~")
    if os.path.isabs(norm) and home not in ("", "/") and norm.startswith(home.rstrip("/") + "/"):
        return "~/" + norm[len(home.rstrip("/")) + 1 :]
    return norm


def unlabelled(label: str, tail: str, root: Path | None) -> str:
    """The path a recorded ``label + tail`` (``{project}/x``, ``~/x``) names here: ``{project}`` is ``root``, the
    project of whoever reads the record, ``~`` their home directory."""
    base = os.path.expanduser("~") if label == HOME else os.fspath(root if root is not None else Path.cwd())
    return base.rstrip("/") + tail if tail else base


def resolve_data_path(path: str, base: Path | None = None, root: Path | None = None) -> Path:
    """A recorded data path on this machine: a label resolved (``root``: the project), a relative path under
    ``base`` (the run's working directory)."""
    for label in (PROJECT, HOME):
        if path == label or path.startswith(label + "/"):
            return Path(unlabelled(label, path[len(label) :], root))
    return (base or Path(".")) / path


def labelled_argv(
    argv: Sequence[str], redactor: PathRedactor, outputs: Sequence[str] = ()
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """The command line with each word that is an existing absolute path in the project or the home (whole, or
    the value of ``--opt=PATH``) under its label (``{project}/train.py``, ``--data=~/data/x.csv``), the indexes of
    those words (``command.paths``), and in any other word each existing such path written inside it (code, a
    shell line: ``open('/home/alice/data/x.csv')``), cut at ``PATH_END`` characters, under its label too, with the
    places of those labels (``command.inner_paths``, ``INDEX:OFFSET``). Any other text is kept as it is, text
    naming the home included: only a path can be resolved again (``home_named`` finds what is left). A path
    that names one of ``outputs`` (the run's ``--output`` paths) counts as existing: an output the command did
    not write is no existing path, but the run said it is one."""
    declared = {os.path.normpath(os.path.abspath(p)) for p in outputs}

    def is_path(value: str) -> bool:
        return os.path.lexists(value) or os.path.normpath(value) in declared

    out = list(argv)
    paths: list[int] = []
    inner: list[str] = []
    for i, word in enumerate(argv):
        head, value = "", word
        if word.startswith("-") and "=" in word:
            option, _, value = word.partition("=")
            head = option + "="
        if value.startswith("/") and is_path(value):
            label = redactor.labelled(value)
            if label is not None and labelled_word(head + label) is not None:
                out[i] = head + label
                paths.append(i)
                continue
        out[i], places = _labelled_inside(word, redactor, is_path)
        inner.extend(f"{i}:{offset}" for offset in places)
    return tuple(out), tuple(paths), tuple(inner)


def _labelled_inside(word: str, redactor: PathRedactor, is_path: Callable[[str], bool]) -> tuple[str, list[int]]:
    """``word`` with each existing absolute path in the project or the home written inside it (starting at the
    word's start or after a ``PATH_END`` character, ending before the next) under its label, and the offsets of
    those labels in the word returned."""
    parts: list[str] = []
    places: list[int] = []
    start = at = 0
    while (at := word.find("/", at)) >= 0:
        stop = path_end(word, at)
        path = word[at:stop]
        if (at == 0 or word[at - 1] in PATH_END) and is_path(path):
            labelled = redactor.labelled(path)
            if labelled is not None:
                parts.append(word[start:at])
                places.append(sum(map(len, parts)))
                parts.append(labelled)
                start = stop
        at = max(stop, at + 1)
    parts.append(word[start:])
    return "".join(parts), places


def home_named(argv: Sequence[str], paths: Sequence[int], redactor: PathRedactor) -> list[tuple[int, int, str]]:
    """Where the words of a recorded command, outside those ``paths`` lists, still name the home or the project
    by its path on this machine (text that is no existing path: ``--msg=/home/alice/x``, a path a ``-c`` program
    builds): each place (the word's index, the offset where that path starts) with the folder it names (the
    project before the home it lies in), in order. The record keeps them as written, lists the places
    (``command.unlabelled``) and says so when it is made."""
    found: dict[tuple[int, int], str] = {}
    for i, word in enumerate(argv):
        if i in paths:
            continue
        for root, _label in redactor.roots:  # most specific first
            if _label not in (PROJECT, HOME):
                continue
            at = word.find(root)
            while at >= 0:
                end = at + len(root)
                if (at == 0 or word[at - 1] in PATH_END) and (
                    end == len(word) or word[end] == "/" or word[end] in PATH_END
                ):
                    found.setdefault((i, at), root)
                at = word.find(root, at + 1)
    return [(i, at, root) for (i, at), root in sorted(found.items())]


def to_data(role: str, path: str, fp: data_mod.Fingerprint, ctx: Context | None = None) -> Data:
    return Data(
        role=role,
        path=data_path(path, ctx.redactor if ctx is not None else None),
        kind=fp.kind,
        method=fp.method,
        digest=fp.digest,
        files=fp.files,
        bytes=fp.bytes,
        complete=fp.complete,
        dangling=fp.dangling,
        entries=tuple(FileEntry(e.path, e.size, e.value) for e in fp.entries),
        unlisted=fp.unlisted,
    )


def fingerprint_data(
    role: str,
    path: str,
    *,
    fast: bool,
    progress: data_mod.ByteProgress | None = None,
    base: Path | None = None,
    within: Sequence[str | os.PathLike[str]] | None = None,
    max_bytes: int | None = None,
    root: Path | None = None,
) -> Data:
    from . import data as data_mod

    fp = data_mod.fingerprint(
        resolve_data_path(path, base, root),
        fast=fast,
        progress=progress,
        missing_ok=role == "output",
        within=within,
        max_bytes=max_bytes,
    )
    return to_data(role, path, fp)


def to_fingerprint(d: Data) -> data_mod.Fingerprint:
    from . import data as data_mod

    return data_mod.Fingerprint(
        d.kind,
        d.method,
        d.digest,
        d.files,
        d.bytes,
        tuple(data_mod.Entry(e.path, e.size, e.value) for e in d.entries),
        d.complete,
        d.dangling,
    )


def relative_to_root(path: Path, root: Path) -> str:
    rel = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
    return "" if rel.startswith("..") else rel.replace(os.sep, "/")


def findings(report: Any) -> list[Finding]:
    """verify's mismatches and warnings as a record keeps them (``Finding``), secrets removed."""
    return [finding for _, finding, _ in differences_found(report.differences)]


def finding_of(d: Difference) -> Finding:
    """A difference as a record keeps it: its fields, secrets removed from each."""
    subject, what, expected, actual, note, cause = (
        redact_secrets(v) for v in (d.subject, d.what, d.expected, d.actual, d.note, d.cause)
    )
    places = tuple(DriftPlace(p.kind, redact_secrets(p.path)) for p in d.places)
    return Finding(d.severity, d.area, subject, what, expected, actual, note, cause, places=places)


def differences_found(differences: Iterable[Difference]) -> list[tuple[str, Finding, Difference]]:
    """verify's mismatches and warnings, at most ``MAX_DRIFT_LINES``, each as (the line a record's drift is compared
    by, ``Finding.said``; the finding; the difference it records)."""
    from ..compare.verify import INFO

    found = [finding_of(d) for d in differences if d.severity != INFO][:MAX_DRIFT_LINES]
    return [(f.said(), f, f.difference()) for f in found]


ON_PATH = "the interpreter the command runs"  # why a python command found on PATH is the run's environment


def python_target(argv: Sequence[str], python: str | None, python_from: str = "--python") -> TargetEnvironment:
    """The environment a command runs in: ``python`` when given (named by ``python_from``, as the record says it
    was chosen), else the interpreter the command names when it is one (``python train.py``), else the one
    ``envsnap verify`` would choose."""
    if python is not None:
        return select_environment(python, python_from=python_from)
    import shutil

    found = shutil.which(argv[0]) if argv and is_python_name(argv[0]) else None
    if found is None:
        return select_environment()
    return select_environment(found).replace(why=ON_PATH)


def code_state(root: Path, exclude: Sequence[str | os.PathLike[str]]) -> Code | None:
    project = probe_project(str(root), exclude=[os.fspath(p) for p in exclude])
    if project is None:
        return None
    return Code(
        vcs="git", commit=project.commit, branch=project.branch, dirty=project.dirty, diff_digest=project.diff_digest
    )


def redacted_argv(argv: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    """The command line as a record keeps it: each word without secrets, by the lock's rules (``scrub_text``: a
    URL's ``user:password@``, a scheme-less ``user:password@host``, tokens), and whether any was removed. Tokens
    alone were removed before: a database URL's password reached the record and the paper artifact's crate."""
    out = [scrub_text(a) for a in argv]
    for i, word in enumerate(argv):
        # An option that names a secret: ``--api-key=VALUE``, and ``--password VALUE`` in two words. The value
        # rules above know ``password=`` and tokens of known forms, not these: they reached the record and the
        # crate in clear.
        if not word.startswith("-"):
            continue
        name, eq, value = word.lstrip("-").partition("=")
        if not is_secret_option(name):
            continue
        if eq and value:
            out[i] = word[: len(word) - len(value)] + REDACTED
        elif not eq and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            out[i + 1] = REDACTED
    return tuple(out), tuple(out) != tuple(argv)


def loaded(
    objects: set[str],
    reports: Sequence[PythonReport],
    lock: Snapshot | LockView | None,
    ctx: Context,
    *,
    method: str,
    processes: int,
    database: PackageDatabase | None = None,
    index: RecordIndex | None = None,
    conda: CondaIndex | None = None,
    known: Mapping[str, Owner | None] | None = None,
    memo: owner_memo.OwnerMemo | None = None,
    python: str | None = None,
) -> Loaded:
    """What was loaded, each file with its owner: from ``known`` (looked up while the command ran), the owner
    memo (``runs/owners.py``: kept by an earlier run, nothing they depend on changed), else looked up now; what
    was looked up is added to the memo."""
    index = index or RecordIndex()
    conda = conda or CondaIndex()
    memo = memo or owner_memo.OwnerMemo()
    found = dict(known or {})
    found.update(memo.known_objects([p for p in objects if p not in found], conda))
    rest = [p for p in objects if p not in found]
    if rest:
        if database is None:
            from ..probes.hostlibs import PackageDatabase

            database = PackageDatabase()
        found.update(package_owners(rest, index=index, conda=conda, database=database))
    interpreters = {r.base_prefix: r.version for r in reports}
    interpreters.update({r.prefix: r.version for r in reports})
    version = (lock.python.version if isinstance(lock, Snapshot) else lock.python_version) if lock is not None else ""
    if python and version and not reports:
        # No Python process reported (python -I, -E or -S skips the hook; a process killed by a signal never
        # reports): the locked interpreter's own files are still its, by where its binary lives (a venv's python
        # links to it; BASE/bin/python3.11 and BASE/lib/libpython3.11.so). They read as "not accounted for".
        base = os.path.dirname(os.path.dirname(os.path.realpath(python)))
        if base != os.path.dirname(base):  # never the root folder: everything lies under it
            interpreters.setdefault(base, version)
    libraries = account(
        objects,
        lock,
        ctx.redactor,
        interpreters=interpreters,
        index=index,
        database=database,
        conda=conda,
        known=found,
    )
    modules = [name for r in reports for name in r.modules]
    files = {f for r in reports for f in r.modules.values() if f}
    dists = memo.known_modules(files)
    distributions = distributions_of(files, index, known=dists)
    memo.learn({p: found[p] for p in objects}, dists, index.loaded())
    return Loaded(
        method=method,
        processes=processes,
        python_processes=len({r.pid for r in reports}),
        libraries=libraries,
        modules=tuple(top_level_modules(modules)),
        distributions=tuple(distributions),
    )


def lock_digest(lock: Snapshot, captured: bool) -> str:
    """The digest a record names its lock by: the lock's seal, or (a capture, a lock without one) its content's."""
    if lock.envsnap.content_digest and not captured:
        return lock.envsnap.content_digest
    return lockfile.canonical_digest(lockfile.to_dict(lock))


def environment(
    lock: Snapshot | LockView | None,
    lock_path: Path | None,
    ctx: Context,
    target: TargetEnvironment,
    captured: bool,
    drift: Sequence[Finding],
    digest: str = "",
    identity: str = "",
) -> Environment:
    python = ctx.redactor.text(target.describe())
    interpreter = ""
    if target.why == ON_PATH and target.python:  # ``python train.py``: the PATH's, an activated venv's
        named = ctx.redactor.text(target.python)
        interpreter = named if labelled_path(named) else ""
    if lock is None or lock_path is None:
        return Environment(python=python, interpreter=interpreter, drift=tuple(drift))
    return Environment(
        lock=relative_to_root(lock_path, ctx.root),
        lock_digest=digest or (lock_digest(lock, captured) if isinstance(lock, Snapshot) else ""),
        lock_identity=identity
        or (lockfile.identity_digest(lockfile.to_dict(lock)) if isinstance(lock, Snapshot) else ""),
        captured=captured,
        python=python,
        interpreter=interpreter,
        drift=tuple(drift),
    )


@dataclass
class Prepared:
    """What is gathered while the command runs: everything that does not depend on how it ends."""

    ctx: Context
    target: TargetEnvironment
    code: Code | None
    lock: Snapshot | LockView | None  # the lock, or (from a cache: an unchanged environment) what accounting reads
    lock_path: Path | None
    captured: bool = False
    drift: list[Finding] = field(default_factory=list)
    mismatches: int = 0
    warnings: list[str] = field(default_factory=list)
    database: PackageDatabase | None = None
    lock_digest: str = ""  # the lock's digest, computed ahead
    lock_identity: str = ""  # and its identity (lockfile.identity_digest): the same once the lock is pinned
    lock_text: str = ""  # a capture's lockfile text, to be written beside the record once the command has ended
    index: RecordIndex = field(default_factory=RecordIndex)  # the target environment's RECORD files, read ahead
    conda: CondaIndex = field(default_factory=CondaIndex)
    known: dict[str, Owner | None] = field(default_factory=dict)  # owners of the files loaded so far
    owners: owner_memo.OwnerMemo = field(default_factory=owner_memo.OwnerMemo)  # kept by an earlier run


def prepare(
    argv: Sequence[str],
    *,
    lock: Snapshot | KeptLock | None,
    lock_path: Path | None,
    record: Path,
    python: str | None,
    exclude: Sequence[str | os.PathLike[str]] = (),
    capture_path: Path | None = None,
    use_cache: bool = True,
    seen: Callable[[], Iterable[str]] | None = None,
    ahead: bool = True,
    python_from: str = "--python",
    code: Callable[[], tuple[State, Sequence[str]] | None] | None = None,
    cwd: str | None = None,
) -> Prepared:
    """The project and its code, the environment (``verify`` against ``lock``, or a capture when there is none,
    to be stored at ``capture_path``; either reused from the capture memo while the environment is unchanged),
    and what matching the loaded files to packages needs: the owners an earlier run kept (``runs/owners.py``),
    else, read ahead, the package database and its index of owners, the RECORD files of the target
    environment's site folders, and the owners of the files ``seen`` (the command's maps sampled so far: most
    of what it loads, it loads as it starts). What the command loads later is looked up once it has ended.
    Without ``ahead``, the reading ahead is left to ``read_ahead`` (``--strict`` verifies before the command
    starts, and reads ahead once it runs). ``python_from``: what chose ``python``, as the record names it.
    ``code``: the project's git state read as the command started, and the paths in it written since
    (``gitstate.state_as_of``; None outside a work tree), else it is read now. ``cwd``: where the run started (a
    ``record_run`` block may have changed directory since; default: the working directory)."""
    import sys

    from . import cache

    ctx = context(cwd)
    excluded = [record, *([lock_path] if lock_path else []), *([capture_path] if capture_path else []), *exclude]
    written: Sequence[str] = ()
    if code is None:
        project = probe_project(str(ctx.root), exclude=[os.fspath(p) for p in excluded])
    else:
        state = code()
        project = None if state is None else project_of(state[0])
        written = () if state is None else state[1]
    target = python_target(argv, python, python_from)
    out = Prepared(ctx=ctx, target=target, code=_code_of(project), lock=None, lock_path=lock_path)
    if written:
        out.warnings.append(written_line(written))
    if project is None and (why := refused(str(ctx.root))):  # a work tree git refuses: said, not taken for none
        out.warnings.append(why)
    interpreter = target.python or sys.executable
    use_cache = use_cache and cache.enabled() and target.python_layer
    out.index.cached = use_cache
    try:
        if lock is not None:
            kept = lock.kept(lockfile.IDENTITY_FORM) if isinstance(lock, KeptLock) else None
            view = LockView.from_json(kept[1]) if kept is not None else None
            if kept is not None and view is not None:  # the lock is read only if its verify is not from the memo
                out.lock_digest, out.lock_identity, out.lock = kept[0], kept[2], view
                load: Callable[[], Snapshot] = lock.load  # type: ignore[union-attr]
            else:
                snapshot = lock.load() if isinstance(lock, KeptLock) else lock
                out.lock, out.lock_digest = snapshot, lock_digest(snapshot, captured=False)
                out.lock_identity = lockfile.identity_digest(lockfile.to_dict(snapshot))
                if isinstance(lock, KeptLock) and use_cache:
                    view_json = LockView.of(snapshot).to_json()
                    lock.keep(out.lock_digest, view_json, out.lock_identity, lockfile.IDENTITY_FORM)
                load = lambda: snapshot  # noqa: E731
            out.drift = _verified(load, out.lock_digest, target, interpreter, use_cache)
            out.mismatches = sum(1 for f in out.drift if f.severity == "mismatch")
        else:
            captured = _capture(target, interpreter, capture_path, project, use_cache)
            out.lock, out.lock_text, out.lock_digest, out.lock_identity = captured
            out.lock_path, out.captured = capture_path, True
    except Exception as exc:
        what = "verified" if lock is not None else "captured"
        out.warnings.append(f"the environment could not be {what}: {exc}")
    if ahead:
        read_ahead(out, argv, python=python, seen=seen, use_cache=use_cache)
    return out


def read_ahead(
    out: Prepared,
    argv: Sequence[str],
    *,
    python: str | None,
    seen: Callable[[], Iterable[str]] | None,
    use_cache: bool = True,
) -> Prepared:
    """What matching the loaded files to their packages needs, read into ``out`` while the command runs: the
    owners an earlier run of this environment kept (``runs/owners.py``); when there are none, or a file the
    command has loaded is not among them, the package database's index and the site folders' RECORD files."""
    import sys

    from . import cache

    interpreter = out.target.python or sys.executable
    use_cache = use_cache and cache.enabled() and out.target.python_layer
    out.owners = owner_memo.load(out.target.cache_identity(), interpreter, use_cache)
    paths = list(seen()) if seen is not None else []
    out.known = out.owners.known_objects(paths, out.conda)
    rest = [p for p in paths if p not in out.known]
    sites = []
    if out.target.python_layer and (python is not None or (argv and is_python_name(argv[0]))):
        sites = cache.site_dirs(interpreter)  # a Python command imports from them
    if out.owners.hit and not rest:
        out.index.first = sites  # what is loaded later and not kept is looked up once the command has ended
        return out
    from ..probes.hostlibs import PackageDatabase

    out.database = PackageDatabase()
    out.database.installed()
    out.database.index_owners()  # every owner lookup is then a dict lookup (not preload's ".so" lines: unused)
    for site in sites:
        out.index.load(site)
    out.known.update(package_owners(rest, index=out.index, conda=out.conda, database=out.database))
    return out


def other_python_lines(target: TargetEnvironment, reports: Sequence[PythonReport]) -> list[str]:
    """The line saying the command's Python ran in another environment than the one ``--python`` names (a venv or
    conda environment), which the record names as the run's: ``run --python .venv/bin/python -- python train.py``
    outside the activated venv ran the PATH's python, and nothing said so. Said only where every Python process
    that reported ran elsewhere; [] where the environment was not chosen with ``--python``."""
    if target.why != "--python" or not target.python or not reports:
        return []
    folder = Path(target.python).parent
    prefix = folder.parent
    if folder.name != "bin" or not ((prefix / "pyvenv.cfg").is_file() or (prefix / "conda-meta").is_dir()):
        return []  # its prefix is not known without running it (a pyenv shim)
    ours = os.path.realpath(prefix)
    if any(os.path.realpath(r.prefix) == ours for r in reports):
        return []
    first = reports[0]
    return [
        f"the command's Python ran in {os.path.realpath(first.prefix)} ({first.executable}), not in the environment "
        f"--python {target.python} names, which the record names as the run's: run that interpreter as the command, "
        "or activate its environment"
    ]


def written_line(paths: Sequence[str]) -> str:
    """The line saying that the code state may hold what the command wrote: ``paths`` (relative to the project)
    changed after it started, before git had read them (``gitstate.state_as_of``)."""
    from ..sinks import shell_shown

    more = f" and {len(paths) - 1} other path{'s' if len(paths) > 2 else ''}" if len(paths) > 1 else ""
    return (
        f"the code state may include what the command wrote: {shell_shown([paths[0]])}{more} changed after it "
        "started, before git had read the work tree (code.dirty and code.diff_digest may not be the project's as "
        "the command started)"
    )


def _code_of(project: Any) -> Code | None:
    if project is None:
        return None
    return Code(
        vcs="git", commit=project.commit, branch=project.branch, dirty=project.dirty, diff_digest=project.diff_digest
    )


def _verified(
    lock: Callable[[], Snapshot], digest: str, target: TargetEnvironment, interpreter: str, use_cache: bool
) -> list[Finding]:
    """The quick verify's findings; while nothing the last verify of this environment against this lock read
    changed, that verify's, kept with the capture memo's key (``probes/memo.py``, as ``envsnap verify`` keeps its
    report; a key of the site folders and package databases alone missed a ``.pth`` folder's first
    distribution). ``lock`` is read only when the verify runs."""
    import time

    from .._defaults import capture_cache_path
    from ..probes import memo

    started_ns = time.time_ns()
    path = capture_cache_path("runverify", target.cache_identity(), memo.SUFFIX) if use_cache else None
    fact = memo.facts(["run-verify", interpreter, target, digest], os.environ) if path is not None else ""
    answer = memo.lookup_answer(path, fact)
    items = answer.get("drift") if isinstance(answer, dict) else None  # "findings": lines, before the fields
    day = answer.get("day") if isinstance(answer, dict) else None
    if (
        isinstance(items, list)
        and isinstance(day, str)
        and all(_kept_finding(i) for i in items)
        and (not day or day == _today())
    ):
        return [
            Finding(*i[:_FINDING_FIELDS], places=tuple(DriftPlace(kind, path) for kind, path in i[-1]))  # type: ignore[misc]
            for i in items
        ]
    from ..compare.verify import judged_by_date, verify  # not for a kept answer: verify, the probes and the capture

    kept: list[Any] = []
    report_lock = lock()
    report = verify(report_lock, environment=target, kept=kept, gpu_kernels=kernel_differences)
    found = findings(report)
    if path is not None and kept and not any(w.startswith("nvidia") for w in kept[0].snapshot.envsnap.warnings):
        watch = memo.watch_of(kept[0], target, os.environ)
        # The key is what the capture read, never the date: findings the date may change are kept with their day.
        dated = judged_by_date(report) and kernels_by_date(report_lock, kept[0].snapshot, os.environ)
        kept_day = _today() if dated else ""
        names = [n.name for n in dataclasses.fields(Finding)][:_FINDING_FIELDS]
        kept_found = [[*(getattr(f, n) for n in names), [[p.kind, p.path] for p in f.places]] for f in found]
        memo.save_answer(path, fact, watch, started_ns, {"drift": kept_found, "day": kept_day})
    return found


# A finding's fields the verify memo keeps, in order: a difference's (``Finding.line`` is a version 1 record's only),
# then its places, ``[KIND, PATH]`` each.
_FINDING_FIELDS = 8


def _kept_finding(row: object) -> bool:
    """Whether the memo's ``row`` is a finding as ``_verified`` keeps one; one kept before its places (its fields
    alone) is not, and the verify runs again."""
    from ..compare.verdict import PLACE_KINDS

    return (
        isinstance(row, list)
        and len(row) == _FINDING_FIELDS + 1
        and all(type(v) is str for v in row[:_FINDING_FIELDS])
        and isinstance(row[-1], list)
        and all(isinstance(p, list) and len(p) == 2 and p[0] in PLACE_KINDS and type(p[1]) is str for p in row[-1])
    )


def _today() -> str:
    from ..compat.target import current_date  # the one place the rules read the clock

    return current_date()


def kernels_by_date(lock: Snapshot, env: Snapshot, environ: Mapping[str, str]) -> bool:
    """``compat.kernels_by_date``: whether the judgement of the environment's kernels may read otherwise on a later
    day (loaded only where the report holds one)."""
    from ..compat import kernels_by_date as dated

    return dated(lock, env, environ)


def kernel_differences(lock: Snapshot, env: Snapshot, environ: Mapping[str, str]) -> list[Difference]:
    """``compat.kernel_differences``, loaded where verify finds something for it to judge (a GPU and a distribution's
    CUDA kernels): a run's verify judges the environment's kernels on this host's GPUs, as ``envsnap verify`` does."""
    from ..compat import kernel_differences as judge

    return judge(lock, env, environ)


def _lock_text(
    document: dict[str, Any], project: Any, use_cache: bool, snapshot: Snapshot | None = None
) -> tuple[str, str, str]:
    """The sealed lockfile text, digest and identity (``lockfile.identity_digest``) of a capture (its sealed
    ``document``) with the project's state taken now. A cached capture differs from the one the last run wrote
    only in its project (the commit): the text made from both is kept in the run cache under a key of the cached
    capture (its seal and its time) and the project's state, so an unchanged project costs no lock model,
    conversion or TOML of the whole lock (0.17 s of CPU here). ``snapshot``: the lock of ``document`` where there
    is one (a fresh capture)."""
    import hashlib
    import json

    from . import cache

    found = document.get("envsnap")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    sealed, created = meta.get("content_digest"), meta.get("created", "")
    name = ""
    if use_cache and isinstance(sealed, str) and sealed and isinstance(created, str):
        part = f"{cache.code_state()}\0{sealed}\0{created}\0{json.dumps(lockfile.to_dict(project), sort_keys=True)}"
        name = "locktext-" + hashlib.sha256(part.encode()).hexdigest()
        entry = cache.get(name)
        text, digest, identity = (entry.get(k) for k in ("text", "digest", "identity")) if entry else (None,) * 3
        # An entry kept before the identity was, or with an identity of another definition, is made again.
        current = entry is not None and entry.get("form") == lockfile.IDENTITY_FORM
        if current and isinstance(text, str) and isinstance(digest, str) and isinstance(identity, str) and identity:
            return text, digest, identity
    snapshot = snapshot or cache.lock_of(document)
    if snapshot is None:
        raise ValueError("the kept capture is not a valid lock")
    made = dataclasses.replace(snapshot, project=project)
    (text, digest), identity = lockfile.dumps_sealed(made), lockfile.identity_digest(lockfile.to_dict(made))
    if name:
        cache.put(name, {"text": text, "digest": digest, "identity": identity, "form": lockfile.IDENTITY_FORM})
    return text, digest, identity


def _capture(
    target: TargetEnvironment, interpreter: str, capture_path: Path | None, project: Any, use_cache: bool
) -> tuple[LockView, str, str, str]:
    """A capture of the target with the project's state taken now (``project``): what accounting reads of it,
    its sealed text, its digest and its identity. While nothing the last capture read changed, that capture, kept
    with the capture memo's key (``probes/memo.py``: every variable, the code, the machine's facts, and the stamps of
    every file and folder the capture read, as ``envsnap capture`` keeps a lock) with what accounting reads of
    it: no lock model is made (its text is from the run cache, ``_lock_text``)."""
    import time

    from .._defaults import capture_cache_path
    from ..probes import memo

    started_ns = time.time_ns()
    path = capture_cache_path("run", target.cache_identity(), memo.SUFFIX) if use_cache else None
    fact = memo.facts(["run", interpreter, target], os.environ) if path is not None else ""
    answer = memo.lookup_answer(path, fact)
    if isinstance(answer, dict) and isinstance(answer.get("document"), dict):
        view = LockView.from_json(answer.get("view"))
        try:
            if view is not None:
                return view, *_lock_text(answer["document"], project, use_cache)
        except ValueError:  # a kept document that is not a valid lock: captured afresh
            pass
    from ..probes.capture import capture  # not for a kept answer

    kept: list[Any] = []
    snapshot = capture(
        target.python,
        conda_prefix=target.conda_prefix,
        python_layer=target.python_layer,
        output=str(capture_path) if capture_path else None,
        kept=kept,
    )
    document = lockfile.sealed_document(snapshot)
    view = LockView.of(snapshot)
    if path is not None and kept and not any(w.startswith("nvidia") for w in snapshot.envsnap.warnings):
        watch = memo.watch_of(kept[0], target, os.environ)
        memo.save_answer(path, fact, watch, started_ns, {"document": document, "view": view.to_json()})
    return view, *_lock_text(document, project, use_cache, snapshot)


def _holds(path: Path, text: str) -> bool:
    """Whether the regular file at ``path`` holds exactly ``text`` (a run of an unchanged environment stores the
    same capture beside its record as the run before: writing it again cost the end of each run an fsync)."""
    import stat

    data = text.encode("utf-8")
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return False
            return fh.read(len(data) + 1) == data
    except OSError:
        return False


def build(
    prepared: Prepared,
    *,
    argv: Sequence[str],
    outcome: Outcome,
    gpus: Gpus,
    data: Sequence[Data],
    objects: set[str],
    reports: Sequence[PythonReport],
    processes: int,
    method: str,
    outputs: Sequence[str] = (),
    variables: Sequence[tuple[str, str | None]] = (),
) -> RunRecord:
    lock_path, text = prepared.lock_path, prepared.lock_text
    # The last run's capture, unchanged, is not written again.
    if prepared.captured and text and lock_path is not None and not _holds(lock_path, text):
        # Its folder was made before the command ran: one the command removed is not made again (exit 4, as for the
        # record itself, which would otherwise be written into it after all).
        lockfile.write_text(text, lock_path, make_folders=False)
    command, redacted = redacted_argv(argv)
    command, paths, inner = labelled_argv(command, prepared.ctx.redactor, outputs)
    unlabelled = tuple(f"{i}:{at}" for i, at, _ in home_named(command, paths, prepared.ctx.redactor))
    record = RunRecord(
        run=Meta(generator=f"envsnap {__version__}", created=outcome.started),
        command=Command(
            argv=command,
            cwd=prepared.ctx.cwd_rel,
            redacted=redacted,
            paths=paths,
            inner_paths=inner,
            unlabelled=unlabelled,
            variables=tuple(
                Variable(name, unset=True) if value is None else Variable(name, value) for name, value in variables
            ),
        ),
        result=outcome,
        gpus=gpus,
        environment=environment(
            prepared.lock,
            prepared.lock_path,
            prepared.ctx,
            prepared.target,
            prepared.captured,
            prepared.drift,
            prepared.lock_digest,
            prepared.lock_identity,
        ),
        code=prepared.code,
        loaded=loaded(
            objects,
            reports,
            prepared.lock,
            prepared.ctx,
            method=method,
            processes=processes,
            database=prepared.database,
            index=prepared.index,
            conda=prepared.conda,
            known=prepared.known,
            memo=prepared.owners,
            python=prepared.target.python or sys.executable,
        ),
        data=tuple(data),
    )
    prepared.owners.save()  # when this run looked up a file the memo did not hold
    return record
