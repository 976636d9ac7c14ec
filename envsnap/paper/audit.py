"""``envsnap audit``: how ready a lock or a bundle is to be an artifact, item by item, against the badges.

The badges are ACM's (Available: deposited where it stays, with metadata to cite it; Functional: documented,
complete, exercisable; Reusable: and identified, licensed, citable; Results Reproduced: and the run that made the
result is recorded). envsnap can check what a file holds, never what a reviewer will find: "ready" means every
item envsnap can check is there. Each item that is short names the command that fixes it.

The grade is the highest rung of a ladder each lock climbs with one command: recorded (a lock) -> pinned (every
package to a file by hash) -> bundled (every file present and hash-checked) -> Functional-ready -> Reusable-ready
-> Reproduced-ready. Available-ready (deposit metadata) is reported beside it."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .. import _leftovers, _readlimits, grammar, lockfile, sinks
from .._defaults import LOCK_NAME, NVML_HUNG
from .._frozen import frozen
from .._lazyre import LazyPattern
from ..artifacts.bundle import (
    INCOMPLETE,
    SUMS,
    Bundle,
    extract,
    is_archive,
    is_kept,
    known_sha256,
    pin_then_bundle,
    pinned_beside,
    refuse_broken_archive,
    unpack_beside,
)
from ..cudaneed import cuda_need
from ..errors import (
    BadBundleError,
    BundleError,
    BundleNotALockError,
    EnvsnapError,
    NotALockfileError,
    RebuildError,
    UnsafeInputError,
    UsageError,
)
from ..model import CondaPackage, Snapshot
from ..report import counted
from .citation import CFF, ZENODO
from .crate import NAME as CRATE
from .crate import file_id
from .metadata import CFF_NAME, ArtifactMeta, Author, MetadataError, from_cff

REPRODUCING = "REPRODUCING.md"
RUNS = "runs"
ZENODO_MAX_BYTES = 50 * 10**9  # Zenodo's default per-record limit
LADDER = ("recorded", "pinned", "bundled", "functional", "reusable", "reproduced")
BADGES = ("available", "functional", "reusable", "reproduced")
TITLES = {
    "recorded": "Recorded",
    "pinned": "Pinned",
    "bundled": "Bundled",
    "functional": "Functional-ready",
    "reusable": "Reusable-ready",
    "reproduced": "Reproduced-ready",
    "available": "Available-ready",
}


class AuditError(EnvsnapError):
    """What was named is neither a lock nor a bundle."""


@frozen
class Item:
    id: str
    rung: str  # the ladder rung (or "available") this item belongs to
    ok: bool
    detail: str
    remedy: str = ""
    graded: bool = True  # False: information only (the bundle's size)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rung": self.rung,
            "ok": self.ok,
            "detail": self.detail,
            "remedy": self.remedy,
            "graded": self.graded,
        }


@frozen
class Audit:
    subject: str
    kind: str  # lock | bundle
    items: tuple[Item, ...]
    level: str = field(init=False)

    def __post_init__(self) -> None:
        level = "recorded"
        for rung in LADDER[1:]:
            if all(i.ok for i in self.items if i.graded and i.rung in LADDER[1 : LADDER.index(rung) + 1]):
                level = rung
            else:
                break
        object.__setattr__(self, "level", level)

    def ready(self, badge: str) -> bool:
        if badge == "available":
            return all(i.ok for i in self.items if i.graded and i.rung == "available")
        return LADDER.index(self.level) >= LADDER.index(badge)

    def short_of(self, rung: str) -> list[Item]:
        """The items still missing for ``rung`` (a ladder rung or "available")."""
        if rung == "available":
            return [i for i in self.items if i.graded and i.rung == "available" and not i.ok]
        wanted = LADDER[1 : LADDER.index(rung) + 1]
        return [i for i in self.items if i.graded and i.rung in wanted and not i.ok]

    @property
    def grade(self) -> str:
        """The rung reached and what the next rung needs: ``Pinned reached; Bundled needs 1 item: files-bundled``
        (the top rung alone). The next rung, not the next badge: "Pinned, not Functional-ready: 3 items" skipped
        Bundled and counted the items of two rungs."""
        index = LADDER.index(self.level)
        if index == len(LADDER) - 1:
            return TITLES[self.level]
        following = LADDER[index + 1]
        short = [i.id for i in self.short_of(following)]
        count = f"{len(short)} item{'s' if len(short) != 1 else ''}"
        return f"{TITLES[self.level]} reached; {TITLES[following]} needs {count}: {_some(short)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "kind": self.kind,
            "grade": self.grade,
            "level": self.level,
            "badges": {b: self.ready(b) for b in BADGES},
            "items": [i.to_dict() for i in self.items],
        }


@contextmanager
def _opened(path: Path) -> Iterator[tuple[str, Snapshot, Bundle | None, str]]:
    """(kind, lock, bundle, the error of a bundle's lock edited after bundling: its seal, "" when intact). A file
    named as an archive is a bundle when the lock loader refuses it as one (gzip or tar data), so a lock named
    ``x.tar.gz`` is graded as the lock it is, as every other command reads it."""
    if path.is_file() and is_archive(path):
        try:
            named_so = lockfile.load(path)
        except BundleNotALockError:
            pass
        except NotALockfileError as exc:
            refuse_broken_archive(path, exc)  # neither a lock nor an archive: the bundle reader's words
            raise
        else:
            yield "lock", named_so, None, ""
            return
    if path.is_dir() or is_archive(path):
        # Held as envsnap's: an archive's copy a killed audit left is one `envsnap clean` removes.
        with _leftovers.held_dir(Path(tempfile.gettempdir()), "bundle") as tmp:
            # Unpacked safely but not yet checked: an altered bundle is graded (files-bundled names what
            # differs), not refused; its lock too, when only its seal fails.
            bundle = extract(path, tmp / "bundle") if is_archive(path) else Bundle(path)
            seal = bundle.unsealed_lock()
            yield "bundle", bundle.lock, bundle, seal
        return
    if not path.exists():
        raise UsageError(f"{path}: no such lock or bundle")
    yield "lock", lockfile.load(path), None, ""


def audit(path: str | os.PathLike[str], *, completing: bool = False) -> Audit:
    """Grade the lock or bundle (directory or archive) at ``path``. What is neither (a folder without a lock, an
    archive that does not unpack) is bad input: ``AuditError``, exit code 2."""
    if not os.fspath(path):  # Path("") is ".", the working directory: "not an envsnap bundle"
        from .._readlimits import empty_path

        raise AuditError(empty_path("lock or bundle"))
    where = Path(path)
    try:
        with _opened(where) as (kind, lock, bundle, seal):
            return Audit(str(where), kind, tuple(_items(lock, bundle, str(where), completing, seal)))
    except BundleError as exc:
        raise AuditError(str(exc)) from None


def _items(
    lock: Snapshot, bundle: Bundle | None, where: str, completing: bool = False, seal: str = ""
) -> Iterator[Item]:
    # Every remedy is a command line that runs as pasted: paths shell-quoted (``shell_shown``: a reviewer's folder
    # whose name holds a newline is bash's $'...\x0a...', where shell_word refused it); an archive is unpacked first,
    # into the folder it holds (the one its first member names, whatever the archive is called now), since a bundle is
    # completed (or made an artifact) as a directory.
    folder = where
    prefix = ""
    if bundle is not None and is_archive(where):
        unpack, folder = unpack_beside(where)
        prefix = f"{unpack} && "
    lock_arg = sinks.shell_shown([where if bundle is None else f"{folder}/envsnap.lock"])
    out = "BUNDLE_DIR" if bundle is None else sinks.shell_shown([folder])
    if bundle is not None and not (bundle.root / SUMS).is_file():
        # `bundle` refuses to fill a folder without SHA256SUMS (any folder holding a lock, a project's too, would
        # look like one), so the bundle is made again beside it, from its lock.
        out = sinks.shell_shown([f"{folder}-complete"])
    bundle_to = f"-o {out}"
    again = artifact_again(bundle, folder)
    if again:
        # Bundled again without --artifact, an artifact's README and appendix lost it and its RO-Crate no longer
        # described the bundle: every remedy that bundles it makes the same artifact again.
        bundle_to = f"{bundle_to} {again}"
    bundle_cmd = f"{prefix}envsnap bundle {lock_arg} {bundle_to}"
    if again:
        artifact_cmd = bundle_cmd
    else:
        artifact_cmd = f"{bundle_cmd} {project_facts(where if bundle is None else f'{folder}/{LOCK_NAME}')}"
    # A bundle's lock is pinned beside it (``pin`` does not rewrite it in place, which left the bundle failing its
    # SHA256SUMS), and the bundle made again from that.
    pinned_to = "" if bundle is None else sinks.shell_shown([pinned_beside(folder)])
    pin, source = pin_then_bundle(lock_arg, pinned_to)
    pip = lock.pip_layer()
    unpinned = [p.name for p in pip if p.artifact is None or not p.artifact.sha256]
    yield Item(
        "python-pinned",
        "pinned",
        not unpinned,
        f"{len(pip) - len(unpinned)} of {len(pip)} Python packages pinned to a file by sha256"
        + (f" (not: {_some(unpinned)})" if unpinned else ""),
        "" if not unpinned else f"{prefix}{pin}" + (f" && envsnap bundle {source} {bundle_to}" if pinned_to else ""),
    )
    # A lock edited after capture is refused by `bundle` too: bundling it again needs the lock as captured.
    again_from = (
        bundle_cmd.replace(f"envsnap bundle {lock_arg} ", "envsnap bundle CAPTURED.lock ", 1)
        + " (CAPTURED.lock: the lock as captured; this bundle's was edited after it)"
        if seal
        else bundle_cmd
    )
    bundled = _bundled(lock, bundle, again_from, completing, seal, folder=folder, prefix=prefix)
    yield bundled
    yield _system(lock, bundle, prefix, lock_arg, bundle_to, pinned_to)
    yield _base_image(lock, bundle, bundle_cmd)
    yield _gpu(lock)

    def has(name: str) -> bool:
        return bundle is not None and (bundle.root / name).is_file()

    yield Item(
        "documented",
        "functional",
        has(REPRODUCING),
        f"{REPRODUCING} tells a reviewer what to run" if has(REPRODUCING) else f"no {REPRODUCING}",
        "" if has(REPRODUCING) else artifact_cmd,
    )
    crate = read_crate(bundle)
    meta_ok = has(CFF) and crate is not None and _crate_license(crate)
    # A CITATION.cff that does not load, or lacks what CFF requires, cites nothing: it passed when present.
    unfit = _cff_unfit(bundle.root / CFF) if meta_ok and bundle is not None else ""
    stale = _crate_stale(bundle, crate) if meta_ok and not unfit and bundle is not None else ""
    yield Item(
        "citable",
        "reusable",
        meta_ok and not unfit and not stale,
        (
            unfit
            or (
                f"the RO-Crate no longer describes the bundle ({stale}): the bundle changed after --artifact"
                if stale
                else ""
            )
            or "licence and citation metadata (CITATION.cff, RO-Crate) present"
        )
        if meta_ok
        else "no licence and citation metadata (CITATION.cff, ro-crate-metadata.json with a licence)",
        "" if meta_ok and not unfit and not stale else artifact_cmd,
    )
    yield _code(lock, crate, artifact_cmd)
    agrees = _agreement(lock, bundle, crate, artifact_cmd)
    if agrees is not None:
        yield agrees
    yield _run(bundle, folder, prefix, lock_arg, artifact_cmd, archive=bool(prefix))
    deposit = has(ZENODO) and has(CFF)
    if deposit and agrees is not None and not agrees.ok:
        # Deposited as it is, the archive would publish metadata that says two things (one file edited, with
        # SHA256SUMS written again to match): which is the author's, no hash can tell.
        found = f"{ZENODO} and {CFF} present, but the artifact's metadata disagrees (metadata-agrees)"
        remedy = agrees.remedy
    elif deposit and not bundled.ok:
        # Deposited as it is, the archive would publish a bundle that fails its own SHA256SUMS (an altered file,
        # an interrupted run): not ready, whatever its metadata.
        found = f"{ZENODO} and {CFF} present, but the bundle is not intact (files-bundled): not ready to deposit"
        remedy = bundled.remedy
    elif deposit:
        found, remedy = f"{ZENODO} and {CFF} ready for an archival deposit (Zenodo gives the DOI)", ""
    else:
        found = f"no deposit metadata ({ZENODO}, {CFF})"
        remedy = f"{artifact_cmd}; then deposit the folder in an archive that issues DOIs (Zenodo reads .zenodo.json)"
    agreed = agrees is None or agrees.ok
    yield Item("deposit-metadata", "available", deposit and bundled.ok and agreed, found, remedy)
    if bundle is not None:
        size = sum(
            p.stat().st_size
            for p in bundle.root.rglob("*")
            if p.is_file() and not p.is_symlink() and not is_kept(p.relative_to(bundle.root).as_posix())
        )
        yield Item(
            "size",
            "available",
            size <= ZENODO_MAX_BYTES,
            f"bundle size {_size(size)}" + ("" if size <= ZENODO_MAX_BYTES else " (above Zenodo's 50 GB per record)"),
            "" if size <= ZENODO_MAX_BYTES else "split the deposit or ask the archive for a quota",
            graded=False,
        )


_PLACEHOLDERS = "--artifact --title TITLE --author 'Name <ORCID>' --license SPDX --doi PAPER_DOI"


def project_facts(lock: str) -> str:
    """The ``--artifact`` options the remedy's ``bundle`` needs, run where the audit runs: ``bundle`` takes each fact
    the command line does not give from the project's CITATION.cff (the work tree around the working directory,
    else the lock's folder, as it finds the project), so only what that file lacks is a placeholder, and the
    remedy says where the rest comes from. It asked for every fact whatever the file gave."""
    from ..probes.project import project_root

    project = project_root(None, lock)
    cff = project / CFF_NAME if project is not None else None
    if cff is None or not cff.is_file():
        return f"{_PLACEHOLDERS} (or a CITATION.cff in the project for the facts)"
    try:
        meta = from_cff(cff)
    except MetadataError as exc:
        # bundle --artifact reads it whatever the options give, and refuses it: the file is fixed first.
        return f"{_PLACEHOLDERS} (the project's {CFF_NAME}, which bundle reads, cannot be read: fix it: {_cut(exc)})"
    words = ["--artifact"]
    words += [] if meta.title else ["--title", "TITLE"]
    words += [] if meta.authors else ["--author", "'Name <ORCID>'"]
    words += [] if meta.license else ["--license", "SPDX"]
    words += [] if meta.doi else ["--doi", "PAPER_DOI"]
    facts = (("title", meta.title), ("authors", meta.authors), ("licence", meta.license), ("DOI", meta.doi))
    given = [name for name, value in facts if value]
    said = f" (the {_joined(given)} come from {sinks.shell_shown([str(cff)])})" if given else ""
    return " ".join(words) + said


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def artifact_again(bundle: Bundle | None, folder: str) -> str:
    """The options that make this bundle's artifact again, each a shell word: ``--artifact``, the facts of its own
    CITATION.cff (placeholders where it holds none or cannot be read) and a ``--run`` for each record in ``runs/``
    (under ``folder``, the bundle as the command names it); "" for a bundle that is no artifact. Every command that
    bundles an artifact again gives them (the audit's remedies, REPRODUCING.md's): without them ``bundle`` rewrote
    the README and appendix without the artifact, and its RO-Crate no longer described the bundle."""
    if bundle is None:
        return ""
    root = bundle.root
    runs = sorted(
        p.name
        for p in (root / RUNS).glob("*.toml")
        if grammar.is_base_name(p.name) and p.is_file() and not p.is_symlink() and _loads(p)
    )
    if not runs and not any((root / name).is_file() for name in (REPRODUCING, CFF, ZENODO, CRATE)):
        return ""
    try:
        meta = from_cff(root / CFF, artifact=True) if (root / CFF).is_file() else ArtifactMeta()
    except MetadataError:
        meta = ArtifactMeta()  # an unreadable CITATION.cff: graded elsewhere, its facts left to fill in
    if not (meta.title or meta.authors or meta.license):
        options = _PLACEHOLDERS
    else:
        # A value from the file is joined to its option (``--title=-x``): after a space, one that starts with "-"
        # (a title "-x", an author "-Collective") was read as an option, and the pasted command refused.
        words = ["--artifact", f"--title={sinks.shell_word(meta.title)}" if meta.title else "--title TITLE"]
        words += [f"--author={sinks.shell_word(_author_arg(author))}" for author in meta.authors]
        words += [] if meta.authors else ["--author", "'Name <ORCID>'"]
        words += [f"--license={sinks.shell_word(meta.license)}" if meta.license else "--license SPDX"]
        words += [f"--doi={sinks.shell_word(meta.doi)}"] if meta.doi else []
        options = " ".join(words)
    return " ".join([options, *(f"--run {sinks.shell_shown([f'{folder}/{RUNS}/{name}'])}" for name in runs)])


CFF_REQUIRED = ("cff-version", "message", "title", "authors")


def _cff_unfit(path: Path) -> str:
    """Why the CITATION.cff at ``path`` cites nothing, in one line: it does not load (bounded, untrusted YAML, its
    facts checked as ``bundle --artifact`` checks them), or it lacks a field the CFF schema requires; "" when fit."""
    try:
        from_cff(path, artifact=True)
        raw = _readlimits.load_yaml(
            _readlimits.read_text(path, error=MetadataError, what=CFF), origin=str(path), error=MetadataError
        )
    except MetadataError as exc:
        # The file is named once, not by its path: an archive's is a temporary folder, gone after the audit.
        return f"{CFF} cannot be read: {_cut(exc).removeprefix(f'{path}: ').splitlines()[0]}"
    fields = raw if isinstance(raw, dict) else {}
    missing = [name for name in CFF_REQUIRED if fields.get(name) in (None, "", [])]
    return f"{CFF} lacks what CFF requires: {', '.join(missing)}" if missing else ""


def _loads(path: Path) -> bool:
    """Whether the record at ``path`` loads: one that does not (cut short, edited) is given as no ``--run``, which
    ``bundle`` refuses; it names it as the bundle's kept record (and run-recorded's remedy removes it)."""
    from ..runs import record as run_record

    try:
        run_record.load(path)
    except EnvsnapError:
        return False
    return True


def _author_arg(author: Author) -> str:
    """``--author``'s value that gives this author again: a name with a suffix as "Family, Suffix, Given" (in
    "Given Family, Suffix" the suffix would be read as the given name), with the ORCID iD."""
    parts = author.given_parts
    name = author.name
    if parts is not None and parts.suffix and parts.given:
        name = f"{parts.family_with_particle}, {parts.suffix}, {parts.given}"
    return f"{name} <{author.orcid}>" if author.orcid else name


def _bundled(
    lock: Snapshot,
    bundle: Bundle | None,
    remedy: str,
    completing: bool = False,
    seal: str = "",
    *,
    folder: str = "",
    prefix: str = "",
) -> Item:
    if bundle is None:
        return Item("files-bundled", "bundled", False, "a lock alone: no file is bundled", remedy)
    try:
        bundle.verify_sums(completing=completing)
        if seal:  # edited after bundling, with SHA256SUMS written again to match it
            raise BundleError(seal)
        for pkg in bundle.lock.pip_layer():
            if pkg.artifact is not None and pkg.artifact.filename.endswith(".whl"):
                bundle.check_wheel(pkg)
        conda = bundle.lock.conda.packages if bundle.lock.conda is not None else ()
        for record in conda:
            _check_conda_archive(bundle, record)
    except BundleError as exc:
        if isinstance(exc, BadBundleError) and exc.odd:
            # Bundling the folder again keeps a link or special file: the remedy removes it (SHA256SUMS and the
            # crate list none), or the next audit is short the same way.
            remedy = f"{prefix}rm -- {sinks.shell_shown([f'{folder}/{exc.odd}'])}"
        return Item("files-bundled", "bundled", False, f"not intact: {exc}", remedy)
    archives = f", {counted(len(conda), 'conda archive')}" if conda else ""
    wheels = counted(len(bundle.lock.pip_layer()), "wheel")
    return Item(
        "files-bundled",
        "bundled",
        True,
        f"every file present and matching SHA256SUMS; {wheels}{archives}, matching the lock",
    )


def _check_conda_archive(bundle: Bundle, pkg: CondaPackage) -> None:
    """The bundle's archive of ``pkg`` is the one its lock pins, as the wheels are checked: a file replaced with
    SHA256SUMS written again passed the audit, and `rebuild --target conda --bundle` then refused it (exit 4)."""
    from ..artifacts.conda import CONDA_DIR, archive_name, check_archive

    try:
        rel = f"{CONDA_DIR}/{archive_name(pkg)}"
    except (RebuildError, UnsafeInputError) as exc:
        raise BadBundleError(f"{bundle.shown(LOCK_NAME)}: {exc}") from None
    path = bundle.root / rel
    if not path.is_file():
        raise BadBundleError(f"{bundle.shown(rel)}: missing (the lock's conda package {pkg.name} {pkg.version})")
    if pkg.sha256:  # the digest SHA256SUMS was checked with, known already
        actual = known_sha256(path)
        if actual != pkg.sha256:
            raise BadBundleError(
                f"{bundle.shown(rel)}: hash mismatch: sha256 {actual}, the lock says {pkg.sha256} (the file was "
                "changed after bundling)"
            )
        return
    try:
        check_archive(pkg, path)  # md5 alone (an explicit file's import)
    except RebuildError as exc:
        raise BadBundleError(f"{bundle.shown(rel)}: {exc}") from None


@frozen
class SystemPackages:
    """The system packages a bundle's Python packages need, and whether the bundle carries them: the one answer the
    audit's ``system-packages`` item and REPRODUCING.md's offline sentence both read (it said "everything below
    works offline" of a bundle whose container build still fetched them from the apt mirror)."""

    needed: tuple[str, ...]
    unpinned: tuple[str, ...]  # of the needed: not pinned by hash
    carried: bool  # every needed one is in ``debs/``
    # The others an offline container build installs and the bundle does not carry: the interpreter's own, where
    # the base image has no Python (the rebuild's rule, ``rebuild.docker.offline_uncarried``).
    interpreter: tuple[str, ...] = ()
    # Of the needed: left out of ``debs/`` because the bundle's saved base image holds them at the locked revision.
    in_base: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (not self.needed or (not self.unpinned and self.carried)) and not self.interpreter

    def offline_gap(self) -> str:
        """Why a container rebuild of the bundle still installs system packages from the apt mirror, said for a
        reader; "" when the bundle carries what the container build installs (the ``system-packages`` item is ok)."""
        if self.ok:
            return ""
        if not self.needed or (not self.unpinned and self.carried):
            return (
                f"the base image has no Python, and this folder holds no .deb files for the "
                f"{len(self.interpreter)} packages of the interpreter the container build installs "
                f"({_some(list(self.interpreter))})"
            )
        count = len(self.needed)
        names = _some(list(self.needed))
        what = f"the {count} system package{'s' if count != 1 else ''} the Python packages need ({names})"
        if self.unpinned:
            which = "" if len(self.unpinned) == count else f" ({len(self.unpinned)} of them)"
            return f"{what} {'are' if count != 1 else 'is'} not pinned by hash{which} nor carried as .deb files"
        return f"this folder holds no .deb files for {what}"


def system_packages(lock: Snapshot, bundle: Bundle | None) -> SystemPackages:
    needed = [p for p in lock.system.packages if p.needed_by]
    unpinned = [p.name for p in needed if not getattr(p, "sha256", "")]
    debs = bundle.root / "debs" if bundle is not None else None
    interpreter: tuple[str, ...] = ()
    in_base: set[str] = set()
    if bundle is not None:
        from ..rebuild.docker import carries_system_packages, offline_from_base, offline_uncarried

        names = {p.name for p in needed}
        interpreter = tuple(n for n in offline_uncarried(bundle.lock, bundle.root) if n not in names)
        # Those the saved base image holds at the locked revision were left out of debs/ on purpose: the offline
        # rebuild takes them from that image (the rebuild's rule, ``rebuild.docker.offline_from_base``).
        # (A record of that base with no debs/: every one was left to it, and the empty folder lost in a copy.)
        in_base = set(offline_from_base(bundle.lock, bundle.root)) if carries_system_packages(bundle.root) else set()
    carried = debs is not None and all(
        p.name in in_base or (debs / str(getattr(p, "filename", ""))).is_file() for p in needed
    )
    held = tuple(p.name for p in needed if p.name in in_base)
    return SystemPackages(tuple(p.name for p in needed), tuple(unpinned), carried, interpreter, held)


def carry_remedy(
    lock: Snapshot, bundle: Bundle | None, state: SystemPackages, lock_arg: str, bundle_to: str, pinned_to: str = ""
) -> str:
    """The commands that make the bundle carry what ``state`` finds missing, for the base image the rebuild uses
    (the bundle's saved one): pin and bundle choose the interpreter's packages from that base, as the rebuild does
    (``dockerfile.spec.carry_commands``, the plan's ``network`` line's remedy; ``bundle_to``, ``pinned_to``: its
    ``-o`` with the options after it, and where a bundle's lock is pinned to). REPRODUCING.md says the same."""
    from ..dockerfile.spec import carry_commands
    from ..rebuild.docker import bundled_base

    base = bundled_base(bundle.root, lock) if bundle is not None else ""
    needed = (*state.needed, *state.interpreter)
    return carry_commands(lock, needed, base, lock_arg, bundle_to, pinned_to=pinned_to)


def _system(lock: Snapshot, bundle: Bundle | None, prefix: str, lock_arg: str, bundle_to: str, pinned_to: str) -> Item:
    state = system_packages(lock, bundle)
    needed, unpinned = state.needed, list(state.unpinned)
    remedy = f"{prefix}{carry_remedy(lock, bundle, state, lock_arg, bundle_to, pinned_to)}"
    if state.interpreter and (not needed or (not unpinned and state.carried)):
        return Item(
            "system-packages",
            "functional",
            False,
            f"the base image has no Python: the container build installs {len(state.interpreter)} packages of the "
            f"interpreter ({_some(list(state.interpreter))}), and the bundle carries no .deb file of them (an offline "
            "build takes them from the apt mirror)",
            remedy,
        )
    if not needed:
        return Item("system-packages", "functional", True, "no system package is needed by the Python packages")
    if unpinned:
        return Item(
            "system-packages",
            "functional",
            False,
            f"{len(unpinned)} of {len(needed)} needed system packages not pinned by hash ({_some(unpinned)})",
            remedy,
        )
    carried = state.carried
    return Item(
        "system-packages",
        "functional",
        carried,
        f"{len(needed)} needed system packages pinned"
        + (" and bundled" if carried else ", not bundled")
        + (
            f" ({len(state.in_base)} of them in the saved base image at the locked revision: "
            f"{_some(list(state.in_base))})"
            if carried and state.in_base
            else ""
        ),
        "" if carried else remedy,
    )


def _base_image(lock: Snapshot, bundle: Bundle | None, bundle_cmd: str) -> Item:
    if lock.conda is not None and lock.conda.packages:
        # The docker target refuses a conda environment (its image's is a venv): a saved base image rebuilds
        # nothing of it, and `--with-base-image` only pulled and saved one; the conda target needs none.
        return Item(
            "base-image",
            "functional",
            True,
            "a conda environment: rebuilt by the conda target from its conda packages, with no base image (the "
            "docker target rebuilds pip environments only)",
        )
    saved = bundle is not None and any(bundle.images_dir.glob("*.tar"))
    return Item(
        "base-image",
        "functional",
        saved,
        "the docker target's base image is saved in the bundle"
        if saved
        else "no base image saved (a tag can move or vanish from its registry)",
        "" if saved else f"{bundle_cmd} --with-base-image",
    )


def _gpu(lock: Snapshot) -> Item:
    cuda = lock.cuda
    # The judgement check and show make (CUDA runtime wheels with no framework are a CUDA lock too); a system
    # toolkit nothing in the environment uses is not.
    need = cuda_need(lock)
    if need is None:
        return Item("gpu-stack", "functional", True, "CPU-only environment: no GPU stack to record")
    missing = []
    recorded = ["driver", "CUDA", "cuDNN", "compute capabilities"]
    remedy = "run envsnap capture on the GPU machine the results came from"
    if lock.nvidia is None or not lock.nvidia.driver_version:
        error = lock.nvidia.error if lock.nvidia is not None else ""
        missing.append(f"driver (it did not answer at capture: {error})" if error else "driver")
        if error:
            # A capture on the same machine records the same failure: the driver is to be made to answer first.
            remedy = f"make the NVIDIA driver answer (`nvidia-smi` shows what fails), then {remedy}"
            if error.startswith(NVML_HUNG):
                remedy += "; a driver slow to start rather than hung may need envsnap capture --gpu-timeout SECONDS"
    framework = any(fw.cuda_version for fw in lock.frameworks.values())
    if framework or (cuda is not None and cuda.runtime_version):
        if cuda is None or not cuda.runtime_version:
            missing.append("CUDA runtime")
        # A framework built for CUDA loads cuDNN, which a capture selects; without one a capture records the cuDNN
        # a binary of the environment loads, and none where nothing does.
        if framework and (cuda is None or not cuda.cudnn_version):
            missing.append("cuDNN")
        if cuda is None or not cuda.cudnn_version:
            recorded.remove("cuDNN")
    else:
        # No framework built for CUDA preloads the environment's CUDA wheels (or conda packages) and no binary
        # loads them: a capture selects no runtime and no cuDNN (the code decides which it loads), and records
        # every copy with its version. Those copies are what such a lock can record.
        # CUDA library wheels without a runtime (``pip install nvidia-cublas-cu12``) record those wheels' copies.
        # Copies a binary of the environment loads from the system or the toolkit (a system libcudnn.so.9) are
        # recorded as loaded (selected), with the CUDA the system package or toolkit names, if any.
        wanted = ("cublas", "cudnn", "nccl") if need.library else ("runtime",)
        own = [c for c in (cuda.copies if cuda is not None else ()) if c.component in wanted and c.version]
        own = [c for c in own if c.source in ("pip", "conda") or (need.library and c.selected)]
        if not own:
            missing.append("CUDA runtime")
        elif not need.version:
            missing.append(f"the CUDA {need.evidence} are built for")
            remedy = (
                "install them from packages that name their CUDA (NVIDIA's libcudnn9-cuda-12 or libnccl2 "
                f"+cudaX.Y packages, or nvidia-cudnn-cu12 wheels), then {remedy}"
            )
        kind = (
            "wheels"
            if all(c.source == "pip" for c in own)
            else "packages"
            if all(c.source in ("pip", "conda") for c in own)
            else "copies"
        )
        cudnn = ["cuDNN"] if cuda is not None and cuda.cudnn_version and not need.library else []
        what = "CUDA library" if need.library else "CUDA runtime"
        recorded[1:3] = [f"{what} {kind} " + ", ".join(f"{c.location} {c.version}" for c in own), *cudnn]
    if not lock.hardware.gpus or not all(g.compute_capability for g in lock.hardware.gpus):
        missing.append("GPUs and their compute capability")
    return Item(
        "gpu-stack",
        "functional",
        not missing,
        f"GPU stack not recorded: {', '.join(missing)}" if missing else f"GPU stack recorded ({', '.join(recorded)})",
        "" if not missing else remedy,
    )


def _code(lock: Snapshot, crate: dict[str, Any] | None, artifact_cmd: str) -> Item:
    project = lock.project
    if project is None or not project.commit:
        return Item(
            "code-identified",
            "reusable",
            False,
            "the lock records no git commit of the project",
            "capture inside the project's git work tree (envsnap capture)",
        )
    if project.dirty:
        return Item(
            "code-identified",
            "reusable",
            False,
            f"commit {project.commit[:12]} had uncommitted changes when captured",
            "commit the changes, then envsnap capture again",
        )
    swhid = _crate_swhid(crate)
    if not swhid:
        return Item(
            "code-identified",
            "reusable",
            False,
            f"commit {project.commit[:12]} (clean), no Software Heritage identifier",
            f"{artifact_cmd}; it computes the SWHID",
        )
    return Item("code-identified", "reusable", True, f"commit {project.commit[:12]} (clean), {swhid}")


def _run(
    bundle: Bundle | None, folder: str, prefix: str, lock_arg: str, artifact_cmd: str, *, archive: bool = False
) -> Item:
    remedy = (
        f"{prefix}envsnap run --lock {lock_arg} --data DATA --output OUT -o RUN.toml -- COMMAND, then "
        + artifact_cmd.removeprefix(prefix).replace(" --artifact ", " --artifact --run RUN.toml ", 1)
    )
    records = sorted((bundle.root / RUNS).glob("*.toml")) if bundle is not None else []
    if not records:
        # Said of what was named: a lock alone has no bundle to hold a record ("no run record in the bundle" read as
        # if there were one).
        if bundle is None:
            found = "a lock alone holds no run record (a bundle made with --run does)"
        else:
            where = "the archive's bundle" if archive else "the bundle"
            found = f"no run record in {where} (its {RUNS}/ folder)"
        return Item("run-recorded", "reproduced", False, found, remedy)
    from ..runs import record as run_record

    fingerprinted = 0
    failed: list[tuple[str, str]] = []  # (record, how its command ended) of each run that did not complete
    for path in records:
        odd = _not_a_file(path)
        if odd:
            # Not followed: a link may lead to any file of the reader's (a stranger's bundle), which would be read
            # and graded as the bundle's record. files-bundled refuses it too; removing it is the whole remedy
            # (SHA256SUMS and the crate list no link).
            return Item(
                "run-recorded",
                "reproduced",
                False,
                f"{path.name}: {odd} in {RUNS}/, not read (a bundle holds only files)",
                f"{prefix}rm -- {sinks.shell_shown([f'{folder}/{RUNS}/{path.name}'])}",
            )
        try:
            rec = run_record.load(path)
        except EnvsnapError as exc:
            # bundle refuses to make the folder again while it holds it (a record it would keep, unread): removed
            # first, the artifact made again without it (artifact_cmd gives no --run for it).
            again = artifact_cmd.removeprefix(prefix)
            return Item(
                "run-recorded",
                "reproduced",
                False,
                f"{path.name}: {bundle.reworded(f'{RUNS}/{path.name}', str(exc)) if bundle else exc}",
                f"{prefix}rm {'-r ' if path.is_dir() else ''}-- {sinks.shell_shown([f'{folder}/{RUNS}/{path.name}'])} "
                f"&& {again}",
            )
        named = rec.environment.lock_digest
        why = rec.environment.other_lock(bundle.lock, rec.code) if bundle is not None else ""
        if why:
            # rerun would say "environment: differs" for every reader: the run used another lock than this one.
            return Item(
                "run-recorded",
                "reproduced",
                False,
                f"{path.name}: the run used another lock ({named[:19]}) than the bundle's (nor that lock pinned; "
                f"{why})",
                "record the run with the lock this bundle was made from (envsnap run --lock LOCK), then bundle again",
            )
        if not rec.result.completed():
            failed.append((path.name, rec.result.shown()))
        fingerprinted += bool(rec.inputs()) and all(d.method == "sha256" for d in rec.data)
    if failed:
        # A command that failed or was stopped left no result to reproduce. Bundling again keeps a record in runs/
        # (and the artifact's own command names it with --run): it is removed first, and a run that completes asked.
        name, how = failed[0]
        gone = [f"{folder}/{RUNS}/{n}" for n, _ in failed]
        again = remedy.removeprefix(prefix)
        for word in gone:
            again = again.replace(f" --run {sinks.shell_shown([word])}", "")
        return Item(
            "run-recorded",
            "reproduced",
            False,
            f"{name}: its command did not complete ({how}): no result to reproduce"
            + (f" (and {len(failed) - 1} more record(s))" if len(failed) > 1 else ""),
            f"{prefix}rm -- {sinks.shell_shown(gone)} && {again}",
        )
    ok = fingerprinted == len(records)
    return Item(
        "run-recorded",
        "reproduced",
        ok,
        f"{len(records)} run record(s), data fingerprinted by sha256"
        if ok
        else f"{len(records) - fingerprinted} run record(s) without sha256 data fingerprints",
        "" if ok else remedy.replace("--data DATA", "--data DATA (without --data-fast)"),
    )


_MAX_DISAGREEMENTS = 20


def _agreement(lock: Snapshot, bundle: Bundle | None, crate: dict[str, Any] | None, artifact_cmd: str) -> Item | None:
    """Whether what an artifact states in more than one place says one thing: the RO-Crate, CITATION.cff and
    .zenodo.json against each other (title, licence, authors and their ORCID iDs, the paper's DOI, version, date,
    the code's SWHID) and against the lock they describe (its content digest, its commit). Each file is hashed in
    SHA256SUMS, but whoever edits one can write the sums again: only the files' agreement shows the edit. None for
    what is no artifact (none of the three files)."""
    if bundle is None or not any((bundle.root / name).is_file() for name in (CRATE, CFF, ZENODO)):
        return None
    lines = _disagreements(lock, bundle, crate)
    if not lines:
        return Item(
            "metadata-agrees",
            "reusable",
            True,
            f"{CRATE}, {CFF} and {ZENODO} agree with each other and with {LOCK_NAME} (title, licence, authors, "
            "DOI, version, lock digest, code)",
        )
    if len(lines) > _MAX_DISAGREEMENTS:
        lines[_MAX_DISAGREEMENTS:] = [f"and {len(lines) - _MAX_DISAGREEMENTS} more"]
    return Item(
        "metadata-agrees",
        "reusable",
        False,
        "\n".join(lines),
        f"{artifact_cmd}; it writes every file again from the facts it gives: check them first (a file edited "
        "after --artifact is not as its author wrote it)",
    )


def _disagreements(lock: Snapshot, bundle: Bundle, crate: dict[str, Any] | None) -> list[str]:
    """One line per field two of the artifact's files (or a file and the lock) state differently, naming both:
    the crate and .zenodo.json each against CITATION.cff, and each against the lock. A file that is missing states
    nothing; one that cannot be read is said so."""
    root = bundle.root
    lines: list[str] = []
    stated = {LOCK_NAME: _lock_facts(lock)}
    if (root / CFF).is_file():
        try:
            stated[CFF] = _cff_facts(root / CFF)
        except MetadataError as exc:
            lines.append(f"{CFF}: cannot be read, so nothing in it is compared ({_cut(exc)})")
    if crate is not None:
        stated[CRATE], stated[_ENVIRONMENT] = _crate_facts(crate)
    if (root / ZENODO).is_file():
        try:
            stated[ZENODO] = _zenodo_facts(_readlimits.read_json(root / ZENODO, error=AuditError, what=ZENODO))
        except AuditError as exc:
            lines.append(f"{ZENODO}: cannot be read, so nothing in it is compared ({_cut(exc)})")

    def differ(field: str, first: str, second: str, key: str = "") -> None:
        a, b = stated.get(first, {}).get(key or field), stated.get(second, {}).get(key or field)
        if a is not None and b is not None and a != b:
            lines.append(f"{field}: {first} says {_value(a)}, {second} says {_value(b)}")

    for other in (CRATE, ZENODO):
        differ("title", other, CFF)
        differ("licence", other, CFF, "licence" if other == CRATE else "first licence")
        lines.extend(_authors(stated.get(other, {}).get("authors"), stated.get(CFF, {}).get("authors"), other))
        differ("DOI", other, CFF, "DOI URL" if other == CRATE else "DOI")
        differ("version", other, CFF)
        if lock.envsnap.created:  # else the crate is dated the day it was made, and the others not at all
            differ("date", other, CFF)
        differ("SWHID", other, CFF)
        differ("lock digest", other, CFF)
    for other in (CRATE, _ENVIRONMENT, CFF, ZENODO):
        # A file that names no digest claims nothing of the lock (one the files name alike, or not, is above).
        if stated.get(other, {}).get("lock digest"):
            differ("lock digest", other, LOCK_NAME)
    differ("commit", CRATE, LOCK_NAME)
    return lines


_ENVIRONMENT = f"{CRATE} (#environment)"
_ZENODO_DIGEST = LazyPattern(r"envsnap\.lock content digest: <code>([^<]{1,200})</code>")
_SPDX = "https://spdx.org/licenses/"
_ORCID = "https://orcid.org/"


def _lock_facts(lock: Snapshot) -> dict[str, Any]:
    commit = lock.project.commit if lock.project is not None else ""
    return {"lock digest": lock.envsnap.content_digest, "commit": commit or None}


def _cff_facts(path: Path) -> dict[str, Any]:
    """What the artifact's CITATION.cff states (``MetadataError`` where it cannot be read)."""
    from .metadata import license_choices

    meta = from_cff(path, artifact=True)
    raw = _readlimits.load_yaml(
        _readlimits.read_text(path, error=MetadataError, what=CFF), origin=str(path), error=MetadataError
    )
    listed = raw.get("identifiers") if isinstance(raw, dict) else None
    identifiers = [i for i in listed if isinstance(i, dict)] if isinstance(listed, list) else []

    def identifier(kind: str) -> str:
        return next((str(i.get("value", "")) for i in identifiers if i.get("type") == kind), "")

    released = raw.get("date-released") if isinstance(raw, dict) else None
    choices = license_choices(meta.license) if meta.license else []
    return {
        "title": meta.title,
        "licence": " OR ".join(choices),
        "first licence": choices[0] if choices else "",
        "authors": [(a.name, _name_key(a), _zenodo_name(a), a.orcid) for a in meta.authors],
        "DOI": meta.doi,
        "DOI URL": meta.doi_url,
        "version": meta.version,
        "date": str(released)[:10] if released else "",
        "lock digest": identifier("other"),
        "SWHID": identifier("swh"),
    }


def _crate_facts(crate: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the crate's root dataset states, and what its ``#environment`` states (the lock digest)."""
    graph = {str(e.get("@id")): e for e in _entities(crate)}
    top = graph.get("./", {})
    people = []
    for ref in _refs(top.get("author")):
        entity = graph.get(ref, {})
        name = _text(entity.get("name"))
        orcid = ref.removeprefix(_ORCID) if ref.startswith(_ORCID) else ""
        people.append((name, _name_key(Author(name, entity=entity.get("@type") == "Organization")), None, orcid))
    licences = [unquote(ref.removeprefix(_SPDX)) if ref.startswith(_SPDX) else ref for ref in _refs(top.get("license"))]
    swhid = _crate_swhid(crate)
    citation = _refs(top.get("citation"))
    environment = graph.get("#environment", {})
    return (
        {
            "title": _text(top.get("name")),
            "licence": " OR ".join(licences),
            "authors": people,
            "DOI URL": citation[0] if citation else "",
            "version": _text(top.get("version")),
            "date": _text(top.get("datePublished"))[:10],
            "lock digest": _text(top.get("identifier")),
            "SWHID": swhid,
            "commit": _text(graph[swhid].get("version")) if swhid else None,
        },
        {"lock digest": _text(environment.get("softwareVersion", environment.get("identifier")))},
    )


def _zenodo_facts(doc: Any) -> dict[str, Any]:
    from html import unescape

    if not isinstance(doc, dict):
        return {}
    related = [r for r in _list(doc.get("related_identifiers")) if isinstance(r, dict)]
    creators = [c for c in _list(doc.get("creators")) if isinstance(c, dict)]
    described = _ZENODO_DIGEST.search(_text(doc.get("description")))

    def related_as(relation: str) -> str:
        return next((_text(r.get("identifier")) for r in related if r.get("relation") == relation), "")

    return {
        "title": _text(doc.get("title")),
        "first licence": _text(doc.get("license")),
        "authors": [("", None, _text(c.get("name")), _text(c.get("orcid"))) for c in creators],
        "DOI": related_as("isSupplementTo"),
        "version": _text(doc.get("version")),
        "date": _text(doc.get("publication_date"))[:10],
        "lock digest": unescape(described[1]) if described else "",
        "SWHID": related_as("isDerivedFrom"),
    }


def _authors(these: Any, cff: Any, other: str) -> list[str]:
    """The authors ``other`` (the crate, .zenodo.json) lists against CITATION.cff's, in order: how many, each
    one's ORCID iD, each one's name (the crate's as written or as its parts; .zenodo.json's "Family, Given")."""
    if these is None or cff is None:
        return []
    if len(these) != len(cff):
        return [f"authors: {other} lists {len(these)}, {CFF} lists {len(cff)}"]
    lines = []
    for n, ((name, key, zenodo_name, orcid), (cff_name, cff_key, cff_zenodo, cff_orcid)) in enumerate(
        zip(these, cff, strict=True), start=1
    ):
        if orcid != cff_orcid:
            lines.append(f"authors[{n}] ORCID iD: {other} says {_value(orcid)}, {CFF} says {_value(cff_orcid)}")
        if key is not None and name != cff_name and key != cff_key:
            lines.append(f"authors[{n}] name: {other} says {_value(name)}, {CFF} says {_value(cff_name)}")
        if zenodo_name is not None and zenodo_name != cff_zenodo:
            lines.append(f"authors[{n}] name: {other} says {_value(zenodo_name)}, {CFF} says {_value(cff_name)}")
    return lines


def _name_key(author: Author) -> tuple[str, str, str]:
    """A name as its parts (family with particle, given, suffix); one not split, as itself: "King, Jr., Martin
    Luther" as typed is the CITATION.cff's "Martin Luther King, Jr."."""
    parts = author.parts
    return (parts.family_with_particle, parts.given, parts.suffix) if parts.family else ("", author.name, "")


def _zenodo_name(author: Author) -> str:
    """The name as ``citation.zenodo`` writes it for this author."""
    family, given = author.family_given
    return ", ".join(x for x in (family, given) if x) if family else author.name


def _refs(value: Any) -> list[str]:
    """The ``@id``s a JSON-LD property refers to (one reference or a list of them)."""
    values = value if isinstance(value, list) else [value]
    return [v["@id"] for v in values if isinstance(v, dict) and isinstance(v.get("@id"), str)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _value(value: Any) -> str:
    return grammar.shown(value or "(none)", 120)


def _cut(exc: Exception) -> str:
    return grammar.strip_terminal(str(exc))[:200]


def _not_a_file(path: Path) -> str:
    """What ``path`` is where it is no regular file nor folder, without following it: "a link", "a special file";
    "" otherwise (a folder is said by the record loader, which reads nothing of it)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return ""  # gone meanwhile: the loader says so
    if stat.S_ISLNK(mode):
        return "a link"
    return "" if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "a special file"


def read_crate(bundle: Bundle | None) -> dict[str, Any] | None:
    """The bundle's RO-Crate, read bounded as untrusted JSON; None where it is missing or not a crate."""
    if bundle is None or not (bundle.root / CRATE).is_file():
        return None
    try:
        data = _readlimits.read_json(bundle.root / CRATE, error=AuditError, what=CRATE)
    except AuditError:
        return None  # graded, not refused: not citable (and files-bundled names the altered file)
    return data if isinstance(data, dict) and isinstance(data.get("@graph"), list) else None


def _entities(crate: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [e for e in (crate or {}).get("@graph", []) if isinstance(e, dict)]


def _crate_stale(bundle: Bundle, crate: dict[str, Any] | None) -> str:
    """The first file of the bundle the crate lists with another sha256, or does not list, or the first file it
    lists that the bundle no longer holds; "" when it matches."""
    listed = {str(e.get("@id")): e.get("sha256") for e in _entities(crate) if e.get("@type") == "File"}
    present = set()
    for path in sorted(bundle.root.rglob("*")):
        rel = path.relative_to(bundle.root).as_posix()
        if rel in (SUMS, CRATE, INCOMPLETE) or is_kept(rel) or not path.is_file() or path.is_symlink():
            continue
        ref = file_id(rel)
        present.add(ref)
        if ref not in listed:
            return f"{rel} is not in it"
        try:
            digest = known_sha256(path)
        except OSError as exc:  # a file kept private to its author: files-bundled says so too
            return f"{rel} cannot be read ({exc.strerror or exc})"
        if listed[ref] != digest:
            return f"{rel} differs"
    gone = sorted(set(listed) - present)
    return f"{grammar.strip_terminal(unquote(gone[0]))[:200]} is gone, which it lists" if gone else ""


def _crate_license(crate: dict[str, Any]) -> bool:
    return any(
        e.get("@id") == "./" and isinstance(e.get("license"), (dict, list)) and bool(e["license"])
        for e in _entities(crate)
    )


def _crate_swhid(crate: dict[str, Any] | None) -> str:
    for entity in _entities(crate):
        if entity.get("@type") == "SoftwareSourceCode" and str(entity.get("@id", "")).startswith("swh:1:dir:"):
            return str(entity["@id"])
    return ""


def _some(names: list[str], limit: int = 3) -> str:
    from ..report import first_few

    return first_few(names, limit)


def _size(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"


__all__ = ["BADGES", "CFF_NAME", "LADDER", "Audit", "AuditError", "Item", "audit"]
