"""Importers: make an envsnap lock from files people already have (pylock.toml, requirements.txt with
hashes, conda explicit files, conda-lock.yml, envsnap's own JSON). See ``interface.py``."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from types import MappingProxyType

from .. import _locktext, _readlimits, lockfile
from .._plugins import Registry
from .._privacy import PathRedactor, is_secret_name, scrub_package, scrub_text, scrub_value
from ..errors import LockfileError, LockImportError
from ..model import PythonPackage, Snapshot
from ..probes.conda import clean_url
from .interface import Importer, ImportOptions, work_tree

# Every format, by its --from name, in the order ``--from auto`` tries them (see ``_plugins``).
REGISTRY: Registry[Importer] = Registry(
    Importer,
    __name__,
    (
        "conda_explicit:IMPORTER",
        "conda_lock:IMPORTER",
        "json_lock:IMPORTER",
        "pylock:IMPORTER",
        "requirements:IMPORTER",
    ),
    what="import format",
    unknown=LockImportError,
)


def importers() -> dict[str, Importer]:
    """Every available importer by format name."""
    return dict(REGISTRY)


_PIPE_INSTEAD = "; to import what a command writes, pipe it into standard input: pip freeze | envsnap import -"


_ENVIRONMENT_YML_HINT = (
    "; an environment.yml names packages, not their files (no URL, no hash): import a conda-lock.yml (conda-lock "
    "lock -f environment.yml, or envsnap export -f conda-lock) or an explicit file (conda list --explicit --md5) "
    "instead"
)


def _environment_yml_hint(path: Path | None, text: str) -> str:
    """What to import in place of an environment.yml: a conda-lock.yml or an explicit file; where its ``pip:`` section
    installs a project editable (``-e ./mylib``), which ``conda-lock lock`` leaves out of the lock with only a
    warning of its own (and locks a package of that name another one needs from the index), the line that has
    conda-lock lock the project's folder, or a capture of the installed environment, which records it editable."""
    from ..grammar import shown
    from .conda_lock import editable_lines, left_out, locked_instead

    lines = editable_lines(text, str(path) if path is not None else "-")
    if not lines:
        return _ENVIRONMENT_YML_HINT
    folder = path.absolute().parent if path is not None else None
    instead = [locked_instead(folder, line) for line in lines]
    written = ", ".join(line for _name, line, _kept in instead)
    kept = " and ".join(dict.fromkeys(k.replace("that folder", "the folder") for _n, _l, k in instead))
    them = "it" if len(lines) == 1 else "them"
    # conda-lock leaves ``-e PATH`` out with a warning and stops at pip's long form ``--editable PATH`` (a traceback).
    dropped = ", ".join(shown(line) for line in lines if left_out(line))
    stops = ", ".join(shown(line) for line in lines if not left_out(line))
    does = " and ".join(
        part
        for part in (
            f"leaves out its editable {dropped} (pip:) with only a warning" if dropped else "",
            f"stops at its editable {stops} (pip:) with a traceback, reading it as a package name" if stops else "",
        )
        if part
    )
    return (
        "; an environment.yml names packages, not their files (no URL, no hash): import a conda-lock.yml or an "
        f"explicit file instead, but conda-lock lock -f environment.yml {does}, so the lock would not hold the "
        f"project: write {them} as {written} in the pip: "
        f"section first (conda-lock locks {kept}, installed as a copy, not editable), or install the environment and "
        "`envsnap capture` it (the project recorded editable)"
    )


_CYCLONEDX_HINT = (
    "; a CycloneDX SBOM describes packages, not the files a rebuild installs them from: import the file it was made "
    f"from (for a uv project: {lockfile.UV_EXPORT}, then import that), or use the envsnap lock it was exported from"
)


def _cyclonedx(text: str) -> bool:
    """A CycloneDX SBOM (``uv export --format cyclonedx1.5``, envsnap's own ``cyclonedx`` export, whose keys are
    sorted): JSON whose top holds ``"bomFormat": "CycloneDX"``, or XML in CycloneDX's namespace. Asked only of a file
    no format reads, to say what to import in its place."""
    import json

    head = text.lstrip()
    if head.startswith("<"):
        return re.match(r"(?:<\?xml[^>]{0,200}>\s*)?<bom\s[^>]{0,400}cyclonedx\.org", head) is not None
    if not head.startswith("{") or '"bomFormat"' not in text:
        return False
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("bomFormat") == "CycloneDX"


def _environment_yml(name: str, text: str) -> bool:
    """A conda environment file (``conda env export``, envsnap's ``environment-yml``): YAML (by name, or read from
    standard input) whose top level has a ``dependencies:`` list; under any other name (``env.conda``, which was "not
    a format envsnap can import ...; name one with --from", and read as a requirements file where its pip: section
    held a ``--hash``), one whose ``dependencies:`` line is followed by a list item, which no other format has."""
    if not name or name.endswith((".yml", ".yaml")):
        return re.search(r"^dependencies:[ \t]*$", text, re.MULTILINE) is not None
    return re.search(r"^dependencies:[ \t]*\n(?:[ \t]*(?:#[^\n]*)?\n)*[ \t]*- ", text, re.MULTILINE) is not None


def read_file(path: str | os.PathLike[str], fmt: str = "auto", options: ImportOptions | None = None) -> Snapshot:
    """Read one file into a snapshot; ``fmt="auto"`` picks the format from the name and the content."""
    if not os.fspath(path):  # Path("") is ".": "is a directory"
        raise LockImportError(_readlimits.empty_path("file to import"))
    p = Path(path)
    # ``-``: what a pipeline pipes in (``pip freeze | envsnap import -``), under a file's limits, and with no name
    # to tell its format by: the importers judge the content alone. A file: a regular one of bounded size only, as
    # for a lock (docs/security.md, "Limits").
    stdin = os.fspath(path) == "-"
    name = "" if stdin else p.name
    label = f"-: {_readlimits.STDIN_LABEL} is" if stdin else f"{p}:"  # how a message names what was read
    # Decoded as pip reads a requirements file: UTF-8, or what a byte order mark names (Windows PowerShell's
    # ``pip freeze > requirements.txt`` writes UTF-16), the mark left out.
    if stdin:
        raw = _readlimits.read_stdin_bytes(error=LockImportError, what="file to import")
        text = _readlimits.decode_marked(raw, label=label, error=LockImportError, what="file to import")
    else:
        # ``import <(pip freeze)``, ``import /dev/stdin``: a pipe by its path, never read (it may not end); ``-`` is.
        raw = _readlimits.read_bytes(p, error=LockImportError, what="file", not_regular=_PIPE_INSTEAD)
        text = _readlimits.decode_marked(raw, label=label, error=LockImportError)
    if fmt == "auto":
        environment_yml = _environment_yml(name, text)
        # An environment file's pip: section may hold a ``--hash``: no requirements file.
        matches = [imp for imp in _sniffed(name, text) if not (environment_yml and imp.name == "requirements")]
        # A file of a format under a name that format's files do not have (a conda-lock file not named .yml): the
        # format its content alone reads as, as for standard input.
        by_content = (
            _sniffed("", text)
            if name and not matches and not environment_yml and name not in ("uv.lock", "poetry.lock")
            else []
        )
        if by_content:
            raise LockImportError(
                f"{label} not a format envsnap can import by its name ({', '.join(REGISTRY)}); its content reads as "
                f"{by_content[0].name}: name it with --from {by_content[0].name}"
            )
        if not matches and _locktext.starts_as_lock(text):
            # An envsnap lock, which every command reads as it is. The mark an editor saved it with was left out of
            # the text read here, and a command that reads the lock refuses it: named, or the advice would fail.
            unmark = ", once saved as UTF-8 without the byte order mark it starts with (envsnap does not accept one)"
            marked = _readlimits.byte_order_marked(raw)
            raise LockImportError(
                f"{label} an envsnap lock already, not a file to import; use it as it is{unmark if marked else ''}"
            )
        if not matches:
            # uv's own lock holds every platform's resolution: uv writes it as a PEP 751 file for envsnap to read.
            hint = (
                f"; for uv.lock: {lockfile.UV_EXPORT}, then import that"
                if p.name == "uv.lock"
                else f"; for poetry.lock: {lockfile.POETRY_EXPORT}, then import that"
                if p.name == "poetry.lock"
                else _environment_yml_hint(None if stdin else p, text)
                if environment_yml
                else _CYCLONEDX_HINT
                if _cyclonedx(text)
                else ""
            )
            # A file of a known kind no --from reads (uv.lock, poetry.lock, an environment.yml, an SBOM) gets what to
            # make of it alone: "name one with --from" sent the user through each format's parser error.
            raise LockImportError(
                f"{label} not a format envsnap can import ({', '.join(REGISTRY)}){hint or '; name one with --from'}"
            )
        importer = matches[0]
    else:
        importer = REGISTRY.find(fmt)
    options = options or ImportOptions()
    try:
        snapshot = importer.read(text, str(p), options)
    except LockImportError as exc:
        if fmt == "auto":
            raise
        raise LockImportError(_read_as_another(exc, importer.name, label, None if stdin else p, text)) from None
    if not snapshot.python.packages and (snapshot.conda is None or not snapshot.conda.packages):
        # An empty lock would "rebuild" an empty environment and verify it identical: surely not what was meant.
        raise LockImportError(f"{p}: no packages in it (read as {importer.name}); nothing to import")
    # What an importer made from a stranger's file passes the same boundary as a lock: every field's grammar,
    # no duplicates, bounded numbers.
    try:
        return lockfile.validate(without_credentials(snapshot, options), origin=str(p))
    except LockfileError as exc:
        raise LockImportError(str(exc)) from None


def _read_as_another(exc: LockImportError, fmt: str, label: str, path: Path | None, text: str) -> str:
    """The error of a file read as the format ``--from`` named, with what the file is where it is something else: an
    environment.yml (YAML, which no format reads: ``environment.yml:3: unsupported option -`` of the requirements
    reader said nothing of it), or a file ``--from auto`` reads as another format (the ``--from`` to give)."""
    name = path.name if path is not None else ""
    if _environment_yml(name, text):
        hint = _environment_yml_hint(path, text).removeprefix("; an environment.yml names packages")
        return (
            f"{label} an environment.yml (YAML with a top-level dependencies: list), not a {fmt} file (read as one: "
            f"{exc}); no --from reads it: it names packages{hint}"
        )
    others = [imp.name for imp in _sniffed(name, text) if imp.name != fmt]
    return f"{exc}; the file reads as {others[0]}: --from {others[0]} (or --from auto)" if others else str(exc)


def _sniffed(name: str, text: str) -> list[Importer]:
    """The importers that take the file ``name`` holding ``text`` for theirs (``--from auto`` uses the first)."""
    return [imp for imp in REGISTRY.values() if imp.sniff(name, text)]


def recognised(path: str | os.PathLike[str]) -> str:
    """The format ``envsnap import`` reads the file at ``path`` as (``--from auto``), "" when it reads it as none
    or cannot read it: what to suggest for a file given where a lock belongs."""
    p = Path(path)
    try:
        raw = _readlimits.read_bytes(p, error=LockImportError, what="file")
        text = _readlimits.decode_marked(raw, label=f"{p}:", error=LockImportError)
    except LockImportError:
        return ""
    if not text.strip():  # no format's: its import finds no packages
        return ""
    matches = _sniffed(p.name, text)
    return matches[0].name if matches else ""


def environment_yml_advice(path: str | os.PathLike[str]) -> str:
    """What to make a lock of in place of the environment.yml at ``path`` (as ``envsnap import`` of it says: a
    conda-lock.yml or an explicit file, and what conda-lock leaves out), "" when it is none or cannot be read: what to
    suggest for such a file given where a lock belongs."""
    p = Path(path)
    try:
        raw = _readlimits.read_bytes(p, error=LockImportError, what="file")
        text = _readlimits.decode_marked(raw, label=f"{p}:", error=LockImportError)
    except LockImportError:
        return ""
    if not _environment_yml(p.name, text):
        return ""
    return _environment_yml_hint(p, text).removeprefix("; an environment.yml names packages")


def without_credentials(snapshot: Snapshot, options: ImportOptions | None = None) -> Snapshot:
    """The lock with no user:password in its URLs or warnings and no anaconda.org ``/t/<token>/`` segment, and a
    conda archive inside the project as ``file://{project}/...``, elsewhere under the home as ``file://~/...``, with
    no login or host name (``<user>``, ``<host>``) in a URL or a warning, as ``capture`` records them: a file to
    import (``conda list --explicit``, a requirements file with a private index) may hold them, and lockfiles get
    published. ``options``: the import's, with the work trees its importer found (the project is the one around
    the working directory)."""
    # The name rules, as capture applies them (``PathRedactor.url``, which ``clean_url`` of a conda URL calls too):
    # this user's login in a path (``file:///data/<user>/channel``, ``/scratch/<user>/wheels``), another user's home
    # (``/home/<user>``) and this host's name in a URL (``http://<host>:8080/ch``). A user who imports a file of
    # an environment is usually the one who could have captured it, on the same host; the import kept the names,
    # so a lock published from an import named the person and the machine, and spelt a channel or a wheel's URL
    # otherwise than the capture of the same environment.
    redact = PathRedactor(project=work_tree(os.getcwd(), options or ImportOptions()))

    # A package's URLs as every export leaves them: its source, its file and every candidate file (a hashed
    # requirement's, a pylock's wheels, a conda file's ``# pip`` entries), each URL and index, without credentials
    # and names alike.
    def package(p: PythonPackage) -> PythonPackage:
        p = scrub_package(p, redact.url)
        # A VCS package's branch (a pylock's ``requested-revision``, ``alice/fix``) as capture records it,
        # ``<user>/fix``: the commit is what a rebuild checks out.
        revision = p.source.requested_revision
        if revision and (named := redact.names(revision)) != revision:
            p = dataclasses.replace(p, source=dataclasses.replace(p.source, requested_revision=named))
        return p

    env = dataclasses.replace(snapshot.python, packages=tuple(package(p) for p in snapshot.python.packages))
    conda = snapshot.conda
    if conda is not None:
        # A package built or kept under the home (``conda list --explicit`` of ``~/miniconda3/envs/x`` names
        # ``file:///home/me/miniconda3/conda-bld/...``) as capture records it, ``file://~/...``: the lock names
        # neither the home nor the user, and the archive is read from the home of whoever uses the lock. One from
        # a channel kept in the project (the git work tree around the working directory, as capture takes it) is
        # ``file://{project}/channel/...``, read from the checkout the lock is used in. Outside any work tree capture
        # has no project and records the absolute URL: so does the import (a requirements file's paths take the
        # working directory for the project there, as pip reads them from it; a channel is no such path), or
        # ``diff`` of a capture against its own import named the channel changed for every package.

        def conda_url(url: str) -> str:
            return clean_url(url, redact)

        conda = dataclasses.replace(
            conda,
            # Two channels may be one once their names go (``/home/bob/ch``, ``/home/carol/ch``): listed once.
            channels=tuple(dict.fromkeys(conda_url(c) for c in conda.channels)),
            packages=tuple(
                dataclasses.replace(p, url=conda_url(p.url), channel=conda_url(p.channel)) for p in conda.packages
            ),
        )
    # A warning may name a location as the file wrote it (``--find-links https://user:password@host/``,
    # ``--find-links /scratch/alice/wheels``): names go as from a capture's warnings, and a network URL keeps its
    # path as the lock's URL fields do (``https://files.example.org/users/alice/more``).
    meta = dataclasses.replace(
        snapshot.envsnap, warnings=tuple(scrub_text(redact.names_in_text(w)) for w in snapshot.envsnap.warnings)
    )
    # envsnap's JSON of an older or edited lock carries recorded variables and the project's git state: capture's
    # rules for them (``probes.environment``, ``probes.project``), or a token in a variable or in the remote's URL
    # reached the lock the import writes.
    environment = {
        name: kept
        for name, value in snapshot.environment.items()
        if not is_secret_name(name) and (kept := scrub_value(redact.text(value))) is not None
    }
    frameworks = {
        name: dataclasses.replace(f, error=scrub_text(redact.text(f.error))) if f.error else f
        for name, f in snapshot.frameworks.items()
    }
    project = snapshot.project
    if project is not None:
        project = dataclasses.replace(
            project, remote_url=redact.url(project.remote_url), branch=redact.names(project.branch)
        )
    return dataclasses.replace(
        snapshot,
        envsnap=meta,
        python=env,
        conda=conda,
        environment=MappingProxyType(environment),
        frameworks=MappingProxyType(frameworks),
        project=project,
    )
