"""Read a ``conda-lock.yml`` (conda-lock's unified lock, version 1) into a lock for one platform.

conda packages become conda records; pip packages become Python packages whose artifact is the locked
URL and sha256. A multi-platform file needs ``--platform`` unless it locks a single platform.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name

from .. import _readlimits, grammar
from .._defaults import install_hint
from ..errors import NotInstalledError
from ..grammar import is_conda_subdir, shown
from ..interchange import CONDA_LOCK_PIP_LAYER
from ..model import CondaPackage, PythonPackage, Snapshot
from . import _conda
from .interface import Importer, ImportOptions, LockImportError, check_lock_url, refuse_another_file

# The categories `conda-lock install` and `conda-lock render` take by default (`--dev`, `--dev-dependencies`); an
# extra's category is installed only when asked for (`-e NAME`).
INSTALLED_CATEGORIES = ("main", "dev")


def sniff(name: str, text: str) -> bool:
    return (not name or name.endswith((".yml", ".yaml"))) and "manager:" in text and "package:" in text


def read(text: str, origin: str, options: ImportOptions) -> Snapshot:
    try:
        import yaml  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as exc:  # PyYAML comes with the conda-lock extra
        raise NotInstalledError(f"importing conda-lock.yml needs PyYAML ({install_hint('conda-lock')})") from exc
    # No aliases, bounded nesting and numbers: a stranger's YAML cannot explode or recurse (docs/security.md).
    data = _readlimits.load_yaml(text, origin=origin, error=LockImportError)
    if not isinstance(data, Mapping) or not isinstance(data.get("package"), list):
        raise LockImportError(f"{origin}: not a conda-lock file (no package list)")
    # The integer 1: ``true`` and ``1.0`` equal it in Python, and were read as a version 1 file.
    if type(data.get("version")) is not int or data.get("version") != 1:
        raise LockImportError(f"{origin}: conda-lock version {data.get('version')!r} is not supported (1 is)")
    platforms = sorted(
        {str(p.get("platform")) for p in data["package"] if isinstance(p, Mapping) and p.get("platform")}
    )
    meta = _mapping(data.get("metadata"), f"{origin}: metadata")
    declared_platforms = meta.get("platforms") or []
    if not isinstance(declared_platforms, list):
        raise LockImportError(f"{origin}: metadata.platforms: not a list")
    declared = [str(p) for p in declared_platforms] or platforms
    for name in declared:  # named in this import's messages and recorded as the lock's subdir
        if not is_conda_subdir(name):
            raise LockImportError(f"{origin}: metadata.platforms: {shown(name)} is not a conda platform")
    platform = options.platform
    if not platform:
        if len(declared) != 1:
            raise LockImportError(
                f"{origin}: locks several platforms ({', '.join(declared)}); choose one with --platform"
            )
        platform = declared[0]
    elif platform not in declared:
        raise LockImportError(f"{origin}: no platform {platform!r} (it has {', '.join(declared)})")
    conda: list[CondaPackage] = []
    pip: list[PythonPackage] = []
    imported: set[str] = set()
    extras: dict[str, str] = {}  # an entry of a category not installed by default -> its name and category, shown
    for i, entry in enumerate(data["package"]):
        where = f"{origin}: package[{i}]"
        if not isinstance(entry, Mapping):
            raise LockImportError(f"{where}: expected a mapping")
        # An entry of no platform the file locks was left out of every platform's import, without a word.
        own = entry.get("platform")
        if own is None or isinstance(own, (Mapping, list)) or str(own) == "":
            raise LockImportError(f"{where}: no platform")
        if str(own) not in declared:
            raise LockImportError(
                f"{where}: platform {shown(str(own))} is not one the file locks ({', '.join(declared)})"
            )
        if str(own) != platform:
            continue
        # conda-lock writes a package once per category it is in (`optional` is true but for main), and `conda-lock
        # install` and `render` take main and dev unless told otherwise: the dev packages were left out, silently.
        category = entry.get("category", "main")
        if not isinstance(category, str):
            raise LockImportError(f"{where}: category: not a string")
        same = _identity(entry)
        if category not in INSTALLED_CATEGORIES:
            extras.setdefault(same, f"{shown(str(entry.get('name')), 60)[1:-1]} ({shown(category, 40)[1:-1]})")
            continue
        if same in imported:  # the same package, listed again for its other category
            continue
        imported.add(same)
        hashes = _mapping(entry.get("hash"), f"{where}: hash")
        if entry.get("manager") == "conda":
            record = _conda.package_from_url(
                _required(entry, "url", where),
                md5=str(hashes.get("md5", "")),
                sha256=str(hashes.get("sha256", "")),
                where=where,
            )
            record = dataclasses.replace(record, depends=_depends(entry, where))
            # The package is the archive its URL names; a name, version or build the entry also gives that is not
            # that archive's was dropped without a word (which of the two did the author mean?).
            for key, taken in (("name", record.name), ("version", record.version), ("build", record.build)):
                given = entry.get(key)
                if given is not None and str(given) != taken:
                    raise LockImportError(
                        f"{where}: {key} {shown(str(given))} is not the {key} of the archive its url names "
                        f"({shown(taken)})"
                    )
            conda.append(record)
        elif entry.get("manager") == "pip":
            pip.append(_pip(entry, hashes, where))
        else:
            raise LockImportError(f"{where}: unknown manager {shown(entry.get('manager'), 200)}")
    _refuse_left_out_editables(meta, origin, pip)
    complete = _pip_layer_complete(meta, origin)
    return _conda.snapshot(
        origin="conda-lock",
        file=origin,
        subdir=platform,
        # By name, as capture lists them: each entry's dependencies say the order conda links them in.
        packages=sorted(conda, key=lambda p: (p.name, p.subdir)),
        python_packages=pip,
        python_known=complete,
        warnings=_extras_warning([shown_as for same, shown_as in extras.items() if same not in imported]),
    )


def _pip_layer_complete(meta: Mapping[str, Any], origin: str) -> bool:
    """Whether the file's pip packages are its whole pip layer: so unless envsnap's export marked it incomplete
    (a lock imported from an explicit file, exported again). A mark of any other value is refused: which was meant?"""
    key, incomplete = CONDA_LOCK_PIP_LAYER
    custom = _mapping(meta.get("custom_metadata"), f"{origin}: metadata.custom_metadata")
    if key not in custom:
        return True
    value = custom[key]
    if value != incomplete:
        raise LockImportError(
            f"{origin}: metadata.custom_metadata.{key}: {shown(str(value), 60)} is not {incomplete!r} (what envsnap "
            "writes of a pip layer the lock does not know in full)"
        )
    return False


def _identity(entry: Mapping[str, Any]) -> str:
    """An entry without its category: what conda-lock writes alike for each category a package is in."""
    return repr(sorted((str(k), repr(v)) for k, v in entry.items() if k not in ("category", "optional")))


def _extras_warning(left_out: list[str]) -> list[str]:
    if not left_out:
        return []
    n = len(left_out)
    return [
        f"import: {n} package{'s' if n != 1 else ''} of an optional category conda-lock install leaves out without "
        f"-e CATEGORY {'is' if n == 1 else 'are'} not in the lock: {', '.join(left_out)}"
    ]


def _pip(entry: Mapping[str, Any], hashes: Mapping[str, Any], where: str) -> PythonPackage:
    name, version = _required(entry, "name", where), _required(entry, "version", where)
    url, sha256 = str(entry.get("url", "")), str(hashes.get("sha256", ""))
    if url:  # refused naming the entry, as a conda package's URL is: the lock's check named only its own field
        check_lock_url(url, f"{where}: {name}")
        if _conda.is_archive_url(url) and not url.startswith(_conda.VCS_PREFIXES):
            refuse_another_file(name, version, url, where)
    # A direct reference conda-lock's pip solver took verbatim (``source: {type: url}``): a git dependency (its
    # ``url`` is ``git+URL@COMMIT`` and its ``sha256`` that commit, not a file's digest) or a local folder (a
    # ``file://`` URL, no hash). Read as an index package, pin fetched the name from the index (docs/security.md).
    source = _mapping(entry.get("source"), f"{where}: source")
    if source or url.startswith(_conda.VCS_PREFIXES):
        return _conda.pip_direct(name, version, url, sha256, where)
    return _conda.pip_package(name, version, url, sha256)


def _refuse_left_out_editables(meta: Mapping[str, Any], origin: str, pip: list[PythonPackage]) -> None:
    """Refuse a lock whose source environment file installs a project editable (``-e ./mylib`` in its ``pip:``
    section): ``conda-lock lock`` leaves that line out of the lock with a warning of its own ("will not be included
    in the lock file"), so the lock has no word of the project, and where another pip dependency needs a package of
    its name it locks that name from the index: a stranger's release in the project's place (docs/security.md). The
    sources are those ``metadata.sources`` names, as conda-lock writes them: relative to the lock's folder; only a
    ``.yml``/``.yaml`` file inside that folder is read (bounded), and one that is absent or unreadable is not judged."""
    if not origin or origin == "-":
        return
    sources = meta.get("sources")
    folder = Path(origin).absolute().parent
    for source in sources if isinstance(sources, list) else ():
        path = _source_beside(folder, source)
        if path is None:
            continue
        for line in _editable_lines(path):
            target = editable_target(line)
            name, written, kept = locked_instead(path.parent, line)
            locked = [p for p in pip if name and p.name == canonicalize_name(name)]
            from_index = locked[0] if locked and locked[0].source.kind == "index" else None
            instead = f" {from_index.name} {from_index.version} from the index in its place" if from_index else ""
            if left_out(line):
                what = f"which conda-lock leaves out of the lock{', and locked' + instead if instead else ''}"
            else:
                what = (
                    "which conda-lock cannot lock (it stops at that spelling with a traceback, reading it as a package "
                    "name, and leaves '-e PATH' out of the lock): the lock does not hold it"
                    + (", and has" + instead if instead else "")
                )
            raise LockImportError(
                f"{origin}: its source {shown(str(source))} installs {shown(target)} editable (pip: {shown(line)}), "
                f"{what}: write it as {written} in the pip: section and "
                f"lock again (conda-lock locks {kept}, recorded as a "
                f"{'VCS checkout' if kept != 'that folder' else 'local project'}), or install the environment and "
                "`envsnap capture` it"
            )


def _source_beside(folder: Path, source: object) -> Path | None:
    """``metadata.sources``' entry ``source`` as a file to read: a relative ``.yml``/``.yaml`` path inside the lock's
    folder (no ``..``, no absolute path, and inside it once links are followed) that is a file there; else None."""
    if not isinstance(source, str) or not source.endswith((".yml", ".yaml")) or grammar.has_control(source):
        return None
    relative = PurePosixPath(source)
    if relative.is_absolute() or ".." in relative.parts or "\\" in source:
        return None
    path = folder / relative
    try:
        if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
            return None
    except OSError:
        return None
    return path


def _editable_lines(path: Path) -> list[str]:
    """The ``pip:`` entries of the environment file at ``path`` conda-lock leaves out (``-e PATH``); none where it is
    no environment file envsnap can read (too big, not YAML, another shape: conda-lock would have said so)."""
    try:
        text = _readlimits.read_text(path, error=LockImportError, what="conda-lock source")
    except (LockImportError, OSError):
        return []
    return editable_lines(text, str(path))


def editable_target(line: str) -> str:
    """What a ``pip:`` entry installs editable: ``TARGET`` of ``-e TARGET``, ``--editable TARGET``, or of the forms
    with the value attached, ``--editable=TARGET`` and ``-eTARGET``, as pip's option parser reads them
    (``requirements.option_apart``); "" for any other entry."""
    from .requirements import option_apart

    words = option_apart(line.split()) if line.strip() else []
    return " ".join(words[1:]) if words and words[0] in ("-e", "--editable") else ""


def left_out(line: str) -> bool:
    """Whether ``conda-lock lock`` leaves the editable entry ``line`` out with a warning (``-e PATH``, as its parser
    tests them, ``^-e .*$``); pip's other spellings (``--editable PATH``, ``--editable=PATH``, ``-ePATH``) it reads as
    a requirement and stops with a traceback (``InvalidRequirement: Expected package name``)."""
    return line.startswith("-e ")


def editable_lines(text: str, origin: str) -> list[str]:
    """The ``pip:`` entries of an environment file's ``text`` that install a project editable, which ``conda-lock
    lock`` leaves out of the lock with a warning (``-e PATH``, as its parser tests them) or stops at with a traceback
    (``--editable PATH``, pip's long form: ``left_out``); none where the text is no environment file envsnap can
    read."""
    try:
        data = _readlimits.load_yaml(text, origin=origin, error=LockImportError)
    except LockImportError:
        return []
    deps = data.get("dependencies") if isinstance(data, Mapping) else None
    found: list[str] = []
    for dep in deps if isinstance(deps, list) else ():
        specs = dep.get("pip") if isinstance(dep, Mapping) else None
        for spec in specs if isinstance(specs, list) else ():
            if isinstance(spec, str) and editable_target(spec):
                found.append(spec)
    return found


def locked_instead(folder: Path | None, line: str) -> tuple[str, str, str]:
    """For a ``pip:`` entry ``-e TARGET`` of an environment file in ``folder``: the project it installs, the line that
    has conda-lock lock it, and what conda-lock then locks. A local folder: ``NAME @ file:///ABSOLUTE/PATH``, its name
    read from the folder's metadata (a placeholder where it is no project here, or the file has no folder: standard
    input); a repository (``-e git+URL@COMMIT#egg=NAME``): ``NAME @ git+URL@COMMIT``, which conda-lock locks as a
    direct reference (a folder's line was offered for it)."""
    target = editable_target(line)
    if target.startswith(_conda.VCS_PREFIXES):
        url, _, fragment = target.partition("#")
        egg = dict(part.split("=", 1) for part in fragment.split("&") if "=" in part).get("egg", "")
        name = egg if grammar.is_project_name(egg) else ""
        return name, shown(f"{name or 'NAME'} @ {url}", 1000), "the repository at the commit the URL names"
    name, url = _project(folder, target) if folder is not None else ("", "")
    written = shown(f"{name} @ {url}", 1000) if name else "NAME @ file:///ABSOLUTE/PATH"
    return name, written, "that folder"


def _project(folder: Path, target: str) -> tuple[str, str]:
    """The name of the project ``-e TARGET`` installs and its folder's ``file:`` URL, read as a requirements import
    reads a project's folder (("", "") when it is not a local folder here, or names no project)."""
    from .requirements import source_tree_metadata

    if "://" in target or target.startswith("git+"):
        return "", ""
    try:
        directory = (folder / Path(target).expanduser()).resolve()
        name = source_tree_metadata(directory, [])[0] if directory.is_dir() else ""
    except (OSError, ValueError, LockImportError):
        return "", ""
    return (name, directory.as_uri()) if name else ("", "")


def _depends(entry: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """conda-lock's ``dependencies`` (name: spec, ``*`` for any) as the record's match specs, as repodata writes
    them (``libzlib >=1.2.13,<2.0a0``, ``tzdata``): the export writes them back the same way."""
    out = []
    for name, spec in _mapping(entry.get("dependencies"), f"{where}: dependencies").items():
        if isinstance(spec, (Mapping, list)) or spec is None:
            raise LockImportError(f"{where}: dependencies: {shown(str(name))}: not a version spec")
        text = str(spec).strip()
        out.append(str(name) if text in ("", "*") else f"{name} {text}")
    return tuple(out)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    """An optional mapping of the file (``metadata``, a package's ``hash``): absent or empty is empty; a value of
    another type is the file's error, one line (it was an AttributeError or TypeError traceback)."""
    if not value:
        return {}
    if not isinstance(value, Mapping):
        raise LockImportError(f"{where}: not a mapping")
    return value


def _required(entry: Mapping[str, Any], key: str, where: str) -> str:
    """A field every package entry of this kind has: a missing or non-scalar one is the file's error, one line."""
    value = entry.get(key)
    if value is None or isinstance(value, (Mapping, list)) or str(value) == "":
        raise LockImportError(f"{where}: no {key}")
    return str(value)


class CondaLockImporter(Importer):
    name = "conda-lock"
    description = "conda-lock.yml (unified conda-lock file, version 1)"
    examples = ("conda-lock.yml",)

    def sniff(self, name: str, text: str) -> bool:
        return sniff(name, text)

    def read(self, text: str, origin: str, options: ImportOptions) -> Snapshot:
        return read(text, origin, options)


IMPORTER = CondaLockImporter()
