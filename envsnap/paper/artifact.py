"""``envsnap bundle --artifact``: make a bundle a research artifact that archives, cites and grades itself.

Added to a finished bundle directory, in this order (each file written beside and renamed into place, and
``SHA256SUMS`` rewritten last, so an interrupted run leaves a bundle that ``verify_sums`` refuses rather than one
that lies): the run records (``runs/``, validated), ``REPRODUCING.md``, ``CITATION.cff``, ``.zenodo.json``, the
appendix again with the DOI, the SWHID and the audit's grade, and ``ro-crate-metadata.json`` over every file."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import _templates, grammar, interchange, sinks
from .._defaults import LOCK_NAME
from .._frozen import frozen
from .._fs import atomic_write_bytes, atomic_write_text, join_relative, source_date_epoch
from ..artifacts.appendix import ArtifactFacts, RunHomeText, RunVariable, RunVariables, render_latex, render_markdown
from ..artifacts.bundle import INCOMPLETE, SUMS, Bundle, is_kept, known_sha256, pinned_beside
from ..compat.rules.driver import minor_compat_floor, required_driver
from ..errors import BundleError, EnvsnapError
from ..interchange import editable_folders
from ..model import Snapshot
from ..platforms import major_minor
from ..progress import Progress
from . import audit as auditing
from . import citation, crate
from .metadata import ArtifactMeta, MetadataError, license_choices
from .swhid import CodeIdentity, SwhidError, identify

# Rough rates for REPRODUCING.md's time estimate (said there as an estimate, with its basis).
INSTALL_BYTES_PER_S = 100 << 20


@frozen
class ArtifactResult:
    grade: str
    code: CodeIdentity | None
    notes: tuple[str, ...]


def require_complete(meta: ArtifactMeta) -> None:
    """Bad input (exit 2), before anything is fetched: a citable artifact needs a title, an author, a licence."""
    missing = meta.missing()
    if missing:
        flags = ", ".join(f"--{m}" for m in missing)
        raise MetadataError(f"--artifact needs {', '.join(missing)}: pass {flags} or put a CITATION.cff in the project")
    license_choices(meta.license)


def add_artifact(
    root: Path,
    meta: ArtifactMeta,
    *,
    project: Path | None = None,
    runs: Sequence[Path] = (),
    progress: Progress | None = None,
) -> ArtifactResult:
    say = progress or (lambda _line: None)
    require_complete(meta)
    bundle = Bundle(root)
    # Incomplete until the last SHA256SUMS: an interrupted run leaves a bundle every reader refuses (the state
    # between the two passes was consistent and said "(being graded)") and that the next run completes.
    (root / INCOMPLETE).touch()
    lock = bundle.lock
    notes: list[str] = []
    code = _code(lock, project, notes, kept=_kept_code(bundle, lock))
    run_facts = [_copy_run(bundle, path) for path in runs]
    run_facts += _kept_runs(bundle, run_facts)
    code_facts = _code_facts(code, lock)
    say("writing REPRODUCING.md, CITATION.cff, .zenodo.json")
    atomic_write_text(
        root / auditing.REPRODUCING, _reproducing(bundle, meta, run_facts, grade="(being graded)", code=code)
    )
    atomic_write_text(root / citation.CFF, citation.cff(meta, lock, code=code_facts))
    atomic_write_text(root / citation.ZENODO, citation.zenodo_text(citation.zenodo(meta, lock, code=code_facts)))
    _write_crate(bundle, meta, code_facts, run_facts)
    bundle.write_sums()
    # The grade of the bundle as it now stands goes into REPRODUCING.md and the appendix; neither changes it.
    graded = auditing.audit(root, completing=True)  # said once, by the caller (bundle's ``artifact:`` line)
    dirty = bool(code_facts and code_facts.get("dirty"))
    atomic_write_text(
        root / auditing.REPRODUCING,
        _reproducing(bundle, meta, run_facts, grade=graded.grade, audit=graded, code=code, dirty=dirty),
    )
    from ..runs.summary import home_text_words

    facts = ArtifactFacts(
        doi_url=meta.doi_url,
        swhid=code.directory if code else "",
        commit=code.commit if code else "",
        dirty=dirty,
        diff_digest=code_facts.get("diff_digest", "") if code_facts else "",
        grade=graded.grade,
        home_text=tuple(
            RunHomeText(r["record"], r["home_note"], home_text_words(r["home_text"]))
            for r in run_facts
            if r["home_text"]
        ),
        variables=tuple(RunVariables(r["record"], r["variable_words"]) for r in run_facts if r.get("variable_words")),
    )
    for files in (render_markdown(lock, facts), render_latex(lock, facts)):
        for name, data in files.items():
            atomic_write_bytes(root / name, data)
    _write_crate(bundle, meta, code_facts, run_facts)
    bundle.write_sums()
    (root / INCOMPLETE).unlink(missing_ok=True)
    return ArtifactResult(graded.grade, code, tuple(notes))


def _code_facts(code: CodeIdentity | None, lock: Snapshot) -> dict[str, str] | None:
    """The code's identifiers as CITATION.cff, .zenodo.json, the crate and the appendix name them; with ``dirty``
    (``"true"``) and the lock's ``diff_digest`` where the lock was captured with uncommitted changes to that commit,
    which the identifiers do not hold (each file then says it is not the exact code)."""
    if code is None:
        return None
    facts = {"directory": code.directory, "revision": code.revision, "commit": code.commit}
    project = lock.project
    if project is not None and project.dirty and project.commit == code.commit:
        facts["dirty"] = "true"
        if project.diff_digest:
            facts["diff_digest"] = project.diff_digest
    return facts


def _code(
    lock: Snapshot, project: Path | None, notes: list[str], *, kept: CodeIdentity | None = None
) -> CodeIdentity | None:
    """The SWHIDs of the lock's commit, computed in ``project``; where that cannot be done (the audit's remedy is
    run in the artifact's own folder, in no work tree), ``kept``: the ones the bundle's crate records for it."""
    commit = lock.project.commit if lock.project is not None else ""
    if project is None or not commit:
        reason = (
            "the lock records no git commit of the project"
            if not commit
            else "no project directory (--project) to read the commit from"
        )
    else:
        try:
            return identify(project, commit)
        except SwhidError as exc:
            reason = str(exc)
    if kept is not None:
        notes.append(f"kept {kept.directory}, which the bundle's RO-Crate records for commit {kept.commit[:12]}")
        return kept
    notes.append(f"no SWHID: {reason}")
    return None


def _kept_code(bundle: Bundle, lock: Snapshot) -> CodeIdentity | None:
    """The code's SWHIDs an earlier ``--artifact`` run wrote into the bundle's crate, for the very commit the lock
    records (``swh:1:rev:`` is that commit): read as untrusted input, each identifier checked for its form."""
    commit = lock.project.commit if lock.project is not None else ""
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    crate_data = auditing.read_crate(bundle)
    for entity in (crate_data or {}).get("@graph", []):
        if not isinstance(entity, dict) or entity.get("@type") != "SoftwareSourceCode":
            continue
        directory, ids = entity.get("@id"), entity.get("identifier")
        if (
            isinstance(directory, str)
            and re.fullmatch(r"swh:1:dir:[0-9a-f]{40}", directory)
            and entity.get("version") == commit
            and isinstance(ids, list)
            and directory in ids
            and f"swh:1:rev:{commit}" in ids
        ):
            return CodeIdentity(directory, f"swh:1:rev:{commit}", commit, "kept")
    return None


def appendix_facts(bundle: Bundle) -> tuple[ArtifactFacts | None, list[str]]:
    """What the bundle's own appendix adds as an artifact (``add_artifact``'s ``ArtifactFacts``), read back from
    the files of a checked bundle, as untrusted input, each fact checked for its form and nothing recomputed (the
    SWHID needs the project, the grade the whole audit): the paper's DOI from the RO-Crate's ``citation``, the code's
    SWHID and commit from its ``SoftwareSourceCode``, the grade from REPRODUCING.md, the variables and home text of
    each run record in ``runs/`` (validated), in the order the crate describes them. None for a bundle that is no
    artifact (no crate); with it, the facts that could not be read (the appendix would lack them)."""
    if not (bundle.root / crate.NAME).is_file():
        return None, []
    data = auditing.read_crate(bundle)
    if data is None:
        return None, [f"{crate.NAME} is unreadable"]
    lock = bundle.lock
    entities = [e for e in data["@graph"] if isinstance(e, dict)]
    root = next((e for e in entities if e.get("@id") == "./"), {})
    unread: list[str] = []
    doi_url = ""
    cited = root.get("citation")
    if cited is not None:
        doi_url = _doi_url(cited.get("@id") if isinstance(cited, dict) else None)
        if not doi_url:
            unread.append("the paper's DOI")
    code = _kept_code(bundle, lock)
    if code is None and any(e.get("@type") == "SoftwareSourceCode" for e in entities):
        unread.append("the code's SWHID")
    grade = _kept_grade(bundle.root / auditing.REPRODUCING)
    if not grade:
        unread.append("the audit grade")
    # The order the bundle described its runs in (its crate's CreateActions), which its appendix lists them in.
    order = [
        str(e["subjectOf"].get("@id"))
        for e in entities
        if e.get("@type") == "CreateAction" and isinstance(e.get("subjectOf"), dict)
    ]
    folder = bundle.root / auditing.RUNS
    paths = [p for p in sorted(folder.glob("*.toml")) if not p.is_symlink()] if folder.is_dir() else []
    ids = {p: crate.file_id(f"{auditing.RUNS}/{p.name}") for p in paths}
    paths.sort(key=lambda p: order.index(ids[p]) if ids[p] in order else len(order))
    run_facts = [_run_facts(check_run(path)[0], path.name) for path in paths]
    from ..runs.summary import home_text_words

    code_facts = _code_facts(code, lock)
    facts = ArtifactFacts(
        doi_url=doi_url,
        swhid=code.directory if code else "",
        commit=code.commit if code else "",
        dirty=bool(code_facts and code_facts.get("dirty")),
        diff_digest=code_facts.get("diff_digest", "") if code_facts else "",
        grade=grade,
        home_text=tuple(
            RunHomeText(r["record"], r["home_note"], home_text_words(r["home_text"]))
            for r in run_facts
            if r["home_text"]
        ),
        variables=tuple(RunVariables(r["record"], r["variable_words"]) for r in run_facts if r.get("variable_words")),
    )
    return facts, unread


def _doi_url(url: object) -> str:
    """The crate's ``citation`` when it is a DOI's resolver URL as ``ArtifactMeta.doi_url`` writes it; else ""."""
    from urllib.parse import unquote

    from .metadata import parse_doi

    prefix = "https://doi.org/"
    if not isinstance(url, str) or not url.startswith(prefix) or len(url) > 1000:
        return ""
    try:
        doi = parse_doi(unquote(url.removeprefix(prefix)))
    except MetadataError:
        return ""
    written = ArtifactMeta(doi=doi).doi_url
    return written if written == url else ""


_GRADE_LINE = re.compile(r"^Readiness as `envsnap audit \.` grades it: \*\*([^*\n]{1,200})\*\*\.$", re.MULTILINE)


def _kept_grade(path: Path) -> str:
    """The grade REPRODUCING.md states, where it is one ``Audit.grade`` can be; else ""."""
    from .. import _readlimits

    if not path.is_file() or path.is_symlink():
        return ""
    try:
        text = _readlimits.read_text(path, error=BundleError, what=auditing.REPRODUCING)
    except BundleError:
        return ""
    match = _GRADE_LINE.search(text)
    titles = "|".join(re.escape(t) for t in auditing.TITLES.values())
    ids = r"[a-z-]+(?:, [a-z-]+)*(?: and [1-9][0-9]{0,3} more)?"
    if match is None or not re.fullmatch(
        rf"(?:{titles})(?: reached; (?:{titles}) needs [1-9][0-9]{{0,3}} items?: {ids})?", match[1]
    ):
        return ""
    return match[1]


def check_run(
    path: Path, lock: Snapshot | None = None, *, kept: bool = False, lock_arg: str = "LOCK"
) -> tuple[Any, str]:
    """A ``--run`` record, loaded (bounded, validated, seal checked: untrusted input) and its name in ``runs/``;
    called before anything is fetched, so a bad record is exit 2 with nothing made. With ``lock`` (the lock being
    bundled), a record of a run that used another lock is refused too: the bundle's ``rerun`` of it would say
    "environment: differs" to every reader, and the audit fails it (``run-recorded``). ``kept``: a record the
    bundle holds from an earlier ``--artifact`` run, named so. ``lock_arg``: that lock as the user gave it, one
    shell word, which the remedy's ``envsnap run --lock`` names (the placeholder ``LOCK`` where none is known)."""
    from .. import lockfile
    from ..runs import record as run_record

    if not path.is_file() and not kept:
        if path.is_dir():  # a record is one file (``envsnap run`` writes one a run): said, not "no such"
            raise MetadataError(
                f"--run {grammar.shown(str(path))}: a folder, not a run record: name the record's file in it "
                "(envsnap run writes one .toml file a run)"
            )
        raise MetadataError(f"--run {grammar.shown(str(path))}: no such run record")
    try:
        rec = run_record.load(path)
    except EnvsnapError as exc:
        if not kept:
            raise
        # Not given with --run: the record an earlier --artifact run left, which no longer loads (cut short,
        # edited). Said as the bundle's, with what makes the folder bundle again.
        raise MetadataError(
            f"{exc} (a run record kept in the bundle from an earlier --artifact run): remove it, or put back the "
            "record as envsnap run wrote it, or make the bundle in a new folder"
        ) from None
    name = path.name if path.name.endswith(".toml") else path.name + ".toml"
    if not grammar.is_base_name(name):
        raise MetadataError(
            f"--run {grammar.shown(path.name)}: a bundle holds plain file names (no hidden or "
            "control characters): rename the record"
        )
    used = rec.environment.lock_digest
    # This lock, or it pinned (pin, bundle: the record's lock identity, docs/runrecord.md), is the run's lock.
    why = rec.environment.other_lock(lock, rec.code) if lock is not None else ""
    if lock is not None and why:
        digest = lock.envsnap.content_digest or lockfile.seal(lock).envsnap.content_digest
        # ``kept``: a record an earlier --artifact run put in the bundle, described again as a --run one is.
        what = f"{auditing.RUNS}/{name} (in the bundle, from an earlier --artifact run)"
        raise MetadataError(
            f"{what if kept else '--run ' + grammar.shown(path.name)}: the run used another lock "
            f"({used[:19]}...) than this one ({digest[:19]}...; {why}): record the run with this lock (envsnap "
            f"run --lock {lock_arg} -- COMMAND), or bundle the lock it used or one envsnap pin made of it"
            f"{', or make the bundle in a new folder' if kept else ''}"
        )
    return rec, name


def check_runs(records: Sequence[Path], lock: Snapshot, output: Path, lock_arg: str = "LOCK") -> None:
    """Every ``--run`` record, before anything is fetched or written (exit 2, nothing made or changed): each valid
    and of ``lock`` (``check_run``), no two of one name, and none named as another record the bundle at ``output``
    already holds in ``runs/`` (an earlier ``--artifact`` run's, kept and described: copying over it failed once
    the bundle was pinned and written, exit 4, and left the bundle marked incomplete). ``lock_arg``: the lock as the
    user gave it, one shell word, which a remedy names."""
    from ..errors import UsageError

    named: dict[str, Path] = {}
    for record in records:
        _, name = check_run(record, lock, lock_arg=lock_arg)
        earlier = named.setdefault(name, record.resolve())
        if earlier != record.resolve():
            # Two records of one name in runs/: it failed after every wheel was fetched, a half-made bundle left.
            raise UsageError(f"--run {record}: another record given is named {name} too ({earlier}): rename one")
        if _held_otherwise(output / auditing.RUNS, name, record) is not None:
            raise UsageError(
                f"--run {grammar.shown(str(record), 300)}: the bundle already holds another record named "
                f"{auditing.RUNS}/{name} (kept from an earlier --artifact run, and still described): rename the "
                "record, or make the bundle in a new folder"
            )
    # The records an earlier --artifact run left in runs/ stay described (``_kept_runs``): each must be of this
    # lock too, or REPRODUCING.md told the reviewer to rerun a run whose environment differs.
    folder = output / auditing.RUNS
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
        if path.name not in named and not path.is_symlink():
            check_run(path, lock, kept=True, lock_arg=lock_arg)


def _held_otherwise(folder: Path, name: str, path: Path) -> Path | None:
    """The record ``name`` in the bundle's ``runs/`` (``folder``) where it holds other bytes than ``path``."""
    if not folder.is_dir():
        return None
    target = join_relative(folder, name, "run record")
    if target.exists() and (target.stat().st_size != path.stat().st_size or target.read_bytes() != path.read_bytes()):
        return target
    return None


def _copy_run(bundle: Bundle, path: Path) -> dict[str, Any]:
    """A run record into ``runs/`` (loaded first: a record is untrusted input, refused when invalid)."""
    rec, name = check_run(path)
    folder = bundle.root / auditing.RUNS
    folder.mkdir(exist_ok=True)
    target = join_relative(folder, name, "run record")
    if _held_otherwise(folder, name, path) is not None:  # ``check_runs`` refused it already, but for a race
        raise BundleError(f"{target}: another run record of that name is already in the bundle")
    atomic_write_bytes(target, path.read_bytes())
    return _run_facts(rec, name)


def _kept_runs(bundle: Bundle, given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records an earlier ``--artifact`` run put in ``runs/`` and this one did not name: still described
    (re-running on an artifact bundle kept the file but dropped its CreateAction and its rerun line)."""
    named = {r["record"] for r in given}
    kept = []
    folder = bundle.root / auditing.RUNS
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
        if f"{auditing.RUNS}/{path.name}" not in named and not path.is_symlink():
            kept.append(_run_facts(check_run(path)[0], path.name))
    return kept


def _run_facts(rec: Any, name: str) -> dict[str, Any]:
    from ..runs.record import command_shown, unlabelled_text
    from ..runs.summary import home_text_note

    # Where the command still names the author's home or project as text (``command.unlabelled``), as ``show``
    # flags it: REPRODUCING.md and the appendix say so, or a reviewer reruns a command naming a folder of the
    # author's machine unwarned.
    home = unlabelled_text(rec.command)
    code = getattr(rec, "code", None)  # a record made outside a git work tree has none
    return {
        "home_text": home,
        "home_note": home_text_note(len(home)) if home else "",
        "id": f"#run-{rec.run.content_digest.removeprefix('sha256:')[:16] or name}",
        "record": f"{auditing.RUNS}/{name}",
        # Words kept apart, control characters escaped, a path under the home one the shell expands.
        "command": command_shown(rec.command),
        # The commit the run's code was at, which rerun compares the reviewer's checkout with: it need not be the
        # lock's (a run recorded after the capture's commit), which the appendix and the SWHID name.
        "commit": code.commit if code is not None else "",
        "dirty": code is not None and code.dirty,
        "start": rec.result.started,
        "end": rec.result.ended,
        "status": rec.result.exit_status,
        "data": [(d.path, d.digest) for d in rec.inputs()],
        "outputs": [(d.path, d.digest) for d in rec.outputs()],
        # ``run --env``: what the command had set (or unset), which rerun sets again; a reader running the command
        # by hand needs them too, as the shell lines that give them to a command run after (an assignment alone is
        # not exported).
        "variables": [
            f"unset {v.name}" if v.unset else f"export {sinks.shell_assignment(v.name, v.value)}"
            for v in rec.command.variables
        ],
        # The same for the crate, as recorded: (name, value), or (name, None) for one unset.
        "env": [(v.name, None if v.unset else v.value) for v in rec.command.variables],
        # The same for the appendix, as data: its templates say an unset one is unset in their own words.
        "variable_words": tuple(
            RunVariable(v.name, unset=True) if v.unset else RunVariable(v.name, sinks.shell_assignment(v.name, v.value))
            for v in rec.command.variables
        ),
    }


def _write_crate(bundle: Bundle, meta: ArtifactMeta, code: dict[str, str] | None, runs: list[dict[str, Any]]) -> None:
    files: dict[str, tuple[str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(bundle.root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(bundle.root).as_posix()
            if rel in (SUMS, crate.NAME, INCOMPLETE) or is_kept(rel) or path.is_symlink():
                continue
            files[rel] = (known_sha256(path), path.stat().st_size)
    doc = crate.build(bundle.lock, files, meta, code=code, runs=runs, today=_today())
    atomic_write_text(bundle.root / crate.NAME, crate.dumps(doc))


def _today() -> str:
    """The day the artifact is made (UTC), or the day of ``SOURCE_DATE_EPOCH`` where a build sets it (the same
    crate each time; the command line refused a bad value before anything was made)."""
    import datetime

    epoch = source_date_epoch()
    if epoch is None:
        return datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).date().isoformat()


def _reproducing(
    bundle: Bundle,
    meta: ArtifactMeta,
    runs: list[dict[str, Any]],
    *,
    grade: str,
    audit: auditing.Audit | None = None,
    code: CodeIdentity | None = None,
    dirty: bool = False,
) -> str:
    """REPRODUCING.md; ``code``: the project's commit and SWHID, which the reviewer needs beside the environment
    (``dirty``: the lock was captured with uncommitted changes to it)."""
    from ..runs.summary import MAX_NAMED

    lock = bundle.lock
    commit = code.commit if code is not None else (lock.project.commit if lock.project is not None else "")
    p = lock.platform
    platform = " ".join(x for x in (p.os_name or f"{p.os_id} {p.os_version}".strip(), p.machine) if x)
    if p.libc:
        platform += f", {p.libc} {p.libc_version} or newer"
    gpus = lock.hardware.gpus
    cuda = lock.cuda.runtime_version if lock.cuda is not None else ""
    gpu = ""
    if cuda:
        caps = sorted({g.compute_capability for g in gpus if g.compute_capability})
        names = sorted({g.name for g in gpus if g.name})
        gpu = (
            f"an NVIDIA GPU the CUDA {cuda} build supports (captured on {', '.join(names) or 'an unrecorded GPU'}"
            + (f", compute capability {', '.join(caps)}" if caps else "")
            + ")"
        )
    floor = minor_compat_floor(major_minor(cuda)) if cuda else ""
    full = required_driver(major_minor(cuda)) if cuda else ""
    driver = (
        (
            f"{floor} or newer (CUDA minor-version compatibility; {full} for full support)"
            if floor and full
            else (full or floor or "one that supports the recorded CUDA version")
        )
        if cuda
        else ""
    )
    size = sum(
        f.stat().st_size
        for f in bundle.root.rglob("*")
        if f.is_file() and not f.is_symlink() and not is_kept(f.relative_to(bundle.root).as_posix())
    )
    wheels = sum(f.stat().st_size for f in bundle.wheels_dir.glob("*.whl")) if bundle.wheels_dir.is_dir() else 0
    unpacked = wheels * 3  # wheels are zip files; installed files are typically about 2-4 times their size
    seconds = max(5, round(unpacked / INSTALL_BYTES_PER_S + 0.05 * len(lock.pip_layer())))
    badges = _badge_rows(audit)
    with sinks.refusing(BundleError, auditing.REPRODUCING):
        system = auditing.system_packages(lock, bundle)
        return _templates.render(
            "paper/REPRODUCING.md.j2",
            venv_seeds=interchange.venv_seeds_not_locked(lock),
            title=meta.title,
            doi_url=meta.doi_url,
            digest=lock.envsnap.content_digest,
            platform=platform or "not recorded",
            python=f"{lock.python.implementation} {lock.python.version}".strip(),
            gpu=gpu,
            driver=driver,
            disk=_mb(size),
            unpacked=_mb(unpacked),
            seconds=seconds,
            packages=len(lock.pip_layer()),
            rate=INSTALL_BYTES_PER_S >> 20,
            conda=lock.conda is not None and bool(lock.conda.packages),
            images=bundle.images_dir.is_dir() and any(bundle.images_dir.glob("*.tar")),
            # What the container build still fetches, by the audit's own rule (its system-packages item).
            docker_gap=system.offline_gap(),
            # ... and the commands that carry it, for the saved base image (its remedy: pin and bundle name that base).
            # Run in this folder, an artifact: bundled again with its own --artifact options, as the audit's remedy.
            docker_remedy=auditing.carry_remedy(
                lock,
                bundle,
                system,
                LOCK_NAME,
                f"-o . {auditing.artifact_again(bundle, '.')}".rstrip(),
                sinks.shell_shown([pinned_beside(".")]),
            ),
            runs=[{"record": r["record"], "commit": r.get("commit", ""), "dirty": bool(r.get("dirty"))} for r in runs],
            editable=editable_folders(lock),
            variables=[{"record": r["record"], "shown": r["variables"]} for r in runs if r.get("variables")],
            home_text=[
                {
                    "record": r["record"],
                    "note": r["home_note"],
                    "places": r["home_text"][:MAX_NAMED],
                    "more": max(0, len(r["home_text"]) - MAX_NAMED),
                }
                for r in runs
                if r.get("home_text")
            ],
            grade=grade,
            badges=badges,
            commit=commit,
            swhid=code.directory if code is not None else "",
            dirty=dirty,
        )


def _badge_rows(audit: auditing.Audit | None) -> list[dict[str, str]]:
    needs = {
        "available": "deposited in an archive that issues DOIs; deposit metadata (.zenodo.json, CITATION.cff)",
        "functional": "every package pinned and bundled with its hash, system packages and base image saved, "
        "the GPU stack recorded, REPRODUCING.md",
        "reusable": "Functional, plus a licence, citation metadata and the code identified (clean commit, SWHID)",
        "reproduced": "Reusable, plus a run record with sha256 data fingerprints",
    }
    commands = {"reproduced": "envsnap rerun"}
    rows = []
    for badge in auditing.BADGES:
        if audit is None:
            state = "(being graded)"
        elif audit.ready(badge):
            state = "ready"
        else:
            short = audit.short_of(badge)
            state = "missing: " + ", ".join(i.id for i in short)
        rows.append(
            {
                "name": auditing.TITLES[badge].removesuffix("-ready"),
                "needs": needs[badge],
                "command": commands.get(badge, ""),
                "state": state,
            }
        )
    return rows


def _mb(size: int) -> str:
    """A size as REPRODUCING.md gives it: GB, MB, and under 1 MB kB (a bundle of one small wheel read "about 0.0 MB
    more", a size that read as nothing)."""
    if size >= 1e9:
        return f"{size / 1e9:.1f} GB"
    if size >= 1e6:
        return f"{size / 1e6:.1f} MB"
    return f"{max(1, round(size / 1e3)) if size else 0} kB"
